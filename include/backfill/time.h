/*
 * Time zones and the local calendar.
 *
 * Zones are the IANA zones of the system's tz database, read from its TZif
 * files (RFC 8536, versions 1 to 4): the transition table, and for instants
 * past the table the POSIX TZ rule in the file's footer. The directory is
 * $TZDIR when set, else /usr/share/zoneinfo. "UTC" is always available, even
 * without a tz database.
 *
 * Instants are seconds since 1970-01-01 00:00:00 UTC (leap seconds are not
 * counted, as in POSIX time). Civil times are proleptic Gregorian.
 *
 * Local civil time to UTC. Most local times name exactly one instant. In a
 * gap (clocks jump forward) a local time names none, and in an overlap
 * (clocks fall back) it names two. libbackfill resolves every local time to
 * the FIRST INSTANT AT OR AFTER IT: the earliest instant whose local clock
 * reads that time or later. In a gap that is the instant the clock jumps
 * (02:30 on a spring-forward night at 02:00 resolves to the instant the
 * clock shows 03:00); in an overlap it is the earlier of the two instants.
 * Calendar boundaries resolved this way tile the time line: consecutive
 * boundaries never cross, and a boundary that falls inside a gap merely
 * shortens the period before it.
 */
#ifndef BACKFILL_TIME_H
#define BACKFILL_TIME_H

#include <stdint.h>

#include "backfill/common.h"
#include "backfill/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A civil (wall clock) date and time, without a zone. A value type: copy it
 * freely. month 1-12, day 1-31, hour 0-23, minute 0-59, second 0-59.
 */
typedef struct bf_civil {
    int64_t year;
    int month;
    int day;
    int hour;
    int minute;
    int second;
} bf_civil;

/*
 * NULL: bf_civil_parse(), bf_tz_load() and bf_tz_to_utc() fail with
 * BF_E_INVALID for a NULL pointer ("bf_tz_to_utc: tz is NULL");
 * bf_civil_seconds(), bf_civil_valid(), bf_tz_offset() and bf_tz_is_dst()
 * answer 0 and bf_tz_name() NULL for one; the functions that return nothing
 * do nothing when a pointer argument is NULL.
 */

/* Days from 1970-01-01 to the given date (negative before it). */
BF_API int64_t bf_civil_days(int64_t year, int month, int day);

/* The date `days` days after 1970-01-01; the time of day is set to 00:00:00. */
BF_API void bf_civil_from_days(bf_civil *out, int64_t days);

/* Seconds from 1970-01-01 00:00:00 to the civil time, as if it were UTC. */
BF_API int64_t bf_civil_seconds(const bf_civil *civil);

/* The civil time `seconds` after 1970-01-01 00:00:00, as if it were UTC. */
BF_API void bf_civil_from_seconds(bf_civil *out, int64_t seconds);

/* The day of the week of a date: 1 Monday ... 7 Sunday (ISO 8601). */
BF_API int bf_civil_weekday(int64_t year, int month, int day);

/* The number of days of a month (28-31); 0 for a month outside 1-12. */
BF_API int bf_civil_month_days(int64_t year, int month);

/*
 * The ISO 8601 week of a date: the week-based year (which differs from the
 * calendar year around 1 January) and the week 1-53. Weeks start on Monday;
 * week 1 is the week with the year's first Thursday.
 */
BF_API void bf_civil_iso_week(int64_t *out_year, int *out_week, int64_t year, int month,
                              int day);

/*
 * The first day of the month `months` months after the month of `civil`
 * (negative goes back), at 00:00:00. Quarters are 3 months, years 12.
 */
BF_API void bf_civil_add_months(bf_civil *out, const bf_civil *civil, int64_t months);

/*
 * Parse "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS" (a 'T' may
 * stand for the space). Fails with BF_E_INVALID, naming the text, on any
 * other form or an impossible date such as 2025-02-30.
 */
BF_API int bf_civil_parse(bf_civil *out, const char *text);

/*
 * Whether the fields form a real date and time: year within
 * +-BF_CIVIL_YEAR_MAX (so that seconds never overflow), month 1-12, day
 * within the month, hour 0-23, minute and second 0-59.
 */
#define BF_CIVIL_YEAR_MAX 999999
BF_API int bf_civil_valid(const bf_civil *civil);

/*
 * bf_tz, declared in <backfill/types.h>: a time zone loaded from the tz
 * database. Immutable; safe to share between threads.
 */

/*
 * Load the zone `name` (an IANA name such as "America/New_York", or "UTC").
 * The caller owns *out and frees it with bf_tz_free(). Fails with
 * BF_E_INVALID for a malformed name (empty, absolute, containing ".."),
 * BF_E_NOT_FOUND when there is no such zone file, BF_E_IO when it cannot be
 * read, BF_E_PARSE when it is not a valid TZif file and BF_E_UNSUPPORTED for
 * leap-second ("right/") zones; every message names the zone and the file.
 */
BF_API int bf_tz_load(bf_tz **out, const char *name);

/* Release a zone. Accepts NULL. */
BF_API void bf_tz_free(bf_tz *tz);

/* The zone's name as given to bf_tz_load(); owned by the zone. */
BF_API const char *bf_tz_name(const bf_tz *tz);

/* The zone's offset from UTC in seconds (east positive) at the instant `t`. */
BF_API int32_t bf_tz_offset(const bf_tz *tz, int64_t t);

/* Whether daylight-saving time is in effect at the instant `t`: 1 or 0. */
BF_API int bf_tz_is_dst(const bf_tz *tz, int64_t t);

/* The local civil time at the instant `t`. */
BF_API void bf_tz_to_local(bf_civil *out, const bf_tz *tz, int64_t t);

/*
 * The instant of a local civil time, resolved by the rule in this header's
 * comment (the first instant at or after it). Fails with BF_E_INVALID when
 * `local` is not a valid civil time.
 */
BF_API int bf_tz_to_utc(int64_t *out, const bf_tz *tz, const bf_civil *local);

/*
 * Windows: when something may happen, as local hours on local days of a time
 * zone ("nights and weekends in New York"). bf_window, declared in
 * <backfill/types.h>, is immutable once built and safe to share between
 * threads. Instants are microseconds since 1970-01-01 00:00:00 UTC, the unit
 * of the ledger's clock.
 *
 * A window is written as JSON, the form of a brief's `batching.window`:
 *
 *   {"hours": ["22:00-06:00", "12:00-13:00"], "days": ["sat", "sun"]}
 *
 * `hours` lists one to 48 distinct ranges "HH:MM-HH:MM" of local wall-clock
 * time, each from its start (included) to its end (excluded); "24:00" may
 * end a range, and a range whose end is at or before its start wraps past
 * midnight ("22:00-06:00"; "00:00-24:00" is the whole day). `days` lists
 * distinct days from mon, tue, wed, thu, fri, sat, sun. Without `hours` a
 * window allows all day, without `days` every day; {} is always open.
 *
 * An instant is inside when its local wall-clock time, in the window's zone,
 * falls in one of the ranges on an allowed day; for a wrapping range the day
 * that counts is the day the range starts ("22:00-06:00" on "sat" holds from
 * Saturday 22:00 to Sunday 06:00). Because only the wall clock counts, the
 * real length of a window follows the zone's clock changes: "01:00-03:00" in
 * America/New_York lasts one hour on the night clocks spring forward at 02:00
 * and three on the night they fall back; a range starting in the skipped hour,
 * "02:30-04:00", opens at 03:00 that night.
 */

/*
 * Build a window from its JSON text in the zone `zone` (an IANA name, as for
 * bf_tz_load()). The caller owns *out and frees it with bf_window_free().
 * Fails with BF_E_PARSE for text that is not JSON (line:column), BF_E_INVALID
 * for a bad window, naming the part at fault ("window.hours[0]: expected a
 * range ..., got "25:00-26:00"", "window.days[1]: expected one of mon,
 * ..., got "mo"", an empty list, a repeated entry, an unknown field), and
 * with bf_tz_load()'s codes and messages for the zone.
 */
BF_API int bf_window_new(bf_window **out, const char *json, const char *zone);

/* Release a window. Accepts NULL. */
BF_API void bf_window_free(bf_window *window);

/* Whether the instant `utc_us` is inside the window: 1 or 0 (0 for a NULL window). */
BF_API int bf_window_contains(const bf_window *window, int64_t utc_us);

/*
 * The first instant at or after `utc_us` that is inside the window, into
 * *out: `utc_us` itself when it is inside, else the instant the window next
 * opens (a whole second). BF_E_NOT_FOUND when it does not open within two
 * years (a window every allowed occurrence of which falls into skipped local
 * time; not seen in real zones) or not before the end of int64 time.
 */
BF_API int bf_window_next_open(int64_t *out, const bf_window *window, int64_t utc_us);

/*
 * The first instant at or after `utc_us` that is outside the window, into
 * *out: `utc_us` itself when it is outside, else the instant the window next
 * closes (a whole second). INT64_MAX for a window that never closes (every
 * day, with ranges covering the whole day). BF_E_NOT_FOUND as for
 * bf_window_next_open().
 */
BF_API int bf_window_next_close(int64_t *out, const bf_window *window, int64_t utc_us);

#ifdef __cplusplus
}
#endif

#endif
