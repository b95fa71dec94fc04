/*
 * plan_memory_per_batch: the bytes a plan of 1,000,000 key-range batches
 * holds per batch (BF_BENCH_QUICK=1: 10,000), against the 16 bytes a batch's
 * bounds need. The bytes are counted by allocator hooks installed with
 * bf_set_allocator() before the library allocates anything (so this is a
 * binary of its own): the figure is the peak of the bytes the library holds
 * while bf_planner_plan() runs, less what it held before (the planner), so
 * temporary buffers and slack count too. The plan's size once made is
 * printed on stderr.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"

/* Each block carries its size in a header of 16 bytes, to keep malloc's alignment. */
#define HEADER 16

static size_t live, peak;

static void count(size_t add, size_t sub)
{
    live = live + add - sub;
    if (live > peak)
        peak = live;
}

static void *count_malloc(size_t size)
{
    unsigned char *p = malloc(size + HEADER);

    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    count(size, 0);
    return p + HEADER;
}

static void *count_realloc(void *ptr, size_t size)
{
    unsigned char *p;
    size_t old = 0;

    if (!ptr)
        return count_malloc(size);
    p = (unsigned char *)ptr - HEADER;
    memcpy(&old, p, sizeof old);
    p = realloc(p, size + HEADER);
    if (!p)
        return NULL;
    memcpy(p, &size, sizeof size);
    count(size, old);
    return p + HEADER;
}

static void count_free(void *ptr)
{
    unsigned char *p;
    size_t old;

    if (!ptr)
        return;
    p = (unsigned char *)ptr - HEADER;
    memcpy(&old, p, sizeof old);
    count(0, old);
    free(p);
}

int main(void)
{
    const char *quick = getenv("BF_BENCH_QUICK");
    int64_t n = quick && quick[0] == '1' ? 10000 : 1000000;
    int64_t width = 1000;
    size_t before, held;
    bf_planner *p = NULL;
    bf_plan *plan = NULL;
    double per_batch;

    if (bf_set_allocator(count_malloc, count_realloc, count_free) != BF_OK) {
        fprintf(stderr, "bench_plan_memory: cannot set the allocator: %s\n", bf_last_error());
        return 1;
    }
    if (bf_planner_new(&p) != BF_OK || bf_planner_set_key_scope(p, "order_id", 0, n * width) ||
        bf_planner_set_key_width(p, width)) {
        fprintf(stderr, "bench_plan_memory: %s\n", bf_last_error());
        return 1;
    }
    before = live;
    peak = live;
    if (bf_planner_plan(&plan, p) != BF_OK || (int64_t)bf_plan_count(plan) != n) {
        fprintf(stderr, "bench_plan_memory: %s\n", bf_last_error());
        return 1;
    }
    held = live - before;
    per_batch = (double)(peak - before) / (double)n;
    if (bf_batch_hi(bf_plan_batch(plan, (size_t)n - 1)) != n * width) {
        fprintf(stderr, "bench_plan_memory: the last batch does not end the scope\n");
        return 1;
    }
    fprintf(stderr, "bench_plan_memory: %lld batches; peak %.1f bytes per batch while planning, "
                    "%.1f held by the plan\n",
            (long long)n, per_batch, (double)held / (double)n);
    printf("BENCH name=plan_memory_per_batch value=%.1f unit=bytes baseline=16 ratio=%.2f "
           "target=max:4\n",
           per_batch, per_batch / 16);
    bf_plan_free(plan);
    bf_planner_free(p);
    return live == 0 ? 0 : 1;
}
