/* SPDX-License-Identifier: MIT */
/* The FHIR STU3 writer: a GP Connect structured-record Bundle shaped like the
 * national GP2GP requesting adaptor's output (CareConnect-GPC-* profiles,
 * ids taken from the extract, an identifier per resource in the
 * https://PSSAdaptor/<sending ODS> system, NOPAT in
 * http://hl7.org/fhir/v3/ActCode).
 *
 * A marker is one CareConnect-GPC-Observation-1 with NOPAT: GP Connect
 * structured records carry no Flag. Its review date and end reason travel in
 * our extensions (cse-review-date, cse-end-reason), and the same facts as the
 * csemarker annotation in Observation.comment, so that a GP Connect consumer
 * that ignores unknown extensions still shows them to a clinician. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "fhir_write_common.h"

#define GPC "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-"
#define CS_V3_NULL "http://hl7.org/fhir/v3/NullFlavor"

/* The adaptor's transfer-degraded codes, added to a concept with no SNOMED
 * CT code (GP Connect requires one). */
#define DEGRADED_OTHER "196411000000103", "Transfer-degraded record entry"
#define DEGRADED_PLAN "196451000000104", "Transfer-degraded plan"
#define DEGRADED_REFERRAL "196431000000106", "Transfer-degraded referral"
#define DEGRADED_MEDICATION "196421000000109", "Transfer-degraded medication entry"
#define DEGRADED_DRUG_ALLERGY "196461000000101", "Transfer-degraded drug allergy"
#define DEGRADED_NON_DRUG_ALLERGY "196471000000108", "Transfer-degraded non-drug allergy"

/* Compositions the adaptor does not turn into an Encounter: non-consultation
 * data and the registration summary. */
static bool non_consultation(const cse_entry *e)
{
    for (size_t i = 0; i < e->code.n; i++) {
        const char *c = e->code.codings[i].code;
        if (i == 0 && c &&
            (strcmp(c, "196401000000100") == 0 || strcmp(c, "196391000000103") == 0))
            return true;
    }
    return false;
}

static cse__jw *identifier(const cse__fhirw *w, const char *id)
{
    if (w->identifier_system == NULL || id == NULL)
        return NULL;
    return cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", w->identifier_system, "value",
                        id);
}

static cse__jw *start(cse__fhirw *w, const char *type, const char *id,
                      const char *profile, bool nopat)
{
    char uuid[37];
    cse__jw *res;

    if (id == NULL) {
        if (cse_uuid_random(uuid) != CSE_OK)
            return NULL;
        id = uuid;
    }
    res = cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", type, "id", id, "meta",
                       cse__fw_meta(w, profile, nopat));
    if (res && !cse__fw_set(w, res, "identifier", identifier(w, id)))
        return NULL;
    return res;
}

static cse_code stu3_patient(cse__fhirw *w, const cse_extract_info *info, cse_error *err)
{
    cse__jw *res =
        cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", "Patient", "id",
                     w->patient_id, "meta", cse__fw_meta(w, GPC "Patient-1", false));

    if (res && w->nhs_number)
        cse__fw_set(w, res, "identifier",
                    cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_NHS_NUMBER,
                                 "value", w->nhs_number));
    return cse__fw_emit(w, res, err);
}

static cse_code stu3_agent(cse__fhirw *w, const cse_agent *a, cse_error *err)
{
    cse__jw *res;

    if (a->kind == CSE_AGENT_ORGANISATION) {
        res = start(w, "Organization", a->id, GPC "Organization-1", false);
        if (res && a->ods)
            cse__fw_set(w, res, "identifier",
                        cse__jw_pack(w->jw, "[{s:s,s:s}]", "system", CSE_FHIR_ODS,
                                     "value", a->ods));
        if (res && a->name)
            cse__fw_set(w, res, "name", cse__jw_string(w->jw, a->name));
        return cse__fw_emit(w, res, err);
    }
    res = cse__jw_pack(w->jw, "{s:s,s:s,s:o}", "resourceType", "Practitioner", "id",
                       a->id, "meta", cse__fw_meta(w, GPC "Practitioner-1", false));
    if (res && a->name)
        cse__fw_set(
            w, res, "name",
            cse__jw_pack(w->jw, "[{s:s,s:s}]", "use", "official", "text", a->name));
    return cse__fw_emit(w, res, err);
}

static cse__jw *code_or_unknown(cse__fhirw *w, const cse_concept *c)
{
    cse__jw *cc = cse__fw_concept(w, c);
    if (cc)
        return cc;
    return cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system", CS_V3_NULL,
                        "code", "UNK", "display", "unknown");
}

static cse__jw *period(const cse__fhirw *w, const cse_time *from, const cse_time *to)
{
    cse__jw *p = cse__jw_object(w->jw);
    if (p == NULL)
        return NULL;
    cse__fw_set(w, p, "start", cse__fw_time(w, from));
    cse__fw_set(w, p, "end", cse__fw_time(w, to));
    if (cse__jw_object_size(p) == 0)
        return NULL;
    return p;
}

static void set_effective(const cse__fhirw *w, cse__jw *res, const cse_entry *e)
{
    if (e->effective_high.precision != CSE_TIME_NONE)
        cse__fw_set(w, res, "effectivePeriod",
                    period(w, cse__fw_effective(e), &e->effective_high));
    else
        cse__fw_set(w, res, "effectiveDateTime", cse__fw_time(w, cse__fw_effective(e)));
}

static cse__jw *instant(const cse__fhirw *w, const cse_time *t)
{
    return t->precision >= CSE_TIME_MINUTE ? cse__fw_time(w, t) : NULL;
}

/* A narrative's text and the annotations joined into one comment, as the
 * adaptor does. */
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

static cse__jw *stu3_observation(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res =
        start(w, "Observation", e->id, GPC "Observation-1", cse__fw_entry_nopat(e));
    const char *pc = cse__fw_parent_class(w, e);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "final"));
    if (e->kind == CSE_ENTRY_NARRATIVE && e->code.n == 0)
        cse__fw_set(w, res, "code",
                    cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system",
                                 CSE_SYSTEM_SNOMED, "code", "37331000000100", "display",
                                 "Comment note"));
    else
        cse__fw_set(w, res, "code",
                    cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_OTHER));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "context", cse__fw_ref(w, "Encounter", enc));
    if (e->effective_high.precision != CSE_TIME_NONE)
        set_effective(w, res, e);
    else
        cse__fw_set(w, res, "effectiveDateTime", cse__fw_time(w, cse__fw_obs_time(w, e)));
    cse__fw_set(w, res, "issued",
                instant(w, w->enc_authored.precision != CSE_TIME_NONE
                               ? &w->enc_authored
                               : &e->availability));
    if (cse__fw_performer(w, e))
        cse__fw_set(
            w, res, "performer",
            cse__jw_pack(w->jw, "[o]", cse__fw_agent_ref(w, cse__fw_performer(w, e))));
    cse__fw_obs_value(w, res, e);
    cse__fw_set(w, res, "comment", comment(w, e));
    if (e->path.specimen_id && e->path.role == CSE_PATH_RESULT)
        cse__fw_set(w, res, "specimen", cse__fw_ref(w, "Specimen", e->path.specimen_id));
    /* A cluster inside a laboratory report is no resource of its own: its
     * results point to their specimen instead. */
    if (pc && (strcmp(pc, "battery") == 0 ||
               (strcmp(pc, "cluster") == 0 && e->path.role == CSE_PATH_NONE)))
        cse__fw_set(w, res, "related",
                    cse__jw_pack(w->jw, "[{s:s,s:o}]", "type", "derived-from", "target",
                                 cse__fw_ref(w, "Observation", e->parent_id)));
    return res;
}

static cse__jw *stu3_encounter(cse__fhirw *w, const cse_entry *e)
{
    cse__jw *res =
        start(w, "Encounter", e->id, GPC "Encounter-1", cse__fw_entry_nopat(e));
    cse__jw *who = cse__fw_agent_ref(w, e->author_ref);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "finished"));
    cse__fw_set(
        w, res, "type",
        cse__jw_pack(w->jw, "[o]",
                     cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_OTHER)));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (who)
        cse__fw_set(w, res, "participant",
                    cse__jw_pack(w->jw, "[{s:[{s:[{s:s,s:s,s:s}]}],s:o}]", "type",
                                 "coding", "system",
                                 "https://fhir.nhs.uk/STU3/CodeSystem/"
                                 "GPConnect-ParticipantType-1",
                                 "code", "REC", "display", "recorder", "individual",
                                 who));
    cse__fw_set(w, res, "period", period(w, cse__fw_obs_time(w, e), &e->effective_high));
    {
        char loc[37];
        if (cse__fw_location_id(e, loc))
            cse__fw_set(w, res, "location",
                        cse__jw_pack(w->jw, "[{s:o}]", "location",
                                     cse__fw_ref(w, "Location", loc)));
    }
    return res;
}

/* The STU3 resource type a statement is written as, NULL when it is not
 * written under its own id. */
static const char *named_type(const cse__fw_recent *r)
{
    switch (r->kind) {
    case CSE_ENTRY_OBSERVATION:
    case CSE_ENTRY_NARRATIVE: return "Observation";
    case CSE_ENTRY_ALLERGY: return r->marker ? NULL : "AllergyIntolerance";
    case CSE_ENTRY_IMMUNIZATION: return r->marker ? NULL : "Immunization";
    case CSE_ENTRY_MEDICATION: return r->marker ? NULL : "MedicationStatement";
    case CSE_ENTRY_PLAN: return r->marker ? NULL : "ProcedureRequest";
    case CSE_ENTRY_REQUEST: return r->marker ? NULL : "ReferralRequest";
    default: return NULL;
    }
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

static cse__jw *stu3_condition(cse__fhirw *w, const cse_entry *e, const char *enc,
                               const cse__fw_recent *named, bool nopat)
{
    cse__jw *res = start(w, "Condition", e->id, GPC "ProblemHeader-Condition-1", nopat);
    bool ended = problem_ended(e);
    const char *type = named ? named_type(named) : NULL;

    if (res == NULL)
        return NULL;
    if (type)
        cse__fw_set(w, res, "extension",
                    cse__jw_pack(w->jw, "[{s:s,s:o}]", "url",
                                 "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                                 "Extension-CareConnect-ActualProblem-1",
                                 "valueReference", cse__fw_ref(w, type, named->id)));
    if (cse__jw_object_get(res, "extension")) {
        /* Keep extension before identifier, as in the adaptor's output. */
        cse__jw *ids = cse__jw_object_get(res, "identifier");
        cse__jw_object_del(res, "identifier");
        cse__fw_set(w, res, "identifier", ids);
    }
    cse__fw_set(w, res, "clinicalStatus",
                cse__jw_string(w->jw, ended ? "inactive" : "active"));
    cse__fw_set(w, res, "category",
                cse__jw_pack(w->jw, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system",
                             "https://fhir.hl7.org.uk/STU3/CodeSystem/"
                             "CareConnect-ConditionCategory-1",
                             "code", "problem-list-item", "display",
                             "Problem List Item"));
    /* Coded as the statement it names, as the requesting adaptor does. */
    cse__fw_set(w, res, "code",
                cse__fw_degrade(w, cse__fw_concept(w, named ? &named->code : &e->code),
                                DEGRADED_OTHER));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "context", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "abatementDateTime", cse__fw_time(w, &e->effective_high));
    cse__fw_set(w, res, "assertedDate", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "asserter", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *stu3_allergy(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = start(w, "AllergyIntolerance", e->id, GPC "AllergyIntolerance-1",
                         cse__fw_entry_nopat(e));
    if (res == NULL)
        return NULL;
    if (enc)
        cse__fw_set(w, res, "extension",
                    cse__jw_pack(w->jw, "[{s:s,s:o}]", "url",
                                 "http://hl7.org/fhir/StructureDefinition/"
                                 "encounter-associatedEncounter",
                                 "valueReference", cse__fw_ref(w, "Encounter", enc)));
    cse__fw_set(w, res, "clinicalStatus",
                cse__jw_string(w->jw, e->effective_high.precision != CSE_TIME_NONE
                                          ? "resolved"
                                          : "active"));
    cse__fw_set(w, res, "verificationStatus", cse__jw_string(w->jw, "unconfirmed"));
    cse__fw_set(
        w, res, "code",
        cse__fw_parent_nondrug_allergy(w, e)
            ? cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_NON_DRUG_ALLERGY)
            : cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_DRUG_ALLERGY));
    {
        const char *cat =
            e->allergy.category
                ? e->allergy.category
                : (cse__fw_parent_nondrug_allergy(w, e) ? "environment" : "medication");
        cse__fw_set(w, res, "category", cse__jw_pack(w->jw, "[s]", cat));
    }
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "onsetDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "assertedDate", cse__fw_time(w, &e->availability));
    cse__fw_set(w, res, "recorder", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *stu3_immunization(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res =
        start(w, "Immunization", e->id, GPC "Immunization-1", cse__fw_entry_nopat(e));
    cse__jw *proc = cse__fw_concept(w, &e->code);
    cse__jw *ext = cse__jw_array(w->jw);

    if (res == NULL || ext == NULL)
        return NULL;
    if (proc)
        cse__jw_array_append(w->jw, ext,
                             cse__jw_pack(w->jw, "{s:s,s:o}", "url",
                                          "https://fhir.hl7.org.uk/STU3/"
                                          "StructureDefinition/"
                                          "Extension-CareConnect-VaccinationProcedure-1",
                                          "valueCodeableConcept", proc));
    if (e->availability.precision != CSE_TIME_NONE)
        cse__jw_array_append(w->jw, ext,
                             cse__jw_pack(w->jw, "{s:s,s:o}", "url",
                                          "https://fhir.hl7.org.uk/STU3/"
                                          "StructureDefinition/"
                                          "Extension-CareConnect-DateRecorded-1",
                                          "valueDateTime",
                                          cse__fw_time(w, &e->availability)));
    if (cse__jw_array_size(ext))
        cse__fw_set(w, res, "extension", ext);
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "completed"));
    cse__fw_set(w, res, "notGiven", cse__jw_false());
    cse__fw_set(w, res, "vaccineCode",
                cse__jw_pack(w->jw, "{s:[{s:s,s:s}]}", "coding", "system", CS_V3_NULL,
                             "code", "UNK"));
    cse__fw_set(w, res, "patient", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "encounter", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "date", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "primarySource", cse__jw_true());
    if (e->author_ref)
        cse__fw_set(
            w, res, "practitioner",
            cse__jw_pack(w->jw, "[{s:o}]", "actor", cse__fw_agent_ref(w, e->author_ref)));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *stu3_plan(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = start(w, "ProcedureRequest", e->id, GPC "ProcedureRequest-1",
                         cse__fw_entry_nopat(e));
    cse__jw *who = cse__fw_agent_ref(w, e->author_ref);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "active"));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, "plan"));
    cse__fw_set(w, res, "code",
                cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_PLAN));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "context", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "occurrenceDateTime", cse__fw_time(w, cse__fw_effective(e)));
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, &e->availability));
    if (who)
        cse__fw_set(w, res, "requester", cse__jw_pack(w->jw, "{s:o}", "agent", who));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

static cse__jw *stu3_referral(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    cse__jw *res = start(w, "ReferralRequest", e->id, GPC "ReferralRequest-1",
                         cse__fw_entry_nopat(e));
    cse__jw *who = cse__fw_agent_ref(w, e->author_ref);
    cse__jw *reason = cse__fw_degrade(w, cse__fw_concept(w, &e->code), DEGRADED_REFERRAL);

    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "unknown"));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, "order"));
    if (e->req.priority)
        cse__fw_set(w, res, "priority", cse__jw_string(w->jw, e->req.priority));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "context", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, &e->availability));
    if (who)
        cse__fw_set(w, res, "requester", cse__jw_pack(w->jw, "{s:o}", "agent", who));
    if (reason)
        cse__fw_set(w, res, "reasonCode", cse__jw_pack(w->jw, "[o]", reason));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    return res;
}

/* A NarrativeStatement that refers to an ExternalDocument becomes one
 * DocumentReference with the statement's id, as the adaptor writes it. narr
 * may be NULL for a document without its statement. */
static cse__jw *stu3_document(cse__fhirw *w, const cse_entry *narr, const cse_entry *att,
                              const char *enc)
{
    const cse_entry *base = narr ? narr : att;
    cse__jw *res = start(w, "DocumentReference", base->id, GPC "DocumentReference-1",
                         cse__fw_entry_nopat(att) || (narr && cse__fw_entry_nopat(narr)));
    if (res == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "current"));
    cse__fw_set(w, res, "type", code_or_unknown(w, &att->code));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "created", cse__fw_time(w, &base->availability));
    /* indexed is a required instant: the statement's time when it has one,
     * else when the extract was made. */
    cse__fw_set(w, res, "indexed",
                base->availability.precision >= CSE_TIME_MINUTE
                    ? cse__fw_time(w, &base->availability)
                    : instant(w, &w->extract_time));
    if (base->author_ref)
        cse__fw_set(w, res, "author",
                    cse__jw_pack(w->jw, "[o]", cse__fw_agent_ref(w, base->author_ref)));
    if (narr && narr->code.n == 0 && narr->code.text)
        cse__fw_set(w, res, "description", cse__jw_string(w->jw, narr->code.text));
    cse__fw_set(w, res, "content",
                cse__jw_pack(w->jw, "[{s:{s:s}}]", "attachment", "url", att->value));
    if (enc)
        cse__fw_set(
            w, res, "context",
            cse__jw_pack(w->jw, "{s:o}", "encounter", cse__fw_ref(w, "Encounter", enc)));
    return res;
}

/* A narrative is held until the next entry shows whether it refers to a
 * document; anything else writes it as an Observation. */
static cse_code stu3_flush(cse__fhirw *w, const cse_entry *next, cse_error *err)
{
    cse_entry *p = w->pending;
    cse__jw *res;

    if (p == NULL || (next && next->kind == CSE_ENTRY_ATTACHMENT && p->id &&
                      next->parent_id && strcmp(p->id, next->parent_id) == 0))
        return CSE_OK;
    w->pending = NULL;
    if (p->kind == CSE_ENTRY_ENCOUNTER) {
        cse_code rc;
        if (next && next->kind != CSE_ENTRY_ENCOUNTER) {
            if ((rc = cse__fw_location(w, p, err)) != CSE_OK) {
                cse_entry_free(p);
                return rc;
            }
            res = stu3_encounter(w, p);
        } else {
            rc = cse__fw_loss(w, "ehrComposition without entries",
                              "EhrEmpty or RegistrationStatement only: no Encounter",
                              p->source_line, err);
            cse_entry_free(p);
            return rc;
        }
    } else {
        res = stu3_observation(w, p, w->pending_enc);
    }
    cse_entry_free(p);
    return cse__fw_emit(w, res, err);
}

static cse_code hold(cse__fhirw *w, const cse_entry *e, const char *enc, cse_error *err)
{
    if ((w->pending = cse_entry_dup(e)) == NULL ||
        cse_strset(&w->pending_enc, enc) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    return CSE_OK;
}

/* A marker as GP Connect carries it: an Observation with NOPAT. */
static cse_code stu3_marker(cse__fhirw *w, const cse_entry *e, const cse_marker *m,
                            const char *enc, cse_error *err)
{
    const char *mid = m->id ? m->id : e->id;
    const char *display = m->display ? m->display : cse_code_term(m->code);
    char note[512];
    cse__jw *res, *ext, *code, *legacy, *codings, *ids;

    if (mid == NULL)
        return cse__error_set(err, CSE_ERR_STRUCTURE, e->source_line, NULL, "id",
                              "a marker entry has no id");
    res = start(w, "Observation", e->id ? e->id : mid, GPC "Observation-1", true);
    if (res == NULL || (ext = cse__jw_array(w->jw)) == NULL ||
        !cse__fw_marker_extensions(w, ext, m) || !cse__fw_set(w, res, "extension", ext)) {
        return cse__fw_emit(w, NULL, err);
    }
    /* Keep the resource's key order readable: extension before identifier. */
    ids = cse__jw_object_get(res, "identifier");
    if (ids == NULL) {
        ids = cse__jw_array(w->jw);
        cse__fw_set(w, res, "identifier", ids);
    } else {
        cse__jw_object_del(res, "identifier");
        cse__fw_set(w, res, "identifier", ids);
    }
    cse__jw_array_append(w->jw, ids,
                         cse__jw_pack(w->jw, "{s:s,s:s}", "system",
                                      CSE_FHIR_MARKER_ID_SYSTEM, "value", mid));
    cse__fw_set(w, res, "status",
                cse__jw_string(w->jw, m->status == CSE_MARKER_ENTERED_IN_ERROR
                                          ? "entered-in-error"
                                          : "final"));
    code = cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s*}]}", "coding", "system",
                        CSE_SYSTEM_SNOMED, "code", m->code, "display", display);
    legacy = cse__fw_concept(w, &m->legacy);
    codings = cse__jw_object_get(legacy, "coding");
    for (size_t i = 0; code && i < cse__jw_array_size(codings); i++)
        cse__jw_array_append(w->jw, cse__jw_object_get(code, "coding"),
                             cse__jw_array_get(codings, i));
    if (code && display)
        cse__fw_set(w, code, "text", cse__jw_string(w->jw, display));
    cse__fw_set(w, res, "code", code);
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_set(w, res, "context", cse__fw_ref(w, "Encounter", enc));
    cse__fw_set(w, res, "effectivePeriod",
                period(w, &m->start, m->end.precision != CSE_TIME_NONE ? &m->end : NULL));
    cse__fw_set(w, res, "issued", instant(w, &e->availability));
    if (m->author_id || e->author_ref)
        cse__fw_set(w, res, "performer",
                    cse__jw_pack(w->jw, "[o]",
                                 cse__fw_agent_ref(w, m->author_id ? m->author_id
                                                                   : e->author_ref)));
    if (cse_marker_annotation_format(m, note, sizeof(note)) == CSE_OK)
        cse__fw_set(w, res, "comment", cse__jw_string(w->jw, note));
    return cse__fw_emit(w, res, err);
}

static cse_code stu3_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                             const cse__fw_recent *named, bool nopat, cse_error *err)
{
    cse_code rc;

    if (e->n_links > (named ? 1u : 0u) &&
        (rc = cse__fw_loss(w, "LinkSet related entries",
                           "problem links to other entries are not written",
                           e->source_line, err)) != CSE_OK)
        return rc;
    return cse__fw_emit(w, stu3_condition(w, e, enc, named, nopat), err);
}

static cse_code stu3_entry(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                           cse_error *err)
{
    const char *enc = cse__fw_context(w, e);
    cse__jw *res = NULL;
    cse_code rc;

    if (info->cls == CSE_CLASS_MARKER && info->marker)
        return stu3_marker(w, e, info->marker, enc, err);
    switch (e->kind) {
    case CSE_ENTRY_ENCOUNTER:
        if (non_consultation(e)) {
            w->enc_skipped = true;
            return cse__fw_loss(w, "ehrComposition (non-consultation)",
                                "not an encounter: its entries are written without one",
                                e->source_line, err);
        }
        /* Held: a composition whose contents are all suppressed (EhrEmpty,
         * RegistrationStatement) is no Encounter for the adaptor. */
        return hold(w, e, NULL, err);
    case CSE_ENTRY_OBSERVATION: res = stu3_observation(w, e, enc); break;
    case CSE_ENTRY_NARRATIVE: return hold(w, e, enc, err);
    case CSE_ENTRY_COMPOUND:
        if (e->compound_class && (strcmp(e->compound_class, "battery") == 0 ||
                                  strcmp(e->compound_class, "cluster") == 0)) {
            res = stu3_observation(w, e, enc);
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
        return stu3_problem(w, e, enc, NULL, cse__fw_entry_nopat_linked(w, e), err);
    case CSE_ENTRY_ALLERGY: res = stu3_allergy(w, e, enc); break;
    case CSE_ENTRY_IMMUNIZATION: res = stu3_immunization(w, e, enc); break;
    case CSE_ENTRY_MEDICATION: return cse__fw_medication(w, e, enc, err);
    case CSE_ENTRY_PLAN: res = stu3_plan(w, e, enc); break;
    case CSE_ENTRY_REQUEST: res = stu3_referral(w, e, enc); break;
    case CSE_ENTRY_ATTACHMENT:
        if (e->value == NULL) {
            if ((rc = stu3_flush(w, NULL, err)) != CSE_OK)
                return rc;
            return cse__fw_loss(w, "ExternalDocument (attachment)",
                                "no document reference to write", e->source_line, err);
        }
        /* The narrative held just before it, if it is the one that refers to
         * it (stu3_flush wrote any other). */
        res = stu3_document(w, w->pending, e, w->pending ? w->pending_enc : enc);
        cse_entry_free(w->pending);
        w->pending = NULL;
        break;
    default:
        return cse__fw_loss(w, cse_entry_kind_name(e->kind), "entry kind not mapped",
                            e->source_line, err);
    }
    return cse__fw_emit(w, res, err);
}

static const cse__fw_ops stu3_ops = {stu3_patient, stu3_agent, stu3_entry, stu3_flush,
                                     stu3_problem};

cse_sink *cse_fhir_stu3_writer_new(FILE *out, const cse_fhir_write_options *opt,
                                   cse_error *err)
{
    return cse__fw_new(out, opt, true, &stu3_ops, err);
}
