/*
 * Starts a host-tracked run for the validate scenario (backfill run does not
 * exist yet): the brief file planned against the warehouse, recorded in the
 * ledger (created), and its first DONE batches claimed and completed, each
 * reporting the rows the warehouse holds in its bounds.
 * usage: validate_fixture LEDGER WAREHOUSE BRIEF DONE
 */
#include <stdio.h>
#include <stdlib.h>

#include "backfill.h"

static int fail(const char *what)
{
    fprintf(stderr, "validate_fixture: %s: %s\n", what, bf_last_error());
    return 1;
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

    if (argc != 5)
        return fprintf(stderr, "usage: validate_fixture LEDGER WAREHOUSE BRIEF DONE\n"), 2;
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
