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

/* Case-insensitive ASCII substring search. */
const char *cse__strcasestr(const char *hay, const char *needle);

#endif
