/* SPDX-License-Identifier: MIT */
/* csemarker: SNOMED CT from the user's own RF2 release (optional).
 *
 * A GP2GP extract may carry a SNOMED CT description id where a concept id
 * belongs, and only a terminology decides whether an ObservationStatement is
 * an immunisation. With the user's licensed RF2 snapshot (concept,
 * description and relationship files, and optionally the language reference
 * sets) this API resolves description ids to concept ids, tells whether a
 * concept is active, gives a concept's preferred term, and recognises
 * immunisations as the national GP2GP requesting adaptor does.
 *
 * The release is read once into a compact binary index (the cache), written
 * beside the release or where the caller says, and mapped into memory on
 * every later open: opening a full UK edition takes milliseconds after the
 * first time. The cache records the names, sizes and modification times of
 * the files it was built from; a stale or corrupt cache is rebuilt (or,
 * with CSE_SNOMED_CACHE_STRICT, refused), never trusted.
 *
 * Without a release (a NULL cse_snomed), the functions below fall back:
 * description ids stay unresolved (the caller keeps them as they are and
 * says so in its loss report) and immunisations are recognised from the
 * sixteen codes that the adaptor itself checks for after loading its
 * terminology (docs/snomed.md names the source). */
#ifndef CSEMARKER_SNOMED_H
#define CSEMARKER_SNOMED_H

#include <stdbool.h>
#include <stdint.h>

#include <csemarker/common.h>
#include <csemarker/model.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cse_snomed cse_snomed;

/* Flags for cse_snomed_open(). */
enum {
    /* Refuse a stale, corrupt or other-version cache instead of rebuilding
     * it (CSE_ERR_VERSION for stale or another version, CSE_ERR_INTEGRITY
     * for corrupt). */
    CSE_SNOMED_CACHE_STRICT = 1u << 0,
    /* Build from the release even when a valid cache exists. */
    CSE_SNOMED_REBUILD = 1u << 1,
    /* Never write a cache: build in memory every time. */
    CSE_SNOMED_NO_CACHE_WRITE = 1u << 2
};

/* What cse_snomed_open() did with the cache. */
typedef enum cse_snomed_cache_state {
    CSE_SNOMED_CACHE_REUSED = 0,          /* a valid cache was mapped */
    CSE_SNOMED_CACHE_BUILT = 1,           /* none existed: built and written */
    CSE_SNOMED_CACHE_REBUILT_STALE = 2,   /* the release changed: rebuilt */
    CSE_SNOMED_CACHE_REBUILT_CORRUPT = 3, /* unreadable or another version: rebuilt */
    CSE_SNOMED_CACHE_NOT_WRITTEN = 4      /* built in memory; the cache could not be
                                             (or was asked not to be) written */
} cse_snomed_cache_state;

/* The file name a cache gets beside the release when no path is given. */
#define CSE_SNOMED_CACHE_NAME ".csemarker-snomed.idx"

/* Opens the RF2 snapshot in the folder dir. The files are found by their
 * RF2 names (sct2_Concept_*Snapshot*.txt, sct2_Description_*Snapshot*.txt,
 * sct2_Relationship_*Snapshot*.txt, and der2_cRefset_Language*Snapshot*.txt
 * when present), in dir itself, in dir/Snapshot/Terminology (and
 * dir/Snapshot/Refset/Language), and in the same places one folder down, so
 * that an unpacked UK edition with its International and UK parts works as
 * it is. Several files of one kind (International plus UK extension) are
 * merged; a component in two files keeps its latest row.
 *
 * cache_path names the cache; NULL puts it at dir/CSE_SNOMED_CACHE_NAME.
 * A valid cache for the same files is mapped; otherwise the index is built
 * and written through a temporary file and a rename, so a reader never sees
 * half a cache. A file at cache_path that is not a csemarker SNOMED cache is
 * never overwritten (CSE_ERR_IO). When the cache cannot be written (a
 * read-only release), the index is kept in memory and
 * cse_snomed_cache_status() says so. flags: the CSE_SNOMED_* values above.
 *
 * Returns NULL on error and fills err (may be NULL): CSE_ERR_IO for a
 * missing folder or file (named), CSE_ERR_PARSE for a malformed RF2 file
 * (source is the file, line the line, message what was expected),
 * CSE_ERR_LIMIT for a line or file beyond the caps, CSE_ERR_VERSION and
 * CSE_ERR_INTEGRITY as for CSE_SNOMED_CACHE_STRICT, CSE_ERR_NOMEM.
 * Ownership: the caller frees the result with cse_snomed_free(). */
CSE_EXPORT cse_snomed *cse_snomed_open(const char *dir, const char *cache_path,
                                       unsigned flags, cse_error *err);

/* Unmaps and frees. NULL does nothing. */
CSE_EXPORT void cse_snomed_free(cse_snomed *s);

/* What opening did with the cache, and its path (lent; valid until
 * cse_snomed_free). */
CSE_EXPORT cse_snomed_cache_state cse_snomed_cache_status(const cse_snomed *s);
CSE_EXPORT const char *cse_snomed_cache_path(const cse_snomed *s);

/* Counts in the index, for a report. */
typedef struct cse_snomed_stats {
    uint64_t concepts;
    uint64_t descriptions;
    uint64_t immunisation_concepts; /* the closure described below */
    uint64_t preferred_terms;
} cse_snomed_stats;
CSE_EXPORT void cse_snomed_get_stats(const cse_snomed *s, cse_snomed_stats *out);

/* What cse_snomed_lookup() found. */
typedef enum cse_snomed_found {
    CSE_SNOMED_UNKNOWN = 0,     /* not in the release (or no release given) */
    CSE_SNOMED_CONCEPT = 1,     /* id is a concept id in the release */
    CSE_SNOMED_DESCRIPTION = 2, /* id is a description id; concept_id resolved */
    CSE_SNOMED_MALFORMED = 3    /* not an SCTID (digits, check digit, partition) */
} cse_snomed_found;

typedef struct cse_snomed_lookup_result {
    cse_snomed_found found;
    char concept_id[19];     /* the concept (id itself for a concept), "" if unknown */
    bool concept_known;      /* the concept is in the concept file */
    bool concept_active;     /* ... and its row is active */
    bool description_active; /* for a description id: its row is active */
    /* The concept's preferred term in the UK language reference sets, or
     * NULL when the release has none (no language file, or no preferred
     * synonym). Lent from s: valid until cse_snomed_free(). */
    const char *preferred_term;
} cse_snomed_lookup_result;

/* Looks up a concept or description id (a NUL-terminated digit string).
 * With s NULL the result is CSE_SNOMED_UNKNOWN for any well-formed id
 * (CSE_SNOMED_MALFORMED for a malformed one): the documented fallback.
 * Returns CSE_OK, or CSE_ERR_INVALID_ARG when id or out is NULL. */
CSE_EXPORT cse_code cse_snomed_lookup(const cse_snomed *s, const char *id,
                                      cse_snomed_lookup_result *out);

/* True when the concept or description id is an immunisation code as the
 * national GP2GP requesting adaptor decides it: the concept is one of the
 * roots 787859002 (vaccine product), 127785005 (administration to produce
 * immunity), 304250009 (immunisation status), 90351000119108 (vaccination
 * not done) and 713404003 (vaccination given), or is below one of them
 * through is-a (116680003) relationships of any state: inactive is-a rows
 * count, as in the adaptor, so that retired vaccination codes are still
 * recognised; a description id counts when its concept does.
 *
 * With s NULL, only the sixteen codes that the adaptor verifies after its
 * load are recognised (the five roots, five descendants and six codes
 * outside the hierarchy); a concept below them is not.
 *
 * The adaptor tests the first translation's code, then the code itself:
 * callers that have an ObservationStatement do the same. */
CSE_EXPORT bool cse_snomed_is_immunisation(const cse_snomed *s, const char *id);

/* The adaptor's whole test on a statement's code: the first translation
 * (codings[1]), then the code itself (codings[0]), each by
 * cse_snomed_is_immunisation(). False for NULL or an uncoded concept. */
CSE_EXPORT bool cse_snomed_concept_is_immunisation(const cse_snomed *s,
                                                   const cse_concept *c);

#ifdef __cplusplus
}
#endif
#endif
