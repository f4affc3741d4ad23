/* SPDX-License-Identifier: MIT */
/* cse__memstream: open_memstream without its cost. glibc's open_memstream
 * zeroes an 8 KiB buffer on every open (calloc), which was 5% of
 * fhir2ehr's instructions, as the reader composes a short text for most
 * entries. This stream has the same contract (after fflush or fclose,
 * *bufp holds the text written, NUL-terminated, and *lenp its length;
 * the caller frees *bufp after fclose; ftell gives the length written)
 * and allocates only what is written. Not installed. */
#ifndef CSE_MEMSTREAM_H
#define CSE_MEMSTREAM_H

#include <stddef.h>
#include <stdio.h>

FILE *cse__memstream(char **bufp, size_t *lenp);

#endif
