/*
 * backfill diff TABLE --against OTHER --key a,b --warehouse DB: rows added,
 * removed and changed by key between two tables. OTHER holds the rows
 * before (a batch's snapshot, a copy); its segment fingerprints are
 * captured, TABLE's compared with them, and only differing segments read.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define USAGE "usage: backfill diff TABLE --against OTHER --key a,b --warehouse DB " \
              "[--tolerance col=x,...] [--samples N] [--segments N] [--metric EXPR " \
              "[--group-by EXPR]] [--json]"

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

static int parse_count(const char *text, long *out)
{
    char *end;

    if (!text)
        return 1;
    *out = strtol(text, &end, 10);
    return *end == '\0' && *out >= 0 && end != text;
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

static void print_key(const bf_rows *rows, size_t r, char **key, size_t kc)
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

static void print_text(const bf_diff *diff, const char *table, const char *against, char **key,
                       size_t kc, size_t samples)
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

int cmd_diff(int argc, char **argv)
{
    const char *table = NULL, *warehouse = cli_opt("warehouse"), *against = cli_opt("against");
    const char *metric = cli_opt("metric"), *group_by = cli_opt("group-by");
    char *key_list = (char *)cli_opt("key"), *tol_list = (char *)cli_opt("tolerance");
    char **key = NULL, **tol = NULL;
    double *tols = NULL;
    long samples = 5, segments = 0;
    int kc = 0, tc = 0, rc, status = EXIT_DONE;
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    bf_diff_explained *ex = NULL;
    bf_driver *d = NULL;

    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_fail(EXIT_USAGE, "diff: unknown option '%s'", argv[i]);
        else if (!table)
            table = argv[i];
        else
            return cli_fail(EXIT_USAGE, "diff: one table only ('%s' is extra)", argv[i]);
    }
    if (!table || !warehouse || !against || !key_list)
        return cli_fail(EXIT_USAGE, USAGE);
    if (!parse_count(cli_opt("samples"), &samples) || !parse_count(cli_opt("segments"), &segments))
        return cli_fail(EXIT_USAGE, "diff: --samples and --segments take a whole number");
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
    print_text(diff, table, against, key, (size_t)kc, (size_t)samples);
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
