/* SPDX-License-Identifier: MIT */
/* Private declarations shared by the plug-in's source files. Not installed. */
#ifndef CSE_PLUGIN_INTERNAL_H
#define CSE_PLUGIN_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>

#include <jansson.h>

#include <csemarker/csemarker.h>
#include <csemarker/plugin.h>

/* ---- Roles (roles.c) ---------------------------------------------------- */

/* What a hook does, for the role check. The journal's audit commands use
 * CSE__PERM_AUDIT_VERIFY and CSE__PERM_AUDIT_RECOVER. Only appended. */
typedef enum cse__perm {
    CSE__PERM_ALERT = 0,     /* record_opened: the full clinician alert */
    CSE__PERM_RESTRICTION,   /* record_opened: only whether the record is restricted */
    CSE__PERM_SUGGEST,       /* record_saved */
    CSE__PERM_MARKER,        /* marker_add / review / end / entered-in-error */
    CSE__PERM_GP2GP,         /* gp2gp_export / gp2gp_import */
    CSE__PERM_DUE,           /* reviews_due */
    CSE__PERM_VIEW,          /* patient_view */
    CSE__PERM_AUDIT_VERIFY,  /* journal_verify */
    CSE__PERM_AUDIT_RECOVER, /* an explicit recovery of the journal */
    CSE__PERM_COUNT
} cse__perm;

/* Checks the user: an id and a role, authenticated, a role on the allow-list
 * (CSE_PLUGIN_ROLE_*, exact spelling) that may do perm. CSE_ERR_INVALID_ARG
 * (path "user", "user.user_id") or CSE_ERR_AUTH (path "user.authenticated" or
 * "user.role") with a message that says which. */
cse_code cse__check_role(const cse_plugin_user *u, cse__perm perm, cse_error *err);
/* True when role is on the allow-list / may do perm. */
bool cse__role_known(const char *role);
bool cse__role_may(const char *role, cse__perm perm);
/* The action names of the authorize hook ("open", "marker", "audit-verify"...). */
cse_code cse__perm_parse(const char *action, cse__perm *perm);

/* ---- Keys and pseudonyms (journal.c) ------------------------------------ */

#define CSE__KEY_MAX 256

/* Loads the pseudonym key: 64 hex digits (optionally followed by a newline) or
 * at least 32 raw bytes. Refuses a file that group or others may read or
 * write (CSE_ERR_PERMISSION), a missing file (CSE_ERR_IO) and a short key.
 * The key never appears in an error. */
cse_code cse__key_load(const char *path, unsigned char key[CSE__KEY_MAX], size_t *len,
                       cse_error *err);

/* HMAC-SHA256 of the canonical 10-digit NHS number with the key, as 64
 * lower-case hex digits. */
cse_code cse__pseudonym(const unsigned char *key, size_t keylen, const char *nhs10,
                        char out[65]);

/* ---- The audit journal (journal.c) -------------------------------------- */

#define CSE__JOURNAL_FILE "csemarker-audit.jsonl"
#define CSE__JOURNAL_HEAD "csemarker-audit.head"

typedef struct cse__journal {
    char *dir;
    int dirfd; /* the folder, opened once: every file is opened relative to it */
    const unsigned char *key; /* lent by the handle */
    size_t keylen;
    void *mac;          /* an EVP_MAC_CTX keyed once; duplicated for each MAC */
    pthread_mutex_t mu; /* one journal operation at a time per handle */
} cse__journal;

/* Who did what; strings are lent. role and patient may be NULL. The
 * journal takes the time from the system clock itself. */
typedef struct cse__audit {
    const char *user;
    const char *role;
    const char *action;
    const char *patient; /* pseudonym */
} cse__audit;

/* Opens the journal in dir without changing anything: checks that the folder
 * belongs to this user and that group and others cannot write it
 * (CSE_ERR_PERMISSION), and reports the size of a torn last line left by a
 * crash in *torn (may be NULL), which the next write removes. */
cse_code cse__journal_open(cse__journal *j, const char *dir, const unsigned char *key,
                           size_t keylen, size_t *torn, cse_error *err);
void cse__journal_close(cse__journal *j);

/* The MAC that names a result (a record, an extract) in the journal. Call
 * it under the journal's mutex. */
cse_code cse__journal_result_mac(const cse__journal *j, const char *result, size_t len,
                                 char out[65]);

/* Journals the intention of an action that produced result (len bytes): one
 * "intent" entry per marker (n may be 0: nothing is appended), each durable
 * before this returns. Refuses (CSE_ERR_INTEGRITY) while the journal does
 * not verify, even when n is 0. Safe across threads (mutex) and processes (flock). */
cse_code cse__journal_intent(cse__journal *j, const cse__audit *a,
                             const char *const *markers, size_t n, const char *result,
                             size_t len, cse_error *err);

/* Journals the outcome ("done" when happened, else "failed") of the latest
 * pending action whose result this is. *matched (may be NULL) says whether
 * there was one; when none, nothing is written and CSE_OK returned. */
cse_code cse__journal_outcome(cse__journal *j, const char *user, const char *role,
                              const char *result, size_t len, bool happened,
                              bool *matched, cse_error *err);

/* Verifies the chain, the MACs, the times and the head, read-only; expect
 * (may be NULL) is an anchor "SEQ:MAC" the journal must still contain.
 * *report is set (caller decrefs) unless out of memory or the arguments are
 * wrong. Returns CSE_OK or CSE_ERR_INTEGRITY with path "seq N". */
cse_code cse__journal_verify(cse__journal *j, const char *expect, json_t **report,
                             cse_error *err);

/* An auditor's recovery of a journal that does not verify: keeps the
 * damaged files under new names, keeps the verified entries and appends an
 * "audit-recover" entry that records what was found. CSE_ERR_STATE when the
 * journal verifies. *report is the new state with "recovered". */
cse_code cse__journal_recover(cse__journal *j, const char *user, const char *role,
                              json_t **report, cse_error *err);

/* ---- FHIR R4 records as JSON (record.c) --------------------------------- */

/* The largest record accepted, in bytes. */
#define CSE__RECORD_MAX (64u * 1024u * 1024u)

typedef struct cse__rec {
    json_t *root;          /* the Bundle */
    json_t *patient;       /* borrowed: the Patient resource, NULL when none */
    char nhs[11];          /* canonical NHS number, "" when none or invalid */
    char patient_ref[128]; /* "Patient/ID", "" when the Patient has no id */
    char *base;            /* fullUrl base of the Patient entry ("" when none) */
} cse__rec;

/* A marker found in a record, with the resources that carry it. */
typedef struct cse__pmarker {
    cse_marker *m;
    json_t *flag; /* borrowed; NULL when only the Observation form exists */
    json_t *obs;  /* borrowed; NULL when only the Flag exists */
} cse__pmarker;

typedef struct cse__pmarkers {
    cse__pmarker *items;
    size_t n;
} cse__pmarkers;

/* Parses a FHIR R4 Bundle (CSE_ERR_PARSE with line, CSE_ERR_STRUCTURE with a
 * JSON path, CSE_ERR_LIMIT). need_patient: also require a Patient with a
 * valid NHS number (CSE_ERR_STRUCTURE, CSE_ERR_NHS_NUMBER). */
cse_code cse__rec_parse(const char *json, bool need_patient, cse__rec *r, cse_error *err);
void cse__rec_clear(cse__rec *r);
/* Serialises the record (caller frees with free()). */
char *cse__rec_dump(const cse__rec *r);

/* Finds every marker (Flag, or an Observation form without a Flag). */
cse_code cse__rec_markers(cse__rec *r, cse__pmarkers *out, cse_error *err);
void cse__pmarkers_clear(cse__pmarkers *pm);
cse__pmarker *cse__pmarkers_find(cse__pmarkers *pm, const char *id);

/* Adds a Flag and its Observation form for a new marker. */
cse_code cse__rec_add_marker(cse__rec *r, const cse_marker *m, const char *user_id,
                             cse_error *err);
/* Writes the state of pm->m into its Flag and Observation, keeping every
 * other field the host put there. */
cse_code cse__rec_update_marker(cse__rec *r, cse__pmarker *pm, cse_error *err);

/* Removes every NOPAT resource and every marker-bearing resource, and the
 * references to them. */
cse_code cse__rec_patient_view(cse__rec *r, cse_error *err);

/* True when cse__rec_patient_view() would remove anything. */
bool cse__rec_restricted(const cse__rec *r);

/* The marker and safeguarding concepts outside the markers' own resources
 * that the patient-facing view hides, as a JSON array (caller decrefs):
 * {"resource","element","concept","code"?,"term"?,"hidden"}. */
json_t *cse__rec_hidden_concepts(cse__rec *r, cse_error *err);

/* {"suggestions":[...],"active_markers":N} for record_saved. */
json_t *cse__rec_suggestions(cse__rec *r, cse_error *err);

/* True when a resource is one of our marker resources or carries a marker
 * code. */
bool cse__res_is_marker(const json_t *res);

/* ---- GP2GP through the converters (gp2gp.c) ----------------------------- */

typedef struct cse__export_opt {
    const char *sender_ods;
    const char *receiver_ods;
    const char *sender_asid;
    const char *receiver_asid;
    const char *message_id;
} cse__export_opt;

/* Record JSON -> UK07 XML after the repair pass. *xml is malloc'd. */
cse_code cse__gp2gp_export(const char *record_json, const cse__export_opt *opt,
                           char **xml, size_t *len, cse_error *err);
/* UK06/UK07 XML -> FHIR R4 JSON (malloc'd) and the review list. */
cse_code cse__gp2gp_import(const char *xml, size_t len, char **record_json,
                           json_t **review, cse_error *err);

#endif
