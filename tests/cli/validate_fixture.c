/*
 * Starts a host-tracked run for the validate scenario (backfill run does not
 * exist yet): the brief file planned against the warehouse, recorded in the
 * ledger (created), and its first DONE batches claimed and completed, each
 * reporting the rows the warehouse holds in its bounds.
 *
 * With SOURCE (the diff scenario), each batch is first captured
 * (bf_diff_capture) and its before-state recorded in the ledger
 * (bf_run_record_before_state), then written for real: staged from SOURCE's
 * rows in the batch's bounds and published with a snapshot
 * (a replace of the batch's scope), then completed.
 * usage: validate_fixture LEDGER WAREHOUSE BRIEF DONE [SOURCE]
 */
#include <stdio.h>
#include <stdlib.h>

#include "backfill.h"

static int fail(const char *what)
{
    fprintf(stderr, "validate_fixture: %s: %s\n", what, bf_last_error());
    return 1;
}

/* Capture and record the batch's before-state, then stage and publish it with a snapshot. */
static int write_batch(bf_driver *d, const bf_brief *brief, const bf_plan *plan, bf_run *run,
                       const bf_lease *lease, const char *source)
{
    const bf_batch *batch = bf_plan_batch(plan, (size_t)bf_lease_ordinal(lease));
    const char *key[8];
    size_t kc = bf_brief_key_count(brief);
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_diff_before *before = NULL;
    char select[512], *json = NULL;

    for (size_t k = 0; k < kc && k < 8; k++)
        key[k] = bf_brief_key(brief, k);
    if (bf_diff_capture(&before, d, bf_brief_target_table(brief), key, kc, plan, batch, NULL) != BF_OK)
        return fail("capture");
    if (bf_diff_before_to_json(&json, before) != BF_OK)
        return fail("before-state JSON");
    if (bf_run_record_before_state(run, bf_lease_batch_id(lease), json) != BF_OK)
        return fail("record before-state");
    bf_free(json);
    bf_diff_before_free(before);
    snprintf(select, sizeof select, "SELECT * FROM %s WHERE %s >= :lo AND %s < :hi", source,
             key[0], key[0]);
    spec.table = bf_brief_target_table(brief);
    spec.key = key;
    spec.key_count = kc;
    spec.select = select;
    spec.snapshot = 1;
    if (bf_driver_stage(NULL, d, &spec, plan, batch, bf_run_id(run)) != BF_OK)
        return fail("stage");
    if (bf_driver_publish(NULL, d, &spec, plan, batch, bf_run_id(run), bf_lease_token(lease)) != BF_OK)
        return fail("publish");
    return 0;
}

int main(int argc, char **argv)
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_brief *brief = NULL;
    bf_driver *d = NULL;
    bf_plan *plan = NULL;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    char *text = NULL;
    int64_t *counts = NULL;
    long done;
    FILE *f;
    long size;

    if (argc != 5 && argc != 6)
        return fprintf(stderr, "usage: validate_fixture LEDGER WAREHOUSE BRIEF DONE [SOURCE]\n"), 2;
    done = atol(argv[4]);
    if (!(f = fopen(argv[3], "rb")) || fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 ||
        fseek(f, 0, SEEK_SET) || !(text = calloc(1, (size_t)size + 1)) ||
        fread(text, 1, (size_t)size, f) != (size_t)size)
        return fprintf(stderr, "validate_fixture: cannot read %s\n", argv[3]), 1;
    fclose(f);
    if (bf_brief_load_json(&brief, text, (size_t)size) != BF_OK)
        return fail("brief");
    if (bf_driver_open_sqlite(&d, argv[2], 0) != BF_OK || bf_driver_plan_brief(&plan, d, brief) != BF_OK)
        return fail("plan");
    if (!(counts = calloc(bf_plan_count(plan), sizeof *counts)) ||
        bf_driver_count_batches(counts, d, plan, bf_brief_target_table(brief)) != BF_OK)
        return fail("count");
    if (bf_ledger_open(&ledger, argv[1], NULL) != BF_OK)
        return fail("ledger");
    spec.brief_name = bf_brief_name(brief);
    spec.brief_json = text;
    if (bf_run_start(&run, ledger, &spec, plan) != BF_OK)
        return fail("run");
    for (long i = 0; i < done; i++) {
        bf_batch_result r = BF_BATCH_RESULT_INIT;
        bf_lease *lease = NULL;

        if (bf_run_claim(&lease, run) != BF_OK || !lease)
            return fail("claim");
        if (argc == 6 && write_batch(d, brief, plan, run, lease, argv[5]) != 0)
            return 1;
        r.rows_written = counts[bf_lease_ordinal(lease)];
        if (bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &r) != BF_OK)
            return fail("complete");
        bf_lease_free(lease);
    }
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_plan_free(plan);
    bf_driver_free(d);
    bf_brief_free(brief);
    free(text);
    free(counts);
    return 0;
}
