/* SPDX-License-Identifier: MIT */
/* The one mapping from the record model to FHIR, part one: the version
 * table, the Patient and the agent directory, and each statement (Encounter,
 * Observation, Condition, AllergyIntolerance, Immunization, requests,
 * DocumentReference) and marker, written by one function for both versions.
 *
 * What differs between STU3 (GP Connect, in the shape of the national
 * requesting adaptor) and R4 (UK Core) as plain values (resource types,
 * profiles, the element naming the encounter, code systems) is in the table
 * below; where the shape differs, the function tests w->stu3 at that
 * element. Medication, pathology, Lists and Locations are in fhir_map.c. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fhir_write_common.h"

#define GPC "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-"
#define UKCORE "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"

/* ---- The version table --------------------------------------------------- */

/* Per resource: type, profile, the element naming the encounter, and
 * whether it carries the sending system's identifier. STU3 first. */
static const cse__fw_version stu3_version = {
    .res =
        {
            [CSE__FW_P_PATIENT] = {"Patient", GPC "Patient-1", NULL, false},
            [CSE__FW_P_ORGANIZATION] = {"Organization", GPC "Organization-1", NULL, true},
            [CSE__FW_P_PRACTITIONER] = {"Practitioner", GPC "Practitioner-1", NULL,
                                        false},
            [CSE__FW_P_ENCOUNTER] = {"Encounter", GPC "Encounter-1", NULL, true},
            [CSE__FW_P_OBSERVATION] = {"Observation", GPC "Observation-1", "context",
                                       true},
            [CSE__FW_P_CONDITION] = {"Condition", GPC "ProblemHeader-Condition-1",
                                     "context", true},
            /* STU3 names the encounter in an extension. */
            [CSE__FW_P_ALLERGY] = {"AllergyIntolerance", GPC "AllergyIntolerance-1", NULL,
                                   true},
            [CSE__FW_P_IMMUNIZATION] = {"Immunization", GPC "Immunization-1", "encounter",
                                        true},
            [CSE__FW_P_PLAN] = {"ProcedureRequest", GPC "ProcedureRequest-1", "context",
                                true},
            [CSE__FW_P_REFERRAL] = {"ReferralRequest", GPC "ReferralRequest-1", "context",
                                    true},
            [CSE__FW_P_DOCUMENT] = {"DocumentReference", GPC "DocumentReference-1", NULL,
                                    true},
            [CSE__FW_P_MEDICATION] = {"Medication", GPC "Medication-1", NULL, false},
            [CSE__FW_P_MEDREQ] = {"MedicationRequest", GPC "MedicationRequest-1",
                                  "context", true},
            [CSE__FW_P_MEDSTMT] = {"MedicationStatement", GPC "MedicationStatement-1",
                                   "context", true},
            [CSE__FW_P_SPECIMEN] = {"Specimen", GPC "Specimen-1", NULL, true},
            [CSE__FW_P_REPORT] = {"DiagnosticReport", GPC "DiagnosticReport-1", "context",
                                  true},
            [CSE__FW_P_LIST] = {"List", GPC "List-1", "encounter", false},
            [CSE__FW_P_LOCATION] = {"Location", GPC "Location-1", NULL, true},
            /* GP Connect structured records carry no Flag: a marker is one
             * Observation. */
            [CSE__FW_P_MARKER] = {"Observation", GPC "Observation-1", "context", true},
            [CSE__FW_P_MARKER_DETAIL] = {NULL, NULL, NULL, false},
        },
    .null_flavor = "http://hl7.org/fhir/v3/NullFlavor",
    .actcode = CSE_FHIR_STU3_ACTCODE,
    .descid_ext =
        "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-coding-sctdescid",
    .interpretation = "http://hl7.org/fhir/v2/0078",
    .list_order = "http://hl7.org/fhir/list-order",
    .bundle_profile = "https://fhir.nhs.uk/STU3/StructureDefinition/"
                      "GPConnect-StructuredRecord-Bundle-1",
};

static const cse__fw_version r4_version = {
    .res =
        {
            [CSE__FW_P_PATIENT] = {"Patient", UKCORE "Patient", NULL, false},
            [CSE__FW_P_ORGANIZATION] = {"Organization", UKCORE "Organization", NULL,
                                        false},
            [CSE__FW_P_PRACTITIONER] = {"Practitioner", UKCORE "Practitioner", NULL,
                                        false},
            [CSE__FW_P_ENCOUNTER] = {"Encounter", UKCORE "Encounter", NULL, false},
            [CSE__FW_P_OBSERVATION] = {"Observation", UKCORE "Observation", "encounter",
                                       false},
            [CSE__FW_P_CONDITION] = {"Condition", UKCORE "Condition", "encounter", false},
            [CSE__FW_P_ALLERGY] = {"AllergyIntolerance", UKCORE "AllergyIntolerance",
                                   "encounter", false},
            [CSE__FW_P_IMMUNIZATION] = {"Immunization", UKCORE "Immunization",
                                        "encounter", false},
            [CSE__FW_P_PLAN] = {"ServiceRequest", UKCORE "ServiceRequest", "encounter",
                                false},
            [CSE__FW_P_REFERRAL] = {"ServiceRequest", UKCORE "ServiceRequest",
                                    "encounter", false},
            [CSE__FW_P_DOCUMENT] = {"DocumentReference", UKCORE "DocumentReference", NULL,
                                    false},
            [CSE__FW_P_MEDICATION] = {"Medication", UKCORE "Medication", NULL, false},
            [CSE__FW_P_MEDREQ] = {"MedicationRequest", UKCORE "MedicationRequest",
                                  "encounter", false},
            [CSE__FW_P_MEDSTMT] = {"MedicationStatement", UKCORE "MedicationStatement",
                                   "context", false},
            [CSE__FW_P_SPECIMEN] = {"Specimen", UKCORE "Specimen", NULL, false},
            [CSE__FW_P_REPORT] = {"DiagnosticReport", UKCORE "DiagnosticReport-Lab",
                                  "encounter", false},
            [CSE__FW_P_LIST] = {"List", UKCORE "List", "encounter", false},
            [CSE__FW_P_LOCATION] = {"Location", UKCORE "Location", NULL, false},
            /* Our Flag, and the Observation that carries the same marker. */
            [CSE__FW_P_MARKER] = {"Flag", CSE_FHIR_FLAG_PROFILE, "encounter", false},
            [CSE__FW_P_MARKER_DETAIL] = {"Observation", CSE_FHIR_OBS_PROFILE, "encounter",
                                         false},
        },
    .null_flavor = "http://terminology.hl7.org/CodeSystem/v3-NullFlavor",
    .actcode = CSE_FHIR_R4_ACTCODE,
    .descid_ext = "https://fhir.hl7.org.uk/StructureDefinition/"
                  "Extension-UKCore-CodingSCTDescId",
    .interpretation =
        "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation",
    .list_order = "http://terminology.hl7.org/CodeSystem/list-order",
    .bundle_profile = NULL,
};

const cse__fw_version *cse__fw_version_of(bool stu3)
{
    return stu3 ? &stu3_version : &r4_version;
}

const cse__fw_resource *cse__fw_res(const cse__fhirw *w, cse__fw_profile_id p)
{
    return &w->v->res[p];
}

cse__jw *cse__fw_start(cse__fhirw *w, cse__fw_profile_id p, const char *id, bool nopat)
{
    const cse__fw_resource *r = cse__fw_res(w, p);
    char uuid[37];
    cse__jw *res, *meta, *type;

    if (id == NULL) {
        if (cse_uuid_random(uuid) != CSE_OK)
            return NULL;
        id = uuid;
    }
    /* What cse__jw_pack("{s:s,s:s,s:o}") made, without reading a format
     * for every resource; the type's string value is shared. */
    meta = cse__fw_meta(w, r->profile, nopat);
    type = cse__fw_keep_string(w, &w->type_value[p], r->type);
    if ((res = cse__jw_object(w->jw)) == NULL || type == NULL ||
        CSE__FW_PUT(w, res, "resourceType", type) ||
        CSE__FW_PUT(w, res, "id", cse__jw_string(w->jw, id)) ||
        CSE__FW_PUT(w, res, "meta", meta))
        return NULL;
    if (r->identifier && w->identifier_system &&
        !cse__fw_set(w, res, "identifier",
                     cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", w->identifier_system,
                                  "value", id)))
        return NULL;
    return res;
}

bool cse__fw_encounter(const cse__fhirw *w, cse__jw *res, cse__fw_profile_id p,
                       const char *enc)
{
    const char *key = w->v->res[p].enc;
    return key == NULL || cse__fw_set(w, res, key, cse__fw_ref(w, "Encounter", enc));
}

/* ---- Small pieces the statements share ------------------------------------ */

/* The adaptor's transfer-degraded codes, added in STU3 to a concept with no
 * SNOMED CT code (GP Connect requires one). */
#define DEGRADED_OTHER "196411000000103", "Transfer-degraded record entry"
#define DEGRADED_PLAN "196451000000104", "Transfer-degraded plan"
#define DEGRADED_REFERRAL "196431000000106", "Transfer-degraded referral"
#define DEGRADED_DRUG_ALLERGY "196461000000101", "Transfer-degraded drug allergy"
#define DEGRADED_NON_DRUG_ALLERGY "196471000000108", "Transfer-degraded non-drug allergy"

/* A concept as the version codes it: STU3 with the transfer-degraded code
 * when it has no SNOMED CT coding, R4 as sent (NULL when empty). */
static cse__jw *coded(const cse__fhirw *w, const cse_concept *c, const char *code,
                      const char *display)
{
    cse__jw *cc = cse__fw_concept(w, c);
    return w->stu3 ? cse__fw_degrade(w, cc, code, display) : cc;
}

static cse__jw *unknown_code(const cse__fhirw *w, bool with_display)
{
    return cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s*}]}", "coding", "system",
                        w->v->null_flavor, "code", "UNK", "display",
                        with_display ? "unknown" : NULL);
}

/* A concept, or the null flavour "unknown" when it is empty. */
static cse__jw *code_or_unknown(const cse__fhirw *w, const cse_concept *c)
{
    cse__jw *cc = cse__fw_concept(w, c);
    return cc ? cc : unknown_code(w, true);
}

/* Who recorded or asserted an entry. R4 (UK Core) allows only a person
 * there: an organisation agent gives NULL. STU3 names any agent, as the
 * adaptor does. */
static cse__jw *recorder_ref(const cse__fhirw *w, const char *agent_id)
{
    const cse_agent *a = cse__fw_find_agent(w, agent_id);

    if (w->stu3)
        return cse__fw_agent_ref(w, agent_id);
    if (agent_id == NULL || (a && a->kind == CSE_AGENT_ORGANISATION))
        return NULL;
    return cse__fw_ref(w, "Practitioner", agent_id);
}

/* A requester: a reference in R4, wrapped as {"agent": ...} in STU3. */
static cse__jw *requester(const cse__fhirw *w, const char *agent_id)
{
    cse__jw *who = cse__fw_agent_ref(w, agent_id);
    if (who == NULL || !w->stu3)
        return who;
    return cse__jw_pack(w->jw, "{s:o}", "agent", who);
}

/* An instant needs a time to the minute at least and a zone. */
static cse__jw *instant(const cse__fhirw *w, const cse_time *t)
{
    return t->precision >= CSE_TIME_MINUTE ? cse__fw_time(w, t) : NULL;
}

/* Moves identifier after the members set since, as the adaptor orders them
 * (an extension before the identifier). */
static void identifier_last(const cse__fhirw *w, cse__jw *res)
{
    cse__jw *ids = cse__jw_object_get(res, "identifier");
    if (ids) {
        cse__jw_object_del(res, "identifier");
        cse__fw_set(w, res, "identifier", ids);
    }
}

/* A narrative's text and the annotations joined into one comment, as the
 * adaptor writes STU3's Observation.comment. */
static cse__jw *comment(const cse__fhirw *w, const cse_entry *e)
{
    const char *text =
        e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0 ? e->code.text : NULL;
    size_t len = 1 + (text ? strlen(text) + 1 : 0);
    char *buf;
    cse__jw *s;

    if (e->n_annotations == 0 && text == NULL)
        return NULL;
    for (size_t i = 0; i < e->n_annotations; i++)
        len += strlen(e->annotations[i]) + 1;
    if ((buf = malloc(len)) == NULL)
        return NULL;
    strcpy(buf, text ? text : "");
    for (size_t i = 0; i < e->n_annotations; i++) {
        if (buf[0])
            strcat(buf, " ");
        strcat(buf, e->annotations[i]);
    }
    s = cse__jw_string(w->jw, buf);
    free(buf);
    return s;
}

/* ---- Patient and agents ------------------------------------------------------ */

cse_code cse__fw_map_patient(cse__fhirw *w, const cse_extract_info *info, cse_error *err)
{
    const cse_patient *p = info ? info->patient : NULL;
    cse__jw *res, *ids;
    cse_code rc;

    res = cse__fw_start(w, CSE__FW_P_PATIENT, w->patient_id, false);
    if (res == NULL || (ids = cse__jw_array(w->jw)) == NULL)
        return cse__fw_emit(w, NULL, err);
    if (w->nhs_number)
        cse__jw_array_append(w->jw, ids,
                             cse__jw_pack(w->jw, "{s:s,s:s}", "system",
                                          CSE_FHIR_NHS_NUMBER, "value", w->nhs_number));
    else if (p && p->local_id && !w->stu3) {
        char sys[300];
        snprintf(sys, sizeof(sys), "urn:oid:%s",
                 p->local_id_root ? p->local_id_root : "2.16.840.1.113883.2.1.3.2.4.9");
        cse__jw_array_append(
            w->jw, ids,
            cse__jw_pack(w->jw, "{s:s,s:s}", "system", sys, "value", p->local_id));
    }
    if (cse__jw_array_size(ids))
        cse__fw_set(w, res, "identifier", ids);
    /* R4 names the sending practice, so that a marker without an author
     * agent can still name who recorded it; the adaptor's STU3 does not. */
    if (w->stu3 || w->org_id == NULL)
        return cse__fw_emit(w, res, err);
    cse__fw_set(w, res, "managingOrganization",
                cse__fw_ref(w, "Organization", w->org_id));
    if ((rc = cse__fw_emit(w, res, err)) != CSE_OK)
        return rc;
    res = cse__fw_start(w, CSE__FW_P_ORGANIZATION, w->org_id, false);
    cse__fw_set(w, res, "identifier",
                cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_ODS, "value",
                             info->author_ods));
    return cse__fw_emit(w, res, err);
}

cse_code cse__fw_map_agent(cse__fhirw *w, const cse_agent *a, cse_error *err)
{
    cse__jw *res;

    if (a->kind == CSE_AGENT_ORGANISATION) {
        res = cse__fw_start(w, CSE__FW_P_ORGANIZATION, a->id, false);
        if (res && a->ods)
            cse__fw_set(w, res, "identifier",
                        cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_ODS,
                                     "value", a->ods));
        if (res && a->name)
            cse__fw_set(w, res, "name", cse__jw_string(w->jw, a->name));
        return cse__fw_emit(w, res, err);
    }
    res = cse__fw_start(w, CSE__FW_P_PRACTITIONER, a->id, false);
    if (res && a->name)
        cse__fw_set(w, res, "name",
                    cse__jw_pack(w->jw, "[{s:s*,s:s}]", "use",
                                 w->stu3 ? "official" : NULL, "text", a->name));
    return cse__fw_emit(w, res, err);
}

/* ---- Statements ------------------------------------------------------------- */

static cse__jw *observation(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_OBSERVATION, e->id, cse__fw_entry_nopat(e));
    const char *pc = cse__fw_parent_class(w, e);
    bool comment_note = e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0;

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "final"));
    if (comment_note)
        cse__fw_set(w, res, "code",
                    cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system",
                                 CSE_SYSTEM_SNOMED, "code", "37331000000100", "display",
                                 "Comment note"));
    else if (w->stu3)
        cse__fw_set(w, res, "code", coded(w, &e->code, DEGRADED_OTHER));
    else
        cse__fw_set(w, res, "code", code_or_unknown(w, &e->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_OBSERVATION, enc);
    cse__fw_set_effective(w, res, e, cse__fw_obs_time(w, e));
    /* The adaptor's STU3 takes the consultation's time when it has one. */
    cse__fw_set(w, res, "issued",
                instant(w, w->stu3 && w->enc_authored.precision != CSE_TIME_NONE
                               ? &w->enc_authored
                               : &e->availability));
    if (cse__fw_performer(w, e))
        cse__fw_set(
            w, res, "performer",
            cse__jw_pack(w->jw, "[o]", cse__fw_agent_ref(w, cse__fw_performer(w, e))));
    /* An uncoded narrative's text: R4's value, STU3's comment. */
    if (!w->stu3 && comment_note && e->code.text)
        cse__fw_set(w, res, "valueString", cse__jw_string(w->jw, e->code.text));
    else
        cse__fw_obs_value(w, res, e);
    if (w->stu3)
        cse__fw_set(w, res, "comment", comment(w, e));
    else
        cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    if (e->path.specimen_id && e->path.role == CSE_PATH_RESULT)
        cse__fw_set(w, res, "specimen", cse__fw_ref(w, "Specimen", e->path.specimen_id));
    /* A cluster inside a laboratory report is no resource of its own: its
     * results point to their specimen instead. */
    if (pc && (strcmp(pc, "battery") == 0 ||
               (strcmp(pc, "cluster") == 0 && e->path.role == CSE_PATH_NONE))) {
        cse__jw *parent = cse__fw_ref(w, "Observation", e->parent_id);
        if (w->stu3)
            cse__fw_set(w, res, "related",
                        cse__jw_pack(w->jw, "[{s:s,s:o}]", "type", "derived-from",
                                     "target", parent));
        else
            cse__fw_set(w, res, "derivedFrom", cse__jw_pack(w->jw, "[o]", parent));
    }
    return res;
}

static cse__jw *encounter(cse__fhirw *w, const cse_entry *e)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_ENCOUNTER, e->id, cse__fw_entry_nopat(e));
    cse__jw *who = recorder_ref(w, e->author_ref);
    char loc[37];

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "finished"));
    if (!w->stu3)
        cse__fw_set(w, res, "class",
                    cse__jw_pack(w->jw, "{s:s,s:s,s:s}", "system",
                                 "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                                 "code", "AMB", "display", "ambulatory"));
    if (w->stu3 || e->code.n || e->code.text)
        cse__fw_set(w, res, "type",
                    cse__jw_pack(w->jw, "[o]", coded(w, &e->code, DEGRADED_OTHER)));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (who && w->stu3)
        cse__fw_set(w, res, "participant",
                    cse__jw_pack(w->jw, "[{s:[{s:[{s:s,s:s,s:s}]}],s:o}]", "type",
                                 "coding", "system",
                                 "https://fhir.nhs.uk/STU3/CodeSystem/"
                                 "GPConnect-ParticipantType-1",
                                 "code", "REC", "display", "recorder", "individual",
                                 who));
    else if (who)
        cse__fw_set(w, res, "participant",
                    cse__jw_pack(w->jw, "[{s:o}]", "individual", who));
    else if (e->author_ref && !w->stu3)
        /* An organisation as author: R4 names it as the provider. */
        cse__fw_set(w, res, "serviceProvider",
                    cse__fw_ref(w, "Organization", e->author_ref));
    cse__fw_set(w, res, "period",
                cse__fw_period(w, cse__fw_obs_time(w, e), &e->effective_high));
    if (cse__fw_location_id(e, loc))
        cse__fw_set(
            w, res, "location",
            cse__jw_pack(w->jw, "[{s:o}]", "location", cse__fw_ref(w, "Location", loc)));
    return res;
}

/* The LinkSet's own code says whether the problem is active (394774009) or
 * inactive (394775005); an end date also makes it inactive. */
static bool problem_ended(const cse_entry *e)
{
    for (size_t i = 0; i < e->code.n; i++)
        if (e->code.codings[i].code && strcmp(e->code.codings[i].code, "394775005") == 0)
            return true;
    return e->effective_high.precision != CSE_TIME_NONE;
}

/* The resource a remembered statement is written as under its own id, for a
 * problem's ActualProblem reference; NULL when it is written as none. */
static const char *named_type(const cse__fhirw *w, const cse__fw_recent *r)
{
    switch (r->kind) {
    case CSE_ENTRY_OBSERVATION:
    case CSE_ENTRY_NARRATIVE: return "Observation";
    case CSE_ENTRY_ALLERGY: return r->marker ? NULL : "AllergyIntolerance";
    case CSE_ENTRY_IMMUNIZATION: return r->marker ? NULL : "Immunization";
    case CSE_ENTRY_MEDICATION: return r->marker ? NULL : "MedicationStatement";
    case CSE_ENTRY_PLAN: return r->marker ? NULL : cse__fw_res(w, CSE__FW_P_PLAN)->type;
    case CSE_ENTRY_REQUEST:
        return r->marker ? NULL : cse__fw_res(w, CSE__FW_P_REFERRAL)->type;
    default: return NULL;
    }
}

static cse__jw *condition(cse__fhirw *w, const cse_entry *e, const char *enc,
                          const cse__fw_recent *named, bool nopat)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_CONDITION, e->id, nopat);
    const char *status = problem_ended(e) ? "inactive" : "active";
    const char *type = named && w->stu3 ? named_type(w, named) : NULL;

    if (res == NULL)
        return NULL;
    if (type) {
        cse__fw_set(w, res, "extension",
                    cse__jw_pack(w->jw, "[{s:s,s:o}]", "url",
                                 "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                                 "Extension-CareConnect-ActualProblem-1",
                                 "valueReference", cse__fw_ref(w, type, named->id)));
        if (cse__jw_object_get(res, "extension"))
            identifier_last(w, res);
    }
    if (w->stu3)
        cse__fw_set(w, res, "clinicalStatus", cse__jw_string(w->jw, status));
    else
        cse__fw_set(
            w, res, "clinicalStatus",
            cse__jw_pack(w->jw, "{s:[{s:s,s:s}]}", "coding", "system",
                         "http://terminology.hl7.org/CodeSystem/condition-clinical",
                         "code", status));
    cse__fw_set(w, res, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                             w->stu3 ? "https://fhir.hl7.org.uk/STU3/CodeSystem/"
                                       "CareConnect-ConditionCategory-1"
                                     : "http://terminology.hl7.org/CodeSystem/"
                                       "condition-category",
                             "code", "problem-list-item", "display",
                             "Problem List Item"));
    /* Coded as the statement it names, as the requesting adaptor does. */
    cse__fw_set(w, res, "code",
                coded(w, named ? &named->code : &e->code, DEGRADED_OTHER));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_CONDITION, enc);
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "abatementDateTime", cse__fw_time(w, &e->effective_high));
    cse__fw_set(w, res, w->stu3 ? "assertedDate" : "recordedDate",
                cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, w->stu3 ? "asserter" : "recorder",
                recorder_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *allergy(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_ALLERGY, e->id, cse__fw_entry_nopat(e));
    bool nondrug = cse__fw_parent_nondrug_allergy(w, e);
    const char *status =
        e->effective_high.precision != CSE_TIME_NONE ? "resolved" : "active";
    cse__jw *category = cse__jw_pack(w->jw, "[s]",
                                     e->allergy.category ? e->allergy.category
                                     : nondrug           ? "environment"
                                                         : "medication");

    if (res == NULL)
        return NULL;
    if (w->stu3) {
        if (enc)
            cse__fw_set(w, res, "extension",
                        cse__jw_pack(w->jw, "[{s:s,s:o}]", "url",
                                     "http://hl7.org/fhir/StructureDefinition/"
                                     "encounter-associatedEncounter",
                                     "valueReference", cse__fw_ref(w, "Encounter", enc)));
        cse__fw_set(w, res, "clinicalStatus", cse__jw_string(w->jw, status));
        cse__fw_set(w, res, "verificationStatus", cse__jw_string(w->jw, "unconfirmed"));
        cse__fw_set(w, res, "code",
                    nondrug ? coded(w, &e->code, DEGRADED_NON_DRUG_ALLERGY)
                            : coded(w, &e->code, DEGRADED_DRUG_ALLERGY));
        cse__fw_set(w, res, "category", category);
    } else {
        cse__fw_set(w, res, "clinicalStatus",
                    cse__jw_pack(w->jw, "{s:[{s:s,s:s}]}", "coding", "system",
                                 "http://terminology.hl7.org/CodeSystem/"
                                 "allergyintolerance-clinical",
                                 "code", status));
        cse__fw_set(w, res, "category", category);
        cse__fw_set(w, res, "code", cse__fw_concept(w, &e->code));
    }
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_ALLERGY, enc);
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, w->stu3 ? "assertedDate" : "recordedDate",
                cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "recorder", recorder_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

/* An extension {url, valueX: value} appended to arr when value is set. */
static void add_extension(const cse__fhirw *w, cse__jw *arr, const char *url,
                          const char *key, cse__jw *value)
{
    if (value)
        cse__jw_array_append(w->jw, arr,
                             cse__jw_pack(w->jw, "{s:s,s:o}", "url", url, key, value));
}

static cse__jw *immunization(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res =
        cse__fw_start(w, CSE__FW_P_IMMUNIZATION, e->id, cse__fw_entry_nopat(e));
    cse__jw *when = cse__fw_time(w, cse__fw_effective(e));
    cse__jw *ext = cse__jw_array(w->jw);

    if (res == NULL || ext == NULL)
        return NULL;
    if (w->stu3) {
        /* GP Connect carries the procedure's code in an extension and the
         * vaccine as unknown, as the adaptor writes it. */
        add_extension(w, ext,
                      "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                      "Extension-CareConnect-VaccinationProcedure-1",
                      "valueCodeableConcept", cse__fw_concept(w, &e->code));
        add_extension(w, ext,
                      "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                      "Extension-CareConnect-DateRecorded-1",
                      "valueDateTime", cse__fw_time(w, &e->availability));
        if (cse__jw_array_size(ext))
            cse__fw_set(w, res, "extension", ext);
    }
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "completed"));
    if (w->stu3) {
        cse__fw_set(w, res, "notGiven", cse__jw_false());
        cse__fw_set(w, res, "vaccineCode", unknown_code(w, false));
    } else {
        cse__fw_set(w, res, "vaccineCode", code_or_unknown(w, &e->code));
    }
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_IMMUNIZATION, enc);
    if (w->stu3) {
        cse__fw_set(w, res, "date", when);
        cse__fw_set(w, res, "primarySource", cse__jw_true());
    } else {
        if (when == NULL)
            when = cse__fw_time(w, &e->availability);
        cse__fw_set(w, res, when ? "occurrenceDateTime" : "occurrenceString",
                    when ? when : cse__jw_string(w->jw, "unknown"));
        cse__fw_set(w, res, "recorded", cse__fw_time(w, &e->availability));
    }
    if (e->author_ref)
        cse__fw_set(
            w, res, w->stu3 ? "practitioner" : "performer",
            cse__jw_pack(w->jw, "[{s:o}]", "actor", cse__fw_agent_ref(w, e->author_ref)));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

/* A plan (PlanStatement) or referral (RequestStatement): ServiceRequest in
 * R4; ProcedureRequest or ReferralRequest in STU3. */
static cse__jw *request(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    bool referral = e->kind == CSE_ENTRY_REQUEST;
    cse__fw_profile_id p = referral ? CSE__FW_P_REFERRAL : CSE__FW_P_PLAN;
    bool gpc_referral = w->stu3 && referral; /* codes in reasonCode, no date */
    cse__jw *res = cse__fw_start(w, p, e->id, cse__fw_entry_nopat(e));

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status",
                cse__jw_string(w->jw, gpc_referral ? "unknown" : "active"));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, referral ? "order" : "plan"));
    if (e->req.priority && (referral || !w->stu3)) /* the adaptor's plans have none */
        cse__fw_set(w, res, "priority", cse__jw_string(w->jw, e->req.priority));
    if (referral && !w->stu3)
        cse__fw_set(w, res, "category",
                    cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                                 CSE_SYSTEM_SNOMED, "code", "3457005", "display",
                                 "Patient referral"));
    if (!gpc_referral)
        cse__fw_set(w, res, "code", coded(w, &e->code, DEGRADED_PLAN));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, p, enc);
    if (!gpc_referral)
        cse__fw_set(w, res, "occurrenceDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "requester", requester(w, e->author_ref));
    if (gpc_referral)
        cse__fw_set(w, res, "reasonCode",
                    cse__jw_pack(w->jw, "[o]", coded(w, &e->code, DEGRADED_REFERRAL)));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

/* A NarrativeStatement that refers to an ExternalDocument becomes one
 * DocumentReference with the statement's id, as the adaptor writes it (the
 * document itself travels outside the extract; the reference names it).
 * narr may be NULL for a document without its statement. */
static cse__jw *document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                         const char *enc)
{
    const cse_entry *base = narr ? narr : att;
    cse__jw *res =
        cse__fw_start(w, CSE__FW_P_DOCUMENT, base->id,
                      cse__fw_entry_nopat(att) || (narr && cse__fw_entry_nopat(narr)));
    cse__jw *who = recorder_ref(w, base->author_ref);
    cse__jw *ref = cse__fw_ref(w, "Encounter", enc);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "current"));
    cse__fw_set(w, res, "type", code_or_unknown(w, &att->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (w->stu3) {
        cse__fw_set(w, res, "created", cse__fw_time(w, &base->availability));
        /* indexed is a required instant: the statement's time when it has
         * one, else when the extract was made. */
        cse__fw_set(w, res, "indexed",
                    base->availability.precision >= CSE_TIME_MINUTE
                        ? cse__fw_time(w, &base->availability)
                        : instant(w, &w->extract_time));
    } else {
        cse__fw_set(w, res, "date", instant(w, &base->availability));
    }
    if (who)
        cse__fw_set(w, res, "author", cse__jw_pack(w->jw, "[o]", who));
    if (narr && narr->code.n == 0 && narr->code.text)
        cse__fw_set(w, res, "description", cse__jw_string(w->jw, narr->code.text));
    cse__fw_set(w, res, "content",
                cse__jw_pack(w->jw, "[{s:{s:s}}]", "attachment", "url", att->value));
    /* STU3's context names one encounter, R4's a list. */
    if (ref)
        cse__fw_set(w, res, "context",
                    w->stu3 ? cse__jw_pack(w->jw, "{s:o}", "encounter", ref)
                            : cse__jw_pack(w->jw, "{s:[o]}", "encounter", ref));
    return res;
}

/* ---- Markers ---------------------------------------------------------------- */

/* The marker's code: the SNOMED concept, then the codes it arrived with. */
static cse__jw *marker_code(const cse__fhirw *w, const cse_marker *m)
{
    const char *display = m->display ? m->display : cse_code_term(m->code);
    cse__jw *cc = cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s*}]}", "coding", "system",
                               CSE_SYSTEM_SNOMED, "code", m->code, "display", display);
    cse__jw *legacy = cse__fw_concept(w, &m->legacy);
    cse__jw *codings = cse__jw_object_get(legacy, "coding");

    for (size_t i = 0; cc && i < cse__jw_array_size(codings); i++)
        cse__jw_array_append(w->jw, cse__jw_object_get(cc, "coding"),
                             cse__jw_array_get(codings, i));
    if (cc && display)
        cse__fw_set(w, cc, "text", cse__jw_string(w->jw, display));
    return cc;
}

/* Who recorded the marker: its author agent, else the entry's author, else
 * (R4, which writes it) the sending practice. NULL when none. */
static cse__jw *marker_author(const cse__fhirw *w, const cse_marker *m,
                              const cse_entry *e)
{
    if (m->author_id)
        return cse__fw_agent_ref(w, m->author_id);
    if (e->author_ref)
        return cse__fw_agent_ref(w, e->author_ref);
    return w->stu3 ? NULL : cse__fw_ref(w, "Organization", w->org_id);
}

static cse__jw *marker_identifier(const cse__fhirw *w, const char *mid)
{
    return cse__jw_pack(w->jw, "{s:s,s:s}", "system", CSE_FHIR_MARKER_ID_SYSTEM, "value",
                        mid);
}

static cse__jw *cse_category(const cse__fhirw *w)
{
    return cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system",
                        CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
                        "Child sexual exploitation");
}

/* The marker as an Observation: R4's detail of the Flag, STU3's only form
 * (GP Connect carries no Flag), with NOPAT always. Its review date and end
 * reason travel in our extensions; STU3 puts the same facts, as the
 * csemarker annotation, in Observation.comment, so that a GP Connect
 * consumer that ignores unknown extensions still shows them to a
 * clinician. */
static cse__jw *marker_observation(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                                   const char *mid, const char *id, const char *enc)
{
    cse__fw_profile_id p = w->stu3 ? CSE__FW_P_MARKER : CSE__FW_P_MARKER_DETAIL;
    cse__jw *res = cse__fw_start(w, p, id, true), *ext, *ids, *who;
    char note[512];

    if (res == NULL || (ext = cse__jw_array(w->jw)) == NULL ||
        !cse__fw_marker_extensions(w, ext, m) || !cse__fw_set(w, res, "extension", ext))
        return NULL;
    /* Extension before identifier, which holds the marker's id beside any
     * other. */
    identifier_last(w, res);
    if ((ids = cse__jw_object_get(res, "identifier")) == NULL &&
        ((ids = cse__jw_array(w->jw)) == NULL || !cse__fw_set(w, res, "identifier", ids)))
        return NULL;
    cse__jw_array_append(w->jw, ids, marker_identifier(w, mid));
    cse__fw_set(w, res, "status",
                cse__jw_string(w->jw, m->status == CSE_MARKER_ENTERED_IN_ERROR
                                          ? "entered-in-error"
                                          : "final"));
    if (!w->stu3)
        cse__fw_set(w, res, "category", cse__jw_pack(w->jw, "[o]", cse_category(w)));
    cse__fw_set(w, res, "code", marker_code(w, m));
    /* R4 names the patient by NHS number too, so that the marker alone
     * identifies whose it is. */
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, !w->stu3));
    cse__fw_encounter(w, res, p, enc);
    cse__fw_set(w, res, "effectivePeriod", cse__fw_period(w, &m->start, &m->end));
    cse__fw_set(w, res, "issued", instant(w, &e->availability));
    if ((who = marker_author(w, m, e)) != NULL)
        cse__fw_set(w, res, "performer", cse__jw_pack(w->jw, "[o]", who));
    if (!w->stu3)
        cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    else if (cse_marker_annotation_format(m, note, sizeof(note)) == CSE_OK)
        cse__fw_set(w, res, "comment", cse__jw_string(w->jw, note));
    return res;
}

/* Our Flag (R4 only): the marker's status, period and review, pointing to
 * its Observation. */
static cse__jw *marker_flag(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                            const char *mid, const char *flag_id, const char *obs_id,
                            const char *enc)
{
    cse__jw *flag = cse__fw_start(w, CSE__FW_P_MARKER, flag_id, true), *ext;

    if (flag == NULL || (ext = cse__jw_array(w->jw)) == NULL ||
        !cse__fw_marker_extensions(w, ext, m) ||
        cse__jw_array_append(w->jw, ext,
                             cse__jw_pack(w->jw, "{s:s,s:o}", "url", CSE_FHIR_FLAG_DETAIL,
                                          "valueReference",
                                          cse__fw_ref(w, "Observation", obs_id))) ||
        !cse__fw_set(w, flag, "extension", ext))
        return NULL;
    cse__fw_set(w, flag, "identifier",
                cse__jw_pack(w->jw, "[o]", marker_identifier(w, mid)));
    cse__fw_set(w, flag, "status",
                cse__jw_string(w->jw, cse_marker_status_name(m->status)));
    cse__fw_set(w, flag, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]},o]", "coding", "system",
                             CSE_FHIR_FLAG_CATEGORY, "code", "safety", "display",
                             "Safety", cse_category(w)));
    cse__fw_set(w, flag, "code", marker_code(w, m));
    cse__fw_set(w, flag, "subject", cse__fw_patient_ref(w, true));
    cse__fw_set(w, flag, "period", cse__fw_period(w, &m->start, &m->end));
    cse__fw_encounter(w, flag, CSE__FW_P_MARKER, enc);
    cse__fw_set(w, flag, "author", marker_author(w, m, e));
    return flag;
}

static cse_code marker(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                       const char *enc, cse_error *err)
{
    const char *mid = m->id ? m->id : e->id;
    char flag_id[37], obs_id[37];
    cse__jw *flag = NULL, *obs;
    cse_code rc;

    if (mid == NULL)
        return cse__error_set(err, CSE_ERR_STRUCTURE, e->source_line, NULL, "id",
                              "a marker entry has no id");
    if (w->stu3)
        return cse__fw_emit(w, marker_observation(w, e, m, mid, e->id ? e->id : mid, enc),
                            err);
    if (cse_uuid_derive(CSE_FHIR_BASE "/Flag", mid, flag_id) != CSE_OK ||
        cse_uuid_derive(CSE_FHIR_BASE "/Observation", mid, obs_id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "cannot derive ids");
    if (marker_author(w, m, e) == NULL &&
        (rc = cse__fw_loss(w, "marker author", "no author agent and no sending practice",
                           e->source_line, err)) != CSE_OK)
        return rc;
    if ((flag = marker_flag(w, e, m, mid, flag_id, obs_id, enc)) == NULL ||
        (obs = marker_observation(w, e, m, mid, obs_id, enc)) == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if ((rc = cse__fw_emit(w, flag, err)) != CSE_OK)
        return rc;
    return cse__fw_emit(w, obs, err);
}

/* ---- Problems, held entries and the dispatch ------------------------------- */

cse_code cse__fw_map_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                             const cse__fw_recent *named, bool nopat, cse_error *err)
{
    cse_code rc;

    if (e->n_links > (named ? 1u : 0u) &&
        (rc = cse__fw_loss(w, "LinkSet related entries",
                           "problem links to other entries are not written",
                           e->source_line, err)) != CSE_OK)
        return rc;
    return cse__fw_emit(w, condition(w, e, enc, named, nopat), err);
}

/* Compositions the adaptor does not turn into an Encounter: non-consultation
 * data and the registration summary. */
static bool non_consultation(const cse_entry *e)
{
    const char *c = e->code.n ? e->code.codings[0].code : NULL;
    return c && (strcmp(c, "196401000000100") == 0 || strcmp(c, "196391000000103") == 0);
}

static cse_code hold(cse__fhirw *w, const cse_entry *e, const char *enc, cse_error *err)
{
    if ((w->pending = cse_entry_dup(e)) == NULL ||
        cse_strset(&w->pending_enc, enc) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    return CSE_OK;
}

static cse_code write_encounter(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    cse_code rc = cse__fw_location(w, e, err);
    if (rc != CSE_OK)
        return rc;
    return cse__fw_emit(w, encounter(w, e), err);
}

cse_code cse__fw_map_flush(cse__fhirw *w, const cse_entry *next, cse_error *err)
{
    cse_entry *p = w->pending;
    cse_code rc;

    if (p == NULL || (next && next->kind == CSE_ENTRY_ATTACHMENT && p->id &&
                      next->parent_id && strcmp(p->id, next->parent_id) == 0))
        return CSE_OK;
    w->pending = NULL;
    if (p->kind != CSE_ENTRY_ENCOUNTER)
        rc = cse__fw_emit(w, observation(w, p, w->pending_enc), err);
    else if (next && next->kind != CSE_ENTRY_ENCOUNTER)
        rc = write_encounter(w, p, err);
    else
        rc = cse__fw_loss(w, "ehrComposition without entries",
                          "EhrEmpty or RegistrationStatement only: no Encounter",
                          p->source_line, err);
    cse_entry_free(p);
    return rc;
}

cse_code cse__fw_map_entry(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                           cse_error *err)
{
    const char *enc = cse__fw_context(w, e);
    cse__jw *res = NULL;
    cse_code rc;

    if (info->cls == CSE_CLASS_MARKER && info->marker)
        return marker(w, e, info->marker, enc, err);
    switch (e->kind) {
    case CSE_ENTRY_ENCOUNTER:
        if (!w->stu3)
            return write_encounter(w, e, err);
        /* The adaptor makes no Encounter of non-consultation data, nor of a
         * composition whose contents are all suppressed (EhrEmpty,
         * RegistrationStatement): held until the next entry shows which. */
        if (non_consultation(e)) {
            w->enc_skipped = true;
            return cse__fw_loss(w, "ehrComposition (non-consultation)",
                                "not an encounter: its entries are written without one",
                                e->source_line, err);
        }
        return hold(w, e, NULL, err);
    case CSE_ENTRY_OBSERVATION: res = observation(w, e, enc); break;
    case CSE_ENTRY_NARRATIVE:
        /* Held until the next entry shows whether it refers to a document. */
        return hold(w, e, enc, err);
    case CSE_ENTRY_COMPOUND:
        if (e->compound_class && (strcmp(e->compound_class, "battery") == 0 ||
                                  strcmp(e->compound_class, "cluster") == 0)) {
            res = observation(w, e, enc);
            break;
        }
        /* A topic or category is a List (fhir_map.c); an allergy heading
         * is carried by its allergies' category; a laboratory report or
         * specimen, by the report written when it ends. */
        if (e->compound_class && (strcmp(e->compound_class, "topic") == 0 ||
                                  strcmp(e->compound_class, "category") == 0))
            return CSE_OK;
        return cse__fw_loss(w, "CompoundStatement (no class)",
                            "a grouping without a known class: its entries keep their "
                            "encounter",
                            e->source_line, err);
    case CSE_ENTRY_PROBLEM: /* normally held by the common code until its
                               composition ends; here only a damaged marker */
        return cse__fw_map_problem(w, e, enc, NULL, cse__fw_entry_nopat_linked(w, e),
                                   err);
    case CSE_ENTRY_ALLERGY: res = allergy(w, e, enc); break;
    case CSE_ENTRY_IMMUNIZATION: res = immunization(w, e, enc); break;
    case CSE_ENTRY_MEDICATION: return cse__fw_medication(w, e, enc, err);
    case CSE_ENTRY_PLAN:
    case CSE_ENTRY_REQUEST: res = request(w, e, enc); break;
    case CSE_ENTRY_ATTACHMENT:
        if (e->value == NULL) {
            if ((rc = cse__fw_map_flush(w, NULL, err)) != CSE_OK)
                return rc;
            return cse__fw_loss(w, "ExternalDocument (attachment)",
                                "no document reference to write", e->source_line, err);
        }
        /* The narrative held just before it, if it is the one that refers to
         * it (cse__fw_map_flush wrote any other). */
        res = document(w, w->pending, e, w->pending ? w->pending_enc : enc);
        cse_entry_free(w->pending);
        w->pending = NULL;
        break;
    default:
        return cse__fw_loss(w, cse_entry_kind_name(e->kind), "entry kind not mapped",
                            e->source_line, err);
    }
    return cse__fw_emit(w, res, err);
}

cse_sink *cse_fhir_r4_writer_new(FILE *out, const cse_fhir_write_options *opt,
                                 cse_error *err)
{
    return cse__fw_new(out, opt, false, err);
}

cse_sink *cse_fhir_stu3_writer_new(FILE *out, const cse_fhir_write_options *opt,
                                   cse_error *err)
{
    return cse__fw_new(out, opt, true, err);
}
