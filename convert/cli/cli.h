/* SPDX-License-Identifier: MIT */
/* cse-convert: shared helpers of the command-line front end. Not installed. */
#ifndef CSE_CLI_H
#define CSE_CLI_H

#include <stdbool.h>
#include <stdio.h>
#include <sys/types.h>

#include <csemarker/csemarker.h>

/* Exit statuses, documented in cse-convert(1). */
enum {
    CLI_OK = 0,       /* done */
    CLI_USAGE = 2,    /* bad command line */
    CLI_INPUT = 3,    /* the input was rejected (parse, structure, limits) */
    CLI_IO = 4,       /* a file could not be read or written */
    CLI_REVIEW = 5,   /* done, but entries need clinician review (inspect) */
    CLI_INTERNAL = 70 /* out of memory or a bug */
};

/* Output that appears only when complete: a temporary file in the target's
 * folder, renamed over the target on commit and removed on abort. With no
 * path (or "-") it is stdout; a target that is a device or a pipe is written
 * directly (direct), as stdout is. */
struct cli_output {
    FILE *fp;
    char *path;  /* target, NULL for stdout */
    char *tmp;   /* temporary file, NULL for stdout and direct */
    bool direct; /* path is a device or a pipe, opened as it is */
    char *buf;   /* the temporary file's stdio buffer, NULL for stdio's own */
    int fd;      /* the temporary file, which fp writes through */
    off_t done;  /* bytes written to it */
    off_t sent;  /* of those, bytes handed to the disk */
};

/* The program name that prefixes messages ("cse-convert" unless a main()
 * sets it). */
extern const char *cli_progname;

/* Opens the output; NULL with a message on stderr when it cannot. */
FILE *cli_output_open(const char *path, struct cli_output *o);
/* Flushes, closes and renames into place. Returns CLI_OK or CLI_IO (and then
 * nothing is left behind). */
int cli_output_commit(struct cli_output *o);
/* Closes and removes the temporary file; stdout is left alone. */
void cli_output_abort(struct cli_output *o);

/* Prints "cse-convert: " + the formatted error to stderr and returns the exit
 * status for its code. */
int cli_fail(const char *prog, const cse_error *err);

/* A subcommand of a program: `prog NAME ARGS...` calls run(argc, argv) with
 * argv[0] = NAME. */
struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv);
};

/* The shared main(): --help and -h print usage to stdout, --version prints
 * "PROG (csemarker) VERSION", a known command runs, anything else is a usage
 * error. Sets cli_progname. Returns the exit status. */
int cli_main(const char *prog, const struct cli_command *commands,
             void (*usage)(FILE *out), int argc, char **argv);

/* Commands, one per file convert/cli_NAME.c. */
int cmd_inspect(int argc, char **argv);
int cmd_ehr2fhir(int argc, char **argv);
int cmd_repair(int argc, char **argv);
int cmd_fhir2ehr(int argc, char **argv);

#endif
