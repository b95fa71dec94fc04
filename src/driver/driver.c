/*
 * The bf_driver handle: checks arguments and vtable versions, creates the
 * result objects, dispatches to the vtable and keeps the handle's last error.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "common/versioned.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"

struct bf_driver {
    bf_driver_vtable vt;
    void *userdata;
    void (*free_userdata)(void *userdata);
    pid_t pid; /* the process that created it: the handle must not cross fork() */
    bf__errbuf err;
};

static const size_t driver_vtable_sizes[] = {0, BF__SIZE_TO(bf_driver_vtable, last_error),
                                             BF__SIZE_TO(bf_driver_vtable, count_batches),
                                             sizeof(bf_driver_vtable)};
static const bf__struct_desc driver_vtable_desc = {"driver vtable", BF_DRIVER_VTABLE_VERSION,
                                                   driver_vtable_sizes, NULL};

bf__sql *bf__driver_sql(bf_driver *d)
{
    if (!d || d->vt.profile != bf__sql_profile || d->vt.stage != bf__sql_stage)
        return NULL;
    return d->userdata;
}

int bf__driver_consume_staging(bf_driver *d)
{
    bf__sql *s = bf__driver_sql(d);

    if (s)
        s->consume_stage = 1;
    return s != NULL;
}

int bf__driver_set_owner(bf_driver *d, const char *owner)
{
    bf__sql *s = bf__driver_sql(d);

    return s ? bf__sql_set_owner(s, owner) : BF_OK;
}

int bf__driver_foreign_run(bf_driver *d, const char *table, int64_t run)
{
    bf__sql *s = bf__driver_sql(d);

    return s ? bf__sql_foreign_run(s, table, run) : BF_OK;
}

int bf__driver_snapshot_views(bf_driver *d, const char *table, int64_t run, size_t batch,
                              int *has, const char **rows, const char **keys)
{
    bf__sql *s = bf__driver_sql(d);

    *has = 0;
    if (rows)
        *rows = NULL;
    if (keys)
        *keys = NULL;
    return s ? bf__sql_snapshot_views(s, table, run, batch, has, rows, keys) : BF_OK;
}

int bf__driver_run_fences(bf_driver *d, const char *table, int64_t run, const char *owner,
                          int64_t *mine, char **other)
{
    bf__sql *s = bf__driver_sql(d);

    *mine = -1;
    *other = NULL;
    return s ? bf__sql_run_fences(s, table, run, owner, mine, other) : BF_OK;
}

int bf__driver_swap(bf_driver *d, const char *table, const char *out, const char *in)
{
    bf__sql *s = bf__driver_sql(d);

    return s ? bf__sql_swap(s, table, out, in) : BF_E_UNSUPPORTED;
}

int bf__driver_check_select(bf_driver *d, const char *select, const char *where)
{
    bf__sql *s = bf__driver_sql(d);
    void *h = NULL;
    int rc;

    if (!s || !select)
        return BF_OK;
    if ((rc = s->vt.prepare(s->ud, &h, select)) == BF_OK) {
        s->vt.finalize(s->ud, h);
        return BF_OK;
    }
    /* The warehouse's own words for what the statement names that it lacks. */
    {
        const char *msg = s->vt.error_message ? s->vt.error_message(s->ud) : NULL;

        if (rc != BF_E_DRIVER && rc >= 0 && rc != BF_E_NOMEM)
            rc = BF_E_DRIVER;
        if (rc != BF_E_DRIVER)
            return bf__sql_fail(s, rc, select);
        return bf__error(BF_E_INVALID, "%s: the job does not compile against the warehouse: %s",
                         where, msg && msg[0] ? msg : "the driver gave no message");
    }
}

int bf__driver_execute_atomic(bf_driver *d, const char *sql)
{
    bf__sql *s = bf__driver_sql(d);
    int rc;

    if (!s)
        return bf_driver_execute(d, sql);
    if ((rc = bf__sql_begin(s)) != BF_OK)
        return rc;
    if ((rc = bf_driver_execute(d, sql)) == BF_OK && (rc = bf__sql_commit(s)) == BF_OK)
        return BF_OK;
    bf__error(rc, "%s", bf_driver_last_error(d)[0] ? bf_driver_last_error(d) : bf_last_error());
    bf__sql_rollback(s);
    return rc;
}

int bf__driver_create_like(bf_driver *d, const char *table, const char *name)
{
    bf__sql *s = bf__driver_sql(d);

    return s ? bf__sql_create_like(s, table, name) : BF_E_UNSUPPORTED;
}

int bf__driver_forget_fences(bf_driver *d, const char *table, int64_t run)
{
    bf__sql *s = bf__driver_sql(d);

    return s ? bf__sql_forget_fences(s, table, run) : BF_OK;
}

int bf_driver_vtable_init(bf_driver_vtable *vtable, unsigned version)
{
    return bf__struct_init(vtable, version, &driver_vtable_desc);
}

int bf_driver_new(bf_driver **out, const bf_driver_vtable *vtable, void *userdata,
                  void (*free_userdata)(void *userdata))
{
    bf_driver_vtable vt;
    bf_driver *d;

    if (!out || !vtable)
        return bf__error(BF_E_INVALID, "bf_driver_new: NULL argument");
    *out = NULL;
    if (bf__vtable_check(&vt, vtable, &driver_vtable_desc, "bf_driver_new") != BF_OK)
        return BF_E_ABI;
    d = bf__calloc(1, sizeof *d);
    if (!d)
        return bf__nomem();
    /* The vtable is copied up to the host's version; later members stay NULL. */
    d->vt = vt;
    d->userdata = userdata;
    d->free_userdata = free_userdata;
    d->pid = getpid();
    *out = d;
    return BF_OK;
}

void bf_driver_free(bf_driver *driver)
{
    if (!driver)
        return;
    /*
     * In a child after fork() the connection is the parent's: leave it
     * alone, and release only the library's memory (a host's userdata is
     * the host's: free_userdata is not called).
     */
    if (driver->pid == getpid()) {
        if (driver->free_userdata)
            driver->free_userdata(driver->userdata);
    } else {
        bf__sql_forget(bf__driver_sql(driver));
    }
    bf__free(driver);
}

const char *bf_driver_last_error(const bf_driver *driver)
{
    return driver ? driver->err.msg : "";
}

int bf_driver_last_error_code(const bf_driver *driver)
{
    return driver ? driver->err.code : BF_E_INVALID;
}

/* ---- dispatch helpers ---- */

/* Refuse a missing member; otherwise clear the thread's error so we can tell whether the member set one. */
static int op_begin(bf_driver *d, int provided, const char *op)
{
    pid_t now = getpid();

    if (now != d->pid)
        return bf__herror(&d->err, BF_E_STATE,
                          "driver: %s: the handle was created in process %ld and used in process "
                          "%ld; a handle must not cross fork(): create a new one in the child",
                          op, (long)d->pid, (long)now);
    if (!provided)
        return bf__herror(&d->err, BF_E_UNSUPPORTED, "driver: %s is not supported by this driver",
                          op);
    bf_clear_error();
    return BF_OK;
}

/* Record a member's failure on the handle, with a message even if the member left none. */
static int op_end(bf_driver *d, int rc, const char *op)
{
    const char *msg;

    if (rc == BF_OK)
        return BF_OK;
    if (rc > 0)
        rc = BF_E_DRIVER;
    if (bf_last_error_code() == BF_OK || bf_last_error_code() != rc) {
        msg = d->vt.last_error ? d->vt.last_error(d->userdata) : NULL;
        bf__error(rc, "driver: %s failed: %s", op, msg && msg[0] ? msg : bf_errdesc(rc));
    }
    return bf__herror_from_thread(&d->err);
}

static int fail(bf_driver *d, int code, const char *fmt, const char *arg)
{
    if (d)
        return bf__herror(&d->err, code, fmt, arg);
    return bf__error(code, fmt, arg);
}

static int check_scope(bf_driver *d, const bf_plan *plan, const bf_batch *batch, const char *op)
{
    if (!batch)
        return BF_OK;
    if (!plan || bf_plan_batch(plan, bf_batch_ordinal(batch)) != batch)
        return fail(d, BF_E_INVALID, "driver: %s: the batch does not belong to the plan given", op);
    return BF_OK;
}

static int check_names(bf_driver *d, const char *const *names, size_t count, const char *op)
{
    if (count && !names)
        return fail(d, BF_E_INVALID, "driver: %s: NULL column list", op);
    for (size_t i = 0; i < count; i++)
        if (!names[i])
            return fail(d, BF_E_INVALID, "driver: %s: NULL column name", op);
    return BF_OK;
}

static const bf_write_spec write_spec_defaults = {
    .version = BF_WRITE_SPEC_VERSION, .strategy = BF_WRITE_PARTITION_OVERWRITE};
static const size_t write_spec_sizes[] = {0, sizeof(bf_write_spec)};
static const bf__struct_desc write_spec_desc = {"write spec", BF_WRITE_SPEC_VERSION,
                                                write_spec_sizes, &write_spec_defaults};
static const bf_publish_result publish_result_defaults = BF_PUBLISH_RESULT_INIT;
static const size_t publish_result_sizes[] = {0, sizeof(bf_publish_result)};
static const bf__struct_desc publish_result_desc = {"publish result", BF_PUBLISH_RESULT_VERSION,
                                                    publish_result_sizes,
                                                    &publish_result_defaults};
static const bf_profile_spec profile_spec_defaults = BF_PROFILE_SPEC_INIT;
static const size_t profile_spec_sizes[] = {0, sizeof(bf_profile_spec)};
static const bf__struct_desc profile_spec_desc = {"profile spec", BF_PROFILE_SPEC_VERSION,
                                                  profile_spec_sizes, &profile_spec_defaults};

static int check_spec(bf_driver *d, const bf_write_spec *spec, const char *op)
{
    unsigned version;

    if (!spec)
        return fail(d, BF_E_INVALID, "driver: %s: NULL write spec", op);
    if (bf__struct_version(&version, spec, &write_spec_desc, op) != BF_OK)
        return bf__herror_from_thread(&d->err);
    if (!spec->table)
        return fail(d, BF_E_INVALID, "driver: %s: the write spec names no table", op);
    if (!bf_write_strategy_name(spec->strategy))
        return fail(d, BF_E_INVALID, "driver: %s: unknown write strategy", op);
    if (check_names(d, spec->key, spec->key_count, op) ||
        check_names(d, spec->columns, spec->column_count, op))
        return BF_E_INVALID;
    return BF_OK;
}

#define NEED(d, cond, op)                                                   \
    do {                                                                    \
        if (!(d))                                                           \
            return bf__error(BF_E_INVALID, "driver: %s: NULL driver", op); \
        if (!(cond))                                                        \
            return fail(d, BF_E_INVALID, "driver: %s: NULL argument", op);  \
    } while (0)

/* ---- write specs and results ---- */

int bf_write_spec_init(bf_write_spec *spec, unsigned version)
{
    return bf__struct_init(spec, version, &write_spec_desc);
}

int bf_publish_result_init(bf_publish_result *result, unsigned version)
{
    return bf__struct_init(result, version, &publish_result_desc);
}

int bf_profile_spec_init(bf_profile_spec *spec, unsigned version)
{
    return bf__struct_init(spec, version, &profile_spec_desc);
}

/* ---- operations ---- */

int bf_driver_describe(bf_table_info **out, bf_driver *d, const char *table)
{
    bf_table_info *info;
    int rc;

    NEED(d, out && table, "describe");
    *out = NULL;
    if ((rc = op_begin(d, d->vt.describe != NULL, "describe")) != BF_OK)
        return rc;
    if (bf__table_info_new(&info) != BF_OK)
        return bf__herror_from_thread(&d->err);
    rc = op_end(d, d->vt.describe(d->userdata, info, table), "describe");
    if (rc == BF_OK && info->count == 0)
        rc = bf__herror(&d->err, BF_E_NOT_FOUND, "table %s: no such table", table);
    if (rc != BF_OK) {
        bf_table_info_free(info);
        return rc;
    }
    *out = info;
    return BF_OK;
}

int bf_driver_stage(int64_t *out, bf_driver *d, const bf_write_spec *spec, const bf_plan *plan,
                    const bf_batch *batch, int64_t run)
{
    int64_t rows = 0;
    int rc;

    NEED(d, batch, "stage");
    if ((rc = check_spec(d, spec, "stage")) || (rc = check_scope(d, plan, batch, "stage")))
        return rc;
    if (!spec->select)
        return fail(d, BF_E_INVALID, "driver: stage %s: the write spec has no job select",
                    spec->table);
    if ((rc = op_begin(d, d->vt.stage != NULL, "stage")) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.stage(d->userdata, &rows, spec, plan, batch, run), "stage");
    if (rc == BF_OK && out)
        *out = rows;
    return rc;
}

int bf_driver_publish(bf_publish_result *out, bf_driver *d, const bf_write_spec *spec,
                      const bf_plan *plan, const bf_batch *batch, int64_t run, int64_t token)
{
    bf_publish_result result = BF_PUBLISH_RESULT_INIT;
    unsigned version;
    int rc;

    NEED(d, batch, "publish");
    if ((rc = check_spec(d, spec, "publish")) || (rc = check_scope(d, plan, batch, "publish")))
        return rc;
    if (out && bf__struct_version(&version, out, &publish_result_desc, "driver: publish") != BF_OK)
        return bf__herror_from_thread(&d->err);
    if ((rc = op_begin(d, d->vt.publish != NULL, "publish")) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.publish(d->userdata, &result, spec, plan, batch, run, token), "publish");
    if (rc == BF_OK && out)
        bf__struct_write(out, &result, &publish_result_desc); /* up to the host's version */
    return rc;
}

int bf__driver_publish_measured(bf_publish_result *out, bf_driver *d, const bf_write_spec *spec,
                                const bf_plan *plan, const bf_batch *batch, int64_t run,
                                int64_t token, bf__publish_measure measure, void *ctx,
                                int *measured)
{
    bf__sql *s = bf__driver_sql(d);
    int rc;

    *measured = 0;
    if (!s || !measure)
        return bf_driver_publish(out, d, spec, plan, batch, run, token);
    s->measure = measure;
    s->measure_ctx = ctx;
    s->measured = 0;
    rc = bf_driver_publish(out, d, spec, plan, batch, run, token);
    *measured = s->measured;
    s->measure = NULL;
    s->measure_ctx = NULL;
    s->measured = 0;
    return rc;
}

typedef int (*batch_op)(void *, const bf_write_spec *, const bf_plan *, const bf_batch *, int64_t);

static int run_batch_op(bf_driver *d, batch_op member, const char *op, const bf_write_spec *spec,
                        const bf_plan *plan, const bf_batch *batch, int64_t run)
{
    int rc;

    NEED(d, batch, op);
    if ((rc = check_spec(d, spec, op)) || (rc = check_scope(d, plan, batch, op)))
        return rc;
    if ((rc = op_begin(d, member != NULL, op)) != BF_OK)
        return rc;
    return op_end(d, member(d->userdata, spec, plan, batch, run), op);
}

int bf_driver_restore(bf_driver *d, const bf_write_spec *spec, const bf_plan *plan,
                      const bf_batch *batch, int64_t run)
{
    return run_batch_op(d, d ? d->vt.restore : NULL, "restore", spec, plan, batch, run);
}

int bf_driver_snapshot_views(bf_driver *d, const char *table, const bf_batch *batch, int64_t run,
                             const char **rows, const char **keys)
{
    int has = 0, rc;

    if (rows)
        *rows = NULL;
    if (keys)
        *keys = NULL;
    if (!d || !table || !batch || !rows || !keys)
        return bf__error(BF_E_INVALID, "bf_driver_snapshot_views: %s is NULL",
                         !d ? "driver" : !table ? "table" : !batch ? "batch" : !rows ? "rows"
                                                                                      : "keys");
    if (!bf__driver_sql(d))
        return bf__error(BF_E_UNSUPPORTED, "bf_driver_snapshot_views: the driver keeps its "
                         "snapshots its own way (a host's vtable), not in libbackfill's tables");
    rc = bf__driver_snapshot_views(d, table, run, bf_batch_ordinal(batch), &has, rows, keys);
    if (rc == BF_OK && !has)
        rc = bf__error(BF_E_NOT_FOUND, "batch %s of %s (run %lld) has no snapshot",
                       bf_batch_label(batch), table, (long long)run);
    return rc;
}

int bf_driver_drop_snapshot(bf_driver *d, const bf_write_spec *spec, const bf_plan *plan,
                            const bf_batch *batch, int64_t run)
{
    return run_batch_op(d, d ? d->vt.drop_snapshot : NULL, "drop_snapshot", spec, plan, batch,
                        run);
}

int bf_driver_drop_staging(bf_driver *d, const bf_write_spec *spec, const bf_plan *plan,
                           const bf_batch *batch, int64_t run)
{
    return run_batch_op(d, d ? d->vt.drop_staging : NULL, "drop_staging", spec, plan, batch, run);
}

int bf_driver_cutover(bf_driver *d, const bf_write_spec *spec, int64_t run, int keep)
{
    int rc;

    NEED(d, 1, "cutover");
    if ((rc = check_spec(d, spec, "cutover")) != BF_OK)
        return rc;
    if ((rc = op_begin(d, d->vt.cutover != NULL, "cutover")) != BF_OK)
        return rc;
    return op_end(d, d->vt.cutover(d->userdata, spec, run, keep), "cutover");
}

int bf_driver_fence(bf_driver *d, const char *table, int64_t run, size_t batch, int64_t token)
{
    int rc;

    NEED(d, table, "fence");
    if ((rc = op_begin(d, d->vt.fence != NULL, "fence")) != BF_OK)
        return rc;
    return op_end(d, d->vt.fence(d->userdata, table, run, batch, token), "fence");
}

int bf_driver_fingerprint(bf_fingerprint *out, bf_driver *d, const char *table,
                          const char *const *columns, size_t column_count, const bf_plan *plan,
                          const bf_batch *batch)
{
    bf_fingerprint fp = {0, 0, 0};
    int rc;

    NEED(d, out && table, "fingerprint");
    if ((rc = check_names(d, columns, column_count, "fingerprint")) ||
        (rc = check_scope(d, plan, batch, "fingerprint")))
        return rc;
    if ((rc = op_begin(d, d->vt.fingerprint != NULL, "fingerprint")) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.fingerprint(d->userdata, &fp, table, columns, column_count, plan, batch),
                "fingerprint");
    if (rc == BF_OK)
        *out = fp;
    return rc;
}

int bf_driver_profile(bf_profile **out, bf_driver *d, const char *table,
                      const bf_profile_spec *spec, const bf_plan *plan, const bf_batch *batch)
{
    bf_profile *p;
    unsigned version;
    int rc;

    NEED(d, out && table && spec, "profile");
    *out = NULL;
    if (bf__struct_version(&version, spec, &profile_spec_desc, "driver: profile") != BF_OK)
        return bf__herror_from_thread(&d->err);
    if ((rc = check_names(d, spec->null_columns, spec->null_count, "profile")) ||
        (rc = check_names(d, spec->sum_columns, spec->sum_count, "profile")) ||
        (rc = check_names(d, spec->minmax_columns, spec->minmax_count, "profile")) ||
        (rc = check_names(d, spec->fingerprint_columns, spec->fingerprint_count, "profile")) ||
        (rc = check_scope(d, plan, batch, "profile")))
        return rc;
    if ((rc = op_begin(d, d->vt.profile != NULL, "profile")) != BF_OK)
        return rc;
    if (bf__profile_new(&p, spec) != BF_OK)
        return bf__herror_from_thread(&d->err);
    rc = op_end(d, d->vt.profile(d->userdata, p, table, spec, plan, batch), "profile");
    if (rc == BF_OK && spec->fingerprint && !p->has_fingerprint)
        rc = bf__herror(&d->err, BF_E_DRIVER, "driver: profile of %s gave no fingerprint", table);
    if (rc != BF_OK) {
        bf_profile_free(p);
        return rc;
    }
    *out = p;
    return BF_OK;
}

/* Rows named by `names` plus, when `extra` is set, one more column called extra. */
static int new_rows(bf_driver *d, bf_rows **out, const char *const *names, size_t count,
                    const char *extra)
{
    const char **all = bf__calloc(count + 1, sizeof *all);
    int rc;

    if (!all)
        return bf__herror(&d->err, BF_E_NOMEM, "out of memory");
    for (size_t i = 0; i < count; i++)
        all[i] = names[i];
    if (extra)
        all[count++] = extra;
    rc = bf__rows_new(out, all, count);
    bf__free(all);
    return rc == BF_OK ? BF_OK : bf__herror_from_thread(&d->err);
}

/* Hand rows to the caller when the member succeeded; free them otherwise. */
static int give_rows(bf_rows **out, bf_rows *rows, int rc)
{
    if (rc == BF_OK && out)
        *out = rows;
    else
        bf_rows_free(rows);
    return rc;
}

int bf_driver_duplicates(bf_rows **out, int64_t *out_count, bf_driver *d, const char *table,
                         const char *const *key, size_t key_count, size_t max_samples,
                         const bf_plan *plan, const bf_batch *batch)
{
    bf_rows *rows;
    int64_t count = 0;
    int rc;

    NEED(d, out_count && table && key && key_count, "duplicates");
    if (out)
        *out = NULL;
    if ((rc = check_names(d, key, key_count, "duplicates")) ||
        (rc = check_scope(d, plan, batch, "duplicates")))
        return rc;
    if ((rc = op_begin(d, d->vt.duplicates != NULL, "duplicates")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, key, key_count, "rows")) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.duplicates(d->userdata, rows, &count, table, key, key_count,
                                     out ? max_samples : 0, plan, batch), "duplicates");
    if (rc == BF_OK)
        *out_count = count;
    return give_rows(out, rows, rc);
}

int bf_driver_orphans(bf_rows **out, int64_t *out_count, bf_driver *d, const char *table,
                      const char *const *columns, size_t column_count, const char *parent,
                      const char *const *parent_columns, size_t max_samples, const bf_plan *plan,
                      const bf_batch *batch)
{
    bf_rows *rows;
    int64_t count = 0;
    int rc;

    NEED(d, out_count && table && parent && columns && parent_columns && column_count, "orphans");
    if (out)
        *out = NULL;
    if ((rc = check_names(d, columns, column_count, "orphans")) ||
        (rc = check_names(d, parent_columns, column_count, "orphans")) ||
        (rc = check_scope(d, plan, batch, "orphans")))
        return rc;
    if ((rc = op_begin(d, d->vt.orphans != NULL, "orphans")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, columns, column_count, "rows")) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.orphans(d->userdata, rows, &count, table, columns, column_count, parent,
                                  parent_columns, out ? max_samples : 0, plan, batch), "orphans");
    if (rc == BF_OK)
        *out_count = count;
    return give_rows(out, rows, rc);
}

int bf_driver_segments(bf_rows **out, bf_driver *d, const char *table, const char *const *columns,
                       size_t column_count, const char *key_column, int64_t lo, int64_t hi,
                       int64_t width)
{
    static const char *const names[] = {"segment", "rows", "fingerprint"};
    bf_rows *rows;
    int rc;

    NEED(d, out && table && key_column, "segments");
    *out = NULL;
    if ((rc = check_names(d, columns, column_count, "segments")) != BF_OK)
        return rc;
    if (width <= 0 || lo > hi)
        return fail(d, BF_E_INVALID, "driver: segments of %s: need lo <= hi and width > 0", table);
    if ((rc = op_begin(d, d->vt.segments != NULL, "segments")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, names, 3, NULL)) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.segments(d->userdata, rows, table, columns, column_count, key_column, lo,
                                   hi, width), "segments");
    return give_rows(out, rows, rc);
}

int bf_driver_fetch(bf_rows **out, bf_driver *d, const char *table, const char *const *columns,
                    size_t column_count, const char *key_column, const bf_value *lo,
                    const bf_value *hi, size_t limit)
{
    bf_table_info *info = NULL;
    const char **names = NULL;
    bf_rows *rows;
    int rc;

    NEED(d, out && table && key_column, "fetch");
    *out = NULL;
    if ((rc = check_names(d, columns, column_count, "fetch")) != BF_OK)
        return rc;
    if ((rc = op_begin(d, d->vt.fetch != NULL, "fetch")) != BF_OK)
        return rc;
    if (!columns || !column_count) {
        /* Every column: the result's names come from the table's description. */
        if ((rc = bf_driver_describe(&info, d, table)) != BF_OK)
            return rc;
        names = bf__calloc(info->count, sizeof *names);
        if (!names) {
            bf_table_info_free(info);
            return bf__herror(&d->err, BF_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < info->count; i++)
            names[i] = info->columns[i].name;
        columns = names;
        column_count = info->count;
    }
    rc = new_rows(d, &rows, columns, column_count, NULL);
    if (rc == BF_OK) {
        bf_clear_error();
        rc = op_end(d, d->vt.fetch(d->userdata, rows, table, columns, column_count, key_column, lo,
                                    hi, limit), "fetch");
        rc = give_rows(out, rows, rc);
    }
    bf__free(names);
    bf_table_info_free(info);
    return rc;
}

int bf_driver_key_boundaries(int64_t **out, size_t *out_count, bf_driver *d, const char *table,
                             const char *key_column, int64_t lo, int64_t hi, int64_t rows_per_batch)
{
    static const char *const names[] = {"boundary"};
    bf_rows *rows;
    int64_t *bounds;
    bf_value v;
    int rc;

    NEED(d, out && out_count && table && key_column, "key_boundaries");
    *out = NULL;
    *out_count = 0;
    if (rows_per_batch <= 0 || lo >= hi)
        return fail(d, BF_E_INVALID,
                    "driver: key boundaries of %s: need lo < hi and rows_per_batch > 0", table);
    if ((rc = op_begin(d, d->vt.key_boundaries != NULL, "key_boundaries")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, names, 1, NULL)) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.key_boundaries(d->userdata, rows, table, key_column, lo, hi,
                                         rows_per_batch), "key_boundaries");
    if (rc != BF_OK)
        return give_rows(NULL, rows, rc);
    bounds = bf__calloc(rows->count ? rows->count : 1, sizeof *bounds);
    if (!bounds) {
        bf_rows_free(rows);
        return bf__herror(&d->err, BF_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < rows->count; i++) {
        bf_rows_value(&v, rows, i, 0);
        if (v.type != BF_VALUE_INT || v.i < lo || v.i > hi || (i && v.i <= bounds[i - 1])) {
            bf__free(bounds);
            bf_rows_free(rows);
            return bf__herror(&d->err, BF_E_DRIVER,
                              "driver: key boundaries of %s are not increasing integers in range",
                              table);
        }
        bounds[i] = v.i;
    }
    if (rows->count < 2 || bounds[0] != lo || bounds[rows->count - 1] != hi) {
        bf__free(bounds);
        bf_rows_free(rows);
        return bf__herror(&d->err, BF_E_DRIVER,
                          "driver: key boundaries of %s must start at lo and end at hi", table);
    }
    *out_count = rows->count;
    *out = bounds;
    bf_rows_free(rows);
    return BF_OK;
}

int bf_driver_partitions(bf_rows **out, bf_driver *d, const char *table, const char *column)
{
    bf_rows *rows;
    int rc;

    NEED(d, out && table && column, "partitions");
    *out = NULL;
    if ((rc = op_begin(d, d->vt.partitions != NULL, "partitions")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, &column, 1, NULL)) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.partitions(d->userdata, rows, table, column), "partitions");
    return give_rows(out, rows, rc);
}

int bf_driver_execute(bf_driver *d, const char *sql)
{
    int rc;

    NEED(d, sql, "execute");
    if ((rc = op_begin(d, d->vt.execute != NULL, "execute")) != BF_OK)
        return rc;
    return op_end(d, d->vt.execute(d->userdata, sql), "execute");
}

/* Handle error helpers for the driver module's own composite operations. */
void bf__driver_clear_error(bf_driver *d)
{
    d->err.code = BF_OK;
    d->err.msg[0] = '\0';
}

int bf__driver_fail_from_thread(bf_driver *d)
{
    return bf__herror_from_thread(&d->err);
}

int bf_driver_count_batches(int64_t *out_counts, bf_driver *d, const bf_plan *plan,
                            const char *table)
{
    size_t n;
    int rc;

    NEED(d, out_counts && plan && table, "count_batches");
    if (d->pid != getpid())
        return op_begin(d, 1, "count_batches");
    n = bf_plan_count(plan);
    for (size_t i = 0; i < n; i++)
        out_counts[i] = 0;
    if (!d->vt.count_batches) {
        /* A driver without the member: one count per batch. */
        bf_profile_spec count_only = BF_PROFILE_SPEC_INIT;

        for (size_t i = 0; i < n; i++) {
            bf_profile *profile = NULL;

            rc = bf_driver_profile(&profile, d, table, &count_only, plan, bf_plan_batch(plan, i));
            if (rc != BF_OK)
                return rc;
            out_counts[i] = bf_profile_rows(profile);
            bf_profile_free(profile);
        }
        return BF_OK;
    }
    if ((rc = op_begin(d, 1, "count_batches")) != BF_OK)
        return rc;
    return op_end(d, d->vt.count_batches(d->userdata, out_counts, plan, table), "count_batches");
}

/* ---- segments by key hash (vtable version 3) ---- */

static int check_exprs(bf_driver *d, const char *const *exprs, size_t count, const char *op)
{
    if (count && !exprs)
        return fail(d, BF_E_INVALID, "driver: %s: NULL expression list", op);
    for (size_t i = 0; i < count; i++)
        if (!exprs[i] || !exprs[i][0])
            return fail(d, BF_E_INVALID, "driver: %s: empty expression", op);
    return BF_OK;
}

static int check_segments(bf_driver *d, int64_t segments, const char *op)
{
    if (segments <= 0 || segments > BF_SEGMENTS_MAX)
        return bf__herror(&d->err, BF_E_INVALID, "driver: %s: segments must be 1 to %d, not %lld",
                          op, BF_SEGMENTS_MAX, (long long)segments);
    return BF_OK;
}

int bf_driver_key_segments(bf_rows **out, bf_driver *d, const char *table,
                           const char *const *columns, size_t column_count,
                           const char *const *key, size_t key_count, int64_t segments,
                           const bf_plan *plan, const bf_batch *batch)
{
    static const char *const names[] = {"segment", "rows", "fingerprint"};
    bf_rows *rows;
    int rc;

    NEED(d, out && table && key && key_count, "key_segments");
    *out = NULL;
    if ((rc = check_names(d, columns, column_count, "key_segments")) ||
        (rc = check_names(d, key, key_count, "key_segments")) ||
        (rc = check_segments(d, segments, "key_segments")) ||
        (rc = check_scope(d, plan, batch, "key_segments")))
        return rc;
    if ((rc = op_begin(d, d->vt.key_segments != NULL, "key_segments")) != BF_OK)
        return rc;
    if ((rc = new_rows(d, &rows, names, 3, NULL)) != BF_OK)
        return rc;
    rc = op_end(d, d->vt.key_segments(d->userdata, rows, table, columns, column_count, key,
                                       key_count, segments, plan, batch), "key_segments");
    return give_rows(out, rows, rc);
}

/* Column names plus "expr1".."exprN"; *names_out freed by the caller, *strs too. */
static int expr_names(bf_driver *d, const char ***names_out, char **strs_out,
                      const char *const *cols, size_t col_count, size_t expr_count)
{
    /* "expr" and up to 20 digits of a size_t, and the NUL. */
    enum { NAME_MAX_LEN = 25 };
    const char **names = bf__calloc(col_count + expr_count + 1, sizeof *names);
    char *strs = bf__calloc(expr_count + 1, NAME_MAX_LEN);

    if (!names || !strs) {
        bf__free(names);
        bf__free(strs);
        return bf__herror(&d->err, BF_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < col_count; i++)
        names[i] = cols[i];
    for (size_t i = 0; i < expr_count; i++) {
        snprintf(strs + NAME_MAX_LEN * i, NAME_MAX_LEN, "expr%zu", i + 1);
        names[col_count + i] = strs + NAME_MAX_LEN * i;
    }
    *names_out = names;
    *strs_out = strs;
    return BF_OK;
}

int bf_driver_segment_rows(bf_rows **out, bf_driver *d, const char *table,
                           const char *const *columns, size_t column_count,
                           const char *const *expressions, size_t expression_count,
                           const char *const *key, size_t key_count, int64_t segments,
                           const int64_t *wanted, size_t wanted_count, const bf_plan *plan,
                           const bf_batch *batch)
{
    bf_table_info *info = NULL;
    const char **all = NULL, **names = NULL;
    char *strs = NULL;
    bf_rows *rows = NULL;
    int rc;

    NEED(d, out && table && key && key_count && (wanted || !wanted_count), "segment_rows");
    *out = NULL;
    if ((rc = check_names(d, columns, column_count, "segment_rows")) ||
        (rc = check_names(d, key, key_count, "segment_rows")) ||
        (rc = check_exprs(d, expressions, expression_count, "segment_rows")) ||
        (rc = check_segments(d, segments, "segment_rows")) ||
        (rc = check_scope(d, plan, batch, "segment_rows")))
        return rc;
    for (size_t i = 0; i < wanted_count; i++)
        if (wanted[i] < 0 || wanted[i] >= segments)
            return bf__herror(&d->err, BF_E_INVALID, "driver: segment_rows: segment %lld is not "
                              "one of %lld", (long long)wanted[i], (long long)segments);
    if ((rc = op_begin(d, d->vt.segment_rows != NULL, "segment_rows")) != BF_OK)
        return rc;
    if (!columns || !column_count) {
        if ((rc = bf_driver_describe(&info, d, table)) != BF_OK)
            return rc;
        all = bf__calloc(info->count + 1, sizeof *all);
        if (!all) {
            bf_table_info_free(info);
            return bf__herror(&d->err, BF_E_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < info->count; i++)
            all[i] = info->columns[i].name;
        columns = all;
        column_count = info->count;
    }
    rc = expr_names(d, &names, &strs, columns, column_count, expression_count);
    if (rc == BF_OK)
        rc = new_rows(d, &rows, names, column_count + expression_count, NULL);
    if (rc == BF_OK) {
        if (!wanted_count) {
            rc = BF_OK; /* no segment wanted: no rows */
        } else {
            bf_clear_error();
            rc = op_end(d, d->vt.segment_rows(d->userdata, rows, table, columns, column_count,
                                               expressions, expression_count, key, key_count,
                                               segments, wanted, wanted_count, plan, batch),
                        "segment_rows");
        }
        rc = give_rows(out, rows, rc);
    }
    bf__free(names);
    bf__free(strs);
    bf__free(all);
    bf_table_info_free(info);
    return rc;
}

int bf_driver_evaluate(bf_rows **out, bf_driver *d, const char *table,
                       const char *const *expressions, size_t expression_count,
                       const bf_plan *plan, const bf_batch *batch)
{
    const char **names = NULL;
    char *strs = NULL;
    bf_rows *rows = NULL;
    int rc;

    NEED(d, out && table && expressions && expression_count, "evaluate");
    *out = NULL;
    if ((rc = check_exprs(d, expressions, expression_count, "evaluate")) ||
        (rc = check_scope(d, plan, batch, "evaluate")))
        return rc;
    if ((rc = op_begin(d, d->vt.evaluate != NULL, "evaluate")) != BF_OK)
        return rc;
    rc = expr_names(d, &names, &strs, NULL, 0, expression_count);
    if (rc == BF_OK)
        rc = new_rows(d, &rows, names, expression_count, NULL);
    if (rc == BF_OK)
        rc = give_rows(out, rows, op_end(d, d->vt.evaluate(d->userdata, rows, table, expressions,
                                                             expression_count, plan, batch),
                                          "evaluate"));
    bf__free(names);
    bf__free(strs);
    return rc;
}

int bf__driver_whole_scans(char ***out, size_t *count, bf_driver *d, const char *select,
                           const bf_batch *batch)
{
    static const char *const names[] = {"id", "parent", "notused", "detail"};
    bf__sql *s = bf__driver_sql(d);
    bf_rows *rows = NULL;
    bf__binds binds;
    char *sql = NULL, **list = NULL;
    size_t n = 0;
    int rc;

    *out = NULL;
    *count = 0;
    if (!s || !s->vt.dialect || strcmp(s->vt.dialect, "sqlite") != 0)
        return bf__error(BF_E_UNSUPPORTED, "reading a query's plan needs the SQLite driver");
    bf__binds_init(&binds);
    bf__binds_batch(&binds, batch);
    sql = bf__asprintf("EXPLAIN QUERY PLAN %s", select);
    rc = sql ? bf__rows_new(&rows, names, 4) : bf__nomem();
    if (rc == BF_OK)
        rc = bf__sql_query_rows(s, rows, sql, &binds);
    if (rc == BF_OK)
        list = bf__calloc(bf_rows_count(rows) + 1, sizeof *list);
    if (rc == BF_OK && !list)
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < bf_rows_count(rows); i++) {
        bf_value v;

        if (bf_rows_value(&v, rows, i, 3) != BF_OK || v.type != BF_VALUE_TEXT ||
            strncmp(v.s, "SCAN ", 5) != 0)
            continue;
        list[n] = bf__strdup(v.s + 5);
        if (!list[n])
            rc = bf__nomem();
        else
            n++;
    }
    bf_rows_free(rows);
    bf__free(sql);
    if (rc != BF_OK) {
        for (size_t i = 0; i < n; i++)
            bf__free(list[i]);
        bf__free(list);
        return rc;
    }
    *out = list;
    *count = n;
    return BF_OK;
}
