/*
 * Internals of the driver module: the result objects drivers fill, and the
 * constructors the library uses for them.
 */
#ifndef BF_DRIVER_INTERNAL_H
#define BF_DRIVER_INTERNAL_H

#include "backfill/sys/driver.h"
#include "fingerprint/fp_internal.h"

struct bf_table_info {
    size_t count;
    size_t cap;
    struct bf__column {
        char *name;
        char *type;
        size_t pk;
        int generated; /* computed by the warehouse: read, never written */
    } *columns;
};

/* Rows of `width` values each; text and blob values own a copy of their bytes. */
struct bf_rows {
    size_t width;
    char **names;
    size_t count;
    size_t cap; /* in rows */
    bf_value *cells;
};

struct bf_profile {
    int64_t rows;
    size_t null_count;
    size_t sum_count;
    size_t minmax_count;
    int64_t *nulls;
    bf_value *sums;
    bf_value *mins;
    bf_value *maxs;
    int has_fingerprint;
    bf_fingerprint fingerprint;
};

int bf__table_info_new(bf_table_info **out);
int bf__rows_new(bf_rows **out, const char *const *names, size_t width);
/* A profile with room for every metric of `spec`, all NULL/0. */
int bf__profile_new(bf_profile **out, const bf_profile_spec *spec);

/* Copy a value, duplicating text and blob bytes (NUL-terminated); free with bf__value_dispose. */
int bf__value_copy(bf_value *dst, const bf_value *src);
void bf__value_dispose(bf_value *value);

/*
 * The internal constructor behind the SQLite driver: the connection vtable
 * over sqlite3 and an open connection as its userdata (free it with
 * bf__sqlite_close). Tests wrap it to inject failures.
 */
extern const bf_sql_vtable bf__sqlite_vtable;
int bf__sqlite_open(void **out, const char *path, unsigned flags);
void bf__sqlite_close(void *conn);
/* In a child after fork(): free the wrapper of `conn` but leave its sqlite3 connection open. */
void bf__sqlite_forget(void *conn);

/*
 * For the module's composite operations (bf_driver_plan_brief): forget the
 * handle's last failure, and record the thread's last failure on it.
 */
void bf__driver_clear_error(bf_driver *driver);
int bf__driver_fail_from_thread(bf_driver *driver);

/*
 * For a caller that drops a batch's staging table right after publishing
 * it (the runner): from now on a publish through this SQL driver that
 * succeeds drops the staging table in the publish's own transaction, one
 * commit fewer per batch; a publish that fails leaves it. A driver made
 * from a host's vtable is left as it is. Returns whether the driver now
 * consumes its staging (1) or was left as it is (0).
 */
int bf__driver_consume_staging(bf_driver *driver);

/*
 * A SQL driver's fence owner (bf__sql_set_owner), the check that no other
 * owner fenced `run` on `table` (bf__sql_foreign_run), and the removal of
 * the run's own fences (bf__sql_forget_fences). A host's own driver keeps
 * its warehouse state its own way: BF_OK, nothing done.
 */
int bf__driver_set_owner(bf_driver *driver, const char *owner);
int bf__driver_foreign_run(bf_driver *driver, const char *table, int64_t run);
int bf__driver_forget_fences(bf_driver *driver, const char *table, int64_t run);
/*
 * `table` becomes `out` and `in` becomes `table` in one transaction, the
 * name's dependents staying with it (bf__sql_swap); BF_E_UNSUPPORTED for a
 * driver not built on the SQL layer.
 */
int bf__driver_swap(bf_driver *driver, const char *table, const char *out, const char *in);
/*
 * Whether the job's SELECT compiles against the warehouse (prepared, never
 * run): BF_E_INVALID naming `where` and the warehouse's message when it
 * names a table, column or function the warehouse lacks. BF_OK for a
 * driver not built on the SQL layer.
 */
int bf__driver_check_select(bf_driver *driver, const char *select, const char *where);
/*
 * bf_driver_execute() in one transaction of its own on a SQL driver: all of `sql` (several
 * statements) or, on a failure, none of it. A host's driver without SQL: as it executes.
 */
int bf__driver_execute_atomic(bf_driver *driver, const char *sql);
/* Table `name` made like `table` (bf__sql_create_like); BF_E_UNSUPPORTED when it cannot be. */
int bf__driver_create_like(bf_driver *driver, const char *table, const char *name);
/* bf__sql_run_fences; a host's own driver: *mine is -1 (not known), *other NULL. */
int bf__driver_run_fences(bf_driver *driver, const char *table, int64_t run, const char *owner,
                          int64_t *mine, char **other);
/*
 * Whether a batch (its ordinal) of `run` on `table` has a snapshot, and
 * views of its rows and keys for bf_diff (bf__sql_snapshot_views; rows and
 * keys may be NULL). A host's own driver keeps its snapshots its own way:
 * *has is 0.
 */
int bf__driver_snapshot_views(bf_driver *driver, const char *table, int64_t run, size_t batch,
                              int *has, const char **rows, const char **keys);

/*
 * What a caller measures of a batch as its publish leaves it (the runner:
 * its checks' after scan), called by a SQL driver's publish on its own
 * connection inside the publish's transaction, once the rows are written
 * and before the commit, so that nothing else can have written meanwhile.
 * When the measure sets *have, *written is the fingerprint of every column
 * of the destination's rows within the batch's bounds (what
 * bf__sql_fingerprint gives for them), and an overwriting publish records
 * it as what it wrote instead of reading the rows again for it. A measure
 * that fails (returns other than BF_OK) fails the publish with its code,
 * which then rolls back: a statement that failed may have ended the
 * transaction, and nothing after it may be committed on its own.
 */
typedef int (*bf__publish_measure)(void *ctx, bf_fingerprint *written, int *have);

/*
 * bf_driver_publish, with `measure` (may be NULL) called as above on a SQL
 * driver. *measured says whether it was: a host's driver, or a publish
 * that failed before writing, never calls it, and its caller then measures
 * after the publish as before.
 */
int bf__driver_publish_measured(bf_publish_result *out, bf_driver *driver,
                                const bf_write_spec *spec, const bf_plan *plan,
                                const bf_batch *batch, int64_t run, int64_t token,
                                bf__publish_measure measure, void *ctx, int *measured);

/*
 * What SQLite's plan for `select` (a job, with `batch`'s parameters bound)
 * reads whole: the detail of each "SCAN x" step without its "SCAN " (x is a
 * table or its alias, "x USING COVERING INDEX i" for a whole index), in plan
 * order. *out (NULL-terminated) and its strings are freed with bf__free.
 * BF_E_UNSUPPORTED for drivers other than SQLite's.
 */
int bf__driver_whole_scans(char ***out, size_t *count, bf_driver *d, const char *select,
                           const bf_batch *batch);

/*
 * Segment accumulators by key hash (segments.c), shared by the SQL layer's
 * fallback and the SQLite aggregate: one fingerprint per segment.
 */
typedef struct bf__segacc {
    int64_t n;
    bf_fingerprint *fps; /* n of them, zeroed */
    bf__fprow row;       /* the encoder, reused row after row */
} bf__segacc;
int bf__segacc_init(bf__segacc *acc, int64_t segments);
void bf__segacc_dispose(bf__segacc *acc);
/* Add one row: its key values (for the segment) and its columns (for the fingerprint). */
int bf__segacc_add(bf__segacc *acc, const bf_value *key, size_t key_count, const bf_value *cols,
                   size_t col_count);
/*
 * The same one step at a time, for a caller that encodes values itself
 * (fp_internal.h's inline puts, one encoding): the segment of the key
 * encoded in acc->row; the caller then encodes the columns there and
 * applies the row to acc->fps[segment].
 */
int64_t bf__segacc_segment(const bf__segacc *acc);
/* The text "segment rows:hex32\n" per non-empty segment; free with bf__free. */
int bf__segacc_text(char **out, const bf__segacc *acc);
/* Parse such text into rows (segment, rows, fingerprint). */
int bf__segacc_parse(bf_rows *rows, const char *text);
/* A wanted-set membership bitmap: parse "s1,s2,..." (segments < n). */
int bf__segset_parse(unsigned char **out, const char *text, int64_t n);
/* 1 when the key lies in a segment of the set, 0 when not, -1 on failure. */
int bf__segset_has(const unsigned char *set, const bf_value *key, size_t key_count, int64_t n);

#endif
