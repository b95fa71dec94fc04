/*
 * The ledger's SQLite schema and its forward migrations. A ledger file is
 * marked with an application id, so that another program's database is
 * refused rather than written into, and records every migration applied in
 * bf_schema_version; a file from a newer libbackfill is refused.
 *
 * Index design. A ledger write costs about one WAL frame per page it
 * changes, so a claim and a completion should change as few pages as
 * possible: the batch's row and one event row, and no index page.
 *
 * - Batch ids are run_id * 10^9 + n, and event ids run_id * 10^12 + seq,
 *   so a run's batches and events are each one range of their table's own
 *   key: listing and counting them needs no index, and appending an event
 *   of the newest run appends to the table's last page.
 * - The claim reads one partial index, batches_listed (run_id, ordinal)
 *   WHERE listed = 1, in plan order: the batches in play (running, pending
 *   again, split halves, batches re-cut by a resize, finished ones not yet
 *   unlisted) and a window of the next never-claimed batches of the plan.
 *   Every batch inserted after the plan's registration is listed at once. Claiming, completing or
 *   failing a batch does not touch the index. Claims unlist finished
 *   batches and list the next window (runs.listed_to) many at a time, so
 *   the index changes once per many transitions, and registering a plan is
 *   a table append per batch and no index work.
 */
#include <stdio.h>
#include <string.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

/* "bfLg": marks a SQLite file as a libbackfill ledger. */
#define LEDGER_APPLICATION_ID 0x62664c67

static const sq_migration migrations[] = {
    {1, "runs, batches, events",
     "CREATE TABLE runs ("
     " id INTEGER PRIMARY KEY,"
     " brief_name TEXT NOT NULL,"
     " seq INTEGER NOT NULL,"
     " state INTEGER NOT NULL,"
     " brief_json TEXT NOT NULL,"
     " plan_fingerprint TEXT NOT NULL,"
     " dimension INTEGER NOT NULL,"
     " plan_column TEXT,"
     " code_version TEXT,"
     " operator TEXT,"
     " params_json TEXT,"
     " max_concurrency INTEGER NOT NULL,"
     " max_attempts INTEGER NOT NULL,"
     " retry_backoff_us INTEGER NOT NULL,"
     " lease_us INTEGER NOT NULL,"
     " batch_count INTEGER NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " started_at INTEGER NOT NULL DEFAULT 0,"
     " updated_at INTEGER NOT NULL,"
     " finished_at INTEGER NOT NULL DEFAULT 0,"
     " listed_to INTEGER NOT NULL DEFAULT 0,"
     " UNIQUE (brief_name, seq));"
     "CREATE TABLE batches ("
     " id INTEGER PRIMARY KEY,"
     " run_id INTEGER NOT NULL REFERENCES runs (id),"
     " ordinal INTEGER NOT NULL,"
     " parent_id INTEGER NOT NULL DEFAULT 0,"
     " state INTEGER NOT NULL,"
     " dimension INTEGER NOT NULL,"
     " label TEXT NOT NULL,"
     " lo INTEGER NOT NULL,"
     " hi INTEGER NOT NULL,"
     " params TEXT NOT NULL,"
     " token INTEGER NOT NULL DEFAULT 0,"
     " attempt INTEGER NOT NULL DEFAULT 0,"
     " lease_until INTEGER NOT NULL DEFAULT 0,"
     " not_before INTEGER NOT NULL DEFAULT 0,"
     " worker TEXT,"
     " started_at INTEGER NOT NULL DEFAULT 0,"
     " finished_at INTEGER NOT NULL DEFAULT 0,"
     " duration_us INTEGER NOT NULL DEFAULT 0,"
     " rows_written INTEGER NOT NULL DEFAULT 0,"
     " rows_deleted INTEGER NOT NULL DEFAULT 0,"
     " fp_before TEXT,"
     " fp_after TEXT,"
     " idempotency_key TEXT,"
     " error TEXT,"
     " listed INTEGER NOT NULL DEFAULT 0);"
     "CREATE INDEX batches_listed ON batches (run_id, ordinal) WHERE listed = 1;"
     "CREATE TABLE events ("
     " id INTEGER PRIMARY KEY,"
     " run_id INTEGER NOT NULL,"
     " seq INTEGER NOT NULL,"
     " batch_id INTEGER NOT NULL DEFAULT 0,"
     " subject TEXT NOT NULL,"
     " from_state TEXT,"
     " to_state TEXT,"
     " actor TEXT,"
     " at INTEGER NOT NULL,"
     " detail TEXT);"},
    /*
     * Validation results: the latest per batch (batch_id 0: the run), keyed
     * so a run's results are one range of the primary key. A separate step
     * from the other work of issue 11 (renumbered on merge if need be).
     */
    {2, "validation results",
     "CREATE TABLE validations ("
     " run_id INTEGER NOT NULL REFERENCES runs (id),"
     " batch_id INTEGER NOT NULL,"
     " passed INTEGER NOT NULL,"
     " n_pass INTEGER NOT NULL,"
     " n_warn INTEGER NOT NULL,"
     " n_fail INTEGER NOT NULL,"
     " n_error INTEGER NOT NULL,"
     " n_skipped INTEGER NOT NULL,"
     " results_json TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL,"
     " PRIMARY KEY (run_id, batch_id)) WITHOUT ROWID;"},
    /*
     * Captured before-states (bf_diff_capture's JSON), the latest per batch,
     * keyed like validations: a run's are one range of the primary key.
     */
    {3, "before-states",
     "CREATE TABLE before_states ("
     " run_id INTEGER NOT NULL REFERENCES runs (id),"
     " batch_id INTEGER NOT NULL,"
     " state_json TEXT NOT NULL,"
     " created_at INTEGER NOT NULL,"
     " updated_at INTEGER NOT NULL,"
     " PRIMARY KEY (run_id, batch_id)) WITHOUT ROWID;"},
};

const sq_migration *sq_migrations(size_t *count)
{
    *count = BF_ARRAY_LEN(migrations);
    return migrations;
}

static int query_int(int *out, sq_store *s, const char *sql, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int(st, 0);
        rc = BF_OK;
    } else {
        rc = sq_fail(s, rc, doing);
    }
    sqlite3_finalize(st);
    return rc;
}

int sq_schema_version(int *out, sq_store *s)
{
    return query_int(out, s, "SELECT COALESCE(MAX(version), 0) FROM bf_schema_version",
                     "reading the schema version");
}

/* Whether the file is a ledger, an empty database, or something else (BF_E_PARSE). */
static int identify(int *out_is_ledger, sq_store *s)
{
    int app, tables, rc;

    rc = query_int(&app, s, "PRAGMA application_id", "reading the file header");
    if (rc == BF_OK)
        rc = query_int(&tables, s, "SELECT count(*) FROM sqlite_schema", "reading the schema");
    if (rc != BF_OK)
        return rc;
    if (app == LEDGER_APPLICATION_ID) {
        *out_is_ledger = 1;
        return BF_OK;
    }
    if (app == 0 && tables == 0) {
        *out_is_ledger = 0;
        return BF_OK;
    }
    return bf__error(BF_E_PARSE, "ledger %s: a SQLite database but not a libbackfill ledger "
                     "(application id 0x%08x, %d tables)", s->path, (unsigned)app, tables);
}

static int exec(sq_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? BF_OK : sq_fail(s, rc, doing);
}

static int record_version(sq_store *s, const sq_migration *m)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(s->db,
                                "INSERT INTO bf_schema_version (version, description) VALUES (?, ?)",
                                -1, &st, NULL);

    if (rc == SQLITE_OK) {
        sqlite3_bind_int(st, 1, m->version);
        sqlite3_bind_text(st, 2, m->description, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
    }
    rc = rc == SQLITE_DONE ? BF_OK : sq_fail(s, rc, "recording the schema version");
    sqlite3_finalize(st);
    return rc;
}

static int migrate_locked(sq_store *s, const sq_migration *list, size_t count)
{
    char pragma[64];
    int is_ledger, current = 0, rc;

    /* Another process may have created or migrated the file since we looked. */
    rc = identify(&is_ledger, s);
    if (rc == BF_OK)
        rc = exec(s,
                  "CREATE TABLE IF NOT EXISTS bf_schema_version ("
                  " version INTEGER PRIMARY KEY,"
                  " description TEXT NOT NULL,"
                  " applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')))",
                  "creating the schema version table");
    if (rc == BF_OK)
        rc = sq_schema_version(&current, s);
    for (size_t i = 0; rc == BF_OK && i < count; i++) {
        if (list[i].version <= current)
            continue;
        rc = exec(s, list[i].sql, list[i].description);
        if (rc == BF_OK)
            rc = record_version(s, &list[i]);
    }
    if (rc == BF_OK) {
        snprintf(pragma, sizeof pragma, "PRAGMA application_id = %d", LEDGER_APPLICATION_ID);
        rc = exec(s, pragma, "marking the file as a ledger");
    }
    return rc;
}

int sq_schema_migrate(sq_store *s, const sq_migration *list, size_t count)
{
    int rc = exec(s, "BEGIN IMMEDIATE", "starting the schema migration");

    if (rc != BF_OK)
        return rc;
    rc = migrate_locked(s, list, count);
    if (rc == BF_OK)
        rc = exec(s, "COMMIT", "committing the schema migration");
    if (rc != BF_OK && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int sq_schema_check(int *out_version, sq_store *s)
{
    int latest = migrations[BF_ARRAY_LEN(migrations) - 1].version;
    int is_ledger, version = 0, rc;

    rc = identify(&is_ledger, s);
    if (rc == BF_OK && !is_ledger)
        return bf__error(BF_E_PARSE, "ledger %s: an empty file or database, not a libbackfill "
                         "ledger (a ledger is created only where no file exists)", s->path);
    if (rc == BF_OK)
        rc = sq_schema_version(&version, s);
    if (rc != BF_OK)
        return rc;
    if (version > latest)
        return bf__error(BF_E_UNSUPPORTED, "ledger %s: schema version %d was written by a newer "
                         "libbackfill (this one knows up to %d); upgrade libbackfill to use it",
                         s->path, version, latest);
    *out_version = version;
    return BF_OK;
}

int sq_schema_prepare(sq_store *s, int version)
{
    if (version == migrations[BF_ARRAY_LEN(migrations) - 1].version)
        return BF_OK;
    return sq_schema_migrate(s, migrations, BF_ARRAY_LEN(migrations));
}
