/*
 * The default ledger store: one SQLite file in WAL mode. Writers take the
 * write lock at the start of a transaction (BEGIN IMMEDIATE), so the ledger
 * can read, decide and write without another process slipping in between;
 * a busy handler with short sleeps keeps many small transactions from
 * several processes flowing.
 */
#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

int sq_fail(sq_store *s, int rc, const char *doing)
{
    const char *path = s && s->path ? s->path : "?";
    const char *msg = s && s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return bf__nomem();
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return bf__error(BF_E_BUSY, "ledger %s: %s: still locked by another writer (%s)", path,
                         doing, msg);
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return bf__error(BF_E_PARSE, "ledger %s: %s: not a readable SQLite database, corrupt or "
                         "another kind of file (%s)", path, doing, msg);
    case SQLITE_READONLY:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return bf__error(BF_E_IO, "ledger %s: %s: %s", path, doing, msg);
    default:
        return bf__error(BF_E_INTERNAL, "ledger %s: %s: %s", path, doing, msg);
    }
}

static int64_t monotonic_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * SQLite's own busy handler sleeps for milliseconds, far longer than a ledger
 * transaction holds the lock; sleep 50 us at first, doubling up to 2 ms.
 */
static int busy_wait(void *ctx, int count)
{
    sq_store *s = ctx;
    int64_t now = monotonic_us();
    int shift = count < 6 ? count : 6;
    long delay_us = 50L << shift;
    struct timespec ts;

    if (count == 0)
        s->busy_since_us = now;
    if (now - s->busy_since_us >= (int64_t)s->busy_timeout_ms * 1000)
        return 0;
    if (delay_us > 2000)
        delay_us = 2000;
    ts.tv_sec = 0;
    ts.tv_nsec = delay_us * 1000;
    nanosleep(&ts, NULL);
    return 1;
}

/* The directory must exist and take new files (the WAL and its index live beside the ledger). */
static int check_directory(const char *path, int create)
{
    char *copy = bf__strdup(path);
    const char *dir;
    struct stat st;
    int rc = BF_OK;

    if (!copy)
        return bf__nomem();
    dir = dirname(copy);
    if (stat(dir, &st) != 0)
        rc = bf__error(BF_E_IO, "ledger %s: directory %s: %s", path, dir, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = bf__error(BF_E_IO, "ledger %s: %s is not a directory", path, dir);
    else if (create && access(dir, W_OK) != 0)
        rc = bf__error(BF_E_IO, "ledger %s: directory %s is not writable: %s", path, dir,
                       strerror(errno));
    bf__free(copy);
    return rc;
}

static void sq_close(void *store)
{
    sq_store *s = store;

    if (!s)
        return;
    for (int i = 0; i < SQ_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    bf__free(s->path);
    bf__free(s->scratch[0]);
    bf__free(s->scratch[1]);
    bf__free(s);
}

static int exec(sq_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? BF_OK : sq_fail(s, rc, doing);
}

/* WAL, the durability setting, the busy handler; then the schema. */
static int configure(sq_store *s, const bf_store_config *config)
{
    sqlite3_stmt *st = NULL;
    int rc;
    const char *mode;

    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_handler(s->db, busy_wait, s);
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = sq_fail(s, rc, "switching to WAL mode");
        sqlite3_finalize(st);
        return rc;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    if (!mode || strcmp(mode, "wal") != 0) {
        rc = bf__error(BF_E_IO, "ledger %s: the file cannot use WAL mode (journal mode %s)",
                       s->path, mode ? mode : "?");
        sqlite3_finalize(st);
        return rc;
    }
    sqlite3_finalize(st);
    rc = exec(s, config->durability == 1 ? "PRAGMA synchronous=NORMAL" : "PRAGMA synchronous=FULL",
              "setting durability");
    /*
     * A checkpoint syncs the WAL and the database file; ledger transactions
     * are small and many, so checkpoint every 4000 pages rather than 1000.
     */
    if (rc == BF_OK)
        rc = exec(s, "PRAGMA wal_autocheckpoint=" BF_STR(SQ_WAL_AUTOCHECKPOINT), "setting the checkpoint interval");
    if (rc != BF_OK)
        return rc;
    return sq_schema_prepare(s);
}

static int sq_open(void **out, const char *path, const bf_store_config *config)
{
    sq_store *s;
    struct stat st;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    int rc;

    *out = NULL;
    if (!config || config->version < 1)
        return bf__error(BF_E_ABI, "ledger %s: store config version missing", path);
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return bf__error(BF_E_IO, "ledger %s: %s", path, strerror(errno));
        if (!config->create)
            return bf__error(BF_E_NOT_FOUND, "ledger %s: no such file", path);
        rc = check_directory(path, 1);
        if (rc != BF_OK)
            return rc;
        flags |= SQLITE_OPEN_CREATE;
    } else {
        if (S_ISDIR(st.st_mode))
            return bf__error(BF_E_IO, "ledger %s: is a directory", path);
        rc = check_directory(path, 0);
        if (rc != BF_OK)
            return rc;
    }
    s = bf__calloc(1, sizeof *s);
    if (!s)
        return bf__nomem();
    s->path = bf__strdup(path);
    if (!s->path) {
        bf__free(s);
        return bf__nomem();
    }
    s->busy_timeout_ms = config->busy_timeout_ms > 0 ? config->busy_timeout_ms : 10000;
    rc = sqlite3_open_v2(path, &s->db, flags, NULL);
    if (rc != SQLITE_OK)
        rc = sq_fail(s, rc, "opening");
    else
        rc = configure(s, config);
    if (rc != BF_OK) {
        sq_close(s);
        return rc;
    }
    *out = s;
    return BF_OK;
}

/* Transaction control through prepared statements: parsing them each time costs more. */
static int control(sq_store *s, enum sq_stmt which, const char *doing)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, which);

    if (rc != BF_OK)
        return rc;
    rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? BF_OK : sq_fail(s, rc, doing);
}

static int sq_begin(void *store, int write)
{
    sq_store *s = store;

    s->walk_next = 0; /* another process may have changed everything since */
    return control(s, write ? SQ_BEGIN_WRITE : SQ_BEGIN_READ, "starting a transaction");
}

static int sq_commit(void *store)
{
    return control(store, SQ_COMMIT, "committing");
}

static void sq_rollback(void *store)
{
    sq_store *s = store;

    if (!sqlite3_get_autocommit(s->db) && control(s, SQ_ROLLBACK, "rolling back") != BF_OK)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

static const bf_store_vtable sqlite_vtable = {
    .version = BF_STORE_VTABLE_VERSION,
    .open = sq_open,
    .close = sq_close,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .run_insert = sq_run_insert,
    .run_get = sq_run_get,
    .run_update = sq_run_update,
    .run_find = sq_run_find,
    .run_list = sq_run_list,
    .batch_insert = sq_batch_insert,
    .batch_get = sq_batch_get,
    .batch_update = sq_batch_update,
    .batch_next_pending = sq_batch_next_pending,
    .batch_running = sq_batch_running,
    .batch_counts = sq_batch_counts,
    .batch_list = sq_batch_list,
    .event_append = sq_event_append,
    .event_list = sq_event_list,
};

const bf_store_vtable *bf_store_sqlite(void)
{
    return &sqlite_vtable;
}

int bf_store_vtable_init(bf_store_vtable *vtable, unsigned version)
{
    bf_store_vtable init = BF_STORE_VTABLE_INIT;

    if (!vtable)
        return bf__error(BF_E_INVALID, "bf_store_vtable_init: vtable is NULL");
    if (version != BF_STORE_VTABLE_VERSION)
        return bf__error(BF_E_ABI, "bf_store_vtable_init: unknown version %u (this library knows %d)",
                         version, BF_STORE_VTABLE_VERSION);
    *vtable = init;
    return BF_OK;
}
