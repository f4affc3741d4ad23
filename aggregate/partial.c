/* Partials: counts per practice and period, plus pseudonyms for transfer
 * linkage, as versioned JSON with a SHA-256 digest over its canonical form.
 *
 *   {"format": "csemarker-partial", "version": 1, "tool": "csemarker 0.1.0",
 *    "cells": [{"practice": ..., "interval_start": ..., "interval_end": ...,
 *               "counts": {...}, "linkage": true,
 *               "left_with_marker": [hex...], "arrived_with_marker": [hex...],
 *               "arrived_without_marker": [hex...]}],
 *    "digest": "sha256:HEX"}
 *
 * The digest covers everything but itself, serialised compactly with sorted
 * keys, so any change to the content (or a truncated file) is detected. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "report_internal.h"

#define MAX_PARTIAL (512u << 20)

const char *const cse__count_names[CSE__NCOUNTS] = {"registered_children",
                                                    "children_with_marker",
                                                    "active_markers",
                                                    "active_markers_nopat",
                                                    "active_markers_overdue",
                                                    "active_markers_standard_code",
                                                    "children_possibly_unflagged"};

int cse__pseudo_cmp(const void *a, const void *b)
{
    return memcmp(a, b, CSE__PSEUDO_LEN);
}

size_t cse__pseudo_sort_unique(unsigned char (*a)[CSE__PSEUDO_LEN], size_t n)
{
    size_t out = 0;

    if (n == 0)
        return 0;
    qsort(a, n, sizeof(*a), cse__pseudo_cmp);
    for (size_t i = 0; i < n; i++)
        if (out == 0 || memcmp(a[out - 1], a[i], CSE__PSEUDO_LEN) != 0)
            memmove(a[out++], a[i], CSE__PSEUDO_LEN);
    return out;
}

cse_partial *cse_partial_new(void)
{
    return calloc(1, sizeof(cse_partial));
}

void cse__cell_clear(cse__cell *c)
{
    free(c->left);
    free(c->arr_with);
    free(c->arr_without);
    c->left = c->arr_with = c->arr_without = NULL;
    c->n_left = c->n_arr_with = c->n_arr_without = 0;
}

void cse_partial_free(cse_partial *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        cse__cell_clear(&p->cells[i]);
    free(p->cells);
    free(p);
}

size_t cse_partial_cell_count(const cse_partial *p)
{
    return p ? p->n : 0;
}

static int cell_cmp(const void *a, const void *b)
{
    const cse__cell *x = a, *y = b;
    int c = strcmp(x->practice, y->practice);

    if (c == 0)
        c = cse_time_compare(&x->start, &y->start);
    if (c == 0)
        c = cse_time_compare(&x->end, &y->end);
    return c;
}

static const cse__cell *find_cell(const cse_partial *p, const cse__cell *c)
{
    for (size_t i = 0; i < p->n; i++)
        if (cell_cmp(&p->cells[i], c) == 0)
            return &p->cells[i];
    return NULL;
}

static char *period_text(const cse__cell *c, char *buf, size_t size)
{
    char a[32], b[32];

    snprintf(buf, size, "%s %s..%s", c->practice,
             cse_time_format_fhir_date(&c->start, a, sizeof(a)),
             cse_time_format_fhir_date(&c->end, b, sizeof(b)));
    return buf;
}

cse_code cse__partial_add_cell(cse_partial *p, cse__cell *c, cse_error *err)
{
    char buf[96];

    if (find_cell(p, c) != NULL) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "cells",
                       "practice and period %s appear twice: a partial was merged twice",
                       period_text(c, buf, sizeof(buf)));
        cse__cell_clear(c);
        return CSE_ERR_STRUCTURE;
    }
    if (p->n == p->cap) {
        size_t ncap = p->cap ? p->cap * 2 : 16;
        cse__cell *nc = realloc(p->cells, ncap * sizeof(*nc));
        if (nc == NULL) {
            cse__cell_clear(c);
            return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        }
        p->cells = nc;
        p->cap = ncap;
    }
    c->n_left = cse__pseudo_sort_unique(c->left, c->n_left);
    c->n_arr_with = cse__pseudo_sort_unique(c->arr_with, c->n_arr_with);
    c->n_arr_without = cse__pseudo_sort_unique(c->arr_without, c->n_arr_without);
    p->cells[p->n++] = *c;
    qsort(p->cells, p->n, sizeof(*p->cells), cell_cmp);
    return CSE_OK;
}

static cse_code dup_pseudo(unsigned char (**dst)[CSE__PSEUDO_LEN],
                           unsigned char (*src)[CSE__PSEUDO_LEN], size_t n)
{
    *dst = NULL;
    if (n == 0)
        return CSE_OK;
    if ((*dst = malloc(n * CSE__PSEUDO_LEN)) == NULL)
        return CSE_ERR_NOMEM;
    memcpy(*dst, src, n * CSE__PSEUDO_LEN);
    return CSE_OK;
}

cse_code cse_partial_merge(cse_partial *into, const cse_partial *from, cse_error *err)
{
    char buf[96];
    size_t n0;

    if (into == NULL || from == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no partial");
    /* Check first so that a refused merge leaves into unchanged. */
    for (size_t i = 0; i < from->n; i++)
        if (find_cell(into, &from->cells[i]) != NULL)
            return cse__error_set(
                err, CSE_ERR_STRUCTURE, 0, "", "cells",
                "practice and period %s appear twice: a partial was merged twice",
                period_text(&from->cells[i], buf, sizeof(buf)));
    n0 = into->n;
    for (size_t i = 0; i < from->n; i++) {
        cse__cell c = from->cells[i];
        cse_code rc;
        if (dup_pseudo(&c.left, from->cells[i].left, c.n_left) != CSE_OK ||
            dup_pseudo(&c.arr_with, from->cells[i].arr_with, c.n_arr_with) != CSE_OK ||
            dup_pseudo(&c.arr_without, from->cells[i].arr_without, c.n_arr_without) !=
                CSE_OK)
            rc = CSE_ERR_NOMEM;
        else
            rc = CSE_OK;
        if (rc != CSE_OK) {
            cse__cell_clear(&c);
            cse__error_set(err, rc, 0, "", "", "out of memory");
        } else {
            rc = cse__partial_add_cell(into, &c, err);
        }
        if (rc != CSE_OK) {
            /* Roll back the cells added so far. */
            for (size_t j = 0; j < into->n;) {
                if (j < into->n && find_cell(from, &into->cells[j]) != NULL) {
                    cse__cell_clear(&into->cells[j]);
                    memmove(&into->cells[j], &into->cells[j + 1],
                            (into->n - j - 1) * sizeof(*into->cells));
                    into->n--;
                } else {
                    j++;
                }
            }
            (void)n0;
            return rc;
        }
    }
    return CSE_OK;
}

/* ---- JSON -------------------------------------------------------------- */

static json_t *pseudo_array(unsigned char (*a)[CSE__PSEUDO_LEN], size_t n)
{
    static const char hex[] = "0123456789abcdef";
    json_t *arr = json_array();

    for (size_t i = 0; arr != NULL && i < n; i++) {
        char buf[2 * CSE__PSEUDO_LEN + 1];
        for (size_t k = 0; k < CSE__PSEUDO_LEN; k++) {
            buf[2 * k] = hex[a[i][k] >> 4];
            buf[2 * k + 1] = hex[a[i][k] & 15];
        }
        buf[2 * CSE__PSEUDO_LEN] = '\0';
        if (json_array_append_new(arr, json_string(buf)) != 0) {
            json_decref(arr);
            return NULL;
        }
    }
    return arr;
}

static cse_code digest_of(const json_t *root, char out[72])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    char *s = json_dumps(root, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);

    if (s == NULL)
        return CSE_ERR_NOMEM;
    if (EVP_Digest(s, strlen(s), md, &mdlen, EVP_sha256(), NULL) != 1) {
        free(s);
        return CSE_ERR_INTERNAL;
    }
    free(s);
    memcpy(out, "sha256:", 7);
    for (unsigned i = 0; i < mdlen && i < 32; i++) {
        out[7 + 2 * i] = hex[md[i] >> 4];
        out[8 + 2 * i] = hex[md[i] & 15];
    }
    out[7 + 64] = '\0';
    return CSE_OK;
}

static const char *tool_version(char *buf, size_t size)
{
    snprintf(buf, size, "csemarker %s", cse_version());
    return buf;
}

cse_code cse_partial_write(const cse_partial *p, FILE *out, cse_error *err)
{
    json_t *root = NULL, *cells;
    char ver[64], digest[72];
    cse_code rc = CSE_OK;

    if (p == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "no partial or output");
    root =
        json_pack("{s:s, s:i, s:s, s:[]}", "format", CSE_PARTIAL_FORMAT, "version",
                  CSE_PARTIAL_VERSION, "tool", tool_version(ver, sizeof(ver)), "cells");
    if (root == NULL)
        goto nomem;
    cells = json_object_get(root, "cells");
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        char a[32], b[32];
        json_t *cell, *counts = json_object();
        if (counts == NULL)
            goto nomem;
        for (int k = 0; k < CSE__NCOUNTS; k++)
            if (json_object_set_new(counts, cse__count_names[k],
                                    json_integer((json_int_t)c->c[k])) != 0) {
                json_decref(counts);
                goto nomem;
            }
        cell = json_pack(
            "{s:s, s:s, s:s, s:o, s:b, s:o*, s:o*, s:o*}", "practice", c->practice,
            "interval_start", cse_time_format_fhir_date(&c->start, a, sizeof(a)),
            "interval_end", cse_time_format_fhir_date(&c->end, b, sizeof(b)), "counts",
            counts, "linkage", c->linkage, "left_with_marker",
            pseudo_array(c->left, c->n_left), "arrived_with_marker",
            pseudo_array(c->arr_with, c->n_arr_with), "arrived_without_marker",
            pseudo_array(c->arr_without, c->n_arr_without));
        if (cell == NULL || json_array_append_new(cells, cell) != 0)
            goto nomem;
    }
    if ((rc = digest_of(root, digest)) != CSE_OK) {
        cse__error_set(err, rc, 0, "", "", "cannot compute the digest");
        goto out;
    }
    if (json_object_set_new(root, "digest", json_string(digest)) != 0)
        goto nomem;
    if (json_dumpf(root, out, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII) != 0 ||
        fputc('\n', out) == EOF || ferror(out)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, "", "", "cannot write the partial: %s",
                            strerror(errno));
        goto out;
    }
    goto out;
nomem:
    rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
out:
    json_decref(root);
    return rc;
}

static cse_code read_pseudo(const json_t *arr, unsigned char (**out)[CSE__PSEUDO_LEN],
                            size_t *n, const char *source, const char *path,
                            cse_error *err)
{
    size_t i, len = json_array_size(arr);
    const json_t *v;

    *out = NULL;
    *n = 0;
    if (arr != NULL && !json_is_array(arr))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "expected an array of pseudonyms");
    if (len == 0)
        return CSE_OK;
    if ((*out = malloc(len * CSE__PSEUDO_LEN)) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, source, path, "out of memory");
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || strlen(s) != 2 * CSE__PSEUDO_LEN ||
            strspn(s, "0123456789abcdef") != 2 * CSE__PSEUDO_LEN)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                  "pseudonym %zu is not %d lower-case hex digits", i,
                                  2 * CSE__PSEUDO_LEN);
        for (size_t k = 0; k < CSE__PSEUDO_LEN; k++) {
            unsigned hi =
                (unsigned)(s[2 * k] <= '9' ? s[2 * k] - '0' : s[2 * k] - 'a' + 10);
            unsigned lo = (unsigned)(s[2 * k + 1] <= '9' ? s[2 * k + 1] - '0'
                                                         : s[2 * k + 1] - 'a' + 10);
            (*out)[i][k] = (unsigned char)(hi << 4 | lo);
        }
    }
    *n = cse__pseudo_sort_unique(*out, len);
    return CSE_OK;
}

static cse_code read_cell(const json_t *jc, size_t idx, cse__cell *c, const char *source,
                          cse_error *err)
{
    const char *ods = json_string_value(json_object_get(jc, "practice"));
    const char *a = json_string_value(json_object_get(jc, "interval_start"));
    const char *b = json_string_value(json_object_get(jc, "interval_end"));
    const json_t *counts = json_object_get(jc, "counts");
    char path[64];
    cse_code rc;

    memset(c, 0, sizeof(*c));
    snprintf(path, sizeof(path), "cells[%zu]", idx);
    if (ods == NULL || strlen(ods) == 0 || strlen(ods) >= sizeof(c->practice) ||
        strspn(ods, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != strlen(ods))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "practice is not an ODS code");
    memcpy(c->practice, ods, strlen(ods) + 1);
    if (a == NULL || b == NULL || cse_time_parse_fhir(a, &c->start) != CSE_OK ||
        cse_time_parse_fhir(b, &c->end) != CSE_OK || c->start.precision != CSE_TIME_DAY ||
        c->end.precision != CSE_TIME_DAY || cse_time_compare(&c->end, &c->start) < 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "interval_start/interval_end are not a period of dates");
    for (int k = 0; k < CSE__NCOUNTS; k++) {
        const json_t *v = json_object_get(counts, cse__count_names[k]);
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                  "counts.%s is missing or not a count",
                                  cse__count_names[k]);
        /* No population is this large; a cap keeps every sum far from overflow. */
        if (json_integer_value(v) > 1000000000000LL)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                  "counts.%s is out of range (too large)",
                                  cse__count_names[k]);
        c->c[k] = (uint64_t)json_integer_value(v);
    }
    c->linkage = json_is_true(json_object_get(jc, "linkage"));
    if ((rc = read_pseudo(json_object_get(jc, "left_with_marker"), &c->left, &c->n_left,
                          source, path, err)) != CSE_OK ||
        (rc = read_pseudo(json_object_get(jc, "arrived_with_marker"), &c->arr_with,
                          &c->n_arr_with, source, path, err)) != CSE_OK ||
        (rc = read_pseudo(json_object_get(jc, "arrived_without_marker"), &c->arr_without,
                          &c->n_arr_without, source, path, err)) != CSE_OK) {
        cse__cell_clear(c);
        return rc;
    }
    return CSE_OK;
}

/* "csemarker MAJOR.MINOR.PATCH": the same MAJOR.MINOR as this library. */
static int same_tool(const char *tool)
{
    char mine[64];
    const char *dot;

    tool_version(mine, sizeof(mine));
    dot = strrchr(mine, '.');
    return tool != NULL && dot != NULL &&
           strncmp(tool, mine, (size_t)(dot - mine + 1)) == 0;
}

cse_code cse_partial_read_memory(const char *buf, size_t len, const char *source,
                                 cse_partial **out, cse_error *err)
{
    json_error_t jerr;
    json_t *root = NULL, *digest_v, *cells, *jc;
    cse_partial *p = NULL;
    char want[72];
    const char *format, *tool, *digest;
    cse_code rc = CSE_OK;
    size_t i;

    if (out == NULL || buf == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, source, "", "no input");
    *out = NULL;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        /* jansson's text without the input it quotes. */
        char *near = strstr(jerr.text, " near '");
        if (near != NULL)
            *near = '\0';
        rc = cse__error_set(err, CSE_ERR_PARSE, jerr.line, source, "",
                            "not a partial: JSON does not parse at column %d: %s "
                            "(truncated or corrupted?)",
                            jerr.column, jerr.text);
        goto out;
    }
    format = json_string_value(json_object_get(root, "format"));
    if (format == NULL || strcmp(format, CSE_PARTIAL_FORMAT) != 0) {
        rc = cse__error_set(err, CSE_ERR_VERSION, 0, source, "format",
                            "not a csemarker partial (format must be \"%s\")",
                            CSE_PARTIAL_FORMAT);
        goto out;
    }
    if (!json_is_integer(json_object_get(root, "version")) ||
        json_integer_value(json_object_get(root, "version")) != CSE_PARTIAL_VERSION) {
        rc = cse__error_set(
            err, CSE_ERR_VERSION, 0, source, "version",
            "partial format version %lld is not supported (this is "
            "version %d); re-run extract with this release",
            (long long)json_integer_value(json_object_get(root, "version")),
            CSE_PARTIAL_VERSION);
        goto out;
    }
    tool = json_string_value(json_object_get(root, "tool"));
    if (!same_tool(tool)) {
        char mine[64];
        rc = cse__error_set(err, CSE_ERR_VERSION, 0, source, "tool",
                            "partial written by %.40s, not by %s: measures may differ "
                            "between releases; re-run extract with this release",
                            tool ? tool : "an unknown tool",
                            tool_version(mine, sizeof(mine)));
        goto out;
    }
    digest_v = json_object_get(root, "digest");
    digest = json_string_value(digest_v);
    if (digest == NULL) {
        rc = cse__error_set(err, CSE_ERR_INTEGRITY, 0, source, "digest",
                            "partial has no digest");
        goto out;
    }
    json_incref(digest_v);
    json_object_del(root, "digest");
    rc = digest_of(root, want);
    if (rc == CSE_OK && strcmp(want, json_string_value(digest_v)) != 0)
        rc = cse__error_set(
            err, CSE_ERR_INTEGRITY, 0, source, "digest",
            "partial is corrupted or was edited: its digest does not match "
            "its content");
    json_decref(digest_v);
    if (rc != CSE_OK) {
        cse__error_set(err, rc, 0, source, "digest", "cannot check the digest");
        goto out;
    }
    cells = json_object_get(root, "cells");
    if (!json_is_array(cells)) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, "cells", "no cells array");
        goto out;
    }
    if ((p = cse_partial_new()) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, source, "", "out of memory");
        goto out;
    }
    json_array_foreach(cells, i, jc)
    {
        cse__cell c;
        if ((rc = read_cell(jc, i, &c, source, err)) != CSE_OK ||
            (rc = cse__partial_add_cell(p, &c, err)) != CSE_OK)
            goto out;
    }
    *out = p;
    p = NULL;
out:
    cse_partial_free(p);
    json_decref(root);
    return rc;
}

cse_code cse_partial_read_file(const char *path, cse_partial **out, cse_error *err)
{
    FILE *fp;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    struct stat st;
    cse_code rc;

    if (path == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no partial");
    fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (fp == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open: %s",
                              strerror(errno));
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        if (fp != stdin)
            fclose(fp);
        return cse__error_set(err, CSE_ERR_IO, 0, path, "",
                              "is a directory, not a partial");
    }
    for (;;) {
        size_t got;
        if (n == cap) {
            char *nb;
            cap = cap ? cap * 2 : 65536;
            if (cap > MAX_PARTIAL) {
                rc = cse__error_set(err, CSE_ERR_LIMIT, 0, path, "",
                                    "partial larger than %u bytes", MAX_PARTIAL);
                goto out;
            }
            if ((nb = realloc(buf, cap)) == NULL) {
                rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
                goto out;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, cap - n, fp);
        n += got;
        if (got == 0)
            break;
    }
    if (ferror(fp)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, path, "", "read error");
        goto out;
    }
    rc = cse_partial_read_memory(buf, n, path, out, err);
out:
    free(buf);
    if (fp != stdin)
        fclose(fp);
    return rc;
}
