/*
 * bf_runner_cleanup: once a run is settled (completed or rolled back) and
 * its retention is over, drop what it left in the warehouse: each batch's
 * snapshot and staging tables, the backup of a cut-over run, the shadow
 * table of a rolled-back staging_swap or parallel_version run.
 */
#include <stdint.h>
#include <string.h>

#include "common/json.h"
#include "driver/driver_internal.h"
#include "runner/runner_internal.h"

/* rollback.retention_days when the brief gives none. */
#define DEFAULT_RETENTION_DAYS 7

#define DAY_US ((int64_t)86400 * 1000000)

struct cleanup {
    bf_runner *r;
    bf__settle s;
    json_t *dropped, *kept;
};

/* Drop `table` with DROP TABLE when it exists, listing it. */
static int drop_table(struct cleanup *c, const char *table)
{
    char *q, *sql;
    int exists = 0, rc = bf__table_exists(&exists, c->r->driver, table);

    if (rc != BF_OK || !exists)
        return rc;
    q = bf__quote_ident(table);
    sql = q ? bf__asprintf("DROP TABLE %s", q) : NULL;
    rc = sql ? bf_driver_execute(c->r->driver, sql) : bf__nomem();
    bf__free(q);
    bf__free(sql);
    if (rc != BF_OK)
        return bf__error(rc, "cleanup of run %lld: dropping %s failed: %s",
                         (long long)bf_run_id(c->s.run), table, bf_last_error());
    json_array_append_new(c->dropped, json_string(table));
    return BF_OK;
}

/*
 * Tables derived from the target's name (docs/driver.md): a batch's own
 * (its staging, and the snapshot tables of builds that kept one set per
 * batch: <table>__bf_<kind>_<run>_<ordinal>), and the run's snapshot tables
 * (<table>__bf_<kind>_<run>), which go with the run's last snapshot.
 */
static const char *const batch_kinds[] = {"stage", "snap", "snapkeys", "snapfp"};
static const char *const run_kinds[] = {"snap", "snapkeys", "snapinfo"};
#define KINDS 4

/* The names of `kinds` (ordinal: a batch's, or SIZE_MAX: the run's), and which exist now. */
static int derived_tables(struct cleanup *c, const char *const *kinds, size_t n, size_t ordinal,
                          int *exists, char **names)
{
    int rc = BF_OK;

    for (size_t k = 0; k < n; k++) {
        names[k] = ordinal == SIZE_MAX
                       ? bf__asprintf("%s__bf_%s_%lld", c->s.job.spec.table, kinds[k],
                                      (long long)bf_run_id(c->s.run))
                       : bf__asprintf("%s__bf_%s_%lld_%zu", c->s.job.spec.table, kinds[k],
                                      (long long)bf_run_id(c->s.run), ordinal);
        exists[k] = 0;
        if (!names[k])
            rc = bf__nomem();
        else if (rc == BF_OK)
            rc = bf__table_exists(&exists[k], c->r->driver, names[k]);
    }
    return rc;
}

/* List each of names that existed and is gone now; frees the names. */
static int list_dropped(struct cleanup *c, int rc, size_t n, const int *exists, char **names)
{
    for (size_t k = 0; k < n; k++) {
        int still = 0;

        if (rc == BF_OK && exists[k] &&
            (rc = bf__table_exists(&still, c->r->driver, names[k])) == BF_OK && !still)
            json_array_append_new(c->dropped, json_string(names[k]));
        bf__free(names[k]);
        names[k] = NULL;
    }
    return rc;
}

static int drop_batches(struct cleanup *c)
{
    const bf_plan *plan = c->s.plan;
    char *run_names[KINDS] = {NULL, NULL, NULL, NULL};
    int run_exists[KINDS];
    int rc = derived_tables(c, run_kinds, BF_ARRAY_LEN(run_kinds), SIZE_MAX, run_exists,
                            run_names);

    for (size_t i = 0; rc == BF_OK && i < bf_plan_count(plan); i++) {
        const bf_batch *b = bf_plan_batch(plan, i);
        char *names[KINDS] = {NULL, NULL, NULL, NULL};
        int exists[KINDS];

        rc = derived_tables(c, batch_kinds, KINDS, bf_batch_ordinal(b), exists, names);
        if (rc == BF_OK)
            rc = bf_driver_drop_snapshot(c->r->driver, &c->s.job.spec, plan, b,
                                         bf_run_id(c->s.run));
        if (rc == BF_OK)
            rc = bf_driver_drop_staging(c->r->driver, &c->s.job.spec, plan, b,
                                        bf_run_id(c->s.run));
        rc = list_dropped(c, rc, KINDS, exists, names);
        if (rc != BF_OK)
            rc = bf__error(rc, "cleanup of run %lld: batch %s: %s", (long long)bf_run_id(c->s.run),
                           bf_batch_label(b), bf_last_error());
    }
    return list_dropped(c, rc, BF_ARRAY_LEN(run_kinds), run_exists, run_names);
}

/* What a settled run leaves besides the batches' tables. */
static int drop_versions(struct cleanup *c)
{
    int state = bf_run_current_state(c->s.run), exists = 0, rc;

    if (!c->s.shadowed)
        return BF_OK;
    if (state == BF_RUN_COMPLETED) {
        /* The target is the run's table now; the backup is what it replaced. */
        return drop_table(c, c->s.backup);
    }
    /* Rolled back: the shadow holds the run's rows; the target was never replaced, or was put back. */
    if ((rc = bf__table_exists(&exists, c->r->driver, c->s.backup)) != BF_OK)
        return rc;
    if (exists)
        json_array_append_new(c->kept, json_pack("{s:s, s:s}", "table", c->s.backup, "why",
                                                 "a rolled-back run keeps its backup table, "
                                                 "which is not its own to drop"));
    return drop_table(c, c->s.shadow);
}

int bf_runner_cleanup(char **json_out, bf_runner *r, int64_t run_id)
{
    struct cleanup c;
    int64_t days = DEFAULT_RETENTION_DAYS, now, due;
    char *text = NULL;
    json_t *o = NULL;
    int rc, state;

    if (json_out)
        *json_out = NULL;
    if (!r)
        return bf__error(BF_E_INVALID, "bf_runner_cleanup: runner is NULL");
    memset(&c, 0, sizeof c);
    c.r = r;
    if ((rc = bf__settle_open(&c.s, r, run_id, 0)) != BF_OK)
        return bf__runner_fail(r, rc);
    state = bf_run_current_state(c.s.run);
    /*
     * A cancelled staging_swap or parallel_version run wrote only its own copy of the target
     * (a cutover needs an approval, and an approved run is not cancelled): there is nothing to
     * undo, and its copy and snapshots are dropped as a rolled-back run's are.
     */
    if (state != BF_RUN_COMPLETED && state != BF_RUN_ROLLED_BACK &&
        !(state == BF_RUN_CANCELLED && c.s.shadowed)) {
        rc = bf__error(BF_E_STATE, "run %lld (%s) is %s: its tables are kept until it is "
                       "completed or rolled back%s", (long long)run_id, bf_run_brief_name(c.s.run),
                       bf_run_state_name(state),
                       state == BF_RUN_CANCELLED ? " (its published batches are in the target: "
                                                   "roll it back, then clean it up)" : "");
        goto done;
    }
    if (bf_brief_retention_days(&days, c.s.brief) != BF_OK)
        days = DEFAULT_RETENTION_DAYS;
    now = bf__runner_ledger_now(r);
    due = c.s.finished_at + days * DAY_US;
    if (now < due) {
        int64_t left_h = (due - now + 3600000000 - 1) / 3600000000;

        rc = bf__error(BF_E_STATE, "run %lld (%s) is %s and kept for rollback.retention_days "
                       "(%lld day%s) after it settled: cleanup is possible in %lld hour%s",
                       (long long)run_id, bf_run_brief_name(c.s.run), bf_run_state_name(state),
                       (long long)days, days == 1 ? "" : "s", (long long)left_h,
                       left_h == 1 ? "" : "s");
        goto done;
    }
    rc = bf_brief_target_table(c.s.brief)
             ? bf_driver_plan_brief(&c.s.plan, r->driver, c.s.brief)
             : bf__runner_host_job(r, c.s.run, NULL, &c.s.plan); /* a host's run: its plan */
    if (rc == BF_OK && strcmp(bf_plan_fingerprint(c.s.plan), bf_run_plan_fingerprint(c.s.run)))
        rc = bf__error(BF_E_CONFLICT, "run %lld (%s): the brief's plan made against the warehouse "
                       "now has fingerprint %s, not the run's %s, so the batches' tables cannot "
                       "be named", (long long)run_id, bf_run_brief_name(c.s.run),
                       bf_plan_fingerprint(c.s.plan), bf_run_plan_fingerprint(c.s.run));
    if (rc != BF_OK)
        goto done;
    c.dropped = json_array();
    c.kept = json_array();
    if (!c.dropped || !c.kept) {
        rc = bf__nomem();
        goto done;
    }
    /* With its tables gone, the run's fences have nothing left to guard. */
    if ((rc = drop_batches(&c)) != BF_OK || (rc = drop_versions(&c)) != BF_OK ||
        (rc = bf__driver_forget_fences(r->driver, c.s.job.spec.table, run_id)) != BF_OK)
        goto done;
    o = json_pack("{s:O, s:O}", "dropped", c.dropped, "kept", c.kept);
    rc = o ? bf__json_dump(&text, o, JSON_COMPACT) : bf__nomem();
    if (rc == BF_OK)
        rc = bf_run_record(c.s.run, 0, "cleanup", text);
    bf__free(text);
    text = NULL;
    if (rc == BF_OK && json_out) {
        json_t *out = json_pack("{s:s, s:I, s:s, s:O, s:O}", "format", "backfill-cleanup/1", "run",
                                (json_int_t)run_id, "state", bf_run_state_name(state), "dropped",
                                c.dropped, "kept", c.kept);

        rc = out ? bf__json_dump(json_out, out, JSON_INDENT(2)) : bf__nomem();
        json_decref(out);
    }
done:
    json_decref(o);
    json_decref(c.dropped);
    json_decref(c.kept);
    bf__settle_dispose(&c.s);
    return bf__runner_fail(r, rc);
}
