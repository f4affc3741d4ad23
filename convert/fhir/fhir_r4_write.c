/* SPDX-License-Identifier: MIT */
/* The FHIR R4 writer: a Bundle (type collection) of UK Core resources, and
 * for each marker our Flag profile plus its Observation form. */
#include "config.h"

#include <string.h>

#include "fhir_write_common.h"

#define UKCORE "https://fhir.hl7.org.uk/StructureDefinition/UKCore-"
#define CS_V3_NULL "http://terminology.hl7.org/CodeSystem/v3-NullFlavor"

static cse_code r4_patient(cse__fhirw *w, const cse_extract_info *info, cse_error *err)
{
    const cse_patient *p = info ? info->patient : NULL;
    cse__jw *res, *ids;
    cse_code rc;

    res = cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", "Patient", "id",
                       w->patient_id, "meta", cse__fw_meta(w, UKCORE "Patient", false));
    if (res == NULL || (ids = cse__jw_array(w->jw)) == NULL)
        return cse__fw_emit(w, NULL, err);
    if (w->nhs_number)
        cse__jw_array_append(w->jw, ids,
                             cse__jw_pack(w->jw, "{s:s,s:s}", "system",
                                          CSE_FHIR_NHS_NUMBER, "value", w->nhs_number));
    else if (p && p->local_id) {
        char sys[300];
        snprintf(sys, sizeof(sys), "urn:oid:%s",
                 p->local_id_root ? p->local_id_root : "2.16.840.1.113883.2.1.3.2.4.9");
        cse__jw_array_append(
            w->jw, ids,
            cse__jw_pack(w->jw, "{s:s,s:s}", "system", sys, "value", p->local_id));
    }
    if (cse__jw_array_size(ids))
        cse__jw_object_set(w->jw, res, "identifier", ids);
    if (w->org_id)
        cse__jw_object_set(w->jw, res, "managingOrganization",
                           cse__fw_ref(w, "Organization", w->org_id));
    if ((rc = cse__fw_emit(w, res, err)) != CSE_OK || w->org_id == NULL)
        return rc;
    /* The sending practice, so that a marker without an author agent can
     * still name who recorded it. */
    return cse__fw_emit(w,
                        cse__jw_pack(w->jw, "{s:s,s:s,s:o,s:[{s:s,s:s}]}", "resourceType",
                                     "Organization", "id", w->org_id, "meta",
                                     cse__fw_meta(w, UKCORE "Organization", false),
                                     "identifier", "system", CSE_FHIR_ODS, "value",
                                     info->author_ods),
                        err);
}

static cse_code r4_agent(cse__fhirw *w, const cse_agent *a, cse_error *err)
{
    cse__jw *res;

    if (a->kind == CSE_AGENT_ORGANISATION) {
        res = cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", "Organization", "id",
                           a->id, "meta", cse__fw_meta(w, UKCORE "Organization", false));
        if (res && a->ods)
            cse__fw_set(w, res, "identifier",
                        cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_ODS,
                                     "value", a->ods));
        if (res && a->name)
            cse__fw_set(w, res, "name", cse__jw_string(w->jw, a->name));
        return cse__fw_emit(w, res, err);
    }
    res = cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", "Practitioner", "id",
                       a->id, "meta", cse__fw_meta(w, UKCORE "Practitioner", false));
    if (res && a->name)
        cse__fw_set(w, res, "name", cse__jw_pack(w->jw, "[{s:s}]", "text", a->name));
    return cse__fw_emit(w, res, err);
}

/* A new resource with id, profile and the entry's NOPAT label. */
static cse__jw *start(cse__fhirw *w, const char *type, const char *id,
                      const char *profile, bool nopat)
{
    char uuid[37];

    if (id == NULL) {
        if (cse_uuid_random(uuid) != CSE_OK)
            return NULL;
        id = uuid;
    }
    const char *kv[4] = {"resourceType", type, "id", id};
    cse__jw *meta = cse__fw_meta(w, profile, nopat), *res;

    if (meta == NULL)
        return NULL;
    if ((res = cse__fw_strs(w, kv, 2)) == NULL ||
        cse__jw_object_set(w->jw, res, "meta", meta))
        return NULL;
    return res;
}

static cse__jw *code_or_unknown(cse__fhirw *w, const cse_concept *c)
{
    cse__jw *cc = cse__fw_concept(w, c);
    if (cc)
        return cc;
    return cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system", CS_V3_NULL,
                        "code", "UNK", "display", "unknown");
}

/* A reference that must be to a person: NULL for an organisation agent. */
static cse__jw *person_ref(cse__fhirw *w, const char *agent_id)
{
    const cse_agent *a = cse__fw_find_agent(w, agent_id);
    if (agent_id == NULL || (a && a->kind == CSE_AGENT_ORGANISATION))
        return NULL;
    return cse__fw_ref(w, "Practitioner", agent_id);
}

static cse__jw *timing_period(const cse__fhirw *w, const cse_entry *e)
{
    cse__jw *p = cse__jw_object(w->jw);
    if (p == NULL)
        return NULL;
    cse__fw_set(w, p, "start", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, p, "end", cse__fw_time(w, &e->effective_high));
    if (cse__jw_object_size(p) == 0)
        return NULL;
    return p;
}

/* effective[x] as a dateTime, or a Period when an end is known. */
static bool set_effective(const cse__fhirw *w, cse__jw *res, const cse_entry *e)
{
    if (e->effective_high.precision != CSE_TIME_NONE)
        return cse__fw_set(w, res, "effectivePeriod", timing_period(w, e));
    return cse__fw_set(w, res, "effectiveDateTime",
                       cse__fw_time(w, cse__fw_effective(e)));
}

/* An instant needs a time to the second and a zone. */
static cse__jw *instant(const cse__fhirw *w, const cse_time *t)
{
    return t->precision >= CSE_TIME_MINUTE ? cse__fw_time(w, t) : NULL;
}

static cse__jw *r4_observation(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res =
        start(w, "Observation", e->id, UKCORE "Observation", cse__fw_entry_nopat(e));
    const char *pc = cse__fw_parent_class(w, e);
    cse__jw *code;

    if (res == NULL)
        return NULL;
    if (e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0)
        code = cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system",
                            CSE_SYSTEM_SNOMED, "code", "37331000000100", "display",
                            "Comment note");
    else
        code = code_or_unknown(w, &e->code);
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "final"));
    cse__fw_set(w, res, "code", code);
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    if (e->effective_high.precision != CSE_TIME_NONE)
        set_effective(w, res, e);
    else
        cse__fw_set(w, res, "effectiveDateTime", cse__fw_time(w, cse__fw_obs_time(w, e)));
    cse__fw_set(w, res, "issued", instant(w, &e->availability));
    if (cse__fw_performer(w, e))
        cse__fw_set(
            w, res, "performer",
            cse__jw_pack(w->jw, "[o]", cse__fw_agent_ref(w, cse__fw_performer(w, e))));
    if (e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0 && e->code.text)
        cse__fw_set(w, res, "valueString", cse__jw_string(w->jw, e->code.text));
    else
        cse__fw_obs_value(w, res, e);
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    if (e->path.specimen_id && e->path.role == CSE_PATH_RESULT)
        cse__fw_set(w, res, "specimen", cse__fw_ref(w, "Specimen", e->path.specimen_id));
    /* A cluster inside a laboratory report is no resource of its own: its
     * results point to their specimen instead. */
    if (pc && (strcmp(pc, "battery") == 0 ||
               (strcmp(pc, "cluster") == 0 && e->path.role == CSE_PATH_NONE)))
        cse__fw_set(
            w, res, "derivedFrom",
            cse__jw_pack(w->jw, "[o]", cse__fw_ref(w, "Observation", e->parent_id)));
    return res;
}

static cse__jw *r4_encounter(cse__fhirw *w, const cse_entry *e)
{
    cse__jw *res =
        start(w, "Encounter", e->id, UKCORE "Encounter", cse__fw_entry_nopat(e));
    cse__jw *who;

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "finished"));
    cse__fw_set(w, res, "class",
                cse__jw_pack(w->jw, "{s:s,s:s,s:s}", "system",
                             "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code",
                             "AMB", "display", "ambulatory"));
    if (e->code.n || e->code.text)
        cse__fw_set(w, res, "type",
                    cse__jw_pack(w->jw, "[o]", cse__fw_concept(w, &e->code)));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if ((who = person_ref(w, e->author_ref)) != NULL)
        cse__fw_set(w, res, "participant",
                    cse__jw_pack(w->jw, "[{s:o}]", "individual", who));
    else if (e->author_ref)
        cse__fw_set(w, res, "serviceProvider",
                    cse__fw_ref(w, "Organization", e->author_ref));
    if (cse__fw_obs_time(w, e)) {
        cse__jw *p = cse__jw_object(w->jw);
        cse__fw_set(w, p, "start", cse__fw_time(w, cse__fw_obs_time(w, e)));
        cse__fw_set(w, p, "end", cse__fw_time(w, &e->effective_high));
        cse__fw_set(w, res, "period", p);
    }
    {
        char loc[37];
        if (cse__fw_location_id(e, loc))
            cse__fw_set(w, res, "location",
                        cse__jw_pack(w->jw, "[{s:o}]", "location",
                                     cse__fw_ref(w, "Location", loc)));
    }
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

static cse__jw *r4_condition(cse__fhirw *w, const cse_entry *e, const char *enc,
                             const cse__fw_recent *named, bool nopat)
{
    cse__jw *res = start(w, "Condition", e->id, UKCORE "Condition", nopat);
    bool ended = problem_ended(e);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "clinicalStatus",
                cse__jw_pack(w->jw, "{s:[{s:s,s:s}]}", "coding", "system",
                             "http://terminology.hl7.org/CodeSystem/condition-clinical",
                             "code", ended ? "inactive" : "active"));
    cse__fw_set(w, res, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                             "http://terminology.hl7.org/CodeSystem/condition-category",
                             "code", "problem-list-item", "display",
                             "Problem List Item"));
    /* Coded as the statement it names, as the requesting adaptor does. */
    cse__fw_set(w, res, "code", cse__fw_concept(w, named ? &named->code : &e->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "abatementDateTime", cse__fw_time(w, &e->effective_high));
    cse__fw_set(w, res, "recordedDate", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "recorder", person_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *r4_allergy(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = start(w, "AllergyIntolerance", e->id, UKCORE "AllergyIntolerance",
                         cse__fw_entry_nopat(e));
    if (res == NULL)
        return NULL;
    cse__fw_set(
        w, res, "clinicalStatus",
        cse__jw_pack(
            w->jw, "{s:[{s:s,s:s}]}", "coding", "system",
            "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code",
            e->effective_high.precision != CSE_TIME_NONE ? "resolved" : "active"));
    cse__fw_set(w, res, "category",
                cse__jw_pack(w->jw, "[s]",
                             e->allergy.category                    ? e->allergy.category
                             : cse__fw_parent_nondrug_allergy(w, e) ? "environment"
                                                                    : "medication"));
    cse__fw_set(w, res, "code", cse__fw_concept(w, &e->code));
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "recordedDate", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "recorder", person_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *r4_immunization(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res =
        start(w, "Immunization", e->id, UKCORE "Immunization", cse__fw_entry_nopat(e));
    cse__jw *when = cse__fw_time(w, cse__fw_effective(e));

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "completed"));
    cse__fw_set(w, res, "vaccineCode", code_or_unknown(w, &e->code));
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    if (when == NULL)
        when = cse__fw_time(w, &e->availability);
    if (when)
        cse__fw_set(w, res, "occurrenceDateTime", when);
    else
        cse__fw_set(w, res, "occurrenceString", cse__jw_string(w->jw, "unknown"));
    cse__fw_set(w, res, "recorded", cse__fw_time(w, &e->availability));
    if (e->author_ref)
        cse__fw_set(
            w, res, "performer",
            cse__jw_pack(w->jw, "[{s:o}]", "actor", cse__fw_agent_ref(w, e->author_ref)));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *r4_service_request(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    bool referral = e->kind == CSE_ENTRY_REQUEST;
    cse__jw *res = start(w, "ServiceRequest", e->id, UKCORE "ServiceRequest",
                         cse__fw_entry_nopat(e));
    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "active"));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, referral ? "order" : "plan"));
    if (e->req.priority)
        cse__fw_set(w, res, "priority", cse__jw_string(w->jw, e->req.priority));
    if (referral)
        cse__fw_set(w, res, "category",
                    cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                                 CSE_SYSTEM_SNOMED, "code", "3457005", "display",
                                 "Patient referral"));
    cse__fw_set(w, res, "code", cse__fw_concept(w, &e->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "occurrenceDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "requester", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

/* The marker's code: the SNOMED concept, then the codes it arrived with. */
static cse__jw *marker_code(cse__fhirw *w, const cse_marker *m)
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

static cse__jw *marker_period(const cse__fhirw *w, const cse_marker *m)
{
    cse__jw *p = cse__jw_object(w->jw);
    if (p) {
        cse__fw_set(w, p, "start", cse__fw_time(w, &m->start));
        if (m->end.precision != CSE_TIME_NONE)
            cse__fw_set(w, p, "end", cse__fw_time(w, &m->end));
    }
    return p;
}

/* Who recorded the marker: its author agent, else the entry's author, else
 * the sending practice. */
static cse__jw *marker_author(cse__fhirw *w, const cse_marker *m, const cse_entry *e)
{
    if (m->author_id)
        return cse__fw_agent_ref(w, m->author_id);
    if (e->author_ref)
        return cse__fw_agent_ref(w, e->author_ref);
    return cse__fw_ref(w, "Organization", w->org_id);
}

static cse_code r4_marker(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                          const char *enc, cse_error *err)
{
    const char *mid = m->id ? m->id : e->id;
    char flag_id[37], obs_id[37];
    cse__jw *flag = NULL, *obs = NULL, *ext;
    cse_code rc;

    if (mid == NULL)
        return cse__error_set(err, CSE_ERR_STRUCTURE, e->source_line, NULL, "id",
                              "a marker entry has no id");
    if (cse_uuid_derive(CSE_FHIR_BASE "/Flag", mid, flag_id) != CSE_OK ||
        cse_uuid_derive(CSE_FHIR_BASE "/Observation", mid, obs_id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "cannot derive ids");
    if (!m->author_id && !e->author_ref && !w->org_id &&
        (rc = cse__fw_loss(w, "marker author", "no author agent and no sending practice",
                           e->source_line, err)) != CSE_OK)
        return rc;

    flag = start(w, "Flag", flag_id, CSE_FHIR_FLAG_PROFILE, true);
    if (flag == NULL || (ext = cse__jw_array(w->jw)) == NULL ||
        !cse__fw_marker_extensions(w, ext, m) ||
        cse__jw_array_append(w->jw, ext,
                             cse__jw_pack(w->jw, "{s:s,s:o}", "url", CSE_FHIR_FLAG_DETAIL,
                                          "valueReference",
                                          cse__fw_ref(w, "Observation", obs_id))) ||
        !cse__fw_set(w, flag, "extension", ext))
        goto nomem;
    cse__fw_set(w, flag, "identifier",
                cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_MARKER_ID_SYSTEM,
                             "value", mid));
    cse__fw_set(w, flag, "status",
                cse__jw_string(w->jw, cse_marker_status_name(m->status)));
    cse__fw_set(w, flag, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]},{s:[{s:s,s:s,s:s}]}]", "coding",
                             "system", CSE_FHIR_FLAG_CATEGORY, "code", "safety",
                             "display", "Safety", "coding", "system",
                             CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
                             "Child sexual exploitation"));
    cse__fw_set(w, flag, "code", marker_code(w, m));
    cse__fw_set(w, flag, "subject", cse__fw_patient_ref(w, true));
    cse__fw_set(w, flag, "period", marker_period(w, m));
    cse__fw_set(w, flag, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, flag, "author", marker_author(w, m, e));

    obs = start(w, "Observation", obs_id, CSE_FHIR_OBS_PROFILE, true);
    if (obs == NULL || (ext = cse__jw_array(w->jw)) == NULL ||
        !cse__fw_marker_extensions(w, ext, m) || !cse__fw_set(w, obs, "extension", ext))
        goto nomem;
    cse__fw_set(w, obs, "identifier",
                cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_MARKER_ID_SYSTEM,
                             "value", mid));
    cse__fw_set(w, obs, "status",
                cse__jw_string(w->jw, m->status == CSE_MARKER_ENTERED_IN_ERROR
                                          ? "entered-in-error"
                                          : "final"));
    cse__fw_set(w, obs, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                             CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
                             "Child sexual exploitation"));
    cse__fw_set(w, obs, "code", marker_code(w, m));
    cse__fw_set(w, obs, "subject", cse__fw_patient_ref(w, true));
    cse__fw_set(w, obs, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, obs, "effectivePeriod", marker_period(w, m));
    cse__fw_set(w, obs, "issued", instant(w, &e->availability));
    cse__fw_set(w, obs, "performer", cse__jw_pack(w->jw, "[o]", marker_author(w, m, e)));
    cse__fw_set(w, obs, "note", cse__fw_notes(w, e));
    if ((rc = cse__fw_emit(w, flag, err)) != CSE_OK)
        return rc;
    return cse__fw_emit(w, obs, err);
nomem:
    return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

/* Defined below, after the entry writer that uses them. */
static cse_code r4_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                           const cse__fw_recent *named, bool nopat, cse_error *err);
static cse_code r4_flush(cse__fhirw *w, const cse_entry *next, cse_error *err);
static cse__jw *r4_document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                            const char *enc);

static cse_code r4_entry(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                         cse_error *err)
{
    const char *enc = cse__fw_context(w, e);
    cse__jw *res = NULL;

    if (info->cls == CSE_CLASS_MARKER && info->marker)
        return r4_marker(w, e, info->marker, enc, err);
    switch (e->kind) {
    case CSE_ENTRY_ENCOUNTER: {
        cse_code lrc = cse__fw_location(w, e, err);
        if (lrc != CSE_OK)
            return lrc;
        res = r4_encounter(w, e);
        break;
    }
    case CSE_ENTRY_OBSERVATION: res = r4_observation(w, e, enc); break;
    case CSE_ENTRY_NARRATIVE:
        if ((w->pending = cse_entry_dup(e)) == NULL ||
            cse_strset(&w->pending_enc, enc) != CSE_OK)
            return cse__fw_emit(w, NULL, err);
        return CSE_OK;
    case CSE_ENTRY_COMPOUND:
        if (e->compound_class && (strcmp(e->compound_class, "battery") == 0 ||
                                  strcmp(e->compound_class, "cluster") == 0)) {
            res = r4_observation(w, e, enc);
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
        return r4_problem(w, e, enc, NULL, cse__fw_entry_nopat_linked(w, e), err);
    case CSE_ENTRY_ALLERGY: res = r4_allergy(w, e, enc); break;
    case CSE_ENTRY_IMMUNIZATION: res = r4_immunization(w, e, enc); break;
    case CSE_ENTRY_MEDICATION: return cse__fw_medication(w, e, enc, err);
    case CSE_ENTRY_PLAN:
    case CSE_ENTRY_REQUEST: res = r4_service_request(w, e, enc); break;
    case CSE_ENTRY_ATTACHMENT:
        if (e->value == NULL) {
            cse_code rc = r4_flush(w, NULL, err);
            if (rc != CSE_OK)
                return rc;
            return cse__fw_loss(w, "ExternalDocument (attachment)",
                                "no document reference to write", e->source_line, err);
        }
        /* The narrative held just before it, if it is the one that refers to
         * it (r4_flush wrote any other). */
        res = r4_document(w, w->pending, e, w->pending ? w->pending_enc : enc);
        cse_entry_free(w->pending);
        w->pending = NULL;
        break;
    default:
        return cse__fw_loss(w, cse_entry_kind_name(e->kind), "entry kind not mapped",
                            e->source_line, err);
    }
    return cse__fw_emit(w, res, err);
}

/* A NarrativeStatement that refers to an ExternalDocument becomes one
 * DocumentReference with the statement's id (the document itself travels
 * outside the extract; the reference names it). narr may be NULL. */
static cse__jw *r4_document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                            const char *enc)
{
    const cse_entry *base = narr ? narr : att;
    cse__jw *res = start(w, "DocumentReference", base->id, UKCORE "DocumentReference",
                         cse__fw_entry_nopat(att) || (narr && cse__fw_entry_nopat(narr)));
    cse__jw *who = person_ref(w, base->author_ref);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "current"));
    cse__fw_set(w, res, "type", code_or_unknown(w, &att->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "date", instant(w, &base->availability));
    if (who)
        cse__fw_set(w, res, "author", cse__jw_pack(w->jw, "[o]", who));
    if (narr && narr->code.n == 0 && narr->code.text)
        cse__fw_set(w, res, "description", cse__jw_string(w->jw, narr->code.text));
    cse__fw_set(w, res, "content",
                cse__jw_pack(w->jw, "[{s:{s:s}}]", "attachment", "url", att->value));
    if (enc)
        cse__fw_set(w, res, "context",
                    cse__jw_pack(w->jw, "{s:[o]}", "encounter",
                                 cse__fw_ref(w, "Encounter", enc)));
    return res;
}

/* A narrative is held until the next entry shows whether it refers to a
 * document; anything else writes it as an Observation. */
static cse_code r4_flush(cse__fhirw *w, const cse_entry *next, cse_error *err)
{
    cse_entry *p = w->pending;
    cse__jw *res;

    if (p == NULL || (next && next->kind == CSE_ENTRY_ATTACHMENT && p->id &&
                      next->parent_id && strcmp(p->id, next->parent_id) == 0))
        return CSE_OK;
    w->pending = NULL;
    res = r4_observation(w, p, w->pending_enc);
    cse_entry_free(p);
    return cse__fw_emit(w, res, err);
}

static cse_code r4_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                           const cse__fw_recent *named, bool nopat, cse_error *err)
{
    cse_code rc;

    if (e->n_links > (named ? 1u : 0u) &&
        (rc = cse__fw_loss(w, "LinkSet related entries",
                           "problem links to other entries are not written",
                           e->source_line, err)) != CSE_OK)
        return rc;
    return cse__fw_emit(w, r4_condition(w, e, enc, named, nopat), err);
}

static const cse__fw_ops r4_ops = {r4_patient, r4_agent, r4_entry, r4_flush, r4_problem};

cse_sink *cse_fhir_r4_writer_new(FILE *out, const cse_fhir_write_options *opt,
                                 cse_error *err)
{
    return cse__fw_new(out, opt, false, &r4_ops, err);
}
