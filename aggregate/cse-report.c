/* SPDX-License-Identifier: MIT */
/* cse-report: the ICS CSE marker report. A thin front end over libcsemarker:
 * keygen (keys for split trust), extract (at the practice), link (transfers,
 * once, at the ICS), merge (at the ICS), synth (a synthetic ICS). */
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
    {"link", "link transfers once over every practice of the ICS into counts",
     report_cmd_link},
    {"merge", "merge partials and write the report (csv, json, measurereport, html)",
     report_cmd_merge},
    {"keygen", "make or rotate a pseudonym, linkage or signing key", report_cmd_keygen},
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
    "usage: cse-report extract --practice ODS --period START..END --signing-key FILE\n"
    "                          [--key FILE --linkage-key FILE.pub] [-o OUT] INPUT...\n"
    "  --practice ODS     the practice whose records these are\n"
    "  --period P         YYYY-MM-DD..YYYY-MM-DD (inclusive) or YYYY-Qn\n"
    "  --signing-key FILE the practice's signing key (cse-report keygen signing)\n"
    "  --key FILE         the pseudonym key shared by the practices (mode 0600)\n"
    "  --linkage-key FILE.pub  the ICS linkage public key: pseudonyms are sealed to it\n"
    "  -o, --output OUT   the partial (default: standard output)\n"
    "  -q, --quiet        no progress, even on a terminal\n"
    "INPUT: NDJSON files, FHIR bundles, GP2GP extracts (*.xml) or folders of them;\n"
    "\"-\" reads NDJSON from standard input.\n";

int report_cmd_extract(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"practice", required_argument, NULL, 'p'},
        {"period", required_argument, NULL, 'P'},
        {"key", required_argument, NULL, 'k'},
        {"signing-key", required_argument, NULL, 'S'},
        {"linkage-key", required_argument, NULL, 'L'},
        {"output", required_argument, NULL, 'o'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *ods = NULL, *period = NULL, *keyfile = NULL, *outpath = NULL;
    const char *signfile = NULL, *linkfile = NULL;
    cse_report_key *sk = NULL, *lk = NULL;
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
        case 'S': signfile = optarg; break;
        case 'L': linkfile = optarg; break;
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
    if (signfile == NULL) {
        fprintf(stderr,
                PROG " extract: --signing-key is required: every partial is "
                     "signed by its practice (make one with: cse-report keygen "
                     "signing --practice %s -o FILE)\n",
                ods);
        return CLI_USAGE;
    }
    if ((keyfile == NULL) != (linkfile == NULL)) {
        fprintf(stderr, PROG " extract: --key and --linkage-key go together: pseudonyms "
                             "are made with the one and sealed to the other\n");
        return CLI_USAGE;
    }
    if ((sk = cse_report_key_load_private(signfile, CSE_KEY_SIGNING, &err)) == NULL ||
        (linkfile != NULL &&
         (lk = cse_report_key_load_public(linkfile, CSE_KEY_LINKAGE, &err)) == NULL)) {
        rc = cli_fail(PROG, &err);
        goto out;
    }
    xo.signing_key = sk;
    xo.linkage_key = lk;
    if (keyfile != NULL) {
        if (cse_key_load(keyfile, key, &err) != CSE_OK) {
            rc = cli_fail(PROG, &err);
            goto out;
        }
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
    cse_report_key_free(sk);
    cse_report_key_free(lk);
    return rc;
}

/* ---- merge ------------------------------------------------------------- */

static const char merge_usage[] =
    "usage: cse-report merge --registry FILE --keys FILE PARTIAL...\n"
    "                        --format csv|json|measurereport|html|partial\n"
    "                        [-o OUT] [--threshold N] [--round N]\n"
    "                        [--no-disclosure-control]\n"
    "  --registry FILE    the ICS registry (practices and their populations)\n"
    "  --keys FILE        the signing public keys of the practices and the ICS\n"
    "PARTIAL: practice partials (extract) and the ICS's linked partial (link);\n"
    "without a linked partial the transfer measure is not measured.\n"
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

/* Reads, merges and verifies the partials argv[optind..argc). */
static int read_verified(int argc, char **argv, const cse_registry *reg,
                         cse_partial **out)
{
    cse_partial *all = cse_partial_new(), *one = NULL;
    cse_error err;
    int rc = CLI_OK;

    cse_error_clear(&err);
    if (all == NULL) {
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
    if (cse_partial_verify(all, reg, &err) != CSE_OK) {
        rc = cli_fail(PROG, &err);
        goto out;
    }
    *out = all;
    all = NULL;
out:
    cse_partial_free(one);
    cse_partial_free(all);
    return rc;
}

/* Says on stderr why the transfer measure is not measured, and why totals
 * are not published, when they are not. */
static void note_not_measured(const cse_partial *p, const cse_report_options *ro)
{
    cse_report_row *rows = NULL;
    size_t n = 0, missing = 0, withheld = 0, covered = 0;

    if (cse_report_rows(p, ro, &rows, &n, NULL) != CSE_OK)
        return;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].practice, "ALL") != 0) {
            if (rows[i].denominator == CSE_REPORT_NOT_MEASURED)
                missing++;
        } else if (rows[i].denominator == CSE_REPORT_NOT_PUBLISHED) {
            withheld++;
            if (rows[i].practices > covered)
                covered = rows[i].practices;
        }
    }
    free(rows);
    if (missing > 0)
        fprintf(stderr,
                PROG " merge: note: cse_marker_survived_transfer is not measured for %zu "
                     "practice-period%s: no linked partial covers %s. Transfers are "
                     "linked once over every practice of the ICS (cse-report link); "
                     "merge its output with the practice partials.\n",
                missing, missing == 1 ? "" : "s", missing == 1 ? "it" : "them");
    if (withheld > 0)
        fprintf(stderr,
                PROG
                " merge: note: %zu total%s not published: the partials merged cover "
                "at most %zu of the %zu practices of the registry in %s period. A total "
                "of a chosen subset of practices could be differenced with other "
                "reports to recover a redacted cell; merge every practice's "
                "partial to publish totals.\n",
                withheld, withheld == 1 ? " is" : "s are", covered,
                ro->registry ? cse_registry_practice_count(ro->registry) : (size_t)0,
                withheld == 1 ? "its" : "their");
}

int report_cmd_merge(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"threshold", required_argument, NULL, 't'},
        {"round", required_argument, NULL, 'r'},
        {"no-disclosure-control", no_argument, NULL, 'N'},
        {"registry", required_argument, NULL, 'R'},
        {"keys", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *format = NULL, *outpath = NULL, *regfile = NULL, *keysfile = NULL;
    cse_registry *reg = NULL;
    cse_report_options ro = {0};
    cse_partial *all = NULL;
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
        case 'R': regfile = optarg; break;
        case 'K': keysfile = optarg; break;
        case 'h': fputs(merge_usage, stdout); return CLI_OK;
        default: fputs(merge_usage, stderr); return CLI_USAGE;
        }
    }
    if (format == NULL || optind >= argc || regfile == NULL || keysfile == NULL) {
        fprintf(stderr,
                PROG " merge: --format, --registry, --keys and at least one PARTIAL are "
                     "required (partials are verified against the keys)\n%s",
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
    if ((reg = cse_registry_load(regfile, keysfile, &err)) == NULL)
        return cli_fail(PROG, &err);
    ro.registry = reg;
    if ((rc = read_verified(argc, argv, reg, &all)) != CLI_OK)
        goto out;
    if (!as_partial)
        note_not_measured(all, &ro);
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
    cse_partial_free(all);
    cse_registry_free(reg);
    return rc;
}

/* ---- link -------------------------------------------------------------- */

static const char link_usage[] =
    "usage: cse-report link --registry FILE --keys FILE --linkage-key FILE\n"
    "                       --signing-key FILE [-o OUT] PARTIAL...\n"
    "  --registry FILE    the ICS registry: every practice named must be present\n"
    "  --keys FILE        the signing public keys of the practices and the ICS\n"
    "  --linkage-key FILE the ICS linkage private key (opens the sealed pseudonyms)\n"
    "  --signing-key FILE the ICS signing key (signs the linked partial)\n"
    "  -o, --output OUT   the linked partial (default: standard output)\n"
    "PARTIAL: every practice's partial for each period linked; the output holds\n"
    "counts only, never a pseudonym.\n";

int report_cmd_link(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"registry", required_argument, NULL, 'R'},
        {"keys", required_argument, NULL, 'K'},
        {"linkage-key", required_argument, NULL, 'L'},
        {"signing-key", required_argument, NULL, 'S'},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *regfile = NULL, *keysfile = NULL, *lfile = NULL, *sfile = NULL,
               *outpath = NULL;
    cse_registry *reg = NULL;
    cse_report_key *lk = NULL, *sk = NULL;
    cse_partial *all = NULL;
    struct cli_output o = {0};
    cse_error err;
    int c, rc = CLI_OK;

    cse_error_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'R': regfile = optarg; break;
        case 'K': keysfile = optarg; break;
        case 'L': lfile = optarg; break;
        case 'S': sfile = optarg; break;
        case 'o': outpath = optarg; break;
        case 'h': fputs(link_usage, stdout); return CLI_OK;
        default: fputs(link_usage, stderr); return CLI_USAGE;
        }
    }
    if (!regfile || !keysfile || !lfile || !sfile || optind >= argc) {
        fprintf(stderr,
                PROG " link: --registry, --keys, --linkage-key, --signing-key and the "
                     "partials are required\n%s",
                link_usage);
        return CLI_USAGE;
    }
    if ((reg = cse_registry_load(regfile, keysfile, &err)) == NULL ||
        (lk = cse_report_key_load_private(lfile, CSE_KEY_LINKAGE, &err)) == NULL ||
        (sk = cse_report_key_load_private(sfile, CSE_KEY_SIGNING, &err)) == NULL) {
        rc = cli_fail(PROG, &err);
        goto out;
    }
    if ((rc = read_verified(argc, argv, reg, &all)) != CLI_OK)
        goto out;
    if (cli_output_open(outpath, &o) == NULL) {
        rc = CLI_IO;
        goto out;
    }
    if (cse_partial_link(all, reg, lk, sk, o.fp, &err) != CSE_OK) {
        cli_output_abort(&o);
        rc = cli_fail(PROG, &err);
        goto out;
    }
    rc = cli_output_commit(&o);
out:
    cse_partial_free(all);
    cse_registry_free(reg);
    cse_report_key_free(lk);
    cse_report_key_free(sk);
    return rc;
}

/* ---- keygen ------------------------------------------------------------ */

static const char keygen_usage[] =
    "usage: cse-report keygen pseudonym|linkage|signing -o FILE [--practice ODS]\n"
    "                         [--rotate]\n"
    "  pseudonym          the HMAC key every practice holds (never the ICS): FILE\n"
    "  linkage            the ICS linkage key pair (X25519): FILE and FILE.pub\n"
    "  signing            a signing key pair (Ed25519) for --practice ODS (a practice\n"
    "                     or the ICS): FILE and FILE.pub (\"ODS ed25519 HEX\")\n"
    "  -o, --output FILE  the private key file (mode 0600)\n"
    "  --rotate           replace an existing key; the old one is kept as FILE.old\n"
    "Prints the new key's id. Keys files for merge and link are the signing\n"
    "keys' .pub files concatenated.\n";

int report_cmd_keygen(int argc, char **argv)
{
    static const struct option longopts[] = {{"output", required_argument, NULL, 'o'},
                                             {"practice", required_argument, NULL, 'p'},
                                             {"rotate", no_argument, NULL, 'r'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *path = NULL, *owner = NULL;
    char id[CSE_KEY_ID_LEN + 1];
    cse_key_kind kind;
    int c, rotate = 0;
    cse_error err;

    cse_error_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': path = optarg; break;
        case 'p': owner = optarg; break;
        case 'r': rotate = 1; break;
        case 'h': fputs(keygen_usage, stdout); return CLI_OK;
        default: fputs(keygen_usage, stderr); return CLI_USAGE;
        }
    }
    if (optind + 1 != argc || path == NULL) {
        fprintf(stderr, PROG " keygen: a kind and -o FILE are required\n%s",
                keygen_usage);
        return CLI_USAGE;
    }
    if (strcmp(argv[optind], "pseudonym") == 0)
        kind = CSE_KEY_PSEUDONYM;
    else if (strcmp(argv[optind], "linkage") == 0)
        kind = CSE_KEY_LINKAGE;
    else if (strcmp(argv[optind], "signing") == 0)
        kind = CSE_KEY_SIGNING;
    else {
        fprintf(stderr, PROG " keygen: unknown kind '%s'\n%s", argv[optind],
                keygen_usage);
        return CLI_USAGE;
    }
    if (kind == CSE_KEY_SIGNING && owner == NULL) {
        fprintf(stderr, PROG " keygen: a signing key needs --practice ODS (its owner)\n");
        return CLI_USAGE;
    }
    if (cse_keygen(kind, path, owner, rotate, id, &err) != CSE_OK)
        return err.code == CSE_ERR_INVALID_ARG
                   ? (fprintf(stderr, PROG " keygen: %s\n", err.message), CLI_USAGE)
                   : cli_fail(PROG, &err);
    printf("%s key id %s\n", argv[optind], id);
    if (rotate)
        fprintf(
            stderr, PROG " keygen: rotated; the previous key is kept as %s.old. %s\n",
            path,
            kind == CSE_KEY_PSEUDONYM
                ? "Every practice must use the new key from the same period on: a "
                  "linkage refuses partials made with different pseudonym keys."
            : kind == CSE_KEY_LINKAGE
                ? "Give the practices the new FILE.pub; partials sealed to the old "
                  "key open only with the old one."
                : "Replace this key's line in the ICS keys file with the new FILE.pub.");
    return CLI_OK;
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
