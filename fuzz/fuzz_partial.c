/* SPDX-License-Identifier: MIT */
/* Fuzz target: the partial reader, merge, and every report format. */
#include <stdint.h>
#include <stdio.h>

#include <csemarker/csemarker.h>
#include <csemarker/report.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *formats[] = {"csv", "json", "measurereport", "html"};
    cse_partial *p = NULL, *all = cse_partial_new();
    FILE *devnull = fopen("/dev/null", "w");
    cse_error err;

    cse_error_clear(&err);
    if (devnull != NULL && all != NULL &&
        cse_partial_read_memory((const char *)data, size, "fuzz", &p, &err) == CSE_OK &&
        cse_partial_merge(all, p, &err) == CSE_OK) {
        for (size_t i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
            cse_report_options opt = {0};
            if (cse_report_format_parse(formats[i], &opt.format) == CSE_OK)
                cse_report_write(all, &opt, devnull, &err);
        }
    }
    cse_partial_free(p);
    cse_partial_free(all);
    if (devnull != NULL)
        fclose(devnull);
    return 0;
}
