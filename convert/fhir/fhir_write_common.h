/* SPDX-License-Identifier: MIT */
/* The FHIR writer (R4 and STU3): the streamed Bundle, the agent directory,
 * the current composition, JSON helpers and the write report
 * (fhir_write_common.c), and the one mapping from the record model with its
 * version table (fhir_map_entry.c, fhir_map.c). Private to the library. */
#ifndef CSE_FHIR_WRITE_COMMON_H
#define CSE_FHIR_WRITE_COMMON_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <csemarker/fhirwrite.h>

#include "internal.h"
#include "jsonw.h"
#include "strmap.h"

/* A compound statement of the current composition: its id and class. */
typedef struct cse__fw_compound {
    char *id;
    char *cls;            /* "topic", "category", "battery", "cluster" or NULL */
    bool nondrug_allergy; /* coded SN53.00 (non-drug allergy heading) */
} cse__fw_compound;

/* A statement seen recently: enough to code and label a problem that names
 * it. The writer keeps the last CSE__FW_RECENT of them, so memory stays
 * bounded whatever the record's size. */
#define CSE__FW_RECENT 4096
#define CSE__FW_RECENT_BUCKETS 8192 /* a power of two */
typedef struct cse__fw_recent {
    char *id;
    cse_concept code;
    cse_entry_kind kind;
    bool marker; /* written as marker resources, not under its own id */
    bool nopat;
} cse__fw_recent;

/* A growable array of plain structs with a hard cap. */
typedef struct cse__fw_vec {
    void *items;
    size_t n, cap, size;
} cse__fw_vec;

typedef struct cse__fhirw cse__fhirw;

/* A List being gathered for the current composition: the consultation, a
 * topic or a category, with the references of what it holds. */
typedef struct cse__fw_list {
    char *id;
    int level; /* 0 consultation, 1 topic, 2 category */
    char *title;
    char *parent; /* the container it sits in (composition or topic), may be NULL */
    cse_time date;
    bool nopat;
    char **refs; /* "Type/id" */
    size_t n_refs;
} cse__fw_list;

/* An acute authorisation: enough to write the further plan the requesting
 * adaptor makes for each order after its first (fhir_map.c). */
typedef struct cse__fw_acute {
    char *id;
    char med_id[37];
    char *dosage;
    char *enc;
    char *requester;
    cse_quantity quantity;
    cse_time start, authored;
    bool nopat;
    int orders;
} cse__fw_acute;

/* The resources the mapping writes, as rows of the version table. */
typedef enum cse__fw_profile_id {
    CSE__FW_P_PATIENT,
    CSE__FW_P_ORGANIZATION,
    CSE__FW_P_PRACTITIONER,
    CSE__FW_P_ENCOUNTER,
    CSE__FW_P_OBSERVATION,
    CSE__FW_P_CONDITION,
    CSE__FW_P_ALLERGY,
    CSE__FW_P_IMMUNIZATION,
    CSE__FW_P_PLAN,     /* PlanStatement */
    CSE__FW_P_REFERRAL, /* RequestStatement */
    CSE__FW_P_DOCUMENT,
    CSE__FW_P_MEDICATION,
    CSE__FW_P_MEDREQ,
    CSE__FW_P_MEDSTMT,
    CSE__FW_P_SPECIMEN,
    CSE__FW_P_REPORT,
    CSE__FW_P_LIST,
    CSE__FW_P_LOCATION,
    CSE__FW_P_MARKER,        /* R4 our Flag, STU3 an Observation */
    CSE__FW_P_MARKER_DETAIL, /* R4 the marker's Observation, STU3 none */
    CSE__FW_P_COUNT
} cse__fw_profile_id;

/* How a version writes one kind of resource. */
typedef struct cse__fw_resource {
    const char *type;    /* resourceType, NULL when the version writes none */
    const char *profile; /* the one meta.profile */
    const char *enc;     /* the element naming the Encounter, NULL when none */
    bool identifier;     /* carries the sending system's identifier (STU3) */
} cse__fw_resource;

/* Everything that differs between STU3 and R4 as a plain value: the one
 * table of version differences (fhir_map_entry.c). Where the shape of a
 * resource differs, the mapping tests w->stu3 at that element. */
typedef struct cse__fw_version {
    cse__fw_resource res[CSE__FW_P_COUNT];
    const char *null_flavor;    /* the v3 NullFlavor code system */
    const char *actcode;        /* the v3 ActCode system NOPAT is in */
    const char *descid_ext;     /* the SNOMED CT description-id extension */
    const char *interpretation; /* the Observation interpretation code system */
    const char *list_order;     /* the List order code system */
    const char *bundle_profile; /* the Bundle's profile, NULL for none */
} cse__fw_version;

#define CSE__FW_META_CACHE 32

struct cse__fhirw {
    cse_sink sink;            /* first, so a cse_sink * is a cse__fhirw * */
    const cse__fw_version *v; /* the version's table */
    FILE *out;
    int pretty;
    bool stu3;
    char *bundle_id;
    bool begun, failed;
    char patient_id[37];
    char *nhs_number;        /* canonical, may be NULL */
    cse_time extract_time;   /* when the extract was made, may be unknown */
    char *identifier_system; /* STU3 "https://PSSAdaptor/ODS", may be NULL */
    char *org_id;            /* id of the sending practice's Organization, may be NULL */
    cse__ptrvec agents;      /* cse_agent * copies: the agent directory */
    char *enc_id;            /* current composition, NULL outside one */
    bool enc_skipped;        /* its Encounter was not written: no references to it */
    cse__fw_vec compounds;   /* cse__fw_compound of the current composition */
    cse_fhir_write_report report;
    cse__fw_vec nopat_added;   /* cse_fhir_report_item, entry_id owned */
    cse__fw_vec candidates;    /* cse_fhir_report_item, entry_id owned */
    cse__fw_vec losses;        /* cse_loss_item, what/why static or owned below */
    cse__fw_vec reader_losses; /* cse_loss_item, what/why owned */
    cse__ptrvec nopat_ids;     /* ids of entries labelled NOPAT (char *), capped */
    cse__smap nopat_set;       /* the same ids, for lookup */
    cse__fw_recent *recent;    /* ring of CSE__FW_RECENT statements */
    size_t recent_next;
    int *recent_head;     /* CSE__FW_RECENT_BUCKETS hash chains of ring slots, -1 ends */
    int *recent_chain;    /* the next slot in its slot's chain */
    cse__ptrvec problems; /* held LinkSets (cse_entry *) of this composition */
    cse__ptrvec problem_encs; /* their encounters (char *, may be NULL) */
    struct {
        const char *profile; /* static string */
        bool nopat;
        cse__jw *meta; /* in jw_keep */
    } meta_cache[CSE__FW_META_CACHE];
    cse__jw *patient_ref[2]; /* without and with the NHS number identifier, in jw_keep */
    cse__jw_arena *jw;       /* the resources being built: reset between sink calls */
    cse__jw_arena *jw_keep;  /* values shared by every resource */
    cse__jw_buf jbuf;        /* the JSON of the resource being written */
    cse_entry *pending;      /* an entry held until the next one is seen */
    char *pending_enc;       /* its encounter, may be NULL */
    /* The current composition's times and people, for the fallbacks the
     * requesting adaptor applies (fhir_map.c). */
    cse_time enc_availability, enc_authored;
    char *enc_performer, *enc_recorder;
    cse__smap medications;  /* Medication key -> id, written once each */
    cse__ptrvec meds;       /* medication entries held until their composition ends */
    cse__ptrvec med_encs;   /* their encounters (char *, may be NULL) */
    cse__smap acute_index;  /* acute plan id -> index in acute */
    cse__fw_vec acute;      /* cse__fw_acute: acute plans seen, for their orders */
    cse__smap early_orders; /* plan id -> orders seen before the plan */
    cse__ptrvec path;       /* the laboratory report being read (cse_entry *) */
    cse__fw_vec lists;      /* cse__fw_list of the current composition */
    char *lists_enc;        /* the composition they belong to */
    cse__smap locations;    /* Location ids written */
    const cse_code_lookup *lookup; /* SNOMED CT description ids -> concepts, or NULL */
    /* Values every resource of a kind shares, made once in jw_keep when
     * first needed (see cse__fw_keep_string). */
    cse__jw *type_value[CSE__FW_P_COUNT]; /* resourceType */
    cse__jw *list_code[3];                /* List.code by level */
    cse__jw *list_order;                  /* List.orderedBy */
};

/* Makes the writer's sink for STU3 or R4. */
cse_sink *cse__fw_new(FILE *out, const cse_fhir_write_options *opt, bool stu3,
                      cse_error *err);

/* Writes one resource as the next Bundle entry. NULL res means out of
 * memory.
 *
 * JSON values are made in w->jw, which the common code resets at the start
 * of every sink call and before every held problem is written: a version's
 * op may build several resources and emit them in turn, but must keep none
 * beyond its return. */
cse_code cse__fw_emit(cse__fhirw *w, cse__jw *res, cse_error *err);

/* Holds a copy of e, and of its encounter enc (may be NULL), at the end of
 * entries and encs, until the caller writes them. */
cse_code cse__fw_hold_entry(cse__ptrvec *entries, cse__ptrvec *encs, const cse_entry *e,
                            const char *enc, cse_error *err);
/* Frees what entries and encs hold and empties them (keeps their arrays). */
void cse__fw_held_clear(cse__ptrvec *entries, cse__ptrvec *encs);

/* Counts a kind of thing not mapped. what and why must be static strings. */
cse_code cse__fw_loss(cse__fhirw *w, const char *what, const char *why, int line,
                      cse_error *err);
/* Lists a review candidate or a marker that needed NOPAT added. */
cse_code cse__fw_candidate(cse__fhirw *w, const cse_entry *e, cse_candidate_reason r,
                           cse_error *err);
cse_code cse__fw_nopat_added(cse__fhirw *w, const cse_entry *e, cse_error *err);

/* The agent with this id, or NULL. */
const cse_agent *cse__fw_find_agent(const cse__fhirw *w, const char *id);
/* Tracks the composition structure: call for every entry before mapping it. */
cse_code cse__fw_track(cse__fhirw *w, const cse_entry *e, cse_error *err);
/* The encounter (composition) id the entry belongs to, or NULL. */
const char *cse__fw_context(const cse__fhirw *w, const cse_entry *e);
/* The class of the compound the entry sits directly in, or NULL. */
const char *cse__fw_parent_class(const cse__fhirw *w, const cse_entry *e);
/* True when the entry sits in a non-drug allergy compound (SN53.00). */
bool cse__fw_parent_nondrug_allergy(const cse__fhirw *w, const cse_entry *e);
/* The statement's id this problem names: its conditionNamed, which the
 * reader lists last among the links. NULL when it has no links. */
const char *cse__fw_named_id(const cse_entry *e);

/* ---- JSON helpers (each returns a value in w->jw, or NULL) ------------- */

/* *slot, made first as a copy of the string s in w->jw_keep, to be shared by
 * every resource that needs it (never modified). NULL when out of memory or
 * s is NULL or not UTF-8. */
cse__jw *cse__fw_keep_string(cse__fhirw *w, cse__jw **slot, const char *s);

/* An object of string members: kv holds n key/value pairs (the keys string
 * literals, see cse__jw_object_set_static); a NULL value
 * leaves its key out. What json_pack("{s:s*,...}") makes, without parsing a
 * format each time. NULL when out of memory or a value is not UTF-8. */
cse__jw *cse__fw_strs(const cse__fhirw *w, const char *const *kv, size_t n);
/* {"reference": "Type/id"} */
cse__jw *cse__fw_ref(const cse__fhirw *w, const char *type, const char *id);
/* A reference to the author agent: Practitioner for a person, Organization
 * for an organisation (and for an unknown id, Practitioner). NULL when id is
 * NULL. */
cse__jw *cse__fw_agent_ref(const cse__fhirw *w, const char *agent_id);
/* {"reference": "Patient/<id>"} plus the NHS number identifier when with_nhs.
 * Shared: made once in w->jw_keep, never to be modified. */
cse__jw *cse__fw_patient_ref(cse__fhirw *w, bool with_nhs);
/* meta with one profile and, when nopat, the NOPAT label in the version's
 * ActCode system. Shared like the patient reference. */
cse__jw *cse__fw_meta(cse__fhirw *w, const char *profile, bool nopat);
/* A CodeableConcept from a concept: codings (a SNOMED description id becomes a
 * coding carrying only the description-id extension) and text. NULL when
 * the concept is empty. */
cse__jw *cse__fw_concept(const cse__fhirw *w, const cse_concept *c);
/* Adds a transfer-degraded SNOMED coding (first) to a CodeableConcept with
 * no SNOMED coding, as the requesting adaptor does; makes the concept when cc
 * is NULL. Returns cc (or the new concept), NULL on allocation failure. */
cse__jw *cse__fw_degrade(const cse__fhirw *w, cse__jw *cc, const char *code,
                         const char *display);
/* A FHIR date or dateTime (with the UK offset when a time is known); NULL for
 * an unknown time. */
cse__jw *cse__fw_time(const cse__fhirw *w, const cse_time *t);
/* Formats like cse__fw_time into buf[40]; "" for an unknown time. */
const char *cse__fw_time_str(const cse_time *t, char buf[40]);
/* The entry's effective time: center, else low; NULL when unknown. */
const cse_time *cse__fw_effective(const cse_entry *e);
/* A Period of the ends known (either may be NULL or unknown); NULL when
 * neither is known. */
cse__jw *cse__fw_period(const cse__fhirw *w, const cse_time *from, const cse_time *to);
/* Sets effective[x]: a Period from the entry's effective time when an end is
 * known, else the dateTime when. False only when setting failed. */
bool cse__fw_set_effective(const cse__fhirw *w, cse__jw *res, const cse_entry *e,
                           const cse_time *when);
/* Sets key to value when value is not NULL. key is a string literal (see
 * cse__jw_object_set_static). Returns false only when setting failed. */
static inline bool cse__fw_set(const cse__fhirw *w, cse__jw *obj, const char *key,
                               cse__jw *value)
{
    /* Inline, so that strlen of a literal key is computed when compiling. */
    if (value == NULL)
        return true;
    return cse__jw_object_set_static(w->jw, obj, key, strlen(key), value) == 0;
}
/* Sets the literal key to value as json_pack's "s:o" does: nonzero (and
 * nothing set) when value is NULL, as when setting fails. */
#define CSE__FW_PUT(w, obj, key, value)                                                  \
    cse__jw_object_set_static((w)->jw, (obj), "" key "", sizeof(key) - 1, (value))
/* An array of {"text": annotation} notes, NULL when none. */
cse__jw *cse__fw_notes(const cse__fhirw *w, const cse_entry *e);
/* The marker's review-date and (when ended) end-reason extensions appended
 * to arr. */
bool cse__fw_marker_extensions(const cse__fhirw *w, cse__jw *arr, const cse_marker *m);
/* True when the entry or its containers carry NOPAT. */
bool cse__fw_entry_nopat(const cse_entry *e);
/* True when the entry carries NOPAT or, for a problem, links to an entry
 * that did (as the adaptor labels a Condition whose named statement is
 * NOPAT). */
bool cse__fw_entry_nopat_linked(const cse__fhirw *w, const cse_entry *e);

/* ---- The one mapping for both versions (fhir_map_entry.c) --------------- */

/* The version's table. */
const cse__fw_version *cse__fw_version_of(bool stu3);
/* The row of the writer's version for a kind of resource. */
const cse__fw_resource *cse__fw_res(const cse__fhirw *w, cse__fw_profile_id p);
/* A new resource of kind p: resourceType, id (a random one when id is NULL),
 * meta with the profile and, when nopat, the NOPAT label, and (STU3) the
 * sending system's identifier. NULL when out of memory. */
cse__jw *cse__fw_start(cse__fhirw *w, cse__fw_profile_id p, const char *id, bool nopat);
/* Sets the element of kind p that names the encounter enc (nothing when enc
 * is NULL or the version has no such element). False only when setting
 * failed. */
bool cse__fw_encounter(const cse__fhirw *w, cse__jw *res, cse__fw_profile_id p,
                       const char *enc);
/* The Patient (and, R4, the sending practice's Organization), called once
 * at the start. */
cse_code cse__fw_map_patient(cse__fhirw *w, const cse_extract_info *info, cse_error *err);
/* An agent of the directory: Organization or Practitioner. */
cse_code cse__fw_map_agent(cse__fhirw *w, const cse_agent *a, cse_error *err);
/* An entry the common code has tracked (markers, statements, documents). */
cse_code cse__fw_map_entry(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                           cse_error *err);
/* Writes a held entry unless next shows it is to wait: called before the
 * composition tracking sees next, and once before the Bundle is closed (next
 * NULL). A narrative waits for the document that names it; a composition
 * (STU3) for an entry that shows it is a consultation. */
cse_code cse__fw_map_flush(cse__fhirw *w, const cse_entry *next, cse_error *err);
/* Writes a problem (LinkSet) held until the end of its composition. named is
 * the statement it names when still known (else NULL); nopat says whether
 * the problem or a statement it links to is labelled. */
cse_code cse__fw_map_problem(cse__fhirw *w, const cse_entry *e, const char *enc,
                             const cse__fw_recent *named, bool nopat, cse_error *err);

/* ---- The one mapping, whole-record content (fhir_map.c) ------------------ */

/* A Quantity: value as written, comparator, unit and, for a UCUM unit, the
 * UCUM system and code. NULL when q has no number. */
cse__jw *cse__fw_quantity(const cse__fhirw *w, const cse_quantity *q);
/* Sets value[x], interpretation and referenceRange on an Observation. */
bool cse__fw_obs_value(const cse__fhirw *w, cse__jw *res, const cse_entry *e);
/* When an Observation happened: effective center or low; else the
 * statement's availabilityTime (as the adaptor falls back); else NULL. */
const cse_time *cse__fw_obs_time(const cse__fhirw *w, const cse_entry *e);
/* The performer of an entry: its PRF participant, its author, else the
 * composition's performer or author. NULL when none. */
const char *cse__fw_performer(const cse__fhirw *w, const cse_entry *e);
/* A MedicationStatement entry as the adaptor writes it: a Medication per
 * drug (written once), a MedicationRequest plan and a MedicationStatement
 * per authorise, a MedicationRequest order per prescribe. STU3 and R4 differ
 * only in profiles and a few element names, chosen here by w->stu3. */
cse_code cse__fw_medication(cse__fhirw *w, const cse_entry *e, const char *enc,
                            cse_error *err);
/* Writes the medication entries held for the composition that ended (a
 * discontinue ends an authorisation of the same composition); called at
 * every composition's start and at the end. */
cse_code cse__fw_flush_medications(cse__fhirw *w, cse_error *err);
/* A laboratory report is held, with everything in it, until it ends: then
 * one DiagnosticReport, a Specimen per specimen and an Observation per
 * result and test group are written, comments folded as the adaptor folds
 * them. cse__fw_path_hold returns true when it kept e (a copy). */
bool cse__fw_path_wants(const cse__fhirw *w, const cse_entry *e,
                        const cse_entry_info *info);
cse_code cse__fw_path_hold(cse__fhirw *w, const cse_entry *e, cse_error *err);
/* Writes the held report when e (NULL at a composition's start or the end)
 * is not part of it. */
cse_code cse__fw_path_flush(cse__fhirw *w, const cse_entry *e, cse_error *err);
/* The consultation structure as GP Connect Lists: a List per written
 * Encounter (id ENC-CONS), per TOPIC and per CATEGORY CompoundStatement
 * (an allergy heading excepted, as the adaptor does), each naming what it
 * holds. cse__fw_lists_note sees every entry; the Lists of a composition
 * are written when it ends. */
cse_code cse__fw_lists_note(cse__fhirw *w, const cse_entry *e, const cse_entry_info *info,
                            cse_error *err);
cse_code cse__fw_lists_flush(cse__fhirw *w, cse_error *err);
/* The id of the Location of a composition's place (derived from its name),
 * written once; false when the composition names no place. */
bool cse__fw_location_id(const cse_entry *e, char id[37]);
cse_code cse__fw_location(cse__fhirw *w, const cse_entry *e, cse_error *err);
/* Frees what the medication mapping holds. */
void cse__fw_medications_free(cse__fhirw *w);
/* A growable array of plain structs (fhir_write_common.c). */
void *cse__fw_vec_push(cse__fw_vec *v);

#endif
