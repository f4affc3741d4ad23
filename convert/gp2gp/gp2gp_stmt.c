/* SPDX-License-Identifier: MIT */
/* The GP2GP reader, one element at a time: a statement, an agent or a part of
 * a composition, already expanded into a small tree (gp2gp_xml.h), becomes model
 * objects here. Nothing in this file moves the reader. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gp2gp_read.h"

#include <csemarker/rules.h>
#include <csemarker/snomed.h>

#define NOMEM(d)                                                                         \
    cse__error_set((d)->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory")

bool cse__hl7_is(const cse__xnode *n, const char *name)
{
    /* The first letters differ for most names asked about: compare them
     * first, as this runs for every child of every statement. */
    return n && n->type == XML_READER_TYPE_ELEMENT && n->hl7 && n->name[0] == name[0] &&
           strcmp(n->name, name) == 0;
}

const cse__xnode *cse__hl7_child(const cse__xnode *n, const char *name)
{
    for (const cse__xnode *c = n ? n->children : NULL; c; c = c->next)
        if (cse__hl7_is(c, name))
            return c;
    return NULL;
}

/* An unqualified attribute's value, lent from the tree; NULL when absent. */
const char *cse__hl7_attr(const cse__xnode *n, const char *name)
{
    return cse__xnode_attr(n, name);
}

/* The root of the first id child that has one. */
const char *cse__hl7_id_root(const cse__xnode *n)
{
    for (const cse__xnode *c = n ? n->children : NULL; c; c = c->next)
        if (cse__hl7_is(c, "id") && cse__hl7_attr(c, "root"))
            return cse__hl7_attr(c, "root");
    return NULL;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/* The text of n and its descendants, in document order (the text and CDATA
 * nodes, as xmlNodeGetContent gives it). Ownership: caller frees. */
static char *content_of(const cse__xnode *n)
{
    const cse__xnode *t = n;
    size_t len = 0, used = 0;
    char *out;

    if (n->type != XML_READER_TYPE_ELEMENT)
        return strndup(n->text ? n->text : "", n->len);
    /* Most elements hold one text node: lend nothing, copy once. */
    for (t = n->children; t; t = t->next)
        if (t->type != XML_READER_TYPE_TEXT && t->type != XML_READER_TYPE_CDATA)
            break;
    if (t == NULL) {
        for (t = n->children; t; t = t->next)
            len += t->text ? strlen(t->text) : 0;
        if ((out = malloc(len + 1)) == NULL)
            return NULL;
        for (t = n->children; t; t = t->next) {
            size_t k = t->text ? strlen(t->text) : 0;
            memcpy(out + used, t->text, k);
            used += k;
        }
        out[used] = '\0';
        return out;
    }
    /* Nested elements: walk the subtree twice, measuring then copying. */
    for (int pass = 0; pass < 2; pass++) {
        out = NULL;
        if (pass == 1 && (out = malloc(len + 1)) == NULL)
            return NULL;
        used = 0;
        t = n->children;
        while (t) {
            if ((t->type == XML_READER_TYPE_TEXT || t->type == XML_READER_TYPE_CDATA) &&
                t->text) {
                size_t k = strlen(t->text);
                if (out)
                    memcpy(out + used, t->text, k);
                used += k;
            }
            if (t->type == XML_READER_TYPE_ELEMENT && t->children) {
                t = t->children;
                continue;
            }
            while (t && t != n && t->next == NULL)
                t = t->parent;
            if (t == NULL || t == n)
                break;
            t = t->next;
        }
        len = used;
        if (out) {
            out[used] = '\0';
            return out;
        }
    }
    return NULL;
}

/* The text of an element with surrounding white space removed; NULL when
 * empty. Ownership: caller frees with free(). */
static char *text_of(const cse__xnode *n)
{
    char *raw = n ? content_of(n) : NULL;
    char *s, *e;

    if (raw == NULL)
        return NULL;
    for (s = raw; is_space(*s); s++)
        ;
    for (e = s + strlen(s); e > s && is_space(e[-1]);)
        e--;
    if (e == s) {
        free(raw);
        return NULL;
    }
    memmove(raw, s, (size_t)(e - s));
    raw[e - s] = '\0';
    return raw;
}

/* Sets *field from the text of n; a missing or empty text leaves it. */
static cse_code set_text(cse__doc *d, char **field, const cse__xnode *n, bool *nomem)
{
    char *t = text_of(n);
    *nomem = false;
    if (t == NULL)
        return CSE_OK;
    free(*field);
    *field = t;
    return CSE_OK;
}

static cse_code add_coding(const cse__xnode *n, cse_concept *c)
{
    const char *code = cse__hl7_attr(n, "code");
    const char *oid = cse__hl7_attr(n, "codeSystem");
    const char *system = NULL;
    char urn[256];

    if (code == NULL || *code == '\0' || cse__hl7_attr(n, "nullFlavor"))
        return CSE_OK;
    if (oid && *oid) {
        system = cse_system_from_oid(oid);
        if (system == NULL) {
            snprintf(urn, sizeof(urn), "urn:oid:%s", oid);
            system = urn;
        }
    }
    return cse_concept_add(c, system, code, cse__hl7_attr(n, "displayName"));
}

cse_code cse__gp2gp_concept(const cse__xnode *n, cse_concept *c)
{
    cse_code rc;
    char *text;

    if (n == NULL)
        return CSE_OK;
    if ((rc = add_coding(n, c)) != CSE_OK)
        return rc;
    for (const cse__xnode *t = n->children; t; t = t->next)
        if (cse__hl7_is(t, "translation") && (rc = add_coding(t, c)) != CSE_OK)
            return rc;
    if ((text = text_of(cse__hl7_child(n, "originalText"))) != NULL) {
        rc = cse_concept_set_text(c, text);
        free(text);
    }
    return rc;
}

static void read_time(cse__doc *d, const cse__xnode *n, cse_time *out, const char *owner)
{
    const char *v = cse__hl7_attr(n, "value");
    char what[160];

    if (v == NULL || cse__hl7_attr(n, "nullFlavor"))
        return;
    if (cse_time_parse_hl7(v, out) != CSE_OK) {
        memset(out, 0, sizeof(*out));
        snprintf(what, sizeof(what), "%s/%s%s%s/@value", owner,
                 n->parent ? n->parent->name : "", n->parent ? "/" : "", n->name);
        cse__gp2gp_loss(d, what, "date not understood (read as unknown)",
                        cse__gp2gp_line(n));
    }
}

static cse_code read_pq(const cse__xnode *pq, cse_quantity *q);

static const char *agent_ref(const cse__xnode *participation)
{
    return cse__hl7_id_root(cse__hl7_child(participation, "agentRef"));
}

cse_code cse__gp2gp_apply_child(cse__doc *d, cse_entry *e, const cse__xnode *c)
{
    const char *owner = c->parent ? c->parent->name : "";
    const char *v;

    if (cse__hl7_is(c, "id")) {
        if (e->id == NULL && (v = cse__hl7_attr(c, "root")) != NULL &&
            cse_strset(&e->id, v) != CSE_OK)
            return NOMEM(d);
        /* A second id with an extension: the laboratory's report number. */
        else if (e->id && (v = cse__hl7_attr(c, "extension")) != NULL &&
                 e->path.accession == NULL && cse_strset(&e->path.accession, v) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "specimen")) {
        const cse__xnode *role = cse__hl7_child(c, "specimenRole");
        const cse__xnode *mat = cse__hl7_child(role, "specimenSpecimenMaterial");
        const cse__xnode *et = cse__hl7_child(role, "effectiveTime");
        char *desc = text_of(cse__hl7_child(mat, "desc"));
        cse_code rc = CSE_OK;
        for (const cse__xnode *i = role ? role->children : NULL; i; i = i->next)
            if (cse__hl7_is(i, "id") && (v = cse__hl7_attr(i, "extension")) != NULL &&
                e->path.accession == NULL)
                rc = cse_strset(&e->path.accession, v);
        read_time(d, et, &e->path.collected, owner);
        read_time(d, cse__hl7_child(et, "center"), &e->path.collected, owner);
        read_time(d, cse__hl7_child(et, "low"), &e->path.collected, owner);
        if (rc == CSE_OK && desc)
            rc = cse_concept_set_text(&e->path.specimen_type, desc);
        free(desc);
        if (rc != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "code")) {
        if (cse__gp2gp_concept(c, &e->code) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "statusCode")) {
        if ((v = cse__hl7_attr(c, "code")) != NULL && cse_strset(&e->status, v) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "effectiveTime")) {
        read_time(d, c, &e->effective_center, owner);
        read_time(d, cse__hl7_child(c, "center"), &e->effective_center, owner);
        read_time(d, cse__hl7_child(c, "low"), &e->effective_low, owner);
        read_time(d, cse__hl7_child(c, "high"), &e->effective_high, owner);
    } else if (cse__hl7_is(c, "availabilityTime")) {
        read_time(d, c, &e->availability, owner);
    } else if (cse__hl7_is(c, "confidentialityCode")) {
        /* Receivers match on the code alone. */
        if ((v = cse__hl7_attr(c, "code")) != NULL && strcmp(v, "NOPAT") == 0)
            e->labels |= CSE_LABEL_NOPAT;
    } else if (cse__hl7_is(c, "author")) {
        if ((v = agent_ref(c)) != NULL && cse_strset(&e->author_ref, v) != CSE_OK)
            return NOMEM(d);
        if (e->kind == CSE_ENTRY_ENCOUNTER) {
            read_time(d, cse__hl7_child(c, "time"), &e->enc.authored, owner);
            if (v && cse_strset(&e->enc.recorder_ref, v) != CSE_OK)
                return NOMEM(d);
        }
    } else if (cse__hl7_is(c, "Participant")) {
        /* UK07 statements name their author as a Participant of type AUT. */
        const char *type = cse__hl7_attr(c, "typeCode");
        bool aut = type && strcmp(type, "AUT") == 0;
        bool prf = type && (strcmp(type, "PRF") == 0 || strcmp(type, "PPRF") == 0);
        if (cse__hl7_attr(c, "nullFlavor"))
            return CSE_OK;
        if ((aut || e->author_ref == NULL) && (v = agent_ref(c)) != NULL &&
            cse_strset(&e->author_ref, v) != CSE_OK)
            return NOMEM(d);
        if (prf && e->performer_ref == NULL && (v = agent_ref(c)) != NULL &&
            cse_strset(&e->performer_ref, v) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "Participant2")) {
        if (cse__hl7_attr(c, "nullFlavor"))
            return CSE_OK;
        if (e->author_ref == NULL && (v = agent_ref(c)) != NULL &&
            cse_strset(&e->author_ref, v) != CSE_OK)
            return NOMEM(d);
        if (e->kind == CSE_ENTRY_ENCOUNTER && e->enc.performer_ref == NULL &&
            (v = agent_ref(c)) != NULL && cse_strset(&e->enc.performer_ref, v) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "location") && e->kind == CSE_ENTRY_ENCOUNTER) {
        const cse__xnode *le = cse__hl7_child(c, "locatedEntity");
        char *name = text_of(cse__hl7_child(cse__hl7_child(le, "locatedPlace"), "name"));
        cse_code rc = CSE_OK;
        if (name) {
            free(e->enc.location_name);
            e->enc.location_name = name;
        }
        if (cse__gp2gp_concept(cse__hl7_child(le, "code"), &e->enc.location_type) !=
            CSE_OK)
            rc = CSE_ERR_NOMEM;
        if (rc != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "priorityCode")) {
        /* The SNOMED CT priorities, as the requesting adaptor reads them. */
        const char *code = cse__hl7_attr(c, "code");
        const char *p = NULL;
        if (code && strcmp(code, "394848005") == 0)
            p = "routine";
        else if (code && strcmp(code, "394849002") == 0)
            p = "urgent";
        else if (code && strcmp(code, "88694003") == 0)
            p = "asap";
        if (p && cse_strset(&e->req.priority, p) != CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "interpretationCode")) {
        if (cse__gp2gp_concept(c, &e->interpretation) != CSE_OK)
            return NOMEM(d);
        if (e->interpretation.text == NULL && cse__hl7_attr(c, "displayName") &&
            cse_concept_set_text(&e->interpretation, cse__hl7_attr(c, "displayName")) !=
                CSE_OK)
            return NOMEM(d);
    } else if (cse__hl7_is(c, "referenceRange")) {
        const cse__xnode *ri = cse__hl7_child(c, "referenceInterpretationRange");
        const cse__xnode *rv = cse__hl7_child(ri, "value");
        cse_range r = {0};
        char *t = text_of(cse__hl7_child(ri, "text"));
        cse_code rc = CSE_OK;
        r.text = t;
        if (rv && (rc = read_pq(cse__hl7_child(rv, "low"), &r.low)) == CSE_OK)
            rc = read_pq(cse__hl7_child(rv, "high"), &r.high);
        if (rc == CSE_OK && (rv || t))
            rc = cse_entry_add_ref_range(e, &r);
        cse_range_clear(&r);
        if (rc != CSE_OK)
            return rc == CSE_ERR_NOMEM ? NOMEM(d)
                                       : cse__gp2gp_fail(d, rc, cse__gp2gp_line(c), NULL,
                                                         "too many reference ranges");
    } else if (cse__hl7_is(c, "pertinentInformation")) {
        char *t =
            text_of(cse__hl7_child(cse__hl7_child(c, "pertinentAnnotation"), "text"));
        cse_code rc = t ? cse_entry_add_annotation(e, t) : CSE_OK;
        free(t);
        if (rc != CSE_OK)
            return rc == CSE_ERR_NOMEM ? NOMEM(d)
                                       : cse__gp2gp_fail(d, rc, cse__gp2gp_line(c), NULL,
                                                         "too many annotations");
    }
    return CSE_OK;
}

#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"

/* xsi:type without its prefix ("PQ", "CD", ...); NULL when absent. */
static const char *xsi_type(const cse__xnode *n)
{
    for (int i = 0; n && i < n->n_attrs; i++)
        if (n->attrs[i].uri && strcmp(n->attrs[i].uri, XSI_NS) == 0 &&
            strcmp(n->attrs[i].name, "type") == 0) {
            const char *v = n->attrs[i].value, *colon = strchr(v, ':');
            return colon ? colon + 1 : v;
        }
    return NULL;
}

/* A PQ (or a PQ-like low/high/quantity) into q: the number as written; the
 * unit from translation/originalText when there is one (GP systems put the
 * unit there and "1" in @unit), else @unit; the UCUM code when the unit is
 * UCUM. Returns CSE_OK, or CSE_ERR_NOMEM. */
static cse_code read_pq(const cse__xnode *pq, cse_quantity *q)
{
    const char *v = cse__hl7_attr(pq, "value");
    const char *u = cse__hl7_attr(pq, "unit");
    char *ot = NULL;
    cse_code rc;

    if (pq == NULL)
        return CSE_OK;
    for (const cse__xnode *t = pq->children; t && ot == NULL; t = t->next)
        if (cse__hl7_is(t, "translation"))
            ot = text_of(cse__hl7_child(t, "originalText"));
    if (v == NULL)
        for (const cse__xnode *t = pq->children; t && v == NULL; t = t->next)
            if (cse__hl7_is(t, "translation"))
                v = cse__hl7_attr(t, "value");
    if (ot == NULL && u && *u)
        rc = cse_quantity_set(q, v, u, cse__ucum_valid(u) ? u : NULL);
    else
        rc = cse_quantity_set(q, v, ot, cse__ucum_valid(ot) ? ot : NULL);
    free(ot);
    return rc;
}

/* An IVL_PQ value with one end only is a number with a comparator, as the
 * requesting adaptor reads it ("<= 0.5 g/L"); with both ends a range. */
static cse_code read_ivl(const cse__xnode *v, cse_entry *e)
{
    const cse__xnode *low = cse__hl7_child(v, "low"), *high = cse__hl7_child(v, "high");
    const char *inc;
    cse_code rc;

    if (low && high) {
        e->val.kind = CSE_VALUE_RANGE;
        if ((rc = read_pq(low, &e->val.range.low)) != CSE_OK)
            return rc;
        return read_pq(high, &e->val.range.high);
    }
    if (low == NULL && high == NULL)
        return CSE_OK;
    e->val.kind = CSE_VALUE_QUANTITY;
    if ((rc = read_pq(high ? high : low, &e->val.quantity)) != CSE_OK)
        return rc;
    inc = cse__hl7_attr(high ? high : low, "inclusive");
    if (inc && strcmp(inc, "false") == 0)
        return cse_strset(&e->val.quantity.comparator, high ? "<" : ">");
    return cse_strset(&e->val.quantity.comparator, high ? "<=" : ">=");
}

/* The typed value and a simple text form of an ObservationStatement value. */
static cse_code read_value(cse__doc *d, cse_entry *e, const cse__xnode *v)
{
    const char *val = cse__hl7_attr(v, "value");
    const char *unit = cse__hl7_attr(v, "unit");
    const char *code = cse__hl7_attr(v, "code");
    const char *type = xsi_type(v);
    const cse__xnode *low = cse__hl7_child(v, "low"), *high = cse__hl7_child(v, "high");
    char buf[512];
    bool nomem;
    cse_code rc = CSE_OK;

    if (type && (strcmp(type, "PQ") == 0 || strcmp(type, "INT") == 0 ||
                 strcmp(type, "REAL") == 0)) {
        e->val.kind = CSE_VALUE_QUANTITY;
        rc = read_pq(v, &e->val.quantity);
    } else if (type && strcmp(type, "IVL_PQ") == 0) {
        rc = read_ivl(v, e);
    } else if (type && (strcmp(type, "CD") == 0 || strcmp(type, "CV") == 0 ||
                        strcmp(type, "CE") == 0)) {
        e->val.kind = CSE_VALUE_CODED;
        rc = cse__gp2gp_concept(v, &e->val.coded);
        if (rc == CSE_OK && e->val.coded.n == 0 && e->val.coded.text == NULL &&
            cse__hl7_attr(v, "displayName"))
            rc = cse_concept_set_text(&e->val.coded, cse__hl7_attr(v, "displayName"));
    } else if (type && strcmp(type, "BL") == 0 && val) {
        e->val.kind = CSE_VALUE_BOOLEAN;
        e->val.boolean = strcmp(val, "true") == 0;
    } else if (type && strcmp(type, "TS") == 0 && val) {
        if (cse_time_parse_hl7(val, &e->val.date) == CSE_OK)
            e->val.kind = CSE_VALUE_DATE;
    } else if (val && !code) {
        e->val.kind = CSE_VALUE_QUANTITY;
        rc = read_pq(v, &e->val.quantity);
    } else if (code) {
        e->val.kind = CSE_VALUE_CODED;
        rc = cse__gp2gp_concept(v, &e->val.coded);
    } else if (low || high) {
        rc = read_ivl(v, e);
    } else {
        char *t = text_of(v);
        if (t) {
            e->val.kind = CSE_VALUE_TEXT;
            e->val.text = t;
        }
    }
    if (rc != CSE_OK)
        return NOMEM(d);

    if (val) {
        if (unit && *unit && strcmp(unit, "1") != 0)
            snprintf(buf, sizeof(buf), "%s %s", val, unit);
        else
            snprintf(buf, sizeof(buf), "%s", val);
    } else if (code || cse__hl7_attr(v, "displayName")) {
        const char *disp = cse__hl7_attr(v, "displayName");
        snprintf(buf, sizeof(buf), "%s", disp ? disp : code);
    } else if (low || high) {
        const char *lv = cse__hl7_attr(low, "value"), *hv = cse__hl7_attr(high, "value");
        const char *u = cse__hl7_attr(low ? low : high, "unit");
        snprintf(buf, sizeof(buf), "%s-%s%s%s", lv ? lv : "", hv ? hv : "",
                 u && strcmp(u, "1") != 0 ? " " : "", u && strcmp(u, "1") != 0 ? u : "");
    } else {
        return set_text(d, &e->value, v, &nomem);
    }
    return cse_strset(&e->value, buf) == CSE_OK ? CSE_OK : NOMEM(d);
}

static bool has_code(const cse_concept *c, const char *code)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->codings[i].code, code) == 0)
            return true;
    return false;
}

/* The attachment an ExternalDocument refers to, after its narrative. */
static cse_code emit_attachment(cse__doc *d, const cse_entry *narrative,
                                const cse__xnode *doc, const cse__frame *f)
{
    cse_entry *a = cse_entry_new(CSE_ENTRY_ATTACHMENT, cse__hl7_id_root(doc));
    const char *ref =
        cse__hl7_attr(cse__hl7_child(cse__hl7_child(doc, "text"), "reference"), "value");

    if (a == NULL)
        return NOMEM(d);
    a->source_line = cse__gp2gp_line(doc);
    a->inherited_labels = (f ? f->inherited : 0) | narrative->labels;
    a->availability = narrative->availability;
    if (cse_strset(&a->parent_id, narrative->id) != CSE_OK ||
        cse_strset(&a->status, narrative->status) != CSE_OK ||
        cse_strset(&a->author_ref, narrative->author_ref) != CSE_OK ||
        cse_strset(&a->value, ref) != CSE_OK ||
        cse__gp2gp_concept(cse__hl7_child(doc, "code"), &a->code) != CSE_OK) {
        cse_entry_free(a);
        return NOMEM(d);
    }
    /* "Other digital signal" is the sending adaptor's code for every
     * document: with a translation, the translation is the document's type. */
    if (a->code.n > 1 && a->code.codings[0].code &&
        strcmp(a->code.codings[0].code, "37251000000104") == 0) {
        cse_coding generic = a->code.codings[0];
        memmove(&a->code.codings[0], &a->code.codings[1],
                (a->code.n - 1) * sizeof(a->code.codings[0]));
        a->code.n--;
        free(generic.system);
        free(generic.code);
        free(generic.display);
    }
    for (const cse__xnode *c = doc->children; c; c = c->next)
        if (cse__hl7_is(c, "confidentialityCode")) {
            const char *v = cse__hl7_attr(c, "code");
            if (v && strcmp(v, "NOPAT") == 0)
                a->labels |= CSE_LABEL_NOPAT;
        }
    return cse__gp2gp_emit(d, a);
}

/* The fragment a skeleton placeholder stands for: "cid:ID" in its reference,
 * else the document's id. */
static char *skeleton_fragment(const cse__xnode *doc)
{
    cse_concept code = {0};
    const char *ref, *id;
    char *out = NULL;

    if (cse__gp2gp_concept(cse__hl7_child(doc, "code"), &code) != CSE_OK)
        goto out;
    if (!has_code(&code, CSE__SKELETON_CODE))
        goto out;
    ref =
        cse__hl7_attr(cse__hl7_child(cse__hl7_child(doc, "text"), "reference"), "value");
    id = cse__hl7_id_root(doc);
    if (ref && strncmp(ref, "cid:", 4) == 0 && ref[4])
        out = strdup(ref + 4);
    else
        out = strdup(id ? id : "");
out:
    cse_concept_clear(&code);
    return out;
}

/* One ehrSupplyAuthorise, ehrSupplyPrescribe or ehrSupplyDiscontinue of a
 * MedicationStatement (its component c). */
static cse_code read_supply(cse__doc *d, cse_entry *e, const cse__xnode *c)
{
    static const struct {
        const char *name;
        cse_supply_kind kind;
        const char *ref_elem, *role;
    } parts[] = {
        {"ehrSupplyAuthorise", CSE_SUPPLY_AUTHORISE, NULL, NULL},
        {"ehrSupplyPrescribe", CSE_SUPPLY_PRESCRIBE, "inFulfillmentOf", "fulfils"},
        {"ehrSupplyDiscontinue", CSE_SUPPLY_DISCONTINUE, "reversalOf", "reverses"},
    };
    const char *owner = "MedicationStatement/component";
    const cse__xnode *n = NULL;
    cse_supply *s;
    size_t k;

    for (k = 0; k < sizeof(parts) / sizeof(parts[0]) && n == NULL; k++)
        n = cse__hl7_child(c, parts[k].name);
    if (n == NULL) {
        cse__gp2gp_loss(d, "MedicationStatement/component/(other)",
                        "medication component not mapped", cse__gp2gp_line(c));
        return CSE_OK;
    }
    k--;
    if ((s = cse_medication_add_supply(&e->med, parts[k].kind, cse__hl7_id_root(n))) ==
        NULL)
        return NOMEM(d);
    for (const cse__xnode *p = n->children; p; p = p->next) {
        const char *v;
        if (p->type != XML_READER_TYPE_ELEMENT)
            continue;
        if (cse__hl7_is(p, "code")) {
            if (cse__gp2gp_concept(p, &s->code) != CSE_OK)
                return NOMEM(d);
            if (s->code.text == NULL && cse__hl7_attr(p, "displayName") &&
                cse_concept_set_text(&s->code, cse__hl7_attr(p, "displayName")) != CSE_OK)
                return NOMEM(d);
        } else if (cse__hl7_is(p, "statusCode")) {
            if ((v = cse__hl7_attr(p, "code")) && cse_strset(&s->status, v) != CSE_OK)
                return NOMEM(d);
        } else if (cse__hl7_is(p, "effectiveTime")) {
            read_time(d, p, &s->effective_center, owner);
            read_time(d, cse__hl7_child(p, "center"), &s->effective_center, owner);
            read_time(d, cse__hl7_child(p, "low"), &s->effective_low, owner);
            read_time(d, cse__hl7_child(p, "high"), &s->effective_high, owner);
        } else if (cse__hl7_is(p, "availabilityTime")) {
            read_time(d, p, &s->availability, owner);
        } else if (cse__hl7_is(p, "repeatNumber")) {
            if ((v = cse__hl7_attr(p, "value")) && *v)
                s->repeats = atoi(v);
        } else if (cse__hl7_is(p, "quantity")) {
            if (read_pq(p, &s->quantity) != CSE_OK)
                return NOMEM(d);
            if (s->quantity.unit &&
                cse_strset(&s->quantity_text, s->quantity.unit) != CSE_OK)
                return NOMEM(d);
        } else if (cse__hl7_is(p, "confidentialityCode")) {
            if ((v = cse__hl7_attr(p, "code")) && strcmp(v, "NOPAT") == 0)
                s->labels |= CSE_LABEL_NOPAT;
        } else if (cse__hl7_is(p, "author")) {
            if ((v = agent_ref(p)) && cse_strset(&s->author_ref, v) != CSE_OK)
                return NOMEM(d);
        } else if (cse__hl7_is(p, "performer") || cse__hl7_is(p, "Participant")) {
            if (!cse__hl7_attr(p, "nullFlavor") && (v = agent_ref(p)) &&
                s->prescriber_ref == NULL && cse_strset(&s->prescriber_ref, v) != CSE_OK)
                return NOMEM(d);
        } else if (parts[k].ref_elem && cse__hl7_is(p, parts[k].ref_elem)) {
            v = cse__hl7_id_root(cse__hl7_child(p, "priorMedicationRef"));
            if (v && (cse_strset(&s->prior_id, v) != CSE_OK ||
                      cse_entry_add_ref(e, v, parts[k].role) != CSE_OK))
                return NOMEM(d);
        } else if (cse__hl7_is(p, "pertinentInformation") &&
                   !cse__hl7_attr(cse__hl7_child(p, "pertinentSupplyAnnotation"),
                                  "nullFlavor")) {
            /* (An annotation with a nullFlavor says only that nothing is
             * known: the writer makes it again.) */
            char *t = text_of(
                cse__hl7_child(cse__hl7_child(p, "pertinentSupplyAnnotation"), "text"));
            cse_code rc = t ? cse_supply_add_note(s, t) : CSE_OK;
            free(t);
            if (rc != CSE_OK)
                return NOMEM(d);
        }
    }
    return CSE_OK;
}

/* A RequestStatement whose code carries the qualifier RequestType =
 * SelfReferral. */
static bool self_referral(const cse__xnode *n)
{
    const cse__xnode *code = cse__hl7_child(n, "code");
    for (const cse__xnode *q = code ? code->children : NULL; q; q = q->next) {
        const char *name, *value;
        if (!cse__hl7_is(q, "qualifier"))
            continue;
        name = cse__hl7_attr(cse__hl7_child(q, "name"), "code");
        value = cse__hl7_attr(cse__hl7_child(q, "value"), "code");
        if (name && value && strcmp(name, "RequestType") == 0 &&
            strcmp(value, "SelfReferral") == 0)
            return true;
    }
    return false;
}

/* The requesting adaptor's immunisation test: the first translation's code,
 * then the code itself, against a SNOMED CT database when one is given,
 * else against the codes it checks itself. */
static bool is_immunisation(const cse__doc *d, const cse_concept *c)
{
    const cse_code_lookup *l = d->g->lookup;

    if (l == NULL || l->is_immunisation == NULL)
        return cse_snomed_concept_is_immunisation(NULL, c);
    if (c->n > 1 && c->codings[1].system &&
        strcmp(c->codings[1].system, CSE_SYSTEM_SNOMED) == 0 &&
        l->is_immunisation(l->ctx, c->codings[1].code))
        return true;
    return c->n > 0 && c->codings[0].system &&
           strcmp(c->codings[0].system, CSE_SYSTEM_SNOMED) == 0 &&
           l->is_immunisation(l->ctx, c->codings[0].code);
}

/* A SNOMED CT description id in a statement's code stays as it is in the
 * model; the FHIR writer writes its concept when its lookup knows it. One
 * that no release resolves is counted, so the loss report says so. */
static void note_descriptions(cse__doc *d, const cse_concept *c, const char *owner,
                              int line)
{
    const cse_code_lookup *l = d->g->lookup;
    char what[96], concept[32];

    for (size_t i = 0; i < c->n; i++) {
        const cse_coding *k = &c->codings[i];
        if (k->system == NULL || strcmp(k->system, CSE_SYSTEM_SNOMED) != 0 ||
            cse_sctid_classify(k->code) != CSE_SCTID_DESCRIPTION)
            continue;
        if (l && l->concept_of &&
            l->concept_of(l->ctx, k->code, concept, sizeof(concept)))
            continue;
        snprintf(what, sizeof(what), "%s/code%s/@code", owner, i ? "/translation" : "");
        cse__gp2gp_loss(d, what,
                        l && l->concept_of
                            ? "SNOMED CT description id not in the release given "
                              "(kept as the description id)"
                            : "SNOMED CT description id not resolved: no SNOMED CT "
                              "release given (kept as the description id)",
                        line);
    }
}

/* The allergy parts, as the requesting adaptor reads them: the category from
 * the compound (14L..00 drug, SN53.00 non-drug), the allergen from a coded
 * value, asserted when recorded, onset when it happened, resolved when it
 * has an end. */
static cse_code fill_allergy(cse_entry *e, const cse__frame *f)
{
    const cse_time *on = e->effective_center.precision != CSE_TIME_NONE
                             ? &e->effective_center
                             : &e->effective_low;

    e->allergy.asserted = e->availability;
    e->allergy.onset = *on;
    e->allergy.end = e->effective_high;
    if (cse_strset(&e->allergy.category,
                   f && f->nondrug ? "environment" : "medication") != CSE_OK ||
        cse_strset(&e->allergy.clinical_status,
                   e->effective_high.precision != CSE_TIME_NONE ? "resolved"
                                                                : "active") != CSE_OK)
        return CSE_ERR_NOMEM;
    if (e->val.kind == CSE_VALUE_CODED)
        return cse_concept_copy(&e->allergy.allergen, &e->val.coded);
    return CSE_OK;
}

cse_code cse__gp2gp_statement(cse__doc *d, const cse__xnode *n, const cse__frame *f,
                              char **skeleton_id)
{
    const char *name = n->name;
    cse_entry_kind kind = CSE_ENTRY_OTHER;
    cse_entry *e;
    const cse__xnode *doc = NULL;
    cse_code rc = CSE_OK;
    bool nomem;

    *skeleton_id = NULL;
    if (strcmp(name, "ObservationStatement") == 0)
        kind = f && f->allergy ? CSE_ENTRY_ALLERGY : CSE_ENTRY_OBSERVATION;
    else if (strcmp(name, "NarrativeStatement") == 0)
        kind = CSE_ENTRY_NARRATIVE;
    else if (strcmp(name, "LinkSet") == 0)
        kind = CSE_ENTRY_PROBLEM;
    else if (strcmp(name, "PlanStatement") == 0)
        kind = CSE_ENTRY_PLAN;
    else if (strcmp(name, "RequestStatement") == 0)
        kind = CSE_ENTRY_REQUEST;
    else if (strcmp(name, "MedicationStatement") == 0)
        kind = CSE_ENTRY_MEDICATION;
    if ((e = cse__entry_take(&d->g->spare, kind)) == NULL)
        return NOMEM(d);
    e->source_line = cse__gp2gp_line(n);
    e->inherited_labels = f ? f->inherited : 0;
    if (f && f->id && cse_strset(&e->parent_id, f->id) != CSE_OK)
        goto nomem;
    for (const cse__xnode *c = n->children; c && rc == CSE_OK; c = c->next) {
        if (c->type != XML_READER_TYPE_ELEMENT)
            continue;
        if ((rc = cse__gp2gp_apply_child(d, e, c)) != CSE_OK)
            break;
        if (kind == CSE_ENTRY_NARRATIVE && cse__hl7_is(c, "text")) {
            char *t = text_of(c);
            if (t)
                rc = cse_concept_set_text(&e->code, t);
            free(t);
        } else if (kind == CSE_ENTRY_NARRATIVE && cse__hl7_is(c, "reference")) {
            if (doc == NULL)
                doc = cse__hl7_child(c, "referredToExternalDocument");
        } else if ((kind == CSE_ENTRY_OBSERVATION || kind == CSE_ENTRY_ALLERGY) &&
                   cse__hl7_is(c, "value")) {
            rc = read_value(d, e, c);
        } else if (kind == CSE_ENTRY_PROBLEM &&
                   (cse__hl7_is(c, "conditionNamed") || cse__hl7_is(c, "component"))) {
            const cse__xnode *ref = cse__hl7_child(c, "namedStatementRef");
            const char *id =
                cse__hl7_id_root(ref ? ref : cse__hl7_child(c, "statementRef"));
            if (id)
                rc = cse_entry_add_link(e, id);
        } else if (kind == CSE_ENTRY_MEDICATION && cse__hl7_is(c, "consumable")) {
            const cse__xnode *mat = cse__hl7_child(
                cse__hl7_child(c, "manufacturedProduct"), "manufacturedMaterial");
            rc = cse__gp2gp_concept(cse__hl7_child(mat, "code"), &e->code);
        } else if (kind == CSE_ENTRY_MEDICATION &&
                   cse__hl7_is(c, "pertinentInformation")) {
            const cse__xnode *dose = cse__hl7_child(c, "pertinentMedicationDosage");
            if (dose && (rc = set_text(d, &e->value, cse__hl7_child(dose, "text"),
                                       &nomem)) == CSE_OK)
                rc = cse_strset(&e->med.dosage, e->value);
        } else if (kind == CSE_ENTRY_MEDICATION && cse__hl7_is(c, "component")) {
            rc = read_supply(d, e, c);
        }
    }
    if (rc == CSE_OK)
        note_descriptions(d, &e->code, name, e->source_line);
    if (rc == CSE_OK && kind == CSE_ENTRY_ALLERGY)
        rc = fill_allergy(e, f);
    if (rc == CSE_OK && kind == CSE_ENTRY_OBSERVATION && is_immunisation(d, &e->code))
        e->kind = CSE_ENTRY_IMMUNIZATION;
    /* A self-referral is a fact recorded, not a request to anyone: the
     * requesting adaptor writes it as an Observation. */
    if (rc == CSE_OK && kind == CSE_ENTRY_REQUEST && self_referral(n))
        e->kind = CSE_ENTRY_OBSERVATION;
    if (rc == CSE_OK && f && f->report_id) {
        e->path.role = kind == CSE_ENTRY_NARRATIVE ? CSE_PATH_COMMENT : CSE_PATH_RESULT;
        if (cse_strset(&e->path.report_id, f->report_id) != CSE_OK ||
            cse_strset(&e->path.specimen_id, f->specimen_id) != CSE_OK)
            rc = CSE_ERR_NOMEM;
        e->path.issued = e->availability;
    }
    if (rc != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? NOMEM(d) : rc;
    }
    if (doc && (*skeleton_id = skeleton_fragment(doc)) != NULL) {
        /* A large-message placeholder: the fragment is read in its place. */
        cse_entry_free(e);
        return CSE_OK;
    }
    if (doc) {
        cse_entry *keep = cse_entry_dup(e);
        if (keep == NULL)
            goto nomem;
        rc = cse__gp2gp_emit(d, e);
        if (rc == CSE_OK)
            rc = emit_attachment(d, keep, doc, f);
        cse_entry_free(keep);
        return rc;
    }
    return cse__gp2gp_emit(d, e);
nomem:
    cse_entry_free(e);
    return NOMEM(d);
}

/* "Dr Given Family" from an HL7 name, or its text. Ownership: caller frees. */
static char *name_of(const cse__xnode *name)
{
    char buf[512] = "";
    size_t used = 0;

    if (name == NULL)
        return NULL;
    for (const cse__xnode *c = name->children; c; c = c->next) {
        char *t;
        if (c->type != XML_READER_TYPE_ELEMENT || (t = text_of(c)) == NULL)
            continue;
        used +=
            (size_t)snprintf(buf + used, sizeof(buf) - used, "%s%s", used ? " " : "", t);
        free(t);
        if (used >= sizeof(buf))
            break;
    }
    return buf[0] ? strdup(buf) : text_of(name);
}

static const char *ods_id(const cse__xnode *org)
{
    for (const cse__xnode *c = org ? org->children : NULL; c; c = c->next) {
        const char *root = cse__hl7_is(c, "id") ? cse__hl7_attr(c, "root") : NULL;
        if (root && strcmp(root, CSE_OID_ODS) == 0)
            return cse__hl7_attr(c, "extension");
    }
    return NULL;
}

cse_agent *cse__gp2gp_agent(const cse__xnode *n)
{
    const cse__xnode *person = cse__hl7_child(n, "agentPerson");
    const cse__xnode *org = cse__hl7_child(n, "agentOrganization");
    const cse__xnode *rep = cse__hl7_child(n, "representedOrganization");
    const cse__xnode *code = cse__hl7_child(n, "code");
    const char *id = NULL;
    cse_agent *a;
    char *role = NULL;

    for (const cse__xnode *c = n->children; c && id == NULL; c = c->next)
        if (cse__hl7_is(c, "id") && cse__hl7_attr(c, "extension") == NULL)
            id = cse__hl7_attr(c, "root");
    a = cse_agent_new(person || !org ? CSE_AGENT_PERSON : CSE_AGENT_ORGANISATION, id);
    if (a == NULL)
        return NULL;
    a->name = name_of(cse__hl7_child(person ? person : org, "name"));
    if (code) {
        role = text_of(cse__hl7_child(code, "originalText"));
        if (role == NULL && cse__hl7_attr(code, "displayName"))
            role = strdup(cse__hl7_attr(code, "displayName"));
        a->role = role;
    }
    if (cse_strset(&a->ods, ods_id(org ? org : rep)) != CSE_OK) {
        cse_agent_free(a);
        return NULL;
    }
    return a;
}
