/*
 * Planning against the warehouse: bf_driver_plan_brief() and
 * bf_driver_count_batches(). Every one-scan count is compared with a
 * count(*) per batch, run on a raw connection with the batch's own bound
 * parameters, for time (DST days and hours, integer and text formats),
 * key, partition and bucket plans, through the SQLite aggregate and
 * through the portable GROUP BY (a dialect without the aggregate).
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "backfill/sys/driver.h"
#include "bftest.h"
#include "sqltest.h"
#include "common/internal.h"
#include "driver/driver_internal.h"

static char dir[64];
static char path[96];
static sqlite3 *raw;

static void setup(void)
{
    strcpy(dir, "/tmp/bf-plandrv-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
}

static void teardown(void)
{
    sqlite3_close(raw);
    unlink(path);
    rmdir(dir);
}

static void sql(const char *text)
{
    bftest_sql_exec(raw, text);
}

/* The SQLite driver, and the same connection without the batch-counts aggregate. */
static bf_driver *open_driver(int aggregate)
{
    bf_sql_vtable vt = bf__sqlite_vtable;
    bf_driver *d;
    void *conn;

    if (aggregate) {
        ck_assert_int_eq(bf_driver_open_sqlite(&d, path, 0), BF_OK);
        return d;
    }
    vt.batch_counts_function = NULL;
    ck_assert_int_eq(bf__sqlite_open(&conn, path, 0), BF_OK);
    ck_assert_int_eq(bf_driver_new_sql(&d, &vt, conn, bf__sqlite_close), BF_OK);
    return d;
}

/*
 * count(*) of `table` within the batch, bound on a raw connection (buckets,
 * whose function the raw connection lacks: the driver's own per-batch count).
 */
static int64_t count_one(bf_driver *d, const char *table, const bf_plan *plan, const bf_batch *b)
{
    const char *col = bf_plan_column(plan);
    char text[512];
    sqlite3_stmt *st;
    int64_t n = -1;

    switch (bf_batch_dimension(b)) {
    case BF_DIM_TIME:
        snprintf(text, sizeof text, "SELECT count(*) FROM \"%s\" WHERE \"%s\" >= :start AND \"%s\" < :end", table, col, col);
        break;
    case BF_DIM_KEY:
        snprintf(text, sizeof text, "SELECT count(*) FROM \"%s\" WHERE \"%s\" >= :lo AND \"%s\" < :hi", table, col, col);
        break;
    case BF_DIM_PARTITION:
        snprintf(text, sizeof text, "SELECT count(*) FROM \"%s\" WHERE \"%s\" = :partition", table, col);
        break;
    default: {
        bf_profile_spec count_only = BF_PROFILE_SPEC_INIT;
        bf_profile *p;

        ck_assert_int_eq(bf_driver_profile(&p, d, table, &count_only, plan, b), BF_OK);
        n = bf_profile_rows(p);
        bf_profile_free(p);
        return n;
    }
    }
    ck_assert_msg(sqlite3_prepare_v2(raw, text, -1, &st, NULL) == SQLITE_OK, "%s", sqlite3_errmsg(raw));
    for (size_t i = 0; i < bf_batch_param_count(b); i++) {
        char name[32];
        bf_value v;
        int at;

        ck_assert_int_eq(bf_batch_param_at(&v, b, i), BF_OK);
        snprintf(name, sizeof name, ":%s", bf_batch_param_name(b, i));
        at = sqlite3_bind_parameter_index(st, name);
        if (!at)
            continue;
        if (v.type == BF_VALUE_INT)
            sqlite3_bind_int64(st, at, v.i);
        else
            sqlite3_bind_text(st, at, v.s, (int)v.len, SQLITE_TRANSIENT);
    }
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

/* The one-scan counts of both paths equal the per-batch counts; returns their total. */
static int64_t check_counts(const char *table, const bf_plan *plan)
{
    size_t n = bf_plan_count(plan);
    int64_t *counts = calloc(n, sizeof *counts), *want = calloc(n, sizeof *want), total = 0;
    bf_driver *d = open_driver(1);

    ck_assert_ptr_nonnull(counts);
    ck_assert_ptr_nonnull(want);
    for (size_t i = 0; i < n; i++)
        total += want[i] = count_one(d, table, plan, bf_plan_batch(plan, i));
    bf_driver_free(d);
    for (int aggregate = 0; aggregate < 2; aggregate++) {
        d = open_driver(aggregate);
        ck_assert_msg(bf_driver_count_batches(counts, d, plan, table) == BF_OK, "%s",
                      bf_driver_last_error(d));
        for (size_t i = 0; i < n; i++)
            ck_assert_msg(counts[i] == want[i],
                          "%s %s (aggregate %d): %lld rows, count(*) says %lld", table,
                          bf_batch_label(bf_plan_batch(plan, i)), aggregate,
                          (long long)counts[i], (long long)want[i]);
        bf_driver_free(d);
    }
    free(counts);
    free(want);
    return total;
}

static bf_plan *time_plan(const char *column, const char *start, const char *end,
                          const char *zone, bf_grain grain, unsigned every,
                          bf_time_format format, bf_batch_order order)
{
    bf_planner *p;
    bf_plan *plan;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_time_scope(p, column, start, end, zone), BF_OK);
    ck_assert_int_eq(bf_planner_set_grain(p, grain, every), BF_OK);
    ck_assert_int_eq(bf_planner_set_time_format(p, format), BF_OK);
    ck_assert_int_eq(bf_planner_set_order(p, order), BF_OK);
    ck_assert_msg(bf_planner_plan(&plan, p) == BF_OK, "%s", bf_last_error());
    bf_planner_free(p);
    return plan;
}

/*
 * ev: an event every 7 minutes over Oct 2024 .. Apr 2025 and around both
 * 2025 DST changes of America/New_York, in unix_s, unix_ms, ISO text and
 * local date text, plus rows exactly on midnight boundaries and oddities
 * (NULL, a real, text in the integer column).
 */
static void events(void)
{
    sql("CREATE TABLE ev (ts INTEGER, ms INTEGER, iso TEXT, day TEXT, v);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 60000) "
        "INSERT INTO ev SELECT 1727740800 + i * 420, (1727740800 + i * 420) * 1000, "
        "datetime(1727740800 + i * 420, 'unixepoch'), date(1727740800 + i * 420 - 18000, 'unixepoch'), i FROM n;"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
        "INSERT INTO ev SELECT 1741410000 + i * 97, (1741410000 + i * 97) * 1000, "
        "datetime(1741410000 + i * 97, 'unixepoch'), NULL, i FROM n;"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 4000) "
        "INSERT INTO ev SELECT 1762056000 + i * 61, (1762056000 + i * 61) * 1000, "
        "datetime(1762056000 + i * 61, 'unixepoch'), NULL, i FROM n;"
        /* local midnights, 03:00 on the spring night, the repeated 01:00 on the fall night */
        "INSERT INTO ev (ts, ms, iso) VALUES (1741496400, 1741496400000, '2025-03-09 05:00:00'),"
        " (1741503600, 1741503600000, '2025-03-09 07:00:00'), (1762059600, 1762059600000, '2025-11-02 05:00:00'),"
        " (1762063200, 1762063200000, '2025-11-02 06:00:00'), (1762066800, 1762066800000, '2025-11-02 07:00:00');"
        "INSERT INTO ev (ts, ms, iso, day) VALUES (NULL, NULL, NULL, NULL), (1741500000.5, 1741500000000.5, "
        "'2025-03-09T06:00:00', '2025-03-09'), ('soon', 'soon', 'soon', 'soon');"
        "CREATE INDEX ev_ts ON ev (ts); CREATE INDEX ev_ms ON ev (ms); CREATE INDEX ev_iso ON ev (iso);"
        "CREATE INDEX ev_day ON ev (day)");
}

START_TEST(time_counts_equal_per_batch_counts)
{
    static const bf_batch_order orders[] = {BF_BATCH_ORDER_OLDEST_FIRST, BF_BATCH_ORDER_NEWEST_FIRST};
    bf_plan *plan;

    events();
    for (int o = 0; o < 2; o++) {
        plan = time_plan("ts", "2024-10-01", "2025-04-30", "America/New_York", BF_GRAIN_DAY, 1,
                         BF_TIME_FORMAT_UNIX_S, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 40000);
        bf_plan_free(plan);
        plan = time_plan("ts", "2025-03-08", "2025-03-11", "America/New_York", BF_GRAIN_HOUR, 1,
                         BF_TIME_FORMAT_UNIX_S, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 2000);
        bf_plan_free(plan);
        plan = time_plan("ts", "2025-11-01", "2025-11-04", "America/New_York", BF_GRAIN_HOUR, 1,
                         BF_TIME_FORMAT_UNIX_S, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 2000);
        bf_plan_free(plan);
        plan = time_plan("ms", "2024-10-01", "2025-04-30", "Australia/Lord_Howe", BF_GRAIN_DAY, 1,
                         BF_TIME_FORMAT_UNIX_MS, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 40000);
        bf_plan_free(plan);
        plan = time_plan("iso", "2024-10-01", "2025-04-30", "America/New_York", BF_GRAIN_DAY, 1,
                         BF_TIME_FORMAT_ISO8601, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 40000);
        bf_plan_free(plan);
        plan = time_plan("day", "2024-10-01", "2025-04-30", "America/New_York", BF_GRAIN_DAY, 1,
                         BF_TIME_FORMAT_DATE, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 40000);
        bf_plan_free(plan);
        plan = time_plan("ts", "2024-10-01", "2025-04-30", "Europe/Berlin", BF_GRAIN_WEEK, 1,
                         BF_TIME_FORMAT_UNIX_S, orders[o]);
        ck_assert_int_gt(check_counts("ev", plan), 40000);
        bf_plan_free(plan);
    }
}
END_TEST

static bf_plan *width_plan(const char *column, int64_t lo, int64_t hi, int64_t width,
                           bf_batch_order order)
{
    bf_planner *p;
    bf_plan *plan;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, column, lo, hi), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, width), BF_OK);
    ck_assert_int_eq(bf_planner_set_order(p, order), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
    bf_planner_free(p);
    return plan;
}

START_TEST(key_counts_equal_per_batch_counts)
{
    bf_plan *plan;

    /* k: integers with repeats and gaps, reals, text, NULL; tk: the same in a TEXT column. */
    sql("CREATE TABLE k (id INTEGER, v); CREATE TABLE tk (id TEXT, v);"
        "WITH RECURSIVE n(i) AS (SELECT -500 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) "
        "INSERT INTO k SELECT (i * 7919) % 15013, i FROM n;"
        "INSERT INTO k VALUES (3.5, 'r'), (-0.5, 'r'), (12000.25, 'r'), (NULL, 'n'), ('77', 't'), "
        "(x'01', 'b'), (9223372036854775807, 'max'), (-9223372036854775807 - 1, 'min');"
        "INSERT INTO tk SELECT id, v FROM k; CREATE INDEX k_id ON k (id); CREATE INDEX tk_id ON tk (id)");
    for (int o = 1; o <= 2; o++) {
        plan = width_plan("id", -5000, 10000, 10, (bf_batch_order)o); /* 1,500 batches */
        ck_assert_int_gt(check_counts("k", plan), 10000);
        bf_plan_free(plan);
        plan = width_plan("id", INT64_MIN, INT64_MAX, INT64_MAX / 3, (bf_batch_order)o);
        check_counts("k", plan);
        bf_plan_free(plan);
        plan = width_plan("id", 0, 1000, 7, (bf_batch_order)o);
        check_counts("tk", plan); /* compared as text, the batches overlap: counted one by one */
        bf_plan_free(plan);
    }
}
END_TEST

START_TEST(partition_and_bucket_counts_equal_per_batch_counts)
{
    bf_value values[6] = {
        {.type = BF_VALUE_INT, .i = 42},    {.type = BF_VALUE_TEXT, .s = "42", .len = 2},
        {.type = BF_VALUE_TEXT, .s = "eu", .len = 2}, {.type = BF_VALUE_TEXT, .s = "EU", .len = 2},
        {.type = BF_VALUE_INT, .i = 7},     {.type = BF_VALUE_TEXT, .s = "none", .len = 4},
    };
    const char *const tables[] = {"p_any", "p_int", "p_text", "p_nocase"};
    bf_planner *p;
    bf_plan *plan;

    sql("CREATE TABLE p_any (r, v); CREATE TABLE p_int (r INTEGER, v); CREATE TABLE p_text (r TEXT, v);"
        "CREATE TABLE p_nocase (r TEXT COLLATE NOCASE, v);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 3000) "
        "INSERT INTO p_any SELECT CASE i % 9 WHEN 0 THEN 42 WHEN 1 THEN '42' WHEN 2 THEN 42.0 "
        "WHEN 3 THEN 'eu' WHEN 4 THEN 'EU' WHEN 5 THEN 7 WHEN 6 THEN NULL WHEN 7 THEN 'Eu' ELSE i END, i FROM n;"
        "INSERT INTO p_int SELECT * FROM p_any; INSERT INTO p_text SELECT * FROM p_any;"
        "INSERT INTO p_nocase SELECT * FROM p_any");
    for (int o = 1; o <= 2; o++) {
        ck_assert_int_eq(bf_planner_new(&p), BF_OK);
        ck_assert_int_eq(bf_planner_set_partition_scope(p, "r", values, 6), BF_OK);
        ck_assert_int_eq(bf_planner_set_order(p, (bf_batch_order)o), BF_OK);
        ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
        for (size_t t = 0; t < BF_ARRAY_LEN(tables); t++)
            check_counts(tables[t], plan);
        bf_plan_free(plan);
        ck_assert_int_eq(bf_planner_set_bucket_scope(p, "r", 16), BF_OK);
        ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
        for (size_t t = 0; t < BF_ARRAY_LEN(tables); t++)
            check_counts(tables[t], plan);
        bf_plan_free(plan);
        bf_planner_free(p);
    }
}
END_TEST

START_TEST(counts_name_a_missing_table_or_column)
{
    bf_plan *plan = width_plan("id", 0, 100, 10, BF_BATCH_ORDER_OLDEST_FIRST);
    int64_t counts[10];
    bf_driver *d;

    sql("CREATE TABLE k (key INTEGER)");
    d = open_driver(1);
    ck_assert_int_eq(bf_driver_count_batches(counts, d, plan, "kk"), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_driver_last_error(d), "table kk: no such table");
    ck_assert_int_eq(bf_driver_count_batches(counts, d, plan, "k"), BF_E_NOT_FOUND);
    ck_assert(strstr(bf_driver_last_error(d), "table k: no such column id") != NULL);
    ck_assert_int_eq(bf_driver_count_batches(NULL, d, plan, "k"), BF_E_INVALID);
    bf_driver_free(d);
    bf_plan_free(plan);
}
END_TEST

/* ---- bf_driver_plan_brief ---- */

static bf_brief *brief_of(const char *body)
{
    char text[2048];
    bf_brief *b;

    snprintf(text, sizeof text, "{\"format\": \"backfill-brief/1\", \"name\": \"t\", %s}", body);
    ck_assert_msg(bf_brief_load_json(&b, text, strlen(text)) == BF_OK, "%s", bf_last_error());
    return b;
}

static void orders(void)
{
    sql("CREATE TABLE o (id INTEGER PRIMARY KEY, ts INTEGER, cust INTEGER, amount REAL);"
        "CREATE TABLE c (code INTEGER);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 999) "
        "INSERT INTO o SELECT i * 3, 1735689600 + i * 3600, i % 17, i * 0.5 FROM n");
}

#define TIME_SCOPE "\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-01-20\"}}, " \
                   "\"batching\": {\"by\": \"time\", \"grain\": \"day\"}"

static void refused(bf_driver *d, const char *body, const char *message)
{
    bf_brief *b = brief_of(body);
    bf_plan *plan = (bf_plan *)1;

    ck_assert_int_eq(bf_driver_plan_brief(&plan, d, b), BF_E_INVALID);
    ck_assert_ptr_null(plan);
    ck_assert_str_eq(bf_last_error(), message);
    ck_assert_int_eq(bf_driver_last_error_code(d), BF_OK); /* the brief's fault, not the warehouse's */
    bf_brief_free(b);
}

START_TEST(plan_brief_checks_every_name)
{
    bf_driver *d;

    orders();
    d = open_driver(1);
    refused(d, "\"target\": {\"table\": \"oo\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE,
            "$.target.table: no table oo in the warehouse");
    refused(d, "\"target\": {\"table\": \"o\", \"time_column\": \"tz\", \"time_format\": \"unix_s\"}, " TIME_SCOPE,
            "$.target.time_column: table o has no column tz");
    refused(d, "\"target\": {\"table\": \"o\", \"key\": [\"ID\", \"idd\"], \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE,
            "$.target.key[1]: table o has no column idd");
    refused(d, "\"target\": {\"table\": \"o\", \"columns\": [\"amont\"], \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE,
            "$.target.columns[0]: table o has no column amont");
    refused(d, "\"target\": {\"table\": \"o\"}, \"scope\": {\"buckets\": {\"column\": \"cst\", \"count\": 4}}, \"batching\": {\"by\": \"bucket\"}",
            "$.scope.buckets.column: table o has no column cst");
    refused(d, "\"target\": {\"table\": \"o\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE
            ", \"validation\": [{\"check\": \"references\", \"columns\": [\"cust\"], \"parent\": \"cc\", \"parent_columns\": [\"code\"]}]",
            "$.validation[0].parent: no table cc in the warehouse");
    refused(d, "\"target\": {\"table\": \"o\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE
            ", \"validation\": [{\"check\": \"references\", \"columns\": [\"cust\"], \"parent\": \"c\", \"parent_columns\": [\"cod\"]}]",
            "$.validation[0].parent_columns[0]: table c has no column cod");
    refused(d, "\"target\": {\"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE,
            "$.target.table: planning against a warehouse needs the target table");
    refused(d, "\"target\": {\"table\": \"o\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, "
            "\"scope\": {\"time\": {\"start\": \"2025-01-01\", \"end\": \"2025-01-03\"}}, \"batching\": {\"by\": \"key\", \"width\": 5}",
            "$.batching.by: batching by key needs $.scope.keys, but the scope is $.scope.time");
    bf_driver_free(d);
}
END_TEST

START_TEST(plan_brief_walks_rows_per_batch_and_counts)
{
    bf_brief *b;
    bf_plan *plan;
    bf_driver *d;
    int64_t counts[64];

    orders();
    d = open_driver(1);
    b = brief_of("\"target\": {\"table\": \"o\", \"key\": [\"id\"]}, \"scope\": {\"keys\": {\"column\": \"id\", "
                 "\"start\": 0, \"end\": 5000}}, \"batching\": {\"by\": \"key\", \"rows_per_batch\": 100, "
                 "\"order\": \"newest_first\"}");
    ck_assert_msg(bf_driver_plan_brief(&plan, d, b) == BF_OK, "%s", bf_last_error());
    ck_assert_uint_eq(bf_plan_count(plan), 10);
    ck_assert_int_eq(bf_batch_lo(bf_plan_batch(plan, 0)), 2700);
    ck_assert_int_eq(bf_batch_hi(bf_plan_batch(plan, 0)), 5000);
    ck_assert_int_eq(bf_driver_count_batches(counts, d, plan, "o"), BF_OK);
    for (size_t i = 0; i < 10; i++)
        ck_assert_int_eq(counts[i], 100);
    ck_assert_int_eq(check_counts("o", plan), 1000);
    bf_plan_free(plan);
    bf_brief_free(b);

    /* Keys that are not integers: the warehouse's failure, kept on the handle. */
    sql("CREATE TABLE q (id); INSERT INTO q SELECT id FROM o; INSERT INTO q VALUES (4000.5)");
    b = brief_of("\"target\": {\"table\": \"q\"}, \"scope\": {\"keys\": {\"column\": \"id\", "
                 "\"start\": 0, \"end\": 5000}}, \"batching\": {\"by\": \"key\", \"rows_per_batch\": 100}");
    ck_assert_int_eq(bf_driver_plan_brief(&plan, d, b), BF_E_INVALID);
    ck_assert_int_eq(bf_driver_last_error_code(d), BF_E_INVALID);
    ck_assert(strstr(bf_driver_last_error(d), "column id holds 4000.5") != NULL);
    bf_brief_free(b);

    /* Time and bucket briefs plan as bf_planner_new_from_brief() does. */
    b = brief_of("\"target\": {\"table\": \"o\", \"time_column\": \"ts\", \"time_format\": \"unix_s\"}, " TIME_SCOPE);
    ck_assert_int_eq(bf_driver_plan_brief(&plan, d, b), BF_OK);
    ck_assert_uint_eq(bf_plan_count(plan), 19);
    ck_assert_int_eq(check_counts("o", plan), 19 * 24);
    bf_plan_free(plan);
    bf_brief_free(b);
    bf_driver_free(d);
}
END_TEST

/* ---- older vtables, and allocation failures ---- */

START_TEST(version_1_vtables_still_work)
{
    size_t v1 = offsetof(bf_sql_vtable, batch_counts_function);
    unsigned char *svt = malloc(v1); /* exactly as long as a version-1 host's */
    size_t dv1 = offsetof(bf_driver_vtable, count_batches);
    unsigned char *dvt = malloc(dv1);
    bf_sql_vtable sql_v1 = bf__sqlite_vtable;
    bf_driver_vtable drv_v1 = BF_DRIVER_VTABLE_INIT;
    bf_plan *plan = width_plan("id", 0, 100, 10, BF_BATCH_ORDER_OLDEST_FIRST);
    int64_t counts[10];
    bf_driver *d;
    void *conn;

    sql("CREATE TABLE k (id INTEGER); INSERT INTO k VALUES (1), (2), (55), (99), (100)");
    sql_v1.version = 1;
    memcpy(svt, &sql_v1, v1);
    ck_assert_int_eq(bf__sqlite_open(&conn, path, 0), BF_OK);
    ck_assert_int_eq(bf_driver_new_sql(&d, (const bf_sql_vtable *)(void *)svt, conn,
                                       bf__sqlite_close), BF_OK);
    free(svt);
    ck_assert_int_eq(bf_driver_count_batches(counts, d, plan, "k"), BF_OK);
    ck_assert_int_eq(counts[0], 2);
    ck_assert_int_eq(counts[5], 1);
    ck_assert_int_eq(counts[9], 1);
    bf_driver_free(d);
    /* A version-1 host driver has no count_batches: it is asked batch by batch. */
    drv_v1.version = 1;
    memcpy(dvt, &drv_v1, dv1);
    ck_assert_int_eq(bf_driver_new(&d, (const bf_driver_vtable *)(void *)dvt, NULL, NULL), BF_OK);
    free(dvt);
    ck_assert_int_eq(bf_driver_count_batches(counts, d, plan, "k"), BF_E_UNSUPPORTED);
    ck_assert(strstr(bf_driver_last_error(d), "profile is not supported") != NULL);
    bf_driver_free(d);
    bf_plan_free(plan);
}
END_TEST

static bf_driver *swept;
static bf_brief *swept_brief;
static bf_plan *swept_plan;

static int sweep_plan_brief(void *ctx)
{
    bf_plan *plan = NULL;
    int rc = bf_driver_plan_brief(&plan, swept, swept_brief);

    (void)ctx;
    bf_plan_free(plan);
    return rc;
}

static int sweep_count(void *ctx)
{
    int64_t counts[32];

    (void)ctx;
    return bf_driver_count_batches(counts, swept, swept_plan, "o");
}

START_TEST(plan_brief_and_counts_survive_allocation_failures)
{
    orders();
    for (int aggregate = 0; aggregate < 2; aggregate++) {
        swept = open_driver(aggregate);
        swept_brief = brief_of("\"target\": {\"table\": \"o\", \"key\": [\"id\"]}, \"scope\": {\"keys\": "
                               "{\"column\": \"id\", \"start\": 0, \"end\": 3000}}, \"batching\": {\"by\": \"key\", "
                               "\"rows_per_batch\": 100}, \"validation\": [{\"check\": \"references\", "
                               "\"columns\": [\"cust\"], \"parent\": \"c\", \"parent_columns\": [\"code\"]}]");
        ck_assert_int_ge(failalloc_sweep(sweep_plan_brief, NULL, NULL), 10);
        ck_assert_int_eq(bf_driver_plan_brief(&swept_plan, swept, swept_brief), BF_OK);
        ck_assert_int_ge(failalloc_sweep(sweep_count, NULL, NULL), 3);
        bf_plan_free(swept_plan);
        bf_brief_free(swept_brief);
        bf_driver_free(swept);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("plan_driver");
    TCase *tc = tcase_create("plan_driver");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, time_counts_equal_per_batch_counts);
    tcase_add_test(tc, key_counts_equal_per_batch_counts);
    tcase_add_test(tc, partition_and_bucket_counts_equal_per_batch_counts);
    tcase_add_test(tc, counts_name_a_missing_table_or_column);
    tcase_add_test(tc, plan_brief_checks_every_name);
    tcase_add_test(tc, plan_brief_walks_rows_per_batch_and_counts);
    tcase_add_test(tc, version_1_vtables_still_work);
    tcase_add_test(tc, plan_brief_and_counts_survive_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
