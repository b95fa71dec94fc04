/*
 * Windows: the local hours and days during which something may happen, in a
 * time zone. Whether an instant is inside depends only on its local wall
 * clock (date and time of day), so it can change only where the wall clock
 * crosses a range's start or end or midnight, or where the zone's offset
 * changes. Searching for the next change walks those points, never a clock.
 */
#include <string.h>

#include "common/internal.h"
#include "common/json.h"
#include "time/tz_internal.h"
#include "time/window_internal.h"

#define DAY_S 86400
#define US_PER_S 1000000
/* How far ahead the searches look before giving up: two years and a day. */
#define HORIZON_S ((int64_t)731 * DAY_S)

typedef struct range {
    int start, end; /* minutes of the day; end <= start wraps past midnight */
} range;

struct bf_window {
    bf_tz *tz;
    unsigned days; /* bit (weekday - 1) for each allowed ISO weekday */
    size_t nranges;
    range ranges[BF__WINDOW_MAX_RANGES];
    int always; /* every day, all day: open at every instant */
};

static const char *const day_names[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};

int bf__window_day(const char *name)
{
    for (int i = 0; i < 7; i++)
        if (name && strcmp(name, day_names[i]) == 0)
            return i + 1;
    return 0;
}

static int two_digits(const char *s)
{
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return -1;
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "HH:MM" at s into minutes; 24:00 only when `end`. -1 when malformed. */
static int clock_minutes(const char *s, int end)
{
    int h = two_digits(s), m = two_digits(s + 3);

    if (s[2] != ':' || h < 0 || m < 0 || m > 59)
        return -1;
    if (h == 24 && m == 0 && end)
        return 1440;
    return h <= 23 ? h * 60 + m : -1;
}

const char *bf__window_range_parse(const char *text, int *start, int *end)
{
    int a, b;

    if (!text || strlen(text) != 11 || text[5] != '-' || (a = clock_minutes(text, 0)) < 0 ||
        (b = clock_minutes(text + 6, 1)) < 0)
        return "expected a range \"HH:MM-HH:MM\" of local times from 00:00 to 24:00";
    if (a == b)
        return "expected a range whose start and end differ (\"00:00-24:00\" is the whole day)";
    *start = a;
    *end = b;
    return NULL;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* The ISO weekday (1 Monday .. 7 Sunday) of a day counted from 1970-01-01, a Thursday. */
static int weekday(int64_t days)
{
    return (int)(((days % 7) + 7 + 3) % 7) + 1;
}

static int day_allowed(const bf_window *w, int64_t days)
{
    return (w->days >> (weekday(days) - 1)) & 1;
}

/* Whether local wall time `wall` (seconds since 1970-01-01 as if UTC) is inside. */
static int wall_inside(const bf_window *w, int64_t wall)
{
    int64_t days = floor_div(wall, DAY_S);
    int64_t sod = wall - days * DAY_S;

    for (size_t i = 0; i < w->nranges; i++) {
        int64_t a = (int64_t)w->ranges[i].start * 60, b = (int64_t)w->ranges[i].end * 60;

        if (a < b) {
            if (sod >= a && sod < b && day_allowed(w, days))
                return 1;
        } else if ((sod >= a && day_allowed(w, days)) || (sod < b && day_allowed(w, days - 1))) {
            /* A wrapping range belongs to the day it starts on. */
            return 1;
        }
    }
    return 0;
}

static int inside_s(const bf_window *w, int64_t t)
{
    int64_t next;

    return wall_inside(w, t + bf__tz_at(w->tz, t, &next).utoff);
}

/*
 * The first second >= t whose insideness is `want`, searching up to `limit`.
 * Between two consecutive candidates the offset is constant and the wall
 * clock crosses no range edge and no midnight, so insideness cannot change
 * there. Returns 1 and sets *out when found, 0 when not within the limit.
 */
static int seek(int64_t *out, const bf_window *w, int64_t t, int want, int64_t limit)
{
    while (t <= limit) {
        int64_t change, wall, day0, sod, best = DAY_S, cand;
        int32_t off = bf__tz_at(w->tz, t, &change).utoff;

        wall = t + off;
        if (wall_inside(w, wall) == want) {
            *out = t;
            return 1;
        }
        day0 = floor_div(wall, DAY_S) * DAY_S;
        sod = wall - day0;
        for (size_t i = 0; i < w->nranges; i++) {
            int64_t a = (int64_t)w->ranges[i].start * 60, b = (int64_t)w->ranges[i].end * 60;

            if (a > sod && a < best)
                best = a;
            if (b > sod && b < best)
                best = b;
        }
        cand = day0 + best - off;
        t = cand < change ? cand : change;
    }
    return 0;
}

/* ---- Building ------------------------------------------------------------ */

static int bad(const char *path, const char *why, const json_t *v)
{
    if (json_is_string(v))
        return bf__error(BF_E_INVALID, "window.%s: %s, got \"%.40s\"", path, why,
                         json_string_value(v));
    return bf__error(BF_E_INVALID, "window.%s: %s", path, why);
}

static int parse_hours(bf_window *w, const json_t *list)
{
    size_t i;
    json_t *item;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return bad("hours", "expected a non-empty list of ranges like \"22:00-06:00\"", NULL);
    if (json_array_size(list) > BF__WINDOW_MAX_RANGES)
        return bf__error(BF_E_INVALID, "window.hours: %zu ranges, at most %d allowed",
                         json_array_size(list), BF__WINDOW_MAX_RANGES);
    json_array_foreach(list, i, item) {
        char path[32];
        const char *why = json_is_string(item)
                              ? bf__window_range_parse(json_string_value(item),
                                                       &w->ranges[i].start, &w->ranges[i].end)
                              : "expected a range \"HH:MM-HH:MM\" as a string";

        bf__snprintf(path, sizeof path, "hours[%zu]", i);
        if (why)
            return bad(path, why, item);
        for (size_t j = 0; j < i; j++)
            if (w->ranges[j].start == w->ranges[i].start && w->ranges[j].end == w->ranges[i].end)
                return bad(path, "the range is listed twice", item);
    }
    w->nranges = json_array_size(list);
    return BF_OK;
}

static int parse_days(bf_window *w, const json_t *list)
{
    size_t i;
    json_t *item;

    if (!json_is_array(list) || json_array_size(list) == 0)
        return bad("days", "expected a non-empty list of days (" BF__WINDOW_DAY_NAMES ")", NULL);
    w->days = 0;
    json_array_foreach(list, i, item) {
        char path[32];
        int d = json_is_string(item) ? bf__window_day(json_string_value(item)) : 0;

        bf__snprintf(path, sizeof path, "days[%zu]", i);
        if (!d)
            return bad(path, "expected one of " BF__WINDOW_DAY_NAMES, item);
        if ((w->days >> (d - 1)) & 1)
            return bad(path, "the day is listed twice", item);
        w->days |= 1u << (d - 1);
    }
    return BF_OK;
}

/* Every day allowed and the ranges cover every minute of a day. */
static int covers_all(const bf_window *w)
{
    unsigned char minute[1440] = {0};

    if (w->days != 0x7f)
        return 0;
    for (size_t i = 0; i < w->nranges; i++) {
        int a = w->ranges[i].start, b = w->ranges[i].end;

        for (int m = 0; m < 1440; m++)
            if (a < b ? (m >= a && m < b) : (m >= a || m < b))
                minute[m] = 1;
    }
    for (int m = 0; m < 1440; m++)
        if (!minute[m])
            return 0;
    return 1;
}

static int parse(bf_window *w, const char *json)
{
    json_error_t err;
    json_t *doc = bf__json_loads(json, JSON_REJECT_DUPLICATES, &err);
    const char *key;
    json_t *member;
    int rc = BF_OK;

    if (!doc) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return bf__nomem();
        return bf__error(BF_E_PARSE, "window:%d:%d: %s", err.line, err.column, err.text);
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        return bf__error(BF_E_INVALID, "window: expected an object like {\"hours\": "
                         "[\"22:00-06:00\"], \"days\": [\"sat\", \"sun\"]}");
    }
    json_object_foreach(doc, key, member) {
        if (strcmp(key, "hours") != 0 && strcmp(key, "days") != 0) {
            rc = bf__error(BF_E_INVALID, "window.%.40s: unknown field (a window has hours and "
                           "days)", key);
            break;
        }
    }
    if (rc == BF_OK && json_object_get(doc, "hours"))
        rc = parse_hours(w, json_object_get(doc, "hours"));
    if (rc == BF_OK && json_object_get(doc, "days"))
        rc = parse_days(w, json_object_get(doc, "days"));
    json_decref(doc);
    return rc;
}

int bf_window_new(bf_window **out, const char *json, const char *zone)
{
    bf_window *w;
    int rc;

    if (!out || !json || !zone)
        return bf__error(BF_E_INVALID, "bf_window_new: out, json or zone is NULL");
    *out = NULL;
    w = bf__calloc(1, sizeof *w);
    if (!w)
        return bf__nomem();
    /* Missing parts allow everything: every day, all day. */
    w->days = 0x7f;
    w->nranges = 1;
    w->ranges[0].start = 0;
    w->ranges[0].end = 1440;
    rc = parse(w, json);
    if (rc == BF_OK)
        rc = bf_tz_load(&w->tz, zone);
    if (rc != BF_OK) {
        bf_window_free(w);
        return rc;
    }
    w->always = covers_all(w);
    *out = w;
    return BF_OK;
}

void bf_window_free(bf_window *window)
{
    if (!window)
        return;
    bf_tz_free(window->tz);
    bf__free(window);
}

/* ---- Questions ------------------------------------------------------------ */

int bf_window_contains(const bf_window *window, int64_t utc_us)
{
    if (!window)
        return 0;
    return window->always || inside_s(window, floor_div(utc_us, US_PER_S));
}

/*
 * Edges fall on whole seconds (offsets are whole seconds, ranges whole
 * minutes), so a second is inside or outside as a whole: the answer for a
 * microsecond is its own when it already has the wanted state, else the
 * start of a later second.
 */
static int next_edge(int64_t *out, const bf_window *w, int64_t utc_us, int want)
{
    int64_t t = floor_div(utc_us, US_PER_S), found;
    int64_t limit = t < INT64_MAX / US_PER_S - HORIZON_S ? t + HORIZON_S : INT64_MAX / US_PER_S;

    if (!out || !w)
        return bf__error(BF_E_INVALID, "bf_window_next_%s: out or window is NULL",
                         want ? "open" : "close");
    if (inside_s(w, t) == want) {
        *out = utc_us;
        return BF_OK;
    }
    if (!seek(&found, w, t, want, limit))
        return bf__error(BF_E_NOT_FOUND,
                         "window in time zone '%s': it does not %s within two years after "
                         "%lld s since 1970 UTC",
                         w->tz->name, want ? "open" : "close", (long long)t);
    *out = found * US_PER_S;
    return BF_OK;
}

int bf_window_next_open(int64_t *out, const bf_window *window, int64_t utc_us)
{
    if (window && window->always && out) {
        *out = utc_us;
        return BF_OK;
    }
    return next_edge(out, window, utc_us, 1);
}

int bf_window_next_close(int64_t *out, const bf_window *window, int64_t utc_us)
{
    if (window && window->always && out) {
        *out = INT64_MAX;
        return BF_OK;
    }
    return next_edge(out, window, utc_us, 0);
}
