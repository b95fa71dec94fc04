/*
 * The runner through a host's own driver (an in-memory warehouse behind a
 * custom driver vtable) and a host's own scheduler (a queue that the test
 * drains on threads of its own): every batch published once with its fence
 * token, events in order, a lost lease never published, a failed attempt
 * retried, a failing custom check pausing the run with its sentence, a stop
 * leaving the run resumable, and a second run of the same job re-publishing
 * nothing.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/scheduler.h"
#include "backfill/sys/validator.h"
#include "bftest.h"
#include "memdriver.h"

static char dir[256], ledger_path[300];

static void setup(void)
{
    snprintf(dir, sizeof dir, "/tmp/bf-runner-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(ledger_path, sizeof ledger_path, "%s/ledger.db", dir);
}

static void teardown(void)
{
    char cmd[300];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/*
 * ---- a host scheduler: a queue, drained by two threads of the host ----
 * Each task claims a batch on its worker's ledger handle and does it.
 */

struct hostq {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    bf_task_fn fn[4096];
    void *arg[4096];
    size_t head, tail;
    int started, stopping, drained_calls, stop_calls;
    unsigned workers;
    size_t submitted;
    pthread_t threads[2];
    int fail_start, fail_submit, fail_drain; /* a code to fail that member with, or 0 */
};

static void *hostq_main(void *ud)
{
    struct hostq *q = ud;

    pthread_mutex_lock(&q->lock);
    for (;;) {
        while (q->head == q->tail && !q->stopping)
            pthread_cond_wait(&q->cond, &q->lock);
        if (q->head == q->tail)
            break;
        {
            bf_task_fn fn = q->fn[q->head % 4096];
            void *arg = q->arg[q->head % 4096];

            q->head++;
            pthread_mutex_unlock(&q->lock);
            fn(arg);
            pthread_mutex_lock(&q->lock);
        }
    }
    pthread_mutex_unlock(&q->lock);
    return NULL;
}

static int hostq_start(void *ud, unsigned workers)
{
    struct hostq *q = ud;

    if (q->fail_start)
        return q->fail_start; /* and no message: the runner must name the member */
    q->workers = workers;
    q->started++;
    q->stopping = 0;
    for (int i = 0; i < 2; i++)
        pthread_create(&q->threads[i], NULL, hostq_main, q);
    return BF_OK;
}

static int hostq_submit(void *ud, bf_task_fn fn, void *arg)
{
    struct hostq *q = ud;

    if (q->fail_submit)
        return q->fail_submit;
    pthread_mutex_lock(&q->lock);
    q->fn[q->tail % 4096] = fn;
    q->arg[q->tail % 4096] = arg;
    q->tail++;
    q->submitted++;
    pthread_cond_signal(&q->cond);
    pthread_mutex_unlock(&q->lock);
    return BF_OK;
}

static int hostq_drain(void *ud)
{
    struct hostq *q = ud;

    pthread_mutex_lock(&q->lock);
    q->stopping = 1;
    q->drained_calls++;
    pthread_cond_broadcast(&q->cond);
    pthread_mutex_unlock(&q->lock);
    for (int i = 0; i < 2; i++)
        pthread_join(q->threads[i], NULL);
    if (q->fail_drain)
        return bf_error_set(q->fail_drain, "the host's queue lost track of %zu tasks", (size_t)2);
    return BF_OK;
}

static void hostq_stop(void *ud)
{
    ((struct hostq *)ud)->stop_calls++;
}

static void hostq_init(struct hostq *q)
{
    memset(q, 0, sizeof *q);
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->cond, NULL);
}

/* ---- events ---- */

struct seen {
    int count[32];
    char order[4096];
    char last_message[1024];
    bf_runner *stop_after_first; /* stop this runner at the first batch_done */
    int64_t last_done;           /* done batches in the last batch_done's progress */
    int miscounted;              /* batch_done events whose progress counted too few or many */
    int64_t last_running;        /* running batches in the last batch_started's progress */
};

/*
 * The member `key` of an event's JSON holds `value` in the fewest
 * significant digits that read back to it (0.032215, not
 * 0.032215000000000001), as every JSON text of the library does.
 */
static void check_real_member(const char *json, const char *key, double value)
{
    char pattern[64], text[64], shorter[400];
    const char *at, *p;
    size_t len;
    int digits = 0, zeros = 0, leading = 1;

    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    at = strstr(json, pattern);
    ck_assert_msg(at != NULL, "no %s in %s", key, json);
    at += strlen(pattern);
    len = strspn(at, "-0123456789.e");
    ck_assert_msg(len > 0 && len < sizeof text, "%s: not a number in %s", key, json);
    memcpy(text, at, len);
    text[len] = '\0';
    ck_assert_msg(strtod(text, NULL) == value, "%s: %s does not read back as %.17g", key, text,
                  value);
    ck_assert_msg(strpbrk(text, ".e") != NULL, "%s: %s does not read as a real", key, text);
    for (p = text; *p && *p != 'e'; p++) {
        if (*p < '0' || *p > '9' || (leading && *p == '0'))
            continue;
        leading = 0;
        digits++;
        zeros = *p == '0' ? zeros + 1 : 0;
    }
    digits -= zeros;
    if (digits > 1) {
        snprintf(shorter, sizeof shorter, "%.*g", digits - 1, value);
        ck_assert_msg(strtod(shorter, NULL) != value, "%s: %s, but %s reads back the same", key,
                      text, shorter);
    }
}

static void on_event(void *ud, const bf_run_event *ev)
{
    struct seen *s = ud;

    ck_assert_int_eq(ev->version, BF_RUN_EVENT_VERSION);
    ck_assert_ptr_nonnull(ev->json);
    ck_assert_ptr_nonnull(strstr(ev->json, "\"format\":\"backfill-event/1\""));
    ck_assert_ptr_nonnull(strstr(ev->json, bf_run_event_name(ev->kind)));
    if (ev->kind == BF_RUN_EVENT_BATCH_DONE || ev->kind == BF_RUN_EVENT_BATCH_FAILED)
        check_real_member(ev->json, "duration_s", ev->duration_s);
    if (ev->progress) {
        check_real_member(ev->json, "elapsed_s", ev->progress->elapsed_s);
        if (ev->progress->eta_s >= 0)
            check_real_member(ev->json, "eta_s", ev->progress->eta_s);
    }
    s->count[ev->kind]++;
    if (ev->kind != BF_RUN_EVENT_PROGRESS && strlen(s->order) < sizeof s->order - 40) {
        strcat(s->order, bf_run_event_name(ev->kind));
        strcat(s->order, " ");
    }
    if (ev->message)
        snprintf(s->last_message, sizeof s->last_message, "%s", ev->message);
    if (ev->kind == BF_RUN_EVENT_BATCH_DONE && ev->progress) {
        int64_t done = ev->progress->completed + ev->progress->validated;

        /*
         * Fresh runs in one process: at least the batch_done events told so
         * far (this one included), at most one more per other worker (a batch
         * completed in the ledger, not told yet), and never fewer than before.
         */
        s->miscounted += done < s->count[BF_RUN_EVENT_BATCH_DONE] ||
                         done > s->count[BF_RUN_EVENT_BATCH_DONE] + 1 || done < s->last_done;
        s->last_done = done;
    }
    if (ev->kind == BF_RUN_EVENT_BATCH_STARTED && ev->progress)
        s->last_running = ev->progress->running;
    if (ev->kind == BF_RUN_EVENT_BATCH_DONE && s->stop_after_first)
        bf_runner_stop(s->stop_after_first);
}

/* ---- the job ---- */

static bf_plan *key_plan(int64_t keys, int64_t width)
{
    bf_planner *p;
    bf_plan *plan;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, "k", 0, keys), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, width), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
    bf_planner_free(p);
    return plan;
}

/* The seconds a batch should take (adaptive sizing) for the next runner made; 0: none. */
static double target_s;

static const char *const key[] = {"k"};
static const char *const cols[] = {"v"};

static bf_runner *make_runner(memwh *w, struct hostq *q, struct seen *s, unsigned workers,
                              unsigned flags)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_scheduler_vtable vt = BF_SCHEDULER_VTABLE_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_runner *r;

    vt.start = hostq_start;
    vt.submit = hostq_submit;
    vt.drain = hostq_drain;
    vt.stop = hostq_stop;
    lo.durability = BF_DURABILITY_NORMAL;
    o.ledger_path = ledger_path;
    o.ledger_options = &lo;
    o.open_driver = memwh_open;
    o.driver_userdata = w;
    o.workers = workers;
    o.scheduler = q ? &vt : NULL;
    o.scheduler_userdata = q;
    o.on_event = on_event;
    o.event_userdata = s;
    o.poll_s = 0.02;
    o.flags = flags;
    o.target_batch_s = target_s;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_OK);
    return r;
}

static void set_job_attempts(bf_runner *r, const bf_plan *plan, bf_validator *v, double lease_s,
                             unsigned attempts);

static void set_job(bf_runner *r, const bf_plan *plan, bf_validator *v, double lease_s)
{
    set_job_attempts(r, plan, v, lease_s, 3);
}

static void set_job_attempts(bf_runner *r, const bf_plan *plan, bf_validator *v, double lease_s,
                             unsigned attempts)
{
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_run_spec rs = BF_RUN_SPEC_INIT;

    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.columns = cols;
    spec.column_count = 1;
    spec.select = "SELECT k, k * 10 + 1 FROM src WHERE k >= :lo AND k < :hi";
    spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    spec.snapshot = 1;
    rs.brief_name = "mem-fix";
    rs.code_version = "v1";
    rs.max_concurrency = 2;
    rs.max_attempts = attempts;
    rs.retry_backoff_s = 0;
    rs.lease_s = lease_s;
    ck_assert_int_eq(bf_runner_set_job(r, plan, &spec, &rs, v), BF_OK);
}

static bf_run *open_run(bf_ledger **l, int64_t id)
{
    bf_run *run;

    ck_assert_int_eq(bf_ledger_open(l, ledger_path, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, *l, id), BF_OK);
    return run;
}

START_TEST(every_batch_is_published_once_through_the_hosts_scheduler_and_driver)
{
    memwh *w = memwh_new(1000, 64);
    struct hostq q;
    struct seen s;
    bf_plan *plan = key_plan(1000, 25); /* 40 batches */
    bf_runner *r;
    bf_ledger *l;
    bf_run *run;
    bf_progress p = BF_PROGRESS_INIT;
    int64_t id;

    memset(&s, 0, sizeof s);
    hostq_init(&q);
    r = make_runner(w, &q, &s, 2, 0);
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    ck_assert_int_gt(id, 0);
    /* The host's scheduler ran every task, once started, drained and stopped. */
    ck_assert_int_eq(q.started, 1);
    ck_assert_uint_eq(q.workers, 2);
    /* A task per batch, and a few that found nothing left to claim. */
    ck_assert_uint_ge(q.submitted, 40);
    ck_assert_uint_le(q.submitted, 40 + 4);
    ck_assert_int_eq(q.drained_calls, 1);
    ck_assert_int_eq(q.stop_calls, 1);
    /* Each batch published exactly once, with the first claim's token, and every key written. */
    for (size_t i = 0; i < 40; i++) {
        ck_assert_int_eq(w->publishes[i], 1);
        ck_assert_int_eq(w->fence[i], 1);
    }
    for (int64_t k = 0; k < 1000; k++)
        ck_assert_int_eq(w->v[k], k * 10 + 1);
    /* One driver for the runner, and one per worker slot. */
    ck_assert_int_eq(w->drivers, 3);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_STARTED], 1);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_BATCH_STARTED], 40);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_BATCH_DONE], 40);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_AWAITING_APPROVAL], 1);
    /* Each batch_done's progress counts the batches done, with two workers racing. */
    ck_assert_int_eq(s.miscounted, 0);
    ck_assert_int_eq(s.last_done, 40);
    ck_assert_int_ge(s.last_running, 1);
    ck_assert_int_le(s.last_running, 2);
    ck_assert_ptr_nonnull(strstr(s.order, "started batch_started"));
    ck_assert_str_eq(s.order + strlen(s.order) - strlen("awaiting_approval "),
                     "awaiting_approval ");
    run = open_run(&l, id);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.state, BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(p.validated, 40);
    ck_assert_int_eq(p.rows_written, 1000);
    bf_run_free(run);
    bf_ledger_close(l);

    /* The same job again, in a new run: nothing is published a second time. */
    bf_runner_free(r);
    memset(&s, 0, sizeof s);
    hostq_init(&q);
    r = make_runner(w, &q, &s, 2, BF_RUNNER_NEW);
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    for (size_t i = 0; i < 40; i++)
        ck_assert_int_eq(w->publishes[i], 1);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_BATCH_DONE], 40);
    ck_assert_ptr_nonnull(strstr(s.last_message, "every batch validated"));
    run = open_run(&l, id);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.validated, 40);
    ck_assert_int_eq(p.rows_written, 0);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

START_TEST(a_lost_lease_never_publishes_and_a_failed_attempt_is_retried)
{
    memwh *w = memwh_new(100, 16);
    struct seen s;
    bf_plan *plan = key_plan(100, 10);
    bf_runner *r;
    int64_t id;

    memset(&s, 0, sizeof s);
    w->refuse_once = 3;
    w->fail_once = 5;
    r = make_runner(w, NULL, &s, 1, 0); /* the built-in pool */
    set_job(r, plan, NULL, 1);          /* a 1 s lease: the lost one expires soon */
    ck_assert_msg(bf_runner_run(r, &id) == BF_OK, "%s", bf_runner_last_error(r));
    ck_assert_int_eq(s.count[BF_RUN_EVENT_LEASE_LOST], 1);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_BATCH_FAILED], 1);
    ck_assert_ptr_nonnull(strstr(s.order, "lease_lost"));
    /* Batch 3's first publish was refused by the fence: it published once, later, with a
       newer token; batch 5 failed once and was retried. */
    ck_assert_int_eq(w->publishes[3], 1);
    ck_assert_int_eq(w->stages[3], 2);
    ck_assert_int_eq(w->publishes[5], 1);
    ck_assert_int_eq(w->stages[5], 2);
    for (int64_t k = 0; k < 100; k++)
        ck_assert_int_eq(w->v[k], k * 10 + 1);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

/* A custom check that fails for the batch holding key 50. */
static int no_fifty(void *ud, bf_check_result *result, bf_driver *d, const bf_plan *plan,
                    const bf_batch *batch, void *state)
{
    (void)ud;
    (void)d;
    (void)plan;
    (void)state;
    if (batch && bf_batch_lo(batch) <= 50 && 50 < bf_batch_hi(batch))
        return bf_check_result_set(result, 1, "key 50", "no key 50",
                                   "check no_fifty: key 50 must not be rewritten");
    return BF_OK;
}

/* A run-level check that passes here while "another process" pauses the run on its failure. */
static int paused_elsewhere(void *ud, bf_check_result *result, bf_driver *d, const bf_plan *plan,
                            const bf_batch *batch, void *state)
{
    bf_ledger *l = NULL;
    bf_run *run = NULL;

    (void)ud;
    (void)result;
    (void)d;
    (void)plan;
    (void)state;
    ck_assert_ptr_null(batch);
    ck_assert_int_eq(bf_ledger_open(&l, ledger_path, NULL), BF_OK);
    ck_assert_int_eq(bf_run_open(&run, l, 1), BF_OK);
    ck_assert_int_eq(bf_run_pause(run, "validation failed: check total: moved too far"), BF_OK);
    bf_run_free(run);
    bf_ledger_close(l);
    return BF_OK;
}

/*
 * Two processes validating one run: when the other paused it on a failed
 * check meanwhile, this one says so with that reason (it failed with an
 * empty message).
 */
START_TEST(a_run_paused_elsewhere_while_validating_says_why)
{
    memwh *w = memwh_new(30, 16);
    struct seen s;
    bf_plan *plan = key_plan(30, 10);
    bf_validator *v;
    bf_validator_vtable vt = BF_VALIDATOR_VTABLE_INIT;
    bf_runner *r;
    int64_t id;

    vt.after = paused_elsewhere;
    ck_assert_int_eq(bf_validator_new(&v, "t", key, 1, cols, 1), BF_OK);
    ck_assert_int_eq(bf_validator_add_custom(v, "elsewhere", BF_CHECK_SEVERITY_ERROR, 1, &vt, NULL,
                                             NULL), BF_OK);
    memset(&s, 0, sizeof s);
    r = make_runner(w, NULL, &s, 1, 0);
    set_job(r, plan, v, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_VALIDATION);
    ck_assert_str_eq(bf_runner_last_error(r), "run 1 became paused while this process validated "
                                              "it: validation failed: check total: moved too far");
    bf_runner_free(r);
    bf_validator_free(v);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

START_TEST(a_failing_check_pauses_the_run_with_its_sentence_and_stop_leaves_it_resumable)
{
    memwh *w = memwh_new(100, 16);
    struct hostq q;
    struct seen s;
    bf_plan *plan = key_plan(100, 10);
    bf_validator *v;
    bf_validator_vtable vt = BF_VALIDATOR_VTABLE_INIT;
    bf_runner *r;
    bf_ledger *l;
    bf_run *run;
    bf_progress p = BF_PROGRESS_INIT;
    int64_t id, stopped;

    vt.after = no_fifty;
    ck_assert_int_eq(bf_validator_new(&v, "t", key, 1, cols, 1), BF_OK);
    ck_assert_int_eq(bf_validator_add_custom(v, "no_fifty", BF_CHECK_SEVERITY_ERROR, 0, &vt, NULL, NULL),
                     BF_OK);
    memset(&s, 0, sizeof s);
    hostq_init(&q);
    r = make_runner(w, &q, &s, 1, 0);
    set_job(r, plan, v, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_VALIDATION);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "validation failed: batch "));
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "key 50 must not be rewritten"));
    ck_assert_int_ge(s.count[BF_RUN_EVENT_PAUSED], 1);
    run = open_run(&l, id);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_le(p.validated, 6);
    /* Paused: running again is refused until someone resumes it. */
    ck_assert_int_eq(bf_runner_run(r, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "is paused"));
    /* Resumed: the other batches are done, and the one that failed is not validated silently. */
    ck_assert_int_eq(bf_run_resume(run, "test"), BF_OK);
    ck_assert_int_eq(bf_runner_run(r, NULL), BF_E_VALIDATION);
    ck_assert_msg(strstr(bf_runner_last_error(r), "did not pass its checks"), "%s", bf_runner_last_error(r));
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "backfill rollback"));
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.validated, 9);
    ck_assert_int_eq(p.completed, 1);
    ck_assert_int_eq(w->publishes[5], 1);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);
    bf_validator_free(v);

    /*
     * A stop after the first batch: the run goes on existing, nothing is left
     * running. BF_RUNNER_NEW started it; it does not cancel it for another.
     */
    memwh_free(w);
    w = memwh_new(100, 16);
    unlink(ledger_path);
    memset(&s, 0, sizeof s);
    r = make_runner(w, NULL, &s, 1, BF_RUNNER_NEW);
    s.stop_after_first = r;
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_STATE);
    stopped = id;
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "run again to resume"));
    ck_assert_int_eq(s.count[BF_RUN_EVENT_STOPPED], 1);
    run = open_run(&l, id);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.running, 0);
    ck_assert_int_ge(p.validated, 1);
    ck_assert_int_lt(p.validated, 10);
    bf_run_free(run);
    bf_ledger_close(l);
    s.stop_after_first = NULL;
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    ck_assert_int_eq(id, stopped);
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(w->publishes[i], 1);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

START_TEST(a_failed_key_range_split_in_two_is_done_as_two_batches)
{
    memwh *w = memwh_new(100, 16);
    struct seen s;
    bf_plan *plan = key_plan(100, 10);
    bf_runner *r;
    bf_ledger *l;
    bf_run *run;
    bf_progress p = BF_PROGRESS_INIT;
    size_t retried = 0;
    int64_t id;

    memset(&s, 0, sizeof s);
    w->fail_once = 3; /* batch [30, 40) fails its only attempt */
    r = make_runner(w, NULL, &s, 1, 0);
    set_job_attempts(r, plan, NULL, 60, 1);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "1 batch failed for good"));
    run = open_run(&l, id);
    ck_assert_int_eq(bf_run_retry(&retried, run, BF_RETRY_SPLIT), BF_OK);
    ck_assert_uint_eq(retried, 1);
    /* The halves [30, 35) and [35, 40) get ordinals of their own after the plan's ten. */
    ck_assert_int_eq(bf_runner_run(r, NULL), BF_OK);
    ck_assert_int_eq(w->publishes[3], 0);
    ck_assert_int_eq(w->publishes[10], 1);
    ck_assert_int_eq(w->publishes[11], 1);
    for (int64_t k = 0; k < 100; k++)
        ck_assert_int_eq(w->v[k], k * 10 + 1);
    ck_assert_int_eq(bf_run_progress(&p, run), BF_OK);
    ck_assert_int_eq(p.state, BF_RUN_AWAITING_APPROVAL);
    ck_assert_int_eq(p.validated, 11);
    ck_assert_int_eq(p.split, 1);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

/* The ledger's batches of the run that were done, with their key ranges summed. */
static void done_batches(int64_t *count, int64_t *keys, int64_t *narrowest, int64_t *widest,
                         bf_run *run)
{
    bf_batch_list *l;

    *count = *keys = *widest = 0;
    *narrowest = INT64_MAX;
    ck_assert_int_eq(bf_run_batches(&l, run, BF_BATCH_VALIDATED), BF_OK);
    for (size_t i = 0; i < bf_batch_list_count(l); i++) {
        int64_t w = bf_batch_list_hi(l, i) - bf_batch_list_lo(l, i);

        ++*count;
        *keys += w;
        if (w < *narrowest)
            *narrowest = w;
        if (w > *widest)
            *widest = w;
    }
    bf_batch_list_free(l);
}

/* How many resize events the ledger holds for the run. */
static int resize_records(bf_run *run)
{
    bf_event_list *e;
    int n = 0;

    ck_assert_int_eq(bf_run_events(&e, run), BF_OK);
    for (size_t i = 0; i < bf_event_list_count(e); i++)
        n += strcmp(bf_event_list_subject(e, i), "resize") == 0;
    bf_event_list_free(e);
    return n;
}

START_TEST(slow_key_batches_are_re_cut_narrower_toward_the_target)
{
    memwh *w = memwh_new(1000, 4096);
    struct seen s;
    bf_plan *plan = key_plan(1000, 100);
    bf_runner *r;
    bf_ledger *l;
    bf_run *run;
    int64_t id, count, keys, narrowest, widest, published = 0;

    memset(&s, 0, sizeof s);
    w->key_us = 1000; /* 1 ms a key: a batch of 100 keys takes 0.1 s, five times the target */
    target_s = 0.02;
    r = make_runner(w, NULL, &s, 1, 0);
    target_s = 0;
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    run = open_run(&l, id);
    done_batches(&count, &keys, &narrowest, &widest, run);
    /* Every key done once, in more and narrower batches than the plan's ten. */
    ck_assert_int_eq(keys, 1000);
    for (int64_t k = 0; k < 1000; k++)
        ck_assert_int_eq(w->v[k], k * 10 + 1);
    for (size_t i = 0; i < w->batches; i++)
        published += w->publishes[i];
    ck_assert_int_eq(published, count);
    ck_assert_int_gt(count, 10);
    ck_assert_int_eq(widest, 100); /* the first batch, measured before any re-cut */
    ck_assert_int_le(narrowest, 25);
    /* Each re-cut is a ledger record and an event, and the first names its measurement. */
    ck_assert_int_ge(s.count[BF_RUN_EVENT_RESIZED], 1);
    ck_assert_int_eq(resize_records(run), s.count[BF_RUN_EVENT_RESIZED]);
    ck_assert_ptr_nonnull(strstr(s.order, "batch_done resized "));
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

START_TEST(fast_key_batches_grow_toward_the_target_and_none_without_one)
{
    memwh *w = memwh_new(2000, 4096);
    struct seen s;
    bf_plan *plan = key_plan(2000, 10);
    bf_runner *r;
    bf_ledger *l;
    bf_run *run;
    int64_t id, count, keys, narrowest, widest;

    memset(&s, 0, sizeof s);
    target_s = 5; /* batches of a few milliseconds: each width judged grows by a fifth */
    r = make_runner(w, NULL, &s, 2, 0);
    target_s = 0;
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    run = open_run(&l, id);
    done_batches(&count, &keys, &narrowest, &widest, run);
    ck_assert_int_eq(keys, 2000);
    for (int64_t k = 0; k < 2000; k++)
        ck_assert_int_eq(w->v[k], k * 10 + 1);
    ck_assert_int_lt(count, 200);
    ck_assert_int_gt(widest, 20);
    ck_assert_int_ge(s.count[BF_RUN_EVENT_RESIZED], 3);
    ck_assert_int_eq(resize_records(run), s.count[BF_RUN_EVENT_RESIZED]);
    ck_assert_ptr_nonnull(strstr(s.last_message, "every batch validated"));
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);

    /* The same plan without a target keeps its batches. */
    memset(&s, 0, sizeof s);
    memwh_free(w);
    w = memwh_new(2000, 4096);
    r = make_runner(w, NULL, &s, 2, BF_RUNNER_NEW);
    set_job(r, plan, NULL, 60);
    ck_assert_int_eq(bf_runner_run(r, &id), BF_OK);
    run = open_run(&l, id);
    done_batches(&count, &keys, &narrowest, &widest, run);
    ck_assert_int_eq(count, 200);
    ck_assert_int_eq(s.count[BF_RUN_EVENT_RESIZED], 0);
    ck_assert_int_eq(resize_records(run), 0);
    bf_run_free(run);
    bf_ledger_close(l);
    bf_runner_free(r);
    bf_plan_free(plan);
    memwh_free(w);
}
END_TEST

START_TEST(bad_options_and_misuse_are_refused)
{
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_scheduler_vtable vt = BF_SCHEDULER_VTABLE_INIT;
    bf_runner *r = NULL;

    ck_assert_int_eq(bf_runner_new(&r, NULL), BF_E_INVALID);
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "ledger_path"));
    o.ledger_path = ledger_path;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "warehouse_path"));
    o.warehouse_path = "/nonexistent/dir/w.db";
    ck_assert_int_ne(bf_runner_new(&r, &o), BF_OK);
    ck_assert_ptr_null(r);
    o.open_driver = memwh_open;
    o.driver_userdata = NULL;
    o.scheduler = &vt; /* no submit member */
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "submit"));
    vt.version = 99;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_ABI);
    o.version = 99;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_ABI);
    ck_assert_int_eq(bf_runner_options_init(&o, 0), BF_E_ABI);
    ck_assert_int_eq(bf_runner_options_init(&o, BF_RUNNER_OPTIONS_VERSION), BF_OK);
    ck_assert_str_eq(bf_run_event_name(BF_RUN_EVENT_BATCH_DONE), "batch_done");
    ck_assert_ptr_null(bf_run_event_name((bf_run_event_kind)99));
}
END_TEST

static int open_fails_silently(void *ud, bf_driver **out)
{
    (void)ud;
    *out = NULL;
    return BF_E_IO;
}

/*
 * A host's scheduler or open_driver that fails is the run's failure, with
 * the host's own message when it gave one, else one naming the member (not
 * an empty one, nor one left over from something else); a failed drain
 * fails the run too.
 */
START_TEST(a_failing_host_member_fails_the_run_and_is_named)
{
    static const struct {
        int start, submit, drain, rc;
        const char *message;
    } cases[] = {
        {BF_E_IO, 0, 0, BF_E_IO, "the host's scheduler start failed with BF_E_IO"},
        {0, BF_E_BUSY, 0, BF_E_BUSY, "the host's scheduler submit failed with BF_E_BUSY"},
        {0, 0, BF_E_USER, BF_E_USER, "the host's queue lost track of 2 tasks"},
    };
    bf_runner_options o = BF_RUNNER_OPTIONS_INIT;
    bf_runner *r = NULL;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memwh *w = memwh_new(100, 10);
        bf_plan *plan = key_plan(100, 10);
        struct hostq q;
        struct seen s;
        int64_t id = 0;

        hostq_init(&q);
        memset(&s, 0, sizeof s);
        q.fail_start = cases[i].start;
        q.fail_submit = cases[i].submit;
        q.fail_drain = cases[i].drain;
        r = make_runner(w, &q, &s, 2, 0);
        set_job(r, plan, NULL, 30);
        ck_assert_int_eq(bf_runner_run(r, &id), cases[i].rc);
        ck_assert_msg(strstr(bf_runner_last_error(r), cases[i].message), "case %zu: '%s'", i,
                      bf_runner_last_error(r));
        bf_runner_free(r);
        bf_plan_free(plan);
        memwh_free(w);
        unlink(ledger_path);
    }
    o.ledger_path = ledger_path;
    o.open_driver = open_fails_silently;
    ck_assert_int_eq(bf_runner_new(&r, &o), BF_E_IO);
    ck_assert_ptr_null(r);
    ck_assert_msg(strstr(bf_last_error(), "the host's open_driver failed with BF_E_IO"), "'%s'",
                  bf_last_error());
}
END_TEST

START_TEST(run_without_a_job_is_refused)
{
    memwh *w = memwh_new(10, 4);
    bf_runner *r = make_runner(w, NULL, NULL, 1, 0);

    ck_assert_int_eq(bf_runner_run(r, NULL), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_runner_last_error(r), "nothing to run"));
    bf_runner_free(r);
    memwh_free(w);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("runner");
    TCase *tc = tcase_create("runner");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_batch_is_published_once_through_the_hosts_scheduler_and_driver);
    tcase_add_test(tc, a_lost_lease_never_publishes_and_a_failed_attempt_is_retried);
    tcase_add_test(tc, a_failing_check_pauses_the_run_with_its_sentence_and_stop_leaves_it_resumable);
    tcase_add_test(tc, a_run_paused_elsewhere_while_validating_says_why);
    tcase_add_test(tc, a_failed_key_range_split_in_two_is_done_as_two_batches);
    tcase_add_test(tc, slow_key_batches_are_re_cut_narrower_toward_the_target);
    tcase_add_test(tc, fast_key_batches_grow_toward_the_target_and_none_without_one);
    tcase_add_test(tc, bad_options_and_misuse_are_refused);
    tcase_add_test(tc, a_failing_host_member_fails_the_run_and_is_named);
    tcase_add_test(tc, run_without_a_job_is_refused);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
