/* SPDX-License-Identifier: MIT */
/* The FHIR reader: mapping, markers (Flag + Observation form = one marker),
 * NDJSON grouping, the loss report and every kind of bad input. */
#include <stdio.h>
#include <string.h>

#include <csemarker/fhirread.h>

#include "testutil.h"

#define NHS "9990010005"
#define PATIENT                                                                          \
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"identifier\":[{\"system\":"           \
    "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"" NHS "\"}],"                     \
    "\"managingOrganization\":{\"reference\":\"Organization/org1\"}}"
#define ORG                                                                              \
    "{\"resourceType\":\"Organization\",\"id\":\"org1\",\"identifier\":[{\"system\":"    \
    "\"https://fhir.nhs.uk/Id/ods-organization-code\",\"value\":\"A99001\"}],"           \
    "\"name\":\"Example Medical Practice\"}"
#define GP                                                                               \
    "{\"resourceType\":\"Practitioner\",\"id\":\"gp1\",\"name\":[{\"family\":"           \
    "\"Doctor\",\"given\":[\"Sam\"]}]}"
#define ROLE                                                                             \
    "{\"resourceType\":\"PractitionerRole\",\"id\":\"role1\",\"practitioner\":"          \
    "{\"reference\":\"Practitioner/gp1\"},\"organization\":{\"reference\":"              \
    "\"Organization/org1\"},\"code\":[{\"text\":\"GP\"}]}"
#define NOPAT_R4                                                                         \
    "\"security\":[{\"system\":\"http://terminology.hl7.org/CodeSystem/v3-ActCode\","    \
    "\"code\":\"NOPAT\"}]"
#define MARKER_ID "6f1c2e3a-7b4d-4e5f-8a9b-0c1d2e3f4a51"
#define FLAG                                                                             \
    "{\"resourceType\":\"Flag\",\"id\":\"f1\",\"meta\":{\"profile\":["                   \
    "\"" CSE_FHIR_FLAG_PROFILE "\"]," NOPAT_R4                                           \
    "},\"extension\":[{\"url\":\"" CSE_FHIR_EXT_REVIEW_DATE                              \
    "\",\"valueDate\":\"2025-09-14\"},{\"url\":\"" CSE_FHIR_FLAG_DETAIL                  \
    "\",\"valueReference\":{\"reference\":\"Observation/o1\"}}],\"identifier\":[{"       \
    "\"system\":\"https://csemarker.org/fhir/Id/marker\",\"value\":\"" MARKER_ID "\"}]," \
    "\"status\":\"active\",\"code\":{\"coding\":[{\"system\":\"http://snomed.info/"      \
    "sct\","                                                                             \
    "\"code\":\"716565009\"}]},\"period\":{\"start\":\"2025-03-14\"},\"encounter\":"     \
    "{\"reference\":\"Encounter/e1\"},\"author\":{\"reference\":\"PractitionerRole/"     \
    "role1\"}}"
#define FLAG_OBS                                                                         \
    "{\"resourceType\":\"Observation\",\"id\":\"o1\",\"meta\":{\"profile\":["            \
    "\"" CSE_FHIR_OBS_PROFILE "\"]," NOPAT_R4                                            \
    "},\"status\":\"final\",\"code\":{\"coding\":[{\"system\":"                          \
    "\"http://snomed.info/sct\",\"code\":\"716565009\"}]},\"effectivePeriod\":{"         \
    "\"start\":\"2025-03-14\"}}"
#define ENCOUNTER                                                                        \
    "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"period\":"  \
    "{\"start\":\"2025-03-14T09:30:00Z\"},\"participant\":[{\"individual\":"             \
    "{\"reference\":\"Practitioner/gp1\"}}]}"
#define BP                                                                               \
    "{\"resourceType\":\"Observation\",\"id\":\"bp1\",\"status\":\"final\",\"code\":"    \
    "{\"coding\":[{\"system\":\"http://read.info/readv2\",\"code\":\"246..00\"},"        \
    "{\"system\":\"http://snomed.info/sct\",\"code\":\"163020007\"}]},\"encounter\":"    \
    "{\"reference\":\"Encounter/e1\"},\"effectiveDateTime\":\"2025-03-14T09:35:00Z\","   \
    "\"valueQuantity\":{\"value\":118,\"unit\":\"mmHg\"}}"

#define BUNDLE(...)                                                                      \
    "{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"entry\":[" __VA_ARGS__ "]}"
#define E(r) "{\"resource\":" r "}"

/* A record sink that also keeps a copy of the loss report. */
typedef struct capture {
    cse_record *rec;
    cse_sink *inner;
    char losses[1024];
    size_t markers, entries;
} capture;

static cse_code c_begin(cse_sink *s, const cse_extract_info *i, cse_error *e)
{
    capture *c = s->data;
    return c->inner->begin(c->inner, i, e);
}
static cse_code c_agent(cse_sink *s, const cse_agent *a, cse_error *e)
{
    capture *c = s->data;
    return c->inner->agent(c->inner, a, e);
}
static cse_code c_entry(cse_sink *s, const cse_entry *en, const cse_entry_info *i,
                        cse_error *e)
{
    capture *c = s->data;
    return c->inner->entry(c->inner, en, i, e);
}
static cse_code c_end(cse_sink *s, const cse_summary *sum, cse_error *e)
{
    capture *c = s->data;
    size_t n = 0;
    for (size_t i = 0; i < sum->n_losses; i++)
        n += (size_t)snprintf(c->losses + n, sizeof(c->losses) - n, "%s=%zu;",
                              sum->losses[i].what, sum->losses[i].count);
    c->markers = sum->markers;
    c->entries = sum->entries;
    return c->inner->end(c->inner, sum, e);
}

static cse_code read_into(const char *json, capture *c, const cse_fhir_read_options *opt,
                          cse_error *err)
{
    cse_sink s = {c_begin, c_agent, c_entry, c_end, NULL, c};
    cse_code rc;
    memset(c, 0, sizeof(*c));
    c->rec = cse_record_new();
    c->inner = cse_record_sink_new(c->rec);
    cse_error_clear(err);
    rc = cse_fhir_read_memory(json, strlen(json), "test.json", opt, &s, err);
    cse_sink_free(c->inner);
    return rc;
}

static const cse_entry *entry_by_id(const cse_record *r, const char *id)
{
    for (size_t i = 0; i < cse_record_entry_count(r); i++)
        if (strcmp(cse_record_entry(r, i)->id, id) == 0)
            return cse_record_entry(r, i);
    return NULL;
}

/* A drug named by medicationReference: its code comes from the Medication
 * resource, wherever it sits in the Bundle (here after the statement), SNOMED
 * first; a reference that resolves to nothing keeps its display as text. */
#define MED_STMT(id, med)                                                                \
    "{\"resourceType\":\"MedicationStatement\",\"id\":\"" id "\",\"status\":"            \
    "\"active\",\"medicationReference\":{\"reference\":\"" med "\",\"display\":"         \
    "\"As named\"},\"effectivePeriod\":{\"start\":\"2025-01-02\"}}"
#define MEDICATION                                                                       \
    "{\"resourceType\":\"Medication\",\"id\":\"m1\",\"code\":{\"coding\":["              \
    "{\"system\":\"https://fhir.hl7.org.uk/Id/emis-drug-codes\",\"code\":\"AMTA1\"},"    \
    "{\"system\":\"http://snomed.info/sct\",\"code\":\"322236009\",\"display\":"         \
    "\"Paracetamol 500mg tablets\"}],\"text\":\"Paracetamol 500mg\"}}"

START_TEST(test_fhir_read_resolves_medication_reference)
{
    capture c;
    cse_error err;
    const cse_entry *ms, *lost;

    ck_assert_int_eq(
        read_into(BUNDLE(E(PATIENT) "," E(MED_STMT("ms1", "Medication/m1")) "," E(
                      MED_STMT("ms2", "Medication/absent")) "," E(MEDICATION)),
                  &c, NULL, &err),
        CSE_OK);
    ms = entry_by_id(c.rec, "MedicationStatement/ms1");
    ck_assert_ptr_nonnull(ms);
    ck_assert_int_eq(ms->kind, CSE_ENTRY_MEDICATION);
    ck_assert_uint_eq(ms->code.n, 2);
    ck_assert_str_eq(ms->code.codings[0].system, CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(ms->code.codings[0].code, "322236009");
    ck_assert_str_eq(ms->code.codings[0].display, "Paracetamol 500mg tablets");
    ck_assert_str_eq(ms->code.codings[1].code, "AMTA1");
    ck_assert_ptr_null(ms->code.codings[1].display);
    ck_assert_str_eq(ms->code.text, "Paracetamol 500mg");
    lost = entry_by_id(c.rec, "MedicationStatement/ms2");
    ck_assert_ptr_nonnull(lost);
    ck_assert_uint_eq(lost->code.n, 0);
    ck_assert_str_eq(lost->code.text, "As named");
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_bundle_maps_resources)
{
    capture c;
    cse_error err;
    const cse_entry *bp, *enc;
    const cse_agent *gp;

    ck_assert_int_eq(read_into(BUNDLE(E(PATIENT) "," E(ORG) "," E(GP) "," E(ROLE) "," E(
                                   BP) "," E(ENCOUNTER)),
                               &c, NULL, &err),
                     CSE_OK);
    ck_assert_str_eq(cse_record_patient(c.rec)->nhs_number, NHS);
    ck_assert_str_eq(cse_record_patient(c.rec)->ods, "A99001");
    ck_assert_uint_eq(cse_record_agent_count(c.rec), 2);
    gp = cse_record_find_agent(c.rec, "Practitioner/gp1");
    ck_assert_ptr_nonnull(gp);
    ck_assert_str_eq(gp->name, "Sam Doctor");
    ck_assert_str_eq(gp->role, "GP");
    ck_assert_str_eq(gp->org_id, "Organization/org1");
    ck_assert_str_eq(gp->ods, "A99001");
    /* The Encounter comes first even though it is last in the Bundle. */
    ck_assert_uint_eq(cse_record_entry_count(c.rec), 2);
    enc = cse_record_entry(c.rec, 0);
    ck_assert_int_eq(enc->kind, CSE_ENTRY_ENCOUNTER);
    ck_assert_str_eq(enc->id, "Encounter/e1");
    ck_assert_str_eq(enc->author_ref, "Practitioner/gp1");
    bp = entry_by_id(c.rec, "Observation/bp1");
    ck_assert_ptr_nonnull(bp);
    ck_assert_int_eq(bp->kind, CSE_ENTRY_OBSERVATION);
    ck_assert_str_eq(bp->parent_id, "Encounter/e1");
    /* SNOMED first: the primary code; Read v2 kept as a translation. */
    ck_assert_uint_eq(bp->code.n, 2);
    ck_assert_str_eq(bp->code.codings[0].code, "163020007");
    ck_assert_str_eq(bp->code.codings[1].code, "246..00");
    ck_assert_str_eq(bp->value, "118 mmHg");
    ck_assert_int_eq(bp->effective_center.minute, 35);
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_flag_and_observation_one_marker)
{
    capture c;
    cse_error err;
    const cse_marker *m;
    const cse_entry *e;

    /* The Observation form comes first: still one marker, from the Flag. */
    ck_assert_int_eq(read_into(BUNDLE(E(PATIENT) "," E(ORG) "," E(GP) "," E(ROLE) "," E(
                                   FLAG_OBS) "," E(ENCOUNTER) "," E(FLAG)),
                               &c, NULL, &err),
                     CSE_OK);
    ck_assert_uint_eq(cse_record_marker_count(c.rec), 1);
    ck_assert_uint_eq(c.markers, 1);
    ck_assert_uint_eq(cse_record_entry_count(c.rec), 2); /* encounter + marker */
    m = cse_record_marker(c.rec, 0);
    ck_assert_str_eq(m->id, "6F1C2E3A-7B4D-4E5F-8A9B-0C1D2E3F4A51");
    ck_assert_str_eq(m->code, "716565009");
    ck_assert_int_eq(m->status, CSE_MARKER_ACTIVE);
    ck_assert_int_eq(m->start.year, 2025);
    ck_assert_int_eq(m->review.month, 9);
    ck_assert_int_eq(m->review.day, 14);
    ck_assert_str_eq(m->author_id, "Practitioner/gp1");
    ck_assert_str_eq(m->author_name, "Sam Doctor");
    ck_assert_str_eq(m->org_ods, "A99001");
    ck_assert_uint_eq(m->labels & CSE_LABEL_NOPAT, CSE_LABEL_NOPAT);
    e = entry_by_id(c.rec, m->id);
    ck_assert_ptr_nonnull(e);
    ck_assert_str_eq(e->parent_id, "Encounter/e1");
    ck_assert_uint_eq(e->labels & CSE_LABEL_NOPAT, CSE_LABEL_NOPAT);
    ck_assert_str_eq(c.losses, "");
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_plain_flag_marker_default_review)
{
    capture c;
    cse_error err;
    const cse_marker *m;

    ck_assert_int_eq(
        read_into(
            BUNDLE(E(PATIENT) "," E(
                "{\"resourceType\":\"Flag\",\"id\":\"plain\",\"status\":\"inactive\","
                "\"code\":{\"coding\":[{\"system\":\"http://snomed.info/sct\",\"code\":"
                "\"713834002\"}]},\"period\":{\"start\":\"2024-08-31\",\"end\":"
                "\"2025-01-10\"},\"extension\":[{\"url\":\"" CSE_FHIR_EXT_END_REASON
                "\",\"valueCoding\":{\"system\":\"" CSE_FHIR_CS_END_REASON
                "\",\"code\":\"reached-adulthood\"}}]}")),
            &c, NULL, &err),
        CSE_OK);
    ck_assert_uint_eq(cse_record_marker_count(c.rec), 1);
    m = cse_record_marker(c.rec, 0);
    ck_assert_str_eq(m->code, "713834002");
    ck_assert_int_eq(m->status, CSE_MARKER_INACTIVE);
    ck_assert_int_eq(m->end.day, 10);
    ck_assert_str_eq(m->end_reason, "reached-adulthood");
    /* 31 Aug + 6 months, clamped to the end of February. */
    ck_assert_int_eq(m->review.year, 2025);
    ck_assert_int_eq(m->review.month, 2);
    ck_assert_int_eq(m->review.day, 28);
    ck_assert_str_eq(m->id, "Flag/plain");
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_plain_observation_marker_entered_in_error)
{
    capture c;
    cse_error err;

    ck_assert_int_eq(
        read_into(
            BUNDLE(E(PATIENT) "," E(
                "{\"resourceType\":\"Observation\",\"id\":\"x\",\"status\":"
                "\"entered-in-error\",\"code\":{\"coding\":[{\"system\":"
                "\"http://snomed.info/sct\",\"code\":\"919461000000108\"},{\"system\":"
                "\"http://read.info/readv2\",\"code\":\"ZV4K000\"}]},"
                "\"effectiveDateTime\":\"2024-02-02\"}")),
            &c, NULL, &err),
        CSE_OK);
    ck_assert_uint_eq(cse_record_marker_count(c.rec), 1);
    ck_assert_int_eq(cse_record_marker(c.rec, 0)->status, CSE_MARKER_ENTERED_IN_ERROR);
    ck_assert_str_eq(cse_record_marker(c.rec, 0)->code, "919461000000108");
    ck_assert_uint_eq(cse_record_marker(c.rec, 0)->legacy.n, 1);
    ck_assert_str_eq(cse_record_marker(c.rec, 0)->legacy.codings[0].code, "ZV4K000");
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_counts_losses_without_failing)
{
    capture c;
    cse_error err;

    ck_assert_int_eq(
        read_into(
            BUNDLE(E(PATIENT) "," E(
                "{\"resourceType\":\"Flag\",\"id\":\"door\","
                "\"status\":\"active\",\"code\":{\"text\":"
                "\"Wheelchair\"}}") "," E("{\"resourceType\":\"Basic\",\"id\":"
                                          "\"b\"}") "," E("{\"resourceType\":"
                                                          "\"List\",\"id\":"
                                                          "\"l\",\"encounter\":"
                                                          "{\"reference\":"
                                                          "\"Encounter/"
                                                          "e1\"},\"entry\":[{"
                                                          "\"item\":{"
                                                          "\"reference\":"
                                                          "\"Observation/"
                                                          "bp1\"}}]}") "," E(ENCOUNTER) "," E(BP)),
            &c, NULL, &err),
        CSE_OK);
    ck_assert_str_eq(c.losses, "Flag=1;Basic=1;List=1;");
    ck_assert_uint_eq(cse_record_marker_count(c.rec), 0);
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_list_places_entry_in_encounter)
{
    capture c;
    cse_error err;

    /* A Flag in a consultation List (the national adaptor fails on it). */
    ck_assert_int_eq(
        read_into(BUNDLE(E(PATIENT) "," E(
                      "{\"resourceType\":\"List\",\"id\":\"c\",\"encounter\":{"
                      "\"reference\":"
                      "\"Encounter/e1\"},\"entry\":[{\"item\":{\"reference\":\"Flag/"
                      "fl\"}}]}") "," E("{\"resourceType\":\"Flag\",\"id\":\"fl\","
                                        "\"status\":\"active\","
                                        "\"code\":{\"coding\":[{\"system\":\"http://"
                                        "snomed.info/sct\",\"code\":"
                                        "\"716565009\"}]},\"period\":{\"start\":\"2025-"
                                        "01-01\"}}") "," E(ENCOUNTER)),
                  &c, NULL, &err),
        CSE_OK);
    ck_assert_uint_eq(cse_record_entry_count(c.rec), 2);
    ck_assert_int_eq(cse_record_entry(c.rec, 0)->kind, CSE_ENTRY_ENCOUNTER);
    ck_assert_str_eq(cse_record_entry(c.rec, 1)->parent_id, "Encounter/e1");
    ck_assert_uint_eq(cse_record_marker_count(c.rec), 1);
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_ndjson_groups_by_encounter)
{
    capture c;
    cse_error err;

    ck_assert_int_eq(
        read_into(PATIENT "\n" BP "\n" GP "\n" ENCOUNTER "\n", &c, NULL, &err), CSE_OK);
    ck_assert_uint_eq(cse_record_entry_count(c.rec), 2);
    ck_assert_int_eq(cse_record_entry(c.rec, 0)->kind, CSE_ENTRY_ENCOUNTER);
    ck_assert_str_eq(cse_record_entry(c.rec, 1)->id, "Observation/bp1");
    ck_assert_int_eq(cse_record_entry(c.rec, 1)->source_line, 2);
    ck_assert_uint_eq(cse_record_agent_count(c.rec), 1);
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_rejects_not_json)
{
    capture c;
    cse_error err;
    ck_assert_int_eq(
        read_into("{\"resourceType\": \"Bundle\",\n \"entry\": [", &c, NULL, &err),
        CSE_ERR_PARSE);
    ck_assert_int_eq(err.line, 2);
    ck_assert_str_eq(err.source, "test.json");
    cse_record_free(c.rec);
    ck_assert_int_eq(read_into("hello", &c, NULL, &err), CSE_ERR_PARSE);
    ck_assert_int_eq(err.line, 1);
    cse_record_free(c.rec);
    /* Duplicate keys; jansson's quote of the input is not repeated. */
    ck_assert_int_eq(
        read_into("{\"resourceType\":\"Bundle\",\"id\":\"9990010005\",\"id\":"
                  "\"9990010005\"}",
                  &c, NULL, &err),
        CSE_ERR_PARSE);
    ck_assert_ptr_null(strstr(err.message, "9990010005"));
    ck_assert_ptr_nonnull(strstr(err.message, "duplicate"));
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_rejects_not_fhir)
{
    capture c;
    cse_error err;
    ck_assert_int_eq(read_into("{\"patients\": []}", &c, NULL, &err), CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "resourceType");
    cse_record_free(c.rec);
    ck_assert_int_eq(
        read_into(BUNDLE(E(PATIENT) ",{\"resource\":{\"id\":\"x\"}}"), &c, NULL, &err),
        CSE_ERR_STRUCTURE);
    ck_assert_str_eq(err.path, "entry[1].resource.resourceType");
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_rejects_mixed_versions)
{
    capture c;
    cse_error err;
    cse_fhir_read_options opt = {0};

    ck_assert_int_eq(read_into(BUNDLE(E("{\"resourceType\":\"Observation\",\"id\":\"a\","
                                        "\"meta\":{"
                                        "\"security\":[{\"system\":\"http://hl7.org/fhir/"
                                        "v3/ActCode\","
                                        "\"code\":\"NOPAT\"}]},\"code\":{\"text\":\"x\"}"
                                        "}") "," E("{\"resourceType\":\"ServiceRequest\","
                                                   "\"id\":\"s\"}")),
                               &c, NULL, &err),
                     CSE_ERR_VERSION);
    ck_assert_str_eq(err.path, "entry[1].resource");
    ck_assert_ptr_nonnull(strstr(err.message, "entry[0] was FHIR STU3"));
    cse_record_free(c.rec);
    /* STU3 content where R4 is required. */
    opt.version = 4;
    ck_assert_int_eq(
        read_into(BUNDLE(E("{\"resourceType\":\"ProcedureRequest\",\"id\":\"p\"}")), &c,
                  &opt, &err),
        CSE_ERR_VERSION);
    ck_assert_ptr_nonnull(strstr(err.message, "not FHIR R4"));
    cse_record_free(c.rec);
}
END_TEST

START_TEST(test_fhir_read_rejects_bad_values)
{
    capture c;
    cse_error err;
    cse_fhir_read_options opt = {0};

    ck_assert_int_eq(
        read_into(BUNDLE(E("{\"resourceType\":\"Patient\",\"id\":\"p\",\"identifier\":[{"
                           "\"system\":\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":"
                           "\"9990010006\"}]}")),
                  &c, NULL, &err),
        CSE_ERR_NHS_NUMBER);
    ck_assert_str_eq(err.path, "entry[0].resource.identifier[0].value");
    ck_assert_ptr_null(strstr(err.message, "9990010006"));
    cse_record_free(c.rec);
    ck_assert_int_eq(
        read_into(BUNDLE(E(PATIENT) "," E(
                      "{\"resourceType\":\"Observation\",\"id\":\"o\",\"code\":{"
                      "\"text\":\"w\"},\"effectiveDateTime\":\"14/03/2025\"}")),
                  &c, NULL, &err),
        CSE_ERR_DATE);
    ck_assert_str_eq(err.path, "entry[1].resource.effectiveDateTime");
    cse_record_free(c.rec);
    opt.max_depth = 4;
    ck_assert_int_eq(read_into("{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":{"
                               "\"a\":[[1]]}}]}",
                               &c, &opt, &err),
                     CSE_ERR_LIMIT);
    ck_assert_int_eq(err.line, 1);
    cse_record_free(c.rec);
}
END_TEST

Suite *make_fhir_read_suite(void)
{
    Suite *s = suite_create("fhir_read");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fhir_read_bundle_maps_resources);
    tcase_add_test(tc, test_fhir_read_flag_and_observation_one_marker);
    tcase_add_test(tc, test_fhir_read_plain_flag_marker_default_review);
    tcase_add_test(tc, test_fhir_read_plain_observation_marker_entered_in_error);
    tcase_add_test(tc, test_fhir_read_counts_losses_without_failing);
    tcase_add_test(tc, test_fhir_read_list_places_entry_in_encounter);
    tcase_add_test(tc, test_fhir_read_ndjson_groups_by_encounter);
    tcase_add_test(tc, test_fhir_read_rejects_not_json);
    tcase_add_test(tc, test_fhir_read_rejects_not_fhir);
    tcase_add_test(tc, test_fhir_read_rejects_mixed_versions);
    tcase_add_test(tc, test_fhir_read_rejects_bad_values);
    tcase_add_test(tc, test_fhir_read_resolves_medication_reference);
    suite_add_tcase(s, tc);
    return s;
}
