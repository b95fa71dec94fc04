/*
 * The claim's view of a run in the SQLite store: its listed batches in plan
 * order (the partial index batches_listed), from which a claim counts the
 * live leases, finds an expired one, and takes the first claimable pending
 * batch.
 *
 * Claims take the first claimable pending batch in plan order and a batch
 * that was never claimed is always claimable, so no batch after the first
 * never-claimed one (a "fresh" batch: of the plan, or re-cut by a resize,
 * which replaces the never-claimed tail; not a split half, which waits
 * before claimed batches) has ever been claimed: the walk stops there, and
 * reads only the batches that are or were in play. A resize lists its
 * batches as it inserts them and leaves no fresh batch of the plan before
 * them (bf_run_resize_keys refuses to), so the walk meets them in order. The scan returns only pending and running batches:
 * finished ones still listed are passed over inside SQLite, without a step
 * each. They stay listed until this connection has finished UNLIST_AT
 * batches or lists the next window, when one UPDATE unlists finished
 * batches many at a time (see unlist_some). Fresh batches of the plan are
 * listed WINDOW at a time, when a claim finds no listed batch to take. So
 * one index change serves many transitions, and registering a plan writes
 * no index at all.
 *
 * The walk keeps the record of the claimable batch it found (the scan reads
 * every column), so that the claim that asks for it next, in the same
 * transaction and with nothing changed since, reads nothing more.
 */
#include <string.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

#define UNLIST_AT 16
/* The widest range of ids unlisted by range rather than through the index. */
#define UNLIST_SPAN (16 * UNLIST_AT)
#define WINDOW 64

/* Batch states, as the scan reads them (bf_batch_state). */
#define PENDING 0
#define RUNNING 1

struct walk {
    int64_t live;    /* running with a lease that lasts past now */
    int64_t expired; /* a running batch whose lease has lapsed, or 0 */
    int64_t next;    /* the first pending batch claimable now (s->walk_batch), or 0 */
    int64_t fresh;   /* the ordinal of the first fresh batch, or INT64_MAX when none is listed */
};

/*
 * Unlist the finished batches with ids from `lo` to `hi`: a search of the
 * table by id, not of the index the statement changes, so that SQLite
 * updates in one pass (an UPDATE that walks the index it changes first
 * copies the row ids into a temporary table: a new b-tree, page-size
 * allocations, ~90 us).
 */
static int unlist_range(sq_store *s, int64_t lo, int64_t hi)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BATCH_UNLIST_RANGE);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, lo);
    sqlite3_bind_int64(st, 2, hi);
    rc = sq_step_done(s, st, "unlisting finished batches");
    if (rc == BF_OK)
        s->finished_since_unlist = 0;
    return rc;
}

/*
 * Unlist every finished batch of the run before ordinal `before` (inside a
 * write transaction). No batch from the first fresh one on has ever been
 * claimed, so none there has finished by a claim: bounding the statement by
 * its ordinal spares it the rest of the window. When their ids lie close
 * together (the usual case: claims go in plan order) by id range, else
 * through the index.
 */
static int unlist_finished(sq_store *s, int64_t run_id, int64_t before)
{
    sqlite3_stmt *st = NULL;
    int64_t lo, hi;
    int rc = sq_stmt(&st, s, SQ_BATCH_FINISHED_SPAN);

    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, before);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_fail(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, "finding finished batches");
    }
    if (sqlite3_column_type(st, 0) == SQLITE_NULL) {
        sqlite3_reset(st);
        s->finished_since_unlist = 0; /* none is listed */
        return BF_OK;
    }
    lo = sqlite3_column_int64(st, 0);
    hi = sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (hi - lo < UNLIST_SPAN)
        return unlist_range(s, lo, hi);
    rc = sq_stmt(&st, s, SQ_BATCH_UNLIST);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, before);
    rc = sq_step_done(s, st, "unlisting finished batches");
    if (rc == BF_OK)
        s->finished_since_unlist = 0;
    return rc;
}

/*
 * Unlist the finished batches among the ids of those this connection
 * finished, when they lie close together (as a worker's claims do, in plan
 * order); otherwise every finished batch of the run before ordinal
 * `before`. Either is correct: a finished batch is out of play wherever it
 * lies, and one left listed is only passed over. Batches finished by other
 * workers, even dead ones, leave the list at the latest when the next
 * window is listed (unlist_finished).
 */
static int unlist_some(sq_store *s, int64_t run_id, int64_t before)
{
    if (!s->finished_since_unlist || s->finished_hi - s->finished_lo >= UNLIST_SPAN)
        return unlist_finished(s, run_id, before);
    return unlist_range(s, s->finished_lo, s->finished_hi);
}

/*
 * List the next window of fresh batches of the plan that are still pending
 * (skipping windows with none); *out is how many were listed, 0 when the
 * plan has no more.
 */
static int list_window(int64_t *out, sq_store *s, int64_t run_id)
{
    sqlite3_stmt *st = NULL;
    int64_t base = run_id * 1000000000, from, last;
    int rc = sq_stmt(&st, s, SQ_RUN_WINDOW);

    *out = 0;
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    rc = sqlite3_step(st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return sq_fail(s, rc == SQLITE_DONE ? SQLITE_INTERNAL : rc, "reading the claim window");
    }
    from = sqlite3_column_int64(st, 0) ? sqlite3_column_int64(st, 0) + 1 : base + 1;
    last = base + sqlite3_column_int64(st, 1);
    sqlite3_reset(st);
    if (from > last)
        return BF_OK;
    while (*out == 0 && from <= last) {
        int64_t to = from + WINDOW - 1 < last ? from + WINDOW - 1 : last;

        rc = sq_stmt(&st, s, SQ_BATCH_LIST_WINDOW);
        if (rc != BF_OK)
            return rc;
        sqlite3_bind_int64(st, 1, from);
        sqlite3_bind_int64(st, 2, to);
        rc = sq_step_done(s, st, "listing the next batches");
        if (rc != BF_OK)
            return rc;
        *out = sqlite3_changes(s->db);
        from = to + 1;
    }
    rc = sq_stmt(&st, s, SQ_RUN_SET_WINDOW);
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    sqlite3_bind_int64(st, 2, from - 1);
    return sq_step_done(s, st, "moving the claim window");
}

/* Walk the run's listed batches; with `to_claimable`, stop at the first claimable one. */
static int walk(struct walk *w, sq_store *s, int64_t run_id, int64_t now, int to_claimable)
{
    sqlite3_stmt *st = NULL;
    int rc = sq_stmt(&st, s, SQ_BATCH_SCAN);
    int writing, step;

    memset(w, 0, sizeof *w);
    w->fresh = INT64_MAX;
    if (rc != BF_OK)
        return rc;
    sqlite3_bind_int64(st, 1, run_id);
    /*
     * Columns of BATCH_COLUMNS: 0 id, 2 ordinal, 3 parent_id, 4 state, 10 token, 12 lease_until,
     * 13 not_before.
     */
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);

        if (sqlite3_column_int(st, 4) == RUNNING) {
            if (sqlite3_column_int64(st, 12) > now)
                w->live++;
            else if (!w->expired)
                w->expired = id;
            continue;
        }
        if (!w->next && sqlite3_column_int64(st, 13) <= now) {
            rc = sq_batch_row(&s->walk_batch, s, 2, st);
            if (rc != BF_OK)
                break;
            w->next = id;
            if (to_claimable) {
                /* Where it stops, unless it goes on to a fresh batch below. */
                if (sqlite3_column_int64(st, 10) == 0 && sqlite3_column_int64(st, 3) == 0)
                    w->fresh = sqlite3_column_int64(st, 2);
                else
                    w->fresh = 0; /* not known: unlist nothing before it on this walk */
                break;
            }
        }
        if (sqlite3_column_int64(st, 10) == 0 && sqlite3_column_int64(st, 3) == 0) {
            w->fresh = sqlite3_column_int64(st, 2);
            break; /* fresh: every batch after it is fresh and pending too */
        }
    }
    sqlite3_reset(st);
    if (rc != BF_OK)
        return rc;
    if (step != SQLITE_ROW && step != SQLITE_DONE)
        return sq_fail(s, step, "reading the open batches");
    /* Housekeeping belongs to the caller's write transaction; a reader leaves it for later. */
    writing = sqlite3_txn_state(s->db, NULL) == SQLITE_TXN_WRITE;
    if (writing && s->finished_since_unlist >= UNLIST_AT && w->fresh)
        rc = unlist_some(s, run_id, w->fresh);
    if (rc == BF_OK && step == SQLITE_DONE && to_claimable && !w->next && writing) {
        /* Every listed batch is in play: list the next fresh ones and look again. */
        int64_t listed;

        if (s->finished_since_unlist)
            rc = unlist_finished(s, run_id, INT64_MAX);
        if (rc == BF_OK)
            rc = list_window(&listed, s, run_id);
        if (rc == BF_OK && listed)
            return walk(w, s, run_id, now, to_claimable);
    }
    return rc;
}

int sq_batch_running(void *store, int64_t *out_live, int64_t *out_expired, int64_t run_id,
                     int64_t now)
{
    sq_store *s = store;
    struct walk w;
    int rc = walk(&w, s, run_id, now, 0);

    if (rc != BF_OK)
        return rc;
    *out_live = w.live;
    *out_expired = w.expired;
    /* A claim asks for the next batch right after: keep the answer while nothing changes. */
    s->walk_run = run_id;
    s->walk_now = now;
    s->walk_changes = sqlite3_total_changes(s->db);
    s->walk_next = w.next;
    return BF_OK;
}

int sq_batch_next_pending(void *store, bf_store_batch *out, int64_t run_id, int64_t now)
{
    sq_store *s = store;
    struct walk w;
    int rc;

    if (!(s->walk_next && s->walk_run == run_id && s->walk_now == now &&
          s->walk_changes == sqlite3_total_changes(s->db))) {
        rc = walk(&w, s, run_id, now, 1);
        if (rc != BF_OK)
            return rc;
        if (!w.next)
            return BF_E_NOT_FOUND;
    }
    /* Strings where batch_get keeps them: valid until the next read of a batch. */
    *out = s->walk_batch;
    rc = sq_batch_keep(out, s, 1);
    if (rc == BF_OK)
        rc = sq_known_set_batch(s, out);
    return rc;
}
