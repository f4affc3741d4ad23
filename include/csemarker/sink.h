/* SPDX-License-Identifier: MIT */
/* csemarker: the streaming interface between readers and writers.
 *
 * A reader (GP2GP XML, FHIR JSON) pushes what it reads into a sink, one item
 * at a time, in this order: begin, agent*, entry*, end. A writer (FHIR R4,
 * FHIR STU3, GP2GP UK07), a counter (cse-report) or a collector (building a
 * cse_record) is a sink. Nothing is retained by the reader after a callback
 * returns: a sink that needs an item later copies it. This keeps memory
 * independent of the size of the record.
 *
 * Pluggable formats are structs of function pointers (curl's vtls). */
#ifndef CSEMARKER_SINK_H
#define CSEMARKER_SINK_H

#include <csemarker/common.h>
#include <csemarker/model.h>
#include <csemarker/rules.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The message around a record. */
typedef struct cse_extract_info {
    int hl7_version; /* 6 for RCMR_IN030000UK06, 7 for UK07, 0 for a bare EhrExtract
                        or a FHIR source */
    const char *message_id; /* the message id, may be NULL */
    const char *extract_id; /* EhrExtract id, may be NULL */
    const char *folder_id;  /* ehrFolder id, may be NULL */
    const cse_patient *patient;
    const char *author_ods;      /* sending practice */
    const char *destination_ods; /* receiving practice */
    cse_time availability;       /* when the extract was made */
    const char *source;          /* file name for messages, "-" for stdin */
} cse_extract_info;

/* What the marker rules made of an entry. */
typedef struct cse_entry_info {
    cse_entry_class cls;         /* NONE, MARKER, RELATED or CANDIDATE */
    cse_candidate_reason reason; /* for CANDIDATE */
    const cse_marker *marker;    /* for MARKER: the marker read from the entry */
} cse_entry_info;

/* One kind of thing the reader could not map, with how often and where it
 * was first seen. Names are element or resource types, never record text. */
typedef struct cse_loss_item {
    const char *what; /* e.g. "ehrComposition/component/UnknownStatement" */
    const char *why;  /* short reason, static text */
    size_t count;
    int first_line;
} cse_loss_item;

typedef struct cse_summary {
    size_t entries;    /* entries delivered */
    size_t markers;    /* of which markers */
    size_t candidates; /* of which candidates for clinician review */
    const cse_loss_item *losses;
    size_t n_losses;
} cse_summary;

typedef struct cse_sink cse_sink;

/* Every callback returns CSE_OK to go on; any other code stops the reader,
 * which returns that code (and err as the sink filled it). */
struct cse_sink {
    cse_code (*begin)(cse_sink *s, const cse_extract_info *info, cse_error *err);
    cse_code (*agent)(cse_sink *s, const cse_agent *a, cse_error *err);
    cse_code (*entry)(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                      cse_error *err);
    /* Called once after the last entry, only when reading succeeded. The sink
     * finishes its output here (writers write their closing text). */
    cse_code (*end)(cse_sink *s, const cse_summary *summary, cse_error *err);
    /* Releases the sink; may be NULL. Called by cse_sink_free(). */
    void (*destroy)(cse_sink *s);
    void *data; /* the sink's own state */
};

/* Calls s->destroy(s) when set. Accepts NULL. */
CSE_EXPORT void cse_sink_free(cse_sink *s);

/* A sink that collects everything into a cse_record (agents, entries and the
 * markers of marker entries). Ownership: the record stays the caller's; the
 * sink must be freed with cse_sink_free() and does not free the record. */
CSE_EXPORT cse_sink *cse_record_sink_new(cse_record *r);

/* Replays a record into a sink: begin, agents, entries (markers attached to
 * the entries they were read from, and a synthetic entry for a marker with no
 * entry), end. info may be NULL (defaults from the record's patient). */
CSE_EXPORT cse_code cse_record_replay(cse_record *r, const cse_extract_info *info,
                                      cse_sink *s, cse_error *err);

/* ---- Markers inside a GP2GP ObservationStatement ----------------------- */

/* The machine-readable annotation that carries what HL7 v3 has no field for:
 *   "CSE marker v1 | status: active | category: cse | review: 2024-09-01"
 * followed, when present, by " | last-reviewed: YYYY-MM-DD",
 * " | ended: YYYY-MM-DD" and " | end-reason: CODE". A receiving system
 * without csemarker shows it as text, which a clinician can read. */
#define CSE_ANNOTATION_PREFIX "CSE marker v1"

/* Writes the annotation for m into buf. Returns CSE_OK or CSE_ERR_LIMIT. */
CSE_EXPORT cse_code cse_marker_annotation_format(const cse_marker *m, char *buf,
                                                 size_t size);

/* Parses an annotation into m's status, review, last_reviewed, end and
 * end_reason. Returns CSE_OK, CSE_ERR_UNSUPPORTED when text is not a csemarker
 * annotation (the caller then treats it as an ordinary note), or
 * CSE_ERR_STRUCTURE/CSE_ERR_DATE/CSE_ERR_STATE when it is one but is damaged
 * (path "annotation", message says which field). */
CSE_EXPORT cse_code cse_marker_annotation_parse(const char *text, cse_marker *m,
                                                cse_error *err);

/* Builds the marker an entry carries (class MARKER): code from the concept,
 * legacy codes kept, start from effective low/center (availability when
 * neither), end from effective high, author from author_ref, labels from the
 * entry and its containers, and status/review/end reason from a csemarker
 * annotation. Without an annotation (the record passed through a system
 * without csemarker) the marker is active, or inactive when an end date is
 * present, and its review date is the default from the start.
 * *annotated tells which (may be NULL). The marker id is the entry id.
 * Returns NULL and fills err when the entry carries no marker code or a damaged
 * annotation. Ownership: caller frees with cse_marker_free(). */
CSE_EXPORT cse_marker *cse_marker_from_entry(const cse_entry *e, bool *annotated,
                                             cse_error *err);

/* Builds the ObservationStatement entry a marker travels as: code (SNOMED
 * concept, display) with legacy codes as translations, effective low (and high
 * when ended), the annotation, NOPAT. id: the marker id. Ownership: caller
 * frees with cse_entry_free(). NULL on allocation failure. */
CSE_EXPORT cse_entry *cse_marker_to_entry(const cse_marker *m);

#ifdef __cplusplus
}
#endif
#endif
