/* SPDX-License-Identifier: MIT */
/* csemarker: the FHIR reader (R4 UK Core and STU3 GP Connect).
 *
 * Reads one patient's record, as a Bundle (JSON) or as NDJSON (one resource
 * per line), and pushes it into a cse_sink (sink.h): begin, agents, entries,
 * end. The FHIR version is detected from the content (meta.profile, the
 * NOPAT label's system, resource types only one version has); a record that
 * mixes signals of both versions is refused with CSE_ERR_VERSION.
 *
 * Memory: a Bundle file is read entry by entry, in two passes: once for the
 * patient, the agents and the links between resources, once for the
 * entries. The index between the passes (a row and a few hundred bytes per
 * resource) is kept past 4 MB in an unlinked temporary file ($TMPDIR) of
 * which at most about 40 MB is held in memory, so memory is proportional
 * to the largest entry, not to the file nor to the number of resources. A
 * Bundle file's size is not limited; each entry is, by max_line. A Bundle
 * the scanner cannot split (and a Bundle in memory) is loaded whole, capped
 * by max_bytes. NDJSON is streamed line by line the same way. Standard
 * input is first copied to an unlinked temporary file, capped by max_bytes.
 *
 * What the reader delivers:
 *   begin   the patient (NHS number identifier, validated by its check digit)
 *           and the practice ODS code (Patient.managingOrganization or
 *           generalPractitioner's organisation, when present);
 *   agent   every Practitioner (with its PractitionerRole's role and
 *           organisation) and Organization;
 *   entry   each Encounter (CSE_ENTRY_ENCOUNTER) followed by the entries that
 *           belong to it (their encounter/context reference, or a List with
 *           an encounter that holds them), then every entry without an
 *           encounter. Observation, Condition (PROBLEM), AllergyIntolerance,
 *           Immunization, MedicationStatement/MedicationRequest,
 *           ProcedureRequest/ServiceRequest (PLAN), ReferralRequest
 *           (REQUEST), DocumentReference (ATTACHMENT).
 *           A CSE marker Flag (our profile, or any Flag whose code is a
 *           marker code) and its Observation form (linked by the Flag's
 *           flag-detail extension or by the same marker identifier) become
 *           ONE CSE_CLASS_MARKER entry built with cse_marker_to_entry(); an
 *           Observation form without a Flag, or a plain Observation with a
 *           marker code, is a marker too. Other entries are classified with
 *           cse_concept_classify().
 *   end     counts and the loss report: List, Composition, Bundle, Location
 *           and Medication are structural (counted under "structural", not
 *           loss); every other resource type not mapped, and every Flag that
 *           is not a marker, is counted by resource type. Never record text.
 *
 * Entry ids are the FHIR ids when they are UUIDs (upper-cased), otherwise
 * "Type/id"; references are resolved to the same form. */
#ifndef CSEMARKER_FHIRREAD_H
#define CSEMARKER_FHIRREAD_H

#include <stddef.h>

#include <csemarker/common.h>
#include <csemarker/sink.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Defaults for the caps (used where an option is 0). */
#define CSE_FHIR_MAX_DEPTH_DEFAULT 64
#define CSE_FHIR_MAX_BYTES_DEFAULT (256u * 1024u * 1024u)
#define CSE_FHIR_MAX_LINE_DEFAULT (16u * 1024u * 1024u)

typedef struct cse_fhir_read_options {
    size_t max_depth; /* JSON nesting depth; 0 = 64 */
    size_t max_bytes; /* a document held whole in memory; 0 = 256 MiB */
    size_t max_line;  /* bytes in one NDJSON line or Bundle entry; 0 = 16 MiB */
    int version;      /* 0 = detect; 3 = require STU3; 4 = require R4 */
} cse_fhir_read_options;

/* Reads the FHIR record in the file at path ("-" = standard input) into
 * sink. opt may be NULL for the defaults.
 * Returns CSE_OK after sink->end() succeeded; otherwise CSE_ERR_IO (cannot
 * open or read), CSE_ERR_PARSE (not JSON, truncated, duplicate keys: err
 * has the line and column), CSE_ERR_STRUCTURE (JSON but not FHIR, or a
 * resource of the wrong shape: err->path is a JSON path such as
 * "entry[3].resource.code"), CSE_ERR_VERSION (not R4 or STU3, a mix of
 * both, or not the version opt->version asks for), CSE_ERR_LIMIT (depth or
 * size caps), CSE_ERR_NHS_NUMBER (a Patient NHS number that fails its
 * check), CSE_ERR_NOMEM, or the code a sink callback returned.
 * Ownership: the sink stays the caller's; nothing is retained after return. */
CSE_EXPORT cse_code cse_fhir_read_file(const char *path, const cse_fhir_read_options *opt,
                                       cse_sink *sink, cse_error *err);

/* The same over len bytes at buf (a Bundle, a single resource, or NDJSON);
 * source_name (may be NULL) names the input in errors. */
CSE_EXPORT cse_code cse_fhir_read_memory(const char *buf, size_t len,
                                         const char *source_name,
                                         const cse_fhir_read_options *opt, cse_sink *sink,
                                         cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
