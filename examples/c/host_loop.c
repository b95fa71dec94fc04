/*
 * A host that schedules batches itself and uses libbackfill for batch
 * tracking: how an existing ETL tool keeps its own loop (its own threads,
 * its own job queue) and gets leases, fencing, retries, validation and the
 * ledger from the library. One batch at a time here; several copies of this
 * program (or several threads, each with its own handles) can share the
 * ledger, and max_concurrency holds across all of them.
 *
 *     host_loop BRIEF WAREHOUSE LEDGER
 *
 * It does what `backfill run` does for each batch, through the public
 * ledger, driver and validator API: claim, check before, stage, publish
 * under the fencing token, check after, complete with the results. Exit 0
 * when every batch is validated, 3 when a check failed (the run is paused
 * with its sentence), 1 on other failures.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <backfill.h>

static int fail(const char *what)
{
    fprintf(stderr, "host_loop: %s: %s\n", what, bf_last_error());
    return 1;
}

/* The batch results the ledger keeps, from the validator's results. */
static int complete(bf_run *run, const bf_lease *lease, const bf_publish_result *pub,
                    const bf_results *results)
{
    bf_batch_result done = BF_BATCH_RESULT_INIT;
    int64_t tally[5];
    char *json = NULL, failure[1024] = "";
    int rc;

    for (int o = 0; o < 5; o++)
        tally[o] = (int64_t)bf_results_tally(results, (bf_outcome)o);
    if (bf_results_status(results) != BF_OK)
        snprintf(failure, sizeof failure, "%s", bf_last_error());
    if ((rc = bf_results_to_json(&json, results)) != BF_OK)
        return rc;
    done.rows_written = pub->written;
    done.rows_deleted = pub->deleted;
    done.validation_json = json;
    done.validation_tally = tally;
    done.validation_failure = failure[0] ? failure : NULL;
    rc = bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &done);
    bf_free(json);
    return rc;
}

int main(int argc, char **argv)
{
    bf_brief *brief = NULL;
    bf_driver *driver = NULL;
    bf_ledger *ledger = NULL;
    bf_plan *plan = NULL;
    bf_validator *validator = NULL;
    bf_run *run = NULL;
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_write_spec ws = BF_WRITE_SPEC_INIT;
    const char *key[16], *cols[64];
    int status = 0, batches = 0;
    int64_t value;

    if (argc != 4) {
        fprintf(stderr, "usage: host_loop BRIEF WAREHOUSE LEDGER\n");
        return 2;
    }
    if (bf_brief_load_file(&brief, argv[1]) != BF_OK)
        return fail(argv[1]);
    if (bf_driver_open_sqlite(&driver, argv[2], 0) != BF_OK)
        return fail(argv[2]);
    if (bf_ledger_open(&ledger, argv[3], NULL) != BF_OK)
        return fail(argv[3]);
    if (bf_driver_plan_brief(&plan, driver, brief) != BF_OK)
        return fail("plan");
    if (bf_validator_new_from_brief(&validator, brief) != BF_OK)
        return fail("checks");

    /* The write spec: what the brief says about the target and the job. */
    for (size_t i = 0; i < bf_brief_key_count(brief) && i < 16; i++)
        key[i] = bf_brief_key(brief, i);
    for (size_t i = 0; i < bf_brief_column_count(brief) && i < 64; i++)
        cols[i] = bf_brief_column(brief, i);
    ws.table = bf_brief_target_table(brief);
    ws.key = key;
    ws.key_count = bf_brief_key_count(brief);
    ws.columns = cols;
    ws.column_count = bf_brief_column_count(brief);
    ws.select = bf_brief_job_select(brief);
    ws.strategy = bf_brief_write_strategy(brief);
    ws.snapshot = bf_brief_snapshot(brief);

    /* The run: started, or resumed when this brief has one unfinished with the same plan. */
    spec.brief_name = bf_brief_name(brief);
    spec.code_version = bf_brief_code_version(brief);
    spec.operator_name = "host_loop";
    spec.max_concurrency = bf_brief_max_concurrency(&value, brief) == BF_OK ? (unsigned)value : 1;
    spec.max_attempts = bf_brief_max_attempts(&value, brief) == BF_OK ? (unsigned)value : 3;
    spec.lease_s = bf_brief_lease_s(&value, brief) == BF_OK ? (double)value : 300;
    if (bf_run_start(&run, ledger, &spec, plan) != BF_OK)
        return fail("start the run");

    for (;;) {
        bf_lease *lease = NULL;
        const bf_batch *batch;
        bf_validation_state *before = NULL;
        bf_results *results = NULL;
        bf_publish_result pub = BF_PUBLISH_RESULT_INIT;
        int rc = bf_run_claim(&lease, run);

        if (rc != BF_OK) {
            status = fail("claim"); /* paused or cancelled from elsewhere, for instance */
            break;
        }
        if (!lease)
            break; /* nothing left to claim (a real host would also wait for retries) */
        batch = bf_plan_batch(plan, (size_t)bf_lease_ordinal(lease));
        rc = bf_validator_before(&before, validator, driver, plan, batch);
        if (rc == BF_OK)
            rc = bf_driver_stage(NULL, driver, &ws, plan, batch, bf_run_id(run));
        if (rc == BF_OK) /* the fence refuses a publish whose lease another worker took over */
            rc = bf_driver_publish(&pub, driver, &ws, plan, batch, bf_run_id(run),
                                   bf_lease_token(lease));
        if (rc == BF_OK)
            rc = bf_validator_after(&results, validator, driver, plan, batch, before);
        if (rc == BF_OK)
            rc = complete(run, lease, &pub, results);
        else if (rc != BF_E_LEASE_LOST)
            bf_run_fail(run, bf_lease_batch_id(lease), bf_lease_token(lease), bf_last_error());
        bf_driver_drop_staging(driver, &ws, plan, batch, bf_run_id(run));
        if (rc == BF_OK) {
            batches++;
            printf("batch %s: %lld rows written, checks %s\n", bf_lease_label(lease),
                   (long long)pub.written, bf_results_status(results) == BF_OK ? "pass" : "FAIL");
            if (bf_results_status(results) != BF_OK)
                status = 3; /* the ledger paused the run with the check's sentence */
        } else {
            fprintf(stderr, "host_loop: batch %s: %s\n", bf_lease_label(lease), bf_last_error());
            status = 1;
        }
        bf_results_free(results);
        bf_validation_state_free(before);
        bf_lease_free(lease);
        if (status)
            break;
    }
    printf("host_loop: %d batches done in run %lld (%s)\n", batches, (long long)bf_run_id(run),
           bf_run_state_name(bf_run_current_state(run)));
    bf_run_free(run);
    bf_validator_free(validator);
    bf_plan_free(plan);
    bf_ledger_close(ledger);
    bf_driver_free(driver);
    bf_brief_free(brief);
    return status;
}
