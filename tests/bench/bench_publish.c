/*
 * BENCH name=delta_publish: publishing one batch of 100,000 rows (10,000
 * with BF_BENCH_QUICK=1), of which 10% changed, into a table of three times
 * as many rows (INTEGER PRIMARY KEY id, an index on the time column the
 * batch is cut on), with a snapshot, as a runner publishes. The delta
 * publish (compare by key, write only removed, changed and added rows,
 * snapshot only their pre-images) against the delete-and-reinsert publish
 * of the same batch (the SQL layer's delta_off switch), in the same
 * process, each into its own copy of the table. Both must leave the same
 * fingerprint. Timed: bf_driver_publish, best of five, the two alternating; a restore
 * (untimed) returns each table to its state before the next run.
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "driver/sql.h"
#include "plan/plan_internal.h"

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* CPU time of the process: what the publish itself costs, whatever else the machine runs. */
static double cpu(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_publish: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

static bf_driver *open_driver(const char *path, int delta)
{
    bf_driver *d;

    if (bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die("driver", bf_last_error());
    bf__driver_sql(d)->delta_off = !delta;
    if (bf_driver_execute(d, "PRAGMA synchronous = OFF") != BF_OK)
        die("pragma", bf_last_error());
    return d;
}

struct timing {
    double best, best_cpu;
    bf_publish_result r;
};

/* Publish the staged batch `runs` times, restoring in between; the table ends published. */
static void time_publish(struct timing *out, bf_driver *d, const bf_write_spec *spec,
                         const bf_plan *plan, const bf_batch *b, int runs)
{
    out->best = out->best_cpu = 1e30;
    for (int run = 0; run < runs; run++) {
        bf_publish_result r = BF_PUBLISH_RESULT_INIT;
        double t0, c0;

        if (run && bf_driver_restore(d, spec, plan, b, 1) != BF_OK)
            die("restore", bf_last_error());
        t0 = now();
        c0 = cpu();
        if (bf_driver_publish(&r, d, spec, plan, b, 1, 1) != BF_OK)
            die("publish", bf_last_error());
        if (cpu() - c0 < out->best_cpu)
            out->best_cpu = cpu() - c0;
        if (now() - t0 < out->best)
            out->best = now() - t0;
        out->r = r;
    }
}

int main(void)
{
    const char *quick = getenv("BF_BENCH_QUICK");
    int is_quick = quick && quick[0] == '1';
    long batch = is_quick ? 10000 : 100000, rows = 3 * batch;
    char dir[] = "/tmp/bf-bench-publish-XXXXXX", path[128], sql[2048];
    static const char *const key[] = {"id"}, *const names[] = {"lo", "hi"};
    bf_write_spec sd = BF_WRITE_SPEC_INIT, so = BF_WRITE_SPEC_INIT;
    struct timing delta, old;
    bf_fingerprint fd, fo;
    bf_driver *dd, *dold;
    bf_plan *plan;
    const bf_batch *b;
    sqlite3 *db;
    double t0, stage_d, stage_o, replace = 1e30;

    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die("open", sqlite3_errmsg(db));
    exec(db, "PRAGMA synchronous = OFF;"
             "CREATE TABLE t_delta (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, customer TEXT, "
             "amount INTEGER, price REAL, note TEXT)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t_delta SELECT i, 1700000000 + i, 'customer-' || (i %% 9973), "
             "i %% 1000, (i %% 100) / 7.0, CASE WHEN i %% 10 = 0 THEN NULL ELSE "
             "printf('%%08x', i * 2654435761 %% 4294967296) END FROM n;"
             "CREATE INDEX t_delta_ts ON t_delta (ts);"
             "CREATE TABLE t_old (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, customer TEXT, "
             "amount INTEGER, price REAL, note TEXT);"
             "INSERT INTO t_old SELECT * FROM t_delta;"
             "CREATE INDEX t_old_ts ON t_old (ts);"
             /* The job's rows: the middle third, every tenth row changed. */
             "CREATE TABLE src AS SELECT * FROM t_delta WHERE ts >= 1700000000 + %ld "
             "AND ts < 1700000000 + %ld;"
             "UPDATE src SET amount = amount + 1 WHERE id %% 10 = 3;"
             "CREATE INDEX src_ts ON src (ts)",
             rows, batch, 2 * batch);
    exec(db, sql);

    if (bf__plan_new(&plan, BF_DIM_KEY, "ts", 0) != BF_OK)
        die("plan", bf_last_error());
    {
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = 1700000000 + batch},
                         {.type = BF_VALUE_INT, .i = 1700000000 + 2 * batch}};

        if (bf__plan_add(plan, v[0].i, v[1].i, "the middle third", 2, names, v) != BF_OK ||
            bf__plan_seal(plan, "") != BF_OK)
            die("plan", bf_last_error());
    }
    b = bf_plan_batch(plan, 0);
    sd.table = "t_delta";
    sd.key = key;
    sd.key_count = 1;
    sd.select = "SELECT id, ts, customer, amount, price, note FROM src "
                "WHERE ts >= :lo AND ts < :hi";
    sd.strategy = BF_WRITE_PARTITION_OVERWRITE;
    sd.snapshot = 1;
    so = sd;
    so.table = "t_old";
    dd = open_driver(path, 1);
    dold = open_driver(path, 0);
    t0 = now();
    if (bf_driver_stage(NULL, dd, &sd, plan, b, 1) != BF_OK)
        die("stage", bf_last_error());
    stage_d = now() - t0;
    t0 = now();
    if (bf_driver_stage(NULL, dold, &so, plan, b, 1) != BF_OK)
        die("stage", bf_last_error());
    stage_o = now() - t0;

    /* Alternate, so that neither path always runs on a warmer cache. */
    for (int round = 0; round < 5; round++) {
        struct timing td, to;

        if (round) {
            if (bf_driver_restore(dd, &sd, plan, b, 1) != BF_OK ||
                bf_driver_restore(dold, &so, plan, b, 1) != BF_OK)
                die("restore", bf_last_error());
        }
        time_publish(&td, dd, &sd, plan, b, 1);
        time_publish(&to, dold, &so, plan, b, 1);
        if (!round || td.best < delta.best)
            delta.best = td.best, delta.r = td.r;
        if (!round || to.best < old.best)
            old.best = to.best, old.r = to.r;
        if (!round || td.best_cpu < delta.best_cpu)
            delta.best_cpu = td.best_cpu;
        if (!round || to.best_cpu < old.best_cpu)
            old.best_cpu = to.best_cpu;
    }
    if (bf_driver_fingerprint(&fd, dd, "t_delta", NULL, 0, NULL, NULL) != BF_OK ||
        bf_driver_fingerprint(&fo, dold, "t_old", NULL, 0, NULL, NULL) != BF_OK)
        die("fingerprint", bf_last_error());
    if (!bf_fingerprint_equal(&fd, &fo) || delta.r.updated != batch / 10 ||
        delta.r.deleted != 0 || delta.r.written != batch / 10) {
        fprintf(stderr, "bench_publish: the two publishes differ (fingerprints %s; delta wrote "
                "%lld, updated %lld, deleted %lld)\n", bf_fingerprint_equal(&fd, &fo) ? "equal"
                : "differ", (long long)delta.r.written, (long long)delta.r.updated,
                (long long)delta.r.deleted);
        return 1;
    }
    /* For scale: the reckless one-statement upsert of the same rows, no snapshot, no checks. */
    for (int run = 0; run < 2; run++) {
        t0 = now();
        exec(db, "BEGIN; REPLACE INTO t_old SELECT * FROM src; ROLLBACK");
        if (now() - t0 < replace)
            replace = now() - t0;
    }
    printf("BENCH name=delta_publish value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:0.6\n",
           delta.best, old.best, delta.best / old.best);
    fprintf(stderr, "bench_publish: %ld of %ld rows in the batch, %lld changed; delta publish "
            "%.4f s (wrote %lld, deleted %lld), delete and reinsert %.4f s (wrote %lld, "
            "deleted %lld), both with a snapshot; CPU time %.4f s against %.4f s (ratio %.2f); "
            "staging %.4f / %.4f s; REPLACE INTO of the batch without snapshot %.4f s (delta "
            "%.2fx, delete and reinsert %.2fx of it)\n",
            batch, rows, (long long)delta.r.updated, delta.best, (long long)delta.r.written,
            (long long)delta.r.deleted, old.best, (long long)old.r.written,
            (long long)old.r.deleted, delta.best_cpu, old.best_cpu,
            delta.best_cpu / old.best_cpu, stage_d, stage_o, replace, delta.best / replace,
            old.best / replace);
    bf_plan_free(plan);
    bf_driver_free(dd);
    bf_driver_free(dold);
    sqlite3_close(db);
    snprintf(sql, sizeof sql, "%s-journal", path);
    unlink(sql);
    unlink(path);
    rmdir(dir);
    return 0;
}
