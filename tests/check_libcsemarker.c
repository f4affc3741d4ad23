/* SPDX-License-Identifier: MIT */
/* The Check runner for libcsemarker: every suite in tests/suites.def. */
#include <stdlib.h>

#include <check.h>

#include "testutil.h"

#define SUITE(name) Suite *make_##name##_suite(void);
#include "suites.def"
#undef SUITE

int main(void)
{
    SRunner *sr = srunner_create(NULL);
    int failed;

#define SUITE(name) srunner_add_suite(sr, make_##name##_suite());
#include "suites.def"
#undef SUITE
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
