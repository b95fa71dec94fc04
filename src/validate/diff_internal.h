/* Internals shared by diff.c and diff_explain.c. */
#ifndef BF_DIFF_INTERNAL_H
#define BF_DIFF_INTERNAL_H

#include "backfill/diff.h"
#include "backfill/driver.h"
#include "common/internal.h"

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

#endif
