/*
 * Before-states in the ledger: the JSON of a batch's captured before-state
 * (bf_diff_capture), recorded before the batch is published and read back
 * by `backfill diff RUN`. The ledger does not read the JSON. The same
 * patterns as validations.c: the store's members through BF__STORE, writes
 * in the run's write transaction, reads in a read transaction (both refuse
 * a handle that crossed fork()).
 */
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_internal.h"

struct record_arg {
    int64_t batch_id;
    const char *json;
};

static int unsupported(bf_ledger *ledger)
{
    return bf__error(BF_E_UNSUPPORTED, "ledger %s: the store keeps no before-states "
                     "(store vtable version %u; before_state_put and before_state_list came in 3)",
                     ledger->path, ledger->store_vt.version);
}

static int record_op(bf_run *run, bf_store_run *rec, void *arg)
{
    const struct record_arg *a = arg;
    bf_ledger *ledger = run->ledger;
    bf_store_before_state st;
    bf_store_batch b;
    int rc;

    (void)rec;
    rc = bf__run_batch_get(run, &b, a->batch_id);
    if (rc != BF_OK)
        return rc;
    memset(&st, 0, sizeof st);
    st.run_id = run->id;
    st.batch_id = a->batch_id;
    st.state_json = a->json;
    st.created_at = st.updated_at = bf__ledger_now(ledger);
    return BF__STORE(ledger, before_state_put, (ledger->db, &st));
}

int bf_run_record_before_state(bf_run *run, int64_t batch_id, const char *json)
{
    struct record_arg a = {batch_id, json};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_record_before_state: run is NULL");
    if (batch_id <= 0 || !json || !*json)
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_record_before_state: batch id "
                                           "%lld out of range or no JSON", (long long)batch_id));
    if (!run->ledger->store_vt.before_state_put)
        return bf__run_fail(run, unsupported(run->ledger));
    return bf__run_write(run, record_op, &a);
}

static int copy_out(void *userdata, const bf_store_before_state *st)
{
    char **out = userdata;

    bf__free(*out);
    if (!(*out = bf__strdup(st->state_json ? st->state_json : "")))
        return bf__nomem();
    return BF_OK;
}

int bf_run_before_state(char **json_out, bf_run *run, int64_t batch_id)
{
    bf_ledger *ledger;
    char *json = NULL, who[160];
    int rc;

    if (!json_out || !run)
        return bf__error(BF_E_INVALID, "bf_run_before_state: json_out and run are required");
    *json_out = NULL;
    ledger = run->ledger;
    if (batch_id <= 0)
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_before_state: batch id %lld out "
                                           "of range", (long long)batch_id));
    if (!ledger->store_vt.before_state_list)
        return bf__run_fail(run, unsupported(ledger));
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = BF__STORE(ledger, before_state_list, (ledger->db, run->id, batch_id, copy_out, &json));
        bf__ledger_rollback(ledger);
    }
    if (rc == BF_OK && !json)
        rc = bf__error(BF_E_NOT_FOUND, "%s has no before-state recorded for batch %lld",
                       bf__run_describe(run, who, sizeof who), (long long)batch_id);
    if (rc != BF_OK) {
        bf__free(json);
        return bf__run_fail(run, rc);
    }
    *json_out = json;
    return BF_OK;
}
