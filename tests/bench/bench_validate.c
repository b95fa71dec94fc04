/*
 * Validation benchmarks (issue 11) on SQLite tables of 2,000,000 rows
 * (20,000 with BF_BENCH_QUICK=1), each against what a user would write
 * instead, measured in the same run, with the results asserted equal:
 *   unique_noindex: the validator's `unique` check (per: run, before and
 *     after) on a key with no index vs the GROUP BY ... HAVING query a user
 *     writes, counting duplicate rows the way the check does (n - 1 rows per
 *     repeated key, every row of a NULL key) and the NULL-key rows;
 *   unique_indexed: the same on a copy of the table with a (non-unique)
 *     index on the key; SQLite runs the same GROUP BY over the index;
 *   validate_one_scan: before + after of row_count, not_null on 3 columns,
 *     2 metrics (SUM of two columns) and unchanged_columns on a
 *     2,000,000-row batch vs the same checks as separate queries with the
 *     batch's predicate: before, the two sums and the fingerprint of the
 *     other columns; after, count(*), three NULL counts, the two sums and the
 *     fingerprint again (the user's cheapest unchanged-columns comparison:
 *     the library's own fingerprint scan, faster than an EXCEPT of a copy).
 * Each figure is the best of three runs (two in quick mode).
 */
#include <sqlite3.h>
#include <stdint.h>
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
    fprintf(stderr, "bench_validate: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

/* Run a query with the batch bounds bound (when it names them); the first row's columns. */
static void query(sqlite3 *db, const char *sql, sqlite3_int64 lo, sqlite3_int64 hi,
                  sqlite3_int64 *out, double *outr, int n)
{
    sqlite3_stmt *st;
    int i;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    if ((i = sqlite3_bind_parameter_index(st, ":lo")) > 0)
        sqlite3_bind_int64(st, i, lo);
    if ((i = sqlite3_bind_parameter_index(st, ":hi")) > 0)
        sqlite3_bind_int64(st, i, hi);
    if (sqlite3_step(st) == SQLITE_ROW)
        for (i = 0; i < n; i++) {
            if (out)
                out[i] = sqlite3_column_int64(st, i);
            if (outr)
                outr[i] = sqlite3_column_double(st, i);
        }
    while (sqlite3_step(st) == SQLITE_ROW)
        ;
    sqlite3_finalize(st);
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

/* ---- unique ---- */

/*
 * u_noindex and u_indexed hold the same rows: key k is the row number, except
 * every 1000th row has a NULL key and every 100th (i % 100 = 7) repeats the
 * key of the row before, so about 1% of the rows are duplicates.
 */
static void fill_unique(sqlite3 *db, long rows)
{
    char sql[1024];

    snprintf(sql, sizeof sql,
             "CREATE TABLE u_noindex (id INTEGER, k INTEGER, v REAL, note TEXT);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO u_noindex SELECT i, CASE WHEN i %% 1000 = 0 THEN NULL "
             "WHEN i %% 100 = 7 THEN i - 1 ELSE i END, i * 0.5, 'note-' || (i %% 977) FROM n;"
             "CREATE TABLE u_indexed (id INTEGER, k INTEGER, v REAL, note TEXT);"
             "INSERT INTO u_indexed SELECT * FROM u_noindex;"
             "CREATE INDEX u_indexed_k ON u_indexed (k);",
             rows);
    exec(db, sql);
}

/* The validator's unique check over the whole table; its duplicate rows and NULL-key rows. */
static double time_unique_check(bf_driver *d, const char *table, int64_t *dups, int64_t *nulls)
{
    static const char *const key[] = {"k"};
    bf_validator *v;
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    long long a = -1, b = -1;
    double t0;

    if (bf_validator_new(&v, table, key, 1, NULL, 0) != BF_OK ||
        bf_validator_add_check_json(v, "{\"check\": \"unique\", \"per\": \"run\"}") != BF_OK)
        die("validator", bf_last_error());
    t0 = now();
    if (bf_validator_before(&st, v, d, NULL, NULL) != BF_OK ||
        bf_validator_after(&r, v, d, NULL, NULL, st) != BF_OK)
        die("unique", bf_last_error());
    t0 = now() - t0;
    if (bf_results_count(r) != 1 || strcmp(bf_results_check(r, 0), "unique") != 0 ||
        sscanf(bf_results_observed(r, 0), "%lld duplicate rows, %lld with a NULL key", &a, &b) != 2)
        die("unique", bf_results_observed(r, 0));
    if ((a > 0) != (bf_results_outcome(r, 0) == BF_OUTCOME_FAIL))
        die("unique", "the outcome does not follow the count");
    *dups = a;
    *nulls = b;
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_validator_free(v);
    return t0;
}

static double time_unique_sql(sqlite3 *db, const char *table, int64_t *dups, int64_t *nulls)
{
    char sql[512];
    sqlite3_int64 out[2] = {-1, -1};
    double t0;

    snprintf(sql, sizeof sql,
             "SELECT coalesce(sum(CASE WHEN k IS NULL THEN n ELSE n - 1 END), 0), "
             "coalesce(sum(CASE WHEN k IS NULL THEN n END), 0) FROM "
             "(SELECT k, count(*) AS n FROM %s GROUP BY k HAVING count(*) > 1 OR k IS NULL)",
             table);
    t0 = now();
    query(db, sql, 0, 0, out, NULL, 2);
    t0 = now() - t0;
    *dups = out[0];
    *nulls = out[1];
    return t0;
}

static void bench_unique(sqlite3 *db, bf_driver *d, const char *name, const char *table,
                         const char *target, int runs)
{
    double lib = 1e30, base = 1e30;
    int64_t ld = 0, ln = 0, bd = 0, bn = 0;

    /* Warm both connections' caches before measuring. */
    time_unique_sql(db, table, &bd, &bn);
    time_unique_check(d, table, &ld, &ln);
    for (int i = 0; i < runs; i++) {
        base = min2(base, time_unique_sql(db, table, &bd, &bn));
        lib = min2(lib, time_unique_check(d, table, &ld, &ln));
    }
    if (ld != bd || ln != bn || bd <= 0 || bn <= 0) {
        char msg[160];
        snprintf(msg, sizeof msg, "the check counts %lld duplicate rows (%lld NULL), the SQL %lld "
                 "(%lld NULL)", (long long)ld, (long long)ln, (long long)bd, (long long)bn);
        die(name, msg);
    }
    printf("BENCH name=%s value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:%s\n", name, lib,
           base, lib / base, target);
    fflush(stdout);
}

/* ---- validate_one_scan ---- */

static void fill_batch(sqlite3 *db, long rows)
{
    char sql[1024];

    snprintf(sql, sizeof sql,
             "CREATE TABLE w (id INTEGER PRIMARY KEY, amount REAL, qty INTEGER, customer TEXT, "
             "status TEXT, region TEXT, note TEXT);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO w SELECT i, CASE WHEN i %% 50 = 0 THEN NULL ELSE (i %% 1000) * 0.25 END, "
             "CASE WHEN i %% 70 = 0 THEN NULL ELSE i %% 13 END, 'customer-' || (i %% 9973), "
             "CASE WHEN i %% 90 = 0 THEN NULL ELSE 'st' || (i %% 5) END, 'r' || (i %% 17), "
             "CASE WHEN i %% 3 = 0 THEN NULL ELSE printf('%%08x', i * 2654435761 %% 4294967296) "
             "END FROM n",
             rows);
    exec(db, sql);
}

/* What both sides find: rows, NULLs of amount, qty, status, the two sums, the fingerprints. */
typedef struct found {
    int64_t rows, nulls[3];
    double sums_before[2], sums_after[2];
    int unchanged;
} found;

static const char *const other_cols[] = {"id", "customer", "status", "region", "note"};

static double time_validator(bf_driver *d, const bf_plan *plan, long rows, found *f)
{
    static const char *const key[] = {"id"}, *const cols[] = {"amount", "qty"};
    char check[256];
    bf_validator *v;
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    const bf_batch *b = bf_plan_batch(plan, 0);
    double t0;
    long long n[3] = {-1, -1, -1}, rc = -1;
    char *json = NULL;

    if (bf_validator_new(&v, "w", key, 1, cols, 2) != BF_OK)
        die("validator", bf_last_error());
    snprintf(check, sizeof check, "{\"check\": \"row_count\", \"min\": %ld, \"max\": %ld}", rows,
             rows);
    if (bf_validator_add_check_json(v, check) != BF_OK ||
        bf_validator_add_check_json(v, "{\"check\": \"not_null\", \"columns\": [\"amount\", "
                                       "\"qty\", \"status\"], \"max_rate\": 0.5}") != BF_OK ||
        bf_validator_add_check_json(v, "{\"check\": \"metric\", \"expr\": \"SUM(amount)\", "
                                       "\"expect_delta_pct\": {\"min\": -1, \"max\": 1}}") != BF_OK ||
        bf_validator_add_check_json(v, "{\"check\": \"metric\", \"expr\": \"SUM(qty)\", "
                                       "\"expect_delta\": {\"min\": 0, \"max\": 0}}") != BF_OK ||
        bf_validator_add_check_json(v, "{\"check\": \"unchanged_columns\"}") != BF_OK)
        die("checks", bf_last_error());
    t0 = now();
    if (bf_validator_before(&st, v, d, plan, b) != BF_OK ||
        bf_validator_after(&r, v, d, plan, b, st) != BF_OK)
        die("validate", bf_last_error());
    t0 = now() - t0;
    if (bf_results_count(r) != 5 || bf_results_status(r) != BF_OK)
        die("validate", "expected five passing checks");
    if (sscanf(bf_results_observed(r, 0), "%lld rows", &rc) != 1 ||
        sscanf(bf_results_observed(r, 1), "amount: %lld of %*d NULL, qty: %lld of %*d NULL, "
               "status: %lld of %*d NULL", &n[0], &n[1], &n[2]) != 3)
        die("validate", "unexpected observations");
    f->rows = rc;
    for (int i = 0; i < 3; i++)
        f->nulls[i] = n[i];
    /* The metrics' before and after values from the results' JSON. */
    if (bf_results_to_json(&json, r) != BF_OK)
        die("json", bf_last_error());
    for (int m = 0; m < 2; m++) {
        const char *p = json;
        for (int k = 0; k <= m && p; k++)
            p = strstr(p + 1, "\"before\": ");
        if (!p || sscanf(p, "\"before\": %lf", &f->sums_before[m]) != 1 ||
            !(p = strstr(p, "\"after\": ")) || sscanf(p, "\"after\": %lf", &f->sums_after[m]) != 1)
            die("json", json);
    }
    bf_free(json);
    f->unchanged = bf_results_outcome(r, 4) == BF_OUTCOME_PASS;
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_validator_free(v);
    return t0;
}

#define IN_BATCH " FROM w WHERE id >= :lo AND id < :hi"

static double time_separate(sqlite3 *db, bf_driver *d, const bf_plan *plan, found *f)
{
    static const char *const nulls[] = {"SELECT count(*) - count(amount)" IN_BATCH,
                                        "SELECT count(*) - count(qty)" IN_BATCH,
                                        "SELECT count(*) - count(status)" IN_BATCH};
    static const char *const sums[] = {"SELECT sum(amount)" IN_BATCH, "SELECT sum(qty)" IN_BATCH};
    const bf_batch *b = bf_plan_batch(plan, 0);
    sqlite3_int64 lo = bf_batch_lo(b), hi = bf_batch_hi(b), n;
    bf_fingerprint before, after;
    double t0 = now();

    /* before */
    for (int i = 0; i < 2; i++)
        query(db, sums[i], lo, hi, NULL, &f->sums_before[i], 1);
    if (bf_driver_fingerprint(&before, d, "w", other_cols, 5, plan, b) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    /* after */
    query(db, "SELECT count(*)" IN_BATCH, lo, hi, &n, NULL, 1);
    f->rows = n;
    for (int i = 0; i < 3; i++) {
        query(db, nulls[i], lo, hi, &n, NULL, 1);
        f->nulls[i] = n;
    }
    for (int i = 0; i < 2; i++)
        query(db, sums[i], lo, hi, NULL, &f->sums_after[i], 1);
    if (bf_driver_fingerprint(&after, d, "w", other_cols, 5, plan, b) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    f->unchanged = bf_fingerprint_equal(&before, &after);
    return now() - t0;
}

static int same(const found *a, const found *b)
{
    if (a->rows != b->rows || a->unchanged != b->unchanged)
        return 0;
    for (int i = 0; i < 3; i++)
        if (a->nulls[i] != b->nulls[i])
            return 0;
    for (int i = 0; i < 2; i++)
        if (a->sums_before[i] != b->sums_before[i] || a->sums_after[i] != b->sums_after[i])
            return 0;
    return 1;
}

static void bench_one_scan(sqlite3 *db, bf_driver *d, long rows, int runs)
{
    bf_planner *planner;
    bf_plan *plan;
    found lib_f, sep_f;
    double lib = 1e30, sep = 1e30;

    if (bf_planner_new(&planner) != BF_OK ||
        bf_planner_set_key_scope(planner, "id", 1, rows + 1) != BF_OK ||
        bf_planner_set_key_width(planner, rows) != BF_OK ||
        bf_planner_plan(&plan, planner) != BF_OK)
        die("plan", bf_last_error());
    if (bf_plan_count(plan) != 1)
        die("plan", "expected one batch");
    time_separate(db, d, plan, &sep_f);
    time_validator(d, plan, rows, &lib_f);
    for (int i = 0; i < runs; i++) {
        sep = min2(sep, time_separate(db, d, plan, &sep_f));
        lib = min2(lib, time_validator(d, plan, rows, &lib_f));
    }
    if (!same(&lib_f, &sep_f) || lib_f.rows != rows || !lib_f.unchanged || !lib_f.nulls[2])
        die("validate_one_scan", "the validator and the separate queries disagree");
    printf("BENCH name=validate_one_scan value=%.4f unit=s baseline=%.4f ratio=%.2f "
           "target=max:0.5\n", lib, sep, lib / sep);
    fflush(stdout);
    bf_plan_free(plan);
    bf_planner_free(planner);
}

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "0") != 0;
    long rows = quick ? 20000 : 2000000;
    int runs = quick ? 2 : 3;
    char dir[] = "/tmp/bf-bench-XXXXXX", path[64];
    sqlite3 *db;
    bf_driver *d;

    if (!mkdtemp(dir))
        die("mkdtemp", "cannot make a scratch directory");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;");
    fill_unique(db, rows);
    fill_batch(db, rows);
    if (bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die(path, bf_last_error());
    bench_unique(db, d, "unique_noindex", "u_noindex", "1", runs);
    bench_unique(db, d, "unique_indexed", "u_indexed", "0.5", runs);
    bench_one_scan(db, d, rows, runs);
    bf_driver_free(d);
    sqlite3_close(db);
    unlink(path);
    rmdir(dir);
    return 0;
}
