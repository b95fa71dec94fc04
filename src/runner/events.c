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

static void progress_json(bf__sb *sb, const bf_progress *p)
{
    const struct {
        const char *key;
        int64_t value;
    } counts[] = {
        {"total", p->total},
        {"done", p->completed + p->validated},
        {"validated", p->validated},
        {"pending", p->pending},
        {"running", p->running},
        {"failed", p->failed},
        {"rows_written", p->rows_written},
        {"rows_deleted", p->rows_deleted},
    };
    int n = 0;

    bf__sb_appendc(sb, '{');
    bf__jw_member(sb, &n, "state");
    bf__jw_str(sb, bf_run_state_name(p->state));
    for (size_t i = 0; i < BF_ARRAY_LEN(counts); i++) {
        bf__jw_member(sb, &n, counts[i].key);
        bf__jw_int(sb, counts[i].value);
    }
    bf__jw_member(sb, &n, "elapsed_s");
    bf__jw_real(sb, p->elapsed_s);
    bf__jw_member(sb, &n, "eta_s");
    if (p->eta_s >= 0)
        bf__jw_real(sb, p->eta_s);
    else
        bf__sb_append(sb, "null");
    bf__sb_appendc(sb, '}');
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
    bf__sb sb;
    char *json = NULL;
    int have_progress = given != NULL, n = 0;

    if (!r || !r->on_event)
        return;
    if (given)
        progress = *given;
    /*
     * The event as one JSON object, written straight into a buffer: a host
     * receives one or two events per batch, and building Jansson values to
     * dump them cost a run of trivial batches about a sixth of its time.
     */
    bf__sb_init(&sb);
    bf__sb_appendc(&sb, '{');
    bf__jw_member(&sb, &n, "format");
    bf__jw_str(&sb, "backfill-event/1");
    bf__jw_member(&sb, &n, "event");
    bf__jw_str(&sb, bf_run_event_name(kind));
    bf__jw_member(&sb, &n, "run");
    if (run)
        bf__jw_int(&sb, bf_run_id(run));
    else
        bf__sb_append(&sb, "null");
    bf__jw_member(&sb, &n, "brief");
    bf__jw_str(&sb, run ? bf_run_brief_name(run) : NULL);
    bf__jw_member(&sb, &n, "at_us");
    bf__jw_int(&sb, bf__runner_now_us());
    if (batch_id) {
        bf__jw_member(&sb, &n, "batch_id");
        bf__jw_int(&sb, batch_id);
        bf__jw_member(&sb, &n, "batch");
        bf__jw_str(&sb, label);
    }
    if (kind == BF_RUN_EVENT_BATCH_DONE) {
        bf__jw_member(&sb, &n, "rows_written");
        bf__jw_int(&sb, rows_written);
        bf__jw_member(&sb, &n, "rows_deleted");
        bf__jw_int(&sb, rows_deleted);
    }
    if (kind == BF_RUN_EVENT_BATCH_DONE || kind == BF_RUN_EVENT_BATCH_FAILED) {
        bf__jw_member(&sb, &n, "duration_s");
        bf__jw_real(&sb, duration_s);
    }
    bf__jw_member(&sb, &n, "message");
    bf__jw_str(&sb, message);
    if (have_progress) {
        bf__jw_member(&sb, &n, "progress");
        progress_json(&sb, &progress);
    }
    bf__sb_appendc(&sb, '}');
    if (bf__sb_finish(&sb, &json) != BF_OK)
        json = NULL;
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
