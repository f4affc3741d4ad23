/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "memstream.h"

struct ms {
    char **bufp;
    size_t *lenp;
    size_t cap;
};

static ssize_t ms_write(void *cookie, const char *data, size_t n)
{
    struct ms *m = cookie;
    size_t len = *m->lenp;

    if (n > (size_t)SSIZE_MAX - len - 1) {
        errno = ENOMEM;
        return -1;
    }
    if (len + n + 1 > m->cap) {
        size_t cap = m->cap ? m->cap : 64;
        char *b;
        while (cap < len + n + 1)
            cap = cap > (size_t)SSIZE_MAX / 2 ? len + n + 1 : cap * 2;
        if ((b = realloc(*m->bufp, cap)) == NULL) {
            errno = ENOMEM;
            return -1;
        }
        *m->bufp = b;
        m->cap = cap;
    }
    memcpy(*m->bufp + len, data, n);
    len += n;
    (*m->bufp)[len] = '\0';
    *m->lenp = len;
    return (ssize_t)n;
}

/* ftell, and fseek back to truncate what was written after a point (the
 * reader's use): the text ends at the new position, as open_memstream's
 * length does; a position past the end is filled with zeros. */
static int ms_seek(void *cookie, off64_t *off, int whence)
{
    struct ms *m = cookie;
    off64_t base = whence == SEEK_SET ? 0 : (off64_t)*m->lenp;
    size_t to;

    if ((whence != SEEK_SET && whence != SEEK_CUR && whence != SEEK_END) ||
        *off < -base || *off > (off64_t)SSIZE_MAX - base - 1) {
        errno = EINVAL;
        return -1;
    }
    to = (size_t)(base + *off);
    if (to > *m->lenp) {
        size_t n = to - *m->lenp;
        char *zeros = calloc(1, n);
        ssize_t w = zeros ? ms_write(m, zeros, n) : -1;
        free(zeros);
        if (w < 0) {
            errno = ENOMEM;
            return -1;
        }
    }
    *m->lenp = to;
    (*m->bufp)[to] = '\0';
    *off = (off64_t)to;
    return 0;
}

static int ms_close(void *cookie)
{
    free(cookie);
    return 0;
}

FILE *cse__memstream(char **bufp, size_t *lenp)
{
    struct ms *m;
    FILE *f;
    cookie_io_functions_t io = {
        .read = NULL, .write = ms_write, .seek = ms_seek, .close = ms_close};

    if (bufp == NULL || lenp == NULL || (m = malloc(sizeof *m)) == NULL)
        return NULL;
    /* As open_memstream: an empty text, even if nothing is written. */
    if ((*bufp = malloc(64)) == NULL) {
        free(m);
        return NULL;
    }
    **bufp = '\0';
    *lenp = 0;
    m->bufp = bufp;
    m->lenp = lenp;
    m->cap = 64;
    if ((f = fopencookie(m, "w", io)) == NULL) {
        free(*bufp);
        *bufp = NULL;
        free(m);
        return NULL;
    }
    return f;
}
