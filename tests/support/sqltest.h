/* SQL helpers for the unit suites that set up and inspect SQLite tables by hand. */
#ifndef BF_SQLTEST_H
#define BF_SQLTEST_H

#include <check.h>
#include <math.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>

/* Run SQL (several statements allowed); the test fails with SQLite's message. */
static inline void bftest_sql_exec(sqlite3 *db, const char *text)
{
    char *err = NULL;

    ck_assert_msg(sqlite3_exec(db, text, NULL, NULL, &err) == SQLITE_OK, "%s: %s", text, err);
}

/* The first column of the first row as an integer, or -1 when there is no row. */
static inline int64_t bftest_sql_int(sqlite3 *db, const char *text)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    ck_assert_msg(sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK, "%s: %s", text,
                  sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* The first column of the first row as a double, bit for bit as SQLite has it; NAN when no row. */
static inline double bftest_sql_real(sqlite3 *db, const char *text)
{
    sqlite3_stmt *st;
    double v = NAN;

    ck_assert_msg(sqlite3_prepare_v2(db, text, -1, &st, NULL) == SQLITE_OK, "%s: %s", text,
                  sqlite3_errmsg(db));
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

/*
 * Whether batch `ordinal` of run `run` on `table` has a snapshot in the
 * run's snapshot tables (<table>__bf_snapinfo_<run> lists the batches that
 * have one): 0 no, 1 yes, 2 yes and it lists the keys it touched (a delta's
 * or a merge's).
 */
static inline int bftest_snapshot(sqlite3 *db, const char *table, int run, int ordinal)
{
    char q[512];
    int64_t v;

    snprintf(q, sizeof q, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND "
             "name = '%s__bf_snapinfo_%d'", table, run);
    if (bftest_sql_int(db, q) != 1)
        return 0;
    snprintf(q, sizeof q, "SELECT 1 + keyed FROM \"%s__bf_snapinfo_%d\" WHERE bf__batch = %d",
             table, run, ordinal);
    v = bftest_sql_int(db, q);
    return v < 0 ? 0 : (int)v;
}

#endif
