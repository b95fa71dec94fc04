/* Shared main for the Check unit suites: TAP on stdout for meson. */
#ifndef BF_TEST_H
#define BF_TEST_H

#include <check.h>
#include <stdlib.h>

#include "failalloc.h"

/*
 * Run one suite; exit status 0 when every test passed. The counting
 * allocator is installed first, in every suite, so that the fault-injection
 * helpers work whether or not Check forks for each test.
 */
static inline int bftest_run(Suite *suite)
{
    SRunner *runner;
    int failed;

    failalloc_install();
    runner = srunner_create(suite);

    if (!getenv("CK_TAP_LOG_FILE_NAME"))
        setenv("CK_TAP_LOG_FILE_NAME", "-", 1);
    srunner_run_all(runner, CK_SILENT);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
