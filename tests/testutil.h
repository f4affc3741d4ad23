/* Helpers shared by the Check suites. */
#ifndef CSE_TESTUTIL_H
#define CSE_TESTUTIL_H

#include <check.h>
#include <stdlib.h>

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

#endif
