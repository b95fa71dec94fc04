/*
 * The ledger's storage, as a plug-in vtable like the driver's: for people
 * who put the ledger in a database other than the embedded SQLite file (a
 * shared server database when workers run on many machines). Applications
 * never need this header.
 *
 * The ledger keeps every rule (legal transitions, leases, fencing, retries,
 * audit events) in its own code and asks the store only to keep records and
 * to run a group of reads and writes as one transaction. A store must make a
 * write transaction exclusive across every process and machine sharing the
 * ledger from begin() to commit(): the ledger reads, decides and writes
 * inside it.
 *
 * Registration: bf_ledger_options.store with store_userdata and
 * free_store_userdata. The vtable is copied (up to its version), as
 * bf_driver_new() copies a driver's, so it may live on the stack; the
 * userdata is passed to open() and, when the ledger is closed (or its open
 * fails), to free_store_userdata.
 *
 * Argument order, as in the driver vtable: the store (what open() made)
 * first, then output parameters, then inputs.
 *
 * Versions: `version` first, members appended only, each marked with the
 * version that added it. A vtable version 0 or newer than this library's
 * fails with BF_E_ABI; a NULL member fails the ledger's open with
 * BF_E_UNSUPPORTED naming it. The record structs below belong to the
 * vtable's version: a store of vtable version k reads and fills only the
 * record members marked "since version" k or earlier (the records are
 * always of the ledger's own, newest, layout, so a store never writes past
 * one), and the ledger uses only those members of what such a store fills.
 *
 * Conventions for every member: return BF_OK or a negative BF_E_* code
 * after recording a message naming the ledger with bf_error_set()
 * (<backfill/sys/errors.h>); the ledger keeps that message, and makes one
 * up only for a member that set none. BF_E_BUSY when the storage stayed
 * locked past the busy timeout; BF_E_USER passes through untouched.
 * Strings in a record that run_get or batch_get fills stay valid until the
 * next call of the same member; those passed to an iteration callback,
 * during the callback only (which must not call the store).
 * Times are UTC microseconds; 0 means "not set". States are the numeric
 * values of bf_run_state and bf_batch_state. Nothing here assumes SQL: a
 * store may keep records in any database that has exclusive write
 * transactions.
 */
#ifndef BACKFILL_SYS_STORE_H
#define BACKFILL_SYS_STORE_H

#include <stdint.h>

#include "backfill/common.h"
#include "backfill/sys/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How a store is asked to open its storage. */
typedef struct bf_store_config {
    unsigned version;
    /* since version 1 */
    int durability;      /* a bf_durability: 0 full (sync every commit), 1 normal */
    int busy_timeout_ms; /* how long to wait for another writer before BF_E_BUSY */
    int create;          /* nonzero: create the storage when it does not exist */
} bf_store_config;

#define BF_STORE_CONFIG_VERSION 1u

/* One run. Mutable through run_update: state, started_at, updated_at, finished_at. */
typedef struct bf_store_run {
    /* since version 1 */
    int64_t id;
    const char *brief_name;
    int64_t seq; /* the run's number under its brief: 1, 2, ... (set by run_insert) */
    int state;
    const char *brief_json;
    const char *plan_fingerprint;
    int dimension;
    const char *plan_column;
    const char *code_version;
    const char *operator_name;
    const char *params_json;
    int64_t max_concurrency;
    int64_t max_attempts;
    int64_t retry_backoff_us;
    int64_t lease_us;
    int64_t batch_count;
    int64_t created_at;
    int64_t started_at;
    int64_t updated_at;
    int64_t finished_at;
} bf_store_run;

/* One batch of a run. batch_update writes every field but id, run_id and the bounds. */
typedef struct bf_store_batch {
    /* since version 1 */
    int64_t id;
    int64_t run_id;
    int64_t ordinal;   /* position in plan order; the two halves of a split keep their parent's */
    int64_t parent_id; /* the batch this one was split from, or 0 */
    int state;
    int dimension;
    const char *label;
    int64_t lo;
    int64_t hi;
    const char *params_json; /* the bound parameters as a JSON object */
    int64_t token;           /* fencing token: incremented by every claim */
    int64_t attempt;         /* claims since the batch was last reset */
    int64_t lease_until;
    int64_t not_before; /* retry backoff: not claimable before this instant */
    const char *worker;
    int64_t started_at;
    int64_t finished_at;
    int64_t duration_us;
    int64_t rows_written;
    int64_t rows_deleted;
    const char *fp_before;
    const char *fp_after;
    const char *idempotency_key;
    const char *error;
} bf_store_batch;

/* One audit event. */
typedef struct bf_store_event {
    /* since version 1 */
    int64_t run_id;
    int64_t seq;      /* position in the run's log (set by event_append) */
    int64_t batch_id; /* 0 for run events and notes */
    const char *subject; /* "run", "batch" or "note" */
    const char *from_state;
    const char *to_state;
    const char *actor;
    int64_t at;
    const char *detail;
} bf_store_event;

#define BF_STORE_MAX_STATES 16

/* A run's batches summed up. */
typedef struct bf_store_counts {
    /* since version 1 */
    int64_t by_state[BF_STORE_MAX_STATES];
    int64_t rows_written;
    int64_t rows_deleted;
    int64_t done_count;       /* batches with a recorded duration (completed at least once) */
    int64_t done_duration_us; /* the sum of those durations */
} bf_store_counts;

/*
 * The validation results of a batch (batch_id > 0) or of the run (batch_id
 * 0), one record per (run_id, batch_id): validation_put replaces the
 * record, keeping its created_at. Since vtable version 2.
 */
typedef struct bf_store_validation {
    /* since version 2 */
    int64_t run_id;
    int64_t batch_id;
    int passed;          /* 1: no check failed or errored; 0: the verdict is fail */
    int64_t tally[5];    /* checks by outcome: pass, warn, fail, error, skipped */
    const char *results_json;
    int64_t created_at;  /* the first recording */
    int64_t updated_at;  /* the latest */
} bf_store_validation;

/*
 * The before-state captured for a batch (bf_diff_capture, serialised with
 * bf_diff_before_to_json), one record per (run_id, batch_id):
 * before_state_put replaces the record, keeping its created_at. The ledger
 * keeps the JSON as it is given. Since vtable version 3.
 */
typedef struct bf_store_before_state {
    /* since version 3 */
    int64_t run_id;
    int64_t batch_id;
    const char *state_json;
    int64_t created_at;  /* the first recording */
    int64_t updated_at;  /* the latest */
} bf_store_before_state;

/* Iteration callbacks: return BF_OK to go on, anything else stops and is returned. */
typedef int (*bf_store_run_fn)(void *userdata, const bf_store_run *run);
typedef int (*bf_store_batch_fn)(void *userdata, const bf_store_batch *batch);
typedef int (*bf_store_event_fn)(void *userdata, const bf_store_event *event);
typedef int (*bf_store_validation_fn)(void *userdata, const bf_store_validation *validation);
typedef int (*bf_store_before_state_fn)(void *userdata, const bf_store_before_state *state);

typedef struct bf_store_vtable {
    unsigned version;
    /* since version 1 */

    /*
     * Open (and with config->create, create) the storage at `location` (a
     * file path for the SQLite store, a connection string for a server
     * database: whatever the host passed to bf_ledger_open()); *out is the
     * store, passed to every other member. `userdata` is the host's
     * bf_ledger_options.store_userdata.
     */
    int (*open)(void *userdata, void **out, const char *location, const bf_store_config *config);
    /* Close the store; accepts NULL. */
    void (*close)(void *store);

    /* Transactions: `write` nonzero takes the exclusive write lock at once. */
    int (*begin)(void *store, int write);
    int (*commit)(void *store);
    /* Undo the open transaction; must succeed or leave none open. */
    void (*rollback)(void *store);

    /* Insert a run; sets its id (*out) and its seq (one more than the brief's last run). */
    int (*run_insert)(void *store, int64_t *out, const bf_store_run *run);
    /*
     * Read a run, except brief_json and params_json, which may be NULL (they
     * can be long, and only run_list needs them); BF_E_NOT_FOUND.
     */
    int (*run_get)(void *store, bf_store_run *out, int64_t id);
    int (*run_update)(void *store, const bf_store_run *run);
    /*
     * The latest run of a brief (with `unfinished_only`, the latest whose
     * state is not cancelled, completed or rolled_back); BF_E_NOT_FOUND.
     */
    int (*run_find)(void *store, int64_t *out, const char *brief_name, int unfinished_only);
    /* Every run, oldest first. */
    int (*run_list)(void *store, bf_store_run_fn each, void *userdata);

    /*
     * Insert a batch with batch->id, or when that is 0 with the next id of
     * the run; *out is the id. A store may use any ids that are unique in the
     * ledger; the ledger passes run_id * 10^9 + ordinal + 1 when it registers
     * a plan.
     */
    int (*batch_insert)(void *store, int64_t *out, const bf_store_batch *batch);
    /* Read a batch; BF_E_NOT_FOUND when there is none. */
    int (*batch_get)(void *store, bf_store_batch *out, int64_t id);
    int (*batch_update)(void *store, const bf_store_batch *batch);
    /*
     * Read the first pending batch of the run in plan order (ordinal, then
     * id) whose not_before is at or before `now`, as batch_get does;
     * BF_E_NOT_FOUND without a message when there is none.
     */
    int (*batch_next_pending)(void *store, bf_store_batch *out, int64_t run_id, int64_t now);
    /*
     * Running batches of the run: how many hold a lease that lasts past
     * `now` (*out_live), and the id of one whose lease has expired
     * (*out_expired, 0 when none has).
     */
    int (*batch_running)(void *store, int64_t *out_live, int64_t *out_expired, int64_t run_id,
                         int64_t now);
    int (*batch_counts)(void *store, bf_store_counts *out, int64_t run_id);
    /* The run's batches in plan order; `state` < 0 for all, else only that state. */
    int (*batch_list)(void *store, int64_t run_id, int state, bf_store_batch_fn each,
                      void *userdata);

    int (*event_append)(void *store, const bf_store_event *event);
    /* The run's events, oldest first. */
    int (*event_list)(void *store, int64_t run_id, bf_store_event_fn each, void *userdata);

    /* since version 2 (a store of version 1 keeps no validation results: the
     * ledger's validation calls then fail with BF_E_UNSUPPORTED) */

    /* Insert or replace the record of (run_id, batch_id); created_at is kept when it exists. */
    int (*validation_put)(void *store, const bf_store_validation *validation);
    /* The run's records, run-level (batch_id 0) first, then by batch id; batch_id < 0 for all. */
    int (*validation_list)(void *store, int64_t run_id, int64_t batch_id,
                           bf_store_validation_fn each, void *userdata);

    /* since version 3 (a store of version 1 or 2 keeps no before-states: the
     * ledger's before-state calls then fail with BF_E_UNSUPPORTED) */

    /* Insert or replace the record of (run_id, batch_id); created_at is kept when it exists. */
    int (*before_state_put)(void *store, const bf_store_before_state *state);
    /* The run's records by batch id; batch_id < 0 for all, else only that batch's. */
    int (*before_state_list)(void *store, int64_t run_id, int64_t batch_id,
                             bf_store_before_state_fn each, void *userdata);
} bf_store_vtable;

#define BF_STORE_VTABLE_VERSION 3u
#define BF_STORE_VTABLE_INIT {BF_STORE_VTABLE_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                              NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                              NULL, NULL, NULL, NULL}

/*
 * Zero a vtable of `version` (1 to BF_STORE_VTABLE_VERSION; only the bytes
 * that version has are written) and set its version; BF_E_ABI for a version
 * this library does not know. The ledger refuses a store whose members are
 * missing.
 */
BF_API int bf_store_vtable_init(bf_store_vtable *vtable, unsigned version);

/*
 * The embedded default: a SQLite file in WAL mode, one write transaction at
 * a time (BEGIN IMMEDIATE), with a schema version table and forward
 * migrations. The vtable is static; it takes no userdata.
 */
BF_API const bf_store_vtable *bf_store_sqlite(void);

#ifdef __cplusplus
}
#endif

#endif
