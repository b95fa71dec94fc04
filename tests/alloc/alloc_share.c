/*
 * How much of the memory a host-like use of libbackfill allocates goes
 * through bf_set_allocator's hooks, and how much Jansson, SQLite and the C
 * library allocate on their own.
 *
 * The program replaces malloc, calloc, realloc and the aligned allocators
 * for the whole process (the dynamic linker resolves libbackfill's,
 * Jansson's and SQLite's calls to the executable's definitions), counting
 * the bytes every call asks for, and sets counting hooks with
 * bf_set_allocator. It then runs the shared workload (brief, plan, ledger
 * run over every batch, SQLite driver) and prints the share of requested
 * bytes, and of allocation calls, that went through the hooks.
 *
 * With --host-routes-all it also does what a host may decide to do for its
 * whole process: route Jansson with json_set_alloc_funcs() and SQLite with
 * sqlite3_config(SQLITE_CONFIG_MALLOC) to counting functions, before any
 * other use, and prints what remains outside all three (the C library's
 * own, e.g. stdio buffers and time zone data).
 *
 * usage: alloc_share [--host-routes-all] [--orders N] [--min-share PERCENT] BRIEF.json
 * The warehouse and the ledger are made in a new directory under $TMPDIR
 * (or /tmp) and removed at the end.
 * With --min-share, exits 1 when the share through the hooks (or, with
 * --host-routes-all, through the three routes together) is below PERCENT.
 * Not built with sanitizers, which replace malloc themselves.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "workload.h"

/* glibc's own entry points, under the names it exports for exactly this use. */
extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t count, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void __libc_free(void *ptr);
extern void *__libc_memalign(size_t alignment, size_t size);

typedef struct counter {
    unsigned long long bytes;
    unsigned long long calls;
} counter;

static int counting;
static counter other, hooks, jansson, lite;

static void count(counter *c, size_t n)
{
    if (counting) {
        c->bytes += n;
        c->calls++;
    }
}

/*
 * ---- The process-wide interposer: every allocation that no route above
 * claims. The routes below call glibc directly, so each byte is counted
 * once: the total is the interposer's count plus the routes'. ----
 */

void *malloc(size_t size)
{
    count(&other, size);
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size)
{
    count(&other, n * size);
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size)
{
    count(&other, size);
    return __libc_realloc(ptr, size);
}

void free(void *ptr)
{
    __libc_free(ptr);
}

void *memalign(size_t alignment, size_t size)
{
    count(&other, size);
    return __libc_memalign(alignment, size);
}

void *aligned_alloc(size_t alignment, size_t size)
{
    return memalign(alignment, size);
}

int posix_memalign(void **out, size_t alignment, size_t size)
{
    void *p = memalign(alignment, size);

    if (!p)
        return 12; /* ENOMEM */
    *out = p;
    return 0;
}

/* ---- libbackfill's hooks. ---- */

static void *hook_malloc(size_t size)
{
    count(&hooks, size);
    return __libc_malloc(size);
}

static void *hook_realloc(void *ptr, size_t size)
{
    count(&hooks, size);
    return __libc_realloc(ptr, size);
}

static void hook_free(void *ptr)
{
    __libc_free(ptr);
}

/* ---- What a host may route itself, process-wide. ---- */

static void *jansson_malloc(size_t size)
{
    count(&jansson, size);
    return __libc_malloc(size);
}

/* SQLite needs the size of a block back: keep it in an 8-byte header. */
static void *lite_malloc(int n)
{
    uint64_t *p;

    count(&lite, (size_t)n);
    p = __libc_malloc(sizeof *p + (size_t)n);
    if (!p)
        return NULL;
    *p = (uint64_t)n;
    return p + 1;
}

static void lite_free(void *ptr)
{
    if (ptr)
        __libc_free((uint64_t *)ptr - 1);
}

static void *lite_realloc(void *ptr, int n)
{
    uint64_t *p;

    count(&lite, (size_t)n);
    p = __libc_realloc((uint64_t *)ptr - 1, sizeof *p + (size_t)n);
    if (!p)
        return NULL;
    *p = (uint64_t)n;
    return p + 1;
}

static int lite_size(void *ptr)
{
    return ptr ? (int)((uint64_t *)ptr)[-1] : 0;
}

static int lite_roundup(int n)
{
    return (n + 7) & ~7;
}

static int lite_init(void *ud)
{
    (void)ud;
    return SQLITE_OK;
}

static void lite_shutdown(void *ud)
{
    (void)ud;
}

static const sqlite3_mem_methods lite_methods = {
    lite_malloc, lite_free, lite_realloc, lite_size, lite_roundup, lite_init, lite_shutdown, NULL,
};

static double pct(unsigned long long part, unsigned long long whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

static void remove_dir(const char *dir)
{
    static const char *names[] = {"warehouse.db", "warehouse.db-wal", "warehouse.db-shm",
                                  "warehouse.db-journal", "ledger.db", "ledger.db-wal",
                                  "ledger.db-shm", "ledger.db-journal"};
    char path[1100];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}

int main(int argc, char **argv)
{
    int route_all = 0, orders = 20000, argi = 1, rc;
    double min_share = -1;
    double share;
    char dir[1024];
    counter all;

    for (; argi < argc && argv[argi][0] == '-'; argi++) {
        if (strcmp(argv[argi], "--host-routes-all") == 0)
            route_all = 1;
        else if (strcmp(argv[argi], "--orders") == 0 && argi + 1 < argc)
            orders = atoi(argv[++argi]);
        else if (strcmp(argv[argi], "--min-share") == 0 && argi + 1 < argc)
            min_share = atof(argv[++argi]);
        else
            break;
    }
    if (argc - argi != 1) {
        fprintf(stderr, "usage: alloc_share [--host-routes-all] [--orders N] [--min-share PERCENT] "
                        "BRIEF.json\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/bf-alloc-share-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(dir)) {
        perror(dir);
        return 1;
    }
    if (bf_set_allocator(hook_malloc, hook_realloc, hook_free) != BF_OK) {
        fprintf(stderr, "bf_set_allocator: %s\n", bf_last_error());
        return 1;
    }
    if (route_all) {
        json_set_alloc_funcs(jansson_malloc, __libc_free);
        if (sqlite3_config(SQLITE_CONFIG_MALLOC, &lite_methods) != SQLITE_OK) {
            fprintf(stderr, "sqlite3_config(SQLITE_CONFIG_MALLOC) refused\n");
            return 1;
        }
    }

    counting = 1;
    rc = workload_run(dir, argv[argi], orders, NULL);
    counting = 0;
    remove_dir(dir);
    if (rc != BF_OK)
        return 1;

    all.bytes = other.bytes + hooks.bytes + jansson.bytes + lite.bytes;
    all.calls = other.calls + hooks.calls + jansson.calls + lite.calls;
    printf("workload: brief + plan + ledger run + SQLite driver, %d orders\n", orders);
    printf("all allocations:        %12llu bytes in %8llu calls\n", all.bytes, all.calls);
    printf("through libbackfill's hooks: %7llu bytes in %8llu calls (%.1f%% of bytes, %.1f%% of "
           "calls)\n",
           hooks.bytes, hooks.calls, pct(hooks.bytes, all.bytes), pct(hooks.calls, all.calls));
    share = pct(hooks.bytes, all.bytes);
    if (route_all) {
        printf("through Jansson's functions: %7llu bytes (%.1f%%)\n", jansson.bytes,
               pct(jansson.bytes, all.bytes));
        printf("through SQLite's methods:    %7llu bytes (%.1f%%)\n", lite.bytes,
               pct(lite.bytes, all.bytes));
        printf("none of the three (C library): %5llu bytes (%.1f%%)\n", other.bytes,
               pct(other.bytes, all.bytes));
        share = pct(hooks.bytes + jansson.bytes + lite.bytes, all.bytes);
    }
    if (min_share >= 0 && share < min_share) {
        fprintf(stderr, "share %.1f%% is below the expected %.1f%%\n", share, min_share);
        return 1;
    }
    return 0;
}
