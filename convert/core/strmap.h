/* SPDX-License-Identifier: MIT */
/* A small string-to-string map used by the FHIR reader and the GP2GP
 * writer. Not installed. */
#ifndef CSE_STRMAP_H
#define CSE_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

#include <csemarker/common.h>

/* A slot: the key's hash beside it, so that a probe compares the key
 * itself only when the hashes match (it need not touch the key's memory). */
struct cse__smap_slot {
    size_t hash;
    char *key; /* NULL: empty */
    char *val; /* may be NULL */
};

typedef struct cse__smap {
    struct cse__smap_slot *slots;
    size_t cap, n;
    /* When set, keys, values and tables come from this arena (see
     * farena.h) and are never freed one by one. */
    struct cse__farena *arena;
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
