/*
 * The runbook's last steps through bf_runner on a small SQLite warehouse:
 * approval (who may approve, when), cutover, downstream refresh in lineage
 * order and its resumption, rollback of one batch and of the whole run
 * proved by fingerprints, refusal over another writer's change, cleanup
 * after the retention only (under a ledger clock the test moves).
 */
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/scheduler.h"
#include "backfill/sys/validator.h"
#include "driver/driver_internal.h"
#include "bftest.h"
#include "sqltest.h"

#define DAY_US (86400LL * 1000000LL)

static char dir[64];
static char wpath[96];
static char lpath[96];
static sqlite3 *raw;
static int64_t clock_offset; /* added to the wall clock by the ledger's clock */
static const char *ledger_at; /* another ledger than lpath (make_runner, batch_id), or NULL */

static int64_t test_clock(void *userdata)
{
    struct timespec ts;

    (void)userdata;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + clock_offset;
}

/* t: 60 rows over January 2025 (two a day); src: the same rows with v doubled. */
static void setup(void)
{
    strcpy(dir, "/tmp/bf-approve-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(wpath, sizeof wpath, "%s/w.db", dir);
    snprintf(lpath, sizeof lpath, "%s/w.db.ledger", dir);
    clock_offset = 0;
    ledger_at = NULL;
    ck_assert_int_eq(sqlite3_open(wpath, &raw), SQLITE_OK);
    bftest_sql_exec(raw,
                    "CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v INTEGER);"
                    "CREATE TABLE src (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v INTEGER);"
                    "CREATE TABLE mart (total INTEGER);"
                    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 59) "
                    "INSERT INTO t SELECT i + 1, 1735689600 + i * 43200, i FROM n;"
                    "INSERT INTO src SELECT id, ts, v * 2 FROM t;");
}

static void teardown(void)
{
    char cmd[200];

    sqlite3_close(raw);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static const char *const MART_OK =
    "{\"name\": \"mart\", \"kind\": \"table\", \"depends_on\": [\"t\"], \"owner\": \"analytics\","
    " \"refresh_sql\": \"DELETE FROM mart; INSERT INTO mart SELECT sum(v) FROM t\"}";

/*
 * The brief: `strategy`, downstream assets `downstream` and checks `validation` (JSON arrays'
 * insides).
 */
static bf_brief *make_brief_write(const char *write, const char *downstream,
                                  const char *validation);

static bf_brief *make_brief_checks(const char *strategy, const char *downstream,
                                   const char *validation)
{
    char write[200];

    snprintf(write, sizeof write, "{\"strategy\": \"%s\", \"snapshot\": true}", strategy);
    return make_brief_write(write, downstream, validation);
}

/* The brief with `write` (a JSON object) for its write member. */
static bf_brief *make_brief_write(const char *write, const char *downstream,
                                  const char *validation)
{
    char text[4096];
    bf_brief *b = NULL;

    snprintf(text, sizeof text,
             "{\"format\": \"backfill-brief/1\", \"name\": \"t-fix\","
             " \"reason\": \"v was halved in January 2025.\", \"owner\": \"ana@example.com\","
             " \"reviewer\": \"raj@example.com\", \"risk\": \"enrichment\", \"code_version\": \"git:1\","
             " \"target\": {\"table\": \"t\", \"key\": [\"id\"], \"time_column\": \"ts\","
             "   \"time_format\": \"unix_s\"},"
             " \"sources\": [\"src\"],"
             " \"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-01-31\","
             "   \"timezone\": \"UTC\"}},"
             " \"batching\": {\"by\": \"time\", \"grain\": \"day\", \"every\": 10,"
             "   \"max_concurrency\": 1},"
             " \"write\": %s,"
             " \"job\": {\"select\": \"SELECT id, ts, v FROM src WHERE ts >= :start AND ts < :end\"},"
             " \"downstream\": [%s],"
             " \"validation\": [%s],"
             " \"rollback\": {\"plan\": \"snapshots\", \"retention_days\": 3,"
             "   \"owner\": \"ana@example.com\"}}",
             write, downstream, validation);
    ck_assert_msg(bf_brief_load_json(&b, text, strlen(text)) == BF_OK, "%s", bf_last_error());
    return b;
}

static bf_brief *make_brief(const char *strategy, const char *downstream)
{
    return make_brief_checks(strategy, downstream, "{\"check\": \"unique\"}");
}

struct events {
    int approved, refreshed, done, rolled_back;
};

static void count_event(void *userdata, const bf_run_event *ev)
{
    struct events *e = userdata;

    e->approved += ev->kind == BF_RUN_EVENT_APPROVED;
    e->refreshed += ev->kind == BF_RUN_EVENT_REFRESHED;
    e->done += ev->kind == BF_RUN_EVENT_DONE;
    e->rolled_back += ev->kind == BF_RUN_EVENT_ROLLED_BACK;
}

static int hold_then_stop(void *userdata, char *reason, size_t size)
{
    bf_runner **r = userdata;

    bf_runner_stop(*r);
    snprintf(reason, size, "held by the test");
    return 1;
}

/* A runner of `operator_name` with `flags` (BF_RUNNER_*), counting events into `ev`. */
static bf_runner *flagged(const char *operator_name, unsigned flags, struct events *ev)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_runner *r = NULL;

    lo.clock = test_clock;
    lo.actor = "runner@test";
    o.ledger_path = ledger_at ? ledger_at : lpath;
    o.ledger_options = &lo;
    o.warehouse_path = wpath;
    o.operator_name = operator_name;
    o.on_event = ev ? count_event : NULL;
    o.event_userdata = ev;
    o.flags = flags;
    ck_assert_msg(bf_runner_new(&r, &o) == BF_OK, "%s", bf_last_error());
    return r;
}

static bf_runner *make_runner(const char *operator_name, struct events *ev)
{
    return flagged(operator_name, 0, ev);
}

/* A runner for the brief `b` whose events go to `fn`, or asking `throttle`, with `userdata`. */
static bf_runner *hooked(const bf_brief *b, bf_run_event_fn fn, bf_throttle_fn throttle,
                         void *userdata)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r = NULL;

    o.ledger_path = lpath;
    o.warehouse_path = wpath;
    o.on_event = fn;
    o.event_userdata = fn ? userdata : NULL;
    o.throttle = throttle;
    o.throttle_userdata = throttle ? userdata : NULL;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_OK);
    ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
    return r;
}

/* Run the brief to awaiting_approval with operator `op`; the run's id. */
static int64_t run_brief(bf_brief *b, const char *op)
{
    bf_runner *r = make_runner(op, NULL);
    int64_t id = 0;

    ck_assert_msg(bf_runner_set_brief(r, b) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    bf_runner_free(r);
    return id;
}

static void fingerprint(char out[64], const char *table)
{
    bf_driver *d = NULL;
    bf_fingerprint fp;

    ck_assert_int_eq(bf_driver_open_sqlite(&d, wpath, 0), BF_OK);
    ck_assert_msg(bf_driver_fingerprint(&fp, d, table, NULL, 0, NULL, NULL) == BF_OK, "%s",
                  bf_last_error());
    ck_assert_int_eq(bf_fingerprint_format(out, 64, &fp), BF_OK);
    bf_driver_free(d);
}

static int table_exists(const char *name)
{
    char q[200];

    snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '%s'",
             name);
    return bftest_sql_int(raw, q) == 1;
}

static int run_state(int64_t id)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;
    int st;

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    st = (int)bf_run_current_state(run);
    bf_run_free(run);
    bf_ledger_close(l);
    return st;
}

/* The details of the run's records with `subject`, joined by "\n", and their actors. */
static void records(char *out, size_t size, char *actors, size_t asize, int64_t id,
                    const char *subject)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;
    bf_event_list *ev = NULL;
    size_t n = 0, na = 0;

    out[0] = '\0';
    if (actors)
        actors[0] = '\0';
    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    ck_assert_int_eq(bf_run_events(&ev, run), BF_OK);
    for (size_t i = 0; i < bf_event_list_count(ev); i++) {
        if (strcmp(bf_event_list_subject(ev, i), subject) != 0)
            continue;
        n += (size_t)snprintf(out + n, size - n, "%s\n", bf_event_list_detail(ev, i));
        if (actors)
            na += (size_t)snprintf(actors + na, asize - na, "%s\n", bf_event_list_actor(ev, i));
    }
    bf_event_list_free(ev);
    bf_run_free(run);
    bf_ledger_close(l);
}

/* The id of the run's batch in position `ordinal`. */
static int64_t batch_id(int64_t run_id, size_t ordinal, int *state)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;
    bf_batch_list *bl = NULL;
    int64_t id;

    ck_assert_int_eq(bf_ledger_open(&l, ledger_at ? ledger_at : lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, run_id), BF_OK);
    ck_assert_int_eq(bf_run_batches(&bl, run, -1), BF_OK);
    ck_assert_uint_gt(bf_batch_list_count(bl), ordinal);
    id = bf_batch_list_id(bl, ordinal);
    if (state)
        *state = bf_batch_list_state(bl, ordinal);
    bf_batch_list_free(bl);
    bf_run_free(run);
    bf_ledger_close(l);
    return id;
}

/* ---- approval ------------------------------------------------------------- */

/* What the failing custom check below saw: its calls, and t's sum as another connection read it. */
struct scan_seen {
    int calls, failed;
    int64_t other_sum, own_sum_after;
};

/*
 * A custom check that, the first time it sees batch id [20, 30), cannot be
 * evaluated (a fatal code: the checks' scan fails), after noting what
 * another connection sees of the batch meanwhile.
 */
static int fails_once_on_twenty(void *ud, bf_check_result *result, bf_driver *d,
                                const bf_plan *plan, const bf_batch *batch, void *state)
{
    struct scan_seen *seen = ud;

    (void)result;
    (void)d;
    (void)plan;
    (void)state;
    seen->calls++;
    if (batch && bf_batch_lo(batch) == 20 && !seen->failed) {
        seen->failed = 1;
        seen->other_sum = bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id >= 20 AND id < 30");
        return bf_error_set(BF_E_IO, "check fails_once: the disk went away");
    }
    return BF_OK;
}

static void note_failures(void *userdata, const bf_run_event *ev)
{
    char *msg = userdata;

    if (ev->kind == BF_RUN_EVENT_BATCH_FAILED && ev->message && !msg[0])
        snprintf(msg, 512, "%s", ev->message);
}

/*
 * With the SQLite driver the checks' after scan runs inside the publish's
 * transaction: a scan that fails fails the publish, which rolls back (the
 * batch's new values never commit, nor its pre-images or the record of
 * what it wrote; another connection never sees them), and the attempt
 * fails as "validation after the publish". With one attempt allowed the
 * batch fails for good, as it was; the other batches are published.
 */
START_TEST(a_checks_scan_that_fails_rolls_its_publish_back)
{
    static const char *const key[] = {"id"}, *const cols[] = {"v"};
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_validator_vtable vt = BF_VALIDATOR_VTABLE_INIT;
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;
    struct scan_seen seen = {0, 0, -1, -1};
    char failure[512] = "";
    bf_validator *v = NULL;
    bf_planner *pl = NULL;
    bf_plan *plan = NULL;
    bf_runner *r = NULL;
    int64_t id = 0, before = bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id >= 20 AND id < 30");

    ck_assert_int_eq(bf_planner_new(&pl), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(pl, "id", 0, 70), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(pl, 10), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, pl), BF_OK);
    bf_planner_free(pl);
    vt.after = fails_once_on_twenty;
    ck_assert_int_eq(bf_validator_new(&v, "t", key, 1, cols, 1), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"row_count\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_custom(v, "fails_once", BF_CHECK_SEVERITY_ERROR, 0, &vt,
                                             &seen, NULL),
                     BF_OK);
    lo.clock = test_clock;
    o.ledger_path = ledger_at ? ledger_at : lpath;
    o.ledger_options = &lo;
    o.warehouse_path = wpath;
    o.operator_name = "ana@example.com";
    o.on_event = note_failures;
    o.event_userdata = failure;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_OK);
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.columns = cols;
    spec.column_count = 1;
    spec.select = "SELECT id, ts, v FROM src WHERE id >= :lo AND id < :hi";
    spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    spec.snapshot = 1;
    rs.brief_name = "t-scan";
    rs.code_version = "v1";
    rs.max_concurrency = 1;
    rs.max_attempts = 1;
    rs.retry_backoff_s = 0;
    rs.lease_s = 60;
    ck_assert_int_eq(bf_runner_set_job(r, plan, &spec, &rs, v), BF_OK);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_STATE);
    ck_assert_msg(strstr(bf_runner_last_error(r), "failed for good"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(seen.failed, 1);
    ck_assert_int_eq(seen.calls, 7);
    /* While the failing scan ran, the batch's new values were not committed. */
    ck_assert_int_eq(seen.other_sum, before);
    ck_assert_msg(strstr(failure, "validation after the publish") &&
                      strstr(failure, "the disk went away"),
                  "%s", failure);
    /* Its publish rolled back whole; the other six batches are published. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id >= 20 AND id < 30"),
                     before);
    ck_assert_int_eq(bftest_snapshot(raw, "t", 1, 2), 0);
    ck_assert_int_ne(bftest_snapshot(raw, "t", 1, 1), 0);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM t JOIN src USING (id) "
                                         "WHERE t.v IS src.v"),
                     50);
    bf_runner_free(r);
    bf_validator_free(v);
    bf_plan_free(plan);
}
END_TEST

/*
 * A check that names what the warehouse lacks (a column in a metric's
 * expression or an sql check's query, a function) is refused by run and by
 * the test slice before either starts a run: no ledger made, nothing
 * written, and the message names the check and the missing name whole.
 * Then the corrected brief runs as the first run of the ledger: nothing
 * left behind stands in its way.
 */
START_TEST(a_check_naming_what_the_warehouse_lacks_leaves_no_run)
{
    static const struct {
        const char *check, *names[2];
    } bad[] = {
        {"{\"check\": \"metric\", \"name\": \"total v\", \"expr\": \"SUM(vv)\","
         " \"expect_delta\": {\"min\": 0}}",
         {"check total v", "no such column vv"}},
        {"{\"check\": \"metric\", \"name\": \"odd total\", \"expr\": \"SUMM(v)\","
         " \"expect_delta\": {\"min\": 0}}",
         {"check odd total", "no such function: SUMM"}},
        {"{\"check\": \"sql\", \"name\": \"no negative\", \"per\": \"run\","
         " \"query\": \"SELECT * FROM t WHERE vv < 0\"}",
         {"check no negative", "no such column: vv"}},
        {"{\"check\": \"sql\", \"name\": \"no nulls\","
         " \"query\": \"SELECT * FROM tt WHERE v IS NULL AND ts >= :start\"}",
         {"check no nulls", "no such table: tt"}},
    };
    char before[64], after[64], *json = NULL;
    int64_t id = 0;

    fingerprint(before, "t");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char checks[512];
        bf_brief *b;
        bf_runner *r = make_runner("ana@example.com", NULL);

        snprintf(checks, sizeof checks, "{\"check\": \"unique\"}, %s", bad[i].check);
        b = make_brief_checks("partition_overwrite", MART_OK, checks);
        ck_assert_msg(bf_runner_set_brief(r, b) == BF_OK, "%s", bf_runner_last_error(r));
        ck_assert_int_ne(bf_runner_run(r, &id), BF_OK);
        ck_assert_int_eq(id, 0);
        for (int k = 0; k < 2; k++)
            ck_assert_msg(strstr(bf_runner_last_error(r), bad[i].names[k]), "%s lacks '%s'",
                          bf_runner_last_error(r), bad[i].names[k]);
        ck_assert_int_ne(bf_runner_test_slice(&json, r, 2), BF_OK);
        for (int k = 0; k < 2; k++)
            ck_assert_msg(strstr(bf_runner_last_error(r), bad[i].names[k]), "%s lacks '%s'",
                          bf_runner_last_error(r), bad[i].names[k]);
        bf_free(json);
        json = NULL;
        /* Not even a ledger: the first run would have made it. */
        ck_assert_msg(access(lpath, F_OK) != 0, "%s was made", lpath);
        bf_runner_free(r);
        bf_brief_free(b);
    }
    fingerprint(after, "t");
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(table_exists("t__bf_slice"), 0);

    /* The brief with its checks mended runs, as the ledger's first run. */
    {
        bf_brief *b = make_brief_checks("partition_overwrite", MART_OK,
                                        "{\"check\": \"unique\"}, {\"check\": \"metric\", "
                                        "\"name\": \"total v\", \"expr\": \"SUM(v)\", "
                                        "\"expect_delta\": {\"min\": 0}}");

        ck_assert_int_eq(run_brief(b, "ana@example.com"), 1);
        ck_assert_int_eq(run_state(1), BF_RUN_AWAITING_APPROVAL);
        bf_brief_free(b);
    }
}
END_TEST

START_TEST(approve_is_refused_before_the_run_is_validated)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    bf_runner *r = NULL;
    int64_t id = 0;

    r = hooked(b, NULL, hold_then_stop, &r); /* the throttle stops r: set before it runs */
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_STATE);
    ck_assert_int_gt(id, 0);
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_BLOCKED);
    ck_assert_msg(strstr(bf_runner_last_error(r), "not awaiting approval"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_ne(run_state(id), BF_RUN_APPROVED);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM mart"), 0);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* A throttle that fails: with a reason, with its own message (bf_error_set), or with neither. */
static int failing_throttle(void *userdata, char *reason, size_t size)
{
    const int *how = userdata;

    if (*how == 0)
        snprintf(reason, size, "the load balancer is down");
    else if (*how == 1)
        return bf_error_set(BF_E_USER, "throttle: no answer from the scheduler");
    return BF_E_USER;
}

/* The failure of a host's throttle is told in a whole sentence, however it failed. */
START_TEST(a_failing_throttle_is_named)
{
    static const char *const want[] = {
        "runner: the throttle failed: the load balancer is down",
        "runner: the throttle failed: throttle: no answer from the scheduler",
        "runner: the host's throttle failed with BF_E_USER and gave no message"};
    bf_brief *b = make_brief("partition_overwrite", MART_OK);

    for (int how = 0; how < 3; how++) {
        bf_runner *r = hooked(b, NULL, failing_throttle, &how);

        ck_assert_int_eq(bf_runner_run(r, NULL), BF_E_USER);
        ck_assert_str_eq(bf_runner_last_error(r), want[how]);
        bf_runner_free(r);
    }
    bf_brief_free(b);
}
END_TEST

/* A host's scheduler that runs each task at once, in submit, after stopping the runner. */
static int stop_then_run(void *userdata, bf_task_fn task, void *arg)
{
    bf_runner **r = userdata;

    bf_runner_stop(*r); /* as SIGINT would, while the batch is in flight */
    task(arg);
    return BF_OK;
}

/* The first `stopped` event's sentence. */
static void keep_first_stop(void *userdata, const bf_run_event *ev)
{
    char *said = userdata;

    if (ev->kind == BF_RUN_EVENT_STOPPED && !said[0])
        snprintf(said, 400, "%s", ev->message ? ev->message : "");
}

/*
 * A stop that comes while a batch runs is seen once the batch is done (the
 * runner waits for it): the stop still says a batch was in flight, not
 * "no batch was in flight".
 */
START_TEST(a_stop_during_a_batch_says_it_was_in_flight)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    bf_scheduler_vtable vt = BF_SCHEDULER_VTABLE_INIT;
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r = NULL;
    char said[400] = "";

    vt.submit = stop_then_run;
    o.ledger_path = lpath;
    o.warehouse_path = wpath;
    o.scheduler = &vt;
    o.scheduler_userdata = &r;
    o.on_event = keep_first_stop;
    o.event_userdata = said;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_OK);
    ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
    ck_assert_int_eq(bf_runner_run(r, NULL), BF_E_STATE);
    ck_assert_str_eq(said, "stopping: the 1 batch in flight finishes first; run again to resume");
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

START_TEST(approve_is_refused_for_the_wrong_people)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "raj@example.com");
    bf_runner *r = make_runner(NULL, NULL);

    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    /* Not the brief's reviewer. */
    ck_assert_int_eq(bf_runner_approve(r, id, "bob@example.com"), BF_E_BLOCKED);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "not the brief's reviewer"));
    /* The reviewer, but also the run's operator. */
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_BLOCKED);
    ck_assert_msg(strstr(bf_runner_last_error(r), "started the run"), "%s",
                  bf_runner_last_error(r));
    /* The same person in other letter case or with blanks around is still the operator. */
    ck_assert_int_eq(bf_runner_approve(r, id, "RAJ@Example.com"), BF_E_BLOCKED);
    ck_assert_msg(strstr(bf_runner_last_error(r), "started the run"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(bf_runner_approve(r, id, " raj@example.com "), BF_E_BLOCKED);
    ck_assert_int_eq(bf_runner_approve(r, id, ""), BF_E_INVALID);
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM mart"), 0);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

START_TEST(approve_is_refused_to_the_brief_owner)
{
    /* A host's job with a brief the preflight would block: its owner is its reviewer. */
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    const char *key[] = {"id"};
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;
    bf_validator *v = NULL;
    bf_driver *d = NULL;
    bf_plan *plan = NULL;
    bf_runner *r;
    char *text = NULL;
    int64_t id = 0;

    ck_assert_int_eq(bf_brief_set_reviewer(b, "ana@example.com"), BF_OK);
    ck_assert_int_eq(bf_brief_save_json(&text, b), BF_OK);
    ck_assert_int_eq(bf_driver_open_sqlite(&d, wpath, 0), BF_OK);
    ck_assert_int_eq(bf_driver_plan_brief(&plan, d, b), BF_OK);
    ck_assert_int_eq(bf_validator_new_from_brief(&v, b), BF_OK);
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.select = "SELECT id, ts, v FROM src WHERE ts >= :start AND ts < :end";
    spec.snapshot = 1;
    rs.brief_name = "t-fix";
    rs.brief_json = text;
    rs.operator_name = "ops@example.com";
    r = make_runner(NULL, NULL);
    ck_assert_int_eq(bf_runner_set_job(r, plan, &spec, &rs, v), BF_OK);
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(bf_runner_approve(r, id, "ana@example.com"), BF_E_BLOCKED);
    ck_assert_msg(strstr(bf_runner_last_error(r), "owns the brief"), "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    bf_runner_free(r);
    bf_validator_free(v);
    bf_plan_free(plan);
    bf_driver_free(d);
    bf_free(text);
    bf_brief_free(b);
}
END_TEST

START_TEST(approve_completes_in_place_and_records_the_reviewer)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    struct events ev = {0, 0, 0, 0};
    bf_runner *r = make_runner(NULL, &ev);
    char det[4096], actors[1024];

    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    /* The mart holds the new numbers: v doubled over all 60 rows. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 2 * 1770);
    records(det, sizeof det, actors, sizeof actors, id, "approval");
    ck_assert_str_eq(det, "{\"reviewer\":\"raj@example.com\",\"operator\":\"ops@example.com\"}\n");
    ck_assert_str_eq(actors, "raj@example.com\n");
    records(det, sizeof det, NULL, 0, id, "cutover");
    ck_assert_str_eq(det, ""); /* in place: nothing to swap */
    records(det, sizeof det, NULL, 0, id, "refresh");
    ck_assert_msg(strstr(det, "\"asset\":\"mart\",\"order\":1,\"status\":\"ok\",\"error\":null"),
                  "%s", det);
    ck_assert_int_eq(ev.approved, 1);
    ck_assert_int_eq(ev.refreshed, 1);
    ck_assert_int_eq(ev.done, 1);
    /* Approving a completed run again is refused and changes nothing. */
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_BLOCKED);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* Cancel run `id` as `backfill cancel` would (or resume it, as `backfill resume`). */
static void control_run(int64_t id, int resume)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    ck_assert_int_eq(resume ? bf_run_resume(run, "the test") : bf_run_cancel(run, "the test"),
                     BF_OK);
    bf_run_free(run);
    bf_ledger_close(l);
}

static void cancel_run(int64_t id)
{
    control_run(id, 0);
}

/* The runs of the ledger. */
static int64_t runs_in_ledger(void)
{
    sqlite3 *db = NULL;
    int64_t n;

    ck_assert_int_eq(sqlite3_open_v2(lpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    n = bftest_sql_int(db, "SELECT count(*) FROM runs");
    sqlite3_close(db);
    return n;
}

/* A runner of `op` with `flags`, given the brief. */
static bf_runner *flagged_runner(bf_brief *b, const char *op, unsigned flags, struct events *ev)
{
    bf_runner *r = flagged(op, flags, ev);

    ck_assert_msg(bf_runner_set_brief(r, b) == BF_OK, "%s", bf_runner_last_error(r));
    return r;
}

/*
 * Running a brief its last run completed again starts no run that would
 * publish nothing and ask for an approval of nothing: run gives that run
 * back, done. A batch rolled back since is done again by a new run; force
 * publishes every batch again in a new run.
 */
START_TEST(running_a_completed_brief_again_gives_its_run)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com"), again = 0;
    struct events ev = {0, 0, 0, 0};
    char done[64], now[64];
    bf_runner *r = make_runner(NULL, NULL);

    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    bf_runner_free(r);
    fingerprint(done, "t");
    r = flagged_runner(b, "ops@example.com", 0, &ev);
    ck_assert_msg(bf_runner_run(r, &again) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(again, id);
    ck_assert_int_eq(runs_in_ledger(), 1);
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    ck_assert_int_eq(ev.done, 1);
    fingerprint(now, "t");
    ck_assert_str_eq(now, done);
    /* One batch rolled back: a new run does it again, and only it. */
    ck_assert_msg(bf_runner_rollback(NULL, r, id, batch_id(id, 0, NULL)) == BF_OK, "%s",
                  bf_runner_last_error(r));
    fingerprint(now, "t");
    ck_assert_str_ne(now, done);
    ck_assert_msg(bf_runner_run(r, &again) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(again, id + 1);
    ck_assert_int_eq(run_state(again), BF_RUN_AWAITING_APPROVAL);
    fingerprint(now, "t");
    ck_assert_str_eq(now, done);
    ck_assert_msg(bf_runner_approve(r, again, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    /* Run 2 completed it: given back in its turn. */
    ck_assert_msg(bf_runner_run(r, &again) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(again, id + 1);
    ck_assert_int_eq(runs_in_ledger(), 2);
    bf_runner_free(r);
    /* Forced: a new run publishing every batch again, for its own approval. */
    r = flagged_runner(b, "ops@example.com", BF_RUNNER_FORCE, NULL);
    ck_assert_msg(bf_runner_run(r, &again) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(again, id + 2);
    ck_assert_int_eq(run_state(again), BF_RUN_AWAITING_APPROVAL);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/*
 * A run cancelled after publishing, then the brief run again: the new run
 * skips the batches the cancelled one did, and its run-level metric
 * compares with the target from before them (1770 to 3540, as one run
 * would), not with what the cancelled run left (3540 to 3540).
 */
START_TEST(a_run_after_a_cancelled_one_is_judged_from_before_it)
{
    bf_brief *b = make_brief_checks("partition_overwrite", MART_OK,
                                    "{\"check\": \"unique\"}, {\"check\": \"metric\", "
                                    "\"name\": \"total v\", \"expr\": \"SUM(v)\", "
                                    "\"expect_delta\": {\"min\": 1}}");
    int64_t id = run_brief(b, "ops@example.com"), next;
    char det[4096];
    sqlite3 *db = NULL;

    cancel_run(id);
    /* expect_delta min 1: measured from now, the run would fail its metric (delta 0). */
    next = run_brief(b, "ops@example.com");
    ck_assert_int_eq(next, id + 1);
    ck_assert_int_eq(run_state(next), BF_RUN_AWAITING_APPROVAL);
    records(det, sizeof det, NULL, 0, next, "validation_before_from");
    ck_assert_msg(strstr(det, "{\"run\": 1, "), "%s", det);
    ck_assert_int_eq(sqlite3_open_v2(lpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(bftest_sql_int(db, "SELECT instr(results_json, 'moved from 1770 to 3540') > 0 "
                                        "FROM validations WHERE run_id = 2 AND batch_id = 0"), 1);
    sqlite3_close(db);
    bf_brief_free(b);
}
END_TEST

/*
 * A batch of a completed run rolled back, the brief run again: the new run redoes that batch
 * and skips the others, and is judged on the whole change from before the first run (a named
 * record in a skipped batch still shows its old value before, the metric the whole move).
 */
START_TEST(a_run_redoing_a_rolled_back_batch_is_judged_from_before_the_first)
{
    bf_brief *b = make_brief_checks("partition_overwrite", MART_OK,
                                    "{\"check\": \"records\", \"expect\": [{\"key\": [59], "
                                    "\"before\": {\"v\": 58}, \"after\": {\"v\": 116}}]}, "
                                    "{\"check\": \"metric\", \"name\": \"total v\", "
                                    "\"per\": \"run\", \"expr\": \"SUM(v)\", "
                                    "\"expect_delta\": {\"min\": 1000}}");
    int64_t id = run_brief(b, "ops@example.com"), next;
    bf_runner *r = make_runner(NULL, NULL);
    char det[4096];
    sqlite3 *db = NULL;

    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    /* Batch 1 (rows 1 to 20, v 0 to 19) back; id 59 lies in the last batch. */
    ck_assert_msg(bf_runner_rollback(NULL, r, id, batch_id(id, 0, NULL)) == BF_OK, "%s",
                  bf_runner_last_error(r));
    next = run_brief(b, "ops@example.com");
    ck_assert_int_eq(next, id + 1);
    ck_assert_int_eq(run_state(next), BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    records(det, sizeof det, NULL, 0, next, "validation_before_from");
    ck_assert_msg(strstr(det, "{\"run\": 1, ") &&
                      strstr(det, "completed with batches rolled back since"), "%s", det);
    ck_assert_int_eq(sqlite3_open_v2(lpath, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(bftest_sql_int(db, "SELECT instr(results_json, 'moved from 1770 to 3540') > 0 "
                                        "FROM validations WHERE run_id = 2 AND batch_id = 0"), 1);
    sqlite3_close(db);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* The last event a runner told, with its sentence. */
struct seen_event {
    int kind;
    char message[400];
};

static void keep_last_event(void *userdata, const bf_run_event *ev)
{
    struct seen_event *e = userdata;

    if (ev->kind == BF_RUN_EVENT_PROGRESS)
        return;
    e->kind = ev->kind;
    snprintf(e->message, sizeof e->message, "%s", ev->message ? ev->message : "");
}

START_TEST(refresh_runs_in_lineage_order_and_resumes_after_a_failure)
{
    /* b depends on a, but is listed first; b's table does not exist yet. */
    bf_brief *b = make_brief(
        "partition_overwrite",
        "{\"name\": \"b\", \"kind\": \"table\", \"depends_on\": [\"a\"],"
        " \"refresh_sql\": \"DELETE FROM b_tbl; INSERT INTO b_tbl SELECT total * 10 FROM a_tbl\"},"
        "{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"t\"],"
        " \"refresh_sql\": \"DELETE FROM a_tbl; INSERT INTO a_tbl SELECT sum(v) FROM t\"}");
    int64_t id;
    bf_runner *r;
    char det[4096];
    const char *a_ok, *b_failed, *b_ok;

    bftest_sql_exec(raw, "CREATE TABLE a_tbl (total INTEGER)");
    id = run_brief(b, "ops@example.com");
    r = make_runner(NULL, NULL);
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_DRIVER);
    ck_assert_msg(strstr(bf_runner_last_error(r), "downstream asset b failed"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_APPROVED);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM a_tbl"), 3540);
    {
        /* Run again, the run is told approved (not awaiting approval), and how to finish it. */
        struct seen_event last = {0, ""};
        bf_runner *again = hooked(b, keep_last_event, NULL, &last);
        char want[200];

        ck_assert_msg(bf_runner_run(again, NULL) == BF_OK, "%s", bf_runner_last_error(again));
        ck_assert_int_eq(last.kind, BF_RUN_EVENT_APPROVED);
        snprintf(want, sizeof want, "nothing left to run: run %lld is approved, and approving it "
                 "again finishes its cutover and downstream refresh", (long long)id);
        ck_assert_str_eq(last.message, want);
        bf_runner_free(again);
    }
    /* a's total changes now; a resumed approval must not refresh a again. */
    bftest_sql_exec(raw, "UPDATE a_tbl SET total = 7; CREATE TABLE b_tbl (total INTEGER)");
    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM a_tbl"), 7);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM b_tbl"), 70);
    records(det, sizeof det, NULL, 0, id, "refresh");
    a_ok = strstr(det, "\"asset\":\"a\",\"order\":1,\"status\":\"ok\"");
    b_failed = strstr(det, "\"asset\":\"b\",\"order\":2,\"status\":\"failed\",\"error\":\"");
    b_ok = strstr(det, "\"asset\":\"b\",\"order\":2,\"status\":\"ok\"");
    ck_assert_msg(a_ok && b_failed && b_ok && a_ok < b_failed && b_failed < b_ok, "%s", det);
    ck_assert_ptr_null(strstr(a_ok + 1, "\"asset\":\"a\"")); /* a refreshed once */
    /* Only one approval was recorded. */
    records(det, sizeof det, NULL, 0, id, "approval");
    ck_assert_ptr_null(strchr(strchr(det, '\n') + 1, '\n'));
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* ---- staging_swap: cutover and the rollback that swaps back --------------- */

START_TEST(staging_swap_cuts_over_and_rolls_back_by_swapping_the_backup_back)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    char before[64], after[64], det[4096], *json = NULL;
    int64_t id;
    bf_runner *r;
    struct events ev = {0, 0, 0, 0};

    /* What names t stays with t through the cutover and the swap back. */
    bftest_sql_exec(raw, "CREATE INDEX t_v ON t (v); CREATE VIEW t_total AS SELECT sum(v) AS s "
                         "FROM t; CREATE TABLE audit (id); CREATE TRIGGER t_audit AFTER UPDATE "
                         "ON t BEGIN INSERT INTO audit VALUES (new.id); END");
    fingerprint(before, "t");
    id = run_brief(b, "ops@example.com");
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 1770); /* target untouched */
    ck_assert(table_exists("t__bf_full_1"));
    r = make_runner(NULL, &ev);
    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t__bf_backup_1"), 1770);
    ck_assert(!table_exists("t__bf_full_1"));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 3540);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT s FROM t_total"), 3540);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 't' "
                                         "AND name IN ('t_v', 't_audit')"), 2);
    records(det, sizeof det, NULL, 0, id, "cutover");
    ck_assert_msg(strstr(det, "{\"strategy\":\"staging_swap\",\"table\":\"t\",\"backup\":"
                              "\"t__bf_backup_1\",\"fingerprint\":\"60:"), "%s", det);
    /* After the cutover a single batch cannot be undone: only the whole run. */
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, batch_id(id, 0, NULL)), BF_E_BLOCKED);
    ck_assert_msg(bf_runner_rollback(&json, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"state\": \"rolled_back\""));
    ck_assert_ptr_null(strstr(json, "\"restored\": false"));
    bf_free(json);
    fingerprint(after, "t");
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(run_state(id), BF_RUN_ROLLED_BACK);
    ck_assert(!table_exists("t__bf_backup_1"));
    ck_assert(table_exists("t__bf_full_1")); /* the run's table, for cleanup to drop */
    ck_assert_int_eq(ev.rolled_back, 4);     /* three batches and the run */
    /* The mart approval refreshed is refreshed again from the old rows. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 1770);
    ck_assert_int_eq(ev.refreshed, 2);
    /* The view reads the old rows again; the index and the trigger are on t. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT s FROM t_total"), 1770);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE tbl_name = 't' "
                                         "AND name IN ('t_v', 't_audit')"), 2);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE tbl_name = "
                                         "'t__bf_full_1' AND type <> 'table'"), 0);
    bftest_sql_exec(raw, "UPDATE t SET v = v WHERE id = 3");
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM audit WHERE id = 3"), 1);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/*
 * A staging_swap run cancelled before its cutover wrote only its own copy of
 * the target: the brief's next run publishes every batch into its own copy
 * (none is skipped as done), and its cutover brings the change.
 */
START_TEST(a_cancelled_staging_swap_run_is_done_again_by_the_next)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    int64_t id = run_brief(b, "ops@example.com"), next;
    bf_runner *r;

    cancel_run(id);
    next = run_brief(b, "ops@example.com");
    ck_assert_int_eq(next, id + 1);
    ck_assert_int_eq(run_state(next), BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t__bf_full_2"), 3540);
    r = make_runner(NULL, NULL);
    ck_assert_msg(bf_runner_approve(r, next, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    /* The cancelled run's copy is dropped by cleanup once its retention (3 days) is over. */
    ck_assert(table_exists("t__bf_full_1"));
    bf_runner_free(r);
    clock_offset = 4 * 86400LL * 1000000;
    r = make_runner(NULL, NULL);
    ck_assert_msg(bf_runner_cleanup(NULL, r, id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert(!table_exists("t__bf_full_1"));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* A cancelled run that wrote in place keeps its snapshots: rolled back first, then cleaned up. */
START_TEST(a_cancelled_in_place_run_is_cleaned_up_after_its_rollback)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r;

    cancel_run(id);
    clock_offset = 4 * 86400LL * 1000000;
    r = make_runner(NULL, NULL);
    ck_assert_int_eq(bf_runner_cleanup(NULL, r, id), BF_E_STATE);
    ck_assert_msg(strstr(bf_runner_last_error(r), "roll it back, then clean it up"), "%s",
                  bf_runner_last_error(r));
    ck_assert_msg(bf_runner_rollback(NULL, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 1770);
    bf_runner_free(r);
    clock_offset = 8 * 86400LL * 1000000;
    r = make_runner(NULL, NULL);
    ck_assert_msg(bf_runner_cleanup(NULL, r, id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert(!table_exists("t__bf_snap_1"));
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

START_TEST(staging_swap_refuses_to_swap_back_over_another_writer)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    char before[64];
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);

    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_OK);
    bftest_sql_exec(raw, "UPDATE t SET v = 1000 WHERE id = 5");
    fingerprint(before, "t");
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, 0), BF_E_CONFLICT);
    ck_assert_msg(strstr(bf_runner_last_error(r), "changed since the cutover"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    ck_assert(table_exists("t__bf_backup_1"));
    {
        char now[64];

        fingerprint(now, "t");
        ck_assert_str_eq(now, before);
    }
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/*
 * The cutover swaps in the copy the run made of the target at its first
 * publish: a change another writer made to the target since would be lost.
 * approve refuses it (nothing approved, nothing swapped) until the target is
 * as the run found it. And once cut over, a backup changed outside every
 * batch's bounds is refused by rollback, which would not give back the
 * table from before the run.
 */
START_TEST(a_cutover_never_drops_another_writers_change)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    char before[64], now[64];
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);

    bftest_sql_exec(raw, "INSERT INTO t VALUES (999, 1767225600, 7)");
    fingerprint(before, "t");
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_CONFLICT);
    ck_assert_msg(strstr(bf_runner_last_error(r), "t changed since the run started"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    ck_assert(!table_exists("t__bf_backup_1"));
    fingerprint(now, "t");
    ck_assert_str_eq(now, before);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM t WHERE id = 999"), 1);

    /* The target as the run found it again: approved and cut over. */
    bftest_sql_exec(raw, "DELETE FROM t WHERE id = 999");
    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert(table_exists("t__bf_backup_1"));
    /* A row added to the backup outside every batch (after the scope): no rollback to it. */
    bftest_sql_exec(raw, "INSERT INTO t__bf_backup_1 VALUES (998, 1767225600, 7)");
    fingerprint(before, "t");
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, 0), BF_E_CONFLICT);
    ck_assert_msg(strstr(bf_runner_last_error(r), "the backup t__bf_backup_1 has fingerprint"),
                  "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    fingerprint(now, "t");
    ck_assert_str_eq(now, before);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* ---- rollback in place ------------------------------------------------------ */

START_TEST(rollback_of_one_batch_then_of_the_run_restores_the_target)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    char before[64], after[64], *json = NULL;
    int64_t id, first;
    int state;
    bf_runner *r;

    fingerprint(before, "t");
    id = run_brief(b, "ops@example.com");
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    r = make_runner(NULL, NULL);
    first = batch_id(id, 0, NULL);
    ck_assert_msg(bf_runner_rollback(&json, r, id, first) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"restored\": true"));
    ck_assert_ptr_nonnull(strstr(json, "\"state\": \"awaiting_approval\""));
    bf_free(json);
    batch_id(id, 0, &state);
    ck_assert_int_eq(state, BF_BATCH_ROLLED_BACK);
    /* Batch 1 covers 2025-01-01..2025-01-10: rows 1 to 20 have their old values again. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id <= 20"), 190);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id > 20"), 2 * (1770 - 190));
    /* The same batch again: it is rolled back already. */
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, first), BF_E_STATE);
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, 999), BF_E_NOT_FOUND);
    /* A run with a rolled-back batch cannot be approved. */
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_BLOCKED);
    ck_assert_msg(bf_runner_rollback(&json, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"state\": \"rolled_back\""));
    bf_free(json);
    fingerprint(after, "t");
    ck_assert_str_eq(after, before);
    ck_assert_int_eq(run_state(id), BF_RUN_ROLLED_BACK);
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, 0), BF_E_STATE);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/*
 * Approval refreshed the mart from the target: a rollback after it refreshes the mart again,
 * so the mart never keeps numbers the target no longer holds; a refresh that fails there says
 * the rows are restored, and rolling back again finishes it.
 */
START_TEST(a_rollback_after_approval_refreshes_downstream_again)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);
    char det[4096], *json = NULL;

    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 3540);
    /* One batch (rows 1 to 20) back: the mart follows the target. */
    ck_assert_msg(bf_runner_rollback(&json, r, id, batch_id(id, 0, NULL)) == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"refreshed\": [\n    \"mart\"\n  ]"));
    bf_free(json);
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"),
                     bftest_sql_int(raw, "SELECT sum(v) FROM t"));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 190 + 2 * (1770 - 190));
    records(det, sizeof det, NULL, 0, id, "refresh");
    ck_assert_msg(strstr(strchr(det, '\n') + 1, "\"asset\":\"mart\",\"order\":1,\"status\":\"ok\""),
                  "%s", det);
    /* The whole run back, with the mart gone: the rows are restored, the refresh fails. */
    bftest_sql_exec(raw, "ALTER TABLE mart RENAME TO mart_away");
    ck_assert_int_eq(bf_runner_rollback(&json, r, id, 0), BF_E_DRIVER);
    ck_assert_msg(strstr(bf_runner_last_error(r), "the refresh of downstream asset mart failed: ")
                  && strstr(bf_runner_last_error(r), "the rows are restored, and rolling back "
                                                     "again resumes from mart"),
                  "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"refreshed\": []"));
    bf_free(json);
    ck_assert_int_eq(run_state(id), BF_RUN_ROLLED_BACK);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 1770);
    /* Rolling back again finishes the refresh, once; then there is nothing left to do. */
    bftest_sql_exec(raw, "ALTER TABLE mart_away RENAME TO mart");
    ck_assert_msg(bf_runner_rollback(&json, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"batches\": []"));
    ck_assert_ptr_nonnull(strstr(json, "\"refreshed\": [\n    \"mart\"\n  ]"));
    bf_free(json);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 1770);
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, 0), BF_E_STATE);
    ck_assert_msg(strstr(bf_runner_last_error(r), "is rolled back already"), "%s",
                  bf_runner_last_error(r));
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* An asset's refresh_sql is all or nothing: a failing INSERT leaves the DELETE before it undone. */
START_TEST(a_failing_refresh_leaves_the_asset_as_it_was)
{
    bf_brief *b = make_brief(
        "partition_overwrite",
        "{\"name\": \"mart\", \"kind\": \"table\", \"depends_on\": [\"t\"],"
        " \"refresh_sql\": \"DELETE FROM mart; INSERT INTO mart SELECT sum(nope) FROM t\"}");
    int64_t id;
    bf_runner *r;

    bftest_sql_exec(raw, "INSERT INTO mart VALUES (1770)");
    id = run_brief(b, "ops@example.com");
    r = make_runner(NULL, NULL);
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_E_DRIVER);
    ck_assert_msg(strstr(bf_runner_last_error(r), "the refresh of downstream asset mart failed: ") &&
                      strstr(bf_runner_last_error(r), "no such column: nope"),
                  "%s", bf_runner_last_error(r));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM mart"), 1);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 1770);
    ck_assert_int_eq(run_state(id), BF_RUN_APPROVED);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* The brief's job given as a host gives it, without the brief (bf_runner_set_job). */
static void set_host_job(bf_runner *r, bf_plan *plan)
{
    static const char *const key[] = {"id"};
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;

    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.select = "SELECT id, ts, v FROM src WHERE ts >= :start AND ts < :end";
    spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    spec.snapshot = 1;
    rs.brief_name = "host-job";
    rs.operator_name = "ops@example.com";
    ck_assert_msg(bf_runner_set_job(r, plan, &spec, &rs, NULL) == BF_OK, "%s",
                  bf_runner_last_error(r));
}

/*
 * A run a host made with bf_runner_set_job() records no brief: a runner given the same job
 * rolls it back and approves it; one without it is told what to give.
 */
START_TEST(a_host_jobs_run_is_settled_with_the_same_job)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    bf_driver *d = NULL;
    bf_plan *plan = NULL;
    bf_runner *r = make_runner(NULL, NULL), *bare = make_runner(NULL, NULL);
    char before[64], after[64], *json = NULL;
    int64_t id = 0;

    ck_assert_int_eq(bf_driver_open_sqlite(&d, wpath, 0), BF_OK);
    ck_assert_int_eq(bf_driver_plan_brief(&plan, d, b), BF_OK);
    fingerprint(before, "t");
    set_host_job(r, plan);
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    /* Without the job: refused, saying what to give. */
    ck_assert_int_eq(bf_runner_rollback(NULL, bare, id, 0), BF_E_INVALID);
    ck_assert_msg(strstr(bf_runner_last_error(bare), "was recorded without a brief") &&
                      strstr(bf_runner_last_error(bare), "bf_runner_set_job()"),
                  "%s", bf_runner_last_error(bare));
    /* With it: one batch back, then the whole run, each proved; then approval of a new run. */
    ck_assert_msg(bf_runner_rollback(&json, r, id, batch_id(id, 0, NULL)) == BF_OK, "%s",
                  bf_runner_last_error(r));
    bf_free(json);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id <= 20"), 190);
    ck_assert_msg(bf_runner_rollback(&json, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"state\": \"rolled_back\""));
    bf_free(json);
    fingerprint(after, "t");
    ck_assert_str_eq(after, before);
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_msg(bf_runner_approve(r, id, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_COMPLETED);
    /* Cleanup waits for the default retention, like any run's. */
    ck_assert_int_eq(bf_runner_cleanup(NULL, r, id), BF_E_STATE);
    ck_assert_msg(strstr(bf_runner_last_error(r), "rollback.retention_days"), "%s",
                  bf_runner_last_error(r));
    bf_plan_free(plan);
    bf_driver_free(d);
    bf_runner_free(r);
    bf_runner_free(bare);
    bf_brief_free(b);
}
END_TEST

/* A run never approved refreshed nothing: its rollback refreshes nothing either. */
START_TEST(a_rollback_before_approval_refreshes_nothing)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);
    char *json = NULL;

    bftest_sql_exec(raw, "INSERT INTO mart VALUES (5)");
    ck_assert_msg(bf_runner_rollback(&json, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"refreshed\": []"));
    bf_free(json);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT total FROM mart"), 5);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* On the first batch done: another writer adds a row to that batch's bounds (2025-01-01). */
static void add_a_row_after_the_first_batch(void *userdata, const bf_run_event *ev)
{
    int *added = userdata;

    if (ev->kind != BF_RUN_EVENT_BATCH_DONE || (*added)++)
        return;
    sqlite3_busy_timeout(raw, 5000);
    bftest_sql_exec(raw, "INSERT INTO t VALUES (100, 1735689600 + 3600, 7)");
}

/*
 * The run's coverage compares each batch's bounds with the rows they held
 * once it published (the count of its recorded after fingerprint), as
 * backfill validate does: a row another writer added to the first batch's
 * bounds after it published fails the run's coverage, before approval.
 * Delta publishes, which write only the rows that changed, are no failure.
 */
START_TEST(run_coverage_compares_each_batch_with_what_it_left)
{
    bf_brief *b = make_brief_checks("partition_overwrite", MART_OK, "{\"check\": \"coverage\"}");
    bf_runner *r = NULL;
    int64_t id = 0;
    int added = 0;

    /* Only every third row changes: each batch writes fewer rows than its bounds hold. */
    bftest_sql_exec(raw, "UPDATE src SET v = v / 2 WHERE id % 3 <> 0");
    r = hooked(b, add_a_row_after_the_first_batch, NULL, &added);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_VALIDATION);
    ck_assert_msg(strstr(bf_runner_last_error(r), "validation failed: run: check coverage: 0 of 3 "
                         "planned batches not validated, 0 gaps or overlaps in the plan, 1 batches "
                         "whose bounds hold other than the rows they wrote"),
                  "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_PAUSED);
    bf_runner_free(r);
    /* Without that row (and resumed) the run's coverage passes. */
    bftest_sql_exec(raw, "DELETE FROM t WHERE id = 100");
    control_run(id, 1);
    r = make_runner(NULL, NULL);
    ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

START_TEST(rollback_is_refused_when_another_writer_changed_a_row)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    char before[64], now[64], *json = NULL;
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);
    int state;

    /* Row 25 lies in the second batch (2025-01-11..2025-01-20). */
    bftest_sql_exec(raw, "UPDATE t SET v = 999 WHERE id = 25");
    fingerprint(before, "t");
    ck_assert_int_eq(bf_runner_rollback(&json, r, id, 0), BF_E_CONFLICT);
    ck_assert_ptr_nonnull(json);
    ck_assert_ptr_null(strstr(json, "\"restored\": true"));
    /* Not asserted to be another writer's: a later batch of the run may have written there. */
    ck_assert_ptr_nonnull(strstr(json, "changed since it published (fingerprint "));
    ck_assert_ptr_nonnull(strstr(json, "a later batch of this run or another writer changed "
                                       "them, so the undo cannot be exact"));
    {
        /* Each batch says why it is as it was: the changed one, and the two never reached. */
        size_t stopped = 0;

        for (const char *p = json; (p = strstr(p, "stopped before undoing it")); p++)
            stopped++;
        ck_assert_int_eq(stopped, 2);
        ck_assert_ptr_null(strstr(json, "\"why\": \"\""));
    }
    bf_free(json);
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, batch_id(id, 1, NULL)), BF_E_CONFLICT);
    fingerprint(now, "t");
    ck_assert_str_eq(now, before);
    ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
    for (size_t i = 0; i < 3; i++) {
        batch_id(id, i, &state);
        ck_assert_int_eq(state, BF_BATCH_VALIDATED);
    }
    /* The untouched first batch can still be undone alone. */
    ck_assert_int_eq(bf_runner_rollback(NULL, r, id, batch_id(id, 0, NULL)), BF_OK);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* A throttle that lets `after` claims through, then stops its runner. */
struct stop_later {
    bf_runner *r;
    int calls, after;
};

static int stop_after_claims(void *userdata, char *reason, size_t size)
{
    struct stop_later *s = userdata;

    if (++s->calls <= s->after)
        return 0;
    bf_runner_stop(s->r);
    snprintf(reason, size, "stopped by the test");
    return 1;
}

/* The run-level results as recorded (bf_free). */
static char *run_results(int64_t id)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;
    bf_validation_list *vl = NULL;
    char *out;

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    ck_assert_int_eq(bf_run_validations(&vl, run, 0), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 1);
    out = strdup(bf_validation_list_results_json(vl, 0));
    bf_validation_list_free(vl);
    bf_run_free(run);
    bf_ledger_close(l);
    return out;
}

/*
 * A run resumed by another runner (another process, after a crash or a
 * stop) compares its run-level checks with the values from before its
 * first publish, as a run done in one go does: a metric that moved out of
 * bounds fails, one within bounds passes with the before value, never
 * "skipped" because the before value could no longer be measured.
 */
START_TEST(a_resumed_run_compares_with_the_values_from_before_the_run)
{
    static const char *const checks[] = {
        /* The run doubles v: +100%. */
        "{\"check\": \"metric\", \"name\": \"total v\", \"expr\": \"SUM(v)\", \"per\": \"run\","
        " \"expect_delta_pct\": {\"min\": -10, \"max\": 10}}",
        "{\"check\": \"metric\", \"name\": \"total v\", \"expr\": \"SUM(v)\", \"per\": \"run\","
        " \"expect_delta_pct\": {\"min\": 50, \"max\": 150}}"};

    {
        int i = _i;
        bf_brief *b = make_brief_checks("partition_overwrite", MART_OK, checks[i]);
        bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
        struct stop_later stop = {NULL, 0, 1};
        bf_runner *r;
        char *json;
        int64_t id = 0;

        o.ledger_path = lpath;
        o.warehouse_path = wpath;
        o.throttle = stop_after_claims;
        o.throttle_userdata = &stop;
        ck_assert_int_eq(bf_runner_new(&stop.r, &o), BF_OK);
        ck_assert_int_eq(bf_runner_set_brief(stop.r, b), BF_OK);
        ck_assert_msg(bf_runner_run(stop.r, &id) == BF_E_STATE, "%s", bf_runner_last_error(stop.r));
        ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 1770 + 190); /* 1 batch */
        bf_runner_free(stop.r);
        /* Another runner takes the run over and finishes it. */
        r = make_runner("ops@example.com", NULL);
        ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
        if (i == 0) {
            ck_assert_int_eq(bf_runner_run(r, &id), BF_E_VALIDATION);
            ck_assert_msg(strstr(bf_runner_last_error(r), "total v"), "%s",
                          bf_runner_last_error(r));
            ck_assert_int_eq(run_state(id), BF_RUN_PAUSED);
        } else {
            ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
            ck_assert_int_eq(run_state(id), BF_RUN_AWAITING_APPROVAL);
        }
        json = run_results(id);
        ck_assert_msg(strstr(json, "\"before\": 1770") || strstr(json, "\"before\":1770"),
                      "%s", json);
        ck_assert_msg(strstr(json, "skipped") == NULL || strstr(json, "\"skipped\": 0") ||
                          strstr(json, "\"skipped\":0"), "%s", json);
        free(json);
        bf_runner_free(r);
        bf_brief_free(b);
    }
}
END_TEST

/*
 * The SQLite driver of a process that dies, as under kill -9, the moment a
 * publish commits (its fence written, the ledger not told yet). One worker:
 * the flag is the process's.
 */
static int fenced;

static int dying_prepare(void *ud, void **out, const char *text)
{
    fenced |= strncmp(text, "INSERT INTO bf_fence", 20) == 0 ||
              strncmp(text, "UPDATE bf_fence", 15) == 0;
    return bf__sqlite_vtable.prepare(ud, out, text);
}

static int dying_execute(void *ud, const char *text)
{
    int rc = bf__sqlite_vtable.execute(ud, text);

    if (rc == BF_OK && fenced && strcmp(text, "COMMIT") == 0)
        _exit(0);
    return rc;
}

static int dying_open(void *userdata, bf_driver **out)
{
    bf_sql_vtable vt = bf__sqlite_vtable;
    void *inner = NULL;
    int rc;

    (void)userdata;
    if ((rc = bf__sqlite_open(&inner, wpath, 0)) != BF_OK)
        return rc;
    vt.prepare = dying_prepare;
    vt.execute = dying_execute;
    if ((rc = bf_driver_new_sql(out, &vt, inner, bf__sqlite_close)) != BF_OK)
        bf__sqlite_close(inner);
    return rc;
}

/*
 * A batch whose process died between the publish's commit and the
 * ledger's is done again by the next runner: its checks compare with the
 * values recorded before its first publish. Measured again they would be
 * the published rows', and a metric that doubled would seem not to move.
 */
START_TEST(a_batch_redone_after_a_crash_compares_with_its_first_before)
{
    /*
     * _i 0: the metric must fail (v doubles); 1: it passes; 2: append (t
     * emptied first); 3: the run is cancelled instead, and rolled back whole:
     * the publish the ledger never heard of is undone with the rest.
     */
    static const char *const writes[] = {
        "{\"strategy\": \"partition_overwrite\", \"snapshot\": true}",
        "{\"strategy\": \"partition_overwrite\", \"snapshot\": true}",
        "{\"strategy\": \"append\", \"snapshot\": true, \"allow_non_idempotent\": true}",
        "{\"strategy\": \"partition_overwrite\", \"snapshot\": true}"};
    static const char *const checks[] = {
        "{\"check\": \"metric\", \"name\": \"total v\", \"expr\": \"SUM(v)\", \"per\": \"batch\","
        " \"expect_delta_pct\": {\"min\": -10, \"max\": 10}}",
        "{\"check\": \"metric\", \"name\": \"total v\", \"expr\": \"SUM(v)\", \"per\": \"batch\","
        " \"expect_delta_pct\": {\"min\": 50, \"max\": 150}}",
        "{\"check\": \"unique\"}", "{\"check\": \"unique\"}"};
    char original[64];
    bf_brief *b = make_brief_write(writes[_i], MART_OK, checks[_i]);
    char clean[64], got[64];
    pid_t pid;
    int status = 0;
    int64_t id = 0;
    bf_runner *r;

    if (_i == 2)
        bftest_sql_exec(raw, "DELETE FROM t");
    fingerprint(original, "t");
    /* What a run that never crashed leaves. */
    bftest_sql_exec(raw, "CREATE TABLE t0 AS SELECT * FROM t");
    if (_i == 2)
        bftest_sql_exec(raw, "INSERT INTO t SELECT * FROM src WHERE ts < 1738281600");
    else
        bftest_sql_exec(raw, "UPDATE t SET v = (SELECT v FROM src WHERE src.id = t.id) "
                             "WHERE ts < 1738281600");
    fingerprint(clean, "t");
    bftest_sql_exec(raw, "DELETE FROM t; INSERT INTO t SELECT * FROM t0; DROP TABLE t0");
    pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        bf_runner_options o = BF_RUNNER_OPTIONS_INIT;

        o.ledger_path = lpath;
        o.open_driver = dying_open;
        o.workers = 1;
        if (bf_runner_new(&r, &o) != BF_OK || bf_runner_set_brief(r, b) != BF_OK) {
            fprintf(stderr, "child: %s\n", bf_last_error());
            _exit(2);
        }
        bf_runner_run(r, &id);
        _exit(3); /* never reached: the first publish's commit ends the process */
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %d", status);
    /* The first batch is published (v doubled, or appended), and its lease is still held. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id <= 20"), 2 * 190);
    clock_offset = 3600LL * 1000000; /* its lease has run out */
    r = make_runner("ops@example.com", NULL);
    ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
    if (_i == 3) {
        bf_ledger *l = NULL;
        bf_run *run = NULL;
        char *json = NULL;
        int state;

        ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
        ck_assert_int_eq(bf_run_open(&run, l, 1), BF_OK);
        ck_assert_int_eq(bf_run_cancel(run, "the test"), BF_OK);
        bf_run_free(run);
        bf_ledger_close(l);
        /* While the dead worker's lease lasts, it might still tell the ledger: refused. */
        clock_offset = 0;
        ck_assert_int_eq(bf_runner_rollback(NULL, r, 1, 0), BF_E_STATE);
        ck_assert_msg(strstr(bf_runner_last_error(r), "holds its lease"), "%s",
                      bf_runner_last_error(r));
        ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t WHERE id <= 20"), 2 * 190);
        clock_offset = 3600LL * 1000000;
        ck_assert_msg(bf_runner_rollback(&json, r, 1, 0) == BF_OK, "%s", bf_runner_last_error(r));
        ck_assert_msg(strstr(json, "\"restored\": true"), "%s", json);
        bf_free(json);
        fingerprint(got, "t");
        ck_assert_str_eq(got, original);
        batch_id(1, 0, &state);
        ck_assert_int_eq(state, BF_BATCH_ROLLED_BACK);
        ck_assert_int_eq(run_state(1), BF_RUN_ROLLED_BACK);
    } else if (_i == 0) {
        ck_assert_int_eq(bf_runner_run(r, &id), BF_E_VALIDATION);
        ck_assert_msg(strstr(bf_runner_last_error(r), "batch 2025-01-01..2025-01-10") &&
                          strstr(bf_runner_last_error(r), "total v"),
                      "%s", bf_runner_last_error(r));
        ck_assert_int_eq(run_state(id), BF_RUN_PAUSED);
    } else {
        /* Redone from the rows before it, once: as a run that never crashed. */
        ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
        fingerprint(got, "t");
        ck_assert_str_eq(got, clean);
        {
            bf_ledger *l = NULL;
            bf_run *run = NULL;
            bf_batch_list *bl = NULL;
            char *events = NULL;

            ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
            ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
            ck_assert_int_eq(bf_run_batches(&bl, run, -1), BF_OK);
            /* Counted as a run that never crashed counts them (v = 0 of id 1 does not change). */
            for (size_t i = 0; i < bf_batch_list_count(bl); i++)
                ck_assert_int_eq(bf_batch_list_rows_written(bl, i), i == 0 && _i == 1 ? 19 : 20);
            ck_assert_int_eq(bf_batch_list_token(bl, 0), 2);
            ck_assert_int_eq(bf_run_events_json(&events, run), BF_OK);
            ck_assert_ptr_nonnull(strstr(events, "\"attempt_undone\""));
            bf_free(events);
            bf_batch_list_free(bl);
            bf_run_free(run);
            bf_ledger_close(l);
        }
    }
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

START_TEST(a_batch_an_earlier_run_did_has_nothing_to_undo)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    char *json = NULL;
    int64_t first = run_brief(b, "ops@example.com"), second;
    bf_runner *r = make_runner(NULL, NULL);
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r2 = NULL;

    ck_assert_int_eq(bf_runner_approve(r, first, "raj@example.com"), BF_OK);
    o.ledger_path = lpath;
    o.warehouse_path = wpath;
    o.flags = BF_RUNNER_NEW;
    ck_assert_int_eq(bf_runner_new(&r2, &o), BF_OK);
    ck_assert_int_eq(bf_runner_set_brief(r2, b), BF_OK);
    ck_assert_msg(bf_runner_run(r2, &second) == BF_OK, "%s", bf_runner_last_error(r2));
    ck_assert_int_ne(second, first);
    ck_assert_int_eq(bf_runner_rollback(&json, r, second, 0), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"restored\": false"));
    ck_assert_ptr_nonnull(strstr(json, "nothing to undo"));
    ck_assert_ptr_nonnull(strstr(json, "\"fingerprint_before\": null"));
    bf_free(json);
    /* The first run's rows stay. */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    bf_runner_free(r2);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* ---- cleanup ---------------------------------------------------------------- */

START_TEST(cleanup_waits_for_the_retention_then_drops_the_tables)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);
    char *json = NULL, det[2048];

    /* Not settled yet. */
    ck_assert_int_eq(bf_runner_cleanup(NULL, r, id), BF_E_STATE);
    ck_assert_msg(strstr(bf_runner_last_error(r), "awaiting_approval"), "%s",
                  bf_runner_last_error(r));
    ck_assert_int_eq(bf_runner_approve(r, id, "raj@example.com"), BF_OK);
    /* Settled, but the retention (3 days) is not over. */
    clock_offset = 2 * DAY_US;
    ck_assert_int_eq(bf_runner_cleanup(&json, r, id), BF_E_STATE);
    ck_assert_ptr_null(json);
    ck_assert_msg(strstr(bf_runner_last_error(r), "retention_days (3 days)"), "%s",
                  bf_runner_last_error(r));
    ck_assert(table_exists("t__bf_backup_1"));
    ck_assert_int_ne(bftest_snapshot(raw, "t", 1, 0), 0);
    clock_offset = 3 * DAY_US + 60 * 1000000LL;
    ck_assert_msg(bf_runner_cleanup(&json, r, id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(json, "\"t__bf_backup_1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"t__bf_snap_1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"t__bf_snapinfo_1\""));
    bf_free(json);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE name LIKE "
                                         "'t\\_\\_bf\\_%' ESCAPE '\\'"), 0);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 3540);
    records(det, sizeof det, NULL, 0, id, "cleanup");
    ck_assert_msg(strstr(det, "{\"dropped\":[\"t__bf_snap_1\""), "%s", det);
    ck_assert_msg(strstr(det, "\"kept\":[]}"), "%s", det);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/*
 * Two ledgers on one warehouse both number their first run 1. The second
 * ledger's run 1 must not take the first's fences and snapshots for its own:
 * it is refused before it writes, its rollback is refused before it restores
 * (before, it restored the first run's pre-images over the target), and the
 * first run's snapshots still undo its batches. Once the first run is
 * cleaned up, its fences go with its tables and the second ledger's run 1
 * runs, and rolls back, as its own.
 */
START_TEST(a_second_ledgers_run_never_takes_the_firsts_warehouse_state)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    char other[120], fp_start[64], fp_a[64], fp[64], *json = NULL;
    int64_t id = 0;
    bf_runner *a, *r;

    snprintf(other, sizeof other, "%s/other.ledger", dir);
    fingerprint(fp_start, "t");
    ck_assert_int_eq(run_brief(b, "ana@example.com"), 1);
    fingerprint(fp_a, "t");
    ck_assert_str_ne(fp_a, fp_start);

    ledger_at = other;
    r = make_runner("ana@example.com", NULL);
    ck_assert_int_eq(bf_runner_set_brief(r, b), BF_OK);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_CONFLICT);
    ck_assert_int_eq(id, 1);
    ck_assert_msg(strstr(bf_runner_last_error(r), "t: run 1 in this warehouse is another "
                                                  "ledger's (t-fix #1, created "),
                  "%s", bf_runner_last_error(r));
    ck_assert_int_eq(bf_runner_rollback(&json, r, 1, 0), BF_E_CONFLICT);
    bf_free(json);
    json = NULL;
    ck_assert_int_eq(bf_runner_rollback(NULL, r, 1, batch_id(1, 0, NULL)), BF_E_CONFLICT);
    ck_assert_int_eq(bf_runner_cleanup(NULL, r, 1), BF_E_CONFLICT);
    fingerprint(fp, "t");
    ck_assert_str_eq(fp, fp_a);
    ck_assert_int_ne(bftest_snapshot(raw, "t", 1, 0), 0);

    /* The first ledger's run still undoes its own batch from its own snapshot. */
    ledger_at = NULL;
    a = make_runner("ana@example.com", NULL);
    ck_assert_msg(bf_runner_rollback(NULL, a, 1, batch_id(1, 0, NULL)) == BF_OK, "%s",
                  bf_runner_last_error(a));
    ck_assert_int_eq(bf_runner_set_brief(a, b), BF_OK);
    ck_assert_msg(bf_runner_run(a, &id) == BF_OK, "%s", bf_runner_last_error(a));
    ck_assert_msg(bf_runner_approve(a, 1, "raj@example.com") == BF_OK, "%s",
                  bf_runner_last_error(a));
    clock_offset = 3 * DAY_US + 60 * 1000000LL;
    ck_assert_msg(bf_runner_cleanup(NULL, a, 1) == BF_OK, "%s", bf_runner_last_error(a));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM bf_fence WHERE run = 1"), 0);
    bf_runner_free(a);

    /* Cleaned up there, run 1 is free here: it runs and rolls back as its own. */
    fingerprint(fp_a, "t");
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_msg(bf_runner_rollback(NULL, r, 1, 0) == BF_OK, "%s", bf_runner_last_error(r));
    fingerprint(fp, "t");
    ck_assert_str_eq(fp, fp_a);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* Two runners of one run; each holds its claims in its throttle as the test says. */
struct pair {
    volatile int b_in_loop, a_done;
    int a_rc, paused_a, paused_b, awaiting_b;
    bf_brief *brief;
};

static int a_waits_for_b(void *userdata, char *reason, size_t size)
{
    struct pair *p = userdata;

    (void)reason;
    (void)size;
    while (!__atomic_load_n(&p->b_in_loop, __ATOMIC_ACQUIRE))
        usleep(1000);
    return 0;
}

static int b_waits_for_a(void *userdata, char *reason, size_t size)
{
    struct pair *p = userdata;

    (void)reason;
    (void)size;
    __atomic_store_n(&p->b_in_loop, 1, __ATOMIC_RELEASE);
    while (!__atomic_load_n(&p->a_done, __ATOMIC_ACQUIRE))
        usleep(1000);
    return 0;
}

static void pair_event(void *userdata, const bf_run_event *ev, int *paused)
{
    (void)userdata;
    *paused += ev->kind == BF_RUN_EVENT_PAUSED || ev->kind == BF_RUN_EVENT_CANCELLED;
}

static void a_event(void *userdata, const bf_run_event *ev)
{
    pair_event(userdata, ev, &((struct pair *)userdata)->paused_a);
}

static void b_event(void *userdata, const bf_run_event *ev)
{
    struct pair *p = userdata;

    pair_event(userdata, ev, &p->paused_b);
    p->awaiting_b += ev->kind == BF_RUN_EVENT_AWAITING_APPROVAL;
}

static bf_runner *pair_runner(struct pair *p, bf_throttle_fn throttle,
                              bf_run_event_fn on_event)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r = NULL;

    o.ledger_path = lpath;
    o.warehouse_path = wpath;
    o.throttle = throttle;
    o.throttle_userdata = p;
    o.on_event = on_event;
    o.event_userdata = p;
    o.operator_name = "ana@example.com";
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_OK);
    ck_assert_int_eq(bf_runner_set_brief(r, p->brief), BF_OK);
    return r;
}

static void *run_a(void *arg)
{
    struct pair *p = arg;
    bf_runner *r = pair_runner(p, a_waits_for_b, a_event);
    int64_t id = 0;

    p->a_rc = bf_runner_run(r, &id);
    bf_runner_free(r);
    __atomic_store_n(&p->a_done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/*
 * A second runner of the same run, inside its claim loop when the first did
 * the last batch and validated the run: its next claim finds the run
 * awaiting approval. That is no pause: it returns BF_OK, tells
 * awaiting_approval, and no one is told of a pause or cancel (before, it
 * returned BF_E_STATE and emitted "paused").
 */
START_TEST(a_runner_that_finds_its_run_finished_elsewhere_succeeds)
{
    struct pair p;
    pthread_t a;
    bf_runner *b;
    int64_t id = 0;

    memset(&p, 0, sizeof p);
    p.brief = make_brief("partition_overwrite", MART_OK);
    /* The run exists before either runner claims: both resume it. */
    b = pair_runner(&p, b_waits_for_a, b_event);
    ck_assert_int_eq(pthread_create(&a, NULL, run_a, &p), 0);
    ck_assert_msg(bf_runner_run(b, &id) == BF_OK, "%s", bf_runner_last_error(b));
    ck_assert_int_eq(pthread_join(a, NULL), 0);
    ck_assert_int_eq(p.a_rc, BF_OK);
    ck_assert_int_eq(id, 1);
    ck_assert_int_eq(run_state(1), BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(p.paused_a + p.paused_b, 0);
    ck_assert_int_eq(p.awaiting_b, 1);
    bf_runner_free(b);
    bf_brief_free(p.brief);
}
END_TEST

START_TEST(cleanup_of_a_rolled_back_shadow_run_drops_the_shadow)
{
    bf_brief *b = make_brief("staging_swap", MART_OK);
    int64_t id = run_brief(b, "ops@example.com");
    bf_runner *r = make_runner(NULL, NULL);

    ck_assert_msg(bf_runner_rollback(NULL, r, id, 0) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(run_state(id), BF_RUN_ROLLED_BACK);
    ck_assert(table_exists("t__bf_full_1"));
    clock_offset = 4 * DAY_US;
    ck_assert_msg(bf_runner_cleanup(NULL, r, id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert(!table_exists("t__bf_full_1"));
    ck_assert(table_exists("t"));
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"), 1770);
    bf_runner_free(r);
    bf_brief_free(b);
}
END_TEST

/* ---- allocation failures on the refusal paths ------------------------------ */

struct refusal {
    bf_runner *r;
    int64_t run;
    int what; /* 0 approve by the wrong person, 1 rollback over a change, 2 cleanup too early */
    int expect;
};

static int refusal_op(void *ctx)
{
    struct refusal *c = ctx;
    char *json = NULL;
    int rc;

    switch (c->what) {
    case 0:
        rc = bf_runner_approve(c->r, c->run, "bob@example.com");
        break;
    case 1:
        rc = bf_runner_rollback(&json, c->r, c->run, 0);
        break;
    default:
        rc = bf_runner_cleanup(&json, c->r, c->run);
        break;
    }
    bf_free(json);
    return rc == c->expect ? BF_OK : rc;
}

START_TEST(refusals_survive_allocation_failures)
{
    bf_brief *b = make_brief("partition_overwrite", MART_OK);
    int64_t id = run_brief(b, "ops@example.com"), id2;
    struct refusal c;

    c.r = make_runner(NULL, NULL);
    c.run = id;
    c.what = 0;
    c.expect = BF_E_BLOCKED;
    ck_assert_int_eq(refusal_op(&c), BF_OK); /* warm up: caches filled once, not leaks */
    ck_assert_int_gt(failalloc_sweep(refusal_op, NULL, &c), 0);
    bftest_sql_exec(raw, "UPDATE t SET v = 999 WHERE id = 25");
    c.what = 1;
    c.expect = BF_E_CONFLICT;
    ck_assert_int_gt(failalloc_sweep(refusal_op, NULL, &c), 0);
    bftest_sql_exec(raw, "UPDATE t SET v = 48 WHERE id = 25");
    ck_assert_int_eq(bf_runner_approve(c.r, id, "raj@example.com"), BF_OK);
    c.what = 2;
    c.expect = BF_E_STATE;
    ck_assert_int_gt(failalloc_sweep(refusal_op, NULL, &c), 0);
    (void)id2;
    bf_runner_free(c.r);
    bf_brief_free(b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("runner_approve");
    TCase *tc = tcase_create("core");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, a_checks_scan_that_fails_rolls_its_publish_back);
    tcase_add_test(tc, a_check_naming_what_the_warehouse_lacks_leaves_no_run);
    tcase_add_test(tc, approve_is_refused_before_the_run_is_validated);
    tcase_add_test(tc, a_failing_throttle_is_named);
    tcase_add_test(tc, a_stop_during_a_batch_says_it_was_in_flight);
    tcase_add_test(tc, approve_is_refused_for_the_wrong_people);
    tcase_add_test(tc, approve_is_refused_to_the_brief_owner);
    tcase_add_test(tc, approve_completes_in_place_and_records_the_reviewer);
    tcase_add_test(tc, running_a_completed_brief_again_gives_its_run);
    tcase_add_test(tc, a_run_after_a_cancelled_one_is_judged_from_before_it);
    tcase_add_test(tc, refresh_runs_in_lineage_order_and_resumes_after_a_failure);
    tcase_add_test(tc, staging_swap_cuts_over_and_rolls_back_by_swapping_the_backup_back);
    tcase_add_test(tc, staging_swap_refuses_to_swap_back_over_another_writer);
    tcase_add_test(tc, a_cancelled_staging_swap_run_is_done_again_by_the_next);
    tcase_add_test(tc, a_cancelled_in_place_run_is_cleaned_up_after_its_rollback);
    tcase_add_test(tc, a_cutover_never_drops_another_writers_change);
    tcase_add_test(tc, rollback_of_one_batch_then_of_the_run_restores_the_target);
    tcase_add_test(tc, rollback_is_refused_when_another_writer_changed_a_row);
    tcase_add_test(tc, run_coverage_compares_each_batch_with_what_it_left);
    tcase_add_test(tc, a_rollback_after_approval_refreshes_downstream_again);
    tcase_add_test(tc, a_rollback_before_approval_refreshes_nothing);
    tcase_add_test(tc, a_failing_refresh_leaves_the_asset_as_it_was);
    tcase_add_test(tc, a_host_jobs_run_is_settled_with_the_same_job);
    tcase_add_test(tc, a_run_redoing_a_rolled_back_batch_is_judged_from_before_the_first);
    tcase_add_test(tc, a_batch_an_earlier_run_did_has_nothing_to_undo);
    tcase_add_loop_test(tc, a_resumed_run_compares_with_the_values_from_before_the_run, 0, 2);
    tcase_add_loop_test(tc, a_batch_redone_after_a_crash_compares_with_its_first_before, 0, 4);
    tcase_add_test(tc, cleanup_waits_for_the_retention_then_drops_the_tables);
    tcase_add_test(tc, cleanup_of_a_rolled_back_shadow_run_drops_the_shadow);
    tcase_add_test(tc, a_second_ledgers_run_never_takes_the_firsts_warehouse_state);
    tcase_add_test(tc, a_runner_that_finds_its_run_finished_elsewhere_succeeds);
    tcase_add_test(tc, refusals_survive_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
