/* The report as one self-contained HTML page: no external requests (no
 * scripts, styles, fonts or images from elsewhere), inline SVG charts, a
 * small inline script to highlight one practice everywhere. */
#include "config.h"

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
    "all "
    "active markers. Without it the marker may show in online access.",
    "Active markers whose review date is before the end of the period, of all active "
    "markers.",
    "Active markers coded with a concept id from the marker ValueSet, of all active "
    "markers.",
    "Registered children with a related safeguarding code but no active marker, of all "
    "registered children.",
    "Children who arrived by GP2GP having left their previous practice with an active "
    "marker, and whose record here still has it, of all such arrivals."};

struct period {
    cse_time start, end;
};

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
    if (v < 0)
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

static const cse_report_row *find(const cse_report_row *rows, size_t n, size_t m,
                                  const char *ods, const struct period *pe)
{
    for (size_t i = 0; i < n; i++)
        if (rows[i].measure == cse_measure_name(m) &&
            strcmp(rows[i].practice, ods) == 0 &&
            cse_time_compare(&rows[i].start, &pe->start) == 0 &&
            cse_time_compare(&rows[i].end, &pe->end) == 0)
            return &rows[i];
    return NULL;
}

#define W 640
#define H 260
#define ML 56
#define MR 16
#define MT 16
#define MB 52

static void deciles_chart(FILE *out, const cse_report_row *rows, size_t n, size_t m,
                          char (*odss)[16], size_t n_ods, const struct period *per,
                          size_t n_per, double ymax)
{
    double *vals = malloc((n_ods ? n_ods : 1) * sizeof(double));
    double xs[64];
    char label[32];

    if (vals == NULL)
        return;
    fprintf(
        out,
        "<svg class=\"chart deciles\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
        "height=\"%d\"><title>Deciles across practices over time: %s</title>\n",
        W, H, W, H, cse_measure_name(m));
    for (int k = 0; k <= 4; k++) {
        double y = MT + (H - MT - MB) * (1.0 - k / 4.0);
        fprintf(
            out,
            "<line class=grid x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=axis x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f%%</text>\n",
            ML, W - MR, y, y, ML - 6, y + 4, 100.0 * ymax * k / 4.0);
    }
    for (size_t t = 0; t < n_per && t < 64; t++) {
        xs[t] = n_per == 1
                    ? (ML + W - MR) / 2.0
                    : ML + 20 + (W - MR - ML - 40) * (double)t / (double)(n_per - 1);
        fprintf(out,
                "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%s</text>\n",
                xs[t], H - MB + 18,
                cse_time_format_fhir_date(&per[t].end, label, sizeof(label)));
    }
    /* Deciles 10..90: the median solid, the others dashed. */
    for (int d = 1; d <= 9; d++) {
        int started = 0;
        fprintf(out, "<path class=\"decile%s\" d=\"", d == 5 ? " median" : "");
        for (size_t t = 0; t < n_per && t < 64; t++) {
            size_t k = 0;
            for (size_t i = 0; i < n_ods; i++) {
                const cse_report_row *r = find(rows, n, m, odss[i], &per[t]);
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
        fprintf(out, "\"><title>%s</title></path>\n", d == 5 ? "median" : "decile");
    }
    /* Every practice's own line, shown when that practice is highlighted. */
    for (size_t i = 0; i < n_ods; i++) {
        int started = 0;
        fprintf(out, "<path class=\"practice\" data-practice=\"%s\" d=\"", odss[i]);
        for (size_t t = 0; t < n_per && t < 64; t++) {
            const cse_report_row *r = find(rows, n, m, odss[i], &per[t]);
            if (r == NULL || r->ratio < 0)
                continue;
            fprintf(out, "%s%.1f %.1f", started ? " L" : "M", xs[t],
                    MT + (H - MT - MB) * (1.0 - r->ratio / ymax));
            started = 1;
        }
        fprintf(out, "\"><title>%s</title></path>\n", odss[i]);
    }
    fputs("</svg>\n", out);
    free(vals);
}

static void bar_chart(FILE *out, const cse_report_row *rows, size_t n, size_t m,
                      char (*odss)[16], size_t n_ods, const struct period *pe,
                      double ymax)
{
    double bw = n_ods ? (double)(W - ML - MR) / (double)n_ods : 0;
    char label[32];

    fprintf(out,
            "<svg class=\"chart bars\" role=\"img\" viewBox=\"0 0 %d %d\" width=\"%d\" "
            "height=\"%d\"><title>Per practice, period ending %s: %s</title>\n",
            W, H, W, H, cse_time_format_fhir_date(&pe->end, label, sizeof(label)),
            cse_measure_name(m));
    for (int k = 0; k <= 4; k++) {
        double y = MT + (H - MT - MB) * (1.0 - k / 4.0);
        fprintf(
            out,
            "<line class=grid x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\"/>"
            "<text class=axis x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.1f%%</text>\n",
            ML, W - MR, y, y, ML - 6, y + 4, 100.0 * ymax * k / 4.0);
    }
    for (size_t i = 0; i < n_ods; i++) {
        const cse_report_row *r = find(rows, n, m, odss[i], pe);
        double x = ML + bw * (double)i, h;
        if (r == NULL)
            continue;
        fprintf(out,
                "<text class=axis x=\"%.1f\" y=\"%d\" text-anchor=\"end\" "
                "transform=\"rotate(-60 %.1f %d)\">%s</text>\n",
                x + bw / 2, H - MB + 12, x + bw / 2, H - MB + 12, odss[i]);
        if (r->ratio < 0) {
            fprintf(out,
                    "<text class=\"na\" data-practice=\"%s\" x=\"%.1f\" y=\"%d\" "
                    "text-anchor=\"middle\">&#215;<title>%s: no published "
                    "ratio</title></text>\n",
                    odss[i], x + bw / 2, H - MB - 4, odss[i]);
            continue;
        }
        h = (H - MT - MB) * (r->ratio / ymax);
        fprintf(out,
                "<rect class=\"bar\" data-practice=\"%s\" x=\"%.1f\" y=\"%.1f\" "
                "width=\"%.1f\" height=\"%.1f\"><title>%s: %.1f%%</title></rect>\n",
                odss[i], x + bw * 0.15, H - MB - h, bw * 0.7, h, odss[i],
                100.0 * r->ratio);
    }
    fputs("</svg>\n", out);
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;"
    "max-width:72em;padding:0 1em;color:#212b32;line-height:1.4}"
    "h1{font-size:1.6em}h2{margin-top:2em;border-bottom:1px solid #d8dde0}"
    ".banner{padding:.8em 1em;border-left:6px solid #005eb8;background:#eef7ff}"
    ".unprotected{border-color:#d5281b;background:#fde8e6;font-weight:bold}"
    "table{border-collapse:collapse;font-size:.85em;margin:1em 0}"
    "td,th{border:1px solid #d8dde0;padding:.2em .5em;text-align:right}"
    "th:first-child,td:first-child{text-align:left}"
    "tr.hl td{background:#fff9c4}tr.total td{font-weight:bold}"
    ".red{color:#8a1538}.charts{display:flex;flex-wrap:wrap;gap:1em}"
    ".chart{max-width:100%;height:auto;background:#fff}"
    ".grid{stroke:#e8edee}.axis{font-size:10px;fill:#4c6272}"
    ".decile{fill:none;stroke:#005eb8;stroke-width:1;stroke-dasharray:4 3}"
    ".decile.median{stroke-width:2.5;stroke-dasharray:none}"
    ".practice{fill:none;stroke:none}"
    ".practice.hl{stroke:#d5281b;stroke-width:2.5}"
    ".bar{fill:#41b6e6}.bar.hl{fill:#d5281b}.na{fill:#768692;font-size:12px}"
    "select{font-size:1em}figure{margin:0}figcaption{font-size:.8em;color:#4c6272}";

static const char script[] =
    "(function(){var s=document.getElementById('hl');"
    "function hl(v){document.querySelectorAll('[data-practice]').forEach(function(e){"
    "e.classList.toggle('hl',e.getAttribute('data-practice')===v);});}"
    "s.addEventListener('change',function(){hl(s.value);});"
    "document.querySelectorAll('[data-practice]').forEach(function(e){"
    "e.addEventListener('click',function(){s.value=e.getAttribute('data-practice');"
    "hl(s.value);});});"
    "if(location.hash.length>1){s.value=location.hash.slice(1);hl(s.value);}})();";

cse_code cse__report_html(const cse_partial *p, const cse_report_options *opt,
                          const cse_report_row *rows, size_t n, FILE *out, cse_error *err)
{
    char(*odss)[16] = NULL;
    struct period *per = NULL;
    size_t n_ods = 0, n_per = 0;
    unsigned thr = opt->threshold ? opt->threshold : CSE_SDC_THRESHOLD_DEFAULT;
    unsigned base = opt->base ? opt->base : CSE_SDC_BASE_DEFAULT;
    char a[32], b[32];
    cse_code rc = CSE_OK;

    odss = calloc(p->n + 1, sizeof(*odss));
    per = calloc(p->n + 1, sizeof(*per));
    if (odss == NULL || per == NULL) {
        rc = cse__error_set(err, CSE_ERR_NOMEM, 0, "", "", "out of memory");
        goto out;
    }
    /* Cells are sorted by practice, then period. */
    for (size_t i = 0; i < p->n; i++) {
        const cse__cell *c = &p->cells[i];
        size_t k;
        if (n_ods == 0 || strcmp(odss[n_ods - 1], c->practice) != 0)
            memcpy(odss[n_ods++], c->practice, 16);
        for (k = 0; k < n_per; k++)
            if (cse_time_compare(&per[k].start, &c->start) == 0 &&
                cse_time_compare(&per[k].end, &c->end) == 0)
                break;
        if (k == n_per) {
            size_t j = n_per++;
            while (j > 0 && cse_time_compare(&per[j - 1].start, &c->start) > 0) {
                per[j] = per[j - 1];
                j--;
            }
            per[j].start = c->start;
            per[j].end = c->end;
        }
    }
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
          "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
          "<title>CSE marker report</title><style>",
          out);
    fputs(style, out);
    fputs("</style></head>\n<body>\n<h1>CSE marker report</h1>\n", out);
    fprintf(out,
            "<p>%zu practices, %zu period%s from %s to %s. Made by csemarker %s.</p>\n",
            n_ods, n_per, n_per == 1 ? "" : "s",
            cse_time_format_fhir_date(&per[0].start, a, sizeof(a)),
            cse_time_format_fhir_date(&per[n_per - 1].end, b, sizeof(b)), cse_version());
    if (opt->no_disclosure_control)
        fputs("<p class=\"banner unprotected\" id=\"unprotected\">UNPROTECTED: these are "
              "raw "
              "counts without disclosure control. Do not publish or share this "
              "page.</p>\n",
              out);
    else
        fprintf(out,
                "<p class=\"banner\" id=\"protected\">Disclosure control applied: counts "
                "from 1 to %u are shown as [REDACTED], other counts are rounded to the "
                "nearest %u, a numerator is also redacted when its difference from the "
                "denominator would be 1 to %u, ratios use the published counts, and each "
                "total is computed from every practice's true counts (those redacted "
                "too) and then protected in the same way.</p>\n",
                thr, base, thr);
    fputs("<p><label for=\"hl\">Highlight a practice: </label><select id=\"hl\">"
          "<option value=\"\">(none)</option>",
          out);
    for (size_t i = 0; i < n_ods; i++)
        fprintf(out, "<option>%s</option>", odss[i]);
    fputs("</select></p>\n<nav><ul>", out);
    for (size_t m = 0; m < CSE_MEASURE_COUNT; m++)
        fprintf(out, "<li><a href=\"#%s\">%s</a></li>", cse_measure_name(m), titles[m]);
    fputs("</ul></nav>\n", out);
    for (size_t m = 0; m < CSE_MEASURE_COUNT; m++) {
        double ymax = 0;
        for (size_t i = 0; i < n; i++)
            if (rows[i].measure == cse_measure_name(m) && rows[i].ratio > ymax)
                ymax = rows[i].ratio;
        ymax = nice_max(ymax > 0 ? ymax * 1.05 : 0.01);
        fprintf(out, "<section id=\"%s\"><h2>%s</h2>\n<p><code>%s</code>: ",
                cse_measure_name(m), titles[m], cse_measure_name(m));
        esc(out, explain[m]);
        fputs("</p>\n<div class=\"charts\">\n", out);
        fprintf(out, "<figure>\n");
        bar_chart(out, rows, n, m, odss, n_ods, &per[n_per - 1], ymax);
        fprintf(out,
                "<figcaption>Per practice, %s to %s (&#215;: not published)."
                "</figcaption></figure>\n<figure>\n",
                cse_time_format_fhir_date(&per[n_per - 1].start, a, sizeof(a)),
                cse_time_format_fhir_date(&per[n_per - 1].end, b, sizeof(b)));
        deciles_chart(out, rows, n, m, odss, n_ods, per, n_per, ymax);
        fputs("<figcaption>Deciles across practices by period end: median solid, "
              "other deciles dashed; the highlighted practice in red.</figcaption>"
              "</figure>\n",
              out);
        fputs("</div>\n<table><thead><tr><th>Practice</th>", out);
        for (size_t t = 0; t < n_per; t++)
            fprintf(out, "<th>%s to %s</th>",
                    cse_time_format_fhir_date(&per[t].start, a, sizeof(a)),
                    cse_time_format_fhir_date(&per[t].end, b, sizeof(b)));
        fputs("</tr></thead><tbody>\n", out);
        for (size_t i = 0; i <= n_ods; i++) {
            const char *ods = i < n_ods ? odss[i] : "ALL";
            if (i < n_ods)
                fprintf(out, "<tr data-practice=\"%s\"><td>%s</td>", ods, ods);
            else
                fputs("<tr class=\"total\"><td>Total</td>", out);
            for (size_t t = 0; t < n_per; t++) {
                const cse_report_row *r = find(rows, n, m, ods, &per[t]);
                fputs("<td>", out);
                if (r != NULL) {
                    count_html(out, r->numerator);
                    fputs(" / ", out);
                    count_html(out, r->denominator);
                    if (r->ratio >= 0)
                        fprintf(out, " (%.1f%%)", 100.0 * r->ratio);
                    if (i == n_ods)
                        fprintf(out, "<br><small>all %zu practice%s</small>",
                                r->practices, r->practices == 1 ? "" : "s");
                }
                fputs("</td>", out);
            }
            fputs("</tr>\n", out);
        }
        fputs("</tbody></table></section>\n", out);
    }
    fputs("<script>", out);
    fputs(script, out);
    fputs("</script>\n</body></html>\n", out);
    if (ferror(out))
        rc = CSE_ERR_IO;
out:
    free(odss);
    free(per);
    return rc;
}
