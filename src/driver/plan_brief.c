/*
 * Planning a brief against the warehouse: the brief's names checked
 * against the tables, key boundaries for rows_per_batch found by one walk,
 * and the pinned, verified plan. What `backfill plan --warehouse` does, for
 * any host. The planner knows nothing of drivers; this is where the two
 * meet.
 */
#include <stdio.h>
#include <string.h>

#include "backfill/brief.h"
#include "common/internal.h"
#include "common/json.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"
#include "plan/plan_internal.h"

/* Boundaries walked once over the whole key scope, then answered from memory. */
struct boundaries {
    bf_driver *driver;
    const char *table;
    const char *column;
    int64_t *keys;
    size_t count;
};

static int next_boundary(int64_t *out, int64_t from, int64_t hi, int64_t rows, void *userdata)
{
    struct boundaries *kb = userdata;
    size_t lo = 0, n;
    int rc;

    if (!kb->keys) {
        rc = bf_driver_key_boundaries(&kb->keys, &kb->count, kb->driver, kb->table, kb->column,
                                      from, hi, rows);
        if (rc != BF_OK)
            return rc;
    }
    /* Binary search for the first boundary past `from`: the keys strictly increase. */
    n = kb->count;
    while (lo < n) {
        size_t mid = lo + (n - lo) / 2;

        if (kb->keys[mid] > from)
            n = mid;
        else
            lo = mid + 1;
    }
    *out = lo < kb->count ? kb->keys[lo] : hi;
    return BF_OK;
}

/* ---- the brief's names against the warehouse ---- */

/* Column names match as SQL identifiers do: ASCII letters in either case. */
static int same_name(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

        if (x != y)
            return 0;
    }
    return *a == *b;
}

/*
 * Describe `table`, named by the brief at `where`. A table the warehouse
 * lacks is the brief's fault (BF_E_INVALID, the handle's error cleared);
 * any other failure is the warehouse's and stays on the handle.
 */
static int describe(bf_table_info **out, bf_driver *driver, const char *table, const char *where)
{
    int rc = bf_driver_describe(out, driver, table);

    if (rc == BF_E_NOT_FOUND) {
        bf__driver_clear_error(driver);
        return bf__error(BF_E_INVALID, "%s: no table %s in the warehouse", where, table);
    }
    return rc;
}

/* BF_OK when `column` (named at JSON path `where`) is a column of the table. */
static int has_column(const bf_table_info *info, const char *table, const char *column,
                      const char *where)
{
    for (size_t i = 0; i < bf_table_info_column_count(info); i++)
        if (same_name(bf_table_info_column_name(info, i), column))
            return BF_OK;
    return bf__error(BF_E_INVALID, "%s: table %s has no column %s", where, table, column);
}

/* The columns a validation check names: `columns` on the target, `parent_columns` on `parent`. */
static int check_validation(bf_driver *driver, const bf_brief *brief, const bf_table_info *target,
                            size_t index)
{
    const char *table = bf_brief_target_table(brief);
    bf_table_info *parent_info = NULL;
    json_t *check, *list, *item, *parent;
    char *text = NULL, where[96];
    size_t i;
    int rc;

    if ((rc = bf_brief_check_json(&text, brief, index)) != BF_OK)
        return rc;
    check = bf__json_loads(text, 0, NULL);
    bf_free(text);
    if (!check)
        return bf__nomem();
    rc = BF_OK;
    list = json_object_get(check, "columns");
    json_array_foreach(list, i, item) {
        snprintf(where, sizeof where, "$.validation[%zu].columns[%zu]", index, i);
        if (rc == BF_OK && json_is_string(item))
            rc = has_column(target, table, json_string_value(item), where);
    }
    parent = json_object_get(check, "parent");
    if (rc == BF_OK && json_is_string(parent)) {
        snprintf(where, sizeof where, "$.validation[%zu].parent", index);
        rc = describe(&parent_info, driver, json_string_value(parent), where);
        list = json_object_get(check, "parent_columns");
        json_array_foreach(list, i, item) {
            snprintf(where, sizeof where, "$.validation[%zu].parent_columns[%zu]", index, i);
            if (rc == BF_OK && json_is_string(item))
                rc = has_column(parent_info, json_string_value(parent), json_string_value(item),
                                where);
        }
    }
    bf_table_info_free(parent_info);
    json_decref(check);
    return rc;
}

/*
 * Every table and column the brief names, checked against the warehouse
 * before anything is planned or counted: a typo is bad input naming the
 * JSON path and the name, never a plan of empty batches.
 */
static int check_names(bf_driver *driver, const bf_brief *brief)
{
    static const char *const scopes[] = {
        [BF_SCOPE_KEYS] = "$.scope.keys.column",
        [BF_SCOPE_PARTITIONS] = "$.scope.partitions.column",
        [BF_SCOPE_BUCKETS] = "$.scope.buckets.column",
    };
    const char *table = bf_brief_target_table(brief), *column;
    bf_table_info *info = NULL;
    bf_scope_kind kind = bf_brief_scope_kind(brief);
    char where[64];
    int rc;

    if (!table)
        return bf__error(BF_E_INVALID,
                         "$.target.table: planning against a warehouse needs the target table");
    if ((rc = describe(&info, driver, table, "$.target.table")) != BF_OK)
        return rc;
    if ((column = bf_brief_time_column(brief)) != NULL)
        rc = has_column(info, table, column, "$.target.time_column");
    for (size_t i = 0; rc == BF_OK && i < bf_brief_key_count(brief); i++) {
        snprintf(where, sizeof where, "$.target.key[%zu]", i);
        rc = has_column(info, table, bf_brief_key(brief, i), where);
    }
    for (size_t i = 0; rc == BF_OK && i < bf_brief_column_count(brief); i++) {
        snprintf(where, sizeof where, "$.target.columns[%zu]", i);
        rc = has_column(info, table, bf_brief_column(brief, i), where);
    }
    column = bf_brief_scope_column(brief);
    if (rc == BF_OK && column && (size_t)kind < BF_ARRAY_LEN(scopes) && scopes[kind])
        rc = has_column(info, table, column, scopes[kind]);
    for (size_t i = 0; rc == BF_OK && i < bf_brief_check_count(brief); i++)
        rc = check_validation(driver, brief, info, i);
    /* The job's own names (sources, columns, functions): prepared, never run. */
    if (rc == BF_OK)
        rc = bf__driver_check_select(driver, bf_brief_job_select(brief), "$.job.select");
    bf_table_info_free(info);
    return rc;
}

/*
 * `iso8601` and `date` bind the bounds as text and compare the time column
 * with them as text: right only when the column holds that very form. A
 * value of another form ('2025-04-04T12:30:00Z', '2025-04-04 15:30:00+02:00',
 * '2025-4-4', an integer) sorts elsewhere than its instant, so its row would
 * fall into another batch, or outside the scope or into it, with every
 * check agreeing. On SQLite, the values of the scope's text range (up to
 * 1,000), the table's first 1,000 and its least and greatest are checked;
 * one of another form refuses the plan, naming it.
 */
#define TIME_SAMPLE "1000"
#define DIGITS4 "[0-9][0-9][0-9][0-9]"
#define DIGITS2 "[0-9][0-9]"
#define ISO_HEAD DIGITS4 "-" DIGITS2 "-" DIGITS2 " " DIGITS2 ":" DIGITS2 ":" DIGITS2

static int check_time_text(bf_driver *driver, const bf_brief *brief, const bf_plan *plan)
{
    static const char *const names[] = {"v"};
    bf_time_format format = bf_brief_time_format(brief);
    bf__sql *s = bf__driver_sql(driver);
    const char *column = bf_brief_time_column(brief), *shape;
    char *qt = NULL, *qc = NULL, *sql = NULL;
    bf_rows *found = NULL;
    bf_value lo, hi, v;
    bf__binds b;
    int rc;

    if ((format != BF_TIME_FORMAT_ISO8601 && format != BF_TIME_FORMAT_DATE) || !column || !s ||
        !s->vt.dialect || strcmp(s->vt.dialect, "sqlite") != 0 || bf_plan_count(plan) == 0 ||
        bf_plan_dimension(plan) != BF_DIM_TIME)
        return BF_OK;
    /* The first batch's start and the last one's end, as bound. */
    if ((rc = bf_batch_param(&lo, bf_plan_batch(plan, 0), "start")) != BF_OK ||
        (rc = bf_batch_param(&hi, bf_plan_batch(plan, bf_plan_count(plan) - 1), "end")) != BF_OK)
        return BF_OK; /* a plan without the usual parameters: nothing to compare with */
    shape = format == BF_TIME_FORMAT_DATE
                ? "length(v) = 10 AND v GLOB '" DIGITS4 "-" DIGITS2 "-" DIGITS2 "'"
                : "substr(v, 1, 19) GLOB '" ISO_HEAD "' AND NOT substr(v, 20) GLOB '*[^0-9.Z]*'";
    if ((rc = bf__sql_quoted(s, &qt, bf_brief_target_table(brief))) == BF_OK &&
        (rc = bf__sql_quoted(s, &qc, column)) == BF_OK &&
        !(sql = bf__asprintf(
              "SELECT v FROM (SELECT * FROM (SELECT %s AS v FROM main.%s WHERE %s >= :lo AND %s < "
              ":hi LIMIT " TIME_SAMPLE ") UNION ALL SELECT * FROM (SELECT %s FROM main.%s LIMIT "
              TIME_SAMPLE ") UNION ALL SELECT min(%s) FROM main.%s UNION ALL SELECT max(%s) FROM "
              "main.%s) WHERE v IS NOT NULL AND NOT (typeof(v) = 'text' AND %s) LIMIT 1",
              qc, qt, qc, qc, qc, qt, qc, qt, qc, qt, shape)))
        rc = bf__nomem();
    bf__binds_init(&b);
    bf__binds_value(&b, "lo", &lo);
    bf__binds_value(&b, "hi", &hi);
    if (rc == BF_OK && (rc = bf__rows_new(&found, names, 1)) == BF_OK)
        rc = bf__sql_query_rows(s, found, sql, &b);
    if (rc == BF_OK && bf_rows_count(found) > 0) {
        char text[80];

        bf_rows_value(&v, found, 0, 0);
        if (v.type == BF_VALUE_TEXT)
            bf__snprintf(text, sizeof text, "'%.*s'", (int)(v.len < 60 ? v.len : 60), v.s);
        else if (v.type == BF_VALUE_INT)
            bf__snprintf(text, sizeof text, "the number %lld", (long long)v.i);
        else
            bf__snprintf(text, sizeof text, "a value that is not text");
        rc = bf__error(BF_E_INVALID, "$.target.time_format: %s compares column %s with bounds "
                       "written as text %s, but table %s holds %s there, which sorts elsewhere "
                       "than its instant: its row would fall into the wrong batch, or into or out "
                       "of the scope; write the column in that form first",
                       format == BF_TIME_FORMAT_DATE ? "date" : "iso8601", column,
                       format == BF_TIME_FORMAT_DATE ? "'YYYY-MM-DD' (local dates)"
                                                     : "'YYYY-MM-DD HH:MM:SS' (UTC)",
                       bf_brief_target_table(brief), text);
    }
    bf_rows_free(found);
    bf__free(sql);
    bf__free(qt);
    bf__free(qc);
    return rc;
}

/* Append `v` as an SQL literal; 0 when it has none here (a blob, text holding a NUL). */
static int literal(bf__sb *sb, const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        bf__sb_appendf(sb, "%lld", (long long)v->i);
        return 1;
    case BF_VALUE_REAL:
        bf__sb_appendf(sb, "%.17g", v->r);
        return 1;
    case BF_VALUE_TEXT:
        if (memchr(v->s, '\0', v->len))
            return 0;
        bf__sb_appendc(sb, '\'');
        for (size_t i = 0; i < v->len; i++) {
            if (v->s[i] == '\'')
                bf__sb_appendc(sb, '\'');
            bf__sb_appendc(sb, v->s[i]);
        }
        bf__sb_appendc(sb, '\'');
        return 1;
    default:
        return 0;
    }
}

/*
 * Two partition values that the column compares as equal ('eu' and 'Eu' in a NOCASE column,
 * 7 and '7' in a TEXT one) make two batches of the same rows: each rewrites them, and every
 * count and total over the plan counts them twice. On the built-in SQLite driver the values
 * themselves are compared as the column compares them (its affinity, bf_affinity, and its
 * collation, bf_column_collation), without reading the table; the first two are named.
 */
static int overlapping_partitions(bf__sql *s, const bf_brief *brief, const bf_plan *plan)
{
    const char *table = bf_brief_target_table(brief), *col = bf_plan_column(plan);
    static const char *const pair[] = {"a", "b"};
    bf_rows *found = NULL;
    char *as = NULL, *sql = NULL;
    bf__sb sb;
    int rc, ok = 1;

    if ((rc = bf__sql_as_column(s, &as, table, NULL, col, "x")) != BF_OK || !as)
        return rc;
    bf__sb_init(&sb);
    bf__sb_append(&sb, "WITH v(i, x) AS (VALUES ");
    for (size_t i = 0; rc == BF_OK && ok && i < bf_plan_count(plan); i++) {
        bf_value v;

        if ((rc = bf_batch_param(&v, bf_plan_batch(plan, i), "partition")) != BF_OK)
            break;
        bf__sb_appendf(&sb, "%s(%zu, ", i ? ", " : "", i);
        ok = literal(&sb, &v);
        bf__sb_appendc(&sb, ')');
    }
    bf__sb_appendf(&sb, ") SELECT min(i), max(i) FROM v GROUP BY %s HAVING count(*) > 1 LIMIT 1",
                   as);
    if (rc == BF_OK && ok)
        rc = bf__sql_text(&sb, &sql);
    else
        bf__sb_dispose(&sb);
    if (rc == BF_OK && ok && (rc = bf__rows_new(&found, pair, 2)) == BF_OK)
        rc = bf__sql_query_rows(s, found, sql, NULL);
    if (rc == BF_OK && found && bf_rows_count(found) > 0) {
        bf_value i, j;

        bf_rows_value(&i, found, 0, 0);
        bf_rows_value(&j, found, 0, 1);
        rc = bf__error(BF_E_INVALID, "$.scope.partitions.values: partitions %s and %s name the "
                       "same rows of table %s, as column %s compares them (its collation or "
                       "type): each batch would rewrite them and every total count them twice; "
                       "list the value once", bf_batch_label(bf_plan_batch(plan, (size_t)i.i)),
                       bf_batch_label(bf_plan_batch(plan, (size_t)j.i)), table, col);
    }
    bf_rows_free(found);
    bf__free(sql);
    bf__free(as);
    return rc;
}

/*
 * A partition value is a name the user gives: one that no row of the target holds and for
 * which the job produces no row changes nothing, and is most likely mistyped. Refused,
 * naming the batch (its value). A value the target lacks but the job fills is a new
 * partition, and fine. Then values that name the same rows are refused too.
 */
static int check_partitions(bf_driver *driver, const bf_brief *brief, const bf_plan *plan)
{
    bf__sql *s = bf__driver_sql(driver);
    const char *job = bf_brief_job_select(brief), *table = bf_brief_target_table(brief);
    const bf_value *set = NULL;
    int rc = BF_OK;

    if (!s || bf_plan_dimension(plan) != BF_DIM_PARTITION || !bf_plan_count(plan))
        return BF_OK;
    for (size_t i = 0; rc == BF_OK && i < bf_plan_count(plan); i++) {
        const bf_batch *batch = bf_plan_batch(plan, i);
        bf__tpl t = {NULL, 0, NULL, 0, plan, batch};
        const char *args[] = {table, NULL};
        char *sql = NULL;
        int64_t held = 0, made = 1;
        bf__binds b;

        bf__binds_init(&b);
        bf__binds_batch(&b, batch);
        rc = bf__sql_build(s, &sql, &t, "SELECT EXISTS (SELECT 1 FROM %T WHERE %P)", args);
        if (rc == BF_OK)
            rc = bf__sql_query_int(s, &held, sql, &b);
        bf__free(sql);
        sql = NULL;
        if (rc != BF_OK || held || !job)
            continue;
        if (!(sql = bf__asprintf("SELECT EXISTS (SELECT 1 FROM (%s))", job)))
            rc = bf__nomem();
        if (rc == BF_OK)
            rc = bf__sql_query_int(s, &made, sql, &b);
        bf__free(sql);
        if (rc == BF_OK && !made)
            rc = bf__error(BF_E_INVALID, "$.scope.partitions.values: partition %s matches no "
                           "row of table %s (column %s), and the job produces no row for it: its "
                           "batch would change nothing (a mistyped value?); remove it from the "
                           "scope", bf_batch_label(batch), table, bf_plan_column(plan));
    }
    /* One value a batch (a set plan's batches hold lists: their values are not compared). */
    if (rc == BF_OK && bf_plan_count(plan) > 1 && !bf__plan_values(plan, &set))
        rc = overlapping_partitions(s, brief, plan);
    return rc;
}

int bf_driver_plan_brief(bf_plan **out, bf_driver *driver, const bf_brief *brief)
{
    bf_planner *planner = NULL;
    bf_plan *plan = NULL;
    struct boundaries kb = {0};
    int64_t per_batch;
    int rc;

    if (!driver)
        return bf__error(BF_E_INVALID, "driver: plan_brief: NULL driver");
    if (out)
        *out = NULL;
    bf__driver_clear_error(driver);
    if (!out || !brief) {
        bf__error(BF_E_INVALID, "driver: plan_brief: NULL argument");
        return bf__driver_fail_from_thread(driver);
    }
    rc = bf_planner_new_from_brief(&planner, brief);
    if (rc == BF_OK)
        rc = check_names(driver, brief);
    if (rc == BF_OK && bf_brief_scope_kind(brief) == BF_SCOPE_KEYS &&
        bf_brief_rows_per_batch(&per_batch, brief) == BF_OK) {
        kb.driver = driver;
        kb.table = bf_brief_target_table(brief);
        kb.column = bf_brief_scope_column(brief);
        rc = bf_planner_set_rows_per_batch(planner, per_batch, next_boundary, &kb);
    }
    if (rc == BF_OK)
        rc = bf_planner_plan(&plan, planner);
    if (rc == BF_OK)
        rc = bf_plan_verify(plan, planner);
    if (rc == BF_OK)
        rc = check_time_text(driver, brief, plan);
    if (rc == BF_OK)
        rc = check_partitions(driver, brief, plan);
    bf__free(kb.keys);
    bf_planner_free(planner);
    if (rc != BF_OK) {
        bf_plan_free(plan);
        return rc;
    }
    *out = plan;
    return BF_OK;
}
