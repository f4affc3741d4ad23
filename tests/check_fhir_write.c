/* SPDX-License-Identifier: MIT */
/* The FHIR R4 and STU3 writers: hand-built records replayed into the writers,
 * the output parsed back with jansson and checked field by field. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "testutil.h"

#define NHS "9990000018"
#define GP_ID "1E473786-E7FA-785E-C911-A8D38FB56F20"
#define ORG_ID "5D8D4C4B-1F3A-4C36-9E7E-0A1B2C3D4E5F"
#define ENC_ID "7626FAAD-8562-478D-B79C-598520953E86"
#define TOPIC_ID "0B6D2C1E-3F4A-4B5C-8D9E-0F1A2B3C4D5E"
#define OBS_ID "A02FD80F-0457-4711-9E7F-5ED73BF0AB62"
#define MARKER_ID "C3E1A6B2-7D45-4F0E-9A1B-2C3D4E5F6A7B"
#define CAND_ID "D4F2B7C3-8E56-4A1F-8B2C-3D4E5F6A7B8C"

/* A record: one GP and practice, one composition labelled NOPAT holding a
 * topic, an ordinary observation and a marker. marker_nopat says whether the
 * marker entry itself carried the label. */
static cse_record *make_record(bool composition_nopat, bool marker_nopat, bool ended)
{
    cse_record *r = cse_record_new();
    cse_patient *p = cse_record_patient(r);
    cse_agent *gp = cse_agent_new(CSE_AGENT_PERSON, GP_ID);
    cse_agent *org = cse_agent_new(CSE_AGENT_ORGANISATION, ORG_ID);
    cse_entry *enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, ENC_ID);
    cse_entry *topic = cse_entry_new(CSE_ENTRY_COMPOUND, TOPIC_ID);
    cse_entry *obs = cse_entry_new(CSE_ENTRY_OBSERVATION, OBS_ID);
    cse_entry *me = cse_entry_new(CSE_ENTRY_OBSERVATION, MARKER_ID);
    cse_marker *m;
    unsigned inherited = composition_nopat ? CSE_LABEL_NOPAT : 0;

    ck_assert_ptr_nonnull(r);
    cse_strset(&p->nhs_number, NHS);
    cse_strset(&p->ods, "A99001");
    cse_strset(&gp->name, "Dr Example");
    cse_strset(&gp->org_id, ORG_ID);
    cse_strset(&org->ods, "A99001");
    cse_strset(&org->name, "Example Practice");
    ck_assert_int_eq(cse_record_add_agent(r, gp), CSE_OK);
    ck_assert_int_eq(cse_record_add_agent(r, org), CSE_OK);

    cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "25671000000102",
                    "Surgery consultation note");
    enc->effective_center = test_day(2024, 3, 1);
    enc->labels = inherited;
    cse_strset(&enc->author_ref, GP_ID);
    enc->source_line = 20;
    ck_assert_int_eq(cse_record_add_entry(r, enc), CSE_OK);

    cse_strset(&topic->parent_id, ENC_ID);
    cse_strset(&topic->compound_class, "topic");
    topic->inherited_labels = inherited;
    topic->source_line = 30;
    ck_assert_int_eq(cse_record_add_entry(r, topic), CSE_OK);

    cse_strset(&obs->parent_id, TOPIC_ID);
    cse_concept_add(&obs->code, CSE_SYSTEM_SNOMED, "23986001", "Glaucoma");
    obs->effective_center = test_day(2024, 3, 1);
    obs->inherited_labels = inherited;
    cse_strset(&obs->author_ref, GP_ID);
    obs->source_line = 40;
    ck_assert_int_eq(cse_record_add_entry(r, obs), CSE_OK);

    cse_strset(&me->parent_id, TOPIC_ID);
    cse_concept_add(&me->code, CSE_SYSTEM_SNOMED, "716565009", NULL);
    cse_concept_add(&me->code, CSE_SYSTEM_READ2, "XaB12", "CSE risk");
    me->effective_low = test_day(2024, 3, 1);
    if (ended)
        me->effective_high = test_day(2024, 9, 30);
    me->labels = marker_nopat ? CSE_LABEL_NOPAT : 0;
    me->inherited_labels = inherited;
    cse_strset(&me->author_ref, GP_ID);
    me->source_line = 50;
    m = cse_marker_from_entry(me, NULL, NULL);
    ck_assert_ptr_nonnull(m);
    if (ended)
        cse_strset(&m->end_reason, CSE_END_NO_LONGER_AT_RISK);
    ck_assert_int_eq(cse_record_add_entry(r, me), CSE_OK);
    ck_assert_int_eq(cse_record_add_marker(r, m), CSE_OK);
    return r;
}

/* With CSE_FHIR_WRITE_DUMP set to a folder, every R4 Bundle a test writes is
 * also saved there, so tests/ehr2fhir_validate.sh can validate it. */
static void dump(const char *buf, size_t len, bool stu3)
{
    static int n;
    const char *dir = getenv("CSE_FHIR_WRITE_DUMP");
    char path[4096];
    FILE *f;

    if (dir == NULL || *dir == '\0' || stu3)
        return;
    /* Check forks a process per test: the pid keeps the names apart. */
    snprintf(path, sizeof(path), "%s/unit-%ld-%03d.r4.json", dir, (long)getpid(), ++n);
    ck_assert_ptr_nonnull(f = fopen(path, "w"));
    ck_assert_uint_eq(fwrite(buf, 1, len, f), len);
    fclose(f);
}

/* Replays r into a new writer; returns the parsed Bundle and, when
 * report_json is not NULL, the report as parsed JSON. */
static json_t *run(cse_record *r, bool stu3, json_t **report_json)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cse_fhir_write_options opt = {.bundle_id = "B0000000-0000-4000-8000-000000000001"};
    cse_error err;
    cse_sink *s;
    json_error_t jerr;
    json_t *bundle;

    ck_assert_ptr_nonnull(out);
    cse_error_clear(&err);
    s = stu3 ? cse_fhir_stu3_writer_new(out, &opt, &err)
             : cse_fhir_r4_writer_new(out, &opt, &err);
    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(cse_record_replay(r, NULL, s, &err), CSE_OK);
    fclose(out);
    bundle = json_loadb(buf, len, 0, &jerr);
    ck_assert_msg(bundle != NULL, "output is not JSON: %s", jerr.text);
    dump(buf, len, stu3);
    if (report_json) {
        char *rbuf = NULL;
        size_t rlen = 0;
        FILE *rout = open_memstream(&rbuf, &rlen);
        ck_assert_int_eq(
            cse_fhir_write_report_print(cse_fhir_writer_report(s), rout, 1, NULL),
            CSE_OK);
        fclose(rout);
        *report_json = json_loadb(rbuf, rlen, 0, &jerr);
        ck_assert_ptr_nonnull(*report_json);
        free(rbuf);
    }
    cse_sink_free(s);
    free(buf);
    return bundle;
}

/* The n-th resource of a type (0-based), or NULL. */
static json_t *find(json_t *bundle, const char *type, int n)
{
    size_t i;
    json_t *e;
    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource");
        if (strcmp(json_string_value(json_object_get(res, "resourceType")), type) == 0 &&
            n-- == 0)
            return res;
    }
    return NULL;
}

static int count(json_t *bundle, const char *type)
{
    int n = 0;
    while (find(bundle, type, n))
        n++;
    return n;
}

static const char *str(json_t *o, const char *path)
{
    char key[128];
    const char *dot;
    while ((dot = strchr(path, '.')) != NULL) {
        snprintf(key, sizeof(key), "%.*s", (int)(dot - path), path);
        o = (key[0] >= '0' && key[0] <= '9') ? json_array_get(o, (size_t)atoi(key))
                                             : json_object_get(o, key);
        path = dot + 1;
    }
    o = (path[0] >= '0' && path[0] <= '9') ? json_array_get(o, (size_t)atoi(path))
                                           : json_object_get(o, path);
    return json_string_value(o);
}

/* The extension with this URL, or NULL. */
static json_t *ext(json_t *res, const char *url)
{
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(res, "extension"), i, x)
    {
        if (strcmp(str(x, "url"), url) == 0)
            return x;
    }
    return NULL;
}

static bool has_nopat(json_t *res, const char *system)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(json_object_get(res, "meta"), "security"), i, s)
    {
        if (strcmp(str(s, "code"), "NOPAT") == 0 && strcmp(str(s, "system"), system) == 0)
            return true;
    }
    return false;
}

START_TEST(test_fhir_write_r4_marker_flag)
{
    cse_record *r = make_record(true, true, false);
    json_t *b = run(r, false, NULL);
    json_t *flag = find(b, "Flag", 0), *x;
    char flag_id[37], obs_id[37], ref[64];

    ck_assert_str_eq(str(b, "resourceType"), "Bundle");
    ck_assert_str_eq(str(b, "type"), "collection");
    ck_assert_ptr_nonnull(flag);
    ck_assert_int_eq(count(b, "Flag"), 1);
    ck_assert_str_eq(str(flag, "meta.profile.0"), CSE_FHIR_FLAG_PROFILE);
    ck_assert(has_nopat(flag, CSE_FHIR_R4_ACTCODE));
    ck_assert_str_eq(str(flag, "status"), "active");
    ck_assert_str_eq(str(flag, "category.0.coding.0.system"), CSE_FHIR_FLAG_CATEGORY);
    ck_assert_str_eq(str(flag, "category.0.coding.0.code"), "safety");
    ck_assert_str_eq(str(flag, "category.1.coding.0.system"), CSE_FHIR_CS_CATEGORY);
    ck_assert_str_eq(str(flag, "category.1.coding.0.code"), "cse");
    ck_assert_str_eq(str(flag, "code.coding.0.system"), CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(str(flag, "code.coding.0.code"), "716565009");
    ck_assert_str_eq(str(flag, "code.coding.1.system"), CSE_SYSTEM_READ2);
    ck_assert_str_eq(str(flag, "code.coding.1.code"), "XaB12");
    ck_assert_str_eq(str(flag, "subject.identifier.system"), CSE_FHIR_NHS_NUMBER);
    ck_assert_str_eq(str(flag, "subject.identifier.value"), NHS);
    snprintf(ref, sizeof(ref), "Patient/%s", str(find(b, "Patient", 0), "id"));
    ck_assert_str_eq(str(flag, "subject.reference"), ref);
    ck_assert_str_eq(str(flag, "period.start"), "2024-03-01");
    ck_assert_ptr_null(json_object_get(json_object_get(flag, "period"), "end"));
    ck_assert_str_eq(str(flag, "author.reference"), "Practitioner/" GP_ID);
    ck_assert_str_eq(str(flag, "identifier.0.system"), CSE_FHIR_MARKER_ID_SYSTEM);
    ck_assert_str_eq(str(flag, "identifier.0.value"), MARKER_ID);
    /* Review date: the default six months after the start. */
    ck_assert_ptr_nonnull(x = ext(flag, CSE_FHIR_EXT_REVIEW_DATE));
    ck_assert_str_eq(str(x, "valueDate"), "2024-09-01");
    ck_assert_ptr_null(ext(flag, CSE_FHIR_EXT_END_REASON));
    /* Ids derived from the marker id, and flag-detail points to the form. */
    cse_uuid_derive(CSE_FHIR_BASE "/Flag", MARKER_ID, flag_id);
    cse_uuid_derive(CSE_FHIR_BASE "/Observation", MARKER_ID, obs_id);
    ck_assert_str_eq(str(flag, "id"), flag_id);
    ck_assert_ptr_nonnull(x = ext(flag, CSE_FHIR_FLAG_DETAIL));
    snprintf(ref, sizeof(ref), "Observation/%s", obs_id);
    ck_assert_str_eq(str(x, "valueReference.reference"), ref);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_r4_marker_observation_form)
{
    cse_record *r = make_record(false, true, true);
    json_t *b = run(r, false, NULL);
    json_t *flag = find(b, "Flag", 0), *obs = NULL, *x;
    char obs_id[37];
    int i;

    cse_uuid_derive(CSE_FHIR_BASE "/Observation", MARKER_ID, obs_id);
    for (i = 0; (x = find(b, "Observation", i)) != NULL; i++)
        if (strcmp(str(x, "id"), obs_id) == 0)
            obs = x;
    ck_assert_ptr_nonnull(obs);
    ck_assert_str_eq(str(obs, "meta.profile.0"), CSE_FHIR_OBS_PROFILE);
    ck_assert(has_nopat(obs, CSE_FHIR_R4_ACTCODE));
    ck_assert_str_eq(str(obs, "status"), "final");
    ck_assert_str_eq(str(obs, "category.0.coding.0.system"), CSE_FHIR_CS_CATEGORY);
    ck_assert_str_eq(str(obs, "category.0.coding.0.code"), "cse");
    ck_assert_str_eq(str(obs, "code.coding.0.code"), "716565009");
    ck_assert_str_eq(str(obs, "subject.identifier.value"), NHS);
    ck_assert_str_eq(str(obs, "effectivePeriod.start"), "2024-03-01");
    ck_assert_str_eq(str(obs, "effectivePeriod.end"), "2024-09-30");
    ck_assert_str_eq(str(obs, "performer.0.reference"), "Practitioner/" GP_ID);
    ck_assert_str_eq(str(obs, "identifier.0.value"), MARKER_ID);
    ck_assert_str_eq(str(ext(obs, CSE_FHIR_EXT_END_REASON), "valueCoding.system"),
                     CSE_FHIR_CS_END_REASON);
    ck_assert_str_eq(str(ext(obs, CSE_FHIR_EXT_END_REASON), "valueCoding.code"),
                     "no-longer-at-risk");
    ck_assert_ptr_nonnull(ext(obs, CSE_FHIR_EXT_REVIEW_DATE));
    /* The ended Flag: inactive, with an end and the same reason. */
    ck_assert_str_eq(str(flag, "status"), "inactive");
    ck_assert_str_eq(str(flag, "period.end"), "2024-09-30");
    ck_assert_str_eq(str(ext(flag, CSE_FHIR_EXT_END_REASON), "valueCoding.code"),
                     "no-longer-at-risk");
    /* The marker entry is not written a second time as a plain Observation. */
    for (i = 0; (x = find(b, "Observation", i)) != NULL; i++)
        ck_assert_str_ne(str(x, "id"), MARKER_ID);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_nopat_added_to_unlabelled_marker)
{
    cse_record *r = make_record(false, false, false);
    json_t *rep, *b = run(r, false, &rep);
    json_t *plain = find(b, "Observation", 0);

    ck_assert(has_nopat(find(b, "Flag", 0), CSE_FHIR_R4_ACTCODE));
    ck_assert(has_nopat(find(b, "Observation", 1), CSE_FHIR_R4_ACTCODE));
    /* The ordinary observation had no label and gets none. */
    ck_assert_str_eq(str(plain, "id"), OBS_ID);
    ck_assert_ptr_null(json_object_get(json_object_get(plain, "meta"), "security"));
    ck_assert_int_eq(json_integer_value(json_object_get(rep, "markers")), 1);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "nopatAdded")), 1);
    ck_assert_str_eq(str(rep, "nopatAdded.0.entry"), MARKER_ID);
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(rep, "nopatAdded"), 0), "line")),
                     50);
    json_decref(rep);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_nopat_labelled_marker_not_reported)
{
    cse_record *r = make_record(false, true, false);
    json_t *rep, *b = run(r, false, &rep);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "nopatAdded")), 0);
    json_decref(rep);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_nopat_inherited_from_composition)
{
    cse_record *r = make_record(true, false, false);
    json_t *b = run(r, false, NULL);
    json_t *enc = find(b, "Encounter", 0), *obs = find(b, "Observation", 0);

    ck_assert(has_nopat(enc, CSE_FHIR_R4_ACTCODE));
    ck_assert_str_eq(str(obs, "id"), OBS_ID);
    ck_assert(has_nopat(obs, CSE_FHIR_R4_ACTCODE));
    ck_assert_str_eq(str(obs, "encounter.reference"), "Encounter/" ENC_ID);
    /* The Patient carries the NHS number and no other identifier. */
    ck_assert_str_eq(str(find(b, "Patient", 0), "identifier.0.value"), NHS);
    ck_assert_ptr_null(json_object_get(find(b, "Patient", 0), "name"));
    ck_assert_ptr_null(json_object_get(find(b, "Patient", 0), "birthDate"));
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_stu3_nopat_system)
{
    cse_record *r = make_record(true, false, false);
    json_t *b = run(r, true, NULL);
    json_t *obs = find(b, "Observation", 0), *marker = find(b, "Observation", 1);

    ck_assert_str_eq(str(b, "meta.profile.0"), "https://fhir.nhs.uk/STU3/"
                                               "StructureDefinition/"
                                               "GPConnect-StructuredRecord-Bundle-1");
    ck_assert_int_eq(count(b, "Flag"), 0);
    ck_assert(has_nopat(find(b, "Encounter", 0), CSE_FHIR_STU3_ACTCODE));
    ck_assert(has_nopat(obs, CSE_FHIR_STU3_ACTCODE));
    ck_assert(!has_nopat(obs, CSE_FHIR_R4_ACTCODE));
    ck_assert(has_nopat(marker, CSE_FHIR_STU3_ACTCODE));
    ck_assert_str_eq(str(obs, "meta.profile.0"), "https://fhir.nhs.uk/STU3/"
                                                 "StructureDefinition/"
                                                 "CareConnect-GPC-Observation-1");
    ck_assert_str_eq(str(obs, "identifier.0.system"), "https://PSSAdaptor/A99001");
    ck_assert_str_eq(str(obs, "context.reference"), "Encounter/" ENC_ID);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_stu3_marker_observation)
{
    cse_record *r = make_record(false, false, true);
    json_t *b = run(r, true, NULL);
    json_t *m = find(b, "Observation", 1);

    ck_assert_str_eq(str(m, "id"), MARKER_ID);
    ck_assert(has_nopat(m, CSE_FHIR_STU3_ACTCODE));
    ck_assert_str_eq(str(m, "code.coding.0.code"), "716565009");
    ck_assert_str_eq(str(m, "effectivePeriod.start"), "2024-03-01");
    ck_assert_str_eq(str(m, "effectivePeriod.end"), "2024-09-30");
    ck_assert_str_eq(str(ext(m, CSE_FHIR_EXT_REVIEW_DATE), "valueDate"), "2024-09-01");
    ck_assert_str_eq(str(ext(m, CSE_FHIR_EXT_END_REASON), "valueCoding.code"),
                     "no-longer-at-risk");
    ck_assert_str_eq(str(m, "identifier.1.system"), CSE_FHIR_MARKER_ID_SYSTEM);
    ck_assert_str_eq(str(m, "identifier.1.value"), MARKER_ID);
    ck_assert_str_eq(str(m, "comment"),
                     "CSE marker v1 | status: inactive | category: cse "
                     "| review: 2024-09-01 | ended: 2024-09-30 | "
                     "end-reason: no-longer-at-risk");
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_ids_deterministic)
{
    cse_record *r = make_record(true, true, false);
    json_t *a = run(r, false, NULL), *b = run(r, false, NULL);
    char *sa = json_dumps(a, JSON_SORT_KEYS), *sb = json_dumps(b, JSON_SORT_KEYS);

    ck_assert_str_eq(sa, sb);
    ck_assert_str_eq(str(a, "id"), "B0000000-0000-4000-8000-000000000001");
    ck_assert_str_eq(str(find(a, "Encounter", 0), "id"), ENC_ID);
    free(sa);
    free(sb);
    json_decref(a);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_candidate_listed_not_flagged)
{
    cse_record *r = make_record(false, true, false);
    cse_entry *c = cse_entry_new(CSE_ENTRY_OBSERVATION, CAND_ID);
    json_t *rep, *b, *x;
    int i, found = 0;

    /* A SNOMED description id whose text names CSE: for review, not a marker. */
    cse_concept_add(&c->code, CSE_SYSTEM_SNOMED, "2793879015", NULL);
    cse_concept_set_text(&c->code, "Child sexual exploitation risk");
    c->effective_center = test_day(2024, 4, 2);
    c->source_line = 77;
    ck_assert_int_eq(cse_record_add_entry(r, c), CSE_OK);
    b = run(r, false, &rep);
    ck_assert_int_eq(count(b, "Flag"), 1);
    for (i = 0; (x = find(b, "Observation", i)) != NULL; i++)
        if (strcmp(str(x, "id"), CAND_ID) == 0) {
            found = 1;
            ck_assert_str_eq(str(x, "meta.profile.0"),
                             "https://fhir.hl7.org.uk/StructureDefinition/"
                             "UKCore-Observation");
        }
    ck_assert_int_eq(found, 1);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "candidates")), 1);
    ck_assert_str_eq(str(rep, "candidates.0.entry"), CAND_ID);
    ck_assert_str_eq(str(rep, "candidates.0.reason"),
                     cse_candidate_reason_name(CSE_CANDIDATE_DESCRIPTION_ID));
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(rep, "candidates"), 0), "line")),
                     77);
    json_decref(rep);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_losses_counted_by_kind)
{
    cse_record *r = make_record(false, true, false);
    json_t *rep, *b;
    const cse_fhir_write_report *wr;
    cse_sink *s;
    FILE *out = fopen("/dev/null", "w");

    ck_assert_int_eq(cse_record_add_entry(r, cse_entry_new(CSE_ENTRY_OTHER, "X1")),
                     CSE_OK);
    ck_assert_int_eq(cse_record_add_entry(r, cse_entry_new(CSE_ENTRY_OTHER, "X2")),
                     CSE_OK);
    b = run(r, false, &rep);
    /* The two unknown entries, by kind (the topic heading is a List now). */
    ck_assert_str_eq(str(rep, "losses.0.what"), "other");
    ck_assert_int_eq(json_integer_value(json_object_get(
                         json_array_get(json_object_get(rep, "losses"), 0), "count")),
                     2);
    ck_assert_int_eq(json_array_size(json_object_get(rep, "losses")), 1);
    ck_assert_int_eq(count(b, "List"), 2); /* the topic and its consultation */
    /* A sink that is not a FHIR writer has no report. */
    s = cse_record_sink_new(r);
    ck_assert_ptr_null(cse_fhir_writer_report(s));
    cse_sink_free(s);
    s = cse_fhir_r4_writer_new(out, NULL, NULL);
    wr = cse_fhir_writer_report(s);
    ck_assert_ptr_nonnull(wr);
    ck_assert_uint_eq(wr->resources, 0);
    cse_sink_free(s);
    fclose(out);
    json_decref(rep);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_report_text_names_no_record_text)
{
    cse_record *r = make_record(false, false, false);
    cse_entry *c = cse_entry_new(CSE_ENTRY_OBSERVATION, CAND_ID);
    char *buf = NULL, *bbuf = NULL;
    size_t len = 0, blen = 0;
    FILE *out = open_memstream(&buf, &len), *bout = open_memstream(&bbuf, &blen);
    cse_sink *s = cse_fhir_r4_writer_new(bout, NULL, NULL);

    cse_concept_set_text(&c->code, "Sexually exploited - seen by Alex Example");
    c->source_line = 9;
    cse_record_add_entry(r, c);
    ck_assert_int_eq(cse_record_replay(r, NULL, s, NULL), CSE_OK);
    ck_assert_int_eq(cse_fhir_write_report_print(cse_fhir_writer_report(s), out, 0, NULL),
                     CSE_OK);
    fclose(out);
    fclose(bout);
    ck_assert_ptr_nonnull(
        strstr(buf, "NOPAT added: marker entry " MARKER_ID " (line 50)"));
    ck_assert_ptr_nonnull(strstr(buf, "review candidate: entry " CAND_ID " (line 9)"));
    ck_assert_ptr_null(strstr(buf, "Alex"));
    ck_assert_ptr_null(strstr(buf, NHS));
    cse_sink_free(s);
    free(buf);
    free(bbuf);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_io_error_reported)
{
    cse_record *r = make_record(false, true, false);
    FILE *out = fopen("/dev/full", "w");
    cse_error err;
    cse_sink *s;

    if (out == NULL)
        return; /* no /dev/full on this system */
    cse_error_clear(&err);
    s = cse_fhir_stu3_writer_new(out, NULL, &err);
    ck_assert_int_eq(cse_record_replay(r, NULL, s, &err), CSE_ERR_IO);
    ck_assert_int_eq(err.code, CSE_ERR_IO);
    ck_assert_ptr_null(cse_fhir_r4_writer_new(NULL, NULL, NULL));
    cse_sink_free(s);
    fclose(out);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_author_falls_back_to_practice)
{
    cse_record *r = cse_record_new();
    cse_time start = test_day(2024, 1, 15);
    cse_marker *m = cse_marker_new("713834002", &start, NULL, 0, MARKER_ID, NULL);
    cse_extract_info info = {0};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cse_sink *s = cse_fhir_r4_writer_new(out, NULL, NULL);
    json_t *b, *flag, *org;

    cse_strset(&cse_record_patient(r)->nhs_number, NHS);
    cse_record_add_marker(r, m);
    info.patient = cse_record_patient(r);
    info.author_ods = "A99001";
    info.extract_id = "E1";
    ck_assert_int_eq(cse_record_replay(r, &info, s, NULL), CSE_OK);
    fclose(out);
    b = json_loads(buf, 0, NULL);
    ck_assert_ptr_nonnull(b);
    flag = find(b, "Flag", 0);
    org = find(b, "Organization", 0);
    ck_assert_str_eq(str(org, "identifier.0.system"), CSE_FHIR_ODS);
    ck_assert_str_eq(str(org, "identifier.0.value"), "A99001");
    ck_assert_str_eq(strchr(str(flag, "author.reference"), '/') + 1, str(org, "id"));
    ck_assert_str_eq(str(flag, "code.coding.0.display"),
                     "Victim of child sexual exploitation");
    json_decref(b);
    cse_sink_free(s);
    free(buf);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_times_carry_uk_offset)
{
    cse_time winter = {2010, 1, 18, 9, 39, 0, CSE_TIME_MINUTE};
    cse_time summer = {2010, 6, 30, 5, 59, 0, CSE_TIME_MINUTE};
    cse_time day = test_day(2010, 6, 30);
    cse_record *r = make_record(false, true, false);
    cse_entry *e = cse_record_entry(r, 2);
    json_t *b;

    e->effective_center = summer;
    e->availability = winter;
    b = run(r, false, NULL);
    ck_assert_str_eq(str(find(b, "Observation", 0), "effectiveDateTime"),
                     "2010-06-30T05:59:00+01:00");
    ck_assert_str_eq(str(find(b, "Observation", 0), "issued"),
                     "2010-01-18T09:39:00+00:00");
    json_decref(b);
    e->effective_center = day;
    b = run(r, false, NULL);
    ck_assert_str_eq(str(find(b, "Observation", 0), "effectiveDateTime"), "2010-06-30");
    json_decref(b);
    cse_record_free(r);
}
END_TEST

/* A composition with a problem named after a Read-coded statement: the
 * problem comes before (before=true) or after the statement. */
static cse_record *problem_record(bool before, bool statement_nopat)
{
    cse_record *r = cse_record_new();
    cse_entry *enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, ENC_ID);
    cse_entry *obs = cse_entry_new(CSE_ENTRY_OBSERVATION, OBS_ID);
    cse_entry *ls =
        cse_entry_new(CSE_ENTRY_PROBLEM, "E1B2C3D4-0000-4000-8000-00000000000A");
    cse_entry *empty =
        cse_entry_new(CSE_ENTRY_ENCOUNTER, "F1B2C3D4-0000-4000-8000-00000000000B");

    cse_strset(&cse_record_patient(r)->nhs_number, NHS);
    cse_strset(&cse_record_patient(r)->ods, "A99001");
    cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "25671000000102", NULL);
    cse_concept_add(&obs->code, CSE_SYSTEM_READ2, "H33..", "Asthma");
    cse_strset(&obs->parent_id, ENC_ID);
    obs->labels = statement_nopat ? CSE_LABEL_NOPAT : 0;
    cse_concept_add(&ls->code, CSE_SYSTEM_SNOMED, "394775005", "Inactive problem");
    cse_strset(&ls->parent_id, ENC_ID);
    cse_entry_add_link(ls, OBS_ID);
    cse_concept_add(&empty->code, CSE_SYSTEM_SNOMED, "25671000000102", NULL);
    cse_record_add_entry(r, enc);
    if (before) {
        cse_record_add_entry(r, ls);
        cse_record_add_entry(r, obs);
    } else {
        cse_record_add_entry(r, obs);
        cse_record_add_entry(r, ls);
    }
    /* A composition whose contents the reader did not deliver (EhrEmpty). */
    cse_record_add_entry(r, empty);
    return r;
}

START_TEST(test_fhir_write_problem_coded_by_named_statement)
{
    cse_record *r = problem_record(false, false);
    json_t *b = run(r, false, NULL), *c = find(b, "Condition", 0);

    ck_assert_str_eq(str(c, "code.coding.0.code"), "H33..");
    ck_assert_str_eq(str(c, "clinicalStatus.coding.0.code"), "inactive");
    ck_assert_ptr_null(json_object_get(json_object_get(c, "meta"), "security"));
    json_decref(b);
    b = run(r, true, NULL);
    c = find(b, "Condition", 0);
    /* STU3: the adaptor's degraded code first, then the Read code. */
    ck_assert_str_eq(str(c, "code.coding.0.code"), "196411000000103");
    ck_assert_str_eq(str(c, "code.coding.1.code"), "H33..");
    ck_assert_str_eq(str(c, "extension.0.valueReference.reference"),
                     "Observation/" OBS_ID);
    ck_assert_str_eq(str(c, "clinicalStatus"), "inactive");
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_problem_labelled_by_later_nopat_statement)
{
    cse_record *r = problem_record(true, true);
    json_t *b = run(r, true, NULL);

    /* The LinkSet came first: it is held to the end of its composition. */
    ck_assert(has_nopat(find(b, "Condition", 0), CSE_FHIR_STU3_ACTCODE));
    ck_assert_str_eq(str(find(b, "Condition", 0), "code.coding.1.code"), "H33..");
    json_decref(b);
    b = run(r, false, NULL);
    ck_assert(has_nopat(find(b, "Condition", 0), CSE_FHIR_R4_ACTCODE));
    json_decref(b);
    cse_record_free(r);
}
END_TEST

START_TEST(test_fhir_write_stu3_degraded_code_and_empty_composition)
{
    cse_record *r = problem_record(false, false);
    json_t *rep, *b = run(r, true, &rep), *obs = find(b, "Observation", 0);

    ck_assert_str_eq(str(obs, "code.coding.0.system"), CSE_SYSTEM_SNOMED);
    ck_assert_str_eq(str(obs, "code.coding.0.code"), "196411000000103");
    ck_assert_str_eq(str(obs, "code.coding.1.code"), "H33..");
    /* The composition with no delivered entries is no Encounter in STU3. */
    ck_assert_int_eq(count(b, "Encounter"), 1);
    ck_assert_str_eq(str(find(b, "Encounter", 0), "id"), ENC_ID);
    ck_assert_str_eq(str(rep, "losses.0.what"), "ehrComposition without entries");
    json_decref(rep);
    json_decref(b);
    /* R4 keeps the codes as sent and writes every composition. */
    b = run(r, false, NULL);
    ck_assert_str_eq(str(find(b, "Observation", 0), "code.coding.0.code"), "H33..");
    ck_assert_int_eq(count(b, "Encounter"), 2);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

/* One entry of each kind in a composition; returns the record. */
static cse_record *kinds_record(void)
{
    static const struct {
        cse_entry_kind kind;
        const char *id, *code;
    } k[] = {
        {CSE_ENTRY_ALLERGY, "A0000000-0000-4000-8000-000000000001", "91936005"},
        {CSE_ENTRY_IMMUNIZATION, "A0000000-0000-4000-8000-000000000002", "38598009"},
        {CSE_ENTRY_MEDICATION, "A0000000-0000-4000-8000-000000000003", "322236009"},
        {CSE_ENTRY_PLAN, "A0000000-0000-4000-8000-000000000004", "182836005"},
        {CSE_ENTRY_REQUEST, "A0000000-0000-4000-8000-000000000005", "183561008"},
        {CSE_ENTRY_COMPOUND, "A0000000-0000-4000-8000-000000000006", "75367002"},
        {CSE_ENTRY_OBSERVATION, "A0000000-0000-4000-8000-000000000007", "163030003"},
        {CSE_ENTRY_OTHER, "A0000000-0000-4000-8000-000000000008", "1234"},
    };
    cse_record *r = cse_record_new();
    cse_entry *enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, ENC_ID);

    cse_strset(&cse_record_patient(r)->nhs_number, NHS);
    cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "25671000000102", NULL);
    cse_record_add_entry(r, enc);
    for (size_t i = 0; i < sizeof(k) / sizeof(k[0]); i++) {
        cse_entry *e = cse_entry_new(k[i].kind, k[i].id);
        cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, k[i].code, NULL);
        /* The observation sits in the battery before it. */
        cse_strset(&e->parent_id,
                   k[i].kind == CSE_ENTRY_OBSERVATION ? k[i - 1].id : ENC_ID);
        if (k[i].kind == CSE_ENTRY_COMPOUND)
            cse_strset(&e->compound_class, "battery");
        e->effective_center = test_day(2024, 5, 1);
        cse_record_add_entry(r, e);
    }
    return r;
}

START_TEST(test_fhir_write_entry_kinds_map_to_resources)
{
    cse_record *r = kinds_record();
    json_t *rep, *b = run(r, false, &rep);

    ck_assert_str_eq(str(find(b, "AllergyIntolerance", 0), "code.coding.0.code"),
                     "91936005");
    ck_assert_str_eq(str(find(b, "Immunization", 0), "vaccineCode.coding.0.code"),
                     "38598009");
    ck_assert_str_eq(str(find(b, "Immunization", 0), "occurrenceDateTime"), "2024-05-01");
    ck_assert_str_eq(
        str(find(b, "MedicationStatement", 0), "medicationCodeableConcept.coding.0.code"),
        "322236009");
    ck_assert_str_eq(str(find(b, "ServiceRequest", 0), "intent"), "plan");
    ck_assert_str_eq(str(find(b, "ServiceRequest", 1), "intent"), "order");
    ck_assert_str_eq(str(find(b, "ServiceRequest", 1), "category.0.coding.0.code"),
                     "3457005");
    /* The battery is an Observation; its member points to it. */
    ck_assert_str_eq(str(find(b, "Observation", 0), "id"),
                     "A0000000-0000-4000-8000-000000000006");
    ck_assert_str_eq(str(find(b, "Observation", 1), "derivedFrom.0.reference"),
                     "Observation/A0000000-0000-4000-8000-000000000006");
    ck_assert_str_eq(str(find(b, "Observation", 1), "encounter.reference"),
                     "Encounter/" ENC_ID);
    ck_assert_str_eq(str(rep, "losses.0.what"), "other");
    json_decref(rep);
    json_decref(b);
    b = run(r, true, NULL);
    ck_assert_str_eq(
        str(find(b, "Immunization", 0), "extension.0.valueCodeableConcept.coding.0.code"),
        "38598009");
    ck_assert_str_eq(str(find(b, "ProcedureRequest", 0), "intent"), "plan");
    ck_assert_str_eq(str(find(b, "ReferralRequest", 0), "reasonCode.0.coding.0.code"),
                     "183561008");
    ck_assert_str_eq(str(find(b, "Observation", 1), "related.0.target.reference"),
                     "Observation/A0000000-0000-4000-8000-000000000006");
    ck_assert_int_eq(count(b, "MedicationStatement"), 1);
    json_decref(b);
    cse_record_free(r);
}
END_TEST

/* A composition whose effectiveTime has only an end (and no availability
 * time to fall back on) keeps that end in both versions: R4 used to write
 * no period at all. */
START_TEST(test_fhir_write_encounter_end_only_period_kept)
{
    cse_record *r = cse_record_new();
    cse_entry *enc = cse_entry_new(CSE_ENTRY_ENCOUNTER, ENC_ID);
    cse_entry *obs = cse_entry_new(CSE_ENTRY_OBSERVATION, OBS_ID);
    json_t *b;

    cse_strset(&cse_record_patient(r)->nhs_number, NHS);
    cse_concept_add(&enc->code, CSE_SYSTEM_SNOMED, "25671000000102", NULL);
    enc->effective_high = test_day(2024, 3, 2);
    ck_assert_int_eq(cse_record_add_entry(r, enc), CSE_OK);
    cse_strset(&obs->parent_id, ENC_ID);
    cse_concept_add(&obs->code, CSE_SYSTEM_SNOMED, "23986001", NULL);
    obs->effective_center = test_day(2024, 3, 1);
    ck_assert_int_eq(cse_record_add_entry(r, obs), CSE_OK);
    for (int stu3 = 0; stu3 < 2; stu3++) {
        json_t *e;
        b = run(r, stu3, NULL);
        ck_assert_ptr_nonnull(e = find(b, "Encounter", 0));
        ck_assert_str_eq(str(e, "period.end"), "2024-03-02");
        ck_assert_ptr_null(str(e, "period.start"));
        json_decref(b);
    }
    cse_record_free(r);
}
END_TEST

/* A reader that could not build the marker of a marker entry still passes
 * the entry on: it is written as an ordinary resource and listed for review. */
START_TEST(test_fhir_write_damaged_marker_listed_not_dropped)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    cse_sink *s = cse_fhir_r4_writer_new(out, NULL, NULL);
    cse_entry *e = cse_entry_new(CSE_ENTRY_OBSERVATION, MARKER_ID);
    cse_entry_info info = {CSE_CLASS_MARKER, CSE_CANDIDATE_NONE, NULL};
    cse_extract_info xi = {0};
    cse_summary sum = {0};
    const cse_fhir_write_report *rep;
    json_t *b;

    cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, "716565009", NULL);
    e->source_line = 12;
    ck_assert_int_eq(s->begin(s, &xi, NULL), CSE_OK);
    ck_assert_int_eq(s->entry(s, e, &info, NULL), CSE_OK);
    ck_assert_int_eq(s->end(s, &sum, NULL), CSE_OK);
    fclose(out);
    ck_assert_ptr_nonnull(b = json_loadb(buf, len, 0, NULL));
    ck_assert_int_eq(count(b, "Flag"), 0);
    ck_assert_str_eq(str(find(b, "Observation", 0), "id"), MARKER_ID);
    rep = cse_fhir_writer_report(s);
    ck_assert_uint_eq(rep->markers, 0);
    ck_assert_uint_eq(rep->n_candidates, 1);
    ck_assert_int_eq(rep->candidates[0].reason, CSE_CANDIDATE_DAMAGED);
    ck_assert_int_eq(rep->candidates[0].line, 12);
    json_decref(b);
    cse_entry_free(e);
    cse_sink_free(s);
    free(buf);
}
END_TEST

Suite *make_fhir_write_suite(void)
{
    Suite *s = suite_create("fhir_write");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_fhir_write_r4_marker_flag);
    tcase_add_test(tc, test_fhir_write_r4_marker_observation_form);
    tcase_add_test(tc, test_fhir_write_nopat_added_to_unlabelled_marker);
    tcase_add_test(tc, test_fhir_write_nopat_labelled_marker_not_reported);
    tcase_add_test(tc, test_fhir_write_nopat_inherited_from_composition);
    tcase_add_test(tc, test_fhir_write_stu3_nopat_system);
    tcase_add_test(tc, test_fhir_write_stu3_marker_observation);
    tcase_add_test(tc, test_fhir_write_ids_deterministic);
    tcase_add_test(tc, test_fhir_write_candidate_listed_not_flagged);
    tcase_add_test(tc, test_fhir_write_losses_counted_by_kind);
    tcase_add_test(tc, test_fhir_write_report_text_names_no_record_text);
    tcase_add_test(tc, test_fhir_write_io_error_reported);
    tcase_add_test(tc, test_fhir_write_author_falls_back_to_practice);
    tcase_add_test(tc, test_fhir_write_times_carry_uk_offset);
    tcase_add_test(tc, test_fhir_write_problem_coded_by_named_statement);
    tcase_add_test(tc, test_fhir_write_problem_labelled_by_later_nopat_statement);
    tcase_add_test(tc, test_fhir_write_stu3_degraded_code_and_empty_composition);
    tcase_add_test(tc, test_fhir_write_entry_kinds_map_to_resources);
    tcase_add_test(tc, test_fhir_write_damaged_marker_listed_not_dropped);
    tcase_add_test(tc, test_fhir_write_encounter_end_only_period_kept);
    suite_add_tcase(s, tc);
    return s;
}
