/* SPDX-License-Identifier: MIT */
/* csemarker: the ICS coverage report (DESIGN.md section 7).
 *
 * A practice runs an extract over its own records and writes a partial:
 * counts per measure for that practice and period, signed by the practice,
 * plus (with a key) keyed pseudonyms of children who left or arrived with a
 * marker, sealed to the ICS linkage key. The ICS links transfers once over
 * every practice of its registry into counts, merges partials (associative
 * and commutative) and writes the report with disclosure control. No partial or report
 * ever contains an NHS number, name, date of birth, address or free text from a record.
 */
#ifndef CSEMARKER_REPORT_H
#define CSEMARKER_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <csemarker/common.h>
#include <csemarker/model.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Extract: a practice's records to a partial ------------------------ */

typedef struct cse_extract_options {
    const char *practice_ods; /* the practice whose records these are (required) */
    cse_time period_start, period_end; /* day precision, inclusive */
    const unsigned char *key;          /* pseudonym key; NULL = no pseudonyms */
    size_t key_len;                    /* 32 when key is set */
    int quiet;                         /* nonzero: never call the progress callback */
    /* Split trust (see Keys below). The partial is signed with signing_key
     * (required by cse_extract_write_partial; its owner is practice_ods).
     * With key set, linkage_key (the ICS linkage public key) is required
     * too: the pseudonym lists are sealed to it. Borrowed, not copied: they
     * must outlive the extract. */
    const struct cse_report_key *signing_key;
    const struct cse_report_key *linkage_key;
} cse_extract_options;

typedef struct cse_extract cse_extract;

/* Creates an extract for one practice and period. Copies what it needs from
 * opt (the key too; it is wiped on free). Returns NULL and fills err
 * (CSE_ERR_INVALID_ARG for a missing practice, a bad period or a key that is
 * not 32 bytes; CSE_ERR_NOMEM). Ownership: free with cse_extract_free(). */
CSE_EXPORT cse_extract *cse_extract_new(const cse_extract_options *opt, cse_error *err);

/* Adds one FHIR R4 resource (one NDJSON line of a Bulk Data export: Patient,
 * Flag, Observation, Condition, ... in any order; other types are ignored).
 * source and line only name the place in error reports (line 0 = unknown).
 * Returns CSE_OK, CSE_ERR_PARSE for JSON that does not parse, CSE_ERR_LIMIT
 * for a resource over the size or depth caps, CSE_ERR_NOMEM. */
CSE_EXPORT cse_code cse_extract_add_resource_json(cse_extract *x, const char *json,
                                                  size_t len, const char *source,
                                                  long line, cse_error *err);

/* Adds a file or a folder: NDJSON (*.ndjson, one resource per line), a FHIR
 * Bundle or single resource (*.json), a GP2GP extract (*.xml: read as an
 * arrival when its destination is this practice), or a folder of these
 * (walked recursively in name order; other files are skipped). "-" reads
 * NDJSON from standard input. Returns CSE_OK or the first error (with file,
 * line and path). */
CSE_EXPORT cse_code cse_extract_add_path(cse_extract *x, const char *path,
                                         cse_error *err);

/* Finishes the counts and writes the partial (versioned JSON, signed with the
 * practice's signing key, pseudonyms sealed to the linkage key) to out. May
 * be called once. Returns CSE_OK, CSE_ERR_IO, CSE_ERR_STATE when called
 * twice, CSE_ERR_INVALID_ARG without a signing key, CSE_ERR_NOMEM. */
CSE_EXPORT cse_code cse_extract_write_partial(cse_extract *x, FILE *out, cse_error *err);

CSE_EXPORT void cse_extract_free(cse_extract *x);

/* Progress, for long runs: called now and then with the resources and bytes
 * read so far. The library never prints; a program decides whether to show
 * it (cse-report does only when stderr is a terminal). */
typedef void (*cse_extract_progress_fn)(void *ud, uint64_t resources, uint64_t bytes);
CSE_EXPORT void cse_extract_set_progress(cse_extract *x, cse_extract_progress_fn fn,
                                         void *ud);

/* What the extract saw, for tests and diagnostics (counts only, before any
 * disclosure control; never leaves the practice). */
typedef struct cse_extract_stats {
    uint64_t resources; /* resources read */
    uint64_t patients;  /* Patient resources */
    uint64_t unlinked;  /* Flag/Observation/Condition with no Patient reference */
    uint64_t arrivals;  /* GP2GP extracts received in the period */
    uint64_t registered_children;
    uint64_t children_with_marker;
    uint64_t active_markers, markers_nopat, markers_overdue, markers_standard_code;
    uint64_t children_possibly_unflagged;
    uint64_t left_with_marker; /* children who left with an active marker */
    uint64_t arrived_linked;   /* arrivals matched to a Patient */
} cse_extract_stats;

/* Finishes the counts (if not yet) and copies them into st. */
CSE_EXPORT cse_code cse_extract_get_stats(cse_extract *x, cse_extract_stats *st,
                                          cse_error *err);

/* Loads a 32-byte pseudonym key: the file holds exactly 32 raw bytes or 64 hex
 * digits (a trailing newline allowed). Refuses a file readable or writable by
 * group or others (CSE_ERR_PERMISSION) and any other length
 * (CSE_ERR_STRUCTURE). Never puts key bytes into err. */
CSE_EXPORT cse_code cse_key_load(const char *path, unsigned char key[32], cse_error *err);

/* ---- Keys: split trust (DESIGN.md section 7) ---------------------------- */

typedef enum cse_key_kind {
    CSE_KEY_PSEUDONYM = 0, /* 32-byte HMAC key, held by every practice, never the ICS */
    CSE_KEY_LINKAGE = 1, /* X25519: the ICS linkage key; partials seal pseudonyms to it */
    CSE_KEY_SIGNING = 2  /* Ed25519: a practice's (or the ICS's) signing key */
} cse_key_kind;

/* Key ids: 16 hex digits naming a key without revealing it. */
#define CSE_KEY_ID_LEN 16

typedef struct cse_report_key cse_report_key;

/* Generates a key. A pseudonym key goes to path as 64 hex digits; a linkage
 * or signing key to path as PEM PKCS#8 with its public half in path.pub, one
 * line "OWNER ALG HEX" (OWNER: the ODS code for a signing key, "linkage" for
 * the linkage key), so a keys file is the .pub files concatenated. Private
 * files are mode 0600. An existing key is refused unless rotate is nonzero:
 * then it is kept as path.old (and path.pub.old) and a new key with a new id
 * replaces it. id (optional, CSE_KEY_ID_LEN + 1 bytes) receives the new key's
 * id. Returns CSE_OK, CSE_ERR_INVALID_ARG (no path; a signing key without a
 * valid owner), CSE_ERR_IO. */
CSE_EXPORT cse_code cse_keygen(cse_key_kind kind, const char *path, const char *owner,
                               int rotate, char *id, cse_error *err);

/* Loads a linkage or signing private key made by cse_keygen. Refuses a file
 * group or others can access (CSE_ERR_PERMISSION) and a key of another kind
 * or no key (CSE_ERR_STRUCTURE). NULL on error. Ownership: the caller frees
 * it with cse_report_key_free(). */
CSE_EXPORT cse_report_key *cse_report_key_load_private(const char *path,
                                                       cse_key_kind kind, cse_error *err);
/* Loads a public key file (FILE.pub) of the given kind. */
CSE_EXPORT cse_report_key *cse_report_key_load_public(const char *path, cse_key_kind kind,
                                                      cse_error *err);
/* The key's id (lent; lives as long as k). */
CSE_EXPORT const char *cse_report_key_id(const cse_report_key *k);
CSE_EXPORT void cse_report_key_free(cse_report_key *k);
/* The id of a pseudonym key (a keyed hash of a constant). */
CSE_EXPORT void cse_key_id(const unsigned char key[32], char id[CSE_KEY_ID_LEN + 1]);

/* The ICS registry: which practices make up the ICS, each with its registered
 * population, and which ODS code the ICS itself signs as; plus a keys file of
 * signing public keys ("ODS ed25519 HEX" lines). registry lines:
 * "ics ODS", "practice ODS POPULATION", '#' comments. */
typedef struct cse_registry cse_registry;
CSE_EXPORT cse_registry *cse_registry_load(const char *registry, const char *keys,
                                           cse_error *err);
CSE_EXPORT size_t cse_registry_practice_count(const cse_registry *r);
CSE_EXPORT void cse_registry_free(cse_registry *r);

/* Parses a period "START..END" (FHIR dates YYYY-MM-DD, inclusive) or a
 * quarter "YYYY-Qn". Returns CSE_OK or CSE_ERR_DATE (end before start, bad
 * date). */
CSE_EXPORT cse_code cse_period_parse(const char *s, cse_time *start, cse_time *end,
                                     cse_error *err);

/* ---- Partials and merge ------------------------------------------------ */

/* The partial format this library reads and writes. */
#define CSE_PARTIAL_FORMAT "csemarker-partial"
#define CSE_PARTIAL_VERSION 2

typedef struct cse_partial cse_partial;

/* An empty partial. NULL on allocation failure. Ownership: caller frees. */
CSE_EXPORT cse_partial *cse_partial_new(void);
CSE_EXPORT void cse_partial_free(cse_partial *p);

/* Reads a partial and checks its format, version and structure (not yet its
 * signatures: see cse_partial_verify). A partial file holds one or more
 * signed parts: a practice's counts (from extract) or the ICS's linked
 * transfer counts (from link). Returns CSE_OK, CSE_ERR_IO, CSE_ERR_PARSE,
 * CSE_ERR_VERSION (another format, format version, among them the unsigned
 * version 1, or tool version), CSE_ERR_INTEGRITY (no signature),
 * CSE_ERR_STRUCTURE. Ownership: *out is the caller's. */
CSE_EXPORT cse_code cse_partial_read_file(const char *path, cse_partial **out,
                                          cse_error *err);
CSE_EXPORT cse_code cse_partial_read_memory(const char *buf, size_t len,
                                            const char *source, cse_partial **out,
                                            cse_error *err);

/* Adds every cell of from into into. The same practice and period twice is
 * refused (CSE_ERR_STRUCTURE) so nothing is counted twice; into is then
 * unchanged. Merging is associative and commutative. */
CSE_EXPORT cse_code cse_partial_merge(cse_partial *into, const cse_partial *from,
                                      cse_error *err);

/* Checks every signed part of p against the registry's keys (an unknown
 * signer, a key id the keys file does not hold or an altered part:
 * CSE_ERR_INTEGRITY) and for plausibility (CSE_ERR_STRUCTURE): a practice
 * signs only its own cells, every practice is in the registry, counts within
 * the registered population, numerators never above their denominators, one
 * period per practice without overlap, linked counts signed by the ICS. Each
 * error names the partial file and the check, never a patient. */
CSE_EXPORT cse_code cse_partial_verify(const cse_partial *p, const cse_registry *r,
                                       cse_error *err);

/* Transfer linkage, once for the whole ICS: p holds the practice partials of
 * one or more periods (verified). For each period every practice of the
 * registry must be present (else CSE_ERR_STRUCTURE naming the missing ODS
 * codes), every partial must carry pseudonyms sealed to linkage (the ICS
 * linkage private key) under one pseudonym key id. Writes a linked partial
 * of counts only (per practice and period: arrivals who left another
 * practice of the ICS with an active marker, and of those the ones whose
 * marker survived), signed with signing (the ICS's key, owner the registry's
 * ICS code). No pseudonym is written. */
CSE_EXPORT cse_code cse_partial_link(const cse_partial *p, const cse_registry *r,
                                     const cse_report_key *linkage,
                                     const cse_report_key *signing, FILE *out,
                                     cse_error *err);

/* Writes a partial: the signed parts it was read from, sorted, so the bytes
 * do not depend on merge order. A partial built in memory and never signed
 * cannot be written (CSE_ERR_STATE). */
CSE_EXPORT cse_code cse_partial_write(const cse_partial *p, FILE *out, cse_error *err);

/* Number of practice-period cells. */
CSE_EXPORT size_t cse_partial_cell_count(const cse_partial *p);

/* ---- Disclosure control and outputs ------------------------------------ */

#define CSE_SDC_THRESHOLD_DEFAULT 7 /* counts 1..7 are redacted */
#define CSE_SDC_BASE_DEFAULT 5      /* other counts rounded to the nearest 5 */
/* The only disclosure options a report accepts: a threshold from the default
 * (7) up, and a rounding base from 5 to 10. A lower threshold or base publishes
 * counts the rules protect (base 1 is exact); a larger base moves ratios of
 * small counts far from the truth (base 100: 5.9% shown as 14.8%). */
#define CSE_SDC_THRESHOLD_MAX 1000
#define CSE_SDC_BASE_MIN 5
#define CSE_SDC_BASE_MAX 10

/* Protects one count: 0 stays 0; 1..threshold is redacted (returns -1);
 * others round to the nearest multiple of base (halves up: with base 5,
 * ((v+2)/5)*5), and a rounded value that would fall in 1..threshold goes up
 * to the next multiple above it (threshold 10, base 10: 11 -> 20), so no
 * published count ever shows a value from 1 to the threshold. base 0 or 1
 * means no rounding. */
CSE_EXPORT int64_t cse_sdc_protect(uint64_t v, unsigned threshold, unsigned base);

typedef enum cse_report_format {
    CSE_REPORT_CSV = 0,
    CSE_REPORT_JSON,
    CSE_REPORT_MEASUREREPORT,
    CSE_REPORT_HTML
} cse_report_format;

/* Parses "csv", "json", "measurereport", "html". */
CSE_EXPORT cse_code cse_report_format_parse(const char *s, cse_report_format *out);

typedef struct cse_report_options {
    cse_report_format format;
    int no_disclosure_control; /* nonzero: raw counts, every output marked UNPROTECTED */
    unsigned threshold; /* 0 = CSE_SDC_THRESHOLD_DEFAULT; else 7..CSE_SDC_THRESHOLD_MAX */
    unsigned base;      /* 0 = CSE_SDC_BASE_DEFAULT; else CSE_SDC_BASE_MIN..MAX */
    const char *generated; /* FHIR dateTime for MeasureReport.date, NULL = omit */
    /* The ICS registry: a total (practice "ALL") is published only for a
     * period whose rows cover every practice it names; NULL = no totals. */
    const cse_registry *registry;
} cse_report_options;

/* One published cell of the report: one measure, practice and period. A count
 * of -1 is redacted, -2 (CSE_REPORT_NOT_MEASURED) not measured (the transfer
 * measure without an ICS-wide linked partial); ratio < 0 means none
 * (denominator 0, redacted, not measured or not published). The total of a
 * measure and period has practice "ALL": it is computed from every practice's
 * true counts, then protected like any cell, and published only when the
 * report covers every practice of the registry for that period; otherwise
 * both its counts are -3 (CSE_REPORT_NOT_PUBLISHED), since the total of a
 * chosen subset of practices is a new figure that differencing across subset
 * reports could solve for a redacted cell. practices says how many practices
 * the row covers either way. */
#define CSE_REPORT_NOT_MEASURED (-2)
#define CSE_REPORT_NOT_PUBLISHED (-3)
typedef struct cse_report_row {
    const char *measure;
    char practice[16];
    cse_time start, end;
    int64_t numerator, denominator;
    double ratio;
    size_t practices; /* practices the row covers: 1, or all of them for "ALL" */
} cse_report_row;

/* The six measure names, in report order (DESIGN.md section 7). */
CSE_EXPORT const char *cse_measure_name(size_t i);
#define CSE_MEASURE_COUNT 6

/* Checks that the disclosure options protect (see CSE_SDC_BASE_MIN): returns
 * CSE_OK or CSE_ERR_INVALID_ARG with a message naming the accepted values.
 * Options with no_disclosure_control set are not checked. */
CSE_EXPORT cse_code cse_report_options_check(const cse_report_options *opt,
                                             cse_error *err);

/* Computes the published rows (disclosure control applied unless switched
 * off), sorted by period (end, then start), measure and practice, the total
 * last. Returns CSE_ERR_INVALID_ARG for options cse_report_options_check()
 * refuses. Ownership: *rows is the caller's, released with free(). */
CSE_EXPORT cse_code cse_report_rows(const cse_partial *p, const cse_report_options *opt,
                                    cse_report_row **rows, size_t *n, cse_error *err);

/* Writes the report in the chosen format. */
CSE_EXPORT cse_code cse_report_write(const cse_partial *p, const cse_report_options *opt,
                                     FILE *out, cse_error *err);

/* ---- Synthetic population --------------------------------------------- */

typedef struct cse_synth_options {
    uint64_t seed;
    size_t practices;              /* number of practices */
    size_t patients;               /* registered patients per practice */
    cse_time as_of;                /* export date; NONE = 2025-12-31 */
    const char *gp2gp_schema_hint; /* unused, reserved (NULL) */
} cse_synth_options;

/* Writes a reproducible synthetic ICS under dir (created if absent): for each
 * practice dir/ODS/{Patient,Flag,Observation,Condition}.ndjson and
 * dir/ODS/gp2gp-in/ID.xml, plus dir/key (mode 0600, derived from the seed)
 * and dir/practices.txt. The same options always give the same bytes. */
CSE_EXPORT cse_code cse_synth_write(const char *dir, const cse_synth_options *opt,
                                    cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
