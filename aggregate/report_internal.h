/* SPDX-License-Identifier: MIT */
/* Private helpers shared by the aggregate sources. Not installed. */
#ifndef CSE_REPORT_INTERNAL_H
#define CSE_REPORT_INTERNAL_H

#include <stdint.h>

#include <csemarker/report.h>

#include "internal.h"

/* A pseudonym as it travels in a partial: the first 16 bytes of
 * HMAC-SHA256(key, canonical NHS number), written as 32 hex digits. */
#define CSE__PSEUDO_LEN 16
#define CSE__KEY_ID_LEN CSE_KEY_ID_LEN
#define CSE__SIG_LEN 64
/* A sealed blob: ephemeral X25519 public key (32), nonce (12), ciphertext,
 * GCM tag (16). */
#define CSE__SEAL_OVERHEAD 60

/* The raw counts of one practice and period (before disclosure control). */
enum cse__count {
    CSE__REG_CHILDREN = 0,   /* registered children */
    CSE__CHILDREN_MARKER,    /* of which with an active marker */
    CSE__ACTIVE_MARKERS,     /* active markers of registered children */
    CSE__MARKERS_NOPAT,      /* of which labelled NOPAT in every form */
    CSE__MARKERS_OVERDUE,    /* of which past their review date */
    CSE__MARKERS_STANDARD,   /* of which coded with a marker concept id */
    CSE__CHILDREN_UNFLAGGED, /* children with a related code and no active marker */
    CSE__NCOUNTS
};

/* The JSON names of the counts, in enum order. */
extern const char *const cse__count_names[CSE__NCOUNTS];

typedef struct cse__cell {
    char practice[16];
    cse_time start, end;
    uint64_t c[CSE__NCOUNTS];
    int linkage; /* pseudonyms were computed (the extract had a key) */
    /* Sorted, without duplicates. */
    unsigned char (*left)[CSE__PSEUDO_LEN]; /* children who left with an active marker */
    size_t n_left;
    unsigned char (*arr_with)[CSE__PSEUDO_LEN]; /* arrived by GP2GP, marker present now */
    size_t n_arr_with;
    unsigned char (*arr_without)[CSE__PSEUDO_LEN]; /* arrived, no marker now */
    size_t n_arr_without;
    /* As read from a partial: the pseudonym lists sealed to the linkage key
     * (opened only by link), the ids of the keys involved. */
    char pkey_id[CSE__KEY_ID_LEN + 1]; /* pseudonym key, "" = none */
    char lkey_id[CSE__KEY_ID_LEN + 1]; /* linkage key they are sealed to */
    unsigned char *sealed;
    size_t sealed_len;
    int member; /* index of the signed part it came from, -1 = built in memory */
} cse__cell;

/* A linked transfer cell (from link): counts only, fixed for the whole ICS. */
typedef struct cse__tcell {
    char practice[16];
    cse_time start, end;
    uint64_t num, den;
    int member;
} cse__tcell;

struct cse_partial {
    cse__cell *cells;
    size_t n, cap;
    cse__tcell *tcells;
    size_t nt, capt;
    /* The signed parts (json_t *) and the file each came from. */
    void **members;
    char **member_src;
    size_t nm;
};

/* The registry (trust.c). */
typedef struct cse__reg_practice {
    char ods[16];
    unsigned long population;
} cse__reg_practice;

struct cse_registry {
    char ics[16];
    cse__reg_practice *practices; /* sorted by ODS code */
    size_t n, cap;
    cse_report_key **keys;
    size_t n_keys;
};

const cse__reg_practice *cse__registry_find(const cse_registry *r, const char *ods);
/* The signing key of owner with this id, or NULL. */
const cse_report_key *cse__registry_key(const cse_registry *r, const char *owner,
                                        const char *id);
int cse__registry_has_owner(const cse_registry *r, const char *owner);

/* Ed25519 over msg. */
cse_code cse__sign(const cse_report_key *k, const char *msg, size_t len,
                   unsigned char sig[CSE__SIG_LEN]);
int cse__verify(const cse_report_key *k, const char *msg, size_t len,
                const unsigned char sig[CSE__SIG_LEN]);
/* Seals plain to the linkage public key rk (X25519 + HKDF-SHA256 +
 * AES-256-GCM, aad bound); *out is malloc'd, CSE__SEAL_OVERHEAD + len bytes. */
cse_code cse__seal(const cse_report_key *rk, const unsigned char *aad, size_t aadlen,
                   const unsigned char *plain, size_t len, unsigned char **out,
                   size_t *outlen);
/* Opens a sealed blob with the linkage private key; CSE_ERR_INTEGRITY when it
 * was not sealed to this key, or was altered. */
cse_code cse__open(const cse_report_key *k, const unsigned char *aad, size_t aadlen,
                   const unsigned char *sealed, size_t len, unsigned char **out,
                   size_t *outlen);
/* Writes one signed part holding p's cells (kind "practice", p's pseudonyms
 * sealed to linkage) or the linked cells (kind "linked"). */
cse_code cse__partial_write_signed(const cse_partial *p, const char *kind,
                                   const char *signer, const cse_report_key *signing,
                                   const cse_report_key *linkage, const char *pkey_id,
                                   FILE *out, cse_error *err);
/* Opens a cell's sealed pseudonyms into its three lists (link only). */
cse_code cse__cell_open(cse__cell *c, const cse_report_key *linkage, const char *source,
                        cse_error *err);
cse_code cse__partial_add_tcell(cse_partial *p, const cse__tcell *t, cse_error *err);

/* Appends a cell (taking ownership of its arrays on success and failure). */
cse_code cse__partial_add_cell(cse_partial *p, cse__cell *c, cse_error *err);
void cse__cell_clear(cse__cell *c);
/* Sorts and removes duplicates from a pseudonym array; returns the new count. */
size_t cse__pseudo_sort_unique(unsigned char (*a)[CSE__PSEUDO_LEN], size_t n);
int cse__pseudo_cmp(const void *a, const void *b);

/* HMAC-SHA256(key, nhs)[0..16) into out; with key NULL an unkeyed SHA-256
 * (used only in memory to link records, never written). */
cse_code cse__report_pseudonym(const unsigned char *key, size_t key_len,
                               const char nhs[11], unsigned char out[CSE__PSEUDO_LEN]);

/* Whether v is a day-precision date between start and end (inclusive). */
int cse__day_in(const cse_time *v, const cse_time *start, const cse_time *end);

/* Wipes memory the compiler may not optimise away. */
void cse__wipe(void *p, size_t n);

/* The report outputs. */
cse_code cse__report_html(const cse_partial *p, const cse_report_options *opt,
                          const cse_report_row *rows, size_t n, FILE *out,
                          cse_error *err);

/* The synthetic NHS numbers: 20 million bodies (prefixes 999 down to 980),
 * about 18 million valid, never repeated; synth writes at most 9 million
 * patients (plus the children who moved, 1 in 80). */
#define CSE__SYNTH_NHS_BODIES 20000000u
#define CSE__SYNTH_MAX_PATIENTS 9000000u

/* Writes the next synthetic NHS number (canonical, valid check digit) of the
 * sequence whose state is *next, and advances it. */
void cse__synth_nhs_number(uint64_t *next, char out[11]);

/* The funnel-plot control limit of the HTML report: the q-quantile of the
 * proportion of Binomial(n, p0), interpolated between the discrete quantiles
 * as in Spiegelhalter (Stat Med 2005;24:1185-1202, appendix A.1.1). q is
 * 0.025 and 0.975 for the 95% limits, 0.001 and 0.999 for the 99.8% ones. */
double cse__funnel_limit(double p0, uint64_t n, double q);

/* P(X <= x) (upper 0) or P(X >= x) (upper 1) for X ~ Binomial(n, p0): the
 * tail probabilities by which the report calls a practice outside a limit. */
double cse__binomial_tail(double p0, uint64_t n, uint64_t x, int upper);

/* A GP2GP extract's envelope: what an arrival needs, nothing else. */
typedef struct cse__gp2gp_head {
    char nhs[11];          /* canonical NHS number, "" when absent or invalid */
    char author_ods[16];   /* sending practice */
    char dest_ods[16];     /* receiving practice */
    cse_time availability; /* EhrExtract availabilityTime */
} cse__gp2gp_head;

/* Reads the envelope of a GP2GP extract (streaming; stops at the ehrFolder).
 * Network access, entities and DTDs are off. */
cse_code cse__gp2gp_scan(const char *path, cse__gp2gp_head *h, cse_error *err);

#endif
