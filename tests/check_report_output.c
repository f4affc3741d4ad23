/* SPDX-License-Identifier: MIT */
/* The published report: totals over every practice, the accepted disclosure
 * options, the funnel-plot limits of the HTML page, and the synthetic NHS
 * numbers that feed every report test. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <check.h>

#include <csemarker/fhir.h>
#include <csemarker/report.h>

#include "../aggregate/report_internal.h"
#include "report_testkeys.h"
#include "testutil.h"

/* 9 million patients (and the 1 in 80 children who moved) get distinct, valid
 * NHS numbers; the old sequence repeated after about 909,000. */
START_TEST(test_report_synth_nhs_numbers_never_repeat)
{
    const uint64_t n = CSE__SYNTH_MAX_PATIENTS + CSE__SYNTH_MAX_PATIENTS / 80 + 1;
    unsigned char *seen = calloc(CSE__SYNTH_NHS_BODIES / 8 + 1, 1);
    uint64_t state = 0, bad = UINT64_MAX;
    const char *why = "";
    char nhs[11];

    ck_assert_ptr_nonnull(seen);
    /* Plain comparisons in the loop: each ck_assert costs a write to Check's pipe. */
    for (uint64_t i = 0; i < n && bad == UINT64_MAX; i++) {
        unsigned long slot;
        int sum = 0, c;
        cse__synth_nhs_number(&state, nhs);
        for (int k = 0; k < 9; k++)
            sum += (nhs[k] - '0') * (10 - k);
        c = 11 - sum % 11;
        if (strlen(nhs) != 10 || memcmp(nhs, "9", 1) != 0 || strncmp(nhs, "980", 3) < 0 ||
            (c == 11 ? 0 : c) != nhs[9] - '0') {
            bad = i, why = "is not a valid number of the 980-999 test range";
            break;
        }
        slot = (999ul - (unsigned long)((nhs[0] - '0') * 100 + (nhs[1] - '0') * 10 +
                                        (nhs[2] - '0'))) *
                   1000000ul +
               strtoul(nhs + 3, NULL, 10) / 10;
        if (seen[slot / 8] & (1u << (slot % 8)))
            bad = i, why = "repeats an earlier one";
        seen[slot / 8] |= (unsigned char)(1u << (slot % 8));
    }
    ck_assert_msg(bad == UINT64_MAX, "number %llu of the sequence %s",
                  (unsigned long long)bad, why);
    free(seen);
}
END_TEST

static cse_extract *extract_for(const char *ods)
{
    cse_extract_options o = {0};
    o.practice_ods = ods;
    o.period_start = test_day(2025, 1, 1);
    o.period_end = test_day(2025, 3, 31);
    o.quiet = 1;
    o.signing_key = testkeys()->sign; /* every partial is signed */
    return cse_extract_new(&o, NULL);
}

static void add_patient(cse_extract *x, const char *id, const char *gp)
{
    char line[600];
    int n;
    if (gp != NULL)
        n = snprintf(
            line, sizeof(line),
            "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"birthDate\":\"2012-"
            "01-01\",\"generalPractitioner\":[{\"identifier\":{\"system\":\"%s\","
            "\"value\":\"%s\"}}]}",
            id, CSE_FHIR_ODS, gp);
    else
        n = snprintf(line, sizeof(line),
                     "{\"resourceType\":\"Patient\",\"id\":\"%s\",\"birthDate\":\"2012-"
                     "01-01\"}",
                     id);
    ck_assert_int_eq(cse_extract_add_resource_json(x, line, (size_t)n, "t", 1, NULL),
                     CSE_OK);
}

/* A wrong --practice counted no child and listed every flagged child as
 * "left": refused, naming the practice the data holds. */
START_TEST(test_report_extract_refuses_practice_the_data_does_not_name)
{
    cse_extract *x = extract_for("Y00001");
    cse_extract_stats st;
    cse_error err;
    FILE *out = tmpfile();

    ck_assert_ptr_nonnull(x);
    ck_assert_ptr_nonnull(out);
    add_patient(x, "a", "Y00002");
    add_patient(x, "b", "Y00002");
    add_patient(x, "c", "Y00003");
    cse_error_clear(&err);
    ck_assert_int_eq(cse_extract_write_partial(x, out, &err), CSE_ERR_STRUCTURE);
    ck_assert_msg(strstr(err.message, "Y00001") != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "most often Y00002") != NULL, "%s", err.message);
    ck_assert_str_eq(err.path, "Patient.generalPractitioner");
    fflush(out);
    ck_assert_int_eq(ftell(out), 0); /* nothing written */
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_ERR_STRUCTURE);
    cse_extract_free(x);
    fclose(out);

    /* One Patient naming the practice is enough (the others left). */
    x = extract_for("Y00001");
    add_patient(x, "a", "Y00002");
    add_patient(x, "b", "Y00001");
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_OK);
    ck_assert_uint_eq(st.registered_children, 1);
    cse_extract_free(x);

    /* The practice's own export, naming no practice at all, is counted. */
    x = extract_for("Y00001");
    add_patient(x, "a", NULL);
    add_patient(x, "b", NULL);
    ck_assert_int_eq(cse_extract_get_stats(x, &st, NULL), CSE_OK);
    ck_assert_uint_eq(st.registered_children, 2);
    cse_extract_free(x);
}
END_TEST

/* The funnel-plot limits are the exact binomial limits with Spiegelhalter's
 * interpolation (values from a direct summation of the binomial), and tend to
 * the normal approximation p0 +- z sqrt(p0 (1 - p0) / n) as n grows. */
START_TEST(test_report_funnel_limits_are_exact_binomial)
{
    static const struct {
        double p0;
        uint64_t n;
        double q, want;
    } cases[] = {{0.5, 100, 0.025, 0.396824041726007},
                 {0.5, 100, 0.975, 0.5931759582739929},
                 {0.05, 400, 0.001, 0.01836605547453644},
                 {0.05, 400, 0.999, 0.08548532971102679},
                 {0.03, 20, 0.025, 0.0},
                 {0.9, 50, 0.999, 0.9961193495650348}};
    double prev_lo = 0, prev_hi = 1;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        double got = cse__funnel_limit(cases[i].p0, cases[i].n, cases[i].q);
        ck_assert_msg(fabs(got - cases[i].want) < 1e-9,
                      "p0 %g n %llu q %g: %.12f, want %.12f", cases[i].p0,
                      (unsigned long long)cases[i].n, cases[i].q, got, cases[i].want);
    }
    for (uint64_t n = 10; n <= 1000000; n *= 10) {
        double lo = cse__funnel_limit(0.04, n, 0.001),
               hi = cse__funnel_limit(0.04, n, 0.999);
        double sd = sqrt(0.04 * 0.96 / (double)n);
        ck_assert(lo >= prev_lo && hi <= prev_hi && lo <= 0.04 && hi >= 0.04);
        if (n >= 10000)
            ck_assert_msg(
                fabs(lo - (0.04 - 3.090232 * sd)) < 0.05 * sd + 1.0 / (double)n &&
                    fabs(hi - (0.04 + 3.090232 * sd)) < 0.05 * sd + 1.0 / (double)n,
                "n %llu: %f..%f", (unsigned long long)n, lo, hi);
        prev_lo = lo;
        prev_hi = hi;
    }
    /* Degenerate rates: the limits collapse onto them. */
    ck_assert(cse__funnel_limit(0.0, 100, 0.999) == 0.0);
    ck_assert(cse__funnel_limit(1.0, 100, 0.001) == 1.0);
    ck_assert(cse__funnel_limit(0.3, 0, 0.5) == 0.0);
}
END_TEST

/* The tail probabilities that decide "outside the limits": a practice at
 * 100% of 50 when the ICS rate is 99% is ordinary (P = 0.605), which a
 * comparison with the interpolated limit (just below 1) would call unusual. */
START_TEST(test_report_binomial_tails)
{
    ck_assert(fabs(cse__binomial_tail(0.5, 100, 39, 0) - 0.017600100108852407) < 1e-12);
    ck_assert(fabs(cse__binomial_tail(0.99, 50, 50, 1) - 0.6050060671375364) < 1e-12);
    ck_assert(fabs(cse__binomial_tail(0.05, 400, 37, 1) - 0.00028806034771122757) <
              1e-12);
    ck_assert(fabs(cse__binomial_tail(0.05, 400, 6, 0) - 0.00019647903100894698) < 1e-12);
    ck_assert(cse__funnel_limit(0.99, 50, 0.999) < 1.0); /* why the tails decide */
    ck_assert(cse__binomial_tail(0.3, 10, 0, 1) == 1.0);
    ck_assert(cse__binomial_tail(0.3, 10, 11, 0) == 1.0);
    ck_assert(cse__binomial_tail(0.0, 10, 0, 0) == 1.0);
}
END_TEST

Suite *make_report_output_suite(void)
{
    Suite *s = suite_create("report_output");
    TCase *tc = tcase_create("core");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_report_synth_nhs_numbers_never_repeat);
    tcase_add_test(tc, test_report_extract_refuses_practice_the_data_does_not_name);
    tcase_add_test(tc, test_report_funnel_limits_are_exact_binomial);
    tcase_add_test(tc, test_report_binomial_tails);
    suite_add_tcase(s, tc);
    return s;
}
