/* SPDX-License-Identifier: MIT */
/* cse-report fetch: private helpers shared by aggregate/fetch*.c and tested by
 * tests/check_fetch.c. Not installed. */
#ifndef CSE_FETCH_INTERNAL_H
#define CSE_FETCH_INTERNAL_H

#include <stddef.h>
#include <time.h>

#include <openssl/evp.h>

#include "fetch.h"

/* ---- Poll timing --------------------------------------------------------- */

/* Parses a Retry-After value: delay-seconds ("120") or an HTTP-date ("Fri, 31
 * Dec 1999 23:59:59 GMT", also the obsolete forms curl_getdate knows) relative
 * to now. A date in the past gives 0. Returns CSE_OK or CSE_ERR_PARSE. */
cse_code cse__fetch_retry_after(const char *value, time_t now, long *seconds);

/* Exponential backoff without a server hint: initial * 2^attempt seconds,
 * never more than max and never less than 1. */
long cse__fetch_backoff(unsigned attempt, long initial, long max);

/* The wait before the next request: the Retry-After value when it parses
 * (at least 1 and at most max seconds), else cse__fetch_backoff(attempt, 1, max). */
long cse__fetch_poll_delay(const char *retry_after, time_t now, unsigned attempt,
                           long max);

/* ---- Server JSON -------------------------------------------------------- */

typedef struct cse__fetch_file {
    char *type;      /* resource type */
    char *url;       /* absolute https URL; never printed (it may be signed) */
    long long count; /* -1 when absent */
} cse__fetch_file;

/* A completion manifest (Bulk Data v2 "Response - Complete Status"). */
typedef struct cse__fetch_manifest {
    int requires_token;
    cse__fetch_file *output;
    size_t n_output;
    cse__fetch_file *error;
    size_t n_error;
} cse__fetch_manifest;

/* Parses and validates a manifest: transactionTime, request and
 * requiresAccessToken present and typed, output and error arrays of {type, url
 * (https), count?}, output types among types (comma-separated), error items
 * of type OperationOutcome, no "next" link (paged manifests are unsupported).
 * Errors name the JSON path ("output[2].url"). Returns CSE_OK,
 * CSE_ERR_PARSE, CSE_ERR_STRUCTURE, CSE_ERR_UNSUPPORTED or CSE_ERR_NOMEM.
 * Ownership: on success the caller frees m with cse__fetch_manifest_free. */
cse_code cse__fetch_manifest_parse(const char *json, size_t len, const char *types,
                                   cse__fetch_manifest *m, cse_error *err);
void cse__fetch_manifest_free(cse__fetch_manifest *m);

/* Reads an OAuth 2.0 token response. The token must be printable ASCII with no
 * spaces (it goes into a header); a missing expires_in counts as 300.
 * Returns CSE_OK, CSE_ERR_PARSE or CSE_ERR_STRUCTURE; the message never
 * contains the token. Ownership: *token is the caller's; wipe and free it. */
cse_code cse__fetch_token_parse(const char *json, size_t len, char **token,
                                long *expires_in, cse_error *err);

/* Summarises an OperationOutcome (a response body or one NDJSON line) without
 * any server text: the distinct issue codes that look like FHIR codes
 * (lower-case letters and '-'), comma-separated into buf ("" when none).
 * Returns 1 when every issue is transient (code transient, lock-error,
 * no-store, exception, timeout, incomplete or throttled), else 0. *worst gets
 * 3 fatal, 2 error, 1 warning, 0 information or unknown (may be NULL). */
int cse__fetch_outcome(const char *json, size_t len, char *buf, size_t size, int *worst);

/* The OAuth error code of a token error response when it is one of RFC
 * 6749's ("invalid_client", ...), else "". Static storage. */
const char *cse__fetch_oauth_error(const char *json, size_t len);

/* ---- URLs --------------------------------------------------------------- */

/* scheme://host[:port]/path of url without user info, query or fragment, for
 * messages; "(invalid URL)" when it does not parse. */
const char *cse__fetch_url_redact(const char *url, char *buf, size_t size);

/* 1 when both URLs parse and share scheme, host and port. */
int cse__fetch_same_origin(const char *a, const char *b);

/* 1 when url is an absolute https URL without user info. */
int cse__fetch_url_ok(const char *url);

/* ---- NDJSON lines -------------------------------------------------------- */

/* Splits a byte stream into lines for a cse_fetch_line_fn: a buffer with a
 * hard cap, CR before LF dropped, blank lines skipped. */
typedef struct cse__fetch_lines {
    char *buf;
    size_t len, cap, max;
    long line; /* lines seen, blank ones included */
    size_t delivered;
    cse_fetch_line_fn fn;
    void *ctx;
    const char *source;
    cse_error *err;
} cse__fetch_lines;

void cse__fetch_lines_init(cse__fetch_lines *l, size_t max, cse_fetch_line_fn fn,
                           void *ctx, const char *source, cse_error *err);
/* Feeds bytes; returns CSE_OK, CSE_ERR_LIMIT, CSE_ERR_NOMEM or what fn returned. */
cse_code cse__fetch_lines_feed(cse__fetch_lines *l, const char *data, size_t n);
/* Ends the stream: bytes after the last newline mean a truncated file
 * (CSE_ERR_NETWORK). Frees the buffer (wiped) in every case. */
cse_code cse__fetch_lines_finish(cse__fetch_lines *l);
/* Frees the buffer (wiped) without checking. */
void cse__fetch_lines_free(cse__fetch_lines *l);

/* ---- SMART Backend Services ---------------------------------------------- */

typedef struct cse__fetch_key {
    EVP_PKEY *pkey;
    unsigned char *pem; /* PKCS#8 PEM for libjwt, wiped on free */
    size_t pem_len;
    int es384;           /* 1 for ES384 (EC P-384), 0 for RS384 (RSA) */
    char thumbprint[48]; /* RFC 7638 JWK thumbprint (SHA-256, base64url) */
} cse__fetch_key;

/* Loads an unencrypted PEM private key: RSA of at least 2048 bits or EC
 * P-384. The file must be a regular file readable by its owner only. Returns
 * CSE_OK, CSE_ERR_IO, CSE_ERR_PERMISSION, CSE_ERR_PARSE, CSE_ERR_UNSUPPORTED
 * or CSE_ERR_NOMEM; messages never contain key material. */
cse_code cse__fetch_key_load(const char *path, cse__fetch_key *k, cse_error *err);
void cse__fetch_key_free(cse__fetch_key *k);
const char *cse__fetch_key_alg(const cse__fetch_key *k); /* "RS384" or "ES384" */

/* Builds a signed client assertion: header {alg, typ JWT, kid}, claims iss =
 * sub = client_id, aud, iat = now, exp = now + lifetime (at most 300), and a
 * random 128-bit hex jti from OpenSSL RAND. kid NULL uses the thumbprint.
 * Returns CSE_OK, CSE_ERR_INVALID_ARG, CSE_ERR_NOMEM or CSE_ERR_INTERNAL.
 * Ownership: *out is the caller's (free it). */
cse_code cse__fetch_assertion(const cse__fetch_key *k, const char *kid,
                              const char *client_id, const char *aud, time_t now,
                              long lifetime, char **out, cse_error *err);

/* base64url without padding of n bytes into a new string; NULL on no memory. */
char *cse__fetch_b64url(const unsigned char *p, size_t n);

#endif
