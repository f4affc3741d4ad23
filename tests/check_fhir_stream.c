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

#include "farena.h"
#include "strmap.h"
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

/* Writes json to a temporary file and reads it with opt. */
static cse_code read_file_opt(const char *json, const cse_fhir_read_options *opt,
                              size_t *entries, cse_error *err)
{
    cse_record *rec = cse_record_new();
    cse_sink *sink = cse_record_sink_new(rec);
    char path[] = "fhir_stream_XXXXXX";
    int fd = mkstemp(path);
    FILE *fp;
    cse_code rc;

    ck_assert_int_ge(fd, 0);
    ck_assert_ptr_nonnull(fp = fdopen(fd, "w"));
    ck_assert_uint_eq(fwrite(json, 1, strlen(json), fp), strlen(json));
    ck_assert_int_eq(fclose(fp), 0);
    rc = cse_fhir_read_file(path, opt, sink, err);
    unlink(path);
    *entries = cse_record_entry_count(rec);
    cse_sink_free(sink);
    cse_record_free(rec);
    return rc;
}

/* A Bundle of n Observations, each entry about 330 bytes. */
static char *many_entries(size_t n, size_t pad)
{
    size_t cap = 256 + n * (400 + pad), len;
    char *json = malloc(cap), *filler = calloc(1, pad + 1);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_nonnull(filler);
    memset(filler, 'x', pad);
    len =
        (size_t)snprintf(json, cap,
                         "{\"resourceType\":\"Bundle\",\"entry\":[{\"resource\":" PATIENT
                         "},{\"resource\":" ENCOUNTER "}");
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(
            json + len, cap - len,
            ",{\"resource\":{\"resourceType\":\"Observation\",\"id\":\"o%zu\",\"status\":"
            "\"final\",\"code\":{\"text\":\"t%s\",\"coding\":[{\"system\":\"http://"
            "snomed.info/sct\",\"code\":\"163020007\"}]},\"encounter\":{\"reference\":"
            "\"Encounter/e1\"},\"effectiveDateTime\":\"2025-03-14T09:35:00Z\"}}",
            i, filler);
    snprintf(json + len, cap - len, "]}");
    free(filler);
    return json;
}

/* The size of a Bundle file is not limited (memory does not grow with it):
 * max_bytes limits only a document held whole. */
START_TEST(test_fhir_stream_file_larger_than_max_bytes_is_read)
{
    cse_fhir_read_options opt = {0};
    cse_error err = {0};
    char *json = many_entries(200, 0);
    size_t n = 0;

    opt.max_bytes = 16384;
    ck_assert_uint_gt(strlen(json), opt.max_bytes);
    ck_assert_int_eq(read_file_opt(json, &opt, &n, &err), CSE_OK);
    ck_assert_uint_eq(n, 201); /* the Encounter and its 200 Observations */
    free(json);
}
END_TEST

/* An entry larger than max_line is not streamed, and a file larger than
 * max_bytes is then refused whole, with the limit named. */
START_TEST(test_fhir_stream_entry_over_max_line_is_refused)
{
    cse_fhir_read_options opt = {0};
    cse_error err = {0};
    char *json = many_entries(40, 2000);
    size_t n = 0;

    opt.max_bytes = 16384;
    opt.max_line = 1024;
    ck_assert_int_eq(read_file_opt(json, &opt, &n, &err), CSE_ERR_LIMIT);
    ck_assert_ptr_nonnull(strstr(err.message, "larger than 16384 bytes"));
    free(json);
}
END_TEST

/* What the spill arena holds past its ordinary memory survives its pages
 * being let go (the resident set passes the budget here). */
START_TEST(test_fhir_stream_arena_keeps_spilled_data)
{
    cse__farena *a = cse__farena_new();
    enum { N = 48 * 1024, SIZE = 1024 };
    unsigned char **blocks = calloc(N, sizeof(*blocks));
    cse__smap m = {0};
    char key[32], val[32];

    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(blocks);
    for (size_t i = 0; i < N; i++) {
        ck_assert_ptr_nonnull(blocks[i] = cse__farena_alloc(a, SIZE));
        ck_assert_uint_eq(blocks[i][SIZE - 1], 0); /* zeroed */
        memset(blocks[i], (int)(i * 7 % 251), SIZE);
        cse__farena_tick(a);
    }
    ck_assert_uint_gt(cse__farena_spilled(a), (size_t)CSE__FARENA_BUDGET);
    m.arena = a;
    for (size_t i = 0; i < 100000; i++) {
        snprintf(key, sizeof(key), "Observation/%zu", i);
        snprintf(val, sizeof(val), "%zu", i * 3);
        ck_assert_int_eq(cse__smap_put(&m, key, val, i % 2 == 0), CSE_OK);
    }
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < SIZE; k += 97)
            ck_assert_uint_eq(blocks[i][k], i * 7 % 251);
    for (size_t i = 0; i < 100000; i += 7) {
        snprintf(key, sizeof(key), "Observation/%zu", i);
        snprintf(val, sizeof(val), "%zu", i * 3);
        ck_assert_str_eq(cse__smap_get(&m, key), val);
    }
    ck_assert_int_eq(cse__smap_put(&m, "Observation/1", "new", false), CSE_OK);
    ck_assert_str_eq(cse__smap_get(&m, "Observation/1"), "new");
    ck_assert(!cse__smap_has(&m, "Observation/100000"));
    cse__smap_free(&m);
    free(blocks);
    cse__farena_free(a);
}
END_TEST

Suite *make_fhir_stream_suite(void)
{
    Suite *s = suite_create("fhir_stream");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_fhir_stream_file_delivers_same_entries_in_same_order);
    tcase_add_test(tc, test_fhir_stream_bad_input_reports_same_code_path_and_line);
    tcase_add_test(tc, test_fhir_stream_file_larger_than_max_bytes_is_read);
    tcase_add_test(tc, test_fhir_stream_entry_over_max_line_is_refused);
    tcase_add_test(tc, test_fhir_stream_arena_keeps_spilled_data);
    /* The arena's test writes 48 MB to a temporary file. */
    tcase_set_timeout(tc, 60);
    suite_add_tcase(s, tc);
    return s;
}
