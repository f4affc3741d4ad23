/* SPDX-License-Identifier: MIT */
/* csemarker: the C ABI of the clinical-system extension (plug-in).
 *
 * A GP clinical system (the host) loads the module with dlopen(), looks up
 * ONE symbol, CSE_PLUGIN_ENTRY_SYMBOL, and calls it with the ABI version it
 * was built against. It gets back a const table of function pointers that
 * starts with the module's ABI version and the table's size. Everything else
 * in the module is hidden. This header is self-contained: a host needs no
 * other csemarker header and does not link libcsemarker.
 *
 * Records travel in and out as FHIR R4 JSON (a Bundle of one patient's
 * record). The module never keeps clinical data of its own: the only thing it
 * writes is the audit journal of marker actions in the folder the host names.
 *
 * Conventions of every hook:
 * - Returns CSE_PLUGIN_OK (0) or an error code, and then fills the
 *   caller-owned error struct (which may be NULL). Misuse (NULL arguments, a
 *   wrong ABI version, a record that is not FHIR, a marker action by an
 *   unauthenticated user) is an error, never a crash.
 * - Strings handed out (char **out) belong to the caller, who frees them with
 *   the table's free_string(); on error *out is set to NULL.
 * - Error messages never contain an NHS number, a name, a date of birth, an
 *   address or free text from a record.
 * - Every function may be called from several threads at once, on one
 *   handle or on several; state is per handle.
 *
 * Loading pattern (see plugin/README.md for why):
 *     void *dl = dlopen(path, RTLD_NOW | RTLD_LOCAL | RTLD_DEEPBIND);
 *     cse_plugin_entry_fn entry = (cse_plugin_entry_fn)dlsym(dl,
 * CSE_PLUGIN_ENTRY_SYMBOL); const cse_plugin_api *api = entry(CSE_PLUGIN_ABI_VERSION,
 * &err);
 */
#ifndef CSEMARKER_PLUGIN_H
#define CSEMARKER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version: major in the high 16 bits, minor in the low 16. A module
 * serves a host whose major equals its own and whose minor is not newer.
 * Minor versions only append hooks at the end of the table; a host checks
 * `size` before calling a hook that a newer minor added. */
#define CSE_PLUGIN_ABI_MAJOR 1
#define CSE_PLUGIN_ABI_MINOR 1
#define CSE_PLUGIN_ABI_VERSION                                                           \
    (((uint32_t)CSE_PLUGIN_ABI_MAJOR << 16) | (uint32_t)CSE_PLUGIN_ABI_MINOR)

/* The one exported symbol, of type cse_plugin_entry_fn. */
#define CSE_PLUGIN_ENTRY_SYMBOL "cse_plugin_entry"

/* Return codes: the same numbers as libcsemarker's cse_code. */
enum {
    CSE_PLUGIN_OK = 0,
    CSE_PLUGIN_ERR_NOMEM = 1,
    CSE_PLUGIN_ERR_INVALID_ARG = 2, /* a NULL or out-of-range argument */
    CSE_PLUGIN_ERR_IO = 3,
    CSE_PLUGIN_ERR_PARSE = 4,     /* the input is not well-formed JSON or XML */
    CSE_PLUGIN_ERR_STRUCTURE = 5, /* well-formed, but not a FHIR Bundle / EHR extract */
    CSE_PLUGIN_ERR_UNSUPPORTED = 6,
    CSE_PLUGIN_ERR_LIMIT = 7,
    CSE_PLUGIN_ERR_STATE = 8, /* a marker state change the rules refuse */
    CSE_PLUGIN_ERR_CODE = 9,  /* not a CSE marker concept id */
    CSE_PLUGIN_ERR_NHS_NUMBER = 10,
    CSE_PLUGIN_ERR_DATE = 11,
    CSE_PLUGIN_ERR_PERMISSION = 12, /* the key file is readable by group or others */
    CSE_PLUGIN_ERR_NEEDS_FRAGMENTS = 13,
    CSE_PLUGIN_ERR_SCHEMA = 14,
    CSE_PLUGIN_ERR_VERSION = 15, /* ABI major version mismatch */
    CSE_PLUGIN_ERR_NETWORK = 16,
    CSE_PLUGIN_ERR_AUTH = 17,      /* unauthenticated user or a role not allowed */
    CSE_PLUGIN_ERR_INTEGRITY = 18, /* the audit journal failed verification */
    CSE_PLUGIN_ERR_INTERNAL = 19
};

/* A caller-owned error report of fixed buffers. */
typedef struct cse_plugin_error {
    int code;          /* one of the codes above */
    int line;          /* input line, 0 when unknown */
    char path[512];    /* JSON path, element path or field, "" when none */
    char message[512]; /* English, without patient data */
} cse_plugin_error;

/* Roles: an allow-list. A role is one of these strings, exactly (case and
 * spaces matter); any other role is refused by every hook with
 * CSE_PLUGIN_ERR_AUTH. Who may do what (plugin/README.md has the table):
 * - clinician, gp, nurse: clinicians who treat the child (a practice's GPs,
 *   nurses and other registered clinicians): the clinician alert, review
 *   suggestions, marker actions, GP2GP export and import, reviews due, the
 *   patient-facing view and audit verify.
 * - safeguarding-lead: the practice's named safeguarding lead; everything a
 *   clinician may, and audit recovery.
 * - administrative: reception, summarisers, secretaries, who handle online
 *   access and record requests: record_opened tells them only whether the
 *   record is restricted ({"restricted":true|false}), not what it holds;
 *   and the patient-facing view.
 * - auditor: whoever checks the audit trail (the Caldicott guardian or the
 *   practice's information governance lead): audit verify and recovery only.
 * - patient, proxy: the patient-facing channels: the patient-facing view only.
 */
#define CSE_PLUGIN_ROLE_CLINICIAN "clinician"
#define CSE_PLUGIN_ROLE_GP "gp"
#define CSE_PLUGIN_ROLE_NURSE "nurse"
#define CSE_PLUGIN_ROLE_SAFEGUARDING_LEAD "safeguarding-lead"
#define CSE_PLUGIN_ROLE_ADMINISTRATIVE "administrative"
#define CSE_PLUGIN_ROLE_AUDITOR "auditor"
#define CSE_PLUGIN_ROLE_PATIENT "patient"
#define CSE_PLUGIN_ROLE_PROXY "proxy"

/* Who is acting. Every hook that takes a user needs authenticated != 0, a
 * user id that is UTF-8 text, and a role from the list above that may use
 * the hook. */
typedef struct cse_plugin_user {
    const char *user_id; /* the host's user id (e.g. SDS user id); required */
    const char *role;    /* one of CSE_PLUGIN_ROLE_* */
    int authenticated;   /* non-zero when the host has authenticated the user */
} cse_plugin_user;

/* Configuration of a handle. Strings are copied by open(). */
typedef struct cse_plugin_config {
    uint32_t size;            /* sizeof(cse_plugin_config): lets it grow later */
    const char *journal_dir;  /* folder of the audit journal; required, must exist */
    const char *key_file;     /* pseudonym key: >= 32 bytes raw, or 64 hex digits;
                                 refused when group or others may read it */
    const char *practice_ods; /* this practice's ODS code; required */
    int review_months;        /* default review interval; <= 0 means 6 */
    /* Tests only: "YYYY-MM-DD" or "YYYY-MM-DDThh:mm:ssZ" used as today for
     * clinical dates (default start, review states). NULL: the real clock.
     * The audit journal always takes its times from the system clock. */
    const char *clock_override;
} cse_plugin_config;

typedef struct cse_plugin_handle cse_plugin_handle;

/* End reasons accepted by marker_end (CodeSystem cse-marker-end-reason). */
#define CSE_PLUGIN_END_NO_LONGER_AT_RISK "no-longer-at-risk"
#define CSE_PLUGIN_END_REACHED_ADULTHOOD "reached-adulthood"
#define CSE_PLUGIN_END_SUPERSEDED "superseded"
#define CSE_PLUGIN_END_OTHER "other"

/* Marker codes (SNOMED CT concept ids) accepted by marker_add. */
#define CSE_PLUGIN_CODE_AT_RISK "716565009"
#define CSE_PLUGIN_CODE_VICTIM "713834002"
#define CSE_PLUGIN_CODE_AT_RISK_UK "919461000000108"

/* Options of gp2gp_export; NULL members take defaults. */
typedef struct cse_plugin_export_options {
    const char *receiver_ods; /* receiving practice; default "UNKNOWN" */
    const char *sender_asid;
    const char *receiver_asid;
    const char *message_id; /* upper-case UUID; default random */
} cse_plugin_export_options;

/* Options of gp2gp_import_opt (ABI 1.1). */
typedef struct cse_plugin_import_options {
    uint32_t size; /* sizeof(cse_plugin_import_options) */
    /* Non-zero: parse and check only; nothing is journaled. The host learns
     * the extract's id and addressee (in review_json) before it commits. */
    int dry_run;
    /* Non-zero: the user forced an import the checks refuse (an extract
     * addressed to another practice, an extract already imported, a record
     * that exists and is replaced). Journaled as gp2gp-import-forced. */
    int force;
} cse_plugin_import_options;

typedef struct cse_plugin_api {
    uint32_t abi_version; /* CSE_PLUGIN_ABI_VERSION of the module */
    uint32_t size;        /* sizeof(cse_plugin_api) of the module */

    /* The module's version text ("csemarker X.Y.Z"); static. */
    const char *(*version)(void);

    /* Opens a handle: loads the key and checks the journal folder, changing
     * nothing (the journal is created by the first write). A torn last line
     * left by a crash is reported in *recovered_bytes (may be NULL); the next
     * write removes it and journals that it did. Ownership: close() frees the
     * handle. */
    int (*open)(const cse_plugin_config *cfg, cse_plugin_handle **out,
                size_t *recovered_bytes, cse_plugin_error *err);
    /* Frees the handle and wipes its key. NULL is a no-op. */
    void (*close)(cse_plugin_handle *h);
    /* Frees a string the module handed out. NULL is a no-op. */
    void (*free_string)(char *s);

    /* Record opened by a clinician: *alert_json is
     *   {"alerts":[{"marker_id","code","term","category":"cse","status",
     *    "start","end"?,"end_reason"?,"review_due","review_state"}...],
     *    "active":N}
     * with review_state "OVERDUE", "due-soon" (within 30 days) or "ok" for an
     * active marker and "closed" otherwise. Entered-in-error markers are
     * left out. Since ABI 1.1 it also has "elsewhere":[{"resource",
     * "element","concept":"marker"|"related"|"text","code"?,"term"?,
     * "hidden":"resource"|"element"}...]: every marker or safeguarding
     * concept outside a marker's own resources, which patient_view hides.
     * For the administrative role it is only {"restricted":true|false}. */
    int (*record_opened)(cse_plugin_handle *h, const cse_plugin_user *u,
                         const char *record_json, char **alert_json,
                         cse_plugin_error *err);

    /* Record saved: *suggestions_json is {"suggestions":[{"resource","code",
     * "term"?,"kind","reason"?}...],"active_markers":N}. kind "related-code":
     * a related safeguarding code and no active marker; "candidate": an
     * entry that may be a marker but is not one (reason says why);
     * "marker-code-without-marker": a marker concept outside a marker.
     * A concept outside a resource's code also names its "element". */
    int (*record_saved)(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, char **suggestions_json,
                        cse_plugin_error *err);

    /* Marker actions. Each returns the whole updated record in *record_out,
     * after the intention is durable in the audit journal; the host then
     * saves the record and calls action_outcome() with it. Dates are FHIR dates
     * ("YYYY-MM-DD"); NULL start means today, NULL review or next_review the
     * default interval. marker_add gives the new marker id in *marker_id
     * (may be NULL; free with free_string()). */
    int (*marker_add)(cse_plugin_handle *h, const cse_plugin_user *u,
                      const char *record_json, const char *code, const char *start,
                      const char *review, char **record_out, char **marker_id,
                      cse_plugin_error *err);
    int (*marker_review)(cse_plugin_handle *h, const cse_plugin_user *u,
                         const char *record_json, const char *marker_id,
                         const char *next_review, char **record_out,
                         cse_plugin_error *err);
    /* reason: no-longer-at-risk, reached-adulthood, superseded or other. */
    int (*marker_end)(cse_plugin_handle *h, const cse_plugin_user *u,
                      const char *record_json, const char *marker_id, const char *reason,
                      char **record_out, cse_plugin_error *err);
    int (*marker_entered_in_error)(cse_plugin_handle *h, const cse_plugin_user *u,
                                   const char *record_json, const char *marker_id,
                                   char **record_out, cse_plugin_error *err);

    /* GP2GP export: the record as an RCMR_IN030000UK07 message after the
     * marker repair pass, in *xml_out (NUL-terminated, length in *xml_len,
     * which may be NULL). opt may be NULL. Audited: an intention per marker
     * carried; the host calls action_outcome() with *xml_out. */
    int (*gp2gp_export)(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, const cse_plugin_export_options *opt,
                        char **xml_out, size_t *xml_len, cse_plugin_error *err);

    /* GP2GP import of a UK06 or UK07 extract: *record_out is the FHIR R4
     * record with its markers restored; *review_json lists what a clinician
     * must look at: {"markers":[{"marker_id","code","annotated"}...],
     * "candidates":[{"entry_id","reason","code"?,"text"?,"line"}...]}
     * (a marker whose csemarker annotation was lost is restored with
     * annotated false and a default review date). Audited: an intention per
     * marker; the host calls action_outcome() with *record_out. */
    int (*gp2gp_import)(cse_plugin_handle *h, const cse_plugin_user *u, const char *xml,
                        size_t xml_len, char **record_out, char **review_json,
                        cse_plugin_error *err);

    /* The patient-facing view (patient and proxy channels alike): the record
     * without any resource labelled NOPAT (matched on the code alone), without
     * any marker Flag or Observation or other resource carrying a marker code,
     * even when its label is missing, without any marker or related
     * safeguarding concept in any Coding anywhere (both SNOMED system
     * spellings; the resource or the element goes, by the rule in
     * plugin/README.md), without references to what was removed and without
     * the Lists, sections and Provenances that were left empty. Every role
     * but auditor may call it. */
    int (*patient_view)(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, char **view_json, cse_plugin_error *err);

    /* The practice work list: active markers whose review date is past or
     * within `within_days` days, over n records:
     *   {"today","within_days","items":[{"record":INDEX,"patient":REF,
     *    "marker_id","code","term","review_due","review_state"}...],
     *    "errors":[{"record":INDEX,"code":N,"message"}...]}
     * A record that cannot be read is listed in errors, not fatal. Item
     * review_state is "OVERDUE" or "due-soon", the words of record_opened. */
    int (*reviews_due)(cse_plugin_handle *h, const cse_plugin_user *u,
                       const char *const *records_json, size_t n, int within_days,
                       char **due_json, cse_plugin_error *err);

    /* ABI 1.0's verification, without a user: since 1.1 it is refused with
     * CSE_PLUGIN_ERR_AUTH (verifying needs an authorised user); use
     * audit_verify(). */
    int (*journal_verify)(cse_plugin_handle *h, char **report_json,
                          cse_plugin_error *err);

    /* ---- ABI 1.1 ---- */

    /* May this user do this? action: "open", "restriction", "save", "marker",
     * "gp2gp", "reviews-due", "patient-view", "audit-verify" or
     * "audit-recover". CSE_PLUGIN_OK, CSE_PLUGIN_ERR_AUTH (err says why) or
     * CSE_PLUGIN_ERR_INVALID_ARG for an unknown action. A host asks before
     * journal_verify, which takes no user, and to decide what to offer. */
    int (*authorize)(const cse_plugin_user *u, const char *action, cse_plugin_error *err);

    /* gp2gp_import with options (opt may be NULL: no dry run, no force).
     * review_json also holds "extract_id" (the EhrExtract id, null when
     * absent) and "addressed_to" (the receiving practice's ODS code, null
     * when absent). Without force, an extract not addressed to this
     * practice's ODS code is refused with CSE_PLUGIN_ERR_STATE (path
     * "destination"); gp2gp_import behaves as this hook with opt NULL. */
    int (*gp2gp_import_opt)(cse_plugin_handle *h, const cse_plugin_user *u,
                            const char *xml, size_t xml_len,
                            const cse_plugin_import_options *opt, char **record_out,
                            char **review_json, cse_plugin_error *err);

    /* Tells the module whether the host kept the result of a marker action,
     * an export or an import: result is the string that hook handed out
     * (record_out, xml_out, or import's record_out), unchanged; happened is
     * non-zero when the host saved or wrote it, 0 when it did not (a refused
     * import, a failed write). The journal gets a "done" or "failed" entry
     * for that action. A result the journal holds no pending intention for
     * (an export or import without markers) changes nothing and succeeds. */
    int (*action_outcome)(cse_plugin_handle *h, const cse_plugin_user *u,
                          const char *result, int happened, cse_plugin_error *err);

    /* Verifies the audit journal, reading only. expect may be NULL or an
     * anchor "SEQ:MAC" from an earlier report, which the journal must still
     * contain (this finds a rollback to an older copy). *report_json is
     *   {"ok":true|false,"entries":N,"head_seq":N,"head_mac":HEX,
     *    "anchor":"SEQ:MAC"?,"torn_tail_bytes":N,"unacknowledged_entry":B,
     *    "unconfirmed":[{"seq","action","entries"}...],"unconfirmed_count":N,
     *    "recoveries":[{"seq","time","user","role","detail"}...],
     *    "repairs":[...],"bad_seq":N?,"problem":TEXT?}
     * "anchor" (when ok) is the last entry's seq and MAC, to keep elsewhere;
     * "unconfirmed" lists intentions without an outcome (the host stopped
     * before it said); "recoveries" lists every audit_recover() ever made,
     * with what it found. Returns CSE_PLUGIN_OK, or CSE_PLUGIN_ERR_INTEGRITY
     * naming the first bad sequence number in err->path ("seq N") with the
     * report still set. Needs an authorised user. */
    int (*audit_verify)(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *expect, char **report_json, cse_plugin_error *err);

    /* Recovers a journal that does not verify, as the named user: the
     * damaged journal and head are kept beside it under
     * "csemarker-audit.damaged-TIME-N.*", the entries that verify are kept,
     * and an "audit-recover" entry records what was found (problem, first
     * bad seq, the digest of the damaged journal, the archive name).
     * *report_json is the new audit_verify() report plus "recovered".
     * CSE_PLUGIN_ERR_STATE when the journal verifies. */
    int (*audit_recover)(cse_plugin_handle *h, const cse_plugin_user *u,
                         char **report_json, cse_plugin_error *err);
} cse_plugin_api;

/* The entry point: returns the table when abi_version's major equals the
 * module's and its minor is not newer, otherwise NULL with
 * CSE_PLUGIN_ERR_VERSION in err (which may be NULL). The table is static. */
typedef const cse_plugin_api *(*cse_plugin_entry_fn)(uint32_t abi_version,
                                                     cse_plugin_error *err);

#ifdef __cplusplus
}
#endif
#endif
