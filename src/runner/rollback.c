/*
 * bf_runner_rollback: one batch or the whole run back from the pre-images,
 * each undo proved by fingerprints.
 *
 * Before the cutover (and for the patterns that write in place) a batch is
 * undone by bf_driver_restore() in the table it was published into (the
 * target, or the shadow table of staging_swap and parallel_version), and
 * proved: the fingerprint of the batch's bounds there must be the one
 * recorded before the batch published. A whole run first checks that every
 * batch's rows are still what the batch left (the fingerprint recorded
 * after its publish), so a change since (another writer's, or a later
 * batch's that wrote into its bounds) refuses the rollback before
 * anything is restored; then restores newest first.
 *
 * After the cutover the target is the shadow table and the backup holds
 * the target as it was before: only the whole run is rolled back, by
 * swapping the backup back, and only when the target is still exactly what
 * the cutover made it (its fingerprint was recorded then) and the backup's
 * rows in every batch are those from before the batch published.
 */
#include <stdlib.h>
#include <string.h>

#include "common/json.h"
#include "driver/driver_internal.h"
#include "runner/runner_internal.h"

struct item {
    size_t row;        /* in the batch listing */
    int64_t id, finished;
    const char *label;
    const bf_batch *batch;
    const char *before;  /* recorded fingerprint_before, or NULL: skipped by idempotency */
    const char *after;   /* recorded fingerprint_after (NULL: a publish the ledger missed) */
    char unheard[64];    /* such a publish: the before-state's fingerprint, `before` points here */
    int restored;
    char now[64];
    char why[700];
};

struct rb {
    bf_runner *r;
    bf__settle s;
    bf_batch_list *bl;
    struct item *items;
    size_t count;
    int cut_over;
    char cutover_fp[64]; /* the target's fingerprint right after the cutover, or "" */
    json_t *refreshed;   /* the downstream assets refreshed again after the rollback */
};

static int newest_first(const void *a, const void *b)
{
    const struct item *x = a, *y = b;

    if (x->finished != y->finished)
        return x->finished < y->finished ? 1 : -1;
    return x->id < y->id ? 1 : x->id > y->id ? -1 : 0;
}

static int has_text(const char *s)
{
    return s && s[0];
}

/* Whether the run was cut over, and the target's fingerprint the cutover recorded. */
static int read_cutover(struct rb *c)
{
    bf_event_list *ev = NULL;
    int rc = bf__settle_records(&ev, &c->s);

    c->cut_over = 0;
    c->cutover_fp[0] = '\0';
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++) {
        if (strcmp(bf_event_list_subject(ev, i), "cutover") == 0) {
            json_t *o = bf__json_loads(bf_event_list_detail(ev, i), 0, NULL);
            const char *fp = json_string_value(json_object_get(o, "fingerprint"));

            c->cut_over = 1;
            bf__snprintf(c->cutover_fp, sizeof c->cutover_fp, "%s", fp ? fp : "");
            json_decref(o);
        }
    }
    bf_event_list_free(ev);
    return rc;
}

/*
 * Whether batch row `i`, claimed but not completed (running with its worker
 * gone, pending again, failed, cancelled), has a publish the ledger never
 * heard of: its worker died between the warehouse's commit and the
 * ledger's, and the batch's snapshot is in the warehouse. Such a batch is
 * undone with the others, proved against the before-state recorded before
 * that publish; without one it cannot be proved, and the rollback is refused.
 */
static int unheard_publish(struct rb *c, size_t i, struct item *it, int *yes)
{
    const bf_write_spec *spec = &c->s.job.spec;
    const char *worker = bf_batch_list_worker(c->bl, i);
    char *json = NULL;
    int64_t left;
    int rc;

    *yes = 0;
    if (bf_batch_list_token(c->bl, i) <= 0 || !spec->snapshot)
        return BF_OK;
    if ((rc = bf__settle_batch(&c->s, c->bl, i, &it->batch)) != BF_OK)
        return rc;
    if ((rc = bf__driver_snapshot_views(c->r->driver, spec->table, bf_run_id(c->s.run),
                                        bf_batch_ordinal(it->batch), yes, NULL, NULL)) != BF_OK ||
        !*yes)
        return rc;
    /* Its worker may be alive and about to tell the ledger: nothing is undone under it. */
    if (bf_batch_list_state(c->bl, i) == BF_BATCH_RUNNING &&
        (left = bf_batch_list_lease_until(c->bl, i) - bf__runner_ledger_now(c->r)) > 0)
        return bf__error(BF_E_STATE, "batch %s (id %lld) of run %lld is running (%s holds its "
                         "lease for %lld s more) and has published: wait for it to finish or its "
                         "lease to run out, then roll back; nothing was rolled back",
                         bf_batch_list_label(c->bl, i), (long long)bf_batch_list_id(c->bl, i),
                         (long long)bf_run_id(c->s.run),
                         worker ? worker : "a worker", (long long)(left / 1000000 + 1));
    rc = bf_run_before_state(&json, c->s.run, bf_batch_list_id(c->bl, i));
    if (rc == BF_OK)
        rc = bf__runner_before_sum(it->unheard, json);
    bf_free(json);
    if (rc == BF_E_NOT_FOUND || rc == BF_E_UNSUPPORTED)
        return bf__error(BF_E_CONFLICT, "batch %s (id %lld) of run %lld is %s, but %s's "
                         "snapshot tables hold a snapshot of it: an attempt published without "
                         "the ledger hearing of it, and no before-state was recorded to prove an "
                         "undo; nothing was rolled back",
                         bf_batch_list_label(c->bl, i), (long long)bf_batch_list_id(c->bl, i),
                         (long long)bf_run_id(c->s.run),
                         bf_batch_state_name(bf_batch_list_state(c->bl, i)), spec->table);
    return rc;
}

/* The items to undo: batch `batch_id`, or every published batch newest first. */
static int collect(struct rb *c, int64_t batch_id)
{
    int rc = bf_run_batches(&c->bl, c->s.run, -1);
    size_t n = bf_batch_list_count(c->bl);

    if (rc != BF_OK)
        return rc;
    c->items = bf__calloc(n ? n : 1, sizeof *c->items);
    if (!c->items)
        return bf__nomem();
    for (size_t i = 0; i < n; i++) {
        int st = bf_batch_list_state(c->bl, i);
        struct item *it;

        if (batch_id > 0 && bf_batch_list_id(c->bl, i) != batch_id)
            continue;
        if (st != BF_BATCH_COMPLETED && st != BF_BATCH_VALIDATED) {
            int unheard = 0;

            it = &c->items[c->count];
            memset(it, 0, sizeof *it);
            if (st != BF_BATCH_SPLIT && st != BF_BATCH_ROLLED_BACK &&
                (rc = unheard_publish(c, i, it, &unheard)) != BF_OK)
                return rc;
            if (unheard) {
                c->count++;
                it->row = i;
                it->id = bf_batch_list_id(c->bl, i);
                it->finished = INT64_MAX; /* its publish was the latest: undone first */
                it->label = bf_batch_list_label(c->bl, i);
                it->before = it->unheard;
                it->after = NULL;
                continue;
            }
            if (batch_id > 0)
                return bf__error(BF_E_STATE, "batch %s (id %lld) of run %lld is %s: only a "
                                 "completed or validated batch can be rolled back",
                                 bf_batch_list_label(c->bl, i), (long long)batch_id,
                                 (long long)bf_run_id(c->s.run), bf_batch_state_name(st));
            continue;
        }
        it = &c->items[c->count++];
        it->row = i;
        it->id = bf_batch_list_id(c->bl, i);
        it->finished = bf_batch_list_finished_at(c->bl, i);
        it->label = bf_batch_list_label(c->bl, i);
        it->before = bf_batch_list_fingerprint_before(c->bl, i);
        it->after = bf_batch_list_fingerprint_after(c->bl, i);
        if (!has_text(it->before)) {
            it->before = NULL;
            bf__snprintf(it->why, sizeof it->why, "nothing to undo: an earlier run did the same "
                         "work, and this run published nothing for this batch");
        } else if ((rc = bf__settle_batch(&c->s, c->bl, i, &it->batch)) != BF_OK) {
            return rc;
        }
    }
    if (batch_id > 0 && c->count == 0)
        return bf__error(BF_E_NOT_FOUND, "run %lld has no batch with id %lld",
                         (long long)bf_run_id(c->s.run), (long long)batch_id);
    qsort(c->items, c->count, sizeof *c->items, newest_first);
    return BF_OK;
}

static int mark_and_record(struct rb *c, struct item *it, const char *why)
{
    json_t *o;
    char *text = NULL;
    int rc = bf_run_mark_batch(c->s.run, it->id, BF_BATCH_ROLLED_BACK, why);

    if (rc != BF_OK)
        return rc;
    o = json_pack("{s:[I], s:s, s:s, s:b}", "batches", (json_int_t)it->id, "fingerprint_before",
                  it->before, "fingerprint_after", it->now, "proven", 1);
    rc = o ? bf__json_dump(&text, o, JSON_COMPACT) : bf__nomem();
    json_decref(o);
    if (rc == BF_OK)
        rc = bf_run_record(c->s.run, it->id, "rollback", text);
    bf__free(text);
    if (rc == BF_OK)
        bf__runner_emit(c->r, c->s.run, BF_RUN_EVENT_ROLLED_BACK, it->id, it->label, 0, 0, 0, why);
    return rc;
}

/* Before the cutover, or in place: restore each batch from its snapshot. */
static int undo_batches(struct rb *c)
{
    bf_runner *r = c->r;
    const char *dest = c->s.shadowed ? c->s.shadow : c->s.job.spec.table;
    int rc = BF_OK;

    if (!c->s.job.spec.snapshot) {
        for (size_t i = 0; i < c->count; i++)
            if (c->items[i].before)
                return bf__error(BF_E_BLOCKED, "run %lld (%s): the brief's write.snapshot is off, "
                                 "so no pre-image of batch %s was kept and it cannot be undone",
                                 (long long)bf_run_id(c->s.run), bf_run_brief_name(c->s.run),
                                 c->items[i].label);
    }
    /* First prove nothing changed what the batches wrote: a refusal leaves everything as it is. */
    for (size_t i = 0; i < c->count; i++) {
        struct item *it = &c->items[i];

        if (!it->before)
            continue;
        if ((rc = bf__fingerprint_text(it->now, r->driver, dest, c->s.plan, it->batch)) != BF_OK)
            return rc;
        if (has_text(it->after) && strcmp(it->now, it->after) != 0) {
            bf__snprintf(it->why, sizeof it->why, "the rows in its bounds in %s changed since it "
                         "published (fingerprint %s, was %s): a later batch of this run or "
                         "another writer changed them, so the undo cannot be exact; nothing was "
                         "restored", dest, it->now, it->after);
            return bf__error(BF_E_CONFLICT, "run %lld: batch %s: %s", (long long)bf_run_id(c->s.run),
                             it->label, it->why);
        }
    }
    for (size_t i = 0; i < c->count; i++) {
        struct item *it = &c->items[i];

        if (!it->before)
            continue;
        rc = bf_driver_restore(r->driver, &c->s.job.spec, c->s.plan, it->batch,
                               bf_run_id(c->s.run));
        if (rc != BF_OK) {
            bf__snprintf(it->why, sizeof it->why, "%s", bf_last_error());
            return bf__error(rc, "run %lld: batch %s was not restored: %s",
                             (long long)bf_run_id(c->s.run), it->label, it->why);
        }
        it->restored = 1;
        if ((rc = bf__fingerprint_text(it->now, r->driver, dest, c->s.plan, it->batch)) != BF_OK)
            return rc;
        if (strcmp(it->now, it->before) != 0) {
            bf__snprintf(it->why, sizeof it->why, "restored from its snapshot, but the rows in its "
                         "bounds in %s have fingerprint %s, not %s from before it published: the "
                         "undo is not proven", dest, it->now, it->before);
            return bf__error(BF_E_VALIDATION, "run %lld: batch %s: %s",
                             (long long)bf_run_id(c->s.run), it->label, it->why);
        }
        bf__snprintf(it->why, sizeof it->why, "restored from its snapshot; the rows in its bounds "
                     "in %s have their fingerprint from before it published", dest);
        if ((rc = mark_and_record(c, it, it->why)) != BF_OK)
            return rc;
    }
    return BF_OK;
}

/* After the cutover: the backup becomes the target again, the target the shadow again. */
static int swap_back(struct rb *c, char fp_backup[64])
{
    bf_runner *r = c->r;
    const char *table = c->s.job.spec.table;
    char fp_target[64], fp_start[64], *qt = NULL, *qb = NULL, *qs = NULL, *sql = NULL;
    char msg[600] = "";
    int exists = 0, rc;
    long long id = (long long)bf_run_id(c->s.run);

    if ((rc = bf__table_exists(&exists, r->driver, c->s.backup)) != BF_OK)
        return rc;
    if (!exists)
        return bf__error(BF_E_CONFLICT, "run %lld was cut over, but its backup table %s is gone: "
                         "the target from before the run cannot be put back", id, c->s.backup);
    if ((rc = bf__table_exists(&exists, r->driver, c->s.shadow)) != BF_OK)
        return rc;
    if (exists)
        return bf__error(BF_E_CONFLICT, "run %lld: table %s exists, and the rollback needs its "
                         "name for the target it takes out of place", id, c->s.shadow);
    if ((rc = bf__fingerprint_text(fp_target, r->driver, table, NULL, NULL)) != BF_OK)
        return rc;
    if (c->cutover_fp[0] && strcmp(fp_target, c->cutover_fp) != 0)
        return bf__error(BF_E_CONFLICT, "run %lld: %s changed since the cutover (fingerprint %s, "
                         "was %s): another writer changed it, and putting the backup back would "
                         "lose that change; nothing was changed", id, table, fp_target,
                         c->cutover_fp);
    if (!c->cutover_fp[0])
        return bf__error(BF_E_CONFLICT, "run %lld: the cutover recorded no fingerprint of %s, so "
                         "the rollback cannot prove that nobody changed it since; nothing was "
                         "changed", id, table);
    if ((rc = bf__fingerprint_text(fp_backup, r->driver, c->s.backup, NULL, NULL)) != BF_OK ||
        (rc = bf__settle_schema_fingerprint(fp_start, &c->s)) != BF_OK)
        return rc;
    /* The backup is the target as the run found it (approve cut over only an unchanged one). */
    if (fp_start[0] && strcmp(fp_backup, fp_start) != 0)
        return bf__error(BF_E_CONFLICT, "run %lld: the backup %s has fingerprint %s, not %s of %s "
                         "when the run started: it was changed since the cutover, and putting "
                         "it back would not restore the table from before the run; nothing was "
                         "changed", id, c->s.backup, fp_backup, fp_start, table);
    /* The backup's rows in each batch must be those from before the batch published. */
    for (size_t i = 0; i < c->count; i++) {
        struct item *it = &c->items[i];

        if (!it->before)
            continue;
        if ((rc = bf__fingerprint_text(it->now, r->driver, c->s.backup, c->s.plan, it->batch)))
            return rc;
        if (strcmp(it->now, it->before) != 0) {
            bf__snprintf(it->why, sizeof it->why, "the backup %s holds rows in its bounds with "
                         "fingerprint %s, not %s from before it published: the target changed "
                         "during the run, so the backup is not the target from before the run; "
                         "nothing was changed", c->s.backup, it->now, it->before);
            return bf__error(BF_E_CONFLICT, "run %lld: batch %s: %s", id, it->label, it->why);
        }
    }
    /* Views, triggers, foreign keys and indexes stay with the target's name. */
    rc = bf__driver_swap(r->driver, table, c->s.shadow, c->s.backup);
    if (rc == BF_E_UNSUPPORTED) {
        qt = bf__quote_ident(table);
        qb = bf__quote_ident(c->s.backup);
        qs = bf__quote_ident(c->s.shadow);
        if (qt && qb && qs)
            sql = bf__asprintf("BEGIN IMMEDIATE; ALTER TABLE %s RENAME TO %s; ALTER TABLE %s "
                               "RENAME TO %s; COMMIT", qt, qs, qb, qt);
        rc = sql ? bf_driver_execute(r->driver, sql) : bf__nomem();
        if (rc != BF_OK) {
            /* The failure's own words, before the ROLLBACK's call replaces them. */
            bf__snprintf(msg, sizeof msg, "%s", bf_last_error());
            bf_driver_execute(r->driver, "ROLLBACK");
        }
    }
    if (rc != BF_OK) {
        if (!msg[0])
            bf__snprintf(msg, sizeof msg, "%s", bf_last_error());
        rc = bf__error(rc, "run %lld: putting %s back as %s failed, and nothing was changed: %s",
                       id, c->s.backup, table, msg);
    }
    bf__free(qt);
    bf__free(qb);
    bf__free(qs);
    bf__free(sql);
    if (rc != BF_OK)
        return rc;
    if ((rc = bf__fingerprint_text(fp_target, r->driver, table, NULL, NULL)) != BF_OK)
        return rc;
    if (strcmp(fp_target, fp_backup) != 0)
        return bf__error(BF_E_VALIDATION, "run %lld: %s is back from %s, but its fingerprint is "
                         "%s, not the backup's %s", id, table, c->s.backup, fp_target, fp_backup);
    for (size_t i = 0; i < c->count; i++) {
        struct item *it = &c->items[i];

        if (!it->before)
            continue;
        it->restored = 1;
        bf__snprintf(it->why, sizeof it->why, "the run was cut over: %s from before the cutover "
                     "is %s again, with this batch's fingerprint from before it published",
                     c->s.backup, table);
        if ((rc = mark_and_record(c, it, "rolled back with the whole run: the backup from "
                                  "before the cutover is the target again")) != BF_OK)
            return rc;
    }
    return BF_OK;
}

/*
 * Approval refreshed the marts from the target: once rows are restored they hold numbers
 * the target no longer has, so a rollback after a refresh refreshes them again, in order
 * (and a rollback asked again finishes a refresh that failed). *redone: assets refreshed.
 */
static int refresh_again(struct rb *c, size_t *redone)
{
    int owed = 0, rc = bf__settle_refresh_owed(&owed, &c->s);

    *redone = 0;
    if (rc != BF_OK || !owed)
        return rc;
    return bf__settle_refresh(c->r, &c->s, c->s.run, 1, redone, c->refreshed);
}

/* Whether the run was cleaned up (a "cleanup" record): its snapshots and copies are gone. */
static int cleaned_up(const struct rb *c, int *yes)
{
    bf_event_list *ev = NULL;
    int rc = bf__settle_records(&ev, &c->s);

    *yes = 0;
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++)
        *yes |= strcmp(bf_event_list_subject(ev, i), "cleanup") == 0;
    bf_event_list_free(ev);
    return rc;
}

/* Whether batch `id` of the run is rolled back already. */
static int rolled_back_already(const struct rb *c, int64_t id)
{
    for (size_t i = 0; c->bl && i < bf_batch_list_count(c->bl); i++)
        if (bf_batch_list_id(c->bl, i) == id)
            return bf_batch_list_state(c->bl, i) == BF_BATCH_ROLLED_BACK;
    return 0;
}

static json_t *result_json(struct rb *c)
{
    json_t *o = json_object(), *arr = json_array();

    if (!o || !arr) {
        json_decref(o);
        json_decref(arr);
        return NULL;
    }
    bf_run_refresh(c->s.run);
    json_object_set_new(o, "format", json_string("backfill-rollback/1"));
    json_object_set_new(o, "run", json_integer(bf_run_id(c->s.run)));
    for (size_t i = 0; i < c->count; i++) {
        struct item *it = &c->items[i];

        json_array_append_new(arr, json_pack("{s:I, s:s, s:b, s:o, s:o, s:s}", "id",
                                             (json_int_t)it->id, "label", it->label, "restored",
                                             it->restored, "fingerprint_before",
                                             it->before ? json_string(it->before) : json_null(),
                                             "fingerprint_now",
                                             it->now[0] ? json_string(it->now) : json_null(),
                                             "why", it->why));
    }
    json_object_set_new(o, "batches", arr);
    json_object_set_new(o, "refreshed", json_incref(c->refreshed));
    json_object_set_new(o, "state",
                        json_string(bf_run_state_name(bf_run_current_state(c->s.run))));
    return o;
}

/* The run-level record and state: every batch's undo is proven here. */
static int settle_run(struct rb *c, const char *fp_whole_before)
{
    bf_runner *r = c->r;
    char fp_after[64], *text = NULL, msg[300];
    json_t *ids = json_array(), *o;
    size_t restored = 0;
    int rc;

    if (!ids)
        return bf__nomem();
    for (size_t i = 0; i < c->count; i++)
        if (c->items[i].restored) {
            json_array_append_new(ids, json_integer(c->items[i].id));
            restored++;
        }
    if ((rc = bf__fingerprint_text(fp_after, r->driver, c->s.job.spec.table, NULL, NULL))) {
        json_decref(ids);
        return rc;
    }
    o = json_pack("{s:o, s:o, s:s, s:b}", "batches", ids, "fingerprint_before",
                  fp_whole_before[0] ? json_string(fp_whole_before) : json_null(),
                  "fingerprint_after", fp_after, "proven", 1);
    rc = o ? bf__json_dump(&text, o, JSON_COMPACT) : bf__nomem();
    json_decref(o);
    if (rc == BF_OK)
        rc = bf_run_record(c->s.run, 0, "rollback", text);
    bf__free(text);
    bf__snprintf(msg, sizeof msg, "rolled back: %zu batch%s undone and proven%s", restored,
                 restored == 1 ? "" : "es", c->cut_over ? " (the backup is the target again)" : "");
    if (rc == BF_OK)
        rc = bf_run_set_state(c->s.run, BF_RUN_ROLLED_BACK, msg);
    if (rc == BF_OK)
        bf__runner_emit(r, c->s.run, BF_RUN_EVENT_ROLLED_BACK, 0, NULL, 0, 0, 0, msg);
    return rc;
}

int bf_runner_rollback(char **json_out, bf_runner *r, int64_t run_id, int64_t batch_id)
{
    struct rb c;
    char fp_whole[64] = "";
    json_t *o;
    int rc, state, out_rc;

    if (json_out)
        *json_out = NULL;
    if (!r)
        return bf__error(BF_E_INVALID, "bf_runner_rollback: runner is NULL");
    if (batch_id < 0)
        return bf__runner_fail(r, bf__error(BF_E_INVALID, "bf_runner_rollback: batch id %lld is "
                                            "negative (0: the whole run)", (long long)batch_id));
    memset(&c, 0, sizeof c);
    c.r = r;
    if (!(c.refreshed = json_array()))
        return bf__runner_fail(r, bf__nomem());
    if ((rc = bf__settle_open(&c.s, r, run_id, 1)) != BF_OK) {
        json_decref(c.refreshed);
        return bf__runner_fail(r, rc);
    }
    state = bf_run_current_state(c.s.run);
    if (c.s.slice) {
        rc = bf__error(BF_E_STATE, "run %lld (%s) is a test slice: it wrote scratch copies, never "
                       "the target, so there is nothing to roll back", (long long)run_id,
                       bf_run_brief_name(c.s.run));
        goto done;
    }
    if (state == BF_RUN_ROLLED_BACK) {
        size_t redone = 0;

        if ((rc = refresh_again(&c, &redone)) == BF_OK && !redone)
            rc = bf__error(BF_E_STATE, "run %lld (%s) is rolled back already", (long long)run_id,
                           bf_run_brief_name(c.s.run));
        goto done;
    }
    {
        int gone = 0;

        if ((rc = cleaned_up(&c, &gone)) != BF_OK)
            goto done;
        if (gone) {
            rc = bf__error(BF_E_BLOCKED, "run %lld (%s) was cleaned up: its snapshots and "
                           "copies were dropped once its retention was over, so nothing is left "
                           "to restore it from; nothing was changed", (long long)run_id,
                           bf_run_brief_name(c.s.run));
            goto done;
        }
    }
    if (batch_id == 0 && (state == BF_RUN_PLANNED || state == BF_RUN_RUNNING ||
                          state == BF_RUN_VALIDATING)) {
        rc = bf__error(BF_E_STATE, "run %lld (%s) is %s: pause or cancel it before rolling it back",
                       (long long)run_id, bf_run_brief_name(c.s.run), bf_run_state_name(state));
        goto done;
    }
    if ((rc = read_cutover(&c)) != BF_OK)
        goto done;
    if (c.cut_over && batch_id > 0) {
        rc = bf__error(BF_E_BLOCKED, "run %lld (%s) was cut over: its batches are in %s now, and "
                       "only the whole run can be rolled back (the backup %s put back)",
                       (long long)run_id, bf_run_brief_name(c.s.run), c.s.job.spec.table,
                       c.s.backup);
        goto done;
    }
    if ((rc = collect(&c, batch_id)) != BF_OK) {
        size_t redone = 0;
        char why[700];

        /* A batch rolled back already: what may be left is the refresh after it. */
        if (rc == BF_E_STATE && batch_id > 0 && rolled_back_already(&c, batch_id)) {
            int again;

            bf__snprintf(why, sizeof why, "%s", bf_last_error());
            if ((again = refresh_again(&c, &redone)) != BF_OK)
                rc = again;
            else if (redone)
                rc = BF_OK;
            else
                rc = bf__error(rc, "%s", why);
        }
        goto done;
    }
    if (c.cut_over) {
        rc = swap_back(&c, fp_whole);
    } else {
        rc = batch_id == 0 && !c.s.shadowed ? bf__settle_schema_fingerprint(fp_whole, &c.s) : BF_OK;
        if (rc == BF_OK)
            rc = undo_batches(&c);
    }
    if (rc == BF_OK && batch_id == 0)
        rc = settle_run(&c, fp_whole);
    if (rc == BF_OK) {
        size_t redone;
        rc = refresh_again(&c, &redone);
    }
done:
    out_rc = BF_OK;
    if (rc != BF_OK)
        bf__runner_fail(r, rc);
    /* Every batch the rollback did not reach says so (the error says why it stopped). */
    for (size_t i = 0; rc != BF_OK && i < c.count; i++)
        if (!c.items[i].restored && !c.items[i].why[0])
            bf__snprintf(c.items[i].why, sizeof c.items[i].why, "left as it is: the rollback "
                         "stopped before undoing it (see its error)");
    if (json_out && c.s.run) {
        o = result_json(&c);
        out_rc = o ? bf__json_dump(json_out, o, JSON_INDENT(2)) : bf__nomem();
        json_decref(o);
    }
    bf_batch_list_free(c.bl);
    bf__free(c.items);
    json_decref(c.refreshed);
    bf__settle_dispose(&c.s);
    /* Without the JSON the caller asked for, nothing can be told: out of memory wins. */
    if (out_rc != BF_OK)
        rc = bf__runner_fail(r, out_rc);
    else if (rc != BF_OK)
        bf__error(rc, "%s", r->err.msg);
    return rc;
}
