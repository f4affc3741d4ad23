/* SPDX-License-Identifier: MIT */
/* csemarker: error codes, the caller-owned error struct, version.
 *
 * Every library function returns a cse_code (CSE_OK is 0) or, for
 * constructors, NULL plus an optional cse_error filled in by the callee.
 * Codes are only ever appended, never renumbered. */
#ifndef CSEMARKER_COMMON_H
#define CSEMARKER_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CSE_BUILDING_LIBRARY) && defined(__GNUC__)
#define CSE_EXPORT __attribute__((visibility("default")))
#else
#define CSE_EXPORT
#endif

typedef enum cse_code {
    CSE_OK = 0,
    CSE_ERR_NOMEM = 1,            /* out of memory */
    CSE_ERR_INVALID_ARG = 2,      /* a NULL or out-of-range argument */
    CSE_ERR_IO = 3,               /* reading or writing a file failed */
    CSE_ERR_PARSE = 4,            /* input is not well-formed XML or JSON */
    CSE_ERR_STRUCTURE = 5,        /* well-formed, but not the expected message */
    CSE_ERR_UNSUPPORTED = 6,      /* a valid construct this version cannot handle */
    CSE_ERR_LIMIT = 7,            /* a depth, size or count cap was hit */
    CSE_ERR_STATE = 8,            /* an invalid marker state change */
    CSE_ERR_CODE = 9,             /* a malformed or non-marker code */
    CSE_ERR_NHS_NUMBER = 10,      /* an NHS number that fails its check digit */
    CSE_ERR_DATE = 11,            /* a date that does not parse or is out of order */
    CSE_ERR_PERMISSION = 12,      /* a key file readable by others, or similar */
    CSE_ERR_NEEDS_FRAGMENTS = 13, /* a large-message skeleton without its parts */
    CSE_ERR_SCHEMA = 14,          /* output failed schema validation */
    CSE_ERR_VERSION = 15,         /* input from another format or tool version */
    CSE_ERR_NETWORK = 16,         /* an HTTP or TLS failure */
    CSE_ERR_AUTH = 17,            /* authentication or authorisation refused */
    CSE_ERR_INTEGRITY = 18,       /* a journal or partial failed its integrity check */
    CSE_ERR_INTERNAL = 19         /* a bug: please report it */
} cse_code;

/* A caller-owned error report made of fixed buffers, so that reporting
 * out-of-memory needs no allocation. The first error reported wins; later
 * ones are ignored until cse_error_clear(). Messages never contain patient
 * identifiers or free text from a record. */
typedef struct cse_error {
    cse_code code;
    int line;         /* 1-based input line, 0 when unknown */
    int column;       /* 1-based column, 0 when unknown */
    long long offset; /* byte offset into the input, -1 when unknown */
    char source[256]; /* file name or "-" for stdin, "" when none */
    char path[512];   /* element or JSON path, "" when none */
    char message[512];
} cse_error;

/* Returns static English text for a code; never NULL. */
CSE_EXPORT const char *cse_strerror(cse_code code);

/* Resets an error so that the next report is recorded. err may be NULL. */
CSE_EXPORT void cse_error_clear(cse_error *err);

/* Formats "source:line:column: path: message" into buf (always terminated).
 * Returns buf. */
CSE_EXPORT const char *cse_error_format(const cse_error *err, char *buf, size_t size);

/* The library version as "MAJOR.MINOR.PATCH"; static storage. */
CSE_EXPORT const char *cse_version(void);

#ifdef __cplusplus
}
#endif
#endif
