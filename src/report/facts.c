/*
 * The facts of a report, gathered into the JSON object of the
 * "backfill-report/1" format: from the brief (what, why, the period, who),
 * the lineage (blast radius, refresh order) and, for a run, the ledger only
 * (the run, its batches, validations, progress and records). Nothing is
 * written and the warehouse is never read. No fact depends on the current
 * time: instants come from the ledger, so the same ledger gives the same
 * report.
 *
 * The brief's zone is known only once prepare_brief() has run, and for a run
 * the brief comes from the ledger: so reading the ledger keeps instants as
 * numbers (read_records() stores a refresh record's as "at_us"), and every
 * instant is rendered (put_time(), local_text()) after prepare_brief(), while
 * the facts are gathered.
 */
#include <math.h>
#include <string.h>

#include "brief/brief_internal.h"
#include "common/json.h"
#include "report/report_internal.h"

struct id_row {
    int64_t id;
    size_t row;
};

typedef struct ctx {
    const bf_brief *brief;
    json_t *brief_doc;     /* the brief as JSON, for what has no getter (batching.window) */
    bf_tz *tz;             /* the brief's zone, or NULL (then UTC); set by prepare_brief() */
    bf_lineage *lineage;   /* NULL when the brief's downstream does not form a graph */
    const char *lineage_error;
    char lineage_msg[512];
    bf_ledger *ledger;
    bf_run *run;
    bf_run_list *runs;     /* every run of the ledger */
    size_t ri;             /* this run's index in runs */
    bf_batch_list *batches;
    struct id_row *by_id;  /* the batches' ids with their rows, sorted by id (index_batches) */
    bf_event_list *events;
    bf_validation_list *vals;
    bf_progress progress;
    json_t *approval, *cutover, *slice, *pause; /* the latest records (borrowed from records) */
    int64_t approval_at, cutover_at, slice_at, pause_at;
    json_t *refreshes;     /* every "refresh" record in log order: {asset, order, status, ..., at_us} */
    int64_t last_at;       /* the latest instant the ledger recorded for the run */
    int64_t rollback_at;   /* the latest "rollback" record's instant, or 0 */
} ctx;

/* ---- small helpers ---- */

static json_t *str_or_null(const char *s)
{
    return s && s[0] ? json_string(s) : json_null();
}

void bf__report_iso(char *buf, size_t size, int64_t us)
{
    bf_civil c;
    int64_t s = us / 1000000, frac = us % 1000000;

    if (frac < 0) {
        frac += 1000000;
        s--;
    }
    if (us == 0) {
        bf__snprintf(buf, size, "%s", "");
        return;
    }
    bf_civil_from_seconds(&c, s);
    if (frac)
        bf__snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)c.year,
                     c.month, c.day, c.hour, c.minute, c.second, (long long)frac);
    else
        bf__snprintf(buf, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year, c.month,
                     c.day, c.hour, c.minute, c.second);
}

/* The instant in the brief's zone: "2025-01-01 00:00 America/New_York" (only after prepare_brief()). */
static void local_text(char *buf, size_t size, const ctx *x, int64_t us)
{
    bf_civil c;
    int64_t s = us / 1000000;

    if (us % 1000000 < 0)
        s--;
    if (x->tz)
        bf_tz_to_local(&c, x->tz, s);
    else
        bf_civil_from_seconds(&c, s);
    bf__snprintf(buf, size, "%04lld-%02d-%02d %02d:%02d %s", (long long)c.year, c.month, c.day,
                 c.hour, c.minute, x->tz ? bf_tz_name(x->tz) : "UTC");
}

/* NAME_us, NAME_iso and NAME_local of an instant (null for 0). */
static void put_time(json_t *obj, const ctx *x, const char *name, int64_t us)
{
    char key[64], iso[48], local[96];

    bf__snprintf(key, sizeof key, "%s_us", name);
    json_object_set_new(obj, key, us ? json_integer((json_int_t)us) : json_null());
    bf__report_iso(iso, sizeof iso, us);
    bf__snprintf(key, sizeof key, "%s_iso", name);
    json_object_set_new(obj, key, us ? json_string(iso) : json_null());
    local_text(local, sizeof local, x, us);
    bf__snprintf(key, sizeof key, "%s_local", name);
    json_object_set_new(obj, key, us ? json_string(local) : json_null());
}

static json_t *name_array(size_t n, const char *(*get)(const bf_brief *, size_t), const bf_brief *b)
{
    json_t *a = json_array();

    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(get(b, i)));
    return a;
}

/* ---- the brief: what, why, when, who ---- */

static json_t *period(const ctx *x)
{
    const bf_brief *b = x->brief;
    json_t *p = json_object();
    char text[512];
    int64_t lo, hi, n;

    switch (bf_brief_scope_kind(b)) {
    case BF_SCOPE_TIME: {
        const char *start = bf_brief_scope_start(b), *end = bf_brief_scope_end(b);
        const char *zone = bf_brief_scope_timezone(b);
        char last[32] = "";
        bf_civil c;

        json_object_set_new(p, "kind", json_string("time"));
        json_object_set_new(p, "start", str_or_null(start));
        json_object_set_new(p, "end", str_or_null(end));
        json_object_set_new(p, "timezone", str_or_null(zone));
        /* A date-only end is exclusive: the last day in scope is the day before. */
        if (end && strlen(end) == 10 && bf_civil_parse(&c, end) == BF_OK) {
            bf_civil d;
            bf_civil_from_days(&d, bf_civil_days(c.year, c.month, c.day) - 1);
            bf__snprintf(last, sizeof last, "%04lld-%02d-%02d", (long long)d.year, d.month, d.day);
        }
        json_object_set_new(p, "last_day", str_or_null(last));
        if (last[0])
            bf__snprintf(text, sizeof text, "%s to %s (%s)", start ? start : "(start not given)",
                         last, zone ? zone : "UTC");
        else
            bf__snprintf(text, sizeof text, "%s up to, but not including, %s (%s)",
                         start ? start : "(start not given)", end ? end : "(end not given)",
                         zone ? zone : "UTC");
        break;
    }
    case BF_SCOPE_KEYS:
        json_object_set_new(p, "kind", json_string("keys"));
        json_object_set_new(p, "column", str_or_null(bf_brief_scope_column(b)));
        if (bf_brief_scope_key_start(&lo, b) == BF_OK && bf_brief_scope_key_end(&hi, b) == BF_OK) {
            json_object_set_new(p, "start", json_integer((json_int_t)lo));
            json_object_set_new(p, "end", json_integer((json_int_t)hi));
            bf__snprintf(text, sizeof text, "keys %s from %lld up to, but not including, %lld",
                         bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?", (long long)lo,
                         (long long)hi);
        } else {
            bf__snprintf(text, sizeof text, "keys %s (range not fully given)",
                         bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?");
        }
        break;
    case BF_SCOPE_PARTITIONS:
        json_object_set_new(p, "kind", json_string("partitions"));
        json_object_set_new(p, "column", str_or_null(bf_brief_scope_column(b)));
        json_object_set_new(p, "count", json_integer((json_int_t)bf_brief_partition_count(b)));
        bf__snprintf(text, sizeof text, "%zu partition%s of %s", bf_brief_partition_count(b),
                     bf_brief_partition_count(b) == 1 ? "" : "s",
                     bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?");
        break;
    case BF_SCOPE_BUCKETS:
        if (bf_brief_scope_buckets(&n, b) != BF_OK)
            n = 0;
        json_object_set_new(p, "kind", json_string("buckets"));
        json_object_set_new(p, "column", str_or_null(bf_brief_scope_column(b)));
        json_object_set_new(p, "count", json_integer((json_int_t)n));
        bf__snprintf(text, sizeof text, "all rows, in %lld hash buckets of %s", (long long)n,
                     bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?");
        break;
    default:
        json_object_set_new(p, "kind", json_null());
        bf__snprintf(text, sizeof text, "%s", "not given");
        break;
    }
    json_object_set_new(p, "text", json_string(text));
    return p;
}

static json_t *brief_facts(const ctx *x)
{
    const bf_brief *b = x->brief;
    json_t *o = json_object(), *stake = json_array();
    int64_t v;

    json_object_set_new(o, "name", str_or_null(bf_brief_name(b)));
    json_object_set_new(o, "reason", str_or_null(bf_brief_reason(b)));
    json_object_set_new(o, "risk", str_or_null(bf_brief_risk(b) ? bf_risk_name(bf_brief_risk(b)) : NULL));
    json_object_set_new(o, "table", str_or_null(bf_brief_target_table(b)));
    json_object_set_new(o, "key", name_array(bf_brief_key_count(b), bf_brief_key, b));
    json_object_set_new(o, "columns", name_array(bf_brief_column_count(b), bf_brief_column, b));
    json_object_set_new(o, "sources", name_array(bf_brief_source_count(b), bf_brief_source, b));
    json_object_set_new(o, "code_version", str_or_null(bf_brief_code_version(b)));
    json_object_set_new(o, "period", period(x));
    json_object_set_new(o, "expected_rows_min",
                        bf_brief_expected_rows_min(&v, b) == BF_OK ? json_integer((json_int_t)v) : json_null());
    json_object_set_new(o, "expected_rows_max",
                        bf_brief_expected_rows_max(&v, b) == BF_OK ? json_integer((json_int_t)v) : json_null());
    json_object_set_new(o, "write_strategy",
                        str_or_null(bf_brief_write_strategy(b)
                                        ? bf_write_strategy_name(bf_brief_write_strategy(b)) : NULL));
    json_object_set_new(o, "snapshot", json_boolean(bf_brief_snapshot(b)));
    json_object_set_new(o, "owner", str_or_null(bf_brief_owner(b)));
    json_object_set_new(o, "reviewer", str_or_null(bf_brief_reviewer(b)));
    json_object_set_new(o, "rollback_plan", str_or_null(bf_brief_rollback_plan(b)));
    json_object_set_new(o, "rollback_owner", str_or_null(bf_brief_rollback_owner(b)));
    json_object_set_new(o, "retention_days",
                        bf_brief_retention_days(&v, b) == BF_OK ? json_integer((json_int_t)v) : json_null());
    for (size_t i = 0; i < bf_brief_stakeholder_count(b); i++)
        json_array_append_new(stake, json_string(bf_brief_stakeholder(b, i)));
    json_object_set_new(o, "stakeholders", stake);
    json_object_set_new(o, "channel", str_or_null(bf_brief_channel(b)));
    return o;
}

static json_t *blast_radius(const ctx *x)
{
    json_t *o = json_object(), *d = json_array(), *ind = json_array(), *people = json_array(),
           *order = json_array();
    const bf_lineage *l = x->lineage;

    for (size_t i = 0; l && i < bf_lineage_direct_count(l); i++)
        json_array_append_new(d, json_string(bf_lineage_direct(l, i)));
    for (size_t i = 0; l && i < bf_lineage_indirect_count(l); i++)
        json_array_append_new(ind, json_string(bf_lineage_indirect(l, i)));
    for (size_t i = 0; l && i < bf_lineage_human_count(l); i++)
        json_array_append_new(people, json_pack("{s:s, s:s}", "who", bf_lineage_human(l, i),
                                                "why", bf_lineage_human_reason(l, i)));
    for (size_t i = 0; l && i < bf_lineage_refresh_count(l); i++)
        json_array_append_new(order, json_string(bf_lineage_refresh(l, i)));
    json_object_set_new(o, "known", json_boolean(l != NULL));
    json_object_set_new(o, "error", str_or_null(x->lineage_error));
    json_object_set_new(o, "direct", d);
    json_object_set_new(o, "indirect", ind);
    json_object_set_new(o, "people", people);
    json_object_set_new(o, "refresh_order", order);
    return o;
}

/* batching.window as the brief gives it (text, or {start, end}), when it does. */
static json_t *when(const ctx *x)
{
    json_t *o = json_object();
    json_t *window = json_object_get(json_object_get(x->brief_doc, "batching"), "window");
    char text[512];

    if (window) {
        const char *s = json_string_value(window);
        const char *start = json_string_value(json_object_get(window, "start"));
        const char *end = json_string_value(json_object_get(window, "end"));
        if (s)
            bf__snprintf(text, sizeof text, "%s", s);
        else if (start && end)
            bf__snprintf(text, sizeof text, "%s to %s", start, end);
        else
            bf__snprintf(text, sizeof text, "%s", "a run window is given in the brief");
        json_object_set(o, "window", window);
    } else if (x->run) {
        int64_t started = bf_run_list_started_at(x->runs, x->ri);
        int64_t created = bf_run_list_created_at(x->runs, x->ri);
        char iso[48], local[96];
        bf__report_iso(iso, sizeof iso, started ? started : created);
        local_text(local, sizeof local, x, started ? started : created);
        bf__snprintf(text, sizeof text, "%s %s (%s)", started ? "started" : "run created", iso, local);
        json_object_set_new(o, "window", json_null());
    } else {
        bf__snprintf(text, sizeof text, "%s", "not scheduled yet");
        json_object_set_new(o, "window", json_null());
    }
    json_object_set_new(o, "text", json_string(text));
    return o;
}

/* ---- the run: records, batches, validations ---- */

static int parse_detail(json_t **out, const char *text)
{
    *out = text && text[0] ? bf__json_loads(text, 0, NULL) : NULL;
    if (*out && !json_is_object(*out)) {
        json_decref(*out);
        *out = NULL;
    }
    return BF_OK;
}

static void take_latest(json_t **slot, int64_t *at_slot, json_t *detail, int64_t at)
{
    json_decref(*slot);
    *slot = detail;
    *at_slot = at;
}

static int read_records(ctx *x)
{
    const bf_event_list *ev = x->events;

    for (size_t i = 0; i < bf_event_list_count(ev); i++) {
        const char *subject = bf_event_list_subject(ev, i);
        int64_t at = bf_event_list_at(ev, i);
        json_t *detail;

        if (at > x->last_at)
            x->last_at = at;
        if (!subject)
            continue;
        if (strcmp(subject, "run") == 0) {
            const char *to = bf_event_list_to(ev, i);
            if (to && strcmp(to, "paused") == 0) {
                json_t *d = json_pack("{s:s?, s:s?}", "reason", bf_event_list_detail(ev, i),
                                      "actor", bf_event_list_actor(ev, i));
                take_latest(&x->pause, &x->pause_at, d, at);
            }
            continue;
        }
        if (strcmp(subject, "rollback") == 0) {
            x->rollback_at = at;
            continue;
        }
        if (strcmp(subject, "approval") && strcmp(subject, "cutover") && strcmp(subject, "slice") &&
            strcmp(subject, "refresh"))
            continue;
        parse_detail(&detail, bf_event_list_detail(ev, i));
        if (!detail)
            detail = json_object();
        if (!json_object_get(detail, "actor"))
            json_object_set_new(detail, "actor", str_or_null(bf_event_list_actor(ev, i)));
        if (strcmp(subject, "approval") == 0)
            take_latest(&x->approval, &x->approval_at, detail, at);
        else if (strcmp(subject, "cutover") == 0)
            take_latest(&x->cutover, &x->cutover_at, detail, at);
        else if (strcmp(subject, "slice") == 0)
            take_latest(&x->slice, &x->slice_at, detail, at);
        else {
            /* Rendered by gather_run(), once the brief's zone is known. */
            json_object_set_new(detail, "at_us", json_integer((json_int_t)at));
            json_array_append_new(x->refreshes, detail);
        }
    }
    return BF_OK;
}

static json_t *run_facts(const ctx *x)
{
    json_t *o = json_object();
    const bf_run_list *l = x->runs;
    size_t i = x->ri;

    json_object_set_new(o, "id", json_integer((json_int_t)bf_run_list_id(l, i)));
    json_object_set_new(o, "seq", json_integer((json_int_t)bf_run_list_seq(l, i)));
    json_object_set_new(o, "brief", json_string(bf_run_list_brief_name(l, i)));
    json_object_set_new(o, "state", json_string(bf_run_state_name((bf_run_state)bf_run_list_state(l, i))));
    json_object_set_new(o, "plan_fingerprint", str_or_null(bf_run_list_plan_fingerprint(l, i)));
    json_object_set_new(o, "code_version", str_or_null(bf_run_list_code_version(l, i)));
    json_object_set_new(o, "operator", str_or_null(bf_run_list_operator(l, i)));
    put_time(o, x, "created", bf_run_list_created_at(l, i));
    put_time(o, x, "started", bf_run_list_started_at(l, i));
    put_time(o, x, "finished", bf_run_list_finished_at(l, i));
    put_time(o, x, "last_recorded", x->last_at);
    return o;
}

static json_t *progress_facts(const ctx *x)
{
    const bf_progress *p = &x->progress;
    json_t *o = json_object();
    int64_t eta_us = 0;
    int finished = p->state == BF_RUN_COMPLETED || p->state == BF_RUN_CANCELLED ||
                   p->state == BF_RUN_ROLLED_BACK;

    json_object_set_new(o, "total", json_integer((json_int_t)p->total));
    json_object_set_new(o, "done", json_integer((json_int_t)(p->completed + p->validated)));
    json_object_set_new(o, "pending", json_integer((json_int_t)p->pending));
    json_object_set_new(o, "running", json_integer((json_int_t)p->running));
    json_object_set_new(o, "completed", json_integer((json_int_t)p->completed));
    json_object_set_new(o, "validated", json_integer((json_int_t)p->validated));
    json_object_set_new(o, "failed", json_integer((json_int_t)p->failed));
    json_object_set_new(o, "cancelled", json_integer((json_int_t)p->cancelled));
    json_object_set_new(o, "rolled_back", json_integer((json_int_t)p->rolled_back));
    json_object_set_new(o, "rows_written", json_integer((json_int_t)p->rows_written));
    json_object_set_new(o, "rows_deleted", json_integer((json_int_t)p->rows_deleted));
    /*
     * The ETA as an instant: the ledger's latest record plus the remaining
     * work. None while paused (no batch is claimed until someone resumes),
     * before any batch finished, or with nothing left.
     */
    const char *note = NULL;
    if (finished || p->pending + p->running == 0)
        note = "nothing is left to run";
    else if (p->state == BF_RUN_PAUSED)
        note = "unknown while the run is paused";
    else if (p->state == BF_RUN_FAILED)
        note = "unknown: batches failed for good";
    else if (p->eta_s < 0)
        note = "unknown until a batch has finished";
    else
        eta_us = x->last_at + (int64_t)(p->eta_s * 1e6);
    json_object_set_new(o, "eta_s", eta_us ? json_real(p->eta_s) : json_null());
    put_time(o, x, "eta", eta_us);
    json_object_set_new(o, "eta_note", str_or_null(note));
    return o;
}

static json_t *batch_entry(const bf_batch_list *bl, size_t i)
{
    return json_pack("{s:I, s:s, s:s, s:I, s:s?}", "id", (json_int_t)bf_batch_list_id(bl, i),
                     "label", bf_batch_list_label(bl, i), "state",
                     bf_batch_state_name((bf_batch_state)bf_batch_list_state(bl, i)), "attempt",
                     (json_int_t)bf_batch_list_attempt(bl, i), "error", bf_batch_list_error(bl, i));
}

static json_t *batch_facts(const ctx *x, int64_t *keyed, int64_t *written)
{
    json_t *o = json_object(), *failed = json_array(), *waiting = json_array();
    const bf_batch_list *bl = x->batches;
    int64_t undone_w = 0, undone_d = 0;

    *keyed = *written = 0;
    for (size_t i = 0; i < bf_batch_list_count(bl); i++) {
        int s = bf_batch_list_state(bl, i);
        if (s == BF_BATCH_FAILED)
            json_array_append_new(failed, batch_entry(bl, i));
        else if (s == BF_BATCH_PENDING || s == BF_BATCH_RUNNING)
            json_array_append_new(waiting, batch_entry(bl, i));
        /* A batch rolled back since was written all the same, with its pattern and key. */
        if (s == BF_BATCH_ROLLED_BACK) {
            undone_w += bf_batch_list_rows_written(bl, i);
            undone_d += bf_batch_list_rows_deleted(bl, i);
        }
        if (s == BF_BATCH_COMPLETED || s == BF_BATCH_VALIDATED || s == BF_BATCH_ROLLED_BACK) {
            const char *k = bf_batch_list_idempotency_key(bl, i);
            (*written)++;
            if (k && k[0])
                (*keyed)++;
        }
    }
    json_object_set_new(o, "failed", failed);
    json_object_set_new(o, "waiting", waiting);
    json_object_set_new(o, "written", json_integer((json_int_t)*written));
    json_object_set_new(o, "idempotency_keys", json_integer((json_int_t)*keyed));
    json_object_set_new(o, "rows_rolled_back", json_pack("{s:I, s:I}", "written",
                                                         (json_int_t)undone_w, "deleted",
                                                         (json_int_t)undone_d));
    return o;
}

static int cmp_id_row(const void *a, const void *b)
{
    int64_t x = ((const struct id_row *)a)->id, y = ((const struct id_row *)b)->id;

    return (x > y) - (x < y);
}

/*
 * The listing is in plan order (a split or re-cut batch's id is not in
 * order there), and the report looks a batch up for each recorded
 * validation: the ids sorted once make each lookup a binary search rather
 * than a scan (quadratic in batches for a long run).
 */
static int index_batches(ctx *x)
{
    size_t n = bf_batch_list_count(x->batches);

    if (!n)
        return BF_OK;
    if (!(x->by_id = bf__malloc(n * sizeof *x->by_id)))
        return bf__nomem();
    for (size_t i = 0; i < n; i++) {
        x->by_id[i].id = bf_batch_list_id(x->batches, i);
        x->by_id[i].row = i;
    }
    qsort(x->by_id, n, sizeof *x->by_id, cmp_id_row);
    return BF_OK;
}

/* The row of batch `id` in the run's batch listing, or -1. */
static long batch_row(const ctx *x, int64_t id)
{
    struct id_row key = {id, 0}, *hit;

    if (!x->by_id)
        return -1;
    hit = bsearch(&key, x->by_id, bf_batch_list_count(x->batches), sizeof *x->by_id, cmp_id_row);
    return hit ? (long)hit->row : -1;
}

static const char *const outcome_names[] = {"pass", "warn", "fail", "error", "skipped"};

/* A metric check's explained delta, when the results carry one ({added, removed, changed}). */
static json_t *explained(const json_t *check)
{
    json_t *e = json_object_get(check, "explained");

    if (!json_is_object(e))
        e = json_object_get(check, "contributions");
    if (json_is_object(e))
        return json_pack("{s:O?, s:O?, s:O?}", "added", json_object_get(e, "added"), "removed",
                         json_object_get(e, "removed"), "changed", json_object_get(e, "changed"));
    return json_null();
}

/*
 * A sum of recorded metric values. The additions are compensated
 * (Neumaier: the rounding error of each one is carried along and added
 * back at the end), so that adding many values loses nothing to the order
 * or the number of them; and the sum keeps how uncertain its terms are.
 * Each term is a double, the nearest one to what SQL measured (or a
 * difference of two such), so it holds its quantity to within a unit in
 * its last place, and no better: a batch's revenue of 881344.45 may be
 * recorded as 881344.4500000001.
 */
typedef struct msum {
    double sum, carry; /* the sum is sum + carry */
    double spread;     /* the terms' uncertainty, summed */
} msum;

/* The gap from |x| to the next double up: the unit in x's last place. */
static double ulp(double x)
{
    x = fabs(x);
    return isfinite(x) ? nextafter(x, INFINITY) - x : 0;
}

static void msum_add(msum *s, double v, double spread)
{
    double t = s->sum + v;

    s->carry += fabs(s->sum) >= fabs(v) ? (s->sum - t) + v : (v - t) + s->sum;
    s->sum = t;
    s->spread += spread;
}

/*
 * The total, given to the precision its terms carry: the number with the
 * fewest decimals within the sum's uncertainty (the terms' and one more
 * unit of the sum's own last place), so that 21 batches' revenues add up
 * to 17308287.82 rather than 17308287.820000004. When no such number is
 * closer than that (or the sum is too large to round in a double), the
 * sum itself.
 */
static double msum_total(const msum *s)
{
    static const double scale[] = {1e0, 1e1, 1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,
                                   1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17};
    double x = s->sum + s->carry, bound = s->spread + ulp(x);

    if (!isfinite(x))
        return x;
    for (size_t k = 0; k < BF_ARRAY_LEN(scale); k++) {
        double m = nearbyint(x * scale[k]), r;

        if (fabs(m) >= 9007199254740992.0) /* 2^53: from here m is no longer exact */
            break;
        r = m / scale[k];
        if (fabs(r - x) <= bound)
            return r + 0.0; /* no -0.0 */
    }
    return x;
}

/* The parts of an explained delta. */
static const char *const parts[] = {"added", "removed", "changed"};

/*
 * A difference of two recorded values (a batch's delta, a part of its
 * explanation) to the precision its ends carry, as the totals are given:
 * 12345678801.21 - 12345678901.23 is -100.02, not -100.020000457764.
 */
static double settled(double v, double spread)
{
    msum one = {v, 0, spread};

    return msum_total(&one);
}

static void settle_parts(json_t *why, double spread)
{

    for (int p = 0; json_is_object(why) && p < (int)BF_ARRAY_LEN(parts); p++) {
        json_t *v = json_object_get(why, parts[p]);

        if (json_is_real(v))
            json_real_set(v, settled(json_real_value(v), spread + ulp(json_real_value(v))));
    }
}

static int same_name(const json_t *a, const json_t *b)
{
    return json_equal(a ? a : json_null(), b ? b : json_null());
}

/*
 * Each metric summed over the batches that recorded it and are still in effect (the run's
 * own value is not added in, nor a batch rolled back since, which is counted apart): the
 * total movement of a SUM or COUNT metric. The explanation adds up too, while every batch
 * in effect has one; one batch without it makes the total's null. Totals are given to the
 * precision their terms carry (msum_total).
 */
static json_t *metric_totals(const json_t *metrics)
{
    json_t *totals = json_array(), *m, *t;
    size_t i, k;

    json_array_foreach(metrics, i, m) {
        const json_t *name = json_object_get(m, "name");
        msum before = {0, 0, 0}, after = {0, 0, 0}, delta = {0, 0, 0}, part[3] = {{0, 0, 0}};
        json_int_t batches = 0, rolled_back = 0;
        int explained = 1, known = 0;
        double b;
        json_t *total;

        if (json_is_null(json_object_get(m, "batch")))
            continue;
        json_array_foreach(totals, k, t)
            known |= same_name(json_object_get(t, "name"), name);
        if (known)
            continue;
        /* This name's first batch: sum it and every later one of the same name. */
        for (k = i; k < json_array_size(metrics); k++) {
            const json_t *e = json_array_get(metrics, k), *x = json_object_get(e, "explained");
            double eb = json_number_value(json_object_get(e, "before"));
            double ea = json_number_value(json_object_get(e, "after"));
            double ed = json_number_value(json_object_get(e, "delta"));

            if (json_is_null(json_object_get(e, "batch")) ||
                !same_name(json_object_get(e, "name"), name))
                continue;
            if (json_is_true(json_object_get(e, "rolled_back"))) {
                rolled_back++;
                continue;
            }
            batches++;
            msum_add(&before, eb, ulp(eb));
            msum_add(&after, ea, ulp(ea));
            /* A delta, and each part of its explanation, is as uncertain as both ends. */
            msum_add(&delta, ed, ulp(eb) + ulp(ea) + ulp(ed));
            if (!json_is_object(x)) {
                explained = 0;
                continue;
            }
            for (int p = 0; p < (int)BF_ARRAY_LEN(parts); p++) {
                double v = json_number_value(json_object_get(x, parts[p]));

                msum_add(&part[p], v, ulp(eb) + ulp(ea) + ulp(v));
            }
        }
        b = msum_total(&before);
        total = json_pack("{s:O, s:I, s:I, s:f, s:f, s:f}", "name", name ? name : json_null(),
                          "batches", batches, "rolled_back", rolled_back, "before", b, "after",
                          msum_total(&after), "delta", msum_total(&delta));
        if (!total)
            continue;
        json_object_set_new(total, "explained",
                            explained && batches
                                ? json_pack("{s:f, s:f, s:f}", "added", msum_total(&part[0]),
                                            "removed", msum_total(&part[1]), "changed",
                                            msum_total(&part[2]))
                                : json_null());
        json_object_set_new(total, "delta_pct",
                            b != 0 ? json_real(msum_total(&delta) / fabs(b) * 100) : json_null());
        json_array_append_new(totals, total);
    }
    return totals;
}

static json_t *validation_facts(const ctx *x, json_t *metrics)
{
    json_t *o = json_object(), *runv = json_null(), *fails = json_array(), *warns = json_array();
    json_t *bcounts = json_object();
    int64_t tally[5] = {0}, recorded = 0, passed = 0, failed = 0;
    const bf_validation_list *v = x->vals;

    for (size_t i = 0; i < bf_validation_list_count(v); i++) {
        int64_t bid = bf_validation_list_batch_id(v, i);
        long row = bid ? batch_row(x, bid) : -1;
        const char *label = !bid ? NULL : row < 0 ? "" : bf_batch_list_label(x->batches, (size_t)row);
        /* A batch rolled back since; the run's value measured before a rollback. */
        int undone = bid ? row >= 0 && bf_batch_list_state(x->batches, (size_t)row) ==
                                           BF_BATCH_ROLLED_BACK
                         : x->rollback_at > bf_validation_list_updated_at(v, i);
        json_t *doc = bf__json_loads(bf_validation_list_results_json(v, i), 0, NULL);
        json_t *checks = json_object_get(doc, "checks"), *c;
        size_t k;

        if (bid == 0) {
            json_t *counts = json_object();
            for (int t = 0; t < 5; t++)
                json_object_set_new(counts, outcome_names[t],
                                    json_integer((json_int_t)bf_validation_list_tally(v, i, t)));
            json_decref(runv);
            runv = json_pack("{s:b, s:o}", "passed", bf_validation_list_passed(v, i) == 1,
                             "counts", counts);
            put_time(runv, x, "recorded", bf_validation_list_updated_at(v, i));
        } else {
            recorded++;
            if (bf_validation_list_passed(v, i) == 1)
                passed++;
            else
                failed++;
            for (int t = 0; t < 5; t++)
                tally[t] += bf_validation_list_tally(v, i, t);
        }
        json_array_foreach(checks, k, c) {
            const char *outcome = json_string_value(json_object_get(c, "outcome"));
            json_t *entry;
            if (!outcome)
                continue;
            if (!strcmp(outcome, "fail") || !strcmp(outcome, "error") || !strcmp(outcome, "warn")) {
                entry = json_pack("{s:s?, s:s?, s:O?, s:s, s:s?}", "batch", label, "check",
                                  json_string_value(json_object_get(c, "check")), "name",
                                  json_object_get(c, "name"), "outcome", outcome, "message",
                                  json_string_value(json_object_get(c, "message")));
                json_array_append_new(strcmp(outcome, "warn") ? fails : warns, entry);
            }
            if (json_is_string(json_object_get(c, "check")) &&
                !strcmp(json_string_value(json_object_get(c, "check")), "metric") &&
                json_is_number(json_object_get(c, "before")) &&
                json_is_number(json_object_get(c, "after"))) {
                double before = json_number_value(json_object_get(c, "before"));
                double after = json_number_value(json_object_get(c, "after"));
                json_t *delta = json_object_get(c, "delta");
                double d = json_is_number(delta) ? json_number_value(delta) : after - before;
                double spread = ulp(before) + ulp(after);
                json_t *why = explained(c);

                settle_parts(why, spread);
                entry = json_pack("{s:s?, s:O?, s:s, s:f, s:f, s:f, s:o, s:b}", "batch", label,
                                  "name", json_object_get(c, "name"), "outcome", outcome,
                                  "before", before, "after", after, "delta",
                                  settled(d, spread + ulp(d)), "explained", why,
                                  bid ? "rolled_back" : "before_rollback", undone);
                json_array_append_new(metrics, entry);
            }
        }
        json_decref(doc);
    }
    for (int t = 0; t < 5; t++)
        json_object_set_new(bcounts, outcome_names[t], json_integer((json_int_t)tally[t]));
    json_object_set_new(o, "run", runv);
    json_object_set_new(o, "batches", json_pack("{s:I, s:I, s:I, s:o}", "recorded", (json_int_t)recorded,
                                                "passed", (json_int_t)passed, "failed",
                                                (json_int_t)failed, "counts", bcounts));
    json_object_set_new(o, "failures", fails);
    json_object_set_new(o, "warnings", warns);
    return o;
}

/* A test slice of this brief in the ledger: a run of "<name>@test-slice", or a "slice" record. */
static json_t *test_slice(const ctx *x)
{
    char name[512];
    const char *brief = bf_run_list_brief_name(x->runs, x->ri);
    json_t *found = json_null();

    bf__snprintf(name, sizeof name, "%s" BF__SLICE_RUN_SUFFIX, brief ? brief : "");
    for (size_t i = 0; i < bf_run_list_count(x->runs); i++) {
        const char *n = bf_run_list_brief_name(x->runs, i);
        if (n && strcmp(n, name) == 0 &&
            bf_run_list_created_at(x->runs, i) <= bf_run_list_created_at(x->runs, x->ri)) {
            json_decref(found);
            found = json_pack("{s:s, s:I, s:s}", "source", "run", "run",
                              (json_int_t)bf_run_list_id(x->runs, i), "state",
                              bf_run_state_name((bf_run_state)bf_run_list_state(x->runs, i)));
        }
    }
    if (json_is_null(found) && x->slice)
        found = json_pack("{s:s, s:O}", "source", "record", "detail", x->slice);
    return found;
}

/* ---- the status sentence and the definition of done ---- */

/*
 * Only an asset's latest "refresh" record counts (runner.md): a failed
 * refresh that approving again redid is history, not a failure. The index of
 * the latest record of `asset` in log order, or -1 when it has none.
 */
static long long latest_refresh(const json_t *refreshes, const char *asset)
{
    long long found = -1;
    size_t i;
    json_t *r;

    json_array_foreach(refreshes, i, r)
        if (asset && json_is_string(json_object_get(r, "asset")) &&
            !strcmp(json_string_value(json_object_get(r, "asset")), asset))
            found = (long long)i;
    return found;
}

/* Whether record i is its asset's latest (a record naming no asset stands alone). */
static int refresh_is_latest(const json_t *refreshes, size_t i)
{
    const char *asset = json_string_value(json_object_get(json_array_get(refreshes, i), "asset"));

    return !asset || latest_refresh(refreshes, asset) == (long long)i;
}

static int refresh_ok(const json_t *r)
{
    return json_is_string(json_object_get(r, "status")) &&
           !strcmp(json_string_value(json_object_get(r, "status")), "ok");
}

/*
 * After a rollback of a run whose marts were refreshed: whether they were refreshed again
 * since (`stale`: assets whose latest refresh came before the rollback).
 */
static int refreshed_before_rollback(const ctx *x)
{
    size_t i;
    json_t *r;

    /* A failed refresh changed nothing (each asset's refresh is all or nothing). */
    json_array_foreach(x->refreshes, i, r)
        if (refresh_ok(r) && json_integer_value(json_object_get(r, "at_us")) < x->rollback_at)
            return 1;
    return 0;
}

static const char *after_rollback(const ctx *x, int64_t refresh_failed, int64_t stale)
{
    if (!refreshed_before_rollback(x))
        return "";
    if (refresh_failed || stale)
        return "; downstream not refreshed since the rollback (rolling back again refreshes it)";
    return "; downstream refreshed again after the rollback";
}

static const char *status_sentence(const ctx *x, char *buf, size_t size, int64_t refresh_failed,
                                   int64_t stale)
{
    const bf_progress *p = &x->progress;
    const char *reason = json_string_value(json_object_get(x->pause, "reason"));
    bf_write_strategy ws = x->brief ? bf_brief_write_strategy(x->brief) : BF_WRITE_UNSET;
    /* Only the shadow patterns wait for a cutover; the others change the target as they go. */
    int in_place = ws != BF_WRITE_STAGING_SWAP && ws != BF_WRITE_PARALLEL_VERSION && !x->cutover;

    switch (p->state) {
    case BF_RUN_PLANNED:
        return "not started: no batch has run yet";
    case BF_RUN_RUNNING:
        bf__snprintf(buf, size, "running: %lld of %lld batches done; not finished",
                     (long long)(p->completed + p->validated), (long long)p->total);
        return buf;
    case BF_RUN_PAUSED:
        bf__snprintf(buf, size, "paused%s%s; not finished", reason && reason[0] ? ": " : "",
                     reason && reason[0] ? reason : "");
        return buf;
    case BF_RUN_CANCELLED:
        return "cancelled: the backfill was stopped before it finished";
    case BF_RUN_FAILED:
        bf__snprintf(buf, size, "failed: %lld batch%s failed for good; not finished",
                     (long long)p->failed, p->failed == 1 ? "" : "es");
        return buf;
    case BF_RUN_VALIDATING:
        return in_place ? "validating: every batch written into the target, the run-level checks "
                          "are running"
                        : "validating: every batch written, the checks are running; not yet cut over";
    case BF_RUN_AWAITING_APPROVAL:
        /* Batches rolled back one by one before approval: running again redoes them. */
        if (p->rolled_back) {
            bf__snprintf(buf, size, "awaiting approval, but %lld batch%s rolled back since: %s; "
                         "running the brief again redoes %s, and the run cannot be approved "
                         "before", (long long)p->rolled_back, p->rolled_back == 1 ? "" : "es",
                         in_place ? "the target holds the new rows of the other batches only"
                                  : "not yet cut over",
                         p->rolled_back == 1 ? "it" : "them");
            return buf;
        }
        return in_place ? "awaiting approval: the target already holds the new rows; downstream "
                          "not refreshed yet"
                        : "awaiting approval: not yet cut over";
    case BF_RUN_APPROVED:
        /* A refresh that failed stops the approval where it is: `approve` again goes on. */
        if (refresh_failed) {
            bf__snprintf(buf, size, "approved, but %lld downstream refresh%s failed; not finished "
                         "(approving again retries the refresh from there)",
                         (long long)refresh_failed, refresh_failed == 1 ? "" : "es");
            return buf;
        }
        return in_place ? "approved: downstream refresh under way; not finished"
                        : "approved: cutover and downstream refresh under way; not finished";
    case BF_RUN_COMPLETED:
        if (p->rolled_back) {
            bf__snprintf(buf, size, "completed, then %lld batch%s rolled back: the target keeps "
                         "the other batches' rows%s", (long long)p->rolled_back,
                         p->rolled_back == 1 ? "" : "es", after_rollback(x, refresh_failed, stale));
            return buf;
        }
        if (refresh_failed) {
            bf__snprintf(buf, size, "completed, but %lld downstream refresh%s failed",
                         (long long)refresh_failed, refresh_failed == 1 ? "" : "es");
            return buf;
        }
        return in_place ? "completed: approved and refreshed"
                        : "completed: approved, cut over and refreshed";
    case BF_RUN_ROLLED_BACK:
        bf__snprintf(buf, size, "rolled back: the table is as it was before the backfill%s",
                     after_rollback(x, refresh_failed, stale));
        return buf;
    }
    return "unknown";
}
/* Whether the brief gives downstream asset `name` a refresh_sql (what approval runs). */
static int has_refresh_sql(const bf_brief *b, const char *name)
{
    for (size_t i = 0; name && i < bf_brief_downstream_count(b); i++) {
        const char *sql = bf_brief_downstream_refresh_sql(b, i);

        if (strcmp(bf_brief_downstream_name(b, i), name) == 0)
            return sql && sql[0];
    }
    return 0;
}


static void item(json_t *list, const char *id, const char *title, int done, const char *evidence)
{
    json_array_append_new(list, json_pack("{s:s, s:s, s:b, s:s}", "item", id, "title", title,
                                          "done", done, "evidence", evidence));
}

static const char *text_or(const char *s, const char *fallback)
{
    return s && s[0] ? s : fallback;
}

static json_t *definition_of_done(const ctx *x, const json_t *facts, int64_t keyed, int64_t written,
                                  json_t *slice)
{
    const bf_brief *b = x->brief;
    const bf_progress *p = &x->progress;
    json_t *list = json_array();
    char ev[1024];
    const char *reason = bf_brief_reason(b), *op, *rev, *plan = bf_brief_rollback_plan(b);
    const json_t *radius = json_object_get(facts, "blast_radius");
    const json_t *runv = json_object_get(json_object_get(facts, "validation"), "run");
    bf_write_strategy ws = bf_brief_write_strategy(b);
    size_t nd = json_array_size(json_object_get(radius, "direct"));
    size_t ni = json_array_size(json_object_get(radius, "indirect"));
    int done;

    /* 1. A written brief with scope and reason. */
    done = reason && reason[0] && bf_brief_scope_kind(b) != BF_SCOPE_NONE;
    bf__snprintf(ev, sizeof ev, "scope: %s; reason: %s",
                 json_string_value(json_object_get(json_object_get(json_object_get(facts, "brief"),
                                                                   "period"), "text")),
                 text_or(reason, "not given"));
    item(list, "brief", "Written brief with scope and reason", done, ev);

    /* 2. One operator and one different reviewer. */
    op = json_string_value(json_object_get(x->approval, "operator"));
    if (!op || !op[0])
        op = bf_run_list_operator(x->runs, x->ri);
    rev = json_string_value(json_object_get(x->approval, "reviewer"));
    if (!rev || !rev[0])
        rev = bf_brief_reviewer(b);
    done = op && op[0] && rev && rev[0] && !bf__same_person(op, rev);
    if (op && rev && op[0] && rev[0] && bf__same_person(op, rev))
        bf__snprintf(ev, sizeof ev, "operator and reviewer are the same person: %s", op);
    else
        bf__snprintf(ev, sizeof ev, "operator %s, reviewer %s", text_or(op, "not recorded"),
                     text_or(rev, "not given"));
    item(list, "people", "One operator and one different reviewer", done, ev);

    /* 3. The blast radius is known. */
    done = json_is_true(json_object_get(radius, "known")) && bf_brief_downstream_count(b) > 0;
    if (!json_is_true(json_object_get(radius, "known")))
        bf__snprintf(ev, sizeof ev, "not worked out: %s",
                     text_or(json_string_value(json_object_get(radius, "error")), "?"));
    else if (!bf_brief_downstream_count(b))
        bf__snprintf(ev, sizeof ev, "%s", "no downstream assets listed in the brief");
    else
        bf__snprintf(ev, sizeof ev, "%zu direct and %zu indirect downstream asset%s listed", nd, ni,
                     nd + ni == 1 ? "" : "s");
    item(list, "blast_radius", "Blast radius known (downstream listed)", done, ev);

    /* 4. A safe, idempotent write pattern. */
    done = ws && ws != BF_WRITE_APPEND && written > 0 && keyed == written;
    if (!ws)
        bf__snprintf(ev, sizeof ev, "%s", "no write strategy in the brief");
    else if (ws == BF_WRITE_APPEND)
        bf__snprintf(ev, sizeof ev, "append: running a batch twice would add its rows twice; "
                                    "idempotency keys recorded for %lld of %lld written batches",
                     (long long)keyed, (long long)written);
    else
        bf__snprintf(ev, sizeof ev, "%s; idempotency keys recorded for %lld of %lld written batches",
                     bf_write_strategy_name(ws), (long long)keyed, (long long)written);
    item(list, "idempotent_write", "Safe idempotent write pattern", done, ev);

    /* 5. A rollback path. */
    {
        int kept = bf_brief_snapshot(b) || ws == BF_WRITE_STAGING_SWAP || ws == BF_WRITE_PARALLEL_VERSION;
        done = kept && plan && plan[0];
        bf__snprintf(ev, sizeof ev, "%s; plan: %s",
                     bf_brief_snapshot(b) ? "pre-images kept (snapshot on)"
                     : kept ? "the old table is kept until cutover"
                            : "no pre-images kept (snapshot off)",
                     text_or(plan, "not given"));
        item(list, "rollback", "Rollback path", done, ev);
    }

    /* 6. The test slice ran first. */
    if (json_is_null(slice) || !slice)
        bf__snprintf(ev, sizeof ev, "%s", "not recorded");
    else if (!strcmp(json_string_value(json_object_get(slice, "source")), "run"))
        bf__snprintf(ev, sizeof ev, "run %lld (%s" BF__SLICE_RUN_SUFFIX "), %s",
                     (long long)json_integer_value(json_object_get(slice, "run")),
                     bf_run_list_brief_name(x->runs, x->ri),
                     json_string_value(json_object_get(slice, "state")));
    else
        bf__snprintf(ev, sizeof ev, "slice record in the run's log (%lld batches)",
                     (long long)json_integer_value(json_object_get(json_object_get(slice, "detail"),
                                                                   "batches")));
    item(list, "test_slice", "Test slice run first", slice && !json_is_null(slice), ev);

    /* 7. Every batch validated. */
    done = p->total > 0 && p->validated == p->total;
    bf__snprintf(ev, sizeof ev, "%lld of %lld batches validated (%lld failed, %lld not written)",
                 (long long)p->validated, (long long)p->total, (long long)p->failed,
                 (long long)(p->pending + p->running + p->cancelled));
    item(list, "batches_validated", "All batches validated", done, ev);

    /* 8. The run-level checks passed. */
    done = json_is_true(json_object_get(runv, "passed"));
    if (json_is_null(runv) || !runv)
        bf__snprintf(ev, sizeof ev, "%s", "not recorded");
    else {
        const json_t *c = json_object_get(runv, "counts");
        bf__snprintf(ev, sizeof ev, "%s: %lld pass, %lld warn, %lld fail, %lld error",
                     done ? "passed" : "failed", (long long)json_integer_value(json_object_get(c, "pass")),
                     (long long)json_integer_value(json_object_get(c, "warn")),
                     (long long)json_integer_value(json_object_get(c, "fail")),
                     (long long)json_integer_value(json_object_get(c, "error")));
    }
    item(list, "run_validation", "Run-level validation passed", done, ev);

    /* 9. Approval recorded before cutover. */
    if (!x->approval) {
        done = 0;
        bf__snprintf(ev, sizeof ev, "%s", x->cutover ? "cut over without a recorded approval"
                                                     : "no approval recorded");
    } else {
        char iso[48], local[96];
        const char *who = json_string_value(json_object_get(x->approval, "reviewer"));
        bf_write_strategy ws = bf_brief_write_strategy(x->brief);
        int in_place = ws != BF_WRITE_STAGING_SWAP && ws != BF_WRITE_PARALLEL_VERSION;

        bf__report_iso(iso, sizeof iso, x->approval_at);
        local_text(local, sizeof local, x, x->approval_at);
        done = !x->cutover || x->approval_at <= x->cutover_at;
        bf__snprintf(ev, sizeof ev, "approved by %s at %s (%s)%s",
                     text_or(who, text_or(json_string_value(json_object_get(x->approval, "actor")), "?")),
                     iso, local,
                     !x->cutover ? (in_place ? "; no cutover: the target is written in place"
                                             : "; not cut over yet")
                     : done      ? ", before the cutover"
                                 : ", after the cutover");
    }
    item(list, "approval", "Approval recorded before cutover", done, ev);

    /*
     * 10. Downstream refreshed in order: every asset of the refresh order
     * that approval refreshes (those with a refresh_sql), ok, in that order.
     * The others (a view, an asset refreshed by its own schedule) are listed.
     */
    {
        const json_t *order = json_object_get(radius, "refresh_order");
        size_t n = 0, ok = 0, own = 0, k;
        long long last_seq = -1;
        int in_order = 1;
        const json_t *name;

        json_array_foreach(order, k, name) {
            long long seq;

            if (!has_refresh_sql(x->brief, json_string_value(name))) {
                own++;
                continue;
            }
            n++;
            if ((seq = latest_refresh(x->refreshes, json_string_value(name))) < 0)
                continue;
            if (refresh_ok(json_array_get(x->refreshes, (size_t)seq)) &&
                json_integer_value(json_object_get(json_array_get(x->refreshes, (size_t)seq),
                                                   "at_us")) >= x->rollback_at)
                ok++;
            if (seq < last_seq)
                in_order = 0;
            last_seq = seq;
        }
        done = ok == n && in_order;
        if (!n)
            bf__snprintf(ev, sizeof ev, "nothing downstream to refresh%s",
                         own ? " by approval (no asset has a refresh_sql)" : "");
        else
            bf__snprintf(ev, sizeof ev, "%zu of %zu refreshed%s%s", ok, n,
                         refreshed_before_rollback(x) ? " since the rollback" : "",
                         in_order ? "" : ", not in dependency order");
        if (own) {
            size_t len = strlen(ev);

            bf__snprintf(ev + len, sizeof ev - len, "; %zu without a refresh_sql, current on "
                         "their own", own);
        }
        item(list, "refresh", "Downstream refreshed in order", done, ev);
    }

    /* 11. This change note. */
    item(list, "change_note", "Change note written", 1, "this document");
    return list;
}

/* ---- gathering ---- */

static void ctx_free(ctx *x)
{
    json_decref(x->brief_doc);
    bf_tz_free(x->tz);
    bf_lineage_free(x->lineage);
    bf_validation_list_free(x->vals);
    bf_event_list_free(x->events);
    bf_batch_list_free(x->batches);
    bf__free(x->by_id);
    bf_run_list_free(x->runs);
    bf_run_free(x->run);
    json_decref(x->approval);
    json_decref(x->cutover);
    json_decref(x->slice);
    json_decref(x->pause);
    json_decref(x->refreshes);
}

/* The brief's zone, lineage and JSON: what any report needs. */
static int prepare_brief(ctx *x)
{
    const char *zone = bf_brief_scope_timezone(x->brief);
    char *text = NULL;
    int rc;

    if (zone) {
        rc = bf_tz_load(&x->tz, zone);
        if (rc == BF_E_NOMEM)
            return rc;
        if (rc != BF_OK)
            x->tz = NULL; /* the period still names the zone; times are shown in UTC */
    }
    rc = bf_lineage_new(&x->lineage, x->brief);
    if (rc == BF_E_NOMEM)
        return rc;
    if (rc != BF_OK) {
        x->lineage = NULL;
        bf__snprintf(x->lineage_msg, sizeof x->lineage_msg, "%s", bf_last_error());
        x->lineage_error = x->lineage_msg;
    }
    if ((rc = bf_brief_save_json(&text, x->brief)) != BF_OK)
        return rc;
    x->brief_doc = bf__json_loads(text, 0, NULL);
    bf_free(text);
    return BF_OK;
}

static const char *const stage_keys[][13] = {
    [BF_REPORT_BEFORE] = {"brief", "when", "blast_radius", NULL},
    [BF_REPORT_DURING] = {"brief", "when", "blast_radius", "progress", "batches", NULL},
    [BF_REPORT_AFTER] = {"brief", "when", "blast_radius", "progress", "batches", "validation",
                         "metric_totals", "metrics", "refresh", "approval", "cutover",
                         "definition_of_done", NULL},
};

/* Keep only the sections of the stage (plus format, stage, run and status). */
static void keep_stage(json_t *facts, bf_report_stage stage)
{
    static const char *const all[] = {"brief", "when", "blast_radius", "progress", "batches",
                                      "validation", "metric_totals", "metrics", "refresh", "approval",
                                      "cutover", "definition_of_done"};

    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        int keep = 0;
        for (size_t k = 0; stage_keys[stage][k]; k++)
            if (!strcmp(stage_keys[stage][k], all[i]))
                keep = 1;
        if (!keep)
            json_object_del(facts, all[i]);
    }
}

static int gather_run(ctx *x, json_t *facts)
{
    json_t *metrics = json_array(), *slice;
    int64_t keyed, written, refresh_failed = 0, stale = 0;
    char sentence[1024];
    size_t i;
    json_t *r;

    json_object_set_new(facts, "run", run_facts(x));
    json_object_set_new(facts, "progress", progress_facts(x));
    json_object_set_new(facts, "batches", batch_facts(x, &keyed, &written));
    json_object_set_new(facts, "validation", validation_facts(x, metrics));
    json_object_set_new(facts, "metric_totals", metric_totals(metrics));
    json_object_set_new(facts, "metrics", metrics);
    /* Each refresh record's instant, and whether it is its asset's latest: only those count. */
    json_array_foreach(x->refreshes, i, r) {
        int latest = refresh_is_latest(x->refreshes, i);
        put_time(r, x, "at", (int64_t)json_integer_value(json_object_get(r, "at_us")));
        json_object_set_new(r, "latest", json_boolean(latest));
        if (latest && json_is_string(json_object_get(r, "status")) && !refresh_ok(r))
            refresh_failed++;
        else if (latest && json_integer_value(json_object_get(r, "at_us")) < x->rollback_at)
            stale++;
    }
    json_object_set(facts, "refresh", x->refreshes);
    if (x->approval) {
        json_t *a = json_deep_copy(x->approval);
        put_time(a, x, "at", x->approval_at);
        json_object_set_new(facts, "approval", a);
    } else {
        json_object_set_new(facts, "approval", json_null());
    }
    if (x->cutover) {
        json_t *c = json_deep_copy(x->cutover);
        put_time(c, x, "at", x->cutover_at);
        json_object_set_new(facts, "cutover", c);
    } else {
        json_object_set_new(facts, "cutover", json_null());
    }
    json_object_set_new(facts, "status",
                        json_string(status_sentence(x, sentence, sizeof sentence, refresh_failed,
                                                stale)));
    json_object_set_new(facts, "pause_reason",
                        x->pause && x->progress.state == BF_RUN_PAUSED
                            ? json_incref(json_object_get(x->pause, "reason")) : json_null());
    slice = test_slice(x);
    json_object_set_new(facts, "test_slice", json_incref(slice));
    json_object_set_new(facts, "definition_of_done",
                        definition_of_done(x, facts, keyed, written, slice));
    json_decref(slice);
    return BF_OK;
}

static int open_run(ctx *x, int64_t run_id)
{
    const char *text;
    bf_brief *brief = NULL;
    int rc;

    if ((rc = bf_run_open(&x->run, x->ledger, run_id)) != BF_OK)
        return rc;
    /* A test slice's run wrote scratch copies: no one's numbers moved, nothing to note. */
    if (bf__slice_run_name(bf_run_brief_name(x->run)))
        return bf__error(BF_E_INVALID, "run %lld (%s) is a test slice: it wrote scratch copies, "
                         "never the target, so it moved no one's numbers; the change note is the "
                         "brief's own run's, whose checklist cites the slice (backfill status %lld "
                         "shows the slice's batches)", (long long)run_id,
                         bf_run_brief_name(x->run), (long long)run_id);
    if ((rc = bf_ledger_runs(&x->runs, x->ledger, NULL)) != BF_OK)
        return rc;
    for (x->ri = 0; x->ri < bf_run_list_count(x->runs); x->ri++)
        if (bf_run_list_id(x->runs, x->ri) == run_id)
            break;
    if (x->ri == bf_run_list_count(x->runs))
        return bf__error(BF_E_NOT_FOUND, "report: run %lld is not in the ledger %s",
                         (long long)run_id, bf_ledger_path(x->ledger));
    text = bf_run_list_brief_json(x->runs, x->ri);
    rc = bf_brief_load_json(&brief, text ? text : "{}", text ? strlen(text) : 2);
    if (rc == BF_E_NOMEM)
        return rc;
    if (rc != BF_OK)
        return bf__error(rc, "report: the brief recorded with run %lld does not load: %s",
                         (long long)run_id, bf_last_error());
    x->brief = brief;
    if ((rc = bf_run_batches(&x->batches, x->run, -1)) != BF_OK ||
        (rc = index_batches(x)) != BF_OK || (rc = bf_run_events(&x->events, x->run)) != BF_OK)
        return rc;
    rc = bf_run_validations(&x->vals, x->run, -1);
    if (rc == BF_E_UNSUPPORTED)
        rc = BF_OK; /* a store that keeps no validation results: none recorded */
    if (rc != BF_OK)
        return rc;
    x->progress.version = BF_PROGRESS_VERSION;
    if ((rc = bf_progress_init(&x->progress, BF_PROGRESS_VERSION)) != BF_OK ||
        (rc = bf_run_progress(&x->progress, x->run)) != BF_OK)
        return rc;
    x->refreshes = json_array();
    return x->refreshes ? BF_OK : bf__nomem();
}

int bf__report_facts(json_t **out, const bf_brief *brief, bf_ledger *ledger, int64_t run_id,
                     bf_report_stage stage)
{
    ctx x;
    json_t *facts = NULL;
    bf_brief *owned = NULL;
    int rc;

    memset(&x, 0, sizeof x);
    *out = NULL;
    x.brief = brief;
    x.ledger = ledger;
    if (ledger) {
        rc = open_run(&x, run_id);
        owned = (bf_brief *)(x.brief != brief ? x.brief : NULL);
        if (rc != BF_OK)
            goto done;
    }
    /* The zone first: every instant below is rendered in it. */
    if ((rc = prepare_brief(&x)) != BF_OK || (ledger && (rc = read_records(&x)) != BF_OK))
        goto done;
    facts = json_object();
    if (!facts || !x.brief_doc) {
        rc = bf__nomem();
        goto done;
    }
    json_object_set_new(facts, "format", json_string("backfill-report/1"));
    json_object_set_new(facts, "stage", json_string(bf_report_stage_name(stage)));
    json_object_set_new(facts, "brief", brief_facts(&x));
    /* A run's brief may be a bare one (a host without briefs): the run still has its name. */
    if (ledger && !bf_brief_name(x.brief))
        json_object_set_new(json_object_get(facts, "brief"), "name",
                            str_or_null(bf_run_list_brief_name(x.runs, x.ri)));
    json_object_set_new(facts, "when", when(&x));
    json_object_set_new(facts, "blast_radius", blast_radius(&x));
    if (ledger) {
        if ((rc = gather_run(&x, facts)) != BF_OK)
            goto done;
    } else {
        json_object_set_new(facts, "run", json_null());
        json_object_set_new(facts, "status", json_string("not started: no run exists yet"));
    }
    keep_stage(facts, stage);
    *out = facts;
    facts = NULL;
done:
    json_decref(facts);
    ctx_free(&x);
    bf_brief_free(owned);
    return rc;
}
