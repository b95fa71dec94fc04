/*
 * Sizing: runtime estimates from measured batches, adaptive key widths, and
 * re-cutting key ranges (split one batch, or resize the rest). Plans are
 * immutable, so re-cutting makes a new plan, sealed over the old pin plus
 * what changed: its fingerprint says it is a different plan.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "plan/planner_internal.h"

/* How much of the scope a batch covers, the unit its runtime scales with. */
static double extent(const bf_batch *b)
{
    bf_dimension dim = bf_batch_dimension(b);

    if (dim == BF_DIM_TIME || dim == BF_DIM_KEY)
        return (double)bf_batch_hi(b) - (double)bf_batch_lo(b);
    return 1.0;
}

int bf_plan_estimate(double *out, const bf_plan *plan, const size_t *ordinals,
                     const double *seconds, size_t count)
{
    double measured = 0, took = 0, total = 0;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_plan_estimate: out is NULL");
    if (!plan)
        return bf__error(BF_E_INVALID, "bf_plan_estimate: plan is NULL");
    if (count == 0 || !ordinals || !seconds)
        return bf__error(BF_E_INVALID, "estimate: no measured batches");
    for (size_t i = 0; i < count; i++) {
        if (ordinals[i] >= bf_plan_count(plan))
            return bf__error(BF_E_INVALID, "estimate: batch %zu is past the plan's %zu batches",
                             ordinals[i], bf_plan_count(plan));
        if (!isfinite(seconds[i]) || seconds[i] < 0)
            return bf__error(BF_E_INVALID, "estimate: batch %zu (%s) has duration %g s",
                             ordinals[i], bf_batch_label(bf_plan_batch(plan, ordinals[i])),
                             seconds[i]);
        measured += extent(bf_plan_batch(plan, ordinals[i]));
        took += seconds[i];
    }
    for (size_t i = 0; i < bf_plan_count(plan); i++)
        total += extent(bf_plan_batch(plan, i));
    *out = took / measured * total;
    return BF_OK;
}

int bf_key_width_next(int64_t *out, int64_t width, double seconds, int failed, double target_s)
{
    double next;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_key_width_next: out is NULL");
    if (width < 1)
        return bf__error(BF_E_INVALID, "key sizing: width must be at least 1, got %lld",
                         (long long)width);
    if (!isfinite(target_s) || target_s <= 0)
        return bf__error(BF_E_INVALID, "key sizing: target_batch_s must be above 0, got %g",
                         target_s);
    if (!failed && (!isfinite(seconds) || seconds < 0))
        return bf__error(BF_E_INVALID, "key sizing: batch duration %g s is not a duration",
                         seconds);
    if (failed)
        next = (double)width / 2;
    else if (seconds > target_s)
        next = (double)width * (target_s / seconds);
    else if (seconds == 0)
        next = (double)width * 1.2;
    else
        next = (double)width * fmin(1.2, target_s / seconds);
    next = floor(next);
    if (next < 1)
        next = 1;
    /* 2^62: far beyond any key range, and safely representable. */
    if (next > 4611686018427387904.0)
        next = 4611686018427387904.0;
    *out = (int64_t)next;
    return BF_OK;
}

/* Whether a plan runs downward (newest_first): its first batch lies above its last. */
static int descending(const bf_plan *plan)
{
    size_t n = bf_plan_count(plan);

    return n >= 2 && bf_batch_lo(bf_plan_batch(plan, 0)) > bf_batch_lo(bf_plan_batch(plan, n - 1));
}

static int copy_batch(bf_plan *to, const bf_batch *b)
{
    const char *names[BF_BATCH_MAX_PARAMS];
    bf_value params[BF_BATCH_MAX_PARAMS];
    size_t n = bf_batch_param_count(b);

    for (size_t i = 0; i < n && i < BF_BATCH_MAX_PARAMS; i++) {
        names[i] = bf_batch_param_name(b, i);
        bf_batch_param_at(&params[i], b, i);
    }
    return bf__plan_add(to, bf_batch_lo(b), bf_batch_hi(b), bf_batch_label(b), n, names, params);
}

/* What a re-cut checks first: `fn`'s out and plan, a key plan, and batch `ordinal` in it. */
static int check_key_plan(bf_plan **out, const bf_plan *plan, size_t ordinal, const char *fn,
                          const char *what)
{
    if (!out)
        return bf__error(BF_E_INVALID, "%s: out is NULL", fn);
    if (!plan)
        return bf__error(BF_E_INVALID, "%s: plan is NULL", fn);
    if (bf_plan_dimension(plan) != BF_DIM_KEY)
        return bf__error(BF_E_INVALID, "%s: only key-range plans can be re-cut; this one is by %s",
                         what, bf_dimension_name(bf_plan_dimension(plan)));
    if (ordinal >= bf_plan_count(plan))
        return bf__error(BF_E_NOT_FOUND, "%s: no batch %zu (the plan has %zu)", what, ordinal,
                         bf_plan_count(plan));
    return BF_OK;
}

/* Seal `next` over the old pin plus `change`, hand it out, or free it on failure. */
static int finish(bf_plan **out, bf_plan *next, const bf_plan *plan, int rc, const char *change)
{
    char *pin = NULL;

    if (rc == BF_OK) {
        pin = bf__asprintf("%s;%s", bf__plan_pin(plan), change);
        rc = pin ? bf__plan_seal(next, pin) : BF_E_NOMEM;
    }
    bf__free(pin);
    if (rc != BF_OK) {
        bf_plan_free(next);
        return rc == BF_E_NOMEM ? bf__nomem() : rc;
    }
    *out = next;
    return BF_OK;
}

int bf_plan_split_batch(bf_plan **out, const bf_plan *plan, size_t ordinal)
{
    const bf_batch *b;
    bf_plan *next = NULL;
    int64_t lo, hi, mid;
    char change[64];
    int rc = check_key_plan(out, plan, ordinal, "bf_plan_split_batch", "split");

    if (rc != BF_OK)
        return rc;
    b = bf_plan_batch(plan, ordinal);
    lo = bf_batch_lo(b);
    hi = bf_batch_hi(b);
    if ((uint64_t)hi - (uint64_t)lo < 2)
        return bf__error(BF_E_INVALID, "split: batch %zu (%s) holds a single key", ordinal,
                         bf_batch_label(b));
    mid = (int64_t)((uint64_t)lo + ((uint64_t)hi - (uint64_t)lo) / 2);
    rc = bf__plan_new(&next, BF_DIM_KEY, bf_plan_column(plan), bf_plan_count(plan) + 1);
    for (size_t i = 0; rc == BF_OK && i < bf_plan_count(plan); i++) {
        if (i != ordinal) {
            rc = copy_batch(next, bf_plan_batch(plan, i));
        } else if (descending(plan)) {
            rc = bf__plan_add_key(next, bf_plan_column(plan), mid, hi);
            if (rc == BF_OK)
                rc = bf__plan_add_key(next, bf_plan_column(plan), lo, mid);
        } else {
            rc = bf__plan_add_key(next, bf_plan_column(plan), lo, mid);
            if (rc == BF_OK)
                rc = bf__plan_add_key(next, bf_plan_column(plan), mid, hi);
        }
    }
    snprintf(change, sizeof change, "split=%zu", ordinal);
    return finish(out, next, plan, rc, change);
}

int bf_plan_resize_keys(bf_plan **out, const bf_plan *plan, size_t from, int64_t width)
{
    size_t n = bf_plan_count(plan);
    int down = descending(plan);
    int64_t lo, hi;
    bf_plan *next = NULL;
    char change[96];
    int rc = check_key_plan(out, plan, from, "bf_plan_resize_keys", "resize");

    if (rc != BF_OK)
        return rc;
    if (width < 1)
        return bf__error(BF_E_INVALID, "resize: key width must be at least 1, got %lld",
                         (long long)width);
    /* The batches from `from` on must cover one contiguous range. */
    lo = bf_batch_lo(bf_plan_batch(plan, from));
    hi = bf_batch_hi(bf_plan_batch(plan, from));
    for (size_t i = from + 1; i < n; i++) {
        const bf_batch *b = bf_plan_batch(plan, i);

        if (down ? bf_batch_hi(b) != lo : bf_batch_lo(b) != hi)
            return bf__error(BF_E_INVALID, "resize: batches %zu to %zu are not contiguous at %s",
                             from, n - 1, bf_batch_label(b));
        if (down)
            lo = bf_batch_lo(b);
        else
            hi = bf_batch_hi(b);
    }
    rc = bf__plan_new(&next, BF_DIM_KEY, bf_plan_column(plan), 0);
    for (size_t i = 0; rc == BF_OK && i < from; i++)
        rc = copy_batch(next, bf_plan_batch(plan, i));
    if (rc == BF_OK)
        rc = bf__plan_key_widths(next, bf_plan_column(plan), lo, hi, width, down);
    snprintf(change, sizeof change, "resize=%zu:%lld", from, (long long)width);
    return finish(out, next, plan, rc, change);
}

int bf__plan_extend_keys(bf_plan **out, const bf_plan *plan, const int64_t *lo, const int64_t *hi,
                         size_t n)
{
    bf_plan *next = NULL;
    char change[48];
    int rc;

    if (!out || !plan || (n && (!lo || !hi)))
        return bf__error(BF_E_INVALID, "extend: NULL argument");
    if (n && bf_plan_dimension(plan) != BF_DIM_KEY)
        return bf__error(BF_E_INVALID, "extend: only a key plan takes key-range batches");
    rc = bf__plan_new(&next, bf_plan_dimension(plan), bf_plan_column(plan), bf_plan_count(plan) + n);
    for (size_t i = 0; rc == BF_OK && i < bf_plan_count(plan); i++)
        rc = copy_batch(next, bf_plan_batch(plan, i));
    for (size_t i = 0; rc == BF_OK && i < n; i++)
        rc = lo[i] < hi[i] ? bf__plan_add_key(next, bf_plan_column(plan), lo[i], hi[i])
                           : bf__error(BF_E_INVALID, "extend: empty key range [%lld, %lld)",
                                       (long long)lo[i], (long long)hi[i]);
    snprintf(change, sizeof change, "extend=%zu", n);
    return finish(out, next, plan, rc, change);
}

