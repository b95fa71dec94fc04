/*
 * For people who write warehouse drivers. Two ways in:
 *
 * 1. bf_driver_vtable: every driver operation (describe, stage, publish, ...)
 *    implemented by the host; bf_driver_new() turns it into a bf_driver.
 * 2. bf_sql_vtable: a tiny connection vtable (execute, prepare, bind, step,
 *    column, changes, describe, dialect facts); bf_driver_new_sql() puts the
 *    library's SQL implementation of every operation on top of it. A new
 *    SQL warehouse needs only this. The SQLite reference driver is this.
 *
 * Both are versioned: `version` first, members appended only, each marked
 * with the version that added it. The library refuses a vtable from a newer
 * library with BF_E_ABI; a NULL member means "not provided" and the operation
 * fails with BF_E_UNSUPPORTED.
 *
 * Ownership: vtables are copied, this header's as the ledger's store vtable
 * (<backfill/sys/store.h>): bf_driver_new() and bf_driver_new_sql() copy the
 * host's vtable up to its version, so it may be a stack variable; only the
 * userdata is kept, released through free_userdata.
 *
 * Members return BF_OK or a negative BF_E_* code, after setting a message
 * with bf_error_set() (<backfill/sys/errors.h>), which the dispatch keeps.
 * BF_E_USER is passed back to the caller untouched, so a binding can
 * re-raise its own exception.
 * Results are written into library-owned objects through the setters below.
 */
#ifndef BACKFILL_SYS_DRIVER_H
#define BACKFILL_SYS_DRIVER_H

#include "backfill/driver.h"
#include "backfill/sys/errors.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Result objects a driver fills ------------------------------------- */

/* Append a column to a description being filled; `type` may be "" or NULL. */
BF_API int bf_table_info_add_column(bf_table_info *info, const char *name, const char *type,
                                    size_t pk_position);

/*
 * Mark column `index` of a description being filled as generated (or not):
 * the library reads it but never writes it. BF_E_NOT_FOUND past the end.
 */
BF_API int bf_table_info_set_generated(bf_table_info *info, size_t index, int generated);

/* Append a row of exactly bf_rows_width(rows) values (copied). */
BF_API int bf_rows_append(bf_rows *rows, const bf_value *values, size_t count);

/* Setters of a profile being filled; the index is into the spec's lists. Values are copied. */
BF_API int bf_profile_set_rows(bf_profile *profile, int64_t rows);
BF_API int bf_profile_set_nulls(bf_profile *profile, size_t index, int64_t nulls);
BF_API int bf_profile_set_sum(bf_profile *profile, size_t index, const bf_value *value);
BF_API int bf_profile_set_min(bf_profile *profile, size_t index, const bf_value *value);
BF_API int bf_profile_set_max(bf_profile *profile, size_t index, const bf_value *value);
BF_API int bf_profile_set_fingerprint(bf_profile *profile, const bf_fingerprint *fp);

/* ---- The driver vtable ------------------------------------------------- */

/*
 * Each member mirrors the bf_driver_* function of the same name (see
 * <backfill/driver.h> for meanings); arguments have been checked. Result
 * objects (info, rows, profile) are created empty by the library and filled
 * by the member; rows come with their column names already set.
 * key_boundaries fills `rows` with one INT column. last_error, when present,
 * gives the message for a failure the member did not describe. A vtable of
 * version 1 ends before count_batches: the library reads only its members.
 */
struct bf_driver_vtable {
    unsigned version;
    /* since version 1 */
    int (*describe)(void *userdata, bf_table_info *info, const char *table);
    int (*stage)(void *userdata, int64_t *out, const bf_write_spec *spec, const bf_plan *plan,
                 const bf_batch *batch, int64_t run);
    int (*publish)(void *userdata, bf_publish_result *out, const bf_write_spec *spec,
                   const bf_plan *plan, const bf_batch *batch, int64_t run, int64_t token);
    int (*restore)(void *userdata, const bf_write_spec *spec, const bf_plan *plan,
                   const bf_batch *batch, int64_t run);
    int (*drop_snapshot)(void *userdata, const bf_write_spec *spec, const bf_plan *plan,
                         const bf_batch *batch, int64_t run);
    int (*drop_staging)(void *userdata, const bf_write_spec *spec, const bf_plan *plan,
                        const bf_batch *batch, int64_t run);
    int (*cutover)(void *userdata, const bf_write_spec *spec, int64_t run, int keep);
    int (*fence)(void *userdata, const char *table, int64_t run, size_t batch, int64_t token);
    int (*fingerprint)(void *userdata, bf_fingerprint *out, const char *table,
                       const char *const *columns, size_t column_count, const bf_plan *plan,
                       const bf_batch *batch);
    int (*profile)(void *userdata, bf_profile *profile, const char *table,
                   const bf_profile_spec *spec, const bf_plan *plan, const bf_batch *batch);
    int (*duplicates)(void *userdata, bf_rows *samples, int64_t *out_count, const char *table,
                      const char *const *key, size_t key_count, size_t max_samples,
                      const bf_plan *plan, const bf_batch *batch);
    int (*orphans)(void *userdata, bf_rows *samples, int64_t *out_count, const char *table,
                   const char *const *columns, size_t column_count, const char *parent,
                   const char *const *parent_columns, size_t max_samples, const bf_plan *plan,
                   const bf_batch *batch);
    int (*segments)(void *userdata, bf_rows *rows, const char *table, const char *const *columns,
                    size_t column_count, const char *key_column, int64_t lo, int64_t hi,
                    int64_t width);
    int (*fetch)(void *userdata, bf_rows *rows, const char *table, const char *const *columns,
                 size_t column_count, const char *key_column, const bf_value *lo,
                 const bf_value *hi, size_t limit);
    int (*key_boundaries)(void *userdata, bf_rows *rows, const char *table,
                          const char *key_column, int64_t lo, int64_t hi, int64_t rows_per_batch);
    int (*partitions)(void *userdata, bf_rows *rows, const char *table, const char *column);
    int (*execute)(void *userdata, const char *sql);
    const char *(*last_error)(void *userdata);
    /* since version 2 */
    /* Rows per batch of `plan` in `table`: out_counts has bf_plan_count(plan) elements, zeroed. */
    int (*count_batches)(void *userdata, int64_t *out_counts, const bf_plan *plan,
                         const char *table);
    /* since version 3 */
    int (*key_segments)(void *userdata, bf_rows *rows, const char *table,
                        const char *const *columns, size_t column_count, const char *const *key,
                        size_t key_count, int64_t segments, const bf_plan *plan,
                        const bf_batch *batch);
    int (*segment_rows)(void *userdata, bf_rows *rows, const char *table,
                        const char *const *columns, size_t column_count,
                        const char *const *expressions, size_t expression_count,
                        const char *const *key, size_t key_count, int64_t segments,
                        const int64_t *wanted, size_t wanted_count, const bf_plan *plan,
                        const bf_batch *batch);
    int (*evaluate)(void *userdata, bf_rows *rows, const char *table,
                    const char *const *expressions, size_t expression_count, const bf_plan *plan,
                    const bf_batch *batch);
};

#define BF_DRIVER_VTABLE_VERSION 3u
#define BF_DRIVER_VTABLE_INIT {BF_DRIVER_VTABLE_VERSION, NULL, NULL, NULL, NULL, NULL, NULL, \
                               NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,   \
                               NULL, NULL, NULL, NULL, NULL, NULL}

/* Zero *vtable and set its version; BF_E_ABI for a version this library does not know. */
BF_API int bf_driver_vtable_init(bf_driver_vtable *vtable, unsigned version);

/* ---- The SQL connection vtable ----------------------------------------- */

/* What bf_sql_vtable.step returns besides errors. */
#define BF_SQL_DONE 0
#define BF_SQL_ROW 1

/*
 * A connection to a SQL warehouse. Statements are the driver's own opaque
 * pointers. The dialect facts tell the SQL layer how to write SQL.
 */
typedef struct bf_sql_vtable {
    unsigned version;
    /* since version 1 */
    const char *dialect;              /* a name for messages, e.g. "sqlite" */
    int ident_quote;                  /* identifier quote character; 0 means '"' */
    const char *begin_sql;            /* starts a write transaction; NULL means "BEGIN" */
    const char *fingerprint_function; /* aggregate f(c1, ...) -> "rows:hex32"; NULL: the
                                         library hashes fetched rows itself */
    const char *bucket_function;      /* scalar f(x, n) -> bucket; NULL: no bucket batches */
    const char *rowid_column;         /* a row's identity within a statement, to delete n of
                                         several identical rows when restoring an append;
                                         NULL: such a restore is refused */
    const char *fingerprint_nulls_function; /* aggregate f(c1, ...) -> "rows:hex32 n1,n2,...":
                                         the fingerprint and each argument's NULLs, so a
                                         profile counts NULLs in the fingerprint's pass;
                                         NULL: count(*) - count(c) per column */
    /* Run SQL without parameters or results (several statements allowed). */
    int (*execute)(void *userdata, const char *sql);
    /* Prepare exactly one statement; trailing SQL is an error. */
    int (*prepare)(void *userdata, void **out, const char *sql);
    /* Number of parameters, and the name of parameter `index` (1-based, with its ':'). */
    int (*param_count)(void *userdata, void *stmt);
    const char *(*param_name)(void *userdata, void *stmt, int index);
    int (*bind)(void *userdata, void *stmt, int index, const bf_value *value);
    /* BF_SQL_ROW, BF_SQL_DONE or an error. */
    int (*step)(void *userdata, void *stmt);
    int (*column_count)(void *userdata, void *stmt);
    /* Column `index` (0-based) of the current row; bytes valid until the next step. */
    int (*column)(void *userdata, void *stmt, int index, bf_value *out);
    /* Rows changed by the last INSERT, UPDATE or DELETE. */
    int64_t (*changes)(void *userdata);
    void (*finalize)(void *userdata, void *stmt);
    /* Fill `info` with the table's columns; BF_E_NOT_FOUND when it does not exist. */
    int (*describe)(void *userdata, bf_table_info *info, const char *table);
    /* The connection's message for its last failure. */
    const char *(*error_message)(void *userdata);
    /* since version 2 */
    /*
     * Aggregate f(x, bounds) that counts a time or key plan's rows per batch
     * in one pass (bf_driver_count_batches()); NULL: a GROUP BY over a CASE
     * expression does it. `bounds` is a blob of the n + 1 increasing
     * boundaries b0 < ... < bn of the plan's batches in key order: the byte
     * 'I' and each boundary as 8 bytes little-endian two's complement, or
     * the byte 'T' and each as a 4-byte little-endian length and its bytes.
     * The library passes only rows with b0 <= x < bn. f returns a blob of n
     * 8-byte little-endian counts (an empty blob when there were no rows), count i for b(i) <= x < b(i+1) as the
     * dialect's own comparison orders them, or NULL when it met a value it
     * cannot place exactly as that comparison would (the library then counts
     * with the GROUP BY).
     */
    const char *batch_counts_function;
    /* since version 3 */
    const char *segments_function;    /* aggregate f(n, key_count, k1.., c1..) -> text, one line
                                         "segment rows:hex32" per non-empty segment of n, in
                                         order; NULL: the library hashes fetched rows */
    const char *segment_filter_function; /* scalar f(wanted, n, k1, ...) -> 1 when the key's
                                         segment of n is in `wanted` ("s1,s2,..."), else 0;
                                         NULL: rows are filtered by the library */
    /* since version 4 */
    /*
     * Aggregate f(nf, nn, ns, f1.., n1.., s1..) that computes a profile in
     * one call per row (bf_driver_profile()); NULL: count(*), count(c) and
     * sum(c) beside the fingerprint aggregate. nf, nn and ns are how many
     * fingerprint, NULL-count and sum columns follow (nf 0: no
     * fingerprint). f returns NULL when it saw no rows, else the text
     * "ROWS FP N1 .. Nnn S1 .. Sns", tokens separated by one space: FP is
     * the fingerprint "rows:hex32" of f1.. or "-" when nf is 0, Ni the
     * NULLs of ni, Si the dialect's sum(si) as "null", "i" and a decimal
     * integer, or "r" and the 16 hex digits of the IEEE-754 double's bits.
     * Where sum() would fail (integer overflow), f fails the same way.
     */
    const char *profile_function;
} bf_sql_vtable;

#define BF_SQL_VTABLE_VERSION 4u
#define BF_SQL_VTABLE_INIT {BF_SQL_VTABLE_VERSION, NULL, 0, NULL, NULL, NULL, NULL, NULL, NULL, \
                            NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, \
                            NULL, NULL, NULL, NULL}

/* Zero *vtable and set its version; BF_E_ABI for a version this library does not know. */
BF_API int bf_sql_vtable_init(bf_sql_vtable *vtable, unsigned version);

/*
 * Make a driver from a SQL connection vtable: the library's SQL
 * implementation of every operation over that connection. Same ownership
 * and version rules as bf_driver_new(); every function member except
 * error_message is required (BF_E_INVALID naming the first missing one).
 */
BF_API int bf_driver_new_sql(bf_driver **out, const bf_sql_vtable *vtable, void *userdata,
                             void (*free_userdata)(void *userdata));

#ifdef __cplusplus
}
#endif

#endif
