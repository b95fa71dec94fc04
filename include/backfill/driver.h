/*
 * Warehouse drivers: the bf_driver handle and the operations the runbook
 * performs on a warehouse (describe, stage, publish by write pattern,
 * snapshots and restore, fencing, fingerprints and measurements).
 *
 * A driver is made from a vtable (see <backfill/sys/driver.h>) or opened with
 * the SQLite reference driver. Every operation goes through the vtable; an
 * operation the driver does not provide fails with BF_E_UNSUPPORTED. A
 * handle is used by one thread at a time and keeps the message of its own
 * last failure (bf_driver_last_error), besides the per-thread one.
 *
 * Scopes. Operations that read "a batch" take the plan and one of its
 * batches; the predicate is written on the plan's column with the batch's
 * bound parameters: TIME `col >= :start AND col < :end`, KEY
 * `col >= :lo AND col < :hi`, PARTITION `col = :partition`, BUCKET
 * `bf_bucket(col, :buckets) = :bucket`. A NULL batch means the whole table.
 *
 * Identifiers (tables, columns) are validated and quoted by the library;
 * values are always bound, never spliced into SQL.
 */
#ifndef BACKFILL_DRIVER_H
#define BACKFILL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/fingerprint.h"
#include "backfill/plan.h"
#include "backfill/types.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * bf_driver, bf_table_info, bf_rows, bf_profile and bf_driver_vtable (defined
 * in <backfill/sys/driver.h>) are declared in <backfill/types.h>.
 */

/* ---- Handles ----------------------------------------------------------- */

/* Create the warehouse file if it does not exist (bf_driver_open_sqlite). */
#define BF_SQLITE_CREATE 1u

/*
 * Open the SQLite warehouse at `path` with the SQLite reference driver.
 * Without BF_SQLITE_CREATE a missing file fails with BF_E_NOT_FOUND; other
 * flag bits fail with BF_E_INVALID, and so does a file that is not a SQLite
 * database ("warehouse PATH: file is not a database"), found by reading its
 * schema at once. The caller owns *out and frees it with bf_driver_free().
 */
BF_API int bf_driver_open_sqlite(bf_driver **out, const char *path, unsigned flags);

/*
 * Make a driver from a host's vtable. The vtable is copied; `userdata` is
 * passed to every member and, when the driver is freed, to `free_userdata`
 * (which may be NULL). A vtable whose version is newer than this library's
 * BF_DRIVER_VTABLE_VERSION (or 0) fails with BF_E_ABI. On failure
 * free_userdata is not called. The caller owns *out.
 */
BF_API int bf_driver_new(bf_driver **out, const bf_driver_vtable *vtable, void *userdata,
                         void (*free_userdata)(void *userdata));

/* Release the driver and its userdata. Accepts NULL. */
BF_API void bf_driver_free(bf_driver *driver);

/* The message of this handle's last failure, or "". Owned by the handle. */
BF_API const char *bf_driver_last_error(const bf_driver *driver);

/* The code of this handle's last failure, or BF_OK. */
BF_API int bf_driver_last_error_code(const bf_driver *driver);

/* ---- Describe ---------------------------------------------------------- */

/*
 * Describe `table`: its columns in declared order (every column `SELECT *`
 * returns, generated ones included and marked), their declared types and
 * the primary key. BF_E_NOT_FOUND when there is no such table. The caller
 * owns *out and frees it with bf_table_info_free().
 */
BF_API int bf_driver_describe(bf_table_info **out, bf_driver *driver, const char *table);

/* The number of columns. */
BF_API size_t bf_table_info_column_count(const bf_table_info *info);

/* Column `index`'s name, or NULL past the end. Owned by info. */
BF_API const char *bf_table_info_column_name(const bf_table_info *info, size_t index);

/* Column `index`'s declared type ("" when none), or NULL past the end. Owned by info. */
BF_API const char *bf_table_info_column_type(const bf_table_info *info, size_t index);

/* Column `index`'s 1-based position in the primary key, 0 when not part of it. */
BF_API size_t bf_table_info_column_pk(const bf_table_info *info, size_t index);

/*
 * 1 when column `index` is generated (computed by the warehouse from the
 * other columns), 0 otherwise or past the end. A table's columns are every
 * column `SELECT *` returns, generated ones included: reads (fingerprints,
 * profiles, fetches) take them all, writes (staging, publish, restore) only
 * the others.
 */
BF_API int bf_table_info_column_generated(const bf_table_info *info, size_t index);

/* Release a description. Accepts NULL. */
BF_API void bf_table_info_free(bf_table_info *info);

/* ---- Rows: results of fetches and samples ------------------------------ */

/* The number of rows. */
BF_API size_t bf_rows_count(const bf_rows *rows);

/* The number of columns. */
BF_API size_t bf_rows_width(const bf_rows *rows);

/* Column `index`'s name, or NULL past the end. Owned by rows. */
BF_API const char *bf_rows_column(const bf_rows *rows, size_t index);

/*
 * The value at (row, column). Text and blob bytes belong to rows and live
 * as long as it. BF_E_NOT_FOUND past the end.
 */
BF_API int bf_rows_value(bf_value *out, const bf_rows *rows, size_t row, size_t column);

/* Release rows. Accepts NULL. */
BF_API void bf_rows_free(bf_rows *rows);

/* ---- Writing: staging, publishing, snapshots, fencing ------------------ */

/* How a batch is written: bf_write_strategy, in <backfill/types.h>. */

/*
 * What a publish needs from the brief, filled by the host. The strings and
 * arrays are borrowed for the duration of each call.
 */
typedef struct bf_write_spec {
    unsigned version;
    /* since version 1 */
    const char *table;            /* target.table */
    const char *const *key;       /* target.key columns (merge needs them) */
    size_t key_count;
    const char *const *columns;   /* target.columns: what merge updates (0: every non-key column) */
    size_t column_count;
    const char *select;           /* job.select: one SELECT yielding the target's columns that are
                                     not generated, in their order */
    bf_write_strategy strategy;   /* write.strategy */
    int delete_missing;           /* merge: delete rows in bounds the job no longer produces */
    const char *version_table;    /* parallel_version: NULL means "<table>__bf_v<run>" */
    int snapshot;                 /* keep each batch's pre-image for restore */
} bf_write_spec;

#define BF_WRITE_SPEC_VERSION 1u
#define BF_WRITE_SPEC_INIT {BF_WRITE_SPEC_VERSION, NULL, NULL, 0, NULL, 0, NULL, \
                            BF_WRITE_PARTITION_OVERWRITE, 0, NULL, 0}

/*
 * Zero *spec and set its version (partition_overwrite, no snapshot). Fails
 * with BF_E_ABI for a version this library does not know.
 */
BF_API int bf_write_spec_init(bf_write_spec *spec, unsigned version);

/* Rows a publish changed, filled by the library. */
typedef struct bf_publish_result {
    unsigned version;
    /* since version 1 */
    int64_t written;  /* rows written into the table (inserted plus updated) */
    int64_t updated;  /* of those, rows updated in place (a key's values changed) */
    int64_t deleted;  /* rows removed */
    /* A delta publish (docs/driver.md) counts only the rows it touched: rows staged
     * exactly as the table holds them are in none of the three. */
} bf_publish_result;

#define BF_PUBLISH_RESULT_VERSION 1u
#define BF_PUBLISH_RESULT_INIT {BF_PUBLISH_RESULT_VERSION, 0, 0, 0}

/* Zero *result and set its version; BF_E_ABI for an unknown version. */
BF_API int bf_publish_result_init(bf_publish_result *result, unsigned version);

/*
 * Stage `batch` of `plan` for run `run`: run spec->select with the batch's
 * bound parameters (plus :run and :batch, the batch ordinal) into the
 * batch's own staging table, replacing an earlier staging of the same
 * batch. *out (may be NULL) receives the number of staged rows. A parameter
 * the select uses but the batch does not bind fails with BF_E_INVALID.
 */
BF_API int bf_driver_stage(int64_t *out, bf_driver *driver, const bf_write_spec *spec,
                           const bf_plan *plan, const bf_batch *batch, int64_t run);

/*
 * Publish the staged rows of `batch` by spec->strategy in one transaction:
 * the fence is checked (a token lower than the highest seen for this batch
 * fails with BF_E_LEASE_LOST and nothing is written), the pre-image is saved
 * when spec->snapshot is set (the first publish of a batch keeps it; reruns
 * add only what they newly touch), and the rows are written. Staged rows
 * that would make a rerun differ fail with BF_E_VALIDATION: rows outside the
 * batch's bounds for the overwriting patterns, NULL or repeated keys for
 * merge. An unstaged batch fails with BF_E_STATE. Any failure rolls
 * everything back. *out (may be NULL; its version set by the caller)
 * receives the row counts. With spec->key on a SQL driver whose dialect
 * compares values exactly (SQLite), only the delta is written: rows whose
 * key is gone are deleted, rows whose values differ updated, new keys
 * inserted, equal rows left alone (docs/driver.md, "Delta publishes").
 */
BF_API int bf_driver_publish(bf_publish_result *out, bf_driver *driver, const bf_write_spec *spec,
                             const bf_plan *plan, const bf_batch *batch, int64_t run,
                             int64_t token);

/*
 * Undo the batch exactly, in one transaction, and drop the snapshot: put the
 * pre-image back (append: delete exactly the rows it added, found by their
 * values). BF_E_NOT_FOUND when the batch has no snapshot. BF_E_CONFLICT,
 * with nothing changed, when what the batch wrote is no longer what it
 * wrote (another writer changed rows in its bounds or keys, or changed or
 * deleted appended rows), so an exact undo cannot be proved.
 */
BF_API int bf_driver_restore(bf_driver *driver, const bf_write_spec *spec, const bf_plan *plan,
                             const bf_batch *batch, int64_t run);

/* Drop the batch's snapshot (no error when there is none). */
BF_API int bf_driver_drop_snapshot(bf_driver *driver, const bf_write_spec *spec,
                                   const bf_plan *plan, const bf_batch *batch, int64_t run);

/*
 * The batch's snapshot as tables bf_diff can read (bf_diff_options
 * before_table and before_keys_table): a run keeps every batch's snapshot
 * in the same tables (docs/driver.md, "Snapshots"), and this makes
 * temporary views of the driver's connection that show one batch's rows
 * (*rows) and, for a snapshot that kept only the keys it touched (a
 * delta's or a merge's), those keys (*keys; else NULL). The names stay
 * valid until the next call on this driver, which replaces the views.
 * BF_E_NOT_FOUND when the batch has no snapshot; BF_E_UNSUPPORTED for a
 * driver not built on libbackfill's SQL layer (a host's own vtable).
 */
BF_API int bf_driver_snapshot_views(bf_driver *driver, const char *table, const bf_batch *batch,
                                    int64_t run, const char **rows, const char **keys);

/* Drop the batch's staging table (no error when there is none). */
BF_API int bf_driver_drop_staging(bf_driver *driver, const bf_write_spec *spec,
                                  const bf_plan *plan, const bf_batch *batch, int64_t run);

/*
 * Cut over run `run` in one transaction. staging_swap: the target becomes
 * "<table>__bf_backup_<run>" and the full staging table becomes the target.
 * parallel_version: the same with the version table, or, when `keep` is set,
 * nothing moves and both tables stay. BF_E_STATE when nothing was published
 * for the run, BF_E_CONFLICT when the backup name is taken, BF_E_INVALID for
 * the other strategies.
 */
BF_API int bf_driver_cutover(bf_driver *driver, const bf_write_spec *spec, int64_t run, int keep);

/*
 * Raise the fence of (table, run, batch ordinal) to `token`, so that publishes
 * with a lower token fail with BF_E_LEASE_LOST. A token lower than the
 * recorded one fails with BF_E_LEASE_LOST itself.
 */
BF_API int bf_driver_fence(bf_driver *driver, const char *table, int64_t run, size_t batch,
                           int64_t token);

/* ---- Measuring --------------------------------------------------------- */

/*
 * The fingerprint of `table`'s rows over `columns` (NULL or 0: every column
 * in declared order) within `batch` of `plan` (NULL batch: the whole table).
 */
BF_API int bf_driver_fingerprint(bf_fingerprint *out, bf_driver *driver, const char *table,
                                 const char *const *columns, size_t column_count,
                                 const bf_plan *plan, const bf_batch *batch);

/* What one profiling scan computes; filled by the host. */
typedef struct bf_profile_spec {
    unsigned version;
    /* since version 1 */
    const char *const *null_columns;   /* count NULLs in each */
    size_t null_count;
    const char *const *sum_columns;    /* SUM() of each */
    size_t sum_count;
    const char *const *minmax_columns; /* MIN() and MAX() of each */
    size_t minmax_count;
    int fingerprint;                   /* also fingerprint the rows */
    const char *const *fingerprint_columns; /* over these (0: every column) */
    size_t fingerprint_count;
} bf_profile_spec;

#define BF_PROFILE_SPEC_VERSION 1u
#define BF_PROFILE_SPEC_INIT {BF_PROFILE_SPEC_VERSION, NULL, 0, NULL, 0, NULL, 0, 0, NULL, 0}

/* Zero *spec and set its version; BF_E_ABI for an unknown version. */
BF_API int bf_profile_spec_init(bf_profile_spec *spec, unsigned version);

/*
 * Compute the row count and every metric of `spec` over `table` within the
 * scope in one scan where the driver can. The caller owns *out and frees it
 * with bf_profile_free().
 */
BF_API int bf_driver_profile(bf_profile **out, bf_driver *driver, const char *table,
                             const bf_profile_spec *spec, const bf_plan *plan,
                             const bf_batch *batch);

/* Rows in the scope. */
BF_API int64_t bf_profile_rows(const bf_profile *profile);

/* NULLs in spec->null_columns[index], or -1 past the end. */
BF_API int64_t bf_profile_nulls(const bf_profile *profile, size_t index);

/*
 * SUM(), MIN() and MAX() of the spec's columns at `index` (NULL when the
 * scope has no non-NULL value). Text belongs to the profile. BF_E_NOT_FOUND
 * past the end.
 */
BF_API int bf_profile_sum(bf_value *out, const bf_profile *profile, size_t index);
BF_API int bf_profile_min(bf_value *out, const bf_profile *profile, size_t index);
BF_API int bf_profile_max(bf_value *out, const bf_profile *profile, size_t index);

/* The fingerprint; BF_E_NOT_FOUND when the spec did not ask for one. */
BF_API int bf_profile_fingerprint(bf_fingerprint *out, const bf_profile *profile);

/* Release a profile. Accepts NULL. */
BF_API void bf_profile_free(bf_profile *profile);

/*
 * Duplicates of the key `key` (key_count columns) in `table` within the scope.
 * *out_count: rows that break uniqueness, i.e. for every key value held by n
 * rows n - 1, plus every row with a NULL in any key column. *out (may be NULL)
 * receives up to max_samples duplicated key values, smallest first, as rows of
 * the key columns and a column "rows" with their row count. The caller owns
 * *out (bf_rows_free).
 */
BF_API int bf_driver_duplicates(bf_rows **out, int64_t *out_count, bf_driver *driver,
                                const char *table, const char *const *key, size_t key_count,
                                size_t max_samples, const bf_plan *plan, const bf_batch *batch);

/*
 * Orphans: rows of `table` within the scope whose `columns` match no row of
 * `parent` on `parent_columns` (same count, compared pairwise with =). A row
 * with a NULL in any of its columns is not an orphan (SQL's MATCH SIMPLE:
 * a NULL reference refers to nothing). *out_count: orphan rows. *out (may be
 * NULL): up to max_samples distinct orphan values, smallest first, with a
 * column "rows". The caller owns *out.
 */
BF_API int bf_driver_orphans(bf_rows **out, int64_t *out_count, bf_driver *driver,
                             const char *table, const char *const *columns, size_t column_count,
                             const char *parent, const char *const *parent_columns,
                             size_t max_samples, const bf_plan *plan, const bf_batch *batch);

/*
 * Segment fingerprints for diffs: the integer `key_column` range [lo, hi)
 * split into segments [lo + k*width, lo + (k+1)*width). *out gets one row
 * per non-empty segment, in key order: "segment" (its lower bound), "rows",
 * "fingerprint" (text rows:hex32 over `columns`, NULL/0 meaning all).
 */
BF_API int bf_driver_segments(bf_rows **out, bf_driver *driver, const char *table,
                              const char *const *columns, size_t column_count,
                              const char *key_column, int64_t lo, int64_t hi, int64_t width);

/*
 * Rows of `table` with lo <= key_column < hi (a NULL bound pointer, or a
 * bound of type NULL, leaves that side open), ordered by key_column, at most
 * `limit` (0: no limit), with `columns` (NULL/0: all).
 */
BF_API int bf_driver_fetch(bf_rows **out, bf_driver *driver, const char *table,
                           const char *const *columns, size_t column_count, const char *key_column,
                           const bf_value *lo, const bf_value *hi, size_t limit);

/*
 * Batch boundaries for `rows_per_batch` planning by walking the integer key
 * `key_column` over [lo, hi): *out receives lo, then each key at which the
 * next rows_per_batch rows begin (strictly increasing: a run of equal keys is
 * never split), then hi; *out_count their number (at least 2). Free *out with
 * bf_free().
 */
BF_API int bf_driver_key_boundaries(int64_t **out, size_t *out_count, bf_driver *driver,
                                    const char *table, const char *key_column, int64_t lo,
                                    int64_t hi, int64_t rows_per_batch);

/*
 * The distinct non-NULL values of `column` in `table`, smallest first, as
 * rows of one column. The caller owns *out.
 */
BF_API int bf_driver_partitions(bf_rows **out, bf_driver *driver, const char *table,
                                const char *column);

/*
 * Run SQL with no parameters and no results, such as a downstream asset's
 * refresh_sql; several statements separated by ';' are allowed.
 */
BF_API int bf_driver_execute(bf_driver *driver, const char *sql);

/* ---- Planning against the warehouse ------------------------------------ */

/*
 * The pinned plan of `brief` against the warehouse, as `backfill plan
 * --warehouse` makes it. First the planner is set from the brief
 * (bf_planner_new_from_brief()); then every name the brief gives is checked
 * against the warehouse: the target table, `target.time_column`,
 * `target.key`, `target.columns`, the scope's column, and each validation
 * check's `columns`, `parent` and `parent_columns`; then, for a brief
 * batched by `rows_per_batch`, the key column is walked once over the scope
 * (bf_driver_key_boundaries()) and the batches cut there; last the plan is
 * made and proved to tile the scope (bf_plan_verify()). Nothing is written.
 *
 * A fault of the brief (a name the warehouse lacks: "$.target.time_column:
 * table fct_orders has no column order_tz"; a scope that cannot be planned)
 * fails with BF_E_INVALID and a message naming the JSON path, and leaves
 * the handle's last error at BF_OK; a failure of the warehouse (it cannot
 * be read, a key that is not an integer) is recorded on the handle as for
 * every other operation. The caller frees *out with bf_plan_free().
 */
BF_API int bf_driver_plan_brief(bf_plan **out, bf_driver *driver, const bf_brief *brief);

/*
 * Each batch's rows in `table` now: out_counts[i] (an array of
 * bf_plan_count(plan) elements) receives the number of rows the predicate
 * of batch i selects, exactly as bf_driver_profile() would count them
 * batch by batch, but in one scan of the plan's scope: the SQL drivers
 * group the scope's rows by batch in one statement (a dialect's
 * batch_counts_function, else a GROUP BY over a bucket expression). A
 * driver without the count_batches member is asked batch by batch.
 * On failure out_counts is left unspecified.
 */
BF_API int bf_driver_count_batches(int64_t *out_counts, bf_driver *driver, const bf_plan *plan,
                                   const char *table);

/* ---- Segments by key hash (since driver vtable version 3) -------------- */

/* The most segments bf_driver_key_segments() and bf_driver_segment_rows() take. */
#define BF_SEGMENTS_MAX 4194304

/*
 * The segment of a key among `segments` (1 to BF_SEGMENTS_MAX): XXH3-64
 * (seed 0) of the concatenated canonical encodings of the key's values
 * (docs/fingerprint.md), modulo segments. Works for any key: integer, text,
 * real, blob, composite; deterministic across platforms and releases.
 * -1 for a bad argument or out of memory.
 */
BF_API int64_t bf_key_segment(const bf_value *key, size_t key_count, int64_t segments);

/*
 * Segment fingerprints by key hash: the rows of `table` within the scope
 * (NULL batch: the whole table) split by bf_key_segment() of their `key`
 * columns. *out gets one row per non-empty segment, segment order:
 * "segment", "rows", "fingerprint" (rows:hex32 over `columns`, NULL/0: all).
 */
BF_API int bf_driver_key_segments(bf_rows **out, bf_driver *driver, const char *table,
                                  const char *const *columns, size_t column_count,
                                  const char *const *key, size_t key_count, int64_t segments,
                                  const bf_plan *plan, const bf_batch *batch);

/*
 * The rows of `table` within the scope whose key lies in one of the
 * `wanted` segments (of `segments`), in no particular order: `columns`
 * (NULL/0: all), then one column "expr1", "expr2", ... per expression, each
 * SQL the caller wrote (like job.select: run as written) evaluated per row.
 */
BF_API int bf_driver_segment_rows(bf_rows **out, bf_driver *driver, const char *table,
                                  const char *const *columns, size_t column_count,
                                  const char *const *expressions, size_t expression_count,
                                  const char *const *key, size_t key_count, int64_t segments,
                                  const int64_t *wanted, size_t wanted_count,
                                  const bf_plan *plan, const bf_batch *batch);

/*
 * Evaluate aggregate SQL expressions (the caller's own SQL, e.g. "SUM(amount)")
 * over the rows of `table` within the scope: *out gets one row, columns
 * "expr1", "expr2", ...
 */
BF_API int bf_driver_evaluate(bf_rows **out, bf_driver *driver, const char *table,
                              const char *const *expressions, size_t expression_count,
                              const bf_plan *plan, const bf_batch *batch);

#ifdef __cplusplus
}
#endif

#endif
