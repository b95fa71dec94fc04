/*
 * Reading a ledger back: a run's progress with its ETA, and the runs,
 * batches and audit events as JSON for hosts, the CLI and bindings.
 */
#include <jansson.h>
#include <string.h>

#include "common/json.h"
#include "ledger/ledger_internal.h"
#include "ledger/versions.h"

static void fill_progress(bf_progress *p, const bf_store_run *rec, const bf_store_counts *c,
                          int64_t now)
{
    int64_t remaining, lanes, end;

    p->state = (bf_run_state)rec->state;
    p->pending = c->by_state[BF_BATCH_PENDING];
    p->running = c->by_state[BF_BATCH_RUNNING];
    p->completed = c->by_state[BF_BATCH_COMPLETED];
    p->validated = c->by_state[BF_BATCH_VALIDATED];
    p->failed = c->by_state[BF_BATCH_FAILED];
    p->cancelled = c->by_state[BF_BATCH_CANCELLED];
    p->rolled_back = c->by_state[BF_BATCH_ROLLED_BACK];
    p->split = c->by_state[BF_BATCH_SPLIT];
    p->total = p->pending + p->running + p->completed + p->validated + p->failed + p->cancelled +
               p->rolled_back;
    p->rows_written = c->rows_written;
    p->rows_deleted = c->rows_deleted;
    end = rec->finished_at ? rec->finished_at : now;
    p->elapsed_s = rec->started_at ? (double)(end - rec->started_at) / 1e6 : 0.0;
    remaining = p->pending + p->running;
    lanes = rec->max_concurrency < remaining ? rec->max_concurrency : remaining;
    if (remaining == 0)
        p->eta_s = 0.0;
    else if (c->done_count == 0 || lanes < 1)
        p->eta_s = -1.0;
    else
        p->eta_s = (double)c->done_duration_us / (double)c->done_count * (double)remaining /
                   (double)lanes / 1e6;
}

int bf_run_progress(bf_progress *out, bf_run *run)
{
    bf_store_run rec;
    bf_store_counts counts;
    bf_progress full = BF_PROGRESS_INIT;
    bf_ledger *ledger;
    unsigned version;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_progress: out and run are required");
    if (bf__struct_version(&version, out, &bf__progress_desc, "bf_run_progress") != BF_OK)
        return bf__run_fail(run, BF_E_ABI);
    ledger = run->ledger;
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = bf__run_get(run, &rec);
        if (rc == BF_OK)
            rc = BF__STORE(ledger, batch_counts, (ledger->db, &counts, run->id));
        bf__ledger_rollback(ledger);
    }
    if (rc != BF_OK)
        return bf__run_fail(run, rc);
    run->state = rec.state;
    fill_progress(&full, &rec, &counts, bf__ledger_now(ledger));
    bf__struct_write(out, &full, &bf__progress_desc); /* up to the host's version */
    return BF_OK;
}

/* Hand a JSON value over as text the caller frees with bf_free(); consumes the value. */
static int dump_json(char **out, json_t *value)
{
    int rc = bf__json_dump(out, value, JSON_PRESERVE_ORDER | JSON_COMPACT);

    json_decref(value);
    return rc;
}

/* Embedded JSON text as a value (or as a string when it does not parse). */
static json_t *embedded(const char *text)
{
    json_t *v;

    if (!text)
        return json_null();
    v = bf__json_loads(text, JSON_DECODE_ANY, NULL);
    return v ? v : json_string(text);
}

/* Append `item` (consumed) to `array`; BF_E_NOMEM when either failed. */
static int append(json_t *array, json_t *item)
{
    if (!item || json_array_append_new(array, item) != 0)
        return bf__nomem();
    return BF_OK;
}

static int run_item(void *userdata, const bf_store_run *r)
{
    return append(userdata,
                  json_pack("{s:I, s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:I, s:I, "
                            "s:f, s:f, s:I, s:I, s:I, s:I, s:I, s:o}",
                            "id", (json_int_t)r->id, "brief", r->brief_name, "seq",
                            (json_int_t)r->seq, "state", bf_run_state_name((bf_run_state)r->state),
                            "plan_fingerprint", r->plan_fingerprint, "dimension",
                            bf_dimension_name((bf_dimension)r->dimension), "column",
                            r->plan_column, "code_version", r->code_version, "operator",
                            r->operator_name, "params", embedded(r->params_json),
                            "max_concurrency", (json_int_t)r->max_concurrency, "max_attempts",
                            (json_int_t)r->max_attempts, "retry_backoff_s",
                            (double)r->retry_backoff_us / 1e6, "lease_s",
                            (double)r->lease_us / 1e6, "batches", (json_int_t)r->batch_count,
                            "created_at_us", (json_int_t)r->created_at, "started_at_us",
                            (json_int_t)r->started_at, "updated_at_us", (json_int_t)r->updated_at,
                            "finished_at_us", (json_int_t)r->finished_at, "brief_json",
                            embedded(r->brief_json)));
}

int bf_ledger_runs_json(char **out, bf_ledger *ledger)
{
    json_t *array;
    int rc;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_ledger_runs_json: out and ledger are required");
    array = json_array();
    if (!array)
        return bf__ledger_fail(ledger, bf__nomem());
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = BF__STORE(ledger, run_list, (ledger->db, run_item, array));
        bf__ledger_rollback(ledger);
    }
    if (rc != BF_OK) {
        json_decref(array);
        return bf__ledger_fail(ledger, rc);
    }
    rc = dump_json(out, array);
    return rc == BF_OK ? BF_OK : bf__ledger_fail(ledger, rc);
}

static int batch_item(void *userdata, const bf_store_batch *b)
{
    return append(userdata,
                  json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:s?, s:I, s:I, "
                            "s:I, s:I, s:f, s:I, s:I, s:s?, s:s?, s:s?, s:s?}",
                            "id", (json_int_t)b->id, "ordinal", (json_int_t)b->ordinal, "label",
                            b->label ? b->label : "", "state",
                            bf_batch_state_name((bf_batch_state)b->state), "attempt",
                            (json_int_t)b->attempt, "token", (json_int_t)b->token, "lo",
                            (json_int_t)b->lo, "hi", (json_int_t)b->hi, "params",
                            embedded(b->params_json), "parent_id", (json_int_t)b->parent_id,
                            "worker", b->worker, "lease_until_us", (json_int_t)b->lease_until,
                            "not_before_us", (json_int_t)b->not_before, "started_at_us",
                            (json_int_t)b->started_at, "finished_at_us",
                            (json_int_t)b->finished_at, "duration_s",
                            (double)b->duration_us / 1e6, "rows_written",
                            (json_int_t)b->rows_written, "rows_deleted",
                            (json_int_t)b->rows_deleted, "fingerprint_before", b->fp_before,
                            "fingerprint_after", b->fp_after, "idempotency_key",
                            b->idempotency_key, "error", b->error));
}

static int event_item(void *userdata, const bf_store_event *e)
{
    return append(userdata,
                  json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:I, s:s?}", "seq",
                            (json_int_t)e->seq, "batch_id", (json_int_t)e->batch_id, "subject",
                            e->subject ? e->subject : "", "from", e->from_state, "to",
                            e->to_state, "actor", e->actor, "at_us", (json_int_t)e->at, "detail",
                            e->detail));
}

/* List the run's batches (state >= -1) or, with state == -2, its events. */
static int run_listing(char **out, bf_run *run, int state)
{
    bf_ledger *ledger = run->ledger;
    json_t *array = json_array();
    int rc;

    if (!array)
        return bf__run_fail(run, bf__nomem());
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        if (state == -2)
            rc = BF__STORE(ledger, event_list, (ledger->db, run->id, event_item, array));
        else
            rc = BF__STORE(ledger, batch_list, (ledger->db, run->id, state, batch_item, array));
        bf__ledger_rollback(ledger);
    }
    if (rc == BF_OK)
        return dump_json(out, array) == BF_OK ? BF_OK : bf__run_fail(run, BF_E_NOMEM);
    json_decref(array);
    return bf__run_fail(run, rc);
}

int bf_run_batches_json(char **out, bf_run *run, int state)
{
    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_batches_json: out and run are required");
    return run_listing(out, run, state < 0 ? -1 : state);
}

int bf_run_events_json(char **out, bf_run *run)
{
    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_events_json: out and run are required");
    return run_listing(out, run, -2);
}
