/*
 * Many processes on one ledger file (TAP output).
 *
 *   ledger_stress multi   4 worker processes claim and complete 20,000
 *                         batches of a run with max_concurrency 3; every batch
 *                         is completed exactly once, the audit log shows
 *                         exactly one completion per batch, and never more
 *                         than 3 batches were running at once.
 *   ledger_stress crash   4 workers (each batch takes up to 1.5 ms of work) are
 *                         killed with SIGKILL at random moments, at least 50
 *                         times, and replaced; afterwards every batch is
 *                         completed exactly once, none is lost, and the file
 *                         passes PRAGMA integrity_check.
 */
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ledger_testlib.h"

#define WORKERS 4

static char dir[256];
static char path[320];
static int tap_n, tap_failed;

static void check(int ok, const char *what, const char *detail)
{
    tap_n++;
    if (!ok)
        tap_failed++;
    printf("%sok %d - %s\n", ok ? "" : "not ", tap_n, what);
    if (!ok && detail)
        printf("#   %s\n", detail);
    fflush(stdout);
}

static void die(const char *what)
{
    printf("Bail out! %s: %s\n", what, bf_last_error());
    exit(1);
}

static long long sql_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v = -1;

    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static int integrity_ok(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int ok = 0;

    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK)
        die("integrity_check");
    if (sqlite3_step(st) == SQLITE_ROW)
        ok = strcmp((const char *)sqlite3_column_text(st, 0), "ok") == 0;
    sqlite3_finalize(st);
    sqlite3_close(db);
    return ok;
}

static bf_ledger *open_ledger(const char *actor)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *ledger;

    opts.durability = BF_DURABILITY_NORMAL;
    opts.actor = actor;
    opts.busy_timeout_ms = 60000;
    if (bf_ledger_open(&ledger, path, &opts) != BF_OK)
        die("opening the ledger");
    return ledger;
}

static int64_t create_run(size_t batches, unsigned concurrency, unsigned attempts, double lease_s)
{
    bf_ledger *ledger = open_ledger("setup");
    bf_run_spec spec = lt_spec("stress", concurrency, attempts, 0, lease_s);
    bf_plan *plan = lt_key_plan(batches, 10, "stress");
    bf_run *run;
    int64_t id;

    if (!plan || bf_run_start(&run, ledger, &spec, plan) != BF_OK)
        die("starting the run");
    id = bf_run_id(run);
    bf_run_free(run);
    bf_plan_free(plan);
    bf_ledger_close(ledger);
    return id;
}

/*
 * A worker: claim, (optionally) work a little, complete; when nothing can
 * be claimed, wait while other workers' batches (or expired leases) remain.
 */
static int worker(int64_t run_id, int index, int work_us)
{
    char actor[32];
    bf_ledger *ledger;
    bf_run *run;

    snprintf(actor, sizeof actor, "worker-%d", index);
    ledger = open_ledger(actor);
    if (bf_run_open(&run, ledger, run_id) != BF_OK)
        die("opening the run");
    srand((unsigned)getpid());
    for (;;) {
        bf_progress p = BF_PROGRESS_INIT;
        bf_lease *lease;
        int rc = bf_run_claim(&lease, run);

        if (rc != BF_OK)
            die("claim");
        if (!lease) {
            if (bf_run_progress(&p, run) != BF_OK)
                die("progress");
            if (p.pending + p.running == 0)
                break;
            usleep(1000);
            continue;
        }
        if (work_us)
            usleep((useconds_t)(rand() % work_us));
        rc = bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), NULL);
        bf_lease_free(lease);
        if (rc != BF_OK && rc != BF_E_LEASE_LOST)
            die("complete");
    }
    bf_run_free(run);
    bf_ledger_close(ledger);
    return 0;
}

static pid_t spawn(int64_t run_id, int index, int work_us)
{
    pid_t pid;

    fflush(stdout); /* or the child would print the parent's buffered lines again */
    pid = fork();

    if (pid < 0)
        die("fork");
    if (pid == 0)
        _exit(worker(run_id, index, work_us));
    return pid;
}

static void check_exactly_once(size_t batches)
{
    char detail[160];
    long long completed = sql_int("SELECT count(*) FROM batches WHERE state = 2");
    long long once = sql_int("SELECT count(*) FROM (SELECT batch_id FROM events WHERE "
                             "from_state = 'running' AND to_state = 'completed' "
                             "GROUP BY batch_id HAVING count(*) = 1)");
    long long events = sql_int("SELECT count(*) FROM events WHERE from_state = 'running' AND "
                               "to_state = 'completed'");

    snprintf(detail, sizeof detail, "%lld of %zu batches completed", completed, batches);
    check(completed == (long long)batches, "every batch is completed", detail);
    snprintf(detail, sizeof detail, "%lld batches with one completion event, %lld events", once,
             events);
    check(once == (long long)batches && events == (long long)batches,
          "the audit log shows exactly one completion per batch", detail);
}

/*
 * The most batches running at once, replayed from the audit log in commit
 * order: claims open a batch, every move out of running closes one.
 */
static long long most_running_at_once(void)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long open = 0, most = 0;

    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_prepare_v2(db, "SELECT from_state = 'running', to_state = 'running' FROM events "
                               "WHERE subject = 'batch' ORDER BY seq", -1, &st, NULL) != SQLITE_OK)
        die("reading events");
    while (sqlite3_step(st) == SQLITE_ROW) {
        open += sqlite3_column_int(st, 1) - sqlite3_column_int(st, 0);
        if (open > most)
            most = open;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return most;
}

static void multi(void)
{
    const size_t batches = 20000;
    int64_t id = create_run(batches, 3, 3, 60);
    long long most;
    pid_t pids[WORKERS];
    int clean = 1;
    char detail[160];

    printf("1..5\n");
    for (int i = 0; i < WORKERS; i++)
        pids[i] = spawn(id, i, 0);
    for (int i = 0; i < WORKERS; i++) {
        int status;

        if (waitpid(pids[i], &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
            clean = 0;
    }
    check(clean, "4 worker processes finish without error", NULL);
    check_exactly_once(batches);
    snprintf(detail, sizeof detail, "%lld workers completed batches",
             sql_int("SELECT count(DISTINCT actor) FROM events WHERE to_state = 'completed'"));
    check(sql_int("SELECT count(DISTINCT actor) FROM events WHERE to_state = 'completed'") ==
              WORKERS,
          "every worker completed batches", detail);
    most = most_running_at_once();
    snprintf(detail, sizeof detail, "at most %lld batches were running at once", most);
    check(most >= 2 && most <= 3, "4 processes ran batches side by side, never more than "
          "max_concurrency (3) at once", detail);
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void crash(void)
{
    const size_t batches = 6000;
    int64_t id = create_run(batches, 8, 1000, 0.3);
    long long left;
    pid_t pids[WORKERS];
    int kills = 0, live = WORKERS, clean = 1;
    double deadline = now_s() + 90;
    char detail[200];

    printf("1..6\n");
    srand(12345);
    for (int i = 0; i < WORKERS; i++)
        pids[i] = spawn(id, i, 1500);
    while (kills < 60 && now_s() < deadline) {
        int victim = rand() % WORKERS;
        int status;

        usleep((useconds_t)(2000 + rand() % 25000));
        if (pids[victim] == 0)
            continue;
        kill(pids[victim], SIGKILL);
        waitpid(pids[victim], &status, 0);
        if (WIFSIGNALED(status))
            kills++;
        else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            clean = 0;
        pids[victim] = spawn(id, victim, 1500);
    }
    left = sql_int("SELECT count(*) FROM batches WHERE state IN (0, 1)");
    snprintf(detail, sizeof detail, "%d workers killed while working", kills);
    check(kills >= 50, "workers were killed with SIGKILL at least 50 times", detail);
    snprintf(detail, sizeof detail, "%lld batches were left after the last kill", left);
    check(left > 0, "the kills happened while the run was going on", detail);
    while (live > 0 && now_s() < deadline) {
        live = 0;
        for (int i = 0; i < WORKERS; i++) {
            int status;

            if (pids[i] == 0)
                continue;
            if (waitpid(pids[i], &status, WNOHANG) == pids[i]) {
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                    clean = 0;
                pids[i] = 0;
            } else {
                live++;
            }
        }
        usleep(20000);
    }
    for (int i = 0; i < WORKERS; i++)
        if (pids[i]) {
            kill(pids[i], SIGKILL);
            waitpid(pids[i], NULL, 0);
            clean = 0;
        }
    check(clean, "the surviving workers finished the run", NULL);
    check_exactly_once(batches);
    check(integrity_ok(), "the ledger passes PRAGMA integrity_check", NULL);
    printf("# %lld leases expired after a kill\n",
           sql_int("SELECT count(*) FROM events WHERE detail LIKE 'lease of token%'"));
}

int main(int argc, char **argv)
{
    const char *tmp = getenv("TMPDIR");
    char cmd[400];

    if (argc != 2 || (strcmp(argv[1], "multi") != 0 && strcmp(argv[1], "crash") != 0)) {
        fprintf(stderr, "usage: ledger_stress multi|crash\n");
        return 2;
    }
    snprintf(dir, sizeof dir, "%s/bf-ledger-stress-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    if (!mkdtemp(dir))
        die("mkdtemp");
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    if (strcmp(argv[1], "multi") == 0)
        multi();
    else
        crash();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        tap_failed++;
    return tap_failed ? 1 : 0;
}
