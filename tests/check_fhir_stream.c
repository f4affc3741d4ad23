/* SPDX-License-Identifier: MIT */
/* The FHIR reader's streamed Bundle path (cse_fhir_read_file on a Bundle
 * file, entry by entry) against the in-memory path (cse_fhir_read_memory,
 * the whole document): same entries in the same order, and the same error
 * code, path and line on bad input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <csemarker/fhirread.h>

#include "testutil.h"

#define PATIENT                                                                          \
    "{\"resourceType\":\"Patient\",\"id\":\"p1\",\"identifier\":[{\"system\":"           \
    "\"https://fhir.nhs.uk/Id/nhs-number\",\"value\":\"9990010005\"}]}"
#define ENCOUNTER                                                                        \
    "{\"resourceType\":\"Encounter\",\"id\":\"e1\",\"status\":\"finished\",\"period\":"  \
    "{\"start\":\"2025-03-14T09:30:00Z\"}}"
/* Strings holding brackets, quotes and a nested key named "entry". */
#define OBS(id, enc)                                                                     \
    "{\"resourceType\":\"Observation\",\"id\":\"" id "\",\"status\":\"final\","          \
    "\"code\":{\"text\":\"a ]} \\\"[{ \\\\\",\"coding\":[{\"system\":"                   \
    "\"http://snomed.info/sct\",\"code\":\"163020007\"}]},\"entry\":[{\"x\":\"]\"}],"    \
    "\"encounter\":{\"reference\":\"" enc "\"},"                                         \
    "\"effectiveDateTime\":\"2025-03-14T09:35:00Z\"}"

typedef struct result {
    cse_code rc;
    cse_error err;
    char ids[512];
} result;

static void run(const char *json, bool from_file, result *out)
{
    cse_record *rec = cse_record_new();
    cse_sink *sink = cse_record_sink_new(rec);
    char path[] = "fhir_stream_XXXXXX";
    size_t n = 0;

    memset(out, 0, sizeof(*out));
    if (from_file) {
        int fd = mkstemp(path);
        FILE *fp;
        ck_assert_int_ge(fd, 0);
        ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
        ck_assert_uint_eq(fwrite(json, 1, strlen(json), fp), strlen(json));
        ck_assert_int_eq(fclose(fp), 0);
        out->rc = cse_fhir_read_file(path, NULL, sink, &out->err);
        unlink(path);
    } else {
        out->rc = cse_fhir_read_memory(json, strlen(json), path, NULL, sink, &out->err);
    }
    for (size_t i = 0; out->rc == CSE_OK && i < cse_record_entry_count(rec); i++)
        n += (size_t)snprintf(out->ids + n, sizeof(out->ids) - n, "%s;",
                              cse_record_entry(rec, i)->id);
    cse_sink_free(sink);
    cse_record_free(rec);
}

/* Reads json both ways and checks the outcomes agree; returns the code. */
static cse_code both(const char *json, result *file)
{
    result mem;
    run(json, false, &mem);
    run(json, true, file);
    ck_assert_int_eq(file->rc, mem.rc);
    ck_assert_str_eq(file->ids, mem.ids);
    if (mem.rc != CSE_OK) {
        ck_assert_str_eq(file->err.path, mem.err.path);
        ck_assert_int_eq(file->err.line, mem.err.line);
        ck_assert_str_eq(file->err.message, mem.err.message);
    }
    return file->rc;
}

START_TEST(test_fhir_stream_file_delivers_same_entries_in_same_order)
{
    result r;
    ck_assert_int_eq(
        both(
            "\n { \"resourceType\" : \"Bundle\", \"type\":\"collection\",\n"
            "  \"meta\":{\"tag\":[{\"code\":\"entry\"}]}, \"entry\" : [\n"
            "  {\"fullUrl\":\"urn:uuid:enc-1\",\"resource\":" ENCOUNTER "} ,\n"
            "  {\"resource\":" OBS(
                "o2", "Encounter/e1") "},\n"
                                      "  {\"resource\":" PATIENT "},\n"
                                      "  {\"resource\":" OBS(
                                          "o1", "urn:uuid:enc-1") "}\n"
                                                                  " ], "
                                                                  "\"timestamp\":\"2025-"
                                                                  "03-15T00:00:00Z\" }\n",
            &r),
        CSE_OK);
    ck_assert_ptr_nonnull(strstr(r.ids, "o1;"));
    ck_assert_ptr_nonnull(strstr(r.ids, "o2;"));
}
END_TEST

START_TEST(test_fhir_stream_bad_input_reports_same_code_path_and_line)
{
    static const char *const bad[] = {
        /* truncated inside an entry */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "},\n{\"reso",
        /* duplicate key inside an entry's resource */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "},\n"
        "{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"a\",\"id\":\"b\"}}]}",
        /* two entry arrays */
        "{\"resourceType\":\"Bundle\",\"entry\":[],\"entry\":[{\"resource\":" PATIENT
        "}]}",
        /* trailing comma, and an entry that is not an object */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "},]}",
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "},1]}",
        /* an entry without a resource object, after a version clash */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "},"
        "{\"resource\":{\"resourceType\":\"ProcedureRequest\",\"id\":\"x\"}},"
        "{\"fullUrl\":\"x\"}]}",
        /* a bad date found while scanning, a syntax error after the entries */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT
        "},{\"resource\":"
        "{\"resourceType\":\"Observation\",\"id\":\"o\",\"code\":{\"text\":\"w\"},"
        "\"effectiveDateTime\":\"14/03/2025\"}}]}",
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT "}],\n\"x\":}",
        /* too deep, and not a Bundle */
        "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT ",\"a\":"
        "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]"
        "]"
        "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]}",
        "[" PATIENT "]",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        result r;
        ck_assert_msg(both(bad[i], &r) != CSE_OK, "case %zu accepted", i);
    }
}
END_TEST

Suite *make_fhir_stream_suite(void)
{
    Suite *s = suite_create("fhir_stream");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fhir_stream_file_delivers_same_entries_in_same_order);
    tcase_add_test(tc, test_fhir_stream_bad_input_reports_same_code_path_and_line);
    suite_add_tcase(s, tc);
    return s;
}
