/*
 * The names of the shared enumerations of <backfill/types.h>, one table each,
 * and the functions that look them up in both directions.
 */
#include <string.h>

#include "common/internal.h"
#include "common/types.h"

const char *const bf__dimension_names[BF_DIM_BUCKET + 1] = {NULL, "time", "key", "partition",
                                                             "bucket"};
const char *const bf__grain_names[BF_GRAIN_YEAR + 1] = {NULL,    "hour",    "day", "week",
                                                        "month", "quarter", "year"};
const char *const bf__time_format_names[BF_TIME_FORMAT_DATE + 1] = {
    NULL, "unix_s", "unix_ms", "unix_us", "iso8601", "date"};
const char *const bf__batch_order_names[BF_BATCH_ORDER_NEWEST_FIRST + 1] = {NULL, "oldest_first",
                                                                            "newest_first"};
const char *const bf__write_strategy_names[BF_WRITE_APPEND + 1] = {
    NULL, "partition_overwrite", "merge", "staging_swap", "parallel_version", "append"};

static const char *name_of(const char *const *names, int count, int value)
{
    return value > 0 && value < count ? names[value] : NULL;
}

/*
 * Find the value 1..count-1 whose name is `name`; BF_E_INVALID with a message
 * listing what was expected otherwise.
 */
static int from_name(int *out, const char *const *names, int count, const char *name,
                     const char *what, const char *expected)
{
    for (int v = 1; name && v < count; v++) {
        if (strcmp(names[v], name) == 0) {
            *out = v;
            return BF_OK;
        }
    }
    return bf__error(BF_E_INVALID, "%s '%s': expected %s", what, name ? name : "(null)",
                     expected);
}

#define NAMES(type, table, what, expected)                                                   \
    const char *bf_##type##_name(bf_##type value)                                            \
    {                                                                                        \
        return name_of(table, (int)BF_ARRAY_LEN(table), (int)value);                         \
    }                                                                                        \
    int bf_##type##_from_name(bf_##type *out, const char *name)                              \
    {                                                                                        \
        int v = 0;                                                                           \
        int rc = from_name(&v, table, (int)BF_ARRAY_LEN(table), name, what, expected);       \
                                                                                             \
        if (rc == BF_OK)                                                                     \
            *out = (bf_##type)v;                                                             \
        return rc;                                                                           \
    }

NAMES(dimension, bf__dimension_names, "dimension", "time, key, partition or bucket")
NAMES(grain, bf__grain_names, "grain", "hour, day, week, month, quarter or year")
NAMES(time_format, bf__time_format_names, "time format",
      "unix_s, unix_ms, unix_us, iso8601 or date")
NAMES(batch_order, bf__batch_order_names, "order", "oldest_first or newest_first")
NAMES(write_strategy, bf__write_strategy_names, "write strategy",
      "partition_overwrite, merge, staging_swap, parallel_version or append")

int bf__slice_run_name(const char *brief_name)
{
    size_t n = brief_name ? strlen(brief_name) : 0, k = strlen(BF__SLICE_RUN_SUFFIX);

    return n > k && strcmp(brief_name + n - k, BF__SLICE_RUN_SUFFIX) == 0;
}
