/* SPDX-License-Identifier: MIT */
/* Disclosure control of the ICS report: the rounding and redaction table of
 * DESIGN.md section 7, the threshold and base options, and a property test
 * over many random small populations that no published cell, total or
 * difference of related cells reveals a count from 1 to the threshold, and
 * that every total is the protected sum of every practice's true counts. */
#include <stdint.h>
#include <string.h>

#include <check.h>

#include <csemarker/report.h>

#include "../aggregate/report_internal.h"
#include "report_testkeys.h"
#include "testutil.h"

/* A registry of the practices Y00000..Y0000(n-1), with the test keys. */
static cse_registry *registry_of(size_t n)
{
    char path[512];
    FILE *fp;
    cse_registry *r;

    snprintf(path, sizeof(path), "%.63s/registry-sdc", testkeys()->dir);
    fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs("ics QICS1\n", fp);
    for (size_t i = 0; i < n; i++)
        fprintf(fp, "practice Y%05zu 1000\n", i);
    fclose(fp);
    r = cse_registry_load(path, testkeys()->keys, NULL);
    ck_assert_ptr_nonnull(r);
    return r;
}

START_TEST(test_report_sdc_table)
{
    /* DESIGN.md: v<=7 ? redact : ((v+2)/5)*5; 8 -> 10, 12 -> 10, 13 -> 15. */
    ck_assert_int_eq(cse_sdc_protect(0, 7, 5), 0);
    for (uint64_t v = 1; v <= 7; v++)
        ck_assert_int_eq(cse_sdc_protect(v, 7, 5), -1);
    ck_assert_int_eq(cse_sdc_protect(8, 7, 5), 10);
    ck_assert_int_eq(cse_sdc_protect(9, 7, 5), 10);
    ck_assert_int_eq(cse_sdc_protect(10, 7, 5), 10);
    ck_assert_int_eq(cse_sdc_protect(12, 7, 5), 10);
    ck_assert_int_eq(cse_sdc_protect(13, 7, 5), 15);
    ck_assert_int_eq(cse_sdc_protect(102, 7, 5), 100);
    ck_assert_int_eq(cse_sdc_protect(103, 7, 5), 105);
    for (uint64_t v = 8; v < 1000; v++)
        ck_assert_int_eq(cse_sdc_protect(v, 7, 5), (int64_t)(((v + 2) / 5) * 5));
}
END_TEST

START_TEST(test_report_sdc_threshold_and_base_options)
{
    ck_assert_int_eq(cse_sdc_protect(10, 10, 10), -1);
    ck_assert_int_eq(cse_sdc_protect(11, 10, 10), 20); /* 10 would show 1..10 */
    ck_assert_int_eq(cse_sdc_protect(15, 10, 10), 20);
    ck_assert_int_eq(cse_sdc_protect(24, 10, 10), 20);
    ck_assert_int_eq(cse_sdc_protect(25, 10, 10), 30);
    ck_assert_int_eq(cse_sdc_protect(9, 7, 10), 10);
    ck_assert_int_eq(cse_sdc_protect(3, 2, 1), 3); /* base 1: no rounding */
    ck_assert_int_eq(cse_sdc_protect(2, 2, 1), -1);
    ck_assert_int_eq(cse_sdc_protect(0, 10, 10), 0);
}
END_TEST

static uint64_t rs = 88172645463325252ull;
static uint64_t rnd(uint64_t n)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return rs % n;
}

/* A random cell: small counts, so that redaction happens often. */
static void random_cell(cse__cell *c, int practice, int quarter)
{
    memset(c, 0, sizeof(*c));
    snprintf(c->practice, sizeof(c->practice), "Y%05d", practice);
    c->start = test_day(2025, 3 * quarter + 1, 1);
    c->end = test_day(2025, 3 * quarter + 3, 28);
    c->c[CSE__REG_CHILDREN] = rnd(4) == 0 ? rnd(9) : rnd(60);
    c->c[CSE__CHILDREN_MARKER] =
        c->c[CSE__REG_CHILDREN] ? rnd(c->c[CSE__REG_CHILDREN] + 1) : 0;
    c->c[CSE__ACTIVE_MARKERS] = c->c[CSE__CHILDREN_MARKER] + rnd(3);
    for (int k = CSE__MARKERS_NOPAT; k <= CSE__MARKERS_STANDARD; k++)
        c->c[k] = rnd(c->c[CSE__ACTIVE_MARKERS] + 1);
    c->c[CSE__CHILDREN_UNFLAGGED] =
        rnd(c->c[CSE__REG_CHILDREN] - c->c[CSE__CHILDREN_MARKER] + 1);
}

static int small(int64_t v, unsigned thr)
{
    return v >= 1 && v <= (int64_t)thr;
}

static void check_rows(const cse_report_row *rows, const cse_report_row *raw, size_t n,
                       unsigned thr, unsigned base)
{
    for (size_t i = 0; i < n; i++) {
        const cse_report_row *r = &rows[i];
        /* Every published count is 0 or above the threshold, and a multiple
         * of the base. */
        ck_assert_msg(!small(r->numerator, thr) && !small(r->denominator, thr),
                      "%s %s: published %lld/%lld", r->measure, r->practice,
                      (long long)r->numerator, (long long)r->denominator);
        if (r->numerator > 0)
            ck_assert_int_eq(r->numerator % base, 0);
        if (r->denominator > 0)
            ck_assert_int_eq(r->denominator % base, 0);
        /* The complement (denominator minus numerator) is not small. */
        if (r->numerator >= 0 && r->denominator >= 0)
            ck_assert_msg(!small(r->denominator - r->numerator, thr),
                          "%s %s: difference %lld", r->measure, r->practice,
                          (long long)(r->denominator - r->numerator));
        /* A redacted denominator never comes with a published non-zero
         * numerator. */
        if (r->denominator < 0)
            ck_assert(r->numerator <= 0);
        /* Measures sharing a denominator publish it identically. */
        for (size_t j = 0; j < n; j++) {
            const cse_report_row *o = &rows[j];
            int same_den_group = (strcmp(r->measure, "cse_marker_coverage") == 0 &&
                                  strcmp(o->measure, "cse_possibly_unflagged") == 0) ||
                                 (strcmp(r->measure, "cse_marker_nopat") == 0 &&
                                  (strcmp(o->measure, "cse_marker_review_overdue") == 0 ||
                                   strcmp(o->measure, "cse_marker_standard_code") == 0));
            if (same_den_group && strcmp(r->practice, "ALL") != 0 &&
                strcmp(r->practice, o->practice) == 0 &&
                cse_time_compare(&r->start, &o->start) == 0)
                ck_assert_int_eq(r->denominator, o->denominator);
        }
    }
    /* Totals: the true counts of every practice, protected like any cell
     * (checked against the unprotected rows, which come in the same order). */
    for (size_t i = 0; i < n; i++) {
        const cse_report_row *t = &rows[i], *u = &raw[i];
        int64_t num = 0, den = 0, pn, pd;
        size_t practices = 0;
        ck_assert_str_eq(t->practice, u->practice);
        ck_assert_ptr_eq(t->measure, u->measure);
        if (strcmp(t->practice, "ALL") != 0)
            continue;
        for (size_t j = 0; j < n; j++)
            if (raw[j].measure == t->measure && strcmp(raw[j].practice, "ALL") != 0 &&
                cse_time_compare(&raw[j].start, &t->start) == 0) {
                num += raw[j].numerator;
                den += raw[j].denominator;
                practices++;
            }
        ck_assert_int_eq(u->numerator, num);
        ck_assert_int_eq(u->denominator, den);
        ck_assert_uint_eq(t->practices, practices);
        ck_assert_uint_eq(u->practices, practices);
        pn = cse_sdc_protect((uint64_t)num, thr, base);
        pd = cse_sdc_protect((uint64_t)den, thr, base);
        ck_assert_int_eq(t->denominator, pd);
        if (pd < 0 && pn != 0)
            pn = -1;
        if (pn >= 0 && pd >= 0 && (small(den - num, thr) || small(pd - pn, thr)))
            pn = -1;
        ck_assert_int_eq(t->numerator, pn);
    }
}

START_TEST(test_report_sdc_no_small_count_is_revealed)
{
    static const unsigned thr_base[][2] = {{7, 5}, {10, 10}, {8, 5}, {7, 10}};
    for (int round = 0; round < 400; round++) {
        cse_partial *p = cse_partial_new();
        cse_report_options ro = {0};
        cse_report_row *rows = NULL, *raw = NULL;
        cse_report_options ro_raw = {0};
        size_t n = 0, n_raw = 0, practices = 1 + rnd(6);
        ck_assert_ptr_nonnull(p);
        ro.threshold = thr_base[round % 4][0];
        ro.base = thr_base[round % 4][1];
        for (size_t i = 0; i < practices; i++)
            for (int q = 0; q < 2; q++) {
                cse__cell c;
                cse__tcell t;
                random_cell(&c, (int)i, q);
                /* The ICS-wide linked transfer counts of the cell. */
                memset(&t, 0, sizeof(t));
                memcpy(t.practice, c.practice, sizeof(t.practice));
                t.start = c.start;
                t.end = c.end;
                t.den = rnd(3) == 0 ? rnd(30) : rnd(10);
                t.num = t.den ? rnd(t.den + 1) : 0;
                t.member = -1;
                ck_assert_int_eq(cse__partial_add_cell(p, &c, NULL), CSE_OK);
                ck_assert_int_eq(cse__partial_add_tcell(p, &t, NULL), CSE_OK);
            }
        /* Without a registry, or with one naming a practice more than the
         * partial holds, no total is published. */
        ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].practice, "ALL") == 0) {
                ck_assert_int_eq(rows[i].numerator, CSE_REPORT_NOT_PUBLISHED);
                ck_assert_int_eq(rows[i].denominator, CSE_REPORT_NOT_PUBLISHED);
                ck_assert_uint_eq(rows[i].practices, practices);
            }
        free(rows);
        ro.registry = registry_of(practices + 1);
        ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
        for (size_t i = 0; i < n; i++)
            if (strcmp(rows[i].practice, "ALL") == 0)
                ck_assert_int_eq(rows[i].denominator, CSE_REPORT_NOT_PUBLISHED);
        free(rows);
        cse_registry_free((cse_registry *)ro.registry);
        ro.registry = registry_of(practices);
        ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
        cse_registry_free((cse_registry *)ro.registry);
        ck_assert_uint_eq(n, practices * 2 * CSE_MEASURE_COUNT + 2 * CSE_MEASURE_COUNT);
        ro_raw.no_disclosure_control = 1;
        ck_assert_int_eq(cse_report_rows(p, &ro_raw, &raw, &n_raw, NULL), CSE_OK);
        ck_assert_uint_eq(n_raw, n);
        check_rows(rows, raw, n, ro.threshold, ro.base);
        free(rows);
        free(raw);
        cse_partial_free(p);
    }
}
END_TEST

START_TEST(test_report_sdc_complement_is_suppressed)
{
    /* 27 of 32 markers labelled: 30/25 published would reveal "5 without". */
    cse_partial *p = cse_partial_new();
    cse_report_row *rows = NULL;
    cse__cell c;
    size_t n = 0;

    memset(&c, 0, sizeof(c));
    strcpy(c.practice, "Y00001");
    c.start = test_day(2025, 1, 1);
    c.end = test_day(2025, 3, 31);
    c.c[CSE__REG_CHILDREN] = 400;
    c.c[CSE__CHILDREN_MARKER] = 30;
    c.c[CSE__ACTIVE_MARKERS] = 32;
    c.c[CSE__MARKERS_NOPAT] = 27;
    c.c[CSE__MARKERS_OVERDUE] = 0;
    c.c[CSE__MARKERS_STANDARD] = 32;
    ck_assert_int_eq(cse__partial_add_cell(p, &c, NULL), CSE_OK);
    ck_assert_int_eq(cse_report_rows(p, NULL, &rows, &n, NULL), CSE_OK);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].practice, "Y00001") != 0)
            continue;
        if (strcmp(rows[i].measure, "cse_marker_nopat") == 0) {
            ck_assert_int_eq(rows[i].numerator, -1);
            ck_assert_int_eq(rows[i].denominator, 30);
            ck_assert(rows[i].ratio < 0);
        } else if (strcmp(rows[i].measure, "cse_marker_review_overdue") == 0) {
            ck_assert_int_eq(rows[i].numerator, 0);
        } else if (strcmp(rows[i].measure, "cse_marker_standard_code") == 0) {
            ck_assert_int_eq(rows[i].numerator, 30);
            ck_assert(rows[i].ratio == 1.0);
        }
    }
    free(rows);
    cse_partial_free(p);
}
END_TEST

START_TEST(test_report_sdc_off_gives_raw_counts)
{
    cse_partial *p = cse_partial_new();
    cse_report_options ro = {0};
    cse_report_row *rows = NULL;
    cse__cell c;
    size_t n = 0;

    memset(&c, 0, sizeof(c));
    strcpy(c.practice, "Y00001");
    c.start = test_day(2025, 1, 1);
    c.end = test_day(2025, 3, 31);
    c.c[CSE__REG_CHILDREN] = 13;
    c.c[CSE__CHILDREN_MARKER] = 3;
    ck_assert_int_eq(cse__partial_add_cell(p, &c, NULL), CSE_OK);
    ro.no_disclosure_control = 1;
    ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
    ck_assert_str_eq(rows[0].measure, "cse_marker_coverage");
    ck_assert_int_eq(rows[0].numerator, 3);
    ck_assert_int_eq(rows[0].denominator, 13);
    free(rows);
    rows = NULL;
    ro.no_disclosure_control = 0;
    ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
    ck_assert_int_eq(rows[0].numerator, -1);
    ck_assert_int_eq(rows[0].denominator, 15);
    free(rows);
    cse_partial_free(p);
}
END_TEST

/* Only protective options: base 1 would publish exact counts labelled
 * protected, a threshold below 7 counts the rules redact, base 100 ratios far
 * from the truth (5.9% shown as 14.8%). */
START_TEST(test_report_sdc_refuses_unprotective_options)
{
    static const unsigned bad[][2] = {{7, 1},   {7, 2}, {7, 4}, {7, 11},
                                      {7, 100}, {1, 5}, {6, 5}, {1001, 5}};
    static const unsigned good[][2] = {{7, 5}, {7, 10}, {10, 10}, {30, 5}, {0, 0}};
    cse_partial *p = cse_partial_new();
    cse_report_row *rows = NULL;
    cse__cell c;
    cse_error err;
    size_t n = 0;

    memset(&c, 0, sizeof(c));
    strcpy(c.practice, "Y00001");
    c.start = test_day(2025, 1, 1);
    c.end = test_day(2025, 3, 31);
    c.c[CSE__REG_CHILDREN] = 676;
    c.c[CSE__CHILDREN_MARKER] = 40;
    ck_assert_int_eq(cse__partial_add_cell(p, &c, NULL), CSE_OK);
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cse_report_options ro = {0};
        ro.threshold = bad[i][0];
        ro.base = bad[i][1];
        cse_error_clear(&err);
        ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, &err), CSE_ERR_INVALID_ARG);
        ck_assert_ptr_null(rows);
        ck_assert_msg(strstr(err.message, "must be from") != NULL, "%s", err.message);
        ck_assert_int_eq(cse_report_write(p, &ro, stdout, NULL), CSE_ERR_INVALID_ARG);
    }
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        cse_report_options ro = {0};
        ro.threshold = good[i][0];
        ro.base = good[i][1];
        ck_assert_int_eq(cse_report_rows(p, &ro, &rows, &n, NULL), CSE_OK);
        /* 40 of 676 is 5.9%: every accepted base shows 5.9% or 6.0%. */
        ck_assert_msg(rows[0].ratio > 0.058 && rows[0].ratio < 0.061,
                      "%u/%u: %s %s %lld/%lld", good[i][0], good[i][1], rows[0].measure,
                      rows[0].practice, (long long)rows[0].numerator,
                      (long long)rows[0].denominator);
        free(rows);
        rows = NULL;
    }
    {
        cse_report_options ro = {0};
        ro.threshold = CSE_SDC_THRESHOLD_MAX;
        ro.base = CSE_SDC_BASE_MAX;
        ck_assert_int_eq(cse_report_options_check(&ro, NULL), CSE_OK);
        ro.threshold = 3;
        ro.base = 1;
        ro.no_disclosure_control = 1; /* raw counts: nothing to check */
        ck_assert_int_eq(cse_report_options_check(&ro, NULL), CSE_OK);
    }
    cse_partial_free(p);
}
END_TEST

Suite *make_report_sdc_suite(void)
{
    Suite *s = suite_create("report_sdc");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_report_sdc_table);
    tcase_add_test(tc, test_report_sdc_threshold_and_base_options);
    tcase_add_test(tc, test_report_sdc_no_small_count_is_revealed);
    tcase_add_test(tc, test_report_sdc_complement_is_suppressed);
    tcase_add_test(tc, test_report_sdc_off_gives_raw_counts);
    tcase_add_test(tc, test_report_sdc_refuses_unprotective_options);
    /* 400 random rounds: a watchdog for a sanitizer build on a loaded
     * machine, where Check's 4-second default was hit (not a timing). */
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
