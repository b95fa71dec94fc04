/*
 * Proleptic Gregorian calendar arithmetic. Dates are counted in days from
 * 1970-01-01 through 400-year eras (146097 days each), with years starting on
 * 1 March so that the leap day is the last day of a year and month lengths
 * follow a simple linear formula.
 */
#include <string.h>

#include "backfill/time.h"
#include "common/internal.h"

#define DAYS_PER_ERA 146097
/* Days from 0000-03-01 to 1970-01-01. */
#define EPOCH_SHIFT 719468

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t bf_civil_days(int64_t year, int month, int day)
{
    int64_t y = month <= 2 ? year - 1 : year;
    int64_t era = floor_div(y, 400);
    int64_t yoe = y - era * 400;
    int64_t mp = month > 2 ? month - 3 : month + 9;
    int64_t doy = (153 * mp + 2) / 5 + day - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

    return era * DAYS_PER_ERA + doe - EPOCH_SHIFT;
}

void bf_civil_from_days(bf_civil *out, int64_t days)
{
    int64_t z = days + EPOCH_SHIFT;
    int64_t era = floor_div(z, DAYS_PER_ERA);
    int64_t doe = z - era * DAYS_PER_ERA;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int month = (int)(mp < 10 ? mp + 3 : mp - 9);

    if (!out)
        return;
    out->year = yoe + era * 400 + (month <= 2 ? 1 : 0);
    out->month = month;
    out->day = (int)(doy - (153 * mp + 2) / 5 + 1);
    out->hour = 0;
    out->minute = 0;
    out->second = 0;
}

int64_t bf_civil_seconds(const bf_civil *civil)
{
    if (!civil)
        return 0;
    return bf_civil_days(civil->year, civil->month, civil->day) * 86400 +
           civil->hour * 3600 + civil->minute * 60 + civil->second;
}

void bf_civil_from_seconds(bf_civil *out, int64_t seconds)
{
    int64_t days = floor_div(seconds, 86400);
    int64_t rest = seconds - days * 86400;

    if (!out)
        return;
    bf_civil_from_days(out, days);
    out->hour = (int)(rest / 3600);
    out->minute = (int)(rest / 60 % 60);
    out->second = (int)(rest % 60);
}

int bf_civil_weekday(int64_t year, int month, int day)
{
    /* 1970-01-01 was a Thursday (ISO day 4). */
    int64_t shifted = bf_civil_days(year, month, day) + 3;

    return (int)(shifted - floor_div(shifted, 7) * 7) + 1;
}

static int is_leap(int64_t year)
{
    return year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
}

int bf_civil_month_days(int64_t year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

    if (month < 1 || month > 12)
        return 0;
    return month == 2 && is_leap(year) ? 29 : days[month - 1];
}

void bf_civil_iso_week(int64_t *out_year, int *out_week, int64_t year, int month, int day)
{
    int64_t days = bf_civil_days(year, month, day);
    /* The Thursday of the date's week decides the week-based year. */
    int64_t thursday = days - bf_civil_weekday(year, month, day) + 4;
    bf_civil t;

    if (!out_year || !out_week)
        return;
    bf_civil_from_days(&t, thursday);
    *out_year = t.year;
    *out_week = (int)((thursday - bf_civil_days(t.year, 1, 1)) / 7) + 1;
}

void bf_civil_add_months(bf_civil *out, const bf_civil *civil, int64_t months)
{
    int64_t index, year;

    if (!out || !civil)
        return;
    index = civil->year * 12 + (civil->month - 1) + months;
    year = floor_div(index, 12);
    memset(out, 0, sizeof *out);
    out->year = year;
    out->month = (int)(index - year * 12) + 1;
    out->day = 1;
}

int bf_civil_valid(const bf_civil *c)
{
    if (!c)
        return 0;
    return c->year >= -BF_CIVIL_YEAR_MAX && c->year <= BF_CIVIL_YEAR_MAX && c->month >= 1 && c->month <= 12 && c->day >= 1 &&
           c->day <= bf_civil_month_days(c->year, c->month) && c->hour >= 0 && c->hour < 24 &&
           c->minute >= 0 && c->minute < 60 && c->second >= 0 && c->second < 60;
}

/* Read exactly `n` digits at *p into *out and advance. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!bf__ascii_isdigit((unsigned char)(*p)[i]))
            return 0;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 1;
}

static int expect(const char **p, char c)
{
    if (**p != c)
        return 0;
    (*p)++;
    return 1;
}

int bf_civil_parse(bf_civil *out, const char *text)
{
    bf_civil c = {0};
    const char *p = text;
    int year = 0;
    int ok;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_civil_parse: out is NULL");
    if (!text)
        return bf__error(BF_E_INVALID, "date-time: missing text");
    ok = digits(&p, 4, &year) && expect(&p, '-') && digits(&p, 2, &c.month) &&
         expect(&p, '-') && digits(&p, 2, &c.day);
    if (ok && (*p == ' ' || *p == 'T')) {
        p++;
        ok = digits(&p, 2, &c.hour) && expect(&p, ':') && digits(&p, 2, &c.minute);
        if (ok && *p == ':')
            ok = expect(&p, ':') && digits(&p, 2, &c.second);
    }
    c.year = year;
    if (!ok || *p != '\0')
        return bf__error(BF_E_INVALID,
                         "date-time '%s': expected YYYY-MM-DD, YYYY-MM-DD HH:MM or "
                         "YYYY-MM-DD HH:MM:SS",
                         text);
    if (!bf_civil_valid(&c))
        return bf__error(BF_E_INVALID, "date-time '%s': no such date or time", text);
    *out = c;
    return BF_OK;
}
