/*
 * The default ledger store: one SQLite file in WAL mode. Writers take the
 * write lock at the start of a transaction (BEGIN IMMEDIATE), so the ledger
 * can read, decide and write without another process slipping in between;
 * a busy handler with short sleeps keeps many small transactions from
 * several processes flowing.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"
#include "ledger/versions.h"

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

/* The store's own memory: everything but the connection and its statements. */
static void free_memory(sq_store *s)
{
    bf__free(s->path);
    for (int i = 0; i < (int)BF_ARRAY_LEN(s->scratch); i++)
        bf__free(s->scratch[i]);
    for (int i = 0; i < (int)BF_ARRAY_LEN(s->known.buf); i++)
        bf__free(s->known.buf[i]);
    bf__free(s);
}

static void sq_close(void *store)
{
    sq_store *s = store;

    if (!s)
        return;
    for (int i = 0; i < SQ_STMT_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    sqlite3_close(s->db);
    free_memory(s);
}

int bf__store_sqlite_forget(const bf_store_vtable *vt, void *store)
{
    if (!vt || vt->close != sq_close)
        return 0;
    if (store)
        free_memory(store);
    return 1;
}

static int exec(sq_store *s, const char *sql, const char *doing)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? BF_OK : sq_fail(s, rc, doing);
}

/* Switch the connection's file to WAL mode (a write to its header). */
static int use_wal(sq_store *s)
{
    sqlite3_stmt *st = NULL;
    const char *mode;
    int rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode=WAL", -1, &st, NULL);

    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        rc = sq_fail(s, rc, "switching to WAL mode");
        sqlite3_finalize(st);
        return rc;
    }
    mode = (const char *)sqlite3_column_text(st, 0);
    rc = BF_OK;
    if (!mode || strcmp(mode, "wal") != 0)
        rc = bf__error(BF_E_IO, "ledger %s: the file cannot use WAL mode (journal mode %s)",
                       s->path, mode ? mode : "?");
    sqlite3_finalize(st);
    return rc;
}

/* The durability setting and the checkpoint interval (connection settings: nothing is written). */
static int tune(sq_store *s, const bf_store_config *config)
{
    int rc = exec(s, config->durability == 1 ? "PRAGMA synchronous=NORMAL"
                                             : "PRAGMA synchronous=FULL",
                  "setting durability");

    /*
     * A checkpoint syncs the WAL and the database file; ledger transactions
     * are small and many, so checkpoint every 4000 pages rather than 1000.
     */
    if (rc == BF_OK)
        rc = exec(s, "PRAGMA wal_autocheckpoint=" BF_STR(SQ_WAL_AUTOCHECKPOINT),
                  "setting the checkpoint interval");
    return rc;
}

/* A store on a new connection to `path` (which must exist: nothing is created here). */
static int sq_connect(sq_store **out, const char *path, const bf_store_config *config)
{
    sq_store *s = bf__calloc(1, sizeof *s);
    int rc;

    *out = NULL;
    if (!s)
        return bf__nomem();
    s->path = bf__strdup(path);
    if (!s->path) {
        bf__free(s);
        return bf__nomem();
    }
    s->busy.timeout_ms = config->busy_timeout_ms > 0 ? config->busy_timeout_ms : 10000;
    rc = sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        rc = sq_fail(s, rc, "opening");
        sq_close(s);
        return rc;
    }
    sqlite3_extended_result_codes(s->db, 1);
    /* A double-quoted name is a name: a typo in the ledger's SQL fails instead of reading a string. */
    rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    if (rc != SQLITE_OK) {
        rc = sq_fail(s, rc, "configuring");
        sq_close(s);
        return rc;
    }
    sqlite3_busy_handler(s->db, bf__busy_wait, &s->busy);
    *out = s;
    return BF_OK;
}

/* Remove a file and the WAL files SQLite may have left beside it (without allocating). */
static void remove_with_side_files(const char *path)
{
    char side[PATH_MAX + 8];

    unlink(path);
    if ((size_t)snprintf(side, sizeof side, "%s-wal", path) < sizeof side)
        unlink(side);
    if ((size_t)snprintf(side, sizeof side, "%s-shm", path) < sizeof side)
        unlink(side);
}

/*
 * Create a ledger where no file exists, atomically: build it complete under
 * a temporary name beside `path` (schema written in rollback-journal mode,
 * so that everything is in the file itself, then switched to WAL), and link
 * it into place, which fails if another process created `path` meanwhile;
 * then that ledger is opened. Nobody ever sees a half-made ledger at `path`.
 */
static int create_ledger(const char *path, const bf_store_config *config)
{
    static unsigned counter;
    struct timespec ts;
    sq_store *s = NULL;
    char *tmp;
    int fd, rc;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    tmp = bf__asprintf("%s.new-%ld-%ld-%u", path, (long)getpid(), (long)ts.tv_nsec, counter++);
    if (!tmp)
        return bf__nomem();
    fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = bf__error(BF_E_IO, "ledger %s: cannot create %s: %s", path, tmp, strerror(errno));
        bf__free(tmp);
        return rc;
    }
    close(fd);
    rc = sq_connect(&s, tmp, config);
    if (rc == BF_OK) {
        bf__free(s->path); /* messages name the ledger, not the temporary file */
        s->path = bf__strdup(path);
        if (!s->path)
            rc = bf__nomem();
    }
    if (rc == BF_OK)
        rc = sq_schema_prepare(s, 0);
    if (rc == BF_OK)
        rc = use_wal(s);
    sq_close(s);
    if (rc == BF_OK && link(tmp, path) != 0 && errno != EEXIST)
        rc = bf__error(BF_E_IO, "ledger %s: cannot create it: %s", path, strerror(errno));
    remove_with_side_files(tmp);
    bf__free(tmp);
    return rc;
}

/*
 * Open the ledger at `path`. Whatever is there is identified first, by
 * reading only: a file that is not a ledger of this or an older schema is
 * refused before anything is written to it (the switch to WAL mode writes
 * the file's header), and the connection does not checkpoint on close until
 * the file is known to be a ledger.
 */
static int sq_open(void *userdata, void **out, const char *path, const bf_store_config *config)
{
    sq_store *s = NULL;
    struct stat st;
    int version = 0, rc;

    (void)userdata; /* the SQLite store needs none */
    *out = NULL;
    if (!config || config->version < 1)
        return bf__error(BF_E_ABI, "ledger %s: store config version missing", path);
    if (stat(path, &st) != 0) {
        if (errno != ENOENT)
            return bf__error(BF_E_IO, "ledger %s: %s", path, strerror(errno));
        if (!config->create)
            return bf__error(BF_E_NOT_FOUND, "ledger %s: no such file", path);
        rc = check_directory(path, 1);
        if (rc == BF_OK)
            rc = create_ledger(path, config);
    } else if (S_ISDIR(st.st_mode)) {
        rc = bf__error(BF_E_INVALID, "ledger %s: is a directory, not a ledger file", path);
    } else if (!S_ISREG(st.st_mode)) {
        rc = bf__error(BF_E_INVALID, "ledger %s: not a regular file", path);
    } else {
        rc = check_directory(path, 0);
    }
    if (rc == BF_OK)
        rc = sq_connect(&s, path, config);
    if (rc == BF_OK && sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL) !=
                           SQLITE_OK)
        rc = sq_fail(s, sqlite3_errcode(s->db), "configuring the connection");
    if (rc == BF_OK)
        rc = sq_schema_check(&version, s);
    if (rc == BF_OK && sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 0, NULL) !=
                           SQLITE_OK)
        rc = sq_fail(s, sqlite3_errcode(s->db), "configuring the connection");
    if (rc == BF_OK)
        rc = use_wal(s);
    if (rc == BF_OK)
        rc = tune(s, config);
    if (rc == BF_OK)
        rc = sq_schema_prepare(s, version);
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

    int rc;

    s->walk_next = 0; /* another process may have changed everything since */
    rc = control(s, write ? SQ_BEGIN_WRITE : SQ_BEGIN_READ, "starting a transaction");
    if (rc == BF_OK && s->path && strcmp(s->path, ":memory:") != 0) {
        int moved = 0;

        /*
         * A ledger deleted or replaced under an open handle would take every
         * record from now on into a file nobody else can open: refused.
         */
        if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_HAS_MOVED, &moved) == SQLITE_OK &&
            moved) {
            control(s, SQ_ROLLBACK, "rolling back");
            return bf__error(BF_E_IO, "ledger %s: the file was deleted or replaced since it was "
                             "opened; nothing more is recorded through this handle (reopen the "
                             "ledger)", s->path);
        }
    }
    if (rc == BF_OK)
        sq_known_begin(s, write);
    return rc;
}

static int sq_commit(void *store)
{
    int rc = control(store, SQ_COMMIT, "committing");

    sq_known_commit(store, rc == BF_OK);
    return rc;
}

static void sq_rollback(void *store)
{
    sq_store *s = store;

    sq_known_rollback(s);
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
    .validation_put = sq_validation_put,
    .validation_list = sq_validation_list,
    .before_state_put = sq_before_state_put,
    .before_state_list = sq_before_state_list,
};

const bf_store_vtable *bf_store_sqlite(void)
{
    return &sqlite_vtable;
}

int bf_store_vtable_init(bf_store_vtable *vtable, unsigned version)
{
    return bf__struct_init(vtable, version, &bf__store_vtable_desc);
}
