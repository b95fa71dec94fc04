/*
 * backfill status [RUN] --ledger FILE: every run of the ledger, or one run's
 * batches by state, its failed batches with their errors, and the ETA.
 * Exit 0 when the run has nothing left to do, 4 when it is not finished.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

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

/* One run of the list as JSON: the fields of bf_ledger_runs_json() but the brief. */
static json_t *run_json(const bf_run_list *l, size_t i)
{
    return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:I, s:I, s:f, s:f, "
                     "s:I, s:I, s:I, s:I, s:I}",
                     "id", (json_int_t)bf_run_list_id(l, i), "brief", bf_run_list_brief_name(l, i),
                     "seq", (json_int_t)bf_run_list_seq(l, i), "state",
                     bf_run_state_name((bf_run_state)bf_run_list_state(l, i)), "plan_fingerprint",
                     bf_run_list_plan_fingerprint(l, i), "dimension",
                     bf_dimension_name(bf_run_list_dimension(l, i)), "column",
                     bf_run_list_column(l, i), "code_version", bf_run_list_code_version(l, i),
                     "operator", bf_run_list_operator(l, i), "params",
                     cli_embedded_json(bf_run_list_params_json(l, i)), "max_concurrency",
                     (json_int_t)bf_run_list_max_concurrency(l, i), "max_attempts",
                     (json_int_t)bf_run_list_max_attempts(l, i), "retry_backoff_s",
                     (double)bf_run_list_retry_backoff_us(l, i) / 1e6, "lease_s",
                     (double)bf_run_list_lease_us(l, i) / 1e6, "batches",
                     (json_int_t)bf_run_list_batch_count(l, i), "created_at_us",
                     (json_int_t)bf_run_list_created_at(l, i), "started_at_us",
                     (json_int_t)bf_run_list_started_at(l, i), "updated_at_us",
                     (json_int_t)bf_run_list_updated_at(l, i), "finished_at_us",
                     (json_int_t)bf_run_list_finished_at(l, i));
}

static int print_runs_json(const bf_run_list *list)
{
    json_t *runs = json_array();

    for (size_t i = 0; runs && i < bf_run_list_count(list); i++) {
        json_t *run = run_json(list, i);

        if (!run || json_array_append_new(runs, run) != 0) {
            json_decref(runs);
            runs = NULL;
        }
    }
    if (!runs)
        return cli_fail(EXIT_FAILURE_, "status: cannot read the list of runs");
    cli_print_json_as("backfill-run-list/1", json_pack("{s:o}", "runs", runs));
    return EXIT_DONE;
}

static int list_runs(bf_ledger *ledger)
{
    bf_run_list *list;
    size_t n;
    int status = EXIT_DONE;
    int rc = bf_ledger_runs(&list, ledger, NULL);

    if (rc != BF_OK)
        return cli_fail_bf(rc, NULL);
    n = bf_run_list_count(list);
    if (cli_json) {
        status = print_runs_json(list);
        bf_run_list_free(list);
        return status;
    }
    if (n == 0)
        printf("no runs in %s\n", bf_ledger_path(ledger));
    else
        printf("%-6s %-32s %-4s %-18s %s\n", "RUN", "BRIEF", "#", "STATE", "BATCHES");
    for (size_t i = 0; i < n; i++) {
        const char *state = bf_run_state_name((bf_run_state)bf_run_list_state(list, i));

        printf("%-6lld %-32s %-4lld %-18s %lld\n", (long long)bf_run_list_id(list, i),
               bf_run_list_brief_name(list, i), (long long)bf_run_list_seq(list, i),
               state ? state : "?", (long long)bf_run_list_batch_count(list, i));
    }
    bf_run_list_free(list);
    return status;
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

/*
 * For a running run with no batch in flight whose last event is the
 * runner's "stopped" record (SIGINT, say): that record's detail (the
 * caller frees it), else NULL. A run between claims has no such record last.
 */
static char *stopped_detail(bf_run *run, const bf_progress *p, int64_t *at)
{
    bf_event_list *ev = NULL;
    char *detail = NULL;
    size_t n;

    *at = 0;
    if (p->state != BF_RUN_RUNNING || p->running || bf_run_events(&ev, run) != BF_OK)
        return NULL;
    n = bf_event_list_count(ev);
    if (n && bf_event_list_batch_id(ev, n - 1) == 0 &&
        strcmp(bf_event_list_subject(ev, n - 1), "stopped") == 0 &&
        bf_event_list_detail(ev, n - 1)) {
        detail = strdup(bf_event_list_detail(ev, n - 1));
        *at = bf_event_list_at(ev, n - 1);
    }
    bf_event_list_free(ev);
    return detail;
}

/*
 * "(1 split in two, 21 re-cut to another width)": the batches replaced by
 * others, told by how. Each split (retry --split) adds two halves naming
 * their parent; a resize's batches name none.
 */
static void print_replaced(bf_run *run, const bf_progress *p)
{
    bf_batch_list *l = NULL;
    int64_t halves = 0, recut;

    if (!p->split)
        return;
    if (bf_run_batches(&l, run, -1) == BF_OK)
        for (size_t i = 0; i < bf_batch_list_count(l); i++)
            halves += bf_batch_list_parent_id(l, i) != 0;
    bf_batch_list_free(l);
    recut = p->split - halves / 2;
    if (halves && recut)
        printf(" (%lld split in two, %lld re-cut to another width)", (long long)(halves / 2),
               (long long)recut);
    else if (halves)
        printf(" (%lld split in two)", (long long)p->split);
    else
        printf(" (%lld re-cut to another width)", (long long)p->split);
}

static void print_run(bf_run *run, const bf_progress *p, const bf_batch_list *failed)
{
    int64_t at;
    char *stopped = stopped_detail(run, p, &at);

    printf("run %lld (%s #%lld): %s\n", (long long)bf_run_id(run), bf_run_brief_name(run),
           (long long)bf_run_seq(run), bf_run_state_name(p->state));
    printf("  plan %s\n", bf_run_plan_fingerprint(run));
    printf("  batches: %lld total: %lld pending, %lld running, %lld completed, %lld validated, "
           "%lld failed, %lld cancelled, %lld rolled back",
           (long long)p->total, (long long)p->pending, (long long)p->running,
           (long long)p->completed, (long long)p->validated, (long long)p->failed,
           (long long)p->cancelled, (long long)p->rolled_back);
    print_replaced(run, p);
    printf("\n  rows: %lld written, %lld deleted\n", (long long)p->rows_written,
           (long long)p->rows_deleted);
    printf("  elapsed ");
    print_duration(p->elapsed_s);
    if (stopped) {
        json_t *when = cli_iso_json(at);

        printf("\n  no process is running it: %s (%s)\n", stopped,
               json_string_value(when) ? json_string_value(when) : "?");
        json_decref(when);
    } else {
        printf(", ETA ");
        print_duration(p->eta_s);
        printf("\n");
    }
    free(stopped);
    if (bf_batch_list_count(failed) == 0)
        return;
    printf("failed batches:\n");
    for (size_t i = 0; i < bf_batch_list_count(failed); i++) {
        const char *error = bf_batch_list_error(failed, i);

        printf("  %s (batch %lld, attempt %lld): %s\n", bf_batch_list_label(failed, i),
               (long long)bf_batch_list_id(failed, i), (long long)bf_batch_list_attempt(failed, i),
               error ? error : "(no message)");
    }
}

/* One batch as JSON, with the fields of bf_run_batches_json(). */
static json_t *batch_json(const bf_batch_list *l, size_t i)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:s?, s:I, s:I, s:I, s:I, "
                     "s:f, s:I, s:I, s:s?, s:s?, s:s?, s:s?}",
                     "id", (json_int_t)bf_batch_list_id(l, i), "ordinal",
                     (json_int_t)bf_batch_list_ordinal(l, i), "label", bf_batch_list_label(l, i),
                     "state", bf_batch_state_name((bf_batch_state)bf_batch_list_state(l, i)),
                     "attempt", (json_int_t)bf_batch_list_attempt(l, i), "token",
                     (json_int_t)bf_batch_list_token(l, i), "lo", (json_int_t)bf_batch_list_lo(l, i),
                     "hi", (json_int_t)bf_batch_list_hi(l, i), "params",
                     cli_embedded_json(bf_batch_list_params_json(l, i)), "parent_id",
                     (json_int_t)bf_batch_list_parent_id(l, i), "worker",
                     bf_batch_list_worker(l, i), "lease_until_us",
                     (json_int_t)bf_batch_list_lease_until(l, i), "not_before_us",
                     (json_int_t)bf_batch_list_not_before(l, i), "started_at_us",
                     (json_int_t)bf_batch_list_started_at(l, i), "finished_at_us",
                     (json_int_t)bf_batch_list_finished_at(l, i), "duration_s",
                     (double)bf_batch_list_duration_us(l, i) / 1e6, "rows_written",
                     (json_int_t)bf_batch_list_rows_written(l, i), "rows_deleted",
                     (json_int_t)bf_batch_list_rows_deleted(l, i), "fingerprint_before",
                     bf_batch_list_fingerprint_before(l, i), "fingerprint_after",
                     bf_batch_list_fingerprint_after(l, i), "idempotency_key",
                     bf_batch_list_idempotency_key(l, i), "error", bf_batch_list_error(l, i));
}

/* The batches as a JSON array, or NULL when one could not be made. */
static json_t *batches_json(const bf_batch_list *list)
{
    json_t *array = json_array();

    for (size_t i = 0; array && i < bf_batch_list_count(list); i++) {
        json_t *b = batch_json(list, i);

        if (!b || json_array_append_new(array, b) != 0) {
            json_decref(array);
            array = NULL;
        }
    }
    return array;
}

static int show_run(bf_ledger *ledger, const char *ref)
{
    bf_progress p = BF_PROGRESS_INIT;
    bf_run *run = NULL;
    bf_batch_list *failed = NULL, *all = NULL;
    json_t *failed_json, *all_json;
    int status = cli_run_open(&run, ledger, ref);
    int rc;

    if (status != EXIT_DONE)
        return status;
    rc = bf_run_progress(&p, run);
    if (rc == BF_OK)
        rc = bf_run_batches(&failed, run, BF_BATCH_FAILED);
    if (rc != BF_OK) {
        status = cli_fail_bf(rc, NULL);
        bf_run_free(run);
        return status;
    }
    if (cli_json) {
        /* Every batch too, with the id that validate, diff and rollback take for --batch. */
        rc = bf_run_batches(&all, run, -1);
        if (rc != BF_OK) {
            status = cli_fail_bf(rc, NULL);
            bf_batch_list_free(failed);
            bf_run_free(run);
            return status;
        }
        failed_json = batches_json(failed);
        all_json = batches_json(all);
        bf_batch_list_free(all);
        if (!failed_json || !all_json) {
            json_decref(failed_json);
            json_decref(all_json);
            bf_batch_list_free(failed);
            bf_run_free(run);
            return cli_fail(EXIT_FAILURE_, "status: cannot read the batches");
        }
        int64_t at;
        char *stopped = stopped_detail(run, &p, &at);

        cli_print_json(json_pack("{s:I, s:s, s:I, s:s, s:s, s:o, s:s?, s:I, s:o, s:o}", "run",
                                 (json_int_t)bf_run_id(run), "brief", bf_run_brief_name(run), "seq",
                                 (json_int_t)bf_run_seq(run), "state", bf_run_state_name(p.state),
                                 "plan_fingerprint", bf_run_plan_fingerprint(run), "progress",
                                 progress_json(&p), "stopped", stopped, "stopped_at_us",
                                 (json_int_t)at, "failed", failed_json, "batches", all_json));
        free(stopped);
    } else {
        print_run(run, &p, failed);
    }
    bf_batch_list_free(failed);
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
