/* SPDX-License-Identifier: MIT */
/* jansson parse errors in safe English (convert/json_error.c): every reason
 * the hostile corpus provokes, found from the error code and the byte at the
 * error position, and never a quote of the input. */
#include <string.h>

#include <jansson.h>

#include "internal.h"
#include "testutil.h"

/* Parses len bytes of s, which must fail, and returns the translated reason.
 * The text must not contain planted, a string from the input. */
static const char *reason_of(const char *s, size_t len, const char *planted)
{
    json_error_t e;
    json_t *j = json_loadb(s, len, JSON_REJECT_DUPLICATES, &e);
    const char *t;

    ck_assert_msg(j == NULL, "parsed: %.40s", s);
    t = cse__json_error_text(&e, s, len);
    ck_assert_ptr_nonnull(t);
    if (planted)
        ck_assert_msg(strstr(t, planted) == NULL, "quotes the input: %s", t);
    return t;
}

#define REASON(lit, planted) reason_of(lit, sizeof(lit) - 1, planted)

START_TEST(test_json_error_empty_and_blank_input)
{
    ck_assert_str_eq(REASON("", NULL), "empty input: no JSON value");
    ck_assert_str_eq(REASON(" \n\t\r\n", NULL), "empty input: no JSON value");
}
END_TEST

START_TEST(test_json_error_truncated_input)
{
    ck_assert_str_eq(REASON("{\"name\":\"Quillfeather", "Quillfeather"),
                     "empty or truncated JSON (premature end of input)");
}
END_TEST

START_TEST(test_json_error_invalid_utf8)
{
    ck_assert_str_eq(REASON("{\"a\":\"Zeph\xff\"}", "Zeph"), "invalid UTF-8");
}
END_TEST

START_TEST(test_json_error_nul_byte)
{
    /* A raw NUL in a string, after a value, and an escaped one in a key. */
    ck_assert_str_eq(REASON("{\"a\":\"9992468017\0x\"}", "9992468017"), "NUL byte");
    ck_assert_str_eq(REASON("{\"a\":1}\0", NULL), "NUL byte");
    ck_assert_str_eq(REASON("{\"a\\u0000b\":1}", NULL), "NUL byte");
}
END_TEST

START_TEST(test_json_error_control_character_in_string)
{
    /* A raw tab right after an NHS number: jansson's own text would quote it. */
    const char *t = REASON("{\"v\":\"9992468017\tx\"}", "9992468017");
    ck_assert_ptr_nonnull(strstr(t, "control character"));
    ck_assert_ptr_nonnull(strstr(t, "invalid JSON syntax"));
}
END_TEST

START_TEST(test_json_error_whitespace_after_bad_token_is_plain_syntax)
{
    /* The byte after the error is a newline or a tab between tokens, which
     * is whitespace, not a stray control character. */
    ck_assert_str_eq(REASON("{\"a\":1,}\n", NULL), "invalid JSON syntax");
    ck_assert_str_eq(REASON("{\"a\":1,}\t", NULL), "invalid JSON syntax");
    ck_assert_str_eq(REASON("{\"a\":tru}", NULL), "invalid JSON syntax");
}
END_TEST

START_TEST(test_json_error_duplicate_key)
{
    ck_assert_str_eq(
        REASON("{\"resourceType\":\"Patient\",\"resourceType\":\"Marrowbone\"}",
               "Marrowbone"),
        "duplicate object key");
}
END_TEST

START_TEST(test_json_error_number_out_of_range)
{
    ck_assert_str_eq(REASON("{\"value\":1e999999}", "999999"), "number out of range");
    ck_assert_str_eq(REASON("{\"value\":-1e999999}", "999999"), "number out of range");
    ck_assert_str_eq(REASON("{\"value\":99999999999999999999999}", "99999"),
                     "number out of range");
}
END_TEST

START_TEST(test_json_error_nested_too_deep)
{
    size_t n = 100000, i;
    char *s = malloc(2 * n);
    ck_assert_ptr_nonnull(s);
    for (i = 0; i < n; i++) {
        s[i] = '[';
        s[n + i] = ']';
    }
    ck_assert_str_eq(reason_of(s, 2 * n, NULL), "nested too deep");
    free(s);
}
END_TEST

START_TEST(test_json_error_extra_data_after_value)
{
    ck_assert_str_eq(REASON("{\"a\":1}\n{\"b\":2}\n", NULL),
                     "extra data after the JSON value");
}
END_TEST

START_TEST(test_json_error_byte_order_marks)
{
    ck_assert_str_eq(REASON("\xff\xfe{\0}\0", NULL),
                     "UTF-16 is not supported: FHIR JSON must be UTF-8");
    ck_assert_str_eq(REASON("\xfe\xff\0{\0}", NULL),
                     "UTF-16 is not supported: FHIR JSON must be UTF-8");
    ck_assert_ptr_nonnull(strstr(REASON("\xef\xbb\xbf{}", NULL), "byte order mark"));
}
END_TEST

START_TEST(test_json_error_without_input_or_error)
{
    json_error_t e;
    ck_assert_ptr_null(json_loadb("{\"a\":1,}", 8, 0, &e));
    /* No buffer: the code alone decides. */
    ck_assert_str_eq(cse__json_error_text(&e, NULL, 99), "invalid JSON syntax");
    ck_assert_str_eq(cse__json_error_text(NULL, NULL, 0), "invalid JSON");
}
END_TEST

Suite *make_json_error_suite(void)
{
    Suite *s = suite_create("json_error");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_json_error_empty_and_blank_input);
    tcase_add_test(tc, test_json_error_truncated_input);
    tcase_add_test(tc, test_json_error_invalid_utf8);
    tcase_add_test(tc, test_json_error_nul_byte);
    tcase_add_test(tc, test_json_error_control_character_in_string);
    tcase_add_test(tc, test_json_error_whitespace_after_bad_token_is_plain_syntax);
    tcase_add_test(tc, test_json_error_duplicate_key);
    tcase_add_test(tc, test_json_error_number_out_of_range);
    tcase_add_test(tc, test_json_error_nested_too_deep);
    tcase_add_test(tc, test_json_error_extra_data_after_value);
    tcase_add_test(tc, test_json_error_byte_order_marks);
    tcase_add_test(tc, test_json_error_without_input_or_error);
    suite_add_tcase(s, tc);
    return s;
}
