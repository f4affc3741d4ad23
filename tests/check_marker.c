/* SPDX-License-Identifier: MIT */
/* Markers: creation rules, default review date, and state changes. */
#include <string.h>

#include "testutil.h"

static cse_marker *new_active(void)
{
    cse_time start = test_day(2024, 3, 1);
    cse_error err;
    cse_marker *m;
    cse_error_clear(&err);
    m = cse_marker_new("716565009", &start, NULL, 0, NULL, &err);
    ck_assert_msg(m != NULL, "%s", err.message);
    return m;
}

START_TEST(test_marker_new_sets_defaults)
{
    cse_marker *m = new_active();
    char buf[32];
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2024-09-01");
    ck_assert(m->labels & CSE_LABEL_NOPAT);
    ck_assert(cse_uuid_valid(m->id));
    ck_assert_str_eq(m->display, "At increased risk of child sexual exploitation");
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_new_configurable_review_months)
{
    cse_time start = test_day(2024, 3, 1);
    cse_marker *m = cse_marker_new("713834002", &start, NULL, 3, "ID", NULL);
    char buf[32];
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2024-06-01");
    ck_assert_str_eq(m->id, "ID");
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_new_refuses_non_marker_code)
{
    cse_time start = test_day(2024, 3, 1);
    cse_error err;
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_marker_new("160877008", &start, NULL, 0, NULL, &err));
    ck_assert_int_eq(err.code, CSE_ERR_CODE);
    ck_assert_str_eq(err.path, "code");
    ck_assert_ptr_nonnull(strstr(err.message, "not a CSE marker concept id"));
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_marker_new("716565008", &start, NULL, 0, NULL, &err));
    ck_assert_int_eq(err.code, CSE_ERR_CODE);
}
END_TEST

START_TEST(test_marker_new_refuses_bad_dates)
{
    cse_time start = test_day(2024, 3, 1), early = test_day(2024, 2, 1), month = start;
    cse_error err;
    month.precision = CSE_TIME_MONTH;
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_marker_new("716565009", &start, &early, 0, NULL, &err));
    ck_assert_int_eq(err.code, CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "review");
    cse_error_clear(&err);
    ck_assert_ptr_null(cse_marker_new("716565009", &month, NULL, 0, NULL, &err));
    ck_assert_int_eq(err.code, CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "start");
}
END_TEST

START_TEST(test_marker_review_moves_due_date)
{
    cse_marker *m = new_active();
    cse_time on = test_day(2024, 8, 20), next = test_day(2024, 11, 20);
    char buf[32];
    ck_assert_int_eq(cse_marker_review(m, &on, NULL, NULL), CSE_OK);
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2025-02-20");
    ck_assert_str_eq(cse_time_format_fhir(&m->last_reviewed, buf, sizeof(buf)),
                     "2024-08-20");
    ck_assert_int_eq(cse_marker_review(m, &on, &next, NULL), CSE_OK);
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2024-11-20");
    /* A next review not after the review itself is refused, unchanged. */
    ck_assert_int_eq(cse_marker_review(m, &on, &on, NULL), CSE_ERR_DATE);
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2024-11-20");
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_end_sets_inactive_and_keeps_marker)
{
    cse_marker *m = new_active();
    cse_time on = test_day(2025, 1, 10);
    cse_error err;
    char buf[32];
    cse_error_clear(&err);
    ck_assert_int_eq(cse_marker_end(m, &on, "bogus", &err), CSE_ERR_STATE);
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert_int_eq(cse_marker_end(m, &on, CSE_END_NO_LONGER_AT_RISK, NULL), CSE_OK);
    ck_assert_int_eq(m->status, CSE_MARKER_INACTIVE);
    ck_assert_str_eq(m->end_reason, "no-longer-at-risk");
    ck_assert_str_eq(cse_time_format_fhir(&m->end, buf, sizeof(buf)), "2025-01-10");
    ck_assert_str_eq(m->code, "716565009");
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_end_before_start_refused)
{
    cse_marker *m = new_active();
    cse_time on = test_day(2024, 2, 1);
    ck_assert_int_eq(cse_marker_end(m, &on, CSE_END_OTHER, NULL), CSE_ERR_DATE);
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_invalid_transitions_refused)
{
    cse_marker *m = new_active();
    cse_time on = test_day(2025, 1, 10);
    cse_error err;

    ck_assert_int_eq(cse_marker_end(m, &on, CSE_END_OTHER, NULL), CSE_OK);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_marker_review(m, &on, NULL, &err), CSE_ERR_STATE);
    ck_assert_str_eq(err.message, "cannot review a marker that is inactive");
    ck_assert_int_eq(cse_marker_end(m, &on, CSE_END_OTHER, NULL), CSE_ERR_STATE);
    /* An ended marker can still be found to be entered in error. */
    ck_assert_int_eq(cse_marker_entered_in_error(m, NULL), CSE_OK);
    ck_assert_int_eq(m->status, CSE_MARKER_ENTERED_IN_ERROR);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_marker_entered_in_error(m, &err), CSE_ERR_STATE);
    ck_assert_str_eq(err.message,
                     "cannot mark entered-in-error a marker that is entered-in-error");
    ck_assert_int_eq(cse_marker_review(m, &on, NULL, NULL), CSE_ERR_STATE);
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_review_overdue)
{
    cse_marker *m = new_active(); /* review due 2024-09-01 */
    cse_time before = test_day(2024, 9, 1), after = test_day(2024, 9, 2);
    ck_assert(!cse_marker_review_overdue(m, &before));
    ck_assert(cse_marker_review_overdue(m, &after));
    ck_assert_int_eq(cse_marker_end(m, &after, CSE_END_OTHER, NULL), CSE_OK);
    ck_assert(!cse_marker_review_overdue(m, &after));
    cse_marker_free(m);
}
END_TEST

START_TEST(test_marker_status_names_round_trip)
{
    cse_marker_status s;
    for (int i = CSE_MARKER_ACTIVE; i <= CSE_MARKER_ENTERED_IN_ERROR; i++) {
        ck_assert_int_eq(cse_marker_status_parse(cse_marker_status_name(i), &s), CSE_OK);
        ck_assert_int_eq((int)s, i);
    }
    ck_assert_int_eq(cse_marker_status_parse("resolved", &s), CSE_ERR_STATE);
}
END_TEST

START_TEST(test_marker_dup_is_deep)
{
    cse_marker *m = new_active(), *d;
    ck_assert_int_eq(cse_concept_add(&m->legacy, CSE_SYSTEM_READ2, "XaB1", NULL), CSE_OK);
    d = cse_marker_dup(m);
    ck_assert_ptr_nonnull(d);
    ck_assert_ptr_ne(d->id, m->id);
    ck_assert_str_eq(d->id, m->id);
    ck_assert_uint_eq(d->legacy.n, 1);
    cse_marker_free(m);
    ck_assert_str_eq(d->legacy.codings[0].code, "XaB1");
    cse_marker_free(d);
}
END_TEST

Suite *make_marker_suite(void)
{
    Suite *s = suite_create("marker");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_marker_new_sets_defaults);
    tcase_add_test(tc, test_marker_new_configurable_review_months);
    tcase_add_test(tc, test_marker_new_refuses_non_marker_code);
    tcase_add_test(tc, test_marker_new_refuses_bad_dates);
    tcase_add_test(tc, test_marker_review_moves_due_date);
    tcase_add_test(tc, test_marker_end_sets_inactive_and_keeps_marker);
    tcase_add_test(tc, test_marker_end_before_start_refused);
    tcase_add_test(tc, test_marker_invalid_transitions_refused);
    tcase_add_test(tc, test_marker_review_overdue);
    tcase_add_test(tc, test_marker_status_names_round_trip);
    tcase_add_test(tc, test_marker_dup_is_deep);
    suite_add_tcase(s, tc);
    return s;
}
