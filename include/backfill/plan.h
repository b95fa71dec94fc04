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
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bf_dimension {
    BF_DIM_TIME = 1,
    BF_DIM_KEY = 2,
    BF_DIM_PARTITION = 3,
    BF_DIM_BUCKET = 4
} bf_dimension;

typedef struct bf_plan bf_plan;
typedef struct bf_batch bf_batch;

/* "time", "key", "partition", "bucket", or NULL for another value. Static. */
BF_API const char *bf_dimension_name(bf_dimension dim);

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
 * Read a plan written by bf_plan_to_json(). Fails with BF_E_PARSE on text
 * that is not such a plan, and with BF_E_CONFLICT when the recorded
 * fingerprint does not match the batches (the text was edited). The caller
 * frees *out with bf_plan_free().
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

#ifdef __cplusplus
}
#endif

#endif
