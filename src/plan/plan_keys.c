/*
 * Key-range batches: fixed widths, or boundaries found by a callback that
 * walks the key (rows_per_batch). Plans of a million ranges are common, so
 * labels are formatted by hand rather than with snprintf, and the plan's
 * arena takes them without an allocation per batch.
 */
#include <string.h>

#include "common/internal.h"
#include "plan/planner_internal.h"

size_t bf__fmt_i64(char *buf, int64_t v)
{
    char tmp[21];
    size_t n = 0, len = 0;
    /* Through uint64_t so that INT64_MIN has a magnitude. */
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        buf[len++] = '-';
    while (n)
        buf[len++] = tmp[--n];
    return len;
}

int bf__plan_add_key(bf_plan *plan, const char *column, int64_t lo, int64_t hi)
{
    static const char *const names[2] = {"lo", "hi"};
    char label[BF_LABEL_MAX + 48];
    size_t col_len = strlen(column), n;
    bf_value params[2] = {{.type = BF_VALUE_INT, .i = lo}, {.type = BF_VALUE_INT, .i = hi}};

    /* "order_id [10000, 20000)"; very long column names are cut in the label only. */
    if (col_len > BF_LABEL_MAX)
        col_len = BF_LABEL_MAX;
    memcpy(label, column, col_len);
    n = col_len;
    label[n++] = ' ';
    label[n++] = '[';
    n += bf__fmt_i64(label + n, lo);
    label[n++] = ',';
    label[n++] = ' ';
    n += bf__fmt_i64(label + n, hi);
    label[n++] = ')';
    label[n] = '\0';
    return bf__plan_add(plan, lo, hi, label, 2, names, params);
}

int bf__plan_key_widths(bf_plan *plan, const char *column, int64_t lo, int64_t hi,
                        int64_t width, int down)
{
    /* Unsigned, because hi - lo can exceed INT64_MAX. */
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    uint64_t w = (uint64_t)width;
    uint64_t n = span / w + (span % w != 0);
    int rc = BF_OK;

    if (n > BF_PLAN_MAX_BATCHES - bf_plan_count(plan))
        return bf__error(BF_E_INVALID,
                         "key scope %s: width %lld makes %llu batches, more than a plan holds "
                         "(%d); use a larger width",
                         column, (long long)width, (unsigned long long)n, BF_PLAN_MAX_BATCHES);
    for (uint64_t k = 0; k < n && rc == BF_OK; k++) {
        uint64_t i = down ? n - 1 - k : k;
        int64_t blo = (int64_t)((uint64_t)lo + i * w);
        int64_t bhi = i == n - 1 ? hi : (int64_t)((uint64_t)blo + w);

        rc = bf__plan_add_key(plan, column, blo, bhi);
    }
    return rc;
}

/* Boundaries from the callback, walked upward, then added in plan order. */
static int plan_rows(bf_plan *plan, const bf_planner *p)
{
    int64_t *bounds = NULL;
    size_t n = 0, cap = 0;
    int64_t at = p->lo;
    int rc = BF_OK;

    while (rc == BF_OK && at < p->hi) {
        int64_t next = at;

        rc = p->boundary(&next, at, p->hi, p->rows, p->userdata);
        if (rc != BF_OK)
            break;
        if (next <= at || next > p->hi) {
            rc = bf__error(BF_E_INVALID,
                           "key scope %s: the key-boundary callback answered %lld after %lld; "
                           "it must be in (%lld, %lld]",
                           p->column, (long long)next, (long long)at, (long long)at,
                           (long long)p->hi);
        } else if (n + 1 >= BF_PLAN_MAX_BATCHES) {
            rc = bf__error(BF_E_INVALID, "key scope %s: more than %d batches", p->column,
                           BF_PLAN_MAX_BATCHES);
        } else if (bf__grow((void **)&bounds, &cap, n + 2, sizeof *bounds) != BF_OK) {
            rc = bf__nomem();
        } else {
            if (n == 0)
                bounds[n++] = at;
            bounds[n++] = next;
            at = next;
        }
    }
    for (size_t k = 0; rc == BF_OK && k + 1 < n; k++) {
        size_t i = p->order == BF_BATCH_ORDER_NEWEST_FIRST ? n - 2 - k : k;

        rc = bf__plan_add_key(plan, p->column, bounds[i], bounds[i + 1]);
    }
    bf__free(bounds);
    return rc;
}

int bf__plan_keys(bf_plan *plan, const bf_planner *p)
{
    if (p->rows)
        return plan_rows(plan, p);
    return bf__plan_key_widths(plan, p->column, p->lo, p->hi, p->width,
                               p->order == BF_BATCH_ORDER_NEWEST_FIRST);
}

/* Whether text reads like an integer label ("-12", "042") or starts with a quote. */
static int needs_quotes(const char *s, size_t len)
{
    size_t i = len && s[0] == '-';

    if (len && s[0] == '"')
        return 1;
    if (i == len)
        return 0;
    for (; i < len; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

/*
 * Integers are labelled by their digits and text by itself, except text
 * that would read like an integer label (or starts with '"'), which is put
 * in double quotes: 42 is "42" and the text "42" is "\"42\"". Wrapping in
 * fixed quotes is one-to-one, so no two distinct values share a label.
 */
void bf__partition_label(char *buf, const bf_value *value)
{
    if (value->type == BF_VALUE_INT) {
        buf[bf__fmt_i64(buf, value->i)] = '\0';
    } else if (needs_quotes(value->s, value->len)) {
        buf[0] = '"';
        memcpy(buf + 1, value->s, value->len);
        buf[value->len + 1] = '"';
        buf[value->len + 2] = '\0';
    } else {
        memcpy(buf, value->s, value->len);
        buf[value->len] = '\0';
    }
}

int bf__plan_partitions(bf_plan *plan, const bf_planner *p)
{
    static const char *const names[1] = {"partition"};
    int rc = BF_OK;

    for (size_t k = 0; k < p->nvalues && rc == BF_OK; k++) {
        size_t i = p->order == BF_BATCH_ORDER_NEWEST_FIRST ? p->nvalues - 1 - k : k;
        char label[BF_LABEL_MAX + 2];

        bf__partition_label(label, &p->values[i]);
        rc = bf__plan_add(plan, (int64_t)i, (int64_t)i, label, 1, names, &p->values[i]);
    }
    return rc;
}

int bf__plan_buckets(bf_plan *plan, const bf_planner *p)
{
    static const char *const names[2] = {"bucket", "buckets"};
    int rc = BF_OK;

    for (int64_t k = 0; k < p->buckets && rc == BF_OK; k++) {
        int64_t b = p->order == BF_BATCH_ORDER_NEWEST_FIRST ? p->buckets - 1 - k : k;
        bf_value params[2] = {{.type = BF_VALUE_INT, .i = b},
                              {.type = BF_VALUE_INT, .i = p->buckets}};
        char label[64] = "bucket ";
        size_t n = 7;

        n += bf__fmt_i64(label + n, b);
        label[n++] = '/';
        n += bf__fmt_i64(label + n, p->buckets);
        label[n] = '\0';
        rc = bf__plan_add(plan, b, p->buckets, label, 2, names, params);
    }
    return rc;
}
