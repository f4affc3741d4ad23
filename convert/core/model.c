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
    int first;

    if (hay == NULL)
        return NULL;
    if (n == 0)
        return hay;
    /* Compare the first byte cheaply; this runs over every text in a record. */
    first = tolower((unsigned char)needle[0]);
    for (; *hay; hay++)
        if (tolower((unsigned char)*hay) == first && strncasecmp(hay, needle, n) == 0)
            return hay;
    return NULL;
}

cse_code cse_strset(char **field, const char *value)
{
    char *copy = NULL;

    if (field == NULL)
        return CSE_ERR_INVALID_ARG;
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
    if (c == NULL)
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
        cse_strset(&d->org_id, a->org_id) != CSE_OK) {
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
    free(a);
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

void cse_entry_free(cse_entry *e)
{
    if (e == NULL)
        return;
    free(e->id);
    free(e->parent_id);
    free(e->compound_class);
    cse_concept_clear(&e->code);
    free(e->status);
    free(e->author_ref);
    free(e->value);
    free_strv(e->annotations, e->n_annotations);
    free_strv(e->links, e->n_links);
    free(e);
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
