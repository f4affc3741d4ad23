/* SPDX-License-Identifier: MIT */
/* cse__memstream (convert/core/memstream.c), the reader's replacement for
 * open_memstream: the same text, length, ftell and truncation by fseek as
 * glibc's open_memstream for the same writes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "memstream.h"
#include "testutil.h"

/* The writes the reader makes: text, ftell as "anything yet?", and a seek
 * back to drop what a failed part wrote. Returns the text (caller frees). */
static char *compose(FILE *(*open)(char **, size_t *), size_t *len_out)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open(&buf, &len);
    long at;

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(ftell(f), 0);
    fputs("Component(s): ", f);
    fprintf(f, "%sCode: %s", ftell(f) ? "[" : "", "1234");
    at = ftell(f);
    ck_assert_int_eq(at, 25);
    fputs(" dropped part", f);
    fseek(f, at, SEEK_SET);
    fprintf(f, " Value: %d", 42);
    for (int i = 0; i < 2000; i++) /* past the stream's own buffer */
        fputc('a' + i % 26, f);
    fflush(f);
    *len_out = (size_t)ftell(f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(len, *len_out);
    ck_assert_uint_eq(strlen(buf), len);
    return buf;
}

START_TEST(same_as_open_memstream)
{
    size_t a_len, b_len;
    char *a = compose(open_memstream, &a_len), *b = compose(cse__memstream, &b_len);

    ck_assert_uint_eq(a_len, b_len);
    ck_assert_str_eq(a, b);
    ck_assert(strncmp(b, "Component(s): [Code: 1234 Value: 42abc", 38) == 0);
    free(a);
    free(b);
}
END_TEST

START_TEST(nothing_written)
{
    char *buf = NULL;
    size_t len = 99;
    FILE *f = cse__memstream(&buf, &len);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_ptr_nonnull(buf);
    ck_assert_str_eq(buf, "");
    free(buf);
}
END_TEST

START_TEST(truncate_to_empty)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = cse__memstream(&buf, &len);

    fputs("abc", f);
    fseek(f, 0, SEEK_SET);
    fflush(f);
    ck_assert_int_eq(ftell(f), 0);
    ck_assert_int_eq(fclose(f), 0);
    ck_assert_uint_eq(len, 0);
    ck_assert_str_eq(buf, "");
    free(buf);
}
END_TEST

Suite *make_memstream_suite(void)
{
    Suite *s = suite_create("memstream");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, same_as_open_memstream);
    tcase_add_test(tc, nothing_written);
    tcase_add_test(tc, truncate_to_empty);
    suite_add_tcase(s, tc);
    return s;
}
