/*
 * Claims and leases: the next pending batch in plan order under a lease with
 * a new fencing token, within max_concurrency across every process (the
 * count is taken inside the claim's write transaction, which holds the
 * ledger's write lock), and the expiry of lapsed leases.
 */
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_internal.h"

int bf__run_expire_leases(int64_t *out_live, bf_ledger *ledger, const bf_store_run *rec,
                          int64_t now)
{
    int takes_claims = rec->state == BF_RUN_PLANNED || rec->state == BF_RUN_RUNNING ||
                       rec->state == BF_RUN_PAUSED;

    for (;;) {
        char detail[160];
        bf_store_batch b;
        int64_t live, expired;
        int rc = BF__STORE(ledger, batch_running, (ledger->db, &live, &expired, rec->id, now));

        if (rc != BF_OK)
            return rc;
        if (!expired) {
            *out_live = live;
            return BF_OK;
        }
        rc = BF__STORE(ledger, batch_get, (ledger->db, &b, expired));
        if (rc != BF_OK)
            return rc;
        snprintf(detail, sizeof detail, "lease of token %lld expired (attempt %lld of %lld, %s)",
                 (long long)b.token, (long long)b.attempt, (long long)rec->max_attempts,
                 b.worker ? b.worker : "no worker");
        if (rec->state == BF_RUN_CANCELLED)
            b.state = BF_BATCH_CANCELLED;
        else if (takes_claims && b.attempt < rec->max_attempts)
            b.state = BF_BATCH_PENDING;
        else
            b.state = BF_BATCH_FAILED;
        if (b.state == BF_BATCH_FAILED)
            b.error = detail;
        b.lease_until = 0;
        b.not_before = 0;
        rc = bf__batch_move(ledger, &b, BF_BATCH_RUNNING, detail);
        if (rc != BF_OK)
            return rc;
    }
}

static int new_lease(bf_lease **out, const bf_store_batch *b)
{
    bf_lease *lease = bf__calloc(1, sizeof *lease);

    if (!lease)
        return bf__nomem();
    lease->batch_id = b->id;
    lease->ordinal = b->ordinal;
    lease->dimension = b->dimension;
    lease->lo = b->lo;
    lease->hi = b->hi;
    lease->token = b->token;
    lease->attempt = b->attempt;
    lease->expires_at = b->lease_until;
    lease->label = bf__strdup(b->label ? b->label : "");
    lease->params_json = bf__strdup(b->params_json ? b->params_json : "{}");
    if (!lease->label || !lease->params_json) {
        bf_lease_free(lease);
        return bf__nomem();
    }
    *out = lease;
    return BF_OK;
}

/* Nothing claimable and nothing running: a running run whose only leftovers failed has failed. */
static int settle(bf_ledger *ledger, bf_store_run *rec)
{
    bf_store_counts counts;
    char detail[96];
    int rc;

    if (rec->state != BF_RUN_RUNNING)
        return BF_OK;
    rc = BF__STORE(ledger, batch_counts, (ledger->db, &counts, rec->id));
    if (rc != BF_OK || counts.by_state[BF_BATCH_PENDING] || counts.by_state[BF_BATCH_RUNNING] ||
        !counts.by_state[BF_BATCH_FAILED])
        return rc;
    snprintf(detail, sizeof detail, "%lld batches failed for good",
             (long long)counts.by_state[BF_BATCH_FAILED]);
    return bf__run_move(ledger, rec, BF_RUN_FAILED, detail);
}

struct claim_arg {
    bf_lease *lease;
    int refused;
};

static int claim_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct claim_arg *c = arg;
    bf_ledger *ledger = run->ledger;
    int64_t now = bf__ledger_now(ledger), live;
    bf_store_batch b;
    char detail[160];
    int rc = bf__run_expire_leases(&live, ledger, rec, now);

    if (rc != BF_OK)
        return rc;
    if (rec->state != BF_RUN_PLANNED && rec->state != BF_RUN_RUNNING) {
        c->refused = 1; /* commit the expiries all the same */
        return BF_OK;
    }
    if (live >= rec->max_concurrency)
        return BF_OK;
    rc = BF__STORE(ledger, batch_next_pending, (ledger->db, &b, rec->id, now));
    if (rc == BF_E_NOT_FOUND)
        return live ? BF_OK : settle(ledger, rec);
    if (rc != BF_OK)
        return rc;
    b.state = BF_BATCH_RUNNING;
    b.token++;
    b.attempt++;
    b.lease_until = now + rec->lease_us;
    b.worker = ledger->actor;
    b.started_at = now;
    rc = new_lease(&c->lease, &b);
    if (rc != BF_OK)
        return rc;
    snprintf(detail, sizeof detail, "attempt %lld of %lld, token %lld", (long long)b.attempt,
             (long long)rec->max_attempts, (long long)b.token);
    rc = bf__batch_move(ledger, &b, BF_BATCH_PENDING, detail);
    if (rc == BF_OK && rec->state == BF_RUN_PLANNED)
        rc = bf__run_move(ledger, rec, BF_RUN_RUNNING, "first claim");
    return rc;
}

int bf_run_claim(bf_lease **out, bf_run *run)
{
    struct claim_arg c = {NULL, 0};
    char who[160];
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_claim: out and run are required");
    *out = NULL;
    rc = bf__run_write(run, claim_op, &c);
    if (rc != BF_OK) {
        bf_lease_free(c.lease);
        return rc;
    }
    if (c.refused)
        return bf__run_fail(run, bf__error(BF_E_STATE, "%s is %s: no batches can be claimed",
                                           bf__run_describe(run, who, sizeof who),
                                           bf_run_state_name((bf_run_state)run->state)));
    *out = c.lease;
    return BF_OK;
}

void bf_lease_free(bf_lease *lease)
{
    if (!lease)
        return;
    bf__free(lease->label);
    bf__free(lease->params_json);
    bf__free(lease);
}

int64_t bf_lease_batch_id(const bf_lease *lease)
{
    return lease ? lease->batch_id : 0;
}

int64_t bf_lease_ordinal(const bf_lease *lease)
{
    return lease ? lease->ordinal : 0;
}

const char *bf_lease_label(const bf_lease *lease)
{
    return lease ? lease->label : NULL;
}

bf_dimension bf_lease_dimension(const bf_lease *lease)
{
    return lease ? (bf_dimension)lease->dimension : (bf_dimension)0;
}

int64_t bf_lease_lo(const bf_lease *lease)
{
    return lease ? lease->lo : 0;
}

int64_t bf_lease_hi(const bf_lease *lease)
{
    return lease ? lease->hi : 0;
}

const char *bf_lease_params_json(const bf_lease *lease)
{
    return lease ? lease->params_json : NULL;
}

int64_t bf_lease_token(const bf_lease *lease)
{
    return lease ? lease->token : 0;
}

int64_t bf_lease_attempt(const bf_lease *lease)
{
    return lease ? lease->attempt : 0;
}

int64_t bf_lease_expires_at(const bf_lease *lease)
{
    return lease ? lease->expires_at : 0;
}
