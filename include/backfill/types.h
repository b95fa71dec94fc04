/*
 * The low-level types several modules share: the forward declaration of
 * every handle, and the enumerations that plans, briefs, drivers and the
 * ledger all speak, each with its name functions.
 *
 * Each type is declared here and nowhere else, so that any set of public
 * headers can be included together, in any order, in C99 and C++. A module's
 * header includes this one and names other modules' handles through it
 * without including their headers.
 */
#ifndef BACKFILL_TYPES_H
#define BACKFILL_TYPES_H

#include "backfill/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Handles (opaque; each module's header documents its own) ---------- */

typedef struct bf_brief bf_brief;                 /* <backfill/brief.h> */
typedef struct bf_findings bf_findings;           /* <backfill/brief.h> */
typedef struct bf_lineage bf_lineage;             /* <backfill/lineage.h> */
typedef struct bf_plan bf_plan;                   /* <backfill/plan.h> */
typedef struct bf_batch bf_batch;                 /* <backfill/plan.h> */
typedef struct bf_planner bf_planner;             /* <backfill/plan.h> */
typedef struct bf_tz bf_tz;                       /* <backfill/time.h> */
typedef struct bf_window bf_window;               /* <backfill/time.h> */
typedef struct bf_driver bf_driver;               /* <backfill/driver.h> */
typedef struct bf_driver_vtable bf_driver_vtable; /* defined in <backfill/sys/driver.h> */
typedef struct bf_table_info bf_table_info;       /* <backfill/driver.h> */
typedef struct bf_rows bf_rows;                   /* <backfill/driver.h> */
typedef struct bf_profile bf_profile;             /* <backfill/driver.h> */
typedef struct bf_ledger bf_ledger;               /* <backfill/ledger.h> */
typedef struct bf_run bf_run;                     /* <backfill/ledger.h> */
typedef struct bf_lease bf_lease;                 /* <backfill/ledger.h> */
typedef struct bf_validator bf_validator;         /* <backfill/validate.h> */
typedef struct bf_validation_state bf_validation_state; /* <backfill/validate.h> */
typedef struct bf_results bf_results;             /* <backfill/validate.h> */
typedef struct bf_check_result bf_check_result;   /* <backfill/sys/validator.h> */
typedef struct bf_validator_vtable bf_validator_vtable; /* defined in <backfill/sys/validator.h> */
typedef struct bf_idem_findings bf_idem_findings; /* <backfill/idempotency.h> */
typedef struct bf_idem_probe bf_idem_probe;       /* <backfill/idempotency.h> */
typedef struct bf_diff_before bf_diff_before;     /* <backfill/diff.h> */
typedef struct bf_diff bf_diff;                   /* <backfill/diff.h> */
typedef struct bf_diff_explained bf_diff_explained; /* <backfill/diff.h> */
typedef struct bf_runner bf_runner;               /* <backfill/runner.h> */

/* ---- Shared enumerations ------------------------------------------------ */

/* The one dimension a plan's batches are cut in. */
typedef enum bf_dimension {
    BF_DIM_TIME = 1,
    BF_DIM_KEY = 2,
    BF_DIM_PARTITION = 3,
    BF_DIM_BUCKET = 4
} bf_dimension;

/* `batching.grain`, for time batches. */
typedef enum bf_grain {
    BF_GRAIN_UNSET = 0,
    BF_GRAIN_HOUR = 1,
    BF_GRAIN_DAY = 2,
    BF_GRAIN_WEEK = 3, /* ISO weeks, starting Monday */
    BF_GRAIN_MONTH = 4,
    BF_GRAIN_QUARTER = 5,
    BF_GRAIN_YEAR = 6
} bf_grain;

/* `target.time_format`: how the target's time column stores instants. */
typedef enum bf_time_format {
    BF_TIME_FORMAT_UNSET = 0,
    BF_TIME_FORMAT_UNIX_S = 1,
    BF_TIME_FORMAT_UNIX_MS = 2,
    BF_TIME_FORMAT_UNIX_US = 3,
    BF_TIME_FORMAT_ISO8601 = 4, /* text "YYYY-MM-DD HH:MM:SS" in UTC */
    BF_TIME_FORMAT_DATE = 5     /* text "YYYY-MM-DD" in the brief's time zone */
} bf_time_format;

/* `batching.order`. */
typedef enum bf_batch_order {
    BF_BATCH_ORDER_UNSET = 0,
    BF_BATCH_ORDER_OLDEST_FIRST = 1,
    BF_BATCH_ORDER_NEWEST_FIRST = 2
} bf_batch_order;

/* How a batch is written: a brief's `write.strategy`. */
typedef enum bf_write_strategy {
    BF_WRITE_UNSET = 0,
    BF_WRITE_PARTITION_OVERWRITE = 1,
    BF_WRITE_MERGE = 2,
    BF_WRITE_STAGING_SWAP = 3,
    BF_WRITE_PARALLEL_VERSION = 4,
    BF_WRITE_APPEND = 5 /* not idempotent */
} bf_write_strategy;

/*
 * The names of the values, as plans and briefs spell them ("time", "day",
 * "unix_s", "newest_first", "partition_overwrite"), or NULL for 0 and values
 * out of range. The strings are static.
 */
BF_API const char *bf_dimension_name(bf_dimension dim);
BF_API const char *bf_grain_name(bf_grain value);
BF_API const char *bf_time_format_name(bf_time_format value);
BF_API const char *bf_batch_order_name(bf_batch_order value);
BF_API const char *bf_write_strategy_name(bf_write_strategy value);

/*
 * Parse such a name into its value. BF_E_INVALID, with a message listing the
 * valid names, for anything else (NULL included); *out is then unchanged.
 */
BF_API int bf_dimension_from_name(bf_dimension *out, const char *name);
BF_API int bf_grain_from_name(bf_grain *out, const char *name);
BF_API int bf_time_format_from_name(bf_time_format *out, const char *name);
BF_API int bf_batch_order_from_name(bf_batch_order *out, const char *name);
BF_API int bf_write_strategy_from_name(bf_write_strategy *out, const char *name);

#ifdef __cplusplus
}
#endif

#endif
