/* SPDX-License-Identifier: MIT */
/* RF2 release files: recognising their names and parsing their lines.
 *
 * The RF2 specification (SNOMED International, "Release File Specification")
 * fixes each file's columns and their order, tab-separated, with a header
 * line naming them and CR LF line ends. Every column is checked: a release
 * file is trusted no more than an extract. */
#include "config.h"

#include <string.h>

#include <csemarker/rules.h>

#include "internal.h"
#include "rf2.h"

/* The header line of each kind, as RF2 names the columns. */
static const char *const headers[RF2_KINDS] = {
    [RF2_CONCEPT] = "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId",
    [RF2_DESCRIPTION] = "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\t"
                        "typeId\tterm\tcaseSignificanceId",
    [RF2_RELATIONSHIP] = "id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\t"
                         "relationshipGroup\ttypeId\tcharacteristicTypeId\tmodifierId",
    [RF2_LANGUAGE] = "id\teffectiveTime\tactive\tmoduleId\trefsetId\t"
                     "referencedComponentId\tacceptabilityId",
};

static const char *const column_names[RF2_KINDS][10] = {
    [RF2_CONCEPT] = {"id", "effectiveTime", "active", "moduleId", "definitionStatusId"},
    [RF2_DESCRIPTION] = {"id", "effectiveTime", "active", "moduleId", "conceptId",
                         "languageCode", "typeId", "term", "caseSignificanceId"},
    [RF2_RELATIONSHIP] = {"id", "effectiveTime", "active", "moduleId", "sourceId",
                          "destinationId", "relationshipGroup", "typeId",
                          "characteristicTypeId", "modifierId"},
    [RF2_LANGUAGE] = {"id", "effectiveTime", "active", "moduleId", "refsetId",
                      "referencedComponentId", "acceptabilityId"},
};

static const int column_count[RF2_KINDS] = {5, 9, 10, 7};

/* What each column holds. */
enum col {
    C_CONCEPT,     /* a concept SCTID */
    C_DESCRIPTION, /* a description SCTID */
    C_RELATIONSHIP,
    C_UUID,
    C_TIME,
    C_ACTIVE,
    C_LANG,
    C_TERM,
    C_GROUP
};

static const enum col column_types[RF2_KINDS][10] = {
    [RF2_CONCEPT] = {C_CONCEPT, C_TIME, C_ACTIVE, C_CONCEPT, C_CONCEPT},
    [RF2_DESCRIPTION] = {C_DESCRIPTION, C_TIME, C_ACTIVE, C_CONCEPT, C_CONCEPT, C_LANG,
                         C_CONCEPT, C_TERM, C_CONCEPT},
    [RF2_RELATIONSHIP] = {C_RELATIONSHIP, C_TIME, C_ACTIVE, C_CONCEPT, C_CONCEPT,
                          C_CONCEPT, C_GROUP, C_CONCEPT, C_CONCEPT, C_CONCEPT},
    [RF2_LANGUAGE] = {C_UUID, C_TIME, C_ACTIVE, C_CONCEPT, C_CONCEPT, C_DESCRIPTION,
                      C_CONCEPT},
};

const char *cse__rf2_kind_name(rf2_kind kind)
{
    switch (kind) {
    case RF2_CONCEPT: return "concept";
    case RF2_DESCRIPTION: return "description";
    case RF2_RELATIONSHIP: return "relationship";
    case RF2_LANGUAGE: return "language reference set";
    default: return "unknown";
    }
}

/* RF2 file names: [x]sct2_Concept_[Edition]Snapshot_..., and so on; the
 * leading x marks a beta release. Delta and Full files are not read, nor
 * sct2_RelationshipConcreteValues or sct2_StatedRelationship (not what the
 * adaptor uses). */
bool cse__rf2_name_matches(rf2_kind kind, const char *name)
{
    static const char *const prefixes[RF2_KINDS] = {"sct2_Concept_", "sct2_Description_",
                                                    "sct2_Relationship_",
                                                    "der2_cRefset_Language"};
    const char *p;
    size_t len;

    if (name == NULL || (unsigned)kind >= RF2_KINDS)
        return false;
    if (name[0] == 'x')
        name++;
    len = strlen(prefixes[kind]);
    if (strncmp(name, prefixes[kind], len) != 0)
        return false;
    p = name + len;
    while ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z'))
        p++;
    /* The letters just read must end in "Snapshot", then '-' or '_'. */
    if (p - (name + len) < 8 || strncmp(p - 8, "Snapshot", 8) != 0 ||
        (*p != '-' && *p != '_'))
        return false;
    len = strlen(p);
    return len > 4 && strcmp(p + len - 4, ".txt") == 0;
}

static bool parse_sctid(const char *s, size_t n, cse_sctid_kind want, uint64_t *out)
{
    char buf[19];
    uint64_t v = 0;

    if (n < 6 || n > 18)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (cse_sctid_classify(buf) != want)
        return false;
    *out = v;
    return true;
}

static bool is_hex(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static bool parse_uuid(const char *s, size_t n)
{
    if (n != 36)
        return false;
    for (size_t i = 0; i < n; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? s[i] != '-' : !is_hex(s[i]))
            return false;
    }
    return true;
}

static bool parse_time(const char *s, size_t n, uint32_t *out)
{
    uint32_t v = 0;
    unsigned month, day;

    if (n != 8)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (uint32_t)(s[i] - '0');
    }
    month = v / 100 % 100;
    day = v % 100;
    if (v / 10000 < 1900 || month < 1 || month > 12 || day < 1 || day > 31)
        return false;
    *out = v;
    return true;
}

static const char *expected(enum col type)
{
    switch (type) {
    case C_CONCEPT:
        return "a SNOMED CT concept id (digits, check digit, partition 00/10)";
    case C_DESCRIPTION:
        return "a SNOMED CT description id (digits, check digit, partition 01/11)";
    case C_RELATIONSHIP:
        return "a SNOMED CT relationship id (digits, check digit, partition 02/12)";
    case C_UUID: return "a UUID";
    case C_TIME: return "a date YYYYMMDD";
    case C_ACTIVE: return "0 or 1";
    case C_LANG: return "a language code of 2 to 8 letters";
    case C_TERM: return "a term of printable text";
    case C_GROUP: return "a relationship group number";
    }
    return "a value";
}

/* Checks one column and stores what the row keeps. */
static bool take_column(rf2_kind kind, int col, const char *s, size_t n, rf2_row *row)
{
    enum col type = column_types[kind][col];
    uint64_t v = 0;

    switch (type) {
    case C_CONCEPT:
    case C_DESCRIPTION:
    case C_RELATIONSHIP: {
        cse_sctid_kind want = type == C_CONCEPT       ? CSE_SCTID_CONCEPT
                              : type == C_DESCRIPTION ? CSE_SCTID_DESCRIPTION
                                                      : CSE_SCTID_RELATIONSHIP;
        if (!parse_sctid(s, n, want, &v))
            return false;
        break;
    }
    case C_UUID: return parse_uuid(s, n);
    case C_TIME: return parse_time(s, n, &row->effective);
    case C_ACTIVE:
        if (n != 1 || (s[0] != '0' && s[0] != '1'))
            return false;
        row->active = s[0] == '1';
        return true;
    case C_LANG:
        if (n < 2 || n > 8)
            return false;
        for (size_t i = 0; i < n; i++)
            if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
                  s[i] == '-'))
                return false;
        return true;
    case C_TERM:
        if (n == 0)
            return false;
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
                return false;
        row->term = s;
        row->term_len = n;
        return true;
    case C_GROUP:
        if (n == 0 || n > 9)
            return false;
        for (size_t i = 0; i < n; i++)
            if (s[i] < '0' || s[i] > '9')
                return false;
        return true;
    }
    /* Which slot a kept SCTID goes to. */
    if (col == 0)
        row->id = v;
    else if (kind == RF2_DESCRIPTION && col == 4)
        row->a = v;
    else if (kind == RF2_DESCRIPTION && col == 6)
        row->b = v;
    else if (kind == RF2_RELATIONSHIP && col == 4)
        row->a = v;
    else if (kind == RF2_RELATIONSHIP && col == 5)
        row->b = v;
    else if (kind == RF2_RELATIONSHIP && col == 7)
        row->c = v;
    else if (kind == RF2_LANGUAGE && col == 4)
        row->a = v;
    else if (kind == RF2_LANGUAGE && col == 5)
        row->b = v;
    else if (kind == RF2_LANGUAGE && col == 6)
        row->c = v;
    return true;
}

cse_code cse__rf2_parse(rf2_kind kind, const char *data, size_t size, const char *source,
                        rf2_row_fn fn, void *ctx, cse_error *err)
{
    size_t pos = 0, hlen;
    long line = 0;
    unsigned long rows = 0;
    const char *header;

    if ((unsigned)kind >= RF2_KINDS || (data == NULL && size > 0) || fn == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, source, NULL,
                              "invalid arguments to the RF2 parser");
    header = headers[kind];
    hlen = strlen(header);
    /* A UTF-8 byte order mark is tolerated before the header. */
    if (size >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        pos = 3;
    while (pos < size) {
        const char *s = data + pos, *nl;
        size_t len, avail = size - pos;
        rf2_row row;
        int col = 0;
        size_t start = 0;
        cse_code rc;

        line++;
        nl = memchr(s, '\n', avail > RF2_MAX_LINE + 2 ? RF2_MAX_LINE + 2 : avail);
        if (nl == NULL && avail > RF2_MAX_LINE + 1)
            return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, NULL,
                                  "line longer than %d bytes", RF2_MAX_LINE);
        len = nl ? (size_t)(nl - s) : avail;
        pos += nl ? len + 1 : len;
        if (len > 0 && s[len - 1] == '\r')
            len--;
        if (len > RF2_MAX_LINE)
            return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, NULL,
                                  "line longer than %d bytes", RF2_MAX_LINE);
        if (memchr(s, '\0', len) != NULL)
            return cse__error_set(err, CSE_ERR_PARSE, (int)line, source, NULL,
                                  "a NUL byte in the line");
        if (line == 1) {
            if (len != hlen || memcmp(s, header, hlen) != 0)
                return cse__error_set(
                    err, CSE_ERR_PARSE, 1, source, NULL,
                    "not an RF2 %s file: the first line must be the header with the "
                    "%d tab-separated columns %s ... %s",
                    cse__rf2_kind_name(kind), column_count[kind], column_names[kind][0],
                    column_names[kind][column_count[kind] - 1]);
            continue;
        }
        if (len == 0) {
            /* Only the end of the file may be empty. */
            if (pos >= size)
                break;
            return cse__error_set(err, CSE_ERR_PARSE, (int)line, source, NULL,
                                  "an empty line inside the file");
        }
        if (++rows > RF2_MAX_ROWS)
            return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, NULL,
                                  "more than %u rows", RF2_MAX_ROWS);
        memset(&row, 0, sizeof(row));
        for (size_t i = 0; i <= len; i++) {
            if (i < len && s[i] != '\t')
                continue;
            if (col >= column_count[kind])
                return cse__error_set(err, CSE_ERR_PARSE, (int)line, source, NULL,
                                      "more than the %d columns of an RF2 %s row",
                                      column_count[kind], cse__rf2_kind_name(kind));
            if (!take_column(kind, col, s + start, i - start, &row))
                return cse__error_set(
                    err, CSE_ERR_PARSE, (int)line, source, column_names[kind][col],
                    "column %d (%s): expected %s", col + 1, column_names[kind][col],
                    expected(column_types[kind][col]));
            col++;
            start = i + 1;
        }
        if (col != column_count[kind])
            return cse__error_set(err, CSE_ERR_PARSE, (int)line, source, NULL,
                                  "%d columns where an RF2 %s row has %d", col,
                                  cse__rf2_kind_name(kind), column_count[kind]);
        rc = fn(ctx, &row, line, err);
        if (rc != CSE_OK)
            return rc;
    }
    if (line == 0)
        return cse__error_set(err, CSE_ERR_PARSE, 1, source, NULL,
                              "empty file: expected the RF2 %s header line",
                              cse__rf2_kind_name(kind));
    return CSE_OK;
}
