/* SPDX-License-Identifier: MIT */
/* A spill arena: memory for an index that grows with a record (one row and
 * a few strings per resource), kept in an unlinked temporary file mapped
 * into memory once it passes a few megabytes, so that the process's
 * resident memory does not grow with the record. The first CSE__FARENA_CORE
 * bytes are ordinary memory (a small record never touches the disk); past
 * that, chunks of a temporary file in $TMPDIR (or /tmp) are mapped shared,
 * and when the process's resident set passes the arena's budget the mapped
 * pages are let go (madvise MADV_DONTNEED: the data stays in the file and
 * the page cache, and comes back on the next touch). This is what a
 * memory-mapped database does; the kernel keeps what is used most.
 *
 * Allocations are never freed one by one: everything goes with the arena.
 * Memory comes zeroed. Not installed. */
#ifndef CSE_FARENA_H
#define CSE_FARENA_H

#include <stdbool.h>
#include <stddef.h>

/* Ordinary memory before the arena spills to its temporary file. */
#define CSE__FARENA_CORE (4u << 20)
/* The resident set past which the arena's file pages are let go. */
#define CSE__FARENA_BUDGET (40u << 20)
/* The most an arena holds (its temporary file's size). */
#define CSE__FARENA_MAX (16ull << 30)

typedef struct cse__farena cse__farena;

/* A new arena, or NULL when out of memory. Nothing is mapped until the
 * first allocation. */
cse__farena *cse__farena_new(void);
/* Frees everything allocated from a and a itself; NULL does nothing. */
void cse__farena_free(cse__farena *a);
/* n zeroed bytes aligned for any object, or NULL when out of memory, when
 * the temporary file cannot be made or grown, or when the arena would pass
 * CSE__FARENA_MAX (cse__farena_full then says so). */
void *cse__farena_alloc(cse__farena *a, size_t n);
/* A copy of s in the arena, or NULL (as cse__farena_alloc). */
char *cse__farena_strdup(cse__farena *a, const char *s);
/* A block of n bytes holding the first old bytes of p (p may be NULL); p's
 * space is not reused. Large blocks are copied a slice at a time, letting
 * pages go between slices. NULL as cse__farena_alloc (p is then kept). */
void *cse__farena_realloc(cse__farena *a, void *p, size_t old, size_t n);
/* Counts a unit of work (a resource read, an entry inserted); every 64,
 * checks the resident set against the budget. */
void cse__farena_tick(cse__farena *a);
/* True when an allocation failed because the arena reached CSE__FARENA_MAX. */
bool cse__farena_full(const cse__farena *a);
/* When an allocation failed because the temporary file could not be made
 * or grown: its errno (else 0). */
int cse__farena_file_errno(const cse__farena *a);
/* Bytes allocated, and bytes of them in the temporary file. */
size_t cse__farena_used(const cse__farena *a);
size_t cse__farena_spilled(const cse__farena *a);

#endif
