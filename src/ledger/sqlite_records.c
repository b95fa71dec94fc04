/*
 * The SQLite store's records: one prepared statement per operation, kept for
 * the life of the connection. Statements are reset right after use so that
 * no read snapshot outlives its transaction; strings of a record read by
 * *_get are therefore copied into the store's scratch buffer.
 */
#include <string.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

#define RUN_COLUMNS \
    "id, brief_name, seq, state, brief_json, plan_fingerprint, dimension, plan_column, " \
    "code_version, operator, params_json, max_concurrency, max_attempts, retry_backoff_us, " \
    "lease_us, batch_count, created_at, started_at, updated_at, finished_at"

#define BATCH_COLUMNS \
    "id, run_id, ordinal, parent_id, state, dimension, label, lo, hi, params, token, attempt, " \
    "lease_until, not_before, worker, started_at, finished_at, duration_us, rows_written, " \
    "rows_deleted, fp_before, fp_after, idempotency_key, error"

/* The next event id of run ?1: one more than its last, or run_id * 10^12 + 1. */
#define EVENT_NEXT_ID \
    "(COALESCE((SELECT id FROM events WHERE id BETWEEN ?1 * 1000000000000 " \
    "AND ?1 * 1000000000000 + 999999999999 ORDER BY id DESC LIMIT 1), ?1 * 1000000000000) + 1)"

static const char *const sq_sql[SQ_STMT_COUNT] = {
    [SQ_RUN_INSERT] =
        "INSERT INTO runs (brief_name, seq, state, brief_json, plan_fingerprint, dimension, "
        "plan_column, code_version, operator, params_json, max_concurrency, max_attempts, "
        "retry_backoff_us, lease_us, batch_count, created_at, started_at, updated_at, finished_at) "
        "VALUES (?1, (SELECT COALESCE(MAX(seq), 0) + 1 FROM runs WHERE brief_name = ?1), ?2, ?3, "
        "?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    /* Without the brief and parameters, which can be long and which no transition reads. */
    [SQ_RUN_GET] = "SELECT id, brief_name, seq, state, NULL, plan_fingerprint, dimension, "
                   "plan_column, code_version, operator, NULL, max_concurrency, max_attempts, "
                   "retry_backoff_us, lease_us, batch_count, created_at, started_at, updated_at, "
                   "finished_at FROM runs WHERE id = ?",
    [SQ_RUN_UPDATE] =
        "UPDATE runs SET state = ?2, started_at = ?3, updated_at = ?4, finished_at = ?5 WHERE id = ?1",
    [SQ_RUN_FIND] = "SELECT id FROM runs WHERE brief_name = ?1 AND (?2 = 0 OR state NOT IN (3, 8, 9)) "
                    "ORDER BY seq DESC LIMIT 1",
    [SQ_RUN_LIST] = "SELECT " RUN_COLUMNS " FROM runs ORDER BY id",
    /* The next id of the run's range (see sqlite_schema.c). */
    [SQ_BATCH_INSERT] =
        "INSERT INTO batches (id, run_id, ordinal, parent_id, state, dimension, label, lo, hi, "
        "params, token, attempt, lease_until, not_before, listed) VALUES (COALESCE(?14, (SELECT "
        "COALESCE(MAX(id), ?1 * 1000000000) + 1 FROM batches WHERE id BETWEEN ?1 * 1000000000 "
        "AND ?1 * 1000000000 + 999999999)), ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
        "?3 != 0 OR ?14 IS NULL)",
    [SQ_BATCH_GET] = "SELECT " BATCH_COLUMNS " FROM batches WHERE id = ?",
    [SQ_BATCH_UPDATE] =
        "UPDATE batches SET state = ?2, token = ?3, attempt = ?4, lease_until = ?5, "
        "not_before = ?6, worker = ?7, started_at = ?8, finished_at = ?9, duration_us = ?10, "
        "rows_written = ?11, rows_deleted = ?12, fp_before = ?13, fp_after = ?14, "
        "idempotency_key = ?15, error = ?16 WHERE id = ?1",
    /*
     * The listed batches of a run still in play, in plan order (see
     * sqlite_open_batches.c): finished ones are passed over inside SQLite.
     */
    [SQ_BATCH_SCAN] = "SELECT " BATCH_COLUMNS " FROM batches "
                      "WHERE run_id = ?1 AND listed = 1 AND state < 2 ORDER BY ordinal, id",
    /*
     * Every finished batch of the run before ordinal ?2 off the claim's
     * list, in one statement (?2: where the walk met the first fresh batch,
     * after which none has finished).
     */
    [SQ_BATCH_UNLIST] = "UPDATE OR IGNORE batches SET listed = 0 WHERE run_id = ?1 AND listed = 1 "
                        "AND ordinal < ?2 AND state >= 2",
    /*
     * The same by a range of ids (those this connection finished): a search
     * of the table, not of the index it changes, so SQLite updates in one
     * pass instead of first copying the row ids into a temporary table.
     */
    [SQ_BATCH_UNLIST_RANGE] = "UPDATE OR IGNORE batches SET listed = 0 WHERE id BETWEEN ?1 AND ?2 "
                              "AND listed = 1 AND state >= 2",
    /* The ids between which lie the run's finished batches that SQ_BATCH_UNLIST would unlist. */
    [SQ_BATCH_FINISHED_SPAN] = "SELECT min(id), max(id) FROM batches WHERE run_id = ?1 "
                               "AND listed = 1 AND ordinal < ?2 AND state >= 2",
    [SQ_BATCH_RELIST] = "UPDATE batches SET listed = 1 WHERE id = ?1 AND listed = 0",
    [SQ_RUN_WINDOW] = "SELECT listed_to, batch_count FROM runs WHERE id = ?1",
    [SQ_RUN_SET_WINDOW] = "UPDATE runs SET listed_to = ?2 WHERE id = ?1",
    [SQ_BATCH_LIST_WINDOW] = "UPDATE OR IGNORE batches SET listed = 1 WHERE id BETWEEN ?1 AND ?2 "
                             "AND state = 0 AND parent_id = 0",
    /* total(): a floating sum, which cannot fail with "integer overflow" as SUM() can. */
    [SQ_BATCH_COUNTS] = "SELECT state, count(*), total(rows_written), total(rows_deleted), "
                        "count(NULLIF(duration_us, 0)), total(duration_us) FROM batches "
                        "WHERE id BETWEEN ?1 * 1000000000 AND ?1 * 1000000000 + 999999999 "
                        "GROUP BY state",
    [SQ_BATCH_LIST] = "SELECT " BATCH_COLUMNS " FROM batches "
                      "WHERE id BETWEEN ?1 * 1000000000 AND ?1 * 1000000000 + 999999999 "
                      "AND (?2 < 0 OR state = ?2) ORDER BY ordinal, id",
    /*
     * Event ids are run_id * 10^12 + seq (see sqlite_schema.c). VALUES with
     * the run's last id as a scalar subquery (one seek from the end of the
     * run's range): an INSERT ... SELECT that reads its own table would copy
     * its row through a temporary table first. ?9 is the id when the
     * connection knows it (sqlite_known.c).
     */
    [SQ_EVENT_APPEND] =
        "INSERT INTO events (id, run_id, seq, batch_id, subject, from_state, to_state, actor, at, "
        "detail) VALUES (COALESCE(?9, " EVENT_NEXT_ID "), ?1, COALESCE(?9, " EVENT_NEXT_ID ") "
        "- ?1 * 1000000000000, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    [SQ_EVENT_LIST] = "SELECT run_id, seq, batch_id, subject, from_state, to_state, actor, at, detail "
                      "FROM events WHERE id BETWEEN ?1 * 1000000000000 "
                      "AND ?1 * 1000000000000 + 999999999999 ORDER BY id",
    /* One record per (run, batch); a new recording keeps the first created_at. */
    [SQ_VALIDATION_PUT] =
        "INSERT INTO validations (run_id, batch_id, passed, n_pass, n_warn, n_fail, n_error, "
        "n_skipped, results_json, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
        "?9, ?10, ?10) ON CONFLICT (run_id, batch_id) DO UPDATE SET passed = excluded.passed, "
        "n_pass = excluded.n_pass, n_warn = excluded.n_warn, n_fail = excluded.n_fail, "
        "n_error = excluded.n_error, n_skipped = excluded.n_skipped, "
        "results_json = excluded.results_json, updated_at = excluded.updated_at",
    [SQ_VALIDATION_LIST] =
        "SELECT run_id, batch_id, passed, n_pass, n_warn, n_fail, n_error, n_skipped, "
        "results_json, created_at, updated_at FROM validations WHERE run_id = ?1 "
        "AND (?2 < 0 OR batch_id = ?2) ORDER BY batch_id",
    [SQ_BEFORE_STATE_PUT] =
        "INSERT INTO before_states (run_id, batch_id, state_json, created_at, updated_at) "
        "VALUES (?1, ?2, ?3, ?4, ?4) ON CONFLICT (run_id, batch_id) DO UPDATE SET "
        "state_json = excluded.state_json, updated_at = excluded.updated_at",
    [SQ_BEFORE_STATE_LIST] =
        "SELECT run_id, batch_id, state_json, created_at, updated_at FROM before_states "
        "WHERE run_id = ?1 AND (?2 < 0 OR batch_id = ?2) ORDER BY batch_id",
    [SQ_BEGIN_READ] = "BEGIN",
    [SQ_BEGIN_WRITE] = "BEGIN IMMEDIATE",
    [SQ_COMMIT] = "COMMIT",
    [SQ_ROLLBACK] = "ROLLBACK",
};

int sq_stmt(sqlite3_stmt **out, sq_store *s, enum sq_stmt which)
{
    int rc;

    if (!s->stmt[which]) {
        rc = sqlite3_prepare_v3(s->db, sq_sql[which], -1, SQLITE_PREPARE_PERSISTENT,
                                &s->stmt[which], NULL);
        if (rc != SQLITE_OK)
            return sq_fail(s, rc, "preparing a statement");
    } else {
        sqlite3_reset(s->stmt[which]);
    }
    *out = s->stmt[which];
    return BF_OK;
}

static void bind_text(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static const char *col_text(sqlite3_stmt *st, int i)
{
    return (const char *)sqlite3_column_text(st, i);
}

int sq_step_done(sq_store *s, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    return rc == SQLITE_DONE ? BF_OK : sq_fail(s, rc, doing);
}

/*
 * Copy the strings `fields` point at into the scratch buffer and point them
 * there, so they survive the statement's reset.
 */
static int keep_strings(sq_store *s, int slot, const char **fields[], size_t count)
{
    size_t need = 0, at = 0;

    for (size_t i = 0; i < count; i++)
        if (*fields[i])
            need += strlen(*fields[i]) + 1;
    if (need > s->scratch_cap[slot]) {
        char *grown = bf__malloc(need);

        if (!grown)
            return bf__nomem();
        bf__free(s->scratch[slot]);
        s->scratch[slot] = grown;
        s->scratch_cap[slot] = need;
    }
    for (size_t i = 0; i < count; i++) {
        size_t len;

        if (!*fields[i])
            continue;
        len = strlen(*fields[i]) + 1;
        memcpy(s->scratch[slot] + at, *fields[i], len);
        *fields[i] = s->scratch[slot] + at;
        at += len;
    }
    return BF_OK;
}

static void read_run(sqlite3_stmt *st, bf_store_run *r)
{
    r->id = sqlite3_column_int64(st, 0);
    r->brief_name = col_text(st, 1);
    r->seq = sqlite3_column_int64(st, 2);
    r->state = sqlite3_column_int(st, 3);
    r->brief_json = col_text(st, 4);
    r->plan_fingerprint = col_text(st, 5);
    r->dimension = sqlite3_column_int(st, 6);
    r->plan_column = col_text(st, 7);
    r->code_version = col_text(st, 8);
    r->operator_name = col_text(st, 9);
    r->params_json = col_text(st, 10);
    r->max_concurrency = sqlite3_column_int64(st, 11);
    r->max_attempts = sqlite3_column_int64(st, 12);
    r->retry_backoff_us = sqlite3_column_int64(st, 13);
    r->lease_us = sqlite3_column_int64(st, 14);
    r->batch_count = sqlite3_column_int64(st, 15);
    r->created_at = sqlite3_column_int64(st, 16);
    r->started_at = sqlite3_column_int64(st, 17);
    r->updated_at = sqlite3_column_int64(st, 18);
    r->finished_at = sqlite3_column_int64(st, 19);
}

static void read_batch(sqlite3_stmt *st, bf_store_batch *b)
{
    b->id = sqlite3_column_int64(st, 0);
    b->run_id = sqlite3_column_int64(st, 1);
    b->ordinal = sqlite3_column_int64(st, 2);
    b->parent_id = sqlite3_column_int64(st, 3);
    b->state = sqlite3_column_int(st, 4);
    b->dimension = sqlite3_column_int(st, 5);
    b->label = col_text(st, 6);
    b->lo = sqlite3_column_int64(st, 7);
    b->hi = sqlite3_column_int64(st, 8);
    b->params_json = col_text(st, 9);
    b->token = sqlite3_column_int64(st, 10);
    b->attempt = sqlite3_column_int64(st, 11);
    b->lease_until = sqlite3_column_int64(st, 12);
    b->not_before = sqlite3_column_int64(st, 13);
    b->worker = col_text(st, 14);
    b->started_at = sqlite3_column_int64(st, 15);
    b->finished_at = sqlite3_column_int64(st, 16);
    b->duration_us = sqlite3_column_int64(st, 17);
    b->rows_written = sqlite3_column_int64(st, 18);
    b->rows_deleted = sqlite3_column_int64(st, 19);
    b->fp_before = col_text(st, 20);
    b->fp_after = col_text(st, 21);
    b->idempotency_key = col_text(st, 22);
    b->error = col_text(st, 23);
}

int sq_run_insert(void *store, int64_t *out, const bf_store_run *r)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_RUN_INSERT);

    if (rc != BF_OK)
        return rc;
    bind_text(st, 1, r->brief_name);
    sqlite3_bind_int(st, 2, r->state);
    bind_text(st, 3, r->brief_json);
    bind_text(st, 4, r->plan_fingerprint);
    sqlite3_bind_int(st, 5, r->dimension);
    bind_text(st, 6, r->plan_column);
    bind_text(st, 7, r->code_version);
    bind_text(st, 8, r->operator_name);
    bind_text(st, 9, r->params_json);
    sqlite3_bind_int64(st, 10, r->max_concurrency);
    sqlite3_bind_int64(st, 11, r->max_attempts);
    sqlite3_bind_int64(st, 12, r->retry_backoff_us);
    sqlite3_bind_int64(st, 13, r->lease_us);
    sqlite3_bind_int64(st, 14, r->batch_count);
    sqlite3_bind_int64(st, 15, r->created_at);
    sqlite3_bind_int64(st, 16, r->started_at);
    sqlite3_bind_int64(st, 17, r->updated_at);
    sqlite3_bind_int64(st, 18, r->finished_at);
    rc = sq_step_done(s, st, "recording a run");
    if (rc == BF_OK)
        *out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int sq_run_get(void *store, bf_store_run *out, int64_t id)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    const char **fields[] = {&out->brief_name,   &out->brief_json,    &out->plan_fingerprint,
                             &out->plan_column,  &out->code_version,  &out->operator_name,
                             &out->params_json};
    int rc;

    if (sq_known_run(out, s, id))
        return keep_strings(s, 0, fields, BF_ARRAY_LEN(fields));
    rc = sq_stmt(&st, s, SQ_RUN_GET);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        read_run(st, out);
        rc = keep_strings(s, 0, fields, BF_ARRAY_LEN(fields));
        if (rc == BF_OK)
            rc = sq_known_set_run(s, out);
    } else if (rc == SQLITE_DONE) {
        rc = bf__error(BF_E_NOT_FOUND, "ledger %s: no run %lld", s->path, (long long)id);
    } else {
        rc = sq_fail(s, rc, "reading a run");
    }
    sqlite3_reset(st);
    return rc;
}

int sq_run_update(void *store, const bf_store_run *r)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_RUN_UPDATE);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, r->id);
    sqlite3_bind_int(st, 2, r->state);
    sqlite3_bind_int64(st, 3, r->started_at);
    sqlite3_bind_int64(st, 4, r->updated_at);
    sqlite3_bind_int64(st, 5, r->finished_at);
    rc = sq_step_done(s, st, "updating a run");
    if (rc == BF_OK)
        sq_known_run_update(s, r);
    return rc;
}

/* Run a statement whose first row's first column is an id; BF_E_NOT_FOUND without a row. */
static int step_id(int64_t *out, sq_store *s, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        rc = BF_OK;
    } else if (rc == SQLITE_DONE) {
        rc = BF_E_NOT_FOUND;
    } else {
        rc = sq_fail(s, rc, doing);
    }
    sqlite3_reset(st);
    return rc;
}

int sq_run_find(void *store, int64_t *out, const char *brief_name, int unfinished_only)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_RUN_FIND);

    if (rc != BF_OK)
        return rc;
    bind_text(st, 1, brief_name);
    sqlite3_bind_int(st, 2, unfinished_only);
    rc = step_id(out, s, st, "finding a run");
    if (rc == BF_E_NOT_FOUND)
        return bf__error(BF_E_NOT_FOUND, "ledger %s: no %srun of brief %s", s->path,
                         unfinished_only ? "unfinished " : "", brief_name);
    return rc;
}

/* Step `st` over its rows, handing each to `row` with `ctx`; stops at the first failure. */
typedef int (*row_fn)(sqlite3_stmt *st, void *ctx);

static int each_row(sq_store *s, sqlite3_stmt *st, row_fn row, void *ctx, const char *doing)
{
    int rc = BF_OK;

    while (rc == BF_OK) {
        int step = sqlite3_step(st);

        if (step == SQLITE_DONE)
            break;
        if (step != SQLITE_ROW)
            rc = sq_fail(s, step, doing);
        else
            rc = row(st, ctx);
    }
    sqlite3_reset(st);
    return rc;
}

struct run_each {
    bf_store_run_fn each;
    void *userdata;
};

static int run_row(sqlite3_stmt *st, void *ctx)
{
    struct run_each *c = ctx;
    bf_store_run r;

    read_run(st, &r);
    return c->each(c->userdata, &r);
}

int sq_run_list(void *store, bf_store_run_fn each, void *userdata)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    struct run_each c = {each, userdata};
    int rc = sq_stmt(&st, s, SQ_RUN_LIST);

    return rc == BF_OK ? each_row(s, st, run_row, &c, "listing runs") : rc;
}

int sq_batch_insert(void *store, int64_t *out, const bf_store_batch *b)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BATCH_INSERT);

    if (rc != BF_OK)
        return rc;
    if (b->run_id < 1 || b->run_id > INT64_MAX / 1000000000 - 1 ||
        (b->id && b->id / 1000000000 != b->run_id))
        return bf__error(BF_E_INVALID, "ledger %s: batch id %lld of run %lld out of range",
                         s->path, (long long)b->id, (long long)b->run_id);
    sqlite3_bind_int64(st, 1, b->run_id);
    sqlite3_bind_int64(st, 2, b->ordinal);
    sqlite3_bind_int64(st, 3, b->parent_id);
    sqlite3_bind_int(st, 4, b->state);
    sqlite3_bind_int(st, 5, b->dimension);
    bind_text(st, 6, b->label);
    sqlite3_bind_int64(st, 7, b->lo);
    sqlite3_bind_int64(st, 8, b->hi);
    bind_text(st, 9, b->params_json);
    sqlite3_bind_int64(st, 10, b->token);
    sqlite3_bind_int64(st, 11, b->attempt);
    sqlite3_bind_int64(st, 12, b->lease_until);
    sqlite3_bind_int64(st, 13, b->not_before);
    if (b->id)
        sqlite3_bind_int64(st, 14, b->id);
    else
        sqlite3_bind_null(st, 14);
    rc = sq_step_done(s, st, "recording a batch");
    if (rc == BF_OK)
        *out = sqlite3_last_insert_rowid(s->db);
    return rc;
}

int sq_batch_keep(bf_store_batch *b, sq_store *s, int slot)
{
    const char **fields[] = {&b->label,    &b->params_json, &b->worker,
                             &b->fp_before, &b->fp_after,    &b->idempotency_key,
                             &b->error};

    return keep_strings(s, slot, fields, BF_ARRAY_LEN(fields));
}

int sq_batch_row(bf_store_batch *out, sq_store *s, int slot, sqlite3_stmt *st)
{
    read_batch(st, out);
    return sq_batch_keep(out, s, slot);
}

/* Step a statement that selects BATCH_COLUMNS and keep the first row in *out. */
static int step_batch(bf_store_batch *out, sq_store *s, sqlite3_stmt *st, const char *doing)
{
    int rc = sqlite3_step(st);

    if (rc == SQLITE_ROW) {
        rc = sq_batch_row(out, s, 1, st);
    } else if (rc == SQLITE_DONE) {
        rc = BF_E_NOT_FOUND;
    } else {
        rc = sq_fail(s, rc, doing);
    }
    sqlite3_reset(st);
    return rc;
}

int sq_batch_get(void *store, bf_store_batch *out, int64_t id)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc;

    if (sq_known_batch(out, s, id))
        return sq_batch_keep(out, s, 1);
    rc = sq_stmt(&st, s, SQ_BATCH_GET);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, id);
    rc = step_batch(out, s, st, "reading a batch");
    if (rc == BF_OK)
        rc = sq_known_set_batch(s, out);
    if (rc == BF_E_NOT_FOUND)
        return bf__error(BF_E_NOT_FOUND, "ledger %s: no batch %lld", s->path, (long long)id);
    return rc;
}

int sq_batch_update(void *store, const bf_store_batch *b)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BATCH_UPDATE);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, b->id);
    sqlite3_bind_int(st, 2, b->state);
    sqlite3_bind_int64(st, 3, b->token);
    sqlite3_bind_int64(st, 4, b->attempt);
    sqlite3_bind_int64(st, 5, b->lease_until);
    sqlite3_bind_int64(st, 6, b->not_before);
    bind_text(st, 7, b->worker);
    sqlite3_bind_int64(st, 8, b->started_at);
    sqlite3_bind_int64(st, 9, b->finished_at);
    sqlite3_bind_int64(st, 10, b->duration_us);
    sqlite3_bind_int64(st, 11, b->rows_written);
    sqlite3_bind_int64(st, 12, b->rows_deleted);
    bind_text(st, 13, b->fp_before);
    bind_text(st, 14, b->fp_after);
    bind_text(st, 15, b->idempotency_key);
    bind_text(st, 16, b->error);
    rc = sq_step_done(s, st, "updating a batch");
    if (rc == BF_OK)
        rc = sq_known_batch_update(s, b);
    if (rc == BF_OK && b->state >= 2) {
        /* Out of play: the claim's list can drop it (in bulk). */
        if (!s->finished_since_unlist++)
            s->finished_lo = s->finished_hi = b->id;
        else if (b->id < s->finished_lo)
            s->finished_lo = b->id;
        else if (b->id > s->finished_hi)
            s->finished_hi = b->id;
    }
    if (rc != BF_OK || b->state != 0)
        return rc;
    /* Back to pending: make sure the claim's list holds it again (it may have been pruned). */
    rc = sq_stmt(&st, s, SQ_BATCH_RELIST);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, b->id);
    return sq_step_done(s, st, "listing a batch for claims");
}

static int64_t clamp_total(double t)
{
    if (!(t > -9.2e18))
        return t != t ? 0 : INT64_MIN;
    return t < 9.2e18 ? (int64_t)t : INT64_MAX;
}

int sq_batch_counts(void *store, bf_store_counts *out, int64_t run_id)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    double written = 0, deleted = 0, duration = 0;
    int rc = sq_stmt(&st, s, SQ_BATCH_COUNTS);

    memset(out, 0, sizeof *out);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int state = sqlite3_column_int(st, 0);

        if (state >= 0 && state < BF_STORE_MAX_STATES)
            out->by_state[state] = sqlite3_column_int64(st, 1);
        written += sqlite3_column_double(st, 2);
        deleted += sqlite3_column_double(st, 3);
        out->done_count += sqlite3_column_int64(st, 4);
        duration += sqlite3_column_double(st, 5);
    }
    sqlite3_reset(st);
    /* Exact up to 2^53; totals past what an int64 holds stay at its greatest. */
    out->rows_written = clamp_total(written);
    out->rows_deleted = clamp_total(deleted);
    out->done_duration_us = clamp_total(duration);
    return rc == SQLITE_DONE ? BF_OK : sq_fail(s, rc, "counting batches");
}

struct batch_each {
    bf_store_batch_fn each;
    void *userdata;
};

static int batch_row(sqlite3_stmt *st, void *ctx)
{
    struct batch_each *c = ctx;
    bf_store_batch b;

    read_batch(st, &b);
    return c->each(c->userdata, &b);
}

int sq_batch_list(void *store, int64_t run_id, int state, bf_store_batch_fn each, void *userdata)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    struct batch_each c = {each, userdata};
    int rc = sq_stmt(&st, s, SQ_BATCH_LIST);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int(st, 2, state);
    return each_row(s, st, batch_row, &c, "listing batches");
}

int sq_event_append(void *store, const bf_store_event *e)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int64_t next;
    int rc;

    if (e->run_id < 1 || e->run_id > INT64_MAX / 1000000000000 - 1)
        return bf__error(BF_E_INVALID, "ledger %s: run id %lld out of range for events", s->path,
                         (long long)e->run_id);
    rc = sq_stmt(&st, s, SQ_EVENT_APPEND);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, e->run_id);
    sqlite3_bind_int64(st, 2, e->batch_id);
    bind_text(st, 3, e->subject);
    bind_text(st, 4, e->from_state);
    bind_text(st, 5, e->to_state);
    bind_text(st, 6, e->actor);
    sqlite3_bind_int64(st, 7, e->at);
    bind_text(st, 8, e->detail);
    next = sq_known_event_next(s, e->run_id);
    if (next)
        sqlite3_bind_int64(st, 9, next);
    else
        sqlite3_bind_null(st, 9);
    rc = sq_step_done(s, st, "appending an audit event");
    if (rc == BF_OK)
        sq_known_set_event(s, e->run_id, sqlite3_last_insert_rowid(s->db));
    return rc;
}

struct event_each {
    bf_store_event_fn each;
    void *userdata;
};

static int event_row(sqlite3_stmt *st, void *ctx)
{
    struct event_each *c = ctx;
    bf_store_event e;

    e.run_id = sqlite3_column_int64(st, 0);
    e.seq = sqlite3_column_int64(st, 1);
    e.batch_id = sqlite3_column_int64(st, 2);
    e.subject = col_text(st, 3);
    e.from_state = col_text(st, 4);
    e.to_state = col_text(st, 5);
    e.actor = col_text(st, 6);
    e.at = sqlite3_column_int64(st, 7);
    e.detail = col_text(st, 8);
    return c->each(c->userdata, &e);
}

int sq_event_list(void *store, int64_t run_id, bf_store_event_fn each, void *userdata)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    struct event_each c = {each, userdata};
    int rc = sq_stmt(&st, s, SQ_EVENT_LIST);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    return each_row(s, st, event_row, &c, "listing events");
}

int sq_validation_put(void *store, const bf_store_validation *v)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_VALIDATION_PUT);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, v->run_id);
    sqlite3_bind_int64(st, 2, v->batch_id);
    sqlite3_bind_int(st, 3, v->passed != 0);
    for (int i = 0; i < 5; i++)
        sqlite3_bind_int64(st, 4 + i, v->tally[i]);
    bind_text(st, 9, v->results_json);
    sqlite3_bind_int64(st, 10, v->updated_at);
    return sq_step_done(s, st, "recording validation results");
}

struct validation_each {
    bf_store_validation_fn each;
    void *userdata;
};

static int validation_row(sqlite3_stmt *st, void *ctx)
{
    struct validation_each *c = ctx;
    bf_store_validation v;

    v.run_id = sqlite3_column_int64(st, 0);
    v.batch_id = sqlite3_column_int64(st, 1);
    v.passed = sqlite3_column_int(st, 2);
    for (int i = 0; i < 5; i++)
        v.tally[i] = sqlite3_column_int64(st, 3 + i);
    v.results_json = col_text(st, 8);
    v.created_at = sqlite3_column_int64(st, 9);
    v.updated_at = sqlite3_column_int64(st, 10);
    return c->each(c->userdata, &v);
}

int sq_validation_list(void *store, int64_t run_id, int64_t batch_id, bf_store_validation_fn each,
                       void *userdata)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    struct validation_each c = {each, userdata};
    int rc = sq_stmt(&st, s, SQ_VALIDATION_LIST);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, batch_id);
    return each_row(s, st, validation_row, &c, "listing validation results");
}

int sq_before_state_put(void *store, const bf_store_before_state *b)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BEFORE_STATE_PUT);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, b->run_id);
    sqlite3_bind_int64(st, 2, b->batch_id);
    bind_text(st, 3, b->state_json);
    sqlite3_bind_int64(st, 4, b->updated_at);
    return sq_step_done(s, st, "recording a before-state");
}

struct before_state_each {
    bf_store_before_state_fn each;
    void *userdata;
};

static int before_state_row(sqlite3_stmt *st, void *ctx)
{
    struct before_state_each *c = ctx;
    bf_store_before_state b;

    b.run_id = sqlite3_column_int64(st, 0);
    b.batch_id = sqlite3_column_int64(st, 1);
    b.state_json = col_text(st, 2);
    b.created_at = sqlite3_column_int64(st, 3);
    b.updated_at = sqlite3_column_int64(st, 4);
    return c->each(c->userdata, &b);
}

int sq_before_state_list(void *store, int64_t run_id, int64_t batch_id,
                         bf_store_before_state_fn each, void *userdata)
{
    sq_store *s = store;
    sqlite3_stmt *st = NULL;
    struct before_state_each c = {each, userdata};
    int rc = sq_stmt(&st, s, SQ_BEFORE_STATE_LIST);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, batch_id);
    return each_row(s, st, before_state_row, &c, "listing before-states");
}
