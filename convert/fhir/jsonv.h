/* SPDX-License-Identifier: MIT */
/* A small, strict JSON reader for the FHIR reader's hot path. Not installed.
 *
 * jansson builds a hash table per object and a heap block per value; the FHIR
 * reader parses every resource two or three times and only ever looks a few
 * keys up, so it spent most of its time there. This reader parses a buffer in
 * place (strings are unescaped where they lie and NUL-terminated there), puts
 * every value in an arena that is reset between resources, and keeps an
 * object's members as a list. It accepts exactly what jansson accepts with
 * JSON_REJECT_DUPLICATES (RFC 8259, UTF-8 checked, no NUL in strings, no
 * duplicate keys, numbers in range, an array or object at the root, 2048
 * levels at most), and its error texts never quote the input; the one
 * difference is a NUL byte right after a number or literal, which jansson
 * skips and this reader refuses. tests/check_jsonv.c and fuzz/fuzz_jsonv.c
 * compare it with jansson. */
#ifndef CSE_JSONV_H
#define CSE_JSONV_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

typedef enum {
    JV_NULL,
    JV_FALSE,
    JV_TRUE,
    JV_NUMBER,
    JV_STRING,
    JV_ARRAY,
    JV_OBJECT
} jv_type;

typedef struct jv jv;
struct jv {
    jv_type type;
    size_t n;        /* members of an array or object */
    const char *key; /* the member name, inside an object */
    size_t klen;     /* its length in bytes */
    const char *s;   /* a string (unescaped, NUL-terminated) or a number's text */
    size_t len;      /* its length in bytes */
    jv *child;       /* the first member of an array or object */
    jv *next;        /* the next member of the same array or object */
};

/* The arena values live in; zero-initialise, reset between documents. */
typedef struct jv_arena {
    struct jv_chunk *chunks;
    size_t used; /* values used in the newest chunk */
    void *stack; /* the parser's stack of open arrays and objects */
    size_t stack_cap;
} jv_arena;

typedef enum {
    JV_OK,
    JV_ESYNTAX, /* anything the grammar forbids; text says what */
    JV_EDEPTH,  /* nested deeper than the limit */
    JV_ENOMEM
} jv_status;

typedef struct jv_error {
    jv_status status;
    size_t position;  /* byte offset of the error */
    int line;         /* 1-based */
    int column;       /* 1-based, in bytes */
    const char *text; /* a fixed English text, never quoting the input */
} jv_error;

/* Parses buf[0..len) in place (its bytes are changed) into a, which it
 * resets first. buf[len] need not be readable. Returns the root, or NULL with
 * e set. max_depth limits nested arrays and objects (0, or anything above
 * jansson's 2048: 2048, which also bounds every value's depth as jansson's
 * does). */
jv *cse__jv_parse(jv_arena *a, char *buf, size_t len, size_t max_depth, jv_error *e);
void cse__jv_arena_reset(jv_arena *a);
void cse__jv_arena_free(jv_arena *a);
/* A number's value (0 when v is not a number). */
double cse__jv_number(const jv *v);

/* How many bytes at p[0..n) a string can pass over as they are: none is a
 * quote, a backslash, a control character or part of a multi-byte sequence.
 * Sixteen bytes at a time with SSE2 (a signed compare below 0x20 flags the
 * control characters and every byte from 0x80), then eight at a time: in
 * each test below a byte can only be flagged wrongly above one flagged
 * rightly, so the lowest flag is exact. */
static inline size_t jv_plain_run(const char *p, size_t n)
{
    const unsigned long long ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    size_t i = 0;

#if defined(__SSE2__)
    const __m128i quote = _mm_set1_epi8('"'), bslash = _mm_set1_epi8('\\'),
                  space = _mm_set1_epi8(0x20);
    for (; i + 16 <= n; i += 16) {
        __m128i x = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        int flags = _mm_movemask_epi8(_mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(x, quote), _mm_cmpeq_epi8(x, bslash)),
            _mm_cmplt_epi8(x, space)));
        if (flags)
            return i + (size_t)__builtin_ctz((unsigned)flags);
    }
#endif

    for (; i + 8 <= n; i += 8) {
        unsigned long long w, q, b, m;
        memcpy(&w, p + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        m = ((((w - ones * 0x20) & ~w) | ((q - ones) & ~q) | ((b - ones) & ~b)) & high) |
            (w & high);
        if (m) {
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
            return i + (size_t)__builtin_ctzll(m) / 8;
#else
            break;
#endif
        }
    }
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
            break;
        i++;
    }
    return i;
}

/* jansson-like lookups; each takes NULL and wrong types and gives NULL/0. */
static inline bool jv_is_object(const jv *v)
{
    return v && v->type == JV_OBJECT;
}
static inline bool jv_is_array(const jv *v)
{
    return v && v->type == JV_ARRAY;
}
static inline bool jv_is_string(const jv *v)
{
    return v && v->type == JV_STRING;
}
static inline bool jv_is_number(const jv *v)
{
    return v && v->type == JV_NUMBER;
}
static inline const char *jv_str(const jv *v)
{
    return jv_is_string(v) ? v->s : NULL;
}
static inline size_t jv_size(const jv *v)
{
    return jv_is_array(v) ? v->n : 0;
}
static inline const jv *jv_first(const jv *a)
{
    return jv_is_array(a) ? a->child : NULL;
}

static inline const jv *jv_get(const jv *o, const char *key)
{
    size_t n = strlen(key); /* folded when key is a literal */
    if (!jv_is_object(o))
        return NULL;
    for (const jv *m = o->child; m; m = m->next)
        if (m->klen == n && memcmp(m->key, key, n) == 0)
            return m;
    return NULL;
}

static inline const jv *jv_at(const jv *a, size_t i)
{
    const jv *v = jv_first(a);
    while (v && i--)
        v = v->next;
    return v;
}

/* for each member v of array a, with its index i (nothing when a is not an
 * array) */
#define jv_foreach(a, i, v) for ((i) = 0, (v) = jv_first(a); (v); (i)++, (v) = (v)->next)

#endif
