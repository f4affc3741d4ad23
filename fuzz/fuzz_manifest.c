/* SPDX-License-Identifier: MIT */
/* Fuzz target: the Bulk Data completion manifest parser of cse-report fetch. */
#include <stdint.h>
#include <string.h>

#include "fetch_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cse__fetch_manifest m;
    cse_error err;

    memset(&m, 0, sizeof(m));
    cse_error_clear(&err);
    if (cse__fetch_manifest_parse((const char *)data, size,
                                  "Patient,Flag,Observation,Condition", &m,
                                  &err) == CSE_OK)
        cse__fetch_manifest_free(&m);
    return 0;
}
