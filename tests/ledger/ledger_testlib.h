/*
 * Shared by the ledger's unit suite, helper programs and benchmark: plans
 * made with the internal plan builder (the planner is not needed to test the
 * ledger) and a worker loop that claims and completes batches.
 */
#ifndef BF_LEDGER_TESTLIB_H
#define BF_LEDGER_TESTLIB_H

#include <stdio.h>
#include <unistd.h>

#include "backfill.h"
#include "plan/plan_internal.h"

/*
 * A sealed key-range plan of `count` batches of `width` keys each, from key
 * 0, on column "order_id"; NULL on failure (bf_last_error() says why).
 */
static inline bf_plan *lt_key_plan(size_t count, int64_t width, const char *pin)
{
    static const char *const names[] = {"lo", "hi"};
    bf_plan *plan;
    char label[96];

    if (bf__plan_new(&plan, BF_DIM_KEY, "order_id", count) != BF_OK)
        return NULL;
    for (size_t i = 0; i < count; i++) {
        int64_t lo = (int64_t)i * width, hi = lo + width;
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = lo}, {.type = BF_VALUE_INT, .i = hi}};

        snprintf(label, sizeof label, "order_id [%lld, %lld)", (long long)lo, (long long)hi);
        if (bf__plan_add(plan, lo, hi, label, 2, names, v) != BF_OK) {
            bf_plan_free(plan);
            return NULL;
        }
    }
    if (bf__plan_seal(plan, pin) != BF_OK) {
        bf_plan_free(plan);
        return NULL;
    }
    return plan;
}

/* A run spec for brief `name` with the given limits (lease and backoff in seconds). */
static inline bf_run_spec lt_spec(const char *name, unsigned concurrency, unsigned attempts,
                                  double backoff_s, double lease_s)
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;

    spec.brief_name = name;
    spec.brief_json = "{\"format\":\"backfill-brief/1\"}";
    spec.code_version = "git:test";
    spec.operator_name = "ana@example.com";
    spec.max_concurrency = concurrency;
    spec.max_attempts = attempts;
    spec.retry_backoff_s = backoff_s;
    spec.lease_s = lease_s;
    return spec;
}

/*
 * Claim and complete batches until none can be claimed or `limit` cycles
 * (0: no limit) are done; returns the number completed, or a negative
 * status code on the first failure.
 */
static inline long lt_work(bf_run *run, long limit)
{
    bf_batch_result result = BF_BATCH_RESULT_INIT;
    long done = 0;

    while (limit == 0 || done < limit) {
        bf_lease *lease;
        int rc = bf_run_claim(&lease, run);

        if (rc != BF_OK)
            return rc;
        if (!lease)
            break;
        result.rows_written = bf_lease_hi(lease) - bf_lease_lo(lease);
        rc = bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result);
        bf_lease_free(lease);
        if (rc != BF_OK)
            return rc;
        done++;
    }
    return done;
}

/* Remove a ledger file and its WAL and shared-memory files. */
static inline void lt_remove_ledger(const char *path)
{
    char side[4200];

    unlink(path);
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
}

#endif
