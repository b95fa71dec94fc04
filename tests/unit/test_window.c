/*
 * Windows (bf_window in <backfill/time.h>): local hours on local days of a
 * zone. Every answer is compared with a brute-force scan of a whole year
 * minute by minute, whose insideness is worked out here independently from
 * the local civil time (bf_tz_to_local, itself checked against glibc in the
 * time suite) and the window's text; then the clock-change nights the
 * documentation promises, and the refusals.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "bftest.h"

/* Only failures are reported: the scans check tens of millions of answers. */
#define EXPECT(cond, ...)                                                                     \
    do {                                                                                      \
        if (!(cond))                                                                          \
            ck_abort_msg(__VA_ARGS__);                                                        \
    } while (0)

#define US 1000000LL

static bf_window *window(const char *json, const char *zone)
{
    bf_window *w = NULL;

    ck_assert_msg(bf_window_new(&w, json, zone) == BF_OK, "%s in %s: %s", json, zone,
                  bf_last_error());
    return w;
}

static int64_t utc(const char *text)
{
    bf_civil c;

    ck_assert_int_eq(bf_civil_parse(&c, text), BF_OK);
    return bf_civil_seconds(&c);
}

/* ---- The oracle: a window's text read the simple way ---------------------- */

struct oracle {
    int n;
    int start[48], end[48]; /* minutes */
    int day[8];             /* day[1..7]: allowed ISO weekdays */
};

static struct oracle oracle(const char *hours[], const char *days[])
{
    static const char *names[] = {"", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};
    struct oracle o;

    memset(&o, 0, sizeof o);
    for (int i = 0; hours && hours[i]; i++) {
        int h1, m1, h2, m2;

        ck_assert_int_eq(sscanf(hours[i], "%d:%d-%d:%d", &h1, &m1, &h2, &m2), 4);
        o.start[o.n] = h1 * 60 + m1;
        o.end[o.n] = h2 * 60 + m2;
        o.n++;
    }
    if (!hours) {
        o.start[0] = 0, o.end[0] = 1440, o.n = 1;
    }
    for (int d = 1; d <= 7; d++) {
        o.day[d] = !days;
        for (int i = 0; days && days[i]; i++)
            if (strcmp(days[i], names[d]) == 0)
                o.day[d] = 1;
    }
    return o;
}

static int oracle_inside(const struct oracle *o, const bf_tz *tz, int64_t t)
{
    bf_civil c, prev;
    int minute, wd, prev_wd;

    bf_tz_to_local(&c, tz, t);
    minute = c.hour * 60 + c.minute;
    wd = bf_civil_weekday(c.year, c.month, c.day);
    bf_civil_from_days(&prev, bf_civil_days(c.year, c.month, c.day) - 1);
    prev_wd = bf_civil_weekday(prev.year, prev.month, prev.day);
    for (int i = 0; i < o->n; i++) {
        if (o->start[i] < o->end[i]) {
            if (o->day[wd] && minute >= o->start[i] && minute < o->end[i])
                return 1;
        } else {
            if (o->day[wd] && minute >= o->start[i])
                return 1;
            if (o->day[prev_wd] && minute < o->end[i])
                return 1;
        }
    }
    return 0;
}

/* Quote a list of strings as a JSON array into buf. */
static void json_list(char *buf, size_t size, const char *key, const char *items[])
{
    size_t used = strlen(buf);

    used += (size_t)snprintf(buf + used, size - used, "%s\"%s\": [", used > 1 ? ", " : "", key);
    for (int i = 0; items[i]; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s\"%s\"", i ? ", " : "", items[i]);
    snprintf(buf + used, size - used, "]");
}

/*
 * Scan 2025 (and a margin either side) minute by minute in `zone`: every
 * minute's contains, and next_open and next_close from every minute and from
 * an instant 29.000123 s into it, against the oracle. In these zones every
 * edge falls on a whole UTC minute, so the minute scan is exact.
 */
static void scan(const char *zone, const char *hours[], const char *days[])
{
    char json[1024] = "{";
    bf_window *w;
    bf_tz *tz = NULL;
    struct oracle o = oracle(hours, days);
    int64_t from = utc("2024-12-30") / 60, to = utc("2026-01-20") / 60;
    size_t n = (size_t)(to - from);
    unsigned char *in = malloc(n);
    int64_t *open = malloc(n * sizeof *open), *close = malloc(n * sizeof *close);
    size_t opens = 0;

    if (hours)
        json_list(json, sizeof json, "hours", hours);
    if (days)
        json_list(json, sizeof json, "days", days);
    strcat(json, "}");
    w = window(json, zone);
    ck_assert_int_eq(bf_tz_load(&tz, zone), BF_OK);
    ck_assert(in && open && close && n > 10080);
    for (size_t i = 0; i < n; i++)
        in[i] = (unsigned char)oracle_inside(&o, tz, (from + (int64_t)i) * 60);
    /* The next minute (as an index) inside / outside, from the end backwards; -1: beyond. */
    open[n - 1] = in[n - 1] ? (int64_t)n - 1 : -1;
    close[n - 1] = in[n - 1] ? -1 : (int64_t)n - 1;
    for (size_t i = n - 1; i-- > 0;) {
        open[i] = in[i] ? (int64_t)i : open[i + 1];
        close[i] = in[i] ? close[i + 1] : (int64_t)i;
        opens += in[i] && !in[i + 1];
    }
    ck_assert_msg(opens > 40, "%s %s: the window opens %zu times in a year", zone, json, opens);
    for (size_t i = 0; i + 10080 < n; i++) {
        int64_t t = (from + (int64_t)i) * 60, us = t * US, mid = us + 29 * US + 123, got;

        EXPECT(bf_window_contains(w, us) == in[i], "%s %s: contains(%lld) is %d", zone, json,
               (long long)t, !in[i]);
        EXPECT(bf_window_contains(w, mid) == in[i], "%s %s: contains(%lld+29s)", zone, json,
               (long long)t);
        if (open[i] >= 0) {
            EXPECT(bf_window_next_open(&got, w, us) == BF_OK, "%s", bf_last_error());
            EXPECT(got == (from + open[i]) * 60 * US, "%s %s: next_open(%lld) = %lld, not %lld",
                   zone, json, (long long)t, (long long)(got / US),
                   (long long)((from + open[i]) * 60));
            EXPECT(bf_window_next_open(&got, w, mid) == BF_OK, "%s", bf_last_error());
            EXPECT(got == (in[i] ? mid : (from + open[i]) * 60 * US),
                   "%s %s: next_open(%lld+29s) = %lld", zone, json, (long long)t,
                   (long long)got);
        }
        if (close[i] >= 0) {
            EXPECT(bf_window_next_close(&got, w, us) == BF_OK, "%s", bf_last_error());
            EXPECT(got == (from + close[i]) * 60 * US,
                   "%s %s: next_close(%lld) = %lld, not %lld", zone, json, (long long)t,
                   (long long)(got / US), (long long)((from + close[i]) * 60));
            EXPECT(bf_window_next_close(&got, w, mid) == BF_OK, "%s", bf_last_error());
            EXPECT(got == (in[i] ? (from + close[i]) * 60 * US : mid),
                   "%s %s: next_close(%lld+29s) = %lld", zone, json, (long long)t,
                   (long long)got);
        }
    }
    free(in);
    free(open);
    free(close);
    bf_tz_free(tz);
    bf_window_free(w);
}

static const char *const zones[] = {"America/New_York", "Europe/London", "Australia/Lord_Howe",
                                    "UTC"};

#define LIST(...) ((const char *[]){__VA_ARGS__, NULL})

START_TEST(night_hours_every_day_agree_with_a_minute_scan)
{
    scan(zones[_i], LIST("01:00-03:00"), NULL);
    scan(zones[_i], LIST("02:30-04:00"), NULL);
    scan(zones[_i], LIST("01:30-02:00", "23:00-01:00"), LIST("sun"));
}
END_TEST

START_TEST(wrapping_ranges_on_some_days_agree_with_a_minute_scan)
{
    scan(zones[_i], LIST("22:00-06:00"), LIST("sat", "sun"));
    scan(zones[_i], LIST("22:00-00:00", "00:00-00:30"), LIST("fri"));
    scan(zones[_i], LIST("09:00-12:00", "13:30-17:00", "16:00-18:00"),
         LIST("mon", "tue", "wed", "thu", "fri"));
}
END_TEST

START_TEST(whole_days_agree_with_a_minute_scan)
{
    scan(zones[_i], NULL, LIST("sun"));
    scan(zones[_i], LIST("00:00-24:00"), LIST("mon", "wed", "fri"));
    scan(zones[_i], LIST("06:00-24:00", "00:00-06:00"), LIST("sat", "sun", "mon"));
}
END_TEST

/* ---- The clock-change nights of the documentation ------------------------- */

static int64_t open_at(const bf_window *w, int64_t t)
{
    int64_t got;

    ck_assert_msg(bf_window_next_open(&got, w, t * US) == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(got % US, 0);
    return got / US;
}

static int64_t close_at(const bf_window *w, int64_t t)
{
    int64_t got;

    ck_assert_msg(bf_window_next_close(&got, w, t * US) == BF_OK, "%s", bf_last_error());
    return got == INT64_MAX ? got : got / US;
}

START_TEST(new_york_night_is_one_hour_in_spring_and_three_in_autumn)
{
    bf_window *w = window("{\"hours\": [\"01:00-03:00\"]}", "America/New_York");
    bf_window *late = window("{\"hours\": [\"02:30-04:00\"]}", "America/New_York");
    int64_t o;

    /* An ordinary night: 01:00 to 03:00 EST, 06:00 to 08:00 UTC. */
    o = open_at(w, utc("2025-03-01 12:00"));
    ck_assert_int_eq(o, utc("2025-03-02 06:00"));
    ck_assert_int_eq(close_at(w, o), utc("2025-03-02 08:00"));
    /* Spring forward at 02:00 EST: 01:00 EST to 03:00 EDT is one real hour. */
    o = open_at(w, utc("2025-03-08 17:00"));
    ck_assert_int_eq(o, utc("2025-03-09 06:00"));
    ck_assert_int_eq(close_at(w, o), utc("2025-03-09 07:00"));
    /* Fall back at 02:00 EDT: 01:00 EDT to 03:00 EST is three. */
    o = open_at(w, utc("2025-11-01 16:00"));
    ck_assert_int_eq(o, utc("2025-11-02 05:00"));
    ck_assert_int_eq(close_at(w, o), utc("2025-11-02 08:00"));
    /* Inside the repeated hour, both times round. */
    ck_assert_int_eq(bf_window_contains(w, utc("2025-11-02 05:30") * US), 1);
    ck_assert_int_eq(bf_window_contains(w, utc("2025-11-02 06:30") * US), 1);
    /* A range starting in the skipped hour opens when the clock reads 03:00 EDT. */
    o = open_at(late, utc("2025-03-08 17:00"));
    ck_assert_int_eq(o, utc("2025-03-09 07:00"));
    ck_assert_int_eq(close_at(late, o), utc("2025-03-09 08:00"));
    bf_window_free(w);
    bf_window_free(late);
}
END_TEST

START_TEST(lord_howe_half_hour_changes)
{
    /* Clocks go from 02:00 (+10:30) to 02:30 (+11) on 2025-10-05 and back on 2025-04-06. */
    bf_window *w = window("{\"hours\": [\"02:00-02:30\"], \"days\": [\"sun\"]}",
                          "Australia/Lord_Howe");
    bf_window *back = window("{\"hours\": [\"01:30-02:00\"], \"days\": [\"sun\"]}",
                             "Australia/Lord_Howe");
    int64_t o;

    /* The skipped half hour: that Sunday never opens; the next one does, at 02:00 +11. */
    o = open_at(w, utc("2025-10-04 02:00"));
    ck_assert_int_eq(o, utc("2025-10-11 15:00"));
    ck_assert_int_eq(close_at(w, o), utc("2025-10-11 15:30"));
    /* The repeated half hour: 01:30 +11 to 02:00 +10:30 is an hour. */
    o = open_at(back, utc("2025-04-05 02:00"));
    ck_assert_int_eq(o, utc("2025-04-05 14:30"));
    ck_assert_int_eq(close_at(back, o), utc("2025-04-05 15:30"));
    bf_window_free(w);
    bf_window_free(back);
}
END_TEST

START_TEST(a_wrapping_range_belongs_to_the_day_it_starts)
{
    bf_window *w = window("{\"hours\": [\"22:00-06:00\"], \"days\": [\"sat\"]}", "UTC");

    /* 2025-06-07 is a Saturday. */
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-07 21:59:59") * US), 0);
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-07 22:00") * US), 1);
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-08 05:59:59") * US + 999999), 1);
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-08 06:00") * US), 0);
    /* Saturday 03:00 is the end of Friday's night, and Friday is not allowed. */
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-07 03:00") * US), 0);
    ck_assert_int_eq(bf_window_contains(w, utc("2025-06-08 22:00") * US), 0);
    ck_assert_int_eq(open_at(w, utc("2025-06-08 06:00")), utc("2025-06-14 22:00"));
    /* Instants before 1970 too. */
    ck_assert_int_eq(bf_window_contains(w, utc("1969-12-27 23:00") * US - 1), 1);
    ck_assert_int_eq(open_at(w, utc("1969-12-28 12:00")), utc("1970-01-03 22:00"));
    bf_window_free(w);
}
END_TEST

START_TEST(an_always_open_window_never_closes)
{
    static const char *const always[] = {"{}", "{\"hours\": [\"00:00-24:00\"]}",
                                         "{\"hours\": [\"12:00-08:00\", \"07:00-12:00\"]}",
                                         "{\"days\": [\"sun\", \"mon\", \"tue\", \"wed\", "
                                         "\"thu\", \"fri\", \"sat\"]}"};

    for (size_t i = 0; i < sizeof always / sizeof *always; i++) {
        bf_window *w = window(always[i], "America/New_York");
        int64_t got;
        int64_t t = utc("2025-03-09 07:00") * US + 5;

        ck_assert_int_eq(bf_window_contains(w, t), 1);
        ck_assert_int_eq(bf_window_next_open(&got, w, t), BF_OK);
        ck_assert_int_eq(got, t);
        ck_assert_int_eq(bf_window_next_close(&got, w, t), BF_OK);
        ck_assert_msg(got == INT64_MAX, "%s closes at %lld", always[i], (long long)got);
        bf_window_free(w);
    }
    /* Every day but one hour: it closes daily. */
    bf_window *w = window("{\"hours\": [\"03:00-02:00\"]}", "UTC");
    ck_assert_int_eq(close_at(w, utc("2025-01-01 12:00")), utc("2025-01-02 02:00"));
    ck_assert_int_eq(open_at(w, utc("2025-01-02 02:00")), utc("2025-01-02 03:00"));
    bf_window_free(w);
}
END_TEST

START_TEST(the_ends_of_time)
{
    bf_window *w = window("{\"hours\": [\"01:00-02:00\"]}", "America/New_York");
    int64_t got;

    /* No opening that microseconds in an int64 can still name. */
    ck_assert_int_eq(bf_window_next_open(&got, w, INT64_MAX - 5), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_window_contains(w, INT64_MIN), bf_window_contains(w, INT64_MIN));
    ck_assert_int_eq(bf_window_next_open(&got, w, INT64_MIN), BF_OK);
    ck_assert_int_eq(bf_window_contains(w, got), 1);
    ck_assert_int_eq(bf_window_contains(NULL, 0), 0);
    ck_assert_int_eq(bf_window_next_open(NULL, w, 0), BF_E_INVALID);
    bf_window_free(w);
    bf_window_free(NULL);
}
END_TEST

/* ---- Refusals -------------------------------------------------------------- */

static void refused(const char *json, const char *zone, int code, const char *words)
{
    bf_window *w = (bf_window *)1;

    ck_assert_msg(bf_window_new(&w, json, zone) == code, "%s was not refused with %d: %s",
                  json, code, bf_last_error());
    ck_assert_ptr_null(w);
    ck_assert_msg(strstr(bf_last_error(), words), "%s: message \"%s\" lacks \"%s\"", json,
                  bf_last_error(), words);
}

START_TEST(bad_windows_are_refused_naming_the_part)
{
    const char *ny = "America/New_York";

    refused("{\"hours\": [\"25:00-26:00\"]}", ny, BF_E_INVALID,
            "window.hours[0]: expected a range \"HH:MM-HH:MM\" of local times from 00:00 to "
            "24:00, got \"25:00-26:00\"");
    refused("{\"hours\": [\"22:00-06:00\", \"7:00-09:00\"]}", ny, BF_E_INVALID,
            "window.hours[1]: ");
    refused("{\"hours\": [\"24:00-01:00\"]}", ny, BF_E_INVALID, "got \"24:00-01:00\"");
    refused("{\"hours\": [\"10:60-11:00\"]}", ny, BF_E_INVALID, "window.hours[0]");
    refused("{\"hours\": [\"10:00-11:00 \"]}", ny, BF_E_INVALID, "window.hours[0]");
    refused("{\"hours\": [\"12:00-12:00\"]}", ny, BF_E_INVALID, "start and end differ");
    refused("{\"hours\": [\"01:00-02:00\", \"01:00-02:00\"]}", ny, BF_E_INVALID,
            "window.hours[1]: the range is listed twice");
    refused("{\"hours\": [7]}", ny, BF_E_INVALID, "window.hours[0]: expected a range");
    refused("{\"hours\": []}", ny, BF_E_INVALID, "window.hours: expected a non-empty list");
    refused("{\"hours\": \"22:00-06:00\"}", ny, BF_E_INVALID, "window.hours: expected");
    refused("{\"days\": [\"mon\", \"mo\"]}", ny, BF_E_INVALID,
            "window.days[1]: expected one of mon, tue, wed, thu, fri, sat, sun, got \"mo\"");
    refused("{\"days\": [\"Mon\"]}", ny, BF_E_INVALID, "got \"Mon\"");
    refused("{\"days\": [\"sat\", \"sat\"]}", ny, BF_E_INVALID, "window.days[1]: the day is "
            "listed twice");
    refused("{\"days\": []}", ny, BF_E_INVALID, "window.days: expected a non-empty list");
    refused("{\"hour\": [\"01:00-02:00\"]}", ny, BF_E_INVALID, "window.hour: unknown field");
    refused("[\"01:00-02:00\"]", ny, BF_E_INVALID, "window: expected an object");
    refused("{\"hours\": [", ny, BF_E_PARSE, "window:1:");
    refused("{\"days\": [\"sat\"]}", "America/New_Yrok", BF_E_NOT_FOUND, "America/New_Yrok");
    refused("{\"days\": [\"sat\"]}", "../etc/passwd", BF_E_INVALID, "not a valid zone name");

    char many[4096] = "{\"hours\": [";
    for (int i = 0; i < 49; i++)
        snprintf(many + strlen(many), sizeof many - strlen(many), "%s\"%02d:%02d-%02d:%02d\"",
                 i ? ", " : "", i / 4, (i % 4) * 15, i / 4, (i % 4) * 15 + 5);
    strcat(many, "]}");
    refused(many, ny, BF_E_INVALID, "window.hours: 49 ranges, at most 48");

    bf_window *w = NULL;
    ck_assert_int_eq(bf_window_new(&w, NULL, ny), BF_E_INVALID);
    ck_assert_int_eq(bf_window_new(NULL, "{}", ny), BF_E_INVALID);
}
END_TEST

struct new_ctx {
    bf_window *w;
};

static int new_op(void *arg)
{
    struct new_ctx *ctx = arg;

    return bf_window_new(&ctx->w, "{\"hours\": [\"22:00-06:00\"], \"days\": [\"sat\", \"sun\"]}",
                         "Europe/London");
}

static void new_cleanup(void *arg)
{
    struct new_ctx *ctx = arg;

    bf_window_free(ctx->w);
    ctx->w = NULL;
}

START_TEST(new_survives_every_allocation_failure)
{
    struct new_ctx ctx = {NULL};

    ck_assert_int_gt(failalloc_sweep(new_op, new_cleanup, &ctx), 3);
}
END_TEST

static Suite *window_suite(void)
{
    Suite *s = suite_create("window");
    TCase *scan_tc = tcase_create("scan");
    TCase *nights_tc = tcase_create("nights");
    TCase *refuse_tc = tcase_create("refusals");

    tcase_set_timeout(scan_tc, 120);
    tcase_add_loop_test(scan_tc, night_hours_every_day_agree_with_a_minute_scan, 0, 4);
    tcase_add_loop_test(scan_tc, wrapping_ranges_on_some_days_agree_with_a_minute_scan, 0, 4);
    tcase_add_loop_test(scan_tc, whole_days_agree_with_a_minute_scan, 0, 4);
    suite_add_tcase(s, scan_tc);

    tcase_add_test(nights_tc, new_york_night_is_one_hour_in_spring_and_three_in_autumn);
    tcase_add_test(nights_tc, lord_howe_half_hour_changes);
    tcase_add_test(nights_tc, a_wrapping_range_belongs_to_the_day_it_starts);
    tcase_add_test(nights_tc, an_always_open_window_never_closes);
    tcase_add_test(nights_tc, the_ends_of_time);
    suite_add_tcase(s, nights_tc);

    tcase_add_test(refuse_tc, bad_windows_are_refused_naming_the_part);
    tcase_add_test(refuse_tc, new_survives_every_allocation_failure);
    suite_add_tcase(s, refuse_tc);
    return s;
}

int main(void)
{
    return bftest_run(window_suite());
}
