/*
 * The two phases and the built-in checks. One driver profile per phase
 * serves every check that can share its scan; the rest write one statement
 * each, scoped by the batch predicate.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"
#include "plan/plan_internal.h"
#include "validate/diff_internal.h"
#include "validate/results_internal.h"

typedef struct cstate {
    int have;
    double value;
    int value_null;
    bf_fingerprint fp;
    json_t *data; /* groups, records */
    int64_t a, b; /* completeness: distinct keys, partitions; footprint: bytes */
    uint64_t *hashes; /* coverage: the sorted hashes of the rows outside the scope */
    size_t nhashes;
    int have_outside;
    int restored; /* read back from a recorded before-state, not measured in this process */
    void *custom;
} cstate;

struct bf_validation_state {
    const bf_validator *v;
    size_t count;
    cstate *cs;
};

/* A metric expression the profile can serve. */
enum { M_NONE, M_SUM, M_COUNT, M_AVG, M_SUM_OVER_COUNT };

typedef struct ctx {
    bf_validator *v;
    bf_driver *d;
    bf__sql *s;
    const bf_plan *plan;
    const bf_batch *batch;
    /* What queries read: the batch, or for the run the plan's scope (scope_plan's one batch
     * for time, key and partition plans; NULL, the whole table, for bucket plans and none). */
    const bf_plan *qplan;
    const bf_batch *qbatch;
    bf_plan *scope_plan;
    bf_table_info *info;
    const char *nulls[64], *sums[64], **fpcols;
    size_t nnull, nsum, nfp;
    int fp_owner; /* index+1 of the unchanged_columns check the profile fingerprints */
    bf_profile *prof;
    bf_fingerprint *all_fp; /* after phase: the fingerprint of every column, from the profile's
                               scan (bf__validator_after_fp), or NULL */
    int all_fp_done;        /* whether *all_fp was measured */
    const char *const *seg_key; /* before phase: capture a before-state by this key in the
                                   profile's scan (bf__validator_before_capture), or NULL */
    size_t seg_key_count;
    bf_diff_before *capture; /* what was captured */
    /* After phase: the references checks' counts, measured in the profile's scan when
     * probes_done (the check of probe i is checks[probe_check[i]]). */
    bf__orphan_probe probes[8];
    size_t probe_check[8], nprobe;
    int probes_done;
    char where[64]; /* "in batch X" / "in the run" */
} ctx;

static const char *kname(const bf__vcheck *c)
{
    static const char *const names[] = {NULL,     "row_count", "unique",  "not_null",
                                        "references", "metric", "unchanged_columns",
                                        "records", "sql",      "coverage", "completeness",
                                        "footprint"};
    if (c->kind == BF__CHECK_CUSTOM)
        return c->kind_name;
    if (c->kind == BF__CHECK_EXPECTED_ROWS)
        return "row_count";
    return names[c->kind];
}

static const char *member(const bf__vcheck *c, const char *m)
{
    return c->cfg ? json_string_value(json_object_get(c->cfg, m)) : NULL;
}

/* The check's name, or its kind. */
static const char *check_name_of(const bf__vcheck *c)
{
    const char *n = member(c, "name");
    return n ? n : kname(c);
}

/* The strings of a JSON list, borrowed; *out freed by the caller. */
static int list_of(const char ***out, size_t *n, json_t *arr)
{
    *out = NULL;
    *n = json_array_size(arr);
    if (!*n)
        return BF_OK;
    if (!(*out = bf__calloc(*n, sizeof **out)))
        return bf__nomem();
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = json_string_value(json_array_get(arr, i));
    return BF_OK;
}

/* The columns of a check, or `dflt` when it names none. */
static int cols_or(const char ***out, size_t *n, const bf__vcheck *c, char **dflt, size_t nd)
{
    if (json_array_size(json_object_get(c->cfg, "columns")))
        return list_of(out, n, json_object_get(c->cfg, "columns"));
    *n = nd;
    *out = NULL;
    if (!nd)
        return BF_OK;
    if (!(*out = bf__calloc(nd, sizeof **out)))
        return bf__nomem();
    for (size_t i = 0; i < nd; i++)
        (*out)[i] = dflt[i];
    return BF_OK;
}

/* Where `name` is in the list, matched as SQL matches names; n when it is not. */
static size_t name_at(const char *const *list, size_t n, const char *name)
{
    size_t i = 0;

    while (i < n && !bf__sql_same_ident(list[i], name))
        i++;
    return i;
}

/* Whether `name` is in the list, compared as SQL compares names (ASCII case aside). */
static int in_list(char **list, size_t n, const char *name)
{
    return name_at((const char *const *)list, n, name) < n;
}

/* unchanged_columns: the given columns, or every column of the table outside target.columns. */
static int unchanged_cols(const char ***out, size_t *n, const ctx *x, const bf__vcheck *c)
{
    size_t total = bf_table_info_column_count(x->info);

    if (json_array_size(json_object_get(c->cfg, "columns")))
        return list_of(out, n, json_object_get(c->cfg, "columns"));
    *n = 0;
    if (!(*out = bf__calloc(total + 1, sizeof **out)))
        return bf__nomem();
    for (size_t i = 0; i < total; i++)
        if (!in_list(x->v->columns, x->v->column_count, bf_table_info_column_name(x->info, i)))
            (*out)[(*n)++] = bf_table_info_column_name(x->info, i);
    return BF_OK;
}

/* ---- SQL helpers ---- */

static void batch_binds(bf__binds *b, const ctx *x)
{
    bf__binds_init(b);
    bf__binds_batch(b, x->qbatch);
}

static int build(const ctx *x, char **out, const char *const *cols, size_t ncols, const char *tpl,
                 const char *const *args)
{
    bf__tpl t = {cols, ncols, NULL, 0, x->qplan, x->qbatch};
    return bf__sql_build(x->s, out, &t, tpl, args);
}

/* "(c1 IS NULL OR c2 IS NULL ...)" */
static int any_null(const ctx *x, char **out, const char *const *cols, size_t n)
{
    bf__sb sb;
    int rc = BF_OK;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "(");
    for (size_t i = 0; i < n && rc == BF_OK; i++) {
        if (i)
            bf__sb_append(&sb, " OR ");
        rc = bf__sql_ident(x->s, &sb, cols[i]);
        bf__sb_append(&sb, " IS NULL");
    }
    bf__sb_append(&sb, ")");
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

static json_t *val_json(const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        return json_integer((json_int_t)v->i);
    case BF_VALUE_REAL:
        return json_real(v->r);
    case BF_VALUE_TEXT:
        return json_stringn(v->s, v->len);
    case BF_VALUE_BLOB:
        return json_sprintf("<%zu bytes>", v->len);
    default:
        return json_null();
    }
}

/* Run a query; each row becomes an object of column name -> value, appended to *rows. */
static int query_objects(const ctx *x, json_t *rows, const char *sql, const bf__binds *b,
                         size_t limit, int64_t *count)
{
    bf__stmt st;
    int rc, ncol;

    *count = 0;
    if ((rc = bf__stmt_prepare(&st, x->s, sql, b)) != BF_OK)
        return rc;
    ncol = x->s->vt.column_count(x->s->ud, st.h);
    while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
        (*count)++;
        if (rows && json_array_size(rows) < limit) {
            json_t *o = json_object();
            bf_value v;

            for (int i = 0; o && i < ncol; i++) {
                char nm[24];
                if ((rc = bf__stmt_column(&st, i, &v)) != BF_OK)
                    break;
                bf__snprintf(nm, sizeof nm, "%d", i);
                json_object_set_new(o, nm, val_json(&v));
            }
            if (rc != BF_SQL_ROW && rc != BF_OK) {
                json_decref(o);
                break;
            }
            rc = BF_SQL_ROW;
            if (!o || json_array_append_new(rows, o) != 0) {
                rc = bf__nomem();
                break;
            }
        }
    }
    bf__stmt_finalize(&st);
    return rc == BF_SQL_DONE ? BF_OK : rc;
}

/* One value from a query (NULL when no row). */
static int query_value(const ctx *x, json_t **out, const char *sql, const bf__binds *b)
{
    json_t *rows = json_array();
    int64_t n;
    int rc;

    *out = NULL;
    if (!rows)
        return bf__nomem();
    rc = query_objects(x, rows, sql, b, 1, &n);
    if (rc == BF_OK)
        *out = json_incref(json_object_get(json_array_get(rows, 0), "0"));
    if (rc == BF_OK && !*out)
        *out = json_null();
    json_decref(rows);
    return rc;
}

static int count_where(const ctx *x, int64_t *out, const char *table, const char *cond)
{
    char *sql = NULL;
    bf__binds b;
    int rc = build(x, &sql, NULL, 0, "SELECT count(*) FROM %T WHERE %P AND %S",
                   ARGS(table, NULL, cond));

    batch_binds(&b, x);
    if (rc == BF_OK)
        rc = bf__sql_query_int(x->s, out, sql, &b);
    bf__free(sql);
    return rc;
}

/* ---- metric expressions ---- */

/* Parse FUNC(ident) or COUNT(*) or SUM(ident)/COUNT(*); *col points into a buffer. */
static int metric_form(const char *expr, char *col, size_t colsz)
{
    char buf[256], *p = buf, *q;
    size_t n = 0;
    int form = M_NONE;

    for (const char *e = expr; *e && n + 1 < sizeof buf; e++)
        if (!bf__ascii_isspace((unsigned char)*e))
            buf[n++] = (char)bf__ascii_tolower((unsigned char)*e);
    buf[n] = 0;
    if (strcmp(buf, "count(*)") == 0)
        return M_COUNT;
    if (strncmp(p, "sum(", 4) == 0)
        form = M_SUM;
    else if (strncmp(p, "avg(", 4) == 0)
        form = M_AVG;
    else
        return M_NONE;
    p += 4;
    q = strchr(p, ')');
    if (!q || q == p || (size_t)(q - p) >= colsz)
        return M_NONE;
    for (char *c = p; c < q; c++)
        if (!bf__ascii_isalpha((unsigned char)*c) && !bf__ascii_isdigit((unsigned char)*c) &&
            *c != '_')
            return M_NONE;
    /* The column keeps its original spelling: find it in the expression. */
    {
        const char *o = strchr(expr, '(') + 1;
        size_t k = 0;
        while (*o && *o != ')' && k + 1 < colsz) {
            if (!bf__ascii_isspace((unsigned char)*o))
                col[k++] = *o;
            o++;
        }
        col[k] = 0;
    }
    if (q[1] == 0)
        return form;
    if (form == M_SUM && strcmp(q + 1, "/count(*)") == 0)
        return M_SUM_OVER_COUNT;
    return M_NONE;
}

static int is_texty(const char *type)
{
    char up[64];
    size_t i;

    for (i = 0; type && type[i] && i + 1 < sizeof up; i++)
        up[i] = (char)(type[i] >= 'a' && type[i] <= 'z' ? type[i] - 32 : type[i]);
    up[i] = 0;
    return strstr(up, "CHAR") || strstr(up, "CLOB") || strstr(up, "TEXT") || strstr(up, "BLOB");
}

static const char *column_type(const bf_table_info *info, const char *name)
{
    for (size_t i = 0; i < bf_table_info_column_count(info); i++)
        if (bf__sql_same_ident(bf_table_info_column_name(info, i), name))
            return bf_table_info_column_type(info, i);
    return NULL;
}

static size_t add_name(const char **list, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(list[i], name) == 0)
            return i;
    if (*n >= 64)
        return (size_t)-1;
    list[*n] = name;
    return (*n)++;
}

/*
 * The metric's value in this phase: from the profile or one query. `exact`
 * (may be NULL) gets it as SQL gives the expression (an integer, a real or
 * NULL) where the value is that: a sum or count from the profile (whose
 * sums are sum()'s to the bit), or the query's own value; else BF_VALUE_TEXT,
 * meaning "none".
 */
static int metric_value(const ctx *x, const bf__vcheck *c, double *out, int *is_null,
                        bf_value *exact)
{
    const char *expr = member(c, "expr");
    char col[200], *sql = NULL;
    int form = metric_form(expr, col, sizeof col);
    size_t si, ni;
    bf_value sv;
    bf__binds b;
    json_t *val = NULL;
    int rc;

    *is_null = 0;
    *out = 0;
    if (exact)
        *exact = (bf_value){BF_VALUE_TEXT, 0, 0.0, NULL, 0};
    /* A column the profile does not sum (or count NULLs of, for AVG) is asked of SQL. */
    si = name_at(x->sums, x->nsum, col);
    ni = name_at(x->nulls, x->nnull, col);
    if ((form != M_COUNT && si == x->nsum) || (form == M_AVG && ni == x->nnull))
        form = M_NONE;
    if (form != M_NONE && x->prof) {
        int64_t rows = bf_profile_rows(x->prof);
        double sum = 0;
        int sum_null = 1;

        if (form != M_COUNT && bf_profile_sum(&sv, x->prof, si) == BF_OK &&
            sv.type != BF_VALUE_NULL) {
            sum = sv.type == BF_VALUE_INT ? (double)sv.i : sv.r;
            sum_null = 0;
        }
        switch (form) {
        case M_COUNT:
            *out = (double)rows;
            if (exact)
                *exact = (bf_value){BF_VALUE_INT, rows, 0.0, NULL, 0};
            return BF_OK;
        case M_SUM:
            *out = sum;
            *is_null = sum_null;
            if (exact)
                *exact = sum_null ? (bf_value){BF_VALUE_NULL, 0, 0.0, NULL, 0} : sv;
            return BF_OK;
        case M_SUM_OVER_COUNT:
            *out = rows ? sum / (double)rows : 0;
            *is_null = rows == 0;
            return BF_OK;
        case M_AVG:
            rows -= bf_profile_nulls(x->prof, ni);
            *out = rows > 0 ? sum / (double)rows : 0;
            *is_null = rows <= 0;
            return BF_OK;
        }
    }
    rc = build(x, &sql, NULL, 0, "SELECT %S FROM %T WHERE %P", ARGS(expr, x->v->table, NULL));
    batch_binds(&b, x);
    if (rc == BF_OK)
        rc = query_value(x, &val, sql, &b);
    bf__free(sql);
    if (rc != BF_OK)
        return bf__error(rc, "check %s: metric expression %s on table %s: %s", check_name_of(c),
                         expr, x->v->table, bf_last_error());
    if (json_is_null(val)) {
        *is_null = 1;
        if (exact)
            *exact = (bf_value){BF_VALUE_NULL, 0, 0.0, NULL, 0};
    } else if (json_is_number(val)) {
        *out = json_number_value(val);
        if (exact && json_is_integer(val))
            *exact = (bf_value){BF_VALUE_INT, (int64_t)json_integer_value(val), 0.0, NULL, 0};
        else if (exact)
            *exact = (bf_value){BF_VALUE_REAL, 0, json_real_value(val), NULL, 0};
    } else
        rc = bf__error(BF_E_INVALID,
                       "check %s: metric expression %s on table %s is not numeric (it gives %s)",
                       check_name_of(c), expr, x->v->table,
                       json_is_string(val) ? "text" : "a non-number");
    json_decref(val);
    return rc;
}

/* ---- inputs: every name checked before anything is read ---- */

static int check_cols(const ctx *x, const bf__vcheck *c, const bf_table_info *info,
                      const char *table, const char *const *cols, size_t n)
{
    int rc = bf__sql_check_columns(x->s, info, table, cols, n);

    if (rc != BF_OK)
        return bf__error(rc, "check %s: %s", check_name_of(c), bf_last_error());
    return BF_OK;
}

static int prepare_only(const ctx *x, const bf__vcheck *c, const char *sql, const char *what)
{
    bf__stmt st;
    bf__binds b;
    int rc;

    batch_binds(&b, x);
    rc = bf__stmt_prepare(&st, x->s, sql, &b);
    if (rc != BF_OK)
        return bf__error(BF_E_INVALID, "check %s: the %s does not prepare: %s", check_name_of(c),
                         what, bf_last_error());
    bf__stmt_finalize(&st);
    return BF_OK;
}

/*
 * An sql check's query as it runs: inside SELECT * FROM (...), where only a query can stand,
 * so a DELETE, UPDATE, INSERT or DROP written there never runs (a check reads, it never
 * changes the warehouse, a test slice's target included). Trailing ';' and blanks dropped.
 */
static int sql_check_query(const bf__vcheck *c, char **out)
{
    const char *q = member(c, "query");
    size_t n = q ? strlen(q) : 0;

    while (n && (q[n - 1] == ';' || bf__ascii_isspace((unsigned char)q[n - 1])))
        n--;
    *out = bf__asprintf("SELECT * FROM (%.*s\n)", (int)n, q ? q : "");
    return *out ? BF_OK : bf__nomem();
}

static int check_inputs(ctx *x, const bf__vcheck *c)
{
    const char **cols = NULL;
    size_t n = 0;
    char *sql = NULL;
    int rc = BF_OK;

    switch (c->kind) {
    case BF_CHECK_UNIQUE:
    case BF_CHECK_COMPLETENESS:
        rc = cols_or(&cols, &n, c, x->v->key, x->v->key_count);
        if (rc == BF_OK && !n)
            rc = bf__error(BF_E_INVALID, "check %s: no columns and no target key",
                           check_name_of(c));
        if (rc == BF_OK)
            rc = check_cols(x, c, x->info, x->v->table, cols, n);
        if (rc == BF_OK && member(c, "partition_column")) {
            const char *pc = member(c, "partition_column");
            rc = check_cols(x, c, x->info, x->v->table, &pc, 1);
        }
        break;
    case BF_CHECK_NOT_NULL:
    case BF_CHECK_UNCHANGED_COLUMNS:
        rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));
        if (rc == BF_OK)
            rc = check_cols(x, c, x->info, x->v->table, cols, n);
        break;
    case BF_CHECK_REFERENCES: {
        const char **pcols = NULL;
        size_t pn = 0;
        bf_table_info *pinfo = NULL;
        const char *parent = member(c, "parent");

        rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));
        if (rc == BF_OK)
            rc = list_of(&pcols, &pn, json_object_get(c->cfg, "parent_columns"));
        if (rc == BF_OK && (!parent || !n || n != pn))
            rc = bf__error(BF_E_INVALID, "check %s: references needs columns, parent and as "
                           "many parent_columns", check_name_of(c));
        if (rc == BF_OK)
            rc = check_cols(x, c, x->info, x->v->table, cols, n);
        if (rc == BF_OK && (rc = bf__sql_describe(x->s, &pinfo, parent)) != BF_OK)
            rc = bf__error(rc, "check %s: %s", check_name_of(c), bf_last_error());
        if (rc == BF_OK)
            rc = check_cols(x, c, pinfo, parent, pcols, pn);
        bf_table_info_free(pinfo);
        bf__free(pcols);
        break;
    }
    case BF_CHECK_METRIC: {
        char col[200];
        const char *expr = member(c, "expr");

        if (!expr)
            return bf__error(BF_E_INVALID, "check %s: a metric needs expr", check_name_of(c));
        rc = list_of(&cols, &n, json_object_get(c->cfg, "group_by"));
        if (rc == BF_OK)
            rc = check_cols(x, c, x->info, x->v->table, cols, n);
        if (rc == BF_OK && metric_form(expr, col, sizeof col) != M_NONE &&
            metric_form(expr, col, sizeof col) != M_COUNT) {
            const char *cc = col;
            rc = check_cols(x, c, x->info, x->v->table, &cc, 1);
            if (rc == BF_OK && is_texty(column_type(x->info, col)))
                rc = bf__error(BF_E_INVALID,
                               "check %s: metric expression %s on table %s is not numeric: "
                               "column %s is declared %s", check_name_of(c), expr,
                               x->v->table, col, column_type(x->info, col));
        }
        if (rc == BF_OK)
            rc = build(x, &sql, NULL, 0, "SELECT %S FROM %T WHERE %P",
                       ARGS(expr, x->v->table, NULL));
        if (rc == BF_OK)
            rc = prepare_only(x, c, sql, "metric expression");
        break;
    }
    case BF_CHECK_SQL:
        if (!member(c, "query"))
            return bf__error(BF_E_INVALID, "check %s: an sql check needs query",
                             check_name_of(c));
        if ((rc = sql_check_query(c, &sql)) == BF_OK &&
            prepare_only(x, c, sql, "query") != BF_OK)
            rc = bf__error(BF_E_INVALID, "%s (an sql check is one query, a SELECT, WITH or "
                           "VALUES: it reads and never changes the warehouse)", bf_last_error());
        break;
    case BF_CHECK_RECORDS:
        if (!x->v->key_count)
            rc = bf__error(BF_E_INVALID, "check %s: records need the target key",
                           check_name_of(c));
        else
            rc = check_cols(x, c, x->info, x->v->table, (const char *const *)x->v->key,
                            x->v->key_count);
        {
            size_t i;
            json_t *r;
            json_array_foreach(json_object_get(c->cfg, "expect"), i, r) {
                const char *k;
                json_t *val;
                if (rc == BF_OK && json_array_size(json_object_get(r, "key")) != x->v->key_count)
                    rc = bf__error(BF_E_INVALID, "check %s: expect[%zu].key has %zu values, the "
                                   "key %zu columns", check_name_of(c), i,
                                   json_array_size(json_object_get(r, "key")), x->v->key_count);
                json_object_foreach(json_object_get(r, "before"), k, val)
                    if (rc == BF_OK)
                        rc = check_cols(x, c, x->info, x->v->table, &k, 1);
                json_object_foreach(json_object_get(r, "after"), k, val)
                    if (rc == BF_OK)
                        rc = check_cols(x, c, x->info, x->v->table, &k, 1);
            }
        }
        break;
    default:
        break;
    }
    bf__free(cols);
    bf__free(sql);
    return rc;
}

/* ---- the shared scan ---- */

static int plan_profile(ctx *x, int before)
{
    bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
    int need = 0, rc = BF_OK;

    for (size_t i = 0; i < x->v->count && rc == BF_OK; i++) {
        const bf__vcheck *c = &x->v->checks[i];
        const char **cols = NULL;
        size_t n = 0;
        char col[200];
        int form;

        if (!BF__RUNS_IN(c, x->batch))
            continue;
        switch (c->kind) {
        case BF_CHECK_ROW_COUNT:
        case BF__CHECK_EXPECTED_ROWS:
            need |= !before;
            break;
        case BF_CHECK_NOT_NULL:
            if (before)
                break;
            need = 1;
            rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));
            for (size_t k = 0; rc == BF_OK && k < n; k++)
                add_name(x->nulls, &x->nnull, cols[k]);
            break;
        case BF_CHECK_METRIC:
            form = metric_form(member(c, "expr"), col, sizeof col);
            if (form == M_NONE || json_array_size(json_object_get(c->cfg, "group_by")))
                break;
            need = 1;
            if (form != M_COUNT) {
                /* The names must outlive this loop: point at the table's own. */
                for (size_t k = 0; k < bf_table_info_column_count(x->info); k++)
                    if (bf__sql_same_ident(bf_table_info_column_name(x->info, k), col)) {
                        add_name(x->sums, &x->nsum, bf_table_info_column_name(x->info, k));
                        if (form == M_AVG)
                            add_name(x->nulls, &x->nnull, bf_table_info_column_name(x->info, k));
                    }
            }
            break;
        case BF_CHECK_REFERENCES:
            /* Its counts ride on the after scan (with a SQL driver); the check keeps its
             * own query when there is no scan, and for the samples of orphans found. */
            if (before || !x->s || x->nprobe == sizeof x->probes / sizeof x->probes[0])
                break;
            {
                bf__orphan_probe *pr = &x->probes[x->nprobe];
                const char **pcols = NULL;
                size_t pn = 0;

                rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));
                if (rc == BF_OK)
                    rc = list_of(&pcols, &pn, json_object_get(c->cfg, "parent_columns"));
                if (rc == BF_OK && n == pn && n) {
                    pr->columns = cols;
                    pr->parent_columns = pcols;
                    pr->count = n;
                    pr->parent = member(c, "parent");
                    x->probe_check[x->nprobe++] = i;
                    cols = NULL; /* kept by the probe */
                } else {
                    bf__free(pcols);
                }
            }
            break;
        case BF_CHECK_UNCHANGED_COLUMNS:
            if (!x->fp_owner) {
                rc = unchanged_cols(&x->fpcols, &x->nfp, x, c);
                x->fp_owner = (int)i + 1;
                need = 1;
            }
            break;
        default:
            break;
        }
        bf__free(cols);
    }
    if (rc != BF_OK || !need)
        return rc;
    spec.null_columns = x->nulls;
    spec.null_count = x->nnull;
    spec.sum_columns = x->sums;
    spec.sum_count = x->nsum;
    if (x->fp_owner) {
        spec.fingerprint = 1;
        spec.fingerprint_columns = x->fpcols;
        spec.fingerprint_count = x->nfp;
    }
    if (x->s && ((!before && (x->all_fp || x->nprobe)) || (before && x->seg_key))) {
        /* What the caller wants of the batch rides on the same scan where it can. */
        static const char *const seg_names[] = {"segment", "rows", "fingerprint"};
        bf__profile_extra extra = {NULL, NULL, x->seg_key, x->seg_key_count, 0, NULL, 0};
        bf_profile *p = NULL;

        if (!before) {
            extra.all = x->all_fp;
            extra.probes = x->probes;
            extra.probe_count = x->nprobe;
        } else {
            /* As many segments as bf_diff_capture() makes: one per 32 rows. */
            bf_profile *count = NULL;
            bf_profile_spec rows = BF_PROFILE_SPEC_INIT;

            if ((rc = bf_driver_profile(&count, x->d, x->v->table, &rows, x->qplan,
                                        x->qbatch)) != BF_OK)
                return rc;
            extra.segment_count = bf__diff_auto_segments(bf_profile_rows(count));
            bf_profile_free(count);
            if ((rc = bf__rows_new(&extra.segments, seg_names, 3)) != BF_OK)
                return rc;
        }
        if ((rc = bf__profile_new(&p, &spec)) == BF_OK &&
            (rc = bf__sql_profile_with(x->s, p, &extra, x->v->table, &spec, x->qplan,
                                       x->qbatch)) == BF_OK &&
            (!before || (rc = bf__diff_before_new(&x->capture, x->v->table, x->seg_key,
                                                  x->seg_key_count, extra.segment_count,
                                                  extra.segments)) == BF_OK)) {
            bf_rows_free(extra.segments);
            x->prof = p;
            x->all_fp_done = !before && x->all_fp;
            x->probes_done = !before;
            return BF_OK;
        }
        bf_rows_free(extra.segments);
        bf_profile_free(p);
        if (rc != BF_E_UNSUPPORTED)
            return rc;
    }
    return bf_driver_profile(&x->prof, x->d, x->v->table, &spec, x->qplan, x->qbatch);
}

/* ---- captures used by both phases ---- */

static int capture_groups(const ctx *x, const bf__vcheck *c, json_t **out)
{
    const char **g = NULL;
    size_t n;
    char *sql = NULL, *glist = NULL;
    bf__binds b;
    json_t *rows = json_array();
    int64_t cnt;
    int rc = list_of(&g, &n, json_object_get(c->cfg, "group_by"));

    *out = NULL;
    if (rc == BF_OK) {
        bf__tpl t = {g, n, NULL, 0, x->qplan, x->qbatch};
        char *tmp = NULL;
        rc = bf__sql_build(x->s, &tmp, &t, "%C", ARGS(NULL));
        glist = tmp;
    }
    if (rc == BF_OK)
        rc = build(x, &sql, NULL, 0, "SELECT %S, %S FROM %T WHERE %P GROUP BY %S",
                   ARGS(glist, member(c, "expr"), x->v->table, NULL, glist));
    batch_binds(&b, x);
    if (rc == BF_OK && rows)
        rc = query_objects(x, rows, sql, &b, (size_t)-1, &cnt);
    if (rc == BF_OK) {
        /* {"<group values as JSON>": value} */
        json_t *map = json_object();
        size_t i;
        json_t *r;
        if (!map)
            rc = bf__nomem();
        json_array_foreach(rows, i, r) {
            json_t *k;
            char *text = NULL;
            if (rc != BF_OK)
                break;
            k = json_array();
            for (size_t j = 0; k && j < n; j++) {
                char nm[24];
                bf__snprintf(nm, sizeof nm, "%zu", j);
                if (json_array_append(k, json_object_get(r, nm)) != 0) {
                    json_decref(k);
                    k = NULL;
                }
            }
            /* A lost group would read as one that moved: fail instead. */
            if (!k) {
                rc = bf__nomem();
            } else {
                char nm[24];
                bf__snprintf(nm, sizeof nm, "%zu", n);
                rc = bf__json_dump(&text, k, JSON_COMPACT);
                if (rc == BF_OK && json_object_set(map, text, json_object_get(r, nm)) != 0)
                    rc = bf__nomem();
            }
            bf__free(text);
            json_decref(k);
        }
        if (rc == BF_OK)
            *out = map;
        else
            json_decref(map);
    }
    json_decref(rows);
    bf__free(sql);
    bf__free(glist);
    bf__free(g);
    return rc;
}

/* A records entry's key value k as a bf_value (numbers and text; anything else NULL). */
static void record_key_value(bf_value *v, const json_t *r, size_t k)
{
    json_t *jv = json_array_get(json_object_get(r, "key"), k);

    memset(v, 0, sizeof *v);
    if (json_is_integer(jv)) {
        v->type = BF_VALUE_INT;
        v->i = json_integer_value(jv);
    } else if (json_is_real(jv)) {
        v->type = BF_VALUE_REAL;
        v->r = json_real_value(jv);
    } else if (json_is_string(jv)) {
        v->type = BF_VALUE_TEXT;
        v->s = json_string_value(jv);
        v->len = json_string_length(jv);
    }
}

static int capture_records(const ctx *x, const bf__vcheck *c, json_t **out)
{
    json_t *all = json_array(), *r;
    size_t i;
    int rc = BF_OK;

    json_array_foreach(json_object_get(c->cfg, "expect"), i, r) {
        bf__sb sb;
        bf__binds b;
        char *cond = NULL, *sql = NULL;
        static const char *const pn[] = {"bf_k0", "bf_k1", "bf_k2", "bf_k3"};
        bf_value kv[4];
        json_t *rows = json_array();
        int64_t cnt = 0;

        if (x->v->key_count > 4) {
            rc = bf__error(BF_E_UNSUPPORTED, "check %s: records support keys of up to 4 columns",
                           check_name_of(c));
            json_decref(rows);
            break;
        }
        batch_binds(&b, x);
        bf__sb_init(&sb);
        for (size_t k = 0; k < x->v->key_count && rc == BF_OK; k++) {
            record_key_value(&kv[k], r, k);
            bf__binds_value(&b, pn[k], &kv[k]);
            bf__sb_append(&sb, k ? " AND " : "");
            rc = bf__sql_ident(x->s, &sb, x->v->key[k]);
            bf__sb_appendf(&sb, " = :%s", pn[k]);
        }
        if (rc == BF_OK)
            rc = bf__sql_text(&sb, &cond);
        else
            bf__sb_dispose(&sb);
        if (rc == BF_OK)
            rc = build(x, &sql, NULL, 0, "SELECT * FROM %T WHERE %P AND %S",
                       ARGS(x->v->table, NULL, cond));
        if (rc == BF_OK)
            rc = query_objects(x, rows, sql, &b, 1, &cnt);
        if (rc == BF_OK) {
            /* name the columns */
            json_t *row = json_array_get(rows, 0), *named = json_null();
            if (row) {
                named = json_object();
                for (size_t k = 0; k < bf_table_info_column_count(x->info); k++) {
                    char nm[24];
                    bf__snprintf(nm, sizeof nm, "%zu", k);
                    json_object_set(named, bf_table_info_column_name(x->info, k),
                                    json_object_get(row, nm));
                }
            }
            json_array_append_new(all, named);
        }
        json_decref(rows);
        bf__free(cond);
        bf__free(sql);
        if (rc != BF_OK)
            break;
    }
    if (rc != BF_OK) {
        json_decref(all);
        return rc;
    }
    *out = all;
    return BF_OK;
}

static int capture_completeness(const ctx *x, const bf__vcheck *c, int64_t *keys, int64_t *parts)
{
    const char **cols = NULL;
    size_t n;
    char *sql = NULL;
    bf__binds b;
    const char *pc = member(c, "partition_column");
    int rc = cols_or(&cols, &n, c, x->v->key, x->v->key_count);

    batch_binds(&b, x);
    *parts = -1;
    if (rc == BF_OK)
        rc = build(x, &sql, cols, n, "SELECT count(*) FROM (SELECT DISTINCT %C FROM %T WHERE %P)",
                   ARGS(NULL, x->v->table, NULL));
    if (rc == BF_OK)
        rc = bf__sql_query_int(x->s, keys, sql, &b);
    bf__free(sql);
    sql = NULL;
    if (rc == BF_OK && pc) {
        rc = build(x, &sql, &pc, 1, "SELECT count(DISTINCT %C) FROM %T WHERE %P",
                   ARGS(NULL, x->v->table, NULL));
        if (rc == BF_OK)
            rc = bf__sql_query_int(x->s, parts, sql, &b);
    }
    bf__free(sql);
    bf__free(cols);
    return rc;
}

/* Bytes of the table and its indexes: dbstat when the warehouse has it, else an estimate. */
static int capture_footprint(const ctx *x, int64_t *bytes, int64_t *exact)
{
    bf__binds b;
    bf_value t = {BF_VALUE_TEXT, 0, 0, x->v->table, strlen(x->v->table)};
    int64_t pages = 0, size = 0;
    int rc;

    bf__binds_init(&b);
    bf__binds_value(&b, "t", &t);
    if (!x->s->vt.dialect || strcmp(x->s->vt.dialect, "sqlite") != 0)
        return bf__error(BF_E_UNSUPPORTED, "footprint: not supported for dialect %s",
                         x->s->vt.dialect ? x->s->vt.dialect : "?");
    /*
     * One IN list, which dbstat walks name by name: "name = :t OR name IN
     * (...)" gave it no usable constraint, and it read every page of the file.
     */
    rc = bf__sql_query_int(x->s, bytes,
                           "SELECT coalesce(sum(pgsize), 0) FROM dbstat WHERE name IN (SELECT :t "
                           "UNION ALL SELECT name FROM sqlite_schema WHERE type = 'index' AND "
                           "tbl_name = :t)",
                           &b);
    *exact = rc == BF_OK;
    if (rc == BF_OK)
        return BF_OK;
    bf_clear_error();
    /* No dbstat: the whole file's pages, an upper bound that includes every other table. */
    rc = bf__sql_query_int(x->s, &pages, "PRAGMA page_count", NULL);
    if (rc == BF_OK)
        rc = bf__sql_query_int(x->s, &size, "PRAGMA page_size", NULL);
    *bytes = pages * size;
    return rc;
}

/* ---- coverage: the rows outside the run's scope ---- */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *c = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ c[i]) * 1099511628211ULL;
    return h;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* One 64-bit hash per row of the target outside the scope (every column), sorted. */
static int outside_hashes(const ctx *x, uint64_t **out, size_t *count)
{
    char *sql = NULL;
    bf__binds b;
    bf__stmt st;
    uint64_t *h = NULL;
    size_t n = 0, cap = 0;
    int rc, ncol;

    *out = NULL;
    *count = 0;
    rc = build(x, &sql, NULL, 0, "SELECT * FROM %T WHERE NOT coalesce(%P, 0)",
               ARGS(x->v->table, NULL));
    batch_binds(&b, x);
    if (rc == BF_OK)
        rc = bf__stmt_prepare(&st, x->s, sql, &b);
    if (rc != BF_OK) {
        bf__free(sql);
        return rc;
    }
    ncol = x->s->vt.column_count(x->s->ud, st.h);
    while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
        uint64_t hv = 14695981039346656037ULL;
        bf_value v;
        for (int i = 0; i < ncol && rc == BF_SQL_ROW; i++) {
            unsigned char t;
            if (bf__stmt_column(&st, i, &v) != BF_OK) {
                rc = bf_last_error_code();
                break;
            }
            t = (unsigned char)v.type;
            hv = fnv(hv, &t, 1);
            if (v.type == BF_VALUE_INT)
                hv = fnv(hv, &v.i, sizeof v.i);
            else if (v.type == BF_VALUE_REAL)
                hv = fnv(hv, &v.r, sizeof v.r);
            else if (v.type == BF_VALUE_TEXT || v.type == BF_VALUE_BLOB) {
                uint64_t len = v.len;
                hv = fnv(hv, &len, sizeof len);
                hv = fnv(hv, v.s, v.len);
            }
        }
        if (rc != BF_SQL_ROW)
            break;
        if (bf__grow((void **)&h, &cap, n + 1, sizeof *h) != BF_OK) {
            rc = bf__nomem();
            break;
        }
        h[n++] = hv;
    }
    bf__stmt_finalize(&st);
    bf__free(sql);
    if (rc != BF_SQL_DONE) {
        bf__free(h);
        return rc == BF_SQL_ROW ? BF_E_INTERNAL : rc;
    }
    if (n)
        qsort(h, n, sizeof *h, cmp_u64);
    *out = h;
    *count = n;
    return BF_OK;
}

/* ---- before ---- */

static int capture(ctx *x, const bf__vcheck *c, size_t idx, cstate *cs)
{
    int rc = BF_OK;

    switch (c->kind) {
    case BF_CHECK_METRIC:
        rc = metric_value(x, c, &cs->value, &cs->value_null, NULL);
        if (rc == BF_OK && json_array_size(json_object_get(c->cfg, "group_by")))
            rc = capture_groups(x, c, &cs->data);
        break;
    case BF_CHECK_UNCHANGED_COLUMNS:
        if (x->fp_owner == (int)idx + 1) {
            rc = bf_profile_fingerprint(&cs->fp, x->prof);
        } else {
            const char **cols = NULL;
            size_t n = 0;
            rc = unchanged_cols(&cols, &n, x, c);
            if (rc == BF_OK)
                rc = bf_driver_fingerprint(&cs->fp, x->d, x->v->table, cols, n, x->qplan,
                                           x->qbatch);
            bf__free(cols);
        }
        break;
    case BF_CHECK_RECORDS:
        rc = capture_records(x, c, &cs->data);
        break;
    case BF_CHECK_COMPLETENESS:
        rc = capture_completeness(x, c, &cs->a, &cs->b);
        break;
    case BF_CHECK_FOOTPRINT:
        rc = capture_footprint(x, &cs->a, &cs->b);
        break;
    case BF_CHECK_COVERAGE:
        if (x->s && !x->batch) {
            rc = outside_hashes(x, &cs->hashes, &cs->nhashes);
            cs->have_outside = rc == BF_OK;
        }
        break;
    case BF__CHECK_CUSTOM:
        if (c->vt.before) {
            bf_clear_error();
            rc = c->vt.before(c->ud, &cs->custom, x->d, x->plan, x->batch);
            if (rc != BF_OK && bf_last_error_code() != rc)
                bf__error(rc, "validator %s: before failed", c->kind_name);
        }
        break;
    default:
        break;
    }
    cs->have = rc == BF_OK;
    return rc;
}

/*
 * The run's scope of a partition plan as one batch: a set plan whose batch
 * means `column IN (every partition value of the plan)`, the values bound.
 */
static int partition_scope(ctx *x)
{
    size_t n = bf_plan_count(x->plan);
    bf_value *vals = bf__calloc(n, sizeof *vals);
    char label[64];
    int rc = vals ? BF_OK : bf__nomem();

    for (size_t i = 0; i < n && rc == BF_OK; i++)
        rc = bf_batch_param(&vals[i], bf_plan_batch(x->plan, i), "partition");
    bf__snprintf(label, sizeof label, "the plan's %zu partitions", n);
    if (rc == BF_OK)
        rc = bf__plan_new(&x->scope_plan, BF_DIM_PARTITION, bf_plan_column(x->plan), 1);
    if (rc == BF_OK)
        rc = bf__plan_add(x->scope_plan, 0, (int64_t)n, label, 0, NULL, NULL);
    if (rc == BF_OK)
        rc = bf__plan_set_values(x->scope_plan, vals, n);
    if (rc == BF_OK)
        rc = bf__plan_seal(x->scope_plan, "validate:run-scope");
    bf__free(vals);
    if (rc != BF_OK)
        return rc;
    x->qplan = x->scope_plan;
    x->qbatch = bf_plan_batch(x->scope_plan, 0);
    return BF_OK;
}

/*
 * The run's scope as one batch: for a time or key plan the range from the lowest batch's lo
 * to the highest batch's hi on the plan's column (its parameters taken from those two
 * batches); for a partition plan its partition values (partition_scope). A bucket plan's
 * buckets together are every row, and no plan has no scope: both leave it NULL, the whole
 * table.
 */
static int scope_of(ctx *x)
{
    const bf_batch *first = NULL, *last = NULL;
    const char *names[BF_BATCH_MAX_PARAMS];
    bf_value vals[BF_BATCH_MAX_PARAMS];
    size_t n;
    bf_dimension dim;
    int rc;

    x->qplan = x->plan;
    x->qbatch = NULL;
    if (!x->plan || !bf_plan_count(x->plan))
        return BF_OK;
    dim = bf_plan_dimension(x->plan);
    if (dim == BF_DIM_PARTITION)
        return partition_scope(x);
    if (dim != BF_DIM_TIME && dim != BF_DIM_KEY)
        return BF_OK;
    for (size_t i = 0; i < bf_plan_count(x->plan); i++) {
        const bf_batch *b = bf_plan_batch(x->plan, i);
        if (!first || bf_batch_lo(b) < bf_batch_lo(first))
            first = b;
        if (!last || bf_batch_hi(b) > bf_batch_hi(last))
            last = b;
    }
    n = bf_batch_param_count(first);
    for (size_t i = 0; i < n && i < BF_BATCH_MAX_PARAMS; i++) {
        names[i] = bf_batch_param_name(first, i);
        if ((rc = bf_batch_param_at(&vals[i], first, i)) != BF_OK)
            return rc;
        /* The upper bound comes from the last batch. */
        if (strcmp(names[i], "end") == 0 || strcmp(names[i], "hi") == 0)
            if ((rc = bf_batch_param(&vals[i], last, names[i])) != BF_OK)
                return rc;
    }
    rc = bf__plan_new(&x->scope_plan, dim, bf_plan_column(x->plan), 1);
    if (rc == BF_OK)
        rc = bf__plan_add(x->scope_plan, bf_batch_lo(first), bf_batch_hi(last), "scope",
                          n < BF_BATCH_MAX_PARAMS ? n : BF_BATCH_MAX_PARAMS, names, vals);
    if (rc == BF_OK)
        rc = bf__plan_seal(x->scope_plan, "validate:run-scope");
    if (rc != BF_OK)
        return rc;
    x->qplan = x->scope_plan;
    x->qbatch = bf_plan_batch(x->scope_plan, 0);
    return BF_OK;
}

/* The context of a scan, with every name and statement of the checks that run in it checked. */
static int ctx_inputs(ctx *x, bf_validator *v, bf_driver *d, const bf_plan *plan,
                      const bf_batch *batch, bf_fingerprint *all_fp,
                      const char *const *seg_key, size_t seg_key_count)
{
    int rc, need_sql = 0, has_cov = 0;

    memset(x, 0, sizeof *x);
    x->all_fp = batch ? all_fp : NULL;
    x->seg_key = batch && seg_key_count ? seg_key : NULL;
    x->seg_key_count = seg_key_count;
    x->v = v;
    x->d = d;
    x->plan = plan;
    x->batch = batch;
    x->qplan = plan;
    x->qbatch = batch;
    if (batch)
        bf__snprintf(x->where, sizeof x->where, "in batch %s", bf_batch_label(batch));
    else
        bf__snprintf(x->where, sizeof x->where, "in the run");
    if (batch && (!plan || bf_plan_batch(plan, bf_batch_ordinal(batch)) != batch))
        return bf__error(BF_E_INVALID, "validate: the batch does not belong to the plan given");
    if (!batch && (rc = scope_of(x)) != BF_OK)
        return rc;
    for (size_t i = 0; i < v->count; i++) {
        if (!BF__RUNS_IN(&v->checks[i], batch) || v->checks[i].kind == BF__CHECK_CUSTOM)
            continue;
        if (v->checks[i].kind == BF_CHECK_COVERAGE)
            has_cov = 1;
        else
            need_sql = 1;
    }
    if (!need_sql && !has_cov)
        return BF_OK; /* only custom checks: no SQL needed */
    if (!(x->s = bf__driver_sql(d))) {
        if (!need_sql)
            return BF_OK; /* coverage without SQL: no check of the rows outside the scope */
        return bf__error(BF_E_UNSUPPORTED,
                         "validate: the built-in checks need a SQL driver (bf_driver_new_sql)");
    }
    if ((rc = bf__sql_describe(x->s, &x->info, v->table)) != BF_OK)
        return rc;
    if (x->qbatch &&
        (rc = bf__sql_check_scope(x->s, x->info, v->table, x->qplan, x->qbatch)) != BF_OK)
        return rc;
    for (size_t i = 0; i < v->count; i++)
        if (BF__RUNS_IN(&v->checks[i], batch) &&
            (rc = check_inputs(x, &v->checks[i])) != BF_OK)
            return rc;
    return BF_OK;
}

static int ctx_open(ctx *x, bf_validator *v, bf_driver *d, const bf_plan *plan,
                    const bf_batch *batch, int before, bf_fingerprint *all_fp,
                    const char *const *seg_key, size_t seg_key_count)
{
    int rc = ctx_inputs(x, v, d, plan, batch, all_fp, seg_key, seg_key_count);

    if (rc != BF_OK || !x->s)
        return rc;
    return plan_profile(x, before);
}

static void ctx_close(ctx *x)
{
    for (size_t i = 0; i < x->nprobe; i++) {
        bf__free((void *)x->probes[i].columns);
        bf__free((void *)x->probes[i].parent_columns);
    }
    bf_diff_before_free(x->capture);
    bf_profile_free(x->prof);
    bf_table_info_free(x->info);
    bf__free(x->fpcols);
    bf_plan_free(x->scope_plan);
}

int bf__validator_check_inputs(bf_validator *v, bf_driver *d, const bf_plan *plan)
{
    ctx x;
    int rc;

    if (!v || !d)
        return bf__error(BF_E_INVALID, "bf__validator_check_inputs: NULL argument");
    /* The run's checks over the scope, then the batches' over the first batch. */
    rc = ctx_inputs(&x, v, d, plan, NULL, NULL, NULL, 0);
    ctx_close(&x);
    if (rc == BF_OK && plan && bf_plan_count(plan)) {
        rc = ctx_inputs(&x, v, d, plan, bf_plan_batch(plan, 0), NULL, NULL, 0);
        ctx_close(&x);
    }
    return rc;
}

void bf_validation_state_free(bf_validation_state *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->count; i++) {
        json_decref(st->cs[i].data);
        bf__free(st->cs[i].hashes);
        if (st->cs[i].custom && st->v->checks[i].vt.free_state)
            st->v->checks[i].vt.free_state(st->v->checks[i].ud, st->cs[i].custom);
    }
    bf__free(st->cs);
    bf__free(st);
}

/* ---- the before-state as text, to survive the process ---- */

#define STATE_FORMAT "backfill-validation-before/1"

/* A real as JSON: a number, or the text of an infinity or NaN (JSON has none). */
static json_t *real_json(double d)
{
    if (isfinite(d))
        return json_real(d);
    return json_string(isnan(d) ? "nan" : d > 0 ? "inf" : "-inf");
}

static int real_of(json_t *j, double *out)
{
    const char *t = json_string_value(j);

    if (json_is_number(j)) {
        *out = json_number_value(j);
        return 1;
    }
    if (!t)
        return 0;
    *out = strcmp(t, "nan") == 0 ? NAN : strcmp(t, "inf") == 0 ? INFINITY : -INFINITY;
    return strcmp(t, "nan") == 0 || strcmp(t, "inf") == 0 || strcmp(t, "-inf") == 0;
}

int bf__validation_state_to_json(char **out, const bf_validation_state *st)
{
    json_t *o = json_object(), *arr = json_array();
    int rc = o && arr ? BF_OK : bf__nomem();

    *out = NULL;
    if (rc == BF_OK) {
        json_object_set_new(o, "format", json_string(STATE_FORMAT));
        json_object_set(o, "checks", arr);
    }
    for (size_t i = 0; rc == BF_OK && i < st->count; i++) {
        const cstate *cs = &st->cs[i];
        json_t *c = json_pack("{s:s, s:b}", "kind", kname(&st->v->checks[i]), "have",
                              cs->have && !cs->custom);
        char fp[BF_FINGERPRINT_TEXT_SIZE];

        if (!c) {
            rc = bf__nomem();
            break;
        }
        /* A host validator's own state is its own: it cannot be written down. */
        if (cs->have && !cs->custom) {
            bf_fingerprint_format(fp, sizeof fp, &cs->fp);
            json_object_set_new(c, "value", cs->value_null ? json_null() : real_json(cs->value));
            json_object_set_new(c, "fingerprint", json_string(fp));
            json_object_set_new(c, "a", json_integer((json_int_t)cs->a));
            json_object_set_new(c, "b", json_integer((json_int_t)cs->b));
            if (cs->data)
                json_object_set(c, "data", cs->data);
            if (cs->have_outside) {
                char *hex = bf__malloc(cs->nhashes * 16 + 1);

                if (!hex) {
                    json_decref(c);
                    rc = bf__nomem();
                    break;
                }
                for (size_t h = 0; h < cs->nhashes; h++)
                    snprintf(hex + h * 16, 17, "%016llx", (unsigned long long)cs->hashes[h]);
                hex[cs->nhashes * 16] = '\0';
                json_object_set_new(c, "outside", json_string(hex));
                bf__free(hex);
            }
        }
        if (json_array_append_new(arr, c) != 0)
            rc = bf__nomem();
    }
    if (rc == BF_OK)
        rc = bf__json_dump(out, o, JSON_COMPACT);
    json_decref(arr);
    json_decref(o);
    return rc;
}

int bf__validation_state_from_json(bf_validation_state **out, const bf_validator *v,
                                   const char *text)
{
    json_t *o = bf__json_loads(text, 0, NULL), *arr = json_object_get(o, "checks");
    const char *format = json_string_value(json_object_get(o, "format"));
    bf_validation_state *st = NULL;
    int rc = BF_OK;

    *out = NULL;
    if (!o || !json_is_array(arr) || !format || strcmp(format, STATE_FORMAT) != 0)
        rc = bf__error(BF_E_PARSE, "validation before-state: not a " STATE_FORMAT " document");
    else if (json_array_size(arr) != v->count)
        rc = bf__error(BF_E_CONFLICT, "validation before-state: %zu checks, the validator has "
                       "%zu", json_array_size(arr), v->count);
    if (rc == BF_OK && (!(st = bf__calloc(1, sizeof *st)) ||
                        (v->count && !(st->cs = bf__calloc(v->count, sizeof *st->cs)))))
        rc = bf__nomem();
    if (rc == BF_OK) {
        st->v = v;
        st->count = v->count;
    }
    for (size_t i = 0; rc == BF_OK && i < v->count; i++) {
        json_t *c = json_array_get(arr, i), *val = json_object_get(c, "value");
        const char *kind = json_string_value(json_object_get(c, "kind"));
        const char *fp = json_string_value(json_object_get(c, "fingerprint"));
        const char *hex = json_string_value(json_object_get(c, "outside"));
        cstate *cs = &st->cs[i];

        if (!kind || strcmp(kind, kname(&v->checks[i])) != 0) {
            rc = bf__error(BF_E_CONFLICT, "validation before-state: check %zu is %s, the "
                           "validator's is %s", i + 1, kind ? kind : "unnamed",
                           kname(&v->checks[i]));
            break;
        }
        cs->restored = 1;
        if (!json_is_true(json_object_get(c, "have")))
            continue;
        cs->value_null = json_is_null(val);
        if ((!cs->value_null && !real_of(val, &cs->value)) || !fp ||
            bf_fingerprint_parse(&cs->fp, fp) != BF_OK ||
            !json_is_integer(json_object_get(c, "a")) || !json_is_integer(json_object_get(c, "b")) ||
            (hex && strlen(hex) % 16 != 0)) {
            rc = bf__error(BF_E_PARSE, "validation before-state: check %zu (%s) is unreadable",
                           i + 1, kind);
            break;
        }
        cs->a = (int64_t)json_integer_value(json_object_get(c, "a"));
        cs->b = (int64_t)json_integer_value(json_object_get(c, "b"));
        cs->data = json_incref(json_object_get(c, "data"));
        if (hex) {
            size_t n = strlen(hex) / 16;

            if (n && !(cs->hashes = bf__malloc(n * sizeof *cs->hashes))) {
                rc = bf__nomem();
                break;
            }
            /* Sixteen lowercase hex digits each, as written (no locale, no sign). */
            for (size_t h = 0; h < n && rc == BF_OK; h++) {
                uint64_t x = 0;

                for (size_t k = 0; k < 16 && rc == BF_OK; k++) {
                    char ch = hex[h * 16 + k];

                    if (ch >= '0' && ch <= '9')
                        x = x << 4 | (uint64_t)(ch - '0');
                    else if (ch >= 'a' && ch <= 'f')
                        x = x << 4 | (uint64_t)(ch - 'a' + 10);
                    else
                        rc = bf__error(BF_E_PARSE, "validation before-state: check %zu (%s): "
                                       "the rows outside the scope are unreadable", i + 1, kind);
                }
                cs->hashes[h] = x;
            }
            cs->nhashes = n;
            cs->have_outside = 1;
        }
        cs->have = rc == BF_OK;
    }
    json_decref(o);
    if (rc != BF_OK) {
        bf_validation_state_free(st);
        return rc;
    }
    *out = st;
    return BF_OK;
}

int bf_validation_state_to_json(char **out, const bf_validation_state *state)
{
    if (!out)
        return bf__error(BF_E_INVALID, "bf_validation_state_to_json: out is NULL");
    *out = NULL;
    if (!state)
        return bf__error(BF_E_INVALID, "bf_validation_state_to_json: state is NULL");
    return bf__validation_state_to_json(out, state);
}

int bf_validation_state_from_json(bf_validation_state **out, const bf_validator *validator,
                                  const char *json)
{
    if (!out)
        return bf__error(BF_E_INVALID, "bf_validation_state_from_json: out is NULL");
    *out = NULL;
    if (!validator || !json)
        return bf__error(BF_E_INVALID, "bf_validation_state_from_json: %s is NULL",
                         !validator ? "validator" : "json");
    return bf__validation_state_from_json(out, validator, json);
}

int bf_validator_before(bf_validation_state **out, bf_validator *v, bf_driver *d,
                        const bf_plan *plan, const bf_batch *batch)
{
    return bf__validator_before_capture(out, v, d, plan, batch, NULL, 0, NULL);
}

int bf__validator_before_capture(bf_validation_state **out, bf_validator *v, bf_driver *d,
                                 const bf_plan *plan, const bf_batch *batch,
                                 const char *const *key, size_t key_count,
                                 bf_diff_before **captured)
{
    bf_validation_state *st;
    ctx x;
    int rc;

    if (captured)
        *captured = NULL;
    if (!out || !v || !d)
        return bf__error(BF_E_INVALID, "bf_validator_before: NULL argument");
    *out = NULL;
    if (!(st = bf__calloc(1, sizeof *st)) ||
        (v->count && !(st->cs = bf__calloc(v->count, sizeof *st->cs)))) {
        bf__free(st);
        return bf__nomem();
    }
    st->v = v;
    st->count = v->count;
    rc = ctx_open(&x, v, d, plan, batch, 1, NULL, captured ? key : NULL,
                  captured ? key_count : 0);
    for (size_t i = 0; rc == BF_OK && i < v->count; i++)
        if (BF__RUNS_IN(&v->checks[i], batch))
            rc = capture(&x, &v->checks[i], i, &st->cs[i]);
    if (rc == BF_OK && captured) {
        *captured = x.capture;
        x.capture = NULL;
    }
    ctx_close(&x);
    if (rc != BF_OK) {
        bf_validation_state_free(st);
        return rc;
    }
    *out = st;
    return BF_OK;
}

/* ---- after ---- */

#define SAY(...) bf__asprintf(__VA_ARGS__)

static int verdict(bf__rentry *e, int failed, char *obs, char *exp, char *msg)
{
    int rc = (obs && exp && msg) ? bf__rentry_verdict(e, failed, obs, exp, msg) : bf__nomem();
    bf__free(obs);
    bf__free(exp);
    bf__free(msg);
    return rc;
}

static int eval_rows(ctx *x, const bf__vcheck *c, bf__rentry *e)
{
    json_t *jmin = json_object_get(c->cfg, "min"), *jmax = json_object_get(c->cfg, "max");
    int64_t rows = bf_profile_rows(x->prof);
    int bad = (jmin && rows < json_integer_value(jmin)) ||
              (jmax && rows > json_integer_value(jmax));
    const char *what = c->kind == BF__CHECK_EXPECTED_ROWS ? "scope.expected_rows" : "row_count";

    return verdict(e, bad, SAY("%lld rows", (long long)rows),
                   SAY("%s%lld to %s%lld", "", jmin ? (long long)json_integer_value(jmin) : 0LL,
                       jmax ? "" : "unbounded ", jmax ? (long long)json_integer_value(jmax) : 0LL),
                   SAY("check %s: table %s has %lld rows %s; %s expects %s%lld..%s%lld",
                       check_name_of(c), x->v->table, (long long)rows, x->where, what, "",
                       jmin ? (long long)json_integer_value(jmin) : 0LL, jmax ? "" : "inf/",
                       jmax ? (long long)json_integer_value(jmax) : 0LL));
}

/*
 * Whether `col` is SQLite's INTEGER PRIMARY KEY of the table, the rowid
 * itself: the only column of the primary key, which then has no index of
 * its own (a WITHOUT ROWID table's, or an INTEGER PRIMARY KEY DESC, has
 * one). Its values are integers, never NULL and never repeated.
 */
static int is_rowid_key(const ctx *x, const char *col)
{
    int yes = 0;

    /* A schema that cannot be read proves nothing: the pass reads the rows instead. */
    if (bf__sql_rowid_column(x->s, x->v->table, x->info, col, &yes) != BF_OK) {
        bf_clear_error();
        return 0;
    }
    return yes;
}

static int eval_unique(ctx *x, const bf__vcheck *c, bf__rentry *e)
{
    const char **cols = NULL;
    size_t n;
    const char **names = NULL;
    bf_rows *rows = NULL;
    int64_t dups = 0, nullrows = 0;
    int rc = cols_or(&cols, &n, c, x->v->key, x->v->key_count), by_schema;

    /*
     * The rowid is unique and never NULL: the schema proves what the pass
     * would find (no duplicate, no NULL key, no sample). Otherwise one
     * ordered pass counts the duplicates and the NULL keys and keeps the
     * samples.
     */
    by_schema = rc == BF_OK && n == 1 && is_rowid_key(x, cols[0]);
    if (rc == BF_OK && !(names = bf__calloc(n + 1, sizeof *names)))
        rc = bf__nomem();
    if (rc == BF_OK) {
        memcpy(names, cols, n * sizeof *names);
        names[n] = "rows";
        rc = bf__rows_new(&rows, names, n + 1);
    }
    if (rc == BF_OK && !by_schema)
        rc = bf__sql_duplicates_nulls(x->s, rows, &dups, &nullrows, x->v->table, cols, n,
                                      x->v->max_samples, x->qplan, x->qbatch);
    for (size_t r = 0; rc == BF_OK && rows && r < bf_rows_count(rows); r++) {
        json_t *o = json_object();
        bf_value v;
        for (size_t k = 0; o && k < bf_rows_width(rows); k++)
            if (bf_rows_value(&v, rows, r, k) == BF_OK)
                json_object_set_new(o, bf_rows_column(rows, k), val_json(&v));
        rc = bf__rentry_sample(e, o);
    }
    if (rc == BF_OK)
        rc = verdict(e, dups > 0,
                     SAY("%lld duplicate rows, %lld with a NULL key", (long long)dups,
                         (long long)nullrows),
                     SAY("0"),
                     SAY("check %s: table %s has %lld rows breaking uniqueness of (%s%s) %s "
                         "(%lld of them with a NULL in the key)",
                         check_name_of(c), x->v->table, (long long)dups, cols[0],
                         n > 1 ? ", ..." : "", x->where, (long long)nullrows));
    bf_rows_free(rows);
    bf__free(names);
    bf__free(cols);
    return rc;
}

static int eval_not_null(ctx *x, const bf__vcheck *c, bf__rentry *e)
{
    const char **cols = NULL;
    size_t n;
    double max_rate = json_number_value(json_object_get(c->cfg, "max_rate"));
    int64_t rows = bf_profile_rows(x->prof);
    bf__sb obs, bad;
    int failed = 0, rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));
    char *o = NULL, *b = NULL;

    bf__sb_init(&obs);
    bf__sb_init(&bad);
    for (size_t i = 0; rc == BF_OK && i < n; i++) {
        size_t k = add_name(x->nulls, &x->nnull, cols[i]);
        int64_t nulls = bf_profile_nulls(x->prof, k);
        double rate = rows ? (double)nulls / (double)rows : 0;
        bf__sb_appendf(&obs, "%s%s: %lld of %lld NULL", i ? ", " : "", cols[i], (long long)nulls,
                       (long long)rows);
        if (rate > max_rate) {
            failed = 1;
            bf__sb_appendf(&bad, "%s%s (%.4g%%)", bad.len ? ", " : "", cols[i], rate * 100);
            rc = bf__rentry_sample(e, json_pack("{sssIsf}", "column", cols[i], "nulls",
                                                (json_int_t)nulls, "rate", rate));
        }
    }
    /* Both finished, so that a failure of the first does not leak the second. */
    if ((bf__sb_finish(&obs, &o) != BF_OK) | (bf__sb_finish(&bad, &b) != BF_OK))
        rc = bf__nomem();
    if (rc == BF_OK)
        rc = verdict(e, failed, SAY("%s", o), SAY("NULL rate at most %g", max_rate),
                     failed ? SAY("check %s: table %s %s: too many NULLs in %s (at most %g%%)",
                                  check_name_of(c), x->v->table, x->where, b, max_rate * 100)
                            : SAY("check %s: table %s %s: NULLs within %g%%", check_name_of(c),
                                  x->v->table, x->where, max_rate * 100));
    bf__free(o);
    bf__free(b);
    bf__free(cols);
    return rc;
}

static int eval_references(ctx *x, const bf__vcheck *c, bf__rentry *e)
{
    const char **cols = NULL, **pcols = NULL;
    size_t n, pn;
    bf_rows *rows = NULL;
    int64_t orphans = 0, nulls = 0;
    char *cond = NULL;
    const bf__orphan_probe *probe = NULL;
    int rc = list_of(&cols, &n, json_object_get(c->cfg, "columns"));

    for (size_t i = 0; x->probes_done && i < x->nprobe; i++)
        if (&x->v->checks[x->probe_check[i]] == c)
            probe = &x->probes[i];
    if (rc == BF_OK)
        rc = list_of(&pcols, &pn, json_object_get(c->cfg, "parent_columns"));
    /* Counted in the profile's scan: only orphans found need their own query, for samples. */
    if (rc == BF_OK && probe && !probe->orphans) {
        nulls = probe->nulls;
    } else {
        if (rc == BF_OK)
            rc = bf_driver_orphans(&rows, &orphans, x->d, x->v->table, cols, n,
                                   member(c, "parent"), pcols, x->v->max_samples, x->qplan,
                                   x->qbatch);
        if (rc == BF_OK)
            rc = any_null(x, &cond, cols, n);
        if (rc == BF_OK)
            rc = count_where(x, &nulls, x->v->table, cond);
    }
    for (size_t r = 0; rc == BF_OK && rows && r < bf_rows_count(rows); r++) {
        json_t *o = json_object();
        bf_value v;
        for (size_t k = 0; o && k < bf_rows_width(rows); k++)
            if (bf_rows_value(&v, rows, r, k) == BF_OK)
                json_object_set_new(o, bf_rows_column(rows, k), val_json(&v));
        rc = bf__rentry_sample(e, o);
    }
    if (rc == BF_OK)
        rc = verdict(e, orphans > 0,
                     SAY("%lld orphan rows, %lld skipped with a NULL reference",
                         (long long)orphans, (long long)nulls),
                     SAY("0 orphans"),
                     SAY("check %s: %lld rows of table %s %s reference no row of %s "
                         "(%lld rows with a NULL in %s skipped)",
                         check_name_of(c), (long long)orphans, x->v->table, x->where,
                         member(c, "parent"), (long long)nulls, cols[0]));
    bf_rows_free(rows);
    bf__free(cond);
    bf__free(cols);
    bf__free(pcols);
    return rc;
}

static int eval_metric(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    double after;
    bf_value exact;
    int after_null, rc = metric_value(x, c, &after, &after_null, &exact);
    json_t *bounds = json_object_get(c->cfg, "expect_delta_pct");
    int pct = bounds != NULL;
    double delta, d;
    int failed;

    if (!bounds)
        bounds = json_object_get(c->cfg, "expect_delta");
    if (rc != BF_OK)
        return rc;
    if (exact.type != BF_VALUE_TEXT) {
        e->total = exact;
        e->has_total = 1;
    }
    if (!cs || !cs->have)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "metric: no before value to compare with");
    delta = after - cs->value;
    d = pct ? (cs->value != 0 ? delta / fabs(cs->value) * 100 : (delta == 0 ? 0 : INFINITY))
            : delta;
    failed = (json_object_get(bounds, "min") && d < json_number_value(json_object_get(bounds, "min"))) ||
             (json_object_get(bounds, "max") && d > json_number_value(json_object_get(bounds, "max")));
    e->extra = json_pack("{sfsfsfss}", "before", cs->value, "after", after, "delta", delta,
                         "contributions", "see diff");
    if (cs->data) {
        json_t *after_groups = NULL;
        const char *k;
        json_t *bv;
        rc = capture_groups(x, c, &after_groups);
        /* Where it moved: groups whose value changed, as samples. */
        json_object_foreach(after_groups, k, bv) {
            double a = json_number_value(bv), b = json_number_value(json_object_get(cs->data, k));
            if (a != b && json_array_size(e->samples) < x->v->max_samples)
                bf__rentry_sample(e, json_pack("{sssfsfsf}", "group", k, "before", b, "after",
                                               a, "delta", a - b));
        }
        json_object_foreach(cs->data, k, bv)
            if (!json_object_get(after_groups, k) && json_array_size(e->samples) < x->v->max_samples)
                bf__rentry_sample(e, json_pack("{sssfsfsf}", "group", k, "before",
                                               json_number_value(bv), "after", 0.0, "delta",
                                               -json_number_value(bv)));
        json_decref(after_groups);
    }
    if (rc != BF_OK)
        return rc;
    return verdict(e, failed, SAY("%.10g -> %.10g (%s%.6g%s)", cs->value, after, d >= 0 ? "+" : "", d,
                                  pct ? "%" : ""),
                   SAY("delta%s in [%g, %g]", pct ? "%" : "",
                       json_number_value(json_object_get(bounds, "min")),
                       json_number_value(json_object_get(bounds, "max"))),
                   SAY("check %s: %s on table %s %s moved from %.10g to %.10g (%s%.6g%s)%s",
                       check_name_of(c), member(c, "expr"), x->v->table, x->where, cs->value,
                       after, d >= 0 ? "+" : "", d, pct ? "%" : "",
                       failed ? ", outside the expected bounds" : ""));
}

/*
 * What an unchanged_columns check compares, in its sentence: the columns it
 * names ("columns note, ts"), else "columns outside target.columns".
 */
static int unchanged_words(char **out, int *one, const bf__vcheck *c)
{
    json_t *cols = json_object_get(c->cfg, "columns");
    bf__sb sb;
    size_t i;
    json_t *col;

    *one = json_array_size(cols) == 1;
    if (!json_array_size(cols))
        return (*out = bf__strdup("columns outside target.columns")) ? BF_OK : bf__nomem();
    bf__sb_init(&sb);
    bf__sb_append(&sb, *one ? "column " : "columns ");
    json_array_foreach(cols, i, col) {
        if (i)
            bf__sb_append(&sb, ", ");
        bf__sb_append(&sb, json_string_value(col));
    }
    return bf__sb_finish(&sb, out) == BF_OK ? BF_OK : bf__nomem();
}

static int eval_unchanged(ctx *x, const bf__vcheck *c, size_t idx, bf__rentry *e,
                          const cstate *cs)
{
    bf_fingerprint fp;
    char a[128], b[128], *which = NULL;
    int rc, one = 0;

    if (!cs || !cs->have)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "unchanged_columns: no before fingerprint to compare with");
    if (x->fp_owner == (int)idx + 1) {
        rc = bf_profile_fingerprint(&fp, x->prof);
    } else {
        const char **cols = NULL;
        size_t n = 0;
        rc = unchanged_cols(&cols, &n, x, c);
        if (rc == BF_OK)
            rc = bf_driver_fingerprint(&fp, x->d, x->v->table, cols, n, x->qplan, x->qbatch);
        bf__free(cols);
    }
    if (rc != BF_OK)
        return rc;
    bf_fingerprint_format(a, sizeof a, &cs->fp);
    bf_fingerprint_format(b, sizeof b, &fp);
    if ((rc = unchanged_words(&which, &one, c)) != BF_OK)
        return rc;
    rc = verdict(e, strcmp(a, b) != 0, SAY("%s", b), SAY("%s", a),
                 strcmp(a, b) ? SAY("check %s: %s of table %s changed %s (fingerprint %s, before "
                                    "%s)", check_name_of(c), which, x->v->table, x->where, b, a)
                              : SAY("check %s: %s of table %s %s unchanged %s",
                                    check_name_of(c), which, x->v->table, one ? "is" : "are",
                                    x->where));
    bf__free(which);
    return rc;
}

static int same_scalar(json_t *want, json_t *got)
{
    if (json_is_number(want) && json_is_number(got))
        return json_number_value(want) == json_number_value(got);
    return json_equal(want, got) || (json_is_null(want) && (!got || json_is_null(got)));
}

/*
 * Whether a named record with no row in this batch, before or after, is the batch's all the
 * same: its key holds the plan's column and that value lies within the batch's bounds (the
 * batch's own predicate, evaluated on the value). *in is 0 when it lies elsewhere or when the
 * key does not hold the plan's column: the run-level check looks such a record up.
 */
static int record_in_batch(const ctx *x, const json_t *r, int *in)
{
    const char *col = bf_plan_column(x->qplan);
    size_t k = 0;
    bf_value kv;
    bf__binds b;
    char *sql = NULL;
    int64_t n = 0;
    int rc;

    *in = 0;
    if (!col)
        return BF_OK;
    while (k < x->v->key_count && !bf__sql_same_ident(x->v->key[k], col))
        k++;
    if (k == x->v->key_count)
        return BF_OK;
    record_key_value(&kv, r, k);
    batch_binds(&b, x);
    bf__binds_value(&b, "bf_k0", &kv);
    rc = build(x, &sql, NULL, 0, "SELECT 1 FROM (SELECT :bf_k0 AS %T) AS bf_r WHERE %P",
               ARGS(col, "bf_r"));
    if (rc == BF_OK)
        rc = query_objects(x, NULL, sql, &b, 0, &n);
    bf__free(sql);
    *in = n > 0;
    return rc;
}

/* The key of a named record as text for a sentence: (1, 'zz-9', '2025-03-26'). */
static char *record_key_text(const json_t *r)
{
    bf__sb sb;
    size_t i;
    json_t *v;
    char *out = NULL;

    bf__sb_init(&sb);
    bf__sb_appendc(&sb, '(');
    json_array_foreach(json_object_get(r, "key"), i, v) {
        bf__sb_append(&sb, i ? ", " : "");
        if (json_is_string(v))
            bf__sb_appendf(&sb, "'%.200s'", json_string_value(v));
        else if (json_is_integer(v))
            bf__sb_appendf(&sb, "%lld", (long long)json_integer_value(v));
        else if (json_is_real(v)) {
            char real[BF__REAL_TEXT_SIZE];

            bf__sb_appendn(&sb, real, bf__real_text(real, json_real_value(v)));
        }
        else
            bf__sb_append(&sb, "NULL");
    }
    bf__sb_appendc(&sb, ')');
    if (bf__sb_finish(&sb, &out) != BF_OK)
        return NULL;
    return out;
}

/* Compare one side of the expected records; mismatches become samples. */
static void records_side(const bf__vcheck *c, bf__rentry *e, json_t *actual,
                         const unsigned char *skip, const char *side, size_t *bad, size_t *seen)
{
    size_t i;
    json_t *r;

    json_array_foreach(json_object_get(c->cfg, "expect"), i, r) {
        json_t *want = json_object_get(r, side), *got = json_array_get(actual, i), *val;
        const char *col;
        if (!want || skip[i])
            continue;
        (*seen)++;
        json_object_foreach(want, col, val) {
            json_t *g = json_is_object(got) ? json_object_get(got, col) : NULL;
            if (!json_is_object(got) || !same_scalar(val, g)) {
                (*bad)++;
                /* "O" takes a reference of its own, "o" the one given: the placeholder's. */
                bf__rentry_sample(e, json_is_object(got) && g
                                         ? json_pack("{sOsssssOsO}", "key", json_object_get(r, "key"),
                                                     "when", side, "column", col, "expected", val,
                                                     "actual", g)
                                         : json_pack("{sOsssssOss}", "key", json_object_get(r, "key"),
                                                     "when", side, "column", col, "expected", val,
                                                     "actual", "(no row)"));
            }
        }
    }
}

/*
 * A named record with no row before or after is a mismatch (a mistyped key must not pass
 * unseen), unless, in a batch, it lies in another batch: that batch, or the run, checks it.
 */
static int eval_records(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    json_t *after = NULL, *before = cs && cs->have ? cs->data : NULL, *r;
    const json_t *expect = json_object_get(c->cfg, "expect");
    size_t bad = 0, seen = 0, missing = 0, i;
    const json_t *first_missing = NULL;
    unsigned char *skip = bf__calloc(json_array_size(expect) + 1, 1);
    int rc = skip ? capture_records(x, c, &after) : bf__nomem();
    char *key = NULL;

    json_array_foreach(expect, i, r) {
        int in = 1;
        if (rc != BF_OK)
            break;
        if (json_is_object(json_array_get(after, i)) || json_is_object(json_array_get(before, i)))
            continue;
        if (x->batch)
            rc = record_in_batch(x, r, &in);
        if (!in) {
            skip[i] = 1;
        } else if (!missing++) {
            first_missing = r;
        }
    }
    if (rc != BF_OK) {
        json_decref(after);
        bf__free(skip);
        return rc;
    }
    if (before)
        records_side(c, e, before, skip, "before", &bad, &seen);
    records_side(c, e, after, skip, "after", &bad, &seen);
    json_decref(after);
    bf__free(skip);
    if (!seen && x->batch)
        return verdict(e, 0, SAY("no named record here"), SAY("%s", ""),
                       SAY("check %s: no named record of table %s lies %s", check_name_of(c),
                           x->v->table, x->where));
    if (missing) {
        char more[64] = "";
        if (!(key = record_key_text(first_missing)))
            return bf__nomem();
        if (missing > 1)
            bf__snprintf(more, sizeof more, " (and %zu more named records: see samples)",
                         missing - 1);
        rc = verdict(e, 1, SAY("%zu mismatching values", bad), SAY("0"),
                     SAY("check %s: table %s has no row with key %s %s, before or after%s",
                         check_name_of(c), x->v->table, key, x->where, more));
        bf__free(key);
        return rc;
    }
    return verdict(e, bad > 0, SAY("%zu mismatching values", bad), SAY("0"),
                   bad ? SAY("check %s: %zu values of named records in table %s %s differ from "
                             "what was expected (see samples)", check_name_of(c), bad,
                             x->v->table, x->where)
                       : SAY("check %s: named records in table %s %s show the expected values",
                             check_name_of(c), x->v->table, x->where));
}

static int eval_sql(ctx *x, const bf__vcheck *c, bf__rentry *e)
{
    bf__binds b;
    int64_t n = 0;
    int rc;

    char *sql = NULL;

    batch_binds(&b, x);
    if ((rc = sql_check_query(c, &sql)) != BF_OK)
        return rc;
    rc = query_objects(x, e->samples, sql, &b, x->v->max_samples, &n);
    bf__free(sql);
    if (rc != BF_OK)
        return bf__error(rc, "check %s: the query failed: %s", check_name_of(c), bf_last_error());
    return verdict(e, n > 0, SAY("%lld rows", (long long)n), SAY("0 rows"),
                   SAY("check %s: the query returned %lld failing rows %s", check_name_of(c),
                       (long long)n, x->where));
}

static int eval_completeness(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    int64_t keys, parts;
    double max_loss = json_number_value(json_object_get(c->cfg, "max_loss_pct"));
    int rc = capture_completeness(x, c, &keys, &parts), failed;

    if (rc != BF_OK)
        return rc;
    if (!cs || !cs->have)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "completeness: no before counts to compare with");
    failed = (double)keys < (double)cs->a * (1 - max_loss / 100) ||
             (parts >= 0 && (double)parts < (double)cs->b * (1 - max_loss / 100));
    if (parts < 0) /* no partition_column: keys alone */
        return verdict(e, failed, SAY("%lld distinct keys", (long long)keys),
                       SAY("at least %lld keys (max loss %g%%)", (long long)cs->a, max_loss),
                       SAY("check %s: table %s %s has %lld distinct keys (before %lld)",
                           check_name_of(c), x->v->table, x->where, (long long)keys,
                           (long long)cs->a));
    return verdict(e, failed,
                   SAY("%lld distinct keys, %lld partitions", (long long)keys, (long long)parts),
                   SAY("at least %lld keys, %lld partitions (max loss %g%%)", (long long)cs->a,
                       (long long)cs->b, max_loss),
                   SAY("check %s: table %s %s has %lld distinct keys (before %lld) and %lld "
                       "partitions (before %lld)", check_name_of(c), x->v->table, x->where,
                       (long long)keys, (long long)cs->a, (long long)parts, (long long)cs->b));
}

static int eval_footprint(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    int64_t bytes, exact;
    json_t *jmax = json_object_get(c->cfg, "max_growth_pct");
    double growth;
    int rc = capture_footprint(x, &bytes, &exact);

    if (rc != BF_OK)
        return rc;
    if (!cs || !cs->have)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "footprint: no before size to compare with");
    /* The table's size now holds every batch published since: one batch's growth is lost. */
    if (x->batch && cs->restored)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "footprint: a batch's growth is measured when it publishes; the "
                              "table's size now holds the batches published since");
    growth = cs->a ? (double)(bytes - cs->a) / (double)cs->a * 100 : 0;
    e->extra = json_pack("{sIsIss}", "bytes_before", (json_int_t)cs->a, "bytes_after",
                         (json_int_t)bytes, "method", exact ? "dbstat" : "page_count estimate");
    return verdict(e, jmax && growth > json_number_value(jmax),
                   SAY("%lld -> %lld bytes (%+.3g%%)", (long long)cs->a, (long long)bytes, growth),
                   jmax ? SAY("growth at most %g%%", json_number_value(jmax)) : SAY("any"),
                   SAY("check %s: table %s and its indexes went from %lld to %lld bytes (%+.3g%%, "
                       "%s)", check_name_of(c), x->v->table, (long long)cs->a, (long long)bytes,
                       growth, exact ? "dbstat" : "page_count estimate"));
}

static int eval_coverage(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    size_t gone = 0, added = 0;
    size_t total = x->plan ? bf_plan_count(x->plan) : 0, missing = 0, gaps = 0, mism = 0;
    bf_dimension dim = x->plan ? bf_plan_dimension(x->plan) : 0;
    int rc = BF_OK;

    if (!x->plan || !x->v->has_written)
        return bf__rentry_set(e, BF_OUTCOME_SKIPPED, "", "",
                              "coverage: no plan or no list of written batches given");
    for (size_t i = 0; i < total; i++) {
        int found = 0;
        for (size_t k = 0; k < x->v->written_count; k++)
            found |= x->v->written[k] == i;
        if (!found) {
            missing++;
            bf__rentry_sample(e, json_pack("{sssI}", "missing", bf_batch_label(bf_plan_batch(x->plan, i)),
                                           "ordinal", (json_int_t)i));
        }
    }
    if (dim == BF_DIM_TIME || dim == BF_DIM_KEY) {
        /* The batches tile the scope: sorted by lo, each ends where the next begins. */
        for (size_t i = 0; i < total; i++) {
            const bf_batch *b = bf_plan_batch(x->plan, i);
            int next = 0, first = 1;
            for (size_t k = 0; k < total; k++) {
                const bf_batch *o = bf_plan_batch(x->plan, k);
                next |= bf_batch_lo(o) == bf_batch_hi(b);
                first &= bf_batch_lo(o) >= bf_batch_lo(b);
                if (k != i && bf_batch_lo(o) < bf_batch_hi(b) && bf_batch_lo(b) < bf_batch_hi(o))
                    gaps++; /* overlap */
            }
            int last = 1;
            for (size_t k = 0; k < total; k++)
                last &= bf_batch_hi(bf_plan_batch(x->plan, k)) <= bf_batch_hi(b);
            if (!next && !last)
                gaps++;
            (void)first;
        }
    }
    /* Each written batch's bounds hold exactly the rows it wrote. */
    for (size_t k = 0; rc == BF_OK && k < x->v->written_count; k++) {
        const bf_batch *b = bf_plan_batch(x->plan, x->v->written[k]);
        bf_profile *p = NULL;
        bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
        if (!b || x->v->rows_written[k] < 0)
            continue;
        rc = bf_driver_profile(&p, x->d, x->v->table, &spec, x->plan, b);
        if (rc == BF_OK && bf_profile_rows(p) != x->v->rows_written[k]) {
            mism++;
            bf__rentry_sample(e, json_pack("{sssIsI}", "batch", bf_batch_label(b), "rows_in_bounds",
                                           (json_int_t)bf_profile_rows(p), "rows_written",
                                           (json_int_t)x->v->rows_written[k]));
        }
        bf_profile_free(p);
    }
    /* No row outside the scope touched: its rows' hashes before and after, as multisets. */
    if (rc == BF_OK && x->s && cs && cs->have_outside) {
        uint64_t *h = NULL;
        size_t n = 0, i = 0, k = 0;
        rc = outside_hashes(x, &h, &n);
        while (rc == BF_OK && (i < cs->nhashes || k < n)) {
            if (k >= n || (i < cs->nhashes && cs->hashes[i] < h[k])) {
                gone++;
                i++;
            } else if (i >= cs->nhashes || h[k] < cs->hashes[i]) {
                added++;
                k++;
            } else {
                i++;
                k++;
            }
        }
        bf__free(h);
        if (rc == BF_OK && (gone || added))
            rc = bf__rentry_sample(e, json_pack("{sIsI}", "outside_rows_gone_or_altered",
                                                (json_int_t)gone, "outside_rows_new_or_altered",
                                                (json_int_t)added));
    }
    if (rc != BF_OK)
        return rc;
    return verdict(e, missing || gaps || mism || gone || added,
                   SAY("%zu of %zu batches written, %zu gaps or overlaps, %zu batches whose rows "
                       "differ from what they wrote, %zu rows outside the scope changed",
                       total - missing, total, gaps, mism, gone > added ? gone : added),
                   SAY("every batch, no gaps, nothing outside the scope touched"),
                   SAY("check %s: %zu of %zu planned batches not validated, %zu gaps or overlaps "
                       "in the plan, %zu batches whose bounds hold other than the rows they "
                       "wrote, %zu rows outside the scope changed (%zu rows gone or altered, "
                       "%zu new or altered)",
                       check_name_of(c), missing, total, gaps, mism, gone > added ? gone : added,
                       gone, added));
}

static int eval_custom(ctx *x, const bf__vcheck *c, bf__rentry *e, const cstate *cs)
{
    bf_check_result res = {e, 0};
    int rc;

    bf_clear_error();
    rc = c->vt.after(c->ud, &res, x->d, x->plan, x->batch, cs ? cs->custom : NULL);
    if (rc != BF_OK) {
        if (bf_last_error_code() != rc)
            bf__error(rc, "validator %s: after failed", c->kind_name);
        return rc;
    }
    if (!res.set)
        return bf__rentry_verdict(e, 0, "", "", "custom check passed");
    return BF_OK;
}

static int fatal(int rc)
{
    return rc == BF_E_NOMEM || rc == BF_E_IO || rc == BF_E_LEASE_LOST || rc == BF_E_BUSY ||
           rc == BF_E_USER || rc == BF_E_ABI || rc == BF_E_INTERNAL;
}

static int check_error(bf__rentry *e, const bf__vcheck *c, const ctx *x)
{
    const char *why = bf_last_error();
    char *msg = SAY("check %s: could not be evaluated %s: %s", check_name_of(c), x->where,
                    why && why[0] ? why : bf_errdesc(bf_last_error_code()));
    int rc;

    if (!msg)
        return bf__nomem();
    json_decref(e->samples);
    e->samples = json_array();
    json_decref(e->extra);
    e->extra = NULL;
    rc = e->samples ? bf__rentry_set(e, BF_OUTCOME_ERROR, "", "", msg) : bf__nomem();
    bf__free(msg);
    bf_clear_error();
    return rc;
}

int bf_validator_after(bf_results **out, bf_validator *v, bf_driver *d, const bf_plan *plan,
                       const bf_batch *batch, const bf_validation_state *state)
{
    return bf__validator_after_fp(out, v, d, plan, batch, state, NULL, NULL);
}

int bf__validator_after_fp(bf_results **out, bf_validator *v, bf_driver *d, const bf_plan *plan,
                           const bf_batch *batch, const bf_validation_state *state,
                           bf_fingerprint *all_fp, int *measured)
{
    bf_results *r = NULL;
    ctx x;
    int rc;

    if (measured)
        *measured = 0;
    if (!out || !v || !d)
        return bf__error(BF_E_INVALID, "bf_validator_after: NULL argument");
    *out = NULL;
    if (state && state->v != v)
        return bf__error(BF_E_INVALID, "bf_validator_after: the state is another validator's");
    rc = ctx_open(&x, v, d, plan, batch, 0, measured ? all_fp : NULL, NULL, 0);
    if (rc == BF_OK)
        rc = bf__results_new(&r, batch);
    for (size_t i = 0; rc == BF_OK && i < v->count; i++) {
        const bf__vcheck *c = &v->checks[i];
        const cstate *cs = state && i < state->count ? &state->cs[i] : NULL;
        bf__rentry *e;

        if (!BF__RUNS_IN(c, batch))
            continue;
        if ((rc = bf__results_add(&e, r, kname(c), member(c, "name"), c->severity)) != BF_OK)
            break;
        switch (c->kind) {
        case BF_CHECK_ROW_COUNT:
        case BF__CHECK_EXPECTED_ROWS:
            rc = eval_rows(&x, c, e);
            break;
        case BF_CHECK_UNIQUE:
            rc = eval_unique(&x, c, e);
            break;
        case BF_CHECK_NOT_NULL:
            rc = eval_not_null(&x, c, e);
            break;
        case BF_CHECK_REFERENCES:
            rc = eval_references(&x, c, e);
            break;
        case BF_CHECK_METRIC:
            rc = eval_metric(&x, c, e, cs);
            break;
        case BF_CHECK_UNCHANGED_COLUMNS:
            rc = eval_unchanged(&x, c, i, e, cs);
            break;
        case BF_CHECK_RECORDS:
            rc = eval_records(&x, c, e, cs);
            break;
        case BF_CHECK_SQL:
            rc = eval_sql(&x, c, e);
            break;
        case BF_CHECK_COMPLETENESS:
            rc = eval_completeness(&x, c, e, cs);
            break;
        case BF_CHECK_FOOTPRINT:
            rc = eval_footprint(&x, c, e, cs);
            break;
        case BF_CHECK_COVERAGE:
            rc = eval_coverage(&x, c, e, cs);
            break;
        case BF__CHECK_CUSTOM:
            rc = eval_custom(&x, c, e, cs);
            break;
        }
        /* A check that cannot be evaluated is an outcome (error, with the reason); only the
         * library's own failures (memory, I/O, a lost lease, a busy warehouse, a host
         * callback's cancel, a bug) fail the call. */
        if (rc != BF_OK && !fatal(rc))
            rc = check_error(e, c, &x);
    }
    if (measured)
        *measured = rc == BF_OK && x.all_fp_done;
    ctx_close(&x);
    if (rc != BF_OK) {
        bf_results_free(r);
        return rc;
    }
    *out = r;
    return BF_OK;
}
