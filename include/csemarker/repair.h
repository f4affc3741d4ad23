/* SPDX-License-Identifier: MIT */
/* csemarker: the repair pass for outgoing GP2GP extracts (DESIGN.md section 6).
 *
 * Given any GP2GP extract (RCMR_IN030000UK06, RCMR_IN030000UK07 or a bare
 * EhrExtract), writes the same extract with its CSE markers made safe:
 *   - every marker ObservationStatement (a marker concept id in its code or in
 *     any translation) carries the NOPAT confidentialityCode, placed where the
 *     RCMR_MT030101UK05 schema wants it (after availabilityTime and
 *     priorityCode), and so does the ehrComposition that holds it;
 *   - a marker whose primary code is not the SNOMED concept (a Read v2, CTV3 or
 *     local code with the concept in a translation) gets the concept as its
 *     code, and the old primary code becomes the first translation;
 *   - a UK06 message that carries any confidentialityCode afterwards becomes
 *     UK07 (root element and interactionId; the two message schemas differ in
 *     nothing else);
 *   - an entry that may be a marker but cannot be confirmed (description id,
 *     legacy code only, transfer-degraded code, text naming CSE) is left
 *     unchanged and reported for clinician review.
 * Every other node passes through unchanged (attributes in order, namespace
 * declarations, comments, CDATA, processing instructions).
 *
 * The pass streams: it reads the input twice with libxml2's SAX2 parser (the
 * first notes which statements and compositions hold markers; the second
 * copies every node to the output), so memory depends on the number of markers,
 * never on the size of the extract. Standard input is spooled to a temporary file first.
 */
#ifndef CSEMARKER_REPAIR_H
#define CSEMARKER_REPAIR_H

#include <stdio.h>

#include <csemarker/common.h>
#include <csemarker/rules.h>

#ifdef __cplusplus
extern "C" {
#endif

/* What the pass did. */
typedef struct cse_repair_report {
    size_t markers;                  /* marker statements found */
    size_t nopat_added_statements;   /* statements that gained NOPAT */
    size_t nopat_added_compositions; /* ehrCompositions that gained NOPAT */
    size_t codes_promoted;           /* legacy-coded markers given the SNOMED code */
    int upgraded_to_uk07;            /* 1 when RCMR_IN030000UK06 became UK07 */
    size_t candidates;               /* entries left unchanged for clinician review */
} cse_repair_report;

/* One marker or candidate, for a detailed report. */
typedef enum cse_repair_item_kind {
    CSE_REPAIR_ITEM_MARKER = 1,   /* a marker statement (changed or not) */
    CSE_REPAIR_ITEM_CANDIDATE = 2 /* may be a marker: left unchanged, for review */
} cse_repair_item_kind;

/* Bits of cse_repair_item.changes. */
#define CSE_REPAIR_ADDED_NOPAT 0x1u    /* the statement gained NOPAT */
#define CSE_REPAIR_PROMOTED_CODE 0x2u  /* the SNOMED concept became its code */
#define CSE_REPAIR_REPLACED_LABEL 0x4u /* another confidentialityCode became NOPAT */

typedef struct cse_repair_item {
    cse_repair_item_kind kind;
    const char *entry_id;        /* the statement's id root, "" when it has none */
    int line;                    /* input line where the statement starts */
    const char *code;            /* MARKER: the marker concept id; else NULL */
    cse_candidate_reason reason; /* CANDIDATE: why it is unconfirmed */
    unsigned changes;            /* MARKER: CSE_REPAIR_* bits */
} cse_repair_item;

/* Called once per candidate (during the first pass) and once per marker
 * (during the second pass, after its statement was written). The item and its
 * strings are lent for the duration of the call. */
typedef void (*cse_repair_item_fn)(const cse_repair_item *item, void *user);

/* Options; a zeroed struct (or NULL) gives the defaults. */
typedef struct cse_repair_options {
    size_t max_depth;           /* element nesting cap, default 256 */
    size_t max_text;            /* bytes in one text node, default 10000000 */
    size_t max_attr;            /* bytes in one attribute value, default 1000000 */
    cse_repair_item_fn on_item; /* may be NULL */
    void *user;                 /* passed to on_item */
} cse_repair_options;

/* Repairs the extract at in_path ("-" reads standard input) and writes the
 * result to out as UTF-8 XML. report (may be NULL) is filled in either way.
 * Returns CSE_OK; CSE_ERR_IO when the input cannot be read or out cannot be
 * written; CSE_ERR_PARSE for XML that is not well-formed; CSE_ERR_UNSUPPORTED
 * for a DOCTYPE or an entity reference (both refused); CSE_ERR_STRUCTURE when
 * the root is not a GP2GP extract; CSE_ERR_LIMIT when a depth or size cap is
 * hit; CSE_ERR_NOMEM. err (may be NULL) then names the source, line and
 * element path. On error out may hold partial output: the caller discards it.
 * Ownership: out stays the caller's (flushed, not closed). */
CSE_EXPORT cse_code cse_gp2gp_repair(const char *in_path, FILE *out,
                                     cse_repair_report *report, cse_error *err);

/* The same with options (opt may be NULL). */
CSE_EXPORT cse_code cse_gp2gp_repair_ex(const char *in_path, FILE *out,
                                        const cse_repair_options *opt,
                                        cse_repair_report *report, cse_error *err);

/* The same over an extract in memory; source_name (may be NULL) names it in
 * errors. The buffer is read twice and not modified. */
CSE_EXPORT cse_code cse_gp2gp_repair_memory(const char *buf, size_t len,
                                            const char *source_name, FILE *out,
                                            const cse_repair_options *opt,
                                            cse_repair_report *report, cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
