/* SPDX-License-Identifier: MIT */
/* Partials, format version 2: signed parts, each from one signer.
 *
 *   {"format": "csemarker-partial", "version": 2,
 *    "partials": [
 *      {"kind": "practice", "tool": "csemarker 0.1.0",
 *       "signer": "Y01001", "signer_key_id": "HEX16",
 *       "cells": [{"practice": "Y01001", "interval_start": ..., "interval_end": ...,
 *                  "counts": {...},
 *                  "pseudonyms": {"pseudonym_key_id": "HEX16",
 *                                 "linkage_key_id": "HEX16", "sealed": "BASE64"}}],
 *       "signature": "ed25519:BASE64"},
 *      {"kind": "linked", "tool": ..., "signer": "ICS", "signer_key_id": ...,
 *       "pseudonym_key_id": "HEX16", "practices": ["Y01001", ...],
 *       "cells": [{"practice": ..., "interval_start": ..., "interval_end": ...,
 *                  "transfer": {"numerator": N, "denominator": D}}],
 *       "signature": ...}]}
 *
 * A practice signs its own counts with its Ed25519 key; the pseudonym lists
 * (children who left with an active marker, who arrived with or without one)
 * are sealed to the ICS linkage key, never written in clear. The ICS's link
 * step opens them and signs the linked transfer counts. A signature covers
 * its part serialised compactly with sorted keys. A merged partial is the
 * union of the signed parts, sorted, so every signature is checked again at
 * every merge, however deep the tree of merges. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>
#include <openssl/evp.h>

#include "report_internal.h"

#define MAX_PARTIAL (512u << 20)
/* Sealed pseudonym lists are padded to a multiple of this many entries, so
 * their length tells little about how many children moved. */
#define SEAL_PAD 32

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
    free(c->sealed);
    c->left = c->arr_with = c->arr_without = NULL;
    c->sealed = NULL;
    c->n_left = c->n_arr_with = c->n_arr_without = c->sealed_len = 0;
}

void cse_partial_free(cse_partial *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++)
        cse__cell_clear(&p->cells[i]);
    free(p->cells);
    free(p->tcells);
    for (size_t i = 0; i < p->nm; i++) {
        json_decref(p->members[i]);
        free(p->member_src[i]);
    }
    free(p->members);
    free(p->member_src);
    free(p);
}

size_t cse_partial_cell_count(const cse_partial *p)
{
    return p ? p->n : 0;
}

static int period_cmp(const char *pa, const cse_time *sa, const cse_time *ea,
                      const char *pb, const cse_time *sb, const cse_time *eb)
{
    int c = strcmp(pa, pb);

    if (c == 0)
        c = cse_time_compare(sa, sb);
    if (c == 0)
        c = cse_time_compare(ea, eb);
    return c;
}

static int cell_cmp(const void *a, const void *b)
{
    const cse__cell *x = a, *y = b;
    return period_cmp(x->practice, &x->start, &x->end, y->practice, &y->start, &y->end);
}

static int tcell_cmp(const void *a, const void *b)
{
    const cse__tcell *x = a, *y = b;
    return period_cmp(x->practice, &x->start, &x->end, y->practice, &y->start, &y->end);
}

static const cse__cell *find_cell(const cse_partial *p, const cse__cell *c)
{
    if (p->n == 0)
        return NULL;
    return bsearch(c, p->cells, p->n, sizeof(*p->cells), cell_cmp);
}

static const cse__tcell *find_tcell(const cse_partial *p, const cse__tcell *t)
{
    if (p->nt == 0)
        return NULL;
    return bsearch(t, p->tcells, p->nt, sizeof(*p->tcells), tcell_cmp);
}

static char *period_text(const char *ods, const cse_time *s, const cse_time *e, char *buf,
                         size_t size)
{
    char a[32], b[32];

    snprintf(buf, size, "%s %s..%s", ods, cse_time_format_fhir_date(s, a, sizeof(a)),
             cse_time_format_fhir_date(e, b, sizeof(b)));
    return buf;
}

static const char *src_of(const cse_partial *p, int member)
{
    return member >= 0 && (size_t)member < p->nm && p->member_src[member]
               ? p->member_src[member]
               : "";
}

cse_code cse__partial_add_cell(cse_partial *p, cse__cell *c, cse_error *err)
{
    char buf[96];

    if (find_cell(p, c) != NULL) {
        cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "cells",
                       "practice and period %s appear twice: a partial was merged twice",
                       period_text(c->practice, &c->start, &c->end, buf, sizeof(buf)));
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

cse_code cse__partial_add_tcell(cse_partial *p, const cse__tcell *t, cse_error *err)
{
    char buf[96];

    if (find_tcell(p, t) != NULL)
        return cse__error_set(
            err, CSE_ERR_STRUCTURE, 0, "", "cells",
            "linked transfer counts for %s appear twice: a linked partial was merged "
            "twice",
            period_text(t->practice, &t->start, &t->end, buf, sizeof(buf)));
    if (p->nt == p->capt) {
        size_t ncap = p->capt ? p->capt * 2 : 16;
        cse__tcell *nt = realloc(p->tcells, ncap * sizeof(*nt));
        if (nt == NULL)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        p->tcells = nt;
        p->capt = ncap;
    }
    p->tcells[p->nt++] = *t;
    qsort(p->tcells, p->nt, sizeof(*p->tcells), tcell_cmp);
    return CSE_OK;
}

static void *dup_mem(const void *src, size_t n)
{
    void *d;

    if (n == 0 || src == NULL)
        return NULL;
    if ((d = malloc(n)) != NULL)
        memcpy(d, src, n);
    return d;
}

static cse_code add_member(cse_partial *p, json_t *m, const char *src, cse_error *err)
{
    void **nm = realloc(p->members, (p->nm + 1) * sizeof(*nm));
    char **ns;

    if (nm == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    p->members = nm;
    if ((ns = realloc(p->member_src, (p->nm + 1) * sizeof(*ns))) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    p->member_src = ns;
    if ((p->member_src[p->nm] = cse__strdup(src ? src : "")) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    p->members[p->nm++] = json_incref(m);
    return CSE_OK;
}

cse_code cse_partial_merge(cse_partial *into, const cse_partial *from, cse_error *err)
{
    char buf[96];
    size_t base;

    if (into == NULL || from == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no partial");
    /* Check first so that a refused merge leaves into unchanged. */
    for (size_t i = 0; i < from->n; i++)
        if (find_cell(into, &from->cells[i]) != NULL)
            return cse__error_set(
                err, CSE_ERR_STRUCTURE, 0, src_of(from, from->cells[i].member), "cells",
                "practice and period %s appear twice: a partial was merged twice",
                period_text(from->cells[i].practice, &from->cells[i].start,
                            &from->cells[i].end, buf, sizeof(buf)));
    for (size_t i = 0; i < from->nt; i++)
        if (find_tcell(into, &from->tcells[i]) != NULL)
            return cse__error_set(
                err, CSE_ERR_STRUCTURE, 0, src_of(from, from->tcells[i].member), "cells",
                "linked transfer counts for %s appear twice: a linked partial was "
                "merged twice",
                period_text(from->tcells[i].practice, &from->tcells[i].start,
                            &from->tcells[i].end, buf, sizeof(buf)));
    base = into->nm;
    for (size_t i = 0; i < from->nm; i++)
        if (add_member(into, from->members[i], from->member_src[i], err) != CSE_OK)
            return CSE_ERR_NOMEM;
    for (size_t i = 0; i < from->n; i++) {
        const cse__cell *f = &from->cells[i];
        cse__cell c = *f;
        cse_code rc;
        c.left = dup_mem(f->left, f->n_left * CSE__PSEUDO_LEN);
        c.arr_with = dup_mem(f->arr_with, f->n_arr_with * CSE__PSEUDO_LEN);
        c.arr_without = dup_mem(f->arr_without, f->n_arr_without * CSE__PSEUDO_LEN);
        c.sealed = dup_mem(f->sealed, f->sealed_len);
        c.member = f->member >= 0 ? f->member + (int)base : -1;
        if ((f->n_left && !c.left) || (f->n_arr_with && !c.arr_with) ||
            (f->n_arr_without && !c.arr_without) || (f->sealed_len && !c.sealed)) {
            cse__cell_clear(&c);
            return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        }
        if ((rc = cse__partial_add_cell(into, &c, err)) != CSE_OK)
            return rc;
    }
    for (size_t i = 0; i < from->nt; i++) {
        cse__tcell t = from->tcells[i];
        cse_code rc;
        t.member = t.member >= 0 ? t.member + (int)base : -1;
        if ((rc = cse__partial_add_tcell(into, &t, err)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

/* ---- Encodings --------------------------------------------------------- */

static char *b64_encode(const unsigned char *b, size_t n)
{
    char *out = malloc(4 * ((n + 2) / 3) + 1);

    if (out != NULL)
        EVP_EncodeBlock((unsigned char *)out, b, (int)n);
    return out;
}

/* Decodes standard base64 (with padding); NULL when it is not. */
static unsigned char *b64_decode(const char *s, size_t *n)
{
    size_t len = strlen(s), pad = 0;
    unsigned char *out;
    int got;

    if (len == 0 || len % 4 != 0 || len > ((size_t)1 << 30))
        return NULL;
    if (strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=") !=
        len)
        return NULL;
    if (s[len - 1] == '=')
        pad = s[len - 2] == '=' ? 2 : 1;
    if (strchr(s, '=') != NULL && strchr(s, '=') < s + len - pad)
        return NULL;
    if ((out = malloc(len / 4 * 3 + 1)) == NULL)
        return NULL;
    got = EVP_DecodeBlock(out, (const unsigned char *)s, (int)len);
    if (got < 0 || (size_t)got < pad) {
        free(out);
        return NULL;
    }
    *n = (size_t)got - pad;
    return out;
}

static const char *tool_version(char *buf, size_t size)
{
    snprintf(buf, size, "csemarker %s", cse_version());
    return buf;
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

/* What the seal is bound to: the cell it belongs to and the pseudonym key. */
static size_t seal_aad(const cse__cell *c, const char *pkey_id, char *buf, size_t size)
{
    char a[32], b[32];
    int n = snprintf(buf, size, "csemarker-partial-v2|%s|%s|%s|%s", c->practice,
                     cse_time_format_fhir_date(&c->start, a, sizeof(a)),
                     cse_time_format_fhir_date(&c->end, b, sizeof(b)), pkey_id);
    return n > 0 && (size_t)n < size ? (size_t)n : 0;
}

static void put_u32(unsigned char *b, size_t v)
{
    b[0] = (unsigned char)(v >> 24);
    b[1] = (unsigned char)(v >> 16);
    b[2] = (unsigned char)(v >> 8);
    b[3] = (unsigned char)v;
}

static size_t get_u32(const unsigned char *b)
{
    return (size_t)b[0] << 24 | (size_t)b[1] << 16 | (size_t)b[2] << 8 | b[3];
}

/* Seals a cell's three pseudonym lists: three 32-bit counts, the entries,
 * zero entries up to a multiple of SEAL_PAD. */
static json_t *sealed_pseudonyms(const cse__cell *c, const cse_report_key *linkage,
                                 const char *pkey_id, cse_code *rc)
{
    size_t total = c->n_left + c->n_arr_with + c->n_arr_without, padded, len, slen;
    unsigned char *plain, *sealed = NULL, *q;
    char aad[160], *b64 = NULL;
    size_t aadlen = seal_aad(c, pkey_id, aad, sizeof(aad));
    json_t *o = NULL;

    padded = (total / SEAL_PAD + 1) * SEAL_PAD;
    len = 12 + padded * CSE__PSEUDO_LEN;
    if ((plain = calloc(1, len)) == NULL) {
        *rc = CSE_ERR_NOMEM;
        return NULL;
    }
    put_u32(plain, c->n_left);
    put_u32(plain + 4, c->n_arr_with);
    put_u32(plain + 8, c->n_arr_without);
    q = plain + 12;
    if (c->n_left)
        memcpy(q, c->left, c->n_left * CSE__PSEUDO_LEN);
    q += c->n_left * CSE__PSEUDO_LEN;
    if (c->n_arr_with)
        memcpy(q, c->arr_with, c->n_arr_with * CSE__PSEUDO_LEN);
    q += c->n_arr_with * CSE__PSEUDO_LEN;
    if (c->n_arr_without)
        memcpy(q, c->arr_without, c->n_arr_without * CSE__PSEUDO_LEN);
    *rc = cse__seal(linkage, (unsigned char *)aad, aadlen, plain, len, &sealed, &slen);
    cse__wipe(plain, len);
    free(plain);
    if (*rc != CSE_OK)
        return NULL;
    if ((b64 = b64_encode(sealed, slen)) == NULL ||
        (o = json_pack("{s:s, s:s, s:s}", "pseudonym_key_id", pkey_id, "linkage_key_id",
                       cse_report_key_id(linkage), "sealed", b64)) == NULL)
        *rc = CSE_ERR_NOMEM;
    free(b64);
    free(sealed);
    return o;
}

static cse_code read_pseudo_block(const unsigned char *b, size_t len,
                                  unsigned char (**out)[CSE__PSEUDO_LEN], size_t n,
                                  size_t *nout)
{
    *out = NULL;
    *nout = 0;
    if (n == 0)
        return CSE_OK;
    if (n > len / CSE__PSEUDO_LEN)
        return CSE_ERR_STRUCTURE;
    if ((*out = malloc(n * CSE__PSEUDO_LEN)) == NULL)
        return CSE_ERR_NOMEM;
    memcpy(*out, b, n * CSE__PSEUDO_LEN);
    *nout = cse__pseudo_sort_unique(*out, n);
    return CSE_OK;
}

/* Opens a cell's sealed pseudonyms into its three lists (link only). */
cse_code cse__cell_open(cse__cell *c, const cse_report_key *linkage, const char *source,
                        cse_error *err)
{
    char aad[160];
    size_t aadlen = seal_aad(c, c->pkey_id, aad, sizeof(aad)), len = 0, a, w, wo, need;
    unsigned char *plain = NULL;
    cse_code rc;

    rc = cse__open(linkage, (unsigned char *)aad, aadlen, c->sealed, c->sealed_len,
                   &plain, &len);
    if (rc == CSE_ERR_INTEGRITY)
        return cse__error_set(err, rc, 0, source, "pseudonyms",
                              "the sealed pseudonyms of %s do not open with this linkage "
                              "key: sealed to another key, or altered",
                              c->practice);
    if (rc != CSE_OK)
        return cse__error_set(err, rc, 0, source, "pseudonyms",
                              "cannot open the sealed pseudonyms");
    rc = CSE_ERR_STRUCTURE;
    if (len < 12)
        goto out;
    a = get_u32(plain), w = get_u32(plain + 4), wo = get_u32(plain + 8);
    need = a + w + wo;
    if (a > len || w > len || wo > len || 12 + need * CSE__PSEUDO_LEN > len)
        goto out;
    if ((rc = read_pseudo_block(plain + 12, len - 12, &c->left, a, &c->n_left)) !=
            CSE_OK ||
        (rc = read_pseudo_block(plain + 12 + a * CSE__PSEUDO_LEN,
                                len - 12 - a * CSE__PSEUDO_LEN, &c->arr_with, w,
                                &c->n_arr_with)) != CSE_OK ||
        (rc = read_pseudo_block(plain + 12 + (a + w) * CSE__PSEUDO_LEN,
                                len - 12 - (a + w) * CSE__PSEUDO_LEN, &c->arr_without, wo,
                                &c->n_arr_without)) != CSE_OK)
        goto out;
    rc = CSE_OK;
out:
    if (plain != NULL)
        cse__wipe(plain, len);
    free(plain);
    if (rc != CSE_OK)
        cse__error_set(err, rc, 0, source, "pseudonyms",
                       rc == CSE_ERR_NOMEM ? "out of memory"
                                           : "the sealed pseudonyms are malformed");
    return rc;
}

/* ---- Writing ----------------------------------------------------------- */

static char *canonical(const json_t *member)
{
    json_t *copy = json_deep_copy(member);
    char *s;

    if (copy == NULL)
        return NULL;
    json_object_del(copy, "signature");
    s = json_dumps(copy, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
    json_decref(copy);
    return s;
}

static json_t *practice_cell_json(const cse__cell *c, const cse_report_key *linkage,
                                  const char *pkey_id, cse_code *rc)
{
    char a[32], b[32];
    json_t *counts = json_object(), *pseud = json_null();

    *rc = CSE_OK;
    if (counts == NULL)
        goto nomem;
    for (int k = 0; k < CSE__NCOUNTS; k++)
        if (json_object_set_new(counts, cse__count_names[k],
                                json_integer((json_int_t)c->c[k])) != 0)
            goto nomem;
    if (c->linkage) {
        json_decref(pseud);
        if ((pseud = sealed_pseudonyms(c, linkage, pkey_id, rc)) == NULL)
            goto fail;
    }
    return json_pack("{s:s, s:s, s:s, s:o, s:o}", "practice", c->practice,
                     "interval_start", cse_time_format_fhir_date(&c->start, a, sizeof(a)),
                     "interval_end", cse_time_format_fhir_date(&c->end, b, sizeof(b)),
                     "counts", counts, "pseudonyms", pseud);
nomem:
    *rc = CSE_ERR_NOMEM;
fail:
    json_decref(counts);
    json_decref(pseud);
    return NULL;
}

static int member_cmp(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    const char *sx = json_string_value(json_object_get(x, "signature"));
    const char *sy = json_string_value(json_object_get(y, "signature"));

    return strcmp(sx ? sx : "", sy ? sy : "");
}

static cse_code write_members(json_t **members, size_t n, FILE *out, cse_error *err)
{
    json_t *root = json_pack("{s:s, s:i, s:[]}", "format", CSE_PARTIAL_FORMAT, "version",
                             CSE_PARTIAL_VERSION, "partials");
    json_t *arr = json_object_get(root, "partials");
    cse_code rc = CSE_OK;

    if (root == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    qsort(members, n, sizeof(*members), member_cmp);
    for (size_t i = 0; i < n; i++)
        if (json_array_append(arr, members[i]) != 0) {
            json_decref(root);
            return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        }
    if (json_dumpf(root, out, JSON_INDENT(1) | JSON_SORT_KEYS | JSON_ENSURE_ASCII) != 0 ||
        fputc('\n', out) == EOF || ferror(out))
        rc = cse__error_set(err, CSE_ERR_IO, 0, "", "", "cannot write the partial: %s",
                            strerror(errno));
    json_decref(root);
    return rc;
}

cse_code cse__partial_write_signed(const cse_partial *p, const char *kind,
                                   const char *signer, const cse_report_key *signing,
                                   const cse_report_key *linkage, const char *pkey_id,
                                   FILE *out, cse_error *err)
{
    int linked = strcmp(kind, "linked") == 0;
    char ver[64], *canon = NULL, *b64 = NULL, sigtxt[128];
    unsigned char sig[CSE__SIG_LEN];
    json_t *m = NULL, *cells;
    cse_code rc = CSE_OK;

    if (p == NULL || out == NULL || signing == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "a partial is signed: no signing key given");
    m = json_pack("{s:s, s:s, s:s, s:s, s:[]}", "kind", kind, "tool",
                  tool_version(ver, sizeof(ver)), "signer", signer, "signer_key_id",
                  cse_report_key_id(signing), "cells");
    if (m == NULL)
        goto nomem;
    cells = json_object_get(m, "cells");
    if (linked) {
        json_t *pr = json_array();
        if (pr == NULL || json_object_set_new(m, "practices", pr) != 0 ||
            json_object_set_new(m, "pseudonym_key_id", json_string(pkey_id)) != 0)
            goto nomem;
        for (size_t i = 0; i < p->nt; i++) {
            const cse__tcell *t = &p->tcells[i];
            char a[32], b[32];
            if (i == 0 || strcmp(t->practice, p->tcells[i - 1].practice) != 0)
                json_array_append_new(pr, json_string(t->practice));
            if (json_array_append_new(
                    cells, json_pack("{s:s, s:s, s:s, s:{s:I, s:I}}", "practice",
                                     t->practice, "interval_start",
                                     cse_time_format_fhir_date(&t->start, a, sizeof(a)),
                                     "interval_end",
                                     cse_time_format_fhir_date(&t->end, b, sizeof(b)),
                                     "transfer", "numerator", (json_int_t)t->num,
                                     "denominator", (json_int_t)t->den)) != 0)
                goto nomem;
        }
    } else {
        for (size_t i = 0; i < p->n; i++) {
            json_t *c;
            if (p->cells[i].linkage && linkage == NULL) {
                rc = cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "pseudonyms",
                                    "pseudonyms are sealed to the ICS linkage key: give "
                                    "its public key (--linkage-key FILE.pub)");
                goto out;
            }
            if ((c = practice_cell_json(&p->cells[i], linkage, pkey_id, &rc)) == NULL) {
                if (rc == CSE_OK)
                    rc = CSE_ERR_NOMEM;
                cse__error_set(err, rc, 0, "", "pseudonyms",
                               rc == CSE_ERR_NOMEM ? "out of memory"
                                                   : "cannot seal the pseudonyms");
                goto out;
            }
            if (json_array_append_new(cells, c) != 0)
                goto nomem;
        }
    }
    if ((canon = canonical(m)) == NULL)
        goto nomem;
    if ((rc = cse__sign(signing, canon, strlen(canon), sig)) != CSE_OK) {
        cse__error_set(err, rc, 0, "", "signature", "cannot sign the partial");
        goto out;
    }
    if ((b64 = b64_encode(sig, sizeof(sig))) == NULL)
        goto nomem;
    snprintf(sigtxt, sizeof(sigtxt), "ed25519:%s", b64);
    if (json_object_set_new(m, "signature", json_string(sigtxt)) != 0)
        goto nomem;
    rc = write_members(&m, 1, out, err);
    goto out;
nomem:
    rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
out:
    free(canon);
    free(b64);
    json_decref(m);
    return rc;
}

cse_code cse_partial_write(const cse_partial *p, FILE *out, cse_error *err)
{
    json_t **ms;
    cse_code rc;

    if (p == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "no partial or output");
    for (size_t i = 0; i < p->n + p->nt; i++)
        if ((i < p->n ? p->cells[i].member : p->tcells[i - p->n].member) < 0)
            return cse__error_set(err, CSE_ERR_STATE, 0, "", "",
                                  "a partial built in memory is unsigned: it cannot be "
                                  "written (extract signs the partials it writes)");
    if (p->nm == 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "", "an empty partial");
    if ((ms = malloc(p->nm * sizeof(*ms))) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    memcpy(ms, p->members, p->nm * sizeof(*ms));
    rc = write_members(ms, p->nm, out, err);
    free(ms);
    return rc;
}

/* ---- Reading ----------------------------------------------------------- */

static int is_key_id(const char *s)
{
    return s != NULL && strlen(s) == CSE__KEY_ID_LEN &&
           strspn(s, "0123456789abcdef") == CSE__KEY_ID_LEN;
}

static int is_ods(const char *s, size_t max)
{
    return s != NULL && strlen(s) > 0 && strlen(s) < max &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") == strlen(s);
}

static cse_code read_period(const json_t *jc, char practice[16], cse_time *start,
                            cse_time *end, const char *source, const char *path,
                            cse_error *err)
{
    const char *ods = json_string_value(json_object_get(jc, "practice"));
    const char *a = json_string_value(json_object_get(jc, "interval_start"));
    const char *b = json_string_value(json_object_get(jc, "interval_end"));

    if (!is_ods(ods, 16))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "practice is not an ODS code");
    memcpy(practice, ods, strlen(ods) + 1);
    if (a == NULL || b == NULL || cse_time_parse_fhir(a, start) != CSE_OK ||
        cse_time_parse_fhir(b, end) != CSE_OK || start->precision != CSE_TIME_DAY ||
        end->precision != CSE_TIME_DAY || cse_time_compare(end, start) < 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "interval_start/interval_end are not a period of dates");
    return CSE_OK;
}

/* No population is this large; a cap keeps every sum far from overflow.
 * Returns 0, -1 (missing or not a count) or -2 (out of range). */
static int read_count(const json_t *v, uint64_t *out)
{
    if (!json_is_integer(v) || json_integer_value(v) < 0)
        return -1;
    if (json_integer_value(v) > 1000000000000LL)
        return -2;
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

static cse_code read_practice_cell(const json_t *jc, const char *path, cse__cell *c,
                                   const char *source, cse_error *err)
{
    const json_t *counts = json_object_get(jc, "counts"), *ps;
    cse_code rc;

    memset(c, 0, sizeof(*c));
    if ((rc = read_period(jc, c->practice, &c->start, &c->end, source, path, err)) !=
        CSE_OK)
        return rc;
    for (int k = 0; k < CSE__NCOUNTS; k++) {
        int bad = read_count(json_object_get(counts, cse__count_names[k]), &c->c[k]);
        if (bad != 0)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                  bad == -2 ? "counts.%s is out of range (too large)"
                                            : "counts.%s is missing or not a count",
                                  cse__count_names[k]);
    }
    ps = json_object_get(jc, "pseudonyms");
    if (ps != NULL && !json_is_null(ps)) {
        const char *pk = json_string_value(json_object_get(ps, "pseudonym_key_id"));
        const char *lk = json_string_value(json_object_get(ps, "linkage_key_id"));
        const char *sealed = json_string_value(json_object_get(ps, "sealed"));
        if (!is_key_id(pk) || !is_key_id(lk) || sealed == NULL ||
            (c->sealed = b64_decode(sealed, &c->sealed_len)) == NULL ||
            c->sealed_len < CSE__SEAL_OVERHEAD + 12) {
            cse__cell_clear(c);
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                  "pseudonyms needs pseudonym_key_id, linkage_key_id "
                                  "(16 hex digits) and sealed (base64)");
        }
        strcpy(c->pkey_id, pk);
        strcpy(c->lkey_id, lk);
        c->linkage = 1;
    }
    return CSE_OK;
}

static cse_code read_member(cse_partial *p, json_t *m, size_t mi, const char *source,
                            cse_error *err)
{
    const char *kind = json_string_value(json_object_get(m, "kind"));
    const char *tool = json_string_value(json_object_get(m, "tool"));
    const char *signer = json_string_value(json_object_get(m, "signer"));
    const char *kid = json_string_value(json_object_get(m, "signer_key_id"));
    const char *sig = json_string_value(json_object_get(m, "signature"));
    const json_t *cells = json_object_get(m, "cells"), *jc;
    int linked = kind != NULL && strcmp(kind, "linked") == 0;
    int idx = (int)p->nm;
    char path[64];
    cse_code rc;
    size_t i;

    snprintf(path, sizeof(path), "partials[%zu]", mi);
    if (!json_is_object(m) || kind == NULL || (!linked && strcmp(kind, "practice") != 0))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "kind must be \"practice\" or \"linked\"");
    if (!same_tool(tool)) {
        char mine[64];
        return cse__error_set(err, CSE_ERR_VERSION, 0, source, "tool",
                              "partial written by %.40s, not by %s: measures may differ "
                              "between releases; re-run extract with this release",
                              tool ? tool : "an unknown tool",
                              tool_version(mine, sizeof(mine)));
    }
    if (sig == NULL)
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, source, path,
                              "unsigned partial: every partial must be signed by its "
                              "practice (extract --signing-key)");
    if (strncmp(sig, "ed25519:", 8) != 0)
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, source, path,
                              "signature is not ed25519:BASE64");
    if (!is_ods(signer, 16) || !is_key_id(kid))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "signer (an ODS code) or signer_key_id is missing");
    if (linked && !is_key_id(json_string_value(json_object_get(m, "pseudonym_key_id"))))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                              "a linked partial names its pseudonym key id");
    if (!json_is_array(cells) || json_array_size(cells) == 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path, "no cells");
    if ((rc = add_member(p, m, source, err)) != CSE_OK)
        return rc;
    json_array_foreach(cells, i, jc)
    {
        snprintf(path, sizeof(path), "partials[%zu].cells[%zu]", mi, i);
        if (linked) {
            cse__tcell t;
            const json_t *tr = json_object_get(jc, "transfer");
            memset(&t, 0, sizeof(t));
            if ((rc = read_period(jc, t.practice, &t.start, &t.end, source, path, err)) !=
                CSE_OK)
                return rc;
            if (read_count(json_object_get(tr, "numerator"), &t.num) != 0 ||
                read_count(json_object_get(tr, "denominator"), &t.den) != 0)
                return cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, path,
                                      "transfer needs a numerator and a denominator");
            t.member = idx;
            if ((rc = cse__partial_add_tcell(p, &t, err)) != CSE_OK)
                return rc;
        } else {
            cse__cell c;
            if ((rc = read_practice_cell(jc, path, &c, source, err)) != CSE_OK)
                return rc;
            c.member = idx;
            if ((rc = cse__partial_add_cell(p, &c, err)) != CSE_OK)
                return rc;
        }
    }
    return CSE_OK;
}

cse_code cse_partial_read_memory(const char *buf, size_t len, const char *source,
                                 cse_partial **out, cse_error *err)
{
    json_error_t jerr;
    json_t *root = NULL, *parts, *m;
    const json_t *ver;
    cse_partial *p = NULL;
    const char *format;
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
    ver = json_object_get(root, "version");
    if (json_is_integer(ver) && json_integer_value(ver) == 1) {
        rc = cse__error_set(err, CSE_ERR_VERSION, 0, source, "version",
                            "partial format version 1 is unsigned and no longer "
                            "accepted (this is version %d): re-run extract at the "
                            "practice with this release and its signing key",
                            CSE_PARTIAL_VERSION);
        goto out;
    }
    if (!json_is_integer(ver) || json_integer_value(ver) != CSE_PARTIAL_VERSION) {
        rc = cse__error_set(err, CSE_ERR_VERSION, 0, source, "version",
                            "partial format version %lld is not supported (this is "
                            "version %d); re-run extract with this release",
                            (long long)json_integer_value(ver), CSE_PARTIAL_VERSION);
        goto out;
    }
    parts = json_object_get(root, "partials");
    if (!json_is_array(parts) || json_array_size(parts) == 0) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, source, "partials",
                            "no signed partials in the file");
        goto out;
    }
    if ((p = cse_partial_new()) == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, source, "", "out of memory");
        goto out;
    }
    json_array_foreach(parts, i, m)
    {
        if ((rc = read_member(p, m, i, source, err)) != CSE_OK) {
            if (err != NULL && err->source[0] == '\0')
                snprintf(err->source, sizeof(err->source), "%s", source);
            goto out;
        }
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

/* ---- Verification ------------------------------------------------------ */

static cse_code verify_member(const cse_partial *p, size_t mi, const cse_registry *r,
                              cse_error *err)
{
    const json_t *m = p->members[mi];
    const char *src = p->member_src[mi];
    const char *kind = json_string_value(json_object_get(m, "kind"));
    const char *signer = json_string_value(json_object_get(m, "signer"));
    const char *kid = json_string_value(json_object_get(m, "signer_key_id"));
    const char *sig = json_string_value(json_object_get(m, "signature"));
    const cse_report_key *k;
    unsigned char *raw = NULL;
    size_t rawlen = 0;
    char *canon = NULL;
    int ok;

    if (!cse__registry_has_owner(r, signer))
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signature",
                              "signed by %s, an unknown signer: the keys file holds no "
                              "key for it",
                              signer);
    if ((k = cse__registry_key(r, signer, kid)) == NULL)
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signature",
                              "signed by %s with key id %s, which the keys file does not "
                              "hold for %s (a rotated or foreign key)",
                              signer, kid, signer);
    if ((raw = b64_decode(sig + 8, &rawlen)) == NULL || rawlen != CSE__SIG_LEN) {
        free(raw);
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signature",
                              "the signature is malformed");
    }
    if ((canon = canonical(m)) == NULL) {
        free(raw);
        return cse__error_set(err, CSE_ERR_NOMEM, 0, src, "", "out of memory");
    }
    ok = cse__verify(k, canon, strlen(canon), raw);
    free(raw);
    free(canon);
    if (!ok)
        return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signature",
                              "the signature of %s does not match: the partial was "
                              "altered after it was signed",
                              signer);
    if (strcmp(kind, "linked") == 0) {
        if (strcmp(signer, r->ics) != 0)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signer",
                                  "linked transfer counts signed by %s, not by the ICS "
                                  "(%s): only the ICS links",
                                  signer, r->ics);
    } else if (cse__registry_find(r, signer) == NULL) {
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, "signer",
                              "practice %s is not in the registry", signer);
    }
    return CSE_OK;
}

struct span {
    const char *practice;
    cse_time start, end;
    int member;
};

static int span_cmp(const void *a, const void *b)
{
    const struct span *x = a, *y = b;
    int c = strcmp(x->practice, y->practice);

    return c ? c : cse_time_compare(&x->start, &y->start);
}

/* One period per practice without overlap, among cells of one kind. */
static cse_code check_overlap(const cse_partial *p, struct span *s, size_t n,
                              const char *what, cse_error *err)
{
    char a[96], b[96];

    qsort(s, n, sizeof(*s), span_cmp);
    for (size_t i = 1; i < n; i++)
        if (strcmp(s[i].practice, s[i - 1].practice) == 0 &&
            cse_time_compare(&s[i].start, &s[i - 1].end) <= 0)
            return cse__error_set(
                err, CSE_ERR_STRUCTURE, 0, src_of(p, s[i].member), "cells",
                "overlapping periods for one practice in the %s: %s (in %s) and %s: "
                "each day is counted in one period only",
                what, period_text(s[i].practice, &s[i].start, &s[i].end, a, sizeof(a)),
                src_of(p, s[i].member),
                period_text(s[i - 1].practice, &s[i - 1].start, &s[i - 1].end, b,
                            sizeof(b)));
    return CSE_OK;
}

cse_code cse_partial_verify(const cse_partial *p, const cse_registry *r, cse_error *err)
{
    struct span *s = NULL;
    cse_code rc = CSE_OK;

    if (p == NULL || r == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "no partial or registry");
    for (size_t i = 0; i < p->nm; i++)
        if ((rc = verify_member(p, i, r, err)) != CSE_OK)
            return rc;
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        const char *src = src_of(p, c->member);
        const cse__reg_practice *rp = cse__registry_find(r, c->practice);
        const char *signer =
            c->member >= 0
                ? json_string_value(json_object_get(p->members[c->member], "signer"))
                : NULL;
        static const int pairs[5][2] = {{CSE__CHILDREN_MARKER, CSE__REG_CHILDREN},
                                        {CSE__MARKERS_NOPAT, CSE__ACTIVE_MARKERS},
                                        {CSE__MARKERS_OVERDUE, CSE__ACTIVE_MARKERS},
                                        {CSE__MARKERS_STANDARD, CSE__ACTIVE_MARKERS},
                                        {CSE__CHILDREN_UNFLAGGED, CSE__REG_CHILDREN}};
        if (signer == NULL)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signature",
                                  "cells of %s are not signed", c->practice);
        if (strcmp(signer, c->practice) != 0)
            return cse__error_set(err, CSE_ERR_INTEGRITY, 0, src, "signer",
                                  "practice %s signed counts of another practice (%s): a "
                                  "practice signs only its own",
                                  signer, c->practice);
        if (rp == NULL)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, "practice",
                                  "practice %s is not in the registry", c->practice);
        for (int k = 0; k < CSE__NCOUNTS; k++)
            if (c->c[k] > rp->population)
                return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, cse__count_names[k],
                                      "implausible count: %s of %s (%llu) is above its "
                                      "registered population (%lu)",
                                      cse__count_names[k], c->practice,
                                      (unsigned long long)c->c[k], rp->population);
        for (int k = 0; k < 5; k++)
            if (c->c[pairs[k][0]] > c->c[pairs[k][1]])
                return cse__error_set(
                    err, CSE_ERR_STRUCTURE, 0, src, cse__count_names[pairs[k][0]],
                    "implausible counts of %s: %s (%llu) is above %s "
                    "(%llu), its denominator",
                    c->practice, cse__count_names[pairs[k][0]],
                    (unsigned long long)c->c[pairs[k][0]], cse__count_names[pairs[k][1]],
                    (unsigned long long)c->c[pairs[k][1]]);
    }
    for (size_t i = 0; i < p->nt; i++) {
        const cse__tcell *t = &p->tcells[i];
        const char *src = src_of(p, t->member);
        const cse__reg_practice *rp = cse__registry_find(r, t->practice);
        if (rp == NULL)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, "practice",
                                  "practice %s is not in the registry", t->practice);
        if (t->num > t->den || t->den > rp->population)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, src, "transfer",
                                  "implausible transfer counts of %s: %s", t->practice,
                                  t->num > t->den ? "numerator above denominator"
                                                  : "above the registered population");
    }
    if ((s = malloc((p->n + p->nt + 1) * sizeof(*s))) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    for (size_t i = 0; i < p->n; i++)
        s[i] = (struct span){p->cells[i].practice, p->cells[i].start, p->cells[i].end,
                             p->cells[i].member};
    rc = check_overlap(p, s, p->n, "practice partials", err);
    for (size_t i = 0; rc == CSE_OK && i < p->nt; i++)
        s[i] = (struct span){p->tcells[i].practice, p->tcells[i].start, p->tcells[i].end,
                             p->tcells[i].member};
    if (rc == CSE_OK)
        rc = check_overlap(p, s, p->nt, "linked partials", err);
    free(s);
    return rc;
}
