/*
 * Fingerprint and profile benchmarks on a 2,000,000-row, 6-column SQLite
 * table (20,000 rows with BF_BENCH_QUICK=1), each against a baseline
 * measured in the same run:
 *   fingerprint_scan: bf_driver_fingerprint over the six columns vs a bare
 *     SELECT count(*), sum(length(c1)), ..., sum(length(c6)) of the same table;
 *   profile_one_scan: bf_driver_profile computing count, 6 null counts,
 *     3 sums and the fingerprint in one scan vs the same as separate queries.
 * Each figure is the best of a few runs.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"

static const char *const cols[] = {"c1", "c2", "c3", "c4", "c5", "c6"};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_fingerprint: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

/* Run a query to its end; returns the first column of the first row. */
static sqlite3_int64 query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3_int64 v = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void fill(sqlite3 *db, long rows)
{
    char sql[1024];

    exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             "CREATE TABLE t (c1 INTEGER, c2 TEXT, c3 REAL, c4 TEXT, c5 INTEGER, c6 REAL)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t SELECT i, 'customer-' || (i %% 9973), i * 0.25, "
             "CASE WHEN i %% 10 = 0 THEN NULL ELSE printf('%%08x', i * 2654435761 %% 4294967296) END, "
             "CASE WHEN i %% 7 = 0 THEN NULL ELSE i %% 1000 END, "
             "CASE WHEN i %% 3 = 0 THEN NULL ELSE (i %% 100) / 7.0 END FROM n",
             rows);
    exec(db, sql);
}

static double time_fingerprint(bf_driver *d, bf_fingerprint *out)
{
    double t0 = now();

    if (bf_driver_fingerprint(out, d, "t", cols, 6, NULL, NULL) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    return now() - t0;
}

static double time_bare_scan(sqlite3 *db)
{
    double t0 = now();

    query(db, "SELECT count(*), sum(length(c1)), sum(length(c2)), sum(length(c3)), "
              "sum(length(c4)), sum(length(c5)), sum(length(c6)) FROM t");
    return now() - t0;
}

static double time_profile(bf_driver *d, bf_fingerprint *out)
{
    static const char *const sums[] = {"c1", "c3", "c5"};
    bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
    bf_profile *p;
    double t0 = now();

    spec.null_columns = cols;
    spec.null_count = 6;
    spec.sum_columns = sums;
    spec.sum_count = 3;
    spec.fingerprint = 1;
    if (bf_driver_profile(&p, d, "t", &spec, NULL, NULL) != BF_OK)
        die("profile", bf_driver_last_error(d));
    bf_profile_fingerprint(out, p);
    bf_profile_free(p);
    return now() - t0;
}

static double time_separate(sqlite3 *db, bf_driver *d)
{
    static const char *const queries[] = {
        "SELECT count(*) FROM t",
        "SELECT count(*) - count(c1) FROM t", "SELECT count(*) - count(c2) FROM t",
        "SELECT count(*) - count(c3) FROM t", "SELECT count(*) - count(c4) FROM t",
        "SELECT count(*) - count(c5) FROM t", "SELECT count(*) - count(c6) FROM t",
        "SELECT sum(c1) FROM t", "SELECT sum(c3) FROM t", "SELECT sum(c5) FROM t",
    };
    bf_fingerprint fp;
    double t0 = now();

    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++)
        query(db, queries[i]);
    if (bf_driver_fingerprint(&fp, d, "t", cols, 6, NULL, NULL) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    return now() - t0;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "0") != 0;
    long rows = quick ? 20000 : 2000000;
    int runs = quick ? 2 : 3;
    char dir[] = "/tmp/bf-bench-XXXXXX", path[64];
    double fp_best = 1e30, bare_best = 1e30, prof_best = 1e30, sep_best = 1e30;
    bf_fingerprint a, b;
    sqlite3 *db;
    bf_driver *d;

    if (!mkdtemp(dir))
        die("mkdtemp", "cannot make a scratch directory");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    fill(db, rows);
    if (bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die(path, bf_last_error());
    /* Warm both connections' caches before measuring. */
    time_bare_scan(db);
    time_fingerprint(d, &a);
    for (int i = 0; i < runs; i++) {
        bare_best = min2(bare_best, time_bare_scan(db));
        fp_best = min2(fp_best, time_fingerprint(d, &a));
        sep_best = min2(sep_best, time_separate(db, d));
        prof_best = min2(prof_best, time_profile(d, &b));
    }
    if (!bf_fingerprint_equal(&a, &b) || a.rows != (uint64_t)rows)
        die("check", "the profile's fingerprint differs from the fingerprint scan");
    printf("BENCH name=fingerprint_scan value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:1.3\n",
           fp_best, bare_best, fp_best / bare_best);
    printf("BENCH name=profile_one_scan value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:0.5\n",
           prof_best, sep_best, prof_best / sep_best);
    bf_driver_free(d);
    sqlite3_close(db);
    unlink(path);
    rmdir(dir);
    return 0;
}
