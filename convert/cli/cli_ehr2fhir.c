/* SPDX-License-Identifier: MIT */
/* cse-convert ehr2fhir: a GP2GP EHR extract to a FHIR R4 or STU3 Bundle,
 * with a loss report. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <csemarker/gp2gp.h>
#include <csemarker/snomed.h>

#include "cli.h"

#define PROG "cse-convert ehr2fhir"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cse-convert ehr2fhir [--r4|--stu3] [--pretty] [-o OUT] [--report FILE]\n"
        "                            [--fragments DIR] [--snomed DIR [--snomed-cache "
        "FILE]]\n"
        "                            IN\n"
        "Reads the GP2GP extract IN ('-' for standard input) and writes a FHIR\n"
        "Bundle to OUT (default standard output): R4 UK Core with CSE marker Flags\n"
        "(--r4, the default) or a GP Connect STU3 structured record (--stu3).\n"
        "The report (markers, review candidates, anything not mapped) goes to\n"
        "standard error, or as JSON to FILE with --report. --snomed DIR reads the\n"
        "user's SNOMED CT RF2 snapshot to recognise immunisations as the national\n"
        "requesting adaptor does (an index is cached in DIR or FILE).\n");
}

/* Writes the report as JSON to path (temp file + rename), or as text to
 * standard error. */
static int write_report(const cse_fhir_write_report *r, const char *path)
{
    struct cli_output o;
    cse_error err;
    FILE *fp;

    cse_error_clear(&err);
    if (path == NULL) {
        fprintf(stderr, "%s: report\n", PROG);
        if (cse_fhir_write_report_print(r, stderr, 0, &err) != CSE_OK)
            return cli_fail(PROG, &err);
        return CLI_OK;
    }
    if ((fp = cli_output_open(path, &o)) == NULL)
        return CLI_IO;
    if (cse_fhir_write_report_print(r, fp, 1, &err) != CSE_OK) {
        cli_output_abort(&o);
        return cli_fail(PROG, &err);
    }
    return cli_output_commit(&o);
}

/* The reader's SNOMED CT hook over the RF2 index. */
static bool lookup_immunisation(void *ctx, const char *id)
{
    return cse_snomed_is_immunisation(ctx, id);
}

static bool lookup_concept(void *ctx, const char *id, char *out, size_t size)
{
    cse_snomed_lookup_result r;

    if (cse_snomed_lookup(ctx, id, &r) != CSE_OK || r.found != CSE_SNOMED_DESCRIPTION ||
        strlen(r.concept_id) >= size)
        return false;
    strcpy(out, r.concept_id);
    return true;
}

int cmd_ehr2fhir(int argc, char **argv)
{
    const char *in = NULL, *out_path = NULL, *report_path = NULL;
    const char *snomed_dir = NULL, *snomed_cache = NULL;
    cse_snomed *snomed = NULL;
    cse_code_lookup lookup = {lookup_concept, lookup_immunisation, NULL};
    cse_gp2gp_read_options ropt = {0};
    cse_fhir_write_options wopt = {0};
    struct cli_output o;
    cse_sink *sink = NULL;
    cse_error err;
    bool stu3 = false;
    FILE *fp;
    int status;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--r4") == 0) {
            stu3 = false;
        } else if (strcmp(a, "--stu3") == 0) {
            stu3 = true;
        } else if (strcmp(a, "--pretty") == 0) {
            wopt.pretty = 1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (strcmp(a, "--report") == 0 && i + 1 < argc) {
            report_path = argv[++i];
        } else if (strcmp(a, "--fragments") == 0 && i + 1 < argc) {
            ropt.fragments_dir = argv[++i];
        } else if (strcmp(a, "--snomed") == 0 && i + 1 < argc) {
            snomed_dir = argv[++i];
        } else if (strcmp(a, "--snomed-cache") == 0 && i + 1 < argc) {
            snomed_cache = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", PROG, a);
            usage(stderr);
            return CLI_USAGE;
        } else if (in == NULL) {
            in = a;
        } else {
            fprintf(stderr, "%s: more than one input\n", PROG);
            usage(stderr);
            return CLI_USAGE;
        }
    }
    if (in == NULL) {
        fprintf(stderr, "%s: no input (use '-' for standard input)\n", PROG);
        usage(stderr);
        return CLI_USAGE;
    }
    if (snomed_cache && !snomed_dir) {
        fprintf(stderr, "%s: --snomed-cache needs --snomed DIR\n", PROG);
        usage(stderr);
        return CLI_USAGE;
    }
    cse_error_clear(&err);
    if (snomed_dir) {
        if ((snomed = cse_snomed_open(snomed_dir, snomed_cache, 0, &err)) == NULL)
            return cli_fail(PROG, &err);
        lookup.ctx = snomed;
        ropt.lookup = &lookup;
        wopt.lookup = &lookup;
    }
    if ((fp = cli_output_open(out_path, &o)) == NULL) {
        cse_snomed_free(snomed);
        return CLI_IO;
    }
    sink = stu3 ? cse_fhir_stu3_writer_new(fp, &wopt, &err)
                : cse_fhir_r4_writer_new(fp, &wopt, &err);
    if (sink == NULL) {
        cli_output_abort(&o);
        cse_snomed_free(snomed);
        return cli_fail(PROG, &err);
    }
    if (cse_gp2gp_read_file(in, &ropt, sink, &err) != CSE_OK) {
        cli_output_abort(&o);
        cse_sink_free(sink);
        cse_snomed_free(snomed);
        return cli_fail(PROG, &err);
    }
    cse_snomed_free(snomed);
    if ((status = cli_output_commit(&o)) != CLI_OK) {
        cse_sink_free(sink);
        return status;
    }
    /* Review candidates do not change the exit status: they are written as
     * ordinary resources and listed in the report. */
    status = write_report(cse_fhir_writer_report(sink), report_path);
    cse_sink_free(sink);
    return status;
}
