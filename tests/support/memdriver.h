/*
 * An in-memory warehouse behind a custom driver vtable, for tests and
 * benchmarks of the runner: one table "t" (k INTEGER PRIMARY KEY, v INTEGER)
 * of keys [0, size). A publish of key batch [lo, hi) sets v = k * 10 + 1 for
 * every key in it, after checking the batch's fence as a real driver does;
 * a snapshot keeps the batch's previous values for restore. Many driver
 * handles may share one warehouse (one per worker): a mutex guards it.
 */
#ifndef BF_TEST_MEMDRIVER_H
#define BF_TEST_MEMDRIVER_H

#include <pthread.h>
#include <stdint.h>

#include "backfill.h"

typedef struct memwh {
    pthread_mutex_t lock;
    int64_t size;
    int64_t *v;          /* the values */
    int64_t *fence;      /* the highest token seen per batch ordinal */
    int64_t *publishes;  /* publishes per batch ordinal */
    int64_t *stages;
    size_t batches;      /* the length of fence, publishes and stages */
    int64_t refuse_once; /* a batch ordinal whose first publish fails with BF_E_LEASE_LOST; -1 */
    int64_t fail_once;   /* a batch ordinal whose first publish fails with BF_E_DRIVER; -1 */
    unsigned job_us;     /* the job's own time per stage, slept */
    unsigned key_us;     /* and per key of the batch (a job whose time grows with its width) */
    int64_t drivers;     /* driver handles opened */
} memwh;

/* A warehouse of `size` keys, v = 0, for plans of up to `batches` batches. */
memwh *memwh_new(int64_t size, size_t batches);
void memwh_free(memwh *w);

/* A driver over the warehouse (bf_driver_new with the in-memory vtable). */
int memwh_open(void *warehouse, bf_driver **out);

#endif
