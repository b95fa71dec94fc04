/*
 * Results into the ledger: the settle rule in one ledger call. The ledger
 * keeps the JSON and tally it is given; the verdict is decided here.
 */
#include "backfill/ledger.h"
#include "validate/results_internal.h"

int bf_validator_settle(bf_run *run, int64_t batch_id, const bf_results *results)
{
    int64_t tally[5];
    const char *failure = NULL;
    char *json = NULL;
    int rc;

    if (!run || !results)
        return bf__error(BF_E_INVALID, "bf_validator_settle: run and results are required");
    for (int o = 0; o < 5; o++)
        tally[o] = (int64_t)bf_results_tally(results, (bf_outcome)o);
    for (size_t i = 0; i < results->count && !failure; i++)
        if (results->e[i].outcome == BF_OUTCOME_FAIL || results->e[i].outcome == BF_OUTCOME_ERROR)
            failure = results->e[i].message && results->e[i].message[0]
                          ? results->e[i].message
                          : "a check failed";
    rc = bf_results_to_json(&json, results);
    if (rc != BF_OK)
        return rc;
    rc = bf_run_record_validation(run, batch_id, json, tally, failure, BF_VALIDATION_SETTLE);
    bf_free(json);
    return rc;
}
