/*
 * The brief: what a backfill changes, why, for whom, and how it is checked
 * and undone. A bf_brief is loaded from (and saved to) the JSON format of
 * docs/brief.md, or built field by field with the setters below.
 *
 * Drafts. Loading and the setters accept a brief with required fields
 * missing, so that bf_brief_check() can list everything that is missing at
 * once. They refuse what is wrong rather than absent: syntax errors
 * (BF_E_PARSE, with line:column), wrong JSON types, bad values (an unknown
 * time zone, `every: 0`, a start after its end, an unknown enum name) and
 * unknown fields (BF_E_INVALID). Every message starts with the JSON path of
 * the field at fault: `$.batching.every: expected a positive integer, got "7"`.
 * A setter that refuses a value leaves the brief unchanged.
 *
 * Ownership. Strings returned by getters belong to the brief and stay valid
 * until a setter, adder or bf_brief_unset() changes the same top-level
 * section of the brief (any `batching` setter invalidates strings read from
 * `batching`; bf_brief_set_name() those of `name`), or the brief is freed.
 * Strings passed to setters are copied. Enumerations use 0 for "not given".
 */
#ifndef BACKFILL_BRIEF_H
#define BACKFILL_BRIEF_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/types.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * bf_brief and bf_findings, and the enumerations briefs share with plans and
 * drivers (bf_time_format, bf_grain, bf_batch_order, bf_write_strategy), are
 * declared in <backfill/types.h>.
 */

/* `risk`: how much a wrong backfill would hurt; higher risk demands more of the brief. */
typedef enum bf_risk {
    BF_RISK_UNSET = 0,
    BF_RISK_ENRICHMENT = 1,
    BF_RISK_METRIC_REPAIR = 2,
    BF_RISK_SCHEMA_MIGRATION = 3,
    BF_RISK_CRITICAL_REBUILD = 4
} bf_risk;

/* Which of `scope.time`, `scope.keys`, `scope.partitions`, `scope.buckets` is given. */
typedef enum bf_scope_kind {
    BF_SCOPE_NONE = 0,
    BF_SCOPE_TIME = 1,
    BF_SCOPE_KEYS = 2,
    BF_SCOPE_PARTITIONS = 3,
    BF_SCOPE_BUCKETS = 4
} bf_scope_kind;

/* `batching.by`; numbered like the planner's dimensions. */
typedef enum bf_batch_by {
    BF_BATCH_BY_UNSET = 0,
    BF_BATCH_BY_TIME = 1,
    BF_BATCH_BY_KEY = 2,
    BF_BATCH_BY_PARTITION = 3,
    BF_BATCH_BY_BUCKET = 4
} bf_batch_by;

/* `downstream[].kind`. */
typedef enum bf_asset_kind {
    BF_ASSET_UNSET = 0,
    BF_ASSET_TABLE = 1,
    BF_ASSET_VIEW = 2,
    BF_ASSET_MODEL = 3,
    BF_ASSET_DASHBOARD = 4,
    BF_ASSET_EXPORT = 5,
    BF_ASSET_ALERT = 6,
    BF_ASSET_ML_FEATURE = 7,
    BF_ASSET_REVERSE_ETL = 8,
    BF_ASSET_STAKEHOLDER = 9
} bf_asset_kind;

/* `validation[].check`. */
typedef enum bf_check_kind {
    BF_CHECK_UNSET = 0,
    BF_CHECK_ROW_COUNT = 1,
    BF_CHECK_UNIQUE = 2,
    BF_CHECK_NOT_NULL = 3,
    BF_CHECK_REFERENCES = 4,
    BF_CHECK_METRIC = 5,
    BF_CHECK_UNCHANGED_COLUMNS = 6,
    BF_CHECK_RECORDS = 7,
    BF_CHECK_SQL = 8,
    BF_CHECK_COVERAGE = 9,
    BF_CHECK_COMPLETENESS = 10,
    BF_CHECK_FOOTPRINT = 11
} bf_check_kind;

/* `validation[].severity`: what a failing check does. */
typedef enum bf_check_severity {
    BF_CHECK_SEVERITY_ERROR = 0, /* the default: the run stops for review */
    BF_CHECK_SEVERITY_WARN = 1
} bf_check_severity;

/* `validation[].per`: when a check runs. */
typedef enum bf_check_per {
    BF_CHECK_PER_DEFAULT = 0, /* not given: the validator's own default */
    BF_CHECK_PER_BATCH = 1,
    BF_CHECK_PER_RUN = 2
} bf_check_per;

/* The severity of a preflight finding. */
typedef enum bf_severity {
    BF_SEVERITY_WARN = 1, /* worth fixing; the brief may still run */
    BF_SEVERITY_BLOCK = 2 /* the brief does not run */
} bf_severity;

/*
 * The JSON names of enumeration values ("metric_repair", "partitions",
 * ...), or NULL for 0 and values out of range. The strings are static.
 */
BF_API const char *bf_risk_name(bf_risk value);
BF_API const char *bf_scope_kind_name(bf_scope_kind value);
BF_API const char *bf_batch_by_name(bf_batch_by value);
BF_API const char *bf_asset_kind_name(bf_asset_kind value);
BF_API const char *bf_check_kind_name(bf_check_kind value);

/* ---- Life cycle, loading and saving ---------------------------------- */

/*
 * A new, empty brief with only `format` set. The caller owns *out and frees
 * it with bf_brief_free().
 */
BF_API int bf_brief_new(bf_brief **out);

/* Free a brief and every string it handed out. Accepts NULL. */
BF_API void bf_brief_free(bf_brief *brief);

/*
 * Load a brief from `len` bytes of JSON text (need not be NUL-terminated).
 * BF_E_PARSE for syntax errors, invalid UTF-8, an empty text or nesting
 * deeper than the parser allows (message "line:column: ..."); BF_E_INVALID
 * for a wrong type, bad value or unknown field (message "$.path: ...").
 * The caller owns *out (bf_brief_free); on failure *out is NULL.
 */
BF_API int bf_brief_load_json(bf_brief **out, const char *text, size_t len);

/*
 * Load a brief from a file, as bf_brief_load_json(); messages start with the
 * file's path. BF_E_NOT_FOUND if there is no such file, BF_E_INVALID if the
 * path is not a regular file (a directory), BF_E_IO if reading fails.
 */
BF_API int bf_brief_load_file(bf_brief **out, const char *path);

/*
 * The brief as JSON text, indented by two spaces, fields in the order they
 * were loaded or set. Loading the text gives an equal brief. The caller owns
 * *out and frees it with bf_free().
 */
BF_API int bf_brief_save_json(char **out, const bf_brief *brief);

/* Write bf_brief_save_json()'s text and a newline to `path` (replaced). BF_E_IO on failure. */
BF_API int bf_brief_save_file(const bf_brief *brief, const char *path);

/*
 * Remove an optional field or list by its JSON path, e.g. "$.batching.every",
 * "$.target.key", "$.scope.expected_rows", "$.validation". Removing a field
 * that is not set succeeds. BF_E_INVALID for a path that names no field of
 * the format (array elements cannot be removed one by one) or for "$.format".
 */
BF_API int bf_brief_unset(bf_brief *brief, const char *path);

/* ---- Text fields ------------------------------------------------------ */
/*
 * Getters return the field's text (owned by the brief) or NULL when absent.
 * Setters copy the text; NULL removes the field. A setter fails with
 * BF_E_INVALID, leaving the brief unchanged, when loading would refuse the
 * value (for example a name outside [a-z0-9][a-z0-9._-]{0,63}).
 */

/* `format`: "backfill-brief/1" (set by bf_brief_new; loaded briefs may lack it). */
BF_API const char *bf_brief_format(const bf_brief *brief);

/* `name` */
BF_API const char *bf_brief_name(const bf_brief *brief);
BF_API int bf_brief_set_name(bf_brief *brief, const char *value);
/* `reason` */
BF_API const char *bf_brief_reason(const bf_brief *brief);
BF_API int bf_brief_set_reason(bf_brief *brief, const char *value);
/* `owner` */
BF_API const char *bf_brief_owner(const bf_brief *brief);
BF_API int bf_brief_set_owner(bf_brief *brief, const char *value);
/* `reviewer` */
BF_API const char *bf_brief_reviewer(const bf_brief *brief);
BF_API int bf_brief_set_reviewer(bf_brief *brief, const char *value);
/* `code_version` */
BF_API const char *bf_brief_code_version(const bf_brief *brief);
BF_API int bf_brief_set_code_version(bf_brief *brief, const char *value);
/* `target.table` */
BF_API const char *bf_brief_target_table(const bf_brief *brief);
BF_API int bf_brief_set_target_table(bf_brief *brief, const char *value);
/* `target.time_column` */
BF_API const char *bf_brief_time_column(const bf_brief *brief);
BF_API int bf_brief_set_time_column(bf_brief *brief, const char *value);
/* `write.version_table` */
BF_API const char *bf_brief_version_table(const bf_brief *brief);
BF_API int bf_brief_set_version_table(bf_brief *brief, const char *value);
/* `job.select` */
BF_API const char *bf_brief_job_select(const bf_brief *brief);
BF_API int bf_brief_set_job_select(bf_brief *brief, const char *value);
/* `rollback.plan` */
BF_API const char *bf_brief_rollback_plan(const bf_brief *brief);
BF_API int bf_brief_set_rollback_plan(bf_brief *brief, const char *value);
/* `rollback.owner` */
BF_API const char *bf_brief_rollback_owner(const bf_brief *brief);
BF_API int bf_brief_set_rollback_owner(bf_brief *brief, const char *value);
/* `communication.channel` */
BF_API const char *bf_brief_channel(const bf_brief *brief);
BF_API int bf_brief_set_channel(bf_brief *brief, const char *value);

/* ---- Enumerated fields ------------------------------------------------ */
/* Getters return 0 (the *_UNSET value) when absent; setting 0 removes the field;
 * a value outside the enumeration fails with BF_E_INVALID. */

BF_API bf_risk bf_brief_risk(const bf_brief *brief);
BF_API int bf_brief_set_risk(bf_brief *brief, bf_risk value);
/* `target.time_format` */
BF_API bf_time_format bf_brief_time_format(const bf_brief *brief);
BF_API int bf_brief_set_time_format(bf_brief *brief, bf_time_format value);
/* `batching.by` */
BF_API bf_batch_by bf_brief_batch_by(const bf_brief *brief);
BF_API int bf_brief_set_batch_by(bf_brief *brief, bf_batch_by value);
/* `batching.grain` */
BF_API bf_grain bf_brief_grain(const bf_brief *brief);
BF_API int bf_brief_set_grain(bf_brief *brief, bf_grain value);
/* `batching.order` */
BF_API bf_batch_order bf_brief_batch_order(const bf_brief *brief);
BF_API int bf_brief_set_batch_order(bf_brief *brief, bf_batch_order value);
/* `write.strategy` */
BF_API bf_write_strategy bf_brief_write_strategy(const bf_brief *brief);
BF_API int bf_brief_set_write_strategy(bf_brief *brief, bf_write_strategy value);

/* ---- Integer fields --------------------------------------------------- */
/*
 * Getters store the value in *out and return BF_OK, or return BF_E_NOT_FOUND
 * when the field is absent (remove one with bf_brief_unset()). Setters fail
 * with BF_E_INVALID for a value loading would refuse (the comment gives the
 * allowed range).
 */

/* `batching.every`, >= 1 */
BF_API int bf_brief_every(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_every(bf_brief *brief, int64_t value);
/* `batching.width`, >= 1 */
BF_API int bf_brief_width(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_width(bf_brief *brief, int64_t value);
/* `batching.rows_per_batch`, >= 1 */
BF_API int bf_brief_rows_per_batch(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_rows_per_batch(bf_brief *brief, int64_t value);
/* `batching.max_concurrency`, >= 1 */
BF_API int bf_brief_max_concurrency(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_max_concurrency(bf_brief *brief, int64_t value);
/* `batching.max_attempts`, >= 1 */
BF_API int bf_brief_max_attempts(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_max_attempts(bf_brief *brief, int64_t value);
/* `batching.retry_backoff_s`, >= 0 */
BF_API int bf_brief_retry_backoff_s(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_retry_backoff_s(bf_brief *brief, int64_t value);
/* `batching.lease_s`, >= 1 */
BF_API int bf_brief_lease_s(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_lease_s(bf_brief *brief, int64_t value);
/* `batching.target_batch_s`, >= 1 */
BF_API int bf_brief_target_batch_s(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_target_batch_s(bf_brief *brief, int64_t value);
/* `batching.pause_between_batches_ms`, >= 0 */
BF_API int bf_brief_pause_between_batches_ms(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_pause_between_batches_ms(bf_brief *brief, int64_t value);
/* `rollback.retention_days`, >= 0 */
BF_API int bf_brief_retention_days(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_retention_days(bf_brief *brief, int64_t value);
/* `scope.expected_rows.min`, >= 0 and <= max */
BF_API int bf_brief_expected_rows_min(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_expected_rows_min(bf_brief *brief, int64_t value);
/* `scope.expected_rows.max`, >= 0 and >= min */
BF_API int bf_brief_expected_rows_max(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_set_expected_rows_max(bf_brief *brief, int64_t value);

/* ---- Boolean fields (absent reads as 0; remove with bf_brief_unset()) ---- */

/* `write.snapshot`: keep per-batch pre-images for rollback. */
BF_API int bf_brief_snapshot(const bf_brief *brief);
BF_API int bf_brief_set_snapshot(bf_brief *brief, int value);
/* `write.delete_missing` (merge): delete rows in bounds the job no longer yields. */
BF_API int bf_brief_delete_missing(const bf_brief *brief);
BF_API int bf_brief_set_delete_missing(bf_brief *brief, int value);
/* `write.allow_non_idempotent`: lets an append brief pass preflight. */
BF_API int bf_brief_allow_non_idempotent(const bf_brief *brief);
BF_API int bf_brief_set_allow_non_idempotent(bf_brief *brief, int value);

/* ---- Lists of names --------------------------------------------------- */
/*
 * count: the number of entries (0 when absent). get: entry `index` (owned
 * by the brief) or NULL past the end. add: appends a copy; BF_E_INVALID
 * for NULL, "" or a name already in the list. Remove a whole list with
 * bf_brief_unset().
 */

/* `target.key`: the grain, one row per key. */
BF_API size_t bf_brief_key_count(const bf_brief *brief);
BF_API const char *bf_brief_key(const bf_brief *brief, size_t index);
BF_API int bf_brief_add_key(bf_brief *brief, const char *column);
/* `target.columns`: the columns expected to change. */
BF_API size_t bf_brief_column_count(const bf_brief *brief);
BF_API const char *bf_brief_column(const bf_brief *brief, size_t index);
BF_API int bf_brief_add_column(bf_brief *brief, const char *column);
/* `sources` */
BF_API size_t bf_brief_source_count(const bf_brief *brief);
BF_API const char *bf_brief_source(const bf_brief *brief, size_t index);
BF_API int bf_brief_add_source(bf_brief *brief, const char *table);
/* `communication.stakeholders` */
BF_API size_t bf_brief_stakeholder_count(const bf_brief *brief);
BF_API const char *bf_brief_stakeholder(const bf_brief *brief, size_t index);
BF_API int bf_brief_add_stakeholder(bf_brief *brief, const char *who);

/* ---- Scope ------------------------------------------------------------ */

/* Which scope the brief gives (BF_SCOPE_NONE when `scope` has none). */
BF_API bf_scope_kind bf_brief_scope_kind(const bf_brief *brief);

/*
 * Make the scope `time {start, end, timezone}`, replacing any other scope
 * kind (`expected_rows` stays). start/end: "YYYY-MM-DD" or
 * "YYYY-MM-DD HH:MM[:SS]", real calendar dates, start before end; timezone:
 * an IANA name or NULL for the default (UTC). NULL start or end leaves that
 * bound out (a draft). BF_E_INVALID for a bad date, order or zone.
 */
BF_API int bf_brief_set_scope_time(bf_brief *brief, const char *start, const char *end,
                                   const char *timezone);
/* `scope.time.start` / `.end` (owned by the brief), NULL unless given. */
BF_API const char *bf_brief_scope_start(const bf_brief *brief);
BF_API const char *bf_brief_scope_end(const bf_brief *brief);
/* The time scope's zone: as given, "UTC" when not given, NULL without a time scope. */
BF_API const char *bf_brief_scope_timezone(const bf_brief *brief);

/* Make the scope `keys {column, start, end}` (half-open; start <= end). */
BF_API int bf_brief_set_scope_keys(bf_brief *brief, const char *column, int64_t start,
                                   int64_t end);
/* `scope.keys.start` / `.end`; BF_E_NOT_FOUND without them. */
BF_API int bf_brief_scope_key_start(int64_t *out, const bf_brief *brief);
BF_API int bf_brief_scope_key_end(int64_t *out, const bf_brief *brief);

/* Make the scope `partitions {column, values: []}`; add values with bf_brief_add_partition(). */
BF_API int bf_brief_set_scope_partitions(bf_brief *brief, const char *column);
/* The number of `scope.partitions.values`. */
BF_API size_t bf_brief_partition_count(const bf_brief *brief);
/*
 * Partition value `index` as BF_VALUE_INT or BF_VALUE_TEXT (text owned by the
 * brief). BF_E_NOT_FOUND past the end.
 */
BF_API int bf_brief_partition(bf_value *out, const bf_brief *brief, size_t index);
/*
 * Append a partition value (INT or TEXT, copied). BF_E_INVALID for another
 * type, a repeated value or a brief whose scope is not `partitions`.
 */
BF_API int bf_brief_add_partition(bf_brief *brief, const bf_value *value);

/* Make the scope `buckets {column, count}` (count >= 1). */
BF_API int bf_brief_set_scope_buckets(bf_brief *brief, const char *column, int64_t count);
/* `scope.buckets.count`; BF_E_NOT_FOUND without it. */
BF_API int bf_brief_scope_buckets(int64_t *out, const bf_brief *brief);

/* The scope's `column` (keys, partitions or buckets scope), or NULL. */
BF_API const char *bf_brief_scope_column(const bf_brief *brief);

/* ---- Downstream assets ------------------------------------------------ */

/* The number of `downstream` assets. */
BF_API size_t bf_brief_downstream_count(const bf_brief *brief);
/* Asset `index`'s `name`, `owner`, `refresh_sql` (owned by the brief; NULL past the end or absent). */
BF_API const char *bf_brief_downstream_name(const bf_brief *brief, size_t index);
BF_API const char *bf_brief_downstream_owner(const bf_brief *brief, size_t index);
BF_API const char *bf_brief_downstream_refresh_sql(const bf_brief *brief, size_t index);
/* Asset `index`'s `kind`; BF_ASSET_UNSET past the end. */
BF_API bf_asset_kind bf_brief_downstream_kind(const bf_brief *brief, size_t index);
/* The number of names in asset `index`'s `depends_on`, and name `dep` (NULL past the end). */
BF_API size_t bf_brief_downstream_depends_count(const bf_brief *brief, size_t index);
BF_API const char *bf_brief_downstream_depends_on(const bf_brief *brief, size_t index, size_t dep);
/*
 * Append an asset. name and kind are required; owner and refresh_sql may be
 * NULL. Names are checked against the graph by bf_lineage_new(), not here.
 */
BF_API int bf_brief_add_downstream(bf_brief *brief, const char *name, bf_asset_kind kind,
                                   const char *owner, const char *refresh_sql);
/* Append `name` to asset `index`'s depends_on. BF_E_NOT_FOUND for a bad index. */
BF_API int bf_brief_add_downstream_dependency(bf_brief *brief, size_t index, const char *name);

/* ---- Validation checks ------------------------------------------------ */

/* The number of `validation` checks. */
BF_API size_t bf_brief_check_count(const bf_brief *brief);
/* Check `index`'s kind; BF_CHECK_UNSET past the end. */
BF_API bf_check_kind bf_brief_check_kind(const bf_brief *brief, size_t index);
/* Check `index`'s severity (error when not given or past the end). */
BF_API bf_check_severity bf_brief_check_severity(const bf_brief *brief, size_t index);
/* Check `index`'s `per`. */
BF_API bf_check_per bf_brief_check_per(const bf_brief *brief, size_t index);
/* Check `index`'s `name` (owned by the brief), or NULL. */
BF_API const char *bf_brief_check_name(const bf_brief *brief, size_t index);
/*
 * Check `index` as compact JSON text, every member included. The caller owns
 * *out and frees it with bf_free(). BF_E_NOT_FOUND past the end.
 */
BF_API int bf_brief_check_json(char **out, const bf_brief *brief, size_t index);
/*
 * Append a check given as a JSON object, validated exactly as loading
 * validates `validation[]` (messages name `$.validation[N]...`).
 * BF_E_PARSE for bad JSON, BF_E_INVALID for a bad check.
 */
BF_API int bf_brief_add_check_json(bf_brief *brief, const char *json);

/* ---- The batching window --------------------------------------------- */
/*
 * `batching.window`: when batches may be claimed, as local hours on local
 * days in the scope's zone ({"hours": ["22:00-06:00"], "days": ["sat",
 * "sun"]}; the rules are bf_window's, in <backfill/time.h>). A brief without
 * one may run at any time: both getters then return BF_OK and set *out to
 * NULL.
 */

/*
 * The window as compact JSON text, its members as written. The caller owns
 * *out and frees it with bf_free().
 */
BF_API int bf_brief_window_json(char **out, const bf_brief *brief);
/*
 * Set the window from JSON text, validated exactly as loading validates it
 * (messages name `$.batching.window...`); NULL removes it. BF_E_PARSE for bad
 * JSON, BF_E_INVALID for a bad window.
 */
BF_API int bf_brief_set_window_json(bf_brief *brief, const char *json);
/*
 * The window, ready to ask (bf_window_contains(), bf_window_next_open()), in
 * the zone of `scope.time.timezone`, or UTC when the brief names none. The
 * caller owns *out and frees it with bf_window_free(). Fails as
 * bf_window_new() does (only BF_E_NOMEM or BF_E_IO for a loaded brief, whose
 * window and zone were checked when it was loaded).
 */
BF_API int bf_brief_window(bf_window **out, const bf_brief *brief);

/* ---- Preflight -------------------------------------------------------- */

/*
 * Run every preflight rule of the brief. Findings come blocking first, then
 * warnings, each group in rule order. The caller owns *out
 * (bf_findings_free). A brief with no findings gives an empty list.
 */
BF_API int bf_brief_check(bf_findings **out, const bf_brief *brief);

/* Free a findings list. Accepts NULL. */
BF_API void bf_findings_free(bf_findings *findings);
/* The number of findings, and the number of them that block. */
BF_API size_t bf_findings_count(const bf_findings *findings);
BF_API size_t bf_findings_blocking(const bf_findings *findings);
/*
 * Finding `index`'s stable kebab-case code ("missing-reason"), JSON path
 * ("$.reason") and one-sentence message, owned by the list; NULL past the end.
 */
BF_API const char *bf_findings_code(const bf_findings *findings, size_t index);
BF_API const char *bf_findings_path(const bf_findings *findings, size_t index);
BF_API const char *bf_findings_message(const bf_findings *findings, size_t index);
/* Finding `index`'s severity; 0 past the end. */
BF_API bf_severity bf_findings_severity(const bf_findings *findings, size_t index);

/* ---- The one-page brief ----------------------------------------------- */

/*
 * The brief as one page of Markdown for people who are not engineers: why,
 * what changes, scope, people, risk, how it is written, who is affected,
 * how it is checked, how it is undone, and the preflight findings. The
 * caller owns *out and frees it with bf_free().
 */
BF_API int bf_brief_render_markdown(char **out, const bf_brief *brief);

#ifdef __cplusplus
}
#endif

#endif
