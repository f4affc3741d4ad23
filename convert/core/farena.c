/* SPDX-License-Identifier: MIT */
/* A spill arena (see farena.h). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "farena.h"

/* The size of each piece of the temporary file mapped at once. */
#define CHUNK (32u << 20)
/* Past this much allocated since the last look, the resident set is looked at. */
#define LOOK_BYTES (1u << 20)
/* A large block is copied this much at a time. */
#define SLICE (1u << 20)

typedef struct chunk {
    char *base;
    size_t size, used;
    bool file; /* a piece of the temporary file (else the ordinary core) */
} chunk;

struct cse__farena {
    chunk *chunks;
    size_t n, cap;
    int fd;          /* the temporary file, -1 until needed */
    long long fsize; /* its size */
    int statm;       /* /proc/self/statm, -1 when unreadable */
    size_t page;     /* the page size */
    size_t limit;    /* the resident set past which pages are let go */
    size_t since;    /* bytes allocated since the last look */
    unsigned ticks;
    size_t total;   /* bytes allocated */
    size_t in_file; /* of them, in the temporary file */
    bool full;
    int file_errno; /* why the temporary file could not be made or grown */
};

cse__farena *cse__farena_new(void)
{
    cse__farena *a = calloc(1, sizeof(*a));
    long pg = sysconf(_SC_PAGESIZE);

    if (a == NULL)
        return NULL;
    a->fd = -1;
    a->statm = -1;
    a->page = pg > 0 ? (size_t)pg : 4096;
    a->limit = CSE__FARENA_BUDGET;
    return a;
}

void cse__farena_free(cse__farena *a)
{
    if (a == NULL)
        return;
    for (size_t i = 0; i < a->n; i++)
        munmap(a->chunks[i].base, a->chunks[i].size);
    free(a->chunks);
    if (a->fd >= 0)
        close(a->fd);
    if (a->statm >= 0)
        close(a->statm);
    free(a);
}

/* The process's resident set in bytes, or 0 when it cannot be read; *anon
 * gets the part of it that is not mapped from files. */
static size_t resident(cse__farena *a, size_t *anon)
{
    char buf[128];
    ssize_t n;
    unsigned long long size, rss, shared;

    if (a->statm == -1 && (a->statm = open("/proc/self/statm", O_RDONLY | O_CLOEXEC)) < 0)
        a->statm = -2;
    if (a->statm < 0 || (n = pread(a->statm, buf, sizeof(buf) - 1, 0)) <= 0)
        return 0;
    buf[n] = '\0';
    if (sscanf(buf, "%llu %llu %llu", &size, &rss, &shared) != 3)
        return 0;
    *anon = rss > shared ? (size_t)(rss - shared) * a->page : 0;
    return (size_t)rss * a->page;
}

/* Lets the file's pages go: they stay in the file (and the page cache). */
static void drop(cse__farena *a)
{
    for (size_t i = 0; i < a->n; i++)
        if (a->chunks[i].file && a->chunks[i].used)
            madvise(a->chunks[i].base,
                    (a->chunks[i].used + a->page - 1) / a->page * a->page, MADV_DONTNEED);
}

/* Looks at the resident set; past the limit, lets the file's pages go. */
static void look(cse__farena *a)
{
    size_t rss, anon = 0;

    a->since = 0;
    if (a->in_file == 0)
        return;
    rss = resident(a, &anon);
    if (rss == 0) {
        /* No /proc: let go every time instead of when it is needed. */
        drop(a);
        return;
    }
    if (rss <= a->limit)
        return;
    drop(a);
    /* The process's ordinary memory (a large entry being parsed) is not
     * ours to let go: when it alone nears the limit, the limit moves above
     * it rather than every look letting go of everything. Pages mapped
     * from files (another arena's, the libraries') do not move it. */
    if (anon + (8u << 20) > a->limit)
        a->limit = anon + (8u << 20);
}

void cse__farena_tick(cse__farena *a)
{
    if (a && (++a->ticks & 63) == 0)
        look(a);
}

bool cse__farena_full(const cse__farena *a)
{
    return a && a->full;
}

int cse__farena_file_errno(const cse__farena *a)
{
    return a ? a->file_errno : 0;
}

size_t cse__farena_used(const cse__farena *a)
{
    return a ? a->total : 0;
}

size_t cse__farena_spilled(const cse__farena *a)
{
    return a ? a->in_file : 0;
}

static int tmpfd(void)
{
    const char *dir = getenv("TMPDIR");
    char name[4096];
    int fd, n;

    n = snprintf(name, sizeof(name), "%s/cse-index.XXXXXX", dir && *dir ? dir : "/tmp");
    if (n < 0 || (size_t)n >= sizeof(name)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    if ((fd = mkstemp(name)) < 0)
        return -1;
    unlink(name);
    return fd;
}

/* Adds a chunk of at least n bytes. */
static chunk *grow(cse__farena *a, size_t n)
{
    chunk c = {0};
    void *p;

    if (a->n == a->cap) {
        size_t nc = a->cap ? a->cap * 2 : 16;
        chunk *nb = realloc(a->chunks, nc * sizeof(*nb));
        if (nb == NULL)
            return NULL;
        a->chunks = nb;
        a->cap = nc;
    }
    if (a->n == 0 && n <= CSE__FARENA_CORE) {
        c.size = CSE__FARENA_CORE;
        p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
                 0);
    } else {
        c.size = n > CHUNK ? (n + a->page - 1) / a->page * a->page : CHUNK;
        c.file = true;
        if ((unsigned long long)a->fsize + c.size > CSE__FARENA_MAX) {
            a->full = true;
            errno = EFBIG;
            return NULL;
        }
        if ((a->fd < 0 && (a->fd = tmpfd()) < 0) ||
            ftruncate(a->fd, (off_t)(a->fsize + (long long)c.size)) != 0) {
            a->file_errno = errno;
            return NULL;
        }
        p = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, a->fd,
                 (off_t)a->fsize);
        if (p != MAP_FAILED)
            a->fsize += (long long)c.size;
    }
    if (p == MAP_FAILED)
        return NULL;
    c.base = p;
    a->chunks[a->n] = c;
    return &a->chunks[a->n++];
}

void *cse__farena_alloc(cse__farena *a, size_t n)
{
    chunk *c = a->n ? &a->chunks[a->n - 1] : NULL;
    void *p;

    if (n > CSE__FARENA_MAX)
        return NULL;
    n = (n + 15) & ~(size_t)15;
    if (n == 0)
        n = 16;
    if (c == NULL || c->size - c->used < n) {
        if ((c = grow(a, n)) == NULL)
            return NULL;
    }
    p = c->base + c->used;
    c->used += n;
    a->total += n;
    if (c->file)
        a->in_file += n;
    if ((a->since += n) >= LOOK_BYTES)
        look(a);
    return p;
}

char *cse__farena_strdup(cse__farena *a, const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = cse__farena_alloc(a, n);
    if (p)
        memcpy(p, s, n);
    return p;
}

void *cse__farena_realloc(cse__farena *a, void *p, size_t old, size_t n)
{
    char *q = cse__farena_alloc(a, n);
    size_t keep = old < n ? old : n;

    if (q == NULL || p == NULL)
        return q;
    for (size_t at = 0; at < keep; at += SLICE) {
        memcpy(q + at, (char *)p + at, keep - at < SLICE ? keep - at : SLICE);
        if (keep > SLICE)
            look(a);
    }
    return q;
}
