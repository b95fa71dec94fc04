/*
 * The name tables behind <backfill/types.h>, for modules that validate the
 * same names themselves (the brief's schema). Index 0 is NULL for the
 * enumerations whose 0 means "not given"; bf_dimension starts at 1 too.
 * Not installed.
 */
#ifndef BF_COMMON_TYPES_H
#define BF_COMMON_TYPES_H

#include "backfill/types.h"

/* More batches than this is a mistake in the settings, not a plan. */
#define BF_PLAN_MAX_BATCHES 100000000
/* The most grains one time batch may span (batching.every). */
#define BF_PLAN_MAX_EVERY 100000

/* Each table has (largest value + 1) entries. */
extern const char *const bf__dimension_names[BF_DIM_BUCKET + 1];
extern const char *const bf__grain_names[BF_GRAIN_YEAR + 1];
extern const char *const bf__time_format_names[BF_TIME_FORMAT_DATE + 1];
extern const char *const bf__batch_order_names[BF_BATCH_ORDER_NEWEST_FIRST + 1];
extern const char *const bf__write_strategy_names[BF_WRITE_APPEND + 1];

#endif
