/*
 * The ledger: durable records of runs and their batches, with leases,
 * fencing tokens, retries, pause/resume/cancel and an audit log.
 *
 * A ledger is a file (a SQLite database in WAL mode by default) that any
 * number of threads and processes may share, each through its own
 * bf_ledger handle. Every change is one write transaction that also appends
 * an audit event, so after a crash the ledger says exactly which batches are
 * done. A handle, and the runs and leases made from it, is used by one
 * thread at a time; a bf_run borrows its ledger, which must outlive it.
 *
 * Times are UTC microseconds since the epoch, read from the clock given in
 * the options (the system clock by default).
 */
#ifndef BACKFILL_LEDGER_H
#define BACKFILL_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/plan.h"
#include "backfill/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* bf_ledger, bf_run and bf_lease are declared in <backfill/types.h>. */
struct bf_store_vtable;

/* Run states. Legal transitions are listed in docs/ledger.md. */
typedef enum bf_run_state {
    BF_RUN_PLANNED = 0,
    BF_RUN_RUNNING = 1,
    BF_RUN_PAUSED = 2,
    BF_RUN_CANCELLED = 3,
    BF_RUN_FAILED = 4,
    BF_RUN_VALIDATING = 5,
    BF_RUN_AWAITING_APPROVAL = 6,
    BF_RUN_APPROVED = 7,
    BF_RUN_COMPLETED = 8,
    BF_RUN_ROLLED_BACK = 9
} bf_run_state;

/* Batch states. BF_BATCH_SPLIT: replaced by two halves, or re-cut by a resize. */
typedef enum bf_batch_state {
    BF_BATCH_PENDING = 0,
    BF_BATCH_RUNNING = 1,
    BF_BATCH_COMPLETED = 2,
    BF_BATCH_VALIDATED = 3,
    BF_BATCH_FAILED = 4,
    BF_BATCH_CANCELLED = 5,
    BF_BATCH_ROLLED_BACK = 6,
    BF_BATCH_SPLIT = 7
} bf_batch_state;

/* "planned", "awaiting_approval", ...; NULL for a value that is no state. Static. */
BF_API const char *bf_run_state_name(bf_run_state state);
/* "pending", "rolled_back", ...; NULL for a value that is no state. Static. */
BF_API const char *bf_batch_state_name(bf_batch_state state);

/* ---- Ledger ---- */

typedef enum bf_durability {
    BF_DURABILITY_FULL = 0,  /* every commit is synced to disk before it returns */
    BF_DURABILITY_NORMAL = 1 /* WAL default: survives process crashes; a power loss may lose the last commits */
} bf_durability;

/* Returns the current time in UTC microseconds since the epoch. */
typedef int64_t (*bf_clock_fn)(void *userdata);

/* bf_ledger_options.flags */
#define BF_LEDGER_MUST_EXIST 1u /* open an existing ledger only: BF_E_NOT_FOUND instead of creating one */

/* Options the host fills for bf_ledger_open(). */
typedef struct bf_ledger_options {
    unsigned version;
    /* since version 1 */
    bf_durability durability;
    int busy_timeout_ms;  /* wait for other writers this long before BF_E_BUSY; 0: 10000 */
    bf_clock_fn clock;    /* NULL: the system's real-time clock */
    void *clock_userdata;
    const char *actor;    /* who acts, recorded in every event; NULL: "$USER pid N" */
    const struct bf_store_vtable *store; /* NULL: bf_store_sqlite(); copied */
    unsigned flags;       /* BF_LEDGER_* */
    /* since version 2 */
    void *store_userdata; /* passed to the store's open() */
    /*
     * Called with store_userdata when the ledger is closed; may be NULL. As
     * with bf_driver_new(), a failed bf_ledger_open() does not call it.
     */
    void (*free_store_userdata)(void *userdata);
} bf_ledger_options;

#define BF_LEDGER_OPTIONS_VERSION 2u
#define BF_LEDGER_OPTIONS_INIT {BF_LEDGER_OPTIONS_VERSION, BF_DURABILITY_FULL, 0, NULL, NULL, NULL, \
                                NULL, 0u, NULL, NULL}

/* Fill *opts with defaults for `version`; BF_E_ABI for a version this library does not know. */
BF_API int bf_ledger_options_init(bf_ledger_options *opts, unsigned version);

/*
 * Open the ledger at `path`, creating it when no file exists there (unless
 * BF_LEDGER_MUST_EXIST), and bring its schema up to date. Anything already
 * at the path must be a ledger: it is identified by reading only, and
 * refused before anything is written to it. `opts` may be NULL for
 * defaults; it is copied, and so are the actor and the store vtable
 * (a store's userdata belongs to the ledger from then on, see
 * bf_ledger_options.free_store_userdata). `path` is handed to the store's
 * open(): a file for the SQLite store, whatever another store takes. Fails with BF_E_IO (missing or unwritable
 * directory), BF_E_INVALID (a directory), BF_E_PARSE (not a database, an
 * empty file or database, a database that is not a ledger),
 * BF_E_UNSUPPORTED (a ledger written by a newer libbackfill), BF_E_NOT_FOUND
 * (BF_LEDGER_MUST_EXIST and no file), each naming the file. The caller
 * closes *out with bf_ledger_close().
 */
BF_API int bf_ledger_open(bf_ledger **out, const char *path, const bf_ledger_options *opts);

/* Close the ledger. Accepts NULL. Runs made from it must be freed first. */
BF_API void bf_ledger_close(bf_ledger *ledger);

/* The path the ledger was opened with. Owned by the ledger. */
BF_API const char *bf_ledger_path(const bf_ledger *ledger);

/* The message of the ledger handle's last failure, or "". Owned by the ledger. */
BF_API const char *bf_ledger_last_error(const bf_ledger *ledger);

/*
 * Resolve a run reference: a run id ("12") or a brief name (its latest run).
 * BF_E_NOT_FOUND when nothing matches.
 */
BF_API int bf_ledger_find_run(int64_t *out, bf_ledger *ledger, const char *ref);

/*
 * Every run in the ledger as a JSON array, oldest first (fields in
 * docs/ledger.md). The caller frees *out with bf_free().
 */
BF_API int bf_ledger_runs_json(char **out, bf_ledger *ledger);

/* ---- Runs ---- */

/* bf_run_spec.flags */
#define BF_RUN_NEW 1u /* start a new run even if the brief has an unfinished one (which is cancelled) */

/* What a run is started from; the host fills it. */
typedef struct bf_run_spec {
    unsigned version;
    const char *brief_name;    /* required */
    const char *brief_json;    /* the brief as JSON text; NULL: "{}" */
    const char *code_version;  /* NULL: "" */
    const char *operator_name; /* who started the run; NULL: the ledger's actor */
    const char *params_json;   /* run parameters as a JSON object; NULL: "{}" */
    unsigned max_concurrency;  /* running batches at once across all processes; 0: 1 */
    unsigned max_attempts;     /* claims per batch before it fails for good; 0: 3 */
    double retry_backoff_s;    /* wait before the first retry, doubled per attempt; < 0: 5 */
    double lease_s;            /* lease length of a claim; <= 0: 300 */
    unsigned flags;            /* BF_RUN_* */
} bf_run_spec;

#define BF_RUN_SPEC_VERSION 1u
#define BF_RUN_SPEC_INIT {BF_RUN_SPEC_VERSION, NULL, NULL, NULL, NULL, NULL, 0u, 0u, -1.0, 0.0, 0u}

/* Fill *spec with defaults for `version`; BF_E_ABI for a version this library does not know. */
BF_API int bf_run_spec_init(bf_run_spec *spec, unsigned version);

/*
 * Start the run of a brief from a sealed plan, or resume it. When the brief
 * has an unfinished run (not cancelled, completed or rolled back) with the
 * same plan fingerprint, *out is that run and nothing is registered. With a
 * different fingerprint the call fails with BF_E_CONFLICT, unless
 * spec->flags has BF_RUN_NEW: then the unfinished run is cancelled and a new
 * one is created. A new run records the spec and every batch of the plan
 * (state planned, batches pending), in one transaction. The plan is only
 * read. The caller frees *out with bf_run_free().
 */
BF_API int bf_run_start(bf_run **out, bf_ledger *ledger, const bf_run_spec *spec,
                        const bf_plan *plan);

/* Open an existing run by id (BF_E_NOT_FOUND). The caller frees *out with bf_run_free(). */
BF_API int bf_run_open(bf_run **out, bf_ledger *ledger, int64_t run_id);

/* Release the handle (the run stays in the ledger). Accepts NULL. */
BF_API void bf_run_free(bf_run *run);

/*
 * Accessors read the handle's copy of the run, brought up to date by every
 * call on this handle and by bf_run_refresh(). Strings are owned by the
 * handle and valid until its next call.
 */
BF_API int64_t bf_run_id(const bf_run *run);
BF_API int64_t bf_run_seq(const bf_run *run); /* the run's number under its brief */
BF_API const char *bf_run_brief_name(const bf_run *run);
BF_API const char *bf_run_plan_fingerprint(const bf_run *run);
BF_API bf_run_state bf_run_current_state(const bf_run *run);
BF_API const char *bf_run_last_error(const bf_run *run);

/* Reread the run from the ledger (other processes may have changed it). */
BF_API int bf_run_refresh(bf_run *run);

/*
 * Move the run to `to` if the transition is legal (BF_E_STATE otherwise,
 * naming the run and both states), appending an event with `detail` (may
 * be NULL). Pause, resume and cancel have their own calls because they do
 * more; this one refuses BF_RUN_CANCELLED and leaves batches alone.
 */
BF_API int bf_run_set_state(bf_run *run, bf_run_state to, const char *detail);

/* Stop new claims (planned or running -> paused). Running batches go on. */
BF_API int bf_run_pause(bf_run *run, const char *detail);

/* Allow claims again (paused -> running). */
BF_API int bf_run_resume(bf_run *run, const char *detail);

/*
 * Cancel the run: no new claims, pending batches become cancelled; running
 * batches may still complete, or become cancelled when their lease expires.
 */
BF_API int bf_run_cancel(bf_run *run, const char *detail);

/*
 * Finish the run: move it to completed once every batch is completed,
 * validated or cancelled (split parents aside). For a host that tracks
 * batches through the ledger; completing the last batch does not finish a
 * run by itself. Allowed from planned or running (a run that goes through
 * no approval) and from approved; refused with BF_E_STATE for a run in
 * validating or awaiting_approval (it finishes once approved), in any other
 * state, or with batches left, the message counting them by state.
 * `detail` (may be NULL) goes into the event.
 */
BF_API int bf_run_finish(bf_run *run, const char *detail);

/* bf_run_retry() flags */
#define BF_RETRY_SPLIT 1u /* split failed key-range batches into two halves instead */

/*
 * Put every failed batch back to pending with fresh attempts (with
 * BF_RETRY_SPLIT, key-range batches of two or more keys are split into two
 * pending halves instead), and a failed run back to running. *out is the
 * number of failed batches handled.
 */
BF_API int bf_run_retry(size_t *out, bf_run *run, unsigned flags);

/* Append an operator note to the run's audit log. */
BF_API int bf_run_note(bf_run *run, const char *text);

/*
 * Append a record to the run's audit log: an event with `subject` (a name of
 * lowercase letters, digits and '_', at most 32, other than "run", "batch",
 * "note" and "resize", which the ledger's own moves, notes and re-cuts use) and `detail`
 * (text, usually JSON; NULL: ""), about batch `batch_id` (0: the run;
 * BF_E_NOT_FOUND for a batch not in the run). Hosts and the runner keep
 * their facts here: the target's schema when the run started, approvals,
 * cutovers, refresh steps. bf_run_events() lists them in order with
 * the rest, actor and time included.
 */
BF_API int bf_run_record(bf_run *run, int64_t batch_id, const char *subject, const char *detail);

/* ---- Batches ---- */

/*
 * Claim the next pending batch in plan order: it becomes running with a
 * lease of the run's lease_s and a new fencing token. Expired leases are
 * returned to pending first (or failed, when they used the last attempt).
 * The claim honours max_concurrency across every process sharing the
 * ledger. A planned run becomes running. *out is NULL (and BF_OK returned)
 * when no batch can be claimed now: all are taken or finished, the
 * concurrency limit is reached, or retries wait for their backoff. Fails
 * with BF_E_STATE when the run is paused, cancelled or past running. The
 * caller frees *out with bf_lease_free().
 */
BF_API int bf_run_claim(bf_lease **out, bf_run *run);

/* Release a lease handle (the lease itself stays until completed, failed or expired). Accepts NULL. */
BF_API void bf_lease_free(bf_lease *lease);

/* The claimed batch's ledger id. */
BF_API int64_t bf_lease_batch_id(const bf_lease *lease);
/* The batch's position in plan order (a split half keeps its parent's). */
BF_API int64_t bf_lease_ordinal(const bf_lease *lease);
/* The batch label. Owned by the lease. */
BF_API const char *bf_lease_label(const bf_lease *lease);
BF_API bf_dimension bf_lease_dimension(const bf_lease *lease);
/* The native bounds, as bf_batch_lo() and bf_batch_hi(). */
BF_API int64_t bf_lease_lo(const bf_lease *lease);
BF_API int64_t bf_lease_hi(const bf_lease *lease);
/* The bound parameters as a JSON object, e.g. {"lo":10,"hi":20}. Owned by the lease. */
BF_API const char *bf_lease_params_json(const bf_lease *lease);
/* The fencing token: pass it to heartbeat, complete and fail. */
BF_API int64_t bf_lease_token(const bf_lease *lease);
/* 1 for the first claim of the batch, 2 for the first retry, ... */
BF_API int64_t bf_lease_attempt(const bf_lease *lease);
/* When the lease expires unless extended. */
BF_API int64_t bf_lease_expires_at(const bf_lease *lease);

/*
 * Extend the lease of a running batch to lease_s from now. BF_E_LEASE_LOST
 * when `token` is not the batch's current fencing token or the batch is no
 * longer running.
 */
BF_API int bf_run_heartbeat(bf_run *run, int64_t batch_id, int64_t token);

/*
 * Give a claimed batch back: running under `token` -> pending, claimable at
 * once, without the claim counting as an attempt (the batch did not fail;
 * its worker stopped cleanly, or its process is gone and another process
 * releases the lease for it). On a cancelled run the batch becomes
 * cancelled. `detail` (may be NULL) says why. BF_E_LEASE_LOST when `token`
 * is not the batch's current token or the batch is not running.
 */
BF_API int bf_run_release(bf_run *run, int64_t batch_id, int64_t token, const char *detail);

/* What a worker reports when a batch is done; the host fills it. */
typedef struct bf_batch_result {
    unsigned version;
    int64_t rows_written;
    int64_t rows_deleted;
    const char *fingerprint_before; /* "rows:hex32" text, or NULL */
    const char *fingerprint_after;
    double duration_s;              /* <= 0: measured from the claim */
    const char *idempotency_key;    /* or NULL */
    /* since version 2 */
    /*
     * The batch's validation results, recorded and settled in the same
     * transaction as the completion (as bf_run_record_validation() with
     * BF_VALIDATION_SETTLE would right after it): NULL records none.
     * validation_tally (may be NULL) and validation_failure (NULL when the
     * results passed) as in that call.
     */
    const char *validation_json;
    const int64_t *validation_tally;
    const char *validation_failure;
} bf_batch_result;

#define BF_BATCH_RESULT_VERSION 2u
#define BF_BATCH_RESULT_INIT {BF_BATCH_RESULT_VERSION, 0, 0, NULL, NULL, 0.0, NULL, NULL, NULL, NULL}

/* Fill *result with zeros for `version`; BF_E_ABI for a version this library does not know. */
BF_API int bf_batch_result_init(bf_batch_result *result, unsigned version);

/*
 * Record a running batch as completed (result may be NULL). BF_E_LEASE_LOST
 * when `token` is stale: another claim took the batch, or it left running.
 * A lease that expired but was not claimed again still completes. With
 * validation results in `result` (version 2), they are recorded and settled
 * in the same transaction: a pass makes the batch validated, a failure
 * pauses the run (BF_E_UNSUPPORTED, with nothing changed, for a store that
 * keeps no validation results).
 */
BF_API int bf_run_complete(bf_run *run, int64_t batch_id, int64_t token,
                           const bf_batch_result *result);

/*
 * Find a batch that already did the work of idempotency key `key` (see
 * bf_idempotency_key() in <backfill/idempotency.h>): a batch in state
 * completed or validated whose recorded idempotency_key is `key`, in any run
 * of the brief `brief_name` (NULL: of any brief), oldest run first. *out is
 * its id, or 0 when there is none (which is no failure). Failed, cancelled
 * and rolled-back batches do not count: their work is not in the table. The
 * search reads every batch of the brief's runs.
 */
BF_API int bf_ledger_find_completed_key(int64_t *out, bf_ledger *ledger, const char *brief_name,
                                        const char *key);

/*
 * Record a failed attempt with `message`. The batch goes back to pending,
 * claimable after the retry backoff (retry_backoff_s doubled for each
 * attempt after the first), or becomes failed for good on its last attempt
 * or when the run is no longer running. BF_E_LEASE_LOST on a stale token.
 */
BF_API int bf_run_fail(bf_run *run, int64_t batch_id, int64_t token, const char *message);

/*
 * Move a batch by hand: completed -> validated, completed -> failed
 * (validation refused it), completed or validated -> rolled_back, pending
 * or failed -> cancelled, rolled_back -> pending, and pending, running,
 * failed or cancelled -> rolled_back (the undo of a publish the ledger
 * never heard of; running only once its lease ran out). BF_E_STATE
 * otherwise, naming the batch and both states; BF_E_NOT_FOUND for a batch
 * not in the run.
 */
BF_API int bf_run_mark_batch(bf_run *run, int64_t batch_id, bf_batch_state to,
                             const char *detail);

/*
 * Split a failed key-range batch [lo, hi) of at least two keys into two
 * pending halves [lo, mid) and [mid, hi) that take its place in plan order;
 * the batch becomes split. out[0] and out[1] are the halves' ids (out may be
 * NULL). BF_E_INVALID for a batch that is not a key range or too narrow.
 */
BF_API int bf_run_split_batch(int64_t out[2], bf_run *run, int64_t batch_id);

/*
 * Adaptive sizing: re-cut the key range of the run's untouched tail (the
 * pending key-range batches at the end of plan order that no worker has
 * ever claimed) into batches of `width` keys (see bf_key_width_next()),
 * from the tail's first key in plan order. The replaced batches become
 * split; the new ones are pending, take their place in plan order (each
 * keeps the ordinal of the batch its first key was in, with parent_id 0),
 * and the whole change is one transaction recorded as a "resize" event
 * whose detail is JSON: width, lo, hi, replaced, replaced_first_id,
 * batches, first_id, last_id and `reason` (may be NULL). *out (may be NULL)
 * is the number of batches cut: 0, with nothing changed, when there is no
 * such tail, when it is already cut to `width`, or when a fresh batch of
 * the plan waits before it, cut off by a batch cancelled by hand.
 * BF_E_INVALID for a width below 1, or one that would make 10^9 batches.
 */
BF_API int bf_run_resize_keys(int64_t *out, bf_run *run, int64_t width, const char *reason);

/* ---- Validation results ---- */

/* bf_run_record_validation() flags */
#define BF_VALIDATION_SETTLE 1u /* apply the settle rule in the same transaction */

/*
 * Record the validation results of a batch (batch_id > 0) or of the run
 * (batch_id 0), replacing what was recorded for it before. The ledger does
 * not read the results: `results_json` is kept as given (NULL: "{}"),
 * `tally` (may be NULL: zeros) counts the checks by outcome in the order
 * pass, warn, fail, error, skipped, and `failure` is NULL when the results
 * pass, else the sentence of the check that stops the run. With
 * BF_VALIDATION_SETTLE the settle rule is applied in the same transaction:
 * a passing batch that is completed becomes validated (a validated one
 * stays); a failure leaves the batch as it is and pauses the run (from
 * planned, running or validating; a run already paused stays paused) with
 * "validation failed: <failure>" as the reason. Settling a batch that is
 * neither completed nor validated fails with BF_E_STATE naming it and
 * records nothing. BF_E_NOT_FOUND for a batch not in the run;
 * BF_E_UNSUPPORTED for a store that keeps no validation results (a store
 * vtable of version 1).
 */
BF_API int bf_run_record_validation(bf_run *run, int64_t batch_id, const char *results_json,
                                    const int64_t tally[5], const char *failure, unsigned flags);

/*
 * The run's recorded validation results, the run's own (batch id 0) first,
 * then by batch id; `batch_id` < 0 for all, else only that one (0: the
 * run's). A typed listing with the rules of the listings below. The caller
 * frees *out with bf_validation_list_free().
 */
typedef struct bf_validation_list bf_validation_list;
BF_API int bf_run_validations(bf_validation_list **out, bf_run *run, int64_t batch_id);
BF_API void bf_validation_list_free(bf_validation_list *list);
BF_API size_t bf_validation_list_count(const bf_validation_list *list);
/* The batch the results are for, or 0 for the run. */
BF_API int64_t bf_validation_list_batch_id(const bf_validation_list *list, size_t i);
/* 1 when the results passed, 0 when they failed, BF_E_INVALID (-1) out of range. */
BF_API int bf_validation_list_passed(const bf_validation_list *list, size_t i);
/* Checks with outcome `outcome` (0 pass, 1 warn, 2 fail, 3 error, 4 skipped); 0 out of range. */
BF_API int64_t bf_validation_list_tally(const bf_validation_list *list, size_t i, int outcome);
/* The results JSON as recorded. */
BF_API const char *bf_validation_list_results_json(const bf_validation_list *list, size_t i);
/* The first and the latest recording. */
BF_API int64_t bf_validation_list_created_at(const bf_validation_list *list, size_t i);
BF_API int64_t bf_validation_list_updated_at(const bf_validation_list *list, size_t i);

/*
 * Record the before-state captured for a batch of the run (the JSON of
 * bf_diff_before_to_json(), kept as given), replacing what was recorded
 * for it before; `backfill diff RUN` reads it back. BF_E_INVALID for a
 * NULL or empty json or a batch id <= 0; BF_E_NOT_FOUND for a batch not in
 * the run; BF_E_UNSUPPORTED for a store that keeps no before-states (a
 * store vtable of version 1 or 2).
 */
BF_API int bf_run_record_before_state(bf_run *run, int64_t batch_id, const char *json);

/*
 * The before-state recorded for a batch of the run, a copy the caller frees
 * with bf_free(). BF_E_NOT_FOUND naming the run and the batch when none is
 * recorded; BF_E_UNSUPPORTED as above.
 */
BF_API int bf_run_before_state(char **json_out, bf_run *run, int64_t batch_id);

/* ---- Progress and listings ---- */

/* A run's progress; a value the library fills for a caller-chosen version. */
typedef struct bf_progress {
    unsigned version;
    bf_run_state state;
    int64_t total; /* batches, not counting split parents */
    int64_t pending;
    int64_t running;
    int64_t completed;
    int64_t validated;
    int64_t failed;
    int64_t cancelled;
    int64_t rolled_back;
    int64_t split;
    int64_t rows_written;
    int64_t rows_deleted;
    double elapsed_s; /* since the first claim, or 0 */
    double eta_s;     /* remaining work from the mean completed duration and max_concurrency; < 0 unknown */
} bf_progress;

#define BF_PROGRESS_VERSION 1u
#define BF_PROGRESS_INIT {BF_PROGRESS_VERSION, BF_RUN_PLANNED, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0.0, -1.0}

/* Zero *progress for `version`; BF_E_ABI for a version this library does not know. */
BF_API int bf_progress_init(bf_progress *progress, unsigned version);

/* Fill *out (whose version the caller set) with the run's current progress. */
BF_API int bf_run_progress(bf_progress *out, bf_run *run);

/*
 * The run's batches in plan order as a JSON array (fields in
 * docs/ledger.md); `state` < 0 for all batches, else only that state
 * (BF_E_INVALID for a value that is no state). The caller frees *out with
 * bf_free().
 */
BF_API int bf_run_batches_json(char **out, bf_run *run, int state);

/* The run's audit events, oldest first, as a JSON array. The caller frees *out with bf_free(). */
BF_API int bf_run_events_json(char **out, bf_run *run);

/* ---- Typed listings ---- */

/*
 * Runs, batches and audit events as handles with typed accessors, for hosts
 * that would rather not parse the JSON listings above (which are made from
 * these). A listing is a copy read in one transaction: it does not change
 * with the ledger and outlives the run and ledger it came from. It is used
 * by one thread at a time.
 *
 * Accessors take an index from 0 to count - 1. For an index out of range
 * (or a NULL listing) a string accessor returns NULL, a state accessor
 * BF_E_INVALID (-1), a dimension 0 (no dimension), and every other integer
 * 0; count is 0 for NULL. Strings are
 * owned by the listing and valid until it is freed; NULL also stands for a
 * value the ledger did not record (a code version, a worker, an error).
 * Times are UTC microseconds, 0 when not set. States are returned as int
 * so that -1 can be tested: in range they are bf_run_state or
 * bf_batch_state values.
 */
typedef struct bf_run_list bf_run_list;
typedef struct bf_batch_list bf_batch_list;
typedef struct bf_event_list bf_event_list;

/*
 * Every run of the ledger, oldest first; with `brief_name` (may be NULL for
 * all), only that brief's runs. The caller frees *out with
 * bf_run_list_free().
 */
BF_API int bf_ledger_runs(bf_run_list **out, bf_ledger *ledger, const char *brief_name);

/* Release the listing. Accepts NULL. */
BF_API void bf_run_list_free(bf_run_list *list);

BF_API size_t bf_run_list_count(const bf_run_list *list);
BF_API int64_t bf_run_list_id(const bf_run_list *list, size_t i);
/* The run's number under its brief: 1, 2, ... */
BF_API int64_t bf_run_list_seq(const bf_run_list *list, size_t i);
BF_API const char *bf_run_list_brief_name(const bf_run_list *list, size_t i);
/* A bf_run_state, or BF_E_INVALID (-1) for an index out of range. */
BF_API int bf_run_list_state(const bf_run_list *list, size_t i);
BF_API const char *bf_run_list_plan_fingerprint(const bf_run_list *list, size_t i);
BF_API bf_dimension bf_run_list_dimension(const bf_run_list *list, size_t i);
/* The plan's batching column. */
BF_API const char *bf_run_list_column(const bf_run_list *list, size_t i);
BF_API const char *bf_run_list_code_version(const bf_run_list *list, size_t i);
/* Who started the run. */
BF_API const char *bf_run_list_operator(const bf_run_list *list, size_t i);
/* The run parameters and the brief as the JSON text recorded at the start. */
BF_API const char *bf_run_list_params_json(const bf_run_list *list, size_t i);
BF_API const char *bf_run_list_brief_json(const bf_run_list *list, size_t i);
BF_API int64_t bf_run_list_max_concurrency(const bf_run_list *list, size_t i);
BF_API int64_t bf_run_list_max_attempts(const bf_run_list *list, size_t i);
/* The spec's retry_backoff_s and lease_s, in microseconds. */
BF_API int64_t bf_run_list_retry_backoff_us(const bf_run_list *list, size_t i);
BF_API int64_t bf_run_list_lease_us(const bf_run_list *list, size_t i);
/* Batches registered from the plan (split halves not counted). */
BF_API int64_t bf_run_list_batch_count(const bf_run_list *list, size_t i);
BF_API int64_t bf_run_list_created_at(const bf_run_list *list, size_t i);
/* The first claim. */
BF_API int64_t bf_run_list_started_at(const bf_run_list *list, size_t i);
BF_API int64_t bf_run_list_updated_at(const bf_run_list *list, size_t i);
/* The move to cancelled, completed or rolled_back. */
BF_API int64_t bf_run_list_finished_at(const bf_run_list *list, size_t i);

/*
 * The run's batches in plan order (ordinal, then id); `state` < 0 for all
 * batches, else only those in that bf_batch_state (BF_E_INVALID for a
 * value that is no state). The caller frees *out with bf_batch_list_free().
 */
BF_API int bf_run_batches(bf_batch_list **out, bf_run *run, int state);

/* Release the listing. Accepts NULL. */
BF_API void bf_batch_list_free(bf_batch_list *list);

BF_API size_t bf_batch_list_count(const bf_batch_list *list);
BF_API int64_t bf_batch_list_id(const bf_batch_list *list, size_t i);
/* The position in plan order; the halves of a split keep their parent's. */
BF_API int64_t bf_batch_list_ordinal(const bf_batch_list *list, size_t i);
/* The batch this one was split from, or 0. */
BF_API int64_t bf_batch_list_parent_id(const bf_batch_list *list, size_t i);
/* A bf_batch_state, or BF_E_INVALID (-1) for an index out of range. */
BF_API int bf_batch_list_state(const bf_batch_list *list, size_t i);
BF_API bf_dimension bf_batch_list_dimension(const bf_batch_list *list, size_t i);
/* The label ("" when none was recorded). */
BF_API const char *bf_batch_list_label(const bf_batch_list *list, size_t i);
/* The native bounds, as bf_lease_lo() and bf_lease_hi(). */
BF_API int64_t bf_batch_list_lo(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_hi(const bf_batch_list *list, size_t i);
/* The bound parameters as a JSON object, as bf_lease_params_json(). */
BF_API const char *bf_batch_list_params_json(const bf_batch_list *list, size_t i);
/* The fencing token of the latest claim (0 before any claim). */
BF_API int64_t bf_batch_list_token(const bf_batch_list *list, size_t i);
/* Claims since the batch was last reset. */
BF_API int64_t bf_batch_list_attempt(const bf_batch_list *list, size_t i);
/* When the latest claim's lease expires, unless extended. */
BF_API int64_t bf_batch_list_lease_until(const bf_batch_list *list, size_t i);
/* Retry backoff: not claimable before this instant. */
BF_API int64_t bf_batch_list_not_before(const bf_batch_list *list, size_t i);
/* Who holds or last held the lease, when the ledger recorded it. */
BF_API const char *bf_batch_list_worker(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_started_at(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_finished_at(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_duration_us(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_rows_written(const bf_batch_list *list, size_t i);
BF_API int64_t bf_batch_list_rows_deleted(const bf_batch_list *list, size_t i);
/* The fingerprints the completion reported ("rows:hex32"). */
BF_API const char *bf_batch_list_fingerprint_before(const bf_batch_list *list, size_t i);
BF_API const char *bf_batch_list_fingerprint_after(const bf_batch_list *list, size_t i);
BF_API const char *bf_batch_list_idempotency_key(const bf_batch_list *list, size_t i);
/* The message of the latest failure. */
BF_API const char *bf_batch_list_error(const bf_batch_list *list, size_t i);

/* The run's audit events, oldest first. The caller frees *out with bf_event_list_free(). */
BF_API int bf_run_events(bf_event_list **out, bf_run *run);

/* Release the listing. Accepts NULL. */
BF_API void bf_event_list_free(bf_event_list *list);

BF_API size_t bf_event_list_count(const bf_event_list *list);
/* The event's position in its run's log: 1, 2, ... */
BF_API int64_t bf_event_list_seq(const bf_event_list *list, size_t i);
/* The batch the event is about, or 0 for the run and notes. */
BF_API int64_t bf_event_list_batch_id(const bf_event_list *list, size_t i);
/* "run", "batch" or "note" ("" when none was recorded). */
BF_API const char *bf_event_list_subject(const bf_event_list *list, size_t i);
/* The state names moved from and to ("planned", "pending", ...); NULL when none (notes, a new run). */
BF_API const char *bf_event_list_from(const bf_event_list *list, size_t i);
BF_API const char *bf_event_list_to(const bf_event_list *list, size_t i);
/*
 * The same states as numbers: a bf_run_state for a "run" event, a
 * bf_batch_state for a "batch" event; BF_E_INVALID (-1) when there is none
 * (notes, a new run, a name this library does not know) or the index is
 * out of range.
 */
BF_API int bf_event_list_from_state(const bf_event_list *list, size_t i);
BF_API int bf_event_list_to_state(const bf_event_list *list, size_t i);
BF_API const char *bf_event_list_actor(const bf_event_list *list, size_t i);
BF_API int64_t bf_event_list_at(const bf_event_list *list, size_t i);
BF_API const char *bf_event_list_detail(const bf_event_list *list, size_t i);

#ifdef __cplusplus
}
#endif

#endif
