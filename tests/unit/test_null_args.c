/*
 * NULL arguments to the public functions. A function that returns a status
 * refuses a NULL handle or out pointer with BF_E_INVALID and a message
 * naming the function and the argument; a plain accessor answers a neutral
 * value (0, no dimension, NULL); a void function does nothing. Nothing
 * crashes.
 *
 * Two parts. The named tests below pin the exact answer of each function of
 * the plan, time and fingerprint modules that used to crash. The sweep calls
 * every BF_API function of the public headers, read by
 * tests/support/null_calls.py at build time, with NULL and zero arguments in
 * a child process, so that a function added later is covered without
 * anyone listing it.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/driver.h"
#include "backfill/sys/errors.h"
#include "backfill/sys/scheduler.h"
#include "backfill/sys/store.h"
#include "backfill/sys/validator.h"
#include "bftest.h"
#include "common/internal.h"
#include "null_calls.h"

/* `rc` is BF_E_INVALID and the thread's message says "<fn>: <arg> is NULL". */
#define REFUSED(call, fn, arg)                                                               \
    do {                                                                                     \
        bf_clear_error();                                                                    \
        refused((call), (fn), (arg), #call);                                                 \
    } while (0)

static void refused(int rc, const char *fn, const char *arg, const char *call)
{
    char want[128];

    snprintf(want, sizeof want, "%s: %s is NULL", fn, arg);
    ck_assert_msg(rc == BF_E_INVALID, "%s returned %d (%s), not BF_E_INVALID", call, rc,
                  bf_last_error());
    ck_assert_msg(strstr(bf_last_error(), want) != NULL, "%s said \"%s\", not \"%s\"", call,
                  bf_last_error(), want);
}

/* A sealed key plan [0, 10) in batches of 5, and its planner. */
static bf_planner *key_planner(void)
{
    bf_planner *p = NULL;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, "id", 0, 10), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, 5), BF_OK);
    return p;
}

static bf_plan *key_plan(const bf_planner *p)
{
    bf_plan *plan = NULL;

    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
    return plan;
}

START_TEST(plan_accessors_answer_null_with_neutral_values)
{
    ck_assert_uint_eq(bf_plan_count(NULL), 0);
    ck_assert_ptr_null(bf_plan_batch(NULL, 0));
    ck_assert_int_eq(bf_plan_dimension(NULL), 0);
    ck_assert_ptr_null(bf_plan_column(NULL));
    ck_assert_ptr_null(bf_plan_fingerprint(NULL));
    ck_assert_uint_eq(bf_batch_ordinal(NULL), 0);
    ck_assert_int_eq(bf_batch_dimension(NULL), 0);
    ck_assert_ptr_null(bf_batch_label(NULL));
    ck_assert_int_eq(bf_batch_lo(NULL), 0);
    ck_assert_int_eq(bf_batch_hi(NULL), 0);
    ck_assert_uint_eq(bf_batch_param_count(NULL), 0);
    ck_assert_ptr_null(bf_batch_param_name(NULL, 0));
}
END_TEST

START_TEST(plan_calls_refuse_null)
{
    bf_planner *p = key_planner();
    bf_plan *plan = key_plan(p), *out = NULL;
    const bf_batch *batch = bf_plan_batch(plan, 0);
    size_t ordinal = 0;
    double seconds = 1.0, estimate;
    int64_t width;
    char *json = NULL;
    bf_value v;

    REFUSED(bf_plan_to_json(NULL, plan), "bf_plan_to_json", "out");
    json = (char *)"untouched";
    REFUSED(bf_plan_to_json(&json, NULL), "bf_plan_to_json", "plan");
    ck_assert_ptr_null(json);
    ck_assert_int_eq(bf_plan_to_json(&json, plan), BF_OK);
    REFUSED(bf_plan_from_json(NULL, json), "bf_plan_from_json", "out");
    REFUSED(bf_plan_from_json(&out, NULL), "bf_plan_from_json", "json");
    ck_assert_ptr_null(out);
    bf_free(json);

    REFUSED(bf_batch_param(NULL, batch, "lo"), "bf_batch_param", "out");
    REFUSED(bf_batch_param(&v, NULL, "lo"), "bf_batch_param", "batch");
    REFUSED(bf_batch_param_at(NULL, batch, 0), "bf_batch_param_at", "out");
    REFUSED(bf_batch_param_at(&v, NULL, 0), "bf_batch_param_at", "batch");

    REFUSED(bf_planner_plan(NULL, p), "bf_planner_plan", "out");
    REFUSED(bf_planner_plan(&out, NULL), "bf_planner_plan", "planner");
    REFUSED(bf_plan_verify(NULL, p), "bf_plan_verify", "plan");
    REFUSED(bf_plan_verify(plan, NULL), "bf_plan_verify", "planner");
    REFUSED(bf_plan_estimate(NULL, plan, &ordinal, &seconds, 1), "bf_plan_estimate", "out");
    REFUSED(bf_plan_estimate(&estimate, NULL, &ordinal, &seconds, 1), "bf_plan_estimate",
            "plan");
    REFUSED(bf_key_width_next(NULL, 5, 1.0, 0, 1.0), "bf_key_width_next", "out");
    REFUSED(bf_plan_split_batch(NULL, plan, 0), "bf_plan_split_batch", "out");
    REFUSED(bf_plan_split_batch(&out, NULL, 0), "bf_plan_split_batch", "plan");
    REFUSED(bf_plan_resize_keys(NULL, plan, 0, 2), "bf_plan_resize_keys", "out");
    REFUSED(bf_plan_resize_keys(&out, NULL, 0, 2), "bf_plan_resize_keys", "plan");
    ck_assert_ptr_null(out);

    /* With the NULL gone, the same calls work: the refusals were about NULL alone. */
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_OK);
    ck_assert_int_eq(bf_key_width_next(&width, 5, 1.0, 0, 1.0), BF_OK);
    ck_assert_int_eq(bf_plan_split_batch(&out, plan, 0), BF_OK);
    bf_plan_free(out);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(planner_calls_refuse_null)
{
    static const bf_value values[] = {{BF_VALUE_INT, 1, 0.0, NULL, 0}};
    bf_brief *brief = NULL;
    bf_planner *out = NULL;

    REFUSED(bf_planner_new(NULL), "bf_planner_new", "out");
    ck_assert_int_eq(bf_brief_new(&brief), BF_OK);
    REFUSED(bf_planner_new_from_brief(NULL, brief), "bf_planner_new_from_brief", "out");
    REFUSED(bf_planner_new_from_brief(&out, NULL), "bf_planner_new_from_brief", "brief");
    ck_assert_ptr_null(out);
    bf_brief_free(brief);

    /* Arguments that are valid apart from the planner, so the planner is what is refused. */
    REFUSED(bf_planner_set_time_scope(NULL, "ts", "2025-01-01", "2025-01-02", "UTC"),
            "bf_planner_set_time_scope", "planner");
    REFUSED(bf_planner_set_grain(NULL, BF_GRAIN_DAY, 1), "bf_planner_set_grain", "planner");
    REFUSED(bf_planner_set_time_format(NULL, BF_TIME_FORMAT_UNIX_S),
            "bf_planner_set_time_format", "planner");
    REFUSED(bf_planner_set_key_scope(NULL, "id", 0, 10), "bf_planner_set_key_scope", "planner");
    REFUSED(bf_planner_set_key_width(NULL, 5), "bf_planner_set_key_width", "planner");
    REFUSED(bf_planner_set_rows_per_batch(NULL, 5, NULL, NULL), "bf_planner_set_rows_per_batch",
            "planner");
    REFUSED(bf_planner_set_partition_scope(NULL, "p", values, 1),
            "bf_planner_set_partition_scope", "planner");
    REFUSED(bf_planner_set_bucket_scope(NULL, "id", 4), "bf_planner_set_bucket_scope",
            "planner");
    REFUSED(bf_planner_set_order(NULL, BF_BATCH_ORDER_NEWEST_FIRST), "bf_planner_set_order",
            "planner");
}
END_TEST

START_TEST(time_calls_answer_null)
{
    static const bf_civil sentinel = {1234, 5, 6, 7, 8, 9};
    bf_civil day = {2025, 3, 9, 2, 30, 0}, c = sentinel;
    bf_tz *tz = NULL;
    int64_t t = 42, year = 42;
    int week = 42;

    REFUSED(bf_tz_load(NULL, "UTC"), "bf_tz_load", "out");
    ck_assert_int_eq(bf_tz_load(&tz, "UTC"), BF_OK);
    REFUSED(bf_tz_to_utc(NULL, tz, &day), "bf_tz_to_utc", "out");
    REFUSED(bf_tz_to_utc(&t, NULL, &day), "bf_tz_to_utc", "tz");
    REFUSED(bf_tz_to_utc(&t, tz, NULL), "bf_tz_to_utc", "local");
    ck_assert_int_eq(t, 42);
    REFUSED(bf_civil_parse(NULL, "2025-03-09"), "bf_civil_parse", "out");

    ck_assert_ptr_null(bf_tz_name(NULL));
    ck_assert_int_eq(bf_tz_offset(NULL, 0), 0);
    ck_assert_int_eq(bf_tz_is_dst(NULL, 0), 0);
    ck_assert_int_eq(bf_civil_seconds(NULL), 0);
    ck_assert_int_eq(bf_civil_valid(NULL), 0);

    /* Void functions do nothing: what the other pointer points at is left as it was. */
    bf_tz_to_local(&c, NULL, 0);
    bf_civil_add_months(&c, NULL, 1);
    ck_assert_int_eq(bf_civil_seconds(&c), bf_civil_seconds(&sentinel));
    bf_civil_iso_week(&year, NULL, 2025, 3, 9);
    ck_assert_int_eq(year, 42);
    bf_civil_iso_week(NULL, &week, 2025, 3, 9);
    ck_assert_int_eq(week, 42);
    /* ... and a NULL out is not written (a crash fails the test). */
    bf_civil_from_days(NULL, 0);
    bf_civil_from_seconds(NULL, 0);
    bf_civil_add_months(NULL, &day, 1);
    bf_tz_to_local(NULL, tz, 0);
    bf_tz_free(tz);
}
END_TEST

START_TEST(fingerprint_calls_answer_null)
{
    static const bf_fingerprint sentinel = {7, 8, 9};
    bf_fingerprint a = {1, 2, 3}, out = sentinel;

    ck_assert_int_eq(bf_fingerprint_equal(NULL, &a), 0);
    ck_assert_int_eq(bf_fingerprint_equal(&a, NULL), 0);
    ck_assert_int_eq(bf_fingerprint_equal(NULL, NULL), 0);
    bf_fingerprint_add(&out, NULL, &a);
    bf_fingerprint_add(&out, &a, NULL);
    bf_fingerprint_sub(&out, NULL, &a);
    bf_fingerprint_sub(&out, &a, NULL);
    ck_assert_mem_eq(&out, &sentinel, sizeof out);
    bf_fingerprint_add(NULL, &a, &a);
    bf_fingerprint_sub(NULL, &a, &a);
    bf_fingerprint_add(&out, &a, &a);
    ck_assert_uint_eq(out.rows, 2);
}
END_TEST

/*
 * Every public function, with NULL and zero arguments (and, where it takes
 * pointers, once more with out-parameters given), each in a child so that
 * one crash cannot hide the next. The children's crashes are listed
 * together.
 */
START_TEST(every_public_function_survives_null)
{
    char crashed[4096] = "";
    size_t n = BF_ARRAY_LEN(null_calls), failures = 0;

    /* The headers were read: they declare 520 functions as this is written. */
    ck_assert_uint_ge(NULL_CALLS_DECLARED, 500);
    for (size_t i = 0; i < n; i++) {
        int status = 0;
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            alarm(10);
            memset(nc_storage, 0, sizeof nc_storage);
            null_calls[i].call();
            _exit(0);
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        failures++;
        snprintf(crashed + strlen(crashed), sizeof crashed - strlen(crashed), "\n  %s (%s): %s %d",
                 null_calls[i].name, null_calls[i].how,
                 WIFSIGNALED(status) ? "signal" : "exit status",
                 WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status));
    }
    ck_assert_msg(failures == 0, "%zu of %zu calls crashed:%s", failures, n, crashed);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("null_args");
    TCase *tc = tcase_create("null_args");

    tcase_add_test(tc, plan_accessors_answer_null_with_neutral_values);
    tcase_add_test(tc, plan_calls_refuse_null);
    tcase_add_test(tc, planner_calls_refuse_null);
    tcase_add_test(tc, time_calls_answer_null);
    tcase_add_test(tc, fingerprint_calls_answer_null);
    tcase_add_test(tc, every_public_function_survives_null);
    tcase_set_timeout(tc, 120);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
