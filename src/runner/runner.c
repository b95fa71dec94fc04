/*
 * The runner's handle: options, the job taken from a brief or given by a
 * host, and the handles each worker opens for itself.
 */
#include <stdatomic.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill/fingerprint.h"
#include "backfill/time.h"
#include "common/json.h"
#include "common/versioned.h"
#include "driver/driver_internal.h"
#include "plan/plan_internal.h"
#include "runner/runner_internal.h"
#include "validate/validate_internal.h"

static const bf_runner_options runner_options_defaults = BF_RUNNER_OPTIONS_INIT;
static const size_t runner_options_sizes[] = {0, sizeof(bf_runner_options)};
static const bf__struct_desc runner_options_desc = {"runner options", BF_RUNNER_OPTIONS_VERSION,
                                                    runner_options_sizes,
                                                    &runner_options_defaults};

static const size_t scheduler_sizes[] = {0, sizeof(bf_scheduler_vtable)};
static const bf__struct_desc scheduler_desc = {"scheduler vtable", BF_SCHEDULER_VTABLE_VERSION,
                                               scheduler_sizes, NULL};

int bf_runner_options_init(bf_runner_options *opts, unsigned version)
{
    return bf__struct_init(opts, version, &runner_options_desc);
}

int bf_scheduler_vtable_init(bf_scheduler_vtable *vtable, unsigned version)
{
    return bf__struct_init(vtable, version, &scheduler_desc);
}

int bf__runner_fail(bf_runner *r, int code)
{
    if (code == BF_OK)
        return BF_OK;
    if (r)
        bf__herror_from_thread(&r->err);
    return code;
}

int bf__runner_check_inputs(bf_runner *r)
{
    int rc;

    /*
     * A job naming what the warehouse lacks would fail every batch, each
     * attempt. A brief's job was prepared when bf_runner_set_brief planned it
     * (bf_driver_plan_brief); a host's job given by bf_runner_set_job here.
     */
    if (!r->brief && (rc = bf__driver_check_select(r->driver, r->job.spec.select,
                                                   "the job's select")) != BF_OK)
        return rc;
    if (!r->validator)
        return BF_OK;
    if (!r->own_validator)
        pthread_mutex_lock(&r->validator_lock);
    rc = bf__validator_check_inputs(r->validator, r->driver, r->plan);
    if (!r->own_validator)
        pthread_mutex_unlock(&r->validator_lock);
    return rc;
}

void bf__runner_iso(char *out, size_t size, int64_t us, int micro)
{
    bf_civil c;
    int64_t sec = us >= 0 ? us / 1000000 : -((-us + 999999) / 1000000);

    bf_civil_from_seconds(&c, sec);
    if (micro)
        bf__snprintf(out, size, "%04lld-%02d-%02dT%02d:%02d:%02d.%06lldZ", (long long)c.year,
                     c.month, c.day, c.hour, c.minute, c.second, (long long)(us - sec * 1000000));
    else
        bf__snprintf(out, size, "%04lld-%02d-%02dT%02d:%02d:%02dZ", (long long)c.year, c.month,
                     c.day, c.hour, c.minute, c.second);
}

void bf__runner_owner(char out[BF__OWNER_MAX], const char *brief_name, int64_t seq,
                      int64_t created_at_us)
{
    char when[40];

    bf__runner_iso(when, sizeof when, created_at_us, 1);
    bf__snprintf(out, BF__OWNER_MAX, "%s #%lld, created %s", brief_name, (long long)seq, when);
}

int bf__runner_own_warehouse(bf_driver *d, const char *owner, const char *table, int64_t run_id)
{
    int rc = bf__driver_set_owner(d, owner);

    return rc == BF_OK ? bf__driver_foreign_run(d, table, run_id) : rc;
}

const char *bf_runner_last_error(const bf_runner *r)
{
    return r ? r->err.msg : "";
}

int64_t bf__runner_now_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A signal handler may store to it: only a lock-free atomic is safe there. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "bf_runner_stop needs a lock-free atomic int");

void bf_runner_stop(bf_runner *r)
{
    if (r)
        r->stop = 1;
}

/* "user@host pid N": the host part lets another process on this host tell a dead worker. */
static char *runner_actor(void)
{
    char host[256];
    const char *user = bf__env(BF__ENV_USER, NULL);

    if (gethostname(host, sizeof host) != 0)
        bf__snprintf(host, sizeof host, "localhost");
    host[sizeof host - 1] = '\0';
    return bf__asprintf("%s@%s pid %ld", user && user[0] ? user : "user", host, (long)getpid());
}

int bf__runner_open_ledger(bf_runner *r, bf_ledger **out)
{
    bf_ledger_options opts = r->ledger_opts;

    opts.actor = r->actor;
    /* A worker's ledger must not free the host's store userdata: only the runner's own does. */
    opts.free_store_userdata = NULL;
    return bf_ledger_open(out, r->ledger_path, &opts);
}

int bf__runner_ledger(bf_runner *r, bf_ledger **out)
{
    int rc;

    if (!r->ledger && (rc = bf__runner_open_ledger(r, &r->ledger)) != BF_OK)
        return rc;
    *out = r->ledger;
    return BF_OK;
}

int bf__runner_host(int rc, const char *member)
{
    if (rc != BF_OK && !bf_last_error()[0])
        bf__error(rc, "runner: the host's %s failed with %s and gave no message", member,
                  bf_errstr(rc));
    return rc;
}

int bf__runner_open_driver(bf_runner *r, bf_driver **out)
{
    int rc;

    *out = NULL;
    if (r->open_driver) {
        bf_clear_error();
        rc = bf__runner_host(r->open_driver(r->driver_userdata, out), "open_driver");
        if (rc == BF_OK && !*out)
            rc = bf__error(BF_E_USER, "runner: the host's open_driver returned no driver");
        return rc;
    }
    return bf_driver_open_sqlite(out, r->warehouse_path, 0);
}

int bf_runner_new(bf_runner **out, const bf_runner_options *host_opts)
{
    bf_runner_options o;
    bf_runner *r;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_runner_new: out is NULL");
    *out = NULL;
    if (!host_opts)
        return bf__error(BF_E_INVALID, "bf_runner_new: options are NULL");
    if ((rc = bf__struct_read(&o, host_opts, &runner_options_desc, "bf_runner_new")) != BF_OK)
        return rc;
    if (!o.ledger_path || !o.ledger_path[0])
        return bf__error(BF_E_INVALID, "bf_runner_new: no ledger_path");
    if (!o.open_driver && (!o.warehouse_path || !o.warehouse_path[0]))
        return bf__error(BF_E_INVALID, "bf_runner_new: neither warehouse_path nor open_driver");
    if (o.workers > 256)
        return bf__error(BF_E_INVALID, "bf_runner_new: %u workers is more than 256", o.workers);
    r = bf__calloc(1, sizeof *r);
    if (!r)
        return bf__nomem();
    pthread_mutex_init(&r->validator_lock, NULL);
    bf_ledger_options_init(&r->ledger_opts, BF_LEDGER_OPTIONS_VERSION);
    rc = BF_OK;
    if (o.ledger_options) {
        unsigned v = o.ledger_options->version;

        if (v < 1 || v > BF_LEDGER_OPTIONS_VERSION)
            rc = bf__error(BF_E_ABI, "bf_runner_new: ledger options version %u is not one this "
                           "library knows (1 to %u)", v, BF_LEDGER_OPTIONS_VERSION);
        else
            memcpy(&r->ledger_opts, o.ledger_options,
                   v == 1 ? BF__SIZE_TO(bf_ledger_options, flags) : sizeof r->ledger_opts);
        r->ledger_opts.version = BF_LEDGER_OPTIONS_VERSION;
    }
    r->ledger_path = bf__strdup(o.ledger_path);
    r->warehouse_path = bf__strdup(o.warehouse_path);
    r->operator_name = bf__strdup(o.operator_name);
    r->actor = o.ledger_options && o.ledger_options->actor ? bf__strdup(o.ledger_options->actor)
                                                           : runner_actor();
    r->open_driver = o.open_driver;
    r->driver_userdata = o.driver_userdata;
    r->workers = o.workers;
    r->on_event = o.on_event;
    r->event_userdata = o.event_userdata;
    r->throttle = o.throttle;
    r->throttle_userdata = o.throttle_userdata;
    r->poll_s = o.poll_s > 0 ? o.poll_s : 0.25;
    r->flags = o.flags;
    r->target_batch_s = o.target_batch_s > 0 && o.target_batch_s < 1e9 ? o.target_batch_s : 0;
    if (rc == BF_OK && (!r->ledger_path || !r->actor || (o.warehouse_path && !r->warehouse_path) ||
                        (o.operator_name && !r->operator_name)))
        rc = bf__nomem();
    if (rc == BF_OK && o.scheduler) {
        rc = bf__vtable_check(&r->sched, o.scheduler, &scheduler_desc, "bf_runner_new");
        if (rc == BF_OK && !r->sched.submit)
            rc = bf__error(BF_E_INVALID, "bf_runner_new: the scheduler has no submit member");
        r->has_sched = rc == BF_OK;
        r->sched_userdata = o.scheduler_userdata;
    }
    /*
     * An existing ledger (or a host's store) is checked now; a new file is
     * made by the first call that needs it, not for a brief refused before.
     */
    if (rc == BF_OK && (r->ledger_opts.store || access(r->ledger_path, F_OK) == 0))
        rc = bf__runner_open_ledger(r, &r->ledger);
    if (rc == BF_OK)
        rc = bf__runner_open_driver(r, &r->driver);
    if (rc != BF_OK) {
        bf_runner_free(r);
        return rc;
    }
    *out = r;
    return BF_OK;
}

static void clear_job(bf_runner *r)
{
    bf_brief_free(r->brief);
    r->brief = NULL;
    bf_plan_free(r->plan);
    r->plan = NULL;
    bf__job_dispose(&r->job);
    if (r->own_validator)
        bf_validator_free(r->validator);
    r->validator = NULL;
    r->own_validator = 0;
    bf__free(r->brief_name);
    bf__free(r->brief_json);
    bf__free(r->code_version);
    bf__free(r->params_json);
    bf__free(r->run_operator);
    r->brief_name = r->brief_json = r->code_version = r->params_json = r->run_operator = NULL;
}

void bf_runner_free(bf_runner *r)
{
    if (!r)
        return;
    clear_job(r);
    bf_driver_free(r->driver);
    bf_ledger_close(r->ledger);
    pthread_mutex_destroy(&r->validator_lock);
    bf__free(r->ledger_path);
    bf__free(r->warehouse_path);
    bf__free(r->operator_name);
    bf__free(r->actor);
    bf__free(r);
}

/* ---- The job ---------------------------------------------------------- */

void bf__job_dispose(bf__job *job)
{
    bf__free(job->key);
    bf__free(job->columns);
    for (size_t i = 0; i < job->owned_count; i++)
        bf__free(job->owned[i]);
    bf__free(job->owned);
    memset(job, 0, sizeof *job);
}

int bf__job_from_brief(bf__job *job, const bf_brief *brief)
{
    size_t nk = bf_brief_key_count(brief), nc = bf_brief_column_count(brief);

    memset(job, 0, sizeof *job);
    bf_write_spec_init(&job->spec, BF_WRITE_SPEC_VERSION);
    job->key = bf__calloc(nk + 1, sizeof *job->key);
    job->columns = bf__calloc(nc + 1, sizeof *job->columns);
    if (!job->key || !job->columns) {
        bf__job_dispose(job);
        return bf__nomem();
    }
    for (size_t i = 0; i < nk; i++)
        job->key[i] = bf_brief_key(brief, i);
    for (size_t i = 0; i < nc; i++)
        job->columns[i] = bf_brief_column(brief, i);
    job->spec.table = bf_brief_target_table(brief);
    job->spec.key = job->key;
    job->spec.key_count = nk;
    job->spec.columns = job->columns;
    job->spec.column_count = nc;
    job->spec.select = bf_brief_job_select(brief);
    job->spec.strategy = bf_brief_write_strategy(brief);
    if (job->spec.strategy == BF_WRITE_UNSET)
        job->spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    job->spec.delete_missing = bf_brief_delete_missing(brief);
    job->spec.version_table = bf_brief_version_table(brief);
    job->spec.snapshot = bf_brief_snapshot(brief);
    if (!job->spec.table || !job->spec.select) {
        bf__job_dispose(job);
        return bf__error(BF_E_INVALID, "runner: the brief has no %s",
                         !bf_brief_target_table(brief) ? "target.table" : "job.select");
    }
    return BF_OK;
}

static int own_string(bf__job *job, const char **slot, const char *s)
{
    char **grown;

    if (!s) {
        *slot = NULL;
        return BF_OK;
    }
    grown = bf__realloc(job->owned, (job->owned_count + 1) * sizeof *grown);
    if (!grown)
        return bf__nomem();
    job->owned = grown;
    if (!(job->owned[job->owned_count] = bf__strdup(s)))
        return bf__nomem();
    *slot = job->owned[job->owned_count++];
    return BF_OK;
}

static int job_copy(bf__job *job, const bf_write_spec *host)
{
    int rc = BF_OK;

    memset(job, 0, sizeof *job);
    bf_write_spec_init(&job->spec, BF_WRITE_SPEC_VERSION);
    job->key = bf__calloc(host->key_count + 1, sizeof *job->key);
    job->columns = bf__calloc(host->column_count + 1, sizeof *job->columns);
    if (!job->key || !job->columns)
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < host->key_count; i++)
        rc = own_string(job, &job->key[i], host->key[i]);
    for (size_t i = 0; rc == BF_OK && i < host->column_count; i++)
        rc = own_string(job, &job->columns[i], host->columns[i]);
    if (rc == BF_OK)
        rc = own_string(job, &job->spec.table, host->table);
    if (rc == BF_OK)
        rc = own_string(job, &job->spec.select, host->select);
    if (rc == BF_OK)
        rc = own_string(job, &job->spec.version_table, host->version_table);
    if (rc != BF_OK) {
        bf__job_dispose(job);
        return rc;
    }
    job->spec.key = job->key;
    job->spec.key_count = host->key_count;
    job->spec.columns = job->columns;
    job->spec.column_count = host->column_count;
    job->spec.strategy = host->strategy;
    job->spec.delete_missing = host->delete_missing;
    job->spec.snapshot = host->snapshot;
    return BF_OK;
}

static int plan_copy(bf_plan **out, const bf_plan *plan)
{
    char *json = NULL;
    int rc = bf_plan_to_json(&json, plan);

    if (rc == BF_OK)
        rc = bf_plan_from_json(out, json);
    bf_free(json);
    return rc;
}

static int brief_copy(bf_brief **out, char **json_out, const bf_brief *brief)
{
    char *json = NULL;
    int rc = bf_brief_save_json(&json, brief);

    if (rc == BF_OK)
        rc = bf_brief_load_json(out, json, strlen(json));
    if (rc == BF_OK && json_out) {
        *json_out = bf__strdup(json);
        if (!*json_out)
            rc = bf__nomem();
    }
    bf_free(json);
    return rc;
}

/* The first blocking finding as "path: sentence", or BF_OK when none blocks. */
static int refuse_blocking(const bf_brief *brief)
{
    bf_findings *f = NULL;
    int rc = bf_brief_check(&f, brief);

    if (rc != BF_OK)
        return rc;
    for (size_t i = 0; i < bf_findings_count(f); i++) {
        if (bf_findings_severity(f, i) == BF_SEVERITY_BLOCK) {
            rc = bf__error(BF_E_BLOCKED, "brief %s is blocked (%zu blocking finding%s): %s: %s",
                           bf_brief_name(brief) ? bf_brief_name(brief) : "(unnamed)",
                           bf_findings_blocking(f), bf_findings_blocking(f) == 1 ? "" : "s",
                           bf_findings_path(f, i), bf_findings_message(f, i));
            break;
        }
    }
    bf_findings_free(f);
    return rc;
}

/* Who runs it: the host's name for them, else the user the process runs as. */
static const char *default_operator(const bf_runner *r)
{
    const char *user = bf__env(BF__ENV_USER, NULL);

    return r->operator_name ? r->operator_name : user ? user : r->actor;
}

static int64_t brief_int(int (*get)(int64_t *, const bf_brief *), const bf_brief *b, int64_t dflt)
{
    int64_t v;

    return get(&v, b) == BF_OK ? v : dflt;
}

int bf_runner_set_brief(bf_runner *r, const bf_brief *brief)
{
    int rc;

    if (!r || !brief)
        return bf__error(BF_E_INVALID, "bf_runner_set_brief: %s is NULL", r ? "brief" : "runner");
    clear_job(r);
    if ((rc = refuse_blocking(brief)) != BF_OK)
        return bf__runner_fail(r, rc);
    if ((rc = brief_copy(&r->brief, &r->brief_json, brief)) != BF_OK ||
        (rc = bf_driver_plan_brief(&r->plan, r->driver, r->brief)) != BF_OK ||
        (rc = bf__job_from_brief(&r->job, r->brief)) != BF_OK ||
        (rc = bf_validator_new_from_brief(&r->validator, r->brief)) != BF_OK) {
        clear_job(r);
        return bf__runner_fail(r, rc);
    }
    r->own_validator = 1;
    r->brief_name = bf__strdup(bf_brief_name(r->brief));
    r->code_version = bf__strdup(bf_brief_code_version(r->brief) ? bf_brief_code_version(r->brief)
                                                                  : "");
    r->params_json = bf__strdup("{}");
    r->run_operator = bf__strdup(default_operator(r));
    if (!r->brief_name || !r->code_version || !r->params_json || !r->run_operator) {
        clear_job(r);
        return bf__runner_fail(r, bf__nomem());
    }
    bf_run_spec_init(&r->run_spec, BF_RUN_SPEC_VERSION);
    r->run_spec.brief_name = r->brief_name;
    r->run_spec.brief_json = r->brief_json;
    r->run_spec.code_version = r->code_version;
    r->run_spec.operator_name = r->run_operator;
    r->run_spec.params_json = r->params_json;
    r->run_spec.max_concurrency = (unsigned)brief_int(bf_brief_max_concurrency, r->brief, 1);
    r->run_spec.max_attempts = (unsigned)brief_int(bf_brief_max_attempts, r->brief, 3);
    r->run_spec.retry_backoff_s = (double)brief_int(bf_brief_retry_backoff_s, r->brief, 5);
    r->run_spec.lease_s = (double)brief_int(bf_brief_lease_s, r->brief, 300);
    return BF_OK;
}

int bf_runner_set_job(bf_runner *r, const bf_plan *plan, const bf_write_spec *spec,
                      const bf_run_spec *run_spec, bf_validator *validator)
{
    bf_run_spec rs;
    int rc;

    if (!r || !plan || !spec || !run_spec)
        return bf__error(BF_E_INVALID, "bf_runner_set_job: %s is NULL",
                         !r ? "runner" : !plan ? "plan" : !spec ? "spec" : "run_spec");
    clear_job(r);
    if (!spec->table || !spec->select)
        return bf__runner_fail(r, bf__error(BF_E_INVALID, "bf_runner_set_job: the write spec "
                                            "has no %s", !spec->table ? "table" : "select"));
    if (run_spec->version < 1 || run_spec->version > BF_RUN_SPEC_VERSION)
        return bf__runner_fail(r, bf__error(BF_E_ABI, "bf_runner_set_job: run spec version %u "
                                            "is not one this library knows",
                                            run_spec->version));
    rs = *run_spec;
    if (!rs.brief_name || !rs.brief_name[0])
        return bf__runner_fail(r, bf__error(BF_E_INVALID, "bf_runner_set_job: the run spec has "
                                            "no brief_name"));
    if ((rc = plan_copy(&r->plan, plan)) != BF_OK || (rc = job_copy(&r->job, spec)) != BF_OK) {
        clear_job(r);
        return bf__runner_fail(r, rc);
    }
    r->brief_name = bf__strdup(rs.brief_name);
    r->brief_json = bf__strdup(rs.brief_json ? rs.brief_json : "{}");
    r->code_version = bf__strdup(rs.code_version ? rs.code_version : "");
    r->params_json = bf__strdup(rs.params_json ? rs.params_json : "{}");
    r->run_operator = bf__strdup(rs.operator_name ? rs.operator_name : default_operator(r));
    if (!r->brief_name || !r->brief_json || !r->code_version || !r->params_json ||
        !r->run_operator) {
        clear_job(r);
        return bf__runner_fail(r, bf__nomem());
    }
    rs.brief_name = r->brief_name;
    rs.brief_json = r->brief_json;
    rs.code_version = r->code_version;
    rs.params_json = r->params_json;
    rs.operator_name = r->run_operator;
    rs.version = BF_RUN_SPEC_VERSION;
    r->run_spec = rs;
    r->validator = validator;
    r->own_validator = 0;
    return BF_OK;
}

/*
 * A run recorded without a brief (a host's bf_runner_set_job()) can be settled only with the
 * job it was run with: this runner's own, when its plan is the run's. job or plan may be
 * NULL (not wanted).
 */
int bf__runner_host_job(const bf_runner *r, const bf_run *run, bf__job *job, bf_plan **plan)
{
    int rc;

    if (r->brief || !r->plan || !r->job.spec.table)
        return bf__error(BF_E_INVALID, "run %lld (%s) was recorded without a brief (its job was "
                         "given with bf_runner_set_job()): give this runner the same job, its "
                         "plan and write spec, with bf_runner_set_job() to settle it",
                         (long long)bf_run_id(run), bf_run_brief_name(run));
    if (strcmp(bf_plan_fingerprint(r->plan), bf_run_plan_fingerprint(run)) != 0)
        return bf__error(BF_E_CONFLICT, "run %lld (%s) was recorded without a brief, and the "
                         "plan of this runner's job has fingerprint %s, not the run's %s: give "
                         "it the job the run was made with", (long long)bf_run_id(run),
                         bf_run_brief_name(run), bf_plan_fingerprint(r->plan),
                         bf_run_plan_fingerprint(run));
    if (job && (rc = job_copy(job, &r->job.spec)) != BF_OK)
        return rc;
    if (plan && (rc = plan_copy(plan, r->plan)) != BF_OK && job)
        bf__job_dispose(job);
    return plan ? rc : BF_OK;
}

/* ---- Things the parts share ------------------------------------------- */

int bf__runner_run_brief(bf_brief **out, bf_ledger *ledger, int64_t run_id)
{
    bf_run_list *list = NULL;
    int rc = bf_ledger_runs(&list, ledger, NULL), found = 0;

    *out = NULL;
    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(list); i++) {
        if (bf_run_list_id(list, i) == run_id) {
            const char *text = bf_run_list_brief_json(list, i);

            found = 1;
            rc = bf_brief_load_json(out, text, strlen(text));
            break;
        }
    }
    bf_run_list_free(list);
    if (rc == BF_OK && !found)
        rc = bf__error(BF_E_NOT_FOUND, "run %lld: no such run in the ledger", (long long)run_id);
    return rc;
}

int bf__table_exists(int *out, bf_driver *d, const char *table)
{
    bf_table_info *info = NULL;
    int rc = bf_driver_describe(&info, d, table);

    bf_table_info_free(info);
    *out = rc == BF_OK;
    return rc == BF_E_NOT_FOUND ? BF_OK : rc;
}

int bf__fingerprint_text(char out[64], bf_driver *d, const char *table, const bf_plan *plan,
                         const bf_batch *b)
{
    bf_fingerprint fp;
    int rc = bf_driver_fingerprint(&fp, d, table, NULL, 0, plan, b);

    if (rc == BF_OK)
        rc = bf_fingerprint_format(out, 64, &fp);
    return rc;
}

char *bf__runner_shadow_table(const bf_write_spec *spec, int64_t run_id)
{
    if (spec->strategy == BF_WRITE_STAGING_SWAP)
        return bf__asprintf("%s__bf_full_%lld", spec->table, (long long)run_id);
    if (spec->strategy == BF_WRITE_PARALLEL_VERSION)
        return spec->version_table ? bf__strdup(spec->version_table)
                                   : bf__asprintf("%s__bf_v%lld", spec->table, (long long)run_id);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

int bf__runner_plan_has(const bf_plan *plan, int64_t ordinal, int64_t lo, int64_t hi)
{
    const bf_batch *b = ordinal >= 0 && (size_t)ordinal < bf_plan_count(plan)
                            ? bf_plan_batch(plan, (size_t)ordinal) : NULL;

    return b && bf_batch_lo(b) == lo && bf_batch_hi(b) == hi;
}

int bf__runner_extend_plan(bf__halves *h, const bf_plan *plan, bf_run *run)
{
    bf_batch_list *l = NULL;
    struct { int64_t id, lo, hi; } *rows = NULL;
    int64_t *lo = NULL, *hi = NULL;
    size_t n = 0;
    int rc = bf_run_batches(&l, run, -1);

    memset(h, 0, sizeof *h);
    h->base = bf_plan_count(plan);
    if (rc == BF_OK)
        rows = bf__calloc(bf_batch_list_count(l) + 1, sizeof *rows);
    if (rc == BF_OK && !rows)
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++) {
        if (bf__runner_plan_has(plan, bf_batch_list_ordinal(l, i), bf_batch_list_lo(l, i),
                               bf_batch_list_hi(l, i)))
            continue;
        rows[n].id = bf_batch_list_id(l, i);
        rows[n].lo = bf_batch_list_lo(l, i);
        rows[n].hi = bf_batch_list_hi(l, i);
        n++;
    }
    bf_batch_list_free(l);
    /* In batch id order: the same ordinals for the run, its rollback and its cleanup. */
    if (rc == BF_OK && n)
        qsort(rows, n, sizeof *rows, cmp_id);
    if (rc == BF_OK) {
        h->ids = bf__calloc(n + 1, sizeof *h->ids);
        lo = bf__calloc(n + 1, sizeof *lo);
        hi = bf__calloc(n + 1, sizeof *hi);
        if (!h->ids || !lo || !hi)
            rc = bf__nomem();
    }
    for (size_t i = 0; rc == BF_OK && i < n; i++) {
        h->ids[i] = rows[i].id;
        lo[i] = rows[i].lo;
        hi[i] = rows[i].hi;
    }
    h->count = n;
    if (rc == BF_OK)
        rc = bf__plan_extend_keys(&h->plan, plan, lo, hi, n);
    bf__free(rows);
    bf__free(lo);
    bf__free(hi);
    if (rc != BF_OK)
        bf__halves_dispose(h);
    return rc;
}

const bf_batch *bf__halves_batch(const bf__halves *h, int64_t batch_id, int64_t ordinal,
                                 int64_t lo, int64_t hi)
{
    const bf_batch *b;
    const int64_t *at;

    if (ordinal >= 0 && (size_t)ordinal < h->base && bf__runner_plan_has(h->plan, ordinal, lo, hi))
        return bf_plan_batch(h->plan, (size_t)ordinal);
    at = h->count ? bsearch(&batch_id, h->ids, h->count, sizeof *h->ids, cmp_id) : NULL;
    if (!at)
        return NULL;
    b = bf_plan_batch(h->plan, h->base + (size_t)(at - h->ids));
    return b && bf_batch_lo(b) == lo && bf_batch_hi(b) == hi ? b : NULL;
}

void bf__halves_dispose(bf__halves *h)
{
    bf_plan_free(h->plan);
    bf__free(h->ids);
    memset(h, 0, sizeof *h);
}


/* ---- Whether a warehouse is the one a run wrote ------------------------- */

int bf__runner_holds_run(bf_driver *d, bf_run *run, const char *table, const char *owner)
{
    bf_batch_list *bl = NULL;
    bf_event_list *ev = NULL;
    char *other = NULL;
    int64_t mine = -1, published = 0;
    int rc, cleaned = 0;

    /* A fence of the run by its own ledger: the warehouse it wrote (a host's driver: not known). */
    if ((rc = bf__driver_run_fences(d, table, bf_run_id(run), owner, &mine, &other)) != BF_OK ||
        mine != 0)
        goto done;
    if ((rc = bf_run_batches(&bl, run, -1)) != BF_OK || (rc = bf_run_events(&ev, run)) != BF_OK)
        goto done;
    for (size_t i = 0; i < bf_batch_list_count(bl); i++) {
        const char *fp = bf_batch_list_fingerprint_after(bl, i);

        published += fp && fp[0];
    }
    /* Cleanup deletes the run's fences with its tables: nothing is left to tell by. */
    for (size_t i = 0; i < bf_event_list_count(ev); i++)
        cleaned |= bf_event_list_batch_id(ev, i) == 0 &&
                   strcmp(bf_event_list_subject(ev, i), "cleanup") == 0;
    if (other)
        rc = bf__error(BF_E_CONFLICT, "%s: run %lld in this warehouse is another ledger's (%s), "
                       "not this one's (%s): it is not the warehouse this ledger's run wrote",
                       table, (long long)bf_run_id(run), other, owner);
    else if (published && !cleaned)
        rc = bf__error(BF_E_CONFLICT, "run %lld (%s) published %lld batch%s into %s, but this "
                       "warehouse holds none of them (no fence of the run in bf_fence): it is not "
                       "the warehouse the run wrote", (long long)bf_run_id(run),
                       bf_run_brief_name(run), (long long)published, published == 1 ? "" : "es",
                       table);
done:
    bf__free(other);
    bf_event_list_free(ev);
    bf_batch_list_free(bl);
    return rc;
}

int bf_run_check_warehouse(bf_ledger *ledger, int64_t run_id, bf_driver *driver)
{
    bf_run *run = NULL;
    bf_brief *brief = NULL;
    bf_run_list *list = NULL;
    char owner[BF__OWNER_MAX] = "";
    int rc;

    if (!ledger || !driver)
        return bf__error(BF_E_INVALID, "bf_run_check_warehouse: %s is NULL",
                         !ledger ? "ledger" : "driver");
    if ((rc = bf_run_open(&run, ledger, run_id)) == BF_OK && bf__slice_run_name(bf_run_brief_name(run))) {
        /* Its batches went into scratch copies: no warehouse holds them to read back. */
        rc = bf__error(BF_E_INVALID, "run %lld (%s) is a test slice: it wrote scratch copies, "
                       "never the target, and dropped them, so no warehouse holds its rows to "
                       "read back; backfill status %lld shows its batches",
                       (long long)run_id, bf_run_brief_name(run), (long long)run_id);
    } else if (rc == BF_OK && (rc = bf__runner_run_brief(&brief, ledger, run_id)) == BF_OK &&
               !bf_brief_target_table(brief)) {
        /* A host's run recorded without a brief (or one without a target): nothing to look for. */
        rc = bf__error(BF_E_INVALID, "run %lld (%s): its recorded brief names no target table, "
                       "so the warehouse cannot be checked for it", (long long)run_id,
                       bf_run_brief_name(run));
    } else if (rc == BF_OK &&
               (rc = bf_ledger_runs(&list, ledger, bf_run_brief_name(run))) == BF_OK) {
        for (size_t i = 0; i < bf_run_list_count(list); i++)
            if (bf_run_list_id(list, i) == run_id)
                bf__runner_owner(owner, bf_run_list_brief_name(list, i),
                                 bf_run_list_seq(list, i), bf_run_list_created_at(list, i));
        rc = bf__runner_holds_run(driver, run, bf_brief_target_table(brief), owner);
    }
    bf_run_list_free(list);
    bf_brief_free(brief);
    bf_run_free(run);
    return rc;
}

int bf_run_written_table(char **out, bf_ledger *ledger, int64_t run_id)
{
    bf_run *run = NULL;
    bf_brief *brief = NULL;
    bf_event_list *ev = NULL;
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    char *shadow = NULL;
    int rc, cut = 0;

    if (!out || !ledger)
        return bf__error(BF_E_INVALID, "bf_run_written_table: %s is NULL", !out ? "out" : "ledger");
    *out = NULL;
    /* Only where the brief writes: a host's run recorded without a job has the brief's target. */
    if ((rc = bf_run_open(&run, ledger, run_id)) != BF_OK ||
        (rc = bf__runner_run_brief(&brief, ledger, run_id)) != BF_OK)
        goto done;
    spec.table = bf_brief_target_table(brief);
    spec.strategy = bf_brief_write_strategy(brief);
    spec.version_table = bf_brief_version_table(brief);
    if (!spec.table) {
        rc = bf__error(BF_E_INVALID, "run %lld: its brief names no target table",
                       (long long)run_id);
        goto done;
    }
    shadow = bf__runner_shadow_table(&spec, run_id);
    if (shadow && (rc = bf_run_events(&ev, run)) == BF_OK)
        for (size_t i = 0; i < bf_event_list_count(ev); i++)
            cut |= bf_event_list_batch_id(ev, i) == 0 &&
                   strcmp(bf_event_list_subject(ev, i), "cutover") == 0;
    if (rc == BF_OK && !(*out = bf__strdup(shadow && !cut ? shadow : spec.table)))
        rc = bf__nomem();
done:
    bf__free(shadow);
    bf_event_list_free(ev);
    bf_brief_free(brief);
    bf_run_free(run);
    return rc;
}

/* ---- A run's batches as the runner addresses them ---------------------- */

struct view_row {
    int64_t id, ordinal, lo, hi;
    int written;
    const bf_batch *batch;
};

struct bf_run_view {
    const bf_plan *plan;
    bf__halves halves;
    struct view_row *rows; /* every ledger batch, by id */
    size_t count;
};

static int cmp_row(const void *a, const void *b)
{
    return cmp_id(&((const struct view_row *)a)->id, &((const struct view_row *)b)->id);
}

int bf_run_view_new(bf_run_view **out, const bf_plan *plan, bf_run *run)
{
    bf_run_view *v;
    bf_batch_list *l = NULL;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_run_view_new: out is NULL");
    *out = NULL;
    if (!plan || !run)
        return bf__error(BF_E_INVALID, "bf_run_view_new: plan and run are required");
    if (strcmp(bf_plan_fingerprint(plan), bf_run_plan_fingerprint(run)) != 0)
        return bf__error(BF_E_CONFLICT, "bf_run_view_new: the plan has fingerprint %s, but run "
                         "%lld was planned as %s: not the same batches", bf_plan_fingerprint(plan),
                         (long long)bf_run_id(run), bf_run_plan_fingerprint(run));
    v = bf__calloc(1, sizeof *v);
    if (!v)
        return bf__nomem();
    v->plan = plan;
    rc = bf__runner_extend_plan(&v->halves, plan, run);
    if (rc == BF_OK)
        rc = bf_run_batches(&l, run, -1);
    if (rc == BF_OK) {
        v->rows = bf__calloc(bf_batch_list_count(l) + 1, sizeof *v->rows);
        if (!v->rows)
            rc = bf__nomem();
    }
    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++) {
        int st = bf_batch_list_state(l, i);
        struct view_row *r = &v->rows[v->count++];

        r->id = bf_batch_list_id(l, i);
        r->ordinal = bf_batch_list_ordinal(l, i);
        r->lo = bf_batch_list_lo(l, i);
        r->hi = bf_batch_list_hi(l, i);
        r->written = st == BF_BATCH_COMPLETED || st == BF_BATCH_VALIDATED;
        r->batch = bf__halves_batch(&v->halves, r->id, bf_batch_list_ordinal(l, i), r->lo, r->hi);
    }
    bf_batch_list_free(l);
    if (rc != BF_OK) {
        bf_run_view_free(v);
        return rc;
    }
    qsort(v->rows, v->count, sizeof *v->rows, cmp_row);
    *out = v;
    return BF_OK;
}

void bf_run_view_free(bf_run_view *view)
{
    if (!view)
        return;
    bf__halves_dispose(&view->halves);
    bf__free(view->rows);
    bf__free(view);
}

const bf_plan *bf_run_view_plan(const bf_run_view *view)
{
    return view ? view->halves.plan : NULL;
}

const bf_batch *bf_run_view_batch(const bf_run_view *view, int64_t batch_id)
{
    struct view_row key = {batch_id, 0, 0, 0, 0, NULL};
    const struct view_row *r;

    if (!view || !view->count)
        return NULL;
    r = bsearch(&key, view->rows, view->count, sizeof *view->rows, cmp_row);
    return r ? r->batch : NULL;
}

static int cmp_range(const void *a, const void *b)
{
    const int64_t *x = a, *y = b;

    return x[0] < y[0] ? -1 : x[0] > y[0];
}

int bf_run_view_written(size_t **out, size_t *count, const bf_run_view *view)
{
    size_t n = 0, k = 0, m = 0, total;
    int64_t (*r)[2];
    size_t *ords;

    if (!out || !count || !view)
        return bf__error(BF_E_INVALID, "bf_run_view_written: out, count and view are required");
    *out = NULL;
    *count = 0;
    total = bf_plan_count(view->plan);
    r = bf__calloc(view->count + 1, sizeof *r);
    ords = bf__calloc(total + 1, sizeof *ords);
    if (!r || !ords) {
        bf__free(r);
        bf__free(ords);
        return bf__nomem();
    }
    if (bf_plan_dimension(view->plan) != BF_DIM_KEY) {
        /* Only key ranges are ever cut: a written batch is the plan's own at its ordinal. */
        unsigned char *seen = bf__calloc(total + 1, 1);

        if (!seen) {
            bf__free(r);
            bf__free(ords);
            return bf__nomem();
        }
        for (k = 0; k < view->count; k++)
            if (view->rows[k].written && view->rows[k].ordinal >= 0 &&
                (size_t)view->rows[k].ordinal < total)
                seen[view->rows[k].ordinal] = 1;
        for (size_t i = 0; i < total; i++)
            if (seen[i])
                ords[(*count)++] = i;
        bf__free(seen);
        bf__free(r);
        *out = ords;
        return BF_OK;
    }
    /* The written ranges, merged where they touch. */
    for (size_t i = 0; i < view->count; i++)
        if (view->rows[i].written) {
            r[n][0] = view->rows[i].lo;
            r[n++][1] = view->rows[i].hi;
        }
    if (n)
        qsort(r, n, sizeof *r, cmp_range);
    for (size_t i = 0; i < n; i++) {
        if (m && r[i][0] <= r[m - 1][1]) {
            if (r[i][1] > r[m - 1][1])
                r[m - 1][1] = r[i][1];
        } else {
            r[m][0] = r[i][0];
            r[m++][1] = r[i][1];
        }
    }
    /* A plan batch is written when one merged range holds it (ranges and batches both by lo). */
    for (size_t i = 0; i < total; i++) {
        const bf_batch *b = bf_plan_batch(view->plan, i);

        for (k = 0; k < m; k++)
            if (r[k][0] <= bf_batch_lo(b) && bf_batch_hi(b) <= r[k][1])
                break;
        if (k < m)
            ords[(*count)++] = i;
    }
    bf__free(r);
    *out = ords;
    return BF_OK;
}
