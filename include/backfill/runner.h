/*
 * The runner: the whole runbook of a backfill through a driver and a ledger.
 *
 * A bf_runner is made from options (where the ledger lives, how a worker
 * opens the warehouse, how many workers, the scheduler, callbacks), then
 * given what to run: a brief (bf_runner_set_brief) or, for hosts without
 * one, a plan, a write spec and a validator (bf_runner_set_job). Then:
 *
 *   bf_runner_test_slice   a few representative batches into a scratch copy
 *   bf_runner_run          every batch: claim, stage, publish, validate
 *   bf_runner_approve      the reviewer's approval, cutover, downstream refresh
 *   bf_runner_rollback     one batch or the whole run back from its pre-images
 *   bf_runner_cleanup      snapshots, staging and version tables past retention
 *
 * Approve, rollback and cleanup need no brief: they read the brief the run
 * was started with from the ledger. A runner handle is used by one thread at
 * a time, except bf_runner_stop(), which any thread or a signal handler may
 * call. Each worker has its own ledger and driver handles.
 */
#ifndef BACKFILL_RUNNER_H
#define BACKFILL_RUNNER_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/types.h"
#include "backfill/ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

struct bf_scheduler_vtable;
struct bf_write_spec;

/* ---- Events ---------------------------------------------------------- */

/* What happened; bf_run_event_name() gives the names used in JSON ("batch_done"). */
typedef enum bf_run_event_kind {
    BF_RUN_EVENT_STARTED = 0,           /* the run was created, or resumed by this runner */
    BF_RUN_EVENT_BATCH_STARTED = 1,     /* a worker claimed a batch */
    BF_RUN_EVENT_BATCH_DONE = 2,        /* a batch published and passed validation */
    BF_RUN_EVENT_BATCH_FAILED = 3,      /* an attempt failed (retried later, or failed for good) */
    BF_RUN_EVENT_LEASE_LOST = 4,        /* a batch lost its lease and did not publish */
    BF_RUN_EVENT_THROTTLED = 5,         /* claims held by the throttle or the run window */
    BF_RUN_EVENT_WAITING = 6,           /* waiting for batches leased by workers elsewhere */
    BF_RUN_EVENT_PAUSED = 7,            /* the run paused (by a person, or a failed validation) */
    BF_RUN_EVENT_CANCELLED = 8,
    BF_RUN_EVENT_FAILED = 9,            /* batches failed for good */
    BF_RUN_EVENT_AWAITING_APPROVAL = 10,/* every batch validated, the run-level checks passed */
    BF_RUN_EVENT_APPROVED = 11,
    BF_RUN_EVENT_REFRESHED = 12,        /* one downstream asset refreshed (or failed to) */
    BF_RUN_EVENT_ROLLED_BACK = 13,      /* a batch or the whole run rolled back */
    BF_RUN_EVENT_DONE = 14,             /* the run completed: approved, cut over, refreshed */
    BF_RUN_EVENT_RESIZED = 15,          /* the batches not yet claimed were re-cut to a new width */
    BF_RUN_EVENT_PROGRESS = 16,         /* progress, at most about once a second */
    BF_RUN_EVENT_STOPPED = 17           /* this runner stopped (bf_runner_stop); the run goes on */
} bf_run_event_kind;

/* The event's name ("started", "batch_done", ...), or NULL out of range. Static. */
BF_API const char *bf_run_event_name(bf_run_event_kind kind);

/*
 * An event, filled by the library and valid during the callback only. The
 * callback runs on the thread that called the runner (never on a worker),
 * one event at a time.
 */
typedef struct bf_run_event {
    unsigned version;
    /* since version 1 */
    bf_run_event_kind kind;
    int64_t run_id;
    int64_t batch_id;            /* 0 when the event is not about one batch */
    const char *batch_label;     /* NULL when not about a batch */
    int64_t rows_written;        /* batch_done: rows written and deleted by the publish */
    int64_t rows_deleted;
    double duration_s;           /* batch_done, batch_failed: the attempt's duration */
    const bf_progress *progress; /* the run's progress when the event happened */
    const char *message;         /* a sentence: the failure, why claims are held, until when */
    const char *json;            /* the whole event as one JSON object (what --on-event passes) */
} bf_run_event;

#define BF_RUN_EVENT_VERSION 1u

typedef void (*bf_run_event_fn)(void *userdata, const bf_run_event *event);

/*
 * A host's throttle, asked before each claim: return 1 to hold new claims
 * (writing why into reason, a NUL-terminated sentence of at most
 * reason_size bytes), 0 to go on, or a negative BF_E_* code to stop the
 * runner with that error (BF_E_USER is passed back untouched).
 */
typedef int (*bf_throttle_fn)(void *userdata, char *reason, size_t reason_size);

/* Opens a worker's own warehouse connection. */
typedef int (*bf_driver_open_fn)(void *userdata, bf_driver **out);

/* ---- The runner -------------------------------------------------------- */

/*
 * bf_runner_options.flags. BF_RUNNER_NEW applies once: the first run the
 * runner starts is a new one even if the brief has an unfinished run
 * (BF_RUN_NEW), and a later bf_runner_run() (after a stop, say) resumes it.
 */
#define BF_RUNNER_NEW 1u     /* start a new run even if the brief has an unfinished one, once */
#define BF_RUNNER_FORCE 2u   /* publish batches whose idempotency key an earlier run already did */
#define BF_RUNNER_NO_WAIT 4u /* return instead of waiting for batches leased by live workers elsewhere */

/* How the runner works; the host fills it. Strings are copied. */
typedef struct bf_runner_options {
    unsigned version;
    /* since version 1 */
    const char *ledger_path;                  /* required */
    const bf_ledger_options *ledger_options;  /* NULL: defaults (the actor is "user@host pid N") */
    const char *warehouse_path;               /* the SQLite warehouse, when open_driver is NULL */
    bf_driver_open_fn open_driver;            /* or: how each worker opens its driver */
    void *driver_userdata;
    unsigned workers;                         /* worker threads; 0: the run's max_concurrency */
    const struct bf_scheduler_vtable *scheduler; /* NULL: the built-in pool of threads; copied */
    void *scheduler_userdata;
    bf_run_event_fn on_event;                 /* may be NULL */
    void *event_userdata;
    bf_throttle_fn throttle;                  /* may be NULL */
    void *throttle_userdata;
    double poll_s;                            /* how often a waiting runner looks again; <= 0: 0.25 */
    const char *operator_name;                /* who runs it; NULL: the ledger's actor */
    unsigned flags;                           /* BF_RUNNER_* */
    /*
     * Adaptive sizing of key-range plans: the seconds a batch should take.
     * <= 0: the brief's batching.target_batch_s (none for set_job: no
     * resizing). See bf_runner_run().
     */
    double target_batch_s;
} bf_runner_options;

#define BF_RUNNER_OPTIONS_VERSION 1u
#define BF_RUNNER_OPTIONS_INIT {BF_RUNNER_OPTIONS_VERSION, NULL, NULL, NULL, NULL, NULL, 0u, NULL, \
                                NULL, NULL, NULL, NULL, NULL, 0.0, NULL, 0u, 0.0}

/* Fill *opts with defaults for `version`; BF_E_ABI for a version this library does not know. */
BF_API int bf_runner_options_init(bf_runner_options *opts, unsigned version);

/*
 * A runner. Opens one driver, and the ledger when its file exists (or
 * ledger_options names a host's store), to check them; nothing is written.
 * A ledger file that does not exist yet is created by the first call that
 * needs it (bf_runner_run, bf_runner_test_slice, bf_runner_approve,
 * bf_runner_rollback, bf_runner_cleanup), so a brief bf_runner_set_brief
 * refuses leaves no file behind. The caller frees it with bf_runner_free().
 */
BF_API int bf_runner_new(bf_runner **out, const bf_runner_options *opts);

/* Release a runner. Accepts NULL. Must not be called while bf_runner_run() runs. */
BF_API void bf_runner_free(bf_runner *runner);

/* The message of the runner's last failure ("" when none). Owned by the runner. */
BF_API const char *bf_runner_last_error(const bf_runner *runner);

/*
 * Run this brief (copied): its plan is made against the warehouse, its
 * write spec, validator and run spec are taken from it. Refused with
 * BF_E_BLOCKED, naming the first, when the preflight has blocking findings.
 */
BF_API int bf_runner_set_brief(bf_runner *runner, const bf_brief *brief);

/*
 * For hosts without a brief: run this plan with this write spec (both
 * copied) and run spec (copied; brief_name required). `validator` (may be
 * NULL: no checks) is borrowed until the runner is freed and used by one
 * worker at a time. Such a run records no brief: approving, rolling back or
 * cleaning it up takes a runner given the same job (the run's plan).
 */
BF_API int bf_runner_set_job(bf_runner *runner, const bf_plan *plan,
                             const struct bf_write_spec *spec, const bf_run_spec *run_spec,
                             bf_validator *validator);

/*
 * Run the runbook until the run is finished here: start the run or resume
 * the unfinished one, and publish and validate every batch, at most
 * max_concurrency at once across every process sharing the ledger; then the
 * run-level checks, and the run awaits approval. Returns:
 *   BF_OK            the run awaits approval (or is already approved or completed);
 *   BF_E_VALIDATION  an error-level check failed: the run is paused with its sentence;
 *   BF_E_CONFLICT    the target changed incompatibly (schema, code version): paused;
 *   BF_E_STATE       the run is paused, cancelled or failed, or this runner was stopped;
 *   BF_E_BLOCKED     blocking findings, or a paused run (resume it first);
 *   another code     the library, the ledger or the driver failed.
 * The message says which. *out_run (may be NULL) receives the run's id.
 */
BF_API int bf_runner_run(bf_runner *runner, int64_t *out_run);

/*
 * Ask a running bf_runner_run() to stop: no new claims; batches in flight
 * finish (or release their lease) and the call returns BF_E_STATE, leaving
 * the run as it is for a later run to resume. Async-signal-safe: it only
 * sets a flag.
 */
BF_API void bf_runner_stop(bf_runner *runner);

/* ---- Test slice ---------------------------------------------------------- */

/*
 * Run `batches` (0: 5; at most the plan's) representative batches of the
 * plan into a scratch copy of their rows and measure them. Chosen, each
 * once with its reasons: the first, the last, the largest by rows
 * (bf_driver_count_batches), time batches with a DST change in the brief's
 * zone or a month end that differs between UTC and the zone (in turn), and
 * evenly spaced others to fill up.
 *
 * For each: the batch's target rows are copied into "<table>__bf_slice"
 * (the target's columns and primary key), the job is staged and published
 * there by the write pattern (staging_swap and parallel_version as
 * partition_overwrite), with the fence and snapshot as a run does, the
 * brief's checks are run against that table (bf_validator_set_table), and
 * the batch is probed for idempotency (bf_idempotency_probe). The duration
 * measured is the run's work for the batch (before-state, fingerprints,
 * stage, publish). Scratch, staging and snapshot tables are dropped; the
 * target is only read.
 *
 * The slice is recorded in the ledger as a run of its own, "<brief
 * name>@test-slice" (a new one each time), registered from the full plan so
 * that status and progress stay honest: the batches not chosen are
 * cancelled ("not in the test slice"), the chosen ones completed with their
 * measured duration and rows and their validation results recorded; a
 * "slice" record holds {"batches", "chosen": [{"label", "ordinal",
 * "reason", "rows", "duration_s", "idempotent"}], "estimate_s" (the whole
 * plan, bf_plan_estimate), "estimate_rows" (every batch's rows),
 * "plan_batches"}. A slice that passed finishes its run (completed); else
 * the failing batch is failed with its reason, and so is the run.
 *
 * Returns BF_OK when every check passed and every batch is idempotent;
 * BF_E_VALIDATION with the first failing check's sentence, or BF_E_BLOCKED
 * when a batch is not idempotent, naming it; other codes when the library,
 * ledger or driver failed, and BF_E_STATE when bf_runner_stop() stopped it
 * between batches (the slice's run is then cancelled). *json_out
 * (may be NULL; free with bf_free()) is filled whenever the slice ran:
 * {"format": "backfill-test-slice/1", "brief", "run", "batches": [{"label",
 * "ordinal", "reason", "rows", "duration_s", "idempotent", "batch_id",
 * "rows_read", "rows_written", "rows_deleted", "idempotency", "checks"}],
 * "estimate": {"seconds", "rows", "batches"}, "status" ("pass",
 * "validation_failed", "not_idempotent"), "message"}.
 */
BF_API int bf_runner_test_slice(char **json_out, bf_runner *runner, size_t batches);

/*
 * The whole-plan estimate of the latest completed test slice of brief
 * `brief_name` in `ledger`: *seconds the runtime, *rows the rows (each may
 * be NULL). BF_E_NOT_FOUND, naming the ledger and the brief, when there is
 * none. For the preflight's "no runtime estimate yet" and for ETAs.
 */
BF_API int bf_runner_slice_estimate(double *seconds, int64_t *rows, bf_ledger *ledger,
                                    const char *brief_name);

/* ---- Whether a warehouse is the one a run wrote --------------------------- */

/*
 * Whether `driver`'s warehouse is the one run `run_id` of `ledger` wrote:
 * BF_OK when it holds a fence of the run by this ledger's run (every batch
 * the runner publishes leaves one in bf_fence), when the run has published
 * nothing, when the run was cleaned up (cleanup deletes its fences), and
 * for a host's own driver (which keeps fences its own way). BF_E_CONFLICT,
 * naming the table and the batches the run published, when it holds none
 * of them (a copy from before the run, another file), or when another
 * ledger's run of the same id fenced it. Hosts that read a recorded run back
 * against a warehouse (backfill validate RUN, backfill diff RUN) check it
 * first, so that a wrong file is an error rather than "no change".
 */
BF_API int bf_run_check_warehouse(bf_ledger *ledger, int64_t run_id, bf_driver *driver);

/*
 * The table run `run_id` of `ledger` published its batches into, as it
 * stands now, in *out (the caller frees it with bf_free()): the brief's
 * target for the patterns that write in place and once the run was cut
 * over; before the cutover of a staging_swap or parallel_version run, the
 * run's copy of the target ("<table>__bf_full_<run>", the version table).
 * What a host reading a run back checks and diffs (backfill validate RUN,
 * backfill diff RUN): before the cutover the target holds none of it.
 */
BF_API int bf_run_written_table(char **out, bf_ledger *ledger, int64_t run_id);

/* ---- A run's batches as the runner addresses them ------------------------ */

/*
 * The ledger may cut a run's key-range batches after planning: the halves
 * of a split and the batches of a resize take the place of the batches they
 * replace. A view maps every ledger batch of a run to the batch the runner
 * did it as: the plan's own batch at its ordinal when the bounds agree, else
 * one of the batches appended after the plan's (one per cut batch, in batch
 * id order), whose ordinal names its staging and its snapshot rows. Hosts that
 * validate, diff or roll back a recorded run outside the runner (backfill
 * validate RUN, backfill diff RUN) address its batches through it.
 */
typedef struct bf_run_view bf_run_view;

/*
 * A view of `run`'s batches as the ledger holds them now, over `plan` (the
 * run's own plan, as made from its brief; borrowed for the view's life).
 * BF_E_CONFLICT when the plan's fingerprint is not the run's.
 */
BF_API int bf_run_view_new(bf_run_view **out, const bf_plan *plan, bf_run *run);
BF_API void bf_run_view_free(bf_run_view *view);
/* The plan with the cut batches after its own (owned by the view). */
BF_API const bf_plan *bf_run_view_plan(const bf_run_view *view);
/* The batch ledger batch `batch_id` was done as, or NULL for a batch not in the view. */
BF_API const bf_batch *bf_run_view_batch(const bf_run_view *view, int64_t batch_id);
/*
 * The ordinals of the PLAN's own batches (not the view's) that the run has
 * written: those whose bounds the completed and validated batches cover
 * between them, cut or not; ascending, for bf_validator_set_written() with
 * the plan. *out is freed with bf_free().
 */
BF_API int bf_run_view_written(size_t **out, size_t *count, const bf_run_view *view);

/* ---- Approval, cutover and refresh -------------------------------------- */

/*
 * Approve run `run_id` as `reviewer`: the brief's reviewer, not the run's
 * operator, and only once run-level validation passed (BF_E_BLOCKED
 * otherwise, saying why). Then the cutover (staging_swap,
 * parallel_version), then each downstream refresh_sql in refresh order,
 * each step recorded in the ledger; a failed refresh stops there
 * (BF_E_DRIVER naming the asset) and approving again resumes from it. The
 * run completes when every step is done.
 */
BF_API int bf_runner_approve(bf_runner *runner, int64_t run_id, const char *reviewer);

/* ---- Rollback and cleanup ------------------------------------------------ */

/*
 * Roll back batch `batch_id` of run `run_id` (0: every published batch,
 * newest first, and the run) from the pre-images, and prove it: each
 * batch's fingerprint must return to its value before the batch published.
 * A batch that cannot be undone exactly is refused (BF_E_CONFLICT) and the
 * others stay as they are; *json_out (may be NULL; free with bf_free()) says
 * what was done, batch by batch, also when refused. A run already cut over
 * (staging_swap, parallel_version) is rolled back only as a whole, by
 * putting its backup table back, and only while the target is exactly what
 * the cutover made it (BF_E_BLOCKED for one batch of it).
 */
BF_API int bf_runner_rollback(char **json_out, bf_runner *runner, int64_t run_id,
                              int64_t batch_id);

/*
 * Drop run `run_id`'s snapshots, staging and version tables once the run is
 * settled (completed or rolled back) and older than the brief's
 * rollback.retention_days (7 when the brief gives none; 0: at once), by the
 * ledger's clock; never before (BF_E_STATE, saying when). *json_out (may be
 * NULL; free with bf_free()) lists what was dropped and what was kept, and
 * why.
 */
BF_API int bf_runner_cleanup(char **json_out, bf_runner *runner, int64_t run_id);

#ifdef __cplusplus
}
#endif

#endif
