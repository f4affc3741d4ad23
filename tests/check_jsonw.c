/* SPDX-License-Identifier: MIT */
/* The FHIR writers' JSON builder (convert/jsonw.c) against jansson: every
 * pack format the writers use, and the builder's accessors, must make what
 * json_pack and json_object_set_new make, and cse__jw_dump must write the
 * bytes of json_dumps (JSON_COMPACT and JSON_INDENT). */
#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "jsonw.h"
#include "testutil.h"

/* The dumps of j and v must match compact and indented; both NULL is a
 * match too (the same failure). */
static void same_json(const json_t *j, const cse__jw *v, const char *what)
{
    static const size_t flags[] = {JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(4)};
    static const int indents[] = {0, 2, 4};

    ck_assert_msg((j == NULL) == (v == NULL), "%s: jansson %s, jsonw %s", what,
                  j ? "made a value" : "failed", v ? "made a value" : "failed");
    for (size_t i = 0; j && i < sizeof(flags) / sizeof(flags[0]); i++) {
        char *text = json_dumps(j, flags[i] | JSON_ENCODE_ANY);
        cse__jw_buf b = {.max = 1u << 20};

        ck_assert_ptr_nonnull(text);
        ck_assert_int_eq(cse__jw_dump(v, &b, indents[i]), 0);
        ck_assert_msg(b.len == strlen(text) && memcmp(b.data, text, b.len) == 0,
                      "%s (indent %d): jsonw\n%.*s\njansson\n%s", what, indents[i],
                      (int)b.len, b.data, text);
        free(text);
        cse__jw_buf_free(&b);
    }
}

/* Packs the same format and arguments with both (no 'o' in fmt). */
#define SAME_PACK(a, fmt, ...)                                                           \
    do {                                                                                 \
        json_t *j_ = json_pack(fmt, __VA_ARGS__);                                        \
        same_json(j_, cse__jw_pack(a, fmt, __VA_ARGS__), fmt);                           \
        json_decref(j_);                                                                 \
    } while (0)

static const char long_url[] = "https://fhir.nhs.uk/STU3/StructureDefinition/"
                               "GPConnect-StructuredRecord-Bundle-1";

START_TEST(test_jsonw_pack_formats_match_jansson)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);

    ck_assert_ptr_nonnull(a);
    SAME_PACK(a, "{s:s}", "text", "a note");
    SAME_PACK(a, "{s:s,s:s}", "system", "http://x", "value", "9434765919");
    SAME_PACK(a, "{s:s,s:s,s:s}", "system", "a", "code", "b", "display", "c");
    SAME_PACK(a, "{s:[s]}", "profile", long_url);
    SAME_PACK(a, "[{s:s}]", "text", "dosage");
    SAME_PACK(a, "[{s:s,s:s}]", "system", "s", "value", "v");
    SAME_PACK(a, "[{s:s,s:s,s:s}]", "system", "s", "code", "NOPAT", "display", "d");
    SAME_PACK(a, "[{s:{s:s}}]", "attachment", "url", "file://x");
    SAME_PACK(a, "{s:[{s:s,s:s}]}", "coding", "system", "s", "code", "UNK");
    SAME_PACK(a, "{s:[{s:s,s:s,s:s}]}", "coding", "system", "s", "code", "c", "display",
              "d");
    SAME_PACK(a, "[{s:[{s:s,s:s,s:s}]}]", "coding", "system", "s", "code", "c", "display",
              "d");
    SAME_PACK(a, "[{s:[{s:s,s:s,s:s}]},{s:[{s:s,s:s,s:s}]}]", "coding", "system", "a",
              "code", "b", "display", "c", "coding", "system", "d", "code", "e",
              "display", "f");
    SAME_PACK(a, "[{s:s,s:[{s:s,s:s}]}]", "url", "u", "extension", "url", "descriptionId",
              "valueId", "123");
    SAME_PACK(a, "[{s:[{s:[{s:s,s:s,s:s}]}],s:s}]", "type", "coding", "system", "s",
              "code", "REC", "display", "recorder", "individual", "x");
    /* s*: a NULL string leaves its member out. */
    SAME_PACK(a, "{s:[{s:s,s:s,s:s*}]}", "coding", "system", "s", "code", "c", "display",
              "d");
    SAME_PACK(a, "{s:[{s:s,s:s,s:s*}]}", "coding", "system", "s", "code", "c", "display",
              (const char *)NULL);
    SAME_PACK(a, "{s:s,s:{s:s,s:s,s:s*}}", "url", "u", "valueCoding", "system", "s",
              "code", "c", "display", (const char *)NULL);
    SAME_PACK(a, "{s:s*,s:i}", "entry", (const char *)NULL, "line", 12);
    SAME_PACK(a, "{s:s*,s:i}", "entry", "id", "line", -3);
    SAME_PACK(a, "{s:s*,s:s*,s:I,s:i}", "what", "w", "why", (const char *)NULL, "count",
              (json_int_t)1234567890123LL, "firstLine", 0);
    SAME_PACK(a, "[s*,s]", (const char *)NULL, "b");
    SAME_PACK(a, "{s:b,s:b,s:n}", "t", 1, "f", 0, "z");
    SAME_PACK(a, "{}", 0);
    SAME_PACK(a, "[]", 0);
    /* s: a NULL string or one that is not UTF-8 fails the whole pack. */
    SAME_PACK(a, "{s:s,s:s}", "system", "s", "value", (const char *)NULL);
    SAME_PACK(a, "[{s:s}]", "text", (const char *)NULL);
    SAME_PACK(a, "{s:s}", "text", "bad \xff byte");
    SAME_PACK(a, "{s:s*}", "text", "bad \xc3 byte");
    SAME_PACK(a, "{s:[{s:s,s:s,s:s*}]}", "coding", "system", "s", "code", "c", "display",
              "\xed\xa0\x80");
    cse__jw_arena_free(a);
}
END_TEST

/* 'o' takes the caller's value: NULL fails the pack, o* leaves it out. */
START_TEST(test_jsonw_pack_o_matches_jansson)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    json_t *j;
    cse__jw *v;

    j = json_pack("{s:s,s:s,s:o}", "resourceType", "Patient", "id", "X", "meta",
                  json_pack("{s:[s]}", "profile", "p"));
    v = cse__jw_pack(a, "{s:s,s:s,s:o}", "resourceType", "Patient", "id", "X", "meta",
                     cse__jw_pack(a, "{s:[s]}", "profile", "p"));
    same_json(j, v, "{s:s,s:s,s:o}");
    json_decref(j);

    j = json_pack("{s:s,s:s,s:o}", "resourceType", "Patient", "id", "X", "meta",
                  (json_t *)NULL);
    v = cse__jw_pack(a, "{s:s,s:s,s:o}", "resourceType", "Patient", "id", "X", "meta",
                     (cse__jw *)NULL);
    same_json(j, v, "o NULL");

    j = json_pack("[o]", (json_t *)NULL);
    same_json(j, cse__jw_pack(a, "[o]", (cse__jw *)NULL), "[o] NULL");
    j = json_pack("[o]", json_string("r"));
    same_json(j, cse__jw_pack(a, "[o]", cse__jw_string(a, "r")), "[o]");
    json_decref(j);

    j = json_pack("{s:o*,s:s}", "a", (json_t *)NULL, "b", "c");
    same_json(j, cse__jw_pack(a, "{s:o*,s:s}", "a", (cse__jw *)NULL, "b", "c"), "o*");
    json_decref(j);

    j = json_pack("{s:[o]}", "encounter", json_pack("{s:s}", "reference", "Encounter/1"));
    v = cse__jw_pack(a, "{s:[o]}", "encounter",
                     cse__jw_pack(a, "{s:s}", "reference", "Encounter/1"));
    same_json(j, v, "{s:[o]}");
    json_decref(j);

    j = json_pack("[{s:s,s:o}]", "type", "derived-from", "target", json_true());
    v = cse__jw_pack(a, "[{s:s,s:o}]", "type", "derived-from", "target", cse__jw_true());
    same_json(j, v, "[{s:s,s:o}]");
    json_decref(j);
    cse__jw_arena_free(a);
}
END_TEST

/* Strings the serialiser must escape exactly as jansson does, and UTF-8 that
 * both must refuse. */
static const char *const strings[] = {
    "",
    "plain",
    "quote \" and backslash \\",
    "slash / stays",
    "\b\f\n\r\t",
    "\x01\x02\x1f\x7f",
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "\xef\xbf\xbf",
    "\xf4\x8f\xbf\xbf",
    "line\nbreak \"quoted\" \\u0000",
    /* Longer than eight bytes, with the special bytes at every offset. */
    "0123456789abcdef\"0123456789abcdef\\0123456789abcdef\x1f"
    "0123456789",
    "a\"bcdefghi\\jklmnopq\nrstuvwxyz\x01"
    "ABCDEFG\tHIJKLMNOP\rQRSTUVWXYZ",
    "abcdefg\"\"abcdefg\\\\abcdefgh\x7f\x7f\x7f\x7f\x7f\x7f\x7f\x7f!",
    "twelve bytes\xc3\xa9twelve bytes\xe2\x82\xac 0123456789\xf0\x9f\x98\x80"
    "end",
    /* Four to seven bytes, read as two overlapping words. */
    "ab\"d",
    "abc\x01",
    "\\bcd",
    "\xc3\xa9"
    "ab",
    "a\xe2\x82\xac",
    "abcdefg",
    "abcde\nf",
    "\x7f"
    "bcd",
    "abcdefgh",
    "abcdefgh\"",
    "abcdefghijklmno\t",
    /* not UTF-8 */
    "ab\xff"
    "d",
    "abcdef\xc3",
    "abcdefghijk\xc3(",
    "\xff",
    "\xc0\xaf",
    "\xc3",
    "\xe0\x80\xaf",
    "\xed\xa0\x80",
    "\xf4\x90\x80\x80",
    "\xf5\x80\x80\x80",
    "\x80",
    "ok \xe2\x82",
    "0123456789abcdef0123456789\xff",
    "0123456789abcdef\xc3\xa9 0123456789abcdef\xed\xbf\xbf",
};

START_TEST(test_jsonw_strings_match_jansson)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    const char *s = strings[_i];
    json_t *j = json_string(s), *jo = json_object();
    cse__jw *v = cse__jw_string(a, s), *vo = cse__jw_object(a);

    same_json(j, v, "string");
    if (v)
        ck_assert_str_eq(cse__jw_string_value(v), s);
    /* As a key too. */
    ck_assert_int_eq(json_object_set_new(jo, s, json_integer(1)),
                     cse__jw_object_set(a, vo, s, cse__jw_integer(a, 1)));
    same_json(jo, vo, "key");
    json_decref(j);
    json_decref(jo);
    cse__jw_arena_free(a);
}
END_TEST

START_TEST(test_jsonw_null_string_refused)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);

    ck_assert_ptr_null(cse__jw_string(a, NULL));
    cse__jw_arena_free(a);
}
END_TEST

/* Setting an existing key replaces its value where it stands; deleting and
 * setting again puts it last; NULL values are refused, as in jansson. */
START_TEST(test_jsonw_object_set_and_del_match_jansson)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    json_t *j = json_object();
    cse__jw *v = cse__jw_object(a);
    const char *keys[] = {"resourceType", "id", "meta", "identifier", "status"};

    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(json_object_set_new(j, keys[i], json_string(keys[i])), 0);
        ck_assert_int_eq(cse__jw_object_set(a, v, keys[i], cse__jw_string(a, keys[i])),
                         0);
    }
    json_object_set_new(j, "id", json_integer(7));
    cse__jw_object_set(a, v, "id", cse__jw_integer(a, 7));
    same_json(j, v, "replace in place");
    ck_assert_int_eq(json_object_del(j, "identifier"), 0);
    ck_assert_int_eq(cse__jw_object_del(v, "identifier"), 0);
    ck_assert_int_eq(cse__jw_object_del(v, "identifier"), -1);
    json_object_set_new(j, "extension", json_array());
    cse__jw_object_set(a, v, "extension", cse__jw_array(a));
    json_object_set_new(j, "identifier", json_false());
    cse__jw_object_set(a, v, "identifier", cse__jw_false());
    same_json(j, v, "delete and set again");
    ck_assert_int_eq(json_object_set_new(j, "x", NULL), -1);
    ck_assert_int_eq(cse__jw_object_set(a, v, "x", NULL), -1);
    ck_assert_uint_eq(cse__jw_object_size(v), json_object_size(j));
    ck_assert_ptr_null(cse__jw_object_get(v, "x"));
    ck_assert_str_eq(cse__jw_string_value(cse__jw_object_get(v, "status")), "status");
    json_decref(j);
    cse__jw_arena_free(a);
}
END_TEST

START_TEST(test_jsonw_arrays_match_jansson)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    json_t *j = json_array();
    cse__jw *v = cse__jw_array(a);

    same_json(j, v, "empty array");
    for (int i = 0; i < 100; i++) {
        json_array_append_new(j, json_integer(i));
        cse__jw_array_append(a, v, cse__jw_integer(a, i));
    }
    json_array_insert_new(j, 0, json_string("first"));
    cse__jw_array_insert(a, v, 0, cse__jw_string(a, "first"));
    json_array_append_new(j, json_pack("{s:[]}", "empty"));
    cse__jw_array_append(a, v, cse__jw_pack(a, "{s:[]}", "empty"));
    json_array_append_new(j, json_object());
    cse__jw_array_append(a, v, cse__jw_object(a));
    same_json(j, v, "array");
    ck_assert_int_eq(cse__jw_array_append(a, v, NULL), -1);
    ck_assert_int_eq(cse__jw_array_insert(a, v, 1000, cse__jw_null()), -1);
    ck_assert_uint_eq(cse__jw_array_size(v), json_array_size(j));
    ck_assert_ptr_null(cse__jw_array_get(v, 1000));
    ck_assert_str_eq(cse__jw_string_value(cse__jw_array_get(v, 0)), "first");
    json_decref(j);
    cse__jw_arena_free(a);
}
END_TEST

START_TEST(test_jsonw_accessors_on_wrong_types)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    cse__jw *s = cse__jw_string(a, "x");

    ck_assert_ptr_null(cse__jw_object_get(NULL, "k"));
    ck_assert_ptr_null(cse__jw_object_get(s, "k"));
    ck_assert_uint_eq(cse__jw_object_size(s), 0);
    ck_assert_uint_eq(cse__jw_array_size(NULL), 0);
    ck_assert_ptr_null(cse__jw_array_get(s, 0));
    ck_assert_ptr_null(cse__jw_string_value(cse__jw_true()));
    ck_assert_int_eq(cse__jw_object_set(a, NULL, "k", s), -1);
    ck_assert_int_eq(cse__jw_object_set(a, s, "k", s), -1);
    ck_assert_int_eq(cse__jw_array_append(a, NULL, s), -1);
    ck_assert_int_eq(cse__jw_object_del(s, "k"), -1);
    ck_assert_ptr_null(cse__jw_pack(a, "{s:x}", "k", "v"));
    ck_assert_ptr_null(cse__jw_pack(a, "{s:s", "k", "v"));
    ck_assert_ptr_null(cse__jw_pack(a, "s s", "k", "v"));
    cse__jw_arena_free(a);
}
END_TEST

/* Values survive many resets with the memory reused, big blocks included,
 * and the arena's cap makes allocation fail instead of growing. */
START_TEST(test_jsonw_arena_reset_and_cap)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    static char big[300000];
    cse__jw *v;

    memset(big, 'a', sizeof(big) - 1);
    for (int round = 0; round < 50; round++) {
        cse__jw *arr = cse__jw_array(a);
        for (int i = 0; i < 2000; i++)
            ck_assert_int_eq(cse__jw_array_append(a, arr, cse__jw_string(a, "abcdef")),
                             0);
        ck_assert_ptr_nonnull(cse__jw_string(a, big));
        ck_assert_uint_eq(cse__jw_array_size(arr), 2000);
        ck_assert_str_eq(cse__jw_string_value(cse__jw_array_get(arr, 1999)), "abcdef");
        cse__jw_arena_reset(a);
    }
    /* Four copies of big exceed 1 MiB. */
    for (int i = 0; i < 3; i++)
        ck_assert_ptr_nonnull(cse__jw_string(a, big));
    ck_assert_ptr_null(cse__jw_string(a, big));
    cse__jw_arena_reset(a);
    ck_assert_ptr_nonnull(v = cse__jw_string(a, big));
    ck_assert_uint_eq(strlen(cse__jw_string_value(v)), sizeof(big) - 1);
    cse__jw_arena_free(a);
    cse__jw_arena_free(NULL);
}
END_TEST

/* The output buffer refuses to grow past its cap. */
START_TEST(test_jsonw_dump_buffer_cap)
{
    cse__jw_arena *a = cse__jw_arena_new(1u << 20);
    cse__jw_buf b = {.max = 16};

    ck_assert_int_eq(cse__jw_dump(cse__jw_pack(a, "{s:s}", "k", "0123456"), &b, 0), 0);
    ck_assert_uint_eq(b.len, 15);
    b.len = 0;
    ck_assert_int_eq(cse__jw_dump(cse__jw_pack(a, "{s:s}", "k", "012345678"), &b, 0), -1);
    cse__jw_buf_free(&b);
    cse__jw_arena_free(a);
}
END_TEST

Suite *make_jsonw_suite(void)
{
    Suite *s = suite_create("jsonw");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_jsonw_pack_formats_match_jansson);
    tcase_add_test(tc, test_jsonw_pack_o_matches_jansson);
    tcase_add_loop_test(tc, test_jsonw_strings_match_jansson, 0,
                        (int)(sizeof(strings) / sizeof(strings[0])));
    tcase_add_test(tc, test_jsonw_null_string_refused);
    tcase_add_test(tc, test_jsonw_object_set_and_del_match_jansson);
    tcase_add_test(tc, test_jsonw_arrays_match_jansson);
    tcase_add_test(tc, test_jsonw_accessors_on_wrong_types);
    tcase_add_test(tc, test_jsonw_arena_reset_and_cap);
    tcase_add_test(tc, test_jsonw_dump_buffer_cap);
    suite_add_tcase(s, tc);
    return s;
}
