/* SPDX-License-Identifier: MIT */
/* A small string-to-string map used by the FHIR reader and the GP2GP
 * writer. Not installed. */
#ifndef CSE_STRMAP_H
#define CSE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <csemarker/common.h>

typedef struct cse__smap {
    char **keys;
    char **vals; /* may hold NULL values */
    size_t cap, n;
} cse__smap;

/* Frees every key and value and zeroes the map. */
void cse__smap_free(cse__smap *m);
bool cse__smap_has(const cse__smap *m, const char *key);
/* The value (lent), or NULL when absent or NULL. */
const char *cse__smap_get(const cse__smap *m, const char *key);
/* Sets key (copied) to val (copied, may be NULL); keeps the existing value
 * when keep_first is set. CSE_OK, CSE_ERR_NOMEM or CSE_ERR_LIMIT. */
cse_code cse__smap_put(cse__smap *m, const char *key, const char *val, bool keep_first);

#endif
