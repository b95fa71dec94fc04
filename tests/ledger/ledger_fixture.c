/*
 * Writes a small ledger for the CLI scenario test (backfill run does not
 * exist yet): run 1 "orders-fix" with 6 key batches, 3 completed, 1 failed
 * for good, 2 pending; run 2 "events-fix" with 2 batches, completed.
 * usage: ledger_fixture FILE
 */
#include <stdio.h>

#include "ledger_testlib.h"

static int fail(const char *what)
{
    fprintf(stderr, "ledger_fixture: %s: %s\n", what, bf_last_error());
    return 1;
}

static bf_run *start(bf_ledger *ledger, const char *name, size_t batches)
{
    bf_run_spec spec = lt_spec(name, 1, 1, 0, 300);
    bf_plan *plan = lt_key_plan(batches, 100, name);
    bf_run *run = NULL;

    if (plan)
        bf_run_start(&run, ledger, &spec, plan);
    bf_plan_free(plan);
    return run;
}

/* Claim the next batch and complete it (ok) or fail it. */
static int step(bf_run *run, int ok)
{
    bf_batch_result result = BF_BATCH_RESULT_INIT;
    bf_lease *lease;
    int rc = bf_run_claim(&lease, run);

    if (rc != BF_OK || !lease)
        return rc != BF_OK ? rc : BF_E_NOT_FOUND;
    result.rows_written = 100;
    result.rows_deleted = 90;
    result.duration_s = 2.0;
    if (ok)
        rc = bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result);
    else
        rc = bf_run_fail(run, bf_lease_batch_id(lease), bf_lease_token(lease),
                         "deadlock detected on order_id 350");
    bf_lease_free(lease);
    return rc;
}

int main(int argc, char **argv)
{
    static const bf_run_state to_completed[] = {BF_RUN_VALIDATING, BF_RUN_AWAITING_APPROVAL,
                                                BF_RUN_APPROVED, BF_RUN_COMPLETED};
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *ledger;
    bf_run *orders, *events;
    int rc = BF_OK;

    if (argc != 2) {
        fprintf(stderr, "usage: ledger_fixture FILE\n");
        return 2;
    }
    opts.actor = "fixture";
    if (bf_ledger_open(&ledger, argv[1], &opts) != BF_OK)
        return fail("open");
    orders = start(ledger, "orders-fix", 6);
    events = start(ledger, "events-fix", 2);
    if (!orders || !events)
        return fail("start");
    for (int i = 0; rc == BF_OK && i < 4; i++)
        rc = step(orders, i != 3);
    for (int i = 0; rc == BF_OK && i < 2; i++)
        rc = step(events, 1);
    for (size_t i = 0; rc == BF_OK && i < sizeof to_completed / sizeof to_completed[0]; i++)
        rc = bf_run_set_state(events, to_completed[i], "fixture");
    if (rc != BF_OK)
        return fail("steps");
    bf_run_free(orders);
    bf_run_free(events);
    bf_ledger_close(ledger);
    return 0;
}
