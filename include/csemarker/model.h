/* SPDX-License-Identifier: MIT */
/* csemarker: the record model.
 *
 * A record is one patient, the agents (practitioners and organisations) who
 * wrote it, its clinical entries and its CSE markers. Readers fill it, writers
 * read it, and the streaming readers hand entries over one at a time with the
 * same structs. Strings are NUL-terminated UTF-8 owned by the struct that
 * holds them; *_free() releases everything reachable and accepts NULL.
 *
 * Streaming: a container (an ehrComposition as CSE_ENTRY_ENCOUNTER, a
 * CompoundStatement as CSE_ENTRY_COMPOUND) is handed over before its
 * components, and each component names it in parent_id. A container has
 * ended when an entry arrives whose parent_id is neither it nor one of its
 * components (an encounter's parent_id is NULL), or at the end of the record:
 * a writer that must name a container's components (a DiagnosticReport, a
 * List) keeps a stack of open containers and finishes them then. Everything
 * one statement says (a MedicationStatement with all its supplies, an
 * observation with its value and ranges) arrives in one cse_entry. */
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
 * "YYYY-MM-DDThh:mm:ss[.fff](Z|+hh:mm)"). The model keeps UK local civil
 * time: a time with a zone is converted to Europe/London (GMT, or BST from
 * 01:00 UTC on the last Sunday of March to 01:00 UTC on the last Sunday of
 * October), as the national sending adaptor does; one without a zone is
 * taken as UK time already. Returns CSE_OK or CSE_ERR_DATE. */
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

/* ---- Values ------------------------------------------------------------ */

/* A quantity as GP2GP carries it (PQ): the number is kept exactly as written
 * so nothing is rounded or reformatted on the way through. */
typedef struct cse_quantity {
    char *value;      /* "120", "0.50", "-1e3"; NULL when no number */
    char *unit;       /* human unit text (translation/originalText, or @unit);
                         NULL when none (HL7 unit "1" is "no unit") */
    char *ucum;       /* UCUM code (HL7 @unit when it is not "1"), may be NULL */
    char *comparator; /* "<", "<=", ">=", ">" or NULL */
} cse_quantity;

/* Sets the parts (copies; NULL clears a part). */
CSE_EXPORT cse_code cse_quantity_set(cse_quantity *q, const char *value, const char *unit,
                                     const char *ucum);
CSE_EXPORT void cse_quantity_clear(cse_quantity *q);
/* Deep copy into dst (zeroed). */
CSE_EXPORT cse_code cse_quantity_copy(cse_quantity *dst, const cse_quantity *src);
/* True when the quantity has a number. */
CSE_EXPORT bool cse_quantity_present(const cse_quantity *q);

/* A range (IVL_PQ) or a reference range: either end may be absent. */
typedef struct cse_range {
    cse_quantity low, high;
    char *text;       /* a range written as text ("< 5"), may be NULL */
    cse_concept type; /* reference range: what it applies to (may be empty) */
} cse_range;

CSE_EXPORT void cse_range_clear(cse_range *r);
CSE_EXPORT cse_code cse_range_copy(cse_range *dst, const cse_range *src);

typedef enum cse_value_kind {
    CSE_VALUE_NONE = 0,
    CSE_VALUE_QUANTITY, /* PQ, INT, REAL: quantity (ucum/unit NULL for a plain number) */
    CSE_VALUE_CODED,    /* CD, CV: coded */
    CSE_VALUE_TEXT,     /* ST, ED: text */
    CSE_VALUE_RANGE,    /* IVL_PQ: range */
    CSE_VALUE_BOOLEAN,  /* BL: boolean */
    CSE_VALUE_DATE      /* TS: date */
} cse_value_kind;

/* Static name ("quantity", "coded", ...). */
CSE_EXPORT const char *cse_value_kind_name(cse_value_kind k);

/* An observation's value: exactly one member is meaningful, by kind. */
typedef struct cse_value {
    cse_value_kind kind;
    cse_quantity quantity;
    cse_concept coded;
    char *text;
    cse_range range;
    bool boolean;
    cse_time date;
} cse_value;

CSE_EXPORT void cse_value_clear(cse_value *v);
CSE_EXPORT cse_code cse_value_copy(cse_value *dst, const cse_value *src);

/* ---- Typed links between entries ---------------------------------------- */

/* A typed pointer from one entry to another (in addition to the untyped
 * `links`). Roles used by the readers:
 *   "named"      LinkSet conditionNamed: the statement that names the problem
 *   "component"  LinkSet component: a statement related to the problem
 *   "parent", "child", "sibling"  problem hierarchy (LinkSet to LinkSet)
 *   "fulfils"    ehrSupplyPrescribe -> ehrSupplyAuthorise (inFulfillmentOf)
 *   "reverses"   ehrSupplyDiscontinue -> ehrSupplyAuthorise (reversalOf)
 *   "reason"     a request or plan made for another entry
 *   "document"   a narrative -> the ExternalDocument it refers to */
typedef struct cse_entry_ref {
    char *id;
    char *role;
} cse_entry_ref;

/* ---- Medication ----------------------------------------------------------- */

typedef enum cse_supply_kind {
    CSE_SUPPLY_AUTHORISE = 0, /* ehrSupplyAuthorise: a plan (MedicationRequest plan) */
    CSE_SUPPLY_PRESCRIBE,     /* ehrSupplyPrescribe: an issue (MedicationRequest order) */
    CSE_SUPPLY_DISCONTINUE    /* ehrSupplyDiscontinue: ends an authorisation */
} cse_supply_kind;

/* Static name ("authorise", "prescribe", "discontinue"). */
CSE_EXPORT const char *cse_supply_kind_name(cse_supply_kind k);

/* One component of a MedicationStatement. */
typedef struct cse_supply {
    cse_supply_kind kind;
    char *id;
    cse_concept code; /* AUTHORISE: prescription type ("Repeat", "Acute", ...);
                         DISCONTINUE: the reason code; PRESCRIBE: the code given */
    char *status;     /* statusCode: ACTIVE, COMPLETE, NULLIFIED, ... */
    cse_time effective_low, effective_high, effective_center;
    cse_time availability; /* authorised, issued or discontinued on */
    cse_quantity quantity; /* quantity supplied: number as written, unit */
    char *quantity_text;   /* quantity/translation/originalText ("28 tablet") */
    int repeats;           /* AUTHORISE: repeatNumber; -1 when not stated */
    char *prior_id;        /* PRESCRIBE: the authorise it fulfils;
                              DISCONTINUE: the authorise it ends */
    char *author_ref;      /* author or Participant AUT */
    char *prescriber_ref;  /* the prescriber (Participant PPRF/PRF), may be NULL */
    char **notes;          /* pertinentSupplyAnnotation texts, in order
                              (DISCONTINUE: the reasons as written) */
    size_t n_notes;
    unsigned labels; /* CSE_LABEL_* on this component */
} cse_supply;

/* The medication parts of a CSE_ENTRY_MEDICATION. The drug is the entry's
 * `code` (consumable/manufacturedMaterial/code: codings and text). */
typedef struct cse_medication {
    char *dosage;            /* pertinentMedicationDosage/text */
    char *prescription_type; /* the statement's own prescribing type text, may be NULL */
    cse_supply *supplies;    /* in document order */
    size_t n_supplies;
} cse_medication;

/* Appends a supply with a copy of id; returns it (lent, valid until the next
 * add or the entry's free), NULL on allocation failure or past the cap. */
CSE_EXPORT cse_supply *cse_medication_add_supply(cse_medication *m, cse_supply_kind kind,
                                                 const char *id);
CSE_EXPORT cse_code cse_supply_add_note(cse_supply *s, const char *text);
/* Finds a supply by id; NULL when absent. */
CSE_EXPORT cse_supply *cse_medication_find_supply(const cse_medication *m,
                                                  const char *id);

/* ---- Allergy ---------------------------------------------------------------- */

/* The allergy parts of a CSE_ENTRY_ALLERGY. The entry's `code` stays the
 * statement's own code (e.g. "H/O: drug allergy"). */
typedef struct cse_allergy {
    cse_concept allergen;  /* the substance: the coded value when present */
    char *category;        /* FHIR category: "medication", "environment", "food" */
    char *type;            /* "allergy" or "intolerance", may be NULL */
    cse_concept reaction;  /* manifestation, may be empty */
    cse_time asserted;     /* when it was recorded (availabilityTime) */
    cse_time onset;        /* effectiveTime center or low */
    cse_time end;          /* effectiveTime high (resolved) */
    char *clinical_status; /* "active", "inactive", "resolved", may be NULL */
} cse_allergy;

/* ---- Pathology -------------------------------------------------------------- */

typedef enum cse_path_role {
    CSE_PATH_NONE = 0,
    CSE_PATH_REPORT,   /* CompoundStatement: the laboratory report (DiagnosticReport) */
    CSE_PATH_SPECIMEN, /* CompoundStatement: one specimen (Specimen) */
    CSE_PATH_BATTERY,  /* CompoundStatement BATTERY: a test group (Observation) */
    CSE_PATH_CLUSTER,  /* CompoundStatement CLUSTER under a report: a result cluster */
    CSE_PATH_RESULT,   /* ObservationStatement under a report: a test result */
    CSE_PATH_COMMENT   /* NarrativeStatement under a report: a comment */
} cse_path_role;

/* Static name ("report", "specimen", ...). */
CSE_EXPORT const char *cse_path_role_name(cse_path_role r);

typedef struct cse_pathology {
    cse_path_role role;
    char *report_id;           /* the report it belongs to (REPORT: its own id) */
    char *specimen_id;         /* the specimen it is under, may be NULL */
    char *accession;           /* the laboratory's report or specimen number */
    cse_concept specimen_type; /* SPECIMEN: what was taken */
    cse_time collected;        /* SPECIMEN: when taken */
    cse_time received;         /* SPECIMEN: when the laboratory received it */
    cse_time issued;           /* REPORT: when issued (availabilityTime) */
    char *comment_type;        /* COMMENT: "LAB RESULT COMMENT(E141)" etc., as written */
} cse_pathology;

/* ---- Problems, requests, documents, encounters ------------------------------ */

typedef struct cse_problem {
    char *significance;        /* "major" or "minor", may be NULL */
    char *named_id;            /* the statement that names it (conditionNamed) */
    cse_time onset, abatement; /* effectiveTime low and high */
} cse_problem;

/* PlanStatement and RequestStatement details. */
typedef struct cse_request {
    char *priority;      /* FHIR priority: "routine", "urgent", "asap", "stat" */
    char *requester_ref; /* agent who asked */
    char *recipient_ref; /* agent or organisation it is for (responsibleParty) */
    char *service_text;  /* what is asked for, as written */
    cse_concept reason;  /* why, may be empty */
    cse_time occurrence; /* when planned or due */
    char *mood;          /* HL7 moodCode ("INT", "RQO", ...) */
} cse_request;

/* ExternalDocument details. value keeps the reference as before. */
typedef struct cse_document {
    char *reference;     /* text/reference/@value ("file://...", "cid:...") */
    char *media_type;    /* text/@mediaType */
    char *title;         /* the narrative's text, as written */
    char *custodian_ref; /* organisation agent, may be NULL */
    bool absent;         /* the file was not sent (placeholder only) */
} cse_document;

/* ehrComposition details (CSE_ENTRY_ENCOUNTER). */
typedef struct cse_encounter {
    char *location_ref;        /* CSE_AGENT_LOCATION agent id, may be NULL */
    char *performer_ref;       /* Participant2 PRF, may be NULL */
    char *recorder_ref;        /* author, may be NULL */
    cse_concept type;          /* the composition code (also in `code`) */
    cse_time authored;         /* author/time: when the composition was written */
    char *location_name;       /* location/locatedEntity/locatedPlace/name, as written */
    cse_concept location_type; /* location/locatedEntity/code */
} cse_encounter;

/* ---- Confidentiality --------------------------------------------------- */

/* Security labels as bits. Absence of NOPAT never means "safe to show". */
#define CSE_LABEL_NOPAT 0x1u

/* ---- Agents ------------------------------------------------------------ */

typedef enum cse_agent_kind {
    CSE_AGENT_PERSON,
    CSE_AGENT_ORGANISATION,
    CSE_AGENT_LOCATION, /* a place (ehrComposition location); becomes a Location */
    CSE_AGENT_DEVICE    /* a software agent (a GP system named as author) */
} cse_agent_kind;

typedef struct cse_agent {
    char *id; /* the GP2GP agentDirectory id, upper-case UUID */
    cse_agent_kind kind;
    char *name;   /* practitioner or organisation name (never a patient's) */
    char *role;   /* role text, may be NULL */
    char *ods;    /* ODS code of the organisation, may be NULL */
    char *org_id; /* for a person: the id of the organisation agent, may be NULL */
    /* Appended for the whole-record model (all may be NULL or empty). */
    cse_concept type; /* organisation type (agentOrganization/code), a person's
                         role code (Agent/code), a location's type */
    char *prefix, *given, *family; /* a person's name in parts, as written */
    char *telecom;                 /* an organisation's or place's phone, as written */
    char *address;                 /* its address lines (and city), '\n' between */
    char *version;                 /* DEVICE: software version, may be NULL */
    char *postcode; /* an organisation's or place's postal code (address holds
                       the lines before it, one a line, separated by '\n') */
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

    /* Appended for the whole-record model. Every part is optional and zero
     * when absent; cse_entry_free() and cse_entry_dup() handle all of them. */
    cse_value val;              /* the typed value (`value` keeps a text form) */
    cse_concept interpretation; /* interpretationCode */
    cse_range *ref_ranges;      /* referenceRange, in order */
    size_t n_ref_ranges;
    char *performer_ref;          /* Participant PRF (or Participant2), may be NULL */
    char *composition_id;         /* the ehrComposition it is in (ENCOUNTER: its own) */
    int seq;                      /* position among the parent's components, from 0 */
    char *class_code, *mood_code; /* HL7 classCode and moodCode, as written */
    cse_entry_ref *refs;          /* typed links (see cse_entry_ref) */
    size_t n_refs;
    cse_medication med;      /* MEDICATION */
    cse_allergy allergy;     /* ALLERGY */
    cse_pathology path;      /* any entry inside a laboratory report */
    cse_problem problem;     /* PROBLEM */
    cse_request req;         /* PLAN, REQUEST */
    cse_document doc;        /* ATTACHMENT */
    cse_encounter enc;       /* ENCOUNTER */
    bool snomed_description; /* code.codings[0] may be a SNOMED description id */
} cse_entry;

/* Makes an empty entry with a copy of id (may be NULL). */
CSE_EXPORT cse_entry *cse_entry_new(cse_entry_kind kind, const char *id);
CSE_EXPORT void cse_entry_free(cse_entry *e);
/* Deep copy; NULL on allocation failure. */
CSE_EXPORT cse_entry *cse_entry_dup(const cse_entry *e);
CSE_EXPORT cse_code cse_entry_add_annotation(cse_entry *e, const char *text);
CSE_EXPORT cse_code cse_entry_add_link(cse_entry *e, const char *id);
/* Appends a typed link (copies both). */
CSE_EXPORT cse_code cse_entry_add_ref(cse_entry *e, const char *id, const char *role);
/* The first typed link with that role; NULL when none. */
CSE_EXPORT const char *cse_entry_find_ref(const cse_entry *e, const char *role);
/* Appends a copy of a reference range. */
CSE_EXPORT cse_code cse_entry_add_ref_range(cse_entry *e, const cse_range *r);
/* Replaces *field with a copy of value (NULL clears). For any char* member. */
CSE_EXPORT cse_code cse_strset(char **field, const char *value);

/* ---- Terminology hook ---------------------------------------------------- */

/* An optional SNOMED CT lookup a reader or writer may be given (the RF2
 * index of snomed.h plugs in here). Either callback may be NULL. */
typedef struct cse_code_lookup {
    /* A SNOMED CT description id -> its concept id, written into out (at
     * least 20 bytes). Returns false when id is not a known description. */
    bool (*concept_of)(void *ctx, const char *id, char *out, size_t size);
    /* True when the concept is an immunisation, as the national requesting
     * adaptor decides it (descendants of its immunisation roots). */
    bool (*is_immunisation)(void *ctx, const char *concept);
    void *ctx;
} cse_code_lookup;

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
