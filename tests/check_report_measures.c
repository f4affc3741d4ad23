/* SPDX-License-Identifier: MIT */
/* cse-report extract: what counts as a registered child, a marker (our Flag
 * and its Observation form are one), the period and the key file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include <csemarker/report.h>

#include "../aggregate/report_internal.h"
#include "report_testkeys.h"
#include "testutil.h"

static cse_extract *new_extract(const unsigned char *key)
{
    const struct testkeys *tk = testkeys();
    cse_extract_options o = {0};
    cse_extract *x;

    o.practice_ods = "Y09999";
    o.period_start = test_day(2025, 1, 1);
    o.period_end = test_day(2025, 3, 31);
    o.key = key;
    o.key_len = key ? 32 : 0;
    o.signing_key = tk->sign9;
    o.linkage_key = key ? tk->link_pub : NULL;
    o.quiet = 1;
    x = cse_extract_new(&o, NULL);
    ck_assert_ptr_nonnull(x);
    return x;
}

static void add(cse_extract *x, const char *json)
{
    cse_error err;

    cse_error_clear(&err);
    ck_assert_msg(cse_extract_add_resource_json(x, json, strlen(json), "t", 1, &err) ==
                      CSE_OK,
                  "%s", err.message);
}

static const char *patient(char *buf, size_t size, const char *id, const char *birth,
                           const char *nhs)
{
    snprintf(
        buf, size,
        "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"birthDate\":\"%s\","
        "\"identifier\":[{\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":"
        "\"%s\"}]}",
        id, birth, nhs);
    return buf;
}

START_TEST(test_report_measures_flag_and_its_observation_are_one_marker)
{
    cse_extract *x = new_extract(NULL);
    cse_extract_stats st;
    char b[512];

    /* Flag first, then the Observation it points to, then the Patient. */
    add(x,
        "{\"resourceType\":\"Flag\",\"id\":\"f\",\"meta\":{\"security\":[{\"code\":"
        "\"NOPAT\"}]},\"status\":\"active\",\"code\":{\"coding\":[{\"system\":"
        "\"http://snomed.info/sct\",\"code\":\"716565009\"}]},\"subject\":{\"reference\":"
        "\"Patient/a\"},\"period\":{\"start\":\"2024-12-01\"},\"extension\":[{\"url\":"
        "\"http://hl7.org/fhir/StructureDefinition/flag-detail\",\"valueReference\":{"
        "\"reference\":\"Observation/o\"}}]}");
    add(x,
        "{\"resourceType\":\"Observation\",\"id\":\"o\",\"status\":\"final\",\"code\":{"
        "\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":\"716565009\"}]},"
        "\"subject\":{\"reference\":\"Patient/"
        "a\"},\"effectiveDateTime\":\"2024-12-01\"}");
    add(x, patient(b, sizeof(b), "a", "2012-01-01", "9991000003"));
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_OK);
    ck_assert_uint_eq(st.registered_children, 1);
    ck_assert_uint_eq(st.children_with_marker, 1);
    ck_assert_uint_eq(st.active_markers, 1);
    ck_assert_uint_eq(st.markers_standard_code, 1);
    /* The Observation form lacks NOPAT, so the marker is not fully labelled. */
    ck_assert_uint_eq(st.markers_nopat, 0);
    /* Review defaults to start + 6 months = 2025-06-01: not overdue. */
    ck_assert_uint_eq(st.markers_overdue, 0);
    cse_extract_free(x);
}
END_TEST

START_TEST(test_report_measures_child_is_under_18_at_period_end)
{
    cse_extract *x = new_extract(NULL);
    cse_extract_stats st;
    char b[512];

    add(x, patient(b, sizeof(b), "a", "2007-04-01", "9991000003")); /* 17 on 31 Mar */
    add(x, patient(b, sizeof(b), "b", "2007-03-31", "9991000372")); /* 18 on 31 Mar */
    add(x, patient(b, sizeof(b), "c", "2025-04-01", "9991000747")); /* not yet born */
    add(x, patient(b, sizeof(b), "d", "2025-03-31", "9991001115")); /* born that day */
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_OK);
    ck_assert_uint_eq(st.patients, 4);
    ck_assert_uint_eq(st.registered_children, 2);
    cse_extract_free(x);
}
END_TEST

START_TEST(test_report_measures_inactive_or_other_practice_is_not_registered)
{
    cse_extract *x = new_extract(NULL);
    cse_extract_stats st;

    add(x, "{\"resourceType\":\"Patient\",\"id\":\"a\",\"active\":false,\"birthDate\":"
           "\"2015-01-01\"}");
    add(x, "{\"resourceType\":\"Patient\",\"id\":\"b\",\"birthDate\":\"2015-01-01\","
           "\"generalPractitioner\":[{\"identifier\":{\"system\":"
           "\"https://fhir.nhs.uk/Id/ods-organization-code\",\"value\":\"Y01111\"}}]}");
    add(x, "{\"resourceType\":\"Patient\",\"id\":\"c\",\"birthDate\":\"2015-01-01\","
           "\"generalPractitioner\":[{\"identifier\":{\"system\":"
           "\"https://fhir.nhs.uk/Id/ods-organization-code\",\"value\":\"Y09999\"}}]}");
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_OK);
    ck_assert_uint_eq(st.registered_children, 1);
    cse_extract_free(x);
}
END_TEST

START_TEST(test_report_measures_bad_json_names_source_and_line)
{
    cse_extract *x = new_extract(NULL);
    cse_error err;

    cse_error_clear(&err);
    ck_assert_int_eq(cse_extract_add_resource_json(x, "{\"resourceType\":", 16,
                                                   "Patient.ndjson", 42, &err),
                     CSE_ERR_PARSE);
    ck_assert_str_eq(err.source, "Patient.ndjson");
    ck_assert_int_eq(err.line, 42);
    cse_error_clear(&err);
    ck_assert_int_eq(
        cse_extract_add_resource_json(x, "{\"id\":\"x\"}", 10, "F.ndjson", 7, &err),
        CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "resourceType");
    ck_assert_int_eq(err.line, 7);
    cse_extract_free(x);
}
END_TEST

START_TEST(test_report_measures_period_parses)
{
    cse_time a, b;
    cse_error err;

    ck_assert_int_eq(cse_period_parse("2025-01-01..2025-03-31", &a, &b, NULL), CSE_OK);
    ck_assert_int_eq(a.month, 1);
    ck_assert_int_eq(b.day, 31);
    ck_assert_int_eq(cse_period_parse("2024-Q2", &a, &b, NULL), CSE_OK);
    ck_assert_int_eq(a.month, 4);
    ck_assert_int_eq(b.month, 6);
    ck_assert_int_eq(b.day, 30);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_period_parse("2025-03-31..2025-01-01", &a, &b, &err),
                     CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "period");
    ck_assert_int_eq(cse_period_parse("2025-13-01..2025-12-31", &a, &b, NULL),
                     CSE_ERR_DATE);
    ck_assert_int_eq(cse_period_parse("last quarter", &a, &b, NULL), CSE_ERR_DATE);
    ck_assert_int_eq(cse_period_parse("2025-Q5", &a, &b, NULL), CSE_ERR_DATE);
    ck_assert_int_eq(cse_period_parse("2025-01..2025-03", &a, &b, NULL), CSE_ERR_DATE);
}
END_TEST

static char *write_tmp(const char *content, size_t len, mode_t mode)
{
    char *path = strdup("/tmp/cse-key-test.XXXXXX");
    int fd = mkstemp(path);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, content, len), (ssize_t)len);
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
    return path;
}

START_TEST(test_report_measures_key_file_rules)
{
    static const char hex[] =
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n";
    unsigned char key[32];
    cse_error err;
    char *p;

    p = write_tmp(hex, strlen(hex), 0600);
    ck_assert_int_eq(cse_key_load(p, key, NULL), CSE_OK);
    ck_assert_int_eq(key[0], 0);
    ck_assert_int_eq(key[31], 0x1f);
    ck_assert_int_eq(chmod(p, 0640), 0);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_key_load(p, key, &err), CSE_ERR_PERMISSION);
    ck_assert_ptr_nonnull(strstr(err.message, "chmod 600"));
    /* The key never appears in the message. */
    ck_assert_ptr_null(strstr(err.message, "0a0b0c"));
    ck_assert_int_eq(chmod(p, 0604), 0);
    ck_assert_int_eq(cse_key_load(p, key, NULL), CSE_ERR_PERMISSION);
    unlink(p);
    free(p);
    p = write_tmp("short", 5, 0600);
    ck_assert_int_eq(cse_key_load(p, key, NULL), CSE_ERR_STRUCTURE);
    unlink(p);
    free(p);
    p = write_tmp("0123456789abcdef0123456789abcdef", 32, 0600); /* 32 raw bytes */
    ck_assert_int_eq(cse_key_load(p, key, NULL), CSE_OK);
    ck_assert_int_eq(key[0], '0');
    unlink(p);
    free(p);
}
END_TEST

START_TEST(test_report_measures_pseudonyms_need_the_key)
{
    static const unsigned char k1[32] = {1}, k2[32] = {2};
    char *a = NULL, *b = NULL, *c = NULL;
    const char *marker =
        "{\"resourceType\":\"Flag\",\"id\":\"f\",\"status\":\"active\",\"code\":{"
        "\"coding\":"
        "[{\"system\":\"http://snomed.info/sct\",\"code\":\"713834002\"}]},\"subject\":{"
        "\"reference\":\"Patient/a\"},\"period\":{\"start\":\"2024-01-01\"}}";
    const unsigned char *keys[3] = {k1, k2, NULL};
    char **outs[3] = {&a, &b, &c};
    size_t lens[3];
    cse_partial *pa = NULL, *pb = NULL;
    char id1[CSE_KEY_ID_LEN + 1], id2[CSE_KEY_ID_LEN + 1];
    const struct testkeys *tk = testkeys();

    for (int i = 0; i < 3; i++) {
        cse_extract *x = new_extract(keys[i]);
        FILE *fp = open_memstream(outs[i], &lens[i]);
        add(x,
            "{\"resourceType\":\"Patient\",\"id\":\"a\",\"active\":false,\"birthDate\":"
            "\"2012-01-01\",\"identifier\":[{\"system\":"
            "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"999 100 0003\"}]}");
        add(x, marker);
        ck_assert_int_eq(cse_extract_write_partial(x, fp, NULL), CSE_OK);
        fclose(fp);
        cse_extract_free(x);
    }
    /* A child who left with a marker is listed by pseudonym, sealed to the
     * linkage key and named by the pseudonym key's id; without a key nothing
     * is listed; never the NHS number, nor a pseudonym in clear. */
    cse_key_id(k1, id1);
    cse_key_id(k2, id2);
    ck_assert_str_ne(id1, id2);
    ck_assert_ptr_nonnull(strstr(a, id1));
    ck_assert_ptr_nonnull(strstr(b, id2));
    ck_assert_ptr_nonnull(strstr(c, "\"pseudonyms\": null"));
    ck_assert_ptr_null(strstr(a, "9991000003"));
    ck_assert_ptr_null(strstr(a, "2012-01-01"));
    ck_assert_ptr_null(strstr(a, "left_with_marker"));
    /* Only the linkage private key opens them: one child, whose pseudonym
     * depends on the key. */
    ck_assert_int_eq(cse_partial_read_memory(a, lens[0], "a", &pa, NULL), CSE_OK);
    ck_assert_int_eq(cse_partial_read_memory(b, lens[1], "b", &pb, NULL), CSE_OK);
    ck_assert_int_eq(cse_partial_verify(pa, tk->reg, NULL), CSE_OK);
    ck_assert_int_eq(cse__cell_open(&pa->cells[0], tk->link_priv, "a", NULL), CSE_OK);
    ck_assert_int_eq(cse__cell_open(&pb->cells[0], tk->link_priv, "b", NULL), CSE_OK);
    ck_assert_uint_eq(pa->cells[0].n_left, 1);
    ck_assert_uint_eq(pb->cells[0].n_left, 1);
    ck_assert_int_ne(memcmp(pa->cells[0].left[0], pb->cells[0].left[0], CSE__PSEUDO_LEN),
                     0);
    cse_partial_free(pa);
    cse_partial_free(pb);
    free(a);
    free(b);
    free(c);
}
END_TEST

Suite *make_report_measures_suite(void)
{
    Suite *s = suite_create("report_measures");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_report_measures_flag_and_its_observation_are_one_marker);
    tcase_add_test(tc, test_report_measures_child_is_under_18_at_period_end);
    tcase_add_test(tc, test_report_measures_inactive_or_other_practice_is_not_registered);
    tcase_add_test(tc, test_report_measures_bad_json_names_source_and_line);
    tcase_add_test(tc, test_report_measures_period_parses);
    tcase_add_test(tc, test_report_measures_key_file_rules);
    tcase_add_test(tc, test_report_measures_pseudonyms_need_the_key);
    suite_add_tcase(s, tc);
    return s;
}
