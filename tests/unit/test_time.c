/*
 * The time module: civil arithmetic, TZif reading (real zones from the
 * system's tzdata and crafted files), POSIX TZ rules and the local-to-UTC
 * rule. Where an independent source exists, results are compared with it:
 * glibc's own tz code (localtime_r with TZ set) and the `date` command.
 */
/* nftw() */
#define _XOPEN_SOURCE 700

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"
#include "bftest.h"
#include "common/internal.h"
#include "time/tz_internal.h"

/*
 * Check's assertions report each passing check to the forked runner (one
 * write per check), which makes loops over millions of instants slow; hot
 * loops use this instead, which only reports failures.
 */
#define EXPECT(cond, ...)                                                                     \
    do {                                                                                      \
        if (!(cond))                                                                          \
            ck_abort_msg(__VA_ARGS__);                                                        \
    } while (0)

static bf_tz *load(const char *name)
{
    bf_tz *tz = NULL;

    ck_assert_msg(bf_tz_load(&tz, name) == BF_OK, "%s: %s", name, bf_last_error());
    return tz;
}

static bf_civil civil(const char *text)
{
    bf_civil c;

    ck_assert_msg(bf_civil_parse(&c, text) == BF_OK, "%s", bf_last_error());
    return c;
}

static int64_t to_utc(const bf_tz *tz, const char *local)
{
    bf_civil c = civil(local);
    int64_t t;

    ck_assert_int_eq(bf_tz_to_utc(&t, tz, &c), BF_OK);
    return t;
}

/* glibc's view of zone `tz_env` (a TZ value) at instant t: offset and local wall seconds. */
static long glibc_offset(int64_t t, int64_t *wall)
{
    time_t tt = (time_t)t;
    struct tm tm;

    EXPECT(localtime_r(&tt, &tm), "localtime_r(%lld) failed", (long long)t);
    if (wall)
        *wall = bf_civil_days(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday) * 86400 +
                tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    return tm.tm_gmtoff;
}

static void set_tz_env(const char *value)
{
    if (value)
        setenv("TZ", value, 1);
    else
        unsetenv("TZ");
    tzset();
}

/* ---- civil calendar ---------------------------------------------------- */

START_TEST(civil_days_known_dates)
{
    bf_civil c;

    ck_assert_int_eq(bf_civil_days(1970, 1, 1), 0);
    ck_assert_int_eq(bf_civil_days(1969, 12, 31), -1);
    ck_assert_int_eq(bf_civil_days(2000, 3, 1), 11017);
    ck_assert_int_eq(bf_civil_days(2025, 3, 9), 20156);
    ck_assert_int_eq(bf_civil_days(1600, 2, 29), -135081);
    bf_civil_from_days(&c, 20156);
    ck_assert_int_eq(c.year, 2025);
    ck_assert_int_eq(c.month, 3);
    ck_assert_int_eq(c.day, 9);
    ck_assert_int_eq(bf_civil_weekday(2025, 3, 9), 7);  /* Sunday */
    ck_assert_int_eq(bf_civil_weekday(1970, 1, 1), 4);  /* Thursday */
    ck_assert_int_eq(bf_civil_weekday(1969, 12, 29), 1); /* Monday */
    ck_assert_int_eq(bf_civil_month_days(2024, 2), 29);
    ck_assert_int_eq(bf_civil_month_days(2100, 2), 28);
    ck_assert_int_eq(bf_civil_month_days(2000, 2), 29);
    ck_assert_int_eq(bf_civil_month_days(2025, 13), 0);
}
END_TEST

START_TEST(civil_days_round_trip_and_agree_with_timegm)
{
    for (int64_t d = -800000; d <= 800000; d += 97) {
        bf_civil c;
        struct tm tm = {0};

        bf_civil_from_days(&c, d);
        EXPECT(bf_civil_days(c.year, c.month, c.day) == d, "day %lld", (long long)d);
        EXPECT(bf_civil_valid(&c), "day %lld", (long long)d);
        tm.tm_year = (int)c.year - 1900;
        tm.tm_mon = c.month - 1;
        tm.tm_mday = c.day;
        EXPECT((int64_t)timegm(&tm) == d * 86400, "day %lld", (long long)d);
        /* timegm normalised tm and filled in the weekday (0 = Sunday). */
        EXPECT(bf_civil_weekday(c.year, c.month, c.day) % 7 == tm.tm_wday, "day %lld",
               (long long)d);
    }
}
END_TEST

START_TEST(civil_seconds_round_trip)
{
    bf_civil c = civil("1969-12-31 23:59:59");

    ck_assert_int_eq(bf_civil_seconds(&c), -1);
    bf_civil_from_seconds(&c, -1);
    ck_assert_int_eq(c.year, 1969);
    ck_assert_int_eq(c.hour, 23);
    ck_assert_int_eq(c.second, 59);
    bf_civil_from_seconds(&c, 1741503600);
    ck_assert_int_eq(c.day, 9);
    ck_assert_int_eq(c.hour, 7);
}
END_TEST

START_TEST(iso_weeks)
{
    static const struct {
        int y, m, d;
        int64_t wy;
        int w;
    } cases[] = {
        {2024, 12, 30, 2025, 1}, {2025, 1, 1, 2025, 1},  {2025, 3, 9, 2025, 10},
        {2025, 3, 10, 2025, 11}, {2021, 1, 3, 2020, 53}, {2026, 12, 31, 2026, 53},
        {2027, 1, 3, 2026, 53},  {2027, 1, 4, 2027, 1},  {2008, 12, 29, 2009, 1},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(cases); i++) {
        int64_t wy;
        int w;

        bf_civil_iso_week(&wy, &w, cases[i].y, cases[i].m, cases[i].d);
        ck_assert_msg(wy == cases[i].wy && w == cases[i].w, "%d-%d-%d: got %lld-W%02d",
                      cases[i].y, cases[i].m, cases[i].d, (long long)wy, w);
    }
}
END_TEST

START_TEST(add_months_steps_months_quarters_years)
{
    bf_civil c = civil("2025-11-17 13:00"), out;

    bf_civil_add_months(&out, &c, 2);
    ck_assert_int_eq(out.year, 2026);
    ck_assert_int_eq(out.month, 1);
    ck_assert_int_eq(out.day, 1);
    ck_assert_int_eq(out.hour, 0);
    bf_civil_add_months(&out, &c, -11);
    ck_assert_int_eq(out.year, 2024);
    ck_assert_int_eq(out.month, 12);
    bf_civil_add_months(&out, &c, -12 * 30 - 3);
    ck_assert_int_eq(out.year, 1995);
    ck_assert_int_eq(out.month, 8);
}
END_TEST

START_TEST(parse_accepts_dates_and_datetimes)
{
    bf_civil c = civil("2025-03-09T14:05:07");

    ck_assert_int_eq(c.year, 2025);
    ck_assert_int_eq(c.hour, 14);
    ck_assert_int_eq(c.minute, 5);
    ck_assert_int_eq(c.second, 7);
    c = civil("2024-02-29 23:59");
    ck_assert_int_eq(c.minute, 59);
    ck_assert_int_eq(c.second, 0);
}
END_TEST

START_TEST(parse_refuses_bad_text)
{
    static const char *bad[] = {"", "2025-1-01", "2025-01-01 ", "2025/01/01", "2025-01-01 24:00",
                                "2025-02-29", "2025-13-01", "2025-01-01 10", "20250101",
                                "2025-01-01 10:00:00Z"};
    bf_civil c;

    for (size_t i = 0; i < BF_ARRAY_LEN(bad); i++)
        ck_assert_msg(bf_civil_parse(&c, bad[i]) == BF_E_INVALID, "accepted '%s'", bad[i]);
    bf_civil_parse(&c, "2025-02-30");
    ck_assert_str_eq(bf_last_error(), "date-time '2025-02-30': no such date or time");
    bf_civil_parse(&c, "tomorrow");
    ck_assert_str_eq(bf_last_error(), "date-time 'tomorrow': expected YYYY-MM-DD, "
                                      "YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS");
}
END_TEST

/* ---- zones -------------------------------------------------------------- */

START_TEST(utc_is_built_in)
{
    bf_tz *tz;

    setenv("TZDIR", "/nonexistent", 1);
    tz = load("UTC");
    unsetenv("TZDIR");
    ck_assert_str_eq(bf_tz_name(tz), "UTC");
    ck_assert_int_eq(bf_tz_offset(tz, 1741503600), 0);
    ck_assert_int_eq(to_utc(tz, "2025-03-09"), 1741478400);
    {
        bf_civil far = {.year = BF_CIVIL_YEAR_MAX + 1, .month = 1, .day = 1};
        int64_t t;

        ck_assert(!bf_civil_valid(&far));
        ck_assert_int_eq(bf_tz_to_utc(&t, tz, &far), BF_E_INVALID);
        ck_assert_str_eq(bf_last_error(),
                         "time zone 'UTC': 1000000-01-01 00:00:00 is not a valid local time");
    }
    bf_tz_free(tz);
}
END_TEST

START_TEST(new_york_offsets_gap_and_overlap)
{
    bf_tz *tz = load("America/New_York");
    bf_civil c;

    ck_assert_int_eq(bf_tz_offset(tz, 1736899200), -5 * 3600); /* 2025-01-15 */
    ck_assert_int_eq(bf_tz_is_dst(tz, 1736899200), 0);
    ck_assert_int_eq(bf_tz_offset(tz, 1752537600), -4 * 3600); /* 2025-07-15 */
    ck_assert_int_eq(bf_tz_is_dst(tz, 1752537600), 1);
    /* Spring forward at 02:00 EST: 02:30 does not exist; it resolves to 03:00 EDT. */
    ck_assert_int_eq(to_utc(tz, "2025-03-09 02:30"), 1741503600);
    ck_assert_int_eq(to_utc(tz, "2025-03-09 02:00"), 1741503600);
    ck_assert_int_eq(to_utc(tz, "2025-03-09 03:00"), 1741503600);
    ck_assert_int_eq(to_utc(tz, "2025-03-09 01:59:59"), 1741503599);
    /* Fall back at 02:00 EDT: 01:30 happens twice; the earlier (EDT) instant wins. */
    ck_assert_int_eq(to_utc(tz, "2025-11-02 01:30"), 1762061400);
    ck_assert_int_eq(to_utc(tz, "2025-11-02 02:00"), 1762066800);
    ck_assert_int_eq(to_utc(tz, "2025-11-02 00:00"), 1762056000);
    bf_tz_to_local(&c, tz, 1762063200); /* the second 01:00, in EST */
    ck_assert_int_eq(c.hour, 1);
    ck_assert_int_eq(c.minute, 0);
    bf_tz_free(tz);
}
END_TEST

START_TEST(footer_rule_beyond_the_table)
{
    /* Past 2037 the fat files' tables end; the footer's M3.2.0,M11.1.0 takes over. */
    bf_tz *tz = load("America/New_York");
    int64_t spring = to_utc(tz, "2050-03-13 03:00");

    ck_assert_int_eq(spring, bf_civil_days(2050, 3, 13) * 86400 + 7 * 3600);
    ck_assert_int_eq(to_utc(tz, "2050-03-13 02:15"), spring);
    ck_assert_int_eq(bf_tz_offset(tz, spring - 1), -5 * 3600);
    ck_assert_int_eq(bf_tz_offset(tz, spring), -4 * 3600);
    ck_assert_int_eq(to_utc(tz, "2050-11-06 01:30"),
                     bf_civil_days(2050, 11, 6) * 86400 + 5 * 3600 + 1800);
    set_tz_env(":America/New_York");
    for (int64_t t = 2145916800; t < 2145916800 + 40LL * 365 * 86400; t += 86400 * 3 + 3607)
        EXPECT(bf_tz_offset(tz, t) == glibc_offset(t, NULL), "at %lld", (long long)t);
    set_tz_env(NULL);
    bf_tz_free(tz);
}
END_TEST

START_TEST(lord_howe_half_hour_dst)
{
    bf_tz *tz = load("Australia/Lord_Howe");

    ck_assert_int_eq(bf_tz_offset(tz, 1736899200), 11 * 3600);         /* January: +11 */
    ck_assert_int_eq(bf_tz_offset(tz, 1752537600), 10 * 3600 + 1800); /* July: +10:30 */
    /* 2025-10-05 02:00 -> 02:30: 02:10 resolves to the jump, 15:30 UTC the day before. */
    ck_assert_int_eq(to_utc(tz, "2025-10-05 02:10"), 1759591800);
    ck_assert_int_eq(to_utc(tz, "2025-10-05 02:30"), 1759591800);
    /* 2025-04-06 02:00 -> 01:30: 01:45 happens twice; the earlier is at +11. */
    ck_assert_int_eq(to_utc(tz, "2025-04-06 01:45"),
                     bf_civil_days(2025, 4, 6) * 86400 + 6300 - 11 * 3600);
    bf_tz_free(tz);
}
END_TEST

START_TEST(kathmandu_quarter_hour_offset)
{
    bf_tz *tz = load("Asia/Kathmandu");

    ck_assert_int_eq(bf_tz_offset(tz, 1741503600), 5 * 3600 + 45 * 60);
    ck_assert_int_eq(to_utc(tz, "2025-01-01"), 1735689600 - 20700);
    ck_assert_int_eq(bf_tz_is_dst(tz, 1741503600), 0);
    bf_tz_free(tz);
}
END_TEST

START_TEST(london_bst)
{
    bf_tz *tz = load("Europe/London");

    ck_assert_int_eq(to_utc(tz, "2025-03-30 01:30"), to_utc(tz, "2025-03-30 02:00"));
    ck_assert_int_eq(to_utc(tz, "2025-03-30 02:00"), 1743296400);
    ck_assert_int_eq(bf_tz_offset(tz, 1743296400), 3600);
    ck_assert_int_eq(to_utc(tz, "2025-10-26 01:30"), 1761438600); /* BST, the earlier */
    bf_tz_free(tz);
}
END_TEST

START_TEST(unknown_and_malformed_zones_are_refused)
{
    bf_tz *tz = NULL;

    unsetenv("TZDIR");
    ck_assert_int_eq(bf_tz_load(&tz, "Mars/Olympus_Mons"), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "time zone 'Mars/Olympus_Mons': no such zone (no file "
                                      "/usr/share/zoneinfo/Mars/Olympus_Mons)");
    ck_assert_int_eq(bf_tz_load(&tz, "../../etc/passwd"), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "time zone '../../etc/passwd': not a valid zone name");
    ck_assert_int_eq(bf_tz_load(&tz, "/etc/localtime"), BF_E_INVALID);
    ck_assert_int_eq(bf_tz_load(&tz, ""), BF_E_INVALID);
    ck_assert_int_eq(bf_tz_load(&tz, "America/New York"), BF_E_INVALID);
    ck_assert_int_eq(bf_tz_load(&tz, "America"), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(),
                     "time zone 'America': /usr/share/zoneinfo/America is not a zone file");
    ck_assert_int_eq(bf_tz_load(&tz, "right/UTC"), BF_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "right/UTC"));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "leap-second"));
    ck_assert_ptr_null(tz);
}
END_TEST

/* ---- crafted TZif files in a private TZDIR ------------------------------ */

static char tzdir[64];

static void make_tzdir(void)
{
    snprintf(tzdir, sizeof tzdir, "/tmp/bf-tzdir-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tzdir));
    setenv("TZDIR", tzdir, 1);
}

static void drop_tzdir(void)
{
    DIR *d = opendir(tzdir);
    struct dirent *e;
    char path[512];

    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", tzdir, e->d_name);
        unlink(path);
    }
    if (d)
        closedir(d);
    rmdir(tzdir);
    unsetenv("TZDIR");
}

static void write_zone(const char *name, const unsigned char *data, size_t len)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", tzdir, name);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    fclose(f);
}

static size_t put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
    return 4;
}

/*
 * A TZif file with the given transitions (type index per transition) and
 * types (utoff, isdst); version '\0' writes only the 32-bit block, other
 * versions also the 64-bit block and the footer.
 */
static size_t craft(unsigned char *buf, char version, size_t ntrans, const int64_t *times,
                    const unsigned char *idx, size_t ntypes, const int32_t *utoffs,
                    const unsigned char *isdst, const char *footer)
{
    size_t n = 0;

    for (int pass = 0; pass < (version ? 2 : 1); pass++) {
        size_t tsize = pass ? 8 : 4;

        memcpy(buf + n, "TZif", 4);
        buf[n + 4] = (unsigned char)version;
        memset(buf + n + 5, 0, 15);
        n += 20;
        n += put32(buf + n, 0);
        n += put32(buf + n, 0);
        n += put32(buf + n, 0);
        n += put32(buf + n, (uint32_t)ntrans);
        n += put32(buf + n, (uint32_t)ntypes);
        n += put32(buf + n, 4);
        for (size_t i = 0; i < ntrans; i++) {
            if (tsize == 8)
                n += put32(buf + n, (uint32_t)((uint64_t)times[i] >> 32));
            n += put32(buf + n, (uint32_t)times[i]);
        }
        for (size_t i = 0; i < ntrans; i++)
            buf[n++] = idx[i];
        for (size_t i = 0; i < ntypes; i++) {
            n += put32(buf + n, (uint32_t)utoffs[i]);
            buf[n++] = isdst[i];
            buf[n++] = 0;
        }
        memcpy(buf + n, "XYZ", 4);
        n += 4;
    }
    if (version) {
        buf[n++] = '\n';
        memcpy(buf + n, footer, strlen(footer));
        n += strlen(footer);
        buf[n++] = '\n';
    }
    return n;
}

START_TEST(version1_file_without_footer)
{
    /* +01 until 2000-01-01, then +02 for good (no footer in version 1). */
    static const int64_t times[] = {946684800};
    static const unsigned char idx[] = {1};
    static const int32_t offs[] = {3600, 7200};
    static const unsigned char dst[] = {0, 0};
    unsigned char buf[512];
    size_t len = craft(buf, 0, 1, times, idx, 2, offs, dst, NULL);
    bf_tz *tz;

    make_tzdir();
    write_zone("Test_V1", buf, len);
    tz = load("Test_V1");
    ck_assert_int_eq(bf_tz_offset(tz, 946684799), 3600);
    ck_assert_int_eq(bf_tz_offset(tz, 946684800), 7200);
    ck_assert_int_eq(bf_tz_offset(tz, 4102444800), 7200);
    /* 2000-01-01 01:30 local: the clock jumped from 00:59:59 to 02:00. */
    ck_assert_int_eq(to_utc(tz, "2000-01-01 01:30"), 946684800);
    bf_tz_free(tz);
    drop_tzdir();
}
END_TEST

START_TEST(version3_footer_with_julian_and_extended_times)
{
    /*
     * No transitions at all: everything comes from the footer, which uses
     * the zero-based day form (day 59: 1 March, or 29 February in leap
     * years) with a time past 24:00, and the Julian form (day 300, never
     * counting 29 February) with a negative time.
     */
    static const int32_t offs[] = {-3 * 3600};
    static const unsigned char dst[] = {0};
    const char *footer = "<-03>3<-02>,59/26,J300/-1";
    unsigned char buf[512];
    size_t len = craft(buf, '3', 0, NULL, NULL, 1, offs, dst, footer);
    bf_tz *tz;

    make_tzdir();
    write_zone("Test_V3", buf, len);
    tz = load("Test_V3");
    set_tz_env(footer);
    for (int64_t t = 1577836800; t < 1577836800 + 12LL * 365 * 86400; t += 3 * 3600 + 61)
        EXPECT(bf_tz_offset(tz, t) == glibc_offset(t, NULL), "at %lld", (long long)t);
    set_tz_env(NULL);
    bf_tz_free(tz);
    drop_tzdir();
}
END_TEST

START_TEST(corrupt_files_are_refused_with_the_file_named)
{
    static const int64_t times[] = {946684800};
    static const unsigned char idx[] = {1};
    static const int32_t offs[] = {3600, 7200};
    static const unsigned char dst[] = {0, 0};
    static const unsigned char bad_idx[] = {5};
    unsigned char buf[512];
    size_t len;
    bf_tz *tz = NULL;
    char expect[256];

    make_tzdir();
    write_zone("Garbage", (const unsigned char *)"not a zone at all, clearly", 26);
    ck_assert_int_eq(bf_tz_load(&tz, "Garbage"), BF_E_PARSE);
    snprintf(expect, sizeof expect, "time zone 'Garbage' (%s/Garbage): not a TZif file", tzdir);
    ck_assert_str_eq(bf_last_error(), expect);

    len = craft(buf, '2', 1, times, idx, 2, offs, dst, "<+02>-2");
    write_zone("Truncated", buf, len - 20);
    ck_assert_int_eq(bf_tz_load(&tz, "Truncated"), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "Truncated): truncated TZif data"));

    len = craft(buf, '2', 1, times, bad_idx, 2, offs, dst, "<+02>-2");
    write_zone("BadIndex", buf, len);
    ck_assert_int_eq(bf_tz_load(&tz, "BadIndex"), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "bad transition 0"));

    len = craft(buf, '2', 1, times, idx, 2, offs, dst, "EST5EDT,M13.1.0,M11.1.0");
    write_zone("BadFooter", buf, len);
    ck_assert_int_eq(bf_tz_load(&tz, "BadFooter"), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "bad TZ string 'EST5EDT,M13.1.0,M11.1.0'"));

    len = craft(buf, '2', 1, times, idx, 2, offs, dst, "<+02>-2");
    buf[4] = '9';
    write_zone("BadVersion", buf, len);
    ck_assert_int_eq(bf_tz_load(&tz, "BadVersion"), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "unknown TZif version"));
    ck_assert_ptr_null(tz);
    drop_tzdir();
}
END_TEST

START_TEST(tzdir_overrides_the_system_directory)
{
    static const int32_t offs[] = {4 * 3600 + 30 * 60};
    static const unsigned char dst[] = {0};
    unsigned char buf[512];
    size_t len = craft(buf, '2', 0, NULL, NULL, 1, offs, dst, "<+0430>-4:30");
    bf_tz *tz = NULL;

    make_tzdir();
    write_zone("Private", buf, len);
    tz = load("Private");
    ck_assert_int_eq(bf_tz_offset(tz, 0), 16200);
    bf_tz_free(tz);
    ck_assert_int_eq(bf_tz_load(&tz, "America/New_York"), BF_E_NOT_FOUND);
    drop_tzdir();
}
END_TEST

/* ---- POSIX TZ rules against glibc's -------------------------------------- */

START_TEST(posix_rules_agree_with_glibc)
{
    static const char *rules[] = {
        "EST5EDT,M3.2.0,M11.1.0",
        "<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
        "IST-2IDT,M3.4.4/26,M10.5.0",
        "<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
        "XXX3YYY,J60/2,300/1:30",
        "CET-1CEST,M3.5.0,M10.5.0/3",
        "AAA-3BBB-4:30,M2.5.6/-100,M11.5.0/150",
        "<+0545>-5:45",
    };

    for (size_t r = 0; r < BF_ARRAY_LEN(rules); r++) {
        bf__tz_rule rule;

        ck_assert_int_eq(bf__tz_rule_parse(&rule, rules[r], strlen(rules[r]), "test"), BF_OK);
        set_tz_env(rules[r]);
        for (int64_t t = 946684800; t < 946684800 + 30LL * 365 * 86400; t += 86400 + 3599) {
            int64_t next;
            bf__tz_type ty = bf__tz_rule_at(&rule, t, &next);

            EXPECT(ty.utoff == glibc_offset(t, NULL), "%s at %lld: %d, glibc %ld", rules[r],
                   (long long)t, ty.utoff, glibc_offset(t, NULL));
            /* Nothing changes before `next`, and something does at it. */
            if (next != INT64_MAX) {
                int64_t at = next;

                EXPECT(bf__tz_rule_at(&rule, at - 1, &next).utoff == ty.utoff, "%s before %lld",
                       rules[r], (long long)at);
                EXPECT(glibc_offset(at, NULL) != ty.utoff, "%s at %lld", rules[r],
                       (long long)at);
            }
        }
    }
    set_tz_env(NULL);
}
END_TEST

START_TEST(posix_rule_defaults_and_refusals)
{
    static const char *bad[] = {"", "E5", "EST", "EST5EDT,M3.2.0", "EST5EDT,M3.6.0,M11.1.0",
                                "EST5EDT,J0,J365", "EST5EDT,M3.2.0/168,M11.1.0", "<EST5",
                                "EST5EDT,M3.2.0,M11.1.0x"};
    bf__tz_rule rule;
    int64_t next;

    ck_assert_int_eq(bf__tz_rule_parse(&rule, "EST5EDT", 7, "z"), BF_OK);
    /* Without a rule, the US rule: 2030-03-10 07:00 UTC starts DST. */
    ck_assert_int_eq(bf__tz_rule_at(&rule, 1899356400 - 1, &next).utoff, -5 * 3600);
    ck_assert_int_eq(next, 1899356400);
    ck_assert_int_eq(bf__tz_rule_at(&rule, 1899356400, &next).utoff, -4 * 3600);
    /*
     * RFC 8536's example of daylight-saving time all year: it ends at 25:00
     * on 31 December, exactly when the next year's starts. (glibc gets the
     * hours around New Year wrong, so this one is checked by hand.)
     */
    ck_assert_int_eq(bf__tz_rule_parse(&rule, "EST5EDT,0/0,J365/25", 19, "z"), BF_OK);
    for (int64_t t = 946684800 - 86400; t < 946684800 + 5LL * 365 * 86400; t += 1800)
        EXPECT(bf__tz_rule_at(&rule, t, &next).utoff == -4 * 3600, "at %lld", (long long)t);
    for (size_t i = 0; i < BF_ARRAY_LEN(bad); i++)
        ck_assert_msg(bf__tz_rule_parse(&rule, bad[i], strlen(bad[i]), "z") == BF_E_PARSE,
                      "accepted '%s'", bad[i]);
}
END_TEST

/* ---- every zone of the system's tzdata ------------------------------------ */

#define MAX_ZONES 1024
static char *zones[MAX_ZONES];
static size_t nzones;
static size_t prefix_len;

static int collect(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    const char *rel = path + prefix_len;
    unsigned char magic[4];
    FILE *f;

    (void)st;
    (void)ftw;
    if (type != FTW_F || strncmp(rel, "right/", 6) == 0 || strncmp(rel, "posix/", 6) == 0 ||
        nzones >= MAX_ZONES)
        return 0;
    f = fopen(path, "rb");
    if (!f)
        return 0;
    if (fread(magic, 1, 4, f) == 4 && memcmp(magic, "TZif", 4) == 0)
        zones[nzones++] = strdup(rel);
    fclose(f);
    return 0;
}

static void collect_zones(void)
{
    if (nzones)
        return;
    prefix_len = strlen("/usr/share/zoneinfo/");
    ck_assert_int_eq(nftw("/usr/share/zoneinfo", collect, 16, FTW_PHYS), 0);
    ck_assert_uint_gt(nzones, 300);
}

/* Whether the zone changes its offset between 2000 and 2030. */
static int has_dst_2000_2030(const bf_tz *tz)
{
    int64_t t = 946684800, next;

    while (t < 1893456000) {
        if (bf__tz_at(tz, t, &next).isdst)
            return 1;
        t = next;
    }
    return 0;
}

START_TEST(every_system_zone_loads)
{
    size_t with_dst = 0;

    collect_zones();
    for (size_t i = 0; i < nzones; i++) {
        bf_tz *tz = load(zones[i]);

        with_dst += has_dst_2000_2030(tz);
        bf_tz_free(tz);
    }
    ck_assert_uint_gt(with_dst, 150);
}
END_TEST

/*
 * Past the transition table, the edges precomputed at load answer exactly
 * as the rule evaluated afresh: same type, same next change, in every system
 * zone with a DST rule, every five days and an hour from the last transition to
 * past the end of the table.
 */
START_TEST(precomputed_rule_edges_agree_with_the_rule)
{
    size_t checked = 0;

    collect_zones();
    for (size_t z = 0; z < nzones; z++) {
        bf_tz *tz = load(zones[z]);
        int64_t from = tz->ntrans ? tz->trans[tz->ntrans - 1] : 0;

        if (tz->edges) {
            for (int64_t t = from; t < tz->edges_until + 3 * 365 * 86400LL; t += 5 * 86400 + 3617) {
                int64_t next_a, next_b;
                bf__tz_type a = bf__tz_at(tz, t, &next_a);
                bf__tz_type b = bf__tz_rule_at(&tz->rule, t, &next_b);

                EXPECT(a.utoff == b.utoff && a.isdst == b.isdst && next_a == next_b,
                       "%s at %lld: %d/%d next %lld, rule %d/%d next %lld", zones[z],
                       (long long)t, a.utoff, a.isdst, (long long)next_a, b.utoff, b.isdst,
                       (long long)next_b);
                checked++;
            }
        }
        bf_tz_free(tz);
    }
    ck_assert_uint_gt(checked, 1000);
}
END_TEST

/*
 * Every local midnight from 2000 to 2030 in every zone with DST then,
 * checked against glibc: the instant shows that midnight or later, the
 * second before shows an earlier time, and no earlier instant at the
 * offset in force a day before shows exactly midnight (the overlap case).
 */
START_TEST(local_midnights_agree_with_glibc_in_every_dst_zone)
{
    size_t checked = 0, zones_checked = 0;

    collect_zones();
    for (size_t z = 0; z < nzones; z++) {
        bf_tz *tz = load(zones[z]);
        char env[300];

        if (!has_dst_2000_2030(tz)) {
            bf_tz_free(tz);
            continue;
        }
        zones_checked++;
        snprintf(env, sizeof env, ":%s", zones[z]);
        set_tz_env(env);
        for (int64_t d = bf_civil_days(2000, 1, 1); d < bf_civil_days(2031, 1, 1); d++) {
            bf_civil c;
            int64_t t, w_at, w_before, w_cand;
            long off_day_before;

            bf_civil_from_days(&c, d);
            EXPECT(bf_tz_to_utc(&t, tz, &c) == BF_OK, "%s", zones[z]);
            EXPECT(bf_tz_offset(tz, t) == glibc_offset(t, &w_at), "%s at %lld", zones[z],
                   (long long)t);
            glibc_offset(t - 1, &w_before);
            EXPECT(w_at >= d * 86400 && w_before < d * 86400,
                   "%s %lld: midnight resolves to %lld", zones[z], (long long)d, (long long)t);
            off_day_before = glibc_offset(t - 86400, NULL);
            if (d * 86400 - off_day_before < t) {
                glibc_offset(d * 86400 - off_day_before, &w_cand);
                EXPECT(w_cand != d * 86400, "%s: an earlier instant shows midnight %lld",
                              zones[z], (long long)d);
            }
            checked++;
        }
        bf_tz_free(tz);
    }
    set_tz_env(NULL);
    ck_assert_uint_gt(zones_checked, 150);
    ck_assert_uint_gt(checked, zones_checked * 11000);
}
END_TEST

/*
 * A sample against the `date` command: the midnights of 2025's transition
 * days (and a plain day) in every twelfth zone. `date` refuses local times
 * in a gap, where ours must then show a later wall time; in an overlap it
 * may pick either instant, ours must be the earlier showing the same time.
 */
START_TEST(local_midnights_agree_with_date_command)
{
    size_t compared = 0;

    collect_zones();
    for (size_t z = 0; z < nzones; z += 12) {
        bf_tz *tz = load(zones[z]);
        int64_t days[16], t = bf_civil_days(2025, 1, 1) * 86400, next;
        size_t ndays = 0;

        /* 15 January, and each 2025 transition day with the day after it. */
        days[ndays++] = bf_civil_days(2025, 1, 15);
        while (ndays + 2 <= BF_ARRAY_LEN(days)) {
            bf__tz_at(tz, t, &next);
            if (next >= bf_civil_days(2026, 1, 1) * 86400)
                break;
            days[ndays] = (next + bf_tz_offset(tz, next - 1)) / 86400;
            days[ndays + 1] = days[ndays] + 1;
            ndays += 2;
            t = next;
        }
        for (size_t k = 0; k < ndays; k++) {
            bf_civil c, shown;
            int64_t ours;
            long long theirs;
            char cmd[512];
            FILE *p;
            int got;

            bf_civil_from_days(&c, days[k]);
            ck_assert_int_eq(bf_tz_to_utc(&ours, tz, &c), BF_OK);
            snprintf(cmd, sizeof cmd, "TZ=':%s' date -d '%04lld-%02d-%02d 00:00' +%%s 2>/dev/null",
                     zones[z], (long long)c.year, c.month, c.day);
            p = popen(cmd, "r");
            ck_assert_ptr_nonnull(p);
            got = fscanf(p, "%lld", &theirs);
            pclose(p);
            bf_tz_to_local(&shown, tz, ours);
            if (got == 1) {
                /* Equal, or an overlap where ours is the earlier of two midnights. */
                ck_assert_msg(ours == theirs || (ours < theirs && shown.hour == 0 &&
                                                 shown.minute == 0 && shown.second == 0),
                              "%s: ours %lld", cmd, (long long)ours);
                compared++;
            } else {
                /* A gap at midnight: the day starts when the clock jumps, after 00:00. */
                ck_assert_msg(shown.hour != 0 || shown.minute != 0,
                              "%s refused a midnight we found", cmd);
            }
        }
        bf_tz_free(tz);
    }
    ck_assert_uint_gt(compared, 40);
}
END_TEST

/* ---- allocation failures ---------------------------------------------------- */

struct load_ctx {
    bf_tz *tz;
    const char *name;
};

static int load_op(void *arg)
{
    struct load_ctx *ctx = arg;

    return bf_tz_load(&ctx->tz, ctx->name);
}

static void load_cleanup(void *arg)
{
    struct load_ctx *ctx = arg;

    bf_tz_free(ctx->tz);
    ctx->tz = NULL;
}

START_TEST(load_survives_every_allocation_failure)
{
    struct load_ctx ctx = {NULL, "Australia/Lord_Howe"};

    ck_assert_int_gt(failalloc_sweep(load_op, load_cleanup, &ctx), 4);
    ctx.name = "UTC";
    ck_assert_int_gt(failalloc_sweep(load_op, load_cleanup, &ctx), 1);
}
END_TEST

static Suite *time_suite(void)
{
    Suite *s = suite_create("time");
    TCase *civil_tc = tcase_create("civil");
    TCase *zone_tc = tcase_create("zone");
    TCase *file_tc = tcase_create("files");
    TCase *all_tc = tcase_create("all-zones");

    tcase_add_test(civil_tc, civil_days_known_dates);
    tcase_add_test(civil_tc, civil_days_round_trip_and_agree_with_timegm);
    tcase_add_test(civil_tc, civil_seconds_round_trip);
    tcase_add_test(civil_tc, iso_weeks);
    tcase_add_test(civil_tc, add_months_steps_months_quarters_years);
    tcase_add_test(civil_tc, parse_accepts_dates_and_datetimes);
    tcase_add_test(civil_tc, parse_refuses_bad_text);
    suite_add_tcase(s, civil_tc);

    tcase_add_test(zone_tc, utc_is_built_in);
    tcase_add_test(zone_tc, new_york_offsets_gap_and_overlap);
    tcase_add_test(zone_tc, footer_rule_beyond_the_table);
    tcase_add_test(zone_tc, lord_howe_half_hour_dst);
    tcase_add_test(zone_tc, kathmandu_quarter_hour_offset);
    tcase_add_test(zone_tc, london_bst);
    tcase_add_test(zone_tc, unknown_and_malformed_zones_are_refused);
    tcase_add_test(zone_tc, posix_rules_agree_with_glibc);
    tcase_add_test(zone_tc, posix_rule_defaults_and_refusals);
    tcase_add_test(zone_tc, load_survives_every_allocation_failure);
    suite_add_tcase(s, zone_tc);

    tcase_add_test(file_tc, version1_file_without_footer);
    tcase_add_test(file_tc, version3_footer_with_julian_and_extended_times);
    tcase_add_test(file_tc, corrupt_files_are_refused_with_the_file_named);
    tcase_add_test(file_tc, tzdir_overrides_the_system_directory);
    suite_add_tcase(s, file_tc);

    tcase_set_timeout(all_tc, 120);
    tcase_add_test(all_tc, every_system_zone_loads);
    tcase_add_test(all_tc, precomputed_rule_edges_agree_with_the_rule);
    tcase_add_test(all_tc, local_midnights_agree_with_glibc_in_every_dst_zone);
    tcase_add_test(all_tc, local_midnights_agree_with_date_command);
    suite_add_tcase(s, all_tc);
    return s;
}

int main(void)
{
    return bftest_run(time_suite());
}
