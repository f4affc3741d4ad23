/* csemarker: the record model.
 *
 * A record is one patient, the agents (practitioners and organisations) who
 * wrote it, its clinical entries and its CSE markers. Readers fill it, writers
 * read it, and the streaming readers hand entries over one at a time with the
 * same structs. Strings are NUL-terminated UTF-8 owned by the struct that
 * holds them; *_free() releases everything reachable and accepts NULL. */
#ifndef CSEMARKER_MODEL_H
#define CSEMARKER_MODEL_H

#include <stdbool.h>
#include <stddef.h>

#include <csemarker/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Times ------------------------------------------------------------- */

/* How much of a cse_time is known. HL7 v3 TS and FHIR dateTime both allow
 * partial dates; precision travels with the value so nothing is invented. */
typedef enum cse_precision {
    CSE_TIME_NONE = 0, /* unknown (HL7 nullFlavor, FHIR absent) */
    CSE_TIME_YEAR,
    CSE_TIME_MONTH,
    CSE_TIME_DAY,
    CSE_TIME_MINUTE,
    CSE_TIME_SECOND
} cse_precision;

/* A civil date-time in UK local time, as GP2GP carries it. */
typedef struct cse_time {
    int year, month, day, hour, minute, second;
    cse_precision precision;
} cse_time;

/* Parses an HL7 v3 TS ("YYYY[MM[DD[HHMM[SS]]]]", optional fraction and zone
 * ignored). Returns CSE_OK or CSE_ERR_DATE. */
CSE_EXPORT cse_code cse_time_parse_hl7(const char *s, cse_time *out);

/* Parses a FHIR date or dateTime ("YYYY", "YYYY-MM", "YYYY-MM-DD",
 * "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)"). The zone is dropped: the model keeps
 * UK local civil time. Returns CSE_OK or CSE_ERR_DATE. */
CSE_EXPORT cse_code cse_time_parse_fhir(const char *s, cse_time *out);

/* Format into buf (at least 32 bytes). HL7 writes YYYYMMDD[HHMMSS] to the
 * known precision; FHIR writes a date, or a dateTime with seconds and no zone
 * suffix when a time is known. Return buf, or "" when precision is NONE. */
CSE_EXPORT const char *cse_time_format_hl7(const cse_time *t, char *buf, size_t size);
CSE_EXPORT const char *cse_time_format_fhir(const cse_time *t, char *buf, size_t size);
/* A FHIR date (YYYY-MM-DD) even when a time is known. */
CSE_EXPORT const char *cse_time_format_fhir_date(const cse_time *t, char *buf,
                                                 size_t size);

/* Compares two times on the fields both know: <0, 0, >0. Unknown sorts first. */
CSE_EXPORT int cse_time_compare(const cse_time *a, const cse_time *b);

/* Adds months, clamping the day to the end of the target month (31 Aug + 6
 * months = 28/29 Feb). Requires day precision. Returns CSE_OK or CSE_ERR_DATE. */
CSE_EXPORT cse_code cse_time_add_months(const cse_time *t, int months, cse_time *out);

/* True when the time is a valid calendar date to its precision. */
CSE_EXPORT bool cse_time_valid(const cse_time *t);

/* ---- Codes ------------------------------------------------------------- */

/* Code systems, as FHIR URIs. GP2GP OIDs map to these (see rules.h). */
#define CSE_SYSTEM_SNOMED "http://snomed.info/sct"
#define CSE_SYSTEM_READ2 "http://read.info/readv2"
#define CSE_SYSTEM_CTV3 "http://read.info/ctv3"
#define CSE_SYSTEM_EMIS "https://fhir.hl7.org.uk/Id/emis-drug-codes"
#define CSE_SYSTEM_LOCAL "https://fhir.nhs.uk/Id/local-code"

typedef struct cse_coding {
    char *system; /* FHIR URI, or "urn:oid:..." for an OID we do not know */
    char *code;
    char *display; /* may be NULL */
} cse_coding;

/* A coded concept: codings[0] is the primary code (GP2GP `code`), the rest are
 * translations. n == 0 with text set is "no code, original text only". */
typedef struct cse_concept {
    cse_coding *codings;
    size_t n;
    char *text; /* originalText; may be NULL */
} cse_concept;

/* Appends a coding (copies the strings). Returns CSE_OK or CSE_ERR_NOMEM. */
CSE_EXPORT cse_code cse_concept_add(cse_concept *c, const char *system, const char *code,
                                    const char *display);
/* Sets originalText (copies). */
CSE_EXPORT cse_code cse_concept_set_text(cse_concept *c, const char *text);
/* Frees what the concept holds and zeroes it; the struct itself is the
 * caller's. */
CSE_EXPORT void cse_concept_clear(cse_concept *c);
/* Deep copy into dst (which must be zeroed). */
CSE_EXPORT cse_code cse_concept_copy(cse_concept *dst, const cse_concept *src);

/* ---- Confidentiality --------------------------------------------------- */

/* Security labels as bits. Absence of NOPAT never means "safe to show". */
#define CSE_LABEL_NOPAT 0x1u

/* ---- Agents ------------------------------------------------------------ */

typedef enum cse_agent_kind { CSE_AGENT_PERSON, CSE_AGENT_ORGANISATION } cse_agent_kind;

typedef struct cse_agent {
    char *id; /* the GP2GP agentDirectory id, upper-case UUID */
    cse_agent_kind kind;
    char *name;   /* practitioner or organisation name (never a patient's) */
    char *role;   /* role text, may be NULL */
    char *ods;    /* ODS code of the organisation, may be NULL */
    char *org_id; /* for a person: the id of the organisation agent, may be NULL */
} cse_agent;

CSE_EXPORT cse_agent *cse_agent_new(cse_agent_kind kind, const char *id);
/* Deep copy; NULL on allocation failure. */
CSE_EXPORT cse_agent *cse_agent_dup(const cse_agent *a);
CSE_EXPORT void cse_agent_free(cse_agent *a);

/* ---- Entries ----------------------------------------------------------- */

typedef enum cse_entry_kind {
    CSE_ENTRY_OBSERVATION = 0, /* ObservationStatement */
    CSE_ENTRY_NARRATIVE,       /* NarrativeStatement */
    CSE_ENTRY_PROBLEM,         /* LinkSet (problem header) */
    CSE_ENTRY_COMPOUND,        /* CompoundStatement: topic, category, battery, cluster */
    CSE_ENTRY_PLAN,            /* PlanStatement */
    CSE_ENTRY_REQUEST,         /* RequestStatement (referral) */
    CSE_ENTRY_MEDICATION,      /* MedicationStatement */
    CSE_ENTRY_ATTACHMENT,      /* ExternalDocument: a reference only */
    CSE_ENTRY_ENCOUNTER,       /* ehrComposition */
    CSE_ENTRY_ALLERGY,         /* allergy or intolerance observation */
    CSE_ENTRY_IMMUNIZATION,    /* immunisation observation */
    CSE_ENTRY_OTHER
} cse_entry_kind;

/* Static name ("observation", "narrative", ...). */
CSE_EXPORT const char *cse_entry_kind_name(cse_entry_kind k);

typedef struct cse_entry {
    cse_entry_kind kind;
    char *id;             /* upper-case UUID in GP2GP; FHIR id otherwise */
    char *parent_id;      /* composition or compound that holds it, may be NULL */
    char *compound_class; /* for COMPOUND: "topic", "category", "battery", "cluster" */
    cse_concept code;
    cse_time effective_low, effective_high, effective_center;
    cse_time availability;
    char *status;     /* statusCode ("COMPLETE", "ACTIVE", ...) or FHIR status */
    char *author_ref; /* agent id of the author or performer, may be NULL */
    char *value;      /* a simple value as text (quantity "5 mg", code), may be NULL */
    unsigned labels;  /* CSE_LABEL_* on the entry itself */
    unsigned inherited_labels; /* labels on the compositions/compounds around it */
    char **annotations;        /* pertinentAnnotation texts, in order */
    size_t n_annotations;
    char **links; /* ids this entry points to (LinkSet components, references) */
    size_t n_links;
    int source_line; /* line in the input where it started, 0 if unknown */
} cse_entry;

/* Makes an empty entry with a copy of id (may be NULL). */
CSE_EXPORT cse_entry *cse_entry_new(cse_entry_kind kind, const char *id);
CSE_EXPORT void cse_entry_free(cse_entry *e);
/* Deep copy; NULL on allocation failure. */
CSE_EXPORT cse_entry *cse_entry_dup(const cse_entry *e);
CSE_EXPORT cse_code cse_entry_add_annotation(cse_entry *e, const char *text);
CSE_EXPORT cse_code cse_entry_add_link(cse_entry *e, const char *id);
/* Replaces *field with a copy of value (NULL clears). For any char* member. */
CSE_EXPORT cse_code cse_strset(char **field, const char *value);

/* ---- Markers ----------------------------------------------------------- */

typedef enum cse_marker_status {
    CSE_MARKER_ACTIVE = 0,
    CSE_MARKER_INACTIVE,
    CSE_MARKER_ENTERED_IN_ERROR
} cse_marker_status;

/* "active", "inactive", "entered-in-error" (the FHIR Flag status codes). */
CSE_EXPORT const char *cse_marker_status_name(cse_marker_status s);
/* Parses the names above. Returns CSE_OK or CSE_ERR_STATE. */
CSE_EXPORT cse_code cse_marker_status_parse(const char *s, cse_marker_status *out);

/* End reasons: codes of CodeSystem cse-marker-end-reason. */
#define CSE_END_NO_LONGER_AT_RISK "no-longer-at-risk"
#define CSE_END_REACHED_ADULTHOOD "reached-adulthood"
#define CSE_END_SUPERSEDED "superseded"
#define CSE_END_OTHER "other"
/* True for one of the four codes above. */
CSE_EXPORT bool cse_end_reason_valid(const char *code);

/* The default review interval in months (DESIGN.md section 3). */
#define CSE_REVIEW_MONTHS_DEFAULT 6

typedef struct cse_marker {
    char *id;      /* stable upper-case UUID */
    char *code;    /* SNOMED CT concept id from the marker ValueSet */
    char *display; /* the term, may be NULL */
    cse_concept
        legacy; /* codes it arrived with other than `code` (kept as translations) */
    cse_marker_status status;
    cse_time start;         /* when the concern was recorded (required) */
    cse_time end;           /* when ended; NONE unless inactive */
    cse_time review;        /* review due (required) */
    cse_time last_reviewed; /* NONE until reviewed */
    char *end_reason;       /* cse-marker-end-reason code, only when inactive */
    char *author_id;        /* practitioner agent id or FHIR id */
    char *author_name;      /* practitioner name, may be NULL */
    char *org_ods;          /* author organisation ODS code */
    char *entry_id;         /* id of the entry it was read from or written as */
    unsigned labels; /* always includes CSE_LABEL_NOPAT once the library wrote it */
} cse_marker;

/* Creates an active marker. code must be a marker concept id (rules.h);
 * start must be a valid day-precision date. review may be NULL for the
 * default (start + review_months, or CSE_REVIEW_MONTHS_DEFAULT when
 * review_months <= 0); a given review date must not be before start. id may be
 * NULL to generate a random upper-case UUID. NOPAT is always set.
 * Returns NULL and fills err (CSE_ERR_CODE, CSE_ERR_DATE, CSE_ERR_NOMEM).
 * Ownership: the caller frees the result with cse_marker_free(). */
CSE_EXPORT cse_marker *cse_marker_new(const char *code, const cse_time *start,
                                      const cse_time *review, int review_months,
                                      const char *id, cse_error *err);
CSE_EXPORT void cse_marker_free(cse_marker *m);
/* Deep copy; NULL on allocation failure. */
CSE_EXPORT cse_marker *cse_marker_dup(const cse_marker *m);

/* State changes. Each refuses an invalid transition with CSE_ERR_STATE (or
 * CSE_ERR_DATE for dates out of order) and leaves the marker unchanged:
 *   review: active only; `on` >= start; next review > on (NULL: on + default).
 *   end:    active only; `on` >= start; reason one of the end-reason codes.
 *   entered-in-error: active or inactive; never undone.
 * Ending never deletes: status and dates record what happened. */
CSE_EXPORT cse_code cse_marker_review(cse_marker *m, const cse_time *on,
                                      const cse_time *next_review, cse_error *err);
CSE_EXPORT cse_code cse_marker_end(cse_marker *m, const cse_time *on, const char *reason,
                                   cse_error *err);
CSE_EXPORT cse_code cse_marker_entered_in_error(cse_marker *m, cse_error *err);

/* True when active and review < today. */
CSE_EXPORT bool cse_marker_review_overdue(const cse_marker *m, const cse_time *today);

/* ---- Patient and record ------------------------------------------------ */

typedef struct cse_patient {
    char *nhs_number; /* canonical 10 digits, may be NULL when the extract uses a local id
                       */
    char *local_id_root; /* OID of a non-NHS patient id, with local_id */
    char *local_id;
    cse_time birth; /* may be NONE: GP2GP does not carry it */
    char *ods;      /* registered practice ODS code */
} cse_patient;

typedef struct cse_record cse_record;

/* An empty record. NULL on allocation failure. Ownership: caller frees. */
CSE_EXPORT cse_record *cse_record_new(void);
CSE_EXPORT void cse_record_free(cse_record *r);

/* The patient, lent: valid until the record is freed; fields may be set with
 * cse_strset(). */
CSE_EXPORT cse_patient *cse_record_patient(cse_record *r);

/* Adders take ownership of the object on success AND on failure (it is freed
 * when the add fails), so a caller never leaks. */
CSE_EXPORT cse_code cse_record_add_agent(cse_record *r, cse_agent *a);
CSE_EXPORT cse_code cse_record_add_entry(cse_record *r, cse_entry *e);
CSE_EXPORT cse_code cse_record_add_marker(cse_record *r, cse_marker *m);

CSE_EXPORT size_t cse_record_agent_count(const cse_record *r);
CSE_EXPORT size_t cse_record_entry_count(const cse_record *r);
CSE_EXPORT size_t cse_record_marker_count(const cse_record *r);
/* Lent pointers, NULL when i is out of range. */
CSE_EXPORT cse_agent *cse_record_agent(const cse_record *r, size_t i);
CSE_EXPORT cse_entry *cse_record_entry(const cse_record *r, size_t i);
CSE_EXPORT cse_marker *cse_record_marker(const cse_record *r, size_t i);
/* Finds by id; NULL when absent. */
CSE_EXPORT cse_agent *cse_record_find_agent(const cse_record *r, const char *id);
CSE_EXPORT cse_marker *cse_record_find_marker(const cse_record *r, const char *id);

/* Writes a new random upper-case UUID (36 chars + NUL) into buf[37].
 * Returns CSE_OK or CSE_ERR_INTERNAL when no randomness is available. */
CSE_EXPORT cse_code cse_uuid_random(char buf[37]);
/* A stable upper-case UUID derived from a namespace string and a name
 * (SHA-256 based, version 5 layout), so that the same input always yields the
 * same id across conversions. */
CSE_EXPORT cse_code cse_uuid_derive(const char *ns, const char *name, char buf[37]);
/* True for an upper-case UUID as the GP2GP schema requires. */
CSE_EXPORT bool cse_uuid_valid(const char *s);

#ifdef __cplusplus
}
#endif
#endif
