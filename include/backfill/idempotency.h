/*
 * Idempotency: proving that running a batch twice gives the same table as
 * running it once (docs/idempotency.md).
 *
 * Three tools, for the runner to call before and between batches:
 *
 * - bf_idempotency_check(): static analysis of a write spec (pattern, keys,
 *   the job's SQL) against the real target through a driver. Its findings
 *   carry a stable code, a severity, the brief's JSON path and a sentence,
 *   like the brief's preflight findings (a parallel type: this module sits
 *   below preflight and may not use it).
 * - bf_idempotency_probe(): the rerun probe. It copies one batch's scope of
 *   the target into a scratch table, stages and publishes the job twice
 *   there, and compares fingerprints and key uniqueness. The target is never
 *   written.
 * - bf_idempotency_key(): a batch's idempotency key, a hash of the plan
 *   fingerprint, the batch's bounds, the code version and the job text, to
 *   record with bf_run_complete() and find again with
 *   bf_ledger_find_completed_key() (<backfill/ledger.h>).
 */
#ifndef BACKFILL_IDEMPOTENCY_H
#define BACKFILL_IDEMPOTENCY_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/driver.h"
#include "backfill/fingerprint.h"
#include "backfill/plan.h"
#include "backfill/types.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* bf_idem_findings and bf_idem_probe are declared in <backfill/types.h>. */

/* ---- Batch idempotency keys -------------------------------------------- */

/* Bytes of a key's text form: 32 lowercase hex digits and a NUL. */
#define BF_IDEMPOTENCY_KEY_SIZE 33

/*
 * The idempotency key of `batch` of `plan`: 32 lowercase hex digits of
 * XXH3-128 over a canonical encoding of the plan's fingerprint, the batch's
 * dimension, bounds and bound parameters (names and values), `code_version`
 * and `job_sql` (each may be NULL, which differs from ""). Equal keys mean
 * the same work on the same plan by the same code. Fails with BF_E_INVALID
 * for a NULL out, plan or batch, or a batch that is not the plan's.
 */
BF_API int bf_idempotency_key(char out[BF_IDEMPOTENCY_KEY_SIZE], const bf_plan *plan,
                              const bf_batch *batch, const char *code_version,
                              const char *job_sql);

/* ---- Static analysis --------------------------------------------------- */

/* The severity of an idempotency finding (the same values as bf_severity). */
typedef enum bf_idem_severity {
    BF_IDEM_WARN = 1, /* worth a look; the batch may still be idempotent */
    BF_IDEM_BLOCK = 2 /* a rerun would change the table: do not run as is */
} bf_idem_severity;

/*
 * Analyse `spec` (its table, key, strategy and select) for `plan`, reading
 * the target through `driver` (its columns and primary key, and duplicates
 * of the merge key). The findings, blocking ones first, are listed in
 * docs/idempotency.md with their codes. A spec with nothing to report gives
 * an empty list. Fails with BF_E_INVALID for missing arguments, BF_E_ABI for
 * a spec version this library does not know, and with the driver's code when
 * it cannot read the target (BF_E_NOT_FOUND for a missing table). The caller
 * frees *out with bf_idem_findings_free().
 */
BF_API int bf_idempotency_check(bf_idem_findings **out, bf_driver *driver,
                                const bf_write_spec *spec, const bf_plan *plan);

/* Release a findings list. Accepts NULL. */
BF_API void bf_idem_findings_free(bf_idem_findings *findings);

/* The number of findings, and the number of them that block. */
BF_API size_t bf_idem_findings_count(const bf_idem_findings *findings);
BF_API size_t bf_idem_findings_blocking(const bf_idem_findings *findings);

/*
 * Finding `index`'s code ("merge-key-not-unique"), JSON path in the brief
 * ("$.target.key"), sentence, and severity; NULL (0) past the end. Owned by
 * the list.
 */
BF_API const char *bf_idem_findings_code(const bf_idem_findings *findings, size_t index);
BF_API const char *bf_idem_findings_path(const bf_idem_findings *findings, size_t index);
BF_API const char *bf_idem_findings_message(const bf_idem_findings *findings, size_t index);
BF_API bf_idem_severity bf_idem_findings_severity(const bf_idem_findings *findings,
                                                  size_t index);

/*
 * The list as a JSON array of {"code", "severity" ("warn" or "block"),
 * "path", "message"}. The caller frees *out with bf_free().
 */
BF_API int bf_idem_findings_to_json(char **out, const bf_idem_findings *findings);

/* ---- The rerun probe --------------------------------------------------- */

/*
 * Run `batch` of `plan` twice against a scratch copy of its scope and report
 * whether the second run changed anything.
 *
 * The scratch table "<table>__bf_idem" (a reserved name: one left by an
 * interrupted probe is dropped first) gets the target's non-generated
 * columns, their declared types and its primary key, and the target's rows
 * within the batch's bounds (copied by the driver with bound parameters).
 * The job is then staged and published twice into it with spec's strategy
 * (staging_swap and parallel_version write a batch as partition_overwrite
 * does, and are probed as such), without snapshots, as run `run` (bound to
 * the job's :run). After each publish the scratch table's fingerprint is
 * taken; after the second, the key's duplicates are counted (when spec has
 * a key). The scratch table and its staging table are dropped afterwards,
 * on failure too. The target is only read.
 *
 * A publish that the driver refuses (BF_E_VALIDATION: repeated or NULL merge
 * keys, rows outside the bounds, or a constraint of the scratch table) is a
 * result, not a failure: the probe reports the batch as not idempotent with
 * the driver's message. Other failures (the job does not prepare, the
 * target is missing) are returned. The caller frees *out with
 * bf_idem_probe_free().
 */
BF_API int bf_idempotency_probe(bf_idem_probe **out, bf_driver *driver,
                                const bf_write_spec *spec, const bf_plan *plan,
                                const bf_batch *batch, int64_t run);

/* Release a probe's result. Accepts NULL. */
BF_API void bf_idem_probe_free(bf_idem_probe *probe);

/* 1 when both publishes succeeded, left equal fingerprints and no duplicated key; else 0. */
BF_API int bf_idem_probe_idempotent(const bf_idem_probe *probe);

/*
 * The scratch table's fingerprint before the job, after publish 1 and after
 * publish 2 (`which` 0, 1, 2). BF_E_NOT_FOUND when that step was not reached
 * (a publish was refused) or `which` is out of range.
 */
BF_API int bf_idem_probe_fingerprint(bf_fingerprint *out, const bf_idem_probe *probe,
                                     int which);

/* Rows the rerun added: rows after publish 2 minus rows after publish 1 (0 when not reached). */
BF_API int64_t bf_idem_probe_rows_added(const bf_idem_probe *probe);

/*
 * Rows breaking the key's uniqueness after publish 2 (as bf_driver_duplicates
 * counts them), and up to 5 samples of the duplicated keys (rows of the key
 * columns and "rows"), or NULL when there are none or no key. Owned by the
 * probe.
 */
BF_API int64_t bf_idem_probe_duplicates(const bf_idem_probe *probe);
BF_API const bf_rows *bf_idem_probe_duplicate_samples(const bf_idem_probe *probe);

/*
 * One sentence: "idempotent" or the exact difference ("the rerun added 3
 * rows (4 -> 7); 3 keys are duplicated, e.g. (id=1) x2"), or the driver's
 * message for a refused publish. Owned by the probe.
 */
BF_API const char *bf_idem_probe_message(const bf_idem_probe *probe);

/*
 * The result as JSON: {"idempotent", "message", "fingerprint_before",
 * "fingerprint_first", "fingerprint_second" (text or null), "rows_added",
 * "duplicates"}. The caller frees *out with bf_free().
 */
BF_API int bf_idem_probe_to_json(char **out, const bf_idem_probe *probe);

#ifdef __cplusplus
}
#endif

#endif
