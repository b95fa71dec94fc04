/*
 * Ledger benchmarks, all on one ledger file in one run:
 *
 *   ledger_cycle          a claim + complete cycle (two write transactions,
 *                         audit events included) against two bare autocommit
 *                         UPDATEs, each changing one integer column of one
 *                         row by primary key, on the same file with the same
 *                         journal (WAL) and sync settings; durability normal.
 *   ledger_cycle_full     the same with durability full (fsync per commit).
 *   ledger_register_100k  bf_run_start registering 100,000 batches against a
 *                         bare prepared INSERT loop of the same rows in one
 *                         transaction.
 *   ledger_4proc_scaling  4 processes claiming and completing one run's
 *                         batches: cost per cycle against one process's.
 *
 * BF_BENCH_QUICK=1 uses small sizes. The file is BF_BENCH_DIR/bench-ledger.db
 * (default: a new directory under TMPDIR or /tmp) and is removed afterwards.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../ledger/ledger_testlib.h"
#include "ledger/sqlite_store.h"

static char path[4096];
static char scratch[4000];

/*
 * Every sqlite3_step() call of this program, the ledger's included (the
 * benchmark links with -Wl,--wrap=sqlite3_step): statement steps per cycle,
 * the ledger's against the baseline's, say where a cycle's time goes.
 */
static unsigned long long steps;
static unsigned long long cycle_steps; /* those of the last one-process work_run() */
int __real_sqlite3_step(sqlite3_stmt *st);
int __wrap_sqlite3_step(sqlite3_stmt *st);

int __wrap_sqlite3_step(sqlite3_stmt *st)
{
    steps++;
    return __real_sqlite3_step(st);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_ledger: %s: %s (%s)\n", what, bf_errstr(rc), bf_last_error());
    exit(1);
}

static void bench_line(const char *name, double value, const char *unit, double baseline,
                       double target)
{
    printf("BENCH name=%s value=%.6g unit=%s baseline=%.6g ratio=%.3f target=max:%g\n", name,
           value, unit, baseline, value / baseline, target);
    fflush(stdout);
}

static bf_ledger *open_ledger(bf_durability durability, const char *actor)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *ledger;
    int rc;

    opts.durability = durability;
    opts.actor = actor;
    opts.busy_timeout_ms = 60000;
    rc = bf_ledger_open(&ledger, path, &opts);
    if (rc != BF_OK)
        die("opening the ledger", rc);
    return ledger;
}

/* Register a run of `count` batches; returns its id. */
static int64_t new_run(bf_ledger *ledger, const char *brief, size_t count, unsigned concurrency,
                       double *seconds)
{
    bf_run_spec spec = lt_spec(brief, concurrency, 3, 1.0, 300.0);
    bf_plan *plan = lt_key_plan(count, 100, brief);
    bf_run *run;
    int64_t id;
    double t0;
    int rc;

    if (!plan)
        die("building a plan", bf_last_error_code());
    t0 = now_s();
    rc = bf_run_start(&run, ledger, &spec, plan);
    if (seconds)
        *seconds = now_s() - t0;
    if (rc != BF_OK)
        die("starting a run", rc);
    id = bf_run_id(run);
    bf_run_free(run);
    bf_plan_free(plan);
    return id;
}

/*
 * Seconds for `procs` processes to claim and complete every batch of run
 * `id`: for one process, the cycles alone; for several, the wall time from
 * the first fork to the last exit.
 */
static double work_run(int64_t id, size_t count, int procs, bf_durability durability)
{
    double t0 = now_s(), t1 = 0;
    long total = 0;

    for (int p = 0; p < procs; p++) {
        pid_t pid = procs == 1 ? 0 : fork();

        if (pid < 0)
            die("fork", BF_E_IO);
        if (pid == 0) {
            char actor[32];
            bf_ledger *ledger;
            bf_run *run;
            long done;
            int rc;

            snprintf(actor, sizeof actor, "bench-worker-%d", p);
            ledger = open_ledger(durability, actor);
            rc = bf_run_open(&run, ledger, id);
            if (rc != BF_OK)
                die("opening the run", rc);
            if (procs == 1) {
                t0 = now_s();
                cycle_steps = steps;
            }
            done = lt_work(run, 0);
            t1 = now_s();
            cycle_steps = steps - cycle_steps;
            if (done < 0)
                die("claim/complete", (int)done);
            bf_run_free(run);
            bf_ledger_close(ledger);
            if (procs == 1) {
                total = done;
                break;
            }
            _exit(0);
        }
    }
    for (int p = 0; procs > 1 && p < procs; p++) {
        int status;

        if (wait(&status) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die("a worker process failed", BF_E_INTERNAL);
    }
    if (procs == 1 && total != (long)count)
        die("not every batch was completed", BF_E_INTERNAL);
    return (procs == 1 ? t1 : now_s()) - t0;
}

static void exec_or_die(sqlite3 *db, const char *sql);

/* Seconds for `procs` processes to work a new run of `count` batches of brief `brief`. */
static double cycles_of(const char *brief, size_t count, unsigned concurrency, int procs,
                        bf_durability durability)
{
    bf_ledger *ledger = open_ledger(durability, "bench");
    int64_t id = new_run(ledger, brief, count, concurrency, NULL);

    bf_ledger_close(ledger);
    return work_run(id, count, procs, durability);
}

static sqlite3 *open_bare(bf_durability durability)
{
    sqlite3 *db;

    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, durability == BF_DURABILITY_FULL ? "PRAGMA synchronous=FULL"
                                                          : "PRAGMA synchronous=NORMAL",
                     NULL, NULL, NULL) != SQLITE_OK)
        die("opening the file with SQLite", BF_E_IO);
    sqlite3_busy_timeout(db, 60000);
    /* The ledger's own checkpoint interval: the same journal settings on both sides. */
    exec_or_die(db, "PRAGMA wal_autocheckpoint=" BF_STR(SQ_WAL_AUTOCHECKPOINT));
    return db;
}

static void exec_or_die(sqlite3 *db, const char *sql)
{
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench_ledger: %s: %s\n", sql, sqlite3_errmsg(db));
        exit(1);
    }
}

/* Seconds for `count` pairs of autocommit UPDATEs of one integer column of one row by key. */
static double bare_updates(size_t count, bf_durability durability)
{
    sqlite3 *db = open_bare(durability);
    sqlite3_stmt *ins, *upd;
    double t0, t;

    exec_or_die(db, "DROP TABLE IF EXISTS bench_rows");
    exec_or_die(db, "CREATE TABLE bench_rows (id INTEGER PRIMARY KEY, v INTEGER NOT NULL)");
    exec_or_die(db, "BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO bench_rows (id, v) VALUES (?, 0)", -1, &ins, NULL);
    for (size_t i = 1; i <= count; i++) {
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
        sqlite3_step(ins);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec_or_die(db, "COMMIT");
    sqlite3_prepare_v2(db, "UPDATE bench_rows SET v = v + 1 WHERE id = ?", -1, &upd, NULL);
    t0 = now_s();
    for (size_t i = 1; i <= count; i++) {
        for (int twice = 0; twice < 2; twice++) {
            sqlite3_bind_int64(upd, 1, (sqlite3_int64)i);
            if (sqlite3_step(upd) != SQLITE_DONE)
                die("bare UPDATE", BF_E_IO);
            sqlite3_reset(upd);
        }
    }
    t = now_s() - t0;
    sqlite3_finalize(upd);
    sqlite3_close(db);
    return t;
}

/* Seconds for a prepared INSERT loop, in one transaction, of the rows a plan registers. */
static double bare_inserts(size_t count)
{
    sqlite3 *db = open_bare(BF_DURABILITY_NORMAL);
    bf_plan *plan = lt_key_plan(count, 100, "bare");
    sqlite3_stmt *ins;
    char params[64];
    double t0, t;

    if (!plan)
        die("building a plan", bf_last_error_code());
    exec_or_die(db, "DROP TABLE IF EXISTS bench_batches");
    exec_or_die(db, "CREATE TABLE bench_batches (id INTEGER PRIMARY KEY, run_id INTEGER, "
                    "ordinal INTEGER, state INTEGER, label TEXT, lo INTEGER, hi INTEGER, "
                    "params TEXT)");
    t0 = now_s();
    exec_or_die(db, "BEGIN");
    sqlite3_prepare_v2(db, "INSERT INTO bench_batches (run_id, ordinal, state, label, lo, hi, "
                           "params) VALUES (1, ?, 0, ?, ?, ?, ?)", -1, &ins, NULL);
    for (size_t i = 0; i < count; i++) {
        const bf_batch *b = bf_plan_batch(plan, i);

        snprintf(params, sizeof params, "{\"lo\":%lld,\"hi\":%lld}", (long long)bf_batch_lo(b),
                 (long long)bf_batch_hi(b));
        sqlite3_bind_int64(ins, 1, (sqlite3_int64)i);
        sqlite3_bind_text(ins, 2, bf_batch_label(b), -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, bf_batch_lo(b));
        sqlite3_bind_int64(ins, 4, bf_batch_hi(b));
        sqlite3_bind_text(ins, 5, params, -1, SQLITE_STATIC);
        if (sqlite3_step(ins) != SQLITE_DONE)
            die("bare INSERT", BF_E_IO);
        sqlite3_reset(ins);
    }
    sqlite3_finalize(ins);
    exec_or_die(db, "COMMIT");
    t = now_s() - t0;
    sqlite3_close(db);
    bf_plan_free(plan);
    return t;
}

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "0") != 0;
    const char *dir = getenv("BF_BENCH_DIR");
    size_t cycles = quick ? 500 : 20000;
    size_t cycles_full = quick ? 100 : 2000;
    size_t registered = quick ? 5000 : 100000;
    double t_ledger, t_bare, t_one, t_four, t_reg, t_ins;
    unsigned long long steps_at, steps_ledger, steps_bare;
    bf_ledger *ledger;

    if (dir && dir[0]) {
        snprintf(path, sizeof path, "%s/bench-ledger.db", dir);
    } else {
        const char *tmp = getenv("TMPDIR");

        snprintf(scratch, sizeof scratch, "%s/bf-bench-ledger-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
        if (!mkdtemp(scratch))
            die("making a scratch directory", BF_E_IO);
        snprintf(path, sizeof path, "%s/bench-ledger.db", scratch);
    }
    lt_remove_ledger(path);

    /*
     * Untimed: grow the WAL file to its working size (a checkpoint every
     * 4000 pages) and prepare the statements, so that neither side of the
     * comparison pays for the file growing.
     */
    cycles_of("bench-warm-up", 1000, 1, 1, BF_DURABILITY_NORMAL);
    t_ledger = cycles_of("bench-cycle", cycles, 1, 1, BF_DURABILITY_NORMAL);
    steps_ledger = cycle_steps;
    steps_at = steps;
    t_bare = bare_updates(cycles, BF_DURABILITY_NORMAL);
    steps_bare = steps - steps_at - cycles; /* less the untimed inserts of its rows */
    printf("ledger: %.0f claim+complete cycles/s (durability normal, %zu cycles)\n",
           (double)cycles / t_ledger, cycles);
    printf("ledger: %.2f statement steps per cycle, baseline %.2f\n",
           (double)steps_ledger / (double)cycles, (double)steps_bare / (double)cycles);
    bench_line("ledger_cycle", t_ledger / (double)cycles * 1e6, "us", t_bare / (double)cycles * 1e6,
               2.5);

    t_one = cycles_of("bench-cycle-full", cycles_full, 1, 1, BF_DURABILITY_FULL);
    t_bare = bare_updates(cycles_full, BF_DURABILITY_FULL);
    printf("ledger: %.0f claim+complete cycles/s (durability full, %zu cycles)\n",
           (double)cycles_full / t_one, cycles_full);
    bench_line("ledger_cycle_full", t_one / (double)cycles_full * 1e6, "us",
               t_bare / (double)cycles_full * 1e6, 2.5);

    ledger = open_ledger(BF_DURABILITY_NORMAL, "bench");
    new_run(ledger, "bench-register", registered, 1, &t_reg);
    bf_ledger_close(ledger);
    t_ins = bare_inserts(registered);
    printf("ledger: registered %zu batches in %.3f s\n", registered, t_reg);
    bench_line("ledger_register_100k", t_reg, "s", t_ins, 2);

    t_one = cycles_of("bench-one-process", cycles, 8, 1, BF_DURABILITY_NORMAL);
    t_four = cycles_of("bench-four-processes", cycles, 8, 4, BF_DURABILITY_NORMAL);
    printf("ledger: %.0f cycles/s with 4 processes, %.0f with 1\n", (double)cycles / t_four,
           (double)cycles / t_one);
    bench_line("ledger_4proc_scaling", t_four / (double)cycles * 1e6, "us",
               t_one / (double)cycles * 1e6, 2);

    lt_remove_ledger(path);
    if (scratch[0])
        rmdir(scratch);
    return 0;
}
