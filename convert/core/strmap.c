/* SPDX-License-Identifier: MIT */
/* A small string-to-string map (open addressing), for the converters'
 * indexes. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <csemarker/model.h>

#include "farena.h"
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
    if (m->arena == NULL) {
        for (size_t i = 0; i < m->cap; i++) {
            free(m->slots[i].key);
            free(m->slots[i].val);
        }
        free(m->slots);
    }
    memset(m, 0, sizeof(*m));
}

static struct cse__smap_slot *cse__smap_slot(const cse__smap *m, const char *key,
                                             size_t h)
{
    size_t i;
    if (m->cap == 0)
        return NULL;
    for (i = h & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
        if (m->slots[i].hash == h && strcmp(m->slots[i].key, key) == 0)
            return &m->slots[i];
    return NULL;
}

bool cse__smap_has(const cse__smap *m, const char *key)
{
    return key != NULL && m->cap && cse__smap_slot(m, key, hash_str(key)) != NULL;
}

const char *cse__smap_get(const cse__smap *m, const char *key)
{
    struct cse__smap_slot *s =
        key && m->cap ? cse__smap_slot(m, key, hash_str(key)) : NULL;
    return s ? s->val : NULL;
}

static char *copy_str(const cse__smap *m, const char *s)
{
    return m->arena ? cse__farena_strdup(m->arena, s) : strdup(s);
}

/* Doubles the table. CSE_OK, CSE_ERR_NOMEM or CSE_ERR_LIMIT. */
static cse_code grow(cse__smap *m)
{
    cse__smap nm = {0};
    size_t i;

    nm.cap = m->cap ? m->cap * 2 : 64;
    nm.arena = m->arena;
    if (nm.cap > (64u << 20))
        return CSE_ERR_LIMIT;
    nm.slots = m->arena ? cse__farena_alloc(m->arena, nm.cap * sizeof(*nm.slots))
                        : calloc(nm.cap, sizeof(*nm.slots));
    if (nm.slots == NULL)
        return CSE_ERR_NOMEM;
    for (size_t j = 0; j < m->cap; j++) {
        if (!m->slots[j].key)
            continue;
        for (i = m->slots[j].hash & (nm.cap - 1); nm.slots[i].key;
             i = (i + 1) & (nm.cap - 1))
            ;
        nm.slots[i] = m->slots[j];
        cse__farena_tick(m->arena);
    }
    nm.n = m->n;
    if (m->arena == NULL)
        free(m->slots);
    *m = nm;
    return CSE_OK;
}

/* Sets key (copied) to val (copied, may be NULL); keeps the first value when
 * keep_first is set. */
cse_code cse__smap_put(cse__smap *m, const char *key, const char *val, bool keep_first)
{
    size_t i, h = hash_str(key);
    struct cse__smap_slot *slot;
    char *k, *v;
    cse_code rc;

    if ((slot = cse__smap_slot(m, key, h)) != NULL) {
        if (keep_first)
            return CSE_OK;
        if (m->arena == NULL)
            return cse_strset(&slot->val, val);
        if (val && (v = copy_str(m, val)) == NULL)
            return CSE_ERR_NOMEM;
        slot->val = val ? v : NULL;
        return CSE_OK;
    }
    if ((m->n + 1) * 2 > m->cap && (rc = grow(m)) != CSE_OK)
        return rc;
    if ((k = copy_str(m, key)) == NULL)
        return CSE_ERR_NOMEM;
    v = NULL;
    if (val && (v = copy_str(m, val)) == NULL) {
        if (m->arena == NULL)
            free(k);
        return CSE_ERR_NOMEM;
    }
    for (i = h & (m->cap - 1); m->slots[i].key; i = (i + 1) & (m->cap - 1))
        ;
    m->slots[i].hash = h;
    m->slots[i].key = k;
    m->slots[i].val = v;
    m->n++;
    cse__farena_tick(m->arena);
    return CSE_OK;
}
