/*
 * Building plans inside the library: the planner, the JSON reader and tests
 * of other modules make plans through these three calls.
 */
#ifndef BF_PLAN_INTERNAL_H
#define BF_PLAN_INTERNAL_H

#include "backfill/plan.h"

/* The most parameters one batch carries (TIME and BUCKET use two). */
#define BF_BATCH_MAX_PARAMS 4

/*
 * Start an empty, unsealed plan. `capacity_hint` is the expected number of
 * batches (0 if unknown). The column name is copied.
 */
int bf__plan_new(bf_plan **out, bf_dimension dim, const char *column, size_t capacity_hint);

/*
 * Append a batch. The label, parameter names and text values are copied into
 * the plan. At most BF_BATCH_MAX_PARAMS parameters, of type NULL, INT, REAL or
 * TEXT, with distinct non-empty names. Fails with BF_E_STATE on a sealed plan.
 */
int bf__plan_add(bf_plan *plan, int64_t lo, int64_t hi, const char *label, size_t nparams,
                 const char *const *names, const bf_value *params);

/*
 * Finish the plan: compute its fingerprint over `pin` (a canonical
 * description of the scope and batching it was made from; may be "") and
 * every batch. The plan is immutable afterwards.
 */
int bf__plan_seal(bf_plan *plan, const char *pin);

/*
 * A set plan: before sealing, give a partition plan (of one batch, with no
 * parameters) the partition values it stands for, copied. Its batch then
 * means `column IN (values)`: the SQL layer binds them as a list. For the
 * run-level scope of a partition plan (src/validate/checks.c). n > 0.
 */
int bf__plan_set_values(bf_plan *plan, const bf_value *values, size_t n);

/* The values of a set plan (*out borrowed from the plan); 0 and NULL for any other plan. */
size_t bf__plan_values(const bf_plan *plan, const bf_value **out);

/* The plan a batch belongs to (NULL for NULL). */
const bf_plan *bf__batch_plan(const bf_batch *batch);

/* The pin the plan was sealed with. */
const char *bf__plan_pin(const bf_plan *plan);

/*
 * For the runner: `plan`'s batches, then key-range batches [lo[i], hi[i])
 * at ordinals bf_plan_count(plan) + i (a key plan's split halves, each with
 * an ordinal of its own for the driver's staging, snapshots and fences), in
 * a new plan the caller frees. Never persisted: its fingerprint is sealed
 * over the old pin plus the extension.
 */
int bf__plan_extend_keys(bf_plan **out, const bf_plan *plan, const int64_t *lo, const int64_t *hi,
                         size_t n);

#endif
