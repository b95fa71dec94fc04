/*
 * Each batch's rows in one scan (bf_driver_count_batches over SQL).
 *
 * Time and key plans are sorted half-open ranges that meet end to end, so
 * the n + 1 boundaries place every row of the scope in exactly one batch:
 * the dialect's batch-counts aggregate does a binary search per row in one
 * pass; without it (or when it cannot place a value exactly as the dialect
 * compares), a GROUP BY over a CASE expression that binary-searches the same
 * bound parameters does. Partition plans GROUP BY the column and join the
 * groups to the plan's values; bucket plans GROUP BY the bucket expression.
 * Every comparison is the one the batch predicates make, so the counts are
 * exactly theirs.
 */
#include <stdio.h>
#include <string.h>

#include "driver/sql.h"

/* Batches per statement of the CASE grouping (its parameters and nesting stay small). */
#define CASE_CHUNK 512

/* The SQL layer's view of a count: the table described, the plan's column checked. */
struct count {
    bf__sql *s;
    const bf_plan *plan;
    const char *table;
    const char *column;
    int64_t *out;
    size_t n;
};

static int run_template(struct count *c, char **out, const char *tpl, const char *const *args)
{
    bf__tpl t = {0};

    t.plan = c->plan;
    return bf__sql_build(c->s, out, &t, tpl, args);
}

/* Add each (ordinal, count) row of `sql` to the counts; ordinals out of range are ignored. */
static int add_rows(struct count *c, const char *sql, const bf__binds *binds,
                    const size_t *ordinal_of, size_t offset)
{
    bf__stmt st;
    bf_value v;
    int rc;

    if ((rc = bf__stmt_prepare(&st, c->s, sql, binds)) != BF_OK)
        return rc;
    while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
        int64_t i, n;

        if ((rc = bf__stmt_column(&st, 0, &v)) != BF_OK)
            break;
        if (v.type != BF_VALUE_INT)
            continue;
        i = v.i;
        if ((rc = bf__stmt_column(&st, 1, &v)) != BF_OK)
            break;
        n = v.type == BF_VALUE_INT ? v.i : 0;
        if (i < 0 || (uint64_t)i >= c->n - offset)
            continue;
        c->out[ordinal_of ? ordinal_of[offset + (size_t)i] : offset + (size_t)i] += n;
    }
    bf__stmt_finalize(&st);
    return rc == BF_SQL_DONE ? BF_OK : rc;
}

/* ---- one batch at a time: plans whose ranges do not meet end to end ---- */

static int count_each(struct count *c)
{
    bf__tpl t = {0};
    int rc = BF_OK;

    t.plan = c->plan;
    for (size_t i = 0; i < c->n && rc == BF_OK; i++) {
        bf__binds binds;
        char *sql = NULL;

        t.batch = bf_plan_batch(c->plan, i);
        bf__binds_init(&binds);
        bf__binds_batch(&binds, t.batch);
        rc = bf__sql_build(c->s, &sql, &t, "SELECT count(*) FROM %T WHERE %P",
                           ARGS(c->table, NULL));
        if (rc == BF_OK)
            rc = bf__sql_query_int(c->s, &c->out[i], sql, &binds);
        bf__free(sql);
    }
    return rc;
}

/* ---- ranges: time and key plans ---- */

static int value_cmp(const bf_value *a, const bf_value *b)
{
    size_t n;
    int r;

    if (a->type == BF_VALUE_INT)
        return (a->i > b->i) - (a->i < b->i);
    n = a->len < b->len ? a->len : b->len;
    r = memcmp(a->s, b->s, n);
    return r ? r : (a->len > b->len) - (a->len < b->len);
}

static int same_value(const bf_value *a, const bf_value *b)
{
    return a->type == b->type && (a->type == BF_VALUE_INT || a->type == BF_VALUE_TEXT) &&
           value_cmp(a, b) == 0;
}

/*
 * The boundaries of a range plan in key order: bounds[0..n], and
 * ordinal_of[k], the plan ordinal of the k-th batch. *meets is 0 unless the
 * batches, in plan order or reversed, meet end to end with increasing
 * integer or text bound parameters (every plan this library cuts does).
 */
static int range_bounds(struct count *c, bf_value *bounds, size_t *ordinal_of, int *meets)
{
    int time = bf_plan_dimension(c->plan) == BF_DIM_TIME;
    const char *lo_name = time ? "start" : "lo", *hi_name = time ? "end" : "hi";
    int reversed = c->n > 1 && bf_batch_lo(bf_plan_batch(c->plan, 0)) >
                                   bf_batch_lo(bf_plan_batch(c->plan, c->n - 1));
    bf_value lo, hi = {BF_VALUE_NULL, 0, 0.0, NULL, 0};

    *meets = 1;
    for (size_t k = 0; k < c->n && *meets; k++) {
        const bf_batch *b;

        ordinal_of[k] = reversed ? c->n - 1 - k : k;
        b = bf_plan_batch(c->plan, ordinal_of[k]);
        if (bf_batch_param(&lo, b, lo_name) != BF_OK || (k && !same_value(&lo, &hi)) ||
            bf_batch_param(&hi, b, hi_name) != BF_OK ||
            (lo.type != BF_VALUE_INT && lo.type != BF_VALUE_TEXT) || hi.type != lo.type ||
            value_cmp(&lo, &hi) >= 0)
            *meets = 0;
        bounds[k] = lo;
    }
    bounds[c->n] = hi;
    return BF_OK;
}

/* The dialect's aggregate's blob of boundaries (see bf_sql_vtable.batch_counts_function). */
static int encode_bounds(bf_value *out, const bf_value *bounds, size_t count)
{
    bf__sb sb;
    char *text;
    size_t len = 0;
    int rc;

    bf__sb_init(&sb);
    bf__sb_appendc(&sb, bounds[0].type == BF_VALUE_INT ? 'I' : 'T');
    for (size_t i = 0; i < count; i++) {
        unsigned char b[8];

        if (bounds[i].type == BF_VALUE_INT) {
            uint64_t u = (uint64_t)bounds[i].i;

            for (int k = 0; k < 8; k++)
                b[k] = (unsigned char)(u >> (8 * k));
            bf__sb_appendn(&sb, (const char *)b, 8);
        } else {
            for (int k = 0; k < 4; k++)
                b[k] = (unsigned char)((uint32_t)bounds[i].len >> (8 * k));
            bf__sb_appendn(&sb, (const char *)b, 4);
            bf__sb_appendn(&sb, bounds[i].s, bounds[i].len);
        }
    }
    len = sb.len;
    if ((rc = bf__sb_finish(&sb, &text)) != BF_OK)
        return rc;
    out->type = BF_VALUE_BLOB;
    out->s = text;
    out->len = len;
    return BF_OK;
}

/* The aggregate's pass; *placed is 0 when it answered NULL (a value it cannot place). */
static int count_with_aggregate(struct count *c, const bf_value *bounds,
                                const size_t *ordinal_of, int *placed)
{
    const char *fn = c->s->vt.batch_counts_function;
    bf_value blob = {BF_VALUE_NULL, 0, 0.0, NULL, 0}, v;
    bf__binds binds;
    bf__stmt st;
    char *sql = NULL;
    int rc;

    *placed = 0;
    if ((rc = encode_bounds(&blob, bounds, c->n + 1)) != BF_OK)
        return rc;
    bf__binds_init(&binds);
    bf__binds_value(&binds, "bf_lo", &bounds[0]);
    bf__binds_value(&binds, "bf_hi", &bounds[c->n]);
    bf__binds_value(&binds, "bf_bounds", &blob);
    rc = run_template(c, &sql, "SELECT %S(%T, :bf_bounds) FROM %T WHERE %T >= :bf_lo AND "
                      "%T < :bf_hi", ARGS(fn, c->column, c->table, c->column, c->column));
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, c->s, sql, &binds)) == BF_OK) {
        rc = bf__stmt_step(&st);
        if (rc == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK) {
            if (v.type == BF_VALUE_BLOB && v.len == 0) {
                *placed = 1; /* no rows in the scope */
            } else if (v.type == BF_VALUE_BLOB && v.len == 8 * c->n) {
                const unsigned char *p = (const unsigned char *)v.s;

                for (size_t k = 0; k < c->n; k++, p += 8) {
                    uint64_t u = 0;

                    for (int b = 7; b >= 0; b--)
                        u = (u << 8) | p[b];
                    c->out[ordinal_of[k]] = (int64_t)u;
                }
                *placed = 1;
            } else if (v.type != BF_VALUE_NULL) {
                rc = bf__error(BF_E_DRIVER, "%s: %s returned no counts for the %zu batches of "
                               "the plan on %s", c->s->vt.dialect ? c->s->vt.dialect : "driver",
                               fn, c->n, c->column);
            }
        } else if (rc == BF_SQL_DONE) {
            rc = BF_OK;
        }
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    bf__free((char *)blob.s);
    return rc;
}

/* "CASE WHEN x < :bf_vM THEN <[a, m)> ELSE <[m, b)> END": the batch k in [a, b) holding x. */
static int case_search(struct count *c, bf__sb *sb, size_t a, size_t b)
{
    size_t m;

    if (b - a == 1) {
        bf__sb_appendf(sb, "%zu", a);
        return BF_OK;
    }
    m = a + (b - a) / 2;
    bf__sb_append(sb, "CASE WHEN ");
    if (bf__sql_ident(c->s, sb, c->column) != BF_OK)
        return BF_E_INVALID;
    bf__sb_appendf(sb, " < :bf_v%zu THEN ", m);
    if (case_search(c, sb, a, m) != BF_OK)
        return BF_E_INVALID;
    bf__sb_append(sb, " ELSE ");
    if (case_search(c, sb, m, b) != BF_OK)
        return BF_E_INVALID;
    bf__sb_append(sb, " END");
    return BF_OK;
}

/* GROUP BY the CASE search, CASE_CHUNK batches per statement (each reads only its own range). */
static int count_with_case(struct count *c, const bf_value *bounds, const size_t *ordinal_of)
{
    int rc = BF_OK;

    for (size_t from = 0; from < c->n && rc == BF_OK; from += CASE_CHUNK) {
        size_t k = c->n - from < CASE_CHUNK ? c->n - from : CASE_CHUNK;
        bf__binds binds;
        char *search = NULL, *sql = NULL, hi[32];
        bf__sb sb;

        bf__sb_init(&sb);
        rc = case_search(c, &sb, 0, k);
        if (rc == BF_OK)
            rc = bf__sql_text(&sb, &search);
        else
            bf__sb_dispose(&sb);
        snprintf(hi, sizeof hi, ":bf_v%zu", k);
        if (rc == BF_OK)
            rc = run_template(c, &sql, "SELECT %S AS bf_k, count(*) FROM %T WHERE %T >= :bf_v0 "
                              "AND %T < %S GROUP BY bf_k",
                              ARGS(search, c->table, c->column, c->column, hi));
        bf__binds_init(&binds);
        bf__binds_list(&binds, bounds + from, k + 1);
        if (rc == BF_OK)
            rc = add_rows(c, sql, &binds, ordinal_of + from, 0);
        bf__free(search);
        bf__free(sql);
    }
    return rc;
}

static char lower(char ch)
{
    return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch;
}

/* ASCII letters in either case, as SQL matches identifiers and type names. */
static int same_ascii(const char *a, const char *b, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (lower(a[i]) != lower(b[i]))
            return 0;
        if (!a[i])
            return 1;
    }
    return 1;
}

/*
 * Whether the column is declared as text (CHAR, CLOB, TEXT): compared with
 * integer bounds it compares as text, so "10" lies in [0, 7) and the
 * batches overlap instead of tiling. Such plans are counted batch by batch.
 */
static int declared_text(const bf_table_info *info, const char *column)
{
    static const char *const words[] = {"CHAR", "CLOB", "TEXT"};

    for (size_t i = 0; i < bf_table_info_column_count(info); i++) {
        const char *name = bf_table_info_column_name(info, i), *type;

        if (strlen(name) != strlen(column) || !same_ascii(name, column, strlen(name)))
            continue;
        type = bf_table_info_column_type(info, i);
        for (size_t w = 0; type && w < BF_ARRAY_LEN(words); w++)
            for (const char *p = type; *p; p++)
                if (same_ascii(p, words[w], 4))
                    return 1;
    }
    return 0;
}

static int count_ranges(struct count *c, const bf_table_info *info)
{
    bf_value *bounds = bf__calloc(c->n + 1, sizeof *bounds);
    size_t *ordinal_of = bf__calloc(c->n, sizeof *ordinal_of);
    int meets = 0, placed = 0, rc = bounds && ordinal_of ? BF_OK : bf__nomem();

    if (rc == BF_OK)
        rc = range_bounds(c, bounds, ordinal_of, &meets);
    if (rc == BF_OK && meets && bounds[0].type == BF_VALUE_INT && declared_text(info, c->column))
        meets = 0;
    if (rc == BF_OK && !meets)
        rc = count_each(c);
    else if (rc == BF_OK && c->s->vt.batch_counts_function)
        rc = count_with_aggregate(c, bounds, ordinal_of, &placed);
    if (rc == BF_OK && meets && !placed)
        rc = count_with_case(c, bounds, ordinal_of);
    bf__free(bounds);
    bf__free(ordinal_of);
    return rc;
}

/* ---- partitions and buckets ---- */

/* Values per statement when joining groups to partition values. */
#define VALUES_CHUNK 4096

static int count_partitions(struct count *c)
{
    bf_value *values = bf__calloc(c->n, sizeof *values);
    int rc = values ? BF_OK : bf__nomem();

    for (size_t i = 0; i < c->n && rc == BF_OK; i++)
        rc = bf_batch_param(&values[i], bf_plan_batch(c->plan, i), "partition");
    /*
     * The column's groups, each joined to the plan's values it equals: the
     * group keeps the column's affinity and collation, so `g.x = p.x` is
     * the batch predicate `col = :partition`.
     */
    for (size_t from = 0; from < c->n && rc == BF_OK; from += VALUES_CHUNK) {
        size_t k = c->n - from < VALUES_CHUNK ? c->n - from : VALUES_CHUNK;
        bf__binds binds;
        char *sql = NULL;
        bf__sb sb;

        bf__sb_init(&sb);
        for (size_t i = 0; i < k; i++)
            bf__sb_appendf(&sb, "%s(%zu, :bf_v%zu)", i ? ", " : "", i, i);
        if ((rc = bf__sql_text(&sb, &sql)) != BF_OK)
            break;
        {
            char *values_sql = sql;

            rc = run_template(c, &sql, "SELECT bf_p.column1, sum(bf_g.bf_n) FROM (SELECT %T AS "
                              "bf_x, count(*) AS bf_n FROM %T WHERE %T IS NOT NULL GROUP BY %T) "
                              "bf_g JOIN (VALUES %S) bf_p ON bf_g.bf_x = bf_p.column2 "
                              "GROUP BY bf_p.column1",
                              ARGS(c->column, c->table, c->column, c->column, values_sql));
            bf__free(values_sql);
        }
        bf__binds_init(&binds);
        bf__binds_list(&binds, values + from, k);
        if (rc == BF_OK) {
            struct count part = *c;

            part.out = c->out + from;
            part.n = k;
            rc = add_rows(&part, sql, &binds, NULL, 0);
        }
        bf__free(sql);
    }
    bf__free(values);
    return rc;
}

static int count_buckets(struct count *c)
{
    bf__binds binds;
    size_t *ordinal_of = NULL;
    char *sql = NULL;
    int64_t buckets = bf_batch_hi(bf_plan_batch(c->plan, 0));
    int rc;

    if (!c->s->vt.bucket_function)
        return bf__error(BF_E_UNSUPPORTED, "%s: no bucket function, so no bucket batches",
                         c->s->vt.dialect ? c->s->vt.dialect : "driver");
    if (buckets <= 0 || (uint64_t)buckets != c->n)
        return count_each(c);
    ordinal_of = bf__calloc(c->n, sizeof *ordinal_of);
    if (!ordinal_of)
        return bf__nomem();
    for (size_t i = 0; i < c->n; i++) {
        int64_t b = bf_batch_lo(bf_plan_batch(c->plan, i));

        if (b < 0 || b >= buckets) {
            bf__free(ordinal_of);
            return count_each(c);
        }
        ordinal_of[b] = i;
    }
    bf__binds_init(&binds);
    bf__binds_int(&binds, "bf_buckets", buckets);
    rc = run_template(c, &sql, "SELECT %S(%T, :bf_buckets) AS bf_b, count(*) FROM %T GROUP BY bf_b",
                      ARGS(c->s->vt.bucket_function, c->column, c->table));
    if (rc == BF_OK)
        rc = add_rows(c, sql, &binds, ordinal_of, 0);
    bf__free(sql);
    bf__free(ordinal_of);
    return rc;
}

int bf__sql_count_batches(void *ud, int64_t *out_counts, const bf_plan *plan, const char *table)
{
    struct count c = {ud, plan, table, bf_plan_column(plan), out_counts, bf_plan_count(plan)};
    bf_table_info *info = NULL;
    int rc;

    if (!c.n)
        return BF_OK;
    /* The table exists and has the plan's column: otherwise every count would be a lie. */
    if ((rc = bf__sql_describe(c.s, &info, table)) == BF_OK)
        rc = bf__sql_check_scope(c.s, info, table, plan, bf_plan_batch(plan, 0));
    if (rc == BF_OK) {
        switch (bf_plan_dimension(plan)) {
        case BF_DIM_TIME:
        case BF_DIM_KEY:
            rc = count_ranges(&c, info);
            break;
        case BF_DIM_PARTITION:
            rc = count_partitions(&c);
            break;
        case BF_DIM_BUCKET:
            rc = count_buckets(&c);
            break;
        default:
            rc = count_each(&c);
        }
    }
    bf_table_info_free(info);
    return rc;
}
