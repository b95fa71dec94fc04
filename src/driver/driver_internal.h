/*
 * Internals of the driver module: the result objects drivers fill, and the
 * constructors the library uses for them.
 */
#ifndef BF_DRIVER_INTERNAL_H
#define BF_DRIVER_INTERNAL_H

#include "backfill/sys/driver.h"

struct bf_table_info {
    size_t count;
    size_t cap;
    struct bf__column {
        char *name;
        char *type;
        size_t pk;
        int generated; /* computed by the warehouse: read, never written */
    } *columns;
};

/* Rows of `width` values each; text and blob values own a copy of their bytes. */
struct bf_rows {
    size_t width;
    char **names;
    size_t count;
    size_t cap; /* in rows */
    bf_value *cells;
};

struct bf_profile {
    int64_t rows;
    size_t null_count;
    size_t sum_count;
    size_t minmax_count;
    int64_t *nulls;
    bf_value *sums;
    bf_value *mins;
    bf_value *maxs;
    int has_fingerprint;
    bf_fingerprint fingerprint;
};

int bf__table_info_new(bf_table_info **out);
int bf__rows_new(bf_rows **out, const char *const *names, size_t width);
/* A profile with room for every metric of `spec`, all NULL/0. */
int bf__profile_new(bf_profile **out, const bf_profile_spec *spec);

/* Copy a value, duplicating text and blob bytes (NUL-terminated); free with bf__value_dispose. */
int bf__value_copy(bf_value *dst, const bf_value *src);
void bf__value_dispose(bf_value *value);

/*
 * The internal constructor behind the SQLite driver: the connection vtable
 * over sqlite3 and an open connection as its userdata (free it with
 * bf__sqlite_close). Tests wrap it to inject failures.
 */
extern const bf_sql_vtable bf__sqlite_vtable;
int bf__sqlite_open(void **out, const char *path, unsigned flags);
void bf__sqlite_close(void *conn);

/*
 * For the module's composite operations (bf_driver_plan_brief): forget the
 * handle's last failure, and record the thread's last failure on it.
 */
void bf__driver_clear_error(bf_driver *driver);
int bf__driver_fail_from_thread(bf_driver *driver);

#endif
