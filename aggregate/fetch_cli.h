/* SPDX-License-Identifier: MIT */
/* cse-report fetch: the subcommand's entry point, for cse-report's command
 * table. Not installed. */
#ifndef CSE_FETCH_CLI_H
#define CSE_FETCH_CLI_H

/* Runs `cse-report fetch`; argv[0] is "fetch". Returns the exit status
 * documented in cse-report(1). */
int cmd_fetch(int argc, char **argv);

#endif
