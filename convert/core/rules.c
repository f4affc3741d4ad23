/* SPDX-License-Identifier: MIT */
/* Marker rules: SNOMED identifiers, marker and related codes, NHS numbers. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "internal.h"

/* Verhoeff tables (dihedral group D5). */
static const unsigned char vd[10][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 2, 3, 4, 0, 6, 7, 8, 9, 5},
    {2, 3, 4, 0, 1, 7, 8, 9, 5, 6}, {3, 4, 0, 1, 2, 8, 9, 5, 6, 7},
    {4, 0, 1, 2, 3, 9, 5, 6, 7, 8}, {5, 9, 8, 7, 6, 0, 4, 3, 2, 1},
    {6, 5, 9, 8, 7, 1, 0, 4, 3, 2}, {7, 6, 5, 9, 8, 2, 1, 0, 4, 3},
    {8, 7, 6, 5, 9, 3, 2, 1, 0, 4}, {9, 8, 7, 6, 5, 4, 3, 2, 1, 0}};
static const unsigned char vp[8][10] = {
    {0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, {1, 5, 7, 6, 2, 8, 3, 0, 9, 4},
    {5, 8, 0, 3, 7, 9, 6, 1, 4, 2}, {8, 9, 1, 6, 0, 4, 3, 5, 2, 7},
    {9, 4, 5, 3, 1, 2, 6, 8, 7, 0}, {4, 2, 8, 6, 5, 7, 3, 9, 0, 1},
    {2, 7, 9, 3, 8, 0, 6, 4, 1, 5}, {7, 0, 4, 6, 9, 1, 3, 2, 5, 8}};

bool cse_verhoeff_valid(const char *digits)
{
    size_t len;
    int c = 0;

    if (digits == NULL || (len = strlen(digits)) == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char ch = digits[len - 1 - i];
        if (!isdigit((unsigned char)ch))
            return false;
        c = vd[c][vp[i % 8][ch - '0']];
    }
    return c == 0;
}

cse_sctid_kind cse_sctid_classify(const char *id)
{
    size_t len;
    int partition;

    if (id == NULL)
        return CSE_SCTID_INVALID;
    len = strlen(id);
    if (len < 6 || len > 18 || id[0] == '0' || !cse_verhoeff_valid(id))
        return CSE_SCTID_INVALID;
    /* The partition is the 3rd and 2nd digits from the right. */
    partition = (id[len - 3] - '0') * 10 + (id[len - 2] - '0');
    switch (partition) {
    case 0:
    case 10: return CSE_SCTID_CONCEPT;
    case 1:
    case 11: return CSE_SCTID_DESCRIPTION;
    case 2:
    case 12: return CSE_SCTID_RELATIONSHIP;
    default: return CSE_SCTID_INVALID;
    }
}

struct term {
    const char *id, *term;
};

static const struct term marker_codes[] = {
    {"716565009", "At increased risk of child sexual exploitation"},
    {"713834002", "Victim of child sexual exploitation"},
    {"919461000000108", "At risk of sexual exploitation"},
};

static const struct term related_codes[] = {
    {"836881000000105", "Child is cause for safeguarding concern"},
    {"1064961000000107", "Child in family is safeguarding concern"},
    {"342191000000101", "Subject to child protection plan"},
    {"160877008", "Child at risk"},
    {"700226009", "Victim of sexual grooming"},
    {"700253008", "Suspected victim of sexual grooming"},
    {"1188261000000103", "At risk of criminal exploitation"},
};

static const char *lookup(const struct term *t, size_t n, const char *id)
{
    if (id == NULL)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].id, id) == 0)
            return t[i].term;
    return NULL;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* The table first: it rules out nearly every code at once, and the check
 * digit is then computed only for the few codes in it. */
bool cse_code_is_marker(const char *sctid)
{
    return lookup(marker_codes, NELEM(marker_codes), sctid) != NULL &&
           cse_sctid_classify(sctid) == CSE_SCTID_CONCEPT;
}

bool cse_code_is_related(const char *sctid)
{
    return lookup(related_codes, NELEM(related_codes), sctid) != NULL &&
           cse_sctid_classify(sctid) == CSE_SCTID_CONCEPT;
}

bool cse_code_is_degraded(const char *sctid)
{
    return sctid != NULL && (strcmp(sctid, "196411000000103") == 0 ||
                             strcmp(sctid, "196451000000104") == 0);
}

const char *cse_code_term(const char *sctid)
{
    const char *t = lookup(marker_codes, NELEM(marker_codes), sctid);
    return t ? t : lookup(related_codes, NELEM(related_codes), sctid);
}

static bool is_snomed(const cse_coding *k)
{
    return k->system != NULL && (strcmp(k->system, CSE_SYSTEM_SNOMED) == 0 ||
                                 strcmp(k->system, CSE_OID_SNOMED) == 0 ||
                                 strcmp(k->system, "urn:oid:" CSE_OID_SNOMED) == 0);
}

const char *cse_concept_marker_code(const cse_concept *c)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (is_snomed(&c->codings[i]) && cse_code_is_marker(c->codings[i].code))
            return c->codings[i].code;
    return NULL;
}

const char *cse_concept_related_code(const cse_concept *c)
{
    if (c == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++)
        if (is_snomed(&c->codings[i]) && cse_code_is_related(c->codings[i].code))
            return c->codings[i].code;
    return NULL;
}

static bool word_at(const char *text, const char *p, size_t n)
{
    bool before = p == text || !isalnum((unsigned char)p[-1]);
    bool after = !isalnum((unsigned char)p[n]);
    return before && after;
}

bool cse_text_names_cse(const char *text)
{
    const char *p;

    if (text == NULL)
        return false;
    /* "sexual exploit" covers "sexual exploitation"; "sexually exploit"
     * covers "sexually exploited". */
    for (p = cse__strcasestr(text, "sexual"); p != NULL;
         p = cse__strcasestr(p + 1, "sexual"))
        if (strncasecmp(p + 6, " exploit", 8) == 0 ||
            strncasecmp(p + 6, "ly exploit", 10) == 0)
            return true;
    /* "CSE" as a word, in capitals only: "cse" inside other words is common. */
    for (p = strstr(text, "CSE"); p != NULL; p = strstr(p + 1, "CSE"))
        if (word_at(text, p, 3))
            return true;
    return false;
}

const char *cse_candidate_reason_name(cse_candidate_reason r)
{
    switch (r) {
    case CSE_CANDIDATE_NONE: return "none";
    case CSE_CANDIDATE_DESCRIPTION_ID: return "description-id";
    case CSE_CANDIDATE_LEGACY_ONLY: return "legacy-code-only";
    case CSE_CANDIDATE_DEGRADED: return "transfer-degraded";
    case CSE_CANDIDATE_UNCODED: return "uncoded";
    case CSE_CANDIDATE_MALFORMED: return "malformed-snomed-code";
    case CSE_CANDIDATE_TEXT_ONLY: return "text-only";
    case CSE_CANDIDATE_DAMAGED: return "damaged-marker";
    }
    return "unknown";
}

cse_entry_class cse_concept_classify(const cse_concept *c, cse_candidate_reason *reason)
{
    bool names = false, any_snomed = false, degraded = false, description = false,
         malformed = false;

    if (reason)
        *reason = CSE_CANDIDATE_NONE;
    if (c == NULL)
        return CSE_CLASS_NONE;
    if (cse_concept_marker_code(c))
        return CSE_CLASS_MARKER;
    if (cse_concept_related_code(c))
        return CSE_CLASS_RELATED;
    names = cse_text_names_cse(c->text);
    for (size_t i = 0; i < c->n && !names; i++)
        names = cse_text_names_cse(c->codings[i].display);
    if (!names)
        return CSE_CLASS_NONE;
    /* Why it is a candidate: only asked of the few entries that name CSE. */
    for (size_t i = 0; i < c->n; i++) {
        const cse_coding *k = &c->codings[i];
        if (!is_snomed(k))
            continue;
        any_snomed = true;
        if (cse_code_is_degraded(k->code))
            degraded = true;
        switch (cse_sctid_classify(k->code)) {
        case CSE_SCTID_DESCRIPTION: description = true; break;
        case CSE_SCTID_INVALID: malformed = true; break;
        default: break;
        }
    }
    if (reason) {
        if (degraded)
            *reason = CSE_CANDIDATE_DEGRADED;
        else if (description)
            *reason = CSE_CANDIDATE_DESCRIPTION_ID;
        else if (malformed)
            *reason = CSE_CANDIDATE_MALFORMED;
        else if (c->n == 0)
            *reason = CSE_CANDIDATE_UNCODED;
        else if (!any_snomed)
            *reason = CSE_CANDIDATE_LEGACY_ONLY;
        else
            *reason = CSE_CANDIDATE_TEXT_ONLY;
    }
    return CSE_CLASS_CANDIDATE;
}

cse_code cse_nhs_number_canonical(const char *in, char out[11])
{
    char d[11];
    int n = 0, sum = 0, check;

    if (in == NULL)
        return CSE_ERR_NHS_NUMBER;
    for (const char *p = in; *p; p++) {
        if (isdigit((unsigned char)*p)) {
            if (n == 10)
                return CSE_ERR_NHS_NUMBER;
            d[n++] = *p;
        } else if (*p != ' ' && *p != '-') {
            return CSE_ERR_NHS_NUMBER;
        }
    }
    if (n != 10)
        return CSE_ERR_NHS_NUMBER;
    d[10] = '\0';
    for (int i = 0; i < 9; i++)
        sum += (d[i] - '0') * (10 - i);
    check = 11 - sum % 11;
    if (check == 11)
        check = 0;
    if (check == 10 || check != d[9] - '0')
        return CSE_ERR_NHS_NUMBER;
    if (out != NULL)
        memcpy(out, d, 11);
    return CSE_OK;
}

bool cse_nhs_number_valid(const char *in)
{
    return cse_nhs_number_canonical(in, NULL) == CSE_OK;
}

static const struct {
    const char *oid, *uri;
} systems[] = {
    {CSE_OID_SNOMED, CSE_SYSTEM_SNOMED},
    {CSE_OID_READ2, CSE_SYSTEM_READ2},
    {CSE_OID_CTV3, CSE_SYSTEM_CTV3},
    {CSE_OID_EMIS, CSE_SYSTEM_EMIS},
    /* EMIS's (Egton's) own codes for what is not a drug: the OID the sending
     * adaptor writes them under. Found by OID, a code is the drug system's. */
    {CSE_OID_EMIS, "https://fhir.hl7.org.uk/Id/egton-codes"},
};

const char *cse_system_from_oid(const char *oid)
{
    if (oid == NULL)
        return NULL;
    for (size_t i = 0; i < NELEM(systems); i++)
        if (strcmp(systems[i].oid, oid) == 0)
            return systems[i].uri;
    return NULL;
}

const char *cse_system_to_oid(const char *uri)
{
    if (uri == NULL)
        return NULL;
    if (strncmp(uri, "urn:oid:", 8) == 0)
        return uri + 8;
    for (size_t i = 0; i < NELEM(systems); i++)
        if (strcmp(systems[i].uri, uri) == 0)
            return systems[i].oid;
    return NULL;
}
