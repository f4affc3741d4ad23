/* SPDX-License-Identifier: MIT */
/* RF2 release files: the line parser and the index image (private). */
#ifndef CSE_RF2_H
#define CSE_RF2_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <csemarker/common.h>

/* The RF2 files read. */
typedef enum rf2_kind {
    RF2_CONCEPT = 0,
    RF2_DESCRIPTION,
    RF2_RELATIONSHIP,
    RF2_LANGUAGE,
    RF2_KINDS
} rf2_kind;

/* A line longer than this is refused: the longest RF2 field (a text
 * definition) is 32768 characters, and terms are far shorter. */
#define RF2_MAX_LINE 65536
/* Rows per file: a full UK monolith has a few million. */
#define RF2_MAX_ROWS 200000000u

/* One row, its columns checked and converted. Columns not listed are
 * checked and dropped. */
typedef struct rf2_row {
    uint64_t id;        /* SCTID; 0 for a reference set member (a UUID) */
    uint32_t effective; /* YYYYMMDD */
    bool active;
    /* description: a = conceptId, b = typeId
     * relationship: a = sourceId, b = destinationId, c = typeId
     * language:     a = refsetId, b = referencedComponentId, c = acceptabilityId */
    uint64_t a, b, c;
    const char *term; /* description only: the term, not NUL-terminated */
    size_t term_len;
} rf2_row;

/* Called for each data row; a non-CSE_OK return stops the parse and is
 * returned (the callback fills err itself). */
typedef cse_code (*rf2_row_fn)(void *ctx, const rf2_row *row, long line, cse_error *err);

/* Parses one RF2 file of the given kind held in data (size bytes; need not
 * be NUL-terminated): the header line exactly as RF2 names the columns, then
 * one tab-separated row per line (CR LF or LF). source names the file in
 * errors. Returns CSE_OK, CSE_ERR_PARSE (line and what was expected),
 * CSE_ERR_LIMIT (line or row count), or the callback's code. */
cse_code cse__rf2_parse(rf2_kind kind, const char *data, size_t size, const char *source,
                        rf2_row_fn fn, void *ctx, cse_error *err);

/* The file-name word of a kind, for messages ("concept", ...). */
const char *cse__rf2_kind_name(rf2_kind kind);

/* True when a file name is an RF2 snapshot file of the kind. */
bool cse__rf2_name_matches(rf2_kind kind, const char *name);

struct cse_snomed;
/* A handle over an index image in memory (the cache format), checked for
 * structure and checksum but not for staleness. The image is borrowed and
 * must outlive the handle. For the fuzz target and the tests. */
struct cse_snomed *cse__snomed_from_image(const void *image, size_t size, cse_error *err);

#endif
