/*
 * The before/after diff by key and explained deltas (validate module),
 * checked against plain SQL written independently here: EXCEPT both ways,
 * joined by key.
 */
#include <jansson.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/driver.h"
#include "bftest.h"
#include "sqltest.h"
#include "driver/driver_internal.h"
#include "plan/plan_internal.h"
#include "validate/diff_internal.h"
#include "validate/results_internal.h"

static char dir[64];
static char path[96];
static sqlite3 *raw;
static bf_driver *drv;
/* A published batch's snapshot as tables (bf_driver_snapshot_views). */
static const char *snap_rows, *snap_keys;

static void setup(void)
{
    strcpy(dir, "/tmp/bf-diff-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
    ck_assert_int_eq(bf_driver_open_sqlite(&drv, path, 0), BF_OK);
}

static void teardown(void)
{
    bf_driver_free(drv);
    sqlite3_close(raw);
    unlink(path);
    rmdir(dir);
}

static void sql(const char *text)
{
    bftest_sql_exec(raw, text);
}

static int64_t query_int(const char *text)
{
    return bftest_sql_int(raw, text);
}

static double query_real(const char *text)
{
    return bftest_sql_real(raw, text);
}

/* The portable path: the SQLite connection without the segment functions. */
static bf_driver *portable_driver(void)
{
    bf_sql_vtable vt = bf__sqlite_vtable;
    void *conn;
    bf_driver *d;

    vt.segments_function = NULL;
    vt.segment_filter_function = NULL;
    ck_assert_int_eq(bf__sqlite_open(&conn, path, 0), BF_OK);
    ck_assert_int_eq(bf_driver_new_sql(&d, &vt, conn, bf__sqlite_close), BF_OK);
    return d;
}

enum keykind { KEY_INT, KEY_TEXT, KEY_COMPOSITE };

static const char *const int_key[] = {"id"};
static const char *const text_key[] = {"code"};
static const char *const comp_key[] = {"id", "code"};

/* A table t(id, code, amount, price, note) with unique keys of the kind given. */
static void make_table(enum keykind kind, unsigned seed, int rows)
{
    char stmt[512];

    sql("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS old");
    sql("CREATE TABLE t (id INTEGER, code TEXT, amount INTEGER, price REAL, note TEXT)");
    srand(seed);
    sql("BEGIN");
    for (int i = 0; i < rows; i++) {
        int id = kind == KEY_COMPOSITE ? i / 3 : i;
        snprintf(stmt, sizeof stmt,
                 "INSERT INTO t VALUES (%d, 'c%s%d', %d, %d.25, %s)", id,
                 kind == KEY_TEXT ? "x" : "", kind == KEY_COMPOSITE ? i % 3 : i,
                 rand() % 1000 - 300, rand() % 100, rand() % 5 ? "'n'" : "NULL");
        sql(stmt);
    }
    sql("COMMIT; CREATE TABLE old AS SELECT * FROM t");
}

/* Random deletes, inserts and updates (some that write the same value). */
static void mutate(enum keykind kind, int rows)
{
    char stmt[512];
    int changes = 1 + rand() % 40;

    for (int c = 0; c < changes; c++) {
        int r = rand() % rows, op = rand() % 4;
        const char *where = kind == KEY_COMPOSITE ? "id = %d AND code = 'c%d'"
                            : kind == KEY_TEXT ? "code = 'cx%d'%.0d" : "id = %d%.0d";
        char cond[128];

        if (kind == KEY_COMPOSITE)
            snprintf(cond, sizeof cond, where, r / 3, r % 3);
        else
            snprintf(cond, sizeof cond, where, r, 0);
        if (op == 0)
            snprintf(stmt, sizeof stmt, "DELETE FROM t WHERE %s", cond);
        else if (op == 1)
            snprintf(stmt, sizeof stmt, "UPDATE t SET amount = amount + %d, note = "
                     "CASE WHEN %d THEN note ELSE 'changed' END WHERE %s", rand() % 50 - 25,
                     rand() % 2, cond);
        else if (op == 2)
            snprintf(stmt, sizeof stmt, "UPDATE t SET amount = amount WHERE %s", cond);
        else
            snprintf(stmt, sizeof stmt, "INSERT INTO t VALUES (%d, 'cnew%d', %d, 1.5, NULL)",
                     kind == KEY_TEXT ? r : rows + c, c, rand() % 100);
        sql(stmt);
    }
}

/* Put a diff's keys of a kind into table got (same key columns). */
static void store_keys(const bf_diff *diff, bf_diff_kind kind, const char *const *key,
                       size_t key_count)
{
    const bf_rows *rows = bf_diff_rows(diff, kind, 0);
    sqlite3_stmt *st;
    char stmt[256];

    sql("DROP TABLE IF EXISTS got");
    snprintf(stmt, sizeof stmt, "CREATE TABLE got (%s%s%s)", key[0], key_count > 1 ? ", " : "",
             key_count > 1 ? key[1] : "");
    sql(stmt);
    snprintf(stmt, sizeof stmt, "INSERT INTO got VALUES (?%s)", key_count > 1 ? ", ?" : "");
    ck_assert_int_eq(sqlite3_prepare_v2(raw, stmt, -1, &st, NULL), SQLITE_OK);
    for (size_t r = 0; r < bf_rows_count(rows); r++) {
        for (size_t k = 0; k < key_count; k++) {
            size_t col = 0;
            bf_value v;

            while (strcmp(bf_rows_column(rows, col), key[k]) != 0)
                col++;
            ck_assert_int_eq(bf_rows_value(&v, rows, r, col), BF_OK);
            if (v.type == BF_VALUE_INT)
                sqlite3_bind_int64(st, (int)k + 1, v.i);
            else
                sqlite3_bind_text(st, (int)k + 1, v.s, (int)v.len, SQLITE_TRANSIENT);
        }
        ck_assert_int_eq(sqlite3_step(st), SQLITE_DONE);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
}

static void check_against_sql(bf_driver *d, enum keykind kind, unsigned seed, int64_t segments)
{
    const char *const *key = kind == KEY_INT ? int_key : kind == KEY_TEXT ? text_key : comp_key;
    size_t kc = kind == KEY_COMPOSITE ? 2 : 1;
    const char *k = kind == KEY_INT ? "id" : kind == KEY_TEXT ? "code" : "id, code";
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL, *parsed = NULL;
    bf_diff *diff = NULL;
    char *json = NULL, q[1024];
    int rows = 50 + (int)(seed % 7) * 40;

    make_table(kind, seed, rows);
    o.segments = segments;
    ck_assert_int_eq(bf_diff_capture(&before, d, "t", key, kc, NULL, NULL, &o), BF_OK);
    /* The before-state travels as JSON (the ledger keeps it so). */
    ck_assert_int_eq(bf_diff_before_to_json(&json, before), BF_OK);
    ck_assert_int_eq(bf_diff_before_from_json(&parsed, json), BF_OK);
    ck_assert_int_eq(bf_diff_before_rows(parsed), rows);
    mutate(kind, rows);
    o.before_table = "old";
    ck_assert_msg(bf_diff_compute(&diff, d, "t", key, kc, NULL, NULL, parsed, &o) == BF_OK, "%s",
                  bf_last_error());

    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT %s FROM t EXCEPT SELECT %s FROM old)", k, k);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_ADDED), query_int(q));
    store_keys(diff, BF_DIFF_ADDED, key, kc);
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT %s FROM t EXCEPT SELECT %s FROM old "
             "EXCEPT SELECT %s FROM got)", k, k, k);
    ck_assert_int_eq(query_int(q), 0);

    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT %s FROM old EXCEPT SELECT %s FROM t)", k, k);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_REMOVED), query_int(q));
    store_keys(diff, BF_DIFF_REMOVED, key, kc);
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT %s FROM old EXCEPT SELECT %s FROM t "
             "EXCEPT SELECT %s FROM got)", k, k, k);
    ck_assert_int_eq(query_int(q), 0);

    /* Changed: rows of t not in old (EXCEPT) whose key old has. */
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT * FROM t EXCEPT SELECT * FROM old) n "
             "JOIN old o USING (%s)", k);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED), query_int(q));
    store_keys(diff, BF_DIFF_CHANGED, key, kc);
    snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT %s FROM (SELECT * FROM t EXCEPT SELECT * "
             "FROM old) n JOIN old o USING (%s) EXCEPT SELECT %s FROM got)", k, k, k);
    ck_assert_int_eq(query_int(q), 0);
    /* Per-column counts: amount and note, as plain SQL counts them. */
    snprintf(q, sizeof q, "SELECT count(*) FROM t n JOIN old o USING (%s) WHERE "
             "n.amount IS NOT o.amount", k);
    ck_assert_int_eq(bf_diff_column_changes(diff, 2), query_int(q));
    snprintf(q, sizeof q, "SELECT count(*) FROM t n JOIN old o USING (%s) WHERE n.note IS NOT o.note",
             k);
    ck_assert_int_eq(bf_diff_column_changes(diff, 4), query_int(q));
    ck_assert_int_eq(bf_diff_column_changes(diff, 3), 0);

    bf_free(json);
    bf_diff_free(diff);
    bf_diff_before_free(before);
    bf_diff_before_free(parsed);
}

START_TEST(diff_agrees_with_except_on_random_tables)
{
    bf_driver *portable = portable_driver();

    for (unsigned seed = 1; seed <= 25; seed++) {
        for (int kind = KEY_INT; kind <= KEY_COMPOSITE; kind++) {
            int64_t segments = seed % 3 == 0 ? 0 : seed % 3 == 1 ? 7 : 1000;

            check_against_sql(drv, kind, seed, segments);
            if (seed % 5 == 0)
                check_against_sql(portable, kind, seed, segments);
        }
    }
    bf_driver_free(portable);
}
END_TEST

START_TEST(both_paths_segment_alike)
{
    bf_driver *portable = portable_driver();
    bf_rows *a = NULL, *b = NULL;
    int64_t wanted[] = {1, 3};

    make_table(KEY_COMPOSITE, 3, 200);
    ck_assert_int_eq(bf_driver_key_segments(&a, drv, "t", NULL, 0, comp_key, 2, 5, NULL, NULL),
                     BF_OK);
    ck_assert_int_eq(bf_driver_key_segments(&b, portable, "t", NULL, 0, comp_key, 2, 5, NULL,
                                            NULL), BF_OK);
    ck_assert_uint_eq(bf_rows_count(a), bf_rows_count(b));
    for (size_t r = 0; r < bf_rows_count(a); r++) {
        bf_value x, y;

        bf_rows_value(&x, a, r, 2);
        bf_rows_value(&y, b, r, 2);
        ck_assert_str_eq(x.s, y.s);
    }
    bf_rows_free(a);
    bf_rows_free(b);
    ck_assert_int_eq(bf_driver_segment_rows(&a, drv, "t", NULL, 0, NULL, 0, comp_key, 2, 5,
                                            wanted, 2, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf_driver_segment_rows(&b, portable, "t", NULL, 0, NULL, 0, comp_key, 2, 5,
                                            wanted, 2, NULL, NULL), BF_OK);
    ck_assert_uint_eq(bf_rows_count(a), bf_rows_count(b));
    ck_assert_uint_gt(bf_rows_count(a), 0);
    for (size_t r = 0; r < bf_rows_count(a); r++) {
        bf_value key[2];
        int64_t seg;

        bf_rows_value(&key[0], a, r, 0);
        bf_rows_value(&key[1], a, r, 1);
        seg = bf_key_segment(key, 2, 5);
        ck_assert(seg == 1 || seg == 3);
    }
    bf_rows_free(a);
    bf_rows_free(b);
    ck_assert_int_eq(bf_driver_key_segments(&a, drv, "t", NULL, 0, comp_key, 2, 0, NULL, NULL),
                     BF_E_INVALID);
    /* A host's version-1 SQL vtable has no segment functions: the portable path. */
    {
        bf_sql_vtable v1 = bf__sqlite_vtable;
        bf_driver_vtable dv1 = BF_DRIVER_VTABLE_INIT;
        void *conn;
        bf_driver *old;

        v1.version = 1;
        ck_assert_int_eq(bf__sqlite_open(&conn, path, 0), BF_OK);
        ck_assert_int_eq(bf_driver_new_sql(&old, &v1, conn, bf__sqlite_close), BF_OK);
        ck_assert_int_eq(bf_driver_key_segments(&b, old, "t", NULL, 0, comp_key, 2, 5, NULL, NULL),
                         BF_OK);
        ck_assert_int_eq(bf_driver_key_segments(&a, drv, "t", NULL, 0, comp_key, 2, 5, NULL, NULL),
                         BF_OK);
        ck_assert_uint_eq(bf_rows_count(a), bf_rows_count(b));
        bf_rows_free(a);
        bf_rows_free(b);
        bf_driver_free(old);
        /* A version-1 driver vtable has no segment operations. */
        dv1.version = 1;
        ck_assert_int_eq(bf_driver_new(&old, &dv1, NULL, NULL), BF_OK);
        ck_assert_int_eq(bf_driver_key_segments(&a, old, "t", NULL, 0, comp_key, 2, 5, NULL, NULL),
                         BF_E_UNSUPPORTED);
        bf_driver_free(old);
    }
    ck_assert_int_eq(bf_driver_segment_rows(&a, drv, "t", NULL, 0, NULL, 0, comp_key, 2, 5,
                                            (int64_t[]){5}, 1, NULL, NULL), BF_E_INVALID);
    bf_driver_free(portable);
}
END_TEST

START_TEST(missing_or_wrong_before_rows_are_refused)
{
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;

    make_table(KEY_INT, 9, 100);
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", int_key, 1, NULL, NULL, NULL), BF_OK);
    /* Nothing changed: an empty diff needs no before rows. */
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, NULL), BF_OK);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_ADDED) + bf_diff_count(diff, BF_DIFF_REMOVED) +
                     bf_diff_count(diff, BF_DIFF_CHANGED), 0);
    ck_assert_int_eq(bf_diff_segments_differing(diff), 0);
    bf_diff_free(diff);
    sql("UPDATE t SET amount = amount + 1 WHERE id = 7");
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, NULL),
                     BF_E_UNSUPPORTED);
    ck_assert_ptr_null(diff);
    /* A before table that is not the before state: refused, naming the segment. */
    sql("UPDATE old SET note = 'other' WHERE id = 7");
    o.before_table = "old";
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, &o),
                     BF_E_CONFLICT);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "does not hold the before rows"));
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", text_key, 1, NULL, NULL, before, &o),
                     BF_E_INVALID);
    {
        bf_diff_before *bad = NULL;

        ck_assert_int_eq(bf_diff_before_from_json(&bad, "{\"format\": 1}"), BF_E_PARSE);
        ck_assert_ptr_null(bad);
    }
    bf_diff_before_free(before);
}
END_TEST

START_TEST(tolerance_and_samples)
{
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    const char *cols[] = {"price"};
    double tols[] = {0.01};
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    char *json = NULL;

    make_table(KEY_TEXT, 4, 60);
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", text_key, 1, NULL, NULL, NULL), BF_OK);
    sql("UPDATE t SET price = price + 0.001 WHERE code IN ('cx1', 'cx2');"
        "UPDATE t SET price = price + 5 WHERE code = 'cx3'");
    o.before_table = "old";
    o.tolerance_columns = cols;
    o.tolerances = tols;
    o.tolerance_count = 1;
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", text_key, 1, NULL, NULL, before, &o), BF_OK);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED), 1);
    ck_assert_int_eq(bf_diff_column_changes(diff, 3), 1);
    ck_assert_str_eq(bf_diff_column_name(diff, 3), "price");
    ck_assert_int_eq(bf_diff_to_json(&json, diff, 5), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"changed\": 1"));
    ck_assert_ptr_nonnull(strstr(json, "\"before\""));
    bf_free(json);
    bf_diff_free(diff);
    o.tolerance_count = 0;
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", text_key, 1, NULL, NULL, before, &o), BF_OK);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED), 3);
    bf_diff_free(diff);
    bf_diff_before_free(before);
}
END_TEST

static int64_t part_int(const bf_diff_explained *e, bf_diff_part p)
{
    bf_value v;

    ck_assert_int_eq(bf_diff_explained_value(&v, e, p), BF_OK);
    ck_assert_int_ne(v.type, BF_VALUE_REAL);
    return v.type == BF_VALUE_INT ? v.i : 0;
}

static double part_real(const bf_diff_explained *e, bf_diff_part p)
{
    bf_value v;

    ck_assert_int_eq(bf_diff_explained_value(&v, e, p), BF_OK);
    return v.type == BF_VALUE_REAL ? v.r : v.type == BF_VALUE_INT ? (double)v.i : 0;
}

START_TEST(explained_delta_sums_exactly)
{
    static const char *const metrics[] = {"SUM(amount)", "count(*)", "COUNT(note)",
                                          " sum( amount * 2 + id ) "};
    static const char *const naive[] = {"sum(amount)", "count(*)", "count(note)",
                                        "sum(amount * 2 + id)"};

    for (unsigned seed = 1; seed <= 20; seed++) {
        int kind = (int)(seed % 3);
        const char *const *key = kind == KEY_INT ? int_key : kind == KEY_TEXT ? text_key : comp_key;
        size_t kc = kind == KEY_COMPOSITE ? 2 : 1;
        bf_diff_options o = BF_DIFF_OPTIONS_INIT;
        bf_diff_before *before = NULL;
        bf_diff *diff = NULL;

        make_table(kind, seed * 7, 120);
        ck_assert_int_eq(bf_diff_capture(&before, drv, "t", key, kc, NULL, NULL, NULL), BF_OK);
        mutate(kind, 120);
        o.before_table = "old";
        ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", key, kc, NULL, NULL, before, &o), BF_OK);
        for (size_t m = 0; m < 4; m++) {
            bf_diff_explained *e = NULL;
            char q[256];
            int64_t observed, groups = 0;

            snprintf(q, sizeof q, "SELECT coalesce((SELECT %s FROM t), 0) - "
                     "coalesce((SELECT %s FROM old), 0)", naive[m], naive[m]);
            observed = query_int(q);
            ck_assert_msg(bf_diff_explain(&e, diff, drv, NULL, NULL, metrics[m], "note", 0) ==
                          BF_OK, "%s", bf_last_error());
            ck_assert_int_eq(part_int(e, BF_DIFF_PART_DELTA), observed);
            ck_assert_int_eq(part_int(e, BF_DIFF_PART_ADDED) + part_int(e, BF_DIFF_PART_REMOVED) +
                             part_int(e, BF_DIFF_PART_CHANGED), observed);
            for (size_t g = 0; g < bf_diff_explained_group_count(e); g++) {
                bf_value c;

                ck_assert_int_eq(bf_diff_explained_group(NULL, &c, e, g), BF_OK);
                groups += c.type == BF_VALUE_INT ? c.i : 0;
            }
            ck_assert_int_eq(groups, observed);
            bf_diff_explained_free(e);
        }
        bf_diff_free(diff);
        bf_diff_before_free(before);
    }
}
END_TEST

START_TEST(explained_delta_of_reals_within_tolerance)
{
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;

    make_table(KEY_INT, 11, 300);
    sql("UPDATE t SET price = price / 7.0; DROP TABLE old; CREATE TABLE old AS SELECT * FROM t");
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", int_key, 1, NULL, NULL, NULL), BF_OK);
    sql("UPDATE t SET price = price * 1.1 WHERE id % 7 = 0; DELETE FROM t WHERE id % 11 = 0;"
        "INSERT INTO t VALUES (1000, 'c1000', 1, 3.3333333, NULL)");
    o.before_table = "old";
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, &o), BF_OK);
    {
        bf_diff_explained *e = NULL;
        double observed = query_real("SELECT (SELECT sum(price) FROM t) - (SELECT sum(price) FROM old)");
        double sum;

        ck_assert_int_eq(bf_diff_explain(&e, diff, drv, NULL, NULL, "SUM(price)", NULL, 3), BF_OK);
        sum = part_real(e, BF_DIFF_PART_ADDED) + part_real(e, BF_DIFF_PART_REMOVED) +
              part_real(e, BF_DIFF_PART_CHANGED);
        /* Reals: the parts sum to the delta up to rounding, 1e-9 relative to the totals. */
        ck_assert_msg(fabs(sum - observed) <= 1e-9 * fabs(part_real(e, BF_DIFF_PART_AFTER)),
                      "%.17g vs %.17g", sum, observed);
        bf_diff_explained_free(e);
    }
    bf_diff_free(diff);
    bf_diff_before_free(before);
}
END_TEST

START_TEST(metrics_that_do_not_decompose_are_refused)
{
    static const char *const bad[] = {"AVG(amount)", "MIN(amount)", "max(amount)",
                                      "COUNT(DISTINCT note)", "SUM(amount) / SUM(price)",
                                      "SUM()", "amount", "SUM(amount) + 1"};
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    bf_diff_explained *e = NULL;

    make_table(KEY_INT, 2, 30);
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", int_key, 1, NULL, NULL, NULL), BF_OK);
    ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, NULL), BF_OK);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        ck_assert_msg(bf_diff_explain(&e, diff, drv, NULL, NULL, bad[i], NULL, 0) == BF_E_INVALID,
                      "%s accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(bf_last_error(), "decompose"));
    }
    bf_diff_free(diff);
    /* A per-row term that is not numeric, on a changed row. */
    sql("UPDATE t SET note = 'x' WHERE id = 1");
    {
        bf_diff_options o = BF_DIFF_OPTIONS_INIT;

        o.before_table = "old";
        ck_assert_int_eq(bf_diff_compute(&diff, drv, "t", int_key, 1, NULL, NULL, before, &o),
                         BF_OK);
    }
    ck_assert_int_eq(bf_diff_explain(&e, diff, drv, NULL, NULL, "SUM(note)", NULL, 0), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "not numeric"));
    bf_diff_free(diff);
    bf_diff_before_free(before);
}
END_TEST

/* Key batches [0,100), [100,200), ... on id. */
static bf_plan *key_plan(int batches)
{
    static const char *const names[] = {"lo", "hi"};
    bf_plan *plan;
    char label[64];

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "id", 0), BF_OK);
    for (int i = 0; i < batches; i++) {
        bf_value v[2] = {{.type = BF_VALUE_INT, .i = i * 100}, {.type = BF_VALUE_INT, .i = i * 100 + 100}};

        snprintf(label, sizeof label, "id [%d, %d)", i * 100, i * 100 + 100);
        ck_assert_int_eq(bf__plan_add(plan, i * 100, i * 100 + 100, label, 2, names, v), BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(plan, ""), BF_OK);
    return plan;
}

/*
 * The runbook's case: capture the batch's scope before the publish, publish
 * with a snapshot, diff against the snapshot (the batch's pre-image), on a
 * text key different from the plan's column. Checked against EXCEPT over
 * the scope of a copy taken before the publish.
 */
START_TEST(diff_of_a_published_batch_against_its_snapshot)
{
    static const char *const key[] = {"code"};
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_plan *plan = key_plan(3);
    const bf_batch *batch = bf_plan_batch(plan, 1);
    bf_diff_before *before = NULL;
    bf_diff *diff = NULL;
    bf_diff_explained *e = NULL;
    bf_value v;

    sql("CREATE TABLE t (id INTEGER, code TEXT, amount INTEGER);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299) "
        "INSERT INTO t SELECT i, 'k' || i, i % 13 FROM n;"
        "CREATE TABLE src AS SELECT id, code, CASE WHEN id % 9 = 0 THEN amount + 5 ELSE amount END "
        "AS amount FROM t WHERE id >= 100 AND id < 200 AND id % 10 <> 3;"
        "INSERT INTO src VALUES (150, 'k150b', 4);"
        "CREATE TABLE old AS SELECT * FROM t WHERE id >= 100 AND id < 200");
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.select = "SELECT id, code, amount FROM src WHERE id >= :lo AND id < :hi";
    spec.snapshot = 1;
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", key, 1, plan, batch, NULL), BF_OK);
    ck_assert_int_eq(bf_diff_before_rows(before), 100);
    ck_assert_int_eq(bf_driver_stage(NULL, drv, &spec, plan, batch, 1), BF_OK);
    ck_assert_msg(bf_driver_publish(NULL, drv, &spec, plan, batch, 1, 1) == BF_OK, "%s",
                  bf_last_error());
    /* The batch's rows of the run's snapshot tables, as a table of their own. */
    ck_assert_int_eq(bf_driver_snapshot_views(drv, "t", batch, 1, &o.before_table,
                                              &o.before_keys_table), BF_OK);
    ck_assert_int_eq(query_int("SELECT count(*) FROM t__bf_snap_1 WHERE bf__batch = 1"), 100);
    ck_assert_msg(bf_diff_compute(&diff, drv, "t", key, 1, plan, batch, before, &o) == BF_OK, "%s",
                  bf_last_error());
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_ADDED),
                     query_int("SELECT count(*) FROM (SELECT code FROM t WHERE id >= 100 AND id < 200 "
                               "EXCEPT SELECT code FROM old)"));
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_ADDED), 1);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_REMOVED), 10);
    ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED),
                     query_int("SELECT count(*) FROM (SELECT * FROM t WHERE id >= 100 AND id < 200 "
                               "EXCEPT SELECT * FROM old) JOIN old USING (code)"));
    ck_assert_int_eq(bf_diff_explain(&e, diff, drv, plan, batch, "SUM(amount)", NULL, 0), BF_OK);
    ck_assert_int_eq(bf_diff_explained_value(&v, e, BF_DIFF_PART_DELTA), BF_OK);
    ck_assert_int_eq(v.i, query_int("SELECT (SELECT sum(amount) FROM t WHERE id >= 100 AND id < 200)"
                                    " - (SELECT sum(amount) FROM old)"));
    bf_diff_explained_free(e);
    bf_diff_free(diff);
    bf_diff_before_free(before);
    bf_plan_free(plan);
}
END_TEST

/* A merge's snapshot holds only the touched keys: the untouched rows come from the table. */
START_TEST(diff_of_a_merge_against_its_snapshot_and_keys)
{
    static const char *const key[] = {"code"};

    for (int delete_missing = 0; delete_missing <= 1; delete_missing++) {
        bf_write_spec spec = BF_WRITE_SPEC_INIT;
        bf_diff_options o = BF_DIFF_OPTIONS_INIT;
        bf_plan *plan = key_plan(3);
        const bf_batch *batch = bf_plan_batch(plan, 1);
        bf_diff_before *before = NULL;
        bf_diff *diff = NULL;
        const char *scope = "SELECT * FROM t WHERE id >= 100 AND id < 200";
        char q[512];
        int rc;

        sql("DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS src; DROP TABLE IF EXISTS old;"
            "DROP TABLE IF EXISTS t__bf_snap_1; DROP TABLE IF EXISTS t__bf_snapkeys_1;"
            "DROP TABLE IF EXISTS t__bf_snapinfo_1; DROP TABLE IF EXISTS t__bf_stage_1_1;"
            "CREATE TABLE t (id INTEGER, code TEXT, amount INTEGER);"
            "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299) "
            "INSERT INTO t SELECT i, 'k' || i, i % 13 FROM n;"
            "CREATE TABLE src AS SELECT id, code, amount + 1 AS amount FROM t "
            "WHERE id >= 100 AND id < 200 AND id % 4 = 0;"
            "INSERT INTO src VALUES (150, 'k150new', 4), (151, 'k151', 0);"
            "CREATE TABLE old AS SELECT * FROM t WHERE id >= 100 AND id < 200");
        spec.table = "t";
        spec.key = key;
        spec.key_count = 1;
        spec.select = "SELECT id, code, amount FROM src WHERE id >= :lo AND id < :hi";
        spec.strategy = BF_WRITE_MERGE;
        spec.delete_missing = delete_missing;
        spec.snapshot = 1;
        o.segments = 16;
        ck_assert_int_eq(bf_diff_capture(&before, drv, "t", key, 1, plan, batch, &o), BF_OK);
        ck_assert_int_eq(bf_driver_stage(NULL, drv, &spec, plan, batch, 1), BF_OK);
        ck_assert_msg(bf_driver_publish(NULL, drv, &spec, plan, batch, 1, 1) == BF_OK, "%s",
                      bf_last_error());
        {
            const char *keys = NULL;

            ck_assert_int_eq(bf_driver_snapshot_views(drv, "t", batch, 1, &o.before_table, &keys),
                             BF_OK);
            /* Without delete_missing the snapshot alone lacks the untouched rows: refused. */
            rc = bf_diff_compute(&diff, drv, "t", key, 1, plan, batch, before, &o);
            ck_assert_int_eq(rc, delete_missing ? BF_OK : BF_E_CONFLICT);
            bf_diff_free(diff);
            diff = NULL;
            ck_assert_ptr_nonnull(keys);
            o.before_keys_table = keys;
        }
        ck_assert_msg(bf_diff_compute(&diff, drv, "t", key, 1, plan, batch, before, &o) == BF_OK,
                      "%s", bf_last_error());
        snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT code FROM (%s) EXCEPT SELECT code FROM old)",
                 scope);
        ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_ADDED), query_int(q));
        snprintf(q, sizeof q, "SELECT count(*) FROM (SELECT code FROM old EXCEPT SELECT code FROM (%s))",
                 scope);
        ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_REMOVED), query_int(q));
        snprintf(q, sizeof q, "SELECT count(*) FROM (%s EXCEPT SELECT * FROM old) JOIN old USING (code)",
                 scope);
        ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED), query_int(q));
        ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_CHANGED), 26);
        ck_assert_int_eq(bf_diff_count(diff, BF_DIFF_REMOVED), delete_missing ? 74 : 0);
        {
            bf_diff_explained *e = NULL;
            bf_value v;

            ck_assert_int_eq(bf_diff_explain(&e, diff, drv, plan, batch, "SUM(amount)", "id % 3",
                                             0), BF_OK);
            ck_assert_int_eq(bf_diff_explained_value(&v, e, BF_DIFF_PART_DELTA), BF_OK);
            snprintf(q, sizeof q, "SELECT (SELECT sum(amount) FROM (%s)) - (SELECT sum(amount) "
                     "FROM old)", scope);
            ck_assert_int_eq(v.i, query_int(q));
            ck_assert_int_eq(bf_diff_explained_value(&v, e, BF_DIFF_PART_BEFORE), BF_OK);
            ck_assert_int_eq(v.i, query_int("SELECT sum(amount) FROM old"));
            bf_diff_explained_free(e);
        }
        bf_diff_free(diff);
        bf_diff_before_free(before);
        bf_plan_free(plan);
    }
}
END_TEST

/*
 * The runner's explanation after a delta publish reads only the keys the
 * publish touched (bf__diff_explain_touched); it must give exactly what
 * bf_diff_explain gives from a diff of the whole batch, reals to the last
 * bit (their JSON, which prints reals in full, compared as text).
 */
static char *explained_by_touched(const char *table, const char *const *key, size_t kc,
                                  const bf_diff_before *before, const bf_plan *plan,
                                  const bf_batch *batch, const char *metric, const char *group_by,
                                  int *rc)
{
    bf_fingerprint after;
    bf_diff_explained *e = NULL;
    bf_validator *v = NULL;
    bf_results *r = NULL;
    bf_value total;
    char *json = NULL, *given = NULL, check[200];
    int rc_given;

    ck_assert_int_eq(bf_driver_fingerprint(&after, drv, table, NULL, 0, plan, batch), BF_OK);
    *rc = bf__diff_explain_touched(&e, drv, table, snap_rows, snap_keys, key, kc, before, &after,
                                   NULL, plan, batch, metric, group_by, 3);
    if (*rc == BF_OK)
        ck_assert_int_eq(bf_diff_explained_to_json(&json, e), BF_OK);
    bf_diff_explained_free(e);
    e = NULL;
    /*
     * As the runner explains: the metric after taken from a metric check's
     * result (the profile's sum, or the check's query) instead of measured
     * again. It must be the same to the last bit.
     */
    snprintf(check, sizeof check, "{\"check\": \"metric\", \"expr\": \"%s\"}", metric);
    ck_assert_int_eq(bf_validator_new(&v, table, key, kc, NULL, 0), BF_OK);
    ck_assert_int_eq(bf_validator_add_check_json(v, check), BF_OK);
    ck_assert_msg(bf_validator_after(&r, v, drv, plan, batch, NULL) == BF_OK, "%s",
                  bf_last_error());
    ck_assert_int_eq(bf__results_total(&total, r, 0), BF_OK);
    rc_given = bf__diff_explain_touched(&e, drv, table, snap_rows, snap_keys, key, kc, before,
                                        &after, &total, plan, batch, metric, group_by, 3);
    ck_assert_int_eq(rc_given, *rc);
    if (rc_given == BF_OK) {
        ck_assert_int_eq(bf_diff_explained_to_json(&given, e), BF_OK);
        ck_assert_msg(strcmp(given, json) == 0, "%s given:\n%s\nmeasured:\n%s", metric, given,
                      json);
    }
    bf_free(given);
    bf_diff_explained_free(e);
    bf_results_free(r);
    bf_validator_free(v);
    return json;
}

static char *explained_by_diff(const char *table, const char *const *key, size_t kc,
                               const bf_diff_before *before, const bf_plan *plan,
                               const bf_batch *batch, const char *metric, const char *group_by,
                               int *rc)
{
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff *diff = NULL;
    bf_diff_explained *e = NULL;
    char *json = NULL;

    o.before_table = snap_rows;
    o.before_keys_table = snap_keys;
    *rc = bf_diff_compute(&diff, drv, table, key, kc, plan, batch, before, &o);
    if (*rc == BF_OK)
        *rc = bf_diff_explain(&e, diff, drv, plan, batch, metric, group_by, 3);
    if (*rc == BF_OK)
        ck_assert_int_eq(bf_diff_explained_to_json(&json, e), BF_OK);
    bf_diff_explained_free(e);
    bf_diff_free(diff);
    return json;
}

static int64_t json_part(const char *json, const char *part)
{
    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    int64_t v;

    ck_assert_ptr_nonnull(o);
    ck_assert_msg(json_is_integer(json_object_get(o, part)), "%s in %s", part, json);
    v = json_integer_value(json_object_get(o, part));
    json_decref(o);
    return v;
}

START_TEST(explained_from_touched_keys_equals_the_diff)
{
    static const char *const pks[] = {"PRIMARY KEY (id)", "PRIMARY KEY (code)",
                                      "PRIMARY KEY (grp, id)", "PRIMARY KEY (id)"};
    static const char *const id_key[] = {"id"}, *const code_key[] = {"code"},
                             *const grp_key[] = {"grp", "id"};
    static const char *const metrics[] = {"SUM(amount)", "COUNT(*)", "count(note)"};
    static const char *const groups[] = {NULL, "grp"};

    /* Key kinds (integer, text, composite), a merge, and a job that changes nothing. */
    for (int kind = 0; kind < 5; kind++) {
        const char *const *key = kind == 1 ? code_key : kind == 2 ? grp_key : id_key;
        size_t kc = kind == 2 ? 2 : 1;
        bf_write_spec spec = BF_WRITE_SPEC_INIT;
        bf_plan *plan = key_plan(3);
        const bf_batch *batch = bf_plan_batch(plan, 1);
        bf_diff_before *before = NULL;
        char ddl[512];

        snprintf(ddl, sizeof ddl,
                 "DROP TABLE IF EXISTS t; DROP TABLE IF EXISTS src;"
                 "DROP TABLE IF EXISTS t__bf_snap_1; DROP TABLE IF EXISTS t__bf_snapkeys_1;"
                 "DROP TABLE IF EXISTS t__bf_snapinfo_1; DROP TABLE IF EXISTS t__bf_stage_1_1;"
                 "DROP TABLE IF EXISTS bf_fence;"
                 "CREATE TABLE t (id INTEGER, code TEXT, grp INTEGER, amount REAL, note TEXT, %s)",
                 pks[kind < 4 ? kind : 0]);
        sql(ddl);
        /* Holes at id % 7 = 5 for the job to add; a note on every third row. */
        sql("WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299) "
            "INSERT INTO t SELECT i, 'k' || i, i % 4, i * 0.37, CASE WHEN i % 3 = 0 THEN 'n' END "
            "FROM n WHERE i % 7 <> 5");
        if (kind == 4)
            sql("CREATE TABLE src AS SELECT * FROM t");
        else
            /* Removes id % 10 = 3, changes id % 9 = 0 (amount and note), adds even holes. */
            sql("CREATE TABLE src AS SELECT id, code, grp, CASE WHEN id % 9 = 0 THEN amount * 1.1 "
                "+ 0.3 ELSE amount END AS amount, CASE WHEN id % 9 = 0 THEN 'changed' ELSE note "
                "END AS note FROM t WHERE id >= 100 AND id < 200 AND id % 10 <> 3 "
                "UNION ALL SELECT i, 'k' || i, i % 4, i / 3.0, NULL FROM (WITH RECURSIVE n(i) AS "
                "(SELECT 100 UNION ALL SELECT i + 1 FROM n WHERE i < 199) SELECT i FROM n) "
                "WHERE i % 7 = 5 AND i % 2 = 0");
        spec.table = "t";
        spec.key = key;
        spec.key_count = kc;
        spec.select = "SELECT id, code, grp, amount, note FROM src WHERE id >= :lo AND id < :hi";
        spec.snapshot = 1;
        if (kind == 3) {
            spec.strategy = BF_WRITE_MERGE;
            spec.delete_missing = 1;
        }
        ck_assert_int_eq(bf_diff_capture(&before, drv, "t", key, kc, plan, batch, NULL), BF_OK);
        /* Published twice: a rerun touches no key for the first time, the keys stay. */
        for (int64_t token = 1; token <= 2; token++) {
            ck_assert_int_eq(bf_driver_stage(NULL, drv, &spec, plan, batch, 1), BF_OK);
            ck_assert_msg(bf_driver_publish(NULL, drv, &spec, plan, batch, 1, token) == BF_OK,
                          "%s", bf_last_error());
            ck_assert_int_eq(bftest_snapshot(raw, "t", 1, 1), 2);
            ck_assert_int_eq(bf_driver_snapshot_views(drv, "t", batch, 1, &snap_rows, &snap_keys),
                             BF_OK);
            for (size_t m = 0; m < 3; m++)
                for (size_t g = 0; g < 2; g++) {
                    int rc_fast, rc_diff;
                    char *fast = explained_by_touched("t", key, kc, before, plan, batch,
                                                      metrics[m], groups[g], &rc_fast);
                    char *slow = explained_by_diff("t", key, kc, before, plan, batch, metrics[m],
                                                   groups[g], &rc_diff);

                    ck_assert_msg(rc_fast == BF_OK, "kind %d %s: %s", kind, metrics[m],
                                  bf_last_error());
                    ck_assert_int_eq(rc_diff, BF_OK);
                    ck_assert_msg(strcmp(fast, slow) == 0, "kind %d %s by %s:\n%s\nvs\n%s", kind,
                                  metrics[m], groups[g] ? groups[g] : "-", fast, slow);
                    if (m == 1) {
                        /* Rows counted: 7 added (even holes), 8 removed (id % 10 = 3, not holes). */
                        ck_assert_int_eq(json_part(fast, "added"), kind == 4 ? 0 : 7);
                        ck_assert_int_eq(json_part(fast, "removed"), kind == 4 ? 0 : -8);
                        ck_assert_int_eq(json_part(fast, "delta"), kind == 4 ? 0 : -1);
                    }
                    bf_free(fast);
                    bf_free(slow);
                }
        }
        /*
         * Another writer changes a row the publish left alone: neither way
         * explains. (A merge with delete_missing touches every key of the
         * bounds: there the change is the key's, and both ways agree.)
         */
        sql("UPDATE t SET amount = amount + 1 WHERE id = 101");
        {
            int rc_fast, rc_diff;
            char *fast = explained_by_touched("t", key, kc, before, plan, batch, "SUM(amount)",
                                              NULL, &rc_fast);
            char *slow = explained_by_diff("t", key, kc, before, plan, batch, "SUM(amount)", NULL,
                                           &rc_diff);

            ck_assert_msg(rc_fast == (kind == 3 ? BF_OK : BF_E_CONFLICT), "kind %d: %d", kind,
                          rc_fast);
            ck_assert_int_eq(rc_diff, rc_fast);
            if (kind == 3)
                ck_assert_str_eq(fast, slow);
            else
                ck_assert_ptr_null(fast);
            bf_free(fast);
            bf_free(slow);
        }
        bf_diff_before_free(before);
        bf_plan_free(plan);
    }
}
END_TEST

/* ---- allocation failures: every one is BF_E_NOMEM and leaks nothing ---- */

static int sweep_all(void *ctx)
{
    bf_driver *d = ctx;
    bf_diff_options o = BF_DIFF_OPTIONS_INIT;
    bf_diff_before *before = NULL, *parsed = NULL;
    bf_diff *diff = NULL;
    bf_diff_explained *e = NULL;
    char *json = NULL, *djson = NULL, *ejson = NULL;
    int rc;

    o.segments = 8;
    o.before_table = "old";
    rc = bf_diff_capture(&before, d, "old", comp_key, 2, NULL, NULL, &o);
    if (rc == BF_OK)
        rc = bf_diff_before_to_json(&json, before);
    if (rc == BF_OK)
        rc = bf_diff_before_from_json(&parsed, json);
    if (rc == BF_OK)
        rc = bf_diff_compute(&diff, d, "t", comp_key, 2, NULL, NULL, parsed, &o);
    if (rc == BF_OK)
        rc = bf_diff_to_json(&djson, diff, 3);
    if (rc == BF_OK)
        rc = bf_diff_explain(&e, diff, d, NULL, NULL, "SUM(amount)", "note", 2);
    if (rc == BF_OK)
        rc = bf_diff_explained_to_json(&ejson, e);
    bf_free(json);
    bf_free(djson);
    bf_free(ejson);
    bf_diff_explained_free(e);
    bf_diff_free(diff);
    bf_diff_before_free(before);
    bf_diff_before_free(parsed);
    return rc;
}

struct touched_sweep {
    const bf_diff_before *before;
    bf_fingerprint after;
    bf_plan *plan;
};

static int sweep_touched(void *ctx)
{
    static const char *const key[] = {"id"};
    struct touched_sweep *t = ctx;
    bf_diff_explained *e = NULL;
    char *json = NULL;
    int rc = bf__diff_explain_touched(&e, drv, "t", snap_rows, snap_keys, key, 1, t->before,
                                      &t->after, NULL, t->plan, bf_plan_batch(t->plan, 1),
                                      "SUM(amount)", "grp", 2);

    if (rc == BF_OK)
        rc = bf_diff_explained_to_json(&json, e);
    bf_free(json);
    bf_diff_explained_free(e);
    return rc;
}

/* The explanation from touched keys: every allocation failure is BF_E_NOMEM and leaks nothing. */
START_TEST(explained_from_touched_keys_survives_allocation_failures)
{
    static const char *const key[] = {"id"};
    bf_write_spec spec = BF_WRITE_SPEC_INIT;
    struct touched_sweep t;
    bf_diff_before *before = NULL;

    t.plan = key_plan(3);
    sql("CREATE TABLE t (id INTEGER PRIMARY KEY, grp INTEGER, amount REAL);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 299) "
        "INSERT INTO t SELECT i, i % 4, i * 0.37 FROM n WHERE i % 7 <> 5;"
        "CREATE TABLE src AS SELECT id, grp, amount * 1.1 AS amount FROM t "
        "WHERE id >= 100 AND id < 200 AND id % 10 <> 3 UNION ALL SELECT 103 + 7 * 2, 1, 2.5");
    spec.table = "t";
    spec.key = key;
    spec.key_count = 1;
    spec.select = "SELECT id, grp, amount FROM src WHERE id >= :lo AND id < :hi";
    spec.snapshot = 1;
    ck_assert_int_eq(bf_diff_capture(&before, drv, "t", key, 1, t.plan, bf_plan_batch(t.plan, 1),
                                     NULL), BF_OK);
    ck_assert_int_eq(bf_driver_stage(NULL, drv, &spec, t.plan, bf_plan_batch(t.plan, 1), 1),
                     BF_OK);
    ck_assert_int_eq(bf_driver_publish(NULL, drv, &spec, t.plan, bf_plan_batch(t.plan, 1), 1, 1),
                     BF_OK);
    ck_assert_int_eq(bf_driver_fingerprint(&t.after, drv, "t", NULL, 0, t.plan,
                                           bf_plan_batch(t.plan, 1)), BF_OK);
    t.before = before;
    ck_assert_int_eq(bf_driver_snapshot_views(drv, "t", bf_plan_batch(t.plan, 1), 1, &snap_rows,
                                              &snap_keys), BF_OK);
    ck_assert_ptr_nonnull(snap_keys);
    ck_assert_int_eq(sweep_touched(&t), BF_OK);
    ck_assert_int_ge(failalloc_sweep(sweep_touched, NULL, &t), 20);
    bf_diff_before_free(before);
    bf_plan_free(t.plan);
}
END_TEST

START_TEST(diff_survives_allocation_failures)
{
    bf_driver *portable;

    make_table(KEY_COMPOSITE, 5, 40);
    sql("UPDATE t SET amount = amount + 1 WHERE id = 2; DELETE FROM t WHERE id = 5;"
        "INSERT INTO t VALUES (99, 'c0', 1, 1.0, 'n')");
    ck_assert_int_ge(failalloc_sweep(sweep_all, NULL, drv), 20);
    portable = portable_driver();
    ck_assert_int_ge(failalloc_sweep(sweep_all, NULL, portable), 20);
    bf_driver_free(portable);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("diff");
    TCase *tc = tcase_create("diff");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, diff_agrees_with_except_on_random_tables);
    tcase_add_test(tc, both_paths_segment_alike);
    tcase_add_test(tc, diff_of_a_published_batch_against_its_snapshot);
    tcase_add_test(tc, diff_of_a_merge_against_its_snapshot_and_keys);
    tcase_add_test(tc, explained_from_touched_keys_equals_the_diff);
    tcase_add_test(tc, missing_or_wrong_before_rows_are_refused);
    tcase_add_test(tc, tolerance_and_samples);
    tcase_add_test(tc, explained_delta_sums_exactly);
    tcase_add_test(tc, explained_delta_of_reals_within_tolerance);
    tcase_add_test(tc, metrics_that_do_not_decompose_are_refused);
    tcase_add_test(tc, diff_survives_allocation_failures);
    tcase_add_test(tc, explained_from_touched_keys_survives_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
