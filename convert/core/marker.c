/* SPDX-License-Identifier: MIT */
/* Markers as first-class objects and their state changes (DESIGN.md 3). */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

const char *cse_marker_status_name(cse_marker_status s)
{
    switch (s) {
    case CSE_MARKER_ACTIVE: return "active";
    case CSE_MARKER_INACTIVE: return "inactive";
    case CSE_MARKER_ENTERED_IN_ERROR: return "entered-in-error";
    }
    return "unknown";
}

cse_code cse_marker_status_parse(const char *s, cse_marker_status *out)
{
    if (s == NULL || out == NULL)
        return CSE_ERR_INVALID_ARG;
    if (strcmp(s, "active") == 0)
        *out = CSE_MARKER_ACTIVE;
    else if (strcmp(s, "inactive") == 0)
        *out = CSE_MARKER_INACTIVE;
    else if (strcmp(s, "entered-in-error") == 0)
        *out = CSE_MARKER_ENTERED_IN_ERROR;
    else
        return CSE_ERR_STATE;
    return CSE_OK;
}

bool cse_end_reason_valid(const char *code)
{
    return code != NULL &&
           (strcmp(code, CSE_END_NO_LONGER_AT_RISK) == 0 ||
            strcmp(code, CSE_END_REACHED_ADULTHOOD) == 0 ||
            strcmp(code, CSE_END_SUPERSEDED) == 0 || strcmp(code, CSE_END_OTHER) == 0);
}

static bool day_date(const cse_time *t)
{
    return t != NULL && t->precision >= CSE_TIME_DAY && cse_time_valid(t);
}

cse_marker *cse_marker_new(const char *code, const cse_time *start,
                           const cse_time *review, int review_months, const char *id,
                           cse_error *err)
{
    cse_marker *m = NULL;
    char uuid[37];
    cse_time due;

    if (code == NULL || start == NULL) {
        cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                       "a marker needs a code and a start date");
        return NULL;
    }
    if (!cse_code_is_marker(code)) {
        cse__error_set(err, CSE_ERR_CODE, 0, NULL, "code",
                       "%s is not a CSE marker concept id (expected 716565009, 713834002 "
                       "or 919461000000108)",
                       cse_sctid_classify(code) == CSE_SCTID_INVALID ? "the code"
                                                                     : "the SNOMED code");
        return NULL;
    }
    if (!day_date(start)) {
        cse__error_set(err, CSE_ERR_DATE, 0, NULL, "start",
                       "the start date must be a valid date to the day");
        return NULL;
    }
    if (review != NULL) {
        if (!day_date(review) || cse_time_compare(review, start) < 0) {
            cse__error_set(err, CSE_ERR_DATE, 0, NULL, "review",
                           "the review date must be a valid date on or after the start");
            return NULL;
        }
        due = *review;
    } else if (cse_time_add_months(
                   start, review_months > 0 ? review_months : CSE_REVIEW_MONTHS_DEFAULT,
                   &due) != CSE_OK) {
        cse__error_set(err, CSE_ERR_DATE, 0, NULL, "review",
                       "cannot compute a review date");
        return NULL;
    }
    if (id == NULL) {
        if (cse_uuid_random(uuid) != CSE_OK) {
            cse__error_set(err, CSE_ERR_INTERNAL, 0, NULL, NULL,
                           "no randomness for an id");
            return NULL;
        }
        id = uuid;
    }
    if ((m = calloc(1, sizeof(*m))) == NULL || (m->id = strdup(id)) == NULL ||
        (m->code = strdup(code)) == NULL ||
        cse_strset(&m->display, cse_code_term(code)) != CSE_OK) {
        cse_marker_free(m);
        cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        return NULL;
    }
    m->status = CSE_MARKER_ACTIVE;
    m->start = *start;
    m->review = due;
    m->labels = CSE_LABEL_NOPAT;
    return m;
}

void cse_marker_free(cse_marker *m)
{
    if (m == NULL)
        return;
    free(m->id);
    free(m->code);
    free(m->display);
    cse_concept_clear(&m->legacy);
    free(m->end_reason);
    free(m->author_id);
    free(m->author_name);
    free(m->org_ods);
    free(m->entry_id);
    free(m);
}

cse_marker *cse_marker_dup(const cse_marker *m)
{
    cse_marker *d;

    if (m == NULL || (d = calloc(1, sizeof(*d))) == NULL)
        return NULL;
    *d = *m;
    d->id = cse__strdup(m->id);
    d->code = cse__strdup(m->code);
    d->display = cse__strdup(m->display);
    memset(&d->legacy, 0, sizeof(d->legacy));
    d->end_reason = cse__strdup(m->end_reason);
    d->author_id = cse__strdup(m->author_id);
    d->author_name = cse__strdup(m->author_name);
    d->org_ods = cse__strdup(m->org_ods);
    d->entry_id = cse__strdup(m->entry_id);
    if ((m->id && !d->id) || (m->code && !d->code) || (m->display && !d->display) ||
        (m->end_reason && !d->end_reason) || (m->author_id && !d->author_id) ||
        (m->author_name && !d->author_name) || (m->org_ods && !d->org_ods) ||
        (m->entry_id && !d->entry_id) ||
        cse_concept_copy(&d->legacy, &m->legacy) != CSE_OK) {
        cse_marker_free(d);
        return NULL;
    }
    return d;
}

static cse_code refuse(cse_error *err, const cse_marker *m, const char *action)
{
    return cse__error_set(err, CSE_ERR_STATE, 0, NULL, "status",
                          "cannot %s a marker that is %s", action,
                          cse_marker_status_name(m->status));
}

cse_code cse_marker_review(cse_marker *m, const cse_time *on, const cse_time *next_review,
                           cse_error *err)
{
    cse_time due;

    if (m == NULL || on == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if (m->status != CSE_MARKER_ACTIVE)
        return refuse(err, m, "review");
    if (!day_date(on) || cse_time_compare(on, &m->start) < 0)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "review",
                              "the review must be dated on or after the marker's start");
    if (next_review != NULL) {
        if (!day_date(next_review) || cse_time_compare(next_review, on) <= 0)
            return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "review",
                                  "the next review date must be after the review");
        due = *next_review;
    } else if (cse_time_add_months(on, CSE_REVIEW_MONTHS_DEFAULT, &due) != CSE_OK) {
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "review",
                              "cannot compute a review date");
    }
    m->last_reviewed = *on;
    m->review = due;
    return CSE_OK;
}

cse_code cse_marker_end(cse_marker *m, const cse_time *on, const char *reason,
                        cse_error *err)
{
    if (m == NULL || on == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if (m->status != CSE_MARKER_ACTIVE)
        return refuse(err, m, "end");
    if (!cse_end_reason_valid(reason))
        return cse__error_set(err, CSE_ERR_STATE, 0, NULL, "endReason",
                              "an end reason is required: no-longer-at-risk, "
                              "reached-adulthood, superseded or other");
    if (!day_date(on) || cse_time_compare(on, &m->start) < 0)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "end",
                              "the end date must be on or after the marker's start");
    if (cse_strset(&m->end_reason, reason) != CSE_OK)
        return cse__error_set(err, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    m->status = CSE_MARKER_INACTIVE;
    m->end = *on;
    return CSE_OK;
}

cse_code cse_marker_entered_in_error(cse_marker *m, cse_error *err)
{
    if (m == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, NULL, NULL,
                              "missing argument");
    if (m->status == CSE_MARKER_ENTERED_IN_ERROR)
        return refuse(err, m, "mark entered-in-error");
    m->status = CSE_MARKER_ENTERED_IN_ERROR;
    return CSE_OK;
}

bool cse_marker_review_overdue(const cse_marker *m, const cse_time *today)
{
    return m != NULL && today != NULL && m->status == CSE_MARKER_ACTIVE &&
           m->review.precision != CSE_TIME_NONE &&
           cse_time_compare(&m->review, today) < 0;
}
