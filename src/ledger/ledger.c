/*
 * Ledger handles: opening the store with the host's options, the clock,
 * transactions and audit events shared by runs and batches.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ledger/ledger_internal.h"
#include "ledger/versions.h"

static int64_t system_clock(void *userdata)
{
    struct timespec ts;

    (void)userdata;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A store is usable only when it provides every member this library calls (vt is the copy). */
static int check_store(const bf_store_vtable *vt, const char *path)
{
#define NEED(member) \
    if (!vt->member) \
        return bf__error(BF_E_UNSUPPORTED, "ledger %s: the store does not provide " #member, path)

    NEED(open);
    NEED(close);
    NEED(begin);
    NEED(commit);
    NEED(rollback);
    NEED(run_insert);
    NEED(run_get);
    NEED(run_update);
    NEED(run_find);
    NEED(run_list);
    NEED(batch_insert);
    NEED(batch_get);
    NEED(batch_update);
    NEED(batch_next_pending);
    NEED(batch_running);
    NEED(batch_counts);
    NEED(batch_list);
    NEED(event_append);
    NEED(event_list);
#undef NEED
    return BF_OK;
}

static char *default_actor(void)
{
    const char *user = bf__env(BF__ENV_USER, NULL); /* read once, at the first need */

    if (user)
        return bf__asprintf("%s pid %ld", user, (long)getpid());
    return bf__asprintf("pid %ld", (long)getpid());
}

int bf_ledger_open(bf_ledger **out, const char *path, const bf_ledger_options *host_opts)
{
    bf_ledger_options defaults = BF_LEDGER_OPTIONS_INIT, copy, *opts = &copy;
    bf_store_config config = {BF_STORE_CONFIG_VERSION, 0, 0, 1};
    char op[300];
    bf_ledger *l;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_ledger_open: out is NULL");
    *out = NULL;
    if (!path || !path[0])
        return bf__error(BF_E_INVALID, "bf_ledger_open: no ledger path given");
    bf__snprintf(op, sizeof op, "ledger %s", path);
    /* Members of a later version than the host's take their defaults. */
    if (bf__struct_read(&copy, host_opts ? host_opts : &defaults, &bf__ledger_options_desc, op))
        return BF_E_ABI;
    if (opts->durability != BF_DURABILITY_FULL && opts->durability != BF_DURABILITY_NORMAL)
        return bf__error(BF_E_INVALID, "ledger %s: durability %d is neither full nor normal",
                         path, (int)opts->durability);
    l = bf__calloc(1, sizeof *l);
    if (!l)
        return bf__nomem();
    rc = bf__vtable_check(&l->store_vt, opts->store ? opts->store : bf_store_sqlite(),
                          &bf__store_vtable_desc, op);
    if (rc != BF_OK) {
        bf__free(l);
        return rc;
    }
    l->store = &l->store_vt;
    l->clock = opts->clock ? opts->clock : system_clock;
    l->clock_userdata = opts->clock ? opts->clock_userdata : NULL;
    l->pid = getpid();
    l->path = bf__strdup(path);
    l->actor = opts->actor ? bf__strdup(opts->actor) : default_actor();
    if (!l->path || !l->actor) {
        bf_ledger_close(l);
        return bf__nomem();
    }
    rc = check_store(l->store, path);
    if (rc == BF_OK) {
        l->store_userdata = opts->store_userdata;
        config.durability = (int)opts->durability;
        config.busy_timeout_ms = opts->busy_timeout_ms > 0 ? opts->busy_timeout_ms : 10000;
        config.create = !(opts->flags & BF_LEDGER_MUST_EXIST);
        rc = BF__STORE(l, open, (l->store_userdata, &l->db, path, &config));
    }
    if (rc != BF_OK) {
        bf_ledger_close(l); /* the host keeps store_userdata: free_store_userdata is not set yet */
        return rc;
    }
    l->free_store_userdata = opts->free_store_userdata;
    *out = l;
    return BF_OK;
}

void bf_ledger_close(bf_ledger *ledger)
{
    if (!ledger)
        return;
    /*
     * In a child after fork() the store's connection belongs to the parent:
     * closing it here could checkpoint or delete files under the parent's
     * feet. Only the library's memory is released: the handle's, and the
     * built-in store's own (a host's store is left as it is).
     */
    if (ledger->pid == getpid()) {
        if (ledger->db)
            ledger->store->close(ledger->db);
        if (ledger->free_store_userdata)
            ledger->free_store_userdata(ledger->store_userdata);
    } else {
        bf__store_sqlite_forget(ledger->store, ledger->db);
    }
    bf__free(ledger->path);
    bf__free(ledger->actor);
    bf__free(ledger);
}

const char *bf_ledger_path(const bf_ledger *ledger)
{
    return ledger ? ledger->path : NULL;
}

const char *bf_ledger_last_error(const bf_ledger *ledger)
{
    return ledger ? ledger->err.msg : "";
}

int64_t bf__ledger_now(bf_ledger *ledger)
{
    return ledger->clock(ledger->clock_userdata);
}

int bf__store_result(bf_ledger *ledger, int rc, const char *member)
{
    if (rc == BF_OK)
        return BF_OK;
    if (rc > 0)
        return bf__error(BF_E_INTERNAL, "ledger %s: the store's %s returned %d, which is not a "
                         "status code", ledger->path, member, rc);
    if (bf_last_error_code() != rc || !bf_last_error()[0])
        bf__error(rc, "ledger %s: the store's %s failed: %s (%s, no message given)", ledger->path,
                  member, bf_errdesc(rc), bf_errstr(rc));
    return rc;
}

int bf__ledger_fail(bf_ledger *ledger, int code)
{
    if (code == BF_OK)
        code = bf__error(BF_E_INTERNAL, "ledger %s: an operation failed without a status code",
                         ledger->path);
    else if (bf_last_error_code() != code || !bf_last_error()[0])
        bf__error(code, "ledger %s: %s", ledger->path, bf_errdesc(code));
    bf__herror_from_thread(&ledger->err);
    return code;
}

int bf__ledger_begin(bf_ledger *ledger, int write)
{
    pid_t now = getpid();

    if (now != ledger->pid)
        return bf__herror(&ledger->err, BF_E_STATE,
                          "ledger %s: the handle was opened in process %ld and used in process "
                          "%ld; a handle must not cross fork(): open a new one in the child",
                          ledger->path, (long)ledger->pid, (long)now);
    return BF__STORE(ledger, begin, (ledger->db, write));
}

int bf__ledger_commit(bf_ledger *ledger)
{
    int rc;

    if (ledger->pid != getpid())
        return BF_E_STATE; /* begin refused and said why */
    rc = BF__STORE(ledger, commit, (ledger->db));

    if (rc != BF_OK)
        bf__ledger_rollback(ledger);
    return rc;
}

void bf__ledger_rollback(bf_ledger *ledger)
{
    char msg[BF_ERRMSG_MAX];
    int code = bf_last_error_code();

    if (ledger->pid != getpid())
        return;
    memcpy(msg, bf_last_error(), sizeof msg);
    ledger->store->rollback(ledger->db);
    if (code != BF_OK)
        bf__error(code, "%s", msg);
    else
        bf_clear_error();
}

int bf__ledger_event(bf_ledger *ledger, int64_t run_id, int64_t batch_id, const char *subject,
                     const char *from, const char *to, const char *detail)
{
    bf_store_event e;

    memset(&e, 0, sizeof e);
    e.run_id = run_id;
    e.batch_id = batch_id;
    e.subject = subject;
    e.from_state = from;
    e.to_state = to;
    e.actor = ledger->actor;
    e.at = bf__ledger_now(ledger);
    e.detail = detail;
    return BF__STORE(ledger, event_append, (ledger->db, &e));
}

static int parse_run_id(int64_t *out, const char *ref)
{
    char *end;
    long long v;

    if (!ref[0] || ref[0] < '0' || ref[0] > '9')
        return 0;
    v = strtoll(ref, &end, 10);
    if (*end || v <= 0)
        return 0;
    *out = v;
    return 1;
}

int bf_ledger_find_run(int64_t *out, bf_ledger *ledger, const char *ref)
{
    bf_store_run rec;
    int64_t id;
    int rc;

    if (!out || !ledger || !ref)
        return bf__error(BF_E_INVALID, "bf_ledger_find_run: out, ledger and ref are required");
    rc = bf__ledger_begin(ledger, 0);
    if (rc == BF_OK) {
        if (parse_run_id(&id, ref)) {
            rc = BF__STORE(ledger, run_get, (ledger->db, &rec, id));
            if (rc == BF_E_NOT_FOUND)
                rc = bf__error(BF_E_NOT_FOUND, "ledger %s: no run %s", ledger->path, ref);
        } else {
            rc = BF__STORE(ledger, run_find, (ledger->db, &id, ref, 0));
            if (rc == BF_E_NOT_FOUND)
                rc = bf__error(BF_E_NOT_FOUND, "ledger %s: no run with id or brief name '%s'",
                               ledger->path, ref);
        }
        bf__ledger_rollback(ledger);
    }
    if (rc != BF_OK)
        return bf__ledger_fail(ledger, rc);
    *out = id;
    return BF_OK;
}
