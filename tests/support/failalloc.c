#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "failalloc.h"

static long counter;
static long fail_at;
static long live;
static int fired;

static int should_fail(void)
{
    counter++;
    if (fail_at > 0 && counter == fail_at) {
        fired = 1;
        return 1;
    }
    return 0;
}

static void *fa_malloc(size_t size)
{
    void *p;

    if (should_fail())
        return NULL;
    p = malloc(size);
    if (p)
        live++;
    return p;
}

static void *fa_realloc(void *ptr, size_t size)
{
    void *p;

    if (should_fail())
        return NULL;
    p = realloc(ptr, size);
    if (p && !ptr)
        live++;
    return p;
}

static void fa_free(void *ptr)
{
    if (ptr)
        live--;
    free(ptr);
}

void failalloc_install(void)
{
    int rc = bf_set_allocator(fa_malloc, fa_realloc, fa_free);

    if (rc != BF_OK) {
        fprintf(stderr, "failalloc_install: %s\n", bf_last_error());
        abort();
    }
}

void failalloc_fail_at(long nth)
{
    fail_at = nth > 0 ? counter + nth : 0;
    fired = 0;
}

long failalloc_count(void)
{
    return counter;
}

long failalloc_live(void)
{
    return live;
}

int failalloc_fired(void)
{
    return fired;
}

long failalloc_sweep(failalloc_op op, failalloc_cleanup cleanup, void *ctx)
{
    long before_live = live;
    long start = counter;
    long total;
    int rc;

    failalloc_fail_at(0);
    rc = op(ctx);
    ck_assert_msg(rc == BF_OK, "operation fails without injected faults: %s (%s)",
                  bf_errstr(rc), bf_last_error());
    total = counter - start;
    if (cleanup)
        cleanup(ctx);
    ck_assert_msg(live == before_live, "operation leaks %ld blocks without faults",
                  live - before_live);

    for (long n = 1; n <= total; n++) {
        failalloc_fail_at(n);
        rc = op(ctx);
        if (!fired) {
            /* The operation took a shorter path this time; nothing to check. */
            failalloc_fail_at(0);
            if (cleanup)
                cleanup(ctx);
            continue;
        }
        failalloc_fail_at(0);
        ck_assert_msg(rc == BF_E_NOMEM, "allocation %ld of %ld failed but the call returned %s (%s)",
                      n, total, bf_errstr(rc), bf_last_error());
        if (cleanup)
            cleanup(ctx);
        ck_assert_msg(live == before_live, "allocation %ld of %ld failed and %ld blocks leaked", n,
                      total, live - before_live);
    }
    return total;
}
