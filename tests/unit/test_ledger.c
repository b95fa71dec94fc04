/*
 * The ledger: opening files of every kind, run and batch transitions (every
 * pair, legal or not), claims, leases and fencing under an injected clock,
 * retries with backoff, splits, the audit log, progress, and allocation
 * failures in open, claim and complete.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../ledger/ext_store.h"
#include "../ledger/ledger_testlib.h"
#include "bftest.h"
#include "common/internal.h"
#include "ledger/ledger_internal.h"
#include "ledger/sqlite_store.h"

#define SEC 1000000LL

static char dir[256];
static char path[300];
static int64_t fake_now;
static bf_ledger *ledger;

static int64_t fake_clock(void *userdata)
{
    (void)userdata;
    return fake_now;
}

/*
 * The store the conformance cases run against: the built-in SQLite store, or
 * the external one of tests/ledger/ext_store.h (set by the fixture).
 */
static int use_external;
static int host_freed; /* the external store's userdata was released */

static int open_at(bf_ledger **out, const char *p, bf_durability durability)
{
    bf_ledger_options opts;
    bf_store_vtable vt; /* on the stack: the ledger copies it */
    int rc;

    ck_assert_int_eq(bf_ledger_options_init(&opts, BF_LEDGER_OPTIONS_VERSION), BF_OK);
    opts.clock = fake_clock;
    opts.actor = "tester";
    opts.durability = durability;
    if (use_external) {
        xs_host *h = calloc(1, sizeof *h);

        ck_assert_ptr_nonnull(h);
        h->freed = &host_freed;
        xs_vtable(&vt);
        opts.store = &vt;
        opts.store_userdata = h;
        opts.free_store_userdata = xs_free_host;
        rc = bf_ledger_open(out, p, &opts);
        if (rc != BF_OK)
            free(h); /* a failed open leaves the userdata to the host */
        return rc;
    }
    return bf_ledger_open(out, p, &opts);
}

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/bf-ledger-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    fake_now = 1764000000LL * SEC;
    ck_assert_int_eq(open_at(&ledger, path, BF_DURABILITY_NORMAL), BF_OK);
}

static void setup_external(void)
{
    use_external = 1;
    host_freed = 0;
    setup();
}

static void teardown(void)
{
    char cmd[600];

    bf_ledger_close(ledger);
    ledger = NULL;
    if (use_external)
        ck_assert_int_eq(host_freed, 1); /* the ledger released the store's userdata */
    snprintf(cmd, sizeof cmd, "chattr -i '%s' 2>/dev/null; rm -rf '%s'", dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    use_external = 0;
}

/* A run of `count` key batches of 100 keys, brief "orders-fix" unless named. */
static bf_run *start_run(const char *brief, size_t count, unsigned concurrency, unsigned attempts,
                         double backoff_s, double lease_s)
{
    bf_run_spec spec = lt_spec(brief ? brief : "orders-fix", concurrency, attempts, backoff_s,
                               lease_s);
    bf_plan *plan = lt_key_plan(count, 100, "pin");
    bf_run *run;

    ck_assert_ptr_nonnull(plan);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    return run;
}

/* One integer from a SQL query on the ledger file, through a connection of its own. */
static long long sql_int(const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    long long v;

    ck_assert_int_eq(sqlite3_open(path, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
    v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void sql_exec(const char *p, const char *sql)
{
    sqlite3 *db;

    ck_assert_int_eq(sqlite3_open(p, &db), SQLITE_OK);
    ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK, "%s: %s", sql,
                  sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void write_file(const char *p, const char *bytes, size_t len)
{
    FILE *f = fopen(p, "wb");

    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, len, f), len);
    fclose(f);
}

static bf_lease *claim_one(bf_run *run);
static void fail_next(bf_run *run, const char *message);

/* ---- opening ---- */

START_TEST(open_creates_a_wal_ledger_with_a_schema_version)
{
    struct stat st;

    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_str_eq(bf_ledger_path(ledger), path);
    ck_assert_int_eq(sql_int("SELECT MAX(version) FROM bf_schema_version"), 3);
    ck_assert_int_eq(sql_int("PRAGMA application_id"), 0x62664c67);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM pragma_journal_mode WHERE journal_mode = 'wal'"),
                     1);
    /* Opening again finds the same ledger. */
    bf_ledger_close(ledger);
    ck_assert_int_eq(open_at(&ledger, path, BF_DURABILITY_FULL), BF_OK);
}
END_TEST

START_TEST(durability_sets_the_sync_mode)
{
    bf_ledger *full;
    sq_store *s = ledger->db;

    ck_assert_int_eq(open_at(&full, path, BF_DURABILITY_FULL), BF_OK);
    {
        sqlite3_stmt *st;
        sq_store *fs = full->db;

        ck_assert_int_eq(sqlite3_prepare_v2(fs->db, "PRAGMA synchronous", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 2); /* FULL */
        sqlite3_finalize(st);
        ck_assert_int_eq(sqlite3_prepare_v2(s->db, "PRAGMA synchronous", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_int_eq(sqlite3_column_int(st, 0), 1); /* NORMAL */
        sqlite3_finalize(st);
    }
    bf_ledger_close(full);
}
END_TEST

/* The ledger runs only SQL it writes, and a double-quoted name there is a name, never a string. */
START_TEST(double_quoted_names_are_never_strings)
{
    sq_store *s = ledger->db;
    sqlite3_stmt *st = NULL;
    int dml = -1, ddl = -1;

    ck_assert_int_eq(sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DML, -1, &dml), SQLITE_OK);
    ck_assert_int_eq(sqlite3_db_config(s->db, SQLITE_DBCONFIG_DQS_DDL, -1, &ddl), SQLITE_OK);
    ck_assert_int_eq(dml, 0);
    ck_assert_int_eq(ddl, 0);
    ck_assert_int_eq(sqlite3_prepare_v2(s->db, "SELECT \"no_such_column\" FROM bf_schema_version",
                                        -1, &st, NULL), SQLITE_ERROR);
    ck_assert_ptr_null(st);
}
END_TEST

START_TEST(a_newer_schema_is_refused)
{
    bf_ledger *other;

    sql_exec(path, "INSERT INTO bf_schema_version (version, description) VALUES (7, 'future')");
    ck_assert_int_eq(open_at(&other, path, BF_DURABILITY_NORMAL), BF_E_UNSUPPORTED);
    ck_assert_ptr_null(other);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), path));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "schema version 7 was written by a newer "
                                                  "libbackfill (this one knows up to 3)"));
}
END_TEST

START_TEST(an_older_schema_is_migrated_forward)
{
    char old[320];
    bf_ledger *l;
    sq_store *s;
    static const sq_migration two[] = {
        {3, "unused", "SELECT 1"},
        {4, "an extra table", "CREATE TABLE extra (x INTEGER)"},
    };

    /* A ledger file with the version table but no migration applied yet. */
    snprintf(old, sizeof old, "%s/old.db", dir);
    sql_exec(old, "PRAGMA application_id = 1650871399; CREATE TABLE bf_schema_version ("
                  "version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT)");
    ck_assert_int_eq(open_at(&l, old, BF_DURABILITY_NORMAL), BF_OK);
    s = l->db;
    {
        int v;

        ck_assert_int_eq(sq_schema_version(&v, s), BF_OK);
        ck_assert_int_eq(v, 3); /* runs, batches, events; validation results; before-states */
        /* The next migration applies once, in order, and is recorded. */
        ck_assert_int_eq(sq_schema_migrate(s, two, 2), BF_OK);
        ck_assert_int_eq(sq_schema_migrate(s, two, 2), BF_OK);
        ck_assert_int_eq(sq_schema_version(&v, s), BF_OK);
        ck_assert_int_eq(v, 4);
    }
    ck_assert_int_eq(sqlite3_exec(s->db, "INSERT INTO extra VALUES (1); INSERT INTO runs "
                                  "SELECT * FROM runs WHERE 0", NULL, NULL, NULL), SQLITE_OK);
    bf_ledger_close(l);
}
END_TEST

START_TEST(another_sqlite_database_is_refused)
{
    char other[320];
    bf_ledger *l;

    snprintf(other, sizeof other, "%s/app.db", dir);
    sql_exec(other, "CREATE TABLE customers (id INTEGER PRIMARY KEY)");
    ck_assert_int_eq(open_at(&l, other, BF_DURABILITY_NORMAL), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), other));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "a SQLite database but not a libbackfill ledger"));
    /* Nothing was written into it. */
    sql_exec(other, "SELECT count(*) FROM customers");
}
END_TEST

START_TEST(a_corrupt_file_is_refused)
{
    char other[320];
    char junk[8192];
    bf_ledger *l;
    FILE *f;

    snprintf(other, sizeof other, "%s/junk.db", dir);
    memset(junk, 'x', sizeof junk);
    write_file(other, junk, sizeof junk);
    ck_assert_int_eq(open_at(&l, other, BF_DURABILITY_NORMAL), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), other));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "corrupt or another kind of file"));

    /* A real ledger whose schema page was overwritten. */
    bf_ledger_close(ledger);
    ledger = NULL;
    lt_remove_ledger(other);
    ck_assert_int_eq(open_at(&l, other, BF_DURABILITY_NORMAL), BF_OK);
    bf_ledger_close(l);
    f = fopen(other, "r+b");
    ck_assert_ptr_nonnull(f);
    fseek(f, 100, SEEK_SET);
    fwrite(junk, 1, 3000, f);
    fclose(f);
    ck_assert_int_eq(open_at(&l, other, BF_DURABILITY_NORMAL), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), other));
}
END_TEST

START_TEST(a_missing_directory_is_an_io_error)
{
    char other[320];
    bf_ledger *l;

    snprintf(other, sizeof other, "%s/no/such/dir/ledger.db", dir);
    ck_assert_int_eq(open_at(&l, other, BF_DURABILITY_NORMAL), BF_E_IO);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), other));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "No such file or directory"));
}
END_TEST

/* Make a directory read-only, even for root (which ignores permission bits). */
static void make_read_only(const char *d)
{
    char cmd[400];

    if (geteuid() == 0) {
        snprintf(cmd, sizeof cmd, "chattr +i '%s'", d);
        ck_assert_msg(system(cmd) == 0, "chattr +i needs an ext2/3/4, xfs or btrfs /tmp");
    } else {
        ck_assert_int_eq(chmod(d, 0555), 0);
    }
}

static void make_writable(const char *d)
{
    char cmd[400];

    if (geteuid() == 0) {
        snprintf(cmd, sizeof cmd, "chattr -i '%s'", d);
        ck_assert_int_eq(system(cmd), 0);
    } else {
        ck_assert_int_eq(chmod(d, 0755), 0);
    }
}

START_TEST(a_read_only_directory_is_an_io_error)
{
    char ro[320], file[400], existing[400];
    bf_ledger *l;

    snprintf(ro, sizeof ro, "%s/ro", dir);
    ck_assert_int_eq(mkdir(ro, 0755), 0);
    snprintf(file, sizeof file, "%s/new.db", ro);
    snprintf(existing, sizeof existing, "%s/old.db", ro);
    ck_assert_int_eq(open_at(&l, existing, BF_DURABILITY_NORMAL), BF_OK);
    bf_ledger_close(l);
    lt_remove_ledger(existing);
    ck_assert_int_eq(open_at(&l, existing, BF_DURABILITY_NORMAL), BF_OK);
    bf_ledger_close(l);
    {
        char side[500];

        snprintf(side, sizeof side, "%s-wal", existing);
        unlink(side);
        snprintf(side, sizeof side, "%s-shm", existing);
        unlink(side);
    }
    make_read_only(ro);
    ck_assert_int_eq(open_at(&l, file, BF_DURABILITY_NORMAL), BF_E_IO);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), file));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is not writable"));
    /* An existing ledger there cannot get its WAL file either. */
    ck_assert_int_eq(open_at(&l, existing, BF_DURABILITY_NORMAL), BF_E_IO);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), existing));
    make_writable(ro);
}
END_TEST

START_TEST(must_exist_does_not_create)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    char other[320];
    bf_ledger *l;

    snprintf(other, sizeof other, "%s/absent.db", dir);
    opts.flags = BF_LEDGER_MUST_EXIST;
    ck_assert_int_eq(bf_ledger_open(&l, other, &opts), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), other));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "no such file"));
    ck_assert_int_eq(access(other, F_OK), -1);
}
END_TEST

/*
 * A ledger deleted under an open handle: the next transaction is refused
 * naming it, rather than every record going into a file nobody can open.
 */
START_TEST(a_ledger_deleted_while_open_records_nothing_more)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    bf_lease *lease = NULL;
    char side[320];

    ck_assert_int_eq(unlink(path), 0);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_E_IO);
    ck_assert_msg(strstr(bf_last_error(), "was deleted or replaced since it was opened"), "%s",
                  bf_last_error());
    ck_assert_ptr_nonnull(strstr(bf_last_error(), path));
    ck_assert_ptr_null(lease);
    bf_run_free(run);
}
END_TEST

/* The bytes and modification time of a file, to tell whether anything touched it. */
struct file_print {
    char *bytes;
    size_t len;
    struct timespec mtime;
};

static struct file_print print_file(const char *p)
{
    struct file_print fp;
    struct stat st;
    FILE *f;

    ck_assert_int_eq(stat(p, &st), 0);
    fp.mtime = st.st_mtim;
    fp.len = (size_t)st.st_size;
    fp.bytes = malloc(fp.len + 1);
    ck_assert_ptr_nonnull(fp.bytes);
    f = fopen(p, "rb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fread(fp.bytes, 1, fp.len, f), fp.len);
    fclose(f);
    return fp;
}

static void assert_untouched(const char *p, struct file_print *before, const char *what)
{
    struct file_print after = print_file(p);

    ck_assert_msg(after.len == before->len && memcmp(after.bytes, before->bytes, after.len) == 0,
                  "%s: the file's bytes changed", what);
    ck_assert_msg(after.mtime.tv_sec == before->mtime.tv_sec &&
                      after.mtime.tv_nsec == before->mtime.tv_nsec,
                  "%s: the file's mtime changed", what);
    free(after.bytes);
    free(before->bytes);
}

/*
 * Every kind of file that is not a ledger this library can use is refused,
 * in both open modes, with a message naming it, and left byte for byte as it
 * was: the journal mode is not switched, an empty file is not made a ledger.
 */
START_TEST(a_refused_file_is_left_as_it_was)
{
    char app[320], rollback[320], text[320], empty[320], emptydb[320], newer[320], sub[320];
    struct {
        const char *file;
        int code;
        const char *says;
    } cases[] = {
        {app, BF_E_PARSE, "a SQLite database but not a libbackfill ledger"},
        {rollback, BF_E_PARSE, "a SQLite database but not a libbackfill ledger"},
        {text, BF_E_PARSE, "corrupt or another kind of file"},
        {empty, BF_E_PARSE, "an empty file or database, not a libbackfill ledger"},
        {emptydb, BF_E_PARSE, "an empty file or database, not a libbackfill ledger"},
        {newer, BF_E_UNSUPPORTED, "schema version 7 was written by a newer libbackfill"},
    };
    bf_ledger *l;

    snprintf(app, sizeof app, "%s/app-wal.db", dir);
    snprintf(rollback, sizeof rollback, "%s/app.db", dir);
    snprintf(text, sizeof text, "%s/notes.txt", dir);
    snprintf(empty, sizeof empty, "%s/empty", dir);
    snprintf(emptydb, sizeof emptydb, "%s/empty.db", dir);
    snprintf(newer, sizeof newer, "%s/newer.db", dir);
    snprintf(sub, sizeof sub, "%s/sub", dir);
    sql_exec(app, "PRAGMA journal_mode=WAL; CREATE TABLE customers (id INTEGER PRIMARY KEY); "
                  "INSERT INTO customers VALUES (1)");
    sql_exec(rollback, "CREATE TABLE t (x); INSERT INTO t VALUES ('x')");
    write_file(text, "id,name\n1,ana\n", 14);
    write_file(empty, "", 0);
    sql_exec(emptydb, "PRAGMA user_version = 0; VACUUM");
    ck_assert_int_eq(open_at(&l, newer, BF_DURABILITY_NORMAL), BF_OK);
    bf_ledger_close(l);
    sql_exec(newer, "INSERT INTO bf_schema_version (version, description) VALUES (7, 'future')");
    ck_assert_int_eq(mkdir(sub, 0755), 0);

    for (int must_exist = 0; must_exist <= 1; must_exist++) {
        bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;

        opts.flags = must_exist ? BF_LEDGER_MUST_EXIST : 0u;
        for (size_t i = 0; i < BF_ARRAY_LEN(cases); i++) {
            struct file_print before = print_file(cases[i].file);
            char what[400];

            snprintf(what, sizeof what, "%s (%s)", cases[i].file,
                     must_exist ? "must exist" : "create");
            l = NULL;
            ck_assert_msg(bf_ledger_open(&l, cases[i].file, &opts) == cases[i].code,
                          "%s: %s", what, bf_last_error());
            ck_assert_ptr_null(l);
            ck_assert_msg(strstr(bf_last_error(), cases[i].file) &&
                              strstr(bf_last_error(), cases[i].says),
                          "%s: %s", what, bf_last_error());
            assert_untouched(cases[i].file, &before, what);
        }
        ck_assert_int_eq(bf_ledger_open(&l, sub, &opts), BF_E_INVALID);
        ck_assert_ptr_nonnull(strstr(bf_last_error(), sub));
        ck_assert_ptr_nonnull(strstr(bf_last_error(), "is a directory"));
    }
    /* The rollback-journal database got no WAL file beside it, and is still a good database. */
    ck_assert_int_eq(access(rollback, F_OK), 0);
    {
        char side[340];

        snprintf(side, sizeof side, "%s-wal", rollback);
        ck_assert_int_eq(access(side, F_OK), -1);
    }
    sql_exec(rollback, "SELECT count(*) FROM t");
}
END_TEST

/* A new ledger appears complete or not at all: no temporary file is left beside it. */
START_TEST(creating_a_ledger_leaves_no_temporary_file)
{
    char cmd[400];

    snprintf(cmd, sizeof cmd, "test -z \"$(ls '%s' | grep -v '^ledger.db\\(-wal\\|-shm\\)\\?$')\"",
             dir);
    ck_assert_msg(system(cmd) == 0, "files other than the ledger in %s", dir);
    ck_assert_int_eq(sql_int("PRAGMA application_id"), 0x62664c67);
}
END_TEST

START_TEST(versioned_structs_refuse_unknown_versions)
{
    bf_ledger_options opts;
    bf_run_spec spec;
    bf_batch_result result;
    bf_progress progress;
    bf_store_vtable vt;
    bf_ledger *l;

    ck_assert_int_eq(bf_ledger_options_init(&opts, 3), BF_E_ABI);
    ck_assert_int_eq(bf_ledger_options_init(&opts, 1), BF_OK); /* every older version is accepted */
    ck_assert_int_eq(bf_run_spec_init(&spec, 0), BF_E_ABI);
    ck_assert_int_eq(bf_batch_result_init(&result, 9), BF_E_ABI);
    ck_assert_int_eq(bf_progress_init(&progress, 2), BF_E_ABI);
    ck_assert_int_eq(bf_store_vtable_init(&vt, 4), BF_E_ABI);
    ck_assert_int_eq(bf_store_vtable_init(&vt, BF_STORE_VTABLE_VERSION), BF_OK);
    ck_assert_int_eq(bf_ledger_options_init(&opts, BF_LEDGER_OPTIONS_VERSION), BF_OK);
    opts.version = 5;
    ck_assert_int_eq(bf_ledger_open(&l, path, &opts), BF_E_ABI);
    /* A store missing members is refused by name. */
    opts.version = BF_LEDGER_OPTIONS_VERSION;
    opts.store = &vt;
    ck_assert_int_eq(bf_ledger_open(&l, path, &opts), BF_E_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "does not provide open"));
}
END_TEST

/* ---- run transitions ---- */

/* The table of docs/ledger.md, written out again: the test checks the code against the doc. */
static int run_legal(int from, int to)
{
    static const char *const legal[] = {
        "planned>running",  "planned>paused",          "planned>cancelled",
        "running>paused",   "running>cancelled",       "running>failed",
        "running>validating", "paused>running",        "paused>cancelled",
        "paused>rolled_back",
        "cancelled>rolled_back", "failed>running",     "failed>cancelled",
        "failed>rolled_back", "validating>awaiting_approval", "validating>failed",
        "validating>paused", "validating>cancelled",   "awaiting_approval>approved",
        "awaiting_approval>failed", "awaiting_approval>cancelled",
        "awaiting_approval>rolled_back", "awaiting_approval>running", "approved>completed",
        "approved>rolled_back",
        "completed>rolled_back",
    };
    char pair[64];

    snprintf(pair, sizeof pair, "%s>%s", bf_run_state_name((bf_run_state)from),
             bf_run_state_name((bf_run_state)to));
    for (size_t i = 0; i < BF_ARRAY_LEN(legal); i++)
        if (strcmp(legal[i], pair) == 0)
            return 1;
    return 0;
}

static void force_run_state(bf_run *run, int state)
{
    char sql[128];

    snprintf(sql, sizeof sql, "UPDATE runs SET state = %d WHERE id = %lld", state,
             (long long)bf_run_id(run));
    sql_exec(path, sql);
    ck_assert_int_eq(bf_run_refresh(run), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), state);
}

static long long run_events(bf_run *run)
{
    char sql[128];

    snprintf(sql, sizeof sql, "SELECT count(*) FROM events WHERE run_id = %lld",
             (long long)bf_run_id(run));
    return sql_int(sql);
}

START_TEST(every_run_transition_is_checked)
{
    int legal_seen = 0;

    for (int from = BF_RUN_PLANNED; from <= BF_RUN_ROLLED_BACK; from++) {
        for (int to = BF_RUN_PLANNED; to <= BF_RUN_ROLLED_BACK; to++) {
            char brief[64], want[256];
            bf_run *run;
            long long events;
            int rc;

            snprintf(brief, sizeof brief, "t-%d-%d", from, to);
            run = start_run(brief, 2, 1, 3, 1, 60);
            force_run_state(run, from);
            events = run_events(run);
            if (to == BF_RUN_CANCELLED)
                rc = bf_run_cancel(run, "test");
            else if (to == BF_RUN_PAUSED)
                rc = bf_run_pause(run, "test");
            else
                rc = bf_run_set_state(run, (bf_run_state)to, "test");
            if (run_legal(from, to)) {
                legal_seen++;
                ck_assert_msg(rc == BF_OK, "%s -> %s: %s", bf_run_state_name((bf_run_state)from),
                              bf_run_state_name((bf_run_state)to), bf_last_error());
                ck_assert_int_eq(bf_run_current_state(run), to);
                ck_assert_int_ge(run_events(run), events + 1);
            } else {
                snprintf(want, sizeof want, "run %lld (%s #1): cannot move from %s to %s",
                         (long long)bf_run_id(run), brief, bf_run_state_name((bf_run_state)from),
                         bf_run_state_name((bf_run_state)to));
                ck_assert_msg(rc == BF_E_STATE, "%s -> %s should be refused",
                              bf_run_state_name((bf_run_state)from),
                              bf_run_state_name((bf_run_state)to));
                ck_assert_str_eq(bf_last_error(), want);
                ck_assert_str_eq(bf_run_last_error(run), want);
                ck_assert_int_eq(bf_run_current_state(run), from);
                ck_assert_int_eq(run_events(run), events);
            }
            bf_run_free(run);
        }
    }
    ck_assert_int_eq(legal_seen, 26);
}
END_TEST

START_TEST(resume_moves_only_a_paused_run)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);

    ck_assert_int_eq(bf_run_resume(run, NULL), BF_E_STATE);
    ck_assert_int_eq(bf_run_pause(run, "lunch"), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    ck_assert_int_eq(bf_run_resume(run, "back"), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_CANCELLED, NULL), BF_E_INVALID);
    ck_assert_str_eq(bf_run_state_name(BF_RUN_AWAITING_APPROVAL), "awaiting_approval");
    ck_assert_ptr_null(bf_run_state_name((bf_run_state)10));
    ck_assert_str_eq(bf_batch_state_name(BF_BATCH_ROLLED_BACK), "rolled_back");
    ck_assert_ptr_null(bf_batch_state_name((bf_batch_state)-1));
    bf_run_free(run);
}
END_TEST

/* ---- batch transitions by hand ---- */

static int mark_legal(int from, int to)
{
    static const int legal[][2] = {
        {BF_BATCH_PENDING, BF_BATCH_CANCELLED},      {BF_BATCH_COMPLETED, BF_BATCH_VALIDATED},
        {BF_BATCH_COMPLETED, BF_BATCH_FAILED},       {BF_BATCH_COMPLETED, BF_BATCH_ROLLED_BACK},
        {BF_BATCH_VALIDATED, BF_BATCH_ROLLED_BACK},  {BF_BATCH_FAILED, BF_BATCH_CANCELLED},
        {BF_BATCH_ROLLED_BACK, BF_BATCH_PENDING},
        /* The undo of a publish the ledger never heard of (its worker died in between). */
        {BF_BATCH_PENDING, BF_BATCH_ROLLED_BACK},    {BF_BATCH_RUNNING, BF_BATCH_ROLLED_BACK},
        {BF_BATCH_FAILED, BF_BATCH_ROLLED_BACK},     {BF_BATCH_CANCELLED, BF_BATCH_ROLLED_BACK},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(legal); i++)
        if (legal[i][0] == from && legal[i][1] == to)
            return 1;
    return 0;
}

static int64_t first_batch(bf_run *run)
{
    return bf_run_id(run) * 1000000000 + 1;
}

static void force_batch_state(int64_t id, int state)
{
    char sql[128];

    snprintf(sql, sizeof sql, "UPDATE batches SET state = %d WHERE id = %lld", state,
             (long long)id);
    sql_exec(path, sql);
}

static int batch_state(int64_t id)
{
    char sql[128];

    snprintf(sql, sizeof sql, "SELECT state FROM batches WHERE id = %lld", (long long)id);
    return (int)sql_int(sql);
}

START_TEST(every_manual_batch_transition_is_checked)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    int64_t id = first_batch(run);
    int legal_seen = 0;

    for (int from = BF_BATCH_PENDING; from <= BF_BATCH_SPLIT; from++) {
        for (int to = BF_BATCH_PENDING; to <= BF_BATCH_SPLIT; to++) {
            long long events;
            int rc;

            force_batch_state(id, from);
            events = run_events(run);
            rc = bf_run_mark_batch(run, id, (bf_batch_state)to, "by hand");
            if (mark_legal(from, to)) {
                legal_seen++;
                ck_assert_msg(rc == BF_OK, "%s -> %s: %s",
                              bf_batch_state_name((bf_batch_state)from),
                              bf_batch_state_name((bf_batch_state)to), bf_last_error());
                ck_assert_int_eq(batch_state(id), to);
                ck_assert_int_eq(run_events(run), events + 1);
            } else {
                char want[256];

                snprintf(want, sizeof want, "batch %lld (order_id [0, 100)) of run %lld "
                         "(orders-fix #1): cannot move from %s to %s", (long long)id,
                         (long long)bf_run_id(run), bf_batch_state_name((bf_batch_state)from),
                         bf_batch_state_name((bf_batch_state)to));
                ck_assert_int_eq(rc, BF_E_STATE);
                ck_assert_str_eq(bf_last_error(), want);
                ck_assert_int_eq(batch_state(id), from);
                ck_assert_int_eq(run_events(run), events);
            }
        }
    }
    ck_assert_int_eq(legal_seen, 11);
    /* A running batch whose lease is live may still publish: not rolled back by hand. */
    force_batch_state(id, BF_BATCH_PENDING);
    {
        bf_lease *lease = NULL;

        ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
        ck_assert_int_eq(bf_run_mark_batch(run, bf_lease_batch_id(lease), BF_BATCH_ROLLED_BACK,
                                           NULL), BF_E_STATE);
        ck_assert_msg(strstr(bf_last_error(), "it may still publish"), "%s", bf_last_error());
        bf_lease_free(lease);
    }
    ck_assert_int_eq(bf_run_mark_batch(run, 42, BF_BATCH_VALIDATED, NULL), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "run 1 (orders-fix #1) has no batch 42");
    bf_run_free(run);
}
END_TEST

START_TEST(the_ledger_table_of_automatic_batch_moves_is_complete)
{
    /* Claims, completions, failures, expiry, retry and split make exactly these moves. */
    ck_assert(bf__batch_transition_legal(BF_BATCH_PENDING, BF_BATCH_RUNNING));
    ck_assert(bf__batch_transition_legal(BF_BATCH_RUNNING, BF_BATCH_COMPLETED));
    ck_assert(bf__batch_transition_legal(BF_BATCH_RUNNING, BF_BATCH_PENDING));
    ck_assert(bf__batch_transition_legal(BF_BATCH_RUNNING, BF_BATCH_FAILED));
    ck_assert(bf__batch_transition_legal(BF_BATCH_RUNNING, BF_BATCH_CANCELLED));
    ck_assert(bf__batch_transition_legal(BF_BATCH_FAILED, BF_BATCH_PENDING));
    ck_assert(bf__batch_transition_legal(BF_BATCH_FAILED, BF_BATCH_SPLIT));
    ck_assert(bf__batch_transition_legal(BF_BATCH_PENDING, BF_BATCH_SPLIT)); /* a resize */
    ck_assert(!bf__batch_transition_legal(BF_BATCH_COMPLETED, BF_BATCH_RUNNING));
    ck_assert(!bf__batch_transition_legal(BF_BATCH_SPLIT, BF_BATCH_PENDING));
    ck_assert(!bf__batch_transition_legal(BF_BATCH_CANCELLED, BF_BATCH_PENDING));
    for (int from = 0; from <= BF_BATCH_SPLIT; from++)
        for (int to = 0; to <= BF_BATCH_SPLIT; to++)
            if (bf__batch_mark_legal(from, to))
                ck_assert(bf__batch_transition_legal(from, to));
}
END_TEST

/* ---- claims, leases, fencing ---- */

START_TEST(claims_follow_plan_order_with_lease_and_token)
{
    bf_run *run = start_run(NULL, 3, 1, 3, 1, 60);
    bf_lease *lease;

    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PLANNED);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_ptr_nonnull(lease);
    ck_assert_int_eq(bf_lease_ordinal(lease), 0);
    ck_assert_int_eq(bf_lease_batch_id(lease), first_batch(run));
    ck_assert_str_eq(bf_lease_label(lease), "order_id [0, 100)");
    ck_assert_int_eq(bf_lease_dimension(lease), BF_DIM_KEY);
    ck_assert_int_eq(bf_lease_lo(lease), 0);
    ck_assert_int_eq(bf_lease_hi(lease), 100);
    ck_assert_str_eq(bf_lease_params_json(lease), "{\"lo\":0,\"hi\":100}");
    ck_assert_int_eq(bf_lease_token(lease), 1);
    ck_assert_int_eq(bf_lease_attempt(lease), 1);
    ck_assert_int_eq(bf_lease_expires_at(lease), fake_now + 60 * SEC);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_int_eq(bf_lease_ordinal(lease), 1);
    bf_lease_free(lease);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'run' AND "
                             "from_state = 'planned' AND to_state = 'running'"), 1);
    bf_run_free(run);
}
END_TEST

START_TEST(max_concurrency_limits_live_leases_across_handles)
{
    bf_run *run = start_run(NULL, 5, 2, 3, 1, 60), *other;
    bf_ledger *second;
    bf_lease *a, *b, *c;

    ck_assert_int_eq(open_at(&second, path, BF_DURABILITY_NORMAL), BF_OK);
    ck_assert_int_eq(bf_run_open(&other, second, bf_run_id(run)), BF_OK);
    ck_assert_int_eq(bf_run_claim(&a, run), BF_OK);
    ck_assert_int_eq(bf_run_claim(&b, other), BF_OK);
    ck_assert_ptr_nonnull(b);
    ck_assert_int_eq(bf_lease_ordinal(b), 1);
    ck_assert_int_eq(bf_run_claim(&c, run), BF_OK);
    ck_assert_ptr_null(c);
    ck_assert_int_eq(bf_run_complete(other, bf_lease_batch_id(a), bf_lease_token(a), NULL), BF_OK);
    ck_assert_int_eq(bf_run_claim(&c, run), BF_OK);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(bf_lease_ordinal(c), 2);
    bf_lease_free(a);
    bf_lease_free(b);
    bf_lease_free(c);
    bf_run_free(other);
    bf_ledger_close(second);
    bf_run_free(run);
}
END_TEST

START_TEST(expired_leases_return_to_pending_and_stale_tokens_lose)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    bf_lease *first, *again;
    int64_t id;

    ck_assert_int_eq(bf_run_claim(&first, run), BF_OK);
    id = bf_lease_batch_id(first);
    /* A heartbeat keeps the lease alive past its first expiry. */
    fake_now += 50 * SEC;
    ck_assert_int_eq(bf_run_heartbeat(run, id, 1), BF_OK);
    fake_now += 50 * SEC;
    ck_assert_int_eq(bf_run_claim(&again, run), BF_OK);
    ck_assert_ptr_null(again); /* concurrency 1, lease live */
    /* Past the lease the batch is claimed again, with a new token. */
    fake_now += 11 * SEC;
    ck_assert_int_eq(bf_run_claim(&again, run), BF_OK);
    ck_assert_ptr_nonnull(again);
    ck_assert_int_eq(bf_lease_batch_id(again), id);
    ck_assert_int_eq(bf_lease_token(again), 2);
    ck_assert_int_eq(bf_lease_attempt(again), 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE from_state = 'running' AND "
                             "to_state = 'pending' AND detail LIKE 'lease of token 1 expired%'"),
                     1);
    /* The zombie's token is stale for every call. */
    ck_assert_int_eq(bf_run_complete(run, id, 1, NULL), BF_E_LEASE_LOST);
    ck_assert_str_eq(bf_last_error(), "batch 1000000001 (order_id [0, 100)) of run 1 (orders-fix "
                                      "#1): cannot complete with fencing token 1: the batch is "
                                      "running with token 2");
    ck_assert_int_eq(bf_run_fail(run, id, 1, "boom"), BF_E_LEASE_LOST);
    ck_assert_int_eq(bf_run_heartbeat(run, id, 1), BF_E_LEASE_LOST);
    ck_assert_int_eq(bf_run_complete(run, id, 2, NULL), BF_OK);
    /* Completing twice: the second caller has lost the lease. */
    ck_assert_int_eq(bf_run_complete(run, id, 2, NULL), BF_E_LEASE_LOST);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "the batch is completed with token 2"));
    bf_lease_free(first);
    bf_lease_free(again);
    bf_run_free(run);
}
END_TEST

START_TEST(a_straggler_keeps_its_slot_while_finished_batches_are_unlisted)
{
    bf_run *run = start_run(NULL, 100, 2, 3, 1, 60);
    bf_lease *straggler, *lease, *none;

    ck_assert_int_eq(bf_run_claim(&straggler, run), BF_OK);
    for (int i = 0; i < 60; i++) {
        ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
        ck_assert_ptr_nonnull(lease);
        ck_assert_int_eq(bf_lease_ordinal(lease), i + 1);
        /* The straggler still holds one of the two slots. */
        ck_assert_int_eq(bf_run_claim(&none, run), BF_OK);
        ck_assert_ptr_null(none);
        ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
        bf_lease_free(lease);
    }
    /* Finished batches left the claim's list in groups, the straggler did not. */
    ck_assert_int_le(sql_int("SELECT count(*) FROM batches WHERE listed = 1 AND state = 2"), 16);
    ck_assert_int_eq(sql_int("SELECT listed FROM batches WHERE id = 1000000001"), 1);
    /* Its lease still expires, and the batch comes back first in plan order. */
    fake_now += 61 * SEC;
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_int_eq(bf_lease_batch_id(lease), bf_lease_batch_id(straggler));
    ck_assert_int_eq(bf_lease_token(lease), 2);
    bf_lease_free(lease);
    bf_lease_free(straggler);
    bf_run_free(run);
}
END_TEST

/*
 * A worker unlists the batches it finished itself, by id range; those
 * another worker finished and left listed (it went away first) leave the
 * claim's list when the next window is listed.
 */
START_TEST(batches_a_gone_worker_finished_leave_the_list_with_the_next_window)
{
    bf_run *run = start_run(NULL, 200, 1, 3, 1, 60), *theirs;
    bf_ledger *other;
    bf_lease *lease;

    ck_assert_int_eq(open_at(&other, path, BF_DURABILITY_NORMAL), BF_OK);
    ck_assert_int_eq(bf_run_open(&theirs, other, bf_run_id(run)), BF_OK);
    for (int i = 0; i < 10; i++) {
        ck_assert_int_eq(bf_run_claim(&lease, theirs), BF_OK);
        ck_assert_int_eq(bf_run_complete(theirs, bf_lease_batch_id(lease), 1, NULL), BF_OK);
        bf_lease_free(lease);
    }
    bf_run_free(theirs);
    bf_ledger_close(other);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE listed = 1 AND state = 2"), 10);
    for (int i = 0; i < 70; i++) {
        ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
        ck_assert_int_eq(bf_lease_ordinal(lease), 10 + i);
        ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
        bf_lease_free(lease);
    }
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE id <= 1000000010 AND listed = 1"),
                     0);
    ck_assert_int_le(sql_int("SELECT count(*) FROM batches WHERE listed = 1 AND state = 2"), 16);
    bf_run_free(run);
}
END_TEST

START_TEST(a_failed_batch_unlisted_meanwhile_is_claimed_again_after_retry)
{
    bf_run *run = start_run(NULL, 60, 1, 1, 0, 60);
    size_t n;

    fail_next(run, "poison");
    ck_assert_int_eq(lt_work(run, 40), 40);
    ck_assert_int_eq(sql_int("SELECT listed FROM batches WHERE id = 1000000001"), 0);
    ck_assert_int_eq(bf_run_retry(&n, run, 0), BF_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sql_int("SELECT listed FROM batches WHERE id = 1000000001"), 1);
    {
        bf_lease *lease = claim_one(run);

        ck_assert_int_eq(bf_lease_ordinal(lease), 0);
        bf_lease_free(lease);
    }
    bf_run_free(run);
}
END_TEST

START_TEST(another_handles_changes_are_seen_by_the_next_transaction)
{
    /* A handle does not read again what it wrote last, unless another one has written since. */
    bf_run *run = start_run(NULL, 10, 2, 3, 1, 60), *other_run;
    bf_ledger *other;
    bf_lease *lease, *next;

    ck_assert_int_eq(open_at(&other, path, BF_DURABILITY_NORMAL), BF_OK);
    ck_assert_int_eq(bf_run_open(&other_run, other, bf_run_id(run)), BF_OK);
    lease = claim_one(run);
    /* The other handle completes the batch: the first one's lease is gone. */
    ck_assert_int_eq(bf_run_complete(other_run, bf_lease_batch_id(lease), bf_lease_token(lease),
                                     NULL), BF_OK);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), NULL),
                     BF_E_LEASE_LOST);
    /* The other handle pauses the run: the first one's next claim is refused. */
    ck_assert_int_eq(bf_run_pause(other_run, "by the other handle"), BF_OK);
    ck_assert_int_eq(bf_run_claim(&next, run), BF_E_STATE);
    ck_assert_int_eq(bf_run_resume(other_run, NULL), BF_OK);
    next = claim_one(run);
    /* Events of both handles interleave with one seq each, in order. */
    ck_assert_int_eq(bf_run_note(other_run, "a note between claim and completion"), BF_OK);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(next), bf_lease_token(next), NULL),
                     BF_OK);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events"),
                     sql_int("SELECT count(DISTINCT seq) FROM events"));
    ck_assert_int_eq(sql_int("SELECT max(seq) FROM events"), sql_int("SELECT count(*) FROM events"));
    ck_assert_int_eq(sql_int("SELECT to_state = 'completed' FROM events "
                             "WHERE seq = (SELECT max(seq) FROM events)"), 1);
    bf_lease_free(lease);
    bf_lease_free(next);
    bf_run_free(other_run);
    bf_ledger_close(other);
    bf_run_free(run);
}
END_TEST

START_TEST(another_handles_validation_is_seen_by_the_next_transaction)
{
    /*
     * What the SQLite store knows without reading again (sqlite_known.c)
     * gives way to validation results another handle recorded and settled.
     */
    bf_run *run = start_run(NULL, 10, 1, 3, 1, 60), *other_run;
    bf_ledger *other;
    bf_lease *lease;
    int64_t id;
    char q[100];

    ck_assert_int_eq(open_at(&other, path, BF_DURABILITY_NORMAL), BF_OK);
    ck_assert_int_eq(bf_run_open(&other_run, other, bf_run_id(run)), BF_OK);
    lease = claim_one(run);
    id = bf_lease_batch_id(lease);
    ck_assert_int_eq(bf_run_complete(run, id, bf_lease_token(lease), NULL), BF_OK);
    /* The other handle settles it: validated, so the first one can no longer fail it by hand. */
    ck_assert_int_eq(bf_run_record_validation(other_run, id, "{}", NULL, NULL,
                                              BF_VALIDATION_SETTLE), BF_OK);
    ck_assert_int_eq(bf_run_mark_batch(run, id, BF_BATCH_FAILED, "refused"), BF_E_STATE);
    snprintf(q, sizeof q, "SELECT state FROM batches WHERE id = %lld", (long long)id);
    ck_assert_int_eq(sql_int(q), BF_BATCH_VALIDATED);
    /* A failure the other handle records pauses the run: the first one's next claim is refused. */
    ck_assert_int_eq(bf_run_record_validation(other_run, id, "{}", NULL, "row count fell",
                                              BF_VALIDATION_SETTLE), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_E_STATE);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events"),
                     sql_int("SELECT count(DISTINCT seq) FROM events"));
    bf_run_free(other_run);
    bf_ledger_close(other);
    bf_run_free(run);
}
END_TEST

START_TEST(claims_cross_the_listing_windows_in_plan_order)
{
    bf_run *run = start_run(NULL, 200, 1, 3, 1, 60);
    bf_lease *lease;

    /* Registration lists nothing; the first claim lists the first window of 64. */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE listed = 1"), 0);
    lease = claim_one(run);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE listed = 1"), 64);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
    bf_lease_free(lease);
    /* Batches 64 to 127 are cancelled by hand before they were ever listed. */
    for (int64_t i = 64; i < 128; i++)
        ck_assert_int_eq(bf_run_mark_batch(run, first_batch(run) + i, BF_BATCH_CANCELLED, NULL),
                         BF_OK);
    for (int i = 1; i < 64; i++) {
        lease = claim_one(run);
        ck_assert_int_eq(bf_lease_ordinal(lease), i);
        ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
        bf_lease_free(lease);
    }
    /* The next claim skips the cancelled window and goes on at 128. */
    for (int i = 128; i < 200; i++) {
        lease = claim_one(run);
        ck_assert_ptr_nonnull(lease);
        ck_assert_int_eq(bf_lease_ordinal(lease), i);
        ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
        bf_lease_free(lease);
    }
    ck_assert_ptr_null(claim_one(run));
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 2"), 136);
    ck_assert_int_le(sql_int("SELECT count(*) FROM batches WHERE listed = 1"), 16);
    bf_run_free(run);
}
END_TEST

START_TEST(an_expired_lease_on_the_last_attempt_fails_the_batch)
{
    bf_run *run = start_run(NULL, 1, 1, 1, 1, 10);
    bf_lease *lease;

    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    bf_lease_free(lease);
    fake_now += 11 * SEC;
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_ptr_null(lease);
    ck_assert_int_eq(batch_state(first_batch(run)), BF_BATCH_FAILED);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_FAILED);
    bf_run_free(run);
}
END_TEST

START_TEST(complete_records_results)
{
    bf_run *run = start_run(NULL, 1, 1, 3, 1, 60);
    bf_batch_result result;
    bf_lease *lease;
    char *json;

    ck_assert_int_eq(bf_batch_result_init(&result, BF_BATCH_RESULT_VERSION), BF_OK);
    result.rows_written = 120;
    result.rows_deleted = 118;
    result.fingerprint_before = "118:0000000000000000000000000000abcd";
    result.fingerprint_after = "120:00000000000000000000000000001234";
    result.idempotency_key = "k-1";
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    fake_now += 7 * SEC;
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result),
                     BF_OK);
    ck_assert_int_eq(sql_int("SELECT rows_written FROM batches"), 120);
    ck_assert_int_eq(sql_int("SELECT duration_us FROM batches"), 7 * SEC);
    ck_assert_int_eq(bf_run_batches_json(&json, run, BF_BATCH_COMPLETED), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"fingerprint_after\":\"120:00000000000000000000000000001234\""));
    ck_assert_ptr_nonnull(strstr(json, "\"idempotency_key\":\"k-1\""));
    ck_assert_ptr_nonnull(strstr(json, "\"duration_s\":7.0"));
    bf_free(json);
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

/*
 * A completion is recorded as its fields say, or refused naming the field:
 * a negative count, or fingerprint text that is not one, changes nothing.
 * Counts whose totals pass an int64 leave the run readable.
 */
START_TEST(complete_refuses_what_is_not_a_count_or_a_fingerprint)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    bf_batch_result result;
    bf_progress p = BF_PROGRESS_INIT;
    bf_lease *lease;

    ck_assert_int_eq(bf_batch_result_init(&result, BF_BATCH_RESULT_VERSION), BF_OK);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    result.rows_written = -5;
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result),
                     BF_E_INVALID);
    ck_assert_msg(strstr(bf_last_error(), "rows_written is negative (-5)"), "%s", bf_last_error());
    result.rows_written = 1;
    result.fingerprint_after = "1:zz";
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result),
                     BF_E_INVALID);
    ck_assert_msg(strstr(bf_last_error(), "fingerprint_after '1:zz' is not a fingerprint"), "%s",
                  bf_last_error());
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 2"), 0);
    /* Two batches of 2^62 rows: the total passes an int64, and the run still reads. */
    result.fingerprint_after = NULL;
    result.rows_written = (int64_t)1 << 62;
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result),
                     BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result),
                     BF_OK);
    /* The built-in store's totals (a host's store sums as it will). */
    if (!use_external) {
        ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
        ck_assert(p.rows_written == INT64_MAX);
    }
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

/* ---- retries, backoff, split ---- */

static bf_lease *claim_one(bf_run *run)
{
    bf_lease *lease;

    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    return lease;
}

START_TEST(failures_retry_with_doubling_backoff_then_fail_for_good)
{
    bf_run *run = start_run(NULL, 1, 1, 3, 10, 60);
    bf_lease *lease;
    int64_t id = first_batch(run);

    lease = claim_one(run);
    ck_assert_int_eq(bf_run_fail(run, id, bf_lease_token(lease), "deadlock"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(batch_state(id), BF_BATCH_PENDING);
    ck_assert_int_eq(sql_int("SELECT not_before FROM batches"), fake_now + 10 * SEC);
    ck_assert_ptr_null(claim_one(run)); /* backoff not over */
    fake_now += 10 * SEC;
    lease = claim_one(run);
    ck_assert_ptr_nonnull(lease);
    ck_assert_int_eq(bf_lease_attempt(lease), 2);
    ck_assert_int_eq(bf_run_fail(run, id, bf_lease_token(lease), "deadlock again"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(sql_int("SELECT not_before FROM batches"), fake_now + 20 * SEC);
    fake_now += 19 * SEC;
    ck_assert_ptr_null(claim_one(run));
    fake_now += 1 * SEC;
    lease = claim_one(run);
    ck_assert_int_eq(bf_lease_attempt(lease), 3);
    ck_assert_int_eq(bf_run_fail(run, id, bf_lease_token(lease), "still deadlocked"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(batch_state(id), BF_BATCH_FAILED);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE error = 'still deadlocked'"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE detail = "
                             "'attempt 3 of 3 failed for good: still deadlocked'"), 1);
    /* Nothing left to run but a failure: the run has failed. */
    ck_assert_ptr_null(claim_one(run));
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_FAILED);
    bf_run_free(run);
}
END_TEST

/* Claim the next batch and fail it for the first time. */
static void fail_next(bf_run *run, const char *message)
{
    bf_lease *lease = claim_one(run);

    ck_assert_ptr_nonnull(lease);
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(lease), 1, message), BF_OK);
    bf_lease_free(lease);
}

START_TEST(retry_resets_failed_batches_and_the_run)
{
    bf_run *run = start_run(NULL, 2, 1, 1, 0, 60);
    bf_lease *lease;
    size_t n;

    fail_next(run, "x");
    fail_next(run, "y");
    ck_assert_ptr_null(claim_one(run));
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_FAILED);
    ck_assert_int_eq(bf_run_retry(&n, run, 0), BF_OK);
    ck_assert_uint_eq(n, 2);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);
    lease = claim_one(run);
    ck_assert_int_eq(bf_lease_ordinal(lease), 0);
    ck_assert_int_eq(bf_lease_attempt(lease), 1);
    ck_assert_int_eq(bf_lease_token(lease), 2);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_cancel(run, NULL), BF_OK);
    ck_assert_int_eq(bf_run_retry(&n, run, 0), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is cancelled: its batches cannot be retried"));
    bf_run_free(run);
}
END_TEST

START_TEST(a_failed_key_range_splits_into_halves_in_its_place)
{
    bf_run *run = start_run(NULL, 3, 1, 1, 0, 60);
    bf_lease *lease;
    int64_t halves[2], id = first_batch(run);
    char *json;

    lease = claim_one(run);
    ck_assert_int_eq(bf_run_split_batch(halves, run, id), BF_E_STATE); /* running, not failed */
    ck_assert_int_eq(bf_run_fail(run, id, 1, "too big"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_split_batch(halves, run, id), BF_OK);
    ck_assert_int_eq(batch_state(id), BF_BATCH_SPLIT);
    ck_assert_int_eq(halves[0], id + 3);
    ck_assert_int_eq(halves[1], id + 4);
    lease = claim_one(run);
    ck_assert_int_eq(bf_lease_batch_id(lease), halves[0]);
    ck_assert_str_eq(bf_lease_label(lease), "order_id [0, 50)");
    ck_assert_str_eq(bf_lease_params_json(lease), "{\"lo\":0,\"hi\":50}");
    ck_assert_int_eq(bf_lease_ordinal(lease), 0);
    ck_assert_int_eq(bf_run_complete(run, halves[0], bf_lease_token(lease), NULL), BF_OK);
    bf_lease_free(lease);
    lease = claim_one(run);
    ck_assert_str_eq(bf_lease_label(lease), "order_id [50, 100)");
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_batches_json(&json, run, -1), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"parent_id\":1000000001"));
    bf_free(json);
    bf_run_free(run);
}
END_TEST

START_TEST(split_refuses_narrow_and_non_key_batches)
{
    static const char *const names[] = {"start", "end"};
    bf_run_spec spec = lt_spec("daily", 1, 1, 0, 60);
    bf_plan *plan;
    bf_run *run, *keys;
    bf_lease *lease;
    bf_value v[2] = {{.type = BF_VALUE_TEXT, .s = "2025-03-09", .len = 10},
                     {.type = BF_VALUE_TEXT, .s = "2025-03-10", .len = 10}};
    size_t n;

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_TIME, "order_ts", 1), BF_OK);
    ck_assert_int_eq(bf__plan_add(plan, 0, 86400 * SEC, "2025-03-09", 2, names, v), BF_OK);
    ck_assert_int_eq(bf__plan_seal(plan, "t"), BF_OK);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    lease = claim_one(run);
    ck_assert_str_eq(bf_lease_params_json(lease), "{\"start\":\"2025-03-09\",\"end\":\"2025-03-10\"}");
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(lease), 1, "x"), BF_OK);
    ck_assert_int_eq(bf_run_split_batch(NULL, run, bf_lease_batch_id(lease)), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "only key-range batches split, this one is a time batch"));
    /* retry --split resets what cannot split. */
    ck_assert_int_eq(bf_run_retry(&n, run, BF_RETRY_SPLIT), BF_OK);
    ck_assert_int_eq(batch_state(bf_lease_batch_id(lease)), BF_BATCH_PENDING);
    bf_lease_free(lease);

    {
        bf_run_spec ks = lt_spec("narrow", 1, 1, 0, 60);
        bf_plan *p = lt_key_plan(1, 1, "w");

        ck_assert_int_eq(bf_run_start(&keys, ledger, &ks, p), BF_OK);
        bf_plan_free(p);
    }
    lease = claim_one(keys);
    ck_assert_int_eq(bf_run_fail(keys, bf_lease_batch_id(lease), 1, "x"), BF_OK);
    ck_assert_int_eq(bf_run_split_batch(NULL, keys, bf_lease_batch_id(lease)), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "a range of 1 key cannot split"));
    bf_lease_free(lease);
    bf_run_free(keys);
    bf_run_free(run);
}
END_TEST

START_TEST(parameters_keep_their_types_in_the_ledger)
{
    static const char *const names[] = {"n", "r", "s", "z"};
    bf_run_spec spec = lt_spec("typed", 1, 1, 0, 60);
    bf_plan *plan;
    bf_run *run;
    bf_lease *lease;
    bf_value v[4] = {{.type = BF_VALUE_INT, .i = 2},
                     {.type = BF_VALUE_REAL, .r = 2.0},
                     {.type = BF_VALUE_TEXT, .s = "x", .len = 1},
                     {.type = BF_VALUE_NULL}};

    /* "%.17g" wrote the real 2.0 as 2: the lease's JSON then held an integer. */
    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_PARTITION, "p", 1), BF_OK);
    ck_assert_int_eq(bf__plan_add(plan, 0, 0, "two", 4, names, v), BF_OK);
    ck_assert_int_eq(bf__plan_seal(plan, "t"), BF_OK);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    lease = claim_one(run);
    ck_assert_str_eq(bf_lease_params_json(lease), "{\"n\":2,\"r\":2.0,\"s\":\"x\",\"z\":null}");
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

START_TEST(retry_split_splits_failed_key_ranges)
{
    bf_run *run = start_run(NULL, 2, 1, 1, 0, 60);
    size_t n;

    fail_next(run, "x");
    ck_assert_int_eq(bf_run_retry(&n, run, BF_RETRY_SPLIT), BF_OK);
    ck_assert_uint_eq(n, 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 0"), 3);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 7"), 1);
    bf_run_free(run);
}
END_TEST

/* ---- re-cutting the untouched tail (adaptive sizing) ---- */

/* Claim the next batch, check its label and ordinal, and complete it. */
static void work_expect(bf_run *run, const char *label, int64_t ordinal)
{
    bf_lease *lease = claim_one(run);

    ck_assert_ptr_nonnull(lease);
    ck_assert_str_eq(bf_lease_label(lease), label);
    ck_assert_int_eq(bf_lease_ordinal(lease), ordinal);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), NULL),
                     BF_OK);
    bf_lease_free(lease);
}

START_TEST(a_resize_re_cuts_the_untouched_tail_in_plan_order)
{
    bf_run *run = start_run(NULL, 6, 1, 1, 0, 60); /* order_id [0, 600) by 100 */
    bf_progress p = BF_PROGRESS_INIT;
    int64_t n = -1;
    char *json;

    work_expect(run, "order_id [0, 100)", 0);
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 250, "batches took 4 s, target 10 s"), BF_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 7"), 5);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 0"), 2);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.total, 3);
    ck_assert_int_eq(p.split, 5);
    ck_assert_int_eq(p.pending, 2);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'resize' AND detail = "
                             "'{\"width\":250,\"lo\":100,\"hi\":600,\"replaced\":5,"
                             "\"replaced_first_id\":1000000002,\"batches\":2,"
                             "\"first_id\":1000000007,\"last_id\":1000000008,"
                             "\"reason\":\"batches took 4 s, target 10 s\"}'"), 1);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'batch' AND "
                             "from_state = 'pending' AND to_state = 'split' AND "
                             "detail = 're-cut to width 250'"), 5);
    /* The same width again changes nothing. */
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 250, NULL), BF_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'resize'"), 1);
    /* Each new batch keeps the place of the batch its first key was in. */
    work_expect(run, "order_id [100, 350)", 1);
    /* Shrink what is left: [350, 600) by 100, the last one short. */
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 100, NULL), BF_OK);
    ck_assert_int_eq(n, 3);
    work_expect(run, "order_id [350, 450)", 3); /* all three in the place of [350, 600) */
    work_expect(run, "order_id [450, 550)", 3);
    work_expect(run, "order_id [550, 600)", 3);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.total, 5);
    ck_assert_int_eq(p.completed, 5);
    ck_assert_int_eq(p.pending, 0);
    ck_assert_int_eq(bf_run_batches_json(&json, run, BF_BATCH_PENDING), BF_OK);
    ck_assert_str_eq(json, "[]");
    bf_free(json);
    /* Nothing untouched is left. */
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 10, NULL), BF_OK);
    ck_assert_int_eq(n, 0);
    bf_run_free(run);
}
END_TEST

START_TEST(a_resize_keeps_the_concurrency_limit_and_the_halves_before_it)
{
    bf_run *run = start_run(NULL, 6, 2, 1, 0, 60);
    bf_lease *a, *b, *none;
    int64_t halves[2], n = 0;

    /* Batch 1 fails and splits; batch 2 is running when the tail is re-cut. */
    a = claim_one(run);
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(a), bf_lease_token(a), "too big"), BF_OK);
    ck_assert_int_eq(bf_run_split_batch(halves, run, bf_lease_batch_id(a)), BF_OK);
    bf_lease_free(a);
    a = claim_one(run);
    ck_assert_str_eq(bf_lease_label(a), "order_id [0, 50)");
    b = claim_one(run);
    ck_assert_str_eq(bf_lease_label(b), "order_id [50, 100)");
    ck_assert_int_eq(bf_run_claim(&none, run), BF_OK);
    ck_assert_ptr_null(none); /* two running: the limit */
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(a), bf_lease_token(a), NULL), BF_OK);
    bf_lease_free(a);
    a = claim_one(run);
    ck_assert_str_eq(bf_lease_label(a), "order_id [100, 200)");
    /* The tail [200, 600) is re-cut by 300 while two batches run. */
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 300, NULL), BF_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(bf_run_claim(&none, run), BF_OK);
    ck_assert_ptr_null(none); /* still two running */
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(b), bf_lease_token(b), NULL), BF_OK);
    bf_lease_free(b);
    b = claim_one(run);
    ck_assert_str_eq(bf_lease_label(b), "order_id [200, 500)");
    ck_assert_int_eq(bf_run_claim(&none, run), BF_OK);
    ck_assert_ptr_null(none);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(a), bf_lease_token(a), NULL), BF_OK);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(b), bf_lease_token(b), NULL), BF_OK);
    bf_lease_free(a);
    bf_lease_free(b);
    work_expect(run, "order_id [500, 600)", 5);
    ck_assert_ptr_null(claim_one(run));
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 2"), 5);
    ck_assert_int_eq(sql_int("SELECT sum(hi - lo) FROM batches WHERE state = 2"), 600);
    bf_run_free(run);
}
END_TEST

START_TEST(a_resize_re_cuts_untouched_halves_and_refuses_what_it_cannot_cut)
{
    bf_run *run = start_run(NULL, 3, 1, 1, 0, 60), *times;
    bf_lease *a;
    int64_t halves[2], n = -1;
    bf_plan *plan;
    bf_run_spec spec = lt_spec("by-day", 1, 1, 0, 60);
    static const char *const names[] = {"start", "end"};
    bf_value v[2] = {{.type = BF_VALUE_TEXT, .s = "2025-03-09", .len = 10},
                     {.type = BF_VALUE_TEXT, .s = "2025-03-10", .len = 10}};

    a = claim_one(run);
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(a), bf_lease_token(a), "x"), BF_OK);
    ck_assert_int_eq(bf_run_split_batch(halves, run, bf_lease_batch_id(a)), BF_OK);
    bf_lease_free(a);
    /* The untouched halves and the rest of the plan: [0, 300) by 150. */
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 150, NULL), BF_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(batch_state(halves[0]), BF_BATCH_SPLIT);
    work_expect(run, "order_id [0, 150)", 0);
    work_expect(run, "order_id [150, 300)", 1);
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 0, NULL), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "bf_run_resize_keys: width must be at least 1, got 0");
    bf_run_free(run);

    /* A fresh batch of the plan cut off by a hand-cancelled one: nothing changes. */
    run = start_run("gap", 4, 1, 1, 0, 60);
    ck_assert_int_eq(bf_run_mark_batch(run, first_batch(run) + 1, BF_BATCH_CANCELLED, "skip"),
                     BF_OK);
    ck_assert_int_eq(bf_run_resize_keys(&n, run, 50, NULL), BF_OK);
    ck_assert_int_eq(n, 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 7 AND run_id = 2"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'resize'"), 1);
    bf_run_free(run);

    /* A plan by time is not re-cut. */
    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_TIME, "order_ts", 1), BF_OK);
    ck_assert_int_eq(bf__plan_add(plan, 0, 86400 * SEC, "2025-03-09", 2, names, v), BF_OK);
    ck_assert_int_eq(bf__plan_seal(plan, "t"), BF_OK);
    ck_assert_int_eq(bf_run_start(&times, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    ck_assert_int_eq(bf_run_resize_keys(&n, times, 10, NULL), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is planned by time: only key-range batches "
                                                  "are re-cut"));
    bf_run_free(times);
}
END_TEST

/* ---- pause, cancel, start and resume ---- */

START_TEST(pause_stops_claims_and_cancel_cancels_pending)
{
    bf_run *run = start_run(NULL, 4, 2, 3, 1, 60);
    bf_lease *held, *none;
    char want[160];

    held = claim_one(run);
    ck_assert_int_eq(bf_run_pause(run, "lunch"), BF_OK);
    ck_assert_int_eq(bf_run_claim(&none, run), BF_E_STATE);
    ck_assert_ptr_null(none);
    ck_assert_str_eq(bf_last_error(), "run 1 (orders-fix #1) is paused: no batches can be claimed");
    ck_assert_int_eq(bf_run_resume(run, NULL), BF_OK);
    ck_assert_int_eq(bf_run_cancel(run, "wrong scope"), BF_OK);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 5"), 3);
    ck_assert_int_eq(bf_run_claim(&none, run), BF_E_STATE);
    snprintf(want, sizeof want, "run 1 (orders-fix #1) is cancelled: no batches can be claimed");
    ck_assert_str_eq(bf_last_error(), want);
    /* The running batch may still finish. */
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(held), 1, NULL), BF_OK);
    bf_lease_free(held);
    bf_run_free(run);
}
END_TEST

START_TEST(a_running_batch_of_a_cancelled_run_expires_to_cancelled)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    bf_lease *held, *none;

    held = claim_one(run);
    ck_assert_int_eq(bf_run_cancel(run, NULL), BF_OK);
    fake_now += 61 * SEC;
    ck_assert_int_eq(bf_run_claim(&none, run), BF_E_STATE);
    ck_assert_int_eq(batch_state(bf_lease_batch_id(held)), BF_BATCH_CANCELLED);
    bf_lease_free(held);
    bf_run_free(run);
}
END_TEST

START_TEST(starting_again_resumes_or_refuses_a_changed_plan)
{
    bf_run *run = start_run(NULL, 3, 1, 3, 1, 60), *again, *fresh;
    bf_run_spec spec = lt_spec("orders-fix", 1, 3, 1, 60);
    bf_plan *same = lt_key_plan(3, 100, "pin"), *changed = lt_key_plan(4, 100, "pin");

    ck_assert_int_eq(bf_run_start(&again, ledger, &spec, same), BF_OK);
    ck_assert_int_eq(bf_run_id(again), bf_run_id(run));
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches"), 3);
    ck_assert_int_eq(bf_run_start(&fresh, ledger, &spec, changed), BF_E_CONFLICT);
    ck_assert_ptr_null(fresh);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "brief orders-fix: unfinished run 1 "
                                                  "(orders-fix #1) was planned with plan"));
    ck_assert_ptr_nonnull(strstr(bf_ledger_last_error(ledger), "cancel it or ask for a new run"));
    spec.flags = BF_RUN_NEW;
    ck_assert_int_eq(bf_run_start(&fresh, ledger, &spec, changed), BF_OK);
    ck_assert_int_eq(bf_run_id(fresh), 2);
    ck_assert_int_eq(bf_run_seq(fresh), 2);
    ck_assert_str_eq(bf_run_brief_name(fresh), "orders-fix");
    ck_assert_str_eq(bf_run_plan_fingerprint(fresh), bf_plan_fingerprint(changed));
    ck_assert_int_eq(bf_run_refresh(run), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_CANCELLED);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 5"), 3);
    /* A finished run is not resumed: a third start makes run 3 only with BF_RUN_NEW. */
    spec.flags = 0;
    bf_run_free(again);
    ck_assert_int_eq(bf_run_start(&again, ledger, &spec, changed), BF_OK);
    ck_assert_int_eq(bf_run_id(again), 2);
    bf_run_free(again);
    bf_run_free(fresh);
    bf_run_free(run);
    bf_plan_free(same);
    bf_plan_free(changed);
}
END_TEST

START_TEST(runs_are_found_by_id_or_brief_name)
{
    bf_run *run = start_run("events-fix", 1, 1, 3, 1, 60);
    int64_t id;
    char *json;

    ck_assert_int_eq(bf_ledger_find_run(&id, ledger, "events-fix"), BF_OK);
    ck_assert_int_eq(id, bf_run_id(run));
    ck_assert_int_eq(bf_ledger_find_run(&id, ledger, "1"), BF_OK);
    ck_assert_int_eq(bf_ledger_find_run(&id, ledger, "9"), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "no run 9"));
    ck_assert_int_eq(bf_ledger_find_run(&id, ledger, "nope"), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "no run with id or brief name 'nope'"));
    /* A brief named with digits only could never be found by name: refused at start. */
    {
        bf_run_spec spec = lt_spec("2025", 1, 1, 0, 60);
        bf_plan *plan = lt_key_plan(1, 100, "pin");
        bf_run *digits = NULL;

        ck_assert_int_eq(bf_run_start(&digits, ledger, &spec, plan), BF_E_INVALID);
        ck_assert_str_eq(bf_last_error(), "bf_run_start: brief name '2025' is digits only, "
                                          "which reads as a run id; give it a letter");
        ck_assert_ptr_null(digits);
        bf_plan_free(plan);
    }
    ck_assert_int_eq(bf_ledger_runs_json(&json, ledger), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"brief\":\"events-fix\""));
    ck_assert_ptr_nonnull(strstr(json, "\"operator\":\"ana@example.com\""));
    ck_assert_ptr_nonnull(strstr(json, "\"brief_json\":{\"format\":\"backfill-brief/1\"}"));
    bf_free(json);
    {
        bf_run *missing;

        ck_assert_int_eq(bf_run_open(&missing, ledger, 77), BF_E_NOT_FOUND);
    }
    bf_run_free(run);
}
END_TEST

/* ---- audit log and progress ---- */

START_TEST(every_transition_appends_an_event_and_notes_are_kept)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    bf_lease *lease;
    char *json;

    lease = claim_one(run);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), 1, NULL), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_note(run, "checked with finance"), BF_OK);
    ck_assert_int_eq(bf_run_note(run, ""), BF_E_INVALID);
    ck_assert_int_eq(bf_run_events_json(&json, run), BF_OK);
    /* created, claim, planned->running, complete, note */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events"), 5);
    ck_assert_ptr_nonnull(strstr(json, "{\"seq\":1,\"batch_id\":0,\"subject\":\"run\",\"from\":null,"
                                       "\"to\":\"planned\",\"actor\":\"tester\""));
    ck_assert_ptr_nonnull(strstr(json, "\"subject\":\"batch\",\"from\":\"running\",\"to\":"
                                       "\"completed\",\"actor\":\"tester\""));
    ck_assert_ptr_nonnull(strstr(json, "\"subject\":\"note\",\"from\":null,\"to\":null,\"actor\":"
                                       "\"tester\",\"at_us\":1764000000000000,\"detail\":"
                                       "\"checked with finance\""));
    bf_free(json);
    bf_run_free(run);
}
END_TEST

START_TEST(records_are_events_with_the_hosts_subject)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    int64_t batch = first_batch(run);
    bf_event_list *events;
    size_t n;

    ck_assert_int_eq(bf_run_record(run, 0, "approval", "{\"reviewer\":\"raj\"}"), BF_OK);
    ck_assert_int_eq(bf_run_record(run, batch, "retry_note", NULL), BF_OK);
    /* The ledger's own subjects, bad names and batches of no run are refused, and nothing is written. */
    ck_assert_int_eq(bf_run_record(run, 0, "batch", "x"), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "subject 'batch'"));
    ck_assert_int_eq(bf_run_record(run, 0, "resize", "x"), BF_E_INVALID); /* bf_run_resize_keys' */
    ck_assert_int_eq(bf_run_record(run, 0, "Approval", "x"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_record(run, 0, "", "x"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_record(run, 0, NULL, "x"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_record(run, 0, "a_name_that_is_much_too_long_1234", "x"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_record(run, 999, "retry_note", "x"), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_run_record(run, -1, "retry_note", "x"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_events(&events, run), BF_OK);
    n = bf_event_list_count(events);
    ck_assert_str_eq(bf_event_list_subject(events, n - 2), "approval");
    ck_assert_str_eq(bf_event_list_detail(events, n - 2), "{\"reviewer\":\"raj\"}");
    ck_assert_str_eq(bf_event_list_actor(events, n - 2), "tester");
    ck_assert_int_eq(bf_event_list_batch_id(events, n - 2), 0);
    ck_assert_str_eq(bf_event_list_subject(events, n - 1), "retry_note");
    ck_assert_str_eq(bf_event_list_detail(events, n - 1), "");
    ck_assert_int_eq(bf_event_list_batch_id(events, n - 1), batch);
    /* Records are not moves. */
    ck_assert_int_eq(bf_event_list_from_state(events, n - 1), -1);
    ck_assert_int_eq(bf_event_list_to_state(events, n - 1), -1);
    bf_event_list_free(events);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject IN ('approval', 'retry_note', 'resize')"), 2);
    bf_run_free(run);
}
END_TEST

START_TEST(a_released_lease_is_claimable_at_once_without_costing_an_attempt)
{
    bf_run *run = start_run(NULL, 1, 1, 2, 1, 60);
    bf_lease *lease;
    int64_t id;

    lease = claim_one(run);
    id = bf_lease_batch_id(lease);
    ck_assert_int_eq(bf_lease_attempt(lease), 1);
    /* A wrong token is a lost lease and changes nothing. */
    ck_assert_int_eq(bf_run_release(run, id, bf_lease_token(lease) + 1, NULL), BF_E_LEASE_LOST);
    ck_assert_int_eq(sql_int("SELECT state FROM batches"), BF_BATCH_RUNNING);
    ck_assert_int_eq(bf_run_release(run, id, bf_lease_token(lease), "signal"), BF_OK);
    ck_assert_int_eq(sql_int("SELECT state FROM batches"), BF_BATCH_PENDING);
    ck_assert_int_eq(sql_int("SELECT attempt FROM batches"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE detail LIKE "
                             "'lease of token 1 released (tester): signal'"), 1);
    /* Nobody holds it; worker says who last did (it was cleared). */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE worker = 'tester' AND "
                             "lease_until = 0"), 1);
    /* Releasing again is refused: the batch is no longer running. */
    ck_assert_int_eq(bf_run_release(run, id, bf_lease_token(lease), NULL), BF_E_LEASE_LOST);
    /* The old token can neither complete nor heartbeat. */
    ck_assert_int_eq(bf_run_complete(run, id, bf_lease_token(lease), NULL), BF_E_LEASE_LOST);
    bf_lease_free(lease);
    /* With max_attempts 2, three releases and a claim still leave a first attempt. */
    for (int i = 0; i < 3; i++) {
        lease = claim_one(run);
        ck_assert_int_eq(bf_lease_attempt(lease), 1);
        ck_assert_int_eq(bf_run_release(run, id, bf_lease_token(lease), NULL), BF_OK);
        bf_lease_free(lease);
    }
    lease = claim_one(run);
    ck_assert_int_eq(bf_lease_token(lease), 5); /* every claim still raises the fence */
    ck_assert_int_eq(bf_run_complete(run, id, bf_lease_token(lease), NULL), BF_OK);
    /* The worker who completed it, for an audit of who wrote the batch (it was cleared). */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE worker = 'tester' AND "
                             "lease_until = 0 AND state = 2"), 1);
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

START_TEST(a_release_on_a_cancelled_run_cancels_the_batch)
{
    bf_run *run = start_run(NULL, 2, 1, 2, 1, 60);
    bf_lease *lease = claim_one(run);

    ck_assert_int_eq(bf_run_cancel(run, NULL), BF_OK);
    ck_assert_int_eq(bf_run_release(run, bf_lease_batch_id(lease), bf_lease_token(lease), NULL),
                     BF_OK);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 5"), 2);
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

START_TEST(complete_records_and_settles_validation_in_the_same_transaction)
{
    bf_run *run = start_run(NULL, 3, 1, 3, 1, 60);
    bf_batch_result r = BF_BATCH_RESULT_INIT;
    static const int64_t pass[5] = {2, 0, 0, 0, 0}, fail[5] = {1, 0, 1, 0, 0};
    bf_lease *lease;
    long long events;

    /* Version 1 results complete as before, with nothing recorded. */
    ck_assert_int_eq(bf_batch_result_init(&r, 1), BF_OK);
    lease = claim_one(run);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &r),
                     BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM validations"), 0);
    /* Passing results: completed and validated in one transaction. */
    ck_assert_int_eq(bf_batch_result_init(&r, BF_BATCH_RESULT_VERSION), BF_OK);
    r.validation_json = "{\"status\":\"pass\"}";
    r.validation_tally = pass;
    lease = claim_one(run);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &r),
                     BF_OK);
    ck_assert_int_eq(sql_int("SELECT state FROM batches WHERE ordinal = 1"), BF_BATCH_VALIDATED);
    ck_assert_int_eq(sql_int("SELECT passed FROM validations JOIN batches b ON b.id = batch_id "
                             "WHERE b.ordinal = 1"), 1);
    bf_lease_free(lease);
    /* A failure: completed, recorded, the run paused with the sentence. */
    r.validation_json = "{\"status\":\"fail\"}";
    r.validation_tally = fail;
    r.validation_failure = "check unique: 3 duplicate keys";
    lease = claim_one(run);
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &r),
                     BF_OK);
    ck_assert_int_eq(sql_int("SELECT state FROM batches WHERE ordinal = 2"), BF_BATCH_COMPLETED);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE detail LIKE "
                             "'validation failed: batch % check unique: 3 duplicate keys'"), 1);
    /* A stale token records nothing at all. */
    events = sql_int("SELECT count(*) FROM events");
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &r),
                     BF_E_LEASE_LOST);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events"), events);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM validations"), 2);
    bf_lease_free(lease);
    bf_run_free(run);
}
END_TEST

START_TEST(progress_counts_rows_and_estimates_time_left)
{
    bf_run *run = start_run(NULL, 5, 2, 1, 1, 600);
    bf_batch_result result = BF_BATCH_RESULT_INIT;
    bf_progress p = BF_PROGRESS_INIT;
    bf_lease *a, *b;

    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.total, 5);
    ck_assert_int_eq(p.pending, 5);
    ck_assert(p.eta_s < 0);
    ck_assert(p.elapsed_s == 0.0);
    a = claim_one(run);
    b = claim_one(run);
    fake_now += 10 * SEC;
    result.rows_written = 40;
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(a), 1, &result), BF_OK);
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(b), 1, "x"), BF_OK);
    bf_lease_free(a);
    bf_lease_free(b);
    a = claim_one(run);
    fake_now += 20 * SEC;
    result.rows_written = 60;
    result.duration_s = 30;
    ck_assert_int_eq(bf_run_complete(run, bf_lease_batch_id(a), 1, &result), BF_OK);
    bf_lease_free(a);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.state, BF_RUN_RUNNING);
    ck_assert_int_eq(p.completed, 2);
    ck_assert_int_eq(p.failed, 1);
    ck_assert_int_eq(p.pending, 2);
    ck_assert_int_eq(p.rows_written, 100);
    ck_assert(p.elapsed_s == 30.0);
    /* Mean 20 s per batch, 2 left, 2 at a time: 20 s. */
    ck_assert_msg(p.eta_s > 19.999 && p.eta_s < 20.001, "eta %f", p.eta_s);
    p.version = 9;
    ck_assert_int_eq(bf_run_progress(&p, run), BF_E_ABI);
    bf_run_free(run);
}
END_TEST


/* ---- finishing a run ---- */

START_TEST(finish_completes_a_run_whose_batches_are_all_done)
{
    bf_run *run = start_run(NULL, 3, 1, 1, 0, 60);
    bf_progress p = BF_PROGRESS_INIT;
    bf_lease *lease;
    long long events;

    /* Nothing done yet: refused, counted by state, nothing changed. */
    events = run_events(run);
    ck_assert_int_eq(bf_run_finish(run, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_run_last_error(run), "run 1 (orders-fix #1) cannot finish: 3 "
                                 "batches are not finished (3 pending, 0 running, 0 failed, 0 "
                                 "rolled back)"));
    ck_assert_int_eq(run_events(run), events);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PLANNED);

    /* Two completed, one failed for good (one attempt): still refused, the failed one counted. */
    ck_assert_int_eq(lt_work(run, 2), 2);
    lease = claim_one(run);
    ck_assert_int_eq(bf_run_fail(run, bf_lease_batch_id(lease), bf_lease_token(lease), "x"), BF_OK);
    ck_assert_int_eq(bf_run_finish(run, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "1 batch is not finished (0 pending, 0 running, "
                                 "1 failed, 0 rolled back)"));
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);

    /* Given up on: the run finishes, with an event and its end time. */
    ck_assert_int_eq(bf_run_mark_batch(run, bf_lease_batch_id(lease), BF_BATCH_CANCELLED, "skip"),
                     BF_OK);
    bf_lease_free(lease);
    fake_now += 10 * SEC;
    ck_assert_int_eq(bf_run_finish(run, NULL), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_COMPLETED);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE run_id = 1 AND from_state = "
                             "'running' AND to_state = 'completed' AND detail = 'finished: 2 "
                             "batches done, 1 cancelled'"), 1);
    ck_assert_int_eq(sql_int("SELECT finished_at FROM runs WHERE id = 1"), fake_now);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.state, BF_RUN_COMPLETED);
    /* Finishing twice is refused. */
    ck_assert_int_eq(bf_run_finish(run, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is completed: only a planned, running or "
                                 "approved run can finish"));
    bf_run_free(run);
}
END_TEST

/* A run on its way through approval is not finished past it; an approved one finishes. */
START_TEST(finish_does_not_skip_approval)
{
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60);
    static const int refused[] = {BF_RUN_PAUSED, BF_RUN_FAILED, BF_RUN_VALIDATING,
                                  BF_RUN_AWAITING_APPROVAL, BF_RUN_CANCELLED, BF_RUN_ROLLED_BACK};

    ck_assert_int_eq(lt_work(run, 0), 2);
    for (size_t i = 0; i < BF_ARRAY_LEN(refused); i++) {
        force_run_state(run, refused[i]);
        ck_assert_int_eq(bf_run_finish(run, "by host"), BF_E_STATE);
        ck_assert_int_eq(bf_run_current_state(run), refused[i]);
    }
    force_run_state(run, BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(bf_run_finish(run, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "is awaiting_approval: it finishes once approved"));
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_APPROVED, "ok"), BF_OK);
    ck_assert_int_eq(bf_run_finish(run, "by host"), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_COMPLETED);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE from_state = 'approved' AND "
                             "to_state = 'completed' AND detail = 'by host'"), 1);
    bf_run_free(run);
}
END_TEST

/* ---- a store that fails on demand ---- */

/*
 * Forwards every member to the SQLite store, except the n-th call (counted
 * over all members from fs_calls = 0), which fails with the member's code
 * below and no message: what a host's own store may do.
 */
static int fs_calls, fs_fail_at;
static const char *fs_member; /* the member made to fail, and its code */
static int fs_code;
static const char *fs_message; /* a message the failing member sets first, or NULL */

static int fs_hit(const char *member, int code)
{
    if (++fs_calls != fs_fail_at)
        return 0;
    fs_member = member;
    fs_code = code;
    if (fs_message)
        bf_error_set(code, "%s", fs_message); /* as a host's store reports */
    return 1;
}

#define FS_MEMBER(member, code, params, args)                 \
    static int fs_##member params                             \
    {                                                         \
        if (fs_hit(#member, code))                            \
            return code;                                      \
        return bf_store_sqlite()->member args;                \
    }

FS_MEMBER(open, BF_E_IO, (void *u, void **out, const char *p, const bf_store_config *config),
          (u, out, p, config))
FS_MEMBER(begin, BF_E_BUSY, (void *s, int write), (s, write))
FS_MEMBER(commit, BF_E_IO, (void *s), (s))
FS_MEMBER(run_insert, BF_E_INTERNAL, (void *s, int64_t *out, const bf_store_run *r), (s, out, r))
FS_MEMBER(run_get, BF_E_IO, (void *s, bf_store_run *out, int64_t id), (s, out, id))
FS_MEMBER(run_update, BF_E_UNSUPPORTED, (void *s, const bf_store_run *r), (s, r))
FS_MEMBER(run_find, BF_E_BUSY, (void *s, int64_t *out, const char *name, int unfinished),
          (s, out, name, unfinished))
FS_MEMBER(run_list, BF_E_IO, (void *s, bf_store_run_fn each, void *u), (s, each, u))
FS_MEMBER(batch_insert, BF_E_USER, (void *s, int64_t *out, const bf_store_batch *b), (s, out, b))
FS_MEMBER(batch_get, BF_E_INTERNAL, (void *s, bf_store_batch *out, int64_t id), (s, out, id))
FS_MEMBER(batch_update, BF_E_USER, (void *s, const bf_store_batch *b), (s, b))
FS_MEMBER(batch_next_pending, BF_E_IO, (void *s, bf_store_batch *out, int64_t run, int64_t now),
          (s, out, run, now))
FS_MEMBER(batch_running, BF_E_BUSY,
          (void *s, int64_t *live, int64_t *expired, int64_t run, int64_t now),
          (s, live, expired, run, now))
FS_MEMBER(batch_counts, BF_E_UNSUPPORTED, (void *s, bf_store_counts *out, int64_t run),
          (s, out, run))
FS_MEMBER(batch_list, BF_E_IO, (void *s, int64_t run, int state, bf_store_batch_fn each, void *u),
          (s, run, state, each, u))
FS_MEMBER(event_append, BF_E_INTERNAL, (void *s, const bf_store_event *e), (s, e))
FS_MEMBER(event_list, BF_E_BUSY, (void *s, int64_t run, bf_store_event_fn each, void *u),
          (s, run, each, u))

static void fs_close(void *s)
{
    bf_store_sqlite()->close(s);
}

static void fs_rollback(void *s)
{
    bf_store_sqlite()->rollback(s);
}

static const bf_store_vtable failing_store = {
    BF_STORE_VTABLE_VERSION, fs_open, fs_close, fs_begin, fs_commit, fs_rollback,
    fs_run_insert, fs_run_get, fs_run_update, fs_run_find, fs_run_list, fs_batch_insert,
    fs_batch_get, fs_batch_update, fs_batch_next_pending, fs_batch_running, fs_batch_counts,
    fs_batch_list, fs_event_append, fs_event_list, NULL, NULL, /* keeps no validation results */
    NULL, NULL, /* nor before-states */
};

/* Every row of the ledger file as text, read through a connection of its own. */
static int dump_row(void *arg, int n, char **values, char **names)
{
    bf__sb *sb = arg;

    (void)names;
    for (int i = 0; i < n; i++)
        bf__sb_appendf(sb, "%s|", values[i] ? values[i] : "NULL");
    bf__sb_appendc(sb, '\n');
    return 0;
}

static char *dump_ledger(const char *p)
{
    sqlite3 *db;
    bf__sb sb;

    bf__sb_init(&sb);
    ck_assert_int_eq(sqlite3_open_v2(p, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    ck_assert_int_eq(sqlite3_exec(db, "SELECT * FROM runs ORDER BY id; SELECT * FROM batches "
                                  "ORDER BY id; SELECT * FROM events ORDER BY id",
                                  dump_row, &sb, NULL), SQLITE_OK);
    sqlite3_close(db);
    ck_assert(!sb.failed);
    return sb.buf;
}

/*
 * The state every failing-store case starts from: run 1 of brief "fs",
 * 6 key batches, max 3 attempts... batch 1 completed, batch 2 failed for
 * good, batch 3 running under fs_lease; run 2 "fs-paused" paused.
 */
struct fs_state {
    bf_ledger *ledger;
    bf_run *run;
    bf_run *paused;
    bf_run *all_done; /* run 3 "fs-done": its one batch completed */
    int64_t done_id, failed_id, running_id, running_token;
    char file[400];
};

static struct fs_state fs;
static int fs_case;

static void fs_setup(void)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_run_spec spec = lt_spec("fs", 2, 1, 0, 60);
    bf_plan *plan = lt_key_plan(6, 100, "pin");
    bf_lease *lease;

    snprintf(fs.file, sizeof fs.file, "%s/fs-%d.db", dir, ++fs_case);
    opts.clock = fake_clock;
    opts.actor = "tester";
    opts.durability = BF_DURABILITY_NORMAL;
    opts.store = &failing_store;
    fs_fail_at = 0;
    ck_assert_int_eq(bf_ledger_open(&fs.ledger, fs.file, &opts), BF_OK);
    ck_assert_ptr_nonnull(plan);
    ck_assert_int_eq(bf_run_start(&fs.run, fs.ledger, &spec, plan), BF_OK);
    spec.brief_name = "fs-paused";
    ck_assert_int_eq(bf_run_start(&fs.paused, fs.ledger, &spec, plan), BF_OK);
    ck_assert_int_eq(bf_run_pause(fs.paused, NULL), BF_OK);
    bf_plan_free(plan);
    plan = lt_key_plan(1, 100, "pin");
    ck_assert_ptr_nonnull(plan);
    spec.brief_name = "fs-done";
    ck_assert_int_eq(bf_run_start(&fs.all_done, fs.ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    ck_assert_int_eq(lt_work(fs.all_done, 0), 1);
    ck_assert_int_eq(bf_run_claim(&lease, fs.run), BF_OK);
    fs.done_id = bf_lease_batch_id(lease);
    ck_assert_int_eq(bf_run_complete(fs.run, fs.done_id, bf_lease_token(lease), NULL), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_claim(&lease, fs.run), BF_OK);
    fs.failed_id = bf_lease_batch_id(lease);
    ck_assert_int_eq(bf_run_fail(fs.run, fs.failed_id, bf_lease_token(lease), "boom"), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_run_claim(&lease, fs.run), BF_OK);
    fs.running_id = bf_lease_batch_id(lease);
    fs.running_token = bf_lease_token(lease);
    bf_lease_free(lease);
}

static void fs_teardown(void)
{
    bf_run_free(fs.run);
    bf_run_free(fs.paused);
    bf_run_free(fs.all_done);
    bf_ledger_close(fs.ledger);
    lt_remove_ledger(fs.file);
    memset(&fs, 0, sizeof fs);
}

static int fs_pause(void) { return bf_run_pause(fs.run, "op"); }
static int fs_resume(void) { return bf_run_resume(fs.paused, "op"); }
static int fs_cancel(void) { return bf_run_cancel(fs.run, "op"); }
static int fs_set_state(void) { return bf_run_set_state(fs.run, BF_RUN_VALIDATING, "op"); }
static int fs_note(void) { return bf_run_note(fs.run, "a note"); }
static int fs_finish(void) { return bf_run_finish(fs.all_done, NULL); }
static int fs_refresh(void) { return bf_run_refresh(fs.run); }
static int fs_heartbeat(void) { return bf_run_heartbeat(fs.run, fs.running_id, fs.running_token); }
static int fs_complete(void)
{
    return bf_run_complete(fs.run, fs.running_id, fs.running_token, NULL);
}
static int fs_fail(void) { return bf_run_fail(fs.run, fs.running_id, fs.running_token, "again"); }
static int fs_mark(void) { return bf_run_mark_batch(fs.run, fs.done_id, BF_BATCH_VALIDATED, "ok"); }

static int fs_retry(void)
{
    size_t n;

    return bf_run_retry(&n, fs.run, 0);
}

static int fs_retry_split(void)
{
    size_t n;

    return bf_run_retry(&n, fs.run, BF_RETRY_SPLIT);
}

static int fs_split(void)
{
    int64_t halves[2];

    return bf_run_split_batch(halves, fs.run, fs.failed_id);
}

static int fs_resize(void)
{
    int64_t n = 0;
    int rc = bf_run_resize_keys(&n, fs.run, 40, "sweep");

    ck_assert(rc != BF_OK || n == 8);
    return rc;
}

static int fs_claim(void)
{
    bf_lease *lease = NULL;
    int rc = bf_run_claim(&lease, fs.run);

    ck_assert(rc == BF_OK ? lease != NULL : lease == NULL);
    bf_lease_free(lease);
    return rc;
}

/* The running batch's lease has expired: the claim returns it to pending first. */
static int fs_claim_expired(void)
{
    int rc;

    fake_now += 120 * SEC;
    rc = fs_claim();
    fake_now -= 120 * SEC;
    return rc;
}

static int fs_progress(void)
{
    bf_progress p = BF_PROGRESS_INIT;

    return bf_run_progress(&p, fs.run);
}

static int fs_json(int which)
{
    char *text = NULL;
    int rc = which == 0   ? bf_ledger_runs_json(&text, fs.ledger)
             : which == 1 ? bf_run_batches_json(&text, fs.run, -1)
                          : bf_run_events_json(&text, fs.run);

    bf_free(text);
    return rc;
}

static int fs_runs_json(void) { return fs_json(0); }
static int fs_batches_json(void) { return fs_json(1); }
static int fs_events_json(void) { return fs_json(2); }

static int fs_find_and_open(void)
{
    int64_t id;
    bf_run *run = NULL;
    int rc = bf_ledger_find_run(&id, fs.ledger, "fs");

    if (rc == BF_OK)
        rc = bf_run_open(&run, fs.ledger, id);
    bf_run_free(run);
    return rc;
}

static int fs_start(const char *brief, size_t count, unsigned flags)
{
    bf_run_spec spec = lt_spec(brief, 2, 1, 0, 60);
    bf_plan *plan = lt_key_plan(count, 100, "pin");
    bf_run *run = NULL;
    int rc;

    ck_assert_ptr_nonnull(plan);
    spec.flags = flags;
    rc = bf_run_start(&run, fs.ledger, &spec, plan);
    ck_assert(rc == BF_OK ? run != NULL : run == NULL);
    bf_run_free(run);
    bf_plan_free(plan);
    return rc;
}

static int fs_start_resume(void) { return fs_start("fs", 6, 0); }
static int fs_start_new_brief(void) { return fs_start("fs-new", 3, 0); }
static int fs_start_replacing(void) { return fs_start("fs", 4, BF_RUN_NEW); }

static const struct {
    const char *name;
    int (*op)(void);
} fs_ops[] = {
    {"pause", fs_pause},
    {"resume", fs_resume},
    {"cancel", fs_cancel},
    {"set_state", fs_set_state},
    {"note", fs_note},
    {"finish", fs_finish},
    {"refresh", fs_refresh},
    {"heartbeat", fs_heartbeat},
    {"complete", fs_complete},
    {"fail", fs_fail},
    {"mark_batch", fs_mark},
    {"retry", fs_retry},
    {"retry split", fs_retry_split},
    {"split_batch", fs_split},
    {"resize_keys", fs_resize},
    {"claim", fs_claim},
    {"claim after a lease expired", fs_claim_expired},
    {"progress", fs_progress},
    {"runs_json", fs_runs_json},
    {"batches_json", fs_batches_json},
    {"events_json", fs_events_json},
    {"find_run and run_open", fs_find_and_open},
    {"start (resume)", fs_start_resume},
    {"start (new brief)", fs_start_new_brief},
    {"start (BF_RUN_NEW)", fs_start_replacing},
};

/*
 * Each operation, with each store call it makes failing in turn (no message
 * given): the operation returns that member's code with a message naming the
 * member, and the ledger file is as it was.
 */
START_TEST(a_failing_store_member_fails_the_operation_and_changes_nothing)
{
    static const char *const members[] = {
        "begin", "commit", "run_insert", "run_get", "run_update", "run_find", "run_list",
        "batch_insert", "batch_get", "batch_update", "batch_next_pending", "batch_running",
        "batch_counts", "batch_list", "event_append", "event_list",
    };
    int seen[BF_ARRAY_LEN(members)] = {0};

    for (size_t i = 0; i < BF_ARRAY_LEN(fs_ops); i++) {
        int calls, rc;

        fs_setup();
        fs_calls = 0;
        rc = fs_ops[i].op();
        ck_assert_msg(rc == BF_OK, "%s: %s", fs_ops[i].name, bf_last_error());
        calls = fs_calls;
        fs_teardown();
        for (int n = 1; n <= calls; n++) {
            char *before, *after, want[64];

            fs_setup();
            before = dump_ledger(fs.file);
            bf_clear_error();
            fs_calls = 0;
            fs_fail_at = n;
            fs_member = NULL;
            rc = fs_ops[i].op();
            fs_fail_at = 0;
            ck_assert_msg(fs_member, "%s: call %d was not made", fs_ops[i].name, n);
            ck_assert_msg(rc == fs_code, "%s with %s failing (call %d): returned %s, not %s (%s)",
                          fs_ops[i].name, fs_member, n, bf_errstr(rc), bf_errstr(fs_code),
                          bf_last_error());
            snprintf(want, sizeof want, "the store's %s failed", fs_member);
            ck_assert_msg(strstr(bf_last_error(), want) && strstr(bf_last_error(), fs.file),
                          "%s: message '%s' does not name the member and ledger", fs_ops[i].name,
                          bf_last_error());
            ck_assert_int_eq(bf_last_error_code(), fs_code);
            after = dump_ledger(fs.file);
            ck_assert_msg(strcmp(before, after) == 0, "%s with %s failing changed the ledger",
                          fs_ops[i].name, fs_member);
            bf__free(before);
            bf__free(after);
            for (size_t m = 0; m < BF_ARRAY_LEN(members); m++)
                seen[m] |= strcmp(members[m], fs_member) == 0;
            fs_teardown();
        }
    }
    for (size_t m = 0; m < BF_ARRAY_LEN(members); m++)
        ck_assert_msg(seen[m], "no operation failed on %s", members[m]);
}
END_TEST

/* A failing open, without a message; BF_E_USER with the member's own message is kept as it is. */
START_TEST(a_store_failure_keeps_its_code_and_a_message)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *l = NULL;

    snprintf(fs.file, sizeof fs.file, "%s/fs-open.db", dir);
    opts.store = &failing_store;
    fs_calls = 0;
    fs_fail_at = 1;
    ck_assert_int_eq(bf_ledger_open(&l, fs.file, &opts), BF_E_IO);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "the store's open failed"));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), fs.file));

    /* batch_update fails with BF_E_USER and a message of its own: both reach the caller. */
    fs_setup();
    fs_message = "host store: quota exceeded on shard 3";
    fs_calls = 0;
    fs_fail_at = 1 + 1 + 1; /* begin, run_get, batch_get, then batch_update */
    fs_fail_at++;
    ck_assert_int_eq(bf_run_heartbeat(fs.run, fs.running_id, fs.running_token), BF_E_USER);
    fs_message = NULL;
    ck_assert_str_eq(fs_member, "batch_update");
    ck_assert_str_eq(bf_last_error(), "host store: quota exceeded on shard 3");
    ck_assert_str_eq(bf_run_last_error(fs.run), "host store: quota exceeded on shard 3");
    fs_teardown();
}
END_TEST

/* ---- allocation failures ---- */

struct sweep_ctx {
    bf_ledger *ledger;
    bf_run *run;
    bf_lease *lease;
    char file[320];
};

static int open_op(void *arg)
{
    struct sweep_ctx *c = arg;

    return open_at(&c->ledger, c->file, BF_DURABILITY_NORMAL);
}

static void open_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;

    bf_ledger_close(c->ledger);
    c->ledger = NULL;
}

static void open_fresh_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;

    open_cleanup(arg);
    lt_remove_ledger(c->file);
}

START_TEST(allocation_failures_in_open_are_reported)
{
    struct sweep_ctx c;

    memset(&c, 0, sizeof c);
    snprintf(c.file, sizeof c.file, "%s/sweep.db", dir);
    ck_assert_int_gt(failalloc_sweep(open_op, open_fresh_cleanup, &c), 0);
    ck_assert_int_eq(access(c.file, F_OK), -1);
    /* An existing ledger. */
    ck_assert_int_eq(open_op(&c), BF_OK);
    open_cleanup(&c);
    ck_assert_int_gt(failalloc_sweep(open_op, open_cleanup, &c), 0);
}
END_TEST

static int claim_op(void *arg)
{
    struct sweep_ctx *c = arg;

    return bf_run_claim(&c->lease, c->run);
}

/* After each claim: a failed one left no batch running; a good one is completed. */
static void claim_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;

    if (c->lease) {
        ck_assert_int_eq(bf_run_complete(c->run, bf_lease_batch_id(c->lease), 1, NULL), BF_OK);
        bf_lease_free(c->lease);
        c->lease = NULL;
    }
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches WHERE state = 1"), 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM events WHERE subject = 'batch'"),
                     2 * sql_int("SELECT count(*) FROM batches WHERE state = 2"));
}

START_TEST(allocation_failures_in_claim_leave_the_ledger_consistent)
{
    struct sweep_ctx c;

    memset(&c, 0, sizeof c);
    c.run = start_run(NULL, 200, 1, 3, 1, 60);
    /* The store keeps a buffer for the strings of the last batch read, made on first use. */
    ck_assert_int_eq(lt_work(c.run, 1), 1);
    ck_assert_int_gt(failalloc_sweep(claim_op, claim_cleanup, &c), 0);
    bf_run_free(c.run);
}
END_TEST

static int complete_op(void *arg)
{
    struct sweep_ctx *c = arg;
    bf_batch_result r = BF_BATCH_RESULT_INIT;

    r.fingerprint_after = "1:00000000000000000000000000000001";
    return bf_run_complete(c->run, bf_lease_batch_id(c->lease), bf_lease_token(c->lease), &r);
}

/* A failed completion leaves its batch running under the same token; a good one needs a new claim. */
static void complete_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;
    int state = batch_state(bf_lease_batch_id(c->lease));

    if (state == BF_BATCH_COMPLETED) {
        bf_lease_free(c->lease);
        ck_assert_int_eq(bf_run_claim(&c->lease, c->run), BF_OK);
    } else {
        ck_assert_int_eq(state, BF_BATCH_RUNNING);
    }
}

START_TEST(allocation_failures_in_complete_leave_the_ledger_consistent)
{
    struct sweep_ctx c;

    memset(&c, 0, sizeof c);
    c.run = start_run(NULL, 200, 1, 3, 1, 60);
    ck_assert_int_eq(bf_run_claim(&c.lease, c.run), BF_OK);
    /* The first completion grows the store's buffer for the batch it reads back. */
    ck_assert_int_gt(failalloc_sweep(complete_op, complete_cleanup, &c), 0);
    bf_lease_free(c.lease);
    bf_run_free(c.run);
}
END_TEST

static bf_plan *sweep_plan;

static int start_op(void *arg)
{
    struct sweep_ctx *c = arg;
    bf_run_spec spec = lt_spec("sweep", 1, 3, 1, 60);

    return bf_run_start(&c->run, ledger, &spec, sweep_plan);
}

/* Either the whole run was registered or nothing was; then forget it, so the next start registers. */
static void start_cleanup(void *arg)
{
    struct sweep_ctx *c = arg;

    bf_run_free(c->run);
    c->run = NULL;
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches") % 20, 0);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM batches") / 20, sql_int("SELECT count(*) FROM runs"));
    sql_exec(path, "DELETE FROM events; DELETE FROM batches; DELETE FROM runs");
}

START_TEST(allocation_failures_in_start_leave_nothing_half_registered)
{
    struct sweep_ctx c;

    memset(&c, 0, sizeof c);
    sweep_plan = lt_key_plan(20, 100, "sweep");
    ck_assert_ptr_nonnull(sweep_plan);
    ck_assert_int_eq(start_op(&c), BF_OK);
    start_cleanup(&c);
    ck_assert_int_gt(failalloc_sweep(start_op, start_cleanup, &c), 0);
    bf_plan_free(sweep_plan);
}
END_TEST

/* Recorded per batch and for the run (batch 0), replaced keeping the first time, listed in order. */
START_TEST(validation_results_are_kept_per_batch_and_listed)
{
    bf_run *run = start_run(NULL, 3, 1, 3, 1, 60);
    static const int64_t tally[5] = {3, 1, 0, 0, 2}, failed[5] = {0, 0, 1, 0, 0};
    int64_t id = first_batch(run);
    bf_validation_list *vl = NULL;
    int64_t created;

    ck_assert_int_eq(bf_run_record_validation(run, id + 1, "{\"b\": 2}", tally, NULL, 0), BF_OK);
    ck_assert_int_eq(bf_run_record_validation(run, id, "{\"b\": 1}", NULL, NULL, 0), BF_OK);
    fake_now += SEC;
    ck_assert_int_eq(bf_run_record_validation(run, 0, "{\"run\": 1}", failed, "too few rows", 0),
                     BF_OK);
    ck_assert_int_eq(bf_run_validations(&vl, run, -1), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 3);
    /* The run level first, then by batch id. */
    ck_assert_int_eq(bf_validation_list_batch_id(vl, 0), 0);
    ck_assert_int_eq(bf_validation_list_passed(vl, 0), 0);
    ck_assert_int_eq(bf_validation_list_tally(vl, 0, BF_OUTCOME_FAIL), 1);
    ck_assert_str_eq(bf_validation_list_results_json(vl, 0), "{\"run\": 1}");
    ck_assert_int_eq(bf_validation_list_batch_id(vl, 1), id);
    ck_assert_int_eq(bf_validation_list_passed(vl, 1), 1);
    ck_assert_int_eq(bf_validation_list_tally(vl, 1, BF_OUTCOME_PASS), 0);
    ck_assert_int_eq(bf_validation_list_batch_id(vl, 2), id + 1);
    ck_assert_int_eq(bf_validation_list_tally(vl, 2, BF_OUTCOME_PASS), 3);
    ck_assert_int_eq(bf_validation_list_tally(vl, 2, BF_OUTCOME_WARN), 1);
    ck_assert_int_eq(bf_validation_list_tally(vl, 2, BF_OUTCOME_SKIPPED), 2);
    ck_assert_str_eq(bf_validation_list_results_json(vl, 2), "{\"b\": 2}");
    created = bf_validation_list_created_at(vl, 2);
    ck_assert_int_eq(created, fake_now - SEC);
    bf_validation_list_free(vl);
    /* Recording again replaces the results and keeps the first time. */
    fake_now += SEC;
    ck_assert_int_eq(bf_run_record_validation(run, id + 1, "{\"again\": 1}", failed, "3 NULLs", 0),
                     BF_OK);
    ck_assert_int_eq(bf_run_validations(&vl, run, id + 1), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 1);
    ck_assert_int_eq(bf_validation_list_created_at(vl, 0), created);
    ck_assert_int_eq(bf_validation_list_updated_at(vl, 0), fake_now);
    ck_assert_int_eq(bf_validation_list_passed(vl, 0), 0);
    ck_assert_int_eq(bf_validation_list_tally(vl, 0, BF_OUTCOME_PASS), 0);
    ck_assert_str_eq(bf_validation_list_results_json(vl, 0), "{\"again\": 1}");
    bf_validation_list_free(vl);
    ck_assert_int_eq(sql_int("SELECT count(*) FROM validations"), 3);
    /* Without the settle flag, nothing moved: the run and its batches wait, as they were. */
    ck_assert_int_eq(bf_run_refresh(run), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PLANNED);
    ck_assert_int_eq(batch_state(id + 1), BF_BATCH_PENDING);
    /* A batch of no run's plan is named. */
    ck_assert_int_eq(bf_run_record_validation(run, 9, NULL, NULL, NULL, 0), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_run_validations(&vl, run, 9), BF_OK);
    ck_assert_uint_eq(bf_validation_list_count(vl), 0);
    bf_validation_list_free(vl);
    bf_run_free(run);
}
END_TEST

/*
 * Recorded per batch, replaced, read back as a copy by this handle and by
 * another one; a batch without one is named.
 */
START_TEST(before_states_are_kept_per_batch_and_read_back)
{
    bf_run *run = start_run(NULL, 3, 1, 3, 1, 60), *other_run;
    int64_t id = first_batch(run);
    bf_ledger *other;
    char *json = NULL, want[160];

    ck_assert_int_eq(bf_run_record_before_state(run, id, "{\"rows\": 1}"), BF_OK);
    ck_assert_int_eq(bf_run_record_before_state(run, id + 1, "{\"rows\": 2}"), BF_OK);
    fake_now += SEC;
    ck_assert_int_eq(bf_run_record_before_state(run, id, "{\"rows\": 3}"), BF_OK);
    ck_assert_int_eq(bf_run_before_state(&json, run, id), BF_OK);
    ck_assert_str_eq(json, "{\"rows\": 3}");
    bf_free(json);
    ck_assert_int_eq(bf_run_before_state(&json, run, id + 1), BF_OK);
    ck_assert_str_eq(json, "{\"rows\": 2}");
    bf_free(json);
    /* One record per batch, the first time kept. */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM before_states"), 2);
    snprintf(want, sizeof want, "SELECT updated_at - created_at FROM before_states "
                                "WHERE batch_id = %lld", (long long)id);
    ck_assert_int_eq(sql_int(want), SEC);
    /* Another handle reads what this one recorded, and this one what it records. */
    ck_assert_int_eq(open_at(&other, path, BF_DURABILITY_NORMAL), BF_OK);
    ck_assert_int_eq(bf_run_open(&other_run, other, bf_run_id(run)), BF_OK);
    ck_assert_int_eq(bf_run_before_state(&json, other_run, id), BF_OK);
    ck_assert_str_eq(json, "{\"rows\": 3}");
    bf_free(json);
    ck_assert_int_eq(bf_run_record_before_state(other_run, id + 2, "{\"rows\": 4}"), BF_OK);
    ck_assert_int_eq(bf_run_before_state(&json, run, id + 2), BF_OK);
    ck_assert_str_eq(json, "{\"rows\": 4}");
    bf_free(json);
    bf_run_free(other_run);
    bf_ledger_close(other);
    /* Nothing recorded for a batch, or no such batch. */
    ck_assert_int_eq(sql_int("SELECT count(*) FROM before_states"), 3);
    fake_now += SEC;
    ck_assert_int_eq(bf_run_record_before_state(run, 9, "{}"), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_run_record_before_state(run, 0, "{}"), BF_E_INVALID);
    ck_assert_int_eq(bf_run_record_before_state(run, id, NULL), BF_E_INVALID);
    ck_assert_int_eq(bf_run_before_state(&json, run, 0), BF_E_INVALID);
    ck_assert_int_eq(bf_run_before_state(NULL, run, id), BF_E_INVALID);
    bf_run_free(run);
    run = start_run("other-brief", 1, 1, 3, 1, 60);
    id = first_batch(run);
    ck_assert_int_eq(bf_run_before_state(&json, run, id), BF_E_NOT_FOUND);
    ck_assert_ptr_null(json);
    snprintf(want, sizeof want, "has no before-state recorded for batch %lld", (long long)id);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), want));
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "other-brief"));
    bf_run_free(run);
}
END_TEST

/* ---- a store written outside the library ---- */

static int quota_run_list(void *store, bf_store_run_fn each, void *userdata)
{
    (void)store;
    (void)each;
    (void)userdata;
    return bf_error_set(BF_E_USER, "host store: quota of %d listings exceeded", 3);
}

static int silent_batch_counts(void *store, bf_store_counts *out, int64_t run_id)
{
    (void)store;
    (void)out;
    (void)run_id;
    return BF_E_IO; /* no message: the ledger makes one up */
}

START_TEST(an_external_store_gets_its_userdata_and_reports_through_bf_error_set)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_store_vtable vt;
    bf_ledger *other;
    bf_progress p = BF_PROGRESS_INIT;
    bf_run *run = start_run(NULL, 2, 1, 3, 1, 60), *again;
    int freed = 0;
    xs_host *h = calloc(1, sizeof *h);
    char *json = NULL;

    ck_assert_ptr_nonnull(h);
    h->freed = &freed;
    xs_vtable(&vt);
    vt.run_list = quota_run_list;
    vt.batch_counts = silent_batch_counts;
    opts.store = &vt;
    opts.store_userdata = h;
    opts.free_store_userdata = xs_free_host;
    opts.clock = fake_clock;
    ck_assert_int_eq(bf_ledger_open(&other, path, &opts), BF_OK);
    memset(&vt, 0, sizeof vt); /* copied at open: the ledger no longer needs it */
    ck_assert_int_eq(h->opens, 1);
    /* A member's own message, set with bf_error_set, reaches the caller untouched. */
    ck_assert_int_eq(bf_ledger_runs_json(&json, other), BF_E_USER);
    ck_assert_ptr_null(json);
    ck_assert_str_eq(bf_last_error(), "host store: quota of 3 listings exceeded");
    ck_assert_str_eq(bf_ledger_last_error(other), "host store: quota of 3 listings exceeded");
    /* Without one, the ledger names itself and the member. */
    ck_assert_int_eq(bf_run_open(&again, other, bf_run_id(run)), BF_OK);
    ck_assert_int_eq(bf_run_progress(&p, again), BF_E_IO);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "the store's batch_counts failed"));
    bf_run_free(again);
    /* The store's own "not found", set with bf_error_set, names the ledger. */
    ck_assert_int_eq(bf_run_open(&again, other, 77), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "no run 77"));
    ck_assert_int_eq(freed, 0);
    bf_ledger_close(other);
    ck_assert_int_eq(freed, 1); /* released at close */
    bf_run_free(run);
}
END_TEST

/*
 * A store written for an older library registers the vtable of its version:
 * it still opens and runs batches; the calls that need a newer member fail
 * with BF_E_UNSUPPORTED and say which version brought it, and change nothing.
 */
START_TEST(a_store_of_an_older_version_opens_and_refuses_the_newer_calls)
{
    for (unsigned version = 1; version < BF_STORE_VTABLE_VERSION; version++) {
        bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
        bf_store_vtable vt;
        bf_ledger *old;
        bf_run *run;
        bf_plan *plan = lt_key_plan(2, 100, "pin");
        bf_run_spec spec = lt_spec(version == 1 ? "v1" : "v2", 1, 3, 1, 60);
        bf_validation_list *vl = NULL;
        int64_t id;
        char *json = NULL;
        int want_validation = version >= 2 ? BF_OK : BF_E_UNSUPPORTED;

        xs_vtable_of(&vt, version);
        ck_assert(vt.before_state_put == NULL); /* only the bytes of its version were set */
        opts.store = &vt;
        opts.clock = fake_clock;
        ck_assert_msg(bf_ledger_open(&old, path, &opts) == BF_OK, "%s", bf_last_error());
        ck_assert_ptr_nonnull(plan);
        ck_assert_int_eq(bf_run_start(&run, old, &spec, plan), BF_OK);
        bf_plan_free(plan);
        ck_assert_int_eq(lt_work(run, 1), 1);
        id = first_batch(run);
        ck_assert_int_eq(bf_run_record_validation(run, id, "{}", NULL, NULL,
                                                  BF_VALIDATION_SETTLE), want_validation);
        if (want_validation != BF_OK)
            ck_assert_ptr_nonnull(strstr(bf_last_error(), "validation_put and validation_list "
                                                          "came in 2"));
        ck_assert_int_eq(bf_run_validations(&vl, run, -1), want_validation);
        if (want_validation == BF_OK) {
            ck_assert_uint_eq(bf_validation_list_count(vl), 1);
            ck_assert_int_eq(batch_state(id), BF_BATCH_VALIDATED);
        } else {
            ck_assert_ptr_null(vl);
            ck_assert_int_eq(batch_state(id), BF_BATCH_COMPLETED);
        }
        bf_validation_list_free(vl);
        ck_assert_int_eq(bf_run_record_before_state(run, id, "{}"), BF_E_UNSUPPORTED);
        ck_assert_ptr_nonnull(strstr(bf_last_error(), "keeps no before-states"));
        ck_assert_int_eq(bf_run_before_state(&json, run, id), BF_E_UNSUPPORTED);
        ck_assert_ptr_null(json);
        /* The run goes on: the refused calls changed nothing. */
        ck_assert_int_eq(lt_work(run, 0), 1);
        ck_assert_int_eq(bf_run_current_state(run), BF_RUN_RUNNING);
        bf_run_free(run);
        bf_ledger_close(old);
    }
}
END_TEST

/*
 * The conformance cases: runs, claims, leases, fencing, completion, pause,
 * resume and cancel, retry and split, events, progress and finishing,
 * validation results and before-states, for any store. They run once per store factory below.
 */
static void add_conformance(TCase *tc)
{
    tcase_add_test(tc, every_run_transition_is_checked);
    tcase_add_test(tc, resume_moves_only_a_paused_run);
    tcase_add_test(tc, every_manual_batch_transition_is_checked);
    tcase_add_test(tc, the_ledger_table_of_automatic_batch_moves_is_complete);
    tcase_add_test(tc, claims_follow_plan_order_with_lease_and_token);
    tcase_add_test(tc, max_concurrency_limits_live_leases_across_handles);
    tcase_add_test(tc, expired_leases_return_to_pending_and_stale_tokens_lose);
    tcase_add_test(tc, another_handles_changes_are_seen_by_the_next_transaction);
    tcase_add_test(tc, an_expired_lease_on_the_last_attempt_fails_the_batch);
    tcase_add_test(tc, complete_records_results);
    tcase_add_test(tc, complete_refuses_what_is_not_a_count_or_a_fingerprint);
    tcase_add_test(tc, failures_retry_with_doubling_backoff_then_fail_for_good);
    tcase_add_test(tc, retry_resets_failed_batches_and_the_run);
    tcase_add_test(tc, a_failed_key_range_splits_into_halves_in_its_place);
    tcase_add_test(tc, split_refuses_narrow_and_non_key_batches);
    tcase_add_test(tc, parameters_keep_their_types_in_the_ledger);
    tcase_add_test(tc, retry_split_splits_failed_key_ranges);
    tcase_add_test(tc, a_resize_re_cuts_the_untouched_tail_in_plan_order);
    tcase_add_test(tc, a_resize_keeps_the_concurrency_limit_and_the_halves_before_it);
    tcase_add_test(tc, a_resize_re_cuts_untouched_halves_and_refuses_what_it_cannot_cut);
    tcase_add_test(tc, pause_stops_claims_and_cancel_cancels_pending);
    tcase_add_test(tc, a_running_batch_of_a_cancelled_run_expires_to_cancelled);
    tcase_add_test(tc, starting_again_resumes_or_refuses_a_changed_plan);
    tcase_add_test(tc, runs_are_found_by_id_or_brief_name);
    tcase_add_test(tc, every_transition_appends_an_event_and_notes_are_kept);
    tcase_add_test(tc, records_are_events_with_the_hosts_subject);
    tcase_add_test(tc, a_released_lease_is_claimable_at_once_without_costing_an_attempt);
    tcase_add_test(tc, a_release_on_a_cancelled_run_cancels_the_batch);
    tcase_add_test(tc, progress_counts_rows_and_estimates_time_left);
    tcase_add_test(tc, finish_completes_a_run_whose_batches_are_all_done);
    tcase_add_test(tc, finish_does_not_skip_approval);
    tcase_add_test(tc, another_handles_validation_is_seen_by_the_next_transaction);
    tcase_add_test(tc, complete_records_and_settles_validation_in_the_same_transaction);
    tcase_add_test(tc, validation_results_are_kept_per_batch_and_listed);
    tcase_add_test(tc, before_states_are_kept_per_batch_and_read_back);
}

static Suite *ledger_suite(void)
{
    Suite *s = suite_create("ledger");
    TCase *tc = tcase_create("ledger");
    TCase *ext = tcase_create("external-store");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, open_creates_a_wal_ledger_with_a_schema_version);
    tcase_add_test(tc, durability_sets_the_sync_mode);
    tcase_add_test(tc, double_quoted_names_are_never_strings);
    tcase_add_test(tc, a_newer_schema_is_refused);
    tcase_add_test(tc, an_older_schema_is_migrated_forward);
    tcase_add_test(tc, another_sqlite_database_is_refused);
    tcase_add_test(tc, a_corrupt_file_is_refused);
    tcase_add_test(tc, a_missing_directory_is_an_io_error);
    tcase_add_test(tc, a_read_only_directory_is_an_io_error);
    tcase_add_test(tc, must_exist_does_not_create);
    tcase_add_test(tc, a_ledger_deleted_while_open_records_nothing_more);
    tcase_add_test(tc, a_refused_file_is_left_as_it_was);
    tcase_add_test(tc, creating_a_ledger_leaves_no_temporary_file);
    tcase_add_test(tc, versioned_structs_refuse_unknown_versions);
    tcase_add_test(tc, a_straggler_keeps_its_slot_while_finished_batches_are_unlisted);
    tcase_add_test(tc, batches_a_gone_worker_finished_leave_the_list_with_the_next_window);
    tcase_add_test(tc, a_failed_batch_unlisted_meanwhile_is_claimed_again_after_retry);
    tcase_add_test(tc, claims_cross_the_listing_windows_in_plan_order);
    tcase_add_test(tc, a_failing_store_member_fails_the_operation_and_changes_nothing);
    tcase_add_test(tc, a_store_failure_keeps_its_code_and_a_message);
    tcase_add_test(tc, allocation_failures_in_open_are_reported);
    tcase_add_test(tc, allocation_failures_in_claim_leave_the_ledger_consistent);
    tcase_add_test(tc, allocation_failures_in_complete_leave_the_ledger_consistent);
    tcase_add_test(tc, allocation_failures_in_start_leave_nothing_half_registered);
    add_conformance(tc);
    suite_add_tcase(s, tc);

    tcase_add_checked_fixture(ext, setup_external, teardown);
    tcase_set_timeout(ext, 120);
    add_conformance(ext);
    tcase_add_test(ext, an_external_store_gets_its_userdata_and_reports_through_bf_error_set);
    tcase_add_test(ext, a_store_of_an_older_version_opens_and_refuses_the_newer_calls);
    suite_add_tcase(s, ext);
    return s;
}

int main(void)
{
    return bftest_run(ledger_suite());
}
