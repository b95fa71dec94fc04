/*
 * Run events: their names, their JSON, and the call into the host's
 * callback. Events are emitted only on the thread that called the runner.
 */
#include <string.h>

#include "common/json.h"
#include "runner/runner_internal.h"

static const char *const event_names[] = {
    "started",           "batch_started", "batch_done",  "batch_failed", "lease_lost",
    "throttled",         "waiting",       "paused",      "cancelled",    "failed",
    "awaiting_approval", "approved",      "refreshed",   "rolled_back",  "done",
    "resized",           "progress",      "stopped",
};

const char *bf_run_event_name(bf_run_event_kind kind)
{
    if ((int)kind < 0 || (size_t)kind >= BF_ARRAY_LEN(event_names))
        return NULL;
    return event_names[kind];
}

static json_t *progress_json(const bf_progress *p)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    json_object_set_new(o, "state", json_string(bf_run_state_name(p->state)));
    json_object_set_new(o, "total", json_integer(p->total));
    json_object_set_new(o, "done", json_integer(p->completed + p->validated));
    json_object_set_new(o, "validated", json_integer(p->validated));
    json_object_set_new(o, "pending", json_integer(p->pending));
    json_object_set_new(o, "running", json_integer(p->running));
    json_object_set_new(o, "failed", json_integer(p->failed));
    json_object_set_new(o, "rows_written", json_integer(p->rows_written));
    json_object_set_new(o, "rows_deleted", json_integer(p->rows_deleted));
    json_object_set_new(o, "elapsed_s", json_real(p->elapsed_s));
    json_object_set_new(o, "eta_s", p->eta_s >= 0 ? json_real(p->eta_s) : json_null());
    return o;
}

void bf__runner_emit(bf_runner *r, bf_run *run, bf_run_event_kind kind, int64_t batch_id,
                     const char *label, int64_t rows_written, int64_t rows_deleted,
                     double duration_s, const char *message)
{
    bf_progress progress = BF_PROGRESS_INIT;

    if (!r || !r->on_event)
        return;
    bf__runner_emit_with(r, run, run && bf_run_progress(&progress, run) == BF_OK ? &progress : NULL,
                         kind, batch_id, label, rows_written, rows_deleted, duration_s, message);
}

void bf__runner_emit_with(bf_runner *r, bf_run *run, const bf_progress *given,
                          bf_run_event_kind kind, int64_t batch_id, const char *label,
                          int64_t rows_written, int64_t rows_deleted, double duration_s,
                          const char *message)
{
    bf_progress progress = BF_PROGRESS_INIT;
    bf_run_event ev;
    json_t *o;
    char *json = NULL;
    int have_progress = given != NULL;

    if (!r || !r->on_event)
        return;
    if (given)
        progress = *given;
    o = json_object();
    if (o) {
        json_object_set_new(o, "format", json_string("backfill-event/1"));
        json_object_set_new(o, "event", json_string(bf_run_event_name(kind)));
        json_object_set_new(o, "run", run ? json_integer(bf_run_id(run)) : json_null());
        json_object_set_new(o, "brief", run && bf_run_brief_name(run)
                                            ? json_string(bf_run_brief_name(run)) : json_null());
        json_object_set_new(o, "at_us", json_integer(bf__runner_now_us()));
        if (batch_id) {
            json_object_set_new(o, "batch_id", json_integer(batch_id));
            json_object_set_new(o, "batch", label ? json_string(label) : json_null());
        }
        if (kind == BF_RUN_EVENT_BATCH_DONE) {
            json_object_set_new(o, "rows_written", json_integer(rows_written));
            json_object_set_new(o, "rows_deleted", json_integer(rows_deleted));
        }
        if (kind == BF_RUN_EVENT_BATCH_DONE || kind == BF_RUN_EVENT_BATCH_FAILED)
            json_object_set_new(o, "duration_s", json_real(duration_s));
        json_object_set_new(o, "message", message ? json_string(message) : json_null());
        if (have_progress)
            json_object_set_new(o, "progress", progress_json(&progress));
        if (bf__json_dump(&json, o, JSON_COMPACT) != BF_OK)
            json = NULL;
        json_decref(o);
    }
    memset(&ev, 0, sizeof ev);
    ev.version = BF_RUN_EVENT_VERSION;
    ev.kind = kind;
    ev.run_id = run ? bf_run_id(run) : 0;
    ev.batch_id = batch_id;
    ev.batch_label = label;
    ev.rows_written = rows_written;
    ev.rows_deleted = rows_deleted;
    ev.duration_s = duration_s;
    ev.progress = have_progress ? &progress : NULL;
    ev.message = message;
    ev.json = json ? json : "{}";
    r->on_event(r->event_userdata, &ev);
    bf_free(json);
}
