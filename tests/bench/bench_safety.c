/*
 * safety_cost: the example backfill (examples/warehouse, grown to 300,000
 * orders) run through the runner as its brief says (a pre-image kept for
 * every batch, every batch validated by the brief's checks, the run-level
 * checks, the ledger), against the one statement a user would type instead:
 *
 *     REPLACE INTO fct_orders SELECT <the brief's job> over the whole scope
 *
 * on an identical copy of the warehouse, in the same process, and on a
 * copy without the sources' statistics (SQLite then reads raw_orders whole
 * once, which for this scope is faster than its range): the baseline is the
 * faster of the two. All must leave fct_orders with the same fingerprint.
 * The runner uses one worker, so that it gains nothing from a second core
 * the statement does not use; it also runs with the brief's max_concurrency
 * (two workers), as backfill run does by default, and that run's median
 * time and ratio are printed besides (brief_workers_s, brief_workers_ratio).
 * Five rounds, each running the four in turn (the runner's two runs last
 * in even rounds, first in odd ones), every run on a new
 * copy of the warehouse, synced to disk before the round so that no side's
 * first commit pays for writing out a copy; each round's times go to
 * stderr. The ratio is the median of the rounds' own ratios (the runner
 * against the faster statement of the same round): the machine is shared,
 * and its speed changes from one minute to the next, so a ratio of two runs
 * a few seconds apart says more than one of each side's best, which may
 * come from different minutes. The best of each side and their ratio are
 * printed too (best_ratio).
 *
 * BF_BENCH_QUICK=1 skips the growth to 300,000 orders (the 260,000 of
 * build.sql). Files go to a new directory under BF_BENCH_DIR, TMPDIR or /tmp.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "median.h"

#ifndef BF_SOURCE_DIR
#error "BF_SOURCE_DIR must name the source tree"
#endif

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The CPU time (user and system, every thread) this process has used so far. */
static double cpu_s(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "bench_safety: %s: %s\n", what, why);
    exit(1);
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *text;

    if (!f)
        die(path, "cannot open");
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    text = malloc((size_t)n + 1);
    if (!text || fread(text, 1, (size_t)n, f) != (size_t)n)
        die(path, "cannot read");
    text[n] = '\0';
    fclose(f);
    return text;
}

static void exec_sql(const char *db, const char *sql)
{
    sqlite3 *h;
    char *err = NULL;

    if (sqlite3_open(db, &h) != SQLITE_OK || sqlite3_exec(h, sql, NULL, NULL, &err) != SQLITE_OK)
        die(db, err ? err : sqlite3_errmsg(h));
    sqlite3_close(h);
}

static void fingerprint(char out[BF_FINGERPRINT_TEXT_SIZE], const char *db)
{
    bf_driver *d;
    bf_fingerprint fp;
    int rc;

    if ((rc = bf_driver_open_sqlite(&d, db, 0)) != BF_OK ||
        (rc = bf_driver_fingerprint(&fp, d, "fct_orders", NULL, 0, NULL, NULL)) != BF_OK)
        die("fingerprint", bf_last_error());
    bf_fingerprint_format(out, BF_FINGERPRINT_TEXT_SIZE, &fp);
    bf_driver_free(d);
}

/*
 * The one statement on warehouse `db`, with the scope's instants bound; its
 * wall time, and its CPU time in *cpu.
 */
static double replace_once(const char *db, const char *replace, double *cpu)
{
    sqlite3 *h;
    sqlite3_stmt *st;
    double t;

    if (sqlite3_open(db, &h) != SQLITE_OK ||
        sqlite3_prepare_v2(h, replace, -1, &st, NULL) != SQLITE_OK)
        die("replace", sqlite3_errmsg(h));
    /* 2025-01-01 and 2025-06-01 at midnight in America/New_York. */
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":start"), 1735707600);
    sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":end"), 1748750400);
    *cpu = cpu_s();
    t = now_s();
    if (sqlite3_step(st) != SQLITE_DONE)
        die("replace", sqlite3_errmsg(h));
    t = now_s() - t;
    *cpu = cpu_s() - *cpu;
    sqlite3_finalize(st);
    sqlite3_close(h);
    return t;
}

/*
 * One run of the runbook through the runner on warehouse `db` with a new
 * ledger and `workers` workers (0: the brief's max_concurrency); its wall
 * time, and its CPU time (every thread's) in *cpu.
 */
static double runner_once(const char *db, const char *ledger, bf_brief *brief, unsigned workers,
                          double *cpu)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_runner *r;
    double t;

    lo.durability = BF_DURABILITY_NORMAL;
    o.ledger_path = ledger;
    o.ledger_options = &lo;
    o.warehouse_path = db;
    o.workers = workers;
    o.poll_s = 0.01;
    if (bf_runner_new(&r, &o) != BF_OK || bf_runner_set_brief(r, brief) != BF_OK)
        die("runner", bf_last_error());
    *cpu = cpu_s();
    t = now_s();
    if (bf_runner_run(r, NULL) != BF_OK)
        die("run", bf_runner_last_error(r));
    t = now_s() - t;
    *cpu = cpu_s() - *cpu;
    bf_runner_free(r);
    return t;
}

#define ROUNDS 5

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "1") == 0;
    const char *base = getenv("BF_BENCH_DIR") ? getenv("BF_BENCH_DIR")
                       : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char dir[4096], w[4200], a[4200], b[4200], c[4200], a2[4200], ledger[4200], cmd[40000];
    char fa[BF_FINGERPRINT_TEXT_SIZE], fb[BF_FINGERPRINT_TEXT_SIZE], fc[BF_FINGERPRINT_TEXT_SIZE];
    char *build = slurp(BF_SOURCE_DIR "/examples/warehouse/build.sql");
    char *grow = slurp(BF_SOURCE_DIR "/examples/warehouse/grow.sql");
    bf_brief *brief;
    const char *job;
    char *replace;
    double t_runner = 0, t_replace = 0, t_nostats = 0, t, t_floor, t_round, t_run = 0, t_run2 = 0;
    double runs[ROUNDS], floors[ROUNDS], ratios[ROUNDS], runs2[ROUNDS], ratios2[ROUNDS];
    double c_stmt, c_round, c_run = 0, c_run2 = 0, cpu_ratios[ROUNDS], cpu_ratios2[ROUNDS];
    unsigned brief_workers = 1;
    long long orders;
    int rc;

    snprintf(dir, sizeof dir, "%s/bench-safety-XXXXXX", base);
    if (!mkdtemp(dir))
        die("mkdtemp", "failed");
    snprintf(w, sizeof w, "%s/warehouse.db", dir);
    snprintf(a, sizeof a, "%s/runner.db", dir);
    snprintf(b, sizeof b, "%s/replace.db", dir);
    snprintf(c, sizeof c, "%s/replace-nostats.db", dir);
    snprintf(a2, sizeof a2, "%s/runner-brief-workers.db", dir);
    exec_sql(w, build);
    if (!quick)
        exec_sql(w, grow);
    {
        sqlite3 *h;
        sqlite3_stmt *st;

        sqlite3_open(w, &h);
        sqlite3_prepare_v2(h, "SELECT count(*) FROM raw_orders", -1, &st, NULL);
        sqlite3_step(st);
        orders = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        sqlite3_close(h);
    }
    if ((rc = bf_brief_load_file(&brief, BF_SOURCE_DIR "/examples/warehouse/refund-join.json")))
        die("brief", bf_last_error());
    job = bf_brief_job_select(brief);
    {
        int64_t mc = 0;

        if (bf_brief_max_concurrency(&mc, brief) != BF_OK || mc < 1)
            die("brief", bf_last_error());
        brief_workers = (unsigned)mc;
    }
    replace = malloc(strlen(job) + 200);
    sprintf(replace, "REPLACE INTO fct_orders %s", job);

    /*
     * Each round runs the four in turn, each on a new copy of the
     * warehouse as built. The one statement runs on the warehouse with
     * statistics on the sources and on a copy without them, whose plan
     * reads raw_orders whole once instead of through raw_orders_ts: the
     * faster of the two is the round's floor, and the round's ratio is the
     * runner's time against it. The runner runs with one worker, so that
     * it gains nothing from a second core the statement does not use (the
     * benchmark's ratio), and with the brief's max_concurrency, as backfill
     * run does by default (brief_workers_ratio). Every run must leave the
     * same fingerprint.
     */
    for (int round = 0; round < ROUNDS; round++) {
        char ledger2[4300];

        snprintf(cmd, sizeof cmd,
                 "cp '%s' '%s' && cp '%s' '%s' && cp '%s' '%s' && cp '%s' '%s' && sync", w, a, w,
                 b, w, c, w, a2);
        if (system(cmd) != 0)
            die("cp", "failed");
        exec_sql(c, "DROP TABLE IF EXISTS sqlite_stat1");
        snprintf(ledger, sizeof ledger, "%s/ledger-%d.db", dir, round);
        snprintf(ledger2, sizeof ledger2, "%s/ledger-%d-brief-workers.db", dir, round);
        /*
         * The runner runs last in even rounds and first in odd ones, so
         * that neither side always follows the other's writes; its run with
         * the brief's workers is next to its run with one.
         */
        if (round % 2) {
            t_run2 = runner_once(a2, ledger2, brief, brief_workers, &c_run2);
            t_run = runner_once(a, ledger, brief, 1, &c_run);
            fprintf(stderr, "round %d: runner %.3f s, with %u workers %.3f s", round, t_run,
                    brief_workers, t_run2);
        }
        t = replace_once(b, replace, &c_stmt);
        t_replace = round && t_replace < t ? t_replace : t;
        t_round = t;
        c_round = c_stmt;
        if (round % 2)
            fprintf(stderr, ", statement %.3f s", t);
        else
            fprintf(stderr, "round %d: statement %.3f s", round, t);
        t = replace_once(c, replace, &c_stmt);
        t_nostats = round && t_nostats < t ? t_nostats : t;
        if (t < t_round) {
            t_round = t;
            c_round = c_stmt;
        }
        fprintf(stderr, ", without statistics %.3f s", t);
        if (!(round % 2)) {
            t_run = runner_once(a, ledger, brief, 1, &c_run);
            t_run2 = runner_once(a2, ledger2, brief, brief_workers, &c_run2);
            fprintf(stderr, ", runner %.3f s, with %u workers %.3f s", t_run, brief_workers,
                    t_run2);
        }
        t_runner = round && t_runner < t_run ? t_runner : t_run;
        runs[round] = t_run;
        runs2[round] = t_run2;
        floors[round] = t_round;
        ratios[round] = t_run / t_round;
        ratios2[round] = t_run2 / t_round;
        cpu_ratios[round] = c_run / c_round;
        cpu_ratios2[round] = c_run2 / c_round;
        fprintf(stderr, ", ratio %.3f (%.3f); CPU: runner %.3f s (%.3f s), statement %.3f s\n",
                t_run / t_round, t_run2 / t_round, c_run, c_run2, c_round);
        fingerprint(fb, c);
        fingerprint(fc, b);
        if (strcmp(fb, fc) != 0)
            die("result", "the statement left different rows with and without statistics");
        fingerprint(fa, a);
        if (strcmp(fa, fb) != 0)
            die("result", "the runner and the statement left different rows");
        fingerprint(fa, a2);
        if (strcmp(fa, fb) != 0)
            die("result", "the runner with the brief's workers left different rows");
    }
    bf_brief_free(brief);
    t_floor = t_replace < t_nostats ? t_replace : t_nostats;
    /*
     * value and baseline: the medians of the rounds' runner times (one
     * worker) and floors; brief_workers_s and brief_workers_ratio the same
     * for the runs with the brief's max_concurrency; cpu_ratio and
     * brief_workers_cpu_ratio the medians of the rounds' ratios of CPU
     * time (every thread's) against the floor statement's.
     */
    printf("BENCH name=safety_cost value=%.3f unit=s baseline=%.3f ratio=%.3f target=max:3 "
           "orders=%lld workers=1 rounds=%d best_s=%.3f best_baseline_s=%.3f best_ratio=%.3f "
           "statement_s=%.3f statement_without_stats_s=%.3f brief_workers=%u brief_workers_s=%.3f "
           "brief_workers_ratio=%.3f cpu_ratio=%.3f brief_workers_cpu_ratio=%.3f fingerprint=%s\n",
           median(runs, ROUNDS), median(floors, ROUNDS), median(ratios, ROUNDS), orders, ROUNDS,
           t_runner, t_floor, t_runner / t_floor, t_replace, t_nostats, brief_workers,
           median(runs2, ROUNDS), median(ratios2, ROUNDS), median(cpu_ratios, ROUNDS),
           median(cpu_ratios2, ROUNDS), fa);
    free(replace);
    free(build);
    free(grow);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
