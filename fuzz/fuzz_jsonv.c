/* SPDX-License-Identifier: MIT */
/* Fuzz target: the in-place JSON reader (convert/jsonv.c) against jansson.
 * Aborts when one accepts what the other rejects, when the trees differ, or
 * when an error lacks its position or text. The arena is reused from input
 * to input, as the FHIR reader reuses it from resource to resource. */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jsonv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void mismatch(const char *what)
{
    fprintf(stderr, "fuzz_jsonv: jsonv and jansson differ: %s\n", what);
    abort();
}

static bool is_integer(const jv *v)
{
    return !memchr(v->s, '.', v->len) && !memchr(v->s, 'e', v->len) &&
           !memchr(v->s, 'E', v->len);
}

/* The number's text, NUL-terminated, in a buffer the caller frees. */
static char *number_text(const jv *v)
{
    char *t = malloc(v->len + 1);
    if (t == NULL)
        abort();
    memcpy(t, v->s, v->len);
    t[v->len] = '\0';
    return t;
}

static void same(const json_t *j, const jv *v)
{
    if (v == NULL)
        mismatch("missing value");
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *value;
        const jv *m = v->child;

        if (v->type != JV_OBJECT || v->n != json_object_size(j))
            mismatch("object");
        json_object_foreach((json_t *)j, key, value)
        {
            if (m == NULL || m->key == NULL || strcmp(m->key, key) != 0 ||
                jv_get(v, key) != m)
                mismatch("object key");
            same(value, m);
            m = m->next;
        }
        if (m != NULL)
            mismatch("object has more members");
        break;
    }
    case JSON_ARRAY: {
        size_t i, n = 0;
        const jv *e;

        if (v->type != JV_ARRAY || jv_size(v) != json_array_size(j))
            mismatch("array");
        jv_foreach(v, i, e)
        {
            same(json_array_get(j, i), e);
            n++;
        }
        if (n != json_array_size(j))
            mismatch("array length");
        break;
    }
    case JSON_STRING:
        if (v->type != JV_STRING || v->len != json_string_length(j) ||
            memcmp(v->s, json_string_value(j), v->len) != 0 || v->s[v->len] != '\0' ||
            strlen(v->s) != v->len)
            mismatch("string");
        break;
    case JSON_INTEGER: {
        char *t;
        long long ll;

        if (v->type != JV_NUMBER || !is_integer(v))
            mismatch("integer");
        t = number_text(v);
        errno = 0;
        ll = strtoll(t, NULL, 10);
        free(t);
        if (errno != 0 || ll != json_integer_value(j) ||
            cse__jv_number(v) != (double)json_integer_value(j))
            mismatch("integer value");
        break;
    }
    case JSON_REAL: {
        char *t, *end;
        double d;

        if (v->type != JV_NUMBER || is_integer(v))
            mismatch("real");
        t = number_text(v);
        d = strtod(t, &end);
        if (end != t + v->len || d != json_real_value(j) ||
            cse__jv_number(v) != json_real_value(j)) {
            free(t);
            mismatch("real value");
        }
        free(t);
        break;
    }
    case JSON_TRUE:
        if (v->type != JV_TRUE)
            mismatch("true");
        break;
    case JSON_FALSE:
        if (v->type != JV_FALSE)
            mismatch("false");
        break;
    case JSON_NULL:
        if (v->type != JV_NULL)
            mismatch("null");
        break;
    }
}

/* Whether s[pos] is a NUL byte right after a number or a literal, which
 * jansson drops: it ungets the byte that ends the token and then takes the
 * NUL in its look-ahead buffer for "nothing buffered". jsonv refuses it. */
static bool nul_jansson_drops(const char *s, size_t n, size_t pos)
{
    char c = pos > 0 && pos < n && s[pos] == '\0' ? s[pos - 1] : ' ';
    return (c >= '0' && c <= '9') || c == 'e' || c == 'l';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static jv_arena arena;
    json_error_t je;
    json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, &je);
    /* Exactly size bytes, so that a read past the end shows. */
    char *buf = malloc(size ? size : 1), *src = malloc(size ? size : 1);
    size_t n = size;
    jv_error e;
    jv *v;

    if (buf == NULL || src == NULL)
        abort();
    memcpy(src, data, size);
    for (;;) {
        memcpy(buf, src, n);
        v = cse__jv_parse(&arena, buf, n, 0, &e);
        /* The one known difference: take the NUL out and compare the rest. */
        if (v != NULL || j == NULL || !nul_jansson_drops(src, n, e.position))
            break;
        memmove(src + e.position, src + e.position + 1, n - e.position - 1);
        n--;
    }
    if ((j == NULL) != (v == NULL))
        mismatch(j ? "jsonv rejects what jansson accepts"
                   : "jsonv accepts what jansson rejects");
    if (v != NULL) {
        same(j, v);
    } else {
        if (e.status == JV_OK || e.text == NULL || e.line < 1 || e.column < 1 ||
            e.position > size)
            mismatch("error without status, text or position");
        /* A fixed text: not in the input, plain ASCII. */
        if (e.text >= buf && e.text < buf + size)
            mismatch("error text inside the input");
        for (const char *c = e.text; *c; c++)
            if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e)
                mismatch("error text not plain ASCII");
        if (json_error_code(&je) == json_error_stack_overflow && e.status != JV_EDEPTH)
            mismatch("jansson hit its depth limit, jsonv gives another error");
    }
    json_decref(j);
    free(src);
    free(buf);
    return 0;
}
