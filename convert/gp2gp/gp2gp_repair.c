/* SPDX-License-Identifier: MIT */
/* The repair pass for outgoing GP2GP extracts (DESIGN.md section 6).
 *
 * Two streaming passes over the same input. Pass 1 reads with SAX2 and notes, by document
 * order, which ObservationStatements are markers (and whether their code needs promoting)
 * and which ehrCompositions hold one, plus whether any confidentialityCode is (or will
 * be) present; candidates are reported here. Pass 2 reads again, with SAX2 too, and
 * copies every node to the output through a buffered serialiser that writes what
 * xmlTextWriter wrote (see "pass 2" below), making only the intended changes:
 *   - NOPAT inserted as the first child after the elements the
 *     RCMR_MT030101UK05 schema puts before confidentialityCode (id, code,
 *     statusCode, effectiveTime, availabilityTime, and priorityCode in a
 *     statement), or a different confidentialityCode replaced by NOPAT;
 *   - a promoted code: new code/codeSystem/displayName, the old primary code
 *     written as the first translation (after originalText and qualifiers);
 *   - RCMR_IN030000UK06 -> UK07 in the root element name, the interactionId
 *     extension and an xsi:schemaLocation on the root.
 * The two message schemas differ only in those names and in allowing
 * confidentialityCode (on ehrComposition, every statement type and
 * ExternalDocument), so nothing else needs changing.
 *
 * Memory: one name per open element (capped depth) plus one small note per
 * marker statement and per marker composition, and fixed read and write buffers.
 * Speed: SAX2 builds no tree nodes, names are compared as pointers into the
 * parser's dictionary, and output is escaped straight into the write buffer:
 * both passes together cost about as much as one xmlTextReader pass. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libxml/SAX2.h>
#include <libxml/parser.h>

#include <csemarker/repair.h>

#include "gp2gp_xml.h"
#include "internal.h"
#include "xml_out.h"

#define HL7_NS "urn:hl7-org:v3"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define NAME_UK06 "RCMR_IN030000UK06"
#define NAME_UK07 "RCMR_IN030000UK07"
#define NOPAT_DISPLAY                                                                    \
    "no disclosure to patient, family or caregivers without attending provider's "       \
    "authorization"

#define DEFAULT_MAX_DEPTH 256
#define DEFAULT_MAX_TEXT 10000000
#define DEFAULT_MAX_ATTR 1000000
/* Hard caps on what pass 1 remembers: a record with more marker statements
 * than this is not a record. */
#define MAX_NOTES ((size_t)1 << 22)
#define MAX_CODINGS 16
/* Bytes read at a time. */
#define READ_CHUNK 65536

typedef cse__xml_error_ptr xml_error_ptr;

/* What pass 1 remembers about one marker statement. */
struct marker_note {
    size_t ordinal; /* 1-based index among ObservationStatements */
    int line;
    int promote; /* the primary code is not the SNOMED marker concept */
    char code[20];
    char id[64];
};

/* Where the input comes from: a file descriptor (read twice) or memory. */
struct input {
    int fd;
    const char *buf;
    size_t len;
};

struct repair {
    const char *source; /* for errors */
    cse_error *err;
    cse_repair_report *report;
    size_t max_depth, max_text, max_attr;
    cse_repair_item_fn on_item;
    void *user;
    struct input in;

    int version; /* 6, 7, or 0 for a bare EhrExtract */
    int any_label;
    int upgrade;
    struct marker_note *markers;
    size_t n_markers, cap_markers;
    size_t *comps; /* 1-based ordinals of ehrCompositions holding markers */
    size_t n_comps, cap_comps;
};

/* Element and namespace names the passes look for, interned in the parser's
 * dictionary: libxml2 hands SAX2 callbacks names from that dictionary, so a
 * pointer comparison is a string comparison. */
struct names {
    const xmlChar *hl7, *xsi, *comp, *obs, *code, *id, *translation, *original_text,
        *conf, *interaction_id, *schema_location;
    /* the other statements, and the compound that may hold them */
    const xmlChar *narrative, *link_set, *plan, *request, *medication, *registration,
        *compound;
};

/* One pass: the parser and the stack of open element names. */
struct pass {
    struct repair *rp;
    xmlParserCtxtPtr ctxt;
    struct names names;
    const xmlChar **stack; /* local names by depth, interned by the parser */
    int ending;            /* the parser is being told the input has ended */
    int xml_failed;
    int xml_line;
    cse_code xml_code;
    char xml_msg[320];
    char xml_path[512];
};

/* ---- errors ------------------------------------------------------------- */

/* libxml2 reports here (the parser's errors, and those of its I/O and
 * encoding layers); the first error wins. cse__xml_describe() keeps record
 * text out of the message, as the reader does. */
static void on_xml_error(void *arg, xml_error_ptr e)
{
    struct pass *p = arg;
    unsigned flags;

    if (e == NULL || e->level < XML_ERR_ERROR || p->xml_failed)
        return;
    p->xml_failed = 1;
    p->xml_line = e->line;
    p->xml_path[0] = '\0';
    if (e->domain == XML_FROM_PARSER && e->ctxt != NULL) {
        /* The parser runs ahead of the reader: its own stack of open
         * elements says where the error is. */
        xmlParserCtxtPtr ctxt = e->ctxt;
        size_t used = 0;
        for (int i = 0; i < ctxt->nameNr && ctxt->nameTab; i++) {
            int k = snprintf(p->xml_path + used, sizeof(p->xml_path) - used, "/%s",
                             (const char *)ctxt->nameTab[i]);
            if (k < 0 || (size_t)k >= sizeof(p->xml_path) - used)
                break;
            used += (size_t)k;
        }
    }
    /* Both passes put the root's name first on the stack. */
    flags = (p->stack == NULL || p->stack[0] == NULL ? CSE__XML_NO_ELEMENT : 0u) |
            (p->ending ? CSE__XML_AT_END : 0u);
    p->xml_code = cse__xml_describe(e, flags, p->xml_msg, sizeof(p->xml_msg));
}

/* "/a/b/c" for the open elements up to depth (inclusive). */
static void format_path(const struct pass *p, int depth, char *buf, size_t size)
{
    size_t used = 0;

    buf[0] = '\0';
    if (p->stack == NULL)
        return;
    for (int i = 0; i <= depth && (size_t)i < p->rp->max_depth; i++) {
        const char *name = p->stack[i] ? (const char *)p->stack[i] : "?";
        int n = snprintf(buf + used, size - used, "/%s", name);
        if (n < 0 || (size_t)n >= size - used)
            break;
        used += (size_t)n;
    }
}

static int line_of(const struct pass *p)
{
    return p->ctxt ? xmlSAX2GetLineNumber(p->ctxt) : 0;
}

static cse_code fail_at(const struct pass *p, int depth, cse_code code, int line,
                        const char *msg)
{
    char path[512];

    format_path(p, depth, path, sizeof(path));
    return cse__error_set(p->rp->err, code, line, p->rp->source, path, "%s", msg);
}

/* The error after libxml2 found the XML not well-formed. */
static cse_code fail_read(const struct pass *p, int depth)
{
    if (p->xml_failed && p->xml_path[0] != '\0')
        return cse__error_set(p->rp->err, p->xml_code, p->xml_line, p->rp->source,
                              p->xml_path, "%s", p->xml_msg);
    if (p->xml_failed)
        return fail_at(p, depth, p->xml_code, p->xml_line, p->xml_msg);
    return fail_at(p, depth, CSE_ERR_PARSE, line_of(p), "the XML could not be read");
}

/* ---- small helpers ------------------------------------------------------ */

static int name_is(const xmlChar *name, const char *want)
{
    return xmlStrEqual(name, BAD_CAST want);
}

static int intern_names(xmlParserCtxtPtr ctxt, struct names *n)
{
    xmlDictPtr d = ctxt->dict;

    n->hl7 = xmlDictLookup(d, BAD_CAST HL7_NS, -1);
    n->xsi = xmlDictLookup(d, BAD_CAST XSI_NS, -1);
    n->comp = xmlDictLookup(d, BAD_CAST "ehrComposition", -1);
    n->obs = xmlDictLookup(d, BAD_CAST "ObservationStatement", -1);
    n->code = xmlDictLookup(d, BAD_CAST "code", -1);
    n->id = xmlDictLookup(d, BAD_CAST "id", -1);
    n->translation = xmlDictLookup(d, BAD_CAST "translation", -1);
    n->original_text = xmlDictLookup(d, BAD_CAST "originalText", -1);
    n->conf = xmlDictLookup(d, BAD_CAST "confidentialityCode", -1);
    n->interaction_id = xmlDictLookup(d, BAD_CAST "interactionId", -1);
    n->schema_location = xmlDictLookup(d, BAD_CAST "schemaLocation", -1);
    n->narrative = xmlDictLookup(d, BAD_CAST "NarrativeStatement", -1);
    n->link_set = xmlDictLookup(d, BAD_CAST "LinkSet", -1);
    n->plan = xmlDictLookup(d, BAD_CAST "PlanStatement", -1);
    n->request = xmlDictLookup(d, BAD_CAST "RequestStatement", -1);
    n->medication = xmlDictLookup(d, BAD_CAST "MedicationStatement", -1);
    n->registration = xmlDictLookup(d, BAD_CAST "RegistrationStatement", -1);
    n->compound = xmlDictLookup(d, BAD_CAST "CompoundStatement", -1);
    return n->hl7 && n->xsi && n->comp && n->obs && n->code && n->id && n->translation &&
           n->original_text && n->conf && n->interaction_id && n->schema_location &&
           n->narrative && n->link_set && n->plan && n->request && n->medication &&
           n->registration && n->compound;
}

/* Feeds the input to a SAX2 push parser, a chunk at a time, until the end,
 * an error libxml2 reports, or *stop becomes non-zero. Returns CSE_OK or the
 * I/O or out-of-memory error; the caller judges the parse itself. */
static cse_code push_parse(struct pass *p, xmlSAXHandler *sax, void *user,
                           const cse_code *stop)
{
    struct repair *rp = p->rp;
    char *chunk = NULL;
    const char *data;
    size_t off = 0;
    ssize_t n;
    cse_code rc = CSE_OK;
    cse__xml_errors saved;

    if (rp->in.buf == NULL && lseek(rp->in.fd, 0, SEEK_SET) != 0)
        return cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "",
                              "cannot rewind the input: %s", strerror(errno));
    /* Nothing libxml2 says goes to stderr: what it reports without a parser
     * (I/O, encodings) comes to on_xml_error too. */
    cse__xml_errors_begin(&saved, on_xml_error, p);
    if ((rp->in.buf == NULL && (chunk = malloc(READ_CHUNK)) == NULL) ||
        (p->ctxt = xmlCreatePushParserCtxt(sax, user, NULL, 0, NULL)) == NULL) {
        cse__xml_errors_end(&saved);
        free(chunk);
        return cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "",
                              "cannot create an XML parser");
    }
    xmlCtxtUseOptions(p->ctxt, XML_PARSE_NONET);
    if (!intern_names(p->ctxt, &p->names)) {
        rc = cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "", "out of memory");
        goto out;
    }
    for (;;) {
        if (rp->in.buf != NULL) {
            n = (ssize_t)(rp->in.len - off < READ_CHUNK ? rp->in.len - off : READ_CHUNK);
            data = rp->in.buf + off;
            off += (size_t)n;
        } else {
            n = read(rp->in.fd, chunk, READ_CHUNK);
            if (n < 0 && errno == EINTR)
                continue;
            if (n < 0) {
                rc = cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "",
                                    "cannot read: %s", strerror(errno));
                goto out;
            }
            data = chunk;
        }
        p->ending = n == 0;
        xmlParseChunk(p->ctxt, data, (int)n, n == 0);
        p->ending = 0;
        if (*stop != CSE_OK || p->xml_failed || n == 0)
            break;
    }
out:
    cse__xml_errors_end(&saved);
    free(chunk);
    return rc;
}

static void free_parser(struct pass *p)
{
    if (p->ctxt)
        xmlFreeParserCtxt(p->ctxt);
    p->ctxt = NULL;
}

static void emit(struct repair *rp, const cse_repair_item *item)
{
    if (rp->on_item)
        rp->on_item(item, rp->user);
}

/* ---- pass 1: find markers ----------------------------------------------- */

/* Pass 1 only looks, so it uses libxml2's SAX2 interface directly: no tree
 * nodes are built, which makes it several times cheaper than a second
 * xmlTextReader pass. Its checks (depth, DOCTYPE, entities, text size) are
 * the same as pass 2's, so bad input is refused before anything is written. */

struct coding_buf {
    char code[40];
    char system[72];
    char display[512];
};

struct scan {
    struct pass *p;
    cse_code rc; /* the first error, which stops the parser */
    int depth;   /* elements open */
    int seen_root;
    size_t text_run; /* bytes of character data since the last tag */
    size_t obs_ord, comp_ord;
    int in_comp, comp_depth;
    /* the ObservationStatement being read */
    int in_obs, obs_depth, obs_line, have_id, have_code;
    char obs_id[64];
    int in_code, code_depth, in_text, text_depth;
    struct coding_buf codings[MAX_CODINGS];
    cse_coding view[MAX_CODINGS];
    size_t n_codings;
    char text[4096];
    size_t text_len;
    int primary_is_marker;
    char marker_code[20];
    /* Whether the composition being read may be labelled (DESIGN.md section
     * 4 rule 2): only when it holds a marker and every other statement in it
     * is already labelled, itself or by a CompoundStatement around it. */
    int comp_has_marker;
    size_t comp_unlabelled;
    size_t compounds_labelled; /* open CompoundStatements carrying NOPAT */
    unsigned char *stmt;       /* by depth: STMT_* of the element open there */
};

/* What an open element is, for the composition rule. */
#define STMT_LEAF 1u     /* a statement that is not a container */
#define STMT_COMPOUND 2u /* a CompoundStatement */
#define STMT_NOPAT 4u    /* it carries NOPAT itself */

/* SAX2 attributes come as (localname, prefix, URI, value, end) tuples. Copies
 * the value of the unprefixed attribute `name` into buf; 1 when present. */
static int sax_attr(const xmlChar **attrs, int n, const char *name, char *buf,
                    size_t size)
{
    buf[0] = '\0';
    for (int i = 0; i < n; i++, attrs += 5) {
        if (attrs[1] == NULL && name_is(attrs[0], name)) {
            size_t len = (size_t)(attrs[4] - attrs[3]);
            if (len >= size)
                len = size - 1;
            memcpy(buf, attrs[3], len);
            buf[len] = '\0';
            return 1;
        }
    }
    return 0;
}

static int sax_line(const struct scan *s)
{
    return line_of(s->p);
}

/* Records the first error and stops the parser. */
static void scan_stop(struct scan *s, cse_code rc)
{
    if (s->rc == CSE_OK)
        s->rc = rc;
    if (s->p->ctxt)
        xmlStopParser(s->p->ctxt);
}

static void scan_coding(struct scan *s, const xmlChar **attrs, int n, int primary)
{
    struct coding_buf *b;
    char code[40], system[72];

    if (!sax_attr(attrs, n, "code", code, sizeof(code)))
        return; /* nullFlavor: no code */
    sax_attr(attrs, n, "codeSystem", system, sizeof(system));
    if (strcmp(system, CSE_OID_SNOMED) == 0 && cse_code_is_marker(code)) {
        if (s->marker_code[0] == '\0' && strlen(code) < sizeof(s->marker_code))
            memcpy(s->marker_code, code, strlen(code) + 1);
        if (primary)
            s->primary_is_marker = 1;
    }
    if (s->n_codings == MAX_CODINGS)
        return;
    b = &s->codings[s->n_codings];
    memcpy(b->code, code, sizeof(code));
    memcpy(b->system, system, sizeof(system));
    sax_attr(attrs, n, "displayName", b->display, sizeof(b->display));
    s->view[s->n_codings].code = b->code;
    s->view[s->n_codings].system = b->system;
    s->view[s->n_codings].display = b->display[0] ? b->display : NULL;
    s->n_codings++;
}

static cse_code grow(struct repair *rp, void **items, size_t *cap, size_t size, int line)
{
    size_t n = *cap ? *cap * 2 : 16;
    void *p;

    if (n > MAX_NOTES)
        return cse__error_set(rp->err, CSE_ERR_LIMIT, line, rp->source, "",
                              "more than %zu marker statements", MAX_NOTES);
    if ((p = realloc(*items, n * size)) == NULL)
        return cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "", "out of memory");
    *items = p;
    *cap = n;
    return CSE_OK;
}

static cse_code note_marker(struct repair *rp, struct scan *s)
{
    struct marker_note *m;
    cse_code rc;

    if (rp->n_markers == rp->cap_markers &&
        (rc = grow(rp, (void **)&rp->markers, &rp->cap_markers, sizeof(*m),
                   s->obs_line)) != CSE_OK)
        return rc;
    m = &rp->markers[rp->n_markers++];
    m->ordinal = s->obs_ord;
    m->line = s->obs_line;
    m->promote = !s->primary_is_marker;
    memcpy(m->code, s->marker_code, sizeof(m->code));
    memcpy(m->id, s->obs_id, sizeof(m->id));
    return CSE_OK;
}

/* The composition ends: note it for a label when every statement in it is a
 * marker or already labelled and at least one is a marker. A composition that
 * holds an ordinary entry is never labelled: the requesting adaptor applies a
 * composition's label to everything in it, which would hide that entry from
 * the patient's online record. */
static cse_code scan_end_comp(struct repair *rp, struct scan *s)
{
    cse_code rc;

    s->in_comp = 0;
    if (!s->comp_has_marker || s->comp_unlabelled > 0)
        return CSE_OK;
    if (rp->n_comps == rp->cap_comps &&
        (rc = grow(rp, (void **)&rp->comps, &rp->cap_comps, sizeof(size_t),
                   sax_line(s))) != CSE_OK)
        return rc;
    rp->comps[rp->n_comps++] = s->comp_ord;
    return CSE_OK;
}

/* A statement ends: count it for its composition's rule. */
static void scan_end_stmt(struct scan *s, int depth, int is_marker)
{
    unsigned k = s->stmt[depth];

    s->stmt[depth] = 0;
    if (k & STMT_COMPOUND) {
        if (k & STMT_NOPAT)
            s->compounds_labelled--;
        return;
    }
    if (!s->in_comp)
        return;
    if (is_marker)
        s->comp_has_marker = 1;
    else if (!(k & STMT_NOPAT) && s->compounds_labelled == 0)
        s->comp_unlabelled++;
}

static cse_code scan_end_obs(struct repair *rp, struct scan *s)
{
    cse_concept c;
    cse_candidate_reason reason = CSE_CANDIDATE_NONE;
    cse_repair_item item;

    s->in_obs = 0;
    if (s->marker_code[0] != '\0') {
        rp->report->markers++;
        return note_marker(rp, s);
    }
    s->text[s->text_len] = '\0';
    c.codings = s->view;
    c.n = s->n_codings;
    c.text = s->text_len ? s->text : NULL;
    if (cse_concept_classify(&c, &reason) != CSE_CLASS_CANDIDATE)
        return CSE_OK;
    rp->report->candidates++;
    memset(&item, 0, sizeof(item));
    item.kind = CSE_REPAIR_ITEM_CANDIDATE;
    item.entry_id = s->obs_id;
    item.line = s->obs_line;
    item.reason = reason;
    emit(rp, &item);
    return CSE_OK;
}

static cse_code scan_root(struct scan *s, const xmlChar *name, const xmlChar *uri)
{
    struct repair *rp = s->p->rp;

    if (uri != NULL && xmlStrEqual(uri, BAD_CAST HL7_NS)) {
        if (name_is(name, NAME_UK06)) {
            rp->version = 6;
            return CSE_OK;
        }
        if (name_is(name, NAME_UK07)) {
            rp->version = 7;
            return CSE_OK;
        }
        if (name_is(name, "EhrExtract")) {
            rp->version = 0;
            return CSE_OK;
        }
    }
    return fail_at(s->p, 0, CSE_ERR_STRUCTURE, sax_line(s),
                   "expected an RCMR_IN030000UK06, RCMR_IN030000UK07 or EhrExtract root "
                   "element in namespace " HL7_NS);
}

static void sax_start(void *ctx, const xmlChar *name, const xmlChar *prefix,
                      const xmlChar *uri, int n_ns, const xmlChar **ns, int n_attrs,
                      int n_defaulted, const xmlChar **attrs)
{
    struct scan *s = ctx;
    struct repair *rp = s->p->rp;
    const struct names *nm = &s->p->names;
    int depth = s->depth;
    cse_code rc;

    if (s->rc != CSE_OK)
        return;
    if ((size_t)depth >= rp->max_depth) {
        char msg[96];
        snprintf(msg, sizeof(msg), "elements nested deeper than %zu", rp->max_depth);
        scan_stop(s, fail_at(s->p, depth - 1, CSE_ERR_LIMIT, sax_line(s), msg));
        return;
    }
    s->p->stack[depth] = name;
    s->depth++;
    s->text_run = 0;
    for (int i = 0; i < n_attrs; i++) {
        if ((size_t)(attrs[i * 5 + 4] - attrs[i * 5 + 3]) > rp->max_attr) {
            char msg[96];
            snprintf(msg, sizeof(msg), "an attribute value longer than %zu bytes",
                     rp->max_attr);
            scan_stop(s, fail_at(s->p, depth, CSE_ERR_LIMIT, sax_line(s), msg));
            return;
        }
    }
    if (depth == 0) {
        s->seen_root = 1;
        if ((rc = scan_root(s, name, uri)) != CSE_OK) {
            scan_stop(s, rc);
            return;
        }
    }
    if (uri != nm->hl7)
        return;
    if (name == nm->conf) {
        char code[32];
        rp->any_label = 1;
        if (depth > 0 && s->stmt[depth - 1] && !(s->stmt[depth - 1] & STMT_NOPAT) &&
            sax_attr(attrs, n_attrs, "code", code, sizeof(code)) &&
            strcmp(code, "NOPAT") == 0) {
            s->stmt[depth - 1] |= STMT_NOPAT;
            if (s->stmt[depth - 1] & STMT_COMPOUND)
                s->compounds_labelled++;
        }
    }
    if (name == nm->compound)
        s->stmt[depth] = STMT_COMPOUND;
    else if (name == nm->obs || name == nm->narrative || name == nm->link_set ||
             name == nm->plan || name == nm->request || name == nm->medication ||
             name == nm->registration)
        s->stmt[depth] = STMT_LEAF;
    if (name == nm->comp) {
        s->comp_ord++;
        s->in_comp = 1;
        s->comp_depth = depth;
        s->comp_has_marker = 0;
        s->comp_unlabelled = 0;
    } else if (name == nm->obs) {
        s->obs_ord++;
        if (s->in_obs)
            return; /* not in the schema; the outer one is the statement */
        s->in_obs = 1;
        s->obs_depth = depth;
        s->obs_line = sax_line(s);
        s->have_id = s->have_code = s->in_code = s->in_text = 0;
        s->obs_id[0] = '\0';
        s->n_codings = s->text_len = 0;
        s->primary_is_marker = 0;
        s->marker_code[0] = '\0';
    } else if (s->in_obs && depth == s->obs_depth + 1) {
        if (name == nm->id && !s->have_id) {
            s->have_id = 1;
            sax_attr(attrs, n_attrs, "root", s->obs_id, sizeof(s->obs_id));
        } else if (name == nm->code && !s->have_code) {
            s->have_code = 1;
            s->in_code = 1;
            s->code_depth = depth;
            scan_coding(s, attrs, n_attrs, 1);
        }
    } else if (s->in_code && depth == s->code_depth + 1) {
        if (name == nm->translation) {
            scan_coding(s, attrs, n_attrs, 0);
        } else if (name == nm->original_text) {
            s->in_text = 1;
            s->text_depth = depth;
        }
    }
}

static void sax_end(void *ctx, const xmlChar *name, const xmlChar *prefix,
                    const xmlChar *uri)
{
    struct scan *s = ctx;
    int depth;
    cse_code rc;

    if (s->rc != CSE_OK)
        return;
    depth = --s->depth;
    s->text_run = 0;
    if (s->in_text && depth == s->text_depth)
        s->in_text = 0;
    if (s->in_code && depth == s->code_depth)
        s->in_code = 0;
    if (s->in_obs && depth == s->obs_depth) {
        int is_marker = s->marker_code[0] != '\0';
        if ((rc = scan_end_obs(s->p->rp, s)) != CSE_OK)
            scan_stop(s, rc);
        scan_end_stmt(s, depth, is_marker);
    } else if (s->stmt[depth]) {
        scan_end_stmt(s, depth, 0);
    } else if (s->in_comp && depth == s->comp_depth) {
        if ((rc = scan_end_comp(s->p->rp, s)) != CSE_OK)
            scan_stop(s, rc);
    }
}

static void sax_text(void *ctx, const xmlChar *v, int len)
{
    struct scan *s = ctx;
    size_t room;

    if (s->rc != CSE_OK || len <= 0)
        return;
    s->text_run += (size_t)len;
    if (s->text_run > s->p->rp->max_text) {
        char msg[96];
        snprintf(msg, sizeof(msg), "a text node longer than %zu bytes",
                 s->p->rp->max_text);
        scan_stop(s, fail_at(s->p, s->depth - 1, CSE_ERR_LIMIT, sax_line(s), msg));
        return;
    }
    if (!s->in_text || s->depth != s->text_depth + 1)
        return;
    room = sizeof(s->text) - 1 - s->text_len;
    if ((size_t)len > room)
        len = (int)room; /* enough to recognise text that names CSE */
    memcpy(s->text + s->text_len, v, (size_t)len);
    s->text_len += (size_t)len;
}

static void sax_doctype(void *ctx, const xmlChar *name, const xmlChar *ext,
                        const xmlChar *sys)
{
    struct scan *s = ctx;

    scan_stop(s, fail_at(s->p, -1, CSE_ERR_UNSUPPORTED, sax_line(s),
                         "a DOCTYPE declaration is refused (GP2GP extracts have none)"));
}

static void sax_reference(void *ctx, const xmlChar *name)
{
    struct scan *s = ctx;

    scan_stop(s, fail_at(s->p, s->depth - 1, CSE_ERR_UNSUPPORTED, sax_line(s),
                         "entity references are refused"));
}

static void sax_error(void *ctx, xml_error_ptr e)
{
    on_xml_error(((struct scan *)ctx)->p, e);
}

static cse_code pass1(struct repair *rp)
{
    struct pass p;
    struct scan *s;
    xmlSAXHandler sax;
    cse_code rc = CSE_OK;

    memset(&p, 0, sizeof(p));
    p.rp = rp;
    if ((s = calloc(1, sizeof(*s))) == NULL ||
        (s->stmt = calloc(rp->max_depth + 1, 1)) == NULL ||
        (p.stack = calloc(rp->max_depth + 1, sizeof(*p.stack))) == NULL) {
        if (s)
            free(s->stmt);
        free(s);
        return cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "", "out of memory");
    }
    s->p = &p;
    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startElementNs = sax_start;
    sax.endElementNs = sax_end;
    sax.characters = sax_text;
    sax.ignorableWhitespace = sax_text;
    sax.cdataBlock = sax_text;
    sax.internalSubset = sax_doctype;
    sax.reference = sax_reference;
    sax.serror = sax_error;
    if ((rc = push_parse(&p, &sax, s, &s->rc)) != CSE_OK)
        goto out;
    if (s->rc != CSE_OK)
        rc = s->rc;
    else if (p.xml_failed || !p.ctxt->wellFormed)
        rc = fail_read(&p, s->depth - 1);
    else if (!s->seen_root)
        rc = cse__error_set(rp->err, CSE_ERR_PARSE, 0, rp->source, "",
                            "empty document: no XML element found");
out:
    free_parser(&p);
    free(p.stack);
    free(s->stmt);
    free(s);
    return rc;
}

/* ---- pass 2: write ------------------------------------------------------ */

/* Pass 2 reads with SAX2 again and copies every node through the byte layer
 * of the buffered serialiser in xml_out.c (the element state is kept here:
 * elements are copied, not built). Its output is, byte for byte, what
 * libxml2's xmlTextWriter wrote for the same nodes (earlier versions used it,
 * and tests compare bytes): an XML declaration naming UTF-8; double-quoted
 * attributes with & < > " CR LF TAB escaped; text with & < > " CR escaped;
 * white space between elements copied as it is; an element read as <x/>
 * written as <x/> and one read as <x></x> written so; comments and processing
 * instructions outside the root on lines of their own; a final newline. Names
 * and values come from the parser in UTF-8, so nothing is re-encoded. */

/* An element that may gain NOPAT: an ehrComposition or a marker statement. */
struct slot {
    int active, depth, done;
    const xmlChar *prefix; /* the element's namespace prefix, NULL for none */
};

/* One open element: what its end tag needs. */
struct open_elem {
    const xmlChar *local, *prefix;
    int empty;   /* read as <x/> */
    int renamed; /* the root, written as RCMR_IN030000UK07 */
};

struct writer {
    struct pass p;
    cse__xo o;            /* the output */
    struct open_elem *el; /* by depth */
    int depth;            /* elements open */
    int tag_open;         /* a start tag is written up to its attributes */
    int root_done;
    cse_code rc; /* the first error, which stops the parser */
    size_t obs_ord, comp_ord, next_marker, next_comp;
    struct slot comp, obs;
    const struct marker_note *marker; /* the marker statement being written */
    unsigned changes;
    /* a code being promoted */
    int promo_active, promo_depth, promo_done;
    const xmlChar *promo_prefix;
    xmlChar *old_names[5], *old_values[5];
    int n_old, old_has_code;
    /* skip the subtree of a replaced confidentialityCode */
    int skip_depth;
    /* text since the last other node: 0 none, 1 white space only (held in
     * blank, as it is written raw when the node ends so), 2 other text
     * (written escaped as it comes) */
    int text;
    char *blank;
    size_t blank_len, blank_cap;
    int in_cdata;
    /* the last whitespace written, to indent what we insert like its siblings */
    char ws[128];
    size_t ws_len;
};

static const char *const comp_before[] = {
    "id", "code", "statusCode", "effectiveTime", "availabilityTime", NULL};
static const char *const obs_before[] = {
    "id",           "code", "statusCode", "effectiveTime", "availabilityTime",
    "priorityCode", NULL};

/* Writes an attribute value as SAX2 gives it (len bytes), escaped: there
 * "&#38;" stands for '&' (libxml2 leaves that one reference for the tree
 * builder to decode). */
static void out_sax_value(struct writer *wr, const xmlChar *v, size_t len)
{
    const char *s = (const char *)v, *amp;

    while ((amp = memchr(s, '&', len)) != NULL) {
        size_t n = (size_t)(amp - s), skip = 1;
        cse__xo_escape(&wr->o, s, n, CSE__XO_ATTR);
        cse__xo_put(&wr->o, "&amp;", 5);
        if (len - n >= 5 && memcmp(amp, "&#38;", 5) == 0)
            skip = 5;
        s += n + skip;
        len -= n + skip;
    }
    cse__xo_escape(&wr->o, s, len, CSE__XO_ATTR);
}

static void out_qname(struct writer *wr, const xmlChar *prefix, const char *local)
{
    if (prefix) {
        cse__xo_puts(&wr->o, (const char *)prefix);
        cse__xo_putc(&wr->o, ':');
    }
    cse__xo_puts(&wr->o, local);
}

/* ` name="value"`, value already decoded. */
static void out_attr(struct writer *wr, const char *name, const xmlChar *value)
{
    cse__xo_put_attr(&wr->o, name, (const char *)value);
}

/* Before any content: ends a pending start tag. */
static void close_tag(struct writer *wr)
{
    if (wr->tag_open) {
        cse__xo_putc(&wr->o, '>');
        wr->tag_open = 0;
    }
}

static void remember_ws(struct writer *wr, const char *v, size_t n)
{
    if (n >= sizeof(wr->ws))
        n = 0; /* unusual indentation: insert without it */
    memcpy(wr->ws, v, n);
    wr->ws_len = n;
}

/* Ends the text node being written, if any: white space only is written as it
 * is (and remembered for indenting), other text was written as it came. */
static void end_text(struct writer *wr)
{
    if (wr->in_cdata) {
        cse__xo_puts(&wr->o, "]]>");
        wr->in_cdata = 0;
    }
    if (wr->text == 1 && wr->blank_len) {
        close_tag(wr);
        remember_ws(wr, wr->blank, wr->blank_len);
        cse__xo_put(&wr->o, wr->blank, wr->blank_len);
    }
    wr->text = 0;
    wr->blank_len = 0;
}

static cse_code write_failed(struct writer *wr, int depth)
{
    return fail_at(&wr->p, depth, CSE_ERR_IO, line_of(&wr->p),
                   "writing the output failed");
}

static int qname(char *buf, size_t size, const xmlChar *prefix, const char *local)
{
    int n = prefix ? snprintf(buf, size, "%s:%s", (const char *)prefix, local)
                   : snprintf(buf, size, "%s", local);
    return n >= 0 && (size_t)n < size;
}

/* Writes the remembered whitespace again, so an inserted element sits on its
 * own line like the sibling it precedes. */
static void write_ws(struct writer *wr)
{
    if (wr->ws_len)
        cse__xo_put(&wr->o, wr->ws, wr->ws_len);
}

static cse_code write_nopat(struct writer *wr, const struct slot *sl, int depth, int ws)
{
    char q[160];

    if (!qname(q, sizeof(q), sl->prefix, "confidentialityCode"))
        return fail_at(&wr->p, depth, CSE_ERR_LIMIT, line_of(&wr->p),
                       "namespace prefix too long");
    close_tag(wr);
    cse__xo_putc(&wr->o, '<');
    cse__xo_puts(&wr->o, q);
    out_attr(wr, "code", BAD_CAST "NOPAT");
    out_attr(wr, "codeSystem", BAD_CAST CSE_OID_NOPAT_SYSTEM);
    out_attr(wr, "displayName", BAD_CAST NOPAT_DISPLAY);
    cse__xo_puts(&wr->o, "/>");
    if (ws)
        write_ws(wr);
    return CSE_OK;
}

static void count_nopat(struct writer *wr, const struct slot *sl)
{
    if (sl == &wr->comp) {
        wr->p.rp->report->nopat_added_compositions++;
    } else {
        wr->p.rp->report->nopat_added_statements++;
        wr->changes |= CSE_REPAIR_ADDED_NOPAT;
    }
}

static int in_list(const xmlChar *name, const char *const *list)
{
    for (; *list; list++)
        if (name_is(name, *list))
            return 1;
    return 0;
}

/* The current element as SAX2 gives it. */
struct elem {
    const xmlChar *local, *prefix, *uri;
    int n_ns, n_attrs;
    const xmlChar **ns, **attrs;
};

/* A child element of a slot is about to be written: insert NOPAT before it when
 * it is the first element the schema puts after confidentialityCode. Points
 * *replace at the slot when the child is a confidentialityCode other than
 * NOPAT (the caller then writes NOPAT instead of it). */
static cse_code slot_child(struct writer *wr, struct slot *sl, int depth,
                           const struct elem *e, const char *const *before,
                           struct slot **replace)
{
    int hl7 = e->uri == wr->p.names.hl7;
    cse_code rc;

    if (!sl->active || sl->done || depth != sl->depth + 1)
        return CSE_OK;
    if (hl7 && e->local == wr->p.names.conf) {
        char code[32];
        sl->done = 1;
        sax_attr(e->attrs, e->n_attrs, "code", code, sizeof(code));
        if (strcmp(code, "NOPAT") != 0) {
            *replace = sl;
            count_nopat(wr, sl);
            if (sl == &wr->obs)
                wr->changes |= CSE_REPAIR_REPLACED_LABEL;
        }
        return CSE_OK;
    }
    if (hl7 && in_list(e->local, before))
        return CSE_OK;
    sl->done = 1;
    if ((rc = write_nopat(wr, sl, depth, 1)) != CSE_OK)
        return rc;
    count_nopat(wr, sl);
    return CSE_OK;
}

/* The slot element ends: insert NOPAT when nothing came after the elements
 * that precede it. */
static cse_code slot_end(struct writer *wr, struct slot *sl, int depth)
{
    cse_code rc = CSE_OK;

    if (!sl->active || depth != sl->depth)
        return CSE_OK;
    if (!sl->done) {
        sl->done = 1;
        if ((rc = write_nopat(wr, sl, depth, 0)) != CSE_OK)
            return rc;
        count_nopat(wr, sl);
    }
    sl->active = 0;
    return CSE_OK;
}

static void promo_clear(struct writer *wr)
{
    for (int i = 0; i < wr->n_old; i++) {
        free(wr->old_names[i]);
        free(wr->old_values[i]);
    }
    wr->n_old = 0;
    wr->old_has_code = 0;
    wr->promo_active = 0;
}

static int is_old_code_attr(const char *name)
{
    return strcmp(name, "code") == 0 || strcmp(name, "codeSystem") == 0 ||
           strcmp(name, "codeSystemName") == 0 ||
           strcmp(name, "codeSystemVersion") == 0 || strcmp(name, "displayName") == 0;
}

/* Writes the old primary code as a translation. */
static cse_code write_old_translation(struct writer *wr, int depth, int ws)
{
    char q[160];

    wr->promo_done = 1;
    if (!wr->old_has_code)
        return CSE_OK; /* the old code was a nullFlavor: nothing to keep */
    if (!qname(q, sizeof(q), wr->promo_prefix, "translation"))
        return fail_at(&wr->p, depth, CSE_ERR_LIMIT, line_of(&wr->p),
                       "namespace prefix too long");
    close_tag(wr);
    cse__xo_putc(&wr->o, '<');
    cse__xo_puts(&wr->o, q);
    for (int i = 0; i < wr->n_old; i++)
        out_attr(wr, (const char *)wr->old_names[i], wr->old_values[i]);
    cse__xo_puts(&wr->o, "/>");
    if (ws)
        write_ws(wr);
    return CSE_OK;
}

/* Writes the new primary code attributes. */
static void write_new_code_attrs(struct writer *wr)
{
    const char *code = wr->marker->code;
    const char *term = cse_code_term(code);

    out_attr(wr, "code", BAD_CAST code);
    out_attr(wr, "codeSystem", BAD_CAST CSE_OID_SNOMED);
    if (term)
        out_attr(wr, "displayName", BAD_CAST term);
}

/* A SAX2 attribute value, decoded, as a new string; NULL when out of memory. */
static xmlChar *attr_dup(const xmlChar *v, const xmlChar *end)
{
    size_t len = (size_t)(end - v), o = 0;
    xmlChar *s = malloc(len + 1);

    if (s == NULL)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        s[o++] = v[i];
        if (v[i] == '&' && len - i >= 5 && memcmp(v + i, "&#38;", 5) == 0)
            i += 4;
    }
    s[o] = '\0';
    return s;
}

/* Copies the current element's start tag, with the attribute changes this
 * element needs. mode: 0 copy, 1 root, 2 interactionId, 3 promoted code. */
static cse_code write_start(struct writer *wr, int depth, const struct elem *e, int mode)
{
    struct open_elem *oe = &wr->el[depth];
    char an[160] = "";
    int wrote_code = 0;

    cse__xo_putc(&wr->o, '<');
    if (mode == 1 && wr->p.rp->upgrade) {
        oe->renamed = 1;
        out_qname(wr, e->prefix, NAME_UK07);
        wr->p.rp->report->upgraded_to_uk07 = 1;
    } else {
        out_qname(wr, e->prefix, (const char *)e->local);
    }
    wr->tag_open = 1;
    for (int i = 0; i < e->n_ns; i++) {
        const xmlChar *pfx = e->ns[2 * i], *uri = e->ns[2 * i + 1];
        cse__xo_puts(&wr->o, pfx ? " xmlns:" : " xmlns");
        if (pfx)
            cse__xo_puts(&wr->o, (const char *)pfx);
        cse__xo_puts(&wr->o, "=\"");
        cse__xo_escape_str(&wr->o, (const char *)uri, CSE__XO_ATTR);
        cse__xo_putc(&wr->o, '"');
    }
    for (int i = 0; i < e->n_attrs; i++) {
        const xmlChar **a = e->attrs + 5 * i;
        const xmlChar *av = a[3], *end = a[4];

        /* The qualified name, for the few this element looks for (all short). */
        if (mode != 0 && !qname(an, sizeof(an), a[1], (const char *)a[0]))
            an[0] = '\0';
        if (mode == 3 && (is_old_code_attr(an) || strcmp(an, "nullFlavor") == 0)) {
            /* The old primary code moves into a translation. */
            if (strcmp(an, "nullFlavor") != 0 && wr->n_old < 5) {
                wr->old_names[wr->n_old] = BAD_CAST strdup(an);
                wr->old_values[wr->n_old] = attr_dup(av, end);
                if (wr->old_names[wr->n_old] == NULL ||
                    wr->old_values[wr->n_old] == NULL) {
                    free(wr->old_names[wr->n_old]);
                    free(wr->old_values[wr->n_old]);
                    return fail_at(&wr->p, depth, CSE_ERR_NOMEM, 0, "out of memory");
                }
                if (strcmp(an, "code") == 0)
                    wr->old_has_code = 1;
                wr->n_old++;
            }
            if (!wrote_code) {
                wrote_code = 1;
                write_new_code_attrs(wr);
            }
            continue;
        }
        cse__xo_putc(&wr->o, ' ');
        if (a[1]) {
            cse__xo_puts(&wr->o, (const char *)a[1]);
            cse__xo_putc(&wr->o, ':');
        }
        cse__xo_puts(&wr->o, (const char *)a[0]);
        cse__xo_puts(&wr->o, "=\"");
        if (wr->p.rp->upgrade && mode == 2 && strcmp(an, "extension") == 0 &&
            end - av == (ptrdiff_t)strlen(NAME_UK06) &&
            memcmp(av, NAME_UK06, strlen(NAME_UK06)) == 0) {
            cse__xo_puts(&wr->o, NAME_UK07);
        } else if (wr->p.rp->upgrade && mode == 1 &&
                   a[0] == wr->p.names.schema_location && a[2] == wr->p.names.xsi) {
            xmlChar *fixed = attr_dup(av, end);
            if (fixed == NULL)
                return fail_at(&wr->p, depth, CSE_ERR_NOMEM, 0, "out of memory");
            for (xmlChar *h = fixed; (h = (xmlChar *)xmlStrstr(h, BAD_CAST NAME_UK06));)
                memcpy(h, NAME_UK07, strlen(NAME_UK07));
            cse__xo_escape_str(&wr->o, (const char *)fixed, CSE__XO_ATTR);
            free(fixed);
        } else {
            out_sax_value(wr, av, (size_t)(end - av));
        }
        cse__xo_putc(&wr->o, '"');
    }
    if (mode == 3 && !wrote_code)
        write_new_code_attrs(wr);
    return CSE_OK;
}

/* Writes the start of the current element (and whatever goes before it).
 * Sets *consumed when the element was replaced as a whole. */
static cse_code write_element(struct writer *wr, int depth, const struct elem *e,
                              int *consumed)
{
    struct repair *rp = wr->p.rp;
    const struct names *nm = &wr->p.names;
    const xmlChar *name = e->local;
    int hl7 = e->uri == nm->hl7, mode = 0;
    struct slot *replace = NULL;
    cse_code rc;

    /* Insertions before this element, as a child of an open slot or code. */
    if ((rc = slot_child(wr, &wr->comp, depth, e, comp_before, &replace)) != CSE_OK ||
        (rc = slot_child(wr, &wr->obs, depth, e, obs_before, &replace)) != CSE_OK)
        return rc;
    if (wr->promo_active && !wr->promo_done && depth == wr->promo_depth + 1 && hl7 &&
        name == nm->translation && (rc = write_old_translation(wr, depth, 1)) != CSE_OK)
        return rc;
    if (replace) {
        if ((rc = write_nopat(wr, replace, depth, 0)) != CSE_OK)
            return rc;
        *consumed = 1;
        wr->skip_depth = depth;
        return CSE_OK;
    }

    if (depth == 0)
        mode = 1;
    else if (depth == 1 && hl7 && name == nm->interaction_id)
        mode = 2;
    if (hl7 && name == nm->comp) {
        wr->comp_ord++;
        if (wr->next_comp < rp->n_comps && rp->comps[wr->next_comp] == wr->comp_ord) {
            wr->next_comp++;
            wr->comp.active = 1;
            wr->comp.done = 0;
            wr->comp.depth = depth;
            wr->comp.prefix = e->prefix;
        }
    } else if (hl7 && name == nm->obs) {
        wr->obs_ord++;
        if (!wr->obs.active && wr->next_marker < rp->n_markers &&
            rp->markers[wr->next_marker].ordinal == wr->obs_ord) {
            wr->marker = &rp->markers[wr->next_marker++];
            wr->changes = 0;
            wr->obs.active = 1;
            wr->obs.done = 0;
            wr->obs.depth = depth;
            wr->obs.prefix = e->prefix;
        }
    } else if (wr->obs.active && depth == wr->obs.depth + 1 && hl7 && name == nm->code &&
               wr->marker->promote && !wr->promo_active &&
               !(wr->changes & CSE_REPAIR_PROMOTED_CODE)) {
        mode = 3;
        wr->promo_active = 1;
        wr->promo_done = 0;
        wr->promo_depth = depth;
        wr->promo_prefix = e->prefix;
        wr->changes |= CSE_REPAIR_PROMOTED_CODE;
        rp->report->codes_promoted++;
    }
    close_tag(wr);
    return write_start(wr, depth, e, mode); /* the end event ends it */
}

static cse_code end_element(struct writer *wr, int depth)
{
    struct repair *rp = wr->p.rp;
    const struct open_elem *oe = &wr->el[depth];
    cse_code rc;

    if (wr->promo_active && depth == wr->promo_depth) {
        if (!wr->promo_done && (rc = write_old_translation(wr, depth, 0)) != CSE_OK)
            return rc;
        promo_clear(wr);
    }
    if ((rc = slot_end(wr, &wr->obs, depth)) != CSE_OK ||
        (rc = slot_end(wr, &wr->comp, depth)) != CSE_OK)
        return rc;
    if (wr->tag_open && oe->empty) {
        cse__xo_puts(&wr->o, "/>");
    } else {
        cse__xo_puts(&wr->o, wr->tag_open ? "></" : "</");
        out_qname(wr, oe->prefix, oe->renamed ? NAME_UK07 : (const char *)oe->local);
        cse__xo_putc(&wr->o, '>');
    }
    wr->tag_open = 0;
    if (depth == 0)
        wr->root_done = 1;
    if (wr->marker && !wr->obs.active) {
        cse_repair_item item;
        memset(&item, 0, sizeof(item));
        item.kind = CSE_REPAIR_ITEM_MARKER;
        item.entry_id = wr->marker->id;
        item.line = wr->marker->line;
        item.code = wr->marker->code;
        item.changes = wr->changes;
        emit(rp, &item);
        wr->marker = NULL;
    }
    return CSE_OK;
}

/* Records the first error and stops the parser. */
static void write_stop(struct writer *wr, cse_code rc)
{
    if (wr->rc == CSE_OK)
        wr->rc = rc;
    xmlStopParser(wr->p.ctxt);
}

static void w_start_document(void *ctx)
{
    struct writer *wr = ctx;
    int standalone = wr->p.ctxt->standalone;

    cse__xo_puts(&wr->o, "<?xml version=\"1.0\" encoding=\"UTF-8\"");
    if (standalone == 1 || standalone == 0)
        cse__xo_puts(&wr->o, standalone ? " standalone=\"yes\"" : " standalone=\"no\"");
    cse__xo_puts(&wr->o, "?>\n");
}

static void w_start(void *ctx, const xmlChar *local, const xmlChar *prefix,
                    const xmlChar *uri, int n_ns, const xmlChar **ns, int n_attrs,
                    int n_defaulted, const xmlChar **attrs)
{
    struct writer *wr = ctx;
    int depth = wr->depth, consumed = 0;
    const xmlChar *cur = wr->p.ctxt->input ? wr->p.ctxt->input->cur : NULL;
    struct elem e = {local, prefix, uri, n_ns, n_attrs, ns, attrs};
    cse_code rc;

    if (wr->rc != CSE_OK)
        return;
    if (wr->o.failed) {
        write_stop(wr, write_failed(wr, depth - 1));
        return;
    }
    if ((size_t)depth >= wr->p.rp->max_depth) {
        /* pass 1 refused this already; the file changed in between */
        write_stop(wr, fail_at(&wr->p, depth - 1, CSE_ERR_PARSE, line_of(&wr->p),
                               "the input changed while it was read"));
        return;
    }
    wr->p.stack[depth] = local;
    wr->depth++;
    /* The parser calls this with the start tag read up to "/>" or ">". */
    wr->el[depth].empty = cur != NULL && cur[0] == '/';
    wr->el[depth].local = local;
    wr->el[depth].prefix = prefix;
    wr->el[depth].renamed = 0;
    if (wr->skip_depth >= 0)
        return;
    end_text(wr);
    if ((rc = write_element(wr, depth, &e, &consumed)) != CSE_OK) {
        write_stop(wr, rc);
        return;
    }
    wr->ws_len = 0;
}

static void w_end(void *ctx, const xmlChar *local, const xmlChar *prefix,
                  const xmlChar *uri)
{
    struct writer *wr = ctx;
    int depth;
    cse_code rc;

    if (wr->rc != CSE_OK)
        return;
    depth = --wr->depth;
    if (wr->skip_depth >= 0) {
        if (depth == wr->skip_depth)
            wr->skip_depth = -1;
        return;
    }
    end_text(wr);
    wr->ws_len = 0;
    if ((rc = end_element(wr, depth)) != CSE_OK)
        write_stop(wr, rc);
}

static int is_blank(const xmlChar *v, int len)
{
    for (int i = 0; i < len; i++)
        if (v[i] != ' ' && v[i] != '\n' && v[i] != '\t' && v[i] != '\r')
            return 0;
    return 1;
}

static void w_text(void *ctx, const xmlChar *v, int len)
{
    struct writer *wr = ctx;

    if (wr->rc != CSE_OK || wr->skip_depth >= 0 || len <= 0)
        return;
    if (wr->in_cdata)
        end_text(wr);
    if (wr->text != 2 && is_blank(v, len)) {
        /* Held until the node ends: written raw when it is all white space. */
        size_t need = wr->blank_len + (size_t)len;
        if (need > wr->blank_cap) {
            size_t cap = wr->blank_cap ? wr->blank_cap : 256;
            char *b;
            while (cap < need)
                cap *= 2;
            if ((b = realloc(wr->blank, cap)) == NULL) {
                write_stop(wr, fail_at(&wr->p, wr->depth - 1, CSE_ERR_NOMEM, 0,
                                       "out of memory"));
                return;
            }
            wr->blank = b;
            wr->blank_cap = cap;
        }
        memcpy(wr->blank + wr->blank_len, v, (size_t)len);
        wr->blank_len = need;
        wr->text = 1;
        return;
    }
    close_tag(wr);
    if (wr->text == 1)
        cse__xo_escape(&wr->o, wr->blank, wr->blank_len, CSE__XO_TEXT);
    wr->blank_len = 0;
    wr->text = 2;
    cse__xo_escape(&wr->o, (const char *)v, (size_t)len, CSE__XO_TEXT);
}

static void w_cdata(void *ctx, const xmlChar *v, int len)
{
    struct writer *wr = ctx;

    if (wr->rc != CSE_OK || wr->skip_depth >= 0)
        return;
    if (!wr->in_cdata) {
        end_text(wr);
        close_tag(wr);
        cse__xo_puts(&wr->o, "<![CDATA[");
        wr->in_cdata = 1;
    }
    cse__xo_put(&wr->o, v, (size_t)len);
}

/* Outside the root the parser reports no whitespace: each comment or
 * processing instruction there goes on its own line. */
static void before_misc(struct writer *wr)
{
    end_text(wr);
    close_tag(wr);
    if (wr->depth == 0 && wr->root_done)
        cse__xo_putc(&wr->o, '\n');
}

static void after_misc(struct writer *wr)
{
    if (wr->depth == 0 && !wr->root_done)
        cse__xo_putc(&wr->o, '\n');
}

static void w_comment(void *ctx, const xmlChar *v)
{
    struct writer *wr = ctx;

    if (wr->rc != CSE_OK || wr->skip_depth >= 0)
        return;
    before_misc(wr);
    cse__xo_puts(&wr->o, "<!--");
    cse__xo_puts(&wr->o, v ? (const char *)v : "");
    cse__xo_puts(&wr->o, "-->");
    after_misc(wr);
}

static void w_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    struct writer *wr = ctx;

    if (wr->rc != CSE_OK || wr->skip_depth >= 0)
        return;
    before_misc(wr);
    cse__xo_puts(&wr->o, "<?");
    cse__xo_puts(&wr->o, (const char *)target);
    if (data) {
        cse__xo_putc(&wr->o, ' ');
        cse__xo_puts(&wr->o, (const char *)data);
    }
    cse__xo_puts(&wr->o, "?>");
    after_misc(wr);
}

static void w_doctype(void *ctx, const xmlChar *name, const xmlChar *ext,
                      const xmlChar *sys)
{
    struct writer *wr = ctx;

    write_stop(wr,
               fail_at(&wr->p, -1, CSE_ERR_UNSUPPORTED, line_of(&wr->p),
                       "a DOCTYPE declaration is refused (GP2GP extracts have none)"));
}

static void w_reference(void *ctx, const xmlChar *name)
{
    struct writer *wr = ctx;

    write_stop(wr, fail_at(&wr->p, wr->depth - 1, CSE_ERR_UNSUPPORTED, line_of(&wr->p),
                           "entity references are refused"));
}

static void w_error(void *ctx, xml_error_ptr e)
{
    on_xml_error(&((struct writer *)ctx)->p, e);
}

static cse_code pass2(struct repair *rp, FILE *out)
{
    struct writer *wr;
    xmlSAXHandler sax;
    cse_code rc = CSE_OK;

    if ((wr = calloc(1, sizeof(*wr))) == NULL)
        return cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "", "out of memory");
    wr->p.rp = rp;
    wr->skip_depth = -1;
    if (rp->in.buf != NULL && rp->in.len > INT_MAX) {
        rc = cse__error_set(rp->err, CSE_ERR_LIMIT, 0, rp->source, "",
                            "input larger than %d bytes in memory", INT_MAX);
        goto out;
    }
    if (cse__xo_init(&wr->o, out, false) != CSE_OK ||
        (wr->el = calloc(rp->max_depth + 1, sizeof(*wr->el))) == NULL ||
        (wr->p.stack = calloc(rp->max_depth + 1, sizeof(*wr->p.stack))) == NULL) {
        rc = cse__error_set(rp->err, CSE_ERR_NOMEM, 0, rp->source, "", "out of memory");
        goto out;
    }
    memset(&sax, 0, sizeof(sax));
    sax.initialized = XML_SAX2_MAGIC;
    sax.startDocument = w_start_document;
    sax.startElementNs = w_start;
    sax.endElementNs = w_end;
    sax.characters = w_text;
    sax.ignorableWhitespace = w_text;
    sax.cdataBlock = w_cdata;
    sax.comment = w_comment;
    sax.processingInstruction = w_pi;
    sax.internalSubset = w_doctype;
    sax.reference = w_reference;
    sax.serror = w_error;
    if ((rc = push_parse(&wr->p, &sax, wr, &wr->rc)) != CSE_OK)
        goto out;
    if (wr->rc != CSE_OK) {
        rc = wr->rc;
        goto out;
    }
    if (wr->p.xml_failed || !wr->p.ctxt->wellFormed) {
        rc = fail_read(&wr->p, wr->depth - 1);
        goto out;
    }
    end_text(wr);
    cse__xo_putc(&wr->o, '\n');
    cse__xo_flush(&wr->o);
    if (wr->o.failed) {
        rc = write_failed(wr, -1);
        goto out;
    }
out:
    promo_clear(wr);
    free_parser(&wr->p);
    free(wr->p.stack);
    free(wr->el);
    cse__xo_free(&wr->o);
    free(wr->blank);
    free(wr);
    if (rc == CSE_OK && (fflush(out) != 0 || ferror(out)))
        rc = cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "",
                            "writing the output failed: %s", strerror(errno));
    return rc;
}

/* ---- entry points ------------------------------------------------------- */

static cse_code run(struct repair *rp, FILE *out)
{
    cse_code rc;

    if ((rc = pass1(rp)) != CSE_OK)
        return rc;
    rp->upgrade = rp->version == 6 && (rp->any_label || rp->n_markers > 0);
    return pass2(rp, out);
}

static cse_code setup(struct repair *rp, const cse_repair_options *opt,
                      cse_repair_report *report, cse_repair_report *scratch,
                      cse_error *err)
{
    memset(rp, 0, sizeof(*rp));
    rp->err = err;
    rp->report = report ? report : scratch;
    memset(rp->report, 0, sizeof(*rp->report));
    rp->max_depth = opt && opt->max_depth ? opt->max_depth : DEFAULT_MAX_DEPTH;
    rp->max_text = opt && opt->max_text ? opt->max_text : DEFAULT_MAX_TEXT;
    rp->max_attr = opt && opt->max_attr ? opt->max_attr : DEFAULT_MAX_ATTR;
    rp->on_item = opt ? opt->on_item : NULL;
    rp->user = opt ? opt->user : NULL;
    rp->in.fd = -1;
    return CSE_OK;
}

static void teardown(struct repair *rp)
{
    free(rp->markers);
    free(rp->comps);
}

/* Copies src (standard input or a pipe) into an unlinked temporary file and
 * returns its descriptor, or -1 with err filled. */
static int spool(struct repair *rp, int src)
{
    const char *dir = getenv("TMPDIR");
    char path[4096], chunk[65536];
    ssize_t n;
    int fd;

    if (dir == NULL || *dir == '\0')
        dir = "/tmp";
    if ((size_t)snprintf(path, sizeof(path), "%s/cse-repair.XXXXXX", dir) >=
        sizeof(path)) {
        cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "", "TMPDIR is too long");
        return -1;
    }
    if ((fd = mkstemp(path)) < 0) {
        cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "",
                       "cannot create a temporary file: %s", strerror(errno));
        return -1;
    }
    unlink(path);
    while ((n = read(src, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || write(fd, chunk, (size_t)n) != n) {
            cse__error_set(rp->err, CSE_ERR_IO, 0, rp->source, "",
                           "cannot spool the input: %s", strerror(errno));
            close(fd);
            return -1;
        }
    }
    return fd;
}

cse_code cse_gp2gp_repair_ex(const char *in_path, FILE *out,
                             const cse_repair_options *opt, cse_repair_report *report,
                             cse_error *err)
{
    struct repair rp;
    cse_repair_report scratch;
    cse_code rc;

    setup(&rp, opt, report, &scratch, err);
    if (in_path == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, in_path, "",
                              "no input path or no output stream");
    rp.source = in_path;
    if (strcmp(in_path, "-") == 0) {
        if ((rp.in.fd = spool(&rp, STDIN_FILENO)) < 0)
            return err ? err->code : CSE_ERR_IO;
    } else {
        if ((rp.in.fd = open(in_path, O_RDONLY | O_CLOEXEC)) < 0)
            return cse__error_set(err, CSE_ERR_IO, 0, in_path, "", "cannot open: %s",
                                  strerror(errno));
        if (lseek(rp.in.fd, 0, SEEK_CUR) < 0) {
            /* A pipe: it cannot be read twice, so spool it. */
            int fd = rp.in.fd;
            rp.in.fd = spool(&rp, fd);
            close(fd);
            if (rp.in.fd < 0)
                return err ? err->code : CSE_ERR_IO;
        }
    }
    rc = run(&rp, out);
    close(rp.in.fd);
    teardown(&rp);
    return rc;
}

cse_code cse_gp2gp_repair(const char *in_path, FILE *out, cse_repair_report *report,
                          cse_error *err)
{
    return cse_gp2gp_repair_ex(in_path, out, NULL, report, err);
}

cse_code cse_gp2gp_repair_memory(const char *buf, size_t len, const char *source_name,
                                 FILE *out, const cse_repair_options *opt,
                                 cse_repair_report *report, cse_error *err)
{
    struct repair rp;
    cse_repair_report scratch;
    cse_code rc;

    setup(&rp, opt, report, &scratch, err);
    rp.source = source_name ? source_name : "(memory)";
    if (buf == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, rp.source, "",
                              "no input buffer or no output stream");
    rp.in.buf = buf;
    rp.in.len = len;
    rc = run(&rp, out);
    teardown(&rp);
    return rc;
}
