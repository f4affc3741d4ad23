/* SPDX-License-Identifier: MIT */
/* A small, strict JSON reader that parses in place (see jsonv.h).
 *
 * One pass, no recursion: a stack of open arrays and objects (bounded by the
 * depth limit) and an arena of values. Every read is bounds-checked against
 * len, so buf need not be NUL-terminated. Strings are unescaped where they
 * lie (an escape never grows), and the closing quote becomes their NUL.
 * Lines are counted as whitespace is skipped, because unescaping may write
 * newline bytes into the buffer. */
#include "config.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"

#define FIRST_CHUNK 1024
#define MAX_CHUNK (1u << 20)
#define JANSSON_MAX_DEPTH 2048 /* jansson's own limit, used when none is given */
#define PAIRWISE_KEYS 16       /* duplicate keys checked pairwise up to this many */

struct jv_chunk {
    struct jv_chunk *next;
    size_t cap;
    jv v[];
};

typedef struct open {
    jv *c;    /* the array or object */
    jv *last; /* its last member so far */
} open;

typedef struct parser {
    char *b;
    size_t len, pos;
    size_t line, line_start; /* the current line and where it starts */
    jv_arena *a;
    jv_error *e;
} parser;

void cse__jv_arena_reset(jv_arena *a)
{
    /* Keep the newest (largest) chunk. */
    struct jv_chunk *c = a->chunks ? a->chunks->next : NULL;
    while (c) {
        struct jv_chunk *n = c->next;
        free(c);
        c = n;
    }
    if (a->chunks)
        a->chunks->next = NULL;
    a->used = 0;
}

void cse__jv_arena_free(jv_arena *a)
{
    cse__jv_arena_reset(a);
    free(a->chunks);
    free(a->stack);
    memset(a, 0, sizeof(*a));
}

static jv *new_value(jv_arena *a)
{
    struct jv_chunk *c = a->chunks;
    jv *v;

    if (c == NULL || a->used == c->cap) {
        size_t cap = c ? (c->cap < MAX_CHUNK ? c->cap * 2 : MAX_CHUNK) : FIRST_CHUNK;
        struct jv_chunk *nc = malloc(sizeof(*nc) + cap * sizeof(jv));
        if (nc == NULL)
            return NULL;
        nc->cap = cap;
        nc->next = c;
        a->chunks = nc;
        a->used = 0;
        c = nc;
    }
    v = &c->v[a->used++];
    memset(v, 0, sizeof(*v));
    return v;
}

static jv *fail_at(parser *p, size_t pos, jv_status st, const char *text)
{
    p->e->status = st;
    p->e->position = pos;
    p->e->line = (int)p->line;
    p->e->column = (int)(pos >= p->line_start ? pos - p->line_start + 1 : 1);
    p->e->text = text;
    return NULL;
}

static const char T_CONTROL[] =
    "invalid JSON syntax: control character (0x00-0x1f must be escaped)";
static const char T_NUL[] = "NUL byte";
static const char T_UTF8[] = "invalid UTF-8";

/* Fails at p->pos: the end of input, or the byte there. */
static jv *fail_here(parser *p, const char *expected)
{
    unsigned char c;
    if (p->pos >= p->len) {
        for (size_t i = 0; i < p->len; i++)
            if (p->b[i] != ' ' && p->b[i] != '\t' && p->b[i] != '\n' && p->b[i] != '\r')
                return fail_at(p, p->pos, JV_ESYNTAX,
                               "empty or truncated JSON (premature end of input)");
        return fail_at(p, p->pos, JV_ESYNTAX, "empty input: no JSON value");
    }
    c = (unsigned char)p->b[p->pos];
    if (c == 0)
        return fail_at(p, p->pos, JV_ESYNTAX, T_NUL);
    if (c < 0x20)
        return fail_at(p, p->pos, JV_ESYNTAX, T_CONTROL);
    return fail_at(p, p->pos, JV_ESYNTAX, expected);
}

static void skip_ws_slow(parser *p)
{
    while (p->pos < p->len) {
        char c = p->b[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static inline void skip_ws(parser *p)
{
    if (p->pos < p->len && (unsigned char)p->b[p->pos] > ' ')
        return;
    skip_ws_slow(p);
}

/* Length of the valid UTF-8 sequence at s[0..n) that starts with a byte
 * >= 0x80, or 0: no overlong forms, no surrogates, nothing above U+10FFFF. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;

    if (c >= 0xC2 && c <= 0xDF)
        need = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else
        return 0;
    if (n < need || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < need; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return need;
}

static int hex4(const char *s)
{
    int v = 0;
    for (int i = 0; i < 4; i++) {
        char c = s[i];
        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= c - '0';
        else if (c >= 'a' && c <= 'f')
            v |= c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            v |= c - 'A' + 10;
        else
            return -1;
    }
    return v;
}

static size_t put_utf8(char *w, unsigned long cp)
{
    if (cp < 0x80) {
        w[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        w[0] = (char)(0xC0 | (cp >> 6));
        w[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        w[0] = (char)(0xE0 | (cp >> 12));
        w[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        w[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    w[0] = (char)(0xF0 | (cp >> 18));
    w[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    w[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    w[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string whose opening quote is at p->pos: unescaped in place and
 * NUL-terminated. */
static const char *parse_string(parser *p, size_t *out_len)
{
    char *b = p->b;
    size_t i = p->pos + 1, w = i, start = i, n = p->len;

    for (;;) {
        size_t run = i;
        i += jv_plain_run(b + i, n - i);
        if (w != run)
            memmove(b + w, b + run, i - run);
        w += i - run;
        if (i >= n) {
            p->pos = i;
            return (const char *)fail_here(p, "");
        }
        unsigned char c = (unsigned char)b[i];
        if (c == '"') {
            b[w] = '\0';
            *out_len = w - start;
            p->pos = i + 1;
            return b + start;
        }
        if (c < 0x20)
            return (const char *)fail_at(p, i, JV_ESYNTAX, c == 0 ? T_NUL : T_CONTROL);
        if (c >= 0x80) {
            size_t k = utf8_len((const unsigned char *)b + i, n - i);
            if (k == 0)
                return (const char *)fail_at(p, i, JV_ESYNTAX, T_UTF8);
            memmove(b + w, b + i, k);
            w += k;
            i += k;
            continue;
        }
        /* A backslash. */
        if (i + 1 >= n) {
            p->pos = n;
            return (const char *)fail_here(p, "");
        }
        switch (b[i + 1]) {
        case '"': b[w++] = '"'; break;
        case '\\': b[w++] = '\\'; break;
        case '/': b[w++] = '/'; break;
        case 'b': b[w++] = '\b'; break;
        case 'f': b[w++] = '\f'; break;
        case 'n': b[w++] = '\n'; break;
        case 'r': b[w++] = '\r'; break;
        case 't': b[w++] = '\t'; break;
        case 'u': {
            long cp, lo;
            if (n - i < 6 || (cp = hex4(b + i + 2)) < 0)
                return (const char *)fail_at(p, i, JV_ESYNTAX,
                                             "invalid JSON syntax: invalid \\u escape");
            if (cp >= 0xDC00 && cp <= 0xDFFF)
                return (const char *)fail_at(
                    p, i, JV_ESYNTAX, "invalid JSON syntax: lone UTF-16 surrogate");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                if (n - i < 12 || b[i + 6] != '\\' || b[i + 7] != 'u' ||
                    (lo = hex4(b + i + 8)) < 0xDC00 || lo > 0xDFFF)
                    return (const char *)fail_at(
                        p, i, JV_ESYNTAX, "invalid JSON syntax: lone UTF-16 surrogate");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                i += 6;
            }
            if (cp == 0)
                return (const char *)fail_at(p, i, JV_ESYNTAX, T_NUL);
            w += put_utf8(b + w, (unsigned long)cp);
            i += 6;
            continue;
        }
        default:
            return (const char *)fail_at(p, i, JV_ESYNTAX,
                                         "invalid JSON syntax: invalid escape");
        }
        i += 2;
    }
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The "C" numeric locale, made once: JSON numbers have a '.' whatever the
 * locale a host program has set. Kept for the life of the process. */
static locale_t c_numeric(void)
{
    static locale_t cached;
    locale_t l = __atomic_load_n(&cached, __ATOMIC_ACQUIRE), made;

    if (l != (locale_t)0)
        return l;
    if ((made = newlocale(LC_NUMERIC_MASK, "C", (locale_t)0)) == (locale_t)0)
        return (locale_t)0;
    if (__atomic_compare_exchange_n(&cached, &l, made, false, __ATOMIC_ACQ_REL,
                                    __ATOMIC_ACQUIRE))
        return made;
    freelocale(made); /* another thread made it first */
    return l;
}

/* strtod or strtoll over s[0..len) without a NUL there. */
static bool number_in_range(const char *s, size_t len, bool real, double *value)
{
    char small[64], *t = small;
    bool ok = true;

    if (len >= sizeof(small) && (t = malloc(len + 1)) == NULL)
        return false;
    memcpy(t, s, len);
    t[len] = '\0';
    if (real) {
        locale_t c = c_numeric();
        double d;
        errno = 0;
        d = c ? strtod_l(t, NULL, c) : strtod(t, NULL);
        ok = !(errno == ERANGE && isinf(d));
        if (value)
            *value = d;
    } else {
        long long ll;
        errno = 0;
        ll = strtoll(t, NULL, 10);
        ok = errno != ERANGE;
        if (value)
            *value = (double)ll;
    }
    if (t != small)
        free(t);
    return ok;
}

static bool parse_number(parser *p, jv *v)
{
    const char *b = p->b;
    size_t i = p->pos, n = p->len;
    bool real = false;

    if (i < n && b[i] == '-')
        i++;
    if (i < n && b[i] == '0')
        i++;
    else if (i < n && b[i] >= '1' && b[i] <= '9')
        while (i < n && is_digit(b[i]))
            i++;
    else
        goto bad;
    if (i < n && b[i] == '.') {
        real = true;
        if (++i >= n || !is_digit(b[i]))
            goto bad;
        while (i < n && is_digit(b[i]))
            i++;
    }
    if (i < n && (b[i] == 'e' || b[i] == 'E')) {
        real = true;
        if (++i < n && (b[i] == '+' || b[i] == '-'))
            i++;
        if (i >= n || !is_digit(b[i]))
            goto bad;
        while (i < n && is_digit(b[i]))
            i++;
    }
    v->type = JV_NUMBER;
    v->s = b + p->pos;
    v->len = i - p->pos;
    if (!number_in_range(v->s, v->len, real, NULL)) {
        fail_at(p, p->pos, JV_ESYNTAX, "number out of range");
        return false;
    }
    p->pos = i;
    return true;
bad:
    p->pos = i;
    fail_here(p, "invalid JSON syntax: not a number");
    return false;
}

double cse__jv_number(const jv *v)
{
    double d = 0;
    if (v && v->type == JV_NUMBER)
        number_in_range(v->s, v->len,
                        memchr(v->s, '.', v->len) || memchr(v->s, 'e', v->len) ||
                            memchr(v->s, 'E', v->len),
                        &d);
    return d;
}

static bool literal(parser *p, const char *word, size_t n)
{
    if (p->len - p->pos >= n && memcmp(p->b + p->pos, word, n) == 0) {
        p->pos += n;
        return true;
    }
    fail_here(p, "invalid JSON syntax: expected a value");
    return false;
}

static int cmp_keys(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* An object with many members is checked for duplicate keys when it closes
 * (sorted), so that hostile input cannot make the check quadratic. */
static bool many_keys_unique(parser *p, const jv *o, size_t at)
{
    const char **keys = malloc(o->n * sizeof(*keys));
    size_t k = 0;
    bool ok = true;

    if (keys == NULL) {
        fail_at(p, at, JV_ENOMEM, "out of memory");
        return false;
    }
    for (const jv *m = o->child; m; m = m->next)
        keys[k++] = m->key;
    qsort(keys, k, sizeof(*keys), cmp_keys);
    for (size_t i = 1; i < k && ok; i++)
        ok = strcmp(keys[i - 1], keys[i]) != 0;
    free(keys);
    if (!ok)
        fail_at(p, at, JV_ESYNTAX, "duplicate object key");
    return ok;
}

static bool push(parser *p, size_t *depth, size_t max_depth, jv *c)
{
    jv_arena *a = p->a;
    if (*depth >= max_depth) {
        fail_at(p, p->pos, JV_EDEPTH, "nested too deep");
        return false;
    }
    if (*depth == a->stack_cap) {
        size_t nc = a->stack_cap ? a->stack_cap * 2 : 32;
        open *ns = realloc(a->stack, nc * sizeof(*ns));
        if (ns == NULL) {
            fail_at(p, p->pos, JV_ENOMEM, "out of memory");
            return false;
        }
        a->stack = ns;
        a->stack_cap = nc;
    }
    ((open *)a->stack)[(*depth)++] = (open){c, NULL};
    return true;
}

jv *cse__jv_parse(jv_arena *a, char *buf, size_t len, size_t max_depth, jv_error *e)
{
    jv_error spare;
    parser p = {buf, len, 0, 1, 0, a, e ? e : &spare};
    size_t depth = 0;
    const char *key = NULL;
    size_t klen = 0;
    jv *root = NULL, *v;
    open *top;

    cse__jv_arena_reset(a);
    memset(p.e, 0, sizeof(*p.e));
    if (max_depth == 0 || max_depth > JANSSON_MAX_DEPTH)
        max_depth = JANSSON_MAX_DEPTH;
    if (len >= 2 && ((buf[0] == '\xff' && buf[1] == '\xfe') ||
                     (buf[0] == '\xfe' && buf[1] == '\xff')))
        return fail_at(&p, 0, JV_ESYNTAX,
                       "UTF-16 is not supported: FHIR JSON must be UTF-8");
    if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0)
        return fail_at(
            &p, 0, JV_ESYNTAX,
            "a byte order mark (BOM) is not allowed: JSON must be UTF-8 without one");
    skip_ws(&p);
    /* As json_loadb without JSON_DECODE_ANY: only an array or an object. */
    if (p.pos < len && buf[p.pos] != '[' && buf[p.pos] != '{')
        return fail_here(&p, "invalid JSON syntax: expected '[' or '{'");

value:
    if ((v = new_value(a)) == NULL)
        return fail_at(&p, p.pos, JV_ENOMEM, "out of memory");
    v->key = key;
    v->klen = klen;
    key = NULL;
    if (depth == 0) {
        root = v;
    } else {
        top = (open *)a->stack + depth - 1;
        if (top->last)
            top->last->next = v;
        else
            top->c->child = v;
        top->last = v;
        top->c->n++;
        if (top->c->type == JV_OBJECT && top->c->n <= PAIRWISE_KEYS)
            for (const jv *m = top->c->child; m != v; m = m->next)
                if (m->klen == klen && memcmp(m->key, v->key, klen) == 0)
                    return fail_at(&p, p.pos, JV_ESYNTAX, "duplicate object key");
    }
    if (p.pos >= len)
        return fail_here(&p, "");
    /* jansson counts every value, scalars too, against its own limit. */
    if (depth >= JANSSON_MAX_DEPTH)
        return fail_at(&p, p.pos, JV_EDEPTH, "nested too deep");
    switch (buf[p.pos]) {
    case '{':
        v->type = JV_OBJECT;
        if (!push(&p, &depth, max_depth, v))
            return NULL;
        p.pos++;
        skip_ws(&p);
        if (p.pos < len && buf[p.pos] == '}') {
            p.pos++;
            depth--;
            goto after;
        }
        goto member;
    case '[':
        v->type = JV_ARRAY;
        if (!push(&p, &depth, max_depth, v))
            return NULL;
        p.pos++;
        skip_ws(&p);
        if (p.pos < len && buf[p.pos] == ']') {
            p.pos++;
            depth--;
            goto after;
        }
        goto value;
    case '"':
        v->type = JV_STRING;
        if ((v->s = parse_string(&p, &v->len)) == NULL)
            return NULL;
        goto after;
    case 't':
        v->type = JV_TRUE;
        if (!literal(&p, "true", 4))
            return NULL;
        goto after;
    case 'f':
        v->type = JV_FALSE;
        if (!literal(&p, "false", 5))
            return NULL;
        goto after;
    case 'n':
        v->type = JV_NULL;
        if (!literal(&p, "null", 4))
            return NULL;
        goto after;
    default:
        if (buf[p.pos] == '-' || is_digit(buf[p.pos])) {
            if (!parse_number(&p, v))
                return NULL;
            goto after;
        }
        return fail_here(&p, "invalid JSON syntax: expected a value");
    }

member:
    /* At an object member's key. */
    if (p.pos >= len || buf[p.pos] != '"')
        return fail_here(&p, "invalid JSON syntax: expected a quoted key");
    if ((key = parse_string(&p, &klen)) == NULL)
        return NULL;
    skip_ws(&p);
    if (p.pos >= len || buf[p.pos] != ':')
        return fail_here(&p, "invalid JSON syntax: expected ':'");
    p.pos++;
    skip_ws(&p);
    goto value;

after:
    /* After a value: the end, or a separator or closer of the open one. */
    skip_ws(&p);
    if (depth == 0) {
        if (p.pos < len)
            return fail_here(&p, "extra data after the JSON value");
        return root;
    }
    top = (open *)a->stack + depth - 1;
    if (p.pos >= len)
        return fail_here(&p, "");
    if (buf[p.pos] == ',') {
        p.pos++;
        skip_ws(&p);
        if (top->c->type == JV_OBJECT)
            goto member;
        goto value;
    }
    if (buf[p.pos] == (top->c->type == JV_OBJECT ? '}' : ']')) {
        if (top->c->type == JV_OBJECT && top->c->n > PAIRWISE_KEYS &&
            !many_keys_unique(&p, top->c, p.pos))
            return NULL;
        p.pos++;
        depth--;
        goto after;
    }
    return fail_here(&p, top->c->type == JV_OBJECT
                             ? "invalid JSON syntax: expected ',' or '}'"
                             : "invalid JSON syntax: expected ',' or ']'");
}
