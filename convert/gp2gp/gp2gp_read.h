/* SPDX-License-Identifier: MIT */
/* The GP2GP reader's private parts, shared by gp2gp_read.c (the streaming
 * walk), gp2gp_stmt.c (one statement into entries) and gp2gp_large.c
 * (large-message skeletons and their fragments). Not installed. */
#ifndef CSE_GP2GP_READ_H
#define CSE_GP2GP_READ_H

#include <stdbool.h>

#include "gp2gp_xml.h"

#include <csemarker/gp2gp.h>

#include "internal.h"

#define CSE__HL7_NS "urn:hl7-org:v3"
#define CSE__MAX_LOSSES 128
#define CSE__MAX_AGENTS 100000
#define CSE__MAX_MISSING 16
#define CSE__MAX_FRAGMENT_NESTING 2
#define CSE__SKELETON_CODE "24891000000101"

/* What the reader remembers about an agent: enough to give a marker its
 * author's name and organisation ODS code. */
typedef struct cse__agent_note {
    char *id;
    char *ods;
    char *name;
} cse__agent_note;

typedef struct cse__loss {
    char what[160];
    const char *why; /* static text */
    size_t count;
    int first_line;
} cse__loss;

/* State shared by the main document and the fragments read into it. */
typedef struct cse__gp2gp {
    cse_sink *sink;
    cse_error *err;
    size_t max_depth, max_text, max_attr;
    const char *fragments_dir;
    const cse_code_lookup *lookup; /* SNOMED CT, or NULL */
    bool begun;
    size_t entries, markers, candidates;
    cse__loss losses[CSE__MAX_LOSSES];
    size_t n_losses;
    size_t other_losses; /* kinds beyond CSE__MAX_LOSSES, folded into one */
    cse__agent_note *agents;
    size_t n_agents, cap_agents;
    char missing[CSE__MAX_MISSING][80]; /* fragment ids a skeleton needs */
    size_t n_missing;
    int missing_line;
    char missing_path[512];
    int nesting; /* fragments being read inside fragments */
    /* The skeleton's patient, which every fragment's must match (lent from
     * the outermost document, which outlives its fragments). */
    const cse_patient *patient;
    const char *patient_source;
    int patient_line;
    cse_entry *spare; /* an entry block for the next statement to reuse */
} cse__gp2gp;

/* A container (ehrComposition or CompoundStatement) around the statements
 * being read: what they inherit. */
typedef struct cse__frame {
    const struct cse__frame *up;
    const char *id;
    const char *elem;   /* element name, for loss paths */
    unsigned inherited; /* labels of this container and those around it */
    bool allergy;       /* an allergy category (Read v2 14L..00 or SN53.00) */
    bool nondrug;       /* of those, the non-drug one (SN53.00) */
    /* Inside a laboratory report: the report and specimen around, and what
     * this container is in it (cse_path_role). */
    const char *report_id, *specimen_id;
    int path_role;
} cse__frame;

/* One XML document being read (the extract, or one fragment). */
typedef struct cse__doc {
    cse__gp2gp *g;
    cse__xr *r;
    const char *source;
    bool fragment;
    const xmlChar *names[CSE_GP2GP_MAX_DEPTH_DEFAULT + 2];
    /* The first error libxml2 reported, as cse__xml_describe() puts it. */
    int xerr, xerr_line;
    cse_code xerr_code;
    char xerr_msg[320];
    /* The message around the record. */
    int hl7_version;
    bool message; /* a whole RCMR_IN030000 message, not a bare EhrExtract */
    char *message_id, *extract_id, *folder_id, *author_ods, *dest_ods;
    cse_patient patient;
    cse_time availability;
    bool has_id, has_status, has_avail, has_target, has_author, has_dest, has_folder,
        has_fulfil, has_limit;
    size_t compositions;
    int patient_line;
    int extract_line;
    char extract_path[512];
} cse__doc;

/* gp2gp_read.c */
cse_code cse__gp2gp_fail(cse__doc *d, cse_code code, int line, const char *suffix,
                         const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void cse__gp2gp_path(const cse__doc *d, int depth, const char *suffix, char *buf,
                     size_t size);
void cse__gp2gp_loss(cse__doc *d, const char *what, const char *why, int line);
cse_code cse__gp2gp_emit(cse__doc *d, cse_entry *e);
cse_code cse__gp2gp_note_agent(cse__doc *d, const cse_agent *a, bool *seen);
cse_code cse__gp2gp_read_doc(cse__gp2gp *g, cse__xr *r, const char *source,
                             const cse__frame *into, cse_error *err);
int cse__gp2gp_line(const cse__xnode *n);

/* gp2gp_stmt.c: building model objects from one expanded element (a tree of
 * cse__xnode, see gp2gp_xml.h). */
bool cse__hl7_is(const cse__xnode *n, const char *name);
const cse__xnode *cse__hl7_child(const cse__xnode *n, const char *name);
const char *cse__hl7_attr(const cse__xnode *n, const char *name);
const char *cse__hl7_id_root(const cse__xnode *n);
/* Applies one child of a statement, composition or compound (id, code,
 * statusCode, times, confidentialityCode, author, Participant2, annotations)
 * to e. Returns CSE_OK or CSE_ERR_NOMEM. */
cse_code cse__gp2gp_apply_child(cse__doc *d, cse_entry *e, const cse__xnode *c);
/* Builds and emits the entries of one statement element (ObservationStatement,
 * NarrativeStatement, LinkSet, PlanStatement, RequestStatement,
 * MedicationStatement) inside frame f. When the statement is a large-message
 * skeleton placeholder, nothing is emitted and *skeleton_id receives the
 * fragment id (caller frees). */
cse_code cse__gp2gp_statement(cse__doc *d, const cse__xnode *n, const cse__frame *f,
                              char **skeleton_id);
cse_agent *cse__gp2gp_agent(const cse__xnode *n);
cse_code cse__gp2gp_concept(const cse__xnode *n, cse_concept *c);

/* gp2gp_large.c */
/* A skeleton statement asks for fragment id: read it in place (with
 * fragments_dir) or remember it as missing. */
cse_code cse__gp2gp_fragment(cse__doc *d, const char *id, int line, const cse__frame *f);
/* Fails with CSE_ERR_NEEDS_FRAGMENTS when fragments were needed and absent. */
cse_code cse__gp2gp_check_missing(cse__doc *d);

#endif
