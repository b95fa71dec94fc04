/*
 * A small end-to-end use of the library, as a host makes it: load and check
 * the example brief, render it, plan it, run every batch through the ledger
 * and the SQLite driver (stage, publish, fingerprint before and after,
 * complete), and read the ledger back as JSON. Shared by the allocator suite
 * and the allocation-share measurement; uses only the public API.
 */
#ifndef BF_TEST_WORKLOAD_H
#define BF_TEST_WORKLOAD_H

/*
 * Called with every string or buffer the library hands to the caller to
 * free with bf_free(), before the workload frees it. May be NULL.
 */
typedef void (*workload_returned_fn)(const char *what, void *ptr);

/*
 * Run the workload in directory `dir` (it creates warehouse.db and
 * ledger.db there), reading the brief from `brief_path`. `orders` is the
 * number of rows in the warehouse's fact table. Returns BF_OK or the first
 * failing call's status, with a message on stderr.
 */
int workload_run(const char *dir, const char *brief_path, int orders, workload_returned_fn returned);

#endif
