/*
 * batch_counts: bf_driver_count_batches over a plan of 1,000 key batches on
 * a 1,000,000-row SQLite table (100 batches on 20,000 rows with
 * BF_BENCH_QUICK=1), against the floor measured in the same run: one
 * SELECT count(*) of the same rows (the plan's scope), which reads the
 * batching column of every row once, the least work that reads the same
 * data. The counts are checked against that total. Each figure is the best
 * of a few runs.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_batch_counts: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

/* The floor: count(*) of the scope's rows, reading k of each. */
static double time_floor(sqlite3 *db, long rows, sqlite3_int64 *out)
{
    char sql[160];
    sqlite3_stmt *st;
    double t0 = now();

    snprintf(sql, sizeof sql, "SELECT count(*) FROM t WHERE k >= 0 AND k < %ld", rows);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return now() - t0;
}

static double time_counts(bf_driver *d, const bf_plan *plan, int64_t *counts)
{
    double t0 = now();

    if (bf_driver_count_batches(counts, d, plan, "t") != BF_OK)
        die("count_batches", bf_driver_last_error(d));
    return now() - t0;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "0") != 0;
    long rows = quick ? 20000 : 1000000, batches = quick ? 100 : 1000;
    int runs = quick ? 2 : 5;
    char dir[] = "/tmp/bf-bench-XXXXXX", path[64], sql[512];
    double floor_best = 1e30, counts_best = 1e30;
    sqlite3_int64 in_scope = 0, total = 0;
    bf_planner *planner;
    bf_plan *plan;
    int64_t *counts;
    sqlite3 *db;
    bf_driver *d;

    if (!mkdtemp(dir))
        die("mkdtemp", "cannot make a scratch directory");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    /* Keys in a shuffled order, so neither side can lean on the table's order. */
    exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             "CREATE TABLE t (id INTEGER PRIMARY KEY, k INTEGER, v TEXT)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t (k, v) SELECT (i * 7919) %% %ld, 'row-' || i FROM n",
             rows - 1, rows);
    exec(db, sql);
    if (bf_planner_new(&planner) != BF_OK ||
        bf_planner_set_key_scope(planner, "k", 0, rows) != BF_OK ||
        bf_planner_set_key_width(planner, rows / batches) != BF_OK ||
        bf_planner_plan(&plan, planner) != BF_OK)
        die("plan", bf_last_error());
    counts = calloc((size_t)batches, sizeof *counts);
    if (!counts || bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die(path, bf_last_error());
    time_floor(db, rows, &in_scope);
    time_counts(d, plan, counts);
    for (int i = 0; i < runs; i++) {
        floor_best = min2(floor_best, time_floor(db, rows, &in_scope));
        counts_best = min2(counts_best, time_counts(d, plan, counts));
    }
    for (long i = 0; i < batches; i++)
        total += counts[i];
    if (total != in_scope || in_scope != rows || (size_t)batches != bf_plan_count(plan))
        die("check", "the batches' counts do not add up to the rows in scope");
    printf("BENCH name=batch_counts value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:1.5\n",
           counts_best, floor_best, counts_best / floor_best);
    free(counts);
    bf_driver_free(d);
    bf_plan_free(plan);
    bf_planner_free(planner);
    sqlite3_close(db);
    unlink(path);
    rmdir(dir);
    return 0;
}
