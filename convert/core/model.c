/* SPDX-License-Identifier: MIT */
/* The record model: concepts, agents, entries and the record container. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* No record holds more items than this; a bigger one is hostile input. */
#define PTRVEC_MAX (16u * 1024u * 1024u)

char *cse__strdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

cse_code cse__ptrvec_push(cse__ptrvec *v, void *p)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 16;
        void **ni;
        if (ncap > PTRVEC_MAX)
            return CSE_ERR_LIMIT;
        ni = realloc(v->items, ncap * sizeof(*ni));
        if (ni == NULL)
            return CSE_ERR_NOMEM;
        v->items = ni;
        v->cap = ncap;
    }
    v->items[v->n++] = p;
    return CSE_OK;
}

const char *cse__strcasestr(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    int first, upper;

    if (hay == NULL)
        return NULL;
    if (n == 0)
        return hay;
    /* Compare the first byte cheaply, as its two cases: this runs over every
     * text in a record. */
    first = tolower((unsigned char)needle[0]);
    upper = toupper((unsigned char)needle[0]);
    for (; *hay; hay++)
        if (((unsigned char)*hay == first || (unsigned char)*hay == upper) &&
            tolower((unsigned char)*hay) == first && strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

cse_code cse_strset(char **field, const char *value)
{
    char *copy = NULL;

    if (field == NULL)
        return CSE_ERR_INVALID_ARG;
    if (value == NULL && *field == NULL) /* the common case in copies */
        return CSE_OK;
    if (value != NULL && (copy = strdup(value)) == NULL)
        return CSE_ERR_NOMEM;
    free(*field);
    *field = copy;
    return CSE_OK;
}

/* ---- Concepts ---------------------------------------------------------- */

cse_code cse_concept_add(cse_concept *c, const char *system, const char *code,
                         const char *display)
{
    cse_coding *nc;
    cse_coding *k;

    if (c == NULL || code == NULL)
        return CSE_ERR_INVALID_ARG;
    if (c->n >= 1024)
        return CSE_ERR_LIMIT;
    nc = realloc(c->codings, (c->n + 1) * sizeof(*nc));
    if (nc == NULL)
        return CSE_ERR_NOMEM;
    c->codings = nc;
    k = &nc[c->n];
    k->system = cse__strdup(system);
    k->code = strdup(code);
    k->display = cse__strdup(display);
    if ((system && !k->system) || !k->code || (display && !k->display)) {
        free(k->system);
        free(k->code);
        free(k->display);
        return CSE_ERR_NOMEM;
    }
    c->n++;
    return CSE_OK;
}

cse_code cse_concept_set_text(cse_concept *c, const char *text)
{
    if (c == NULL)
        return CSE_ERR_INVALID_ARG;
    return cse_strset(&c->text, text);
}

void cse_concept_clear(cse_concept *c)
{
    if (c == NULL || (c->codings == NULL && c->text == NULL && c->n == 0))
        return;
    for (size_t i = 0; i < c->n; i++) {
        free(c->codings[i].system);
        free(c->codings[i].code);
        free(c->codings[i].display);
    }
    free(c->codings);
    free(c->text);
    memset(c, 0, sizeof(*c));
}

cse_code cse_concept_copy(cse_concept *dst, const cse_concept *src)
{
    cse_code rc = CSE_OK;

    if (dst == NULL || src == NULL)
        return CSE_ERR_INVALID_ARG;
    for (size_t i = 0; i < src->n && rc == CSE_OK; i++)
        rc = cse_concept_add(dst, src->codings[i].system, src->codings[i].code,
                             src->codings[i].display);
    if (rc == CSE_OK)
        rc = cse_concept_set_text(dst, src->text);
    if (rc != CSE_OK)
        cse_concept_clear(dst);
    return rc;
}

/* ---- Agents ------------------------------------------------------------ */

cse_agent *cse_agent_new(cse_agent_kind kind, const char *id)
{
    cse_agent *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    a->kind = kind;
    if (id != NULL && (a->id = strdup(id)) == NULL) {
        free(a);
        return NULL;
    }
    return a;
}

cse_agent *cse_agent_dup(const cse_agent *a)
{
    cse_agent *d;

    if (a == NULL || (d = cse_agent_new(a->kind, a->id)) == NULL)
        return NULL;
    if (cse_strset(&d->name, a->name) != CSE_OK ||
        cse_strset(&d->role, a->role) != CSE_OK ||
        cse_strset(&d->ods, a->ods) != CSE_OK ||
        cse_strset(&d->org_id, a->org_id) != CSE_OK ||
        cse_concept_copy(&d->type, &a->type) != CSE_OK ||
        cse_strset(&d->prefix, a->prefix) != CSE_OK ||
        cse_strset(&d->given, a->given) != CSE_OK ||
        cse_strset(&d->family, a->family) != CSE_OK ||
        cse_strset(&d->telecom, a->telecom) != CSE_OK ||
        cse_strset(&d->address, a->address) != CSE_OK ||
        cse_strset(&d->postcode, a->postcode) != CSE_OK ||
        cse_strset(&d->version, a->version) != CSE_OK) {
        cse_agent_free(d);
        return NULL;
    }
    return d;
}

void cse_agent_free(cse_agent *a)
{
    if (a == NULL)
        return;
    free(a->id);
    free(a->name);
    free(a->role);
    free(a->ods);
    free(a->org_id);
    cse_concept_clear(&a->type);
    free(a->prefix);
    free(a->given);
    free(a->family);
    free(a->telecom);
    free(a->address);
    free(a->postcode);
    free(a->version);
    free(a);
}

/* ---- Values ------------------------------------------------------------ */

cse_code cse_quantity_set(cse_quantity *q, const char *value, const char *unit,
                          const char *ucum)
{
    if (q == NULL)
        return CSE_ERR_INVALID_ARG;
    if (cse_strset(&q->value, value) != CSE_OK || cse_strset(&q->unit, unit) != CSE_OK ||
        cse_strset(&q->ucum, ucum) != CSE_OK)
        return CSE_ERR_NOMEM;
    return CSE_OK;
}

void cse_quantity_clear(cse_quantity *q)
{
    if (q == NULL || (!q->value && !q->unit && !q->ucum && !q->comparator))
        return;
    free(q->value);
    free(q->unit);
    free(q->ucum);
    free(q->comparator);
    memset(q, 0, sizeof(*q));
}

cse_code cse_quantity_copy(cse_quantity *dst, const cse_quantity *src)
{
    if (dst == NULL || src == NULL)
        return CSE_ERR_INVALID_ARG;
    if (cse_quantity_set(dst, src->value, src->unit, src->ucum) != CSE_OK ||
        cse_strset(&dst->comparator, src->comparator) != CSE_OK) {
        cse_quantity_clear(dst);
        return CSE_ERR_NOMEM;
    }
    return CSE_OK;
}

bool cse_quantity_present(const cse_quantity *q)
{
    return q && q->value && *q->value;
}

void cse_range_clear(cse_range *r)
{
    if (r == NULL)
        return;
    cse_quantity_clear(&r->low);
    cse_quantity_clear(&r->high);
    free(r->text);
    cse_concept_clear(&r->type);
    memset(r, 0, sizeof(*r));
}

cse_code cse_range_copy(cse_range *dst, const cse_range *src)
{
    if (dst == NULL || src == NULL)
        return CSE_ERR_INVALID_ARG;
    if (cse_quantity_copy(&dst->low, &src->low) != CSE_OK ||
        cse_quantity_copy(&dst->high, &src->high) != CSE_OK ||
        cse_strset(&dst->text, src->text) != CSE_OK ||
        cse_concept_copy(&dst->type, &src->type) != CSE_OK) {
        cse_range_clear(dst);
        return CSE_ERR_NOMEM;
    }
    return CSE_OK;
}

const char *cse_value_kind_name(cse_value_kind k)
{
    static const char *const names[] = {"none",  "quantity", "coded", "text",
                                        "range", "boolean",  "date"};
    if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
        return "none";
    return names[k];
}

void cse_value_clear(cse_value *v)
{
    if (v == NULL || (v->kind == CSE_VALUE_NONE && !v->text && !v->coded.codings &&
                      !v->coded.text && !v->quantity.value && !v->range.low.value &&
                      !v->range.high.value && !v->range.text))
        return;
    cse_quantity_clear(&v->quantity);
    cse_concept_clear(&v->coded);
    free(v->text);
    cse_range_clear(&v->range);
    memset(v, 0, sizeof(*v));
}

cse_code cse_value_copy(cse_value *dst, const cse_value *src)
{
    if (dst == NULL || src == NULL)
        return CSE_ERR_INVALID_ARG;
    dst->kind = src->kind;
    dst->boolean = src->boolean;
    dst->date = src->date;
    if (cse_quantity_copy(&dst->quantity, &src->quantity) != CSE_OK ||
        cse_concept_copy(&dst->coded, &src->coded) != CSE_OK ||
        cse_strset(&dst->text, src->text) != CSE_OK ||
        cse_range_copy(&dst->range, &src->range) != CSE_OK) {
        cse_value_clear(dst);
        return CSE_ERR_NOMEM;
    }
    return CSE_OK;
}

/* ---- Medication, allergy, pathology, requests -------------------------- */

const char *cse_supply_kind_name(cse_supply_kind k)
{
    static const char *const names[] = {"authorise", "prescribe", "discontinue"};
    if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
        return "authorise";
    return names[k];
}

const char *cse_path_role_name(cse_path_role r)
{
    static const char *const names[] = {"none",    "report", "specimen", "battery",
                                        "cluster", "result", "comment"};
    if ((unsigned)r >= sizeof(names) / sizeof(names[0]))
        return "none";
    return names[r];
}

static void free_strv(char **v, size_t n);
static cse_code strv_push(char ***v, size_t *n, const char *s);

static void supply_clear(cse_supply *s)
{
    free(s->id);
    cse_concept_clear(&s->code);
    free(s->status);
    cse_quantity_clear(&s->quantity);
    free(s->quantity_text);
    free(s->prior_id);
    free(s->author_ref);
    free(s->prescriber_ref);
    free_strv(s->notes, s->n_notes);
    memset(s, 0, sizeof(*s));
}

static void medication_clear(cse_medication *m)
{
    free(m->dosage);
    free(m->prescription_type);
    for (size_t i = 0; i < m->n_supplies; i++)
        supply_clear(&m->supplies[i]);
    free(m->supplies);
    memset(m, 0, sizeof(*m));
}

cse_supply *cse_medication_add_supply(cse_medication *m, cse_supply_kind kind,
                                      const char *id)
{
    cse_supply *ns, *s;

    if (m == NULL || m->n_supplies >= 4096)
        return NULL;
    ns = realloc(m->supplies, (m->n_supplies + 1) * sizeof(*ns));
    if (ns == NULL)
        return NULL;
    m->supplies = ns;
    s = &ns[m->n_supplies];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->repeats = -1;
    if (id != NULL && (s->id = strdup(id)) == NULL)
        return NULL;
    m->n_supplies++;
    return s;
}

cse_code cse_supply_add_note(cse_supply *s, const char *text)
{
    if (s == NULL)
        return CSE_ERR_INVALID_ARG;
    return strv_push(&s->notes, &s->n_notes, text);
}

cse_supply *cse_medication_find_supply(const cse_medication *m, const char *id)
{
    if (m == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < m->n_supplies; i++)
        if (m->supplies[i].id && strcmp(m->supplies[i].id, id) == 0)
            return &m->supplies[i];
    return NULL;
}

static cse_code supply_copy(cse_supply *d, const cse_supply *s)
{
    cse_code rc = CSE_OK;

    d->kind = s->kind;
    d->effective_low = s->effective_low;
    d->effective_high = s->effective_high;
    d->effective_center = s->effective_center;
    d->availability = s->availability;
    d->repeats = s->repeats;
    d->labels = s->labels;
    if (cse_strset(&d->id, s->id) != CSE_OK || cse_concept_copy(&d->code, &s->code) ||
        cse_strset(&d->status, s->status) != CSE_OK ||
        cse_quantity_copy(&d->quantity, &s->quantity) != CSE_OK ||
        cse_strset(&d->quantity_text, s->quantity_text) != CSE_OK ||
        cse_strset(&d->prior_id, s->prior_id) != CSE_OK ||
        cse_strset(&d->author_ref, s->author_ref) != CSE_OK ||
        cse_strset(&d->prescriber_ref, s->prescriber_ref) != CSE_OK)
        rc = CSE_ERR_NOMEM;
    for (size_t i = 0; rc == CSE_OK && i < s->n_notes; i++)
        rc = cse_supply_add_note(d, s->notes[i]);
    return rc;
}

static cse_code medication_copy(cse_medication *d, const cse_medication *s)
{
    if (cse_strset(&d->dosage, s->dosage) != CSE_OK ||
        cse_strset(&d->prescription_type, s->prescription_type) != CSE_OK)
        return CSE_ERR_NOMEM;
    for (size_t i = 0; i < s->n_supplies; i++) {
        cse_supply *n = cse_medication_add_supply(d, s->supplies[i].kind, NULL);
        if (n == NULL || supply_copy(n, &s->supplies[i]) != CSE_OK)
            return CSE_ERR_NOMEM;
    }
    return CSE_OK;
}

static void allergy_clear(cse_allergy *a)
{
    cse_concept_clear(&a->allergen);
    free(a->category);
    free(a->type);
    cse_concept_clear(&a->reaction);
    free(a->clinical_status);
    memset(a, 0, sizeof(*a));
}

static void pathology_clear(cse_pathology *p)
{
    free(p->report_id);
    free(p->specimen_id);
    free(p->accession);
    cse_concept_clear(&p->specimen_type);
    free(p->comment_type);
    memset(p, 0, sizeof(*p));
}

static void request_clear(cse_request *r)
{
    free(r->priority);
    free(r->requester_ref);
    free(r->recipient_ref);
    free(r->service_text);
    cse_concept_clear(&r->reason);
    free(r->mood);
    memset(r, 0, sizeof(*r));
}

static cse_code entry_copy_parts(cse_entry *d, const cse_entry *e)
{
    cse_code rc = CSE_OK;

    d->seq = e->seq;
    d->snomed_description = e->snomed_description;
    d->allergy.asserted = e->allergy.asserted;
    d->allergy.onset = e->allergy.onset;
    d->allergy.end = e->allergy.end;
    d->path.role = e->path.role;
    d->path.collected = e->path.collected;
    d->path.received = e->path.received;
    d->path.issued = e->path.issued;
    d->problem.onset = e->problem.onset;
    d->problem.abatement = e->problem.abatement;
    d->req.occurrence = e->req.occurrence;
    d->doc.absent = e->doc.absent;
    d->enc.authored = e->enc.authored;
    if (cse_value_copy(&d->val, &e->val) != CSE_OK ||
        cse_concept_copy(&d->interpretation, &e->interpretation) != CSE_OK ||
        cse_strset(&d->performer_ref, e->performer_ref) != CSE_OK ||
        cse_strset(&d->composition_id, e->composition_id) != CSE_OK ||
        cse_strset(&d->class_code, e->class_code) != CSE_OK ||
        cse_strset(&d->mood_code, e->mood_code) != CSE_OK ||
        medication_copy(&d->med, &e->med) != CSE_OK ||
        cse_concept_copy(&d->allergy.allergen, &e->allergy.allergen) != CSE_OK ||
        cse_strset(&d->allergy.category, e->allergy.category) != CSE_OK ||
        cse_strset(&d->allergy.type, e->allergy.type) != CSE_OK ||
        cse_concept_copy(&d->allergy.reaction, &e->allergy.reaction) != CSE_OK ||
        cse_strset(&d->allergy.clinical_status, e->allergy.clinical_status) != CSE_OK ||
        cse_strset(&d->path.report_id, e->path.report_id) != CSE_OK ||
        cse_strset(&d->path.specimen_id, e->path.specimen_id) != CSE_OK ||
        cse_strset(&d->path.accession, e->path.accession) != CSE_OK ||
        cse_concept_copy(&d->path.specimen_type, &e->path.specimen_type) != CSE_OK ||
        cse_strset(&d->path.comment_type, e->path.comment_type) != CSE_OK ||
        cse_strset(&d->problem.significance, e->problem.significance) != CSE_OK ||
        cse_strset(&d->problem.named_id, e->problem.named_id) != CSE_OK ||
        cse_strset(&d->req.priority, e->req.priority) != CSE_OK ||
        cse_strset(&d->req.requester_ref, e->req.requester_ref) != CSE_OK ||
        cse_strset(&d->req.recipient_ref, e->req.recipient_ref) != CSE_OK ||
        cse_strset(&d->req.service_text, e->req.service_text) != CSE_OK ||
        cse_concept_copy(&d->req.reason, &e->req.reason) != CSE_OK ||
        cse_strset(&d->req.mood, e->req.mood) != CSE_OK ||
        cse_strset(&d->doc.reference, e->doc.reference) != CSE_OK ||
        cse_strset(&d->doc.media_type, e->doc.media_type) != CSE_OK ||
        cse_strset(&d->doc.title, e->doc.title) != CSE_OK ||
        cse_strset(&d->doc.custodian_ref, e->doc.custodian_ref) != CSE_OK ||
        cse_strset(&d->enc.location_ref, e->enc.location_ref) != CSE_OK ||
        cse_strset(&d->enc.performer_ref, e->enc.performer_ref) != CSE_OK ||
        cse_strset(&d->enc.recorder_ref, e->enc.recorder_ref) != CSE_OK ||
        cse_concept_copy(&d->enc.type, &e->enc.type) != CSE_OK ||
        cse_strset(&d->enc.location_name, e->enc.location_name) != CSE_OK ||
        cse_concept_copy(&d->enc.location_type, &e->enc.location_type) != CSE_OK)
        rc = CSE_ERR_NOMEM;
    for (size_t i = 0; rc == CSE_OK && i < e->n_ref_ranges; i++)
        rc = cse_entry_add_ref_range(d, &e->ref_ranges[i]);
    for (size_t i = 0; rc == CSE_OK && i < e->n_refs; i++)
        rc = cse_entry_add_ref(d, e->refs[i].id, e->refs[i].role);
    return rc;
}

cse_code cse_entry_add_ref(cse_entry *e, const char *id, const char *role)
{
    cse_entry_ref *nr;
    char *i2, *r2;

    if (e == NULL || id == NULL || role == NULL)
        return CSE_ERR_INVALID_ARG;
    if (e->n_refs >= 65536)
        return CSE_ERR_LIMIT;
    i2 = strdup(id);
    r2 = strdup(role);
    nr = i2 && r2 ? realloc(e->refs, (e->n_refs + 1) * sizeof(*nr)) : NULL;
    if (nr == NULL) {
        free(i2);
        free(r2);
        return CSE_ERR_NOMEM;
    }
    nr[e->n_refs].id = i2;
    nr[e->n_refs].role = r2;
    e->refs = nr;
    e->n_refs++;
    return CSE_OK;
}

const char *cse_entry_find_ref(const cse_entry *e, const char *role)
{
    for (size_t i = 0; e && role && i < e->n_refs; i++)
        if (strcmp(e->refs[i].role, role) == 0)
            return e->refs[i].id;
    return NULL;
}

cse_code cse_entry_add_ref_range(cse_entry *e, const cse_range *r)
{
    cse_range *nr;

    if (e == NULL || r == NULL)
        return CSE_ERR_INVALID_ARG;
    if (e->n_ref_ranges >= 64)
        return CSE_ERR_LIMIT;
    nr = realloc(e->ref_ranges, (e->n_ref_ranges + 1) * sizeof(*nr));
    if (nr == NULL)
        return CSE_ERR_NOMEM;
    e->ref_ranges = nr;
    memset(&nr[e->n_ref_ranges], 0, sizeof(*nr));
    if (cse_range_copy(&nr[e->n_ref_ranges], r) != CSE_OK)
        return CSE_ERR_NOMEM;
    e->n_ref_ranges++;
    return CSE_OK;
}

/* ---- Entries ----------------------------------------------------------- */

const char *cse_entry_kind_name(cse_entry_kind k)
{
    static const char *const names[] = {
        "observation", "narrative",  "problem",   "compound", "plan",         "request",
        "medication",  "attachment", "encounter", "allergy",  "immunization", "other"};
    if ((unsigned)k >= sizeof(names) / sizeof(names[0]))
        return "other";
    return names[k];
}

cse_entry *cse_entry_new(cse_entry_kind kind, const char *id)
{
    cse_entry *e = calloc(1, sizeof(*e));
    if (e == NULL)
        return NULL;
    e->kind = kind;
    if (id != NULL && (e->id = strdup(id)) == NULL) {
        free(e);
        return NULL;
    }
    return e;
}

static void free_strv(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* Frees what e holds, not e itself. */
static void entry_clear(cse_entry *e)
{
    free(e->id);
    free(e->parent_id);
    free(e->compound_class);
    cse_concept_clear(&e->code);
    free(e->status);
    free(e->author_ref);
    free(e->value);
    free_strv(e->annotations, e->n_annotations);
    free_strv(e->links, e->n_links);
    cse_value_clear(&e->val);
    cse_concept_clear(&e->interpretation);
    for (size_t i = 0; i < e->n_ref_ranges; i++)
        cse_range_clear(&e->ref_ranges[i]);
    free(e->ref_ranges);
    free(e->performer_ref);
    free(e->composition_id);
    free(e->class_code);
    free(e->mood_code);
    for (size_t i = 0; i < e->n_refs; i++) {
        free(e->refs[i].id);
        free(e->refs[i].role);
    }
    free(e->refs);
    medication_clear(&e->med);
    allergy_clear(&e->allergy);
    pathology_clear(&e->path);
    free(e->problem.significance);
    free(e->problem.named_id);
    request_clear(&e->req);
    free(e->doc.reference);
    free(e->doc.media_type);
    free(e->doc.title);
    free(e->doc.custodian_ref);
    free(e->enc.location_ref);
    free(e->enc.performer_ref);
    free(e->enc.recorder_ref);
    cse_concept_clear(&e->enc.type);
    free(e->enc.location_name);
    cse_concept_clear(&e->enc.location_type);
}

void cse_entry_free(cse_entry *e)
{
    if (e == NULL)
        return;
    entry_clear(e);
    free(e);
}

/* The entry is over a kilobyte: a calloc of that size is one of the dearer
 * things the GP2GP reader did per statement, so its block is reused. */
cse_entry *cse__entry_take(cse_entry **spare, cse_entry_kind kind)
{
    cse_entry *e = *spare;

    if (e == NULL)
        return cse_entry_new(kind, NULL);
    *spare = NULL;
    e->kind = kind;
    return e;
}

void cse__entry_recycle(cse_entry **spare, cse_entry *e)
{
    if (e == NULL)
        return;
    if (*spare != NULL) {
        cse_entry_free(e);
        return;
    }
    entry_clear(e);
    memset(e, 0, sizeof(*e));
    *spare = e;
}

static cse_code strv_push(char ***v, size_t *n, const char *s)
{
    char **nv;
    char *copy;

    if (s == NULL)
        return CSE_ERR_INVALID_ARG;
    if (*n >= 65536)
        return CSE_ERR_LIMIT;
    if ((copy = strdup(s)) == NULL)
        return CSE_ERR_NOMEM;
    nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (nv == NULL) {
        free(copy);
        return CSE_ERR_NOMEM;
    }
    nv[(*n)++] = copy;
    *v = nv;
    return CSE_OK;
}

cse_entry *cse_entry_dup(const cse_entry *e)
{
    cse_entry *d;
    cse_code rc = CSE_OK;

    if (e == NULL || (d = cse_entry_new(e->kind, e->id)) == NULL)
        return NULL;
    d->effective_low = e->effective_low;
    d->effective_high = e->effective_high;
    d->effective_center = e->effective_center;
    d->availability = e->availability;
    d->labels = e->labels;
    d->inherited_labels = e->inherited_labels;
    d->source_line = e->source_line;
    if (cse_strset(&d->parent_id, e->parent_id) != CSE_OK ||
        cse_strset(&d->compound_class, e->compound_class) != CSE_OK ||
        cse_strset(&d->status, e->status) != CSE_OK ||
        cse_strset(&d->author_ref, e->author_ref) != CSE_OK ||
        cse_strset(&d->value, e->value) != CSE_OK || cse_concept_copy(&d->code, &e->code))
        rc = CSE_ERR_NOMEM;
    for (size_t i = 0; rc == CSE_OK && i < e->n_annotations; i++)
        rc = cse_entry_add_annotation(d, e->annotations[i]);
    for (size_t i = 0; rc == CSE_OK && i < e->n_links; i++)
        rc = cse_entry_add_link(d, e->links[i]);
    if (rc == CSE_OK)
        rc = entry_copy_parts(d, e);
    if (rc != CSE_OK) {
        cse_entry_free(d);
        return NULL;
    }
    return d;
}

cse_code cse_entry_add_annotation(cse_entry *e, const char *text)
{
    if (e == NULL)
        return CSE_ERR_INVALID_ARG;
    return strv_push(&e->annotations, &e->n_annotations, text);
}

cse_code cse_entry_add_link(cse_entry *e, const char *id)
{
    if (e == NULL)
        return CSE_ERR_INVALID_ARG;
    return strv_push(&e->links, &e->n_links, id);
}

/* ---- Record ------------------------------------------------------------ */

struct cse_record {
    cse_patient patient;
    cse__ptrvec agents, entries, markers;
};

cse_record *cse_record_new(void)
{
    return calloc(1, sizeof(cse_record));
}

void cse_record_free(cse_record *r)
{
    if (r == NULL)
        return;
    free(r->patient.nhs_number);
    free(r->patient.local_id_root);
    free(r->patient.local_id);
    free(r->patient.ods);
    for (size_t i = 0; i < r->agents.n; i++)
        cse_agent_free(r->agents.items[i]);
    for (size_t i = 0; i < r->entries.n; i++)
        cse_entry_free(r->entries.items[i]);
    for (size_t i = 0; i < r->markers.n; i++)
        cse_marker_free(r->markers.items[i]);
    free(r->agents.items);
    free(r->entries.items);
    free(r->markers.items);
    free(r);
}

cse_patient *cse_record_patient(cse_record *r)
{
    return r ? &r->patient : NULL;
}

cse_code cse_record_add_agent(cse_record *r, cse_agent *a)
{
    cse_code rc = r && a ? cse__ptrvec_push(&r->agents, a) : CSE_ERR_INVALID_ARG;
    if (rc != CSE_OK)
        cse_agent_free(a);
    return rc;
}

cse_code cse_record_add_entry(cse_record *r, cse_entry *e)
{
    cse_code rc = r && e ? cse__ptrvec_push(&r->entries, e) : CSE_ERR_INVALID_ARG;
    if (rc != CSE_OK)
        cse_entry_free(e);
    return rc;
}

cse_code cse_record_add_marker(cse_record *r, cse_marker *m)
{
    cse_code rc = r && m ? cse__ptrvec_push(&r->markers, m) : CSE_ERR_INVALID_ARG;
    if (rc != CSE_OK)
        cse_marker_free(m);
    return rc;
}

size_t cse_record_agent_count(const cse_record *r)
{
    return r ? r->agents.n : 0;
}
size_t cse_record_entry_count(const cse_record *r)
{
    return r ? r->entries.n : 0;
}
size_t cse_record_marker_count(const cse_record *r)
{
    return r ? r->markers.n : 0;
}
cse_agent *cse_record_agent(const cse_record *r, size_t i)
{
    return r && i < r->agents.n ? r->agents.items[i] : NULL;
}
cse_entry *cse_record_entry(const cse_record *r, size_t i)
{
    return r && i < r->entries.n ? r->entries.items[i] : NULL;
}
cse_marker *cse_record_marker(const cse_record *r, size_t i)
{
    return r && i < r->markers.n ? r->markers.items[i] : NULL;
}

cse_agent *cse_record_find_agent(const cse_record *r, const char *id)
{
    if (r == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < r->agents.n; i++) {
        cse_agent *a = r->agents.items[i];
        if (a->id && strcmp(a->id, id) == 0)
            return a;
    }
    return NULL;
}

cse_marker *cse_record_find_marker(const cse_record *r, const char *id)
{
    if (r == NULL || id == NULL)
        return NULL;
    for (size_t i = 0; i < r->markers.n; i++) {
        cse_marker *m = r->markers.items[i];
        if (m->id && strcmp(m->id, id) == 0)
            return m;
    }
    return NULL;
}
