/* SPDX-License-Identifier: MIT */
/* The report as one self-contained HTML page: no external requests (no
 * scripts, styles, fonts or images from elsewhere), inline SVG charts, a
 * small inline script to highlight one practice everywhere.
 *
 * The page serves the consultation of Recommendation 46: whom to consult.
 * Per measure, for the latest period, a funnel plot of each practice's rate
 * against its denominator with 95% and 99.8% control limits around the ICS
 * rate, and the practices outside the limits listed first; then every
 * practice ranked, the trend per period (in order of period end) and the
 * table of published counts. Everything is drawn from the published
 * (protected) counts. A chart that would be empty is replaced by a sentence
 * that says why.
 *
 * Control limits: exact binomial limits around the ICS proportion, with the
 * interpolation between the discrete binomial quantiles of Spiegelhalter,
 * "Funnel plots for comparing institutional performance", Statistics in
 * Medicine 2005;24:1185-1202 (Appendix A.1.1), the method of the Public
 * Health England / APHO funnel-plot tools (APHO Technical Briefing 2,
 * "Statistical process control methods in public health intelligence",
 * 2008): 95% limits at the 2.5% and 97.5% quantiles, 99.8% limits at the
 * 0.1% and 99.9% quantiles. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "report_internal.h"

static const char *const titles[CSE_MEASURE_COUNT] = {
    "Children with a CSE marker",
    "Active markers labelled NOPAT",
    "Active markers past their review date",
    "Active markers with a standard SNOMED CT code",
    "Children possibly unflagged",
    "Markers that survived GP2GP transfer"};

static const char *const explain[CSE_MEASURE_COUNT] = {
    "Registered children (under 18 at the end of the period) with an active CSE marker, "
    "of all registered children.",
    "Active markers carrying the NOPAT label in every form (Flag and Observation), of "
    "all active markers. Without it the marker may show in online access.",
    "Active markers whose review date is before the end of the period, of all active "
    "markers.",
    "Active markers coded with a concept id from the marker ValueSet, of all active "
    "markers.",
    "Registered children with a related safeguarding code but no active marker, of all "
    "registered children.",
    "Children who arrived by GP2GP having left their previous practice with an active "
    "marker, and whose record here still has it, of all such arrivals."};

/* Which side of the ICS rate calls for a conversation first: a low coverage,
 * labelling, coding or survival rate; a high overdue or unflagged rate. */
static const int low_is_worse[CSE_MEASURE_COUNT] = {1, 1, 0, 1, 0, 1};

struct period {
    cse_time start, end;
};

/* Where each practice stands against the funnel's limits. */
enum standing {
    OUT_998_WORSE = 0,
    OUT_998_BETTER,
    OUT_95_WORSE,
    OUT_95_BETTER,
    WITHIN,
    UNPUBLISHED
};

static const char *const standing_text[] = {
    "outside the 99.8% limits", "outside the 99.8% limits", "outside the 95% limits",
    "outside the 95% limits",   "within the limits",        "not published"};

struct page {
    const cse_report_row *rows;
    size_t n;
    char (*odss)[16];
    size_t n_ods;
    struct period *per;
    size_t n_per;
    /* idx[(m * n_per + t) * (n_ods + 1) + i]: the row of measure m, period t
     * and practice i (i == n_ods: the total), or NULL. */
    const cse_report_row **idx;
};

static const cse_report_row *row_at(const struct page *pg, size_t m, size_t t, size_t i)
{
    return pg->idx[(m * pg->n_per + t) * (pg->n_ods + 1) + i];
}

static void esc(FILE *out, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<': fputs("&lt;", out); break;
        case '>': fputs("&gt;", out); break;
        case '&': fputs("&amp;", out); break;
        case '"': fputs("&quot;", out); break;
        default: fputc(*s, out);
        }
    }
}

static void count_html(FILE *out, int64_t v)
{
    if (v == CSE_REPORT_NOT_MEASURED)
        fputs("<span class=nm>not measured</span>", out);
    else if (v == CSE_REPORT_NOT_PUBLISHED)
        fputs("<span class=nm>not published</span>", out);
    else if (v < 0)
        fputs("<span class=red>[REDACTED]</span>", out);
    else
        fprintf(out, "%lld", (long long)v);
}

static int dbl_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double quantile(const double *v, size_t n, double q)
{
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double frac = pos - (double)lo;

    if (lo + 1 >= n)
        return v[n - 1];
    return v[lo] + (v[lo + 1] - v[lo]) * frac;
}

static double nice_max(double m)
{
    static const double steps[] = {0.001, 0.002, 0.005, 0.01, 0.02, 0.05,
                                   0.1,   0.2,   0.25,  0.5,  0.75, 1.0};
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
        if (m <= steps[i])
            return steps[i];
    return 1.0;
}

/* Periods in the order a reader expects: by end, then by start. */
static int period_cmp(const struct period *a, const struct period *b)
{
    int c = cse_time_compare(&a->end, &b->end);
    return c != 0 ? c : cse_time_compare(&a->start, &b->start);
}

double cse__funnel_limit(double p0, uint64_t n, double q)
{
    double mode, v, f = 0, odds;
    uint64_t k, r;

    if (n == 0 || !(p0 > 0.0))
        return 0.0;
    if (p0 >= 1.0)
        return 1.0;
    /* The binomial probabilities from the mode outwards (the tails beyond
     * 1e-18 of the mode's weight are negligible), so the cost grows with
     * the standard deviation, not with n. */
    mode = floor((double)(n + 1) * p0);
    if (mode > (double)n)
        mode = (double)n;
    v = exp(lgamma((double)n + 1) - lgamma(mode + 1) - lgamma((double)n - mode + 1) +
            mode * log(p0) + ((double)n - mode) * log1p(-p0));
    odds = p0 / (1.0 - p0);
    for (k = (uint64_t)mode; k > 0 && v > 1e-18; k--)
        v *= (double)k / ((double)(n - k) + 1.0) / odds;
    /* r_q: the smallest r with P(R <= r) >= q; then interpolate. */
    for (r = k;; r++) {
        f += v;
        if (f >= q || r == n)
            break;
        v *= (double)(n - r) / (double)(r + 1) * odds;
    }
    if (v > 0)
        v = ((double)r - (f - q) / v) / (double)n;
    else
        v = (double)r / (double)n;
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

/* The control limits at denominator n: lo95, hi95, lo998, hi998. */
static void limits(double p0, uint64_t n, double out[4])
{
    out[0] = cse__funnel_limit(p0, n, 0.025);
    out[1] = cse__funnel_limit(p0, n, 0.975);
    out[2] = cse__funnel_limit(p0, n, 0.001);
    out[3] = cse__funnel_limit(p0, n, 0.999);
}

double cse__binomial_tail(double p0, uint64_t n, uint64_t x, int upper)
{
    double mode, v, below = 0, odds;
    uint64_t k;

    if (x > n)
        return upper ? 0.0 : 1.0;
    if (upper && x == 0)
        return 1.0;
    if (!(p0 > 0.0))
        return upper ? 0.0 : 1.0;
    if (p0 >= 1.0)
        return upper ? 1.0 : (x == n ? 1.0 : 0.0);
    /* P(X <= y), y = x for the lower tail and x - 1 for the upper one. */
    if (upper)
        x--;
    mode = floor((double)(n + 1) * p0);
    if (mode > (double)n)
        mode = (double)n;
    v = exp(lgamma((double)n + 1) - lgamma(mode + 1) - lgamma((double)n - mode + 1) +
            mode * log(p0) + ((double)n - mode) * log1p(-p0));
    odds = p0 / (1.0 - p0);
    for (k = (uint64_t)mode; k > 0 && v > 1e-300; k--)
        v *= (double)k / ((double)(n - k) + 1.0) / odds;
    for (; k <= x; k++) {
        below += v;
        if (k == n)
            break;
        v *= (double)(n - k) / (double)(k + 1) * odds;
    }
    below = below > 1.0 ? 1.0 : below;
    return upper ? 1.0 - below : below;
}

/* A practice is outside a limit when a count at least as extreme as its
 * own is that unlikely under the ICS rate (the tail probability of its
 * published numerator); the drawn limits are the same quantiles, smoothed.
 * Judging by the discrete tails means a practice at 100% of a small
 * denominator is never called unusual when the ICS rate is 99%. */
static enum standing stand(const cse_report_row *r, double p0, size_t m)
{
    double lo, hi;
    int low;

    if (r == NULL || r->ratio < 0 || r->denominator <= 0 || r->numerator < 0)
        return UNPUBLISHED;
    lo = cse__binomial_tail(p0, (uint64_t)r->denominator, (uint64_t)r->numerator, 0);
    hi = cse__binomial_tail(p0, (uint64_t)r->denominator, (uint64_t)r->numerator, 1);
    low = r->ratio < p0;
    if ((low && lo < 0.001) || (!low && hi < 0.001))
        return low == low_is_worse[m] ? OUT_998_WORSE : OUT_998_BETTER;
    if ((low && lo < 0.025) || (!low && hi < 0.025))
        return low == low_is_worse[m] ? OUT_95_WORSE : OUT_95_BETTER;
    return WITHIN;
}

#define W 640
#define H 300
#define ML 56
#define MR 16
#define MT 16
#define MB 52

static void y_axis(FILE *out, double ymax, int h)
{
    for (int k = 0; k <= 4; k++) {
        double y = MT + (h - MT - MB) * (1.0 - k / 4.0);
        fprintf(
            out,
            "<line class=grid x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=axis x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f%%</text>\n",
            ML, W - MR, y, y, ML - 6, y + 4, 100.0 * ymax * k / 4.0);
    }
}

/* The funnel plot of period t: each practice's rate against its denominator,
 * the ICS rate p0 and its 95% and 99.8% limits. */
static void funnel_chart(FILE *out, const struct page *pg, size_t m, size_t t, double p0)
{
    double xmax = 0, ymax = p0, l[4];
    char label[32];
    int ph = H - MT - MB, pw = W - ML - MR;

    for (size_t i = 0; i < pg->n_ods; i++) {
        const cse_report_row *r = row_at(pg, m, t, i);
        if (r != NULL && r->ratio >= 0 && r->denominator > 0) {
            if ((double)r->denominator > xmax)
                xmax = (double)r->denominator;
            if (r->ratio > ymax)
                ymax = r->ratio;
        }
    }
    xmax *= 1.08;
    /* Room for the upper 99.8% limit over most of the range. */
    limits(p0, (uint64_t)(xmax / 8 + 1), l);
    if (l[3] > ymax)
        ymax = l[3];
    ymax = nice_max(ymax * 1.05 > 0 ? ymax * 1.05 : 0.01);
    fprintf(out,
            "<svg class=\"chart funnel\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\"><title>Funnel plot, period ending %s: %s</title>\n",
            W, H, W, H, cse_time_format_fhir_date(&pg->per[t].end, label, sizeof(label)),
            cse_measure_name(m));
    y_axis(out, ymax, H);
    {
        /* Ticks at round numbers: 1, 2 or 5 times a power of ten. */
        double step = pow(10, floor(log10(xmax / 4)));
        if (xmax / step > 20)
            step *= 5;
        else if (xmax / step > 8)
            step *= 2;
        for (double v = 0; v <= xmax; v += step)
            fprintf(out,
                    "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f"
                    "</text>\n",
                    ML + pw * v / xmax, H - MB + 16, v);
    }
    fprintf(out,
            "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">denominator "
            "(published)</text>\n",
            ML + pw / 2.0, H - MB + 34);
    /* The limits: dashed 95%, dotted 99.8%, drawn from n = 1 (a square-root
     * spacing puts more points where the funnel is narrow and curved). */
    for (int li = 0; li < 4; li++) {
        static const double qs[4] = {0.025, 0.975, 0.001, 0.999};
        int started = 0;
        fprintf(out, "<path class=\"limit %s\" d=\"", li < 2 ? "l95" : "l998");
        for (int s = 0; s <= 120; s++) {
            double frac = (double)s / 120.0, nx = xmax * frac * frac, y;
            uint64_t n = (uint64_t)(nx + 0.5);
            if (n < 1)
                continue;
            y = cse__funnel_limit(p0, n, qs[li]);
            if (y > ymax)
                y = ymax;
            fprintf(out, "%s%.1f %.1f", started ? " L" : "M", ML + pw * (double)n / xmax,
                    MT + ph * (1.0 - y / ymax));
            started = 1;
        }
        fprintf(out, "\"><title>%s control limit</title></path>\n",
                li < 2 ? "95%" : "99.8%");
    }
    fprintf(out,
            "<line class=\"ics\" x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"><title>ICS "
            "rate %.1f%%</title></line>\n",
            ML, W - MR, MT + ph * (1.0 - p0 / ymax), MT + ph * (1.0 - p0 / ymax),
            100.0 * p0);
    for (size_t i = 0; i < pg->n_ods; i++) {
        const cse_report_row *r = row_at(pg, m, t, i);
        enum standing st = stand(r, p0, m);
        double x, y;
        if (st == UNPUBLISHED)
            continue;
        x = ML + pw * (double)r->denominator / xmax;
        y = MT + ph * (1.0 - r->ratio / ymax);
        fprintf(out,
                "<circle class=\"dot s%d\" data-practice=\"%s\" cx=\"%.1f\" cy=\"%.1f\" "
                "r=\"4\"><title>%s: %lld / %lld (%.1f%%), %s</title></circle>\n",
                (int)st, pg->odss[i], x, y, pg->odss[i], (long long)r->numerator,
                (long long)r->denominator, 100.0 * r->ratio, standing_text[st]);
        /* Only the practices outside the 99.8% limits are named on the plot,
         * so that the labels stay readable with a hundred practices. */
        if (st == OUT_998_WORSE || st == OUT_998_BETTER)
            fprintf(out, "<text class=\"dotlabel\" x=\"%.1f\" y=\"%.1f\">%s</text>\n",
                    x + 6, y - 5, pg->odss[i]);
    }
    fputs("</svg>\n", out);
}

struct ranked {
    size_t i;
    double ratio; /* the rate, negated where a high rate is the worse side */
    enum standing st;
};

static int ranked_cmp(const void *a, const void *b)
{
    const struct ranked *x = a, *y = b;
    if (x->st != y->st)
        return x->st < y->st ? -1 : 1;
    if (x->ratio != y->ratio)
        return x->ratio < y->ratio ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Every practice as one row of a horizontal bar chart, ranked by rate, so
 * that every label is readable however many practices there are. */
static void ranked_chart(FILE *out, const struct page *pg, size_t m, size_t t, double p0,
                         const struct ranked *rk, size_t n_rk, double ymax)
{
    const int row = 14, lw = 70;
    int h = MT + row * (int)n_rk + 30, pw = W - lw - MR;
    char label[32];

    fprintf(out,
            "<svg class=\"chart bars\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\"><title>Practices ranked, period ending %s: %s</title>\n",
            W, h, W, h, cse_time_format_fhir_date(&pg->per[t].end, label, sizeof(label)),
            cse_measure_name(m));
    for (int k = 0; k <= 4; k++) {
        double x = lw + pw * k / 4.0;
        fprintf(
            out,
            "<line class=grid x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"/>"
            "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.1f%%</text>\n",
            x, x, MT - 4, h - 26, x, h - 12, 100.0 * ymax * k / 4.0);
    }
    for (size_t k = 0; k < n_rk; k++) {
        const cse_report_row *r = row_at(pg, m, t, rk[k].i);
        double y = MT + row * (double)k, w;
        fprintf(out,
                "<text class=axis x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
                lw - 6, y + row - 4, pg->odss[rk[k].i]);
        if (rk[k].st == UNPUBLISHED) {
            fprintf(
                out,
                "<text class=\"na\" data-practice=\"%s\" x=\"%d\" y=\"%.1f\">%s</text>\n",
                pg->odss[rk[k].i], lw + 4, y + row - 4,
                r != NULL && r->denominator == CSE_REPORT_NOT_MEASURED ? "not measured"
                                                                       : "not published");
            continue;
        }
        w = pw * r->ratio / ymax;
        fprintf(out,
                "<rect class=\"bar s%d\" data-practice=\"%s\" x=\"%d\" y=\"%.1f\" "
                "width=\"%.1f\" height=\"%d\"><title>%s: %.1f%%, %s</title></rect>\n",
                (int)rk[k].st, pg->odss[rk[k].i], lw, y + 2, w > 0.5 ? w : 0.5, row - 4,
                pg->odss[rk[k].i], 100.0 * r->ratio, standing_text[rk[k].st]);
    }
    if (p0 >= 0)
        fprintf(
            out,
            "<line class=\"ics\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%d\" y2=\"%d\"><title>ICS "
            "rate %.1f%%</title></line>\n",
            lw + pw * p0 / ymax, lw + pw * p0 / ymax, MT - 4, h - 26, 100.0 * p0);
    fputs("</svg>\n", out);
}

/* The trend: deciles of the practices' rates per period (median solid, the
 * others dashed) and the ICS rate, periods in order of their end. */
static void trend_chart(FILE *out, const struct page *pg, size_t m, double ymax)
{
    double *vals = malloc((pg->n_ods ? pg->n_ods : 1) * sizeof(double));
    double *xs = malloc(pg->n_per * sizeof(double));
    char a[32], b[32];
    size_t every = pg->n_per / 8 + 1;

    if (vals == NULL || xs == NULL) {
        free(vals);
        free(xs);
        return;
    }
    fprintf(
        out,
        "<svg class=\"chart deciles\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
        "height=\"%d\"><title>Deciles across practices over time: %s</title>\n",
        W, H, W, H, cse_measure_name(m));
    y_axis(out, ymax, H);
    for (size_t t = 0; t < pg->n_per; t++) {
        xs[t] = ML + 30 + (W - MR - ML - 60) * (double)t / (double)(pg->n_per - 1);
        if (t % every == 0 || t == pg->n_per - 1)
            fprintf(
                out,
                "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s<title>%s "
                "to %s</title></text>\n",
                xs[t], H - MB + 18,
                cse_time_format_fhir_date(&pg->per[t].end, b, sizeof(b)),
                cse_time_format_fhir_date(&pg->per[t].start, a, sizeof(a)), b);
    }
    for (int d = 1; d <= 9; d++) {
        int started = 0;
        fprintf(out, "<path class=\"decile%s\" d=\"", d == 5 ? " median" : "");
        for (size_t t = 0; t < pg->n_per; t++) {
            size_t k = 0;
            for (size_t i = 0; i < pg->n_ods; i++) {
                const cse_report_row *r = row_at(pg, m, t, i);
                if (r != NULL && r->ratio >= 0)
                    vals[k++] = r->ratio;
            }
            if (k == 0)
                continue;
            qsort(vals, k, sizeof(double), dbl_cmp);
            fprintf(out, "%s%.1f %.1f", started ? " L" : "M", xs[t],
                    MT + (H - MT - MB) * (1.0 - quantile(vals, k, d / 10.0) / ymax));
            started = 1;
        }
        fprintf(out, "\"><title>%s</title></path>\n",
                d == 5 ? "median of the practices" : "decile");
    }
    {
        int started = 0;
        fputs("<path class=\"total\" d=\"", out);
        for (size_t t = 0; t < pg->n_per; t++) {
            const cse_report_row *r = row_at(pg, m, t, pg->n_ods);
            if (r == NULL || r->ratio < 0)
                continue;
            fprintf(out, "%s%.1f %.1f", started ? " L" : "M", xs[t],
                    MT + (H - MT - MB) * (1.0 - r->ratio / ymax));
            started = 1;
        }
        fputs("\"><title>ICS total</title></path>\n", out);
    }
    for (size_t i = 0; i < pg->n_ods; i++) {
        int started = 0;
        fprintf(out, "<path class=\"practice\" data-practice=\"%s\" d=\"", pg->odss[i]);
        for (size_t t = 0; t < pg->n_per; t++) {
            const cse_report_row *r = row_at(pg, m, t, i);
            if (r == NULL || r->ratio < 0)
                continue;
            fprintf(out, "%s%.1f %.1f", started ? " L" : "M", xs[t],
                    MT + (H - MT - MB) * (1.0 - r->ratio / ymax));
            started = 1;
        }
        fprintf(out, "\"><title>%s</title></path>\n", pg->odss[i]);
    }
    fputs("</svg>\n", out);
    free(vals);
    free(xs);
}

/* How many periods have at least one published practice rate. */
/* The practice-periods of measure m that are not measured (the transfer
 * measure without an ICS-wide linked partial). */
static size_t cells_not_measured(const struct page *pg, size_t m)
{
    size_t k = 0;
    for (size_t t = 0; t < pg->n_per; t++)
        for (size_t i = 0; i < pg->n_ods; i++) {
            const cse_report_row *r = row_at(pg, m, t, i);
            k += r != NULL && r->denominator == CSE_REPORT_NOT_MEASURED;
        }
    return k;
}

/* Why the total r (of the period shown) has no published rate. */
static const char *no_rate_why(const cse_report_row *r)
{
    if (r != NULL && r->denominator == CSE_REPORT_NOT_MEASURED)
        return "this measure is not measured: there is no ICS-wide linked partial "
               "(cse-report link) for this period, and transfers linked from only the "
               "partials at hand would differ between reports";
    if (r != NULL && r->denominator == CSE_REPORT_NOT_PUBLISHED)
        return "no ICS total is published: the report does not cover every practice of "
               "the ICS registry for this period, and a total of a chosen subset of "
               "practices could be differenced with other reports to recover a redacted "
               "cell";
    return "the ICS total has no published rate (no denominator, or redacted counts)";
}

static size_t periods_with_rates(const struct page *pg, size_t m)
{
    size_t k = 0;
    for (size_t t = 0; t < pg->n_per; t++)
        for (size_t i = 0; i < pg->n_ods; i++) {
            const cse_report_row *r = row_at(pg, m, t, i);
            if (r != NULL && r->ratio >= 0) {
                k++;
                break;
            }
        }
    return k;
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:72em;padding:0 1em;color:#212b32;line-height:1.4}"
    "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d8dde0}"
    "h3{font-size:1.05em;margin:1.2em 0 .4em}"
    ".banner{padding:.8em 1em;border-left:6px solid #005eb8;background:#eef7ff}"
    ".unprotected{border-color:#d5281b;background:#fde8e6;font-weight:bold}"
    "table{border-collapse:collapse;font-size:.85em;margin:1em 0}"
    ".scroll{overflow-x:auto;max-width:100%}"
    "td,th{border:1px solid #d8dde0;padding:.2em .5em;text-align:right}"
    "th:first-child,td:first-child,td.l{text-align:left}"
    "tr.hl td{background:#fff9c4}tr.total td{font-weight:bold}"
    "tr.s0 td,tr.s1 td{background:#fde8e6}tr.s2 td,tr.s3 td{background:#fff4e5}"
    ".red{color:#8a1538}.nm{color:#4c6272;font-style:italic}.charts{display:flex;flex-"
    "wrap:wrap;gap:1em}"
    ".chart{max-width:100%;height:auto;background:#fff}"
    ".grid{stroke:#e8edee}.axis{font-size:10px;fill:#4c6272}"
    ".decile{fill:none;stroke:#005eb8;stroke-width:1;stroke-dasharray:4 3}"
    ".decile.median{stroke-width:2.5;stroke-dasharray:none}"
    ".total{fill:none;stroke:#212b32;stroke-width:1.5}"
    ".practice{fill:none;stroke:none}"
    ".practice.hl{stroke:#d5281b;stroke-width:2.5}"
    ".limit{fill:none;stroke:#768692;stroke-width:1.2}"
    ".l95{stroke-dasharray:5 3}.l998{stroke-dasharray:1.5 2.5;stroke-width:1.6}"
    ".ics{stroke:#212b32;stroke-width:1.5}"
    ".dot{fill:#41b6e6;stroke:#005eb8;stroke-width:.8}"
    ".dot.s0,.dot.s1{fill:#d5281b;stroke:#8a1538}.dot.s2,.dot.s3{fill:#ffb81c}"
    ".dot.hl{stroke:#212b32;stroke-width:2.5}"
    ".dotlabel{font-size:10px;fill:#8a1538}"
    ".bar{fill:#41b6e6}.bar.s0,.bar.s1{fill:#d5281b}.bar.s2,.bar.s3{fill:#ffb81c}"
    ".bar.hl{fill:#212b32}.na{fill:#768692;font-size:10px}"
    "select{font-size:1em}figure{margin:0;flex:1 1 28em;min-width:0}"
    "figcaption{font-size:.8em;color:#4c6272}.note{color:#4c6272;font-style:italic}";

static const char script[] =
    "(function(){var s=document.getElementById('hl');"
    "function hl(v){document.querySelectorAll('[data-practice]').forEach(function(e){"
    "e.classList.toggle('hl',e.getAttribute('data-practice')===v);});}"
    "s.addEventListener('change',function(){hl(s.value);});"
    "document.querySelectorAll('[data-practice]').forEach(function(e){"
    "e.addEventListener('click',function(){s.value=e.getAttribute('data-practice');"
    "hl(s.value);});});"
    "if(location.hash.length>1){s.value=location.hash.slice(1);hl(s.value);}})();";

static int ods_cmp(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* The practices outside the limits, listed first, then the others. */
static void consult_table(FILE *out, const struct page *pg, size_t m, size_t t, double p0,
                          const struct ranked *rk, size_t n_rk)
{
    fputs("<div class=\"scroll\"><table class=\"consult\"><thead><tr><th>Practice</th>"
          "<th>Numerator / denominator</th><th>Rate</th><th>Against the ICS rate</th>"
          "</tr></thead><tbody>\n",
          out);
    for (size_t k = 0; k < n_rk; k++) {
        const cse_report_row *r = row_at(pg, m, t, rk[k].i);
        const char *ods = pg->odss[rk[k].i];
        fprintf(out, "<tr class=\"s%d\" data-practice=\"%s\"><td>%s</td><td>",
                (int)rk[k].st, ods, ods);
        if (r != NULL) {
            count_html(out, r->numerator);
            fputs(" / ", out);
            count_html(out, r->denominator);
        }
        fputs("</td><td>", out);
        if (r != NULL && r->ratio >= 0)
            fprintf(out, "%.1f%%", 100.0 * r->ratio);
        fputs("</td><td class=l>", out);
        if (rk[k].st == UNPUBLISHED && r != NULL &&
            r->denominator == CSE_REPORT_NOT_MEASURED)
            fputs("not compared (not measured)", out);
        else if (rk[k].st == UNPUBLISHED)
            fputs("not compared (no published rate)", out);
        else if (rk[k].st == WITHIN || p0 < 0)
            fputs("within the 95% limits", out);
        else
            fprintf(out, "%s, %s the ICS rate%s", standing_text[rk[k].st],
                    r->ratio < p0 ? "below" : "above",
                    rk[k].st == OUT_998_WORSE || rk[k].st == OUT_95_WORSE
                        ? " (the side to discuss first)"
                        : "");
        fputs("</td></tr>\n", out);
    }
    fputs("</tbody></table></div>\n", out);
}

cse_code cse__report_html(const cse_partial *p, const cse_report_options *opt,
                          const cse_report_row *rows, size_t n, FILE *out, cse_error *err)
{
    struct page pg;
    struct ranked *rk = NULL;
    unsigned thr = opt->threshold ? opt->threshold : CSE_SDC_THRESHOLD_DEFAULT;
    unsigned base = opt->base ? opt->base : CSE_SDC_BASE_DEFAULT;
    char a[32], b[32];
    cse_code rc = CSE_OK;
    size_t last;

    memset(&pg, 0, sizeof(pg));
    pg.rows = rows;
    pg.n = n;
    pg.odss = calloc(p->n + 1, sizeof(*pg.odss));
    pg.per = calloc(p->n + 1, sizeof(*pg.per));
    rk = calloc(p->n + 1, sizeof(*rk));
    if (pg.odss == NULL || pg.per == NULL || rk == NULL)
        goto nomem;
    /* The practices (sorted) and the periods (by end, then start). */
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        struct period pe;
        size_t k;
        if (bsearch(c->practice, pg.odss, pg.n_ods, sizeof(*pg.odss), ods_cmp) == NULL) {
            memcpy(pg.odss[pg.n_ods++], c->practice, 16);
            qsort(pg.odss, pg.n_ods, sizeof(*pg.odss), ods_cmp);
        }
        pe.start = c->start;
        pe.end = c->end;
        for (k = 0; k < pg.n_per; k++)
            if (period_cmp(&pg.per[k], &pe) == 0)
                break;
        if (k == pg.n_per) {
            size_t j = pg.n_per++;
            while (j > 0 && period_cmp(&pg.per[j - 1], &pe) > 0) {
                pg.per[j] = pg.per[j - 1];
                j--;
            }
            pg.per[j] = pe;
        }
    }
    if (pg.n_per == 0) {
        rc = cse__error_set(err, CSE_ERR_STRUCTURE, 0, "", "", "nothing to report");
        goto out;
    }
    pg.idx = calloc(CSE_MEASURE_COUNT * pg.n_per * (pg.n_ods + 1), sizeof(*pg.idx));
    if (pg.idx == NULL)
        goto nomem;
    for (size_t k = 0; k < n; k++) {
        const cse_report_row *r = &rows[k];
        struct period pe = {r->start, r->end};
        char(*o)[16] = NULL;
        size_t m, t, i;
        for (m = 0; m < CSE_MEASURE_COUNT && r->measure != cse_measure_name(m); m++)
            ;
        for (t = 0; t < pg.n_per && period_cmp(&pg.per[t], &pe) != 0; t++)
            ;
        if (strcmp(r->practice, "ALL") == 0)
            i = pg.n_ods;
        else if ((o = bsearch(r->practice, pg.odss, pg.n_ods, sizeof(*pg.odss),
                              ods_cmp)) != NULL)
            i = (size_t)(o - pg.odss);
        else
            continue;
        if (m < CSE_MEASURE_COUNT && t < pg.n_per)
            pg.idx[(m * pg.n_per + t) * (pg.n_ods + 1) + i] = r;
    }
    last = pg.n_per - 1;

    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>CSE marker report</title><style>",
          out);
    fputs(style, out);
    fputs("</style></head>\n<body>\n<h1>CSE marker report</h1>\n", out);
    fprintf(out,
            "<p>%zu practices, %zu period%s from %s to %s. Made by csemarker %s.</p>\n",
            pg.n_ods, pg.n_per, pg.n_per == 1 ? "" : "s",
            cse_time_format_fhir_date(&pg.per[0].start, a, sizeof(a)),
            cse_time_format_fhir_date(&pg.per[last].end, b, sizeof(b)), cse_version());
    if (opt->no_disclosure_control)
        fputs("<p class=\"banner unprotected\" id=\"unprotected\">UNPROTECTED: these are "
              "raw counts without disclosure control. Do not publish or share this "
              "page.</p>\n",
              out);
    else
        fprintf(out,
                "<p class=\"banner\" id=\"protected\">Disclosure control applied: counts "
                "from 1 to %u are shown as [REDACTED], other counts are rounded to the "
                "nearest %u, a numerator is also redacted when its difference from the "
                "denominator would be 1 to %u, ratios use the published counts, and each "
                "total is computed from every practice's true counts (those redacted "
                "too) and then protected in the same way; a total is published only when "
                "the report covers every practice of the ICS registry for the period. "
                "The transfer measure comes only from the ICS-wide linked counts; "
                "without them it is shown as not measured.</p>\n",
                thr, base, thr);
    fprintf(out,
            "<p>Whom to consult (Recommendation 46): for each measure, a funnel plot "
            "compares each practice's rate in the latest period (%s to %s) with the ICS "
            "rate, allowing for its size: 95%% and 99.8%% control limits (exact binomial "
            "limits, Spiegelhalter 2005, as in the Public Health England funnel-plot "
            "tools). A practice outside the 99.8%% limits differs from the ICS by more "
            "than chance would explain about 998 times in 1000. The practices outside "
            "the limits are listed first. Rates come from the published (rounded) "
            "counts, so a practice near a limit may sit on the other side of it.</p>\n",
            cse_time_format_fhir_date(&pg.per[last].start, a, sizeof(a)),
            cse_time_format_fhir_date(&pg.per[last].end, b, sizeof(b)));
    fputs("<p><label for=\"hl\">Highlight a practice: </label><select id=\"hl\">"
          "<option value=\"\">(none)</option>",
          out);
    for (size_t i = 0; i < pg.n_ods; i++)
        fprintf(out, "<option>%s</option>", pg.odss[i]);
    fputs("</select></p>\n", out);
    /* The summary: who is outside the 99.8% limits on the side to discuss
     * first, per measure (the other side counted). */
    fputs("<h2 id=\"consult\">Whom to consult first: outside the 99.8% limits</h2>\n"
          "<ul>\n",
          out);
    for (size_t m = 0; m < CSE_MEASURE_COUNT; m++) {
        const cse_report_row *tot = row_at(&pg, m, last, pg.n_ods);
        size_t k = 0, other = 0;
        fprintf(out,
                "<li><a href=\"#%s\">%s</a> (%s than the ICS): ", cse_measure_name(m),
                titles[m], low_is_worse[m] ? "lower" : "higher");
        if (tot == NULL || tot->ratio < 0) {
            if (tot != NULL && tot->denominator == CSE_REPORT_NOT_MEASURED)
                fputs("not measured (no ICS-wide linked partial for this period).</li>\n",
                      out);
            else if (tot != NULL && tot->denominator == CSE_REPORT_NOT_PUBLISHED)
                fputs("no ICS total published (the report does not cover every practice "
                      "of the registry).</li>\n",
                      out);
            else
                fputs("no published ICS rate to compare with.</li>\n", out);
            continue;
        }
        for (size_t i = 0; i < pg.n_ods; i++) {
            enum standing st = stand(row_at(&pg, m, last, i), tot->ratio, m);
            if (st == OUT_998_WORSE)
                fprintf(out, "%s%s", k++ ? ", " : "", pg.odss[i]);
            else if (st == OUT_998_BETTER)
                other++;
        }
        fprintf(out, "%s", k ? "." : "none.");
        if (other > 0)
            fprintf(out, " On the other side: %zu practice%s.", other,
                    other == 1 ? "" : "s");
        fputs("</li>\n", out);
    }
    fputs("</ul>\n", out);

    for (size_t m = 0; m < CSE_MEASURE_COUNT; m++) {
        const cse_report_row *tot = row_at(&pg, m, last, pg.n_ods);
        double p0 = tot != NULL && tot->ratio >= 0 ? tot->ratio : -1.0, ymax = 0;
        size_t n_rk = 0, n_pub = 0;

        for (size_t i = 0; i < n; i++)
            if (rows[i].measure == cse_measure_name(m) && rows[i].ratio > ymax)
                ymax = rows[i].ratio;
        ymax = nice_max(ymax > 0 ? ymax * 1.05 : 0.01);
        for (size_t i = 0; i < pg.n_ods; i++) {
            const cse_report_row *r = row_at(&pg, m, last, i);
            if (r == NULL)
                continue;
            rk[n_rk].i = i;
            rk[n_rk].ratio = low_is_worse[m] ? r->ratio : -r->ratio;
            rk[n_rk].st =
                p0 >= 0 ? stand(r, p0, m) : (r->ratio >= 0 ? WITHIN : UNPUBLISHED);
            n_pub += rk[n_rk].st != UNPUBLISHED;
            n_rk++;
        }
        qsort(rk, n_rk, sizeof(*rk), ranked_cmp);

        fprintf(out, "<section id=\"%s\"><h2>%s</h2>\n<p><code>%s</code>: ",
                cse_measure_name(m), titles[m], cse_measure_name(m));
        esc(out, explain[m]);
        fprintf(out, " %s is the side to discuss first.</p>\n",
                low_is_worse[m] ? "A low rate" : "A high rate");
        fprintf(out, "<h3>%s to %s</h3>\n<div class=\"charts\">\n",
                cse_time_format_fhir_date(&pg.per[last].start, a, sizeof(a)),
                cse_time_format_fhir_date(&pg.per[last].end, b, sizeof(b)));
        if (p0 < 0 || n_pub == 0) {
            fprintf(out, "<p class=\"note\">No funnel plot: %s.</p>\n",
                    p0 < 0 ? no_rate_why(tot)
                           : "no practice has a published rate in this period");
        } else {
            fputs("<figure>\n", out);
            funnel_chart(out, &pg, m, last, p0);
            fprintf(
                out,
                "<figcaption>Funnel plot: each dot a practice (red outside the 99.8%% "
                "limits, amber outside the 95%% limits); solid line the ICS rate "
                "%.1f%%, dashed the 95%% limits, dotted the 99.8%% limits. %zu of %zu "
                "practices have a published rate.</figcaption></figure>\n",
                100.0 * p0, n_pub, n_rk);
        }
        if (n_pub > 0) {
            fputs("<figure>\n", out);
            ranked_chart(out, &pg, m, last, p0, rk, n_rk, ymax);
            fputs(
                "<figcaption>Every practice: those outside the limits first, then by "
                "rate from the side to discuss first; the vertical line is the ICS rate; "
                "a rate whose counts are redacted is not published.</figcaption>"
                "</figure>\n",
                out);
        } else if (tot != NULL && tot->denominator == CSE_REPORT_NOT_MEASURED) {
            fputs("<p class=\"note\">No practice is measured in this period, so there is "
                  "nothing to rank.</p>\n",
                  out);
        } else {
            fputs("<p class=\"note\">No practice has a published rate in this period "
                  "(counts of 1 to the threshold are redacted), so there is nothing to "
                  "rank.</p>\n",
                  out);
        }
        fputs("</div>\n", out);
        consult_table(out, &pg, m, last, p0, rk, n_rk);
        fputs("<h3>Trend</h3>\n", out);
        if (pg.n_per == 1)
            fputs(
                "<p class=\"note\">One period only: there is no trend to draw. Merge the "
                "partials of several periods to see one.</p>\n",
                out);
        else if (periods_with_rates(&pg, m) == 0)
            fputs(
                cells_not_measured(&pg, m) > 0
                    ? "<p class=\"note\">No practice is measured, or has a published "
                      "rate, in any period (not measured: no ICS-wide linked partial), "
                      "so "
                      "there is no trend to draw.</p>\n"
                    : "<p class=\"note\">No practice has a published rate in any period, "
                      "so there is no trend to draw.</p>\n",
                out);
        else {
            fputs("<figure>\n", out);
            trend_chart(out, &pg, m, ymax);
            fputs("<figcaption>Deciles of the practices' rates by period end: median "
                  "solid, other deciles dashed, the ICS total in black; the highlighted "
                  "practice in red.</figcaption></figure>\n",
                  out);
            if (cells_not_measured(&pg, m) > 0)
                fprintf(out,
                        "<p class=\"note\">%zu practice-period%s not measured (no "
                        "ICS-wide linked partial) and left out of the trend.</p>\n",
                        cells_not_measured(&pg, m),
                        cells_not_measured(&pg, m) == 1 ? " is" : "s are");
        }
        fputs("<div class=\"scroll\"><table><thead><tr><th>Practice</th>", out);
        for (size_t t = 0; t < pg.n_per; t++)
            fprintf(out, "<th>%s to %s</th>",
                    cse_time_format_fhir_date(&pg.per[t].start, a, sizeof(a)),
                    cse_time_format_fhir_date(&pg.per[t].end, b, sizeof(b)));
        fputs("</tr></thead><tbody>\n", out);
        for (size_t i = 0; i <= pg.n_ods; i++) {
            const char *ods = i < pg.n_ods ? pg.odss[i] : "ALL";
            if (i < pg.n_ods)
                fprintf(out, "<tr data-practice=\"%s\"><td>%s</td>", ods, ods);
            else
                fputs("<tr class=\"total\"><td>Total</td>", out);
            for (size_t t = 0; t < pg.n_per; t++) {
                const cse_report_row *r = row_at(&pg, m, t, i);
                fputs("<td>", out);
                if (r != NULL) {
                    count_html(out, r->numerator);
                    fputs(" / ", out);
                    count_html(out, r->denominator);
                    if (r->ratio >= 0)
                        fprintf(out, " (%.1f%%)", 100.0 * r->ratio);
                    if (i == pg.n_ods && r->denominator == CSE_REPORT_NOT_PUBLISHED)
                        fprintf(out,
                                "<br><small>not published: covers %zu of the %zu "
                                "practices of the registry</small>",
                                r->practices,
                                opt->registry ? cse_registry_practice_count(opt->registry)
                                              : (size_t)0);
                    else if (i == pg.n_ods)
                        fprintf(out, "<br><small>all %zu practice%s</small>",
                                r->practices, r->practices == 1 ? "" : "s");
                }
                fputs("</td>", out);
            }
            fputs("</tr>\n", out);
        }
        fputs("</tbody></table></div></section>\n", out);
    }
    fputs("<script>", out);
    fputs(script, out);
    fputs("</script>\n</body></html>\n", out);
    if (ferror(out))
        rc = CSE_ERR_IO;
    goto out;
nomem:
    rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
out:
    free(pg.odss);
    free(pg.per);
    free(pg.idx);
    free(rk);
    return rc;
}
