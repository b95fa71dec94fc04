/* The in-memory warehouse of memdriver.h. */
#include "memdriver.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backfill/sys/driver.h"

memwh *memwh_new(int64_t size, size_t batches)
{
    memwh *w = calloc(1, sizeof *w);

    if (!w)
        return NULL;
    pthread_mutex_init(&w->lock, NULL);
    w->size = size;
    w->batches = batches;
    w->v = calloc((size_t)size + 1, sizeof *w->v);
    w->fence = calloc(batches + 1, sizeof *w->fence);
    w->publishes = calloc(batches + 1, sizeof *w->publishes);
    w->stages = calloc(batches + 1, sizeof *w->stages);
    w->refuse_once = -1;
    w->fail_once = -1;
    if (!w->v || !w->fence || !w->publishes || !w->stages) {
        memwh_free(w);
        return NULL;
    }
    return w;
}

void memwh_free(memwh *w)
{
    if (!w)
        return;
    pthread_mutex_destroy(&w->lock);
    free(w->v);
    free(w->fence);
    free(w->publishes);
    free(w->stages);
    free(w);
}

static int describe(void *ud, bf_table_info *info, const char *table)
{
    (void)ud;
    if (strcmp(table, "t") != 0)
        return bf_error_set(BF_E_NOT_FOUND, "memdriver: no such table %s", table);
    if (bf_table_info_add_column(info, "k", "INTEGER", 1) != BF_OK ||
        bf_table_info_add_column(info, "v", "INTEGER", 0) != BF_OK)
        return BF_E_NOMEM;
    return BF_OK;
}

static int stage(void *ud, int64_t *out, const bf_write_spec *spec, const bf_plan *plan,
                 const bf_batch *batch, int64_t run)
{
    memwh *w = ud;
    size_t ord = bf_batch_ordinal(batch);

    (void)spec;
    (void)plan;
    (void)run;
    if (w->job_us || w->key_us) {
        uint64_t us = w->job_us + (uint64_t)w->key_us * (uint64_t)(bf_batch_hi(batch) - bf_batch_lo(batch));
        struct timespec ts = {(time_t)(us / 1000000), (long)(us % 1000000) * 1000};

        nanosleep(&ts, NULL);
    }
    pthread_mutex_lock(&w->lock);
    if (ord < w->batches)
        w->stages[ord]++;
    pthread_mutex_unlock(&w->lock);
    if (out)
        *out = bf_batch_hi(batch) - bf_batch_lo(batch);
    return BF_OK;
}

static int publish(void *ud, bf_publish_result *out, const bf_write_spec *spec,
                   const bf_plan *plan, const bf_batch *batch, int64_t run, int64_t token)
{
    memwh *w = ud;
    size_t ord = bf_batch_ordinal(batch);
    int64_t written = 0;

    (void)spec;
    (void)plan;
    (void)run;
    pthread_mutex_lock(&w->lock);
    if (ord >= w->batches) {
        pthread_mutex_unlock(&w->lock);
        return bf_error_set(BF_E_INVALID, "memdriver: batch %zu out of range", ord);
    }
    if ((int64_t)ord == w->refuse_once) {
        w->refuse_once = -1;
        w->fence[ord] = token + 1; /* as if the next claim had published meanwhile */
    }
    if ((int64_t)ord == w->fail_once) {
        w->fail_once = -1;
        pthread_mutex_unlock(&w->lock);
        return bf_error_set(BF_E_DRIVER, "memdriver: the warehouse hiccuped on batch %zu", ord);
    }
    if (token < w->fence[ord]) {
        int64_t fence = w->fence[ord];

        pthread_mutex_unlock(&w->lock);
        return bf_error_set(BF_E_LEASE_LOST, "memdriver: batch %zu fenced at token %lld, "
                            "publish with token %lld refused", ord, (long long)fence,
                            (long long)token);
    }
    w->fence[ord] = token;
    for (int64_t k = bf_batch_lo(batch); k < bf_batch_hi(batch) && k < w->size; k++, written++)
        w->v[k] = k * 10 + 1;
    w->publishes[ord]++;
    pthread_mutex_unlock(&w->lock);
    if (out) {
        out->written = written;
        out->updated = written;
        out->deleted = 0;
    }
    return BF_OK;
}

static int drop(void *ud, const bf_write_spec *spec, const bf_plan *plan, const bf_batch *batch,
                int64_t run)
{
    (void)ud;
    (void)spec;
    (void)plan;
    (void)batch;
    (void)run;
    return BF_OK;
}

static int fingerprint(void *ud, bf_fingerprint *out, const char *table,
                       const char *const *columns, size_t column_count, const bf_plan *plan,
                       const bf_batch *batch)
{
    memwh *w = ud;
    int64_t lo = batch ? bf_batch_lo(batch) : 0, hi = batch ? bf_batch_hi(batch) : w->size;

    (void)table;
    (void)columns;
    (void)column_count;
    (void)plan;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&w->lock);
    for (int64_t k = lo; k < hi && k < w->size; k++) {
        bf_value row[2];

        memset(row, 0, sizeof row);
        row[0].type = BF_VALUE_INT;
        row[0].i = k;
        row[1].type = BF_VALUE_INT;
        row[1].i = w->v[k];
        bf_fingerprint_add_row(out, row, 2);
    }
    pthread_mutex_unlock(&w->lock);
    return BF_OK;
}

static int execute(void *ud, const char *sql)
{
    (void)ud;
    (void)sql;
    return BF_OK;
}

static const char *last_error(void *ud)
{
    (void)ud;
    return "";
}

int memwh_open(void *warehouse, bf_driver **out)
{
    memwh *w = warehouse;
    bf_driver_vtable vt = BF_DRIVER_VTABLE_INIT;

    vt.describe = describe;
    vt.stage = stage;
    vt.publish = publish;
    vt.drop_snapshot = drop;
    vt.drop_staging = drop;
    vt.fingerprint = fingerprint;
    vt.execute = execute;
    vt.last_error = last_error;
    pthread_mutex_lock(&w->lock);
    w->drivers++;
    pthread_mutex_unlock(&w->lock);
    return bf_driver_new(out, &vt, w, NULL);
}
