/* Internals shared by diff.c and diff_explain.c. */
#ifndef BF_DIFF_INTERNAL_H
#define BF_DIFF_INTERNAL_H

#include "backfill/diff.h"
#include "backfill/driver.h"
#include "backfill/fingerprint.h"
#include "common/internal.h"

struct seg {
    int64_t segment;
    bf_fingerprint fp;
};

struct bf_diff_before {
    char *table;
    char **key;
    size_t key_count;
    int64_t segments;
    int64_t rows;
    struct seg *segs; /* non-empty segments, ascending */
    size_t seg_count;
};

struct bf_diff {
    char *table;
    char *before_table;
    char *before_keys_table; /* merge: the keys the batch touched, or NULL */
    char **key;
    size_t key_count;
    int64_t segments;
    int64_t *differing; /* segment numbers read */
    size_t differing_count;
    size_t column_count;
    char **columns;
    int64_t *column_changes;
    bf_rows *added, *removed, *changed_before, *changed_after;
};

/* Order two rows' keys (columns kidx of each); values compare by type, then value. */
int bf__diff_value_cmp(const bf_value *a, const bf_value *b);
int bf__diff_key_cmp(const bf_rows *ra, size_t ia, const bf_rows *rb, size_t ib,
                     const size_t *kidx_a, const size_t *kidx_b, size_t key_count);
/*
 * The rows of `rows` (key columns at kidx) whose key is in `keys_table`
 * (its key columns named `key`), among the diff's differing segments: the
 * rows a merge touched. The caller owns *out.
 */
int bf__diff_touched(bf_rows **out, const bf_rows *rows, const size_t *kidx, bf_driver *d,
                     const bf_diff *diff, int touched);
/* Row indexes of `rows` sorted by key; free with bf__free. */
int bf__diff_sort(size_t **out, const bf_rows *rows, const size_t *kidx, size_t key_count);

/* The segments bf_diff_capture() makes by itself for `rows` rows: one per 32, at most the maximum. */
static inline int64_t bf__diff_auto_segments(int64_t rows)
{
    int64_t n = rows / 32 + 1;

    return n > BF_SEGMENTS_MAX ? BF_SEGMENTS_MAX : n;
}

/*
 * A before-state from segment rows (segment, rows, fingerprint) of `table`
 * by `key` among `segments`, as bf_diff_capture() makes it from the
 * driver's. The caller owns *out.
 */
int bf__diff_before_new(bf_diff_before **out, const char *table, const char *const *key,
                        size_t key_count, int64_t segments, const bf_rows *rows);

/* Whether `metric` is SUM(expr), COUNT(*) or COUNT(expr): what bf_diff_explain() decomposes. */
int bf__diff_decomposes(const char *metric);

/*
 * Explain `metric` over a batch whose publish kept pre-images of only the
 * keys it touched (a delta or merge snapshot: `before_table` holds the
 * before rows of the keys in `keys_table`), without diffing the batch: the
 * touched keys' rows now and their pre-images are read (nothing else),
 * their segments of `before` found, and the same parts and groups computed
 * as bf_diff_explain() computes from bf_diff_compute() with those tables,
 * summed in the same order, so equal to the last bit of a real. `after` is
 * the fingerprint of `table`'s rows within the batch now, over every
 * column: with the before-state it proves that no other row changed
 * (BF_E_CONFLICT otherwise, as the diff would find). `after_total`, when
 * not NULL, is the metric over the batch now as SQL gives it (a metric
 * check's bf__results_total, from the same scan as `after`), and spares
 * measuring it again. BF_E_UNSUPPORTED
 * without a SQL driver or with a key held twice; any failure means "not
 * explained here", and the caller may diff instead. The caller owns *out.
 */
int bf__diff_explain_touched(bf_diff_explained **out, bf_driver *d, const char *table,
                             const char *before_table, const char *keys_table,
                             const char *const *key, size_t key_count,
                             const bf_diff_before *before, const bf_fingerprint *after,
                             const bf_value *after_total, const bf_plan *plan,
                             const bf_batch *batch, const char *metric, const char *group_by,
                             size_t top_n);

#endif
