/*
 * The brief's JSON schema as data, and the one walker that validates a
 * document (or one section, or one check) against it. Validation never
 * allocates: messages are built in fixed buffers, so it cannot fail for
 * lack of memory and setters can call it freely.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backfill/time.h"
#include "brief/brief_internal.h"
#include "common/types.h"
#include "time/window_internal.h"

enum skind {
    S_OBJECT,        /* members: the allowed fields */
    S_ARRAY,         /* members[0]: the element */
    S_STRING,        /* any string, "" included (drafts) */
    S_NAME,          /* a non-empty string */
    S_NAME_LIST,     /* an array of distinct non-empty strings */
    S_INT,           /* an integer in [min, max] (the node's range) */
    S_NUMBER,        /* integer or real */
    S_BOOL,
    S_ENUM,          /* one of names */
    S_SCALAR_LIST,   /* an array of strings, numbers, booleans or nulls */
    S_SCALAR_MAP,    /* an object whose members are scalars */
    S_PARTITION_LIST, /* an array of distinct integers or non-empty strings */
    S_CHECK          /* a validation check: members depend on its "check" */
};

typedef int (*hook_fn)(const json_t *v, bf__jpath *path);

struct bf__snode {
    const char *key; /* the member's name in its object; NULL ends a member list */
    enum skind kind;
    const bf__snode *members;
    const bf__enum *names;
    hook_fn hook; /* rules across fields, run after the node's own */
    /*
     * S_INT: the range, checked on the JSON integer itself, so that no
     * consumer ever narrows a value it was not built for (`every` becomes
     * the planner's unsigned; a value past 2^32 must be refused, not wrapped).
     */
    json_int_t min, max;
};

#define JINT_MAX ((json_int_t)INT64_MAX)
#define JINT_MIN ((json_int_t)INT64_MIN)
/* An integer member with its range. */
#define INT_NODE(key, lo, hi) {key, S_INT, NULL, NULL, NULL, lo, hi}
#define ANY_INT(key) INT_NODE(key, JINT_MIN, JINT_MAX)
#define NONNEG_INT(key) INT_NODE(key, 0, JINT_MAX)
#define POS_INT(key) INT_NODE(key, 1, JINT_MAX)
/* Seconds (or milliseconds) that a consumer turns into int64 microseconds. */
#define SECONDS_MAX ((json_int_t)(INT64_MAX / 1000000))
#define MILLIS_MAX ((json_int_t)(INT64_MAX / 1000))
/* Days that a consumer turns into int64 microseconds. */
#define DAYS_MAX ((json_int_t)(INT64_MAX / 86400 / 1000000))
/* Counts the ledger keeps as unsigned int. */
#define UINT_COUNT_MAX ((json_int_t)UINT_MAX)

/* ---- Messages ----------------------------------------------------------- */

void bf__jpath_init(bf__jpath *p)
{
    strcpy(p->buf, "$");
    p->len = 1;
}

static size_t jpath_append(bf__jpath *p, const char *text)
{
    size_t old = p->len;
    size_t room = sizeof p->buf - p->len;
    int n = snprintf(p->buf + p->len, room, "%s", text);

    p->len = (n < 0 || (size_t)n >= room) ? sizeof p->buf - 1 : p->len + (size_t)n;
    return old;
}

size_t bf__jpath_key(bf__jpath *p, const char *key)
{
    size_t old = jpath_append(p, ".");

    jpath_append(p, key);
    return old;
}

size_t bf__jpath_index(bf__jpath *p, size_t index)
{
    char num[32];

    snprintf(num, sizeof num, "[%zu]", index);
    return jpath_append(p, num);
}

void bf__jpath_pop(bf__jpath *p, size_t len)
{
    p->len = len;
    p->buf[len] = '\0';
}

void bf__json_describe(const json_t *v, char *buf, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_STRING: {
        const char *s = json_string_value(v);
        snprintf(buf, size, "\"%.40s%s\"", s, strlen(s) > 40 ? "..." : "");
        break;
    }
    case JSON_INTEGER:
        snprintf(buf, size, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        break;
    case JSON_REAL: {
        /*
         * A real reads as one ("7.0", not "7", which would look like the
         * integer the message asks for); 15 digits give back what a person
         * wrote, with a '.' whatever the host's locale.
         */
        char num[48];
        size_t n = (size_t)bf__snprintf(num, sizeof num, "%.15g", json_real_value(v));

        if (n == strspn(num, "-0123456789"))
            snprintf(num + n, sizeof num - n, ".0");
        snprintf(buf, size, "%s", num);
        break;
    }
    case JSON_TRUE:
        snprintf(buf, size, "true");
        break;
    case JSON_FALSE:
        snprintf(buf, size, "false");
        break;
    case JSON_NULL:
        snprintf(buf, size, "null");
        break;
    case JSON_OBJECT:
        snprintf(buf, size, "an object");
        break;
    case JSON_ARRAY:
        snprintf(buf, size, "an array");
        break;
    }
}

static int fail(const bf__jpath *p, const char *fmt, ...) BF_PRINTF(2, 3);
static int fail(const bf__jpath *p, const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    bf__vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return bf__error(BF_E_INVALID, "%s: %s", p->buf, msg);
}

static int expected(const bf__jpath *p, const char *what, const json_t *v)
{
    char got[64];

    bf__json_describe(v, got, sizeof got);
    /* "got 7.0, a real": where an integer is asked for, say why 7.0 is not one. */
    return fail(p, "expected %s, got %s%s", what, got, json_is_real(v) ? ", a real" : "");
}

/* Whether text is well-formed UTF-8 (no overlongs, surrogates or values past U+10FFFF). */
static int utf8_valid(const unsigned char *s)
{
    while (*s) {
        unsigned c = *s;
        size_t n;
        unsigned cp;

        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            n = 1, cp = c & 0x1F;
        else if (c >= 0xE0 && c <= 0xEF)
            n = 2, cp = c & 0x0F;
        else if (c >= 0xF0 && c <= 0xF4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (size_t i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 2 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
            (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)))
            return 0;
        s += n + 1;
    }
    return 1;
}

int bf__json_text(json_t **out, const char *text, const char *dotted)
{
    if (!utf8_valid((const unsigned char *)text))
        return bf__error(BF_E_INVALID, "$.%s: text is not valid UTF-8", dotted);
    *out = json_string(text);
    return *out ? BF_OK : bf__nomem();
}

/* ---- Enumerations ------------------------------------------------------- */

/* The brief's own enumerations; those it shares with plans and drivers are common/types.c's. */
static const char *const risk_names[] = {NULL, "enrichment", "metric_repair", "schema_migration",
                                         "critical_rebuild"};
static const char *const scope_kind_names[] = {NULL, "time", "keys", "partitions", "buckets"};
static const char *const batch_by_names[] = {NULL, "time", "key", "partition", "bucket"};
static const char *const asset_kind_names[] = {NULL,     "table",      "view",        "model",
                                               "dashboard", "export",  "alert",       "ml_feature",
                                               "reverse_etl", "stakeholder"};
static const char *const check_kind_names[] = {NULL,      "row_count",         "unique",
                                               "not_null", "references",       "metric",
                                               "unchanged_columns", "records", "sql",
                                               "coverage", "completeness", "footprint"};
static const char *const check_severity_names[] = {"error", "warn"};
static const char *const check_per_names[] = {NULL, "batch", "run"};

#define ENUM_OF(names) {(int)BF_ARRAY_LEN(names), names}
const bf__enum bf__risk_enum = ENUM_OF(risk_names);
const bf__enum bf__time_format_enum = ENUM_OF(bf__time_format_names);
const bf__enum bf__scope_kind_enum = ENUM_OF(scope_kind_names);
const bf__enum bf__batch_by_enum = ENUM_OF(batch_by_names);
const bf__enum bf__grain_enum = ENUM_OF(bf__grain_names);
const bf__enum bf__batch_order_enum = ENUM_OF(bf__batch_order_names);
const bf__enum bf__write_strategy_enum = ENUM_OF(bf__write_strategy_names);
const bf__enum bf__asset_kind_enum = ENUM_OF(asset_kind_names);
const bf__enum bf__check_kind_enum = ENUM_OF(check_kind_names);
const bf__enum bf__check_severity_enum = ENUM_OF(check_severity_names);
const bf__enum bf__check_per_enum = ENUM_OF(check_per_names);

int bf__enum_value(const bf__enum *e, const char *name)
{
    for (int i = 0; i < e->count; i++)
        if (e->names[i] && name && strcmp(e->names[i], name) == 0)
            return i;
    return -1;
}

const char *bf__enum_name(const bf__enum *e, int value)
{
    return value >= 0 && value < e->count ? e->names[value] : NULL;
}

static int check_enum(const bf__enum *e, const json_t *v, bf__jpath *p)
{
    char list[300] = "";
    size_t used = 0;

    if (json_is_string(v) && bf__enum_value(e, json_string_value(v)) >= 0)
        return BF_OK;
    for (int i = 0; i < e->count; i++) {
        if (!e->names[i])
            continue;
        int n = snprintf(list + used, sizeof list - used, "%s%s", used ? ", " : "", e->names[i]);
        if (n > 0 && (size_t)n < sizeof list - used)
            used += (size_t)n;
    }
    char what[340];
    snprintf(what, sizeof what, "one of %s", list);
    return expected(p, what, v);
}

/* ---- Hooks: rules across fields, and values with a shape ---------------- */

static int hook_format(const json_t *v, bf__jpath *p)
{
    if (strcmp(json_string_value(v), "backfill-brief/1") != 0)
        return expected(p, "\"backfill-brief/1\"", v);
    return BF_OK;
}

static int hook_brief_name(const json_t *v, bf__jpath *p)
{
    const char *s = json_string_value(v);
    size_t len = strlen(s);
    int ok = len >= 1 && len <= 64 && ((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= '0' && s[0] <= '9'));

    for (size_t i = 1; ok && i < len; i++)
        ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
             s[i] == '_' || s[i] == '-';
    if (!ok)
        return expected(p, "a name of 1 to 64 characters from a-z, 0-9, '.', '_', '-', "
                           "starting with a letter or digit", v);
    /* Commands take a run id or a brief name: digits alone read as an id. */
    if (strspn(s, "0123456789") == len)
        return expected(p, "a name with a character other than a digit (digits alone read as "
                           "a run id)", v);
    return BF_OK;
}

static int hook_datetime(const json_t *v, bf__jpath *p)
{
    bf_civil c;

    if (bf_civil_parse(&c, json_string_value(v)) != BF_OK)
        return expected(p, "a real date \"YYYY-MM-DD\" or \"YYYY-MM-DD HH:MM[:SS]\"", v);
    return BF_OK;
}

static int hook_zone(const json_t *v, bf__jpath *p)
{
    bf_tz *tz = NULL;
    int rc = bf_tz_load(&tz, json_string_value(v));

    /* Loading it whole is the proof the planner will be able to use it. */
    bf_tz_free(tz);
    if (rc == BF_E_NOMEM)
        return rc;
    if (rc != BF_OK)
        return expected(p, "an IANA time zone name known to this system (like \"Europe/Paris\")",
                        v);
    return BF_OK;
}

static int hook_time_scope(const json_t *v, bf__jpath *p)
{
    json_t *start = json_object_get(v, "start");
    json_t *end = json_object_get(v, "end");
    bf_civil s, e;

    /* Malformed dates were already refused by their own hook. */
    if (!start || !end || bf_civil_parse(&s, json_string_value(start)) != BF_OK ||
        bf_civil_parse(&e, json_string_value(end)) != BF_OK)
        return BF_OK;
    if (bf_civil_seconds(&s) > bf_civil_seconds(&e)) {
        size_t old = bf__jpath_key(p, "start");
        int rc = fail(p, "\"%s\" is after the end \"%s\"", json_string_value(start),
                      json_string_value(end));
        bf__jpath_pop(p, old);
        return rc;
    }
    return BF_OK;
}

/* A pair of numbers `lo_key` <= `hi_key`, when both are given. */
static int ordered_pair(const json_t *v, bf__jpath *p, const char *lo_key, const char *hi_key)
{
    json_t *lo = json_object_get(v, lo_key);
    json_t *hi = json_object_get(v, hi_key);

    int inverted;

    if (!lo || !hi)
        return BF_OK;
    /* Integers compare exactly; doubles would round keys above 2^53. */
    if (json_is_integer(lo) && json_is_integer(hi))
        inverted = json_integer_value(lo) > json_integer_value(hi);
    else
        inverted = json_number_value(lo) > json_number_value(hi);
    if (inverted) {
        size_t old = bf__jpath_key(p, lo_key);
        char a[64], b[64];
        bf__json_describe(lo, a, sizeof a);
        bf__json_describe(hi, b, sizeof b);
        int rc = fail(p, "%s is greater than %s %s", a, hi_key, b);
        bf__jpath_pop(p, old);
        return rc;
    }
    return BF_OK;
}

static int hook_keys_scope(const json_t *v, bf__jpath *p)
{
    return ordered_pair(v, p, "start", "end");
}

static int hook_min_max(const json_t *v, bf__jpath *p)
{
    return ordered_pair(v, p, "min", "max");
}

static int hook_scope(const json_t *v, bf__jpath *p)
{
    static const char *const kinds[] = {"time", "keys", "partitions", "buckets"};
    const char *first = NULL;

    for (size_t i = 0; i < BF_ARRAY_LEN(kinds); i++) {
        if (!json_object_get(v, kinds[i]))
            continue;
        if (first)
            return fail(p, "give exactly one of time, keys, partitions, buckets (found %s and %s)",
                        first, kinds[i]);
        first = kinds[i];
    }
    return BF_OK;
}

static int hook_rate(const json_t *v, bf__jpath *p)
{
    double r = json_number_value(v);

    if (r < 0 || r > 1)
        return expected(p, "a rate between 0 and 1", v);
    return BF_OK;
}

static int hook_references(const json_t *v, bf__jpath *p)
{
    json_t *cols = json_object_get(v, "columns");
    json_t *parent = json_object_get(v, "parent_columns");

    if (cols && parent && json_array_size(cols) != json_array_size(parent)) {
        size_t old = bf__jpath_key(p, "parent_columns");
        int rc = fail(p, "names %zu columns but columns names %zu", json_array_size(parent),
                      json_array_size(cols));
        bf__jpath_pop(p, old);
        return rc;
    }
    return BF_OK;
}

static int hook_asset(const json_t *v, bf__jpath *p)
{
    if (!json_object_get(v, "name"))
        return fail(p, "an asset needs a \"name\"");
    if (!json_object_get(v, "kind"))
        return fail(p, "asset \"%s\" needs a \"kind\"", json_string_value(json_object_get(v, "name")));
    return BF_OK;
}

static int hook_record(const json_t *v, bf__jpath *p)
{
    if (!json_object_get(v, "key"))
        return fail(p, "a record needs its \"key\"");
    return BF_OK;
}

/* `batching.window.hours`: one or more "HH:MM-HH:MM" ranges (distinct, already checked). */
static int hook_window_hours(const json_t *v, bf__jpath *p)
{
    size_t i;
    json_t *item;

    if (json_array_size(v) == 0)
        return fail(p, "expected at least one range like \"22:00-06:00\"");
    if (json_array_size(v) > BF__WINDOW_MAX_RANGES)
        return fail(p, "%zu ranges, at most %d allowed", json_array_size(v),
                    BF__WINDOW_MAX_RANGES);
    json_array_foreach(v, i, item) {
        int start, end;
        const char *why = bf__window_range_parse(json_string_value(item), &start, &end);

        if (why) {
            char got[64];

            bf__json_describe(item, got, sizeof got);
            bf__jpath_index(p, i);
            return fail(p, "%s, got %s", why, got);
        }
    }
    return BF_OK;
}

/* `batching.window.days`: one or more of mon..sun (distinct, already checked). */
static int hook_window_days(const json_t *v, bf__jpath *p)
{
    size_t i;
    json_t *item;

    if (json_array_size(v) == 0)
        return fail(p, "expected at least one day (" BF__WINDOW_DAY_NAMES ")");
    json_array_foreach(v, i, item) {
        if (!bf__window_day(json_string_value(item))) {
            bf__jpath_index(p, i);
            return expected(p, "one of " BF__WINDOW_DAY_NAMES, item);
        }
    }
    return BF_OK;
}

/* ---- The schema ---------------------------------------------------------- */

#define END {NULL, S_OBJECT, NULL, NULL, NULL, 0, 0}

static const bf__snode target_members[] = {
    {"table", S_NAME, NULL, NULL, NULL, 0, 0},
    {"key", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"time_column", S_NAME, NULL, NULL, NULL, 0, 0},
    {"time_format", S_ENUM, NULL, &bf__time_format_enum, NULL, 0, 0},
    END,
};

static const bf__snode time_members[] = {
    {"start", S_NAME, NULL, NULL, hook_datetime, 0, 0},
    {"end", S_NAME, NULL, NULL, hook_datetime, 0, 0},
    {"timezone", S_NAME, NULL, NULL, hook_zone, 0, 0},
    END,
};
static const bf__snode keys_members[] = {
    {"column", S_NAME, NULL, NULL, NULL, 0, 0},
    ANY_INT("start"),
    ANY_INT("end"),
    END,
};
static const bf__snode partitions_members[] = {
    {"column", S_NAME, NULL, NULL, NULL, 0, 0},
    {"values", S_PARTITION_LIST, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode buckets_members[] = {
    {"column", S_NAME, NULL, NULL, NULL, 0, 0},
    INT_NODE("count", 1, BF_PLAN_MAX_BATCHES),
    END,
};
static const bf__snode rows_range_members[] = {
    NONNEG_INT("min"),
    NONNEG_INT("max"),
    END,
};
static const bf__snode scope_members[] = {
    {"time", S_OBJECT, time_members, NULL, hook_time_scope, 0, 0},
    {"keys", S_OBJECT, keys_members, NULL, hook_keys_scope, 0, 0},
    {"partitions", S_OBJECT, partitions_members, NULL, NULL, 0, 0},
    {"buckets", S_OBJECT, buckets_members, NULL, NULL, 0, 0},
    {"expected_rows", S_OBJECT, rows_range_members, NULL, hook_min_max, 0, 0},
    END,
};

static const bf__snode window_members[] = {
    {"hours", S_NAME_LIST, NULL, NULL, hook_window_hours, 0, 0},
    {"days", S_NAME_LIST, NULL, NULL, hook_window_days, 0, 0},
    END,
};

static const bf__snode batching_members[] = {
    {"by", S_ENUM, NULL, &bf__batch_by_enum, NULL, 0, 0},
    {"grain", S_ENUM, NULL, &bf__grain_enum, NULL, 0, 0},
    INT_NODE("every", 1, BF_PLAN_MAX_EVERY),
    POS_INT("width"),
    POS_INT("rows_per_batch"),
    {"order", S_ENUM, NULL, &bf__batch_order_enum, NULL, 0, 0},
    INT_NODE("max_concurrency", 1, UINT_COUNT_MAX),
    INT_NODE("max_attempts", 1, UINT_COUNT_MAX),
    INT_NODE("retry_backoff_s", 0, SECONDS_MAX),
    INT_NODE("lease_s", 1, SECONDS_MAX),
    INT_NODE("target_batch_s", 1, SECONDS_MAX),
    INT_NODE("pause_between_batches_ms", 0, MILLIS_MAX),
    {"window", S_OBJECT, window_members, NULL, NULL, 0, 0},
    END,
};

static const bf__snode write_members[] = {
    {"strategy", S_ENUM, NULL, &bf__write_strategy_enum, NULL, 0, 0},
    {"snapshot", S_BOOL, NULL, NULL, NULL, 0, 0},
    {"delete_missing", S_BOOL, NULL, NULL, NULL, 0, 0},
    {"version_table", S_NAME, NULL, NULL, NULL, 0, 0},
    {"allow_non_idempotent", S_BOOL, NULL, NULL, NULL, 0, 0},
    END,
};

static const bf__snode job_members[] = {
    {"select", S_STRING, NULL, NULL, NULL, 0, 0},
    END,
};

static const bf__snode asset_members[] = {
    {"name", S_NAME, NULL, NULL, NULL, 0, 0},
    {"kind", S_ENUM, NULL, &bf__asset_kind_enum, NULL, 0, 0},
    {"depends_on", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"owner", S_STRING, NULL, NULL, NULL, 0, 0},
    {"refresh_sql", S_STRING, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode asset_node[] = {{"", S_OBJECT, asset_members, NULL, hook_asset, 0, 0}};

static const bf__snode check_node[] = {{"", S_CHECK, NULL, NULL, NULL, 0, 0}};

static const bf__snode rollback_members[] = {
    {"plan", S_STRING, NULL, NULL, NULL, 0, 0},
    INT_NODE("retention_days", 0, DAYS_MAX),
    {"owner", S_STRING, NULL, NULL, NULL, 0, 0},
    END,
};

static const bf__snode communication_members[] = {
    {"stakeholders", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"channel", S_STRING, NULL, NULL, NULL, 0, 0},
    END,
};

static const bf__snode root_members[] = {
    {"format", S_STRING, NULL, NULL, hook_format, 0, 0},
    {"name", S_STRING, NULL, NULL, hook_brief_name, 0, 0},
    {"reason", S_STRING, NULL, NULL, NULL, 0, 0},
    {"owner", S_STRING, NULL, NULL, NULL, 0, 0},
    {"reviewer", S_STRING, NULL, NULL, NULL, 0, 0},
    {"risk", S_ENUM, NULL, &bf__risk_enum, NULL, 0, 0},
    {"code_version", S_STRING, NULL, NULL, NULL, 0, 0},
    {"target", S_OBJECT, target_members, NULL, NULL, 0, 0},
    {"sources", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"scope", S_OBJECT, scope_members, NULL, hook_scope, 0, 0},
    {"batching", S_OBJECT, batching_members, NULL, NULL, 0, 0},
    {"write", S_OBJECT, write_members, NULL, NULL, 0, 0},
    {"job", S_OBJECT, job_members, NULL, NULL, 0, 0},
    {"downstream", S_ARRAY, asset_node, NULL, NULL, 0, 0},
    {"validation", S_ARRAY, check_node, NULL, NULL, 0, 0},
    {"rollback", S_OBJECT, rollback_members, NULL, NULL, 0, 0},
    {"communication", S_OBJECT, communication_members, NULL, NULL, 0, 0},
    END,
};
static const bf__snode root_node = {"", S_OBJECT, root_members, NULL, NULL, 0, 0};

/* Validation checks: members every check may have, then each kind's own. */
static const bf__snode check_common[] = {
    {"check", S_ENUM, NULL, &bf__check_kind_enum, NULL, 0, 0},
    {"severity", S_ENUM, NULL, &bf__check_severity_enum, NULL, 0, 0},
    {"per", S_ENUM, NULL, &bf__check_per_enum, NULL, 0, 0},
    {"name", S_NAME, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_row_count[] = {
    NONNEG_INT("min"),
    NONNEG_INT("max"),
    END,
};
static const bf__snode check_columns[] = {
    {"columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_not_null[] = {
    {"columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"max_rate", S_NUMBER, NULL, NULL, hook_rate, 0, 0},
    END,
};
static const bf__snode check_references[] = {
    {"columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"parent", S_NAME, NULL, NULL, NULL, 0, 0},
    {"parent_columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode delta_members[] = {
    {"min", S_NUMBER, NULL, NULL, NULL, 0, 0},
    {"max", S_NUMBER, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_metric[] = {
    {"expr", S_NAME, NULL, NULL, NULL, 0, 0},
    {"expect_delta_pct", S_OBJECT, delta_members, NULL, hook_min_max, 0, 0},
    {"expect_delta", S_OBJECT, delta_members, NULL, hook_min_max, 0, 0},
    {"group_by", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode record_members[] = {
    {"key", S_SCALAR_LIST, NULL, NULL, NULL, 0, 0},
    {"before", S_SCALAR_MAP, NULL, NULL, NULL, 0, 0},
    {"after", S_SCALAR_MAP, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode record_node[] = {{"", S_OBJECT, record_members, NULL, hook_record, 0, 0}};
static const bf__snode check_records[] = {
    {"expect", S_ARRAY, record_node, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_sql[] = {
    {"query", S_NAME, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_none[] = {END};
static const bf__snode check_completeness[] = {
    {"columns", S_NAME_LIST, NULL, NULL, NULL, 0, 0},
    {"partition_column", S_NAME, NULL, NULL, NULL, 0, 0},
    {"max_loss_pct", S_NUMBER, NULL, NULL, NULL, 0, 0},
    END,
};
static const bf__snode check_footprint[] = {
    {"max_growth_pct", S_NUMBER, NULL, NULL, NULL, 0, 0},
    END,
};

/* Indexed by bf_check_kind. */
static const bf__snode *const check_kinds[] = {
    NULL,           check_row_count, check_columns, check_not_null, check_references,
    check_metric,   check_columns,   check_records, check_sql,      check_none,
    check_completeness, check_footprint,
};
static const hook_fn check_hooks[] = {
    NULL, hook_min_max, NULL, NULL, hook_references, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
};

/* ---- The walker ------------------------------------------------------------ */

static int validate(const bf__snode *node, const json_t *v, bf__jpath *p);

static const bf__snode *find_member(const bf__snode *list, const char *key)
{
    for (; list && list->key; list++)
        if (strcmp(list->key, key) == 0)
            return list;
    return NULL;
}

static int validate_members(const json_t *v, bf__jpath *p, const bf__snode *a, const bf__snode *b)
{
    const char *key;
    json_t *member;

    if (!json_is_object(v))
        return expected(p, "an object", v);
    json_object_foreach((json_t *)v, key, member) {
        const bf__snode *node = find_member(a, key);
        size_t old = bf__jpath_key(p, key);
        int rc;

        if (!node)
            node = find_member(b, key);
        rc = node ? validate(node, member, p) : fail(p, "unknown field");
        if (rc != BF_OK)
            return rc;
        bf__jpath_pop(p, old);
    }
    return BF_OK;
}

static int validate_check(const json_t *v, bf__jpath *p)
{
    json_t *kind = json_object_get(v, "check");
    size_t old;
    int k, rc;

    if (!json_is_object(v))
        return expected(p, "an object", v);
    if (!kind)
        return fail(p, "a check needs its kind in \"check\"");
    old = bf__jpath_key(p, "check");
    rc = check_enum(&bf__check_kind_enum, kind, p);
    if (rc != BF_OK)
        return rc;
    bf__jpath_pop(p, old);
    k = bf__enum_value(&bf__check_kind_enum, json_string_value(kind));
    rc = validate_members(v, p, check_common, check_kinds[k]);
    if (rc == BF_OK && check_hooks[k])
        rc = check_hooks[k](v, p);
    return rc;
}

/* Elements of an array, each checked by `element`; `distinct` refuses repeats. */
static int validate_elements(const json_t *v, bf__jpath *p, int (*element)(const json_t *, bf__jpath *),
                             int distinct)
{
    size_t i;
    json_t *item;

    if (!json_is_array(v))
        return expected(p, "an array", v);
    json_array_foreach(v, i, item) {
        size_t old = bf__jpath_index(p, i);
        int rc = element(item, p);

        for (size_t j = 0; rc == BF_OK && distinct && j < i; j++)
            if (json_equal(item, json_array_get(v, j))) {
                char got[64];
                bf__json_describe(item, got, sizeof got);
                rc = fail(p, "%s is listed twice", got);
            }
        if (rc != BF_OK)
            return rc;
        bf__jpath_pop(p, old);
    }
    return BF_OK;
}

static int element_name(const json_t *v, bf__jpath *p)
{
    if (!json_is_string(v) || json_string_length(v) == 0)
        return expected(p, "a non-empty string", v);
    return BF_OK;
}

static int element_partition(const json_t *v, bf__jpath *p)
{
    if (json_is_integer(v) || (json_is_string(v) && json_string_length(v) > 0))
        return BF_OK;
    return expected(p, "an integer or a non-empty string", v);
}

static int element_scalar(const json_t *v, bf__jpath *p)
{
    if (json_is_object(v) || json_is_array(v))
        return expected(p, "a string, number, boolean or null", v);
    return BF_OK;
}

/* An integer within the node's range, checked before anyone narrows it. */
static int check_int(const bf__snode *node, const json_t *v, bf__jpath *p)
{
    char what[80];
    const char *kind = node->min == 1   ? "a positive integer"
                       : node->min == 0 ? "a non-negative integer"
                                        : "an integer";

    if (json_is_integer(v) && json_integer_value(v) >= node->min &&
        json_integer_value(v) <= node->max)
        return BF_OK;
    /* The cap is named when it is what the value breaks. */
    if (json_is_integer(v) && json_integer_value(v) > node->max)
        snprintf(what, sizeof what, "%s of at most %" JSON_INTEGER_FORMAT, kind, node->max);
    else
        snprintf(what, sizeof what, "%s", kind);
    return expected(p, what, v);
}

static int element_by_node(const bf__snode *node, const json_t *v, bf__jpath *p)
{
    return validate(node, v, p);
}

static int validate_own(const bf__snode *node, const json_t *v, bf__jpath *p)
{
    switch (node->kind) {
    case S_OBJECT:
        return validate_members(v, p, node->members, NULL);
    case S_ARRAY: {
        size_t i;
        json_t *item;

        if (!json_is_array(v))
            return expected(p, "an array", v);
        json_array_foreach(v, i, item) {
            size_t old = bf__jpath_index(p, i);
            int rc = element_by_node(&node->members[0], item, p);
            if (rc != BF_OK)
                return rc;
            bf__jpath_pop(p, old);
        }
        return BF_OK;
    }
    case S_STRING:
        return json_is_string(v) ? BF_OK : expected(p, "a string", v);
    case S_NAME:
        return element_name(v, p);
    case S_NAME_LIST:
        return validate_elements(v, p, element_name, 1);
    case S_INT:
        return check_int(node, v, p);
    case S_NUMBER:
        return json_is_number(v) ? BF_OK : expected(p, "a number", v);
    case S_BOOL:
        return json_is_boolean(v) ? BF_OK : expected(p, "true or false", v);
    case S_ENUM:
        return check_enum(node->names, v, p);
    case S_SCALAR_LIST:
        return validate_elements(v, p, element_scalar, 0);
    case S_SCALAR_MAP: {
        const char *key;
        json_t *member;

        if (!json_is_object(v))
            return expected(p, "an object of column values", v);
        json_object_foreach((json_t *)v, key, member) {
            size_t old = bf__jpath_key(p, key);
            int rc = element_scalar(member, p);
            if (rc != BF_OK)
                return rc;
            bf__jpath_pop(p, old);
        }
        return BF_OK;
    }
    case S_PARTITION_LIST:
        return validate_elements(v, p, element_partition, 1);
    case S_CHECK:
        return validate_check(v, p);
    }
    return bf__error(BF_E_INTERNAL, "%s: unknown schema node", p->buf);
}

static int validate(const bf__snode *node, const json_t *v, bf__jpath *p)
{
    int rc = validate_own(node, v, p);

    if (rc == BF_OK && node->hook)
        rc = node->hook(v, p);
    return rc;
}

/* ---- Entry points ------------------------------------------------------------ */

const bf__snode *bf__schema_find(const char *dotted)
{
    const bf__snode *node = &root_node;
    char seg[64];

    while (node && *dotted) {
        const char *dot = strchr(dotted, '.');
        size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);

        if (node->kind != S_OBJECT || len == 0 || len >= sizeof seg)
            return NULL;
        memcpy(seg, dotted, len);
        seg[len] = '\0';
        node = find_member(node->members, seg);
        dotted += len + (dot ? 1 : 0);
    }
    return node;
}

int bf__schema_is_array(const bf__snode *node)
{
    return node->kind == S_ARRAY || node->kind == S_NAME_LIST ||
           node->kind == S_PARTITION_LIST || node->kind == S_SCALAR_LIST;
}

int bf__schema_validate_at(const char *dotted, const json_t *value)
{
    const bf__snode *node = bf__schema_find(dotted);
    bf__jpath p;

    if (!node)
        return bf__error(BF_E_INTERNAL, "$.%s: not a field of the brief format", dotted);
    bf__jpath_init(&p);
    bf__jpath_key(&p, dotted);
    return validate(node, value, &p);
}

int bf__schema_validate_doc(const json_t *doc)
{
    bf__jpath p;

    bf__jpath_init(&p);
    return validate(&root_node, doc, &p);
}

int bf__schema_validate_check(const json_t *check, size_t index)
{
    bf__jpath p;

    bf__jpath_init(&p);
    bf__jpath_key(&p, "validation");
    bf__jpath_index(&p, index);
    return validate_check(check, &p);
}
