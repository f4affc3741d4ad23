/* SPDX-License-Identifier: MIT */
/* Fuzz target: cse-report extract over NDJSON lines, with an oracle for its
 * fast path. Each line goes through cse_extract_add_resource_json, which
 * skips most lines (or reads Patients) with its own validating scanner and
 * gives the rest to jansson. The scanner must never accept a line jansson
 * cannot parse: when jansson refuses a line and extract accepts it, this
 * target aborts, so the fuzzer (or the replay in make check) reports it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <csemarker/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cse_extract_options o = {0};
    const char *p = (const char *)data, *end = p + size;
    cse_extract *x;
    cse_extract_stats st;
    long line = 0;

    o.practice_ods = "Y09999";
    o.period_start.year = 2025, o.period_start.month = 1, o.period_start.day = 1;
    o.period_end.year = 2025, o.period_end.month = 3, o.period_end.day = 31;
    o.period_start.precision = o.period_end.precision = CSE_TIME_DAY;
    o.quiet = 1;
    if ((x = cse_extract_new(&o, NULL)) == NULL)
        return 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        cse_error err;
        json_error_t jerr;
        json_t *j;
        cse_code rc;

        line++;
        cse_error_clear(&err);
        rc = cse_extract_add_resource_json(x, p, n, "fuzz", line, &err);
        j = json_loadb(p, n, 0, &jerr);
        if (j == NULL && rc == CSE_OK)
            abort(); /* the fast path accepted what jansson refuses */
        json_decref(j);
        p += n + (nl != NULL);
    }
    cse_extract_get_stats(x, &st, NULL);
    cse_extract_free(x);
    return 0;
}
