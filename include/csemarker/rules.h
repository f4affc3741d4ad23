/* SPDX-License-Identifier: MIT */
/* csemarker: marker rules as code (DESIGN.md sections 3 and 7).
 *
 * Pure functions over strings and model structs: no allocation, no I/O. */
#ifndef CSEMARKER_RULES_H
#define CSEMARKER_RULES_H

#include <stdbool.h>

#include <csemarker/common.h>
#include <csemarker/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The SNOMED CT partition of an identifier (3rd and 2nd digits from the
 * right). */
typedef enum cse_sctid_kind {
    CSE_SCTID_INVALID = 0, /* not 6-18 digits, bad check digit, or unknown partition */
    CSE_SCTID_CONCEPT,     /* partition 00 or 10 */
    CSE_SCTID_DESCRIPTION, /* partition 01 or 11 */
    CSE_SCTID_RELATIONSHIP /* partition 02 or 12 */
} cse_sctid_kind;

/* Classifies a SNOMED CT identifier: length, digits only, no leading zero,
 * Verhoeff check digit, partition. */
CSE_EXPORT cse_sctid_kind cse_sctid_classify(const char *id);
/* True when the Verhoeff check digit of the digit string is right. */
CSE_EXPORT bool cse_verhoeff_valid(const char *digits);

/* True when id is one of the marker concepts (716565009, 713834002,
 * 919461000000108). A malformed id is never a marker. */
CSE_EXPORT bool cse_code_is_marker(const char *sctid);
/* True when id is one of the related safeguarding concepts. */
CSE_EXPORT bool cse_code_is_related(const char *sctid);
/* True for the transfer-degraded codes 196411000000103 and 196451000000104. */
CSE_EXPORT bool cse_code_is_degraded(const char *sctid);
/* The term for a marker or related code, NULL for any other. Static. */
CSE_EXPORT const char *cse_code_term(const char *sctid);

/* The marker concept id found in a concept's code or any SNOMED translation,
 * or NULL. Lent from the concept. */
CSE_EXPORT const char *cse_concept_marker_code(const cse_concept *c);
/* The related safeguarding concept id found likewise, or NULL. */
CSE_EXPORT const char *cse_concept_related_code(const cse_concept *c);
/* True when the text names child sexual exploitation ("sexual exploitation",
 * "sexually exploited", the word "CSE"), case-insensitively. */
CSE_EXPORT bool cse_text_names_cse(const char *text);

/* What a clinical entry means for the marker rules. */
typedef enum cse_entry_class {
    CSE_CLASS_NONE = 0, /* nothing to do with markers */
    CSE_CLASS_MARKER,   /* a marker concept id in code or translation */
    CSE_CLASS_RELATED,  /* a related safeguarding code and no marker code */
    CSE_CLASS_CANDIDATE /* may be a marker but cannot be confirmed: for review */
} cse_entry_class;

/* Why an entry is a candidate, for the review report. */
typedef enum cse_candidate_reason {
    CSE_CANDIDATE_NONE = 0,
    CSE_CANDIDATE_DESCRIPTION_ID, /* SNOMED description id, not a concept id */
    CSE_CANDIDATE_LEGACY_ONLY,    /* only Read v2 / CTV3 / local codes */
    CSE_CANDIDATE_DEGRADED,       /* transfer-degraded code */
    CSE_CANDIDATE_UNCODED,        /* no code, original text only */
    CSE_CANDIDATE_MALFORMED,      /* a SNOMED code that fails the check digit */
    CSE_CANDIDATE_TEXT_ONLY,      /* a valid unrelated concept whose text names CSE */
    CSE_CANDIDATE_DAMAGED         /* a marker code, but no usable date or a damaged
                                     csemarker annotation */
} cse_candidate_reason;

CSE_EXPORT const char *cse_candidate_reason_name(cse_candidate_reason r);

/* Classifies a concept. A marker concept anywhere wins; then a related code;
 * then an entry whose text (originalText or any display) names CSE is a
 * candidate with the reason that best explains why it is unconfirmed.
 * reason may be NULL. */
CSE_EXPORT cse_entry_class cse_concept_classify(const cse_concept *c,
                                                cse_candidate_reason *reason);

/* NHS numbers. Canonicalises "943 476 5919" / "943-476-5919" into 10 digits
 * (out must hold 11 bytes). Returns CSE_OK, or CSE_ERR_NHS_NUMBER when the
 * input is not 10 digits or fails the modulus 11 check. */
CSE_EXPORT cse_code cse_nhs_number_canonical(const char *in, char out[11]);
/* True when in is a valid NHS number (spaces or dashes allowed). */
CSE_EXPORT bool cse_nhs_number_valid(const char *in);

/* Code system OIDs used by GP2GP, and their FHIR URIs. */
#define CSE_OID_SNOMED "2.16.840.1.113883.2.1.3.2.4.15"
#define CSE_OID_READ2 "2.16.840.1.113883.2.1.6.2"
#define CSE_OID_CTV3 "2.16.840.1.113883.2.1.3.2.4.14"
#define CSE_OID_EMIS "2.16.840.1.113883.2.1.6.3"
#define CSE_OID_NHS_NUMBER "2.16.840.1.113883.2.1.4.1"
#define CSE_OID_ODS "1.2.826.0.1285.0.1.10"
#define CSE_OID_NOPAT_SYSTEM "2.16.840.1.113883.4.642.3.47"

/* Maps a GP2GP code-system OID to a FHIR system URI (static), or NULL for an
 * OID we do not know (callers then use "urn:oid:" + oid). */
CSE_EXPORT const char *cse_system_from_oid(const char *oid);
/* The reverse; NULL when the URI has no GP2GP OID. A "urn:oid:X" URI gives X. */
CSE_EXPORT const char *cse_system_to_oid(const char *uri);

#ifdef __cplusplus
}
#endif
#endif
