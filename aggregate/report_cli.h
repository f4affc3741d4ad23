/* SPDX-License-Identifier: MIT */
/* cse-report: the commands of the ICS report front end. Not installed. */
#ifndef CSE_REPORT_CLI_H
#define CSE_REPORT_CLI_H

/* Each returns an exit status from convert/cli.h (CLI_OK, CLI_USAGE, ...). */
int report_cmd_extract(int argc, char **argv);
int report_cmd_merge(int argc, char **argv);
int report_cmd_synth(int argc, char **argv);
int report_cmd_link(int argc, char **argv);
int report_cmd_keygen(int argc, char **argv);

#endif
