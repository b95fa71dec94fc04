/*
 * The SQL layer's writes: staging a batch, publishing it by write pattern in
 * one transaction with its fence and snapshot, restoring and dropping
 * snapshots, cutover.
 */
#include <stdio.h>
#include <string.h>

#include "driver/sql.h"

/* Tables the library derives from the target's name. */
enum derived { STAGE, SNAP, SNAPKEYS, FULL, VERSION, BACKUP };

static char *derived_name(const bf_write_spec *spec, enum derived kind, int64_t run, size_t batch)
{
    switch (kind) {
    case STAGE:
        return bf__asprintf("%s__bf_stage_%lld_%zu", spec->table, (long long)run, batch);
    case SNAP:
        return bf__asprintf("%s__bf_snap_%lld_%zu", spec->table, (long long)run, batch);
    case SNAPKEYS:
        return bf__asprintf("%s__bf_snapkeys_%lld_%zu", spec->table, (long long)run, batch);
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

/* Everything one batch write works with. */
struct job {
    bf__sql *s;
    const bf_write_spec *spec;
    const bf_plan *plan;
    const bf_batch *batch;
    int64_t run;
    size_t ord;
    bf_table_info *info; /* the target's columns */
    const char **cols;   /* their names */
    char *stage, *snap, *keys, *dest; /* dest: where rows go (target or its shadow) */
    char *qdest;         /* dest, quoted: qualifies columns in correlated subqueries */
    bf__binds binds;
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
    bf__free(j->dest);
    bf__free(j->qdest);
}

static int job_init(struct job *j, void *ud, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run)
{
    bf__sb sb;
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
    j->dest = is_shadowed(spec) ? derived_name(spec, spec->strategy == BF_WRITE_STAGING_SWAP
                                                         ? FULL : VERSION, run, 0)
                                : bf__strdup(spec->table);
    if (!j->cols || !j->stage || !j->snap || !j->keys || !j->dest)
        return bf__nomem();
    for (size_t i = 0; i < j->info->count; i++)
        j->cols[i] = j->info->columns[i].name;
    bf__sb_init(&sb);
    rc = bf__sql_ident(j->s, &sb, j->dest);
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, &j->qdest);
}

/* Build and run; *changes (may be NULL) gets the changed rows. */
static int run(struct job *j, int64_t *changes, const char *tpl, const char *const *args)
{
    bf__tpl t = {j->cols, j->info->count, j->spec->key, j->spec->key_count, j->plan, j->batch};
    char *sql;
    int rc = bf__sql_build(j->s, &sql, &t, tpl, args);

    if (rc == BF_OK)
        rc = bf__sql_run(j->s, sql, &j->binds, changes);
    bf__free(sql);
    return rc;
}

static int query_int(struct job *j, int64_t *out, const char *tpl, const char *const *args)
{
    bf__tpl t = {j->cols, j->info->count, j->spec->key, j->spec->key_count, j->plan, j->batch};
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

int bf__sql_stage(void *ud, int64_t *out, const bf_write_spec *spec, const bf_plan *plan,
                  const bf_batch *batch, int64_t run_id)
{
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    bf__binds_int(&j.binds, "run", run_id);
    bf__binds_int(&j.binds, "batch", (int64_t)j.ord);
    if (rc == BF_OK)
        rc = bf__sql_begin(j.s);
    if (rc == BF_OK) {
        /* Untyped columns keep the job's values exactly as it produced them. */
        if ((rc = drop_table(&j, j.stage)) == BF_OK &&
            (rc = run(&j, NULL, "CREATE TABLE %T (%C)", ARGS(j.stage, NULL))) == BF_OK)
            rc = run(&j, out, "INSERT INTO %T (%C) %S", ARGS(j.stage, NULL, spec->select));
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

/* Drop the batch's staging table, or its snapshot tables. */
static int drop_batch_tables(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                             const bf_batch *batch, int64_t run_id, int snapshot)
{
    struct job j;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK)
        rc = drop_table(&j, snapshot ? j.snap : j.stage);
    if (rc == BF_OK && snapshot)
        rc = drop_table(&j, j.keys);
    job_dispose(&j);
    return rc;
}

int bf__sql_drop_staging(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                         const bf_batch *batch, int64_t run_id)
{
    return drop_batch_tables(ud, spec, plan, batch, run_id, 0);
}

int bf__sql_drop_snapshot(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                          const bf_batch *batch, int64_t run_id)
{
    return drop_batch_tables(ud, spec, plan, batch, run_id, 1);
}

/* ---- fencing ---- */

static int fence_in_tx(bf__sql *s, const char *table, int64_t run_id, size_t batch,
                       int64_t token)
{
    bf_value target = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf__binds b;
    bf__stmt st;
    int64_t stored = 0;
    int found = 0, rc;

    bf__binds_init(&b);
    bf__binds_value(&b, "target", &target);
    bf__binds_int(&b, "run", run_id);
    bf__binds_int(&b, "batch", (int64_t)batch);
    bf__binds_int(&b, "token", token);
    rc = bf__sql_exec(s, "CREATE TABLE IF NOT EXISTS bf_fence (target TEXT NOT NULL, "
                         "run INTEGER NOT NULL, batch INTEGER NOT NULL, token INTEGER NOT NULL, "
                         "PRIMARY KEY (target, run, batch))");
    if (rc != BF_OK)
        return rc;
    rc = bf__stmt_prepare(&st, s, "SELECT token FROM bf_fence WHERE target = :target "
                                  "AND run = :run AND batch = :batch", &b);
    if (rc != BF_OK)
        return rc;
    rc = bf__stmt_step(&st);
    if (rc == BF_SQL_ROW) {
        bf_value v;

        found = 1;
        if ((rc = bf__stmt_column(&st, 0, &v)) == BF_OK)
            stored = v.i;
    }
    bf__stmt_finalize(&st);
    if (rc < 0)
        return rc;
    if (found && stored > token)
        return bf__error(BF_E_LEASE_LOST,
                         "batch %zu of %s (run %lld): fencing token %lld is older than %lld",
                         batch, table, (long long)run_id, (long long)token, (long long)stored);
    if (!found)
        return bf__sql_run(s, "INSERT INTO bf_fence (target, run, batch, token) "
                              "VALUES (:target, :run, :batch, :token)", &b, NULL);
    if (stored < token)
        return bf__sql_run(s, "UPDATE bf_fence SET token = :token WHERE target = :target "
                              "AND run = :run AND batch = :batch", &b, NULL);
    return BF_OK;
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
        same = strcmp(info->columns[i].name, j->cols[i]) == 0;
    bf_table_info_free(info);
    if (!same)
        return bf__error(BF_E_CONFLICT, "%s exists and its columns are not those of %s", j->dest,
                         j->spec->table);
    return BF_OK;
}

/* The shadow table of staging_swap/parallel_version starts as a full copy of the target. */
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
    bf__sb_init(&sb);
    bf__sb_append(&sb, "CREATE TABLE ");
    rc = bf__sql_ident(j->s, &sb, j->dest);
    bf__sb_append(&sb, " (");
    for (size_t i = 0; i < j->info->count && rc == BF_OK; i++) {
        const char *type = j->info->columns[i].type;

        if (i)
            bf__sb_append(&sb, ", ");
        rc = bf__sql_ident(j->s, &sb, j->cols[i]);
        /* A declared type is SQL text: copy only plain ones like DECIMAL(10, 2). */
        if (type[0] && strspn(type, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                    "0123456789_ (),") != strlen(type))
            rc = bf__error(BF_E_UNSUPPORTED, "table %s: column %s's declared type '%.60s' "
                           "cannot be copied", j->spec->table, j->cols[i], type);
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
                    rc = bf__sql_ident(j->s, &sb, j->cols[i]);
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
    return rc;
}

/* Refuse staged rows that would make the publish non-idempotent. */
static int check_staged(struct job *j)
{
    int64_t n = 0;
    int rc;

    if (overwrites(j->spec)) {
        rc = query_int(j, &n, "SELECT count(*) FROM %T WHERE NOT coalesce(%P, 0)",
                       ARGS(j->stage, NULL));
        if (rc == BF_OK && n)
            rc = bf__error(BF_E_VALIDATION, "batch %s of %s: %lld staged rows lie outside the "
                           "batch's bounds", bf_batch_label(j->batch), j->spec->table,
                           (long long)n);
        return rc;
    }
    if (j->spec->strategy != BF_WRITE_MERGE)
        return BF_OK;
    rc = BF_OK;
    for (size_t k = 0; k < j->spec->key_count && rc == BF_OK; k++) {
        const char *key = j->spec->key[k];

        rc = query_int(j, &n, "SELECT count(*) FROM %T WHERE %T IS NULL", ARGS(j->stage, key));
        if (rc == BF_OK && n)
            rc = bf__error(BF_E_VALIDATION, "batch %s of %s: %lld staged rows have a NULL %s",
                           bf_batch_label(j->batch), j->spec->table, (long long)n, key);
    }
    if (rc == BF_OK)
        rc = query_int(j, &n, "SELECT count(*) FROM (SELECT 1 FROM %T GROUP BY %K "
                       "HAVING count(*) > 1)", ARGS(j->stage, NULL));
    if (rc == BF_OK && n)
        rc = bf__error(BF_E_VALIDATION, "batch %s of %s: %lld keys are staged more than once",
                       bf_batch_label(j->batch), j->spec->table, (long long)n);
    return rc;
}

static int snapshot(struct job *j)
{
    const char *rowid = j->s->vt.rowid_column;
    int exists, rc;

    if (!j->spec->snapshot)
        return BF_OK;
    if ((rc = bf__sql_exists(j->s, &exists, j->snap)) != BF_OK)
        return rc;
    if (!exists && (rc = run(j, NULL, "CREATE TABLE %T (%C)", ARGS(j->snap, NULL))) != BF_OK)
        return rc;
    switch (j->spec->strategy) {
    case BF_WRITE_MERGE:
        /* Rows whose keys this publish touches for the first time, and those keys. */
        if (!exists && (rc = run(j, NULL, "CREATE TABLE %T (%K)", ARGS(j->keys, NULL))) != BF_OK)
            return rc;
        if (j->spec->delete_missing) {
            rc = run(j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T WHERE (EXISTS (SELECT 1 "
                     "FROM %T s WHERE %M) OR %P) AND NOT EXISTS (SELECT 1 FROM %T k WHERE %M)",
                     ARGS(j->snap, NULL, NULL, j->dest, j->stage, j->qdest, "s", NULL, j->keys,
                          j->qdest, "k"));
            if (rc == BF_OK)
                rc = run(j, NULL, "INSERT INTO %T (%K) SELECT %K FROM %T UNION SELECT %K FROM %T "
                         "WHERE %P EXCEPT SELECT %K FROM %T",
                         ARGS(j->keys, NULL, NULL, j->stage, NULL, j->dest, NULL, NULL, j->keys));
            return rc;
        }
        rc = run(j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T WHERE EXISTS (SELECT 1 FROM %T s "
                 "WHERE %M) AND NOT EXISTS (SELECT 1 FROM %T k WHERE %M)",
                 ARGS(j->snap, NULL, NULL, j->dest, j->stage, j->qdest, "s", j->keys, j->qdest,
                      "k"));
        if (rc == BF_OK)
            rc = run(j, NULL, "INSERT INTO %T (%K) SELECT %K FROM %T EXCEPT SELECT %K FROM %T",
                     ARGS(j->keys, NULL, NULL, j->stage, NULL, j->keys));
        return rc;
    case BF_WRITE_APPEND:
        if (!rowid)
            return bf__error(BF_E_UNSUPPORTED, "%s: no row identity, so append cannot snapshot",
                             j->s->vt.dialect ? j->s->vt.dialect : "driver");
        if (!exists)
            rc = run(j, NULL, "CREATE TABLE %T (bf_rowid INTEGER)", ARGS(j->keys));
        return rc;
    default:
        /* The first publish's pre-image of the bounds is the one to restore. */
        if (exists)
            return BF_OK;
        return run(j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T WHERE %P",
                   ARGS(j->snap, NULL, NULL, j->dest, NULL));
    }
}

/* Columns a merge updates: the spec's, or every non-key column. */
static int merge_update(struct job *j, int64_t *updated)
{
    bf__sb sb;
    char *set = NULL;
    int rc = BF_OK, any = 0;

    bf__sb_init(&sb);
    for (size_t i = 0; i < j->info->count && rc == BF_OK; i++) {
        const char *c = j->cols[i];
        int chosen = 0;

        if (j->spec->column_count) {
            for (size_t k = 0; k < j->spec->column_count; k++)
                chosen |= strcmp(j->spec->columns[k], c) == 0;
        } else {
            chosen = 1;
            for (size_t k = 0; k < j->spec->key_count; k++)
                chosen &= strcmp(j->spec->key[k], c) != 0;
        }
        if (!chosen)
            continue;
        if (any++)
            bf__sb_append(&sb, ", ");
        rc = bf__sql_ident(j->s, &sb, c);
        bf__sb_append(&sb, " = (SELECT s.");
        if (rc == BF_OK)
            rc = bf__sql_ident(j->s, &sb, c);
        bf__sb_append(&sb, " FROM ");
        if (rc == BF_OK)
            rc = bf__sql_ident(j->s, &sb, j->stage);
        bf__sb_append(&sb, " s WHERE ");
        if (rc == BF_OK)
            rc = bf__sql_key_match(j->s, &sb, j->qdest, "s", j->spec->key, j->spec->key_count);
        bf__sb_appendc(&sb, ')');
    }
    for (size_t k = 0; k < j->spec->column_count && rc == BF_OK; k++) {
        int found = 0;

        for (size_t i = 0; i < j->info->count; i++)
            found |= strcmp(j->spec->columns[k], j->cols[i]) == 0;
        if (!found)
            rc = bf__error(BF_E_INVALID, "merge into %s: no column %s", j->spec->table,
                           j->spec->columns[k]);
    }
    if (rc == BF_OK)
        rc = bf__sql_text(&sb, &set);
    else
        bf__sb_dispose(&sb);
    if (rc == BF_OK && any)
        rc = run(j, updated, "UPDATE %T SET %S WHERE EXISTS (SELECT 1 FROM %T s WHERE %M)",
                 ARGS(j->dest, set, j->stage, j->qdest, "s"));
    bf__free(set);
    return rc;
}

static int write_rows(struct job *j, bf_publish_result *out)
{
    int64_t n = 0, max = 0;
    int rc = BF_OK;

    switch (j->spec->strategy) {
    case BF_WRITE_MERGE:
        if (j->spec->delete_missing)
            rc = run(j, &out->deleted, "DELETE FROM %T WHERE %P AND NOT EXISTS "
                     "(SELECT 1 FROM %T s WHERE %M)",
                     ARGS(j->dest, j->qdest, j->stage, j->qdest, "s"));
        if (rc == BF_OK)
            rc = merge_update(j, &out->updated);
        if (rc == BF_OK)
            rc = run(j, &n, "INSERT INTO %T (%C) SELECT %C FROM %T s WHERE NOT EXISTS "
                     "(SELECT 1 FROM %T WHERE %M)",
                     ARGS(j->dest, NULL, "s", j->stage, j->dest, j->qdest, "s"));
        out->written = out->updated + n;
        return rc;
    case BF_WRITE_APPEND:
        if (j->spec->snapshot)
            rc = query_int(j, &max, "SELECT coalesce(max(%S), 0) FROM %T",
                           ARGS(j->s->vt.rowid_column, j->dest));
        if (rc == BF_OK)
            rc = run(j, &out->written, "INSERT INTO %T (%C) SELECT %C FROM %T",
                     ARGS(j->dest, NULL, NULL, j->stage));
        if (rc == BF_OK && j->spec->snapshot) {
            bf__binds_int(&j->binds, "bf_max", max);
            rc = run(j, NULL, "INSERT INTO %T (bf_rowid) SELECT %S FROM %T WHERE %S > :bf_max",
                     ARGS(j->keys, j->s->vt.rowid_column, j->dest, j->s->vt.rowid_column));
        }
        return rc;
    default:
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
        if (rc == BF_OK)
            rc = check_staged(&j);
        if (rc == BF_OK)
            rc = snapshot(&j);
        if (rc == BF_OK)
            rc = write_rows(&j, out);
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    if (rc != BF_OK)
        out->written = out->updated = out->deleted = 0;
    job_dispose(&j);
    return rc;
}

/* ---- snapshots ---- */

int bf__sql_restore(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run_id)
{
    struct job j;
    int exists = 0;
    int rc = job_init(&j, ud, spec, plan, batch, run_id);

    if (rc == BF_OK && (rc = bf__sql_begin(j.s)) == BF_OK) {
        rc = bf__sql_exists(j.s, &exists, j.snap);
        if (rc == BF_OK && !exists)
            rc = bf__error(BF_E_NOT_FOUND, "batch %s of %s (run %lld) has no snapshot",
                           bf_batch_label(batch), spec->table, (long long)run_id);
        if (rc == BF_OK) {
            switch (spec->strategy) {
            case BF_WRITE_MERGE:
                rc = run(&j, NULL, "DELETE FROM %T WHERE EXISTS (SELECT 1 FROM %T k WHERE %M)",
                         ARGS(j.dest, j.keys, j.qdest, "k"));
                break;
            case BF_WRITE_APPEND:
                rc = run(&j, NULL, "DELETE FROM %T WHERE %S IN (SELECT bf_rowid FROM %T)",
                         ARGS(j.dest, j.s->vt.rowid_column ? j.s->vt.rowid_column : "rowid",
                              j.keys));
                break;
            default:
                rc = run(&j, NULL, "DELETE FROM %T WHERE %P", ARGS(j.dest, NULL));
            }
        }
        if (rc == BF_OK)
            rc = run(&j, NULL, "INSERT INTO %T (%C) SELECT %C FROM %T",
                     ARGS(j.dest, NULL, NULL, j.snap));
        /* The pre-image is used up: a later publish takes a fresh one. */
        if (rc == BF_OK && (rc = drop_table(&j, j.snap)) == BF_OK)
            rc = drop_table(&j, j.keys);
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
    job_dispose(&j);
    return rc;
}

/* ---- cutover ---- */

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
    if (rc == BF_OK && (rc = bf__sql_begin(j.s)) == BF_OK) {
        rc = run(&j, NULL, "ALTER TABLE %T RENAME TO %T", ARGS(spec->table, backup));
        if (rc == BF_OK)
            rc = run(&j, NULL, "ALTER TABLE %T RENAME TO %T", ARGS(j.dest, spec->table));
        if (rc == BF_OK)
            rc = bf__sql_commit(j.s);
        if (rc != BF_OK)
            bf__sql_rollback(j.s);
    }
done:
    bf__free(backup);
    job_dispose(&j);
    return rc;
}
