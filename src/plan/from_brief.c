/*
 * A planner from a brief: the brief's scope and batching fields mapped onto
 * the planner's setters, with messages that name the brief's JSON paths.
 */
#include <stdio.h>

#include "backfill/brief.h"
#include "common/internal.h"
#include "plan/planner_internal.h"

static const char *const scope_paths[] = {NULL, "$.scope.time", "$.scope.keys",
                                          "$.scope.partitions", "$.scope.buckets"};

/* Prefix the thread's last message with a JSON path, keeping the code. */
static int at_path(int rc, const char *path)
{
    char why[BF_ERRMSG_MAX];

    if (rc == BF_OK || rc == BF_E_NOMEM)
        return rc;
    snprintf(why, sizeof why, "%s", bf_last_error());
    return bf__error(rc, "%s: %s", path, why);
}

static int time_from_brief(bf_planner *p, const bf_brief *b)
{
    const char *column = bf_brief_time_column(b);
    bf_grain grain = bf_brief_grain(b);
    bf_time_format format = bf_brief_time_format(b);
    int64_t every = 1;
    int rc;

    if (!column)
        return bf__error(BF_E_INVALID, "$.target.time_column: needed to plan time batches");
    if (format == BF_TIME_FORMAT_UNSET)
        return bf__error(BF_E_INVALID,
                         "$.target.time_format: needed to bind the bounds of time batches");
    if (grain == BF_GRAIN_UNSET)
        return bf__error(BF_E_INVALID, "$.batching.grain: needed for time batches");
    if (!bf_brief_scope_start(b) || !bf_brief_scope_end(b))
        return bf__error(BF_E_INVALID, "$.scope.time: needs both start and end");
    /* The schema keeps every in 1..BF_PLAN_MAX_EVERY; refuse anything else before narrowing. */
    if (bf_brief_every(&every, b) == BF_OK && (every < 1 || every > BF_PLAN_MAX_EVERY))
        return bf__error(BF_E_INVALID, "$.batching.every: expected 1 to %d, got %lld",
                         BF_PLAN_MAX_EVERY, (long long)every);
    rc = at_path(bf_planner_set_time_scope(p, column, bf_brief_scope_start(b),
                                           bf_brief_scope_end(b), bf_brief_scope_timezone(b)),
                 "$.scope.time");
    if (rc == BF_OK)
        rc = at_path(bf_planner_set_grain(p, grain, (unsigned)every), "$.batching");
    if (rc == BF_OK)
        rc = at_path(bf_planner_set_time_format(p, format), "$.target.time_format");
    return rc;
}

static int keys_from_brief(bf_planner *p, const bf_brief *b)
{
    int64_t lo, hi, width, rows;
    int rc;

    if (bf_brief_scope_key_start(&lo, b) != BF_OK || bf_brief_scope_key_end(&hi, b) != BF_OK ||
        !bf_brief_scope_column(b))
        return bf__error(BF_E_INVALID, "$.scope.keys: needs column, start and end");
    rc = at_path(bf_planner_set_key_scope(p, bf_brief_scope_column(b), lo, hi), "$.scope.keys");
    if (rc != BF_OK)
        return rc;
    if (bf_brief_width(&width, b) == BF_OK)
        return at_path(bf_planner_set_key_width(p, width), "$.batching.width");
    if (bf_brief_rows_per_batch(&rows, b) == BF_OK) {
        /* Kept for bf_planner_set_rows_per_batch(); planning asks for the callback. */
        p->rows = rows;
        return BF_OK;
    }
    return bf__error(BF_E_INVALID,
                     "$.batching: key batches need width or rows_per_batch");
}

static int partitions_from_brief(bf_planner *p, const bf_brief *b)
{
    size_t n = bf_brief_partition_count(b);
    bf_value *values;
    int rc = BF_OK;

    if (n == 0 || !bf_brief_scope_column(b))
        return bf__error(BF_E_INVALID, "$.scope.partitions: needs a column and values");
    values = bf__calloc(n, sizeof *values);
    if (!values)
        return bf__nomem();
    for (size_t i = 0; i < n && rc == BF_OK; i++)
        rc = bf_brief_partition(&values[i], b, i);
    if (rc == BF_OK)
        rc = at_path(bf_planner_set_partition_scope(p, bf_brief_scope_column(b), values, n),
                     "$.scope.partitions");
    bf__free(values);
    return rc;
}

static int buckets_from_brief(bf_planner *p, const bf_brief *b)
{
    int64_t count;

    if (bf_brief_scope_buckets(&count, b) != BF_OK || !bf_brief_scope_column(b))
        return bf__error(BF_E_INVALID, "$.scope.buckets: needs column and count");
    return at_path(bf_planner_set_bucket_scope(p, bf_brief_scope_column(b), count),
                   "$.scope.buckets");
}

int bf_planner_new_from_brief(bf_planner **out, const bf_brief *b)
{
    bf_scope_kind kind = bf_brief_scope_kind(b);
    bf_batch_by by = bf_brief_batch_by(b);
    bf_batch_order order = bf_brief_batch_order(b);
    bf_planner *p = NULL;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_planner_new_from_brief: out is NULL");
    if (!b)
        return bf__error(BF_E_INVALID, "bf_planner_new_from_brief: brief is NULL");
    if (kind == BF_SCOPE_NONE)
        return bf__error(BF_E_INVALID, "$.scope: the brief has no scope to plan");
    /* bf_batch_by is numbered like bf_scope_kind (and bf_dimension). */
    if (by != BF_BATCH_BY_UNSET && (int)by != (int)kind)
        return bf__error(BF_E_INVALID, "$.batching.by: batching by %s needs %s, but the scope "
                         "is %s",
                         bf_batch_by_name(by), scope_paths[by], scope_paths[kind]);
    rc = bf_planner_new(&p);
    if (rc != BF_OK)
        return rc;
    switch (kind) {
    case BF_SCOPE_TIME:
        rc = time_from_brief(p, b);
        break;
    case BF_SCOPE_KEYS:
        rc = keys_from_brief(p, b);
        break;
    case BF_SCOPE_PARTITIONS:
        rc = partitions_from_brief(p, b);
        break;
    default:
        rc = buckets_from_brief(p, b);
        break;
    }
    if (rc == BF_OK && order != BF_BATCH_ORDER_UNSET)
        rc = at_path(bf_planner_set_order(p, order), "$.batching.order");
    if (rc != BF_OK) {
        bf_planner_free(p);
        return rc == BF_E_NOMEM ? bf__nomem() : rc;
    }
    *out = p;
    return BF_OK;
}
