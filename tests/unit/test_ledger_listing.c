/*
 * The ledger's typed listings (bf_ledger_runs, bf_run_batches,
 * bf_run_events): every accessor against what the ledger did, against the
 * rows in the file and against the JSON listings made from them; indexes
 * out of range; allocation failures.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ledger/ledger_testlib.h"
#include "bftest.h"

#define SEC 1000000LL
#define T0 (1764000000LL * SEC)

static char dir[256];
static char path[300];
static int64_t fake_now;
static bf_ledger *ledger;

static int64_t fake_clock(void *userdata)
{
    (void)userdata;
    return fake_now;
}

static void setup(void)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;

    snprintf(dir, sizeof dir, "/tmp/bf-listing-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    fake_now = T0;
    opts.clock = fake_clock;
    opts.actor = "tester";
    opts.durability = BF_DURABILITY_NORMAL;
    ck_assert_int_eq(bf_ledger_open(&ledger, path, &opts), BF_OK);
}

static void teardown(void)
{
    char cmd[600];

    bf_ledger_close(ledger);
    ledger = NULL;
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static bf_run *start(const char *brief, size_t count, unsigned attempts)
{
    bf_run_spec spec = lt_spec(brief, 2, attempts, 1.5, 60);
    bf_plan *plan = lt_key_plan(count, 100, brief);
    bf_run *run;

    ck_assert_ptr_nonnull(plan);
    spec.params_json = "{\"dry_run\":false}";
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    return run;
}

static bf_lease *claim(bf_run *run)
{
    bf_lease *lease = NULL;

    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_ptr_nonnull(lease);
    return lease;
}

/*
 * The scenario: run 1 "orders-fix" of 6 key batches [0,100) ... [500,600),
 * one attempt each, and what happened to them:
 *   b1 claimed at T0+10s, completed at T0+12s with a result, then validated;
 *   b2 claimed at T0+20s, failed "boom" (for good: one attempt);
 *   b3 claimed, failed "split me", split: halves h1 [200,250), h2 [250,300);
 *   h1 claimed at T0+40s (running, held by "tester");
 *   b6 cancelled by hand; h2, b4, b5 pending; a note at T0+50s.
 * Run 2 "events-fix" (2 batches, untouched).
 */
static int64_t b_id(int n)
{
    return 1000000000LL + n;
}

static bf_run *scenario(void)
{
    bf_batch_result result = BF_BATCH_RESULT_INIT;
    bf_run *run = start("orders-fix", 6, 1), *other;
    bf_lease *lease;
    int64_t halves[2];

    fake_now = T0 + 10 * SEC;
    lease = claim(run);
    ck_assert_int_eq(bf_lease_batch_id(lease), b_id(1));
    fake_now = T0 + 12 * SEC;
    result.rows_written = 100;
    result.rows_deleted = 7;
    result.fingerprint_before = "90:0000000000000000000000000000abcd";
    result.fingerprint_after = "100:00000000000000000000000000001234";
    result.duration_s = 2.5;
    result.idempotency_key = "orders-fix/1";
    ck_assert_int_eq(bf_run_complete(run, b_id(1), bf_lease_token(lease), &result), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_mark_batch(run, b_id(1), BF_BATCH_VALIDATED, "checked"), BF_OK);

    fake_now = T0 + 20 * SEC;
    lease = claim(run);
    ck_assert_int_eq(bf_lease_batch_id(lease), b_id(2));
    fake_now = T0 + 21 * SEC;
    ck_assert_int_eq(bf_run_fail(run, b_id(2), bf_lease_token(lease), "boom"), BF_OK);
    bf_lease_free(lease);

    fake_now = T0 + 30 * SEC;
    lease = claim(run);
    ck_assert_int_eq(bf_lease_batch_id(lease), b_id(3));
    ck_assert_int_eq(bf_run_fail(run, b_id(3), bf_lease_token(lease), "split me"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_split_batch(halves, run, b_id(3)), BF_OK);
    ck_assert_int_eq(halves[0], b_id(7));
    ck_assert_int_eq(halves[1], b_id(8));

    fake_now = T0 + 40 * SEC;
    lease = claim(run);
    ck_assert_int_eq(bf_lease_batch_id(lease), b_id(7));
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_mark_batch(run, b_id(6), BF_BATCH_CANCELLED, "not needed"), BF_OK);
    fake_now = T0 + 50 * SEC;
    ck_assert_int_eq(bf_run_note(run, "looked at it"), BF_OK);

    other = start("events-fix", 2, 3);
    bf_run_free(other);
    return run;
}

/* ---- every accessor against the file's rows ---- */

static sqlite3_stmt *query(sqlite3 **db, const char *sql)
{
    sqlite3_stmt *st;

    ck_assert_int_eq(sqlite3_open(path, db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(*db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(*db));
    return st;
}

/* A text column as the ledger gives it: NULL stays NULL. */
static void assert_text(const char *got, sqlite3_stmt *st, int col, const char *what, size_t i)
{
    const char *want = (const char *)sqlite3_column_text(st, col);

    if (!want)
        ck_assert_msg(got == NULL, "%s of item %zu: '%s', not NULL", what, i, got ? got : "");
    else
        ck_assert_msg(got && strcmp(got, want) == 0, "%s of item %zu: '%s', not '%s'", what, i,
                      got ? got : "(NULL)", want);
}

static void assert_int(int64_t got, sqlite3_stmt *st, int col, const char *what, size_t i)
{
    int64_t want = sqlite3_column_int64(st, col);

    ck_assert_msg(got == want, "%s of item %zu: %lld, not %lld", what, i, (long long)got,
                  (long long)want);
}

START_TEST(batch_accessors_match_the_rows_and_the_scenario)
{
    bf_run *run = scenario();
    bf_batch_list *list;
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t i = 0;
    static const int64_t order[] = {1, 2, 3, 7, 8, 4, 5, 6};
    static const int states[] = {BF_BATCH_VALIDATED, BF_BATCH_FAILED, BF_BATCH_SPLIT,
                                 BF_BATCH_RUNNING,   BF_BATCH_PENDING, BF_BATCH_PENDING,
                                 BF_BATCH_PENDING,   BF_BATCH_CANCELLED};

    ck_assert_int_eq(bf_run_batches(&list, run, -1), BF_OK);
    ck_assert_uint_eq(bf_batch_list_count(list), 8);

    /* What the scenario did, accessor by accessor. */
    for (size_t k = 0; k < 8; k++) {
        ck_assert_int_eq(bf_batch_list_id(list, k), b_id((int)order[k]));
        ck_assert_int_eq(bf_batch_list_state(list, k), states[k]);
        ck_assert_int_eq(bf_batch_list_dimension(list, k), BF_DIM_KEY);
    }
    /* b1: completed with a result, then validated. */
    ck_assert_int_eq(bf_batch_list_ordinal(list, 0), 0);
    ck_assert_str_eq(bf_batch_list_label(list, 0), "order_id [0, 100)");
    ck_assert_int_eq(bf_batch_list_lo(list, 0), 0);
    ck_assert_int_eq(bf_batch_list_hi(list, 0), 100);
    ck_assert_str_eq(bf_batch_list_params_json(list, 0), "{\"lo\":0,\"hi\":100}");
    ck_assert_int_eq(bf_batch_list_token(list, 0), 1);
    ck_assert_int_eq(bf_batch_list_attempt(list, 0), 1);
    ck_assert_int_eq(bf_batch_list_started_at(list, 0), T0 + 10 * SEC);
    ck_assert_int_eq(bf_batch_list_finished_at(list, 0), T0 + 12 * SEC);
    ck_assert_int_eq(bf_batch_list_duration_us(list, 0), 2500000);
    ck_assert_int_eq(bf_batch_list_rows_written(list, 0), 100);
    ck_assert_int_eq(bf_batch_list_rows_deleted(list, 0), 7);
    ck_assert_str_eq(bf_batch_list_fingerprint_before(list, 0),
                     "90:0000000000000000000000000000abcd");
    ck_assert_str_eq(bf_batch_list_fingerprint_after(list, 0),
                     "100:00000000000000000000000000001234");
    ck_assert_str_eq(bf_batch_list_idempotency_key(list, 0), "orders-fix/1");
    ck_assert_ptr_null(bf_batch_list_error(list, 0));
    /* Nobody holds a completed batch: worker is who last held it, the one who completed it. */
    ck_assert_str_eq(bf_batch_list_worker(list, 0), "tester");
    ck_assert_int_eq(bf_batch_list_lease_until(list, 0), 0);
    ck_assert_int_eq(bf_batch_list_parent_id(list, 0), 0);
    /* b2: failed for good, with its message. */
    ck_assert_str_eq(bf_batch_list_error(list, 1), "boom");
    ck_assert_int_eq(bf_batch_list_attempt(list, 1), 1);
    ck_assert_int_eq(bf_batch_list_started_at(list, 1), T0 + 20 * SEC);
    ck_assert_int_eq(bf_batch_list_rows_written(list, 1), 0);
    ck_assert_ptr_null(bf_batch_list_idempotency_key(list, 1));
    /* The split parent and its halves, which keep its ordinal and point at it. */
    ck_assert_str_eq(bf_batch_list_error(list, 2), "split me");
    for (size_t k = 3; k <= 4; k++) {
        ck_assert_int_eq(bf_batch_list_ordinal(list, k), 2);
        ck_assert_int_eq(bf_batch_list_parent_id(list, k), b_id(3));
    }
    ck_assert_str_eq(bf_batch_list_label(list, 3), "order_id [200, 250)");
    ck_assert_int_eq(bf_batch_list_lo(list, 3), 200);
    ck_assert_int_eq(bf_batch_list_hi(list, 3), 250);
    ck_assert_int_eq(bf_batch_list_lo(list, 4), 250);
    ck_assert_int_eq(bf_batch_list_hi(list, 4), 300);
    ck_assert_str_eq(bf_batch_list_params_json(list, 4), "{\"lo\":250,\"hi\":300}");
    /* h1: running under its lease, held by this ledger's actor. */
    ck_assert_int_eq(bf_batch_list_token(list, 3), 1);
    ck_assert_int_eq(bf_batch_list_lease_until(list, 3), T0 + 100 * SEC);
    ck_assert_str_eq(bf_batch_list_worker(list, 3), "tester");
    ck_assert_int_eq(bf_batch_list_started_at(list, 3), T0 + 40 * SEC);
    /* Never claimed. */
    ck_assert_int_eq(bf_batch_list_token(list, 5), 0);
    ck_assert_int_eq(bf_batch_list_attempt(list, 5), 0);
    ck_assert_int_eq(bf_batch_list_started_at(list, 5), 0);
    ck_assert_int_eq(bf_batch_list_ordinal(list, 7), 5);

    /* And every accessor of every batch against the row in the file. */
    st = query(&db, "SELECT id, ordinal, parent_id, state, dimension, label, lo, hi, params, "
                    "token, attempt, lease_until, not_before, worker, started_at, finished_at, "
                    "duration_us, rows_written, rows_deleted, fp_before, fp_after, "
                    "idempotency_key, error FROM batches WHERE run_id = 1 ORDER BY ordinal, id");
    while (sqlite3_step(st) == SQLITE_ROW) {
        ck_assert_uint_lt(i, bf_batch_list_count(list));
        assert_int(bf_batch_list_id(list, i), st, 0, "id", i);
        assert_int(bf_batch_list_ordinal(list, i), st, 1, "ordinal", i);
        assert_int(bf_batch_list_parent_id(list, i), st, 2, "parent_id", i);
        assert_int(bf_batch_list_state(list, i), st, 3, "state", i);
        assert_int(bf_batch_list_dimension(list, i), st, 4, "dimension", i);
        assert_text(bf_batch_list_label(list, i), st, 5, "label", i);
        assert_int(bf_batch_list_lo(list, i), st, 6, "lo", i);
        assert_int(bf_batch_list_hi(list, i), st, 7, "hi", i);
        assert_text(bf_batch_list_params_json(list, i), st, 8, "params", i);
        assert_int(bf_batch_list_token(list, i), st, 9, "token", i);
        assert_int(bf_batch_list_attempt(list, i), st, 10, "attempt", i);
        assert_int(bf_batch_list_lease_until(list, i), st, 11, "lease_until", i);
        assert_int(bf_batch_list_not_before(list, i), st, 12, "not_before", i);
        assert_text(bf_batch_list_worker(list, i), st, 13, "worker", i);
        assert_int(bf_batch_list_started_at(list, i), st, 14, "started_at", i);
        assert_int(bf_batch_list_finished_at(list, i), st, 15, "finished_at", i);
        assert_int(bf_batch_list_duration_us(list, i), st, 16, "duration_us", i);
        assert_int(bf_batch_list_rows_written(list, i), st, 17, "rows_written", i);
        assert_int(bf_batch_list_rows_deleted(list, i), st, 18, "rows_deleted", i);
        assert_text(bf_batch_list_fingerprint_before(list, i), st, 19, "fp_before", i);
        assert_text(bf_batch_list_fingerprint_after(list, i), st, 20, "fp_after", i);
        assert_text(bf_batch_list_idempotency_key(list, i), st, 21, "idempotency_key", i);
        assert_text(bf_batch_list_error(list, i), st, 22, "error", i);
        i++;
    }
    ck_assert_uint_eq(i, bf_batch_list_count(list));
    sqlite3_finalize(st);
    sqlite3_close(db);
    bf_batch_list_free(list);

    /* A state filter keeps plan order; a listing outlives its run. */
    ck_assert_int_eq(bf_run_batches(&list, run, BF_BATCH_PENDING), BF_OK);
    bf_run_free(run);
    ck_assert_uint_eq(bf_batch_list_count(list), 3);
    ck_assert_int_eq(bf_batch_list_id(list, 0), b_id(8));
    ck_assert_int_eq(bf_batch_list_id(list, 1), b_id(4));
    ck_assert_int_eq(bf_batch_list_id(list, 2), b_id(5));
    bf_batch_list_free(list);
}
END_TEST

START_TEST(run_accessors_match_the_spec_and_the_rows)
{
    bf_run *run = scenario();
    bf_run_list *list;
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t i = 0;

    bf_run_free(run);
    ck_assert_int_eq(bf_ledger_runs(&list, ledger, NULL), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(list), 2);
    ck_assert_int_eq(bf_run_list_id(list, 0), 1);
    ck_assert_int_eq(bf_run_list_seq(list, 0), 1);
    ck_assert_str_eq(bf_run_list_brief_name(list, 0), "orders-fix");
    ck_assert_int_eq(bf_run_list_state(list, 0), BF_RUN_RUNNING);
    ck_assert_int_eq(bf_run_list_dimension(list, 0), BF_DIM_KEY);
    ck_assert_str_eq(bf_run_list_column(list, 0), "order_id");
    ck_assert_uint_eq(strlen(bf_run_list_plan_fingerprint(list, 0)), 32);
    ck_assert_str_eq(bf_run_list_code_version(list, 0), "git:test");
    ck_assert_str_eq(bf_run_list_operator(list, 0), "ana@example.com");
    ck_assert_str_eq(bf_run_list_params_json(list, 0), "{\"dry_run\":false}");
    ck_assert_str_eq(bf_run_list_brief_json(list, 0), "{\"format\":\"backfill-brief/1\"}");
    ck_assert_int_eq(bf_run_list_max_concurrency(list, 0), 2);
    ck_assert_int_eq(bf_run_list_max_attempts(list, 0), 1);
    ck_assert_int_eq(bf_run_list_retry_backoff_us(list, 0), 1500000);
    ck_assert_int_eq(bf_run_list_lease_us(list, 0), 60 * SEC);
    ck_assert_int_eq(bf_run_list_batch_count(list, 0), 6);
    ck_assert_int_eq(bf_run_list_created_at(list, 0), T0);
    ck_assert_int_eq(bf_run_list_started_at(list, 0), T0 + 10 * SEC);
    ck_assert_int_eq(bf_run_list_finished_at(list, 0), 0);
    ck_assert_str_eq(bf_run_list_brief_name(list, 1), "events-fix");
    ck_assert_int_eq(bf_run_list_state(list, 1), BF_RUN_PLANNED);
    ck_assert_int_eq(bf_run_list_max_attempts(list, 1), 3);
    ck_assert_int_eq(bf_run_list_created_at(list, 1), T0 + 50 * SEC);
    ck_assert_int_eq(bf_run_list_started_at(list, 1), 0);

    st = query(&db, "SELECT id, brief_name, seq, state, brief_json, plan_fingerprint, dimension, "
                    "plan_column, code_version, operator, params_json, max_concurrency, "
                    "max_attempts, retry_backoff_us, lease_us, batch_count, created_at, "
                    "started_at, updated_at, finished_at FROM runs ORDER BY id");
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_int(bf_run_list_id(list, i), st, 0, "id", i);
        assert_text(bf_run_list_brief_name(list, i), st, 1, "brief_name", i);
        assert_int(bf_run_list_seq(list, i), st, 2, "seq", i);
        assert_int(bf_run_list_state(list, i), st, 3, "state", i);
        assert_text(bf_run_list_brief_json(list, i), st, 4, "brief_json", i);
        assert_text(bf_run_list_plan_fingerprint(list, i), st, 5, "plan_fingerprint", i);
        assert_int(bf_run_list_dimension(list, i), st, 6, "dimension", i);
        assert_text(bf_run_list_column(list, i), st, 7, "plan_column", i);
        assert_text(bf_run_list_code_version(list, i), st, 8, "code_version", i);
        assert_text(bf_run_list_operator(list, i), st, 9, "operator", i);
        assert_text(bf_run_list_params_json(list, i), st, 10, "params_json", i);
        assert_int(bf_run_list_max_concurrency(list, i), st, 11, "max_concurrency", i);
        assert_int(bf_run_list_max_attempts(list, i), st, 12, "max_attempts", i);
        assert_int(bf_run_list_retry_backoff_us(list, i), st, 13, "retry_backoff_us", i);
        assert_int(bf_run_list_lease_us(list, i), st, 14, "lease_us", i);
        assert_int(bf_run_list_batch_count(list, i), st, 15, "batch_count", i);
        assert_int(bf_run_list_created_at(list, i), st, 16, "created_at", i);
        assert_int(bf_run_list_started_at(list, i), st, 17, "started_at", i);
        assert_int(bf_run_list_updated_at(list, i), st, 18, "updated_at", i);
        assert_int(bf_run_list_finished_at(list, i), st, 19, "finished_at", i);
        i++;
    }
    ck_assert_uint_eq(i, 2);
    sqlite3_finalize(st);
    sqlite3_close(db);
    bf_run_list_free(list);

    /* The brief filter. */
    ck_assert_int_eq(bf_ledger_runs(&list, ledger, "events-fix"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(list), 1);
    ck_assert_int_eq(bf_run_list_id(list, 0), 2);
    bf_run_list_free(list);
    ck_assert_int_eq(bf_ledger_runs(&list, ledger, "nosuch"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(list), 0);
    bf_run_list_free(list);
}
END_TEST

/* The time of the one event of `batch_id` (0: the run) moving from -> to; -1 if not one. */
static int64_t find_event(const bf_event_list *list, int64_t batch_id, int from, int to)
{
    int64_t at = -1;
    int found = 0;

    for (size_t i = 0; i < bf_event_list_count(list); i++)
        if (bf_event_list_batch_id(list, i) == batch_id &&
            strcmp(bf_event_list_subject(list, i), batch_id ? "batch" : "run") == 0 &&
            bf_event_list_from_state(list, i) == from && bf_event_list_to_state(list, i) == to) {
            at = bf_event_list_at(list, i);
            found++;
        }
    return found == 1 ? at : -1;
}

START_TEST(event_accessors_follow_the_audit_log)
{
    bf_run *run = scenario();
    bf_event_list *list;
    size_t n;

    ck_assert_int_eq(bf_run_events(&list, run), BF_OK);
    n = bf_event_list_count(list);
    ck_assert_int_gt(n, 10);
    for (size_t i = 0; i < n; i++) {
        const char *subject = bf_event_list_subject(list, i);
        const char *from = bf_event_list_from(list, i), *to = bf_event_list_to(list, i);
        int is_batch = strcmp(subject, "batch") == 0;

        ck_assert_int_eq(bf_event_list_seq(list, i), (int64_t)i + 1);
        ck_assert_str_eq(bf_event_list_actor(list, i), "tester");
        ck_assert_int_ge(bf_event_list_at(list, i), T0);
        if (i)
            ck_assert_int_ge(bf_event_list_at(list, i), bf_event_list_at(list, i - 1));
        /* The numbers say what the names say, by subject. */
        if (from)
            ck_assert_str_eq(is_batch ? bf_batch_state_name(bf_event_list_from_state(list, i))
                                      : bf_run_state_name(bf_event_list_from_state(list, i)),
                             from);
        else
            ck_assert_int_eq(bf_event_list_from_state(list, i), BF_E_INVALID);
        if (to)
            ck_assert_str_eq(is_batch ? bf_batch_state_name(bf_event_list_to_state(list, i))
                                      : bf_run_state_name(bf_event_list_to_state(list, i)),
                             to);
        else
            ck_assert_int_eq(bf_event_list_to_state(list, i), BF_E_INVALID);
        ck_assert_int_eq(bf_event_list_batch_id(list, i) != 0, is_batch);
    }
    /* The first: the run planned. Its first claim moved it to running and b1 to running. */
    ck_assert_str_eq(bf_event_list_subject(list, 0), "run");
    ck_assert_ptr_null(bf_event_list_from(list, 0));
    ck_assert_int_eq(bf_event_list_to_state(list, 0), BF_RUN_PLANNED);
    ck_assert_int_eq(bf_event_list_at(list, 0), T0);
    ck_assert_int_eq(find_event(list, 0, BF_RUN_PLANNED, BF_RUN_RUNNING), T0 + 10 * SEC);
    ck_assert_int_eq(find_event(list, b_id(1), BF_BATCH_PENDING, BF_BATCH_RUNNING), T0 + 10 * SEC);
    ck_assert_int_eq(find_event(list, b_id(1), BF_BATCH_RUNNING, BF_BATCH_COMPLETED), T0 + 12 * SEC);
    ck_assert_int_eq(find_event(list, b_id(3), BF_BATCH_FAILED, BF_BATCH_SPLIT), T0 + 30 * SEC);
    ck_assert_int_eq(find_event(list, b_id(6), BF_BATCH_PENDING, BF_BATCH_CANCELLED), T0 + 40 * SEC);
    /* The last: the note. */
    ck_assert_str_eq(bf_event_list_subject(list, n - 1), "note");
    ck_assert_str_eq(bf_event_list_detail(list, n - 1), "looked at it");
    ck_assert_int_eq(bf_event_list_batch_id(list, n - 1), 0);
    ck_assert_int_eq(bf_event_list_at(list, n - 1), T0 + 50 * SEC);
    ck_assert_int_eq(bf_event_list_from_state(list, n - 1), BF_E_INVALID);
    /* b2's failure, with its message. */
    {
        int found = 0;

        for (size_t i = 0; i < n; i++)
            if (bf_event_list_batch_id(list, i) == b_id(2) &&
                bf_event_list_to_state(list, i) == BF_BATCH_FAILED) {
                ck_assert_str_eq(bf_event_list_detail(list, i), "attempt 1 of 1 failed for good: boom");
                ck_assert_int_eq(bf_event_list_at(list, i), T0 + 21 * SEC);
                found++;
            }
        ck_assert_int_eq(found, 1);
    }
    bf_event_list_free(list);
    bf_run_free(run);
}
END_TEST

/* ---- the JSON listings say what the typed ones say ---- */

static json_t *load(char *text)
{
    json_t *v = json_loads(text, JSON_DECODE_ANY, NULL);

    ck_assert_ptr_nonnull(v);
    bf_free(text);
    return v;
}

static void json_str_eq(json_t *obj, const char *key, const char *want, size_t i)
{
    json_t *v = json_object_get(obj, key);

    ck_assert_msg(v, "item %zu has no %s", i, key);
    if (!want)
        ck_assert_msg(json_is_null(v), "%s of item %zu is not null", key, i);
    else
        ck_assert_msg(json_is_string(v) && strcmp(json_string_value(v), want) == 0,
                      "%s of item %zu: not '%s'", key, i, want);
}

static void json_int_eq(json_t *obj, const char *key, int64_t want, size_t i)
{
    json_t *v = json_object_get(obj, key);

    ck_assert_msg(json_is_integer(v) && json_integer_value(v) == want,
                  "%s of item %zu: not %lld", key, i, (long long)want);
}

/* Embedded JSON: the value the text parses to. */
static void json_embedded_eq(json_t *obj, const char *key, const char *text, size_t i)
{
    json_t *want = json_loads(text, JSON_DECODE_ANY, NULL);

    ck_assert_ptr_nonnull(want);
    ck_assert_msg(json_equal(json_object_get(obj, key), want), "%s of item %zu", key, i);
    json_decref(want);
}

START_TEST(json_listings_agree_with_the_typed_ones)
{
    bf_run *run = scenario();
    bf_batch_list *batches;
    bf_event_list *events;
    bf_run_list *runs;
    json_t *array, *o;
    char *text;
    size_t i;

    ck_assert_int_eq(bf_run_batches(&batches, run, -1), BF_OK);
    ck_assert_int_eq(bf_run_batches_json(&text, run, -1), BF_OK);
    array = load(text);
    ck_assert_uint_eq(json_array_size(array), bf_batch_list_count(batches));
    json_array_foreach(array, i, o) {
        ck_assert_uint_eq(json_object_size(o), 22);
        json_int_eq(o, "id", bf_batch_list_id(batches, i), i);
        json_int_eq(o, "ordinal", bf_batch_list_ordinal(batches, i), i);
        json_str_eq(o, "label", bf_batch_list_label(batches, i), i);
        json_str_eq(o, "state", bf_batch_state_name(bf_batch_list_state(batches, i)), i);
        json_int_eq(o, "attempt", bf_batch_list_attempt(batches, i), i);
        json_int_eq(o, "token", bf_batch_list_token(batches, i), i);
        json_int_eq(o, "lo", bf_batch_list_lo(batches, i), i);
        json_int_eq(o, "hi", bf_batch_list_hi(batches, i), i);
        json_embedded_eq(o, "params", bf_batch_list_params_json(batches, i), i);
        json_int_eq(o, "parent_id", bf_batch_list_parent_id(batches, i), i);
        json_str_eq(o, "worker", bf_batch_list_worker(batches, i), i);
        json_int_eq(o, "lease_until_us", bf_batch_list_lease_until(batches, i), i);
        json_int_eq(o, "not_before_us", bf_batch_list_not_before(batches, i), i);
        json_int_eq(o, "started_at_us", bf_batch_list_started_at(batches, i), i);
        json_int_eq(o, "finished_at_us", bf_batch_list_finished_at(batches, i), i);
        ck_assert(json_real_value(json_object_get(o, "duration_s")) ==
                  (double)bf_batch_list_duration_us(batches, i) / 1e6);
        json_int_eq(o, "rows_written", bf_batch_list_rows_written(batches, i), i);
        json_int_eq(o, "rows_deleted", bf_batch_list_rows_deleted(batches, i), i);
        json_str_eq(o, "fingerprint_before", bf_batch_list_fingerprint_before(batches, i), i);
        json_str_eq(o, "fingerprint_after", bf_batch_list_fingerprint_after(batches, i), i);
        json_str_eq(o, "idempotency_key", bf_batch_list_idempotency_key(batches, i), i);
        json_str_eq(o, "error", bf_batch_list_error(batches, i), i);
    }
    json_decref(array);
    bf_batch_list_free(batches);

    ck_assert_int_eq(bf_run_events(&events, run), BF_OK);
    ck_assert_int_eq(bf_run_events_json(&text, run), BF_OK);
    array = load(text);
    ck_assert_uint_eq(json_array_size(array), bf_event_list_count(events));
    json_array_foreach(array, i, o) {
        ck_assert_uint_eq(json_object_size(o), 8);
        json_int_eq(o, "seq", bf_event_list_seq(events, i), i);
        json_int_eq(o, "batch_id", bf_event_list_batch_id(events, i), i);
        json_str_eq(o, "subject", bf_event_list_subject(events, i), i);
        json_str_eq(o, "from", bf_event_list_from(events, i), i);
        json_str_eq(o, "to", bf_event_list_to(events, i), i);
        json_str_eq(o, "actor", bf_event_list_actor(events, i), i);
        json_int_eq(o, "at_us", bf_event_list_at(events, i), i);
        json_str_eq(o, "detail", bf_event_list_detail(events, i), i);
    }
    json_decref(array);
    bf_event_list_free(events);
    bf_run_free(run);

    ck_assert_int_eq(bf_ledger_runs(&runs, ledger, NULL), BF_OK);
    ck_assert_int_eq(bf_ledger_runs_json(&text, ledger), BF_OK);
    array = load(text);
    ck_assert_uint_eq(json_array_size(array), bf_run_list_count(runs));
    json_array_foreach(array, i, o) {
        ck_assert_uint_eq(json_object_size(o), 20);
        json_int_eq(o, "id", bf_run_list_id(runs, i), i);
        json_str_eq(o, "brief", bf_run_list_brief_name(runs, i), i);
        json_int_eq(o, "seq", bf_run_list_seq(runs, i), i);
        json_str_eq(o, "state", bf_run_state_name(bf_run_list_state(runs, i)), i);
        json_str_eq(o, "plan_fingerprint", bf_run_list_plan_fingerprint(runs, i), i);
        json_str_eq(o, "dimension", bf_dimension_name(bf_run_list_dimension(runs, i)), i);
        json_str_eq(o, "column", bf_run_list_column(runs, i), i);
        json_str_eq(o, "code_version", bf_run_list_code_version(runs, i), i);
        json_str_eq(o, "operator", bf_run_list_operator(runs, i), i);
        json_embedded_eq(o, "params", bf_run_list_params_json(runs, i), i);
        json_int_eq(o, "max_concurrency", bf_run_list_max_concurrency(runs, i), i);
        json_int_eq(o, "max_attempts", bf_run_list_max_attempts(runs, i), i);
        ck_assert(json_real_value(json_object_get(o, "retry_backoff_s")) ==
                  (double)bf_run_list_retry_backoff_us(runs, i) / 1e6);
        ck_assert(json_real_value(json_object_get(o, "lease_s")) ==
                  (double)bf_run_list_lease_us(runs, i) / 1e6);
        json_int_eq(o, "batches", bf_run_list_batch_count(runs, i), i);
        json_int_eq(o, "created_at_us", bf_run_list_created_at(runs, i), i);
        json_int_eq(o, "started_at_us", bf_run_list_started_at(runs, i), i);
        json_int_eq(o, "updated_at_us", bf_run_list_updated_at(runs, i), i);
        json_int_eq(o, "finished_at_us", bf_run_list_finished_at(runs, i), i);
        json_embedded_eq(o, "brief_json", bf_run_list_brief_json(runs, i), i);
    }
    json_decref(array);
    bf_run_list_free(runs);
}
END_TEST

/* ---- out of range, bad arguments ---- */

START_TEST(indexes_out_of_range_give_null_zero_or_invalid)
{
    bf_run *run = scenario();
    bf_run_list *runs;
    bf_batch_list *batches;
    bf_event_list *events;
    size_t bad[3];

    ck_assert_int_eq(bf_ledger_runs(&runs, ledger, NULL), BF_OK);
    ck_assert_int_eq(bf_run_batches(&batches, run, -1), BF_OK);
    ck_assert_int_eq(bf_run_events(&events, run), BF_OK);
    bad[0] = bf_run_list_count(runs);
    bad[1] = bf_batch_list_count(batches);
    bad[2] = bf_event_list_count(events);
    for (int k = 0; k < 2; k++) {
        /* k == 0: one past the end, and SIZE_MAX; k == 1: a NULL listing. */
        const bf_run_list *rl = k ? NULL : runs;
        const bf_batch_list *bl = k ? NULL : batches;
        const bf_event_list *el = k ? NULL : events;

        for (int far = 0; far < 2; far++) {
            size_t ri = far ? SIZE_MAX : bad[0], bi = far ? SIZE_MAX : bad[1],
                   ei = far ? SIZE_MAX : bad[2];

            ck_assert_int_eq(bf_run_list_id(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_seq(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_state(rl, ri), BF_E_INVALID);
            ck_assert_int_eq(bf_run_list_dimension(rl, ri), 0);
            ck_assert_ptr_null(bf_run_list_brief_name(rl, ri));
            ck_assert_ptr_null(bf_run_list_plan_fingerprint(rl, ri));
            ck_assert_ptr_null(bf_run_list_column(rl, ri));
            ck_assert_ptr_null(bf_run_list_code_version(rl, ri));
            ck_assert_ptr_null(bf_run_list_operator(rl, ri));
            ck_assert_ptr_null(bf_run_list_params_json(rl, ri));
            ck_assert_ptr_null(bf_run_list_brief_json(rl, ri));
            ck_assert_int_eq(bf_run_list_max_concurrency(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_max_attempts(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_retry_backoff_us(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_lease_us(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_batch_count(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_created_at(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_started_at(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_updated_at(rl, ri), 0);
            ck_assert_int_eq(bf_run_list_finished_at(rl, ri), 0);

            ck_assert_int_eq(bf_batch_list_id(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_ordinal(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_parent_id(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_state(bl, bi), BF_E_INVALID);
            ck_assert_int_eq(bf_batch_list_dimension(bl, bi), 0);
            ck_assert_ptr_null(bf_batch_list_label(bl, bi));
            ck_assert_int_eq(bf_batch_list_lo(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_hi(bl, bi), 0);
            ck_assert_ptr_null(bf_batch_list_params_json(bl, bi));
            ck_assert_int_eq(bf_batch_list_token(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_attempt(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_lease_until(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_not_before(bl, bi), 0);
            ck_assert_ptr_null(bf_batch_list_worker(bl, bi));
            ck_assert_int_eq(bf_batch_list_started_at(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_finished_at(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_duration_us(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_rows_written(bl, bi), 0);
            ck_assert_int_eq(bf_batch_list_rows_deleted(bl, bi), 0);
            ck_assert_ptr_null(bf_batch_list_fingerprint_before(bl, bi));
            ck_assert_ptr_null(bf_batch_list_fingerprint_after(bl, bi));
            ck_assert_ptr_null(bf_batch_list_idempotency_key(bl, bi));
            ck_assert_ptr_null(bf_batch_list_error(bl, bi));

            ck_assert_int_eq(bf_event_list_seq(el, ei), 0);
            ck_assert_int_eq(bf_event_list_batch_id(el, ei), 0);
            ck_assert_ptr_null(bf_event_list_subject(el, ei));
            ck_assert_ptr_null(bf_event_list_from(el, ei));
            ck_assert_ptr_null(bf_event_list_to(el, ei));
            ck_assert_int_eq(bf_event_list_from_state(el, ei), BF_E_INVALID);
            ck_assert_int_eq(bf_event_list_to_state(el, ei), BF_E_INVALID);
            ck_assert_ptr_null(bf_event_list_actor(el, ei));
            ck_assert_int_eq(bf_event_list_at(el, ei), 0);
            ck_assert_ptr_null(bf_event_list_detail(el, ei));
        }
    }
    ck_assert_uint_eq(bf_run_list_count(NULL), 0);
    ck_assert_uint_eq(bf_batch_list_count(NULL), 0);
    ck_assert_uint_eq(bf_event_list_count(NULL), 0);
    bf_run_list_free(runs);
    bf_batch_list_free(batches);
    bf_event_list_free(events);
    bf_run_list_free(NULL);
    bf_batch_list_free(NULL);
    bf_event_list_free(NULL);

    /* Bad arguments. */
    runs = (bf_run_list *)1;
    ck_assert_int_eq(bf_ledger_runs(NULL, ledger, NULL), BF_E_INVALID);
    ck_assert_int_eq(bf_ledger_runs(&runs, NULL, NULL), BF_E_INVALID);
    ck_assert_int_eq(bf_run_batches(NULL, run, -1), BF_E_INVALID);
    ck_assert_int_eq(bf_run_batches(&batches, NULL, -1), BF_E_INVALID);
    ck_assert_int_eq(bf_run_events(NULL, run), BF_E_INVALID);
    ck_assert_int_eq(bf_run_events(&events, NULL), BF_E_INVALID);
    batches = (bf_batch_list *)1;
    ck_assert_int_eq(bf_run_batches(&batches, run, BF_BATCH_SPLIT + 1), BF_E_INVALID);
    ck_assert_ptr_null(batches);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "no batch state"));
    ck_assert_ptr_nonnull(strstr(bf_run_last_error(run), "no batch state"));
    {
        char *text = NULL;

        ck_assert_int_eq(bf_run_batches_json(&text, run, 99), BF_E_INVALID);
        ck_assert_ptr_null(text);
    }
    bf_run_free(run);
}
END_TEST

/* ---- allocation failures ---- */

struct sweep_ctx {
    bf_run *run;
    bf_run_list *runs;
    bf_batch_list *batches;
    bf_event_list *events;
    char *text;
    int which;
};

static int listing_op(void *arg)
{
    struct sweep_ctx *c = arg;

    switch (c->which) {
    case 0:
        return bf_ledger_runs(&c->runs, ledger, NULL);
    case 1:
        return bf_run_batches(&c->batches, c->run, -1);
    case 2:
        return bf_run_events(&c->events, c->run);
    case 3:
        return bf_ledger_runs_json(&c->text, ledger);
    case 4:
        return bf_run_batches_json(&c->text, c->run, -1);
    default:
        return bf_run_events_json(&c->text, c->run);
    }
}

/* A failed listing left *out NULL; a good one is complete. */
static void listing_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;

    if (c->runs)
        ck_assert_uint_eq(bf_run_list_count(c->runs), 2);
    if (c->batches)
        ck_assert_uint_eq(bf_batch_list_count(c->batches), 8);
    if (c->events)
        ck_assert_uint_gt(bf_event_list_count(c->events), 10);
    bf_run_list_free(c->runs);
    bf_batch_list_free(c->batches);
    bf_event_list_free(c->events);
    bf_free(c->text);
    c->runs = NULL;
    c->batches = NULL;
    c->events = NULL;
    c->text = NULL;
}

START_TEST(allocation_failures_in_listings_are_reported)
{
    static const char *const names[] = {"runs",      "batches",      "events",
                                        "runs_json", "batches_json", "events_json"};
    struct sweep_ctx c;

    memset(&c, 0, sizeof c);
    c.run = scenario();
    for (c.which = 0; c.which < 6; c.which++) {
        long points = failalloc_sweep(listing_op, listing_cleanup, &c);

        /* Batches and events: the listing, its arrays and a block per item at least. */
        ck_assert_msg(points >= (c.which % 3 == 0 ? 4 : 10), "%s: %ld allocation points",
                      names[c.which], points);
    }
    bf_run_free(c.run);
}
END_TEST

static Suite *listing_suite(void)
{
    Suite *s = suite_create("ledger_listing");
    TCase *tc = tcase_create("listing");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, batch_accessors_match_the_rows_and_the_scenario);
    tcase_add_test(tc, run_accessors_match_the_spec_and_the_rows);
    tcase_add_test(tc, event_accessors_follow_the_audit_log);
    tcase_add_test(tc, json_listings_agree_with_the_typed_ones);
    tcase_add_test(tc, indexes_out_of_range_give_null_zero_or_invalid);
    tcase_add_test(tc, allocation_failures_in_listings_are_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(listing_suite());
}
