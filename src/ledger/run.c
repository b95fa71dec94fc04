/*
 * Runs: starting or resuming a brief's run from a plan, and the run-level
 * transitions (pause, resume, cancel, retry, explicit moves) with their
 * audit events.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "ledger/ledger_internal.h"
#include "ledger/versions.h"
#include "plan/plan_internal.h"

static int run_from_record(bf_run **out, bf_ledger *ledger, const bf_store_run *rec)
{
    bf_run *run = bf__calloc(1, sizeof *run);

    if (!run)
        return bf__nomem();
    run->ledger = ledger;
    run->id = rec->id;
    run->seq = rec->seq;
    run->state = rec->state;
    run->dimension = rec->dimension;
    run->max_concurrency = rec->max_concurrency;
    run->max_attempts = rec->max_attempts;
    run->retry_backoff_us = rec->retry_backoff_us;
    run->lease_us = rec->lease_us;
    run->brief_name = bf__strdup(rec->brief_name ? rec->brief_name : "");
    run->fingerprint = bf__strdup(rec->plan_fingerprint ? rec->plan_fingerprint : "");
    run->plan_column = bf__strdup(rec->plan_column ? rec->plan_column : "");
    if (!run->brief_name || !run->fingerprint || !run->plan_column) {
        bf_run_free(run);
        return bf__nomem();
    }
    *out = run;
    return BF_OK;
}

/* Cancel the run record: no more claims, pending batches cancelled. In a write transaction. */
static int cancel_locked(bf_ledger *ledger, bf_store_run *rec, const char *detail)
{
    int64_t *ids = NULL, live;
    size_t count = 0;
    int rc = bf__run_move(ledger, rec, BF_RUN_CANCELLED, detail);

    if (rc == BF_OK)
        rc = bf__run_batch_ids(&ids, &count, ledger, rec->id, BF_BATCH_PENDING);
    for (size_t i = 0; rc == BF_OK && i < count; i++) {
        bf_store_batch b;

        rc = BF__STORE(ledger, batch_get, (ledger->db, &b, ids[i]));
        if (rc != BF_OK)
            break;
        b.state = BF_BATCH_CANCELLED;
        rc = bf__batch_move(ledger, &b, BF_BATCH_PENDING, "run cancelled");
    }
    bf__free(ids);
    if (rc == BF_OK)
        rc = bf__run_expire_leases(&live, ledger, rec, bf__ledger_now(ledger));
    return rc;
}

static int64_t seconds_to_us(double s, double fallback)
{
    if (!(s >= 0) || !isfinite(s))
        s = fallback;
    return (int64_t)llround(s * 1e6);
}

/* Check the spec and turn it into a run record (strings borrowed from spec and plan). */
static int spec_to_record(bf_store_run *rec, bf_ledger *ledger, const bf_run_spec *spec,
                          const bf_plan *plan)
{
    unsigned version;

    if (bf__struct_version(&version, spec, &bf__run_spec_desc, "bf_run_start") != BF_OK)
        return bf_last_error_code();
    if (!spec->brief_name || !spec->brief_name[0])
        return bf__error(BF_E_INVALID, "bf_run_start: the run spec has no brief name");
    /* A reference of digits is a run id (bf_ledger_find_run): such a name could not be found. */
    if (strspn(spec->brief_name, "0123456789") == strlen(spec->brief_name))
        return bf__error(BF_E_INVALID, "bf_run_start: brief name '%s' is digits only, which "
                         "reads as a run id; give it a letter", spec->brief_name);
    if (!plan || !bf_plan_fingerprint(plan))
        return bf__error(BF_E_INVALID, "bf_run_start: brief %s: no sealed plan given",
                         spec->brief_name);
    memset(rec, 0, sizeof *rec);
    rec->brief_name = spec->brief_name;
    rec->state = BF_RUN_PLANNED;
    rec->brief_json = spec->brief_json ? spec->brief_json : "{}";
    rec->plan_fingerprint = bf_plan_fingerprint(plan);
    rec->dimension = (int)bf_plan_dimension(plan);
    rec->plan_column = bf_plan_column(plan);
    rec->code_version = spec->code_version ? spec->code_version : "";
    rec->operator_name = spec->operator_name ? spec->operator_name : ledger->actor;
    rec->params_json = spec->params_json ? spec->params_json : "{}";
    rec->max_concurrency = spec->max_concurrency ? spec->max_concurrency : 1;
    rec->max_attempts = spec->max_attempts ? spec->max_attempts : 3;
    rec->retry_backoff_us = seconds_to_us(spec->retry_backoff_s, 5.0);
    rec->lease_us = spec->lease_s > 0 ? seconds_to_us(spec->lease_s, 300.0) : 300000000;
    rec->batch_count = (int64_t)bf_plan_count(plan);
    rec->created_at = bf__ledger_now(ledger);
    rec->updated_at = rec->created_at;
    return BF_OK;
}

/* Create the run and its batches; *out is its record as stored. In a write transaction. */
static int create_locked(bf_store_run *out, bf_ledger *ledger, const bf_store_run *rec,
                         const bf_plan *plan)
{
    char detail[200];
    int64_t id;
    int rc = BF__STORE(ledger, run_insert, (ledger->db, &id, rec));

    if (rc == BF_OK)
        rc = bf__run_register_plan(ledger, id, plan);
    if (rc == BF_OK) {
        snprintf(detail, sizeof detail, "%zu batches, plan %s", bf_plan_count(plan),
                 rec->plan_fingerprint);
        rc = bf__ledger_event(ledger, id, 0, "run", NULL, "planned", detail);
    }
    if (rc == BF_OK)
        rc = BF__STORE(ledger, run_get, (ledger->db, out, id));
    return rc;
}

/* Find the brief's unfinished run and decide: resume it, refuse, or replace it. */
static int start_locked(bf_store_run *out, bf_ledger *ledger, const bf_run_spec *spec,
                        const bf_store_run *rec, const bf_plan *plan)
{
    char who[160], detail[200];
    int64_t id;
    int rc = BF__STORE(ledger, run_find, (ledger->db, &id, spec->brief_name, 1));

    if (rc == BF_E_NOT_FOUND)
        return create_locked(out, ledger, rec, plan);
    if (rc == BF_OK)
        rc = BF__STORE(ledger, run_get, (ledger->db, out, id));
    if (rc != BF_OK)
        return rc;
    if (!(spec->flags & BF_RUN_NEW)) {
        if (strcmp(out->plan_fingerprint, rec->plan_fingerprint) == 0)
            return bf__ledger_event(ledger, id, 0, "note", NULL, NULL, "resumed by bf_run_start");
        return bf__error(BF_E_CONFLICT, "brief %s: unfinished %s was planned with plan %s, not "
                         "%s; cancel it or ask for a new run", spec->brief_name,
                         bf__run_record_describe(out, who, sizeof who), out->plan_fingerprint,
                         rec->plan_fingerprint);
    }
    snprintf(detail, sizeof detail, "replaced by a new run of plan %s", rec->plan_fingerprint);
    rc = cancel_locked(ledger, out, detail);
    if (rc == BF_OK)
        rc = create_locked(out, ledger, rec, plan);
    return rc;
}

int bf_run_start(bf_run **out, bf_ledger *ledger, const bf_run_spec *spec, const bf_plan *plan)
{
    bf_store_run rec, stored;
    int rc;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_run_start: out and ledger are required");
    *out = NULL;
    rc = spec_to_record(&rec, ledger, spec, plan);
    if (rc == BF_OK)
        rc = bf__ledger_begin(ledger, 1);
    if (rc != BF_OK)
        return bf__ledger_fail(ledger, rc);
    rc = start_locked(&stored, ledger, spec, &rec, plan);
    if (rc == BF_OK)
        rc = run_from_record(out, ledger, &stored);
    if (rc == BF_OK)
        rc = bf__ledger_commit(ledger);
    else
        bf__ledger_rollback(ledger);
    if (rc != BF_OK) {
        bf_run_free(*out);
        *out = NULL;
        return bf__ledger_fail(ledger, rc);
    }
    return BF_OK;
}

int bf_run_open(bf_run **out, bf_ledger *ledger, int64_t run_id)
{
    bf_store_run rec;
    int rc;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_run_open: out and ledger are required");
    *out = NULL;
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        rc = BF__STORE(ledger, run_get, (ledger->db, &rec, run_id));
        if (rc == BF_OK)
            rc = run_from_record(out, ledger, &rec);
        bf__ledger_rollback(ledger);
    }
    return rc == BF_OK ? BF_OK : bf__ledger_fail(ledger, rc);
}

void bf_run_free(bf_run *run)
{
    if (!run)
        return;
    bf__free(run->brief_name);
    bf__free(run->fingerprint);
    bf__free(run->plan_column);
    bf__free(run);
}

int64_t bf_run_id(const bf_run *run)
{
    return run ? run->id : 0;
}

int64_t bf_run_seq(const bf_run *run)
{
    return run ? run->seq : 0;
}

const char *bf_run_brief_name(const bf_run *run)
{
    return run ? run->brief_name : NULL;
}

const char *bf_run_plan_fingerprint(const bf_run *run)
{
    return run ? run->fingerprint : NULL;
}

bf_run_state bf_run_current_state(const bf_run *run)
{
    return run ? (bf_run_state)run->state : BF_RUN_PLANNED;
}

const char *bf_run_last_error(const bf_run *run)
{
    return run ? run->err.msg : "";
}

int bf_run_refresh(bf_run *run)
{
    bf_store_run rec;
    int rc;

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_refresh: run is NULL");
    rc = bf__ledger_begin(run->ledger, 0);
    if (rc == BF_OK) {
        rc = bf__run_get(run, &rec);
        if (rc == BF_OK)
            run->state = rec.state;
        bf__ledger_rollback(run->ledger);
    }
    return rc == BF_OK ? BF_OK : bf__run_fail(run, rc);
}

struct move_arg {
    int to;
    const char *detail;
};

static int move_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct move_arg *m = arg;

    return bf__run_move(run->ledger, rec, m->to, m->detail);
}

int bf_run_set_state(bf_run *run, bf_run_state to, const char *detail)
{
    struct move_arg m = {(int)to, detail};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_set_state: run is NULL");
    if (to == BF_RUN_CANCELLED)
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_set_state: use bf_run_cancel() "
                                           "to cancel a run"));
    return bf__run_write(run, move_op, &m);
}

int bf_run_pause(bf_run *run, const char *detail)
{
    struct move_arg m = {BF_RUN_PAUSED, detail};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_pause: run is NULL");
    return bf__run_write(run, move_op, &m);
}

static int resume_op(bf_run *run, bf_store_run *rec, void *arg)
{
    char who[160];

    if (rec->state != BF_RUN_PAUSED)
        return bf__error(BF_E_STATE, "%s is %s, not paused: nothing to resume",
                         bf__run_record_describe(rec, who, sizeof who),
                         bf_run_state_name((bf_run_state)rec->state));
    return bf__run_move(run->ledger, rec, BF_RUN_RUNNING, arg);
}

int bf_run_resume(bf_run *run, const char *detail)
{
    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_resume: run is NULL");
    return bf__run_write(run, resume_op, (void *)detail);
}

static int cancel_op(bf_run *run, bf_store_run *rec, void *arg)
{
    return cancel_locked(run->ledger, rec, arg);
}

int bf_run_cancel(bf_run *run, const char *detail)
{
    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_cancel: run is NULL");
    return bf__run_write(run, cancel_op, (void *)detail);
}

struct retry_arg {
    unsigned flags;
    size_t handled;
};

static int retry_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct retry_arg *r = arg;
    bf_ledger *ledger = run->ledger;
    char who[160];
    int64_t *ids = NULL;
    size_t count = 0;
    int rc;

    if (!bf__run_unfinished(rec->state) || rec->state == BF_RUN_APPROVED)
        return bf__error(BF_E_STATE, "%s is %s: its batches cannot be retried",
                         bf__run_record_describe(rec, who, sizeof who),
                         bf_run_state_name((bf_run_state)rec->state));
    rc = bf__run_batch_ids(&ids, &count, ledger, rec->id, BF_BATCH_FAILED);
    for (size_t i = 0; rc == BF_OK && i < count; i++) {
        bf_store_batch b;

        rc = BF__STORE(ledger, batch_get, (ledger->db, &b, ids[i]));
        if (rc != BF_OK)
            break;
        if ((r->flags & BF_RETRY_SPLIT) && b.dimension == BF_DIM_KEY && b.hi - b.lo >= 2) {
            rc = bf__run_split_locked(NULL, ledger, rec, &b);
        } else {
            b.state = BF_BATCH_PENDING;
            b.attempt = 0;
            b.not_before = 0;
            rc = bf__batch_move(ledger, &b, BF_BATCH_FAILED, "retry: attempts reset");
        }
    }
    bf__free(ids);
    r->handled = count;
    if (rc == BF_OK && rec->state == BF_RUN_FAILED)
        rc = bf__run_move(ledger, rec, BF_RUN_RUNNING, "retry of failed batches");
    return rc;
}

int bf_run_retry(size_t *out, bf_run *run, unsigned flags)
{
    struct retry_arg r = {flags, 0};
    int rc;

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_retry: run is NULL");
    rc = bf__run_write(run, retry_op, &r);
    if (rc == BF_OK && out)
        *out = r.handled;
    return rc;
}

static int note_op(bf_run *run, bf_store_run *rec, void *arg)
{
    return bf__ledger_event(run->ledger, rec->id, 0, "note", NULL, NULL, arg);
}

int bf_run_note(bf_run *run, const char *text)
{
    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_note: run is NULL");
    if (!text || !text[0])
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_note: the note is empty"));
    return bf__run_write(run, note_op, (void *)text);
}

struct record_arg {
    int64_t batch_id;
    const char *subject;
    const char *detail;
};

static int record_op(bf_run *run, bf_store_run *rec, void *arg)
{
    struct record_arg *r = arg;

    if (r->batch_id > 0) {
        bf_store_batch b;
        int rc = bf__run_batch_get(run, &b, r->batch_id);

        if (rc != BF_OK)
            return rc;
    }
    return bf__ledger_event(run->ledger, rec->id, r->batch_id, r->subject, NULL, NULL, r->detail);
}

/* A record's subject: [a-z][a-z0-9_]{0,31}, and not one the ledger itself writes. */
static int record_subject_ok(const char *s)
{
    size_t n = 0;

    if (!s || s[0] < 'a' || s[0] > 'z')
        return 0;
    for (; s[n]; n++) {
        char c = s[n];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_') || n >= 32)
            return 0;
    }
    return strcmp(s, "run") != 0 && strcmp(s, "batch") != 0 && strcmp(s, "note") != 0 &&
           strcmp(s, "resize") != 0;
}

int bf_run_record(bf_run *run, int64_t batch_id, const char *subject, const char *detail)
{
    struct record_arg r = {batch_id, subject, detail ? detail : ""};

    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_record: run is NULL");
    if (!record_subject_ok(subject))
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_record: subject '%s' is not a "
                                           "record name (lowercase letters, digits and '_', at "
                                           "most 32, not run, batch, note or resize)",
                                           subject ? subject : "(null)"));
    if (batch_id < 0)
        return bf__run_fail(run, bf__error(BF_E_INVALID, "bf_run_record: batch id %lld is "
                                           "negative", (long long)batch_id));
    return bf__run_write(run, record_op, &r);
}

static int finish_op(bf_run *run, bf_store_run *rec, void *arg)
{
    bf_ledger *ledger = run->ledger;
    const char *detail = arg;
    bf_store_counts c;
    char who[160], made[160];
    int64_t done, left;
    int rc;

    bf__run_record_describe(rec, who, sizeof who);
    if (rec->state == BF_RUN_VALIDATING || rec->state == BF_RUN_AWAITING_APPROVAL)
        return bf__error(BF_E_STATE, "%s is %s: it finishes once approved", who,
                         bf_run_state_name((bf_run_state)rec->state));
    if (rec->state != BF_RUN_PLANNED && rec->state != BF_RUN_RUNNING &&
        rec->state != BF_RUN_APPROVED)
        return bf__error(BF_E_STATE, "%s is %s: only a planned, running or approved run can "
                         "finish", who, bf_run_state_name((bf_run_state)rec->state));
    rc = BF__STORE(ledger, batch_counts, (ledger->db, &c, rec->id));
    if (rc != BF_OK)
        return rc;
    left = c.by_state[BF_BATCH_PENDING] + c.by_state[BF_BATCH_RUNNING] +
           c.by_state[BF_BATCH_FAILED] + c.by_state[BF_BATCH_ROLLED_BACK];
    if (left)
        return bf__error(BF_E_STATE, "%s cannot finish: %lld batch%s not finished (%lld pending, "
                         "%lld running, %lld failed, %lld rolled back)", who, (long long)left,
                         left == 1 ? " is" : "es are", (long long)c.by_state[BF_BATCH_PENDING],
                         (long long)c.by_state[BF_BATCH_RUNNING],
                         (long long)c.by_state[BF_BATCH_FAILED],
                         (long long)c.by_state[BF_BATCH_ROLLED_BACK]);
    done = c.by_state[BF_BATCH_COMPLETED] + c.by_state[BF_BATCH_VALIDATED];
    if (!detail || !detail[0]) {
        snprintf(made, sizeof made, "finished: %lld batches done, %lld cancelled", (long long)done,
                 (long long)c.by_state[BF_BATCH_CANCELLED]);
        detail = made;
    }
    /*
     * approved -> completed is in the table; planned or running -> completed
     * is this call's own move, for a run that went through no approval.
     */
    if (rec->state == BF_RUN_APPROVED)
        return bf__run_move(ledger, rec, BF_RUN_COMPLETED, detail);
    return bf__run_write_move(ledger, rec, BF_RUN_COMPLETED, detail);
}

int bf_run_finish(bf_run *run, const char *detail)
{
    if (!run)
        return bf__error(BF_E_INVALID, "bf_run_finish: run is NULL");
    return bf__run_write(run, finish_op, (void *)detail);
}
