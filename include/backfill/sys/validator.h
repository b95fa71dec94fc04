/*
 * For people who write custom validators: a check written by the host,
 * added to a bf_validator with bf_validator_add_custom(). Same version rules
 * as the driver vtable: `version` first, members only appended, a version
 * newer than BF_VALIDATOR_VTABLE_VERSION (or 0) refused with BF_E_ABI; the
 * vtable is copied, so it may be a stack variable.
 *
 * Members return BF_OK or a negative BF_E_* code after setting a message
 * with bf_error_set() (<backfill/sys/errors.h>). A member's failure makes
 * bf_validator_before/after fail with that code and message; BF_E_USER is
 * passed back untouched.
 */
#ifndef BACKFILL_SYS_VALIDATOR_H
#define BACKFILL_SYS_VALIDATOR_H

#include "backfill/sys/errors.h"
#include "backfill/validate.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bf_validator_vtable {
    unsigned version;
    /* since version 1 */
    /*
     * Before the batch publishes (batch NULL: the run): capture what `after`
     * needs into *state (may be left NULL). NULL member: nothing to capture.
     */
    int (*before)(void *userdata, void **state, bf_driver *driver, const bf_plan *plan,
                  const bf_batch *batch);
    /*
     * Evaluate: fill `result` with bf_check_result_set() (left unset, the
     * check passes). `state` is what before captured, NULL when there was
     * no before phase. Required.
     */
    int (*after)(void *userdata, bf_check_result *result, bf_driver *driver, const bf_plan *plan,
                 const bf_batch *batch, void *state);
    /* Release a state `before` made. May be NULL. */
    void (*free_state)(void *userdata, void *state);
};

#define BF_VALIDATOR_VTABLE_VERSION 1u
#define BF_VALIDATOR_VTABLE_INIT {BF_VALIDATOR_VTABLE_VERSION, NULL, NULL, NULL}

/* Zero *vtable and set its version; BF_E_ABI for a version this library does not know. */
BF_API int bf_validator_vtable_init(bf_validator_vtable *vtable, unsigned version);

/*
 * Add a custom check called `name` (its "check" in results), run for each
 * batch (per_run 0) or for the run (per_run 1). `userdata` is passed to
 * every member and, when the validator is freed, to free_userdata (may be
 * NULL; not called when this fails).
 */
BF_API int bf_validator_add_custom(bf_validator *validator, const char *name,
                                   bf_check_severity severity, int per_run,
                                   const bf_validator_vtable *vtable, void *userdata,
                                   void (*free_userdata)(void *userdata));

/*
 * Set the result of a custom check: `failed` 0 passes, nonzero fails (the
 * outcome then follows the severity: fail or warn). Texts are copied; any
 * may be NULL.
 */
BF_API int bf_check_result_set(bf_check_result *result, int failed, const char *observed,
                               const char *expected, const char *message);

/* Add a sample: a JSON object text, such as {"id": 4}. BF_E_PARSE when it is not one. */
BF_API int bf_check_result_add_sample(bf_check_result *result, const char *json_object);

#ifdef __cplusplus
}
#endif

#endif
