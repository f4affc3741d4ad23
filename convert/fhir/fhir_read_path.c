/* SPDX-License-Identifier: MIT */
/* The FHIR reader's laboratory reports: a DiagnosticReport with its Specimens
 * and result Observations, delivered as the pathology hierarchy the national
 * sending adaptor writes (its DiagnosticReportMapper, SpecimenMapper and
 * diagnosticreport/ObservationMapper):
 *
 *   report       CompoundStatement CLUSTER 16488004 "laboratory reporting"
 *     comments   NarrativeStatements: conclusion, coded diagnosis, status,
 *                filing date, participants, filing comments (PMIP text)
 *     specimen   CompoundStatement CLUSTER 123038009, with specimenRole
 *       comment  NarrativeStatement LAB SPECIMEN COMMENT(E271)
 *       result   ObservationStatement and its comments, or a CLUSTER
 *                (BATTERY for a test group) holding them and its members
 *
 * A result without a specimen goes to a "NOT PRESENT" specimen; a specimen
 * without results gets an "EMPTY REPORT" comment, as the adaptor does for
 * EMIS. The Observations and Specimens a report names are delivered inside
 * it, never again on their own.
 *
 * This file is part of fhir_read.c (it is included at its end): it shares
 * the reader's private state and helpers, and is not compiled alone. */

#define PATH_MAX_RESULTS 4096u
#define PATH_MAX_MEMBERS 256u
#define PMIP_REPORT_CODE "16488004"
#define PMIP_SPECIMEN_CODE "123038009"
#define COMMENT_NOTE_CODE "37331000000100"
#define CT_ACS "AGGREGATE COMMENT SET"
#define CT_LRC "LABORATORY RESULT COMMENT(E141)"
#define CT_LSC "LAB SPECIMEN COMMENT(E271)"
#define CT_USER "USER COMMENT"

/* ---- Pass 1: which resources a report takes ----------------------------- */

static void path_put_ref(reader *r, cse__smap *m, const jv *ref, const char *owner,
                         cse_code *rc)
{
    char *k;
    if (*rc != CSE_OK || ref == NULL || (k = ref_key(r, ref)) == NULL)
        return;
    *rc = cse__smap_put(m, k, owner, true);
    free(k);
}

/* The has-member targets of an Observation: STU3 related[has-member], R4
 * hasMember. Calls fn for each reference. */
#define PATH_FOREACH_MEMBER(o, i, v, body)                                               \
    do {                                                                                 \
        jv_foreach(jv_get(o, "related"), i, v)                                           \
        {                                                                                \
            const char *t_ = jstr(v, "type");                                            \
            if (t_ && strcmp(t_, "has-member") == 0) {                                   \
                const jv *ref_ = jv_get(v, "target");                                    \
                body                                                                     \
            }                                                                            \
        }                                                                                \
        jv_foreach(jv_get(o, "hasMember"), i, v)                                         \
        {                                                                                \
            const jv *ref_ = v;                                                          \
            body                                                                         \
        }                                                                                \
    } while (0)

static cse_code path_scan(reader *r, const res *x, const jv *o, const char *type)
{
    const jv *v;
    size_t i;
    cse_code rc = CSE_OK;

    if (x->key == NULL)
        return CSE_OK;
    if (strcmp(type, "DiagnosticReport") == 0) {
        jv_foreach(jv_get(o, "result"), i, v)
            path_put_ref(r, &r->path_taken, v, x->key, &rc);
        jv_foreach(jv_get(o, "specimen"), i, v)
            path_put_ref(r, &r->path_taken, v, x->key, &rc);
    } else if (strcmp(type, "Observation") == 0) {
        PATH_FOREACH_MEMBER(o, i, v,
                            { path_put_ref(r, &r->path_member, ref_, x->key, &rc); });
    }
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* After pass 1: where each resource a report or a result names lies (only
 * those are indexed, so the index stays small in a large record). */
static cse_code path_index_build(reader *r)
{
    char idx[32];
    if (r->path_taken.n == 0)
        return CSE_OK;
    for (size_t i = 0; i < r->n_res; i++) {
        const char *k = r->res[i].key;
        cse__farena_tick(r->fa);
        if (k == NULL ||
            !(cse__smap_has(&r->path_taken, k) || cse__smap_has(&r->path_member, k)))
            continue;
        snprintf(idx, sizeof(idx), "%zu", i);
        if (cse__smap_put(&r->path_index, k, idx, true) != CSE_OK)
            return nomem(r);
    }
    return CSE_OK;
}

/* True when a report delivers this Observation or Specimen. */
static bool path_taken(const reader *r, const char *key)
{
    const char *parent;
    if (key == NULL)
        return false;
    if (cse__smap_has(&r->path_taken, key))
        return true;
    parent = cse__smap_get(&r->path_member, key);
    return parent && cse__smap_has(&r->path_taken, parent);
}

static const res *path_find(const reader *r, const char *key)
{
    const char *idx = key ? cse__smap_get(&r->path_index, key) : NULL;
    size_t i = idx ? strtoul(idx, NULL, 10) : (size_t)-1;
    return i < r->n_res ? &r->res[i] : NULL;
}

/* What the sending adaptor does not write either is still reported. */
static const char WHY_LAB_UNMAPPED[] = "not written in a laboratory report (nor by the "
                                       "sending adaptor)";

static cse_code path_unmapped(reader *r, const res *x, const jv *o, const char *type,
                              const char *const *fields)
{
    char what[96];
    cse_code rc = CSE_OK;
    for (; *fields && rc == CSE_OK; fields++) {
        if (jv_get(o, *fields) == NULL)
            continue;
        snprintf(what, sizeof(what), "%s.%s", type, *fields);
        rc = count_loss(r, what, WHY_LAB_UNMAPPED, x->line);
    }
    return rc;
}

/* ---- Text helpers --------------------------------------------------------- */

/* extractTextOrCoding: the text, else the first coding's description
 * display or display. Lent from the document. */
static const char *path_concept_text(const jv *cc, bool user_selected)
{
    const jv *k = NULL, *v;
    size_t i;

    if (cc == NULL)
        return NULL;
    if (jstr(cc, "text") && *jstr(cc, "text"))
        return jstr(cc, "text");
    if (user_selected) {
        jv_foreach(jv_get(cc, "coding"), i, v)
        {
            const jv *us = jv_get(v, "userSelected");
            if (k == NULL && us && us->type == JV_TRUE)
                k = v;
        }
    }
    if (k == NULL)
        k = jv_at(jv_get(cc, "coding"), 0);
    if (k == NULL)
        return NULL;
    {
        const jv *desc = extension(k, "https://fhir.nhs.uk/STU3/StructureDefinition/"
                                      "Extension-coding-sctdescid");
        const char *disp = jstr(k, "display");
        jv_foreach(jv_get(desc, "extension"), i, v)
        {
            const char *u = jstr(v, "url"), *t = jstr(v, "valueString");
            if (u && strcmp(u, "descriptionDisplay") == 0 && t && *t &&
                !(disp && strcmp(t, disp) == 0))
                return t;
        }
        return disp;
    }
}

/* A growing text; NULL text means allocation failed. */
typedef struct ptext {
    char *s;
    size_t n;
    bool failed;
} ptext;

static void pt_add(ptext *t, const char *a, const char *b)
{
    size_t la = a ? strlen(a) : 0, lb = b ? strlen(b) : 0;
    char *ns;
    if (t->failed)
        return;
    if ((ns = realloc(t->s, t->n + la + lb + 1)) == NULL) {
        t->failed = true;
        return;
    }
    t->s = ns;
    memcpy(t->s + t->n, a ? a : "", la);
    memcpy(t->s + t->n + la, b ? b : "", lb);
    t->n += la + lb;
    t->s[t->n] = '\0';
}

/* Puts line (a) and a new line before the text, as the adaptor's
 * prependText does. */
static void pt_prepend(ptext *t, const char *line)
{
    char *old = t->s;
    size_t n = t->n;
    if (t->failed)
        return;
    t->s = NULL, t->n = 0;
    pt_add(t, line, "\n");
    pt_add(t, old ? old : "", NULL);
    free(old);
    (void)n;
}

static const char *path_hl7(const cse_time *t, char buf[32])
{
    return t->precision ? cse_time_format_hl7(t, buf, 32) : "UNK";
}

/* DateFormatUtil.toTextFormat ("2020-12-15 15:17:04", or the date to its
 * precision), or with minutes set toTextFormatStraight ("2010-02-24 15:41",
 * always with a time). */
static const char *path_text_time(const cse_time *t, char buf[32], bool minutes)
{
    if (t->precision == CSE_TIME_NONE)
        return "";
    if (minutes)
        snprintf(buf, 32, "%04d-%02d-%02d %02d:%02d", t->year, t->month, t->day, t->hour,
                 t->minute);
    else if (t->precision == CSE_TIME_YEAR)
        snprintf(buf, 32, "%04d", t->year);
    else if (t->precision == CSE_TIME_MONTH)
        snprintf(buf, 32, "%04d-%02d", t->year, t->month);
    else if (t->precision == CSE_TIME_DAY)
        snprintf(buf, 32, "%04d-%02d-%02d", t->year, t->month, t->day);
    else
        snprintf(buf, 32, "%04d-%02d-%02d %02d:%02d:%02d", t->year, t->month, t->day,
                 t->hour, t->minute, t->second);
    return buf;
}

/* ---- What a report is made of ------------------------------------------- */

/* One Observation, read once: what the mappers need of it. */
typedef struct pobs {
    char *key;
    cse_entry *e;   /* the ObservationStatement form (code, times, value, ...) */
    char *specimen; /* specimen key, may be NULL */
    char **members; /* has-member keys */
    size_t n_members;
    bool filing; /* a filing comment (37331000000100) */
    bool has_code;
    bool dummy; /* made for a specimen without results */
    bool value_quantity, value_string_only;
    char *comment, *absent, *site, *method, *value_string, *interp_text;
    char *range_text, *range_line, *range_units;
    bool interp_mapped;
    cse_time comment_date; /* effectiveDateTime, or the period's start */
    cse_time filed;        /* the same, for "Filing Date" */
    char *related;         /* its members' filing comments, each after a new line */
    unsigned labels;
    bool found;
} pobs;

static void pobs_free(pobs *p)
{
    if (p == NULL)
        return;
    free(p->key);
    cse_entry_free(p->e);
    free(p->specimen);
    for (size_t i = 0; i < p->n_members; i++)
        free(p->members[i]);
    free(p->members);
    free(p->comment);
    free(p->absent);
    free(p->site);
    free(p->method);
    free(p->value_string);
    free(p->interp_text);
    free(p->range_text);
    free(p->range_line);
    free(p->range_units);
    free(p->related);
    free(p);
}

static char *dup0(const char *s)
{
    return s ? strdup(s) : NULL;
}

static bool path_interp_code(const jv *o)
{
    static const char *const codes[] = {"H", "HH", "HU", "L", "LL", "LU", "A", "AA"};
    const jv *in = jv_get(o, "interpretation"), *k;
    size_t i;
    if (jv_is_array(in))
        in = jv_at(in, 0);
    jv_foreach(jv_get(in, "coding"), i, k)
    {
        const char *sys = jstr(k, "system"), *code = jstr(k, "code");
        if (sys == NULL || code == NULL ||
            (strcmp(sys, "http://hl7.org/fhir/v2/0078") != 0 &&
             strcmp(
                 sys,
                 "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation") !=
                 0))
            continue;
        for (size_t j = 0; j < sizeof(codes) / sizeof(codes[0]); j++)
            if (strcmp(code, codes[j]) == 0)
                return true;
    }
    return false;
}

/* "Low: 10 mmol/L" for a range end. */
static void path_range_end(ptext *t, const char *label, const jv *q)
{
    char *num = number_text(jv_get(q, "value"));
    const char *unit = jstr(q, "unit");
    if (q == NULL)
        return;
    pt_add(t, label, num ? num : "");
    if (num && unit)
        pt_add(t, " ", unit);
    else if (unit)
        pt_add(t, unit, NULL);
    pt_add(t, " ", NULL);
    free(num);
}

/* Reads the Observation at key; NULL with r->err set on failure, or a pobs
 * with found false when it is not in the input. */
static pobs *path_obs(reader *r, const char *key, cse_code *rc)
{
    const res *x = path_find(r, key);
    pobs *p = calloc(1, sizeof(*p));
    const jv *o, *v, *rr;
    size_t i;

    *rc = CSE_OK;
    if (p == NULL || (p->key = strdup(key)) == NULL) {
        pobs_free(p);
        *rc = nomem(r);
        return NULL;
    }
    if (x == NULL)
        return p;
    if ((o = fetch(r, x)) == NULL) {
        pobs_free(p);
        *rc = r->err ? r->err->code : CSE_ERR_INTERNAL;
        return NULL;
    }
    if (jstr(o, "resourceType") == NULL || strcmp(jstr(o, "resourceType"), "Observation"))
        return p;
    p->found = true;
    /* The adaptor knows its own placeholder by its id. */
    p->dummy = strstr(key, "DUMMY-OBSERVATION-") != NULL;
    if ((p->e = cse_entry_new(CSE_ENTRY_OBSERVATION, key)) == NULL)
        goto nomem;
    p->e->source_line = x->line;
    if (read_concept(jv_get(o, "code"), &p->e->code) != CSE_OK ||
        observation_typed(p->e, o) != CSE_OK ||
        set_author(r, p->e, author_ref_of(o, "Observation")) != CSE_OK)
        goto nomem;
    if ((*rc = entry_times(r, x, o, "Observation", p->e)) != CSE_OK)
        goto fail;
    p->labels = p->e->labels = labels_of(o);
    p->has_code = p->e->code.n > 0 || p->e->code.text;
    p->filing = comment_note(&p->e->code);
    p->specimen = jv_get(o, "specimen") ? ref_key(r, jv_get(o, "specimen")) : NULL;
    PATH_FOREACH_MEMBER(o, i, v, {
        char *k = ref_key(r, ref_);
        char **nm;
        if (k && p->n_members < PATH_MAX_MEMBERS &&
            (nm = realloc(p->members, (p->n_members + 1) * sizeof(*nm))) != NULL) {
            p->members = nm;
            p->members[p->n_members++] = k;
        } else if (k) {
            free(k);
            if (p->n_members < PATH_MAX_MEMBERS)
                goto nomem;
            /* Named, so not written on its own: reported, never dropped quietly. */
            if ((*rc = count_loss(r, "Observation.related",
                                  "members of a laboratory result beyond 256",
                                  x->line)) != CSE_OK)
                goto fail;
        }
    });
    /* The comment: STU3 comment, R4 notes. */
    if (jstr(o, "comment")) {
        p->comment = strdup(jstr(o, "comment"));
    } else {
        ptext t = {0};
        jv_foreach(jv_get(o, "note"), i, v) if (jstr(v, "text"))
            pt_add(&t, t.n ? "\n" : "", jstr(v, "text"));
        p->comment = t.s;
    }
    p->absent = dup0(path_concept_text(jv_get(o, "dataAbsentReason"), false));
    p->site = dup0(path_concept_text(jv_get(o, "bodySite"), false));
    p->method = dup0(path_concept_text(jv_get(o, "method"), false));
    p->value_string = dup0(jstr(o, "valueString"));
    {
        static const char *const lost[] = {"component", "device", "valueAttachment",
                                           "valueSampledData", NULL};
        if ((*rc = path_unmapped(r, x, o, "Observation", lost)) != CSE_OK)
            goto fail;
    }
    p->value_quantity = jv_get(o, "valueQuantity") != NULL;
    p->interp_mapped = path_interp_code(o);
    {
        const jv *in = jv_get(o, "interpretation");
        if (jv_is_array(in))
            in = jv_at(in, 0);
        p->interp_text = dup0(path_concept_text(in, true));
    }
    rr = jv_at(jv_get(o, "referenceRange"), 0);
    if (rr) {
        const jv *unit_q = jv_get(rr, "high");
        const char *vu = jstr(jv_get(o, "valueQuantity"), "unit");
        p->range_text = dup0(jstr(rr, "text"));
        if (!(unit_q && jstr(unit_q, "unit")))
            unit_q = jv_get(rr, "low");
        if (p->value_quantity && unit_q && jstr(unit_q, "unit") && vu &&
            strcmp(vu, jstr(unit_q, "unit")) != 0)
            p->range_units = strdup(jstr(unit_q, "unit"));
        if (!p->value_quantity) {
            ptext t = {0};
            pt_add(&t, "Range: ", NULL);
            path_range_end(&t, "Low: ", jv_get(rr, "low"));
            path_range_end(&t, "High: ", jv_get(rr, "high"));
            while (t.n && t.s[t.n - 1] == ' ')
                t.s[--t.n] = '\0';
            p->range_line = t.s;
        }
    }
    if (p->e->effective_center.precision)
        p->comment_date = p->e->effective_center;
    else
        p->comment_date = p->e->effective_low;
    p->filed = p->comment_date;
    /* What the statement itself carries: a structured value (no string),
     * its reference ranges (the adaptor writes only the first: a laboratory
     * that gives ranges by age or sex loses the others), an HL7
     * interpretation. */
    free(p->e->value);
    p->e->value = NULL;
    if (p->e->val.kind == CSE_VALUE_TEXT)
        cse_value_clear(&p->e->val);
    if (!p->interp_mapped)
        cse_concept_clear(&p->e->interpretation);
    if (!p->value_quantity || p->e->val.kind != CSE_VALUE_QUANTITY) {
        for (size_t j = 0; j < p->e->n_ref_ranges; j++)
            cse_range_clear(&p->e->ref_ranges[j]);
        p->e->n_ref_ranges = 0;
    }
    if (p->e->n_ref_ranges) {
        /* The first range's text travels in the comment, as the adaptor
         * writes it; a further range keeps its own. */
        free(p->e->ref_ranges[0].text);
        p->e->ref_ranges[0].text = NULL;
    }
    return p;
nomem:
    *rc = nomem(r);
fail:
    pobs_free(p);
    return NULL;
}

/* ---- Building the entries --------------------------------------------------- */

typedef struct pbuild {
    reader *r;
    cse__ptrvec out; /* cse_entry*, in delivery order */
    const char *report_id;
    cse_time issued;
    size_t seq; /* for derived ids */
    cse_code rc;
} pbuild;

static cse_entry *pb_new(pbuild *b, cse_entry_kind kind, const char *id,
                         const char *parent)
{
    cse_entry *e;
    char derived[512];
    if (b->rc != CSE_OK)
        return NULL;
    if (id == NULL) {
        snprintf(derived, sizeof(derived), "%s#%zu", b->report_id, ++b->seq);
        id = derived;
    }
    if ((e = cse_entry_new(kind, id)) == NULL ||
        cse_strset(&e->parent_id, parent) != CSE_OK ||
        cse_strset(&e->path.report_id, b->report_id) != CSE_OK ||
        cse__ptrvec_push(&b->out, e) != CSE_OK) {
        cse_entry_free(e);
        b->rc = nomem(b->r);
        return NULL;
    }
    return e;
}

/* A PMIP comment: "CommentType:..\nCommentDate:..\n\ntext". */
static cse_entry *pb_comment(pbuild *b, const char *parent, const char *id,
                             const char *type, const char *date, const char *text,
                             const cse_time *avail, unsigned labels)
{
    cse_entry *e = pb_new(b, CSE_ENTRY_NARRATIVE, id, parent);
    ptext t = {0};
    if (e == NULL)
        return NULL;
    pt_add(&t, "CommentType:", type);
    if (date)
        pt_add(&t, "\nCommentDate:", date);
    pt_add(&t, "\n\n", text);
    if (t.failed || cse_concept_set_text(&e->code, t.s) != CSE_OK ||
        cse_strset(&e->path.comment_type, type) != CSE_OK)
        b->rc = nomem(b->r);
    free(t.s);
    e->path.role = CSE_PATH_COMMENT;
    e->availability = *avail;
    e->labels = labels;
    return e;
}

/* The comments of one Observation (prepareNarrativeStatements); first_id is
 * given to the first one written. Returns how many. */
static size_t pb_obs_comments(pbuild *b, const pobs *p, const char *parent,
                              const char **first_id)
{
    char date[32];
    const char *d = p->dummy ? "UNK" : path_hl7(&p->comment_date, date);
    const cse_time *av = &p->e->availability;
    size_t n = 0;
    ptext it = {0};
    char *buf = NULL;

#define ONE(type, text)                                                                  \
    do {                                                                                 \
        pb_comment(b, parent, *first_id, type, d, text, av, p->labels);                  \
        *first_id = NULL;                                                                \
        n++;                                                                             \
    } while (0)
    if (p->dummy) {
        ONE(CT_ACS, p->comment);
        return n;
    }
    if (p->absent && asprintf(&buf, "Data Absent: %s", p->absent) >= 0) {
        ONE(CT_ACS, buf);
        free(buf);
    }
    if (!p->interp_mapped && p->interp_text)
        pt_add(&it, "Interpretation: ", p->interp_text);
    if (p->comment)
        pt_add(&it, "\n", p->comment);
    if (p->value_string)
        pt_add(&it, "\nValue: ", p->value_string);
    if (p->range_text)
        pt_add(&it, "\nRange Text: ", p->range_text);
    if (p->site && asprintf(&buf, "Site: %s", p->site) >= 0) {
        ONE(CT_ACS, buf);
        free(buf);
    }
    if (p->method && asprintf(&buf, "Method: %s", p->method) >= 0) {
        ONE(CT_ACS, buf);
        free(buf);
    }
    if (p->range_units)
        pt_add(&it, "\nRange Units: ", p->range_units);
    else if (p->range_line)
        pt_add(&it, "\n", p->range_line);
    if (it.failed)
        b->rc = nomem(b->r);
    else if (it.s) {
        /* Trimmed, as the adaptor trims it. */
        char *s = it.s, *end = it.s + it.n;
        while (*s && isspace((unsigned char)*s))
            s++;
        while (end > s && isspace((unsigned char)end[-1]))
            *--end = '\0';
        if (*s)
            ONE(p->filing ? CT_USER : CT_ACS, s);
    }
#undef ONE
    free(it.s);
    return n;
}

/* The ObservationStatement of an Observation (a copy of its entry). */
static cse_entry *pb_statement(pbuild *b, const pobs *p, const char *parent,
                               const char *id)
{
    cse_entry *e;
    if (b->rc != CSE_OK)
        return NULL;
    if ((e = cse_entry_dup(p->e)) == NULL || cse_strset(&e->id, id) != CSE_OK ||
        cse_strset(&e->parent_id, parent) != CSE_OK ||
        cse_strset(&e->path.report_id, b->report_id) != CSE_OK ||
        cse__ptrvec_push(&b->out, e) != CSE_OK) {
        cse_entry_free(e);
        b->rc = nomem(b->r);
        return NULL;
    }
    e->path.role = CSE_PATH_RESULT;
    return e;
}

static cse_entry *pb_compound(pbuild *b, const pobs *p, const char *parent,
                              const char *id, bool battery)
{
    cse_entry *e = pb_new(b, CSE_ENTRY_COMPOUND, id, parent);
    if (e == NULL)
        return NULL;
    if (cse_strset(&e->compound_class, battery ? "battery" : "cluster") != CSE_OK ||
        cse_concept_copy(&e->code, &p->e->code) != CSE_OK) {
        b->rc = nomem(b->r);
        return NULL;
    }
    e->path.role = battery ? CSE_PATH_BATTERY : CSE_PATH_CLUSTER;
    e->effective_low = p->e->effective_low;
    e->effective_high = p->e->effective_high;
    e->effective_center = p->e->effective_center;
    e->availability = p->e->availability;
    e->labels = p->labels;
    return e;
}

/* One result under a specimen (ObservationMapper.mapObservationToCompoundStatement).
 * members are the has-member Observations read. Returns whether anything
 * was written. */
static bool pb_result(pbuild *b, const pobs *p, pobs **members, size_t n_members,
                      const char *parent)
{
    size_t before = b->out.n;
    const char *first = p->key;
    bool statement = p->has_code && !p->filing;
    char sid[600];
    /* Would it have comments (willHaveNarrativeStatements)? */
    bool comments = p->dummy || p->absent || p->site || p->method || p->comment ||
                    p->value_string || p->range_text || p->range_units || p->range_line ||
                    (!p->interp_mapped && p->interp_text);

    size_t n_found = 0;
    for (size_t i = 0; i < n_members; i++)
        n_found += members[i]->found;
    if (n_found == 0 && (p->dummy || !comments)) {
        if (statement) {
            pb_statement(b, p, parent, first);
            first = NULL;
        }
        pb_obs_comments(b, p, parent, &first);
        return b->out.n > before;
    }
    {
        bool battery = false;
        for (size_t i = 0; i < n_members; i++)
            battery = battery || (members[i]->has_code && !members[i]->filing);
        if (pb_compound(b, p, parent, p->key, battery) == NULL)
            return false;
        first = NULL;
        if (statement && !battery) {
            snprintf(sid, sizeof(sid), "%s#statement", p->key);
            pb_statement(b, p, p->key, sid);
        }
        pb_obs_comments(b, p, p->key, &first);
        for (size_t i = 0; i < n_members; i++) {
            const pobs *m = members[i];
            bool mstat = m->has_code && !m->filing;
            bool mcomm = m->absent || m->site || m->method || m->comment ||
                         m->value_string || m->range_text || m->range_units ||
                         m->range_line || (!m->interp_mapped && m->interp_text);
            const char *mfirst = m->key;
            const char *mparent = p->key;
            if (!m->found)
                continue;
            if (mstat && (mcomm || m->related)) {
                /* Its statement and comments in a cluster of their own. */
                snprintf(sid, sizeof(sid), "%s#cluster", m->key);
                if (pb_compound(b, m, p->key, sid, false) == NULL)
                    return false;
                mparent = sid;
            }
            if (mstat) {
                pb_statement(b, m, mparent, mfirst);
                mfirst = NULL;
            }
            if (mcomm)
                pb_obs_comments(b, m, mparent, &mfirst);
            if (m->related) {
                char date[32];
                pb_comment(b, mparent, mfirst, CT_USER, path_hl7(&m->comment_date, date),
                           m->related, &m->e->availability, m->labels);
                mfirst = NULL;
            }
        }
    }
    return b->out.n > before;
}

/* ---- The report ------------------------------------------------------------- */

typedef struct pspec {
    char *key; /* specimen key (dummy: derived) */
    bool dummy, found;
    char *accession, *type_text;
    cse_time effective, received;
    char *fasting, *quantity, *site, *collector;
    char **notes;
    size_t n_notes;
    unsigned labels;
} pspec;

static void pspec_clear(pspec *s)
{
    free(s->key);
    free(s->accession);
    free(s->type_text);
    free(s->fasting);
    free(s->quantity);
    free(s->site);
    free(s->collector);
    for (size_t i = 0; i < s->n_notes; i++)
        free(s->notes[i]);
    free(s->notes);
    memset(s, 0, sizeof(*s));
}

/* "Quantity: 28 tablet", skipping what is absent. */
static char *path_labelled_quantity(const char *label, const jv *q)
{
    char *num = number_text(jv_get(q, "value")), *out = NULL;
    const char *unit = jstr(q, "unit");
    if (asprintf(&out, "%s%s%s%s%s", label, num ? " " : "", num ? num : "",
                 unit ? " " : "", unit ? unit : "") < 0)
        out = NULL;
    free(num);
    return out;
}

static cse_code path_specimen(reader *r, const char *key, pspec *s)
{
    const res *x = path_find(r, key);
    const jv *o, *col, *v;
    size_t i;
    cse_code rc = CSE_OK;

    if ((s->key = strdup(key)) == NULL)
        return nomem(r);
    if (x == NULL)
        return CSE_OK;
    if ((o = fetch(r, x)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    if (jstr(o, "resourceType") == NULL || strcmp(jstr(o, "resourceType"), "Specimen"))
        return CSE_OK;
    s->found = true;
    s->labels = labels_of(o);
    {
        static const char *const lost[] = {"container", "processing", "parent", NULL};
        if ((rc = path_unmapped(r, x, o, "Specimen", lost)) != CSE_OK)
            return rc;
    }
    s->accession = dup0(jstr(jv_get(o, "accessionIdentifier"), "value"));
    if (jv_get(o, "type"))
        s->type_text = dup0(path_concept_text(jv_get(o, "type"), false));
    col = jv_get(o, "collection");
    if ((rc = read_time(r, x, col, "collectedDateTime", "collection.collectedDateTime",
                        &s->effective)) != CSE_OK)
        return rc;
    if (s->effective.precision == CSE_TIME_NONE &&
        (rc = read_time(r, x, jv_get(col, "collectedPeriod"), "start",
                        "collection.collectedPeriod.start", &s->effective)) != CSE_OK)
        return rc;
    if ((rc = read_time(r, x, o, "receivedTime", "receivedTime", &s->received)) != CSE_OK)
        return rc;
    if (s->effective.precision == CSE_TIME_NONE)
        s->effective = s->received;
    if (col) {
        const jv *fe = extension(col, "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                                      "Extension-CareConnect-FastingStatus-1");
        const jv *cc = fe ? jv_get(fe, "valueCodeableConcept")
                          : jv_get(col, "fastingStatusCodeableConcept");
        const jv *dur =
            fe ? jv_get(fe, "valueDuration") : jv_get(col, "fastingStatusDuration");
        if (cc && path_concept_text(cc, false) &&
            asprintf(&s->fasting, "Fasting Status: %s", path_concept_text(cc, false)) < 0)
            s->fasting = NULL;
        else if (!cc && dur)
            s->fasting = path_labelled_quantity("Fasting Duration:", dur);
        if (jv_get(col, "quantity"))
            s->quantity = path_labelled_quantity("Quantity:", jv_get(col, "quantity"));
        if (jv_get(col, "bodySite") &&
            path_concept_text(jv_get(col, "bodySite"), false) &&
            asprintf(&s->site, "Collection Site: %s",
                     path_concept_text(jv_get(col, "bodySite"), false)) < 0)
            s->site = NULL;
        if (jv_get(col, "collector")) {
            char *ck = ref_key(r, jv_get(col, "collector"));
            const cse_agent *a = find_agent(r, ck);
            free(ck);
            if (a && a->kind == CSE_AGENT_PERSON && (a->family || a->given || a->name)) {
                ptext t = {0};
                if (a->family || a->given) {
                    const char *parts[3] = {a->prefix, a->given, a->family};
                    for (int j = 0; j < 3; j++)
                        if (parts[j] && *parts[j])
                            pt_add(&t, t.n ? " " : "", parts[j]);
                } else {
                    pt_add(&t, a->name, NULL);
                }
                if (t.s && asprintf(&s->collector, "Collected By: %s", t.s) < 0)
                    s->collector = NULL;
                free(t.s);
            }
        }
    }
    jv_foreach(jv_get(o, "note"), i, v)
    {
        char **nn;
        if (jstr(v, "text") == NULL ||
            (nn = realloc(s->notes, (s->n_notes + 1) * sizeof(*nn))) == NULL)
            continue;
        s->notes = nn;
        if ((s->notes[s->n_notes] = strdup(jstr(v, "text"))) != NULL)
            s->n_notes++;
    }
    return CSE_OK;
}

/* The specimen's comment (SpecimenMapper's SpecimenNarrativeStatementCommentBuilder). */
static char *path_specimen_text(const pspec *s, bool no_results)
{
    ptext t = {0};
    char buf[32];
    pt_add(&t, "", NULL);
    if (no_results)
        pt_add(&t, "\n", "EMPTY SPECIMEN");
    if (s->received.precision) {
        char *line = NULL;
        if (asprintf(&line, "Received Date: %s",
                     path_text_time(&s->received, buf, true)) >= 0)
            pt_prepend(&t, line);
        free(line);
    }
    if (s->fasting)
        pt_prepend(&t, s->fasting);
    if (s->quantity)
        pt_prepend(&t, s->quantity);
    if (s->site)
        pt_prepend(&t, s->site);
    if (s->collector)
        pt_add(&t, "\n", s->collector);
    for (size_t i = 0; i < s->n_notes; i++)
        pt_prepend(&t, s->notes[i]);
    if (t.failed) {
        free(t.s);
        return NULL;
    }
    if (t.s && blank(t.s, t.n)) {
        free(t.s);
        return strdup("");
    }
    return t.s;
}

/* The report's own data, read before its parts are fetched. */
typedef struct preport {
    char *key, *enc, *accession, *status, *conclusion, *diagnosis, *participants;
    char *author;
    cse_time issued;
    unsigned labels;
    char **results, **specimens;
    size_t n_results, n_specimens;
    int line;
} preport;

static void preport_clear(preport *p)
{
    free(p->key);
    free(p->enc);
    free(p->accession);
    free(p->status);
    free(p->conclusion);
    free(p->diagnosis);
    free(p->participants);
    free(p->author);
    for (size_t i = 0; i < p->n_results; i++)
        free(p->results[i]);
    free(p->results);
    for (size_t i = 0; i < p->n_specimens; i++)
        free(p->specimens[i]);
    free(p->specimens);
}

/* Appends a key (taken): CSE_OK, CSE_ERR_LIMIT past PATH_MAX_RESULTS, or
 * CSE_ERR_NOMEM. A reference with no key is skipped. */
static cse_code push_key(char ***v, size_t *n, char *k)
{
    char **nv;
    if (k == NULL)
        return CSE_OK;
    if (*n >= PATH_MAX_RESULTS) {
        free(k);
        return CSE_ERR_LIMIT;
    }
    if ((nv = realloc(*v, (*n + 1) * sizeof(*nv))) == NULL) {
        free(k);
        return CSE_ERR_NOMEM;
    }
    *v = nv;
    (*v)[(*n)++] = k;
    return CSE_OK;
}

static cse_code path_read_report(reader *r, const res *x, const jv *o, preport *p)
{
    const jv *v;
    size_t i;
    ptext diag = {0}, names = {0};
    cse_code rc;

    p->line = x->line;
    if ((p->key = strdup(x->key)) == NULL ||
        (x->enc && (p->enc = strdup(x->enc)) == NULL))
        return nomem(r);
    if ((rc = read_time(r, x, o, "issued", "issued", &p->issued)) != CSE_OK)
        return rc;
    p->labels = labels_of(o);
    jv_foreach(jv_get(o, "identifier"), i, v)
    {
        const char *sys = jstr(v, "system");
        if (p->accession == NULL && sys && jstr(v, "value") &&
            (strcmp(sys, "2.16.840.1.113883.2.1.4.5.5") == 0 ||
             strcmp(sys, "urn:oid:2.16.840.1.113883.2.1.4.5.5") == 0))
            p->accession = strdup(jstr(v, "value"));
    }
    p->status = dup0(jstr(o, "status"));
    {
        static const char *const lost[] = {"presentedForm", "imagingStudy", "image",
                                           NULL};
        if ((rc = path_unmapped(r, x, o, "DiagnosticReport", lost)) != CSE_OK)
            return rc;
    }
    p->conclusion = dup0(jstr(o, "conclusion"));
    jv_foreach(jv_get(o, "codedDiagnosis"), i, v)
    {
        const char *t = path_concept_text(v, false);
        if (t)
            pt_add(&diag, diag.n ? ", " : "", t);
    }
    jv_foreach(jv_get(o, "conclusionCode"), i, v)
    {
        const char *t = path_concept_text(v, false);
        if (t)
            pt_add(&diag, diag.n ? ", " : "", t);
    }
    p->diagnosis = diag.s;
    jv_foreach(jv_get(o, "performer"), i, v)
    {
        /* STU3 performer[].actor, R4 performer[] */
        const jv *ref = jv_get(v, "actor")       ? jv_get(v, "actor")
                        : jv_get(v, "reference") ? v
                                                 : NULL;
        char *owned = NULL;
        const char *k = ref ? agent_key(r, ref, &owned) : NULL;
        const cse_agent *a = find_agent(r, k);
        if (i == 0 && k && p->author == NULL)
            p->author = strdup(k);
        if (a) {
            ptext t = {0};
            if (a->kind == CSE_AGENT_PERSON && (a->family || a->given)) {
                const char *parts[3] = {a->prefix, a->given, a->family};
                for (int j = 0; j < 3; j++)
                    if (parts[j] && *parts[j])
                        pt_add(&t, t.n ? " " : "", parts[j]);
            } else if (a->name) {
                pt_add(&t, a->name, NULL);
            }
            pt_add(&names, names.n ? ", " : "", t.s ? t.s : "");
            free(t.s);
        } else {
            pt_add(&names, names.n ? ", " : "", "");
        }
        free(owned);
    }
    if (jv_at(jv_get(o, "performer"), 0) && (names.s || (names.s = strdup(""))))
        p->participants = names.s;
    else
        free(names.s);
    if (diag.failed || names.failed)
        return nomem(r);
    for (int list = 0; list < 2; list++) {
        jv_foreach(jv_get(o, list ? "specimen" : "result"), i, v)
        {
            rc = list ? push_key(&p->specimens, &p->n_specimens, ref_key(r, v))
                      : push_key(&p->results, &p->n_results, ref_key(r, v));
            /* Named, so not written on their own: reported, not dropped. */
            if (rc == CSE_ERR_LIMIT)
                rc = count_loss(
                    r, list ? "DiagnosticReport.specimen" : "DiagnosticReport.result",
                    "beyond 4096 in one laboratory report", x->line);
            else if (rc == CSE_ERR_NOMEM)
                return nomem(r);
            if (rc != CSE_OK)
                return rc;
        }
    }
    return CSE_OK;
}

static cse_code path_deliver(reader *r, cse_entry *e)
{
    cse_entry_info info = {0};
    cse_marker *m = NULL;
    cse_code rc;

    if (e->kind != CSE_ENTRY_COMPOUND && e->kind != CSE_ENTRY_NARRATIVE) {
        info.cls = cse_concept_classify(&e->code, &info.reason);
        if (info.cls == CSE_CLASS_MARKER) {
            if ((m = cse_marker_from_entry(e, NULL, NULL)) != NULL)
                info.marker = m;
            else
                info.cls = CSE_CLASS_CANDIDATE, info.reason = CSE_CANDIDATE_DAMAGED;
        }
    }
    rc = deliver(r, e, &info);
    cse_marker_free(m);
    return rc;
}

/* Emits a DiagnosticReport and everything it names. */
static cse_code path_report(reader *r, const res *x, const jv *o)
{
    preport rep = {0};
    pbuild b = {0};
    pobs **obs = NULL, **mem = NULL;
    size_t n_obs = 0, n_mem = 0, *mstart = NULL;
    pspec *specs = NULL;
    size_t n_specs = 0;
    bool need_dummy;
    char date[32], buf[64];
    cse_code rc;
    cse_entry *e;

    if ((rc = path_read_report(r, x, o, &rep)) != CSE_OK)
        goto out;
    b.r = r;
    b.report_id = rep.key;
    b.issued = rep.issued;
    /* The results in the input, in order, and their members. */
    if ((obs = calloc(rep.n_results + 1, sizeof(*obs))) == NULL) {
        rc = nomem(r);
        goto out;
    }
    for (size_t i = 0; i < rep.n_results; i++) {
        pobs *p = path_obs(r, rep.results[i], &rc);
        if (p == NULL)
            goto out;
        if (!p->found) {
            pobs_free(p);
            continue;
        }
        obs[n_obs++] = p;
    }
    if ((mstart = calloc(n_obs + 1, sizeof(*mstart))) == NULL) {
        rc = nomem(r);
        goto out;
    }
    for (size_t i = 0; i < n_obs; i++) {
        mstart[i] = n_mem;
        for (size_t j = 0; j < obs[i]->n_members; j++) {
            pobs **nm = realloc(mem, (n_mem + 1) * sizeof(*nm)), *p;
            if (nm == NULL) {
                rc = nomem(r);
                goto out;
            }
            mem = nm;
            if ((p = path_obs(r, obs[i]->members[j], &rc)) == NULL)
                goto out;
            mem[n_mem++] = p;
            /* A member's own filing comments travel with it. */
            for (size_t k = 0; p->found && k < p->n_members; k++) {
                pobs *c = path_obs(r, p->members[k], &rc);
                if (c == NULL)
                    goto out;
                if (c->found && c->filing && c->comment) {
                    ptext t = {0};
                    pt_add(&t, p->related ? p->related : "", "\n");
                    pt_add(&t, c->comment, NULL);
                    free(p->related);
                    p->related = t.s;
                }
                pobs_free(c);
            }
        }
    }
    /* Specimens: a "NOT PRESENT" one first when a result has none (or names
     * one the report does not have: it is not dropped). */
    if ((specs = calloc(rep.n_specimens + 1, sizeof(*specs))) == NULL) {
        rc = nomem(r);
        goto out;
    }
    n_specs = 1; /* specs[0]: the "NOT PRESENT" specimen, when needed */
    for (size_t i = 0; i < rep.n_specimens; i++) {
        pspec *s = &specs[n_specs];
        if ((rc = path_specimen(r, rep.specimens[i], s)) != CSE_OK) {
            pspec_clear(s); /* not yet counted in n_specs */
            goto out;
        }
        if (!s->found) {
            pspec_clear(s);
            continue;
        }
        n_specs++;
    }
    need_dummy = rep.n_specimens == 0;
    for (size_t i = 0; i < n_obs; i++) {
        bool known = false;
        for (size_t j = 1; obs[i]->specimen && j < n_specs && !known; j++)
            known = strcmp(obs[i]->specimen, specs[j].key) == 0;
        if (!obs[i]->filing && !known) {
            need_dummy = true;
            free(obs[i]->specimen);
            obs[i]->specimen = NULL;
        }
    }
    if (need_dummy) {
        pspec *s = &specs[0];
        s->dummy = s->found = true;
        if (asprintf(&s->key, "NOT-PRESENT-SPECIMEN-%s", rep.key) < 0 ||
            (s->accession = strdup("NOT PRESENT")) == NULL ||
            (s->type_text = strdup("UNKNOWN")) == NULL) {
            rc = nomem(r);
            goto out;
        }
        s->effective = rep.issued;
        for (size_t i = 0; i < n_obs; i++)
            if (!obs[i]->filing && obs[i]->specimen == NULL &&
                (obs[i]->specimen = strdup(s->key)) == NULL) {
                rc = nomem(r);
                goto out;
            }
    }

    /* The report: in the topic or category that names it (as the adaptor's
     * EncounterComponentsMapper writes a listed DiagnosticReport), else in
     * its Encounter. */
    if ((e = pb_new(&b, CSE_ENTRY_COMPOUND, rep.key, r->parent ? r->parent : rep.enc)) ==
        NULL)
        goto built;
    e->source_line = rep.line;
    e->path.role = CSE_PATH_REPORT;
    e->availability = rep.issued;
    e->path.issued = rep.issued;
    e->labels = rep.labels;
    if (cse_strset(&e->compound_class, "cluster") != CSE_OK ||
        cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, PMIP_REPORT_CODE,
                        "laboratory reporting") != CSE_OK ||
        cse_concept_set_text(&e->code, "Filed Report") != CSE_OK ||
        cse_strset(&e->path.accession, rep.accession) != CSE_OK ||
        cse_strset(&e->author_ref, rep.author) != CSE_OK)
        b.rc = nomem(r);
    {
        const char *d = path_hl7(&rep.issued, date);
        char *t = NULL;
        size_t before = b.out.n;
        if (rep.conclusion && asprintf(&t, "Interpretation: %s", rep.conclusion) >= 0)
            pb_comment(&b, rep.key, NULL, CT_LRC, d, t, &rep.issued, 0);
        free(t), t = NULL;
        if (rep.diagnosis && *rep.diagnosis &&
            asprintf(&t, "Lab Diagnosis: %s", rep.diagnosis) >= 0)
            pb_comment(&b, rep.key, NULL, CT_LRC, d, t, &rep.issued, 0);
        free(t), t = NULL;
        if (rep.status && asprintf(&t, "Status: %s", rep.status) >= 0)
            pb_comment(&b, rep.key, NULL, CT_LRC, d, t, &rep.issued, 0);
        free(t), t = NULL;
        if (b.out.n == before && rep.n_results == 0)
            pb_comment(&b, rep.key, NULL, CT_ACS, d, "EMPTY REPORT", &rep.issued, 0);
        for (size_t i = 0; i < n_obs; i++) {
            if (obs[i]->filing && obs[i]->filed.precision) {
                snprintf(buf, sizeof(buf), "Filing Date: ");
                path_text_time(&obs[i]->filed, buf + 13, false);
                pb_comment(&b, rep.key, NULL, CT_ACS, d, buf, &rep.issued,
                           obs[i]->labels);
                break;
            }
        }
        if (rep.participants && asprintf(&t, "Participants: %s", rep.participants) >= 0)
            pb_comment(&b, rep.key, NULL, CT_ACS, d, t, &rep.issued, 0);
        free(t), t = NULL;
        for (size_t i = 0; i < n_obs; i++)
            if (obs[i]->filing && obs[i]->has_code && obs[i]->comment)
                pb_comment(&b, rep.key, NULL, CT_USER, d, obs[i]->comment, &rep.issued,
                           obs[i]->labels);
    }
    /* Each specimen with its results. */
    for (size_t si = 0; si < n_specs && b.rc == CSE_OK; si++) {
        pspec *s = &specs[si];
        if (!s->found)
            continue; /* no "NOT PRESENT" specimen needed */
        size_t at, n_res = 0;
        char *text;
        pobs dummy = {0};
        e = pb_new(&b, CSE_ENTRY_COMPOUND, s->key, rep.key);
        if (e == NULL)
            break;
        e->path.role = CSE_PATH_SPECIMEN;
        e->availability = rep.issued;
        e->labels = s->labels;
        e->path.collected = s->effective;
        e->path.received = s->received;
        if (cse_strset(&e->compound_class, "cluster") != CSE_OK ||
            cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, PMIP_SPECIMEN_CODE,
                            "specimen (specimen)") != CSE_OK ||
            cse_strset(&e->path.accession, s->accession) != CSE_OK ||
            cse_strset(&e->path.specimen_id, s->key) != CSE_OK ||
            cse_concept_set_text(&e->path.specimen_type,
                                 s->type_text ? s->type_text : "") != CSE_OK)
            b.rc = nomem(r);
        /* The comment goes first: hold its place until the results are known. */
        at = b.out.n;
        if (pb_comment(&b, s->key, NULL, CT_LSC, NULL, "", &rep.issued, s->labels) ==
            NULL)
            break;
        for (size_t i = 0; i < n_obs; i++) {
            pobs *p = obs[i];
            if (p->specimen == NULL || strcmp(p->specimen, s->key) != 0)
                continue;
            n_res += pb_result(&b, p, mem ? mem + mstart[i] : NULL, p->n_members, s->key);
        }
        /* A placeholder specimen (the adaptor's, by its id) gets none. */
        if (!s->dummy && n_res == 0 && strstr(s->key, "NOT-PRESENT-SPECIMEN-") == NULL) {
            /* No result names it: an "EMPTY REPORT" comment, as for EMIS. */
            dummy.dummy = true;
            dummy.key = NULL;
            dummy.comment = "EMPTY REPORT";
            dummy.e = NULL;
            {
                char *dk = NULL;
                cse_entry *de = cse_entry_new(CSE_ENTRY_OBSERVATION, NULL);
                if (de == NULL || asprintf(&dk, "DUMMY-OBSERVATION-%s", s->key) < 0) {
                    cse_entry_free(de);
                    b.rc = nomem(r);
                    break;
                }
                dummy.key = dk;
                dummy.e = de;
                n_res += pb_result(&b, &dummy, NULL, 0, s->key);
                free(dk);
                cse_entry_free(de);
            }
        }
        /* Now the specimen's comment text. */
        if (b.rc == CSE_OK) {
            cse_entry *c = b.out.items[at];
            char ebuf[32];
            text = path_specimen_text(s, n_res == 0);
            if (text == NULL) {
                b.rc = nomem(r);
            } else if (*text == '\0') {
                /* Nothing to say: the placeholder goes. */
                cse_entry_free(c);
                memmove(&b.out.items[at], &b.out.items[at + 1],
                        (b.out.n - at - 1) * sizeof(b.out.items[0]));
                b.out.n--;
            } else {
                ptext t = {0};
                pt_add(&t, "CommentType:", CT_LSC);
                if (s->effective.precision)
                    pt_add(&t, "\nCommentDate:", path_hl7(&s->effective, ebuf));
                pt_add(&t, "\n\n", text);
                if (t.failed || cse_concept_set_text(&c->code, t.s) != CSE_OK)
                    b.rc = nomem(r);
                free(t.s);
            }
            free(text);
        }
    }
built:
    for (size_t i = 0; i < b.out.n; i++) {
        cse_entry *d = b.out.items[i];
        if (rc == CSE_OK && b.rc == CSE_OK)
            rc = path_deliver(r, d);
        cse_entry_free(d);
    }
    if (rc == CSE_OK)
        rc = b.rc;
    free(b.out.items);
out:
    for (size_t i = 0; obs && i < n_obs; i++)
        pobs_free(obs[i]);
    free(obs);
    for (size_t i = 0; i < n_mem; i++)
        pobs_free(mem[i]);
    free(mem);
    free(mstart);
    for (size_t i = 0; specs && i < n_specs; i++)
        pspec_clear(&specs[i]);
    free(specs);
    preport_clear(&rep);
    return rc;
}

/* An Observation or Specimen seen on its own: skipped when a report
 * delivers it; a Specimen no report names is reported as lost. */
static cse_code path_single(reader *r, const res *x, const char *type, bool *done)
{
    *done = false;
    if (path_taken(r, x->key)) {
        *done = true;
        return CSE_OK;
    }
    if (strcmp(type, "Specimen") == 0) {
        *done = true;
        return count_loss(r, "Specimen", "not named by any DiagnosticReport", x->line);
    }
    return CSE_OK;
}
