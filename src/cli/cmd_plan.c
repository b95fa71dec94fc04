/*
 * backfill plan BRIEF [--warehouse DB] [--json]: the pinned batch plan of a
 * brief, as a dry run: every batch with its label and bound parameters, the
 * fingerprint, and a summary line with the count and the first and last
 * bounds. With a warehouse, each batch's current row count in the target
 * (the rows it will rewrite), and key boundaries for rows_per_batch briefs.
 * Nothing is written.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define USAGE "BRIEF [--warehouse DB] [--json]"

/* A parameter as bound, "name=value": the integer, or the text quoted. */
static void print_param(FILE *to, const bf_batch *b, size_t i)
{
    bf_value v;

    if (bf_batch_param_at(&v, b, i) != BF_OK)
        return;
    fprintf(to, "%s=", bf_batch_param_name(b, i));
    if (v.type == BF_VALUE_INT)
        fprintf(to, "%" PRId64, v.i);
    else if (v.type == BF_VALUE_TEXT)
        fprintf(to, "'%s'", v.s);
}

/* "2025-01-01..2025-01-07 [start=1735707600, end=1736312400)" */
static void print_bounds(FILE *to, const bf_batch *b)
{
    fprintf(to, "%s [", bf_batch_label(b));
    for (size_t i = 0; i < bf_batch_param_count(b); i++) {
        if (i)
            fputs(", ", to);
        print_param(to, b, i);
    }
    fputs(bf_batch_param_count(b) == 2 && bf_batch_dimension(b) != BF_DIM_BUCKET ? ")" : "]",
          to);
}

static int64_t total_rows(const int64_t *rows, size_t n)
{
    int64_t total = 0;

    for (size_t i = 0; i < n; i++)
        total += rows[i];
    return total;
}

static int print_text(const bf_brief *brief, const bf_plan *plan, const int64_t *rows)
{
    size_t n = bf_plan_count(plan);

    printf("plan %s: %zu batches by %s on %s, fingerprint %s\n", bf_brief_name(brief)
           ? bf_brief_name(brief) : "(unnamed)", n, bf_dimension_name(bf_plan_dimension(plan)),
           bf_plan_column(plan), bf_plan_fingerprint(plan));
    for (size_t i = 0; i < n; i++) {
        const bf_batch *b = bf_plan_batch(plan, i);

        printf("%6zu  ", i);
        print_bounds(stdout, b);
        if (rows)
            printf("  %" PRId64 " rows", rows[i]);
        putchar('\n');
    }
    printf("%zu batches; first ", n);
    print_bounds(stdout, bf_plan_batch(plan, 0));
    fputs("; last ", stdout);
    print_bounds(stdout, bf_plan_batch(plan, n - 1));
    if (rows)
        printf("; %" PRId64 " rows in scope now", total_rows(rows, n));
    putchar('\n');
    return EXIT_DONE;
}

static json_t *batch_json(const bf_batch *b, const int64_t *rows)
{
    int time = bf_batch_dimension(b) == BF_DIM_TIME;
    json_t *params = json_object();
    json_t *o;

    for (size_t i = 0; params && i < bf_batch_param_count(b); i++) {
        bf_value v;

        if (bf_batch_param_at(&v, b, i) != BF_OK)
            continue;
        json_object_set_new(params, bf_batch_param_name(b, i),
                            v.type == BF_VALUE_INT    ? json_integer(v.i)
                            : v.type == BF_VALUE_TEXT ? json_stringn(v.s, v.len)
                                                      : json_null());
    }
    /* Time batches' lo and hi are UTC microseconds: their ISO 8601 forms follow them. */
    o = json_pack("{s:I, s:s, s:I, s:I, s:o*, s:o*, s:o*}", "ordinal",
                  (json_int_t)bf_batch_ordinal(b), "label", bf_batch_label(b), "lo",
                  (json_int_t)bf_batch_lo(b), "hi", (json_int_t)bf_batch_hi(b), "lo_iso",
                  time ? cli_iso_json(bf_batch_lo(b)) : NULL, "hi_iso",
                  time ? cli_iso_json(bf_batch_hi(b)) : NULL, "params", params);
    if (o && rows)
        json_object_set_new(o, "rows", json_integer(rows[bf_batch_ordinal(b)]));
    return o;
}

static int print_json(const bf_brief *brief, const bf_plan *plan, const int64_t *rows)
{
    size_t n = bf_plan_count(plan);
    json_t *batches = json_array();
    json_t *out;

    for (size_t i = 0; batches && i < n; i++)
        json_array_append_new(batches, batch_json(bf_plan_batch(plan, i), rows));
    out = json_pack("{s:s?, s:s, s:s, s:s, s:I, s:o, s:o, s:o*}", "brief", bf_brief_name(brief),
                    "dimension", bf_dimension_name(bf_plan_dimension(plan)), "column",
                    bf_plan_column(plan), "fingerprint", bf_plan_fingerprint(plan), "count",
                    (json_int_t)n, "first", batch_json(bf_plan_batch(plan, 0), rows), "last",
                    batch_json(bf_plan_batch(plan, n - 1), rows), "batches", batches);
    if (out && rows)
        json_object_set_new(out, "rows", json_integer(total_rows(rows, n)));
    if (!out)
        return cli_fail(EXIT_FAILURE_, "plan: out of memory writing JSON");
    cli_print_json(out);
    return EXIT_DONE;
}

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

/* Describe `table` for the brief at `where`; the exit status of a failure, reported. */
static int describe(bf_table_info **out, bf_driver *driver, const char *table, const char *path,
                    const char *where)
{
    int rc = bf_driver_describe(out, driver, table);

    if (rc == BF_E_NOT_FOUND)
        return cli_fail(EXIT_USAGE, "%s: %s: no table %s in the warehouse", path, where, table);
    if (rc != BF_OK)
        return cli_fail(cli_exit_for(rc), "%s", bf_driver_last_error(driver));
    return EXIT_DONE;
}

/* EXIT_DONE when `column` (named at JSON path `where`) is a column of the table, else reported. */
static int has_column(const bf_table_info *info, const char *table, const char *column,
                      const char *path, const char *where)
{
    for (size_t i = 0; i < bf_table_info_column_count(info); i++)
        if (same_name(bf_table_info_column_name(info, i), column))
            return EXIT_DONE;
    return cli_fail(EXIT_USAGE, "%s: %s: table %s has no column %s", path, where, table, column);
}

/* The columns a validation check names: `columns` on the target, `parent_columns` on `parent`. */
static int check_validation(bf_driver *driver, const bf_brief *brief, const bf_table_info *target,
                            size_t index, const char *path)
{
    const char *table = bf_brief_target_table(brief);
    bf_table_info *parent_info = NULL;
    json_t *check, *list, *item, *parent;
    char *text = NULL, where[96];
    size_t i;
    int status = EXIT_DONE;

    if (bf_brief_check_json(&text, brief, index) != BF_OK)
        return cli_fail_bf(bf_last_error_code(), path);
    check = json_loads(text, 0, NULL);
    bf_free(text);
    if (!check)
        return cli_fail(EXIT_FAILURE_, "plan: out of memory reading $.validation[%zu]", index);
    list = json_object_get(check, "columns");
    json_array_foreach(list, i, item) {
        snprintf(where, sizeof where, "$.validation[%zu].columns[%zu]", index, i);
        if (status == EXIT_DONE && json_is_string(item))
            status = has_column(target, table, json_string_value(item), path, where);
    }
    parent = json_object_get(check, "parent");
    if (status == EXIT_DONE && json_is_string(parent)) {
        snprintf(where, sizeof where, "$.validation[%zu].parent", index);
        status = describe(&parent_info, driver, json_string_value(parent), path, where);
        list = json_object_get(check, "parent_columns");
        json_array_foreach(list, i, item) {
            snprintf(where, sizeof where, "$.validation[%zu].parent_columns[%zu]", index, i);
            if (status == EXIT_DONE && json_is_string(item))
                status = has_column(parent_info, json_string_value(parent),
                                    json_string_value(item), path, where);
        }
    }
    bf_table_info_free(parent_info);
    json_decref(check);
    return status;
}

/*
 * Every table and column the brief names, checked against the warehouse
 * before anything is planned or counted: a typo is bad input naming the
 * JSON path and the name, never a plan of empty batches.
 */
static int check_names(bf_driver *driver, const bf_brief *brief, const char *path)
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
    int status;

    if (!table)
        return cli_fail(EXIT_USAGE, "%s: $.target.table: planning against a warehouse needs the "
                        "target table", path);
    if ((status = describe(&info, driver, table, path, "$.target.table")) != EXIT_DONE)
        return status;
    if ((column = bf_brief_time_column(brief)) != NULL)
        status = has_column(info, table, column, path, "$.target.time_column");
    for (size_t i = 0; status == EXIT_DONE && i < bf_brief_key_count(brief); i++) {
        snprintf(where, sizeof where, "$.target.key[%zu]", i);
        status = has_column(info, table, bf_brief_key(brief, i), path, where);
    }
    for (size_t i = 0; status == EXIT_DONE && i < bf_brief_column_count(brief); i++) {
        snprintf(where, sizeof where, "$.target.columns[%zu]", i);
        status = has_column(info, table, bf_brief_column(brief, i), path, where);
    }
    column = bf_brief_scope_column(brief);
    if (status == EXIT_DONE && column && (size_t)kind < sizeof scopes / sizeof scopes[0] && scopes[kind])
        status = has_column(info, table, column, path, scopes[kind]);
    for (size_t i = 0; status == EXIT_DONE && i < bf_brief_check_count(brief); i++)
        status = check_validation(driver, brief, info, i, path);
    bf_table_info_free(info);
    return status;
}

/* Each batch's rows in the target now; the caller frees *out with free(). */
static int count_rows(int64_t **out, bf_driver *driver, const char *table, const bf_plan *plan)
{
    bf_profile_spec count_only = BF_PROFILE_SPEC_INIT;
    size_t n = bf_plan_count(plan);
    int64_t *rows = calloc(n ? n : 1, sizeof *rows);
    int rc = rows ? BF_OK : BF_E_NOMEM;

    for (size_t i = 0; rc == BF_OK && i < n; i++) {
        bf_profile *profile = NULL;

        rc = bf_driver_profile(&profile, driver, table, &count_only, plan, bf_plan_batch(plan, i));
        if (rc == BF_OK)
            rows[i] = bf_profile_rows(profile);
        bf_profile_free(profile);
    }
    if (rc != BF_OK) {
        free(rows);
        return rc;
    }
    *out = rows;
    return BF_OK;
}

int cmd_plan(int argc, char **argv)
{
    const char *path, *warehouse = NULL;
    bf_brief *brief = NULL;
    bf_planner *planner = NULL;
    bf_plan *plan = NULL;
    bf_driver *driver = NULL;
    struct boundaries kb = {0};
    int64_t *rows = NULL, per_batch;
    int status, rc;

    warehouse = cli_opt("warehouse");
    status = cli_open_brief(&brief, &path, argc, argv, USAGE);
    if (status != EXIT_DONE)
        return status;
    rc = bf_planner_new_from_brief(&planner, brief);
    if (rc == BF_OK && warehouse) {
        rc = bf_driver_open_sqlite(&driver, warehouse, 0);
        if (rc != BF_OK) {
            status = cli_fail_bf(rc, warehouse);
            goto done;
        }
        if ((status = check_names(driver, brief, path)) != EXIT_DONE)
            goto done;
    }
    if (rc == BF_OK && bf_brief_scope_kind(brief) == BF_SCOPE_KEYS &&
        bf_brief_rows_per_batch(&per_batch, brief) == BF_OK) {
        if (!driver) {
            status = cli_fail(EXIT_USAGE,
                              "%s: $.batching.rows_per_batch: finding key boundaries reads the "
                              "warehouse: give --warehouse DB",
                              path);
            goto done;
        }
        kb.driver = driver;
        kb.table = bf_brief_target_table(brief);
        kb.column = bf_brief_scope_column(brief);
        rc = bf_planner_set_rows_per_batch(planner, per_batch, next_boundary, &kb);
    }
    if (rc == BF_OK)
        rc = bf_planner_plan(&plan, planner);
    if (rc == BF_OK)
        rc = bf_plan_verify(plan, planner);
    if (rc == BF_OK && driver)
        rc = count_rows(&rows, driver, bf_brief_target_table(brief), plan);
    if (rc != BF_OK)
        status = cli_fail_bf(rc, driver && bf_driver_last_error_code(driver) ? warehouse : path);
    else
        status = cli_json ? print_json(brief, plan, rows) : print_text(brief, plan, rows);
done:
    free(rows);
    bf_free(kb.keys);
    bf_driver_free(driver);
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_brief_free(brief);
    return status;
}
