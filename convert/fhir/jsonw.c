/* SPDX-License-Identifier: MIT */
/* The FHIR writers' JSON builder: values in a bump arena, json_pack's format
 * subset, and a serialiser writing jansson's bytes. See jsonw.h. */
#include "config.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonw.h"

/* ---- The arena ------------------------------------------------------------
 * Chunks of CHUNK bytes are kept across resets; a block bigger than a
 * quarter chunk gets a chunk of its own, freed at the next reset. */

#define CHUNK (64u * 1024u)
#define ALIGN 8u

typedef struct chunk {
    struct chunk *next;
    size_t size, used;
    unsigned char data[]; /* 8-aligned: the header is three words */
} chunk;

struct cse__jw_arena {
    chunk *cur;   /* the chunk being filled, first in the list of used ones */
    chunk *spare; /* ordinary chunks freed by a reset, for reuse */
    chunk *big;   /* one-off chunks for large blocks */
    size_t total, max;
};

cse__jw_arena *cse__jw_arena_new(size_t max)
{
    cse__jw_arena *a = calloc(1, sizeof(*a));

    if (a)
        a->max = max;
    return a;
}

static void free_list(chunk *c)
{
    while (c) {
        chunk *next = c->next;
        free(c);
        c = next;
    }
}

void cse__jw_arena_reset(cse__jw_arena *a)
{
    chunk *c;

    if (a == NULL)
        return;
    while ((c = a->cur) != NULL) {
        a->cur = c->next;
        c->used = 0;
        c->next = a->spare;
        a->spare = c;
    }
    for (c = a->big; c; c = c->next)
        a->total -= c->size;
    free_list(a->big);
    a->big = NULL;
}

void cse__jw_arena_free(cse__jw_arena *a)
{
    if (a == NULL)
        return;
    free_list(a->cur);
    free_list(a->spare);
    free_list(a->big);
    free(a);
}

static void *grow_alloc(cse__jw_arena *a, size_t size)
{
    chunk *c;

    if (size > CHUNK / 4) {
        if (size > a->max || a->total > a->max - size ||
            (c = malloc(sizeof(*c) + size)) == NULL)
            return NULL;
        c->size = c->used = size;
        c->next = a->big;
        a->big = c;
        a->total += size;
        return c->data;
    }
    if ((c = a->spare) != NULL) {
        a->spare = c->next;
    } else {
        if (a->total > a->max || a->max - a->total < CHUNK ||
            (c = malloc(sizeof(*c) + CHUNK)) == NULL)
            return NULL;
        c->size = CHUNK;
        a->total += CHUNK;
    }
    c->used = size;
    c->next = a->cur;
    a->cur = c;
    return c->data;
}

/* size bytes, aligned to ALIGN when aligned is true. */
static inline void *alloc(cse__jw_arena *a, size_t size, bool aligned)
{
    chunk *c = a->cur;

    if (c) {
        size_t at = aligned ? (c->used + (ALIGN - 1)) & ~(size_t)(ALIGN - 1) : c->used;
        if (at <= c->size && c->size - at >= size) {
            c->used = at + size;
            return c->data + at;
        }
    }
    return grow_alloc(a, size);
}

/* Bytes a JSON string escapes as jansson does by default: control
 * characters, '"' and '\\' (not '/', not DEL, nothing above ASCII). */
static const unsigned char escape[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, ['\\'] = 1,
};

/* ---- UTF-8 ------------------------------------------------------------------
 * The same rules as jansson's utf8_check_string: no overlong forms, no
 * surrogates, nothing above U+10FFFF. */

/* The length of the sequence at s, 0 when it is not valid. A NUL stops it
 * as any byte outside 0x80..0xBF does. */
static size_t utf8_seq(const unsigned char *s)
{
    unsigned u = s[0];
    size_t n;
    uint32_t v;

    if (u >= 0xC2 && u <= 0xDF)
        n = 2, v = u & 0x1F;
    else if (u >= 0xE0 && u <= 0xEF)
        n = 3, v = u & 0x0F;
    else if (u >= 0xF0 && u <= 0xF4)
        n = 4, v = u & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF) || (n == 3 && v < 0x800) ||
        (n == 4 && v < 0x10000))
        return 0;
    return n;
}

/* Eight bytes at a time: whether any is 0x80 or above, below 0x20, '"' or
 * '\\' (exact for "any", which is all the callers ask). */
#define ONES 0x0101010101010101u
#define HIGHS 0x8080808080808080u

static inline uint64_t load8(const unsigned char *s)
{
    uint64_t x;
    memcpy(&x, s, 8);
    return x;
}

static inline uint64_t has_zero(uint64_t x)
{
    return (x - ONES) & ~x & HIGHS;
}

static inline uint64_t escapes8(uint64_t x)
{
    return ((x - ONES * 0x20) & ~x & HIGHS) | has_zero(x ^ (ONES * '"')) |
           has_zero(x ^ (ONES * '\\'));
}

/* Whether 8 (or 4) bytes at s are all ASCII and need no escape. */
static inline bool clean8(const unsigned char *s)
{
    uint64_t x = load8(s);
    return !((x & HIGHS) | escapes8(x));
}

static inline bool clean4(const unsigned char *s)
{
    uint32_t x;
    uint64_t y;

    memcpy(&x, s, 4);
    y = (uint64_t)x | 0x6161616100000000u; /* four plain 'a's above */
    return !((y & HIGHS) | escapes8(y));
}

/* The length of s when it is UTF-8, else (size_t)-1; *plain tells whether
 * no byte of it needs escaping in JSON, so the serialiser need not look. */
static inline size_t utf8_len(const char *str, bool *plain)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t len = strlen(str), i = 0;
    bool esc = false;

    /* Short keys and values: two overlapping loads cover them. */
    if (len >= 8) {
        while (len - i >= 8 && clean8(s + i))
            i += 8;
        if (i == len || (len - i < 8 && clean8(s + len - 8))) {
            *plain = true;
            return len;
        }
    } else if (len >= 4 && clean4(s) && clean4(s + len - 4)) {
        *plain = true;
        return len;
    }
    while (i < len) {
        if (len - i >= 8) {
            uint64_t x = load8(s + i);
            if (!((x & HIGHS) | escapes8(x))) {
                i += 8;
                continue;
            }
        }
        if (s[i] < 0x80) {
            esc |= escape[s[i]];
            i++;
        } else {
            size_t n = utf8_seq(s + i);
            if (n == 0)
                return (size_t)-1;
            i += n;
        }
    }
    *plain = !esc;
    return len;
}

/* ---- Values -------------------------------------------------------------- */

static cse__jw jw_true = {.type = CSE__JW_TRUE};
static cse__jw jw_false = {.type = CSE__JW_FALSE};
static cse__jw jw_null = {.type = CSE__JW_NULL};

cse__jw *cse__jw_true(void)
{
    return &jw_true;
}

cse__jw *cse__jw_false(void)
{
    return &jw_false;
}

cse__jw *cse__jw_null(void)
{
    return &jw_null;
}

static cse__jw *new_value(cse__jw_arena *a, cse__jw_type type)
{
    cse__jw *v = alloc(a, sizeof(*v), true);

    if (v) {
        memset(v, 0, sizeof(*v));
        v->type = type;
    }
    return v;
}

cse__jw *cse__jw_object(cse__jw_arena *a)
{
    return new_value(a, CSE__JW_OBJECT);
}

cse__jw *cse__jw_array(cse__jw_arena *a)
{
    return new_value(a, CSE__JW_ARRAY);
}

/* A copy of s[0..len) in the arena, NUL-terminated. */
static char *copy_text(cse__jw_arena *a, const char *s, size_t len)
{
    char *d;

    if (len == SIZE_MAX || (d = alloc(a, len + 1, false)) == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

cse__jw *cse__jw_string(cse__jw_arena *a, const char *s)
{
    size_t len;
    cse__jw *v;
    char *d;

    bool plain;

    if (s == NULL || (len = utf8_len(s, &plain)) == (size_t)-1)
        return NULL;
    if ((d = copy_text(a, s, len)) == NULL || (v = new_value(a, CSE__JW_STRING)) == NULL)
        return NULL;
    v->u.str.s = d;
    v->u.str.len = len;
    v->u.str.plain = plain;
    return v;
}

cse__jw *cse__jw_integer(cse__jw_arena *a, long long i)
{
    cse__jw *v = new_value(a, CSE__JW_INTEGER);

    if (v)
        v->u.i = i;
    return v;
}

cse__jw *cse__jw_number_text(cse__jw_arena *a, const char *s)
{
    char buf[64];
    size_t n = 0;
    const char *p = s;
    bool digits = false, frac = false;
    cse__jw *v;

    if (s == NULL || strlen(s) >= sizeof(buf) - 2)
        return NULL;
    if (*p == '+')
        p++;
    else if (*p == '-')
        buf[n++] = *p++;
    if (*p == '.')
        buf[n++] = '0';
    while (*p == '0' && p[1] >= '0' && p[1] <= '9')
        p++; /* JSON allows no leading zeros */
    for (; *p; p++) {
        if (*p >= '0' && *p <= '9') {
            digits = true;
        } else if (*p == '.' && !frac) {
            frac = true;
            if (!(p[1] >= '0' && p[1] <= '9'))
                continue; /* "5." is 5 */
        } else {
            return NULL;
        }
        buf[n++] = *p;
    }
    if (!digits)
        return NULL;
    buf[n] = '\0';
    if ((v = cse__jw_string(a, buf)) == NULL)
        return NULL;
    v->type = CSE__JW_NUMBER;
    return v;
}

const char *cse__jw_string_value(const cse__jw *v)
{
    return v && v->type == CSE__JW_STRING ? v->u.str.s : NULL;
}

/* ---- Objects and arrays -------------------------------------------------- */

/* One of 64 bits for a key, from its length and its first and last bytes
 * (every FHIR element name has at least one). An object with the key's bit
 * clear has no such key. */
static inline uint64_t key_bit(const char *key, size_t klen)
{
    unsigned h = klen ? (unsigned)klen * 7u + (unsigned char)key[0] * 3u +
                            (unsigned char)key[klen - 1]
                      : 0u;
    return (uint64_t)1 << (h & 63u);
}

static inline cse__jw_member *find(const cse__jw *obj, const char *key, size_t klen)
{
    if (!(obj->u.obj.keys & key_bit(key, klen)))
        return NULL;
    for (size_t i = 0; i < obj->u.obj.n; i++) {
        cse__jw_member *m = &obj->u.obj.m[i];
        if (m->klen == klen && (m->key == key || memcmp(m->key, key, klen) == 0))
            return m;
    }
    return NULL;
}

/* Room for one more item in a list of n of cap items of size bytes. */
static void *grow(cse__jw_arena *a, void *items, size_t n, size_t *cap, size_t size)
{
    size_t ncap = *cap ? *cap * 2 : 4;
    void *p;

    if (n < *cap)
        return items;
    if (ncap > SIZE_MAX / 2 / size || (p = alloc(a, ncap * size, true)) == NULL)
        return NULL;
    if (n)
        memcpy(p, items, n * size);
    *cap = ncap;
    return p;
}

int cse__jw_object_set(cse__jw_arena *a, cse__jw *obj, const char *key, cse__jw *value)
{
    cse__jw_member *m;
    size_t klen;
    bool plain;
    char *k;

    if (obj == NULL || obj->type != CSE__JW_OBJECT || key == NULL || value == NULL ||
        (klen = utf8_len(key, &plain)) == (size_t)-1)
        return -1;
    if ((m = find(obj, key, klen)) != NULL) {
        m->value = value;
        return 0;
    }
    if ((m = grow(a, obj->u.obj.m, obj->u.obj.n, &obj->u.obj.cap, sizeof(*m))) == NULL ||
        (k = copy_text(a, key, klen)) == NULL)
        return -1;
    obj->u.obj.m = m;
    obj->u.obj.keys |= key_bit(key, klen);
    m[obj->u.obj.n].key = k;
    m[obj->u.obj.n].klen = klen;
    m[obj->u.obj.n].plain = plain;
    m[obj->u.obj.n].value = value;
    obj->u.obj.n++;
    return 0;
}

int cse__jw_object_set_static(cse__jw_arena *a, cse__jw *obj, const char *key,
                              size_t klen, cse__jw *value)
{
    cse__jw_member *m;

    if (obj == NULL || obj->type != CSE__JW_OBJECT || key == NULL || value == NULL)
        return -1;
    if ((m = find(obj, key, klen)) != NULL) {
        m->value = value;
        return 0;
    }
    if ((m = grow(a, obj->u.obj.m, obj->u.obj.n, &obj->u.obj.cap, sizeof(*m))) == NULL)
        return -1;
    obj->u.obj.m = m;
    obj->u.obj.keys |= key_bit(key, klen);
    m[obj->u.obj.n].key = key;
    m[obj->u.obj.n].klen = klen;
    m[obj->u.obj.n].plain = true;
    m[obj->u.obj.n].value = value;
    obj->u.obj.n++;
    return 0;
}

cse__jw *cse__jw_object_get(const cse__jw *obj, const char *key)
{
    cse__jw_member *m;

    if (obj == NULL || obj->type != CSE__JW_OBJECT || key == NULL)
        return NULL;
    m = find(obj, key, strlen(key));
    return m ? m->value : NULL;
}

int cse__jw_object_del(cse__jw *obj, const char *key)
{
    cse__jw_member *m;
    size_t i;

    if (obj == NULL || obj->type != CSE__JW_OBJECT || key == NULL ||
        (m = find(obj, key, strlen(key))) == NULL)
        return -1;
    i = (size_t)(m - obj->u.obj.m);
    memmove(m, m + 1, (obj->u.obj.n - i - 1) * sizeof(*m));
    obj->u.obj.n--;
    return 0;
}

size_t cse__jw_object_size(const cse__jw *obj)
{
    return obj && obj->type == CSE__JW_OBJECT ? obj->u.obj.n : 0;
}

int cse__jw_array_insert(cse__jw_arena *a, cse__jw *arr, size_t i, cse__jw *value)
{
    cse__jw **v;

    if (arr == NULL || arr->type != CSE__JW_ARRAY || value == NULL || i > arr->u.arr.n)
        return -1;
    if ((v = grow(a, arr->u.arr.v, arr->u.arr.n, &arr->u.arr.cap, sizeof(*v))) == NULL)
        return -1;
    arr->u.arr.v = v;
    memmove(v + i + 1, v + i, (arr->u.arr.n - i) * sizeof(*v));
    v[i] = value;
    arr->u.arr.n++;
    return 0;
}

int cse__jw_array_append(cse__jw_arena *a, cse__jw *arr, cse__jw *value)
{
    return cse__jw_array_insert(
        a, arr, arr && arr->type == CSE__JW_ARRAY ? arr->u.arr.n : 0, value);
}

size_t cse__jw_array_size(const cse__jw *arr)
{
    return arr && arr->type == CSE__JW_ARRAY ? arr->u.arr.n : 0;
}

cse__jw *cse__jw_array_get(const cse__jw *arr, size_t i)
{
    return arr && arr->type == CSE__JW_ARRAY && i < arr->u.arr.n ? arr->u.arr.v[i] : NULL;
}

/* ---- cse__jw_pack -----------------------------------------------------------
 * A recursive descent over the format, as jansson's pack_unpack.c does:
 * ':' ',' and white space separate tokens and mean nothing; '*' after s or o
 * makes a NULL argument leave its member or element out. Once anything fails
 * the whole pack does (bad stays set), even where the failing value was
 * optional, as in jansson (an invalid string is an error, not a NULL). */

typedef struct pack_state {
    cse__jw_arena *a;
    const char *f;
    va_list ap;
    bool bad;
} pack_state;

static char next_tok(pack_state *s)
{
    while (*s->f == ' ' || *s->f == '\t' || *s->f == '\n' || *s->f == ',' || *s->f == ':')
        s->f++;
    return *s->f;
}

/* Consumes a '*' after the token just read; true when there was one. */
static bool optional(pack_state *s)
{
    if (next_tok(s) == '*') {
        s->f++;
        return true;
    }
    return false;
}

static cse__jw *pack_value(pack_state *s, bool *skip);

static cse__jw *pack_object(pack_state *s)
{
    cse__jw *obj = cse__jw_object(s->a);

    if (obj == NULL)
        s->bad = true;
    for (;;) {
        char t = next_tok(s);
        const char *key;
        cse__jw *v;
        bool skip = false;

        if (t == '}') {
            s->f++;
            break;
        }
        if (t != 's') {
            s->bad = true;
            return NULL;
        }
        s->f++;
        key = va_arg(s->ap, const char *);
        if (key == NULL)
            s->bad = true;
        v = pack_value(s, &skip);
        if (s->bad)
            return NULL;
        if (skip)
            continue;
        if (cse__jw_object_set_static(s->a, obj, key, strlen(key), v) != 0) {
            s->bad = true;
            return NULL;
        }
    }
    return s->bad ? NULL : obj;
}

static cse__jw *pack_array(pack_state *s)
{
    cse__jw *arr = cse__jw_array(s->a);

    if (arr == NULL)
        s->bad = true;
    for (;;) {
        char t = next_tok(s);
        cse__jw *v;
        bool skip = false;

        if (t == ']') {
            s->f++;
            break;
        }
        if (t == '\0') {
            s->bad = true;
            return NULL;
        }
        v = pack_value(s, &skip);
        if (s->bad)
            return NULL;
        if (skip)
            continue;
        if (cse__jw_array_append(s->a, arr, v) != 0) {
            s->bad = true;
            return NULL;
        }
    }
    return s->bad ? NULL : arr;
}

/* One value; *skip is set for an optional NULL. NULL with s->bad on failure. */
static cse__jw *pack_value(pack_state *s, bool *skip)
{
    char t = next_tok(s);
    cse__jw *v = NULL;

    if (t == '\0') {
        s->bad = true;
        return NULL;
    }
    s->f++;
    switch (t) {
    case '{': v = pack_object(s); break;
    case '[': v = pack_array(s); break;
    case 's': {
        const char *str = va_arg(s->ap, const char *);
        bool opt = optional(s);
        if (str == NULL && opt) {
            *skip = true;
            return NULL;
        }
        v = cse__jw_string(s->a, str);
        break;
    }
    case 'o':
        v = va_arg(s->ap, cse__jw *);
        if (v == NULL && optional(s)) {
            *skip = true;
            return NULL;
        }
        (void)optional(s);
        break;
    case 'i': v = cse__jw_integer(s->a, va_arg(s->ap, int)); break;
    case 'I': v = cse__jw_integer(s->a, va_arg(s->ap, long long)); break;
    case 'b': v = va_arg(s->ap, int) ? &jw_true : &jw_false; break;
    case 'n': v = &jw_null; break;
    default: break;
    }
    if (v == NULL)
        s->bad = true;
    return v;
}

cse__jw *cse__jw_pack(cse__jw_arena *a, const char *fmt, ...)
{
    pack_state s = {.a = a, .f = fmt};
    cse__jw *v;
    bool skip = false;

    if (a == NULL || fmt == NULL)
        return NULL;
    va_start(s.ap, fmt);
    v = pack_value(&s, &skip);
    va_end(s.ap);
    /* A top-level optional NULL is no value; trailing format is an error. */
    if (s.bad || skip || next_tok(&s) != '\0')
        return NULL;
    return v;
}

/* ---- The serialiser ------------------------------------------------------ */

static int buf_grow(cse__jw_buf *b, size_t size)
{
    size_t cap = b->cap ? b->cap : 4096;
    char *p;

    if (size > SIZE_MAX / 2 - b->len)
        return -1;
    while (cap < b->len + size)
        cap *= 2;
    if (cap > b->max) {
        if (b->len + size > b->max)
            return -1;
        cap = b->max;
    }
    if ((p = realloc(b->data, cap)) == NULL)
        return -1;
    b->data = p;
    b->cap = cap;
    return 0;
}

static inline int put(cse__jw_buf *b, const char *text, size_t size)
{
    if (b->cap - b->len < size && buf_grow(b, size))
        return -1;
    memcpy(b->data + b->len, text, size);
    b->len += size;
    return 0;
}

/* The index of the first byte of s[0..len) that JSON escapes, len if none. */
static size_t plain_run(const unsigned char *s, size_t i, size_t len)
{
    for (;;) {
        /* Skips eight bytes when none is '"', '\\' or below 0x20. */
        if (len - i >= 8 && !escapes8(load8(s + i))) {
            i += 8;
            continue;
        }
        if (i == len || escape[s[i]])
            return i;
        i++;
    }
}

static int put_string(cse__jw_buf *b, const char *str, size_t len, bool plain)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str;
    size_t start = 0, i = 0;
    char *p;

    /* Most strings need no escape: one copy into room made once (the least
     * the string can take, so the cap refuses nothing that would fit). */
    if (len > SIZE_MAX - 2 || (b->cap - b->len < len + 2 && buf_grow(b, len + 2)))
        return -1;
    if (plain || (i = plain_run(s, 0, len)) == len) {
        p = b->data + b->len;
        *p++ = '"';
        memcpy(p, str, len);
        p[len] = '"';
        b->len += len + 2;
        return 0;
    }
    if (put(b, "\"", 1))
        return -1;
    for (;;) {
        char seq[6];
        const char *rep;
        size_t n = 2;
        if (i == len)
            break;
        switch (s[i]) {
        case '\\': rep = "\\\\"; break;
        case '"': rep = "\\\""; break;
        case '\b': rep = "\\b"; break;
        case '\f': rep = "\\f"; break;
        case '\n': rep = "\\n"; break;
        case '\r': rep = "\\r"; break;
        case '\t': rep = "\\t"; break;
        default:
            memcpy(seq, "\\u00", 4);
            seq[4] = hex[s[i] >> 4];
            seq[5] = hex[s[i] & 15];
            rep = seq;
            n = 6;
            break;
        }
        if (put(b, str + start, i - start) || put(b, rep, n))
            return -1;
        start = ++i;
        i = plain_run(s, i, len);
    }
    return put(b, str + start, len - start) || put(b, "\"", 1) ? -1 : 0;
}

/* A newline and depth * indent spaces (jansson's dump_indent). */
static int put_indent(cse__jw_buf *b, int indent, int depth)
{
    static const char spaces[] = "                                ";
    size_t n = (size_t)indent * (size_t)depth;

    if (put(b, "\n", 1))
        return -1;
    while (n) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        if (put(b, spaces, k))
            return -1;
        n -= k;
    }
    return 0;
}

#define MAX_DEPTH 2048

static int dump(const cse__jw *v, cse__jw_buf *b, int indent, int depth)
{
    char num[32];
    int len;

    if (v == NULL || depth > MAX_DEPTH)
        return -1;
    switch (v->type) {
    case CSE__JW_OBJECT:
        if (v->u.obj.n == 0)
            return put(b, "{}", 2);
        if (put(b, "{", 1) || (indent && put_indent(b, indent, depth + 1)))
            return -1;
        for (size_t i = 0; i < v->u.obj.n; i++) {
            const cse__jw_member *m = &v->u.obj.m[i];
            if (m->plain && !indent) {
                /* "key": in one piece, the commonest thing written. */
                char *p;
                if (b->cap - b->len < m->klen + 3 && buf_grow(b, m->klen + 3))
                    return -1;
                p = b->data + b->len;
                p[0] = '"';
                memcpy(p + 1, m->key, m->klen);
                p[m->klen + 1] = '"';
                p[m->klen + 2] = ':';
                b->len += m->klen + 3;
            } else if (put_string(b, m->key, m->klen, m->plain) ||
                       put(b, indent ? ": " : ":", indent ? 2 : 1)) {
                return -1;
            }
            if (dump(m->value, b, indent, depth + 1))
                return -1;
            if (i + 1 < v->u.obj.n
                    ? put(b, ",", 1) || (indent && put_indent(b, indent, depth + 1))
                    : indent && put_indent(b, indent, depth))
                return -1;
        }
        return put(b, "}", 1);
    case CSE__JW_ARRAY:
        if (v->u.arr.n == 0)
            return put(b, "[]", 2);
        if (put(b, "[", 1) || (indent && put_indent(b, indent, depth + 1)))
            return -1;
        for (size_t i = 0; i < v->u.arr.n; i++) {
            if (dump(v->u.arr.v[i], b, indent, depth + 1))
                return -1;
            if (i + 1 < v->u.arr.n
                    ? put(b, ",", 1) || (indent && put_indent(b, indent, depth + 1))
                    : indent && put_indent(b, indent, depth))
                return -1;
        }
        return put(b, "]", 1);
    case CSE__JW_STRING: return put_string(b, v->u.str.s, v->u.str.len, v->u.str.plain);
    case CSE__JW_INTEGER:
        len = snprintf(num, sizeof(num), "%lld", v->u.i);
        return put(b, num, (size_t)len);
    case CSE__JW_TRUE: return put(b, "true", 4);
    case CSE__JW_FALSE: return put(b, "false", 5);
    case CSE__JW_NULL: return put(b, "null", 4);
    case CSE__JW_NUMBER: return put(b, v->u.str.s, v->u.str.len);
    }
    return -1;
}

int cse__jw_dump(const cse__jw *v, cse__jw_buf *b, int indent)
{
    if (b == NULL || indent < 0)
        return -1;
    return dump(v, b, indent, 0);
}

void cse__jw_buf_free(cse__jw_buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
