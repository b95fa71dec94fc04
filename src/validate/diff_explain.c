/*
 * Explained deltas: a metric's before and after totals over the diff's
 * scope, and the contributions of added, removed and changed rows, which
 * sum to the delta. Only metrics that are a sum of per-row terms decompose:
 * SUM(expr), COUNT(*) and COUNT(expr).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"
#include "validate/diff_internal.h"

/* An exact integer while every term is one and nothing overflows; else a real. */
typedef struct num {
    int is_real;
    int is_null;
    int64_t i;
    double r;
} num;

static void num_add(num *acc, const num *x, int sign)
{
    if (x->is_null)
        return;
    acc->is_null = 0;
    if (!acc->is_real && !x->is_real) {
        int64_t v = x->i, out;

        if (sign < 0 && v == INT64_MIN)
            goto real;
        v = sign < 0 ? -v : v;
        if (!__builtin_add_overflow(acc->i, v, &out)) {
            acc->i = out;
            return;
        }
    }
real:
    if (!acc->is_real) {
        acc->r = (double)acc->i;
        acc->is_real = 1;
    }
    acc->r += sign * (x->is_real ? x->r : (double)x->i);
}

static num num_of(const bf_value *v)
{
    num n = {0, 1, 0, 0.0};

    if (v->type == BF_VALUE_INT) {
        n.is_null = 0;
        n.i = v->i;
    } else if (v->type == BF_VALUE_REAL) {
        n.is_null = 0;
        n.is_real = 1;
        n.r = v->r;
    }
    return n;
}

static bf_value num_value(const num *n)
{
    bf_value v = {BF_VALUE_NULL, 0, 0.0, NULL, 0};

    if (!n->is_null) {
        v.type = n->is_real ? BF_VALUE_REAL : BF_VALUE_INT;
        v.i = n->i;
        v.r = n->r;
    }
    return v;
}

static double num_abs(const num *n)
{
    return n->is_null ? 0 : n->is_real ? fabs(n->r) : fabs((double)n->i);
}

struct group {
    bf_value value; /* owned copy */
    num contribution;
};

struct bf_diff_explained {
    char *metric;
    num parts[7]; /* indexed by bf_diff_part */
    struct group *groups;
    size_t group_count;
};

void bf_diff_explained_free(bf_diff_explained *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->group_count; i++)
        bf__value_dispose(&e->groups[i].value);
    bf__free(e->groups);
    bf__free(e->metric);
    bf__free(e);
}

static int strncasecmp_ascii(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int x = (a[i] >= 'A' && a[i] <= 'Z') ? a[i] + 32 : (unsigned char)a[i];
        int y = (b[i] >= 'A' && b[i] <= 'Z') ? b[i] + 32 : (unsigned char)b[i];

        if (x != y)
            return x - y;
    }
    return 0;
}

/*
 * The per-row term of a metric: SUM(x) -> x, COUNT(*) -> 1,
 * COUNT(x) -> CASE WHEN (x) IS NULL THEN 0 ELSE 1 END. *out freed by the caller.
 */
static int per_row(char **out, const char *metric)
{
    const char *p = metric, *open, *end;
    size_t len;
    int depth = 0, is_sum;

    *out = NULL;
    while (*p == ' ' || *p == '\t' || *p == '\n')
        p++;
    len = strlen(p);
    while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n'))
        len--;
    end = p + len;
    is_sum = len > 4 && (p[0] | 32) == 's' && (p[1] | 32) == 'u' && (p[2] | 32) == 'm';
    if (!is_sum && !(len > 6 && (p[0] | 32) == 'c' && (p[1] | 32) == 'o' && (p[2] | 32) == 'u' &&
                     (p[3] | 32) == 'n' && (p[4] | 32) == 't'))
        goto refuse;
    open = p + (is_sum ? 3 : 5);
    while (open < end && *open == ' ')
        open++;
    if (open >= end || *open != '(' || end[-1] != ')')
        goto refuse;
    /* The call's parentheses must enclose everything: "SUM(a) / SUM(b)" does not decompose. */
    for (const char *q = open; q < end; q++) {
        if (*q == '\'' || *q == '"') {
            char quote = *q++;

            while (q < end && *q != quote)
                q++;
            continue;
        }
        if (*q == '(')
            depth++;
        else if (*q == ')' && --depth == 0 && q != end - 1)
            goto refuse;
    }
    {
        const char *a = open + 1, *b = end - 1;

        while (a < b && *a == ' ')
            a++;
        while (b > a && b[-1] == ' ')
            b--;
        if (a == b)
            goto refuse;
        if (!is_sum && b - a >= 9 && strncasecmp_ascii(a, "distinct ", 9) == 0)
            goto refuse;
        if (!is_sum && b - a == 1 && *a == '*')
            return (*out = bf__strdup("1")) ? BF_OK : bf__nomem();
        if (is_sum)
            *out = bf__asprintf("%.*s", (int)(b - a), a);
        else
            *out = bf__asprintf("CASE WHEN (%.*s) IS NULL THEN 0 ELSE 1 END", (int)(b - a), a);
        return *out ? BF_OK : bf__nomem();
    }
refuse:
    return bf__error(BF_E_INVALID, "metric %s: only SUM(expr), COUNT(*) and COUNT(expr) decompose "
                     "into per-row contributions; AVG, MIN, MAX, COUNT(DISTINCT ...) and "
                     "expressions of several aggregates do not", metric);
}

/* Add `c` (times sign) to the group holding `g`, keeping groups sorted by value. */
static int add_group(bf_diff_explained *e, size_t *cap, const bf_value *g, const num *c, int sign)
{
    size_t lo = 0, hi = e->group_count;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int cmp = bf__diff_value_cmp(&e->groups[mid].value, g);

        if (cmp < 0)
            lo = mid + 1;
        else if (cmp > 0)
            hi = mid;
        else {
            num_add(&e->groups[mid].contribution, c, sign);
            return BF_OK;
        }
    }
    if (e->group_count == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        struct group *ng = bf__realloc(e->groups, ncap * sizeof *ng);

        if (!ng)
            return bf__nomem();
        e->groups = ng;
        *cap = ncap;
    }
    memmove(&e->groups[lo + 1], &e->groups[lo], (e->group_count - lo) * sizeof *e->groups);
    memset(&e->groups[lo], 0, sizeof *e->groups);
    e->group_count++;
    if (bf__value_copy(&e->groups[lo].value, g) != BF_OK) {
        memmove(&e->groups[lo], &e->groups[lo + 1], (e->group_count - lo - 1) * sizeof *e->groups);
        e->group_count--;
        return bf__nomem();
    }
    e->groups[lo].contribution = (num){0, 1, 0, 0.0};
    num_add(&e->groups[lo].contribution, c, sign);
    return BF_OK;
}

static int total(num *out, bf_driver *d, const char *table, const char *metric,
                 const bf_plan *plan, const bf_batch *batch)
{
    bf_rows *rows = NULL;
    bf_value v;
    int rc = bf_driver_evaluate(&rows, d, table, &metric, 1, plan, batch);

    if (rc != BF_OK)
        return rc;
    *out = (num){0, 1, 0, 0.0};
    if (bf_rows_count(rows) && bf_rows_value(&v, rows, 0, 0) == BF_OK) {
        if (v.type != BF_VALUE_INT && v.type != BF_VALUE_REAL && v.type != BF_VALUE_NULL)
            rc = bf__error(BF_E_INVALID, "metric %s over %s is not numeric", metric, table);
        *out = num_of(&v);
    }
    bf_rows_free(rows);
    return rc;
}

static int group_cmp_abs(const struct group *a, const struct group *b)
{
    double x = num_abs(&a->contribution), y = num_abs(&b->contribution);

    if (x != y)
        return x > y ? -1 : 1;
    return bf__diff_value_cmp(&a->value, &b->value);
}

/* A new explanation of `metric`, every part 0 (not NULL); its per-row term in *term. */
static int explained_new(bf_diff_explained **out, char **term, const char *metric)
{
    bf_diff_explained *e;
    num zero = {0, 0, 0, 0.0};
    int rc;

    *out = NULL;
    if ((rc = per_row(term, metric)) != BF_OK)
        return rc;
    e = bf__calloc(1, sizeof *e);
    if (!e || !(e->metric = bf__strdup(metric))) {
        bf__free(*term);
        *term = NULL;
        bf__free(e);
        return bf__nomem();
    }
    for (int i = 0; i < 7; i++)
        e->parts[i] = zero;
    *out = e;
    return BF_OK;
}

/*
 * The contributions of the rows that differ: `a` holds the after rows, `b`
 * the before rows, each with the key in columns 0 .. kc - 1, the per-row
 * term in column kc and the group (when grouped) in kc + 1. They are
 * walked in key order (ia, ib: row indexes sorted by key); a row whose
 * `keep_*` flag is 0 (NULL: every row is kept) is left out. Each kept row
 * is added in that order, so one set of rows always gives the same sums,
 * to the last bit of a real.
 */
static int contributions(bf_diff_explained *e, size_t *cap, const bf_rows *a, const size_t *ia,
                         const unsigned char *keep_a, const bf_rows *b, const size_t *ib,
                         const unsigned char *keep_b, size_t kc, int grouped, const char *metric,
                         const char *term)
{
    size_t na = bf_rows_count(a), nb = bf_rows_count(b), i = 0, j = 0, *kidx;
    int rc = BF_OK;

    if (!(kidx = bf__calloc(kc + 1, sizeof *kidx)))
        return bf__nomem();
    for (size_t k = 0; k < kc; k++)
        kidx[k] = k;
    for (;;) {
        int c;
        bf_value va, vb, ga, gb;
        num x, y;

        while (i < na && keep_a && !keep_a[ia[i]])
            i++;
        while (j < nb && keep_b && !keep_b[ib[j]])
            j++;
        if (rc != BF_OK || (i >= na && j >= nb))
            break;
        c = i >= na ? 1 : j >= nb ? -1 : bf__diff_key_cmp(a, ia[i], b, ib[j], kidx, kidx, kc);
        if (c <= 0) {
            bf_rows_value(&va, a, ia[i], kc);
            x = num_of(&va);
            if (va.type == BF_VALUE_TEXT || va.type == BF_VALUE_BLOB)
                rc = bf__error(BF_E_INVALID, "metric %s: %s is not numeric", metric, term);
        }
        if (c >= 0) {
            bf_rows_value(&vb, b, ib[j], kc);
            y = num_of(&vb);
            if (vb.type == BF_VALUE_TEXT || vb.type == BF_VALUE_BLOB)
                rc = bf__error(BF_E_INVALID, "metric %s: %s is not numeric", metric, term);
        }
        if (rc != BF_OK)
            break;
        if (c < 0) {
            num_add(&e->parts[BF_DIFF_PART_ADDED], &x, 1);
        } else if (c > 0) {
            num_add(&e->parts[BF_DIFF_PART_REMOVED], &y, -1);
        } else {
            num_add(&e->parts[BF_DIFF_PART_CHANGED], &x, 1);
            num_add(&e->parts[BF_DIFF_PART_CHANGED], &y, -1);
        }
        if (grouped) {
            if (c <= 0) {
                bf_rows_value(&ga, a, ia[i], kc + 1);
                rc = add_group(e, cap, &ga, &x, 1);
            }
            if (rc == BF_OK && c >= 0) {
                bf_rows_value(&gb, b, ib[j], kc + 1);
                rc = add_group(e, cap, &gb, &y, -1);
            }
        }
        if (c <= 0)
            i++;
        if (c >= 0)
            j++;
    }
    bf__free(kidx);
    return rc;
}

/*
 * The end of an explanation whose rows were walked: when the before rows
 * are only those of the keys touched (`touched`), BEFORE is derived from
 * AFTER and DELTA is the sum of the parts; then the top_n groups by
 * absolute contribution are kept.
 */
static void explained_finish(bf_diff_explained *e, int touched, size_t top_n)
{
    if (touched) {
        /* BEFORE = AFTER - (ADDED + REMOVED + CHANGED); DELTA is then their sum. */
        num sum = {0, 0, 0, 0.0};

        num_add(&sum, &e->parts[BF_DIFF_PART_ADDED], 1);
        num_add(&sum, &e->parts[BF_DIFF_PART_REMOVED], 1);
        num_add(&sum, &e->parts[BF_DIFF_PART_CHANGED], 1);
        e->parts[BF_DIFF_PART_BEFORE] = e->parts[BF_DIFF_PART_AFTER];
        num_add(&e->parts[BF_DIFF_PART_BEFORE], &sum, -1);
        e->parts[BF_DIFF_PART_DELTA] = sum;
    }
    if (e->group_count) {
        /* Largest absolute contribution first (insertion sort: groups are few), then keep top_n. */
        for (size_t i = 1; i < e->group_count; i++) {
            struct group g = e->groups[i];
            size_t j = i;

            while (j > 0 && group_cmp_abs(&g, &e->groups[j - 1]) < 0) {
                e->groups[j] = e->groups[j - 1];
                j--;
            }
            e->groups[j] = g;
        }
        while (top_n && e->group_count > top_n)
            bf__value_dispose(&e->groups[--e->group_count].value);
    }
}

/* DELTA = AFTER - BEFORE, both measured. */
static void measured_delta(bf_diff_explained *e)
{
    num zero = {0, 0, 0, 0.0};

    e->parts[BF_DIFF_PART_DELTA] = zero;
    num_add(&e->parts[BF_DIFF_PART_DELTA], &e->parts[BF_DIFF_PART_AFTER], 1);
    num_add(&e->parts[BF_DIFF_PART_DELTA], &e->parts[BF_DIFF_PART_BEFORE], -1);
}

int bf_diff_explain(bf_diff_explained **out, const bf_diff *diff, bf_driver *d,
                    const bf_plan *plan, const bf_batch *batch, const char *metric,
                    const char *group_by, size_t top_n)
{
    bf_diff_explained *e = NULL;
    char *term = NULL;
    const char *exprs[2];
    bf_rows *a = NULL, *b = NULL;
    size_t *kidx = NULL, *ia = NULL, *ib = NULL, cap = 0;
    int rc;

    if (!out || !diff || !d || !metric)
        return bf__error(BF_E_INVALID, "bf_diff_explain: NULL argument");
    *out = NULL;
    if ((rc = explained_new(&e, &term, metric)) != BF_OK)
        return rc;
    if ((rc = total(&e->parts[BF_DIFF_PART_AFTER], d, diff->table, metric, plan, batch)) != BF_OK)
        goto done;
    if (diff->before_keys_table) /* a merge's before table holds only touched keys: derived below */
        e->parts[BF_DIFF_PART_BEFORE] = e->parts[BF_DIFF_PART_AFTER];
    else if (diff->before_table)
        rc = total(&e->parts[BF_DIFF_PART_BEFORE], d, diff->before_table, metric, plan, batch);
    else if (diff->differing_count)
        rc = bf__error(BF_E_UNSUPPORTED, "explain %s: the diff has no before rows", metric);
    else
        e->parts[BF_DIFF_PART_BEFORE] = e->parts[BF_DIFF_PART_AFTER];
    if (rc != BF_OK)
        goto done;
    measured_delta(e);
    if (!diff->differing_count)
        goto done;
    exprs[0] = term;
    exprs[1] = group_by;
    if ((rc = bf_driver_segment_rows(&a, d, diff->table, (const char *const *)diff->key,
                                     diff->key_count, exprs, group_by ? 2 : 1,
                                     (const char *const *)diff->key, diff->key_count,
                                     diff->segments, diff->differing, diff->differing_count, plan,
                                     batch)) != BF_OK ||
        (rc = bf_driver_segment_rows(&b, d, diff->before_table, (const char *const *)diff->key,
                                     diff->key_count, exprs, group_by ? 2 : 1,
                                     (const char *const *)diff->key, diff->key_count,
                                     diff->segments, diff->differing, diff->differing_count, plan,
                                     batch)) != BF_OK)
        goto done;
    kidx = bf__calloc(diff->key_count + 1, sizeof *kidx);
    if (!kidx) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t k = 0; k < diff->key_count; k++)
        kidx[k] = k;
    if (diff->before_keys_table) {
        /* Rows of untouched keys were not written: the same before and after, no contribution. */
        bf_rows *touched = NULL;

        if ((rc = bf__diff_touched(&touched, a, kidx, d, diff, 1)) != BF_OK)
            goto done;
        bf_rows_free(a);
        a = touched;
    }
    if ((rc = bf__diff_sort(&ia, a, kidx, diff->key_count)) != BF_OK ||
        (rc = bf__diff_sort(&ib, b, kidx, diff->key_count)) != BF_OK)
        goto done;
    rc = contributions(e, &cap, a, ia, NULL, b, ib, NULL, diff->key_count, group_by != NULL,
                       metric, term);
    if (rc == BF_OK)
        explained_finish(e, diff->before_keys_table != NULL, top_n);
done:
    bf__free(term);
    bf__free(kidx);
    bf__free(ia);
    bf__free(ib);
    bf_rows_free(a);
    bf_rows_free(b);
    if (rc != BF_OK) {
        bf_diff_explained_free(e);
        return rc;
    }
    *out = e;
    return BF_OK;
}

int bf_diff_explained_value(bf_value *out, const bf_diff_explained *e, bf_diff_part part)
{
    if (!out || !e)
        return bf__error(BF_E_INVALID, "bf_diff_explained_value: NULL argument");
    if (part < BF_DIFF_PART_BEFORE || part > BF_DIFF_PART_CHANGED)
        return bf__error(BF_E_NOT_FOUND, "bf_diff_explained_value: no part %d", (int)part);
    *out = num_value(&e->parts[part]);
    return BF_OK;
}

size_t bf_diff_explained_group_count(const bf_diff_explained *e)
{
    return e ? e->group_count : 0;
}

int bf_diff_explained_group(bf_value *group, bf_value *contribution, const bf_diff_explained *e,
                            size_t index)
{
    if (!e || index >= e->group_count)
        return bf__error(BF_E_NOT_FOUND, "bf_diff_explained_group: no group %zu", index);
    if (group)
        *group = e->groups[index].value;
    if (contribution)
        *contribution = num_value(&e->groups[index].contribution);
    return BF_OK;
}

static json_t *num_json(const num *n)
{
    if (n->is_null)
        return json_integer(0);
    return n->is_real ? json_real(n->r) : json_integer(n->i);
}

int bf_diff_explained_to_json(char **out, const bf_diff_explained *e)
{
    static const char *const names[] = {NULL, "before", "after", "delta", "added", "removed",
                                         "changed"};
    json_t *root, *groups;
    int rc;

    if (!out || !e)
        return bf__error(BF_E_INVALID, "bf_diff_explained_to_json: NULL argument");
    *out = NULL;
    root = json_object();
    groups = json_array();
    json_object_set_new(root, "metric", json_string(e->metric));
    for (int i = 1; i < 7; i++)
        json_object_set_new(root, names[i], num_json(&e->parts[i]));
    for (size_t i = 0; i < e->group_count; i++) {
        json_t *g = json_object();
        const bf_value *v = &e->groups[i].value;

        json_object_set_new(g, "group", v->type == BF_VALUE_INT ? json_integer(v->i)
                                        : v->type == BF_VALUE_REAL ? json_real(v->r)
                                        : v->type == BF_VALUE_TEXT ? json_stringn_nocheck(v->s, v->len)
                                        : json_null());
        json_object_set_new(g, "contribution", num_json(&e->groups[i].contribution));
        json_array_append_new(groups, g);
    }
    json_object_set_new(root, "groups", groups);
    rc = bf__json_dump(out, root, JSON_INDENT(2));
    json_decref(root);
    return rc;
}

/* ---- explained from the keys a publish touched ---- */

int bf__diff_decomposes(const char *metric)
{
    char *term = NULL;
    int ok = metric && per_row(&term, metric) == BF_OK;

    bf__free(term);
    return ok;
}

/* The columns of a read: the key, the term (and the group), then every column of the table. */
static int touched_rows(bf_rows **out, bf__sql *s, const char *tpl, const char *const *args,
                        const bf__tpl *t, size_t width, const bf__binds *binds)
{
    const char **names = bf__calloc(width + 1, sizeof *names);
    char *sql = NULL;
    int rc = names ? BF_OK : bf__nomem();

    *out = NULL;
    for (size_t i = 0; rc == BF_OK && i < width; i++)
        names[i] = i < t->key_count ? t->key[i] : i < width - t->col_count ? "expr"
                   : t->cols[i - (width - t->col_count)];
    if (rc == BF_OK)
        rc = bf__rows_new(out, names, width);
    if (rc == BF_OK)
        rc = bf__sql_build(s, &sql, t, tpl, args);
    if (rc == BF_OK)
        rc = bf__sql_query_rows(s, *out, sql, binds);
    if (rc != BF_OK) {
        bf_rows_free(*out);
        *out = NULL;
    }
    bf__free(sql);
    bf__free(names);
    return rc;
}

/* Whether rows sorted by key (order) hold a key twice among those kept (keep may be NULL). */
static int repeats_key(const bf_rows *r, const size_t *order, const unsigned char *keep,
                       const size_t *kidx, size_t kc)
{
    size_t prev = (size_t)-1;

    for (size_t i = 0; i < bf_rows_count(r); i++) {
        if (keep && !keep[order[i]])
            continue;
        if (prev != (size_t)-1 && bf__diff_key_cmp(r, prev, r, order[i], kidx, kidx, kc) == 0)
            return 1;
        prev = order[i];
    }
    return 0;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* Where `seg` is in the sorted `segs` (it is there). */
static size_t seg_slot(const int64_t *segs, size_t n, int64_t seg)
{
    size_t lo = 0, hi = n;

    while (lo < hi) {
        size_t mid = (lo + hi) / 2;

        if (segs[mid] < seg)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/*
 * Each row's segment (of the before-state's) into seg[r] and its
 * fingerprint over the table's columns (from column `first`) into fp[r],
 * added to *sum too; rows whose keep flag is 0 are skipped (keep may be
 * NULL).
 */
static int rows_segments(int64_t *seg, bf_fingerprint *fp, bf_fingerprint *sum, const bf_rows *r,
                         const unsigned char *keep, size_t kc, size_t first, int64_t segments,
                         bf_value *vals)
{
    size_t w = bf_rows_width(r);

    for (size_t i = 0; i < bf_rows_count(r); i++) {
        int rc;

        if (keep && !keep[i])
            continue;
        for (size_t c = 0; c < w; c++)
            bf_rows_value(&vals[c], r, i, c);
        if ((seg[i] = bf_key_segment(vals, kc, segments)) < 0)
            return bf__nomem();
        fp[i] = (bf_fingerprint){0, 0, 0};
        if ((rc = bf_fingerprint_add_row(&fp[i], vals + first, w - first)) != BF_OK)
            return rc;
        bf_fingerprint_add(sum, sum, &fp[i]);
    }
    return BF_OK;
}

/* Add each kept row's fingerprint (from rows_segments) to its segment's. */
static void rows_by_segment(bf_fingerprint *fps, const int64_t *useg, size_t nu,
                            const int64_t *seg, const bf_fingerprint *fp, size_t count,
                            const unsigned char *keep)
{
    for (size_t i = 0; i < count; i++) {
        bf_fingerprint *to;

        if (keep && !keep[i])
            continue;
        to = &fps[seg_slot(useg, nu, seg[i])];
        bf_fingerprint_add(to, to, &fp[i]);
    }
}

int bf__diff_explain_touched(bf_diff_explained **out, bf_driver *d, const char *table,
                             const char *before_table, const char *keys_table,
                             const char *const *key, size_t key_count,
                             const bf_diff_before *before, const bf_fingerprint *after,
                             const bf_value *after_total, const bf_plan *plan,
                             const bf_batch *batch, const char *metric, const char *group_by,
                             size_t top_n)
{
    bf__sql *s = d ? bf__driver_sql(d) : NULL;
    bf_diff_explained *e = NULL;
    bf_table_info *info = NULL;
    const char **cols = NULL;
    char *term = NULL, *exprs = NULL, *qtable = NULL;
    bf_rows *a = NULL, *b = NULL, *keys = NULL;
    size_t *ia = NULL, *ib = NULL, *ik = NULL, *kidx = NULL, cap = 0, nu = 0, width, first;
    unsigned char *keep_a = NULL, *keep_b = NULL, *differs = NULL;
    int64_t *seg_a = NULL, *seg_b = NULL, *useg = NULL;
    bf_fingerprint *fpa = NULL, *fpb = NULL, sum_a = {0, 0, 0}, sum_b = {0, 0, 0};
    bf_fingerprint *row_a = NULL, *row_b = NULL; /* each row's own fingerprint */
    int rowid = 0; /* the key is the table's rowid: no keys to read back */
    bf_fingerprint was = {0, 0, 0}, lhs, rhs;
    bf_value *vals = NULL;
    bf__binds binds;
    bf__sb sb;
    size_t ndiff = 0;
    int rc;

    if (!out || !d || !table || !before_table || !keys_table || !key || !before || !after ||
        !metric)
        return bf__error(BF_E_INVALID, "explain from touched keys: NULL argument");
    *out = NULL;
    if (!s)
        return bf__error(BF_E_UNSUPPORTED, "explain %s: needs a SQL driver", metric);
    if (key_count != before->key_count)
        return bf__error(BF_E_INVALID, "explain %s: the before-state has another key", metric);
    for (size_t k = 0; k < key_count; k++)
        if (!bf__sql_same_ident(key[k], before->key[k]))
            return bf__error(BF_E_INVALID, "explain %s: the before-state has another key",
                             metric);
    if ((rc = explained_new(&e, &term, metric)) != BF_OK)
        return rc;
    /* AFTER is measured, as bf_diff_explain measures it, unless the caller has it. */
    if (after_total && after_total->type != BF_VALUE_INT && after_total->type != BF_VALUE_REAL &&
        after_total->type != BF_VALUE_NULL) {
        rc = bf__error(BF_E_INVALID, "metric %s over %s is not numeric", metric, table);
        goto done;
    }
    if (after_total)
        e->parts[BF_DIFF_PART_AFTER] = num_of(after_total);
    else if ((rc = total(&e->parts[BF_DIFF_PART_AFTER], d, table, metric, plan, batch)) != BF_OK)
        goto done;
    e->parts[BF_DIFF_PART_BEFORE] = e->parts[BF_DIFF_PART_AFTER];
    measured_delta(e);
    /* The reads: the touched keys' rows within the batch now, their pre-images, the keys. */
    if ((rc = bf__sql_describe(s, &info, table)) != BF_OK)
        goto done;
    if (!(cols = bf__calloc(info->count + 1, sizeof *cols))) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t i = 0; i < info->count; i++)
        cols[i] = info->columns[i].name;
    {
        const char *parts[] = {term, group_by};

        bf__sb_init(&sb);
        for (size_t i = 0; i < (group_by ? 2u : 1u); i++)
            bf__sb_appendf(&sb, ", (%s)", parts[i]);
        if ((rc = bf__sb_finish(&sb, &exprs)) != BF_OK ||
            (rc = bf__sql_quoted(s, &qtable, table)) != BF_OK)
            goto done;
    }
    first = key_count + (group_by ? 2 : 1);
    width = first + info->count;
    bf__binds_init(&binds);
    bf__binds_batch(&binds, batch);
    {
        bf__tpl t = {cols, info->count, key, key_count, plan, batch};
        bf__tpl tk = {cols, 0, key, key_count, NULL, NULL};

        /* IN lets the warehouse look each touched key up, not read the keys per row. */
        if ((rc = touched_rows(&a, s, "SELECT %K%S, %C FROM %T WHERE %P AND %N",
                               ARGS(qtable, exprs, qtable, table, NULL, qtable, keys_table), &t,
                               width, &binds)) != BF_OK ||
            (rc = touched_rows(&b, s, "SELECT %K%S, %C FROM %T WHERE %P",
                               ARGS(NULL, exprs, NULL, before_table, NULL), &t, width,
                               &binds)) != BF_OK ||
            (rc = key_count == 1 ? bf__sql_rowid_column(s, table, info, key[0], &rowid)
                                 : BF_OK) != BF_OK ||
            (!rowid && (rc = touched_rows(&keys, s, "SELECT %K FROM %T", ARGS(NULL, keys_table),
                                          &tk, key_count, NULL)) != BF_OK))
            goto done;
    }
    if (!(kidx = bf__calloc(key_count + 1, sizeof *kidx)) ||
        !(keep_a = bf__calloc(bf_rows_count(a) + 1, 1)) ||
        !(seg_a = bf__calloc(bf_rows_count(a) + 1, sizeof *seg_a)) ||
        !(seg_b = bf__calloc(bf_rows_count(b) + 1, sizeof *seg_b)) ||
        !(row_a = bf__calloc(bf_rows_count(a) + 1, sizeof *row_a)) ||
        !(row_b = bf__calloc(bf_rows_count(b) + 1, sizeof *row_b)) ||
        !(useg = bf__calloc(bf_rows_count(a) + bf_rows_count(b) + 1, sizeof *useg)) ||
        !(vals = bf__calloc(width + 1, sizeof *vals))) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t k = 0; k < key_count; k++)
        kidx[k] = k;
    if ((rc = bf__diff_sort(&ia, a, kidx, key_count)) != BF_OK ||
        (rc = bf__diff_sort(&ib, b, kidx, key_count)) != BF_OK ||
        (!rowid && (rc = bf__diff_sort(&ik, keys, kidx, key_count)) != BF_OK))
        goto done;
    /*
     * The rows of touched keys, as the diff tells keys apart (by type and bytes): one walk
     * over both in key order. Keyed by the rowid, the keys are integers that SQL's IN matched
     * exactly: every row read is one.
     */
    if (rowid)
        memset(keep_a, 1, bf_rows_count(a));
    for (size_t r = 0, k = 0; !rowid && r < bf_rows_count(a); r++) {
        int c = -1;

        while (k < bf_rows_count(keys) &&
               (c = bf__diff_key_cmp(keys, ik[k], a, ia[r], kidx, kidx, key_count)) < 0)
            k++;
        keep_a[ia[r]] = k < bf_rows_count(keys) && c == 0;
    }
    /* A key twice on a side would make the walk's order depend on how rows came: diff instead. */
    if (repeats_key(a, ia, keep_a, kidx, key_count) || repeats_key(b, ib, NULL, kidx, key_count)) {
        rc = bf__error(BF_E_UNSUPPORTED, "explain %s: a key appears twice", metric);
        goto done;
    }
    if ((rc = rows_segments(seg_a, row_a, &sum_a, a, keep_a, key_count, first,
                            before->segments, vals)) != BF_OK ||
        (rc = rows_segments(seg_b, row_b, &sum_b, b, NULL, key_count, first, before->segments,
                            vals)) != BF_OK)
        goto done;
    /*
     * The rows no publish touched must be as they were captured: the
     * before-state and the pre-images, less the rows now, leave nothing.
     * Otherwise someone else wrote in the batch, and the diff says so.
     */
    for (size_t i = 0; i < before->seg_count; i++)
        bf_fingerprint_add(&was, &was, &before->segs[i].fp);
    bf_fingerprint_add(&lhs, &was, &sum_a);
    bf_fingerprint_add(&rhs, after, &sum_b);
    if (!bf_fingerprint_equal(&lhs, &rhs)) {
        rc = bf__error(BF_E_CONFLICT, "explain %s: %s does not hold the before rows captured",
                       metric, before_table);
        goto done;
    }
    /* A segment differs from its before-state when its touched rows differ from their pre-images. */
    for (size_t r = 0; r < bf_rows_count(a); r++)
        if (keep_a[r])
            useg[nu++] = seg_a[r];
    for (size_t r = 0; r < bf_rows_count(b); r++)
        useg[nu++] = seg_b[r];
    qsort(useg, nu, sizeof *useg, cmp_i64);
    {
        size_t w = 0;

        for (size_t i = 0; i < nu; i++)
            if (!w || useg[w - 1] != useg[i])
                useg[w++] = useg[i];
        nu = w;
    }
    if (!(fpa = bf__calloc(nu + 1, sizeof *fpa)) || !(fpb = bf__calloc(nu + 1, sizeof *fpb)) ||
        !(differs = bf__calloc(nu + 1, 1)) || !(keep_b = bf__calloc(bf_rows_count(b) + 1, 1))) {
        rc = bf__nomem();
        goto done;
    }
    rows_by_segment(fpa, useg, nu, seg_a, row_a, bf_rows_count(a), keep_a);
    rows_by_segment(fpb, useg, nu, seg_b, row_b, bf_rows_count(b), NULL);
    for (size_t i = 0; i < nu; i++)
        ndiff += differs[i] = !bf_fingerprint_equal(&fpa[i], &fpb[i]);
    if (!ndiff)
        goto done; /* nothing differs: BEFORE = AFTER, as a diff without differing segments */
    for (size_t r = 0; r < bf_rows_count(a); r++)
        keep_a[r] = keep_a[r] && differs[seg_slot(useg, nu, seg_a[r])];
    for (size_t r = 0; r < bf_rows_count(b); r++)
        keep_b[r] = differs[seg_slot(useg, nu, seg_b[r])];
    rc = contributions(e, &cap, a, ia, keep_a, b, ib, keep_b, key_count, group_by != NULL,
                       metric, term);
    if (rc == BF_OK)
        explained_finish(e, 1, top_n);
done:
    bf_table_info_free(info);
    bf__free(cols);
    bf__free(term);
    bf__free(exprs);
    bf__free(qtable);
    bf_rows_free(a);
    bf_rows_free(b);
    bf_rows_free(keys);
    bf__free(ia);
    bf__free(ib);
    bf__free(ik);
    bf__free(kidx);
    bf__free(keep_a);
    bf__free(keep_b);
    bf__free(differs);
    bf__free(seg_a);
    bf__free(seg_b);
    bf__free(row_a);
    bf__free(row_b);
    bf__free(useg);
    bf__free(fpa);
    bf__free(fpb);
    bf__free(vals);
    if (rc != BF_OK) {
        bf_diff_explained_free(e);
        return rc;
    }
    *out = e;
    return BF_OK;
}
