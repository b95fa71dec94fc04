/*
 * The runner's handle and what its parts share (runner.c: the handle, the
 * job from a brief or a host, worker handles; run.c: the run loop and the
 * built-in pool; events.c: events; the test slice, approval, rollback and
 * cleanup in their own files).
 */
#ifndef BF_RUNNER_INTERNAL_H
#define BF_RUNNER_INTERNAL_H

#include <pthread.h>
#include <signal.h>

#include "backfill/brief.h"
#include "backfill/driver.h"
#include "backfill/ledger.h"
#include "backfill/plan.h"
#include "backfill/runner.h"
#include "backfill/sys/scheduler.h"
#include "backfill/validate.h"
#include "common/internal.h"
#include "common/json.h"

/* A write spec with its own arrays (strings point into the runner's brief or copies). */
typedef struct bf__job {
    bf_write_spec spec;
    const char **key;
    const char **columns;
    char **owned;      /* strings the job owns (set_job copies), freed with it */
    size_t owned_count;
} bf__job;

struct bf_runner {
    /* options, copied */
    char *ledger_path;
    bf_ledger_options ledger_opts;
    char *actor;
    char *warehouse_path;
    bf_driver_open_fn open_driver;
    void *driver_userdata;
    unsigned workers;
    bf_scheduler_vtable sched;
    void *sched_userdata;
    int has_sched;
    bf_run_event_fn on_event;
    void *event_userdata;
    bf_throttle_fn throttle;
    void *throttle_userdata;
    double poll_s;
    char *operator_name;
    unsigned flags;
    double target_batch_s; /* the host's, or 0 */
    _Atomic int stop; /* bf_runner_stop(): any thread, or a signal handler (lock-free) */

    /* handles for the calling thread */
    bf_ledger *ledger;
    bf_driver *driver;

    /* what to run (set_brief or set_job) */
    bf_brief *brief; /* a copy, or NULL for set_job */
    bf_plan *plan;
    bf__job job;
    bf_run_spec run_spec;
    char *brief_name, *brief_json, *code_version, *params_json, *run_operator;
    bf_validator *validator; /* the calling thread's (from the brief), or the host's */
    int own_validator;
    pthread_mutex_t validator_lock; /* a host's validator is used by one worker at a time */

    bf__errbuf err;
};

/* Record the thread's last failure as the runner's, and return its code. */
int bf__runner_fail(bf_runner *r, int code);

/*
 * The checks' names and statements against the warehouse (bf__validator_check_inputs)
 * before a run or a test slice is started: a brief with a typo in a check leaves no run.
 */
int bf__runner_check_inputs(bf_runner *r);

/*
 * Who owns a run's state in the warehouse (its fences, snapshots, staging):
 * "BRIEF #SEQ, created ISO-INSTANT", the same for every process sharing the
 * ledger, and different for another ledger's run of the same id.
 */
#define BF__OWNER_MAX 320
/* An instant as "2025-01-01T05:00:00Z", with `micro` as "2025-01-01T05:00:00.000000Z". */
void bf__runner_iso(char *out, size_t size, int64_t us, int micro);
void bf__runner_owner(char out[BF__OWNER_MAX], const char *brief_name, int64_t seq,
                      int64_t created_at_us);
/*
 * Make `owner` the owner of what `d` fences from now on, and refuse
 * (BF_E_CONFLICT) when another ledger's run of the same id fenced `table`.
 */
int bf__runner_own_warehouse(bf_driver *d, const char *owner, const char *table, int64_t run_id);

/*
 * What a host's callback `member` returned, after bf_clear_error() before the
 * call: a failure without a message of its own gets one naming the member.
 */
int bf__runner_host(int rc, const char *member);

/* Open a worker's own ledger handle (same file, same options and actor). */
int bf__runner_open_ledger(bf_runner *r, bf_ledger **out);
/*
 * The runner's own ledger handle in *out, opened (and the ledger created)
 * by the first call that needs it: bf_runner_new opens only a ledger that
 * exists, so that a brief refused by bf_runner_set_brief leaves no file.
 */
int bf__runner_ledger(bf_runner *r, bf_ledger **out);
/* Open a worker's own driver (the host's opener, or the SQLite warehouse). */
int bf__runner_open_driver(bf_runner *r, bf_driver **out);

/* The job of a brief: write spec and arrays pointing into the brief. Free with bf__job_dispose. */
int bf__job_from_brief(bf__job *job, const bf_brief *brief);
void bf__job_dispose(bf__job *job);

/* The brief a run was started with (BF_E_NOT_FOUND when it has none recorded). */
int bf__runner_run_brief(bf_brief **out, bf_ledger *ledger, int64_t run_id);

/*
 * A run's plan with the batches the ledger cut since: split halves and
 * batches re-cut by a resize keep the ordinal of the batch they replace for
 * claim order, but the driver names a batch's staging, snapshot and fence
 * by ordinal, so each gets one of its own after the plan's: base + its
 * index in batch id order. A ledger batch is the plan's own when the plan's
 * batch at its ordinal has its bounds. The run, its rollback and its
 * cleanup all address batches through this.
 */
typedef struct bf__halves {
    bf_plan *plan;   /* the plan's batches, then the halves */
    size_t base;     /* the plan's own count */
    int64_t *ids;    /* the halves' batch ids, ascending */
    size_t count;
} bf__halves;

int bf__runner_extend_plan(bf__halves *h, const bf_plan *plan, bf_run *run);
/* Whether the plan's batch at `ordinal` is [lo, hi) (else the ledger cut it since). */
int bf__runner_plan_has(const bf_plan *plan, int64_t ordinal, int64_t lo, int64_t hi);
/* The batch of the extended plan for a ledger batch, or NULL when it has none (cut since). */
const bf_batch *bf__halves_batch(const bf__halves *h, int64_t batch_id, int64_t ordinal,
                                 int64_t lo, int64_t hi);
void bf__halves_dispose(bf__halves *h);

/* The name of the shadow table the write pattern publishes into before cutover, or NULL. */
char *bf__runner_shadow_table(const bf_write_spec *spec, int64_t run_id);

/*
 * Emit an event to the host's callback (no-op without one). `run` may be
 * NULL (no progress then); `batch_id`/`label` 0/NULL when not about a batch.
 */
void bf__runner_emit(bf_runner *r, bf_run *run, bf_run_event_kind kind, int64_t batch_id,
                     const char *label, int64_t rows_written, int64_t rows_deleted,
                     double duration_s, const char *message);

/* The same with the progress to carry (NULL: none; the run's is not read). */
void bf__runner_emit_with(bf_runner *r, bf_run *run, const bf_progress *progress,
                          bf_run_event_kind kind, int64_t batch_id, const char *label,
                          int64_t rows_written, int64_t rows_deleted, double duration_s,
                          const char *message);

/* The wall clock in microseconds (events and durations). */
int64_t bf__runner_now_us(void);

/* ---- Approve, rollback and cleanup (approve.c) ------------------------- */

/* A recorded run opened for approval, rollback or cleanup, with its brief and write spec. */
typedef struct bf__settle {
    bf_run *run;           /* on the runner's own ledger handle */
    bf_brief *brief;       /* the brief the run recorded */
    bf__job job;           /* its write spec */
    bf_plan *plan;         /* the brief's plan against the warehouse with the run's split
                              halves after it (halves.plan), when asked for */
    bf__halves halves;
    int shadowed;          /* staging_swap or parallel_version */
    char *shadow, *backup; /* the shadow table and the cutover's backup, when shadowed */
    char *operator_name;   /* who started the run */
    int64_t finished_at;   /* when it completed or rolled back, or 0 */
    int slice;             /* a test slice's run: it wrote scratch copies, never the target */
} bf__settle;

/*
 * Open run `run_id` with its recorded brief; with `with_plan`, also the
 * brief's plan, refused (BF_E_CONFLICT) unless its fingerprint is the run's.
 */
int bf__settle_open(bf__settle *s, bf_runner *r, int64_t run_id, int with_plan);
void bf__settle_dispose(bf__settle *s);
/* The plan batch of row `i` of a batch listing, split halves included. */
int bf__settle_batch(const bf__settle *s, const bf_batch_list *bl, size_t i, const bf_batch **out);
/* The target's fingerprint when the run started (its "schema" record), or "" when none. */
int bf__settle_schema_fingerprint(char out[64], const bf__settle *s);
/* The run's audit events (records among them). */
int bf__settle_records(bf_event_list **out, const bf__settle *s);
/* The runner's own set_job job (and a copy of its plan) for a run recorded without a brief. */
int bf__runner_host_job(const bf_runner *r, const bf_run *run, bf__job *job, bf_plan **plan);
/* Downstream refresh in order (approve.c); `rollback`: after a rollback, whose error says so;
 * the assets refreshed are appended to `names` when not NULL. */
int bf__settle_refresh(bf_runner *r, bf__settle *s, bf_run *as, int rollback, size_t *out_done,
                       json_t *names);
/* *owed: the marts were refreshed before the latest rollback, so they need it again. */
int bf__settle_refresh_owed(int *owed, const bf__settle *s);
/*
 * Whether `d`'s warehouse holds run `run` (bf_run_check_warehouse): a fence
 * of it by `owner` (or no one), or nothing published, or the run cleaned
 * up; else BF_E_CONFLICT, naming the table and the batches published, or
 * the other ledger whose run of that id fenced it.
 */
int bf__runner_holds_run(bf_driver *d, bf_run *run, const char *table, const char *owner);
/* Whether `table` exists in the warehouse. */
int bf__table_exists(int *out, bf_driver *d, const char *table);

/* The sum of a recorded before-state's segment fingerprints: the batch's fingerprint before. */
int bf__runner_before_sum(char out[64], const char *json);
/* `name` as a double-quoted SQL identifier, or NULL (out of memory). */
char *bf__quote_ident(const char *name);
/* The fingerprint of `table` within `b` (NULL: the whole table) as "rows:hex32". */
int bf__fingerprint_text(char out[64], bf_driver *d, const char *table, const bf_plan *plan,
                         const bf_batch *b);
/* The ledger's clock (bf_ledger_options.clock), else the wall clock, in microseconds. */
int64_t bf__runner_ledger_now(const bf_runner *r);

#endif
