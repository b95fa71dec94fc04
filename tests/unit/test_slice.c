/*
 * The test slice: representative batches of a time plan over a DST change
 * in America/New_York and a month end, run into scratch copies; the target
 * never moves; the ledger keeps a run "<brief>@test-slice" with the measured
 * batches and a slice record; a job that is not idempotent and a failing
 * check are reported as such.
 */
#include <jansson.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "bftest.h"
#include "failalloc.h"
#include "sqltest.h"

static char dir[64];
static char path[96];
static char lpath[96];
static sqlite3 *raw;

/* 2025-02-26 00:00 and 2025-03-12 00:00 in New York; 2025-03-04 12:00 there. */
#define T_START 1740546000
#define T_END 1741752000
#define T_MAR4_NOON 1741107600

static void setup(void)
{
    /*
     * In memory where the machine has it: the allocation sweep runs the slice
     * hundreds of times, and on a busy disk its syncs, not its work, took the
     * time (over two minutes, for 18 s of CPU).
     */
    strcpy(dir, "/dev/shm/bf-slice-XXXXXX");
    if (!mkdtemp(dir)) {
        strcpy(dir, "/tmp/bf-slice-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(dir));
    }
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    snprintf(lpath, sizeof lpath, "%s/ledger.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
    /*
     * src: one row an hour over the scope, and 10 more on 2025-03-04 (the
     * largest day: 34 rows; 2025-03-09 has 23 hours). t: the target, the
     * same rows; a: the same without a primary key, for the append job.
     */
    bftest_sql_exec(raw,
        "CREATE TABLE src (id INTEGER, ts INTEGER, v REAL);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n "
        "  WHERE " "1740546000 + (i + 1) * 3600 < 1741752000) "
        "INSERT INTO src SELECT i + 1, 1740546000 + i * 3600, i FROM n;"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 9) "
        "INSERT INTO src SELECT 10000 + i, 1741107600 + i, 1 FROM n;"
        "CREATE TABLE t (id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, v REAL);"
        "INSERT INTO t SELECT id, ts, v FROM src;"
        "CREATE TABLE a (id INTEGER, ts INTEGER NOT NULL, v REAL);"
        "INSERT INTO a SELECT id, ts, v FROM src;");
}

static void teardown(void)
{
    char cmd[128];

    sqlite3_close(raw);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/* A brief over the scope; `write` and `select` and `checks` vary. */
static bf_brief *brief_of(const char *name, const char *table, const char *write,
                          const char *select, const char *checks)
{
    char text[4096];
    bf_brief *b = NULL;
    int rc;

    snprintf(text, sizeof text,
             "{\"format\": \"backfill-brief/1\", \"name\": \"%s\","
             " \"reason\": \"v was half of what it should be.\","
             " \"owner\": \"ana@example.com\", \"reviewer\": \"raj@example.com\","
             " \"risk\": \"enrichment\", \"code_version\": \"git:1\","
             " \"target\": {\"table\": \"%s\", \"key\": [\"id\"], \"time_column\": \"ts\","
             "   \"time_format\": \"unix_s\"},"
             " \"sources\": [\"src\"],"
             " \"scope\": {\"time\": {\"start\": \"2025-02-26\", \"end\": \"2025-03-12\","
             "   \"timezone\": \"America/New_York\"}},"
             " \"batching\": {\"by\": \"time\", \"grain\": \"day\", \"max_concurrency\": 1},"
             " \"write\": %s,"
             " \"job\": {\"select\": \"%s\"},"
             " \"validation\": %s,"
             " \"rollback\": {\"plan\": \"pre-images\", \"retention_days\": 7,"
             "   \"owner\": \"ana@example.com\"},"
             " \"communication\": {\"stakeholders\": [\"finance\"], \"channel\": \"#data\"}}",
             name, table, write, select, checks);
    rc = bf_brief_load_json(&b, text, strlen(text));
    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    return b;
}

#define JOB "SELECT id, ts, v * 2 FROM src WHERE ts >= :start AND ts < :end"
#define CHECKS "[{\"check\": \"unique\"}, {\"check\": \"not_null\", \"columns\": [\"v\"]}]"

static bf_runner *runner_for(const bf_brief *b)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_runner *r = NULL;

    lo.durability = BF_DURABILITY_NORMAL; /* the allocation sweep runs hundreds of slices */
    o.ledger_options = &lo;
    o.ledger_path = lpath;
    o.warehouse_path = path;
    ck_assert_msg(bf_runner_new(&r, &o) == BF_OK, "%s", bf_last_error());
    ck_assert_msg(bf_runner_set_brief(r, b) == BF_OK, "%s", bf_last_error());
    return r;
}

static void fingerprint(char out[64], const char *table)
{
    bf_driver *d = NULL;
    bf_fingerprint fp;

    ck_assert_int_eq(bf_driver_open_sqlite(&d, path, 0), BF_OK);
    ck_assert_msg(bf_driver_fingerprint(&fp, d, table, NULL, 0, NULL, NULL) == BF_OK, "%s",
                  bf_last_error());
    ck_assert_int_eq(bf_fingerprint_format(out, 64, &fp), BF_OK);
    bf_driver_free(d);
}

/* No scratch, staging or snapshot table is left in the warehouse. */
static void assert_no_leftovers(void)
{
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = "
                                    "'table' AND name LIKE '%\\_\\_bf\\_%' ESCAPE '\\'"), 0);
}

/* Run a slice of `n` batches and return its JSON, parsed; *rc gets the status. */
static json_t *slice(int *rc, const bf_brief *b, size_t n)
{
    bf_runner *r = runner_for(b);
    char *text = NULL;
    json_t *o;

    *rc = bf_runner_test_slice(&text, r, n);
    ck_assert_msg(text != NULL, "no JSON: %s", bf_runner_last_error(r));
    o = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(o);
    bf_free(text);
    bf_runner_free(r);
    return o;
}

static const char *str(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

/* The progress of the slice's run (its JSON `o`), as the ledger holds it. */
static bf_progress slice_progress(const json_t *o)
{
    bf_progress p = BF_PROGRESS_INIT;
    bf_ledger *l = NULL;
    bf_run *run = NULL;

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, json_integer_value(json_object_get(o, "run"))), BF_OK);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    bf_run_free(run);
    bf_ledger_close(l);
    return p;
}

START_TEST(test_slice_chooses_representative_batches)
{
    static const char *const labels[] = {"2025-02-26", "2025-02-28", "2025-03-04", "2025-03-09",
                                         "2025-03-11"};
    static const char *const reasons[] = {"first", "month end 2025-02-28 differs from UTC",
                                          "largest: 34 rows", "DST change 2025-03-09", "last"};
    static const long long rows[] = {24, 24, 34, 23, 24};
    /* The job doubles v: the row with v = 0 (the first) stays as it is and is not written. */
    static const long long written[] = {23, 24, 34, 23, 24};
    bf_brief *b = brief_of("fix-v", "t", "{\"strategy\": \"partition_overwrite\", "
                           "\"snapshot\": true}", JOB, CHECKS);
    char before[64], after[64];
    const json_t *batch;
    json_t *o;
    size_t i;
    int rc;

    fingerprint(before, "t");
    o = slice(&rc, b, 0);
    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    ck_assert_str_eq(str(o, "format"), "backfill-test-slice/1");
    ck_assert_str_eq(str(o, "brief"), "fix-v");
    ck_assert_str_eq(str(o, "status"), "pass");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "batches")), 5);
    json_array_foreach(json_object_get(o, "batches"), i, batch) {
        ck_assert_str_eq(str(batch, "label"), labels[i]);
        ck_assert_str_eq(str(batch, "reason"), reasons[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(batch, "rows")), rows[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(batch, "rows_read")), rows[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(batch, "rows_written")), written[i]);
        ck_assert(json_is_true(json_object_get(batch, "idempotent")));
        ck_assert(json_real_value(json_object_get(batch, "duration_s")) > 0);
        ck_assert_str_eq(str(json_object_get(batch, "checks"), "status"), "pass");
        ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(batch, "checks"),
                                                            "pass")), 2);
    }
    /* 14 days of 24 hours, one of 23, and 10 more rows. */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "estimate"), "rows")),
                     14 * 24 - 1 + 10);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(o, "estimate"),
                                                        "batches")), 14);
    ck_assert(json_real_value(json_object_get(json_object_get(o, "estimate"), "seconds")) > 0);
    json_decref(o);
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT sum(v) FROM t"),
                     bftest_sql_int(raw, "SELECT sum(v) FROM src"));
    assert_no_leftovers();

    /* Seven: two more, evenly spaced, each batch once. */
    o = slice(&rc, b, 7);
    ck_assert_int_eq(rc, BF_OK);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "batches")), 7);
    {
        int spaced = 0;
        int64_t last = -1;

        json_array_foreach(json_object_get(o, "batches"), i, batch) {
            if (strcmp(str(batch, "reason"), "evenly spaced") == 0)
                spaced++;
            ck_assert_int_gt(json_integer_value(json_object_get(batch, "ordinal")), last);
            last = json_integer_value(json_object_get(batch, "ordinal"));
        }
        ck_assert_int_eq(spaced, 2);
    }
    json_decref(o);
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);

    /* One batch: the first, with every other reason it has. */
    o = slice(&rc, b, 1);
    ck_assert_int_eq(rc, BF_OK);
    ck_assert_uint_eq(json_array_size(json_object_get(o, "batches")), 1);
    ck_assert_str_eq(str(json_array_get(json_object_get(o, "batches"), 0), "reason"), "first");
    json_decref(o);
    bf_brief_free(b);
}
END_TEST

START_TEST(test_slice_recorded_in_ledger)
{
    bf_brief *b = brief_of("fix-v", "t", "{\"strategy\": \"merge\", \"snapshot\": true}",
                           JOB, CHECKS);
    bf_ledger *l = NULL;
    bf_run *run = NULL;
    bf_run_list *runs = NULL;
    bf_batch_list *batches = NULL;
    bf_event_list *ev = NULL;
    bf_validation_list *vals = NULL;
    bf_progress p = BF_PROGRESS_INIT;
    json_t *o, *rec = NULL;
    double secs = -1;
    int64_t rows = -1, run_id;
    int rc, seen = 0;

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "fix-v"), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "fix-v"));
    bf_ledger_close(l);
    l = NULL;

    o = slice(&rc, b, 5);
    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    run_id = json_integer_value(json_object_get(o, "run"));
    ck_assert_int_gt(run_id, 0);

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_ledger_runs(&runs, l, "fix-v@test-slice"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(runs), 1);
    ck_assert_int_eq(bf_run_list_id(runs, 0), run_id);
    ck_assert_int_eq(bf_run_list_state(runs, 0), BF_RUN_COMPLETED);
    bf_run_list_free(runs);
    /* The brief's own name has no run: the slice never counts as the backfill. */
    ck_assert_int_eq(bf_ledger_runs(&runs, l, "fix-v"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(runs), 0);
    bf_run_list_free(runs);
    /* Nor is it approved or rolled back: it never wrote the target. */
    {
        bf_runner *r = runner_for(b);
        char *json = NULL;

        ck_assert_int_eq(bf_runner_approve(r, run_id, "raj@example.com"), BF_E_BLOCKED);
        ck_assert_msg(strstr(bf_runner_last_error(r), "(fix-v@test-slice) is a test slice: it "
                                                      "wrote scratch copies, never the target"),
                      "%s", bf_runner_last_error(r));
        ck_assert_int_eq(bf_runner_rollback(&json, r, run_id, 0), BF_E_STATE);
        ck_assert_msg(strstr(bf_runner_last_error(r), "nothing to roll back"), "%s",
                      bf_runner_last_error(r));
        bf_free(json);
        bf_runner_free(r);
    }

    ck_assert_int_eq(bf_run_open(&run, l, run_id), BF_OK);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.total, 14);
    ck_assert_int_eq(p.validated, 5);
    ck_assert_int_eq(p.cancelled, 9);
    ck_assert_int_eq(p.rows_written, 23 + 24 + 34 + 23 + 24); /* v = 0 doubled is unchanged */

    /* Each chosen batch: its measured duration and rows, no idempotency key. */
    ck_assert_int_eq(bf_run_batches(&batches, run, BF_BATCH_VALIDATED), BF_OK);
    ck_assert_uint_eq(bf_batch_list_count(batches), 5);
    for (size_t i = 0; i < 5; i++) {
        const json_t *jb = json_array_get(json_object_get(o, "batches"), i);

        ck_assert_str_eq(bf_batch_list_label(batches, i), str(jb, "label"));
        ck_assert_int_eq(bf_batch_list_rows_written(batches, i),
                         json_integer_value(json_object_get(jb, "rows_written")));
        ck_assert_int_gt(bf_batch_list_duration_us(batches, i), 0);
        ck_assert_int_eq(bf_batch_list_duration_us(batches, i),
                         (int64_t)(json_real_value(json_object_get(jb, "duration_s")) * 1e6 +
                                   0.5));
        ck_assert_ptr_null(bf_batch_list_idempotency_key(batches, i));
    }
    bf_batch_list_free(batches);
    ck_assert_int_eq(bf_run_validations(&vals, run, -1), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vals), 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_int_eq(bf_validation_list_passed(vals, i), 1);
        ck_assert_int_eq(bf_validation_list_tally(vals, i, 0), 2);
    }
    bf_validation_list_free(vals);

    /* The slice record. */
    ck_assert_int_eq(bf_run_events(&ev, run), BF_OK);
    for (size_t i = 0; i < bf_event_list_count(ev); i++)
        if (strcmp(bf_event_list_subject(ev, i), "slice") == 0) {
            seen++;
            rec = json_loads(bf_event_list_detail(ev, i), 0, NULL);
        }
    bf_event_list_free(ev);
    ck_assert_int_eq(seen, 1);
    ck_assert_ptr_nonnull(rec);
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "batches")), 5);
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "plan_batches")), 14);
    ck_assert_int_eq(json_integer_value(json_object_get(rec, "estimate_rows")), 345);
    ck_assert_uint_eq(json_array_size(json_object_get(rec, "chosen")), 5);
    ck_assert_str_eq(str(json_array_get(json_object_get(rec, "chosen"), 3), "reason"),
                     "DST change 2025-03-09");
    ck_assert(json_is_true(json_object_get(json_array_get(json_object_get(rec, "chosen"), 3),
                                           "idempotent")));
    ck_assert(json_real_value(json_object_get(rec, "estimate_s")) ==
              json_real_value(json_object_get(json_object_get(o, "estimate"), "seconds")));

    /* The estimate a later check reads. */
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "fix-v"), BF_OK);
    ck_assert(secs == json_real_value(json_object_get(rec, "estimate_s")));
    ck_assert_int_eq(rows, 345);
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "fix-w"), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, NULL, "fix-v"), BF_E_INVALID);
    json_decref(rec);
    json_decref(o);
    bf_run_free(run);

    /* A second slice is a new run; the first stays completed. */
    o = slice(&rc, b, 2);
    ck_assert_int_eq(rc, BF_OK);
    ck_assert_int_eq(bf_ledger_runs(&runs, l, "fix-v@test-slice"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(runs), 2);
    ck_assert_int_eq(bf_run_list_state(runs, 0), BF_RUN_COMPLETED);
    ck_assert_int_eq(bf_run_list_state(runs, 1), BF_RUN_COMPLETED);
    bf_run_list_free(runs);
    json_decref(o);
    bf_ledger_close(l);
    bf_brief_free(b);
    assert_no_leftovers();
}
END_TEST

START_TEST(test_slice_not_idempotent)
{
    bf_brief *b = brief_of("append-v", "a", "{\"strategy\": \"append\", "
                           "\"allow_non_idempotent\": true}", JOB,
                           "[{\"check\": \"not_null\", \"columns\": [\"v\"]}]");
    char before[64], after[64];
    bf_ledger *l = NULL;
    bf_run_list *runs = NULL;
    const json_t *batch;
    json_t *o;
    size_t i;
    double secs;
    int64_t rows;
    int rc;

    fingerprint(before, "a");
    o = slice(&rc, b, 3);
    ck_assert_int_eq(rc, BF_E_BLOCKED);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is not idempotent"));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "2025-02-26"));
    ck_assert_str_eq(str(o, "status"), "not_idempotent");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "batches")), 3);
    json_array_foreach(json_object_get(o, "batches"), i, batch) {
        ck_assert(json_is_false(json_object_get(batch, "idempotent")));
        ck_assert_ptr_nonnull(strstr(str(batch, "idempotency"), "the rerun added"));
        ck_assert_str_eq(str(json_object_get(batch, "checks"), "status"), "pass");
    }
    json_decref(o);
    fingerprint(after, "a");
    ck_assert_str_eq(before, after);
    assert_no_leftovers();

    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_ledger_runs(&runs, l, "append-v@test-slice"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(runs), 1);
    ck_assert_int_eq(bf_run_list_state(runs, 0), BF_RUN_FAILED);
    bf_run_list_free(runs);
    /* A slice that did not pass gives no estimate. */
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "append-v"), BF_E_NOT_FOUND);
    bf_ledger_close(l);
    bf_brief_free(b);
}
END_TEST

START_TEST(test_slice_failing_check)
{
    bf_brief *b = brief_of("null-v", "t", "{\"strategy\": \"partition_overwrite\"}",
                           "SELECT id, ts, CASE WHEN id % 5 = 0 THEN NULL ELSE v END FROM src "
                           "WHERE ts >= :start AND ts < :end", CHECKS);
    char before[64], after[64];
    bf_progress p;
    json_t *o, *checks;
    int rc;

    fingerprint(before, "t");
    o = slice(&rc, b, 0);
    ck_assert_int_eq(rc, BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "validation failed: batch 2025-02-26"));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "v"));
    ck_assert_str_eq(str(o, "status"), "validation_failed");
    checks = json_object_get(json_array_get(json_object_get(o, "batches"), 0), "checks");
    ck_assert_str_eq(str(checks, "status"), "fail");
    ck_assert_int_eq(json_integer_value(json_object_get(checks, "fail")), 1);
    ck_assert_ptr_nonnull(strstr(str(checks, "failure"), "NULL"));
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);
    assert_no_leftovers();
    p = slice_progress(o);
    ck_assert_int_eq(p.state, BF_RUN_FAILED);
    ck_assert_int_eq(p.failed, 5);
    ck_assert_int_eq(p.cancelled, 9);
    json_decref(o);
    bf_brief_free(b);
}
END_TEST

/*
 * A merge job whose rows reach past its batch (an hour on either side) is
 * refused by the scratch table's publish as a run's would be:
 * the slice reports it as the batch's failure, with the refusal's sentence
 * (the batch, the rows outside its bounds), and the run fails, not cancelled.
 */
START_TEST(test_slice_reports_rows_outside_the_bounds)
{
    bf_brief *b = brief_of("wide-v", "t", "{\"strategy\": \"merge\", \"snapshot\": true}",
                           "SELECT id, ts, v * 2 FROM src WHERE ts >= :start - 3600 AND "
                           "ts < :end + 3600",
                           CHECKS);
    char before[64], after[64];
    bf_progress p;
    json_t *o, *first, *checks;
    int rc;

    fingerprint(before, "t");
    o = slice(&rc, b, 2);
    ck_assert_int_eq(rc, BF_E_VALIDATION);
    first = json_array_get(json_object_get(o, "batches"), 0);
    {
        char want[300];

        snprintf(want, sizeof want, "test slice of wide-v: validation failed: batch %s: the "
                 "publish refused the job's rows: batch %s of t__bf_slice: 1 staged rows lie "
                 "outside the batch's bounds", str(first, "label"), str(first, "label"));
        ck_assert_msg(strstr(bf_last_error(), want), "%s", bf_last_error());
    }
    ck_assert_str_eq(str(o, "status"), "validation_failed");
    checks = json_object_get(first, "checks");
    ck_assert_str_eq(str(checks, "status"), "fail");
    ck_assert_ptr_nonnull(strstr(str(checks, "failure"), "staged rows lie outside the batch's "
                                                         "bounds"));
    ck_assert_int_eq(json_integer_value(json_object_get(first, "rows_written")), 0);
    ck_assert(json_is_false(json_object_get(first, "idempotent")));
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);
    assert_no_leftovers();
    p = slice_progress(o);
    ck_assert_int_eq(p.state, BF_RUN_FAILED);
    ck_assert_int_eq(p.failed, 2);
    json_decref(o);
    bf_brief_free(b);
}
END_TEST

START_TEST(test_slice_again_after_a_failure)
{
    bf_brief *bad = brief_of("fix-v", "t", "{\"strategy\": \"partition_overwrite\"}",
                             "SELECT id, ts, NULL FROM src WHERE ts >= :start AND ts < :end",
                             CHECKS);
    bf_brief *good = brief_of("fix-v", "t", "{\"strategy\": \"partition_overwrite\"}", JOB,
                              CHECKS);
    bf_ledger *l = NULL;
    bf_run_list *runs = NULL;
    double secs = 0;
    int64_t rows = 0;
    json_t *o;
    int rc;

    o = slice(&rc, bad, 2);
    ck_assert_int_eq(rc, BF_E_VALIDATION);
    json_decref(o);
    o = slice(&rc, good, 2);
    ck_assert_int_eq(rc, BF_OK);
    json_decref(o);
    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_ledger_runs(&runs, l, "fix-v@test-slice"), BF_OK);
    ck_assert_uint_eq(bf_run_list_count(runs), 2);
    /* The failed slice is left behind, cancelled; the new one is the estimate. */
    ck_assert_int_eq(bf_run_list_state(runs, 0), BF_RUN_CANCELLED);
    ck_assert_int_eq(bf_run_list_state(runs, 1), BF_RUN_COMPLETED);
    bf_run_list_free(runs);
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "fix-v"), BF_OK);
    ck_assert_int_eq(rows, 345);
    ck_assert(secs > 0);
    bf_ledger_close(l);
    bf_brief_free(bad);
    bf_brief_free(good);
    assert_no_leftovers();
}
END_TEST

/* A host's job without a brief: a key plan, no zone, no checks. */
START_TEST(test_slice_host_job)
{
    static const char *const key[] = {"id"};
    bf_runner_options opts = BF_RUNNER_OPTIONS_INIT;
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;
    bf_planner *pl = NULL;
    bf_plan *plan = NULL;
    bf_runner *r = NULL;
    char *text = NULL, before[64], after[64];
    const json_t *batch;
    json_t *o;
    size_t i;
    static const long long ordinals[] = {0, 1, 2, 3};
    static const char *const reasons[] = {"first", "largest: 100 rows", "evenly spaced", "last"};
    static const long long rows[] = {99, 100, 100, 36};

    ck_assert_int_eq(bf_planner_new(&pl), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(pl, "id", 0, 400), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(pl, 100), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, pl), BF_OK);
    bf_planner_free(pl);
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.strategy = BF_WRITE_MERGE;
    spec.select = "SELECT id, ts, v * 2 FROM src WHERE id >= :lo AND id < :hi";
    rs.brief_name = "host-job";
    opts.ledger_path = lpath;
    opts.warehouse_path = path;
    ck_assert_int_eq(bf_runner_new(&r, &opts), BF_OK);
    ck_assert_msg(bf_runner_set_job(r, plan, &spec, &rs, NULL) == BF_OK, "%s", bf_last_error());
    fingerprint(before, "t");
    ck_assert_msg(bf_runner_test_slice(&text, r, 4) == BF_OK, "%s", bf_runner_last_error(r));
    o = json_loads(text, 0, NULL);
    ck_assert_ptr_nonnull(o);
    ck_assert_str_eq(str(o, "brief"), "host-job");
    ck_assert_uint_eq(json_array_size(json_object_get(o, "batches")), 4);
    json_array_foreach(json_object_get(o, "batches"), i, batch) {
        ck_assert_int_eq(json_integer_value(json_object_get(batch, "ordinal")), ordinals[i]);
        ck_assert_str_eq(str(batch, "reason"), reasons[i]);
        ck_assert_int_eq(json_integer_value(json_object_get(batch, "rows")), rows[i]);
        ck_assert(json_is_null(json_object_get(batch, "checks")));
        ck_assert(json_is_true(json_object_get(batch, "idempotent")));
    }
    json_decref(o);
    bf_free(text);
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);
    assert_no_leftovers();
    bf_runner_free(r);
    bf_plan_free(plan);
}
END_TEST

struct sweep {
    bf_runner *r;
    char *text;
};

static int slice_op(void *arg)
{
    struct sweep *c = arg;

    return bf_runner_test_slice(&c->text, c->r, 1);
}

static void slice_cleanup(void *arg)
{
    struct sweep *c = arg;

    bf_free(c->text);
    c->text = NULL;
}

/* Every allocation that fails makes the slice fail with BF_E_NOMEM, leaking nothing. */
START_TEST(test_slice_allocation_failures)
{
    bf_brief *b = brief_of("fix-v", "t", "{\"strategy\": \"merge\", \"snapshot\": true}",
                           JOB, CHECKS);
    struct sweep c = {NULL, NULL};
    char before[64], after[64];
    bf_ledger *l = NULL;
    double secs;
    int64_t rows;

    fingerprint(before, "t");
    c.r = runner_for(b);
    {
        long live;

        /* Warm up: the handles' caches (prepared statements) fill on the first slice. */
        ck_assert_int_eq(slice_op(&c), BF_OK);
        slice_cleanup(&c);
        live = failalloc_live();
        ck_assert_int_eq(slice_op(&c), BF_OK);
        slice_cleanup(&c);
        ck_assert_int_eq(failalloc_live() - live, 0);
    }
    ck_assert_int_gt(failalloc_sweep(slice_op, slice_cleanup, &c), 0);
    bf_runner_free(c.r);
    fingerprint(after, "t");
    ck_assert_str_eq(before, after);
    /* The last, unfailed slice cleaned up and left its estimate. */
    /*
     * A slice whose cleanup itself ran out of memory leaves its run's staging
     * and snapshot tables; the scratch tables are dropped by the next slice.
     */
    ck_assert_int_eq(bftest_sql_int(raw, "SELECT count(*) FROM sqlite_master WHERE name IN "
                                    "('t__bf_slice', 't__bf_idem')"), 0);
    ck_assert_int_eq(bf_ledger_open(&l, lpath, NULL), BF_OK);
    ck_assert_int_eq(bf_runner_slice_estimate(&secs, &rows, l, "fix-v"), BF_OK);
    ck_assert_int_eq(rows, 345);
    bf_ledger_close(l);
    bf_brief_free(b);
}
END_TEST

START_TEST(test_slice_without_a_job)
{
    bf_runner_options opts = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r = NULL;
    char *json = (char *)"unset";

    opts.ledger_path = lpath;
    opts.warehouse_path = path;
    ck_assert_int_eq(bf_runner_new(&r, &opts), BF_OK);
    ck_assert_int_eq(bf_runner_test_slice(&json, r, 0), BF_E_STATE);
    ck_assert_ptr_null(json);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "nothing to run"));
    bf_runner_free(r);
    ck_assert_int_eq(bf_runner_test_slice(NULL, NULL, 0), BF_E_INVALID);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("slice");
    TCase *tc = tcase_create("slice");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_slice_chooses_representative_batches);
    tcase_add_test(tc, test_slice_recorded_in_ledger);
    tcase_add_test(tc, test_slice_not_idempotent);
    tcase_add_test(tc, test_slice_failing_check);
    tcase_add_test(tc, test_slice_reports_rows_outside_the_bounds);
    tcase_add_test(tc, test_slice_again_after_a_failure);
    tcase_add_test(tc, test_slice_host_job);
    tcase_add_test(tc, test_slice_without_a_job);
    tcase_add_test(tc, test_slice_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
