/* SPDX-License-Identifier: MIT */
/* SNOMED CT from an RF2 snapshot: the index, its cache file, the lookups.
 *
 * The index is one flat image, the same in memory and on disk:
 *
 *   header (128 bytes, below)
 *   concepts     n x {u64 id, u32 term offset, u32 flags}    sorted by id
 *   descriptions n x {u64 id, u64 concept id | active << 63} sorted by id
 *   immunisation n x u64 concept id                          sorted
 *   term pool    NUL-terminated preferred terms; last byte NUL
 *
 * in host byte order (the header says which), each table 8-byte aligned.
 * Every count, offset and id is checked when the image is opened, and the
 * body carries a checksum, so a truncated, corrupt or hostile file is
 * refused before any lookup touches it. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <csemarker/rules.h>
#include <csemarker/snomed.h>

#include "internal.h"
#include "rf2.h"

#define IDX_MAGIC "CSESCTIX"
#define IDX_VERSION 1u
#define IDX_ENDIAN 0x01020304u
#define IDX_MAX_ID 999999999999999999ull

/* The concepts the release's is-a hierarchy and term choice hang on. */
#define SCT_IS_A 116680003ull
#define SCT_SYNONYM 900000000000013009ull
#define SCT_PREFERRED 900000000000548007ull
/* The UK language reference sets the adaptor takes preferred terms from:
 * clinical (999001261000000100), then pharmacy (999000691000001104). */
#define SCT_UK_CLINICAL_LANG 999001261000000100ull
#define SCT_UK_DRUG_LANG 999000691000001104ull

/* The adaptor's immunisation roots (snomed-database-loader README and its
 * immunization_codes view in NHSDigital/integration-adaptor-gp2gp-requesting). */
static const uint64_t immunisation_roots[] = {787859002ull, 127785005ull, 304250009ull,
                                              90351000119108ull, 713404003ull};

/* The fallback without a release: the sixteen codes the adaptor checks are
 * in its immunization_codes view after loading a release (its load check:
 * "COUNT(DISTINCT concept_or_description_id) = 16"): the five roots, five
 * descendants, and six codes outside the root hierarchy that only inactive
 * is-a rows connect. Sorted for bsearch. */
static const uint64_t fallback_immunisation[] = {
    90640007ull,        127785005ull,        170399005ull,        304250009ull,
    713404003ull,       735981009ull,        787859002ull,        90351000119108ull,
    308101000000104ull, 542931000000103ull,  571631000119106ull,  764141000000106ull,
    945831000000105ull, 1036721000000101ull, 1373691000000102ull, 2997511000001102ull};

struct idx_header {
    char magic[8];
    uint32_t version, header_size, endian, reserved;
    uint64_t file_size, fingerprint, body_checksum;
    uint64_t n_concepts, off_concepts;
    uint64_t n_desc, off_desc;
    uint64_t n_immun, off_immun;
    uint64_t pool_size, off_pool;
    uint64_t n_terms;
    uint64_t header_checksum; /* over the bytes before this field */
};
_Static_assert(sizeof(struct idx_header) == 128, "the cache header is 128 bytes");

struct idx_concept {
    uint64_t id;
    uint32_t term;
    uint32_t flags;
};
#define CF_ACTIVE 1u
#define CF_TERM 2u
#define CF_KNOWN (CF_ACTIVE | CF_TERM)

struct idx_desc {
    uint64_t id;
    uint64_t concept; /* bit 63: the description row is active */
};
#define DESC_ACTIVE (1ull << 63)

struct cse_snomed {
    const unsigned char *base;
    size_t size;
    void *map; /* when mapped from a file */
    size_t map_size;
    unsigned char *owned; /* when built in memory */
    const struct idx_concept *concepts;
    const struct idx_desc *descs;
    const uint64_t *immun;
    const char *pool;
    uint64_t n_concepts, n_desc, n_immun, pool_size, n_terms, fingerprint;
    cse_snomed_cache_state state;
    char *cache_path;
};

/* ---- hashing ---------------------------------------------------------- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* A word-at-a-time checksum: it finds corruption, not forgery (the cache
 * is as trusted as the folder it sits in). */
static uint64_t checksum(const unsigned char *p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ull, w;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x9e3779b97f4a7c15ull;
        h ^= h >> 29;
    }
    return fnv(h, p + i, n - i);
}

/* qsort, which must not be given a NULL base even for no elements. */
static void sort(void *base, size_t n, size_t size,
                 int (*cmp)(const void *, const void *))
{
    if (n > 1)
        qsort(base, n, size, cmp);
}

/* ---- opening an image ------------------------------------------------- */

typedef enum img_state { IMG_OK, IMG_FOREIGN, IMG_VERSION, IMG_CORRUPT } img_state;

static bool table_ok(uint64_t off, uint64_t n, uint64_t elem, uint64_t size)
{
    return off % 8 == 0 && off >= sizeof(struct idx_header) && off <= size &&
           n <= (size - off) / elem;
}

/* Checks an image and fills the handle's table pointers. why gets a short
 * reason for a refused image. */
static img_state check_image(cse_snomed *s, const unsigned char *base, size_t size,
                             const char **why)
{
    struct idx_header h;

    *why = NULL;
    if (size < 8 || memcmp(base, IDX_MAGIC, 8) != 0) {
        *why = "not a csemarker SNOMED cache";
        return size == 0 ? IMG_CORRUPT : IMG_FOREIGN;
    }
    if (size < sizeof(h)) {
        *why = "truncated header";
        return IMG_CORRUPT;
    }
    memcpy(&h, base, sizeof(h));
    if (h.endian != IDX_ENDIAN || h.version != IDX_VERSION ||
        h.header_size != sizeof(h)) {
        *why = "a cache of another version or machine";
        return IMG_VERSION;
    }
    if (h.header_checksum !=
        fnv(0xcbf29ce484222325ull, base, offsetof(struct idx_header, header_checksum))) {
        *why = "header checksum mismatch";
        return IMG_CORRUPT;
    }
    if (h.file_size != size) {
        *why = "truncated or extended file";
        return IMG_CORRUPT;
    }
    if (!table_ok(h.off_concepts, h.n_concepts, sizeof(struct idx_concept), size) ||
        !table_ok(h.off_desc, h.n_desc, sizeof(struct idx_desc), size) ||
        !table_ok(h.off_immun, h.n_immun, 8, size) ||
        !table_ok(h.off_pool, h.pool_size, 1, size) || h.pool_size == 0 ||
        h.pool_size > UINT32_MAX || base[h.off_pool + h.pool_size - 1] != '\0') {
        *why = "a table outside the file";
        return IMG_CORRUPT;
    }
    if (h.body_checksum != checksum(base + sizeof(h), size - sizeof(h))) {
        *why = "body checksum mismatch";
        return IMG_CORRUPT;
    }
    s->base = base;
    s->size = size;
    s->concepts = (const struct idx_concept *)(base + h.off_concepts);
    s->descs = (const struct idx_desc *)(base + h.off_desc);
    s->immun = (const uint64_t *)(base + h.off_immun);
    s->pool = (const char *)(base + h.off_pool);
    s->n_concepts = h.n_concepts;
    s->n_desc = h.n_desc;
    s->n_immun = h.n_immun;
    s->pool_size = h.pool_size;
    s->n_terms = h.n_terms;
    s->fingerprint = h.fingerprint;
    /* Sorted, in range, and every term offset inside the pool: lookups
     * then need no further checks. */
    for (uint64_t i = 0; i < s->n_concepts; i++) {
        const struct idx_concept *c = &s->concepts[i];
        if (c->id == 0 || c->id > IDX_MAX_ID || (i > 0 && c->id <= c[-1].id) ||
            (c->flags & ~CF_KNOWN) != 0 ||
            ((c->flags & CF_TERM) && c->term >= s->pool_size)) {
            *why = "a malformed concept entry";
            return IMG_CORRUPT;
        }
    }
    for (uint64_t i = 0; i < s->n_desc; i++) {
        const struct idx_desc *d = &s->descs[i];
        uint64_t concept = d->concept & ~DESC_ACTIVE;
        if (d->id == 0 || d->id > IDX_MAX_ID || (i > 0 && d->id <= d[-1].id) ||
            concept == 0 || concept > IDX_MAX_ID) {
            *why = "a malformed description entry";
            return IMG_CORRUPT;
        }
    }
    for (uint64_t i = 0; i < s->n_immun; i++)
        if (s->immun[i] == 0 || s->immun[i] > IDX_MAX_ID ||
            (i > 0 && s->immun[i] <= s->immun[i - 1])) {
            *why = "a malformed immunisation entry";
            return IMG_CORRUPT;
        }
    return IMG_OK;
}

cse_snomed *cse__snomed_from_image(const void *image, size_t size, cse_error *err)
{
    cse_snomed *s = calloc(1, sizeof(*s));
    const char *why;

    if (s == NULL) {
        cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        return NULL;
    }
    if (image == NULL || check_image(s, image, size, &why) != IMG_OK) {
        cse__error_set(err, CSE_ERR_INTEGRITY, 0, NULL, NULL,
                       "SNOMED CT index refused: %s", image == NULL ? "no image" : why);
        free(s);
        return NULL;
    }
    return s;
}

/* ---- finding the release files ---------------------------------------- */

#define MAX_FILES 64

struct srcfile {
    char *path, *rel;
    rf2_kind kind;
    long long size, mtime_s, mtime_ns;
};

struct srclist {
    struct srcfile f[MAX_FILES];
    int n;
    int count[RF2_KINDS];
};

static void srclist_free(struct srclist *l)
{
    for (int i = 0; i < l->n; i++) {
        free(l->f[i].path);
        free(l->f[i].rel);
    }
    l->n = 0;
}

static char *join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    if (p == NULL)
        return NULL;
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    if (la == 0)
        memmove(p, p + 1, lb + 1);
    return p;
}

/* Adds the RF2 files directly inside dir + "/" + rel (rel may be ""). */
static cse_code scan_folder(struct srclist *l, const char *dir, const char *rel,
                            cse_error *err)
{
    char *folder = *rel ? join(dir, rel) : strdup(dir);
    DIR *d;
    struct dirent *e;
    cse_code rc = CSE_OK;

    if (folder == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, dir, NULL, "out of memory");
    d = opendir(folder);
    if (d == NULL) {
        free(folder);
        return CSE_OK; /* an absent layout folder is normal */
    }
    while (rc == CSE_OK && (e = readdir(d)) != NULL) {
        struct stat st;
        struct srcfile *f;
        int kind;

        for (kind = 0; kind < RF2_KINDS; kind++)
            if (cse__rf2_name_matches((rf2_kind)kind, e->d_name))
                break;
        if (kind == RF2_KINDS)
            continue;
        if (l->n == MAX_FILES) {
            rc = cse__error_set(err, CSE_ERR_LIMIT, 0, dir, NULL,
                                "more than %d RF2 snapshot files", MAX_FILES);
            break;
        }
        f = &l->f[l->n];
        memset(f, 0, sizeof(*f));
        f->path = join(folder, e->d_name);
        f->rel = join(rel, e->d_name);
        if (f->path == NULL || f->rel == NULL) {
            free(f->path);
            free(f->rel);
            rc = cse__error_set(err, CSE_ERR_NOMEM, 0, dir, NULL, "out of memory");
            break;
        }
        int serr = stat(f->path, &st) != 0 ? errno : 0;
        if (serr != 0 || !S_ISREG(st.st_mode)) {
            rc = cse__error_set(err, CSE_ERR_IO, 0, f->path, NULL,
                                "cannot read the RF2 %s file: %s",
                                cse__rf2_kind_name((rf2_kind)kind),
                                serr ? strerror(serr) : "not a regular file");
            free(f->path);
            free(f->rel);
            break;
        }
        f->kind = (rf2_kind)kind;
        f->size = (long long)st.st_size;
        f->mtime_s = (long long)st.st_mtim.tv_sec;
        f->mtime_ns = (long long)st.st_mtim.tv_nsec;
        l->count[kind]++;
        l->n++;
    }
    closedir(d);
    free(folder);
    return rc;
}

static int cmp_rel(const void *a, const void *b)
{
    return strcmp(((const struct srcfile *)a)->rel, ((const struct srcfile *)b)->rel);
}

/* The layouts searched: the folder itself (files unpacked flat, as the
 * adaptor's loader does), an RF2 package (Snapshot/Terminology and
 * Snapshot/Refset/Language), and each of those one folder down (a UK edition
 * unpacked with its International and UK packages side by side). */
static cse_code find_files(struct srclist *l, const char *dir, cse_error *err)
{
    static const char *const layouts[] = {"", "Snapshot/Terminology",
                                          "Snapshot/Refset/Language", "Terminology",
                                          "Refset/Language"};
    struct stat st;
    DIR *d;
    struct dirent *e;
    cse_code rc = CSE_OK;

    if (stat(dir, &st) != 0)
        return cse__error_set(err, CSE_ERR_IO, 0, dir, NULL,
                              "cannot open the SNOMED CT release folder: %s",
                              strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return cse__error_set(err, CSE_ERR_IO, 0, dir, NULL,
                              "the SNOMED CT release is not a folder");
    for (size_t i = 0; rc == CSE_OK && i < sizeof(layouts) / sizeof(*layouts); i++)
        rc = scan_folder(l, dir, layouts[i], err);
    d = opendir(dir);
    if (d == NULL && rc == CSE_OK)
        rc = cse__error_set(err, CSE_ERR_IO, 0, dir, NULL,
                            "cannot list the SNOMED CT release folder: %s",
                            strerror(errno));
    while (rc == CSE_OK && d != NULL && (e = readdir(d)) != NULL) {
        char *sub;

        if (e->d_name[0] == '.')
            continue;
        sub = join(dir, e->d_name);
        if (sub == NULL) {
            rc = cse__error_set(err, CSE_ERR_NOMEM, 0, dir, NULL, "out of memory");
            break;
        }
        if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode)) {
            for (size_t i = 0; rc == CSE_OK && i < sizeof(layouts) / sizeof(*layouts);
                 i++) {
                char *rel = *layouts[i] ? join(e->d_name, layouts[i]) : strdup(e->d_name);
                if (rel == NULL) {
                    rc =
                        cse__error_set(err, CSE_ERR_NOMEM, 0, dir, NULL, "out of memory");
                    break;
                }
                rc = scan_folder(l, dir, rel, err);
                free(rel);
            }
        }
        free(sub);
    }
    if (d != NULL)
        closedir(d);
    if (rc != CSE_OK)
        return rc;
    sort(l->f, (size_t)l->n, sizeof(l->f[0]), cmp_rel);
    for (int kind = 0; kind < RF2_LANGUAGE; kind++)
        if (l->count[kind] == 0)
            return cse__error_set(
                err, CSE_ERR_IO, 0, dir, NULL,
                "no RF2 %s snapshot file (sct2_%s_*Snapshot*.txt) in the folder, in "
                "Snapshot/Terminology, or one folder down",
                cse__rf2_kind_name((rf2_kind)kind),
                kind == RF2_CONCEPT       ? "Concept"
                : kind == RF2_DESCRIPTION ? "Description"
                                          : "Relationship");
    return CSE_OK;
}

/* Names, sizes and modification times of the release files: a cache built
 * from other files, or from these before they changed, is stale. */
static uint64_t fingerprint(const struct srclist *l)
{
    uint64_t h = fnv(0xcbf29ce484222325ull, "csemarker-snomed-v1", 19);

    for (int i = 0; i < l->n; i++) {
        long long v[3] = {l->f[i].size, l->f[i].mtime_s, l->f[i].mtime_ns};
        h = fnv(h, l->f[i].rel, strlen(l->f[i].rel) + 1);
        h = fnv(h, v, sizeof(v));
    }
    return h;
}

/* ---- building --------------------------------------------------------- */

struct vec {
    unsigned char *p;
    size_t n, cap, elem;
};

static bool vec_push(struct vec *v, const void *item)
{
    if (v->n == v->cap) {
        size_t cap = v->cap ? v->cap * 2 : 1024;
        void *p = cap > SIZE_MAX / v->elem ? NULL : realloc(v->p, cap * v->elem);
        if (p == NULL)
            return false;
        v->p = p;
        v->cap = cap;
    }
    memcpy(v->p + v->n * v->elem, item, v->elem);
    v->n++;
    return true;
}

struct crow {
    uint64_t id;
    uint32_t effective, seq;
    bool active;
};

struct drow {
    uint64_t id, concept;
    uint32_t effective, seq;
    uint32_t term_off, term_len; /* in the build's term buffer; len 0: none */
    uint8_t rank;                /* preferred-term rank: 1 clinical, 2 drug, 0 none */
    bool active;
};

struct pref {
    uint64_t desc;
    uint8_t rank;
};

struct edge {
    uint64_t src, dst;
};

struct build {
    struct vec concepts, descs, edges, prefs, terms;
    uint32_t seq;
    const char *source; /* the file being parsed, for errors */
};

static cse_code nomem(cse_error *err, const char *source, long line)
{
    return cse__error_set(err, CSE_ERR_NOMEM, (int)line, source, NULL, "out of memory");
}

static int cmp_pref(const void *a, const void *b)
{
    const struct pref *x = a, *y = b;
    if (x->desc != y->desc)
        return x->desc < y->desc ? -1 : 1;
    return (int)x->rank - (int)y->rank;
}

static cse_code on_concept(void *ctx, const rf2_row *r, long line, cse_error *err)
{
    struct build *b = ctx;
    struct crow c = {r->id, r->effective, b->seq++, r->active};
    return vec_push(&b->concepts, &c) ? CSE_OK : nomem(err, b->source, line);
}

static cse_code on_language(void *ctx, const rf2_row *r, long line, cse_error *err)
{
    struct build *b = ctx;
    struct pref p = {r->b, 0};

    if (!r->active || r->c != SCT_PREFERRED)
        return CSE_OK;
    if (r->a == SCT_UK_CLINICAL_LANG)
        p.rank = 1;
    else if (r->a == SCT_UK_DRUG_LANG)
        p.rank = 2;
    else
        return CSE_OK;
    return vec_push(&b->prefs, &p) ? CSE_OK : nomem(err, b->source, line);
}

static cse_code on_description(void *ctx, const rf2_row *r, long line, cse_error *err)
{
    struct build *b = ctx;
    struct drow d = {r->id, r->a, r->effective, b->seq++, 0, 0, 0, r->active};

    if (r->b == SCT_SYNONYM && b->prefs.n > 0) {
        /* The lowest rank for this description sorts first. */
        size_t lo = 0, hi = b->prefs.n;
        const struct pref *pv = (const struct pref *)b->prefs.p;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (pv[mid].desc < r->id)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo < b->prefs.n && pv[lo].desc == r->id) {
            if (b->terms.n + r->term_len + 1 > UINT32_MAX)
                return cse__error_set(err, CSE_ERR_LIMIT, (int)line, b->source, NULL,
                                      "preferred terms larger than 4 GiB");
            d.term_off = (uint32_t)b->terms.n;
            d.term_len = (uint32_t)r->term_len;
            d.rank = pv[lo].rank;
            for (size_t i = 0; i < r->term_len; i++)
                if (!vec_push(&b->terms, &r->term[i]))
                    return nomem(err, b->source, line);
        }
    }
    return vec_push(&b->descs, &d) ? CSE_OK : nomem(err, b->source, line);
}

static cse_code on_relationship(void *ctx, const rf2_row *r, long line, cse_error *err)
{
    struct build *b = ctx;
    struct edge e = {r->a, r->b};

    /* Every is-a row, active or not, as the adaptor's view takes them. */
    if (r->c != SCT_IS_A)
        return CSE_OK;
    return vec_push(&b->edges, &e) ? CSE_OK : nomem(err, b->source, line);
}

static cse_code parse_file(const struct srcfile *f, struct build *b, cse_error *err)
{
    static const rf2_row_fn fns[RF2_KINDS] = {on_concept, on_description, on_relationship,
                                              on_language};
    int fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    void *map = NULL;
    cse_code rc;

    if (fd < 0)
        return cse__error_set(err, CSE_ERR_IO, 0, f->path, NULL,
                              "cannot open the RF2 %s file: %s",
                              cse__rf2_kind_name(f->kind), strerror(errno));
    if (fstat(fd, &st) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, f->path, NULL, "cannot read: %s",
                            strerror(errno));
        close(fd);
        return rc;
    }
    if (st.st_size > 0) {
        map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED) {
            rc = cse__error_set(err, CSE_ERR_IO, 0, f->path, NULL, "cannot map: %s",
                                strerror(errno));
            close(fd);
            return rc;
        }
        (void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
    }
    close(fd);
    b->source = f->path;
    rc = cse__rf2_parse(f->kind, map, (size_t)st.st_size, f->path, fns[f->kind], b, err);
    b->source = NULL;
    if (map != NULL)
        munmap(map, (size_t)st.st_size);
    return rc;
}

static int cmp_crow(const void *a, const void *b)
{
    const struct crow *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->effective != y->effective)
        return x->effective > y->effective ? -1 : 1; /* latest first */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_drow(const void *a, const void *b)
{
    const struct drow *x = a, *y = b;
    if (x->id != y->id)
        return x->id < y->id ? -1 : 1;
    if (x->effective != y->effective)
        return x->effective > y->effective ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_edge_dst(const void *a, const void *b)
{
    const struct edge *x = a, *y = b;
    if (x->dst != y->dst)
        return x->dst < y->dst ? -1 : 1;
    return x->src < y->src ? -1 : x->src > y->src;
}

static bool is_root(uint64_t id)
{
    for (size_t i = 0; i < sizeof(immunisation_roots) / sizeof(*immunisation_roots); i++)
        if (immunisation_roots[i] == id)
            return true;
    return false;
}

/* An open-addressing set of ids, for the closure walk. */
struct idset {
    uint64_t *slot;
    size_t cap, n;
};

static bool idset_add(struct idset *s, uint64_t id, bool *added)
{
    size_t i;

    *added = false;
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        uint64_t *slot = calloc(cap, sizeof(*slot));
        if (slot == NULL)
            return false;
        for (size_t j = 0; j < s->cap; j++) {
            if (s->slot[j] == 0)
                continue;
            for (i = (size_t)(s->slot[j] * 0x9e3779b97f4a7c15ull) & (cap - 1); slot[i];
                 i = (i + 1) & (cap - 1))
                ;
            slot[i] = s->slot[j];
        }
        free(s->slot);
        s->slot = slot;
        s->cap = cap;
    }
    for (i = (size_t)(id * 0x9e3779b97f4a7c15ull) & (s->cap - 1); s->slot[i];
         i = (i + 1) & (s->cap - 1))
        if (s->slot[i] == id)
            return true;
    s->slot[i] = id;
    s->n++;
    *added = true;
    return true;
}

/* The adaptor's immunization_codes: the sources of is-a rows that point at
 * a root or start at one, then, repeatedly, the sources of is-a rows that
 * point at anything already in. Returns the sorted ids in *out. */
static cse_code immunisation_closure(struct vec *edges, struct vec *out, cse_error *err)
{
    struct edge *e = (struct edge *)edges->p;
    struct idset set = {0};
    struct vec queue = {NULL, 0, 0, sizeof(uint64_t)};
    cse_code rc = CSE_OK;
    bool added;

    sort(e, edges->n, sizeof(*e), cmp_edge_dst);
    for (size_t i = 0; i < edges->n; i++) {
        if (!is_root(e[i].dst) && !is_root(e[i].src))
            continue;
        if (!idset_add(&set, e[i].src, &added) || (added && !vec_push(&queue, &e[i].src)))
            goto oom;
    }
    for (size_t q = 0; q < queue.n; q++) {
        uint64_t parent = ((uint64_t *)queue.p)[q];
        size_t lo = 0, hi = edges->n;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (e[mid].dst < parent)
                lo = mid + 1;
            else
                hi = mid;
        }
        for (; lo < edges->n && e[lo].dst == parent; lo++)
            if (!idset_add(&set, e[lo].src, &added) ||
                (added && !vec_push(&queue, &e[lo].src)))
                goto oom;
    }
    sort(queue.p, queue.n, sizeof(uint64_t), cmp_u64);
    *out = queue;
    queue.p = NULL;
    goto out;
oom:
    rc = nomem(err, NULL, 0);
out:
    free(queue.p);
    free(set.slot);
    return rc;
}

static size_t align8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Builds the index image from the release files. */
static cse_code build_image(const struct srclist *l, uint64_t fp, unsigned char **image,
                            size_t *image_size, cse_error *err)
{
    struct build b = {.concepts = {NULL, 0, 0, sizeof(struct crow)},
                      .descs = {NULL, 0, 0, sizeof(struct drow)},
                      .edges = {NULL, 0, 0, sizeof(struct edge)},
                      .prefs = {NULL, 0, 0, sizeof(struct pref)},
                      .terms = {NULL, 0, 0, 1}};
    struct vec immun = {NULL, 0, 0, sizeof(uint64_t)};
    struct crow *cr;
    struct drow *dr;
    uint32_t *term_of = NULL; /* per concept: index of its term's drow + 1 */
    size_t nc = 0, nd = 0, pool = 1, nterms = 0, size, off_c, off_d, off_i, off_p;
    unsigned char *img = NULL;
    struct idx_header h;
    cse_code rc = CSE_OK;

    /* The language files first, so that descriptions keep only the terms
     * that will be preferred. */
    for (int i = 0; i < l->n && rc == CSE_OK; i++)
        if (l->f[i].kind == RF2_LANGUAGE)
            rc = parse_file(&l->f[i], &b, err);
    if (rc != CSE_OK)
        goto out;
    sort(b.prefs.p, b.prefs.n, sizeof(struct pref), cmp_pref);
    for (int i = 0; i < l->n && rc == CSE_OK; i++)
        if (l->f[i].kind != RF2_LANGUAGE)
            rc = parse_file(&l->f[i], &b, err);
    if (rc != CSE_OK)
        goto out;
    rc = immunisation_closure(&b.edges, &immun, err);
    if (rc != CSE_OK)
        goto out;

    /* Concepts and descriptions: one row per id, the latest. */
    cr = (struct crow *)b.concepts.p;
    sort(cr, b.concepts.n, sizeof(*cr), cmp_crow);
    for (size_t i = 0; i < b.concepts.n; i++)
        if (nc == 0 || cr[nc - 1].id != cr[i].id)
            cr[nc++] = cr[i];
    dr = (struct drow *)b.descs.p;
    sort(dr, b.descs.n, sizeof(*dr), cmp_drow);
    for (size_t i = 0; i < b.descs.n; i++)
        if (nd == 0 || dr[nd - 1].id != dr[i].id)
            dr[nd++] = dr[i];

    /* Each concept's preferred term: an active preferred synonym, clinical
     * reference set before drug. */
    term_of = calloc(nc ? nc : 1, sizeof(*term_of));
    if (term_of == NULL) {
        rc = nomem(err, NULL, 0);
        goto out;
    }
    for (size_t i = 0; i < nd; i++) {
        size_t lo = 0, hi = nc;
        if (!dr[i].active || dr[i].rank == 0)
            continue;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (cr[mid].id < dr[i].concept)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (lo == nc || cr[lo].id != dr[i].concept)
            continue;
        if (term_of[lo] == 0 || dr[term_of[lo] - 1].rank > dr[i].rank)
            term_of[lo] = (uint32_t)(i + 1);
    }
    for (size_t i = 0; i < nc; i++)
        if (term_of[i]) {
            pool += dr[term_of[i] - 1].term_len + 1;
            nterms++;
        }
    if (pool > UINT32_MAX || nd > UINT32_MAX) {
        rc = cse__error_set(err, CSE_ERR_LIMIT, 0, NULL, NULL,
                            "the SNOMED CT index would exceed 4 GiB of terms");
        goto out;
    }

    off_c = align8(sizeof(h));
    off_d = align8(off_c + nc * sizeof(struct idx_concept));
    off_i = align8(off_d + nd * sizeof(struct idx_desc));
    off_p = align8(off_i + immun.n * 8);
    size = off_p + pool;
    img = calloc(1, size);
    if (img == NULL) {
        rc = nomem(err, NULL, 0);
        goto out;
    }
    {
        struct idx_concept *oc = (struct idx_concept *)(img + off_c);
        struct idx_desc *od = (struct idx_desc *)(img + off_d);
        char *op = (char *)(img + off_p);
        size_t used = 1; /* offset 0 is the empty string */

        for (size_t i = 0; i < nc; i++) {
            oc[i].id = cr[i].id;
            oc[i].flags = cr[i].active ? CF_ACTIVE : 0;
            if (term_of[i]) {
                const struct drow *d = &dr[term_of[i] - 1];
                oc[i].flags |= CF_TERM;
                oc[i].term = (uint32_t)used;
                memcpy(op + used, b.terms.p + d->term_off, d->term_len);
                used += d->term_len + 1;
            }
        }
        for (size_t i = 0; i < nd; i++) {
            od[i].id = dr[i].id;
            od[i].concept = dr[i].concept | (dr[i].active ? DESC_ACTIVE : 0);
        }
        if (immun.n)
            memcpy(img + off_i, immun.p, immun.n * 8);
    }
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, IDX_MAGIC, 8);
    h.version = IDX_VERSION;
    h.header_size = sizeof(h);
    h.endian = IDX_ENDIAN;
    h.file_size = size;
    h.fingerprint = fp;
    h.n_concepts = nc;
    h.off_concepts = off_c;
    h.n_desc = nd;
    h.off_desc = off_d;
    h.n_immun = immun.n;
    h.off_immun = off_i;
    h.pool_size = pool;
    h.off_pool = off_p;
    h.n_terms = nterms;
    h.body_checksum = checksum(img + sizeof(h), size - sizeof(h));
    memcpy(img, &h, sizeof(h));
    h.header_checksum =
        fnv(0xcbf29ce484222325ull, img, offsetof(struct idx_header, header_checksum));
    memcpy(img, &h, sizeof(h));
    *image = img;
    *image_size = size;
    img = NULL;
out:
    free(img);
    free(term_of);
    free(b.concepts.p);
    free(b.descs.p);
    free(b.edges.p);
    free(b.prefs.p);
    free(b.terms.p);
    free(immun.p);
    return rc;
}

/* Writes the image through a temporary file in the same folder and a
 * rename, so that no reader ever maps half a cache. */
static bool write_cache(const char *path, const unsigned char *img, size_t size)
{
    size_t len = strlen(path);
    char *tmp = malloc(len + 16);
    size_t done = 0;
    int fd;
    bool ok = false;

    if (tmp == NULL)
        return false;
    memcpy(tmp, path, len);
    memcpy(tmp + len, ".tmp.XXXXXX", 12);
    fd = mkstemp(tmp);
    if (fd < 0) {
        free(tmp);
        return false;
    }
    while (done < size) {
        ssize_t n = write(fd, img + done, size - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        done += (size_t)n;
    }
    ok = done == size && fsync(fd) == 0;
    if (close(fd) != 0)
        ok = false;
    if (ok && rename(tmp, path) != 0)
        ok = false;
    if (!ok)
        unlink(tmp);
    free(tmp);
    return ok;
}

/* ---- the public API --------------------------------------------------- */

cse_snomed *cse_snomed_open(const char *dir, const char *cache_path, unsigned flags,
                            cse_error *err)
{
    struct srclist files = {0};
    cse_snomed *s = NULL;
    uint64_t fp;
    cse_snomed_cache_state state = CSE_SNOMED_CACHE_BUILT;
    unsigned char *img = NULL;
    size_t img_size = 0;
    cse_code rc;

    if (dir == NULL || *dir == '\0') {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                       "no SNOMED CT release folder given");
        return NULL;
    }
    if (find_files(&files, dir, err) != CSE_OK)
        goto fail;
    fp = fingerprint(&files);
    s = calloc(1, sizeof(*s));
    if (s == NULL)
        goto oom;
    s->cache_path = cache_path ? strdup(cache_path) : join(dir, CSE_SNOMED_CACHE_NAME);
    if (s->cache_path == NULL)
        goto oom;

    if (!(flags & CSE_SNOMED_REBUILD)) {
        int fd = open(s->cache_path, O_RDONLY | O_CLOEXEC);
        struct stat st;

        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
            close(fd);
            cse__error_set(err, CSE_ERR_IO, 0, s->cache_path, NULL,
                           "the SNOMED CT cache path is a folder");
            goto fail;
        }
        if (fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
            void *map = NULL;
            const char *why = "empty file";
            img_state is = IMG_CORRUPT;

            if (st.st_size > 0) {
                map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
                if (map == MAP_FAILED)
                    map = NULL;
            }
            if (map != NULL)
                is = check_image(s, map, (size_t)st.st_size, &why);
            if (is == IMG_OK && s->fingerprint != fp) {
                is = IMG_VERSION;
                why = "built from other RF2 files, or before they changed (stale)";
            }
            if (is == IMG_OK) {
                close(fd);
                s->map = map;
                s->map_size = (size_t)st.st_size;
                s->state = CSE_SNOMED_CACHE_REUSED;
                srclist_free(&files);
                return s;
            }
            if (map != NULL)
                munmap(map, (size_t)st.st_size);
            close(fd);
            if (is == IMG_FOREIGN) {
                cse__error_set(err, CSE_ERR_IO, 0, s->cache_path, NULL,
                               "exists and is not a csemarker SNOMED CT cache: not "
                               "overwriting it (name another cache file)");
                goto fail;
            }
            if (flags & CSE_SNOMED_CACHE_STRICT) {
                cse__error_set(
                    err, is == IMG_VERSION ? CSE_ERR_VERSION : CSE_ERR_INTEGRITY, 0,
                    s->cache_path, NULL, "SNOMED CT cache refused: %s; rebuild it", why);
                goto fail;
            }
            state = s->fingerprint != fp && is == IMG_VERSION && s->base != NULL
                        ? CSE_SNOMED_CACHE_REBUILT_STALE
                        : CSE_SNOMED_CACHE_REBUILT_CORRUPT;
            memset(s, 0, offsetof(struct cse_snomed, state));
        } else if (fd >= 0) {
            close(fd);
        }
    }

    rc = build_image(&files, fp, &img, &img_size, err);
    if (rc != CSE_OK)
        goto fail;
    {
        const char *why;
        if (check_image(s, img, img_size, &why) != IMG_OK) {
            free(img);
            cse__error_set(err, CSE_ERR_INTERNAL, 0, dir, NULL,
                           "the SNOMED CT index built fails its own check: %s", why);
            goto fail;
        }
        s->owned = img;
    }
    if ((flags & CSE_SNOMED_NO_CACHE_WRITE) || !write_cache(s->cache_path, img, img_size))
        state = CSE_SNOMED_CACHE_NOT_WRITTEN;
    s->state = state;
    srclist_free(&files);
    return s;
oom:
    cse__error_set(err, CSE_ERR_NOMEM, 0, dir, NULL, "out of memory");
fail:
    srclist_free(&files);
    cse_snomed_free(s);
    return NULL;
}

void cse_snomed_free(cse_snomed *s)
{
    if (s == NULL)
        return;
    if (s->map != NULL)
        munmap(s->map, s->map_size);
    free(s->owned);
    free(s->cache_path);
    free(s);
}

cse_snomed_cache_state cse_snomed_cache_status(const cse_snomed *s)
{
    return s ? s->state : CSE_SNOMED_CACHE_NOT_WRITTEN;
}

const char *cse_snomed_cache_path(const cse_snomed *s)
{
    return s ? s->cache_path : NULL;
}

void cse_snomed_get_stats(const cse_snomed *s, cse_snomed_stats *out)
{
    if (out == NULL)
        return;
    memset(out, 0, sizeof(*out));
    if (s == NULL)
        return;
    out->concepts = s->n_concepts;
    out->descriptions = s->n_desc;
    out->immunisation_concepts = s->n_immun;
    out->preferred_terms = s->n_terms;
}

static const struct idx_concept *find_concept(const cse_snomed *s, uint64_t id)
{
    uint64_t lo = 0, hi = s->n_concepts;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->concepts[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_concepts && s->concepts[lo].id == id ? &s->concepts[lo] : NULL;
}

static const struct idx_desc *find_desc(const cse_snomed *s, uint64_t id)
{
    uint64_t lo = 0, hi = s->n_desc;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (s->descs[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->n_desc && s->descs[lo].id == id ? &s->descs[lo] : NULL;
}

static bool in_sorted(const uint64_t *v, uint64_t n, uint64_t id)
{
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (v[mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && v[lo] == id;
}

static uint64_t to_u64(const char *id)
{
    uint64_t v = 0;
    for (; *id; id++)
        v = v * 10 + (uint64_t)(*id - '0');
    return v;
}

/* Writes an id of at most 18 digits (every id in a checked image is). */
static void format_id(uint64_t v, char out[19])
{
    char tmp[20];
    int n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && n < 18);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    out[n] = '\0';
}

cse_code cse_snomed_lookup(const cse_snomed *s, const char *id,
                           cse_snomed_lookup_result *out)
{
    cse_sctid_kind kind;
    uint64_t v, concept;
    const struct idx_concept *c;

    if (out == NULL || id == NULL)
        return CSE_ERR_INVALID_ARG;
    memset(out, 0, sizeof(*out));
    kind = cse_sctid_classify(id);
    if (kind == CSE_SCTID_INVALID) {
        out->found = CSE_SNOMED_MALFORMED;
        return CSE_OK;
    }
    if (s == NULL || kind == CSE_SCTID_RELATIONSHIP)
        return CSE_OK;
    v = to_u64(id);
    if (kind == CSE_SCTID_CONCEPT) {
        c = find_concept(s, v);
        if (c == NULL)
            return CSE_OK;
        out->found = CSE_SNOMED_CONCEPT;
        concept = v;
    } else {
        const struct idx_desc *d = find_desc(s, v);
        if (d == NULL)
            return CSE_OK;
        out->found = CSE_SNOMED_DESCRIPTION;
        out->description_active = (d->concept & DESC_ACTIVE) != 0;
        concept = d->concept & ~DESC_ACTIVE;
        c = find_concept(s, concept);
    }
    format_id(concept, out->concept_id);
    if (c != NULL) {
        out->concept_known = true;
        out->concept_active = (c->flags & CF_ACTIVE) != 0;
        if (c->flags & CF_TERM)
            out->preferred_term = s->pool + c->term;
    }
    return CSE_OK;
}

bool cse_snomed_is_immunisation(const cse_snomed *s, const char *id)
{
    cse_sctid_kind kind = cse_sctid_classify(id);
    uint64_t v;

    if (kind != CSE_SCTID_CONCEPT && kind != CSE_SCTID_DESCRIPTION)
        return false;
    v = to_u64(id);
    if (s == NULL)
        return kind == CSE_SCTID_CONCEPT &&
               in_sorted(fallback_immunisation,
                         sizeof(fallback_immunisation) / sizeof(*fallback_immunisation),
                         v);
    if (kind == CSE_SCTID_DESCRIPTION) {
        const struct idx_desc *d = find_desc(s, v);
        if (d == NULL)
            return false;
        v = d->concept & ~DESC_ACTIVE;
    }
    return in_sorted(s->immun, s->n_immun, v);
}

bool cse_snomed_concept_is_immunisation(const cse_snomed *s, const cse_concept *c)
{
    if (c == NULL || c->codings == NULL)
        return false;
    if (c->n > 1 && cse_snomed_is_immunisation(s, c->codings[1].code))
        return true;
    return c->n > 0 && cse_snomed_is_immunisation(s, c->codings[0].code);
}
