/* SPDX-License-Identifier: MIT */
/* The FHIR reader's batteries outside laboratory reports: an Observation
 * that groups others (a blood pressure sent as a header and its readings, a
 * test group, a cluster) becomes a CompoundStatement holding them, as GP2GP
 * carried it and as the national sending adaptor's ObservationMapper writes
 * a header with members: BATTERY when a member is a coded result, CLUSTER
 * when every member is a comment. ehr2fhir, like the national requesting
 * adaptor, writes a GP2GP battery as an Observation with no value that its
 * members name by related[derived-from] (STU3) or derivedFrom (R4); the
 * requesting adaptor also names them from the header by related[has-member]
 * (STU3), and R4 by hasMember. Both directions are read.
 *
 * Pass 1 notes the links and which Observations may head a battery (no
 * value, components, interpretation, range or absence reason of their own,
 * not a comment note, not a marker). Pass 2 delivers a header as the
 * compound, then each of its members inside it, then its notes as a
 * NarrativeStatement; a member met anywhere else is not delivered there.
 * A member named by two headers is in the first that named it; a chain of
 * headers that loops, or nests deeper than BAT_MAX_DEPTH, is written flat,
 * so nothing is ever lost or written twice. Laboratory reports
 * (fhir_read_path.c) take precedence.
 *
 * This file is part of fhir_read.c (it is included at its end): it shares
 * the reader's private state and helpers, and is not compiled alone. Only
 * bat_rows_build() and bat_row() know the reader's row array. */

#define BAT_MAX_DEPTH 3      /* batteries inside batteries */
#define BAT_MAX_LINKS 65536u /* member links noted; more are written flat */

typedef struct bat_link {
    char *header, *member;
    size_t ord; /* input order */
    bool named; /* named by the header (has-member), not by the member */
} bat_link;

struct bat {
    bat_link *links;
    size_t n, cap;
    cse__smap parent; /* member key -> the header that named it first */
    cse__smap heads;  /* header key -> index of its first link (sorted), for
                         the headers written as a battery */
    cse__smap rows;   /* header or member key -> its row */
    cse__smap given;  /* member keys delivered inside their header */
    const char *now;  /* the header whose members are being delivered */
};

static void bat_free(reader *r)
{
    struct bat *b = r->bat;
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++) {
        free(b->links[i].header);
        free(b->links[i].member);
    }
    free(b->links);
    cse__smap_free(&b->parent);
    cse__smap_free(&b->heads);
    cse__smap_free(&b->rows);
    cse__smap_free(&b->given);
    free(b);
    r->bat = NULL;
}

static struct bat *bat_state(reader *r)
{
    if (r->bat == NULL && (r->bat = calloc(1, sizeof(*r->bat))) != NULL) {
        /* The maps live in the reader's spill arena, as its own do; the
         * links are bounded by BAT_MAX_LINKS. */
        r->bat->parent.arena = r->fa;
        r->bat->heads.arena = r->fa;
        r->bat->rows.arena = r->fa;
        r->bat->given.arena = r->fa;
    }
    return r->bat;
}

/* ---- Pass 1: the links ------------------------------------------------------ */

static cse_code bat_link_add(reader *r, const char *header, const char *member,
                             bool named)
{
    struct bat *b;
    bat_link *l;

    if (header == NULL || member == NULL || strcmp(header, member) == 0)
        return CSE_OK;
    if ((b = bat_state(r)) == NULL)
        return nomem(r);
    if (b->n == BAT_MAX_LINKS)
        return CSE_OK; /* a hostile number: the rest are written flat */
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 16;
        bat_link *nl = realloc(b->links, nc * sizeof(*nl));
        if (nl == NULL)
            return nomem(r);
        b->links = nl;
        b->cap = nc;
    }
    l = &b->links[b->n];
    l->ord = b->n;
    l->named = named;
    if ((l->header = strdup(header)) == NULL)
        return nomem(r);
    if ((l->member = strdup(member)) == NULL) {
        free(l->header);
        return nomem(r);
    }
    b->n++;
    return cse__smap_put(&b->parent, member, header, true) == CSE_OK ? CSE_OK : nomem(r);
}

/* True when a reference may name an Observation: "Observation/id" (or a
 * URL ending so), or a urn:uuid / fullUrl that does not say its type. A
 * has-member target of another type (a QuestionnaireResponse) is no
 * statement of a battery. */
static bool bat_may_be_observation(const reader *r, const jv *ref)
{
    const char *s = jstr(ref, "reference");
    if (s == NULL)
        return false;
    return strncmp(s, "urn:uuid:", 9) == 0 || cse__smap_get(&r->fullurls, s) != NULL ||
           strncmp(s, "Observation/", 12) == 0 || strstr(s, "/Observation/") != NULL;
}

static cse_code bat_link_ref(reader *r, const char *header, const jv *ref, bool to_member)
{
    char *k;
    cse_code rc;

    if (!bat_may_be_observation(r, ref) || (k = ref_key(r, ref)) == NULL)
        return CSE_OK;
    rc = to_member ? bat_link_add(r, header, k, true) : bat_link_add(r, k, header, false);
    free(k);
    return rc;
}

/* Notes an Observation's battery links: the members it names, and the
 * header its derived-from names. */
static cse_code bat_scan(reader *r, const res *x, const jv *o, const char *type)
{
    const jv *v;
    size_t i;
    cse_code rc = CSE_OK;

    if (x->key == NULL || strcmp(type, "Observation") != 0)
        return CSE_OK;
    PATH_FOREACH_MEMBER(o, i, v, {
        if (rc == CSE_OK)
            rc = bat_link_ref(r, x->key, ref_, true);
    });
    jv_foreach(jv_get(o, "related"), i, v)
    {
        const char *t = jstr(v, "type");
        if (rc == CSE_OK && t && strcmp(t, "derived-from") == 0)
            rc = bat_link_ref(r, x->key, jv_get(v, "target"), false);
    }
    jv_foreach(jv_get(o, "derivedFrom"), i, v)
    {
        if (rc == CSE_OK)
            rc = bat_link_ref(r, x->key, v, false);
    }
    return rc;
}

/* ---- Between the passes: which headers are batteries -------------------- */

/* True when the Observation says something of its own that a
 * CompoundStatement cannot hold: it stays an ObservationStatement, its
 * members beside it. */
static bool bat_has_own_value(const jv *o)
{
    static const char *const own[] = {
        "valueQuantity",   "valueCodeableConcept", "valueString",
        "valueBoolean",    "valueInteger",         "valueRange",
        "valueRatio",      "valueSampledData",     "valueAttachment",
        "valueTime",       "valueDateTime",        "valuePeriod",
        "component",       "interpretation",       "referenceRange",
        "dataAbsentReason"};
    for (size_t i = 0; i < sizeof(own) / sizeof(own[0]); i++)
        if (jv_get(o, own[i]))
            return true;
    return false;
}

/* True when the Observation can head a battery. */
static bool bat_can_head(const jv *o, cse_code *rc)
{
    cse_concept c = {0};
    bool ok;

    if (o == NULL || jstr(o, "resourceType") == NULL ||
        strcmp(jstr(o, "resourceType"), "Observation") != 0 || bat_has_own_value(o))
        return false;
    if (read_concept(jv_get(o, "code"), &c) != CSE_OK) {
        cse_concept_clear(&c);
        *rc = CSE_ERR_NOMEM;
        return false;
    }
    ok = (c.n > 0 || c.text) && !comment_note(&c) && cse_concept_marker_code(&c) == NULL;
    cse_concept_clear(&c);
    return ok;
}

/* The links by header: first the members it names, in its order (as the
 * adaptor writes them), then those that name it, in input order. */
static int bat_link_cmp(const void *a, const void *b)
{
    const bat_link *x = a, *y = b;
    int c = strcmp(x->header, y->header);
    if (c == 0)
        c = (int)y->named - (int)x->named;
    return c ? c : (x->ord > y->ord) - (x->ord < y->ord);
}

/* The row array: the rows of every header and member (the only place this
 * file walks it). */
static cse_code bat_rows_build(reader *r)
{
    struct bat *b = r->bat;
    char idx[32];

    for (size_t i = 0; i < r->n_res; i++) {
        const char *k = r->res[i].key;
        /* Every row is read: the arena lets go of pages as they are. */
        cse__farena_tick(r->fa);
        if (k == NULL || r->res[i].kind != RK_ENTRY ||
            !(cse__smap_has(&b->parent, k) || cse__smap_has(&b->heads, k)))
            continue;
        snprintf(idx, sizeof(idx), "%zu", i);
        if (cse__smap_put(&b->rows, k, idx, true) != CSE_OK)
            return nomem(r);
    }
    return CSE_OK;
}

/* A header's or member's row; NULL when it is not in the input. */
static const res *bat_row(const reader *r, const char *key)
{
    const char *idx = key && r->bat ? cse__smap_get(&r->bat->rows, key) : NULL;
    size_t i = idx ? strtoul(idx, NULL, 10) : (size_t)-1;
    /* Rows are read here out of input order: without a look now and then,
     * every page of the arena they touch would stay resident. */
    cse__farena_tick(r->fa);
    return i < r->n_res ? &r->res[i] : NULL;
}

/* After pass 1: sorts the links by header, and keeps as batteries the
 * headers that are in the input, can head one, and have a member of their
 * own in the input. */
static cse_code bat_index_build(reader *r)
{
    struct bat *b = r->bat;
    char idx[32];
    cse_code rc = CSE_OK;

    if (b == NULL || b->n == 0)
        return CSE_OK;
    qsort(b->links, b->n, sizeof(*b->links), bat_link_cmp);
    /* Every header is a candidate until shown otherwise. */
    for (size_t i = 0; i < b->n; i++) {
        if (i > 0 && strcmp(b->links[i].header, b->links[i - 1].header) == 0)
            continue;
        snprintf(idx, sizeof(idx), "%zu", i);
        if (cse__smap_put(&b->heads, b->links[i].header, idx, true) != CSE_OK)
            return nomem(r);
    }
    if ((rc = bat_rows_build(r)) != CSE_OK)
        return rc;
    for (size_t i = 0; i < b->n; i++) {
        const char *h = b->links[i].header;
        const res *x;
        const jv *o;
        size_t members = 0, j;

        if (i > 0 && strcmp(h, b->links[i - 1].header) == 0)
            continue;
        for (j = i; j < b->n && strcmp(b->links[j].header, h) == 0; j++) {
            const char *m = b->links[j].member;
            const char *p = cse__smap_get(&b->parent, m);
            if (p && strcmp(p, h) == 0 && bat_row(r, m) && !path_taken(r, m))
                members++;
        }
        x = bat_row(r, h);
        if (members > 0 && x != NULL && !path_taken(r, h)) {
            if ((o = fetch(r, x)) == NULL)
                return r->err ? r->err->code : CSE_ERR_INTERNAL;
            if (bat_can_head(o, &rc))
                continue;
            if (rc != CSE_OK)
                return nomem(r);
        }
        /* Not a battery: its value becomes NULL. */
        if (cse__smap_put(&b->heads, h, NULL, false) != CSE_OK)
            return nomem(r);
    }
    return CSE_OK;
}

/* ---- Pass 2 ------------------------------------------------------------------ */

/* True when key heads a battery that is written as one: a header (see
 * bat_index_build) whose chain of headers above it ends within
 * BAT_MAX_DEPTH without looping. */
static bool bat_is_battery(const reader *r, const char *key)
{
    const struct bat *b = r->bat;
    const char *at = key;

    if (b == NULL || key == NULL || cse__smap_get(&b->heads, key) == NULL)
        return false;
    for (int hop = 0; hop <= BAT_MAX_DEPTH; hop++) {
        const char *up = cse__smap_get(&b->parent, at);
        if (up == NULL || cse__smap_get(&b->heads, up) == NULL)
            return true; /* at is not inside a battery: the top */
        if (strcmp(up, key) == 0)
            return false; /* a loop */
        at = up;
    }
    return false; /* too deep */
}

/* True when x is a row of the input (not a resource contained in a List). */
static bool bat_own_row(const reader *r, const res *x)
{
    return x->key && bat_row(r, x->key) == x;
}

/* True when the Observation of row x is delivered inside its battery, not
 * where it was met. */
static bool bat_skip(const reader *r, const res *x)
{
    const char *up;
    if (r->bat == NULL || !bat_own_row(r, x) ||
        (up = cse__smap_get(&r->bat->parent, x->key)) == NULL ||
        (r->bat->now && strcmp(r->bat->now, up) == 0))
        return false;
    return bat_is_battery(r, up);
}

/* True when the Observation of row x is written as a battery. */
static bool bat_header(const reader *r, const res *x)
{
    return r->bat && bat_own_row(r, x) && bat_is_battery(r, x->key);
}

/* True when the class of the battery is BATTERY: a member is a coded
 * result, not a comment (the adaptor's prepareClassCode); else CLUSTER. */
static cse_code bat_class(reader *r, const char *h, size_t first, bool *battery)
{
    struct bat *b = r->bat;
    *battery = false;
    for (size_t j = first; j < b->n && !*battery && strcmp(b->links[j].header, h) == 0;
         j++) {
        const char *m = b->links[j].member;
        const char *p = cse__smap_get(&b->parent, m);
        const res *x = bat_row(r, m);
        const jv *o;
        cse_concept c = {0};
        if (p == NULL || strcmp(p, h) != 0 || x == NULL)
            continue;
        if ((o = fetch(r, x)) == NULL)
            return r->err ? r->err->code : CSE_ERR_INTERNAL;
        if (read_concept(jv_get(o, "code"), &c) != CSE_OK) {
            cse_concept_clear(&c);
            return nomem(r);
        }
        *battery = (c.n > 0 || c.text) && !comment_note(&c);
        cse_concept_clear(&c);
    }
    return CSE_OK;
}

/* Delivers the header e (of row x) as the battery's CompoundStatement, its
 * members inside it in the order they were named, and its notes as a
 * NarrativeStatement, as for a blood pressure (emit_battery). */
static cse_code bat_emit(reader *r, const res *x, cse_entry *e,
                         const cse_entry_info *info)
{
    struct bat *b = r->bat;
    const char *first = cse__smap_get(&b->heads, x->key);
    const char *saved_parent = r->parent, *saved_now = b->now;
    size_t from = strtoul(first, NULL, 10);
    char **notes = e->annotations;
    size_t n_notes = e->n_annotations;
    bool battery;
    cse_code rc;

    if ((rc = bat_class(r, x->key, from, &battery)) != CSE_OK)
        return rc;
    e->kind = CSE_ENTRY_COMPOUND;
    if (cse_strset(&e->compound_class, battery ? "battery" : "cluster") != CSE_OK)
        return nomem(r);
    e->annotations = NULL;
    e->n_annotations = 0;
    rc = deliver(r, e, info);
    e->annotations = notes;
    e->n_annotations = n_notes;
    for (size_t j = from;
         rc == CSE_OK && j < b->n && strcmp(b->links[j].header, x->key) == 0; j++) {
        const char *m = b->links[j].member;
        const char *p = cse__smap_get(&b->parent, m);
        const res *mx = bat_row(r, m);
        if (p == NULL || strcmp(p, x->key) != 0 || mx == NULL || path_taken(r, m) ||
            cse__smap_has(&b->given, m))
            continue;
        if (cse__smap_put(&b->given, m, NULL, true) != CSE_OK)
            return nomem(r);
        r->parent = e->id;
        b->now = x->key;
        rc = emit(r, mx);
        r->parent = saved_parent;
        b->now = saved_now;
    }
    if (rc == CSE_OK && n_notes > 0) {
        cse_entry *n = NULL;
        cse_entry_info ninfo = {0};
        char *id = NULL;
        if (asprintf(&id, "%s#note", e->id ? e->id : "") < 0)
            return nomem(r);
        n = cse_entry_new(CSE_ENTRY_NARRATIVE, id);
        free(id);
        if (n == NULL || cse_strset(&n->parent_id, e->id) != CSE_OK ||
            cse_strset(&n->author_ref, e->author_ref) != CSE_OK) {
            cse_entry_free(n);
            return nomem(r);
        }
        for (size_t i = 0; i < n_notes; i++)
            if (cse_entry_add_annotation(n, notes[i]) != CSE_OK) {
                cse_entry_free(n);
                return nomem(r);
            }
        n->source_line = e->source_line;
        n->effective_center = e->effective_center;
        n->availability = e->availability;
        n->labels = e->labels;
        n->inherited_labels = e->inherited_labels;
        ninfo.cls = CSE_CLASS_NONE;
        rc = deliver(r, n, &ninfo);
        cse_entry_free(n);
    }
    return rc;
}
