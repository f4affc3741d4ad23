/* SPDX-License-Identifier: MIT */
/* cse-convert repair: make the CSE markers in an outgoing GP2GP extract safe. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <csemarker/repair.h>

#include "cli.h"

#define PROG "cse-convert repair"

/* The markers and candidates, collected for the JSON report. Ids and line
 * numbers only: never record text. */
struct collect {
    json_t *markers, *candidates;
    int failed;
};

static void on_item(const cse_repair_item *item, void *user)
{
    struct collect *c = user;
    json_t *o;

    if (c->markers == NULL) {
        /* Text report: candidates go to stderr as they are found. */
        if (item->kind == CSE_REPAIR_ITEM_CANDIDATE)
            fprintf(stderr, "%s: for clinician review: entry %s at line %d: %s\n", PROG,
                    item->entry_id[0] ? item->entry_id : "(no id)", item->line,
                    cse_candidate_reason_name(item->reason));
        return;
    }
    if (item->kind == CSE_REPAIR_ITEM_MARKER)
        o = json_pack("{s:s, s:i, s:s, s:b, s:b, s:b}", "id", item->entry_id, "line",
                      item->line, "code", item->code ? item->code : "", "nopat_added",
                      (item->changes & CSE_REPAIR_ADDED_NOPAT) != 0, "code_promoted",
                      (item->changes & CSE_REPAIR_PROMOTED_CODE) != 0, "label_replaced",
                      (item->changes & CSE_REPAIR_REPLACED_LABEL) != 0);
    else
        o = json_pack("{s:s, s:i, s:s}", "id", item->entry_id, "line", item->line,
                      "reason", cse_candidate_reason_name(item->reason));
    if (o == NULL ||
        json_array_append_new(
            item->kind == CSE_REPAIR_ITEM_MARKER ? c->markers : c->candidates, o) != 0)
        c->failed = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cse-convert repair IN [-o OUT] [--report FILE]\n"
            "\n"
            "Writes the GP2GP extract IN (\"-\" for standard input) with its CSE\n"
            "markers made safe: NOPAT on marker statements and their compositions,\n"
            "the SNOMED concept as the code of legacy-coded markers, UK06 upgraded to\n"
            "UK07 when a label is needed. Everything else is unchanged.\n"
            "\n"
            "  -o, --output OUT   write to OUT (default standard output); OUT appears\n"
            "                     only when complete\n"
            "      --report FILE  write the report as JSON to FILE (default: a\n"
            "                     summary on standard error)\n"
            "  -h, --help         show this help\n"
            "\n"
            "Exit status: 0 done, 2 usage, 3 input rejected, 4 I/O error,\n"
            "5 done but entries need clinician review, 70 internal error.\n");
}

static int write_report(const char *path, const cse_repair_report *rep, struct collect *c)
{
    struct cli_output o;
    FILE *fp;
    json_t *root;
    int rc;

    root = json_pack("{s:I, s:{s:I, s:I}, s:I, s:b, s:I, s:O, s:O}", "markers",
                     (json_int_t)rep->markers, "nopat_added", "statements",
                     (json_int_t)rep->nopat_added_statements, "compositions",
                     (json_int_t)rep->nopat_added_compositions, "codes_promoted",
                     (json_int_t)rep->codes_promoted, "upgraded_to_uk07",
                     rep->upgraded_to_uk07, "candidates", (json_int_t)rep->candidates,
                     "marker_entries", c->markers, "candidate_entries", c->candidates);
    if (root == NULL || c->failed) {
        json_decref(root);
        fprintf(stderr, "%s: out of memory\n", PROG);
        return CLI_INTERNAL;
    }
    if ((fp = cli_output_open(path, &o)) == NULL) {
        json_decref(root);
        return CLI_IO;
    }
    if (json_dumpf(root, fp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0 ||
        fputc('\n', fp) == EOF) {
        json_decref(root);
        cli_output_abort(&o);
        fprintf(stderr, "%s: %s: cannot write the report\n", PROG, path);
        return CLI_IO;
    }
    json_decref(root);
    rc = cli_output_commit(&o);
    return rc;
}

static void print_summary(const cse_repair_report *rep)
{
    fprintf(stderr,
            "%s: %zu marker%s; NOPAT added to %zu statement%s and %zu composition%s; "
            "%zu code%s promoted; %s; %zu candidate%s for clinician review\n",
            PROG, rep->markers, rep->markers == 1 ? "" : "s", rep->nopat_added_statements,
            rep->nopat_added_statements == 1 ? "" : "s", rep->nopat_added_compositions,
            rep->nopat_added_compositions == 1 ? "" : "s", rep->codes_promoted,
            rep->codes_promoted == 1 ? "" : "s",
            rep->upgraded_to_uk07 ? "upgraded RCMR_IN030000UK06 to UK07" : "not upgraded",
            rep->candidates, rep->candidates == 1 ? "" : "s");
}

int cmd_repair(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"report", required_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *out_path = NULL, *report_path = NULL, *in_path;
    struct collect c = {NULL, NULL, 0};
    cse_repair_options opt;
    cse_repair_report rep;
    cse_error err;
    struct cli_output o;
    FILE *out;
    int ch, rc;
    cse_code code;

    optind = 1;
    while ((ch = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': out_path = optarg; break;
        case 'r': report_path = optarg; break;
        case 'h': usage(stdout); return CLI_OK;
        default: usage(stderr); return CLI_USAGE;
        }
    }
    if (optind != argc - 1) {
        usage(stderr);
        return CLI_USAGE;
    }
    in_path = argv[optind];
    if (report_path != NULL) {
        c.markers = json_array();
        c.candidates = json_array();
        if (c.markers == NULL || c.candidates == NULL) {
            fprintf(stderr, "%s: out of memory\n", PROG);
            rc = CLI_INTERNAL;
            goto out;
        }
    }
    if ((out = cli_output_open(out_path, &o)) == NULL) {
        rc = CLI_IO;
        goto out;
    }
    memset(&opt, 0, sizeof(opt));
    opt.on_item = on_item;
    opt.user = &c;
    cse_error_clear(&err);
    code = cse_gp2gp_repair_ex(in_path, out, &opt, &rep, &err);
    if (code != CSE_OK) {
        cli_output_abort(&o);
        rc = cli_fail(PROG, &err);
        goto out;
    }
    if ((rc = cli_output_commit(&o)) != CLI_OK)
        goto out;
    if (report_path != NULL)
        rc = write_report(report_path, &rep, &c);
    else
        print_summary(&rep);
    if (rc == CLI_OK && rep.candidates > 0)
        rc = CLI_REVIEW;
out:
    json_decref(c.markers);
    json_decref(c.candidates);
    return rc;
}
