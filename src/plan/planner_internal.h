/*
 * The planner's settings and the pieces that cut each dimension, shared by
 * planner.c, the per-dimension files, verify.c and sizing.c. Not installed.
 */
#ifndef BF_PLANNER_INTERNAL_H
#define BF_PLANNER_INTERNAL_H

#include "backfill/plan.h"
#include "backfill/time.h"
#include "common/types.h"
#include "plan/plan_internal.h"

/* BF_PLAN_MAX_BATCHES and BF_PLAN_MAX_EVERY are in common/types.h, where the brief's schema reads them. */

/* Room for any label or text parameter the planner writes. */
#define BF_LABEL_MAX 160

struct bf_planner {
    bf_dimension dim; /* 0 until a scope is set */
    char *column;
    bf_batch_order order;

    /* time */
    bf_tz *tz;
    bf_civil start, end;     /* local */
    int64_t start_s, end_s;  /* resolved instants, seconds */
    bf_grain grain;
    unsigned every;
    bf_time_format format;

    /* key */
    int64_t lo, hi;
    int64_t width;           /* 0: not set */
    int64_t rows;            /* 0: not set */
    bf_key_boundary_fn boundary;
    void *userdata;

    /* partition: values whose text points into `text` */
    bf_value *values;
    size_t nvalues;
    char *text;

    /* bucket */
    int64_t buckets;
};

/*
 * Everything bf_planner_plan() refuses about the settings, checked without
 * cutting a batch (so preflight can ask it of any brief): time scopes whose
 * bounds the time format cannot bind, key widths that make more batches
 * than a plan holds. BF_E_INVALID with the planner's message.
 */
int bf__planner_check(const bf_planner *p);

/* The canonical settings text a plan is sealed over (its pin). */
int bf__planner_pin(const bf_planner *p, char **out);

/* The time settings bf__plan_time() refuses (hour batches bound as dates, ...). */
int bf__plan_time_check(const bf_planner *p);

/* Cut each dimension into `plan` (unsealed), in the planner's order. */
int bf__plan_time(bf_plan *plan, const bf_planner *p);
int bf__plan_keys(bf_plan *plan, const bf_planner *p);
int bf__plan_partitions(bf_plan *plan, const bf_planner *p);
int bf__plan_buckets(bf_plan *plan, const bf_planner *p);

/*
 * The "start"/"end" parameter for instant `t_s` (seconds) in `format`;
 * text goes into buf (BF_LABEL_MAX bytes) and *out points at it.
 */
void bf__time_param(bf_value *out, char *buf, int64_t t_s, bf_time_format format,
                    const bf_tz *tz);

/* Append one key-range batch [lo, hi) of `column` with its label and params. */
int bf__plan_add_key(bf_plan *plan, const char *column, int64_t lo, int64_t hi);

/*
 * Append the key ranges of `width` tiling [lo, hi) from lo (the last one
 * clipped), in ascending order or, when `down`, descending.
 */
int bf__plan_key_widths(bf_plan *plan, const char *column, int64_t lo, int64_t hi,
                        int64_t width, int down);

/*
 * The label of a partition value, into buf (BF_LABEL_MAX + 2 bytes): an
 * integer's digits; text as is, or in double quotes when it would read like
 * an integer (or starts with a quote), so 42 and "42" are told apart.
 */
void bf__partition_label(char *buf, const bf_value *value);

/*
 * Write the decimal digits of v into buf (at least 21 bytes), without a NUL;
 * returns how many. snprintf is too slow for a million labels.
 */
size_t bf__fmt_i64(char *buf, int64_t v);

#endif
