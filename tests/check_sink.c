/* SPDX-License-Identifier: MIT */
/* The marker's GP2GP statement form, the annotation, the record sink and
 * replay. */
#include <string.h>

#include "testutil.h"

static cse_marker *ended_marker(void)
{
    cse_time start = test_day(2024, 3, 1), rev = test_day(2024, 8, 1),
             end = test_day(2025, 1, 10);
    cse_marker *m = cse_marker_new("713834002", &start, NULL, 0,
                                   "A1B2C3D4-0000-4000-8000-"
                                   "000000000001",
                                   NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert_int_eq(cse_marker_review(m, &rev, NULL, NULL), CSE_OK);
    ck_assert_int_eq(cse_marker_end(m, &end, CSE_END_REACHED_ADULTHOOD, NULL), CSE_OK);
    return m;
}

START_TEST(test_sink_annotation_text)
{
    cse_marker *m = ended_marker();
    char buf[512];
    ck_assert_int_eq(cse_marker_annotation_format(m, buf, sizeof(buf)), CSE_OK);
    ck_assert_str_eq(buf, "CSE marker v1 | status: inactive | category: cse | review: "
                          "2025-02-01 | last-reviewed: 2024-08-01 | ended: 2025-01-10 | "
                          "end-reason: reached-adulthood");
    ck_assert_int_eq(cse_marker_annotation_format(m, buf, 20), CSE_ERR_LIMIT);
    cse_marker_free(m);
}
END_TEST

START_TEST(test_sink_annotation_rejects_damage)
{
    cse_time start = test_day(2024, 3, 1);
    cse_marker *m = cse_marker_new("716565009", &start, NULL, 0, NULL, NULL);
    cse_error err;

    ck_assert_int_eq(cse_marker_annotation_parse("Seen by school nurse", m, NULL),
                     CSE_ERR_UNSUPPORTED);
    cse_error_clear(&err);
    ck_assert_int_eq(cse_marker_annotation_parse("CSE marker v1 | status: gone | "
                                                 "review: 2024-09-01",
                                                 m, &err),
                     CSE_ERR_STATE);
    ck_assert_str_eq(err.message, "csemarker annotation has a damaged 'status' field");
    cse_error_clear(&err);
    ck_assert_int_eq(cse_marker_annotation_parse("CSE marker v1 | status: active | "
                                                 "review: 2024-13-01",
                                                 m, &err),
                     CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "annotation");
    ck_assert_int_eq(
        cse_marker_annotation_parse("CSE marker v1 | status: active", m, NULL),
        CSE_ERR_STRUCTURE);
    /* An active marker cannot carry an end. */
    ck_assert_int_eq(
        cse_marker_annotation_parse("CSE marker v1 | status: active | review: "
                                    "2024-09-01 | ended: 2024-05-01",
                                    m, NULL),
        CSE_ERR_STATE);
    /* Unknown keys from a later version are ignored. */
    ck_assert_int_eq(
        cse_marker_annotation_parse("CSE marker v1 | status: active | review: "
                                    "2024-10-01 | colour: red",
                                    m, NULL),
        CSE_OK);
    ck_assert_int_eq(m->review.month, 10);
    cse_marker_free(m);
}
END_TEST

START_TEST(test_sink_marker_entry_round_trip)
{
    cse_marker *m = ended_marker(), *back;
    cse_entry *e;
    bool annotated = false;
    char a[32], b[32];

    ck_assert_int_eq(cse_concept_add(&m->legacy, CSE_SYSTEM_READ2, "XaXyz", "CSE"),
                     CSE_OK);
    cse_strset(&m->author_id, "AUTHOR-1");
    e = cse_marker_to_entry(m);
    ck_assert_ptr_nonnull(e);
    ck_assert(e->labels & CSE_LABEL_NOPAT);
    ck_assert_str_eq(e->code.codings[0].code, "713834002");
    ck_assert_str_eq(e->code.codings[1].code, "XaXyz");
    ck_assert_uint_eq(e->n_annotations, 1);
    back = cse_marker_from_entry(e, &annotated, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(annotated);
    ck_assert_str_eq(back->id, m->id);
    ck_assert_str_eq(back->code, m->code);
    ck_assert_int_eq(back->status, CSE_MARKER_INACTIVE);
    ck_assert_str_eq(back->end_reason, "reached-adulthood");
    ck_assert_int_eq(cse_time_compare(&back->start, &m->start), 0);
    ck_assert_int_eq(cse_time_compare(&back->end, &m->end), 0);
    ck_assert_str_eq(cse_time_format_fhir(&back->review, a, sizeof(a)),
                     cse_time_format_fhir(&m->review, b, sizeof(b)));
    ck_assert_int_eq(cse_time_compare(&back->last_reviewed, &m->last_reviewed), 0);
    ck_assert_str_eq(back->author_id, "AUTHOR-1");
    ck_assert_uint_eq(back->legacy.n, 1);
    ck_assert(back->labels & CSE_LABEL_NOPAT);
    cse_marker_free(back);
    cse_entry_free(e);
    cse_marker_free(m);
}
END_TEST

/* A marker statement that lost its annotation (passed through a system
 * without csemarker) is still a marker, with the default review date. */
START_TEST(test_sink_marker_without_annotation)
{
    cse_entry *e = cse_entry_new(CSE_ENTRY_OBSERVATION, "E1");
    cse_marker *m;
    bool annotated = true;
    char buf[32];

    ck_assert_int_eq(cse_concept_add(&e->code, CSE_SYSTEM_READ2, "ZZ1", NULL), CSE_OK);
    ck_assert_int_eq(cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, "716565009", NULL),
                     CSE_OK);
    ck_assert_int_eq(cse_time_parse_hl7("202402", &e->effective_center), CSE_OK);
    cse_entry_add_annotation(e, "Discussed with social care");
    m = cse_marker_from_entry(e, &annotated, NULL);
    ck_assert_ptr_nonnull(m);
    ck_assert(!annotated);
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert_int_eq(m->labels & CSE_LABEL_NOPAT, 0); /* the label was lost: say so */
    ck_assert_str_eq(cse_time_format_fhir(&m->review, buf, sizeof(buf)), "2024-08-01");
    ck_assert_str_eq(m->display, "At increased risk of child sexual exploitation");
    cse_marker_free(m);
    cse_entry_free(e);
}
END_TEST

START_TEST(test_sink_marker_entry_without_date_refused)
{
    cse_entry *e = cse_entry_new(CSE_ENTRY_OBSERVATION, "E1");
    cse_error err;
    cse_error_clear(&err);
    ck_assert_int_eq(cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, "716565009", NULL),
                     CSE_OK);
    ck_assert_ptr_null(cse_marker_from_entry(e, NULL, &err));
    ck_assert_int_eq(err.code, CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "effectiveTime");
    cse_entry_free(e);
}
END_TEST

START_TEST(test_sink_record_replay_into_record)
{
    cse_record *a = cse_record_new(), *b = cse_record_new();
    cse_time start = test_day(2024, 3, 1);
    cse_entry *plain = cse_entry_new(CSE_ENTRY_OBSERVATION, "E1");
    cse_sink *s;

    cse_strset(&cse_record_patient(a)->nhs_number, "9990000018");
    cse_concept_add(&plain->code, CSE_SYSTEM_SNOMED, "160877008", NULL);
    ck_assert_int_eq(cse_record_add_entry(a, plain), CSE_OK);
    ck_assert_int_eq(cse_record_add_marker(
                         a, cse_marker_new("716565009", &start, NULL, 0, "M1", NULL)),
                     CSE_OK);
    ck_assert_int_eq(cse_record_add_agent(a, cse_agent_new(CSE_AGENT_PERSON, "P1")),
                     CSE_OK);
    s = cse_record_sink_new(b);
    ck_assert_int_eq(cse_record_replay(a, NULL, s, NULL), CSE_OK);
    cse_sink_free(s);
    ck_assert_str_eq(cse_record_patient(b)->nhs_number, "9990000018");
    ck_assert_uint_eq(cse_record_agent_count(b), 1);
    /* The marker made in the practice system now also travels as an entry. */
    ck_assert_uint_eq(cse_record_entry_count(b), 2);
    ck_assert_uint_eq(cse_record_marker_count(b), 1);
    ck_assert_str_eq(cse_record_marker(b, 0)->entry_id, "M1");
    ck_assert_str_eq(cse_record_entry(b, 1)->id, "M1");
    cse_record_free(a);
    cse_record_free(b);
}
END_TEST

Suite *make_sink_suite(void)
{
    Suite *s = suite_create("sink");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_sink_annotation_text);
    tcase_add_test(tc, test_sink_annotation_rejects_damage);
    tcase_add_test(tc, test_sink_marker_entry_round_trip);
    tcase_add_test(tc, test_sink_marker_without_annotation);
    tcase_add_test(tc, test_sink_marker_entry_without_date_refused);
    tcase_add_test(tc, test_sink_record_replay_into_record);
    suite_add_tcase(s, tc);
    return s;
}
