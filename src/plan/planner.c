/*
 * The planner handle: settings with their checks, the canonical pin, and
 * bf_planner_plan(), which hands each dimension to its own file.
 */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "plan/planner_internal.h"

int bf_planner_new(bf_planner **out)
{
    bf_planner *p;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_planner_new: out is NULL");
    p = bf__calloc(1, sizeof *p);
    if (!p)
        return bf__nomem();
    p->order = BF_BATCH_ORDER_OLDEST_FIRST;
    p->grain = BF_GRAIN_DAY;
    p->every = 1;
    p->format = BF_TIME_FORMAT_UNIX_S;
    *out = p;
    return BF_OK;
}

/* Forget the scope (not the batching settings), before a new one is set. */
static void clear_scope(bf_planner *p)
{
    bf__free(p->column);
    p->column = NULL;
    bf_tz_free(p->tz);
    p->tz = NULL;
    bf__free(p->values);
    p->values = NULL;
    p->nvalues = 0;
    bf__free(p->text);
    p->text = NULL;
    p->dim = 0;
}

void bf_planner_free(bf_planner *p)
{
    if (!p)
        return;
    clear_scope(p);
    bf__free(p);
}

static int check_column(const char *column, const char *what)
{
    if (!column || !column[0])
        return bf__error(BF_E_INVALID, "%s scope: the column name is empty", what);
    return BF_OK;
}

int bf_planner_set_time_scope(bf_planner *p, const char *column, const char *start,
                              const char *end, const char *timezone)
{
    bf_civil s, e;
    bf_tz *tz = NULL;
    char *col;
    int64_t start_s, end_s;
    int rc;

    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_time_scope: planner is NULL");
    rc = check_column(column, "time");
    if (rc != BF_OK)
        return rc;
    rc = bf_civil_parse(&s, start);
    if (rc == BF_OK)
        rc = bf_civil_parse(&e, end);
    if (rc != BF_OK) {
        char why[BF_ERRMSG_MAX];

        snprintf(why, sizeof why, "%s", bf_last_error());
        return bf__error(rc, "time scope: %s", why);
    }
    if (bf_civil_seconds(&s) >= bf_civil_seconds(&e))
        return bf__error(BF_E_INVALID, "time scope: start %s is %s end %s", start,
                         bf_civil_seconds(&s) == bf_civil_seconds(&e) ? "equal to its"
                                                                      : "after its",
                         end);
    rc = bf_tz_load(&tz, timezone ? timezone : "UTC");
    if (rc != BF_OK)
        return rc;
    /* Both are valid civil times, so resolving cannot fail. */
    bf_tz_to_utc(&start_s, tz, &s);
    bf_tz_to_utc(&end_s, tz, &e);
    if (start_s >= end_s) {
        rc = bf__error(BF_E_INVALID,
                         "time scope: start %s and end %s fall in the same clock change of %s, "
                         "so the scope holds no instant",
                         start, end, bf_tz_name(tz));
        bf_tz_free(tz);
        return rc;
    }
    col = bf__strdup(column);
    if (!col) {
        bf_tz_free(tz);
        return bf__nomem();
    }
    clear_scope(p);
    p->dim = BF_DIM_TIME;
    p->column = col;
    p->tz = tz;
    p->start = s;
    p->end = e;
    p->start_s = start_s;
    p->end_s = end_s;
    return BF_OK;
}

int bf_planner_set_grain(bf_planner *p, bf_grain grain, unsigned every)
{
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_grain: planner is NULL");
    if (!bf_grain_name(grain))
        return bf__error(BF_E_INVALID, "batching: unknown grain %d", (int)grain);
    if (every == 0)
        return bf__error(BF_E_INVALID, "batching: every must be at least 1 %s, got 0",
                         bf_grain_name(grain));
    if (every > BF_PLAN_MAX_EVERY)
        return bf__error(BF_E_INVALID, "batching: every %u %ss is more than %d", every,
                         bf_grain_name(grain), BF_PLAN_MAX_EVERY);
    p->grain = grain;
    p->every = every;
    return BF_OK;
}

int bf_planner_set_time_format(bf_planner *p, bf_time_format format)
{
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_time_format: planner is NULL");
    if (!bf_time_format_name(format))
        return bf__error(BF_E_INVALID, "time format: unknown format %d", (int)format);
    p->format = format;
    return BF_OK;
}

int bf_planner_set_key_scope(bf_planner *p, const char *column, int64_t lo, int64_t hi)
{
    char *col;
    int rc;

    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_key_scope: planner is NULL");
    rc = check_column(column, "key");
    if (rc != BF_OK)
        return rc;
    if (lo >= hi)
        return bf__error(BF_E_INVALID, "key scope %s: start %lld is %s end %lld", column,
                         (long long)lo, lo == hi ? "equal to its" : "after its", (long long)hi);
    col = bf__strdup(column);
    if (!col)
        return bf__nomem();
    clear_scope(p);
    p->dim = BF_DIM_KEY;
    p->column = col;
    p->lo = lo;
    p->hi = hi;
    return BF_OK;
}

int bf_planner_set_key_width(bf_planner *p, int64_t width)
{
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_key_width: planner is NULL");
    if (width < 1)
        return bf__error(BF_E_INVALID, "batching: key width must be at least 1, got %lld",
                         (long long)width);
    p->width = width;
    p->rows = 0;
    p->boundary = NULL;
    p->userdata = NULL;
    return BF_OK;
}

int bf_planner_set_rows_per_batch(bf_planner *p, int64_t rows, bf_key_boundary_fn boundary,
                                  void *userdata)
{
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_rows_per_batch: planner is NULL");
    if (rows < 1)
        return bf__error(BF_E_INVALID, "batching: rows_per_batch must be at least 1, got %lld",
                         (long long)rows);
    if (!boundary)
        return bf__error(BF_E_INVALID,
                         "batching: rows_per_batch needs a key-boundary callback");
    p->rows = rows;
    p->boundary = boundary;
    p->userdata = userdata;
    p->width = 0;
    return BF_OK;
}

static int same_value(const bf_value *a, const bf_value *b)
{
    if (a->type != b->type)
        return 0;
    if (a->type == BF_VALUE_INT)
        return a->i == b->i;
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

int bf_planner_set_partition_scope(bf_planner *p, const char *column, const bf_value *values,
                                   size_t count)
{
    bf_value *copy;
    char *text;
    size_t text_len = 0, pos = 0;
    char *col;
    int rc;

    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_partition_scope: planner is NULL");
    rc = check_column(column, "partition");
    if (rc != BF_OK)
        return rc;
    if (count == 0 || !values)
        return bf__error(BF_E_INVALID, "partition scope %s: no values", column);
    for (size_t i = 0; i < count; i++) {
        if (values[i].type != BF_VALUE_INT && values[i].type != BF_VALUE_TEXT)
            return bf__error(BF_E_INVALID,
                             "partition scope %s: value %zu is not an integer or text", column,
                             i);
        if (values[i].type == BF_VALUE_TEXT) {
            if (!values[i].s || memchr(values[i].s, '\0', values[i].len) ||
                values[i].len >= BF_LABEL_MAX - 1)
                return bf__error(BF_E_INVALID,
                                 "partition scope %s: value %zu must be text of 1-%d bytes "
                                 "without NUL",
                                 column, i, BF_LABEL_MAX - 2);
            text_len += values[i].len + 1;
        }
        for (size_t j = 0; j < i; j++)
            if (same_value(&values[i], &values[j]))
                return bf__error(BF_E_INVALID,
                                 "partition scope %s: value %zu repeats value %zu", column, i,
                                 j);
    }
    copy = bf__calloc(count, sizeof *copy);
    text = bf__malloc(text_len + 1);
    col = bf__strdup(column);
    if (!copy || !text || !col) {
        bf__free(copy);
        bf__free(text);
        bf__free(col);
        return bf__nomem();
    }
    for (size_t i = 0; i < count; i++) {
        copy[i] = values[i];
        if (values[i].type == BF_VALUE_TEXT) {
            memcpy(text + pos, values[i].s, values[i].len);
            text[pos + values[i].len] = '\0';
            copy[i].s = text + pos;
            pos += values[i].len + 1;
        }
    }
    clear_scope(p);
    p->dim = BF_DIM_PARTITION;
    p->column = col;
    p->values = copy;
    p->nvalues = count;
    p->text = text;
    return BF_OK;
}

int bf_planner_set_bucket_scope(bf_planner *p, const char *column, int64_t count)
{
    char *col;
    int rc;

    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_bucket_scope: planner is NULL");
    rc = check_column(column, "bucket");
    if (rc != BF_OK)
        return rc;
    if (count < 1 || count > BF_PLAN_MAX_BATCHES)
        return bf__error(BF_E_INVALID, "bucket scope %s: count must be 1-%d, got %lld", column,
                         BF_PLAN_MAX_BATCHES, (long long)count);
    col = bf__strdup(column);
    if (!col)
        return bf__nomem();
    clear_scope(p);
    p->dim = BF_DIM_BUCKET;
    p->column = col;
    p->buckets = count;
    return BF_OK;
}

int bf_planner_set_order(bf_planner *p, bf_batch_order order)
{
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_set_order: planner is NULL");
    if (!bf_batch_order_name(order))
        return bf__error(BF_E_INVALID, "batching: unknown order %d", (int)order);
    p->order = order;
    return BF_OK;
}

static void pin_civil(bf__sb *sb, const char *key, const bf_civil *c)
{
    bf__sb_appendf(sb, ";%s=%04lld-%02d-%02d %02d:%02d:%02d", key, (long long)c->year, c->month,
                   c->day, c->hour, c->minute, c->second);
}

int bf__planner_pin(const bf_planner *p, char **out)
{
    bf__sb sb;

    bf__sb_init(&sb);
    /* Text is length-prefixed, so no column name or value can fake a field. */
    bf__sb_appendf(&sb, "planner/1;dim=%s;column=%zu:%s;order=%s", bf_dimension_name(p->dim),
                   strlen(p->column), p->column, bf_batch_order_name(p->order));
    switch (p->dim) {
    case BF_DIM_TIME:
        bf__sb_appendf(&sb, ";zone=%zu:%s", strlen(bf_tz_name(p->tz)), bf_tz_name(p->tz));
        pin_civil(&sb, "start", &p->start);
        pin_civil(&sb, "end", &p->end);
        bf__sb_appendf(&sb, ";grain=%s;every=%u;format=%s", bf_grain_name(p->grain), p->every,
                       bf_time_format_name(p->format));
        break;
    case BF_DIM_KEY:
        bf__sb_appendf(&sb, ";lo=%lld;hi=%lld", (long long)p->lo, (long long)p->hi);
        if (p->rows)
            bf__sb_appendf(&sb, ";rows_per_batch=%lld", (long long)p->rows);
        else
            bf__sb_appendf(&sb, ";width=%lld", (long long)p->width);
        break;
    case BF_DIM_PARTITION:
        bf__sb_appendf(&sb, ";values=%zu", p->nvalues);
        for (size_t i = 0; i < p->nvalues; i++) {
            if (p->values[i].type == BF_VALUE_INT)
                bf__sb_appendf(&sb, ";i:%lld", (long long)p->values[i].i);
            else
                bf__sb_appendf(&sb, ";t%zu:%s", p->values[i].len, p->values[i].s);
        }
        break;
    case BF_DIM_BUCKET:
        bf__sb_appendf(&sb, ";buckets=%lld", (long long)p->buckets);
        break;
    }
    return bf__sb_finish(&sb, out);
}

/* How many batches the plan will have, where that is known before cutting. */
static size_t capacity_hint(const bf_planner *p)
{
    uint64_t span = (uint64_t)p->hi - (uint64_t)p->lo;

    switch (p->dim) {
    case BF_DIM_KEY:
        if (!p->width || span / (uint64_t)p->width >= BF_PLAN_MAX_BATCHES)
            return 0;
        return (size_t)(span / (uint64_t)p->width + 1);
    case BF_DIM_PARTITION:
        return p->nvalues;
    case BF_DIM_BUCKET:
        return (size_t)p->buckets;
    default:
        return 0;
    }
}

int bf__planner_check(const bf_planner *p)
{
    if (p->dim == BF_DIM_TIME)
        return bf__plan_time_check(p);
    if (p->dim == BF_DIM_KEY && p->width) {
        uint64_t span = (uint64_t)p->hi - (uint64_t)p->lo, w = (uint64_t)p->width;
        uint64_t n = span / w + (span % w != 0);

        if (n > BF_PLAN_MAX_BATCHES)
            return bf__error(BF_E_INVALID,
                             "key scope %s: width %lld makes %llu batches, more than a plan "
                             "holds (%d); use a larger width",
                             p->column, (long long)p->width, (unsigned long long)n,
                             BF_PLAN_MAX_BATCHES);
    }
    return BF_OK;
}

int bf_planner_plan(bf_plan **out, const bf_planner *p)
{
    bf_plan *plan = NULL;
    char *pin = NULL;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_planner_plan: out is NULL");
    if (!p)
        return bf__error(BF_E_INVALID, "bf_planner_plan: planner is NULL");
    if (!p->dim)
        return bf__error(BF_E_INVALID, "planner: no scope set");
    if (p->dim == BF_DIM_KEY && !p->width && !p->rows)
        return bf__error(BF_E_INVALID,
                         "key scope %s: set a key width or rows_per_batch to batch it",
                         p->column);
    if (p->dim == BF_DIM_KEY && p->rows && !p->boundary)
        return bf__error(BF_E_INVALID,
                         "key scope %s: rows_per_batch %lld needs a key-boundary callback (a "
                         "warehouse driver walks the key); set one with "
                         "bf_planner_set_rows_per_batch()",
                         p->column, (long long)p->rows);
    rc = bf__planner_check(p);
    if (rc != BF_OK)
        return rc;
    rc = bf__plan_new(&plan, p->dim, p->column, capacity_hint(p));
    if (rc == BF_OK) {
        switch (p->dim) {
        case BF_DIM_TIME:
            rc = bf__plan_time(plan, p);
            break;
        case BF_DIM_KEY:
            rc = bf__plan_keys(plan, p);
            break;
        case BF_DIM_PARTITION:
            rc = bf__plan_partitions(plan, p);
            break;
        case BF_DIM_BUCKET:
            rc = bf__plan_buckets(plan, p);
            break;
        }
    }
    if (rc == BF_OK)
        rc = bf__planner_pin(p, &pin);
    if (rc == BF_OK)
        rc = bf__plan_seal(plan, pin);
    bf__free(pin);
    if (rc != BF_OK) {
        bf_plan_free(plan);
        return rc == BF_E_NOMEM ? bf__nomem() : rc;
    }
    *out = plan;
    return BF_OK;
}
