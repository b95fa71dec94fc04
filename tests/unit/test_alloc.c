/*
 * The allocator contract seen from a host: with hooks set, everything the
 * library hands out to be freed with bf_free() was allocated through the
 * hooks, and bf_free() never passes the hooks a pointer they did not hand
 * out (a Jansson dump or a SQLite string would be such a pointer). The hooks
 * here tag every block with a header, as an arena or a debugging allocator
 * would, and count the blocks that reach free() untagged.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "workload.h"

#define TAG_MAGIC 0x62666865616465f2ull /* "bfheade" and a high byte */

typedef struct tag {
    uint64_t magic;
    uint64_t size;
} tag;

static long live_blocks;
static long untagged_frees;
static long untagged_returns;
static char first_untagged[128];

static int tagged(const void *ptr)
{
    return ptr && ((const tag *)ptr - 1)->magic == TAG_MAGIC;
}

static void *tag_malloc(size_t size)
{
    tag *t = malloc(sizeof *t + size);

    if (!t)
        return NULL;
    t->magic = TAG_MAGIC;
    t->size = size;
    live_blocks++;
    return t + 1;
}

static void tag_free(void *ptr)
{
    tag *t;

    if (!ptr)
        return;
    if (!tagged(ptr)) {
        /* Not ours: with these hooks the block must have come from libc directly. */
        untagged_frees++;
        free(ptr);
        return;
    }
    t = (tag *)ptr - 1;
    t->magic = 0;
    live_blocks--;
    free(t);
}

static void *tag_realloc(void *ptr, size_t size)
{
    tag *t;

    if (!ptr)
        return tag_malloc(size);
    if (!tagged(ptr)) {
        untagged_frees++;
        return NULL;
    }
    t = realloc((tag *)ptr - 1, sizeof *t + size);
    if (!t)
        return NULL;
    t->size = size;
    return t + 1;
}

static void check_returned(const char *what, void *ptr)
{
    if (!tagged(ptr)) {
        if (!untagged_returns)
            snprintf(first_untagged, sizeof first_untagged, "%s", what);
        untagged_returns++;
    }
}

static char *make_dir(void)
{
    char *dir = strdup("/tmp/bf-alloc-XXXXXX");

    ck_assert_ptr_nonnull(mkdtemp(dir));
    return dir;
}

static void remove_dir(char *dir)
{
    static const char *names[] = {"warehouse.db", "warehouse.db-wal", "warehouse.db-shm",
                                  "warehouse.db-journal", "ledger.db", "ledger.db-wal",
                                  "ledger.db-shm", "ledger.db-journal"};
    char path[1024];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
    free(dir);
}

static char *brief_path(void)
{
    static char path[1024];
    const char *root = getenv("BF_SOURCE_ROOT");

    snprintf(path, sizeof path, "%s/examples/warehouse/refund-join.json", root ? root : ".");
    return path;
}

START_TEST(returned_memory_comes_from_the_hooks)
{
    char *dir = make_dir();
    long live_before = live_blocks;
    int rc;

    untagged_frees = untagged_returns = 0;
    rc = workload_run(dir, brief_path(), 3000, check_returned);
    remove_dir(dir);
    ck_assert_msg(rc == BF_OK, "workload failed: %s (%s)", bf_errstr(rc), bf_last_error());
    ck_assert_msg(untagged_returns == 0,
                  "%ld blocks handed to the host for bf_free() were not allocated by the "
                  "hooks (first: %s)",
                  untagged_returns, first_untagged);
    ck_assert_msg(untagged_frees == 0,
                  "the library passed %ld pointers to the free hook that the hooks never "
                  "handed out",
                  untagged_frees);
    ck_assert_msg(live_blocks == live_before, "%ld blocks from the hooks were never freed",
                  live_blocks - live_before);
}
END_TEST

START_TEST(hooks_cannot_change_after_use)
{
    char *dir = make_dir();
    int rc = workload_run(dir, brief_path(), 100, NULL);

    remove_dir(dir);
    ck_assert_int_eq(rc, BF_OK);
    ck_assert_int_eq(bf_set_allocator(malloc, realloc, free), BF_E_STATE);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("alloc");
    TCase *contract = tcase_create("contract");
    SRunner *runner;
    int failed;

    /* Before any other call, as the contract asks; every forked test inherits the hooks. */
    if (bf_set_allocator(tag_malloc, tag_realloc, tag_free) != BF_OK) {
        fprintf(stderr, "bf_set_allocator: %s\n", bf_last_error());
        return EXIT_FAILURE;
    }
    tcase_add_test(contract, returned_memory_comes_from_the_hooks);
    tcase_add_test(contract, hooks_cannot_change_after_use);
    tcase_set_timeout(contract, 120);
    suite_add_tcase(s, contract);
    runner = srunner_create(s);
    if (!getenv("CK_TAP_LOG_FILE_NAME"))
        setenv("CK_TAP_LOG_FILE_NAME", "-", 1);
    srunner_run_all(runner, CK_SILENT);
    failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
