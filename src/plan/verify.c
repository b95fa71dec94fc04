/*
 * The coverage proof: a plan tiles its scope exactly. Batches are walked in
 * scope order (plan order, or reversed for newest_first), so tiling reduces
 * to "each batch starts where the previous one ended", plus the two ends,
 * and no sort is needed even for a million batches. Parameters are checked
 * against the bounds too: the values bound to the job must say the same as
 * the bounds the ledger records.
 */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "plan/planner_internal.h"

/* A bound for messages: UTC date-time for time plans, the integer otherwise. */
static const char *show(char *buf, bf_dimension dim, int64_t v)
{
    bf_civil c;

    if (dim != BF_DIM_TIME) {
        snprintf(buf, 64, "%lld", (long long)v);
        return buf;
    }
    bf_civil_from_seconds(&c, v / 1000000);
    snprintf(buf, 64, "%04lld-%02d-%02d %02d:%02d:%02d UTC", (long long)c.year, c.month, c.day,
             c.hour, c.minute, c.second);
    return buf;
}

static int same_param(const bf_batch *b, const char *name, const bf_value *want)
{
    bf_value got;

    if (bf_batch_param(&got, b, name) != BF_OK || got.type != want->type)
        return 0;
    if (got.type == BF_VALUE_INT)
        return got.i == want->i;
    return got.len == want->len && memcmp(got.s, want->s, got.len) == 0;
}

static int params_fail(const bf_batch *b, size_t k)
{
    return bf__error(BF_E_VALIDATION,
                     "plan does not tile the scope: batch %zu (%s) binds parameters that differ "
                     "from its bounds",
                     k, bf_batch_label(b));
}

static int check_range_params(const bf_batch *b, size_t k, const bf_planner *p)
{
    char lo_text[BF_LABEL_MAX], hi_text[BF_LABEL_MAX];
    bf_value lo, hi;

    if (p->dim == BF_DIM_KEY) {
        lo = (bf_value){.type = BF_VALUE_INT, .i = bf_batch_lo(b)};
        hi = (bf_value){.type = BF_VALUE_INT, .i = bf_batch_hi(b)};
        return same_param(b, "lo", &lo) && same_param(b, "hi", &hi) ? BF_OK
                                                                     : params_fail(b, k);
    }
    if (bf_batch_lo(b) % 1000000 || bf_batch_hi(b) % 1000000)
        return params_fail(b, k);
    bf__time_param(&lo, lo_text, bf_batch_lo(b) / 1000000, p->format, p->tz);
    bf__time_param(&hi, hi_text, bf_batch_hi(b) / 1000000, p->format, p->tz);
    return same_param(b, "start", &lo) && same_param(b, "end", &hi) ? BF_OK : params_fail(b, k);
}

/* Time and key plans: contiguous, non-empty, from the scope's start to its end. */
static int verify_range(const bf_plan *plan, const bf_planner *p)
{
    size_t n = bf_plan_count(plan);
    int64_t start = p->dim == BF_DIM_TIME ? p->start_s * 1000000 : p->lo;
    int64_t end = p->dim == BF_DIM_TIME ? p->end_s * 1000000 : p->hi;
    int64_t at = start;
    const bf_batch *prev = NULL;
    char x[64], y[64];

    for (size_t k = 0; k < n; k++) {
        size_t i = p->order == BF_BATCH_ORDER_NEWEST_FIRST ? n - 1 - k : k;
        const bf_batch *b = bf_plan_batch(plan, i);
        int64_t lo = bf_batch_lo(b), hi = bf_batch_hi(b);
        int rc;

        if (lo >= hi)
            return bf__error(BF_E_VALIDATION, "plan does not tile the scope: batch %zu (%s) is empty",
                             i, bf_batch_label(b));
        if (lo != at && !prev)
            return bf__error(BF_E_VALIDATION,
                             "plan does not tile the scope: it starts at %s with batch %zu (%s), "
                             "not at the scope's start %s",
                             show(x, p->dim, lo), i, bf_batch_label(b), show(y, p->dim, start));
        if (lo != at)
            return bf__error(BF_E_VALIDATION,
                             "plan does not tile the scope: %s between batch %s and batch %s "
                             "(%s ends at %s, the next starts at %s)",
                             lo > at ? "gap" : "overlap", bf_batch_label(prev), bf_batch_label(b),
                             bf_batch_label(prev), show(x, p->dim, at), show(y, p->dim, lo));
        rc = check_range_params(b, i, p);
        if (rc != BF_OK)
            return rc;
        at = hi;
        prev = b;
    }
    if (at != end)
        return bf__error(BF_E_VALIDATION,
                         "plan does not tile the scope: it ends at %s, not at the scope's end %s",
                         show(x, p->dim, at), show(y, p->dim, end));
    return BF_OK;
}

/* Partitions and buckets: each value or bucket exactly once, in order. */
static int verify_discrete(const bf_plan *plan, const bf_planner *p)
{
    size_t n = p->dim == BF_DIM_PARTITION ? p->nvalues : (size_t)p->buckets;

    if (bf_plan_count(plan) != n)
        return bf__error(BF_E_VALIDATION,
                         "plan does not tile the scope: %zu batches for %zu %s", bf_plan_count(plan),
                         n, p->dim == BF_DIM_PARTITION ? "partition values" : "buckets");
    for (size_t k = 0; k < n; k++) {
        const bf_batch *b = bf_plan_batch(plan, k);
        int64_t want = (int64_t)(p->order == BF_BATCH_ORDER_NEWEST_FIRST ? n - 1 - k : k);
        int ok;

        if (p->dim == BF_DIM_PARTITION) {
            ok = bf_batch_lo(b) == want && bf_batch_hi(b) == want &&
                 same_param(b, "partition", &p->values[want]);
        } else {
            bf_value bucket = {.type = BF_VALUE_INT, .i = want};
            bf_value buckets = {.type = BF_VALUE_INT, .i = p->buckets};

            ok = bf_batch_lo(b) == want && bf_batch_hi(b) == p->buckets &&
                 same_param(b, "bucket", &bucket) && same_param(b, "buckets", &buckets);
        }
        if (!ok)
            return bf__error(BF_E_VALIDATION,
                             "plan does not tile the scope: batch %zu (%s) is not %s %lld of the "
                             "scope",
                             k, bf_batch_label(b),
                             p->dim == BF_DIM_PARTITION ? "value" : "bucket", (long long)want);
    }
    return BF_OK;
}

int bf_plan_verify(const bf_plan *plan, const bf_planner *p)
{
    if (!plan)
        return bf__error(BF_E_INVALID, "bf_plan_verify: plan is NULL");
    if (!p)
        return bf__error(BF_E_INVALID, "bf_plan_verify: planner is NULL");
    if (!p->dim)
        return bf__error(BF_E_INVALID, "plan verify: the planner has no scope");
    if (bf_plan_dimension(plan) != p->dim || strcmp(bf_plan_column(plan), p->column) != 0)
        return bf__error(BF_E_VALIDATION,
                         "plan does not tile the scope: the plan cuts %s by %s, the scope is %s "
                         "by %s",
                         bf_plan_column(plan), bf_dimension_name(bf_plan_dimension(plan)),
                         p->column, bf_dimension_name(p->dim));
    if (p->dim == BF_DIM_TIME || p->dim == BF_DIM_KEY)
        return verify_range(plan, p);
    return verify_discrete(plan, p);
}
