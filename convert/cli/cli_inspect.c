/* SPDX-License-Identifier: MIT */
/* cse-convert inspect: the CSE markers and the entries for clinician review
 * in a GP2GP extract, plus counts and the loss report. Identifiers and free
 * text stay hidden unless asked for. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <csemarker/gp2gp.h>

#include "cli.h"

struct seen_marker {
    cse_marker *m;
    bool annotated;
};

struct loss {
    char *what;
    const char *why;
    size_t count;
    int first_line;
};

struct inspect {
    int hl7_version;
    char *nhs_number, *local_root, *local_id;
    struct seen_marker *markers;
    size_t n_markers;
    cse_entry **candidates;
    cse_candidate_reason *reasons;
    size_t n_candidates;
    struct loss *losses;
    size_t n_losses;
    size_t entries;
};

static cse_code nomem(cse_error *err)
{
    if (err && err->code == CSE_OK) {
        err->code = CSE_ERR_NOMEM;
        snprintf(err->message, sizeof(err->message), "out of memory");
    }
    return CSE_ERR_NOMEM;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

static cse_code on_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    struct inspect *in = s->data;

    in->hl7_version = info->hl7_version;
    if (info->patient) {
        in->nhs_number = dup_or_null(info->patient->nhs_number);
        in->local_root = dup_or_null(info->patient->local_id_root);
        in->local_id = dup_or_null(info->patient->local_id);
    }
    return CSE_OK;
}

static cse_code on_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    return CSE_OK;
}

static bool has_annotation(const cse_entry *e)
{
    for (size_t i = 0; i < e->n_annotations; i++)
        if (strncmp(e->annotations[i], CSE_ANNOTATION_PREFIX,
                    strlen(CSE_ANNOTATION_PREFIX)) == 0)
            return true;
    return false;
}

static cse_code on_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                         cse_error *err)
{
    struct inspect *in = s->data;

    if (info->cls == CSE_CLASS_MARKER && info->marker) {
        struct seen_marker *nm =
            realloc(in->markers, (in->n_markers + 1) * sizeof(*in->markers));
        if (nm == NULL)
            return nomem(err);
        in->markers = nm;
        nm[in->n_markers].annotated = has_annotation(e);
        if ((nm[in->n_markers].m = cse_marker_dup(info->marker)) == NULL)
            return nomem(err);
        in->n_markers++;
    } else if (info->cls == CSE_CLASS_CANDIDATE) {
        cse_entry **nc =
            realloc(in->candidates, (in->n_candidates + 1) * sizeof(*in->candidates));
        cse_candidate_reason *nr;
        if (nc == NULL)
            return nomem(err);
        in->candidates = nc;
        nr = realloc(in->reasons, (in->n_candidates + 1) * sizeof(*in->reasons));
        if (nr == NULL)
            return nomem(err);
        in->reasons = nr;
        nr[in->n_candidates] = info->reason;
        if ((nc[in->n_candidates] = cse_entry_dup(e)) == NULL)
            return nomem(err);
        in->n_candidates++;
    }
    return CSE_OK;
}

static cse_code on_end(cse_sink *s, const cse_summary *sum, cse_error *err)
{
    struct inspect *in = s->data;

    in->entries = sum->entries;
    if (sum->n_losses == 0)
        return CSE_OK;
    if ((in->losses = calloc(sum->n_losses, sizeof(*in->losses))) == NULL)
        return nomem(err);
    for (size_t i = 0; i < sum->n_losses; i++) {
        in->losses[i].why = sum->losses[i].why;
        in->losses[i].count = sum->losses[i].count;
        in->losses[i].first_line = sum->losses[i].first_line;
        in->n_losses++;
        if ((in->losses[i].what = strdup(sum->losses[i].what)) == NULL)
            return nomem(err);
    }
    return CSE_OK;
}

static void inspect_clear(struct inspect *in)
{
    free(in->nhs_number);
    free(in->local_root);
    free(in->local_id);
    for (size_t i = 0; i < in->n_markers; i++)
        cse_marker_free(in->markers[i].m);
    free(in->markers);
    for (size_t i = 0; i < in->n_candidates; i++)
        cse_entry_free(in->candidates[i]);
    free(in->candidates);
    free(in->reasons);
    for (size_t i = 0; i < in->n_losses; i++)
        free(in->losses[i].what);
    free(in->losses);
}

static const char *date(const cse_time *t, char *buf, size_t size)
{
    cse_time_format_fhir_date(t, buf, size);
    return buf[0] ? buf : "unknown";
}

static void print_report(FILE *out, const struct inspect *in, const char *source,
                         const cse_time *today, bool show_ids, bool show_text)
{
    char b1[32], b2[32];

    fprintf(out, "source: %s\n", source);
    fprintf(out, "message: %s\n",
            in->hl7_version == 7   ? "RCMR_IN030000UK07"
            : in->hl7_version == 6 ? "RCMR_IN030000UK06"
                                   : "EhrExtract (no message wrapper)");
    if (!show_ids)
        fprintf(out, "patient: identifiers hidden (--show-ids shows them)\n");
    else if (in->nhs_number)
        fprintf(out, "patient: NHS number %s\n", in->nhs_number);
    else if (in->local_root)
        fprintf(out, "patient: local id %s (root %s)\n", in->local_id ? in->local_id : "",
                in->local_root);
    else
        fprintf(out, "patient: no identifier in the extract\n");

    fprintf(out, "markers: %zu\n", in->n_markers);
    for (size_t i = 0; i < in->n_markers; i++) {
        const cse_marker *m = in->markers[i].m;
        fprintf(out, "  marker %zu: %s %s\n", i + 1, m->code,
                m->display ? m->display : "");
        fprintf(out, "    status: %s\n", cse_marker_status_name(m->status));
        fprintf(out, "    start: %s\n", date(&m->start, b1, sizeof(b1)));
        fprintf(out, "    review due: %s%s\n", date(&m->review, b2, sizeof(b2)),
                cse_marker_review_overdue(m, today) ? " OVERDUE" : "");
        if (m->end.precision != CSE_TIME_NONE || m->end_reason)
            fprintf(out, "    ended: %s, reason: %s\n", date(&m->end, b1, sizeof(b1)),
                    m->end_reason ? m->end_reason : "not recorded");
        fprintf(out, "    NOPAT: %s\n",
                m->labels & CSE_LABEL_NOPAT ? "present" : "MISSING");
        fprintf(out, "    annotation: %s\n",
                in->markers[i].annotated ? "present" : "annotation lost in transit");
        fprintf(out, "    entry: %s\n", m->entry_id ? m->entry_id : "(no id)");
    }

    fprintf(out, "review candidates: %zu\n", in->n_candidates);
    for (size_t i = 0; i < in->n_candidates; i++) {
        const cse_entry *e = in->candidates[i];
        fprintf(out, "  candidate %zu: entry %s, line %d, %s, reason %s\n", i + 1,
                e->id ? e->id : "(no id)", e->source_line, cse_entry_kind_name(e->kind),
                cse_candidate_reason_name(in->reasons[i]));
        fprintf(out, "    codes:");
        if (e->code.n == 0)
            fprintf(out, " none");
        for (size_t k = 0; k < e->code.n; k++)
            fprintf(out, "%s %s|%s", k ? "," : "",
                    e->code.codings[k].system ? e->code.codings[k].system : "(no system)",
                    e->code.codings[k].code);
        fprintf(out, "\n");
        if (show_text)
            fprintf(out, "    text: %s\n", e->code.text ? e->code.text : "");
    }

    fprintf(out, "entries: %zu (markers %zu, review candidates %zu)\n", in->entries,
            in->n_markers, in->n_candidates);
    if (in->n_losses == 0) {
        fprintf(out, "loss report: nothing left unmapped\n");
        return;
    }
    fprintf(out, "loss report: %zu kind(s) of element not mapped\n", in->n_losses);
    for (size_t i = 0; i < in->n_losses; i++)
        fprintf(out, "  %s: %s (%zu, first at line %d)\n", in->losses[i].what,
                in->losses[i].why, in->losses[i].count, in->losses[i].first_line);
}

static void inspect_usage(FILE *out)
{
    fprintf(
        out,
        "usage: cse-convert inspect [OPTIONS] IN\n"
        "Lists the CSE markers and the entries needing clinician review in a GP2GP\n"
        "extract (IN, or - for standard input).\n\n"
        "  -o, --output FILE     write the report to FILE (default: standard output)\n"
        "      --show-ids        show the patient's NHS number or local id\n"
        "      --show-text       show the original text of review candidates\n"
        "      --fragments DIR   read large-message fragments from DIR\n"
        "      --today DATE      judge overdue reviews as on DATE (YYYY-MM-DD)\n"
        "  -h, --help            show this help\n\n"
        "Exit status: 0 nothing to review, 5 entries need review, 3 input rejected,\n"
        "4 I/O error, 2 usage.\n");
}

int cmd_inspect(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output", required_argument, NULL, 'o'},
        {"show-ids", no_argument, NULL, 'I'},
        {"show-text", no_argument, NULL, 'T'},
        {"fragments", required_argument, NULL, 'F'},
        {"today", required_argument, NULL, 'D'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL;
    bool show_ids = false, show_text = false;
    cse_gp2gp_read_options opt = {0};
    cse_time today = {0};
    struct inspect in = {0};
    struct cli_output o;
    cse_error err = {0};
    cse_sink sink = {on_begin, on_agent, on_entry, on_end, NULL, &in};
    FILE *fp;
    int c, status;

    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': out_path = optarg; break;
        case 'I': show_ids = true; break;
        case 'T': show_text = true; break;
        case 'F': opt.fragments_dir = optarg; break;
        case 'D':
            if (cse_time_parse_fhir(optarg, &today) != CSE_OK ||
                today.precision != CSE_TIME_DAY) {
                fprintf(stderr, "cse-convert inspect: --today expects YYYY-MM-DD\n");
                return CLI_USAGE;
            }
            break;
        case 'h': inspect_usage(stdout); return CLI_OK;
        default: inspect_usage(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        inspect_usage(stderr);
        return CLI_USAGE;
    }
    if (today.precision == CSE_TIME_NONE) {
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        today.year = tm.tm_year + 1900;
        today.month = tm.tm_mon + 1;
        today.day = tm.tm_mday;
        today.precision = CSE_TIME_DAY;
    }
    if (cse_gp2gp_read_file(argv[optind], &opt, &sink, &err) != CSE_OK) {
        status = cli_fail("cse-convert inspect", &err);
        goto out;
    }
    if ((fp = cli_output_open(out_path, &o)) == NULL) {
        status = CLI_IO;
        goto out;
    }
    print_report(fp, &in, argv[optind], &today, show_ids, show_text);
    if (ferror(fp)) {
        cli_output_abort(&o);
        fprintf(stderr, "cse-convert inspect: writing the report failed\n");
        status = CLI_IO;
        goto out;
    }
    if ((status = cli_output_commit(&o)) == CLI_OK)
        status = in.n_candidates ? CLI_REVIEW : CLI_OK;
out:
    inspect_clear(&in);
    return status;
}
