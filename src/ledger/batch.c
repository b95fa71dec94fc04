/*
 * What happens to a claimed batch: heartbeats, completion and failure under
 * the fencing token, retry backoff; and the moves made by hand (validated,
 * rolled back, cancelled), the split of a failed key range, and the re-cut
 * of the key ranges no worker has claimed yet (adaptive sizing).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "backfill/fingerprint.h"
#include "common/json.h"
#include "ledger/ledger_internal.h"
#include "ledger/versions.h"

/* The batch must still be running under `token`; otherwise the caller's lease is gone. */
static int check_token(bf_run *run, const bf_store_batch *b, int64_t token, const char *doing)
{
    char who[160];

    if (b->state == BF_BATCH_RUNNING && b->token == token)
        return BF_OK;
    return bf__error(BF_E_LEASE_LOST, "batch %lld (%s) of %s: cannot %s with fencing token %lld: "
                     "the batch is %s with token %lld", (long long)b->id, b->label,
                     bf__run_describe(run, who, sizeof who), doing, (long long)token,
                     bf_batch_state_name((bf_batch_state)b->state), (long long)b->token);
}

struct token_arg {
    int64_t batch_id;
    int64_t token;
    const bf_batch_result *result;
    const char *message;
};

static int heartbeat_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct token_arg *t = arg;
    bf_store_batch b;
    int rc = bf__run_batch_get(run, &b, t->batch_id);

    if (rc == BF_OK)
        rc = check_token(run, &b, t->token, "extend the lease");
    if (rc != BF_OK)
        return rc;
    /* Not a transition: no event, so that frequent heartbeats stay cheap. */
    b.lease_until = bf__ledger_now(run->ledger) + rec->lease_us;
    return BF__STORE(run->ledger, batch_update, (run->ledger->db, &b));
}

int bf_run_heartbeat(bf_run *run, int64_t batch_id, int64_t token)
{
    struct token_arg t = {batch_id, token, NULL, NULL};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_heartbeat: run is NULL");
    return bf__run_write(run, heartbeat_op, &t);
}

static int complete_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct token_arg *t = arg;
    const bf_batch_result *r = t->result;
    int64_t now = bf__ledger_now(run->ledger);
    bf_store_batch b;
    char detail[96];
    int rc = bf__run_batch_get(run, &b, t->batch_id);

    (void)rec;
    if (rc == BF_OK)
        rc = check_token(run, &b, t->token, "complete");
    if (rc != BF_OK)
        return rc;
    b.state = BF_BATCH_COMPLETED;
    b.finished_at = now;
    /* Nobody holds the batch any more; worker stays who last held it, the one who wrote it. */
    b.lease_until = 0;
    b.error = NULL;
    if (r && r->duration_s > 0)
        b.duration_us = (int64_t)llround(r->duration_s * 1e6);
    else
        b.duration_us = now - b.started_at;
    if (b.duration_us < 1)
        b.duration_us = 1; /* a recorded duration marks the batch as done for the ETA */
    b.rows_written = r ? r->rows_written : 0;
    b.rows_deleted = r ? r->rows_deleted : 0;
    b.fp_before = r ? r->fingerprint_before : NULL;
    b.fp_after = r ? r->fingerprint_after : NULL;
    b.idempotency_key = r ? r->idempotency_key : NULL;
    snprintf(detail, sizeof detail, "token %lld, %lld rows written, %lld deleted",
             (long long)b.token, (long long)b.rows_written, (long long)b.rows_deleted);
    return bf__batch_move(run->ledger, &b, BF_BATCH_RUNNING, detail);
}

/*
 * complete_op reads no run record, so completion skips bf__run_write's
 * run read: a cycle costs one read less.
 */
int bf_run_complete(bf_run *run, int64_t batch_id, int64_t token, const bf_batch_result *result)
{
    struct token_arg t = {batch_id, token, result, NULL};
    unsigned version;
    int rc;

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_complete: run is NULL");
    if (result && bf__struct_version(&version, result, &bf__batch_result_desc,
                                     "bf_run_complete") != BF_OK)
        return bf__run_fail(run, BF_E_ABI);
    /* What rollback and status read back must be what the fields say: counts, fingerprints. */
    if (result && (result->rows_written < 0 || result->rows_deleted < 0))
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_complete: batch %lld: %s is "
                                           "negative (%lld): a count of rows",
                                           (long long)batch_id,
                                           result->rows_written < 0 ? "rows_written"
                                                                    : "rows_deleted",
                                           (long long)(result->rows_written < 0
                                                           ? result->rows_written
                                                           : result->rows_deleted)));
    for (int i = 0; result && i < 2; i++) {
        const char *text = i ? result->fingerprint_after : result->fingerprint_before;
        bf_fingerprint fp;

        if (text && text[0] && bf_fingerprint_parse(&fp, text) != BF_OK)
            return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_complete: batch %lld: %s "
                                               "'%.40s' is not a fingerprint (rows:32 hex digits)",
                                               (long long)batch_id,
                                               i ? "fingerprint_after" : "fingerprint_before",
                                               text));
    }
    rc = bf__ledger_begin(run->ledger, 1);
    if (rc == BF_OK)
        rc = complete_op(run, NULL, &t);
    if (rc == BF_OK && result && version >= 2 && result->validation_json)
        rc = bf__run_settle_locked(run, batch_id, result->validation_json,
                                   result->validation_tally, result->validation_failure);
    if (rc == BF_OK)
        rc = bf__ledger_commit(run->ledger);
    else
        bf__ledger_rollback(run->ledger);
    return rc == BF_OK ? BF_OK : bf__run_fail(run, rc);
}

static int fail_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct token_arg *t = arg;
    int64_t now = bf__ledger_now(run->ledger);
    int retry = rec->state == BF_RUN_PLANNED || rec->state == BF_RUN_RUNNING ||
                rec->state == BF_RUN_PAUSED;
    bf_store_batch b;
    char detail[1200];
    int rc = bf__run_batch_get(run, &b, t->batch_id);

    if (rc == BF_OK)
        rc = check_token(run, &b, t->token, "fail");
    if (rc != BF_OK)
        return rc;
    b.error = t->message;
    b.lease_until = 0;
    b.finished_at = now;
    if (retry && b.attempt < rec->max_attempts) {
        /* Doubling per attempt, capped at 2^16 times the base. */
        int shift = b.attempt > 17 ? 16 : (int)b.attempt - 1;
        int64_t wait = rec->retry_backoff_us << (shift > 0 ? shift : 0);

        b.state = BF_BATCH_PENDING;
        b.not_before = now + wait;
        bf__snprintf(detail, sizeof detail, "attempt %lld of %lld failed, retry after %.3f s: %s",
                 (long long)b.attempt, (long long)rec->max_attempts, (double)wait / 1e6, t->message);
    } else {
        b.state = BF_BATCH_FAILED;
        snprintf(detail, sizeof detail, "attempt %lld of %lld failed for good: %s",
                 (long long)b.attempt, (long long)rec->max_attempts, t->message);
    }
    return bf__batch_move(run->ledger, &b, BF_BATCH_RUNNING, detail);
}

int bf_run_fail(bf_run *run, int64_t batch_id, int64_t token, const char *message)
{
    struct token_arg t = {batch_id, token, NULL, message && message[0] ? message : "failed"};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_fail: run is NULL");
    return bf__run_write(run, fail_op, &t);
}

struct release_arg {
    int64_t batch_id;
    int64_t token;
    const char *detail;
};

static int release_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct release_arg *r = arg;
    bf_store_batch b;
    char detail[1200];
    int rc = bf__run_batch_get(run, &b, r->batch_id);

    if (rc == BF_OK)
        rc = check_token(run, &b, r->token, "release");
    if (rc != BF_OK)
        return rc;
    /* The claim is given back, not failed: it does not count as an attempt. */
    if (b.attempt > 0)
        b.attempt--;
    b.lease_until = 0;
    b.not_before = 0;
    b.state = rec->state == BF_RUN_CANCELLED ? BF_BATCH_CANCELLED : BF_BATCH_PENDING;
    bf__snprintf(detail, sizeof detail, "lease of token %lld released (%s)%s%s",
                 (long long)b.token, b.worker ? b.worker : "no worker",
                 r->detail ? ": " : "", r->detail ? r->detail : "");
    return bf__batch_move(run->ledger, &b, BF_BATCH_RUNNING, detail);
}

int bf_run_release(bf_run *run, int64_t batch_id, int64_t token, const char *detail)
{
    struct release_arg r = {batch_id, token, detail && detail[0] ? detail : NULL};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_release: run is NULL");
    return bf__run_write(run, release_op, &r);
}

struct mark_arg {
    int64_t batch_id;
    int to;
    const char *detail;
};

static int mark_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct mark_arg *m = arg;
    bf_store_batch b;
    char who[160];
    int from, rc = bf__run_batch_get(run, &b, m->batch_id);

    (void)rec;
    if (rc != BF_OK)
        return rc;
    from = b.state;
    if (!bf__batch_mark_legal(from, m->to))
        return bf__error(BF_E_STATE, "batch %lld (%s) of %s: cannot move from %s to %s",
                         (long long)b.id, b.label, bf__run_describe(run, who, sizeof who),
                         bf_batch_state_name((bf_batch_state)from),
                         bf_batch_state_name((bf_batch_state)m->to)
                             ? bf_batch_state_name((bf_batch_state)m->to)
                             : "an unknown state");
    if (from == BF_BATCH_RUNNING && b.lease_until > bf__ledger_now(run->ledger))
        return bf__error(BF_E_STATE, "batch %lld (%s) of %s is running, its lease held by %s "
                         "for %lld s more: it may still publish", (long long)b.id, b.label,
                         bf__run_describe(run, who, sizeof who), b.worker ? b.worker : "a worker",
                         (long long)((b.lease_until - bf__ledger_now(run->ledger)) / 1000000 + 1));
    b.state = m->to;
    if (m->to == BF_BATCH_FAILED)
        b.error = m->detail ? m->detail : "refused after completion";
    if (m->to == BF_BATCH_PENDING) {
        b.attempt = 0;
        b.not_before = 0;
    }
    return bf__batch_move(run->ledger, &b, from, m->detail);
}

int bf_run_mark_batch(bf_run *run, int64_t batch_id, bf_batch_state to, const char *detail)
{
    struct mark_arg m = {batch_id, (int)to, detail};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_mark_batch: run is NULL");
    return bf__run_write(run, mark_op, &m);
}

/* Insert a pending key-range batch [lo, hi) cut from `from` (a split half or a re-cut batch). */
static int insert_cut(int64_t *out, bf_ledger *ledger, const bf_store_run *rec, int64_t ordinal,
                      int64_t parent_id, int dimension, int64_t lo, int64_t hi, const char *detail)
{
    char label[256], params[64];
    bf_store_batch h;
    int rc;

    memset(&h, 0, sizeof h);
    snprintf(label, sizeof label, "%s [%lld, %lld)", rec->plan_column ? rec->plan_column : "key",
             (long long)lo, (long long)hi);
    snprintf(params, sizeof params, "{\"lo\":%lld,\"hi\":%lld}", (long long)lo, (long long)hi);
    h.run_id = rec->id;
    h.ordinal = ordinal;
    h.parent_id = parent_id;
    h.state = BF_BATCH_PENDING;
    h.dimension = dimension;
    h.label = label;
    h.lo = lo;
    h.hi = hi;
    h.params_json = params;
    rc = BF__STORE(ledger, batch_insert, (ledger->db, out, &h));
    if (rc == BF_OK)
        rc = bf__ledger_event(ledger, h.run_id, *out, "batch", NULL, "pending", detail);
    return rc;
}

static int insert_half(int64_t *out, bf_ledger *ledger, const bf_store_run *rec,
                       const bf_store_batch *parent, int64_t lo, int64_t hi)
{
    char detail[64];

    snprintf(detail, sizeof detail, "split from batch %lld", (long long)parent->id);
    return insert_cut(out, ledger, rec, parent->ordinal, parent->id, parent->dimension, lo, hi,
                      detail);
}

int bf__run_split_locked(int64_t out[2], bf_ledger *ledger, const bf_store_run *rec,
                         bf_store_batch *b)
{
    char who[160], detail[128];
    int64_t mid, ids[2];
    int rc;

    if (b->dimension != BF_DIM_KEY)
        return bf__error(BF_E_INVALID, "batch %lld (%s) of %s: only key-range batches split, "
                         "this one is a %s batch", (long long)b->id, b->label,
                         bf__run_record_describe(rec, who, sizeof who),
                         bf_dimension_name((bf_dimension)b->dimension));
    if (b->state != BF_BATCH_FAILED)
        return bf__error(BF_E_STATE, "batch %lld (%s) of %s: only failed batches split, this "
                         "one is %s", (long long)b->id, b->label,
                         bf__run_record_describe(rec, who, sizeof who),
                         bf_batch_state_name((bf_batch_state)b->state));
    if (b->hi - b->lo < 2)
        return bf__error(BF_E_INVALID, "batch %lld (%s) of %s: a range of %lld key cannot split",
                         (long long)b->id, b->label, bf__run_record_describe(rec, who, sizeof who),
                         (long long)(b->hi - b->lo));
    mid = b->lo + (b->hi - b->lo) / 2;
    snprintf(detail, sizeof detail, "split into [%lld, %lld) and [%lld, %lld)", (long long)b->lo,
             (long long)mid, (long long)mid, (long long)b->hi);
    b->state = BF_BATCH_SPLIT;
    rc = bf__batch_move(ledger, b, BF_BATCH_FAILED, detail);
    if (rc == BF_OK)
        rc = insert_half(&ids[0], ledger, rec, b, b->lo, mid);
    if (rc == BF_OK)
        rc = insert_half(&ids[1], ledger, rec, b, mid, b->hi);
    if (rc == BF_OK && out) {
        out[0] = ids[0];
        out[1] = ids[1];
    }
    return rc;
}

struct split_arg {
    int64_t batch_id;
    int64_t *out;
};

static int split_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct split_arg *s = arg;
    bf_store_batch b;
    int rc = bf__run_batch_get(run, &b, s->batch_id);

    return rc == BF_OK ? bf__run_split_locked(s->out, run->ledger, rec, &b) : rc;
}

int bf_run_split_batch(int64_t out[2], bf_run *run, int64_t batch_id)
{
    struct split_arg s = {batch_id, out};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_split_batch: run is NULL");
    return bf__run_write(run, split_op, &s);
}

/* ---- Resizing the batches no worker has claimed yet ---- */

struct tail_row {
    int64_t id, ordinal, parent_id, lo, hi;
};

/* The trailing stretch of plan order that no claim has touched, as batch_list walks it. */
struct tail {
    struct tail_row *rows;
    size_t count, cap;
    int blocked; /* a fresh batch of the plan lies before the stretch, cut off from it */
    int dimension; /* of the run's batches */
    int nomem;
};

static int untouched(const bf_store_batch *b)
{
    return b->state == BF_BATCH_PENDING && b->token == 0 && b->attempt == 0 &&
           b->dimension == BF_DIM_KEY;
}

static int tail_row(void *userdata, const bf_store_batch *b)
{
    struct tail *t = userdata;
    struct tail_row *last = t->count ? &t->rows[t->count - 1] : NULL;

    t->dimension = b->dimension;
    if (b->state == BF_BATCH_SPLIT)
        return BF_OK; /* replaced by its halves or an earlier re-cut, which follow it */
    if (!untouched(b) || (last && last->hi != b->lo && last->lo != b->hi)) {
        /*
         * The stretch so far is not the tail. Claims go in plan order, so
         * only split halves wait before claimed batches; a fresh batch of
         * the plan there (one before a batch cancelled by hand) keeps the
         * tail as it is, for a claim never passes a fresh batch.
         */
        for (size_t i = 0; i < t->count; i++)
            t->blocked |= t->rows[i].parent_id == 0;
        t->count = 0;
        if (!untouched(b))
            return BF_OK;
    }
    if (t->count == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct tail_row *rows = bf__realloc(t->rows, cap * sizeof *rows);

        if (!rows) {
            t->nomem = 1;
            return BF_E_NOMEM;
        }
        t->rows = rows;
        t->cap = cap;
    }
    t->rows[t->count++] = (struct tail_row){b->id, b->ordinal, b->parent_id, b->lo, b->hi};
    return BF_OK;
}

/* Batch k of [lo, hi) cut `width` keys at a time, from lo up, or from hi down. */
static void cut(int64_t *blo, int64_t *bhi, int64_t lo, int64_t hi, int64_t width, int desc,
                int64_t k)
{
    int64_t left = (hi - lo) - k * width, size = left < width ? left : width;

    *blo = desc ? hi - k * width - size : lo + k * width;
    *bhi = *blo + size;
}

struct resize_arg {
    int64_t width;
    const char *reason;
    int64_t *out;
};

static int resize_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct resize_arg *a = arg;
    bf_ledger *ledger = run->ledger;
    struct tail t = {NULL, 0, 0, 0, BF_DIM_KEY, 0};
    int64_t lo, hi, count, first_id = 0, last_id = 0, span;
    char who[160], detail[96];
    size_t n, at;
    int desc, same = 1, rc;
    json_t *j;
    char *text = NULL;

    *a->out = 0;
    rc = BF__STORE(ledger, batch_list, (ledger->db, rec->id, -1, tail_row, &t));
    if (t.nomem)
        rc = bf__nomem();
    if (rc == BF_OK && t.dimension != BF_DIM_KEY)
        rc = bf__error(BF_E_INVALID, "%s is planned by %s: only key-range batches are re-cut",
                       bf__run_record_describe(rec, who, sizeof who),
                       bf_dimension_name((bf_dimension)t.dimension));
    n = t.count;
    if (rc != BF_OK || n == 0 || t.blocked) {
        bf__free(t.rows);
        return rc;
    }
    desc = n >= 2 && t.rows[0].lo > t.rows[1].lo;
    lo = desc ? t.rows[n - 1].lo : t.rows[0].lo;
    hi = desc ? t.rows[0].hi : t.rows[n - 1].hi;
    span = hi - lo;
    count = span / a->width + (span % a->width != 0);
    if (count >= 1000000000 - (int64_t)rec->batch_count) {
        bf__free(t.rows);
        return bf__error(BF_E_INVALID, "%s: re-cutting keys [%lld, %lld) to width %lld makes "
                         "%lld batches; a run holds fewer than 10^9",
                         bf__run_record_describe(rec, who, sizeof who), (long long)lo,
                         (long long)hi, (long long)a->width, (long long)count);
    }
    /* Already cut this way: nothing to do. */
    for (size_t i = 0; i < n && same; i++) {
        int64_t blo, bhi;

        cut(&blo, &bhi, lo, hi, a->width, desc, (int64_t)i);
        same = (int64_t)n == count && t.rows[i].lo == blo && t.rows[i].hi == bhi;
    }
    if (same) {
        bf__free(t.rows);
        return BF_OK;
    }
    snprintf(detail, sizeof detail, "re-cut to width %lld", (long long)a->width);
    for (size_t i = 0; rc == BF_OK && i < n; i++) {
        bf_store_batch b;

        rc = BF__STORE(ledger, batch_get, (ledger->db, &b, t.rows[i].id));
        if (rc == BF_OK) {
            b.state = BF_BATCH_SPLIT;
            rc = bf__batch_move(ledger, &b, BF_BATCH_PENDING, detail);
        }
    }
    /* Each new batch keeps the plan position of the batch its first key was in. */
    at = 0;
    for (int64_t k = 0; rc == BF_OK && k < count; k++) {
        int64_t blo, bhi, first, id;

        cut(&blo, &bhi, lo, hi, a->width, desc, k);
        first = desc ? bhi - 1 : blo;

        while (at + 1 < n && !(t.rows[at].lo <= first && first < t.rows[at].hi))
            at++;
        snprintf(detail, sizeof detail, "re-cut from batch %lld", (long long)t.rows[at].id);
        rc = insert_cut(&id, ledger, rec, t.rows[at].ordinal, 0, BF_DIM_KEY, blo, bhi, detail);
        if (k == 0)
            first_id = id;
        last_id = id;
    }
    if (rc == BF_OK) {
        j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:s}", "width",
                      (json_int_t)a->width, "lo", (json_int_t)lo, "hi", (json_int_t)hi,
                      "replaced", (json_int_t)n, "replaced_first_id", (json_int_t)t.rows[0].id,
                      "batches", (json_int_t)count, "first_id", (json_int_t)first_id, "last_id",
                      (json_int_t)last_id, "reason", a->reason ? a->reason : "");
        rc = j ? bf__json_dump(&text, j, JSON_COMPACT) : bf__nomem();
        json_decref(j);
    }
    if (rc == BF_OK)
        rc = bf__ledger_event(ledger, rec->id, 0, "resize", NULL, NULL, text);
    if (rc == BF_OK)
        *a->out = count;
    bf__free(text);
    bf__free(t.rows);
    return rc;
}

int bf_run_resize_keys(int64_t *out, bf_run *run, int64_t width, const char *reason)
{
    int64_t count = 0;
    struct resize_arg a = {width, reason, &count};
    int rc;

    if (out)
        *out = 0;
    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_resize_keys: run is NULL");
    if (width < 1)
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_resize_keys: width must be at "
                                           "least 1, got %lld", (long long)width));
    rc = bf__run_write(run, resize_op, &a);
    if (rc == BF_OK && out)
        *out = count;
    return rc;
}
