/* SPDX-License-Identifier: MIT */
/* Marker rules: SNOMED partitions, Verhoeff, marker and related codes, NHS
 * numbers, classification of entries. */
#include <string.h>

#include "testutil.h"

START_TEST(test_rules_verhoeff_accepts_and_rejects)
{
    ck_assert(cse_verhoeff_valid("716565009"));
    ck_assert(!cse_verhoeff_valid("716565008"));
    ck_assert(cse_verhoeff_valid("2793879015"));
    ck_assert(!cse_verhoeff_valid("12a4"));
    ck_assert(!cse_verhoeff_valid(""));
}
END_TEST

START_TEST(test_rules_sctid_partition)
{
    ck_assert_int_eq(cse_sctid_classify("716565009"), CSE_SCTID_CONCEPT);
    ck_assert_int_eq(cse_sctid_classify("919461000000108"), CSE_SCTID_CONCEPT);
    ck_assert_int_eq(cse_sctid_classify("2793879015"), CSE_SCTID_DESCRIPTION);
    ck_assert_int_eq(cse_sctid_classify("716565008"), CSE_SCTID_INVALID);
    /* Too short, too long, leading zero, non-digit. */
    ck_assert_int_eq(cse_sctid_classify("12345"), CSE_SCTID_INVALID);
    ck_assert_int_eq(cse_sctid_classify("1234567890123456789"), CSE_SCTID_INVALID);
    ck_assert_int_eq(cse_sctid_classify("0716565009"), CSE_SCTID_INVALID);
    ck_assert_int_eq(cse_sctid_classify("7165650O9"), CSE_SCTID_INVALID);
    ck_assert_int_eq(cse_sctid_classify(NULL), CSE_SCTID_INVALID);
}
END_TEST

/* Every code in the design's tables passes the check and is a concept. */
START_TEST(test_rules_every_listed_code_is_a_valid_concept)
{
    static const char *codes[] = {
        "716565009",        "713834002",        "919461000000108", "836881000000105",
        "1064961000000107", "342191000000101",  "160877008",       "700226009",
        "700253008",        "1188261000000103", "196411000000103", "196451000000104"};
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        ck_assert_msg(cse_sctid_classify(codes[i]) == CSE_SCTID_CONCEPT, "%s", codes[i]);
}
END_TEST

START_TEST(test_rules_marker_codes)
{
    ck_assert(cse_code_is_marker("716565009"));
    ck_assert(cse_code_is_marker("713834002"));
    ck_assert(cse_code_is_marker("919461000000108"));
    ck_assert(!cse_code_is_marker("716565008")); /* fails Verhoeff */
    ck_assert(!cse_code_is_marker("160877008")); /* related, not a marker */
    ck_assert(!cse_code_is_marker("2793879015"));
    ck_assert(!cse_code_is_marker(NULL));
    ck_assert_str_eq(cse_code_term("713834002"), "Victim of child sexual exploitation");
}
END_TEST

START_TEST(test_rules_related_codes_are_never_markers)
{
    static const char *related[] = {
        "836881000000105", "1064961000000107", "342191000000101", "160877008",
        "700226009",       "700253008",        "1188261000000103"};
    for (size_t i = 0; i < sizeof(related) / sizeof(related[0]); i++) {
        ck_assert_msg(cse_code_is_related(related[i]), "%s", related[i]);
        ck_assert_msg(!cse_code_is_marker(related[i]), "%s", related[i]);
    }
    ck_assert(!cse_code_is_related("716565009"));
}
END_TEST

START_TEST(test_rules_degraded_codes)
{
    ck_assert(cse_code_is_degraded("196411000000103"));
    ck_assert(cse_code_is_degraded("196451000000104"));
    ck_assert(!cse_code_is_degraded("716565009"));
}
END_TEST

START_TEST(test_rules_marker_code_found_in_translation)
{
    cse_concept c = {0};
    ck_assert_int_eq(cse_concept_add(&c, CSE_SYSTEM_READ2, "XaB12", "CSE risk"), CSE_OK);
    ck_assert_ptr_null(cse_concept_marker_code(&c));
    ck_assert_int_eq(cse_concept_add(&c, CSE_SYSTEM_SNOMED, "716565009", NULL), CSE_OK);
    ck_assert_str_eq(cse_concept_marker_code(&c), "716565009");
    ck_assert_int_eq(cse_concept_classify(&c, NULL), CSE_CLASS_MARKER);
    cse_concept_clear(&c);
}
END_TEST

/* A marker concept id under a non-SNOMED system is not a marker. */
START_TEST(test_rules_marker_code_needs_snomed_system)
{
    cse_concept c = {0};
    ck_assert_int_eq(cse_concept_add(&c, CSE_SYSTEM_CTV3, "716565009", NULL), CSE_OK);
    ck_assert_ptr_null(cse_concept_marker_code(&c));
    cse_concept_clear(&c);
}
END_TEST

START_TEST(test_rules_text_names_cse)
{
    ck_assert(cse_text_names_cse("Concern re child sexual exploitation"));
    ck_assert(cse_text_names_cse("CSE risk"));
    ck_assert(cse_text_names_cse("at risk (CSE)"));
    ck_assert(cse_text_names_cse("SEXUALLY EXPLOITED"));
    ck_assert(!cse_text_names_cse("course of antibiotics"));
    ck_assert(!cse_text_names_cse("CSEX"));
    ck_assert(!cse_text_names_cse(NULL));
}
END_TEST

static cse_entry_class classify1(const char *system, const char *code, const char *text,
                                 cse_candidate_reason *why)
{
    cse_concept c = {0};
    cse_entry_class k;
    if (code)
        ck_assert_int_eq(cse_concept_add(&c, system, code, NULL), CSE_OK);
    if (text)
        ck_assert_int_eq(cse_concept_set_text(&c, text), CSE_OK);
    k = cse_concept_classify(&c, why);
    cse_concept_clear(&c);
    return k;
}

START_TEST(test_rules_classify_candidates_with_reasons)
{
    cse_candidate_reason why;
    ck_assert_int_eq(classify1(CSE_SYSTEM_SNOMED, "2793879015", "CSE concern", &why),
                     CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(why, CSE_CANDIDATE_DESCRIPTION_ID);
    ck_assert_int_eq(
        classify1(CSE_SYSTEM_READ2, "ZV4..", "child sexual exploitation", &why),
        CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(why, CSE_CANDIDATE_LEGACY_ONLY);
    ck_assert_int_eq(classify1(CSE_SYSTEM_SNOMED, "196411000000103", "CSE", &why),
                     CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(why, CSE_CANDIDATE_DEGRADED);
    ck_assert_int_eq(classify1(NULL, NULL, "risk of sexual exploitation", &why),
                     CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(why, CSE_CANDIDATE_UNCODED);
    ck_assert_int_eq(classify1(CSE_SYSTEM_SNOMED, "716565008", "CSE", &why),
                     CSE_CLASS_CANDIDATE);
    ck_assert_int_eq(why, CSE_CANDIDATE_MALFORMED);
    /* A degraded code whose text says nothing of CSE is not a candidate. */
    ck_assert_int_eq(
        classify1(CSE_SYSTEM_SNOMED, "196411000000103", "Blood pressure", &why),
        CSE_CLASS_NONE);
    ck_assert_int_eq(classify1(CSE_SYSTEM_SNOMED, "160877008", "Child at risk", &why),
                     CSE_CLASS_RELATED);
}
END_TEST

START_TEST(test_rules_nhs_number_examples)
{
    char out[11];
    ck_assert(cse_nhs_number_valid("9434765919"));
    ck_assert(cse_nhs_number_valid("9876543210"));
    ck_assert(cse_nhs_number_valid("4010232137"));
    ck_assert(!cse_nhs_number_valid("1234567890")); /* check digit 10: invalid */
    ck_assert(!cse_nhs_number_valid("9434765918"));
    ck_assert(!cse_nhs_number_valid("943476591"));
    ck_assert(!cse_nhs_number_valid("94347659190"));
    ck_assert(!cse_nhs_number_valid("943476591X"));
    ck_assert(!cse_nhs_number_valid(NULL));
    ck_assert_int_eq(cse_nhs_number_canonical("943 476 5919", out), CSE_OK);
    ck_assert_str_eq(out, "9434765919");
    ck_assert_int_eq(cse_nhs_number_canonical("943-476-5919", out), CSE_OK);
    ck_assert_str_eq(out, "9434765919");
    ck_assert_int_eq(cse_nhs_number_canonical("1234567890", out), CSE_ERR_NHS_NUMBER);
}
END_TEST

/* 999000005 has a weighted sum divisible by 11: 11 - 0 = 11 maps to check 0. */
START_TEST(test_rules_nhs_number_check_eleven_is_zero)
{
    ck_assert(cse_nhs_number_valid("9990000050"));
    ck_assert(!cse_nhs_number_valid("9990000051"));
    ck_assert(cse_nhs_number_valid("9990000018"));
}
END_TEST

START_TEST(test_rules_system_oids)
{
    ck_assert_str_eq(cse_system_from_oid(CSE_OID_SNOMED), CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(cse_system_from_oid(CSE_OID_READ2), CSE_SYSTEM_READ2);
    ck_assert_str_eq(cse_system_from_oid(CSE_OID_CTV3), CSE_SYSTEM_CTV3);
    ck_assert_ptr_null(cse_system_from_oid("1.2.3"));
    ck_assert_str_eq(cse_system_to_oid(CSE_SYSTEM_SNOMED), CSE_OID_SNOMED);
    ck_assert_str_eq(cse_system_to_oid("urn:oid:1.2.3"), "1.2.3");
}
END_TEST

Suite *make_rules_suite(void)
{
    Suite *s = suite_create("rules");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_rules_verhoeff_accepts_and_rejects);
    tcase_add_test(tc, test_rules_sctid_partition);
    tcase_add_test(tc, test_rules_every_listed_code_is_a_valid_concept);
    tcase_add_test(tc, test_rules_marker_codes);
    tcase_add_test(tc, test_rules_related_codes_are_never_markers);
    tcase_add_test(tc, test_rules_degraded_codes);
    tcase_add_test(tc, test_rules_marker_code_found_in_translation);
    tcase_add_test(tc, test_rules_marker_code_needs_snomed_system);
    tcase_add_test(tc, test_rules_text_names_cse);
    tcase_add_test(tc, test_rules_classify_candidates_with_reasons);
    tcase_add_test(tc, test_rules_nhs_number_examples);
    tcase_add_test(tc, test_rules_nhs_number_check_eleven_is_zero);
    tcase_add_test(tc, test_rules_system_oids);
    suite_add_tcase(s, tc);
    return s;
}
