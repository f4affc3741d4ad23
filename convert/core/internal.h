/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the library's source files. Not installed. */
#ifndef CSE_INTERNAL_H
#define CSE_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>

#include <csemarker/csemarker.h>

/* Records an error if err is non-NULL and has none yet (first error wins).
 * Returns code so callers can `return cse__error_set(...)`. */
cse_code cse__error_set(cse_error *err, cse_code code, int line, const char *source,
                        const char *path, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

/* strdup that accepts NULL. */
char *cse__strdup(const char *s);

/* A growable array of pointers with a hard cap. */
typedef struct cse__ptrvec {
    void **items;
    size_t n, cap;
} cse__ptrvec;
cse_code cse__ptrvec_push(cse__ptrvec *v, void *p);

/* An entry block kept for reuse by a reader that makes one entry per
 * statement: cse__entry_take returns *spare (empty, as cse_entry_new makes
 * it) or a new entry, NULL when out of memory; cse__entry_recycle frees what
 * e holds and keeps its block in *spare (or frees it when *spare is taken).
 * cse_entry_free(*spare) frees the block for good. */
cse_entry *cse__entry_take(cse_entry **spare, cse_entry_kind kind);
void cse__entry_recycle(cse_entry **spare, cse_entry *e);

/* Case-insensitive ASCII substring search. */
const char *cse__strcasestr(const char *hay, const char *needle);

/* Safe English for a jansson parse error (convert/json_error.c): the reason
 * from json_error_code() and the byte at e->position in buf (len bytes; buf
 * may be NULL), never jansson's text, which can quote the input. A UTF-16 or
 * UTF-8 byte order mark at the start of buf is named whatever the code. Static
 * text; e may be NULL. */
struct json_error_t;
const char *cse__json_error_text(const struct json_error_t *e, const char *buf,
                                 size_t len);

/* True when unit is UCUM syntax over the atoms clinical systems use
 * (convert/core/ucum.c). */
#include <stdbool.h>
bool cse__ucum_valid(const char *unit);

#endif
