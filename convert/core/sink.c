/* SPDX-License-Identifier: MIT */
/* The sink interface: the record collector, replay, and the marker's GP2GP
 * statement form (entry <-> marker, the csemarker annotation). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void cse_sink_free(cse_sink *s)
{
    if (s != NULL && s->destroy != NULL)
        s->destroy(s);
}

/* ---- The record collector ---------------------------------------------- */

static cse_code rec_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    cse_patient *p = cse_record_patient(s->data);
    const cse_patient *src = info ? info->patient : NULL;

    if (src == NULL)
        return CSE_OK;
    if (cse_strset(&p->nhs_number, src->nhs_number) != CSE_OK ||
        cse_strset(&p->local_id_root, src->local_id_root) != CSE_OK ||
        cse_strset(&p->local_id, src->local_id) != CSE_OK ||
        cse_strset(&p->ods, src->ods ? src->ods : info->author_ods) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    p->birth = src->birth;
    return CSE_OK;
}

static cse_code rec_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    cse_agent *d = cse_agent_dup(a);
    if (d == NULL || cse_record_add_agent(s->data, d) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return CSE_OK;
}

static cse_code rec_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                          cse_error *err)
{
    cse_entry *d = cse_entry_dup(e);

    if (d == NULL || cse_record_add_entry(s->data, d) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    if (info && info->cls == CSE_CLASS_MARKER && info->marker) {
        cse_marker *m = cse_marker_dup(info->marker);
        if (m == NULL || cse_record_add_marker(s->data, m) != CSE_OK)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        if (m->entry_id == NULL && cse_strset(&m->entry_id, e->id) != CSE_OK)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    }
    return CSE_OK;
}

static cse_code rec_end(cse_sink *s, const cse_summary *summary, cse_error *err)
{
    return CSE_OK;
}

static void rec_destroy(cse_sink *s)
{
    free(s);
}

cse_sink *cse_record_sink_new(cse_record *r)
{
    cse_sink *s;

    if (r == NULL || (s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->begin = rec_begin;
    s->agent = rec_agent;
    s->entry = rec_entry;
    s->end = rec_end;
    s->destroy = rec_destroy;
    s->data = r;
    return s;
}

/* ---- Replay ------------------------------------------------------------ */

static const cse_marker *marker_for_entry(const cse_record *r, const char *entry_id)
{
    if (entry_id == NULL)
        return NULL;
    for (size_t i = 0; i < cse_record_marker_count(r); i++) {
        const cse_marker *m = cse_record_marker(r, i);
        if ((m->entry_id && strcmp(m->entry_id, entry_id) == 0) ||
            (m->entry_id == NULL && m->id && strcmp(m->id, entry_id) == 0))
            return m;
    }
    return NULL;
}

static bool marker_has_entry(const cse_record *r, const cse_marker *m)
{
    const char *id = m->entry_id ? m->entry_id : m->id;
    for (size_t i = 0; id && i < cse_record_entry_count(r); i++) {
        const cse_entry *e = cse_record_entry(r, i);
        if (e->id && strcmp(e->id, id) == 0)
            return true;
    }
    return false;
}

cse_code cse_record_replay(cse_record *r, const cse_extract_info *info, cse_sink *s,
                           cse_error *err)
{
    cse_extract_info defaults = {0};
    cse_summary sum = {0};
    cse_code rc;

    if (r == NULL || s == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if (info == NULL) {
        defaults.patient = cse_record_patient(r);
        defaults.author_ods = defaults.patient->ods;
        info = &defaults;
    }
    if ((rc = s->begin(s, info, err)) != CSE_OK)
        return rc;
    for (size_t i = 0; i < cse_record_agent_count(r); i++)
        if ((rc = s->agent(s, cse_record_agent(r, i), err)) != CSE_OK)
            return rc;
    for (size_t i = 0; i < cse_record_entry_count(r); i++) {
        const cse_entry *e = cse_record_entry(r, i);
        cse_entry_info ei = {0};
        ei.marker = marker_for_entry(r, e->id);
        ei.cls =
            ei.marker ? CSE_CLASS_MARKER : cse_concept_classify(&e->code, &ei.reason);
        if (ei.cls == CSE_CLASS_MARKER && ei.marker == NULL)
            ei.cls = CSE_CLASS_CANDIDATE, ei.reason = CSE_CANDIDATE_DAMAGED;
        if ((rc = s->entry(s, e, &ei, err)) != CSE_OK)
            return rc;
        sum.entries++;
        sum.markers += ei.cls == CSE_CLASS_MARKER;
        sum.candidates += ei.cls == CSE_CLASS_CANDIDATE;
    }
    /* Markers made in a practice system have no entry yet: they travel as one. */
    for (size_t i = 0; i < cse_record_marker_count(r); i++) {
        const cse_marker *m = cse_record_marker(r, i);
        cse_entry_info ei = {CSE_CLASS_MARKER, CSE_CANDIDATE_NONE, m};
        cse_entry *e;
        if (marker_has_entry(r, m))
            continue;
        if ((e = cse_marker_to_entry(m)) == NULL)
            return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        rc = s->entry(s, e, &ei, err);
        cse_entry_free(e);
        if (rc != CSE_OK)
            return rc;
        sum.entries++;
        sum.markers++;
    }
    return s->end(s, &sum, err);
}

/* ---- The csemarker annotation ------------------------------------------ */

cse_code cse_marker_annotation_format(const cse_marker *m, char *buf, size_t size)
{
    char review[32], last[32], end[32];
    int n;

    if (m == NULL || buf == NULL)
        return CSE_ERR_INVALID_ARG;
    cse_time_format_fhir_date(&m->review, review, sizeof(review));
    cse_time_format_fhir_date(&m->last_reviewed, last, sizeof(last));
    cse_time_format_fhir_date(&m->end, end, sizeof(end));
    n = snprintf(buf, size, "%s | status: %s | category: cse | review: %s%s%s%s%s%s%s",
                 CSE_ANNOTATION_PREFIX, cse_marker_status_name(m->status), review,
                 last[0] ? " | last-reviewed: " : "", last, end[0] ? " | ended: " : "",
                 end, m->end_reason ? " | end-reason: " : "",
                 m->end_reason ? m->end_reason : "");
    if (n < 0 || (size_t)n >= size)
        return CSE_ERR_LIMIT;
    return CSE_OK;
}

static cse_code bad_field(cse_error *err, cse_code code, const char *field)
{
    return cse__error_set(err, code, 0, NULL, "annotation",
                          "csemarker annotation has a damaged '%s' field", field);
}

cse_code cse_marker_annotation_parse(const char *text, cse_marker *m, cse_error *err)
{
    char buf[1024];
    char *field, *save = NULL;
    cse_marker_status status = m ? m->status : CSE_MARKER_ACTIVE;
    cse_time review = {0}, last = {0}, end = {0};
    char reason[64] = "";
    bool seen_status = false, seen_review = false;
    size_t plen = strlen(CSE_ANNOTATION_PREFIX);

    if (text == NULL || m == NULL)
        return CSE_ERR_INVALID_ARG;
    while (*text == ' ' || *text == '\t' || *text == '\n' || *text == '\r')
        text++;
    if (strncmp(text, CSE_ANNOTATION_PREFIX, plen) != 0 ||
        (text[plen] != '\0' && text[plen] != ' '))
        return CSE_ERR_UNSUPPORTED;
    if (strlen(text) >= sizeof(buf))
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, NULL, "annotation",
                              "csemarker annotation is too long");
    strcpy(buf, text + plen);
    for (field = strtok_r(buf, "|", &save); field; field = strtok_r(NULL, "|", &save)) {
        char *colon, *key = field, *val, *e;
        while (*key == ' ')
            key++;
        if (*key == '\0')
            continue;
        if ((colon = strchr(key, ':')) == NULL)
            return cse__error_set(err, CSE_ERR_STRUCTURE, 0, NULL, "annotation",
                                  "csemarker annotation field without 'key: value'");
        *colon = '\0';
        val = colon + 1;
        while (*val == ' ')
            val++;
        for (e = val + strlen(val); e > val && (e[-1] == ' ' || e[-1] == '\n' ||
                                                e[-1] == '\r' || e[-1] == '\t');)
            *--e = '\0';
        if (strcmp(key, "status") == 0) {
            if (cse_marker_status_parse(val, &status) != CSE_OK)
                return bad_field(err, CSE_ERR_STATE, "status");
            seen_status = true;
        } else if (strcmp(key, "category") == 0) {
            if (strcmp(val, "cse") != 0)
                return bad_field(err, CSE_ERR_STRUCTURE, "category");
        } else if (strcmp(key, "review") == 0) {
            if (cse_time_parse_fhir(val, &review) != CSE_OK ||
                review.precision != CSE_TIME_DAY)
                return bad_field(err, CSE_ERR_DATE, "review");
            seen_review = true;
        } else if (strcmp(key, "last-reviewed") == 0) {
            if (cse_time_parse_fhir(val, &last) != CSE_OK ||
                last.precision != CSE_TIME_DAY)
                return bad_field(err, CSE_ERR_DATE, "last-reviewed");
        } else if (strcmp(key, "ended") == 0) {
            if (cse_time_parse_fhir(val, &end) != CSE_OK || end.precision != CSE_TIME_DAY)
                return bad_field(err, CSE_ERR_DATE, "ended");
        } else if (strcmp(key, "end-reason") == 0) {
            if (!cse_end_reason_valid(val))
                return bad_field(err, CSE_ERR_STATE, "end-reason");
            snprintf(reason, sizeof(reason), "%s", val);
        }
        /* Unknown keys come from a later version: ignored, not an error. */
    }
    if (!seen_status)
        return bad_field(err, CSE_ERR_STRUCTURE, "status");
    if (!seen_review)
        return bad_field(err, CSE_ERR_STRUCTURE, "review");
    if (status == CSE_MARKER_ACTIVE && (end.precision != CSE_TIME_NONE || reason[0]))
        return bad_field(err, CSE_ERR_STATE, "ended");
    if (cse_strset(&m->end_reason, reason[0] ? reason : NULL) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    m->status = status;
    m->review = review;
    m->last_reviewed = last;
    if (end.precision != CSE_TIME_NONE)
        m->end = end;
    return CSE_OK;
}

/* ---- Marker <-> entry -------------------------------------------------- */

/* The first day of a partial date, so a default review can be computed. */
static cse_time to_day(const cse_time *t)
{
    cse_time d = *t;
    if (d.precision == CSE_TIME_YEAR)
        d.month = 1;
    if (d.precision <= CSE_TIME_MONTH)
        d.day = 1;
    d.hour = d.minute = d.second = 0;
    d.precision = CSE_TIME_DAY;
    return d;
}

cse_marker *cse_marker_from_entry(const cse_entry *e, bool *annotated, cse_error *err)
{
    const char *code;
    const cse_coding *primary = NULL;
    cse_marker *m = NULL;
    cse_time start;
    cse_code rc = CSE_OK;

    if (annotated)
        *annotated = false;
    if (e == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL, "missing entry");
        return NULL;
    }
    if ((code = cse_concept_marker_code(&e->code)) == NULL) {
        cse__error_set(err, CSE_ERR_CODE, e->source_line, NULL, "code",
                       "the entry carries no CSE marker concept id");
        return NULL;
    }
    start = e->effective_low.precision      ? e->effective_low
            : e->effective_center.precision ? e->effective_center
                                            : e->availability;
    if (start.precision == CSE_TIME_NONE) {
        cse__error_set(err, CSE_ERR_DATE, e->source_line, NULL, "effectiveTime",
                       "a marker entry has no date: expected effectiveTime or "
                       "availabilityTime");
        return NULL;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL)
        goto nomem;
    m->status = CSE_MARKER_ACTIVE;
    m->start = start;
    m->labels = e->labels | e->inherited_labels;
    if (cse_strset(&m->id, e->id) || cse_strset(&m->entry_id, e->id) ||
        cse_strset(&m->code, code) || cse_strset(&m->author_id, e->author_ref))
        goto nomem;
    for (size_t i = 0; i < e->code.n; i++) {
        const cse_coding *k = &e->code.codings[i];
        if (primary == NULL && strcmp(k->code, code) == 0) {
            primary = k;
            continue;
        }
        if (cse_concept_add(&m->legacy, k->system, k->code, k->display) != CSE_OK)
            goto nomem;
    }
    if (cse_strset(&m->display,
                   primary && primary->display ? primary->display : cse_code_term(code)))
        goto nomem;
    if (e->effective_high.precision != CSE_TIME_NONE) {
        m->status = CSE_MARKER_INACTIVE;
        m->end = e->effective_high;
    }
    for (size_t i = 0; i < e->n_annotations; i++) {
        rc = cse_marker_annotation_parse(e->annotations[i], m, err);
        if (rc == CSE_ERR_UNSUPPORTED)
            continue;
        if (rc != CSE_OK) {
            cse_marker_free(m);
            return NULL;
        }
        if (annotated)
            *annotated = true;
        break;
    }
    if (m->review.precision == CSE_TIME_NONE) {
        cse_time day = to_day(&m->start);
        if (cse_time_add_months(&day, CSE_REVIEW_MONTHS_DEFAULT, &m->review) != CSE_OK) {
            cse__error_set(err, CSE_ERR_DATE, e->source_line, NULL, "effectiveTime",
                           "the marker's start date is not a calendar date");
            cse_marker_free(m);
            return NULL;
        }
    }
    return m;
nomem:
    cse_marker_free(m);
    cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return NULL;
}

cse_entry *cse_marker_to_entry(const cse_marker *m)
{
    cse_entry *e;
    char note[512];
    const char *display;

    if (m == NULL || (e = cse_entry_new(CSE_ENTRY_OBSERVATION, m->id)) == NULL)
        return NULL;
    display = m->display ? m->display : cse_code_term(m->code);
    if (cse_concept_add(&e->code, CSE_SYSTEM_SNOMED, m->code, display) != CSE_OK)
        goto fail;
    for (size_t i = 0; i < m->legacy.n; i++) {
        const cse_coding *k = &m->legacy.codings[i];
        if (cse_concept_add(&e->code, k->system, k->code, k->display) != CSE_OK)
            goto fail;
    }
    if (cse_concept_set_text(&e->code, display) != CSE_OK)
        goto fail;
    if (m->end.precision != CSE_TIME_NONE) {
        e->effective_low = m->start;
        e->effective_high = m->end;
    } else {
        e->effective_center = m->start;
    }
    e->availability = m->start;
    e->labels = m->labels | CSE_LABEL_NOPAT;
    if (cse_strset(&e->status, "COMPLETE") || cse_strset(&e->author_ref, m->author_id) ||
        cse_marker_annotation_format(m, note, sizeof(note)) != CSE_OK ||
        cse_entry_add_annotation(e, note) != CSE_OK)
        goto fail;
    return e;
fail:
    cse_entry_free(e);
    return NULL;
}
