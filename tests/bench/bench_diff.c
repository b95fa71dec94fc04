/*
 * BENCH name=diff_1m: a 1,000,000-row table (20,000 with BF_BENCH_QUICK=1)
 * in which a batch changed 1,000 rows, added 500 and removed 500 (scaled
 * down in quick mode). libbackfill's diff from stored segment fingerprints
 * (the before-state captured before the batch, kept as JSON, parsed back;
 * the before rows of differing segments read from the batch's pre-image,
 * here a copy of the table) against the naive SQL a user would write:
 * EXCEPT both ways, the two results joined by key. The counts must agree.
 * Timed: parsing the stored before-state and bf_diff_compute; the capture
 * happens before the batch and is reported on stderr.
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
    fprintf(stderr, "bench_diff: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

int main(void)
{
    const char *quick = getenv("BF_BENCH_QUICK");
    int is_quick = quick && quick[0] == '1';
    long rows = is_quick ? 20000 : 1000000;
    long changed = is_quick ? 20 : 1000, added = is_quick ? 10 : 500, removed = added;
    char dir[] = "/tmp/bf-bench-diff-XXXXXX", path[128], sql[2048], *json = NULL;
    static const char *const key[] = {"id"};
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL, *stored = NULL;
    bf_diff *diff = NULL;
    bf_driver *d;
    sqlite3 *db;
    sqlite3_stmt *st;
    double t0, t_capture, ours = 1e30, naive = 1e30;
    long long n_added = 0, n_removed = 0, n_changed = 0;

    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             "CREATE TABLE t (id INTEGER PRIMARY KEY, customer TEXT, amount INTEGER, price REAL, "
             "note TEXT)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t SELECT i, 'customer-' || (i %% 9973), i %% 1000, (i %% 100) / 7.0, "
             "CASE WHEN i %% 10 = 0 THEN NULL ELSE printf('%%08x', i * 2654435761 %% 4294967296) "
             "END FROM n", rows);
    exec(db, sql);
    if (bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die("driver", bf_last_error());

    /* Before the batch: capture, store as JSON; the batch's pre-image is kept as `old`. */
    t0 = now();
    if (bf_diff_capture(&before, d, "t", key, 1, NULL, NULL, NULL) != BF_OK ||
        bf_diff_before_to_json(&json, before) != BF_OK)
        die("capture", bf_last_error());
    t_capture = now() - t0;
    exec(db, "CREATE TABLE old AS SELECT * FROM t");

    /* The batch: spread changes, removals and additions over the key range. */
    snprintf(sql, sizeof sql,
             "UPDATE t SET amount = amount + 1 WHERE id %% %ld = 1 AND id <= %ld;"
             "DELETE FROM t WHERE id %% %ld = 2 AND id <= %ld;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t SELECT %ld + i, 'new', 1, 1.0, NULL FROM n",
             rows / changed, rows, rows / removed, rows, added, rows);
    exec(db, sql);

    o.before_table = "old";
    for (int run = 0; run < 3; run++) {
        bf_diff_before_free(stored);
        bf_diff_free(diff);
        stored = NULL;
        diff = NULL;
        t0 = now();
        if (bf_diff_before_from_json(&stored, json) != BF_OK ||
            bf_diff_compute(&diff, d, "t", key, 1, NULL, NULL, stored, &o) != BF_OK)
            die("compute", bf_last_error());
        if (now() - t0 < ours)
            ours = now() - t0;
    }
    for (int run = 0; run < (is_quick ? 3 : 2); run++) {
        t0 = now();
        if (sqlite3_prepare_v2(db,
                "WITH a AS MATERIALIZED (SELECT * FROM t EXCEPT SELECT * FROM old), "
                "b AS MATERIALIZED (SELECT * FROM old EXCEPT SELECT * FROM t) "
                "SELECT (SELECT count(*) FROM a WHERE id NOT IN (SELECT id FROM b)), "
                "(SELECT count(*) FROM b WHERE id NOT IN (SELECT id FROM a)), "
                "(SELECT count(*) FROM a JOIN b USING (id))", -1, &st, NULL) != SQLITE_OK)
            die("naive", sqlite3_errmsg(db));
        if (sqlite3_step(st) != SQLITE_ROW)
            die("naive", sqlite3_errmsg(db));
        n_added = sqlite3_column_int64(st, 0);
        n_removed = sqlite3_column_int64(st, 1);
        n_changed = sqlite3_column_int64(st, 2);
        sqlite3_finalize(st);
        if (now() - t0 < naive)
            naive = now() - t0;
    }
    if (n_added != added || n_removed != removed || n_changed != changed ||
        bf_diff_count(diff, BF_DIFF_ADDED) != n_added ||
        bf_diff_count(diff, BF_DIFF_REMOVED) != n_removed ||
        bf_diff_count(diff, BF_DIFF_CHANGED) != n_changed) {
        fprintf(stderr, "bench_diff: counts differ: naive %lld/%lld/%lld, libbackfill "
                "%lld/%lld/%lld\n", n_added, n_removed, n_changed,
                (long long)bf_diff_count(diff, BF_DIFF_ADDED),
                (long long)bf_diff_count(diff, BF_DIFF_REMOVED),
                (long long)bf_diff_count(diff, BF_DIFF_CHANGED));
        return 1;
    }
    printf("BENCH name=diff_1m value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:0.5\n", ours,
           naive, ours / naive);
    fprintf(stderr, "bench_diff: %ld rows, %lld added, %lld removed, %lld changed; diff %.4f s "
            "(%lld of %lld segments read), EXCEPT both ways %.4f s; capture before the batch "
            "%.4f s, stored before-state %zu bytes of JSON\n", rows, n_added, n_removed,
            n_changed, ours, (long long)bf_diff_segments_differing(diff),
            (long long)bf_diff_segments(diff), naive, t_capture, strlen(json));
    bf_free(json);
    bf_diff_free(diff);
    bf_diff_before_free(before);
    bf_diff_before_free(stored);
    bf_driver_free(d);
    sqlite3_close(db);
    unlink(path);
    rmdir(dir);
    return 0;
}
