/* cse-convert: GP2GP EHR extracts to and from FHIR, and the marker repair
 * pass. A thin front end: all logic lives in libcsemarker. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

static const struct command commands[] = {
    {"ehr2fhir", "convert a GP2GP extract to FHIR R4 or STU3", cmd_ehr2fhir},
    {"fhir2ehr", "convert a FHIR R4 or STU3 record to a GP2GP extract", cmd_fhir2ehr},
    {"inspect", "list a GP2GP extract's CSE markers and review candidates", cmd_inspect},
    {"repair", "make the CSE markers in a GP2GP extract safe (NOPAT, UK07)", cmd_repair},
    {NULL, NULL, NULL},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: cse-convert COMMAND [OPTIONS] ...\n"
                 "       cse-convert --help | --version\n\ncommands:\n");
    for (const struct command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nExit status: 0 done, 2 usage, 3 input rejected, 4 I/O error,\n"
                 "5 done with entries for clinician review, 70 internal error.\n"
                 "See cse-convert(1).\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return CLI_USAGE;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("cse-convert (csemarker) %s\n", cse_version());
        return CLI_OK;
    }
    for (const struct command *c = commands; c->name; c++)
        if (strcmp(argv[1], c->name) == 0)
            return c->run(argc - 1, argv + 1);
    fprintf(stderr, "cse-convert: unknown command '%s' (try --help)\n", argv[1]);
    return CLI_USAGE;
}
