/* SPDX-License-Identifier: MIT */
/* Helpers shared by the Check suites. */
#ifndef CSE_TESTUTIL_H
#define CSE_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <csemarker/csemarker.h>

#define SUITE(name) Suite *make_##name##_suite(void);
#include "suites.def"
#undef SUITE

/* A day-precision date. */
static inline cse_time test_day(int y, int m, int d)
{
    cse_time t = {0};
    t.year = y, t.month = m, t.day = d, t.precision = CSE_TIME_DAY;
    return t;
}

/* The source tree (set by the test environment), or "." when run by hand. */
static inline const char *test_srcdir(void)
{
    const char *s = getenv("top_srcdir");
    return s && *s ? s : ".";
}

/* Sends stderr to a temporary file until stderr_end(), which returns how
 * many bytes were written there: for checking that a library prints
 * nothing itself. */
struct quiet {
    int saved;
    FILE *tmp;
};

static inline void stderr_begin(struct quiet *q)
{
    fflush(stderr);
    q->tmp = tmpfile();
    ck_assert_ptr_nonnull(q->tmp);
    q->saved = dup(STDERR_FILENO);
    ck_assert_int_ge(q->saved, 0);
    ck_assert_int_ge(dup2(fileno(q->tmp), STDERR_FILENO), 0);
}

static inline long stderr_end(struct quiet *q)
{
    long n;

    fflush(stderr);
    dup2(q->saved, STDERR_FILENO);
    close(q->saved);
    fseek(q->tmp, 0, SEEK_END);
    n = ftell(q->tmp);
    fclose(q->tmp);
    return n;
}

#endif
