/*
 * Time batches: local calendar periods of the scope's zone, every N grains,
 * counted from the grain boundary at or before the scope's start. Period
 * boundaries are local civil times resolved to instants by the rule of
 * <backfill/time.h> (the first instant at or after), so a day is 23 or 25
 * hours across a DST change and a boundary in a gap shortens the period
 * before it. The first and last batch are clipped to the scope, and a
 * period that holds no instant (an hour skipped by DST) is left out.
 */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "plan/planner_internal.h"

typedef struct span {
    int64_t lo, hi; /* seconds */
    bf_civil first; /* the local start of the period, before clipping */
    bf_civil last;  /* the local start of its last grain holding an instant of the scope */
} span;

static int64_t wall(const bf_civil *c)
{
    return bf_civil_seconds(c);
}

/* The start of the grain period holding `c`. */
static void align(bf_civil *out, const bf_civil *c, bf_grain grain)
{
    *out = *c;
    out->minute = 0;
    out->second = 0;
    if (grain != BF_GRAIN_HOUR)
        out->hour = 0;
    if (grain == BF_GRAIN_WEEK)
        bf_civil_from_days(out, bf_civil_days(c->year, c->month, c->day) -
                                    (bf_civil_weekday(c->year, c->month, c->day) - 1));
    else if (grain == BF_GRAIN_MONTH)
        out->day = 1;
    else if (grain == BF_GRAIN_QUARTER)
        bf_civil_add_months(out, c, -((c->month - 1) % 3));
    else if (grain == BF_GRAIN_YEAR)
        bf_civil_add_months(out, c, -(c->month - 1));
}

/* The start of the period `k` grains after the aligned `base`. */
static void unit_at(bf_civil *out, const bf_civil *base, bf_grain grain, int64_t k)
{
    switch (grain) {
    case BF_GRAIN_HOUR:
        bf_civil_from_seconds(out, wall(base) + k * 3600);
        break;
    case BF_GRAIN_DAY:
    case BF_GRAIN_WEEK:
        bf_civil_from_days(out, bf_civil_days(base->year, base->month, base->day) +
                                    k * (grain == BF_GRAIN_WEEK ? 7 : 1));
        break;
    default: /* month, quarter, year; the setter refuses other values */
        bf_civil_add_months(out, base,
                            k * (grain == BF_GRAIN_MONTH ? 1 : grain == BF_GRAIN_QUARTER ? 3 : 12));
        break;
    }
}

/* "2025-03-09 14:00", "2025-03-09", "2025-W10", "2025-03", "2025-Q1", "2025". */
static int unit_label(char *buf, size_t size, const bf_civil *c, bf_grain grain)
{
    long long y = (long long)c->year;
    int64_t wy;
    int week;

    switch (grain) {
    case BF_GRAIN_HOUR:
        return snprintf(buf, size, "%04lld-%02d-%02d %02d:00", y, c->month, c->day, c->hour);
    case BF_GRAIN_DAY:
        return snprintf(buf, size, "%04lld-%02d-%02d", y, c->month, c->day);
    case BF_GRAIN_WEEK:
        bf_civil_iso_week(&wy, &week, c->year, c->month, c->day);
        return snprintf(buf, size, "%04lld-W%02d", (long long)wy, week);
    case BF_GRAIN_MONTH:
        return snprintf(buf, size, "%04lld-%02d", y, c->month);
    case BF_GRAIN_QUARTER:
        return snprintf(buf, size, "%04lld-Q%d", y, (c->month - 1) / 3 + 1);
    default:
        return snprintf(buf, size, "%04lld", y);
    }
}

/*
 * One grain: its own label; N grains: "first..last", e.g. "2025-01-01..2025-01-07",
 * where last is the period's last grain that holds part of the scope: the
 * week cut short by the scope's end on 2025-06-01 is "2025-05-28..2025-05-31".
 */
static void period_label(char *buf, const bf_civil *first, const bf_civil *last, bf_grain grain)
{
    int n = unit_label(buf, BF_LABEL_MAX, first, grain);

    if (wall(last) > wall(first) && n > 0 && n + 2 < BF_LABEL_MAX) {
        memcpy(buf + n, "..", 2);
        unit_label(buf + n + 2, (size_t)(BF_LABEL_MAX - n - 2), last, grain);
    }
}

void bf__time_param(bf_value *out, char *buf, int64_t t_s, bf_time_format format,
                    const bf_tz *tz)
{
    bf_civil c;

    memset(out, 0, sizeof *out);
    out->type = BF_VALUE_INT;
    switch (format) {
    case BF_TIME_FORMAT_UNSET: /* refused by the setter; bound like unix_s */
    case BF_TIME_FORMAT_UNIX_S:
        out->i = t_s;
        return;
    case BF_TIME_FORMAT_UNIX_MS:
        out->i = t_s * 1000;
        return;
    case BF_TIME_FORMAT_UNIX_US:
        out->i = t_s * 1000000;
        return;
    case BF_TIME_FORMAT_ISO8601:
        bf_civil_from_seconds(&c, t_s);
        snprintf(buf, BF_LABEL_MAX, "%04lld-%02d-%02d %02d:%02d:%02d", (long long)c.year,
                 c.month, c.day, c.hour, c.minute, c.second);
        break;
    case BF_TIME_FORMAT_DATE:
        bf_tz_to_local(&c, tz, t_s);
        snprintf(buf, BF_LABEL_MAX, "%04lld-%02d-%02d", (long long)c.year, c.month, c.day);
        break;
    }
    out->type = BF_VALUE_TEXT;
    out->s = buf;
    out->len = strlen(buf);
}

int bf__plan_time_check(const bf_planner *p)
{
    /*
     * No count limit is needed: four-digit years allow at most 87.6 million
     * hour batches, below BF_PLAN_MAX_BATCHES.
     */
    if (p->format != BF_TIME_FORMAT_DATE)
        return BF_OK;
    if (p->grain == BF_GRAIN_HOUR)
        return bf__error(BF_E_INVALID,
                         "time scope %s: hour batches cannot be bound as dates (time_format "
                         "date); use a day grain or coarser",
                         p->column);
    if (p->start.hour || p->start.minute || p->start.second || p->end.hour || p->end.minute ||
        p->end.second)
        return bf__error(BF_E_INVALID,
                         "time scope %s: with time_format date the scope must start and end "
                         "at midnight",
                         p->column);
    return BF_OK;
}

/* The periods of the scope, oldest first, into a growable array. */
static int cut(span **out, size_t *out_n, const bf_planner *p)
{
    span *spans = NULL;
    size_t n = 0, cap = 0;
    bf_civil base, b0, b1, end_unit;
    int64_t end_wall = wall(&p->end);
    int64_t t0, t1;

    align(&base, &p->start, p->grain);
    b0 = base;
    bf_tz_to_utc(&t0, p->tz, &b0);
    for (int64_t k = 0; wall(&b0) < end_wall; k += p->every) {
        int64_t lo, hi;

        unit_at(&b1, &base, p->grain, k + p->every);
        bf_tz_to_utc(&t1, p->tz, &b1);
        lo = t0 > p->start_s ? t0 : p->start_s;
        hi = t1 < p->end_s ? t1 : p->end_s;
        if (lo < hi) {
            bf_civil last;

            if (wall(&b1) > end_wall) { /* cut by the scope's end: the grain of its last second */
                bf_civil_from_seconds(&end_unit, end_wall - 1);
                align(&last, &end_unit, p->grain);
            } else {
                unit_at(&last, &base, p->grain, k + p->every - 1);
            }
            if (bf__grow((void **)&spans, &cap, n + 1, sizeof *spans) != BF_OK) {
                bf__free(spans);
                return bf__nomem();
            }
            spans[n++] = (span){lo, hi, b0, last};
        }
        b0 = b1;
        t0 = t1;
    }
    *out = spans;
    *out_n = n;
    return BF_OK;
}

int bf__plan_time(bf_plan *plan, const bf_planner *p)
{
    static const char *const names[2] = {"start", "end"};
    span *spans = NULL;
    size_t n = 0;
    int rc = bf__plan_time_check(p);

    if (rc == BF_OK)
        rc = cut(&spans, &n, p);
    if (rc != BF_OK)
        return rc;
    for (size_t i = 0; i < n && rc == BF_OK; i++) {
        const span *s = &spans[p->order == BF_BATCH_ORDER_NEWEST_FIRST ? n - 1 - i : i];
        char label[BF_LABEL_MAX], lo_text[BF_LABEL_MAX], hi_text[BF_LABEL_MAX];
        bf_value params[2];

        period_label(label, &s->first, &s->last, p->grain);
        bf__time_param(&params[0], lo_text, s->lo, p->format, p->tz);
        bf__time_param(&params[1], hi_text, s->hi, p->format, p->tz);
        rc = bf__plan_add(plan, s->lo * 1000000, s->hi * 1000000, label, 2, names, params);
    }
    bf__free(spans);
    return rc;
}
