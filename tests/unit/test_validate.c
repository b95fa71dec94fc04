#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/validator.h"
#include "bftest.h"
#include "sqltest.h"
#include "failalloc.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"
#include "ledger/sqlite_store.h"
#include "plan/plan_internal.h"
#include "validate/results_internal.h"
#include "validate/validate_internal.h"

static char dir[64], path[96];
static sqlite3 *raw;
static bf_driver *drv;
static bf_plan *plan;

static void sql(const char *text)
{
    bftest_sql_exec(raw, text);
}

static int64_t qint(const char *text)
{
    return bftest_sql_int(raw, text);
}

/* The first double of a query, bit for bit as SQLite computed it. */
static double qreal(const char *text)
{
    return bftest_sql_real(raw, text);
}

static void setup(void)
{
    static const char *const names[] = {"lo", "hi"};
    strcpy(dir, "/tmp/bf-validate-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/w.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
    sql("CREATE TABLE t (id INTEGER, grp TEXT, val REAL, note TEXT);"
        "CREATE TABLE p (id INTEGER, grp TEXT);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29)"
        " INSERT INTO t SELECT i, 'g' || (i % 3), i * 1.0, 'n' || i FROM n;"
        "INSERT INTO p SELECT id, grp FROM t WHERE id <> 3;");
    ck_assert_int_eq(bf_driver_open_sqlite(&drv, path, 0), BF_OK);
    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "id", 0), BF_OK);
    for (int i = 0; i < 3; i++) {
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = i * 10}, {.type = BF_VALUE_INT, .i = i * 10 + 10}};
        char label[32];
        snprintf(label, sizeof label, "id [%d, %d)", i * 10, i * 10 + 10);
        ck_assert_int_eq(bf__plan_add(plan, i * 10, i * 10 + 10, label, 2, names, v), BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(plan, ""), BF_OK);
}

static void teardown(void)
{
    bf_plan_free(plan);
    bf_driver_free(drv);
    sqlite3_close(raw);
    unlink(path);
    rmdir(dir);
}

static bf_validator *make(const char *check)
{
    static const char *const key[] = {"id", "grp"};
    static const char *const cols[] = {"val"};
    bf_validator *v;
    ck_assert_int_eq(bf_validator_new(&v, "t", key, 2, cols, 1), BF_OK);
    if (check)
        ck_assert_msg(bf_validator_add_check_json(v, check) == BF_OK, "%s", bf_last_error());
    return v;
}

/* Run before, `change`, after on batch 0; return the results. */
static bf_results *run(bf_validator *v, const char *change)
{
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    const bf_batch *b = bf_plan_batch(plan, 0);
    ck_assert_msg(bf_validator_before(&st, v, drv, plan, b) == BF_OK, "%s", bf_last_error());
    if (change)
        sql(change);
    ck_assert_msg(bf_validator_after(&r, v, drv, plan, b, st) == BF_OK, "%s", bf_last_error());
    bf_validation_state_free(st);
    return r;
}

/* The run's checks and results: before and after with a NULL batch. */
static bf_results *run_level(bf_validator *v, const char *change)
{
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    ck_assert_msg(bf_validator_before(&st, v, drv, plan, NULL) == BF_OK, "%s", bf_last_error());
    if (change)
        sql(change);
    ck_assert_msg(bf_validator_after(&r, v, drv, plan, NULL, st) == BF_OK, "%s", bf_last_error());
    bf_validation_state_free(st);
    return r;
}

START_TEST(unique_counts_duplicate_rows_and_null_keys)
{
    bf_validator *v = make("{\"check\": \"unique\"}");
    bf_results *r = run(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    sql("INSERT INTO t VALUES (1, 'g1', 9, 'x'), (1, 'g1', 9, 'y'), (2, NULL, 1, 'z');");
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    /* Independently: rows beyond the first of each key, plus rows with a NULL key. */
    {
        int64_t want = qint("SELECT (SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM t"
                            " WHERE id >= 0 AND id < 10 AND grp IS NOT NULL GROUP BY id, grp))"
                            " + (SELECT count(*) FROM t WHERE id >= 0 AND id < 10 AND grp IS NULL)");
        char buf[64];
        snprintf(buf, sizeof buf, "%lld duplicate rows, 1 with a NULL key", (long long)want);
        ck_assert_str_eq(bf_results_observed(r, 0), buf);
    }
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "\"g1\""));
    ck_assert_int_eq(bf_results_status(r), BF_E_VALIDATION);
    bf_results_free(r);
    bf_validator_free(v);
    v = make("{\"check\": \"unique\", \"severity\": \"warn\"}");
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_WARN);
    ck_assert_int_eq(bf_results_status(r), BF_OK);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

/* Keys are compared byte for byte, whatever the column's collation: 'x', 'X', 'x' is one repeat. */
START_TEST(unique_finds_repeats_in_a_nocase_column)
{
    static const char *const key[] = {"k"}, *const cols[] = {"v"};

    sql("CREATE TABLE u (id INTEGER, k TEXT COLLATE NOCASE, v INTEGER);"
        "INSERT INTO u VALUES (1, 'x', 1), (2, 'X', 2), (3, 'x', 3), (4, 'y', 4);"
        "CREATE TABLE ui (id INTEGER, k TEXT COLLATE NOCASE, v INTEGER);"
        "INSERT INTO ui SELECT * FROM u; CREATE INDEX ui_k ON ui (k);");
    for (int indexed = 0; indexed < 2; indexed++) {
        bf_validator *v;
        bf_results *r;

        ck_assert_int_eq(bf_validator_new(&v, indexed ? "ui" : "u", key, 1, cols, 1), BF_OK);
        ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"unique\"}"), BF_OK);
        r = run(v, NULL);
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
        ck_assert_str_eq(bf_results_observed(r, 0), "1 duplicate rows, 0 with a NULL key");
        ck_assert_str_eq(bf_results_samples_json(r, 0), "[{\"k\":\"x\",\"rows\":2}]");
        bf_results_free(r);
        bf_validator_free(v);
    }
}
END_TEST

/*
 * The runner's before-state rides on the checks' before scan
 * (bf__validator_before_capture): the same segments and fingerprints as
 * bf_diff_capture() (their JSON compared), the same checks' state. Without
 * a check that scans, nothing is captured and the caller captures.
 */
START_TEST(before_state_rides_on_the_profile_scan)
{
    static const char *const key[] = {"id", "grp"};
    const bf_batch *b = bf_plan_batch(plan, 1);

    for (int i = 0; i < 2; i++) {
        bf_validator *v = make(i == 0 ? "{\"check\": \"unchanged_columns\"}"
                                      : "{\"check\": \"unique\"}");
        bf_validation_state *st = NULL;
        bf_diff_before *fused = NULL, *plain = NULL;
        bf_results *r = NULL;
        char *a = NULL, *p = NULL;

        ck_assert_msg(bf__validator_before_capture(&st, v, drv, plan, b, key, 2, &fused) == BF_OK,
                      "%s", bf_last_error());
        if (i == 1) {
            ck_assert_ptr_null(fused);
        } else {
            ck_assert_ptr_nonnull(fused);
            ck_assert_int_eq(bf_diff_capture(&plain, drv, "t", key, 2, plan, b, NULL), BF_OK);
            ck_assert_int_eq(bf_diff_before_to_json(&a, fused), BF_OK);
            ck_assert_int_eq(bf_diff_before_to_json(&p, plain), BF_OK);
            ck_assert_str_eq(a, p);
            ck_assert_int_eq(bf_diff_before_rows(fused), 10);
            /* The checks' state is whole: the unchanged columns compare after a change. */
            sql("UPDATE t SET note = 'changed' WHERE id = 12");
            ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, b, st), BF_OK);
            ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
            bf_results_free(r);
        }
        bf_free(a);
        bf_free(p);
        bf_diff_before_free(fused);
        bf_diff_before_free(plain);
        bf_validation_state_free(st);
        bf_validator_free(v);
    }
}
END_TEST

/*
 * The segment fingerprints ride in the profile aggregate itself (' S ...'
 * in its shared form) with the same segments, rows and fingerprints as
 * bf_segment_fingerprints() beside it gives (the driver's older form):
 * for one segment, a few, more than a million (a count the header must
 * carry), and a batch without rows (no segments); by the table's leading
 * columns and by a later one.
 */
START_TEST(segments_ride_in_the_profile_aggregate)
{
    static const char *const keys[][2] = {{"id", "grp"}, {"note", NULL}};
    static const char *const names[] = {"segment", "rows", "fingerprint"};
    static const char *const sums[] = {"val"};
    static const int64_t counts[] = {1, 7, 1500000};
    bf__sql *s = bf__driver_sql(drv);

    sql("DELETE FROM t WHERE id >= 20");
    for (size_t c = 0; c < 2 * sizeof counts / sizeof *counts; c++) {
        const char *const *key = keys[c % 2];
        size_t kc = key[1] ? 2 : 1;

        for (size_t bi = 0; bi < 3; bi += 2) {
            const bf_batch *b = bf_plan_batch(plan, bi);
            bf_rows *segs[2] = {NULL, NULL};
            int64_t rows[2] = {-1, -1};

            for (int shared = 0; shared < 2; shared++) {
                bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
                bf__profile_extra extra = {NULL, NULL, key, kc, counts[c / 2], NULL, 0};
                bf_profile *p = NULL;

                spec.sum_columns = sums;
                spec.sum_count = 1;
                ck_assert_int_eq(bf__rows_new(&extra.segments, names, 3), BF_OK);
                ck_assert_int_eq(bf__profile_new(&p, &spec), BF_OK);
                s->builtin_sqlite = shared;
                ck_assert_msg(bf__sql_profile_with(s, p, &extra, "t", &spec, plan, b) == BF_OK,
                              "%lld segments, shared %d: %s", (long long)counts[c / 2], shared,
                              bf_last_error());
                s->builtin_sqlite = 1;
                segs[shared] = extra.segments;
                rows[shared] = bf_profile_rows(p);
                bf_profile_free(p);
            }
            ck_assert_int_eq(rows[0], bi == 0 ? 10 : 0);
            ck_assert_int_eq(rows[1], rows[0]);
            ck_assert_uint_eq(bf_rows_count(segs[1]), bf_rows_count(segs[0]));
            ck_assert_uint_eq(bf_rows_count(segs[0]) == 0, bi == 2);
            for (size_t r = 0; r < bf_rows_count(segs[0]); r++)
                for (size_t k = 0; k < 3; k++) {
                    bf_value x, y;

                    ck_assert_int_eq(bf_rows_value(&x, segs[0], r, k), BF_OK);
                    ck_assert_int_eq(bf_rows_value(&y, segs[1], r, k), BF_OK);
                    ck_assert_int_eq(x.type, y.type);
                    if (k < 2)
                        ck_assert_int_eq(x.i, y.i);
                    else
                        ck_assert_str_eq(x.s, y.s);
                }
            bf_rows_free(segs[0]);
            bf_rows_free(segs[1]);
        }
    }
}
END_TEST

/*
 * unique on SQLite's INTEGER PRIMARY KEY (the rowid) passes by the schema,
 * as the pass would; a primary key that is not the rowid (INTEGER PRIMARY
 * KEY DESC, a text key) may still hold NULL keys, and the pass finds them.
 */
START_TEST(unique_on_the_rowid_and_on_other_primary_keys)
{
    static const char *const ddl[] = {"id INTEGER PRIMARY KEY, v", "id INTEGER PRIMARY KEY DESC, v",
                                      "id TEXT PRIMARY KEY, v"};
    static const char *const key[] = {"id"};

    for (int i = 0; i < 3; i++) {
        char q[200];
        bf_validator *v;
        bf_results *r = NULL;

        snprintf(q, sizeof q, "DROP TABLE IF EXISTS k; CREATE TABLE k (%s);"
                 "INSERT INTO k VALUES (1, 'a'), (2, 'b'), (3, 'c')", ddl[i]);
        sql(q);
        if (i > 0)
            sql("INSERT INTO k VALUES (NULL, 'null key')");
        ck_assert_int_eq(bf_validator_new(&v, "k", key, 1, NULL, 0), BF_OK);
        ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"unique\", "
                                                        "\"per\": \"run\"}"), BF_OK);
        /* The whole table: no plan. */
        ck_assert_msg(bf_validator_after(&r, v, drv, NULL, NULL, NULL) == BF_OK, "%s",
                      bf_last_error());
        if (i == 0) {
            ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
            ck_assert_str_eq(bf_results_observed(r, 0), "0 duplicate rows, 0 with a NULL key");
        } else {
            ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
            ck_assert_str_eq(bf_results_observed(r, 0), "1 duplicate rows, 1 with a NULL key");
        }
        bf_results_free(r);
        bf_validator_free(v);
    }
}
END_TEST

START_TEST(not_null_and_row_count_share_a_scan)
{
    bf_validator *v = make("{\"check\": \"not_null\", \"columns\": [\"val\", \"note\"], \"max_rate\": 0.15}");
    bf_results *r;
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"row_count\", \"min\": 5, \"max\": 10}"), BF_OK);
    r = run(v, "UPDATE t SET note = NULL WHERE id = 4");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_PASS);
    ck_assert_str_eq(bf_results_observed(r, 1), "10 rows");
    bf_results_free(r);
    r = run(v, "UPDATE t SET note = NULL WHERE id IN (5, 6); INSERT INTO t VALUES (7, 'g', 1, 'n')");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_FAIL);
    ck_assert_int_eq(qint("SELECT count(*) FROM t WHERE id < 10 AND note IS NULL"), 3);
    ck_assert_ptr_nonnull(strstr(bf_results_observed(r, 0), "note: 3 of 11 NULL"));
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

/*
 * The runner's after fingerprint rides on the checks' profile scan
 * (bf__validator_after_fp): the same value as bf_driver_fingerprint() of
 * the batch, every column, the change included; the same results as
 * bf_validator_after. Without a check that scans, the caller measures it.
 */
START_TEST(after_fingerprint_rides_on_the_profile_scan)
{
    static const char *const checks[] = {"{\"check\": \"unchanged_columns\"}",
                                         "{\"check\": \"row_count\", \"min\": 1}",
                                         "{\"check\": \"metric\", \"expr\": \"SUM(val)\"}"};
    const bf_batch *b = bf_plan_batch(plan, 0);

    for (size_t i = 0; i < 3; i++) {
        bf_validator *v = make(checks[i]);
        bf_validation_state *st = NULL;
        bf_results *r = NULL, *plain = NULL;
        bf_fingerprint all, want;
        char *a = NULL, *p = NULL;
        int measured = -1;

        ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, b), BF_OK);
        sql("UPDATE t SET val = val + 1, note = NULL WHERE id = 4");
        ck_assert_msg(bf__validator_after_fp(&r, v, drv, plan, b, st, &all, &measured) == BF_OK,
                      "%s", bf_last_error());
        ck_assert_int_eq(measured, 1);
        ck_assert_int_eq(bf_driver_fingerprint(&want, drv, "t", NULL, 0, plan, b), BF_OK);
        ck_assert(bf_fingerprint_equal(&all, &want));
        ck_assert_int_eq(all.rows, 10);
        ck_assert_int_eq(bf_validator_after(&plain, v, drv, plan, b, st), BF_OK);
        ck_assert_int_eq(bf_results_to_json(&a, r), BF_OK);
        ck_assert_int_eq(bf_results_to_json(&p, plain), BF_OK);
        ck_assert_str_eq(a, p);
        bf_free(a);
        bf_free(p);
        bf_results_free(r);
        bf_results_free(plain);
        bf_validation_state_free(st);
        bf_validator_free(v);
    }
    {
        bf_validator *v = make("{\"check\": \"unique\"}");
        bf_results *r = NULL;
        bf_fingerprint all;
        int measured = -1;

        ck_assert_int_eq(bf__validator_after_fp(&r, v, drv, plan, b, NULL, &all, &measured),
                         BF_OK);
        ck_assert_int_eq(measured, 0);
        bf_results_free(r);
        bf_validator_free(v);
    }
    /* A batch left without rows: the fingerprint of no rows. */
    {
        bf_validator *v = make("{\"check\": \"row_count\"}");
        const bf_batch *b1 = bf_plan_batch(plan, 1);
        bf_results *r = NULL;
        bf_fingerprint all, want;
        int measured = -1;

        sql("DELETE FROM t WHERE id >= 10 AND id < 20");
        ck_assert_int_eq(bf__validator_after_fp(&r, v, drv, plan, b1, NULL, &all, &measured),
                         BF_OK);
        ck_assert_int_eq(measured, 1);
        ck_assert_int_eq(bf_driver_fingerprint(&want, drv, "t", NULL, 0, plan, b1), BF_OK);
        ck_assert(bf_fingerprint_equal(&all, &want));
        ck_assert_int_eq(all.rows, 0);
        bf_results_free(r);
        bf_validator_free(v);
    }
}
END_TEST

/*
 * Names are matched as SQL matches them, whatever the case: unchanged_columns
 * leaves out target.columns spelled VAL for the column val (it counted val
 * as unchanged before, and failed on the very change it is there for), and a
 * metric's SUM(VAL) and avg(Val) read the profile's sums and NULL counts like
 * SUM(val) (they read 0 before), equal to SQL's own value.
 */
START_TEST(metric_columns_are_matched_as_sql_matches_names)
{
    static const char *const exprs[] = {"SUM(VAL)", "avg(Val)", "sum(val)"};
    static const char *const sqls[] = {"SELECT sum(val) FROM t WHERE id >= 0 AND id < 10",
                                       "SELECT avg(val) FROM t WHERE id >= 0 AND id < 10",
                                       "SELECT sum(val) FROM t WHERE id >= 0 AND id < 10"};

    /* target.columns spelled otherwise than the table: val is still the column written. */
    {
        static const char *const key[] = {"id"}, *const cols[] = {"VAL"};
        bf_validator *v;
        bf_results *r;

        ck_assert_int_eq(bf_validator_new(&v, "t", key, 1, cols, 1), BF_OK);
        ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"unchanged_columns\"}"),
                         BF_OK);
        r = run(v, "UPDATE t SET val = val + 1 WHERE id = 2");
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
        bf_results_free(r);
        r = run(v, "UPDATE t SET note = 'moved' WHERE id = 2");
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
        bf_results_free(r);
        bf_validator_free(v);
    }
    sql("UPDATE t SET val = NULL WHERE id = 3");
    for (size_t i = 0; i < 3; i++) {
        char check[200], want_text[100];
        double want[2];
        bf_validator *v;
        bf_results *r;
        bf_value got;

        want[0] = qreal(sqls[i]);
        snprintf(check, sizeof check, "{\"check\": \"metric\", \"expr\": \"%s\", "
                 "\"expect_delta\": {\"min\": 0, \"max\": 100}}", exprs[i]);
        v = make(check);
        ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"row_count\"}"), BF_OK);
        r = run(v, "UPDATE t SET val = val + 10 WHERE id = 4");
        want[1] = qreal(sqls[i]);
        ck_assert(want[0] > 0 && want[1] > want[0]);
        snprintf(want_text, sizeof want_text, "%.10g -> %.10g (", want[0], want[1]);
        ck_assert_msg(strncmp(bf_results_observed(r, 0), want_text, strlen(want_text)) == 0,
                      "%s: %s, SQL %s", exprs[i], bf_results_observed(r, 0), want_text);
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
        /* A sum's value after, exactly as SQL gives it (what the runner's explanation takes). */
        if (i != 1) {
            ck_assert_int_eq(bf__results_total(&got, r, 0), BF_OK);
            ck_assert_int_eq(got.type, BF_VALUE_REAL);
            ck_assert_msg(got.r == want[1], "%s: %.17g, SQL %.17g", exprs[i], got.r, want[1]);
        }
        bf_results_free(r);
        bf_validator_free(v);
    }
}
END_TEST

START_TEST(metric_compares_before_and_after)
{
    bf_validator *v = make("{\"check\": \"metric\", \"expr\": \"SUM(val)\", \"expect_delta_pct\": {\"min\": 0, \"max\": 10}}");
    bf_results *r = run(v, "UPDATE t SET val = val * 1.05 WHERE id < 10");
    char *json = NULL;
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_int_eq(bf_results_to_json(&json, r), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"contributions\": \"see diff\""));
    bf_free(json);
    bf_results_free(r);
    r = run(v, "UPDATE t SET val = val * 2 WHERE id < 10");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    bf_results_free(r);
    bf_validator_free(v);
    v = make("{\"check\": \"metric\", \"expr\": \"max(val) - min(val)\", \"expect_delta\": {\"min\": 0, \"max\": 0}, \"group_by\": [\"grp\"]}");
    r = run(v, "UPDATE t SET val = 100 WHERE id = 4");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "g1"));
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(unchanged_columns_compare_fingerprints)
{
    bf_validator *v = make("{\"check\": \"unchanged_columns\"}");
    bf_results *r = run(v, "UPDATE t SET val = 7 WHERE id = 3");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    r = run(v, "UPDATE t SET note = 'changed' WHERE id = 3");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_msg(strstr(bf_results_message(r, 0), "check unchanged_columns: columns outside "
                         "target.columns of table t changed in batch "),
                  "%s", bf_results_message(r, 0));
    bf_results_free(r);
    /* A change outside the batch is not read. */
    r = run(v, "UPDATE t SET note = 'changed' WHERE id = 25");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    bf_validator_free(v);
    /* Columns named, even ones the backfill writes: the sentence names them. */
    v = make("{\"check\": \"unchanged_columns\", \"columns\": [\"val\", \"note\"]}");
    r = run(v, "UPDATE t SET val = 8 WHERE id = 3");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_msg(strstr(bf_results_message(r, 0), "check unchanged_columns: columns val, note of "
                         "table t changed in batch "), "%s", bf_results_message(r, 0));
    bf_results_free(r);
    bf_validator_free(v);
    v = make("{\"check\": \"unchanged_columns\", \"columns\": [\"val\"]}");
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_msg(strstr(bf_results_message(r, 0), "check unchanged_columns: column val of table t "
                         "is unchanged in batch "), "%s", bf_results_message(r, 0));
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(references_sql_records_completeness_footprint)
{
    bf_validator *v = make("{\"check\": \"references\", \"columns\": [\"id\", \"grp\"], \"parent\": \"p\", \"parent_columns\": [\"id\", \"grp\"]}");
    bf_results *r;
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"sql\", \"query\": \"SELECT id FROM t WHERE id >= :lo AND id < :hi AND val < 0\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"records\", \"expect\": [{\"key\": [5, \"g2\"], \"before\": {\"val\": 5}, \"after\": {\"val\": 6}}]}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"completeness\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"footprint\", \"max_growth_pct\": 1000}"), BF_OK);
    sql("UPDATE t SET grp = NULL WHERE id = 8");
    r = run(v, "UPDATE t SET val = 6 WHERE id = 5; UPDATE t SET val = -1 WHERE id = 9");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_str_eq(bf_results_observed(r, 0), "1 orphan rows, 1 skipped with a NULL reference");
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_FAIL);
    ck_assert_str_eq(bf_results_samples_json(r, 1), "[{\"0\":9}]");
    ck_assert_int_eq(bf_results_outcome(r, 2), BF_OUTCOME_PASS);
    ck_assert_int_eq(bf_results_outcome(r, 3), BF_OUTCOME_PASS);
    ck_assert_int_eq(bf_results_outcome(r, 4), BF_OUTCOME_PASS);
    bf_results_free(r);
    r = run(v, "UPDATE t SET val = 8 WHERE id = 5; DELETE FROM t WHERE id = 2");
    ck_assert_int_eq(bf_results_outcome(r, 2), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 2), "\"actual\":8"));
    ck_assert_int_eq(bf_results_outcome(r, 3), BF_OUTCOME_FAIL);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

/* An sql check reads: a statement that would change the warehouse is refused before anything runs. */
START_TEST(an_sql_check_never_changes_the_warehouse)
{
    static const char *const writes[] = {
        "DELETE FROM t", "UPDATE t SET val = 0 RETURNING id", "DROP TABLE p",
        "INSERT INTO p VALUES (99, 'x') RETURNING id", "SELECT 1; DELETE FROM t",
    };
    bf_validation_state *st = NULL;
    bf_validator *v;
    bf_results *r;

    for (size_t i = 0; i < sizeof writes / sizeof *writes; i++) {
        char check[256];

        snprintf(check, sizeof check, "{\"check\": \"sql\", \"query\": \"%s\"}", writes[i]);
        v = make(check);
        ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, bf_plan_batch(plan, 0)),
                         BF_E_INVALID);
        ck_assert_msg(strstr(bf_last_error(), "check sql: the query does not prepare: ") &&
                          strstr(bf_last_error(), "it reads and never changes the warehouse"),
                      "%s: %s", writes[i], bf_last_error());
        ck_assert_ptr_null(st);
        bf_validator_free(v);
    }
    ck_assert_int_eq(qint("SELECT count(*) FROM t"), 30);
    ck_assert_int_eq(qint("SELECT count(*) FROM t WHERE val = 0"), 1);
    ck_assert_int_eq(qint("SELECT count(*) FROM p"), 29);
    /* A query ending in a semicolon or a comment still runs as written. */
    for (int i = 0; i < 2; i++) {
        v = make(i ? "{\"check\": \"sql\", \"query\": \"SELECT id FROM t WHERE id >= :lo AND "
                     "id < :hi AND val > 7 -- the big ones\"}"
                   : "{\"check\": \"sql\", \"query\": \"SELECT id FROM t WHERE id >= :lo AND "
                     "id < :hi AND val > 7 ;  \"}");
        r = run(v, NULL);
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
        ck_assert_str_eq(bf_results_observed(r, 0), "2 rows");
        bf_results_free(r);
        bf_validator_free(v);
    }
}
END_TEST

/*
 * A named record that no row holds, before or after, is a mismatch naming its key where it
 * belongs: in the batch whose bounds hold its key, or in the run. A record of another batch
 * is left to that batch.
 */
START_TEST(records_name_a_key_that_no_row_holds)
{
    bf_validator *v = make("{\"check\": \"records\", \"expect\": [{\"key\": [5, \"g9\"],"
                           " \"after\": {\"val\": 5}}]}");
    bf_results *r = run(v, NULL);

    /* id 5 lies in batch 0, and no row has grp 'g9'. */
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_str_eq(bf_results_message(r, 0),
                     "check records: table t has no row with key (5, 'g9') in batch id [0, 10), "
                     "before or after");
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "(no row)"));
    bf_results_free(r);
    r = run_level(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_str_eq(bf_results_message(r, 0),
                     "check records: table t has no row with key (5, 'g9') in the run, "
                     "before or after");
    bf_results_free(r);
    bf_validator_free(v);

    /* id 15 is batch 1's: batch 0 leaves it, whether or not a row holds it; the run does not. */
    v = make("{\"check\": \"records\", \"expect\": [{\"key\": [15, \"g0\"], \"after\":"
             " {\"val\": 15}}, {\"key\": [16, \"zz\"], \"after\": {\"val\": 1}},"
             " {\"key\": [17, \"yy\"], \"after\": {\"val\": 1}}]}");
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_str_eq(bf_results_observed(r, 0), "no named record here");
    bf_results_free(r);
    r = run_level(v, NULL);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_str_eq(bf_results_message(r, 0),
                     "check records: table t has no row with key (16, 'zz') in the run, before or "
                     "after (and 1 more named records: see samples)");
    ck_assert_ptr_null(strstr(bf_results_samples_json(r, 0), "15"));
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "17"));
    bf_results_free(r);
    bf_validator_free(v);

    /* A record the batch inserts is the batch's, and found. */
    v = make("{\"check\": \"records\", \"expect\": [{\"key\": [7, \"new\"], \"after\":"
             " {\"val\": 70}}]}");
    r = run(v, "INSERT INTO t VALUES (7, 'new', 70, 'n')");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_str_eq(bf_results_message(r, 0),
                     "check records: named records in table t in batch id [0, 10) show the "
                     "expected values");
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

/*
 * With a check that scans the batch anyway, a references check's counts
 * ride on that scan (bf__sql_profile_with's probes): the same outcome and
 * words as the check's own queries, orphans found (their samples then come
 * from the check's own query), NULL references skipped and counted, a table
 * that references itself, and a batch without rows.
 */
START_TEST(references_counts_ride_on_the_profile_scan)
{
    static const char *const refs[] = {
        "{\"check\": \"references\", \"columns\": [\"id\", \"grp\"], \"parent\": \"p\", "
        "\"parent_columns\": [\"id\", \"grp\"]}",
        "{\"check\": \"references\", \"columns\": [\"id\"], \"parent\": \"t\", "
        "\"parent_columns\": [\"val\"]}",
    };
    static const char *const changes[] = {
        NULL,
        "UPDATE t SET grp = NULL WHERE id = 8",
        "UPDATE t SET grp = 'nope' WHERE id IN (4, 6)",
        "DELETE FROM p WHERE id = 7; UPDATE t SET val = 100 + id WHERE id IN (1, 2)",
        "DELETE FROM t WHERE id < 10",
    };
    const bf_batch *b = bf_plan_batch(plan, 0);

    for (size_t c = 0; c < sizeof changes / sizeof *changes; c++) {
        if (changes[c])
            sql(changes[c]);
        for (size_t i = 0; i < sizeof refs / sizeof *refs; i++) {
            bf_validator *alone = make(refs[i]), *shared = make(refs[i]);
            bf_results *ra, *rs;
            char *ja = NULL, *js = NULL;

            /* row_count makes the after phase scan the batch; references comes first in both. */
            ck_assert_int_eq(bf_validator_add_check_json(shared, "{\"check\": \"row_count\"}"),
                             BF_OK);
            ra = run(alone, NULL);
            rs = run(shared, NULL);
            ck_assert_int_eq(bf_results_outcome(rs, 0), bf_results_outcome(ra, 0));
            ck_assert_str_eq(bf_results_observed(rs, 0), bf_results_observed(ra, 0));
            ck_assert_str_eq(bf_results_samples_json(rs, 0), bf_results_samples_json(ra, 0));
            ck_assert_int_eq(bf_results_to_json(&ja, ra), BF_OK);
            ck_assert_int_eq(bf_results_to_json(&js, rs), BF_OK);
            ck_assert_ptr_nonnull(strstr(js, "\"references\""));
            bf_free(ja);
            bf_free(js);
            bf_results_free(ra);
            bf_results_free(rs);
            bf_validator_free(alone);
            bf_validator_free(shared);
        }
    }
    /* The counts themselves, from the scan alone, against SQL written out. */
    sql("INSERT INTO t VALUES (1, 'g1', 1, 'a'), (2, NULL, 2, 'b'), (3, 'g0', 3, 'c'),"
        " (5, 'g2', NULL, 'd'), (6, 'g0', 99, 'e')");
    {
        static const char *const cols[] = {"id", "grp"}, *const self[] = {"val"},
                                 *const selfp[] = {"id"};
        bf__orphan_probe probes[2] = {{cols, cols, 2, "p", -1, -1}, {self, selfp, 1, "t", -1, -1}};
        bf__profile_extra extra = {NULL, NULL, NULL, 0, 0, probes, 2};
        bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
        bf_profile *prof = NULL;

        ck_assert_int_eq(bf__profile_new(&prof, &spec), BF_OK);
        ck_assert_msg(bf__sql_profile_with(bf__driver_sql(drv), prof, &extra, "t", &spec, plan, b)
                      == BF_OK, "%s", bf_last_error());
        ck_assert_int_eq(bf_profile_rows(prof), 5);
        ck_assert_int_eq(probes[0].nulls, 1);
        ck_assert_int_eq(probes[0].orphans,
                         qint("SELECT count(*) FROM t c WHERE id < 10 AND id IS NOT NULL AND grp "
                              "IS NOT NULL AND NOT EXISTS (SELECT 1 FROM p WHERE p.id = c.id "
                              "AND p.grp = c.grp)"));
        ck_assert_int_eq(probes[1].nulls, 1);
        ck_assert_int_eq(probes[1].orphans,
                         qint("SELECT count(*) FROM t c WHERE id < 10 AND val IS NOT NULL AND "
                              "NOT EXISTS (SELECT 1 FROM t q WHERE q.id = c.val)"));
        ck_assert_int_gt(probes[1].orphans, 0);
        bf_profile_free(prof);
    }
    /*
     * A parent keyed by its rowid is joined to the scan rather than looked
     * up row by row; other single keys are not. Same counts every way, and
     * no row of the batch counted twice.
     */
    {
        static const char *const parents[] = {
            "CREATE TABLE pp (k INTEGER PRIMARY KEY, x TEXT)",
            "CREATE TABLE pp (k INTEGER PRIMARY KEY DESC, x TEXT)",
            "CREATE TABLE pp (k INT PRIMARY KEY, x TEXT)",
            "CREATE TABLE pp (k INTEGER PRIMARY KEY, x TEXT) WITHOUT ROWID",
            "CREATE TABLE pp (k TEXT PRIMARY KEY, x TEXT)",
        };
        static const char *const child[] = {"val"}, *const key[] = {"k"};

        for (size_t i = 0; i < sizeof parents / sizeof *parents; i++) {
            bf__orphan_probe probe = {child, key, 1, "pp", -1, -1};
            bf__profile_extra extra = {NULL, NULL, NULL, 0, 0, &probe, 1};
            bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
            bf_profile *prof = NULL;
            bf_validator *alone = make("{\"check\": \"references\", \"columns\": [\"val\"], "
                                       "\"parent\": \"pp\", \"parent_columns\": [\"k\"]}");
            bf_validator *shared = make("{\"check\": \"references\", \"columns\": [\"val\"], "
                                        "\"parent\": \"pp\", \"parent_columns\": [\"k\"]}");
            bf_results *ra, *rs;

            sql("DROP TABLE IF EXISTS pp");
            sql(parents[i]);
            /* 1 has a parent (1.0 as t.val holds it); 2, 3 and 99 have none; one is NULL. */
            sql("INSERT INTO pp VALUES (1, 'one'), (4, 'four')");
            ck_assert_int_eq(bf__profile_new(&prof, &spec), BF_OK);
            ck_assert_msg(bf__sql_profile_with(bf__driver_sql(drv), prof, &extra, "t", &spec, plan,
                                               b) == BF_OK, "%s: %s", parents[i], bf_last_error());
            ck_assert_int_eq(bf_profile_rows(prof), 5);
            ck_assert_int_eq(probe.nulls, 1);
            ck_assert_int_eq(probe.orphans,
                             qint("SELECT count(*) FROM t c WHERE id < 10 AND val IS NOT NULL AND "
                                  "NOT EXISTS (SELECT 1 FROM pp WHERE pp.k = c.val)"));
            ck_assert_int_eq(probe.orphans, 3);
            bf_profile_free(prof);
            ck_assert_int_eq(bf_validator_add_check_json(shared, "{\"check\": \"row_count\"}"),
                             BF_OK);
            ra = run(alone, NULL);
            rs = run(shared, NULL);
            ck_assert_int_eq(bf_results_outcome(rs, 0), bf_results_outcome(ra, 0));
            ck_assert_int_eq(bf_results_outcome(rs, 0), BF_OUTCOME_FAIL);
            ck_assert_str_eq(bf_results_observed(rs, 0), bf_results_observed(ra, 0));
            ck_assert_str_eq(bf_results_samples_json(rs, 0), bf_results_samples_json(ra, 0));
            bf_results_free(ra);
            bf_results_free(rs);
            bf_validator_free(alone);
            bf_validator_free(shared);
        }
    }
}
END_TEST

/*
 * One profile of batch 0 (10 rows, one NULL ref) on driver d with only the
 * references probe of t.ref to pk.k: its counts are SQL's own, `orphans`;
 * the connection's counted probes and remembered ones are then as given.
 */
static void probe_expect(bf_driver *d, unsigned long counted, size_t memo, int64_t orphans)
{
    static const char *const child[] = {"ref"}, *const key[] = {"k"};
    bf__orphan_probe probe = {child, key, 1, "pk", -1, -1};
    bf__profile_extra extra = {NULL, NULL, NULL, 0, 0, &probe, 1};
    bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
    bf_profile *prof = NULL;
    bf__sql *s = bf__driver_sql(d);

    ck_assert_int_eq(bf__profile_new(&prof, &spec), BF_OK);
    ck_assert_msg(bf__sql_profile_with(s, prof, &extra, "t", &spec, plan, bf_plan_batch(plan, 0))
                  == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_profile_rows(prof), 10);
    bf_profile_free(prof);
    ck_assert_int_eq(probe.nulls, 1);
    ck_assert_int_eq(probe.orphans,
                     qint("SELECT count(*) FROM t c WHERE id >= 0 AND id < 10 AND ref IS NOT NULL "
                          "AND NOT EXISTS (SELECT 1 FROM pk WHERE pk.k = c.ref)"));
    ck_assert_int_eq(probe.orphans, orphans);
    ck_assert_uint_eq(s->probes_counted, counted);
    ck_assert_uint_eq(s->probe_memo_count, memo);
}

/*
 * With the built-in driver, a references probe to a parent keyed by its
 * rowid is counted by the profile aggregate itself: it keeps the child's
 * integers and reads a small parent once. Its counts are the join's (here
 * SQL's own NOT EXISTS) on the keys that make a set go wrong: a key held by
 * several rows, negative keys, the least and the greatest integer, NULLs.
 * A parent too large to read, or a child value that is not an integer,
 * leaves it to the join: the same counts, and the connection then joins to
 * that parent from the start.
 */
START_TEST(references_counted_by_the_profile_match_the_join)
{
    unsigned long counted = bf__driver_sql(drv)->probes_counted;
    bf_driver *fresh = NULL;

    sql("ALTER TABLE t ADD COLUMN ref INTEGER;"
        "UPDATE t SET ref = CASE id WHEN 0 THEN 1 WHEN 1 THEN 1 WHEN 2 THEN 2 WHEN 3 THEN NULL"
        " WHEN 4 THEN -5 WHEN 5 THEN -9223372036854775808 WHEN 6 THEN 9223372036854775807"
        " WHEN 7 THEN 7 WHEN 8 THEN 4 ELSE 4 END;"
        "CREATE TABLE pk (k INTEGER PRIMARY KEY, x TEXT);"
        "INSERT INTO pk VALUES (1, 'a'), (4, 'b'), (-5, 'c'), (-9223372036854775808, 'd'),"
        " (9223372036854775806, 'e'), (3, 'f');");
    probe_expect(drv, counted + 1, 0, 3); /* 2, 7 and the greatest integer */
    /* Every row's key found, and every row's key gone. */
    sql("INSERT INTO pk VALUES (2, 'g'), (7, 'h'), (9223372036854775807, 'i')");
    probe_expect(drv, counted + 2, 0, 0);
    sql("DELETE FROM pk");
    probe_expect(drv, counted + 3, 0, 9);

    /* A parent of more than 4 keys per row scanned and 1024 more: the join counts, then joins. */
    sql("INSERT INTO pk VALUES (1, 'a'), (4, 'b');"
        "WITH RECURSIVE n(i) AS (SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 1200)"
        " INSERT INTO pk SELECT i, 'x' FROM n;");
    probe_expect(drv, counted + 3, 1, 5);
    sql("DELETE FROM pk WHERE k >= 100");
    probe_expect(drv, counted + 3, 1, 5); /* remembered: joined from the start */

    /* A new connection counts again; text or a real in the child leaves it to the join. */
    ck_assert_int_eq(bf_driver_open_sqlite(&fresh, path, 0), BF_OK);
    counted = bf__driver_sql(fresh)->probes_counted;
    probe_expect(fresh, counted + 1, 0, 5);
    sql("UPDATE t SET ref = 'x' WHERE id = 2; UPDATE t SET ref = 4.5 WHERE id = 7");
    probe_expect(fresh, counted + 1, 1, 5);
    bf_driver_free(fresh);
}
END_TEST

/*
 * A probe keeps at most 2^18 - 1 distinct integers of the child (8 MB):
 * a scan with more leaves the count to the join, with the same counts.
 */
START_TEST(references_with_more_child_values_than_kept_are_joined)
{
    static const char *const child[] = {"ref"}, *const key[] = {"k"};
    static const int64_t values[] = {200000, 300000};
    bf__sql *s = bf__driver_sql(drv);

    sql("CREATE TABLE pk (k INTEGER PRIMARY KEY);"
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)"
        " INSERT INTO pk SELECT i * 7 FROM n;");
    for (size_t v = 0; v < sizeof values / sizeof *values; v++) {
        char text[200];
        bf__orphan_probe probe = {child, key, 1, "pk", -1, -1};
        bf__profile_extra extra = {NULL, NULL, NULL, 0, 0, &probe, 1};
        bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
        bf_profile *prof = NULL;
        unsigned long counted = s->probes_counted;
        size_t memo = s->probe_memo_count;

        snprintf(text, sizeof text,
                 "DROP TABLE IF EXISTS big; CREATE TABLE big (ref INTEGER);"
                 "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %lld)"
                 " INSERT INTO big SELECT i FROM n;", (long long)values[v]);
        sql(text);
        ck_assert_int_eq(bf__profile_new(&prof, &spec), BF_OK);
        ck_assert_msg(bf__sql_profile_with(s, prof, &extra, "big", &spec, NULL, NULL) == BF_OK,
                      "%s", bf_last_error());
        ck_assert_int_eq(bf_profile_rows(prof), values[v]);
        bf_profile_free(prof);
        ck_assert_int_eq(probe.nulls, 0);
        ck_assert_int_eq(probe.orphans, qint("SELECT count(*) FROM big WHERE NOT EXISTS "
                                             "(SELECT 1 FROM pk WHERE k = ref)"));
        ck_assert_int_eq(probe.orphans, values[v] - 1000);
        ck_assert_uint_eq(s->probes_counted, counted + (values[v] < 262144));
        ck_assert_uint_eq(s->probe_memo_count, memo + (values[v] >= 262144));
    }
}
END_TEST

START_TEST(bad_input_is_a_clear_error)
{
    bf_validator *v = make("{\"check\": \"not_null\", \"columns\": [\"nope\"]}");
    bf_validation_state *st = NULL;
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, bf_plan_batch(plan, 0)), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "nope"));
    ck_assert_ptr_null(st);
    bf_validator_free(v);
    v = make("{\"check\": \"sql\", \"query\": \"SELEC nonsense\"}");
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, bf_plan_batch(plan, 0)), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "does not prepare"));
    bf_validator_free(v);
    v = make("{\"check\": \"metric\", \"expr\": \"SUM(note)\", \"expect_delta\": {\"min\": 0, \"max\": 0}}");
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, bf_plan_batch(plan, 0)), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "not numeric"));
    bf_validator_free(v);
    v = make("{\"check\": \"metric\", \"expr\": \"max(note)\", \"expect_delta\": {\"min\": 0, \"max\": 0}}");
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, bf_plan_batch(plan, 0)), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "not numeric"));
    bf_validator_free(v);
    ck_assert_int_eq(qint("SELECT count(*) FROM t"), 30);
}
END_TEST

START_TEST(coverage_and_expected_rows_in_the_run)
{
    bf_validator *v = make(NULL);
    size_t ord[] = {0, 1};
    int64_t rows[] = {10, 9};
    bf_results *r = NULL;
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"coverage\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_set_expected_rows(v, 10, 20), BF_OK);
    ck_assert_int_eq(bf_validator_set_written(v, ord, rows, 2), BF_OK);
    ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "id [20, 30)"));
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "\"rows_written\":9"));
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_FAIL); /* 30 rows > 20 */
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(run_checks_read_only_the_plans_scope)
{
    bf_validator *v = make("{\"check\": \"row_count\", \"per\": \"run\", \"min\": 30, \"max\": 30}");
    bf_results *r;
    char want[96];
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"unique\", \"per\": \"run\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"not_null\", \"per\": \"run\", \"columns\": [\"note\"]}"), BF_OK);
    ck_assert_int_eq(bf_validator_set_expected_rows(v, 30, 30), BF_OK);
    /* Outside the scope [0, 30): duplicates, NULL keys and NULL notes that would fail every check. */
    sql("INSERT INTO t VALUES (50, 'g0', 1, NULL), (50, 'g0', 1, NULL), (-5, NULL, 1, NULL), (30, 'g0', 1, NULL)");
    r = run_level(v, NULL);
    ck_assert_int_eq(bf_results_count(r), 4);
    for (size_t i = 0; i < 4; i++)
        ck_assert_msg(bf_results_outcome(r, i) == BF_OUTCOME_PASS, "%s", bf_results_message(r, i));
    snprintf(want, sizeof want, "%lld rows", (long long)qint("SELECT count(*) FROM t WHERE id >= 0 AND id < 30"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    ck_assert_str_eq(bf_results_observed(r, 3), want);
    bf_results_free(r);
    /* Inside the scope they count. */
    r = run_level(v, "INSERT INTO t VALUES (7, 'g1', 1, NULL), (7, 'g1', 2, 'x')");
    snprintf(want, sizeof want, "%lld rows", (long long)qint("SELECT count(*) FROM t WHERE id >= 0 AND id < 30"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    snprintf(want, sizeof want, "%lld duplicate rows, 0 with a NULL key",
             (long long)qint("SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) n FROM t WHERE id >= 0 AND id < 30 GROUP BY id, grp)"));
    ck_assert_str_eq(bf_results_observed(r, 1), want);
    snprintf(want, sizeof want, "note: %lld of %lld NULL",
             (long long)qint("SELECT count(*) FROM t WHERE id >= 0 AND id < 30 AND note IS NULL"),
             (long long)qint("SELECT count(*) FROM t WHERE id >= 0 AND id < 30"));
    ck_assert_str_eq(bf_results_observed(r, 2), want);
    ck_assert_int_eq(bf_results_outcome(r, 3), BF_OUTCOME_FAIL);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(run_scope_of_a_time_plan)
{
    static const char *const names[] = {"start", "end"};
    static const char *const days[] = {"2024-01-01", "2024-01-02", "2024-01-03"};
    bf_plan *tp = NULL;
    bf_validator *v = make("{\"check\": \"row_count\", \"per\": \"run\", \"min\": 0, \"max\": 1000}");
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    char want[64];
    sql("ALTER TABLE t ADD COLUMN day TEXT; UPDATE t SET day = date('2023-12-30', '+' || (id % 6) || ' days')");
    ck_assert_int_eq(bf__plan_new(&tp, BF_DIM_TIME, "day", 2), BF_OK);
    /* Listed newest first: the scope is still [first start, last end). */
    for (int i = 1; i >= 0; i--) {
        bf_value vv[2] = {{.type = BF_VALUE_TEXT, .s = days[i], .len = 10},
                          {.type = BF_VALUE_TEXT, .s = days[i + 1], .len = 10}};
        ck_assert_int_eq(bf__plan_add(tp, 1704067200 + i * 86400, 1704067200 + (i + 1) * 86400, days[i], 2, names, vv), BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(tp, ""), BF_OK);
    ck_assert_int_eq(bf_validator_before(&st, v, drv, tp, NULL), BF_OK);
    ck_assert_msg(bf_validator_after(&r, v, drv, tp, NULL, st) == BF_OK, "%s", bf_last_error());
    snprintf(want, sizeof want, "%lld rows",
             (long long)qint("SELECT count(*) FROM t WHERE day >= '2024-01-01' AND day < '2024-01-03'"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    ck_assert_int_lt(qint("SELECT count(*) FROM t WHERE day >= '2024-01-01' AND day < '2024-01-03'"), qint("SELECT count(*) FROM t"));
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_plan_free(tp);
    bf_validator_free(v);
}
END_TEST

/* The number after the first `"name": ` of a results JSON. */
static double json_number(const char *json, const char *name)
{
    char key[64];
    const char *at;
    snprintf(key, sizeof key, "\"%s\": ", name);
    at = strstr(json, key);
    ck_assert_msg(at != NULL, "no %s in %s", name, json);
    return strtod(at + strlen(key), NULL);
}

/*
 * A run-level sum is SUM(c) over the plan's scope as SQL computes it, to the
 * last bit: the scope is read on its own, through the scope column's index,
 * in that order. Floating sums depend on the order rows are added in: here
 * 0.1 + 0.2 + 0.3 in key order, while the table stores 0.1 last, so a scan of
 * the whole table with the scope as a filter (which would fuse this scan with
 * the runner's fingerprint of the whole target) adds 0.2 + 0.3 + 0.1, one bit
 * off. The before value would then differ from the after value over the same
 * rows, and from what a user's own SUM over the scope says.
 */
START_TEST(run_level_sums_add_in_the_scopes_order)
{
    static const char *const scoped = "SELECT sum(val) FROM t WHERE id >= 0 AND id < 30";
    bf_validator *v = make("{\"check\": \"metric\", \"per\": \"run\", \"expr\": \"SUM(val)\"}");
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    char *json = NULL;
    double want;

    sql("CREATE INDEX t_id ON t (id); UPDATE t SET val = 0; UPDATE t SET val = 0.2 WHERE id = 4;"
        " UPDATE t SET val = 0.3 WHERE id = 5; DELETE FROM t WHERE id = 3;"
        " INSERT INTO t VALUES (3, 'g0', 0.1, 'n3'), (100, 'g1', 7.5, 'x')");
    want = qreal(scoped);
    /* The fixture tells the two orders apart. */
    ck_assert(want != qreal("SELECT sum(val) FILTER (WHERE id >= 0 AND id < 30) FROM t"));
    ck_assert(want == (0.1 + 0.2) + 0.3);
    ck_assert_msg(bf_validator_before(&st, v, drv, plan, NULL) == BF_OK, "%s", bf_last_error());
    ck_assert_msg(bf_validator_after(&r, v, drv, plan, NULL, st) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    ck_assert_int_eq(bf_results_to_json(&json, r), BF_OK);
    ck_assert_msg(json_number(json, "before") == want, "%s", json);
    ck_assert_msg(json_number(json, "after") == want, "%s", json);
    ck_assert_msg(json_number(json, "delta") == 0.0, "%s", json);
    bf_free(json);
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_validator_free(v);
}
END_TEST

/*
 * A partition plan's run reads its partition values only: rows of other
 * partitions (one the table has, one it has not, a NULL one) do not count,
 * and a value with a quote is bound, not spliced.
 */
START_TEST(run_scope_of_a_partition_plan)
{
    static const char *const names[] = {"partition"};
    static const char *const parts[] = {"g0", "it's", "g2"};
    static const char *const inside = "grp IN ('g0', 'it''s', 'g2')";
    bf_plan *pp = NULL;
    bf_validator *v = make("{\"check\": \"row_count\", \"per\": \"run\", \"min\": 0, \"max\": 1000}");
    bf_validation_state *st = NULL;
    bf_results *r = NULL;
    char q[200], want[96], *json = NULL;
    double before;
    size_t ord[] = {0, 1, 2};

    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"not_null\", \"per\": \"run\", "
                                                    "\"columns\": [\"note\"]}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"metric\", \"per\": \"run\", "
                                                    "\"expr\": \"SUM(val)\", \"expect_delta\": "
                                                    "{\"min\": 0, \"max\": 50}}"), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"coverage\"}"), BF_OK);
    ck_assert_int_eq(bf_validator_set_written(v, ord, NULL, 3), BF_OK);
    ck_assert_int_eq(bf__plan_new(&pp, BF_DIM_PARTITION, "grp", 3), BF_OK);
    for (int i = 0; i < 3; i++) {
        bf_value pv = {.type = BF_VALUE_TEXT, .s = parts[i], .len = strlen(parts[i])};
        ck_assert_int_eq(bf__plan_add(pp, i, i + 1, parts[i], 1, names, &pv), BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(pp, ""), BF_OK);
    /* Partitions outside the plan: g1 (in the table), g9 and NULL, with NULL notes. */
    sql("INSERT INTO t VALUES (40, 'it''s', 5, 'q'), (41, 'it''s', 6, 'q'), (42, 'g9', 100, NULL),"
        " (43, NULL, 100, NULL); UPDATE t SET note = NULL WHERE grp = 'g1' AND id < 10;"
        " UPDATE t SET note = NULL WHERE id = 3");
    snprintf(q, sizeof q, "SELECT sum(val) FROM t WHERE %s", inside);
    before = (double)qint(q);
    ck_assert_int_eq(bf_validator_before(&st, v, drv, pp, NULL), BF_OK);
    /* Inside: +40 on a g0 row; outside: +1000 on a g1 row and a NULL note more. */
    sql("UPDATE t SET val = val + 40 WHERE id = 0; UPDATE t SET val = val + 1000, note = NULL"
        " WHERE id = 1");
    ck_assert_msg(bf_validator_after(&r, v, drv, pp, NULL, st) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_results_count(r), 4);
    snprintf(q, sizeof q, "SELECT count(*) FROM t WHERE %s", inside);
    ck_assert_int_lt(qint(q), qint("SELECT count(*) FROM t") - 3);
    snprintf(want, sizeof want, "%lld rows", (long long)qint(q));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    /* One NULL note inside (id 3, g0), the others outside. */
    snprintf(q, sizeof q, "SELECT count(*) FROM t WHERE %s AND note IS NULL", inside);
    ck_assert_int_eq(qint(q), 1);
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_FAIL);
    snprintf(q, sizeof q, "SELECT count(*) FROM t WHERE %s", inside);
    snprintf(want, sizeof want, "note: 1 of %lld NULL", (long long)qint(q));
    ck_assert_str_eq(bf_results_observed(r, 1), want);
    /* The metric's delta is the +40 inside, within its bounds. */
    ck_assert_msg(bf_results_outcome(r, 2) == BF_OUTCOME_PASS, "%s", bf_results_message(r, 2));
    ck_assert_int_eq(bf_results_to_json(&json, r), BF_OK);
    snprintf(want, sizeof want, "\"before\": %.1f", before);
    ck_assert_msg(strstr(json, want) != NULL, "%s not in %s", want, json);
    ck_assert_ptr_nonnull(strstr(json, "\"delta\": 40.0"));
    bf_free(json);
    /* Coverage sees the g1 row that changed outside the plan's partitions. */
    ck_assert_int_eq(bf_results_outcome(r, 3), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_message(r, 3), "outside the scope changed"));
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_plan_free(pp);
    bf_validator_free(v);
}
END_TEST

START_TEST(metric_runs_per_batch_and_per_run)
{
    bf_validator *v = make("{\"check\": \"metric\", \"expr\": \"SUM(val)\", \"expect_delta\": {\"min\": 0, \"max\": 50}}");
    bf_validator *vb = make("{\"check\": \"metric\", \"per\": \"batch\", \"expr\": \"SUM(val)\", \"expect_delta\": {\"min\": 0, \"max\": 50}}");
    bf_results *r;
    char *json = NULL;
    double before = (double)qint("SELECT sum(val) FROM t WHERE id >= 0 AND id < 30"), after;
    char want[64];

    /* Batch 0 unchanged: the batch passes. */
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_count(r), 1);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    /* The run: +40 inside the scope (batch 2), +1000 outside it: the delta is 40, within bounds. */
    r = run_level(v, "UPDATE t SET val = val + 40 WHERE id = 25; INSERT INTO t VALUES (90, 'g0', 1000, 'out')");
    after = (double)qint("SELECT sum(val) FROM t WHERE id >= 0 AND id < 30");
    ck_assert_int_eq(bf_results_count(r), 1);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    snprintf(want, sizeof want, "\"delta\": %.1f", after - before);
    ck_assert_int_eq(bf_results_to_json(&json, r), BF_OK);
    ck_assert_msg(strstr(json, want) != NULL, "%s not in %s", want, json);
    bf_free(json);
    bf_results_free(r);
    /* The bounds apply to the run too: +60 fails it. */
    r = run_level(v, "UPDATE t SET val = val + 60 WHERE id = 15");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    bf_results_free(r);
    /* per: batch is not evaluated for the run. */
    r = run_level(vb, NULL);
    ck_assert_int_eq(bf_results_count(r), 0);
    bf_results_free(r);
    bf_validator_free(vb);
    bf_validator_free(v);
}
END_TEST

START_TEST(coverage_fails_when_rows_outside_the_scope_change)
{
    bf_validator *v = make("{\"check\": \"coverage\"}");
    size_t ord[] = {0, 1, 2};
    bf_results *r;
    sql("INSERT INTO t VALUES (50, 'g0', 1, 'a'), (51, 'g1', 2, 'b'), (NULL, 'g2', 3, 'c')");
    ck_assert_int_eq(bf_validator_set_written(v, ord, NULL, 3), BF_OK);
    /* Inside the scope only: passes. */
    r = run_level(v, "UPDATE t SET val = 99 WHERE id = 5; DELETE FROM t WHERE id = 6");
    ck_assert_msg(bf_results_outcome(r, 0) == BF_OUTCOME_PASS, "%s", bf_results_message(r, 0));
    bf_results_free(r);
    /* Outside: one row altered, one added, the NULL-key row removed. */
    r = run_level(v, "UPDATE t SET note = 'z' WHERE id = 50; INSERT INTO t VALUES (70, 'g0', 1, 'd');"
                     " DELETE FROM t WHERE id IS NULL");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_message(r, 0), "2 rows outside the scope changed (2 rows gone or altered, 2 new or altered)"));
    ck_assert_ptr_nonnull(strstr(bf_results_samples_json(r, 0), "\"outside_rows_gone_or_altered\":2"));
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

/* The state as text, read back with `v`, and written again: the same text. */
static bf_validation_state *through_text(bf_validator *v, const bf_validation_state *st)
{
    bf_validation_state *back = NULL;
    char *text = NULL, *again = NULL;

    ck_assert_int_eq(bf_validation_state_to_json(&text, st), BF_OK);
    ck_assert_msg(bf_validation_state_from_json(&back, v, text) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_validation_state_to_json(&again, back), BF_OK);
    ck_assert_str_eq(again, text);
    bf_free(text);
    bf_free(again);
    return back;
}

/*
 * A batch's footprint is judged when it publishes: from a before-state read back later the
 * table's size holds every batch published since, so it is skipped; the run's is judged.
 */
START_TEST(a_batchs_footprint_from_a_recorded_before_is_skipped)
{
    bf_validator *v = make("{\"check\": \"footprint\", \"max_growth_pct\": 1}");
    bf_validation_state *st = NULL, *back;
    const bf_batch *b = bf_plan_batch(plan, 0);
    bf_results *r = NULL;

    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, b), BF_OK);
    back = through_text(v, st);
    ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, b, st), BF_OK);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, b, back), BF_OK);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_SKIPPED);
    ck_assert_ptr_nonnull(strstr(bf_results_message(r, 0), "a batch's growth is measured when it "
                                                           "publishes"));
    bf_results_free(r);
    bf_validation_state_free(st);
    bf_validation_state_free(back);
    bf_validator_free(v);
}
END_TEST

/*
 * The run-level results after `change` from `st` and from `back` (st read
 * back from text): the same JSON. Frees both states; the results from
 * `back` are returned.
 */
static bf_results *same_results(bf_validator *v, bf_validation_state *st,
                                bf_validation_state *back, const char *change)
{
    bf_results *r1 = NULL, *r2 = NULL;
    char *j1 = NULL, *j2 = NULL;

    sql(change);
    ck_assert_int_eq(bf_validator_after(&r1, v, drv, plan, NULL, st), BF_OK);
    ck_assert_int_eq(bf_validator_after(&r2, v, drv, plan, NULL, back), BF_OK);
    ck_assert_int_eq(bf_results_to_json(&j1, r1), BF_OK);
    ck_assert_int_eq(bf_results_to_json(&j2, r2), BF_OK);
    ck_assert_str_eq(j2, j1);
    bf_free(j1);
    bf_free(j2);
    bf_results_free(r1);
    bf_validation_state_free(st);
    bf_validation_state_free(back);
    return r2;
}

/*
 * The run-level before-state written down and read back with
 * bf_validation_state_to_json() and _from_json() (as a resumed run reads it
 * from the ledger, and backfill validate RUN later) gives the same results
 * as the state held in memory, for every check that keeps one: a grouped
 * metric, unchanged
 * columns, records, completeness, footprint and coverage's rows outside the
 * scope. Text that is not such a state, or a state of other checks, is
 * refused.
 */
START_TEST(before_state_survives_as_text)
{
    static const char *const checks[] = {
        "{\"check\": \"metric\", \"per\": \"run\", \"expr\": \"SUM(val)\", \"group_by\": [\"grp\"],"
        " \"expect_delta_pct\": {\"min\": -1, \"max\": 1}}",
        "{\"check\": \"unchanged_columns\", \"per\": \"run\", \"columns\": [\"note\"]}",
        "{\"check\": \"records\", \"per\": \"run\", \"expect\": [{\"key\": [5, \"g2\"], \"before\":"
        " {\"val\": 5}, \"after\": {\"val\": 6}}]}",
        "{\"check\": \"completeness\", \"per\": \"run\"}",
        "{\"check\": \"footprint\", \"per\": \"run\", \"max_growth_pct\": 1000}",
        "{\"check\": \"coverage\"}"};
    size_t ord[] = {0, 1, 2};
    bf_validator *v = make(NULL), *other = make(checks[0]);
    bf_validation_state *st = NULL, *back, *bad = NULL;
    bf_results *r2;
    char *text = NULL;

    for (size_t i = 0; i < BF_ARRAY_LEN(checks); i++)
        ck_assert_msg(bf_validator_add_check_json(v, checks[i]) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_validator_set_written(v, ord, NULL, 3), BF_OK);
    sql("INSERT INTO t VALUES (50, 'g0', 1, 'a'), (51, 'g1', 2, 'b')");
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, NULL), BF_OK);
    back = through_text(v, st);
    ck_assert_int_eq(bf_validation_state_to_json(&text, st), BF_OK);
    /* Inside the scope the metric and the record move; outside one row changes. */
    r2 = same_results(v, st, back, "UPDATE t SET val = 6 WHERE id = 5; "
                                   "UPDATE t SET note = 'z' WHERE id = 50");
    for (size_t i = 0; i < BF_ARRAY_LEN(checks); i++)
        ck_assert_msg(bf_results_outcome(r2, i) != BF_OUTCOME_SKIPPED, "check %zu: %s", i,
                      bf_results_message(r2, i));
    ck_assert_int_eq(bf_results_outcome(r2, 0), BF_OUTCOME_PASS);  /* +1 of 435 */
    ck_assert_int_eq(bf_results_outcome(r2, 2), BF_OUTCOME_PASS);  /* 5 -> 6 as expected */
    ck_assert_int_eq(bf_results_outcome(r2, 5), BF_OUTCOME_FAIL);  /* row 50 outside */
    /* Refused: another validator's checks, not a state, a damaged list of rows. */
    ck_assert_int_eq(bf_validation_state_from_json(&bad, other, text), BF_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "6 checks, the validator has 1"));
    ck_assert_int_eq(bf_validation_state_from_json(&bad, v, "{\"checks\": []}"), BF_E_PARSE);
    ck_assert_int_eq(bf_validation_state_from_json(&bad, v, "not json"), BF_E_PARSE);
    {
        char *o = strstr(text, "\"outside\":\"");

        ck_assert_ptr_nonnull(o);
        o[strlen("\"outside\":\"") + 3] = 'G';
        ck_assert_int_eq(bf_validation_state_from_json(&bad, v, text), BF_E_PARSE);
        ck_assert_ptr_nonnull(strstr(bf_last_error(), "rows outside the scope are unreadable"));
    }
    ck_assert_ptr_null(bad);
    bf_free(text);
    bf_results_free(r2);
    bf_validator_free(v);
    bf_validator_free(other);
}
END_TEST

/* A metric whose before value is no JSON number (an infinite sum) is kept as text and read back. */
START_TEST(before_state_keeps_an_infinite_metric)
{
    bf_validator *v = make("{\"check\": \"metric\", \"per\": \"run\", \"expr\": \"SUM(val)\"}");
    bf_validation_state *st = NULL, *back;
    bf_results *r;
    char *text = NULL;

    sql("UPDATE t SET val = 1e308 WHERE id < 3");
    ck_assert_int_eq(bf_validator_before(&st, v, drv, plan, NULL), BF_OK);
    ck_assert_int_eq(bf_validation_state_to_json(&text, st), BF_OK);
    ck_assert_msg(strstr(text, "\"value\":\"inf\""), "%s", text);
    back = through_text(v, st);
    r = same_results(v, st, back, "UPDATE t SET val = 1 WHERE id < 3");
    ck_assert_int_ne(bf_results_outcome(r, 0), BF_OUTCOME_SKIPPED);
    bf_free(text);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(footprint_fails_its_growth_bound)
{
    bf_validator *v = make("{\"check\": \"footprint\", \"max_growth_pct\": 5}");
    bf_results *r = run(v, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 499)"
                           " INSERT INTO t SELECT i % 10, 'g9', i, hex(randomblob(200)) FROM n");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_ptr_nonnull(strstr(bf_results_expected(r, 0), "growth at most 5%"));
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(completeness_by_day_and_by_composite_keys_with_nulls)
{
    bf_validator *v = make("{\"check\": \"completeness\", \"columns\": [\"id\", \"grp\"], \"partition_column\": \"day\"}");
    bf_results *r;
    char want[96];
    sql("ALTER TABLE t ADD COLUMN day TEXT; UPDATE t SET day = date('2024-01-01', '+' || (id % 4) || ' days');"
        "INSERT INTO t VALUES (3, NULL, 1, 'n', '2024-01-01'), (3, NULL, 2, 'n', '2024-01-01')");
    /* Rows removed but no key or day lost: passes. */
    r = run(v, "DELETE FROM t WHERE id = 3 AND grp IS NULL AND val = 2");
    ck_assert_msg(bf_results_outcome(r, 0) == BF_OUTCOME_PASS, "%s", bf_results_message(r, 0));
    snprintf(want, sizeof want, "%lld distinct keys, %lld partitions",
             (long long)qint("SELECT count(*) FROM (SELECT DISTINCT id, grp FROM t WHERE id >= 0 AND id < 10)"),
             (long long)qint("SELECT count(DISTINCT day) FROM t WHERE id >= 0 AND id < 10"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    bf_results_free(r);
    /* A day lost (ids 2 and 6 are day 3): fails. */
    r = run(v, "DELETE FROM t WHERE id IN (2, 6)");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    snprintf(want, sizeof want, "%lld distinct keys, %lld partitions",
             (long long)qint("SELECT count(*) FROM (SELECT DISTINCT id, grp FROM t WHERE id >= 0 AND id < 10)"),
             (long long)qint("SELECT count(DISTINCT day) FROM t WHERE id >= 0 AND id < 10"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    bf_results_free(r);
    bf_validator_free(v);
    /* Keys only, the NULL-grp key lost: fails; within max_loss_pct: passes. */
    v = make("{\"check\": \"completeness\", \"columns\": [\"id\", \"grp\"]}");
    r = run(v, "DELETE FROM t WHERE id = 3 AND grp IS NULL");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    /* Without a partition column the words speak of keys alone. */
    snprintf(want, sizeof want, "%lld distinct keys",
             (long long)qint("SELECT count(*) FROM (SELECT DISTINCT id, grp FROM t WHERE id >= 0 AND id < 10)"));
    ck_assert_str_eq(bf_results_observed(r, 0), want);
    ck_assert_ptr_null(strstr(bf_results_message(r, 0), "partitions"));
    bf_results_free(r);
    bf_validator_free(v);
    v = make("{\"check\": \"completeness\", \"columns\": [\"id\", \"grp\"], \"max_loss_pct\": 50}");
    r = run(v, "DELETE FROM t WHERE id = 4");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

START_TEST(validator_from_the_good_brief)
{
    char file[512];
    bf_brief *b = NULL;
    bf_validator *v = NULL;
    const char *root = getenv("BF_SOURCE_ROOT");
    snprintf(file, sizeof file, "%s/examples/briefs/refund-join.json", root ? root : ".");
    ck_assert_msg(bf_brief_load_file(&b, file) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_validator_new_from_brief(&v, b), BF_OK);
    /* Its eight checks plus scope.expected_rows. */
    ck_assert_uint_eq(bf_brief_check_count(b), 8);
    ck_assert_uint_eq(bf_validator_check_count(v), 9);
    /* Its checks, on a table of the brief's shape: seven per batch, four for the run. */
    sql("CREATE TABLE fct_orders (id INTEGER, order_id INTEGER, customer_id INTEGER,"
        " refund_amount REAL, net_revenue REAL, order_ts INTEGER);"
        "CREATE TABLE dim_customers (customer_id INTEGER);"
        "INSERT INTO dim_customers VALUES (1);"
        "INSERT INTO fct_orders VALUES (1, 1001, 1, 0, 80.0, 0), (2, 1002, 1, 0, 5, 0)");
    {
        static const char *const batch_kinds[] = {"unique", "not_null", "references", "metric",
                                                  "unchanged_columns", "records", "sql"};
        static const char *const run_kinds[] = {"row_count", "metric", "records", "row_count"};
        bf_results *r = run(v, NULL);
        ck_assert_uint_eq(bf_results_count(r), 7);
        for (size_t i = 0; i < 7; i++)
            ck_assert_str_eq(bf_results_check(r, i), batch_kinds[i]);
        ck_assert_str_eq(bf_results_name(r, 3), "net revenue");
        ck_assert_str_eq(bf_results_name(r, 6), "no negative net");
        ck_assert_int_eq(bf_results_severity(r, 6), BF_CHECK_SEVERITY_WARN);
        ck_assert_int_eq(bf_results_outcome(r, 5), BF_OUTCOME_PASS); /* order 1001 has 80.0 */
        ck_assert_int_eq(bf_results_status(r), BF_OK);
        bf_results_free(r);
        r = run_level(v, NULL);
        ck_assert_uint_eq(bf_results_count(r), 4);
        for (size_t i = 0; i < 4; i++)
            ck_assert_str_eq(bf_results_check(r, i), run_kinds[i]);
        /* 2 rows against 150000..250000, both the check and scope.expected_rows. */
        ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
        ck_assert_int_eq(bf_results_outcome(r, 2), BF_OUTCOME_PASS); /* order 1001, in the run */
        ck_assert_int_eq(bf_results_outcome(r, 3), BF_OUTCOME_FAIL);
        ck_assert_str_eq(bf_results_observed(r, 3), "2 rows");
        bf_results_free(r);
    }
    bf_validator_free(v);
    bf_brief_free(b);
}
END_TEST

START_TEST(a_check_that_cannot_be_evaluated_is_an_error_outcome)
{
    /* Prepares, then fails while it runs (integer overflow). */
    bf_validator *v = make("{\"check\": \"sql\", \"name\": \"overflow\", \"query\": \"SELECT abs(-9223372036854775807 - 1) WHERE :lo >= 0\"}");
    bf_results *r;
    char *json = NULL;
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"row_count\", \"min\": 1}"), BF_OK);
    r = run(v, NULL);
    ck_assert_int_eq(bf_results_count(r), 2);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_ERROR);
    ck_assert_ptr_nonnull(strstr(bf_results_message(r, 0), "check overflow: could not be evaluated in batch id [0, 10)"));
    ck_assert_ptr_nonnull(strstr(bf_results_message(r, 0), "overflow"));
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_PASS);
    ck_assert_uint_eq(bf_results_tally(r, BF_OUTCOME_ERROR), 1);
    ck_assert_int_eq(bf_results_status(r), BF_E_VALIDATION);
    ck_assert_int_eq(bf_results_to_json(&json, r), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"outcome\": \"error\""));
    bf_free(json);
    bf_results_free(r);
    bf_validator_free(v);
}
END_TEST

static int custom_after(void *ud, bf_check_result *res, bf_driver *d, const bf_plan *p,
                        const bf_batch *b, void *state)
{
    (void)ud; (void)d; (void)p; (void)b; (void)state;
    bf_check_result_add_sample(res, "{\"why\": 1}");
    return bf_check_result_set(res, 1, "1", "0", "custom says no");
}

static int custom_user(void *ud, bf_check_result *res, bf_driver *d, const bf_plan *p,
                       const bf_batch *b, void *state)
{
    (void)ud; (void)res; (void)d; (void)p; (void)b; (void)state;
    return bf_error_set(BF_E_USER, "host exception");
}

START_TEST(custom_validators)
{
    bf_validator *v = make(NULL);
    bf_validator_vtable vt = BF_VALIDATOR_VTABLE_INIT;
    bf_results *r = NULL;
    vt.after = custom_after;
    ck_assert_int_eq(bf_validator_add_custom(v, "mine", BF_CHECK_SEVERITY_WARN, 0, &vt, NULL, NULL), BF_OK);
    r = run(v, NULL);
    ck_assert_str_eq(bf_results_check(r, 0), "mine");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_WARN);
    bf_results_free(r);
    vt.after = custom_user;
    ck_assert_int_eq(bf_validator_add_custom(v, "user", BF_CHECK_SEVERITY_ERROR, 0, &vt, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, bf_plan_batch(plan, 0), NULL), BF_E_USER);
    ck_assert_str_eq(bf_last_error(), "host exception");
    vt.version = 99;
    ck_assert_int_eq(bf_validator_add_custom(v, "x", BF_CHECK_SEVERITY_ERROR, 0, &vt, NULL, NULL), BF_E_ABI);
    bf_validator_free(v);
}
END_TEST


/* ---- results in the ledger ---- */

/* Validate batch `i` with no before state and return the results. */
static bf_results *run_batch(bf_validator *v, size_t i)
{
    bf_results *r = NULL;
    ck_assert_msg(bf_validator_after(&r, v, drv, plan, bf_plan_batch(plan, i), NULL) == BF_OK, "%s",
                  bf_last_error());
    return r;
}

static int64_t clock_now = 1000000;
static int64_t test_clock(void *ud)
{
    (void)ud;
    return clock_now += 1000;
}

static bf_ledger *open_ledger(const char *file)
{
    bf_ledger_options o = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *l = NULL;
    o.clock = test_clock;
    ck_assert_msg(bf_ledger_open(&l, file, &o) == BF_OK, "%s", bf_last_error());
    return l;
}

/* Start a run of the fixture's plan and complete its first `done` batches; ids into ids[]. */
static bf_run *start_run(bf_ledger *l, size_t done, int64_t ids[3])
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_run *run = NULL;
    spec.brief_name = "t-fix";
    ck_assert_msg(bf_run_start(&run, l, &spec, plan) == BF_OK, "%s", bf_last_error());
    for (size_t i = 0; i < 3; i++) {
        bf_lease *lease = NULL;
        if (i >= done)
            break;
        ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
        ck_assert_ptr_nonnull(lease);
        ids[i] = bf_lease_batch_id(lease);
        ck_assert_int_eq(bf_run_complete(run, ids[i], bf_lease_token(lease), NULL), BF_OK);
        bf_lease_free(lease);
    }
    return run;
}

static int batch_state(bf_run *run, int64_t id)
{
    bf_batch_list *bl = NULL;
    int state = -1;
    ck_assert_int_eq(bf_run_batches(&bl, run, -1), BF_OK);
    for (size_t i = 0; i < bf_batch_list_count(bl); i++)
        if (bf_batch_list_id(bl, i) == id)
            state = bf_batch_list_state(bl, i);
    bf_batch_list_free(bl);
    return state;
}

START_TEST(settle_validates_a_passing_batch_and_pauses_on_failure)
{
    char lpath[128];
    int64_t ids[3] = {0, 0, 0};
    bf_validation_list *vl = NULL;
    bf_event_list *ev = NULL;
    bf_ledger *l;
    bf_run *run;
    bf_results *r;
    bf_validator *v = make("{\"check\": \"not_null\", \"columns\": [\"val\"]}");
    ck_assert_int_eq(bf_validator_add_check_json(v, "{\"check\": \"row_count\", \"min\": 10, "
                                                    "\"max\": 10, \"severity\": \"warn\"}"), BF_OK);
    snprintf(lpath, sizeof lpath, "%s/ledger.db", dir);
    l = open_ledger(lpath);
    run = start_run(l, 2, ids);

    /* Batch 0 passes (the warn-level row_count too): it becomes validated. */
    r = run_batch(v, 0);
    ck_assert_int_eq(bf_validator_settle(run, ids[0], r), BF_OK);
    bf_results_free(r);
    ck_assert_int_eq(batch_state(run, ids[0]), BF_BATCH_VALIDATED);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);

    /* Batch 1 has a NULL and an extra row: the error check fails, the warn warns. */
    sql("UPDATE t SET val = NULL WHERE id = 12; INSERT INTO t VALUES (15, 'g9', 1, 'x');");
    r = run_batch(v, 1);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_int_eq(bf_results_outcome(r, 1), BF_OUTCOME_WARN);
    ck_assert_int_eq(bf_validator_settle(run, ids[1], r), BF_OK);
    ck_assert_int_eq(batch_state(run, ids[1]), BF_BATCH_COMPLETED);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    ck_assert_int_eq(bf_run_events(&ev, run), BF_OK);
    {
        size_t last = bf_event_list_count(ev) - 1;
        char want[600];
        snprintf(want, sizeof want, "validation failed: batch id [10, 20): %s", bf_results_message(r, 0));
        ck_assert_str_eq(bf_event_list_to(ev, last), "paused");
        ck_assert_str_eq(bf_event_list_detail(ev, last), want);
        ck_assert_ptr_nonnull(strstr(want, "val"));
    }
    bf_event_list_free(ev);
    bf_results_free(r);

    /* A batch not written is refused and nothing is recorded for it. */
    r = run_batch(v, 2);
    ck_assert_int_eq(bf_validator_settle(run, ids[0] + 2, r), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is pending"));
    bf_results_free(r);

    /* The records: one per batch, tallies, the JSON as bf_results_to_json wrote it. */
    ck_assert_int_eq(bf_run_validations(&vl, run, -1), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 2);
    ck_assert_int_eq(bf_validation_list_batch_id(vl, 0), ids[0]);
    ck_assert_int_eq(bf_validation_list_passed(vl, 0), 1);
    ck_assert_int_eq(bf_validation_list_tally(vl, 0, BF_OUTCOME_PASS), 2);
    ck_assert_int_eq(bf_validation_list_passed(vl, 1), 0);
    ck_assert_int_eq(bf_validation_list_tally(vl, 1, BF_OUTCOME_FAIL), 1);
    ck_assert_int_eq(bf_validation_list_tally(vl, 1, BF_OUTCOME_WARN), 1);
    ck_assert_ptr_nonnull(strstr(bf_validation_list_results_json(vl, 1), "\"status\": \"fail\""));
    ck_assert_int_eq(bf_validation_list_passed(vl, 2), BF_E_INVALID);
    ck_assert_ptr_null(bf_validation_list_results_json(vl, 2));
    {
        int64_t created = bf_validation_list_created_at(vl, 0);
        bf_validation_list_free(vl);
        /* Re-recording keeps the first timestamp; the run level is batch 0. */
        ck_assert_int_eq(bf_run_record_validation(run, ids[0], "{\"again\": 1}", NULL, NULL, 0), BF_OK);
        ck_assert_int_eq(bf_run_record_validation(run, 0, "{}", NULL, "run-level check", 0), BF_OK);
        ck_assert_int_eq(bf_run_validations(&vl, run, ids[0]), BF_OK);
        ck_assert_uint_eq(bf_validation_list_count(vl), 1);
        ck_assert_int_eq(bf_validation_list_created_at(vl, 0), created);
        ck_assert_int_gt(bf_validation_list_updated_at(vl, 0), created);
        ck_assert_str_eq(bf_validation_list_results_json(vl, 0), "{\"again\": 1}");
        bf_validation_list_free(vl);
        ck_assert_int_eq(bf_run_validations(&vl, run, -1), BF_OK);
        ck_assert_int_eq(bf_validation_list_batch_id(vl, 0), 0);
        ck_assert_int_eq(bf_validation_list_passed(vl, 0), 0);
        bf_validation_list_free(vl);
    }
    ck_assert_int_eq(bf_run_record_validation(run, 9, NULL, NULL, NULL, 0), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_run_record_validation(run, -1, NULL, NULL, NULL, 0), BF_E_INVALID);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_validator_free(v);
    unlink(lpath);
}
END_TEST

/* A run-level failure pauses a running run too. */
START_TEST(settle_run_level_failure_pauses)
{
    char lpath[128];
    int64_t ids[3];
    bf_ledger *l;
    bf_run *run;
    bf_results *r;
    bf_validator *v = make(NULL);
    ck_assert_int_eq(bf_validator_set_expected_rows(v, 100, 200), BF_OK);
    snprintf(lpath, sizeof lpath, "%s/ledger.db", dir);
    l = open_ledger(lpath);
    run = start_run(l, 1, ids);
    ck_assert_int_eq(bf_validator_after(&r, v, drv, plan, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_FAIL);
    ck_assert_int_eq(bf_validator_settle(run, 0, r), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    ck_assert_int_eq(bf_run_refresh(run), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    bf_results_free(r);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_validator_free(v);
    unlink(lpath);
}
END_TEST

/* A ledger written at schema version 1 (before validation results) migrates and is usable. */
START_TEST(ledger_of_the_previous_schema_migrates)
{
    char lpath[128];
    size_t n;
    const sq_migration *m = sq_migrations(&n);
    sq_store s;
    sqlite3 *db;
    bf_ledger *l;
    bf_run *run = NULL;
    bf_validation_list *vl = NULL;
    int64_t id = 0;

    ck_assert_uint_ge(n, 2);
    ck_assert_int_eq(m[0].version, 1);
    snprintf(lpath, sizeof lpath, "%s/old.db", dir);
    ck_assert_int_eq(sqlite3_open(lpath, &db), SQLITE_OK);
    memset(&s, 0, sizeof s);
    s.db = db;
    s.path = lpath;
    ck_assert_int_eq(sq_schema_migrate(&s, m, 1), BF_OK);
    /* A run with one completed batch, written as version 1 wrote it. */
    ck_assert_int_eq(sqlite3_exec(db,
        "INSERT INTO runs (id, brief_name, seq, state, brief_json, plan_fingerprint, dimension,"
        " max_concurrency, max_attempts, retry_backoff_us, lease_us, batch_count, created_at,"
        " updated_at) VALUES (1, 'old', 1, 1, '{}', 'fp', 1, 1, 3, 0, 1, 1, 1, 1);"
        "INSERT INTO batches (id, run_id, ordinal, state, dimension, label, lo, hi, params)"
        " VALUES (1000000001, 1, 0, 2, 1, 'old [0, 10)', 0, 10, '{}');",
        NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

    l = open_ledger(lpath);
    ck_assert_int_eq(bf_ledger_find_run(&id, l, "old"), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    ck_assert_int_eq(bf_run_record_validation(run, 1000000001, "{\"status\": \"pass\"}", NULL, NULL,
                                              BF_VALIDATION_SETTLE), BF_OK);
    ck_assert_int_eq(batch_state(run, 1000000001), BF_BATCH_VALIDATED);
    ck_assert_int_eq(bf_run_validations(&vl, run, -1), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 1);
    bf_validation_list_free(vl);
    bf_run_free(run);
    bf_ledger_close(l);
    ck_assert_int_eq(sqlite3_open(lpath, &db), SQLITE_OK);
    {
        sqlite3_stmt *st;
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM bf_schema_version", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), m[n - 1].version);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    unlink(lpath);
}
END_TEST

/*
 * ---- before-states ----
 * Recording and reading them back, and a store of an older vtable version,
 * are ledger conformance cases (tests/unit/test_ledger.c).
 */

/* A ledger written at schema version 2 (before before-states) migrates and keeps them. */
START_TEST(ledger_of_schema_2_migrates_for_before_states)
{
    char lpath[128];
    size_t n;
    const sq_migration *m = sq_migrations(&n);
    sq_store s;
    sqlite3 *db;
    bf_ledger *l;
    bf_run *run = NULL;
    char *json = NULL;
    int64_t id = 0;

    ck_assert_uint_ge(n, 3);
    ck_assert_int_eq(m[1].version, 2);
    ck_assert_int_eq(m[2].version, 3);
    snprintf(lpath, sizeof lpath, "%s/old2.db", dir);
    ck_assert_int_eq(sqlite3_open(lpath, &db), SQLITE_OK);
    memset(&s, 0, sizeof s);
    s.db = db;
    s.path = lpath;
    ck_assert_int_eq(sq_schema_migrate(&s, m, 2), BF_OK);
    ck_assert_int_ne(sqlite3_exec(db, "SELECT * FROM before_states", NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db,
        "INSERT INTO runs (id, brief_name, seq, state, brief_json, plan_fingerprint, dimension,"
        " max_concurrency, max_attempts, retry_backoff_us, lease_us, batch_count, created_at,"
        " updated_at) VALUES (1, 'old', 1, 1, '{}', 'fp', 1, 1, 3, 0, 1, 1, 1, 1);"
        "INSERT INTO batches (id, run_id, ordinal, state, dimension, label, lo, hi, params)"
        " VALUES (1000000001, 1, 0, 2, 1, 'old [0, 10)', 0, 10, '{}');",
        NULL, NULL, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_close(db), SQLITE_OK);

    l = open_ledger(lpath);
    ck_assert_int_eq(bf_ledger_find_run(&id, l, "old"), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, id), BF_OK);
    ck_assert_int_eq(bf_run_before_state(&json, run, 1000000001), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_run_record_before_state(run, 1000000001, "{\"v\": 2}"), BF_OK);
    ck_assert_int_eq(bf_run_before_state(&json, run, 1000000001), BF_OK);
    ck_assert_str_eq(json, "{\"v\": 2}");
    bf_free(json);
    bf_run_free(run);
    bf_ledger_close(l);
    ck_assert_int_eq(sqlite3_open(lpath, &db), SQLITE_OK);
    {
        sqlite3_stmt *st;
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT MAX(version) FROM bf_schema_version", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 3);
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    unlink(lpath);
}
END_TEST

/* ---- allocation failures ---- */

struct vsweep {
    bf_validator *v;
    bf_validation_state *st;
    bf_results *r;
    bf_brief *brief;
    char *json;
    bf_diff_before *cap;
};

static int new_op(void *arg)
{
    static const char *const key[] = {"id", "grp"};
    static const char *const cols[] = {"val", "note"};
    struct vsweep *c = arg;
    return bf_validator_new(&c->v, "t", key, 2, cols, 2);
}

static int new_from_brief_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_validator_new_from_brief(&c->v, c->brief);
}

static void free_v(void *arg)
{
    struct vsweep *c = arg;
    bf_validator_free(c->v);
    c->v = NULL;
}

static int before_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_validator_before(&c->st, c->v, drv, plan, bf_plan_batch(plan, 0));
}

static void free_st(void *arg)
{
    struct vsweep *c = arg;
    bf_validation_state_free(c->st);
    c->st = NULL;
}

static int after_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_validator_after(&c->r, c->v, drv, plan, bf_plan_batch(plan, 0), c->st);
}

static void free_r(void *arg)
{
    struct vsweep *c = arg;
    bf_results_free(c->r);
    c->r = NULL;
}

/* The runner's fused forms: the before-state and the after fingerprint in the checks' scans. */
static int before_capture_op(void *arg)
{
    static const char *const key[] = {"id", "grp"};
    struct vsweep *c = arg;
    return bf__validator_before_capture(&c->st, c->v, drv, plan, bf_plan_batch(plan, 0), key, 2,
                                        &c->cap);
}

static void free_st_cap(void *arg)
{
    struct vsweep *c = arg;
    bf_validation_state_free(c->st);
    bf_diff_before_free(c->cap);
    c->st = NULL;
    c->cap = NULL;
}

static int after_fp_op(void *arg)
{
    struct vsweep *c = arg;
    bf_fingerprint all;
    int measured;
    return bf__validator_after_fp(&c->r, c->v, drv, plan, bf_plan_batch(plan, 0), c->st, &all,
                                  &measured);
}

static int to_json_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_results_to_json(&c->json, c->r);
}

static void free_json(void *arg)
{
    struct vsweep *c = arg;
    bf_free(c->json);
    c->json = NULL;
}

static int state_to_json_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_validation_state_to_json(&c->json, c->st);
}

/* Reads c->json back into c->back. */
static bf_validation_state *sweep_back;

static int state_from_json_op(void *arg)
{
    struct vsweep *c = arg;
    return bf_validation_state_from_json(&sweep_back, c->v, c->json);
}

static void free_back(void *arg)
{
    (void)arg;
    bf_validation_state_free(sweep_back);
    sweep_back = NULL;
}

static const char *const sweep_checks[] = {
    "{\"check\": \"row_count\", \"min\": 1}",
    "{\"check\": \"unique\"}",
    "{\"check\": \"not_null\", \"columns\": [\"val\", \"note\"]}",
    "{\"check\": \"metric\", \"expr\": \"SUM(val)\", \"expect_delta_pct\": {\"min\": -1, \"max\": 1}, \"group_by\": [\"grp\"]}",
    "{\"check\": \"unchanged_columns\", \"columns\": [\"note\"]}",
    "{\"check\": \"sql\", \"query\": \"SELECT id FROM t WHERE id = 3\"}",
    "{\"check\": \"references\", \"columns\": [\"id\"], \"parent\": \"p\", \"parent_columns\": [\"id\"]}",
};

START_TEST(allocation_failures_are_reported)
{
    struct vsweep c;
    memset(&c, 0, sizeof c);
    ck_assert_int_gt(failalloc_sweep(new_op, free_v, &c), 0);

    {
        static const char brief[] = "{\"format\": \"backfill-brief/1\", \"name\": \"t-fix\", \"target\": {\"table\": \"t\","
        " \"key\": [\"id\"], \"columns\": [\"val\"]},"
        " \"validation\": [{\"check\": \"unique\"}, {\"check\": \"not_null\", \"columns\": [\"val\"]}]}";
        ck_assert_msg(bf_brief_load_json(&c.brief, brief, strlen(brief)) == BF_OK, "%s", bf_last_error());
    }
    ck_assert_int_gt(failalloc_sweep(new_from_brief_op, free_v, &c), 0);
    bf_brief_free(c.brief);

    ck_assert_int_eq(new_op(&c), BF_OK);
    for (size_t i = 0; i < sizeof sweep_checks / sizeof *sweep_checks; i++)
        ck_assert_msg(bf_validator_add_check_json(c.v, sweep_checks[i]) == BF_OK, "%s", bf_last_error());
    /* A failing check too, so that samples are built under failure. */
    sql("INSERT INTO t VALUES (1, 'g1', 9, 'x'), (3, NULL, NULL, 'y');");
    ck_assert_int_gt(failalloc_sweep(before_op, free_st, &c), 0);
    ck_assert_int_eq(before_op(&c), BF_OK);
    ck_assert_int_gt(failalloc_sweep(state_to_json_op, free_json, &c), 0);
    ck_assert_int_eq(state_to_json_op(&c), BF_OK);
    ck_assert_int_gt(failalloc_sweep(state_from_json_op, free_back, &c), 0);
    free_json(&c);
    ck_assert_int_gt(failalloc_sweep(after_op, free_r, &c), 0);
    ck_assert_int_eq(after_op(&c), BF_OK);
    ck_assert_int_eq(bf_results_status(c.r), BF_E_VALIDATION);
    ck_assert_int_gt(failalloc_sweep(to_json_op, free_json, &c), 0);
    free_r(&c);
    free_st(&c);
    ck_assert_int_gt(failalloc_sweep(before_capture_op, free_st_cap, &c), 0);
    ck_assert_int_eq(before_capture_op(&c), BF_OK);
    ck_assert_ptr_nonnull(c.cap);
    ck_assert_int_gt(failalloc_sweep(after_fp_op, free_r, &c), 0);
    free_r(&c);
    free_st_cap(&c);
    free_v(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unique_counts_duplicate_rows_and_null_keys);
    tcase_add_test(tc, before_state_survives_as_text);
    tcase_add_test(tc, before_state_keeps_an_infinite_metric);
    tcase_add_test(tc, not_null_and_row_count_share_a_scan);
    tcase_add_test(tc, after_fingerprint_rides_on_the_profile_scan);
    tcase_add_test(tc, segments_ride_in_the_profile_aggregate);
    tcase_add_test(tc, before_state_rides_on_the_profile_scan);
    tcase_add_test(tc, unique_on_the_rowid_and_on_other_primary_keys);
    tcase_add_test(tc, metric_compares_before_and_after);
    tcase_add_test(tc, metric_columns_are_matched_as_sql_matches_names);
    tcase_add_test(tc, unchanged_columns_compare_fingerprints);
    tcase_add_test(tc, references_sql_records_completeness_footprint);
    tcase_add_test(tc, records_name_a_key_that_no_row_holds);
    tcase_add_test(tc, unique_finds_repeats_in_a_nocase_column);
    tcase_add_test(tc, a_batchs_footprint_from_a_recorded_before_is_skipped);
    tcase_add_test(tc, an_sql_check_never_changes_the_warehouse);
    tcase_add_test(tc, references_counts_ride_on_the_profile_scan);
    tcase_add_test(tc, references_counted_by_the_profile_match_the_join);
    tcase_add_test(tc, references_with_more_child_values_than_kept_are_joined);
    tcase_add_test(tc, bad_input_is_a_clear_error);
    tcase_add_test(tc, coverage_and_expected_rows_in_the_run);
    tcase_add_test(tc, custom_validators);
    tcase_add_test(tc, run_checks_read_only_the_plans_scope);
    tcase_add_test(tc, run_scope_of_a_time_plan);
    tcase_add_test(tc, run_level_sums_add_in_the_scopes_order);
    tcase_add_test(tc, run_scope_of_a_partition_plan);
    tcase_add_test(tc, metric_runs_per_batch_and_per_run);
    tcase_add_test(tc, coverage_fails_when_rows_outside_the_scope_change);
    tcase_add_test(tc, footprint_fails_its_growth_bound);
    tcase_add_test(tc, completeness_by_day_and_by_composite_keys_with_nulls);
    tcase_add_test(tc, validator_from_the_good_brief);
    tcase_add_test(tc, a_check_that_cannot_be_evaluated_is_an_error_outcome);
    tcase_add_test(tc, settle_validates_a_passing_batch_and_pauses_on_failure);
    tcase_add_test(tc, settle_run_level_failure_pauses);
    tcase_add_test(tc, ledger_of_the_previous_schema_migrates);
    tcase_add_test(tc, ledger_of_schema_2_migrates_for_before_states);
    tcase_add_test(tc, allocation_failures_are_reported);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
