/*
 * Before/after diffs by key, and explained metric deltas (validate module).
 *
 * Before a batch is published, bf_diff_capture() stores the segment
 * fingerprints of its scope: the rows split by a hash of their key into
 * segments (bf_driver_key_segments), one fingerprint per segment. The
 * object is small (one line per non-empty segment) and serialises to JSON
 * for the ledger. After the publish, bf_diff_compute() fingerprints the
 * segments again, compares, and fetches only the rows of the segments that
 * differ: from the table (after values) and from a table holding the
 * scope's before rows (the batch's snapshot, or a copy), which it checks
 * against the captured fingerprints. See docs/diff.md.
 */
#ifndef BACKFILL_DIFF_H
#define BACKFILL_DIFF_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/types.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options of capture and compute, filled by the host. */
typedef struct bf_diff_options {
    unsigned version;
    /* since version 1 */
    int64_t segments;         /* capture: number of key-hash segments; 0: one per 32 rows */
    const char *before_table; /* compute: a table holding the scope's before rows (the batch's
                                 snapshot: bf_driver_snapshot_views(), or a copy); NULL: none
                                 (fails if rows differ) */
    const char *const *tolerance_columns; /* numeric columns compared with a tolerance */
    const double *tolerances;             /* |after - before| <= tolerance counts as equal */
    size_t tolerance_count;
    const char *before_keys_table; /* merge or delta: the keys the batch touched
                                      (bf_driver_snapshot_views(), key columns as `key`);
                                      before_table then holds only those keys' before rows,
                                      and rows of other keys count as untouched */
} bf_diff_options;

#define BF_DIFF_OPTIONS_VERSION 1u
#define BF_DIFF_OPTIONS_INIT {BF_DIFF_OPTIONS_VERSION, 0, NULL, NULL, NULL, 0, NULL}

/* Zero *options and set its version; BF_E_ABI for an unknown version. */
BF_API int bf_diff_options_init(bf_diff_options *options, unsigned version);

/*
 * Capture the before-state of `table` within the scope (NULL batch: the
 * whole table): the segment fingerprints over every column, by the hash of
 * the `key` columns (integer, text or composite). options may be NULL.
 * The caller owns *out (bf_diff_before_free).
 */
BF_API int bf_diff_capture(bf_diff_before **out, bf_driver *driver, const char *table,
                           const char *const *key, size_t key_count, const bf_plan *plan,
                           const bf_batch *batch, const bf_diff_options *options);

/* The before-state as JSON text (free with bf_free) and back. */
BF_API int bf_diff_before_to_json(char **out, const bf_diff_before *before);
BF_API int bf_diff_before_from_json(bf_diff_before **out, const char *json);

/* Rows and segments the before-state holds. */
BF_API int64_t bf_diff_before_rows(const bf_diff_before *before);
BF_API int64_t bf_diff_before_segments(const bf_diff_before *before);

/* Release a before-state. Accepts NULL. */
BF_API void bf_diff_before_free(bf_diff_before *before);

/* What a row of a diff is. */
typedef enum bf_diff_kind {
    BF_DIFF_ADDED = 1,   /* key only after */
    BF_DIFF_REMOVED = 2, /* key only before */
    BF_DIFF_CHANGED = 3  /* key on both sides, some column differs (beyond its tolerance) */
} bf_diff_kind;

/*
 * Diff `table` within the scope against `before` (captured from the same
 * table, key and scope). Only segments whose fingerprints differ are read;
 * their before rows come from options->before_table and must match the
 * captured fingerprints (BF_E_CONFLICT naming the segment otherwise).
 * BF_E_UNSUPPORTED when segments differ and no before_table is given.
 * The caller owns *out (bf_diff_free).
 */
BF_API int bf_diff_compute(bf_diff **out, bf_driver *driver, const char *table,
                           const char *const *key, size_t key_count, const bf_plan *plan,
                           const bf_batch *batch, const bf_diff_before *before,
                           const bf_diff_options *options);

/* Rows of a kind. */
BF_API int64_t bf_diff_count(const bf_diff *diff, bf_diff_kind kind);

/*
 * Every row of a kind, all columns: ADDED with after values, REMOVED with
 * before values, CHANGED with before (after = 0) or after (after = 1) values,
 * row i of both describing the same key. Owned by the diff.
 */
BF_API const bf_rows *bf_diff_rows(const bf_diff *diff, bf_diff_kind kind, int after);

/* Columns compared, their names, and how many changed rows differ in each. */
BF_API size_t bf_diff_column_count(const bf_diff *diff);
BF_API const char *bf_diff_column_name(const bf_diff *diff, size_t index);
BF_API int64_t bf_diff_column_changes(const bf_diff *diff, size_t index);

/* Segments compared and segments that differed (and were read). */
BF_API int64_t bf_diff_segments(const bf_diff *diff);
BF_API int64_t bf_diff_segments_differing(const bf_diff *diff);

/* The diff as JSON: counts, per-column counts, up to max_samples rows of each kind. */
BF_API int bf_diff_to_json(char **out, const bf_diff *diff, size_t max_samples);

/* Release a diff. Accepts NULL. */
BF_API void bf_diff_free(bf_diff *diff);

/* Parts of an explained delta. */
typedef enum bf_diff_part {
    BF_DIFF_PART_BEFORE = 1,
    BF_DIFF_PART_AFTER = 2,
    BF_DIFF_PART_DELTA = 3,   /* after - before, both measured */
    BF_DIFF_PART_ADDED = 4,   /* contribution of added rows */
    BF_DIFF_PART_REMOVED = 5, /* of removed rows (minus their values) */
    BF_DIFF_PART_CHANGED = 6  /* of rows on both sides (after - before) */
} bf_diff_part;

/*
 * Explain the delta of `metric` over the diff's scope. The metric is one of
 * SUM(expr), COUNT(*) or COUNT(expr) (case-insensitive; expr is SQL the
 * caller wrote, run as written): these decompose into per-row
 * contributions, so ADDED + REMOVED + CHANGED = DELTA exactly for integer
 * values (reals: up to rounding). Anything else (AVG, MIN, MAX,
 * COUNT(DISTINCT ...), arithmetic on aggregates) is BF_E_INVALID. With
 * `group_by` (an SQL expression, or NULL) the top_n groups by absolute
 * contribution are kept. The diff must come from bf_diff_compute() with a
 * before_table; plan and batch are the diff's scope. The caller owns *out.
 */
BF_API int bf_diff_explain(bf_diff_explained **out, const bf_diff *diff, bf_driver *driver,
                           const bf_plan *plan, const bf_batch *batch, const char *metric,
                           const char *group_by, size_t top_n);

/* A part's value: an integer, a real, or NULL (no rows). */
BF_API int bf_diff_explained_value(bf_value *out, const bf_diff_explained *explained,
                                   bf_diff_part part);

/* The kept groups, largest absolute contribution first: value and contribution. */
BF_API size_t bf_diff_explained_group_count(const bf_diff_explained *explained);
BF_API int bf_diff_explained_group(bf_value *group, bf_value *contribution,
                                   const bf_diff_explained *explained, size_t index);

BF_API int bf_diff_explained_to_json(char **out, const bf_diff_explained *explained);
BF_API void bf_diff_explained_free(bf_diff_explained *explained);

#ifdef __cplusplus
}
#endif

#endif
