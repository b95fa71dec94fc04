/*
 * backfill plan BRIEF [--json]: the pinned batch plan of a brief, as a dry
 * run: every batch with its label and bound parameters, the fingerprint,
 * and a summary line with the count and the first and last bounds.
 */
#include <inttypes.h>
#include <string.h>

#include "cli.h"

#define USAGE "BRIEF [--json]"

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

static int print_text(const bf_brief *brief, const bf_plan *plan)
{
    size_t n = bf_plan_count(plan);

    printf("plan %s: %zu batches by %s on %s, fingerprint %s\n", bf_brief_name(brief)
           ? bf_brief_name(brief) : "(unnamed)", n, bf_dimension_name(bf_plan_dimension(plan)),
           bf_plan_column(plan), bf_plan_fingerprint(plan));
    for (size_t i = 0; i < n; i++) {
        const bf_batch *b = bf_plan_batch(plan, i);

        printf("%6zu  ", i);
        print_bounds(stdout, b);
        putchar('\n');
    }
    printf("%zu batches; first ", n);
    print_bounds(stdout, bf_plan_batch(plan, 0));
    fputs("; last ", stdout);
    print_bounds(stdout, bf_plan_batch(plan, n - 1));
    putchar('\n');
    return EXIT_DONE;
}

static json_t *batch_json(const bf_batch *b)
{
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
    o = json_pack("{s:I, s:s, s:I, s:I, s:o*}", "ordinal", (json_int_t)bf_batch_ordinal(b),
                  "label", bf_batch_label(b), "lo", (json_int_t)bf_batch_lo(b), "hi",
                  (json_int_t)bf_batch_hi(b), "params", params);
    return o;
}

static int print_json(const bf_brief *brief, const bf_plan *plan)
{
    size_t n = bf_plan_count(plan);
    json_t *batches = json_array();
    json_t *out;

    for (size_t i = 0; batches && i < n; i++)
        json_array_append_new(batches, batch_json(bf_plan_batch(plan, i)));
    out = json_pack("{s:s?, s:s, s:s, s:s, s:I, s:o, s:o, s:o*}", "brief", bf_brief_name(brief),
                    "dimension", bf_dimension_name(bf_plan_dimension(plan)), "column",
                    bf_plan_column(plan), "fingerprint", bf_plan_fingerprint(plan), "count",
                    (json_int_t)n, "first", batch_json(bf_plan_batch(plan, 0)), "last",
                    batch_json(bf_plan_batch(plan, n - 1)), "batches", batches);
    if (!out)
        return cli_fail(EXIT_FAILURE_, "plan: out of memory writing JSON");
    cli_print_json(out);
    return EXIT_DONE;
}

int cmd_plan(int argc, char **argv)
{
    const char *path;
    bf_brief *brief = NULL;
    bf_planner *planner = NULL;
    bf_plan *plan = NULL;
    int64_t rows;
    int status, rc;

    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "--warehouse") == 0 || strncmp(argv[i], "--warehouse=", 12) == 0)
            return cli_fail(EXIT_USAGE,
                            "plan: --warehouse is not available yet: estimating rows per batch "
                            "needs the warehouse driver");
    status = cli_brief_args(argc, argv, &path, USAGE);
    if (status == EXIT_DONE)
        status = cli_load_brief(&brief, path);
    if (status != EXIT_DONE)
        return status;
    if (bf_brief_scope_kind(brief) == BF_SCOPE_KEYS &&
        bf_brief_rows_per_batch(&rows, brief) == BF_OK) {
        bf_brief_free(brief);
        return cli_fail(EXIT_USAGE,
                        "%s: $.batching.rows_per_batch: finding key boundaries needs the "
                        "warehouse (--warehouse), which this build cannot read yet; use "
                        "batching.width",
                        path);
    }
    rc = bf_planner_new_from_brief(&planner, brief);
    if (rc == BF_OK)
        rc = bf_planner_plan(&plan, planner);
    if (rc == BF_OK)
        rc = bf_plan_verify(plan, planner);
    if (rc != BF_OK)
        status = cli_fail_bf(rc, path);
    else
        status = cli_json ? print_json(brief, plan) : print_text(brief, plan);
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_brief_free(brief);
    return status;
}
