/*
 * The SQLite store's shared state, between the connection code
 * (sqlite_store.c), the schema and migrations (sqlite_schema.c) and the
 * record statements (sqlite_records.c).
 */
#ifndef BF_LEDGER_SQLITE_STORE_H
#define BF_LEDGER_SQLITE_STORE_H

#include <sqlite3.h>
#include <stdint.h>

#include "backfill/sys/store.h"
#include "common/internal.h"

/* WAL pages between automatic checkpoints (the benchmark's baseline uses the same). */
#define SQ_WAL_AUTOCHECKPOINT 4000
#define BF_STR_(x) #x
#define BF_STR(x) BF_STR_(x)

/* Statements prepared once per connection, in the order of sq_sql[]. */
enum sq_stmt {
    SQ_RUN_INSERT,
    SQ_RUN_GET,
    SQ_RUN_UPDATE,
    SQ_RUN_FIND,
    SQ_RUN_LIST,
    SQ_BATCH_INSERT,
    SQ_BATCH_GET,
    SQ_BATCH_UPDATE,
    SQ_BATCH_SCAN,
    SQ_BATCH_UNLIST,
    SQ_BATCH_UNLIST_RANGE,
    SQ_BATCH_FINISHED_SPAN,
    SQ_BATCH_RELIST,
    SQ_RUN_WINDOW,
    SQ_RUN_SET_WINDOW,
    SQ_BATCH_LIST_WINDOW,
    SQ_BATCH_COUNTS,
    SQ_BATCH_LIST,
    SQ_EVENT_APPEND,
    SQ_EVENT_LIST,
    SQ_VALIDATION_PUT,
    SQ_VALIDATION_LIST,
    SQ_BEFORE_STATE_PUT,
    SQ_BEFORE_STATE_LIST,
    SQ_BEGIN_READ,
    SQ_BEGIN_WRITE,
    SQ_COMMIT,
    SQ_ROLLBACK,
    SQ_STMT_COUNT
};

/* What a connection knows without reading (sqlite_known.c). */
typedef struct sq_known {
    unsigned version; /* the data version right after this connection's last commit */
    int valid;        /* what follows held at that commit */
    int usable;       /* a write transaction is open: what follows holds now */
    bf_store_run run;     /* id 0: none */
    bf_store_batch batch; /* id 0: none */
    int64_t event_run;    /* 0: none */
    int64_t event_last;   /* the last event id of event_run */
    char *buf[3];         /* the strings of run, of batch, and a spare */
    size_t cap[3];
} sq_known;

typedef struct sq_store {
    sqlite3 *db;
    char *path;
    bf__busy busy; /* its wait for other connections' locks */
    sqlite3_stmt *stmt[SQ_STMT_COUNT];
    /*
     * The claimable batch the last full walk of a run found (sqlite_open_batches.c),
     * good within the same transaction while the connection has made no change:
     * its id and its record, read by the walk itself (strings in scratch[2]).
     */
    int64_t walk_run;
    int64_t walk_now;
    int64_t walk_changes;
    int64_t walk_next;
    bf_store_batch walk_batch;
    /*
     * Batches this connection moved out of play (finished) since it last
     * unlisted them, and the least and greatest of their ids.
     */
    int64_t finished_since_unlist;
    int64_t finished_lo;
    int64_t finished_hi;
    /*
     * Copies of the strings of the last run and batch read (run_get,
     * batch_get) and of the walk's claimable batch.
     */
    char *scratch[3];
    size_t scratch_cap[3];
    sq_known known;
} sq_store;

/*
 * What the connection knows without reading (sqlite_known.c). begin, commit
 * and rollback keep it in step with the transactions; the lookups return 1
 * and fill *out only inside a write transaction, when it still holds; the
 * setters return BF_E_NOMEM when they cannot keep a copy.
 */
void sq_known_begin(sq_store *s, int write);
void sq_known_commit(sq_store *s, int committed);
void sq_known_rollback(sq_store *s);
void sq_known_forget(sq_store *s);
int sq_known_run(bf_store_run *out, sq_store *s, int64_t id);
int sq_known_set_run(sq_store *s, const bf_store_run *r);
void sq_known_run_update(sq_store *s, const bf_store_run *r);
int sq_known_batch(bf_store_batch *out, sq_store *s, int64_t id);
int sq_known_set_batch(sq_store *s, const bf_store_batch *b);
int sq_known_batch_update(sq_store *s, const bf_store_batch *b);
int64_t sq_known_event_next(sq_store *s, int64_t run_id);
void sq_known_set_event(sq_store *s, int64_t run_id, int64_t id);

/* Map a SQLite failure to a BF_E_* code with a message naming the ledger file. */
int sq_fail(sq_store *s, int rc, const char *doing);

/* Run a statement that returns no rows and reset it; BF_OK or the failure, named by `doing`. */
int sq_step_done(sq_store *s, sqlite3_stmt *st, const char *doing);

/* The statement for `which`, prepared on first use and reset for a new use. */
int sq_stmt(sqlite3_stmt **out, sq_store *s, enum sq_stmt which);

/*
 * Read the row `st` stands on, whose columns are BATCH_COLUMNS, into *out,
 * with its strings copied into scratch buffer `slot` (they survive the reset).
 */
int sq_batch_row(bf_store_batch *out, sq_store *s, int slot, sqlite3_stmt *st);

/* Copy the strings of *b into scratch buffer `slot` and point *b at the copies. */
int sq_batch_keep(bf_store_batch *b, sq_store *s, int slot);

/*
 * Identify the file as a ledger, reading only: *out_version is its schema
 * version. BF_E_PARSE for anything else (another database, an empty one, a
 * file that is no database), BF_E_UNSUPPORTED for a newer schema.
 */
int sq_schema_check(int *out_version, sq_store *s);

/*
 * Apply the forward migrations to a ledger of schema `version` (0 for the
 * empty database of a ledger being created).
 */
int sq_schema_prepare(sq_store *s, int version);

/* A forward migration: the schema version it produces and the SQL that does it. */
typedef struct sq_migration {
    int version;
    const char *description;
    const char *sql;
} sq_migration;

/* Apply every migration of `list` above the file's version, in one write transaction. */
int sq_schema_migrate(sq_store *s, const sq_migration *list, size_t count);

/* The schema version the file records (0 for a fresh database). */
int sq_schema_version(int *out, sq_store *s);

/* The record members of the vtable (sqlite_records.c); see sys/store.h. */
int sq_run_insert(void *store, int64_t *out, const bf_store_run *run);
int sq_run_get(void *store, bf_store_run *out, int64_t id);
int sq_run_update(void *store, const bf_store_run *run);
int sq_run_find(void *store, int64_t *out, const char *brief_name, int unfinished_only);
int sq_run_list(void *store, bf_store_run_fn each, void *userdata);
int sq_batch_insert(void *store, int64_t *out, const bf_store_batch *batch);
int sq_batch_get(void *store, bf_store_batch *out, int64_t id);
int sq_batch_update(void *store, const bf_store_batch *batch);
int sq_batch_next_pending(void *store, bf_store_batch *out, int64_t run_id, int64_t now);
int sq_batch_running(void *store, int64_t *out_live, int64_t *out_expired, int64_t run_id,
                     int64_t now);
int sq_batch_counts(void *store, bf_store_counts *out, int64_t run_id);
int sq_batch_list(void *store, int64_t run_id, int state, bf_store_batch_fn each, void *userdata);
int sq_event_append(void *store, const bf_store_event *event);
int sq_event_list(void *store, int64_t run_id, bf_store_event_fn each, void *userdata);
int sq_validation_put(void *store, const bf_store_validation *validation);
int sq_validation_list(void *store, int64_t run_id, int64_t batch_id, bf_store_validation_fn each,
                       void *userdata);
int sq_before_state_put(void *store, const bf_store_before_state *state);
int sq_before_state_list(void *store, int64_t run_id, int64_t batch_id,
                         bf_store_before_state_fn each, void *userdata);

/* The migrations this library knows, oldest first (tests build older ledgers from a prefix). */
const sq_migration *sq_migrations(size_t *count);

#endif
