/*
 * The ledger's handles and the helpers its files share: transactions on the
 * store, the clock, audit events and the transition tables. The files call
 * one another in one direction only (docs/ledger.md, "Inside the ledger";
 * tests/layering/ledger_files.py checks it): run.c and progress.c over
 * claim.c, batch.c, listing.c, validations.c and before_states.c, over txn.c, register.c and
 * find_key.c, over describe.c, ledger.c and states.c, over the SQLite store,
 * with versions.c at the bottom.
 */
#ifndef BF_LEDGER_INTERNAL_H
#define BF_LEDGER_INTERNAL_H

#include <stdint.h>
#include <sys/types.h>

#include "backfill/ledger.h"
#include "backfill/sys/store.h"
#include "common/internal.h"

struct bf_ledger {
    bf_store_vtable store_vt;     /* the host's vtable, copied up to its version */
    const bf_store_vtable *store; /* &store_vt */
    void *store_userdata;
    void (*free_store_userdata)(void *userdata);
    void *db;
    char *path;
    char *actor;
    bf_clock_fn clock;
    void *clock_userdata;
    pid_t pid; /* the process that opened it: the handle must not cross fork() */
    bf__errbuf err;
};

struct bf_run {
    bf_ledger *ledger;
    int64_t id;
    int64_t seq;
    int state;
    int dimension;
    int64_t max_concurrency;
    int64_t max_attempts;
    int64_t retry_backoff_us;
    int64_t lease_us;
    char *brief_name;  /* these three never change for a run */
    char *fingerprint;
    char *plan_column;
    bf__errbuf err;
};

struct bf_lease {
    int64_t batch_id;
    int64_t ordinal;
    int dimension;
    int64_t lo;
    int64_t hi;
    int64_t token;
    int64_t attempt;
    int64_t expires_at;
    char *label;
    char *params_json;
};

/* The ledger's clock, in UTC microseconds. */
int64_t bf__ledger_now(bf_ledger *ledger);

/*
 * In a child after fork(): when `vt` is the built-in SQLite store's, free
 * the store `store`'s own memory without touching its connection or
 * statements, which belong to the parent (closing them could checkpoint or
 * delete files under its feet), and return 1; 0 for a host's store, which
 * is left as it is.
 */
int bf__store_sqlite_forget(const bf_store_vtable *vt, void *store);

/*
 * Every call of a store member goes through BF__STORE(ledger, member,
 * (ledger->db, args)), as the driver's dispatch does: the thread's error is cleared
 * before the call, so that afterwards a failure is known to carry the
 * member's own message (set with bf_error_set() by a host's store), and
 * bf__store_result() makes sure it has one. A
 * member that fails without a message (or with the message of another
 * code) gets one made up that names the ledger and the member; its code is
 * kept (BF_E_USER and every other BF_E_* code pass through), and a
 * positive return, which is no status, becomes BF_E_INTERNAL. The void
 * members (close, rollback) are called directly.
 */
int bf__store_result(bf_ledger *ledger, int rc, const char *member);
#define BF__STORE(ledger, member, args) \
    (bf_clear_error(), bf__store_result((ledger), (ledger)->store->member args, #member))

/*
 * Record a failure on the ledger handle and return `code`, making up a
 * message naming the ledger if the thread's error is not about `code`.
 */
int bf__ledger_fail(bf_ledger *ledger, int code);

/*
 * Store transactions; rollback is safe to call when none is open, and keeps
 * the thread's error (a rollback follows a failure whose message matters).
 * Begin refuses, with BF_E_STATE, a ledger opened in another process (a
 * handle inherited through fork()); commit and rollback then do nothing.
 * Every use of the store goes through a transaction, so a run handle, which
 * uses its ledger's, is refused too.
 */
int bf__ledger_begin(bf_ledger *ledger, int write);
int bf__ledger_commit(bf_ledger *ledger);
void bf__ledger_rollback(bf_ledger *ledger);

/* Append an audit event for the run (batch_id 0 for run events and notes). */
int bf__ledger_event(bf_ledger *ledger, int64_t run_id, int64_t batch_id, const char *subject,
                     const char *from, const char *to, const char *detail);

/* Transition tables (states.c). */
int bf__run_transition_legal(int from, int to);
int bf__batch_transition_legal(int from, int to);
/* Transitions a caller may ask for with bf_run_mark_batch(). */
int bf__batch_mark_legal(int from, int to);
/* Whether a run in this state still has work ahead (not cancelled, completed or rolled back). */
int bf__run_unfinished(int state);

/*
 * Inside a write transaction: move the run record to `to` if legal
 * (BF_E_STATE naming the run and both states), write it and its event.
 */
int bf__run_move(bf_ledger *ledger, bf_store_run *rec, int to, const char *detail);
/* The same move already judged legal (bf_run_finish's own move to completed). */
int bf__run_write_move(bf_ledger *ledger, bf_store_run *rec, int to, const char *detail);

/*
 * Inside a write transaction: write the batch, whose state the caller has
 * changed from `from`, and append the event for the move.
 */
int bf__batch_move(bf_ledger *ledger, const bf_store_batch *b, int from, const char *detail);

/*
 * Inside a write transaction: record a batch's validation results and settle
 * it (validations.c), for bf_run_complete() with results.
 */
int bf__run_settle_locked(bf_run *run, int64_t batch_id, const char *results_json,
                          const int64_t tally[5], const char *failure);

/* Read the run record inside a transaction and refresh the handle's state. */
int bf__run_get(bf_run *run, bf_store_run *out);

/* Read a batch of this run inside a transaction; BF_E_NOT_FOUND names the run. */
int bf__run_batch_get(bf_run *run, bf_store_batch *out, int64_t batch_id);

/* "run 3 (refund-fix #1)" for messages, into buf. */
const char *bf__run_record_describe(const bf_store_run *rec, char *buf, size_t size);
const char *bf__run_describe(const bf_run *run, char *buf, size_t size);

/*
 * Expire the run's lapsed leases: each such batch goes back to pending, or
 * to failed on its last attempt, or to cancelled when the run no longer
 * takes claims. Inside a write transaction; *out_live is the number of live
 * leases left.
 */
int bf__run_expire_leases(int64_t *out_live, bf_ledger *ledger, const bf_store_run *rec,
                          int64_t now);

/* The ids of the run's batches in `state`, in plan order; the caller frees *out. */
int bf__run_batch_ids(int64_t **out, size_t *count, bf_ledger *ledger, int64_t run_id, int state);

/*
 * Split a failed key-range batch into two pending halves (inside a write
 * transaction); out may be NULL.
 */
int bf__run_split_locked(int64_t out[2], bf_ledger *ledger, const bf_store_run *rec,
                         bf_store_batch *b);

/*
 * The shape of every change to a run: one write transaction that reads the
 * run record, calls `op`, and commits, or rolls back when op fails. Records
 * a failure on the run handle.
 */
typedef int (*bf__run_op)(bf_run *run, bf_store_run *rec, void *arg);
int bf__run_write(bf_run *run, bf__run_op op, void *arg);

/*
 * Record a failure on the run handle and the thread; returns code (never
 * BF_OK), making up a message naming the run if the thread's error is not
 * about `code`.
 */
int bf__run_fail(bf_run *run, int code);

/* Append `s` to sb as a JSON string literal. */
void bf__json_quote(bf__sb *sb, const char *s, size_t len);

/*
 * Register the plan's batches for the run (inside the transaction that
 * created it).
 */
int bf__run_register_plan(bf_ledger *ledger, int64_t run_id, const bf_plan *plan);

#endif
