/* SPDX-License-Identifier: MIT */
/* The record container, entries, agents, ids and the error struct. */
#include <string.h>

#include "testutil.h"

START_TEST(test_model_record_holds_and_finds)
{
    cse_record *r = cse_record_new();
    cse_entry *e = cse_entry_new(CSE_ENTRY_OBSERVATION, "E1");
    cse_agent *a = cse_agent_new(CSE_AGENT_PERSON, "A1");
    cse_time start = test_day(2024, 1, 1);
    cse_marker *m = cse_marker_new("716565009", &start, NULL, 0, "M1", NULL);

    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(cse_record_add_entry(r, e), CSE_OK);
    ck_assert_int_eq(cse_record_add_agent(r, a), CSE_OK);
    ck_assert_int_eq(cse_record_add_marker(r, m), CSE_OK);
    ck_assert_uint_eq(cse_record_entry_count(r), 1);
    ck_assert_ptr_eq(cse_record_find_agent(r, "A1"), a);
    ck_assert_ptr_eq(cse_record_find_marker(r, "M1"), m);
    ck_assert_ptr_null(cse_record_find_marker(r, "M2"));
    ck_assert_ptr_null(cse_record_entry(r, 1));
    ck_assert_int_eq(cse_strset(&cse_record_patient(r)->nhs_number, "9990000018"),
                     CSE_OK);
    ck_assert_str_eq(cse_record_patient(r)->nhs_number, "9990000018");
    /* An add that fails still takes ownership (no leak under ASan). */
    ck_assert_int_eq(cse_record_add_entry(NULL, cse_entry_new(CSE_ENTRY_OTHER, "X")),
                     CSE_ERR_INVALID_ARG);
    cse_record_free(r);
    cse_record_free(NULL);
}
END_TEST

START_TEST(test_model_entry_annotations_and_links)
{
    cse_entry *e = cse_entry_new(CSE_ENTRY_PROBLEM, "P1");
    ck_assert_int_eq(cse_entry_add_annotation(e, "note"), CSE_OK);
    ck_assert_int_eq(cse_entry_add_link(e, "E1"), CSE_OK);
    ck_assert_int_eq(cse_entry_add_link(e, "E2"), CSE_OK);
    ck_assert_uint_eq(e->n_links, 2);
    ck_assert_str_eq(e->links[1], "E2");
    ck_assert_str_eq(cse_entry_kind_name(e->kind), "problem");
    cse_entry_free(e);
}
END_TEST

START_TEST(test_model_uuids)
{
    char a[37], b[37];
    ck_assert_int_eq(cse_uuid_random(a), CSE_OK);
    ck_assert(cse_uuid_valid(a));
    ck_assert_int_eq(cse_uuid_derive("ns", "name", a), CSE_OK);
    ck_assert_int_eq(cse_uuid_derive("ns", "name", b), CSE_OK);
    ck_assert_str_eq(a, b);
    ck_assert(cse_uuid_valid(a));
    ck_assert_int_eq(cse_uuid_derive("ns", "other", b), CSE_OK);
    ck_assert_str_ne(a, b);
    ck_assert(!cse_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c3301")); /* lower case */
    ck_assert(!cse_uuid_valid("3F2504E0-4F89-11D3-9A0C-0305E82C330"));
}
END_TEST

START_TEST(test_model_error_first_wins_and_formats)
{
    cse_error err;
    char buf[1024];
    cse_error_clear(&err);
    ck_assert_int_eq(err.offset, -1);
    ck_assert_str_eq(cse_error_format(&err, buf, sizeof(buf)), "no error");
    /* A state error from the library, then a second one that must not win. */
    cse_time start = test_day(2024, 1, 1);
    cse_marker *m = cse_marker_new("716565009", &start, NULL, 0, NULL, NULL);
    ck_assert_int_eq(cse_marker_entered_in_error(m, &err), CSE_OK);
    ck_assert_int_eq(cse_marker_entered_in_error(m, &err), CSE_ERR_STATE);
    ck_assert_int_eq(cse_marker_end(m, &start, "other", &err), CSE_ERR_STATE);
    ck_assert_str_eq(err.message,
                     "cannot mark entered-in-error a marker that is entered-in-error");
    ck_assert_str_eq(cse_error_format(&err, buf, sizeof(buf)),
                     "status: cannot mark entered-in-error a marker that is "
                     "entered-in-error");
    cse_marker_free(m);
    ck_assert_str_eq(cse_strerror(CSE_ERR_NHS_NUMBER), "invalid NHS number");
    ck_assert_str_eq(cse_strerror((cse_code)9999), "unknown error");
}
END_TEST

START_TEST(test_model_concept_copy)
{
    cse_concept a = {0}, b = {0};
    ck_assert_int_eq(cse_concept_add(&a, CSE_SYSTEM_SNOMED, "716565009", "x"), CSE_OK);
    ck_assert_int_eq(cse_concept_set_text(&a, "orig"), CSE_OK);
    ck_assert_int_eq(cse_concept_copy(&b, &a), CSE_OK);
    cse_concept_clear(&a);
    ck_assert_uint_eq(b.n, 1);
    ck_assert_str_eq(b.codings[0].display, "x");
    ck_assert_str_eq(b.text, "orig");
    cse_concept_clear(&b);
    ck_assert_uint_eq(b.n, 0);
}
END_TEST

/* Every part of the whole-record model survives a deep copy and the copy
 * owns its own strings (the original is freed first). */
START_TEST(test_model_entry_parts_dup)
{
    cse_entry *e = cse_entry_new(CSE_ENTRY_MEDICATION, "A1");
    cse_entry *d;
    cse_supply *s;
    cse_range rr = {0};

    ck_assert_ptr_nonnull(e);
    e->val.kind = CSE_VALUE_QUANTITY;
    ck_assert_int_eq(cse_quantity_set(&e->val.quantity, "0.50", "mg", "mg"), CSE_OK);
    ck_assert_int_eq(cse_concept_add(&e->interpretation, NULL, "HI", NULL), CSE_OK);
    ck_assert_int_eq(cse_quantity_set(&rr.low, "3.5", NULL, "mmol/L"), CSE_OK);
    ck_assert_int_eq(cse_strset(&rr.text, "3.5-5"), CSE_OK);
    ck_assert_int_eq(cse_entry_add_ref_range(e, &rr), CSE_OK);
    cse_range_clear(&rr);
    ck_assert_int_eq(cse_strset(&e->med.dosage, "one daily"), CSE_OK);
    s = cse_medication_add_supply(&e->med, CSE_SUPPLY_AUTHORISE, "AUTH");
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(s->repeats, -1);
    s->repeats = 3;
    ck_assert_int_eq(cse_quantity_set(&s->quantity, "28", "tablet", NULL), CSE_OK);
    s = cse_medication_add_supply(&e->med, CSE_SUPPLY_PRESCRIBE, "PRESC");
    ck_assert_int_eq(cse_strset(&s->prior_id, "AUTH"), CSE_OK);
    ck_assert_int_eq(cse_supply_add_note(s, "note"), CSE_OK);
    ck_assert_int_eq(cse_entry_add_ref(e, "P1", "fulfils"), CSE_OK);
    ck_assert_int_eq(cse_concept_add(&e->allergy.allergen, CSE_SYSTEM_SNOMED, "1", NULL),
                     CSE_OK);
    e->path.role = CSE_PATH_SPECIMEN;
    ck_assert_int_eq(cse_strset(&e->path.accession, "LAB1"), CSE_OK);
    ck_assert_int_eq(cse_strset(&e->enc.location_ref, "LOC"), CSE_OK);
    ck_assert_int_eq(cse_strset(&e->req.priority, "urgent"), CSE_OK);
    ck_assert_int_eq(cse_strset(&e->doc.media_type, "text/plain"), CSE_OK);
    e->seq = 4;

    d = cse_entry_dup(e);
    cse_entry_free(e);
    ck_assert_ptr_nonnull(d);
    ck_assert_str_eq(d->val.quantity.value, "0.50");
    ck_assert_str_eq(cse_value_kind_name(d->val.kind), "quantity");
    ck_assert_str_eq(d->interpretation.codings[0].code, "HI");
    ck_assert_uint_eq(d->n_ref_ranges, 1);
    ck_assert_str_eq(d->ref_ranges[0].low.ucum, "mmol/L");
    ck_assert_str_eq(d->ref_ranges[0].text, "3.5-5");
    ck_assert_uint_eq(d->med.n_supplies, 2);
    ck_assert_int_eq(d->med.supplies[0].repeats, 3);
    ck_assert_str_eq(d->med.supplies[0].quantity.unit, "tablet");
    ck_assert_ptr_eq(cse_medication_find_supply(&d->med, "PRESC"), &d->med.supplies[1]);
    ck_assert_str_eq(d->med.supplies[1].prior_id, "AUTH");
    ck_assert_str_eq(d->med.supplies[1].notes[0], "note");
    ck_assert_str_eq(cse_entry_find_ref(d, "fulfils"), "P1");
    ck_assert_ptr_null(cse_entry_find_ref(d, "named"));
    ck_assert_str_eq(d->allergy.allergen.codings[0].code, "1");
    ck_assert_str_eq(cse_path_role_name(d->path.role), "specimen");
    ck_assert_str_eq(d->path.accession, "LAB1");
    ck_assert_str_eq(d->enc.location_ref, "LOC");
    ck_assert_str_eq(d->req.priority, "urgent");
    ck_assert_str_eq(d->doc.media_type, "text/plain");
    ck_assert_int_eq(d->seq, 4);
    cse_entry_free(d);
}
END_TEST

Suite *make_model_suite(void)
{
    Suite *s = suite_create("model");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_model_record_holds_and_finds);
    tcase_add_test(tc, test_model_entry_annotations_and_links);
    tcase_add_test(tc, test_model_uuids);
    tcase_add_test(tc, test_model_error_first_wins_and_formats);
    tcase_add_test(tc, test_model_concept_copy);
    tcase_add_test(tc, test_model_entry_parts_dup);
    suite_add_tcase(s, tc);
    return s;
}
