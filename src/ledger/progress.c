/*
 * Reading a ledger back: a run's progress with its ETA, and the runs,
 * batches and audit events as JSON, made from the typed listings
 * (listing.c) for hosts that want the text.
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

static json_t *run_item(const bf_run_list *l, size_t i)
{
    return json_pack("{s:I, s:s, s:I, s:s, s:s, s:s?, s:s?, s:s?, s:s?, s:o, s:I, s:I, s:f, s:f, "
                     "s:I, s:I, s:I, s:I, s:I, s:o}",
                     "id", (json_int_t)bf_run_list_id(l, i), "brief", bf_run_list_brief_name(l, i),
                     "seq", (json_int_t)bf_run_list_seq(l, i), "state",
                     bf_run_state_name((bf_run_state)bf_run_list_state(l, i)), "plan_fingerprint",
                     bf_run_list_plan_fingerprint(l, i), "dimension",
                     bf_dimension_name(bf_run_list_dimension(l, i)), "column",
                     bf_run_list_column(l, i), "code_version", bf_run_list_code_version(l, i),
                     "operator", bf_run_list_operator(l, i), "params",
                     embedded(bf_run_list_params_json(l, i)), "max_concurrency",
                     (json_int_t)bf_run_list_max_concurrency(l, i), "max_attempts",
                     (json_int_t)bf_run_list_max_attempts(l, i), "retry_backoff_s",
                     (double)bf_run_list_retry_backoff_us(l, i) / 1e6, "lease_s",
                     (double)bf_run_list_lease_us(l, i) / 1e6, "batches",
                     (json_int_t)bf_run_list_batch_count(l, i), "created_at_us",
                     (json_int_t)bf_run_list_created_at(l, i), "started_at_us",
                     (json_int_t)bf_run_list_started_at(l, i), "updated_at_us",
                     (json_int_t)bf_run_list_updated_at(l, i), "finished_at_us",
                     (json_int_t)bf_run_list_finished_at(l, i), "brief_json",
                     embedded(bf_run_list_brief_json(l, i)));
}

int bf_ledger_runs_json(char **out, bf_ledger *ledger)
{
    bf_run_list *list;
    json_t *array;
    int rc;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_ledger_runs_json: out and ledger are required");
    rc = bf_ledger_runs(&list, ledger, NULL);
    if (rc != BF_OK)
        return rc;
    array = json_array();
    rc = array ? BF_OK : bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(list); i++)
        rc = append(array, run_item(list, i));
    bf_run_list_free(list);
    if (rc == BF_OK)
        rc = dump_json(out, array);
    else
        json_decref(array);
    return rc == BF_OK ? BF_OK : bf__ledger_fail(ledger, rc);
}

static json_t *batch_item(const bf_batch_list *l, size_t i)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:I, s:I, s:I, s:I, s:o, s:I, s:s?, s:I, s:I, s:I, s:I, "
                     "s:f, s:I, s:I, s:s?, s:s?, s:s?, s:s?}",
                     "id", (json_int_t)bf_batch_list_id(l, i), "ordinal",
                     (json_int_t)bf_batch_list_ordinal(l, i), "label", bf_batch_list_label(l, i),
                     "state", bf_batch_state_name((bf_batch_state)bf_batch_list_state(l, i)),
                     "attempt", (json_int_t)bf_batch_list_attempt(l, i), "token",
                     (json_int_t)bf_batch_list_token(l, i), "lo", (json_int_t)bf_batch_list_lo(l, i),
                     "hi", (json_int_t)bf_batch_list_hi(l, i), "params",
                     embedded(bf_batch_list_params_json(l, i)), "parent_id",
                     (json_int_t)bf_batch_list_parent_id(l, i), "worker",
                     bf_batch_list_worker(l, i), "lease_until_us",
                     (json_int_t)bf_batch_list_lease_until(l, i), "not_before_us",
                     (json_int_t)bf_batch_list_not_before(l, i), "started_at_us",
                     (json_int_t)bf_batch_list_started_at(l, i), "finished_at_us",
                     (json_int_t)bf_batch_list_finished_at(l, i), "duration_s",
                     (double)bf_batch_list_duration_us(l, i) / 1e6, "rows_written",
                     (json_int_t)bf_batch_list_rows_written(l, i), "rows_deleted",
                     (json_int_t)bf_batch_list_rows_deleted(l, i), "fingerprint_before",
                     bf_batch_list_fingerprint_before(l, i), "fingerprint_after",
                     bf_batch_list_fingerprint_after(l, i), "idempotency_key",
                     bf_batch_list_idempotency_key(l, i), "error", bf_batch_list_error(l, i));
}

static json_t *event_item(const bf_event_list *l, size_t i)
{
    return json_pack("{s:I, s:I, s:s, s:s?, s:s?, s:s?, s:I, s:s?}", "seq",
                     (json_int_t)bf_event_list_seq(l, i), "batch_id",
                     (json_int_t)bf_event_list_batch_id(l, i), "subject",
                     bf_event_list_subject(l, i), "from", bf_event_list_from(l, i), "to",
                     bf_event_list_to(l, i), "actor", bf_event_list_actor(l, i), "at_us",
                     (json_int_t)bf_event_list_at(l, i), "detail", bf_event_list_detail(l, i));
}

/* Dump an array the caller filled (rc says whether it did), recording a failure on the run. */
static int run_json(char **out, bf_run *run, json_t *array, int rc)
{
    if (rc == BF_OK)
        rc = dump_json(out, array);
    else
        json_decref(array);
    return rc == BF_OK ? BF_OK : bf__run_fail(run, rc);
}

int bf_run_batches_json(char **out, bf_run *run, int state)
{
    bf_batch_list *list;
    json_t *array;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_batches_json: out and run are required");
    rc = bf_run_batches(&list, run, state);
    if (rc != BF_OK)
        return rc;
    array = json_array();
    rc = array ? BF_OK : bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(list); i++)
        rc = append(array, batch_item(list, i));
    bf_batch_list_free(list);
    return run_json(out, run, array, rc);
}

int bf_run_events_json(char **out, bf_run *run)
{
    bf_event_list *list;
    json_t *array;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_events_json: out and run are required");
    rc = bf_run_events(&list, run);
    if (rc != BF_OK)
        return rc;
    array = json_array();
    rc = array ? BF_OK : bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(list); i++)
        rc = append(array, event_item(list, i));
    bf_event_list_free(list);
    return run_json(out, run, array, rc);
}
