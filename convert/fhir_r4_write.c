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
    json_t *res, *ids;
    cse_code rc;

    res = json_pack("{s:s,s:s,s:o}", "resourceType", "Patient", "id", w->patient_id,
                    "meta", cse__fw_meta(w, UKCORE "Patient", false));
    if (res == NULL || (ids = json_array()) == NULL) {
        json_decref(res);
        return cse__fw_emit(w, NULL, err);
    }
    if (w->nhs_number)
        json_array_append_new(ids, json_pack("{s:s,s:s}", "system", CSE_FHIR_NHS_NUMBER,
                                             "value", w->nhs_number));
    else if (p && p->local_id) {
        char sys[300];
        snprintf(sys, sizeof(sys), "urn:oid:%s",
                 p->local_id_root ? p->local_id_root : "2.16.840.1.113883.2.1.3.2.4.9");
        json_array_append_new(
            ids, json_pack("{s:s,s:s}", "system", sys, "value", p->local_id));
    }
    if (json_array_size(ids))
        json_object_set_new(res, "identifier", ids);
    else
        json_decref(ids);
    if (w->org_id)
        json_object_set_new(res, "managingOrganization",
                            cse__fw_ref("Organization", w->org_id));
    if ((rc = cse__fw_emit(w, res, err)) != CSE_OK || w->org_id == NULL)
        return rc;
    /* The sending practice, so that a marker without an author agent can
     * still name who recorded it. */
    return cse__fw_emit(
        w,
        json_pack("{s:s,s:s,s:o,s:[{s:s,s:s}]}", "resourceType", "Organization", "id",
                  w->org_id, "meta", cse__fw_meta(w, UKCORE "Organization", false),
                  "identifier", "system", CSE_FHIR_ODS, "value", info->author_ods),
        err);
}

static cse_code r4_agent(cse__fhirw *w, const cse_agent *a, cse_error *err)
{
    json_t *res;

    if (a->kind == CSE_AGENT_ORGANISATION) {
        res = json_pack("{s:s,s:s,s:o}", "resourceType", "Organization", "id", a->id,
                        "meta", cse__fw_meta(w, UKCORE "Organization", false));
        if (res && a->ods)
            cse__fw_set(
                res, "identifier",
                json_pack("[{s:s,s:s}]", "system", CSE_FHIR_ODS, "value", a->ods));
        if (res && a->name)
            cse__fw_set(res, "name", json_string(a->name));
        return cse__fw_emit(w, res, err);
    }
    res = json_pack("{s:s,s:s,s:o}", "resourceType", "Practitioner", "id", a->id, "meta",
                    cse__fw_meta(w, UKCORE "Practitioner", false));
    if (res && a->name)
        cse__fw_set(res, "name", json_pack("[{s:s}]", "text", a->name));
    return cse__fw_emit(w, res, err);
}

/* A new resource with id, profile and the entry's NOPAT label. */
static json_t *start(cse__fhirw *w, const char *type, const char *id, const char *profile,
                     bool nopat)
{
    char uuid[37];

    if (id == NULL) {
        if (cse_uuid_random(uuid) != CSE_OK)
            return NULL;
        id = uuid;
    }
    const char *kv[4] = {"resourceType", type, "id", id};
    json_t *meta = cse__fw_meta(w, profile, nopat), *res;

    if (meta == NULL)
        return NULL;
    if ((res = cse__fw_strs(kv, 2)) == NULL ||
        json_object_set_new_nocheck(res, "meta", meta)) {
        if (res == NULL)
            json_decref(meta);
        json_decref(res);
        return NULL;
    }
    return res;
}

static json_t *code_or_unknown(cse__fhirw *w, const cse_concept *c)
{
    json_t *cc = cse__fw_concept(w, c);
    if (cc)
        return cc;
    return json_pack("{s:[{s:s,s:s,s:s}]}", "coding", "system", CS_V3_NULL, "code", "UNK",
                     "display", "unknown");
}

/* A reference that must be to a person: NULL for an organisation agent. */
static json_t *person_ref(cse__fhirw *w, const char *agent_id)
{
    const cse_agent *a = cse__fw_find_agent(w, agent_id);
    if (agent_id == NULL || (a && a->kind == CSE_AGENT_ORGANISATION))
        return NULL;
    return cse__fw_ref("Practitioner", agent_id);
}

static json_t *timing_period(const cse_entry *e)
{
    json_t *p = json_object();
    if (p == NULL)
        return NULL;
    cse__fw_set(p, "start", cse__fw_time(cse__fw_effective(e)));
    cse__fw_set(p, "end", cse__fw_time(&e->effective_high));
    if (json_object_size(p) == 0) {
        json_decref(p);
        return NULL;
    }
    return p;
}

/* effective[x] as a dateTime, or a Period when an end is known. */
static bool set_effective(json_t *res, const char *prefix, const cse_entry *e)
{
    char key[64];
    if (e->effective_high.precision != CSE_TIME_NONE) {
        snprintf(key, sizeof(key), "%sPeriod", prefix);
        return cse__fw_set(res, key, timing_period(e));
    }
    snprintf(key, sizeof(key), "%sDateTime", prefix);
    return cse__fw_set(res, key, cse__fw_time(cse__fw_effective(e)));
}

/* An instant needs a time to the second and a zone. */
static json_t *instant(const cse_time *t)
{
    return t->precision >= CSE_TIME_MINUTE ? cse__fw_time(t) : NULL;
}

static json_t *r4_observation(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    json_t *res =
        start(w, "Observation", e->id, UKCORE "Observation", cse__fw_entry_nopat(e));
    const char *pc = cse__fw_parent_class(w, e);
    json_t *code;

    if (res == NULL)
        return NULL;
    if (e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0)
        code = json_pack("{s:[{s:s,s:s,s:s}]}", "coding", "system", CSE_SYSTEM_SNOMED,
                         "code", "37331000000100", "display", "Comment note");
    else
        code = code_or_unknown(w, &e->code);
    cse__fw_set(res, "status", json_string("final"));
    cse__fw_set(res, "code", code);
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "encounter", cse__fw_ref("Encounter", enc));
    set_effective(res, "effective", e);
    cse__fw_set(res, "issued", instant(&e->availability));
    if (e->author_ref)
        cse__fw_set(res, "performer",
                    json_pack("[o]", cse__fw_agent_ref(w, e->author_ref)));
    if (e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0 && e->code.text)
        cse__fw_set(res, "valueString", json_string(e->code.text));
    else if (e->value)
        cse__fw_set(res, "valueString", json_string(e->value));
    cse__fw_set(res, "note", cse__fw_notes(e));
    if (pc && (strcmp(pc, "battery") == 0 || strcmp(pc, "cluster") == 0))
        cse__fw_set(res, "derivedFrom",
                    json_pack("[o]", cse__fw_ref("Observation", e->parent_id)));
    return res;
}

static json_t *r4_encounter(cse__fhirw *w, const cse_entry *e)
{
    json_t *res =
        start(w, "Encounter", e->id, UKCORE "Encounter", cse__fw_entry_nopat(e));
    json_t *who;

    if (res == NULL)
        return NULL;
    cse__fw_set(res, "status", json_string("finished"));
    cse__fw_set(res, "class",
                json_pack("{s:s,s:s,s:s}", "system",
                          "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code",
                          "AMB", "display", "ambulatory"));
    if (e->code.n || e->code.text)
        cse__fw_set(res, "type", json_pack("[o]", cse__fw_concept(w, &e->code)));
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    if ((who = person_ref(w, e->author_ref)) != NULL)
        cse__fw_set(res, "participant", json_pack("[{s:o}]", "individual", who));
    else if (e->author_ref)
        cse__fw_set(res, "serviceProvider", cse__fw_ref("Organization", e->author_ref));
    cse__fw_set(res, "period", timing_period(e));
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

static json_t *r4_condition(cse__fhirw *w, const cse_entry *e, const char *enc,
                            const cse__fw_recent *named, bool nopat)
{
    json_t *res = start(w, "Condition", e->id, UKCORE "Condition", nopat);
    bool ended = problem_ended(e);

    if (res == NULL)
        return NULL;
    cse__fw_set(res, "clinicalStatus",
                json_pack("{s:[{s:s,s:s}]}", "coding", "system",
                          "http://terminology.hl7.org/CodeSystem/condition-clinical",
                          "code", ended ? "inactive" : "active"));
    cse__fw_set(res, "category",
                json_pack("[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                          "http://terminology.hl7.org/CodeSystem/condition-category",
                          "code", "problem-list-item", "display", "Problem List Item"));
    /* Coded as the statement it names, as the requesting adaptor does. */
    cse__fw_set(res, "code", cse__fw_concept(w, named ? &named->code : &e->code));
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "encounter", cse__fw_ref("Encounter", enc));
    cse__fw_set(res, "onsetDateTime", cse__fw_time(cse__fw_effective(e)));
    cse__fw_set(res, "abatementDateTime", cse__fw_time(&e->effective_high));
    cse__fw_set(res, "recordedDate", cse__fw_time(&e->availability));
    cse__fw_set(res, "recorder", person_ref(w, e->author_ref));
    cse__fw_set(res, "note", cse__fw_notes(e));
    return res;
}

static json_t *r4_allergy(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    json_t *res = start(w, "AllergyIntolerance", e->id, UKCORE "AllergyIntolerance",
                        cse__fw_entry_nopat(e));
    if (res == NULL)
        return NULL;
    cse__fw_set(
        res, "clinicalStatus",
        json_pack("{s:[{s:s,s:s}]}", "coding", "system",
                  "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                  "code",
                  e->effective_high.precision != CSE_TIME_NONE ? "resolved" : "active"));
    cse__fw_set(res, "code", cse__fw_concept(w, &e->code));
    cse__fw_set(res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "encounter", cse__fw_ref("Encounter", enc));
    cse__fw_set(res, "onsetDateTime", cse__fw_time(cse__fw_effective(e)));
    cse__fw_set(res, "recordedDate", cse__fw_time(&e->availability));
    cse__fw_set(res, "recorder", person_ref(w, e->author_ref));
    cse__fw_set(res, "note", cse__fw_notes(e));
    return res;
}

static json_t *r4_immunization(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    json_t *res =
        start(w, "Immunization", e->id, UKCORE "Immunization", cse__fw_entry_nopat(e));
    json_t *when = cse__fw_time(cse__fw_effective(e));

    if (res == NULL) {
        json_decref(when);
        return NULL;
    }
    cse__fw_set(res, "status", json_string("completed"));
    cse__fw_set(res, "vaccineCode", code_or_unknown(w, &e->code));
    cse__fw_set(res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "encounter", cse__fw_ref("Encounter", enc));
    if (when == NULL)
        when = cse__fw_time(&e->availability);
    if (when)
        cse__fw_set(res, "occurrenceDateTime", when);
    else
        cse__fw_set(res, "occurrenceString", json_string("unknown"));
    cse__fw_set(res, "recorded", cse__fw_time(&e->availability));
    if (e->author_ref)
        cse__fw_set(res, "performer",
                    json_pack("[{s:o}]", "actor", cse__fw_agent_ref(w, e->author_ref)));
    cse__fw_set(res, "note", cse__fw_notes(e));
    return res;
}

static json_t *r4_medication(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    json_t *res = start(w, "MedicationStatement", e->id, UKCORE "MedicationStatement",
                        cse__fw_entry_nopat(e));
    bool active = e->status && strcmp(e->status, "ACTIVE") == 0;

    if (res == NULL)
        return NULL;
    cse__fw_set(res, "status", json_string(active ? "active" : "completed"));
    cse__fw_set(res, "medicationCodeableConcept", code_or_unknown(w, &e->code));
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "context", cse__fw_ref("Encounter", enc));
    set_effective(res, "effective", e);
    cse__fw_set(res, "dateAsserted", cse__fw_time(&e->availability));
    cse__fw_set(res, "informationSource", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(res, "note", cse__fw_notes(e));
    if (e->value)
        cse__fw_set(res, "dosage", json_pack("[{s:s}]", "text", e->value));
    return res;
}

static json_t *r4_service_request(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    bool referral = e->kind == CSE_ENTRY_REQUEST;
    json_t *res = start(w, "ServiceRequest", e->id, UKCORE "ServiceRequest",
                        cse__fw_entry_nopat(e));
    if (res == NULL)
        return NULL;
    cse__fw_set(res, "status", json_string("active"));
    cse__fw_set(res, "intent", json_string(referral ? "order" : "plan"));
    if (referral)
        cse__fw_set(res, "category",
                    json_pack("[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                              CSE_SYSTEM_SNOMED, "code", "3457005", "display",
                              "Patient referral"));
    cse__fw_set(res, "code", cse__fw_concept(w, &e->code));
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "encounter", cse__fw_ref("Encounter", enc));
    cse__fw_set(res, "occurrenceDateTime", cse__fw_time(cse__fw_effective(e)));
    cse__fw_set(res, "authoredOn", cse__fw_time(&e->availability));
    cse__fw_set(res, "requester", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(res, "note", cse__fw_notes(e));
    return res;
}

/* The marker's code: the SNOMED concept, then the codes it arrived with. */
static json_t *marker_code(cse__fhirw *w, const cse_marker *m)
{
    const char *display = m->display ? m->display : cse_code_term(m->code);
    json_t *cc = json_pack("{s:[{s:s,s:s,s:s*}]}", "coding", "system", CSE_SYSTEM_SNOMED,
                           "code", m->code, "display", display);
    json_t *legacy = cse__fw_concept(w, &m->legacy);
    json_t *codings = json_object_get(legacy, "coding");
    size_t i;
    json_t *k;

    if (cc && codings)
        json_array_foreach(codings, i, k)
            json_array_append(json_object_get(cc, "coding"), k);
    json_decref(legacy);
    if (cc && display)
        cse__fw_set(cc, "text", json_string(display));
    return cc;
}

static json_t *marker_period(const cse_marker *m)
{
    json_t *p = json_object();
    if (p) {
        cse__fw_set(p, "start", cse__fw_time(&m->start));
        if (m->end.precision != CSE_TIME_NONE)
            cse__fw_set(p, "end", cse__fw_time(&m->end));
    }
    return p;
}

/* Who recorded the marker: its author agent, else the entry's author, else
 * the sending practice. */
static json_t *marker_author(cse__fhirw *w, const cse_marker *m, const cse_entry *e)
{
    if (m->author_id)
        return cse__fw_agent_ref(w, m->author_id);
    if (e->author_ref)
        return cse__fw_agent_ref(w, e->author_ref);
    return cse__fw_ref("Organization", w->org_id);
}

static cse_code r4_marker(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                          const char *enc, cse_error *err)
{
    const char *mid = m->id ? m->id : e->id;
    char flag_id[37], obs_id[37];
    json_t *flag = NULL, *obs = NULL, *ext;
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
    if (flag == NULL || (ext = json_array()) == NULL ||
        !cse__fw_marker_extensions(ext, m) ||
        json_array_append_new(ext, json_pack("{s:s,s:o}", "url", CSE_FHIR_FLAG_DETAIL,
                                             "valueReference",
                                             cse__fw_ref("Observation", obs_id))) ||
        !cse__fw_set(flag, "extension", ext))
        goto nomem;
    cse__fw_set(
        flag, "identifier",
        json_pack("[{s:s,s:s}]", "system", CSE_FHIR_MARKER_ID_SYSTEM, "value", mid));
    cse__fw_set(flag, "status", json_string(cse_marker_status_name(m->status)));
    cse__fw_set(flag, "category",
                json_pack("[{s:[{s:s,s:s,s:s}]},{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                          CSE_FHIR_FLAG_CATEGORY, "code", "safety", "display", "Safety",
                          "coding", "system", CSE_FHIR_CS_CATEGORY, "code", "cse",
                          "display", "Child sexual exploitation"));
    cse__fw_set(flag, "code", marker_code(w, m));
    cse__fw_set(flag, "subject", cse__fw_patient_ref(w, true));
    cse__fw_set(flag, "period", marker_period(m));
    cse__fw_set(flag, "encounter", cse__fw_ref("Encounter", enc));
    cse__fw_set(flag, "author", marker_author(w, m, e));

    obs = start(w, "Observation", obs_id, CSE_FHIR_OBS_PROFILE, true);
    if (obs == NULL || (ext = json_array()) == NULL ||
        !cse__fw_marker_extensions(ext, m) || !cse__fw_set(obs, "extension", ext))
        goto nomem;
    cse__fw_set(
        obs, "identifier",
        json_pack("[{s:s,s:s}]", "system", CSE_FHIR_MARKER_ID_SYSTEM, "value", mid));
    cse__fw_set(obs, "status",
                json_string(m->status == CSE_MARKER_ENTERED_IN_ERROR ? "entered-in-error"
                                                                     : "final"));
    cse__fw_set(obs, "category",
                json_pack("[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                          CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
                          "Child sexual exploitation"));
    cse__fw_set(obs, "code", marker_code(w, m));
    cse__fw_set(obs, "subject", cse__fw_patient_ref(w, true));
    cse__fw_set(obs, "encounter", cse__fw_ref("Encounter", enc));
    cse__fw_set(obs, "effectivePeriod", marker_period(m));
    cse__fw_set(obs, "issued", instant(&e->availability));
    cse__fw_set(obs, "performer", json_pack("[o]", marker_author(w, m, e)));
    cse__fw_set(obs, "note", cse__fw_notes(e));
    if ((rc = cse__fw_emit(w, flag, err)) != CSE_OK) {
        json_decref(obs);
        return rc;
    }
    return cse__fw_emit(w, obs, err);
nomem:
    json_decref(flag);
    json_decref(obs);
    return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

/* Defined below, after the entry writer that uses them. */
static cse_code r4_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                           const cse__fw_recent *named, bool nopat, cse_error *err);
static cse_code r4_flush(cse__fhirw *w, const cse_entry *next, cse_error *err);
static json_t *r4_document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                           const char *enc);

static cse_code r4_entry(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                         cse_error *err)
{
    const char *enc = cse__fw_context(w, e);
    json_t *res = NULL;

    if (info->cls == CSE_CLASS_MARKER && info->marker)
        return r4_marker(w, e, info->marker, enc, err);
    switch (e->kind) {
    case CSE_ENTRY_ENCOUNTER: res = r4_encounter(w, e); break;
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
        return cse__fw_loss(w, "CompoundStatement (topic or category)",
                            "a grouping heading: its entries keep their encounter",
                            e->source_line, err);
    case CSE_ENTRY_PROBLEM: /* normally held by the common code until its
                               composition ends; here only a damaged marker */
        return r4_problem(w, e, enc, NULL, cse__fw_entry_nopat_linked(w, e), err);
    case CSE_ENTRY_ALLERGY: res = r4_allergy(w, e, enc); break;
    case CSE_ENTRY_IMMUNIZATION: res = r4_immunization(w, e, enc); break;
    case CSE_ENTRY_MEDICATION: res = r4_medication(w, e, enc); break;
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
static json_t *r4_document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                           const char *enc)
{
    const cse_entry *base = narr ? narr : att;
    json_t *res = start(w, "DocumentReference", base->id, UKCORE "DocumentReference",
                        cse__fw_entry_nopat(att) || (narr && cse__fw_entry_nopat(narr)));
    json_t *who = person_ref(w, base->author_ref);

    if (res == NULL) {
        json_decref(who);
        return NULL;
    }
    cse__fw_set(res, "status", json_string("current"));
    cse__fw_set(res, "type", code_or_unknown(w, &att->code));
    cse__fw_set(res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(res, "date", instant(&base->availability));
    if (who)
        cse__fw_set(res, "author", json_pack("[o]", who));
    if (narr && narr->code.n == 0 && narr->code.text)
        cse__fw_set(res, "description", json_string(narr->code.text));
    cse__fw_set(res, "content",
                json_pack("[{s:{s:s}}]", "attachment", "url", att->value));
    if (enc)
        cse__fw_set(res, "context",
                    json_pack("{s:[o]}", "encounter", cse__fw_ref("Encounter", enc)));
    return res;
}

/* A narrative is held until the next entry shows whether it refers to a
 * document; anything else writes it as an Observation. */
static cse_code r4_flush(cse__fhirw *w, const cse_entry *next, cse_error *err)
{
    cse_entry *p = w->pending;
    json_t *res;

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
