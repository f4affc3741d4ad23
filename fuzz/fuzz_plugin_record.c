/* SPDX-License-Identifier: MIT */
/* Fuzz target: a patient record as a host hands it to the plug-in (FHIR R4
 * JSON): parse, find markers, the patient-facing view, suggestions, dump. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *json = malloc(size + 1);
    cse__rec r;
    cse__pmarkers pm;
    cse_error err;

    if (json == NULL)
        return 0;
    memcpy(json, data, size);
    json[size] = '\0';
    memset(&r, 0, sizeof(r));
    memset(&pm, 0, sizeof(pm));
    cse_error_clear(&err);
    if (cse__rec_parse(json, true, &r, &err) == CSE_OK) {
        json_t *s;
        if (cse__rec_markers(&r, &pm, &err) == CSE_OK)
            cse__pmarkers_clear(&pm);
        if ((s = cse__rec_suggestions(&r, &err)) != NULL)
            json_decref(s);
        cse_error_clear(&err);
        cse__rec_patient_view(&r, &err);
        free(cse__rec_dump(&r));
    }
    cse__rec_clear(&r);
    free(json);
    return 0;
}
