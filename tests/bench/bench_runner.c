/*
 * Runner benchmarks, on an in-memory warehouse behind a driver vtable (so
 * that what is measured is the runner and its ledger, not a warehouse):
 *
 *   runner_overhead   a run of 10,000 one-key batches whose job does nothing:
 *                     the runner's wall time per batch (claim, idempotency
 *                     lookup, schema check, fingerprints, publish through
 *                     the driver, completion, settle, and the events with
 *                     their progress that a host such as backfill run
 *                     receives) against the ledger's bare claim + complete
 *                     cycle, timed in the same process on a ledger of the
 *                     same size and settings: five rounds of the two in
 *                     turn, the ratio the median of the rounds' ratios
 *                     (each round's times go to stderr).
 *   runner_4workers   a run of 40 batches whose job sleeps 20 ms: wall time
 *                     with 4 worker threads against 1.
 *
 * BF_BENCH_QUICK=1 uses small sizes. Files go to a new directory under
 * BF_BENCH_DIR or TMPDIR or /tmp, removed afterwards.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "median.h"
#include "memdriver.h"

static char dir[4096];

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, int rc)
{
    fprintf(stderr, "bench_runner: %s: %s (%s)\n", what, bf_errstr(rc), bf_last_error());
    exit(1);
}

static bf_plan *key_plan(int64_t keys, int64_t width)
{
    bf_planner *p;
    bf_plan *plan;
    int rc;

    if ((rc = bf_planner_new(&p)) != BF_OK || (rc = bf_planner_set_key_scope(p, "k", 0, keys)) ||
        (rc = bf_planner_set_key_width(p, width)) || (rc = bf_planner_plan(&plan, p)))
        die("plan", rc);
    bf_planner_free(p);
    return plan;
}

static const char *const key[] = {"k"};

/*
 * What a host does with each event: read its progress (backfill run prints
 * done of total). With one worker, each batch_done must say one more.
 */
static long long events_seen, last_done, miscounted;

static void on_event(void *userdata, const bf_run_event *ev)
{
    (void)userdata;
    events_seen++;
    if (ev->kind == BF_RUN_EVENT_BATCH_DONE && ev->progress) {
        long long done = ev->progress->completed + ev->progress->validated;

        miscounted += done != last_done + 1;
        last_done = done;
    }
}

/* One run of `plan` through the runner; returns its wall time. */
static double run_once(const char *ledger, const bf_plan *plan, memwh *w, unsigned workers,
                       unsigned concurrency)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;
    bf_runner *r;
    double t0;
    int rc;

    lo.durability = BF_DURABILITY_NORMAL;
    o.ledger_path = ledger;
    o.ledger_options = &lo;
    o.open_driver = memwh_open;
    o.driver_userdata = w;
    o.workers = workers;
    o.poll_s = 0.005;
    o.on_event = on_event;
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.select = "SELECT k, v FROM src WHERE k >= :lo AND k < :hi";
    spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    rs.brief_name = "bench";
    rs.code_version = "v1";
    rs.max_concurrency = concurrency;
    rs.lease_s = 300;
    if ((rc = bf_runner_new(&r, &o)) != BF_OK || (rc = bf_runner_set_job(r, plan, &spec, &rs, NULL)))
        die("runner", rc);
    t0 = now_s();
    if ((rc = bf_runner_run(r, NULL)) != BF_OK) {
        fprintf(stderr, "bench_runner: run: %s\n", bf_runner_last_error(r));
        exit(1);
    }
    t0 = now_s() - t0;
    bf_runner_free(r);
    return t0;
}

/* The ledger's bare cycle: claim and complete every batch of a run of `plan`. */
static double bare_cycles(const char *ledger, const bf_plan *plan)
{
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;
    bf_ledger *l;
    bf_run *run;
    bf_lease *lease;
    double t0;
    int rc;

    lo.durability = BF_DURABILITY_NORMAL;
    rs.brief_name = "bare";
    rs.max_concurrency = 1;
    if ((rc = bf_ledger_open(&l, ledger, &lo)) != BF_OK ||
        (rc = bf_run_start(&run, l, &rs, plan)) != BF_OK)
        die("bare run", rc);
    t0 = now_s();
    for (;;) {
        if ((rc = bf_run_claim(&lease, run)) != BF_OK)
            die("claim", rc);
        if (!lease)
            break;
        if ((rc = bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), NULL)))
            die("complete", rc);
        bf_lease_free(lease);
    }
    t0 = now_s() - t0;
    bf_run_free(run);
    bf_ledger_close(l);
    return t0;
}

#define ROUNDS 5

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "1") == 0;
    const char *base = getenv("BF_BENCH_DIR") ? getenv("BF_BENCH_DIR")
                       : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    int64_t n = quick ? 500 : 10000;
    char a[4200], b[4200], c[4200], cmd[4300];
    bf_plan *plan;
    memwh *w;
    double runner_s = 0, bare_s, one, four, runs[ROUNDS], bares[ROUNDS], ratios[ROUNDS];

    snprintf(dir, sizeof dir, "%s/bench-runner-XXXXXX", base);
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }

    /*
     * runner_overhead: rounds of the two in turn (the bare cycle first in
     * even rounds, the runner first in odd ones), each on new ledgers and a
     * new warehouse; the ratio is the median of the rounds' ratios, as the
     * machine's speed changes from one moment to the next.
     */
    plan = key_plan(n, 1);
    for (int round = 0; round < ROUNDS; round++) {
        snprintf(a, sizeof a, "%s/runner-%d.db", dir, round);
        snprintf(b, sizeof b, "%s/bare-%d.db", dir, round);
        w = memwh_new(n, (size_t)n);
        events_seen = last_done = miscounted = 0;
        if (round % 2)
            runner_s = run_once(a, plan, w, 1, 1);
        bare_s = bare_cycles(b, plan);
        if (!(round % 2))
            runner_s = run_once(a, plan, w, 1, 1);
        for (int64_t k = 0; k < n; k++)
            if (w->v[k] != k * 10 + 1 || w->publishes[k] != 1) {
                fprintf(stderr, "bench_runner: batch %lld was not published exactly once\n",
                        (long long)k);
                return 1;
            }
        if (last_done != n || miscounted) {
            fprintf(stderr, "bench_runner: the last batch_done says %lld of %lld done, and %lld "
                    "batch_done events did not count one more\n", last_done, (long long)n,
                    miscounted);
            return 1;
        }
        memwh_free(w);
        runs[round] = runner_s / (double)n * 1e6;
        bares[round] = bare_s / (double)n * 1e6;
        ratios[round] = runner_s / bare_s;
        fprintf(stderr, "round %d: runner %.1f us/batch, bare cycle %.1f us/batch, ratio %.3f\n",
                round, runs[round], bares[round], ratios[round]);
    }
    printf("BENCH name=runner_overhead value=%.1f unit=us/batch baseline=%.1f ratio=%.3f "
           "target=max:3 batches=%lld rounds=%d events=%lld\n", median(runs, ROUNDS),
           median(bares, ROUNDS), median(ratios, ROUNDS), (long long)n, ROUNDS, events_seen);
    bf_plan_free(plan);

    /* runner_4workers */
    plan = key_plan(quick ? 16 : 40, 1);
    w = memwh_new(40, 40);
    w->job_us = 20000;
    snprintf(c, sizeof c, "%s/one.db", dir);
    one = run_once(c, plan, w, 1, 1);
    memwh_free(w);
    w = memwh_new(40, 40);
    w->job_us = 20000;
    snprintf(c, sizeof c, "%s/four.db", dir);
    four = run_once(c, plan, w, 4, 4);
    printf("BENCH name=runner_4workers value=%.3f unit=s baseline=%.3f ratio=%.3f target=max:0.3 "
           "batches=%lld job_ms=20\n", four, one, four / one, (long long)bf_plan_count(plan));
    memwh_free(w);
    bf_plan_free(plan);

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : 1;
}
