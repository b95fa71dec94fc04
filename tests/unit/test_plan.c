/*
 * The planner: time batches in real zones (DST days of 23 and 25 hours,
 * 30-minute DST, +05:45), labels and bound parameters, key ranges,
 * partitions, buckets, refusals, the coverage proof, fingerprints, sizing,
 * and property tests over random scopes checked against glibc's own tz code.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backfill.h"
#include "bftest.h"
#include "common/internal.h"
#include "plan/plan_internal.h"

#define HOUR_US (3600LL * 1000000)

/* Only failures reach the forked runner (see test_time.c). */
#define EXPECT(cond, ...)                                                                     \
    do {                                                                                      \
        if (!(cond))                                                                          \
            ck_abort_msg(__VA_ARGS__);                                                        \
    } while (0)

static bf_planner *time_planner(const char *start, const char *end, const char *zone,
                                bf_grain grain, unsigned every)
{
    bf_planner *p;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_msg(bf_planner_set_time_scope(p, "order_ts", start, end, zone) == BF_OK, "%s",
                  bf_last_error());
    ck_assert_int_eq(bf_planner_set_grain(p, grain, every), BF_OK);
    return p;
}

static bf_plan *plan_of(const bf_planner *p)
{
    bf_plan *plan = NULL;

    ck_assert_msg(bf_planner_plan(&plan, p) == BF_OK, "%s", bf_last_error());
    ck_assert_msg(bf_plan_verify(plan, p) == BF_OK, "%s", bf_last_error());
    return plan;
}

static const bf_batch *find_label(const bf_plan *plan, const char *label)
{
    for (size_t i = 0; i < bf_plan_count(plan); i++)
        if (strcmp(bf_batch_label(bf_plan_batch(plan, i)), label) == 0)
            return bf_plan_batch(plan, i);
    ck_abort_msg("no batch labelled %s", label);
    return NULL;
}

static int64_t hours_x2(const bf_batch *b)
{
    return (bf_batch_hi(b) - bf_batch_lo(b)) * 2 / HOUR_US;
}

static int64_t int_param(const bf_batch *b, const char *name)
{
    bf_value v;

    ck_assert_int_eq(bf_batch_param(&v, b, name), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_INT);
    return v.i;
}

static const char *text_param(const bf_batch *b, const char *name)
{
    bf_value v;

    ck_assert_int_eq(bf_batch_param(&v, b, name), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_TEXT);
    return v.s;
}

/* ---- the "Done when" zones -------------------------------------------------- */

START_TEST(new_york_2025_has_365_days_with_23_and_25_hour_dst_days)
{
    bf_planner *p = time_planner("2025-01-01", "2026-01-01", "America/New_York", BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);
    const bf_batch *b;

    ck_assert_uint_eq(bf_plan_count(plan), 365);
    ck_assert_int_eq(bf_plan_dimension(plan), BF_DIM_TIME);
    ck_assert_str_eq(bf_plan_column(plan), "order_ts");
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-03-09")), 46);
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-11-02")), 50);
    for (size_t i = 0; i < 365; i++) {
        b = bf_plan_batch(plan, i);
        ck_assert_uint_eq(bf_batch_ordinal(b), i);
        if (strcmp(bf_batch_label(b), "2025-03-09") && strcmp(bf_batch_label(b), "2025-11-02"))
            ck_assert_int_eq(hours_x2(b), 48);
    }
    b = bf_plan_batch(plan, 0);
    ck_assert_str_eq(bf_batch_label(b), "2025-01-01");
    ck_assert_int_eq(int_param(b, "start"), 1735707600); /* 2025-01-01 05:00 UTC */
    ck_assert_int_eq(int_param(b, "end"), 1735794000);
    ck_assert_int_eq(bf_batch_lo(b), 1735707600LL * 1000000);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 364)), "2025-12-31");
    b = find_label(plan, "2025-03-09");
    ck_assert_int_eq(int_param(b, "end") - int_param(b, "start"), 23 * 3600);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(utc_days_are_24_hours)
{
    bf_planner *p = time_planner("2025-01-01", "2026-01-01", NULL, BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 365);
    for (size_t i = 0; i < 365; i++)
        ck_assert_int_eq(hours_x2(bf_plan_batch(plan, i)), 48);
    ck_assert_int_eq(int_param(bf_plan_batch(plan, 0), "start"), 1735689600);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(london_bst_days)
{
    bf_planner *p = time_planner("2025-01-01", "2026-01-01", "Europe/London", BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 365);
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-03-30")), 46);
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-10-26")), 50);
    ck_assert_int_eq(int_param(find_label(plan, "2025-07-01"), "start"), 1751324400);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(lord_howe_half_hour_dst_days_and_hours)
{
    bf_planner *p = time_planner("2025-01-01", "2026-01-01", "Australia/Lord_Howe",
                                 BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 365);
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-04-06")), 49); /* 24.5 hours */
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-10-05")), 47); /* 23.5 hours */
    bf_plan_free(plan);
    bf_planner_free(p);

    /* Hours of the spring-forward night: 02:00 -> 02:30 leaves a half-hour batch. */
    p = time_planner("2025-10-05", "2025-10-05 04:00", "Australia/Lord_Howe", BF_GRAIN_HOUR, 1);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 4);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 2)), "2025-10-05 02:00");
    ck_assert_int_eq(hours_x2(bf_plan_batch(plan, 2)), 1);
    ck_assert_int_eq(hours_x2(bf_plan_batch(plan, 3)), 2);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(kathmandu_days_start_at_18_15_utc)
{
    bf_planner *p = time_planner("2025-03-01", "2025-04-01", "Asia/Kathmandu", BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 31);
    for (size_t i = 0; i < 31; i++) {
        const bf_batch *b = bf_plan_batch(plan, i);

        ck_assert_int_eq(hours_x2(b), 48);
        ck_assert_int_eq(int_param(b, "start") % 86400, 18 * 3600 + 15 * 60);
    }
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

/* ---- grains, labels, clipping, formats -------------------------------------- */

START_TEST(labels_of_every_grain)
{
    static const struct {
        bf_grain grain;
        unsigned every;
        const char *start, *end;
        size_t count;
        const char *first, *last;
    } cases[] = {
        {BF_GRAIN_HOUR, 1, "2025-03-09 12:00", "2025-03-09 15:00", 3, "2025-03-09 12:00",
         "2025-03-09 14:00"},
        {BF_GRAIN_DAY, 1, "2025-03-09", "2025-03-11", 2, "2025-03-09", "2025-03-10"},
        {BF_GRAIN_WEEK, 1, "2025-03-03", "2025-03-17", 2, "2025-W10", "2025-W11"},
        {BF_GRAIN_WEEK, 1, "2024-12-30", "2025-01-06", 1, "2025-W01", "2025-W01"},
        {BF_GRAIN_MONTH, 1, "2025-01-01", "2025-04-01", 3, "2025-01", "2025-03"},
        {BF_GRAIN_QUARTER, 1, "2025-01-01", "2026-01-01", 4, "2025-Q1", "2025-Q4"},
        {BF_GRAIN_YEAR, 1, "2023-01-01", "2026-01-01", 3, "2023", "2025"},
        {BF_GRAIN_DAY, 7, "2025-01-01", "2025-01-15", 2, "2025-01-01..2025-01-07",
         "2025-01-08..2025-01-14"},
        /* A period cut short by the scope's end is labelled up to its last grain in scope. */
        {BF_GRAIN_MONTH, 2, "2025-01-01", "2025-06-01", 3, "2025-01..2025-02", "2025-05"},
        {BF_GRAIN_DAY, 7, "2025-01-01", "2025-01-11", 2, "2025-01-01..2025-01-07",
         "2025-01-08..2025-01-10"},
        {BF_GRAIN_DAY, 7, "2025-01-01", "2025-01-10 06:00", 2, "2025-01-01..2025-01-07",
         "2025-01-08..2025-01-10"},
        {BF_GRAIN_DAY, 7, "2025-01-01", "2025-01-09", 2, "2025-01-01..2025-01-07", "2025-01-08"},
        {BF_GRAIN_HOUR, 6, "2025-03-09", "2025-03-09 20:00", 4,
         "2025-03-09 00:00..2025-03-09 05:00", "2025-03-09 18:00..2025-03-09 19:00"},
        {BF_GRAIN_HOUR, 6, "2025-03-09", "2025-03-10", 4, "2025-03-09 00:00..2025-03-09 05:00",
         "2025-03-09 18:00..2025-03-09 23:00"},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(cases); i++) {
        bf_planner *p = time_planner(cases[i].start, cases[i].end, "America/New_York",
                                     cases[i].grain, cases[i].every);
        bf_plan *plan = plan_of(p);
        size_t n = bf_plan_count(plan);

        ck_assert_msg(n == cases[i].count, "case %zu: %zu batches", i, n);
        ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), cases[i].first);
        ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, n - 1)), cases[i].last);
        bf_plan_free(plan);
        bf_planner_free(p);
    }
}
END_TEST

START_TEST(first_and_last_batches_are_clipped_to_the_scope)
{
    bf_planner *p = time_planner("2025-03-09 14:30", "2025-03-11 06:00", "America/New_York",
                                 BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 3);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), "2025-03-09");
    ck_assert_int_eq(int_param(bf_plan_batch(plan, 0), "start"), 1741545000); /* 18:30 UTC */
    ck_assert_int_eq(hours_x2(bf_plan_batch(plan, 0)), 19);
    ck_assert_int_eq(int_param(bf_plan_batch(plan, 2), "end"), 1741687200); /* 10:00 UTC */
    bf_plan_free(plan);
    bf_planner_free(p);

    /* Weeks: the scope's Wednesday start is clipped out of ISO week 1. */
    p = time_planner("2025-01-01", "2025-01-14", "UTC", BF_GRAIN_WEEK, 1);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 3);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), "2025-W01");
    ck_assert_int_eq(hours_x2(bf_plan_batch(plan, 0)), 5 * 48);
    ck_assert_int_eq(hours_x2(bf_plan_batch(plan, 2)), 48);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(hours_skip_the_missing_hour_and_double_the_repeated_one)
{
    bf_planner *p = time_planner("2025-03-09", "2025-03-10", "America/New_York", BF_GRAIN_HOUR, 1);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 23);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 2)), "2025-03-09 03:00");
    bf_plan_free(plan);
    bf_planner_free(p);

    p = time_planner("2025-11-02", "2025-11-03", "America/New_York", BF_GRAIN_HOUR, 1);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 24);
    ck_assert_int_eq(hours_x2(find_label(plan, "2025-11-02 01:00")), 4);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(parameters_in_every_time_format)
{
    bf_planner *p = time_planner("2025-03-09", "2025-03-10", "America/New_York", BF_GRAIN_DAY, 1);
    bf_plan *plan;
    const bf_batch *b;

    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_UNIX_MS), BF_OK);
    plan = plan_of(p);
    ck_assert_int_eq(int_param(bf_plan_batch(plan, 0), "start"), 1741496400000LL);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_UNIX_US), BF_OK);
    plan = plan_of(p);
    ck_assert_int_eq(int_param(bf_plan_batch(plan, 0), "end"), 1741579200000000LL);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_ISO8601), BF_OK);
    plan = plan_of(p);
    b = bf_plan_batch(plan, 0);
    ck_assert_str_eq(text_param(b, "start"), "2025-03-09 05:00:00");
    ck_assert_str_eq(text_param(b, ":end"), "2025-03-10 04:00:00");
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_DATE), BF_OK);
    plan = plan_of(p);
    b = bf_plan_batch(plan, 0);
    ck_assert_str_eq(text_param(b, "start"), "2025-03-09");
    ck_assert_str_eq(text_param(b, "end"), "2025-03-10");
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(date_format_needs_whole_days)
{
    bf_planner *p = time_planner("2025-03-09", "2025-03-10", "UTC", BF_GRAIN_HOUR, 1);
    bf_plan *plan = NULL;

    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_DATE), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time scope order_ts: hour batches cannot be bound as "
                                      "dates (time_format date); use a day grain or coarser");
    ck_assert_int_eq(bf_planner_set_time_scope(p, "order_ts", "2025-03-09 12:00", "2025-03-11",
                                               "UTC"),
                     BF_OK);
    ck_assert_int_eq(bf_planner_set_grain(p, BF_GRAIN_DAY, 1), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time scope order_ts: with time_format date the scope "
                                      "must start and end at midnight");
    ck_assert_ptr_null(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(newest_first_reverses_the_same_batches)
{
    bf_planner *p = time_planner("2025-03-01", "2025-04-01", "America/New_York", BF_GRAIN_DAY, 1);
    bf_plan *oldest = plan_of(p), *newest;
    size_t n = bf_plan_count(oldest);

    ck_assert_int_eq(bf_planner_set_order(p, BF_BATCH_ORDER_NEWEST_FIRST), BF_OK);
    newest = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(newest), n);
    for (size_t i = 0; i < n; i++) {
        const bf_batch *a = bf_plan_batch(oldest, i), *b = bf_plan_batch(newest, n - 1 - i);

        ck_assert_int_eq(bf_batch_lo(a), bf_batch_lo(b));
        ck_assert_int_eq(bf_batch_hi(a), bf_batch_hi(b));
        ck_assert_str_eq(bf_batch_label(a), bf_batch_label(b));
        ck_assert_uint_eq(bf_batch_ordinal(b), n - 1 - i);
    }
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(newest, 0)), "2025-03-31");
    ck_assert_str_ne(bf_plan_fingerprint(oldest), bf_plan_fingerprint(newest));
    /* The oldest-first plan does not tile the scope in newest-first order. */
    ck_assert_int_eq(bf_plan_verify(oldest, p), BF_E_VALIDATION);
    bf_plan_free(oldest);
    bf_plan_free(newest);
    bf_planner_free(p);
}
END_TEST

/* ---- keys, partitions, buckets ---------------------------------------------- */

static bf_planner *key_planner(int64_t lo, int64_t hi, int64_t width)
{
    bf_planner *p;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, "order_id", lo, hi), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, width), BF_OK);
    return p;
}

START_TEST(key_ranges_of_fixed_width)
{
    bf_planner *p = key_planner(10000, 45000, 10000);
    bf_plan *plan = plan_of(p);
    const bf_batch *b;

    ck_assert_uint_eq(bf_plan_count(plan), 4);
    ck_assert_int_eq(bf_plan_dimension(plan), BF_DIM_KEY);
    b = bf_plan_batch(plan, 0);
    ck_assert_str_eq(bf_batch_label(b), "order_id [10000, 20000)");
    ck_assert_int_eq(int_param(b, "lo"), 10000);
    ck_assert_int_eq(int_param(b, "hi"), 20000);
    b = bf_plan_batch(plan, 3);
    ck_assert_str_eq(bf_batch_label(b), "order_id [40000, 45000)");
    ck_assert_int_eq(bf_batch_hi(b), 45000);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_order(p, BF_BATCH_ORDER_NEWEST_FIRST), BF_OK);
    plan = plan_of(p);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), "order_id [40000, 45000)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 3)), "order_id [10000, 20000)");
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(key_ranges_span_the_whole_int64_range)
{
    bf_planner *p = key_planner(INT64_MIN, INT64_MAX, INT64_C(1) << 62);
    bf_plan *plan = plan_of(p);

    ck_assert_uint_eq(bf_plan_count(plan), 4);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)),
                     "order_id [-9223372036854775808, -4611686018427387904)");
    ck_assert_int_eq(bf_batch_hi(bf_plan_batch(plan, 3)), INT64_MAX);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

/* A table's sorted keys; the callback finds where `rows` rows from `from` end. */
static const int64_t table_keys[] = {3, 4, 8, 15, 16, 23, 42, 43, 44, 100};

static int walk_keys(int64_t *out, int64_t from, int64_t hi, int64_t rows, void *userdata)
{
    int *calls = userdata;
    int64_t seen = 0;

    (*calls)++;
    for (size_t i = 0; i < BF_ARRAY_LEN(table_keys); i++) {
        if (table_keys[i] < from || table_keys[i] >= hi)
            continue;
        if (seen++ == rows) {
            *out = table_keys[i];
            return BF_OK;
        }
    }
    *out = hi;
    return BF_OK;
}

static int failing_walk(int64_t *out, int64_t from, int64_t hi, int64_t rows, void *userdata)
{
    (void)out, (void)from, (void)hi, (void)rows, (void)userdata;
    return BF_E_USER;
}

static int backwards_walk(int64_t *out, int64_t from, int64_t hi, int64_t rows, void *userdata)
{
    (void)hi, (void)rows, (void)userdata;
    *out = from;
    return BF_OK;
}

START_TEST(rows_per_batch_walks_the_key)
{
    bf_planner *p;
    bf_plan *plan = NULL;
    int calls = 0;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, "order_id", 0, 101), BF_OK);
    ck_assert_int_eq(bf_planner_set_rows_per_batch(p, 3, walk_keys, &calls), BF_OK);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 4);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), "order_id [0, 15)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 1)), "order_id [15, 42)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 2)), "order_id [42, 100)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 3)), "order_id [100, 101)");
    ck_assert_int_eq(calls, 4);
    bf_plan_free(plan);
    plan = NULL;

    ck_assert_int_eq(bf_planner_set_rows_per_batch(p, 3, failing_walk, NULL), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_USER);
    ck_assert_int_eq(bf_planner_set_rows_per_batch(p, 3, backwards_walk, NULL), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "key scope order_id: the key-boundary callback answered 0 "
                                      "after 0; it must be in (0, 101]");
    ck_assert_ptr_null(plan);
    ck_assert_int_eq(bf_planner_set_rows_per_batch(p, 0, walk_keys, NULL), BF_E_INVALID);
    ck_assert_int_eq(bf_planner_set_rows_per_batch(p, 5, NULL, NULL), BF_E_INVALID);
    bf_planner_free(p);
}
END_TEST

/* 42 and "42" are two values with two labels; text reading like an integer is quoted. */
START_TEST(partition_labels_tell_integers_from_text)
{
    static const char long_digits[] = "1234567890123456789012345678901234567890123456789012345678901234567890"
                                      "1234567890123456789012345678901234567890123456789012345678901234567890"
                                      "123456789012345678";
    bf_value values[7] = {{.type = BF_VALUE_INT, .i = 42},
                          {.type = BF_VALUE_TEXT, .s = "42", .len = 2},
                          {.type = BF_VALUE_INT, .i = -7},
                          {.type = BF_VALUE_TEXT, .s = "-7", .len = 2},
                          {.type = BF_VALUE_TEXT, .s = "\"42\"", .len = 4},
                          {.type = BF_VALUE_TEXT, .s = "eu-2025", .len = 7},
                          {.type = BF_VALUE_TEXT, .s = long_digits, .len = sizeof long_digits - 1}};
    static const char *const want[7] = {"42", "\"42\"", "-7", "\"-7\"", "\"\"42\"\"", "eu-2025", NULL};
    bf_planner *p;
    bf_plan *plan;

    ck_assert_uint_eq(sizeof long_digits - 1, 158); /* the longest text value a partition takes */
    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_partition_scope(p, "region", values, 7), BF_OK);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 7);
    for (size_t i = 0; i < 6; i++)
        ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, i)), want[i]);
    ck_assert_uint_eq(strlen(bf_batch_label(bf_plan_batch(plan, 6))), 160);
    ck_assert_int_eq(bf_batch_label(bf_plan_batch(plan, 6))[0], '"');
    for (size_t i = 0; i < 7; i++)
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(bf_batch_label(bf_plan_batch(plan, i)), bf_batch_label(bf_plan_batch(plan, j)));
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_OK);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(partitions_one_batch_per_value)
{
    bf_value values[3] = {{.type = BF_VALUE_TEXT, .s = "eu-west", .len = 7},
                          {.type = BF_VALUE_TEXT, .s = "us-east", .len = 7},
                          {.type = BF_VALUE_INT, .i = 42}};
    bf_planner *p;
    bf_plan *plan;
    bf_value v;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_partition_scope(p, "region", values, 3), BF_OK);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 3);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 1)), "us-east");
    ck_assert_str_eq(text_param(bf_plan_batch(plan, 1), "partition"), "us-east");
    ck_assert_int_eq(bf_batch_lo(bf_plan_batch(plan, 1)), 1);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 2)), "42");
    ck_assert_int_eq(bf_batch_param(&v, bf_plan_batch(plan, 2), "partition"), BF_OK);
    ck_assert_int_eq(v.i, 42);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_order(p, BF_BATCH_ORDER_NEWEST_FIRST), BF_OK);
    plan = plan_of(p);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 0)), "42");
    bf_plan_free(plan);

    values[1].s = "eu-west";
    ck_assert_int_eq(bf_planner_set_partition_scope(p, "region", values, 3), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "partition scope region: value 1 repeats value 0");
    values[1] = (bf_value){.type = BF_VALUE_REAL, .r = 1.5};
    ck_assert_int_eq(bf_planner_set_partition_scope(p, "region", values, 3), BF_E_INVALID);
    ck_assert_int_eq(bf_planner_set_partition_scope(p, "region", values, 0), BF_E_INVALID);
    bf_planner_free(p);
}
END_TEST

START_TEST(buckets_one_batch_each)
{
    bf_planner *p;
    bf_plan *plan;
    const bf_batch *b;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_bucket_scope(p, "customer_id", 16), BF_OK);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 16);
    b = bf_plan_batch(plan, 3);
    ck_assert_str_eq(bf_batch_label(b), "bucket 3/16");
    ck_assert_int_eq(int_param(b, "bucket"), 3);
    ck_assert_int_eq(int_param(b, "buckets"), 16);
    ck_assert_int_eq(bf_batch_lo(b), 3);
    ck_assert_int_eq(bf_batch_hi(b), 16);
    bf_plan_free(plan);
    ck_assert_int_eq(bf_planner_set_bucket_scope(p, "customer_id", 0), BF_E_INVALID);
    bf_planner_free(p);
}
END_TEST

/* ---- refusals ------------------------------------------------------------------ */

START_TEST(bad_scopes_and_batching_are_refused)
{
    bf_planner *p;
    bf_plan *plan = NULL;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "planner: no scope set");

    ck_assert_int_eq(bf_planner_set_time_scope(p, "ts", "2025-06-01", "2025-01-01", "UTC"),
                     BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time scope: start 2025-06-01 is after its end 2025-01-01");
    ck_assert_int_eq(bf_planner_set_time_scope(p, "ts", "2025-06-01", "2025-06-01", "UTC"),
                     BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time scope: start 2025-06-01 is equal to its end "
                                      "2025-06-01");
    ck_assert_int_eq(bf_planner_set_time_scope(p, "ts", "2025-01-01", "2025-06-01", "Mars/Base"),
                     BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "time zone 'Mars/Base': no such zone (no file "
                                      "/usr/share/zoneinfo/Mars/Base)");
    ck_assert_int_eq(bf_planner_set_time_scope(p, "ts", "2025-01-01", "June", "UTC"),
                     BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time scope: date-time 'June': expected YYYY-MM-DD, "
                                      "YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS");
    ck_assert_int_eq(bf_planner_set_time_scope(p, "", "2025-01-01", "2025-02-01", "UTC"),
                     BF_E_INVALID);
    /* Both ends inside the same spring-forward gap: no instant at all. */
    ck_assert_int_eq(bf_planner_set_time_scope(p, "ts", "2025-03-09 02:10", "2025-03-09 02:40",
                                               "America/New_York"),
                     BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "holds no instant"));

    ck_assert_int_eq(bf_planner_set_grain(p, BF_GRAIN_DAY, 0), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "batching: every must be at least 1 day, got 0");
    ck_assert_int_eq(bf_planner_set_key_width(p, 0), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "batching: key width must be at least 1, got 0");
    ck_assert_int_eq(bf_planner_set_key_scope(p, "id", 100, 10), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "key scope id: start 100 is after its end 10");

    ck_assert_int_eq(bf_planner_set_key_scope(p, "id", 0, 10), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "key scope id: set a key width or rows_per_batch to batch it");
    ck_assert_int_eq(bf_planner_set_key_scope(p, "id", 0, INT64_C(1) << 40), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, 1), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "more than a plan holds"));
    ck_assert_ptr_null(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(names_of_grains_formats_and_orders)
{
    bf_grain g;
    bf_time_format f;
    bf_batch_order o;

    ck_assert_int_eq(bf_grain_from_name(&g, "quarter"), BF_OK);
    ck_assert_int_eq(g, BF_GRAIN_QUARTER);
    ck_assert_str_eq(bf_grain_name(BF_GRAIN_WEEK), "week");
    ck_assert_int_eq(bf_grain_from_name(&g, "fortnight"), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(),
                     "grain 'fortnight': expected hour, day, week, month, quarter or year");
    ck_assert_int_eq(bf_time_format_from_name(&f, "iso8601"), BF_OK);
    ck_assert_int_eq(f, BF_TIME_FORMAT_ISO8601);
    ck_assert_int_eq(bf_time_format_from_name(&f, "epoch"), BF_E_INVALID);
    ck_assert_int_eq(bf_batch_order_from_name(&o, "newest_first"), BF_OK);
    ck_assert_int_eq(o, BF_BATCH_ORDER_NEWEST_FIRST);
    ck_assert_str_eq(bf_batch_order_name(BF_BATCH_ORDER_OLDEST_FIRST), "oldest_first");
    ck_assert_ptr_null(bf_grain_name((bf_grain)0));
    ck_assert_ptr_null(bf_time_format_name((bf_time_format)9));
}
END_TEST

/* ---- fingerprints and the coverage proof ---------------------------------------- */

START_TEST(fingerprint_is_deterministic_and_pins_the_settings)
{
    bf_planner *p = time_planner("2025-01-01", "2025-02-01", "America/New_York", BF_GRAIN_DAY, 1);
    bf_plan *a = plan_of(p), *b = plan_of(p), *c, *back = NULL;
    char *json = NULL;

    ck_assert_str_eq(bf_plan_fingerprint(a), bf_plan_fingerprint(b));
    ck_assert_uint_eq(strlen(bf_plan_fingerprint(a)), 32);
    /* Same batches in another format: a different plan. */
    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_UNIX_MS), BF_OK);
    c = plan_of(p);
    ck_assert_str_ne(bf_plan_fingerprint(a), bf_plan_fingerprint(c));
    bf_plan_free(c);
    /* Same instants from another zone spelling: the pin still differs. */
    ck_assert_int_eq(bf_planner_set_time_scope(p, "order_ts", "2025-01-01", "2025-02-01",
                                               "US/Eastern"),
                     BF_OK);
    ck_assert_int_eq(bf_planner_set_time_format(p, BF_TIME_FORMAT_UNIX_S), BF_OK);
    c = plan_of(p);
    ck_assert_int_eq(bf_batch_lo(bf_plan_batch(c, 0)), bf_batch_lo(bf_plan_batch(a, 0)));
    ck_assert_str_ne(bf_plan_fingerprint(a), bf_plan_fingerprint(c));
    bf_plan_free(c);
    /* A JSON round trip keeps the fingerprint. */
    ck_assert_int_eq(bf_plan_to_json(&json, a), BF_OK);
    ck_assert_int_eq(bf_plan_from_json(&back, json), BF_OK);
    ck_assert_str_eq(bf_plan_fingerprint(back), bf_plan_fingerprint(a));
    bf_free(json);
    bf_plan_free(back);
    bf_plan_free(a);
    bf_plan_free(b);
    bf_planner_free(p);
}
END_TEST

static const char *const key_names[] = {"lo", "hi"};

static bf_plan *hand_key_plan(const int64_t *bounds, size_t n, int64_t shift_param)
{
    bf_plan *plan;

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "order_id", 0), BF_OK);
    for (size_t i = 0; i + 1 < n; i += 2) {
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = bounds[i] + shift_param},
                         {.type = BF_VALUE_INT, .i = bounds[i + 1]}};

        ck_assert_int_eq(bf__plan_add(plan, bounds[i], bounds[i + 1], "b", 2, key_names, v),
                         BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(plan, ""), BF_OK);
    return plan;
}

START_TEST(verify_finds_gaps_overlaps_and_strays)
{
    static const int64_t gap[] = {0, 10, 11, 20};
    static const int64_t overlap[] = {0, 10, 9, 20};
    static const int64_t short_end[] = {0, 10, 10, 19};
    static const int64_t late_start[] = {1, 10, 10, 20};
    static const int64_t empty[] = {0, 10, 10, 10, 10, 20};
    static const int64_t good[] = {0, 10, 10, 20};
    bf_planner *p = key_planner(0, 20, 10);
    bf_plan *plan;

    plan = hand_key_plan(good, 4, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_OK);
    bf_plan_free(plan);
    plan = hand_key_plan(gap, 4, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_str_eq(bf_last_error(), "plan does not tile the scope: gap between batch b and "
                                      "batch b (b ends at 10, the next starts at 11)");
    bf_plan_free(plan);
    plan = hand_key_plan(overlap, 4, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "overlap between"));
    bf_plan_free(plan);
    plan = hand_key_plan(short_end, 4, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_str_eq(bf_last_error(),
                     "plan does not tile the scope: it ends at 19, not at the scope's end 20");
    bf_plan_free(plan);
    plan = hand_key_plan(late_start, 4, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "not at the scope's start 0"));
    bf_plan_free(plan);
    plan = hand_key_plan(empty, 6, 0);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_str_eq(bf_last_error(), "plan does not tile the scope: batch 1 (b) is empty");
    bf_plan_free(plan);
    /* Bounds right, but the bound :lo says something else: refused. */
    plan = hand_key_plan(good, 4, 1);
    ck_assert_int_eq(bf_plan_verify(plan, p), BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "binds parameters that differ"));
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(verify_refuses_a_plan_of_another_scope)
{
    bf_planner *p = time_planner("2025-01-01", "2025-02-01", "America/New_York", BF_GRAIN_DAY, 1);
    bf_planner *q = time_planner("2025-01-01", "2025-02-01", "Europe/London", BF_GRAIN_DAY, 1);
    bf_planner *k = key_planner(0, 100, 10);
    bf_plan *plan = plan_of(p);

    ck_assert_int_eq(bf_plan_verify(plan, q), BF_E_VALIDATION);
    ck_assert_str_eq(bf_last_error(), "plan does not tile the scope: it starts at 2025-01-01 "
                                      "05:00:00 UTC with batch 0 (2025-01-01), not at the "
                                      "scope's start 2025-01-01 00:00:00 UTC");
    ck_assert_int_eq(bf_plan_verify(plan, k), BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "the plan cuts order_ts by time"));
    bf_plan_free(plan);
    bf_planner_free(p);
    bf_planner_free(q);
    bf_planner_free(k);
}
END_TEST

/* ---- property tests over random scopes ----------------------------------------- */

static const char *const dst_zones[] = {
    "America/New_York", "America/Santiago", "America/Havana",   "America/Sao_Paulo",
    "America/St_Johns", "Europe/London",    "Europe/Dublin",    "Europe/Moscow",
    "Asia/Tehran",      "Asia/Jerusalem",   "Asia/Gaza",        "Australia/Lord_Howe",
    "Australia/Sydney", "Pacific/Auckland", "Pacific/Chatham",  "Pacific/Apia",
    "Africa/Casablanca", "America/Godthab", "Asia/Kathmandu",   "UTC",
};

/* glibc's label for the grain unit holding instant t, in the zone set in TZ. */
static void glibc_label(char *buf, size_t size, int64_t t, bf_grain grain)
{
    time_t tt = (time_t)t;
    struct tm tm;

    localtime_r(&tt, &tm);
    switch (grain) {
    case BF_GRAIN_HOUR:
        strftime(buf, size, "%Y-%m-%d %H:00", &tm);
        break;
    case BF_GRAIN_DAY:
        strftime(buf, size, "%Y-%m-%d", &tm);
        break;
    case BF_GRAIN_WEEK:
        strftime(buf, size, "%G-W%V", &tm);
        break;
    case BF_GRAIN_MONTH:
        strftime(buf, size, "%Y-%m", &tm);
        break;
    case BF_GRAIN_QUARTER:
        snprintf(buf, size, "%04d-Q%d", tm.tm_year + 1900, tm.tm_mon / 3 + 1);
        break;
    default:
        strftime(buf, size, "%Y", &tm);
        break;
    }
}

/* The length of a local scope in microseconds. */
static int64_t scope_us(const char *zone, const char *start, const char *end)
{
    bf_tz *tz;
    bf_civil s, e;
    int64_t a, b;

    ck_assert_int_eq(bf_tz_load(&tz, zone), BF_OK);
    bf_civil_parse(&s, start);
    bf_civil_parse(&e, end);
    bf_tz_to_utc(&a, tz, &s);
    bf_tz_to_utc(&b, tz, &e);
    bf_tz_free(tz);
    return (b - a) * 1000000;
}

/*
 * Random scopes in zones with DST, random grains, `every`, orders and
 * formats: every plan passes bf_plan_verify, its batches add up to the
 * scope, and each batch that starts at a period boundary (all but a clipped
 * first one) starts exactly where glibc's local calendar enters the period
 * its label names, one second after glibc shows the previous period.
 */
START_TEST(random_scopes_tile_and_match_glibc_boundaries)
{
    static const int64_t span_days[] = {0, 3, 60, 400, 1500, 4000, 9000};
    unsigned seed = 20250309;
    size_t boundaries = 0;

    for (int round = 0; round < 400; round++) {
        const char *zone = dst_zones[rand_r(&seed) % BF_ARRAY_LEN(dst_zones)];
        bf_grain grain = (bf_grain)(1 + rand_r(&seed) % 6);
        unsigned every = rand_r(&seed) % 3 == 0 ? 1 + rand_r(&seed) % 5 : 1;
        int64_t d0 = bf_civil_days(2000, 1, 1) + rand_r(&seed) % (31 * 365);
        int64_t len = 1 + rand_r(&seed) % (span_days[grain] * (int64_t)every + 2);
        bf_civil s, e;
        char start[32], end[32], env[64];
        bf_planner *p;
        bf_plan *plan;
        int64_t total = 0;

        bf_civil_from_days(&s, d0);
        bf_civil_from_seconds(&e, (d0 + len) * 86400 + 3600 * (rand_r(&seed) % 24));
        s.hour = rand_r(&seed) % 3 == 0 ? rand_r(&seed) % 24 : 0;
        snprintf(start, sizeof start, "%04lld-%02d-%02d %02d:00", (long long)s.year, s.month, s.day,
                 s.hour);
        snprintf(end, sizeof end, "%04lld-%02d-%02d %02d:00", (long long)e.year, e.month, e.day,
                 e.hour);
        ck_assert_int_eq(bf_planner_new(&p), BF_OK);
        EXPECT(bf_planner_set_time_scope(p, "ts", start, end, zone) == BF_OK, "%s %s %s: %s",
               start, end, zone, bf_last_error());
        bf_planner_set_grain(p, grain, every);
        bf_planner_set_order(p, (bf_batch_order)(1 + rand_r(&seed) % 2));
        bf_planner_set_time_format(p, (bf_time_format)(1 + rand_r(&seed) % 4));
        EXPECT(bf_planner_plan(&plan, p) == BF_OK, "%s", bf_last_error());
        EXPECT(bf_plan_verify(plan, p) == BF_OK, "%s %s %s %s x%u: %s", zone, start, end,
               bf_grain_name(grain), every, bf_last_error());

        snprintf(env, sizeof env, ":%s", zone);
        setenv("TZ", env, 1);
        tzset();
        for (size_t i = 0; i < bf_plan_count(plan); i++) {
            const bf_batch *b = bf_plan_batch(plan, i);
            int64_t lo = bf_batch_lo(b) / 1000000;
            char label[160], theirs[64], before[64];
            const char *dots;
            size_t first_len;

            total += bf_batch_hi(b) - bf_batch_lo(b);
            snprintf(label, sizeof label, "%s", bf_batch_label(b));
            dots = strstr(label, "..");
            first_len = dots ? (size_t)(dots - label) : strlen(label);
            glibc_label(theirs, sizeof theirs, lo, grain);
            glibc_label(before, sizeof before, lo - 1, grain);
            if (strcmp(before, theirs) == 0)
                continue; /* a clipped first batch starts inside its period */
            EXPECT(strlen(theirs) == first_len && strncmp(theirs, label, first_len) == 0,
                   "%s %s: batch %s starts in glibc's %s", zone, bf_grain_name(grain), label,
                   theirs);
            boundaries++;
        }
        EXPECT(total == scope_us(zone, start, end), "%s %s %s: batches add up to %lld us",
               zone, start, end, (long long)total);
        bf_plan_free(plan);
        bf_planner_free(p);
    }
    unsetenv("TZ");
    tzset();
    ck_assert_uint_gt(boundaries, 5000);
}
END_TEST

/* ---- sizing ---------------------------------------------------------------------- */

START_TEST(estimate_scales_with_batch_extent)
{
    bf_planner *p = time_planner("2025-03-08", "2025-03-11", "America/New_York", BF_GRAIN_DAY, 1);
    bf_plan *plan = plan_of(p);
    size_t ord[] = {0};
    double secs[] = {24.0};
    double est = 0;

    /* 24 s for a 24-hour day: 24 + 23 + 24 = 71 s. */
    ck_assert_int_eq(bf_plan_estimate(&est, plan, ord, secs, 1), BF_OK);
    ck_assert_double_eq_tol(est, 71.0, 1e-9);
    ord[0] = 3;
    ck_assert_int_eq(bf_plan_estimate(&est, plan, ord, secs, 1), BF_E_INVALID);
    ord[0] = 1;
    secs[0] = -1;
    ck_assert_int_eq(bf_plan_estimate(&est, plan, ord, secs, 1), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "estimate: batch 1 (2025-03-09) has duration -1 s");
    ck_assert_int_eq(bf_plan_estimate(&est, plan, ord, secs, 0), BF_E_INVALID);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(key_width_adapts_toward_the_target)
{
    int64_t w;

    ck_assert_int_eq(bf_key_width_next(&w, 10000, 1.0, 0, 10.0), BF_OK);
    ck_assert_int_eq(w, 12000); /* 10x too fast: grows only x1.2 */
    ck_assert_int_eq(bf_key_width_next(&w, 10000, 9.0, 0, 10.0), BF_OK);
    ck_assert_int_eq(w, 11111);
    ck_assert_int_eq(bf_key_width_next(&w, 10000, 40.0, 0, 10.0), BF_OK);
    ck_assert_int_eq(w, 2500); /* 4x too slow: a quarter */
    ck_assert_int_eq(bf_key_width_next(&w, 10000, 1.0, 1, 10.0), BF_OK);
    ck_assert_int_eq(w, 5000); /* failed: halved */
    ck_assert_int_eq(bf_key_width_next(&w, 1, 100.0, 1, 10.0), BF_OK);
    ck_assert_int_eq(w, 1);
    ck_assert_int_eq(bf_key_width_next(&w, 10000, 0.0, 0, 10.0), BF_OK);
    ck_assert_int_eq(w, 12000);
    ck_assert_int_eq(bf_key_width_next(&w, 0, 1.0, 0, 10.0), BF_E_INVALID);
    ck_assert_int_eq(bf_key_width_next(&w, 10, 1.0, 0, 0.0), BF_E_INVALID);
    ck_assert_int_eq(bf_key_width_next(&w, 10, NAN, 0, 1.0), BF_E_INVALID);
}
END_TEST

START_TEST(split_a_key_batch_in_two)
{
    bf_planner *p = key_planner(0, 30, 10);
    bf_plan *plan = plan_of(p), *split = NULL;

    ck_assert_int_eq(bf_plan_split_batch(&split, plan, 1), BF_OK);
    ck_assert_uint_eq(bf_plan_count(split), 4);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(split, 1)), "order_id [10, 15)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(split, 2)), "order_id [15, 20)");
    ck_assert_int_eq(int_param(bf_plan_batch(split, 2), "lo"), 15);
    ck_assert_uint_eq(bf_batch_ordinal(bf_plan_batch(split, 3)), 3);
    ck_assert_str_ne(bf_plan_fingerprint(split), bf_plan_fingerprint(plan));
    ck_assert_int_eq(bf_plan_verify(split, p), BF_OK);
    ck_assert_uint_eq(bf_plan_count(plan), 3); /* the original is unchanged */
    bf_plan_free(split);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_order(p, BF_BATCH_ORDER_NEWEST_FIRST), BF_OK);
    plan = plan_of(p);
    ck_assert_int_eq(bf_plan_split_batch(&split, plan, 0), BF_OK);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(split, 0)), "order_id [25, 30)");
    ck_assert_int_eq(bf_plan_verify(split, p), BF_OK);
    bf_plan_free(split);
    ck_assert_int_eq(bf_plan_split_batch(&split, plan, 3), BF_E_NOT_FOUND);
    bf_plan_free(plan);
    bf_planner_free(p);

    p = key_planner(0, 3, 1);
    plan = plan_of(p);
    ck_assert_int_eq(bf_plan_split_batch(&split, plan, 0), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "split: batch 0 (order_id [0, 1)) holds a single key");
    bf_plan_free(plan);
    bf_planner_free(p);

    p = time_planner("2025-01-01", "2025-01-03", "UTC", BF_GRAIN_DAY, 1);
    plan = plan_of(p);
    split = NULL;
    ck_assert_int_eq(bf_plan_split_batch(&split, plan, 0), BF_E_INVALID);
    ck_assert_ptr_null(split);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

START_TEST(resize_recuts_the_rest_of_a_key_plan)
{
    bf_planner *p = key_planner(0, 100, 10);
    bf_plan *plan = plan_of(p), *resized = NULL;

    ck_assert_int_eq(bf_plan_resize_keys(&resized, plan, 2, 25), BF_OK);
    /* [0,10) [10,20) kept; [20,100) re-cut by 25: 20-45-70-95-100. */
    ck_assert_uint_eq(bf_plan_count(resized), 6);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(resized, 1)), "order_id [10, 20)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(resized, 2)), "order_id [20, 45)");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(resized, 5)), "order_id [95, 100)");
    ck_assert_int_eq(bf_plan_verify(resized, p), BF_OK);
    ck_assert_int_eq(bf_plan_resize_keys(&resized, plan, 2, 0), BF_E_INVALID);
    bf_plan_free(resized);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------------- */

/*
 * The contexts of the allocation sweeps start with the plan they make, so
 * that one cleanup frees it whatever the operation.
 */
static void free_made_plan(void *arg)
{
    bf_plan **made = arg;

    bf_plan_free(*made);
    *made = NULL;
}

struct plan_ctx {
    bf_plan *plan;
    int kind;
};

static int plan_op(void *arg)
{
    struct plan_ctx *ctx = arg;
    bf_value values[2] = {{.type = BF_VALUE_TEXT, .s = "a", .len = 1},
                          {.type = BF_VALUE_INT, .i = 7}};
    bf_planner *p;
    int rc = bf_planner_new(&p);

    if (rc != BF_OK)
        return rc;
    switch (ctx->kind) {
    case 0:
        rc = bf_planner_set_time_scope(p, "ts", "2025-03-01", "2025-04-01", "America/New_York");
        if (rc == BF_OK)
            rc = bf_planner_set_time_format(p, BF_TIME_FORMAT_ISO8601);
        break;
    case 1:
        rc = bf_planner_set_key_scope(p, "id", 0, 1000);
        if (rc == BF_OK)
            rc = bf_planner_set_key_width(p, 7);
        break;
    case 2:
        rc = bf_planner_set_partition_scope(p, "region", values, 2);
        break;
    default:
        rc = bf_planner_set_bucket_scope(p, "id", 9);
        break;
    }
    if (rc == BF_OK)
        rc = bf_planner_plan(&ctx->plan, p);
    bf_planner_free(p);
    return rc;
}

START_TEST(planning_survives_every_allocation_failure)
{
    for (int kind = 0; kind < 4; kind++) {
        struct plan_ctx ctx = {NULL, kind};

        ck_assert_int_gt(failalloc_sweep(plan_op, free_made_plan, &ctx), 3);
    }
}
END_TEST

struct split_ctx {
    bf_plan *out;
    const bf_plan *plan;
};

static int split_op(void *arg)
{
    struct split_ctx *ctx = arg;

    return bf_plan_split_batch(&ctx->out, ctx->plan, 2);
}

static int resize_op(void *arg)
{
    struct split_ctx *ctx = arg;

    return bf_plan_resize_keys(&ctx->out, ctx->plan, 1, 3);
}

START_TEST(split_and_resize_survive_every_allocation_failure)
{
    bf_planner *p = key_planner(0, 50, 10);
    bf_plan *plan = plan_of(p);
    struct split_ctx ctx = {NULL, plan};

    ck_assert_int_gt(failalloc_sweep(split_op, free_made_plan, &ctx), 3);
    ck_assert_int_gt(failalloc_sweep(resize_op, free_made_plan, &ctx), 3);
    bf_plan_free(plan);
    bf_planner_free(p);
}
END_TEST

/* ---- from a brief ------------------------------------------------------------------ */

static bf_brief *brief_of(const char *body)
{
    char json[2048];
    bf_brief *b = NULL;

    snprintf(json, sizeof json, "{\"format\": \"backfill-brief/1\", \"name\": \"t\", %s}", body);
    ck_assert_msg(bf_brief_load_json(&b, json, strlen(json)) == BF_OK, "%s", bf_last_error());
    return b;
}

START_TEST(planner_from_a_time_brief)
{
    bf_brief *b = brief_of(
        "\"target\": {\"time_column\": \"order_ts\", \"time_format\": \"iso8601\"},"
        "\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-06-01\","
        " \"timezone\": \"America/New_York\"}},"
        "\"batching\": {\"by\": \"time\", \"grain\": \"day\", \"every\": 7, \"order\": \"newest_first\"}");
    bf_planner *p = NULL, *q;
    bf_plan *plan, *same;

    ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_OK);
    plan = plan_of(p);
    ck_assert_uint_eq(bf_plan_count(plan), 22);
    ck_assert_str_eq(bf_plan_column(plan), "order_ts");
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 21)), "2025-01-01..2025-01-07");
    ck_assert_str_eq(text_param(bf_plan_batch(plan, 21), "start"), "2025-01-01 05:00:00");
    ck_assert_str_eq(text_param(bf_plan_batch(plan, 0), "end"), "2025-06-01 04:00:00");
    /* The same settings by hand give the same plan. */
    q = time_planner("2025-01-01", "2025-06-01", "America/New_York", BF_GRAIN_DAY, 7);
    bf_planner_set_time_format(q, BF_TIME_FORMAT_ISO8601);
    bf_planner_set_order(q, BF_BATCH_ORDER_NEWEST_FIRST);
    same = plan_of(q);
    ck_assert_str_eq(bf_plan_fingerprint(same), bf_plan_fingerprint(plan));
    bf_plan_free(same);
    bf_planner_free(q);
    bf_plan_free(plan);
    bf_planner_free(p);
    bf_brief_free(b);
}
END_TEST

START_TEST(planner_from_key_partition_and_bucket_briefs)
{
    bf_brief *b = brief_of("\"scope\": {\"keys\": {\"column\": \"id\", \"start\": 5, \"end\": 30}},"
                           "\"batching\": {\"width\": 10}");
    bf_planner *p = NULL;
    bf_plan *plan = NULL;

    ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_OK);
    plan = plan_of(p);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 2)), "id [25, 30)");
    bf_plan_free(plan);
    bf_planner_free(p);
    bf_brief_free(b);

    b = brief_of("\"scope\": {\"keys\": {\"column\": \"id\", \"start\": 0, \"end\": 101}},"
                 "\"batching\": {\"by\": \"key\", \"rows_per_batch\": 3}");
    ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "rows_per_batch 3 needs a key-boundary callback"));
    bf_planner_free(p);
    bf_brief_free(b);

    b = brief_of("\"scope\": {\"partitions\": {\"column\": \"region\", \"values\": [\"eu\", 3]}}");
    ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_OK);
    plan = plan_of(p);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 1)), "3");
    bf_plan_free(plan);
    bf_planner_free(p);
    bf_brief_free(b);

    b = brief_of("\"scope\": {\"buckets\": {\"column\": \"cid\", \"count\": 8}},"
                 "\"batching\": {\"by\": \"bucket\"}");
    ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_OK);
    plan = plan_of(p);
    ck_assert_str_eq(bf_batch_label(bf_plan_batch(plan, 7)), "bucket 7/8");
    bf_plan_free(plan);
    bf_planner_free(p);
    bf_brief_free(b);
}
END_TEST

START_TEST(briefs_that_cannot_be_planned_are_refused_by_path)
{
    static const struct {
        const char *body, *message;
    } cases[] = {
        {"\"reason\": \"x\"", "$.scope: the brief has no scope to plan"},
        {"\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-02-01\"}},"
         "\"batching\": {\"grain\": \"day\"}",
         "$.target.time_column: needed to plan time batches"},
        {"\"target\": {\"time_column\": \"ts\"},"
         "\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-02-01\"}},"
         "\"batching\": {\"grain\": \"day\"}",
         "$.target.time_format: needed to bind the bounds of time batches"},
        {"\"target\": {\"time_column\": \"ts\", \"time_format\": \"unix_s\"},"
         "\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-02-01\"}}",
         "$.batching.grain: needed for time batches"},
        {"\"scope\": {\"buckets\": {\"column\": \"c\", \"count\": 4}}, \"batching\": {\"by\": \"time\"}",
         "$.batching.by: batching by time needs $.scope.time, but the scope is $.scope.buckets"},
        {"\"scope\": {\"keys\": {\"column\": \"id\", \"start\": 0, \"end\": 10}}",
         "$.batching: key batches need width or rows_per_batch"},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(cases); i++) {
        bf_brief *b = brief_of(cases[i].body);
        bf_planner *p = NULL;

        ck_assert_int_eq(bf_planner_new_from_brief(&p, b), BF_E_INVALID);
        ck_assert_str_eq(bf_last_error(), cases[i].message);
        ck_assert_ptr_null(p);
        bf_brief_free(b);
    }
}
END_TEST

struct brief_ctx {
    bf_plan *plan;
    const bf_brief *brief;
};

static int brief_plan_op(void *arg)
{
    struct brief_ctx *ctx = arg;
    bf_planner *p;
    int rc = bf_planner_new_from_brief(&p, ctx->brief);

    if (rc != BF_OK)
        return rc;
    rc = bf_planner_plan(&ctx->plan, p);
    bf_planner_free(p);
    return rc;
}

START_TEST(planning_from_a_brief_survives_every_allocation_failure)
{
    bf_brief *b = brief_of(
        "\"target\": {\"time_column\": \"ts\", \"time_format\": \"date\"},"
        "\"scope\": {\"time\": {\"start\": \"2025-03-01\", \"end\": \"2025-04-01\","
        " \"timezone\": \"Europe/London\"}}, \"batching\": {\"grain\": \"week\"}");
    bf_brief *parts = brief_of("\"scope\": {\"partitions\": {\"column\": \"r\", \"values\": [\"a\", 2]}}");
    struct brief_ctx ctx = {NULL, b};

    ck_assert_int_gt(failalloc_sweep(brief_plan_op, free_made_plan, &ctx), 3);
    ctx.brief = parts;
    ck_assert_int_gt(failalloc_sweep(brief_plan_op, free_made_plan, &ctx), 3);
    bf_brief_free(b);
    bf_brief_free(parts);
}
END_TEST

/* A set plan keeps copies of its partition values; only an unsealed partition plan takes them. */
START_TEST(a_set_plan_keeps_copies_of_its_values)
{
    char text[8] = "it's";
    bf_value in[3] = {{.type = BF_VALUE_TEXT, .s = text, .len = 4},
                      {.type = BF_VALUE_INT, .i = 42},
                      {.type = BF_VALUE_TEXT, .s = "", .len = 0}};
    const bf_value *out = NULL;
    bf_plan *p = NULL, *k = NULL;

    ck_assert_int_eq(bf__plan_new(&p, BF_DIM_PARTITION, "grp", 1), BF_OK);
    ck_assert_int_eq(bf__plan_add(p, 0, 3, "the plan's 3 partitions", 0, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf__plan_set_values(p, in, 0), BF_E_INVALID);
    ck_assert_int_eq(bf__plan_set_values(p, in, 3), BF_OK);
    ck_assert_int_eq(bf__plan_set_values(p, in, 3), BF_E_INVALID); /* once */
    ck_assert_int_eq(bf__plan_seal(p, ""), BF_OK);
    memcpy(text, "xxxx", 4);
    ck_assert_uint_eq(bf__plan_values(p, &out), 3);
    ck_assert_int_eq(out[0].type, BF_VALUE_TEXT);
    ck_assert_str_eq(out[0].s, "it's");
    ck_assert_int_eq(out[1].i, 42);
    ck_assert_str_eq(out[2].s, "");
    ck_assert_ptr_eq(bf__batch_plan(bf_plan_batch(p, 0)), p);
    ck_assert_int_eq(bf__plan_set_values(p, in, 1), BF_E_STATE);
    ck_assert_int_eq(bf__plan_new(&k, BF_DIM_KEY, "id", 1), BF_OK);
    ck_assert_int_eq(bf__plan_set_values(k, in, 1), BF_E_INVALID);
    ck_assert_uint_eq(bf__plan_values(k, &out), 0);
    ck_assert_ptr_null(out);
    bf_plan_free(k);
    bf_plan_free(p);
}
END_TEST

static Suite *plan_suite(void)
{
    Suite *s = suite_create("plan");
    TCase *zones = tcase_create("zones");
    TCase *shape = tcase_create("shape");
    TCase *other = tcase_create("dimensions");
    TCase *proof = tcase_create("proof");
    TCase *sizing = tcase_create("sizing");
    TCase *brief = tcase_create("brief");

    tcase_add_test(zones, new_york_2025_has_365_days_with_23_and_25_hour_dst_days);
    tcase_add_test(zones, utc_days_are_24_hours);
    tcase_add_test(zones, london_bst_days);
    tcase_add_test(zones, lord_howe_half_hour_dst_days_and_hours);
    tcase_add_test(zones, kathmandu_days_start_at_18_15_utc);
    suite_add_tcase(s, zones);

    tcase_add_test(shape, labels_of_every_grain);
    tcase_add_test(shape, first_and_last_batches_are_clipped_to_the_scope);
    tcase_add_test(shape, hours_skip_the_missing_hour_and_double_the_repeated_one);
    tcase_add_test(shape, parameters_in_every_time_format);
    tcase_add_test(shape, date_format_needs_whole_days);
    tcase_add_test(shape, newest_first_reverses_the_same_batches);
    suite_add_tcase(s, shape);

    tcase_add_test(other, key_ranges_of_fixed_width);
    tcase_add_test(other, key_ranges_span_the_whole_int64_range);
    tcase_add_test(other, rows_per_batch_walks_the_key);
    tcase_add_test(other, partitions_one_batch_per_value);
    tcase_add_test(other, partition_labels_tell_integers_from_text);
    tcase_add_test(other, buckets_one_batch_each);
    tcase_add_test(other, bad_scopes_and_batching_are_refused);
    tcase_add_test(other, names_of_grains_formats_and_orders);
    suite_add_tcase(s, other);

    tcase_set_timeout(proof, 120);
    tcase_add_test(proof, fingerprint_is_deterministic_and_pins_the_settings);
    tcase_add_test(proof, verify_finds_gaps_overlaps_and_strays);
    tcase_add_test(proof, verify_refuses_a_plan_of_another_scope);
    tcase_add_test(proof, random_scopes_tile_and_match_glibc_boundaries);
    suite_add_tcase(s, proof);

    tcase_add_test(sizing, estimate_scales_with_batch_extent);
    tcase_add_test(sizing, key_width_adapts_toward_the_target);
    tcase_add_test(sizing, split_a_key_batch_in_two);
    tcase_add_test(sizing, resize_recuts_the_rest_of_a_key_plan);
    tcase_add_test(sizing, planning_survives_every_allocation_failure);
    tcase_add_test(sizing, split_and_resize_survive_every_allocation_failure);
    suite_add_tcase(s, sizing);

    tcase_add_test(brief, planner_from_a_time_brief);
    tcase_add_test(brief, planner_from_key_partition_and_bucket_briefs);
    tcase_add_test(brief, briefs_that_cannot_be_planned_are_refused_by_path);
    tcase_add_test(brief, planning_from_a_brief_survives_every_allocation_failure);
    tcase_add_test(other, a_set_plan_keeps_copies_of_its_values);
    suite_add_tcase(s, brief);
    return s;
}

int main(void)
{
    return bftest_run(plan_suite());
}
