/* SPDX-License-Identifier: MIT */
/* The FHIR reader: R4 (UK Core) and STU3 (GP Connect) Bundles and NDJSON of
 * one patient's record, pushed into a cse_sink (see fhirread.h).
 *
 * Two passes. The first walks every resource once: it checks the shape,
 * detects the FHIR version, collects the patient and the agents, and builds
 * a small index (one row per resource) with the links that decide where an
 * entry goes (its Encounter) and which marker Observations are the same
 * marker as a Flag. The second delivers begin, agents, and then the entries
 * grouped by Encounter, fetching each resource again by its index row.
 * A Bundle file is not loaded whole but read entry by entry (see
 * "Streaming a Bundle file" below); a Bundle in memory is parsed whole. */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "memstream.h"
#include "farena.h"
#include "fhir_read_observation.h"
#include "internal.h"
#include "jsonv.h"
#include "strmap.h"
#include "fhir_read_request.h"
#include <csemarker/fhirread.h>

#ifndef CSE_FHIR_MARKER_ID_SYSTEM
#define CSE_FHIR_MARKER_ID_SYSTEM CSE_FHIR_BASE "/Id/marker"
#endif

#define SCTDESCID_EXT                                                                    \
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-coding-sctdescid"

/* ---- Reader state ------------------------------------------------------ */

#define READ_WINDOW (1u << 20)

enum rkind {
    RK_OTHER = 0,
    RK_PATIENT,
    RK_AGENT,
    RK_ROLE,
    RK_ENCOUNTER,
    RK_ENTRY, /* a clinical resource we map */
    RK_FLAG,
    RK_STRUCTURAL
};

typedef struct res {
    long long off; /* byte offset of the NDJSON line, or the Bundle entry index */
    size_t len;    /* NDJSON line length */
    int line;      /* 1-based input line, 0 when unknown */
    enum rkind kind;
    char *key; /* normalised id: upper-case UUID or "Type/id" */
    char *enc; /* key of the Encounter it belongs to, or NULL */
    long next; /* next member of the same Encounter, -1 at the end */
} res;

/* Where entry[i] of a streamed Bundle file lies: its whole entry object. */
typedef struct span {
    long long off;
    size_t len;
    bool full; /* it may have a fullUrl (a key "fullUrl", or one with an escape) */
} span;

typedef struct loss {
    char *what;
    const char *why;
    size_t count;
    int first_line;
} loss;

typedef struct reader {
    const cse_fhir_read_options *opt;
    size_t max_depth;
    const char *source;
    cse_sink *sink;
    cse_error *err;

    /* Where resources come from: a Bundle's entry array, an NDJSON buffer,
     * or an NDJSON file. */
    const jv **bundle_entries; /* each entry object of a Bundle in memory */
    size_t n_entries;
    const char *buf;
    size_t buflen;
    FILE *fp;
    char *linebuf; /* the resource being parsed (parsed in place) */
    size_t linecap;
    jv_arena arena;     /* the values of the resource in linebuf */
    jv_arena doc_arena; /* a whole document, or a streamed Bundle's skeleton */
    char *docbuf;       /* the whole document, parsed in place */
    char *win;          /* READ_WINDOW bytes of the input from win_off */
    long long win_off;
    size_t win_len;
    /* A Bundle file read entry by entry: the byte span of each entry[i]. */
    FILE *bfp;
    struct span *spans;
    size_t n_spans;

    int version;          /* 0 unknown, 3, 4 */
    char version_at[128]; /* where the version was first seen */

    res *res;
    size_t n_res, cap_res;

    cse__smap fullurls;   /* Bundle fullUrl -> key */
    cse__smap list_enc;   /* resource key -> Encounter key (from Lists) */
    cse__smap merged_obs; /* Observation keys that are the Observation form of a Flag */
    cse__smap marker_ids; /* marker identifier values carried by marker Flags */
    cse__smap roles;      /* PractitionerRole key -> Practitioner key */
    cse__smap role_org;   /* PractitionerRole key -> Organization key */
    cse__smap role_text;  /* Practitioner key -> role text */
    cse__smap prac_org;   /* Practitioner key -> Organization key */
    cse__smap encounters; /* Encounter key -> "index" */
    cse__smap meds;       /* Medication key -> its code, packed (see pack_concept) */
    cse__smap places;     /* Location key -> its name */
    cse__smap texts;      /* "Type/id" -> a name for statement texts (see
                             cse__fhir_name_text); "S|Type/id" -> a summary */
    cse__smap wanted;     /* keys of resources named as supporting information */
    cse__ptrvec agents;

    cse__smap consults;       /* Encounter key -> its consultation List's row index */
    cse__smap list_rows;      /* List key -> row index */
    cse__smap listed;         /* key of a resource a List names -> its row index */
    unsigned char *done;      /* a bit per row: written already (inside a topic) */
    const char *parent;       /* the topic or category the next entry is in */
    cse__smap consult_dates;  /* Encounter key -> its consultation List's date */
    cse__smap enc_nopat;      /* keys of the Encounters labelled NOPAT */
    cse__smap contained_done; /* "List key#id" of contained resources written */
    const char *enc_key;      /* the Encounter whose consultation is being written */

    cse_patient patient;
    cse_time made;     /* Bundle.timestamp or meta.lastUpdated */
    char *patient_org; /* Organization key of the registered practice */
    bool have_patient;

    loss *losses;
    size_t n_losses;
    cse_summary sum;

    /* Laboratory reports (fhir_read_path.c). */
    cse__smap path_index;    /* Observation, Specimen, DiagnosticReport key -> row */
    cse__smap path_taken;    /* result or specimen key -> the report naming it */
    cse__smap path_member;   /* has-member key -> the Observation naming it */
    cse__smap people;        /* RelatedPerson key -> its name */
    cse__smap problem_notes; /* allergy or immunisation key -> notes of the
                                Conditions whose actualProblem it is */
    cse__smap agencies;      /* MedicationRequest key -> the prescribing agency
                                code of the MedicationStatement based on it */
    struct bat *bat;         /* batteries outside reports (fhir_read_battery.c) */
    cse_entry *held_enc;     /* an Encounter not delivered until an entry is in it */
    cse_entry_info held_info;

    /* Where the rows, their keys, the spans and every map above live: a
     * spill arena (farena.h), so that memory does not grow with the
     * number of resources. NULL when it could not be made (then malloc). */
    cse__farena *fa;
    /* The block of the last entry delivered, reused by the next (an entry
     * is over a kilobyte; see cse__entry_take). */
    cse_entry *spare;
} reader;

static void res_clear(reader *r)
{
    for (size_t i = 0; i < r->n_res && r->fa == NULL; i++) {
        free(r->res[i].key);
        free(r->res[i].enc);
    }
    if (r->fa == NULL)
        free(r->res);
    r->res = NULL;
    r->n_res = r->cap_res = 0;
}

static void bat_free(reader *r);

static void reader_free(reader *r)
{
    res_clear(r);
    bat_free(r);
    cse_entry_free(r->held_enc);
    cse_entry_free(r->spare);
    cse__smap_free(&r->fullurls);
    cse__smap_free(&r->list_enc);
    cse__smap_free(&r->consults);
    cse__smap_free(&r->list_rows);
    cse__smap_free(&r->listed);
    cse__smap_free(&r->consult_dates);
    cse__smap_free(&r->enc_nopat);
    cse__smap_free(&r->contained_done);
    free(r->done);
    cse__smap_free(&r->merged_obs);
    cse__smap_free(&r->marker_ids);
    cse__smap_free(&r->roles);
    cse__smap_free(&r->role_org);
    cse__smap_free(&r->role_text);
    cse__smap_free(&r->prac_org);
    cse__smap_free(&r->encounters);
    cse__smap_free(&r->meds);
    cse__smap_free(&r->places);
    cse__smap_free(&r->path_index);
    cse__smap_free(&r->path_taken);
    cse__smap_free(&r->path_member);
    cse__smap_free(&r->people);
    cse__smap_free(&r->problem_notes);
    cse__smap_free(&r->agencies);
    cse__smap_free(&r->texts);
    cse__smap_free(&r->wanted);
    for (size_t i = 0; i < r->agents.n; i++)
        cse_agent_free(r->agents.items[i]);
    free(r->agents.items);
    free(r->patient.nhs_number);
    free(r->patient.local_id_root);
    free(r->patient.local_id);
    free(r->patient.ods);
    free(r->patient_org);
    for (size_t i = 0; i < r->n_losses; i++)
        free(r->losses[i].what);
    free(r->losses);
    free(r->linebuf);
    free(r->docbuf);
    free(r->win);
    free(r->bundle_entries);
    cse__jv_arena_free(&r->arena);
    cse__jv_arena_free(&r->doc_arena);
    if (r->fa == NULL)
        free(r->spans);
    cse__farena_free(r->fa);
    r->fa = NULL;
}

static cse_code nomem(reader *r)
{
    if (cse__farena_full(r->fa))
        return cse__error_set(r->err, CSE_ERR_LIMIT, 0, r->source, NULL,
                              "the index of the input's resources passes %llu bytes",
                              (unsigned long long)CSE__FARENA_MAX);
    if (cse__farena_file_errno(r->fa))
        return cse__error_set(r->err, CSE_ERR_IO, 0, r->source, NULL,
                              "cannot keep the index of the input's resources in a "
                              "temporary file in $TMPDIR: %s",
                              strerror(cse__farena_file_errno(r->fa)));
    return cse__error_set(r->err, CSE_ERR_NOMEM, 0, r->source, NULL, "out of memory");
}

/* A JSON path prefix for resource i, for error messages. */
static void res_path(const reader *r, const res *x, const char *field, char *buf,
                     size_t size)
{
    if (r->bundle_entries || r->bfp)
        snprintf(buf, size, "entry[%lld].resource%s%s", x->off, field ? "." : "",
                 field ? field : "");
    else
        snprintf(buf, size, "%s", field ? field : "");
}

static cse_code fail_at(reader *r, const res *x, cse_code code, const char *field,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static cse_code fail_at(reader *r, const res *x, cse_code code, const char *field,
                        const char *fmt, ...)
{
    char path[300], msg[400];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    res_path(r, x, field, path, sizeof(path));
    return cse__error_set(r->err, code, x ? x->line : 0, r->source, path, "%s", msg);
}

static cse_code count_loss(reader *r, const char *what, const char *why, int line)
{
    loss *nl;
    for (size_t i = 0; i < r->n_losses; i++)
        if (strcmp(r->losses[i].what, what) == 0 && r->losses[i].why == why) {
            r->losses[i].count++;
            return CSE_OK;
        }
    if (r->n_losses >= 1024)
        return CSE_OK; /* a hostile variety of types: the first 1024 are enough */
    if ((nl = realloc(r->losses, (r->n_losses + 1) * sizeof(*nl))) == NULL)
        return nomem(r);
    r->losses = nl;
    nl[r->n_losses].what = strdup(what);
    if (nl[r->n_losses].what == NULL)
        return nomem(r);
    nl[r->n_losses].why = why;
    nl[r->n_losses].count = 1;
    nl[r->n_losses].first_line = line;
    r->n_losses++;
    return CSE_OK;
}

static const char WHY_STRUCTURAL[] = "structural (ignored deliberately)";
static const char WHY_UNMAPPED[] = "resource type not mapped";
static const char WHY_NOT_MARKER[] = "Flag that is not a CSE marker";
static const char WHY_DOCUMENT[] =
    "attachment data or further contents not carried (only a reference is written)";
static const char WHY_NOT_PLAN[] =
    "request whose intent is not plan (GP2GP has no statement for it)";
static const char WHY_SUMMARY[] =
    "summary of MedicationRequests (written from them, as the sending adaptor does)";

/* ---- JSON helpers ------------------------------------------------------ */

static const char *jstr(const jv *o, const char *key)
{
    const jv *v = jv_get(o, key);
    return jv_is_string(v) ? jv_str(v) : NULL;
}

static bool uuid_like(const char *s)
{
    /* ASCII only, as isxdigit in the C locale; no strlen first. 1: a hex
     * digit, 2: the hyphen. */
    static const unsigned char cls[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
        ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1,
        ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['A'] = 1, ['B'] = 1,
        ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['-'] = 2,
    };
    static const unsigned char want[36] = {1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,
                                           1, 2, 1, 1, 1, 1, 2, 1, 1, 1, 1, 2,
                                           1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
    if (s == NULL)
        return false;
    /* A NUL is class 0 and stops the loop. */
    for (int i = 0; i < 36; i++)
        if (cls[(unsigned char)s[i]] != want[i])
            return false;
    return s[36] == '\0';
}

/* The normalised key of a resource: the upper-cased id when it is a UUID,
 * otherwise "Type/id". Returns a new string or NULL. */
static char *make_key(const char *type, const char *id)
{
    char *k;
    if (id == NULL || type == NULL)
        return NULL;
    if (uuid_like(id)) {
        if ((k = malloc(37)) != NULL) {
            for (int i = 0; i < 36; i++)
                k[i] = id[i] >= 'a' && id[i] <= 'z' ? (char)(id[i] - 'a' + 'A') : id[i];
            k[36] = '\0';
        }
        return k;
    }
    {
        size_t tl = strlen(type), il = strlen(id);
        if ((k = malloc(tl + il + 2)) == NULL)
            return NULL;
        memcpy(k, type, tl);
        k[tl] = '/';
        memcpy(k + tl + 1, id, il + 1);
    }
    return k;
}

/* Resolves a Reference.reference to a key: a Bundle fullUrl, "Type/id",
 * an absolute URL ending in Type/id, or "urn:uuid:X". New string or NULL. */
static char *ref_key(const reader *r, const jv *ref)
{
    const char *s = jstr(ref, "reference"), *slash, *prev;
    const char *full;
    char type[64];

    if (s == NULL)
        return NULL;
    if ((full = cse__smap_get(&r->fullurls, s)) != NULL)
        return strdup(full);
    if (strncmp(s, "urn:uuid:", 9) == 0)
        return make_key("", s + 9);
    if ((slash = strrchr(s, '/')) == NULL || slash == s)
        return NULL;
    for (prev = slash - 1; prev > s && prev[-1] != '/'; prev--)
        ;
    if ((size_t)(slash - prev) >= sizeof(type))
        return NULL;
    memcpy(type, prev, (size_t)(slash - prev));
    type[slash - prev] = '\0';
    return make_key(type, slash + 1);
}

static unsigned labels_of(const jv *o)
{
    const jv *sec = jv_get(jv_get(o, "meta"), "security"), *v;
    size_t i;
    jv_foreach(sec, i, v)
    {
        const char *sys = jstr(v, "system"), *code = jstr(v, "code");
        if (code && strcmp(code, "NOPAT") == 0 && sys &&
            (strcmp(sys, CSE_FHIR_R4_ACTCODE) == 0 ||
             strcmp(sys, CSE_FHIR_STU3_ACTCODE) == 0))
            return CSE_LABEL_NOPAT;
    }
    return 0;
}

/* Reads a CodeableConcept into c (zeroed): SNOMED codings first, so the
 * primary code is a SNOMED one when there is any. */
static const jv *extension(const jv *o, const char *url);

static cse_code read_concept(const jv *cc, cse_concept *c)
{
    const jv *codings = jv_get(cc, "coding"), *k;
    size_t i;
    cse_code rc = CSE_OK;

    for (int pass = 0; pass < 2 && rc == CSE_OK; pass++) {
        jv_foreach(codings, i, k)
        {
            const char *sys = jstr(k, "system"), *code = jstr(k, "code");
            bool snomed = sys && strcmp(sys, CSE_SYSTEM_SNOMED) == 0;
            const jv *desc, *d;
            size_t j;
            if (code == NULL || *code == '\0' || snomed != (pass == 0))
                continue;
            /* GP Connect's sctdescid extension names the description the
             * clinician picked: the sending adaptor writes that description
             * id as the code (the concept follows as a translation; a
             * marker is still written by its concept, see write_code()). */
            desc = snomed ? extension(k, "https://fhir.nhs.uk/STU3/StructureDefinition/"
                                         "Extension-coding-sctdescid")
                          : NULL;
            if (desc) {
                const char *did = NULL, *ddisp = NULL;
                jv_foreach(jv_get(desc, "extension"), j, d)
                {
                    const char *u = jstr(d, "url");
                    if (u && strcmp(u, "descriptionId") == 0)
                        did = jstr(d, "valueId");
                    else if (u && strcmp(u, "descriptionDisplay") == 0)
                        ddisp = jstr(d, "valueString");
                }
                if (did && *did && strcmp(did, code) != 0 &&
                    (rc = cse_concept_add(c, sys, did,
                                          ddisp ? ddisp : jstr(k, "display"))) != CSE_OK)
                    break;
            }
            if ((rc = cse_concept_add(c, sys, code, jstr(k, "display"))) != CSE_OK)
                break;
        }
    }
    if (rc == CSE_OK && jstr(cc, "text") && *jstr(cc, "text"))
        rc = cse_concept_set_text(c, jstr(cc, "text"));
    return rc;
}

/* Parses a FHIR date at o[key] into t. A missing value leaves t unknown;
 * a malformed one is an error naming the field. */
static cse_code read_time(reader *r, const res *x, const jv *o, const char *key,
                          const char *field, cse_time *t)
{
    const char *s = jstr(o, key);
    if (s == NULL)
        return CSE_OK;
    if (cse_time_parse_fhir(s, t) != CSE_OK)
        return fail_at(r, x, CSE_ERR_DATE, field, "%s is not a FHIR date or dateTime",
                       key);
    return CSE_OK;
}

/* The text of a name: HumanName.text, or prefix given family. */
static char *name_text(const jv *names)
{
    const jv *n = jv_is_array(names) ? jv_at(names, 0) : NULL, *v;
    char buf[512] = "";
    size_t len = 0, i;

    if (n == NULL)
        return NULL;
    if (jstr(n, "text"))
        return strdup(jstr(n, "text"));
    const char *parts[] = {"prefix", "given", "family"};
    for (int p = 0; p < 3; p++) {
        const jv *part = jv_get(n, parts[p]);
        if (jv_is_string(part)) {
            len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s", len ? " " : "",
                                    jv_str(part));
        } else {
            jv_foreach(part, i, v)
            {
                if (jv_is_string(v) && len < sizeof(buf))
                    len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%s",
                                            len ? " " : "", jv_str(v));
            }
        }
        if (len >= sizeof(buf))
            len = sizeof(buf) - 1;
    }
    return len ? strdup(buf) : NULL;
}

static const char *identifier_value(const jv *o, const char *system)
{
    const jv *ids = jv_get(o, "identifier"), *v;
    size_t i;
    if (jv_is_object(ids))
        return jstr(ids, "system") && strcmp(jstr(ids, "system"), system) == 0
                   ? jstr(ids, "value")
                   : NULL;
    jv_foreach(ids, i, v)
    {
        const char *sys = jstr(v, "system");
        if (sys && strcmp(sys, system) == 0 && jstr(v, "value"))
            return jstr(v, "value");
    }
    return NULL;
}

static const jv *extension(const jv *o, const char *url)
{
    const jv *ext = jv_get(o, "extension"), *v;
    size_t i;
    jv_foreach(ext, i, v)
    {
        if (jstr(v, "url") && strcmp(jstr(v, "url"), url) == 0)
            return v;
    }
    return NULL;
}

/* ---- Version detection ------------------------------------------------- */

static cse_code note_version(reader *r, const res *x, int v, const char *why)
{
    char path[300];
    if (r->version == 0) {
        r->version = v;
        if (x->line)
            snprintf(r->version_at, sizeof(r->version_at), "line %d", x->line);
        else if (x->off >= 0)
            snprintf(r->version_at, sizeof(r->version_at), "entry[%lld]", x->off);
        else
            snprintf(r->version_at, sizeof(r->version_at), "the Bundle");
        return CSE_OK;
    }
    if (r->version == v)
        return CSE_OK;
    res_path(r, x, NULL, path, sizeof(path));
    return cse__error_set(r->err, CSE_ERR_VERSION, x->line, r->source, path,
                          "%s says FHIR %s, but %s was FHIR %s: a record must be one "
                          "FHIR version",
                          why, v == 3 ? "STU3" : "R4", r->version_at,
                          r->version == 3 ? "STU3" : "R4");
}

static cse_code detect_version(reader *r, const res *x, const jv *o, const char *type)
{
    const jv *p = jv_get(jv_get(o, "meta"), "profile"), *v;
    const jv *sec = jv_get(jv_get(o, "meta"), "security");
    const jv *cs;
    size_t i;
    cse_code rc = CSE_OK;

    jv_foreach(p, i, v)
    {
        const char *u = jv_str(v);
        if (u == NULL)
            continue;
        if (strstr(u, "/STU3/") || strstr(u, "CareConnect") || strstr(u, "GPConnect"))
            rc = note_version(r, x, 3, "meta.profile");
        else if (strstr(u, "UKCore") ||
                 strncmp(u, CSE_FHIR_BASE, strlen(CSE_FHIR_BASE)) == 0)
            rc = note_version(r, x, 4, "meta.profile");
        if (rc != CSE_OK)
            return rc;
    }
    jv_foreach(sec, i, v)
    {
        const char *sys = jstr(v, "system");
        if (sys && strcmp(sys, CSE_FHIR_STU3_ACTCODE) == 0)
            rc = note_version(r, x, 3, "the security label system");
        else if (sys && strcmp(sys, CSE_FHIR_R4_ACTCODE) == 0)
            rc = note_version(r, x, 4, "the security label system");
        if (rc != CSE_OK)
            return rc;
    }
    if (strcmp(type, "ProcedureRequest") == 0 || strcmp(type, "ReferralRequest") == 0)
        return note_version(r, x, 3, "the resource type");
    if (strcmp(type, "ServiceRequest") == 0)
        return note_version(r, x, 4, "the resource type");
    if ((strcmp(type, "Condition") == 0 || strcmp(type, "AllergyIntolerance") == 0) &&
        (cs = jv_get(o, "clinicalStatus")) != NULL)
        return note_version(r, x, jv_is_string(cs) ? 3 : 4, "clinicalStatus");
    return CSE_OK;
}

/* ---- Sources: Bundle entries, NDJSON lines ----------------------------- */

/* Parses buf[0..len) in place into a (see jsonv.h). The parser's error
 * texts never quote the input. line0 is the line buf starts on (0: line 1 of
 * a whole document). */
static jv *parse_into(reader *r, jv_arena *a, char *buf, size_t len, int line0)
{
    jv_error je;
    jv *j = cse__jv_parse(a, buf, len, r->max_depth, &je);
    int line = line0 + je.line - (line0 ? 1 : 0);

    if (j != NULL)
        return j;
    if (je.status == JV_ENOMEM)
        nomem(r);
    else if (je.status == JV_EDEPTH)
        cse__error_set(r->err, CSE_ERR_LIMIT, line, r->source, NULL,
                       "JSON nested deeper than %zu levels", r->max_depth);
    else
        cse__error_set(r->err, CSE_ERR_PARSE, line, r->source, NULL, "not valid JSON: %s",
                       je.text);
    if (r->err && je.status != JV_ENOMEM)
        r->err->column = je.column;
    return NULL;
}

/* Makes room for len bytes and a NUL in r->linebuf. */
static cse_code linebuf_fit(reader *r, size_t len)
{
    if (len + 1 > r->linecap) {
        char *nb = realloc(r->linebuf, len + 1);
        if (nb == NULL)
            return nomem(r);
        r->linebuf = nb;
        r->linecap = len + 1;
    }
    return CSE_OK;
}

/* Parses a copy of buf[0..len) in r->linebuf; valid until the next parse. */
static const jv *parse_json(reader *r, const char *buf, size_t len, int line0)
{
    if (buf != r->linebuf) {
        if (linebuf_fit(r, len) != CSE_OK)
            return NULL;
        memcpy(r->linebuf, buf, len);
        r->linebuf[len] = '\0';
    }
    return parse_into(r, &r->arena, r->linebuf, len, line0);
}

/* Reads up to len bytes at off; fewer only at the end of the file. The
 * count, or -1 with errno set. pread leaves the stream's own position alone. */
static ssize_t pread_full(int fd, char *buf, size_t len, long long off)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + (long long)got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return (ssize_t)got;
}

/* Reads the NDJSON line (or Bundle entry) at off into r->linebuf. Both
 * passes go through the file mostly in order, so small entries come from a
 * window of READ_WINDOW bytes read at once rather than a read each. */
static cse_code read_line_at(reader *r, FILE *fp, long long off, size_t len)
{
    ssize_t n;

    if (linebuf_fit(r, len) != CSE_OK)
        return CSE_ERR_NOMEM;
    if (len > READ_WINDOW / 2) {
        n = pread_full(fileno(fp), r->linebuf, len, off);
    } else if (r->win && off >= r->win_off &&
               off + (long long)len <= r->win_off + (long long)r->win_len) {
        n = (ssize_t)len;
        memcpy(r->linebuf, r->win + (off - r->win_off), len);
    } else {
        if (r->win == NULL && (r->win = malloc(READ_WINDOW)) == NULL)
            return nomem(r);
        r->win_len = 0;
        if ((n = pread_full(fileno(fp), r->win, READ_WINDOW, off)) >= 0) {
            r->win_off = off;
            r->win_len = (size_t)n;
            n = n < (ssize_t)len ? n : (ssize_t)len;
            memcpy(r->linebuf, r->win, (size_t)n);
        }
    }
    if (n < 0 || (size_t)n < len)
        return cse__error_set(r->err, CSE_ERR_IO, 0, r->source, NULL,
                              "cannot read the input again: %s",
                              n < 0 ? strerror(errno) : "it is shorter than it was");
    r->linebuf[len] = '\0';
    return CSE_OK;
}

/* Streamed Bundle entry i, already read into r->linebuf, parsed alone: the
 * entry object (resource_only false) or its resource (true), valid until the
 * next parse. NULL when it cannot be parsed; err is set only when
 * resource_only is set (pass 2, where a parse error means the file changed). */
static const jv *parse_entry(reader *r, size_t i, bool resource_only)
{
    jv_error je;
    const jv *v, *o;

    v = cse__jv_parse(&r->arena, r->linebuf, r->spans[i].len, r->max_depth, &je);
    if (v == NULL && resource_only)
        cse__error_set(r->err, CSE_ERR_IO, 0, r->source, NULL,
                       "the input changed while it was read");
    if (v == NULL || !resource_only)
        return v;
    if ((o = jv_get(v, "resource")) == NULL)
        cse__error_set(r->err, CSE_ERR_IO, 0, r->source, NULL,
                       "the input changed while it was read");
    return o;
}

/* Reads and parses streamed Bundle entry i (see parse_entry). */
static const jv *load_entry(reader *r, size_t i, bool resource_only)
{
    if (read_line_at(r, r->bfp, r->spans[i].off, r->spans[i].len) != CSE_OK)
        return NULL;
    return parse_entry(r, i, resource_only);
}

/* The resource for row x, valid until the next parse; NULL with err set. */
static const jv *fetch(reader *r, const res *x)
{
    if (r->bundle_entries)
        return jv_get(r->bundle_entries[x->off], "resource");
    if (r->bfp)
        return load_entry(r, (size_t)x->off, true);
    if (r->fp) {
        if (read_line_at(r, r->fp, x->off, x->len) != CSE_OK)
            return NULL;
        return parse_json(r, r->linebuf, x->len, x->line);
    }
    return parse_json(r, r->buf + x->off, x->len, x->line);
}

/* ---- Pass 1 ------------------------------------------------------------ */

/* s (malloc'd, may be NULL) moved into the reader's arena: the string to
 * keep in a row. NULL when s is NULL or out of memory (s is freed). */
static char *keep(reader *r, char *s)
{
    char *k;
    if (s == NULL || r->fa == NULL)
        return s;
    k = cse__farena_strdup(r->fa, s);
    free(s);
    return k;
}

static cse_code add_res(reader *r, res **out)
{
    cse__farena_tick(r->fa);
    if (r->n_res == r->cap_res) {
        size_t nc = r->cap_res ? r->cap_res * 2 : 64;
        res *nr;
        if (nc > (16u << 20))
            return cse__error_set(r->err, CSE_ERR_LIMIT, 0, r->source, NULL,
                                  "more than 16 million resources");
        nr = r->fa ? cse__farena_realloc(r->fa, r->res, r->cap_res * sizeof(*nr),
                                         nc * sizeof(*nr))
                   : realloc(r->res, nc * sizeof(*nr));
        if (nr == NULL)
            return nomem(r);
        r->res = nr;
        r->cap_res = nc;
    }
    *out = &r->res[r->n_res++];
    memset(*out, 0, sizeof(**out));
    (*out)->next = -1;
    return CSE_OK;
}

static bool type_in(const char *type, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(type, *list) == 0)
            return true;
    return false;
}

static const char *const ENTRY_TYPES[] = {
    "Observation",         "Condition",         "AllergyIntolerance", "Immunization",
    "MedicationStatement", "MedicationRequest", "ProcedureRequest",   "ServiceRequest",
    "ReferralRequest",     "DocumentReference", "DiagnosticReport",   NULL};
static const char *const STRUCTURAL_TYPES[] = {"List",     "Composition", "Bundle",
                                               "Location", "Medication",  NULL};

/* The reference to the Encounter a resource names itself. */
static const jv *own_encounter(const jv *o)
{
    const jv *e = jv_get(o, "encounter");
    if (e == NULL)
        e = jv_get(o, "context");
    if (jv_is_object(e) && jv_get(e, "encounter"))
        e = jv_get(e, "encounter"); /* DocumentReference.context */
    if (jv_is_array(e))
        e = jv_at(e, 0);
    return jv_is_object(e) ? e : NULL;
}

static cse_code scan_patient(reader *r, const res *x, const jv *o)
{
    const jv *ids = jv_get(o, "identifier"), *v, *org;
    char canon[11];
    char field[64];
    size_t i;

    jv_foreach(ids, i, v)
    {
        const char *sys = jstr(v, "system"), *val = jstr(v, "value");
        if (sys == NULL || strcmp(sys, CSE_FHIR_NHS_NUMBER) != 0)
            continue;
        snprintf(field, sizeof(field), "identifier[%zu].value", i);
        if (val == NULL || cse_nhs_number_canonical(val, canon) != CSE_OK)
            return fail_at(r, x, CSE_ERR_NHS_NUMBER, field,
                           "the NHS number fails its modulus 11 check%s", "");
        if (r->have_patient && r->patient.nhs_number &&
            strcmp(r->patient.nhs_number, canon) != 0)
            return fail_at(r, x, CSE_ERR_STRUCTURE, NULL,
                           "a second Patient with another NHS number: the input must "
                           "hold one patient's record%s",
                           "");
        if (cse_strset(&r->patient.nhs_number, canon) != CSE_OK)
            return nomem(r);
        break;
    }
    if (!r->have_patient) {
        org = jv_get(o, "managingOrganization");
        if (org == NULL)
            org = jv_at(jv_get(o, "generalPractitioner"), 0);
        free(r->patient_org);
        r->patient_org = org ? ref_key(r, org) : NULL;
        if (r->patient.nhs_number == NULL && x->key &&
            (cse_strset(&r->patient.local_id, x->key) != CSE_OK))
            return nomem(r);
    }
    r->have_patient = true;
    return CSE_OK;
}

/* An organisation's work phone and first address (its lines and city, and
 * its postal code), as the sending adaptor's OrganizationToAgentMapper
 * writes them into a practitioner's representedOrganization. */
static cse_code org_contact(const jv *o, cse_agent *a)
{
    const jv *t, *addr = jv_at(jv_get(o, "address"), 0), *l;
    size_t i;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;

    jv_foreach(jv_get(o, "telecom"), i, t)
    {
        const char *sys = jstr(t, "system"), *use = jstr(t, "use");
        if (a->telecom == NULL && jstr(t, "value") && sys && strcmp(sys, "phone") == 0 &&
            use && strcmp(use, "work") == 0 &&
            (a->telecom = strdup(jstr(t, "value"))) == NULL)
            return CSE_ERR_NOMEM;
    }
    if (addr == NULL)
        return CSE_OK;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return CSE_ERR_NOMEM;
    jv_foreach(jv_get(addr, "line"), i, l)
    {
        if (jv_is_string(l) && *jv_str(l))
            fprintf(f, "%s%s", ftell(f) ? "\n" : "", jv_str(l));
    }
    if (jstr(addr, "city") && *jstr(addr, "city"))
        fprintf(f, "%s%s", ftell(f) ? "\n" : "", jstr(addr, "city"));
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return CSE_ERR_NOMEM;
    }
    if (len)
        a->address = buf;
    else
        free(buf);
    if (jstr(addr, "postalCode") &&
        (a->postcode = strdup(jstr(addr, "postalCode"))) == NULL)
        return CSE_ERR_NOMEM;
    return CSE_OK;
}

static cse_code scan_agent(reader *r, const res *x, const jv *o, const char *type)
{
    bool person = strcmp(type, "Practitioner") == 0;
    cse_agent *a =
        cse_agent_new(person ? CSE_AGENT_PERSON : CSE_AGENT_ORGANISATION, x->key);
    cse_code rc;

    if (a == NULL)
        return nomem(r);
    if (person) {
        const jv *n = jv_at(jv_get(o, "name"), 0), *g;
        a->name = name_text(jv_get(o, "name"));
        /* The parts too, for the agentDirectory: the first prefix and given
         * name, as the sending adaptor writes them. */
        g = jv_get(n, "prefix");
        if (jv_is_array(g))
            g = jv_at(g, 0);
        if (jv_is_string(g))
            a->prefix = strdup(jv_str(g));
        g = jv_get(n, "given");
        if (jv_is_array(g))
            g = jv_at(g, 0);
        if (jv_is_string(g))
            a->given = strdup(jv_str(g));
        if (jstr(n, "family"))
            a->family = strdup(jstr(n, "family"));
    } else {
        if (jstr(o, "name"))
            a->name = strdup(jstr(o, "name"));
        if (identifier_value(o, CSE_FHIR_ODS))
            a->ods = strdup(identifier_value(o, CSE_FHIR_ODS));
        if (org_contact(o, a) != CSE_OK) {
            cse_agent_free(a);
            return nomem(r);
        }
    }
    if ((rc = cse__ptrvec_push(&r->agents, a)) != CSE_OK) {
        cse_agent_free(a);
        return rc == CSE_ERR_NOMEM ? nomem(r)
                                   : fail_at(r, x, rc, NULL, "too many agents%s", "");
    }
    return CSE_OK;
}

static cse_code scan_role(reader *r, const res *x, const jv *o)
{
    char *prac = ref_key(r, jv_get(o, "practitioner"));
    char *org = ref_key(r, jv_get(o, "organization"));
    const jv *code = jv_at(jv_get(o, "code"), 0);
    const char *text = jstr(code, "text");
    cse_code rc = CSE_OK;

    if (text == NULL)
        text = jstr(jv_at(jv_get(code, "coding"), 0), "display");
    if (x->key && prac)
        rc = cse__smap_put(&r->roles, x->key, prac, true);
    if (rc == CSE_OK && x->key && org)
        rc = cse__smap_put(&r->role_org, x->key, org, true);
    if (rc == CSE_OK && prac && org)
        rc = cse__smap_put(&r->prac_org, prac, org, true);
    if (rc == CSE_OK && prac && text)
        rc = cse__smap_put(&r->role_text, prac, text, true);
    free(prac);
    free(org);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* ---- Consultations: topics and categories ------------------------------ */

/* A consultation (an Encounter) lists its topics, each topic its categories
 * and entries, in a List each (GP Connect's consultation structure). Pass 1
 * notes where each List is; pass 2 reads them again and writes an
 * Encounter's entries under its topics and categories, in the List order,
 * as the sending adaptor's EncounterComponentsMapper does. */
#define CODE_CONSULTATION_LIST "325851000000107"
#define CODE_TOPIC_LIST "25851000000105"
#define CODE_CATEGORY_LIST "24781000000107"
#define RELATED_PROBLEM_URL                                                              \
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/"                                  \
    "Extension-CareConnect-RelatedProblemHeader-1"
#define MAX_LIST_ITEMS 100000

static const char WHY_LIST_MISSING[] =
    "named by a consultation List but not in the input";

static cse_code emit(reader *r, const res *x);
static cse_code release_encounter(reader *r);
static cse_code emit_entry(reader *r, const res *x, const jv *o);

static bool list_coded(const jv *o, const char *code)
{
    const jv *k;
    size_t i;
    jv_foreach(jv_get(jv_get(o, "code"), "coding"), i, k)
    {
        if (jstr(k, "code") && strcmp(jstr(k, "code"), code) == 0)
            return true;
    }
    return false;
}

static char *related_problem(const reader *r, const jv *o)
{
    const jv *ext = extension(o, RELATED_PROBLEM_URL), *v;
    size_t i;
    jv_foreach(jv_get(ext, "extension"), i, v)
    {
        if (jstr(v, "url") && strcmp(jstr(v, "url"), "target") == 0)
            return ref_key(r, jv_get(v, "valueReference"));
    }
    return NULL;
}

/* Pass 1: where the List is, which Encounter it is the consultation of, and
 * the resources it names (they are found by key in pass 2). */
static cse_code note_list(reader *r, const res *x, const jv *o, const char *enc)
{
    const jv *v;
    size_t i;
    char idx[32], *k;
    cse_code rc = CSE_OK;

    if (x == NULL || x->key == NULL)
        return CSE_OK;
    snprintf(idx, sizeof(idx), "%zu", (size_t)(x - r->res));
    if (cse__smap_put(&r->list_rows, x->key, idx, true) != CSE_OK)
        return nomem(r);
    if (enc && list_coded(o, CODE_CONSULTATION_LIST) &&
        (cse__smap_put(&r->consults, enc, idx, true) != CSE_OK ||
         (jstr(o, "date") &&
          cse__smap_put(&r->consult_dates, enc, jstr(o, "date"), true) != CSE_OK)))
        return nomem(r);
    if (!list_coded(o, CODE_TOPIC_LIST) && !list_coded(o, CODE_CATEGORY_LIST))
        return CSE_OK;
    jv_foreach(jv_get(o, "entry"), i, v)
    {
        if ((k = ref_key(r, jv_get(v, "item"))) != NULL)
            rc = cse__smap_put(&r->listed, k, NULL, true);
        free(k);
        if (rc != CSE_OK)
            return nomem(r);
    }
    if ((k = related_problem(r, o)) != NULL)
        rc = cse__smap_put(&r->listed, k, NULL, true);
    free(k);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* One List, copied out of the parse arena (the next fetch reuses it). */
typedef struct clist {
    char *title;
    cse_time date;
    char *problem; /* related problem header (Condition key), may be NULL */
    char **items;  /* keys of what it names, NULL where not a reference */
    size_t n;
    bool topic, category;
    int line;
} clist;

static void clist_free(clist *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i]);
    free(l->items);
    free(l->title);
    free(l->problem);
    memset(l, 0, sizeof(*l));
}

/* A List entry's key: its resource's, or for a resource contained in a List
 * ("List/id#cid") "<the List's key>#cid". New string or NULL. */
static char *item_key(const reader *r, const jv *item)
{
    const char *s = jstr(item, "reference"), *hash;
    char *list, *k = NULL;

    if (s == NULL || strncmp(s, "List/", 5) != 0 || (hash = strchr(s, '#')) == NULL)
        return ref_key(r, item);
    if ((list = strndup(s + 5, (size_t)(hash - s - 5))) == NULL)
        return NULL;
    char *lk = make_key("List", list);
    free(list);
    if (lk && asprintf(&k, "%s%s", lk, hash) < 0)
        k = NULL;
    free(lk);
    return k;
}

/* True for a key item_key() made for a contained resource. */
static bool contained_key(const reader *r, const char *key)
{
    const char *hash = key ? strrchr(key, '#') : NULL;
    char *lk;
    bool yes;
    if (hash == NULL || hash == key)
        return false;
    if ((lk = strndup(key, (size_t)(hash - key))) == NULL)
        return false;
    yes = cse__smap_has(&r->list_rows, lk);
    free(lk);
    return yes;
}

/* The resource types a consultation holds (EncounterComponentsMapper). */
static const char *const COMPONENT_TYPES[] = {
    "AllergyIntolerance", "Condition",   "DocumentReference", "Immunization",
    "MedicationRequest",  "Observation", "ProcedureRequest",  "ReferralRequest",
    "DiagnosticReport",   NULL};

/* Writes one resource contained in the List at row, as an entry of parent
 * (NULL: a composition of its own). */
static cse_code emit_one_contained(reader *r, const res *list, const jv *o,
                                   const char *enc, const char *parent)
{
    const char *type = jstr(o, "resourceType"), *id = jstr(o, "id");
    res x = *list;
    char *done = NULL;
    cse_code rc;

    if (type == NULL || id == NULL)
        return count_loss(r, "contained resource", WHY_UNMAPPED, list->line);
    if (asprintf(&done, "%s#%s", list->key, *id == '#' ? id + 1 : id) < 0)
        return nomem(r);
    if (cse__smap_has(&r->contained_done, done)) {
        free(done);
        return CSE_OK;
    }
    rc = cse__smap_put(&r->contained_done, done, NULL, true);
    free(done);
    if (rc != CSE_OK)
        return nomem(r);
    if (!type_in(type, COMPONENT_TYPES)) {
        size_t n = strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        return count_loss(
            r, n > 0 && n <= 64 && type[n] == '\0' ? type : "(not a type name)",
            WHY_UNMAPPED, list->line);
    }
    x.kind = RK_ENTRY;
    x.key = make_key(type, *id == '#' ? id + 1 : id);
    x.enc = enc ? strdup(enc) : NULL;
    if (x.key == NULL || (enc && x.enc == NULL)) {
        free(x.key);
        free(x.enc);
        return nomem(r);
    }
    r->parent = parent;
    rc = emit_entry(r, &x, o);
    r->parent = NULL;
    free(x.key);
    free(x.enc);
    return rc;
}

/* Writes the resource a "List/id#cid" entry names, inside parent. */
static cse_code emit_contained(reader *r, const char *key, const char *enc,
                               const char *parent)
{
    const char *hash = strrchr(key, '#'), *idx;
    char *lk = strndup(key, (size_t)(hash - key));
    const res *list;
    const jv *o, *v;
    size_t i;

    if (lk == NULL)
        return nomem(r);
    idx = cse__smap_get(&r->list_rows, lk);
    free(lk);
    if (idx == NULL)
        return count_loss(r, "List entry", WHY_LIST_MISSING, 0);
    list = &r->res[strtoul(idx, NULL, 10)];
    if ((o = fetch(r, list)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    jv_foreach(jv_get(o, "contained"), i, v)
    {
        const char *id = jstr(v, "id");
        if (id && strcmp(*id == '#' ? id + 1 : id, hash + 1) == 0)
            return emit_one_contained(r, list, v, enc, parent);
    }
    return count_loss(r, "List entry", WHY_LIST_MISSING, list->line);
}

/* Writes what a List contains and no consultation named, each in a
 * composition of its own (NonConsultationResourceMapper). */
static cse_code emit_list_contained(reader *r, const res *list)
{
    const jv *o, *v;
    size_t i;
    cse_code rc = CSE_OK;

    if (list->key == NULL || !cse__smap_has(&r->list_rows, list->key))
        return CSE_OK;
    if ((o = fetch(r, list)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    jv_foreach(jv_get(o, "contained"), i, v)
    {
        /* emit_one_contained() does not fetch: o stays valid. */
        if ((rc = emit_one_contained(r, list, v, NULL, NULL)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

/* Loads the List with that key; false (l empty) when it is not in the input. */
static cse_code clist_load(reader *r, const char *key, clist *l, bool *found)
{
    const char *idx = key ? cse__smap_get(&r->list_rows, key) : NULL;
    const res *x;
    const jv *o, *entries, *v;
    size_t i;

    memset(l, 0, sizeof(*l));
    *found = false;
    if (idx == NULL)
        return CSE_OK;
    x = &r->res[strtoul(idx, NULL, 10)];
    if ((o = fetch(r, x)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    *found = true;
    l->line = x->line;
    l->topic = list_coded(o, CODE_TOPIC_LIST);
    l->category = list_coded(o, CODE_CATEGORY_LIST);
    if (jstr(o, "title") && (l->title = strdup(jstr(o, "title"))) == NULL)
        return nomem(r);
    if (jstr(o, "date") && cse_time_parse_fhir(jstr(o, "date"), &l->date) != CSE_OK)
        return fail_at(r, x, CSE_ERR_DATE, "date", "date is not a FHIR dateTime%s", "");
    l->problem = related_problem(r, o);
    entries = jv_get(o, "entry");
    if (jv_size(entries) > MAX_LIST_ITEMS)
        return fail_at(r, x, CSE_ERR_LIMIT, "entry", "more than %d entries in a List",
                       MAX_LIST_ITEMS);
    if (jv_size(entries) && (l->items = calloc(jv_size(entries), sizeof(char *))) == NULL)
        return nomem(r);
    jv_foreach(entries, i, v)
    {
        l->items[l->n++] = item_key(r, jv_get(v, "item"));
    }
    return CSE_OK;
}

static bool is_done(const reader *r, size_t i)
{
    return r->done && (r->done[i / 8] >> (i % 8)) & 1u;
}

/* The row of a resource a List names, or -1. */
static long listed_row(const reader *r, const char *key)
{
    const char *idx = key ? cse__smap_get(&r->listed, key) : NULL;
    return idx ? strtol(idx, NULL, 10) : -1;
}

/* Writes the resource a List names, inside the section parent. */
static cse_code emit_listed(reader *r, const char *key, const char *parent, int line)
{
    long i = listed_row(r, key);
    cse_code rc;

    if (key == NULL)
        return CSE_OK; /* a text instead of a reference: nothing to write */
    if (i < 0 && contained_key(r, key))
        return emit_contained(r, key, r->enc_key, parent);
    if (i < 0)
        return count_loss(r, "List entry", WHY_LIST_MISSING, line);
    if (is_done(r, (size_t)i))
        return CSE_OK;
    r->done[i / 8] |= (unsigned char)(1u << (i % 8));
    if (r->res[i].kind != RK_ENTRY && r->res[i].kind != RK_FLAG)
        return emit(r, &r->res[i]);
    r->parent = parent;
    rc = emit(r, &r->res[i]);
    r->parent = NULL;
    return rc;
}

/* A topic's or category's CompoundStatement: the Encounter's period, the
 * List's date (else the Encounter's start). code is moved into it. */
static cse_code emit_section(reader *r, const char *id, const char *parent,
                             const char *cls, const clist *l, const cse_time period[2],
                             cse_concept *code)
{
    cse_entry *e = cse_entry_new(CSE_ENTRY_COMPOUND, id);
    cse_entry_info info = {CSE_CLASS_NONE, CSE_CANDIDATE_NONE, NULL};
    cse_code rc;

    if (e == NULL || cse_strset(&e->parent_id, parent) != CSE_OK ||
        cse_strset(&e->compound_class, cls) != CSE_OK ||
        cse_strset(&e->status, "COMPLETE") != CSE_OK) {
        cse_entry_free(e);
        return nomem(r);
    }
    e->code = *code;
    memset(code, 0, sizeof(*code));
    if (period[1].precision) {
        e->effective_low = period[0];
        e->effective_high = period[1];
    } else {
        e->effective_center = period[0]; /* a point, as the Encounter's */
    }
    e->availability = l->date.precision ? l->date : period[0];
    e->source_line = l->line;
    /* A section is structure, not an entry of the record: not counted. */
    rc = r->held_enc ? release_encounter(r) : CSE_OK;
    if (rc == CSE_OK)
        rc = r->sink->entry(r->sink, e, &info, r->err);
    cse_entry_free(e);
    return rc;
}

/* The code of a topic (CodeableConceptCdMapper.mapToCdForTopic): its
 * related problem's code, else "Unspecified problem"; the title as text. */
static cse_code topic_code(reader *r, const clist *l, cse_concept *c)
{
    long i = listed_row(r, l->problem);
    const jv *o;
    cse_code rc = CSE_OK;

    memset(c, 0, sizeof(*c));
    if (i >= 0 && (o = fetch(r, &r->res[i])) != NULL && jstr(o, "resourceType") &&
        strcmp(jstr(o, "resourceType"), "Condition") == 0)
        rc = read_concept(jv_get(o, "code"), c);
    if (rc == CSE_OK && c->n == 0) {
        cse_concept_clear(c);
        rc = cse_concept_add(c, CSE_SYSTEM_SNOMED, "394776006", "Unspecified problem");
    }
    if (rc == CSE_OK)
        rc = cse_concept_set_text(c, l->title);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

static cse_code category_code(reader *r, const clist *l, cse_concept *c)
{
    memset(c, 0, sizeof(*c));
    if (cse_concept_add(c, CSE_SYSTEM_SNOMED, "394841004", "Other category") != CSE_OK ||
        cse_concept_set_text(c, l->title) != CSE_OK)
        return nomem(r);
    return CSE_OK;
}

static bool is_list_key(const reader *r, const char *key)
{
    return key && cse__smap_has(&r->list_rows, key);
}

/* One topic: its categories, then what it names directly in a category of
 * its own ("Other category"), as the adaptor writes them. */
static cse_code emit_topic(reader *r, const char *key, const char *enc,
                           const cse_time period[2])
{
    clist t, c;
    cse_concept code;
    bool found;
    char uncat[600];
    cse_code rc;

    if ((rc = clist_load(r, key, &t, &found)) != CSE_OK || !found) {
        clist_free(&t);
        return rc != CSE_OK ? rc : count_loss(r, "List", WHY_LIST_MISSING, 0);
    }
    if (!t.topic) {
        /* Not a topic: what it names is written in the consultation. */
        for (size_t i = 0; i < t.n && rc == CSE_OK; i++)
            rc = emit_listed(r, t.items[i], NULL, t.line);
        clist_free(&t);
        return rc;
    }
    if ((rc = topic_code(r, &t, &code)) == CSE_OK)
        rc = emit_section(r, key, enc, "topic", &t, period, &code);
    cse_concept_clear(&code);
    for (size_t i = 0; i < t.n && rc == CSE_OK; i++) {
        if (!is_list_key(r, t.items[i]))
            continue;
        if ((rc = clist_load(r, t.items[i], &c, &found)) != CSE_OK)
            break;
        if ((rc = category_code(r, &c, &code)) == CSE_OK)
            rc = emit_section(r, t.items[i], key, "category", &c, period, &code);
        cse_concept_clear(&code);
        for (size_t j = 0; j < c.n && rc == CSE_OK; j++)
            rc = emit_listed(r, c.items[j], t.items[i], c.line);
        clist_free(&c);
    }
    /* Resources contained in a List, named by the topic: in the topic. */
    for (size_t i = 0; i < t.n && rc == CSE_OK; i++)
        if (t.items[i] && !is_list_key(r, t.items[i]) && contained_key(r, t.items[i]))
            rc = emit_contained(r, t.items[i], enc, key);
    snprintf(uncat, sizeof(uncat), "%s#uncategorised", key);
    for (size_t i = 0, first = 1; i < t.n && rc == CSE_OK; i++) {
        if (t.items[i] == NULL || is_list_key(r, t.items[i]) ||
            contained_key(r, t.items[i]))
            continue;
        if (first) {
            clist plain = t;
            plain.title = NULL;
            first = 0;
            if ((rc = category_code(r, &plain, &code)) == CSE_OK)
                rc = emit_section(r, uncat, key, "category", &t, period, &code);
            cse_concept_clear(&code);
        }
        if (rc == CSE_OK)
            rc = emit_listed(r, t.items[i], uncat, t.line);
    }
    clist_free(&t);
    return rc;
}

/* Writes an Encounter's consultation List, when it has one. */
static cse_code emit_consultation(reader *r, const res *enc)
{
    const char *idx = enc->key ? cse__smap_get(&r->consults, enc->key) : NULL;
    const jv *o, *period;
    cse_time when[2];
    clist cons;
    bool found;
    cse_code rc;

    if (idx == NULL)
        return CSE_OK;
    memset(when, 0, sizeof(when));
    if ((o = fetch(r, enc)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    period = jv_get(o, "period");
    if ((rc = read_time(r, enc, period, "start", "period.start", &when[0])) != CSE_OK ||
        (rc = read_time(r, enc, period, "end", "period.end", &when[1])) != CSE_OK)
        return rc;
    {
        /* The consultation List by its row (its key may be a fullUrl's). */
        const res *x = &r->res[strtoul(idx, NULL, 10)];
        if ((rc = clist_load(r, x->key, &cons, &found)) != CSE_OK || !found) {
            clist_free(&cons);
            return rc;
        }
    }
    r->enc_key = enc->key;
    for (size_t i = 0; i < cons.n && rc == CSE_OK; i++)
        if (cons.items[i])
            rc = emit_topic(r, cons.items[i], enc->key, when);
    r->enc_key = NULL;
    clist_free(&cons);
    return rc;
}

static cse_code scan_list(reader *r, const res *x, const jv *o)
{
    char *enc = ref_key(r, jv_get(o, "encounter"));
    const jv *entries = jv_get(o, "entry"), *v;
    size_t i;
    cse_code rc = note_list(r, x, o, enc);

    if (rc != CSE_OK || enc == NULL) {
        free(enc);
        return rc;
    }
    jv_foreach(entries, i, v)
    {
        char *item = ref_key(r, jv_get(v, "item"));
        if (item)
            rc = cse__smap_put(&r->list_enc, item, enc, true);
        free(item);
        if (rc != CSE_OK)
            break;
    }
    free(enc);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

static bool flag_is_marker(const jv *o)
{
    cse_concept c = {0};
    bool marker;
    if (read_concept(jv_get(o, "code"), &c) != CSE_OK) {
        cse_concept_clear(&c);
        return false;
    }
    marker = cse_concept_marker_code(&c) != NULL;
    cse_concept_clear(&c);
    return marker;
}

static cse_code scan_flag(reader *r, const jv *o)
{
    const jv *detail = extension(o, CSE_FHIR_FLAG_DETAIL);
    const char *mid = identifier_value(o, CSE_FHIR_MARKER_ID_SYSTEM);
    cse_code rc = CSE_OK;

    if (!flag_is_marker(o))
        return CSE_OK;
    if (detail) {
        char *k = ref_key(r, jv_get(detail, "valueReference"));
        if (k)
            rc = cse__smap_put(&r->merged_obs, k, NULL, true);
        free(k);
    }
    if (rc == CSE_OK && mid)
        rc = cse__smap_put(&r->marker_ids, mid, NULL, true);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* A drug's code, for the MedicationStatements and MedicationRequests that
 * name it by medicationReference. Only the codes are kept (a compact index,
 * not the resource): each coding as system, code and display separated by
 * US (0x1f), codings separated by RS (0x1e), the text last after GS (0x1d).
 * JSON strings here never hold those control characters unescaped, and an
 * escaped one is dropped with its coding. */
static bool packable(const char *s)
{
    for (; s && *s; s++)
        if (*s == '\x1d' || *s == '\x1e' || *s == '\x1f')
            return false;
    return true;
}

static cse_code scan_medication(reader *r, const res *x, const jv *o)
{
    const jv *cc = jv_get(o, "code"), *k;
    const char *text = jstr(cc, "text");
    char *buf = NULL;
    size_t len = 0, i;
    FILE *f;
    cse_code rc;

    if (x->key == NULL || cc == NULL)
        return CSE_OK;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return nomem(r);
    jv_foreach(jv_get(cc, "coding"), i, k)
    {
        const char *sys = jstr(k, "system"), *code = jstr(k, "code");
        const char *disp = jstr(k, "display");
        if (code == NULL || *code == '\0' || !packable(sys) || !packable(code) ||
            !packable(disp))
            continue;
        fprintf(f, "%s%s\x1f%s\x1f%s", ftell(f) ? "\x1e" : "", sys ? sys : "", code,
                disp ? disp : "");
    }
    if (text && packable(text))
        fprintf(f, "\x1d%s", text);
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return nomem(r);
    }
    rc = cse__smap_put(&r->meds, x->key, buf, true);
    free(buf);
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* Unpacks what scan_medication() kept into c (zeroed). */
static cse_code unpack_concept(const char *packed, cse_concept *c)
{
    char *copy = strdup(packed), *text, *item, *save = NULL;
    cse_code rc = CSE_OK;

    if (copy == NULL)
        return CSE_ERR_NOMEM;
    if ((text = strchr(copy, '\x1d')) != NULL)
        *text++ = '\0';
    for (item = strtok_r(copy, "\x1e", &save); item && rc == CSE_OK;
         item = strtok_r(NULL, "\x1e", &save)) {
        char *sys = item, *code = strchr(sys, '\x1f'), *disp;
        if (code == NULL || (disp = strchr(code + 1, '\x1f')) == NULL)
            continue;
        *code++ = '\0';
        *disp++ = '\0';
        rc = cse_concept_add(c, *sys ? sys : NULL, code, *disp ? disp : NULL);
    }
    /* SNOMED first, as read_concept() orders a CodeableConcept. */
    for (size_t i = 1; rc == CSE_OK && i < c->n; i++) {
        if (c->codings[i].system &&
            strcmp(c->codings[i].system, CSE_SYSTEM_SNOMED) == 0 &&
            !(c->codings[0].system &&
              strcmp(c->codings[0].system, CSE_SYSTEM_SNOMED) == 0)) {
            cse_coding t = c->codings[0];
            c->codings[0] = c->codings[i];
            c->codings[i] = t;
        }
    }
    if (rc == CSE_OK && text && *text)
        rc = cse_concept_set_text(c, text);
    free(copy);
    return rc;
}

/* Laboratory reports, in fhir_read_path.c (included at the end). */
static cse_code path_scan(reader *r, const res *x, const jv *o, const char *type);
static cse_code path_report(reader *r, const res *x, const jv *o);
static cse_code path_single(reader *r, const res *x, const char *type, bool *done);
static cse_code path_index_build(reader *r);
static cse_code bat_scan(reader *r, const res *x, const jv *o, const char *type);
static cse_code bat_index_build(reader *r);
static bool bat_skip(const reader *r, const res *x);
static bool bat_header(const reader *r, const res *x);
static cse_code bat_emit(reader *r, const res *x, cse_entry *e,
                         const cse_entry_info *info);
/* A RelatedPerson's name, kept for the allergies they asserted. */
static cse_code scan_person(reader *r, const res *x, const jv *o)
{
    char *name = name_text(jv_get(o, "name"));
    cse_code rc = CSE_OK;
    if (name && *name && cse__smap_put(&r->people, x->key, name, true) != CSE_OK)
        rc = nomem(r);
    free(name);
    return rc;
}

/* The notes of a Condition whose actualProblem is an allergy or an
 * immunisation: the sending adaptor writes them in that statement's
 * annotation, before its own notes, in Bundle order. */
static cse_code scan_problem_notes(reader *r, const jv *o)
{
    const jv *ext = jv_get(o, "extension"), *v, *n;
    const char *ref = NULL;
    char *k = NULL, *buf = NULL;
    size_t i, len = 0;
    FILE *f;
    cse_code rc = CSE_OK;

    jv_foreach(ext, i, v)
    {
        const char *u = jstr(v, "url");
        if (ref == NULL && u && strstr(u, "ActualProblem"))
            ref = jstr(jv_get(v, "valueReference"), "reference");
    }
    if (ref == NULL || (strstr(ref, "AllergyIntolerance/") == NULL &&
                        strstr(ref, "Immunization/") == NULL))
        return CSE_OK;
    n = jv_get(o, "note");
    jv_foreach(ext, i, v)
    {
        const char *u = jstr(v, "url");
        if (k == NULL && u && strstr(u, "ActualProblem"))
            k = ref_key(r, jv_get(v, "valueReference"));
    }
    if (k == NULL || jv_size(n) == 0) {
        free(k);
        return CSE_OK; /* nothing it could name, or nothing to add */
    }
    if ((f = cse__memstream(&buf, &len)) == NULL) {
        free(k);
        return nomem(r);
    }
    if (cse__smap_get(&r->problem_notes, k))
        fputs(cse__smap_get(&r->problem_notes, k), f);
    jv_foreach(n, i, v)
    {
        if (jstr(v, "text") && *jstr(v, "text"))
            fprintf(f, "%s%s", ftell(f) ? " " : "", jstr(v, "text"));
    }
    if (fclose(f) != 0 || buf == NULL)
        rc = nomem(r);
    else if (len && cse__smap_put(&r->problem_notes, k, buf, false) != CSE_OK)
        rc = nomem(r);
    free(buf);
    free(k);
    return rc;
}

/* GP Connect says who prescribed a drug (the practice, a previous one,
 * another organisation) on the MedicationStatement, not on the
 * MedicationRequests it is based on: kept for them, the first one winning,
 * as the sending adaptor takes it. */
static cse_code scan_agency(reader *r, const jv *o)
{
    const jv *v, *ag = NULL;
    const char *code;
    size_t i;

    jv_foreach(jv_get(o, "extension"), i, v)
    {
        const char *u = jstr(v, "url");
        if (ag == NULL && u && strstr(u, "PrescribingAgency"))
            ag = v;
    }
    code = jstr(jv_at(jv_get(jv_get(ag, "valueCodeableConcept"), "coding"), 0), "code");
    if (code == NULL || *code == '\0')
        return CSE_OK;
    jv_foreach(jv_get(o, "basedOn"), i, v)
    {
        char *k = ref_key(r, v);
        cse_code rc = k ? cse__smap_put(&r->agencies, k, code, true) : CSE_OK;
        free(k);
        if (rc != CSE_OK)
            return nomem(r);
    }
    return CSE_OK;
}

/* Pass 1: what the texts of referrals, plans and documents name. A name
 * is kept for each agent, device and related person (keyed "Type/id", as
 * two resources of different types may share an id); a request's supporting
 * information is only noted here and summarised before pass 2 (see
 * summarise()), so nothing is held for resources nobody names. */
static cse_code scan_texts(reader *r, const jv *o, const char *type, const char *id)
{
    char key[160], *name;
    const jv *v;
    size_t i;
    cse_code rc = CSE_OK;

    if (id && (size_t)snprintf(key, sizeof(key), "%s/%s", type, id) < sizeof(key) &&
        (name = cse__fhir_name_text(o, type)) != NULL) {
        rc = cse__smap_put(&r->texts, key, name, true);
        free(name);
    }
    if (strcmp(type, "ReferralRequest") == 0 || strcmp(type, "ProcedureRequest") == 0 ||
        strcmp(type, "ServiceRequest") == 0)
        jv_foreach(jv_get(o, "supportingInfo"), i, v)
        {
            char *k = ref_key(r, v);
            if (k && rc == CSE_OK)
                rc = cse__smap_put(&r->wanted, k, NULL, true);
            free(k);
        }
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* Pass 1 over one resource. */
static cse_code scan(reader *r, res *x, const jv *o)
{
    const char *type = jstr(o, "resourceType"), *id = jstr(o, "id");
    const jv *enc;
    cse_code rc;

    if (!jv_is_object(o))
        return fail_at(r, x, CSE_ERR_STRUCTURE, NULL,
                       "expected a FHIR resource (a JSON object)%s", "");
    if (type == NULL)
        return fail_at(r, x, CSE_ERR_STRUCTURE, "resourceType",
                       "not a FHIR resource: no resourceType%s", "");
    if ((rc = detect_version(r, x, o, type)) != CSE_OK)
        return rc;
    if (id != NULL && (x->key = keep(r, make_key(type, id))) == NULL)
        return nomem(r);
    if (x->key == NULL && strcmp(type, "Bundle") != 0) {
        /* A resource with no id still gets a stable key: its position. */
        char pos[64];
        snprintf(pos, sizeof(pos), "%lld", x->off);
        if ((x->key = keep(r, make_key(type, pos))) == NULL)
            return nomem(r);
    }
    if ((rc = path_scan(r, x, o, type)) != CSE_OK ||
        (rc = bat_scan(r, x, o, type)) != CSE_OK)
        return rc;
    if ((rc = scan_texts(r, o, type, id)) != CSE_OK)
        return rc;
    if (strcmp(type, "Patient") == 0) {
        x->kind = RK_PATIENT;
        return scan_patient(r, x, o);
    }
    if (strcmp(type, "Practitioner") == 0 || strcmp(type, "Organization") == 0) {
        x->kind = RK_AGENT;
        return scan_agent(r, x, o, type);
    }
    if (strcmp(type, "PractitionerRole") == 0) {
        x->kind = RK_ROLE;
        return scan_role(r, x, o);
    }
    if (strcmp(type, "Encounter") == 0) {
        x->kind = RK_ENCOUNTER;
        if (cse__smap_put(&r->encounters, x->key, NULL, true) != CSE_OK)
            return nomem(r);
        /* What it holds is as confidential as it is (see emit_entry). */
        if ((labels_of(o) & CSE_LABEL_NOPAT) &&
            cse__smap_put(&r->enc_nopat, x->key, NULL, true) != CSE_OK)
            return nomem(r);
        return CSE_OK;
    }
    if (strcmp(type, "List") == 0) {
        x->kind = RK_STRUCTURAL;
        return scan_list(r, x, o);
    }
    if (strcmp(type, "Medication") == 0) {
        x->kind = RK_STRUCTURAL;
        return scan_medication(r, x, o);
    }
    if (strcmp(type, "Location") == 0) {
        /* Only its name is kept, for the statements that name the place. */
        x->kind = RK_STRUCTURAL;
        if (x->key && jstr(o, "name") &&
            cse__smap_put(&r->places, x->key, jstr(o, "name"), true) != CSE_OK)
            return nomem(r);
        return CSE_OK;
    }
    if (type_in(type, STRUCTURAL_TYPES)) {
        x->kind = RK_STRUCTURAL;
        return CSE_OK;
    }
    if (strcmp(type, "Flag") == 0) {
        x->kind = RK_FLAG;
        if ((rc = scan_flag(r, o)) != CSE_OK)
            return rc;
    } else if (type_in(type, ENTRY_TYPES)) {
        x->kind = RK_ENTRY;
        if (strcmp(type, "Condition") == 0 && (rc = scan_problem_notes(r, o)) != CSE_OK)
            return rc;
        if (strcmp(type, "MedicationStatement") == 0 &&
            (rc = scan_agency(r, o)) != CSE_OK)
            return rc;
    } else {
        x->kind = RK_OTHER;
        /* Not mapped (counted as lost), but an allergy asserted by one
         * names them as the sending adaptor does. */
        if (strcmp(type, "RelatedPerson") == 0 && x->key)
            return scan_person(r, x, o);
        return CSE_OK;
    }
    if ((enc = own_encounter(o)) != NULL && (x->enc = keep(r, ref_key(r, enc))) == NULL &&
        jstr(enc, "reference"))
        return nomem(r);
    return CSE_OK;
}

/* ---- Pass 2: building entries ------------------------------------------ */

static const char *agent_key(reader *r, const jv *ref, char **owned)
{
    const char *prac;
    *owned = ref ? ref_key(r, ref) : NULL;
    if (*owned && (prac = cse__smap_get(&r->roles, *owned)) != NULL)
        return prac;
    return *owned;
}

static const cse_agent *find_agent(const reader *r, const char *key)
{
    for (size_t i = 0; key && i < r->agents.n; i++) {
        const cse_agent *a = r->agents.items[i];
        if (a->id && strcmp(a->id, key) == 0)
            return a;
    }
    return NULL;
}

static cse_code set_author(reader *r, cse_entry *e, const jv *ref)
{
    char *owned;
    const char *k = agent_key(r, ref, &owned);
    cse_code rc = cse_strset(&e->author_ref, k);
    free(owned);
    return rc;
}

/* Reads effective[x]-style fields: name + "DateTime" / "Period" / plain. */
static cse_code read_effective(reader *r, const res *x, const jv *o, const char *base,
                               cse_entry *e)
{
    char key[64], field[96];
    const jv *period;
    cse_code rc;

    snprintf(key, sizeof(key), "%sDateTime", base);
    if ((rc = read_time(r, x, o, key, key, &e->effective_center)) != CSE_OK)
        return rc;
    snprintf(key, sizeof(key), "%sPeriod", base);
    if ((period = jv_get(o, key)) != NULL) {
        snprintf(field, sizeof(field), "%s.start", key);
        if ((rc = read_time(r, x, period, "start", field, &e->effective_low)) != CSE_OK)
            return rc;
        snprintf(field, sizeof(field), "%s.end", key);
        if ((rc = read_time(r, x, period, "end", field, &e->effective_high)) != CSE_OK)
            return rc;
    }
    return CSE_OK;
}

static cse_code add_notes(cse_entry *e, const jv *o)
{
    const jv *notes = jv_get(o, "note"), *v;
    size_t i;
    cse_code rc = CSE_OK;

    if (jstr(o, "comment"))
        rc = cse_entry_add_annotation(e, jstr(o, "comment"));
    jv_foreach(notes, i, v)
    {
        if (rc == CSE_OK && jstr(v, "text"))
            rc = cse_entry_add_annotation(e, jstr(v, "text"));
    }
    if (rc == CSE_OK && jv_is_object(notes) && jstr(notes, "text"))
        rc = cse_entry_add_annotation(e, jstr(notes, "text"));
    return rc;
}

static char *number_text(const jv *n);

/* A FHIR Quantity into q (zeroed); nothing when it has no number. */
static cse_code read_quantity(const jv *fq, cse_quantity *q)
{
    char *num = number_text(jv_get(fq, "value"));
    cse_code rc;
    if (num == NULL)
        return CSE_OK;
    rc = cse_quantity_set(q, num, jstr(fq, "unit"), jstr(fq, "code"));
    free(num);
    if (rc == CSE_OK && jstr(fq, "comparator"))
        rc = cse_strset(&q->comparator, jstr(fq, "comparator"));
    return rc;
}

static bool same_str(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0);
}

/* The typed parts of an Observation: its value, interpretation and
 * reference ranges (the text form stays in `value`). */
static cse_code observation_typed(cse_entry *e, const jv *o)
{
    const jv *v, *interp = jv_get(o, "interpretation");
    size_t i;
    cse_code rc = CSE_OK;

    if ((v = jv_get(o, "valueQuantity")) != NULL && jv_get(v, "value")) {
        e->val.kind = CSE_VALUE_QUANTITY;
        rc = read_quantity(v, &e->val.quantity);
    } else if ((v = jv_get(o, "valueCodeableConcept")) != NULL) {
        e->val.kind = CSE_VALUE_CODED;
        rc = read_concept(v, &e->val.coded);
    } else if (jstr(o, "valueString")) {
        e->val.kind = CSE_VALUE_TEXT;
        rc = cse_strset(&e->val.text, jstr(o, "valueString"));
    } else if ((v = jv_get(o, "valueRange")) != NULL) {
        e->val.kind = CSE_VALUE_RANGE;
        rc = read_quantity(jv_get(v, "low"), &e->val.range.low);
        if (rc == CSE_OK)
            rc = read_quantity(jv_get(v, "high"), &e->val.range.high);
    }
    if (jv_is_array(interp))
        interp = jv_at(interp, 0);
    if (rc == CSE_OK && interp)
        rc = read_concept(interp, &e->interpretation);
    /* The coding the clinician picked speaks for the interpretation (the
     * adaptor's text names it): it goes first. */
    if (rc == CSE_OK && interp) {
        const jv *k, *us = NULL;
        jv_foreach(jv_get(interp, "coding"), i, k)
        {
            const jv *flag = jv_get(k, "userSelected");
            if (us == NULL && flag && flag->type == JV_TRUE && jstr(k, "code"))
                us = k;
        }
        for (i = 1; us && i < e->interpretation.n; i++) {
            cse_coding picked = e->interpretation.codings[i];
            if (strcmp(picked.code, jstr(us, "code")) != 0 ||
                !same_str(picked.system, jstr(us, "system")) ||
                !same_str(picked.display, jstr(us, "display")))
                continue;
            memmove(&e->interpretation.codings[1], &e->interpretation.codings[0],
                    i * sizeof(picked));
            e->interpretation.codings[0] = picked;
            break;
        }
    }
    jv_foreach(jv_get(o, "referenceRange"), i, v)
    {
        cse_range r = {0};
        if (rc == CSE_OK)
            rc = read_quantity(jv_get(v, "low"), &r.low);
        if (rc == CSE_OK)
            rc = read_quantity(jv_get(v, "high"), &r.high);
        if (rc == CSE_OK)
            rc = cse_strset(&r.text, jstr(v, "text"));
        if (rc == CSE_OK && jv_get(v, "type"))
            rc = read_concept(jv_get(v, "type"), &r.type);
        if (rc == CSE_OK)
            rc = cse_entry_add_ref_range(e, &r);
        cse_range_clear(&r);
    }
    return rc;
}

static cse_code observation_value(cse_entry *e, const jv *o)
{
    const jv *q = jv_get(o, "valueQuantity");

    if (jv_is_object(q) && jv_is_number(jv_get(q, "value"))) {
        const jv *n = jv_get(q, "value");
        const char *unit = jstr(q, "unit") ? jstr(q, "unit") : jstr(q, "code");
        char *v;
        cse_code rc;
        /* The number as the source wrote it (its precision is meaningful in
         * FHIR, and no locale can turn its '.' into a ','). */
        if (asprintf(&v, "%.*s%s%s", (int)n->len, n->s, unit ? " " : "",
                     unit ? unit : "") < 0)
            return CSE_ERR_NOMEM;
        rc = cse_strset(&e->value, v);
        free(v);
        return rc;
    }
    if (jstr(o, "valueString"))
        return cse_strset(&e->value, jstr(o, "valueString"));
    if (jv_get(o, "valueCodeableConcept")) {
        const jv *cc = jv_get(o, "valueCodeableConcept");
        const char *t = jstr(cc, "text");
        if (t == NULL)
            t = jstr(jv_at(jv_get(cc, "coding"), 0), "display");
        return cse_strset(&e->value, t);
    }
    return CSE_OK;
}

/* Builds the marker of a Flag or of a marker Observation. NULL with err
 * set, or NULL with *not_usable set when it has no usable start date. */
static cse_marker *build_marker(reader *r, const res *x, const jv *o, bool flag,
                                const cse_concept *c, bool *not_usable)
{
    const char *code = cse_concept_marker_code(c), *mid, *status;
    const jv *period = jv_get(o, flag ? "period" : "effectivePeriod"), *ext;
    cse_time start = {0}, end = {0}, review = {0}, last = {0};
    cse_marker *m = NULL;
    cse_error tmp;
    char *owned = NULL, *id = NULL;
    const char *author;
    const cse_agent *a;
    const cse_coding *primary = NULL;

    *not_usable = false;
    if (read_time(r, x, period, "start", flag ? "period.start" : "effectivePeriod.start",
                  &start) != CSE_OK ||
        read_time(r, x, period, "end", flag ? "period.end" : "effectivePeriod.end",
                  &end) != CSE_OK)
        return NULL;
    if (start.precision == CSE_TIME_NONE && !flag &&
        read_time(r, x, o, "effectiveDateTime", "effectiveDateTime", &start) != CSE_OK)
        return NULL;
    if (start.precision < CSE_TIME_DAY) {
        *not_usable = true;
        return NULL;
    }
    if ((ext = extension(o, CSE_FHIR_EXT_REVIEW_DATE)) != NULL &&
        read_time(r, x, ext, "valueDate", "extension(cse-review-date).valueDate",
                  &review) != CSE_OK)
        return NULL;
    if ((ext = extension(o, CSE_FHIR_EXT_LAST_REVIEWED)) != NULL &&
        read_time(r, x, ext, "valueDate", "extension(cse-last-reviewed).valueDate",
                  &last) != CSE_OK)
        return NULL;
    mid = identifier_value(o, CSE_FHIR_MARKER_ID_SYSTEM);
    if (mid && uuid_like(mid))
        id = make_key("", mid);
    else
        id = strdup(x->key);
    if (id == NULL) {
        nomem(r);
        return NULL;
    }
    cse_error_clear(&tmp);
    m = cse_marker_new(code, &start, review.precision ? &review : NULL, 0, id, &tmp);
    free(id);
    if (m == NULL) {
        fail_at(r, x, tmp.code,
                review.precision ? "extension(cse-review-date).valueDate" : "code", "%s",
                tmp.message);
        return NULL;
    }
    /* Keep the codes it arrived with, other than the marker code itself. */
    for (size_t i = 0; i < c->n; i++) {
        if (primary == NULL && strcmp(c->codings[i].code, code) == 0) {
            primary = &c->codings[i];
            continue;
        }
        if (cse_concept_add(&m->legacy, c->codings[i].system, c->codings[i].code,
                            c->codings[i].display) != CSE_OK)
            goto nomem;
    }
    if (primary && primary->display && cse_strset(&m->display, primary->display))
        goto nomem;
    if (last.precision >= CSE_TIME_DAY) {
        last.hour = last.minute = last.second = 0;
        last.precision = CSE_TIME_DAY;
        m->last_reviewed = last;
    }
    status = jstr(o, "status");
    if (status && strcmp(status, "entered-in-error") == 0)
        m->status = CSE_MARKER_ENTERED_IN_ERROR;
    else if (flag && status && strcmp(status, "inactive") == 0)
        m->status = CSE_MARKER_INACTIVE;
    else if (!flag && end.precision)
        m->status = CSE_MARKER_INACTIVE;
    if (end.precision) {
        if (cse_time_compare(&end, &start) < 0) {
            fail_at(r, x, CSE_ERR_DATE, flag ? "period.end" : "effectivePeriod.end",
                    "the marker ends before it starts%s", "");
            goto fail;
        }
        m->end = end;
        if (m->status == CSE_MARKER_ACTIVE)
            m->status = CSE_MARKER_INACTIVE;
    }
    if ((ext = extension(o, CSE_FHIR_EXT_END_REASON)) != NULL) {
        const char *reason = jstr(jv_get(ext, "valueCoding"), "code");
        if (reason == NULL)
            reason = jstr(ext, "valueCode");
        if (!cse_end_reason_valid(reason)) {
            fail_at(r, x, CSE_ERR_STATE, "extension(cse-end-reason)",
                    "not a cse-marker-end-reason code%s", "");
            goto fail;
        }
        if (cse_strset(&m->end_reason, reason))
            goto nomem;
    }
    author = agent_key(r, flag ? jv_get(o, "author") : jv_at(jv_get(o, "performer"), 0),
                       &owned);
    if (cse_strset(&m->author_id, author))
        goto nomem;
    if ((a = find_agent(r, author)) != NULL) {
        const cse_agent *org = find_agent(r, cse__smap_get(&r->prac_org, author));
        if (a->kind == CSE_AGENT_PERSON && cse_strset(&m->author_name, a->name))
            goto nomem;
        if (cse_strset(&m->org_ods, a->kind == CSE_AGENT_ORGANISATION ? a->ods
                                    : org                             ? org->ods
                                                                      : NULL))
            goto nomem;
    }
    free(owned);
    m->labels = labels_of(o);
    if (cse_strset(&m->entry_id, m->id))
        goto nomem;
    return m;
nomem:
    nomem(r);
fail:
    free(owned);
    cse_marker_free(m);
    return NULL;
}

static cse_code deliver(reader *r, cse_entry *e, const cse_entry_info *info)
{
    cse_code rc = r->held_enc ? release_encounter(r) : CSE_OK;
    if (rc == CSE_OK)
        rc = r->sink->entry(r->sink, e, info, r->err);
    if (rc == CSE_OK) {
        r->sum.entries++;
        r->sum.markers += info->cls == CSE_CLASS_MARKER;
        r->sum.candidates += info->cls == CSE_CLASS_CANDIDATE;
    }
    return rc;
}

static cse_code emit_marker(reader *r, const res *x, const jv *o, bool flag,
                            const cse_concept *c, bool *done)
{
    bool not_usable;
    cse_marker *m = build_marker(r, x, o, flag, c, &not_usable);
    cse_entry *e;
    cse_entry_info info = {CSE_CLASS_MARKER, CSE_CANDIDATE_NONE, NULL};
    cse_code rc;

    *done = false;
    if (m == NULL)
        return not_usable ? CSE_OK : (r->err ? r->err->code : CSE_ERR_STRUCTURE);
    if ((e = cse_marker_to_entry(m)) == NULL ||
        cse_strset(&e->parent_id, r->parent ? r->parent : x->enc) != CSE_OK) {
        cse_entry_free(e);
        cse_marker_free(m);
        return nomem(r);
    }
    e->source_line = x->line;
    info.marker = m;
    rc = deliver(r, e, &info);
    cse_entry_free(e);
    cse_marker_free(m);
    *done = true;
    return rc;
}

static cse_entry_kind entry_kind(const char *type)
{
    if (strcmp(type, "Condition") == 0)
        return CSE_ENTRY_PROBLEM;
    if (strcmp(type, "AllergyIntolerance") == 0)
        return CSE_ENTRY_ALLERGY;
    if (strcmp(type, "Immunization") == 0)
        return CSE_ENTRY_IMMUNIZATION;
    if (strcmp(type, "MedicationStatement") == 0 ||
        strcmp(type, "MedicationRequest") == 0)
        return CSE_ENTRY_MEDICATION;
    if (strcmp(type, "ProcedureRequest") == 0 || strcmp(type, "ServiceRequest") == 0)
        return CSE_ENTRY_PLAN;
    if (strcmp(type, "ReferralRequest") == 0)
        return CSE_ENTRY_REQUEST;
    if (strcmp(type, "DocumentReference") == 0)
        return CSE_ENTRY_ATTACHMENT;
    if (strcmp(type, "Encounter") == 0)
        return CSE_ENTRY_ENCOUNTER;
    return CSE_ENTRY_OBSERVATION;
}

/* The code of an entry, by resource type. */
static const jv *code_of(const jv *o, const char *type)
{
    const jv *c;
    if (strcmp(type, "Immunization") == 0) {
        /* The procedure, as the sending adaptor codes an immunisation (GP
         * Connect's vaccineCode is "unknown"); else the vaccine. */
        if ((c = jv_get(extension(o, "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                                     "Extension-CareConnect-VaccinationProcedure-1"),
                        "valueCodeableConcept")) != NULL ||
            (c = jv_get(extension(o, "https://fhir.hl7.org.uk/StructureDefinition/"
                                     "Extension-UKCore-VaccinationProcedure"),
                        "valueCodeableConcept")) != NULL)
            return c;
        return jv_get(o, "vaccineCode");
    }
    if (strcmp(type, "MedicationStatement") == 0 ||
        strcmp(type, "MedicationRequest") == 0)
        return jv_get(o, "medicationCodeableConcept");
    if (strcmp(type, "ReferralRequest") == 0) {
        /* The first reason, as the sending adaptor codes a referral; the
         * services requested are in its text. */
        if ((c = jv_at(jv_get(o, "reasonCode"), 0)) != NULL)
            return c;
        if ((c = jv_at(jv_get(o, "serviceRequested"), 0)) != NULL)
            return c;
        return jv_get(o, "code"); /* R4 ServiceRequest: what is asked for */
    }
    if (strcmp(type, "DocumentReference") == 0)
        return jv_get(o, "type");
    if (strcmp(type, "Encounter") == 0)
        return jv_at(jv_get(o, "type"), 0);
    return jv_get(o, "code");
}

/* Dates by resource type: effective (low/high/center) and availability. */
static cse_code entry_times(reader *r, const res *x, const jv *o, const char *type,
                            cse_entry *e)
{
    cse_code rc = CSE_OK;
    const jv *p;

    if (strcmp(type, "Observation") == 0) {
        /* The adaptor dates the statement by its effective time alone
         * (unknown when there is none), not by when the result was issued. */
        rc = read_effective(r, x, o, "effective", e);
    } else if (strcmp(type, "Condition") == 0 ||
               strcmp(type, "AllergyIntolerance") == 0) {
        rc = read_time(r, x, o, "onsetDateTime", "onsetDateTime", &e->effective_low);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "abatementDateTime", "abatementDateTime",
                           &e->effective_high);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "assertedDate", "assertedDate", &e->availability);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "recordedDate", "recordedDate", &e->availability);
    } else if (strcmp(type, "Immunization") == 0) {
        rc = read_time(r, x, o, "date", "date", &e->effective_center);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "occurrenceDateTime", "occurrenceDateTime",
                           &e->effective_center);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "recorded", "recorded", &e->availability);
    } else if (strcmp(type, "MedicationRequest") == 0) {
        const jv *vp = jv_get(jv_get(o, "dispenseRequest"), "validityPeriod");
        rc = read_time(r, x, o, "authoredOn", "authoredOn", &e->availability);
        if (rc == CSE_OK)
            rc = read_time(r, x, vp, "start", "dispenseRequest.validityPeriod.start",
                           &e->effective_low);
        if (rc == CSE_OK)
            rc = read_time(r, x, vp, "end", "dispenseRequest.validityPeriod.end",
                           &e->effective_high);
    } else if (strcmp(type, "MedicationStatement") == 0) {
        rc = read_effective(r, x, o, "effective", e);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "dateAsserted", "dateAsserted", &e->availability);
    } else if (strcmp(type, "Encounter") == 0) {
        if ((p = jv_get(o, "period")) != NULL) {
            rc = read_time(r, x, p, "start", "period.start", &e->effective_low);
            if (rc == CSE_OK)
                rc = read_time(r, x, p, "end", "period.end", &e->effective_high);
        }
    } else if (strcmp(type, "DocumentReference") == 0) {
        rc = read_time(r, x, o, "created", "created", &e->effective_center);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "indexed", "indexed", &e->availability);
        if (rc == CSE_OK)
            rc = read_time(r, x, o, "date", "date", &e->availability);
    } else {
        /* Requests: authoredOn, and an occurrence when there is one. */
        rc = read_time(r, x, o, "authoredOn", "authoredOn", &e->availability);
        if (rc == CSE_OK)
            rc = read_effective(r, x, o, "occurrence", e);
    }
    /* An allergy without assertedDate stays undated (the adaptor writes
     * nullFlavor UNK): its onset is when it began, not when it was recorded. */
    if (rc == CSE_OK && e->availability.precision == CSE_TIME_NONE &&
        strcmp(type, "AllergyIntolerance") != 0)
        e->availability = e->effective_low.precision         ? e->effective_low
                          : e->effective_center.precision    ? e->effective_center
                          : strcmp(type, "Observation") != 0 ? e->effective_high
                                                             : e->availability;
    return rc;
}

static const jv *author_ref_of(const jv *o, const char *type)
{
    const jv *v;
    if (strcmp(type, "Observation") == 0)
        return jv_at(jv_get(o, "performer"), 0);
    if (strcmp(type, "Condition") == 0)
        return (v = jv_get(o, "asserter")) ? v : jv_get(o, "recorder");
    if (strcmp(type, "AllergyIntolerance") == 0)
        return (v = jv_get(o, "recorder")) ? v : jv_get(o, "asserter");
    if (strcmp(type, "Immunization") == 0) {
        v = jv_at(jv_get(o, "practitioner"), 0);
        if (v == NULL)
            v = jv_at(jv_get(o, "performer"), 0);
        return jv_get(v, "actor");
    }
    if (strcmp(type, "Encounter") == 0)
        return jv_get(jv_at(jv_get(o, "participant"), 0), "individual");
    if (strcmp(type, "MedicationStatement") == 0)
        return jv_get(o, "informationSource");
    if (strcmp(type, "DocumentReference") == 0)
        return jv_at(jv_get(o, "author"), 0);
    if ((v = jv_get(o, "requester")) != NULL)
        return jv_get(v, "agent") ? jv_get(v, "agent") : v;
    return jv_get(o, "recorder");
}

/* ---- Encounters ---------------------------------------------------------- */

/* The ehrComposition names the sending adaptor accepts as an Encounter's
 * type (its ehr_composition_name_vocabulary_codes.txt); any other type is
 * written "Other report" with the type's text. */
static const char *const COMPOSITION_NAMES[] = {"24561000000109",
                                                "37361000000105",
                                                "37351000000107",
                                                "37341000000109",
                                                "37331000000100",
                                                "15611000000104",
                                                "37321000000102",
                                                "24571000000102",
                                                "25561000000105",
                                                "24581000000100",
                                                "25571000000103",
                                                "24591000000103",
                                                "25581000000101",
                                                "37311000000108",
                                                "37301000000106",
                                                "37281000000105",
                                                "37291000000107",
                                                "24601000000109",
                                                "25591000000104",
                                                "25601000000105",
                                                "24611000000106",
                                                "25611000000107",
                                                "24621000000100",
                                                "25631000000104",
                                                "25621000000101",
                                                "25641000000108",
                                                "24631000000103",
                                                "25651000000106",
                                                "24641000000107",
                                                "25661000000109",
                                                "24651000000105",
                                                "24661000000108",
                                                "25671000000102",
                                                "25681000000100",
                                                "25691000000103",
                                                "25701000000103",
                                                "24671000000101",
                                                "25711000000101",
                                                "24681000000104",
                                                "24691000000102",
                                                "24701000000102",
                                                "25741000000100",
                                                "25731000000109",
                                                "37271000000108",
                                                "24711000000100",
                                                "24721000000106",
                                                "24881000000103",
                                                "25751000000102",
                                                "25761000000104",
                                                "24731000000108",
                                                "25771000000106",
                                                "25791000000105",
                                                "25781000000108",
                                                "24741000000104",
                                                "25801000000109",
                                                "109341000000100",
                                                "24751000000101",
                                                "25811000000106",
                                                NULL};

/* The individual of the first participant whose type has that code. */
static const jv *participant_with(const jv *o, const char *code)
{
    const jv *p, *t, *k;
    size_t i, j, m;
    jv_foreach(jv_get(o, "participant"), i, p)
    {
        jv_foreach(jv_get(p, "type"), j, t)
        {
            jv_foreach(jv_get(t, "coding"), m, k)
            {
                if (jstr(k, "code") && strcmp(jstr(k, "code"), code) == 0 &&
                    jstr(jv_get(p, "individual"), "reference"))
                    return jv_get(p, "individual");
            }
        }
    }
    return NULL;
}

/* An Encounter as the adaptor's EncounterMapper writes its ehrComposition:
 * the type when it is a composition name (else "Other report" and the
 * type's text), a point time when only the start is known, the recorder as
 * author and the performer as Participant2, the place by name, and when
 * the consultation was recorded (its List's date) as author/time. */
static cse_code encounter_details(reader *r, const res *x, const jv *o, cse_entry *e)
{
    const jv *type = jv_at(jv_get(o, "type"), 0), *k, *rec, *prf;
    const char *code = NULL, *display = NULL, *text = jstr(type, "text"), *date;
    cse_concept c = {0};
    size_t i;
    char *owned, *loc;
    cse_code rc = CSE_OK;

    jv_foreach(jv_get(type, "coding"), i, k)
    {
        const char *sys = jstr(k, "system"), *kc = jstr(k, "code");
        if (code == NULL && sys && kc && strcmp(sys, CSE_SYSTEM_SNOMED) == 0 &&
            type_in(kc, COMPOSITION_NAMES))
            code = kc, display = jstr(k, "display");
    }
    if (code == NULL) {
        code = "24591000000103";
        display = "Other report";
        if (text == NULL)
            text = jstr(jv_at(jv_get(type, "coding"), 0), "display");
    }
    if (type != NULL) {
        if ((rc = cse_concept_add(&c, CSE_SYSTEM_SNOMED, code, display)) == CSE_OK)
            rc = cse_concept_set_text(&c, text);
        /* A type that is not a composition name stays, as a translation. */
        for (i = 0; rc == CSE_OK && i < e->code.n; i++)
            if (e->code.codings[i].code && strcmp(e->code.codings[i].code, code) != 0)
                rc = cse_concept_add(&c, e->code.codings[i].system,
                                     e->code.codings[i].code, e->code.codings[i].display);
        if (rc != CSE_OK) {
            cse_concept_clear(&c);
            return nomem(r);
        }
        cse_concept_clear(&e->code);
        e->code = c;
    }
    if (e->effective_low.precision && !e->effective_high.precision) {
        e->effective_center = e->effective_low;
        memset(&e->effective_low, 0, sizeof(e->effective_low));
    }
    if ((rec = participant_with(o, "REC")) != NULL)
        rc = set_author(r, e, rec);
    if (rc == CSE_OK && (prf = participant_with(o, "PPRF")) != NULL) {
        const char *ak = agent_key(r, prf, &owned);
        rc = cse_strset(&e->enc.performer_ref, ak);
        free(owned);
    }
    if (rc == CSE_OK &&
        (loc = ref_key(r, jv_get(jv_at(jv_get(o, "location"), 0), "location"))) != NULL) {
        const char *name = cse__smap_get(&r->places, loc);
        free(loc);
        if (name && (rc = cse_strset(&e->enc.location_name, name)) == CSE_OK)
            rc = cse_concept_add(&e->enc.location_type, CSE_SYSTEM_SNOMED, "394730007",
                                 "Healthcare related organisation");
    }
    date = x->key ? cse__smap_get(&r->consult_dates, x->key) : NULL;
    if (rc == CSE_OK && date && cse_time_parse_fhir(date, &e->enc.authored) != CSE_OK)
        memset(&e->enc.authored, 0, sizeof(e->enc.authored));
    return rc == CSE_OK ? CSE_OK : nomem(r);
}

/* ---- Medication requests ----------------------------------------------- */

#define GPC_EXT "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-"
#define UKCORE_EXT "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-"

/* An extension by the tail of its URL, GP Connect (STU3) or UK Core (R4). */
static const jv *ext_named(const jv *o, const char *gpc, const char *ukcore)
{
    char url[160];
    const jv *v;
    snprintf(url, sizeof(url), GPC_EXT "%s", gpc);
    if ((v = extension(o, url)) != NULL)
        return v;
    snprintf(url, sizeof(url), UKCORE_EXT "%s", ukcore);
    return extension(o, url);
}

/* A number as the source wrote it, or NULL. */
static char *number_text(const jv *n)
{
    char *s;
    if (!jv_is_number(n))
        return NULL;
    if (asprintf(&s, "%.*s", (int)n->len, n->s) < 0)
        return NULL;
    return s;
}

/* "Patient Instruction: .. Expected Supply Duration: 28 days Notes: ..": the
 * supply annotation the sending adaptor writes from a MedicationRequest. */
static cse_code supply_note(cse_supply *sp, const jv *o)
{
    const jv *dose = jv_at(jv_get(o, "dosageInstruction"), 0), *v;
    const jv *dur = jv_get(jv_get(o, "dispenseRequest"), "expectedSupplyDuration");
    char *buf = NULL, *num;
    size_t len = 0, i;
    FILE *f = cse__memstream(&buf, &len);
    bool notes = false;
    cse_code rc = CSE_OK;

    if (f == NULL)
        return CSE_ERR_NOMEM;
    if (jstr(dose, "patientInstruction"))
        fprintf(f, "Patient Instruction: %s", jstr(dose, "patientInstruction"));
    if ((num = number_text(jv_get(dur, "value"))) != NULL) {
        /* A UCUM time code is named as the adaptor names it ("d": days). */
        static const char *const times[][2] = {
            {"s", "seconds"}, {"min", "minute"}, {"h", "hours"}, {"d", "days"},
            {"wk", "weeks"},  {"mo", "months"},  {"a", "years"}};
        const char *unit = jstr(dur, "unit") ? jstr(dur, "unit") : jstr(dur, "code");
        const char *code = jstr(dur, "code"), *named = NULL;
        for (i = 0; code && i < sizeof(times) / sizeof(times[0]); i++)
            if (strcmp(code, times[i][0]) == 0)
                named = times[i][1];
        if (named)
            fprintf(f, "%sExpected Supply Duration: %s %s", ftell(f) ? " " : "", num,
                    named);
        else
            fprintf(f, "%sExpected Supply Duration: %s%s%s%s", ftell(f) ? " " : "", num,
                    unit ? " " : "", unit ? unit : "",
                    unit && strcmp(num, "1") != 0 && unit[strlen(unit) - 1] != 's' ? "s"
                                                                                   : "");
        free(num);
    }
    jv_foreach(jv_get(o, "note"), i, v)
    {
        if (jstr(v, "text") == NULL)
            continue;
        fprintf(f, "%s%s%s", ftell(f) ? " " : "",
                notes ? "" : "Notes: ", jstr(v, "text"));
        notes = true;
    }
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return CSE_ERR_NOMEM;
    }
    if (len)
        rc = cse_supply_add_note(sp, buf);
    free(buf);
    return rc;
}

/* A MedicationRequest: a plan becomes an authorisation (with its repeats,
 * quantity, prescription type, and a discontinuation when it was stopped),
 * an order an issue that fulfils the plan it is based on, as the national
 * sending adaptor writes them. The drug is already the entry's code. */
static cse_code medication_request(reader *r, const jv *o, cse_entry *e)
{
    const char *intent = jstr(o, "intent"), *status = jstr(o, "status");
    bool plan = intent == NULL || strcmp(intent, "order") != 0;
    const jv *disp = jv_get(o, "dispenseRequest"), *q = jv_get(disp, "quantity");
    const jv *ptype = ext_named(o, "PrescriptionType-1", "MedicationPrescriptionType");
    const jv *rep =
        ext_named(o, "MedicationRepeatInformation-1", "MedicationRepeatInformation");
    const jv *reason = ext_named(o, "MedicationStatusReason-1", "MedicationStatusReason");
    const jv *agency = ext_named(o, "PrescribingAgency-1", "MedicationPrescribingAgency");
    const jv *v;
    cse_supply *sp;
    char *num, *prior;
    size_t i;
    cse_code rc = CSE_OK;

    if (cse_strset(&e->mood_code, plan ? "INT" : "ORD") != CSE_OK ||
        cse_strset(&e->med.dosage,
                   jstr(jv_at(jv_get(o, "dosageInstruction"), 0), "text")) != CSE_OK)
        return CSE_ERR_NOMEM;
    if ((sp = cse_medication_add_supply(
             &e->med, plan ? CSE_SUPPLY_AUTHORISE : CSE_SUPPLY_PRESCRIBE, e->id)) == NULL)
        return CSE_ERR_NOMEM;
    sp->status = strdup(status && strcmp(status, "active") != 0 ? "COMPLETE" : "ACTIVE");
    sp->effective_low = e->effective_low;
    sp->effective_high = e->effective_high;
    sp->availability = e->availability;
    sp->repeats = -1;
    if (sp->status == NULL || cse_strset(&sp->author_ref, e->author_ref) != CSE_OK)
        return CSE_ERR_NOMEM;
    /* Who pays: the prescribing agency (on the request, else on the
     * MedicationStatement based on it), NHS Prescription unless another
     * organisation prescribed it. */
    {
        char *k = make_key("MedicationRequest", jstr(o, "id"));
        const char *ac = jstr(
            jv_at(jv_get(jv_get(agency, "valueCodeableConcept"), "coding"), 0), "code");
        if (ac == NULL && k)
            ac = cse__smap_get(&r->agencies, k);
        free(k);
        if (ac && strcmp(ac, "prescribed-by-another-organisation") == 0)
            rc = cse_concept_add(&sp->code, CSE_SYSTEM_SNOMED, "394828003",
                                 "Prescription by another organisation");
        else if (ac == NULL && agency && jv_get(agency, "valueCodeableConcept"))
            rc = read_concept(jv_get(agency, "valueCodeableConcept"), &sp->code);
        else if (ac && strcmp(ac, "prescribed-at-gp-practice") != 0 &&
                 strcmp(ac, "prescribed-by-previous-practice") != 0 && agency)
            rc = read_concept(jv_get(agency, "valueCodeableConcept"), &sp->code);
    }
    if (rc == CSE_OK && sp->code.n == 0)
        rc = cse_concept_add(&sp->code, CSE_SYSTEM_SNOMED, "394823007",
                             "NHS Prescription");
    if (rc == CSE_OK && ptype) {
        const jv *k = jv_at(jv_get(jv_get(ptype, "valueCodeableConcept"), "coding"), 0);
        const char *t = jstr(k, "display") ? jstr(k, "display") : jstr(k, "code");
        rc = cse_strset(&e->med.prescription_type, t);
        if (plan && jstr(k, "code") && strcmp(jstr(k, "code"), "acute") == 0)
            sp->repeats = 0;
    }
    if (plan && sp->repeats < 0) {
        sp->repeats = 1;
        jv_foreach(jv_get(rep, "extension"), i, v)
        {
            const char *u = jstr(v, "url");
            const jv *n = jv_get(v, "valueUnsignedInt");
            if (n == NULL)
                n = jv_get(v, "valuePositiveInt");
            if (u && strcmp(u, "numberOfRepeatPrescriptionsAllowed") == 0 &&
                jv_is_number(n))
                sp->repeats = atoi(n->s);
        }
    }
    if (rc == CSE_OK && (num = number_text(jv_get(q, "value"))) != NULL) {
        rc = cse_quantity_set(&sp->quantity, num, jstr(q, "unit"), jstr(q, "code"));
        free(num);
    }
    if (rc == CSE_OK) {
        const jv *qt = extension(disp, GPC_EXT "MedicationQuantityText-1");
        if (qt == NULL)
            qt = extension(disp, UKCORE_EXT "MedicationQuantityText");
        /* The adaptor's fixtures also carry it on the quantity itself. */
        if (qt == NULL)
            qt = extension(q, GPC_EXT "MedicationQuantityText-1");
        if (qt == NULL)
            qt = extension(q, UKCORE_EXT "MedicationQuantityText");
        rc = cse_strset(&sp->quantity_text, jstr(qt, "valueString")
                                                ? jstr(qt, "valueString")
                                                : jstr(q, "unit"));
    }
    if (rc == CSE_OK)
        rc = supply_note(sp, o);
    if (rc == CSE_OK && !plan &&
        (prior = ref_key(r, jv_at(jv_get(o, "basedOn"), 0))) != NULL) {
        rc = cse_strset(&sp->prior_id, prior);
        if (rc == CSE_OK)
            rc = cse_entry_add_ref(e, prior, "fulfils");
        free(prior);
    }
    if (rc != CSE_OK || !plan ||
        (reason == NULL && (status == NULL || strcmp(status, "stopped") != 0)))
        return rc;
    /* Stopped: a discontinuation naming the authorisation, with its reason. */
    {
        char did[200];
        const jv *why = NULL, *when = NULL;
        cse_supply *dc;
        jv_foreach(jv_get(reason, "extension"), i, v)
        {
            const char *u = jstr(v, "url");
            if (u && strcmp(u, "statusReason") == 0)
                why = jv_get(v, "valueCodeableConcept");
            else if (u && strcmp(u, "statusChangeDate") == 0)
                when = v;
        }
        snprintf(did, sizeof(did), "%s#discontinue", e->id ? e->id : "");
        if ((dc = cse_medication_add_supply(&e->med, CSE_SUPPLY_DISCONTINUE, did)) ==
            NULL)
            return CSE_ERR_NOMEM;
        /* sp may have moved: find the authorisation again. */
        sp = cse_medication_find_supply(&e->med, e->id);
        dc->status = strdup("COMPLETE");
        dc->repeats = -1;
        if (dc->status == NULL || cse_strset(&dc->prior_id, e->id) != CSE_OK ||
            cse_strset(&dc->author_ref, e->author_ref) != CSE_OK)
            return CSE_ERR_NOMEM;
        bool unknown = false;
        if ((rc = read_concept(why, &dc->code)) == CSE_OK && dc->code.n == 0 &&
            dc->code.text == NULL) {
            /* No reason given: the writer says so (an annotation with
             * nullFlavor UNK), as the adaptor does. */
            unknown = true;
            rc = cse_concept_set_text(&dc->code, "Stopped");
        }
        if (rc == CSE_OK && jstr(when, "valueDateTime") &&
            cse_time_parse_fhir(jstr(when, "valueDateTime"), &dc->availability) != CSE_OK)
            dc->availability.precision = CSE_TIME_NONE;
        if (rc == CSE_OK && dc->availability.precision == CSE_TIME_NONE && sp)
            dc->availability =
                sp->effective_high.precision ? sp->effective_high : sp->availability;
        if (rc == CSE_OK && !unknown)
            rc = cse_supply_add_note(dc, dc->code.text ? dc->code.text
                                         : dc->code.n && dc->code.codings[0].display
                                             ? dc->code.codings[0].display
                                             : "Stopped");
        if (rc == CSE_OK)
            rc = cse_entry_add_ref(e, did, "reverses");
    }
    return rc;
}

/* ---- Allergies --------------------------------------------------------- */

/* The first letter upper-cased ("resolved" -> "Resolved"), into buf. */
static const char *capital(const char *s, char *buf, size_t size)
{
    snprintf(buf, size, "%s", s ? s : "");
    if (buf[0] >= 'a' && buf[0] <= 'z')
        buf[0] = (char)(buf[0] - 32);
    return buf;
}

static const char *concept_text(const jv *cc)
{
    const char *t = jstr(cc, "text");
    return t ? t : jstr(jv_at(jv_get(cc, "coding"), 0), "display");
}

/* Writes the notes of the Conditions whose actualProblem o is (see
 * scan_problem_notes()) to f, after a space when f holds text. */
static void problem_notes(reader *r, const jv *o, FILE *f)
{
    char *k = make_key(jstr(o, "resourceType"), jstr(o, "id"));
    const char *notes = k ? cse__smap_get(&r->problem_notes, k) : NULL;
    if (notes)
        fprintf(f, "%s%s", ftell(f) ? " " : "", notes);
    free(k);
}

static const char *cc_text(const jv *cc, bool user_selected);

/* Ends an annotation being composed in f (an open_memstream over *buf):
 * the entry's own notes follow what was written, and the whole replaces
 * them as one annotation. On CSE_ERR_NOMEM *buf is freed and NULL. */
static cse_code annotation_replace(cse_entry *e, FILE *f, char **buf, size_t *len)
{
    for (size_t i = 0; i < e->n_annotations; i++)
        fprintf(f, "%s%s", ftell(f) ? " " : "", e->annotations[i]);
    if (fclose(f) != 0 || *buf == NULL) {
        free(*buf);
        *buf = NULL;
        return CSE_ERR_NOMEM;
    }
    for (size_t i = 0; i < e->n_annotations; i++)
        free(e->annotations[i]);
    e->n_annotations = 0;
    return *len ? cse_entry_add_annotation(e, *buf) : CSE_OK;
}

/* An AllergyIntolerance: its parts in the model, and the one annotation the
 * sending adaptor writes for what HL7 has no place for (reason ended,
 * status, end date, type, criticality, last occurrence, who asserted it,
 * reactions, then the notes). */
static cse_code allergy(reader *r, const jv *o, cse_entry *e)
{
    const jv *cs = jv_get(o, "clinicalStatus"), *cat = jv_get(o, "category"), *v, *w;
    const jv *end = extension(o, GPC_EXT "AllergyIntoleranceEnd-1");
    const char *status = jv_is_string(cs) ? jv_str(cs) : NULL;
    const char *crit = jstr(o, "criticality"), *type = jstr(o, "type");
    char *buf = NULL, cap[64];
    size_t len = 0, i, j;
    FILE *f;
    cse_code rc = CSE_OK;

    if (status == NULL && jv_is_object(cs))
        status = jstr(jv_at(jv_get(cs, "coding"), 0), "code");
    if (jv_is_array(cat))
        cat = jv_at(cat, 0);
    if (end == NULL)
        end = extension(o, UKCORE_EXT "AllergyIntoleranceEnd");
    if (cse_strset(&e->allergy.category, jv_is_string(cat) ? jv_str(cat) : NULL) ||
        cse_strset(&e->allergy.type, type) ||
        cse_strset(&e->allergy.clinical_status, status))
        return CSE_ERR_NOMEM;
    e->allergy.onset = e->effective_low;
    e->allergy.asserted = e->availability;
    /* The adaptor dates it by its onset, as a point. */
    e->effective_center = e->effective_low;
    e->effective_low.precision = CSE_TIME_NONE;
    e->effective_high.precision = CSE_TIME_NONE;
    if ((f = cse__memstream(&buf, &len)) == NULL)
        return CSE_ERR_NOMEM;
#define SEP (ftell(f) ? " " : "")
    jv_foreach(jv_get(end, "extension"), i, v)
    {
        /* The adaptor leaves out GP Connect's "nothing known". */
        if (jstr(v, "url") && strcmp(jstr(v, "url"), "reasonEnded") == 0 &&
            jstr(v, "valueString") && *jstr(v, "valueString") &&
            strcmp(jstr(v, "valueString"), "No information available") != 0)
            fprintf(f, "%sReason Ended: %s", SEP, jstr(v, "valueString"));
    }
    if (status)
        fprintf(f, "%sStatus: %s", SEP, capital(status, cap, sizeof(cap)));
    jv_foreach(jv_get(end, "extension"), i, v)
    {
        const char *d = jstr(v, "valueDateTime");
        if (jstr(v, "url") && strcmp(jstr(v, "url"), "endDate") == 0 && d) {
            cse_time t;
            char day[32];
            if (cse_time_parse_fhir(d, &t) == CSE_OK) {
                e->allergy.end = t;
                fprintf(f, "%sEnd Date: %s", SEP,
                        cse_time_format_fhir_date(&t, day, sizeof(day)));
            }
        }
    }
    if (type)
        fprintf(f, "%sType: %s", SEP, capital(type, cap, sizeof(cap)));
    if (crit)
        fprintf(f, "%sCriticality: %s", SEP,
                strcmp(crit, "low") == 0    ? "Low Risk"
                : strcmp(crit, "high") == 0 ? "High Risk"
                                            : "Unable to Assess Risk");
    if (jstr(o, "lastOccurrence")) {
        cse_time t;
        char day[32];
        if (cse_time_parse_fhir(jstr(o, "lastOccurrence"), &t) == CSE_OK)
            fprintf(f, "%sLast Occurred: %s", SEP,
                    cse_time_format_fhir_date(&t, day, sizeof(day)));
    }
    {
        /* Who said so, when it was not a clinician. */
        const char *as = jstr(jv_get(o, "asserter"), "reference");
        const char *rec = jstr(jv_get(o, "recorder"), "reference");
        if (as && strstr(as, "Practitioner")) {
            char *owned;
            const char *k = agent_key(r, jv_get(o, "asserter"), &owned);
            rc = cse_strset(&e->performer_ref, k);
            free(owned);
        }
        if (as && strstr(as, "Patient/"))
            fprintf(f, "%sAsserted By Patient", SEP);
        else if (as && strstr(as, "RelatedPerson/")) {
            char *k = ref_key(r, jv_get(o, "asserter"));
            const char *who = k ? cse__smap_get(&r->people, k) : NULL;
            fprintf(f, "%sAsserted By: Related Person%s%s", SEP, who ? " " : "",
                    who ? who : "");
            free(k);
        }
        if (rec && strstr(rec, "Patient/"))
            fprintf(f, "%sRecorded By Patient", SEP);
    }
    jv_foreach(jv_get(o, "reaction"), i, v)
    {
        const char *sev = jstr(v, "severity");
        fprintf(f, "%s%sReaction %zu", i ? "," : "", SEP, i + 1);
        if (jstr(v, "description"))
            fprintf(f, " Description: %s", jstr(v, "description"));
        /* The manifestations and route as the adaptor's extractTextOrCoding
         * names them: the clinician's SNOMED description when it differs
         * from the display. */
        if (cc_text(jv_get(v, "exposureRoute"), false))
            fprintf(f, " Exposure Route: %s", cc_text(jv_get(v, "exposureRoute"), false));
        if (sev) {
            fputs(" Severity: ", f);
            for (const char *p = sev; *p; p++)
                fputc(*p >= 'a' && *p <= 'z' ? *p - 32 : *p, f);
        }
        jv_foreach(jv_get(v, "manifestation"), j, w)
        {
            fprintf(f, "%s%s", j ? ", " : " Manifestation(s): ", cc_text(w, false));
        }
        if (i == 0 && jv_get(v, "manifestation"))
            rc = read_concept(jv_at(jv_get(v, "manifestation"), 0), &e->allergy.reaction);
    }
    problem_notes(r, o, f);
#undef SEP
    {
        cse_code closed = annotation_replace(e, f, &buf, &len);
        if (rc == CSE_OK)
            rc = closed;
    }
    if (rc == CSE_OK && e->code.text == NULL) {
        /* The allergen's text when the concept has none, as the adaptor's
         * CodeableConceptCdMapper picks it: the SNOMED description the
         * clinician chose (sctdescid descriptionDisplay), and for a
         * resolved allergy, whose code the writer leaves out, else the
         * SNOMED display. */
        const jv *k, *sn = NULL, *d;
        const char *desc = NULL;
        jv_foreach(jv_get(jv_get(o, "code"), "coding"), i, k)
        {
            if (sn == NULL && jstr(k, "system") &&
                strcmp(jstr(k, "system"), CSE_SYSTEM_SNOMED) == 0)
                sn = k;
        }
        jv_foreach(jv_get(extension(sn, SCTDESCID_EXT), "extension"), i, d)
        {
            const char *u = jstr(d, "url"), *t = jstr(d, "valueString");
            if (desc == NULL && u && strcmp(u, "descriptionDisplay") == 0 && t && *t)
                desc = t;
        }
        if (desc == NULL && sn && status && strcmp(status, "resolved") == 0)
            desc = jstr(sn, "display");
        if (desc && *desc)
            rc = cse_concept_set_text(&e->code, desc);
    }
    if (rc == CSE_OK)
        rc = cse_concept_copy(&e->allergy.allergen, &e->code);
    free(buf);
    return rc;
}

/* ---- Referrals, plans, documents --------------------------------------- */

/* What pass 1 kept of the resource a reference names (cse__fhir_names). */
static const char *texts_lookup(void *ctx, const char *kind, const jv *ref)
{
    reader *r = ctx;
    char tid[160], key[168];

    if (strcmp(kind, "medication") == 0) {
        /* The text of the Medication's code: its text, else the first
         * coding's display (see scan_medication for the packing). */
        char *k = ref_key(r, ref);
        const char *packed = k ? cse__smap_get(&r->meds, k) : NULL, *t;
        free(k);
        if (packed == NULL)
            return NULL;
        if ((t = strchr(packed, '\x1d')) != NULL)
            return t + 1;
        if ((t = strchr(packed, '\x1f')) != NULL && (t = strchr(t + 1, '\x1f')) != NULL) {
            size_t n = strcspn(t + 1, "\x1e\x1d");
            /* The display ends the first coding: lend it from a copy kept in
             * texts under the Medication's key. */
            snprintf(key, sizeof(key), "M|%.*s", (int)sizeof(tid),
                     jstr(ref, "reference"));
            if (cse__smap_get(&r->texts, key) == NULL) {
                char *d = strndup(t + 1, n);
                if (d == NULL || cse__smap_put(&r->texts, key, d, true) != CSE_OK) {
                    free(d);
                    return NULL;
                }
                free(d);
            }
            return cse__smap_get(&r->texts, key);
        }
        return NULL;
    }
    if (!cse__fhir_ref_type_id(ref, tid, sizeof(tid)))
        return NULL;
    if (strcmp(kind, "summary") == 0) {
        snprintf(key, sizeof(key), "S|%s", tid);
        return cse__smap_get(&r->texts, key);
    }
    return cse__smap_get(&r->texts, tid);
}

/* Before pass 2: a summary of each resource named as supporting information,
 * fetched again by its index row. */
static cse_code summarise(reader *r)
{
    cse__fhir_names names = {texts_lookup, r};

    if (r->wanted.n == 0)
        return CSE_OK;
    for (size_t i = 0; i < r->n_res; i++) {
        const res *x = &r->res[i];
        const jv *o;
        char key[168], *sum;
        cse_code rc;

        cse__farena_tick(r->fa);
        if (x->key == NULL || !cse__smap_has(&r->wanted, x->key))
            continue;
        if ((o = fetch(r, x)) == NULL)
            return r->err ? r->err->code : CSE_ERR_INTERNAL;
        if (jstr(o, "resourceType") == NULL || jstr(o, "id") == NULL ||
            (size_t)snprintf(key, sizeof(key), "S|%s/%s", jstr(o, "resourceType"),
                             jstr(o, "id")) >= sizeof(key))
            continue;
        if ((sum = cse__fhir_summary(o, &names)) == NULL)
            continue;
        rc = cse__smap_put(&r->texts, key, sum, true);
        free(sum);
        if (rc != CSE_OK)
            return nomem(r);
    }
    return CSE_OK;
}

/* Replaces the entry's notes with one text (NULL: no memory). */
static cse_code set_text(cse_entry *e, char *text)
{
    cse_code rc;
    if (text == NULL)
        return CSE_ERR_NOMEM;
    for (size_t i = 0; i < e->n_annotations; i++)
        free(e->annotations[i]);
    e->n_annotations = 0;
    rc = *text ? cse_entry_add_annotation(e, text) : CSE_OK;
    free(text);
    return rc;
}

/* A ProcedureRequest (STU3) or ServiceRequest (R4) in a plan: the
 * PlanStatement the sending adaptor writes, dated by the occurrence (its
 * end, when it is a period), with the one text it composes. */
static cse_code plan(reader *r, const res *x, const jv *o, cse_entry *e)
{
    cse__fhir_names names = {texts_lookup, r};
    const jv *period = jv_get(o, "occurrencePeriod"), *in = o;
    const char *key = "occurrenceDateTime", *field = "occurrenceDateTime";
    cse_code rc;

    if (jstr(o, key) == NULL && jstr(period, "end"))
        in = period, key = "end", field = "occurrencePeriod.end";
    else if (jstr(o, key) == NULL)
        in = period, key = "start", field = "occurrencePeriod.start";
    memset(&e->effective_low, 0, sizeof(e->effective_low));
    memset(&e->effective_high, 0, sizeof(e->effective_high));
    memset(&e->effective_center, 0, sizeof(e->effective_center));
    if ((rc = read_time(r, x, in, key, field, &e->effective_center)) != CSE_OK)
        return rc;
    return set_text(e, cse__fhir_plan_text(o, &names));
}

/* A DocumentReference: the NarrativeStatement and ExternalDocument the
 * sending adaptor writes. The document's code is "Other digital signal" with
 * the type as a translation (the adaptor keeps the type only in the text);
 * the statement is available from when the document was created, else
 * indexed (R4: dated); the text names type, authors, custodian, description, setting. */
static cse_code document(reader *r, const res *x, const jv *o, cse_entry *e)
{
    cse__fhir_names names = {texts_lookup, r};
    const jv *att = jv_get(jv_at(jv_get(o, "content"), 0), "attachment");
    cse_concept type = {0};
    cse_code rc = CSE_OK;

    memset(&e->availability, 0, sizeof(e->availability));
    memset(&e->effective_center, 0, sizeof(e->effective_center));
    if (jstr(o, "created"))
        rc = read_time(r, x, o, "created", "created", &e->availability);
    else if (jstr(o, "indexed"))
        rc = read_time(r, x, o, "indexed", "indexed", &e->availability);
    else /* R4: when the reference was made */
        rc = read_time(r, x, o, "date", "date", &e->availability);
    if (rc != CSE_OK)
        return rc;
    type = e->code;
    memset(&e->code, 0, sizeof(e->code));
    rc = cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, "37251000000104",
                         "Other digital signal");
    for (size_t i = 0; rc == CSE_OK && i < type.n; i++)
        if (type.codings[i].system && type.codings[i].code &&
            strcmp(type.codings[i].code, "37251000000104") != 0)
            rc = cse_concept_add(&e->code, type.codings[i].system, type.codings[i].code,
                                 type.codings[i].display);
    cse_concept_clear(&type);
    /* A content type that is no media type (the requesting adaptor's "GP2GP
     * generated placeholder. Original document not available...") cannot be
     * a mediaType (the schema allows no space): the default is written. */
    if (rc == CSE_OK && jstr(att, "contentType") &&
        strpbrk(jstr(att, "contentType"), " \t\r\n") == NULL)
        rc = cse_strset(&e->doc.media_type, jstr(att, "contentType"));
    if (rc == CSE_OK)
        rc = cse_strset(&e->doc.title, jstr(att, "title"));
    if (rc == CSE_OK && jstr(att, "url"))
        rc = cse_strset(&e->value, jstr(att, "url"));
    if (rc == CSE_OK)
        rc = set_text(e, cse__fhir_document_text(o, &names));
    /* The file is not sent: what only the file would carry (its content
     * inline, further contents) is reported. */
    if (rc == CSE_OK && (jv_get(att, "data") || jv_size(jv_get(o, "content")) > 1))
        rc = count_loss(r, "DocumentReference", WHY_DOCUMENT, x->line);
    return rc;
}

/* ---- Referrals ---------------------------------------------------------- */

/* A ReferralRequest: its priority, the practitioner it is for (the first
 * practitioner recipient: the responsible party), the requester as author
 * only when a practitioner, and the one text the sending adaptor writes
 * (requester, priority without an HL7 code, supporting information, UBRN,
 * services, specialty, other recipients, reason codes, notes, description). */
static cse_code referral(reader *r, const jv *o, cse_entry *e)
{
    cse__fhir_names names = {texts_lookup, r};
    const jv *agent = jv_get(jv_get(o, "requester"), "agent"), *v;
    char tid[160];

    if (agent == NULL)
        agent = jv_get(o, "requester"); /* R4 ServiceRequest: a Reference */
    size_t i;

    if (cse_strset(&e->req.priority, jstr(o, "priority")) != CSE_OK ||
        cse_strset(&e->req.service_text,
                   concept_text(jv_at(jv_get(o, "serviceRequested"), 0))) != CSE_OK ||
        read_concept(jv_at(jv_get(o, "reasonCode"), 0), &e->req.reason) != CSE_OK)
        return CSE_ERR_NOMEM;
    if (agent && cse__fhir_ref_type_id(agent, tid, sizeof(tid)) &&
        strncmp(tid, "Practitioner/", 13) != 0 &&
        cse_strset(&e->author_ref, NULL) != CSE_OK)
        return CSE_ERR_NOMEM;
    jv_foreach(jv_get(o, "recipient"), i, v)
    {
        if (cse__fhir_ref_type_id(v, tid, sizeof(tid)) &&
            strncmp(tid, "Practitioner/", 13) == 0) {
            char *owned;
            const char *k = agent_key(r, v, &owned);
            cse_code rc = cse_strset(&e->req.recipient_ref, k);
            free(owned);
            if (rc != CSE_OK)
                return rc;
            break;
        }
    }
    return set_text(e, cse__fhir_referral_text(o, &names));
}

/* ---- Immunisations ------------------------------------------------------ */

/* "true" or "false" for a JSON boolean (or a string holding one). */
static const char *bool_text(const jv *v)
{
    if (jv_is_string(v))
        return strcmp(jv_str(v), "true") == 0 ? "true" : "false";
    return v && v->type == JV_TRUE ? "true" : "false";
}

/* The name of the place or organisation a reference names, or NULL. */
static const char *named(reader *r, const jv *ref)
{
    char *k = ref_key(r, ref);
    const char *name = NULL;
    const cse_agent *a;
    if (k == NULL)
        return NULL;
    if ((name = cse__smap_get(&r->places, k)) == NULL && (a = find_agent(r, k)) != NULL)
        name = a->name;
    free(k);
    return name;
}

/* The text of a coding as the adaptor picks it: the SNOMED description
 * (the sctdescid extension's descriptionDisplay) when it differs from the
 * display, else the display. */
static const char *coding_text(const jv *k)
{
    const jv *d = extension(k, SCTDESCID_EXT), *v;
    size_t i;
    jv_foreach(jv_get(d, "extension"), i, v)
    {
        const char *u = jstr(v, "url"), *t = jstr(v, "valueString");
        if (u && strcmp(u, "descriptionDisplay") == 0 && t && *t &&
            !(jstr(k, "display") && strcmp(t, jstr(k, "display")) == 0))
            return t;
    }
    return jstr(k, "display");
}

/* A CodeableConcept's text, else its coding the user selected (when
 * user_selected), else its first coding, as the adaptor's
 * extractUserSelectedTextOrCoding and extractTextOrCoding do. */
static const char *cc_text(const jv *cc, bool user_selected)
{
    const jv *k;
    size_t i;
    if (jstr(cc, "text"))
        return jstr(cc, "text");
    if (user_selected)
        jv_foreach(jv_get(cc, "coding"), i, k)
        {
            const jv *us = jv_get(k, "userSelected");
            if (us && us->type == JV_TRUE)
                return coding_text(k);
        }
    k = jv_at(jv_get(cc, "coding"), 0);
    return k ? coding_text(k) : NULL;
}

/* An Immunization: the one annotation the sending adaptor writes for what the
 * ObservationStatement has no place for (parent present, primary source,
 * location, manufacturer, batch, expiry, site, route, dose, reasons,
 * protocols, then the notes). */
static cse_code immunization(reader *r, const jv *o, cse_entry *e)
{
    const jv *pp = extension(o, "https://fhir.hl7.org.uk/STU3/StructureDefinition/"
                                "Extension-CareConnect-ParentPresent-1");
    const jv *ps = jv_get(o, "primarySource"), *v, *w, *dq = jv_get(o, "doseQuantity");
    const jv *expl = jv_get(o, "explanation");
    char *buf = NULL, *num;
    size_t len = 0, i, j;
    FILE *f;
    cse_code rc = CSE_OK;

    if ((f = cse__memstream(&buf, &len)) == NULL)
        return CSE_ERR_NOMEM;
#define SEP (ftell(f) ? " " : "")
    if (jv_get(jv_get(o, "reportOrigin"), "coding") &&
        cc_text(jv_get(o, "reportOrigin"), true))
        fprintf(f, "Origin: %s", cc_text(jv_get(o, "reportOrigin"), true));
    if (pp && (v = jv_get(pp, "valueBoolean")) != NULL)
        fprintf(f, "%sParent Present: %s", SEP, bool_text(v));
    if (ps)
        fprintf(f, "%sPrimary Source: %s", SEP, bool_text(ps));
    if (named(r, jv_get(o, "location")))
        fprintf(f, "%sLocation: %s", SEP, named(r, jv_get(o, "location")));
    if (named(r, jv_get(o, "manufacturer")))
        fprintf(f, "%sManufacturer: %s", SEP, named(r, jv_get(o, "manufacturer")));
    if (jstr(o, "lotNumber"))
        fprintf(f, "%sBatch: %s", SEP, jstr(o, "lotNumber"));
    if (jstr(o, "expirationDate"))
        fprintf(f, "%sExpiration: %s", SEP, jstr(o, "expirationDate"));
    if (cc_text(jv_get(o, "site"), true))
        fprintf(f, "%sSite: %s", SEP, cc_text(jv_get(o, "site"), true));
    if (cc_text(jv_get(o, "route"), false))
        fprintf(f, "%sRoute: %s", SEP, cc_text(jv_get(o, "route"), false));
    {
        /* The value and the unit (else the code), each when present. */
        const char *u = jstr(dq, "unit") ? jstr(dq, "unit") : jstr(dq, "code");
        num = number_text(jv_get(dq, "value"));
        if (num || u)
            fprintf(f, "%sQuantity:%s%s%s%s", SEP, num ? " " : "", num ? num : "",
                    u ? " " : "", u ? u : "");
        free(num);
    }
    {
        /* The reasons given, else the reasons not given. */
        const char *what = "Reason:";
        const jv *list = jv_get(expl, "reason");
        bool any = false;
        if (jv_size(list) == 0) {
            what = "Reason not given:";
            list = jv_get(expl, "reasonNotGiven");
        }
        jv_foreach(list, i, v)
        {
            const char *t = cc_text(v, true);
            if (t && *t) {
                fprintf(f, "%s%s %s", any ? "" : SEP, any ? "" : what, t);
                any = true;
            }
        }
    }
    jv_foreach(jv_get(o, "vaccinationProtocol"), i, v)
    {
        const jv *seq = jv_get(v, "doseSequence"), *doses = jv_get(v, "seriesDoses");
        fprintf(f, "%sVaccination Protocol %zu:", SEP, i + 1);
        if (jstr(v, "description"))
            fprintf(f, " %s", jstr(v, "description"));
        if (jv_is_number(seq))
            fprintf(f, " Sequence: %.*s", (int)seq->len, seq->s);
        if (jv_is_number(doses))
            fprintf(f, "%s Doses: %.*s", jv_is_number(seq) ? "," : "", (int)doses->len,
                    doses->s);
        if (jv_get(v, "targetDisease")) {
            fputs(" Target Disease: ", f);
            jv_foreach(jv_get(v, "targetDisease"), j, w)
            {
                if (cc_text(w, true))
                    fprintf(f, "%s%s", j ? "," : "", cc_text(w, true));
            }
        }
    }
    {
        /* The vaccine, unless GP Connect's "unknown". */
        const jv *vc = jv_get(o, "vaccineCode");
        const char *c0 = jstr(jv_at(jv_get(vc, "coding"), 0), "code");
        if (!(c0 && strcmp(c0, "UNK") == 0) && cc_text(vc, true))
            fprintf(f, "%sSubstance: %s", SEP, cc_text(vc, true));
    }
    problem_notes(r, o, f);
#undef SEP
    rc = annotation_replace(e, f, &buf, &len);
    free(buf);
    return rc;
}

/* ---- Problems ----------------------------------------------------------- */

/* A Condition: its significance, the statement that names it (actualProblem,
 * when that is an Observation written on its own) and the related clinical
 * content it links to, as GP Connect's extensions carry them. */
static cse_code condition(reader *r, const jv *o, cse_entry *e)
{
    const jv *ext = jv_get(o, "extension"), *v;
    size_t i;
    cse_code rc = CSE_OK;

    jv_foreach(ext, i, v)
    {
        const char *u = jstr(v, "url");
        char *k;
        if (u == NULL || rc != CSE_OK)
            continue;
        if (strstr(u, "ProblemSignificance") && jstr(v, "valueCode")) {
            rc = cse_strset(&e->problem.significance, jstr(v, "valueCode"));
        } else if (strstr(u, "RelatedClinicalContent") &&
                   (k = ref_key(r, jv_get(v, "valueReference"))) != NULL) {
            rc = cse_entry_add_link(e, k);
            if (rc == CSE_OK)
                rc = cse_entry_add_ref(e, k, "component");
            free(k);
        } else if (strstr(u, "ActualProblem") &&
                   (k = ref_key(r, jv_get(v, "valueReference"))) != NULL) {
            const char *ref = jstr(jv_get(v, "valueReference"), "reference");
            if (ref && strstr(ref, "Observation/")) {
                rc = cse_strset(&e->problem.named_id, k);
                if (rc == CSE_OK)
                    rc = cse_entry_add_ref(e, k, "named");
            } else if (ref && (strstr(ref, "AllergyIntolerance/") ||
                               strstr(ref, "Immunization/") ||
                               strstr(ref, "MedicationRequest/"))) {
                /* The problem is an allergy, an immunisation or a drug: the
                 * adaptor links it as a component of the problem. */
                rc = cse_entry_add_link(e, k);
                if (rc == CSE_OK)
                    rc = cse_entry_add_ref(e, k, "component");
            }
            free(k);
        }
    }
    e->problem.onset = e->effective_low;
    e->problem.abatement = e->effective_high;
    {
        /* clinicalStatus: a code in STU3, a CodeableConcept in R4. */
        const jv *cs = jv_get(o, "clinicalStatus");
        const char *st =
            jv_is_string(cs) ? jv_str(cs) : jstr(jv_at(jv_get(cs, "coding"), 0), "code");
        if (rc == CSE_OK && st)
            rc = cse_strset(&e->status, st);
    }
    return rc;
}

/* The adaptor matches the comment note on its code alone: a coding that
 * names no system is taken as SNOMED, one that names another system is not. */
static bool comment_note(const cse_concept *c)
{
    for (size_t i = 0; i < c->n; i++)
        if ((!c->codings[i].system ||
             strcmp(c->codings[i].system, CSE_SYSTEM_SNOMED) == 0) &&
            c->codings[i].code && strcmp(c->codings[i].code, "37331000000100") == 0)
            return true;
    return false;
}

/* ---- Observations: texts and blood pressure batteries ------------------ */

/* What the adaptor writes in an ObservationStatement's annotation and HL7
 * has no element for: the components (of an Observation that is not a
 * battery) and a value of a type without an HL7 form go before the first
 * note, the body site after it ("BodySite: .."). */
static cse_code observation_texts(cse_entry *e, const jv *o)
{
    char *pre = NULL, *joined = NULL;
    const char *site = cse__fhir_text_or_coding(jv_get(o, "bodySite"));
    cse_code rc;

    if ((rc = cse__fhir_observation_pretext(o, &pre)) != CSE_OK)
        return rc;
    if (pre && e->n_annotations == 0) {
        rc = cse_entry_add_annotation(e, pre);
    } else if (pre) {
        if (asprintf(&joined, "%s %s", pre, e->annotations[0]) < 0)
            rc = CSE_ERR_NOMEM;
        else
            rc = cse_strset(&e->annotations[0], joined);
    }
    free(pre);
    free(joined);
    joined = NULL;
    if (rc == CSE_OK && site && *site) {
        if (e->n_annotations == 0) {
            if (asprintf(&joined, "BodySite: %s", site) < 0)
                return CSE_ERR_NOMEM;
            rc = cse_entry_add_annotation(e, joined);
        } else if (asprintf(&joined, "%s BodySite: %s", e->annotations[0], site) < 0) {
            return CSE_ERR_NOMEM;
        } else {
            rc = cse_strset(&e->annotations[0], joined);
        }
        free(joined);
    }
    return rc;
}

/* A component of a blood pressure battery as its own entry. */
static cse_code battery_reading(reader *r, const cse_entry *bat, const jv *c,
                                const char *which)
{
    cse_entry *k;
    cse_entry_info info = {0};
    char *id = NULL;
    const jv *q = jv_get(c, "valueQuantity"), *rr;
    size_t i;
    cse_code rc;

    if (asprintf(&id, "%s#%s", bat->id ? bat->id : "", which) < 0)
        return nomem(r);
    k = cse_entry_new(CSE_ENTRY_OBSERVATION, id);
    free(id);
    if (k == NULL)
        return nomem(r);
    k->source_line = bat->source_line;
    k->effective_low = bat->effective_low;
    k->effective_high = bat->effective_high;
    k->effective_center = bat->effective_center;
    k->availability = bat->availability;
    /* The Observation's label is its readings' own: each carries it. */
    k->labels = bat->labels;
    rc = cse__fhir_bp_concept(jv_get(c, "code"), &k->code);
    if (rc == CSE_OK)
        rc = cse_strset(&k->parent_id, bat->id);
    if (rc == CSE_OK)
        rc = cse_strset(&k->status, bat->status);
    if (rc == CSE_OK)
        rc = cse_strset(&k->author_ref, bat->author_ref);
    if (rc == CSE_OK)
        rc = observation_value(k, c);
    if (rc == CSE_OK && jv_is_object(q) && jv_get(q, "value")) {
        k->val.kind = CSE_VALUE_QUANTITY;
        rc = read_quantity(q, &k->val.quantity);
    }
    /* Every range (the adaptor writes only the first: the rest would be
     * lost). */
    jv_foreach(jv_get(c, "referenceRange"), i, rr)
    {
        cse_range g = {0};
        if (rc != CSE_OK)
            break;
        rc = read_quantity(jv_get(rr, "low"), &g.low);
        if (rc == CSE_OK)
            rc = read_quantity(jv_get(rr, "high"), &g.high);
        if (rc == CSE_OK)
            rc = cse_strset(&g.text, jstr(rr, "text"));
        if (rc == CSE_OK)
            rc = cse_entry_add_ref_range(k, &g);
        cse_range_clear(&g);
    }
    if (rc != CSE_OK) {
        cse_entry_free(k);
        return nomem(r);
    }
    info.cls = cse_concept_classify(&k->code, &info.reason);
    if (info.cls == CSE_CLASS_MARKER)
        info.cls = CSE_CLASS_CANDIDATE, info.reason = CSE_CANDIDATE_DAMAGED;
    rc = deliver(r, k, &info);
    cse_entry_free(k);
    return rc;
}

/* A blood pressure: the BATTERY CompoundStatement (e, made a compound),
 * then its systolic and diastolic readings, then a NarrativeStatement with
 * the comment, body site, absent readings and interpretations, as the
 * adaptor's BloodPressureMapper writes them. */
static cse_code emit_battery(reader *r, const jv *o, cse_entry *e,
                             const cse_entry_info *info)
{
    static const char *const which[] = {"", "systolic", "diastolic"};
    cse_entry *n = NULL;
    cse_entry_info ninfo = {0};
    char *note = NULL, *id = NULL;
    cse_code rc;

    e->kind = CSE_ENTRY_COMPOUND;
    cse_concept_clear(&e->code);
    if (cse_strset(&e->compound_class, "battery") != CSE_OK ||
        cse__fhir_bp_concept(jv_get(o, "code"), &e->code) != CSE_OK)
        return nomem(r);
    /* Its notes are the narrative's. */
    for (size_t i = 0; i < e->n_annotations; i++)
        free(e->annotations[i]);
    free(e->annotations);
    e->annotations = NULL;
    e->n_annotations = 0;
    if ((rc = deliver(r, e, info)) != CSE_OK)
        return rc;
    for (int role = CSE__BP_SYSTOLIC; role <= CSE__BP_DIASTOLIC; role++) {
        const jv *c = cse__fhir_bp_component(o, (cse__bp_role)role);
        if (c && (rc = battery_reading(r, e, c, which[role])) != CSE_OK)
            return rc;
    }
    if (cse__fhir_bp_note(o, &note) != CSE_OK)
        return nomem(r);
    if (note == NULL)
        return CSE_OK;
    if (asprintf(&id, "%s#note", e->id ? e->id : "") < 0) {
        free(note);
        return nomem(r);
    }
    n = cse_entry_new(CSE_ENTRY_NARRATIVE, id);
    free(id);
    if (n == NULL || cse_strset(&n->parent_id, e->id) != CSE_OK ||
        cse_entry_add_annotation(n, note) != CSE_OK ||
        cse_strset(&n->author_ref, e->author_ref) != CSE_OK) {
        free(note);
        cse_entry_free(n);
        return nomem(r);
    }
    free(note);
    n->source_line = e->source_line;
    n->availability = e->availability;
    n->labels = e->labels;
    ninfo.cls = CSE_CLASS_NONE;
    rc = deliver(r, n, &ninfo);
    cse_entry_free(n);
    return rc;
}

/* An R4 ServiceRequest in the "Patient referral" category (as ehr2fhir
 * writes a referral in R4). */
static bool is_referral_service(const jv *o, const char *type)
{
    const jv *cat, *k;
    size_t i, j;
    if (strcmp(type, "ServiceRequest") != 0)
        return false;
    jv_foreach(jv_get(o, "category"), i, cat)
    {
        jv_foreach(jv_get(cat, "coding"), j, k)
        {
            if (jstr(k, "code") && strcmp(jstr(k, "code"), "3457005") == 0)
                return true;
        }
    }
    return false;
}

static cse_code emit_entry(reader *r, const res *x, const jv *o)
{
    const char *type = jstr(o, "resourceType");
    cse_entry *e = NULL;
    cse_entry_info info = {0};
    cse_marker *m = NULL;
    const jv *cc;
    bool done;
    cse_code rc;

    if (strcmp(type, "DiagnosticReport") == 0)
        return path_report(r, x, o);
    if (strcmp(type, "Observation") == 0 &&
        ((rc = path_single(r, x, type, &done)) != CSE_OK || done))
        return rc;
    if (strcmp(type, "Observation") == 0 && bat_skip(r, x))
        return CSE_OK; /* delivered inside its battery */
    if (x->kind == RK_FLAG || strcmp(type, "Observation") == 0) {
        cse_concept c = {0};
        bool flag = x->kind == RK_FLAG;
        if (read_concept(jv_get(o, "code"), &c) != CSE_OK) {
            cse_concept_clear(&c);
            return nomem(r);
        }
        if (cse_concept_marker_code(&c) != NULL) {
            if (!flag &&
                (cse__smap_has(&r->merged_obs, x->key) ||
                 (identifier_value(o, CSE_FHIR_MARKER_ID_SYSTEM) &&
                  cse__smap_has(&r->marker_ids,
                                identifier_value(o, CSE_FHIR_MARKER_ID_SYSTEM))))) {
                /* The Observation form of a Flag delivered as the marker. */
                cse_concept_clear(&c);
                return CSE_OK;
            }
            rc = emit_marker(r, x, o, flag, &c, &done);
            cse_concept_clear(&c);
            if (rc != CSE_OK || done)
                return rc;
            /* No usable start date: delivered below as an entry for review. */
        } else {
            cse_concept_clear(&c);
            if (flag)
                return count_loss(r, "Flag", WHY_NOT_MARKER, x->line);
        }
    }
    /* GP Connect's MedicationStatement summarises the MedicationRequests it is
     * based on, which are written themselves (as the sending adaptor does). */
    if (strcmp(type, "MedicationStatement") == 0 && jv_at(jv_get(o, "basedOn"), 0))
        return count_loss(r, "MedicationStatement", WHY_SUMMARY, x->line);
    /* A request that is not a plan (an order, a proposal) has no statement
     * in GP2GP: the sending adaptor writes none, and it is reported. An R4
     * ServiceRequest in the referral category is a referral. */
    if (is_referral_service(o, type))
        type = "ReferralRequest";
    else if ((strcmp(type, "ProcedureRequest") == 0 ||
              strcmp(type, "ServiceRequest") == 0) &&
             (jstr(o, "intent") == NULL || strcmp(jstr(o, "intent"), "plan") != 0))
        return count_loss(r, type, WHY_NOT_PLAN, x->line);
    if ((e = cse__entry_take(&r->spare, entry_kind(type))) == NULL)
        return nomem(r);
    if (cse_strset(&e->id, x->key) != CSE_OK) {
        cse__entry_recycle(&r->spare, e);
        return nomem(r);
    }
    e->source_line = x->line;
    cc = code_of(o, type);
    if (cc == NULL && strcmp(type, "MedicationRequest") != 0 &&
        strcmp(type, "MedicationStatement") != 0)
        cc = NULL;
    if (cc == NULL && jv_get(o, "medicationReference")) {
        /* The drug is a Medication resource: its code, found in pass 1. */
        char *mk = ref_key(r, jv_get(o, "medicationReference"));
        const char *packed = mk ? cse__smap_get(&r->meds, mk) : NULL;
        free(mk);
        rc = packed ? unpack_concept(packed, &e->code) : CSE_OK;
        if (rc == CSE_OK && e->code.n == 0 && e->code.text == NULL)
            rc = cse_concept_set_text(&e->code,
                                      jstr(jv_get(o, "medicationReference"), "display"));
    } else
        rc = read_concept(cc, &e->code);
    if (rc == CSE_OK && e->code.n == 0 && e->code.text == NULL &&
        strcmp(type, "Encounter") == 0)
        rc = cse_concept_set_text(&e->code, jstr(jv_at(jv_get(o, "type"), 0), "text"));
    if (rc == CSE_OK)
        rc = cse_strset(&e->status, jstr(o, "status"));
    if (rc == CSE_OK && x->kind != RK_ENCOUNTER)
        rc = cse_strset(&e->parent_id, r->parent ? r->parent : x->enc);
    if (rc == CSE_OK)
        rc = set_author(r, e, author_ref_of(o, type));
    if (rc == CSE_OK)
        rc = add_notes(e, o);
    if (rc == CSE_OK && strcmp(type, "Observation") == 0)
        rc = observation_value(e, o);
    if (rc == CSE_OK && strcmp(type, "Observation") == 0)
        rc = observation_typed(e, o);
    if (rc == CSE_OK && strcmp(type, "Observation") == 0 && !comment_note(&e->code) &&
        !cse__fhir_is_blood_pressure(o))
        rc = observation_texts(e, o);
    if (rc != CSE_OK) {
        cse_entry_free(e);
        return nomem(r);
    }
    if ((rc = entry_times(r, x, o, type, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc;
    }
    if (strcmp(type, "Observation") == 0 && comment_note(&e->code)) {
        /* A comment note (37331000000100) is a NarrativeStatement, as the
         * sending adaptor writes it (and the requesting adaptor reads one
         * back as): its text is the comment, its date the time issued. */
        e->kind = CSE_ENTRY_NARRATIVE;
        if (e->availability.precision == CSE_TIME_NONE &&
            (rc = read_time(r, x, o, "issued", "issued", &e->availability)) != CSE_OK) {
            cse_entry_free(e);
            return rc;
        }
    }
    if (strcmp(type, "Condition") == 0 && (rc = condition(r, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "Immunization") == 0 && (rc = immunization(r, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "ReferralRequest") == 0 && (rc = referral(r, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (e->kind == CSE_ENTRY_PLAN && (rc = plan(r, x, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "DocumentReference") == 0 && (rc = document(r, x, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "AllergyIntolerance") == 0 && (rc = allergy(r, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "MedicationRequest") == 0 &&
        (rc = medication_request(r, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc == CSE_ERR_NOMEM ? nomem(r) : rc;
    }
    if (strcmp(type, "Encounter") == 0 &&
        (rc = encounter_details(r, x, o, e)) != CSE_OK) {
        cse_entry_free(e);
        return rc;
    }
    e->labels = labels_of(o);
    /* An entry of a consultation labelled NOPAT carries the label itself,
     * so the composition holds only labelled entries and keeps it. */
    if (x->kind != RK_ENCOUNTER && x->enc && cse__smap_has(&r->enc_nopat, x->enc))
        e->inherited_labels |= CSE_LABEL_NOPAT;
    info.cls = cse_concept_classify(&e->code, &info.reason);
    if (info.cls == CSE_CLASS_MARKER) {
        /* A marker code on a Condition or elsewhere: the marker it carries. */
        if ((m = cse_marker_from_entry(e, NULL, NULL)) != NULL)
            info.marker = m;
        else
            info.cls = CSE_CLASS_CANDIDATE, info.reason = CSE_CANDIDATE_DAMAGED;
    }
    if (strcmp(type, "Observation") == 0 && e->kind == CSE_ENTRY_OBSERVATION &&
        info.cls != CSE_CLASS_MARKER && cse__fhir_is_blood_pressure(o))
        rc = emit_battery(r, o, e, &info);
    else if (e->kind == CSE_ENTRY_OBSERVATION && bat_header(r, x))
        rc = bat_emit(r, x, e, &info);
    else if (x->kind == RK_ENCOUNTER && r->held_enc == NULL && info.marker == NULL) {
        /* Held until an entry is in it (see release_encounter). */
        r->held_enc = e;
        r->held_info = info;
        e = NULL;
        rc = CSE_OK;
    } else
        rc = deliver(r, e, &info);
    cse_marker_free(m);
    cse__entry_recycle(&r->spare, e);
    return rc;
}

/* An Encounter is delivered only once something is written in it: one with
 * nothing recorded gets no ehrComposition, as the sending adaptor's
 * EncounterMapper skips one whose components are blank. */
static cse_code release_encounter(reader *r)
{
    cse_entry *e = r->held_enc;
    cse_code rc;
    r->held_enc = NULL;
    rc = deliver(r, e, &r->held_info);
    cse_entry_free(e);
    return rc;
}

static const char WHY_EMPTY_ENCOUNTER[] =
    "nothing recorded in it: no ehrComposition (the sending adaptor writes none)";

static cse_code drop_encounter(reader *r)
{
    int line = r->held_enc->source_line;
    cse_entry_free(r->held_enc);
    r->held_enc = NULL;
    return count_loss(r, "Encounter", WHY_EMPTY_ENCOUNTER, line);
}

static cse_code emit(reader *r, const res *x)
{
    const jv *o;

    cse__farena_tick(r->fa);
    if (x->kind == RK_PATIENT || x->kind == RK_AGENT || x->kind == RK_ROLE)
        return CSE_OK;
    if (x->kind == RK_STRUCTURAL || x->kind == RK_OTHER) {
        if ((o = fetch(r, x)) == NULL)
            return r->err ? r->err->code : CSE_ERR_INTERNAL;
        const char *t = jstr(o, "resourceType");
        /* A Medication travels as the code of each statement naming it. */
        if (strcmp(t, "Medication") == 0)
            return CSE_OK;
        if (strcmp(t, "Specimen") == 0) {
            bool done;
            cse_code rc = path_single(r, x, t, &done);
            if (rc != CSE_OK || done)
                return rc;
        }
        size_t n = strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
        /* Only a resource type's name is ever reported, never other text. */
        return count_loss(r, n > 0 && n <= 64 && t[n] == '\0' ? t : "(not a type name)",
                          x->kind == RK_STRUCTURAL ? WHY_STRUCTURAL : WHY_UNMAPPED,
                          x->line);
    }
    if ((o = fetch(r, x)) == NULL)
        return r->err ? r->err->code : CSE_ERR_INTERNAL;
    return emit_entry(r, x, o);
}

/* ---- Driving both passes ----------------------------------------------- */

static cse_code finish(reader *r)
{
    cse_extract_info info = {0};
    cse_loss_item *items = NULL;
    const cse_agent *org;
    cse_code rc;
    long *first = NULL, *last = NULL;
    size_t n_enc = 0;

    if (r->opt && r->opt->version && r->version && r->opt->version != r->version)
        return cse__error_set(r->err, CSE_ERR_VERSION, 0, r->source, NULL,
                              "the input is FHIR %s (%s), not FHIR %s",
                              r->version == 3 ? "STU3" : "R4", r->version_at,
                              r->opt->version == 3 ? "STU3" : "R4");
    if ((rc = path_index_build(r)) != CSE_OK || (rc = bat_index_build(r)) != CSE_OK)
        return rc;
    /* Agents get their roles and organisations. */
    for (size_t i = 0; i < r->agents.n; i++) {
        cse_agent *a = r->agents.items[i];
        const char *org_key = cse__smap_get(&r->prac_org, a->id);
        if (a->kind != CSE_AGENT_PERSON)
            continue;
        if (cse_strset(&a->role, cse__smap_get(&r->role_text, a->id)) != CSE_OK ||
            cse_strset(&a->org_id, org_key) != CSE_OK)
            return nomem(r);
        if ((org = find_agent(r, org_key)) != NULL && cse_strset(&a->ods, org->ods))
            return nomem(r);
    }
    org = find_agent(r, cse__smap_get(&r->role_org, r->patient_org));
    if (org == NULL)
        org = find_agent(r, r->patient_org);
    if (org && org->ods && cse_strset(&r->patient.ods, org->ods) != CSE_OK)
        return nomem(r);
    if ((rc = summarise(r)) != CSE_OK)
        return rc;
    info.hl7_version = 0;
    info.availability = r->made;
    info.patient = &r->patient;
    info.author_ods = r->patient.ods;
    info.source = r->source;
    if ((rc = r->sink->begin(r->sink, &info, r->err)) != CSE_OK)
        return rc;
    /* Organisations first: a practitioner's names the one it works for. */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < r->agents.n; i++) {
            const cse_agent *a = r->agents.items[i];
            if ((a->kind == CSE_AGENT_PERSON) != (pass == 1))
                continue;
            if ((rc = r->sink->agent(r->sink, a, r->err)) != CSE_OK)
                return rc;
        }

    /* Members of each Encounter, in input order, chained from the Encounter. */
    for (size_t i = 0; i < r->n_res; i++) {
        res *x = &r->res[i];
        cse__farena_tick(r->fa);
        if (x->kind == RK_ENCOUNTER) {
            char idx[32];
            snprintf(idx, sizeof(idx), "%zu", n_enc++);
            if (cse__smap_put(&r->encounters, x->key, idx, false) != CSE_OK)
                return nomem(r);
        }
    }
    first = malloc((n_enc ? n_enc : 1) * sizeof(long));
    last = malloc((n_enc ? n_enc : 1) * sizeof(long));
    if (!first || !last) {
        free(first);
        free(last);
        return nomem(r);
    }
    for (size_t i = 0; i < n_enc; i++)
        first[i] = last[i] = -1;
    for (size_t i = 0; i < r->n_res; i++) {
        res *x = &r->res[i];
        const char *idx;
        cse__farena_tick(r->fa);
        if (x->kind != RK_ENTRY && x->kind != RK_FLAG)
            continue;
        if (x->enc == NULL && cse__smap_get(&r->list_enc, x->key) &&
            (r->fa ? (x->enc = (char *)cse__smap_get(&r->list_enc, x->key)) == NULL
                   : cse_strset(&x->enc, cse__smap_get(&r->list_enc, x->key)) != CSE_OK))
            rc = CSE_ERR_NOMEM;
        if (x->enc && (idx = cse__smap_get(&r->encounters, x->enc)) != NULL) {
            size_t k = strtoul(idx, NULL, 10);
            if (last[k] < 0)
                first[k] = (long)i;
            else
                r->res[last[k]].next = (long)i;
            last[k] = (long)i;
        } else {
            if (r->fa == NULL)
                free(x->enc);
            x->enc = NULL; /* an Encounter that is not in the input */
        }
    }
    if (rc == CSE_ERR_NOMEM) {
        free(first);
        free(last);
        return nomem(r);
    }
    /* The rows of what topics and categories name, and a bit per row for
     * what has been written inside one. */
    if (r->listed.n && (r->done = calloc(r->n_res / 8 + 1, 1)) == NULL)
        rc = CSE_ERR_NOMEM;
    for (size_t i = 0; i < r->n_res && rc == CSE_OK && r->listed.n; i++) {
        char idx[32];
        cse__farena_tick(r->fa);
        if (r->res[i].key == NULL || !cse__smap_has(&r->listed, r->res[i].key))
            continue;
        snprintf(idx, sizeof(idx), "%zu", i);
        if (cse__smap_put(&r->listed, r->res[i].key, idx, false) != CSE_OK)
            rc = CSE_ERR_NOMEM;
    }
    if (rc == CSE_ERR_NOMEM) {
        free(first);
        free(last);
        return nomem(r);
    }
    for (size_t i = 0, k = 0; i < r->n_res && rc == CSE_OK; i++) {
        cse__farena_tick(r->fa);
        if (r->res[i].kind != RK_ENCOUNTER)
            continue;
        rc = emit(r, &r->res[i]);
        if (rc == CSE_OK)
            rc = emit_consultation(r, &r->res[i]);
        for (long j = first[k]; j >= 0 && rc == CSE_OK; j = r->res[j].next)
            if (!is_done(r, (size_t)j))
                rc = emit(r, &r->res[j]);
        if (rc == CSE_OK && r->held_enc)
            rc = drop_encounter(r);
        k++;
    }
    for (size_t i = 0; i < r->n_res && rc == CSE_OK; i++) {
        res *x = &r->res[i];
        cse__farena_tick(r->fa);
        if (x->kind == RK_STRUCTURAL && x->key && cse__smap_has(&r->list_rows, x->key) &&
            (rc = emit_list_contained(r, x)) != CSE_OK)
            break;
        if (x->kind == RK_ENCOUNTER || is_done(r, i) ||
            ((x->kind == RK_ENTRY || x->kind == RK_FLAG) && x->enc != NULL))
            continue;
        rc = emit(r, x);
    }
    free(first);
    free(last);
    if (rc != CSE_OK)
        return rc;
    if (r->n_losses && (items = calloc(r->n_losses, sizeof(*items))) == NULL)
        return nomem(r);
    for (size_t i = 0; i < r->n_losses; i++) {
        items[i].what = r->losses[i].what;
        items[i].why = r->losses[i].why;
        items[i].count = r->losses[i].count;
        items[i].first_line = r->losses[i].first_line;
    }
    r->sum.losses = items;
    r->sum.n_losses = r->n_losses;
    rc = r->sink->end(r->sink, &r->sum, r->err);
    free(items);
    return rc;
}

static void reader_init(reader *r, const cse_fhir_read_options *opt, const char *source,
                        cse_sink *sink, cse_error *err)
{
    memset(r, 0, sizeof(*r));
    r->opt = opt;
    r->max_depth = opt && opt->max_depth ? opt->max_depth : CSE_FHIR_MAX_DEPTH_DEFAULT;
    r->source = source ? source : "";
    r->sink = sink;
    r->err = err;
    /* Without an arena (no memory for its header) the maps use malloc. */
    r->fa = cse__farena_new();
    r->fullurls.arena = r->fa;
    r->list_enc.arena = r->fa;
    r->merged_obs.arena = r->fa;
    r->marker_ids.arena = r->fa;
    r->roles.arena = r->fa;
    r->role_org.arena = r->fa;
    r->role_text.arena = r->fa;
    r->prac_org.arena = r->fa;
    r->encounters.arena = r->fa;
    r->meds.arena = r->fa;
    r->places.arena = r->fa;
    r->texts.arena = r->fa;
    r->wanted.arena = r->fa;
    r->consults.arena = r->fa;
    r->list_rows.arena = r->fa;
    r->listed.arena = r->fa;
    r->consult_dates.arena = r->fa;
    r->enc_nopat.arena = r->fa;
    r->contained_done.arena = r->fa;
    r->path_index.arena = r->fa;
    r->path_taken.arena = r->fa;
    r->path_member.arena = r->fa;
    r->people.arena = r->fa;
    r->problem_notes.arena = r->fa;
    r->agencies.arena = r->fa;
}

/* The Bundle's own fields: its time and what says which FHIR version it is. */
static cse_code bundle_header(reader *r, const jv *doc)
{
    const char *made = jstr(doc, "timestamp");
    res bx = {0};

    if (made == NULL || cse_time_parse_fhir(made, &r->made) != CSE_OK) {
        made = jstr(jv_get(doc, "meta"), "lastUpdated");
        if (made == NULL || cse_time_parse_fhir(made, &r->made) != CSE_OK)
            memset(&r->made, 0, sizeof(r->made));
    }
    bx.off = -1;
    return detect_version(r, &bx, doc, "Bundle");
}

/* One JSON document in memory: a Bundle, or a single resource (read as a
 * Bundle of one). doc belongs to r->doc_arena. */
static cse_code read_document(reader *r, jv *doc)
{
    const char *type = jstr(doc, "resourceType");
    const jv *entries, *v;
    jv single_entry = {0}, single_array = {0};
    size_t i;
    cse_code rc;

    if (!jv_is_object(doc))
        return cse__error_set(r->err, CSE_ERR_STRUCTURE, 1, r->source, NULL,
                              "not FHIR: expected a JSON object with a resourceType");
    if (type == NULL)
        return cse__error_set(r->err, CSE_ERR_STRUCTURE, 1, r->source, "resourceType",
                              "not FHIR: the JSON object has no resourceType");
    if (strcmp(type, "Bundle") != 0) {
        /* A single resource: the entry array [{"resource": doc}]. */
        doc->key = "resource";
        doc->klen = strlen(doc->key);
        single_entry.type = JV_OBJECT;
        single_entry.n = 1;
        single_entry.child = doc;
        single_array.type = JV_ARRAY;
        single_array.n = 1;
        single_array.child = &single_entry;
        entries = &single_array;
    } else {
        entries = jv_get(doc, "entry");
        if (entries != NULL && !jv_is_array(entries))
            return cse__error_set(r->err, CSE_ERR_STRUCTURE, 0, r->source, "entry",
                                  "Bundle.entry must be an array");
        if ((rc = bundle_header(r, doc)) != CSE_OK)
            return rc;
    }
    if (jv_size(entries) > 0 &&
        (r->bundle_entries = malloc(jv_size(entries) * sizeof(*r->bundle_entries))) ==
            NULL)
        return nomem(r);
    r->n_entries = jv_size(entries);
    jv_foreach(entries, i, v)
    {
        const char *full = jstr(v, "fullUrl");
        const jv *resource = jv_get(v, "resource");
        r->bundle_entries[i] = v;
        if (!jv_is_object(v) || !jv_is_object(resource)) {
            char path[64];
            snprintf(path, sizeof(path), "entry[%zu].resource", i);
            return cse__error_set(r->err, CSE_ERR_STRUCTURE, 0, r->source, path,
                                  "each Bundle entry must hold a resource object");
        }
        if (full && jstr(resource, "resourceType") && jstr(resource, "id")) {
            char *k = make_key(jstr(resource, "resourceType"), jstr(resource, "id"));
            if (k == NULL || cse__smap_put(&r->fullurls, full, k, true) != CSE_OK) {
                free(k);
                return nomem(r);
            }
            free(k);
        }
    }
    jv_foreach(entries, i, v)
    {
        res *x;
        if ((rc = add_res(r, &x)) != CSE_OK)
            return rc;
        x->off = (long long)i;
        if ((rc = scan(r, x, jv_get(v, "resource"))) != CSE_OK)
            return rc;
    }
    return finish(r);
}

/* ---- Streaming a Bundle file ------------------------------------------ */

/* A Bundle file is not loaded whole: a scanner (string- and escape-aware
 * bracket matching, the same depth cap as the parser) finds the top-level
 * "entry" array and records the byte span of each entry object, and keeps
 * the rest of the Bundle (the "skeleton", with "entry": []) to be parsed on
 * its own. Each entry is then parsed alone (jsonv.h) and forgotten. The
 * skeleton, the entries and the separators the scanner checks between them
 * together make the whole document, so the document is valid JSON exactly
 * when every piece parses. Anything the scanner does not expect (and any
 * piece that does not parse) falls back to loading the whole document,
 * which reports the error exactly as before; nothing has reached the sink
 * by then. Memory is O(number of resources): a span and an index
 * row (with the id strings, one or two hundred bytes) per entry, never the
 * JSON. */

#define SKELETON_MAX (1u << 20)

typedef struct bscan {
    span *spans;
    size_t n, cap;
    char *skel;
    size_t skel_n, skel_cap;
    cse__farena *fa; /* where spans live, or NULL (malloc) */
} bscan;

static void bscan_free(bscan *b)
{
    if (b->fa == NULL)
        free(b->spans);
    free(b->skel);
    memset(b, 0, sizeof(*b));
}

static bool skel_add(bscan *b, const char *p, size_t n)
{
    if (b->skel_n + n + 1 > b->skel_cap) {
        size_t nc = (b->skel_n + n + 1) * 2;
        char *nb;
        if (b->skel_n + n > SKELETON_MAX || (nb = realloc(b->skel, nc)) == NULL)
            return false;
        b->skel = nb;
        b->skel_cap = nc;
    }
    memcpy(b->skel + b->skel_n, p, n);
    b->skel_n += n;
    b->skel[b->skel_n] = '\0';
    return true;
}

static bool span_add(bscan *b, long long off, size_t len, bool full)
{
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        span *ns;
        if (nc > (16u << 20))
            return false;
        ns = b->fa ? cse__farena_realloc(b->fa, b->spans, b->cap * sizeof(*ns),
                                         nc * sizeof(*ns))
                   : realloc(b->spans, nc * sizeof(*ns));
        if (ns == NULL)
            return false;
        b->spans = ns;
        b->cap = nc;
    }
    b->spans[b->n].off = off;
    b->spans[b->n].len = len;
    b->spans[b->n].full = full;
    b->n++;
    return true;
}

static bool json_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Scanner states. */
enum {
    BS_START,      /* before the top-level '{' */
    BS_TOP,        /* inside the top-level object, outside "entry" */
    BS_ENTRY_OPEN, /* after "entry": expecting '[' */
    BS_ITEM,       /* in the entry array, expecting '{' or ']' */
    BS_IN_ITEM,    /* inside an entry object */
    BS_AFTER_ITEM, /* after an entry, expecting ',' or ']' */
    BS_END         /* after the top-level '}' */
};

/* True when fp holds a Bundle-shaped object the scanner could split, each
 * entry at most max_entry bytes. The file's size is not limited: what is
 * held of it is the skeleton (SKELETON_MAX) and a span per entry. */
static bool bundle_scan(FILE *fp, size_t max_depth, size_t max_entry, bscan *b)
{
    char buf[65536];
    size_t n, depth = 0, klen = 0;
    long long pos = 0, item = 0;
    int st = BS_START;
    bool in_str = false, esc = false, kcap = false, kesc = false, kentry = false;
    bool seen = false, comma = false, copying = true, full = false;
    char key[8];

    while ((n = fread(buf, 1, sizeof(buf), fp)) > 0) {
        size_t seg = 0;
        for (size_t i = 0; i < n; i++) {
            char c = buf[i];
            if (in_str) {
                if (!esc && !kcap) {
                    /* Most of the bytes: inside strings no one looks into. */
                    i += jv_plain_run(buf + i, n - i);
                    if (i == n)
                        break;
                    c = buf[i];
                }
                if (esc) {
                    esc = false;
                } else if (c == '\\') {
                    esc = true;
                    kesc = true;
                    klen = sizeof(key);
                } else if (c == '"') {
                    in_str = false;
                    if (kcap && st == BS_IN_ITEM)
                        full |= kesc || (klen == 7 && memcmp(key, "fullUrl", 7) == 0);
                    else if (kcap)
                        kentry = klen == 5 && memcmp(key, "entry", 5) == 0;
                    kcap = false;
                } else if (kcap) {
                    if (klen < sizeof(key))
                        key[klen++] = c;
                }
                continue;
            }
            if (c == '"' && (st == BS_TOP || st == BS_IN_ITEM)) {
                /* Keys (and values) are looked at on the Bundle's own level
                 * and on each entry's. */
                in_str = true;
                kcap = depth == (st == BS_TOP ? 1 : 3);
                kesc = false;
                klen = 0;
                kentry = false;
                continue;
            }
            switch (st) {
            case BS_START:
                if (c == '{')
                    depth = 1, st = BS_TOP;
                else if (!json_ws(c))
                    return false;
                break;
            case BS_TOP:
                if (json_ws(c))
                    break;
                if (c == ':' && depth == 1 && kentry) {
                    if (seen)
                        return false;
                    seen = true;
                    st = BS_ENTRY_OPEN;
                } else if (c == '{' || c == '[') {
                    if (++depth > max_depth)
                        return false;
                } else if (c == '}' || c == ']') {
                    if (--depth == 0)
                        st = BS_END;
                }
                kentry = false;
                break;
            case BS_ENTRY_OPEN:
                if (c == '[') {
                    if (++depth > max_depth || !skel_add(b, buf + seg, i + 1 - seg))
                        return false;
                    copying = false;
                    comma = false;
                    st = BS_ITEM;
                } else if (!json_ws(c)) {
                    return false;
                }
                break;
            case BS_ITEM:
            case BS_AFTER_ITEM:
                if (json_ws(c))
                    break;
                if (st == BS_ITEM && c == '{') {
                    if (++depth > max_depth)
                        return false;
                    item = pos + (long long)i;
                    full = false;
                    st = BS_IN_ITEM;
                } else if (st == BS_AFTER_ITEM && c == ',') {
                    comma = true;
                    st = BS_ITEM;
                } else if (c == ']' && !(st == BS_ITEM && comma)) {
                    depth--;
                    copying = true;
                    seg = i;
                    st = BS_TOP;
                } else {
                    return false;
                }
                break;
            case BS_IN_ITEM:
                if (c == '{' || c == '[') {
                    if (++depth > max_depth)
                        return false;
                } else if (c == '}' || c == ']') {
                    if (--depth == 2) {
                        if ((size_t)(pos + (long long)i + 1 - item) > max_entry ||
                            !span_add(b, item, (size_t)(pos + (long long)i + 1 - item),
                                      full))
                            return false;
                        st = BS_AFTER_ITEM;
                    }
                }
                break;
            default: /* BS_END */
                if (!json_ws(c))
                    return false;
                break;
            }
        }
        if (copying && !skel_add(b, buf + seg, n - seg))
            return false;
        pos += (long long)n;
    }
    return !ferror(fp) && st == BS_END && !in_str && seen;
}

/* read_document for a scanned Bundle file. Each entry is parsed to scan it
 * and again to deliver it; an entry the scanner saw may hold a fullUrl (the
 * one thing needed from every entry before any is scanned) is parsed once
 * more first.
 * Any error before delivery starts sets *fallback instead of being
 * reported: the caller then reads the whole document, which reports the
 * first error in the document's own order exactly as before. */
static cse_code read_stream(reader *r, const jv *doc, bool *fallback)
{
    *fallback = true;
    for (size_t i = 0; i < r->n_spans; i++) {
        const jv *v, *resource;
        const char *full;
        if (!r->spans[i].full)
            continue;
        if (read_line_at(r, r->bfp, r->spans[i].off, r->spans[i].len) != CSE_OK)
            return CSE_ERR_IO;
        if ((v = parse_entry(r, i, false)) == NULL)
            return CSE_OK;
        resource = jv_get(v, "resource");
        full = jstr(v, "fullUrl");
        if (!jv_is_object(resource))
            return CSE_OK;
        if (full && jstr(resource, "resourceType") && jstr(resource, "id")) {
            char *k = make_key(jstr(resource, "resourceType"), jstr(resource, "id"));
            if (k == NULL || cse__smap_put(&r->fullurls, full, k, true) != CSE_OK) {
                free(k);
                return CSE_OK;
            }
            free(k);
        }
    }
    if (bundle_header(r, doc) != CSE_OK)
        return CSE_OK;
    for (size_t i = 0; i < r->n_spans; i++) {
        const jv *v = load_entry(r, i, false), *o = jv_get(v, "resource");
        res *x;
        if (v == NULL && r->err && r->err->code == CSE_ERR_IO)
            return CSE_ERR_IO;
        if (!jv_is_object(o) || add_res(r, &x) != CSE_OK)
            return CSE_OK;
        x->off = (long long)i;
        if (scan(r, x, o) != CSE_OK)
            return CSE_OK;
    }
    *fallback = false;
    return finish(r);
}

/* Tries the streamed path on a Bundle file; *done is false when the caller
 * must read the whole document instead (fp is then rewound). */
static cse_code try_stream(reader *r, FILE *fp, size_t max_entry, bool *done)
{
    bscan b = {0};
    const jv *doc = NULL;
    cse_code rc = CSE_OK;
    bool fallback = true;
    cse_error saved;

    if (r->err)
        saved = *r->err;
    *done = false;
    b.fa = r->fa;
    if (bundle_scan(fp, r->max_depth, max_entry, &b) && b.skel != NULL &&
        (doc = cse__jv_parse(&r->doc_arena, b.skel, b.skel_n, r->max_depth, NULL)) !=
            NULL &&
        jstr(doc, "resourceType") && strcmp(jstr(doc, "resourceType"), "Bundle") == 0 &&
        jv_is_array(jv_get(doc, "entry"))) {
        r->bfp = fp;
        r->spans = b.spans;
        r->n_spans = b.n;
        b.spans = NULL;
        rc = read_stream(r, doc, &fallback);
    }
    bscan_free(&b);
    if (rc == CSE_OK && fallback) {
        /* The first error set wins: forget any the streamed path set. */
        if (r->err)
            *r->err = saved;
        /* The index could not be kept (no room in $TMPDIR): the document
         * held whole would need it too. */
        if (cse__farena_file_errno(r->fa) || cse__farena_full(r->fa)) {
            *done = true;
            return nomem(r);
        }
        if (fseek(fp, 0, SEEK_SET) != 0)
            return cse__error_set(r->err, CSE_ERR_IO, 0, r->source, NULL,
                                  "cannot rewind the input");
        return CSE_OK;
    }
    *done = true;
    return rc;
}

/* Length of the first line (without its newline). */
static size_t first_line_len(const char *buf, size_t len)
{
    const char *nl = memchr(buf, '\n', len);
    return nl ? (size_t)(nl - buf) : len;
}

static bool blank(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isspace((unsigned char)p[i]))
            return false;
    return true;
}

/* True when the first line is a whole JSON object and more content follows. */
/* True when buf[0..n) is one whole JSON object (sets no error). */
static bool is_json_object(reader *r, const char *buf, size_t n)
{
    if (linebuf_fit(r, n) != CSE_OK)
        return false;
    memcpy(r->linebuf, buf, n);
    return jv_is_object(cse__jv_parse(&r->arena, r->linebuf, n, r->max_depth, NULL));
}

static bool looks_ndjson(reader *r, const char *buf, size_t len)
{
    size_t n = first_line_len(buf, len);

    if (n == len || blank(buf + n, len - n))
        return false;
    return is_json_object(r, buf, n);
}

/* Pass 1 over NDJSON lines already in memory or read from r->fp. */
static cse_code scan_ndjson_line(reader *r, const char *line, size_t len, long long off,
                                 int lineno)
{
    const jv *o;
    res *x;
    cse_code rc;

    if (blank(line, len))
        return CSE_OK;
    if ((o = parse_json(r, line, len, lineno)) == NULL)
        return r->err ? r->err->code : CSE_ERR_PARSE;
    if ((rc = add_res(r, &x)) == CSE_OK) {
        x->off = off;
        x->len = len;
        x->line = lineno;
        if (jstr(o, "resourceType") && strcmp(jstr(o, "resourceType"), "Bundle") == 0)
            rc = cse__error_set(r->err, CSE_ERR_STRUCTURE, lineno, r->source,
                                "resourceType",
                                "NDJSON holds resources, one per line, not Bundles");
        else
            rc = scan(r, x, o);
    }
    return rc;
}

cse_code cse_fhir_read_memory(const char *buf, size_t len, const char *source_name,
                              const cse_fhir_read_options *opt, cse_sink *sink,
                              cse_error *err)
{
    reader r;
    cse_code rc = CSE_OK;
    size_t max = opt && opt->max_bytes ? opt->max_bytes : CSE_FHIR_MAX_BYTES_DEFAULT;

    if ((buf == NULL && len) || sink == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, source_name, NULL,
                              "missing argument");
    reader_init(&r, opt, source_name, sink, err);
    if (len > max) {
        rc = cse__error_set(err, CSE_ERR_LIMIT, 0, r.source, NULL,
                            "the input is larger than %zu bytes", max);
    } else if (blank(buf, len)) {
        rc = cse__error_set(err, CSE_ERR_PARSE, 1, r.source, NULL,
                            "not valid JSON: the input is empty");
    } else if (looks_ndjson(&r, buf, len)) {
        size_t max_line =
            opt && opt->max_line ? opt->max_line : CSE_FHIR_MAX_LINE_DEFAULT;
        size_t pos = 0;
        int lineno = 1;
        r.buf = buf;
        r.buflen = len;
        while (pos < len && rc == CSE_OK) {
            size_t n = first_line_len(buf + pos, len - pos);
            if (n > max_line)
                rc = cse__error_set(err, CSE_ERR_LIMIT, lineno, r.source, NULL,
                                    "an NDJSON line is longer than %zu bytes", max_line);
            else
                rc = scan_ndjson_line(&r, buf + pos, n, (long long)pos, lineno);
            pos += n + 1;
            lineno++;
        }
        if (rc == CSE_OK)
            rc = finish(&r);
    } else {
        jv *doc = NULL;
        if ((r.docbuf = malloc(len ? len : 1)) == NULL) {
            rc = nomem(&r);
        } else {
            memcpy(r.docbuf, buf, len);
            doc = parse_into(&r, &r.doc_arena, r.docbuf, len, 0);
            rc = doc ? read_document(&r, doc) : err ? err->code : CSE_ERR_PARSE;
        }
    }
    reader_free(&r);
    return rc;
}

/* Copies a stream to an unlinked temporary file so it can be read twice. */
static FILE *spool(FILE *in, size_t max, cse_error *err, const char *source)
{
    FILE *t = tmpfile();
    char chunk[65536];
    size_t n, total = 0;

    if (t == NULL) {
        cse__error_set(err, CSE_ERR_IO, 0, source, NULL,
                       "cannot make a temporary file: %s", strerror(errno));
        return NULL;
    }
    while ((n = fread(chunk, 1, sizeof(chunk), in)) > 0) {
        total += n;
        if (total > max) {
            cse__error_set(err, CSE_ERR_LIMIT, 0, source, NULL,
                           "the input is larger than %zu bytes", max);
            fclose(t);
            return NULL;
        }
        if (fwrite(chunk, 1, n, t) != n) {
            cse__error_set(err, CSE_ERR_IO, 0, source, NULL,
                           "cannot write a temporary file: %s", strerror(errno));
            fclose(t);
            return NULL;
        }
    }
    if (ferror(in) || fflush(t) != 0 || fseek(t, 0, SEEK_SET) != 0) {
        cse__error_set(err, CSE_ERR_IO, 0, source, NULL, "cannot read the input");
        fclose(t);
        return NULL;
    }
    return t;
}

cse_code cse_fhir_read_file(const char *path, const cse_fhir_read_options *opt,
                            cse_sink *sink, cse_error *err)
{
    size_t max = opt && opt->max_bytes ? opt->max_bytes : CSE_FHIR_MAX_BYTES_DEFAULT;
    size_t max_line = opt && opt->max_line ? opt->max_line : CSE_FHIR_MAX_LINE_DEFAULT;
    const char *source = path && strcmp(path, "-") != 0 ? path : "-";
    FILE *fp = NULL;
    char *line = NULL, *all = NULL;
    size_t cap = 0, size = 0, allcap = 0;
    ssize_t n;
    cse_code rc = CSE_OK;
    bool ndjson = false;
    struct stat st;
    reader r;

    if (path == NULL || sink == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    reader_init(&r, opt, source, sink, err);
    if (strcmp(path, "-") == 0)
        fp = spool(stdin, max, err, source);
    else if ((fp = fopen(path, "rb")) == NULL)
        cse__error_set(err, CSE_ERR_IO, 0, source, NULL, "cannot open: %s",
                       strerror(errno));
    if (fp == NULL) {
        rc = err ? err->code : CSE_ERR_IO;
        goto out;
    }
    /* fopen() opens a folder for reading; reading it then fails with no
     * reason a person would recognise. */
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, source, NULL,
                            "is a directory, not a FHIR Bundle or NDJSON file");
        goto out;
    }
    /* NDJSON when the first line is a whole JSON object and more follows. */
    if ((n = getline(&line, &cap, fp)) > 0) {
        size_t l = (size_t)n - (line[n - 1] == '\n');
        bool object = (size_t)n <= max_line && is_json_object(&r, line, l);
        int c;
        while ((c = getc(fp)) != EOF && isspace(c))
            ;
        ndjson = object && c != EOF;
    }
    if (fseek(fp, 0, SEEK_SET) != 0) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, source, NULL, "cannot rewind the input");
        goto out;
    }
    if (ndjson) {
        long long off = 0;
        int lineno = 1;
        r.fp = fp;
        while (rc == CSE_OK && (n = getline(&line, &cap, fp)) > 0) {
            size_t l = (size_t)n - (line[n - 1] == '\n');
            if (l > max_line)
                rc = cse__error_set(err, CSE_ERR_LIMIT, lineno, source, NULL,
                                    "an NDJSON line is longer than %zu bytes", max_line);
            else
                rc = scan_ndjson_line(&r, line, l, off, lineno);
            off += n;
            lineno++;
        }
        if (rc == CSE_OK && ferror(fp))
            rc = cse__error_set(err, CSE_ERR_IO, lineno, source, NULL,
                                "cannot read the input");
        if (rc == CSE_OK)
            rc = finish(&r);
        goto out;
    }
    {
        bool done;
        rc = try_stream(&r, fp, max_line, &done);
        if (done)
            goto out;
        reader_free(&r);
        reader_init(&r, opt, source, sink, err);
    }
    /* Not streamable (or not valid): read it into memory, capped. */
    for (;;) {
        char *nb;
        size_t got;
        if (size + 65536 + 1 > allcap) {
            if (size > max) {
                rc = cse__error_set(err, CSE_ERR_LIMIT, 0, source, NULL,
                                    "the input is larger than %zu bytes", max);
                goto out;
            }
            allcap = size + 65536 + 1 + size / 2;
            if ((nb = realloc(all, allcap)) == NULL) {
                rc = nomem(&r);
                goto out;
            }
            all = nb;
        }
        got = fread(all + size, 1, 65536, fp);
        size += got;
        if (got < 65536)
            break;
    }
    if (ferror(fp)) {
        rc = cse__error_set(err, CSE_ERR_IO, 0, source, NULL, "cannot read the input");
        goto out;
    }
    reader_free(&r);
    memset(&r, 0, sizeof(r));
    rc = cse_fhir_read_memory(all ? all : "", size, source, opt, sink, err);
out:
    reader_free(&r);
    free(line);
    free(all);
    if (fp)
        fclose(fp);
    return rc;
}

/* ---- Laboratory reports ------------------------------------------------ */

#include "fhir_read_path.c"
#include "fhir_read_battery.c"
