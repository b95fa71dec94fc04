/*
 * Waiting for another connection's SQLite lock, for the ledger's and the
 * warehouse's connections alike, and the monotonic clock it runs on.
 */
#include <time.h>

#include "common/internal.h"

int64_t bf__mono_us(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * SQLite's own busy handler sleeps ever longer, up to 100 ms a step, far
 * longer than another connection usually holds the lock (a ledger
 * transaction, another worker's read of the warehouse): sleep 50 us at
 * first, doubling up to 2 ms, until timeout_ms have passed since the wait
 * began (count 0: SQLite starts a new wait).
 */
int bf__busy_wait(void *busy, int count)
{
    bf__busy *b = busy;
    int64_t now = bf__mono_us();
    int shift = count < 6 ? count : 6;
    long delay_us = 50L << shift;
    struct timespec ts;

    if (count == 0)
        b->since_us = now;
    if (now - b->since_us >= (int64_t)b->timeout_ms * 1000)
        return 0;
    if (delay_us > 2000)
        delay_us = 2000;
    ts.tv_sec = 0;
    ts.tv_nsec = delay_us * 1000;
    nanosleep(&ts, NULL);
    return 1;
}
