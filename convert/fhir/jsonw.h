/* SPDX-License-Identifier: MIT */
/* A small JSON builder for the FHIR writers' hot path. Not installed.
 *
 * The writers made a jansson tree per resource (a heap block per value, a
 * hash table per object) only to serialise it once and free it. Here values
 * live in an arena that the writer resets after each resource, strings are
 * copied into it, and an object keeps its members as a list in insertion
 * order. What the writers need behaves as jansson's does: cse__jw_string
 * refuses NULL and invalid UTF-8 as json_string does, setting an existing key
 * replaces its value where it stands, a NULL value makes a setter fail, and
 * cse__jw_pack takes the subset of json_pack formats the writers use with the
 * same NULL and error rules. cse__jw_dump writes exactly the bytes of
 * json_dumps with JSON_COMPACT or JSON_INDENT(n). tests/check_jsonw.c
 * compares both with jansson.
 *
 * Values are never freed one by one: they die with cse__jw_arena_reset. A
 * value may be shared by several parents (the writers share meta and the
 * patient reference) as long as nothing modifies it afterwards. */
#ifndef CSE_JSONW_H
#define CSE_JSONW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    CSE__JW_OBJECT,
    CSE__JW_ARRAY,
    CSE__JW_STRING,
    CSE__JW_INTEGER,
    CSE__JW_TRUE,
    CSE__JW_FALSE,
    CSE__JW_NULL,
    CSE__JW_NUMBER /* a decimal kept as written (str) */
} cse__jw_type;

typedef struct cse__jw cse__jw;
typedef struct cse__jw_member {
    const char *key;
    size_t klen;
    bool plain; /* the key needs no JSON escape */
    cse__jw *value;
} cse__jw_member;

struct cse__jw {
    cse__jw_type type;
    union {
        struct {
            const char *s; /* NUL-terminated, valid UTF-8 */
            size_t len;
            bool plain; /* no byte needs a JSON escape */
        } str;
        long long i;
        struct {
            cse__jw_member *m;
            size_t n, cap;
            uint64_t keys; /* a bit per key (see key_bit): a new key is
                              told from the ones set without a search */
        } obj;
        struct {
            cse__jw **v;
            size_t n, cap;
        } arr;
    } u;
};

typedef struct cse__jw_arena cse__jw_arena;

/* A new arena that refuses to hold more than max bytes at once. NULL when out
 * of memory. Ownership: the caller frees it with cse__jw_arena_free. */
cse__jw_arena *cse__jw_arena_new(size_t max);
/* Forgets every value made in the arena; keeps its memory for reuse. */
void cse__jw_arena_reset(cse__jw_arena *a);
/* Frees the arena and every value in it; NULL does nothing. */
void cse__jw_arena_free(cse__jw_arena *a);

/* Constructors: each returns a value in a (or a shared constant for true,
 * false and null), NULL when out of memory. cse__jw_string copies s and
 * returns NULL for NULL or text that is not UTF-8, like json_string. */
cse__jw *cse__jw_object(cse__jw_arena *a);
cse__jw *cse__jw_array(cse__jw_arena *a);
cse__jw *cse__jw_string(cse__jw_arena *a, const char *s);
cse__jw *cse__jw_integer(cse__jw_arena *a, long long v);
/* A decimal number kept exactly as written ("0.50" stays "0.50"), after
 * reducing an HL7 form JSON does not allow ("+1", ".5", "5.") to the JSON
 * one. NULL when s is not a decimal number or out of memory. */
cse__jw *cse__jw_number_text(cse__jw_arena *a, const char *s);
cse__jw *cse__jw_true(void);
cse__jw *cse__jw_false(void);
cse__jw *cse__jw_null(void);

/* Sets key to value (the key is copied): an existing key keeps its place
 * and gets the new value, a new one goes last. 0, or -1 when obj is not an
 * object, value is NULL, key is not UTF-8 or memory runs out (as
 * json_object_set_new). */
int cse__jw_object_set(cse__jw_arena *a, cse__jw *obj, const char *key, cse__jw *value);
/* As cse__jw_object_set for a key that is a string literal (or any string
 * that outlives the arena's next reset) of ASCII characters JSON does not
 * escape, as every FHIR element name is: the key is neither copied nor
 * checked, which is most of what setting a member costs. klen is
 * strlen(key). 0, or -1 when obj is not an object, value is NULL or memory
 * runs out. */
int cse__jw_object_set_static(cse__jw_arena *a, cse__jw *obj, const char *key,
                              size_t klen, cse__jw *value);
/* The value of key, NULL when obj is not an object or has no such key. */
cse__jw *cse__jw_object_get(const cse__jw *obj, const char *key);
/* Removes key: 0, or -1 when there is no such key or obj is not an object. */
int cse__jw_object_del(cse__jw *obj, const char *key);
/* Members of an object, 0 for anything else (NULL too). */
size_t cse__jw_object_size(const cse__jw *obj);

/* Appends value to an array: 0, or -1 when arr is not an array, value is NULL
 * or memory runs out. */
int cse__jw_array_append(cse__jw_arena *a, cse__jw *arr, cse__jw *value);
/* Inserts value before element i (i may be the size): 0 or -1 as above, and
 * -1 when i is past the end. */
int cse__jw_array_insert(cse__jw_arena *a, cse__jw *arr, size_t i, cse__jw *value);
/* Elements of an array, 0 for anything else (NULL too). */
size_t cse__jw_array_size(const cse__jw *arr);
/* Element i, NULL when arr is not an array or i is past the end. */
cse__jw *cse__jw_array_get(const cse__jw *arr, size_t i);

/* The text of a string value, NULL for anything else (NULL too). */
const char *cse__jw_string_value(const cse__jw *v);

/* Builds a value like json_pack for this subset of its format: { } [ ] for
 * objects and arrays (':' ',' and white space are ignored), s for a string
 * (const char *: NULL or invalid UTF-8 fails the whole pack), s* for a
 * string that leaves its member or element out when NULL, o for a value
 * (NULL fails the whole pack), o* that leaves it out when NULL, i for an int,
 * I for a long long, b for a bool given as int, n for null. Object keys are
 * s, and are set as by cse__jw_object_set_static: each must be a string
 * literal of characters JSON does not escape. Returns NULL on any failure or
 * a format outside the subset. */
cse__jw *cse__jw_pack(cse__jw_arena *a, const char *fmt, ...);

/* A growable output buffer that refuses to grow past max bytes; zero it
 * and set max before first use. */
typedef struct cse__jw_buf {
    char *data;
    size_t len, cap, max;
} cse__jw_buf;

/* Appends v to b as json_dumps would write it: indent 0 as JSON_COMPACT,
 * indent n > 0 as JSON_INDENT(n). 0, or -1 when the buffer cannot grow or a
 * value nests deeper than 2048 levels. */
int cse__jw_dump(const cse__jw *v, cse__jw_buf *b, int indent);
/* Frees the buffer's memory and zeroes it (max is kept). */
void cse__jw_buf_free(cse__jw_buf *b);

#endif
