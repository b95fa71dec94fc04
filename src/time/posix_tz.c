/*
 * POSIX TZ strings, as found in the footer of TZif files version 2 and up:
 * they give the zone's rule for every instant after the transition table.
 * RFC 8536 section 3.3 extends POSIX by allowing transition times from
 * -167 to 167 hours, so a rule can say "the Saturday before the last Sunday
 * at 24:00" as "M3.5.0/-24".
 */
#include <string.h>

#include "common/internal.h"
#include "time/tz_internal.h"

typedef struct cursor {
    const char *p;
    const char *end;
} cursor;

static int at_end(const cursor *c)
{
    return c->p >= c->end;
}

static int peek(const cursor *c)
{
    return at_end(c) ? '\0' : (unsigned char)*c->p;
}

static int skip(cursor *c, char ch)
{
    if (peek(c) != (unsigned char)ch)
        return 0;
    c->p++;
    return 1;
}

/* A zone abbreviation: letters, or anything but '>' between angle brackets. */
static int parse_name(cursor *c)
{
    const char *start = c->p;

    if (peek(c) == '<') {
        c->p++;
        while (!at_end(c) && *c->p != '>')
            c->p++;
        if (at_end(c) || c->p == start + 1)
            return 0;
        c->p++;
        return 1;
    }
    while (!at_end(c) && bf__ascii_isalpha((unsigned char)*c->p))
        c->p++;
    return c->p - start >= 3;
}

static int parse_number(cursor *c, int max_digits, int max, int *out)
{
    int v = 0;
    int n = 0;

    while (n < max_digits && bf__ascii_isdigit(peek(c))) {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n == 0 || v > max)
        return 0;
    *out = v;
    return 1;
}

/* [+-]hh[:mm[:ss]] with hours up to `max_hours`; the result in seconds. */
static int parse_hms(cursor *c, int max_hours, int32_t *out)
{
    int sign = 1;
    int h = 0, m = 0, s = 0;

    if (peek(c) == '+' || peek(c) == '-') {
        sign = *c->p == '-' ? -1 : 1;
        c->p++;
    }
    if (!parse_number(c, 3, max_hours, &h))
        return 0;
    if (peek(c) == ':') {
        c->p++;
        if (!parse_number(c, 2, 59, &m))
            return 0;
        if (peek(c) == ':') {
            c->p++;
            if (!parse_number(c, 2, 59, &s))
                return 0;
        }
    }
    *out = sign * (h * 3600 + m * 60 + s);
    return 1;
}

static int parse_date(cursor *c, bf__tz_date *out)
{
    memset(out, 0, sizeof *out);
    out->time = 2 * 3600;
    if (peek(c) == 'J') {
        c->p++;
        out->kind = 'J';
        if (!parse_number(c, 3, 365, &out->day) || out->day < 1)
            return 0;
    } else if (peek(c) == 'M') {
        c->p++;
        out->kind = 'M';
        if (!parse_number(c, 2, 12, &out->month) || out->month < 1 || peek(c) != '.')
            return 0;
        c->p++;
        if (!parse_number(c, 1, 5, &out->week) || out->week < 1 || peek(c) != '.')
            return 0;
        c->p++;
        if (!parse_number(c, 1, 6, &out->weekday))
            return 0;
    } else {
        out->kind = 'n';
        if (!parse_number(c, 3, 365, &out->day))
            return 0;
    }
    if (peek(c) == '/') {
        c->p++;
        if (!parse_hms(c, 167, &out->time))
            return 0;
    }
    return 1;
}

int bf__tz_rule_parse(bf__tz_rule *out, const char *text, size_t len, const char *what)
{
    cursor c = {text, text + len};
    bf__tz_rule r;
    int32_t off;
    int ok;

    memset(&r, 0, sizeof r);
    ok = parse_name(&c) && parse_hms(&c, 24, &off);
    if (ok) {
        /* POSIX offsets count hours west of Greenwich; ours count east. */
        r.std.utoff = -off;
        if (!at_end(&c)) {
            r.has_dst = 1;
            r.dst.isdst = 1;
            r.dst.utoff = r.std.utoff + 3600;
            ok = parse_name(&c);
            if (ok && !at_end(&c) && peek(&c) != ',') {
                ok = parse_hms(&c, 24, &off);
                r.dst.utoff = -off;
            }
            if (ok && at_end(&c)) {
                /* No rule given: the United States' rule, as POSIX systems assume. */
                r.start = (bf__tz_date){'M', 0, 3, 2, 0, 2 * 3600};
                r.end = (bf__tz_date){'M', 0, 11, 1, 0, 2 * 3600};
            } else if (ok) {
                ok = skip(&c, ',') && parse_date(&c, &r.start) && skip(&c, ',') &&
                     parse_date(&c, &r.end) && at_end(&c);
            }
        }
    }
    if (!ok)
        return bf__error(BF_E_PARSE, "%s: bad TZ string '%.*s' in the footer", what, (int)len,
                         text);
    r.present = 1;
    *out = r;
    return BF_OK;
}

/* The UTC instant of a rule date in `year`, given the offset in effect before it. */
static int64_t rule_instant(const bf__tz_date *d, int64_t year, int32_t utoff_before)
{
    int64_t day;

    if (d->kind == 'J') {
        int leap = bf_civil_month_days(year, 2) == 29;

        day = bf_civil_days(year, 1, 1) + d->day - 1 + (leap && d->day >= 60 ? 1 : 0);
    } else if (d->kind == 'n') {
        day = bf_civil_days(year, 1, 1) + d->day;
    } else {
        int first_wd = bf_civil_weekday(year, d->month, 1) % 7; /* 0 = Sunday */
        int mday = 1 + (d->weekday - first_wd + 7) % 7 + 7 * (d->week - 1);

        while (mday > bf_civil_month_days(year, d->month))
            mday -= 7;
        day = bf_civil_days(year, d->month, mday);
    }
    return day * 86400 + d->time - utoff_before;
}

/*
 * The edges of years [from, to] into `edges` (room for 2 * (to - from + 1)),
 * sorted. Edges are generated in year order, start before end, which is
 * also the order of equal instants ("all year DST" rules end one year at the
 * instant the next one starts); the sort is stable, since southern-hemisphere
 * rules end before they start within a year.
 */
static size_t rule_edges(bf__tz_edge *edges, const bf__tz_rule *rule, int64_t from, int64_t to)
{
    size_t n = 0;

    for (int64_t y = from; y <= to; y++) {
        edges[n++] = (bf__tz_edge){rule_instant(&rule->start, y, rule->std.utoff), 1};
        edges[n++] = (bf__tz_edge){rule_instant(&rule->end, y, rule->dst.utoff), 0};
    }
    for (size_t i = 1; i < n; i++) {
        bf__tz_edge e = edges[i];
        size_t j = i;

        while (j > 0 && edges[j - 1].at > e.at) {
            edges[j] = edges[j - 1];
            j--;
        }
        edges[j] = e;
    }
    return n;
}

bf__tz_type bf__tz_rule_at(const bf__tz_rule *rule, int64_t t, int64_t *out_next)
{
    bf__tz_edge edges[10];
    size_t n;
    bf_civil civil;
    int isdst;

    *out_next = INT64_MAX;
    if (!rule->has_dst)
        return rule->std;
    /*
     * Transitions of a year can move up to a week into its neighbours
     * (167-hour times), so the years around t's year hold both the change
     * before t and the next one.
     */
    bf_civil_from_seconds(&civil, t);
    n = rule_edges(edges, rule, civil.year - 2, civil.year + 2);
    isdst = !edges[0].isdst;
    for (size_t i = 0; i < n; i++) {
        if (edges[i].at <= t) {
            isdst = edges[i].isdst;
        } else if (edges[i].isdst != isdst) {
            *out_next = edges[i].at;
            break;
        }
    }
    return isdst ? rule->dst : rule->std;
}

/* Years of rule edges precomputed from the year of the last transition (or 1970) on. */
#define RULE_TABLE_YEARS 250

int bf__tz_rule_table(bf_tz *tz)
{
    bf_civil civil;
    int64_t from, to;

    if (!tz->rule.present || !tz->rule.has_dst)
        return BF_OK;
    bf_civil_from_seconds(&civil, tz->ntrans ? tz->trans[tz->ntrans - 1] : 0);
    from = civil.year;
    to = from + RULE_TABLE_YEARS - 1;
    /* Two years either side, as bf__tz_rule_at() looks at for any year in [from, to]. */
    tz->edges = bf__calloc((size_t)(to - from + 5) * 2, sizeof *tz->edges);
    if (!tz->edges)
        return bf__nomem();
    tz->nedges = rule_edges(tz->edges, &tz->rule, from - 2, to + 2);
    tz->edges_from = bf_civil_days(from, 1, 1) * 86400;
    tz->edges_until = bf_civil_days(to + 1, 1, 1) * 86400;
    return BF_OK;
}

int bf__tz_rule_lookup(const bf_tz *tz, int64_t t, bf__tz_type *out, int64_t *out_next)
{
    size_t lo = 0, hi;
    int isdst;

    if (!tz->edges || t < tz->edges_from || t >= tz->edges_until)
        return 0;
    /* The last edge at or before t (there is one: the table starts two years early). */
    hi = tz->nedges;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->edges[mid].at <= t)
            lo = mid;
        else
            hi = mid;
    }
    isdst = tz->edges[lo].isdst;
    *out_next = INT64_MAX;
    for (size_t i = lo + 1; i < tz->nedges; i++) {
        if (tz->edges[i].isdst != isdst) {
            *out_next = tz->edges[i].at;
            break;
        }
    }
    *out = isdst ? tz->rule.dst : tz->rule.std;
    return 1;
}
