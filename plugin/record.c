/* SPDX-License-Identifier: MIT */
/* FHIR R4 records as the host hands them over: a Bundle of one patient's
 * resources, edited in place so that everything the host put there survives.
 *
 * A marker is a Flag (cse-risk-marker-flag) plus its Observation form
 * (cse-risk-marker-observation), linked by the marker identifier and shaped
 * as the FHIR R4 writer writes them (same derived ids), so that records made
 * here and records made by an import look the same. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csemarker/fhir.h>

#include "internal.h"
#include "plugin_internal.h"

#ifndef CSE_FHIR_MARKER_ID_SYSTEM
#define CSE_FHIR_MARKER_ID_SYSTEM CSE_FHIR_BASE "/Id/marker"
#endif
#define SDS_USER_ID "https://fhir.nhs.uk/Id/sds-user-id"
#define NOPAT_DISPLAY                                                                    \
    "no disclosure to patient, family or caregivers without attending provider's "       \
    "authorization"

/* ---- Small JSON helpers ------------------------------------------------- */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool str_is(const char *a, const char *b)
{
    return a != NULL && b != NULL && strcmp(a, b) == 0;
}

/* Sets o[key] = v (stealing v); false on failure. */
static bool set(json_t *o, const char *key, json_t *v)
{
    return v != NULL && json_object_set_new(o, key, v) == 0;
}

static const char *res_type(const json_t *res)
{
    return jstr(res, "resourceType");
}

/* True when meta.security holds a coding with code NOPAT (any system:
 * receivers match on code alone). */
static bool has_nopat(const json_t *res)
{
    json_t *sec = json_object_get(json_object_get(res, "meta"), "security"), *k;
    size_t i;
    json_array_foreach(sec, i, k) if (str_is(jstr(k, "code"), "NOPAT")) return true;
    return false;
}

static bool has_profile(const json_t *res, const char *url)
{
    json_t *p = json_object_get(json_object_get(res, "meta"), "profile"), *k;
    size_t i;
    json_array_foreach(p, i, k)
    {
        const char *s = json_string_value(k);
        /* A canonical may carry a version: "url|1.0". */
        if (s && strncmp(s, url, strlen(url)) == 0 &&
            (s[strlen(url)] == '\0' || s[strlen(url)] == '|'))
            return true;
    }
    return false;
}

static bool has_cse_category(const json_t *res)
{
    json_t *cats = json_object_get(res, "category"), *c, *k;
    size_t i, j;
    json_array_foreach(cats, i, c)
    {
        json_array_foreach(json_object_get(c, "coding"), j, k)
        {
            if (str_is(jstr(k, "system"), CSE_FHIR_CS_CATEGORY) &&
                str_is(jstr(k, "code"), "cse"))
                return true;
        }
    }
    return false;
}

/* SNOMED CT under any of its system spellings: the FHIR URI, the
 * international OID (urn:oid:2.16.840.1.113883.6.96) and the UK OID GP2GP
 * uses, bare or as a urn:oid. */
#define SNOMED_OID_INTL "2.16.840.1.113883.6.96"

static bool snomed_system(const char *sys)
{
    return sys != NULL && (strcmp(sys, CSE_SYSTEM_SNOMED) == 0 ||
                           strcmp(sys, "urn:oid:" SNOMED_OID_INTL) == 0 ||
                           strcmp(sys, SNOMED_OID_INTL) == 0 ||
                           strcmp(sys, "urn:oid:" CSE_OID_SNOMED) == 0 ||
                           strcmp(sys, CSE_OID_SNOMED) == 0);
}

/* A FHIR CodeableConcept as a model concept; every SNOMED spelling becomes
 * the FHIR URI, so that the rules see one system. */
static cse_code to_concept(const json_t *cc, cse_concept *c)
{
    json_t *k;
    size_t i;

    memset(c, 0, sizeof(*c));
    if (!json_is_object(cc))
        return CSE_OK;
    json_array_foreach(json_object_get(cc, "coding"), i, k)
    {
        const char *code = jstr(k, "code");
        if (code == NULL)
            continue;
        const char *sys = jstr(k, "system");
        if (snomed_system(sys))
            sys = CSE_SYSTEM_SNOMED;
        if (cse_concept_add(c, sys, code, jstr(k, "display")) != CSE_OK)
            return CSE_ERR_NOMEM;
    }
    if (jstr(cc, "text") && cse_concept_set_text(c, jstr(cc, "text")) != CSE_OK)
        return CSE_ERR_NOMEM;
    return CSE_OK;
}

static const char *marker_code_of(const json_t *res, cse_concept *tmp)
{
    if (to_concept(json_object_get(res, "code"), tmp) != CSE_OK)
        return NULL;
    return cse_concept_marker_code(tmp);
}

static const char *marker_identifier(const json_t *res)
{
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(res, "identifier"), i, k)
    {
        if (str_is(jstr(k, "system"), CSE_FHIR_MARKER_ID_SYSTEM))
            return jstr(k, "value");
    }
    return NULL;
}

static bool is_marker_flag(const json_t *res)
{
    cse_concept c;
    bool code;
    if (!str_is(res_type(res), "Flag"))
        return false;
    code = marker_code_of(res, &c) != NULL;
    cse_concept_clear(&c);
    return code || has_profile(res, CSE_FHIR_FLAG_PROFILE) || has_cse_category(res);
}

static bool is_marker_obs(const json_t *res)
{
    return str_is(res_type(res), "Observation") &&
           (has_profile(res, CSE_FHIR_OBS_PROFILE) ||
            (has_cse_category(res) && marker_identifier(res) != NULL));
}

bool cse__res_is_marker(const json_t *res)
{
    cse_concept c;
    cse_entry_class cls;
    json_t *k;
    size_t i;

    if (is_marker_flag(res) || is_marker_obs(res) || marker_identifier(res) ||
        has_cse_category(res))
        return true;
    /* Any resource coded with a marker concept, or whose code may be one. */
    if (to_concept(json_object_get(res, "code"), &c) != CSE_OK) {
        cse_concept_clear(&c);
        return true; /* cannot tell: treat as a marker, never show it */
    }
    cls = cse_concept_classify(&c, NULL);
    cse_concept_clear(&c);
    if (cls == CSE_CLASS_MARKER || cls == CSE_CLASS_CANDIDATE)
        return true;
    /* Contained resources count as part of the resource. */
    json_array_foreach(json_object_get(res, "contained"), i, k)
    {
        if (has_nopat(k) || cse__res_is_marker(k))
            return true;
    }
    return false;
}

/* ---- Parsing ------------------------------------------------------------ */

static cse_code structure(cse_error *err, const char *path, const char *msg)
{
    return cse__error_set(err, CSE_ERR_STRUCTURE, 0, NULL, path, "%s", msg);
}

cse_code cse__rec_parse(const char *json, bool need_patient, cse__rec *r, cse_error *err)
{
    json_error_t jerr;
    json_t *entries, *e;
    const char *type;
    size_t i, len;
    char path[64];

    memset(r, 0, sizeof(*r));
    if (json == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, "record",
                              "no record given");
    if ((len = strlen(json)) > CSE__RECORD_MAX)
        return cse__error_set(err, CSE_ERR_LIMIT, 0, NULL, "record",
                              "the record is larger than %u bytes", CSE__RECORD_MAX);
    /* jansson stops at JSON_PARSER_MAX_DEPTH (2048) levels, far beyond any
     * record, before its recursion can exhaust the stack. Its error text may
     * quote the record: only the translated reason is reported, with no path,
     * so that a host can put its own name for the record in front. */
    if ((r->root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
        cse_code rc = CSE_ERR_PARSE;
        if (json_error_code(&jerr) == json_error_stack_overflow)
            rc = CSE_ERR_LIMIT;
        else if (json_error_code(&jerr) == json_error_out_of_memory)
            rc = CSE_ERR_NOMEM;
        /* jansson says column 0 before the first character of a line (an
         * empty input, a BOM): no column then. */
        if (jerr.column > 0)
            cse__error_set(err, rc, jerr.line, NULL, NULL, "line %d, column %d: %s",
                           jerr.line, jerr.column,
                           cse__json_error_text(&jerr, json, len));
        else
            cse__error_set(err, rc, jerr.line, NULL, NULL, "line %d: %s", jerr.line,
                           cse__json_error_text(&jerr, json, len));
        if (err && err->code == rc)
            err->column = jerr.column;
        return rc;
    }
    if (!json_is_object(r->root) || (type = res_type(r->root)) == NULL) {
        cse__rec_clear(r);
        return structure(err, "resourceType", "not a FHIR resource: no resourceType");
    }
    if (strcmp(type, "Bundle") != 0) {
        cse__rec_clear(r);
        return structure(err, "resourceType",
                         "expected a FHIR R4 Bundle of one patient's record");
    }
    entries = json_object_get(r->root, "entry");
    if (entries != NULL && !json_is_array(entries)) {
        cse__rec_clear(r);
        return structure(err, "entry", "Bundle.entry must be an array");
    }
    json_array_foreach(entries, i, e)
    {
        json_t *res = json_object_get(e, "resource");
        snprintf(path, sizeof(path), "entry[%zu].resource", i);
        if (!json_is_object(res) || res_type(res) == NULL) {
            cse__rec_clear(r);
            return structure(err, path,
                             "every Bundle entry needs a resource with a "
                             "resourceType");
        }
        if (r->patient == NULL && str_is(res_type(res), "Patient")) {
            json_t *id;
            size_t j;
            const char *pid = jstr(res, "id"), *full = jstr(e, "fullUrl");
            r->patient = res;
            if (pid)
                snprintf(r->patient_ref, sizeof(r->patient_ref), "Patient/%s", pid);
            json_array_foreach(json_object_get(res, "identifier"), j, id)
            {
                if (str_is(jstr(id, "system"), CSE_FHIR_NHS_NUMBER) &&
                    cse_nhs_number_canonical(jstr(id, "value"), r->nhs) != CSE_OK)
                    r->nhs[0] = '\0';
                if (r->nhs[0])
                    break;
            }
            /* New entries share the Patient's fullUrl base. */
            if (full && pid && strlen(full) > strlen(r->patient_ref) &&
                strcmp(full + strlen(full) - strlen(r->patient_ref), r->patient_ref) ==
                    0) {
                size_t n = strlen(full) - strlen(r->patient_ref);
                if ((r->base = malloc(n + 1)) != NULL) {
                    memcpy(r->base, full, n);
                    r->base[n] = '\0';
                }
            }
        }
    }
    if (need_patient && r->patient == NULL) {
        cse__rec_clear(r);
        return structure(err, "entry", "the Bundle has no Patient");
    }
    if (need_patient && r->nhs[0] == '\0') {
        cse__rec_clear(r);
        return cse__error_set(err, CSE_ERR_NHS_NUMBER, 0, NULL, "Patient.identifier",
                              "the Patient has no valid NHS number "
                              "(system https://fhir.nhs.uk/Id/nhs-number)");
    }
    return CSE_OK;
}

void cse__rec_clear(cse__rec *r)
{
    if (r == NULL)
        return;
    json_decref(r->root);
    free(r->base);
    memset(r, 0, sizeof(*r));
}

char *cse__rec_dump(const cse__rec *r)
{
    /* Compact: an indented dump of a large record can double its size. */
    return json_dumps(r->root, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/* ---- Markers ------------------------------------------------------------ */

static bool date_of(const json_t *o, const char *key, cse_time *t)
{
    const char *s = jstr(o, key);
    memset(t, 0, sizeof(*t));
    if (s == NULL || cse_time_parse_fhir(s, t) != CSE_OK || t->precision < CSE_TIME_DAY)
        return false;
    t->hour = t->minute = t->second = 0;
    t->precision = CSE_TIME_DAY;
    return true;
}

static json_t *find_ext(const json_t *res, const char *url)
{
    json_t *k;
    size_t i;
    json_array_foreach(json_object_get(res, "extension"), i, k)
    {
        if (str_is(jstr(k, "url"), url))
            return k;
    }
    return NULL;
}

/* Builds the marker a Flag (or an Observation form) carries. */
static cse_marker *marker_from(const json_t *res, bool flag, const char *path,
                               cse_error *err)
{
    cse_concept c;
    const char *code, *id = marker_identifier(res), *st = jstr(res, "status");
    const json_t *period = json_object_get(res, flag ? "period" : "effectivePeriod");
    json_t *ext;
    cse_time start, end, review;
    bool has_review;
    cse_marker *m = NULL;

    if (id == NULL)
        id = jstr(res, "id");
    if ((code = marker_code_of(res, &c)) == NULL) {
        cse__error_set(err, CSE_ERR_CODE, 0, NULL, path,
                       "a CSE marker resource without a marker concept id in code");
        goto out;
    }
    if (!date_of(period, "start", &start)) {
        cse__error_set(err, CSE_ERR_DATE, 0, NULL, path,
                       "a CSE marker resource without a start date");
        goto out;
    }
    ext = find_ext(res, CSE_FHIR_EXT_REVIEW_DATE);
    has_review = ext && date_of(ext, "valueDate", &review);
    if ((m = cse_marker_new(code, &start, has_review ? &review : NULL, 0, id, err)) ==
        NULL)
        goto out;
    if (cse_strset(&m->display, NULL) != CSE_OK)
        goto out;
    for (size_t i = 0; i < c.n; i++)
        if (strcmp(c.codings[i].code, code) == 0 && c.codings[i].display) {
            cse_strset(&m->display, c.codings[i].display);
            break;
        }
    if (m->display == NULL)
        cse_strset(&m->display, cse_code_term(code));
    if (flag) {
        if (st && cse_marker_status_parse(st, &m->status) != CSE_OK) {
            cse__error_set(err, CSE_ERR_STATE, 0, NULL, path,
                           "a CSE marker Flag with an unknown status");
            cse_marker_free(m);
            m = NULL;
            goto out;
        }
    } else if (str_is(st, "entered-in-error")) {
        m->status = CSE_MARKER_ENTERED_IN_ERROR;
    }
    if (date_of(period, "end", &end)) {
        m->end = end;
        if (m->status == CSE_MARKER_ACTIVE)
            m->status = CSE_MARKER_INACTIVE;
    }
    if ((ext = find_ext(res, CSE_FHIR_EXT_LAST_REVIEWED)) != NULL)
        date_of(ext, "valueDate", &m->last_reviewed);
    if ((ext = find_ext(res, CSE_FHIR_EXT_END_REASON)) != NULL)
        cse_strset(&m->end_reason, jstr(json_object_get(ext, "valueCoding"), "code"));
    m->labels = has_nopat(res) ? CSE_LABEL_NOPAT : 0;
out:
    cse_concept_clear(&c);
    return m;
}

void cse__pmarkers_clear(cse__pmarkers *pm)
{
    if (pm == NULL)
        return;
    for (size_t i = 0; i < pm->n; i++)
        cse_marker_free(pm->items[i].m);
    free(pm->items);
    memset(pm, 0, sizeof(*pm));
}

cse__pmarker *cse__pmarkers_find(cse__pmarkers *pm, const char *id)
{
    for (size_t i = 0; id && i < pm->n; i++)
        if (str_is(pm->items[i].m->id, id))
            return &pm->items[i];
    return NULL;
}

static cse_code push(cse__pmarkers *pm, cse_marker *m, json_t *flag, json_t *obs,
                     cse_error *err)
{
    cse__pmarker *ni = realloc(pm->items, (pm->n + 1) * sizeof(*ni));
    if (ni == NULL) {
        cse_marker_free(m);
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    pm->items = ni;
    ni[pm->n].m = m;
    ni[pm->n].flag = flag;
    ni[pm->n].obs = obs;
    pm->n++;
    return CSE_OK;
}

cse_code cse__rec_markers(cse__rec *r, cse__pmarkers *out, cse_error *err)
{
    json_t *entries = json_object_get(r->root, "entry"), *e;
    size_t i;
    char path[64];
    cse_code rc = CSE_OK;

    memset(out, 0, sizeof(*out));
    /* Flags first: they are the marker; then Observation forms. */
    json_array_foreach(entries, i, e)
    {
        json_t *res = json_object_get(e, "resource");
        cse_marker *m;
        if (!is_marker_flag(res))
            continue;
        snprintf(path, sizeof(path), "entry[%zu].resource", i);
        if ((m = marker_from(res, true, path, err)) == NULL) {
            rc = err ? err->code : CSE_ERR_STRUCTURE;
            goto fail;
        }
        if (cse__pmarkers_find(out, m->id)) {
            cse_marker_free(m);
            rc = structure(err, path, "two CSE marker Flags share one marker id");
            goto fail;
        }
        if ((rc = push(out, m, res, NULL, err)) != CSE_OK)
            goto fail;
    }
    json_array_foreach(entries, i, e)
    {
        json_t *res = json_object_get(e, "resource");
        const char *id;
        cse__pmarker *pm;
        cse_marker *m;
        if (!is_marker_obs(res))
            continue;
        id = marker_identifier(res);
        if ((pm = cse__pmarkers_find(out, id ? id : jstr(res, "id"))) != NULL) {
            pm->obs = res;
            continue;
        }
        snprintf(path, sizeof(path), "entry[%zu].resource", i);
        if ((m = marker_from(res, false, path, err)) == NULL) {
            rc = err ? err->code : CSE_ERR_STRUCTURE;
            goto fail;
        }
        if ((rc = push(out, m, NULL, res, err)) != CSE_OK)
            goto fail;
    }
    return CSE_OK;
fail:
    cse__pmarkers_clear(out);
    return rc;
}

/* ---- Writing markers ---------------------------------------------------- */

static json_t *nopat_coding(void)
{
    return json_pack("{s:s,s:s,s:s}", "system", CSE_FHIR_R4_ACTCODE, "code", "NOPAT",
                     "display", NOPAT_DISPLAY);
}

/* Makes sure meta.security carries NOPAT: a marker is never written without. */
static bool ensure_nopat(json_t *res)
{
    json_t *meta = json_object_get(res, "meta"), *sec;
    if (has_nopat(res))
        return true;
    if (meta == NULL && !set(res, "meta", json_object()))
        return false;
    meta = json_object_get(res, "meta");
    if ((sec = json_object_get(meta, "security")) == NULL) {
        if (!set(meta, "security", json_array()))
            return false;
        sec = json_object_get(meta, "security");
    }
    return json_array_append_new(sec, nopat_coding()) == 0;
}

static json_t *fhir_date(const cse_time *t)
{
    char buf[32];
    return json_string(cse_time_format_fhir_date(t, buf, sizeof(buf)));
}

static const char *end_reason_display(const char *code)
{
    if (str_is(code, CSE_END_NO_LONGER_AT_RISK))
        return "No longer at risk";
    if (str_is(code, CSE_END_REACHED_ADULTHOOD))
        return "Reached adulthood";
    if (str_is(code, CSE_END_SUPERSEDED))
        return "Superseded";
    return "Other";
}

/* Replaces our two extensions, keeping any other extension in place. */
static bool set_marker_extensions(json_t *res, const cse_marker *m)
{
    json_t *ext = json_object_get(res, "extension"), *k;
    size_t i;

    if (ext == NULL) {
        if (!set(res, "extension", json_array()))
            return false;
        ext = json_object_get(res, "extension");
    }
    for (i = json_array_size(ext); i-- > 0;) {
        k = json_array_get(ext, i);
        if (str_is(jstr(k, "url"), CSE_FHIR_EXT_REVIEW_DATE) ||
            str_is(jstr(k, "url"), CSE_FHIR_EXT_END_REASON) ||
            str_is(jstr(k, "url"), CSE_FHIR_EXT_LAST_REVIEWED))
            json_array_remove(ext, i);
    }
    if (json_array_insert_new(ext, 0,
                              json_pack("{s:s,s:o}", "url", CSE_FHIR_EXT_REVIEW_DATE,
                                        "valueDate", fhir_date(&m->review))) != 0)
        return false;
    /* When it was last reviewed: GP2GP carries it in the annotation. */
    if (m->last_reviewed.precision != CSE_TIME_NONE &&
        json_array_append_new(ext,
                              json_pack("{s:s,s:o}", "url", CSE_FHIR_EXT_LAST_REVIEWED,
                                        "valueDate", fhir_date(&m->last_reviewed))) != 0)
        return false;
    if (m->status == CSE_MARKER_INACTIVE && m->end_reason &&
        json_array_insert_new(
            ext, 1,
            json_pack("{s:s,s:{s:s,s:s,s:s}}", "url", CSE_FHIR_EXT_END_REASON,
                      "valueCoding", "system", CSE_FHIR_CS_END_REASON, "code",
                      m->end_reason, "display", end_reason_display(m->end_reason))) != 0)
        return false;
    return true;
}

static json_t *period_of(const cse_marker *m)
{
    json_t *p = json_pack("{s:o}", "start", fhir_date(&m->start));
    if (p && m->end.precision != CSE_TIME_NONE && !set(p, "end", fhir_date(&m->end))) {
        json_decref(p);
        return NULL;
    }
    return p;
}

static bool write_flag(json_t *flag, const cse_marker *m)
{
    return ensure_nopat(flag) && set_marker_extensions(flag, m) &&
           set(flag, "status", json_string(cse_marker_status_name(m->status))) &&
           set(flag, "period", period_of(m));
}

static bool write_obs(json_t *obs, const cse_marker *m)
{
    return ensure_nopat(obs) && set_marker_extensions(obs, m) &&
           set(obs, "status",
               json_string(m->status == CSE_MARKER_ENTERED_IN_ERROR ? "entered-in-error"
                                                                    : "final")) &&
           set(obs, "effectivePeriod", period_of(m));
}

cse_code cse__rec_update_marker(cse__rec *r, cse__pmarker *pm, cse_error *err)
{
    (void)r;
    if ((pm->flag && !write_flag(pm->flag, pm->m)) ||
        (pm->obs && !write_obs(pm->obs, pm->m)))
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return CSE_OK;
}

/* Who recorded it: a Practitioner of the record with the user's id, else the
 * user by SDS user id. */
static json_t *author_ref(const cse__rec *r, const char *user_id)
{
    json_t *e, *id;
    size_t i, j;
    json_array_foreach(json_object_get(r->root, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource");
        bool match;
        if (!str_is(res_type(res), "Practitioner"))
            continue;
        match = str_is(jstr(res, "id"), user_id);
        json_array_foreach(json_object_get(res, "identifier"), j, id) match =
            match || str_is(jstr(id, "value"), user_id);
        if (match && jstr(res, "id")) {
            char ref[128];
            snprintf(ref, sizeof(ref), "Practitioner/%s", jstr(res, "id"));
            return json_pack("{s:s}", "reference", ref);
        }
    }
    return json_pack("{s:s,s:{s:s,s:s}}", "type", "Practitioner", "identifier", "system",
                     SDS_USER_ID, "value", user_id);
}

static json_t *subject_ref(const cse__rec *r)
{
    json_t *s = json_pack("{s:{s:s,s:s}}", "identifier", "system", CSE_FHIR_NHS_NUMBER,
                          "value", r->nhs);
    if (s && r->patient_ref[0] && !set(s, "reference", json_string(r->patient_ref))) {
        json_decref(s);
        return NULL;
    }
    return s;
}

static json_t *marker_code(const cse_marker *m)
{
    const char *display = m->display ? m->display : cse_code_term(m->code);
    return json_pack("{s:[{s:s,s:s,s:s?}],s:s?}", "coding", "system", CSE_SYSTEM_SNOMED,
                     "code", m->code, "display", display, "text", display);
}

static cse_code append_entry(cse__rec *r, const char *type, const char *id, json_t *res,
                             cse_error *err)
{
    json_t *entries = json_object_get(r->root, "entry");
    char full[512];

    if (r->base && r->base[0])
        snprintf(full, sizeof(full), "%s%s/%s", r->base, type, id);
    else {
        size_t n;
        snprintf(full, sizeof(full), "urn:uuid:%s", id);
        for (n = 9; full[n]; n++)
            if (full[n] >= 'A' && full[n] <= 'F')
                full[n] = (char)(full[n] - 'A' + 'a');
    }
    if (entries == NULL) {
        if (!set(r->root, "entry", json_array()))
            goto nomem;
        entries = json_object_get(r->root, "entry");
    }
    if (json_array_append_new(
            entries, json_pack("{s:s,s:o}", "fullUrl", full, "resource", res)) != 0)
        goto nomem;
    return CSE_OK;
nomem:
    return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
}

cse_code cse__rec_add_marker(cse__rec *r, const cse_marker *m, const char *user_id,
                             cse_error *err)
{
    char flag_id[37], obs_id[37], ref[64];
    json_t *flag = NULL, *obs = NULL;
    cse_code rc;

    if (cse_uuid_derive(CSE_FHIR_BASE "/Flag", m->id, flag_id) != CSE_OK ||
        cse_uuid_derive(CSE_FHIR_BASE "/Observation", m->id, obs_id) != CSE_OK)
        return cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL, "cannot derive ids");
    snprintf(ref, sizeof(ref), "Observation/%s", obs_id);
    flag = json_pack(
        "{s:s,s:s,s:{s:[o],s:[s]},s:[{s:s,s:s}],s:[{s:s,s:{s:s}}],s:[{s:[{s:s,s:s,s:s}]},"
        "{s:[{s:s,s:s,s:s}]}],s:o,s:o,s:o}",
        "resourceType", "Flag", "id", flag_id, "meta", "security", nopat_coding(),
        "profile", CSE_FHIR_FLAG_PROFILE, "identifier", "system",
        CSE_FHIR_MARKER_ID_SYSTEM, "value", m->id, "extension", "url",
        CSE_FHIR_FLAG_DETAIL, "valueReference", "reference", ref, "category", "coding",
        "system", CSE_FHIR_FLAG_CATEGORY, "code", "safety", "display", "Safety", "coding",
        "system", CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
        "Child sexual exploitation", "code", marker_code(m), "subject", subject_ref(r),
        "author", author_ref(r, user_id));
    obs = json_pack("{s:s,s:s,s:{s:[o],s:[s]},s:[{s:s,s:s}],s:[{s:[{s:s,s:s,s:s}]}],"
                    "s:o,s:o,s:[o]}",
                    "resourceType", "Observation", "id", obs_id, "meta", "security",
                    nopat_coding(), "profile", CSE_FHIR_OBS_PROFILE, "identifier",
                    "system", CSE_FHIR_MARKER_ID_SYSTEM, "value", m->id, "category",
                    "coding", "system", CSE_FHIR_CS_CATEGORY, "code", "cse", "display",
                    "Child sexual exploitation", "code", marker_code(m), "subject",
                    subject_ref(r), "performer", author_ref(r, user_id));
    if (flag == NULL || obs == NULL || !write_flag(flag, m) || !write_obs(obs, m)) {
        json_decref(flag);
        json_decref(obs);
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    if ((rc = append_entry(r, "Flag", flag_id, flag, err)) != CSE_OK) {
        json_decref(obs);
        return rc;
    }
    return append_entry(r, "Observation", obs_id, obs, err);
}

/* ---- The patient-facing view -------------------------------------------- */

/* What a Coding, or a piece of text, says about safeguarding. */
typedef enum hit_kind { HIT_NONE = 0, HIT_MARKER, HIT_RELATED, HIT_TEXT } hit_kind;

static const char *const hit_names[] = {"none", "marker", "related", "text"};

/* A Coding (an object with a code and a SNOMED system) of a marker or a
 * related safeguarding concept. */
static hit_kind coding_kind(const json_t *o, const char **code)
{
    const char *c = jstr(o, "code");
    if (c == NULL || !snomed_system(jstr(o, "system")))
        return HIT_NONE;
    *code = c;
    if (cse_code_is_marker(c))
        return HIT_MARKER;
    if (cse_code_is_related(c))
        return HIT_RELATED;
    return HIT_NONE;
}

/* Text that names CSE: a CodeableConcept's text, a Coding's display, a note,
 * a narrative, a title, a string value. */
static bool text_key(const char *key)
{
    return strcmp(key, "text") == 0 || strcmp(key, "display") == 0 ||
           strcmp(key, "div") == 0 || strcmp(key, "title") == 0 ||
           strcmp(key, "valueString") == 0;
}

typedef void (*hit_fn)(void *ctx, const char *path, hit_kind kind, const char *code);

/* Calls fn for every hit in v, depth first; path is v's path. Returns the
 * number of hits. */
static size_t walk_hits(const json_t *v, char *path, size_t plen, size_t psize, hit_fn fn,
                        void *ctx)
{
    size_t n = 0;
    const char *code = NULL;
    hit_kind k = HIT_NONE;

    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        if ((k = coding_kind(v, &code)) != HIT_NONE) {
            if (fn)
                fn(ctx, path, k, code);
            n++;
        }
        json_object_foreach((json_t *)v, key, val)
        {
            int w = snprintf(path + plen, psize - plen, "%s%s", plen ? "." : "", key);
            size_t l = w > 0 && (size_t)w < psize - plen ? plen + (size_t)w : plen;
            /* A hit Coding's own display is that hit, not another. */
            if (json_is_string(val) && text_key(key) &&
                !(k != HIT_NONE && strcmp(key, "display") == 0) &&
                cse_text_names_cse(json_string_value(val))) {
                if (fn)
                    fn(ctx, path, HIT_TEXT, NULL);
                n++;
            } else if (!json_is_string(val)) {
                n += walk_hits(val, path, l, psize, fn, ctx);
            }
            path[plen] = '\0';
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *el;
        json_array_foreach(v, i, el)
        {
            int w = snprintf(path + plen, psize - plen, "[%zu]", i);
            size_t l = w > 0 && (size_t)w < psize - plen ? plen + (size_t)w : plen;
            n += walk_hits(el, path, l, psize, fn, ctx);
            path[plen] = '\0';
        }
    }
    return n;
}

static bool has_hit(const json_t *v)
{
    char path[512] = "";
    return walk_hits(v, path, 0, sizeof(path), NULL, NULL) > 0;
}

/* The rule (plugin/README.md, "The patient-facing view"):
 * - A resource goes whole when it is labelled NOPAT, is a marker resource,
 *   or is about the concept: the concept is in its code, value[x],
 *   category, meta (a tag) or a contained resource, or it is a resource whose
 *   whole purpose is the assessment (Flag, RiskAssessment, DetectedIssue,
 *   ClinicalImpression, Observation).
 * - Otherwise the resource also holds the patient's own data (an Encounter,
 *   a Condition, a QuestionnaireResponse...), and only the element goes: the
 *   entry of the top-level list that holds the concept (reasonCode[i],
 *   evidence[i], diagnosis[i]), the innermost questionnaire item (question
 *   and answer together) or Composition section, or the top-level member
 *   itself; then its narrative, which may describe what went. */
static bool whole_key(const char *key)
{
    return strcmp(key, "code") == 0 || strcmp(key, "category") == 0 ||
           strcmp(key, "meta") == 0 || strcmp(key, "contained") == 0 ||
           strncmp(key, "value", 5) == 0;
}

static bool whole_type(const char *type)
{
    static const char *const types[] = {"Flag", "RiskAssessment", "DetectedIssue",
                                        "ClinicalImpression", "Observation"};
    for (size_t i = 0; type && i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(type, types[i]) == 0)
            return true;
    return false;
}

/* Removes from a list of questionnaire items (or Composition sections) the
 * innermost ones that hold a hit outside their own nested list. */
static void prune_nested(json_t *arr, const char *nest)
{
    for (size_t i = json_array_size(arr); i-- > 0;) {
        json_t *it = json_array_get(arr, i), *copy;
        json_t *kids = json_object_get(it, nest), *ans;
        size_t j;
        if (!has_hit(it))
            continue;
        /* Does the hit lie only in the nested items (of the item or of its
         * answers)? Then keep this one and prune inside. */
        copy = json_copy(it);
        if (copy == NULL) {
            json_array_remove(arr, i);
            continue;
        }
        json_object_del(copy, nest);
        if (strcmp(nest, "item") == 0 && json_is_array(json_object_get(it, "answer"))) {
            json_t *answers = json_deep_copy(json_object_get(it, "answer")), *a;
            json_array_foreach(answers, j, a) json_object_del(a, "item");
            json_object_set_new(copy, "answer", answers);
        }
        if (has_hit(copy)) {
            json_array_remove(arr, i);
        } else {
            prune_nested(kids, nest);
            json_array_foreach(json_object_get(it, "answer"), j, ans)
                prune_nested(json_object_get(ans, nest), nest);
        }
        json_decref(copy);
    }
}

/* Drops empty arrays and objects left inside v (FHIR forbids both). */
static void drop_empty(json_t *v)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, val)
        {
            drop_empty(val);
            if ((json_is_array(val) && json_array_size(val) == 0) ||
                (json_is_object(val) && json_object_size(val) == 0))
                json_object_del(v, key);
        }
    } else if (json_is_array(v)) {
        for (size_t i = json_array_size(v); i-- > 0;) {
            json_t *el = json_array_get(v, i);
            drop_empty(el);
            if (json_is_object(el) && json_object_size(el) == 0)
                json_array_remove(v, i);
        }
    }
}

/* True when the resource must go whole; otherwise removes the elements that
 * hold a hit (and the narrative when any went). */
static bool hide_in_resource(json_t *res)
{
    const char *key, *type = res_type(res);
    json_t *val;
    void *tmp;
    bool edited = false;

    if (has_nopat(res) || cse__res_is_marker(res))
        return true;
    if (!has_hit(res))
        return false;
    if (whole_type(type))
        return true;
    /* The Patient is the patient's own data through and through: never
     * removed for a concept, only the element that holds it. */
    json_object_foreach(res, key, val)
    {
        if (whole_key(key) && !str_is(type, "Patient") && has_hit(val))
            return true;
    }
    json_object_foreach_safe(res, tmp, key, val)
    {
        if (strcmp(key, "text") == 0 || !has_hit(val))
            continue;
        edited = true;
        if (strcmp(key, "meta") == 0 && json_is_object(val)) {
            /* A tag: the tag goes, the rest of meta stays. */
            const char *mk;
            json_t *mv;
            void *mtmp;
            json_object_foreach_safe(val, mtmp, mk, mv)
            {
                if (json_is_array(mv)) {
                    for (size_t i = json_array_size(mv); i-- > 0;)
                        if (has_hit(json_array_get(mv, i)))
                            json_array_remove(mv, i);
                } else if (has_hit(mv)) {
                    json_object_del(val, mk);
                }
            }
        } else if ((strcmp(key, "item") == 0 && (str_is(type, "QuestionnaireResponse") ||
                                                 str_is(type, "Questionnaire"))) ||
                   (strcmp(key, "section") == 0 && str_is(type, "Composition"))) {
            prune_nested(val, key);
        } else if (json_is_array(val)) {
            for (size_t i = json_array_size(val); i-- > 0;)
                if (has_hit(json_array_get(val, i)))
                    json_array_remove(val, i);
        } else {
            json_object_del(res, key);
        }
    }
    if (edited || has_hit(json_object_get(res, "text")))
        json_object_del(res, "text");
    drop_empty(res);
    return false;
}

static bool ref_removed(const json_t *v, const json_t *removed)
{
    const char *ref = jstr(v, "reference");
    return json_is_object(v) && ref && json_object_get(removed, ref) != NULL;
}

/* Drops every reference to a removed resource: array elements that are, or
 * directly hold, such a reference, and object members that are one. */
static void strip_refs(json_t *v, const json_t *removed)
{
    if (json_is_object(v)) {
        const char *key;
        json_t *val;
        void *tmp;
        json_object_foreach_safe(v, tmp, key, val)
        {
            if (ref_removed(val, removed))
                json_object_del(v, key);
            else
                strip_refs(val, removed);
        }
    } else if (json_is_array(v)) {
        for (size_t i = json_array_size(v); i-- > 0;) {
            json_t *el = json_array_get(v, i);
            bool drop = ref_removed(el, removed);
            if (!drop && json_is_object(el)) {
                const char *key;
                json_t *val;
                json_object_foreach(el, key, val) drop =
                    drop || ref_removed(val, removed);
            }
            if (drop)
                json_array_remove(v, i);
            else
                strip_refs(el, removed);
        }
    }
}

/* Composition sections that lost every entry they had (and have no
 * subsection left) go; true when none is left of those there were. */
static bool prune_sections(json_t *after, const json_t *before)
{
    size_t had = json_array_size(before);
    for (size_t i = json_array_size(after); i-- > 0;) {
        json_t *a = json_array_get(after, i);
        const json_t *b = json_array_get(before, i);
        bool subs_gone =
            prune_sections(json_object_get(a, "section"), json_object_get(b, "section"));
        if (json_array_size(json_object_get(b, "entry")) > 0 &&
            json_array_size(json_object_get(a, "entry")) == 0 &&
            (subs_gone || json_array_size(json_object_get(a, "section")) == 0))
            json_array_remove(after, i);
    }
    return had > 0 && json_array_size(after) == 0;
}

/* After the references to removed resources went: a List, a Provenance or a
 * Composition left empty by that is an empty shell that hints at what was
 * there, so it goes too. */
static bool emptied_container(json_t *res, const json_t *before)
{
    const char *type = res_type(res);
    if (str_is(type, "List"))
        return json_array_size(json_object_get(before, "entry")) > 0 &&
               json_array_size(json_object_get(res, "entry")) == 0;
    if (str_is(type, "Provenance"))
        return json_array_size(json_object_get(before, "target")) > 0 &&
               json_array_size(json_object_get(res, "target")) == 0;
    if (str_is(type, "Composition"))
        return prune_sections(json_object_get(res, "section"),
                              json_object_get(before, "section"));
    return false;
}

/* Copies of the containers among the entries (List, Provenance,
 * Composition), null for the rest: what emptied_container() compares with.
 * Only these are copied, so a large record is not held twice. */
static json_t *container_snapshot(const json_t *entries)
{
    json_t *snap = json_array(), *e;
    size_t i;

    if (snap == NULL)
        return NULL;
    json_array_foreach(entries, i, e)
    {
        const json_t *res = json_object_get(e, "resource");
        const char *type = res_type(res);
        json_t *copy = str_is(type, "List") || str_is(type, "Provenance") ||
                               str_is(type, "Composition")
                           ? json_deep_copy(res)
                           : json_null();
        if (copy == NULL || json_array_append_new(snap, copy) != 0) {
            json_decref(snap);
            return NULL;
        }
    }
    return snap;
}

static void note_removed(json_t *removed, const json_t *e, const json_t *res)
{
    char ref[256];
    if (jstr(res, "id") && res_type(res)) {
        snprintf(ref, sizeof(ref), "%s/%s", res_type(res), jstr(res, "id"));
        json_object_set_new(removed, ref, json_true());
    }
    if (jstr(e, "fullUrl"))
        json_object_set_new(removed, jstr(e, "fullUrl"), json_true());
}

/* The view of one Bundle (nested Bundles get the same, recursively). True
 * when it had entries and has none left. */
static bool view_bundle(json_t *bundle, json_t *removed)
{
    json_t *entries = json_object_get(bundle, "entry");
    size_t had = json_array_size(entries), before_n;
    const char *key;
    json_t *val;
    void *tmp;

    /* The Bundle's own tags and other coded members. */
    json_object_foreach_safe(bundle, tmp, key, val)
    {
        if (strcmp(key, "entry") == 0 || !has_hit(val))
            continue;
        if (json_is_array(val)) {
            for (size_t i = json_array_size(val); i-- > 0;)
                if (has_hit(json_array_get(val, i)))
                    json_array_remove(val, i);
        } else if (json_is_object(val)) {
            hide_in_resource(val); /* meta: drops the tag entries */
            if (has_hit(val))
                json_object_del(bundle, key);
        } else {
            json_object_del(bundle, key);
        }
    }
    for (size_t i = json_array_size(entries); i-- > 0;) {
        json_t *e = json_array_get(entries, i), *res = json_object_get(e, "resource");
        bool go;
        if (str_is(res_type(res), "Bundle") && !has_nopat(res))
            go = view_bundle(res, removed);
        else
            go = hide_in_resource(res);
        if (go) {
            note_removed(removed, e, res);
            json_array_remove(entries, i);
        }
    }
    /* References to what went; then containers emptied by that, until
     * nothing more goes. */
    do {
        json_t *snap;
        before_n = json_object_size(removed);
        if (before_n == 0 || (snap = container_snapshot(entries)) == NULL)
            break;
        strip_refs(entries, removed);
        for (size_t i = json_array_size(entries); i-- > 0;) {
            json_t *e = json_array_get(entries, i), *res = json_object_get(e, "resource");
            const json_t *b = json_array_get(snap, i);
            if (json_is_object(b) && emptied_container(res, b)) {
                note_removed(removed, e, res);
                json_array_remove(entries, i);
            }
        }
        json_decref(snap);
    } while (json_object_size(removed) > before_n);
    for (size_t i = 0; i < json_array_size(entries); i++)
        drop_empty(json_object_get(json_array_get(entries, i), "resource"));
    if (entries && json_array_size(entries) == 0)
        json_object_del(bundle, "entry");
    return had > 0 && json_array_size(json_object_get(bundle, "entry")) == 0;
}

cse_code cse__rec_patient_view(cse__rec *r, cse_error *err)
{
    json_t *removed = json_object();

    if (removed == NULL)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    view_bundle(r->root, removed);
    json_decref(removed);
    return CSE_OK;
}

/* True when the view of the Bundle would hide anything: what
 * record_opened tells a role that may know only that. */
static bool bundle_restricted(const json_t *bundle)
{
    const char *key;
    json_t *val, *e;
    size_t i;

    json_object_foreach((json_t *)bundle, key, val)
    {
        if (strcmp(key, "entry") != 0 && has_hit(val))
            return true;
    }
    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        const json_t *res = json_object_get(e, "resource");
        if (str_is(res_type(res), "Bundle") && !has_nopat(res)) {
            if (bundle_restricted(res))
                return true;
        } else if (has_nopat(res) || cse__res_is_marker(res) || has_hit(res)) {
            return true;
        }
    }
    return false;
}

bool cse__rec_restricted(const cse__rec *r)
{
    return bundle_restricted(r->root);
}

/* ---- Safeguarding concepts outside the markers -------------------------- */

typedef struct hit_ctx {
    json_t *list;
    const char *resource;
    const char *hidden; /* "resource" or "element" */
    bool failed;
} hit_ctx;

static void add_hit(void *p, const char *path, hit_kind kind, const char *code)
{
    hit_ctx *c = p;
    json_t *o = json_pack("{s:s,s:s,s:s,s:s?,s:s?,s:s}", "resource", c->resource,
                          "element", path, "concept", hit_names[kind], "code", code,
                          "term", code ? cse_code_term(code) : NULL, "hidden", c->hidden);
    if (o == NULL || json_array_append_new(c->list, o) != 0)
        c->failed = true;
}

/* Every marker or safeguarding concept the patient-facing view hides that is
 * not a marker's own Flag or Observation form: {"resource","element",
 * "concept":"marker"|"related"|"text","code"?,"term"?,"hidden":"resource"|
 * "element"}. Nested Bundles are searched too. */
static bool hits_of_bundle(const json_t *bundle, json_t *list, const char *prefix)
{
    json_t *e;
    size_t i;
    char path[512], ref[256];

    json_array_foreach(json_object_get(bundle, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource"), *copy;
        hit_ctx c = {list, ref, "element", false};
        if (is_marker_flag(res) || is_marker_obs(res))
            continue;
        snprintf(ref, sizeof(ref), "%s%s%s/%s", prefix, prefix[0] ? " > " : "",
                 res_type(res) ? res_type(res) : "?",
                 jstr(res, "id") ? jstr(res, "id") : "");
        if (str_is(res_type(res), "Bundle")) {
            if (!hits_of_bundle(res, list, ref))
                return false;
            continue;
        }
        if (!has_hit(res))
            continue;
        if ((copy = json_deep_copy(res)) == NULL)
            return false;
        if (hide_in_resource(copy))
            c.hidden = "resource";
        json_decref(copy);
        path[0] = '\0';
        walk_hits(res, path, 0, sizeof(path), add_hit, &c);
        if (c.failed)
            return false;
    }
    return true;
}

json_t *cse__rec_hidden_concepts(cse__rec *r, cse_error *err)
{
    json_t *list = json_array();
    if (list == NULL || !hits_of_bundle(r->root, list, "")) {
        json_decref(list);
        cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        return NULL;
    }
    return list;
}

/* ---- Suggestions on save ------------------------------------------------ */

json_t *cse__rec_suggestions(cse__rec *r, cse_error *err)
{
    json_t *out = NULL, *list = json_array(), *e, *hidden;
    cse__pmarkers pm;
    size_t i, active = 0;

    if (list == NULL || cse__rec_markers(r, &pm, err) != CSE_OK) {
        json_decref(list);
        return NULL;
    }
    for (i = 0; i < pm.n; i++)
        active += pm.items[i].m->status == CSE_MARKER_ACTIVE;
    json_array_foreach(json_object_get(r->root, "entry"), i, e)
    {
        json_t *res = json_object_get(e, "resource"), *s = NULL;
        cse_concept c;
        cse_candidate_reason why = CSE_CANDIDATE_NONE;
        cse_entry_class cls;
        const char *code = NULL;
        char ref[256];

        if (is_marker_flag(res) || is_marker_obs(res))
            continue;
        if (to_concept(json_object_get(res, "code"), &c) != CSE_OK) {
            cse_concept_clear(&c);
            continue;
        }
        cls = cse_concept_classify(&c, &why);
        snprintf(ref, sizeof(ref), "%s/%s", res_type(res),
                 jstr(res, "id") ? jstr(res, "id") : "");
        if (cls == CSE_CLASS_RELATED && active == 0) {
            code = cse_concept_related_code(&c);
            s = json_pack("{s:s,s:s,s:s?,s:s,s:s}", "resource", ref, "code", code, "term",
                          cse_code_term(code), "kind", "related-code", "action",
                          "review: does this child need a CSE marker?");
        } else if (cls == CSE_CLASS_CANDIDATE) {
            s = json_pack("{s:s,s:s,s:s,s:s}", "resource", ref, "kind", "candidate",
                          "reason", cse_candidate_reason_name(why), "action",
                          "review: this entry may record a CSE concern without a "
                          "standard marker code");
        } else if (cls == CSE_CLASS_MARKER) {
            code = cse_concept_marker_code(&c);
            s = json_pack("{s:s,s:s,s:s?,s:s,s:s}", "resource", ref, "code", code, "term",
                          cse_code_term(code), "kind", "marker-code-without-marker",
                          "action",
                          "review: a marker concept outside a CSE marker; add the "
                          "marker so that it is labelled NOPAT and reviewed");
        }
        cse_concept_clear(&c);
        if (s && json_array_append_new(list, s) != 0)
            goto nomem;
    }
    /* Concepts outside a resource's code (a reason, an answer, evidence, a
     * tag, a nested Bundle): a suggestion for each, naming the element. */
    if ((hidden = cse__rec_hidden_concepts(r, err)) == NULL) {
        json_decref(list);
        cse__pmarkers_clear(&pm);
        return NULL;
    }
    json_array_foreach(hidden, i, e)
    {
        const char *el = jstr(e, "element"), *concept = jstr(e, "concept");
        json_t *s = NULL;
        if (el && strncmp(el, "code.", 5) == 0 && !strstr(jstr(e, "resource"), " > "))
            continue; /* the loop above has these */
        if (str_is(concept, "marker"))
            s = json_pack("{s:O,s:O,s:O,s:O?,s:s,s:s}", "resource",
                          json_object_get(e, "resource"), "element",
                          json_object_get(e, "element"), "code",
                          json_object_get(e, "code"), "term", json_object_get(e, "term"),
                          "kind", "marker-code-without-marker", "action",
                          "review: a marker concept outside a CSE marker; add the marker "
                          "so that it is labelled NOPAT and reviewed");
        else if (str_is(concept, "related") && active == 0)
            s = json_pack(
                "{s:O,s:O,s:O,s:O?,s:s,s:s}", "resource", json_object_get(e, "resource"),
                "element", json_object_get(e, "element"), "code",
                json_object_get(e, "code"), "term", json_object_get(e, "term"), "kind",
                "related-code", "action", "review: does this child need a CSE marker?");
        else if (str_is(concept, "text"))
            s = json_pack("{s:O,s:O,s:s,s:s,s:s}", "resource",
                          json_object_get(e, "resource"), "element",
                          json_object_get(e, "element"), "kind", "candidate", "reason",
                          "text-only", "action",
                          "review: this entry may record a CSE concern without a "
                          "standard marker code");
        if (s && json_array_append_new(list, s) != 0) {
            json_decref(hidden);
            goto nomem;
        }
    }
    json_decref(hidden);
    out =
        json_pack("{s:o,s:I}", "suggestions", list, "active_markers", (json_int_t)active);
    list = NULL;
    if (out == NULL)
        goto nomem;
    cse__pmarkers_clear(&pm);
    return out;
nomem:
    json_decref(list);
    cse__pmarkers_clear(&pm);
    cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return NULL;
}
