/*
 * The claim's view of a run in the SQLite store: its listed batches in plan
 * order (the partial index batches_listed), from which a claim counts the
 * live leases, finds an expired one, and takes the first claimable pending
 * batch.
 *
 * Claims take the first claimable pending batch in plan order and a batch
 * that was never claimed is always claimable, so no batch after the first
 * never-claimed one (a "fresh" batch of the plan, not a split half) has
 * ever been claimed: the walk stops there, and reads only the batches that
 * are or were in play. Finished batches stay listed until a walk has
 * stepped over PRUNE_AT of them; it then unlists them together, so one
 * index change serves many transitions.
 */
#include <string.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

#define PRUNE_AT 16
#define PRUNE_MAX 64

struct walk {
    int64_t live;    /* running with a lease that lasts past now */
    int64_t expired; /* a running batch whose lease has lapsed, or 0 */
    int64_t next;    /* the first pending batch claimable now, or 0 */
    int64_t finished[PRUNE_MAX];
    size_t nfinished;
};

static int unlist_finished(sq_store *s, const struct walk *w)
{
    sqlite3_stmt *st = NULL;
    int rc = BF_OK;

    /* Housekeeping belongs to the caller's write transaction; a reader leaves it for later. */
    if (w->nfinished < PRUNE_AT || sqlite3_txn_state(s->db, NULL) != SQLITE_TXN_WRITE)
        return BF_OK;
    for (size_t i = 0; rc == BF_OK && i < w->nfinished; i++) {
        rc = sq_stmt(&st, s, SQ_BATCH_UNLIST);
        if (rc != BF_OK)
            break;
        sqlite3_bind_int64(st, 1, w->finished[i]);
        rc = sqlite3_step(st);
        sqlite3_reset(st);
        rc = rc == SQLITE_DONE ? BF_OK : sq_fail(s, rc, "unlisting finished batches");
    }
    return rc;
}

/* Walk the run's listed batches; with `to_claimable`, stop at the first claimable one. */
static int walk(struct walk *w, sq_store *s, int64_t run_id, int64_t now, int to_claimable)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BATCH_SCAN);
    int step;

    memset(w, 0, sizeof *w);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        int state = sqlite3_column_int(st, 1);

        if (state == 1) {
            if (sqlite3_column_int64(st, 2) > now)
                w->live++;
            else if (!w->expired)
                w->expired = id;
        } else if (state == 0) {
            if (!w->next && sqlite3_column_int64(st, 3) <= now) {
                w->next = id;
                if (to_claimable)
                    break;
            }
            if (sqlite3_column_int64(st, 4) == 0 && sqlite3_column_int64(st, 5) == 0)
                break; /* fresh: every batch after it is fresh and pending too */
        } else if (w->nfinished < PRUNE_MAX) {
            w->finished[w->nfinished++] = id;
        }
    }
    sqlite3_reset(st);
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return sq_fail(s, step, "reading the open batches");
    return unlist_finished(s, w);
}

int sq_batch_running(int64_t *out_live, int64_t *out_expired, void *store, int64_t run_id,
                     int64_t now)
{
    struct walk w;
    int rc = walk(&w, store, run_id, now, 0);

    if (rc == BF_OK) {
        *out_live = w.live;
        *out_expired = w.expired;
    }
    return rc;
}

int sq_batch_next_pending(bf_store_batch *out, void *store, int64_t run_id, int64_t now)
{
    struct walk w;
    int rc = walk(&w, store, run_id, now, 1);

    if (rc != BF_OK)
        return rc;
    if (!w.next)
        return BF_E_NOT_FOUND;
    return sq_batch_get(out, store, w.next);
}
