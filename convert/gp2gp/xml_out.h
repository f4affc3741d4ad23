/* SPDX-License-Identifier: MIT */
/* A buffered XML serialiser over a FILE *, shared by the GP2GP writer and the
 * repair pass. Not installed.
 *
 * Two layers. The byte layer (cse__xo_put*, cse__xo_escape*) appends to a
 * fixed buffer that is written with fwrite when full; the repair pass copies
 * SAX2 events through it and keeps its own element state. The element layer
 * (cse__xo_start, _attr, _text, _end ...) writes, byte for byte, what
 * libxml2's xmlTextWriter wrote for the same calls, with or without
 * xmlTextWriterSetIndent(1) and the indent string "  ": the GP2GP writer used
 * xmlTextWriter, and extracts written before and after must compare equal.
 * Two differences, in calls the writers never make: before
 * cse__xo_start_document, xmlTextWriter wrote non-ASCII bytes in attribute
 * values as character references (this copies them), and it wrote text
 * outside any element (this refuses it). tests/check_xml_out.c compares the
 * two.
 *
 * Escaping is xmlTextWriter's: text escapes & < > " and CR; attribute values
 * also LF and TAB. Everything else, UTF-8 included, is copied as it is.
 *
 * Errors: a failed fwrite (or out of memory in the element stack) sets
 * `failed`; the output written from then on is dropped, and every element-layer
 * call returns -1, as xmlTextWriter calls did. No call prints or aborts. */
#ifndef CSE_XML_OUT_H
#define CSE_XML_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <csemarker/common.h>

/* Bytes buffered before a write. */
#define CSE__XO_SIZE 65536

/* What cse__xo_escape() escapes. */
#define CSE__XO_TEXT 1u /* & < > " CR */
#define CSE__XO_ATTR 2u /* & < > " CR LF TAB */

/* One open element of the element layer. */
typedef struct cse__xo_elem {
    const char *name; /* lent by the caller of cse__xo_start() */
    size_t len;
} cse__xo_elem;

typedef struct cse__xo {
    FILE *fp;
    char *buf; /* CSE__XO_SIZE bytes */
    size_t len;
    bool failed;
    /* The element layer. */
    bool indent;   /* one element per line, two spaces a level */
    bool tag_open; /* the innermost start tag still takes attributes */
    bool doindent; /* an end tag goes on its own line (no text before it) */
    cse__xo_elem *stack;
    size_t depth, cap;
} cse__xo;

/* Sets up o to write to fp (not owned), with indentation when indent is set.
 * CSE_OK, or CSE_ERR_NOMEM with o left safe to pass to cse__xo_free(). */
cse_code cse__xo_init(cse__xo *o, FILE *fp, bool indent);
/* Frees what cse__xo_init() allocated, without writing; not fp. */
void cse__xo_free(cse__xo *o);
/* Writes the buffered bytes with fwrite (no fflush). 0, or -1 when a write
 * has failed. */
int cse__xo_flush(cse__xo *o);

/* ---- The byte layer ------------------------------------------------------ */

/* Appends len bytes when they do not fit: see cse__xo_put(). */
void cse__xo_put_slow(cse__xo *o, const void *s, size_t len);

static inline void cse__xo_put(cse__xo *o, const void *s, size_t len)
{
    if (len <= CSE__XO_SIZE - o->len) {
        memcpy(o->buf + o->len, s, len);
        o->len += len;
    } else {
        cse__xo_put_slow(o, s, len);
    }
}

static inline void cse__xo_putc(cse__xo *o, char c)
{
    if (o->len == CSE__XO_SIZE)
        cse__xo_flush(o);
    o->buf[o->len++] = c;
}

static inline void cse__xo_puts(cse__xo *o, const char *s)
{
    cse__xo_put(o, s, strlen(s));
}

/* Appends s[0..len) escaped for text (CSE__XO_TEXT) or for an attribute value
 * in double quotes (CSE__XO_ATTR). */
void cse__xo_escape(cse__xo *o, const char *s, size_t len, unsigned what);
/* The same for a NUL-terminated s. */
void cse__xo_escape_str(cse__xo *o, const char *s, unsigned what);
/* Appends ` name="value"`, value escaped; nothing else is checked. */
void cse__xo_put_attr(cse__xo *o, const char *name, const char *value);

/* ---- The element layer (xmlTextWriter's output) ------------------------- */

/* Each returns 0, or -1 when the output has failed or the call is out of
 * place (an attribute after content, an end with nothing open, NULL text). */

/* <?xml version="1.0" encoding="UTF-8"?> and a newline. */
int cse__xo_start_document(cse__xo *o);
/* Opens element name. Ownership: name is lent and must stay valid until the
 * element ends (the writers pass string literals). */
int cse__xo_start(cse__xo *o, const char *name);
/* An attribute of the element just started; value is escaped. */
int cse__xo_attr(cse__xo *o, const char *name, const char *value);
/* Text in the current element, escaped; "" still ends the start tag, so the
 * element is written <x></x>. */
int cse__xo_text(cse__xo *o, const char *text);
/* Ends the current element: <x/> when it has no content. */
int cse__xo_end(cse__xo *o);
/* start, text (when text is not NULL), end. */
int cse__xo_text_element(cse__xo *o, const char *name, const char *text);
/* Ends every open element and flushes. */
int cse__xo_end_document(cse__xo *o);

#endif
