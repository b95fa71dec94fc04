/*
 * The SQL layer: every driver operation written once over a connection
 * vtable (bf_sql_vtable). This header is shared by its files.
 */
#ifndef BF_SQL_H
#define BF_SQL_H

#include "common/internal.h"
#include "driver/driver_internal.h"

/* The longest identifier accepted, in bytes (derived names included). */
#define BF_IDENT_MAX 200

/*
 * The most arguments the SQL layer gives a dialect's aggregate (SQLite
 * allows 127 by default); wider column lists are hashed by the library.
 */
#define BF_AGG_MAX_ARGS 100

/*
 * The most references probes the built-in profile aggregate counts itself
 * (sqlite.c, struct pf_probe): each adds at most two arguments (its child
 * column, its parent's query) to at most BF_AGG_MAX_ARGS, within 127.
 */
#define BF_PROFILE_PROBES_MAX 8

typedef struct bf__sql {
    bf_sql_vtable vt;
    void *ud;
    void (*free_ud)(void *userdata);
    /*
     * Set by tests and benchmarks only: publish with a key by deleting the
     * bounds and reinserting every staged row, as before delta publishes.
     */
    int delta_off;
    /*
     * The connection is the built-in SQLite driver's (set by
     * bf_driver_open_sqlite()), with that dialect's own functions: its
     * profile function also takes the shared-argument form (each column read
     * once: sql_measure.c, pf_shared_args), and bf_stage_keys lets a delta
     * publish compare staged rows that need no conversion straight from the
     * staging table (sql_write.c, stage_keys). A host's dialect gets the form
     * of bf_sql_vtable.profile_function and the converted copy.
     */
    int builtin_sqlite;
    /* Publishes whose delta compared the staged rows as they are (tests read it). */
    unsigned long raw_deltas;
    /*
     * References probes that the built-in profile aggregate left undecided
     * on this connection (a parent too large to read whole, or a child value
     * that is not an integer): "table\x1fcolumn\x1fparent query" each.
     * Later profiles join to those parents instead (sql_measure.c,
     * probe_plan). `probes_counted`: probes the aggregate decided (tests).
     */
    char **probe_memo;
    size_t probe_memo_count;
    unsigned long probes_counted;
    /*
     * Set through bf__driver_consume_staging(): a publish that succeeds
     * drops the staging table it published from, in its own transaction,
     * so the caller's bf_driver_drop_staging() afterwards has nothing left
     * to drop (and commits nothing).
     */
    int consume_stage;
    /*
     * Who owns the runs this connection fences (bf__sql_set_owner), or NULL;
     * `fence_owner_known`: bf_fence has its owner column (sql_write.c).
     */
    char *owner;
    int fence_owner_known;
    /* Set around one publish by bf__driver_publish_measured; `measured` when it was called. */
    bf__publish_measure measure;
    void *measure_ctx;
    int measured;
} bf__sql;

/* Values bound by name (without the ':'): a batch's parameters and a few more. */
#define BF_BINDS_MAX 12
typedef struct bf__binds {
    size_t count;
    const char *names[BF_BINDS_MAX];
    bf_value values[BF_BINDS_MAX];
    const bf_value *list; /* bound as :bf_v0, :bf_v1, ... (borrowed), or NULL */
    size_t list_count;
} bf__binds;

void bf__binds_init(bf__binds *b);
/* Set `name` (replacing an earlier value of the same name); names are borrowed. */
void bf__binds_int(bf__binds *b, const char *name, int64_t value);
void bf__binds_value(bf__binds *b, const char *name, const bf_value *value);
/* A list of values bound as :bf_v0 ... :bf_v<count - 1> (borrowed). */
void bf__binds_list(bf__binds *b, const bf_value *values, size_t count);
/* Every parameter of the batch (nothing for a NULL batch). */
void bf__binds_batch(bf__binds *b, const bf_batch *batch);

/*
 * THE identifier function: validates `name` (non-empty, at most
 * BF_IDENT_MAX bytes, valid UTF-8, no control characters) and appends it
 * quoted in the dialect's quote character, doubling embedded quotes.
 * BF_E_INVALID names the identifier otherwise. Every identifier in every
 * statement the library writes goes through here. With a NULL sb it only
 * validates (for names handed to the connection as values).
 */
int bf__sql_ident(const bf__sql *s, bf__sb *sb, const char *name);

/* Append `alias.name` (alias may be NULL) for each name, separated by ", ". */
int bf__sql_ident_list(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *names,
                       size_t count);

/* Append "a.k1 = b.k1 AND a.k2 = b.k2 ..." for the key columns. */
int bf__sql_key_match(const bf__sql *s, bf__sb *sb, const char *a, const char *b,
                      const char *const *key, size_t count);

/*
 * Append "the key of the row (its columns qualified by `alias`, which must
 * name the row's table when EXISTS is the form) is among `table`'s rows' keys", compared as "=" compares (the row's
 * affinity and collation; a NULL matches nothing, so the result may be NULL:
 * negate it as NOT coalesce(..., 0)). One key column: "a.k IN (SELECT k FROM
 * table)". Several, on SQLite: the row value "(a.k1, a.k2) IN (SELECT k1, k2
 * FROM table)"; in other dialects EXISTS with a key match, which they plan as
 * a semi-join. Either IN is answered by looking each of the table's keys up
 * once; SQLite ran the correlated EXISTS by reading `table` whole per row
 * (quadratic when `table` has no index its comparison can use, as an untyped
 * staging table has not). `filter` (may be NULL): a condition on the
 * table's own columns, unqualified, that picks the rows whose keys count
 * (a run's snapshot keys hold every batch's: "bf__batch = 3").
 */
int bf__sql_key_in(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *key,
                   size_t count, const char *table, const char *filter);

/*
 * Append the batch predicate on the plan's column, qualified with `alias`
 * (may be NULL); "1 = 1" for a NULL batch. The batch's parameters must be
 * bound (bf__binds_batch).
 */
int bf__sql_predicate(const bf__sql *s, bf__sb *sb, const bf_plan *plan, const bf_batch *batch,
                      const char *alias);
/* The same with `expr` (SQL text) standing for the plan's column, unless NULL. */
int bf__sql_predicate_on(const bf__sql *s, bf__sb *sb, const bf_plan *plan,
                         const bf_batch *batch, const char *alias, const char *expr);

/* What a statement template refers to (see bf__sql_build). */
typedef struct bf__tpl {
    const char *const *cols;
    size_t col_count;
    const char *const *key;
    size_t key_count;
    const bf_plan *plan;
    const bf_batch *batch;
} bf__tpl;

/*
 * Build a statement from a template where %T is a quoted identifier (next
 * argument), %C the column list and %K the key list (each qualified by the
 * next argument, which may be NULL), %M a key match "a.k = b.k AND ..." (two
 * aliases next), %N "the key is one of a table's keys" (the key's
 * qualifier, then the table: bf__sql_key_in), %P the batch predicate (alias
 * next) and %S a raw string (next argument). Everything else is copied.
 */
int bf__sql_build(const bf__sql *s, char **out, const bf__tpl *t, const char *tpl,
                  const char *const *args);
#define ARGS(...) ((const char *const[]){__VA_ARGS__})

/* Finish a built statement: BF_E_NOMEM if any append failed. */
int bf__sql_text(bf__sb *sb, char **out);

/* `name` quoted as bf__sql_ident quotes it, in a string of its own (*out, to free). */
int bf__sql_quoted(const bf__sql *s, char **out, const char *name);

/* Record a connection failure: "<dialect>: <message> (<what>)". BF_E_USER passes through. */
int bf__sql_fail(const bf__sql *s, int rc, const char *what);

typedef struct bf__stmt {
    bf__sql *s;
    void *h;
    const char *sql;
} bf__stmt;

/*
 * Prepare `sql` and bind every parameter it names from `binds` (may be
 * NULL); a parameter that binds do not hold fails with BF_E_INVALID.
 */
int bf__stmt_prepare(bf__stmt *st, bf__sql *s, const char *sql, const bf__binds *binds);
/* BF_SQL_ROW, BF_SQL_DONE or an error (recorded). */
int bf__stmt_step(bf__stmt *st);
int bf__stmt_column(bf__stmt *st, int index, bf_value *out);
void bf__stmt_finalize(bf__stmt *st);

/* Prepare, bind, step to the end; *changes (may be NULL) gets the changed rows. */
int bf__sql_run(bf__sql *s, const char *sql, const bf__binds *binds, int64_t *changes);
/* The first column of the first row as an integer (0 when NULL or no row). */
int bf__sql_query_int(bf__sql *s, int64_t *out, const char *sql, const bf__binds *binds);
/* Run parameterless SQL through the connection's execute. */
int bf__sql_exec(bf__sql *s, const char *sql);
/* Run every row of a query into `rows` (same width). */
int bf__sql_query_rows(bf__sql *s, bf_rows *rows, const char *sql, const bf__binds *binds);

/* Describe through the connection; BF_E_NOT_FOUND when there is no such table. */
int bf__sql_describe(bf__sql *s, bf_table_info **out, const char *table);
/* Whether the table exists (*out 0 or 1). */
int bf__sql_exists(bf__sql *s, int *out, const char *table);

/*
 * The fingerprint of `table`'s rows over `columns` (NULL/0: every column)
 * within the batch (NULL: the whole table) that also satisfy `where` (SQL
 * text whose identifiers the caller quoted; NULL: no more condition).
 */
int bf__sql_fingerprint_where(bf__sql *s, bf_fingerprint *out, const char *table,
                              const char *const *columns, size_t column_count,
                              const bf_plan *plan, const bf_batch *batch, const char *where);

/*
 * Check names against a table's description: each of `names` must be a
 * valid identifier (BF_E_INVALID) and a column of `table` (BF_E_NOT_FOUND,
 * "table t: no such column c"). Columns match as SQL matches identifiers:
 * ASCII letters in either case.
 */
int bf__sql_check_columns(const bf__sql *s, const bf_table_info *info, const char *table,
                          const char *const *names, size_t count);
/* The same for the column a batch's predicate is written on (nothing for a NULL batch). */
int bf__sql_check_scope(const bf__sql *s, const bf_table_info *info, const char *table,
                        const bf_plan *plan, const bf_batch *batch);

/*
 * *yes: `column` is the rowid of SQLite table `table` (its primary key's
 * only column, declared INTEGER, without an index of its own), so a value
 * matches one row at most, and every key is an integer. 0 on other dialects.
 * `info`: the table's description if the caller has it, else NULL.
 */
int bf__sql_rowid_column(bf__sql *s, const char *table, const bf_table_info *info,
                         const char *column, int *yes);
/* Whether two identifiers name the same thing: ASCII letters in either case, the rest exactly. */
int bf__sql_same_ident(const char *a, const char *b);
/*
 * On the built-in SQLite driver, `expr` (SQL) as column `column` of `table` holds and compares
 * it: "bf_affinity(expr, 'T') COLLATE "NOCASE"", converted by the column's affinity under its
 * collation. `info` describes the table (NULL: read here). *out is NULL on another dialect.
 */
int bf__sql_as_column(bf__sql *s, char **out, const char *table, const bf_table_info *info,
                      const char *column, const char *expr);
/* Every name of a write spec: its key and columns, and the batch's column. */
int bf__sql_check_spec(const bf__sql *s, const bf_table_info *info, const bf_write_spec *spec,
                       const bf_plan *plan, const bf_batch *batch);

/* Start, commit and roll back the write transaction. */
int bf__sql_begin(bf__sql *s);
int bf__sql_commit(bf__sql *s);
void bf__sql_rollback(bf__sql *s);

/* The driver vtable members, in sql_write.c and sql_measure.c. */
int bf__sql_stage(void *ud, int64_t *out, const bf_write_spec *spec, const bf_plan *plan,
                  const bf_batch *batch, int64_t run);
int bf__sql_publish(void *ud, bf_publish_result *out, const bf_write_spec *spec,
                    const bf_plan *plan, const bf_batch *batch, int64_t run, int64_t token);
int bf__sql_restore(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run);
int bf__sql_drop_snapshot(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                          const bf_batch *batch, int64_t run);
int bf__sql_drop_staging(void *ud, const bf_write_spec *spec, const bf_plan *plan,
                         const bf_batch *batch, int64_t run);
int bf__sql_cutover(void *ud, const bf_write_spec *spec, int64_t run, int keep);
/*
 * In one transaction, `table` becomes `out` and `in` becomes `table`; on
 * SQLite, views, triggers, other tables' foreign keys and the table's own
 * triggers and indexes (by name) stay with the name `table`.
 */
int bf__sql_swap(bf__sql *s, const char *table, const char *out, const char *in);
/*
 * On SQLite, make table `name` by `table`'s own CREATE TABLE statement
 * (every column definition: types, collations, NOT NULL, CHECK, UNIQUE,
 * keys); BF_E_UNSUPPORTED elsewhere, or when its text is not a plain
 * CREATE TABLE.
 */
int bf__sql_create_like(bf__sql *s, const char *table, const char *name);
int bf__sql_fence(void *ud, const char *table, int64_t run, size_t batch, int64_t token);
/*
 * The owner of the runs this connection fences from now on (copied; NULL:
 * none, as before owners were kept). A fence of a (table, run) that another
 * owner fenced fails with BF_E_CONFLICT, so a second ledger's run never takes
 * the first's fences and snapshots for its own.
 */
int bf__sql_set_owner(bf__sql *s, const char *owner);
/* BF_E_CONFLICT, naming it, when another owner fenced a batch of `run` on `table`. */
int bf__sql_foreign_run(bf__sql *s, const char *table, int64_t run);
/* Delete the fences of `run` on `table` that are this owner's (or no one's). */
int bf__sql_forget_fences(bf__sql *s, const char *table, int64_t run);
/*
 * The fences of `run` on `table` that `owner` (or no one) holds (*mine),
 * and another owner that holds one (*other, caller frees; NULL when none),
 * without setting the connection's owner. A NULL owner counts every fence
 * of the run.
 */
int bf__sql_run_fences(bf__sql *s, const char *table, int64_t run, const char *owner,
                       int64_t *mine, char **other);
/*
 * Whether batch `batch` (its ordinal) of run `run` on `table` has a
 * snapshot in the run's snapshot tables (*has). With `rows`, also the
 * temporary views of the connection that show its rows as a table of their
 * own (*rows), and for a keyed snapshot (a delta's or a merge's) the keys
 * it touched (*keys, else NULL): what bf_diff reads as before_table and
 * before_keys_table. The views are replaced by the next call.
 */
int bf__sql_snapshot_views(bf__sql *s, const char *table, int64_t run, size_t batch, int *has,
                           const char **rows, const char **keys);
int bf__sql_fingerprint(void *ud, bf_fingerprint *out, const char *table,
                        const char *const *columns, size_t column_count, const bf_plan *plan,
                        const bf_batch *batch);
int bf__sql_profile(void *ud, bf_profile *profile, const char *table, const bf_profile_spec *spec,
                    const bf_plan *plan, const bf_batch *batch);
/*
 * A references check's counts, measured in a profile's scan: rows with a
 * NULL in one of `columns`, and rows with none whose values match no row
 * of `parent` (column i against parent_columns[i]), as bf__sql_orphans
 * counts them. The caller has checked that every name exists.
 */
typedef struct bf__orphan_probe {
    const char *const *columns;
    const char *const *parent_columns;
    size_t count;
    const char *parent;
    int64_t nulls, orphans; /* out */
} bf__orphan_probe;

/* What else a profile's scan measures for its caller (bf__sql_profile_with). */
typedef struct bf__profile_extra {
    bf_fingerprint *all;  /* the fingerprint of every column, as bf__sql_fingerprint gives it with
                             no columns named; NULL: not wanted */
    bf_rows *segments;    /* the segment rows of every column by key, as bf__sql_key_segments
                             fills them (segment, rows, fingerprint); NULL: not wanted */
    const char *const *key;
    size_t key_count;
    int64_t segment_count;
    bf__orphan_probe *probes; /* filled in place; NULL: none */
    size_t probe_count;
} bf__profile_extra;

/*
 * bf__sql_profile, and in the same scan of `table` within the batch what
 * `extra` asks. BF_E_UNSUPPORTED (nothing read) where the dialect has no
 * aggregates to do all of it in one statement.
 */
int bf__sql_profile_with(bf__sql *s, bf_profile *p, const bf__profile_extra *extra,
                         const char *table, const bf_profile_spec *spec, const bf_plan *plan,
                         const bf_batch *batch);
int bf__sql_duplicates(void *ud, bf_rows *samples, int64_t *out_count, const char *table,
                       const char *const *key, size_t key_count, size_t max_samples,
                       const bf_plan *plan, const bf_batch *batch);
/*
 * bf__sql_duplicates with the rows of a NULL key part also apart in
 * *out_nulls (may be NULL): one ordered pass over the key. samples may be
 * NULL; its columns are the key's and the rows per key.
 */
int bf__sql_duplicates_nulls(bf__sql *s, bf_rows *samples, int64_t *out_count,
                             int64_t *out_nulls, const char *table, const char *const *key,
                             size_t key_count, size_t max_samples, const bf_plan *plan,
                             const bf_batch *batch);
int bf__sql_orphans(void *ud, bf_rows *samples, int64_t *out_count, const char *table,
                    const char *const *columns, size_t column_count, const char *parent,
                    const char *const *parent_columns, size_t max_samples, const bf_plan *plan,
                    const bf_batch *batch);
int bf__sql_segments(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                     size_t column_count, const char *key_column, int64_t lo, int64_t hi,
                     int64_t width);
int bf__sql_fetch(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                  size_t column_count, const char *key_column, const bf_value *lo,
                  const bf_value *hi, size_t limit);
int bf__sql_key_boundaries(void *ud, bf_rows *rows, const char *table, const char *key_column,
                           int64_t lo, int64_t hi, int64_t rows_per_batch);
int bf__sql_partitions(void *ud, bf_rows *rows, const char *table, const char *column);
int bf__sql_count_batches(void *ud, int64_t *out_counts, const bf_plan *plan, const char *table);

/*
 * The SQL layer under a driver made by bf_driver_new_sql() (the SQLite
 * reference driver included), or NULL for a driver made from a host's
 * bf_driver_vtable. For modules above the driver (validate) that write
 * their own statements through the same quoter and binder.
 */
bf__sql *bf__driver_sql(bf_driver *driver);

/*
 * In a child after fork(), for bf_driver_free(): free the SQL layer's own
 * memory, and the built-in SQLite connection's wrapper, but neither close
 * nor touch the connection, which belongs to the parent; a host's
 * connection userdata is left as it is (its free_userdata is not called).
 */
void bf__sql_forget(bf__sql *s);
int bf__sql_key_segments(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                         size_t column_count, const char *const *key, size_t key_count,
                         int64_t segments, const bf_plan *plan, const bf_batch *batch);
int bf__sql_segment_rows(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                         size_t column_count, const char *const *expressions,
                         size_t expression_count, const char *const *key, size_t key_count,
                         int64_t segments, const int64_t *wanted, size_t wanted_count,
                         const bf_plan *plan, const bf_batch *batch);
int bf__sql_evaluate(void *ud, bf_rows *rows, const char *table, const char *const *expressions,
                     size_t expression_count, const bf_plan *plan, const bf_batch *batch);

#endif
