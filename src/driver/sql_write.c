/*
 * The SQL layer's writes: staging a batch, publishing it by write pattern in
 * one transaction with its fence and snapshot, restoring and dropping
 * snapshots, cutover.
 */
#include <stdio.h>
#include <string.h>

#include "driver/sql.h"

/*
 * Temporary tables of the connection, alive only inside the publish's
 * transaction: DELTA holds the staged rows converted as the destination
 * stores them (made from its columns, so with their affinities), unique on
 * the key under the key's collations; DELTA_ROWS those of them that the
 * destination does not hold as they are (changed or added).
 */
#define DELTA "bf__delta"
#define DELTA_INDEX "bf__delta_key"
#define DELTA_ROWS "bf__delta_rows"
/* DELTA_ROWS's own columns (unless the destination has one so named): the row is added; it
 * changes column i (CHANGED followed by i). */
#define ADDED "bf__added"
/* Temporary views of a batch's snapshot rows and keys (bf__sql_snapshot_views). */
#define SNAP_ROWS "bf__snapshot_rows"
#define SNAP_KEYS "bf__snapshot_keys"
/* The rows an append's undo deletes, by row id: a temporary table of the restore. */
#define UNDO_ROWIDS "bf__undo_rowids"
#define CHANGED "bf__changed_"

/*
 * Tables the library derives from the target's name. A run's snapshots
 * share three tables, whatever its number of batches (SNAP_BATCH tells
 * their rows apart): SNAP the pre-images (or an append's rows), SNAPKEYS
 * the keys a delta or a merge touched, SNAPINFO one row per batch that has
 * a snapshot (whether it is keyed, and the fingerprint of what its last
 * publish wrote). Tables per batch grew the warehouse's schema by four
 * objects a batch, and every change to it makes each other connection read
 * the whole schema again: with thousands of batches, each batch took
 * longer than the one before.
 */
enum derived { STAGE, SNAP, SNAPKEYS, SNAPINFO, FULL, VERSION, BACKUP };

#define SNAP_BATCH "bf__batch"

static char *derived_name(const bf_write_spec *spec, enum derived kind, int64_t run, size_t batch)
{
    switch (kind) {
    case STAGE:
        return bf__asprintf("%s__bf_stage_%lld_%zu", spec->table, (long long)run, batch);
    case SNAP:
        return bf__asprintf("%s__bf_snap_%lld", spec->table, (long long)run);
    case SNAPKEYS:
        return bf__asprintf("%s__bf_snapkeys_%lld", spec->table, (long long)run);
    case SNAPINFO:
        return bf__asprintf("%s__bf_snapinfo_%lld", spec->table, (long long)run);
    case FULL:
        return bf__asprintf("%s__bf_full_%lld", spec->table, (long long)run);
    case VERSION:
        if (spec->version_table)
            return bf__strdup(spec->version_table);
        return bf__asprintf("%s__bf_v%lld", spec->table, (long long)run);
    case BACKUP:
        return bf__asprintf("%s__bf_backup_%lld", spec->table, (long long)run);
    }
    return NULL;
}

/* The per-batch snapshot tables of earlier builds: "snap", "snapkeys", "snapfp". */
static char *legacy_name(const char *table, const char *kind, int64_t run, size_t batch)
{
    return bf__asprintf("%s__bf_%s_%lld_%zu", table, kind, (long long)run, batch);
}

/* Everything one batch write works with. */
struct job {
    bf__sql *s;
    const bf_write_spec *spec;
    const bf_plan *plan;
    const bf_batch *batch;
    int64_t run;
    size_t ord;
    bf_table_info *info; /* the target's columns, generated ones included */
    const char **cols;   /* the names of those a write gives values: not the generated ones */
    size_t ncols;
    char *stage, *snap, *keys, *dest; /* dest: where rows go (target or its shadow) */
    char *sinfo;         /* the run's SNAPINFO */
    char ordsql[24];     /* the batch's ordinal, as SQL */
    char mine[48];       /* SQL: a snapshot table's row is this batch's */
    int snap_read;       /* the four below are read (snap_state) */
    int has_snap, keyed; /* the batch has a snapshot; with keys (of a delta or a merge) */
    int tables;          /* the run's snapshot tables exist */
    char *written;       /* the fingerprint of what its last publish wrote, or NULL */
    char *qdest;         /* dest, quoted: qualifies columns in correlated subqueries */
    bf__binds binds;
    int delta;           /* the staged rows are in DELTA, converted as dest stores them */
    char *kinds;         /* per column: its affinity (affinity_of), while a delta is made */
    int64_t staged;      /* rows in DELTA */
    int checked;         /* DELTA holds every staged row: all within the bounds, keys whole */
    int flagged;         /* DELTA_ROWS has the column ADDED */
    int64_t before, added, removed; /* rows of the bounds; staged keys new; keys gone */
    int64_t temp_cache;  /* the connection's temp.cache_size, to put back */
    int cache_set;       /* whether the publish changed it */
    int *keep_key;       /* per column: a key column whose match proves it identical */
    char *xmatch;        /* SQL: the DELTA row x has the key of the destination's row */
    int raw;             /* DELTA_ROWS came straight from the staged rows; DELTA is empty */
};

static int is_shadowed(const bf_write_spec *spec)
{
    return spec->strategy == BF_WRITE_STAGING_SWAP || spec->strategy == BF_WRITE_PARALLEL_VERSION;
}

static int overwrites(const bf_write_spec *spec)
{
    return spec->strategy != BF_WRITE_MERGE && spec->strategy != BF_WRITE_APPEND;
}

static void job_dispose(struct job *j)
{
    bf_table_info_free(j->info);
    bf__free(j->cols);
    bf__free(j->stage);
    bf__free(j->snap);
    bf__free(j->keys);
    bf__free(j->sinfo);
    bf__free(j->written);
    bf__free(j->dest);
    bf__free(j->qdest);
    bf__free(j->kinds);
    bf__free(j->keep_key);
    bf__free(j->xmatch);
}

static int job_init(struct job *j, void *ud, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run)
{
    int rc;

    memset(j, 0, sizeof *j);
    j->s = ud;
    j->spec = spec;
    j->plan = plan;
    j->batch = batch;
    j->run = run;
    j->ord = batch ? bf_batch_ordinal(batch) : 0;
    bf__binds_init(&j->binds);
    bf__binds_batch(&j->binds, batch);
    if (spec->strategy == BF_WRITE_MERGE && !spec->key_count)
        return bf__error(BF_E_INVALID, "merge into %s needs the key columns", spec->table);
    if ((rc = bf__sql_describe(j->s, &j->info, spec->table)) != BF_OK ||
        (rc = bf__sql_check_spec(j->s, j->info, spec, plan, batch)) != BF_OK)
        return rc;
    j->cols = bf__calloc(j->info->count, sizeof *j->cols);
    j->stage = derived_name(spec, STAGE, run, j->ord);
    j->snap = derived_name(spec, SNAP, run, j->ord);
    j->keys = derived_name(spec, SNAPKEYS, run, j->ord);
    j->sinfo = derived_name(spec, SNAPINFO, run, j->ord);
    bf__snprintf(j->ordsql, sizeof j->ordsql, "%zu", j->ord);
    bf__snprintf(j->mine, sizeof j->mine, SNAP_BATCH " = %zu", j->ord);
    j->dest = is_shadowed(spec) ? derived_name(spec, spec->strategy == BF_WRITE_STAGING_SWAP
                                                         ? FULL : VERSION, run, 0)
                                : bf__strdup(spec->table);
    if (!j->cols || !j->stage || !j->snap || !j->keys || !j->sinfo || !j->dest)
        return bf__nomem();
    /* The warehouse computes generated columns: every write leaves them out. */
    for (size_t i = 0; i < j->info->count; i++) {
        if (spec->snapshot && bf__sql_same_ident(j->info->columns[i].name, SNAP_BATCH))
            return bf__error(BF_E_UNSUPPORTED, "%s has a column named %s, the name the run's "
                             "snapshot tables give the batch of each row: rename the column",
                             spec->table, SNAP_BATCH);
        if (!j->info->columns[i].generated)
            j->cols[j->ncols++] = j->info->columns[i].name;
    }
    return bf__sql_quoted(j->s, &j->qdest, j->dest);
}

/* Build and run; *changes (may be NULL) gets the changed rows. */
static int run(struct job *j, int64_t *changes, const char *tpl, const char *const *args)
{
    bf__tpl t = {j->cols, j->ncols, j->spec->key, j->spec->key_count, j->plan, j->batch};
    char *sql;
    int rc = bf__sql_build(j->s, &sql, &t, tpl, args);

    if (rc == BF_OK)
        rc = bf__sql_run(j->s, sql, &j->binds, changes);
    bf__free(sql);
    return rc;
}

static int query_int(struct job *j, int64_t *out, const char *tpl, const char *const *args)
{
    bf__tpl t = {j->cols, j->ncols, j->spec->key, j->spec->key_count, j->plan, j->batch};
    char *sql;
    int rc = bf__sql_build(j->s, &sql, &t, tpl, args);

    if (rc == BF_OK)
        rc = bf__sql_query_int(j->s, out, sql, &j->binds);
    bf__free(sql);
    return rc;
}

/* Drop a table if it exists (inside or outside a transaction). */
static int drop_table(struct job *j, const char *name)
{
    return run(j, NULL, "DROP TABLE IF EXISTS %T", ARGS(name));
}

/* ---- stage ---- */

/* A SQLite connection whose publish consumes its staging (bf__driver_consume_staging). */
static int temp_staging(const bf__sql *s)
{
    return s->consume_stage && s->vt.dialect && strcmp(s->vt.dialect, "sqlite") == 0;
}

int bf__sql_stage(void *ud, int64_t *out, const bf_write_spec *spec, const bf_plan *plan,
                  const bf_batch *batch, int64_t run_id)
{
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);
    int tmp = rc == BF_OK && temp_staging(j.s);

    bf__binds_int(&j.binds, "run", run_id);
    bf__binds_int(&j.binds, "batch", (int64_t)j.ord);
    /*
     * Untyped columns keep the job's values exactly as it produced them.
     * When the runner publishes and drops the staging on this connection
     * right after, a temporary table of the connection serves, with nothing
     * written to the warehouse's file or its journal; statements name it
     * unqualified, and SQLite looks in temp first. Such a staging only reads
     * the warehouse, so its transaction is a deferred one, which takes no
     * write lock: while one worker's job runs, another worker's publish goes
     * on (with a rollback journal its commit waits for the job's read to
     * end; in WAL mode nothing waits). A staging table in the warehouse
     * itself writes there and takes the write lock first, as every write
     * does (begin_sql).
     */
    if (rc == BF_OK)
        rc = tmp ? bf__sql_exec(j.s, "BEGIN") : bf__sql_begin(j.s);
    if (rc == BF_OK) {
        if ((rc = tmp ? run(&j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(j.stage))
                      : drop_table(&j, j.stage)) == BF_OK &&
            (rc = run(&j, NULL, tmp ? "CREATE TEMP TABLE %T (%C)" : "CREATE TABLE %T (%C)",
                      ARGS(j.stage, NULL))) == BF_OK)
            rc = run(&j, out, tmp ? "INSERT INTO temp.%T (%C) %S" : "INSERT INTO %T (%C) %S",
                     ARGS(j.stage, NULL, spec->select));
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    if (rc != BF_OK && rc != BF_E_USER && rc != BF_E_NOMEM) {
        char msg[BF_ERRMSG_MAX];

        snprintf(msg, sizeof msg, "%s", bf_last_error());
        rc = bf__error(rc, "stage batch %s of %s: %s", bf_batch_label(batch), spec->table, msg);
    }
    job_dispose(&j);
    return rc;
}

static int snap_forget(struct job *j);

int bf__sql_drop_staging(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                         const bf_batch *batch, int64_t run_id)
{
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK)
        rc = drop_table(&j, j.stage);
    job_dispose(&j);
    return rc;
}

/*
 * Drop the batch's snapshot: its rows of the run's snapshot tables (the
 * tables too when it was their last batch), and the tables of an earlier
 * build that kept a batch's snapshot in tables of its own.
 */
int bf__sql_drop_snapshot(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                          const bf_batch *batch, int64_t run_id)
{
    static const char *const legacy[] = {"snap", "snapkeys", "snapfp"};
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK && (rc = bf__sql_begin(j.s)) == BF_OK) {
        rc = snap_forget(&j);
        for (size_t k = 0; rc == BF_OK && k < BF_ARRAY_LEN(legacy); k++) {
            char *name = legacy_name(spec->table, legacy[k], run_id, j.ord);

            rc = name ? drop_table(&j, name) : bf__nomem();
            bf__free(name);
        }
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    job_dispose(&j);
    return rc;
}

/* ---- fencing ---- */

/*
 * bf_fence(target, run, batch, token, owner). Run ids are a ledger's own: a
 * second ledger on the same warehouse numbers its runs from 1 again. The
 * owner (bf__sql_set_owner: who started the run, as the runner names it)
 * keeps its run 1 from taking the first ledger's fences, snapshots and
 * staging for its own. A fence table from before the owner gets the column.
 */
/* Whether bf_fence has its owner column (remembered once seen); BF_E_NOT_FOUND with no bf_fence. */
static int fence_owner_column(bf__sql *s)
{
    bf_table_info *info = NULL;
    int rc;

    if (s->fence_owner_known)
        return BF_OK;
    if ((rc = bf__sql_describe(s, &info, "bf_fence")) != BF_OK)
        return rc;
    for (size_t i = 0; i < bf_table_info_column_count(info); i++)
        if (strcmp(bf_table_info_column_name(info, i), "owner") == 0)
            s->fence_owner_known = 1;
    bf_table_info_free(info);
    return BF_OK;
}

static int fence_table(bf__sql *s)
{
    int rc = bf__sql_exec(s, "CREATE TABLE IF NOT EXISTS bf_fence (target TEXT NOT NULL, "
                             "run INTEGER NOT NULL, batch INTEGER NOT NULL, token INTEGER "
                             "NOT NULL, owner TEXT, PRIMARY KEY (target, run, batch))");

    if (rc == BF_OK)
        rc = fence_owner_column(s);
    if (rc == BF_OK && !s->fence_owner_known &&
        (rc = bf__sql_exec(s, "ALTER TABLE bf_fence ADD COLUMN owner TEXT")) == BF_OK)
        s->fence_owner_known = 1;
    return rc;
}

/* Bind :target, :run and :owner (NULL when the connection has none). */
static void fence_binds(bf__binds *b, const bf__sql *s, const bf_value *target, int64_t run_id)
{
    static const bf_value null = {BF_VALUE_NULL, 0, 0.0, NULL, 0};
    bf_value owner = {BF_VALUE_TEXT, 0, 0.0, s->owner, s->owner ? strlen(s->owner) : 0};

    bf__binds_init(b);
    bf__binds_value(b, "target", target);
    bf__binds_int(b, "run", run_id);
    bf__binds_value(b, "owner", s->owner ? &owner : &null);
}

static int foreign_owner(const bf__sql *s, const char *table, int64_t run_id,
                         const char *other)
{
    return bf__error(BF_E_CONFLICT, "%s: run %lld in this warehouse is another ledger's (%s), "
                     "not this one's (%s), and so are its fences, snapshots and staging: go on "
                     "with the ledger that started it, or clean that run up there once it is "
                     "settled (backfill cleanup); if that ledger is gone, drop %s__bf_*_%lld_* "
                     "and delete run %lld's rows of %s from bf_fence", table, (long long)run_id,
                     other, s->owner, table, (long long)run_id, (long long)run_id, table);
}

static int fence_in_tx(bf__sql *s, const char *table, int64_t run_id, size_t batch,
                       int64_t token)
{
    bf_value target = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf__binds b;
    bf__stmt st;
    int64_t stored = 0;
    char *stored_owner = NULL;
    int found = 0, rc;

    if ((rc = fence_table(s)) != BF_OK)
        return rc;
    fence_binds(&b, s, &target, run_id);
    bf__binds_int(&b, "batch", (int64_t)batch);
    bf__binds_int(&b, "token", token);
    rc = bf__stmt_prepare(&st, s, "SELECT token, owner FROM bf_fence WHERE target = :target "
                                  "AND run = :run AND batch = :batch", &b);
    if (rc != BF_OK)
        return rc;
    rc = bf__stmt_step(&st);
    if (rc == BF_SQL_ROW) {
        bf_value v;

        found = 1;
        if ((rc = bf__stmt_column(&st, 0, &v)) == BF_OK)
            stored = v.i;
        if (rc == BF_OK && (rc = bf__stmt_column(&st, 1, &v)) == BF_OK &&
            v.type == BF_VALUE_TEXT && !(stored_owner = bf__strndup(v.s, v.len)))
            rc = bf__nomem();
    }
    bf__stmt_finalize(&st);
    if (rc < 0) {
        bf__free(stored_owner);
        return rc;
    }
    if (found && s->owner && stored_owner && strcmp(stored_owner, s->owner) != 0) {
        rc = foreign_owner(s, table, run_id, stored_owner);
        bf__free(stored_owner);
        return rc;
    }
    if (found && stored > token) {
        bf__free(stored_owner);
        return bf__error(BF_E_LEASE_LOST,
                         "batch %zu of %s (run %lld): fencing token %lld is older than %lld",
                         batch, table, (long long)run_id, (long long)token, (long long)stored);
    }
    if (!found)
        rc = bf__sql_run(s, "INSERT INTO bf_fence (target, run, batch, token, owner) "
                            "VALUES (:target, :run, :batch, :token, :owner)", &b, NULL);
    else if (stored < token || (s->owner && !stored_owner))
        rc = bf__sql_run(s, "UPDATE bf_fence SET token = :token, owner = coalesce(owner, "
                            ":owner) WHERE target = :target AND run = :run AND batch = :batch",
                         &b, NULL);
    bf__free(stored_owner);
    return rc;
}

int bf__sql_set_owner(bf__sql *s, const char *owner)
{
    char *copy = owner ? bf__strdup(owner) : NULL;

    if (owner && !copy)
        return bf__nomem();
    bf__free(s->owner);
    s->owner = copy;
    return BF_OK;
}

int bf__sql_foreign_run(bf__sql *s, const char *table, int64_t run_id)
{
    int64_t mine = 0;
    char *other = NULL;
    int rc;

    if (!s->owner)
        return BF_OK;
    rc = bf__sql_run_fences(s, table, run_id, s->owner, &mine, &other);
    if (rc == BF_OK && other)
        rc = foreign_owner(s, table, run_id, other);
    bf__free(other);
    return rc;
}

int bf__sql_run_fences(bf__sql *s, const char *table, int64_t run_id, const char *owner,
                       int64_t *mine, char **other)
{
    static const bf_value null = {BF_VALUE_NULL, 0, 0.0, NULL, 0};
    bf_value target = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf_value who = {BF_VALUE_TEXT, 0, 0.0, owner, owner ? strlen(owner) : 0};
    bf__binds b;
    bf__stmt st;
    int rc = fence_owner_column(s);

    *mine = 0;
    *other = NULL;
    if (rc == BF_E_NOT_FOUND) {
        bf_clear_error();
        return BF_OK; /* nothing was ever fenced here */
    }
    if (rc != BF_OK)
        return rc;
    bf__binds_init(&b);
    bf__binds_value(&b, "target", &target);
    bf__binds_int(&b, "run", run_id);
    bf__binds_value(&b, "owner", owner ? &who : &null);
    /* No owner to tell by: every fence of the run counts. */
    if (!s->fence_owner_known || !owner)
        return bf__sql_query_int(s, mine, "SELECT count(*) FROM bf_fence WHERE target = :target "
                                          "AND run = :run", &b);
    if ((rc = bf__sql_query_int(s, mine, "SELECT count(*) FROM bf_fence WHERE target = :target "
                                         "AND run = :run AND (owner IS NULL OR owner = :owner)",
                                &b)) != BF_OK ||
        (rc = bf__stmt_prepare(&st, s, "SELECT owner FROM bf_fence WHERE target = :target AND "
                                       "run = :run AND owner IS NOT NULL AND owner <> :owner "
                                       "LIMIT 1", &b)) != BF_OK)
        return rc;
    if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
        bf_value v;

        if ((rc = bf__stmt_column(&st, 0, &v)) == BF_OK && !(*other = bf__strndup(v.s, v.len)))
            rc = bf__nomem();
    } else if (rc >= 0) {
        rc = BF_OK;
    }
    bf__stmt_finalize(&st);
    return rc;
}

int bf__sql_forget_fences(bf__sql *s, const char *table, int64_t run_id)
{
    bf_value target = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf__binds b;
    int rc = bf__sql_begin(s);

    if (rc == BF_OK)
        rc = fence_table(s);
    fence_binds(&b, s, &target, run_id);
    if (rc == BF_OK)
        rc = bf__sql_run(s, "DELETE FROM bf_fence WHERE target = :target AND run = :run AND "
                            "(owner IS NULL OR owner = :owner)", &b, NULL);
    if (rc == BF_OK)
        rc = bf__sql_commit(s);
    if (rc != BF_OK)
        bf__sql_rollback(s);
    return rc;
}

int bf__sql_fence(void *ud, const char *table, int64_t run_id, size_t batch, int64_t token)
{
    bf__sql *s = ud;
    int rc = bf__sql_begin(s);

    if (rc != BF_OK)
        return rc;
    rc = fence_in_tx(s, table, run_id, batch, token);
    if (rc == BF_OK)
        rc = bf__sql_commit(s);
    if (rc != BF_OK)
        bf__sql_rollback(s);
    return rc;
}

/* ---- what a batch wrote: identities its restore relies on ---- */

static const char *label_of(const bf_batch *batch)
{
    return batch ? bf_batch_label(batch) : "(the whole table)";
}

static int build(struct job *j, char **out, const char *tpl, const char *const *args)
{
    bf__tpl t = {j->cols, j->ncols, j->spec->key, j->spec->key_count, j->plan, j->batch};

    return bf__sql_build(j->s, out, &t, tpl, args);
}

/*
 * The destination's rows whose key one of `table`'s rows holds, through the
 * destination's key index (bf__sql_key_in). The correlated EXISTS this
 * replaces read `table` whole for every row of the destination: a merge of
 * 10,000 rows into 260,000 took minutes, one of 1,154 rows with a
 * two-column key 277 seconds.
 */
static int key_in(struct job *j, char **out, const char *table)
{
    return build(j, out, "%N", ARGS(j->qdest, table));
}

/* The same for the keys the batch's snapshot lists (in the run's SNAPKEYS). */
static int keys_touched(struct job *j, char **out)
{
    bf__sb sb;

    bf__sb_init(&sb);
    if (bf__sql_key_in(j->s, &sb, j->qdest, j->spec->key, j->spec->key_count, j->keys,
                       j->mine) != BF_OK) {
        bf__sb_dispose(&sb);
        return BF_E_INVALID;
    }
    return bf__sql_text(&sb, out);
}

/* ---- the run's snapshot tables ---- */

static int key_collated(struct job *j, char **out, int *binary, int *indexed);

/*
 * Whether the batch has a snapshot, with keys, and the fingerprint of what
 * its last publish wrote: its row of SNAPINFO, read once per job, inside
 * the caller's transaction.
 */
static int snap_state(struct job *j)
{
    bf__stmt st;
    bf_value v;
    char *sql = NULL;
    int rc;

    if (j->snap_read)
        return BF_OK;
    if ((rc = bf__sql_exists(j->s, &j->tables, j->sinfo)) != BF_OK || !j->tables) {
        j->snap_read = rc == BF_OK;
        return rc;
    }
    if ((rc = build(j, &sql, "SELECT keyed, fingerprint FROM %T WHERE %S",
                    ARGS(j->sinfo, j->mine))) != BF_OK)
        return rc;
    if ((rc = bf__stmt_prepare(&st, j->s, sql, NULL)) == BF_OK) {
        if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            j->has_snap = 1;
            if ((rc = bf__stmt_column(&st, 0, &v)) == BF_OK)
                j->keyed = v.type == BF_VALUE_INT && v.i != 0;
            if (rc == BF_OK && (rc = bf__stmt_column(&st, 1, &v)) == BF_OK &&
                v.type == BF_VALUE_TEXT && !(j->written = bf__strndup(v.s, v.len)))
                rc = bf__nomem();
        } else if (rc == BF_SQL_DONE) {
            rc = BF_OK;
        }
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    if (rc == BF_OK)
        j->snap_read = 1;
    return rc;
}

/*
 * Make the run's snapshot tables, once a run, inside the publish's
 * transaction. SNAP has the written columns untyped, so a pre-image keeps
 * its values as they are; append's has the destination's types, so that
 * the rows it adds are kept converted as the target converts them. SNAPKEYS
 * has the key untyped for a merge (its keys come staged) and with the
 * destination's types for a delta (its keys come from the destination),
 * indexed by batch and key (on SQLite under the key's collations), so that
 * matching the destination's rows against a batch's keys is an index
 * search. Each has an index that leads with the batch.
 */
static int snap_tables(struct job *j)
{
    int sqlite = j->s->vt.dialect && strcmp(j->s->vt.dialect, "sqlite") == 0;
    char *collated = NULL, *index = NULL;
    int rc;

    if (j->tables)
        return BF_OK;
    if (j->spec->strategy == BF_WRITE_APPEND)
        rc = run(j, NULL, "CREATE TABLE %T AS SELECT 0 AS " SNAP_BATCH ", %C FROM %T WHERE 1 = 0",
                 ARGS(j->snap, NULL, j->dest));
    else
        rc = run(j, NULL, "CREATE TABLE %T (" SNAP_BATCH " INTEGER NOT NULL, %C)",
                 ARGS(j->snap, NULL));
    if (rc == BF_OK)
        rc = (index = bf__asprintf("%s_b", j->snap)) != NULL
                 ? run(j, NULL, "CREATE INDEX %T ON %T (" SNAP_BATCH ")", ARGS(index, j->snap))
                 : bf__nomem();
    bf__free(index);
    index = NULL;
    if (rc == BF_OK && j->spec->key_count) {
        if (j->spec->strategy == BF_WRITE_MERGE || !sqlite)
            rc = run(j, NULL, "CREATE TABLE %T (" SNAP_BATCH " INTEGER NOT NULL, %K)",
                     ARGS(j->keys, NULL));
        else
            rc = run(j, NULL, "CREATE TABLE %T AS SELECT 0 AS " SNAP_BATCH ", %K FROM %T WHERE 0",
                     ARGS(j->keys, NULL, j->dest));
        if (rc == BF_OK)
            rc = sqlite ? key_collated(j, &collated, NULL, NULL) : build(j, &collated, "%K",
                                                                         ARGS(NULL));
        if (rc == BF_OK)
            rc = (index = bf__asprintf("%s_k", j->keys)) != NULL
                     ? run(j, NULL, "CREATE INDEX %T ON %T (" SNAP_BATCH ", %S)",
                           ARGS(index, j->keys, collated))
                     : bf__nomem();
    }
    if (rc == BF_OK)
        rc = run(j, NULL, "CREATE TABLE %T (" SNAP_BATCH " INTEGER PRIMARY KEY, keyed INTEGER "
                 "NOT NULL, fingerprint TEXT)", ARGS(j->sinfo));
    bf__free(collated);
    bf__free(index);
    if (rc == BF_OK)
        j->tables = 1;
    return rc;
}

/* Start the batch's snapshot (keyed: a delta's or a merge's, which lists the keys it touched). */
static int snap_begin(struct job *j, int keyed)
{
    int rc = snap_tables(j);

    if (rc == BF_OK)
        rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", keyed) VALUES (%S, %S)",
                 ARGS(j->sinfo, j->ordsql, keyed ? "1" : "0"));
    if (rc == BF_OK) {
        j->has_snap = 1;
        j->keyed = keyed;
    }
    return rc;
}

/* Remove the batch's snapshot; the run's tables go with their last batch. In a transaction. */
static int snap_forget(struct job *j)
{
    int64_t left = 0;
    int keys = 0, rc;

    if ((rc = snap_state(j)) != BF_OK || !j->tables)
        return rc;
    if ((rc = run(j, NULL, "DELETE FROM %T WHERE %S", ARGS(j->snap, j->mine))) == BF_OK &&
        (rc = bf__sql_exists(j->s, &keys, j->keys)) == BF_OK && keys)
        rc = run(j, NULL, "DELETE FROM %T WHERE %S", ARGS(j->keys, j->mine));
    if (rc == BF_OK)
        rc = run(j, NULL, "DELETE FROM %T WHERE %S", ARGS(j->sinfo, j->mine));
    if (rc == BF_OK)
        rc = query_int(j, &left, "SELECT count(*) FROM %T", ARGS(j->sinfo));
    if (rc == BF_OK && !left && (rc = drop_table(j, j->snap)) == BF_OK &&
        (rc = drop_table(j, j->keys)) == BF_OK && (rc = drop_table(j, j->sinfo)) == BF_OK)
        j->tables = 0;
    if (rc == BF_OK) {
        j->has_snap = j->keyed = 0;
        bf__free(j->written);
        j->written = NULL;
    }
    return rc;
}

/*
 * "(a.c = b.c OR (a.c IS NULL AND b.c IS NULL)) AND ..." over the written
 * columns: two rows hold the same values, in portable SQL. `a` and `b` are
 * aliases or quoted names.
 */
static int same_row(struct job *j, char **out, const char *a, const char *b)
{
    bf__sb sb;
    int rc = BF_OK;

    bf__sb_init(&sb);
    /*
     * On SQLite, the key's columns first as "a.k IS b.k": the same test as
     * the portable form after it, which lets a lookup of equal rows seek the
     * table's key instead of reading it whole (an append's undo made one such
     * lookup per appended row).
     */
    if (j->s->vt.dialect && strcmp(j->s->vt.dialect, "sqlite") == 0)
        for (size_t k = 0; k < j->spec->key_count && rc == BF_OK; k++) {
            bf__sb_append(&sb, a);
            bf__sb_appendc(&sb, '.');
            rc = bf__sql_ident(j->s, &sb, j->spec->key[k]);
            bf__sb_append(&sb, " IS ");
            bf__sb_append(&sb, b);
            bf__sb_appendc(&sb, '.');
            if (rc == BF_OK)
                rc = bf__sql_ident(j->s, &sb, j->spec->key[k]);
            bf__sb_append(&sb, " AND ");
        }
    for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
        const char *parts[] = {a, " = ", b, " OR (", a, " IS NULL AND ", b, " IS NULL))"};

        bf__sb_append(&sb, i ? " AND (" : "(");
        for (size_t p = 0; p < BF_ARRAY_LEN(parts) && rc == BF_OK; p++) {
            bf__sb_append(&sb, parts[p]);
            if (p % 2 == 0) {
                bf__sb_appendc(&sb, '.');
                rc = bf__sql_ident(j->s, &sb, j->cols[i]);
            }
        }
    }
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/*
 * The fingerprint, over every column, of the rows the batch's publishes
 * own in the destination: those within its bounds for the overwriting
 * patterns, those with a key it touched for merge.
 */
static int written_fp(struct job *j, bf_fingerprint *out)
{
    char *where = NULL;
    int merge = j->spec->strategy == BF_WRITE_MERGE, rc = BF_OK;

    if (merge)
        rc = keys_touched(j, &where);
    if (rc == BF_OK)
        rc = bf__sql_fingerprint_where(j->s, out, j->dest, NULL, 0, merge ? NULL : j->plan,
                                       merge ? NULL : j->batch, where);
    bf__free(where);
    return rc;
}

/* After a publish with a snapshot: remember what it left, so restore can tell whether it changed. */
static int record_written(struct job *j)
{
    char text[BF_FINGERPRINT_TEXT_SIZE];
    bf_fingerprint fp;
    bf_value v = {BF_VALUE_TEXT, 0, 0.0, text, 0};
    int rc, have = 0;

    /*
     * The caller's measure of the batch as written (bf__driver_publish_measured),
     * here in the transaction: for an overwriting pattern its fingerprint of the
     * bounds is what written_fp would read.
     */
    if (j->s->measure && !j->s->measured) {
        j->s->measured = 1;
        if ((rc = j->s->measure(j->s->measure_ctx, &fp, &have)) != BF_OK)
            return rc;
        have = have && overwrites(j->spec);
    }
    if (!j->spec->snapshot || j->spec->strategy == BF_WRITE_APPEND)
        return BF_OK;
    rc = have ? BF_OK : BF_E_NOT_FOUND;
    /*
     * After a delta, the bounds hold one row per staged key with its
     * converted values, unless one landed outside them: when they count
     * as many rows as were staged, they are the rows of DELTA, in memory.
     */
    if (rc == BF_E_NOT_FOUND && j->delta && !j->raw && overwrites(j->spec) &&
        j->ncols == j->info->count) {
        int64_t now = 0;

        if ((rc = query_int(j, &now, "SELECT count(*) FROM %T WHERE %P",
                            ARGS(j->dest, NULL))) != BF_OK)
            return rc;
        rc = now == j->staged ? bf__sql_fingerprint_where(j->s, &fp, DELTA, j->cols, j->ncols,
                                                         NULL, NULL, NULL)
                              : BF_E_NOT_FOUND;
        if (rc != BF_OK && rc != BF_E_NOT_FOUND)
            return rc;
    }
    if (rc == BF_E_NOT_FOUND && (rc = written_fp(j, &fp)) != BF_OK)
        return rc;
    bf_fingerprint_format(text, sizeof text, &fp);
    v.len = strlen(text);
    bf__binds_value(&j->binds, "bf_fp", &v);
    /* snapshot() made the batch's row of SNAPINFO, or found it, in this transaction. */
    return run(j, NULL, "UPDATE %T SET fingerprint = :bf_fp WHERE %S", ARGS(j->sinfo, j->mine));
}

/*
 * Before putting a pre-image back: the rows the batch owns must be exactly
 * what its last publish left, or the restore would overwrite changes made
 * since (by another writer, or a later batch that wrote into its bounds).
 * (Every publish that takes a snapshot records it in the same transaction;
 * append's, which records none, is checked by value.)
 */
static int check_written(struct job *j)
{
    bf_fingerprint then, now;
    int rc;

    if ((rc = snap_state(j)) != BF_OK || !j->written)
        return rc;
    if (bf_fingerprint_parse(&then, j->written) != BF_OK)
        return bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): the record of what "
                         "it wrote (in %s) is unreadable; nothing was restored",
                         label_of(j->batch), j->spec->table, (long long)j->run, j->sinfo);
    if ((rc = written_fp(j, &now)) != BF_OK)
        return rc;
    if (!bf_fingerprint_equal(&then, &now))
        return bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): the rows it wrote "
                         "in %s changed since it published, by a later batch of the run or another "
                         "writer (%llu rows when published, %llu now); nothing was restored",
                         label_of(j->batch), j->spec->table,
                         (long long)j->run, j->dest, (unsigned long long)then.rows,
                         (unsigned long long)now.rows);
    return BF_OK;
}

/*
 * Undo an append. Row ids prove nothing (SQLite renumbers them on VACUUM
 * and reuses them after deletes), so the snapshot holds the appended rows'
 * values, and the rows to delete are found by value: for each distinct
 * appended row seen n times, n rows of the table holding those values.
 * Rows with equal values are interchangeable, so which of them go does not
 * change what the table holds. Refused (nothing deleted) when fewer than n
 * remain, when the table holds extra copies and the dialect has no row
 * identity to delete only n, or when the rows picked differ from the
 * appended ones (equal under the warehouse's comparison but not the same
 * values: 1 and 1.0, or text under a NOCASE collation).
 */
static int undo_append(struct job *j)
{
    const char *rowid = j->s->vt.rowid_column;
    char *same = NULL, *same_dest = NULL, *groups = NULL, *scope = NULL;
    int64_t appended = 0, missing = 0, extra = 0, deleted = 0;
    bf_fingerprint want, got;
    int rc;

    if ((rc = same_row(j, &same, "d", "s")) == BF_OK &&
        (rc = same_row(j, &same_dest, j->qdest, "s")) == BF_OK)
        rc = build(j, &groups, "SELECT %C, count(*) AS bf_n, min(%S) AS bf_g FROM %T WHERE %S "
                   "GROUP BY %C", ARGS(NULL, rowid ? rowid : "0", j->snap, j->mine, NULL));
    if (rc == BF_OK)
        rc = query_int(j, &appended, "SELECT count(*) FROM %T WHERE %S", ARGS(j->snap, j->mine));
    if (rc == BF_OK)
        rc = query_int(j, &missing, "SELECT coalesce(sum(bf_n - bf_m), 0) FROM (SELECT s.bf_n, "
                       "(SELECT count(*) FROM %T d WHERE %S) AS bf_m FROM (%S) s) WHERE bf_m < bf_n",
                       ARGS(j->dest, same, groups));
    if (rc == BF_OK && missing)
        rc = bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): %lld of the %lld rows "
                       "it appended are no longer in %s (changed or deleted since); nothing was "
                       "restored", label_of(j->batch), j->spec->table, (long long)j->run,
                       (long long)missing, (long long)appended, j->dest);
    if (rc == BF_OK && !rowid) {
        rc = query_int(j, &extra, "SELECT coalesce(sum(bf_m - bf_n), 0) FROM (SELECT s.bf_n, "
                       "(SELECT count(*) FROM %T d WHERE %S) AS bf_m FROM (%S) s) WHERE bf_m > bf_n",
                       ARGS(j->dest, same, groups));
        if (rc == BF_OK && extra)
            rc = bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): %s holds %lld "
                           "more rows equal to appended ones than the batch appended, and the %s "
                           "driver has no row identity to delete only those; nothing was restored",
                           label_of(j->batch), j->spec->table, (long long)j->run, j->dest,
                           (long long)extra, j->s->vt.dialect ? j->s->vt.dialect : "SQL");
        if (rc == BF_OK)
            rc = build(j, &scope, "EXISTS (SELECT 1 FROM %T s WHERE s.%S AND %S)",
                       ARGS(j->snap, j->mine, same_dest));
    } else if (rc == BF_OK) {
        /*
         * Pick n rows per distinct appended row, the most recent first, into
         * a temporary table of the connection (gone with the restore).
         */
        if ((rc = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(UNDO_ROWIDS))) == BF_OK &&
            (rc = run(j, NULL, "CREATE TEMP TABLE %T (bf_rowid INTEGER)",
                      ARGS(UNDO_ROWIDS))) == BF_OK)
            rc = run(j, NULL, "INSERT INTO temp.%T (bf_rowid) SELECT bf_rid FROM (SELECT d.%S AS "
                     "bf_rid, s.bf_n AS bf_n, row_number() OVER (PARTITION BY s.bf_g ORDER BY "
                     "d.%S DESC) AS bf_k FROM (%S) s JOIN %T d ON %S) WHERE bf_k <= bf_n",
                     ARGS(UNDO_ROWIDS, rowid, rowid, groups, j->dest, same));
        if (rc == BF_OK)
            rc = build(j, &scope, "%S IN (SELECT bf_rowid FROM temp.%T)", ARGS(rowid, UNDO_ROWIDS));
    }
    /* The rows picked must be the appended ones, value for value and type for type. */
    if (rc == BF_OK)
        rc = bf__sql_fingerprint_where(j->s, &want, j->snap, j->cols, j->ncols, NULL, NULL,
                                       j->mine);
    if (rc == BF_OK)
        rc = bf__sql_fingerprint_where(j->s, &got, j->dest, j->cols, j->ncols, NULL, NULL, scope);
    if (rc == BF_OK && !bf_fingerprint_equal(&want, &got))
        rc = bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): rows of %s compare "
                       "equal to the %lld it appended but hold other values (types or "
                       "collation); nothing was restored", label_of(j->batch), j->spec->table,
                       (long long)j->run, j->dest, (long long)appended);
    if (rc == BF_OK)
        rc = run(j, &deleted, "DELETE FROM %T WHERE %S", ARGS(j->dest, scope));
    if (rc == BF_OK && deleted != appended)
        rc = bf__error(BF_E_CONFLICT, "restore of batch %s of %s (run %lld): %lld rows matched "
                       "the %lld it appended; nothing was restored", label_of(j->batch),
                       j->spec->table, (long long)j->run, (long long)deleted, (long long)appended);
    if (rowid) {
        int put = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(UNDO_ROWIDS));

        if (rc == BF_OK)
            rc = put;
    }
    bf__free(same);
    bf__free(same_dest);
    bf__free(groups);
    bf__free(scope);
    return rc;
}

/* ---- publish ---- */

/* An existing shadow (a named version table, say) must have the target's columns. */
static int check_shadow(struct job *j)
{
    bf_table_info *info;
    int rc = bf__sql_describe(j->s, &info, j->dest), same;

    if (rc != BF_OK)
        return rc;
    same = info->count == j->info->count;
    for (size_t i = 0; same && i < info->count; i++)
        same = strcmp(info->columns[i].name, j->info->columns[i].name) == 0 &&
               info->columns[i].generated == j->info->columns[i].generated;
    bf_table_info_free(info);
    if (!same)
        return bf__error(BF_E_CONFLICT, "%s exists and its columns are not those of %s", j->dest,
                         j->spec->table);
    return BF_OK;
}

/* The shadow table of staging_swap/parallel_version starts as a full copy of the target. */
/*
 * The statement that makes index `index` of the target on the shadow, into
 * *out (NULL: an index this cannot copy: one on an expression).
 */
static int index_sql(struct job *j, char **out, const char *index, int unique, size_t n)
{
    static const char *const names[] = {"cid", "name", "desc", "coll"};
    bf_value v = {BF_VALUE_TEXT, 0, 0.0, index, strlen(index)};
    bf_rows *cols = NULL;
    bf__binds b;
    bf__sb sb;
    char name[64];
    int rc;

    *out = NULL;
    bf__binds_init(&b);
    bf__binds_value(&b, "i", &v);
    if ((rc = bf__rows_new(&cols, names, 4)) == BF_OK)
        rc = bf__sql_query_rows(j->s, cols, "SELECT cid, name, desc, coll FROM "
                                "pragma_index_xinfo(:i) WHERE key = 1 ORDER BY seqno", &b);
    bf__sb_init(&sb);
    bf__sb_append(&sb, unique ? "CREATE UNIQUE INDEX " : "CREATE INDEX ");
    /* Names longer than the buffer are cut: the index is still the shadow's own. */
    bf__snprintf(name, sizeof name, "%s__bf_i%zu", j->dest, n);
    if (rc == BF_OK && (rc = bf__sql_ident(j->s, &sb, name)) == BF_OK) {
        bf__sb_append(&sb, " ON ");
        rc = bf__sql_ident(j->s, &sb, j->dest);
        bf__sb_append(&sb, " (");
    }
    for (size_t r = 0; rc == BF_OK && cols && r < bf_rows_count(cols); r++) {
        bf_value c[4];

        for (size_t k = 0; k < 4; k++)
            bf_rows_value(&c[k], cols, r, k);
        if (c[0].i < 0 || c[1].type != BF_VALUE_TEXT) {
            bf_rows_free(cols); /* an expression */
            cols = NULL;
            break;
        }
        bf__sb_append(&sb, r ? ", " : "");
        rc = bf__sql_ident(j->s, &sb, c[1].s);
        if (rc == BF_OK && c[3].type == BF_VALUE_TEXT && strcmp(c[3].s, "BINARY") != 0) {
            bf__sb_append(&sb, " COLLATE ");
            rc = bf__sql_ident(j->s, &sb, c[3].s);
        }
        if (c[2].i)
            bf__sb_append(&sb, " DESC");
    }
    bf__sb_appendc(&sb, ')');
    if (rc != BF_OK || !cols || !bf_rows_count(cols)) {
        bf_rows_free(cols);
        bf__sb_dispose(&sb);
        return rc;
    }
    bf_rows_free(cols);
    return bf__sql_text(&sb, out);
}

/*
 * On SQLite, the target's indexes (those of CREATE INDEX, and with
 * `with_unique` those of UNIQUE constraints, which a shadow made by the
 * target's own CREATE TABLE has already; whole and on columns) on the
 * shadow too: every batch finds its rows in the shadow by the plan's
 * column, as in the target, instead of reading it whole; the cutover swaps
 * in the target's own indexes (bf__sql_swap). Partial indexes and indexes
 * on expressions are not copied: batches do not need them.
 */
static int copy_indexes(struct job *j, int with_unique)
{
    static const char *const names[] = {"name", "unique"};
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, j->spec->table, strlen(j->spec->table)};
    bf_rows *list = NULL;
    bf__binds b;
    int rc;

    /* Read whole first: a CREATE INDEX waits for no statement still reading the schema. */
    bf__binds_init(&b);
    bf__binds_value(&b, "t", &t);
    if ((rc = bf__rows_new(&list, names, 2)) == BF_OK)
        rc = bf__sql_query_rows(j->s, list, with_unique
                                    ? "SELECT name, \"unique\" FROM pragma_index_list(:t) WHERE "
                                      "origin IN ('c', 'u') AND partial = 0 ORDER BY seq"
                                    : "SELECT name, \"unique\" FROM pragma_index_list(:t) WHERE "
                                      "origin = 'c' AND partial = 0 ORDER BY seq", &b);
    for (size_t i = 0; rc == BF_OK && i < bf_rows_count(list); i++) {
        bf_value name, unique;
        char *sql = NULL;

        bf_rows_value(&name, list, i, 0);
        bf_rows_value(&unique, list, i, 1);
        if ((rc = index_sql(j, &sql, name.s, (int)unique.i, i)) == BF_OK && sql)
            rc = bf__sql_run(j->s, sql, NULL, NULL);
        bf__free(sql);
    }
    bf_rows_free(list);
    return rc;
}

/*
 * On SQLite, the statement that made `table`, naming `name` instead (*out;
 * NULL when its text is not a plain CREATE TABLE): `name` then has every
 * column definition `table` has (declared types, NOT NULL, CHECK, DEFAULT,
 * COLLATE, UNIQUE, generated columns, foreign keys, WITHOUT ROWID, STRICT),
 * so a shadow swapped in at cutover keeps the target's constraints and a
 * scratch copy compares and refuses as the target does.
 */
static int create_like_sql(bf__sql *s, char **out, const char *table, const char *name)
{
    static const char head[] = "CREATE TABLE ";
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf__binds b;
    bf__stmt st;
    bf_value v;
    char *text = NULL;
    const char *p;
    int rc;

    *out = NULL;
    if (!s->vt.dialect || strcmp(s->vt.dialect, "sqlite") != 0)
        return BF_OK;
    bf__binds_init(&b);
    bf__binds_value(&b, "t", &t);
    if ((rc = bf__stmt_prepare(&st, s, "SELECT sql FROM main.sqlite_master WHERE type = "
                               "'table' AND name = :t COLLATE NOCASE", &b)) != BF_OK)
        return rc;
    if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK &&
        v.type == BF_VALUE_TEXT && !(text = bf__strndup(v.s, v.len)))
        rc = bf__nomem();
    bf__stmt_finalize(&st);
    if (rc < 0 || !text || strncmp(text, head, sizeof head - 1) != 0) {
        bf__free(text);
        return rc < 0 ? rc : BF_OK;
    }
    /* SQLite keeps the name as written: quoted with "", ``, '' or [], or bare. */
    p = text + sizeof head - 1;
    if (*p == '"' || *p == '`' || *p == '\'') {
        char q = *p++;

        while (*p && !(*p == q && p[1] != q))
            p += *p == q ? 2 : 1;
        p += *p == q;
    } else if (*p == '[') {
        p += strcspn(p, "]");
        p += *p == ']';
    } else {
        while (*p && (*p == '_' || *p == '$' || (unsigned char)*p >= 0x80 ||
                      (*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'z') ||
                      (*p >= 'A' && *p <= 'Z')))
            p++;
    }
    {
        bf__sb sb;

        bf__sb_init(&sb);
        bf__sb_append(&sb, head);
        if ((rc = bf__sql_ident(s, &sb, name)) == BF_OK) {
            bf__sb_append(&sb, p);
            rc = bf__sql_text(&sb, out);
        } else {
            bf__sb_dispose(&sb);
        }
    }
    bf__free(text);
    return rc;
}

int bf__sql_create_like(bf__sql *s, const char *table, const char *name)
{
    char *sql = NULL;
    int rc = create_like_sql(s, &sql, table, name);

    if (rc == BF_OK && !sql)
        return BF_E_UNSUPPORTED;
    if (rc == BF_OK)
        rc = bf__sql_run(s, sql, NULL, NULL);
    bf__free(sql);
    return rc;
}

static int ensure_shadow(struct job *j)
{
    bf__sb sb;
    char *sql;
    int exists, rc;
    size_t pk = 0;

    if ((rc = bf__sql_exists(j->s, &exists, j->dest)) != BF_OK)
        return rc;
    if (exists)
        return check_shadow(j);
    if ((rc = create_like_sql(j->s, &sql, j->spec->table, j->dest)) != BF_OK)
        return rc;
    if (sql) {
        /* Its UNIQUE constraints come with it; the other indexes are copied. */
        rc = bf__sql_run(j->s, sql, NULL, NULL);
        bf__free(sql);
        if (rc == BF_OK)
            rc = run(j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T",
                     ARGS(j->dest, NULL, NULL, j->spec->table));
        return rc == BF_OK ? copy_indexes(j, 0) : rc;
    }
    bf__sb_init(&sb);
    bf__sb_append(&sb, "CREATE TABLE ");
    rc = bf__sql_ident(j->s, &sb, j->dest);
    bf__sb_append(&sb, " (");
    for (size_t i = 0; i < j->info->count && rc == BF_OK; i++) {
        const char *type = j->info->columns[i].type;

        /* A copy would hold the values but not the expression: the swapped-in table would differ. */
        if (j->info->columns[i].generated) {
            rc = bf__error(BF_E_UNSUPPORTED, "table %s: column %s is generated, and %s cannot copy "
                           "its definition into %s", j->spec->table, j->info->columns[i].name,
                           bf_write_strategy_name(j->spec->strategy), j->dest);
            break;
        }
        if (i)
            bf__sb_append(&sb, ", ");
        rc = bf__sql_ident(j->s, &sb, j->info->columns[i].name);
        /* A declared type is SQL text: copy only plain ones like DECIMAL(10, 2). */
        if (type[0] && strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_ (),") != strlen(type))
            rc = bf__error(BF_E_UNSUPPORTED, "table %s: column %s's declared type '%.60s' "
                           "cannot be copied", j->spec->table, j->info->columns[i].name, type);
        bf__sb_appendc(&sb, ' ');
        bf__sb_append(&sb, type);
        if (j->info->columns[i].pk > pk)
            pk = j->info->columns[i].pk;
    }
    if (pk && rc == BF_OK) {
        bf__sb_append(&sb, ", PRIMARY KEY (");
        for (size_t k = 1; k <= pk && rc == BF_OK; k++)
            for (size_t i = 0; i < j->info->count && rc == BF_OK; i++)
                if (j->info->columns[i].pk == k) {
                    if (k > 1)
                        bf__sb_append(&sb, ", ");
                    rc = bf__sql_ident(j->s, &sb, j->info->columns[i].name);
                }
        bf__sb_appendc(&sb, ')');
    }
    bf__sb_appendc(&sb, ')');
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    if ((rc = bf__sql_text(&sb, &sql)) != BF_OK)
        return rc;
    rc = bf__sql_run(j->s, sql, NULL, NULL);
    bf__free(sql);
    if (rc == BF_OK)
        rc = run(j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T",
                 ARGS(j->dest, NULL, NULL, j->spec->table));
    if (rc == BF_OK && j->s->vt.dialect && strcmp(j->s->vt.dialect, "sqlite") == 0)
        rc = copy_indexes(j, 1);
    return rc;
}

static char affinity_of(const char *type);

/*
 * On the built-in SQLite driver, the plan's column of a staged row (alias x) as the target
 * holds and compares it: converted by the column's affinity, under its collation. The staging
 * table has neither, and the publish deletes the batch's rows by the target's rules: 'Ef-4'
 * is in partition 'ef-4' of a NOCASE column, the text '42' in partition 42 of an INTEGER
 * one. *out is NULL elsewhere (a host's dialect compares the staged rows as they are).
 */
static int stage_column(struct job *j, char **out)
{
    const char *col = bf_plan_column(j->plan);
    char *expr = NULL;
    bf__sb sb;
    int rc;

    *out = NULL;
    if (!j->s->builtin_sqlite || !col || !j->info)
        return BF_OK;
    bf__sb_init(&sb);
    bf__sb_append(&sb, "x.");
    if ((rc = bf__sql_ident(j->s, &sb, col)) != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    if ((rc = bf__sql_text(&sb, &expr)) == BF_OK)
        rc = bf__sql_as_column(j->s, out, j->spec->table, j->info, col, expr);
    bf__free(expr);
    return rc;
}

int bf__sql_as_column(bf__sql *s, char **out, const char *table, const bf_table_info *info,
                      const char *column, const char *expr)
{
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf_value c = {BF_VALUE_TEXT, 0, 0.0, column, strlen(column)}, v;
    bf_table_info *own = NULL;
    const char *type = NULL;
    char aff, *name = NULL;
    bf__binds b;
    bf__stmt st;
    bf__sb sb;
    int rc = BF_OK;

    *out = NULL;
    if (!s->builtin_sqlite)
        return BF_OK;
    if (!info && (rc = bf__sql_describe(s, &own, table)) != BF_OK)
        return rc;
    info = info ? info : own;
    for (size_t i = 0; info && i < info->count; i++)
        if (bf__sql_same_ident(info->columns[i].name, column))
            type = info->columns[i].type;
    aff = affinity_of(type ? type : "");
    bf_table_info_free(own);
    bf__binds_init(&b);
    bf__binds_value(&b, "bf_t", &t);
    bf__binds_value(&b, "bf_c", &c);
    if ((rc = bf__stmt_prepare(&st, s, "SELECT bf_column_collation(:bf_t, :bf_c)", &b)) != BF_OK)
        return rc;
    if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK &&
        v.type == BF_VALUE_TEXT && !(name = bf__strndup(v.s, v.len)))
        rc = bf__nomem();
    bf__stmt_finalize(&st);
    if (rc == BF_SQL_ROW || rc == BF_SQL_DONE)
        rc = BF_OK;
    bf__sb_init(&sb);
    bf__sb_appendf(&sb, "bf_affinity(%s, '%c') COLLATE ", expr, aff == 'A' || !aff ? 'B' : aff);
    if (rc == BF_OK)
        rc = bf__sql_ident(s, &sb, name ? name : "BINARY");
    bf__free(name);
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* Whether the plan's column is one a publish writes (not generated): then it is staged. */
static int plan_column_staged(const struct job *j)
{
    const char *col = bf_plan_column(j->plan);

    for (size_t i = 0; col && i < j->info->count; i++)
        if (bf__sql_same_ident(j->info->columns[i].name, col))
            return !j->info->columns[i].generated;
    return 1;
}

/*
 * Refused: n rows the batch would publish outside its bounds. A bucket
 * batch's rows are those of the driver's bucket function, which a job
 * bucketing by hand (id % :buckets) does not select: the message says which.
 */
static int outside_bounds(struct job *j, int64_t n, const char *what)
{
    if (bf_batch_dimension(j->batch) == BF_DIM_BUCKET && j->s->vt.bucket_function)
        return bf__error(BF_E_VALIDATION, "batch %s of %s: %lld %s outside the batch's bounds; "
                         "a bucket batch holds the rows with %s(%s, :buckets) = :bucket, and "
                         "the job must select its rows with that predicate",
                         bf_batch_label(j->batch), j->spec->table, (long long)n, what,
                         j->s->vt.bucket_function, bf_plan_column(j->plan));
    return bf__error(BF_E_VALIDATION, "batch %s of %s: %lld %s outside the batch's bounds",
                     bf_batch_label(j->batch), j->spec->table, (long long)n, what);
}

/*
 * Merge only: the destination's rows that a staged key matches but that lie
 * outside the batch's bounds. The merge would change them (or, with the
 * plan's column among those it updates, move them into the bounds), so the
 * batch would write rows another batch holds.
 */
static int merge_outside(struct job *j)
{
    char *staged = NULL;
    int64_t n = 0;
    int rc;

    if (!j->batch || j->spec->strategy != BF_WRITE_MERGE)
        return BF_OK;
    if ((rc = key_in(j, &staged, j->stage)) == BF_OK)
        rc = query_int(j, &n, "SELECT count(*) FROM %T WHERE %S AND NOT coalesce(%P, 0)",
                       ARGS(j->dest, staged, j->qdest));
    bf__free(staged);
    if (rc == BF_OK && n)
        rc = outside_bounds(j, n, "rows with a staged key lie");
    return rc;
}

/*
 * Refuse staged rows that would make the publish non-idempotent, or write
 * outside the batch's bounds: whatever the pattern, a batch publishes only
 * rows within its bounds, so batches never overlap, and each one's
 * rollback, coverage and rerun concern its own rows alone. (A plan's
 * column the warehouse generates is not staged: a merge is checked on the
 * destination after its write, merge_outside; an append is not checked.)
 */
static int check_staged(struct job *j)
{
    int merge = j->spec->strategy == BF_WRITE_MERGE;
    int64_t n = 0;
    int rc = BF_OK;

    /* A merge's NULL and repeated keys first: the more precise reason when the key is cut on. */
    for (size_t k = 0; merge && k < j->spec->key_count && rc == BF_OK; k++) {
        const char *key = j->spec->key[k];

        rc = query_int(j, &n, "SELECT count(*) FROM %T WHERE %T IS NULL", ARGS(j->stage, key));
        if (rc == BF_OK && n)
            rc = bf__error(BF_E_VALIDATION, "batch %s of %s: %lld staged rows have a NULL %s",
                           bf_batch_label(j->batch), j->spec->table, (long long)n, key);
    }
    if (merge && rc == BF_OK)
        rc = query_int(j, &n, "SELECT count(*) FROM (SELECT 1 FROM %T GROUP BY %K "
                       "HAVING count(*) > 1)", ARGS(j->stage, NULL));
    if (merge && rc == BF_OK && n)
        rc = bf__error(BF_E_VALIDATION, "batch %s of %s: %lld keys are staged more than once",
                       bf_batch_label(j->batch), j->spec->table, (long long)n);
    if (rc == BF_OK && j->batch && (overwrites(j->spec) || plan_column_staged(j))) {
        char *expr = NULL, *pred = NULL;
        bf__sb sb;

        rc = stage_column(j, &expr);
        bf__sb_init(&sb);
        if (rc == BF_OK)
            rc = bf__sql_predicate_on(j->s, &sb, j->plan, j->batch, "x", expr);
        if (rc == BF_OK)
            rc = bf__sql_text(&sb, &pred);
        else
            bf__sb_dispose(&sb);
        if (rc == BF_OK)
            rc = query_int(j, &n, "SELECT count(*) FROM %T x WHERE NOT coalesce(%S, 0)",
                           ARGS(j->stage, pred));
        bf__free(expr);
        bf__free(pred);
        if (rc == BF_OK && n)
            rc = outside_bounds(j, n, "staged rows lie");
    }
    if (rc == BF_OK && merge)
        rc = merge_outside(j);
    return rc;
}

/* ---- delta publishes: write only what differs ---- */

/*
 * Whether the dialect can tell equal values the way the fingerprint does,
 * type and bytes (SQLite: typeof() and the BINARY collation). Elsewhere a
 * publish keeps deleting and reinserting, which needs no comparison.
 */
static int exact_dialect(const bf__sql *s)
{
    return !s->delta_off && s->vt.dialect && strcmp(s->vt.dialect, "sqlite") == 0;
}

static int contains(const char *type, const char *word)
{
    for (const char *p = type; *p; p++) {
        size_t i = 0;

        while (word[i] && p[i] && (p[i] == word[i] || p[i] == word[i] - 'A' + 'a'))
            i++;
        if (!word[i])
            return 1;
    }
    return 0;
}

/*
 * The affinity of a column declared `type`, after SQLite's rules: 'I'
 * INTEGER or NUMERIC, 'R' REAL, 'T' TEXT, 0 BLOB (no type, or BLOB:
 * nothing converts its values), and 'A' ANY, whose affinity depends on
 * whether the table is STRICT.
 */
static char affinity_of(const char *type)
{
    if (contains(type, "ANY"))
        return 'A';
    if (contains(type, "INT"))
        return 'I';
    if (contains(type, "CHAR") || contains(type, "CLOB") || contains(type, "TEXT"))
        return 'T';
    if (!type[0] || contains(type, "BLOB"))
        return 0;
    if (contains(type, "REAL") || contains(type, "FLOA") || contains(type, "DOUB"))
        return 'R';
    return 'I';
}

/*
 * Whether equal values of column i can still differ in type: only where
 * nothing converts them, SQLite's BLOB affinity, and ANY (no affinity in a
 * STRICT table). Every other affinity turns an integral real into an
 * integer (INTEGER, NUMERIC) or every number into a real (REAL) or text
 * (TEXT), in the table and in DELTA alike, so there `IS` alone is exact.
 */
static int needs_typeof(const struct job *j, size_t i)
{
    return j->kinds && (j->kinds[i] == 0 || j->kinds[i] == 'A');
}

/*
 * The destination's description (its own for a shadow table: a named
 * version table may declare other types); *owned is what to free.
 */
static int dest_info(struct job *j, bf_table_info **out, bf_table_info **owned)
{
    int rc;

    *owned = NULL;
    *out = j->info;
    if (!is_shadowed(j->spec))
        return BF_OK;
    if ((rc = bf__sql_describe(j->s, owned, j->dest)) == BF_OK)
        *out = *owned;
    return rc;
}

/* Whether the key is exactly the destination's primary key: then a key matches one row at most. */
static int key_is_primary(struct job *j, const bf_table_info *info)
{
    size_t pk = 0;
    int ok;

    for (size_t i = 0; i < info->count; i++)
        pk += info->columns[i].pk != 0;
    ok = pk == j->spec->key_count;
    for (size_t k = 0; k < j->spec->key_count && ok; k++) {
        int found = 0;

        for (size_t i = 0; i < info->count; i++)
            found |= info->columns[i].pk && bf__sql_same_ident(info->columns[i].name,
                                                                j->spec->key[k]);
        for (size_t e = 0; e < k; e++)
            found &= !bf__sql_same_ident(j->spec->key[e], j->spec->key[k]);
        ok = found;
    }
    return ok;
}

/*
 * "k1 COLLATE "c1", k2 COLLATE "c2"": the key columns with the collations
 * of the destination's primary key index (BINARY without one: a rowid).
 */
static int key_collated(struct job *j, char **out, int *binary, int *indexed)
{
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, j->dest, strlen(j->dest)};
    bf__binds b;
    bf__stmt st;
    bf__sb sb;
    char *coll[64] = {0};
    int rc;

    if (j->spec->key_count > BF_ARRAY_LEN(coll))
        return bf__error(BF_E_UNSUPPORTED, "table %s: a key of %zu columns", j->spec->table,
                         j->spec->key_count);
    bf__binds_init(&b);
    bf__binds_value(&b, "bf_t", &t);
    rc = bf__stmt_prepare(&st, j->s, "SELECT ii.name, ii.coll FROM pragma_index_list(:bf_t) il, "
                          "pragma_index_xinfo(il.name) ii WHERE il.origin = 'pk' AND ii.key", &b);
    if (rc != BF_OK)
        return rc;
    while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
        bf_value name, c;
        char *n = NULL;

        if ((rc = bf__stmt_column(&st, 0, &name)) != BF_OK || name.type != BF_VALUE_TEXT ||
            (rc = bf__stmt_column(&st, 1, &c)) != BF_OK || c.type != BF_VALUE_TEXT)
            break;
        if (!(n = bf__strndup(name.s, name.len))) {
            rc = bf__nomem();
            break;
        }
        for (size_t k = 0; k < j->spec->key_count && rc == BF_OK; k++)
            if (!coll[k] && bf__sql_same_ident(j->spec->key[k], n) &&
                !(coll[k] = bf__strndup(c.s, c.len)))
                rc = bf__nomem();
        bf__free(n);
        if (rc != BF_OK)
            break;
        if (indexed)
            *indexed = 1;
    }
    bf__stmt_finalize(&st);
    if (rc == BF_SQL_DONE || rc == BF_SQL_ROW)
        rc = BF_OK;
    bf__sb_init(&sb);
    for (size_t k = 0; k < j->spec->key_count && rc == BF_OK; k++) {
        if (binary)
            binary[k] = !coll[k] || bf__sql_same_ident(coll[k], "BINARY");
        bf__sb_append(&sb, k ? ", " : "");
        rc = bf__sql_ident(j->s, &sb, j->spec->key[k]);
        bf__sb_append(&sb, " COLLATE ");
        if (rc == BF_OK)
            rc = bf__sql_ident(j->s, &sb, coll[k] ? coll[k] : "BINARY");
    }
    for (size_t k = 0; k < BF_ARRAY_LEN(coll); k++)
        bf__free(coll[k]);
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/*
 * Two rows hold the same values in the columns chosen (all when chosen is
 * NULL) exactly as the fingerprint sees them: same type, same value, text
 * compared byte for byte whatever the column's collation. So 1 and 1.0
 * differ, as do 'a' and 'A' under NOCASE; -0.0 and 0.0 do not, and neither
 * do two NULLs. typeof() only where the column's affinity lets 1 and 1.0
 * both stay (needs_typeof).
 */
static int same_values(struct job *j, char **out, const char *a, const char *b, const int *chosen)
{
    bf__sb sb;
    int rc = BF_OK, any = 0;

    bf__sb_init(&sb);
    for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
        const char *parts[] = {"(", " IS ", " COLLATE BINARY AND typeof(", ") = typeof(", "))"};
        const char *side[] = {a, b, a, b};
        size_t n = needs_typeof(j, i) ? 4 : 2;

        if (chosen && !chosen[i])
            continue;
        if (any++)
            bf__sb_append(&sb, " AND ");
        for (size_t p = 0; p < n && rc == BF_OK; p++) {
            bf__sb_append(&sb, parts[p]);
            bf__sb_append(&sb, side[p]);
            bf__sb_appendc(&sb, '.');
            rc = bf__sql_ident(j->s, &sb, j->cols[i]);
        }
        bf__sb_append(&sb, n == 4 ? parts[4] : " COLLATE BINARY)");
    }
    if (!any)
        bf__sb_append(&sb, "1 = 1");
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* "x.rowid = <qdest>.<key>": a DELTA row keyed by its rowid matches the destination's. */
static int rowid_match(struct job *j, char **out)
{
    bf__sb sb;
    int rc;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "x.rowid = ");
    bf__sb_append(&sb, j->qdest);
    bf__sb_appendc(&sb, '.');
    if ((rc = bf__sql_ident(j->s, &sb, j->spec->key[0])) != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* "k1 IS NULL OR k2 IS NULL ..." over the key, qualified by `alias`. */
static int key_null(struct job *j, char **out, const char *alias)
{
    bf__sb sb;
    int rc = BF_OK;

    bf__sb_init(&sb);
    for (size_t k = 0; k < j->spec->key_count && rc == BF_OK; k++) {
        bf__sb_append(&sb, k ? " OR " : "");
        bf__sb_append(&sb, alias);
        bf__sb_appendc(&sb, '.');
        rc = bf__sql_ident(j->s, &sb, j->spec->key[k]);
        bf__sb_append(&sb, " IS NULL");
    }
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* Set the connection's cache for temporary tables (SQLite's cache_size: < 0 is KiB). */
static int temp_cache(struct job *j, int64_t size)
{
    char sql[64];

    bf__snprintf(sql, sizeof sql, "PRAGMA temp.cache_size = %lld", (long long)size);
    return bf__sql_run(j->s, sql, NULL, NULL);
}

/*
 * The temporary tables hold a batch's rows: let their pages stay in memory
 * (up to 256 MiB) instead of spilling to a temporary file after SQLite's
 * default 2 MiB, for the publish only.
 */
#define DELTA_CACHE_KIB 262144

static int delta_end(struct job *j)
{
    int rc;

    if (!j->delta)
        return BF_OK;
    j->delta = 0;
    if ((rc = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(DELTA))) == BF_OK)
        rc = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(DELTA_ROWS));
    return rc;
}

/*
 * Classify the staged rows against the bounds in one pass over DELTA, each
 * key looked up in the destination's primary key: DELTA_ROWS gets the rows
 * changed or added. Rows of the bounds no staged key matches (removed)
 * are only counted here: every staged key matches at most one row and the
 * reverse (both unique under the key's collations), so they are the rows
 * of the bounds less those matched.
 */
static int delta_classify(struct job *j)
{
    char *same = NULL, *unmatched = NULL, *flag_value = NULL, *flag_column = NULL;
    char *flag_default = NULL, *one = NULL;
    int64_t rows = 0;
    bf__sb col, def, val;
    int rc, *chosen = bf__calloc(j->ncols ? j->ncols : 1, sizeof *chosen);

    if (!chosen)
        return bf__nomem();
    /*
     * A matched row's key columns that need no SET (keep_key) are equal
     * already: the join matched them with `=` under BINARY, their types
     * settled. Only the other columns are compared.
     */
    for (size_t i = 0; i < j->ncols; i++)
        chosen[i] = !(j->keep_key && j->keep_key[i]);
    rc = same_values(j, &same, j->qdest, "x", chosen);
    memset(chosen, 0, (j->ncols ? j->ncols : 1) * sizeof *chosen);
    if (rc != BF_OK || (rc = key_null(j, &unmatched, j->qdest)) != BF_OK)
        goto done;
    /*
     * Each row keeps whether it is added (no row of the bounds has its
     * key) in one more column, and for each column the UPDATE may set
     * whether the row changes it (CHANGED<i>, see delta_changed_columns),
     * unless the table has a column so named: then added rows are found
     * again by their key, and changed columns by comparing again.
     */
    j->flagged = 1;
    for (size_t i = 0; i < j->ncols; i++) {
        char name[32];

        j->flagged &= !bf__sql_same_ident(j->cols[i], ADDED);
        for (size_t c = 0; c < j->ncols && j->flagged; c++) {
            bf__snprintf(name, sizeof name, CHANGED "%zu", c);
            j->flagged &= !bf__sql_same_ident(j->cols[i], name);
        }
    }
    bf__sb_init(&col);
    bf__sb_init(&def);
    bf__sb_init(&val);
    if (j->flagged) {
        bf__sb_appendf(&col, ", %s", ADDED);
        bf__sb_appendf(&def, ", 0 AS %s", ADDED);
        bf__sb_appendf(&val, ", %s", unmatched);
        for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
            if (j->keep_key && j->keep_key[i])
                continue;
            chosen[i] = 1;
            rc = same_values(j, &one, j->qdest, "x", chosen);
            chosen[i] = 0;
            bf__sb_appendf(&col, ", " CHANGED "%zu", i);
            bf__sb_appendf(&def, ", 0 AS " CHANGED "%zu", i);
            if (rc == BF_OK)
                bf__sb_appendf(&val, ", NOT (%s)", one);
            bf__free(one);
            one = NULL;
        }
    }
    if (rc == BF_OK && (rc = bf__sql_text(&col, &flag_column)) == BF_OK &&
        (rc = bf__sql_text(&def, &flag_default)) == BF_OK)
        rc = bf__sql_text(&val, &flag_value);
    bf__sb_dispose(&col);
    bf__sb_dispose(&def);
    bf__sb_dispose(&val);
    if (rc != BF_OK)
        goto done;
    /*
     * From DELTA, or from the staged rows themselves when they need no
     * conversion (j->raw); DELTA_ROWS is made from a table with dest's
     * affinities either way.
     */
    if ((rc = run(j, NULL, "CREATE TEMP TABLE %T AS SELECT %C%S FROM %S%T WHERE 0",
                  ARGS(DELTA_ROWS, NULL, flag_default, j->raw ? "" : "temp.",
                       j->raw ? j->dest : DELTA))) != BF_OK ||
        (rc = run(j, &rows, "INSERT INTO temp.%T (%C%S) SELECT %C%S FROM %S%T x LEFT JOIN %T ON "
                  "%M AND %P WHERE %S OR NOT (%S)",
                  ARGS(DELTA_ROWS, NULL, flag_column, "x", flag_value, j->raw ? "" : "temp.",
                       j->raw ? j->stage : DELTA, j->dest, j->qdest, "x", j->qdest, unmatched,
                       same))) != BF_OK)
        goto done;
    if ((rc = query_int(j, &j->before, "SELECT count(*) FROM %T WHERE %P",
                        ARGS(j->dest, NULL))) != BF_OK)
        goto done;
    if (j->flagged)
        rc = query_int(j, &j->added, "SELECT count(*) FROM temp.%T WHERE %T",
                       ARGS(DELTA_ROWS, ADDED));
    else
        rc = query_int(j, &j->added, "SELECT count(*) FROM temp.%T x WHERE NOT EXISTS (SELECT "
                       "1 FROM %T WHERE %P AND %M)",
                       ARGS(DELTA_ROWS, j->dest, j->qdest, j->qdest, "x"));
    if (rc != BF_OK)
        goto done;
    j->removed = j->before - (j->staged - j->added);
    if (j->removed < 0)
        rc = bf__error(BF_E_INTERNAL, "batch %s of %s: %lld staged keys matched %lld rows of %s",
                       bf_batch_label(j->batch), j->spec->table,
                       (long long)(j->staged - j->added), (long long)j->before, j->dest);
done:
    bf__free(same);
    bf__free(unmatched);
    bf__free(flag_value);
    bf__free(flag_column);
    bf__free(flag_default);
    bf__free(chosen);
    return rc;
}

/*
 * Copy the staged rows within the bounds and with a whole key (`cond`: a
 * NULL key part) into DELTA keyed by its rowid, converted as the
 * destination stores them; a repeated key is ignored. *copied: the rows
 * copied.
 */
static int delta_copy(struct job *j, int64_t *copied, const char *cond)
{
    return run(j, copied, "INSERT OR IGNORE INTO temp.%T (rowid, %C) SELECT x.%T, %C FROM %T x "
               "WHERE coalesce(%P, 0) AND NOT (%S)",
               ARGS(DELTA, NULL, j->spec->key[0], "x", j->stage, NULL, cond));
}

/*
 * Whether an INTEGER PRIMARY KEY delta can compare the staged rows as the
 * job produced them, without converting them first: then (*fast)
 * delta_classify reads the staging table itself, and DELTA, a converted
 * copy of every staged row, is not made; only the changed and added rows
 * are copied (into DELTA_ROWS, which converts them). j->staged gets the
 * rows counted. One pass of bf_stage_keys (sqlite.c) over the staging
 * table decides; it needs:
 * - every row within the bounds, with an INTEGER key that no other row
 *   has: what DELTA's copy establishes by ignoring none;
 * - values that delta_classify's `IS` finds equal exactly when storing
 *   them would give what the destination holds. SQLite compares a column
 *   of the staging table (no affinity) with an INTEGER, NUMERIC or REAL
 *   column under NUMERIC affinity, which parses text as storing does, and
 *   compares an integer with a real exactly; a BLOB column converts
 *   nothing. So only two kinds of value are checked: in a REAL column an
 *   integer beyond 2^53 (stored as the nearest real, which the integer
 *   does not equal) or text, and in a TEXT column a number (stored as its
 *   text, which the number does not equal). Either would only be written
 *   again unchanged, but a delta writes only what differs: such rows are
 *   converted first, as are all rows when a column is declared ANY, or
 *   when the REAL and TEXT columns are more than the aggregate's
 *   arguments may be (BF_AGG_MAX_ARGS).
 */
static int stage_keys(struct job *j, int *fast)
{
    char *letters = NULL, *cols = NULL;
    int64_t n = -1;
    size_t args = 3;
    bf__sb lit, list;
    int rc = BF_OK;

    *fast = 0;
    /* One argument per REAL or TEXT column, within what an aggregate may take. */
    for (size_t i = 0; i < j->ncols; i++)
        args += j->kinds[i] == 'R' || j->kinds[i] == 'T';
    if (args > BF_AGG_MAX_ARGS)
        return BF_OK;
    bf__sb_init(&lit);
    bf__sb_init(&list);
    bf__sb_appendc(&lit, '\'');
    for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
        if (j->kinds[i] != 'R' && j->kinds[i] != 'T' && j->kinds[i] != 'A')
            continue;
        if (j->kinds[i] == 'A') {
            bf__sb_dispose(&lit);
            bf__sb_dispose(&list);
            return BF_OK;
        }
        bf__sb_appendc(&lit, j->kinds[i]);
        bf__sb_append(&list, ", x.");
        rc = bf__sql_ident(j->s, &list, j->cols[i]);
    }
    bf__sb_appendc(&lit, '\'');
    if (rc != BF_OK)
        bf__sb_dispose(&lit);
    if (rc != BF_OK || (rc = bf__sql_text(&lit, &letters)) != BF_OK) {
        bf__sb_dispose(&list);
        return rc;
    }
    if ((rc = bf__sql_text(&list, &cols)) == BF_OK)
        rc = query_int(j, &n, "SELECT bf_stage_keys(%S, x.%T, coalesce(%P, 0)%S) FROM %T x",
                       ARGS(letters, j->spec->key[0], NULL, cols, j->stage));
    bf__free(letters);
    bf__free(cols);
    if (rc == BF_OK && n >= 0) {
        j->staged = n;
        j->s->raw_deltas++;
        *fast = 1;
    }
    return rc;
}

/*
 * Inside the publish's transaction: decide whether it applies only the
 * delta, and if so convert the staged rows into DELTA. An overwriting
 * pattern needs the key to be the destination's primary key, and staged
 * keys without a NULL part (a NULL matches nothing, and an INTEGER PRIMARY
 * KEY would number it anew) and unique under the key's collations (else
 * reinserting fails on the primary key, as it should); otherwise it
 * deletes and reinserts as before. Merge only compares: DELTA with a plain
 * index.
 */
static int delta_begin(struct job *j)
{
    int merge = j->spec->strategy == BF_WRITE_MERGE, rc;
    bf_table_info *info, *owned = NULL;
    char *cond = NULL, *collated = NULL;
    int64_t staged = 0;
    int *binary = NULL, indexed = 0, rowid = 0, fast = 0;

    j->delta = 0;
    j->raw = 0;
    if (!exact_dialect(j->s) || !j->spec->key_count || (!merge && !overwrites(j->spec)))
        return BF_OK;
    if ((rc = dest_info(j, &info, &owned)) != BF_OK)
        return rc;
    if (!merge && !key_is_primary(j, info)) {
        bf_table_info_free(owned);
        return BF_OK;
    }
    if (!(j->kinds = bf__malloc(j->ncols ? j->ncols : 1))) {
        bf_table_info_free(owned);
        return bf__nomem();
    }
    /* A column dest does not describe is compared without typeof() and left unchecked ('I'). */
    memset(j->kinds, 'I', j->ncols);
    for (size_t i = 0; i < j->ncols; i++)
        for (size_t c = 0; c < info->count; c++)
            if (bf__sql_same_ident(info->columns[c].name, j->cols[i]))
                j->kinds[i] = affinity_of(info->columns[c].type);
    bf_table_info_free(owned);
    /* A table made from dest's columns has their affinities: it converts values as dest does. */
    if ((rc = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(DELTA))) != BF_OK ||
        (rc = run(j, NULL, "DROP TABLE IF EXISTS temp.%T", ARGS(DELTA_ROWS))) != BF_OK ||
        (rc = run(j, NULL, "CREATE TEMP TABLE %T AS SELECT %C FROM %T WHERE 0",
                  ARGS(DELTA, NULL, j->dest))) != BF_OK)
        return rc;
    j->delta = 1;
    if ((rc = query_int(j, &j->temp_cache, "PRAGMA temp.cache_size", NULL)) != BF_OK)
        return rc;
    /*
     * SQLite reports 0 for a temporary database made inside a transaction
     * (the staging table's), which is not the cache it uses: putting 0 back
     * would shrink that cache to a few pages, and every later staging would
     * spill to a temporary file. The connection's own setting goes back then.
     */
    if (j->temp_cache == 0 &&
        (rc = query_int(j, &j->temp_cache, "PRAGMA main.cache_size", NULL)) != BF_OK)
        return rc;
    if (j->temp_cache > -DELTA_CACHE_KIB && j->temp_cache < DELTA_CACHE_KIB / 4) {
        if ((rc = temp_cache(j, -DELTA_CACHE_KIB)) != BF_OK)
            return rc;
        j->cache_set = 1;
    }
    if (merge) {
        if ((rc = run(j, &j->staged, "INSERT INTO temp.%T (%C) SELECT %C FROM %T",
                      ARGS(DELTA, NULL, NULL, j->stage))) == BF_OK)
            rc = run(j, NULL, "CREATE INDEX temp.%T ON %T (%K)", ARGS(DELTA_INDEX, DELTA, NULL));
        return rc;
    }
    /* Key columns compared under BINARY with their types settled need no SET: they are equal. */
    if (!(binary = bf__calloc(j->spec->key_count, sizeof *binary)) ||
        !(j->keep_key = bf__calloc(j->ncols ? j->ncols : 1, sizeof *j->keep_key)))
        rc = bf__nomem();
    if (rc == BF_OK && (rc = key_collated(j, &collated, binary, &indexed)) == BF_OK)
        for (size_t i = 0; i < j->ncols; i++)
            for (size_t k = 0; k < j->spec->key_count; k++)
                j->keep_key[i] |= binary[k] && !needs_typeof(j, i) &&
                                  bf__sql_same_ident(j->cols[i], j->spec->key[k]);
    bf__free(binary);
    /*
     * A primary key without an index is SQLite's INTEGER PRIMARY KEY, the
     * rowid: DELTA's own rowid can be the key then, which keeps it unique
     * and searchable with no index to build (unless a column is named like
     * the rowid). Else a unique index under the key's collations.
     */
    rowid = !indexed && j->spec->key_count == 1;
    for (size_t i = 0; i < j->ncols && rowid; i++)
        rowid = !bf__sql_same_ident(j->cols[i], "rowid") &&
                !bf__sql_same_ident(j->cols[i], "oid") &&
                !bf__sql_same_ident(j->cols[i], "_rowid_");
    if (rc == BF_OK)
        rc = rowid ? rowid_match(j, &j->xmatch) : build(j, &j->xmatch, "%M", ARGS(j->qdest, "x"));
    /*
     * Only staged rows within the bounds (as the job produced them: the
     * test of check_staged) with a whole key are converted: when that is
     * every staged row, the keys are also unique (none was ignored), and
     * the staged rows need no check_staged pass of their own (j->checked).
     */
    if (rc == BF_OK)
        rc = key_null(j, &cond, "x");
    /* Staged rows that need no conversion are compared as they are (stage_keys). */
    if (rc == BF_OK && rowid && j->s->builtin_sqlite)
        rc = stage_keys(j, &fast);
    if (rc == BF_OK && fast)
        staged = j->staged;
    else if (rc == BF_OK && rowid)
        rc = delta_copy(j, &j->staged, cond);
    else if (rc == BF_OK &&
             (rc = run(j, NULL, "CREATE UNIQUE INDEX temp.%T ON %T (%S)",
                       ARGS(DELTA_INDEX, DELTA, collated))) == BF_OK)
        rc = run(j, &j->staged, "INSERT OR IGNORE INTO temp.%T (%C) SELECT %C FROM %T x WHERE "
                 "coalesce(%P, 0) AND NOT (%S)", ARGS(DELTA, NULL, "x", j->stage, NULL, cond));
    if (rc == BF_OK && !fast)
        rc = query_int(j, &staged, "SELECT count(*) FROM %T", ARGS(j->stage));
    bf__free(collated);
    if (rc == BF_OK && staged != j->staged) {
        bf__free(cond);
        return delta_end(j);
    }
    j->checked = rc == BF_OK;
    j->raw = fast;
    if (rc == BF_OK)
        rc = delta_classify(j);
    /* Removed rows are looked for by key in DELTA: only they need it filled. */
    if (rc == BF_OK && j->raw && j->removed) {
        int64_t copied = 0;

        rc = delta_copy(j, &copied, cond);
        if (rc == BF_OK && copied != j->staged)
            rc = bf__error(BF_E_INTERNAL, "batch %s of %s: %lld of %lld staged rows converted",
                           bf_batch_label(j->batch), j->spec->table, (long long)copied,
                           (long long)j->staged);
        j->raw = rc != BF_OK;
    }
    bf__free(cond);
    return rc;
}

/*
 * The pre-image of a delta publish, as a merge keeps it: the rows it
 * removes or changes, and in the keys table the keys of those and of the
 * rows it adds, each only the first time a publish of the batch touches
 * it. A snapshot the batch's first publish took of the whole bounds (a
 * publish without the delta) stays as it is.
 */
static int delta_snapshot(struct job *j)
{
    char *kept = NULL, *xkept = NULL;
    int fresh, rc;

    if ((rc = snap_state(j)) != BF_OK)
        return rc;
    if (j->has_snap && !j->keyed)
        return BF_OK;
    /*
     * On the batch's first publish its keys are distinct (removed rows',
     * then changed and added rows'): no row need look for its key among
     * those kept first.
     */
    fresh = !j->has_snap;
    if (fresh && (rc = snap_begin(j, 1)) != BF_OK)
        return rc;
    if (!fresh && ((rc = build(j, &kept, " AND NOT EXISTS (SELECT 1 FROM %T k WHERE k.%S AND %M)",
                               ARGS(j->keys, j->mine, j->qdest, "k"))) != BF_OK ||
                   (rc = build(j, &xkept, " AND NOT EXISTS (SELECT 1 FROM %T k WHERE k.%S AND "
                               "%M)", ARGS(j->keys, j->mine, "x", "k"))) != BF_OK)) {
        bf__free(kept);
        return rc;
    }
    /* Changed rows, as they are now. */
    rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM temp.%T x JOIN %T "
             "ON %M WHERE %P%S", ARGS(j->snap, NULL, j->ordsql, j->qdest, DELTA_ROWS, j->dest,
                                      j->qdest, "x", j->qdest, kept ? kept : ""));
    /* Removed rows: in the bounds, no staged key. */
    if (rc == BF_OK && j->removed)
        rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T WHERE %P "
                 "AND NOT EXISTS (SELECT 1 FROM temp.%T x WHERE %S)%S",
                 ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, j->qdest, DELTA, j->xmatch,
                      kept ? kept : ""));
    if (rc == BF_OK && j->removed)
        rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %K) SELECT %S, %K FROM %T WHERE %P "
                 "AND NOT EXISTS (SELECT 1 FROM temp.%T x WHERE %S)%S",
                 ARGS(j->keys, NULL, j->ordsql, NULL, j->dest, j->qdest, DELTA, j->xmatch,
                      kept ? kept : ""));
    /* The keys of changed and added rows. */
    if (rc == BF_OK)
        rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %K) SELECT %S, %K FROM temp.%T x "
                 "WHERE 1 = 1%S", ARGS(j->keys, NULL, j->ordsql, "x", DELTA_ROWS,
                                       xkept ? xkept : ""));
    bf__free(kept);
    bf__free(xkept);
    return rc;
}

/*
 * Apply the delta of an overwriting pattern: delete the rows of the bounds
 * whose key is not staged (only when some are), update the changed rows,
 * insert the added ones. Rows staged unchanged are not written. Leaves
 * exactly the rows deleting the bounds and inserting the staged rows
 * leaves.
 */
/*
 * Which columns the changed rows of DELTA_ROWS (those whose key the bounds
 * hold) change: differs[i] is 1 when some changed row's value of column i
 * is not the same (same_values) as the destination's: read from the flags
 * delta_classify set as it compared them, or compared again where it set
 * none. A column no changed row changes keeps the destination's values,
 * which are the same ones, so the UPDATE need not set it (nor maintain the
 * indexes on it).
 */
static int delta_changed_columns(struct job *j, int *differs)
{
    int *one = bf__calloc(j->ncols ? j->ncols : 1, sizeof *one);
    char *same = NULL, *sql = NULL, *from = NULL;
    size_t n = 0;
    bf__stmt st;
    bf__sb sb;
    int rc = one ? BF_OK : bf__nomem();

    bf__sb_init(&sb);
    bf__sb_append(&sb, "SELECT ");
    for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
        if (j->keep_key && j->keep_key[i])
            continue;
        /* Flagged as classify found it, or compared again. */
        if (j->flagged) {
            bf__sb_appendf(&sb, "%smax(" CHANGED "%zu)", n++ ? ", " : "", i);
            continue;
        }
        one[i] = 1;
        rc = same_values(j, &same, j->qdest, "x", one);
        one[i] = 0;
        if (rc == BF_OK)
            bf__sb_appendf(&sb, "%smax(NOT (%s))", n++ ? ", " : "", same);
        bf__free(same);
        same = NULL;
    }
    if (rc == BF_OK && !n) {
        bf__sb_dispose(&sb);
        bf__free(one);
        return BF_OK;
    }
    if (rc == BF_OK && j->flagged)
        rc = build(j, &from, " FROM temp.%T WHERE NOT %T", ARGS(DELTA_ROWS, ADDED));
    else if (rc == BF_OK)
        rc = build(j, &from, " FROM temp.%T x JOIN %T ON %M AND %P",
                   ARGS(DELTA_ROWS, j->dest, j->qdest, "x", j->qdest));
    if (rc == BF_OK)
        bf__sb_append(&sb, from);
    if (rc == BF_OK)
        rc = bf__sql_text(&sb, &sql);
    else
        bf__sb_dispose(&sb);
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, j->s, sql, &j->binds)) == BF_OK) {
        if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            size_t c = 0;

            rc = BF_OK;
            for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
                bf_value v;

                if (j->keep_key && j->keep_key[i])
                    continue;
                /* NULL: no changed row at all. */
                if ((rc = bf__stmt_column(&st, (int)c++, &v)) == BF_OK)
                    differs[i] = v.type == BF_VALUE_NULL ? 0 : v.type != BF_VALUE_INT || v.i != 0;
            }
        } else if (rc == BF_SQL_DONE) {
            rc = BF_OK;
        }
        bf__stmt_finalize(&st);
    }
    bf__free(from);
    bf__free(sql);
    bf__free(one);
    return rc;
}

static int delta_write(struct job *j, bf_publish_result *out)
{
    char *set = NULL;
    int64_t inserted = 0;
    int *differs = bf__calloc(j->ncols ? j->ncols : 1, sizeof *differs);
    bf__sb sb;
    int rc = differs ? BF_OK : bf__nomem();

    if (rc == BF_OK)
        rc = delta_changed_columns(j, differs);
    if (rc != BF_OK) {
        bf__free(differs);
        return rc;
    }
    bf__sb_init(&sb);
    for (size_t i = 0, any = 0; i < j->ncols; i++) {
        if ((j->keep_key && j->keep_key[i]) || !differs[i])
            continue;
        bf__sb_append(&sb, any++ ? ", " : "");
        if (bf__sql_ident(j->s, &sb, j->cols[i]) != BF_OK)
            break;
        bf__sb_append(&sb, " = x.");
        bf__sql_ident(j->s, &sb, j->cols[i]);
    }
    rc = bf__sql_text(&sb, &set);
    if (rc == BF_OK && j->removed)
        rc = run(j, &out->deleted, "DELETE FROM %T WHERE %P AND NOT EXISTS (SELECT 1 FROM "
                 "temp.%T x WHERE %S)", ARGS(j->dest, j->qdest, DELTA, j->xmatch));
    /* (Nothing to set when no row is changed, only added: when every column is the key, say.) */
    if (rc == BF_OK && set[0])
        rc = run(j, &out->updated, "UPDATE %T SET %S FROM temp.%T AS x WHERE %M AND %P",
                 ARGS(j->dest, set, DELTA_ROWS, j->qdest, "x", j->qdest));
    if (rc == BF_OK && j->flagged && j->added)
        rc = run(j, &inserted, "INSERT INTO %T (%C) SELECT %C FROM temp.%T x WHERE x.%T",
                 ARGS(j->dest, NULL, "x", DELTA_ROWS, ADDED));
    else if (rc == BF_OK && !j->flagged)
        rc = run(j, &inserted, "INSERT INTO %T (%C) SELECT %C FROM temp.%T x WHERE NOT EXISTS "
                 "(SELECT 1 FROM %T WHERE %P AND %M)",
                 ARGS(j->dest, NULL, "x", DELTA_ROWS, j->dest, j->qdest, j->qdest, "x"));
    if (rc == BF_OK && (out->deleted != j->removed || inserted != j->added))
        rc = bf__error(BF_E_INTERNAL, "batch %s of %s: the delta removed %lld and added %lld rows "
                       "of %s, not %lld and %lld", bf_batch_label(j->batch), j->spec->table,
                       (long long)out->deleted, (long long)inserted, j->dest,
                       (long long)j->removed, (long long)j->added);
    out->written = out->updated + inserted;
    bf__free(set);
    bf__free(differs);
    return rc;
}

static int snapshot(struct job *j)
{
    int exists, rc;

    if (!j->spec->snapshot)
        return BF_OK;
    if (j->delta && overwrites(j->spec))
        return delta_snapshot(j);
    if ((rc = snap_state(j)) != BF_OK)
        return rc;
    exists = j->has_snap;
    /* append keeps the rows it adds (write_rows): SNAP has the target's types for them. */
    if (!exists && (rc = snap_begin(j, j->spec->strategy == BF_WRITE_MERGE)) != BF_OK)
        return rc;
    switch (j->spec->strategy) {
    case BF_WRITE_APPEND:
        return BF_OK;
    case BF_WRITE_MERGE:
        /* Rows whose keys this publish touches for the first time, and those keys. */
        if (j->spec->delete_missing) {
            char *staged = NULL, *kept = NULL;

            /*
             * The rows in the bounds, then those outside them with a staged
             * key; each unless an earlier publish kept its key. Two
             * statements, not "(staged OR in the bounds)": each is answered
             * through an index, where the OR read the destination whole.
             */
            if ((rc = key_in(j, &staged, j->stage)) == BF_OK &&
                (rc = keys_touched(j, &kept)) == BF_OK)
                rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T "
                         "WHERE %P AND NOT coalesce(%S, 0)",
                         ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, NULL, kept));
            if (rc == BF_OK)
                rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T "
                         "WHERE %S AND NOT coalesce(%P, 0) AND NOT coalesce(%S, 0)",
                         ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, staged, NULL, kept));
            bf__free(staged);
            bf__free(kept);
            if (rc == BF_OK)
                rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %K) SELECT %S, * FROM (SELECT "
                         "%K FROM %T UNION SELECT %K FROM %T WHERE %P EXCEPT SELECT %K FROM %T "
                         "WHERE %S)", ARGS(j->keys, NULL, j->ordsql, NULL, j->stage, NULL,
                                           j->dest, NULL, NULL, j->keys, j->mine));
            return rc;
        }
        {
            char *staged = NULL, *kept = NULL;

            /* NOT coalesce(..., 0): as NOT EXISTS, whatever NULL the keys table holds. */
            if ((rc = key_in(j, &staged, j->stage)) == BF_OK &&
                (rc = keys_touched(j, &kept)) == BF_OK)
                rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T "
                         "WHERE %S AND NOT coalesce(%S, 0)",
                         ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, staged, kept));
            bf__free(staged);
            bf__free(kept);
        }
        if (rc == BF_OK)
            rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %K) SELECT %S, * FROM (SELECT %K "
                     "FROM %T EXCEPT SELECT %K FROM %T WHERE %S)",
                     ARGS(j->keys, NULL, j->ordsql, NULL, j->stage, NULL, j->keys, j->mine));
        return rc;
    default:
        /*
         * The first publish's pre-image of the bounds is the one to restore.
         * If it was a delta's (with keys), this publish rewrites the whole
         * bounds: complete it with the rows no publish touched yet, and it
         * becomes a pre-image of the bounds.
         */
        if (exists) {
            if (!j->keyed)
                return BF_OK;
            rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T WHERE %P "
                     "AND NOT EXISTS (SELECT 1 FROM %T k WHERE k.%S AND %M)",
                     ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, j->qdest, j->keys, j->mine,
                          j->qdest, "k"));
            if (rc == BF_OK)
                rc = run(j, NULL, "DELETE FROM %T WHERE %S", ARGS(j->keys, j->mine));
            if (rc == BF_OK && (rc = run(j, NULL, "UPDATE %T SET keyed = 0 WHERE %S",
                                         ARGS(j->sinfo, j->mine))) == BF_OK)
                j->keyed = 0;
            return rc;
        }
        return run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T WHERE %P",
                   ARGS(j->snap, NULL, j->ordsql, NULL, j->dest, NULL));
    }
}

/* Columns a merge updates: the spec's, or every non-key column. */
static int merge_update(struct job *j, int64_t *updated)
{
    bf__sb sb;
    char *set = NULL, *same = NULL;
    int *picked = bf__calloc(j->ncols ? j->ncols : 1, sizeof *picked);
    int rc = picked ? BF_OK : bf__nomem(), any = 0;

    bf__sb_init(&sb);
    for (size_t i = 0; i < j->ncols && rc == BF_OK; i++) {
        const char *c = j->cols[i];
        int chosen = 0;

        if (j->spec->column_count) {
            for (size_t k = 0; k < j->spec->column_count; k++)
                chosen |= bf__sql_same_ident(j->spec->columns[k], c);
        } else {
            chosen = 1;
            for (size_t k = 0; k < j->spec->key_count; k++)
                chosen &= !bf__sql_same_ident(j->spec->key[k], c);
        }
        if (!chosen)
            continue;
        picked[i] = 1;
        if (any++)
            bf__sb_append(&sb, ", ");
        rc = bf__sql_ident(j->s, &sb, c);
        bf__sb_append(&sb, " = s.");
        if (rc == BF_OK)
            rc = bf__sql_ident(j->s, &sb, c);
    }
    for (size_t k = 0; k < j->spec->column_count && rc == BF_OK; k++) {
        int found = 0;

        for (size_t i = 0; i < j->info->count; i++)
            if (bf__sql_same_ident(j->spec->columns[k], j->info->columns[i].name))
                found = j->info->columns[i].generated ? 2 : 1;
        if (!found)
            rc = bf__error(BF_E_INVALID, "merge into %s: no column %s", j->spec->table,
                           j->spec->columns[k]);
        else if (found == 2)
            rc = bf__error(BF_E_INVALID, "merge into %s: column %s is generated; the warehouse "
                           "computes it, so it cannot be updated", j->spec->table,
                           j->spec->columns[k]);
    }
    if (rc == BF_OK)
        rc = bf__sql_text(&sb, &set);
    else
        bf__sb_dispose(&sb);
    /*
     * Each destination row takes its values from the staged row of its key
     * (staged keys are unique: check_staged), found by a join the warehouse
     * drives through the destination's key, not a subquery per row. With the
     * converted staged rows at hand, rows already holding the staged values
     * stay untouched.
     */
    if (rc == BF_OK && any && j->delta && (rc = same_values(j, &same, j->qdest, "x", picked)) == BF_OK)
        rc = run(j, updated, "UPDATE %T SET %S FROM %T AS s WHERE %M AND EXISTS (SELECT 1 FROM "
                 "temp.%T x WHERE %M AND NOT (%S))",
                 ARGS(j->dest, set, j->stage, j->qdest, "s", DELTA, j->qdest, "x", same));
    else if (rc == BF_OK && any)
        rc = run(j, updated, "UPDATE %T SET %S FROM %T AS s WHERE %M",
                 ARGS(j->dest, set, j->stage, j->qdest, "s"));
    bf__free(set);
    bf__free(same);
    bf__free(picked);
    return rc;
}

static int write_rows(struct job *j, bf_publish_result *out)
{
    int64_t n = 0;
    int rc = BF_OK;

    switch (j->spec->strategy) {
    case BF_WRITE_MERGE:
        if (j->spec->delete_missing) {
            char *staged = NULL;

            /* A row with a NULL key is in no staged row: it goes, as NOT EXISTS had it. */
            if ((rc = key_in(j, &staged, j->stage)) == BF_OK)
                rc = run(j, &out->deleted, "DELETE FROM %T WHERE %P AND NOT coalesce(%S, 0)",
                         ARGS(j->dest, j->qdest, staged));
            bf__free(staged);
        }
        if (rc == BF_OK)
            rc = merge_update(j, &out->updated);
        if (rc == BF_OK)
            rc = run(j, &n, "INSERT INTO %T (%C) SELECT %C FROM %T s WHERE NOT EXISTS "
                     "(SELECT 1 FROM %T WHERE %M)",
                     ARGS(j->dest, NULL, "s", j->stage, j->dest, j->qdest, "s"));
        out->written = out->updated + n;
        return rc;
    case BF_WRITE_APPEND:
        /* Every publish's rows join the snapshot: a restore removes all of them. */
        rc = run(j, &out->written, "INSERT INTO %T (%C) SELECT %C FROM %T",
                 ARGS(j->dest, NULL, NULL, j->stage));
        if (rc == BF_OK && j->spec->snapshot)
            rc = run(j, NULL, "INSERT INTO %T (" SNAP_BATCH ", %C) SELECT %S, %C FROM %T",
                     ARGS(j->snap, NULL, j->ordsql, NULL, j->stage));
        return rc;
    default:
        if (j->delta)
            return delta_write(j, out);
        rc = run(j, &out->deleted, "DELETE FROM %T WHERE %P", ARGS(j->dest, NULL));
        if (rc == BF_OK)
            rc = run(j, &out->written, "INSERT INTO %T (%C) SELECT %C FROM %T",
                     ARGS(j->dest, NULL, NULL, j->stage));
        return rc;
    }
}

int bf__sql_publish(void *ud, bf_publish_result *out, const bf_write_spec *spec,
                    const bf_plan *plan, const bf_batch *batch, int64_t run_id, int64_t token)
{
    struct job j;
    int staged = 0;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK && (rc = bf__sql_exists(j.s, &staged, j.stage)) == BF_OK && !staged)
        rc = bf__error(BF_E_STATE, "batch %s of %s (run %lld) is not staged",
                       bf_batch_label(batch), spec->table, (long long)run_id);
    if (rc == BF_OK && (rc = bf__sql_begin(j.s)) == BF_OK) {
        rc = fence_in_tx(j.s, spec->table, run_id, j.ord, token);
        if (rc == BF_OK && is_shadowed(spec))
            rc = ensure_shadow(&j);
        /*
         * An overwriting delta that converted every staged row has seen them
         * all within the bounds; otherwise (and for merge) they are checked.
         * A delta that fails reports what check_staged finds first.
         */
        if (rc == BF_OK && (rc = delta_begin(&j)) != BF_OK && rc != BF_E_NOMEM &&
            rc != BF_E_BUSY && rc != BF_E_USER) {
            char why[BF_ERRMSG_MAX];

            bf__snprintf(why, sizeof why, "%s", bf_last_error());
            if (check_staged(&j) == BF_E_VALIDATION)
                rc = BF_E_VALIDATION;
            else
                bf__error(rc, "%s", why); /* the delta's own failure, as it was */
        }
        if (rc == BF_OK && !j.checked)
            rc = check_staged(&j);
        if (rc == BF_OK)
            rc = snapshot(&j);
        if (rc == BF_OK)
            rc = write_rows(&j, out);
        /* A generated plan column is not staged: the merged rows are placed where they landed. */
        if (rc == BF_OK && !plan_column_staged(&j))
            rc = merge_outside(&j);
        if (rc == BF_OK)
            rc = record_written(&j);
        if (rc == BF_OK)
            rc = delta_end(&j);
        /* The staged rows are published: their table goes with the same commit. */
        if (rc == BF_OK && j.s->consume_stage)
            rc = drop_table(&j, j.stage);
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    /* Whatever happened, the connection's cache setting goes back. */
    if (j.cache_set) {
        int put = temp_cache(&j, j.temp_cache);

        if (rc == BF_OK)
            rc = put;
    }
    if (rc != BF_OK)
        out->written = out->updated = out->deleted = 0;
    job_dispose(&j);
    return rc;
}

/* ---- snapshots ---- */

/* BF_E_NOT_FOUND for a batch without a snapshot; BF_E_CONFLICT for one an earlier build kept. */
static int no_snapshot(struct job *j)
{
    char *legacy = legacy_name(j->spec->table, "snap", j->run, j->ord);
    int exists = 0, rc = legacy ? bf__sql_exists(j->s, &exists, legacy) : bf__nomem();

    if (rc == BF_OK && exists)
        rc = bf__error(BF_E_CONFLICT, "batch %s of %s (run %lld) has its snapshot in %s, a table "
                       "of its own as an earlier build of libbackfill kept it: this build reads "
                       "only the run's snapshot tables (%s and beside it); restore with the build "
                       "that published it; nothing was restored", bf_batch_label(j->batch),
                       j->spec->table, (long long)j->run, legacy, j->snap);
    else if (rc == BF_OK)
        rc = bf__error(BF_E_NOT_FOUND, "batch %s of %s (run %lld) has no snapshot",
                       bf_batch_label(j->batch), j->spec->table, (long long)j->run);
    bf__free(legacy);
    return rc;
}

int bf__sql_restore(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run_id)
{
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK && (rc = bf__sql_begin(j.s)) == BF_OK) {
        rc = snap_state(&j);
        if (rc == BF_OK && !j.has_snap)
            rc = no_snapshot(&j);
        if (rc == BF_OK && spec->strategy != BF_WRITE_APPEND)
            rc = check_written(&j);
        if (rc == BF_OK) {
            switch (spec->strategy) {
            case BF_WRITE_MERGE: {
                char *kept = NULL;

                if ((rc = keys_touched(&j, &kept)) == BF_OK)
                    rc = run(&j, NULL, "DELETE FROM %T WHERE %S", ARGS(j.dest, kept));
                bf__free(kept);
                break;
            }
            case BF_WRITE_APPEND:
                rc = undo_append(&j);
                break;
            default:
                /* A delta's snapshot (keyed) holds only the rows of the keys it touched. */
                if (j.keyed)
                    rc = run(&j, NULL, "DELETE FROM %T WHERE %P AND EXISTS (SELECT 1 FROM %T k "
                             "WHERE k.%S AND %M)", ARGS(j.dest, j.qdest, j.keys, j.mine, j.qdest,
                                                        "k"));
                else
                    rc = run(&j, NULL, "DELETE FROM %T WHERE %P", ARGS(j.dest, NULL));
            }
        }
        /* append's snapshot holds what it added, not a pre-image. */
        if (rc == BF_OK && spec->strategy != BF_WRITE_APPEND)
            rc = run(&j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T WHERE %S",
                     ARGS(j.dest, NULL, NULL, j.snap, j.mine));
        /* The snapshot is used up: a later publish takes a fresh one. */
        if (rc == BF_OK)
            rc = snap_forget(&j);
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    job_dispose(&j);
    return rc;
}

/* Temporary view `view` of the connection: table's rows of the batch, without the batch column. */
static int batch_view(struct job *j, const char *view, const char *table)
{
    bf_table_info *info = NULL;
    char *sql = NULL;
    bf__sb sb;
    int rc = bf__sql_describe(j->s, &info, table);

    if (rc != BF_OK)
        return rc;
    bf__sb_init(&sb);
    bf__sb_appendf(&sb, "CREATE TEMP VIEW %s AS SELECT ", view);
    for (size_t i = 0, n = 0; i < info->count && rc == BF_OK; i++) {
        if (bf__sql_same_ident(info->columns[i].name, SNAP_BATCH))
            continue;
        if (n++)
            bf__sb_append(&sb, ", ");
        rc = bf__sql_ident(j->s, &sb, info->columns[i].name);
    }
    bf__sb_append(&sb, " FROM main.");
    if (rc == BF_OK)
        rc = bf__sql_ident(j->s, &sb, table);
    bf__sb_append(&sb, " WHERE ");
    bf__sb_append(&sb, j->mine);
    bf_table_info_free(info);
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    if ((rc = bf__sql_text(&sb, &sql)) == BF_OK)
        rc = bf__sql_exec(j->s, sql);
    bf__free(sql);
    return rc;
}

int bf__sql_snapshot_views(bf__sql *s, const char *table, int64_t run, size_t batch, int *has,
                           const char **rows, const char **keys)
{
    bf_write_spec spec;
    struct job j;
    int rc;

    *has = 0;
    if (rows)
        *rows = NULL;
    if (keys)
        *keys = NULL;
    if ((rc = bf_write_spec_init(&spec, BF_WRITE_SPEC_VERSION)) != BF_OK)
        return rc;
    spec.table = table;
    spec.snapshot = 1;
    memset(&j, 0, sizeof j);
    j.s = s;
    j.spec = &spec;
    j.run = run;
    j.ord = batch;
    bf__binds_init(&j.binds);
    bf__snprintf(j.mine, sizeof j.mine, SNAP_BATCH " = %zu", batch);
    j.snap = derived_name(&spec, SNAP, run, batch);
    j.keys = derived_name(&spec, SNAPKEYS, run, batch);
    j.sinfo = derived_name(&spec, SNAPINFO, run, batch);
    rc = j.snap && j.keys && j.sinfo ? snap_state(&j) : bf__nomem();
    if (rc == BF_OK && j.has_snap && rows) {
        if ((rc = bf__sql_exec(s, "DROP VIEW IF EXISTS temp." SNAP_ROWS)) == BF_OK &&
            (rc = bf__sql_exec(s, "DROP VIEW IF EXISTS temp." SNAP_KEYS)) == BF_OK &&
            (rc = batch_view(&j, SNAP_ROWS, j.snap)) == BF_OK)
            *rows = SNAP_ROWS;
        if (rc == BF_OK && j.keyed && keys && (rc = batch_view(&j, SNAP_KEYS, j.keys)) == BF_OK)
            *keys = SNAP_KEYS;
    }
    if (rc == BF_OK)
        *has = j.has_snap;
    job_dispose(&j);
    return rc;
}

/* ---- cutover ---- */

/* The name and SQL text of `table`'s triggers (type 'trigger') or explicit indexes ('index'). */
static int dependents(bf__sql *s, bf_rows **out, const char *type, const char *table)
{
    static const char *const names[] = {"name", "sql"};
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf_value y = {BF_VALUE_TEXT, 0, 0.0, type, strlen(type)};
    bf__binds b;
    int rc;

    bf__binds_init(&b);
    bf__binds_value(&b, "t", &t);
    bf__binds_value(&b, "y", &y);
    if ((rc = bf__rows_new(out, names, 2)) == BF_OK)
        rc = bf__sql_query_rows(s, *out, "SELECT name, sql FROM main.sqlite_master WHERE type = :y "
                                "AND tbl_name = :t COLLATE NOCASE AND sql IS NOT NULL "
                                "ORDER BY rowid", &b);
    return rc;
}

/* Run each row's DROP `what` name (when `drop`) and then, when `create`, its SQL text. */
static int redo(bf__sql *s, const bf_rows *list, const char *what, int drop, int create)
{
    int rc = BF_OK;

    for (size_t i = 0; rc == BF_OK && list && i < bf_rows_count(list); i++) {
        bf_value name, text;
        bf__sb sb;
        char *sql = NULL;

        bf_rows_value(&name, list, i, 0);
        bf_rows_value(&text, list, i, 1);
        if (drop) {
            bf__sb_init(&sb);
            bf__sb_appendf(&sb, "DROP %s main.", what);
            if ((rc = bf__sql_ident(s, &sb, name.s)) == BF_OK &&
                (rc = bf__sql_text(&sb, &sql)) == BF_OK)
                rc = bf__sql_exec(s, sql);
            else if (rc != BF_OK)
                bf__sb_dispose(&sb);
            bf__free(sql);
        }
        if (rc == BF_OK && create)
            rc = bf__sql_exec(s, text.s);
    }
    return rc;
}

/* The statistics ANALYZE keeps of `table`'s indexes (none when it never ran). */
static int stats_of(bf__sql *s, bf_rows **out, const char *table)
{
    static const char *const names[] = {"idx", "stat"};
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf__binds b;
    int exists = 0, rc;

    *out = NULL;
    if ((rc = bf__sql_exists(s, &exists, "sqlite_stat1")) != BF_OK || !exists)
        return rc;
    bf__binds_init(&b);
    bf__binds_value(&b, "t", &t);
    if ((rc = bf__rows_new(out, names, 2)) == BF_OK)
        rc = bf__sql_query_rows(s, *out, "SELECT idx, stat FROM main.sqlite_stat1 WHERE tbl = :t "
                                "COLLATE NOCASE", &b);
    return rc;
}

/*
 * Give `table` the statistics in `stats` again: dropping an index drops its
 * own, and the indexes made again would have none until the next ANALYZE.
 */
static int restore_stats(bf__sql *s, const bf_rows *stats, const char *table)
{
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    int rc = BF_OK;

    if (!stats || !bf_rows_count(stats))
        return BF_OK;
    for (size_t i = 0; rc == BF_OK && i < bf_rows_count(stats); i++) {
        bf_value idx, stat;
        bf__binds b;

        bf_rows_value(&idx, stats, i, 0);
        bf_rows_value(&stat, stats, i, 1);
        bf__binds_init(&b);
        bf__binds_value(&b, "t", &t);
        bf__binds_value(&b, "i", &idx);
        bf__binds_value(&b, "s", &stat);
        if ((rc = bf__sql_run(s, "DELETE FROM main.sqlite_stat1 WHERE tbl = :t COLLATE NOCASE "
                              "AND idx IS :i", &b, NULL)) == BF_OK)
            rc = bf__sql_run(s, "INSERT INTO main.sqlite_stat1 (tbl, idx, stat) "
                             "VALUES (:t, :i, :s)", &b, NULL);
    }
    return rc;
}

/*
 * In one transaction: `table` becomes `out` and `in` becomes `table`. On
 * SQLite, whatever names `table` stays with the name, as it would were the
 * rows rewritten in place: views, triggers' bodies and other tables'
 * foreign keys that name it read the table swapped in (SQLite would
 * otherwise rewrite them to name `out`); its triggers, and its indexes
 * under their own names (partial and on expressions too), are made again
 * on the table swapped in, whose own indexes (the copies made for the
 * batches) are dropped, and the statistics ANALYZE kept of them stay
 * (those of the rows before: the query planner needs no more until the next
 * ANALYZE); `out` keeps its rows and its constraints.
 */
int bf__sql_swap(bf__sql *s, const char *table, const char *out, const char *in)
{
    bf_rows *triggers = NULL, *indexes = NULL, *copies = NULL, *stats = NULL;
    char *q_table = NULL, *q_out = NULL, *q_in = NULL, *sql = NULL;
    int64_t legacy = 0;
    int lite = s->vt.dialect && strcmp(s->vt.dialect, "sqlite") == 0, rc, set = 0;

    if ((rc = bf__sql_quoted(s, &q_table, table)) != BF_OK ||
        (rc = bf__sql_quoted(s, &q_out, out)) != BF_OK ||
        (rc = bf__sql_quoted(s, &q_in, in)) != BF_OK)
        goto done;
    if (lite && (rc = bf__sql_query_int(s, &legacy, "PRAGMA legacy_alter_table", NULL)) != BF_OK)
        goto done;
    if ((rc = bf__sql_begin(s)) != BF_OK)
        goto done;
    /* Read inside the transaction, before the renames change the texts. */
    if (lite && (rc = dependents(s, &triggers, "trigger", table)) == BF_OK &&
        (rc = dependents(s, &indexes, "index", table)) == BF_OK &&
        (rc = dependents(s, &copies, "index", in)) == BF_OK)
        rc = stats_of(s, &stats, table);
    if (rc == BF_OK && lite && !legacy &&
        (rc = bf__sql_exec(s, "PRAGMA legacy_alter_table = ON")) == BF_OK)
        set = 1;
    if (rc == BF_OK && !(sql = bf__asprintf("ALTER TABLE %s RENAME TO %s", q_table, q_out)))
        rc = bf__nomem();
    if (rc == BF_OK)
        rc = bf__sql_exec(s, sql);
    bf__free(sql);
    sql = NULL;
    if (rc == BF_OK && !(sql = bf__asprintf("ALTER TABLE %s RENAME TO %s", q_in, q_table)))
        rc = bf__nomem();
    if (rc == BF_OK)
        rc = bf__sql_exec(s, sql);
    /* The triggers and indexes went with the table to `out`: made again on `table`. */
    if (rc == BF_OK)
        rc = redo(s, copies, "INDEX", 1, 0);
    if (rc == BF_OK)
        rc = redo(s, indexes, "INDEX", 1, 1);
    if (rc == BF_OK)
        rc = redo(s, triggers, "TRIGGER", 1, 1);
    if (rc == BF_OK)
        rc = restore_stats(s, stats, table);
    if (rc == BF_OK)
        rc = bf__sql_commit(s);
    if (rc != BF_OK)
        bf__sql_rollback(s);
    if (set) {
        int keep = rc;

        rc = bf__sql_exec(s, "PRAGMA legacy_alter_table = OFF");
        rc = keep != BF_OK ? keep : rc;
    }
done:
    bf_rows_free(triggers);
    bf_rows_free(indexes);
    bf_rows_free(copies);
    bf_rows_free(stats);
    bf__free(q_table);
    bf__free(q_out);
    bf__free(q_in);
    bf__free(sql);
    return rc;
}

int bf__sql_cutover(void *ud, const bf_write_spec *spec, int64_t run_id, int keep)
{
    struct job j;
    char *backup = NULL;
    int exists = 0;
    int rc;

    if (!is_shadowed(spec))
        return bf__error(BF_E_INVALID, "cutover of %s: %s writes in place; nothing to swap",
                         spec->table, bf_write_strategy_name(spec->strategy));
    rc = job_init(&j, ud, spec, NULL, NULL, run_id);
    if (rc == BF_OK && !(backup = derived_name(spec, BACKUP, run_id, 0)))
        rc = bf__nomem();
    if (rc == BF_OK && (rc = bf__sql_exists(j.s, &exists, j.dest)) == BF_OK && !exists)
        rc = bf__error(BF_E_STATE, "cutover of %s: run %lld published nothing into %s",
                       spec->table, (long long)run_id, j.dest);
    /* Keeping the version table: nothing moves. */
    if (spec->strategy == BF_WRITE_PARALLEL_VERSION && keep)
        goto done;
    if (rc == BF_OK && (rc = bf__sql_exists(j.s, &exists, backup)) == BF_OK && exists)
        rc = bf__error(BF_E_CONFLICT, "cutover of %s: the backup table %s exists already",
                       spec->table, backup);
    if (rc == BF_OK)
        rc = bf__sql_swap(j.s, spec->table, backup, j.dest);
done:
    bf__free(backup);
    job_dispose(&j);
    return rc;
}
