/* SPDX-License-Identifier: MIT */
/* Fuzz target: the SNOMED CT RF2 line parser and the index (cache) loader.
 * An input that starts with the cache magic is opened as an index image and
 * looked up in; any other input is parsed as each kind of RF2 file. Aborts
 * when an error lacks its line or text, or when a row breaks what the parser
 * promises its callback. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <csemarker/rules.h>
#include <csemarker/snomed.h>

#include "rf2.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_snomed: %s\n", what);
    abort();
}

static cse_code on_row(void *ctx, const rf2_row *row, long line, cse_error *err)
{
    const char *end = ctx;

    (void)err;
    if (line < 2 || row->effective < 19000101 || row->effective > 99991231)
        fail("a row without its line or date");
    if (row->term != NULL && (row->term_len == 0 || row->term + row->term_len > end))
        fail("a term outside the input");
    return CSE_OK;
}

static void lookups(const cse_snomed *s, const uint8_t *data, size_t size)
{
    static const char *const ids[] = {"716565009",      "127785005",  "30249999999119",
                                      "10029999999109", "2793879015", "1"};
    cse_snomed_lookup_result r;

    for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
        if (cse_snomed_lookup(s, ids[i], &r) != CSE_OK)
            fail("lookup refused a valid argument");
        if (r.preferred_term != NULL &&
            ((const uint8_t *)r.preferred_term < data ||
             (const uint8_t *)r.preferred_term >= data + size ||
             memchr(r.preferred_term, '\0',
                    (size_t)(data + size - (const uint8_t *)r.preferred_term)) == NULL))
            fail("a preferred term outside the image");
        (void)cse_snomed_is_immunisation(s, ids[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Exactly size bytes, so that a read past the end shows. */
    uint8_t *buf = malloc(size ? size : 1);

    if (buf == NULL)
        abort();
    memcpy(buf, data, size);
    if (size >= 8 && memcmp(buf, "CSESCTIX", 8) == 0) {
        cse_error err;
        cse_snomed *s;

        cse_error_clear(&err);
        s = cse__snomed_from_image(buf, size, &err);
        if (s == NULL && (err.code != CSE_ERR_INTEGRITY || err.message[0] == '\0'))
            fail("an image refused without a reason");
        if (s != NULL)
            lookups(s, buf, size);
        cse_snomed_free(s);
    } else {
        for (int kind = 0; kind < RF2_KINDS; kind++) {
            cse_error err;
            cse_code rc;

            cse_error_clear(&err);
            rc = cse__rf2_parse((rf2_kind)kind, (const char *)buf, size, "fuzz", on_row,
                                buf + size, &err);
            if (rc != CSE_OK &&
                (err.code != rc || err.line < 1 || err.message[0] == '\0' ||
                 strcmp(err.source, "fuzz") != 0))
                fail("an RF2 error without its line, source or text");
        }
    }
    free(buf);
    return 0;
}
