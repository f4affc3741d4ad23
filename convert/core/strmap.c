/* SPDX-License-Identifier: MIT */
/* A small string-to-string map (open addressing), for the converters'
 * indexes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csemarker/model.h>

#include "strmap.h"

static size_t hash_str(const char *s)
{
    size_t h = 1469598103934665603u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

void cse__smap_free(cse__smap *m)
{
    for (size_t i = 0; i < m->cap; i++) {
        free(m->keys[i]);
        free(m->vals[i]);
    }
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

static char **cse__smap_slot(const cse__smap *m, const char *key)
{
    size_t i;
    if (m->cap == 0)
        return NULL;
    for (i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        if (strcmp(m->keys[i], key) == 0)
            return &m->vals[i];
    return NULL;
}

bool cse__smap_has(const cse__smap *m, const char *key)
{
    return key != NULL && cse__smap_slot(m, key) != NULL;
}

const char *cse__smap_get(const cse__smap *m, const char *key)
{
    char **v = key ? cse__smap_slot(m, key) : NULL;
    return v ? *v : NULL;
}

/* Sets key (copied) to val (copied, may be NULL); keeps the first value when
 * keep_first is set. */
cse_code cse__smap_put(cse__smap *m, const char *key, const char *val, bool keep_first)
{
    size_t i;
    char **slot;

    if ((slot = cse__smap_slot(m, key)) != NULL) {
        if (keep_first)
            return CSE_OK;
        return cse_strset(slot, val);
    }
    if ((m->n + 1) * 2 > m->cap) {
        cse__smap nm = {0};
        nm.cap = m->cap ? m->cap * 2 : 64;
        if (nm.cap > (64u << 20))
            return CSE_ERR_LIMIT;
        nm.keys = calloc(nm.cap, sizeof(char *));
        nm.vals = calloc(nm.cap, sizeof(char *));
        if (!nm.keys || !nm.vals) {
            free(nm.keys);
            free(nm.vals);
            return CSE_ERR_NOMEM;
        }
        for (size_t j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            for (i = hash_str(m->keys[j]) & (nm.cap - 1); nm.keys[i];
                 i = (i + 1) & (nm.cap - 1))
                ;
            nm.keys[i] = m->keys[j];
            nm.vals[i] = m->vals[j];
        }
        nm.n = m->n;
        free(m->keys);
        free(m->vals);
        *m = nm;
    }
    for (i = hash_str(key) & (m->cap - 1); m->keys[i]; i = (i + 1) & (m->cap - 1))
        ;
    if ((m->keys[i] = strdup(key)) == NULL)
        return CSE_ERR_NOMEM;
    if (val && (m->vals[i] = strdup(val)) == NULL) {
        free(m->keys[i]);
        m->keys[i] = NULL;
        return CSE_ERR_NOMEM;
    }
    m->n++;
    return CSE_OK;
}
