/* SPDX-License-Identifier: MIT */
/* cse-convert fhir2ehr: a FHIR R4 or STU3 record (Bundle or NDJSON) to a
 * GP2GP RCMR_IN030000UK07 extract, with a loss report on standard error. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csemarker/fhirread.h>
#include <csemarker/gp2gp.h>

#include "cli.h"

#define PROG "cse-convert fhir2ehr"

static void usage(FILE *out)
{
    fprintf(
        out,
        "usage: cse-convert fhir2ehr [-o OUT] [--uk06] [--sender ODS] [--receiver ODS]\n"
        "                            [--validate SCHEMA_DIR] IN\n"
        "Reads one patient's FHIR R4 or STU3 record IN (a Bundle or NDJSON; '-' for\n"
        "standard input) and writes a GP2GP RCMR_IN030000UK07 extract to OUT\n"
        "(default standard output). CSE markers travel coded, dated and labelled\n"
        "NOPAT. --uk06 writes RCMR_IN030000UK06, refused when any entry carries a\n"
        "label. --validate checks the extract against SCHEMA_DIR/Schemas/*.xsd\n"
        "before it appears. Resources not mapped are counted on standard error.\n");
}

/* Forwards to the GP2GP writer and prints the loss report at the end. */
struct relay {
    cse_sink *writer;
};

static cse_code r_begin(cse_sink *s, const cse_extract_info *info, cse_error *err)
{
    struct relay *r = s->data;
    return r->writer->begin(r->writer, info, err);
}

static cse_code r_agent(cse_sink *s, const cse_agent *a, cse_error *err)
{
    struct relay *r = s->data;
    return r->writer->agent(r->writer, a, err);
}

static cse_code r_entry(cse_sink *s, const cse_entry *e, const cse_entry_info *info,
                        cse_error *err)
{
    struct relay *r = s->data;
    return r->writer->entry(r->writer, e, info, err);
}

static cse_code r_end(cse_sink *s, const cse_summary *sum, cse_error *err)
{
    struct relay *r = s->data;
    cse_code rc = r->writer->end(r->writer, sum, err);

    if (rc != CSE_OK)
        return rc;
    fprintf(stderr,
            "%s: %zu entries written, %zu CSE markers, %zu for clinician review\n", PROG,
            sum->entries, sum->markers, sum->candidates);
    for (size_t i = 0; i < sum->n_losses; i++) {
        const cse_loss_item *l = &sum->losses[i];
        bool structural = l->why && strncmp(l->why, "structural", 10) == 0;
        fprintf(stderr, "%s: %s: %zu %s (%s)\n", PROG, structural ? "structural" : "loss",
                l->count, l->what, l->why);
    }
    return CSE_OK;
}

/* Validates the file at path; on failure reports and returns the status. */
static int validate(const char *path, const char *schema_dir, const char *shown)
{
    cse_error err;
    cse_error_clear(&err);
    if (cse_gp2gp_validate_file(path, schema_dir, &err) == CSE_OK)
        return CLI_OK;
    snprintf(err.source, sizeof(err.source), "%s", shown);
    return cli_fail(PROG, &err);
}

/* Copies a finished temporary file to out. */
static int copy_out(FILE *tmp, FILE *out)
{
    char buf[65536];
    size_t n;
    if (fseek(tmp, 0, SEEK_SET) != 0)
        return CLI_IO;
    while ((n = fread(buf, 1, sizeof(buf), tmp)) > 0)
        if (fwrite(buf, 1, n, out) != n)
            return CLI_IO;
    return ferror(tmp) ? CLI_IO : CLI_OK;
}

int cmd_fhir2ehr(int argc, char **argv)
{
    const char *in = NULL, *out_path = NULL, *schema_dir = NULL;
    cse_gp2gp_write_options wopt = {0};
    struct cli_output o = {0};
    struct relay relay = {0};
    cse_sink sink = {r_begin, r_agent, r_entry, r_end, NULL, &relay};
    char tmpname[4096];
    FILE *fp = NULL;
    int fd = -1, status = CLI_OK;
    bool spool;
    cse_error err;
    cse_code rc;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_OK;
        } else if (strcmp(a, "--uk06") == 0) {
            wopt.uk06 = 1;
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            out_path = argv[++i];
        } else if (strcmp(a, "--sender") == 0 && i + 1 < argc) {
            wopt.sender_ods = argv[++i];
        } else if (strcmp(a, "--receiver") == 0 && i + 1 < argc) {
            wopt.receiver_ods = argv[++i];
        } else if (strcmp(a, "--validate") == 0 && i + 1 < argc) {
            schema_dir = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n", PROG, a);
            usage(stderr);
            return CLI_USAGE;
        } else if (in == NULL) {
            in = a;
        } else {
            fprintf(stderr, "%s: more than one input\n", PROG);
            return CLI_USAGE;
        }
    }
    if (in == NULL) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (cli_output_open(out_path, &o) == NULL)
        return CLI_IO;
    /* Standard output (or a device, or a pipe) cannot be taken back: with
     * --validate, write to a temporary file first and copy it out once it
     * validates. */
    spool = o.tmp == NULL && schema_dir != NULL;
    if (!spool) {
        fp = o.fp;
    } else {
        const char *dir = getenv("TMPDIR");
        int n = snprintf(tmpname, sizeof(tmpname), "%s/cse-fhir2ehr.XXXXXX",
                         dir && *dir ? dir : "/tmp");
        if (n < 0 || (size_t)n >= sizeof(tmpname))
            fd = -1, errno = ENAMETOOLONG;
        else
            fd = mkstemp(tmpname);
        if (fd < 0 || (fp = fdopen(fd, "w+")) == NULL) {
            fprintf(stderr, "%s: cannot make a temporary file: %s\n", PROG,
                    strerror(errno));
            if (fd >= 0) {
                close(fd);
                unlink(tmpname);
            }
            cli_output_abort(&o);
            return CLI_IO;
        }
    }
    cse_error_clear(&err);
    if ((relay.writer = cse_gp2gp_writer_new(fp, &wopt, &err)) == NULL) {
        status = cli_fail(PROG, &err);
        goto fail;
    }
    rc = cse_fhir_read_file(in, NULL, &sink, &err);
    cse_sink_free(relay.writer);
    relay.writer = NULL;
    if (rc != CSE_OK) {
        status = cli_fail(PROG, &err);
        goto fail;
    }
    if (fflush(fp) != 0) {
        fprintf(stderr, "%s: write failed: %s\n", PROG, strerror(errno));
        status = CLI_IO;
        goto fail;
    }
    if (schema_dir) {
        const char *shown = o.path ? o.path : "-";
        if ((status = validate(spool ? tmpname : o.tmp, schema_dir, shown)) != CLI_OK)
            goto fail;
    }
    if (spool && (status = copy_out(fp, o.fp)) != CLI_OK) {
        fprintf(stderr, "%s: write failed: %s\n", PROG, strerror(errno));
        goto fail;
    }
    if (spool) {
        fclose(fp);
        unlink(tmpname);
    }
    return cli_output_commit(&o);
fail:
    if (spool) {
        fclose(fp);
        unlink(tmpname);
    }
    cli_output_abort(&o);
    return status;
}
