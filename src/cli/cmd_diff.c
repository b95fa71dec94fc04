/*
 * backfill diff TABLE --against OTHER --key a,b --warehouse DB: rows added,
 * removed and changed by key between two tables. OTHER holds the rows
 * before (a batch's snapshot, a copy); its segment fingerprints are
 * captured, TABLE's compared with them, and only differing segments read.
 *
 * backfill diff RUN --ledger FILE --warehouse DB [--batch ID]: the same per
 * batch of a run, against the before-state the host recorded in the ledger
 * (bf_run_record_before_state) and the batch's snapshot table when the
 * publish kept one. --ledger is what tells the forms apart: with it the
 * argument is a run (an id or a brief name), without it a table.
 * Exit 4 when a batch has no recorded before-state yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* The usage line of each form, as a usage error quotes it after "(usage: backfill ". */
#define RUN_USAGE "diff RUN --ledger FILE --warehouse DB [--batch ID] [--samples N] [--json]"
#define USAGE "diff TABLE --against OTHER --key a,b --warehouse DB [--tolerance col=x,...] " \
              "[--samples N] [--segments N] [--metric EXPR [--group-by EXPR]] [--json]"

/* Split "a,b,c" in place; returns the count, or -1 for an empty name. */
static int split(char *list, char ***out)
{
    size_t n = 1;
    char **names;

    for (const char *p = list; *p; p++)
        n += *p == ',';
    names = calloc(n, sizeof *names);
    if (!names)
        return -1;
    for (size_t i = 0; i < n; i++) {
        names[i] = list;
        list = strchr(list, ',');
        if (list)
            *list++ = '\0';
        if (!names[i][0]) {
            free(names);
            return -1;
        }
    }
    *out = names;
    return (int)n;
}


static void print_value(const bf_value *v)
{
    char text[64];

    switch (v->type) {
    case BF_VALUE_INT:
        printf("%lld", (long long)v->i);
        break;
    case BF_VALUE_REAL:
        cli_real_text(text, sizeof text, v->r);
        printf("%s", text);
        break;
    case BF_VALUE_TEXT:
        printf("'%.*s'", (int)(v->len > 80 ? 80 : v->len), v->s);
        break;
    case BF_VALUE_BLOB:
        printf("<blob of %zu bytes>", v->len);
        break;
    default:
        printf("NULL");
    }
}

static void print_key(const bf_rows *rows, size_t r, const char *const *key, size_t kc)
{
    for (size_t k = 0; k < kc; k++)
        for (size_t c = 0; c < bf_rows_width(rows); c++)
            if (strcmp(bf_rows_column(rows, c), key[k]) == 0) {
                bf_value v;

                bf_rows_value(&v, rows, r, c);
                printf("%s%s=", k ? " " : "", key[k]);
                print_value(&v);
            }
}

static void print_text(const bf_diff *diff, const char *table, const char *against,
                       const char *const *key, size_t kc, size_t samples)
{
    static const char *const kinds[] = {NULL, "added", "removed", "changed"};

    printf("%s against %s: %lld added, %lld removed, %lld changed (%lld of %lld segments read)\n",
           table, against, (long long)bf_diff_count(diff, BF_DIFF_ADDED),
           (long long)bf_diff_count(diff, BF_DIFF_REMOVED),
           (long long)bf_diff_count(diff, BF_DIFF_CHANGED),
           (long long)bf_diff_segments_differing(diff), (long long)bf_diff_segments(diff));
    for (size_t c = 0; c < bf_diff_column_count(diff); c++)
        if (bf_diff_column_changes(diff, c))
            printf("  column %s: %lld changed\n", bf_diff_column_name(diff, c),
                   (long long)bf_diff_column_changes(diff, c));
    for (int kind = BF_DIFF_ADDED; kind <= BF_DIFF_CHANGED; kind++) {
        const bf_rows *rows = bf_diff_rows(diff, (bf_diff_kind)kind, 0);
        const bf_rows *now = bf_diff_rows(diff, (bf_diff_kind)kind, 1);

        for (size_t r = 0; r < bf_rows_count(rows) && r < samples; r++) {
            printf("  %s ", kinds[kind]);
            print_key(rows, r, key, kc);
            if (kind == BF_DIFF_CHANGED)
                for (size_t c = 0; c < bf_rows_width(rows); c++) {
                    bf_value a, b;

                    bf_rows_value(&a, rows, r, c);
                    bf_rows_value(&b, now, r, c);
                    if (a.type == b.type &&
                        (a.type == BF_VALUE_NULL || (a.type == BF_VALUE_INT && a.i == b.i) ||
                         (a.type == BF_VALUE_REAL && a.r == b.r) ||
                         ((a.type == BF_VALUE_TEXT || a.type == BF_VALUE_BLOB) && a.len == b.len &&
                          (!a.len || memcmp(a.s, b.s, a.len) == 0))))
                        continue;
                    printf(", %s: ", bf_rows_column(rows, c));
                    print_value(&a);
                    printf(" -> ");
                    print_value(&b);
                }
            printf("\n");
        }
    }
}

/* ---- backfill diff RUN ---- */

/* Diff one batch against its recorded before-state; prints or appends to out. */
static int diff_batch(json_t *out, bf_driver *d, const bf_brief *brief, const char *written,
                      const bf_plan *plan, const bf_batch *b, int64_t run_id, int64_t batch_id,
                      const char *label, const char *state_json, size_t samples)
{
    const char *table = bf_brief_target_table(brief);
    size_t kc = bf_brief_key_count(brief);
    const char **key = calloc(kc + 1, sizeof *key);
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    size_t snap_size = strlen(table) + 64;
    char *snap = malloc(snap_size), *text = NULL;
    int rc = BF_OK;

    if (!key || !snap) {
        free(key);
        free(snap);
        return cli_fail(EXIT_FAILURE_, "diff: out of memory");
    }
    /*
     * The run's snapshot tables (docs/driver.md) hold the batch's pre-image;
     * a publish that wrote only what differed (a merge, or an overwrite by
     * key) kept the pre-images of the keys it touched, listed beside them:
     * the rows of other keys are as they were.
     */
    snprintf(snap, snap_size, "%s__bf_snap_%lld", table, (long long)run_id);
    for (size_t k = 0; k < kc; k++)
        key[k] = bf_brief_key(brief, k);
    rc = bf_driver_snapshot_views(d, table, b, run_id, &o.before_table, &o.before_keys_table);
    if (rc != BF_OK && rc != BF_E_NOT_FOUND) {
        int status = cli_fail_code(rc, cli_exit_for(rc), "diff: batch %s (%lld): %s", label,
                                   (long long)batch_id, bf_last_error());
        free(snap);
        free(key);
        return status;
    }
    /* A run's copy of the target before its cutover: the target itself holds the rows before. */
    if (!o.before_table && strcmp(written, table) != 0)
        o.before_table = table;
    if ((rc = bf_diff_before_from_json(&before, state_json)) != BF_OK ||
        (rc = bf_diff_compute(&diff, d, written, key, kc, plan, b, before, &o)) != BF_OK ||
        (cli_json && (rc = bf_diff_to_json(&text, diff, samples)) != BF_OK)) {
        /* The rows differ and nothing holds those before them: say why, not the C option. */
        int status = rc == BF_E_UNSUPPORTED && !o.before_table
                         ? cli_fail_code(rc, EXIT_UNFINISHED, "diff: batch %s (%lld): its rows "
                                         "differ from the before-state recorded, but no snapshot "
                                         "of them is left (backfill cleanup drops them; a brief "
                                         "with write.snapshot false keeps none), so the changed "
                                         "rows cannot be shown; validate RUN still checks the "
                                         "batch", label, (long long)batch_id)
                         : cli_fail_code(rc, cli_exit_for(rc), "diff: batch %s (%lld): %s", label,
                                         (long long)batch_id, bf_last_error());
        bf_diff_free(diff);
        bf_diff_before_free(before);
        free(snap);
        free(key);
        return status;
    }
    if (cli_json) {
        json_t *j = cli_embedded_json(text);
        json_object_del(j, "format");
        json_object_set_new(j, "batch_id", json_integer(batch_id));
        json_object_set_new(j, "label", json_string(label));
        json_object_set_new(j, "against", o.before_table ? json_string(o.before_table == table
                                                                           ? table : snap)
                                                          : json_null());
        json_array_append_new(out, j);
        bf_free(text);
    } else {
        char subject[512];
        snprintf(subject, sizeof subject, "%s batch %s (%lld)", written, label,
                 (long long)batch_id);
        print_text(diff, subject, o.before_table ? (o.before_table == table ? table : snap)
                                                 : "its recorded before-state", key, kc, samples);
    }
    bf_diff_free(diff);
    bf_diff_before_free(before);
    free(snap);
    free(key);
    return EXIT_DONE;
}

static int diff_run(bf_ledger *ledger, bf_run *run, const char *warehouse, int64_t only,
                    size_t samples)
{
    bf_brief *brief = NULL;
    bf_driver *d = NULL;
    bf_plan *plan = NULL;
    bf_batch_list *bl = NULL;
    bf_run_view *view = NULL;
    json_t *batches = json_array(), *missing_ids = json_array();
    size_t missing = 0, seen = 0, diffed = 0;
    char *written = NULL;
    int status = cli_run_brief(&brief, ledger, run, "diff"), rc;

    if (status != EXIT_DONE)
        goto done;
    /* Before its cutover a staging_swap or parallel_version run wrote its copy, not the target. */
    if ((rc = bf_driver_open_sqlite(&d, warehouse, 0)) != BF_OK ||
        (rc = bf_run_check_warehouse(ledger, bf_run_id(run), d)) != BF_OK ||
        (rc = bf_run_written_table(&written, ledger, bf_run_id(run))) != BF_OK ||
        (rc = bf_driver_plan_brief(&plan, d, brief)) != BF_OK ||
        (rc = bf_run_batches(&bl, run, -1)) != BF_OK) {
        status = cli_fail_bf(rc, "diff");
        goto done;
    }
    if (strcmp(bf_plan_fingerprint(plan), bf_run_plan_fingerprint(run)) != 0) {
        status = cli_fail(EXIT_USAGE, "diff: the brief's plan against %s has fingerprint %s, "
                          "but run %lld was planned as %s: not the same batches", warehouse,
                          bf_plan_fingerprint(plan), (long long)bf_run_id(run),
                          bf_run_plan_fingerprint(run));
        goto done;
    }
    if ((rc = bf_run_view_new(&view, plan, run)) != BF_OK) {
        status = cli_fail_bf(rc, "diff");
        goto done;
    }
    for (size_t i = 0; i < bf_batch_list_count(bl); i++) {
        int state = bf_batch_list_state(bl, i);
        int64_t id = bf_batch_list_id(bl, i);
        const char *label = bf_batch_list_label(bl, i);
        const bf_batch *b = bf_run_view_batch(view, id); /* cut batches too */
        char *json = NULL;

        if (state == BF_BATCH_SPLIT || state == BF_BATCH_CANCELLED)
            continue;
        if (only && id != only)
            continue;
        seen++;
        if (!b) {
            status = cli_fail(EXIT_FAILURE_, "diff: batch %lld of run %lld is not in the run's "
                              "plan or in what the ledger cut from it", (long long)id,
                              (long long)bf_run_id(run));
            goto done;
        }
        rc = bf_run_before_state(&json, run, id);
        if (rc == BF_E_NOT_FOUND) {
            missing++;
            json_array_append_new(missing_ids, json_integer(id));
            if (!cli_json)
                printf("no before-state recorded yet for batch %s (%lld)\n", label,
                       (long long)id);
            continue;
        }
        if (rc != BF_OK) {
            status = cli_fail_bf(rc, "diff");
            goto done;
        }
        status = diff_batch(batches, d, brief, written, bf_run_view_plan(view), b, bf_run_id(run),
                            id, label, json, samples);
        bf_free(json);
        if (status != EXIT_DONE)
            goto done;
        diffed++;
    }
    if (only && !seen) {
        status = cli_fail(EXIT_USAGE, "diff: run %lld has no batch %lld (see backfill status)",
                          (long long)bf_run_id(run), (long long)only);
        goto done;
    }
    if (missing && !cli_json)
        fprintf(stderr, "backfill: diff: %zu batch%s of run %lld %s no recorded before-state "
                "yet\n", missing, missing == 1 ? "" : "es", (long long)bf_run_id(run),
                missing == 1 ? "has" : "have");
    status = missing ? EXIT_UNFINISHED : EXIT_DONE;
    if (cli_json)
        cli_print_json(json_pack("{s:I, s:s, s:s, s:I, s:O, s:O}", "run",
                                 (json_int_t)bf_run_id(run), "brief", bf_run_brief_name(run),
                                 "table", written, "diffed",
                                 (json_int_t)diffed, "missing_before_state", missing_ids,
                                 "batches", batches));
done:
    bf_free(written);
    json_decref(batches);
    json_decref(missing_ids);
    bf_batch_list_free(bl);
    bf_run_view_free(view);
    bf_plan_free(plan);
    bf_driver_free(d);
    bf_brief_free(brief);
    return status;
}

static int cmd_diff_run(int argc, char **argv)
{
    struct cli_ledger_args args;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    const char *warehouse = cli_opt("warehouse");
    long long samples = cli_opt_int("samples", 5), only = cli_opt_int("batch", 0);
    int status = EXIT_DONE;

    if (cli_opt("against") || cli_opt("key") || cli_opt("tolerance") || cli_opt("metric") ||
        cli_opt("group-by") || cli_opt("segments"))
        return cli_fail(EXIT_USAGE, "diff: with --ledger the argument is a run; --against, "
                        "--key, --tolerance, --segments and --metric belong to the TABLE form "
                        "(usage: backfill " RUN_USAGE ")");
    status = cli_ledger_args(&args, argc, argv, 1, 0);
    if (status == EXIT_DONE && !warehouse)
        status = cli_fail(EXIT_USAGE, "diff: --warehouse DB is required (usage: backfill "
                          RUN_USAGE ")");
    if (status == EXIT_DONE)
        status = cli_ledger_open(&ledger, args.ledger_path);
    if (status == EXIT_DONE)
        status = cli_run_open(&run, ledger, args.run_ref);
    if (status == EXIT_DONE)
        status = diff_run(ledger, run, warehouse, (int64_t)only, (size_t)samples);
    bf_run_free(run);
    bf_ledger_close(ledger);
    return status;
}

int cmd_diff(int argc, char **argv)
{
    const char *table = NULL, *warehouse = cli_opt("warehouse"), *against = cli_opt("against");
    const char *metric = cli_opt("metric"), *group_by = cli_opt("group-by");
    char *key_list = (char *)cli_opt("key"), *tol_list = (char *)cli_opt("tolerance");
    char **key = NULL, **tol = NULL;
    double *tols = NULL;
    long long samples = cli_opt_int("samples", 5), segments = cli_opt_int("segments", 0);
    int kc = 0, tc = 0, rc, status = EXIT_DONE;
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    bf_diff_explained *ex = NULL;
    bf_driver *d = NULL;

    if (cli_opt("ledger"))
        return cmd_diff_run(argc, argv);
    if (cli_opt("batch"))
        return cli_fail(EXIT_USAGE, "diff: --batch needs --ledger (usage: backfill " RUN_USAGE
                        ")");
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_fail(EXIT_USAGE, "diff: unknown option '%s' (usage: backfill " USAGE ")",
                            argv[i]);
        else if (!table)
            table = argv[i];
        else
            return cli_fail(EXIT_USAGE, "diff: one table only ('%s' is extra)", argv[i]);
    }
    if (!table || !warehouse || !against || !key_list)
        return cli_fail(EXIT_USAGE, "diff: %s (usage: backfill " USAGE ")",
                        !table      ? "which table?"
                        : !against  ? "--against OTHER is required"
                        : !key_list ? "--key a,b is required"
                                    : "--warehouse DB is required");
    if (group_by && !metric)
        return cli_fail(EXIT_USAGE, "diff: --group-by needs --metric");
    if ((kc = split(key_list, &key)) < 0)
        return cli_fail(EXIT_USAGE, "diff: --key needs names separated by commas");
    if (tol_list && (tc = split(tol_list, &tol)) < 0) {
        free(key);
        return cli_fail(EXIT_USAGE, "diff: --tolerance needs col=x pairs separated by commas");
    }
    tols = calloc((size_t)tc + 1, sizeof *tols);
    for (int i = 0; tols && i < tc; i++) {
        char *eq = strchr(tol[i], '=');
        json_t *number;

        if (!eq || eq == tol[i]) {
            status = cli_fail(EXIT_USAGE, "diff: --tolerance needs col=x, not '%s'", tol[i]);
            goto done;
        }
        *eq = '\0';
        /* Read as JSON, in the "C" locale: "0.5" whatever LC_NUMERIC says. */
        number = cli_embedded_json(eq + 1);
        tols[i] = json_is_number(number) ? json_number_value(number) : -1;
        json_decref(number);
        if (!(tols[i] >= 0)) {
            status = cli_fail(EXIT_USAGE, "diff: --tolerance %s: '%s' is not a number >= 0", tol[i],
                              eq + 1);
            goto done;
        }
    }
    if ((rc = bf_driver_open_sqlite(&d, warehouse, 0)) != BF_OK) {
        status = cli_fail_bf(rc, NULL);
        goto done;
    }
    o.segments = segments;
    o.before_table = against;
    o.tolerance_columns = (const char *const *)tol;
    o.tolerances = tols;
    o.tolerance_count = (size_t)tc;
    if ((rc = bf_diff_capture(&before, d, against, (const char *const *)key, (size_t)kc, NULL,
                              NULL, &o)) != BF_OK ||
        (rc = bf_diff_compute(&diff, d, table, (const char *const *)key, (size_t)kc, NULL, NULL,
                              before, &o)) != BF_OK ||
        (metric && (rc = bf_diff_explain(&ex, diff, d, NULL, NULL, metric, group_by, 10)) != BF_OK)) {
        status = cli_fail_code(rc, cli_exit_for(rc), "%s", bf_last_error());
        goto done;
    }
    if (cli_json) {
        char *text = NULL;
        json_t *out;

        if (bf_diff_to_json(&text, diff, (size_t)samples) != BF_OK) {
            status = cli_fail_bf(bf_last_error_code(), NULL);
            goto done;
        }
        out = cli_embedded_json(text);
        bf_free(text);
        json_object_set_new(out, "against", json_string(against));
        if (ex && bf_diff_explained_to_json(&text, ex) == BF_OK) {
            json_object_set_new(out, "explained", cli_embedded_json(text));
            bf_free(text);
        }
        cli_print_json(out);
        goto done;
    }
    print_text(diff, table, against, (const char *const *)key, (size_t)kc, (size_t)samples);
    if (ex) {
        static const char *const parts[] = {NULL, "before", "after", "delta", "added", "removed",
                                             "changed"};

        printf("%s:", metric);
        for (int p = BF_DIFF_PART_BEFORE; p <= BF_DIFF_PART_CHANGED; p++) {
            bf_value v;

            bf_diff_explained_value(&v, ex, (bf_diff_part)p);
            printf(" %s ", parts[p]);
            print_value(&v);
        }
        printf("\n");
        for (size_t g = 0; g < bf_diff_explained_group_count(ex); g++) {
            bf_value gv, cv;

            bf_diff_explained_group(&gv, &cv, ex, g);
            printf("  group ");
            print_value(&gv);
            printf(": ");
            print_value(&cv);
            printf("\n");
        }
    }
done:
    bf_diff_explained_free(ex);
    bf_diff_free(diff);
    bf_diff_before_free(before);
    bf_driver_free(d);
    free(key);
    free(tol);
    free(tols);
    return status;
}
