/* SPDX-License-Identifier: MIT */
/* csemarker: pulling a practice's data from its FHIR server.
 *
 * FHIR Bulk Data Access v2 (Group/[id]/$export) authorised by SMART Backend
 * Services (a JWT client assertion signed RS384 or ES384). Every NDJSON line
 * the server exports is handed to a caller's callback as it arrives, so that
 * identifiable data is streamed into counts and never written to disk. TLS is
 * always verified; there is no way to turn verification off. Keys and tokens
 * never appear in error messages. */
#ifndef CSEMARKER_FETCH_H
#define CSEMARKER_FETCH_H

#include <signal.h>
#include <stddef.h>

#include <csemarker/common.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The resource types the ICS measures need; the default _type of an export. */
#define CSE_FETCH_DEFAULT_TYPES "Patient,Flag,Observation,Condition"

/* Receives one NDJSON line (one resource, not NUL-terminated; json[len] is a
 * NUL for convenience) of an exported file. source names the file without its
 * URL ("Patient output 1"); line is 1-based within it. A non-CSE_OK return
 * stops the fetch (the export is still deleted on the server) and is
 * returned by cse_fetch_run with err as the callback filled it. */
typedef cse_code (*cse_fetch_line_fn)(void *ctx, const char *json, size_t len,
                                      const char *source, long line, cse_error *err);

/* Progress reports: stage is a static string ("discover", "token", "kick-off",
 * "waiting", "downloading", "deleting"); detail is printable ASCII of at most
 * 80 bytes (the server's X-Progress, sanitised, or a file name) or "". */
typedef void (*cse_fetch_progress_fn)(void *ctx, const char *stage, const char *detail);

typedef struct cse_fetch_options {
    const char *fhir_base; /* https://host/path of the FHIR server (required) */
    const char *group_id;  /* Group/[id] to export (required) */
    const char *client_id; /* the SMART client id (required) */
    const char *key_path;  /* PEM private key, RSA (RS384) or EC P-384 (ES384),
                              readable by its owner only (required) */
    const char *kid;       /* JWT "kid"; NULL = the key's RFC 7638 thumbprint */
    const char *ca_file;   /* PEM CA bundle for a private CA; NULL = system CAs */
    const char *types;     /* _type; NULL = CSE_FETCH_DEFAULT_TYPES */
    unsigned max_retries;  /* consecutive 429/transient errors; 0 = 5 */
    long max_wait;         /* seconds to wait for the export; 0 = 24 hours */
    long max_delay;        /* cap on one poll interval in seconds; 0 = 300 */
    size_t max_line;       /* cap on one NDJSON line in bytes; 0 = 16 MiB */
    /* When non-NULL and set non-zero (by a signal handler), the fetch stops
     * at the next opportunity, deletes the export and returns
     * CSE_ERR_NETWORK with the message "interrupted". */
    volatile sig_atomic_t *interrupted;
    cse_fetch_progress_fn progress; /* may be NULL */
    void *progress_ctx;
} cse_fetch_options;

/* What a fetch did; filled by cse_fetch_run even when it fails. */
typedef struct cse_fetch_stats {
    size_t files;      /* output files downloaded */
    size_t lines;      /* NDJSON lines handed to the callback */
    size_t polls;      /* status requests */
    size_t retries;    /* 429, 401 and transient-error retries */
    size_t tokens;     /* access tokens obtained */
    size_t warnings;   /* informational OperationOutcome issues */
    int deleted;       /* 1 when the server accepted the DELETE */
    int delete_failed; /* 1 when a DELETE was sent and refused */
} cse_fetch_stats;

/* Runs one export: discovers the token endpoint, obtains a token, kicks off
 * Group/[id]/$export?_type=..., polls until the manifest is ready, streams
 * every output file line by line into fn, reads the error files, and deletes
 * the export on the server (also when it fails after kick-off).
 * Returns CSE_OK, CSE_ERR_INVALID_ARG (options), CSE_ERR_IO or
 * CSE_ERR_PERMISSION (key file), CSE_ERR_UNSUPPORTED (key type, server
 * feature), CSE_ERR_AUTH (token refused), CSE_ERR_NETWORK (HTTP, TLS,
 * truncated download, server-reported failure, retries exhausted,
 * interrupted), CSE_ERR_PARSE or CSE_ERR_STRUCTURE (bad server JSON),
 * CSE_ERR_LIMIT (line cap), CSE_ERR_NOMEM, or what fn returned.
 * Ownership: nothing is retained; stats may be NULL. */
CSE_EXPORT cse_code cse_fetch_run(const cse_fetch_options *opt, cse_fetch_line_fn fn,
                                  void *ctx, cse_fetch_stats *stats, cse_error *err);

#ifdef __cplusplus
}
#endif
#endif
