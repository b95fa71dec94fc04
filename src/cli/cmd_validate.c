/*
 * backfill validate RUN --ledger FILE --warehouse DB [--batch ID] [--json]:
 * re-run a run's after-checks against the warehouse, per written batch (or
 * the one --batch) and, once every batch is written, the run-level checks;
 * print them, record them in the ledger (bf_validator_settle: a passing
 * batch becomes validated, a failing error check pauses the run). Checks
 * that compare with before compare with the values the runner recorded
 * before each batch (and the run) first published; without such a record
 * they report "skipped". Passing results never replace recorded results
 * that skipped fewer checks (the runner's, which compared with before), nor
 * recorded passing ones (which carry the explained deltas): they are printed,
 * not recorded, or a batch whose comparison with before failed would settle
 * as validated, and the run's measured results would give way to "skipped".
 * A failure found now is always recorded (and pauses the run).
 * Exit 0 all pass, 3 an error-level check failed, 4 batches not yet written.
 */
#include <string.h>

#include "cli.h"


static void print_results(const bf_results *r, const char *label)
{
    for (size_t i = 0; i < bf_results_count(r); i++) {
        const char *name = bf_results_name(r, i);
        printf("%-7s %s %s%s%s: %s\n", bf_outcome_name(bf_results_outcome(r, i)),
               label ? label : "run", bf_results_check(r, i), name ? " " : "", name ? name : "",
               bf_results_message(r, i));
    }
}

/*
 * The checks' values from before the batch (batch_id 0: the run) first
 * published, as the runner recorded them: under "checks" in the batch's
 * before-state, or the run's "validation_before" event. NULL when none was
 * recorded (a host that records no such values, an earlier release), or
 * when they were recorded for other checks than the brief's now: those
 * checks are then skipped, as without any.
 */
static bf_validation_state *recorded_before(bf_validator *v, bf_run *run, int64_t batch_id)
{
    bf_validation_state *st = NULL;
    bf_event_list *ev = NULL;
    char *json = NULL, *checks = NULL;
    json_t *o;

    if (batch_id) {
        if (bf_run_before_state(&json, run, batch_id) == BF_OK &&
            (o = cli_embedded_json(json)) != NULL) {
            if (json_is_object(json_object_get(o, "checks")))
                checks = json_dumps(json_object_get(o, "checks"), JSON_COMPACT);
            json_decref(o);
        }
        bf_free(json);
    } else if (bf_run_events(&ev, run) == BF_OK) {
        for (size_t i = 0; i < bf_event_list_count(ev); i++)
            if (bf_event_list_batch_id(ev, i) == 0 && bf_event_list_detail(ev, i) &&
                strcmp(bf_event_list_subject(ev, i), "validation_before") == 0) {
                free(checks);
                checks = strdup(bf_event_list_detail(ev, i));
            }
    }
    bf_event_list_free(ev);
    if (checks && bf_validation_state_from_json(&st, v, checks) != BF_OK)
        st = NULL;
    free(checks);
    bf_clear_error();
    return st;
}

/* Validate, print (text) or collect (JSON), and record one batch (batch_id 0: the run). */
static int one(json_t *out, bf_validator *v, bf_driver *d, const bf_plan *plan, bf_run *run,
               const bf_batch *batch, int64_t batch_id, int *failed, size_t *unrecorded)
{
    bf_results *r = NULL;
    char *text = NULL;
    bf_validation_state *before = recorded_before(v, run, batch_id);
    int rc = bf_validator_after(&r, v, d, plan, batch, before);
    size_t skipped = 0;

    bf_validation_state_free(before);

    int kept = 0;

    /*
     * Passing results leave recorded ones that skipped fewer checks (the runner's, which
     * compared with the values from before), and recorded passing ones (the runner's carry
     * what cannot be measured again: each metric's explained delta). A failure is recorded.
     */
    if (rc == BF_OK && bf_results_status(r) == BF_OK) {
        bf_validation_list *had = NULL;
        size_t now = bf_results_tally(r, BF_OUTCOME_SKIPPED);

        if ((rc = bf_run_validations(&had, run, batch_id)) == BF_OK &&
            bf_validation_list_count(had)) {
            if (now && bf_validation_list_tally(had, 0, BF_OUTCOME_SKIPPED) < (int64_t)now)
                skipped = now;
            else if (bf_validation_list_passed(had, 0) == 1)
                kept = 1;
        }
        bf_validation_list_free(had);
    }
    if (rc == BF_OK && !skipped && !kept)
        rc = bf_validator_settle(run, batch_id, r);
    if (rc == BF_OK && cli_json)
        rc = bf_results_to_json(&text, r);
    if (rc != BF_OK) {
        bf_results_free(r);
        return rc;
    }
    if (bf_results_status(r) != BF_OK)
        *failed = 1;
    *unrecorded += skipped != 0;
    if (cli_json) {
        json_t *j = cli_embedded_json(text);
        json_object_set_new(j, "batch_id", json_integer(batch_id));
        json_object_set_new(j, "recorded", json_boolean(!skipped && !kept));
        json_array_append_new(out, j);
        bf_free(text);
    } else {
        print_results(r, batch ? bf_batch_label(batch) : NULL);
        if (skipped)
            printf("%-7s %s: %zu check%s could not compare with before; these results are not "
                   "recorded (those recorded before stay)\n", "unrecorded",
                   batch ? bf_batch_label(batch) : "run", skipped, skipped == 1 ? "" : "s");
    }
    bf_results_free(r);
    return BF_OK;
}

static int written(int state)
{
    return state == BF_BATCH_COMPLETED || state == BF_BATCH_VALIDATED;
}

static int validate(bf_ledger *ledger, bf_run *run, const char *warehouse, int64_t only)
{
    bf_brief *brief = NULL;
    bf_driver *d = NULL;
    bf_plan *plan = NULL;
    bf_validator *v = NULL;
    bf_batch_list *bl = NULL;
    bf_run_view *view = NULL;
    json_t *results = json_array();
    size_t *ords = NULL, nw = 0, unwritten = 0, seen = 0, unrecorded = 0;
    int64_t *rows = NULL, *held = NULL;
    char *into = NULL;
    int failed = 0, status = cli_run_brief(&brief, ledger, run, "validate"), rc = BF_OK;

    if (status != EXIT_DONE)
        goto done;
    /* Before its cutover a staging_swap or parallel_version run wrote its copy, not the target. */
    if ((rc = bf_driver_open_sqlite(&d, warehouse, 0)) != BF_OK ||
        (rc = bf_run_check_warehouse(ledger, bf_run_id(run), d)) != BF_OK ||
        (rc = bf_driver_plan_brief(&plan, d, brief)) != BF_OK ||
        (rc = bf_validator_new_from_brief(&v, brief)) != BF_OK ||
        (rc = bf_run_written_table(&into, ledger, bf_run_id(run))) != BF_OK ||
        (rc = bf_validator_set_table(v, into)) != BF_OK ||
        (rc = bf_run_batches(&bl, run, -1)) != BF_OK) {
        status = cli_fail_bf(rc, "validate");
        goto done;
    }
    if (strcmp(bf_plan_fingerprint(plan), bf_run_plan_fingerprint(run)) != 0) {
        status = cli_fail(EXIT_USAGE, "validate: the brief's plan against %s has fingerprint %s, "
                          "but run %lld was planned as %s: not the same batches", warehouse,
                          bf_plan_fingerprint(plan), (long long)bf_run_id(run),
                          bf_run_plan_fingerprint(run));
        goto done;
    }
    if ((rc = bf_run_view_new(&view, plan, run)) != BF_OK) {
        status = cli_fail_bf(rc, "validate");
        goto done;
    }
    held = malloc((bf_plan_count(plan) + 1) * sizeof *held);
    if (!held || !results) {
        status = cli_fail(EXIT_FAILURE_, "validate: out of memory");
        goto done;
    }
    for (size_t i = 0; i < bf_plan_count(plan); i++)
        held[i] = -1;
    for (size_t i = 0; i < bf_batch_list_count(bl); i++) {
        int state = bf_batch_list_state(bl, i);
        int64_t id = bf_batch_list_id(bl, i);
        const bf_batch *b = bf_run_view_batch(view, id); /* cut batches too */

        if (state == BF_BATCH_SPLIT || state == BF_BATCH_CANCELLED)
            continue;
        if (only && id != only)
            continue;
        seen++;
        if (!written(state)) {
            unwritten++;
            if (!cli_json)
                printf("%-7s %s: batch %lld is %s, not written yet\n", "unwritten",
                       bf_batch_list_label(bl, i), (long long)id,
                       bf_batch_state_name((bf_batch_state)state));
            continue;
        }
        if (!b) {
            status = cli_fail(EXIT_FAILURE_, "validate: batch %lld of run %lld is not in the "
                              "run's plan or in what the ledger cut from it", (long long)id,
                              (long long)bf_run_id(run));
            goto done;
        }
        /*
         * For coverage: the rows its bounds held once it published (its after
         * fingerprint's count), as the runner gives them; unknown for a batch
         * that was cut, or skipped (it recorded no after fingerprint).
         */
        if (bf_batch_ordinal(b) < bf_plan_count(plan)) {
            const char *fp = bf_batch_list_fingerprint_after(bl, i);
            bf_fingerprint after;

            if (fp && bf_fingerprint_parse(&after, fp) == BF_OK)
                held[bf_batch_ordinal(b)] = (int64_t)after.rows;
        }
        if ((rc = one(results, v, d, bf_run_view_plan(view), run, b, id, &failed,
                      &unrecorded)) != BF_OK) {
            status = cli_fail_bf(rc, "validate");
            goto done;
        }
    }
    if (only && !seen) {
        status = cli_fail(EXIT_USAGE, "validate: run %lld has no batch %lld (see backfill status)",
                          (long long)bf_run_id(run), (long long)only);
        goto done;
    }
    /* The run-level checks (coverage, expected rows) once the whole run is written. */
    if (!only && !unwritten) {
        /* The plan's batches the run wrote, however the ledger cut them. */
        if ((rc = bf_run_view_written(&ords, &nw, view)) != BF_OK) {
            status = cli_fail_bf(rc, "validate");
            goto done;
        }
        if (!(rows = malloc((nw + 1) * sizeof *rows))) {
            status = cli_fail(EXIT_FAILURE_, "validate: out of memory");
            goto done;
        }
        for (size_t i = 0; i < nw; i++)
            rows[i] = held[ords[i]];
        if ((rc = bf_validator_set_written(v, ords, rows, nw)) != BF_OK ||
            (rc = one(results, v, d, plan, run, NULL, 0, &failed, &unrecorded)) != BF_OK) {
            status = cli_fail_bf(rc, "validate");
            goto done;
        }
    }
    status = failed ? EXIT_BLOCKED : unwritten ? EXIT_UNFINISHED : EXIT_DONE;
    if (cli_json) {
        cli_print_json(json_pack("{s:I, s:s, s:s, s:I, s:I, s:b, s:O}", "run",
                                 (json_int_t)bf_run_id(run), "brief", bf_run_brief_name(run),
                                 "status", failed ? "fail" : unwritten ? "unfinished" : "pass",
                                 "unwritten", (json_int_t)unwritten, "unrecorded",
                                 (json_int_t)unrecorded, "run_checked", !only && !unwritten,
                                 "results", results));
    } else {
        /* The status the JSON gives, in words: a run with batches left is not passed. */
        printf("validate run %lld (%s): %s", (long long)bf_run_id(run), bf_run_brief_name(run),
               failed ? "FAILED" : unwritten ? "unfinished" : "passed");
        if (unwritten)
            printf(", %zu batch%s not written yet", unwritten, unwritten == 1 ? "" : "es");
        if (unrecorded)
            printf(", %zu result%s not recorded (checks skipped)", unrecorded,
                   unrecorded == 1 ? "" : "s");
        printf("\n");
    }
done:
    bf_free(into);
    json_decref(results);
    bf_free(ords);
    free(rows);
    free(held);
    bf_batch_list_free(bl);
    bf_run_view_free(view);
    bf_validator_free(v);
    bf_plan_free(plan);
    bf_driver_free(d);
    bf_brief_free(brief);
    return status;
}

int cmd_validate(int argc, char **argv)
{
    struct cli_ledger_args args;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    const char *warehouse = cli_opt("warehouse");
    long long only = cli_opt_int("batch", 0);
    int status = cli_ledger_args(&args, argc, argv, 1, 0);

    if (status == EXIT_DONE && !warehouse)
        status = cli_fail(EXIT_USAGE, "validate: --warehouse DB is required (usage: backfill %s)",
                          cli_usage());
    if (status == EXIT_DONE)
        status = cli_ledger_open(&ledger, args.ledger_path);
    if (status == EXIT_DONE)
        status = cli_run_open(&run, ledger, args.run_ref);
    if (status == EXIT_DONE)
        status = validate(ledger, run, warehouse, (int64_t)only);
    bf_run_free(run);
    bf_ledger_close(ledger);
    return status;
}
