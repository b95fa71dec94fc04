/* The idempotency module's shared pieces: building findings, reading a job's SQL text. */
#ifndef BF_IDEMPOTENCY_INTERNAL_H
#define BF_IDEMPOTENCY_INTERNAL_H

#include <stddef.h>

#include "backfill/idempotency.h"
#include "common/internal.h"

int bf__idem_findings_new(bf_idem_findings **out);
/* Add a finding; `code` and `path` must be static. Blocking findings go first. */
int bf__idem_findings_add(bf_idem_findings *f, const char *code, bf_idem_severity severity,
                          const char *path, const char *fmt, ...) BF_PRINTF(5, 6);

/* "(id=1) x2, (id=2) x2": the duplicated keys of bf_driver_duplicates' samples (probe.c). */
int bf__idem_describe_keys(char **out, const bf_rows *rows);

/*
 * CREATE TABLE `name` the shape of the target described by `info`: its
 * non-generated columns with their declared types and its primary key
 * (probe.c; the runner's test slice makes its scratch copies with it).
 */
int bf__scratch_create_sql(char **out, const bf_table_info *info, const char *name);
/*
 * Create scratch table `name` like the target `table`: on SQLite by the
 * target's own CREATE TABLE (collations, NOT NULL, CHECK, UNIQUE, keys, so
 * that the scratch compares and refuses as the target does), elsewhere by
 * bf__scratch_create_sql.
 */
int bf__scratch_create(bf_driver *driver, const bf_table_info *info, const char *table,
                       const char *name);
/*
 * SELECT the target's non-generated columns within `batch`'s bounds, by the
 * driver's documented predicate for each dimension (probe.c).
 */
int bf__scratch_copy_sql(char **out, const bf_table_info *info, const char *table,
                         const bf_plan *plan, const bf_batch *batch);
/* DROP TABLE IF EXISTS `name` (probe.c). */
int bf__scratch_drop(bf_driver *driver, const char *name);

/* BF_E_ABI or BF_E_INVALID for a spec the module cannot work with (analyze.c). */
int bf__idem_check_spec(const bf_write_spec *spec, const bf_plan *plan, const char *op);

/* ---- sqltext.c: a conservative reading of a SELECT's text ---- */

/*
 * 1 when some clause of `sql` that uses the parameter `param` (without the
 * colon; also written @param or $param) names `column` too, 0 when the
 * parameter is used but never beside the column, -1 when it is not used at
 * all. A clause is the text between the keywords WHERE, AND, OR, ON, HAVING,
 * WHEN, THEN, ELSE, SELECT, FROM, JOIN, GROUP, ORDER, LIMIT, UNION, and ';'
 * (the AND of a BETWEEN does not end one). String literals, quoted names and
 * comments are read as such; names compare without case, a qualified name
 * by its last part. *other (may be NULL) receives a copy (bf_free) of the
 * first other name beside the parameter when the column is never there.
 */
int bf__sql_param_near(int *out, char **other, const char *sql, const char *param,
                       const char *column);

/*
 * 1 when `table` is one of the tables `sql` reads: a name (its last part,
 * without case) right after FROM or JOIN, or after a comma in a FROM list.
 */
int bf__sql_reads_table(int *out, const char *sql, const char *table);

#endif
