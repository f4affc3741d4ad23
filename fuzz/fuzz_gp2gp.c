/* SPDX-License-Identifier: MIT */
/* Fuzz target: the GP2GP reader, feeding both FHIR writers, so that anything
 * the reader accepts is also written. */
#include <stdint.h>
#include <stdio.h>

#include <csemarker/csemarker.h>
#include <csemarker/fhirwrite.h>
#include <csemarker/gp2gp.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cse_gp2gp_read_options opt = {0};
    FILE *devnull = fopen("/dev/null", "w");
    cse_error err;
    cse_sink *s;

    if (devnull == NULL)
        return 0;
    opt.max_text = 64 * 1024;
    cse_error_clear(&err);
    s = cse_fhir_r4_writer_new(devnull, NULL, &err);
    if (s != NULL)
        cse_gp2gp_read_memory((const char *)data, size, "fuzz", &opt, s, &err);
    cse_sink_free(s);
    cse_error_clear(&err);
    s = cse_fhir_stu3_writer_new(devnull, NULL, &err);
    if (s != NULL)
        cse_gp2gp_read_memory((const char *)data, size, "fuzz", &opt, s, &err);
    cse_sink_free(s);
    fclose(devnull);
    return 0;
}
