/* SPDX-License-Identifier: MIT */
/* Merge output: disclosure control and the CSV, JSON and FHIR MeasureReport
 * writers (the HTML page is in html.c).
 *
 * Disclosure control (DESIGN.md section 7): 0 stays 0, 1..threshold is
 * redacted, other counts round to the nearest multiple of base. Secondary
 * suppression: a numerator is also redacted when the difference between its
 * denominator and it (the "complement": e.g. markers without NOPAT) is
 * 1..threshold, either exactly or as published, so no subtraction of related
 * cells recovers a small count. A denominator shared by several measures is
 * protected identically everywhere. The transfer measure comes only from the
 * ICS-wide linked counts (link.c), never from a join of the partials at hand,
 * so a cell is the same in every report. A total (practice "ALL") is computed
 * from every practice's true counts and then protected like any cell, and
 * says how many practices it covers: a sum of the published cells would drop
 * exactly the practices with a redacted cell and bias the total. A total is
 * published only when the report covers every practice of the ICS registry
 * for the period, so it too is one fixed figure: the protected total of a
 * chosen subset would be a new figure, and differencing such totals across
 * subset reports could solve for a redacted cell. Only protective options are
 * accepted (cse_report_options_check). */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <csemarker/fhir.h>

#include "report_internal.h"

static const char *const measure_names[CSE_MEASURE_COUNT] = {
    "cse_marker_coverage",      "cse_marker_nopat",       "cse_marker_review_overdue",
    "cse_marker_standard_code", "cse_possibly_unflagged", "cse_marker_survived_transfer"};

const char *cse_measure_name(size_t i)
{
    return i < CSE_MEASURE_COUNT ? measure_names[i] : NULL;
}

int64_t cse_sdc_protect(uint64_t v, unsigned threshold, unsigned base)
{
    uint64_t r;

    if (v == 0)
        return 0;
    if (v <= threshold)
        return -1;
    if (base <= 1)
        return (int64_t)v;
    r = ((v + base / 2) / base) * base;
    /* A published count never shows a value from 1 to the threshold: with a
     * base above the threshold's distance to the next multiple (threshold 10,
     * base 10: 11 -> 10) it goes up to the next multiple instead. */
    if (r <= threshold)
        r = (threshold / base + 1) * base;
    return (int64_t)r;
}

cse_code cse_report_format_parse(const char *s, cse_report_format *out)
{
    static const char *const names[] = {"csv", "json", "measurereport", "html"};

    for (size_t i = 0; s != NULL && i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (cse_report_format)i;
            return CSE_OK;
        }
    return CSE_ERR_INVALID_ARG;
}

static void raw_counts(const cse__cell *c, size_t m, uint64_t *num, uint64_t *den)
{
    switch (m) {
    case 0:
        *num = c->c[CSE__CHILDREN_MARKER];
        *den = c->c[CSE__REG_CHILDREN];
        break;
    case 1:
        *num = c->c[CSE__MARKERS_NOPAT];
        *den = c->c[CSE__ACTIVE_MARKERS];
        break;
    case 2:
        *num = c->c[CSE__MARKERS_OVERDUE];
        *den = c->c[CSE__ACTIVE_MARKERS];
        break;
    case 3:
        *num = c->c[CSE__MARKERS_STANDARD];
        *den = c->c[CSE__ACTIVE_MARKERS];
        break;
    default:
        *num = c->c[CSE__CHILDREN_UNFLAGGED];
        *den = c->c[CSE__REG_CHILDREN];
        break;
    }
    if (*num > *den) /* a damaged partial must not produce negative complements */
        *num = *den;
}

static int row_cmp(const void *a, const void *b)
{
    const cse_report_row *x = a, *y = b;
    /* Periods in chronological order of their end, then start, as a reader
     * expects when quarters and shorter periods are mixed. */
    int c = cse_time_compare(&x->end, &y->end);
    int tx = strcmp(x->practice, "ALL") == 0, ty = strcmp(y->practice, "ALL") == 0;
    size_t mx = 0, my = 0;

    if (c == 0)
        c = cse_time_compare(&x->start, &y->start);
    if (c != 0)
        return c;
    for (size_t i = 0; i < CSE_MEASURE_COUNT; i++) {
        if (x->measure == measure_names[i])
            mx = i;
        if (y->measure == measure_names[i])
            my = i;
    }
    if (mx != my)
        return mx < my ? -1 : 1;
    if (tx != ty)
        return tx - ty;
    return strcmp(x->practice, y->practice);
}

/* The transfer counts of a cell: only ever the ICS-wide linked counts
 * (link.c), so the same cell has the same value in every report. */
static int tcell_cmp(const void *a, const void *b)
{
    const cse__tcell *x = a, *y = b;
    int c = strcmp(x->practice, y->practice);

    if (c == 0)
        c = cse_time_compare(&x->start, &y->start);
    return c ? c : cse_time_compare(&x->end, &y->end);
}

static const cse__tcell *linked_counts(const cse_partial *p, const cse__cell *c)
{
    cse__tcell key;

    if (p->nt == 0)
        return NULL;
    memcpy(key.practice, c->practice, sizeof(key.practice));
    key.start = c->start;
    key.end = c->end;
    /* tcells are kept sorted by practice and period (partial.c). */
    return bsearch(&key, p->tcells, p->nt, sizeof(*p->tcells), tcell_cmp);
}

cse_code cse_report_options_check(const cse_report_options *opt, cse_error *err)
{
    if (opt == NULL || opt->no_disclosure_control)
        return CSE_OK;
    if (opt->threshold != 0 && (opt->threshold < CSE_SDC_THRESHOLD_DEFAULT ||
                                opt->threshold > CSE_SDC_THRESHOLD_MAX))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "the redaction threshold must be from %u to %u: a lower "
                              "one publishes counts the disclosure rules redact",
                              CSE_SDC_THRESHOLD_DEFAULT, CSE_SDC_THRESHOLD_MAX);
    if (opt->base != 0 && (opt->base < CSE_SDC_BASE_MIN || opt->base > CSE_SDC_BASE_MAX))
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "the rounding base must be from %u to %u: a smaller one "
                              "publishes (nearly) exact counts, a larger one ratios far "
                              "from the truth",
                              CSE_SDC_BASE_MIN, CSE_SDC_BASE_MAX);
    return CSE_OK;
}

/* Protects one row's true counts as every published cell is (see the top of
 * this file); a total goes through here too, from the true sums. */
static void protect_row(cse_report_row *r, uint64_t num, uint64_t den, unsigned thr,
                        unsigned base)
{
    r->numerator = cse_sdc_protect(num, thr, base);
    r->denominator = cse_sdc_protect(den, thr, base);
    if (r->denominator < 0 && r->numerator != 0)
        r->numerator = -1;
    if (r->numerator >= 0 && r->denominator >= 0) {
        uint64_t ct = den - num;
        int64_t cp = r->denominator - r->numerator;
        if ((ct >= 1 && ct <= thr) || (cp >= 1 && cp <= (int64_t)thr))
            r->numerator = -1;
    }
}

static int same_group(const cse_report_row *a, const cse_report_row *b)
{
    return a->measure == b->measure && cse_time_compare(&a->start, &b->start) == 0 &&
           cse_time_compare(&a->end, &b->end) == 0;
}

cse_code cse_report_rows(const cse_partial *p, const cse_report_options *opt,
                         cse_report_row **rows_out, size_t *n_out, cse_error *err)
{
    unsigned thr = opt && opt->threshold ? opt->threshold : CSE_SDC_THRESHOLD_DEFAULT;
    unsigned base = opt && opt->base ? opt->base : CSE_SDC_BASE_DEFAULT;
    int sdc = !(opt && opt->no_disclosure_control);
    size_t n = 0, cap;
    cse_report_row *rows = NULL;
    cse_code rc = CSE_OK;

    if (p == NULL || rows_out == NULL || n_out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "", "no partial");
    *rows_out = NULL;
    *n_out = 0;
    if ((rc = cse_report_options_check(opt, err)) != CSE_OK)
        return rc;
    cap = p->n * CSE_MEASURE_COUNT * 2 + 1;
    if ((rows = calloc(cap, sizeof(*rows))) == NULL)
        goto nomem;
    /* Every row first holds its true counts; disclosure control comes last,
     * once the totals are summed from them. */
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        for (size_t m = 0; m < CSE_MEASURE_COUNT; m++) {
            cse_report_row *r = &rows[n++];
            uint64_t num = 0, den = 0;
            const cse__tcell *t = NULL;
            if (m == 5) {
                if ((t = linked_counts(p, c)) != NULL)
                    num = t->num, den = t->den;
            } else {
                raw_counts(c, m, &num, &den);
            }
            r->measure = measure_names[m];
            memcpy(r->practice, c->practice, sizeof(r->practice));
            r->start = c->start;
            r->end = c->end;
            r->practices = 1;
            if (m == 5 && t == NULL) {
                /* Not measured: no ICS-wide linkage for this cell. Linking
                 * only the partials at hand would give the cell a value that
                 * depends on which practices were merged. */
                r->numerator = r->denominator = CSE_REPORT_NOT_MEASURED;
            } else {
                r->numerator = (int64_t)num;
                r->denominator = (int64_t)den;
            }
        }
    }
    /* Totals per measure and period, from every practice's true counts: a sum
     * of the published cells would leave out exactly the practices with a
     * redacted cell and bias the total. Each total says how many practices
     * it covers. Protected, a total is published only when its rows cover
     * every practice of the registry (see the top of this file). */
    {
        size_t ncells = n;
        qsort(rows, ncells, sizeof(*rows), row_cmp);
        for (size_t i = 0; i < ncells;) {
            size_t j = i, in_registry = 0;
            cse_report_row *t = &rows[n++];
            *t = rows[i];
            strcpy(t->practice, "ALL");
            t->numerator = t->denominator = 0;
            t->practices = 0;
            for (; j < ncells && same_group(&rows[j], &rows[i]); j++) {
                t->practices++;
                if (opt != NULL && opt->registry != NULL &&
                    cse__registry_find(opt->registry, rows[j].practice) != NULL)
                    in_registry++;
                if (rows[j].denominator == CSE_REPORT_NOT_MEASURED)
                    t->numerator = t->denominator = CSE_REPORT_NOT_MEASURED;
                if (t->denominator < 0)
                    continue;
                t->numerator += rows[j].numerator;
                t->denominator += rows[j].denominator;
            }
            if (sdc && t->denominator != CSE_REPORT_NOT_MEASURED &&
                (opt == NULL || opt->registry == NULL ||
                 in_registry != cse_registry_practice_count(opt->registry) ||
                 in_registry != t->practices))
                t->numerator = t->denominator = CSE_REPORT_NOT_PUBLISHED;
            i = j;
        }
    }
    for (size_t i = 0; i < n; i++) {
        cse_report_row *r = &rows[i];
        if (sdc && r->denominator >= 0)
            protect_row(r, (uint64_t)r->numerator, (uint64_t)r->denominator, thr, base);
        /* Ratios come from the published counts, never the true ones, which
         * the ratio would otherwise give away; the rounding base is capped
         * (CSE_SDC_BASE_MAX) so that they stay close to the truth. */
        r->ratio = r->numerator >= 0 && r->denominator > 0
                       ? (double)r->numerator / (double)r->denominator
                       : -1.0;
    }
    qsort(rows, n, sizeof(*rows), row_cmp);
    *rows_out = rows;
    *n_out = n;
    rows = NULL;
    goto out;
nomem:
    rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
out:
    free(rows);
    return rc;
}

/* ---- CSV and JSON ------------------------------------------------------ */

static void put_count(FILE *out, int64_t v)
{
    if (v == CSE_REPORT_NOT_MEASURED)
        fputs("[NOT MEASURED]", out);
    else if (v == CSE_REPORT_NOT_PUBLISHED)
        fputs("[NOT PUBLISHED]", out);
    else if (v < 0)
        fputs("[REDACTED]", out);
    else
        fprintf(out, "%lld", (long long)v);
}

static cse_code write_csv(const cse_report_row *rows, size_t n, int sdc, FILE *out)
{
    fputs("measure,interval_start,interval_end,practice,numerator,denominator,ratio,"
          "disclosure_control,practices\n",
          out);
    for (size_t i = 0; i < n; i++) {
        const cse_report_row *r = &rows[i];
        char a[32], b[32];
        fprintf(out, "%s,%s,%s,%s,", r->measure,
                cse_time_format_fhir_date(&r->start, a, sizeof(a)),
                cse_time_format_fhir_date(&r->end, b, sizeof(b)), r->practice);
        put_count(out, r->numerator);
        fputc(',', out);
        put_count(out, r->denominator);
        fputc(',', out);
        if (r->ratio >= 0)
            fprintf(out, "%.4f", r->ratio);
        fprintf(out, ",%s,%zu\n", sdc ? "protected" : "UNPROTECTED", r->practices);
    }
    return ferror(out) ? CSE_ERR_IO : CSE_OK;
}

static const char not_measured_why[] =
    "not measured: no ICS-wide linked partial (cse-report link) for this practice and "
    "period; transfers are linked once over every practice of the ICS";
static const char not_published_why[] =
    "not published: the report does not cover every practice of the ICS registry for "
    "this period; a total of a chosen subset of practices could be differenced with "
    "other reports to recover a redacted cell";

static json_t *jcount(int64_t v)
{
    return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *dc_object(const cse_report_options *opt, unsigned thr, unsigned base)
{
    if (opt->no_disclosure_control)
        return json_pack("{s:b, s:s}", "applied", 0, "status",
                         "UNPROTECTED: raw counts, not for publication");
    return json_pack("{s:b, s:s, s:i, s:i}", "applied", 1, "status", "protected",
                     "threshold", (json_int_t)thr, "base", (json_int_t)base);
}

static cse_code write_json(const cse_report_row *rows, size_t n,
                           const cse_report_options *opt, unsigned thr, unsigned base,
                           FILE *out)
{
    char ver[64];
    json_t *root, *arr;
    cse_code rc = CSE_OK;

    snprintf(ver, sizeof(ver), "csemarker %s", cse_version());
    root = json_pack("{s:s, s:i, s:s, s:o, s:[]}", "format", "csemarker-report",
                     "version", 1, "tool", ver, "disclosure_control",
                     dc_object(opt, thr, base), "rows");
    if (root == NULL)
        return CSE_ERR_NOMEM;
    arr = json_object_get(root, "rows");
    for (size_t i = 0; i < n; i++) {
        const cse_report_row *r = &rows[i];
        char a[32], b[32];
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:b, s:o, s:b, s:o, s:I}", "measure", r->measure,
            "interval_start", cse_time_format_fhir_date(&r->start, a, sizeof(a)),
            "interval_end", cse_time_format_fhir_date(&r->end, b, sizeof(b)), "practice",
            r->practice, "numerator", jcount(r->numerator), "numerator_redacted",
            r->numerator == -1, "denominator", jcount(r->denominator),
            "denominator_redacted", r->denominator == -1, "ratio",
            r->ratio >= 0 ? json_real((double)(long long)(r->ratio * 1e6 + 0.5) / 1e6)
                          : json_null(),
            "practices", (json_int_t)r->practices);
        if (o != NULL && r->denominator == CSE_REPORT_NOT_MEASURED)
            json_object_set_new(o, "not_measured", json_string(not_measured_why));
        else if (o != NULL && r->denominator == CSE_REPORT_NOT_PUBLISHED)
            json_object_set_new(o, "not_published", json_string(not_published_why));
        if (o == NULL || json_array_append_new(arr, o) != 0) {
            json_decref(root);
            return CSE_ERR_NOMEM;
        }
    }
    if (json_dumpf(root, out,
                   JSON_INDENT(1) | JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER |
                       JSON_REAL_PRECISION(10)) != 0 ||
        fputc('\n', out) == EOF)
        rc = CSE_ERR_IO;
    json_decref(root);
    return rc;
}

/* ---- FHIR MeasureReport ------------------------------------------------ */

static json_t *population(const char *code, const char *display, int64_t v)
{
    json_t *pop = json_pack("{s:{s:[{s:s, s:s, s:s}]}}", "code", "coding", "system",
                            "http://terminology.hl7.org/CodeSystem/measure-population",
                            "code", code, "display", display);

    if (pop == NULL)
        return NULL;
    if (v >= 0)
        json_object_set_new(pop, "count", json_integer((json_int_t)v));
    else
        json_object_set_new(
            pop, "_count",
            json_pack("{s:[{s:s, s:s}]}", "extension", "url",
                      "http://hl7.org/fhir/StructureDefinition/data-absent-reason",
                      "valueCode",
                      v == CSE_REPORT_NOT_MEASURED ? "not-performed" : "masked"));
    return pop;
}

static void add_counts(json_t *o, const cse_report_row *r)
{
    json_object_set_new(
        o, "population",
        json_pack("[o, o]", population("numerator", "Numerator", r->numerator),
                  population("denominator", "Denominator", r->denominator)));
    if (r->ratio >= 0)
        json_object_set_new(
            o, "measureScore",
            json_pack("{s:f}", "value", (double)(long long)(r->ratio * 1e4 + 0.5) / 1e4));
}

static json_t *measure_report(const cse_report_row *rows, size_t n,
                              const cse_report_options *opt)
{
    char a[32], b[32], name[80], id[37];
    json_t *mr, *groups;

    cse_time_format_fhir_date(&rows[0].start, a, sizeof(a));
    cse_time_format_fhir_date(&rows[0].end, b, sizeof(b));
    snprintf(name, sizeof(name), "%s..%s", a, b);
    if (cse_uuid_derive("cse-report/MeasureReport", name, id) != CSE_OK)
        return NULL;
    for (char *q = id; *q; q++)
        *q = (char)(*q >= 'A' && *q <= 'F' ? *q - 'A' + 'a' : *q);
    mr = json_pack("{s:s, s:s, s:{s:[s]}, s:s, s:s, s:s, s:{s:s, s:s}, s:[]}",
                   "resourceType", "MeasureReport", "id", id, "meta", "profile",
                   CSE_FHIR_BASE "/StructureDefinition/cse-measure-report", "status",
                   "complete", "type", "summary", "measure", CSE_FHIR_MEASURE, "period",
                   "start", a, "end", b, "group");
    if (mr == NULL)
        return NULL;
    if (opt->generated != NULL)
        json_object_set_new(mr, "date", json_string(opt->generated));
    if (opt->no_disclosure_control)
        json_object_set_new(
            json_object_get(mr, "meta"), "tag",
            json_pack("[{s:s, s:s, s:s}]", "system",
                      CSE_FHIR_BASE "/CodeSystem/cse-disclosure", "code", "UNPROTECTED",
                      "display", "UNPROTECTED: raw counts without disclosure control"));
    groups = json_object_get(mr, "group");
    for (size_t m = 0; m < CSE_MEASURE_COUNT; m++) {
        json_t *g = json_pack("{s:{s:[{s:s, s:s}], s:s}}", "code", "coding", "system",
                              CSE_FHIR_CS_MEASURE, "code", measure_names[m], "text",
                              measure_names[m]);
        json_t *strata = json_array();
        for (size_t i = 0; i < n; i++) {
            const cse_report_row *r = &rows[i];
            json_t *s;
            if (r->measure != measure_names[m])
                continue;
            if (strcmp(r->practice, "ALL") == 0) {
                /* The group's counts are the total: say how many practices. */
                json_object_set_new(
                    g, "extension",
                    json_pack("[{s:s, s:I}]", "url",
                              CSE_FHIR_BASE "/StructureDefinition/cse-practices-covered",
                              "valueInteger", (json_int_t)r->practices));
                add_counts(g, r);
                continue;
            }
            s = json_pack("{s:{s:[{s:s, s:s}]}}", "value", "coding", "system",
                          CSE_FHIR_ODS, "code", r->practice);
            add_counts(s, r);
            json_array_append_new(strata, s);
        }
        json_object_set_new(g, "stratifier",
                            json_pack("[{s:[{s:[{s:s, s:s, s:s}], s:s}], s:o}]", "code",
                                      "coding", "system", CSE_FHIR_CS_MEASURE, "code",
                                      "practice", "display", "Practice", "text",
                                      "practice", "stratum", strata));
        json_array_append_new(groups, g);
    }
    return mr;
}

static cse_code write_measurereport(const cse_report_row *rows, size_t n,
                                    const cse_report_options *opt, FILE *out)
{
    json_t *root = NULL, *entries = NULL;
    size_t periods = 0;
    cse_code rc = CSE_OK;

    for (size_t i = 0; i < n; i++)
        if (i == 0 || cse_time_compare(&rows[i].start, &rows[i - 1].start) != 0 ||
            cse_time_compare(&rows[i].end, &rows[i - 1].end) != 0)
            periods++;
    if (periods == 0)
        return CSE_ERR_STRUCTURE;
    if (periods > 1) {
        root = json_pack("{s:s, s:s, s:[]}", "resourceType", "Bundle", "type",
                         "collection", "entry");
        if (root == NULL)
            return CSE_ERR_NOMEM;
        entries = json_object_get(root, "entry");
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        json_t *mr;
        while (j < n && cse_time_compare(&rows[j].start, &rows[i].start) == 0 &&
               cse_time_compare(&rows[j].end, &rows[i].end) == 0)
            j++;
        if ((mr = measure_report(rows + i, j - i, opt)) == NULL) {
            rc = CSE_ERR_NOMEM;
            goto out;
        }
        if (entries == NULL) {
            root = mr;
        } else {
            char url[64];
            snprintf(url, sizeof(url), "urn:uuid:%s",
                     json_string_value(json_object_get(mr, "id")));
            json_array_append_new(
                entries, json_pack("{s:s, s:o}", "fullUrl", url, "resource", mr));
        }
        i = j;
    }
    if (json_dumpf(root, out,
                   JSON_INDENT(1) | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII |
                       JSON_REAL_PRECISION(10)) != 0 ||
        fputc('\n', out) == EOF)
        rc = CSE_ERR_IO;
out:
    json_decref(root);
    return rc;
}

cse_code cse_report_write(const cse_partial *p, const cse_report_options *opt, FILE *out,
                          cse_error *err)
{
    cse_report_options def = {0};
    cse_report_row *rows = NULL;
    size_t n = 0;
    unsigned thr, base;
    cse_code rc;

    if (opt == NULL)
        opt = &def;
    if (p == NULL || out == NULL)
        return cse__error_set(err, CSE_ERR_INVALID_ARG, 0, "", "",
                              "no partial or output");
    if (p->n == 0)
        return cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "",
                              "nothing to report: no practice in the partials");
    thr = opt->threshold ? opt->threshold : CSE_SDC_THRESHOLD_DEFAULT;
    base = opt->base ? opt->base : CSE_SDC_BASE_DEFAULT;
    if ((rc = cse_report_rows(p, opt, &rows, &n, err)) != CSE_OK)
        return rc;
    switch (opt->format) {
    case CSE_REPORT_CSV: rc = write_csv(rows, n, !opt->no_disclosure_control, out); break;
    case CSE_REPORT_JSON: rc = write_json(rows, n, opt, thr, base, out); break;
    case CSE_REPORT_MEASUREREPORT: rc = write_measurereport(rows, n, opt, out); break;
    case CSE_REPORT_HTML: rc = cse__report_html(p, opt, rows, n, out, err); break;
    default: rc = CSE_ERR_INVALID_ARG; break;
    }
    if (rc != CSE_OK)
        cse__error_set(err, rc, 0, "", "",
                       rc == CSE_ERR_IO ? "cannot write the report: %s"
                                        : "cannot build the report%s",
                       rc == CSE_ERR_IO ? strerror(errno) : "");
    free(rows);
    return rc;
}
