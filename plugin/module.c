/* SPDX-License-Identifier: MIT */
/* The plug-in module: its one exported entry point, the function table, the
 * per-handle state and the hooks. Everything here is hidden except
 * cse_plugin_entry (-fvisibility=hidden, -export-symbols-regex). */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include <csemarker/plugin.h>

#include "internal.h"
#include "plugin_internal.h"

/* The host's codes are the library's codes. */
_Static_assert(CSE_PLUGIN_ERR_NOMEM == (int)CSE_ERR_NOMEM &&
                   CSE_PLUGIN_ERR_STATE == (int)CSE_ERR_STATE &&
                   CSE_PLUGIN_ERR_VERSION == (int)CSE_ERR_VERSION &&
                   CSE_PLUGIN_ERR_AUTH == (int)CSE_ERR_AUTH &&
                   CSE_PLUGIN_ERR_INTEGRITY == (int)CSE_ERR_INTEGRITY &&
                   CSE_PLUGIN_ERR_INTERNAL == (int)CSE_ERR_INTERNAL,
               "plugin.h codes must equal cse_code");

#define DUE_SOON_DAYS 30
#define END_REASONS                                                                      \
    CSE_PLUGIN_END_NO_LONGER_AT_RISK ", " CSE_PLUGIN_END_REACHED_ADULTHOOD               \
                                     ", " CSE_PLUGIN_END_SUPERSEDED                      \
                                     " and " CSE_PLUGIN_END_OTHER

struct cse_plugin_handle {
    unsigned char key[CSE__KEY_MAX];
    size_t keylen;
    char ods[64];
    int review_months;
    bool fixed_clock;
    cse_time fixed; /* the override, to the second */
    cse__journal journal;
};

/* ---- Errors, users, clock ----------------------------------------------- */

static int to_plugin(const cse_error *e, cse_code rc, cse_plugin_error *out)
{
    if (out == NULL)
        return (int)rc;
    memset(out, 0, sizeof(*out));
    out->code = (int)rc;
    if (e && e->code != CSE_OK) {
        out->line = e->line;
        snprintf(out->path, sizeof(out->path), "%s", e->path);
        snprintf(out->message, sizeof(out->message), "%s", e->message);
    } else {
        snprintf(out->message, sizeof(out->message), "%s", cse_strerror(rc));
    }
    return (int)rc;
}

static int fail(cse_plugin_error *out, cse_code rc, const char *path, const char *msg)
{
    cse_error e;
    cse_error_clear(&e);
    cse__error_set(&e, rc, 0, NULL, path, "%s", msg);
    return to_plugin(&e, rc, out);
}

static void clear_out(cse_plugin_error *err)
{
    if (err)
        memset(err, 0, sizeof(*err));
}

/* Checks the user against the role allow-list (roles.c) for perm. */
static int check_perm(const cse_plugin_user *u, cse__perm perm, cse_plugin_error *err)
{
    cse_error e;
    cse_code rc;

    cse_error_clear(&e);
    if ((rc = cse__check_role(u, perm, &e)) != CSE_OK)
        return to_plugin(&e, rc, err);
    return CSE_PLUGIN_OK;
}

/* Checks the user. clinical: the hook changes or shows markers (a clinical
 * role); otherwise the patient-facing view (any role on the list). */
static int check_user(const cse_plugin_user *u, bool clinical, cse_plugin_error *err)
{
    return check_perm(u, clinical ? CSE__PERM_MARKER : CSE__PERM_VIEW, err);
}

static void now_utc(const cse_plugin_handle *h, char iso[32], cse_time *today)
{
    if (h->fixed_clock) {
        const cse_time *t = &h->fixed;
        snprintf(iso, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", t->year, t->month, t->day,
                 t->hour, t->minute, t->second);
        if (today) {
            *today = *t;
            today->hour = today->minute = today->second = 0;
            today->precision = CSE_TIME_DAY;
        }
        return;
    }
    time_t now = time(NULL);
    struct tm g, l;
    gmtime_r(&now, &g);
    strftime(iso, 32, "%Y-%m-%dT%H:%M:%SZ", &g);
    if (today) {
        /* Marker dates are civil dates where the practice is. */
        localtime_r(&now, &l);
        memset(today, 0, sizeof(*today));
        today->year = l.tm_year + 1900;
        today->month = l.tm_mon + 1;
        today->day = l.tm_mday;
        today->precision = CSE_TIME_DAY;
    }
}

static cse_time add_days(const cse_time *t, int days)
{
    struct tm tm = {0};
    cse_time r = *t;
    time_t s;
    tm.tm_year = t->year - 1900;
    tm.tm_mon = t->month - 1;
    tm.tm_mday = t->day + days;
    tm.tm_hour = 12;
    s = timegm(&tm);
    gmtime_r(&s, &tm);
    r.year = tm.tm_year + 1900;
    r.month = tm.tm_mon + 1;
    r.day = tm.tm_mday;
    return r;
}

static cse_code parse_day(const char *s, const char *field, cse_time *t, cse_error *err)
{
    if (cse_time_parse_fhir(s, t) != CSE_OK || t->precision != CSE_TIME_DAY)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, field,
                              "expected a date as YYYY-MM-DD");
    return CSE_OK;
}

/* Dates a clinician gives are bounded: a marker cannot start after today or
 * before the child was born, and a review date further ahead than
 * REVIEW_MAX_MONTHS would take the marker off every work list for years. */
#define REVIEW_MAX_MONTHS 24

static cse_code start_plausible(const cse_time *start, const cse_time *today,
                                const cse__rec *rec, cse_error *err)
{
    const char *bd = json_string_value(json_object_get(rec->patient, "birthDate"));
    cse_time birth;
    char buf[32];

    if (cse_time_compare(start, today) > 0)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "start",
                              "the start date is in the future (today is %s): refused",
                              cse_time_format_fhir_date(today, buf, sizeof(buf)));
    /* The date of birth is never quoted. */
    if (bd && cse_time_parse_fhir(bd, &birth) == CSE_OK &&
        birth.precision >= CSE_TIME_DAY) {
        birth.hour = birth.minute = birth.second = 0;
        birth.precision = CSE_TIME_DAY;
        if (cse_time_compare(start, &birth) < 0)
            return cse__error_set(err, CSE_ERR_DATE, 0, NULL, "start",
                                  "the start date is before the patient's date of birth: "
                                  "refused");
    }
    return CSE_OK;
}

static cse_code review_plausible(const cse_time *review, const cse_time *today,
                                 const char *field, cse_error *err)
{
    cse_time limit;
    char buf[32];

    if (cse_time_add_months(today, REVIEW_MAX_MONTHS, &limit) != CSE_OK)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, field,
                              "cannot compute the latest review date");
    if (cse_time_compare(review, &limit) > 0)
        return cse__error_set(err, CSE_ERR_DATE, 0, NULL, field,
                              "the review date is more than %d months ahead (after %s): "
                              "refused; a marker must be reviewed at least that often",
                              REVIEW_MAX_MONTHS,
                              cse_time_format_fhir_date(&limit, buf, sizeof(buf)));
    return CSE_OK;
}

/* ---- Handles ------------------------------------------------------------ */

static const char *plugin_version(void)
{
    return "csemarker " PACKAGE_VERSION;
}

/* The key file must be a regular file. It is opened without blocking, so
 * that a FIFO named as the key is refused instead of hanging the open until
 * someone writes to it; cse__key_load() then reads the file itself. A path
 * that cannot be opened is left to cse__key_load(), which says why. */
static cse_code key_file_regular(const char *path, cse_error *e)
{
    struct stat st = {0};
    int fd;

    if (path == NULL || (fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)) < 0)
        return CSE_OK;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        bool fifo = S_ISFIFO(st.st_mode), folder = S_ISDIR(st.st_mode);
        close(fd);
        return cse__error_set(e, CSE_ERR_IO, 0, NULL, "key_file",
                              "the key file is %s, not a regular file: refused",
                              fifo     ? "a FIFO"
                              : folder ? "a folder"
                                       : "a device or socket");
    }
    close(fd);
    return CSE_OK;
}

static void plugin_close(cse_plugin_handle *h)
{
    if (h == NULL)
        return;
    cse__journal_close(&h->journal);
    OPENSSL_cleanse(h->key, sizeof(h->key));
    free(h);
}

static int plugin_open(const cse_plugin_config *cfg, cse_plugin_handle **out,
                       size_t *recovered, cse_plugin_error *err)
{
    cse_plugin_handle *h = NULL;
    cse_error e;
    cse_code rc;

    cse_error_clear(&e);
    clear_out(err);
    if (out)
        *out = NULL;
    if (recovered)
        *recovered = 0;
    if (cfg == NULL || out == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, "config",
                    "missing config or handle pointer");
    if (cfg->size < sizeof(cse_plugin_config))
        return fail(err, CSE_ERR_VERSION, "config.size",
                    "the config struct is older than this module");
    if (cfg->practice_ods == NULL || cfg->practice_ods[0] == '\0' ||
        strlen(cfg->practice_ods) >= sizeof(h->ods))
        return fail(err, CSE_ERR_INVALID_ARG, "config.practice_ods",
                    "a practice ODS code is required");
    if ((h = calloc(1, sizeof(*h))) == NULL)
        return fail(err, CSE_ERR_NOMEM, NULL, "out of memory");
    snprintf(h->ods, sizeof(h->ods), "%s", cfg->practice_ods);
    h->review_months =
        cfg->review_months > 0 ? cfg->review_months : CSE_REVIEW_MONTHS_DEFAULT;
    if (cfg->clock_override) {
        if (cse_time_parse_fhir(cfg->clock_override, &h->fixed) != CSE_OK ||
            h->fixed.precision < CSE_TIME_DAY) {
            rc = cse__error_set(&e, CSE_ERR_DATE, 0, NULL, "config.clock_override",
                                "expected YYYY-MM-DD or YYYY-MM-DDThh:mm:ssZ");
            goto out;
        }
        h->fixed_clock = true;
    }
    if ((rc = key_file_regular(cfg->key_file, &e)) != CSE_OK ||
        (rc = cse__key_load(cfg->key_file, h->key, &h->keylen, &e)) != CSE_OK)
        goto out;
    if ((rc = cse__journal_open(&h->journal, cfg->journal_dir, h->key, h->keylen,
                                recovered, &e)) != CSE_OK)
        goto out;
    *out = h;
    return CSE_PLUGIN_OK;
out:
    plugin_close(h);
    /* The key file's path is the host's; never echo key material. */
    e.source[0] = '\0';
    return to_plugin(&e, rc, err);
}

static void plugin_free_string(char *s)
{
    free(s);
}

/* ---- Shared steps ------------------------------------------------------- */

static int begin(cse_plugin_handle *h, const cse_plugin_user *u, cse__perm perm,
                 const char *record_json, char **out, cse_plugin_error *err)
{
    clear_out(err);
    if (out)
        *out = NULL;
    if (h == NULL || out == NULL || record_json == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL,
                    "missing handle, record or output pointer");
    if (perm == CSE__PERM_MARKER)
        return check_user(u, true, err);
    return check_perm(u, perm, err);
}

static char *dump(json_t *j, cse_error *e)
{
    char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    if (s == NULL)
        cse__error_set(e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    return s;
}

/* Journals the intention of an action on markers[0..n) of the patient with
 * NHS number nhs, naming its result: durable before the result is handed
 * out, so no action reaches the host unaudited. */
static cse_code audit_intent(cse_plugin_handle *h, const cse_plugin_user *u,
                             const char *action, const char *const *markers, size_t n,
                             const char *nhs, const char *result, size_t len,
                             cse_error *e)
{
    char pseud[65];
    cse__audit a = {0};

    if (nhs && nhs[0] && cse__pseudonym(h->key, h->keylen, nhs, pseud) != CSE_OK)
        return cse__error_set(e, CSE_ERR_INTERNAL, 0, NULL, NULL,
                              "cannot compute the pseudonym");
    a.user = u->user_id;
    a.role = u->role;
    a.action = action;
    a.patient = nhs && nhs[0] ? pseud : NULL;
    return cse__journal_intent(&h->journal, &a, markers, n, result, len, e);
}

/* The result will never reach the host: say so in the journal (best effort;
 * an intention without an outcome is reported as unconfirmed anyway). */
static void audit_abandon(cse_plugin_handle *h, const cse_plugin_user *u,
                          const char *result)
{
    cse_error e;
    cse_error_clear(&e);
    (void)cse__journal_outcome(&h->journal, u->user_id, u->role, result, strlen(result),
                               false, NULL, &e);
}

/* Serialises the record, journals the intention, then hands the record out:
 * an action reaches the host only once its intention is durable; the host
 * confirms the outcome with action_outcome(). */
static int commit(cse_plugin_handle *h, const cse_plugin_user *u, cse__rec *rec,
                  const char *action, const char *marker_id, char **out,
                  cse_plugin_error *err)
{
    cse_error e;
    cse_code rc;
    char *s;

    cse_error_clear(&e);
    if ((s = cse__rec_dump(rec)) == NULL)
        return fail(err, CSE_ERR_NOMEM, NULL, "out of memory");
    /* Never hand out a record that the reader would refuse next time. */
    if (strlen(s) > CSE__RECORD_MAX) {
        free(s);
        return fail(err, CSE_ERR_LIMIT, "record",
                    "the changed record would be larger than the most a record may "
                    "hold (64 MiB): refused, nothing changed");
    }
    if ((rc = audit_intent(h, u, action, &marker_id, 1, rec->nhs, s, strlen(s), &e)) !=
        CSE_OK) {
        free(s);
        return to_plugin(&e, rc, err);
    }
    *out = s;
    return CSE_PLUGIN_OK;
}

static const char *review_state(const cse_marker *m, const cse_time *today)
{
    cse_time soon;
    if (m->status != CSE_MARKER_ACTIVE)
        return "closed";
    if (cse_marker_review_overdue(m, today))
        return "OVERDUE";
    soon = add_days(today, DUE_SOON_DAYS);
    return cse_time_compare(&m->review, &soon) <= 0 ? "due-soon" : "ok";
}

static json_t *date_json(const cse_time *t)
{
    char buf[32];
    if (t->precision == CSE_TIME_NONE)
        return json_null();
    return json_string(cse_time_format_fhir_date(t, buf, sizeof(buf)));
}

/* ---- Hooks -------------------------------------------------------------- */

/* record_opened for a role that may only know whether the record is
 * restricted: {"restricted":true|false}, true when the patient-facing view
 * would hide anything (a NOPAT item, a marker, a safeguarding concept). */
static int restriction_only(cse_plugin_handle *h, const cse_plugin_user *u,
                            const char *record_json, char **out, cse_plugin_error *err)
{
    cse__rec rec;
    cse_error e;
    cse_code rc;
    json_t *root = NULL;
    int prc;

    if ((prc = begin(h, u, CSE__PERM_RESTRICTION, record_json, out, err)) !=
        CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if ((rc = cse__rec_parse(record_json, false, &rec, &e)) != CSE_OK)
        return to_plugin(&e, rc, err);
    if ((root = json_pack("{s:b}", "restricted", cse__rec_restricted(&rec))) == NULL ||
        (*out = dump(root, &e)) == NULL)
        rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    json_decref(root);
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int record_opened(cse_plugin_handle *h, const cse_plugin_user *u,
                         const char *record_json, char **alert_json,
                         cse_plugin_error *err)
{
    cse__rec rec;
    cse__pmarkers pm = {0};
    cse_error e;
    cse_code rc;
    cse_time today;
    json_t *alerts = NULL, *root = NULL, *elsewhere = NULL;
    size_t active = 0;
    int prc;

    /* Administrative staff learn only that the record is restricted. */
    if (u && u->role && !cse__role_may(u->role, CSE__PERM_ALERT) &&
        cse__role_may(u->role, CSE__PERM_RESTRICTION))
        return restriction_only(h, u, record_json, alert_json, err);
    if ((prc = begin(h, u, CSE__PERM_ALERT, record_json, alert_json, err)) !=
        CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if ((rc = cse__rec_parse(record_json, false, &rec, &e)) != CSE_OK)
        return to_plugin(&e, rc, err);
    if ((rc = cse__rec_markers(&rec, &pm, &e)) != CSE_OK)
        goto out;
    now_utc(h, (char[32]){0}, &today);
    if ((alerts = json_array()) == NULL)
        goto nomem;
    for (size_t i = 0; i < pm.n; i++) {
        const cse_marker *m = pm.items[i].m;
        json_t *a;
        if (m->status == CSE_MARKER_ENTERED_IN_ERROR)
            continue;
        active += m->status == CSE_MARKER_ACTIVE;
        a = json_pack("{s:s,s:s,s:s?,s:s,s:s,s:o,s:o,s:s?,s:o,s:s}", "marker_id", m->id,
                      "code", m->code, "term", m->display, "category", "cse", "status",
                      cse_marker_status_name(m->status), "start", date_json(&m->start),
                      "end", date_json(&m->end), "end_reason", m->end_reason,
                      "review_due", date_json(&m->review), "review_state",
                      review_state(m, &today));
        if (a == NULL || json_array_append_new(alerts, a) != 0)
            goto nomem;
    }
    /* Marker and safeguarding concepts elsewhere in the record: the view
     * hides each, so the clinician is told of each. */
    if ((elsewhere = cse__rec_hidden_concepts(&rec, &e)) == NULL) {
        rc = e.code;
        goto out;
    }
    if ((root = json_pack("{s:o,s:I,s:o}", "alerts", alerts, "active", (json_int_t)active,
                          "elsewhere", elsewhere)) == NULL) {
        alerts = NULL;
        goto nomem;
    }
    alerts = NULL;
    if ((*alert_json = dump(root, &e)) == NULL)
        rc = CSE_ERR_NOMEM;
    goto out;
nomem:
    rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
out:
    json_decref(alerts);
    json_decref(root);
    cse__pmarkers_clear(&pm);
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int record_saved(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, char **out, cse_plugin_error *err)
{
    cse__rec rec;
    cse_error e;
    cse_code rc;
    json_t *s;
    int prc;

    if ((prc = begin(h, u, CSE__PERM_SUGGEST, record_json, out, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if ((rc = cse__rec_parse(record_json, false, &rec, &e)) != CSE_OK)
        return to_plugin(&e, rc, err);
    if ((s = cse__rec_suggestions(&rec, &e)) == NULL)
        rc = e.code ? e.code : CSE_ERR_NOMEM;
    else if ((*out = dump(s, &e)) == NULL)
        rc = CSE_ERR_NOMEM;
    json_decref(s);
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int marker_add(cse_plugin_handle *h, const cse_plugin_user *u,
                      const char *record_json, const char *code, const char *start,
                      const char *review, char **record_out, char **marker_id,
                      cse_plugin_error *err)
{
    cse__rec rec = {0};
    cse_error e;
    cse_code rc = CSE_OK;
    cse_time s, r, today;
    cse_marker *m = NULL;
    cse__pmarkers pm = {0};
    int prc;

    if (marker_id)
        *marker_id = NULL;
    if ((prc = begin(h, u, CSE__PERM_MARKER, record_json, record_out, err)) !=
        CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if (code == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, "code", "a marker code is required");
    now_utc(h, (char[32]){0}, &today);
    if (start) {
        if ((rc = parse_day(start, "start", &s, &e)) != CSE_OK)
            goto out;
    } else {
        s = today;
    }
    if (review && ((rc = parse_day(review, "review", &r, &e)) != CSE_OK ||
                   (rc = review_plausible(&r, &today, "review", &e)) != CSE_OK))
        goto out;
    if ((rc = cse__rec_parse(record_json, true, &rec, &e)) != CSE_OK)
        goto out;
    if ((rc = start_plausible(&s, &today, &rec, &e)) != CSE_OK)
        goto out;
    /* A record whose markers cannot be read is refused here as open, save
     * and export refuse it: a new marker beside a damaged one would hide
     * the damage. */
    if ((rc = cse__rec_markers(&rec, &pm, &e)) != CSE_OK)
        goto out;
    if ((m = cse_marker_new(code, &s, review ? &r : NULL, h->review_months, NULL, &e)) ==
        NULL) {
        rc = e.code;
        goto out;
    }
    if (cse_strset(&m->author_id, u->user_id) != CSE_OK ||
        cse_strset(&m->org_ods, h->ods) != CSE_OK) {
        rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
        goto out;
    }
    if ((rc = cse__rec_add_marker(&rec, m, u->user_id, &e)) != CSE_OK)
        goto out;
    if ((prc = commit(h, u, &rec, "marker-add", m->id, record_out, err)) != CSE_PLUGIN_OK)
        goto done;
    if (marker_id && (*marker_id = strdup(m->id)) == NULL) {
        audit_abandon(h, u, *record_out);
        free(*record_out);
        *record_out = NULL;
        prc = fail(err, CSE_ERR_NOMEM, NULL, "out of memory");
    }
    goto done;
out:
    prc = to_plugin(&e, rc, err);
done:
    cse_marker_free(m);
    cse__pmarkers_clear(&pm);
    cse__rec_clear(&rec);
    return prc;
}

typedef enum marker_act { ACT_REVIEW, ACT_END, ACT_ERROR } marker_act;

static int marker_change(cse_plugin_handle *h, const cse_plugin_user *u,
                         const char *record_json, const char *marker_id, marker_act act,
                         const char *arg, char **record_out, cse_plugin_error *err)
{
    static const char *const names[] = {"marker-review", "marker-end",
                                        "marker-entered-in-error"};
    cse__rec rec = {0};
    cse__pmarkers pm = {0};
    cse__pmarker *p;
    cse_error e;
    cse_code rc = CSE_OK;
    cse_time today, next;
    int prc;

    if ((prc = begin(h, u, CSE__PERM_MARKER, record_json, record_out, err)) !=
        CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if (marker_id == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, "marker_id", "a marker id is required");
    now_utc(h, (char[32]){0}, &today);
    if (act == ACT_REVIEW && arg &&
        ((rc = parse_day(arg, "next_review", &next, &e)) != CSE_OK ||
         (rc = review_plausible(&next, &today, "next_review", &e)) != CSE_OK))
        goto out;
    if ((rc = cse__rec_parse(record_json, true, &rec, &e)) != CSE_OK ||
        (rc = cse__rec_markers(&rec, &pm, &e)) != CSE_OK)
        goto out;
    if ((p = cse__pmarkers_find(&pm, marker_id)) == NULL) {
        rc = cse__error_set(&e, CSE_ERR_INVALID_ARG, 0, NULL, "marker_id",
                            "the record has no CSE marker with this id");
        goto out;
    }
    switch (act) {
    case ACT_REVIEW:
        /* The default interval is the practice's, not the library's. */
        if (arg == NULL &&
            cse_time_add_months(&today, h->review_months, &next) != CSE_OK) {
            rc = cse__error_set(&e, CSE_ERR_DATE, 0, NULL, "next_review",
                                "cannot compute the next review date");
            goto out;
        }
        rc = cse_marker_review(p->m, &today, &next, &e);
        break;
    case ACT_END: rc = cse_marker_end(p->m, &today, arg, &e); break;
    case ACT_ERROR: rc = cse_marker_entered_in_error(p->m, &e); break;
    }
    if (rc != CSE_OK || (rc = cse__rec_update_marker(&rec, p, &e)) != CSE_OK)
        goto out;
    prc = commit(h, u, &rec, names[act], p->m->id, record_out, err);
    goto done;
out:
    prc = to_plugin(&e, rc, err);
done:
    cse__pmarkers_clear(&pm);
    cse__rec_clear(&rec);
    return prc;
}

static int marker_review(cse_plugin_handle *h, const cse_plugin_user *u,
                         const char *record_json, const char *marker_id,
                         const char *next_review, char **record_out,
                         cse_plugin_error *err)
{
    return marker_change(h, u, record_json, marker_id, ACT_REVIEW, next_review,
                         record_out, err);
}

static int marker_end(cse_plugin_handle *h, const cse_plugin_user *u,
                      const char *record_json, const char *marker_id, const char *reason,
                      char **record_out, cse_plugin_error *err)
{
    if (reason == NULL) {
        clear_out(err);
        if (record_out)
            *record_out = NULL;
        return fail(err, CSE_ERR_INVALID_ARG, "reason", "an end reason is required");
    }
    if (!cse_end_reason_valid(reason)) {
        clear_out(err);
        if (record_out)
            *record_out = NULL;
        return fail(err, CSE_ERR_STATE, "reason",
                    "not a valid end reason; the valid ones are " END_REASONS);
    }
    return marker_change(h, u, record_json, marker_id, ACT_END, reason, record_out, err);
}

static int marker_entered_in_error(cse_plugin_handle *h, const cse_plugin_user *u,
                                   const char *record_json, const char *marker_id,
                                   char **record_out, cse_plugin_error *err)
{
    return marker_change(h, u, record_json, marker_id, ACT_ERROR, NULL, record_out, err);
}

/* One intention per marker carried across, naming the result. */
static cse_code audit_markers(cse_plugin_handle *h, const cse_plugin_user *u,
                              const char *action, cse__rec *rec, bool always,
                              const char *result, size_t len, cse_error *e)
{
    cse__pmarkers pm = {0};
    const char **ids = NULL;
    cse_code rc;

    if ((rc = cse__rec_markers(rec, &pm, e)) != CSE_OK)
        return rc;
    if (pm.n > 0 && (ids = calloc(pm.n, sizeof(*ids))) == NULL)
        rc = cse__error_set(e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    for (size_t i = 0; rc == CSE_OK && i < pm.n; i++)
        ids[i] = pm.items[i].m->id;
    if (rc == CSE_OK && pm.n == 0 && always) {
        /* An action journaled even without markers (a forced import): one
         * intention naming no marker. */
        const char *none[1] = {NULL};
        rc = audit_intent(h, u, action, none, 1, rec->nhs, result, len, e);
    } else if (rc == CSE_OK)
        rc = audit_intent(h, u, action, ids, pm.n, rec->nhs, result, len, e);
    free(ids);
    cse__pmarkers_clear(&pm);
    return rc;
}

static int gp2gp_export(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, const cse_plugin_export_options *opt,
                        char **xml_out, size_t *xml_len, cse_plugin_error *err)
{
    cse__rec rec = {0};
    cse__export_opt o = {0};
    cse_error e;
    cse_code rc;
    char *xml = NULL;
    size_t len = 0;
    int prc;

    if (xml_len)
        *xml_len = 0;
    if ((prc = begin(h, u, CSE__PERM_GP2GP, record_json, xml_out, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if ((rc = cse__rec_parse(record_json, true, &rec, &e)) != CSE_OK)
        goto out;
    o.sender_ods = h->ods;
    o.receiver_ods = opt && opt->receiver_ods ? opt->receiver_ods : "UNKNOWN";
    if (opt) {
        o.sender_asid = opt->sender_asid;
        o.receiver_asid = opt->receiver_asid;
        o.message_id = opt->message_id;
    }
    if ((rc = cse__gp2gp_export(record_json, &o, &xml, &len, &e)) != CSE_OK)
        goto out;
    if ((rc = audit_markers(h, u, "gp2gp-export", &rec, false, xml, len, &e)) != CSE_OK)
        goto out;
    *xml_out = xml;
    xml = NULL;
    if (xml_len)
        *xml_len = len;
out:
    free(xml);
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int gp2gp_import_opt(cse_plugin_handle *h, const cse_plugin_user *u,
                            const char *xml, size_t xml_len,
                            const cse_plugin_import_options *opt, char **record_out,
                            char **review_json, cse_plugin_error *err)
{
    cse__rec rec = {0};
    cse_error e;
    cse_code rc;
    char *json = NULL;
    const char *to;
    json_t *review = NULL;
    bool dry = false, force = false;
    int prc;

    if (review_json)
        *review_json = NULL;
    if ((prc = begin(h, u, CSE__PERM_GP2GP, xml, record_out, err)) != CSE_PLUGIN_OK)
        return prc;
    if (review_json == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL, "missing review output pointer");
    if (opt) {
        if (opt->size < sizeof(*opt))
            return fail(err, CSE_ERR_VERSION, "options.size",
                        "the import options are older than this module");
        dry = opt->dry_run != 0;
        force = opt->force != 0;
    }
    cse_error_clear(&e);
    if ((rc = cse__gp2gp_import(xml, xml_len, &json, &review, &e)) != CSE_OK)
        goto out;
    /* The extract must be meant for this practice. ODS codes are not patient
     * data: the message names both. */
    to = json_string_value(json_object_get(review, "addressed_to"));
    if (!force && (to == NULL || strcmp(to, h->ods) != 0)) {
        rc = cse__error_set(&e, CSE_ERR_STATE, 0, NULL, "destination",
                            to ? "the extract is addressed to practice %.32s, not to "
                                 "this practice (%s): refused (force to import it)"
                               : "the extract names no receiving practice%.0s, so it "
                                 "is not addressed to this practice (%s): refused "
                                 "(force to import it)",
                            to ? to : "", h->ods);
        goto out;
    }
    if (strlen(json) > CSE__RECORD_MAX) {
        rc = cse__error_set(&e, CSE_ERR_LIMIT, 0, NULL, "record",
                            "the imported record would be larger than %u bytes, the "
                            "most a record may hold: refused",
                            CSE__RECORD_MAX);
        goto out;
    }
    if ((rc = cse__rec_parse(json, false, &rec, &e)) != CSE_OK)
        goto out;
    if ((*review_json = dump(review, &e)) == NULL) {
        rc = CSE_ERR_NOMEM;
        goto out;
    }
    if (!dry && (rc = audit_markers(h, u, force ? "gp2gp-import-forced" : "gp2gp-import",
                                    &rec, force, json, strlen(json), &e)) != CSE_OK) {
        free(*review_json);
        *review_json = NULL;
        goto out;
    }
    *record_out = json;
    json = NULL;
out:
    free(json);
    json_decref(review);
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int gp2gp_import(cse_plugin_handle *h, const cse_plugin_user *u, const char *xml,
                        size_t xml_len, char **record_out, char **review_json,
                        cse_plugin_error *err)
{
    return gp2gp_import_opt(h, u, xml, xml_len, NULL, record_out, review_json, err);
}

static int patient_view(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *record_json, char **view_json, cse_plugin_error *err)
{
    cse__rec rec;
    cse_error e;
    cse_code rc;
    int prc;

    if ((prc = begin(h, u, CSE__PERM_VIEW, record_json, view_json, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    if ((rc = cse__rec_parse(record_json, false, &rec, &e)) != CSE_OK)
        return to_plugin(&e, rc, err);
    if ((rc = cse__rec_patient_view(&rec, &e)) == CSE_OK &&
        (*view_json = json_dumps(rec.root, JSON_INDENT(2) | JSON_PRESERVE_ORDER)) == NULL)
        rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    cse__rec_clear(&rec);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int reviews_due(cse_plugin_handle *h, const cse_plugin_user *u,
                       const char *const *records, size_t n, int within_days,
                       char **due_json, cse_plugin_error *err)
{
    json_t *items = json_array(), *errors = json_array(), *root = NULL;
    cse_time today, horizon;
    cse_error e;
    cse_code rc = CSE_OK;
    int prc;

    clear_out(err);
    if (due_json)
        *due_json = NULL;
    if (h == NULL || due_json == NULL || (records == NULL && n > 0) || within_days < 0 ||
        within_days > 3660) {
        prc = fail(err, CSE_ERR_INVALID_ARG, NULL,
                   "missing handle, records or output, or within_days out of 0..3660");
        goto done;
    }
    if ((prc = check_perm(u, CSE__PERM_DUE, err)) != CSE_PLUGIN_OK)
        goto done;
    cse_error_clear(&e);
    if (items == NULL || errors == NULL)
        goto nomem;
    now_utc(h, (char[32]){0}, &today);
    horizon = add_days(&today, within_days);
    for (size_t i = 0; i < n; i++) {
        cse__rec rec;
        cse__pmarkers pm = {0};
        cse_error re;
        cse_error_clear(&re);
        if (cse__rec_parse(records[i], false, &rec, &re) != CSE_OK ||
            cse__rec_markers(&rec, &pm, &re) != CSE_OK) {
            if (rec.root)
                cse__rec_clear(&rec);
            if (json_array_append_new(errors, json_pack("{s:I,s:i,s:s,s:s}", "record",
                                                        (json_int_t)i, "code",
                                                        (int)re.code, "path", re.path,
                                                        "message", re.message)) != 0)
                goto nomem;
            continue;
        }
        for (size_t k = 0; k < pm.n; k++) {
            const cse_marker *m = pm.items[k].m;
            if (m->status != CSE_MARKER_ACTIVE ||
                cse_time_compare(&m->review, &horizon) > 0)
                continue;
            if (json_array_append_new(
                    items,
                    json_pack("{s:I,s:s,s:s,s:s,s:s?,s:o,s:s}", "record", (json_int_t)i,
                              "patient", rec.patient_ref, "marker_id", m->id, "code",
                              m->code, "term", m->display, "review_due",
                              date_json(&m->review), "review_state",
                              cse_marker_review_overdue(m, &today) ? "OVERDUE"
                                                                   : "due-soon")) != 0) {
                cse__pmarkers_clear(&pm);
                cse__rec_clear(&rec);
                goto nomem;
            }
        }
        cse__pmarkers_clear(&pm);
        cse__rec_clear(&rec);
    }
    root = json_pack("{s:o,s:i,s:O,s:O}", "today", date_json(&today), "within_days",
                     within_days, "items", items, "errors", errors);
    if (root == NULL || (*due_json = dump(root, &e)) == NULL)
        goto nomem;
    prc = CSE_PLUGIN_OK;
    goto done;
nomem:
    prc = fail(err, CSE_ERR_NOMEM, NULL, "out of memory");
done:
    (void)rc;
    json_decref(root);
    json_decref(items);
    json_decref(errors);
    return prc;
}

static int authorize(const cse_plugin_user *u, const char *action, cse_plugin_error *err)
{
    cse__perm perm;

    clear_out(err);
    if (cse__perm_parse(action, &perm) != CSE_OK)
        return fail(err, CSE_ERR_INVALID_ARG, "action",
                    "unknown action (open, restriction, save, marker, gp2gp, "
                    "reviews-due, patient-view, audit-verify, audit-recover)");
    return check_perm(u, perm, err);
}

static int journal_verify(cse_plugin_handle *h, char **report_json, cse_plugin_error *err)
{
    clear_out(err);
    if (report_json)
        *report_json = NULL;
    if (h == NULL || report_json == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL, "missing handle or output pointer");
    return fail(err, CSE_ERR_AUTH, "user",
                "verifying the audit journal needs an authorised user: use audit_verify "
                "(ABI 1.1)");
}

static int audit_verify(cse_plugin_handle *h, const cse_plugin_user *u,
                        const char *expect, char **report_json, cse_plugin_error *err)
{
    json_t *rep = NULL;
    cse_error e;
    cse_code rc;
    int prc;

    clear_out(err);
    if (report_json)
        *report_json = NULL;
    if (h == NULL || report_json == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL, "missing handle or output pointer");
    if ((prc = check_perm(u, CSE__PERM_AUDIT_VERIFY, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    rc = cse__journal_verify(&h->journal, expect, &rep, &e);
    if (rep && (*report_json = dump(rep, NULL)) == NULL && rc == CSE_OK)
        rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    json_decref(rep);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int audit_recover(cse_plugin_handle *h, const cse_plugin_user *u,
                         char **report_json, cse_plugin_error *err)
{
    json_t *rep = NULL;
    cse_error e;
    cse_code rc;
    int prc;

    clear_out(err);
    if (report_json)
        *report_json = NULL;
    if (h == NULL || report_json == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL, "missing handle or output pointer");
    if ((prc = check_perm(u, CSE__PERM_AUDIT_RECOVER, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    rc = cse__journal_recover(&h->journal, u->user_id, u->role, &rep, &e);
    if (rep && (*report_json = dump(rep, NULL)) == NULL && rc == CSE_OK)
        rc = cse__error_set(&e, CSE_ERR_NOMEM, 0, NULL, NULL, "out of memory");
    json_decref(rep);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

static int action_outcome(cse_plugin_handle *h, const cse_plugin_user *u,
                          const char *result, int happened, cse_plugin_error *err)
{
    cse_error e;
    cse_code rc;
    int prc;

    clear_out(err);
    if (h == NULL || result == NULL)
        return fail(err, CSE_ERR_INVALID_ARG, NULL, "missing handle or result");
    if ((prc = check_user(u, true, err)) != CSE_PLUGIN_OK)
        return prc;
    cse_error_clear(&e);
    rc = cse__journal_outcome(&h->journal, u->user_id, u->role, result, strlen(result),
                              happened != 0, NULL, &e);
    return rc == CSE_OK ? CSE_PLUGIN_OK : to_plugin(&e, rc, err);
}

/* ---- The table and the entry point -------------------------------------- */

static const cse_plugin_api api = {
    CSE_PLUGIN_ABI_VERSION,
    sizeof(cse_plugin_api),
    plugin_version,
    plugin_open,
    plugin_close,
    plugin_free_string,
    record_opened,
    record_saved,
    marker_add,
    marker_review,
    marker_end,
    marker_entered_in_error,
    gp2gp_export,
    gp2gp_import,
    patient_view,
    reviews_due,
    journal_verify,
    authorize,
    gp2gp_import_opt,
    action_outcome,
    audit_verify,
    audit_recover,
};

__attribute__((visibility("default"))) const cse_plugin_api *
cse_plugin_entry(uint32_t abi_version, cse_plugin_error *err);

const cse_plugin_api *cse_plugin_entry(uint32_t abi_version, cse_plugin_error *err)
{
    clear_out(err);
    if ((abi_version >> 16) != CSE_PLUGIN_ABI_MAJOR ||
        (abi_version & 0xFFFFu) > CSE_PLUGIN_ABI_MINOR) {
        if (err) {
            err->code = CSE_PLUGIN_ERR_VERSION;
            snprintf(err->path, sizeof(err->path), "abi_version");
            snprintf(err->message, sizeof(err->message),
                     "the host asks for ABI %u.%u; this module serves %d.0 to %d.%d",
                     (unsigned)(abi_version >> 16), (unsigned)(abi_version & 0xFFFFu),
                     CSE_PLUGIN_ABI_MAJOR, CSE_PLUGIN_ABI_MAJOR, CSE_PLUGIN_ABI_MINOR);
        }
        return NULL;
    }
    return &api;
}
