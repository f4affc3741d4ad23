/* SPDX-License-Identifier: MIT */
/* cse-report extract: a practice's records to counts per measure.
 *
 * Resources of a Bulk Data export arrive by type in any order, so what is
 * known about a patient is kept in a compact open-addressing table keyed by a
 * 64-bit hash of the Patient id: 12 bytes per slot (the hash, flag bits and
 * the index of the child's link tag). Only children can count in a transfer,
 * so only children keep a link tag (the 16-byte pseudonym, or an unkeyed
 * in-memory tag) in a side array: about 15 to 20 MB for a practice of a
 * million patients, 36 MB while the table doubles. Markers are rare and kept one
 * record each until the end, when Flags are joined with the Observations they
 * point to (our Flag and its Observation form are ONE marker). NHS numbers
 * live only on the stack long enough to compute a pseudonym. */
#include "config.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include <csemarker/fhir.h>
#include <csemarker/rules.h>

#include "report_internal.h"

static const char *jerr_text(const json_error_t *e, char *buf, size_t size);

#define MAX_LINE (16u << 20)    /* one NDJSON resource */
#define NDJSON_BUF (1u << 20)   /* read buffer for NDJSON */
#define MAX_BUNDLE (256u << 20) /* one bundle file */
#define MAX_PATIENTS (1u << 28)

enum {
    P_SEEN = 1u << 0,
    P_REGISTERED = 1u << 1,
    P_CHILD = 1u << 2,
    P_RELATED = 1u << 3,
    P_TAG = 1u << 4,
    P_ACTIVE_MARKER = 1u << 5,
    P_ANY_MARKER = 1u << 6,
    P_LEFT_MARKER = 1u << 7
};

/* One slot of the patient table: 12 bytes, so that a million patients fit in
 * 24 MB (packed to 4-byte alignment; no member's address is ever taken). */
struct __attribute__((packed, aligned(4))) patient {
    uint64_t key;       /* 0 = empty slot */
    uint32_t flags : 8; /* P_* */
    uint32_t tag : 24;  /* 1 + index into cse_extract.tags; 0 = no tag */
};

#define MAX_TAGS ((1u << 24) - 1)

struct mrec {
    uint64_t patient, self, detail;
    unsigned char is_flag, present, active, nopat, overdue, standard, absorbed;
};

struct arrival {
    unsigned char tag[CSE__PSEUDO_LEN];
};

struct cse_extract {
    char ods[16];
    cse_time start, end;
    unsigned char key[32];
    int has_key, quiet, finished;
    const cse_report_key *signing, *linkage;
    struct patient *tab;
    size_t tab_cap, tab_n;
    unsigned char (*tags)[CSE__PSEUDO_LEN]; /* children's link tags */
    size_t tags_n, tags_cap;
    uint64_t named_here, named_other; /* Patients naming this or another practice */
    char other_ods[8][16];            /* the other practices named, most often first */
    uint64_t other_n[8];
    struct mrec *m;
    size_t m_n, m_cap;
    struct arrival *arr;
    size_t arr_n, arr_cap;
    cse_extract_stats st;
    uint64_t bytes;
    cse_extract_progress_fn progress;
    void *progress_ud;
    cse__cell cell;
    char *jt_buf; /* clin_fast: a copy of the line, strings NUL-terminated */
    size_t jt_buf_cap;
    struct jn *jt_n; /* clin_fast: the line's values */
    size_t jt_n_cap;
};

static uint64_t hash_str(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    h ^= h >> 30;
    h *= 0xbf58476d1ce4e5b9ull;
    h ^= h >> 27;
    h *= 0x94d049bb133111ebull;
    h ^= h >> 31;
    return h ? h : 1;
}

static cse_code tab_grow(cse_extract *x)
{
    size_t ncap = x->tab_cap ? x->tab_cap * 2 : 1024;
    struct patient *nt;

    if (ncap > MAX_PATIENTS)
        return CSE_ERR_LIMIT;
    nt = calloc(ncap, sizeof(*nt));
    if (nt == NULL)
        return CSE_ERR_NOMEM;
    for (size_t i = 0; i < x->tab_cap; i++) {
        struct patient *p = &x->tab[i];
        size_t j;
        if (p->key == 0)
            continue;
        for (j = p->key & (ncap - 1); nt[j].key != 0; j = (j + 1) & (ncap - 1))
            ;
        nt[j] = *p;
    }
    free(x->tab);
    x->tab = nt;
    x->tab_cap = ncap;
    return CSE_OK;
}

static struct patient *tab_find(const cse_extract *x, uint64_t key)
{
    if (x->tab_cap == 0)
        return NULL;
    for (size_t j = key & (x->tab_cap - 1);; j = (j + 1) & (x->tab_cap - 1)) {
        if (x->tab[j].key == key)
            return &x->tab[j];
        if (x->tab[j].key == 0)
            return NULL;
    }
}

static struct patient *tab_get(cse_extract *x, uint64_t key, cse_code *rc)
{
    struct patient *p;
    size_t j;

    if ((p = tab_find(x, key)) != NULL)
        return p;
    if ((x->tab_n + 1) * 4 > x->tab_cap * 3 && (*rc = tab_grow(x)) != CSE_OK)
        return NULL;
    for (j = key & (x->tab_cap - 1); x->tab[j].key != 0; j = (j + 1) & (x->tab_cap - 1))
        ;
    x->tab[j].key = key;
    x->tab_n++;
    return &x->tab[j];
}

cse_extract *cse_extract_new(const cse_extract_options *opt, cse_error *err)
{
    cse_extract *x;
    size_t n;

    if (opt == NULL || opt->practice_ods == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "practice",
                       "no practice ODS code");
        return NULL;
    }
    n = strlen(opt->practice_ods);
    if (n == 0 || n >= 16 ||
        strspn(opt->practice_ods, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != n) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "practice",
                       "practice ODS code must be 1-15 upper-case letters and digits");
        return NULL;
    }
    if (opt->period_start.precision != CSE_TIME_DAY ||
        opt->period_end.precision != CSE_TIME_DAY ||
        !cse_time_valid(&opt->period_start) || !cse_time_valid(&opt->period_end) ||
        cse_time_compare(&opt->period_end, &opt->period_start) < 0) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "period",
                       "the period needs a start and an end date, end not before start");
        return NULL;
    }
    if (opt->key != NULL && opt->key_len != 32) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "key",
                       "the key must be 32 bytes");
        return NULL;
    }
    if (opt->linkage_key != NULL && opt->key == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "key",
                       "the linkage key seals pseudonyms: give the pseudonym key too");
        return NULL;
    }
    if ((x = calloc(1, sizeof(*x))) == NULL) {
        cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        return NULL;
    }
    x->signing = opt->signing_key;
    x->linkage = opt->linkage_key;
    memcpy(x->ods, opt->practice_ods, n + 1);
    x->start = opt->period_start;
    x->end = opt->period_end;
    x->quiet = opt->quiet;
    if (opt->key != NULL) {
        memcpy(x->key, opt->key, 32);
        x->has_key = 1;
    }
    return x;
}

void cse_extract_free(cse_extract *x)
{
    if (x == NULL)
        return;
    cse__wipe(x->key, sizeof(x->key));
    if (x->tab != NULL)
        cse__wipe(x->tab, x->tab_cap * sizeof(*x->tab));
    free(x->tab);
    if (x->tags != NULL)
        cse__wipe(x->tags, x->tags_cap * sizeof(*x->tags));
    free(x->tags);
    free(x->m);
    if (x->arr != NULL)
        cse__wipe(x->arr, x->arr_n * sizeof(*x->arr));
    free(x->arr);
    cse__cell_clear(&x->cell);
    free(x->jt_buf);
    free(x->jt_n);
    free(x);
}

void cse_extract_set_progress(cse_extract *x, cse_extract_progress_fn fn, void *ud)
{
    if (x == NULL)
        return;
    x->progress = fn;
    x->progress_ud = ud;
}

/* ---- Small JSON helpers ------------------------------------------------ */

static const char *jstr(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int parse_date(const char *s, cse_time *t)
{
    if (s == NULL || cse_time_parse_fhir(s, t) != CSE_OK) {
        memset(t, 0, sizeof(*t));
        return 0;
    }
    /* A partial date counts from its first day. */
    if (t->precision == CSE_TIME_YEAR)
        t->month = 1;
    if (t->precision <= CSE_TIME_MONTH)
        t->day = 1;
    t->hour = t->minute = t->second = 0;
    t->precision = CSE_TIME_DAY;
    return 1;
}

/* The key of a Patient reference: "Patient/ID", "urn:uuid:ID" or a full URL
 * ending in "/Patient/ID". 0 when none. */
static uint64_t patient_ref_str(const char *s)
{
    const char *p;

    if (s == NULL)
        return 0;
    if ((p = strstr(s, "Patient/")) != NULL && (p == s || p[-1] == '/'))
        p += 8;
    else if (strncmp(s, "urn:uuid:", 9) == 0)
        p = s + 9;
    else
        return 0;
    if (*p == '\0' || strchr(p, '/') != NULL)
        return 0;
    return hash_str(p, strlen(p));
}

static int has_nopat(const json_t *r)
{
    const json_t *sec = json_object_get(json_object_get(r, "meta"), "security"), *c;
    size_t i;

    json_array_foreach(sec, i, c)
    {
        const char *code = jstr(c, "code");
        if (code != NULL && strcmp(code, "NOPAT") == 0)
            return 1;
    }
    return 0;
}

static int has_profile(const json_t *r, const char *url)
{
    const json_t *prof = json_object_get(json_object_get(r, "meta"), "profile"), *v;
    size_t i;

    json_array_foreach(prof, i, v)
    {
        const char *s = json_string_value(v);
        if (s != NULL && strncmp(s, url, strlen(url)) == 0)
            return 1;
    }
    return 0;
}

static int has_cse_category(const json_t *r)
{
    const json_t *cats = json_object_get(r, "category"), *cat, *coding, *c;
    size_t i, j;

    if (json_is_object(cats)) /* Observation.category is an array, Flag's too */
        return 0;
    json_array_foreach(cats, i, cat)
    {
        coding = json_object_get(cat, "coding");
        json_array_foreach(coding, j, c)
        {
            const char *sys = jstr(c, "system"), *code = jstr(c, "code");
            if (sys && code && strcmp(sys, CSE_FHIR_CS_CATEGORY) == 0 &&
                strcmp(code, "cse") == 0)
                return 1;
        }
    }
    return 0;
}

/* Looks through code.coding: *marker when a SNOMED marker concept id,
 * *related when a related safeguarding concept id. */
static void classify_code(const json_t *r, int *marker, int *related)
{
    const json_t *coding = json_object_get(json_object_get(r, "code"), "coding"), *c;
    size_t i;

    *marker = *related = 0;
    json_array_foreach(coding, i, c)
    {
        const char *sys = jstr(c, "system"), *code = jstr(c, "code");
        if (sys == NULL || code == NULL || strcmp(sys, CSE_SYSTEM_SNOMED) != 0)
            continue;
        if (cse_code_is_marker(code))
            *marker = 1;
        else if (cse_code_is_related(code))
            *related = 1;
    }
}

static const json_t *extension(const json_t *r, const char *url)
{
    const json_t *ext = json_object_get(r, "extension"), *e;
    size_t i;

    json_array_foreach(ext, i, e)
    {
        const char *u = jstr(e, "url");
        if (u != NULL && strcmp(u, url) == 0)
            return e;
    }
    return NULL;
}

/* ---- Resources --------------------------------------------------------- */

/* The tag that links a Patient to its GP2GP arrival: with a key, the keyed
 * pseudonym (it is written to the partial); without one, a fast in-memory
 * hash that is never written anywhere. */
static cse_code link_tag(const cse_extract *x, const char nhs[11],
                         unsigned char out[CSE__PSEUDO_LEN])
{
    uint64_t a, b;

    if (x->has_key)
        return cse__report_pseudonym(x->key, sizeof(x->key), nhs, out);
    a = hash_str(nhs, 10);
    b = hash_str(nhs, 10) ^ 0x9e3779b97f4a7c15ull;
    b = hash_str((const char *)&b, sizeof(b));
    memcpy(out, &a, 8);
    memcpy(out + 8, &b, 8);
    return CSE_OK;
}

/* What a Patient contributes, however it was read. */
struct patient_fields {
    char id[128];
    int inactive, gp_match, gp_other, have_nhs;
    char other[16]; /* the first other practice named (an ODS code) */
    char birth[32];
    char nhs[32]; /* raw, wiped after use */
};

/* Counts the Patients that name another practice, by practice (an ODS code
 * is not a patient identifier), for the error that a wrong --practice gets. */
static void note_other_practice(cse_extract *x, const char *ods)
{
    size_t i, n = sizeof(x->other_n) / sizeof(x->other_n[0]);

    x->named_other++;
    if (ods[0] == '\0')
        return;
    for (i = 0; i < n && x->other_n[i] > 0; i++)
        if (strcmp(x->other_ods[i], ods) == 0)
            break;
    if (i == n)
        return; /* the first few practices are enough to say what the data holds */
    if (x->other_n[i] == 0)
        memcpy(x->other_ods[i], ods, strlen(ods) + 1);
    x->other_n[i]++;
    /* Keep the most named first. */
    for (; i > 0 && x->other_n[i] > x->other_n[i - 1]; i--) {
        char t[16];
        uint64_t tn = x->other_n[i];
        memcpy(t, x->other_ods[i], 16);
        memcpy(x->other_ods[i], x->other_ods[i - 1], 16);
        x->other_n[i] = x->other_n[i - 1];
        memcpy(x->other_ods[i - 1], t, 16);
        x->other_n[i - 1] = tn;
    }
}

static cse_code patient_apply(cse_extract *x, struct patient_fields *f,
                              const char *source, long line, cse_error *err)
{
    struct patient *p;
    cse_code rc = CSE_OK;
    cse_time b;
    char nhs[11];

    x->st.patients++;
    if (f->id[0] == '\0') {
        x->st.unlinked++;
        goto out;
    }
    if ((p = tab_get(x, hash_str(f->id, strlen(f->id)), &rc)) == NULL) {
        rc = cse__error_set(err, rc, (int)line, source, "Patient",
                            rc == CSE_ERR_LIMIT ? "too many patients" : "out of memory");
        goto out;
    }
    p->flags |= P_SEEN;
    if (f->gp_match)
        x->named_here++;
    else if (f->gp_other)
        note_other_practice(x, f->other);
    /* Registered: an active Patient whose practice is this one (or unnamed, as
     * in the practice's own export). */
    if (!f->inactive && (f->gp_match || !f->gp_other))
        p->flags |= P_REGISTERED;
    if (parse_date(f->birth[0] ? f->birth : NULL, &b) &&
        cse_time_compare(&b, &x->end) <= 0) {
        int age = x->end.year - b.year;
        if (x->end.month < b.month || (x->end.month == b.month && x->end.day < b.day))
            age--;
        if (age < 18)
            p->flags |= P_CHILD;
    }
    /* Only a child can count in a transfer, so only a child keeps a tag. */
    if ((p->flags & P_CHILD) && f->have_nhs &&
        cse_nhs_number_canonical(f->nhs, nhs) == CSE_OK) {
        if (p->tag == 0) {
            if (x->tags_n == x->tags_cap) {
                size_t ncap = x->tags_cap ? x->tags_cap + x->tags_cap / 2 : 4096;
                unsigned char(*nt)[CSE__PSEUDO_LEN];
                if (ncap > MAX_TAGS)
                    ncap = MAX_TAGS;
                if (x->tags_n == ncap) {
                    cse__wipe(nhs, sizeof(nhs));
                    rc = cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, "Patient",
                                        "more than %u children", MAX_TAGS);
                    goto out;
                }
                if ((nt = realloc(x->tags, ncap * sizeof(*nt))) == NULL) {
                    cse__wipe(nhs, sizeof(nhs));
                    rc = cse__error_set(err, CSE_ERR_NOMEM, (int)line, source, "Patient",
                                        "out of memory");
                    goto out;
                }
                x->tags = nt;
                x->tags_cap = ncap;
            }
            p->tag = (uint32_t)++x->tags_n & MAX_TAGS;
        }
        rc = link_tag(x, nhs, x->tags[p->tag - 1]);
        cse__wipe(nhs, sizeof(nhs));
        if (rc != CSE_OK) {
            cse__error_set(err, rc, (int)line, source, "Patient.identifier",
                           "cannot compute a pseudonym");
            goto out;
        }
        p->flags |= P_TAG;
    }
out:
    cse__wipe(f->nhs, sizeof(f->nhs));
    return rc;
}

static void copy_field(char *dst, size_t size, const char *src)
{
    if (src != NULL && strlen(src) < size)
        memcpy(dst, src, strlen(src) + 1);
}

static cse_code on_patient(cse_extract *x, const json_t *r, const char *source, long line,
                           cse_error *err)
{
    struct patient_fields f;
    const json_t *gps, *gp, *ids, *ident;
    size_t i;

    memset(&f, 0, sizeof(f));
    copy_field(f.id, sizeof(f.id), jstr(r, "id"));
    if (jstr(r, "id") != NULL && f.id[0] == '\0')
        return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, "Patient.id",
                              "Patient id longer than %zu characters", sizeof(f.id) - 1);
    gps = json_object_get(r, "generalPractitioner");
    json_array_foreach(gps, i, gp)
    {
        const json_t *ident_gp = json_object_get(gp, "identifier");
        const char *sys = jstr(ident_gp, "system"), *val = jstr(ident_gp, "value");
        if (sys == NULL || val == NULL || strcmp(sys, CSE_FHIR_ODS) != 0)
            continue;
        if (strcmp(val, x->ods) == 0)
            f.gp_match = 1;
        else if (!f.gp_other++)
            copy_field(f.other, sizeof(f.other), val);
    }
    f.inactive = json_is_false(json_object_get(r, "active"));
    copy_field(f.birth, sizeof(f.birth), jstr(r, "birthDate"));
    ids = json_object_get(r, "identifier");
    json_array_foreach(ids, i, ident)
    {
        const char *sys = jstr(ident, "system"), *val = jstr(ident, "value");
        if (sys == NULL || val == NULL || strcmp(sys, CSE_FHIR_NHS_NUMBER) != 0)
            continue;
        copy_field(f.nhs, sizeof(f.nhs), val);
        f.have_nhs = f.nhs[0] != '\0';
        break;
    }
    return patient_apply(x, &f, source, line, err);
}

static cse_code push_marker(cse_extract *x, const struct mrec *m)
{
    if (x->m_n == x->m_cap) {
        size_t ncap = x->m_cap ? x->m_cap * 2 : 64;
        struct mrec *nm = realloc(x->m, ncap * sizeof(*nm));
        if (nm == NULL)
            return CSE_ERR_NOMEM;
        x->m = nm;
        x->m_cap = ncap;
    }
    x->m[x->m_n++] = *m;
    return CSE_OK;
}

/* What a Flag, Observation or Condition contributes, read either from a
 * jansson tree (on_clinical) or straight from the line (clin_fast); both
 * look up the same fields the same way, and clin_apply does the rest. */
struct clin {
    const char *status, *id, *subject; /* subject.reference */
    int marker, related, ours, nopat;
    const char *vs;      /* Condition: verificationStatus.coding[0].code */
    const char *start_a; /* onsetDateTime, period.start or effectiveDateTime */
    const char *start_b; /* recordedDate or effectivePeriod.start */
    const char *end;     /* period.end or effectivePeriod.end */
    const char *detail;  /* Flag: the flag-detail extension's valueReference.reference */
    const char *review;  /* the review-date extension's valueDate */
};

static cse_code clin_apply(cse_extract *x, const struct clin *c, const char *type,
                           const char *source, long line, cse_error *err)
{
    int is_flag = strcmp(type, "Flag") == 0, is_cond = strcmp(type, "Condition") == 0;
    const char *status = c->status, *id = c->id;
    int marker = c->marker, related = c->related, ours = c->ours;
    uint64_t pkey = patient_ref_str(c->subject);
    struct mrec m = {0};
    cse_time start = {0}, end = {0}, review = {0};
    int have_start, have_end;
    cse_code rc = CSE_OK;

    if (!marker && !ours && !related)
        return CSE_OK;
    if (pkey == 0) {
        x->st.unlinked++;
        return CSE_OK;
    }
    if (is_cond) {
        const char *vs = c->vs;
        if (vs != NULL &&
            (strcmp(vs, "entered-in-error") == 0 || strcmp(vs, "refuted") == 0))
            return CSE_OK;
        have_start = parse_date(c->start_a, &start) || parse_date(c->start_b, &start);
    } else if (is_flag) {
        if (status != NULL && strcmp(status, "entered-in-error") == 0)
            return CSE_OK;
        have_start = parse_date(c->start_a, &start);
        have_end = parse_date(c->end, &end);
    } else {
        if (status != NULL &&
            (strcmp(status, "entered-in-error") == 0 || strcmp(status, "cancelled") == 0))
            return CSE_OK;
        have_start = parse_date(c->start_a, &start) || parse_date(c->start_b, &start);
        have_end = parse_date(c->end, &end);
    }
    if (!marker && !ours) {
        /* A related safeguarding code recorded by the end of the period. */
        struct patient *p;
        if (have_start && cse_time_compare(&start, &x->end) > 0)
            return CSE_OK;
        if ((p = tab_get(x, pkey, &rc)) == NULL)
            return cse__error_set(err, rc, (int)line, source, type, "out of memory");
        p->flags |= P_RELATED;
        return CSE_OK;
    }
    if (is_cond)
        return CSE_OK;
    m.patient = pkey;
    m.self = id != NULL ? hash_str(id, strlen(id)) : 0;
    m.is_flag = (unsigned char)is_flag;
    m.standard = (unsigned char)marker;
    m.nopat = (unsigned char)c->nopat;
    m.present = !have_start || cse_time_compare(&start, &x->end) <= 0;
    if (is_flag) {
        int active = status == NULL || strcmp(status, "active") == 0;
        const char *ref = c->detail;
        /* An active Flag with an end after the period, or an inactive one
         * that ended after it, was active at the end of the period. */
        m.active =
            m.present && (active ? !have_end || cse_time_compare(&end, &x->end) > 0
                                 : have_end && cse_time_compare(&end, &x->end) > 0);
        if (ref != NULL && strncmp(ref, "Observation/", 12) == 0)
            m.detail = hash_str(ref + 12, strlen(ref + 12));
        else if (ref != NULL && strncmp(ref, "urn:uuid:", 9) == 0)
            m.detail = hash_str(ref + 9, strlen(ref + 9));
    } else {
        m.active = m.present && (!have_end || cse_time_compare(&end, &x->end) > 0);
    }
    if (!parse_date(c->review, &review)) {
        if (!have_start ||
            cse_time_add_months(&start, CSE_REVIEW_MONTHS_DEFAULT, &review) != CSE_OK)
            review.precision = CSE_TIME_NONE;
    }
    /* No review date at all is overdue: nobody knows when to look again. */
    m.overdue =
        review.precision == CSE_TIME_NONE || cse_time_compare(&review, &x->end) < 0;
    if (push_marker(x, &m) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, (int)line, source, type,
                              "out of memory");
    return CSE_OK;
}

static cse_code on_clinical(cse_extract *x, const json_t *r, const char *type,
                            const char *source, long line, cse_error *err)
{
    int is_flag = strcmp(type, "Flag") == 0, is_cond = strcmp(type, "Condition") == 0;
    struct clin c = {0};
    const json_t *e;

    c.status = jstr(r, "status");
    c.id = jstr(r, "id");
    c.subject = jstr(json_object_get(r, "subject"), "reference");
    classify_code(r, &c.marker, &c.related);
    c.ours = !is_cond &&
             (has_profile(r, is_flag ? CSE_FHIR_FLAG_PROFILE : CSE_FHIR_OBS_PROFILE) ||
              has_cse_category(r));
    c.nopat = has_nopat(r);
    if (is_cond) {
        c.vs = jstr(
            json_array_get(
                json_object_get(json_object_get(r, "verificationStatus"), "coding"), 0),
            "code");
        c.start_a = jstr(r, "onsetDateTime");
        c.start_b = jstr(r, "recordedDate");
    } else if (is_flag) {
        c.start_a = jstr(json_object_get(r, "period"), "start");
        c.end = jstr(json_object_get(r, "period"), "end");
        e = extension(r, CSE_FHIR_FLAG_DETAIL);
        if (e != NULL)
            c.detail = jstr(json_object_get(e, "valueReference"), "reference");
    } else {
        const json_t *ep = json_object_get(r, "effectivePeriod");
        c.start_a = jstr(r, "effectiveDateTime");
        c.start_b = jstr(ep, "start");
        c.end = jstr(ep, "end");
    }
    e = extension(r, CSE_FHIR_EXT_REVIEW_DATE);
    if (e != NULL)
        c.review = jstr(e, "valueDate");
    return clin_apply(x, &c, type, source, line, err);
}

static cse_code add_json(cse_extract *x, const json_t *r, const char *source, long line,
                         int depth, cse_error *err);

static cse_code on_bundle(cse_extract *x, const json_t *r, const char *source, long line,
                          int depth, cse_error *err)
{
    const json_t *entries = json_object_get(r, "entry"), *en;
    size_t i;
    cse_code rc;

    if (depth > 2)
        return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, "Bundle",
                              "bundles nested too deeply");
    json_array_foreach(entries, i, en)
    {
        const json_t *res = json_object_get(en, "resource");
        if (json_is_object(res) &&
            (rc = add_json(x, res, source, line, depth + 1, err)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

static cse_code add_json(cse_extract *x, const json_t *r, const char *source, long line,
                         int depth, cse_error *err)
{
    const char *type = jstr(r, "resourceType");

    if (type == NULL)
        return cse__error_set(err, CSE_ERR_STRUCTURE, (int)line, source, "resourceType",
                              "not a FHIR resource: no resourceType");
    x->st.resources++;
    if (strcmp(type, "Patient") == 0)
        return on_patient(x, r, source, line, err);
    if (strcmp(type, "Flag") == 0 || strcmp(type, "Observation") == 0 ||
        strcmp(type, "Condition") == 0)
        return on_clinical(x, r, type, source, line, err);
    if (strcmp(type, "Bundle") == 0)
        return on_bundle(x, r, source, line, depth, err);
    return CSE_OK;
}

/* A validating JSON scanner for the lines that are skipped: it checks the
 * grammar (strings, escapes, numbers, literals, nesting up to a cap) in one
 * pass without allocating. A line that fails gets a full parse so that the
 * error names what is wrong. */
struct jv {
    const char *p, *end;
    int depth;
    int relevant;    /* a string that may make the resource count (see note_string) */
    int escapes;     /* a string with a backslash escape */
    int types;       /* top-level "resourceType" keys seen */
    const char *str; /* the last string read, for keys */
    size_t str_n;
    int str_esc; /* the last string read has a backslash escape */
    int numbers; /* a number jansson might refuse (long, or an exponent) */
};

/* Every resource that can count holds one of these as a whole string: the
 * type Patient or Bundle, a marker or related SNOMED code, or one of our
 * canonical URLs (profiles, category, extensions). Ordinary resources hold
 * none, and need no JSON tree at all. */
static void note_string(struct jv *v, const char *s, size_t n)
{
    char code[20];

    if (v->relevant)
        return;
    if ((n == 7 && memcmp(s, "Patient", 7) == 0) ||
        (n == 6 && memcmp(s, "Bundle", 6) == 0))
        v->relevant = 1;
    else if ((n == 9 || n == 15 || n == 16) && s[0] >= '1' && s[0] <= '9') {
        /* The marker and related concept ids are 9, 15 or 16 digits long. */
        memcpy(code, s, n);
        code[n] = '\0';
        if (strspn(code, "0123456789") == n &&
            (cse_code_is_marker(code) || cse_code_is_related(code)))
            v->relevant = 1;
    } else if (n > sizeof(CSE_FHIR_BASE) &&
               memcmp(s, CSE_FHIR_BASE "/", sizeof(CSE_FHIR_BASE)) == 0)
        v->relevant = 1;
}

static inline void jv_ws(struct jv *v)
{
    while (v->p < v->end && (unsigned char)*v->p <= ' ' &&
           (*v->p == ' ' || *v->p == '\t' || *v->p == '\n' || *v->p == '\r'))
        v->p++;
}

static int jv_string(struct jv *v)
{
    const char *start;

    if (v->p >= v->end || *v->p != '"')
        return 0;
    start = v->p + 1;
    v->str_esc = 0;
    for (v->p++; v->p < v->end; v->p++) {
        unsigned char c;
        /* The common case first: plain printable ASCII without a quote or a
         * backslash, checked sixteen bytes at a time where SSE2 is there
         * (every x86-64), else eight at a time. Both only skip bytes the
         * byte loop below would skip too. */
#ifdef __SSE2__
        while (v->end - v->p >= 16) {
            __m128i w = _mm_loadu_si128((const __m128i *)(const void *)v->p);
            __m128i bad = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(w, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(w, _mm_set1_epi8('\\'))),
                _mm_cmplt_epi8(w, _mm_set1_epi8(0x20))); /* also 0x80..0xff */
            unsigned mask = (unsigned)_mm_movemask_epi8(bad);
            if (mask != 0) {
                v->p += __builtin_ctz(mask);
                break;
            }
            v->p += 16;
        }
#else
        while (v->end - v->p >= 8) {
            uint64_t w, bs, qt;
            memcpy(&w, v->p, 8);
            bs = w ^ 0x5c5c5c5c5c5c5c5cull; /* zero bytes where a backslash is */
            qt = w ^ 0x2222222222222222ull; /* zero bytes where a quote is */
            if ((((w - 0x2020202020202020ull) | w) & 0x8080808080808080ull) != 0 ||
                ((bs - 0x0101010101010101ull) & ~bs & 0x8080808080808080ull) != 0 ||
                ((qt - 0x0101010101010101ull) & ~qt & 0x8080808080808080ull) != 0)
                break;
            v->p += 8;
        }
#endif
        while (v->p < v->end && (unsigned char)(*v->p - 0x20) < 0x60 && *v->p != '\\' &&
               *v->p != '"')
            v->p++;
        if (v->p >= v->end)
            return 0;
        c = (unsigned char)*v->p;
        if (c == '"') {
            v->str = start;
            v->str_n = (size_t)(v->p - start);
            note_string(v, start, v->str_n);
            v->p++;
            return 1;
        }
        if (c < 0x20)
            return 0;
        if (c >= 0x80) /* UTF-8 is checked by the full parser */
            v->escapes = v->relevant = 1;
        if (c == '\\') {
            /* An escape may hide a code: parse such a line fully. */
            v->escapes = v->relevant = v->str_esc = 1;
            if (++v->p >= v->end || strchr("\"\\/bfnrtu", *v->p) == NULL || *v->p == '\0')
                return 0;
            if (*v->p == 'u')
                for (int k = 0; k < 4; k++)
                    if (++v->p >= v->end || !isxdigit((unsigned char)*v->p))
                        return 0;
        }
    }
    return 0;
}

static int jv_digits(struct jv *v)
{
    const char *s = v->p;
    while (v->p < v->end && *v->p >= '0' && *v->p <= '9')
        v->p++;
    return v->p > s;
}

static int jv_number(struct jv *v)
{
    const char *start = v->p;

    if (v->p < v->end && *v->p == '-')
        v->p++;
    if (v->p < v->end && *v->p == '0')
        v->p++;
    else if (!jv_digits(v))
        return 0;
    if (v->p < v->end && *v->p == '.' && (v->p++, !jv_digits(v)))
        return 0;
    if (v->p < v->end && (*v->p == 'e' || *v->p == 'E')) {
        v->p++;
        if (v->p < v->end && (*v->p == '+' || *v->p == '-'))
            v->p++;
        if (!jv_digits(v))
            return 0;
        v->relevant = v->numbers =
            1; /* exponents may overflow: the full parser decides */
    }
    if (v->p - start > 15)
        v->relevant = v->numbers = 1; /* so may long numbers */
    return 1;
}

static int jv_literal(struct jv *v, const char *lit)
{
    size_t n = strlen(lit);
    if ((size_t)(v->end - v->p) < n || memcmp(v->p, lit, n) != 0)
        return 0;
    v->p += n;
    return 1;
}

static int jv_value(struct jv *v)
{
    int ok = 0;

    jv_ws(v);
    if (v->p >= v->end)
        return 0;
    switch (*v->p) {
    case '"': return jv_string(v);
    case 't': return jv_literal(v, "true");
    case 'f': return jv_literal(v, "false");
    case 'n': return jv_literal(v, "null");
    case '{':
    case '[': {
        char close = *v->p == '{' ? '}' : ']';
        int obj = close == '}';
        if (++v->depth > 64)
            return 0;
        v->p++;
        jv_ws(v);
        if (v->p < v->end && *v->p == close) {
            v->p++;
            v->depth--;
            return 1;
        }
        for (;;) {
            if (obj) {
                jv_ws(v);
                if (!jv_string(v))
                    return 0;
                if (v->depth == 1 && v->str_n == 12 &&
                    memcmp(v->str, "resourceType", 12) == 0)
                    v->types++;
                jv_ws(v);
                if (v->p >= v->end || *v->p++ != ':')
                    return 0;
            }
            if (!jv_value(v))
                return 0;
            jv_ws(v);
            if (v->p >= v->end)
                return 0;
            if (*v->p == ',') {
                v->p++;
                continue;
            }
            if (*v->p++ != close)
                return 0;
            v->depth--;
            return 1;
        }
    }
    default: ok = jv_number(v); return ok;
    }
}

/* One pass over a line does three things: it validates the JSON grammar
 * (jv_*), notes whether any string may make the resource count
 * (note_string), and reads what a Patient contributes on the way (fp_*), so
 * a Patient needs no JSON tree either. */
struct sysval {
    char system[96], value[32];
};

struct fp {
    cse_extract *x;
    struct patient_fields *f;
    struct sysval *sv;
    char type[32];
    int lossy; /* a field that could not be captured: use the full parser */
};

#define KEY(k) (kn == sizeof(k) - 1 && memcmp(key, k, kn) == 0)

/* Reads (and validates) a string; copies it into buf when it fits and has
 * no escapes, else marks the line lossy. */
static int fp_capture(struct jv *v, struct fp *fp, char *buf, size_t size)
{
    if (!jv_string(v))
        return 0;
    if (v->str_n >= size || v->str_esc) {
        fp->lossy = 1;
        buf[0] = '\0';
        return 1;
    }
    memcpy(buf, v->str, v->str_n);
    buf[v->str_n] = '\0';
    return 1;
}

typedef int (*fp_key_fn)(struct jv *v, const char *key, size_t kn, struct fp *fp);
typedef void (*fp_after_fn)(struct fp *fp);

/* An object, strictly; fn reads each value (or validates it). A value that
 * is not an object is validated as whatever it is. */
static int fp_object(struct jv *v, fp_key_fn fn, struct fp *fp)
{
    jv_ws(v);
    if (v->p >= v->end)
        return 0;
    if (*v->p != '{')
        return jv_value(v);
    if (++v->depth > 64)
        return 0;
    v->p++;
    jv_ws(v);
    if (v->p < v->end && *v->p == '}') {
        v->p++;
        v->depth--;
        return 1;
    }
    for (;;) {
        const char *key;
        size_t kn;
        jv_ws(v);
        if (!jv_string(v))
            return 0;
        key = v->str;
        kn = v->str_n;
        if (v->depth == 1 && KEY("resourceType"))
            v->types++;
        jv_ws(v);
        if (v->p >= v->end || *v->p++ != ':')
            return 0;
        jv_ws(v);
        if (v->p >= v->end || !fn(v, key, kn, fp))
            return 0;
        jv_ws(v);
        if (v->p >= v->end)
            return 0;
        if (*v->p == ',') {
            v->p++;
            continue;
        }
        if (*v->p++ != '}')
            return 0;
        v->depth--;
        return 1;
    }
}

/* An array of objects; after runs after each element. */
static int fp_array(struct jv *v, fp_key_fn fn, fp_after_fn after, struct fp *fp)
{
    jv_ws(v);
    if (v->p >= v->end)
        return 0;
    if (*v->p != '[')
        return jv_value(v);
    if (++v->depth > 64)
        return 0;
    v->p++;
    jv_ws(v);
    if (v->p < v->end && *v->p == ']') {
        v->p++;
        v->depth--;
        return 1;
    }
    for (;;) {
        memset(fp->sv, 0, sizeof(*fp->sv));
        if (!fp_object(v, fn, fp))
            return 0;
        after(fp);
        jv_ws(v);
        if (v->p >= v->end)
            return 0;
        if (*v->p == ',') {
            v->p++;
            continue;
        }
        if (*v->p++ != ']')
            return 0;
        v->depth--;
        return 1;
    }
}

static int fp_sysval_key(struct jv *v, const char *key, size_t kn, struct fp *fp)
{
    if (*v->p == '"' && KEY("system"))
        return fp_capture(v, fp, fp->sv->system, sizeof(fp->sv->system));
    if (*v->p == '"' && KEY("value"))
        return fp_capture(v, fp, fp->sv->value, sizeof(fp->sv->value));
    return jv_value(v);
}

static int fp_gp_key(struct jv *v, const char *key, size_t kn, struct fp *fp)
{
    if (KEY("identifier"))
        return fp_object(v, fp_sysval_key, fp);
    return jv_value(v);
}

static void fp_after_gp(struct fp *fp)
{
    if (strcmp(fp->sv->system, CSE_FHIR_ODS) != 0 || fp->sv->value[0] == '\0')
        return;
    if (strcmp(fp->sv->value, fp->x->ods) == 0)
        fp->f->gp_match = 1;
    else if (!fp->f->gp_other++)
        copy_field(fp->f->other, sizeof(fp->f->other), fp->sv->value);
}

static void fp_after_identifier(struct fp *fp)
{
    if (!fp->f->have_nhs && strcmp(fp->sv->system, CSE_FHIR_NHS_NUMBER) == 0) {
        memcpy(fp->f->nhs, fp->sv->value, sizeof(fp->sv->value));
        fp->f->have_nhs = fp->sv->value[0] != '\0';
    }
    cse__wipe(fp->sv->value, sizeof(fp->sv->value));
}

static int fp_top_key(struct jv *v, const char *key, size_t kn, struct fp *fp)
{
    struct patient_fields *f = fp->f;

    if (*v->p == '"') {
        if (KEY("resourceType"))
            return fp_capture(v, fp, fp->type, sizeof(fp->type));
        if (KEY("id"))
            return fp_capture(v, fp, f->id, sizeof(f->id));
        if (KEY("birthDate"))
            return fp_capture(v, fp, f->birth, sizeof(f->birth));
    } else if (*v->p == '[') {
        if (KEY("identifier"))
            return fp_array(v, fp_sysval_key, fp_after_identifier, fp);
        if (KEY("generalPractitioner"))
            return fp_array(v, fp_gp_key, fp_after_gp, fp);
    } else if (*v->p == 'f' && KEY("active")) {
        f->inactive = 1;
    }
    return jv_value(v);
}

/* ---- Flags, Observations and Conditions without jansson -------------
 *
 * A line the scanner accepted, with no escapes, no non-ASCII byte and no
 * long number, is read again into a flat tree over a copy of the line
 * whose strings are NUL-terminated in place (no escapes, so the bytes are
 * the string). Any surprise (a duplicate key, which jansson refuses; too
 * many values) leaves the line to jansson. */
struct jn {
    char kind;       /* 'o' object, 'a' array, 's' string, '-' anything else */
    const char *key; /* in an object */
    const char *s;   /* a string's value */
    int child, next; /* first member or element; next sibling; -1 for none */
};

#define JT_MAX_NODES 65536

struct jt {
    cse_extract *x;
    char *p, *end;
    size_t n;
};

static void jt_ws(struct jt *t)
{
    while (t->p < t->end &&
           (*t->p == ' ' || *t->p == '\t' || *t->p == '\n' || *t->p == '\r'))
        t->p++;
}

/* A string at t->p: NUL-terminates it in place and returns it. */
static const char *jt_string(struct jt *t)
{
    char *q;
    const char *s;

    if (t->p >= t->end || *t->p != '"')
        return NULL;
    q = memchr(t->p + 1, '"', (size_t)(t->end - t->p - 1));
    if (q == NULL)
        return NULL;
    *q = '\0';
    s = t->p + 1;
    t->p = q + 1;
    return s;
}

/* One value into node *out; 0 on anything unexpected. */
static int jt_value(struct jt *t, int depth, int *out)
{
    struct jn *nodes;
    int me;

    jt_ws(t);
    if (t->p >= t->end || depth > 64)
        return 0;
    if (t->n == t->x->jt_n_cap) {
        size_t ncap = t->x->jt_n_cap ? t->x->jt_n_cap * 2 : 256;
        if (ncap > JT_MAX_NODES ||
            (nodes = realloc(t->x->jt_n, ncap * sizeof(*nodes))) == NULL)
            return 0;
        t->x->jt_n = nodes;
        t->x->jt_n_cap = ncap;
    }
    me = (int)t->n++;
    nodes = t->x->jt_n;
    nodes[me].kind = '-';
    nodes[me].key = nodes[me].s = NULL;
    nodes[me].child = nodes[me].next = -1;
    if (*t->p == '"') {
        const char *s = jt_string(t);
        if (s == NULL)
            return 0;
        nodes[me].kind = 's';
        nodes[me].s = s;
    } else if (*t->p == '{' || *t->p == '[') {
        int obj = *t->p == '{', last = -1;
        char close = obj ? '}' : ']';
        t->x->jt_n[me].kind = obj ? 'o' : 'a';
        t->p++;
        jt_ws(t);
        if (t->p < t->end && *t->p == close) {
            t->p++;
            *out = me;
            return 1;
        }
        for (;;) {
            const char *key = NULL;
            int c;
            if (obj) {
                jt_ws(t);
                if ((key = jt_string(t)) == NULL)
                    return 0;
                jt_ws(t);
                if (t->p >= t->end || *t->p++ != ':')
                    return 0;
            }
            if (!jt_value(t, depth + 1, &c))
                return 0;
            nodes = t->x->jt_n;
            if (obj) {
                for (int k = nodes[me].child; k >= 0; k = nodes[k].next)
                    if (strcmp(nodes[k].key, key) == 0)
                        return 0; /* jansson refuses duplicate keys */
                nodes[c].key = key;
            }
            if (last < 0)
                nodes[me].child = c;
            else
                nodes[last].next = c;
            last = c;
            jt_ws(t);
            if (t->p >= t->end)
                return 0;
            if (*t->p == ',') {
                t->p++;
                continue;
            }
            if (*t->p++ != close)
                return 0;
            break;
        }
    } else {
        /* A number or a literal, already validated by the scanner. */
        while (t->p < t->end && strchr(",]} \t\r\n", *t->p) == NULL)
            t->p++;
    }
    *out = me;
    return 1;
}

/* The jansson calls on_clinical makes, over the tree. */
static const struct jn *jt_get(const cse_extract *x, const struct jn *o, const char *k)
{
    if (o == NULL || o->kind != 'o')
        return NULL;
    for (int i = o->child; i >= 0; i = x->jt_n[i].next)
        if (strcmp(x->jt_n[i].key, k) == 0)
            return &x->jt_n[i];
    return NULL;
}

static const char *jt_sval(const struct jn *v)
{
    return v != NULL && v->kind == 's' ? v->s : NULL;
}

static const char *jt_str(const cse_extract *x, const struct jn *o, const char *k)
{
    return jt_sval(jt_get(x, o, k));
}

static const struct jn *jt_first(const cse_extract *x, const struct jn *a)
{
    return a != NULL && a->kind == 'a' && a->child >= 0 ? &x->jt_n[a->child] : NULL;
}

static const struct jn *jt_next(const cse_extract *x, const struct jn *e)
{
    return e->next >= 0 ? &x->jt_n[e->next] : NULL;
}

static const struct jn *jt_extension(const cse_extract *x, const struct jn *r,
                                     const char *url)
{
    for (const struct jn *e = jt_first(x, jt_get(x, r, "extension")); e != NULL;
         e = jt_next(x, e)) {
        const char *u = jt_str(x, e, "url");
        if (u != NULL && strcmp(u, url) == 0)
            return e;
    }
    return NULL;
}

static cse_code clin_fast(cse_extract *x, const char *json, size_t len, const char *type,
                          const char *source, long line, int *used, cse_error *err)
{
    int is_flag = strcmp(type, "Flag") == 0, is_cond = strcmp(type, "Condition") == 0;
    struct clin c = {0};
    struct jt t;
    const struct jn *r, *v, *e;
    const char *url;
    int root;

    *used = 0;
    if (len + 1 > x->jt_buf_cap) {
        char *nb = realloc(x->jt_buf, len + 1);
        if (nb == NULL)
            return CSE_OK; /* jansson will say */
        x->jt_buf = nb;
        x->jt_buf_cap = len + 1;
    }
    memcpy(x->jt_buf, json, len);
    x->jt_buf[len] = '\0';
    t.x = x;
    t.p = x->jt_buf;
    t.end = x->jt_buf + len;
    t.n = 0;
    if (!jt_value(&t, 1, &root) || x->jt_n[root].kind != 'o')
        return CSE_OK;
    jt_ws(&t);
    if (t.p != t.end)
        return CSE_OK;
    *used = 1;
    x->st.resources++;
    r = &x->jt_n[root];

    c.status = jt_str(x, r, "status");
    c.id = jt_str(x, r, "id");
    c.subject = jt_str(x, jt_get(x, r, "subject"), "reference");
    /* classify_code */
    for (e = jt_first(x, jt_get(x, jt_get(x, r, "code"), "coding")); e != NULL;
         e = jt_next(x, e)) {
        const char *sys = jt_str(x, e, "system"), *code = jt_str(x, e, "code");
        if (sys == NULL || code == NULL || strcmp(sys, CSE_SYSTEM_SNOMED) != 0)
            continue;
        if (cse_code_is_marker(code))
            c.marker = 1;
        else if (cse_code_is_related(code))
            c.related = 1;
    }
    if (!is_cond) {
        /* has_profile */
        url = is_flag ? CSE_FHIR_FLAG_PROFILE : CSE_FHIR_OBS_PROFILE;
        for (e = jt_first(x, jt_get(x, jt_get(x, r, "meta"), "profile"));
             e != NULL && !c.ours; e = jt_next(x, e)) {
            const char *s = jt_sval(e);
            if (s != NULL && strncmp(s, url, strlen(url)) == 0)
                c.ours = 1;
        }
        /* has_cse_category */
        for (e = jt_first(x, jt_get(x, r, "category")); e != NULL && !c.ours;
             e = jt_next(x, e)) {
            for (v = jt_first(x, jt_get(x, e, "coding")); v != NULL && !c.ours;
                 v = jt_next(x, v)) {
                const char *sys = jt_str(x, v, "system"), *code = jt_str(x, v, "code");
                if (sys && code && strcmp(sys, CSE_FHIR_CS_CATEGORY) == 0 &&
                    strcmp(code, "cse") == 0)
                    c.ours = 1;
            }
        }
    }
    /* has_nopat */
    for (e = jt_first(x, jt_get(x, jt_get(x, r, "meta"), "security")); e != NULL;
         e = jt_next(x, e)) {
        const char *code = jt_str(x, e, "code");
        if (code != NULL && strcmp(code, "NOPAT") == 0)
            c.nopat = 1;
    }
    if (is_cond) {
        c.vs = jt_str(
            x, jt_first(x, jt_get(x, jt_get(x, r, "verificationStatus"), "coding")),
            "code");
        c.start_a = jt_str(x, r, "onsetDateTime");
        c.start_b = jt_str(x, r, "recordedDate");
    } else if (is_flag) {
        c.start_a = jt_str(x, jt_get(x, r, "period"), "start");
        c.end = jt_str(x, jt_get(x, r, "period"), "end");
        e = jt_extension(x, r, CSE_FHIR_FLAG_DETAIL);
        if (e != NULL)
            c.detail = jt_str(x, jt_get(x, e, "valueReference"), "reference");
    } else {
        const struct jn *ep = jt_get(x, r, "effectivePeriod");
        c.start_a = jt_str(x, r, "effectiveDateTime");
        c.start_b = jt_str(x, ep, "start");
        c.end = jt_str(x, ep, "end");
    }
    e = jt_extension(x, r, CSE_FHIR_EXT_REVIEW_DATE);
    if (e != NULL)
        c.review = jt_str(x, e, "valueDate");
    return clin_apply(x, &c, type, source, line, err);
}

cse_code cse_extract_add_resource_json(cse_extract *x, const char *json, size_t len,
                                       const char *source, long line, cse_error *err)
{
    json_error_t jerr;
    json_t *r;
    cse_code rc;

    if (x == NULL || json == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, source, "",
                              "no extract or input");
    if (x->finished)
        return cse__error_set(err, CSE_ERR_STATE, 0, source, "",
                              "the partial was already written");
    if (len > MAX_LINE)
        return cse__error_set(err, CSE_ERR_LIMIT, (int)line, source, "",
                              "resource larger than %u bytes", MAX_LINE);
    /* Most lines of an export (ordinary observations, medications, ...)
     * cannot change a count; finding that out without building a JSON tree,
     * and reading Patients straight from the line, is what makes extract
     * fast. Anything unusual (escapes, non-ASCII, long numbers, a missing or
     * repeated resourceType, a field that does not fit) takes the full
     * parser, which also names any error. */
    {
        struct jv v = {json, json + len, 0, 0, 0, 0, NULL, 0, 0, 0};
        struct patient_fields f;
        struct sysval sv;
        struct fp fp = {x, &f, &sv, "", 0};
        int ok;

        memset(&f, 0, sizeof(f));
        jv_ws(&v);
        ok = v.p < v.end && *v.p == '{' && fp_object(&v, fp_top_key, &fp);
        if (ok) {
            jv_ws(&v);
            ok = v.p == v.end && v.types == 1 && !v.escapes;
        }
        /* A number jansson might refuse (an exponent, a long number) sends
         * even a Patient to jansson, so both paths accept the same lines. */
        if (ok && !v.numbers && strcmp(fp.type, "Patient") == 0 && !fp.lossy) {
            x->st.resources++;
            x->bytes += len;
            rc = patient_apply(x, &f, source, line, err);
            goto done;
        }
        cse__wipe(f.nhs, sizeof(f.nhs));
        if (ok && !v.relevant) {
            x->st.resources++;
            x->bytes += len;
            rc = CSE_OK;
            goto done;
        }
        /* A Flag, Observation or Condition that may count: plain ASCII
         * without escapes and without numbers jansson might refuse, so
         * everything jansson would check is already checked but duplicate
         * keys, which clin_fast checks. */
        if (ok && !v.numbers && !fp.lossy &&
            (strcmp(fp.type, "Flag") == 0 || strcmp(fp.type, "Observation") == 0 ||
             strcmp(fp.type, "Condition") == 0)) {
            int used = 0;
            rc = clin_fast(x, json, len, fp.type, source, line, &used, err);
            if (used) {
                x->bytes += len;
                goto done;
            }
        }
    }
    r = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (r == NULL) {
        char text[JSON_ERROR_TEXT_LENGTH];
        return cse__error_set(err, CSE_ERR_PARSE, (int)(line > 0 ? line : jerr.line),
                              source, "", "JSON does not parse at column %d: %s",
                              jerr.column, jerr_text(&jerr, text, sizeof(text)));
    }
    if (!json_is_object(r)) {
        json_decref(r);
        return cse__error_set(err, CSE_ERR_STRUCTURE, (int)line, source, "",
                              "expected a JSON object (one FHIR resource)");
    }
    rc = add_json(x, r, source, line, 0, err);
    json_decref(r);
    x->bytes += len;
done:
    if (x->progress != NULL && !x->quiet && (x->st.resources & 0xffff) == 0)
        x->progress(x->progress_ud, x->st.resources, x->bytes);
    return rc;
}

/* ---- Files ------------------------------------------------------------- */

/* jansson's error text without the input it quotes (" near 'TOKEN'"), which
 * could be record text; "near end of file" is kept. */
static const char *jerr_text(const json_error_t *e, char *buf, size_t size)
{
    const char *near;

    snprintf(buf, size, "%s", e->text);
    near = strstr(buf, " near '");
    if (near != NULL)
        buf[near - buf] = '\0';
    return buf;
}

static int ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

/* Reads whole buffers and splits them into lines in place (no copy per
 * line); a line longer than the buffer grows it, as getline would. */
static cse_code add_ndjson(cse_extract *x, FILE *fp, const char *source, cse_error *err)
{
    size_t cap = NDJSON_BUF, have = 0, pos = 0; /* unread: buf[pos, have) */
    size_t scanned = 0;                         /* buf[pos, scanned) has no newline */
    char *buf = malloc(cap);
    long line = 0;
    int eof = 0;
    cse_code rc = CSE_OK;

    if (buf == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, source, "", "out of memory");
    for (;;) {
        char *nl = memchr(buf + scanned, '\n', have - scanned), *s;
        size_t n;

        if (nl == NULL && !eof) {
            size_t got;
            if (pos > 0) {
                memmove(buf, buf + pos, have - pos);
                have -= pos;
                pos = 0;
            }
            scanned = have;
            if (have == cap) {
                char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
                if (nb == NULL) {
                    rc = cse__error_set(err, CSE_ERR_NOMEM, (int)line, source, "",
                                        "out of memory");
                    goto out;
                }
                buf = nb;
                cap *= 2;
            }
            got = fread(buf + have, 1, cap - have, fp);
            if (got == 0) {
                if (ferror(fp)) {
                    rc = cse__error_set(err, CSE_ERR_IO, (int)line, source, "",
                                        "read error: %s", strerror(errno));
                    goto out;
                }
                eof = 1;
            }
            have += got;
            continue;
        }
        if (nl == NULL) { /* the end: a last line without a newline, or none */
            if (pos == have)
                break;
            nl = buf + have;
        }
        s = buf + pos;
        n = (size_t)(nl - s);
        pos = nl == buf + have ? have : (size_t)(nl - buf) + 1;
        scanned = pos;
        line++;
        while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == ' '))
            n--;
        if (n == 0)
            continue;
        if ((rc = cse_extract_add_resource_json(x, s, n, source, line, err)) != CSE_OK)
            goto out;
    }
out:
    free(buf);
    return rc;
}

static cse_code add_json_file(cse_extract *x, const char *path, cse_error *err)
{
    json_error_t jerr;
    json_t *r;
    struct stat st;
    cse_code rc;

    if (stat(path, &st) == 0 && (uint64_t)st.st_size > MAX_BUNDLE)
        return cse__error_set(err, CSE_ERR_LIMIT, 0, path, "",
                              "file larger than %u bytes", MAX_BUNDLE);
    r = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
    if (r == NULL) {
        char text[JSON_ERROR_TEXT_LENGTH];
        return cse__error_set(err, CSE_ERR_PARSE, jerr.line, path, "",
                              "JSON does not parse at column %d: %s", jerr.column,
                              jerr_text(&jerr, text, sizeof(text)));
    }
    if (!json_is_object(r)) {
        json_decref(r);
        return cse__error_set(err, CSE_ERR_STRUCTURE, 1, path, "",
                              "expected a FHIR Bundle or resource");
    }
    rc = add_json(x, r, path, 0, 0, err);
    json_decref(r);
    x->bytes += (uint64_t)st.st_size;
    return rc;
}

static cse_code add_gp2gp(cse_extract *x, const char *path, cse_error *err)
{
    cse__gp2gp_head h;
    cse_code rc;

    if ((rc = cse__gp2gp_scan(path, &h, err)) != CSE_OK)
        return rc;
    x->st.resources++;
    /* An arrival: received by this practice within the period. */
    if (strcmp(h.dest_ods, x->ods) == 0 && h.nhs[0] != '\0' &&
        cse__day_in(&h.availability, &x->start, &x->end)) {
        if (x->arr_n == x->arr_cap) {
            size_t ncap = x->arr_cap ? x->arr_cap * 2 : 32;
            struct arrival *na = realloc(x->arr, ncap * sizeof(*na));
            if (na == NULL) {
                rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
                goto out;
            }
            x->arr = na;
            x->arr_cap = ncap;
        }
        rc = link_tag(x, h.nhs, x->arr[x->arr_n].tag);
        if (rc != CSE_OK) {
            cse__error_set(err, rc, 0, path, "recordTarget",
                           "cannot compute a pseudonym");
            goto out;
        }
        x->arr_n++;
        x->st.arrivals++;
    }
out:
    cse__wipe(h.nhs, sizeof(h.nhs));
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static cse_code add_dir(cse_extract *x, const char *path, int depth, cse_error *err)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0;
    cse_code rc = CSE_OK;

    if (depth > 8)
        return cse__error_set(err, CSE_ERR_LIMIT, 0, path, "",
                              "folders nested too deeply");
    if ((d = opendir(path)) == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open folder: %s",
                              strerror(errno));
    while ((de = readdir(d)) != NULL) {
        char *full;
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 16;
            char **nn = realloc(names, ncap * sizeof(*nn));
            if (nn == NULL) {
                rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
                goto out;
            }
            names = nn;
            cap = ncap;
        }
        if (asprintf(&full, "%s/%s", path, de->d_name) < 0) {
            rc = cse__error_set(err, CSE_ERR_NOMEM, 0, path, "", "out of memory");
            goto out;
        }
        names[n++] = full;
    }
    if (n > 0)
        qsort(names, n, sizeof(*names), name_cmp);
    for (size_t i = 0; i < n && rc == CSE_OK; i++) {
        struct stat st;
        if (stat(names[i], &st) != 0)
            continue;
        if (S_ISDIR(st.st_mode))
            rc = add_dir(x, names[i], depth + 1, err);
        else if (ends_with(names[i], ".ndjson") || ends_with(names[i], ".json") ||
                 ends_with(names[i], ".xml"))
            rc = cse_extract_add_path(x, names[i], err);
    }
out:
    closedir(d);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

cse_code cse_extract_add_path(cse_extract *x, const char *path, cse_error *err)
{
    struct stat st;
    FILE *fp;
    cse_code rc;

    if (x == NULL || path == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no extract or path");
    if (x->finished)
        return cse__error_set(err, CSE_ERR_STATE, 0, path, "",
                              "the partial was already written");
    if (strcmp(path, "-") == 0)
        return add_ndjson(x, stdin, "-", err);
    if (stat(path, &st) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot read: %s",
                              strerror(errno));
    if (S_ISDIR(st.st_mode))
        return add_dir(x, path, 0, err);
    if (ends_with(path, ".xml"))
        return add_gp2gp(x, path, err);
    if (ends_with(path, ".json"))
        return add_json_file(x, path, err);
    if ((fp = fopen(path, "r")) == NULL)
        return cse__error_set(err, CSE_ERR_IO, 0, path, "", "cannot open: %s",
                              strerror(errno));
    rc = add_ndjson(x, fp, path, err);
    fclose(fp);
    return rc;
}

/* ---- Finishing --------------------------------------------------------- */

static int u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int mrec_self_cmp(const void *a, const void *b)
{
    return u64_cmp(&((const struct mrec *)a)->self, &((const struct mrec *)b)->self);
}

static cse_code push_pseudo(unsigned char (**arr)[CSE__PSEUDO_LEN], size_t *n,
                            const unsigned char *tag)
{
    unsigned char(*na)[CSE__PSEUDO_LEN] = realloc(*arr, (*n + 1) * sizeof(**arr));

    if (na == NULL)
        return CSE_ERR_NOMEM;
    memcpy(na[*n], tag, CSE__PSEUDO_LEN);
    *arr = na;
    (*n)++;
    return CSE_OK;
}

static cse_code finish(cse_extract *x, cse_error *err)
{
    cse__cell *c = &x->cell;
    cse_code rc = CSE_OK;

    if (x->finished)
        return CSE_OK;
    /* A wrong --practice would count no child and list every flagged child as
     * "left": refuse when no Patient names this practice and some name
     * another, and say which (ODS codes are not patient identifiers). */
    if (x->named_here == 0 && x->named_other > 0)
        return cse__error_set(
            err, CSE_ERR_STRUCTURE, 0, "", "Patient.generalPractitioner",
            "no Patient names practice %s; %llu of %llu name another practice, most "
            "often %s: is --practice right?",
            x->ods, (unsigned long long)x->named_other,
            (unsigned long long)x->st.patients,
            x->other_n[0] > 0 ? x->other_ods[0] : "(an ODS code too long to show)");
    x->finished = 1;
    memset(c, 0, sizeof(*c));
    memcpy(c->practice, x->ods, sizeof(c->practice));
    c->start = x->start;
    c->end = x->end;
    c->linkage = x->has_key;

    /* Observations a Flag points to are forms of that Flag's marker: the marker
     * is NOPAT only when every form is. Sorting by id puts them in reach. */
    if (x->m_n > 0)
        qsort(x->m, x->m_n, sizeof(*x->m), mrec_self_cmp);
    for (size_t i = 0; i < x->m_n; i++) {
        struct mrec key, *o;
        if (!x->m[i].is_flag || x->m[i].detail == 0)
            continue;
        key.self = x->m[i].detail;
        o = bsearch(&key, x->m, x->m_n, sizeof(*x->m), mrec_self_cmp);
        /* Several records may share the id; step to an Observation one. */
        while (o != NULL && o > x->m && (o - 1)->self == key.self)
            o--;
        for (; o != NULL && o < x->m + x->m_n && o->self == key.self; o++) {
            if (o->is_flag || o->patient != x->m[i].patient)
                continue;
            o->absorbed = 1;
            x->m[i].nopat &= o->nopat;
        }
    }
    for (size_t i = 0; i < x->m_n; i++) {
        const struct mrec *m = &x->m[i];
        struct patient *p;
        if (m->absorbed)
            continue;
        p = tab_find(x, m->patient);
        if (p == NULL || !(p->flags & P_SEEN)) {
            x->st.unlinked++;
            continue;
        }
        if (!(p->flags & P_CHILD))
            continue;
        if (m->present)
            p->flags |= P_ANY_MARKER;
        if (!m->active)
            continue;
        if (!(p->flags & P_REGISTERED)) {
            p->flags |= P_LEFT_MARKER;
            continue;
        }
        p->flags |= P_ACTIVE_MARKER;
        c->c[CSE__ACTIVE_MARKERS]++;
        c->c[CSE__MARKERS_NOPAT] += m->nopat;
        c->c[CSE__MARKERS_OVERDUE] += m->overdue;
        c->c[CSE__MARKERS_STANDARD] += m->standard;
    }
    if (x->arr_n > 0)
        qsort(x->arr, x->arr_n, sizeof(*x->arr), cse__pseudo_cmp);
    for (size_t i = 0; i < x->tab_cap; i++) {
        struct patient *p = &x->tab[i];
        if (p->key == 0 || !(p->flags & P_SEEN) || !(p->flags & P_CHILD))
            continue;
        if (p->flags & P_REGISTERED) {
            c->c[CSE__REG_CHILDREN]++;
            if (p->flags & P_ACTIVE_MARKER)
                c->c[CSE__CHILDREN_MARKER]++;
            else if (p->flags & P_RELATED)
                c->c[CSE__CHILDREN_UNFLAGGED]++;
            if ((p->flags & P_TAG) && x->arr_n > 0 &&
                bsearch(x->tags[p->tag - 1], x->arr, x->arr_n, sizeof(*x->arr),
                        cse__pseudo_cmp)) {
                x->st.arrived_linked++;
                if (x->has_key) {
                    if (p->flags & P_ANY_MARKER)
                        rc = push_pseudo(&c->arr_with, &c->n_arr_with,
                                         x->tags[p->tag - 1]);
                    else
                        rc = push_pseudo(&c->arr_without, &c->n_arr_without,
                                         x->tags[p->tag - 1]);
                }
            }
        } else if ((p->flags & P_LEFT_MARKER) && (p->flags & P_TAG)) {
            x->st.left_with_marker++;
            if (x->has_key)
                rc = push_pseudo(&c->left, &c->n_left, x->tags[p->tag - 1]);
        }
        if (rc != CSE_OK)
            return cse__error_set(err, rc, 0, "", "", "out of memory");
    }
    c->n_left = cse__pseudo_sort_unique(c->left, c->n_left);
    c->n_arr_with = cse__pseudo_sort_unique(c->arr_with, c->n_arr_with);
    c->n_arr_without = cse__pseudo_sort_unique(c->arr_without, c->n_arr_without);
    x->st.registered_children = c->c[CSE__REG_CHILDREN];
    x->st.children_with_marker = c->c[CSE__CHILDREN_MARKER];
    x->st.active_markers = c->c[CSE__ACTIVE_MARKERS];
    x->st.markers_nopat = c->c[CSE__MARKERS_NOPAT];
    x->st.markers_overdue = c->c[CSE__MARKERS_OVERDUE];
    x->st.markers_standard_code = c->c[CSE__MARKERS_STANDARD];
    x->st.children_possibly_unflagged = c->c[CSE__CHILDREN_UNFLAGGED];
    return CSE_OK;
}

cse_code cse_extract_get_stats(cse_extract *x, cse_extract_stats *st, cse_error *err)
{
    cse_code rc;

    if (x == NULL || st == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no extract");
    if ((rc = finish(x, err)) != CSE_OK)
        return rc;
    *st = x->st;
    return CSE_OK;
}

cse_code cse_extract_write_partial(cse_extract *x, FILE *out, cse_error *err)
{
    cse_partial *p = NULL;
    cse__cell copy;
    char pkey_id[CSE__KEY_ID_LEN + 1] = "";
    cse_code rc;

    if (x == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "no extract or output");
    if (x->signing == NULL)
        return cse__error_set(
            err, CSE_ERR_INVALID_ARG, 0, "", "signing_key",
            "a partial is signed by its practice: no signing key given");
    if (x->has_key && x->linkage == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "linkage_key",
                              "pseudonyms are sealed to the ICS linkage key: no linkage "
                              "public key given");
    if (x->finished && x->cell.practice[0] == '\0')
        return cse__error_set(err, CSE_ERR_STATE, 0, "", "",
                              "the partial was already written");
    if ((rc = finish(x, err)) != CSE_OK)
        return rc;
    if ((p = cse_partial_new()) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
    /* The partial takes the cell; the extract keeps nothing afterwards. */
    copy = x->cell;
    memset(&x->cell, 0, sizeof(x->cell));
    if (x->has_key)
        cse_key_id(x->key, pkey_id);
    copy.member = -1;
    if ((rc = cse__partial_add_cell(p, &copy, err)) == CSE_OK)
        rc = cse__partial_write_signed(p, "practice", x->ods, x->signing, x->linkage,
                                       pkey_id, out, err);
    cse_partial_free(p);
    return rc;
}
