/*
 * bf_runner_approve: the reviewer's approval, the cutover and the refresh
 * of downstream assets; and what approval, rollback and cleanup share: a
 * recorded run opened with its brief, its write spec and its tables.
 */
#include <string.h>

#include "backfill/lineage.h"
#include "brief/brief_internal.h"
#include "common/json.h"
#include "driver/driver_internal.h"
#include "runner/runner_internal.h"

/* ---- What approve, rollback and cleanup share ----------------------------- */

void bf__settle_dispose(bf__settle *s)
{
    bf_run_free(s->run);
    bf_brief_free(s->brief);
    bf__job_dispose(&s->job);
    if (s->plan != s->halves.plan)
        bf_plan_free(s->plan);
    bf__halves_dispose(&s->halves);
    bf__free(s->shadow);
    bf__free(s->backup);
    bf__free(s->operator_name);
    memset(s, 0, sizeof *s);
}

/*
 * The warehouse must be the one the run wrote: until cleanup forgets them
 * (a completed or rolled-back run), the fences of every batch the run
 * published are there. A warehouse that has none of them (another file, a
 * copy from before the run) is refused, naming it, before anything is
 * approved, refreshed or restored there. A host driver that keeps no fences
 * is not asked.
 */
static int holds_the_run(bf_runner *r, const bf__settle *s, const char *owner)
{
    char why[BF_ERRMSG_MAX];
    int state = bf_run_current_state(s->run), rc;

    if (state == BF_RUN_COMPLETED || state == BF_RUN_ROLLED_BACK)
        return BF_OK;
    if ((rc = bf__runner_holds_run(r->driver, s->run, s->job.spec.table, owner)) != BF_E_CONFLICT)
        return rc;
    bf__snprintf(why, sizeof why, "%s", bf_last_error());
    return bf__error(rc, "%s; nothing was changed", why);
}

int bf__settle_open(bf__settle *s, bf_runner *r, int64_t run_id, int with_plan)
{
    bf_run_list *list = NULL;
    bf_ledger *ledger = NULL;
    char owner[BF__OWNER_MAX] = "";
    int rc, found = 0;

    memset(s, 0, sizeof *s);
    if ((rc = bf__runner_ledger(r, &ledger)) != BF_OK ||
        (rc = bf_run_open(&s->run, ledger, run_id)) != BF_OK)
        return rc;
    if ((rc = bf__runner_run_brief(&s->brief, ledger, run_id)) != BF_OK)
        goto fail;
    /* A host's run recorded no brief: the runner's own job, the one the run was made with. */
    if (!bf_brief_target_table(s->brief))
        rc = bf__runner_host_job(r, s->run, &s->job, with_plan ? &s->plan : NULL);
    else
        rc = bf__job_from_brief(&s->job, s->brief);
    if (rc != BF_OK)
        goto fail;
    rc = bf_ledger_runs(&list, ledger, bf_run_brief_name(s->run));
    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(list); i++) {
        if (bf_run_list_id(list, i) != run_id)
            continue;
        found = 1;
        s->finished_at = bf_run_list_finished_at(list, i);
        bf__runner_owner(owner, bf_run_list_brief_name(list, i), bf_run_list_seq(list, i),
                         bf_run_list_created_at(list, i));
        s->operator_name = bf__strdup(bf_run_list_operator(list, i) ? bf_run_list_operator(list, i)
                                                                      : "");
        if (!s->operator_name)
            rc = bf__nomem();
    }
    bf_run_list_free(list);
    if (rc == BF_OK && !found)
        rc = bf__error(BF_E_NOT_FOUND, "run %lld: no such run in the ledger", (long long)run_id);
    if (rc == BF_OK)
        s->slice = bf__slice_run_name(bf_run_brief_name(s->run));
    /* Nothing is settled with another ledger's run of the same id. */
    if (rc == BF_OK && !s->slice)
        rc = bf__runner_own_warehouse(r->driver, owner, s->job.spec.table, run_id);
    if (rc == BF_OK && !s->slice)
        rc = holds_the_run(r, s, owner);
    if (rc != BF_OK)
        goto fail;
    s->shadowed = s->job.spec.strategy == BF_WRITE_STAGING_SWAP ||
                  s->job.spec.strategy == BF_WRITE_PARALLEL_VERSION;
    if (s->shadowed) {
        s->shadow = bf__runner_shadow_table(&s->job.spec, run_id);
        s->backup = bf__asprintf("%s__bf_backup_%lld", s->job.spec.table, (long long)run_id);
        if (!s->shadow || !s->backup) {
            rc = bf__nomem();
            goto fail;
        }
    }
    if (with_plan) {
        if (!s->plan)
            rc = bf_driver_plan_brief(&s->plan, r->driver, s->brief);
        if (rc == BF_OK && strcmp(bf_plan_fingerprint(s->plan), bf_run_plan_fingerprint(s->run)))
            rc = bf__error(BF_E_CONFLICT, "run %lld (%s): the brief's plan made against the "
                           "warehouse now has fingerprint %s, not the run's %s, so its batches "
                           "cannot be matched to the run's", (long long)run_id,
                           bf_run_brief_name(s->run), bf_plan_fingerprint(s->plan),
                           bf_run_plan_fingerprint(s->run));
        /* The run's split halves, each at an ordinal of its own (as the run addressed them). */
        if (rc == BF_OK && (rc = bf__runner_extend_plan(&s->halves, s->plan, s->run)) == BF_OK) {
            bf_plan_free(s->plan);
            s->plan = s->halves.plan;
        }
        if (rc != BF_OK)
            goto fail;
    }
    return BF_OK;
fail:
    bf__settle_dispose(s);
    return rc;
}

int bf__settle_batch(const bf__settle *s, const bf_batch_list *bl, size_t i, const bf_batch **out)
{
    const bf_batch *b = bf__halves_batch(&s->halves, bf_batch_list_id(bl, i),
                                         bf_batch_list_ordinal(bl, i), bf_batch_list_lo(bl, i),
                                         bf_batch_list_hi(bl, i));

    *out = NULL;
    if (!b)
        return bf__error(BF_E_UNSUPPORTED, "batch %s (id %lld) of run %lld has bounds that are "
                         "not a batch of the run's plan", bf_batch_list_label(bl, i),
                         (long long)bf_batch_list_id(bl, i), (long long)bf_run_id(s->run));
    *out = b;
    return BF_OK;
}

int bf__settle_records(bf_event_list **out, const bf__settle *s)
{
    return bf_run_events(out, s->run);
}

char *bf__quote_ident(const char *name)
{
    bf__sb sb;
    char *out = NULL;

    bf__sb_init(&sb);
    bf__sb_appendc(&sb, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            bf__sb_appendc(&sb, '"');
        bf__sb_appendc(&sb, *p);
    }
    bf__sb_appendc(&sb, '"');
    if (bf__sb_finish(&sb, &out) != BF_OK)
        return NULL;
    return out;
}

int64_t bf__runner_ledger_now(const bf_runner *r)
{
    if (r->ledger_opts.clock)
        return r->ledger_opts.clock(r->ledger_opts.clock_userdata);
    return bf__runner_now_us();
}

/* ---- Approval --------------------------------------------------------------- */

/* Add a record whose detail is `o` (consumed). */
static int record(bf_run *run, int64_t batch_id, const char *subject, json_t *o)
{
    char *text = NULL;
    int rc = o ? bf__json_dump(&text, o, JSON_COMPACT) : bf__nomem();

    json_decref(o);
    if (rc == BF_OK)
        rc = bf_run_record(run, batch_id, subject, text);
    bf__free(text);
    return rc;
}

/* The run-level validation passed: 1, failed 0, none recorded -1. */
static int run_level_passed(int *out, bf_run *run)
{
    bf_validation_list *vl = NULL;
    int rc = bf_run_validations(&vl, run, 0);

    *out = -1;
    if (rc == BF_OK && bf_validation_list_count(vl) > 0)
        *out = bf_validation_list_passed(vl, 0) == 1;
    bf_validation_list_free(vl);
    return rc;
}

/* Who may approve: BF_E_BLOCKED with the sentence when `reviewer` may not. */
static int check_reviewer(const bf__settle *s, const char *reviewer)
{
    const char *named = bf_brief_reviewer(s->brief), *owner = bf_brief_owner(s->brief);
    long long id = (long long)bf_run_id(s->run);

    /* The same person whatever the letter case or surrounding blanks, as the preflight says. */
    if (named && named[0] && !bf__same_person(named, reviewer))
        return bf__error(BF_E_BLOCKED, "run %lld: %s is not the brief's reviewer (%s); only the "
                         "reviewer approves", id, reviewer, named);
    if (bf__same_person(s->operator_name, reviewer))
        return bf__error(BF_E_BLOCKED, "run %lld: %s started the run and cannot approve it; the "
                         "approval must come from someone else", id, reviewer);
    if (owner && bf__same_person(owner, reviewer))
        return bf__error(BF_E_BLOCKED, "run %lld: %s owns the brief and cannot approve its run; "
                         "the approval must come from someone else", id, reviewer);
    return BF_OK;
}

/*
 * The records: whether `asset` was refreshed ok since the latest rollback (a rollback after a
 * refresh leaves the marts with numbers the target no longer holds), whether a cutover was,
 * and whether a refresh is owed: some asset was refreshed ok before the latest rollback.
 */
static int look_back(const bf__settle *s, const char *asset, int *refreshed, int *cut_over,
                     int *owed)
{
    bf_event_list *ev = NULL;
    int rc = bf__settle_records(&ev, s), any = 0;

    if (refreshed)
        *refreshed = 0;
    if (cut_over)
        *cut_over = 0;
    if (owed)
        *owed = 0;
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++) {
        const char *subject = bf_event_list_subject(ev, i);

        if (cut_over && strcmp(subject, "cutover") == 0)
            *cut_over = 1;
        if (strcmp(subject, "rollback") == 0) {
            if (refreshed)
                *refreshed = 0;
            if (owed && any)
                *owed = 1;
        }
        if (strcmp(subject, "refresh") == 0) {
            json_t *o = bf__json_loads(bf_event_list_detail(ev, i), 0, NULL);
            const char *a = json_string_value(json_object_get(o, "asset"));
            const char *st = json_string_value(json_object_get(o, "status"));

            if (st && strcmp(st, "ok") == 0)
                any = 1;
            if (refreshed && asset && a && st && strcmp(a, asset) == 0)
                *refreshed = strcmp(st, "ok") == 0;
            json_decref(o);
        }
    }
    bf_event_list_free(ev);
    return rc;
}

int bf__settle_refresh_owed(int *owed, const bf__settle *s)
{
    return look_back(s, NULL, NULL, NULL, owed);
}

int bf__settle_schema_fingerprint(char out[64], const bf__settle *s)
{
    bf_event_list *ev = NULL;
    int rc = bf__settle_records(&ev, s);

    out[0] = '\0';
    for (size_t i = 0; rc == BF_OK && i < bf_event_list_count(ev); i++) {
        if (strcmp(bf_event_list_subject(ev, i), "schema") == 0) {
            json_t *o = bf__json_loads(bf_event_list_detail(ev, i), 0, NULL);
            const char *fp = json_string_value(json_object_get(o, "fingerprint_before"));

            bf__snprintf(out, 64, "%s", fp ? fp : "");
            json_decref(o);
            break;
        }
    }
    bf_event_list_free(ev);
    return rc;
}

/*
 * Before a cutover is approved: the run's batches went into a copy of the
 * target made at its first publish, so swapping the copy in would drop
 * whatever another writer changed in the target since. The target must
 * still have the fingerprint it had when the run started.
 */
static int target_unchanged(bf_runner *r, const bf__settle *s)
{
    char then[64], now[64];
    int done = 0, backup = 0, rc;

    if (!s->shadowed)
        return BF_OK;
    if ((rc = look_back(s, NULL, NULL, &done, NULL)) != BF_OK || done ||
        (rc = bf__table_exists(&backup, r->driver, s->backup)) != BF_OK || backup)
        return rc; /* cut over already (an approval resumed) */
    if ((rc = bf__settle_schema_fingerprint(then, s)) != BF_OK || !then[0])
        return rc;
    if ((rc = bf__fingerprint_text(now, r->driver, s->job.spec.table, NULL, NULL)) != BF_OK)
        return rc;
    if (strcmp(now, then) != 0)
        return bf__error(BF_E_CONFLICT, "run %lld (%s): %s changed since the run started "
                         "(fingerprint %s, was %s): the cutover would swap in the run's copy %s "
                         "and drop those changes; nothing was approved. Roll the run back and "
                         "run the brief again, so that its copy has them",
                         (long long)bf_run_id(s->run), bf_run_brief_name(s->run),
                         s->job.spec.table, now, then, s->shadow);
    return BF_OK;
}

static int cutover(bf_runner *r, bf__settle *s, bf_run *as)
{
    char fp[64];
    int done = 0, rc, backup = 0, shadow = 0;

    if (!s->shadowed)
        return BF_OK;
    if ((rc = look_back(s, NULL, NULL, &done, NULL)) != BF_OK || done)
        return rc;
    /* A cutover whose record was lost (the process died between the two) is not done twice. */
    if ((rc = bf__table_exists(&backup, r->driver, s->backup)) != BF_OK ||
        (rc = bf__table_exists(&shadow, r->driver, s->shadow)) != BF_OK)
        return rc;
    if (!(backup && !shadow) &&
        (rc = bf_driver_cutover(r->driver, &s->job.spec, bf_run_id(s->run), 0)) != BF_OK)
        return bf__error(rc, "run %lld: cutover of %s: %s", (long long)bf_run_id(s->run),
                         s->job.spec.table, bf_last_error());
    if ((rc = bf__fingerprint_text(fp, r->driver, s->job.spec.table, NULL, NULL)) != BF_OK)
        return rc;
    return record(as, 0, "cutover",
                  json_pack("{s:s, s:s, s:s, s:s}", "strategy",
                            bf_write_strategy_name(s->job.spec.strategy), "table",
                            s->job.spec.table, "backup", s->backup, "fingerprint", fp));
}

/*
 * Runs the refresh_sql of the downstream assets in refresh order, each recorded, skipping
 * those refreshed ok since the latest rollback: after an approval (`rollback` 0) or after a
 * rollback of a run whose marts were refreshed (`rollback` 1). A failure stops there, and
 * approving or rolling back again resumes from the asset that failed.
 */
int bf__settle_refresh(bf_runner *r, bf__settle *s, bf_run *as, int rollback, size_t *out_done,
                       json_t *names)
{
    bf_lineage *lin = NULL;
    int rc = bf_lineage_new(&lin, s->brief);
    int order = 0;

    *out_done = 0;
    for (size_t i = 0; rc == BF_OK && i < bf_lineage_refresh_count(lin); i++) {
        const char *asset = bf_lineage_refresh(lin, i), *sql = NULL;
        int64_t started;
        double took;
        int already = 0, erc;
        char msg[1200];

        for (size_t k = 0; k < bf_brief_downstream_count(s->brief); k++)
            if (strcmp(bf_brief_downstream_name(s->brief, k), asset) == 0)
                sql = bf_brief_downstream_refresh_sql(s->brief, k);
        if (!sql || !sql[0])
            continue; /* nothing to run: the warehouse keeps it up to date (a view) */
        order++;
        if ((rc = look_back(s, asset, &already, NULL, NULL)) != BF_OK)
            break;
        if (already)
            continue;
        started = bf__runner_now_us();
        /* All of the asset's statements or none: a DELETE never commits without its INSERT. */
        erc = bf__driver_execute_atomic(r->driver, sql);
        took = (double)(bf__runner_now_us() - started) / 1e6;
        if (erc != BF_OK)
            bf__snprintf(msg, sizeof msg, "%s", bf_last_error());
        rc = record(as, 0, "refresh",
                    json_pack("{s:s, s:i, s:s, s:o, s:f}", "asset", asset, "order", order,
                              "status", erc == BF_OK ? "ok" : "failed", "error",
                              erc == BF_OK ? json_null() : json_string(msg), "duration_s", took));
        if (rc != BF_OK)
            break;
        if (erc != BF_OK) {
            char why[1400];

            bf__snprintf(why, sizeof why, "refresh of %s failed: %s", asset, msg);
            bf__runner_emit(r, s->run, BF_RUN_EVENT_REFRESHED, 0, NULL, 0, 0, took, why);
            rc = bf__error(BF_E_DRIVER, "run %lld: the refresh of downstream asset %s failed: %s; "
                           "%s, and %s again resumes from %s", (long long)bf_run_id(s->run),
                           asset, msg, rollback ? "the rows are restored" : "the run stays approved",
                           rollback ? "rolling back" : "approving it", asset);
            break;
        }
        bf__snprintf(msg, sizeof msg, "%s refreshed%s", asset, rollback ? " after the rollback" : "");
        bf__runner_emit(r, s->run, BF_RUN_EVENT_REFRESHED, 0, NULL, 0, 0, took, msg);
        (*out_done)++;
        if (names && json_array_append_new(names, json_string(asset)) != 0) {
            rc = bf__nomem();
            break;
        }
    }
    bf_lineage_free(lin);
    return rc;
}

int bf_runner_approve(bf_runner *r, int64_t run_id, const char *reviewer)
{
    bf__settle s;
    bf_ledger_options lo;
    bf_ledger *rl = NULL;
    bf_run *as = NULL;
    int rc, passed, state;
    size_t refreshed = 0;
    char msg[600];

    if (!r)
        return bf__error(BF_E_INVALID, "bf_runner_approve: runner is NULL");
    if (!reviewer || !reviewer[0])
        return bf__runner_fail(r, bf__error(BF_E_INVALID, "bf_runner_approve: no reviewer"));
    if ((rc = bf__settle_open(&s, r, run_id, 0)) != BF_OK)
        return bf__runner_fail(r, rc);
    state = bf_run_current_state(s.run);
    if (s.slice) {
        rc = bf__error(BF_E_BLOCKED, "run %lld (%s) is a test slice: it wrote scratch copies, "
                       "never the target, so there is nothing to approve; approve the brief's "
                       "own run", (long long)run_id, bf_run_brief_name(s.run));
        goto done;
    }
    if (state != BF_RUN_AWAITING_APPROVAL && state != BF_RUN_APPROVED) {
        rc = bf__error(BF_E_BLOCKED, "run %lld (%s) is %s, not awaiting approval%s",
                       (long long)run_id, bf_run_brief_name(s.run), bf_run_state_name(state),
                       state == BF_RUN_COMPLETED ? ": it was approved and completed already"
                       : state == BF_RUN_ROLLED_BACK ? ": it was rolled back"
                       : ": every batch must be validated and the run-level checks pass first");
        goto done;
    }
    if ((rc = run_level_passed(&passed, s.run)) != BF_OK)
        goto done;
    if (passed != 1) {
        rc = bf__error(BF_E_BLOCKED, "run %lld (%s): %s", (long long)run_id,
                       bf_run_brief_name(s.run),
                       passed < 0 ? "no run-level validation is recorded; validate the run first"
                                  : "the run-level validation failed; it cannot be approved");
        goto done;
    }
    {
        bf_progress p = BF_PROGRESS_INIT;

        if ((rc = bf_run_progress(&p, s.run)) != BF_OK)
            goto done;
        if (p.pending + p.running + p.failed + p.rolled_back > 0) {
            rc = bf__error(BF_E_BLOCKED, "run %lld (%s): %lld of its %lld batches are not done "
                           "(pending, running, failed or rolled back); it cannot be approved",
                           (long long)run_id, bf_run_brief_name(s.run),
                           (long long)(p.pending + p.running + p.failed + p.rolled_back),
                           (long long)p.total);
            goto done;
        }
    }
    if ((rc = check_reviewer(&s, reviewer)) != BF_OK || (rc = target_unchanged(r, &s)) != BF_OK)
        goto done;
    /* The reviewer's own ledger handle: every step is recorded as theirs. */
    lo = r->ledger_opts;
    lo.actor = reviewer;
    lo.free_store_userdata = NULL;
    if ((rc = bf_ledger_open(&rl, r->ledger_path, &lo)) != BF_OK ||
        (rc = bf_run_open(&as, rl, run_id)) != BF_OK)
        goto done;
    if (state == BF_RUN_AWAITING_APPROVAL) {
        bf__snprintf(msg, sizeof msg, "approved by %s", reviewer);
        if ((rc = bf_run_set_state(as, BF_RUN_APPROVED, msg)) != BF_OK ||
            (rc = record(as, 0, "approval", json_pack("{s:s, s:s}", "reviewer", reviewer,
                                                      "operator", s.operator_name))) != BF_OK)
            goto done;
        bf_run_refresh(s.run);
        bf__runner_emit(r, s.run, BF_RUN_EVENT_APPROVED, 0, NULL, 0, 0, 0, msg);
    }
    if ((rc = cutover(r, &s, as)) != BF_OK)
        goto done;
    if ((rc = bf__settle_refresh(r, &s, as, 0, &refreshed, NULL)) != BF_OK)
        goto done;
    bf__snprintf(msg, sizeof msg, "approved by %s%s; %zu downstream asset%s refreshed", reviewer,
                 s.shadowed ? ", cut over" : "", refreshed, refreshed == 1 ? "" : "s");
    if ((rc = bf_run_finish(as, msg)) != BF_OK)
        goto done;
    bf_run_refresh(s.run);
    bf__runner_emit(r, s.run, BF_RUN_EVENT_DONE, 0, NULL, 0, 0, 0, msg);
done:
    if (rc != BF_OK)
        bf__runner_fail(r, rc);
    bf_run_free(as);
    bf_ledger_close(rl);
    bf__settle_dispose(&s);
    return rc;
}
