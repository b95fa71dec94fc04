/*
 * backfill test-slice BRIEF --warehouse DB [--ledger FILE] [--batches N]
 *
 * Runs a few representative batches of the brief into scratch copies of
 * their rows through bf_runner_test_slice: each chosen batch with why, its
 * rows, duration, checks and whether a rerun changes anything; then the
 * whole plan's estimate. The target is never written. Exit 0 when every
 * check passed and every batch is idempotent, 3 when not, 2 for bad input.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* 90 -> "90s", 5400 -> "1h30m"; the estimate as a person reads it. */
static void duration_text(char *out, size_t size, double s)
{
    char real[40];

    if (s < 90) {
        cli_real_text(real, sizeof real, (double)(long long)(s * 1000 + 0.5) / 1000);
        snprintf(out, size, "%ss", real);
    } else if (s < 5400) {
        snprintf(out, size, "%lldm%02llds", (long long)(s + 0.5) / 60, (long long)(s + 0.5) % 60);
    } else {
        snprintf(out, size, "%lldh%02lldm", (long long)(s + 0.5) / 3600,
                 ((long long)(s + 0.5) % 3600) / 60);
    }
}

static void print_slice(const json_t *o)
{
    const json_t *b, *est = json_object_get(o, "estimate");
    size_t i;
    char text[64];

    printf("test slice of %s (run %lld): %zu batches\n",
           json_string_value(json_object_get(o, "brief")),
           (long long)json_integer_value(json_object_get(o, "run")),
           json_array_size(json_object_get(o, "batches")));
    json_array_foreach(json_object_get(o, "batches"), i, b) {
        const json_t *checks = json_object_get(b, "checks");

        duration_text(text, sizeof text, json_number_value(json_object_get(b, "duration_s")));
        printf("batch %s (%s): %lld rows, %lld read, %lld written in %s; ",
               json_string_value(json_object_get(b, "label")),
               json_string_value(json_object_get(b, "reason")),
               (long long)json_integer_value(json_object_get(b, "rows")),
               (long long)json_integer_value(json_object_get(b, "rows_read")),
               (long long)json_integer_value(json_object_get(b, "rows_written")), text);
        if (json_is_object(checks))
            printf("checks %s (%lld pass, %lld warn, %lld fail, %lld error, %lld skipped)",
                   json_string_value(json_object_get(checks, "status")),
                   (long long)json_integer_value(json_object_get(checks, "pass")),
                   (long long)json_integer_value(json_object_get(checks, "warn")),
                   (long long)json_integer_value(json_object_get(checks, "fail")),
                   (long long)json_integer_value(json_object_get(checks, "error")),
                   (long long)json_integer_value(json_object_get(checks, "skipped")));
        else
            printf("no checks");
        printf("; idempotent: %s\n", json_is_true(json_object_get(b, "idempotent")) ? "yes" : "no");
        if (json_is_object(checks) && json_is_string(json_object_get(checks, "failure")))
            printf("  failed: %s\n", json_string_value(json_object_get(checks, "failure")));
        if (!json_is_true(json_object_get(b, "idempotent")))
            printf("  rerun: %s\n", json_string_value(json_object_get(b, "idempotency")));
    }
    duration_text(text, sizeof text, json_number_value(json_object_get(est, "seconds")));
    printf("estimate: about %s for %lld batches, %lld rows\n", text,
           (long long)json_integer_value(json_object_get(est, "batches")),
           (long long)json_integer_value(json_object_get(est, "rows")));
    json_array_foreach(json_object_get(o, "findings"), i, b)
        printf("%s %s: %s\n", json_string_value(json_object_get(b, "severity")),
               json_string_value(json_object_get(b, "code")),
               json_string_value(json_object_get(b, "message")));
}

int cmd_test_slice(int argc, char **argv)
{
    bf_runner_options opts = BF_RUNNER_OPTIONS_INIT;
    bf_brief *brief = NULL;
    bf_runner *r = NULL;
    const char *path;
    char *default_ledger = NULL, *text = NULL;
    json_t *o = NULL;
    int status, rc;

    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    opts.warehouse_path = cli_opt("warehouse");
    opts.ledger_path = cli_opt("ledger");
    if (!opts.warehouse_path) {
        status = cli_fail(EXIT_USAGE, "test-slice: --warehouse DB is required (usage: backfill "
                          "%s)", cli_usage());
        goto done;
    }
    /* Bad input changes nothing: no ledger is created for a blocked brief or a bad warehouse. */
    if ((status = cli_warehouse_check(NULL, "test-slice", opts.warehouse_path)) != EXIT_DONE ||
        (status = cli_refuse_blocked("test-slice", brief)) != EXIT_DONE)
        goto done;
    if (!opts.ledger_path) {
        default_ledger = malloc(strlen(opts.warehouse_path) + 8);
        if (!default_ledger) {
            status = cli_fail(EXIT_FAILURE_, "test-slice: out of memory");
            goto done;
        }
        sprintf(default_ledger, "%s.ledger", opts.warehouse_path);
        opts.ledger_path = default_ledger;
    }
    if ((rc = bf_runner_new(&r, &opts)) != BF_OK || (rc = bf_runner_set_brief(r, brief)) != BF_OK) {
        status = cli_fail_bf(rc, "test-slice");
        goto done;
    }
    rc = bf_runner_test_slice(&text, r, (size_t)cli_opt_int("batches", 0));
    if (text)
        o = cli_embedded_json(text);
    if (!o) {
        status = cli_fail_code(rc != BF_OK ? rc : BF_E_INTERNAL,
                               cli_exit_for(rc != BF_OK ? rc : BF_E_INTERNAL), "test-slice: %s",
                               rc != BF_OK ? bf_runner_last_error(r) : "no result");
        goto done;
    }
    if (cli_json)
        cli_print_json(json_incref(o));
    else
        print_slice(o);
    if (rc != BF_OK) {
        fflush(stdout);
        fprintf(stderr, "backfill: test-slice: %s\n", bf_runner_last_error(r));
        status = EXIT_BLOCKED;
    } else {
        status = EXIT_DONE;
    }
done:
    json_decref(o);
    bf_free(text);
    bf_runner_free(r);
    bf_brief_free(brief);
    free(default_ledger);
    return status;
}
