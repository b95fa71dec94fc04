/*
 * The shape of every change to a run and the moves it makes: one write
 * transaction that reads the run record and commits or rolls back, the
 * run's and a batch's moves with their audit events, reading a run's
 * records, and failures recorded on the run handle. Everything above this
 * file (runs, claims, batches, progress) calls down into it; it calls only
 * describe.c, the ledger handle (ledger.c) and the state tables.
 */
#include <stdio.h>

#include "ledger/ledger_internal.h"

/* Write the run's move to `to` (already judged legal) and its event. In a write transaction. */
int bf__run_write_move(bf_ledger *ledger, bf_store_run *rec, int to, const char *detail)
{
    int from = rec->state;
    int64_t now = bf__ledger_now(ledger);
    int rc;

    rec->state = to;
    rec->updated_at = now;
    if (to == BF_RUN_RUNNING && !rec->started_at)
        rec->started_at = now;
    if (!bf__run_unfinished(to))
        rec->finished_at = now;
    rc = BF__STORE(ledger, run_update, (ledger->db, rec));
    if (rc == BF_OK)
        rc = bf__ledger_event(ledger, rec->id, 0, "run", bf_run_state_name((bf_run_state)from),
                              bf_run_state_name((bf_run_state)to), detail);
    return rc;
}

int bf__run_move(bf_ledger *ledger, bf_store_run *rec, int to, const char *detail)
{
    char who[160];
    int from = rec->state;

    if (!bf__run_transition_legal(from, to))
        return bf__error(BF_E_STATE, "%s: cannot move from %s to %s",
                         bf__run_record_describe(rec, who, sizeof who),
                         bf_run_state_name((bf_run_state)from),
                         bf_run_state_name((bf_run_state)to) ? bf_run_state_name((bf_run_state)to)
                                                             : "an unknown state");
    return bf__run_write_move(ledger, rec, to, detail);
}

int bf__batch_move(bf_ledger *ledger, const bf_store_batch *b, int from, const char *detail)
{
    int rc = BF__STORE(ledger, batch_update, (ledger->db, b));

    if (rc == BF_OK)
        rc = bf__ledger_event(ledger, b->run_id, b->id, "batch",
                              bf_batch_state_name((bf_batch_state)from),
                              bf_batch_state_name((bf_batch_state)b->state), detail);
    return rc;
}

int bf__run_get(bf_run *run, bf_store_run *out)
{
    return BF__STORE(run->ledger, run_get, (run->ledger->db, out, run->id));
}

int bf__run_batch_get(bf_run *run, bf_store_batch *out, int64_t batch_id)
{
    char who[160];
    int rc = BF__STORE(run->ledger, batch_get, (run->ledger->db, out, batch_id));

    if (rc == BF_OK && out->run_id != run->id)
        rc = BF_E_NOT_FOUND;
    if (rc == BF_E_NOT_FOUND)
        return bf__error(BF_E_NOT_FOUND, "%s has no batch %lld",
                         bf__run_describe(run, who, sizeof who), (long long)batch_id);
    return rc;
}

struct id_list {
    int64_t *ids;
    size_t count;
    size_t cap;
};

static int collect_id(void *userdata, const bf_store_batch *b)
{
    struct id_list *list = userdata;

    if (bf__grow((void **)&list->ids, &list->cap, list->count + 1, sizeof *list->ids) != BF_OK)
        return bf__nomem();
    list->ids[list->count++] = b->id;
    return BF_OK;
}

int bf__run_batch_ids(int64_t **out, size_t *count, bf_ledger *ledger, int64_t run_id, int state)
{
    struct id_list list = {NULL, 0, 0};
    int rc = BF__STORE(ledger, batch_list, (ledger->db, run_id, state, collect_id, &list));

    if (rc != BF_OK) {
        bf__free(list.ids);
        return rc;
    }
    *out = list.ids;
    *count = list.count;
    return BF_OK;
}

int bf__run_fail(bf_run *run, int code)
{
    char who[160];

    if (code == BF_OK)
        code = bf__error(BF_E_INTERNAL, "%s: an operation failed without a status code",
                         bf__run_describe(run, who, sizeof who));
    else if (bf_last_error_code() != code || !bf_last_error()[0])
        bf__error(code, "%s: %s", bf__run_describe(run, who, sizeof who), bf_errdesc(code));
    bf__herror_from_thread(&run->err);
    return code;
}

int bf__run_write(bf_run *run, bf__run_op op, void *arg)
{
    bf_store_run rec;
    int rc = bf__ledger_begin(run->ledger, 1);

    if (rc != BF_OK)
        return bf__run_fail(run, rc);
    rc = bf__run_get(run, &rec);
    if (rc == BF_OK) {
        /* What the ledger said before the change: right even if the change rolls back. */
        run->state = rec.state;
        rc = op(run, &rec, arg);
    }
    if (rc == BF_OK)
        rc = bf__ledger_commit(run->ledger);
    else
        bf__ledger_rollback(run->ledger);
    if (rc != BF_OK)
        return bf__run_fail(run, rc);
    run->state = rec.state;
    return BF_OK;
}
