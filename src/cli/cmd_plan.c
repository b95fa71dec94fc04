/*
 * backfill plan BRIEF [--warehouse DB] [--json]: the pinned batch plan of a
 * brief, as a dry run: every batch with its label and bound parameters, the
 * fingerprint, and a summary line with the count and the first and last
 * bounds. With a warehouse, each batch's current row count in the target
 * (the rows it will rewrite), and key boundaries for rows_per_batch briefs:
 * bf_driver_plan_brief() and bf_driver_count_batches(), which any host can
 * call. Nothing is written.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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
                            : v.type == BF_VALUE_REAL ? json_real(v.r)
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

/*
 * The pin the plan was sealed with, which bf_plan_from_json() needs to read
 * the plan back (the bindings' Plan.from_json, PlanFromJSON): only
 * bf_plan_to_json() gives it. NULL when out of memory.
 */
static json_t *pin_json(const bf_plan *plan)
{
    char *text = NULL;
    json_t *doc, *pin;

    if (bf_plan_to_json(&text, plan) != BF_OK)
        return NULL;
    doc = cli_embedded_json(text);
    bf_free(text);
    pin = json_incref(json_object_get(doc, "pin"));
    json_decref(doc);
    return pin;
}

/* What bf_plan_to_json() writes, so bf_plan_from_json() reads it, and more for a reader. */
static int print_json(const bf_brief *brief, const bf_plan *plan, const int64_t *rows)
{
    size_t n = bf_plan_count(plan);
    json_t *batches = json_array();
    json_t *out;

    for (size_t i = 0; batches && i < n; i++)
        json_array_append_new(batches, batch_json(bf_plan_batch(plan, i), rows));
    out = json_pack("{s:s?, s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:o*}", "brief",
                    bf_brief_name(brief), "dimension", bf_dimension_name(bf_plan_dimension(plan)),
                    "column", bf_plan_column(plan), "fingerprint", bf_plan_fingerprint(plan),
                    "pin", pin_json(plan), "count", (json_int_t)n, "first",
                    batch_json(bf_plan_batch(plan, 0), rows), "last",
                    batch_json(bf_plan_batch(plan, n - 1), rows), "batches", batches);
    if (out && rows)
        json_object_set_new(out, "rows", json_integer(total_rows(rows, n)));
    if (!out)
        return cli_fail(EXIT_FAILURE_, "plan: out of memory writing JSON");
    cli_print_json(out);
    return EXIT_DONE;
}

int cmd_plan(int argc, char **argv)
{
    const char *path, *warehouse = NULL;
    bf_brief *brief = NULL;
    bf_planner *planner = NULL;
    bf_plan *plan = NULL;
    bf_driver *driver = NULL;
    int64_t *rows = NULL, per_batch;
    int status, rc;

    warehouse = cli_opt("warehouse");
    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    /* The brief's own faults come first, whether or not a warehouse is given. */
    rc = bf_planner_new_from_brief(&planner, brief);
    if (rc == BF_OK && warehouse) {
        rc = bf_driver_open_sqlite(&driver, warehouse, 0);
        if (rc != BF_OK) {
            status = cli_fail_bf(rc, warehouse);
            goto done;
        }
        /* Names checked, key boundaries walked, plan pinned and verified: the library's. */
        rc = bf_driver_plan_brief(&plan, driver, brief);
        if (rc == BF_OK) {
            size_t n = bf_plan_count(plan);

            rows = calloc(n ? n : 1, sizeof *rows);
            rc = rows ? bf_driver_count_batches(rows, driver, plan, bf_brief_target_table(brief))
                      : BF_E_NOMEM;
        }
    } else if (rc == BF_OK) {
        if (bf_brief_scope_kind(brief) == BF_SCOPE_KEYS &&
            bf_brief_rows_per_batch(&per_batch, brief) == BF_OK) {
            status = cli_fail(EXIT_USAGE,
                              "%s: $.batching.rows_per_batch: finding key boundaries reads the "
                              "warehouse: give --warehouse DB",
                              path);
            goto done;
        }
        rc = bf_planner_plan(&plan, planner);
        if (rc == BF_OK)
            rc = bf_plan_verify(plan, planner);
    }
    if (rc != BF_OK)
        status = cli_fail_bf(rc, driver && bf_driver_last_error_code(driver) ? warehouse : path);
    else
        status = cli_json ? print_json(brief, plan, rows) : print_text(brief, plan, rows);
done:
    free(rows);
    bf_driver_free(driver);
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_brief_free(brief);
    return status;
}
