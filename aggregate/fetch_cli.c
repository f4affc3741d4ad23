/* SPDX-License-Identifier: MIT */
/* cse-report fetch: a practice's partial straight from its FHIR server.
 * A thin front end over cse_fetch_run (libcsemarker) feeding cse_extract;
 * the partial file appears only when the whole export was counted. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "cli.h"
#include "fetch.h"
#include <csemarker/report.h>

#include "fetch_cli.h"

#define PROG "cse-report fetch"

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    stop = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: cse-report fetch --fhir BASE_URL --group ID --client-id ID\n"
            "         --key PRIVATE_KEY.pem [--kid KID] [--ca FILE]\n"
            "         --practice ODS --period START..END --signing-key FILE\n"
            "         [--pseudonym-key FILE --linkage-key FILE.pub]\n"
            "         [--types LIST] [--max-retries N] [-o OUT]\n"
            "\n"
            "Exports Group/ID from the FHIR server with FHIR Bulk Data Access v2,\n"
            "authorised by SMART Backend Services (RS384 for an RSA key, ES384 for an\n"
            "EC P-384 key), and writes the partial `cse-report extract` would write\n"
            "over the same data. Nothing identifiable is written to disk. TLS is\n"
            "always verified. Exit status: 0 done, 2 usage, 3 bad data, 4 I/O error,\n"
            "6 network or server failure, 7 authorisation refused, 70 internal\n"
            "error, 130 interrupted. See cse-report(1).\n");
}

static cse_code on_line(void *ctx, const char *json, size_t len, const char *source,
                        long line, cse_error *err)
{
    return cse_extract_add_resource_json(ctx, json, len, source, line, err);
}

static void on_progress(void *ctx, const char *stage, const char *detail)
{
    fprintf(stderr, "\r\033[K%s: %s%s%s", PROG, stage, *detail ? " " : "", detail);
    fflush(stderr);
}

static int exit_status(cse_code code)
{
    switch (code) {
    case CSE_OK: return 0;
    case CSE_ERR_INVALID_ARG: return 2;
    case CSE_ERR_IO:
    case CSE_ERR_PERMISSION: return 4;
    case CSE_ERR_NETWORK: return 6;
    case CSE_ERR_AUTH: return 7;
    case CSE_ERR_NOMEM:
    case CSE_ERR_INTERNAL: return 70;
    default: return 3;
    }
}

static int fail(const cse_error *err)
{
    char buf[1600];

    fprintf(stderr, "%s: %s\n", PROG, cse_error_format(err, buf, sizeof(buf)));
    return exit_status(err->code);
}

/* Writes the partial through cli_output (convert/cli_output.c), so a
 * failed run leaves nothing behind. */
static int write_partial(cse_extract *x, const char *out, cse_error *err)
{
    struct cli_output o;
    FILE *fp = cli_output_open(out, &o);

    if (fp == NULL)
        return CLI_IO;
    if (cse_extract_write_partial(x, fp, err) != CSE_OK) {
        cli_output_abort(&o);
        return fail(err);
    }
    return cli_output_commit(&o);
}

int cmd_fetch(int argc, char **argv)
{
    enum {
        O_FHIR = 256,
        O_GROUP,
        O_CLIENT,
        O_KEY,
        O_KID,
        O_CA,
        O_PRACTICE,
        O_PERIOD,
        O_PSEUDO,
        O_TYPES,
        O_RETRIES,
        O_SIGNING,
        O_LINKAGE
    };
    static const struct option longopts[] = {
        {"fhir", required_argument, NULL, O_FHIR},
        {"group", required_argument, NULL, O_GROUP},
        {"client-id", required_argument, NULL, O_CLIENT},
        {"key", required_argument, NULL, O_KEY},
        {"kid", required_argument, NULL, O_KID},
        {"ca", required_argument, NULL, O_CA},
        {"practice", required_argument, NULL, O_PRACTICE},
        {"period", required_argument, NULL, O_PERIOD},
        {"pseudonym-key", required_argument, NULL, O_PSEUDO},
        {"signing-key", required_argument, NULL, O_SIGNING},
        {"linkage-key", required_argument, NULL, O_LINKAGE},
        {"types", required_argument, NULL, O_TYPES},
        {"max-retries", required_argument, NULL, O_RETRIES},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    cse_fetch_options fo = {0};
    cse_extract_options xo = {0};
    cse_fetch_stats stats;
    cse_extract *x = NULL;
    cse_error err;
    struct sigaction sa, old_int, old_term;
    const char *period = NULL, *pseudo = NULL, *out = NULL, *signing = NULL,
               *linkage = NULL;
    cse_report_key *sk = NULL, *lk = NULL;
    unsigned char key[32];
    int c, rc = 2, have_key = 0, handlers = 0;
    cse_code code;

    cse_error_clear(&err);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", longopts, NULL)) != -1) {
        switch (c) {
        case O_FHIR: fo.fhir_base = optarg; break;
        case O_GROUP: fo.group_id = optarg; break;
        case O_CLIENT: fo.client_id = optarg; break;
        case O_KEY: fo.key_path = optarg; break;
        case O_KID: fo.kid = optarg; break;
        case O_CA: fo.ca_file = optarg; break;
        case O_PRACTICE: xo.practice_ods = optarg; break;
        case O_PERIOD: period = optarg; break;
        case O_PSEUDO: pseudo = optarg; break;
        case O_SIGNING: signing = optarg; break;
        case O_LINKAGE: linkage = optarg; break;
        case O_TYPES: fo.types = optarg; break;
        case O_RETRIES: {
            char *end;
            unsigned long n = strtoul(optarg, &end, 10);
            if (*optarg == '\0' || *end != '\0' || n < 1 || n > 100) {
                fprintf(stderr, "%s: --max-retries takes 1 to 100\n", PROG);
                return 2;
            }
            fo.max_retries = (unsigned)n;
            break;
        }
        case 'o': out = optarg; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (optind != argc || !fo.fhir_base || !fo.group_id || !fo.client_id ||
        !fo.key_path || !xo.practice_ods || !period || !signing ||
        (pseudo == NULL) != (linkage == NULL)) {
        fprintf(stderr, "%s: %s\n", PROG,
                optind != argc ? "unexpected argument"
                : (pseudo == NULL) != (linkage == NULL)
                    ? "--pseudonym-key and --linkage-key go together"
                    : "--fhir, --group, --client-id, --key, --practice, --period and "
                      "--signing-key are required");
        usage(stderr);
        return 2;
    }
    if (cse_period_parse(period, &xo.period_start, &xo.period_end, &err) != CSE_OK) {
        fail(&err);
        return 2;
    }
    if ((sk = cse_report_key_load_private(signing, CSE_KEY_SIGNING, &err)) == NULL ||
        (linkage != NULL &&
         (lk = cse_report_key_load_public(linkage, CSE_KEY_LINKAGE, &err)) == NULL)) {
        rc = fail(&err);
        goto out;
    }
    xo.signing_key = sk;
    xo.linkage_key = lk;
    if (pseudo != NULL) {
        if (cse_key_load(pseudo, key, &err) != CSE_OK) {
            rc = fail(&err);
            goto out;
        }
        have_key = 1;
        xo.key = key;
        xo.key_len = sizeof(key);
    }
    xo.quiet = 1;
    if ((x = cse_extract_new(&xo, &err)) == NULL) {
        rc = fail(&err);
        goto out;
    }

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, &old_int) == 0 && sigaction(SIGTERM, &sa, &old_term) == 0)
        handlers = 1;
    fo.interrupted = &stop;
    if (isatty(STDERR_FILENO))
        fo.progress = on_progress;

    code = cse_fetch_run(&fo, on_line, x, &stats, &err);
    if (fo.progress != NULL)
        fprintf(stderr, "\r\033[K");
    if (code != CSE_OK) {
        if (stop) {
            fprintf(stderr, "%s: interrupted\n", PROG);
            rc = 130;
        } else {
            rc = fail(&err);
        }
        if (stats.deleted)
            fprintf(stderr, "%s: the export was deleted on the server\n", PROG);
        else if (stats.delete_failed)
            fprintf(stderr, "%s: warning: the server refused to delete the export\n",
                    PROG);
        fprintf(stderr, "%s: no partial was written\n", PROG);
        goto out;
    }
    if (stats.delete_failed)
        fprintf(stderr, "%s: warning: the server refused to delete the export\n", PROG);
    if (stats.warnings > 0)
        fprintf(stderr, "%s: the server reported %zu informational issue%s\n", PROG,
                stats.warnings, stats.warnings == 1 ? "" : "s");
    rc = write_partial(x, out, &err);
out:
    if (handlers) {
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
    }
    cse_extract_free(x);
    cse_report_key_free(sk);
    cse_report_key_free(lk);
    if (have_key)
        OPENSSL_cleanse(key, sizeof(key));
    return rc;
}
