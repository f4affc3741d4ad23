/* SPDX-License-Identifier: MIT */
/* csemarker: GP2GP HL7 v3 EHR extracts (RCMR_IN030000UK06 and UK07).
 *
 * The reader streams an extract into a cse_sink (sink.h) with libxml2's
 * xmlTextReader: network access off, no entity substitution, no DTD loading,
 * and caps on nesting depth, text node size and attribute size. Memory does
 * not grow with the record: at most one statement (ObservationStatement,
 * NarrativeStatement, LinkSet, ...) is held in memory at a time, while
 * ehrCompositions and CompoundStatements are walked element by element.
 *
 * What the reader delivers, in document order:
 *   begin   the message around the record (version, ids, patient, ODS codes);
 *   agent   every agentDirectory Agent (person or organisation);
 *   entry   every ehrComposition (CSE_ENTRY_ENCOUNTER) and, inside it, every
 *           statement with parent_id set to the composition or compound
 *           that holds it. A CompoundStatement is delivered before its
 *           components (its author, which the schema places after them, is
 *           not read). A NarrativeStatement's text is its code.text (no
 *           codings); an ExternalDocument it refers to follows it as a
 *           CSE_ENTRY_ATTACHMENT (a reference only: value is the file
 *           reference). ObservationStatements inside an allergy
 *           CompoundStatement (Read v2 14L..00 or SN53.00, as the national
 *           requesting adaptor does) are CSE_ENTRY_ALLERGY; immunisations
 *           need a SNOMED CT database to recognise and stay observations.
 *           Every entry is classified with the marker rules; a marker entry
 *           carries its cse_marker, and one whose marker cannot be built is
 *           a CSE_CANDIDATE_DAMAGED candidate (never dropped).
 *   end     counts and the loss report: every statement type, compound
 *           class or composition part the reader does not map, by element
 *           path, with how often and the first line.
 *
 * Whole messages must carry the mandatory skeleton (EhrExtract id,
 * statusCode, availabilityTime, recordTarget/patient/id, author,
 * destination, ehrFolder, an ehrComposition, inFulfillmentOf, limitation);
 * a bare EhrExtract document is treated as a fragment and needs none of
 * them, but a recordTarget it has must hold patient/id.
 *
 * Large messages: an extract over the GP2GP size limit arrives as a
 * skeleton whose ehrComposition holds a NarrativeStatement referring to an
 * ExternalDocument coded 24891000000101 ("EDI messages", reference
 * "cid:ID"), with the real extract travelling as a compressed attachment
 * split over COPC_IN000001UK01 fragments. Without fragments_dir the reader
 * fails with CSE_ERR_NEEDS_FRAGMENTS naming the files it needs. With
 * fragments_dir it reads, in place of the skeleton statement, the first of
 * ID.xml, ID.xml.gz, ID.gz, ID.b64 or ID found there: the reassembled
 * attachment as XML (an RCMR_IN030000 message or an EhrExtract), gzip, or
 * base64 of either. Agents first seen in a fragment are delivered when the
 * fragment is read. A COPC_IN000001UK01 envelope itself only names its
 * attachment and is refused with CSE_ERR_UNSUPPORTED.
 *
 * Errors name the source, line and element path; messages never contain
 * an NHS number or text from the record. */
#ifndef CSEMARKER_GP2GP_H
#define CSEMARKER_GP2GP_H

#include <stddef.h>
#include <stdio.h>

#include <csemarker/common.h>
#include <csemarker/sink.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Reader ------------------------------------------------------------ */

/* Defaults for the reader's caps (used where an option is 0). libxml2's own
 * limits (256 levels, 10 MB text) bound larger values. */
#define CSE_GP2GP_MAX_DEPTH_DEFAULT 256
#define CSE_GP2GP_MAX_TEXT_DEFAULT (1024u * 1024u)
#define CSE_GP2GP_MAX_ATTR_DEFAULT (64u * 1024u)

typedef struct cse_gp2gp_read_options {
    size_t max_depth;          /* element nesting depth; 0 = 256 */
    size_t max_text;           /* bytes in one text node; 0 = 1 MiB */
    size_t max_attr;           /* bytes in one attribute value; 0 = 64 KiB */
    const char *fragments_dir; /* folder holding large-message fragments, or NULL */
    /* Appended: a SNOMED CT lookup (model.h), or NULL. An ObservationStatement
     * whose code (its first translation, then the code itself, as the
     * requesting adaptor tests) is an immunisation becomes
     * CSE_ENTRY_IMMUNIZATION: by lookup->is_immunisation when given, else by
     * the sixteen codes the adaptor itself checks (snomed.h). A description
     * id in a statement's code that lookup->concept_of does not resolve (or
     * any, without a lookup) is counted in the loss report; the FHIR writer
     * resolves it when given the same lookup (fhirwrite.h). */
    const cse_code_lookup *lookup;
} cse_gp2gp_read_options;

/* Reads the GP2GP extract in the file at path ("-" = standard input) into
 * sink. opt may be NULL for the defaults.
 * Returns CSE_OK after sink->end() succeeded; otherwise CSE_ERR_IO (cannot
 * open or read), CSE_ERR_PARSE (not well-formed, truncated, invalid UTF-8, a
 * DOCTYPE), CSE_ERR_STRUCTURE (wrong root or namespace, missing mandatory
 * parts), CSE_ERR_LIMIT (depth, text or attribute caps), CSE_ERR_NHS_NUMBER
 * (an NHS number that fails its check), CSE_ERR_NEEDS_FRAGMENTS (a skeleton
 * without its fragments), CSE_ERR_UNSUPPORTED, CSE_ERR_NOMEM, or the code a
 * sink callback returned; err (may be NULL) says where.
 * Ownership: the sink stays the caller's; nothing is retained after return. */
CSE_EXPORT cse_code cse_gp2gp_read_file(const char *path,
                                        const cse_gp2gp_read_options *opt, cse_sink *sink,
                                        cse_error *err);

/* The same over len bytes at buf; source_name (may be NULL) names the input
 * in errors and in cse_extract_info.source. */
CSE_EXPORT cse_code cse_gp2gp_read_memory(const char *buf, size_t len,
                                          const char *source_name,
                                          const cse_gp2gp_read_options *opt,
                                          cse_sink *sink, cse_error *err);

/* ---- Writer (declarations below this line belong to the GP2GP writer) ---- */

/* The GP2GP writer (owner: export engineer).
 *
 * A cse_sink that streams an RCMR_IN030000UK07 message (UK06 on request)
 * with libxml2's xmlTextWriter, in the element order of the schemas
 * RCMR_IN030000UK07.xsd / RCMR_MT030101UK05.xsd: the message wrapper, the
 * mandatory EhrExtract skeleton, an ehrFolder whose agentDirectory holds
 * every agent delivered (plus the sending practice as an organisation agent,
 * used where an author is unknown, so every agentRef resolves), then one
 * ehrComposition per encounter.
 *
 * Entries are expected grouped by composition: an ENCOUNTER entry, then the
 * entries whose parent_id is that encounter (or a compound inside it). The
 * entries of the current composition are buffered (at most 4096; a bigger
 * one is split into continuation compositions) because the composition's
 * NOPAT label is written before its statements; memory is bounded by the
 * largest composition, not the record. Entries with no encounter go into
 * compositions coded 196401000000100 "Non-consultation data"; an entry for
 * an encounter already written (one of the last 64) goes into a
 * continuation composition with the same code and dates; one for an older
 * encounter is refused with CSE_ERR_STATE (the writer keeps the headers of
 * the last 64 encounters only, and its record of encounters and compounds
 * in a spill arena, so that its memory does not grow with the record).
 * CompoundStatements are flattened: their
 * statements are written directly in the composition.
 *
 * Statements: observations, allergies, immunisations and markers as
 * ObservationStatement; narratives as NarrativeStatement; problems as a
 * LinkSet naming an ObservationStatement (as the national sending adaptor
 * does); plans as PlanStatement; referrals as RequestStatement;
 * medications as MedicationStatement; attachments as a NarrativeStatement
 * referring to an ExternalDocument. A marker entry (info->marker set) is
 * written from cse_marker_to_entry(): SNOMED concept as `code`, legacy codes
 * as `translation`, the csemarker annotation, NOPAT on the statement. A
 * marker never shares a composition: when its encounter (or the
 * non-consultation data) holds other entries, those are written unlabelled
 * and the markers follow in an ehrComposition of their own, with the
 * encounter's code, time and author, labelled NOPAT (DESIGN.md section 4
 * rule 2). An ordinary composition is labelled only when the source labelled
 * it and every statement in it carries NOPAT. Ids are upper-case UUIDs: an
 * id that is a UUID is kept (upper-cased), any other is derived with
 * cse_uuid_derive(), so the same input always gives the same ids. */

/* Options; a NULL pointer or zeros give the defaults. Strings are copied. */
typedef struct cse_gp2gp_write_options {
    int uk06;                  /* write RCMR_IN030000UK06 (refused when labels) */
    const char *sender_ods;    /* sending practice; default: the record's ODS */
    const char *receiver_ods;  /* receiving practice (required) */
    const char *sender_asid;   /* default: nullFlavor */
    const char *receiver_asid; /* default: nullFlavor */
    const char *message_id;    /* a UUID; default derived from the extract id */
} cse_gp2gp_write_options;

/* Makes a sink that writes a GP2GP extract to out (which stays open and is
 * the caller's). Returns NULL and fills err: CSE_ERR_INVALID_ARG (no out,
 * a message_id that is not a UUID), CSE_ERR_NOMEM.
 * The sink's callbacks fail with CSE_ERR_INVALID_ARG when no sending or
 * receiving ODS code is known, CSE_ERR_UNSUPPORTED when uk06 is set and an
 * entry carries a label (or is a marker): UK06 cannot carry NOPAT,
 * CSE_ERR_LIMIT, CSE_ERR_IO (a write failed) or CSE_ERR_NOMEM. After a
 * failure the output is incomplete: write to a temporary file.
 * Ownership: the caller frees the sink with cse_sink_free(). */
CSE_EXPORT cse_sink *cse_gp2gp_writer_new(FILE *out, const cse_gp2gp_write_options *opt,
                                          cse_error *err);

/* Validates the GP2GP message in the file at path against the schema for its
 * root element (RCMR_IN030000UK06 or UK07) found in schema_dir (the folder
 * holding Schemas/RCMR_IN030000UK07.xsd, or that Schemas folder itself).
 * The message is read with network access off and no entity substitution.
 * Returns CSE_OK, CSE_ERR_SCHEMA (err has the line and element path of the
 * first schema error; values from the record are not quoted), CSE_ERR_PARSE,
 * CSE_ERR_STRUCTURE (not a GP2GP message), CSE_ERR_IO (no schema or no file)
 * or CSE_ERR_NOMEM. */
CSE_EXPORT cse_code cse_gp2gp_validate_file(const char *path, const char *schema_dir,
                                            cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
