#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/validator.h"
#include "bftest.h"
#include "plan/plan_internal.h"

static char dir[64], path[96];
static sqlite3 *raw;
static bf_driver *drv;
static bf_plan *plan;

static void sql(const char *text)
{
    char *err = NULL;
    ck_assert_msg(sqlite3_exec(raw, text, NULL, NULL, &err) == SQLITE_OK, "%s: %s", text, err);
}

static int64_t qint(const char *text)
{
    sqlite3_stmt *st;
    int64_t v = -1;
    ck_assert_int_eq(sqlite3_prepare_v2(raw, text, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
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
    bf_results_free(r);
    /* A change outside the batch is not read. */
    r = run(v, "UPDATE t SET note = 'changed' WHERE id = 25");
    ck_assert_int_eq(bf_results_outcome(r, 0), BF_OUTCOME_PASS);
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

static Suite *suite(void)
{
    Suite *s = suite_create("validate");
    TCase *tc = tcase_create("validate");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, unique_counts_duplicate_rows_and_null_keys);
    tcase_add_test(tc, not_null_and_row_count_share_a_scan);
    tcase_add_test(tc, metric_compares_before_and_after);
    tcase_add_test(tc, unchanged_columns_compare_fingerprints);
    tcase_add_test(tc, references_sql_records_completeness_footprint);
    tcase_add_test(tc, bad_input_is_a_clear_error);
    tcase_add_test(tc, coverage_and_expected_rows_in_the_run);
    tcase_add_test(tc, custom_validators);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
