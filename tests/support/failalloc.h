/*
 * A fault-injection allocator for the unit suites: it counts allocations,
 * can make the Nth one from now fail, and counts blocks still live, so a test
 * can prove that every failure path returns BF_E_NOMEM and leaks nothing.
 */
#ifndef BF_TEST_FAILALLOC_H
#define BF_TEST_FAILALLOC_H

#include <stddef.h>

/* Route the library's allocations through the counting allocator. Call first. */
void failalloc_install(void);

/* Make the nth allocation from now fail (1 = the next one); 0 disarms. */
void failalloc_fail_at(long nth);

/* Allocations made since install (successful or failed). */
long failalloc_count(void);

/* Blocks allocated through the hooks and not yet freed. */
long failalloc_live(void);

/* Whether the armed failure has been delivered. */
int failalloc_fired(void);

/*
 * Run `op` once with no failure to count its allocations, then once for each
 * of them with exactly that allocation failing. After each failing run, `op`
 * must have returned BF_E_NOMEM, and after `cleanup` (which may be NULL) the
 * number of live blocks must be what it was before. Returns the number of
 * allocation points exercised; on the first violation it fails the current
 * Check test with a message naming the allocation.
 */
typedef int (*failalloc_op)(void *ctx);
typedef void (*failalloc_cleanup)(void *ctx);
long failalloc_sweep(failalloc_op op, failalloc_cleanup cleanup, void *ctx);

#endif
