/* SPDX-License-Identifier: MIT */
/* The GP2GP writer: a cse_sink that streams an RCMR_IN030000UK07 (or UK06)
 * message through the buffered serialiser in xml_out.c, which writes byte for
 * byte what xmlTextWriter, indenting by two spaces, wrote before it. See
 * gp2gp.h for what it writes and how it groups entries into ehrCompositions.
 * Element order follows RCMR_IN030000UK07.xsd and RCMR_MT030101UK05.xsd
 * exactly; every extract is validated against them in the tests. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "memstream.h"
#include "farena.h"
#include "internal.h"
#include "strmap.h"
#include "xml_out.h"
#include <csemarker/gp2gp.h>

#define HL7_NS "urn:hl7-org:v3"
#define XSI_NS "http://www.w3.org/2001/XMLSchema-instance"
#define OID_ASID "1.2.826.0.1285.0.2.0.107"
#define OID_INTERACTION "2.16.840.1.113883.2.1.3.2.4.12"
#define OID_LOCAL_PATIENT "2.16.840.1.113883.2.1.3.2.4.9"
#define NOPAT_DISPLAY                                                                    \
    "no disclosure to patient, family or caregivers without attending provider's "       \
    "authorization"
#define UUID_NS "csemarker gp2gp"
/* How the sending adaptor codes the composition of a resource outside any
 * consultation, by what it holds (see non_consultation_code()). */
#define CODE_NON_CONSULTATION "196401000000100"
#define TERM_NON_CONSULTATION "Non-consultation data"
#define MAX_COMPOSITION_ENTRIES 4096
#define MAX_CONTAINER_DEPTH 64

/* One buffered entry of the composition being built. */
typedef struct pending {
    cse_entry *e;
    cse_marker *marker; /* copy of info->marker, or NULL */
} pending;

typedef struct writer {
    cse__xo out;
    int uk06;
    char *sender_ods, *receiver_ods, *sender_asid, *receiver_asid, *message_id;
    char now[32]; /* the extract's time, HL7 TS */
    char default_agent[37];
    char request_id[37], limitation_id[37];
    size_t compositions; /* written so far */
    bool begun, directory_closed, ended, failed;

    cse__smap agents;     /* agent UUID -> "" (written) */
    cse__smap containers; /* compound id -> its parent id */
    cse__smap encounters; /* encounter id -> index into headers */
    cse__ptrvec headers;  /* cse_entry* of every encounter seen */
    size_t continuations;

    /* The composition being built. */
    cse_entry *comp; /* the encounter, or NULL for non-consultation data */
    char *comp_key;  /* encounter id, or NULL */
    bool comp_open;  /* a composition is being buffered */
    pending *items;
    size_t n_items, cap_items;
    cse__smap comp_containers; /* ids of the compounds buffered in it */
    int nesting;      /* CompoundStatements open around the statement being written */
    cse__ptrvec orgs; /* cse_agent* of every organisation written */
    const cse_agent *rep_org; /* the organisation of the person being written */
    char anon_seed[37];       /* the patient's, for entries given no id */
    unsigned long n_anon;     /* entries given no id, so far */
    /* The maps of every encounter, compound and agent seen live in a spill
     * arena (farena.h), and only the last RECENT_HEADERS encounters' headers
     * are kept, so that memory does not grow with the record. */
    cse__farena *fa;
} writer;

/* Encounter headers kept for continuation compositions. The FHIR reader
 * delivers each encounter's entries right after it, so only the newest are
 * ever needed; an entry for an older one is an error (see w_entry). */
#define RECENT_HEADERS 64

static cse_code nomem(cse_error *err)
{
    return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

static cse_code io_fail(writer *wr, cse_error *err)
{
    wr->failed = true;
    return cse__error_set(err, CSE_ERR_IO, 0, NULL, NULL, "writing the extract failed");
}

/* ---- Ids --------------------------------------------------------------- */

/* The id of an entry that came with none: derived from the patient, the
 * container it is in, its kind and its place among such entries, so the same
 * input always gives the same extract (never a random one). */
static cse_code anon_id(writer *wr, const cse_entry *e, char out[37], cse_error *err)
{
    char name[400];
    snprintf(name, sizeof(name), "%s|%s|%s|%lu", wr->anon_seed,
             e->parent_id ? e->parent_id : "", cse_entry_kind_name(e->kind),
             wr->n_anon++);
    if (cse_uuid_derive(UUID_NS " no id", name, out) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    return CSE_OK;
}

/* The GP2GP id for a source id: the upper-cased id when it is a UUID,
 * otherwise one derived from it. */
static void to_uuid(const char *id, char out[37])
{
    char up[37];
    if (id && strlen(id) == 36) {
        for (int i = 0; i < 36; i++)
            up[i] = (char)(id[i] >= 'a' && id[i] <= 'f' ? id[i] - 32 : id[i]);
        up[36] = '\0';
        if (cse_uuid_valid(up)) {
            memcpy(out, up, 37);
            return;
        }
    }
    if (cse_uuid_derive(UUID_NS, id ? id : "", out) != CSE_OK)
        snprintf(out, 37, "00000000-0000-5000-8000-000000000000");
}

/* ---- XML helpers ------------------------------------------------------- */

#define W(call)                                                                          \
    do {                                                                                 \
        if ((call) < 0)                                                                  \
            return io_fail(wr, err);                                                     \
    } while (0)

static int start(writer *wr, const char *name)
{
    return cse__xo_start(&wr->out, name);
}

static int end(writer *wr)
{
    return cse__xo_end(&wr->out);
}

static int attr(writer *wr, const char *name, const char *value)
{
    return cse__xo_attr(&wr->out, name, value);
}

/* <name a1="v1" a2="v2" .../> with NULL-terminated pairs. */
static int empty(writer *wr, const char *name, ...)
{
    va_list ap;
    const char *a, *v;
    int rc = start(wr, name);

    va_start(ap, name);
    while (rc >= 0 && (a = va_arg(ap, const char *)) != NULL) {
        v = va_arg(ap, const char *);
        if (v != NULL)
            rc = attr(wr, a, v);
    }
    va_end(ap);
    return rc < 0 ? rc : end(wr);
}

static int text_element(writer *wr, const char *name, const char *text)
{
    return cse__xo_text_element(&wr->out, name, text);
}

static int write_id(writer *wr, const char *uuid)
{
    return empty(wr, "id", "root", uuid, NULL);
}

static int write_ts(writer *wr, const char *name, const cse_time *t)
{
    char buf[32];
    if (t == NULL || t->precision == CSE_TIME_NONE)
        return empty(wr, name, "nullFlavor", "UNK", NULL);
    return empty(wr, name, "value", cse_time_format_hl7(t, buf, sizeof(buf)), NULL);
}

static cse_code write_effective(writer *wr, const cse_entry *e, cse_error *err)
{
    W(start(wr, "effectiveTime"));
    if (e->effective_low.precision || e->effective_high.precision) {
        /* An interval with only an end still says its start is unknown. */
        W(write_ts(wr, "low", &e->effective_low));
        if (e->effective_high.precision)
            W(write_ts(wr, "high", &e->effective_high));
    } else if (e->effective_center.precision) {
        W(write_ts(wr, "center", &e->effective_center));
    } else if (e->availability.precision && e->kind != CSE_ENTRY_ALLERGY &&
               e->kind != CSE_ENTRY_PLAN) {
        /* A plan with no date planned stays undated, as the sending adaptor
         * writes it: when it was made is not when it is due. */
        W(write_ts(wr, "center", &e->availability));
    } else {
        W(empty(wr, "center", "nullFlavor", "UNK", NULL));
    }
    W(end(wr));
    return CSE_OK;
}

static const cse_time *availability(const cse_entry *e)
{
    /* An allergy is available from the date it was asserted (recorded), as
     * the sending adaptor writes it: not from its onset. */
    if (e->availability.precision || e->kind == CSE_ENTRY_ALLERGY)
        return &e->availability;
    if (e->effective_low.precision)
        return &e->effective_low;
    if (e->effective_center.precision)
        return &e->effective_center;
    /* An observation known only by when its period ended is not dated by
     * that end (the adaptor writes nullFlavor UNK). */
    if (e->kind == CSE_ENTRY_OBSERVATION)
        return &e->availability;
    return &e->effective_high;
}

static bool is_snomed(const cse_coding *k)
{
    return k->system && strcmp(k->system, CSE_SYSTEM_SNOMED) == 0;
}

/* A concept as CD/CE: a SNOMED CT code (the marker concept when there is
 * one) as `code`, other codes with a GP2GP OID as `translation`; with no
 * SNOMED code, nullFlavor UNK and the original text. */
static cse_code write_code_as(writer *wr, const char *name, const char *xsi_type,
                              const cse_concept *c, cse_error *err);

static cse_code write_code(writer *wr, const char *name, const cse_concept *c,
                           cse_error *err)
{
    return write_code_as(wr, name, NULL, c, err);
}

/* The same with an xsi:type (a CD in a value). */
static cse_code write_code_as(writer *wr, const char *name, const char *xsi_type,
                              const cse_concept *c, cse_error *err)
{
    const cse_coding *primary = NULL;
    const char *marker = cse_concept_marker_code(c);
    const char *text = c->text;

    for (size_t i = 0; i < c->n && primary == NULL; i++)
        if (is_snomed(&c->codings[i]) &&
            (marker == NULL || strcmp(c->codings[i].code, marker) == 0))
            primary = &c->codings[i];
    W(start(wr, name));
    if (xsi_type)
        W(attr(wr, "xsi:type", xsi_type));
    if (primary) {
        const char *display =
            primary->display ? primary->display : cse_code_term(primary->code);
        W(attr(wr, "code", primary->code));
        W(attr(wr, "codeSystem", CSE_OID_SNOMED));
        if (display && *display)
            W(attr(wr, "displayName", display));
    } else {
        W(attr(wr, "nullFlavor", "UNK"));
        for (size_t i = 0; text == NULL && i < c->n; i++)
            text = c->codings[i].display;
    }
    if (text && *text)
        W(text_element(wr, "originalText", text));
    for (size_t i = 0; i < c->n; i++) {
        const cse_coding *k = &c->codings[i];
        const char *oid = cse_system_to_oid(k->system);
        if (k == primary || oid == NULL)
            continue;
        W(start(wr, "translation"));
        W(attr(wr, "code", k->code));
        W(attr(wr, "codeSystem", oid));
        if (k->display && *k->display)
            W(attr(wr, "displayName", k->display));
        W(end(wr));
    }
    W(end(wr));
    return CSE_OK;
}

static cse_code write_nopat(writer *wr, cse_error *err)
{
    W(empty(wr, "confidentialityCode", "code", "NOPAT", "codeSystem",
            CSE_OID_NOPAT_SYSTEM, "displayName", NOPAT_DISPLAY, NULL));
    return CSE_OK;
}

/* The agent an entry names, when it was written; the sending practice
 * otherwise, so every agentRef resolves. */
static void agent_uuid(const writer *wr, const char *ref, char out[37])
{
    if (ref) {
        to_uuid(ref, out);
        if (cse__smap_has(&wr->agents, out))
            return;
    }
    memcpy(out, wr->default_agent, 37);
}

static cse_code write_agent_ref(writer *wr, const char *ref, cse_error *err)
{
    char id[37];
    agent_uuid(wr, ref, id);
    W(start(wr, "agentRef"));
    W(attr(wr, "classCode", "AGNT"));
    W(write_id(wr, id));
    W(end(wr));
    return CSE_OK;
}

static cse_code write_participant(writer *wr, const cse_entry *e, cse_error *err)
{
    W(start(wr, "Participant"));
    W(attr(wr, "typeCode", "PRF"));
    W(attr(wr, "contextControlCode", "OP"));
    if (write_agent_ref(wr, e->author_ref, err) != CSE_OK)
        return err ? err->code : CSE_ERR_IO;
    W(end(wr));
    return CSE_OK;
}

static cse_code write_annotations(writer *wr, char **notes, size_t n, cse_error *err)
{
    /* The schema allows three; the rest join the third. */
    for (size_t i = 0; i < n && i < 3; i++) {
        char seq[8];
        snprintf(seq, sizeof(seq), "+%zu", i + 1);
        W(start(wr, "pertinentInformation"));
        W(attr(wr, "typeCode", "PERT"));
        W(empty(wr, "sequenceNumber", "value", seq, NULL));
        W(start(wr, "pertinentAnnotation"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN"));
        W(start(wr, "text"));
        for (size_t j = i; j < n && (j == i || i == 2); j++) {
            if (j > i)
                W(cse__xo_text(&wr->out, "\n"));
            W(cse__xo_text(&wr->out, notes[j]));
        }
        W(end(wr));
        W(end(wr));
        W(end(wr));
    }
    return CSE_OK;
}

/* ---- Statements -------------------------------------------------------- */

/* A statement carries NOPAT when it is a marker or was labelled, itself or by
 * the composition or compound it was read from: the label then travels on
 * the statement, so the composition need not carry it. */
static bool labelled(const cse_entry *e, const cse_marker *m)
{
    return m != NULL || ((e->labels | e->inherited_labels) & CSE_LABEL_NOPAT);
}

/* Opens a statement: <component typeCode="COMP"><NAME classCode moodCode>. */
static cse_code open_statement(writer *wr, const char *name, const char *class_code,
                               const char *mood, cse_error *err)
{
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    if (wr->nesting > 0)
        W(attr(wr, "contextConductionInd", "true"));
    W(start(wr, name));
    W(attr(wr, "classCode", class_code));
    W(attr(wr, "moodCode", mood));
    return CSE_OK;
}

static cse_code close_statement(writer *wr, cse_error *err)
{
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

#define TRY(x)                                                                           \
    do {                                                                                 \
        cse_code rc_ = (x);                                                              \
        if (rc_ != CSE_OK)                                                               \
            return rc_;                                                                  \
    } while (0)

/* A PQ-style quantity's attributes: the UCUM code as unit when there is one,
 * else unit "1" with the unit as written in a translation (as the sending
 * adaptor writes them). */
static cse_code write_pq_body(writer *wr, const cse_quantity *q, bool with_translation,
                              cse_error *err)
{
    W(attr(wr, "value", q->value));
    W(attr(wr, "unit", q->ucum && *q->ucum ? q->ucum : "1"));
    if (with_translation && !(q->ucum && *q->ucum) && q->unit && *q->unit) {
        W(start(wr, "translation"));
        W(attr(wr, "value", q->value));
        W(text_element(wr, "originalText", q->unit));
        W(end(wr));
    }
    return CSE_OK;
}

/* low/high of an IVL_PQ, each with its own unit; inclusive only when said. */
static cse_code write_ivl_ends(writer *wr, const cse_quantity *low,
                               const cse_quantity *high, const char *inclusive,
                               cse_error *err)
{
    const cse_quantity *ends[2] = {low, high};
    static const char *const names[2] = {"low", "high"};
    for (int i = 0; i < 2; i++) {
        const cse_quantity *q = ends[i];
        if (q == NULL || !cse_quantity_present(q))
            continue;
        W(start(wr, names[i]));
        W(attr(wr, "value", q->value));
        if ((q->ucum && *q->ucum) || (q->unit && *q->unit))
            W(attr(wr, "unit", q->ucum && *q->ucum ? q->ucum : q->unit));
        if (inclusive)
            W(attr(wr, "inclusive", inclusive));
        W(end(wr));
    }
    return CSE_OK;
}

/* The observation's value in the type it has: PQ (a comparator makes it an
 * IVL_PQ bound), CD, ST, IVL_PQ; or the text form as ST. */
static cse_code write_value(writer *wr, const cse_entry *e, cse_error *err)
{
    const cse_value *v = &e->val;

    if (v->kind == CSE_VALUE_QUANTITY && cse_quantity_present(&v->quantity)) {
        const char *cmp = v->quantity.comparator;
        W(start(wr, "value"));
        if (cmp && *cmp) {
            bool low = cmp[0] == '>';
            W(attr(wr, "xsi:type", "IVL_PQ"));
            TRY(write_ivl_ends(wr, low ? &v->quantity : NULL, low ? NULL : &v->quantity,
                               cmp[1] == '=' ? "true" : "false", err));
        } else {
            W(attr(wr, "xsi:type", "PQ"));
            TRY(write_pq_body(wr, &v->quantity, true, err));
        }
        W(end(wr));
        return CSE_OK;
    }
    if (v->kind == CSE_VALUE_RANGE) {
        W(start(wr, "value"));
        W(attr(wr, "xsi:type", "IVL_PQ"));
        TRY(write_ivl_ends(wr, &v->range.low, &v->range.high, NULL, err));
        W(end(wr));
        return CSE_OK;
    }
    {
        const char *text = v->kind == CSE_VALUE_TEXT ? v->text : e->value;
        if (text && *text) {
            W(start(wr, "value"));
            W(attr(wr, "xsi:type", "ST"));
            W(cse__xo_text(&wr->out, text));
            W(end(wr));
        }
    }
    return CSE_OK;
}

/* The HL7 interpretation for a FHIR one: H/HH/HU above, L/LL/LU below,
 * A/AA abnormal (the sending adaptor's table), or an HL7 code already. */
static bool interpretation_hl7(const cse_concept *c, const char **code, const char **disp,
                               const char **text)
{
    for (size_t i = 0; i < c->n; i++) {
        const char *k = c->codings[i].code, *sys = c->codings[i].system;
        /* Only the FHIR and HL7 interpretation code systems say what H means. */
        if (k == NULL || sys == NULL ||
            !(strstr(sys, "0078") || strstr(sys, "ObservationInterpretation") ||
              strstr(sys, "2.16.840.1.113883.2.1.6.5")))
            continue;
        *text = c->codings[i].display ? c->codings[i].display : c->text;
        if (strcmp(k, "H") == 0 || strcmp(k, "HH") == 0 || strcmp(k, "HU") == 0 ||
            strcmp(k, "HI") == 0) {
            *code = "HI", *disp = "Above high reference limit";
            return true;
        }
        if (strcmp(k, "L") == 0 || strcmp(k, "LL") == 0 || strcmp(k, "LU") == 0 ||
            strcmp(k, "LO") == 0) {
            *code = "LO", *disp = "Below low reference limit";
            return true;
        }
        if (strcmp(k, "A") == 0 || strcmp(k, "AA") == 0 || strcmp(k, "PA") == 0) {
            *code = "PA", *disp = "Potentially abnormal";
            return true;
        }
    }
    return false;
}

/* What the statement's structure cannot carry goes before its first note, as
 * the sending adaptor writes it: reference ranges when there is no value, an
 * interpretation without an HL7 code. New string (caller frees) or NULL. */
static char *observation_preamble(const cse_entry *e, bool ranges_in_text)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    const char *c, *d, *t;

    const char *range_unit = NULL;

    /* A range in other units than the value's: the structure cannot say so. */
    if (!ranges_in_text && e->n_ref_ranges && e->val.kind == CSE_VALUE_QUANTITY &&
        e->val.quantity.unit) {
        const cse_range *r0 = &e->ref_ranges[0];
        range_unit = r0->high.value && r0->high.unit ? r0->high.unit
                     : r0->low.value                 ? r0->low.unit
                                                     : NULL;
        if (range_unit && strcmp(range_unit, e->val.quantity.unit) == 0)
            range_unit = NULL;
    }
    if (!(ranges_in_text && e->n_ref_ranges) && range_unit == NULL &&
        !(e->interpretation.n + (e->interpretation.text != NULL) &&
          !interpretation_hl7(&e->interpretation, &c, &d, &t)))
        return NULL;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return NULL;
    for (size_t i = 0; ranges_in_text && i < e->n_ref_ranges; i++) {
        const cse_range *r = &e->ref_ranges[i];
        fputs(ftell(f) ? " Range:" : "Range:", f);
        if (r->text)
            fprintf(f, " Text: %s", r->text);
        if (cse_quantity_present(&r->low))
            fprintf(f, " Low: %s%s%s", r->low.value, r->low.unit ? " " : "",
                    r->low.unit ? r->low.unit : "");
        if (cse_quantity_present(&r->high))
            fprintf(f, " High: %s%s%s", r->high.value, r->high.unit ? " " : "",
                    r->high.unit ? r->high.unit : "");
    }
    if (range_unit)
        fprintf(f, "Range Units: %s", range_unit);
    if ((e->interpretation.n || e->interpretation.text) &&
        !interpretation_hl7(&e->interpretation, &c, &d, &t)) {
        const char *it = e->interpretation.text;
        if (it == NULL && e->interpretation.n)
            it = e->interpretation.codings[0].display
                     ? e->interpretation.codings[0].display
                     : e->interpretation.codings[0].code;
        if (it)
            fprintf(f, "%sInterpretation: %s", ftell(f) ? " " : "", it);
    }
    if (fclose(f) != 0 || len == 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static cse_code observation_body(writer *wr, const cse_entry *e, const char *id,
                                 bool nopat, const char *mood, const char *ptype,
                                 cse_error *err);

static cse_code observation(writer *wr, const cse_entry *e, const char *id, bool nopat,
                            cse_error *err)
{
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    if (wr->nesting > 0)
        W(attr(wr, "contextConductionInd", "true"));
    TRY(observation_body(wr, e, id, nopat, "EVN", "PRF", err));
    W(end(wr));
    return CSE_OK;
}

/* <ObservationStatement classCode="OBS" moodCode=mood> and what it holds. */
static cse_code observation_body(writer *wr, const cse_entry *e, const char *id,
                                 bool nopat, const char *mood, const char *ptype,
                                 cse_error *err)
{
    bool has_value = e->val.kind != CSE_VALUE_NONE || (e->value && *e->value);
    const char *icode, *idisp, *itext;
    char *pre;
    cse_code rc = CSE_OK;

    W(start(wr, "ObservationStatement"));
    W(attr(wr, "classCode", "OBS"));
    W(attr(wr, "moodCode", mood));
    W(write_id(wr, id));
    TRY(write_code(wr, "code", &e->code, err));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    TRY(write_effective(wr, e, err));
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (nopat)
        TRY(write_nopat(wr, err));
    if (e->val.kind == CSE_VALUE_CODED && (e->val.coded.n || e->val.coded.text)) {
        /* write_code() names the element; the type goes on it afterwards. */
        TRY(write_code_as(wr, "value", "CD", &e->val.coded, err));
    } else {
        TRY(write_value(wr, e, err));
    }
    if (interpretation_hl7(&e->interpretation, &icode, &idisp, &itext)) {
        W(start(wr, "interpretationCode"));
        W(attr(wr, "code", icode));
        W(attr(wr, "codeSystem", "2.16.840.1.113883.2.1.6.5"));
        W(attr(wr, "displayName", idisp));
        if (itext && *itext)
            W(text_element(wr, "originalText", itext));
        W(end(wr));
    }
    if ((pre = observation_preamble(e, !has_value)) != NULL) {
        char **notes = calloc(e->n_annotations + 1, sizeof(*notes));
        char *first = NULL;
        if (notes == NULL) {
            free(pre);
            return nomem(err);
        }
        if (e->n_annotations && asprintf(&first, "%s\n%s", pre, e->annotations[0]) < 0)
            first = NULL;
        notes[0] = first ? first : pre;
        for (size_t i = 1; i < e->n_annotations; i++)
            notes[i] = e->annotations[i];
        rc = write_annotations(wr, notes, e->n_annotations ? e->n_annotations : 1, err);
        free(first);
        free(notes);
        free(pre);
        TRY(rc);
    } else {
        TRY(write_annotations(wr, e->annotations, e->n_annotations, err));
    }
    for (size_t i = 0; has_value && i < e->n_ref_ranges; i++) {
        const cse_range *r = &e->ref_ranges[i];
        W(start(wr, "referenceRange"));
        W(attr(wr, "typeCode", "REFV"));
        W(start(wr, "referenceInterpretationRange"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN.CRT"));
        if (r->text && *r->text)
            W(text_element(wr, "text", r->text));
        if (cse_quantity_present(&r->low) || cse_quantity_present(&r->high)) {
            W(start(wr, "value"));
            TRY(write_ivl_ends(wr, &r->low, &r->high, NULL, err));
            W(end(wr));
        }
        W(end(wr));
        W(end(wr));
    }
    /* A laboratory result names no one (the report names its performer). */
    if (!(e->path.role == CSE_PATH_RESULT && e->path.report_id)) {
        W(start(wr, "Participant"));
        W(attr(wr, "typeCode", ptype));
        W(attr(wr, "contextControlCode", "OP"));
        TRY(write_agent_ref(wr, e->author_ref, err));
        W(end(wr));
    }
    if (strcmp(ptype, "AUT") == 0) {
        /* Who recorded it, then who performed (asserted) it. */
        W(start(wr, "Participant"));
        W(attr(wr, "typeCode", "PRF"));
        W(attr(wr, "contextControlCode", "OP"));
        TRY(write_agent_ref(wr, e->performer_ref ? e->performer_ref : e->author_ref,
                            err));
        W(end(wr));
    }
    W(end(wr));
    return CSE_OK;
}

/* The text of a narrative-like entry: its notes, else its original text. */
static const char *entry_text(const cse_entry *e)
{
    if (e->n_annotations)
        return e->annotations[0];
    if (e->code.text)
        return e->code.text;
    if (e->code.n && e->code.codings[0].display)
        return e->code.codings[0].display;
    return NULL;
}

/* Where the document is: its reference as read when it has a scheme
 * ("file://", "cid:"), else a file named by it (or by the document's id when
 * the source named none), as the sending adaptor names the files it sends. */
static cse_code write_document_ref(writer *wr, const char *ref, const char *doc_id,
                                   cse_error *err)
{
    char *v = NULL;
    int rc;
    if (ref && *ref && strstr(ref, ":") != NULL)
        return empty(wr, "reference", "value", ref, NULL) < 0 ? io_fail(wr, err) : CSE_OK;
    if (asprintf(&v, "file://localhost/%s", ref && *ref ? ref : doc_id) < 0)
        return nomem(err);
    rc = empty(wr, "reference", "value", v, NULL);
    free(v);
    return rc < 0 ? io_fail(wr, err) : CSE_OK;
}

static cse_code narrative(writer *wr, const cse_entry *e, const char *id, bool nopat,
                          const char *doc_id, cse_error *err)
{
    const char *text = entry_text(e);
    bool pmip = e->path.role == CSE_PATH_COMMENT && e->path.report_id;
    TRY(open_statement(wr, "NarrativeStatement", "OBS", "EVN", err));
    W(write_id(wr, id));
    W(start(wr, "text"));
    /* A laboratory comment is PMIP text ("CommentType:..."), as the sending
     * adaptor marks it. */
    if (pmip)
        W(attr(wr, "mediaType", "text/x-h7uk-pmip"));
    W(cse__xo_text(&wr->out, text && *text ? text : doc_id ? "Attachment" : "Note"));
    W(end(wr));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (nopat)
        TRY(write_nopat(wr, err));
    if (!pmip)
        TRY(write_participant(wr, e, err));
    if (doc_id) {
        W(start(wr, "reference"));
        W(attr(wr, "typeCode", "REFR"));
        W(start(wr, "referredToExternalDocument"));
        W(attr(wr, "classCode", "DOC"));
        W(attr(wr, "moodCode", "EVN"));
        W(write_id(wr, doc_id));
        TRY(write_code(wr, "code", &e->code, err));
        W(start(wr, "text"));
        W(attr(wr, "mediaType", e->doc.media_type ? e->doc.media_type : "text/plain"));
        TRY(write_document_ref(wr, e->value, doc_id, err));
        W(end(wr));
        /* The label travels on the document too, where the sending adaptor
         * writes it. */
        if (nopat)
            TRY(write_nopat(wr, err));
        W(end(wr));
        W(end(wr));
    }
    return close_statement(wr, err);
}

/* Plan and request statements share a shape. */
static cse_code request_like(writer *wr, const char *name, const cse_entry *e,
                             const char *id, bool nopat, cse_error *err)
{
    const char *text = e->n_annotations ? e->annotations[0] : NULL;
    bool referral = e->kind == CSE_ENTRY_REQUEST;
    const char *prio = e->req.priority;
    cse_concept code = {0};
    cse_code rc;

    TRY(open_statement(wr, name, "OBS", referral ? "RQO" : "INT", err));
    W(write_id(wr, id));
    if (referral) {
        /* The sending adaptor codes every referral "Patient referral"; what
         * was asked for stays as translations (and in the text). */
        rc = cse_concept_add(&code, CSE_SYSTEM_SNOMED, "3457005", "Patient referral");
        for (size_t i = 0; rc == CSE_OK && i < e->code.n; i++)
            if (e->code.codings[i].system && e->code.codings[i].code &&
                strcmp(e->code.codings[i].code, "3457005") != 0)
                rc = cse_concept_add(&code, e->code.codings[i].system,
                                     e->code.codings[i].code, e->code.codings[i].display);
        if (rc == CSE_OK)
            rc = write_code(wr, "code", &code, err);
        cse_concept_clear(&code);
        TRY(rc);
    } else {
        TRY(write_code(wr, "code", &e->code, err));
    }
    if ((text && *text) || referral)
        W(text_element(wr, "text", text ? text : ""));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    if (referral && !e->effective_center.precision && !e->effective_low.precision) {
        W(start(wr, "effectiveTime"));
        W(empty(wr, "center", "nullFlavor", "NI", NULL));
        W(end(wr));
    } else {
        TRY(write_effective(wr, e, err));
    }
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (prio && (strcmp(prio, "routine") == 0 || strcmp(prio, "urgent") == 0)) {
        bool normal = strcmp(prio, "routine") == 0;
        W(start(wr, "priorityCode"));
        W(attr(wr, "code", normal ? "394848005" : "394849002"));
        W(attr(wr, "codeSystem", CSE_OID_SNOMED));
        W(attr(wr, "displayName", normal ? "Normal" : "High"));
        W(text_element(wr, "originalText", normal ? "Routine" : "Urgent"));
        W(end(wr));
    }
    if (nopat)
        TRY(write_nopat(wr, err));
    if (referral && e->req.recipient_ref) {
        /* The practitioner it is for. */
        W(start(wr, "responsibleParty"));
        W(attr(wr, "typeCode", "RESP"));
        TRY(write_agent_ref(wr, e->req.recipient_ref, err));
        W(end(wr));
    }
    if (referral && e->author_ref) {
        /* The requester, as the sending adaptor names it; none when unknown. */
        W(start(wr, "Participant"));
        W(attr(wr, "typeCode", "AUT"));
        W(attr(wr, "contextControlCode", "OP"));
        TRY(write_agent_ref(wr, e->author_ref, err));
        W(end(wr));
    } else if (!referral) {
        TRY(write_participant(wr, e, err));
    }
    return close_statement(wr, err);
}

/* quantity value="100" unit="1" with the unit as written in a translation,
 * as the sending adaptor writes a supply's quantity; 1 "Unk UoM" when none. */
static cse_code write_supply_quantity(writer *wr, const cse_supply *sp, cse_error *err)
{
    const char *value = sp->quantity.value ? sp->quantity.value : "1";
    const char *unit = sp->quantity_text   ? sp->quantity_text
                       : sp->quantity.unit ? sp->quantity.unit
                                           : "Unk UoM";
    W(start(wr, "quantity"));
    W(attr(wr, "value", value));
    W(attr(wr, "unit", "1"));
    if (unit && *unit) {
        W(start(wr, "translation"));
        W(attr(wr, "value", value));
        W(text_element(wr, "originalText", unit));
        W(end(wr));
    }
    W(end(wr));
    return CSE_OK;
}

static cse_code write_supply_notes(writer *wr, const cse_supply *sp, cse_error *err)
{
    if (sp->kind == CSE_SUPPLY_DISCONTINUE && sp->n_notes == 0) {
        /* A discontinuation whose reason nobody gave: said so, as the
         * sending adaptor writes it (the GP2GP reader drops it again). */
        W(start(wr, "pertinentInformation"));
        W(attr(wr, "typeCode", "PERT"));
        W(start(wr, "pertinentSupplyAnnotation"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN"));
        W(attr(wr, "nullFlavor", "UNK"));
        W(text_element(wr, "text", "Stopped"));
        W(end(wr));
        W(end(wr));
    }
    for (size_t i = 0; i < sp->n_notes; i++) {
        if (sp->notes[i] == NULL || *sp->notes[i] == '\0')
            continue;
        W(start(wr, "pertinentInformation"));
        W(attr(wr, "typeCode", "PERT"));
        W(start(wr, "pertinentSupplyAnnotation"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN"));
        W(text_element(wr, "text", sp->notes[i]));
        W(end(wr));
        W(end(wr));
    }
    return CSE_OK;
}

static cse_code write_prior_ref(writer *wr, const char *wrapper, const char *type_code,
                                const char *mood, const char *prior, cse_error *err)
{
    char pid[37];
    to_uuid(prior, pid);
    W(start(wr, wrapper));
    W(attr(wr, "typeCode", type_code));
    W(start(wr, "priorMedicationRef"));
    W(attr(wr, "classCode", "SBADM"));
    W(attr(wr, "moodCode", mood));
    W(write_id(wr, pid));
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

/* One ehrSupplyAuthorise, ehrSupplyPrescribe or ehrSupplyDiscontinue, in the
 * element order of RCMR_MT030101UK05 (which gives them no confidentialityCode:
 * the statement's label covers them). */
static cse_code write_supply(writer *wr, const cse_supply *sp, const char *sid,
                             cse_error *err)
{
    static const char *const names[] = {"ehrSupplyAuthorise", "ehrSupplyPrescribe",
                                        "ehrSupplyDiscontinue"};
    char id[37];
    cse_concept none = {0};

    if (sp->id)
        to_uuid(sp->id, id);
    else if (cse_uuid_derive(UUID_NS " supply", sid, id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    W(start(wr, names[sp->kind]));
    W(attr(wr, "classCode", "SPLY"));
    W(attr(wr, "moodCode",
           sp->kind == CSE_SUPPLY_PRESCRIBE   ? "RQO"
           : sp->kind == CSE_SUPPLY_AUTHORISE ? "INT"
                                              : "RQO"));
    W(write_id(wr, id));
    TRY(write_code(wr, "code", sp->code.n || sp->code.text ? &sp->code : &none, err));
    W(empty(wr, "statusCode", "code", sp->status ? sp->status : "COMPLETE", NULL));
    if (sp->kind == CSE_SUPPLY_AUTHORISE) {
        W(start(wr, "effectiveTime"));
        if (sp->effective_low.precision || sp->effective_high.precision) {
            if (sp->effective_low.precision)
                W(write_ts(wr, "low", &sp->effective_low));
            if (sp->effective_high.precision)
                W(write_ts(wr, "high", &sp->effective_high));
        } else {
            W(write_ts(wr, "center",
                       sp->effective_center.precision ? &sp->effective_center
                                                      : &sp->availability));
        }
        W(end(wr));
    }
    W(write_ts(wr, "availabilityTime",
               sp->availability.precision    ? &sp->availability
               : sp->effective_low.precision ? &sp->effective_low
                                             : &sp->effective_center));
    if (sp->kind == CSE_SUPPLY_AUTHORISE && sp->repeats >= 0) {
        char n[16];
        snprintf(n, sizeof(n), "%d", sp->repeats);
        W(empty(wr, "repeatNumber", "value", n, NULL));
    }
    if (sp->kind != CSE_SUPPLY_DISCONTINUE)
        TRY(write_supply_quantity(wr, sp, err));
    if (sp->kind == CSE_SUPPLY_PRESCRIBE && sp->prior_id)
        TRY(write_prior_ref(wr, "inFulfillmentOf", "FLFS", "INT", sp->prior_id, err));
    if (sp->kind == CSE_SUPPLY_DISCONTINUE && sp->prior_id)
        TRY(write_prior_ref(wr, "reversalOf", "REV", "ORD", sp->prior_id, err));
    TRY(write_supply_notes(wr, sp, err));
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

static cse_code medication(writer *wr, const cse_entry *e, const char *id, bool nopat,
                           cse_error *err)
{
    const char *dosage = e->med.dosage && *e->med.dosage          ? e->med.dosage
                         : e->n_annotations && *e->annotations[0] ? e->annotations[0]
                                                                  : NULL;
    const char *status = e->effective_high.precision ? "COMPLETE" : "ACTIVE";
    char own[37];

    if (e->med.n_supplies && e->med.supplies[0].status)
        status = e->med.supplies[0].status;
    /* A MedicationRequest gives its id to its supply, which others name
     * (inFulfillmentOf, reversalOf): the statement then gets one of its own. */
    for (size_t i = 0; e->id && i < e->med.n_supplies; i++) {
        if (e->med.supplies[i].id && strcmp(e->med.supplies[i].id, e->id) == 0) {
            if (cse_uuid_derive(UUID_NS " medication", e->id, own) != CSE_OK)
                return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
            id = own;
            break;
        }
    }
    TRY(open_statement(wr, "MedicationStatement", "SBADM",
                       e->mood_code && *e->mood_code ? e->mood_code : "INT", err));
    W(write_id(wr, id));
    W(empty(wr, "statusCode", "code", status, NULL));
    TRY(write_effective(wr, e, err));
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (nopat)
        TRY(write_nopat(wr, err));
    W(start(wr, "consumable"));
    W(attr(wr, "typeCode", "CSM"));
    W(start(wr, "manufacturedProduct"));
    W(attr(wr, "classCode", "MANU"));
    W(start(wr, "manufacturedMaterial"));
    W(attr(wr, "classCode", "MMAT"));
    W(attr(wr, "determinerCode", "KIND"));
    TRY(write_code(wr, "code", &e->code, err));
    W(end(wr));
    W(end(wr));
    W(end(wr));
    for (size_t i = 0; i < e->med.n_supplies; i++)
        TRY(write_supply(wr, &e->med.supplies[i], e->id ? e->id : id, err));
    W(start(wr, "pertinentInformation"));
    W(attr(wr, "typeCode", "PERT"));
    W(start(wr, "pertinentMedicationDosage"));
    W(attr(wr, "classCode", "SBADM"));
    W(attr(wr, "moodCode", "RMD"));
    W(text_element(wr, "text", dosage ? dosage : "No information available"));
    W(end(wr));
    W(end(wr));
    /* The prescriber who recorded it, as the sending adaptor names it. */
    W(start(wr, "Participant"));
    W(attr(wr, "typeCode", "AUT"));
    W(attr(wr, "contextControlCode", "OP"));
    TRY(write_agent_ref(wr, e->author_ref, err));
    W(end(wr));
    return close_statement(wr, err);
}

/* A problem: an ObservationStatement for the condition and a LinkSet that
 * names it, as the national sending adaptor writes a Condition. */
static cse_code problem(writer *wr, const cse_entry *e, const char *id, bool nopat,
                        cse_error *err)
{
    char named[37], link[37];
    const char *st = e->status;
    bool active =
        st ? (strcasecmp(st, "active") == 0 || strcasecmp(st, "recurrence") == 0 ||
              strcasecmp(st, "relapse") == 0)
           : e->effective_high.precision == CSE_TIME_NONE;
    const char *sig = e->problem.significance;
    bool major = sig && strcmp(sig, "major") == 0;

    if (e->problem.named_id) {
        /* The statement that names it is an entry of its own. */
        to_uuid(e->problem.named_id, named);
    } else {
        if (cse_uuid_derive(UUID_NS " problem", id, named) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
        TRY(observation(wr, e, named, nopat, err));
    }
    TRY(open_statement(wr, "LinkSet", "OBS", "EVN", err));
    W(write_id(wr, id));
    /* As the sending adaptor writes the problem header: its state, and its
     * significance as a qualifier. */
    W(start(wr, "code"));
    W(attr(wr, "code", active ? "394774009" : "394775005"));
    W(attr(wr, "codeSystem", CSE_OID_SNOMED));
    W(attr(wr, "displayName", active ? "Active Problem" : "Inactive Problem"));
    {
        char text[64];
        snprintf(text, sizeof(text), "%s Problem, %s", active ? "Active" : "Inactive",
                 major ? "major" : "minor");
        W(text_element(wr, "originalText", text));
    }
    W(start(wr, "qualifier"));
    W(attr(wr, "inverted", "false"));
    W(empty(wr, "name", "code", major ? "386134007" : "394847000", "codeSystem",
            CSE_OID_SNOMED, "displayName",
            major ? "Significant" : "Unspecified significance", NULL));
    W(end(wr));
    W(end(wr));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    /* The problem's span, as the sending adaptor writes it: always a start
     * (nullFlavor UNK when the onset is not known), an end when abated. */
    W(start(wr, "effectiveTime"));
    W(write_ts(wr, "low", &e->effective_low));
    if (e->effective_high.precision)
        W(write_ts(wr, "high", &e->effective_high));
    W(end(wr));
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (nopat)
        TRY(write_nopat(wr, err));
    for (size_t i = 0; i < e->n_links; i++) {
        to_uuid(e->links[i], link);
        W(start(wr, "component"));
        W(attr(wr, "typeCode", "COMP"));
        W(start(wr, "statementRef"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN"));
        W(write_id(wr, link));
        W(end(wr));
        W(end(wr));
    }
    W(start(wr, "conditionNamed"));
    W(attr(wr, "typeCode", "NAME"));
    W(attr(wr, "inversionInd", "true"));
    W(start(wr, "namedStatementRef"));
    W(attr(wr, "classCode", "OBS"));
    W(attr(wr, "moodCode", "EVN"));
    W(write_id(wr, named));
    W(end(wr));
    W(end(wr));
    TRY(write_participant(wr, e, err));
    return close_statement(wr, err);
}

/* A marker: the statement cse_marker_to_entry() makes, with the entry's id,
 * and any ordinary notes the entry carried after the csemarker annotation. */
static cse_code marker_statement(writer *wr, const cse_entry *e, const cse_marker *m,
                                 const char *id, cse_error *err)
{
    cse_entry *me = cse_marker_to_entry(m);
    cse_code rc = CSE_OK;

    if (me == NULL)
        return nomem(err);
    for (size_t i = 0; i < e->n_annotations && rc == CSE_OK; i++) {
        cse_marker scratch = {0};
        cse_code prc = cse_marker_annotation_parse(e->annotations[i], &scratch, NULL);
        free(scratch.end_reason);
        if (prc == CSE_ERR_UNSUPPORTED)
            rc = cse_entry_add_annotation(me, e->annotations[i]);
    }
    if (rc == CSE_OK && me->author_ref == NULL)
        rc = cse_strset(&me->author_ref, e->author_ref);
    if (rc != CSE_OK) {
        cse_entry_free(me);
        return nomem(err);
    }
    rc = observation(wr, me, id, true, err);
    cse_entry_free(me);
    return rc;
}

/* An allergy as the sending adaptor writes it: a CompoundStatement of class
 * CATEGORY coded 14L..00 "H/O: drug allergy" (a medication) or SN53.00
 * "Allergy, unspecified" (Read v2, as the requesting adaptor recognises
 * them), holding the allergy's ObservationStatement. */
static cse_code allergy_statement(writer *wr, const cse_entry *e, const char *id,
                                  bool nopat, cse_error *err)
{
    bool drug = e->allergy.category && strcmp(e->allergy.category, "medication") == 0;
    char cid[37];
    cse_entry *inner;
    cse_code rc;

    if (cse_uuid_derive(UUID_NS " allergy", id, cid) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    TRY(open_statement(wr, "CompoundStatement", "CATEGORY", "EVN", err));
    W(write_id(wr, cid));
    W(empty(wr, "code", "code", drug ? "14L..00" : "SN53.00", "codeSystem",
            "2.16.840.1.113883.2.1.6.2", "displayName",
            drug ? "H/O: drug allergy" : "Allergy, unspecified", NULL));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    TRY(write_effective(wr, e, err));
    W(write_ts(wr, "availabilityTime", availability(e)));
    if (nopat)
        TRY(write_nopat(wr, err));
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    W(attr(wr, "contextConductionInd", "true"));
    /* The observation inside: observation() opens its own component, so it
     * is written from a copy and its wrapper replaced by this one. */
    if ((inner = cse_entry_dup(e)) == NULL)
        return nomem(err);
    if (e->allergy.clinical_status &&
        strcmp(e->allergy.clinical_status, "resolved") == 0) {
        /* A resolved allergy goes by its text alone (code nullFlavor UNK), as
         * the sending adaptor writes it: a receiving system must not take it
         * for an allergy to alert on. Its status is in the annotation. */
        char *text = NULL;
        const char *t = e->code.text;
        for (size_t i = 0; t == NULL && i < e->code.n; i++)
            t = e->code.codings[i].display;
        if (t && (text = strdup(t)) == NULL) {
            cse_entry_free(inner);
            return nomem(err);
        }
        cse_concept_clear(&inner->code);
        rc = text ? cse_concept_set_text(&inner->code, text) : CSE_OK;
        free(text);
        if (rc != CSE_OK) {
            cse_entry_free(inner);
            return nomem(err);
        }
    }
    rc = observation_body(wr, inner, id, nopat, "ENV", "AUT", err);
    cse_entry_free(inner);
    TRY(rc);
    W(end(wr));
    return close_statement(wr, err);
}

static cse_code statement(writer *wr, const pending *p, cse_error *err)
{
    const cse_entry *e = p->e;
    char id[37], doc[37];
    bool nopat = labelled(e, p->marker);

    if (e->id)
        to_uuid(e->id, id);
    else
        TRY(anon_id(wr, e, id, err));
    if (p->marker)
        return marker_statement(wr, e, p->marker, id, err);
    switch (e->kind) {
    case CSE_ENTRY_NARRATIVE: return narrative(wr, e, id, nopat, NULL, err);
    case CSE_ENTRY_ATTACHMENT:
        if (cse_uuid_derive(UUID_NS " document", id, doc) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
        return narrative(wr, e, id, nopat, doc, err);
    case CSE_ENTRY_PROBLEM: return problem(wr, e, id, nopat, err);
    case CSE_ENTRY_PLAN: return request_like(wr, "PlanStatement", e, id, nopat, err);
    case CSE_ENTRY_REQUEST:
        return request_like(wr, "RequestStatement", e, id, nopat, err);
    case CSE_ENTRY_MEDICATION: return medication(wr, e, id, nopat, err);
    case CSE_ENTRY_ALLERGY: return allergy_statement(wr, e, id, nopat, err);
    default: return observation(wr, e, id, nopat, err);
    }
}

/* ---- Compositions ------------------------------------------------------ */

static void clear_items(writer *wr)
{
    for (size_t i = 0; i < wr->n_items; i++) {
        cse_entry_free(wr->items[i].e);
        cse_marker_free(wr->items[i].marker);
    }
    wr->n_items = 0;
    cse__smap_free(&wr->comp_containers);
}

/* A consultation's topic or category (the FHIR consultation List's
 * structure): written as a CompoundStatement that holds the statements
 * after it whose parent it is. Other compounds are flattened. */
static bool is_section(const cse_entry *e)
{
    return e->kind == CSE_ENTRY_COMPOUND && e->compound_class &&
           (strcmp(e->compound_class, "topic") == 0 ||
            strcmp(e->compound_class, "category") == 0);
}

/* Which buffered statements a composition holds. */
typedef enum comp_part { PART_ALL, PART_ORDINARY, PART_MARKERS } comp_part;

static bool in_part(const pending *p, comp_part part)
{
    return part == PART_ALL || (part == PART_MARKERS) == (p->marker != NULL);
}

/* Compound statements, nested (gp2gp_write_compound.c, part of this file). */
#include "gp2gp_write_compound.c"

/* A composition the sending adaptor codes "GP to GP communication
 * transaction" when it holds this one statement outside a consultation: a
 * problem, a comment, a laboratory report or a battery (blood pressure). */
static bool gp_transaction(const cse_entry *e)
{
    return e->kind == CSE_ENTRY_PROBLEM || e->kind == CSE_ENTRY_NARRATIVE ||
           e->kind == CSE_ENTRY_COMPOUND || e->path.role == CSE_PATH_REPORT ||
           (e->class_code && strcmp(e->class_code, "BATTERY") == 0);
}

/* The time of a composition holding only e: when it was effective (its
 * centre, else its start) for an observation, immunisation, allergy,
 * medication or problem; when it was recorded for a comment, document,
 * plan, referral or report (the adaptor's XpathExtractor). */
static const cse_time *non_consultation_time(const cse_entry *e)
{
    switch (e->kind) {
    case CSE_ENTRY_NARRATIVE:
    case CSE_ENTRY_ATTACHMENT:
    case CSE_ENTRY_PLAN:
    case CSE_ENTRY_REQUEST: return availability(e);
    default: break;
    }
    if (e->path.role == CSE_PATH_REPORT)
        return availability(e);
    if (e->effective_center.precision)
        return &e->effective_center;
    if (e->effective_low.precision)
        return &e->effective_low;
    return &e->effective_center; /* nullFlavor */
}

/* Writes one ehrComposition: the header h (NULL for non-consultation data),
 * with id, then the buffered statements of the part. NOPAT on the composition
 * only when it holds statements and every one of them is labelled (DESIGN.md
 * section 4 rule 2): the requesting adaptor applies a composition's label to
 * every entry in it. */
static cse_code write_composition(writer *wr, const cse_entry *h, const char *id,
                                  comp_part part, cse_error *err)
{
    const cse_entry *first = NULL;
    size_t n = 0, n_labelled = 0;
    bool nopat,
        source_labelled = h && ((h->labels | h->inherited_labels) & CSE_LABEL_NOPAT);
    char name[96];
    cse_concept nonc = {0};
    cse_code rc;

    for (size_t i = 0; i < wr->n_items; i++) {
        if (!in_part(&wr->items[i], part) || is_section(wr->items[i].e))
            continue;
        if (first == NULL)
            first = wr->items[i].e;
        n++;
        if (labelled(wr->items[i].e, wr->items[i].marker))
            n_labelled++;
    }
    /* An ordinary labelled entry labels only itself, as the adaptor writes
     * it; a composition the source labelled keeps its label when everything
     * in it is labelled. */
    for (size_t i = 0; i < wr->n_items; i++)
        if (in_part(&wr->items[i], part) && !is_section(wr->items[i].e) &&
            (wr->items[i].marker || (wr->items[i].e->inherited_labels & CSE_LABEL_NOPAT)))
            source_labelled = true;
    nopat = n > 0 ? n_labelled == n && source_labelled : source_labelled;
    if (n_labelled > 0 && wr->uk06) {
        const cse_entry *e = first ? first : h;
        return cse__error_set(err, CSE_ERR_UNSUPPORTED, e ? e->source_line : 0, NULL,
                              "ehrComposition",
                              "the record carries a NOPAT label (a marker or a "
                              "confidential entry): RCMR_IN030000UK06 cannot carry it; "
                              "write UK07 (drop --uk06)");
    }
    wr->compositions++;
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    W(start(wr, "ehrComposition"));
    W(attr(wr, "classCode", "COMPOSITION"));
    W(attr(wr, "moodCode", "EVN"));
    W(write_id(wr, id));
    if (h && (h->code.n || h->code.text)) {
        rc = write_code(wr, "code", &h->code, err);
    } else {
        /* As the sending adaptor codes a resource outside a consultation:
         * medication data, a problem or a note "GP to GP communication
         * transaction", anything else non-consultation data. */
        const cse_entry_kind k = first ? first->kind : CSE_ENTRY_OTHER;
        const bool gp2gp = first && gp_transaction(first);
        const char *code = k == CSE_ENTRY_MEDICATION ? "196391000000103"
                           : gp2gp                   ? "109341000000100"
                                                     : CODE_NON_CONSULTATION;
        const char *term = k == CSE_ENTRY_MEDICATION ? "Non-consultation medication data"
                           : gp2gp ? "GP to GP communication transaction"
                                   : TERM_NON_CONSULTATION;
        if (cse_concept_add(&nonc, CSE_SYSTEM_SNOMED, code, term) != CSE_OK)
            return nomem(err);
        rc = write_code(wr, "code", &nonc, err);
        cse_concept_clear(&nonc);
    }
    TRY(rc);
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    if (h == NULL && first) {
        /* Outside a consultation, the composition is dated by its one
         * statement, at a point (the sending adaptor's XpathExtractor). */
        W(start(wr, "effectiveTime"));
        W(write_ts(wr, "center", non_consultation_time(first)));
        W(end(wr));
    } else {
        TRY(write_effective(wr, h ? h : first, err));
    }
    W(write_ts(wr, "availabilityTime", availability(h ? h : first)));
    if (nopat)
        TRY(write_nopat(wr, err));
    W(start(wr, "author"));
    W(attr(wr, "typeCode", "AUT"));
    W(attr(wr, "contextControlCode", "OP"));
    {
        /* When the consultation was recorded, else when it began. */
        const cse_time *t = h && h->enc.authored.precision ? &h->enc.authored
                                                           : availability(h ? h : first);
        if (t->precision)
            W(write_ts(wr, "time", t));
        else
            W(empty(wr, "time", "value", wr->now, NULL));
    }
    TRY(write_agent_ref(wr, h ? h->author_ref : first->author_ref, err));
    W(end(wr));
    if (h && h->enc.location_name && *h->enc.location_name) {
        /* Where it took place, by name (the adaptor's location). */
        W(start(wr, "location"));
        W(attr(wr, "typeCode", "LOC"));
        W(start(wr, "locatedEntity"));
        W(attr(wr, "classCode", "LOCE"));
        if (h->enc.location_type.n)
            TRY(write_code(wr, "code", &h->enc.location_type, err));
        W(start(wr, "locatedPlace"));
        W(attr(wr, "classCode", "PLC"));
        W(attr(wr, "determinerCode", "INSTANCE"));
        W(text_element(wr, "name", h->enc.location_name));
        W(end(wr));
        W(end(wr));
        W(end(wr));
    }
    {
        /* The clinician who performed it: the encounter's performer, else
         * its author (the sending adaptor's Participant2). */
        const char *prf = h && h->enc.performer_ref ? h->enc.performer_ref
                          : h && h->performer_ref   ? h->performer_ref
                          : h                       ? h->author_ref
                                                    : first->author_ref;
        W(start(wr, "Participant2"));
        W(attr(wr, "typeCode", "PRF"));
        W(attr(wr, "contextControlCode", "OP"));
        TRY(write_agent_ref(wr, prf, err));
        W(end(wr));
    }
    if (n == 0) {
        /* An encounter with nothing recorded: the schema needs a component. */
        W(start(wr, "component"));
        W(attr(wr, "typeCode", "COMP"));
        W(start(wr, "NarrativeStatement"));
        W(attr(wr, "classCode", "OBS"));
        W(attr(wr, "moodCode", "EVN"));
        if (cse_uuid_derive(UUID_NS " empty", id, name) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
        W(write_id(wr, name));
        W(text_element(wr, "text", "No entries recorded in this encounter"));
        W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
        W(write_ts(wr, "availabilityTime", availability(h)));
        W(end(wr));
        W(end(wr));
    }
    TRY(write_items(wr, part, err));
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

/* Writes the buffered composition. A marker never shares a composition: when
 * the encounter holds ordinary entries too, they are written in the
 * encounter's composition, unlabelled, and the markers follow in a
 * composition of their own with the encounter's code, time and author,
 * labelled NOPAT. */
static cse_code flush(writer *wr, cse_error *err)
{
    const cse_entry *h = wr->comp;
    char id[37], name[96];
    const cse_entry *first = wr->n_items ? wr->items[0].e : NULL;
    size_t markers = 0, statements = 0;
    cse_code rc;

    if (!wr->comp_open)
        return CSE_OK;
    wr->comp_open = false;
    if (h == NULL && first == NULL)
        return CSE_OK;
    for (size_t i = 0; i < wr->n_items; i++) {
        if (wr->items[i].marker)
            markers++;
        if (!is_section(wr->items[i].e))
            statements++;
    }
    if (h && wr->comp_key != NULL) {
        to_uuid(h->id, id);
    } else if (h) {
        /* A continuation of an encounter already written: a new id. */
        snprintf(name, sizeof(name), "%s#%zu", h->id ? h->id : "", ++wr->continuations);
        if (cse_uuid_derive(UUID_NS " continued", name, id) != CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    } else if (h == NULL) {
        if (cse_uuid_derive(UUID_NS " composition", first->id ? first->id : "", id) !=
            CSE_OK)
            return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    }
    if (markers == 0 || markers == statements) {
        rc = write_composition(wr, h, id, PART_ALL, err);
    } else {
        rc = write_composition(wr, h, id, PART_ORDINARY, err);
        if (rc == CSE_OK) {
            char mid[37];
            if (cse_uuid_derive(UUID_NS " marker composition", id, mid) != CSE_OK)
                rc = cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
            else
                rc = write_composition(wr, h, mid, PART_MARKERS, err);
        }
    }
    clear_items(wr);
    return rc;
}

/* The encounter an entry belongs to, following compounds up; NULL when none
 * that this writer has seen. */
static const char *composition_of(const writer *wr, const char *parent)
{
    for (int depth = 0; parent && depth < MAX_CONTAINER_DEPTH; depth++) {
        if (cse__smap_has(&wr->encounters, parent))
            return parent;
        parent = cse__smap_get(&wr->containers, parent);
    }
    return NULL;
}

static const cse_entry *encounter_header(const writer *wr, const char *key)
{
    const char *idx = cse__smap_get(&wr->encounters, key);
    size_t i = idx ? strtoul(idx, NULL, 10) : (size_t)-1;
    return i < wr->headers.n ? wr->headers.items[i] : NULL;
}

static cse_code open_composition(writer *wr, const cse_entry *header, const char *key,
                                 cse_error *err)
{
    TRY(flush(wr, err));
    wr->comp = (cse_entry *)header;
    free(wr->comp_key);
    wr->comp_key = key ? strdup(key) : NULL;
    if (key && wr->comp_key == NULL)
        return nomem(err);
    wr->comp_open = true;
    return CSE_OK;
}

static cse_code buffer_entry(writer *wr, const cse_entry *e, const cse_entry_info *info,
                             cse_error *err)
{
    pending *p;
    if (wr->n_items == MAX_COMPOSITION_ENTRIES) {
        /* Split a huge composition: the rest goes into a continuation. */
        const cse_entry *h = wr->comp;
        TRY(flush(wr, err));
        free(wr->comp_key);
        wr->comp_key = NULL;
        wr->comp = (cse_entry *)h;
        wr->comp_open = true;
    }
    if (wr->n_items == wr->cap_items) {
        size_t nc = wr->cap_items ? wr->cap_items * 2 : 32;
        pending *ni = realloc(wr->items, nc * sizeof(*ni));
        if (ni == NULL)
            return nomem(err);
        wr->items = ni;
        wr->cap_items = nc;
    }
    p = &wr->items[wr->n_items];
    p->e = cse_entry_dup(e);
    p->marker = NULL;
    if (p->e == NULL)
        return nomem(err);
    if (info && info->cls == CSE_CLASS_MARKER && info->marker &&
        (p->marker = cse_marker_dup(info->marker)) == NULL) {
        cse_entry_free(p->e);
        return nomem(err);
    }
    wr->n_items++;
    return CSE_OK;
}

/* ---- Sink callbacks ---------------------------------------------------- */

static cse_code close_directory(writer *wr, cse_error *err)
{
    if (wr->directory_closed)
        return CSE_OK;
    wr->directory_closed = true;
    W(end(wr)); /* agentDirectory */
    W(end(wr)); /* responsibleParty */
    return CSE_OK;
}

static cse_code write_org_sds(writer *wr, const char *ods, cse_error *err)
{
    W(start(wr, "AgentOrgSDS"));
    W(attr(wr, "classCode", "AGNT"));
    W(start(wr, "agentOrganizationSDS"));
    W(attr(wr, "classCode", "ORG"));
    W(attr(wr, "determinerCode", "INSTANCE"));
    W(empty(wr, "id", "root", CSE_OID_ODS, "extension", ods, NULL));
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

static cse_code write_device(writer *wr, const char *name, const char *type,
                             const char *asid, cse_error *err)
{
    W(start(wr, name));
    W(attr(wr, "typeCode", type));
    W(start(wr, "device"));
    W(attr(wr, "classCode", "DEV"));
    W(attr(wr, "determinerCode", "INSTANCE"));
    if (asid)
        W(empty(wr, "id", "root", OID_ASID, "extension", asid, NULL));
    else
        W(empty(wr, "id", "root", OID_ASID, "nullFlavor", "UNK", NULL));
    W(end(wr));
    W(end(wr));
    return CSE_OK;
}

/* A practitioner's organisation: its ODS code, name, work phone and address
 * (the sending adaptor's OrganizationToAgentMapper.mapOrganizationToAgentInner). */
static cse_code write_represented(writer *wr, const cse_agent *o, cse_error *err)
{
    W(start(wr, "representedOrganization"));
    W(attr(wr, "classCode", "ORG"));
    W(attr(wr, "determinerCode", "INSTANCE"));
    if (o->ods)
        W(empty(wr, "id", "root", CSE_OID_ODS, "extension", o->ods, NULL));
    if (o->name && *o->name)
        W(text_element(wr, "name", o->name));
    if (o->telecom && *o->telecom) {
        char tel[300];
        snprintf(tel, sizeof(tel), "tel:%s", o->telecom);
        W(empty(wr, "telecom", "value", tel, "use", "WP", NULL));
    }
    if ((o->address && *o->address) || (o->postcode && *o->postcode)) {
        const char *p = o->address ? o->address : "";
        W(start(wr, "addr"));
        W(attr(wr, "use", "WP"));
        while (*p) {
            const char *nl = strchr(p, '\n');
            size_t n = nl ? (size_t)(nl - p) : strlen(p);
            char *line = strndup(p, n);
            if (line == NULL)
                return nomem(err);
            if (*line && text_element(wr, "streetAddressLine", line) < 0) {
                free(line);
                return io_fail(wr, err);
            }
            free(line);
            p += n + (nl != NULL);
        }
        if (o->postcode && *o->postcode)
            W(text_element(wr, "postalCode", o->postcode));
        W(end(wr));
    }
    W(end(wr));
    return CSE_OK;
}

static cse_code write_agent(writer *wr, const char *id, const cse_agent *a,
                            const char *org_name, const char *org_ods, cse_error *err)
{
    W(start(wr, "part"));
    W(attr(wr, "typeCode", "PART"));
    W(start(wr, "Agent"));
    W(attr(wr, "classCode", "AGNT"));
    W(write_id(wr, id));
    if ((a->role && *a->role) || a->kind == CSE_AGENT_PERSON) {
        /* A person's role as written ("Unknown" when none, as the sending
         * adaptor writes it). */
        W(start(wr, "code"));
        W(attr(wr, "nullFlavor", "UNK"));
        W(text_element(wr, "originalText", a->role && *a->role ? a->role : "Unknown"));
        W(end(wr));
    }
    if (a->kind == CSE_AGENT_PERSON) {
        bool parts = (a->given && *a->given) || (a->family && *a->family);
        W(start(wr, "agentPerson"));
        W(attr(wr, "classCode", "PSN"));
        W(attr(wr, "determinerCode", "INSTANCE"));
        W(start(wr, "name"));
        if (parts) {
            /* The name in its parts, as the sending adaptor writes them. */
            if (a->prefix && *a->prefix)
                W(text_element(wr, "prefix", a->prefix));
            if (a->given && *a->given)
                W(text_element(wr, "given", a->given));
            if (a->family && *a->family)
                W(text_element(wr, "family", a->family));
        } else {
            W(text_element(wr, "family", a->name && *a->name ? a->name : "Unknown"));
        }
        W(end(wr));
        W(end(wr));
        if (wr->rep_org) {
            TRY(write_represented(wr, wr->rep_org, err));
        } else if (org_ods || org_name) {
            W(start(wr, "representedOrganization"));
            W(attr(wr, "classCode", "ORG"));
            W(attr(wr, "determinerCode", "INSTANCE"));
            if (org_ods)
                W(empty(wr, "id", "root", CSE_OID_ODS, "extension", org_ods, NULL));
            if (org_name)
                W(text_element(wr, "name", org_name));
            W(end(wr));
        }
    } else {
        W(start(wr, "agentOrganization"));
        W(attr(wr, "classCode", "ORG"));
        W(attr(wr, "determinerCode", "INSTANCE"));
        if (a->ods)
            W(empty(wr, "id", "root", CSE_OID_ODS, "extension", a->ods, NULL));
        W(text_element(wr, "name", a->name && *a->name ? a->name : "Unknown"));
        W(end(wr));
    }
    W(end(wr));
    W(end(wr));
    return cse__smap_put(&wr->agents, id, "", true) == CSE_OK ? CSE_OK : nomem(err);
}

static void format_now(const cse_time *t, char buf[32])
{
    if (t && t->precision >= CSE_TIME_DAY) {
        cse_time_format_hl7(t, buf, 32);
    } else {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        strftime(buf, 32, "%Y%m%d%H%M%S", &tm);
    }
}

static cse_code w_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    writer *wr = s->data;
    const cse_patient *p = info ? info->patient : NULL;
    const char *sender = wr->sender_ods             ? wr->sender_ods
                         : info && info->author_ods ? info->author_ods
                         : p && p->ods              ? p->ods
                                                    : NULL;
    const char *root = wr->uk06 ? "RCMR_IN030000UK06" : "RCMR_IN030000UK07";
    char extract[37], folder[37], msg[37], seed[160];
    cse_agent practice = {0};

    if (wr->begun)
        return cse__error_set(err, CSE_ERR_STATE, 0, NULL, NULL, "begin called twice");
    wr->begun = true;
    if (sender == NULL || *sender == '\0')
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "the sending practice's ODS code is not in the record: "
                              "give it (--sender ODS)");
    if (wr->receiver_ods == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "the receiving practice's ODS code is required "
                              "(--receiver ODS)");
    /* sender may already be wr->sender_ods: copying it onto itself would free it. */
    if (sender != wr->sender_ods && cse_strset(&wr->sender_ods, sender) != CSE_OK)
        return nomem(err);
    format_now(info ? &info->availability : NULL, wr->now);
    /* Stable ids: from the extract's own ids, else from the patient and time. */
    snprintf(seed, sizeof(seed), "%s|%s|%s",
             info && info->extract_id ? info->extract_id : "",
             p && p->nhs_number ? p->nhs_number
             : p && p->local_id ? p->local_id
                                : "",
             wr->now);
    if (info && info->extract_id)
        to_uuid(info->extract_id, extract);
    else
        to_uuid(seed, extract);
    if (info && info->folder_id)
        to_uuid(info->folder_id, folder);
    else if (cse_uuid_derive(UUID_NS " folder", seed, folder) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    if (wr->message_id)
        to_uuid(wr->message_id, msg);
    else if (cse_uuid_derive(UUID_NS " message", seed, msg) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");
    if (cse_uuid_derive(UUID_NS " request", seed, wr->request_id) != CSE_OK ||
        cse_uuid_derive(UUID_NS " limitation", seed, wr->limitation_id) != CSE_OK ||
        cse_uuid_derive(UUID_NS " practice", sender, wr->default_agent) != CSE_OK ||
        cse_uuid_derive(UUID_NS " patient",
                        p && p->nhs_number ? p->nhs_number
                        : p && p->local_id ? p->local_id
                                           : "",
                        wr->anon_seed) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "no id");

    W(cse__xo_start_document(&wr->out));
    W(start(wr, root));
    W(attr(wr, "xmlns", HL7_NS));
    W(attr(wr, "xmlns:xsi", XSI_NS));
    W(write_id(wr, msg));
    W(empty(wr, "creationTime", "value", wr->now, NULL));
    W(empty(wr, "versionCode", "code", "V3NPfIT3.1.10", NULL));
    W(empty(wr, "interactionId", "root", OID_INTERACTION, "extension", root, NULL));
    W(empty(wr, "processingCode", "code", "P", NULL));
    W(empty(wr, "processingModeCode", "code", "T", NULL));
    W(empty(wr, "acceptAckCode", "code", "NE", NULL));
    TRY(write_device(wr, "communicationFunctionRcv", "RCV", wr->receiver_asid, err));
    TRY(write_device(wr, "communicationFunctionSnd", "SND", wr->sender_asid, err));
    W(start(wr, "ControlActEvent"));
    W(attr(wr, "classCode", "CACT"));
    W(attr(wr, "moodCode", "EVN"));
    W(start(wr, "author1"));
    W(attr(wr, "typeCode", "AUT"));
    W(start(wr, "AgentSystemSDS"));
    W(attr(wr, "classCode", "AGNT"));
    W(start(wr, "agentSystemSDS"));
    W(attr(wr, "classCode", "DEV"));
    W(attr(wr, "determinerCode", "INSTANCE"));
    if (wr->sender_asid)
        W(empty(wr, "id", "root", OID_ASID, "extension", wr->sender_asid, NULL));
    else
        W(empty(wr, "id", "root", OID_ASID, "nullFlavor", "UNK", NULL));
    W(end(wr));
    W(end(wr));
    W(end(wr));
    W(start(wr, "subject"));
    W(attr(wr, "typeCode", "SUBJ"));
    W(attr(wr, "contextConductionInd", "false"));
    W(start(wr, "EhrExtract"));
    W(attr(wr, "classCode", "EXTRACT"));
    W(attr(wr, "moodCode", "EVN"));
    W(write_id(wr, extract));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    W(empty(wr, "availabilityTime", "value", wr->now, NULL));
    W(start(wr, "recordTarget"));
    W(attr(wr, "typeCode", "RCT"));
    W(start(wr, "patient"));
    W(attr(wr, "classCode", "PAT"));
    if (p && p->nhs_number)
        W(empty(wr, "id", "root", CSE_OID_NHS_NUMBER, "extension", p->nhs_number, NULL));
    else if (p && p->local_id)
        W(empty(wr, "id", "root", p->local_id_root ? p->local_id_root : OID_LOCAL_PATIENT,
                "extension", p->local_id, NULL));
    else
        W(empty(wr, "id", "root", CSE_OID_NHS_NUMBER, "nullFlavor", "NI", NULL));
    W(end(wr));
    W(end(wr));
    W(start(wr, "author"));
    W(attr(wr, "typeCode", "AUT"));
    W(empty(wr, "time", "value", wr->now, NULL));
    TRY(write_org_sds(wr, wr->sender_ods, err));
    W(end(wr));
    W(start(wr, "destination"));
    W(attr(wr, "typeCode", "DST"));
    TRY(write_org_sds(wr, wr->receiver_ods, err));
    W(end(wr));
    W(start(wr, "component"));
    W(attr(wr, "typeCode", "COMP"));
    W(start(wr, "ehrFolder"));
    W(attr(wr, "classCode", "FOLDER"));
    W(attr(wr, "moodCode", "EVN"));
    W(write_id(wr, folder));
    W(empty(wr, "statusCode", "code", "COMPLETE", NULL));
    W(start(wr, "effectiveTime"));
    W(empty(wr, "high", "value", wr->now, NULL));
    W(end(wr));
    W(empty(wr, "availabilityTime", "value", wr->now, NULL));
    W(start(wr, "author"));
    W(attr(wr, "typeCode", "AUT"));
    W(empty(wr, "time", "value", wr->now, NULL));
    TRY(write_org_sds(wr, wr->sender_ods, err));
    W(end(wr));
    W(start(wr, "responsibleParty"));
    W(attr(wr, "typeCode", "RESP"));
    W(start(wr, "agentDirectory"));
    W(attr(wr, "classCode", "AGNT"));
    /* The sending practice, the author of last resort. */
    practice.kind = CSE_AGENT_ORGANISATION;
    practice.ods = wr->sender_ods;
    practice.name = "Sending practice";
    return write_agent(wr, wr->default_agent, &practice, NULL, NULL, err);
}

static cse_code w_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    writer *wr = s->data;
    char id[37];

    if (!wr->begun || wr->directory_closed)
        return cse__error_set(err, CSE_ERR_STATE, 0, NULL, NULL,
                              "agents must come after begin and before entries");
    if (a == NULL || a->id == NULL)
        return CSE_OK;
    to_uuid(a->id, id);
    if (cse__smap_has(&wr->agents, id))
        return CSE_OK;
    if (a->kind == CSE_AGENT_ORGANISATION) {
        cse_agent *d = cse_agent_dup(a);
        if (d == NULL || cse__ptrvec_push(&wr->orgs, d) != CSE_OK) {
            cse_agent_free(d);
            return nomem(err);
        }
    }
    /* A person's organisation: the one it names when written before (with
     * its name and address), else by ODS code on the agent, when known. */
    wr->rep_org = NULL;
    for (size_t i = 0; a->kind == CSE_AGENT_PERSON && a->org_id && i < wr->orgs.n; i++) {
        const cse_agent *o = wr->orgs.items[i];
        if (o->id && strcmp(o->id, a->org_id) == 0)
            wr->rep_org = o;
    }
    {
        cse_code rc = write_agent(wr, id, a, NULL,
                                  a->kind == CSE_AGENT_PERSON ? a->ods : NULL, err);
        wr->rep_org = NULL;
        return rc;
    }
}

static cse_code w_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                        cse_error *err)
{
    writer *wr = s->data;
    const char *key;
    cse_entry *h;
    char idx[32];

    if (!wr->begun || wr->ended)
        return cse__error_set(err, CSE_ERR_STATE, 0, NULL, NULL,
                              "entries must come between begin and end");
    if (e == NULL)
        return CSE_OK;
    cse__farena_tick(wr->fa);
    TRY(close_directory(wr, err));
    if (wr->uk06 && ((e->labels & CSE_LABEL_NOPAT) ||
                     (info && info->cls == CSE_CLASS_MARKER && info->marker)))
        return cse__error_set(err, CSE_ERR_UNSUPPORTED, e->source_line, NULL, NULL,
                              "a %s carries a NOPAT label: RCMR_IN030000UK06 cannot "
                              "carry it; write UK07 (drop --uk06)",
                              info && info->cls == CSE_CLASS_MARKER ? "CSE marker"
                                                                    : "record entry");
    if (e->kind == CSE_ENTRY_ENCOUNTER) {
        if ((h = cse_entry_dup(e)) == NULL)
            return nomem(err);
        if (cse__ptrvec_push(&wr->headers, h) != CSE_OK) {
            cse_entry_free(h);
            return cse__error_set(err, CSE_ERR_LIMIT, e->source_line, NULL, NULL,
                                  "too many encounters");
        }
        snprintf(idx, sizeof(idx), "%zu", wr->headers.n - 1);
        if (e->id && cse__smap_put(&wr->encounters, e->id, idx, false) != CSE_OK)
            return nomem(err);
        TRY(open_composition(wr, h, e->id, err));
        if (wr->headers.n > RECENT_HEADERS) {
            size_t old = wr->headers.n - 1 - RECENT_HEADERS;
            cse_entry_free(wr->headers.items[old]);
            wr->headers.items[old] = NULL;
        }
        return CSE_OK;
    }
    if (e->kind == CSE_ENTRY_COMPOUND && e->id &&
        cse__smap_put(&wr->containers, e->id, e->parent_id, true) != CSE_OK)
        return nomem(err);
    if (e->parent_id && wr->comp_open &&
        cse__smap_has(&wr->comp_containers, e->parent_id))
        /* A component of a compound in the composition being built. */
        return buffer_compound_part(wr, e, info, err);
    key = composition_of(wr, e->parent_id);
    if (key == NULL) {
        /* Outside any consultation: a composition of its own, as the sending
         * adaptor writes each such resource. */
        TRY(open_composition(wr, NULL, NULL, err));
    } else if (!wr->comp_open || wr->comp == NULL ||
               wr->comp != encounter_header(wr, key)) {
        /* An encounter written before: a continuation composition (one, for
         * everything of it that follows, so its compounds keep what they
         * hold). */
        const cse_entry *old = encounter_header(wr, key);
        if (old == NULL)
            return cse__error_set(err, CSE_ERR_STATE, e->source_line, NULL, NULL,
                                  "an entry came after %d newer encounters than its "
                                  "own: the writer keeps the last %d; deliver each "
                                  "encounter's entries together",
                                  RECENT_HEADERS, RECENT_HEADERS);
        TRY(open_composition(wr, old, NULL, err));
    }
    return buffer_compound_part(wr, e, info, err);
}

static cse_code w_end(cse_sink *s, const cse_summary *summary, cse_error *err)
{
    writer *wr = s->data;

    if (!wr->begun || wr->ended)
        return cse__error_set(err, CSE_ERR_STATE, 0, NULL, NULL, "end without begin");
    TRY(close_directory(wr, err));
    TRY(flush(wr, err));
    if (wr->compositions == 0) {
        /* No entries at all: the schema needs one ehrComposition. */
        cse_entry *h = cse_entry_new(CSE_ENTRY_ENCOUNTER, "csemarker empty record");
        if (h == NULL || cse__ptrvec_push(&wr->headers, h) != CSE_OK) {
            cse_entry_free(h);
            return nomem(err);
        }
        cse_time_parse_hl7(wr->now, &h->availability);
        TRY(open_composition(wr, h, h->id, err));
        TRY(flush(wr, err));
    }
    wr->ended = true;
    W(end(wr)); /* ehrFolder */
    W(end(wr)); /* component */
    W(start(wr, "inFulfillmentOf"));
    W(attr(wr, "typeCode", "FLFS"));
    W(start(wr, "priorEhrRequest"));
    W(attr(wr, "classCode", "EXTRACT"));
    W(attr(wr, "moodCode", "RQO"));
    W(write_id(wr, wr->request_id));
    W(end(wr));
    W(end(wr));
    W(start(wr, "limitation"));
    W(attr(wr, "typeCode", "LIMIT"));
    W(attr(wr, "inversionInd", "true"));
    W(start(wr, "limitingEhrExtractSpecification"));
    W(attr(wr, "classCode", "OBS"));
    W(attr(wr, "moodCode", "DEF"));
    W(write_id(wr, wr->limitation_id));
    W(empty(wr, "code", "code", "37241000000102", "codeSystem", CSE_OID_SNOMED,
            "displayName",
            "Entire record available to originator (administrative concept)", NULL));
    W(end(wr));
    W(end(wr));
    W(cse__xo_end_document(&wr->out)); /* the rest, and a flush */
    return CSE_OK;
}

static void w_destroy(cse_sink *s)
{
    writer *wr;
    if (s == NULL)
        return;
    wr = s->data;
    if (wr) {
        /* The stream is flushed, as closing xmlTextWriter's output did;
         * a document left unfinished by an error is not written out. */
        if (wr->out.fp)
            fflush(wr->out.fp);
        cse__xo_free(&wr->out);
        clear_items(wr);
        free(wr->items);
        for (size_t i = 0; i < wr->headers.n; i++)
            cse_entry_free(wr->headers.items[i]);
        free(wr->headers.items);
        for (size_t i = 0; i < wr->orgs.n; i++)
            cse_agent_free(wr->orgs.items[i]);
        free(wr->orgs.items);
        cse__smap_free(&wr->agents);
        cse__smap_free(&wr->containers);
        cse__smap_free(&wr->encounters);
        cse__smap_free(&wr->comp_containers);
        cse__farena_free(wr->fa);
        free(wr->comp_key);
        free(wr->sender_ods);
        free(wr->receiver_ods);
        free(wr->sender_asid);
        free(wr->receiver_asid);
        free(wr->message_id);
        free(wr);
    }
    free(s);
}

cse_sink *cse_gp2gp_writer_new(FILE *out, const cse_gp2gp_write_options *opt,
                               cse_error *err)
{
    cse_sink *s = NULL;
    writer *wr = NULL;
    char up[37];

    if (out == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL, "no output stream");
        return NULL;
    }
    if (opt && opt->message_id) {
        to_uuid(opt->message_id, up);
        if (strlen(opt->message_id) != 36 || strcasecmp(up, opt->message_id) != 0) {
            cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "message_id",
                           "the message id must be a UUID");
            return NULL;
        }
    }
    if ((s = calloc(1, sizeof(*s))) == NULL || (wr = calloc(1, sizeof(*wr))) == NULL)
        goto nomem;
    s->data = wr;
    s->begin = w_begin;
    s->agent = w_agent;
    s->entry = w_entry;
    s->end = w_end;
    s->destroy = w_destroy;
    /* Without an arena (no memory for its header) the maps use malloc. */
    wr->fa = cse__farena_new();
    wr->agents.arena = wr->containers.arena = wr->encounters.arena = wr->fa;
    if (opt) {
        wr->uk06 = opt->uk06;
        if (cse_strset(&wr->sender_ods, opt->sender_ods) ||
            cse_strset(&wr->receiver_ods, opt->receiver_ods) ||
            cse_strset(&wr->sender_asid, opt->sender_asid) ||
            cse_strset(&wr->receiver_asid, opt->receiver_asid) ||
            cse_strset(&wr->message_id, opt->message_id))
            goto nomem;
    }
    if (cse__xo_init(&wr->out, out, true) != CSE_OK)
        goto nomem;
    return s;
nomem:
    if (s && wr == NULL)
        free(s);
    else
        w_destroy(s);
    cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return NULL;
}
