/*
 * Validation results in the ledger: recording them for a batch or the run
 * (with the settle rule: a passing batch becomes validated, a failure pauses
 * the run), and the typed listing that reads them back. The ledger does not
 * know the validator: it keeps the results JSON and the tally it is given.
 */
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_internal.h"

struct record_arg {
    int64_t batch_id;
    const char *results_json;
    const int64_t *tally;
    const char *failure;
    unsigned flags;
};

static int unsupported(bf_ledger *ledger)
{
    return bf__error(BF_E_UNSUPPORTED, "ledger %s: the store keeps no validation results "
                     "(store vtable version %u; validation_put and validation_list came in 2)",
                     ledger->path, ledger->store_vt.version);
}

static int settle(bf_run *run, bf_store_run *rec, const struct record_arg *a,
                  bf_store_batch *b)
{
    char detail[600];

    if (!a->failure) {
        if (a->batch_id > 0 && b->state == BF_BATCH_COMPLETED) {
            b->state = BF_BATCH_VALIDATED;
            return bf__batch_move(run->ledger, b, BF_BATCH_COMPLETED, "validation passed");
        }
        return BF_OK;
    }
    if (rec->state == BF_RUN_PAUSED || !bf__run_transition_legal(rec->state, BF_RUN_PAUSED))
        return BF_OK;
    if (a->batch_id > 0)
        snprintf(detail, sizeof detail, "validation failed: batch %s: %s", b->label, a->failure);
    else
        snprintf(detail, sizeof detail, "validation failed: %s", a->failure);
    return bf__run_move(run->ledger, rec, BF_RUN_PAUSED, detail);
}

static int record_op(bf_run *run, bf_store_run *rec, void *arg)
{
    const struct record_arg *a = arg;
    bf_ledger *ledger = run->ledger;
    bf_store_validation v;
    bf_store_batch b;
    char who[160];
    int rc = BF_OK;

    memset(&b, 0, sizeof b);
    if (a->batch_id > 0) {
        rc = bf__run_batch_get(run, &b, a->batch_id);
        if (rc != BF_OK)
            return rc;
        if ((a->flags & BF_VALIDATION_SETTLE) && b.state != BF_BATCH_COMPLETED &&
            b.state != BF_BATCH_VALIDATED)
            return bf__error(BF_E_STATE, "batch %lld (%s) of %s is %s: only a completed batch is "
                             "settled by validation", (long long)b.id, b.label,
                             bf__run_describe(run, who, sizeof who),
                             bf_batch_state_name((bf_batch_state)b.state));
    }
    memset(&v, 0, sizeof v);
    v.run_id = run->id;
    v.batch_id = a->batch_id;
    v.passed = a->failure == NULL;
    for (int i = 0; i < 5; i++)
        v.tally[i] = a->tally ? a->tally[i] : 0;
    v.results_json = a->results_json ? a->results_json : "{}";
    v.created_at = v.updated_at = bf__ledger_now(ledger);
    rc = BF__STORE(ledger, validation_put, (ledger->db, &v));
    if (rc == BF_OK && (a->flags & BF_VALIDATION_SETTLE))
        rc = settle(run, rec, a, &b);
    return rc;
}

int bf__run_settle_locked(bf_run *run, int64_t batch_id, const char *results_json,
                          const int64_t tally[5], const char *failure)
{
    struct record_arg a = {batch_id, results_json, tally, failure, BF_VALIDATION_SETTLE};
    bf_store_run rec;
    int rc;

    for (int i = 0; tally && i < 5; i++)
        if (tally[i] < 0)
            return bf__error(BF_E_INVALID, "bf_run_complete: negative validation tally");
    if (!run->ledger->store_vt.validation_put)
        return unsupported(run->ledger);
    rc = bf__run_get(run, &rec);
    if (rc == BF_OK)
        rc = record_op(run, &rec, &a);
    if (rc == BF_OK)
        run->state = rec.state; /* a failure paused the run */
    return rc;
}

int bf_run_record_validation(bf_run *run, int64_t batch_id, const char *results_json,
                             const int64_t tally[5], const char *failure, unsigned flags)
{
    struct record_arg a = {batch_id, results_json, tally, failure, flags};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_record_validation: run is NULL");
    if (batch_id < 0 || (flags & ~BF_VALIDATION_SETTLE))
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_record_validation: batch id "
                                           "%lld or flags 0x%x out of range",
                                           (long long)batch_id, flags));
    for (int i = 0; tally && i < 5; i++)
        if (tally[i] < 0)
            return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_record_validation: "
                                               "negative tally"));
    if (!run->ledger->store_vt.validation_put)
        return bf__run_fail(run, unsupported(run->ledger));
    return bf__run_write(run, record_op, &a);
}

/* ---- the listing ---- */

struct bf_validation_list {
    bf_store_validation *items;
    size_t count, cap;
};

static int collect(void *userdata, const bf_store_validation *v)
{
    bf_validation_list *list = userdata;
    char *copy;

    if (bf__grow((void **)&list->items, &list->cap, list->count + 1, sizeof *list->items) != BF_OK)
        return bf__nomem();
    if (!(copy = bf__strdup(v->results_json ? v->results_json : "{}")))
        return bf__nomem();
    list->items[list->count] = *v;
    list->items[list->count].results_json = copy;
    list->count++;
    return BF_OK;
}

void bf_validation_list_free(bf_validation_list *list)
{
    if (!list)
        return;
    for (size_t i = 0; i < list->count; i++)
        bf__free((char *)list->items[i].results_json);
    bf__free(list->items);
    bf__free(list);
}

int bf_run_validations(bf_validation_list **out, bf_run *run, int64_t batch_id)
{
    bf_validation_list *list;
    bf_ledger *ledger;
    int rc;

    if (!out || !run)
        return bf__error(BF_E_INVALID, "bf_run_validations: out and run are required");
    *out = NULL;
    ledger = run->ledger;
    if (!ledger->store_vt.validation_list)
        return bf__run_fail(run, unsupported(ledger));
    if (!(list = bf__calloc(1, sizeof *list)))
        return bf__run_fail(run, bf__nomem());
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = BF__STORE(ledger, validation_list,
                       (ledger->db, run->id, batch_id < 0 ? -1 : batch_id, collect, list));
        bf__ledger_rollback(ledger);
    }
    if (rc != BF_OK) {
        bf_validation_list_free(list);
        return bf__run_fail(run, rc);
    }
    *out = list;
    return BF_OK;
}

static const bf_store_validation *at(const bf_validation_list *list, size_t i)
{
    return list && i < list->count ? &list->items[i] : NULL;
}

size_t bf_validation_list_count(const bf_validation_list *list)
{
    return list ? list->count : 0;
}

int64_t bf_validation_list_batch_id(const bf_validation_list *list, size_t i)
{
    return at(list, i) ? at(list, i)->batch_id : 0;
}

int bf_validation_list_passed(const bf_validation_list *list, size_t i)
{
    return at(list, i) ? at(list, i)->passed != 0 : BF_E_INVALID;
}

int64_t bf_validation_list_tally(const bf_validation_list *list, size_t i, int outcome)
{
    return at(list, i) && outcome >= 0 && outcome < 5 ? at(list, i)->tally[outcome] : 0;
}

const char *bf_validation_list_results_json(const bf_validation_list *list, size_t i)
{
    return at(list, i) ? at(list, i)->results_json : NULL;
}

int64_t bf_validation_list_created_at(const bf_validation_list *list, size_t i)
{
    return at(list, i) ? at(list, i)->created_at : 0;
}

int64_t bf_validation_list_updated_at(const bf_validation_list *list, size_t i)
{
    return at(list, i) ? at(list, i)->updated_at : 0;
}
