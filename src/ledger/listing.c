/*
 * Typed listings: runs, batches and audit events copied out of the store in
 * one read transaction, through the store's list members, into handles
 * with typed accessors. The JSON listings (progress.c) are made from these,
 * so there is one way of reading records back.
 *
 * A listing keeps the store's records as they are, each one's strings moved
 * into a single block of its own (one allocation per record, beside the
 * growing array).
 */
#include <string.h>

#include "ledger/ledger_internal.h"

struct bf_run_list {
    bf_store_run *items;
    char **blocks; /* items[i]'s strings */
    size_t count;
    size_t cap;
    size_t blocks_cap;
    const char *brief_name; /* the filter, while listing */
};

struct bf_batch_list {
    bf_store_batch *items;
    char **blocks;
    size_t count;
    size_t cap;
    size_t blocks_cap;
};

struct bf_event_list {
    bf_store_event *items;
    char **blocks;
    size_t count;
    size_t cap;
    size_t blocks_cap;
};

/*
 * Copy the strings `fields` point at into one new block (*block) and point
 * them there. NULL strings stay NULL; a record without strings gets no block.
 */
static int keep_strings(char **block, const char **fields[], size_t n)
{
    size_t need = 0, at = 0;

    *block = NULL;
    for (size_t i = 0; i < n; i++)
        if (*fields[i])
            need += strlen(*fields[i]) + 1;
    if (need == 0)
        return BF_OK;
    *block = bf__malloc(need);
    if (!*block)
        return bf__nomem();
    for (size_t i = 0; i < n; i++) {
        size_t len;

        if (!*fields[i])
            continue;
        len = strlen(*fields[i]) + 1;
        memcpy(*block + at, *fields[i], len);
        *fields[i] = *block + at;
        at += len;
    }
    return BF_OK;
}

/* Make room for one more item and its block in a listing's two arrays. */
static int make_room(void **items, size_t *cap, size_t elem, char ***blocks, size_t *blocks_cap,
                     size_t count)
{
    if (bf__grow(items, cap, count + 1, elem) != BF_OK ||
        bf__grow((void **)blocks, blocks_cap, count + 1, sizeof **blocks) != BF_OK)
        return bf__nomem();
    return BF_OK;
}

static void free_blocks(char **blocks, size_t count)
{
    for (size_t i = 0; i < count; i++)
        bf__free(blocks[i]);
    bf__free(blocks);
}

static int event_collect(void *userdata, const bf_store_event *e);

/* ---- runs ---- */

static int run_collect(void *userdata, const bf_store_run *r)
{
    bf_run_list *list = userdata;
    bf_store_run *item;
    int rc;

    if (list->brief_name && (!r->brief_name || strcmp(r->brief_name, list->brief_name) != 0))
        return BF_OK;
    rc = make_room((void **)&list->items, &list->cap, sizeof *list->items, &list->blocks,
                   &list->blocks_cap, list->count);
    if (rc != BF_OK)
        return rc;
    item = &list->items[list->count];
    *item = *r;
    if (!item->brief_name)
        item->brief_name = "";
    {
        const char **fields[] = {&item->brief_name,  &item->brief_json,   &item->plan_fingerprint,
                                 &item->plan_column, &item->code_version, &item->operator_name,
                                 &item->params_json};

        rc = keep_strings(&list->blocks[list->count], fields, BF_ARRAY_LEN(fields));
    }
    if (rc == BF_OK)
        list->count++;
    return rc;
}

void bf_run_list_free(bf_run_list *list)
{
    if (!list)
        return;
    free_blocks(list->blocks, list->count);
    bf__free(list->items);
    bf__free(list);
}

int bf_ledger_runs(bf_run_list **out, bf_ledger *ledger, const char *brief_name)
{
    bf_run_list *list;
    int rc;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_ledger_runs: out and ledger are required");
    *out = NULL;
    list = bf__calloc(1, sizeof *list);
    if (!list)
        return bf__ledger_fail(ledger, bf__nomem());
    list->brief_name = brief_name;
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = BF__STORE(ledger, run_list, (ledger->db, run_collect, list));
        bf__ledger_rollback(ledger);
    }
    list->brief_name = NULL;
    if (rc != BF_OK) {
        bf_run_list_free(list);
        return bf__ledger_fail(ledger, rc);
    }
    *out = list;
    return BF_OK;
}

/* The run at index i, or NULL out of range. */
static const bf_store_run *run_at(const bf_run_list *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

size_t bf_run_list_count(const bf_run_list *list)
{
    return list ? list->count : 0;
}

#define RUN_INT(name, field) \
    int64_t bf_run_list_##name(const bf_run_list *list, size_t i) \
    { \
        const bf_store_run *r = run_at(list, i); \
        return r ? r->field : 0; \
    }

#define RUN_TEXT(name, field) \
    const char *bf_run_list_##name(const bf_run_list *list, size_t i) \
    { \
        const bf_store_run *r = run_at(list, i); \
        return r ? r->field : NULL; \
    }

RUN_INT(id, id)
RUN_INT(seq, seq)
RUN_TEXT(brief_name, brief_name)
RUN_TEXT(plan_fingerprint, plan_fingerprint)
RUN_TEXT(column, plan_column)
RUN_TEXT(code_version, code_version)
RUN_TEXT(operator, operator_name)
RUN_TEXT(params_json, params_json)
RUN_TEXT(brief_json, brief_json)
RUN_INT(max_concurrency, max_concurrency)
RUN_INT(max_attempts, max_attempts)
RUN_INT(retry_backoff_us, retry_backoff_us)
RUN_INT(lease_us, lease_us)
RUN_INT(batch_count, batch_count)
RUN_INT(created_at, created_at)
RUN_INT(started_at, started_at)
RUN_INT(updated_at, updated_at)
RUN_INT(finished_at, finished_at)

int bf_run_list_state(const bf_run_list *list, size_t i)
{
    const bf_store_run *r = run_at(list, i);

    return r ? r->state : BF_E_INVALID;
}

bf_dimension bf_run_list_dimension(const bf_run_list *list, size_t i)
{
    const bf_store_run *r = run_at(list, i);

    return r ? (bf_dimension)r->dimension : (bf_dimension)0;
}

/* ---- batches ---- */

static int batch_collect(void *userdata, const bf_store_batch *b)
{
    bf_batch_list *list = userdata;
    bf_store_batch *item;
    int rc = make_room((void **)&list->items, &list->cap, sizeof *list->items, &list->blocks,
                       &list->blocks_cap, list->count);

    if (rc != BF_OK)
        return rc;
    item = &list->items[list->count];
    *item = *b;
    if (!item->label)
        item->label = "";
    {
        const char **fields[] = {&item->label,    &item->params_json, &item->worker,
                                 &item->fp_before, &item->fp_after,    &item->idempotency_key,
                                 &item->error};

        rc = keep_strings(&list->blocks[list->count], fields, BF_ARRAY_LEN(fields));
    }
    if (rc == BF_OK)
        list->count++;
    return rc;
}

void bf_batch_list_free(bf_batch_list *list)
{
    if (!list)
        return;
    free_blocks(list->blocks, list->count);
    bf__free(list->items);
    bf__free(list);
}

/* Read the run's batches (state >= -1) or, with state == -2, its events into `list`. */
static int run_listing(bf_run *run, int state, void *list)
{
    bf_ledger *ledger = run->ledger;
    int rc = bf__ledger_begin(ledger, 0);

    if (rc == BF_OK) {
        if (state == -2)
            rc = BF__STORE(ledger, event_list, (ledger->db, run->id, event_collect, list));
        else
            rc = BF__STORE(ledger, batch_list, (ledger->db, run->id, state, batch_collect, list));
        bf__ledger_rollback(ledger);
    }
    return rc;
}

int bf_run_batches(bf_batch_list **out, bf_run *run, int state)
{
    bf_batch_list *list;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_batches: out and run are required");
    *out = NULL;
    if (state >= 0 && !bf_batch_state_name((bf_batch_state)state))
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_batches: %d is no batch state "
                                           "(0 to %d, or < 0 for all)", state, BF_BATCH_SPLIT));
    list = bf__calloc(1, sizeof *list);
    if (!list)
        return bf__run_fail(run, bf__nomem());
    rc = run_listing(run, state < 0 ? -1 : state, list);
    if (rc != BF_OK) {
        bf_batch_list_free(list);
        return bf__run_fail(run, rc);
    }
    *out = list;
    return BF_OK;
}

static const bf_store_batch *batch_at(const bf_batch_list *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

size_t bf_batch_list_count(const bf_batch_list *list)
{
    return list ? list->count : 0;
}

#define BATCH_INT(name, field) \
    int64_t bf_batch_list_##name(const bf_batch_list *list, size_t i) \
    { \
        const bf_store_batch *b = batch_at(list, i); \
        return b ? b->field : 0; \
    }

#define BATCH_TEXT(name, field) \
    const char *bf_batch_list_##name(const bf_batch_list *list, size_t i) \
    { \
        const bf_store_batch *b = batch_at(list, i); \
        return b ? b->field : NULL; \
    }

BATCH_INT(id, id)
BATCH_INT(ordinal, ordinal)
BATCH_INT(parent_id, parent_id)
BATCH_TEXT(label, label)
BATCH_INT(lo, lo)
BATCH_INT(hi, hi)
BATCH_TEXT(params_json, params_json)
BATCH_INT(token, token)
BATCH_INT(attempt, attempt)
BATCH_INT(lease_until, lease_until)
BATCH_INT(not_before, not_before)
BATCH_TEXT(worker, worker)
BATCH_INT(started_at, started_at)
BATCH_INT(finished_at, finished_at)
BATCH_INT(duration_us, duration_us)
BATCH_INT(rows_written, rows_written)
BATCH_INT(rows_deleted, rows_deleted)
BATCH_TEXT(fingerprint_before, fp_before)
BATCH_TEXT(fingerprint_after, fp_after)
BATCH_TEXT(idempotency_key, idempotency_key)
BATCH_TEXT(error, error)

int bf_batch_list_state(const bf_batch_list *list, size_t i)
{
    const bf_store_batch *b = batch_at(list, i);

    return b ? b->state : BF_E_INVALID;
}

bf_dimension bf_batch_list_dimension(const bf_batch_list *list, size_t i)
{
    const bf_store_batch *b = batch_at(list, i);

    return b ? (bf_dimension)b->dimension : (bf_dimension)0;
}

/* ---- events ---- */

static int event_collect(void *userdata, const bf_store_event *e)
{
    bf_event_list *list = userdata;
    bf_store_event *item;
    int rc = make_room((void **)&list->items, &list->cap, sizeof *list->items, &list->blocks,
                       &list->blocks_cap, list->count);

    if (rc != BF_OK)
        return rc;
    item = &list->items[list->count];
    *item = *e;
    if (!item->subject)
        item->subject = "";
    {
        const char **fields[] = {&item->subject, &item->from_state, &item->to_state,
                                 &item->actor,   &item->detail};

        rc = keep_strings(&list->blocks[list->count], fields, BF_ARRAY_LEN(fields));
    }
    if (rc == BF_OK)
        list->count++;
    return rc;
}

void bf_event_list_free(bf_event_list *list)
{
    if (!list)
        return;
    free_blocks(list->blocks, list->count);
    bf__free(list->items);
    bf__free(list);
}

int bf_run_events(bf_event_list **out, bf_run *run)
{
    bf_event_list *list;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_events: out and run are required");
    *out = NULL;
    list = bf__calloc(1, sizeof *list);
    if (!list)
        return bf__run_fail(run, bf__nomem());
    rc = run_listing(run, -2, list);
    if (rc != BF_OK) {
        bf_event_list_free(list);
        return bf__run_fail(run, rc);
    }
    *out = list;
    return BF_OK;
}

static const bf_store_event *event_at(const bf_event_list *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

size_t bf_event_list_count(const bf_event_list *list)
{
    return list ? list->count : 0;
}

#define EVENT_INT(name, field) \
    int64_t bf_event_list_##name(const bf_event_list *list, size_t i) \
    { \
        const bf_store_event *e = event_at(list, i); \
        return e ? e->field : 0; \
    }

#define EVENT_TEXT(name, field) \
    const char *bf_event_list_##name(const bf_event_list *list, size_t i) \
    { \
        const bf_store_event *e = event_at(list, i); \
        return e ? e->field : NULL; \
    }

EVENT_INT(seq, seq)
EVENT_INT(batch_id, batch_id)
EVENT_TEXT(subject, subject)
EVENT_TEXT(from, from_state)
EVENT_TEXT(to, to_state)
EVENT_TEXT(actor, actor)
EVENT_INT(at, at)
EVENT_TEXT(detail, detail)

/* The number of a run or batch state name (by the event's subject), or -1. */
static int state_number(const char *subject, const char *name)
{
    int batch = strcmp(subject, "batch") == 0;

    if (!name || (!batch && strcmp(subject, "run") != 0))
        return BF_E_INVALID;
    for (int s = 0; s < BF_STORE_MAX_STATES; s++) {
        const char *known = batch ? bf_batch_state_name((bf_batch_state)s)
                                  : bf_run_state_name((bf_run_state)s);

        if (known && strcmp(known, name) == 0)
            return s;
    }
    return BF_E_INVALID;
}

int bf_event_list_from_state(const bf_event_list *list, size_t i)
{
    const bf_store_event *e = event_at(list, i);

    return e ? state_number(e->subject, e->from_state) : BF_E_INVALID;
}

int bf_event_list_to_state(const bf_event_list *list, size_t i)
{
    const bf_store_event *e = event_at(list, i);

    return e ? state_number(e->subject, e->to_state) : BF_E_INVALID;
}
