/* cse-report: the ICS CSE marker report. A thin front end over libcsemarker:
 * extract (at the practice), merge (at the ICS), synth (a synthetic ICS). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csemarker/csemarker.h>
#include <csemarker/report.h>

#include "cli.h"
#include "fetch_cli.h"
#include "report_cli.h"

#define PROG "cse-report"

static const struct cli_command commands[] = {
    {"extract", "count one practice's records for one period into a partial",
     report_cmd_extract},
    {"merge", "merge partials and write the report (csv, json, measurereport, html)",
     report_cmd_merge},
    {"synth", "write a reproducible synthetic ICS (NDJSON and GP2GP extracts)",
     report_cmd_synth},
    {"fetch", "pull a practice's data from its FHIR server (Bulk Data) into a partial",
     cmd_fetch},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cse-report COMMAND [OPTIONS] ...\n"
                 "       cse-report --help | --version\n\ncommands:\n");
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-8s %s\n", c->name, c->summary);
    fprintf(out, "\nRun 'cse-report COMMAND --help' for a command's options.\n"
                 "Exit status: 0 done, 2 usage, 3 input rejected, 4 I/O error,\n"
                 "70 internal error. See cse-report(1).\n");
}

/* ---- extract ----------------------------------------------------------- */

static void progress(void *ud, uint64_t resources, uint64_t bytes)
{
    (void)ud;
    fprintf(stderr, "\r" PROG ": %llu resources, %.1f MB read",
            (unsigned long long)resources, (double)bytes / 1e6);
}

static const char extract_usage[] =
    "usage: cse-report extract --practice ODS --period START..END [--key FILE]\n"
    "                          [-o OUT] INPUT...\n"
    "  --practice ODS     the practice whose records these are\n"
    "  --period P         YYYY-MM-DD..YYYY-MM-DD (inclusive) or YYYY-Qn\n"
    "  --key FILE         32-byte pseudonym key (mode 0600) for transfer linkage\n"
    "  -o, --output OUT   the partial (default: standard output)\n"
    "  -q, --quiet        no progress, even on a terminal\n"
    "INPUT: NDJSON files, FHIR bundles, GP2GP extracts (*.xml) or folders of them;\n"
    "\"-\" reads NDJSON from standard input.\n";

int report_cmd_extract(int argc, char **argv)
{
    static const struct option longopts[] = {{"practice", required_argument, NULL, 'p'},
                                             {"period", required_argument, NULL, 'P'},
                                             {"key", required_argument, NULL, 'k'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"quiet", no_argument, NULL, 'q'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *ods = NULL, *period = NULL, *keyfile = NULL, *outpath = NULL;
    unsigned char key[32];
    cse_extract_options xo = {0};
    cse_extract *x = NULL;
    struct cli_output o = {0};
    cse_error err;
    int c, rc = CLI_OK, quiet = 0;

    cse_error_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'p': ods = optarg; break;
        case 'P': period = optarg; break;
        case 'k': keyfile = optarg; break;
        case 'o': outpath = optarg; break;
        case 'q': quiet = 1; break;
        case 'h': fputs(extract_usage, stdout); return CLI_OK;
        default: fputs(extract_usage, stderr); return CLI_USAGE;
        }
    }
    if (ods == NULL || period == NULL || optind >= argc) {
        fprintf(stderr,
                PROG " extract: --practice, --period and at least one INPUT are "
                     "required\n%s",
                extract_usage);
        return CLI_USAGE;
    }
    if (cse_period_parse(period, &xo.period_start, &xo.period_end, &err) != CSE_OK) {
        fprintf(stderr, PROG " extract: --period '%s': %s\n", period, err.message);
        return CLI_USAGE;
    }
    if (keyfile != NULL) {
        if (cse_key_load(keyfile, key, &err) != CSE_OK)
            return cli_fail(PROG, &err);
        xo.key = key;
        xo.key_len = sizeof(key);
    }
    xo.practice_ods = ods;
    xo.quiet = quiet || !isatty(STDERR_FILENO);
    if ((x = cse_extract_new(&xo, &err)) == NULL) {
        rc = err.code == CSE_ERR_INVALID_ARG ? CLI_USAGE : cli_fail(PROG, &err);
        if (rc == CLI_USAGE)
            fprintf(stderr, PROG " extract: %s\n", err.message);
        goto out;
    }
    memset(key, 0, sizeof(key));
    cse_extract_set_progress(x, progress, NULL);
    for (int i = optind; i < argc; i++)
        if (cse_extract_add_path(x, argv[i], &err) != CSE_OK) {
            if (!xo.quiet)
                fputc('\n', stderr);
            rc = cli_fail(PROG, &err);
            goto out;
        }
    if (!xo.quiet)
        fputc('\n', stderr);
    if (cli_output_open(outpath, &o) == NULL) {
        rc = CLI_IO;
        goto out;
    }
    if (cse_extract_write_partial(x, o.fp, &err) != CSE_OK) {
        cli_output_abort(&o);
        rc = cli_fail(PROG, &err);
        goto out;
    }
    rc = cli_output_commit(&o);
out:
    cse_extract_free(x);
    return rc;
}

/* ---- merge ------------------------------------------------------------- */

static const char merge_usage[] =
    "usage: cse-report merge PARTIAL... --format csv|json|measurereport|html|partial\n"
    "                        [-o OUT] [--threshold N] [--round N]\n"
    "                        [--no-disclosure-control]\n"
    "  --format F         the report format; 'partial' writes a merged partial that\n"
    "                     can be merged again\n"
    "  -o, --output OUT   the report (default: standard output)\n"
    "  --threshold N      redact counts from 1 to N: 7 (the default) to 1000\n"
    "  --round N          round other counts to the nearest N: 5 (the default) to 10\n"
    "  --no-disclosure-control  raw counts; every output is marked UNPROTECTED\n";

static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    unsigned long v = strtoul(s, &end, 10);

    if (*s == '\0' || *end != '\0' || *s == '-' || v > 1000000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int report_cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},
        {"round", required_argument, NULL, 'r'},
        {"no-disclosure-control", no_argument, NULL, 'N'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *format = NULL, *outpath = NULL;
    cse_report_options ro = {0};
    cse_partial *all = NULL, *one = NULL;
    struct cli_output o = {0};
    int c, rc = CLI_OK, as_partial = 0;
    cse_error err;

    cse_error_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "f:o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f': format = optarg; break;
        case 'o': outpath = optarg; break;
        /* Only protective values: a lower threshold or base would publish
         * counts the disclosure rules protect, still labelled "protected"; a
         * larger base would publish ratios far from the truth. */
        case 't':
            if (parse_uint(optarg, &ro.threshold) != 0 ||
                ro.threshold < CSE_SDC_THRESHOLD_DEFAULT ||
                ro.threshold > CSE_SDC_THRESHOLD_MAX) {
                fprintf(stderr,
                        PROG " merge: --threshold '%s': accepted values are %u to %u "
                             "(counts from 1 to N are redacted; below %u they would be "
                             "published)\n",
                        optarg, CSE_SDC_THRESHOLD_DEFAULT, CSE_SDC_THRESHOLD_MAX,
                        CSE_SDC_THRESHOLD_DEFAULT);
                return CLI_USAGE;
            }
            break;
        case 'r':
            if (parse_uint(optarg, &ro.base) != 0 || ro.base < CSE_SDC_BASE_MIN ||
                ro.base > CSE_SDC_BASE_MAX) {
                fprintf(stderr,
                        PROG " merge: --round '%s': accepted values are %u to %u (a "
                             "smaller base publishes near-exact counts, a larger one "
                             "ratios far from the truth)\n",
                        optarg, CSE_SDC_BASE_MIN, CSE_SDC_BASE_MAX);
                return CLI_USAGE;
            }
            break;
        case 'N': ro.no_disclosure_control = 1; break;
        case 'h': fputs(merge_usage, stdout); return CLI_OK;
        default: fputs(merge_usage, stderr); return CLI_USAGE;
        }
    }
    if (format == NULL || optind >= argc) {
        fprintf(stderr, PROG " merge: --format and at least one PARTIAL are required\n%s",
                merge_usage);
        return CLI_USAGE;
    }
    if (ro.no_disclosure_control && (ro.threshold != 0 || ro.base != 0)) {
        fprintf(stderr, PROG " merge: --threshold and --round mean nothing with "
                             "--no-disclosure-control\n");
        return CLI_USAGE;
    }
    if (strcmp(format, "partial") == 0)
        as_partial = 1;
    else if (cse_report_format_parse(format, &ro.format) != CSE_OK) {
        fprintf(stderr, PROG " merge: unknown --format '%s'\n%s", format, merge_usage);
        return CLI_USAGE;
    }
    if ((all = cse_partial_new()) == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        return CLI_INTERNAL;
    }
    for (int i = optind; i < argc; i++) {
        if (cse_partial_read_file(argv[i], &one, &err) != CSE_OK ||
            cse_partial_merge(all, one, &err) != CSE_OK) {
            if (err.source[0] == '\0')
                snprintf(err.source, sizeof(err.source), "%s", argv[i]);
            rc = cli_fail(PROG, &err);
            goto out;
        }
        cse_partial_free(one);
        one = NULL;
    }
    if (cli_output_open(outpath, &o) == NULL) {
        rc = CLI_IO;
        goto out;
    }
    if ((as_partial ? cse_partial_write(all, o.fp, &err)
                    : cse_report_write(all, &ro, o.fp, &err)) != CSE_OK) {
        cli_output_abort(&o);
        rc = cli_fail(PROG, &err);
        goto out;
    }
    rc = cli_output_commit(&o);
    if (rc == CLI_OK && ro.no_disclosure_control && !as_partial)
        fprintf(stderr,
                PROG " merge: warning: UNPROTECTED output (no disclosure control); "
                     "do not publish it\n");
out:
    cse_partial_free(one);
    cse_partial_free(all);
    return rc;
}

/* ---- synth ------------------------------------------------------------- */

static const char synth_usage[] =
    "usage: cse-report synth --seed N --practices N --patients N -o DIR\n"
    "  --seed N           the seed: the same seed gives the same bytes\n"
    "  --practices N      number of practices\n"
    "  --patients N       registered patients per practice\n"
    "  --as-of DATE       export date (default 2025-12-31)\n"
    "  -o, --output DIR   where to write (created; must not hold a previous run)\n";

int report_cmd_synth(int argc, char **argv)
{
    static const struct option longopts[] = {{"seed", required_argument, NULL, 's'},
                                             {"practices", required_argument, NULL, 'p'},
                                             {"patients", required_argument, NULL, 'n'},
                                             {"as-of", required_argument, NULL, 'a'},
                                             {"output", required_argument, NULL, 'o'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    cse_synth_options so = {0};
    const char *dir = NULL;
    unsigned v;
    int c, have_seed = 0;
    cse_error err;

    cse_error_clear(&err);
    so.practices = 20;
    so.patients = 3000;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 's': {
            char *end;
            so.seed = strtoull(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || *optarg == '-') {
                fprintf(stderr, PROG " synth: --seed needs a non-negative integer\n");
                return CLI_USAGE;
            }
            have_seed = 1;
            break;
        }
        case 'p':
            if (parse_uint(optarg, &v) != 0 || v == 0 || v > 2000) {
                fprintf(stderr, PROG " synth: --practices needs 1 to 2000\n");
                return CLI_USAGE;
            }
            so.practices = v;
            break;
        case 'n':
            if (parse_uint(optarg, &v) != 0 || v == 0) {
                fprintf(stderr, PROG " synth: --patients needs 1 to 1000000\n");
                return CLI_USAGE;
            }
            so.patients = v;
            break;
        case 'a':
            if (cse_time_parse_fhir(optarg, &so.as_of) != CSE_OK ||
                so.as_of.precision != CSE_TIME_DAY) {
                fprintf(stderr, PROG " synth: --as-of needs a date YYYY-MM-DD\n");
                return CLI_USAGE;
            }
            break;
        case 'o': dir = optarg; break;
        case 'h': fputs(synth_usage, stdout); return CLI_OK;
        default: fputs(synth_usage, stderr); return CLI_USAGE;
        }
    }
    if (!have_seed || dir == NULL || optind != argc) {
        fprintf(stderr, PROG " synth: --seed and -o DIR are required\n%s", synth_usage);
        return CLI_USAGE;
    }
    if (cse_synth_write(dir, &so, &err) != CSE_OK)
        return cli_fail(PROG, &err);
    return CLI_OK;
}

int main(int argc, char **argv)
{
    return cli_main(PROG, commands, usage, argc, argv);
}
