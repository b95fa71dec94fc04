/*
 * Planner benchmark: plan 1,000,000 key-range batches (labels, bound
 * parameters, fingerprint) and compare with a baseline measured in the same
 * run: a loop that allocates the same number of plain structs holding what a
 * batch holds (bounds, the two parameter values and the label text) and
 * fills them, formatting the label with snprintf as a host would. Each
 * figure is the best of three runs. BF_BENCH_QUICK=1 plans 10,000 batches.
 *
 * plan_hourly_2050: hourly batches of one year (8,759 batches, from March 1)
 * in America/New_York from 2050, past the zone file's last transition, where
 * the zone's POSIX rule applies; baseline the same plan length from 2000,
 * inside the transition table, in the same run. Best of seven each
 * (BF_BENCH_QUICK=1: June, best of two).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backfill.h"

struct plain_batch {
    int64_t ordinal;
    int64_t lo, hi;
    int64_t param_lo, param_hi;
    char label[48];
};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run_baseline(int64_t n, int64_t width, int64_t *check)
{
    double t0 = now();
    struct plain_batch **batches = malloc((size_t)n * sizeof *batches);

    if (!batches)
        return -1;
    for (int64_t i = 0; i < n; i++) {
        struct plain_batch *b = malloc(sizeof *b);

        if (!b)
            return -1;
        b->ordinal = i;
        b->lo = i * width;
        b->hi = (i + 1) * width;
        b->param_lo = b->lo;
        b->param_hi = b->hi;
        snprintf(b->label, sizeof b->label, "order_id [%lld, %lld)", (long long)b->lo,
                 (long long)b->hi);
        batches[i] = b;
    }
    *check = batches[n - 1]->hi + batches[n / 2]->label[9];
    for (int64_t i = 0; i < n; i++)
        free(batches[i]);
    free(batches);
    return now() - t0;
}

static double run_planner(int64_t n, int64_t width, int64_t *check)
{
    double t0 = now();
    bf_planner *p = NULL;
    bf_plan *plan = NULL;

    if (bf_planner_new(&p) != BF_OK || bf_planner_set_key_scope(p, "order_id", 0, n * width) ||
        bf_planner_set_key_width(p, width) || bf_planner_plan(&plan, p) != BF_OK) {
        fprintf(stderr, "bench_plan: %s\n", bf_last_error());
        exit(1);
    }
    if ((int64_t)bf_plan_count(plan) != n) {
        fprintf(stderr, "bench_plan: %zu batches, expected %lld\n", bf_plan_count(plan),
                (long long)n);
        exit(1);
    }
    *check = bf_batch_hi(bf_plan_batch(plan, (size_t)n - 1)) +
             bf_batch_label(bf_plan_batch(plan, (size_t)n / 2))[9];
    bf_plan_free(plan);
    bf_planner_free(p);
    return now() - t0;
}

static double run_hourly(const char *start, const char *end, size_t *count)
{
    bf_planner *p = NULL;
    bf_plan *plan = NULL;
    double t0, t;

    if (bf_planner_new(&p) != BF_OK ||
        bf_planner_set_time_scope(p, "ts", start, end, "America/New_York") != BF_OK ||
        bf_planner_set_grain(p, BF_GRAIN_HOUR, 1) != BF_OK) {
        fprintf(stderr, "bench_plan: %s\n", bf_last_error());
        exit(1);
    }
    t0 = now();
    if (bf_planner_plan(&plan, p) != BF_OK) {
        fprintf(stderr, "bench_plan: %s\n", bf_last_error());
        exit(1);
    }
    t = now() - t0;
    *count = bf_plan_count(plan);
    bf_plan_free(plan);
    bf_planner_free(p);
    return t;
}

static void bench_hourly(int quick)
{
    double best_2050 = 1e9, best_2000 = 1e9;
    size_t n2050 = 0, n2000 = 0;

    for (int round = 0; round < (quick ? 2 : 7); round++) {
        double a = quick ? run_hourly("2000-06-01", "2000-07-01", &n2000)
                         : run_hourly("2000-03-01", "2001-03-01", &n2000);
        double b = quick ? run_hourly("2050-06-01", "2050-07-01", &n2050)
                         : run_hourly("2050-03-01", "2051-03-01", &n2050);

        best_2000 = a < best_2000 ? a : best_2000;
        best_2050 = b < best_2050 ? b : best_2050;
    }
    if (n2000 != n2050) {
        fprintf(stderr, "bench_plan: %zu hourly batches from 2000, %zu from 2050\n", n2000,
                n2050);
        exit(1);
    }
    printf("BENCH name=plan_hourly_2050 value=%.5f unit=s baseline=%.5f ratio=%.2f "
           "target=max:1.15\n",
           best_2050, best_2000, best_2050 / best_2000);
}

int main(void)
{
    const char *quick = getenv("BF_BENCH_QUICK");
    int64_t n = quick && quick[0] == '1' ? 10000 : 1000000;
    int64_t width = 1000, check_a = 0, check_b = 0;
    double best_plan = 1e9, best_base = 1e9;

    for (int round = 0; round < 3; round++) {
        double b = run_baseline(n, width, &check_b);
        double p = run_planner(n, width, &check_a);

        if (b < 0) {
            fprintf(stderr, "bench_plan: baseline allocation failed\n");
            return 1;
        }
        best_base = b < best_base ? b : best_base;
        best_plan = p < best_plan ? p : best_plan;
    }
    if (check_a != check_b) {
        fprintf(stderr, "bench_plan: planner and baseline disagree (%lld vs %lld)\n",
                (long long)check_a, (long long)check_b);
        return 1;
    }
    /* The name stays the benchmark's own in quick mode, so scripts find it; stderr says the size. */
    if (n != 1000000)
        fprintf(stderr, "bench_plan: quick mode, %lld batches\n", (long long)n);
    printf("BENCH name=plan_1m_key_batches value=%.4f unit=s baseline=%.4f ratio=%.2f "
           "target=max:3\n",
           best_plan, best_base, best_plan / best_base);
    bench_hourly(n != 1000000);
    return 0;
}
