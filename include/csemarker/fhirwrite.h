/* SPDX-License-Identifier: MIT */
/* csemarker: FHIR writers (R4 UK Core and STU3 GP Connect).
 *
 * Each writer is a cse_sink (sink.h): a reader pushes a record into it and the
 * writer streams a FHIR Bundle (type collection) to a FILE, one resource at a
 * time. Nothing but the agent directory and the current composition's
 * structure is kept, so memory does not grow with the record.
 *
 * Markers (entries the reader classed CSE_CLASS_MARKER) are always labelled
 * NOPAT, whether or not the source entry carried the label; when the writer
 * had to add it, the write report says so. Review candidates are written as
 * ordinary resources and listed in the report, never turned into markers.
 * Anything the writer does not map is counted in the report by kind. */
#ifndef CSEMARKER_FHIRWRITE_H
#define CSEMARKER_FHIRWRITE_H

#include <stdio.h>

#include <csemarker/common.h>
#include <csemarker/sink.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Options of both writers; a NULL pointer or zeros give the defaults. */
typedef struct cse_fhir_write_options {
    int pretty;            /* indent the JSON (default: one line per resource) */
    const char *bundle_id; /* Bundle.id; default derived from the extract id */
    /* Appended: a SNOMED CT lookup (model.h), or NULL. A coding whose code is
     * a SNOMED CT description id that lookup->concept_of knows is written as
     * its concept, with the description id in the sctdescid extension (GP
     * Connect's in STU3, UK Core's in R4), as the requesting adaptor writes
     * it; without one, the coding holds only the extension. */
    const cse_code_lookup *lookup;
} cse_fhir_write_options;

/* The marker identifier system: the marker id travels as an identifier of its
 * Flag and Observation so that a round trip can match them. */
#define CSE_FHIR_MARKER_ID_SYSTEM CSE_FHIR_BASE "/Id/marker"

/* Makes a sink that writes a FHIR R4 Bundle (type collection) of UK Core
 * resources to out: Patient, Practitioner, Organization, Encounter,
 * Observation, Condition, AllergyIntolerance, Immunization,
 * MedicationStatement, ServiceRequest, and for each marker a Flag
 * (cse-risk-marker-flag) plus its Observation form
 * (cse-risk-marker-observation).
 * out stays open and is the caller's; opt may be NULL.
 * Returns NULL and fills err (CSE_ERR_INVALID_ARG, CSE_ERR_NOMEM).
 * Ownership: the caller frees the sink with cse_sink_free(). */
CSE_EXPORT cse_sink *cse_fhir_r4_writer_new(FILE *out, const cse_fhir_write_options *opt,
                                            cse_error *err);

/* Makes a sink that writes a GP Connect structured-record Bundle (FHIR STU3,
 * CareConnect-GPC-* profiles) in the shape the national GP2GP requesting
 * adaptor produces. A marker becomes one CareConnect-GPC-Observation-1 with
 * NOPAT (system http://hl7.org/fhir/v3/ActCode), its review date and end
 * reason in our extensions and the same facts as a readable comment; GP
 * Connect structured records carry no Flag. Arguments and ownership as for
 * cse_fhir_r4_writer_new(). */
CSE_EXPORT cse_sink *
cse_fhir_stu3_writer_new(FILE *out, const cse_fhir_write_options *opt, cse_error *err);

/* An entry listed in the write report: by id, reason and input line only,
 * never by its text. */
typedef struct cse_fhir_report_item {
    const char *entry_id;        /* may be NULL when the source had no id */
    cse_candidate_reason reason; /* for candidates; CSE_CANDIDATE_NONE otherwise */
    int line;                    /* input line, 0 when unknown */
} cse_fhir_report_item;

/* What a writer did: counts, the entries that need a clinician, and
 * everything it (or the reader before it) did not map. */
typedef struct cse_fhir_write_report {
    size_t resources; /* resources written */
    size_t markers;   /* marker entries (each a Flag + Observation in R4) */
    /* Markers that arrived without NOPAT and were given it. */
    const cse_fhir_report_item *nopat_added;
    size_t n_nopat_added;
    /* Review candidates (written as ordinary resources). */
    const cse_fhir_report_item *candidates;
    size_t n_candidates;
    /* What the writer did not map ("what" names an entry kind or a field). */
    const cse_loss_item *losses;
    size_t n_losses;
    /* The reader's own losses, copied from its summary at the end. */
    const cse_loss_item *reader_losses;
    size_t n_reader_losses;
} cse_fhir_write_report;

/* The report of a FHIR writer made by the functions above, complete once the
 * sink's end() has run. Returns NULL when s is not a FHIR writer.
 * Ownership: lent; valid until the sink is freed. */
CSE_EXPORT const cse_fhir_write_report *cse_fhir_writer_report(const cse_sink *s);

/* Writes a report to out: as JSON when json is non-zero, otherwise as short
 * lines of text for a terminal. The report names entries by id, reason and
 * line only. Returns CSE_OK, or CSE_ERR_IO/CSE_ERR_NOMEM and fills err. */
CSE_EXPORT cse_code cse_fhir_write_report_print(const cse_fhir_write_report *r, FILE *out,
                                                int json, cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
