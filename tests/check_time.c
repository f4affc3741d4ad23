/* SPDX-License-Identifier: MIT */
/* Dates: HL7 TS and FHIR forms, comparison, month arithmetic. */
#include <string.h>

#include "testutil.h"

START_TEST(test_time_parse_hl7_precisions)
{
    cse_time t;
    char buf[32];
    ck_assert_int_eq(cse_time_parse_hl7("2024", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_YEAR);
    ck_assert_int_eq(cse_time_parse_hl7("202403", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_MONTH);
    ck_assert_int_eq(cse_time_parse_hl7("20240315", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_DAY);
    ck_assert_int_eq(cse_time_parse_hl7("202403151030", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_MINUTE);
    ck_assert_int_eq(cse_time_parse_hl7("20240315103045", &t), CSE_OK);
    ck_assert_int_eq(t.second, 45);
    ck_assert_str_eq(cse_time_format_hl7(&t, buf, sizeof(buf)), "20240315103045");
    ck_assert_str_eq(cse_time_format_fhir(&t, buf, sizeof(buf)), "2024-03-15T10:30:45");
    ck_assert_str_eq(cse_time_format_fhir_date(&t, buf, sizeof(buf)), "2024-03-15");
    /* Fractions and zones after the digits are accepted and dropped. */
    ck_assert_int_eq(cse_time_parse_hl7("20240315103045.000+0000", &t), CSE_OK);
}
END_TEST

/* Every precision in both forms, small buffers cut as snprintf cuts, and
 * fields outside the usual widths (written by snprintf, not by hand). */
START_TEST(test_time_format_forms)
{
    static const struct {
        cse_time t;
        const char *hl7, *fhir;
    } cases[] = {
        {{987, 0, 0, 0, 0, 0, CSE_TIME_YEAR}, "0987", "0987"},
        {{2024, 3, 0, 0, 0, 0, CSE_TIME_MONTH}, "202403", "2024-03"},
        {{2024, 3, 5, 0, 0, 0, CSE_TIME_DAY}, "20240305", "2024-03-05"},
        {{2024, 3, 5, 7, 9, 59, CSE_TIME_MINUTE},
         "20240305070900",
         "2024-03-05T07:09:00"},
        {{2024, 12, 31, 23, 59, 58, CSE_TIME_SECOND},
         "20241231235958",
         "2024-12-31T23:59:58"},
        {{12345, 1, 2, 0, 0, 0, CSE_TIME_DAY}, "123450102", "12345-01-02"},
        {{2024, 1, 2, 123, 4, 5, CSE_TIME_SECOND},
         "202401021230405",
         "2024-01-02T123:04:05"},
        {{-5, 1, 0, 0, 0, 0, CSE_TIME_MONTH}, "-00501", "-005-01"},
        {{2024, 1, 2, 3, 4, 5, CSE_TIME_NONE}, "", ""},
    };
    char buf[40], small[9];

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_str_eq(cse_time_format_hl7(&cases[i].t, buf, sizeof(buf)),
                         cases[i].hl7);
        ck_assert_str_eq(cse_time_format_fhir(&cases[i].t, buf, sizeof(buf)),
                         cases[i].fhir);
        /* Cut to the buffer, as snprintf would. */
        cse_time_format_fhir(&cases[i].t, small, sizeof(small));
        ck_assert_int_eq(strncmp(small, cases[i].fhir, sizeof(small) - 1), 0);
        ck_assert_uint_le(strlen(small), sizeof(small) - 1);
    }
}
END_TEST

START_TEST(test_time_rejects_bad_dates)
{
    cse_time t;
    ck_assert_int_eq(cse_time_parse_hl7("20240230", &t), CSE_ERR_DATE); /* 30 Feb */
    ck_assert_int_eq(cse_time_parse_hl7("20231301", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_hl7("2024031", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_hl7("2024-03-15", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_hl7("", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_fhir("2024-02-30", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_fhir("2024-03-15T25:00:00Z", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_fhir("20240315", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_fhir("2024-03-15x", &t), CSE_ERR_DATE);
}
END_TEST

START_TEST(test_time_parse_fhir_forms)
{
    cse_time t;
    char buf[32];
    ck_assert_int_eq(cse_time_parse_fhir("2024-02-29", &t), CSE_OK);
    ck_assert_str_eq(cse_time_format_hl7(&t, buf, sizeof(buf)), "20240229");
    /* 10:30:45 at UTC+1 on 15 March is 09:30:45 UTC, and GMT in the UK. */
    ck_assert_int_eq(cse_time_parse_fhir("2024-03-15T10:30:45.123+01:00", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_SECOND);
    ck_assert_int_eq(t.hour, 9);
    ck_assert_int_eq(cse_time_parse_fhir("2024-03", &t), CSE_OK);
    ck_assert_int_eq(t.precision, CSE_TIME_MONTH);
}
END_TEST

/* Instants with a zone are UK civil time, across both BST boundaries of
 * 2024 (31 March and 27 October, at 01:00 UTC), a day boundary, and an
 * offset from elsewhere. */
START_TEST(test_time_parse_fhir_uk_local)
{
    static const struct {
        const char *in, *hl7;
    } cases[] = {
        {"2024-03-31T00:59:59Z", "20240331005959"},      /* GMT, the last second */
        {"2024-03-31T01:00:00Z", "20240331020000"},      /* BST begins */
        {"2024-07-14T16:55:00+00:00", "20240714175500"}, /* summer */
        {"2024-07-14T17:55:00+01:00", "20240714175500"}, /* as ehr2fhir writes it */
        {"2024-10-27T00:59:00Z", "20241027015900"},      /* BST, the last minute */
        {"2024-10-27T01:00:00Z", "20241027010000"},      /* GMT again */
        {"2024-12-31T23:30:00-01:00", "20250101003000"}, /* the next year */
        {"2024-06-30T23:30:00Z", "20240701003000"},      /* the next day in BST */
        {"2024-01-15T10:00:00+05:30", "20240115043000"}, /* India, winter */
        {"2024-01-15T10:00:00", "20240115100000"},       /* no zone: UK already */
        {"2024-07-14", "20240714"},                      /* a date: as written */
    };
    cse_time t;
    char buf[32];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_msg(cse_time_parse_fhir(cases[i].in, &t) == CSE_OK, "%s", cases[i].in);
        ck_assert_str_eq(cse_time_format_hl7(&t, buf, sizeof(buf)), cases[i].hl7);
    }
    ck_assert_int_eq(cse_time_parse_fhir("2024-01-15T10:00:00+15:00", &t), CSE_ERR_DATE);
    ck_assert_int_eq(cse_time_parse_fhir("2024-01-15T10:00:00+01:60", &t), CSE_ERR_DATE);
}
END_TEST

START_TEST(test_time_add_months_clamps_day)
{
    cse_time a = test_day(2023, 8, 31), r;
    char buf[32];
    ck_assert_int_eq(cse_time_add_months(&a, 6, &r), CSE_OK);
    ck_assert_str_eq(cse_time_format_fhir(&r, buf, sizeof(buf)), "2024-02-29");
    a = test_day(2024, 8, 31);
    ck_assert_int_eq(cse_time_add_months(&a, 6, &r), CSE_OK);
    ck_assert_str_eq(cse_time_format_fhir(&r, buf, sizeof(buf)), "2025-02-28");
    a = test_day(2024, 11, 15);
    ck_assert_int_eq(cse_time_add_months(&a, 3, &r), CSE_OK);
    ck_assert_str_eq(cse_time_format_fhir(&r, buf, sizeof(buf)), "2025-02-15");
    a.precision = CSE_TIME_MONTH;
    ck_assert_int_eq(cse_time_add_months(&a, 6, &r), CSE_ERR_DATE);
}
END_TEST

START_TEST(test_time_compare)
{
    cse_time a = test_day(2024, 1, 2), b = test_day(2024, 1, 3), none = {0};
    ck_assert_int_lt(cse_time_compare(&a, &b), 0);
    ck_assert_int_gt(cse_time_compare(&b, &a), 0);
    ck_assert_int_eq(cse_time_compare(&a, &a), 0);
    ck_assert_int_lt(cse_time_compare(&none, &a), 0);
}
END_TEST

Suite *make_time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_time_parse_hl7_precisions);
    tcase_add_test(tc, test_time_format_forms);
    tcase_add_test(tc, test_time_rejects_bad_dates);
    tcase_add_test(tc, test_time_parse_fhir_forms);
    tcase_add_test(tc, test_time_parse_fhir_uk_local);
    tcase_add_test(tc, test_time_add_months_clamps_day);
    tcase_add_test(tc, test_time_compare);
    suite_add_tcase(s, tc);
    return s;
}
