/*
 * backfill status [RUN] --ledger FILE: every run of the ledger, or one run's
 * batches by state, its failed batches with their errors, and the ETA.
 * Exit 0 when the run has nothing left to do, 4 when it is not finished.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Parse library JSON text (freeing it); NULL when it does not parse. */
static json_t *take_json(char *text)
{
    json_t *v = json_loads(text, 0, NULL);

    bf_free(text);
    return v;
}

static void print_duration(double s)
{
    long total = (long)(s + 0.5);

    if (s < 0)
        printf("unknown");
    else if (total >= 3600)
        printf("%ldh %02ldm %02lds", total / 3600, total / 60 % 60, total % 60);
    else if (total >= 60)
        printf("%ldm %02lds", total / 60, total % 60);
    else /* tenths by hand: "%.1f" would print a decimal comma in some locales */
        printf("%ld.%lds", (long)(s * 10 + 0.5) / 10, (long)(s * 10 + 0.5) % 10);
}

static int list_runs(bf_ledger *ledger)
{
    char *text;
    json_t *runs, *run;
    size_t i;
    int rc = bf_ledger_runs_json(&text, ledger);

    if (rc != BF_OK)
        return cli_fail_bf(rc, NULL);
    runs = take_json(text);
    if (!runs)
        return cli_fail(EXIT_FAILURE_, "status: cannot read the list of runs");
    if (cli_json) {
        json_array_foreach(runs, i, run)
            json_object_del(run, "brief_json");
        cli_print_json_as("backfill-run-list/1", json_pack("{s:o}", "runs", runs));
        return EXIT_DONE;
    }
    if (json_array_size(runs) == 0)
        printf("no runs in %s\n", bf_ledger_path(ledger));
    else
        printf("%-6s %-32s %-4s %-18s %s\n", "RUN", "BRIEF", "#", "STATE", "BATCHES");
    json_array_foreach(runs, i, run) {
        printf("%-6lld %-32s %-4lld %-18s %lld\n",
               (long long)json_integer_value(json_object_get(run, "id")),
               json_string_value(json_object_get(run, "brief")),
               (long long)json_integer_value(json_object_get(run, "seq")),
               json_string_value(json_object_get(run, "state")),
               (long long)json_integer_value(json_object_get(run, "batches")));
    }
    json_decref(runs);
    return EXIT_DONE;
}

/* The exit status of a run's status: nothing left to do, or not finished. */
static int run_exit(const bf_progress *p)
{
    if (p->state == BF_RUN_PAUSED || p->state == BF_RUN_CANCELLED || p->state == BF_RUN_FAILED ||
        p->pending + p->running + p->failed > 0)
        return EXIT_UNFINISHED;
    return EXIT_DONE;
}

static json_t *progress_json(const bf_progress *p)
{
    return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f, s:o}", "total",
                     (json_int_t)p->total, "pending", (json_int_t)p->pending, "running",
                     (json_int_t)p->running, "completed", (json_int_t)p->completed, "validated",
                     (json_int_t)p->validated, "failed", (json_int_t)p->failed, "cancelled",
                     (json_int_t)p->cancelled, "rolled_back", (json_int_t)p->rolled_back, "split",
                     (json_int_t)p->split, "rows_written", (json_int_t)p->rows_written,
                     "rows_deleted", (json_int_t)p->rows_deleted, "elapsed_s", p->elapsed_s,
                     "eta_s", p->eta_s < 0 ? json_null() : json_real(p->eta_s));
}

static void print_run(bf_run *run, const bf_progress *p, json_t *failed)
{
    json_t *b;
    size_t i;

    printf("run %lld (%s #%lld): %s\n", (long long)bf_run_id(run), bf_run_brief_name(run),
           (long long)bf_run_seq(run), bf_run_state_name(p->state));
    printf("  plan %s\n", bf_run_plan_fingerprint(run));
    printf("  batches: %lld total: %lld pending, %lld running, %lld completed, %lld validated, "
           "%lld failed, %lld cancelled, %lld rolled back",
           (long long)p->total, (long long)p->pending, (long long)p->running,
           (long long)p->completed, (long long)p->validated, (long long)p->failed,
           (long long)p->cancelled, (long long)p->rolled_back);
    if (p->split)
        printf(" (%lld split in two)", (long long)p->split);
    printf("\n  rows: %lld written, %lld deleted\n", (long long)p->rows_written,
           (long long)p->rows_deleted);
    printf("  elapsed ");
    print_duration(p->elapsed_s);
    printf(", ETA ");
    print_duration(p->eta_s);
    printf("\n");
    if (json_array_size(failed) == 0)
        return;
    printf("failed batches:\n");
    json_array_foreach(failed, i, b) {
        printf("  %s (batch %lld, attempt %lld): %s\n",
               json_string_value(json_object_get(b, "label")),
               (long long)json_integer_value(json_object_get(b, "id")),
               (long long)json_integer_value(json_object_get(b, "attempt")),
               json_is_string(json_object_get(b, "error"))
                   ? json_string_value(json_object_get(b, "error"))
                   : "(no message)");
    }
}

static int show_run(bf_ledger *ledger, const char *ref)
{
    bf_progress p = BF_PROGRESS_INIT;
    bf_run *run = NULL;
    json_t *failed = NULL;
    char *text;
    int status = cli_run_open(&run, ledger, ref);
    int rc;

    if (status != EXIT_DONE)
        return status;
    rc = bf_run_progress(&p, run);
    if (rc == BF_OK)
        rc = bf_run_batches_json(&text, run, BF_BATCH_FAILED);
    if (rc != BF_OK) {
        status = cli_fail_bf(rc, NULL);
        bf_run_free(run);
        return status;
    }
    failed = take_json(text);
    if (!failed) {
        bf_run_free(run);
        return cli_fail(EXIT_FAILURE_, "status: cannot read the failed batches");
    }
    if (cli_json)
        cli_print_json(json_pack("{s:I, s:s, s:I, s:s, s:s, s:o, s:O}", "run",
                                 (json_int_t)bf_run_id(run), "brief", bf_run_brief_name(run), "seq",
                                 (json_int_t)bf_run_seq(run), "state", bf_run_state_name(p.state),
                                 "plan_fingerprint", bf_run_plan_fingerprint(run), "progress",
                                 progress_json(&p), "failed", failed));
    else
        print_run(run, &p, failed);
    json_decref(failed);
    status = run_exit(&p);
    bf_run_free(run);
    return status;
}

int cmd_status(int argc, char **argv)
{
    struct cli_ledger_args args;
    bf_ledger *ledger = NULL;
    int status = cli_ledger_args(&args, argc, argv, 0, 0);

    if (status == EXIT_DONE)
        status = cli_ledger_open(&ledger, args.ledger_path);
    if (status == EXIT_DONE)
        status = args.run_ref ? show_run(ledger, args.run_ref) : list_runs(ledger);
    bf_ledger_close(ledger);
    return status;
}
