/*
 * For hosts that dispatch batches to their own workers (a thread pool of
 * their own, a job queue, an orchestrator's tasks): a scheduler vtable given
 * to the runner in bf_runner_options. The runner claims batches, in plan
 * order and within max_concurrency, and hands each one to the scheduler as a
 * task; the scheduler decides where and when the task runs. The default is
 * an in-process pool of threads.
 *
 * Same version rules as the driver vtable: `version` first, members only
 * appended, a version newer than BF_SCHEDULER_VTABLE_VERSION (or 0) refused
 * with BF_E_ABI; the vtable is copied. Members return BF_OK or a negative
 * BF_E_* code after bf_error_set() (<backfill/sys/errors.h>).
 */
#ifndef BACKFILL_SYS_SCHEDULER_H
#define BACKFILL_SYS_SCHEDULER_H

#include "backfill/sys/errors.h"
#include "backfill/runner.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * One batch's work. The scheduler calls it exactly once, on any thread, and
 * may run several at once (never more than the `workers` it was started
 * with). It does its own error handling: whatever happens is recorded in the
 * ledger and reported to the runner.
 */
typedef void (*bf_task_fn)(void *arg);

typedef struct bf_scheduler_vtable {
    unsigned version;
    /* since version 1 */
    /* Prepare to run up to `workers` tasks at once. May be NULL. */
    int (*start)(void *userdata, unsigned workers);
    /*
     * Run task(arg) soon. Required. A failure means the task will never run:
     * the runner gives the batch back.
     */
    int (*submit)(void *userdata, bf_task_fn task, void *arg);
    /*
     * Called when the runner has submitted everything it will: return once
     * every submitted task has returned. May be NULL when submit runs each
     * task before it returns. A failure fails the run with its code.
     */
    int (*drain)(void *userdata);
    /* Release what start made; called once after drain. May be NULL. */
    void (*stop)(void *userdata);
} bf_scheduler_vtable;

#define BF_SCHEDULER_VTABLE_VERSION 1u
#define BF_SCHEDULER_VTABLE_INIT {BF_SCHEDULER_VTABLE_VERSION, NULL, NULL, NULL, NULL}

/* Zero *vtable and set its version; BF_E_ABI for a version this library does not know. */
BF_API int bf_scheduler_vtable_init(bf_scheduler_vtable *vtable, unsigned version);

#ifdef __cplusplus
}
#endif

#endif
