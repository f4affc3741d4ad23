/* SPDX-License-Identifier: MIT */
/* A buffered XML serialiser over a FILE *: see xml_out.h. */
#include "config.h"

#include <stdlib.h>

#include "xml_out.h"

/* Bit 4 marks the NUL that ends a string for cse__xo_escape_str(). */
#define STOP 4u

static const unsigned char escapes[256] = {
    ['<'] = 3,  ['>'] = 3,  ['&'] = 3,  ['"'] = 3,
    ['\r'] = 3, ['\n'] = 2, ['\t'] = 2, ['\0'] = STOP,
};

/* What each escaped byte becomes, and its length. */
static const struct rep {
    const char *s;
    size_t len;
} reps[256] = {
    ['<'] = {"&lt;", 4},   ['>'] = {"&gt;", 4},   ['&'] = {"&amp;", 5},
    ['"'] = {"&quot;", 6}, ['\r'] = {"&#13;", 5}, ['\n'] = {"&#10;", 5},
    ['\t'] = {"&#9;", 4},
};

/* Indentation, written a slice at a time. */
static const char spaces[] = "                                                        "
                             "        ";

cse_code cse__xo_init(cse__xo *o, FILE *fp, bool indent)
{
    memset(o, 0, sizeof(*o));
    o->fp = fp;
    o->indent = indent;
    o->doindent = true; /* as xmlTextWriterSetIndent() leaves it */
    if ((o->buf = malloc(CSE__XO_SIZE)) == NULL)
        return CSE_ERR_NOMEM;
    return CSE_OK;
}

void cse__xo_free(cse__xo *o)
{
    if (o == NULL)
        return;
    free(o->buf);
    free(o->stack);
    o->buf = NULL;
    o->stack = NULL;
    o->len = o->depth = o->cap = 0;
}

int cse__xo_flush(cse__xo *o)
{
    if (o->len && !o->failed && fwrite(o->buf, 1, o->len, o->fp) != o->len)
        o->failed = true;
    o->len = 0;
    return o->failed ? -1 : 0;
}

void cse__xo_put_slow(cse__xo *o, const void *s, size_t len)
{
    cse__xo_flush(o);
    if (len >= CSE__XO_SIZE) {
        if (!o->failed && fwrite(s, 1, len, o->fp) != len)
            o->failed = true;
        return;
    }
    memcpy(o->buf, s, len);
    o->len = len;
}

void cse__xo_escape(cse__xo *o, const char *s, size_t len, unsigned what)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;

    for (; p < end; p++) {
        unsigned char c = *p;
        if (!(escapes[c] & what))
            continue;
        cse__xo_put(o, run, (size_t)(p - run));
        cse__xo_put(o, reps[c].s, reps[c].len);
        run = p + 1;
    }
    cse__xo_put(o, run, (size_t)(end - run));
}

void cse__xo_escape_str(cse__xo *o, const char *s, unsigned what)
{
    const unsigned char *p = (const unsigned char *)s, *run = p;

    what |= STOP;
    for (;; p++) {
        unsigned char c = *p;
        if (!(escapes[c] & what))
            continue;
        cse__xo_put(o, run, (size_t)(p - run));
        if (c == '\0')
            return;
        cse__xo_put(o, reps[c].s, reps[c].len);
        run = p + 1;
    }
}

void cse__xo_put_attr(cse__xo *o, const char *name, const char *value)
{
    cse__xo_putc(o, ' ');
    cse__xo_puts(o, name);
    cse__xo_put(o, "=\"", 2);
    cse__xo_escape_str(o, value, CSE__XO_ATTR);
    cse__xo_putc(o, '"');
}

/* ---- The element layer ----------------------------------------------------
 *
 * xmlTextWriter with indentation on: a start tag goes on a new line indented
 * two spaces per open ancestor; a start tag that gains a child element is
 * closed with ">" and a newline; text follows ">" directly and is not
 * indented; an end tag is indented unless text came just before it; every
 * end tag and every "/>" is followed by a newline, which also ends the
 * document. Without indentation none of that white space is written, and the
 * document ends with one newline. */

static void put_indent(cse__xo *o, size_t level)
{
    size_t n = 2 * level;

    while (n > 0) {
        size_t k = n < sizeof(spaces) - 1 ? n : sizeof(spaces) - 1;
        cse__xo_put(o, spaces, k);
        n -= k;
    }
}

static int status(const cse__xo *o)
{
    return o->failed ? -1 : 0;
}

int cse__xo_start_document(cse__xo *o)
{
    static const char decl[] = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    if (o->failed || o->depth > 0)
        return -1;
    cse__xo_put(o, decl, sizeof(decl) - 1);
    return status(o);
}

int cse__xo_start(cse__xo *o, const char *name)
{
    cse__xo_elem *e;

    if (o->failed || name == NULL || *name == '\0')
        return -1;
    if (o->depth == o->cap) {
        size_t cap = o->cap ? 2 * o->cap : 32;
        cse__xo_elem *s = realloc(o->stack, cap * sizeof(*s));
        if (s == NULL)
            return -1;
        o->stack = s;
        o->cap = cap;
    }
    if (o->tag_open) {
        cse__xo_put(o, ">\n", o->indent ? 2 : 1);
        o->tag_open = false;
    }
    e = &o->stack[o->depth++];
    e->name = name;
    e->len = strlen(name);
    if (o->indent)
        put_indent(o, o->depth - 1);
    cse__xo_putc(o, '<');
    cse__xo_put(o, e->name, e->len);
    o->tag_open = true;
    return status(o);
}

int cse__xo_attr(cse__xo *o, const char *name, const char *value)
{
    if (o->failed || !o->tag_open || name == NULL || *name == '\0' || value == NULL)
        return -1;
    cse__xo_put_attr(o, name, value);
    return status(o);
}

int cse__xo_text(cse__xo *o, const char *text)
{
    if (o->failed || o->depth == 0 || text == NULL)
        return -1;
    if (o->tag_open) {
        cse__xo_putc(o, '>');
        o->tag_open = false;
    }
    cse__xo_escape_str(o, text, CSE__XO_TEXT);
    o->doindent = false;
    return status(o);
}

int cse__xo_end(cse__xo *o)
{
    const cse__xo_elem *e;

    if (o->failed || o->depth == 0)
        return -1;
    e = &o->stack[--o->depth];
    if (o->tag_open) {
        cse__xo_put(o, "/>", 2);
        o->tag_open = false;
    } else {
        if (o->indent && o->doindent)
            put_indent(o, o->depth);
        cse__xo_put(o, "</", 2);
        cse__xo_put(o, e->name, e->len);
        cse__xo_putc(o, '>');
    }
    o->doindent = true;
    if (o->indent)
        cse__xo_putc(o, '\n');
    return status(o);
}

int cse__xo_text_element(cse__xo *o, const char *name, const char *text)
{
    if (cse__xo_start(o, name) < 0 || (text != NULL && cse__xo_text(o, text) < 0))
        return -1;
    return cse__xo_end(o);
}

int cse__xo_end_document(cse__xo *o)
{
    while (o->depth > 0)
        if (cse__xo_end(o) < 0)
            return -1;
    if (!o->indent)
        cse__xo_putc(o, '\n');
    return cse__xo_flush(o);
}
