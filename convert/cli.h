/* cse-convert: shared helpers of the command-line front end. Not installed. */
#ifndef CSE_CLI_H
#define CSE_CLI_H

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

#endif
