/* SPDX-License-Identifier: MIT */
/* SNOMED CT from an RF2 snapshot: lookups, immunisations, the cache, hostile
 * release files. The release is the synthetic one in test-fixtures/snomed
 * (written by its generate.py); every cache goes to a temporary folder. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <csemarker/snomed.h>

#include "rf2.h"
#include "testutil.h"

/* Ids from test-fixtures/snomed/ids.txt and its description files. */
#define C_VAX "10019999999102"
#define C_BOOSTER "10029999999109"
#define C_RETIRED "10039999999106"
#define C_NOT_VAX "10049999999101"
#define C_STATUS "10059999999103"
#define C_PRODUCT "10069999999100"
#define C_CHANGED "10079999999108"
#define D_MARKER_PREFERRED "30249999999119" /* 716565009 "At risk of CSE" */
#define D_RETIRED_SYN "39009999999119"
#define D_ACCEPTABLE_SYN "39019999999117"
#define D_BOOSTER_SYN "30349999999110"
#define D_NOT_VAX_SYN "30389999999118"

#define INT_TERM "SnomedCT_SyntheticINT_TEST_20250101/Snapshot/Terminology/"
#define CONCEPT_FILE INT_TERM "sct2_Concept_Snapshot_INT_20250101.txt"
#define DESC_FILE INT_TERM "sct2_Description_Snapshot-en_INT_20250101.txt"
#define REL_FILE INT_TERM "sct2_Relationship_Snapshot_INT_20250101.txt"

static char fixture[1024];
static char tmp[64];
static char cache[1100];

static void setup(void)
{
    snprintf(fixture, sizeof(fixture), "%s/test-fixtures/snomed", test_srcdir());
    snprintf(tmp, sizeof(tmp), "/tmp/check-snomed.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
    snprintf(cache, sizeof(cache), "%s/cache.idx", tmp);
}

static void teardown(void)
{
    char cmd[200];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(cmd), 0);
}

static cse_snomed *open_fixture(unsigned flags)
{
    cse_error err;
    cse_snomed *s;
    char buf[1400];

    cse_error_clear(&err);
    s = cse_snomed_open(fixture, cache, flags, &err);
    ck_assert_msg(s != NULL, "%s", cse_error_format(&err, buf, sizeof(buf)));
    return s;
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* Copies the INT package's three terminology files flat into tmp/rel. */
static void flat_release(const char *rel, char *out, size_t size)
{
    static const char *const files[] = {CONCEPT_FILE, DESC_FILE, REL_FILE};
    char src[1400], dst[1400];

    snprintf(out, size, "%s/%s", tmp, rel);
    ck_assert_int_eq(mkdir(out, 0700), 0);
    for (size_t i = 0; i < 3; i++) {
        size_t len;
        char *text;
        snprintf(src, sizeof(src), "%s/%s", fixture, files[i]);
        snprintf(dst, sizeof(dst), "%s/%s", out, strrchr(files[i], '/') + 1);
        text = read_all(src, &len);
        write_file(dst, text, len);
        free(text);
    }
}

START_TEST(test_snomed_description_to_concept)
{
    cse_snomed *s = open_fixture(0);
    cse_snomed_lookup_result r;
    cse_snomed_stats st;

    ck_assert_int_eq(cse_snomed_lookup(s, D_MARKER_PREFERRED, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_DESCRIPTION);
    ck_assert_str_eq(r.concept_id, "716565009");
    ck_assert(r.concept_known && r.concept_active && r.description_active);
    ck_assert_str_eq(r.preferred_term, "At risk of child sexual exploitation");
    /* An acceptable synonym resolves to the same concept and term. */
    ck_assert_int_eq(cse_snomed_lookup(s, D_ACCEPTABLE_SYN, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_DESCRIPTION);
    ck_assert_str_eq(r.concept_id, "716565009");
    ck_assert_str_eq(r.preferred_term, "At risk of child sexual exploitation");
    /* A concept id is found as itself. */
    ck_assert_int_eq(cse_snomed_lookup(s, "713834002", &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_CONCEPT);
    ck_assert_str_eq(r.concept_id, "713834002");
    ck_assert_str_eq(r.preferred_term, "Victim of child sexual exploitation");
    /* Not in the release, malformed, a relationship id, NULL. */
    ck_assert_int_eq(cse_snomed_lookup(s, "2793879015", &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_UNKNOWN);
    ck_assert_str_eq(r.concept_id, "");
    ck_assert_int_eq(cse_snomed_lookup(s, "716565008", &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_MALFORMED);
    ck_assert_int_eq(cse_snomed_lookup(s, "", &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_MALFORMED);
    ck_assert_int_eq(cse_snomed_lookup(s, NULL, &r), CSE_ERR_INVALID_ARG);
    ck_assert_int_eq(cse_snomed_lookup(s, "716565009", NULL), CSE_ERR_INVALID_ARG);
    /* The UK package is merged in: its concept, its drug-refset term. */
    ck_assert_int_eq(cse_snomed_lookup(s, C_PRODUCT, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_CONCEPT);
    ck_assert_str_eq(r.preferred_term, "SYNTHETIC vaccine product");
    /* The preferred term is the active preferred synonym, not the one whose
     * language row was inactivated, and never the FSN. */
    ck_assert_int_eq(cse_snomed_lookup(s, C_VAX, &r), CSE_OK);
    ck_assert_str_eq(r.preferred_term, "SYNTHETIC vaccination procedure");
    cse_snomed_get_stats(s, &st);
    /* 23 concepts of the synthetic release's own, and the 9 stand-ins for
     * the PWTP immunisation codes (generate.py), each with two terms. */
    ck_assert_uint_eq(st.concepts, 23 + 9);
    ck_assert_uint_eq(st.descriptions, 49 + 18);
    ck_assert_uint_eq(st.preferred_terms, 23 + 9);
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_inactive_rows)
{
    cse_snomed *s = open_fixture(0);
    cse_snomed_lookup_result r;

    /* An inactive description still resolves, and says it is inactive. */
    ck_assert_int_eq(cse_snomed_lookup(s, D_RETIRED_SYN, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_DESCRIPTION);
    ck_assert_str_eq(r.concept_id, "716565009");
    ck_assert(!r.description_active);
    ck_assert(r.concept_active);
    /* An inactive concept. */
    ck_assert_int_eq(cse_snomed_lookup(s, C_RETIRED, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_CONCEPT);
    ck_assert(r.concept_known && !r.concept_active);
    /* Active in the International file, inactivated later by the extension:
     * the latest row wins, whichever file is read first. */
    ck_assert_int_eq(cse_snomed_lookup(s, C_CHANGED, &r), CSE_OK);
    ck_assert(r.concept_known && !r.concept_active);
    ck_assert_int_eq(cse_snomed_lookup(s, "716565009", &r), CSE_OK);
    ck_assert(r.concept_active);
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_immunisation_hierarchy)
{
    static const char *const roots[] = {"787859002", "127785005", "304250009",
                                        "90351000119108", "713404003"};
    cse_snomed *s = open_fixture(0);
    cse_snomed_stats st;

    for (size_t i = 0; i < 5; i++)
        ck_assert_msg(cse_snomed_is_immunisation(s, roots[i]), "%s", roots[i]);
    ck_assert(cse_snomed_is_immunisation(s, C_VAX));
    /* Two is-a steps below the root. */
    ck_assert(cse_snomed_is_immunisation(s, C_BOOSTER));
    /* A description of an immunisation concept is an immunisation code. */
    ck_assert(cse_snomed_is_immunisation(s, D_BOOSTER_SYN));
    /* Only an inactive is-a connects it: the adaptor counts it. */
    ck_assert(cse_snomed_is_immunisation(s, C_RETIRED));
    ck_assert(cse_snomed_is_immunisation(s, C_STATUS));
    /* Below the vaccine product root, from the UK package. */
    ck_assert(cse_snomed_is_immunisation(s, C_PRODUCT));
    /* An attribute relationship is not is-a; the stated relationship file
     * (which would make it one) is not read. */
    ck_assert(!cse_snomed_is_immunisation(s, C_NOT_VAX));
    ck_assert(!cse_snomed_is_immunisation(s, D_NOT_VAX_SYN));
    /* Parents of roots, markers, unknown, malformed, NULL. */
    ck_assert(!cse_snomed_is_immunisation(s, "71388002"));
    ck_assert(!cse_snomed_is_immunisation(s, "138875005"));
    ck_assert(!cse_snomed_is_immunisation(s, "716565009"));
    ck_assert(!cse_snomed_is_immunisation(s, D_MARKER_PREFERRED));
    ck_assert(!cse_snomed_is_immunisation(s, "2793879015"));
    ck_assert(!cse_snomed_is_immunisation(s, "787859003"));
    ck_assert(!cse_snomed_is_immunisation(s, NULL));
    cse_snomed_get_stats(s, &st);
    /* 5 roots + C_VAX, C_BOOSTER, C_RETIRED, C_STATUS, C_PRODUCT, and the
     * 9 PWTP stand-ins. */
    ck_assert(cse_snomed_is_immunisation(s, "38598009"));
    ck_assert(cse_snomed_is_immunisation(s, "247641000000105"));
    ck_assert_uint_eq(st.immunisation_concepts, 10 + 9);
    cse_snomed_free(s);
}
END_TEST

/* The adaptor tests the first translation, then the code. */
START_TEST(test_snomed_statement_code)
{
    cse_snomed *s = open_fixture(0);
    cse_concept c = {0};

    ck_assert(!cse_snomed_concept_is_immunisation(s, NULL));
    ck_assert(!cse_snomed_concept_is_immunisation(s, &c));
    /* A Read v2 code with the SNOMED concept as its translation. */
    ck_assert_int_eq(cse_concept_add(&c, "http://read.info/readv2", "65E..00", NULL),
                     CSE_OK);
    ck_assert(!cse_snomed_concept_is_immunisation(s, &c));
    ck_assert_int_eq(cse_concept_add(&c, "http://snomed.info/sct", C_BOOSTER, NULL),
                     CSE_OK);
    ck_assert(cse_snomed_concept_is_immunisation(s, &c));
    ck_assert(!cse_snomed_concept_is_immunisation(NULL, &c));
    cse_concept_clear(&c);
    /* The code itself, and a later translation that is not looked at. */
    ck_assert_int_eq(cse_concept_add(&c, "http://snomed.info/sct", D_BOOSTER_SYN, NULL),
                     CSE_OK);
    ck_assert(cse_snomed_concept_is_immunisation(s, &c));
    cse_concept_clear(&c);
    ck_assert_int_eq(cse_concept_add(&c, "http://snomed.info/sct", "716565009", NULL),
                     CSE_OK);
    ck_assert_int_eq(cse_concept_add(&c, "http://snomed.info/sct", "71388002", NULL),
                     CSE_OK);
    ck_assert_int_eq(cse_concept_add(&c, "http://snomed.info/sct", C_VAX, NULL), CSE_OK);
    ck_assert(!cse_snomed_concept_is_immunisation(s, &c));
    cse_concept_clear(&c);
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_fallback_without_release)
{
    /* The adaptor's own load check: these sixteen are immunisation codes. */
    static const char *const codes[] = {
        "787859002",        "127785005",        "304250009",       "90351000119108",
        "713404003",        "2997511000001102", "308101000000104", "1036721000000101",
        "1373691000000102", "945831000000105",  "542931000000103", "735981009",
        "90640007",         "571631000119106",  "764141000000106", "170399005"};
    cse_snomed_lookup_result r;

    for (size_t i = 0; i < sizeof(codes) / sizeof(*codes); i++) {
        ck_assert_int_eq(cse_sctid_classify(codes[i]), CSE_SCTID_CONCEPT);
        ck_assert_msg(cse_snomed_is_immunisation(NULL, codes[i]), "%s", codes[i]);
    }
    /* Below a root, but only a release can say so. */
    ck_assert(!cse_snomed_is_immunisation(NULL, C_VAX));
    ck_assert(!cse_snomed_is_immunisation(NULL, "716565009"));
    ck_assert(!cse_snomed_is_immunisation(NULL, "787859003"));
    /* Description ids stay unresolved. */
    ck_assert_int_eq(cse_snomed_lookup(NULL, D_MARKER_PREFERRED, &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_UNKNOWN);
    ck_assert_str_eq(r.concept_id, "");
    ck_assert_ptr_null(r.preferred_term);
    ck_assert_int_eq(cse_snomed_lookup(NULL, "12345", &r), CSE_OK);
    ck_assert_int_eq(r.found, CSE_SNOMED_MALFORMED);
    ck_assert_int_eq(cse_snomed_cache_status(NULL), CSE_SNOMED_CACHE_NOT_WRITTEN);
    ck_assert_ptr_null(cse_snomed_cache_path(NULL));
    cse_snomed_free(NULL);
}
END_TEST

START_TEST(test_snomed_cache_build_and_reuse)
{
    cse_snomed *s = open_fixture(0), *t;
    cse_snomed_lookup_result r1, r2;
    struct stat st;
    size_t len1, len2;
    char *a, *b;

    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_BUILT);
    ck_assert_str_eq(cse_snomed_cache_path(s), cache);
    ck_assert_int_eq(stat(cache, &st), 0);
    a = read_all(cache, &len1);
    t = open_fixture(0);
    ck_assert_int_eq(cse_snomed_cache_status(t), CSE_SNOMED_CACHE_REUSED);
    ck_assert_int_eq(cse_snomed_lookup(s, D_MARKER_PREFERRED, &r1), CSE_OK);
    ck_assert_int_eq(cse_snomed_lookup(t, D_MARKER_PREFERRED, &r2), CSE_OK);
    ck_assert_str_eq(r2.concept_id, r1.concept_id);
    ck_assert_str_eq(r2.preferred_term, r1.preferred_term);
    ck_assert(cse_snomed_is_immunisation(t, C_BOOSTER));
    ck_assert(!cse_snomed_is_immunisation(t, C_NOT_VAX));
    cse_snomed_free(t);
    /* A forced rebuild writes the same bytes: the index is deterministic. */
    t = open_fixture(CSE_SNOMED_REBUILD);
    ck_assert_int_eq(cse_snomed_cache_status(t), CSE_SNOMED_CACHE_BUILT);
    b = read_all(cache, &len2);
    ck_assert_uint_eq(len1, len2);
    ck_assert(memcmp(a, b, len1) == 0);
    /* No temporary file is left beside it. */
    {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "test $(ls -A '%s' | wc -l) -eq 1", tmp);
        ck_assert_int_eq(system(cmd), 0);
    }
    free(a);
    free(b);
    cse_snomed_free(t);
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_cache_beside_release)
{
    char rel[1200], path[1400];
    cse_error err;
    cse_snomed *s;
    struct stat st;

    flat_release("flat", rel, sizeof(rel));
    cse_error_clear(&err);
    s = cse_snomed_open(rel, NULL, 0, &err);
    ck_assert_ptr_nonnull(s);
    snprintf(path, sizeof(path), "%s/" CSE_SNOMED_CACHE_NAME, rel);
    ck_assert_str_eq(cse_snomed_cache_path(s), path);
    ck_assert_int_eq(stat(path, &st), 0);
    /* Files laid out flat, as the adaptor's loader unpacks them. */
    ck_assert(cse_snomed_is_immunisation(s, C_BOOSTER));
    cse_snomed_free(s);
    ck_assert_int_eq(unlink(path), 0);
    s = cse_snomed_open(rel, NULL, CSE_SNOMED_NO_CACHE_WRITE, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_NOT_WRITTEN);
    ck_assert_int_ne(stat(path, &st), 0);
    ck_assert(cse_snomed_is_immunisation(s, C_BOOSTER));
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_cache_stale)
{
    char rel[1200], path[1400], file[1400];
    cse_error err;
    cse_snomed *s;
    struct timeval tv[2] = {{1000000000, 0}, {1000000000, 0}};

    flat_release("stale", rel, sizeof(rel));
    snprintf(path, sizeof(path), "%s/idx", tmp);
    s = cse_snomed_open(rel, path, 0, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_BUILT);
    cse_snomed_free(s);
    /* The same size, another modification time: a changed release. */
    snprintf(file, sizeof(file), "%s/%s", rel, strrchr(CONCEPT_FILE, '/') + 1);
    ck_assert_int_eq(utimes(file, tv), 0);
    cse_error_clear(&err);
    s = cse_snomed_open(rel, path, CSE_SNOMED_CACHE_STRICT, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, CSE_ERR_VERSION);
    ck_assert_str_eq(err.source, path);
    ck_assert_ptr_nonnull(strstr(err.message, "stale"));
    s = cse_snomed_open(rel, path, 0, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REBUILT_STALE);
    cse_snomed_free(s);
    s = cse_snomed_open(rel, path, CSE_SNOMED_CACHE_STRICT, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REUSED);
    cse_snomed_free(s);
    /* A file more (an extension unpacked beside it) is a change too. */
    snprintf(file, sizeof(file), "%s/sct2_Concept_Snapshot_XX_20250601.txt", rel);
    write_file(file, "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\r\n", 53);
    s = cse_snomed_open(rel, path, 0, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REBUILT_STALE);
    cse_snomed_free(s);
}
END_TEST

START_TEST(test_snomed_cache_corrupt)
{
    cse_snomed *s = open_fixture(0);
    size_t len, len2;
    char *good = read_all(cache, &len), *now;
    cse_error err;
    struct quiet q;

    cse_snomed_free(s);
    ck_assert_uint_gt(len, 256);
    /* One bit flipped in the body. */
    good[len - 40] ^= 1;
    write_file(cache, good, len);
    cse_error_clear(&err);
    stderr_begin(&q);
    s = cse_snomed_open(fixture, cache, CSE_SNOMED_CACHE_STRICT, &err);
    ck_assert_int_eq(stderr_end(&q), 0);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, CSE_ERR_INTEGRITY);
    ck_assert_str_eq(err.source, cache);
    ck_assert_ptr_nonnull(strstr(err.message, "checksum"));
    s = open_fixture(0);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REBUILT_CORRUPT);
    ck_assert(cse_snomed_is_immunisation(s, C_BOOSTER));
    cse_snomed_free(s);
    good[len - 40] ^= 1;
    /* Truncated, as by a full disk under another writer. */
    write_file(cache, good, len / 2);
    cse_error_clear(&err);
    s = cse_snomed_open(fixture, cache, CSE_SNOMED_CACHE_STRICT, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, CSE_ERR_INTEGRITY);
    s = open_fixture(0);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REBUILT_CORRUPT);
    cse_snomed_free(s);
    /* Another format version. */
    good[8] = 99;
    write_file(cache, good, len);
    cse_error_clear(&err);
    s = cse_snomed_open(fixture, cache, CSE_SNOMED_CACHE_STRICT, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, CSE_ERR_VERSION);
    s = open_fixture(0);
    ck_assert_int_eq(cse_snomed_cache_status(s), CSE_SNOMED_CACHE_REBUILT_CORRUPT);
    cse_snomed_free(s);
    /* Not a cache at all: refused, and left as it was. */
    write_file(cache, "patient notes\n", 14);
    cse_error_clear(&err);
    s = cse_snomed_open(fixture, cache, 0, &err);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_ptr_nonnull(strstr(err.message, "not overwriting"));
    now = read_all(cache, &len2);
    ck_assert_uint_eq(len2, 14);
    free(now);
    free(good);
}
END_TEST

/* Every single-byte change to a small index image is either refused or
 * opens into lookups that stay inside the image (run under ASan). */
START_TEST(test_snomed_image_bytes_flipped)
{
    cse_snomed *s = open_fixture(0);
    size_t len;
    char *img = read_all(cache, &len);
    unsigned accepted = 0;

    cse_snomed_free(s);
    s = cse__snomed_from_image(img, len, NULL);
    ck_assert_ptr_nonnull(s);
    cse_snomed_free(s);
    for (size_t i = 0; i < len; i++) {
        cse_snomed_lookup_result r;
        cse_error err;
        char *copy = malloc(len);

        ck_assert_ptr_nonnull(copy);
        memcpy(copy, img, len);
        copy[i] ^= (char)0x41;
        cse_error_clear(&err);
        s = cse__snomed_from_image(copy, len, &err);
        if (s != NULL) {
            accepted++;
            cse_snomed_lookup(s, D_MARKER_PREFERRED, &r);
            cse_snomed_lookup(s, C_VAX, &r);
            cse_snomed_is_immunisation(s, C_BOOSTER);
            cse_snomed_free(s);
        } else {
            ck_assert_int_eq(err.code, CSE_ERR_INTEGRITY);
        }
        free(copy);
    }
    /* The checksums catch every one (the reserved header word aside). */
    ck_assert_uint_le(accepted, 4);
    free(img);
}
END_TEST

START_TEST(test_snomed_rf2_names)
{
    ck_assert(
        cse__rf2_name_matches(RF2_CONCEPT, "sct2_Concept_Snapshot_INT_20250101.txt"));
    ck_assert(cse__rf2_name_matches(RF2_CONCEPT,
                                    "sct2_Concept_UKCLSnapshot_GB1000000_20250401.txt"));
    ck_assert(
        cse__rf2_name_matches(RF2_CONCEPT, "xsct2_Concept_Snapshot_INT_20250101.txt"));
    ck_assert(cse__rf2_name_matches(RF2_DESCRIPTION,
                                    "sct2_Description_MONOSnapshot-en_GB_20250827.txt"));
    ck_assert(cse__rf2_name_matches(RF2_RELATIONSHIP,
                                    "sct2_Relationship_Snapshot_INT_20250101.txt"));
    ck_assert(cse__rf2_name_matches(
        RF2_LANGUAGE, "der2_cRefset_LanguageUKCLSnapshot-en_GB1000000_2025.txt"));
    ck_assert(!cse__rf2_name_matches(RF2_CONCEPT, "sct2_Concept_Delta_INT_20250101.txt"));
    ck_assert(!cse__rf2_name_matches(RF2_CONCEPT, "sct2_Concept_Full_INT_20250101.txt"));
    ck_assert(!cse__rf2_name_matches(
        RF2_RELATIONSHIP, "sct2_StatedRelationship_Snapshot_INT_20250101.txt"));
    ck_assert(!cse__rf2_name_matches(
        RF2_RELATIONSHIP, "sct2_RelationshipConcreteValues_Snapshot_INT_20250101.txt"));
    ck_assert(!cse__rf2_name_matches(RF2_DESCRIPTION,
                                     "sct2_TextDefinition_Snapshot-en_INT_20250101.txt"));
    ck_assert(
        !cse__rf2_name_matches(RF2_CONCEPT, "sct2_Concept_Snapshot_INT_20250101.zip"));
    ck_assert(!cse__rf2_name_matches(RF2_CONCEPT, "sct2_Concept_Snapshot"));
}
END_TEST

struct hostile {
    const char *file; /* which of the three flat files is replaced */
    const char *text;
    cse_code code;
    int line;
    const char *path;
    const char *message;
};

#define CONCEPT_HEADER "id\teffectiveTime\tactive\tmoduleId\tdefinitionStatusId\r\n"
#define DESC_HEADER                                                                      \
    "id\teffectiveTime\tactive\tmoduleId\tconceptId\tlanguageCode\ttypeId\tterm\t"       \
    "caseSignificanceId\r\n"
#define REL_HEADER                                                                       \
    "id\teffectiveTime\tactive\tmoduleId\tsourceId\tdestinationId\trelationshipGroup\t"  \
    "typeId\tcharacteristicTypeId\tmodifierId\r\n"
#define ROW_C "716565009\t20250101\t1\t10009999999104\t900000000000074008\r\n"

START_TEST(test_snomed_hostile_rf2)
{
    static const struct hostile cases[] = {
        {CONCEPT_FILE, "id,effectiveTime,active,moduleId,definitionStatusId\r\n" ROW_C,
         CSE_ERR_PARSE, 1, "",
         "not an RF2 concept file: the first line must be the header"},
        {CONCEPT_FILE, DESC_HEADER, CSE_ERR_PARSE, 1, "", "not an RF2 concept file"},
        {CONCEPT_FILE, "", CSE_ERR_PARSE, 1, "", "empty file: expected the RF2 concept"},
        {CONCEPT_FILE,
         CONCEPT_HEADER ROW_C "716565008\t20250101\t1\t10009999999104\t"
                              "900000000000074008\r\n",
         CSE_ERR_PARSE, 3, "id", "column 1 (id): expected a SNOMED CT concept id"},
        {CONCEPT_FILE,
         CONCEPT_HEADER "30249999999119\t20250101\t1\t10009999999104\t"
                        "900000000000074008\r\n",
         CSE_ERR_PARSE, 2, "id", "partition 00/10"},
        {CONCEPT_FILE,
         CONCEPT_HEADER "716565009\t20251301\t1\t10009999999104\t"
                        "900000000000074008\r\n",
         CSE_ERR_PARSE, 2, "effectiveTime", "expected a date YYYYMMDD"},
        {CONCEPT_FILE,
         CONCEPT_HEADER "716565009\t20250101\ttrue\t10009999999104\t"
                        "900000000000074008\r\n",
         CSE_ERR_PARSE, 2, "active", "expected 0 or 1"},
        {CONCEPT_FILE, CONCEPT_HEADER "716565009\t20250101\t1\t10009999999104\r\n",
         CSE_ERR_PARSE, 2, "", "4 columns where an RF2 concept row has 5"},
        {CONCEPT_FILE,
         CONCEPT_HEADER "716565009\t20250101\t1\t10009999999104\t"
                        "900000000000074008\textra\r\n",
         CSE_ERR_PARSE, 2, "", "more than the 5 columns"},
        {CONCEPT_FILE, CONCEPT_HEADER ROW_C "\r\n" ROW_C, CSE_ERR_PARSE, 3, "",
         "an empty line inside the file"},
        {DESC_FILE,
         DESC_HEADER "30249999999119\t20250101\t1\t10009999999104\t716565009\ten\t"
                     "900000000000013009\t\t900000000000448009\r\n",
         CSE_ERR_PARSE, 2, "term", "column 8 (term): expected a term"},
        {DESC_FILE,
         DESC_HEADER "30249999999119\t20250101\t1\t10009999999104\t"
                     "30249999999119\ten\t900000000000013009\tx\t"
                     "900000000000448009\r\n",
         CSE_ERR_PARSE, 2, "conceptId", "column 5 (conceptId)"},
        {REL_FILE,
         REL_HEADER "20019999999121\t20250101\t1\t10009999999104\t716565009\t"
                    "404684003\tone\t116680003\t900000000000011006\t"
                    "900000000000451002\r\n",
         CSE_ERR_PARSE, 2, "relationshipGroup", "expected a relationship group number"},
    };
    char rel[1200], file[1400], buf[1400];
    cse_error err;
    struct quiet q;

    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char name[32];
        snprintf(name, sizeof(name), "h%zu", i);
        flat_release(name, rel, sizeof(rel));
        snprintf(file, sizeof(file), "%s/%s", rel, strrchr(cases[i].file, '/') + 1);
        write_file(file, cases[i].text, strlen(cases[i].text));
        cse_error_clear(&err);
        stderr_begin(&q);
        ck_assert_ptr_null(cse_snomed_open(rel, NULL, 0, &err));
        ck_assert_int_eq(stderr_end(&q), 0);
        ck_assert_msg(err.code == cases[i].code, "case %zu: %s", i,
                      cse_error_format(&err, buf, sizeof(buf)));
        ck_assert_str_eq(err.source, file);
        ck_assert_int_eq(err.line, cases[i].line);
        ck_assert_str_eq(err.path, cases[i].path);
        ck_assert_msg(strstr(err.message, cases[i].message) != NULL, "case %zu: %s", i,
                      err.message);
        /* Nothing half-built is left behind. */
        snprintf(file, sizeof(file), "%s/" CSE_SNOMED_CACHE_NAME, rel);
        ck_assert_int_ne(access(file, F_OK), 0);
    }
}
END_TEST

START_TEST(test_snomed_hostile_long_line)
{
    char rel[1200], file[1400];
    size_t n = strlen(CONCEPT_HEADER) + strlen(ROW_C) + RF2_MAX_LINE + 10;
    char *text = malloc(n + 1);
    cse_error err;

    ck_assert_ptr_nonnull(text);
    flat_release("long", rel, sizeof(rel));
    strcpy(text, CONCEPT_HEADER ROW_C);
    memset(text + strlen(text), '7', RF2_MAX_LINE + 10);
    text[n] = '\0';
    snprintf(file, sizeof(file), "%s/%s", rel, strrchr(CONCEPT_FILE, '/') + 1);
    write_file(file, text, n);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(rel, NULL, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_LIMIT);
    ck_assert_str_eq(err.source, file);
    ck_assert_int_eq(err.line, 3);
    ck_assert_str_eq(err.message, "line longer than 65536 bytes");
    free(text);
}
END_TEST

START_TEST(test_snomed_missing_files)
{
    char rel[1200], file[1400], missing[1400];
    cse_error err;

    flat_release("missing", rel, sizeof(rel));
    snprintf(file, sizeof(file), "%s/%s", rel, strrchr(REL_FILE, '/') + 1);
    ck_assert_int_eq(unlink(file), 0);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(rel, NULL, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_str_eq(err.source, rel);
    ck_assert_ptr_nonnull(strstr(err.message, "no RF2 relationship snapshot file "
                                              "(sct2_Relationship_*Snapshot*.txt)"));
    snprintf(missing, sizeof(missing), "%s/absent", tmp);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(missing, NULL, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_str_eq(err.source, missing);
    ck_assert_ptr_nonnull(strstr(err.message, "No such file"));
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(file + 0, NULL, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(NULL, NULL, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_INVALID_ARG);
    /* A cache path that is a folder. */
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_snomed_open(fixture, tmp, 0, &err));
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_str_eq(err.source, tmp);
}
END_TEST

Suite *make_snomed_suite(void)
{
    Suite *s = suite_create("snomed");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_snomed_description_to_concept);
    tcase_add_test(tc, test_snomed_inactive_rows);
    tcase_add_test(tc, test_snomed_immunisation_hierarchy);
    tcase_add_test(tc, test_snomed_statement_code);
    tcase_add_test(tc, test_snomed_fallback_without_release);
    tcase_add_test(tc, test_snomed_cache_build_and_reuse);
    tcase_add_test(tc, test_snomed_cache_beside_release);
    tcase_add_test(tc, test_snomed_cache_stale);
    tcase_add_test(tc, test_snomed_cache_corrupt);
    tcase_add_test(tc, test_snomed_image_bytes_flipped);
    tcase_add_test(tc, test_snomed_rf2_names);
    tcase_add_test(tc, test_snomed_hostile_rf2);
    tcase_add_test(tc, test_snomed_hostile_long_line);
    tcase_add_test(tc, test_snomed_missing_files);
    suite_add_tcase(s, tc);
    return s;
}
