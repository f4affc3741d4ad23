/* SPDX-License-Identifier: MIT */
/* cse-convert: GP2GP EHR extracts to and from FHIR, and the marker repair
 * pass. A thin front end: all logic lives in libcsemarker. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
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
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(out, "  %-10s %s\n", c->name, c->summary);
    fprintf(out, "\nExit status: 0 done, 2 usage, 3 input rejected, 4 I/O error,\n"
                 "5 done with entries for clinician review, 70 internal error.\n"
                 "See cse-convert(1).\n");
}

int main(int argc, char **argv)
{
    return cli_main("cse-convert", commands, usage, argc, argv);
}
