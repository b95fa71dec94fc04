/*
 * A ledger store written outside the library, against <backfill/sys/store.h>
 * and <backfill/sys/errors.h> only (and the public state values of
 * <backfill/ledger.h>): plain SQL over a SQLite file the store opens itself,
 * with none of the built-in store's code. The ledger's conformance cases run
 * through it as well as through bf_store_sqlite(). Its tables are named like
 * the built-in store's (runs, batches, events, validations, before_states,
 * with state, run_id, batch_id, subject, from_state, to_state, detail,
 * finished_at, passed), so the cases' checks by SQL read either file. It
 * implements the newest vtable version; xs_vtable_of() gives the vtable a
 * store of an older version would register.
 *
 * The host userdata counts opens and is released through the destructor the
 * ledger calls at close.
 */
#ifndef BF_TEST_EXT_STORE_H
#define BF_TEST_EXT_STORE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "backfill/ledger.h"
#include "backfill/sys/errors.h"
#include "backfill/sys/store.h"

typedef struct xs_host {
    int opens;
    int *freed; /* set to 1 by the destructor */
} xs_host;

static void xs_free_host(void *userdata)
{
    xs_host *h = userdata;

    if (h->freed)
        *h->freed = 1;
    free(h);
}

enum { XS_RUN_GET, XS_BATCH_GET, XS_SLOTS };

typedef struct xs_store {
    sqlite3 *db;
    char *location;
    char *keep[XS_SLOTS][8]; /* strings of the last record each getter filled */
} xs_store;

/* A record member: its column, its kind (i int64, n int, s text) and place. */
typedef struct xs_col {
    const char *name;
    char kind;
    size_t off;
} xs_col;

#define XR(m, k) {#m, k, offsetof(bf_store_run, m)}
static const xs_col xs_run_cols[] = {
    XR(id, 'i'), XR(brief_name, 's'), XR(seq, 'i'), XR(state, 'n'), XR(brief_json, 's'),
    XR(plan_fingerprint, 's'), XR(dimension, 'n'), XR(plan_column, 's'), XR(code_version, 's'),
    XR(operator_name, 's'), XR(params_json, 's'), XR(max_concurrency, 'i'),
    XR(max_attempts, 'i'), XR(retry_backoff_us, 'i'), XR(lease_us, 'i'), XR(batch_count, 'i'),
    XR(created_at, 'i'), XR(started_at, 'i'), XR(updated_at, 'i'), XR(finished_at, 'i'),
};
#define XB(m, k) {#m, k, offsetof(bf_store_batch, m)}
static const xs_col xs_batch_cols[] = {
    XB(id, 'i'), XB(run_id, 'i'), XB(ordinal, 'i'), XB(parent_id, 'i'), XB(state, 'n'),
    XB(dimension, 'n'), XB(label, 's'), XB(lo, 'i'), XB(hi, 'i'), XB(params_json, 's'),
    XB(token, 'i'), XB(attempt, 'i'), XB(lease_until, 'i'), XB(not_before, 'i'),
    XB(worker, 's'), XB(started_at, 'i'), XB(finished_at, 'i'), XB(duration_us, 'i'),
    XB(rows_written, 'i'), XB(rows_deleted, 'i'), XB(fp_before, 's'), XB(fp_after, 's'),
    XB(idempotency_key, 's'), XB(error, 's'),
};
#define XE(m, k) {#m, k, offsetof(bf_store_event, m)}
static const xs_col xs_event_cols[] = {
    XE(run_id, 'i'), XE(seq, 'i'), XE(batch_id, 'i'), XE(subject, 's'), XE(from_state, 's'),
    XE(to_state, 's'), XE(actor, 's'), XE(at, 'i'), XE(detail, 's'),
};
#define XV(m, k) {#m, k, offsetof(bf_store_validation, m)}
#define XT(name, i) {name, 'i', offsetof(bf_store_validation, tally) + (i) * sizeof(int64_t)}
static const xs_col xs_validation_cols[] = {
    XV(run_id, 'i'), XV(batch_id, 'i'), XV(passed, 'n'), XT("n_pass", 0), XT("n_warn", 1),
    XT("n_fail", 2), XT("n_error", 3), XT("n_skipped", 4), XV(results_json, 's'),
    XV(created_at, 'i'), XV(updated_at, 'i'),
};
#define XS(m, k) {#m, k, offsetof(bf_store_before_state, m)}
static const xs_col xs_before_state_cols[] = {
    XS(run_id, 'i'), XS(batch_id, 'i'), XS(state_json, 's'), XS(created_at, 'i'),
    XS(updated_at, 'i'),
};
#undef XR
#undef XB
#undef XE
#undef XV
#undef XT
#undef XS

static int xs_fail(xs_store *s, int rc, const char *doing)
{
    int code = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ? BF_E_BUSY : BF_E_IO;

    return bf_error_set(code, "ledger %s: external store: %s: %s", s->location, doing,
                        sqlite3_errmsg(s->db));
}

static int xs_exec(xs_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? BF_OK : xs_fail(s, rc, doing);
}

static int xs_prepare(xs_store *s, sqlite3_stmt **st, const char *sql)
{
    int rc = sqlite3_prepare_v2(s->db, sql, -1, st, NULL);

    return rc == SQLITE_OK ? BF_OK : xs_fail(s, rc, "preparing a statement");
}

static void xs_bind_cols(sqlite3_stmt *st, int first, const xs_col *cols, size_t n,
                         const void *rec)
{
    for (size_t i = 0; i < n; i++) {
        const char *p = (const char *)rec + cols[i].off;

        if (cols[i].kind == 'i')
            sqlite3_bind_int64(st, first + (int)i, *(const int64_t *)p);
        else if (cols[i].kind == 'n')
            sqlite3_bind_int(st, first + (int)i, *(const int *)p);
        else if (*(const char *const *)p)
            sqlite3_bind_text(st, first + (int)i, *(const char *const *)p, -1, SQLITE_TRANSIENT);
        else
            sqlite3_bind_null(st, first + (int)i);
    }
}

/* Fill a record from the row; with `keep`, strings are copied into that slot. */
static int xs_read_cols(void *rec, sqlite3_stmt *st, const xs_col *cols, size_t n, char **keep)
{
    size_t kept = 0;

    for (size_t i = 0; i < n; i++) {
        char *p = (char *)rec + cols[i].off;

        if (cols[i].kind == 'i') {
            *(int64_t *)p = sqlite3_column_int64(st, (int)i);
        } else if (cols[i].kind == 'n') {
            *(int *)p = sqlite3_column_int(st, (int)i);
        } else {
            const char *t = (const char *)sqlite3_column_text(st, (int)i);

            if (t && keep) {
                free(keep[kept]);
                keep[kept] = strdup(t);
                if (!keep[kept])
                    return bf_error_set(BF_E_NOMEM, "external store: out of memory");
                t = keep[kept++];
            }
            *(const char **)p = t;
        }
    }
    return BF_OK;
}

static void xs_list(char *buf, size_t size, const xs_col *cols, size_t n, size_t skip)
{
    buf[0] = '\0';
    for (size_t i = skip; i < n; i++) {
        strncat(buf, cols[i].name, size - strlen(buf) - 1);
        if (i + 1 < n)
            strncat(buf, ", ", size - strlen(buf) - 1);
    }
}

static const char xs_schema[] =
    "CREATE TABLE IF NOT EXISTS runs (id INTEGER PRIMARY KEY, brief_name TEXT, seq INTEGER,"
    " state INTEGER, brief_json TEXT, plan_fingerprint TEXT, dimension INTEGER, plan_column TEXT,"
    " code_version TEXT, operator_name TEXT, params_json TEXT, max_concurrency INTEGER,"
    " max_attempts INTEGER, retry_backoff_us INTEGER, lease_us INTEGER, batch_count INTEGER,"
    " created_at INTEGER, started_at INTEGER, updated_at INTEGER, finished_at INTEGER);"
    "CREATE TABLE IF NOT EXISTS batches (id INTEGER PRIMARY KEY, run_id INTEGER, ordinal INTEGER,"
    " parent_id INTEGER, state INTEGER, dimension INTEGER, label TEXT, lo INTEGER, hi INTEGER,"
    " params_json TEXT, token INTEGER, attempt INTEGER, lease_until INTEGER, not_before INTEGER,"
    " worker TEXT, started_at INTEGER, finished_at INTEGER, duration_us INTEGER,"
    " rows_written INTEGER, rows_deleted INTEGER, fp_before TEXT, fp_after TEXT,"
    " idempotency_key TEXT, error TEXT);"
    "CREATE TABLE IF NOT EXISTS events (run_id INTEGER, seq INTEGER, batch_id INTEGER,"
    " subject TEXT, from_state TEXT, to_state TEXT, actor TEXT, at INTEGER, detail TEXT,"
    " PRIMARY KEY (run_id, seq));"
    "CREATE TABLE IF NOT EXISTS validations (run_id INTEGER, batch_id INTEGER, passed INTEGER,"
    " n_pass INTEGER, n_warn INTEGER, n_fail INTEGER, n_error INTEGER, n_skipped INTEGER,"
    " results_json TEXT, created_at INTEGER, updated_at INTEGER, PRIMARY KEY (run_id, batch_id));"
    "CREATE TABLE IF NOT EXISTS before_states (run_id INTEGER, batch_id INTEGER, state_json TEXT,"
    " created_at INTEGER, updated_at INTEGER, PRIMARY KEY (run_id, batch_id));";

static void xs_close(void *store)
{
    xs_store *s = store;

    if (!s)
        return;
    for (int i = 0; i < XS_SLOTS; i++)
        for (int j = 0; j < 8; j++)
            free(s->keep[i][j]);
    sqlite3_close(s->db);
    free(s->location);
    free(s);
}

static int xs_open(void *userdata, void **out, const char *location,
                   const bf_store_config *config)
{
    xs_host *h = userdata;
    int flags = SQLITE_OPEN_READWRITE | (config->create ? SQLITE_OPEN_CREATE : 0);
    xs_store *s = calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s || !(s->location = strdup(location))) {
        free(s);
        return bf_error_set(BF_E_NOMEM, "external store: out of memory");
    }
    if (h)
        h->opens++;
    rc = sqlite3_open_v2(location, &s->db, flags, NULL);
    if (rc != SQLITE_OK) {
        rc = bf_error_set(config->create ? BF_E_IO : BF_E_NOT_FOUND,
                          "ledger %s: external store cannot open it: %s", location,
                          sqlite3_errstr(rc));
        xs_close(s);
        return rc;
    }
    sqlite3_busy_timeout(s->db, config->busy_timeout_ms);
    rc = xs_exec(s, config->durability ? "PRAGMA synchronous = NORMAL" : "PRAGMA synchronous = FULL",
                 "setting durability");
    if (rc == BF_OK)
        rc = xs_exec(s, xs_schema, "creating the tables");
    if (rc != BF_OK) {
        xs_close(s);
        return rc;
    }
    *out = s;
    return BF_OK;
}

static int xs_begin(void *store, int write)
{
    return xs_exec(store, write ? "BEGIN IMMEDIATE" : "BEGIN", "starting a transaction");
}

static int xs_commit(void *store)
{
    return xs_exec(store, "COMMIT", "committing");
}

static void xs_rollback(void *store)
{
    xs_store *s = store;

    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Step a statement that returns no row, and finalize it. */
static int xs_done(xs_store *s, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);

    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BF_OK : xs_fail(s, rc, doing);
}

/* The first column of the first row, or BF_E_NOT_FOUND (no message); finalizes. */
static int xs_int(xs_store *s, sqlite3_stmt *st, int64_t *out, const char *doing)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return BF_OK;
    return rc == SQLITE_DONE ? BF_E_NOT_FOUND : xs_fail(s, rc, doing);
}

static int xs_run_insert(void *store, int64_t *out, const bf_store_run *run)
{
    xs_store *s = store;
    size_t n = sizeof xs_run_cols / sizeof xs_run_cols[0];
    bf_store_run r = *run;
    sqlite3_stmt *st;
    char cols[600], sql[1400], marks[200] = "?";
    int rc;

    rc = xs_prepare(s, &st, "SELECT COALESCE(MAX(seq), 0) + 1 FROM runs WHERE brief_name = ?");
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_text(st, 1, run->brief_name, -1, SQLITE_TRANSIENT);
    if ((rc = xs_int(s, st, &r.seq, "numbering a run")) != BF_OK)
        return rc;
    xs_list(cols, sizeof cols, xs_run_cols, n, 1); /* the id is the database's */
    for (size_t i = 2; i < n; i++)
        strcat(marks, ", ?");
    snprintf(sql, sizeof sql, "INSERT INTO runs (%s) VALUES (%s)", cols, marks);
    if ((rc = xs_prepare(s, &st, sql)) != BF_OK)
        return rc;
    xs_bind_cols(st, 1, xs_run_cols + 1, n - 1, &r);
    if ((rc = xs_done(s, st, "inserting a run")) != BF_OK)
        return rc;
    *out = sqlite3_last_insert_rowid(s->db);
    return BF_OK;
}

static int xs_select(xs_store *s, sqlite3_stmt **st, const xs_col *cols, size_t n,
                     const char *rest)
{
    char list[800], sql[1400];

    xs_list(list, sizeof list, cols, n, 0);
    snprintf(sql, sizeof sql, "SELECT %s FROM %s", list, rest);
    return xs_prepare(s, st, sql);
}

static int xs_run_get(void *store, bf_store_run *out, int64_t id)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_select(s, &st, xs_run_cols, sizeof xs_run_cols / sizeof xs_run_cols[0],
                       "runs WHERE id = ?");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        rc = xs_read_cols(out, st, xs_run_cols, sizeof xs_run_cols / sizeof xs_run_cols[0],
                          s->keep[XS_RUN_GET]);
    else if (rc == SQLITE_DONE)
        rc = bf_error_set(BF_E_NOT_FOUND, "ledger %s: no run %lld", s->location, (long long)id);
    else
        rc = xs_fail(s, rc, "reading a run");
    sqlite3_finalize(st);
    return rc;
}

static int xs_run_update(void *store, const bf_store_run *run)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_prepare(s, &st, "UPDATE runs SET state = ?, started_at = ?, updated_at = ?, "
                                "finished_at = ? WHERE id = ?");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int(st, 1, run->state);
    sqlite3_bind_int64(st, 2, run->started_at);
    sqlite3_bind_int64(st, 3, run->updated_at);
    sqlite3_bind_int64(st, 4, run->finished_at);
    sqlite3_bind_int64(st, 5, run->id);
    return xs_done(s, st, "updating a run");
}

static int xs_run_find(void *store, int64_t *out, const char *brief_name, int unfinished_only)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_prepare(s, &st, "SELECT id FROM runs WHERE brief_name = ?1 AND (?2 = 0 OR "
                                "state NOT IN (?3, ?4, ?5)) ORDER BY seq DESC LIMIT 1");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_text(st, 1, brief_name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, unfinished_only);
    sqlite3_bind_int(st, 3, BF_RUN_CANCELLED);
    sqlite3_bind_int(st, 4, BF_RUN_COMPLETED);
    sqlite3_bind_int(st, 5, BF_RUN_ROLLED_BACK);
    rc = xs_int(s, st, out, "finding a run");
    if (rc == BF_E_NOT_FOUND)
        return bf_error_set(BF_E_NOT_FOUND, "ledger %s: no %srun of brief %s", s->location,
                            unfinished_only ? "unfinished " : "", brief_name);
    return rc;
}

/* Call each(userdata, record) for every row; the record's strings are the row's. */
static int xs_each(xs_store *s, sqlite3_stmt *st, const xs_col *cols, size_t n, void *rec,
                   int (*each)(void *, const void *), void *userdata, const char *doing)
{
    int rc, step;

    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        xs_read_cols(rec, st, cols, n, NULL);
        if ((rc = each(userdata, rec)) != BF_OK) {
            sqlite3_finalize(st);
            return rc;
        }
    }
    sqlite3_finalize(st);
    return step == SQLITE_DONE ? BF_OK : xs_fail(s, step, doing);
}

static int xs_run_list(void *store, bf_store_run_fn each, void *userdata)
{
    xs_store *s = store;
    bf_store_run r;
    sqlite3_stmt *st;
    size_t n = sizeof xs_run_cols / sizeof xs_run_cols[0];
    int rc = xs_select(s, &st, xs_run_cols, n, "runs ORDER BY id");

    if (rc != BF_OK)
        return rc;
    return xs_each(s, st, xs_run_cols, n, &r, (int (*)(void *, const void *))each, userdata,
                   "listing runs");
}

static int xs_batch_insert(void *store, int64_t *out, const bf_store_batch *batch)
{
    xs_store *s = store;
    size_t n = sizeof xs_batch_cols / sizeof xs_batch_cols[0];
    bf_store_batch b = *batch;
    sqlite3_stmt *st;
    char cols[800], sql[1400], marks[200] = "?";
    int rc;

    if (!b.id) { /* the next id of the run's range, as the ledger numbers them */
        rc = xs_prepare(s, &st, "SELECT COALESCE(MAX(id), ?1 * 1000000000) + 1 FROM batches "
                                "WHERE run_id = ?1");
        if (rc != BF_OK)
            return rc;
        sqlite3_bind_int64(st, 1, b.run_id);
        if ((rc = xs_int(s, st, &b.id, "numbering a batch")) != BF_OK)
            return rc;
    }
    xs_list(cols, sizeof cols, xs_batch_cols, n, 0);
    for (size_t i = 1; i < n; i++)
        strcat(marks, ", ?");
    snprintf(sql, sizeof sql, "INSERT INTO batches (%s) VALUES (%s)", cols, marks);
    if ((rc = xs_prepare(s, &st, sql)) != BF_OK)
        return rc;
    xs_bind_cols(st, 1, xs_batch_cols, n, &b);
    if ((rc = xs_done(s, st, "inserting a batch")) != BF_OK)
        return rc;
    *out = b.id;
    return BF_OK;
}

/* The first batch the statement finds into *out; BF_E_NOT_FOUND (no message) without one. */
static int xs_one_batch(xs_store *s, sqlite3_stmt *st, bf_store_batch *out)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW)
        rc = xs_read_cols(out, st, xs_batch_cols, sizeof xs_batch_cols / sizeof xs_batch_cols[0],
                          s->keep[XS_BATCH_GET]);
    else
        rc = rc == SQLITE_DONE ? BF_E_NOT_FOUND : xs_fail(s, rc, "reading a batch");
    sqlite3_finalize(st);
    return rc;
}

static int xs_batch_get(void *store, bf_store_batch *out, int64_t id)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_select(s, &st, xs_batch_cols, sizeof xs_batch_cols / sizeof xs_batch_cols[0],
                       "batches WHERE id = ?");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = xs_one_batch(s, st, out);
    if (rc == BF_E_NOT_FOUND)
        return bf_error_set(BF_E_NOT_FOUND, "ledger %s: no batch %lld", s->location,
                            (long long)id);
    return rc;
}

static int xs_batch_update(void *store, const bf_store_batch *batch)
{
    xs_store *s = store;
    size_t n = sizeof xs_batch_cols / sizeof xs_batch_cols[0];
    sqlite3_stmt *st;
    char sql[1400] = "UPDATE batches SET ";
    int rc;

    for (size_t i = 1; i < n; i++) {
        strcat(sql, xs_batch_cols[i].name);
        strcat(sql, i + 1 < n ? " = ?, " : " = ?");
    }
    strcat(sql, " WHERE id = ?");
    if ((rc = xs_prepare(s, &st, sql)) != BF_OK)
        return rc;
    xs_bind_cols(st, 1, xs_batch_cols + 1, n - 1, batch);
    sqlite3_bind_int64(st, (int)n, batch->id);
    return xs_done(s, st, "updating a batch");
}

static int xs_batch_next_pending(void *store, bf_store_batch *out, int64_t run_id, int64_t now)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_select(s, &st, xs_batch_cols, sizeof xs_batch_cols / sizeof xs_batch_cols[0],
                       "batches WHERE run_id = ?1 AND state = ?2 AND not_before <= ?3 "
                       "ORDER BY ordinal, id LIMIT 1");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, BF_BATCH_PENDING);
    sqlite3_bind_int64(st, 3, now);
    return xs_one_batch(s, st, out);
}

static int xs_batch_running(void *store, int64_t *out_live, int64_t *out_expired, int64_t run_id,
                            int64_t now)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_prepare(s, &st, "SELECT count(CASE WHEN lease_until > ?3 THEN 1 END), "
                                "COALESCE(MIN(CASE WHEN lease_until <= ?3 THEN id END), 0) "
                                "FROM batches WHERE run_id = ?1 AND state = ?2");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, BF_BATCH_RUNNING);
    sqlite3_bind_int64(st, 3, now);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out_live = sqlite3_column_int64(st, 0);
        *out_expired = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? BF_OK : xs_fail(s, rc, "counting running batches");
}

static int xs_batch_counts(void *store, bf_store_counts *out, int64_t run_id)
{
    xs_store *s = store;
    sqlite3_stmt *st;
    int rc = xs_prepare(s, &st, "SELECT state, count(*), COALESCE(SUM(rows_written), 0), "
                                "COALESCE(SUM(rows_deleted), 0), count(NULLIF(duration_us, 0)), "
                                "COALESCE(SUM(duration_us), 0) FROM batches WHERE run_id = ? "
                                "GROUP BY state");

    if (rc != BF_OK)
        return rc;
    memset(out, 0, sizeof *out);
    sqlite3_bind_int64(st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);

        if (state >= 0 && state < BF_STORE_MAX_STATES)
            out->by_state[state] = sqlite3_column_int64(st, 1);
        out->rows_written += sqlite3_column_int64(st, 2);
        out->rows_deleted += sqlite3_column_int64(st, 3);
        out->done_count += sqlite3_column_int64(st, 4);
        out->done_duration_us += sqlite3_column_int64(st, 5);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BF_OK : xs_fail(s, rc, "counting batches");
}

static int xs_batch_list(void *store, int64_t run_id, int state, bf_store_batch_fn each,
                         void *userdata)
{
    xs_store *s = store;
    size_t n = sizeof xs_batch_cols / sizeof xs_batch_cols[0];
    bf_store_batch b;
    sqlite3_stmt *st;
    int rc = xs_select(s, &st, xs_batch_cols, n, "batches WHERE run_id = ?1 AND "
                                                 "(?2 < 0 OR state = ?2) ORDER BY ordinal, id");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, state);
    return xs_each(s, st, xs_batch_cols, n, &b, (int (*)(void *, const void *))each, userdata,
                   "listing batches");
}

static int xs_event_append(void *store, const bf_store_event *event)
{
    xs_store *s = store;
    size_t n = sizeof xs_event_cols / sizeof xs_event_cols[0];
    bf_store_event e = *event;
    sqlite3_stmt *st;
    int rc = xs_prepare(s, &st, "SELECT COALESCE(MAX(seq), 0) + 1 FROM events WHERE run_id = ?");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, e.run_id);
    if ((rc = xs_int(s, st, &e.seq, "numbering an event")) != BF_OK)
        return rc;
    rc = xs_prepare(s, &st, "INSERT INTO events (run_id, seq, batch_id, subject, from_state, "
                            "to_state, actor, at, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (rc != BF_OK)
        return rc;
    xs_bind_cols(st, 1, xs_event_cols, n, &e);
    return xs_done(s, st, "appending an event");
}

static int xs_event_list(void *store, int64_t run_id, bf_store_event_fn each, void *userdata)
{
    xs_store *s = store;
    size_t n = sizeof xs_event_cols / sizeof xs_event_cols[0];
    bf_store_event e;
    sqlite3_stmt *st;
    int rc = xs_select(s, &st, xs_event_cols, n, "events WHERE run_id = ? ORDER BY seq");

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    return xs_each(s, st, xs_event_cols, n, &e, (int (*)(void *, const void *))each, userdata,
                   "listing events");
}

/*
 * Insert or replace the record of (run_id, batch_id) in `table`, keeping the
 * created_at of a record already there: a plain UPDATE, then an INSERT when
 * it changed no row (no upsert syntax, as a store on another database would
 * do it). `cols` start with run_id and batch_id and end with created_at and
 * updated_at.
 */
static int xs_put(xs_store *s, const char *table, const xs_col *cols, size_t n, const void *rec,
                  const char *doing)
{
    sqlite3_stmt *st;
    char list[400], sql[1000], marks[100] = "?";
    int rc;

    /* SET every member but the key (first two) and created_at (next to last). */
    snprintf(sql, sizeof sql, "UPDATE %s SET ", table);
    for (size_t i = 2; i < n; i++) {
        if (i == n - 2)
            continue;
        strncat(sql, cols[i].name, sizeof sql - strlen(sql) - 1);
        strncat(sql, i + 1 < n ? " = ?, " : " = ?", sizeof sql - strlen(sql) - 1);
    }
    strncat(sql, " WHERE run_id = ? AND batch_id = ?", sizeof sql - strlen(sql) - 1);
    if ((rc = xs_prepare(s, &st, sql)) != BF_OK)
        return rc;
    xs_bind_cols(st, 1, cols + 2, n - 4, rec);
    xs_bind_cols(st, (int)n - 3, cols + n - 1, 1, rec);
    xs_bind_cols(st, (int)n - 2, cols, 2, rec);
    if ((rc = xs_done(s, st, doing)) != BF_OK)
        return rc;
    if (sqlite3_changes(s->db) > 0)
        return BF_OK;
    xs_list(list, sizeof list, cols, n, 0);
    for (size_t i = 1; i < n; i++)
        strcat(marks, ", ?");
    snprintf(sql, sizeof sql, "INSERT INTO %s (%s) VALUES (%s)", table, list, marks);
    if ((rc = xs_prepare(s, &st, sql)) != BF_OK)
        return rc;
    xs_bind_cols(st, 1, cols, n, rec);
    return xs_done(s, st, doing);
}

/* The run's records of `table` by batch id, only batch `batch_id`'s unless it is negative. */
static int xs_list_records(xs_store *s, const char *table, const xs_col *cols, size_t n,
                           void *rec, int64_t run_id, int64_t batch_id,
                           int (*each)(void *, const void *), void *userdata, const char *doing)
{
    sqlite3_stmt *st;
    char rest[200];
    int rc;

    snprintf(rest, sizeof rest, "%s WHERE run_id = ?1 AND (?2 < 0 OR batch_id = ?2) "
                                "ORDER BY batch_id", table);
    if ((rc = xs_select(s, &st, cols, n, rest)) != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, batch_id);
    return xs_each(s, st, cols, n, rec, each, userdata, doing);
}

static int xs_validation_put(void *store, const bf_store_validation *v)
{
    return xs_put(store, "validations", xs_validation_cols,
                  sizeof xs_validation_cols / sizeof xs_validation_cols[0], v,
                  "recording validation results");
}

static int xs_validation_list(void *store, int64_t run_id, int64_t batch_id,
                              bf_store_validation_fn each, void *userdata)
{
    bf_store_validation v;

    return xs_list_records(store, "validations", xs_validation_cols,
                           sizeof xs_validation_cols / sizeof xs_validation_cols[0], &v, run_id,
                           batch_id, (int (*)(void *, const void *))each, userdata,
                           "listing validation results");
}

static int xs_before_state_put(void *store, const bf_store_before_state *b)
{
    return xs_put(store, "before_states", xs_before_state_cols,
                  sizeof xs_before_state_cols / sizeof xs_before_state_cols[0], b,
                  "recording a before-state");
}

static int xs_before_state_list(void *store, int64_t run_id, int64_t batch_id,
                                bf_store_before_state_fn each, void *userdata)
{
    bf_store_before_state b;

    return xs_list_records(store, "before_states", xs_before_state_cols,
                           sizeof xs_before_state_cols / sizeof xs_before_state_cols[0], &b,
                           run_id, batch_id, (int (*)(void *, const void *))each, userdata,
                           "listing before-states");
}

/*
 * The vtable of `version` (1 to BF_STORE_VTABLE_VERSION), filled through
 * bf_store_vtable_init() as a host would, into a caller's variable (the
 * ledger copies it, so it may be on the stack): a store written for an older
 * library sets only its version's members.
 */
static inline void xs_vtable_of(bf_store_vtable *vt, unsigned version)
{
    memset(vt, 0, sizeof *vt);
    bf_store_vtable_init(vt, version);
    vt->open = xs_open;
    vt->close = xs_close;
    vt->begin = xs_begin;
    vt->commit = xs_commit;
    vt->rollback = xs_rollback;
    vt->run_insert = xs_run_insert;
    vt->run_get = xs_run_get;
    vt->run_update = xs_run_update;
    vt->run_find = xs_run_find;
    vt->run_list = xs_run_list;
    vt->batch_insert = xs_batch_insert;
    vt->batch_get = xs_batch_get;
    vt->batch_update = xs_batch_update;
    vt->batch_next_pending = xs_batch_next_pending;
    vt->batch_running = xs_batch_running;
    vt->batch_counts = xs_batch_counts;
    vt->batch_list = xs_batch_list;
    vt->event_append = xs_event_append;
    vt->event_list = xs_event_list;
    if (version >= 2) {
        vt->validation_put = xs_validation_put;
        vt->validation_list = xs_validation_list;
    }
    if (version >= 3) {
        vt->before_state_put = xs_before_state_put;
        vt->before_state_list = xs_before_state_list;
    }
}

/* The vtable of the newest version, every member set. */
static inline void xs_vtable(bf_store_vtable *vt)
{
    xs_vtable_of(vt, BF_STORE_VTABLE_VERSION);
}

#endif
