/* SPDX-License-Identifier: MIT */
/* The one mapping from the record model to FHIR, part two: the whole-record
 * content (values, medication, pathology, consultation Lists, Locations).
 * Version differences as plain values come from the table in
 * fhir_map_entry.c; where the shape differs, the function tests w->stu3. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fhir_write_common.h"

#define UCUM "http://unitsofmeasure.org"

cse__jw *cse__fw_quantity(const cse__fhirw *w, const cse_quantity *q)
{
    cse__jw *o, *num;

    if (!cse_quantity_present(q) || (num = cse__jw_number_text(w->jw, q->value)) == NULL)
        return NULL;
    if ((o = cse__jw_object(w->jw)) == NULL)
        return NULL;
    cse__fw_set(w, o, "value", num);
    if (q->comparator)
        cse__fw_set(w, o, "comparator", cse__jw_string(w->jw, q->comparator));
    if (q->unit || q->ucum)
        cse__fw_set(w, o, "unit", cse__jw_string(w->jw, q->unit ? q->unit : q->ucum));
    if (q->ucum) {
        cse__fw_set(w, o, "system", cse__jw_string(w->jw, UCUM));
        cse__fw_set(w, o, "code", cse__jw_string(w->jw, q->ucum));
    }
    return o;
}

/* A quantity without its unit when it has none, for reference ranges. */
static cse__jw *range(const cse__fhirw *w, const cse_range *r)
{
    cse__jw *o = cse__jw_object(w->jw);
    if (o == NULL)
        return NULL;
    cse__fw_set(w, o, "low", cse__fw_quantity(w, &r->low));
    cse__fw_set(w, o, "high", cse__fw_quantity(w, &r->high));
    if (r->text)
        cse__fw_set(w, o, "text", cse__jw_string(w->jw, r->text));
    return cse__jw_object_size(o) ? o : NULL;
}

/* HL7 v3 interpretation codes to FHIR's: STU3 uses the v2 0078 table, R4
 * the v3 ObservationInterpretation code system; display is the HL7 text. */
static cse__jw *interpretation(const cse__fhirw *w, const cse_concept *c)
{
    static const struct {
        const char *hl7, *code, *display;
    } map[] = {{"HI", "H", "High"},
               {"LO", "L", "Low"},
               {"OR", "A", "Abnormal"},
               {"AN", "A", "Abnormal"},
               /* What the sending adaptor writes for A: its inverse. */
               {"PA", "A", "Abnormal"},
               {"HH", "HH", "Critical high"},
               {"LL", "LL", "Critical low"},
               {"N", "N", "Normal"}};
    const char *code = c->n ? c->codings[0].code : NULL;
    cse__jw *cc, *coding;

    if (c->n == 0 && c->text == NULL)
        return NULL;
    if ((cc = cse__jw_object(w->jw)) == NULL || (coding = cse__jw_object(w->jw)) == NULL)
        return NULL;
    cse__fw_set(w, coding, "system", cse__jw_string(w->jw, w->v->interpretation));
    for (size_t i = 0; code && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(code, map[i].hl7) == 0) {
            cse__fw_set(w, coding, "code", cse__jw_string(w->jw, map[i].code));
            cse__fw_set(w, coding, "display", cse__jw_string(w->jw, map[i].display));
        }
    /* R4 requires a code in a coding; an unmapped one keeps its text. */
    if (w->stu3 || cse__jw_object_get(coding, "code"))
        cse__fw_set(w, cc, "coding", cse__jw_pack(w->jw, "[o]", coding));
    if (c->text)
        cse__fw_set(w, cc, "text", cse__jw_string(w->jw, c->text));
    else if (c->n && c->codings[0].display)
        cse__fw_set(w, cc, "text", cse__jw_string(w->jw, c->codings[0].display));
    return cse__jw_object_size(cc) ? cc : NULL;
}

bool cse__fw_obs_value(const cse__fhirw *w, cse__jw *res, const cse_entry *e)
{
    const cse_value *v = &e->val;
    cse__jw *arr;

    switch (v->kind) {
    case CSE_VALUE_QUANTITY:
        if (!cse__fw_set(w, res, "valueQuantity", cse__fw_quantity(w, &v->quantity)))
            return false;
        if (cse__jw_object_get(res, "valueQuantity") == NULL && e->value)
            cse__fw_set(w, res, "valueString", cse__jw_string(w->jw, e->value));
        break;
    case CSE_VALUE_CODED:
        cse__fw_set(w, res, "valueCodeableConcept", cse__fw_concept(w, &v->coded));
        break;
    case CSE_VALUE_RANGE: cse__fw_set(w, res, "valueRange", range(w, &v->range)); break;
    case CSE_VALUE_BOOLEAN:
        cse__fw_set(w, res, "valueBoolean",
                    v->boolean ? cse__jw_true() : cse__jw_false());
        break;
    case CSE_VALUE_DATE:
        cse__fw_set(w, res, "valueDateTime", cse__fw_time(w, &v->date));
        break;
    case CSE_VALUE_TEXT:
        cse__fw_set(w, res, "valueString", cse__jw_string(w->jw, v->text));
        break;
    case CSE_VALUE_NONE:
        if (e->value)
            cse__fw_set(w, res, "valueString", cse__jw_string(w->jw, e->value));
        break;
    }
    if ((arr = interpretation(w, &e->interpretation)) != NULL)
        /* STU3 has one interpretation, R4 a list. */
        cse__fw_set(w, res, "interpretation",
                    w->stu3 ? arr : cse__jw_pack(w->jw, "[o]", arr));
    if (e->n_ref_ranges && (arr = cse__jw_array(w->jw)) != NULL) {
        for (size_t i = 0; i < e->n_ref_ranges; i++) {
            cse__jw *r = range(w, &e->ref_ranges[i]);
            if (r)
                cse__jw_array_append(w->jw, arr, r);
        }
        if (cse__jw_array_size(arr))
            cse__fw_set(w, res, "referenceRange", arr);
    }
    return true;
}

const cse_time *cse__fw_obs_time(const cse__fhirw *w, const cse_entry *e)
{
    const cse_time *t = cse__fw_effective(e);
    (void)w;
    if (t)
        return t;
    if (e->availability.precision != CSE_TIME_NONE)
        return &e->availability;
    return NULL;
}

const char *cse__fw_performer(const cse__fhirw *w, const cse_entry *e)
{
    if (e->performer_ref)
        return e->performer_ref;
    if (e->author_ref)
        return e->author_ref;
    return w->enc_performer ? w->enc_performer : w->enc_recorder;
}

static void list_clear(cse__fw_list *l);
static cse__fw_list *list_at(const cse__fhirw *w, size_t i);

/* ---- Medication ---------------------------------------------------------- */

/* Appends s to buf as snprintf(buf + *used, size - *used, "%s", s) would,
 * then adds its length to *used as the caller of snprintf did: the same
 * bytes, without a format to read (this runs for every drug). */
static void key_put(char *buf, size_t size, size_t *used, const char *s)
{
    size_t n;

    if (s == NULL)
        s = "(null)"; /* what glibc's snprintf writes for NULL */
    n = strlen(s);
    if (*used < size) {
        size_t k = n < size - *used - 1 ? n : size - *used - 1;
        memcpy(buf + *used, s, k);
        buf[*used + k] = '\0';
    }
    *used += n;
}

/* The key a drug is known by: its codings and text. */
static void drug_key(const cse_concept *c, char *buf, size_t size)
{
    size_t used = 0;
    for (size_t i = 0; i < c->n && used < size; i++) {
        key_put(buf, size, &used, c->codings[i].system ? c->codings[i].system : "");
        key_put(buf, size, &used, "|");
        key_put(buf, size, &used, c->codings[i].code);
        key_put(buf, size, &used, "|");
    }
    if (used < size)
        key_put(buf, size, &used, c->text ? c->text : "");
}

/* The Medication for the entry's drug: written the first time it is seen,
 * with a stable id derived from the drug. */
static cse_code medication_ref(cse__fhirw *w, const cse_entry *e, char id[37],
                               cse_error *err)
{
    char key[1024];
    const char *known;
    cse__jw *res, *code;
    bool nopat = cse__fw_entry_nopat(e);

    drug_key(&e->code, key, sizeof(key));
    if (nopat) { /* a labelled drug is its own resource, so the label stays on it */
        size_t used = strlen(key);
        key_put(key, sizeof(key), &used, "|NOPAT");
    }
    /* A drug seen before keeps its id (deriving one costs a SHA-256). */
    if ((known = cse__smap_get(&w->medications, key)) != NULL) {
        memcpy(id, known, 37);
        return CSE_OK;
    }
    /* Past the cap on remembered drugs, each statement gets its own
     * Medication (never two resources with one id). */
    if (w->medications.n >= 65536)
        snprintf(key + strlen(key), sizeof(key) - strlen(key), "|%s", e->id ? e->id : "");
    if (cse_uuid_derive("csemarker-medication", key, id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no uuid");
    if (w->medications.n < 65536 &&
        cse__smap_put(&w->medications, key, id, true) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    res = cse__fw_start(w, CSE__FW_P_MEDICATION, id, nopat);
    code = cse__fw_concept(w, &e->code);
    /* STU3 (GP Connect) needs a SNOMED CT code: a drug coded only in a
     * local scheme gets the adaptor's transfer-degraded code beside it; R4
     * keeps the codes as sent, and only an uncoded drug gets it. */
    if (code == NULL || w->stu3)
        code = cse__fw_degrade(w, code, "196421000000109",
                               "Transfer-degraded medication entry");
    cse__fw_set(w, res, "code", code);
    return cse__fw_emit(w, res, err);
}

/* The adaptor's prescription type: an authorisation with repeats is a
 * repeat, one without is acute (an order takes its plan's type). */
static bool is_repeat(const cse_supply *s)
{
    return s->kind == CSE_SUPPLY_AUTHORISE && s->repeats > 0;
}

static cse__jw *prescription_type(const cse__fhirw *w, bool repeat)
{
    if (!w->stu3)
        return NULL;
    return cse__jw_pack(
        w->jw, "[{s:s,s:{s:[{s:s,s:s,s:s}]}}]", "url",
        "https://fhir.nhs.uk/STU3/StructureDefinition/"
        "Extension-CareConnect-GPC-PrescriptionType-1",
        "valueCodeableConcept", "coding", "system",
        "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-PrescriptionType-1", "code",
        repeat ? "repeat" : "acute", "display", repeat ? "Repeat" : "Acute");
}

/* The held medication entries of the composition being written, where a
 * discontinue for an authorise is looked for. */
static const cse_supply *discontinue_in(const cse_entry *e, const cse_supply *auth)
{
    for (size_t i = 0; i < e->med.n_supplies; i++) {
        const cse_supply *s = &e->med.supplies[i];
        if (s->kind == CSE_SUPPLY_DISCONTINUE && s->prior_id && auth->id &&
            strcmp(s->prior_id, auth->id) == 0)
            return s;
    }
    return NULL;
}

/* The discontinue that ends the authorise: in its own statement or in
 * another of the same composition. NULL when none. */
static const cse_supply *discontinue_of(const cse__fhirw *w, const cse_entry *e,
                                        const cse_supply *auth)
{
    const cse_supply *d = discontinue_in(e, auth);
    for (size_t i = 0; d == NULL && i < w->meds.n; i++)
        d = discontinue_in(w->meds.items[i], auth);
    return d;
}

static const cse_time *start_of(const cse_supply *s)
{
    if (s->effective_low.precision != CSE_TIME_NONE)
        return &s->effective_low;
    if (s->effective_center.precision != CSE_TIME_NONE)
        return &s->effective_center;
    if (s->availability.precision != CSE_TIME_NONE)
        return &s->availability;
    return NULL;
}

/* The authorise an order fulfils, when it is in this composition. */
static const cse_supply *plan_of(const cse__fhirw *w, const cse_entry *e,
                                 const cse_supply *order)
{
    const cse_supply *p = cse_medication_find_supply(&e->med, order->prior_id);
    for (size_t i = 0; p == NULL && i < w->meds.n; i++)
        p = cse_medication_find_supply(&((const cse_entry *)w->meds.items[i])->med,
                                       order->prior_id);
    return p && p->kind == CSE_SUPPLY_AUTHORISE ? p : order;
}

static cse__jw *med_request(cse__fhirw *w, const cse_entry *e, const cse_supply *s,
                            const char *med_id, const char *enc, const char *based_on)
{
    bool plan = s->kind == CSE_SUPPLY_AUTHORISE;
    const cse_supply *disc = plan ? discontinue_of(w, e, s) : NULL;
    const char *requester =
        s->prescriber_ref ? s->prescriber_ref : cse__fw_performer(w, e);
    const cse_time *authored =
        e->availability.precision != CSE_TIME_NONE
            ? &e->availability
            : (w->enc_availability.precision != CSE_TIME_NONE ? &w->enc_availability
                                                              : &w->enc_authored);
    const char *status;
    cse__jw *res, *dr, *who, *notes;

    if ((res = cse__fw_start(w, CSE__FW_P_MEDREQ, s->id,
                             cse__fw_entry_nopat(e) || (s->labels & CSE_LABEL_NOPAT))) ==
        NULL)
        return NULL;
    cse__fw_set(w, res, "extension",
                prescription_type(w, is_repeat(plan ? s : plan_of(w, e, s))));
    if (!plan && s->prior_id)
        cse__fw_set(
            w, res, "basedOn",
            cse__jw_pack(w->jw, "[o]", cse__fw_ref(w, "MedicationRequest", s->prior_id)));
    if (disc)
        status = "stopped";
    else if (!plan)
        status = "completed";
    else
        status = s->status && strcmp(s->status, "ACTIVE") == 0 ? "active" : "completed";
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, status));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, plan ? "plan" : "order"));
    cse__fw_set(w, res, "medicationReference", cse__fw_ref(w, "Medication", med_id));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_MEDREQ, enc);
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, authored));
    if ((who = cse__fw_agent_ref(w, requester)) != NULL) {
        cse__fw_set(w, res, "requester",
                    w->stu3 ? cse__jw_pack(w->jw, "{s:o}", "agent", who) : who);
        cse__fw_set(w, res, "recorder", cse__fw_agent_ref(w, requester));
    }
    if (s->n_notes && (notes = cse__jw_array(w->jw)) != NULL) {
        for (size_t i = 0; i < s->n_notes; i++)
            cse__jw_array_append(w->jw, notes,
                                 cse__jw_pack(w->jw, "{s:s}", "text", s->notes[i]));
        cse__fw_set(w, res, "note", notes);
    }
    if (e->med.dosage)
        cse__fw_set(w, res, "dosageInstruction",
                    cse__jw_pack(w->jw, "[{s:s}]", "text", e->med.dosage));
    if ((dr = cse__jw_object(w->jw)) != NULL) {
        if (plan && s->repeats >= 0)
            cse__fw_set(w, dr, "numberOfRepeatsAllowed",
                        cse__jw_integer(w->jw, s->repeats));
        cse__fw_set(w, dr, "validityPeriod",
                    cse__fw_period(w, start_of(s), plan ? &s->effective_high : NULL));
        cse__fw_set(w, dr, "quantity", cse__fw_quantity(w, &s->quantity));
        if (cse__jw_object_size(dr))
            cse__fw_set(w, res, "dispenseRequest", dr);
    }
    if (disc && disc->n_notes && w->stu3 && cse__jw_object_get(res, "extension"))
        cse__jw_array_append(
            w->jw, cse__jw_object_get(res, "extension"),
            cse__jw_pack(w->jw, "{s:s,s:[{s:s,s:s}]}", "url",
                         "https://fhir.nhs.uk/STU3/StructureDefinition/"
                         "Extension-CareConnect-GPC-MedicationStatusReason-1",
                         "extension", "url", "statusReason", "valueString",
                         disc->notes[0]));
    return res;
}

static cse__jw *med_statement(cse__fhirw *w, const cse_entry *e, const cse_supply *s,
                              const char *med_id, const char *enc)
{
    const cse_supply *disc = discontinue_of(w, e, s);
    char id[80];
    const char *status;
    const cse_time *from = start_of(s);
    const cse_time *to = disc && disc->availability.precision != CSE_TIME_NONE
                             ? &disc->availability
                             : &s->effective_high;
    cse__jw *res;

    snprintf(id, sizeof(id), "%s-MS", s->id);
    if ((res = cse__fw_start(w, CSE__FW_P_MEDSTMT, id,
                             cse__fw_entry_nopat(e) || (s->labels & CSE_LABEL_NOPAT))) ==
        NULL)
        return NULL;
    if (disc)
        status = "stopped";
    else
        status = s->status && strcmp(s->status, "COMPLETE") == 0 ? "completed" : "active";
    cse__fw_set(w, res, "basedOn",
                cse__jw_pack(w->jw, "[o]", cse__fw_ref(w, "MedicationRequest", s->id)));
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, status));
    cse__fw_set(w, res, "medicationReference", cse__fw_ref(w, "Medication", med_id));
    cse__fw_encounter(w, res, CSE__FW_P_MEDSTMT, enc);
    if (strcmp(status, "active") != 0 && (to == NULL || to->precision == CSE_TIME_NONE))
        to = from;
    cse__fw_set(w, res, "effectivePeriod", cse__fw_period(w, from, to));
    cse__fw_set(w, res, "dateAsserted",
                cse__fw_time(w, w->enc_authored.precision != CSE_TIME_NONE
                                    ? &w->enc_authored
                                    : &w->extract_time));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (w->stu3)
        cse__fw_set(w, res, "taken", cse__jw_string(w->jw, "unk"));
    if (e->med.dosage)
        cse__fw_set(w, res, "dosage",
                    cse__jw_pack(w->jw, "[{s:s}]", "text", e->med.dosage));
    return res;
}

/* A medication with no authorise or prescribe (a FHIR source, a damaged
 * extract): one MedicationStatement under the entry's id, coded in place. */
static cse__jw *plain_statement(cse__fhirw *w, const cse_entry *e, const char *enc)
{
    bool active = e->status && strcmp(e->status, "ACTIVE") == 0;
    cse__jw *res, *code;

    if (e->id == NULL)
        return NULL;
    if ((res = cse__fw_start(w, CSE__FW_P_MEDSTMT, e->id, cse__fw_entry_nopat(e))) ==
        NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, active ? "active" : "completed"));
    if ((code = cse__fw_concept(w, &e->code)) == NULL)
        code = cse__fw_degrade(w, NULL, "196421000000109",
                               "Transfer-degraded medication entry");
    cse__fw_set(w, res, "medicationCodeableConcept", code);
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_MEDSTMT, enc);
    cse__fw_set_effective(w, res, e, cse__fw_effective(e));
    cse__fw_set(w, res, "dateAsserted", cse__fw_time(w, &e->availability));
    if (w->stu3)
        cse__fw_set(w, res, "taken", cse__jw_string(w->jw, "unk"));
    else
        cse__fw_set(w, res, "informationSource", cse__fw_agent_ref(w, e->author_ref));
    cse__fw_set(w, res, "note", cse__fw_notes(w, e));
    if (e->value)
        cse__fw_set(w, res, "dosage", cse__jw_pack(w->jw, "[{s:s}]", "text", e->value));
    return res;
}

/* ---- Acute plans with several orders -------------------------------------- */

#define MAX_ACUTE 200000u

/* Writes the copy of acute plan a that the adaptor makes for a further
 * order: id dup, valid from st. */
static cse_code write_acute_copy(cse__fhirw *w, const cse__fw_acute *a, const char *dup,
                                 const cse_time *st, cse_error *err);

static cse_code remember_acute(cse__fhirw *w, const cse_entry *e, const cse_supply *s,
                               const char *med_id, const char *enc, cse_error *err)
{
    char idx[24];
    cse__fw_acute *a;
    const cse_time *st = start_of(s);
    const char *early;

    if (w->acute.size == 0)
        w->acute.size = sizeof(cse__fw_acute);
    if (cse__smap_has(&w->acute_index, s->id))
        return CSE_OK;
    if (w->acute.n >= MAX_ACUTE)
        return cse__fw_loss(w, "ehrSupplyAuthorise (acute) beyond the tracked number",
                            "a further order of it is not given its own plan",
                            e->source_line, err);
    if ((a = cse__fw_vec_push(&w->acute)) == NULL)
        return cse__fw_emit(w, NULL, err);
    memset(a, 0, sizeof(*a));
    snprintf(idx, sizeof(idx), "%zu", w->acute.n - 1);
    memcpy(a->med_id, med_id, sizeof(a->med_id));
    a->start = st ? *st : (cse_time){0};
    a->authored = e->availability;
    a->nopat = cse__fw_entry_nopat(e) || (s->labels & CSE_LABEL_NOPAT);
    if (cse_strset(&a->id, s->id) != CSE_OK || cse_strset(&a->dosage, e->med.dosage) ||
        cse_strset(&a->enc, enc) != CSE_OK ||
        cse_strset(&a->requester,
                   s->prescriber_ref ? s->prescriber_ref : cse__fw_performer(w, e)) !=
            CSE_OK ||
        cse_quantity_copy(&a->quantity, &s->quantity) != CSE_OK ||
        cse__smap_put(&w->acute_index, s->id, idx, true) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    early = cse__smap_get(&w->early_orders, s->id);
    a->orders = early ? (int)strtoul(early, NULL, 10) : 0;
    for (int k = 1; k < a->orders; k++) {
        char name[80], dup[37];
        cse_code rc;
        snprintf(name, sizeof(name), "%s/%d", s->id, k);
        if (cse_uuid_derive("csemarker-acute-plan-early", name, dup) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no uuid");
        if ((rc = write_acute_copy(w, a, dup, st, err)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

/* An order for an acute plan: the first keeps the plan; each later one gets
 * a copy of the plan (and its MedicationStatement) of its own, as the
 * requesting adaptor makes them. dup receives the copy's id, or "". An
 * order seen before its plan is counted, and its copy written with the
 * plan. */
static cse_code acute_order(cse__fhirw *w, const cse_supply *order, char dup[37],
                            cse_error *err)
{
    const char *idx = cse__smap_get(&w->acute_index, order->prior_id);
    cse__fw_acute *a;

    dup[0] = '\0';
    if (idx == NULL) {
        const char *n = cse__smap_get(&w->early_orders, order->prior_id);
        char buf[24];
        if (w->early_orders.n >= MAX_ACUTE)
            return CSE_OK;
        snprintf(buf, sizeof(buf), "%lu", (n ? strtoul(n, NULL, 10) : 0) + 1);
        if (cse__smap_put(&w->early_orders, order->prior_id, buf, false) != CSE_OK)
            return cse__fw_emit(w, NULL, err);
        return CSE_OK;
    }
    a = (cse__fw_acute *)((char *)w->acute.items +
                          w->acute.size * strtoul(idx, NULL, 10));
    if (a->orders++ == 0)
        return CSE_OK;
    if (cse_uuid_derive("csemarker-acute-plan", order->id, dup) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no uuid");
    return write_acute_copy(w, a, dup, start_of(order), err);
}

static cse_code write_acute_copy(cse__fhirw *w, const cse__fw_acute *a, const char *dup,
                                 const cse_time *st, cse_error *err)
{
    char ms[80];
    cse__jw *res, *dr;
    cse_code rc;

    if ((res = cse__fw_start(w, CSE__FW_P_MEDREQ, dup, a->nopat)) == NULL)
        return cse__fw_emit(w, NULL, err);
    cse__fw_set(w, res, "extension", prescription_type(w, false));
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "completed"));
    cse__fw_set(w, res, "intent", cse__jw_string(w->jw, "plan"));
    cse__fw_set(w, res, "medicationReference", cse__fw_ref(w, "Medication", a->med_id));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_MEDREQ, a->enc);
    cse__fw_set(w, res, "authoredOn", cse__fw_time(w, st ? st : &a->authored));
    if (a->requester && cse__fw_agent_ref(w, a->requester))
        cse__fw_set(w, res, "requester",
                    w->stu3 ? cse__jw_pack(w->jw, "{s:o}", "agent",
                                           cse__fw_agent_ref(w, a->requester))
                            : cse__fw_agent_ref(w, a->requester));
    cse__fw_set(w, res, "priorPrescription", cse__fw_ref(w, "MedicationRequest", a->id));
    if (a->dosage)
        cse__fw_set(w, res, "dosageInstruction",
                    cse__jw_pack(w->jw, "[{s:s}]", "text", a->dosage));
    if ((dr = cse__jw_object(w->jw)) != NULL) {
        cse__fw_set(w, dr, "validityPeriod", cse__fw_period(w, st, NULL));
        cse__fw_set(w, dr, "quantity", cse__fw_quantity(w, &a->quantity));
        if (cse__jw_object_size(dr))
            cse__fw_set(w, res, "dispenseRequest", dr);
    }
    if ((rc = cse__fw_emit(w, res, err)) != CSE_OK)
        return rc;
    snprintf(ms, sizeof(ms), "%s-MS", dup);
    if ((res = cse__fw_start(w, CSE__FW_P_MEDSTMT, ms, a->nopat)) == NULL)
        return cse__fw_emit(w, NULL, err);
    cse__fw_set(w, res, "basedOn",
                cse__jw_pack(w->jw, "[o]", cse__fw_ref(w, "MedicationRequest", dup)));
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "completed"));
    cse__fw_set(w, res, "medicationReference", cse__fw_ref(w, "Medication", a->med_id));
    cse__fw_encounter(w, res, CSE__FW_P_MEDSTMT, a->enc);
    cse__fw_set(w, res, "effectivePeriod", cse__fw_period(w, st, st));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (w->stu3)
        cse__fw_set(w, res, "taken", cse__jw_string(w->jw, "unk"));
    if (a->dosage)
        cse__fw_set(w, res, "dosage", cse__jw_pack(w->jw, "[{s:s}]", "text", a->dosage));
    return cse__fw_emit(w, res, err);
}

static cse_code write_medication(cse__fhirw *w, const cse_entry *e, const char *enc,
                                 cse_error *err)
{
    char med_id[37];
    cse_code rc;
    bool any = false;

    for (size_t i = 0; i < e->med.n_supplies; i++)
        if (e->med.supplies[i].kind != CSE_SUPPLY_DISCONTINUE && e->med.supplies[i].id)
            any = true;
    if (!any && e->med.n_supplies > 0) {
        /* Only discontinues: they stop the authorisations of this
         * composition (see discontinue_of); one for an authorisation of an
         * earlier composition, already written, is reported. */
        for (size_t i = 0; i < e->med.n_supplies; i++) {
            const cse_supply *s = &e->med.supplies[i];
            bool found = false;
            for (size_t j = 0; j < w->meds.n && !found; j++)
                found = s->prior_id &&
                        cse_medication_find_supply(
                            &((const cse_entry *)w->meds.items[j])->med, s->prior_id);
            if (!found && (rc = cse__fw_loss(
                               w, "MedicationStatement/component/ehrSupplyDiscontinue",
                               "ends an authorisation of an earlier consultation: its "
                               "plan keeps the status it was written with",
                               e->source_line, err)) != CSE_OK)
                return rc;
        }
        return CSE_OK;
    }
    if (!any)
        return cse__fw_emit(w, plain_statement(w, e, enc), err);
    if ((rc = medication_ref(w, e, med_id, err)) != CSE_OK)
        return rc;
    for (size_t i = 0; i < e->med.n_supplies; i++) {
        const cse_supply *s = &e->med.supplies[i];
        char dup[37];
        const char *based_on = NULL;
        if (s->kind == CSE_SUPPLY_DISCONTINUE || s->id == NULL)
            continue;
        if (s->kind == CSE_SUPPLY_AUTHORISE && !is_repeat(s) &&
            (rc = remember_acute(w, e, s, med_id, enc, err)) != CSE_OK)
            return rc;
        if (s->kind == CSE_SUPPLY_PRESCRIBE && s->prior_id &&
            (rc = acute_order(w, s, dup, err)) != CSE_OK)
            return rc;
        if (s->kind == CSE_SUPPLY_PRESCRIBE && dup[0])
            based_on = dup;
        if ((rc = cse__fw_emit(w, med_request(w, e, s, med_id, enc, based_on), err)) !=
            CSE_OK)
            return rc;
        if (s->kind == CSE_SUPPLY_AUTHORISE &&
            (rc = cse__fw_emit(w, med_statement(w, e, s, med_id, enc), err)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

#define MAX_HELD_MEDS 4096u

cse_code cse__fw_medication(cse__fhirw *w, const cse_entry *e, const char *enc,
                            cse_error *err)
{
    cse_code rc;

    /* A composition with a great many: write what is held first. */
    if (w->meds.n >= MAX_HELD_MEDS && (rc = cse__fw_flush_medications(w, err)) != CSE_OK)
        return rc;
    return cse__fw_hold_entry(&w->meds, &w->med_encs, e, enc, err);
}

cse_code cse__fw_flush_medications(cse__fhirw *w, cse_error *err)
{
    cse_code rc = CSE_OK;

    for (size_t i = 0; i < w->meds.n && rc == CSE_OK; i++) {
        cse__jw_arena_reset(w->jw);
        rc = write_medication(w, w->meds.items[i], w->med_encs.items[i], err);
    }
    cse__fw_held_clear(&w->meds, &w->med_encs);
    return rc;
}

void cse__fw_medications_free(cse__fhirw *w)
{
    cse__fw_held_clear(&w->meds, &w->med_encs);
    free(w->meds.items);
    free(w->med_encs.items);
    for (size_t i = 0; i < w->acute.n; i++) {
        cse__fw_acute *a = (cse__fw_acute *)((char *)w->acute.items + w->acute.size * i);
        free(a->id);
        free(a->dosage);
        free(a->enc);
        free(a->requester);
        cse_quantity_clear(&a->quantity);
    }
    free(w->acute.items);
    cse__smap_free(&w->acute_index);
    cse__smap_free(&w->early_orders);
    for (size_t i = 0; i < w->path.n; i++)
        cse_entry_free(w->path.items[i]);
    free(w->path.items);
    cse__smap_free(&w->medications);
    for (size_t i = 0; i < w->lists.n; i++)
        list_clear(list_at(w, i));
    free(w->lists.items);
    free(w->lists_enc);
    cse__smap_free(&w->locations);
}

/* ---- Laboratory reports ---------------------------------------------------- */

#define MAX_HELD_PATH 4096u

bool cse__fw_path_wants(const cse__fhirw *w, const cse_entry *e,
                        const cse_entry_info *info)
{
    const cse_entry *r = w->path.n ? w->path.items[0] : NULL;

    /* Markers and review candidates are written at once, as everywhere. */
    if (info->cls == CSE_CLASS_MARKER || info->cls == CSE_CLASS_CANDIDATE)
        return false;
    if (e->path.role == CSE_PATH_REPORT && e->id)
        return true;
    return r && e->path.report_id && strcmp(e->path.report_id, r->id) == 0;
}

cse_code cse__fw_path_hold(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    cse_entry *d;
    cse_code rc;

    if (w->path.n >= MAX_HELD_PATH) {
        /* A report this big is written as plain entries from here on. */
        static const cse_entry_info none = {0};
        if ((rc = cse__fw_loss(w, "laboratory report beyond the held size",
                               "the rest of it is written as plain entries",
                               e->source_line, err)) != CSE_OK)
            return rc;
        return cse__fw_map_entry(w, e, &none, err);
    }
    if ((d = cse_entry_dup(e)) == NULL || cse__ptrvec_push(&w->path, d) != CSE_OK) {
        cse_entry_free(d);
        return cse__fw_emit(w, NULL, err);
    }
    return CSE_OK;
}

/* A PMIP comment without its "CommentType:" and "CommentDate:" lines, as the
 * adaptor folds it. Ownership: caller frees. NULL when nothing is left. */
static char *pmip_comment(const char *text)
{
    size_t n = strlen(text);
    char *out = malloc(n + 1), *o = out;
    const char *p = text;

    if (out == NULL)
        return NULL;
    while (*p) {
        const char *eol = strchr(p, '\n');
        size_t len = eol ? (size_t)(eol - p) : strlen(p);
        const char *s = p;
        while (s < p + len && (*s == ' ' || *s == '\t' || *s == '\r'))
            s++;
        if (strncmp(s, "CommentType:", 12) != 0 && strncmp(s, "CommentDate:", 12) != 0 &&
            s < p + len) {
            size_t k = (size_t)(p + len - s);
            while (k && (s[k - 1] == ' ' || s[k - 1] == '\r' || s[k - 1] == '\t'))
                k--;
            if (o != out)
                *o++ = '\n';
            memcpy(o, s, k);
            o += k;
        }
        p += len + (eol ? 1 : 0);
    }
    *o = '\0';
    if (o == out) {
        free(out);
        return NULL;
    }
    return out;
}

static bool user_comment(const cse_entry *e)
{
    return e->code.text && strstr(e->code.text, "USER COMMENT") != NULL;
}

static const cse_entry *held(const cse__fhirw *w, const char *id)
{
    for (size_t i = 0; id && i < w->path.n; i++) {
        const cse_entry *e = w->path.items[i];
        if (e->id && strcmp(e->id, id) == 0)
            return e;
    }
    return NULL;
}

/* Where a folded comment goes: the held entry it is written into. A comment
 * in a cluster goes to the cluster's results. */
static bool folds_into(const cse__fhirw *w, const cse_entry *c, const cse_entry *into)
{
    const cse_entry *p = held(w, c->parent_id);

    if (p == NULL || into->id == NULL)
        return false;
    if (p == into)
        return true;
    return p->path.role == CSE_PATH_CLUSTER && into->path.role == CSE_PATH_RESULT &&
           into->parent_id && strcmp(into->parent_id, p->id) == 0;
}

/* A result of the report: a result or test group in a specimen, or a result
 * in a cluster directly in a specimen. */
static bool is_report_result(const cse__fhirw *w, const cse_entry *e)
{
    const cse_entry *p = held(w, e->parent_id);

    if (e->path.role != CSE_PATH_RESULT && e->path.role != CSE_PATH_BATTERY)
        return false;
    if (p && p->path.role == CSE_PATH_SPECIMEN)
        return true;
    if (e->path.role == CSE_PATH_RESULT && p && p->path.role == CSE_PATH_CLUSTER) {
        const cse_entry *pp = held(w, p->parent_id);
        return pp && pp->path.role == CSE_PATH_SPECIMEN;
    }
    return false;
}

/* The folded comments for into, joined by new lines; NULL when none.
 * Ownership: caller frees. */
static char *folded(const cse__fhirw *w, const cse_entry *into)
{
    char *out = NULL;
    size_t len = 0;

    for (size_t i = 0; i < w->path.n; i++) {
        const cse_entry *c = w->path.items[i];
        char *t, *n;
        if (c->path.role != CSE_PATH_COMMENT || user_comment(c) || c->code.text == NULL ||
            !folds_into(w, c, into) || (t = pmip_comment(c->code.text)) == NULL)
            continue;
        n = realloc(out, len + strlen(t) + 2);
        if (n == NULL) {
            free(t);
            continue;
        }
        out = n;
        if (len)
            out[len++] = '\n';
        strcpy(out + len, t);
        len += strlen(t);
        free(t);
    }
    return out;
}

static cse__jw *specimen_resource(cse__fhirw *w, const cse_entry *s)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_SPECIMEN, s->id, cse__fw_entry_nopat(s));
    char *note = folded(w, s);

    if (s->path.accession)
        cse__fw_set(w, res, "accessionIdentifier",
                    cse__jw_pack(w->jw, "{s:s}", "value", s->path.accession));
    cse__fw_set(w, res, "type", cse__fw_concept(w, &s->path.specimen_type));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    if (s->path.collected.precision != CSE_TIME_NONE)
        cse__fw_set(w, res, "collection",
                    cse__jw_pack(w->jw, "{s:o}", "collectedDateTime",
                                 cse__fw_time(w, &s->path.collected)));
    if (note)
        cse__fw_set(w, res, "note", cse__jw_pack(w->jw, "[{s:s}]", "text", note));
    free(note);
    return res;
}

static cse__jw *report_resource(cse__fhirw *w, const cse_entry *r, const char *enc)
{
    cse__jw *res = cse__fw_start(w, CSE__FW_P_REPORT, r->id, cse__fw_entry_nopat(r));
    cse__jw *ids, *specs, *results;
    char *conclusion = folded(w, r);

    if (res == NULL || (specs = cse__jw_array(w->jw)) == NULL ||
        (results = cse__jw_array(w->jw)) == NULL) {
        free(conclusion);
        return NULL;
    }
    /* The laboratory's accession number beside the sending system's id. */
    if (r->path.accession && ((ids = cse__jw_object_get(res, "identifier")) != NULL ||
                              ((ids = cse__jw_array(w->jw)) != NULL &&
                               cse__fw_set(w, res, "identifier", ids))))
        cse__jw_array_append(w->jw, ids,
                             cse__jw_pack(w->jw, "{s:s,s:s}", "system",
                                          "urn:oid:2.16.840.1.113883.2.1.4.5.5", "value",
                                          r->path.accession));
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "unknown"));
    cse__fw_set(w, res, "code",
                cse__jw_pack(w->jw, "{s:[{s:s,s:s,s:s}]}", "coding", "system",
                             CSE_SYSTEM_SNOMED, "code", "721981007", "display",
                             "Diagnostic studies report"));
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_REPORT, enc);
    if (r->availability.precision >= CSE_TIME_MINUTE)
        cse__fw_set(w, res, "issued", cse__fw_time(w, &r->availability));
    for (size_t i = 1; i < w->path.n; i++) {
        const cse_entry *e = w->path.items[i];
        if (e->path.role == CSE_PATH_SPECIMEN)
            cse__jw_array_append(w->jw, specs, cse__fw_ref(w, "Specimen", e->id));
        else if (e->id && is_report_result(w, e))
            cse__jw_array_append(w->jw, results, cse__fw_ref(w, "Observation", e->id));
    }
    if (cse__jw_array_size(specs))
        cse__fw_set(w, res, "specimen", specs);
    if (cse__jw_array_size(results))
        cse__fw_set(w, res, "result", results);
    if (conclusion)
        cse__fw_set(w, res, "conclusion", cse__jw_string(w->jw, conclusion));
    free(conclusion);
    return res;
}

cse_code cse__fw_path_flush(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    static const cse_entry_info none = {0};
    const cse_entry *r = w->path.n ? w->path.items[0] : NULL;
    char *enc = NULL;
    cse_code rc = CSE_OK;

    if (r == NULL || (e && e->path.report_id && strcmp(e->path.report_id, r->id) == 0 &&
                      e->path.role != CSE_PATH_REPORT))
        return CSE_OK;
    if (cse__fw_context(w, r) && (enc = strdup(cse__fw_context(w, r))) == NULL)
        return cse__fw_emit(w, NULL, err);
    cse__jw_arena_reset(w->jw);
    rc = cse__fw_emit(w, report_resource(w, r, enc), err);
    for (size_t i = 1; i < w->path.n && rc == CSE_OK; i++) {
        cse_entry *x = w->path.items[i];
        char *note;
        cse__jw_arena_reset(w->jw);
        /* The mapping may hold a narrative until the next entry. */
        if ((rc = cse__fw_map_flush(w, x, err)) != CSE_OK)
            break;
        switch (x->path.role) {
        case CSE_PATH_SPECIMEN: rc = cse__fw_emit(w, specimen_resource(w, x), err); break;
        case CSE_PATH_CLUSTER: break; /* its results and comments carry it */
        case CSE_PATH_COMMENT:
            if (user_comment(x) || held(w, x->parent_id) == NULL)
                rc = cse__fw_map_entry(w, x, &none, err);
            break;
        case CSE_PATH_RESULT:
        case CSE_PATH_BATTERY:
            if ((note = folded(w, x)) != NULL) {
                rc = cse_entry_add_annotation(x, note);
                free(note);
                if (rc != CSE_OK)
                    return cse__fw_emit(w, NULL, err);
            }
            rc = cse__fw_map_entry(w, x, &none, err);
            break;
        default: rc = cse__fw_map_entry(w, x, &none, err); break;
        }
    }
    cse__jw_arena_reset(w->jw);
    /* A user comment held by the mapping is written now. */
    if (rc == CSE_OK)
        rc = cse__fw_map_flush(w, r, err);
    for (size_t i = 0; i < w->path.n; i++)
        cse_entry_free(w->path.items[i]);
    w->path.n = 0;
    free(enc);
    return rc;
}

/* ---- Consultation Lists ---------------------------------------------------- */

#define MAX_LISTS 4096u
#define MAX_LIST_REFS 65536u

static cse__fw_list *list_at(const cse__fhirw *w, size_t i)
{
    return (cse__fw_list *)((char *)w->lists.items + w->lists.size * i);
}

static cse__fw_list *find_list(const cse__fhirw *w, const char *id)
{
    for (size_t i = 0; id && i < w->lists.n; i++)
        if (strcmp(list_at(w, i)->id, id) == 0)
            return list_at(w, i);
    return NULL;
}

static void list_clear(cse__fw_list *l)
{
    free(l->id);
    free(l->title);
    free(l->parent);
    for (size_t i = 0; i < l->n_refs; i++)
        free(l->refs[i]);
    free(l->refs);
}

static cse_code list_add_ref(cse__fhirw *w, cse__fw_list *l, const char *type,
                             const char *id, cse_error *err)
{
    size_t tl = strlen(type), il = strlen(id);
    char *r;

    if (l->n_refs >= MAX_LIST_REFS)
        return CSE_OK;
    /* Grow by doubling: a category may name thousands of entries. */
    if ((l->n_refs & (l->n_refs - 1)) == 0) {
        char **n = realloc(l->refs, (l->n_refs ? l->n_refs * 2 : 4) * sizeof(*n));
        if (n == NULL)
            return cse__fw_emit(w, NULL, err);
        l->refs = n;
    }
    if ((r = malloc(tl + il + 2)) == NULL)
        return cse__fw_emit(w, NULL, err);
    memcpy(r, type, tl);
    r[tl] = '/';
    memcpy(r + tl + 1, id, il + 1);
    l->refs[l->n_refs++] = r;
    return CSE_OK;
}

/* The resource type and id an entry is written as, for a List's entry;
 * false when it is written as none (or as several, named elsewhere). */
static bool written_as(const cse__fhirw *w, const cse_entry *e,
                       const cse_entry_info *info, const char **type, const char **id)
{
    *id = e->id;
    if (e->id == NULL)
        return false;
    if (info->cls == CSE_CLASS_MARKER && info->marker) {
        *type = cse__fw_res(w, CSE__FW_P_MARKER)->type;
        return true;
    }
    switch (e->kind) {
    case CSE_ENTRY_OBSERVATION:
    case CSE_ENTRY_NARRATIVE: *type = "Observation"; return true;
    case CSE_ENTRY_ALLERGY: *type = "AllergyIntolerance"; return true;
    case CSE_ENTRY_IMMUNIZATION: *type = "Immunization"; return true;
    case CSE_ENTRY_PROBLEM: *type = "Condition"; return true;
    case CSE_ENTRY_PLAN: *type = cse__fw_res(w, CSE__FW_P_PLAN)->type; return true;
    case CSE_ENTRY_REQUEST: *type = cse__fw_res(w, CSE__FW_P_REFERRAL)->type; return true;
    case CSE_ENTRY_MEDICATION:
        for (size_t i = 0; i < e->med.n_supplies; i++)
            if (e->med.supplies[i].kind == CSE_SUPPLY_AUTHORISE &&
                e->med.supplies[i].id) {
                *type = "MedicationRequest";
                *id = e->med.supplies[i].id;
                return true;
            }
        return false;
    case CSE_ENTRY_COMPOUND:
        if (e->path.role == CSE_PATH_REPORT) {
            *type = "DiagnosticReport";
            return true;
        }
        if (e->path.role == CSE_PATH_BATTERY ||
            (e->path.role == CSE_PATH_NONE && e->compound_class &&
             (strcmp(e->compound_class, "battery") == 0 ||
              strcmp(e->compound_class, "cluster") == 0))) {
            *type = "Observation";
            return true;
        }
        return false;
    default: return false;
    }
}

static bool allergy_heading(const cse_entry *e)
{
    for (size_t i = 0; i < e->code.n; i++)
        if (strcmp(e->code.codings[i].code, "14L..00") == 0 ||
            strcmp(e->code.codings[i].code, "SN53.00") == 0)
            return true;
    return false;
}

static cse_code new_list(cse__fhirw *w, const cse_entry *e, int level, const char *id,
                         const cse_time *date, const char *title, cse_error *err)
{
    cse__fw_list *l;

    if (w->lists.size == 0)
        w->lists.size = sizeof(cse__fw_list);
    if (w->lists.n >= MAX_LISTS)
        return cse__fw_loss(
            w, "CompoundStatement (topic or category) beyond the held number",
            "no List is written for it", e->source_line, err);
    if ((l = cse__fw_vec_push(&w->lists)) == NULL)
        return cse__fw_emit(w, NULL, err);
    memset(l, 0, sizeof(*l));
    l->level = level;
    l->date = *date;
    l->nopat = cse__fw_entry_nopat(e);
    if (cse_strset(&l->id, id) != CSE_OK || cse_strset(&l->title, title) != CSE_OK ||
        cse_strset(&l->parent, level ? e->parent_id : NULL) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    return CSE_OK;
}

static const char *title_of(const cse_entry *e)
{
    if (e->code.text)
        return e->code.text;
    return e->code.n ? e->code.codings[0].display : NULL;
}

cse_code cse__fw_lists_note(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                            cse_error *err)
{
    const char *type, *id;
    cse__fw_list *parent;
    cse_code rc;

    if (e->kind == CSE_ENTRY_ENCOUNTER && e->id) {
        char cons[80];
        const cse_time *date = e->enc.authored.precision != CSE_TIME_NONE
                                   ? &e->enc.authored
                                   : &e->availability;
        if (cse_strset(&w->lists_enc, e->id) != CSE_OK)
            return cse__fw_emit(w, NULL, err);
        snprintf(cons, sizeof(cons), "%s-CONS", e->id);
        return new_list(w, e, 0, cons, date, title_of(e), err);
    }
    if (e->kind == CSE_ENTRY_COMPOUND && e->id && e->compound_class &&
        (strcmp(e->compound_class, "topic") == 0 ||
         (strcmp(e->compound_class, "category") == 0 && !allergy_heading(e)))) {
        int level = strcmp(e->compound_class, "topic") == 0 ? 1 : 2;
        const cse_time *date = cse__fw_obs_time(w, e);
        if ((rc = new_list(w, e, level, e->id,
                           e->availability.precision != CSE_TIME_NONE ? &e->availability
                           : date                                     ? date
                                                                      : &w->enc_authored,
                           title_of(e), err)) != CSE_OK)
            return rc;
        parent = find_list(w, e->parent_id);
        if (parent == NULL && e->parent_id && w->lists_enc &&
            strcmp(e->parent_id, w->lists_enc) == 0) {
            char cons[80];
            snprintf(cons, sizeof(cons), "%s-CONS", e->parent_id);
            parent = find_list(w, cons);
        }
        return parent ? list_add_ref(w, parent, "List", e->id, err) : CSE_OK;
    }
    if ((parent = find_list(w, e->parent_id)) == NULL || parent->level == 0)
        return CSE_OK;
    if (!written_as(w, e, info, &type, &id))
        return CSE_OK;
    return list_add_ref(w, parent, type, id, err);
}

static cse__jw *list_resource(cse__fhirw *w, const cse__fw_list *l, const char *enc)
{
    static const char *const codes[][2] = {{"325851000000107", "Consultation"},
                                           {"25851000000105", "Topic (EHR)"},
                                           {"24781000000107", "Category (EHR)"}};
    cse__jw *res = cse__fw_start(w, CSE__FW_P_LIST, l->id, l->nopat);
    cse__jw *entries = cse__jw_array(w->jw);

    if (res == NULL || entries == NULL)
        return NULL;
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "current"));
    cse__fw_set(w, res, "mode", cse__jw_string(w->jw, "snapshot"));
    if (l->title)
        cse__fw_set(w, res, "title", cse__jw_string(w->jw, l->title));
    /* The code and order are the same in every List: made once, shared. */
    if (w->list_code[l->level] == NULL)
        w->list_code[l->level] = cse__jw_pack(
            w->jw_keep, "{s:[{s:s,s:s,s:s}]}", "coding", "system", CSE_SYSTEM_SNOMED,
            "code", codes[l->level][0], "display", codes[l->level][1]);
    cse__fw_set(w, res, "code", w->list_code[l->level]);
    cse__fw_set(w, res, "subject", cse__fw_patient_ref(w, false));
    cse__fw_encounter(w, res, CSE__FW_P_LIST, enc);
    cse__fw_set(w, res, "date", cse__fw_time(w, &l->date));
    if (w->list_order == NULL)
        w->list_order = cse__jw_pack(w->jw_keep, "{s:[{s:s,s:s,s:s}]}", "coding",
                                     "system", w->v->list_order, "code", "system",
                                     "display", "Sorted by System");
    cse__fw_set(w, res, "orderedBy", w->list_order);
    for (size_t i = 0; i < l->n_refs; i++) {
        /* {"item": {"reference": ref}}, as cse__jw_pack("{s:{s:s}}") made. */
        cse__jw *item = cse__jw_object(w->jw), *ref = cse__jw_object(w->jw);
        if (item && ref &&
            CSE__FW_PUT(w, ref, "reference", cse__jw_string(w->jw, l->refs[i])) == 0 &&
            CSE__FW_PUT(w, item, "item", ref) == 0)
            cse__jw_array_append(w->jw, entries, item);
    }
    if (cse__jw_array_size(entries))
        cse__fw_set(w, res, "entry", entries);
    else if (!w->stu3)
        /* R4 wants a reason when a List is empty. */
        cse__fw_set(
            w, res, "emptyReason",
            cse__jw_pack(w->jw, "{s:[{s:s,s:s}]}", "coding", "system",
                         "http://terminology.hl7.org/CodeSystem/list-empty-reason",
                         "code", "unavailable"));
    return res;
}

cse_code cse__fw_lists_flush(cse__fhirw *w, cse_error *err)
{
    cse_code rc = CSE_OK;
    const char *enc = w->lists_enc && !w->enc_skipped ? w->lists_enc : NULL;

    for (size_t i = 0; i < w->lists.n && rc == CSE_OK; i++) {
        cse__fw_list *l = list_at(w, i);
        cse__jw_arena_reset(w->jw);
        /* A consultation List only for a written Encounter with topics. */
        if (l->level == 0 && (enc == NULL || l->n_refs == 0))
            continue;
        rc = cse__fw_emit(w, list_resource(w, l, enc), err);
    }
    for (size_t i = 0; i < w->lists.n; i++)
        list_clear(list_at(w, i));
    w->lists.n = 0;
    return rc;
}

/* ---- Locations ------------------------------------------------------------- */

bool cse__fw_location_id(const cse_entry *e, char id[37])
{
    return e->kind == CSE_ENTRY_ENCOUNTER && e->enc.location_name &&
           cse_uuid_derive("csemarker-location", e->enc.location_name, id) == CSE_OK;
}

cse_code cse__fw_location(cse__fhirw *w, const cse_entry *e, cse_error *err)
{
    char id[37];
    cse__jw *res;

    if (!cse__fw_location_id(e, id) || cse__smap_has(&w->locations, id))
        return CSE_OK;
    if (w->locations.n < 65536 && cse__smap_put(&w->locations, id, NULL, true) != CSE_OK)
        return cse__fw_emit(w, NULL, err);
    res = cse__fw_start(w, CSE__FW_P_LOCATION, id, false);
    cse__fw_set(w, res, "status", cse__jw_string(w->jw, "active"));
    cse__fw_set(w, res, "name", cse__jw_string(w->jw, e->enc.location_name));
    return cse__fw_emit(w, res, err);
}
