/* SPDX-License-Identifier: MIT */
/* Fuzz target: the FHIR reader (R4 and STU3 bundles and NDJSON), feeding the
 * GP2GP writer, so that anything the reader accepts is also written. */
#include <stdint.h>
#include <stdio.h>

#include <csemarker/csemarker.h>
#include <csemarker/fhirread.h>
#include <csemarker/gp2gp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cse_gp2gp_write_options wopt = {0};
    FILE *devnull = fopen("/dev/null", "w");
    cse_error err;
    cse_sink *s;

    if (devnull == NULL)
        return 0;
    wopt.receiver_ods = "Y01002";
    wopt.sender_ods = "Y01001";
    cse_error_clear(&err);
    s = cse_gp2gp_writer_new(devnull, &wopt, &err);
    if (s != NULL)
        cse_fhir_read_memory((const char *)data, size, "fuzz", NULL, s, &err);
    cse_sink_free(s);
    fclose(devnull);
    return 0;
}
