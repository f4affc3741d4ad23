/* SPDX-License-Identifier: MIT */
/* Fuzz target: the repair pass over GP2GP XML. */
#include <stdint.h>
#include <stdio.h>

#include <csemarker/csemarker.h>
#include <csemarker/repair.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cse_repair_report report;
    FILE *devnull = fopen("/dev/null", "w");
    cse_error err;

    if (devnull == NULL)
        return 0;
    cse_error_clear(&err);
    cse_gp2gp_repair_memory((const char *)data, size, "fuzz", devnull, NULL, &report,
                            &err);
    fclose(devnull);
    return 0;
}
