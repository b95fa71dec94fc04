/*
 * Plans and batches.
 *
 * A plan is an immutable, ordered list of batches that together tile a
 * backfill's scope in exactly one dimension. Each batch is a half-open range:
 * [start, end) instants for time, [lo, hi) for integer keys, one value for a
 * partition, (bucket, buckets) for hash buckets. A batch carries its bound
 * parameters exactly as they are bound to the job's SELECT, the publish
 * DELETE/MERGE and every validator, so that read and write predicates can
 * never disagree. A plan's fingerprint pins it: a resumed or retried run can
 * prove it works on the same plan.
 */
#ifndef BACKFILL_PLAN_H
#define BACKFILL_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/types.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * bf_plan, bf_batch and bf_planner are declared in <backfill/types.h>, with
 * bf_dimension, bf_grain, bf_time_format, bf_batch_order and their names.
 *
 * NULL: a call that returns a status refuses a NULL plan, batch, planner or
 * out pointer with BF_E_INVALID, its message naming the argument
 * ("bf_plan_to_json: plan is NULL"). The accessors of a NULL plan or batch
 * answer 0, no dimension (0) or NULL.
 */

/* Release a plan and its batches. Accepts NULL. */
BF_API void bf_plan_free(bf_plan *plan);

/* The number of batches. */
BF_API size_t bf_plan_count(const bf_plan *plan);

/*
 * The batch at `index` in plan order (0-based), or NULL past the end. The
 * batch belongs to the plan and lives as long as it.
 */
BF_API const bf_batch *bf_plan_batch(const bf_plan *plan, size_t index);

/* The dimension every batch of the plan is cut in. */
BF_API bf_dimension bf_plan_dimension(const bf_plan *plan);

/* The batching column of the target table. Owned by the plan. */
BF_API const char *bf_plan_column(const bf_plan *plan);

/*
 * The plan's fingerprint: 32 lowercase hex digits of a 128-bit hash over the
 * scope and batching it was made from and every batch's bounds, labels and
 * parameters. Equal fingerprints mean the same plan. Owned by the plan.
 */
BF_API const char *bf_plan_fingerprint(const bf_plan *plan);

/*
 * The plan as JSON text ("format": "backfill-plan/1"), which
 * bf_plan_from_json() reads back into an identical plan with the same
 * fingerprint. The caller frees *out with bf_free().
 */
BF_API int bf_plan_to_json(char **out, const bf_plan *plan);

/*
 * Read a plan written by bf_plan_to_json() or `backfill plan --json`:
 * members other than those bf_plan_to_json() writes are left alone. Fails
 * with BF_E_PARSE on text that is not such a plan, naming a member that is
 * missing or of another type ("plan: $.pin is missing: ..."), and with
 * BF_E_CONFLICT when the recorded fingerprint does not match the batches
 * (the text was edited). The caller frees *out with bf_plan_free().
 */
BF_API int bf_plan_from_json(bf_plan **out, const char *json);

/* The batch's 0-based position in plan order. */
BF_API size_t bf_batch_ordinal(const bf_batch *batch);

/* The batch's dimension (the plan's). */
BF_API bf_dimension bf_batch_dimension(const bf_batch *batch);

/*
 * A label for people and logs: "2025-03-09", "2025-W10", "order_id [10000,
 * 20000)", "bucket 3/16". Owned by the plan.
 */
BF_API const char *bf_batch_label(const bf_batch *batch);

/*
 * The batch's native bounds. TIME: [lo, hi) in UTC microseconds since the
 * epoch. KEY: [lo, hi). BUCKET: lo is the bucket, hi the number of buckets.
 * PARTITION: lo and hi are the value's index in the scope's list of values.
 */
BF_API int64_t bf_batch_lo(const bf_batch *batch);
BF_API int64_t bf_batch_hi(const bf_batch *batch);

/*
 * The batch's bound parameters, as they are bound in the warehouse, named
 * without the colon: TIME "start" and "end" (in the target's time format:
 * integers for unix_s/unix_ms/unix_us, text for iso8601 and date); KEY "lo"
 * and "hi"; PARTITION "partition"; BUCKET "bucket" and "buckets".
 */
BF_API size_t bf_batch_param_count(const bf_batch *batch);

/* The name of parameter `index`, or NULL past the end. Owned by the plan. */
BF_API const char *bf_batch_param_name(const bf_batch *batch, size_t index);

/*
 * The value of the parameter called `name` (a leading ':' is allowed).
 * Text values point into the plan and live as long as it. Fails with
 * BF_E_NOT_FOUND when the batch has no such parameter.
 */
BF_API int bf_batch_param(bf_value *out, const bf_batch *batch, const char *name);

/* The value of parameter `index`; BF_E_NOT_FOUND past the end. */
BF_API int bf_batch_param_at(bf_value *out, const bf_batch *batch, size_t index);

/* ------------------------------------------------------------------------
 * The planner: scope and batching in, pinned plan out.
 *
 * A bf_planner holds one scope (time, key range, partitions or buckets) and
 * how to batch it, set through the setters below, so hosts without a brief
 * can plan too. bf_planner_plan() cuts the scope into a plan. Planning is
 * deterministic: it never reads the clock, and the same settings (and, for
 * rows_per_batch, the same callback answers) always give the same plan with
 * the same fingerprint. The fingerprint covers a canonical description of
 * the settings and every batch.
 * ------------------------------------------------------------------------ */

/*
 * Where the boundary of a rows_per_batch key batch lies. Called with the
 * batch's inclusive lower key `from` and the scope's exclusive upper key
 * `hi`, it stores in *out the smallest key k such that [from, k) holds
 * `rows` rows, or `hi` when fewer rows remain (a driver finds k with a
 * keyset walk). k must satisfy from < k <= hi. Return BF_OK, or BF_E_USER
 * (or another code) to fail planning; the code is passed through untouched.
 */
typedef int (*bf_key_boundary_fn)(int64_t *out, int64_t from, int64_t hi, int64_t rows,
                                  void *userdata);

/* A planner with no scope yet (order oldest_first, time format unix_s). Free with bf_planner_free(). */
BF_API int bf_planner_new(bf_planner **out);

/* Release a planner. Accepts NULL. Plans it made stay valid. */
BF_API void bf_planner_free(bf_planner *planner);

/*
 * A planner set from a brief's `scope`, `batching` and `target`: the time
 * scope with `target.time_column`, `target.time_format`, `batching.grain`
 * and `every` (default 1); a keys scope with `batching.width`; partitions;
 * buckets; and `batching.order` (default oldest_first). `batching.by`, when
 * given, must match the scope. For `rows_per_batch` the planner keeps the
 * row count but has no key-boundary callback yet: call
 * bf_planner_set_rows_per_batch() with the driver's before planning. Fails
 * with BF_E_INVALID, naming the brief's JSON path, when something needed is
 * missing or inconsistent; zone errors as bf_tz_load(). The caller frees
 * *out with bf_planner_free(); the brief is not kept.
 */
BF_API int bf_planner_new_from_brief(bf_planner **out, const bf_brief *brief);

/*
 * Scope: the half-open local time range [start, end) of `column`, with
 * start and end as "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or "YYYY-MM-DD HH:MM:SS"
 * in the IANA zone `timezone` (NULL for "UTC"). Local times are resolved to
 * instants by the rule of <backfill/time.h>. Fails with BF_E_INVALID for bad
 * text or a start at or after the end, and with bf_tz_load()'s codes for a
 * zone that cannot be loaded. Replaces any earlier scope. Strings are copied.
 */
BF_API int bf_planner_set_time_scope(bf_planner *planner, const char *column, const char *start,
                                     const char *end, const char *timezone);

/* Time batching: `every` (at least 1) grains per batch. Default: 1 day. */
BF_API int bf_planner_set_grain(bf_planner *planner, bf_grain grain, unsigned every);

/* The target's time format for the "start" and "end" parameters. Default unix_s. */
BF_API int bf_planner_set_time_format(bf_planner *planner, bf_time_format format);

/*
 * Scope: the integer key range [lo, hi) of `column` (lo < hi). Replaces any
 * earlier scope. Batch it with bf_planner_set_key_width() or
 * bf_planner_set_rows_per_batch().
 */
BF_API int bf_planner_set_key_scope(bf_planner *planner, const char *column, int64_t lo,
                                    int64_t hi);

/* Key batching: fixed ranges of `width` (at least 1) keys; the last one is clipped. */
BF_API int bf_planner_set_key_width(bf_planner *planner, int64_t width);

/*
 * Key batching: about `rows` rows per batch (at least 1), the boundaries
 * found by `boundary` (called in key order while planning; the planner keeps
 * `userdata` only until bf_planner_plan() returns, and never frees it).
 */
BF_API int bf_planner_set_rows_per_batch(bf_planner *planner, int64_t rows,
                                         bf_key_boundary_fn boundary, void *userdata);

/*
 * Scope: one batch per value of `column`, in the given order. Values are
 * integers or text, distinct, at least one; they are copied.
 */
BF_API int bf_planner_set_partition_scope(bf_planner *planner, const char *column,
                                          const bf_value *values, size_t count);

/* Scope: `count` (at least 1) hash buckets of `column`, one batch each. */
BF_API int bf_planner_set_bucket_scope(bf_planner *planner, const char *column, int64_t count);

/* The order of the batches. Partitions and buckets: list order, or reversed. */
BF_API int bf_planner_set_order(bf_planner *planner, bf_batch_order order);

/*
 * Cut the scope into a sealed plan; the caller frees *out with
 * bf_plan_free(). Fails with BF_E_INVALID when no scope is set or the
 * settings do not fit together (a date time format with hour batches or a
 * scope that does not start and end at midnight; a key scope without width
 * or rows_per_batch), when a boundary callback answers out of range, or when
 * the plan would exceed 100,000,000 batches; a callback's own code is passed
 * through.
 */
BF_API int bf_planner_plan(bf_plan **out, const bf_planner *planner);

/*
 * The coverage proof: check that `plan` tiles the planner's scope exactly,
 * in the planner's order: same dimension and column; every batch non-empty;
 * consecutive batches meet with no gap or overlap; the first and last meet
 * the scope's ends (each partition value or bucket exactly once); and every
 * batch's parameters are its bounds in the planner's format. Returns BF_OK,
 * or BF_E_VALIDATION with a message naming the first offending batch.
 */
BF_API int bf_plan_verify(const bf_plan *plan, const bf_planner *planner);

/* ------------------------------------------------------------------------
 * Sizing.
 * ------------------------------------------------------------------------ */

/*
 * Estimate the whole plan's runtime in seconds from measured batches
 * (a test slice): `seconds[i]` is how long batch `ordinals[i]` took. Time
 * scales with a batch's extent (microseconds for time, keys for key
 * ranges, one for partitions and buckets), so a 25-hour day counts more
 * than a 23-hour one and a clipped batch less. Fails with BF_E_INVALID for
 * no measurements, a negative or non-finite duration, or an ordinal past
 * the end.
 */
BF_API int bf_plan_estimate(double *out, const bf_plan *plan, const size_t *ordinals,
                            const double *seconds, size_t count);

/*
 * Adaptive key-range sizing: the width for the next batches, given the
 * current `width`, how long the last batch of that width took and whether
 * it failed, and the target seconds per batch. A failed batch halves the
 * width; a batch slower than the target shrinks it in proportion
 * (width * target / seconds); a faster one grows it toward the target, by
 * at most x1.2 per step. The result is at least 1.
 */
BF_API int bf_key_width_next(int64_t *out, int64_t width, double seconds, int failed,
                             double target_s);

/*
 * Split key-range batch `ordinal` of `plan` in two halves, [lo, mid) and
 * [mid, hi), in a NEW plan (the caller frees it with bf_plan_free(); `plan`
 * is unchanged). The halves take the batch's place in plan order (lower
 * half first under oldest_first); later batches' ordinals shift by one. The
 * new plan's fingerprint differs: it is sealed over the old pin plus the
 * split. Fails with BF_E_INVALID for a batch that is not a key range or
 * holds a single key, BF_E_NOT_FOUND for an ordinal past the end.
 */
BF_API int bf_plan_split_batch(bf_plan **out, const bf_plan *plan, size_t ordinal);

/*
 * Re-cut the key range covered by batches `from` to the end of `plan` with
 * a new `width` (after bf_key_width_next()), in a NEW plan that keeps
 * batches before `from` as they are; the caller frees it. The covered
 * range stays the same, so the plan still tiles the scope. Fails like
 * bf_plan_split_batch(), and with BF_E_INVALID for a width below 1.
 */
BF_API int bf_plan_resize_keys(bf_plan **out, const bf_plan *plan, size_t from, int64_t width);

#ifdef __cplusplus
}
#endif

#endif
