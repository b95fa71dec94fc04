/*
 * Finding a completed batch by its idempotency key, in every run of a brief
 * (docs/idempotency.md). It reads through the store's listing members, so it
 * works with any store; it scans the brief's batches (there is no index on
 * the key).
 */
#include <string.h>

#include "ledger/ledger_internal.h"

struct key_search {
    const char *brief_name;
    const char *key;
    int64_t *runs;
    size_t run_count, run_cap;
    int64_t found;
};

static int collect_run(void *userdata, const bf_store_run *r)
{
    struct key_search *k = userdata;
    int rc;

    if (k->brief_name && (!r->brief_name || strcmp(r->brief_name, k->brief_name) != 0))
        return BF_OK;
    rc = bf__grow((void **)&k->runs, &k->run_cap, k->run_count + 1, sizeof *k->runs);
    if (rc == BF_OK)
        k->runs[k->run_count++] = r->id;
    return rc;
}

static int match_batch(void *userdata, const bf_store_batch *b)
{
    struct key_search *k = userdata;

    if (k->found || (b->state != BF_BATCH_COMPLETED && b->state != BF_BATCH_VALIDATED))
        return BF_OK;
    if (b->idempotency_key && strcmp(b->idempotency_key, k->key) == 0)
        k->found = b->id;
    return BF_OK;
}

int bf_ledger_find_completed_key(int64_t *out, bf_ledger *ledger, const char *brief_name,
                                 const char *key)
{
    struct key_search k = {brief_name, key, NULL, 0, 0, 0};
    int rc;

    if (out)
        *out = 0;
    if (!out || !ledger || !key || !key[0])
        return bf__error(BF_E_INVALID,
                         "bf_ledger_find_completed_key: out, ledger and a key are required");
    rc = bf__ledger_begin(ledger, 0);
    if (rc != BF_OK)
        return bf__ledger_fail(ledger, rc);
    rc = BF__STORE(ledger, run_list, (ledger->db, collect_run, &k));
    /* Oldest run first: the first batch that did this work is the one named. */
    for (size_t i = 0; rc == BF_OK && i < k.run_count && !k.found; i++)
        rc = BF__STORE(ledger, batch_list, (ledger->db, k.runs[i], -1, match_batch, &k));
    bf__ledger_rollback(ledger);
    bf__free(k.runs);
    if (rc != BF_OK)
        return bf__ledger_fail(ledger, rc);
    *out = k.found;
    return BF_OK;
}
