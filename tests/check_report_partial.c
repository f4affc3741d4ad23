/* SPDX-License-Identifier: MIT */
/* Partials: round trip, signatures, version checks, refusal of a cell
 * merged twice, transfer linkage over the whole ICS only, and merge order and
 * grouping not changing the output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include <csemarker/report.h>

#include "../aggregate/report_internal.h"
#include "report_testkeys.h"
#include "testutil.h"

static void pseudo(unsigned char out[CSE__PSEUDO_LEN], int v)
{
    memset(out, 0, CSE__PSEUDO_LEN);
    out[0] = (unsigned char)v;
    out[15] = 0xA5;
}

/* A partial of one cell; left/arrived pseudonyms from small integers; signed
 * (with the Y00001 key whatever the practice) and read back. */
static cse_partial *one_cell(const char *ods, int quarter, uint64_t base, const int *left,
                             int n_left, const int *with, int n_with, const int *without,
                             int n_without)
{
    cse_partial *p = cse_partial_new();
    cse__cell c;

    ck_assert_ptr_nonnull(p);
    memset(&c, 0, sizeof(c));
    strcpy(c.practice, ods);
    c.start = test_day(2025, 3 * quarter + 1, 1);
    c.end = test_day(2025, 3 * quarter + 3, 30);
    for (int k = 0; k < CSE__NCOUNTS; k++)
        c.c[k] = base + (uint64_t)k;
    c.linkage = 1;
    c.left = calloc((size_t)n_left + 1, CSE__PSEUDO_LEN);
    c.arr_with = calloc((size_t)n_with + 1, CSE__PSEUDO_LEN);
    c.arr_without = calloc((size_t)n_without + 1, CSE__PSEUDO_LEN);
    for (int i = 0; i < n_left; i++)
        pseudo(c.left[i], left[i]);
    for (int i = 0; i < n_with; i++)
        pseudo(c.arr_with[i], with[i]);
    for (int i = 0; i < n_without; i++)
        pseudo(c.arr_without[i], without[i]);
    c.n_left = (size_t)n_left;
    c.n_arr_with = (size_t)n_with;
    c.n_arr_without = (size_t)n_without;
    c.member = -1;
    ck_assert_int_eq(cse__partial_add_cell(p, &c, NULL), CSE_OK);
    {
        const struct testkeys *tk = testkeys();
        char *buf = NULL, kid[CSE_KEY_ID_LEN + 1];
        size_t n = 0;
        FILE *fp = open_memstream(&buf, &n);
        cse_partial *q = NULL;
        static const unsigned char pk[32] = {7};
        cse_error err;
        cse_error_clear(&err);
        cse_key_id(pk, kid);
        ck_assert_ptr_nonnull(fp);
        ck_assert_msg(cse__partial_write_signed(p, "practice", ods, tk->sign,
                                                tk->link_pub, kid, fp, &err) == CSE_OK,
                      "%s", err.message);
        fclose(fp);
        ck_assert_int_eq(cse_partial_read_memory(buf, n, ods, &q, NULL), CSE_OK);
        free(buf);
        cse_partial_free(p);
        p = q;
    }
    return p;
}

static char *to_text(const cse_partial *p, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);

    ck_assert_ptr_nonnull(fp);
    ck_assert_int_eq(cse_partial_write(p, fp, NULL), CSE_OK);
    fclose(fp);
    if (len)
        *len = n;
    return buf;
}

static char *report_text(const cse_partial *p, cse_report_format f)
{
    cse_report_options ro = {0};
    char *buf = NULL;
    size_t n = 0;
    FILE *fp = open_memstream(&buf, &n);

    ro.format = f;
    ck_assert_int_eq(cse_report_write(p, &ro, fp, NULL), CSE_OK);
    fclose(fp);
    return buf;
}

START_TEST(test_report_partial_round_trip)
{
    static const int left[] = {3, 1}, with[] = {7}, without[] = {9, 8};
    cse_partial *p = one_cell("Y00001", 0, 40, left, 2, with, 1, without, 2), *q = NULL;
    size_t len;
    char *a = to_text(p, &len), *b;

    ck_assert_int_eq(cse_partial_read_memory(a, len, "a", &q, NULL), CSE_OK);
    ck_assert_uint_eq(cse_partial_cell_count(q), 1);
    ck_assert_uint_eq(q->cells[0].c[CSE__ACTIVE_MARKERS], 42);
    /* Pseudonyms travel sealed: closed until the linkage key opens them. */
    ck_assert_uint_eq(q->cells[0].n_left, 0);
    /* Another linkage key (say, a practice's own) does not open them. */
    {
        char other[512];
        cse_report_key *ok;
        cse_error err;
        snprintf(other, sizeof(other), "%s/other-link.pem", testkeys()->dir);
        ck_assert_int_eq(cse_keygen(CSE_KEY_LINKAGE, other, NULL, 1, NULL, NULL), CSE_OK);
        ok = cse_report_key_load_private(other, CSE_KEY_LINKAGE, NULL);
        ck_assert_ptr_nonnull(ok);
        cse_error_clear(&err);
        ck_assert_int_eq(cse__cell_open(&q->cells[0], ok, "a", &err), CSE_ERR_INTEGRITY);
        ck_assert_ptr_nonnull(strstr(err.message, "do not open with this linkage key"));
        ck_assert_uint_eq(q->cells[0].n_left, 0);
        cse_report_key_free(ok);
    }
    /* Nor does the right key once the seal is bound to another cell. */
    {
        cse__cell moved = q->cells[0];
        moved.left = moved.arr_with = moved.arr_without = NULL;
        strcpy(moved.practice, "Y00002");
        ck_assert_int_eq(cse__cell_open(&moved, testkeys()->link_priv, "a", NULL),
                         CSE_ERR_INTEGRITY);
    }
    ck_assert_int_eq(cse__cell_open(&q->cells[0], testkeys()->link_priv, "a", NULL),
                     CSE_OK);
    ck_assert_uint_eq(q->cells[0].n_left, 2);
    ck_assert_uint_eq(q->cells[0].n_arr_with, 1);
    ck_assert_uint_eq(q->cells[0].n_arr_without, 2);
    b = to_text(q, NULL);
    ck_assert_str_eq(a, b);
    ck_assert_ptr_nonnull(strstr(a, "\"format\": \"csemarker-partial\""));
    ck_assert_ptr_nonnull(strstr(a, "\"signature\": \"ed25519:"));
    /* Counts 40, 41, ...: children with a marker (41) above registered
     * children (40) is implausible, and refused naming the check. */
    {
        cse_error err;
        cse_error_clear(&err);
        ck_assert_int_eq(cse_partial_verify(q, testkeys()->reg, &err), CSE_ERR_STRUCTURE);
        ck_assert_str_eq(err.source, "a");
        ck_assert_ptr_nonnull(strstr(err.message, "children_with_marker (41) is above"));
    }
    free(a);
    free(b);
    cse_partial_free(p);
    cse_partial_free(q);
}
END_TEST

START_TEST(test_report_partial_corrupted_is_refused)
{
    cse_partial *p = one_cell("Y00001", 0, 40, NULL, 0, NULL, 0, NULL, 0), *q = NULL;
    size_t len;
    char *a = to_text(p, &len), *at;
    cse_error err;

    /* Change one count: 40 -> 41. It reads, but its signature fails. */
    at = strstr(a, "\"registered_children\": 40");
    ck_assert_ptr_nonnull(at);
    at[strlen("\"registered_children\": 4")] = '1';
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(a, len, "edited.json", &q, &err), CSE_OK);
    ck_assert_int_eq(cse_partial_verify(q, testkeys()->reg, &err), CSE_ERR_INTEGRITY);
    ck_assert_str_eq(err.source, "edited.json");
    ck_assert_str_eq(err.path, "signature");
    ck_assert_ptr_nonnull(strstr(err.message, "altered"));
    cse_partial_free(q);
    q = NULL;
    /* Truncated: does not parse. */
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(a, len / 2, "cut.json", &q, &err),
                     CSE_ERR_PARSE);
    ck_assert_int_gt(err.line, 0);
    free(a);
    cse_partial_free(p);
}
END_TEST

START_TEST(test_report_partial_other_version_is_refused)
{
    static const char v2[] = "{\"format\":\"csemarker-partial\",\"version\":3,\"tool\":"
                             "\"csemarker 0.1.0\",\"cells\":[],\"digest\":\"sha256:00\"}";
    static const char v1[] = "{\"format\":\"csemarker-partial\",\"version\":1,\"tool\":"
                             "\"csemarker 0.1.0\",\"cells\":[],\"digest\":\"sha256:00\"}";
    static const char other[] =
        "{\"format\":\"csemarker-partial\",\"version\":2,\"partials\":[{\"kind\":"
        "\"practice\",\"tool\":\"csemarker 7.3.0\",\"cells\":[]}]}";
    char unsigned_[256];
    static const char notours[] = "{\"format\":\"something\",\"version\":1}";
    cse_partial *q = NULL;
    cse_error err;

    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(v2, strlen(v2), "v2", &q, &err),
                     CSE_ERR_VERSION);
    ck_assert_str_eq(err.path, "version");
    snprintf(unsigned_, sizeof(unsigned_),
             "{\"format\":\"csemarker-partial\",\"version\":2,\"partials\":[{\"kind\":"
             "\"practice\",\"tool\":\"csemarker %s\",\"cells\":[]}]}",
             cse_version());
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(v1, strlen(v1), "v1", &q, &err),
                     CSE_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(err.message, "unsigned"));
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(unsigned_, strlen(unsigned_), "u", &q, &err),
                     CSE_ERR_INTEGRITY);
    ck_assert_ptr_nonnull(strstr(err.message, "unsigned"));
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(other, strlen(other), "o", &q, &err),
                     CSE_ERR_VERSION);
    ck_assert_str_eq(err.path, "tool");
    ck_assert_ptr_nonnull(strstr(err.message, "csemarker 7.3.0"));
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_read_memory(notours, strlen(notours), "n", &q, &err),
                     CSE_ERR_VERSION);
    ck_assert_str_eq(err.path, "format");
    ck_assert_ptr_null(q);
}
END_TEST

START_TEST(test_report_partial_same_cell_twice_is_refused)
{
    cse_partial *a = one_cell("Y00001", 0, 40, NULL, 0, NULL, 0, NULL, 0);
    cse_partial *b = one_cell("Y00002", 0, 40, NULL, 0, NULL, 0, NULL, 0);
    cse_partial *all = cse_partial_new();
    cse_error err;

    ck_assert_int_eq(cse_partial_merge(all, a, NULL), CSE_OK);
    ck_assert_int_eq(cse_partial_merge(b, a, NULL), CSE_OK); /* b = {Y2, Y1} */
    cse_error_clear(&err);
    ck_assert_int_eq(cse_partial_merge(all, b, &err), CSE_ERR_STRUCTURE);
    ck_assert_ptr_nonnull(strstr(err.message, "Y00001 2025-01-01..2025-03-30"));
    ck_assert_uint_eq(cse_partial_cell_count(all), 1); /* unchanged */
    cse_partial_free(a);
    cse_partial_free(b);
    cse_partial_free(all);
}
END_TEST

START_TEST(test_report_partial_merge_order_and_grouping_do_not_matter)
{
    /* Sender Y1 lost children 1, 2, 3 with markers; Y2 received 1 (marker
     * kept) and 2 (lost), and 5 who had none at the sender; Y3 received 3. */
    static const int l1[] = {1, 2, 3}, w2[] = {1}, wo2[] = {2, 5}, w3[] = {3}, l3[] = {9};
    cse_partial *p[3], *x, *y, *z;
    char *ref, *s, *csv_a, *csv_b;
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};

    p[0] = one_cell("Y00001", 1, 100, l1, 3, NULL, 0, NULL, 0);
    p[1] = one_cell("Y00002", 1, 200, NULL, 0, w2, 1, wo2, 2);
    p[2] = one_cell("Y00003", 1, 300, l3, 1, w3, 1, NULL, 0);
    x = cse_partial_new();
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(cse_partial_merge(x, p[i], NULL), CSE_OK);
    /* Without the ICS-wide linkage, the transfer measure is not measured. */
    {
        cse_report_row *rows = NULL;
        size_t n = 0;
        ck_assert_int_eq(cse_report_rows(x, NULL, &rows, &n, NULL), CSE_OK);
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].measure, "cse_marker_survived_transfer") == 0)
                ck_assert_int_eq(rows[i].denominator, CSE_REPORT_NOT_MEASURED);
        free(rows);
    }
    /* Link needs every practice of the registry (Y09999 is missing), then
     * adds fixed counts to the merge. */
    {
        const struct testkeys *tk = testkeys();
        char *buf = NULL;
        size_t n = 0;
        FILE *fp = open_memstream(&buf, &n);
        cse_partial *l = NULL, *x9 = one_cell("Y09999", 1, 50, NULL, 0, NULL, 0, NULL, 0);
        cse_error err;
        cse_error_clear(&err);
        ck_assert_int_eq(cse_partial_link(x, tk->reg, tk->link_priv, tk->ics, fp, &err),
                         CSE_ERR_STRUCTURE);
        ck_assert_ptr_nonnull(strstr(err.message, "Y09999"));
        ck_assert_int_eq(cse_partial_merge(x, x9, NULL), CSE_OK);
        cse_error_clear(&err);
        ck_assert_msg(cse_partial_link(x, tk->reg, tk->link_priv, tk->ics, fp, &err) ==
                          CSE_OK,
                      "%s", err.message);
        fclose(fp);
        ck_assert_ptr_null(strstr(buf, "pseudonyms"));
        ck_assert_int_eq(cse_partial_read_memory(buf, n, "linked", &l, NULL), CSE_OK);
        free(buf);
        cse_partial_free(x);
        x = cse_partial_new();
        for (int i = 0; i < 3; i++)
            ck_assert_int_eq(cse_partial_merge(x, p[i], NULL), CSE_OK);
        ck_assert_int_eq(cse_partial_merge(x, l, NULL), CSE_OK);
        ck_assert_int_eq(cse_partial_merge(p[2], l, NULL), CSE_OK);
        cse_partial_free(l);
        cse_partial_free(x9);
    }
    ref = to_text(x, NULL);
    csv_a = report_text(x, CSE_REPORT_CSV);
    for (int o = 0; o < 6; o++) {
        /* ((a + b) + c) and (a + (b + c)) in every order. */
        y = cse_partial_new();
        z = cse_partial_new();
        ck_assert_int_eq(cse_partial_merge(z, p[orders[o][1]], NULL), CSE_OK);
        ck_assert_int_eq(cse_partial_merge(z, p[orders[o][2]], NULL), CSE_OK);
        ck_assert_int_eq(cse_partial_merge(y, p[orders[o][0]], NULL), CSE_OK);
        ck_assert_int_eq(cse_partial_merge(y, z, NULL), CSE_OK);
        s = to_text(y, NULL);
        ck_assert_str_eq(s, ref);
        csv_b = report_text(y, CSE_REPORT_CSV);
        ck_assert_str_eq(csv_b, csv_a);
        free(s);
        free(csv_b);
        cse_partial_free(y);
        cse_partial_free(z);
    }
    /* The join: Y2 received 1 and 2 from Y1 (5 had no marker there), one kept. */
    {
        cse_report_options ro = {0};
        cse_report_row *rows = NULL;
        size_t n = 0;
        int seen = 0;
        ro.no_disclosure_control = 1;
        ck_assert_int_eq(cse_report_rows(x, &ro, &rows, &n, NULL), CSE_OK);
        for (size_t i = 0; i < n; i++) {
            if (strcmp(rows[i].measure, "cse_marker_survived_transfer") != 0)
                continue;
            if (strcmp(rows[i].practice, "Y00002") == 0) {
                ck_assert_int_eq(rows[i].numerator, 1);
                ck_assert_int_eq(rows[i].denominator, 2);
                seen++;
            } else if (strcmp(rows[i].practice, "Y00003") == 0) {
                ck_assert_int_eq(rows[i].numerator, 1);
                ck_assert_int_eq(rows[i].denominator, 1);
                seen++;
            }
        }
        ck_assert_int_eq(seen, 2);
        free(rows);
    }
    free(ref);
    free(csv_a);
    cse_partial_free(x);
    for (int i = 0; i < 3; i++)
        cse_partial_free(p[i]);
}
END_TEST

START_TEST(test_report_partial_keys_and_registry)
{
    char dir[] = "/tmp/cse-keys.XXXXXX", path[128], pub[140], id1[CSE_KEY_ID_LEN + 1],
         id2[CSE_KEY_ID_LEN + 1];
    cse_report_key *k;
    cse_registry *r;
    struct stat st;
    cse_error err;
    FILE *fp;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/s.pem", dir);
    snprintf(pub, sizeof(pub), "%s/s.pem.pub", dir);
    /* A signing key needs its owner; made mode 0600 with its .pub. */
    ck_assert_int_eq(cse_keygen(CSE_KEY_SIGNING, path, NULL, 0, NULL, NULL),
                     CSE_ERR_INVALID_ARG);
    ck_assert_int_eq(cse_keygen(CSE_KEY_SIGNING, path, "Y00001", 0, id1, NULL), CSE_OK);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0600);
    k = cse_report_key_load_private(path, CSE_KEY_SIGNING, NULL);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(cse_report_key_id(k), id1);
    cse_report_key_free(k);
    k = cse_report_key_load_public(pub, CSE_KEY_SIGNING, NULL);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(cse_report_key_id(k), id1);
    cse_report_key_free(k);
    /* The wrong kind is named. */
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_report_key_load_private(path, CSE_KEY_LINKAGE, &err));
    ck_assert_int_eq(err.code, CSE_ERR_STRUCTURE);
    ck_assert_ptr_nonnull(strstr(err.message, "not the ICS linkage key"));
    /* Never overwritten; rotation keeps the old key and changes the id. */
    ck_assert_int_eq(cse_keygen(CSE_KEY_SIGNING, path, "Y00001", 0, NULL, NULL),
                     CSE_ERR_IO);
    ck_assert_int_eq(cse_keygen(CSE_KEY_SIGNING, path, "Y00001", 1, id2, NULL), CSE_OK);
    ck_assert_str_ne(id1, id2);
    snprintf(pub, sizeof(pub), "%s/s.pem.old", dir);
    k = cse_report_key_load_private(pub, CSE_KEY_SIGNING, NULL);
    ck_assert_ptr_nonnull(k);
    ck_assert_str_eq(cse_report_key_id(k), id1);
    cse_report_key_free(k);
    /* Group-readable: refused. */
    ck_assert_int_eq(chmod(path, 0640), 0);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_report_key_load_private(path, CSE_KEY_SIGNING, &err));
    ck_assert_int_eq(err.code, CSE_ERR_PERMISSION);
    /* A registry line that is not one: refused with its line. */
    snprintf(path, sizeof(path), "%s/registry", dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("ics QICS1\npractice Y00001 100\npractice Y00002 lots\n", fp);
    fclose(fp);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_registry_load(path, testkeys()->keys, &err));
    ck_assert_int_eq(err.line, 3);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("# no ICS line\npractice Y00001 100\n", fp);
    fclose(fp);
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_registry_load(path, testkeys()->keys, &err));
    ck_assert_ptr_nonnull(strstr(err.message, "does not name the ICS"));
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("ics QICS1\npractice Y00001 100\npractice Y00002 200\n", fp);
    fclose(fp);
    r = cse_registry_load(path, testkeys()->keys, NULL);
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(cse_registry_practice_count(r), 2);
    cse_registry_free(r);
    /* Pseudonym key ids name a key without revealing it, and differ by key. */
    {
        static const unsigned char a[32] = {1}, b[32] = {2};
        cse_key_id(a, id1);
        cse_key_id(b, id2);
        ck_assert_uint_eq(strlen(id1), CSE_KEY_ID_LEN);
        ck_assert_str_ne(id1, id2);
    }
    {
        char cmd[160];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        ck_assert_int_eq(system(cmd), 0);
    }
}
END_TEST

Suite *make_report_partial_suite(void)
{
    Suite *s = suite_create("report_partial");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_report_partial_round_trip);
    tcase_add_test(tc, test_report_partial_corrupted_is_refused);
    tcase_add_test(tc, test_report_partial_other_version_is_refused);
    tcase_add_test(tc, test_report_partial_same_cell_twice_is_refused);
    tcase_add_test(tc, test_report_partial_merge_order_and_grouping_do_not_matter);
    tcase_add_test(tc, test_report_partial_keys_and_registry);
    suite_add_tcase(s, tc);
    return s;
}
