/*
 * Before/after diffs by key: capture segment fingerprints by key hash,
 * compare them after the publish, and read only the rows of the segments
 * that differ (docs/diff.md).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "common/versioned.h"
#include "driver/driver_internal.h"
#include "validate/diff_internal.h"

static const bf_diff_options options_defaults = BF_DIFF_OPTIONS_INIT;
static const size_t options_sizes[] = {0, sizeof(bf_diff_options)};
static const bf__struct_desc options_desc = {"diff options", BF_DIFF_OPTIONS_VERSION,
                                             options_sizes, &options_defaults};

int bf_diff_options_init(bf_diff_options *options, unsigned version)
{
    return bf__struct_init(options, version, &options_desc);
}

/* Names match as SQL identifiers do: ASCII letters in either case. */
static int ascii_casecmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (*a >= 'A' && *a <= 'Z') ? *a + 32 : (unsigned char)*a;
        int y = (*b >= 'A' && *b <= 'Z') ? *b + 32 : (unsigned char)*b;

        if (x != y || !x)
            return x - y;
    }
}

static void free_strv(char **v, size_t n)
{
    if (!v)
        return;
    for (size_t i = 0; i < n; i++)
        bf__free(v[i]);
    bf__free(v);
}

static char **dup_strv(const char *const *v, size_t n)
{
    char **out = bf__calloc(n + 1, sizeof *out);

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        if (!(out[i] = bf__strdup(v[i]))) {
            free_strv(out, n);
            return NULL;
        }
    return out;
}

void bf_diff_before_free(bf_diff_before *b)
{
    if (!b)
        return;
    bf__free(b->table);
    free_strv(b->key, b->key_count);
    bf__free(b->segs);
    bf__free(b);
}

int64_t bf_diff_before_rows(const bf_diff_before *b)
{
    return b ? b->rows : 0;
}

int64_t bf_diff_before_segments(const bf_diff_before *b)
{
    return b ? b->segments : 0;
}

/* Read segment rows (segment, rows, fingerprint) into an array. */
static int segs_from_rows(struct seg **out, size_t *count, int64_t *total, const bf_rows *rows)
{
    size_t n = bf_rows_count(rows);
    struct seg *segs = bf__calloc(n + 1, sizeof *segs);

    *out = NULL;
    *count = 0;
    *total = 0;
    if (!segs)
        return bf__nomem();
    for (size_t i = 0; i < n; i++) {
        bf_value v;

        bf_rows_value(&v, rows, i, 0);
        segs[i].segment = v.i;
        bf_rows_value(&v, rows, i, 2);
        if (v.type != BF_VALUE_TEXT || bf_fingerprint_parse(&segs[i].fp, v.s) != BF_OK) {
            bf__free(segs);
            return bf__error(BF_E_DRIVER, "diff: the driver returned a malformed segment");
        }
        *total += (int64_t)segs[i].fp.rows;
    }
    *out = segs;
    *count = n;
    return BF_OK;
}

static int read_options(bf_diff_options *o, const bf_diff_options *in, const char *op)
{
    if (!in) {
        *o = options_defaults;
        return BF_OK;
    }
    return bf__struct_read(o, in, &options_desc, op);
}

int bf_diff_capture(bf_diff_before **out, bf_driver *d, const char *table,
                    const char *const *key, size_t key_count, const bf_plan *plan,
                    const bf_batch *batch, const bf_diff_options *options)
{
    bf_diff_options o;
    bf_rows *rows = NULL;
    int64_t n;
    int rc;

    if (!out || !d || !table || !key || !key_count)
        return bf__error(BF_E_INVALID, "bf_diff_capture: NULL argument");
    *out = NULL;
    if ((rc = read_options(&o, options, "bf_diff_capture")) != BF_OK)
        return rc;
    n = o.segments;
    if (n < 0 || n > BF_SEGMENTS_MAX)
        return bf__error(BF_E_INVALID, "diff of %s: segments must be 0 (automatic) to %d", table,
                         BF_SEGMENTS_MAX);
    if (n == 0) {
        bf_profile *p = NULL;
        bf_profile_spec spec = BF_PROFILE_SPEC_INIT;

        if ((rc = bf_driver_profile(&p, d, table, &spec, plan, batch)) != BF_OK)
            return rc;
        n = bf__diff_auto_segments(bf_profile_rows(p));
        bf_profile_free(p);
    }
    if ((rc = bf_driver_key_segments(&rows, d, table, NULL, 0, key, key_count, n, plan, batch)) !=
        BF_OK)
        return rc;
    rc = bf__diff_before_new(out, table, key, key_count, n, rows);
    bf_rows_free(rows);
    return rc;
}

int bf__diff_before_new(bf_diff_before **out, const char *table, const char *const *key,
                        size_t key_count, int64_t segments, const bf_rows *rows)
{
    bf_diff_before *b = bf__calloc(1, sizeof *b);
    int rc;

    *out = NULL;
    if (!b)
        return bf__nomem();
    b->segments = segments;
    b->key_count = key_count;
    rc = segs_from_rows(&b->segs, &b->seg_count, &b->rows, rows);
    if (rc == BF_OK && (!(b->table = bf__strdup(table)) || !(b->key = dup_strv(key, key_count))))
        rc = bf__nomem();
    if (rc != BF_OK) {
        bf_diff_before_free(b);
        return rc;
    }
    *out = b;
    return BF_OK;
}

int bf_diff_before_to_json(char **out, const bf_diff_before *b)
{
    json_t *root, *key, *segs;
    int rc;

    if (!out || !b)
        return bf__error(BF_E_INVALID, "bf_diff_before_to_json: NULL argument");
    *out = NULL;
    root = json_object();
    key = json_array();
    segs = json_array();
    if (!root || !key || !segs) {
        json_decref(root);
        json_decref(key);
        json_decref(segs);
        return bf__nomem();
    }
    json_object_set_new(root, "format", json_string("backfill-diff-before"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "table", json_string(b->table));
    for (size_t i = 0; i < b->key_count; i++)
        json_array_append_new(key, json_string(b->key[i]));
    json_object_set_new(root, "key", key);
    json_object_set_new(root, "segments", json_integer(b->segments));
    json_object_set_new(root, "rows", json_integer(b->rows));
    for (size_t i = 0; i < b->seg_count; i++) {
        char text[BF_FINGERPRINT_TEXT_SIZE + 24];
        char fp[BF_FINGERPRINT_TEXT_SIZE];

        bf_fingerprint_format(fp, sizeof fp, &b->segs[i].fp);
        bf__snprintf(text, sizeof text, "%lld %s", (long long)b->segs[i].segment, fp);
        json_array_append_new(segs, json_string(text));
    }
    json_object_set_new(root, "fingerprints", segs);
    rc = bf__json_dump(out, root, JSON_COMPACT);
    json_decref(root);
    return rc;
}

int bf_diff_before_from_json(bf_diff_before **out, const char *text)
{
    json_error_t err;
    json_t *root, *key, *segs, *t;
    bf_diff_before *b;
    int rc = BF_OK;

    if (!out || !text)
        return bf__error(BF_E_INVALID, "bf_diff_before_from_json: NULL argument");
    *out = NULL;
    root = bf__json_loads(text, 0, &err);
    if (!root)
        return bf__error(BF_E_PARSE, "diff before-state: %s (line %d)", err.text, err.line);
    key = json_object_get(root, "key");
    segs = json_object_get(root, "fingerprints");
    t = json_object_get(root, "table");
    if (!json_is_string(json_object_get(root, "format")) ||
        strcmp(json_string_value(json_object_get(root, "format")), "backfill-diff-before") ||
        json_integer_value(json_object_get(root, "version")) != 1 || !json_is_string(t) ||
        !json_is_array(key) || !json_array_size(key) || !json_is_array(segs) ||
        !json_is_integer(json_object_get(root, "segments"))) {
        json_decref(root);
        return bf__error(BF_E_PARSE, "diff before-state: not a backfill-diff-before version 1");
    }
    b = bf__calloc(1, sizeof *b);
    if (!b) {
        json_decref(root);
        return bf__nomem();
    }
    b->segments = json_integer_value(json_object_get(root, "segments"));
    b->key_count = json_array_size(key);
    b->seg_count = json_array_size(segs);
    b->table = bf__strdup(json_string_value(t));
    b->key = bf__calloc(b->key_count + 1, sizeof *b->key);
    b->segs = bf__calloc(b->seg_count + 1, sizeof *b->segs);
    if (!b->table || !b->key || !b->segs)
        rc = bf__nomem();
    if (rc == BF_OK && (b->segments <= 0 || b->segments > BF_SEGMENTS_MAX))
        rc = bf__error(BF_E_PARSE, "diff before-state: bad segment count");
    for (size_t i = 0; rc == BF_OK && i < b->key_count; i++) {
        const char *k = json_string_value(json_array_get(key, i));

        if (!k)
            rc = bf__error(BF_E_PARSE, "diff before-state: key[%zu] is not a string", i);
        else if (!(b->key[i] = bf__strdup(k)))
            rc = bf__nomem();
    }
    for (size_t i = 0; rc == BF_OK && i < b->seg_count; i++) {
        const char *s = json_string_value(json_array_get(segs, i));
        const char *sp = s ? strchr(s, ' ') : NULL;
        int64_t seg = 0;
        const char *p = s;

        while (p && p < sp && *p >= '0' && *p <= '9' && seg < BF_SEGMENTS_MAX)
            seg = seg * 10 + (*p++ - '0');
        if (!sp || p != sp || sp == s || seg >= b->segments ||
            bf_fingerprint_parse(&b->segs[i].fp, sp + 1) != BF_OK ||
            (i && seg <= b->segs[i - 1].segment))
            rc = bf__error(BF_E_PARSE, "diff before-state: fingerprints[%zu] is malformed", i);
        else {
            b->segs[i].segment = seg;
            b->rows += (int64_t)b->segs[i].fp.rows;
        }
    }
    json_decref(root);
    if (rc != BF_OK) {
        bf_diff_before_free(b);
        return rc;
    }
    *out = b;
    return BF_OK;
}

/* ---- comparing rows by key ---- */

int bf__diff_value_cmp(const bf_value *a, const bf_value *b)
{
    size_t n;
    int c;

    if (a->type != b->type)
        return a->type < b->type ? -1 : 1;
    switch (a->type) {
    case BF_VALUE_INT:
        return a->i < b->i ? -1 : a->i > b->i;
    case BF_VALUE_REAL:
        if (a->r == b->r || (isnan(a->r) && isnan(b->r)))
            return 0;
        return isnan(a->r) ? -1 : isnan(b->r) ? 1 : a->r < b->r ? -1 : 1;
    case BF_VALUE_TEXT:
    case BF_VALUE_BLOB:
        n = a->len < b->len ? a->len : b->len;
        c = n ? memcmp(a->s, b->s, n) : 0;
        return c ? (c < 0 ? -1 : 1) : a->len < b->len ? -1 : a->len > b->len;
    default:
        return 0;
    }
}

int bf__diff_key_cmp(const bf_rows *ra, size_t ia, const bf_rows *rb, size_t ib,
                     const size_t *ka, const size_t *kb, size_t key_count)
{
    for (size_t k = 0; k < key_count; k++) {
        bf_value a, b;
        int c;

        bf_rows_value(&a, ra, ia, ka[k]);
        bf_rows_value(&b, rb, ib, kb[k]);
        if ((c = bf__diff_value_cmp(&a, &b)) != 0)
            return c;
    }
    return 0;
}

/* A merge sort with its context passed along (qsort has none; no shared state). */
struct sortctx {
    const bf_rows *rows;
    const size_t *kidx;
    size_t kcount;
};

static void msort(size_t *a, size_t *tmp, size_t n, const struct sortctx *c)
{
    size_t m = n / 2, i = 0, j = m, k = 0;

    if (n < 2)
        return;
    msort(a, tmp, m, c);
    msort(a + m, tmp, n - m, c);
    /* Halves already in order (rows read in key order): nothing to merge. */
    if (bf__diff_key_cmp(c->rows, a[m], c->rows, a[m - 1], c->kidx, c->kidx, c->kcount) >= 0)
        return;
    while (i < m && j < n)
        tmp[k++] = bf__diff_key_cmp(c->rows, a[j], c->rows, a[i], c->kidx, c->kidx, c->kcount) < 0
                       ? a[j++] : a[i++];
    while (i < m)
        tmp[k++] = a[i++];
    while (j < n)
        tmp[k++] = a[j++];
    memcpy(a, tmp, n * sizeof *a);
}

int bf__diff_sort(size_t **out, const bf_rows *rows, const size_t *kidx, size_t key_count)
{
    size_t n = bf_rows_count(rows);
    size_t *idx = bf__calloc(n + 1, sizeof *idx), *tmp = bf__calloc(n + 1, sizeof *tmp);
    struct sortctx c = {rows, kidx, key_count};
    int sorted = 1;

    *out = NULL;
    if (!idx || !tmp) {
        bf__free(idx);
        bf__free(tmp);
        return bf__nomem();
    }
    for (size_t i = 0; i < n; i++)
        idx[i] = i;
    /* Rows read in key order (as SQL mostly returns them here) need no sort at all. */
    for (size_t i = 1; sorted && i < n; i++)
        sorted = bf__diff_key_cmp(rows, i, rows, i - 1, kidx, kidx, key_count) >= 0;
    if (!sorted)
        msort(idx, tmp, n, &c);
    bf__free(tmp);
    *out = idx;
    return BF_OK;
}

/* ---- compute ---- */

void bf_diff_free(bf_diff *diff)
{
    if (!diff)
        return;
    bf__free(diff->table);
    bf__free(diff->before_table);
    bf__free(diff->before_keys_table);
    free_strv(diff->key, diff->key_count);
    bf__free(diff->differing);
    free_strv(diff->columns, diff->column_count);
    bf__free(diff->column_changes);
    bf_rows_free(diff->added);
    bf_rows_free(diff->removed);
    bf_rows_free(diff->changed_before);
    bf_rows_free(diff->changed_after);
    bf__free(diff);
}

static int column_index(const bf_rows *rows, const char *name, size_t *out)
{
    for (size_t i = 0; i < bf_rows_width(rows); i++)
        if (ascii_casecmp(bf_rows_column(rows, i), name) == 0) {
            *out = i;
            return BF_OK;
        }
    return BF_E_NOT_FOUND;
}

static int append_row(bf_rows *dst, const bf_rows *src, size_t row)
{
    bf_value vals[64];
    size_t w = bf_rows_width(src);
    bf_value *v = w <= 64 ? vals : bf__calloc(w, sizeof *v);
    int rc;

    if (!v)
        return bf__nomem();
    for (size_t i = 0; i < w; i++)
        bf_rows_value(&v[i], src, row, i);
    rc = bf_rows_append(dst, v, w);
    if (v != vals)
        bf__free(v);
    return rc;
}

static int equal_within(const bf_value *a, const bf_value *b, double tol)
{
    double x, y;

    if (bf__diff_value_cmp(a, b) == 0)
        return 1;
    if (tol < 0 || (a->type != BF_VALUE_INT && a->type != BF_VALUE_REAL) ||
        (b->type != BF_VALUE_INT && b->type != BF_VALUE_REAL))
        return 0;
    x = a->type == BF_VALUE_INT ? (double)a->i : a->r;
    y = b->type == BF_VALUE_INT ? (double)b->i : b->r;
    return fabs(x - y) <= tol;
}

int bf__diff_touched(bf_rows **out, const bf_rows *rows, const size_t *kidx, bf_driver *d,
                     const bf_diff *diff, int touched)
{
    bf_rows *keys = NULL, *kept = NULL;
    size_t *order = NULL, *tk = bf__calloc(diff->key_count + 1, sizeof *tk);
    const char **names = bf__calloc(bf_rows_width(rows) + 1, sizeof *names);
    int rc = tk && names ? BF_OK : bf__nomem();

    *out = NULL;
    for (size_t k = 0; rc == BF_OK && k < diff->key_count; k++)
        tk[k] = k;
    for (size_t c = 0; rc == BF_OK && c < bf_rows_width(rows); c++)
        names[c] = bf_rows_column(rows, c);
    if (rc == BF_OK)
        rc = bf__rows_new(&kept, names, bf_rows_width(rows));
    if (rc == BF_OK)
        rc = bf_driver_segment_rows(&keys, d, diff->before_keys_table,
                                    (const char *const *)diff->key, diff->key_count, NULL, 0,
                                    (const char *const *)diff->key, diff->key_count,
                                    diff->segments, diff->differing, diff->differing_count, NULL,
                                    NULL);
    if (rc == BF_OK)
        rc = bf__diff_sort(&order, keys, tk, diff->key_count);
    for (size_t r = 0; rc == BF_OK && r < bf_rows_count(rows); r++) {
        size_t lo = 0, hi = bf_rows_count(keys);
        int found = 0;

        while (lo < hi && !found) {
            size_t mid = (lo + hi) / 2;
            int c = bf__diff_key_cmp(keys, order[mid], rows, r, tk, kidx, diff->key_count);

            if (c == 0)
                found = 1;
            else if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (found == touched)
            rc = append_row(kept, rows, r);
    }
    bf__free(order);
    bf__free(tk);
    bf__free(names);
    bf_rows_free(keys);
    if (rc != BF_OK) {
        bf_rows_free(kept);
        return rc;
    }
    *out = kept;
    return BF_OK;
}

int bf_diff_compute(bf_diff **out, bf_driver *d, const char *table, const char *const *key,
                    size_t key_count, const bf_plan *plan, const bf_batch *batch,
                    const bf_diff_before *before, const bf_diff_options *options)
{
    bf_diff_options o;
    bf_rows *now = NULL, *after = NULL, *old = NULL;
    struct seg *segs = NULL;
    size_t seg_count = 0, *kidx = NULL, *ia = NULL, *ib = NULL;
    double *tol = NULL;
    int64_t total = 0;
    bf_diff *diff;
    int rc;

    if (!out || !d || !table || !key || !key_count || !before)
        return bf__error(BF_E_INVALID, "bf_diff_compute: NULL argument");
    *out = NULL;
    if ((rc = read_options(&o, options, "bf_diff_compute")) != BF_OK)
        return rc;
    if (key_count != before->key_count)
        return bf__error(BF_E_INVALID, "diff of %s: the before-state was captured on another key",
                         table);
    for (size_t i = 0; i < key_count; i++)
        if (!key[i] || ascii_casecmp(key[i], before->key[i]) != 0)
            return bf__error(BF_E_INVALID, "diff of %s: the before-state was captured on key "
                             "column %s, not %s", table, before->key[i], key[i] ? key[i] : "NULL");
    if (o.tolerance_count && (!o.tolerance_columns || !o.tolerances))
        return bf__error(BF_E_INVALID, "diff of %s: NULL tolerance list", table);
    diff = bf__calloc(1, sizeof *diff);
    if (!diff)
        return bf__nomem();
    diff->segments = before->segments;
    diff->key_count = key_count;
    if (!(diff->table = bf__strdup(table)) || !(diff->key = dup_strv(key, key_count)) ||
        (o.before_table && !(diff->before_table = bf__strdup(o.before_table))) ||
        (o.before_keys_table && !(diff->before_keys_table = bf__strdup(o.before_keys_table)))) {
        rc = bf__nomem();
        goto done;
    }
    /* 1. The segments now, compared with the captured ones. */
    if ((rc = bf_driver_key_segments(&now, d, table, NULL, 0, key, key_count, before->segments,
                                     plan, batch)) != BF_OK ||
        (rc = segs_from_rows(&segs, &seg_count, &total, now)) != BF_OK)
        goto done;
    diff->differing = bf__calloc(seg_count + before->seg_count + 1, sizeof *diff->differing);
    if (!diff->differing) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t i = 0, j = 0; i < seg_count || j < before->seg_count;) {
        if (j >= before->seg_count || (i < seg_count && segs[i].segment < before->segs[j].segment))
            diff->differing[diff->differing_count++] = segs[i++].segment;
        else if (i >= seg_count || before->segs[j].segment < segs[i].segment)
            diff->differing[diff->differing_count++] = before->segs[j++].segment;
        else {
            if (!bf_fingerprint_equal(&segs[i].fp, &before->segs[j].fp))
                diff->differing[diff->differing_count++] = segs[i].segment;
            i++;
            j++;
        }
    }
    /* 2. The rows of differing segments, after and before. */
    if ((rc = bf_driver_segment_rows(&after, d, table, NULL, 0, NULL, 0, key, key_count,
                                     before->segments, diff->differing, diff->differing_count,
                                     plan, batch)) != BF_OK)
        goto done;
    diff->column_count = bf_rows_width(after);
    diff->columns = bf__calloc(diff->column_count + 1, sizeof *diff->columns);
    diff->column_changes = bf__calloc(diff->column_count + 1, sizeof *diff->column_changes);
    kidx = bf__calloc(key_count + 1, sizeof *kidx);
    tol = bf__calloc(diff->column_count + 1, sizeof *tol);
    if (!diff->columns || !diff->column_changes || !kidx || !tol) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t i = 0; i < diff->column_count; i++) {
        tol[i] = -1;
        if (!(diff->columns[i] = bf__strdup(bf_rows_column(after, i)))) {
            rc = bf__nomem();
            goto done;
        }
    }
    for (size_t i = 0; i < o.tolerance_count; i++) {
        size_t c;

        if (!o.tolerance_columns[i] || column_index(after, o.tolerance_columns[i], &c) != BF_OK ||
            !(o.tolerances[i] >= 0)) {
            rc = bf__error(BF_E_INVALID, "diff of %s: tolerance for %s: no such column, or not "
                           "a number >= 0", table,
                           o.tolerance_columns[i] ? o.tolerance_columns[i] : "NULL");
            goto done;
        }
        tol[c] = o.tolerances[i];
    }
    for (size_t k = 0; k < key_count; k++)
        if (column_index(after, key[k], &kidx[k]) != BF_OK) {
            rc = bf__error(BF_E_NOT_FOUND, "table %s: no such column %s", table, key[k]);
            goto done;
        }
    if ((rc = bf__rows_new(&diff->added, (const char *const *)diff->columns,
                           diff->column_count)) != BF_OK ||
        (rc = bf__rows_new(&diff->removed, (const char *const *)diff->columns,
                           diff->column_count)) != BF_OK ||
        (rc = bf__rows_new(&diff->changed_before, (const char *const *)diff->columns,
                           diff->column_count)) != BF_OK ||
        (rc = bf__rows_new(&diff->changed_after, (const char *const *)diff->columns,
                           diff->column_count)) != BF_OK)
        goto done;
    if (!diff->differing_count)
        goto done;
    if (!o.before_table) {
        rc = bf__error(BF_E_UNSUPPORTED, "diff of %s: %zu of %lld segments differ and there are "
                       "no before rows to compare them with: give the batch's snapshot table, or "
                       "a copy of the scope before the batch, as before_table", table,
                       diff->differing_count, (long long)before->segments);
        goto done;
    }
    if ((rc = bf_driver_segment_rows(&old, d, o.before_table, (const char *const *)diff->columns,
                                     diff->column_count, NULL, 0, key, key_count,
                                     before->segments, diff->differing, diff->differing_count,
                                     plan, batch)) != BF_OK)
        goto done;
    /*
     * A merge's snapshot holds the before rows of the keys it touched only;
     * a row of any other key was not touched, so its before values are its
     * values now.
     */
    if (o.before_keys_table) {
        bf_rows *untouched = NULL;

        if ((rc = bf__diff_touched(&untouched, after, kidx, d, diff, 0)) != BF_OK)
            goto done;
        for (size_t r = 0; rc == BF_OK && r < bf_rows_count(untouched); r++)
            rc = append_row(old, untouched, r);
        bf_rows_free(untouched);
        if (rc != BF_OK)
            goto done;
    }
    /* 3. The before rows must be the captured ones, segment by segment. */
    {
        size_t nd = diff->differing_count;
        bf_fingerprint *fps = bf__calloc(nd + 1, sizeof *fps);
        bf_value *row = bf__calloc(diff->column_count + key_count + 1, sizeof *row);

        if (!fps || !row) {
            bf__free(fps);
            bf__free(row);
            rc = bf__nomem();
            goto done;
        }
        for (size_t r = 0; r < bf_rows_count(old) && rc == BF_OK; r++) {
            int64_t seg;
            size_t lo = 0, hi = nd;

            for (size_t c = 0; c < diff->column_count; c++)
                bf_rows_value(&row[c], old, r, c);
            for (size_t k = 0; k < key_count; k++)
                row[diff->column_count + k] = row[kidx[k]];
            seg = bf_key_segment(row + diff->column_count, key_count, before->segments);
            while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (diff->differing[mid] < seg)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (seg < 0 || lo >= nd || diff->differing[lo] != seg)
                rc = seg < 0 ? bf__nomem()
                             : bf__error(BF_E_INTERNAL, "diff: a row outside the segments read");
            else
                rc = bf_fingerprint_add_row(&fps[lo], row, diff->column_count);
        }
        for (size_t i = 0, j = 0; rc == BF_OK && i < nd; i++) {
            bf_fingerprint want = {0, 0, 0};

            while (j < before->seg_count && before->segs[j].segment < diff->differing[i])
                j++;
            if (j < before->seg_count && before->segs[j].segment == diff->differing[i])
                want = before->segs[j].fp;
            if (!bf_fingerprint_equal(&want, &fps[i]))
                rc = bf__error(BF_E_CONFLICT, "diff of %s: %s does not hold the before rows "
                               "captured (segment %lld of %lld: %llu rows captured, %llu found)",
                               table, o.before_table, (long long)diff->differing[i],
                               (long long)before->segments, (unsigned long long)want.rows,
                               (unsigned long long)fps[i].rows);
        }
        bf__free(fps);
        bf__free(row);
        if (rc != BF_OK)
            goto done;
    }
    /* 4. Match by key. */
    if ((rc = bf__diff_sort(&ia, after, kidx, key_count)) != BF_OK ||
        (rc = bf__diff_sort(&ib, old, kidx, key_count)) != BF_OK)
        goto done;
    {
        size_t na = bf_rows_count(after), nb = bf_rows_count(old), i = 0, j = 0;

        while (rc == BF_OK && (i < na || j < nb)) {
            int c = i >= na ? 1 : j >= nb ? -1
                    : bf__diff_key_cmp(after, ia[i], old, ib[j], kidx, kidx, key_count);

            if (c < 0) {
                rc = append_row(diff->added, after, ia[i++]);
            } else if (c > 0) {
                rc = append_row(diff->removed, old, ib[j++]);
            } else {
                int changed = 0;

                for (size_t col = 0; col < diff->column_count; col++) {
                    bf_value a, b;

                    bf_rows_value(&a, after, ia[i], col);
                    bf_rows_value(&b, old, ib[j], col);
                    if (!equal_within(&a, &b, tol[col])) {
                        diff->column_changes[col]++;
                        changed = 1;
                    }
                }
                if (changed && (rc = append_row(diff->changed_before, old, ib[j])) == BF_OK)
                    rc = append_row(diff->changed_after, after, ia[i]);
                i++;
                j++;
            }
        }
    }
done:
    bf__free(ia);
    bf__free(ib);
    bf__free(kidx);
    bf__free(tol);
    bf__free(segs);
    bf_rows_free(now);
    bf_rows_free(after);
    bf_rows_free(old);
    if (rc != BF_OK) {
        bf_diff_free(diff);
        return rc;
    }
    *out = diff;
    return BF_OK;
}

int64_t bf_diff_count(const bf_diff *diff, bf_diff_kind kind)
{
    const bf_rows *r = bf_diff_rows(diff, kind, 0);

    return r ? (int64_t)bf_rows_count(r) : 0;
}

const bf_rows *bf_diff_rows(const bf_diff *diff, bf_diff_kind kind, int after)
{
    if (!diff)
        return NULL;
    switch (kind) {
    case BF_DIFF_ADDED:
        return diff->added;
    case BF_DIFF_REMOVED:
        return diff->removed;
    case BF_DIFF_CHANGED:
        return after ? diff->changed_after : diff->changed_before;
    }
    return NULL;
}

size_t bf_diff_column_count(const bf_diff *diff)
{
    return diff ? diff->column_count : 0;
}

const char *bf_diff_column_name(const bf_diff *diff, size_t index)
{
    return diff && index < diff->column_count ? diff->columns[index] : NULL;
}

int64_t bf_diff_column_changes(const bf_diff *diff, size_t index)
{
    return diff && index < diff->column_count ? diff->column_changes[index] : -1;
}

int64_t bf_diff_segments(const bf_diff *diff)
{
    return diff ? diff->segments : 0;
}

int64_t bf_diff_segments_differing(const bf_diff *diff)
{
    return diff ? (int64_t)diff->differing_count : 0;
}

static json_t *value_json(const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        return json_integer(v->i);
    case BF_VALUE_REAL:
        return isfinite(v->r) ? json_real(v->r) : json_null();
    case BF_VALUE_TEXT:
        return json_stringn_nocheck(v->s, v->len);
    case BF_VALUE_BLOB:
        return json_sprintf("<blob of %zu bytes>", v->len);
    default:
        return json_null();
    }
}

static json_t *row_json(const bf_rows *rows, size_t r)
{
    json_t *o = json_object();

    for (size_t c = 0; o && c < bf_rows_width(rows); c++) {
        bf_value v;

        bf_rows_value(&v, rows, r, c);
        json_object_set_new(o, bf_rows_column(rows, c), value_json(&v));
    }
    return o;
}

int bf_diff_to_json(char **out, const bf_diff *diff, size_t max_samples)
{
    json_t *root, *cols, *added, *removed, *changed;
    int rc;

    if (!out || !diff)
        return bf__error(BF_E_INVALID, "bf_diff_to_json: NULL argument");
    *out = NULL;
    root = json_object();
    cols = json_object();
    added = json_array();
    removed = json_array();
    changed = json_array();
    json_object_set_new(root, "table", json_string(diff->table));
    json_object_set_new(root, "added", json_integer(bf_diff_count(diff, BF_DIFF_ADDED)));
    json_object_set_new(root, "removed", json_integer(bf_diff_count(diff, BF_DIFF_REMOVED)));
    json_object_set_new(root, "changed", json_integer(bf_diff_count(diff, BF_DIFF_CHANGED)));
    json_object_set_new(root, "segments", json_integer(diff->segments));
    json_object_set_new(root, "segments_differing", json_integer((json_int_t)diff->differing_count));
    for (size_t c = 0; c < diff->column_count; c++)
        json_object_set_new(cols, diff->columns[c], json_integer(diff->column_changes[c]));
    json_object_set_new(root, "column_changes", cols);
    for (size_t r = 0; r < bf_rows_count(diff->added) && r < max_samples; r++)
        json_array_append_new(added, row_json(diff->added, r));
    for (size_t r = 0; r < bf_rows_count(diff->removed) && r < max_samples; r++)
        json_array_append_new(removed, row_json(diff->removed, r));
    for (size_t r = 0; r < bf_rows_count(diff->changed_after) && r < max_samples; r++) {
        json_t *pair = json_object();

        json_object_set_new(pair, "before", row_json(diff->changed_before, r));
        json_object_set_new(pair, "after", row_json(diff->changed_after, r));
        json_array_append_new(changed, pair);
    }
    json_object_set_new(root, "added_samples", added);
    json_object_set_new(root, "removed_samples", removed);
    json_object_set_new(root, "changed_samples", changed);
    rc = bf__json_dump(out, root, JSON_INDENT(2));
    json_decref(root);
    return rc;
}
