#include <stdio.h>
#include <string.h>

#include "backfill.h"
#include "bftest.h"
#include "common/internal.h"
#include "plan/plan_internal.h"

static const char *const time_names[] = {"start", "end"};

/* Three day batches in unix seconds, as the planner would make them. */
static bf_plan *three_days(const char *pin)
{
    static const char *labels[] = {"2025-03-08", "2025-03-09", "2025-03-10"};
    static const int64_t starts[] = {1741410000, 1741496400, 1741579200, 1741665600};
    bf_plan *plan;

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_TIME, "order_ts", 0), BF_OK);
    for (int i = 0; i < 3; i++) {
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = starts[i]},
                         {.type = BF_VALUE_INT, .i = starts[i + 1]}};

        ck_assert_int_eq(bf__plan_add(plan, starts[i] * 1000000, starts[i + 1] * 1000000,
                                      labels[i], 2, time_names, v),
                         BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(plan, pin), BF_OK);
    return plan;
}

START_TEST(batches_keep_bounds_labels_and_params)
{
    bf_plan *plan = three_days("scope");
    const bf_batch *b;
    bf_value v;

    ck_assert_uint_eq(bf_plan_count(plan), 3);
    ck_assert_int_eq(bf_plan_dimension(plan), BF_DIM_TIME);
    ck_assert_str_eq(bf_plan_column(plan), "order_ts");
    b = bf_plan_batch(plan, 1);
    ck_assert_uint_eq(bf_batch_ordinal(b), 1);
    ck_assert_int_eq(bf_batch_dimension(b), BF_DIM_TIME);
    ck_assert_str_eq(bf_batch_label(b), "2025-03-09");
    ck_assert_int_eq(bf_batch_lo(b), 1741496400LL * 1000000);
    ck_assert_int_eq(bf_batch_hi(b) - bf_batch_lo(b), 23LL * 3600 * 1000000);
    ck_assert_uint_eq(bf_batch_param_count(b), 2);
    ck_assert_str_eq(bf_batch_param_name(b, 0), "start");
    ck_assert_ptr_null(bf_batch_param_name(b, 2));
    ck_assert_int_eq(bf_batch_param(&v, b, ":end"), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_INT);
    ck_assert_int_eq(v.i, 1741579200);
    ck_assert_int_eq(bf_batch_param(&v, b, "lo"), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "batch 2025-03-09: no parameter ':lo'");
    ck_assert_ptr_null(bf_plan_batch(plan, 3));
    bf_plan_free(plan);
}
END_TEST

START_TEST(fingerprint_pins_scope_and_every_batch)
{
    bf_plan *a = three_days("scope"), *b = three_days("scope"), *c = three_days("other scope");
    bf_plan *d;
    bf_value v = {.type = BF_VALUE_INT, .i = 1};
    const char *name = "lo";

    ck_assert_uint_eq(strlen(bf_plan_fingerprint(a)), 32);
    ck_assert_str_eq(bf_plan_fingerprint(a), bf_plan_fingerprint(b));
    ck_assert_str_ne(bf_plan_fingerprint(a), bf_plan_fingerprint(c));
    /* A plan differing only in one batch's label is a different plan. */
    ck_assert_int_eq(bf__plan_new(&d, BF_DIM_KEY, "id", 0), BF_OK);
    ck_assert_int_eq(bf__plan_add(d, 0, 10, "id [0, 10)", 1, &name, &v), BF_OK);
    ck_assert_int_eq(bf__plan_seal(d, ""), BF_OK);
    ck_assert_str_ne(bf_plan_fingerprint(a), bf_plan_fingerprint(d));
    ck_assert_int_eq(bf__plan_add(d, 10, 20, "late", 1, &name, &v), BF_E_STATE);
    bf_plan_free(a);
    bf_plan_free(b);
    bf_plan_free(c);
    bf_plan_free(d);
}
END_TEST

START_TEST(bad_batches_are_refused)
{
    bf_plan *plan;
    const char *names[] = {"a", "a"};
    bf_value v[2] = {{.type = BF_VALUE_INT}, {.type = BF_VALUE_BLOB, .s = "x", .len = 1}};

    ck_assert_int_eq(bf__plan_new(&plan, (bf_dimension)9, "c", 0), BF_E_INVALID);
    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "", 0), BF_E_INVALID);
    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "id", 0), BF_OK);
    ck_assert_int_eq(bf__plan_add(plan, 0, 1, "x", 2, names, v), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "'a' given twice"));
    ck_assert_int_eq(bf__plan_add(plan, 0, 1, "x", 1, names + 1, v + 1), BF_E_INVALID);
    ck_assert_int_eq(bf__plan_add(plan, 0, 1, "x", 5, names, v), BF_E_INVALID);
    ck_assert_uint_eq(bf_plan_count(plan), 0);
    bf_plan_free(plan);
}
END_TEST

START_TEST(json_round_trip_is_exact)
{
    static const char *const names[] = {"partition"};
    bf_plan *plan, *back;
    bf_value v[3] = {{.type = BF_VALUE_TEXT, .s = "eu-\"west\"", .len = 9},
                     {.type = BF_VALUE_INT, .i = -7},
                     {.type = BF_VALUE_REAL, .r = 2.5}};
    char *json, *again;
    bf_value got;

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_PARTITION, "region", 0), BF_OK);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(bf__plan_add(plan, i, i, i == 0 ? "eu-\"west\"" : "other", 1, names,
                                      &v[i]),
                         BF_OK);
    ck_assert_int_eq(bf__plan_seal(plan, "partitions region"), BF_OK);
    ck_assert_int_eq(bf_plan_to_json(&json, plan), BF_OK);
    ck_assert_int_eq(bf_plan_from_json(&back, json), BF_OK);
    ck_assert_str_eq(bf_plan_fingerprint(back), bf_plan_fingerprint(plan));
    ck_assert_uint_eq(bf_plan_count(back), 3);
    ck_assert_int_eq(bf_batch_param(&got, bf_plan_batch(back, 0), "partition"), BF_OK);
    ck_assert_int_eq(got.type, BF_VALUE_TEXT);
    ck_assert_str_eq(got.s, "eu-\"west\"");
    ck_assert_int_eq(bf_batch_param(&got, bf_plan_batch(back, 1), "partition"), BF_OK);
    ck_assert_int_eq(got.i, -7);
    ck_assert_int_eq(bf_batch_param(&got, bf_plan_batch(back, 2), "partition"), BF_OK);
    ck_assert(got.type == BF_VALUE_REAL && got.r == 2.5);
    ck_assert_int_eq(bf_plan_to_json(&again, back), BF_OK);
    ck_assert_str_eq(again, json);
    bf_free(json);
    bf_free(again);
    bf_plan_free(plan);
    bf_plan_free(back);
}
END_TEST

START_TEST(edited_json_is_refused)
{
    bf_plan *plan = three_days("scope"), *back = NULL;
    char *json, *at;

    ck_assert_int_eq(bf_plan_to_json(&json, plan), BF_OK);
    at = strstr(json, "2025-03-09");
    ck_assert_ptr_nonnull(at);
    at[9] = '8';
    ck_assert_int_eq(bf_plan_from_json(&back, json), BF_E_CONFLICT);
    ck_assert_ptr_null(back);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "the plan was edited"));
    ck_assert_int_eq(bf_plan_from_json(&back, "{\"format\": 1"), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "plan: 1:"));
    ck_assert_int_eq(bf_plan_from_json(&back, "{\"format\": \"backfill-plan/9\", \"dimension\": "
                                              "\"key\", \"column\": \"id\", \"fingerprint\": "
                                              "\"\", \"pin\": \"\", \"count\": 0, \"batches\": []}"),
                     BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "$.format"));
    bf_free(json);
    bf_plan_free(plan);
}
END_TEST

/* `json` with its first `from` replaced by `to`, in a buffer the next call reuses. */
static const char *edited(const char *json, const char *from, const char *to)
{
    static char buf[4096];
    const char *at = strstr(json, from);

    ck_assert_ptr_nonnull(at);
    snprintf(buf, sizeof buf, "%.*s%s%s", (int)(at - json), json, to, at + strlen(from));
    return buf;
}

START_TEST(members_are_named_and_others_are_ignored)
{
    bf_plan *plan = three_days("scope"), *back = NULL;
    char *json;

    ck_assert_int_eq(bf_plan_to_json(&json, plan), BF_OK);
    /* What `backfill plan --json` adds is not looked at: the fingerprint covers what is read. */
    ck_assert_int_eq(bf_plan_from_json(&back, edited(json, "\"count\"", "\"first\":{},\"count\"")),
                     BF_OK);
    ck_assert_str_eq(bf_plan_fingerprint(back), bf_plan_fingerprint(plan));
    bf_plan_free(back);
    ck_assert_int_eq(bf_plan_from_json(&back, edited(json, "{\"label\"",
                                                     "{\"ordinal\":0,\"rows\":7,\"label\"")),
                     BF_OK);
    bf_plan_free(back);
    /* A member missing or of another type is named in a sentence, not Jansson's words. */
    ck_assert_int_eq(bf_plan_from_json(&back, edited(json, "\"pin\":\"scope\",", "")), BF_E_PARSE);
    ck_assert_str_eq(bf_last_error(), "plan: $.pin is missing: a plan has format, dimension, column, "
                                      "fingerprint, pin, count and batches");
    ck_assert_int_eq(bf_plan_from_json(&back, edited(json, "\"count\":3", "\"count\":\"3\"")),
                     BF_E_PARSE);
    ck_assert_str_eq(bf_last_error(), "plan: $.count: expected an integer, got a string");
    ck_assert_int_eq(bf_plan_from_json(&back, edited(json, "\"label\":\"2025-03-09\",", "")),
                     BF_E_PARSE);
    ck_assert_str_eq(bf_last_error(), "plan: $.batches[1].label is missing: each batch has label, lo, "
                                      "hi and params");
    ck_assert_int_eq(bf_plan_from_json(&back, "[]"), BF_E_PARSE);
    ck_assert_str_eq(bf_last_error(), "plan: expected an object, got an array");
    ck_assert_ptr_null(back);
    bf_free(json);
    bf_plan_free(plan);
}
END_TEST

struct rt {
    bf_plan *plan;
    char *json;
    bf_plan *back;
};

static int build_and_round_trip(void *arg)
{
    struct rt *rt = arg;
    int rc;

    rc = bf__plan_new(&rt->plan, BF_DIM_KEY, "order_id", 0);
    for (int64_t lo = 0; rc == BF_OK && lo < 200; lo += 10) {
        static const char *const names[] = {"lo", "hi"};
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = lo}, {.type = BF_VALUE_INT, .i = lo + 10}};
        char label[64];

        snprintf(label, sizeof label, "order_id [%lld, %lld)", (long long)lo, (long long)lo + 10);
        rc = bf__plan_add(rt->plan, lo, lo + 10, label, 2, names, v);
    }
    if (rc == BF_OK)
        rc = bf__plan_seal(rt->plan, "keys order_id [0, 200) width 10");
    if (rc == BF_OK)
        rc = bf_plan_to_json(&rt->json, rt->plan);
    if (rc == BF_OK)
        rc = bf_plan_from_json(&rt->back, rt->json);
    return rc;
}

static void free_round_trip(void *arg)
{
    struct rt *rt = arg;

    bf_plan_free(rt->plan);
    bf_plan_free(rt->back);
    bf_free(rt->json);
    memset(rt, 0, sizeof *rt);
}

START_TEST(every_allocation_failure_is_clean)
{
    struct rt rt = {0};

    ck_assert_int_gt(failalloc_sweep(build_and_round_trip, free_round_trip, &rt), 10);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("plan_model");
    TCase *tc = tcase_create("model");

    tcase_add_test(tc, batches_keep_bounds_labels_and_params);
    tcase_add_test(tc, fingerprint_pins_scope_and_every_batch);
    tcase_add_test(tc, bad_batches_are_refused);
    tcase_add_test(tc, json_round_trip_is_exact);
    tcase_add_test(tc, edited_json_is_refused);
    tcase_add_test(tc, members_are_named_and_others_are_ignored);
    tcase_add_test(tc, every_allocation_failure_is_clean);
    suite_add_tcase(s, tc);
    return bftest_run(s);
}
