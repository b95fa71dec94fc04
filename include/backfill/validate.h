/*
 * Validation: checks over a published batch and over the whole run.
 *
 * A bf_validator holds checks, built from a brief's `validation` list
 * (bf_validator_new_from_brief), added as JSON in the same format
 * (bf_validator_add_check_json), or written by a host
 * (bf_validator_add_custom, <backfill/sys/validator.h>). Validation has two
 * phases so that checks comparing before with after work:
 *
 *     bf_validator_before(&state, v, driver, plan, batch);   before publishing
 *     ... publish the batch ...
 *     bf_validator_after(&results, v, driver, plan, batch, state);
 *
 * A batch runs the checks whose `per` is `batch`; a NULL batch runs the
 * `per: run` checks (row_count with scope.expected_rows, coverage) over the
 * plan's scope (time and key plans: from the lowest lo to the highest hi).
 * Without `per` a metric runs in both, coverage for the run, the rest per
 * batch. Checks that can share a scan do: one
 * driver profile gives the row count, the NULLs of every not_null column,
 * the sums of SUM/AVG/COUNT(*) metrics and the unchanged_columns fingerprint.
 * A per-batch check never reads outside its batch. docs/validate.md lists
 * every check, its fields and its outcome rules.
 */
#ifndef BACKFILL_VALIDATE_H
#define BACKFILL_VALIDATE_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/brief.h"
#include "backfill/common.h"
#include "backfill/driver.h"
#include "backfill/plan.h"
#include "backfill/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of one check. */
typedef enum bf_outcome {
    BF_OUTCOME_PASS = 0,
    BF_OUTCOME_WARN = 1,    /* a `warn` check failed: recorded, does not stop the run */
    BF_OUTCOME_FAIL = 2,    /* an `error` check failed: the run stops for review */
    BF_OUTCOME_ERROR = 3,   /* the check could not be evaluated */
    BF_OUTCOME_SKIPPED = 4  /* not evaluated: it compares with a before state that was not given */
} bf_outcome;

/* "pass", "warn", "fail", "error", "skipped"; NULL out of range. */
BF_API const char *bf_outcome_name(bf_outcome outcome);

/* ---- The validator ----------------------------------------------------- */

/*
 * An empty validator for `table` (the target). `key` and `columns` are the
 * brief's target.key and target.columns (copied; may be NULL/0). The caller
 * owns *out and frees it with bf_validator_free().
 */
BF_API int bf_validator_new(bf_validator **out, const char *table, const char *const *key,
                            size_t key_count, const char *const *columns, size_t column_count);

/*
 * A validator with the brief's target and `validation` checks, plus
 * scope.expected_rows as a run-level row count. BF_E_INVALID when the brief
 * has no target.table.
 */
BF_API int bf_validator_new_from_brief(bf_validator **out, const bf_brief *brief);

/* Release a validator. Accepts NULL. */
BF_API void bf_validator_free(bf_validator *validator);

/*
 * Add a check given as JSON, exactly a brief's `validation[]` element
 * (validated as loading validates it). BF_E_PARSE, BF_E_INVALID.
 */
BF_API int bf_validator_add_check_json(bf_validator *validator, const char *json);

/* The run-level expected row count (scope.expected_rows). */
BF_API int bf_validator_set_expected_rows(bf_validator *validator, int64_t min, int64_t max);

/* Samples kept per check (default 10, at most 1000). */
BF_API int bf_validator_set_max_samples(bf_validator *validator, size_t max_samples);

/*
 * For coverage: the ordinals of the plan's batches the run has written,
 * with the rows each one's bounds held once it published (the runner and
 * backfill validate give the count of its recorded after fingerprint), which
 * coverage compares with the rows they hold now (rows_written may be NULL:
 * not compared; -1 in it: unknown). Copied. Coverage is evaluated in the run
 * phase (NULL batch).
 */
BF_API int bf_validator_set_written(bf_validator *validator, const size_t *ordinals,
                                    const int64_t *rows_written, size_t count);

/*
 * Read `table` (copied) instead of the target from now on: the shadow table
 * a staging_swap or parallel_version run publishes into before cutover.
 * States captured before stay valid for bf_validator_after(). sql checks
 * read the tables their query names.
 */
BF_API int bf_validator_set_table(bf_validator *validator, const char *table);

/* The number of checks, coverage and the expected-rows check included. */
BF_API size_t bf_validator_check_count(const bf_validator *validator);

/*
 * Capture what the checks for `batch` (NULL: the run) need before the
 * batch publishes. Every column a check names is checked against its table
 * first (BF_E_NOT_FOUND naming it), sql checks and metric expressions are
 * prepared (BF_E_INVALID naming the check): on such an error nothing is
 * read further and nothing is changed. The caller owns *out
 * (bf_validation_state_free).
 */
BF_API int bf_validator_before(bf_validation_state **out, bf_validator *validator,
                               bf_driver *driver, const bf_plan *plan, const bf_batch *batch);

/* Release a state. Accepts NULL. */
BF_API void bf_validation_state_free(bf_validation_state *state);

/*
 * A state as JSON text ("format": "backfill-validation-before/1", one entry
 * per check; free with bf_free()), and back for a validator with the same
 * checks in the same order (BF_E_CONFLICT naming the first that differs;
 * BF_E_PARSE for text that is not such a document). The runner records
 * the run's (event "validation_before") and each batch's (under "checks" in
 * its before-state), so that a host checking a run later compares with the
 * values from before it published. A host check's own state is not
 * written: that check is skipped when compared from the text.
 */
BF_API int bf_validation_state_to_json(char **out, const bf_validation_state *state);
BF_API int bf_validation_state_from_json(bf_validation_state **out,
                                         const bf_validator *validator, const char *json);

/*
 * Evaluate the checks for `batch` (NULL: the run) after it published.
 * `state` is what bf_validator_before captured for the same batch, or NULL:
 * checks that compare with before then report BF_OUTCOME_SKIPPED. Bad input
 * fails as bf_validator_before does. A failing check is an outcome, not an
 * error, and so is a check that cannot be evaluated (BF_OUTCOME_ERROR with
 * the reason as its message): the call returns BF_OK, unless the library
 * itself fails (BF_E_NOMEM, BF_E_IO, BF_E_BUSY, BF_E_LEASE_LOST, BF_E_USER,
 * BF_E_ABI, BF_E_INTERNAL); bf_results_status() gives the verdict.
 */
BF_API int bf_validator_after(bf_results **out, bf_validator *validator, bf_driver *driver,
                              const bf_plan *plan, const bf_batch *batch,
                              const bf_validation_state *state);

/* ---- Results ----------------------------------------------------------- */

BF_API void bf_results_free(bf_results *results);
BF_API size_t bf_results_count(const bf_results *results);
/* The batch label the results are for, or NULL for the run. Owned by results. */
BF_API const char *bf_results_batch(const bf_results *results);
/* The check's kind ("unique", ...; a custom validator's name). */
BF_API const char *bf_results_check(const bf_results *results, size_t index);
/* The check's `name`, or NULL. */
BF_API const char *bf_results_name(const bf_results *results, size_t index);
BF_API bf_check_severity bf_results_severity(const bf_results *results, size_t index);
BF_API bf_outcome bf_results_outcome(const bf_results *results, size_t index);
/* What was observed and what was expected, as short text ("" when none). */
BF_API const char *bf_results_observed(const bf_results *results, size_t index);
BF_API const char *bf_results_expected(const bf_results *results, size_t index);
/* A sentence a person can read, naming the check, column, table and batch. */
BF_API const char *bf_results_message(const bf_results *results, size_t index);
/* Sample rows or keys as a JSON array of objects ("[]" when none). */
BF_API const char *bf_results_samples_json(const bf_results *results, size_t index);
/* The number of checks with this outcome. */
BF_API size_t bf_results_tally(const bf_results *results, bf_outcome outcome);
/*
 * The verdict: BF_OK when no check failed or errored, else BF_E_VALIDATION
 * (a warn never makes it fail), with the first failing check's sentence as
 * the thread's message.
 */
BF_API int bf_results_status(const bf_results *results);

/*
 * The results as JSON: {"batch": label|null, "status": "pass"|"fail",
 * "counts": {...}, "checks": [{"check", "name", "severity", "outcome",
 * "observed", "expected", "message", "samples"}...]}. Free with bf_free().
 */
BF_API int bf_results_to_json(char **out, const bf_results *results);

/* ---- Results in the ledger ---- */

/*
 * Record `results` in the run's ledger for the batch `batch_id` (0: the
 * run's own results) and settle it, in one ledger transaction
 * (bf_run_record_validation() with BF_VALIDATION_SETTLE): when no check
 * failed or errored, a completed batch becomes validated; otherwise the
 * batch stays as it is and the run pauses with "validation failed: batch
 * LABEL: SENTENCE", the sentence of the first check that failed. A warn is
 * recorded and does not stop anything. Returns BF_OK when the results were
 * recorded, whatever their verdict (bf_results_status() gives it), or the
 * ledger's failure (BF_E_STATE for a batch that is not completed or
 * validated, BF_E_NOT_FOUND, BF_E_UNSUPPORTED), with nothing changed.
 */
BF_API int bf_validator_settle(bf_run *run, int64_t batch_id, const bf_results *results);

#ifdef __cplusplus
}
#endif

#endif
