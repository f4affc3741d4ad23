/* SPDX-License-Identifier: MIT */
/* The streaming GP2GP reader: walks an RCMR_IN030000UK06/UK07 message or a
 * bare EhrExtract with a pull reader over SAX2 (gp2gp_xml.h), expanding one
 * statement at a time into a small tree, and
 * pushes what it finds into a cse_sink (see gp2gp.h for the contract). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gp2gp_read.h"

static const char *const statement_names[] = {
    "ObservationStatement", "NarrativeStatement", "LinkSet",
    "PlanStatement",        "RequestStatement",   "MedicationStatement",
};

/* ---- Errors and paths -------------------------------------------------- */

int cse__gp2gp_line(const cse__xnode *n)
{
    return n && n->line > 0 ? n->line : 0;
}

/* The node the reader is on, and its parts. */
static const cse__xnode *node(const cse__doc *d)
{
    static const cse__xnode none = {0};
    const cse__xnode *n = cse__xr_node(d->r);
    return n ? n : &none;
}

static int node_type(const cse__doc *d)
{
    return node(d)->type;
}

static int node_depth(const cse__doc *d)
{
    return cse__xr_node(d->r) ? node(d)->depth : -1;
}

static const char *node_name(const cse__doc *d)
{
    return node(d)->name ? node(d)->name : "";
}

static bool node_empty(const cse__doc *d)
{
    return node(d)->empty;
}

static int current_line(cse__doc *d)
{
    int l = cse__gp2gp_line(cse__xr_node(d->r));
    return l ? l : cse__xr_parser_line(d->r);
}

/* The path of the element at depth (0 = root), plus an optional suffix. */
void cse__gp2gp_path(const cse__doc *d, int depth, const char *suffix, char *buf,
                     size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; i <= depth && i <= CSE_GP2GP_MAX_DEPTH_DEFAULT; i++) {
        int n;
        if (d->names[i] == NULL)
            break;
        n = snprintf(buf + used, size - used, "/%s", (const char *)d->names[i]);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
    if (suffix && *suffix && used < size)
        snprintf(buf + used, size - used, "%s", suffix);
}

/* The depth of the element the reader is in (for a text node, its parent). */
static int element_depth(cse__doc *d)
{
    int depth = node_depth(d);
    int type = node_type(d);

    if (type != XML_READER_TYPE_ELEMENT && type != XML_READER_TYPE_END_ELEMENT)
        depth--;
    return depth < 0 ? 0 : depth;
}

cse_code cse__gp2gp_fail(cse__doc *d, cse_code code, int line, const char *suffix,
                         const char *fmt, ...)
{
    char path[512], msg[512];
    va_list ap;

    cse__gp2gp_path(d, element_depth(d), suffix, path, sizeof(path));
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return cse__error_set(d->g->err, code, line ? line : current_line(d), d->source, path,
                          "%s", msg);
}

void cse__gp2gp_loss(cse__doc *d, const char *what, const char *why, int line)
{
    cse__gp2gp *g = d->g;

    for (size_t i = 0; i < g->n_losses; i++)
        if (g->losses[i].why == why && strcmp(g->losses[i].what, what) == 0) {
            g->losses[i].count++;
            return;
        }
    if (g->n_losses == CSE__MAX_LOSSES) {
        g->other_losses++;
        return;
    }
    snprintf(g->losses[g->n_losses].what, sizeof(g->losses[0].what), "%s", what);
    g->losses[g->n_losses].why = why;
    g->losses[g->n_losses].count = 1;
    g->losses[g->n_losses].first_line = line;
    g->n_losses++;
}

/* libxml2 reports here (the parser's errors, and those of its I/O and
 * encoding layers); the first error wins. cse__xml_describe() keeps record
 * text out of the message. */
static void on_xml_error(void *arg, cse__xml_error_ptr e)
{
    cse__doc *d = arg;

    if (e == NULL || e->level < XML_ERR_ERROR || d->xerr)
        return;
    d->xerr = e->code ? e->code : -1;
    d->xerr_line = e->line;
    d->xerr_code =
        cse__xml_describe(e, cse__xr_error_flags(d->r), d->xerr_msg, sizeof(d->xerr_msg));
}

static cse_code xml_fail(cse__doc *d)
{
    const char *why;
    cse_code c;

    if (d->g->err && d->g->err->code != CSE_OK)
        return d->g->err->code;
    if (d->xerr)
        return cse__gp2gp_fail(d, d->xerr_code, d->xerr_line, NULL, "%s", d->xerr_msg);
    /* The file, not a place in its XML, is at fault. */
    if ((c = cse__xr_input_error(d->r, &why)) != CSE_OK)
        return cse__error_set(d->g->err, c, 0, d->source, NULL, "%s", why);
    return cse__gp2gp_fail(d, CSE_ERR_PARSE, 0, NULL,
                           "not well-formed XML: the input ends early or cannot be read");
}

/* ---- Moving through the document --------------------------------------- */

static cse_code check_attrs(cse__doc *d, const cse__xnode *n)
{
    if (n == NULL || n->attr_max <= d->g->max_attr)
        return CSE_OK;
    for (int i = 0; i < n->n_attrs; i++) {
        size_t len = n->attrs[i].len;
        if (len > d->g->max_attr)
            return cse__gp2gp_fail(d, CSE_ERR_LIMIT, cse__gp2gp_line(n), NULL,
                                   "attribute '%s' is %zu bytes, over the limit of %zu",
                                   n->attrs[i].name, len, d->g->max_attr);
    }
    return CSE_OK;
}

/* Reads the next node and checks it against the caps. Returns 1 for a node,
 * 0 at the end, -1 after an error was recorded. */
static int next(cse__doc *d)
{
    int rc = cse__xr_read(d->r);
    int type, depth;

    if (rc < 0 || d->xerr) {
        xml_fail(d);
        return -1;
    }
    if (rc == 0)
        return 0;
    type = node_type(d);
    depth = node_depth(d);
    switch (type) {
    case XML_READER_TYPE_ELEMENT:
        if (depth < 0 || (size_t)depth >= d->g->max_depth) {
            cse__gp2gp_fail(d, CSE_ERR_LIMIT, 0, NULL,
                            "elements nest deeper than the limit of %zu",
                            d->g->max_depth);
            return -1;
        }
        d->names[depth] = BAD_CAST node_name(d);
        d->names[depth + 1] = NULL;
        if (check_attrs(d, node(d)) != CSE_OK)
            return -1;
        break;
    case XML_READER_TYPE_TEXT:
    case XML_READER_TYPE_CDATA:
    case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
    case XML_READER_TYPE_WHITESPACE: {
        size_t len = node(d)->len;
        if (len > d->g->max_text) {
            cse__gp2gp_fail(d, CSE_ERR_LIMIT, 0, NULL,
                            "a text node of %zu bytes is over the limit of %zu", len,
                            d->g->max_text);
            return -1;
        }
        break;
    }
    case XML_READER_TYPE_DOCUMENT_TYPE:
        cse__gp2gp_fail(d, CSE_ERR_PARSE, 0, NULL,
                        "a DOCTYPE declaration is not allowed in a GP2GP message "
                        "(entities are never expanded or fetched)");
        return -1;
    case XML_READER_TYPE_ENTITY_REFERENCE:
    case XML_READER_TYPE_ENTITY:
        cse__gp2gp_fail(d, CSE_ERR_PARSE, 0, NULL,
                        "entity references are not allowed in a GP2GP message");
        return -1;
    default: break;
    }
    return 1;
}

static bool at_end_of(cse__doc *d, int depth)
{
    return node_type(d) == XML_READER_TYPE_END_ELEMENT && node_depth(d) == depth;
}

static bool is_child(cse__doc *d, int depth)
{
    return node_type(d) == XML_READER_TYPE_ELEMENT && node_depth(d) == depth + 1;
}

static bool hl7_element(cse__doc *d, const char *name)
{
    const char *n = node_name(d);
    return node(d)->hl7 && n[0] == name[0] && strcmp(n, name) == 0;
}

/* Consumes the element the reader is on, checking everything inside. */
static cse_code skip(cse__doc *d)
{
    int depth = node_depth(d), rc;

    if (node_empty(d))
        return CSE_OK;
    while ((rc = next(d)) == 1)
        if (at_end_of(d, depth))
            return CSE_OK;
    return rc < 0 ? d->g->err->code : xml_fail(d);
}

static cse_code check_subtree(cse__doc *d, const cse__xnode *n, int depth)
{
    cse_code rc;

    if (depth < 0 || (size_t)depth >= d->g->max_depth)
        return cse__gp2gp_fail(d, CSE_ERR_LIMIT, cse__gp2gp_line(n), NULL,
                               "elements nest deeper than the limit of %zu",
                               d->g->max_depth);
    if ((rc = check_attrs(d, n)) != CSE_OK)
        return rc;
    for (const cse__xnode *c = n->children; c; c = c->next) {
        if (c->type == XML_READER_TYPE_ELEMENT) {
            if ((rc = check_subtree(d, c, depth + 1)) != CSE_OK)
                return rc;
        } else if (c->type == XML_READER_TYPE_TEXT || c->type == XML_READER_TYPE_CDATA) {
            size_t len = c->len;
            if (len > d->g->max_text)
                return cse__gp2gp_fail(
                    d, CSE_ERR_LIMIT, cse__gp2gp_line(n), NULL,
                    "a text node of %zu bytes is over the limit of %zu", len,
                    d->g->max_text);
        } else if (c->type == XML_READER_TYPE_ENTITY_REFERENCE) {
            return cse__gp2gp_fail(d, CSE_ERR_PARSE, cse__gp2gp_line(n), NULL,
                                   "entity references are not allowed in a GP2GP "
                                   "message");
        }
    }
    return CSE_OK;
}

/* Builds the subtree of the element the reader is on (one statement, agent
 * or header part: never a whole composition) and checks it. */
static cse_code expand(cse__doc *d, const cse__xnode **out)
{
    int depth = node_depth(d);
    const cse__xnode *n =
        cse__xr_expand(d->r, depth > 0 ? (const char *)d->names[depth - 1] : NULL);

    if (n == NULL || d->xerr)
        return xml_fail(d);
    *out = n;
    return check_subtree(d, n, depth);
}

/* Moves past an expanded element: expand() read it to its end, and its nodes
 * were checked there. */
static cse_code skip_expanded(cse__doc *d)
{
    return d->xerr ? xml_fail(d) : CSE_OK;
}

static const char *current_attr(cse__doc *d, const char *name)
{
    return cse__hl7_attr(cse__xr_node(d->r), name);
}

/* ---- The sink ---------------------------------------------------------- */

static void free_header(cse__doc *d)
{
    free(d->message_id);
    free(d->extract_id);
    free(d->folder_id);
    free(d->author_ods);
    free(d->dest_ods);
    free(d->patient.nhs_number);
    free(d->patient.local_id_root);
    free(d->patient.local_id);
    free(d->patient.ods);
}

/* path: the missing element's path (cse__error_set truncates it to fit). */
static cse_code missing(cse__doc *d, const char *path)
{
    return cse__error_set(d->g->err, CSE_ERR_STRUCTURE, d->extract_line, d->source, path,
                          "a mandatory part of the extract is missing");
}

static cse_code begin(cse__doc *d)
{
    cse__gp2gp *g = d->g;
    cse_extract_info info = {0};
    char p[640];
    cse_code rc;

    if (g->begun)
        return CSE_OK;
    if (d->message) {
        const char *what = !d->has_id       ? "/id"
                           : !d->has_status ? "/statusCode"
                           : !d->has_avail  ? "/availabilityTime"
                           : !d->has_target ? "/recordTarget/patient/id"
                           : !d->has_author ? "/author"
                           : !d->has_dest   ? "/destination"
                                            : NULL;
        if (what) {
            snprintf(p, sizeof(p), "%s%s", d->extract_path, what);
            return missing(d, p);
        }
    }
    info.hl7_version = d->hl7_version;
    info.message_id = d->message_id;
    info.extract_id = d->extract_id;
    info.folder_id = d->folder_id;
    info.patient = &d->patient;
    info.author_ods = d->author_ods;
    info.destination_ods = d->dest_ods;
    info.availability = d->availability;
    info.source = d->source;
    g->begun = true;
    if ((rc = g->sink->begin(g->sink, &info, g->err)) != CSE_OK)
        return cse__error_set(g->err, rc, 0, d->source, NULL,
                              "the output refused the record");
    return CSE_OK;
}

static const cse__agent_note *find_agent(const cse__gp2gp *g, const char *id)
{
    for (size_t i = 0; id && i < g->n_agents; i++)
        if (strcmp(g->agents[i].id, id) == 0)
            return &g->agents[i];
    return NULL;
}

cse_code cse__gp2gp_note_agent(cse__doc *d, const cse_agent *a, bool *seen)
{
    cse__gp2gp *g = d->g;
    cse__agent_note *n;

    *seen = a->id == NULL || find_agent(g, a->id) != NULL;
    if (*seen)
        return CSE_OK;
    if (g->n_agents == CSE__MAX_AGENTS)
        return cse__gp2gp_fail(d, CSE_ERR_LIMIT, 0, NULL,
                               "more than %d agents in the agentDirectory",
                               CSE__MAX_AGENTS);
    if (g->n_agents == g->cap_agents) {
        size_t cap = g->cap_agents ? g->cap_agents * 2 : 32;
        cse__agent_note *na = realloc(g->agents, cap * sizeof(*na));
        if (na == NULL)
            return cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        g->agents = na;
        g->cap_agents = cap;
    }
    n = &g->agents[g->n_agents];
    n->id = cse__strdup(a->id);
    n->ods = cse__strdup(a->ods);
    n->name = cse__strdup(a->name);
    if (n->id == NULL || (a->ods && !n->ods) || (a->name && !n->name)) {
        free(n->id);
        free(n->ods);
        free(n->name);
        return cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    g->n_agents++;
    return CSE_OK;
}

static cse_code deliver_agent(cse__doc *d, const cse__xnode *n)
{
    cse__gp2gp *g = d->g;
    cse_agent *a = cse__gp2gp_agent(n);
    bool seen;
    cse_code rc;

    if (a == NULL)
        return cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if (a->id == NULL) {
        cse_agent_free(a);
        return cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, cse__gp2gp_line(n), "/id",
                               "an agentDirectory Agent has no id");
    }
    /* A person's organisation, when an organisation agent with its ODS code
     * came before it. */
    if (a->kind == CSE_AGENT_PERSON && a->ods && a->org_id == NULL) {
        for (size_t i = 0; i < g->n_agents; i++)
            if (g->agents[i].ods && strcmp(g->agents[i].ods, a->ods) == 0 &&
                strcmp(g->agents[i].id, a->id) != 0) {
                if (cse_strset(&a->org_id, g->agents[i].id) != CSE_OK) {
                    cse_agent_free(a);
                    return cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL,
                                          "out of memory");
                }
                break;
            }
    }
    if ((rc = cse__gp2gp_note_agent(d, a, &seen)) == CSE_OK && !seen &&
        (rc = begin(d)) == CSE_OK) {
        rc = g->sink->agent(g->sink, a, g->err);
        if (rc != CSE_OK)
            cse__error_set(g->err, rc, 0, d->source, NULL, "the output refused an agent");
    }
    cse_agent_free(a);
    return rc;
}

/* A statement or compound the sender gave no id (or a null-flavoured one)
 * gets one derived from where it stands (the extract, its container, its
 * line, its kind), so that converting the same extract twice gives the same
 * ids and its components still name it. */
static cse_code own_id(cse__doc *d, cse_entry *e)
{
    char name[512], id[37];
    if (e->id)
        return CSE_OK;
    snprintf(name, sizeof(name), "%s|%s|%d|%s", d->extract_id ? d->extract_id : "",
             e->parent_id ? e->parent_id : "", e->source_line,
             cse_entry_kind_name(e->kind));
    if (cse_uuid_derive("csemarker gp2gp read: no id", name, id) != CSE_OK ||
        cse_strset(&e->id, id) != CSE_OK)
        return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return CSE_OK;
}

cse_code cse__gp2gp_emit(cse__doc *d, cse_entry *e)
{
    cse__gp2gp *g = d->g;
    cse_entry_info info = {0};
    cse_marker *m = NULL;
    cse_error merr = {0};
    cse_code rc;

    if ((rc = begin(d)) != CSE_OK || (rc = own_id(d, e)) != CSE_OK)
        goto out;
    info.cls = cse_concept_classify(&e->code, &info.reason);
    if (info.cls == CSE_CLASS_MARKER) {
        m = cse_marker_from_entry(e, NULL, &merr);
        if (m == NULL && merr.code == CSE_ERR_NOMEM) {
            rc = cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
            goto out;
        }
        if (m == NULL) {
            info.cls = CSE_CLASS_CANDIDATE;
            info.reason = CSE_CANDIDATE_DAMAGED;
        } else {
            const cse__agent_note *a = find_agent(g, e->author_ref);
            if (a && (cse_strset(&m->org_ods, a->ods) != CSE_OK ||
                      cse_strset(&m->author_name, a->name) != CSE_OK)) {
                rc =
                    cse__error_set(g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
                goto out;
            }
            info.marker = m;
        }
    }
    if ((rc = g->sink->entry(g->sink, e, &info, g->err)) != CSE_OK) {
        cse__error_set(g->err, rc, e->source_line, d->source, NULL,
                       "the output refused an entry");
        goto out;
    }
    g->entries++;
    g->markers += info.cls == CSE_CLASS_MARKER;
    g->candidates += info.cls == CSE_CLASS_CANDIDATE;
out:
    cse_marker_free(m);
    cse__entry_recycle(&g->spare, e);
    return rc;
}

/* ---- Compositions, compounds and statements ---------------------------- */

static bool is_statement(const char *name)
{
    for (size_t i = 0; i < sizeof(statement_names) / sizeof(statement_names[0]); i++)
        if (strcmp(name, statement_names[i]) == 0)
            return true;
    return false;
}

static bool allergy_code(const cse_concept *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->codings[i].system && strcmp(c->codings[i].system, CSE_SYSTEM_READ2) == 0 &&
            (strcmp(c->codings[i].code, "14L..00") == 0 ||
             strcmp(c->codings[i].code, "SN53.00") == 0))
            return true;
    return false;
}

static bool nondrug_code(const cse_concept *c)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->codings[i].code, "SN53.00") == 0)
            return true;
    return false;
}

/* Where a CompoundStatement stands in a laboratory report, as the national
 * requesting adaptor reads one: coded 16488004 it is the report, coded
 * 123038009 inside a report a specimen, and inside a specimen a BATTERY is a
 * test group and anything else a cluster. f (this compound's frame for its
 * components) gets the report and specimen its components are in. */
static cse_code path_roles(cse_entry *e, const cse__frame *up, cse__frame *f)
{
    bool report = false, specimen = false;

    for (size_t i = 0; i < e->code.n; i++) {
        report = report || strcmp(e->code.codings[i].code, "16488004") == 0;
        specimen = specimen || strcmp(e->code.codings[i].code, "123038009") == 0;
    }
    f->report_id = up ? up->report_id : NULL;
    f->specimen_id = up ? up->specimen_id : NULL;
    if (report && f->id) {
        e->path.role = CSE_PATH_REPORT;
        f->report_id = f->id;
    } else if (f->report_id == NULL) {
        return CSE_OK;
    } else if (specimen && f->id) {
        e->path.role = CSE_PATH_SPECIMEN;
        f->specimen_id = f->id;
    } else {
        e->path.role = e->compound_class && strcmp(e->compound_class, "battery") == 0
                           ? CSE_PATH_BATTERY
                           : CSE_PATH_CLUSTER;
    }
    f->path_role = e->path.role;
    if (cse_strset(&e->path.report_id, f->report_id) != CSE_OK ||
        cse_strset(&e->path.specimen_id, up ? up->specimen_id : NULL) != CSE_OK)
        return CSE_ERR_NOMEM;
    return CSE_OK;
}

static cse_code walk_container(cse__doc *d, const cse__frame *up, bool composition);

/* One element inside a component of frame f (or a fragment's root read in
 * place of a skeleton statement). */
static cse_code dispatch(cse__doc *d, const cse__frame *f)
{
    const char *name = node_name(d);
    const char *ns = node(d)->uri;
    int line = current_line(d);
    char what[160];
    cse_code rc;

    if (!node(d)->hl7) {
        snprintf(what, sizeof(what), "%s/component/{%s}%s", f ? f->elem : "",
                 ns ? "other namespace" : "no namespace", name);
        cse__gp2gp_loss(d, what, "element outside the HL7 namespace", line);
        return skip(d);
    }
    if (is_statement(name)) {
        const cse__xnode *n;
        char *skeleton = NULL;
        if ((rc = expand(d, &n)) != CSE_OK)
            return rc;
        rc = cse__gp2gp_statement(d, n, f, &skeleton);
        if (rc == CSE_OK && skeleton)
            rc = cse__gp2gp_fragment(d, skeleton, line, f);
        free(skeleton);
        return rc != CSE_OK ? rc : skip_expanded(d);
    }
    if (strcmp(name, "CompoundStatement") == 0)
        return walk_container(d, f, false);
    snprintf(what, sizeof(what), "%s/component/%s", f ? f->elem : "", name);
    cse__gp2gp_loss(d, what,
                    strcmp(name, "EhrEmpty") == 0
                        ? "placeholder for a deleted entry (nothing to map)"
                        : "statement type not mapped",
                    line);
    return skip(d);
}

static cse_code walk_component(cse__doc *d, const cse__frame *f)
{
    int depth = node_depth(d), rc;
    cse_code c;

    if (node_empty(d))
        return CSE_OK;
    while ((rc = next(d)) == 1) {
        if (at_end_of(d, depth))
            return CSE_OK;
        if (!is_child(d, depth))
            continue;
        /* A component's own attributes (UK07 Component02) are not statements. */
        c = hl7_element(d, "sequenceNumber") || hl7_element(d, "seperatableInd")
                ? skip(d)
                : dispatch(d, f);
        if (c != CSE_OK)
            return c;
    }
    return rc < 0 ? d->g->err->code : xml_fail(d);
}

/* An ehrComposition or CompoundStatement: its own parts are read one by one
 * until the first component, when it is delivered; its components are then
 * walked without ever holding the whole container. */
static cse_code walk_container(cse__doc *d, const cse__frame *up, bool composition)
{
    int depth = node_depth(d), rc = 0;
    cse_entry *e = cse__entry_take(&d->g->spare, composition ? CSE_ENTRY_ENCOUNTER
                                                             : CSE_ENTRY_COMPOUND);
    cse__frame f = {up,   NULL,  composition ? "ehrComposition" : "CompoundStatement",
                    0,    false, false,
                    NULL, NULL,  CSE_PATH_NONE};
    char *id = NULL;
    bool emitted = false;
    cse_code c = CSE_OK;

    if (e == NULL)
        return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    e->source_line = current_line(d);
    e->inherited_labels = up ? up->inherited : 0;
    if (up && up->id && cse_strset(&e->parent_id, up->id) != CSE_OK)
        goto nomem;
    if (!composition) {
        const char *cls = current_attr(d, "classCode");
        const char *known = NULL;
        if (cls && strcmp(cls, "TOPIC") == 0)
            known = "topic";
        else if (cls && strcmp(cls, "CATEGORY") == 0)
            known = "category";
        else if (cls && strcmp(cls, "BATTERY") == 0)
            known = "battery";
        else if (cls && strcmp(cls, "CLUSTER") == 0)
            known = "cluster";
        if (known && cse_strset(&e->compound_class, known) != CSE_OK)
            goto nomem;
        if (!known) {
            char what[160];
            snprintf(what, sizeof(what), "%s/component/CompoundStatement/@classCode",
                     up ? up->elem : "");
            cse__gp2gp_loss(d, what, "unknown compound class (delivered without a class)",
                            e->source_line);
        }
    } else {
        d->compositions++;
    }
    if (node_empty(d))
        return cse__gp2gp_emit(d, e);
    while ((rc = next(d)) == 1) {
        const char *name;
        if (at_end_of(d, depth))
            break;
        if (!is_child(d, depth))
            continue;
        name = node_name(d);
        if (hl7_element(d, "component")) {
            if (!emitted) {
                f.inherited = e->inherited_labels | e->labels;
                f.allergy = !composition && allergy_code(&e->code);
                f.nondrug = f.allergy && nondrug_code(&e->code);
                if (own_id(d, e) != CSE_OK || (id = strdup(e->id)) == NULL)
                    goto nomem;
                f.id = id;
                if (!composition && path_roles(e, up, &f) != CSE_OK)
                    goto nomem;
                emitted = true;
                c = cse__gp2gp_emit(d, e);
                e = NULL;
                if (c != CSE_OK)
                    goto out;
            }
            if ((c = walk_component(d, &f)) != CSE_OK)
                goto out;
        } else if (!emitted && strcmp(name, "component") != 0) {
            const cse__xnode *n;
            if ((c = expand(d, &n)) != CSE_OK ||
                (c = cse__gp2gp_apply_child(d, e, n)) != CSE_OK ||
                (c = skip_expanded(d)) != CSE_OK)
                goto out;
        } else if ((c = skip(d)) != CSE_OK) {
            goto out;
        }
    }
    if (rc < 0) {
        c = d->g->err->code;
        goto out;
    }
    if (rc == 0) {
        c = xml_fail(d);
        goto out;
    }
    if (!emitted) {
        c = cse__gp2gp_emit(d, e);
        e = NULL;
    }
out:
    cse_entry_free(e);
    free(id);
    return c;
nomem:
    cse_entry_free(e);
    free(id);
    return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

/* ---- The extract around the record ------------------------------------- */

static cse_code set_str(cse__doc *d, char **field, const char *value)
{
    if (cse_strset(field, value) != CSE_OK)
        return cse__error_set(d->g->err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return CSE_OK;
}

static const char *ods_of(const cse__xnode *n)
{
    /* author|destination / AgentOrgSDS / agentOrganizationSDS / id */
    const cse__xnode *org =
        cse__hl7_child(cse__hl7_child(n, "AgentOrgSDS"), "agentOrganizationSDS");
    for (const cse__xnode *c = org ? org->children : NULL; c; c = c->next) {
        const char *root = cse__hl7_is(c, "id") ? cse__hl7_attr(c, "root") : NULL;
        if (root && strcmp(root, CSE_OID_ODS) == 0)
            return cse__hl7_attr(c, "extension");
    }
    return NULL;
}

/* True when author|destination names its organisation with a null-flavoured
 * id. */
static bool null_id(const cse__xnode *n)
{
    const cse__xnode *org =
        cse__hl7_child(cse__hl7_child(n, "AgentOrgSDS"), "agentOrganizationSDS");
    for (const cse__xnode *c = org ? org->children : NULL; c; c = c->next)
        if (cse__hl7_is(c, "id") && cse__hl7_attr(c, "nullFlavor"))
            return true;
    return false;
}

static cse_code read_patient(cse__doc *d, const cse__xnode *n)
{
    const cse__xnode *id = cse__hl7_child(cse__hl7_child(n, "patient"), "id");
    const char *root = cse__hl7_attr(id, "root");
    const char *ext = cse__hl7_attr(id, "extension");
    char nhs[11];

    if (id == NULL || root == NULL)
        return cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, cse__gp2gp_line(n), "/patient/id",
                               "recordTarget has no patient/id with a root");
    if (strcmp(root, CSE_OID_NHS_NUMBER) == 0) {
        if (cse_nhs_number_canonical(ext, nhs) != CSE_OK && !d->message) {
            /* A bare EhrExtract is a fragment or a test document (the national
             * adaptors' carry template placeholders here): reported, not
             * fatal. */
            cse__gp2gp_loss(d, "EhrExtract/recordTarget/patient/id/@extension",
                            "not a valid NHS number (the patient is left unidentified)",
                            cse__gp2gp_line(id));
            return CSE_OK;
        }
        if (ext == NULL)
            return cse__gp2gp_fail(d, CSE_ERR_NHS_NUMBER, cse__gp2gp_line(id),
                                   "/patient/id/@extension",
                                   "the patient has no NHS number (the id is "
                                   "null-flavoured): a GP2GP extract must name one");
        if (cse_nhs_number_canonical(ext, nhs) != CSE_OK)
            return cse__gp2gp_fail(d, CSE_ERR_NHS_NUMBER, cse__gp2gp_line(id),
                                   "/patient/id/@extension",
                                   "the patient's NHS number is not 10 digits or fails "
                                   "its check digit");
        return set_str(d, &d->patient.nhs_number, nhs);
    }
    if (set_str(d, &d->patient.local_id_root, root) != CSE_OK)
        return CSE_ERR_NOMEM;
    return set_str(d, &d->patient.local_id, ext);
}

static bool differ(const char *a, const char *b)
{
    return (a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0);
}

/* A fragment's recordTarget must name the skeleton's patient: a fragment of
 * another record is refused, naming both places and neither patient. */
static cse_code same_patient(cse__doc *d, int line)
{
    const cse_patient *s = d->g->patient, *f = &d->patient;

    if (s == NULL || (f->nhs_number == NULL && f->local_id == NULL))
        return CSE_OK; /* nothing to compare (an unidentified fragment is reported) */
    if (s->nhs_number == NULL && s->local_id == NULL)
        return CSE_OK;
    if (!differ(s->nhs_number, f->nhs_number) && !differ(s->local_id, f->local_id) &&
        !differ(s->local_id_root, f->local_id_root))
        return CSE_OK;
    return cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, line, "/patient/id",
                           "the fragment's patient is not the patient of the extract it "
                           "belongs to (%s, line %d, recordTarget/patient/id): a "
                           "fragment of another record is refused",
                           d->g->patient_source ? d->g->patient_source : "the skeleton",
                           d->g->patient_line);
}

static cse_code walk_directory(cse__doc *d)
{
    int depth = node_depth(d), rc;
    cse_code c;

    if (node_empty(d))
        return CSE_OK;
    while ((rc = next(d)) == 1) {
        const cse__xnode *n;
        if (at_end_of(d, depth))
            return CSE_OK;
        if (node_type(d) != XML_READER_TYPE_ELEMENT || !hl7_element(d, "Agent"))
            continue;
        if ((c = expand(d, &n)) != CSE_OK || (c = deliver_agent(d, n)) != CSE_OK ||
            (c = skip_expanded(d)) != CSE_OK)
            return c;
    }
    return rc < 0 ? d->g->err->code : xml_fail(d);
}

static cse_code walk_folder(cse__doc *d)
{
    int depth = node_depth(d), rc;
    cse_code c = CSE_OK;

    d->has_folder = true;
    if (node_empty(d))
        return CSE_OK;
    while ((rc = next(d)) == 1) {
        if (at_end_of(d, depth))
            return CSE_OK;
        if (!is_child(d, depth))
            continue;
        if (hl7_element(d, "id")) {
            if (!d->fragment && d->folder_id == NULL)
                c = set_str(d, &d->folder_id, current_attr(d, "root"));
        } else if (hl7_element(d, "responsibleParty")) {
            c = walk_directory(d);
        } else if (hl7_element(d, "component")) {
            int cdepth = node_depth(d);
            if (node_empty(d))
                continue;
            while (c == CSE_OK && (rc = next(d)) == 1 && !at_end_of(d, cdepth)) {
                if (!is_child(d, cdepth))
                    continue;
                if (hl7_element(d, "ehrComposition")) {
                    c = walk_container(d, NULL, true);
                } else {
                    char what[160];
                    snprintf(what, sizeof(what), "ehrFolder/component/%s", node_name(d));
                    cse__gp2gp_loss(d, what, "folder part not mapped", current_line(d));
                    c = skip(d);
                }
            }
            if (rc != 1)
                break;
        } else {
            c = skip(d);
        }
        if (c != CSE_OK)
            return c;
    }
    return rc < 0 ? d->g->err->code : xml_fail(d);
}

static cse_code walk_extract(cse__doc *d)
{
    int depth = node_depth(d), rc = 1;
    cse_code c = CSE_OK;

    d->extract_line = current_line(d);
    if (!d->fragment)
        cse__gp2gp_path(d, depth, NULL, d->extract_path, sizeof(d->extract_path));
    if (!node_empty(d)) {
        while ((rc = next(d)) == 1) {
            const cse__xnode *n;
            if (at_end_of(d, depth))
                break;
            if (!is_child(d, depth))
                continue;
            if (d->fragment && hl7_element(d, "recordTarget")) {
                if ((c = expand(d, &n)) == CSE_OK && (c = read_patient(d, n)) == CSE_OK &&
                    (c = same_patient(d, cse__gp2gp_line(n))) == CSE_OK)
                    c = skip_expanded(d);
            } else if (d->fragment && !hl7_element(d, "component")) {
                c = skip(d);
            } else if (hl7_element(d, "id")) {
                d->has_id = current_attr(d, "root") != NULL;
                c = set_str(d, &d->extract_id, current_attr(d, "root"));
            } else if (hl7_element(d, "statusCode")) {
                d->has_status = true;
            } else if (hl7_element(d, "availabilityTime")) {
                const char *v = current_attr(d, "value");
                d->has_avail = v != NULL;
                if (v && cse_time_parse_hl7(v, &d->availability) != CSE_OK)
                    c = cse__gp2gp_fail(d, CSE_ERR_DATE, 0, "/@value",
                                        "the extract's availabilityTime is not a date");
            } else if (hl7_element(d, "recordTarget")) {
                d->has_target = true;
                if ((c = expand(d, &n)) == CSE_OK && (c = read_patient(d, n)) == CSE_OK) {
                    d->patient_line = cse__gp2gp_line(n);
                    if (d->g->patient == NULL) {
                        d->g->patient = &d->patient;
                        d->g->patient_source = d->source;
                        d->g->patient_line = d->patient_line;
                    }
                    c = skip_expanded(d);
                }
            } else if (hl7_element(d, "author") || hl7_element(d, "destination")) {
                bool author = hl7_element(d, "author");
                if ((c = expand(d, &n)) == CSE_OK) {
                    const char *ods = ods_of(n);
                    /* An id the sender marks unknown (nullFlavor="UNK", as
                     * the schema allows) is present, with no ODS code. */
                    bool there = ods != NULL || null_id(n);
                    if (author)
                        d->has_author = there;
                    else
                        d->has_dest = there;
                    if ((c = set_str(d, author ? &d->author_ods : &d->dest_ods, ods)) ==
                        CSE_OK)
                        c = skip_expanded(d);
                }
            } else if (hl7_element(d, "component")) {
                int cdepth = node_depth(d);
                if (node_empty(d))
                    continue;
                while (c == CSE_OK && (rc = next(d)) == 1 && !at_end_of(d, cdepth))
                    if (is_child(d, cdepth))
                        c = hl7_element(d, "ehrFolder") ? walk_folder(d) : skip(d);
                if (rc != 1)
                    break;
            } else if (hl7_element(d, "inFulfillmentOf")) {
                d->has_fulfil = true;
                c = skip(d);
            } else if (hl7_element(d, "limitation")) {
                d->has_limit = true;
                c = skip(d);
            } else {
                c = skip(d);
            }
            if (c != CSE_OK)
                return c;
        }
        if (rc < 0)
            return d->g->err->code;
        if (rc == 0)
            return xml_fail(d);
    }
    if (d->fragment)
        return CSE_OK;
    if ((c = begin(d)) != CSE_OK)
        return c;
    if (d->message) {
        char p[640];
        const char *what = !d->has_folder         ? "/component/ehrFolder"
                           : d->compositions == 0 ? "/component/ehrFolder/component/"
                                                    "ehrComposition"
                           : !d->has_fulfil       ? "/inFulfillmentOf"
                           : !d->has_limit        ? "/limitation"
                                                  : NULL;
        if (what) {
            snprintf(p, sizeof(p), "%s%s", d->extract_path, what);
            return missing(d, p);
        }
    }
    return CSE_OK;
}

/* The message wrapper: only ControlActEvent/subject/EhrExtract matters. */
static cse_code walk_message(cse__doc *d)
{
    int rc;
    cse_code c;
    bool found = false;

    while ((rc = next(d)) == 1) {
        if (node_type(d) != XML_READER_TYPE_ELEMENT)
            continue;
        if (node_depth(d) == 1 && hl7_element(d, "id") && !d->fragment &&
            d->message_id == NULL &&
            (c = set_str(d, &d->message_id, current_attr(d, "root"))) != CSE_OK)
            return c;
        if (node_depth(d) == 3 && hl7_element(d, "EhrExtract") && d->names[1] &&
            strcmp((const char *)d->names[1], "ControlActEvent") == 0 && d->names[2] &&
            strcmp((const char *)d->names[2], "subject") == 0) {
            if (found)
                return cse__gp2gp_fail(
                    d, CSE_ERR_STRUCTURE, 0, NULL,
                    "a message holds one EhrExtract, this one has more");
            found = true;
            if ((c = walk_extract(d)) != CSE_OK)
                return c;
        }
    }
    if (rc < 0)
        return d->g->err->code;
    if (!found)
        return cse__error_set(d->g->err, CSE_ERR_STRUCTURE, 0, d->source,
                              d->hl7_version == 7 ? "/RCMR_IN030000UK07/ControlActEvent/"
                                                    "subject/EhrExtract"
                                                  : "/RCMR_IN030000UK06/ControlActEvent/"
                                                    "subject/EhrExtract",
                              "the message carries no EhrExtract");
    return CSE_OK;
}

/* Reads one document: the extract itself (into == NULL) or a fragment read
 * in place of a skeleton statement inside frame into. */
cse_code cse__gp2gp_read_doc(cse__gp2gp *g, cse__xr *r, const char *source,
                             const cse__frame *into, cse_error *err)
{
    cse__doc *d = calloc(1, sizeof(*d));
    cse__xml_errors saved;
    const char *root, *ns;
    int rc;
    cse_code c = CSE_OK;

    if (d == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    d->g = g;
    d->r = r;
    d->source = source;
    d->fragment = g->nesting > 0;
    cse__xr_set_error_handler(r, on_xml_error, d);
    /* Nothing libxml2 says goes to stderr: what it reports without a parser
     * (I/O, encodings) comes here too. */
    cse__xml_errors_begin(&saved, on_xml_error, d);
    while ((rc = next(d)) == 1 && node_type(d) != XML_READER_TYPE_ELEMENT)
        ;
    if (rc != 1) {
        c = rc < 0 ? err->code
                   : cse__error_set(err, CSE_ERR_PARSE, 0, source, NULL,
                                    "empty document: no XML element found");
        goto out;
    }
    root = node_name(d);
    ns = node(d)->uri;
    if (ns == NULL && d->fragment) {
        /* Some senders write a fragment's attachment without the HL7
         * namespace; its element names are still the HL7 ones. */
        cse__xr_set_bare_hl7(d->r);
        cse__gp2gp_loss(d, "fragment root element in no namespace",
                        "read as HL7 v3 (urn:hl7-org:v3)", current_line(d));
    } else if (ns == NULL || strcmp(ns, CSE__HL7_NS) != 0) {
        c = cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, 0, NULL,
                            "the root element is not in the HL7 v3 namespace "
                            "urn:hl7-org:v3");
        goto out;
    }
    if (strcmp(root, "RCMR_IN030000UK06") == 0 ||
        strcmp(root, "RCMR_IN030000UK07") == 0) {
        d->message = !d->fragment;
        d->hl7_version = root[16] == '7' ? 7 : 6;
        c = walk_message(d);
    } else if (strcmp(root, "EhrExtract") == 0) {
        c = walk_extract(d);
    } else if (d->fragment && strcmp(root, "COPC_IN000001UK01") == 0) {
        c = cse__gp2gp_fail(d, CSE_ERR_UNSUPPORTED, 0, NULL,
                            "this fragment is a COPC_IN000001UK01 envelope, which only "
                            "names its attachment: save the attachment itself "
                            "(gzip, base64 or XML) in the fragments folder");
    } else if (d->fragment && strcmp(root, "ehrComposition") == 0) {
        c = walk_container(d, NULL, true);
    } else if (d->fragment &&
               (is_statement(root) || strcmp(root, "CompoundStatement") == 0)) {
        c = dispatch(d, into);
    } else {
        c = cse__gp2gp_fail(d, CSE_ERR_STRUCTURE, 0, NULL,
                            "expected RCMR_IN030000UK06, RCMR_IN030000UK07 or EhrExtract "
                            "as the root element");
    }
    if (c == CSE_OK && !d->fragment)
        c = cse__gp2gp_check_missing(d);
    /* Whatever follows must still be well-formed. */
    while (c == CSE_OK && (rc = next(d)) == 1)
        ;
    if (c == CSE_OK && rc < 0)
        c = err->code;
out:
    cse__xml_errors_end(&saved);
    free_header(d);
    free(d);
    return c;
}

/* ---- Entry points ------------------------------------------------------ */

static void setup(cse__gp2gp *g, const cse_gp2gp_read_options *opt, cse_sink *sink,
                  cse_error *err, cse_error *local)
{
    memset(g, 0, sizeof(*g));
    memset(local, 0, sizeof(*local));
    g->sink = sink;
    /* Internally there is always somewhere to put an error. */
    g->err = err ? err : local;
    g->max_depth = opt && opt->max_depth ? opt->max_depth : CSE_GP2GP_MAX_DEPTH_DEFAULT;
    if (g->max_depth > CSE_GP2GP_MAX_DEPTH_DEFAULT)
        g->max_depth = CSE_GP2GP_MAX_DEPTH_DEFAULT;
    g->max_text = opt && opt->max_text ? opt->max_text : CSE_GP2GP_MAX_TEXT_DEFAULT;
    g->max_attr = opt && opt->max_attr ? opt->max_attr : CSE_GP2GP_MAX_ATTR_DEFAULT;
    g->fragments_dir = opt ? opt->fragments_dir : NULL;
    g->lookup = opt ? opt->lookup : NULL;
}

static void teardown(cse__gp2gp *g)
{
    cse_entry_free(g->spare);
    g->spare = NULL;
    for (size_t i = 0; i < g->n_agents; i++) {
        free(g->agents[i].id);
        free(g->agents[i].ods);
        free(g->agents[i].name);
    }
    free(g->agents);
}

static cse_code finish(cse__gp2gp *g, cse__xr *r, const char *source)
{
    cse_loss_item items[CSE__MAX_LOSSES + 1];
    cse_summary sum = {0};
    cse_code c;

    c = cse__gp2gp_read_doc(g, r, source, NULL, g->err);
    cse__xr_free(r);
    if (c != CSE_OK)
        return c;
    for (size_t i = 0; i < g->n_losses; i++) {
        items[i].what = g->losses[i].what;
        items[i].why = g->losses[i].why;
        items[i].count = g->losses[i].count;
        items[i].first_line = g->losses[i].first_line;
    }
    sum.n_losses = g->n_losses;
    if (g->other_losses) {
        items[sum.n_losses].what = "(other elements)";
        items[sum.n_losses].why = "more kinds of unmapped element than the report lists";
        items[sum.n_losses].count = g->other_losses;
        items[sum.n_losses].first_line = 0;
        sum.n_losses++;
    }
    sum.entries = g->entries;
    sum.markers = g->markers;
    sum.candidates = g->candidates;
    sum.losses = items;
    if ((c = g->sink->end(g->sink, &sum, g->err)) != CSE_OK)
        cse__error_set(g->err, c, 0, source, NULL, "the output could not be finished");
    return c;
}

cse_code cse_gp2gp_read_file(const char *path, const cse_gp2gp_read_options *opt,
                             cse_sink *sink, cse_error *err)
{
    cse__gp2gp g;
    cse_error local;
    cse__xr *r;
    struct stat st;
    int fd;
    bool is_stdin;
    cse_code c;

    if (path == NULL || sink == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing path or sink");
    is_stdin = strcmp(path, "-") == 0;
    fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "cannot open: %s",
                              strerror(errno));
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        if (!is_stdin)
            close(fd);
        return cse__error_set(err, CSE_ERR_IO, 0, path, NULL, "is a directory");
    }
    setup(&g, opt, sink, err, &local);
    r = cse__xr_new_fd(fd, g.max_text);
    if (r == NULL) {
        if (!is_stdin)
            close(fd);
        return cse__error_set(err, CSE_ERR_NOMEM, 0, path, NULL,
                              "cannot start the XML reader");
    }
    c = finish(&g, r, path);
    teardown(&g);
    if (!is_stdin)
        close(fd);
    return c;
}

cse_code cse_gp2gp_read_memory(const char *buf, size_t len, const char *source_name,
                               const cse_gp2gp_read_options *opt, cse_sink *sink,
                               cse_error *err)
{
    cse__gp2gp g;
    cse_error local;
    cse__xr *r;
    const char *source = source_name ? source_name : "(memory)";
    cse_code c;

    if (buf == NULL || sink == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing buffer or sink");
    if (len > INT_MAX)
        return cse__error_set(err, CSE_ERR_LIMIT, 0, source, NULL,
                              "an in-memory extract is limited to 2 GB");
    setup(&g, opt, sink, err, &local);
    r = cse__xr_new_memory(buf, len, g.max_text);
    if (r == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, source, NULL,
                              "cannot start the XML reader");
    c = finish(&g, r, source);
    teardown(&g);
    return c;
}
