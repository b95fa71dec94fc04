/*
 * bf_runner_run: the run loop and the work of one batch.
 *
 * The calling thread is the coordinator: it starts or resumes the run,
 * freezes the target's schema, asks the throttle and the run window whether
 * claims may start, hands the scheduler one task per free worker slot,
 * heartbeats the leases of batches in flight, releases leases of dead
 * processes on this host, and emits every event. A task claims the next
 * batch in plan order on its slot's own ledger handle (the ledger enforces
 * max_concurrency across processes) and does it with the slot's own driver
 * and validator, so tasks run on any thread. After the last batch the
 * coordinator runs the run-level checks and the run awaits approval.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "backfill/diff.h"
#include "backfill/fingerprint.h"
#include "backfill/idempotency.h"
#include "backfill/time.h"
#include "common/json.h"
#include "driver/driver_internal.h"
#include "plan/plan_internal.h"
#include "runner/runner_internal.h"
#include "validate/diff_internal.h"
#include "validate/results_internal.h"
#include "validate/validate_internal.h"

enum outcome {
    OUT_DONE,       /* published and validated */
    OUT_SKIPPED,    /* an earlier run did the same work: not published again */
    OUT_FAILED,     /* the attempt failed and was recorded */
    OUT_LEASE_LOST, /* the fence refused the publish, or the ledger the completion */
    OUT_INVALID,    /* published, but an error-level check failed: the run paused */
    OUT_CONFLICT,   /* the target changed since the run started: released, the run paused */
    OUT_ERROR,      /* the ledger itself failed: stop */
    OUT_NONE,       /* nothing could be claimed now */
    OUT_STOPPED     /* the claim was refused: the run is paused, cancelled or past running */
};

enum { SLOT_FREE, SLOT_BUSY, SLOT_FINISHED };

struct run_ctx;

struct slot {
    struct run_ctx *ctx;
    bf_ledger *ledger;
    bf_driver *driver;
    bf_run *run;
    bf_validator *validator; /* the slot's own, or the host's under validator_lock */
    int own_validator;
    int consumes;            /* a publish that succeeds drops the staging table itself */
    int status;              /* SLOT_*, under ctx->lock */
    int claimed;             /* the task holds a batch (under ctx->lock); its start not yet told */
    /* the batch */
    int64_t batch_id, token, ordinal, lo, hi;
    char label[256];
    /* the result */
    int outcome, rc;
    int64_t rows_written, rows_deleted;
    double duration_s;
    char message[1024];
    /* when the claim and the completion went to the ledger: [sent, returned] */
    int64_t claim_us[2], done_us[2];
};

/*
 * The plan as tasks address batches (the plan's own, then the batches the
 * ledger cut since: halves of a split, batches of a resize). A task that
 * claims a batch the view lacks makes a newer one; views stay alive while a
 * task uses them.
 */
struct view {
    bf__halves halves;
    unsigned refs;      /* tasks using it, under ctx->lock */
    struct view *older; /* the retired views still in use, newest first */
};

struct run_ctx {
    bf_runner *r;
    bf_run *run; /* the coordinator's handle */
    int64_t run_id;
    char *schema;        /* the target's columns when the run started, as JSON */
    char *shadow;        /* the table publishes write before cutover, or NULL */
    char owner[BF__OWNER_MAX]; /* the run's owner in the warehouse (bf__runner_owner) */
    int done_elsewhere;  /* a claim found the run past running: another process ended it */
    bf_window *window;   /* the brief's run window, or NULL */
    struct view *view;   /* the newest view, under lock */
    struct view *retired; /* older views, freed when no task uses them */
    double target_s;     /* adaptive sizing of a key plan: seconds per batch, or 0 */
    int64_t cut_width;   /* the width the batches not yet claimed were cut to (0: not known yet) */
    /*
     * The progress events carry (coordinator only): read from the ledger
     * over [pc_read0, pc_read1], then moved by this runner's own claims and
     * completions made after that read.
     */
    bf_progress pc;
    int pc_ok;
    int64_t pc_read0, pc_read1, pc_remaining;
    double pc_elapsed, pc_eta;
    char **done_keys;    /* idempotency keys earlier runs of the brief completed, sorted */
    size_t done_count;
    int keys_loaded;     /* done_keys read already (by done_before) */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct slot *slots;
    unsigned nslots;
};

/* ---- The target's schema, frozen at the start ------------------------- */

static int describe_json(char **out, bf_driver *d, const char *table)
{
    bf_table_info *info = NULL;
    json_t *cols;
    int rc = bf_driver_describe(&info, d, table);

    *out = NULL;
    if (rc != BF_OK)
        return rc;
    cols = json_array();
    for (size_t i = 0; cols && i < bf_table_info_column_count(info); i++)
        json_array_append_new(cols, json_pack("{s:s, s:s, s:I}", "name",
                                              bf_table_info_column_name(info, i), "type",
                                              bf_table_info_column_type(info, i) ?
                                              bf_table_info_column_type(info, i) : "", "pk",
                                              (json_int_t)bf_table_info_column_pk(info, i)));
    bf_table_info_free(info);
    if (!cols)
        return bf__nomem();
    rc = bf__json_dump(out, cols, JSON_COMPACT);
    json_decref(cols);
    return rc;
}

/* What differs between two column lists, as a sentence. */
static void schema_change(char *buf, size_t size, const char *table, const char *was,
                          const char *now)
{
    json_t *a = bf__json_loads(was, 0, NULL), *b = bf__json_loads(now, 0, NULL);
    size_t i;

    bf__snprintf(buf, size, "target %s changed since the run started", table);
    if (!a || !b)
        goto done;
    for (i = 0; i < json_array_size(a) || i < json_array_size(b); i++) {
        json_t *x = json_array_get(a, i), *y = json_array_get(b, i);
        const char *xn = json_string_value(json_object_get(x, "name"));
        const char *yn = json_string_value(json_object_get(y, "name"));

        if (x && !y) {
            bf__snprintf(buf, size, "target %s changed since the run started: column %s is gone",
                         table, xn);
            break;
        }
        if (!x && y) {
            bf__snprintf(buf, size, "target %s changed since the run started: column %s was "
                         "added", table, yn);
            break;
        }
        if (!json_equal(x, y)) {
            bf__snprintf(buf, size, "target %s changed since the run started: column %d was %s "
                         "%s (key %lld), is now %s %s (key %lld)", table, (int)i + 1, xn,
                         json_string_value(json_object_get(x, "type")),
                         (long long)json_integer_value(json_object_get(x, "pk")), yn,
                         json_string_value(json_object_get(y, "type")),
                         (long long)json_integer_value(json_object_get(y, "pk")));
            break;
        }
    }
done:
    json_decref(a);
    json_decref(b);
}

/* The schema recorded for the run, or NULL when none is yet. */
static int recorded_schema(char **out, bf_run *run)
{
    bf_event_list *ev = NULL;
    int rc = bf_run_events(&ev, run);

    *out = NULL;
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++) {
        if (strcmp(bf_event_list_subject(ev, i), "schema") == 0) {
            json_t *o = bf__json_loads(bf_event_list_detail(ev, i), 0, NULL);

            if (o)
                rc = bf__json_dump(out, json_object_get(o, "columns"), JSON_COMPACT);
            json_decref(o);
            break;
        }
    }
    bf_event_list_free(ev);
    return rc;
}

/*
 * The run-level checks' values from before the first publish, recorded so
 * a run resumed by another process (after a crash, a pause, batches rolled
 * back and done again) compares with them: they cannot be measured again
 * once anything is published. The latest record wins (a run stopped before
 * publishing anything captures them again).
 */
#define RUN_BEFORE "validation_before"

static int record_run_before(bf_run *run, const bf_validation_state *st)
{
    char *json = NULL;
    int rc = bf__validation_state_to_json(&json, st);

    if (rc == BF_OK)
        rc = bf_run_record(run, 0, RUN_BEFORE, json);
    bf__free(json);
    return rc;
}

/* *out stays NULL for a run started by a release that recorded none: its checks say so. */
static int recorded_run_before(bf_validation_state **out, bf_runner *r, bf_run *run)
{
    bf_event_list *ev = NULL;
    const char *json = NULL;
    int rc = bf_run_events(&ev, run);

    *out = NULL;
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++)
        if (bf_event_list_batch_id(ev, i) == 0 &&
            strcmp(bf_event_list_subject(ev, i), RUN_BEFORE) == 0)
            json = bf_event_list_detail(ev, i);
    if (rc == BF_OK && json) {
        if (!r->own_validator)
            pthread_mutex_lock(&r->validator_lock);
        rc = bf__validation_state_from_json(out, r->validator, json);
        if (!r->own_validator)
            pthread_mutex_unlock(&r->validator_lock);
        if (rc != BF_OK)
            rc = bf__error(rc, "run %lld: the run-level checks' values from before the run, as "
                           "recorded, cannot be read back: %s", (long long)bf_run_id(run),
                           bf_last_error());
    }
    bf_event_list_free(ev);
    return rc;
}

/* Keys held as char arrays, compared as text. */
static int cmp_text(const void *a, const void *b)
{
    return strcmp(a, b);
}

/*
 * The run-level values from before a cancelled run of the brief whose
 * published batches this new run's plan has again (the same idempotency
 * keys): those batches' changes are part of what this run is judged and
 * reported on (it skips them, or publishes the same rows again), so its
 * checks compare with the target from before them, not with what the
 * cancelled run left. Only runs cancelled after the brief's last completed
 * run count (what an approved run did was judged already), and that completed
 * run itself once batches of it were rolled back (this run redoes them and
 * skips the others: it is the same change, judged whole again), never for the
 * patterns that write a copy of the target (a cancelled run's copy is not
 * this run's), and the earliest of them wins (its record may itself be
 * inherited). *out stays NULL when there is none; *from gets its id.
 */
static int inherited_run_before(bf_validation_state **out, int64_t *from, int *completed,
                                struct run_ctx *c)
{
    bf_runner *r = c->r;
    const bf_plan *plan = c->view->halves.plan;
    bf_run_list *runs = NULL;
    char (*keys)[BF_IDEMPOTENCY_KEY_SIZE] = NULL;
    int64_t after = 0;
    int rc;

    *out = NULL;
    *from = 0;
    *completed = 0;
    if (r->job.spec.strategy == BF_WRITE_STAGING_SWAP ||
        r->job.spec.strategy == BF_WRITE_PARALLEL_VERSION)
        return BF_OK;
    if ((rc = bf_ledger_runs(&runs, r->ledger, r->brief_name)) != BF_OK)
        return rc;
    for (size_t i = 0; i < bf_run_list_count(runs); i++)
        if (bf_run_list_state(runs, i) == BF_RUN_COMPLETED && bf_run_list_id(runs, i) > after)
            after = bf_run_list_id(runs, i);
    if (!(keys = bf__calloc(bf_plan_count(plan) + 1, sizeof *keys)))
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_plan_count(plan); i++)
        rc = bf_idempotency_key(keys[i], plan, bf_plan_batch(plan, i), r->code_version,
                                r->job.spec.select);
    if (rc == BF_OK)
        qsort(keys, bf_plan_count(plan), sizeof *keys, cmp_text);
    /* bf_ledger_runs lists oldest first: the first match is the earliest. */
    for (size_t i = 0; rc == BF_OK && !*from && i < bf_run_list_count(runs); i++) {
        bf_run *other = NULL;
        bf_batch_list *l = NULL;
        int64_t id = bf_run_list_id(runs, i);

        int rst = bf_run_list_state(runs, i), undone = 0;

        if (id == c->run_id || id < after ||
            (rst != BF_RUN_CANCELLED && !(rst == BF_RUN_COMPLETED && id == after)))
            continue;
        if ((rc = bf_run_open(&other, r->ledger, id)) == BF_OK)
            rc = bf_run_batches(&l, other, -1);
        /* The last completed run counts once batches of it were rolled back since: this run
         * redoes them and skips its others, and is judged on the whole change, as it was. */
        for (size_t j = 0; rc == BF_OK && rst == BF_RUN_COMPLETED && j < bf_batch_list_count(l); j++)
            undone |= bf_batch_list_state(l, j) == BF_BATCH_ROLLED_BACK;
        if (rst == BF_RUN_COMPLETED && !undone)
            bf_batch_list_free(l), l = NULL;
        for (size_t j = 0; rc == BF_OK && j < bf_batch_list_count(l); j++) {
            int st = bf_batch_list_state(l, j);
            const char *k = bf_batch_list_idempotency_key(l, j);

            if ((st == BF_BATCH_COMPLETED || st == BF_BATCH_VALIDATED) && k && k[0] &&
                bsearch(k, keys, bf_plan_count(plan), sizeof *keys, cmp_text)) {
                if ((rc = recorded_run_before(out, r, other)) == BF_OK && *out) {
                    *from = id;
                    *completed = rst == BF_RUN_COMPLETED;
                }
                break;
            }
        }
        bf_batch_list_free(l);
        bf_run_free(other);
    }
    bf__free(keys);
    bf_run_list_free(runs);
    return rc;
}

static int freeze_schema(struct run_ctx *c)
{
    bf_runner *r = c->r;
    char *now = NULL, *detail = NULL, fp[64];
    json_t *o;
    int rc = recorded_schema(&c->schema, c->run);

    if (rc != BF_OK || c->schema)
        return rc;
    if ((rc = describe_json(&now, r->driver, r->job.spec.table)) != BF_OK)
        return rc;
    /* The whole target before anything is published: what a whole-run rollback returns to. */
    if ((rc = bf__fingerprint_text(fp, r->driver, r->job.spec.table, NULL, NULL)) != BF_OK) {
        bf__free(now);
        return rc;
    }
    o = json_pack("{s:s, s:o, s:s, s:s}", "table", r->job.spec.table, "columns",
                  bf__json_loads(now, 0, NULL), "code_version", r->code_version,
                  "fingerprint_before", fp);
    rc = o ? bf__json_dump(&detail, o, JSON_COMPACT) : bf__nomem();
    json_decref(o);
    if (rc == BF_OK)
        rc = bf_run_record(c->run, 0, "schema", detail);
    bf__free(detail);
    if (rc == BF_OK)
        c->schema = now;
    else
        bf__free(now);
    return rc;
}

/* ---- Work earlier runs did --------------------------------------------- */

static int cmp_key(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * The idempotency keys of batches the brief's other runs completed, read
 * once at the start: a batch whose key is among them is not published
 * again. (A lookup per batch would read every batch of the brief's runs each
 * time.) The ledger is asked again for a key found here, to name the batch.
 */
static int load_done_keys(struct run_ctx *c)
{
    bf_run_list *runs = NULL;
    size_t cap = 0;
    int rc = bf_ledger_runs(&runs, c->r->ledger, c->r->brief_name);
    /* A run into a copy of the target wrote the target only if it was cut over (completed). */
    int shadowed = c->r->job.spec.strategy == BF_WRITE_STAGING_SWAP ||
                   c->r->job.spec.strategy == BF_WRITE_PARALLEL_VERSION;

    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(runs); i++) {
        bf_run *other = NULL;
        bf_batch_list *l = NULL;

        if (bf_run_list_id(runs, i) == c->run_id ||
            (shadowed && bf_run_list_state(runs, i) != BF_RUN_COMPLETED))
            continue;
        rc = bf_run_open(&other, c->r->ledger, bf_run_list_id(runs, i));
        if (rc == BF_OK)
            rc = bf_run_batches(&l, other, -1);
        for (size_t j = 0; rc == BF_OK && j < bf_batch_list_count(l); j++) {
            int st = bf_batch_list_state(l, j);
            const char *k = bf_batch_list_idempotency_key(l, j);

            if ((st != BF_BATCH_COMPLETED && st != BF_BATCH_VALIDATED) || !k || !k[0])
                continue;
            rc = bf__grow((void **)&c->done_keys, &cap, c->done_count + 1, sizeof *c->done_keys);
            if (rc == BF_OK && !(c->done_keys[c->done_count] = bf__strdup(k)))
                rc = bf__nomem();
            if (rc == BF_OK)
                c->done_count++;
        }
        bf_batch_list_free(l);
        bf_run_free(other);
    }
    bf_run_list_free(runs);
    if (rc == BF_OK && c->done_count)
        qsort(c->done_keys, c->done_count, sizeof *c->done_keys, cmp_key);
    return rc;
}

/*
 * Whether a new run would only repeat the brief's last one: no run of the
 * brief is unfinished, the latest is completed, and every batch of this
 * plan was done with the same idempotency key (the same plan, code and job).
 * Such a run would publish nothing and ask for an approval of nothing, so
 * bf_runner_run reports the completed run instead (BF_RUNNER_FORCE
 * publishes again, BF_RUNNER_NEW starts a new run anyway). *out: that
 * run's id, or 0. Loads the done keys.
 */
static int done_before(struct run_ctx *c, bf_ledger *ledger, int64_t *out)
{
    bf_runner *r = c->r;
    bf_run_list *l = NULL;
    bf_plan *plan = NULL;
    int64_t latest = 0;
    int rc = bf_ledger_runs(&l, ledger, r->brief_name), open = 0, state = -1;

    *out = 0;
    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(l); i++) {
        int st = bf_run_list_state(l, i);

        if (st != BF_RUN_CANCELLED && st != BF_RUN_COMPLETED && st != BF_RUN_ROLLED_BACK)
            open = 1;
        if (bf_run_list_id(l, i) > latest) {
            latest = bf_run_list_id(l, i);
            state = st;
        }
    }
    bf_run_list_free(l);
    if (rc != BF_OK || open || state != BF_RUN_COMPLETED)
        return rc;
    if ((rc = load_done_keys(c)) != BF_OK)
        return rc;
    c->keys_loaded = 1;
    /* The keys a new run's batches would have: over the plan as a run without splits sees it. */
    if ((rc = bf__plan_extend_keys(&plan, r->plan, NULL, NULL, 0)) != BF_OK)
        return rc;
    for (size_t i = 0; i < bf_plan_count(plan); i++) {
        char key[BF_IDEMPOTENCY_KEY_SIZE];

        if ((rc = bf_idempotency_key(key, plan, bf_plan_batch(plan, i), r->code_version,
                                     r->job.spec.select)) != BF_OK)
            break;
        if (!c->done_count || !bsearch(&(const char *){key}, c->done_keys, c->done_count,
                                       sizeof *c->done_keys, cmp_key))
            break;
        if (i + 1 == bf_plan_count(plan))
            *out = latest;
    }
    bf_plan_free(plan);
    return rc;
}

/* ---- One batch, on a worker --------------------------------------------- */

static void set_result(struct slot *s, int outcome, int rc, const char *fmt, ...) BF_PRINTF(4, 5);

static void set_result(struct slot *s, int outcome, int rc, const char *fmt, ...)
{
    va_list ap;

    s->outcome = outcome;
    s->rc = rc;
    va_start(ap, fmt);
    bf__vsnprintf(s->message, sizeof s->message, fmt, ap);
    va_end(ap);
}

/* The attempt failed: record it (the ledger retries it or fails it for good). */
static void attempt_failed(struct slot *s, int rc, const char *what)
{
    char msg[1024];

    bf__snprintf(msg, sizeof msg, "%s: %s", what, bf_last_error());
    if (bf_run_fail(s->run, s->batch_id, s->token, msg) == BF_E_LEASE_LOST) {
        set_result(s, OUT_LEASE_LOST, BF_E_LEASE_LOST, "%s; and the lease was lost meanwhile", msg);
        return;
    }
    set_result(s, OUT_FAILED, rc, "%s", msg);
}

/* The batch's fingerprint before it was first published: the sum of its before-state's segments. */
int bf__runner_before_sum(char out[64], const char *json)
{
    json_t *o = bf__json_loads(json, 0, NULL), *segs, *v;
    bf_fingerprint sum, fp;
    size_t i;
    int rc = BF_OK;

    memset(&sum, 0, sizeof sum);
    segs = o ? json_object_get(o, "fingerprints") : NULL;
    if (!json_is_array(segs))
        rc = bf__error(BF_E_PARSE, "runner: a recorded before-state has no fingerprints");
    json_array_foreach(segs, i, v) {
        const char *text = json_string_value(v), *sp = text ? strchr(text, ' ') : NULL;

        if (rc != BF_OK)
            break;
        if (!sp || bf_fingerprint_parse(&fp, sp + 1) != BF_OK) {
            rc = bf__error(BF_E_PARSE, "runner: a recorded before-state has a bad fingerprint");
            break;
        }
        bf_fingerprint_add(&sum, &sum, &fp);
    }
    json_decref(o);
    return rc == BF_OK ? bf_fingerprint_format(out, 64, &sum) : rc;
}

/*
 * The batch's recorded before-state with the checks' values from before
 * its first publish added under "checks" (bf_diff_before_from_json reads
 * past it), so a later attempt compares with them: after a crash between
 * the publish's commit and the ledger's, measuring them again would read
 * the published rows, and a check on how far a metric moved would see it
 * not move at all. *out is `json` itself when there is nothing to add.
 */
static int with_checks(char **out, char *json, const bf_validation_state *vstate)
{
    char *checks = NULL;
    size_t n = strlen(json);
    int rc;

    *out = json;
    if (!vstate || n < 2 || json[n - 1] != '}')
        return BF_OK;
    if ((rc = bf__validation_state_to_json(&checks, vstate)) != BF_OK)
        return rc;
    *out = bf__asprintf("%.*s,\"checks\":%s}", (int)(n - 1), json, checks);
    bf__free(checks);
    if (!*out) {
        *out = json;
        return bf__nomem();
    }
    bf__free(json);
    return BF_OK;
}

/*
 * On a later attempt of a batch, the checks' values recorded by its first
 * (with_checks); *out stays NULL when none were recorded (a target without
 * a key, a store that keeps no before-states, a record of an earlier
 * release): the caller measures them now.
 */
static int recorded_checks(bf_validation_state **out, struct slot *s)
{
    char *json = NULL, *checks = NULL;
    json_t *o;
    int rc = bf_run_before_state(&json, s->run, s->batch_id);

    *out = NULL;
    if (rc == BF_E_NOT_FOUND || rc == BF_E_UNSUPPORTED)
        return BF_OK;
    if (rc != BF_OK)
        return rc;
    o = bf__json_loads(json, 0, NULL);
    if (o && json_is_object(json_object_get(o, "checks")))
        rc = bf__json_dump(&checks, json_object_get(o, "checks"), JSON_COMPACT);
    if (rc == BF_OK && checks &&
        (rc = bf__validation_state_from_json(out, s->validator, checks)) != BF_OK)
        rc = bf__error(rc, "batch %s: the checks' values from before it first published, as "
                       "recorded, cannot be read back: %s", s->label, bf_last_error());
    json_decref(o);
    bf__free(checks);
    bf_free(json);
    return rc;
}

/*
 * What the batch's rows were before its first publish, kept across attempts:
 * the first attempt captures the before-state by key (segment fingerprints
 * over every column, which `backfill diff RUN` reads) and records it; a later
 * attempt, which may follow a publish that never completed, reads it back, so
 * fingerprint_before is always the state before the run touched the batch.
 * Without a key, or on a driver without segment fingerprints, a scan now.
 */
static int batch_before(struct slot *s, const bf_plan *plan, const bf_batch *b, char fp[64],
                        bf_diff_before *captured, const bf_validation_state *vstate,
                        bf_diff_before **out)
{
    const bf_write_spec *spec = &s->ctx->r->job.spec;
    bf_diff_before *before = captured;
    char *json = NULL;
    int rc;

    *out = NULL;
    if (!spec->key_count) {
        bf_diff_before_free(captured);
        return bf__fingerprint_text(fp, s->driver, spec->table, plan, b);
    }
    /* Token 1 is the batch's first claim ever: nothing can have published it yet. */
    rc = s->token > 1 ? bf_run_before_state(&json, s->run, s->batch_id) : BF_E_NOT_FOUND;
    if (rc == BF_OK) {
        bf_diff_before_free(captured);
        rc = bf__runner_before_sum(fp, json);
        if (rc == BF_OK)
            rc = bf_diff_before_from_json(out, json);
        bf_free(json);
        return rc;
    }
    if (rc != BF_E_NOT_FOUND && rc != BF_E_UNSUPPORTED) {
        bf_diff_before_free(captured);
        return rc;
    }
    /* Captured already in the checks' before scan, or captured now. */
    rc = before ? BF_OK : bf_diff_capture(&before, s->driver, spec->table, spec->key,
                                          spec->key_count, plan, b, NULL);
    if (rc == BF_E_UNSUPPORTED)
        return bf__fingerprint_text(fp, s->driver, spec->table, plan, b);
    if (rc == BF_OK)
        rc = bf_diff_before_to_json(&json, before);
    if (rc == BF_OK) {
        /* The sum bf__runner_before_sum() would read back from that JSON, from the segments. */
        bf_fingerprint sum = {0, 0, 0};

        for (size_t i = 0; i < before->seg_count; i++)
            bf_fingerprint_add(&sum, &sum, &before->segs[i].fp);
        rc = bf_fingerprint_format(fp, 64, &sum);
    }
    if (rc == BF_OK)
        rc = with_checks(&json, json, vstate);
    if (rc == BF_OK) {
        rc = bf_run_record_before_state(s->run, s->batch_id, json);
        if (rc == BF_E_UNSUPPORTED)
            rc = BF_OK; /* a store of version 1 or 2 keeps none: diff RUN says so */
    }
    bf_free(json);
    if (rc == BF_OK)
        *out = before;
    else
        bf_diff_before_free(before);
    return rc;
}

/*
 * The explained delta of each of the brief's batch-level metric checks: how
 * much of the metric's move came from added, removed and changed rows (and
 * which groups, with group_by). Added to the metric's entry in the results
 * JSON as "explained", where the change note reads it. A metric the diff
 * cannot decompose (AVG, MIN, ...), or a batch without pre-images, gets
 * none; that is no failure of the batch.
 *
 * After a delta publish (pre-images of only the keys it touched, and those
 * keys) the explanation is read from the touched keys alone: their rows now
 * and their pre-images, proved against the before-state and the after
 * fingerprint `fp_after` (bf__diff_explain_touched). Otherwise, or when
 * that cannot explain, a diff of the batch against its before-state and
 * pre-images does, with the same numbers.
 */
static int explain_metrics(struct slot *s, const bf_plan *plan, const bf_batch *b,
                           const bf_diff_before *before, const char *fp_after,
                           const bf_results *results, char **results_json)
{
    bf_runner *r = s->ctx->r;
    const bf_write_spec *spec = &r->job.spec;
    const char *table = s->ctx->shadow ? s->ctx->shadow : spec->table;
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff *diff = NULL;
    bf_fingerprint after;
    json_t *res = NULL, *checks, *entry;
    const char *snap = NULL, *keys = NULL;
    char *text = NULL;
    size_t i, k = 0, metrics = 0;
    int rc = BF_OK, exists = 0, touched;

    for (size_t c = 0; r->brief && c < bf_brief_check_count(r->brief); c++)
        if (bf_brief_check_kind(r->brief, c) == BF_CHECK_METRIC &&
            bf_brief_check_per(r->brief, c) != BF_CHECK_PER_RUN)
            metrics++;
    if (!metrics || !before || !spec->snapshot || !*results_json)
        return BF_OK;
    /* Views of the batch's snapshot rows and keys, as tables of their own. */
    if ((rc = bf__driver_snapshot_views(s->driver, spec->table, s->ctx->run_id,
                                        bf_batch_ordinal(b), &exists, &snap, &keys)) != BF_OK ||
        !exists)
        return rc == BF_E_NOMEM ? rc : BF_OK; /* no explanation, not a failed batch */
    o.before_table = snap;
    o.before_keys_table = keys;
    touched = keys && fp_after && bf_fingerprint_parse(&after, fp_after) == BF_OK;
    res = bf__json_loads(*results_json, 0, NULL);
    checks = res ? json_object_get(res, "checks") : NULL;
    json_array_foreach(checks, i, entry) {
        const char *kind = json_string_value(json_object_get(entry, "check"));
        size_t c, seen = 0;
        bf_diff_explained *e = NULL;
        char *cfg = NULL, *ej = NULL;
        json_t *check = NULL;

        if (!kind || strcmp(kind, "metric") != 0)
            continue;
        /* The k-th batch-level metric of the results is the brief's k-th one. */
        for (c = 0; c < bf_brief_check_count(r->brief); c++) {
            if (bf_brief_check_kind(r->brief, c) != BF_CHECK_METRIC ||
                bf_brief_check_per(r->brief, c) == BF_CHECK_PER_RUN)
                continue;
            if (seen++ == k)
                break;
        }
        k++;
        if (c == bf_brief_check_count(r->brief) || bf_brief_check_json(&cfg, r->brief, c) != BF_OK)
            continue;
        check = bf__json_loads(cfg, 0, NULL);
        bf_free(cfg);
        if (check && json_string_value(json_object_get(check, "expr"))) {
            char metric[1200];
            const char *group_by = json_string_value(json_object_get(check, "group_by"));
            int got;

            bf__snprintf(metric, sizeof metric, "%s",
                         json_string_value(json_object_get(check, "expr")));
            if (!bf__diff_decomposes(metric)) {
                /* AVG, MIN, ...: no explanation, as bf_diff_explain would refuse it. */
                bf_clear_error();
                json_decref(check);
                continue;
            }
            /* The check measured the metric after in the scan fp_after comes from. */
            bf_value total;
            int have_total = results && bf__results_total(&total, results, i) == BF_OK;

            got = touched && bf__diff_explain_touched(&e, s->driver, table, snap, keys, spec->key,
                                                      spec->key_count, before, &after,
                                                      have_total ? &total : NULL, plan, b,
                                                      metric, group_by, 5) == BF_OK;
            if (!got && !diff) {
                /* The diff, once for the batch; without it nothing is explained. */
                rc = bf_diff_compute(&diff, s->driver, table, spec->key, spec->key_count, plan, b,
                                     before, &o);
                if (rc != BF_OK) {
                    json_decref(check);
                    json_decref(res);
                    return rc == BF_E_NOMEM ? rc : BF_OK;
                }
            }
            if ((got || bf_diff_explain(&e, diff, s->driver, plan, b, metric, group_by, 5) ==
                            BF_OK) &&
                bf_diff_explained_to_json(&ej, e) == BF_OK)
                json_object_set_new(entry, "explained", bf__json_loads(ej, 0, NULL));
        }
        bf_free(ej);
        bf_diff_explained_free(e);
        json_decref(check);
    }
    rc = BF_OK;
    if (res) {
        rc = bf__json_dump(&text, res, JSON_COMPACT);
        if (rc == BF_OK) {
            bf_free(*results_json);
            *results_json = text;
        }
    }
    json_decref(res);
    bf_diff_free(diff);
    return rc;
}

/* The checks' after scan of a batch, and the fingerprint of every column it takes on the way. */
struct after {
    struct slot *s;
    const bf_plan *plan;
    const bf_batch *b;
    bf_validation_state *vstate;
    bf_results *results;
    bf_fingerprint all;
    int measured;     /* `all` came from the scan */
    int rc;           /* BF_OK, or the failure, with `message` */
    int table_failed; /* the failure was setting the shadow table */
    char message[1024];
};

static void after_scan(struct after *a)
{
    struct slot *s = a->s;

    if (s->ctx->shadow && (a->rc = bf_validator_set_table(s->validator, s->ctx->shadow)) != BF_OK)
        a->table_failed = 1;
    else
        a->rc = bf__validator_after_fp(&a->results, s->validator, s->driver, a->plan, a->b,
                                       a->vstate, &a->all, &a->measured);
    if (a->rc != BF_OK)
        bf__snprintf(a->message, sizeof a->message, "%s", bf_last_error());
}

/*
 * As the publish leaves the batch, before its commit (bf__publish_measure):
 * what the checks see is what it wrote, and the fingerprint of every
 * column the scan takes is the publish's record of it. A scan that fails
 * fails the publish, which rolls back; the attempt fails as a validation
 * after the publish did before.
 */
static int after_in_publish(void *ctx, bf_fingerprint *written, int *have)
{
    struct after *a = ctx;

    after_scan(a);
    *have = a->rc == BF_OK && a->measured;
    if (*have)
        *written = a->all;
    return a->rc;
}

static const char no_checks_json[] = "{\"batch\":null,\"status\":\"pass\",\"counts\":{},"
                                     "\"checks\":[]}";

static void do_batch_of(struct slot *s, const bf_plan *plan, const bf_batch *b)
{
    struct run_ctx *c = s->ctx;
    bf_runner *r = c->r;
    const bf_write_spec *spec = &r->job.spec;
    char key[BF_IDEMPOTENCY_KEY_SIZE], fp_before[64] = "", fp_after[64] = "", *now = NULL;
    char *results_json = NULL, failure[1024];
    int64_t tally[5] = {0, 0, 0, 0, 0};
    bf_validation_state *vstate = NULL;
    bf_diff_before *before = NULL, *captured = NULL;
    bf_results *results = NULL;
    bf_publish_result pub = BF_PUBLISH_RESULT_INIT;
    bf_batch_result done = BF_BATCH_RESULT_INIT;
    struct after after;
    int64_t started = bf__runner_now_us(), found = 0;
    int locked = 0, failed_check = 0, published = 0, in_publish = 0, rc;

    memset(&after, 0, sizeof after);

    /* The same work done by an earlier run is not published again (unless forced). */
    if ((rc = bf_idempotency_key(key, plan, b, r->code_version, spec->select)) != BF_OK) {
        attempt_failed(s, rc, "idempotency key");
        return;
    }
    if (!(r->flags & BF_RUNNER_FORCE) && c->done_count &&
        bsearch(&(const char *){key}, c->done_keys, c->done_count, sizeof *c->done_keys,
                cmp_key) &&
        (rc = bf_ledger_find_completed_key(&found, s->ledger, r->brief_name, key)) != BF_OK) {
        set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
        return;
    }
    if (found) {
        char why[160], json[300];

        bf__snprintf(why, sizeof why, "already done by batch %lld with the same idempotency key; "
                     "not published again", (long long)found);
        bf__snprintf(json, sizeof json, "{\"batch\":null,\"status\":\"pass\",\"counts\":{},"
                     "\"checks\":[],\"skipped\":\"%s\"}", why);
        done.duration_s = (double)(bf__runner_now_us() - started) / 1e6;
        done.validation_json = json;
        done.validation_tally = tally;
        s->done_us[0] = bf__mono_us();
        rc = bf_run_complete(s->run, s->batch_id, s->token, &done);
        s->done_us[1] = bf__mono_us();
        if (rc == BF_E_LEASE_LOST)
            set_result(s, OUT_LEASE_LOST, rc, "%s", bf_last_error());
        else if (rc != BF_OK)
            set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
        else
            set_result(s, OUT_SKIPPED, BF_OK, "%s", why);
        return;
    }
    /* A batch never publishes into a target whose schema changed since the run started. */
    if ((rc = describe_json(&now, s->driver, spec->table)) != BF_OK) {
        attempt_failed(s, rc, "describe the target");
        return;
    }
    if (c->schema && strcmp(now, c->schema) != 0) {
        char why[600];

        schema_change(why, sizeof why, spec->table, c->schema, now);
        bf__free(now);
        bf_run_release(s->run, s->batch_id, s->token, why);
        bf_run_pause(s->run, why);
        set_result(s, OUT_CONFLICT, BF_E_CONFLICT, "%s", why);
        return;
    }
    bf__free(now);

    /*
     * An earlier attempt whose worker died between the publish's commit and
     * the ledger's left its rows and its snapshot behind: undo them first
     * (proved by the driver against what that publish wrote), so this
     * attempt starts from the rows before the batch, as the first did. An
     * append would otherwise add its rows twice (or fail on the key for
     * good), and every pattern would count none written.
     */
    if (s->token > 1 && spec->snapshot) {
        rc = bf_driver_restore(s->driver, spec, plan, b, c->run_id);
        if (rc == BF_OK)
            rc = bf_run_record(s->run, s->batch_id, "attempt_undone",
                               "{\"why\":\"an earlier attempt published without the ledger "
                               "hearing of it; its rows were put back before this one\"}");
        else if (rc == BF_E_NOT_FOUND || rc == BF_E_UNSUPPORTED)
            rc = BF_OK; /* nothing published, or a host driver that keeps no snapshots */
        if (rc != BF_OK) {
            attempt_failed(s, rc, "the undo of an earlier attempt's publish");
            return;
        }
    }

    if (s->validator) {
        if (!s->own_validator) {
            pthread_mutex_lock(&r->validator_lock);
            locked = 1;
            bf_validator_set_table(s->validator, spec->table);
        }
        /*
         * On a batch's first claim its before-state is captured in the
         * checks' own scan of the batch where the driver can (the same
         * segments and fingerprints as bf_diff_capture).
         */
        if (spec->key_count && s->token <= 1 && s->validator->table &&
            strcmp(s->validator->table, spec->table) == 0)
            rc = bf__validator_before_capture(&vstate, s->validator, s->driver, plan, b,
                                              spec->key, spec->key_count, &captured);
        else if (spec->key_count && s->token > 1 &&
                 (rc = recorded_checks(&vstate, s)) == BF_OK && vstate)
            ; /* as the batch's first attempt measured them */
        else if (rc == BF_OK)
            rc = bf_validator_before(&vstate, s->validator, s->driver, plan, b);
        if (rc != BF_OK) {
            attempt_failed(s, rc, "validation before the publish");
            goto out;
        }
    }
    rc = batch_before(s, plan, b, fp_before, captured, vstate, &before);
    captured = NULL; /* batch_before owns it */
    if (rc != BF_OK) {
        attempt_failed(s, rc, "the batch's state before");
        goto out;
    }
    if ((rc = bf_driver_stage(NULL, s->driver, spec, plan, b, c->run_id)) != BF_OK) {
        attempt_failed(s, rc, "stage");
        goto out;
    }
    /* The checks' after scan runs inside the publish's transaction where the driver can. */
    after.s = s;
    after.plan = plan;
    after.b = b;
    after.vstate = vstate;
    rc = bf__driver_publish_measured(&pub, s->driver, spec, plan, b, c->run_id, s->token,
                                     s->validator ? after_in_publish : NULL, &after, &in_publish);
    if (rc != BF_OK) {
        /* What the scan saw was rolled back with the publish. */
        bf_results_free(after.results);
        after.results = NULL;
    }
    if (rc != BF_OK && in_publish && after.rc != BF_OK) {
        /* The publish failed because its checks' scan did: the failure is the scan's. */
        bf__error(after.rc, "%s", after.message);
        if (after.table_failed)
            set_result(s, OUT_ERROR, after.rc, "%s", bf_last_error());
        else
            attempt_failed(s, after.rc, "validation after the publish");
        goto out;
    }
    if (rc == BF_E_LEASE_LOST) {
        set_result(s, OUT_LEASE_LOST, rc, "batch %s: %s", s->label, bf_last_error());
        goto out;
    }
    if (rc != BF_OK) {
        attempt_failed(s, rc, "publish");
        goto out;
    }
    published = 1;
    if (s->validator) {
        if (!in_publish)
            after_scan(&after);
        results = after.results;
        after.results = NULL;
        if ((rc = after.rc) != BF_OK) {
            bf__error(rc, "%s", after.message);
            if (after.table_failed) {
                set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
                goto out;
            }
        }
        if (rc == BF_OK && bf_results_status(results) != BF_OK) {
            failed_check = 1;
            bf__snprintf(failure, sizeof failure, "%s", bf_last_error());
        }
        if (rc == BF_OK)
            rc = bf_results_to_json(&results_json, results);
        if (rc != BF_OK) {
            attempt_failed(s, rc, "validation after the publish");
            goto out;
        }
        for (int o = 0; o < 5; o++)
            tally[o] = (int64_t)bf_results_tally(results, (bf_outcome)o);
        if (after.measured)
            bf_fingerprint_format(fp_after, sizeof fp_after, &after.all);
    }
    if (!fp_after[0] &&
        (rc = bf__fingerprint_text(fp_after, s->driver, c->shadow ? c->shadow : spec->table, plan,
                                   b)) != BF_OK) {
        attempt_failed(s, rc, "fingerprint after");
        goto out;
    }
    if (s->validator &&
        (rc = explain_metrics(s, plan, b, before, fp_after, results, &results_json)) != BF_OK) {
        attempt_failed(s, rc, "explaining the metrics");
        goto out;
    }
    /* Completed, validated (or the run paused) and recorded, in one ledger transaction. */
    done.rows_written = pub.written;
    done.rows_deleted = pub.deleted;
    done.fingerprint_before = fp_before;
    done.fingerprint_after = fp_after;
    done.idempotency_key = key;
    done.duration_s = (double)(bf__runner_now_us() - started) / 1e6;
    done.validation_json = results_json ? results_json : no_checks_json;
    done.validation_tally = tally;
    done.validation_failure = failed_check ? failure : NULL;
    s->done_us[0] = bf__mono_us();
    rc = bf_run_complete(s->run, s->batch_id, s->token, &done);
    s->done_us[1] = bf__mono_us();
    if (rc == BF_E_LEASE_LOST) {
        set_result(s, OUT_LEASE_LOST, rc, "batch %s: %s", s->label, bf_last_error());
        goto out;
    }
    if (rc != BF_OK) {
        set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
        goto out;
    }
    s->rows_written = pub.written;
    s->rows_deleted = pub.deleted;
    s->duration_s = done.duration_s;
    if (failed_check)
        set_result(s, OUT_INVALID, BF_E_VALIDATION, "validation failed: batch %s: %s", s->label,
                   failure);
    else
        set_result(s, OUT_DONE, BF_OK, "batch %s: %lld rows written, %lld deleted", s->label,
                   (long long)pub.written, (long long)pub.deleted);
out:
    /* (A publish that succeeded on a consuming driver dropped it in its own commit.) */
    if (!published || !s->consumes)
        bf_driver_drop_staging(s->driver, spec, plan, b, c->run_id);
    if (s->validator && !s->own_validator && c->shadow)
        bf_validator_set_table(s->validator, spec->table);
    if (locked)
        pthread_mutex_unlock(&r->validator_lock);
    bf_free(results_json);
    bf_results_free(results);
    bf_validation_state_free(vstate);
    bf_diff_before_free(before);
}

static void view_free(struct view *v)
{
    if (v) {
        bf__halves_dispose(&v->halves);
        bf__free(v);
    }
}

/* Stop using a view (under c->lock); a retired one no task uses any more is freed. */
static void view_put(struct run_ctx *c, struct view *v)
{
    struct view **at;

    if (--v->refs || v == c->view)
        return;
    for (at = &c->retired; *at && *at != v; at = &(*at)->older)
        ;
    if (*at)
        *at = v->older;
    view_free(v);
}

/* A view of the plan with every batch the ledger holds now (under c->lock). */
static int view_renew(struct run_ctx *c, struct slot *s)
{
    struct view *v = bf__calloc(1, sizeof *v);
    int rc = v ? bf__runner_extend_plan(&v->halves, c->r->plan, s->run) : bf__nomem();

    if (rc != BF_OK) {
        bf__free(v);
        return rc;
    }
    if (c->view->refs) {
        c->view->older = c->retired;
        c->retired = c->view;
    } else {
        view_free(c->view);
    }
    c->view = v;
    return BF_OK;
}

static void do_batch(struct slot *s)
{
    struct run_ctx *c = s->ctx;
    struct view *v;
    const bf_batch *b;
    int rc = BF_OK;

    s->rows_written = s->rows_deleted = 0;
    s->duration_s = 0;
    pthread_mutex_lock(&c->lock);
    v = c->view;
    b = bf__halves_batch(&v->halves, s->batch_id, s->ordinal, s->lo, s->hi);
    if (!b) {
        /* Cut since the view was made (a split or a resize, here or in another process). */
        rc = view_renew(c, s);
        v = c->view;
        b = rc == BF_OK ? bf__halves_batch(&v->halves, s->batch_id, s->ordinal, s->lo, s->hi)
                        : NULL;
    }
    v->refs++;
    pthread_mutex_unlock(&c->lock);
    if (b) {
        do_batch_of(s, v->halves.plan, b);
    } else {
        bf_run_release(s->run, s->batch_id, s->token, "the batch is not in the run's plan");
        if (rc == BF_OK)
            rc = bf__error(BF_E_STATE, "batch %s (id %lld) is not in the run's plan or in "
                           "what the ledger cut from it", s->label, (long long)s->batch_id);
        set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
    }
    pthread_mutex_lock(&c->lock);
    view_put(c, v);
    pthread_mutex_unlock(&c->lock);
}

/*
 * A task: claim the next batch on the slot's own ledger handle and do it.
 * The claim and the completion go through the same connection, so the
 * worker's cache of the ledger stays warm; the coordinator only hears of it.
 */
static void batch_task(void *arg)
{
    struct slot *s = arg;
    struct run_ctx *c = s->ctx;
    bf_lease *lease = NULL;
    int rc;

    s->claim_us[0] = bf__mono_us();
    rc = bf_run_claim(&lease, s->run);
    s->claim_us[1] = bf__mono_us();

    if (rc == BF_E_STATE) {
        set_result(s, OUT_STOPPED, rc, "%s", bf_last_error());
    } else if (rc != BF_OK) {
        set_result(s, OUT_ERROR, rc, "%s", bf_last_error());
    } else if (!lease) {
        set_result(s, OUT_NONE, BF_OK, "nothing to claim now");
    } else {
        pthread_mutex_lock(&c->lock);
        s->batch_id = bf_lease_batch_id(lease);
        s->token = bf_lease_token(lease);
        s->ordinal = bf_lease_ordinal(lease);
        s->lo = bf_lease_lo(lease);
        s->hi = bf_lease_hi(lease);
        bf__snprintf(s->label, sizeof s->label, "%s", bf_lease_label(lease));
        s->claimed = 1;
        pthread_cond_broadcast(&c->cond);
        pthread_mutex_unlock(&c->lock);
        bf_lease_free(lease);
        do_batch(s);
    }
    pthread_mutex_lock(&c->lock);
    s->status = SLOT_FINISHED;
    pthread_cond_broadcast(&c->cond);
    pthread_mutex_unlock(&c->lock);
}

/* ---- The built-in pool: threads that live for the run ------------------- */

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    pthread_t *threads;
    unsigned count;
    bf_task_fn fn[256]; /* tasks waiting: never more than the slots (at most 256) */
    void *arg[256];
    unsigned head, tail;
    int stopping;
};

static void *pool_main(void *arg)
{
    struct pool *p = arg;

    pthread_mutex_lock(&p->lock);
    for (;;) {
        bf_task_fn fn;
        void *targ;

        while (p->head == p->tail && !p->stopping)
            pthread_cond_wait(&p->cond, &p->lock);
        if (p->head == p->tail)
            break;
        fn = p->fn[p->head % 256];
        targ = p->arg[p->head % 256];
        p->head++;
        pthread_mutex_unlock(&p->lock);
        fn(targ);
        pthread_mutex_lock(&p->lock);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

static int pool_start(void *userdata, unsigned workers)
{
    struct pool *p = userdata;

    p->threads = bf__calloc(workers, sizeof *p->threads);
    if (!p->threads)
        return bf__nomem();
    for (p->count = 0; p->count < workers; p->count++)
        if (pthread_create(&p->threads[p->count], NULL, pool_main, p) != 0)
            return p->count ? BF_OK
                            : bf__error(BF_E_IO, "runner: cannot start a worker thread");
    return BF_OK;
}

static int pool_submit(void *userdata, bf_task_fn fn, void *arg)
{
    struct pool *p = userdata;

    pthread_mutex_lock(&p->lock);
    if (p->tail - p->head >= 256) {
        pthread_mutex_unlock(&p->lock);
        return bf__error(BF_E_INTERNAL, "runner: the pool's queue is full");
    }
    p->fn[p->tail % 256] = fn;
    p->arg[p->tail % 256] = arg;
    p->tail++;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
    return BF_OK;
}

static int pool_drain(void *userdata)
{
    struct pool *p = userdata;

    pthread_mutex_lock(&p->lock);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (unsigned i = 0; i < p->count; i++)
        pthread_join(p->threads[i], NULL);
    p->count = 0;
    return BF_OK;
}

/* ---- Slots ---------------------------------------------------------------- */

static void slot_close(struct slot *s)
{
    if (s->own_validator)
        bf_validator_free(s->validator);
    bf_run_free(s->run);
    bf_driver_free(s->driver);
    bf_ledger_close(s->ledger);
    memset(s, 0, sizeof *s);
}

static int slot_open(struct slot *s, struct run_ctx *c)
{
    bf_runner *r = c->r;
    int rc;

    memset(s, 0, sizeof *s);
    s->ctx = c;
    if ((rc = bf__runner_open_ledger(r, &s->ledger)) != BF_OK ||
        (rc = bf__runner_open_driver(r, &s->driver)) != BF_OK ||
        (rc = bf__driver_set_owner(s->driver, c->owner)) != BF_OK ||
        (rc = bf_run_open(&s->run, s->ledger, c->run_id)) != BF_OK)
        return rc;
    /* Each batch drops its staging table after the publish: let the publish's commit do it. */
    s->consumes = bf__driver_consume_staging(s->driver);
    if (r->brief) {
        rc = bf_validator_new_from_brief(&s->validator, r->brief);
        s->own_validator = rc == BF_OK;
    } else {
        s->validator = r->validator;
    }
    return rc;
}

/* ---- The coordinator ------------------------------------------------------ */

/* "user@host pid N": is it a process on this host that no longer exists? */
static int worker_is_dead(const char *worker)
{
    char host[256], *at, *pid_at;
    long pid;

    if (!worker || !(at = strchr(worker, '@')) || !(pid_at = strstr(at, " pid ")))
        return 0;
    if (gethostname(host, sizeof host) != 0)
        return 0;
    host[sizeof host - 1] = '\0';
    if ((size_t)(pid_at - at - 1) != strlen(host) || strncmp(at + 1, host, strlen(host)) != 0)
        return 0;
    pid = strtol(pid_at + 5, NULL, 10);
    if (pid <= 0 || pid == (long)getpid())
        return 0;
    return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

/* Release leases held by dead processes on this host; *out how many. */
static int reclaim_dead(struct run_ctx *c, size_t *out)
{
    bf_batch_list *l = NULL;
    int rc = bf_run_batches(&l, c->run, BF_BATCH_RUNNING);

    *out = 0;
    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++) {
        const char *w = bf_batch_list_worker(l, i);
        char why[400], detail[600];

        if (!worker_is_dead(w))
            continue;
        bf__snprintf(why, sizeof why, "its worker (%s) is gone", w);
        if (bf_run_release(c->run, bf_batch_list_id(l, i), bf_batch_list_token(l, i), why) !=
            BF_OK)
            continue; /* someone else was quicker */
        bf__snprintf(detail, sizeof detail, "{\"worker\":\"%s\",\"token\":%lld}", w,
                     (long long)bf_batch_list_token(l, i));
        bf_run_record(c->run, bf_batch_list_id(l, i), "lease_reclaimed", detail);
        (*out)++;
        bf__runner_emit(c->r, c->run, BF_RUN_EVENT_WAITING, bf_batch_list_id(l, i),
                        bf_batch_list_label(l, i), 0, 0, 0, why);
    }
    bf_batch_list_free(l);
    return rc;
}

/* Every batch is done: the run is being validated, awaits approval, or is beyond. */
static int past_running(int state)
{
    return state == BF_RUN_VALIDATING || state == BF_RUN_AWAITING_APPROVAL ||
           state == BF_RUN_APPROVED || state == BF_RUN_COMPLETED;
}

static void pause_reason(char *buf, size_t size, bf_run *run);

static int run_level(struct run_ctx *c, bf_validation_state *run_before)
{
    bf_runner *r = c->r;
    bf_batch_list *l = NULL;
    bf_results *res = NULL;
    size_t *ords = NULL, n = 0;
    int64_t *rows = NULL;
    int rc = bf_run_batches(&l, c->run, -1);

    if (rc != BF_OK)
        return rc;
    ords = bf__calloc(bf_batch_list_count(l) + 1, sizeof *ords);
    rows = bf__calloc(bf_batch_list_count(l) + 1, sizeof *rows);
    if (!ords || !rows)
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++) {
        int st = bf_batch_list_state(l, i);

        if (st != BF_BATCH_COMPLETED && st != BF_BATCH_VALIDATED)
            continue;
        /*
         * A batch is completed and validated in one transaction, so one left
         * completed failed its checks (or a host completed it by hand). It is
         * not validated again silently: checks that compare with the rows
         * before the batch could no longer see them.
         */
        if (st == BF_BATCH_COMPLETED) {
            rc = bf__error(BF_E_VALIDATION, "validation failed: batch %s (id %lld) did not pass "
                           "its checks (backfill validate %lld --batch %lld shows them); roll it "
                           "back (backfill rollback %lld --batch %lld) and run again to redo it, "
                           "or cancel the run", bf_batch_list_label(l, i),
                           (long long)bf_batch_list_id(l, i), (long long)c->run_id,
                           (long long)bf_batch_list_id(l, i), (long long)c->run_id,
                           (long long)bf_batch_list_id(l, i));
            break;
        }
    }
    /*
     * The plan's batches the run wrote, however the ledger cut them, each
     * with the rows its bounds held once it published (its recorded after
     * fingerprint's count), which coverage compares with what they hold now:
     * as backfill validate gives them. Unknown (-1) for a batch that was cut
     * or skipped (it published nothing, so recorded no after fingerprint).
     */
    if (rc == BF_OK) {
        size_t total = bf_plan_count(r->plan);
        int64_t *held = bf__calloc(total + 1, sizeof *held);
        bf_run_view *v = NULL;
        size_t *w = NULL;

        rc = held ? bf_run_view_new(&v, r->plan, c->run) : bf__nomem();
        if (rc == BF_OK)
            rc = bf_run_view_written(&w, &n, v);
        for (size_t i = 0; rc == BF_OK && i < total; i++)
            held[i] = -1;
        for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++) {
            const bf_batch *b = bf_run_view_batch(v, bf_batch_list_id(l, i));
            const char *fp = bf_batch_list_fingerprint_after(l, i);
            int st = bf_batch_list_state(l, i);
            bf_fingerprint after;

            if ((st == BF_BATCH_COMPLETED || st == BF_BATCH_VALIDATED) && b &&
                bf_batch_ordinal(b) < total && fp && bf_fingerprint_parse(&after, fp) == BF_OK)
                held[bf_batch_ordinal(b)] = (int64_t)after.rows;
        }
        for (size_t i = 0; rc == BF_OK && i < n; i++) {
            ords[i] = w[i];
            rows[i] = held[w[i]];
        }
        bf__free(held);
        bf_free(w);
        bf_run_view_free(v);
    }
    if (rc == BF_OK && bf_run_current_state(c->run) != BF_RUN_VALIDATING)
        rc = bf_run_set_state(c->run, BF_RUN_VALIDATING, "every batch validated");
    if (rc == BF_OK && r->validator) {
        if (!r->own_validator)
            pthread_mutex_lock(&r->validator_lock);
        rc = bf_validator_set_written(r->validator, ords, rows, n);
        if (rc == BF_OK && c->shadow)
            rc = bf_validator_set_table(r->validator, c->shadow);
        if (rc == BF_OK)
            rc = bf_validator_after(&res, r->validator, r->driver, r->plan, NULL, run_before);
        if (c->shadow)
            bf_validator_set_table(r->validator, r->job.spec.table);
        if (!r->own_validator)
            pthread_mutex_unlock(&r->validator_lock);
        if (rc == BF_OK)
            rc = bf_validator_settle(c->run, 0, res);
        if (rc == BF_OK && bf_results_status(res) != BF_OK)
            rc = bf__error(BF_E_VALIDATION, "validation failed: run: %s", bf_last_error());
    }
    if (rc == BF_OK && !r->validator) {
        /* No checks: the record says so, and that nothing failed. */
        static const int64_t none[5] = {0, 0, 0, 0, 0};

        rc = bf_run_record_validation(c->run, 0, "{\"batch\":null,\"status\":\"pass\","
                                      "\"counts\":{},\"checks\":[]}", none, NULL,
                                      BF_VALIDATION_SETTLE);
    }
    if (rc == BF_OK &&
        (rc = bf_run_set_state(c->run, BF_RUN_AWAITING_APPROVAL, "run-level validation "
                               "passed")) == BF_E_STATE) {
        /* Another process validating the run at the same time got there first. */
        int now;

        bf_run_refresh(c->run);
        now = bf_run_current_state(c->run);
        if (past_running(now) && now != BF_RUN_VALIDATING) {
            rc = BF_OK;
        } else {
            char why[600];

            /* Paused (its checks failed there) or cancelled meanwhile: say so, as it said. */
            pause_reason(why, sizeof why, c->run);
            rc = bf__error(now == BF_RUN_PAUSED && strncmp(why, "validation failed", 17) == 0
                               ? BF_E_VALIDATION
                               : BF_E_STATE,
                           "run %lld became %s while this process validated it%s%s",
                           (long long)c->run_id, bf_run_state_name((bf_run_state)now),
                           now == BF_RUN_PAUSED ? ": " : "", now == BF_RUN_PAUSED ? why : "");
        }
    }
    bf_results_free(res);
    bf__free(ords);
    bf__free(rows);
    bf_batch_list_free(l);
    return rc;
}

/* Tell the starts of batches workers claimed since the last look. */
/* Read the run's progress from the ledger into the cache; NULL when that failed. */
static const bf_progress *progress_read(struct run_ctx *c)
{
    static const bf_progress init = BF_PROGRESS_INIT;

    c->pc = init;
    c->pc_read0 = bf__mono_us();
    c->pc_ok = bf_run_progress(&c->pc, c->run) == BF_OK;
    c->pc_read1 = bf__mono_us();
    c->pc_remaining = c->pc.pending + c->pc.running;
    c->pc_elapsed = c->pc.elapsed_s;
    c->pc_eta = c->pc.eta_s;
    return c->pc_ok ? &c->pc : NULL;
}

/*
 * The progress for a batch_started or batch_done event of slot `s`.
 * Reading the counts costs a pass over the run's batches, too much for two
 * events per batch on a long run, so the last read (at most a second old)
 * is moved by the event's own change: a claim makes a pending batch
 * running, a completion a running batch validated with its rows. A change
 * the read already saw (it reached the ledger before the read began) moves
 * nothing; one whose time overlaps the read's reads again. Changes by
 * other processes show at the next read.
 */
static const bf_progress *told_progress(struct run_ctx *c, const struct slot *s, int started)
{
    int64_t now = bf__mono_us(), sent, back;

    if (!c->pc_ok || now - c->pc_read1 > 1000000)
        return progress_read(c);
    sent = started ? s->claim_us[0] : s->done_us[0];
    back = started ? s->claim_us[1] : s->done_us[1];
    if (sent <= c->pc_read1 && back >= c->pc_read0)
        return progress_read(c); /* the read may or may not have seen it */
    if (sent > c->pc_read1) {
        if (started) {
            c->pc.pending -= c->pc.pending > 0;
            c->pc.running++;
        } else {
            c->pc.running -= c->pc.running > 0;
            c->pc.validated++;
            c->pc.rows_written += s->rows_written;
            c->pc.rows_deleted += s->rows_deleted;
        }
    }
    if (c->pc.state == BF_RUN_RUNNING)
        c->pc.elapsed_s = c->pc_elapsed + (double)(now - c->pc_read1) / 1e6;
    if (c->pc_eta >= 0 && c->pc_remaining > 0)
        c->pc.eta_s = c->pc_eta * (double)(c->pc.pending + c->pc.running) /
                      (double)c->pc_remaining;
    return &c->pc;
}

static void tell_starts(struct run_ctx *c)
{
    for (unsigned i = 0; i < c->nslots; i++) {
        struct slot *s = &c->slots[i];
        int claimed;

        pthread_mutex_lock(&c->lock);
        claimed = s->claimed;
        s->claimed = 0;
        pthread_mutex_unlock(&c->lock);
        if (claimed && c->r->on_event) {
            bf_run_refresh(c->run);
            bf__runner_emit_with(c->r, c->run, told_progress(c, s, 1),
                                 BF_RUN_EVENT_BATCH_STARTED, s->batch_id, s->label, 0, 0, 0,
                                 NULL);
        }
    }
}

struct loop {
    unsigned in_flight;
    int stopping, final_rc, idle, finished_one;
};

/*
 * Adaptive sizing: after a batch of the width the untouched tail is cut to
 * is done, the width for the rest follows from how long it took
 * (bf_key_width_next()); a change of 10% or more re-cuts the tail in the
 * ledger. Batches cut before (in flight during a resize, split halves, the
 * short last one) are not measured, so each width is judged once, by its
 * own first batch.
 */
static int maybe_resize(struct run_ctx *c, const struct slot *s)
{
    int64_t width = s->hi - s->lo, next, n = 0;
    char why[400];
    int rc;

    if (c->target_s <= 0 || width < 1)
        return BF_OK;
    if (c->cut_width == 0)
        c->cut_width = width; /* the first batch done here: its width is the tail's */
    if (width != c->cut_width ||
        bf_key_width_next(&next, width, s->duration_s, 0, c->target_s) != BF_OK)
        return BF_OK;
    if ((double)next > (double)width * 0.9 && (double)next < (double)width * 1.1)
        return BF_OK;
    bf__snprintf(why, sizeof why, "batch %s took %.3f s for %lld keys; target_batch_s %g",
                 s->label, s->duration_s, (long long)width, c->target_s);
    rc = bf_run_resize_keys(&n, c->run, next, why);
    if (rc != BF_OK)
        return rc;
    if (n > 0) {
        char msg[600];

        c->cut_width = next;
        c->pc_ok = 0; /* the counts changed: the next event reads them */
        bf__snprintf(msg, sizeof msg, "the batches not yet claimed are re-cut to %lld keys each "
                     "(%lld batches): %s", (long long)next, (long long)n, why);
        bf_run_refresh(c->run);
        bf__runner_emit(c->r, c->run, BF_RUN_EVENT_RESIZED, 0, NULL, 0, 0, 0, msg);
    }
    return BF_OK;
}

/* BF_E_STATE for a run whose batches ran out of attempts: how many, and what next. */
static int failed_for_good(const struct run_ctx *c, const bf_progress *p)
{
    return bf__error(BF_E_STATE, "run %lld: %lld batch%s failed for good (backfill status shows "
                     "why; backfill retry puts them back)", (long long)c->run_id,
                     (long long)p->failed, p->failed == 1 ? "" : "es");
}

/* Take the results of finished tasks and tell them. */
static void collect(struct run_ctx *c, struct loop *L)
{
    bf_runner *r = c->r;
    int rc;

    tell_starts(c);
    for (unsigned i = 0; i < c->nslots; i++) {
        struct slot *s = &c->slots[i];
        int status, claimed;


        pthread_mutex_lock(&c->lock);
        status = s->status;
        claimed = status == SLOT_FINISHED && s->claimed;
        if (claimed)
            s->claimed = 0;
        pthread_mutex_unlock(&c->lock);
        if (status != SLOT_FINISHED)
            continue;
        if (claimed && r->on_event) { /* claimed and finished since the last look */
            bf_run_refresh(c->run);
            bf__runner_emit_with(r, c->run, told_progress(c, s, 1), BF_RUN_EVENT_BATCH_STARTED,
                                 s->batch_id, s->label, 0, 0, 0, NULL);
        }
        if (r->on_event && s->outcome != OUT_NONE)
            bf_run_refresh(c->run); /* for the progress the events carry */
        /*
         * Nothing to claim now holds new tasks until something changes: a
         * batch that ends frees a place under max_concurrency.
         */
        if (s->outcome != OUT_NONE)
            L->idle = 0;
        switch (s->outcome) {
        case OUT_NONE:
            L->idle = 1;
            break;
        case OUT_DONE:
        case OUT_SKIPPED:
            L->finished_one = 1;
            if (r->on_event)
                bf__runner_emit_with(r, c->run, told_progress(c, s, 0), BF_RUN_EVENT_BATCH_DONE,
                                     s->batch_id, s->label, s->rows_written, s->rows_deleted,
                                     s->duration_s, s->message);
            if (s->outcome == OUT_DONE && !L->stopping && (rc = maybe_resize(c, s)) != BF_OK &&
                L->final_rc == BF_OK) {
                L->final_rc = bf__runner_fail(r, rc);
                L->stopping = 1;
            }
            break;
        case OUT_FAILED:
            c->pc_ok = 0; /* pending again or failed: the next event reads */
            bf__runner_emit(r, c->run, BF_RUN_EVENT_BATCH_FAILED, s->batch_id, s->label, 0, 0,
                            s->duration_s, s->message);
            break;
        case OUT_LEASE_LOST:
            c->pc_ok = 0;
            bf__runner_emit(r, c->run, BF_RUN_EVENT_LEASE_LOST, s->batch_id, s->label, 0, 0, 0,
                            s->message);
            break;
        case OUT_STOPPED:
            L->stopping = 1;
            bf_run_refresh(c->run);
            if (past_running(bf_run_current_state(c->run))) {
                /* Another process did the last batches: no pause, nothing failed. */
                c->done_elsewhere = 1;
                break;
            }
            if (L->final_rc == BF_OK) {
                int now = bf_run_current_state(c->run);
                bf_progress p = BF_PROGRESS_INIT;

                /* A run failed by batches out of attempts says how many, and what next. */
                if (now == BF_RUN_FAILED && !bf_run_last_error(c->run)[0] &&
                    bf_run_progress(&p, c->run) == BF_OK)
                    L->final_rc = failed_for_good(c, &p);
                else
                    L->final_rc = bf__error(BF_E_STATE, "run %lld is %s%s%s",
                                            (long long)c->run_id, bf_run_state_name(now),
                                            bf_run_last_error(c->run)[0] ? ": " : "",
                                            bf_run_last_error(c->run));
                bf__runner_fail(r, L->final_rc);
                bf__runner_emit(r, c->run,
                                now == BF_RUN_CANCELLED ? BF_RUN_EVENT_CANCELLED
                                : now == BF_RUN_FAILED  ? BF_RUN_EVENT_FAILED
                                                        : BF_RUN_EVENT_PAUSED,
                                0, NULL, 0, 0, 0, r->err.msg);
            }
            break;
        default: /* OUT_INVALID, OUT_CONFLICT, OUT_ERROR stop the run here */
            c->pc_ok = 0;
            if (L->final_rc == BF_OK) {
                L->final_rc = bf__error(s->rc, "%s", s->message);
                bf__runner_fail(r, L->final_rc);
            }
            L->stopping = 1;
            if (s->outcome != OUT_ERROR)
                bf__runner_emit(r, c->run, BF_RUN_EVENT_PAUSED, s->batch_id, s->label, 0, 0, 0,
                                s->message);
            break;
        }
        pthread_mutex_lock(&c->lock);
        s->status = SLOT_FREE;
        pthread_mutex_unlock(&c->lock);
        L->in_flight--;
    }
}

static void wait_a_little(struct run_ctx *c, double seconds)
{
    struct timespec ts;
    int64_t ns;

    clock_gettime(CLOCK_REALTIME, &ts);
    ns = (int64_t)ts.tv_nsec + (int64_t)(seconds * 1e9);
    ts.tv_sec += (time_t)(ns / 1000000000);
    ts.tv_nsec = (long)(ns % 1000000000);
    pthread_mutex_lock(&c->lock);
    for (unsigned i = 0; i < c->nslots; i++)
        if (c->slots[i].status == SLOT_FINISHED || c->slots[i].claimed)
            goto unlock;
    pthread_cond_timedwait(&c->cond, &c->lock, &ts);
unlock:
    pthread_mutex_unlock(&c->lock);
}

/* A stop asked for (bf_runner_stop) and not yet seen: claims end, and the host is told. */
static void notice_stop(struct run_ctx *c, struct loop *L)
{
    char said[120];

    if (!c->r->stop || L->stopping)
        return;
    L->stopping = 1;
    if (L->in_flight)
        bf__snprintf(said, sizeof said, "stopping: the %u batch%s in flight finish%s first; run "
                     "again to resume", L->in_flight, L->in_flight == 1 ? "" : "es",
                     L->in_flight == 1 ? "es" : "");
    else
        bf__snprintf(said, sizeof said, "no batch was in flight; run again to resume");
    bf__runner_emit(c->r, c->run, BF_RUN_EVENT_STOPPED, 0, NULL, 0, 0, 0, said);
}

/*
 * May new claims start now? The host's throttle and the brief's window are
 * asked here, on the calling thread; *why says why not.
 */
static int may_claim(struct run_ctx *c, struct loop *L, char *why, size_t size, int *said)
{
    bf_runner *r = c->r;

    if (r->throttle) {
        int hold;

        why[0] = '\0';
        bf_clear_error();
        hold = r->throttle(r->throttle_userdata, why, size);
        if (hold < 0) {
            char msg[BF_ERRMSG_MAX];

            /* Its reason, else its own message, else a sentence naming it and the code. */
            bf__snprintf(msg, sizeof msg, "%s", why[0] ? why : bf_last_error());
            if (msg[0])
                L->final_rc = bf__error(hold, "runner: the throttle failed: %s", msg);
            else
                L->final_rc = bf__runner_host(hold, "throttle");
            bf__runner_fail(r, L->final_rc);
            L->stopping = 1;
            return 0;
        }
        if (hold > 0) {
            if (!*said)
                bf__runner_emit(r, c->run, BF_RUN_EVENT_THROTTLED, 0, NULL, 0, 0, 0,
                                why[0] ? why : "the throttle holds new claims");
            *said = 1;
            return 0;
        }
    }
    if (c->window) {
        int64_t now = bf__runner_now_us(), open = 0;

        if (!bf_window_contains(c->window, now)) {
            if (!*said) {
                char when[64] = "not within two years";

                if (bf_window_next_open(&open, c->window, now) == BF_OK)
                    bf__runner_iso(when, sizeof when, open, 0);
                bf__snprintf(why, size, "outside the run window: batches in flight finish, "
                             "claims resume at %s", when);
                bf__runner_emit(r, c->run, BF_RUN_EVENT_THROTTLED, 0, NULL, 0, 0, 0, why);
            }
            *said = 1;
            return 0;
        }
    }
    *said = 0;
    return 1;
}

static int claim_loop(struct run_ctx *c)
{
    bf_runner *r = c->r;
    bf_scheduler_vtable pool_vt = {BF_SCHEDULER_VTABLE_VERSION, pool_start, pool_submit,
                                   pool_drain, NULL};
    struct pool pool;
    const bf_scheduler_vtable *vt = r->has_sched ? &r->sched : &pool_vt;
    void *ud = r->has_sched ? r->sched_userdata : &pool;
    struct loop L = {0, 0, BF_OK, 0, 0};
    int waiting_said = 0, held_said = 0, rc = BF_OK;
    int64_t last_beat = bf__runner_now_us(), last_reclaim = 0, last_progress = 0,
            next_claim_at = 0, pause_ms = 0;
    double lease_s = r->run_spec.lease_s > 0 ? r->run_spec.lease_s : 300;
    char why[512];

    memset(&pool, 0, sizeof pool);
    pthread_mutex_init(&pool.lock, NULL);
    pthread_cond_init(&pool.cond, NULL);
    if (r->brief)
        bf_brief_pause_between_batches_ms(&pause_ms, r->brief);
    bf_clear_error();
    if (vt->start && (rc = bf__runner_host(vt->start(ud, c->nslots), "scheduler start")) != BF_OK) {
        bf__runner_fail(r, rc);
        if (!r->has_sched)
            pool_drain(&pool);
        bf__free(pool.threads);
        pthread_mutex_destroy(&pool.lock);
        pthread_cond_destroy(&pool.cond);
        return rc;
    }
    for (;;) {
        /*
         * Before collecting: the loop sleeps until a batch finishes, so a stop
         * that came during a batch is seen once it has finished, and the
         * batches not yet collected are those in flight when it came. After
         * it too: collecting tells the host's event callback, which may stop.
         */
        notice_stop(c, &L);
        collect(c, &L);
        notice_stop(c, &L);
        /* Heartbeats for batches in flight, at a third of the lease. */
        if (L.in_flight && bf__runner_now_us() - last_beat > (int64_t)(lease_s * 1e6 / 3)) {
            for (unsigned i = 0; i < c->nslots; i++) {
                struct slot *s = &c->slots[i];
                int64_t id = 0, token = 0;

                pthread_mutex_lock(&c->lock);
                if (s->status == SLOT_BUSY && s->batch_id) {
                    id = s->batch_id;
                    token = s->token;
                }
                pthread_mutex_unlock(&c->lock);
                if (id)
                    bf_run_heartbeat(c->run, id, token);
            }
            last_beat = bf__runner_now_us();
        }
        if (L.finished_one && pause_ms > 0)
            next_claim_at = bf__runner_now_us() + pause_ms * 1000;
        L.finished_one = 0;
        /* A task for every free slot, while there may be work and claims may start. */
        while (!L.stopping && !L.idle && L.in_flight < c->nslots &&
               bf__runner_now_us() >= next_claim_at &&
               may_claim(c, &L, why, sizeof why, &held_said)) {
            struct slot *s = NULL;

            /* (A task writes its slot's status under the lock: read it so.) */
            pthread_mutex_lock(&c->lock);
            for (unsigned i = 0; i < c->nslots; i++)
                if (c->slots[i].status == SLOT_FREE) {
                    s = &c->slots[i];
                    break;
                }
            s->status = SLOT_BUSY;
            s->batch_id = 0;
            s->claimed = 0;
            pthread_mutex_unlock(&c->lock);
            L.in_flight++;
            bf_clear_error();
            if ((rc = bf__runner_host(vt->submit(ud, batch_task, s), "scheduler submit")) !=
                BF_OK) {
                pthread_mutex_lock(&c->lock);
                s->status = SLOT_FREE;
                pthread_mutex_unlock(&c->lock);
                L.in_flight--;
                L.final_rc = bf__runner_fail(r, rc);
                L.stopping = 1;
                break;
            }
            waiting_said = 0;
            if (pause_ms > 0)
                break; /* one claim, then the pause after it finishes */
        }
        if (r->on_event && bf__runner_now_us() - last_progress > 1000000) {
            bf__runner_emit_with(r, c->run, progress_read(c), BF_RUN_EVENT_PROGRESS, 0, NULL, 0,
                                 0, 0, NULL);
            last_progress = bf__runner_now_us();
        }
        if (L.in_flight == 0) {
            bf_progress p = BF_PROGRESS_INIT;

            if (L.stopping)
                break;
            if (!L.idle && !held_said && bf__runner_now_us() >= next_claim_at)
                continue; /* claims may start: go and try */
            if ((rc = bf_run_progress(&p, c->run)) != BF_OK) {
                L.final_rc = bf__runner_fail(r, rc);
                break;
            }
            if (p.pending == 0 && p.running == 0) {
                if (p.failed) {
                    bf_run_refresh(c->run);
                    L.final_rc = failed_for_good(c, &p);
                    bf__runner_fail(r, L.final_rc);
                    bf__runner_emit(r, c->run, BF_RUN_EVENT_FAILED, 0, NULL, 0, 0, 0,
                                    r->err.msg);
                }
                break; /* every batch is done here */
            }
            if (p.running > 0 && bf__runner_now_us() - last_reclaim > 1000000) {
                size_t n = 0;

                reclaim_dead(c, &n);
                last_reclaim = bf__runner_now_us();
                if (n) {
                    L.idle = 0;
                    continue;
                }
                if (r->flags & BF_RUNNER_NO_WAIT) {
                    L.final_rc = bf__error(BF_E_STATE, "run %lld: %lld batch%s leased by "
                                           "workers elsewhere; not waiting",
                                           (long long)c->run_id, (long long)p.running,
                                           p.running == 1 ? " is" : "es are");
                    bf__runner_fail(r, L.final_rc);
                    break;
                }
                if (!waiting_said) {
                    char w[200];

                    bf__snprintf(w, sizeof w, "waiting for %lld batch%s leased by workers "
                                 "elsewhere", (long long)p.running, p.running == 1 ? "" : "es");
                    bf__runner_emit(r, c->run, BF_RUN_EVENT_WAITING, 0, NULL, 0, 0, 0, w);
                    waiting_said = 1;
                }
            }
        }
        wait_a_little(c, r->poll_s);
        if (L.in_flight == 0)
            L.idle = 0; /* after a pause, look again */
    }
    /* The loop collected every task; a drain that fails is still the run's failure. */
    bf_clear_error();
    if (vt->drain && (rc = bf__runner_host(vt->drain(ud), "scheduler drain")) != BF_OK &&
        L.final_rc == BF_OK)
        L.final_rc = bf__runner_fail(r, rc);
    if (vt->stop)
        vt->stop(ud);
    bf__free(pool.threads);
    pthread_mutex_destroy(&pool.lock);
    pthread_cond_destroy(&pool.cond);
    if (L.final_rc == BF_OK && r->stop) {
        bf_progress p = BF_PROGRESS_INIT;
        char *detail = NULL;

        /*
         * The ledger says so too: the run stays running (run again resumes
         * it), and status tells a stopped run from one between claims.
         */
        if (bf_run_progress(&p, c->run) == BF_OK &&
            (detail = bf__asprintf("stopped by the host before its end, %lld of %lld batches "
                                   "done; run again to resume",
                                   (long long)(p.completed + p.validated),
                                   (long long)p.total)) != NULL)
            bf_run_record(c->run, 0, "stopped", detail);
        bf__free(detail);
        L.final_rc = bf__error(BF_E_STATE, "run %lld: stopped before its end; run again to "
                               "resume", (long long)c->run_id);
        bf__runner_fail(r, L.final_rc);
    }
    return L.final_rc;
}

/*
 * Batches of this run someone rolled back one by one are done again: back to
 * pending, to be claimed in plan order. (A run rolled back as a whole is
 * finished and never resumed.)
 */
static int redo_rolled_back(struct run_ctx *c)
{
    bf_batch_list *l = NULL;
    int rc = bf_run_batches(&l, c->run, BF_BATCH_ROLLED_BACK);

    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++)
        rc = bf_run_mark_batch(c->run, bf_batch_list_id(l, i), BF_BATCH_PENDING,
                               "rolled back by hand: done again");
    bf_batch_list_free(l);
    return rc;
}

/*
 * Whether the brief a run was started from and this one differ in what
 * decides the rows (target, scope, batching, write, job, validation); the
 * differing fields are listed in `out`. Prose (reason, communication) may
 * change during a run.
 */
static int brief_differs(char *out, size_t size, const char *was, const char *now)
{
    static const char *const fields[] = {"target", "scope", "batching", "write", "job",
                                         "validation", "code_version"};
    json_t *a = bf__json_loads(was ? was : "{}", 0, NULL), *b = bf__json_loads(now, 0, NULL);
    size_t len = 0;

    out[0] = '\0';
    for (size_t i = 0; a && b && i < BF_ARRAY_LEN(fields); i++) {
        json_t *x = json_object_get(a, fields[i]), *y = json_object_get(b, fields[i]);

        if ((x || y) && !(x && y && json_equal(x, y))) {
            bf__snprintf(out + len, size - len, "%s%s", len ? ", " : "", fields[i]);
            len = strlen(out);
        }
    }
    json_decref(a);
    json_decref(b);
    return len > 0;
}

/* Why the run was paused, as its latest pause recorded it ("by hand" when it said nothing). */
static void pause_reason(char *buf, size_t size, bf_run *run)
{
    bf_event_list *ev = NULL;
    const char *why = NULL;

    if (bf_run_events(&ev, run) == BF_OK)
        for (size_t i = 0; i < bf_event_list_count(ev); i++)
            if (strcmp(bf_event_list_subject(ev, i), "run") == 0 && bf_event_list_to(ev, i) &&
                strcmp(bf_event_list_to(ev, i), "paused") == 0)
                why = bf_event_list_detail(ev, i);
    bf__snprintf(buf, size, "%s", why && why[0] ? why : "by hand");
    bf_event_list_free(ev);
}

int bf_runner_run(bf_runner *r, int64_t *out_run)
{
    struct run_ctx c;
    bf_run_spec spec;
    bf_progress p = BF_PROGRESS_INIT;
    bf_validation_state *run_before = NULL;
    bf_ledger *ledger = NULL;
    int64_t target = 0;
    int rc, state;

    if (!r)
        return bf__error(BF_E_INVALID, "bf_runner_run: runner is NULL");
    if (out_run)
        *out_run = 0;
    if (!r->plan)
        return bf__runner_fail(r, bf__error(BF_E_STATE, "bf_runner_run: nothing to run: give "
                                            "a brief (bf_runner_set_brief) or a job first"));
    r->stop = 0;
    r->err.code = BF_OK;
    r->err.msg[0] = '\0';
    memset(&c, 0, sizeof c);
    c.r = r;
    spec = r->run_spec;
    if (r->flags & BF_RUNNER_NEW)
        spec.flags |= BF_RUN_NEW;
    /* A check that names what the warehouse lacks fails now, and leaves no run behind. */
    if ((rc = bf__runner_check_inputs(r)) != BF_OK || (rc = bf__runner_ledger(r, &ledger)) != BF_OK)
        return bf__runner_fail(r, rc);
    /* The brief done already by its last run: that run, not a new one asking to approve nothing. */
    if (!(r->flags & (BF_RUNNER_NEW | BF_RUNNER_FORCE))) {
        int64_t done_by = 0;
        char why[300];

        if ((rc = done_before(&c, ledger, &done_by)) != BF_OK)
            goto done;
        if (done_by) {
            if ((rc = bf_run_open(&c.run, ledger, done_by)) != BF_OK)
                goto done;
            if (out_run)
                *out_run = done_by;
            bf__snprintf(why, sizeof why, "nothing left to run: run %lld completed this brief with "
                         "this plan and code (backfill run --force publishes its batches again, "
                         "--new starts another run)", (long long)done_by);
            bf__runner_emit(r, c.run, BF_RUN_EVENT_DONE, 0, NULL, 0, 0, 0, why);
            goto done;
        }
    }
    if ((rc = bf_run_start(&c.run, ledger, &spec, r->plan)) != BF_OK)
        goto done;
    /*
     * BF_RUNNER_NEW starts one new run, the first this runner starts: a
     * later call resumes it, as a stop's "run again to resume" says, instead
     * of cancelling it for yet another.
     */
    r->flags &= ~BF_RUNNER_NEW;
    c.run_id = bf_run_id(c.run);
    if (out_run)
        *out_run = c.run_id;
    state = bf_run_current_state(c.run);
    switch (state) {
    case BF_RUN_PAUSED: {
        char why[600];

        pause_reason(why, sizeof why, c.run);
        rc = bf__error(BF_E_STATE, "run %lld (%s) is paused: %s; resume it first (backfill "
                       "resume %lld)%s", (long long)c.run_id, r->brief_name, why,
                       (long long)c.run_id,
                       strncmp(why, "validation failed: batch ", 25) == 0
                           ? "; a batch that failed its checks is not validated later: roll it "
                             "back (backfill rollback RUN --batch ID) and run again to redo it"
                           : "");
        goto done;
    }
    case BF_RUN_FAILED:
        rc = bf__error(BF_E_STATE, "run %lld (%s) failed; backfill retry %lld puts its failed "
                       "batches back", (long long)c.run_id, r->brief_name, (long long)c.run_id);
        goto done;
    case BF_RUN_AWAITING_APPROVAL: {
        /* Batches rolled back one by one since are done again, then the run-level checks. */
        bf_progress q = BF_PROGRESS_INIT;

        if ((rc = bf_run_progress(&q, c.run)) != BF_OK)
            goto done;
        if (q.rolled_back) {
            rc = bf_run_set_state(c.run, BF_RUN_RUNNING, "batches rolled back by hand are done "
                                  "again");
            if (rc != BF_OK)
                goto done;
            state = BF_RUN_RUNNING;
            break;
        }
    }
        bf__runner_emit(r, c.run, BF_RUN_EVENT_AWAITING_APPROVAL, 0, NULL, 0, 0, 0,
                        "nothing left to run");
        rc = BF_OK;
        goto done;
    case BF_RUN_APPROVED: {
        /* Approved, its cutover or refresh not finished: told under its own state's name. */
        char why[200];

        bf__snprintf(why, sizeof why, "nothing left to run: run %lld is approved, and approving "
                     "it again finishes its cutover and downstream refresh", (long long)c.run_id);
        bf__runner_emit(r, c.run, BF_RUN_EVENT_APPROVED, 0, NULL, 0, 0, 0, why);
        rc = BF_OK;
        goto done;
    }
    case BF_RUN_COMPLETED:
        bf__runner_emit(r, c.run, BF_RUN_EVENT_DONE, 0, NULL, 0, 0, 0, "nothing left to run");
        rc = BF_OK;
        goto done;
    default:
        break;
    }
    {
        /* A run resumed under other code is refused: its batches would mix two versions. */
        bf_run_list *l = NULL;

        rc = bf_ledger_runs(&l, r->ledger, r->brief_name);
        for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(l); i++) {
            char differs[256];

            if (bf_run_list_id(l, i) != c.run_id)
                continue;
            bf__runner_owner(c.owner, bf_run_list_brief_name(l, i), bf_run_list_seq(l, i),
                             bf_run_list_created_at(l, i));
            if (strcmp(bf_run_list_code_version(l, i), r->code_version) != 0)
                rc = bf__error(BF_E_CONFLICT, "run %lld (%s) was started with code_version %s, "
                               "and the brief now says %s: finish or cancel that run, or start "
                               "a new one (--new)", (long long)c.run_id, r->brief_name,
                               bf_run_list_code_version(l, i), r->code_version);
            else if (r->brief && brief_differs(differs, sizeof differs,
                                               bf_run_list_brief_json(l, i), r->brief_json))
                rc = bf__error(BF_E_CONFLICT, "run %lld (%s) was started from another version "
                               "of the brief (%s differ): finish or cancel that run, or start "
                               "a new one (--new)", (long long)c.run_id, r->brief_name, differs);
        }
        bf_run_list_free(l);
        /* Another ledger's run of this id in the warehouse: its fences and snapshots are its own. */
        if (rc == BF_OK)
            rc = bf__runner_own_warehouse(r->driver, c.owner, r->job.spec.table, c.run_id);
        if (rc != BF_OK)
            goto done;
    }
    c.shadow = bf__runner_shadow_table(&r->job.spec, c.run_id);
    if ((r->job.spec.strategy == BF_WRITE_STAGING_SWAP ||
         r->job.spec.strategy == BF_WRITE_PARALLEL_VERSION) && !c.shadow) {
        rc = bf__nomem();
        goto done;
    }
    if ((rc = freeze_schema(&c)) != BF_OK)
        goto done;
    if (!(r->flags & BF_RUNNER_FORCE) && !c.keys_loaded && (rc = load_done_keys(&c)) != BF_OK)
        goto done;
    if (r->brief && (rc = bf_brief_window(&c.window, r->brief)) != BF_OK)
        goto done;
    if ((rc = redo_rolled_back(&c)) != BF_OK)
        goto done;
    c.view = bf__calloc(1, sizeof *c.view);
    if (!c.view) {
        rc = bf__nomem();
        goto done;
    }
    if ((rc = bf__runner_extend_plan(&c.view->halves, r->plan, c.run)) != BF_OK)
        goto done;
    c.target_s = r->target_batch_s;
    if (c.target_s <= 0 && r->brief && bf_brief_target_batch_s(&target, r->brief) == BF_OK)
        c.target_s = (double)target;
    if (bf_plan_dimension(r->plan) != BF_DIM_KEY)
        c.target_s = 0;
    bf__runner_emit(r, c.run, BF_RUN_EVENT_STARTED, 0, NULL, 0, 0, 0, NULL);
    /* The run-level "before" can be captured only while nothing is published yet. */
    if ((rc = bf_run_progress(&p, c.run)) != BF_OK)
        goto done;
    if (r->validator && p.completed + p.validated + p.running + p.failed == 0 &&
        state != BF_RUN_VALIDATING) {
        int64_t from = 0;
        int from_completed = 0;

        if ((rc = inherited_run_before(&run_before, &from, &from_completed, &c)) != BF_OK)
            goto done;
        if (!run_before) {
            if (!r->own_validator)
                pthread_mutex_lock(&r->validator_lock);
            rc = bf_validator_before(&run_before, r->validator, r->driver, r->plan, NULL);
            if (!r->own_validator)
                pthread_mutex_unlock(&r->validator_lock);
        }
        if (rc == BF_OK)
            rc = record_run_before(c.run, run_before);
        if (rc == BF_OK && from) {
            char detail[300];

            bf__snprintf(detail, sizeof detail, "{\"run\": %lld, \"why\": \"the run-level checks "
                         "compare with the values from before run %lld, %s, whose batches "
                         "this run has again\"}", (long long)from, (long long)from,
                         from_completed ? "completed with batches rolled back since"
                                        : "cancelled");
            rc = bf_run_record(c.run, 0, RUN_BEFORE "_from", detail);
        }
        if (rc != BF_OK)
            goto done;
    } else if (r->validator && (rc = recorded_run_before(&run_before, r, c.run)) != BF_OK) {
        goto done;
    }
    if (state != BF_RUN_VALIDATING) {
        unsigned n = r->workers ? r->workers : r->run_spec.max_concurrency;

        if (n < 1)
            n = 1;
        c.nslots = n;
        c.slots = bf__calloc(n, sizeof *c.slots);
        if (!c.slots) {
            rc = bf__nomem();
            goto done;
        }
        pthread_mutex_init(&c.lock, NULL);
        pthread_cond_init(&c.cond, NULL);
        for (unsigned i = 0; rc == BF_OK && i < n; i++)
            rc = slot_open(&c.slots[i], &c);
        if (rc == BF_OK)
            rc = claim_loop(&c);
        for (unsigned i = 0; i < n; i++)
            slot_close(&c.slots[i]);
        pthread_cond_destroy(&c.cond);
        pthread_mutex_destroy(&c.lock);
        if (rc != BF_OK)
            goto done;
    }
    bf_run_refresh(c.run);
    state = bf_run_current_state(c.run);
    if (c.done_elsewhere && state != BF_RUN_VALIDATING) {
        /* Another process validated the run as well: as when run finds it so at the start. */
        bf__runner_emit(r, c.run, state == BF_RUN_COMPLETED  ? BF_RUN_EVENT_DONE
                                  : state == BF_RUN_APPROVED ? BF_RUN_EVENT_APPROVED
                                                             : BF_RUN_EVENT_AWAITING_APPROVAL,
                        0, NULL, 0, 0, 0, "another process did the run's last batches");
        rc = BF_OK;
        goto done;
    }
    rc = run_level(&c, run_before);
    if (rc != BF_OK)
        bf__runner_fail(r, rc); /* before an event's progress clears the thread's message */
    if (rc == BF_OK) {
        bf__runner_emit(r, c.run, BF_RUN_EVENT_AWAITING_APPROVAL, 0, NULL, 0, 0, 0,
                        "every batch validated and the run-level checks passed");
    } else if (rc == BF_E_VALIDATION) {
        bf_run_refresh(c.run);
        bf__runner_emit(r, c.run, bf_run_current_state(c.run) == BF_RUN_PAUSED
                                      ? BF_RUN_EVENT_PAUSED : BF_RUN_EVENT_STOPPED,
                        0, NULL, 0, 0, 0, r->err.msg);
    }
done:
    /* Keep the first failure's message: later calls may have cleared the thread's. */
    if (rc != BF_OK && (r->err.code != rc || !r->err.msg[0]))
        bf__runner_fail(r, rc);
    else if (rc != BF_OK)
        bf__error(rc, "%s", r->err.msg);
    bf_validation_state_free(run_before);
    bf__free(c.slots);
    for (size_t i = 0; i < c.done_count; i++)
        bf__free(c.done_keys[i]);
    bf__free(c.done_keys);
    bf__free(c.schema);
    bf__free(c.shadow);
    bf_window_free(c.window);
    view_free(c.view);
    while (c.retired) { /* none is in use once the tasks are drained */
        struct view *v = c.retired;

        c.retired = v->older;
        view_free(v);
    }
    bf_run_free(c.run);
    return rc;
}
