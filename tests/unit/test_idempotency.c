/*
 * Idempotency: keys, static analysis on real SQLite tables, the rerun probe
 * (the target's fingerprint never moves), and finding completed batches by
 * key through the ledger.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "bftest.h"
#include "sqltest.h"
#include "failalloc.h"
#include "idempotency/idem_internal.h"

static char dir[64];
static char path[96];
static char lpath[96];
static sqlite3 *raw;

static void setup(void)
{
    strcpy(dir, "/tmp/bf-idem-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    snprintf(lpath, sizeof lpath, "%s/ledger.db", dir);
    ck_assert_int_eq(sqlite3_open(path, &raw), SQLITE_OK);
}

static void teardown(void)
{
    char cmd[128];

    sqlite3_close(raw);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static void sql(const char *text)
{
    bftest_sql_exec(raw, text);
}

static int64_t query_int(const char *text)
{
    return bftest_sql_int(raw, text);
}

static bf_driver *open_driver(void)
{
    bf_driver *d;

    ck_assert_int_eq(bf_driver_open_sqlite(&d, path, 0), BF_OK);
    return d;
}

/* Key batches [0, 10), [10, 20), [20, 30) of `column`. */
static bf_plan *key_plan(const char *column, int64_t width)
{
    bf_planner *p;
    bf_plan *plan;

    ck_assert_int_eq(bf_planner_new(&p), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_scope(p, column, 0, 30), BF_OK);
    ck_assert_int_eq(bf_planner_set_key_width(p, width), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, p), BF_OK);
    bf_planner_free(p);
    return plan;
}

static bf_fingerprint fp_of(bf_driver *d, const char *table)
{
    bf_fingerprint fp;

    ck_assert_msg(bf_driver_fingerprint(&fp, d, table, NULL, 0, NULL, NULL) == BF_OK, "%s",
                  bf_last_error());
    return fp;
}

/* No table of the probe's is left behind. */
static void assert_no_scratch(void)
{
    ck_assert_int_eq(query_int("SELECT count(*) FROM sqlite_master WHERE name LIKE "
                               "'%\\_\\_bf\\_idem%' ESCAPE '\\'"), 0);
}

/*
 * t: ids 0..29 with v = id (a primary key on id). src: the corrected rows,
 * v = id * 10. d: a merge target whose key k repeats (k 12 and 14 twice).
 * app: t without a key.
 */
static void tables(void)
{
    sql("CREATE TABLE t (id INTEGER PRIMARY KEY, v INTEGER, other INTEGER);"
        "CREATE TABLE src (id INTEGER, v INTEGER, other INTEGER);"
        "CREATE TABLE d (k INTEGER, v INTEGER, other INTEGER);"
        "CREATE TABLE u (k INTEGER, v INTEGER, other INTEGER);"
        "CREATE TABLE app (id INTEGER, v INTEGER, other INTEGER);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29) "
        "INSERT INTO t SELECT i, i, 30 - i FROM n;"
        "INSERT INTO src SELECT id, v * 10, other FROM t;"
        "INSERT INTO d SELECT id, v, other FROM t;"
        "INSERT INTO d VALUES (12, 1, 1), (14, 2, 2);"
        "INSERT INTO u SELECT id, v, other FROM t;"
        "INSERT INTO app SELECT id, v, other FROM t;");
}

static const char *const key_id[] = {"id"};
static const char *const key_k[] = {"k"};

static bf_write_spec spec_of(const char *table, bf_write_strategy strategy, const char *select,
                             const char *const *key, size_t key_count)
{
    bf_write_spec s = BF_WRITE_SPEC_INIT;

    s.table = table;
    s.strategy = strategy;
    s.select = select;
    s.key = key;
    s.key_count = key_count;
    return s;
}

/* ---- keys ---- */

START_TEST(keys_are_stable_and_change_with_every_input)
{
    bf_plan *plan = key_plan("id", 10), *other = key_plan("id", 5);
    const bf_batch *b0 = bf_plan_batch(plan, 0), *b1 = bf_plan_batch(plan, 1);
    const char *job = "SELECT id, v FROM src WHERE id >= :lo AND id < :hi";
    char a[BF_IDEMPOTENCY_KEY_SIZE], b[BF_IDEMPOTENCY_KEY_SIZE];

    ck_assert_int_eq(bf_idempotency_key(a, plan, b0, "v1", job), BF_OK);
    ck_assert_int_eq(strlen(a), 32);
    ck_assert_int_eq(strspn(a, "0123456789abcdef"), 32);
    ck_assert_int_eq(bf_idempotency_key(b, plan, b0, "v1", job), BF_OK);
    ck_assert_str_eq(a, b);
    ck_assert_int_eq(bf_idempotency_key(b, plan, b1, "v1", job), BF_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(bf_idempotency_key(b, plan, b0, "v2", job), BF_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(bf_idempotency_key(b, plan, b0, "v1", "SELECT 1"), BF_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(bf_idempotency_key(a, plan, b0, NULL, job), BF_OK);
    ck_assert_int_eq(bf_idempotency_key(b, plan, b0, "", job), BF_OK);
    ck_assert_str_ne(a, b);
    /* The same bounds in another plan are other work. */
    ck_assert_int_eq(bf_idempotency_key(a, plan, b0, "v1", job), BF_OK);
    ck_assert_int_eq(bf_idempotency_key(b, other, bf_plan_batch(other, 0), "v1", job), BF_OK);
    ck_assert_str_ne(a, b);
    ck_assert_int_eq(bf_idempotency_key(b, plan, bf_plan_batch(other, 0), "v1", job),
                     BF_E_INVALID);
    ck_assert_int_eq(bf_idempotency_key(NULL, plan, b0, "v1", job), BF_E_INVALID);
    bf_plan_free(plan);
    bf_plan_free(other);
}
END_TEST

/* ---- static analysis ---- */

static bf_idem_findings *check(bf_driver *d, const bf_write_spec *spec, const bf_plan *plan)
{
    bf_idem_findings *f = NULL;
    int rc = bf_idempotency_check(&f, d, spec, plan);

    ck_assert_msg(rc == BF_OK, "check: %s", bf_last_error());
    return f;
}

/* How many findings have `code`; the first one's severity and message go to the out params. */
static size_t count_code(const bf_idem_findings *f, const char *code, bf_idem_severity *sev,
                         const char **msg)
{
    size_t n = 0;

    for (size_t i = 0; i < bf_idem_findings_count(f); i++) {
        if (strcmp(bf_idem_findings_code(f, i), code) != 0)
            continue;
        if (!n++) {
            if (sev)
                *sev = bf_idem_findings_severity(f, i);
            if (msg)
                *msg = bf_idem_findings_message(f, i);
        }
    }
    return n;
}

START_TEST(analysis_flags_append_merge_bounds_and_self_reads)
{
    bf_driver *d;
    bf_plan *plan = key_plan("id", 10), *kplan = key_plan("k", 10);
    const char *good = "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi";
    bf_idem_findings *f;
    bf_idem_severity sev = 0;
    const char *msg = NULL;
    bf_write_spec s;
    char *json = NULL;

    tables();
    d = open_driver();

    /* A correct overwrite and a merge on the primary key: nothing to say. */
    s = spec_of("t", BF_WRITE_PARTITION_OVERWRITE, good, NULL, 0);
    f = check(d, &s, plan);
    ck_assert_int_eq(bf_idem_findings_count(f), 0);
    bf_idem_findings_free(f);
    s = spec_of("t", BF_WRITE_MERGE, good, key_id, 1);
    f = check(d, &s, plan);
    ck_assert_int_eq(bf_idem_findings_count(f), 0);
    bf_idem_findings_free(f);
    s = spec_of("t", BF_WRITE_STAGING_SWAP,
                "SELECT id, v, other FROM src /* :lo */ WHERE id BETWEEN :lo AND :hi - 1", NULL,
                0);
    f = check(d, &s, plan);
    ck_assert_int_eq(bf_idem_findings_count(f), 0);
    bf_idem_findings_free(f);

    /* append */
    s = spec_of("app", BF_WRITE_APPEND, good, NULL, 0);
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "append-without-key", &sev, NULL), 1);
    ck_assert_int_eq(sev, BF_IDEM_BLOCK);
    ck_assert_int_eq(bf_idem_findings_blocking(f), 1);
    ck_assert_str_eq(bf_idem_findings_path(f, 0), "$.target.key");
    ck_assert_int_eq(bf_idem_findings_to_json(&json, f), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"code\":\"append-without-key\""));
    ck_assert_ptr_nonnull(strstr(json, "\"severity\":\"block\""));
    bf_free(json);
    bf_idem_findings_free(f);
    s = spec_of("app", BF_WRITE_APPEND, good, key_id, 1);
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "append-not-idempotent", &sev, NULL), 1);
    ck_assert_int_eq(sev, BF_IDEM_WARN);
    bf_idem_findings_free(f);

    /* merge: a key that repeats in the target, and one that is unique but unenforced */
    s = spec_of("d", BF_WRITE_MERGE,
                "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi", key_k, 1);
    f = check(d, &s, kplan);
    ck_assert_int_eq(count_code(f, "merge-key-not-unique", &sev, &msg), 1);
    ck_assert_int_eq(sev, BF_IDEM_BLOCK);
    ck_assert_msg(strstr(msg, "2 rows of d") && strstr(msg, "(k=12) x2"), "%s", msg);
    bf_idem_findings_free(f);
    s.table = "u";
    f = check(d, &s, kplan);
    ck_assert_int_eq(count_code(f, "merge-key-not-unique", NULL, NULL), 0);
    ck_assert_int_eq(count_code(f, "merge-key-not-enforced", &sev, NULL), 1);
    ck_assert_int_eq(sev, BF_IDEM_WARN);
    bf_idem_findings_free(f);
    s = spec_of("t", BF_WRITE_MERGE, good, NULL, 0);
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "merge-without-key", NULL, NULL), 1);
    bf_idem_findings_free(f);
    s = spec_of("t", BF_WRITE_MERGE, good, key_k, 1);
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "key-unknown-column", NULL, NULL), 1);
    bf_idem_findings_free(f);
    /* A key spelled otherwise than its column is that column, as in SQL: not unknown. */
    {
        static const char *const key_upper[] = {"K"};

        s = spec_of("d", BF_WRITE_MERGE, "SELECT id, v, other FROM src WHERE id >= :lo AND "
                    "id < :hi", key_upper, 1);
        f = check(d, &s, kplan);
        ck_assert_int_eq(count_code(f, "key-unknown-column", NULL, NULL), 0);
        ck_assert_int_eq(count_code(f, "merge-key-not-unique", NULL, NULL), 1);
        bf_idem_findings_free(f);
    }

    /* overwrites: no bounds, another column's bounds, bounds only in a string or comment */
    s = spec_of("t", BF_WRITE_PARTITION_OVERWRITE, "SELECT id, v, other FROM src", NULL, 0);
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "overwrite-bounds-mismatch", &sev, &msg), 2);
    ck_assert_int_eq(sev, BF_IDEM_BLOCK);
    ck_assert_msg(strstr(msg, "does not use :lo"), "%s", msg);
    bf_idem_findings_free(f);
    s.select = "SELECT id, v, other FROM src WHERE other >= :lo AND \"other\" < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "overwrite-bounds-mismatch", NULL, &msg), 2);
    ck_assert_msg(strstr(msg, "beside other") && strstr(msg, "column id"), "%s", msg);
    bf_idem_findings_free(f);
    s.select = "SELECT id, v, ':lo' FROM src -- id >= :lo AND id < :hi\n";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "overwrite-bounds-mismatch", NULL, NULL), 2);
    bf_idem_findings_free(f);
    s.select = "SELECT s.id, s.v, s.other FROM src s WHERE :lo <= s.\"ID\" AND s.id < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(bf_idem_findings_count(f), 0);
    bf_idem_findings_free(f);

    /* jobs that read their own target */
    s.select = "SELECT id, v + 1, other FROM t WHERE id >= :lo AND id < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "job-reads-target", &sev, NULL), 1);
    ck_assert_int_eq(sev, BF_IDEM_WARN);
    bf_idem_findings_free(f);
    s.select = "SELECT s.id, s.v, x.other FROM src s LEFT JOIN main.\"T\" x ON x.id = s.id "
               "WHERE s.id >= :lo AND s.id < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "job-reads-target", NULL, NULL), 1);
    bf_idem_findings_free(f);
    s.select = "SELECT id, v, other FROM src, (SELECT 1) AS one, t WHERE id >= :lo AND id < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "job-reads-target", NULL, NULL), 1);
    bf_idem_findings_free(f);
    s.select = "SELECT id, v, 't' AS t FROM src WHERE id >= :lo AND id < :hi";
    f = check(d, &s, plan);
    ck_assert_int_eq(count_code(f, "job-reads-target", NULL, NULL), 0);
    bf_idem_findings_free(f);

    /* Bad input: a missing table, a spec from the future. */
    s = spec_of("nope", BF_WRITE_PARTITION_OVERWRITE, good, NULL, 0);
    ck_assert_int_eq(bf_idempotency_check(&f, d, &s, plan), BF_E_NOT_FOUND);
    ck_assert_ptr_null(f);
    s = spec_of("t", BF_WRITE_PARTITION_OVERWRITE, good, NULL, 0);
    s.version = 99;
    ck_assert_int_eq(bf_idempotency_check(&f, d, &s, plan), BF_E_ABI);
    bf_driver_free(d);
    bf_plan_free(plan);
    bf_plan_free(kplan);
}
END_TEST

/* ---- the rerun probe ---- */

static bf_idem_probe *probe(bf_driver *d, const bf_write_spec *spec, const bf_plan *plan,
                            size_t batch)
{
    bf_fingerprint before = fp_of(d, spec->table), after;
    bf_idem_probe *p = NULL;
    int rc = bf_idempotency_probe(&p, d, spec, plan, bf_plan_batch(plan, batch), 7);

    ck_assert_msg(rc == BF_OK, "probe: %s", bf_last_error());
    after = fp_of(d, spec->table);
    ck_assert_msg(bf_fingerprint_equal(&before, &after), "the probe changed %s", spec->table);
    assert_no_scratch();
    return p;
}

START_TEST(probe_passes_correct_overwrite_and_merge)
{
    bf_driver *d;
    bf_plan *plan = key_plan("id", 10);
    const char *good = "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi";
    bf_write_spec s;
    bf_idem_probe *p;
    bf_fingerprint f0, f1, f2;
    char *json = NULL;

    tables();
    d = open_driver();
    s = spec_of("t", BF_WRITE_PARTITION_OVERWRITE, good, NULL, 0);
    p = probe(d, &s, plan, 1);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    ck_assert_str_eq(bf_idem_probe_message(p), "idempotent");
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f0, p, 0), BF_OK);
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f1, p, 1), BF_OK);
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f2, p, 2), BF_OK);
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f2, p, 3), BF_E_NOT_FOUND);
    /* The scope held the batch's 10 rows of t, and the job rewrote them. */
    ck_assert_int_eq(f0.rows, 10);
    ck_assert_int_eq(f1.rows, 10);
    ck_assert(!bf_fingerprint_equal(&f0, &f1));
    ck_assert(bf_fingerprint_equal(&f1, &f2));
    ck_assert_int_eq(bf_idem_probe_rows_added(p), 0);
    ck_assert_int_eq(bf_idem_probe_to_json(&json, p), BF_OK);
    ck_assert_ptr_nonnull(strstr(json, "\"idempotent\":true"));
    bf_free(json);
    bf_idem_probe_free(p);

    s = spec_of("t", BF_WRITE_MERGE, good, key_id, 1);
    p = probe(d, &s, plan, 2);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    ck_assert_int_eq(bf_idem_probe_duplicates(p), 0);
    ck_assert_ptr_null(bf_idem_probe_duplicate_samples(p));
    bf_idem_probe_free(p);

    /* staging_swap is probed as the overwrite it is per batch; the target is untouched. */
    s = spec_of("t", BF_WRITE_STAGING_SWAP, good, NULL, 0);
    p = probe(d, &s, plan, 0);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    bf_idem_probe_free(p);
    bf_driver_free(d);
    bf_plan_free(plan);
}
END_TEST

START_TEST(probe_flags_append_and_a_merge_on_a_repeated_key)
{
    bf_driver *d;
    bf_plan *plan = key_plan("id", 10), *kplan = key_plan("k", 10);
    const char *good = "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi";
    bf_write_spec s;
    bf_idem_probe *p;
    const char *msg;

    tables();
    d = open_driver();
    /* append without a key: the rerun adds the batch's rows again */
    s = spec_of("app", BF_WRITE_APPEND, good, NULL, 0);
    p = probe(d, &s, plan, 1);
    msg = bf_idem_probe_message(p);
    ck_assert(!bf_idem_probe_idempotent(p));
    ck_assert_int_eq(bf_idem_probe_rows_added(p), 10);
    ck_assert_msg(strstr(msg, "the rerun added 10 rows (20 -> 30)"), "%s", msg);
    bf_idem_probe_free(p);

    /* append with a key: the duplicated keys are shown */
    s = spec_of("app", BF_WRITE_APPEND, good, key_id, 1);
    p = probe(d, &s, plan, 1);
    msg = bf_idem_probe_message(p);
    ck_assert(!bf_idem_probe_idempotent(p));
    ck_assert_int_eq(bf_idem_probe_duplicates(p), 20); /* the copied scope's and two runs' */
    ck_assert_ptr_nonnull(bf_idem_probe_duplicate_samples(p));
    ck_assert_msg(strstr(msg, "(id=10) x3"), "%s", msg);
    bf_idem_probe_free(p);

    /* append into a table with a primary key: the rerun is refused */
    s = spec_of("t", BF_WRITE_APPEND, good, NULL, 0);
    p = probe(d, &s, plan, 1);
    msg = bf_idem_probe_message(p);
    ck_assert(!bf_idem_probe_idempotent(p));
    ck_assert_msg(strstr(msg, "publish 1 of the job was refused"), "%s", msg);
    bf_idem_probe_free(p);

    /* merge on a key the target repeats: the rerun is stable but the keys stay duplicated */
    s = spec_of("d", BF_WRITE_MERGE, good, key_k, 1);
    s.select = "SELECT id AS k, v, other FROM src WHERE id >= :lo AND id < :hi";
    p = probe(d, &s, kplan, 1);
    msg = bf_idem_probe_message(p);
    ck_assert(!bf_idem_probe_idempotent(p));
    ck_assert_int_eq(bf_idem_probe_rows_added(p), 0);
    ck_assert_int_eq(bf_idem_probe_duplicates(p), 2);
    ck_assert_msg(strstr(msg, "2 rows repeat a key") && strstr(msg, "(k=12) x2"), "%s", msg);
    bf_idem_probe_free(p);

    /* merge whose job repeats a key: the driver refuses the publish */
    s.select = "SELECT id AS k, v, other FROM src WHERE id >= :lo AND id < :hi "
               "UNION ALL SELECT 11, 0, 0";
    p = probe(d, &s, kplan, 1);
    msg = bf_idem_probe_message(p);
    ck_assert(!bf_idem_probe_idempotent(p));
    ck_assert_int_eq(bf_idem_probe_fingerprint(&(bf_fingerprint){0}, p, 1), BF_E_NOT_FOUND);
    ck_assert_msg(strstr(msg, "refused") && strstr(msg, "more than once"), "%s", msg);
    bf_idem_probe_free(p);
    bf_driver_free(d);
    bf_plan_free(plan);
    bf_plan_free(kplan);
}
END_TEST

START_TEST(probe_failures_leave_nothing_behind)
{
    bf_driver *d;
    bf_plan *plan = key_plan("id", 10);
    bf_write_spec s;
    bf_idem_probe *p = NULL;
    bf_fingerprint before;

    tables();
    d = open_driver();
    before = fp_of(d, "t");
    s = spec_of("t", BF_WRITE_PARTITION_OVERWRITE, "SELECT id, v, FROM src WHERE id >= :lo", NULL,
                0);
    ck_assert_int_ne(bf_idempotency_probe(&p, d, &s, plan, bf_plan_batch(plan, 0), 1), BF_OK);
    ck_assert_ptr_null(p);
    ck_assert_msg(strstr(bf_last_error(), "syntax") != NULL, "%s", bf_last_error());
    assert_no_scratch();
    /* A scratch table left by an interrupted probe is replaced. */
    sql("CREATE TABLE t__bf_idem (junk TEXT); INSERT INTO t__bf_idem VALUES ('x');");
    s.select = "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi";
    ck_assert_int_eq(bf_idempotency_probe(&p, d, &s, plan, bf_plan_batch(plan, 0), 1), BF_OK);
    ck_assert(bf_idem_probe_idempotent(p));
    bf_idem_probe_free(p);
    assert_no_scratch();
    s.table = "nope";
    ck_assert_int_eq(bf_idempotency_probe(&p, d, &s, plan, bf_plan_batch(plan, 0), 1),
                     BF_E_NOT_FOUND);
    {
        bf_fingerprint after = fp_of(d, "t");

        ck_assert(bf_fingerprint_equal(&before, &after));
    }
    bf_driver_free(d);
    bf_plan_free(plan);
}
END_TEST

/* The scope is copied by each dimension's predicate: partitions, buckets and time. */
START_TEST(probe_copies_the_scope_of_every_dimension)
{
    bf_driver *d;
    bf_planner *pl;
    bf_plan *plan;
    bf_write_spec s;
    bf_idem_probe *p;
    bf_fingerprint f0;
    bf_value parts[2] = {{.type = BF_VALUE_TEXT, .s = "a", .len = 1},
                         {.type = BF_VALUE_TEXT, .s = "b", .len = 1}};

    sql("CREATE TABLE g (id INTEGER PRIMARY KEY, grp TEXT, ts INTEGER, v INTEGER);"
        "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < 29) "
        "INSERT INTO g SELECT i, CASE WHEN i % 3 = 0 THEN 'a' ELSE 'b' END, "
        "1735689600 + i * 3600, i FROM n;"
        "CREATE TABLE gsrc AS SELECT id, grp, ts, v * 2 AS v FROM g;");
    d = open_driver();

    ck_assert_int_eq(bf_planner_new(&pl), BF_OK);
    ck_assert_int_eq(bf_planner_set_partition_scope(pl, "grp", parts, 2), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, pl), BF_OK);
    s = spec_of("g", BF_WRITE_PARTITION_OVERWRITE,
                "SELECT id, grp, ts, v FROM gsrc WHERE grp = :partition", NULL, 0);
    p = probe(d, &s, plan, 0);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f0, p, 0), BF_OK);
    ck_assert_int_eq(f0.rows, 10);
    bf_idem_probe_free(p);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_bucket_scope(pl, "id", 4), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, pl), BF_OK);
    s.select = "SELECT id, grp, ts, v FROM gsrc WHERE bf_bucket(id, :buckets) = :bucket";
    p = probe(d, &s, plan, 1);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f0, p, 0), BF_OK);
    {
        bf_fingerprint in_bucket;

        ck_assert_int_eq(bf_driver_fingerprint(&in_bucket, d, "g", NULL, 0, plan,
                                               bf_plan_batch(plan, 1)),
                         BF_OK);
        ck_assert(bf_fingerprint_equal(&f0, &in_bucket)); /* the copy is the batch's rows */
        ck_assert_int_gt(f0.rows, 0);
        ck_assert_int_lt(f0.rows, 30);
    }
    bf_idem_probe_free(p);
    bf_plan_free(plan);

    ck_assert_int_eq(bf_planner_set_time_scope(pl, "ts", "2025-01-01", "2025-01-03", "UTC"),
                     BF_OK);
    ck_assert_int_eq(bf_planner_set_grain(pl, BF_GRAIN_DAY, 1), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, pl), BF_OK);
    s.select = "SELECT id, grp, ts, v FROM gsrc WHERE ts >= :start AND ts < :end";
    p = probe(d, &s, plan, 0);
    ck_assert_msg(bf_idem_probe_idempotent(p), "%s", bf_idem_probe_message(p));
    ck_assert_int_eq(bf_idem_probe_fingerprint(&f0, p, 0), BF_OK);
    ck_assert_int_eq(f0.rows, 24); /* the first day's hours */
    bf_idem_probe_free(p);
    bf_plan_free(plan);
    bf_planner_free(pl);
    bf_driver_free(d);
}
END_TEST

/* ---- the ledger: completed batches found by key ---- */

static bf_ledger *open_ledger(void)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    bf_ledger *l;

    opts.actor = "test";
    ck_assert_msg(bf_ledger_open(&l, lpath, &opts) == BF_OK, "%s", bf_last_error());
    return l;
}

static bf_run *start(bf_ledger *l, const char *brief, const char *code, const bf_plan *plan,
                     unsigned flags)
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_run *run;

    spec.brief_name = brief;
    spec.code_version = code;
    spec.flags = flags;
    ck_assert_msg(bf_run_start(&run, l, &spec, plan) == BF_OK, "%s", bf_last_error());
    return run;
}

/* Claim the next batch and complete it with `key`; its id. */
static int64_t complete_with(bf_run *run, const char *key)
{
    bf_batch_result r = BF_BATCH_RESULT_INIT;
    bf_lease *lease;
    int64_t id;

    ck_assert_msg(bf_run_claim(&lease, run) == BF_OK, "%s", bf_last_error());
    ck_assert_ptr_nonnull(lease);
    id = bf_lease_batch_id(lease);
    r.idempotency_key = key;
    ck_assert_msg(bf_run_complete(run, id, bf_lease_token(lease), &r) == BF_OK, "%s",
                  bf_last_error());
    bf_lease_free(lease);
    return id;
}

/*
 * The scratch copy of the probe and the test slice is made like the target:
 * on SQLite by its own CREATE TABLE, so that its keys compare under the
 * target's collations and it refuses what the target refuses.
 */
START_TEST(scratch_tables_compare_and_refuse_as_the_target)
{
    bf_driver *d;
    bf_table_info *info = NULL;

    sql("CREATE TABLE c (k TEXT COLLATE NOCASE PRIMARY KEY, v INTEGER NOT NULL CHECK (v > 0))");
    d = open_driver();
    ck_assert_int_eq(bf_driver_describe(&info, d, "c"), BF_OK);
    ck_assert_msg(bf__scratch_create(d, info, "c", "c__scratch") == BF_OK, "%s", bf_last_error());
    sql("INSERT INTO c__scratch VALUES ('a', 1)");
    ck_assert_int_eq(query_int("SELECT count(*) FROM c__scratch WHERE k = 'A'"), 1);
    ck_assert_int_ne(sqlite3_exec(raw, "INSERT INTO c__scratch VALUES ('A', 2)", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_ne(sqlite3_exec(raw, "INSERT INTO c__scratch VALUES ('b', 0)", NULL, NULL, NULL),
                     SQLITE_OK);
    ck_assert_int_eq(query_int("SELECT count(*) FROM c__scratch"), 1);
    bf_table_info_free(info);
    bf_driver_free(d);
}
END_TEST

START_TEST(ledger_finds_completed_batches_by_key)
{
    const char *job = "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi";
    bf_plan *plan = key_plan("id", 10);
    bf_ledger *l = open_ledger();
    char k0[BF_IDEMPOTENCY_KEY_SIZE], k0v2[BF_IDEMPOTENCY_KEY_SIZE];
    char k0job[BF_IDEMPOTENCY_KEY_SIZE];
    bf_run *run, *again;
    int64_t done, found = -1;

    ck_assert_int_eq(bf_idempotency_key(k0, plan, bf_plan_batch(plan, 0), "v1", job), BF_OK);
    ck_assert_int_eq(bf_idempotency_key(k0v2, plan, bf_plan_batch(plan, 0), "v2", job), BF_OK);
    ck_assert_int_eq(bf_idempotency_key(k0job, plan, bf_plan_batch(plan, 0), "v1",
                                        "SELECT id, v, 0 FROM src WHERE id >= :lo AND id < :hi"),
                     BF_OK);
    run = start(l, "orders-fix", "v1", plan, 0);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0), BF_OK);
    ck_assert_int_eq(found, 0);
    done = complete_with(run, k0);

    /* A second run of the same brief finds the batch; other code or job text does not. */
    again = start(l, "orders-fix", "v1", plan, BF_RUN_NEW);
    ck_assert_int_ne(bf_run_id(again), bf_run_id(run));
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0), BF_OK);
    ck_assert_int_eq(found, done);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, NULL, k0), BF_OK);
    ck_assert_int_eq(found, done);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0v2), BF_OK);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0job), BF_OK);
    ck_assert_int_eq(found, 0);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "another-brief", k0), BF_OK);
    ck_assert_int_eq(found, 0);

    /* A validated batch still counts; a rolled-back one does not. */
    ck_assert_int_eq(bf_run_mark_batch(run, done, BF_BATCH_VALIDATED, "checked"), BF_OK);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0), BF_OK);
    ck_assert_int_eq(found, done);
    ck_assert_int_eq(bf_run_mark_batch(run, done, BF_BATCH_ROLLED_BACK, "undone"), BF_OK);
    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", k0), BF_OK);
    ck_assert_int_eq(found, 0);

    ck_assert_int_eq(bf_ledger_find_completed_key(&found, l, "orders-fix", ""), BF_E_INVALID);
    ck_assert_int_eq(bf_ledger_find_completed_key(NULL, l, "orders-fix", k0), BF_E_INVALID);
    bf_run_free(run);
    bf_run_free(again);
    bf_ledger_close(l);
    bf_plan_free(plan);
}
END_TEST

/* ---- allocation failures ---- */

static bf_driver *swept_driver;
static bf_plan *swept_plan;
static bf_write_spec swept_spec;

static int sweep_key(void *ctx)
{
    char k[BF_IDEMPOTENCY_KEY_SIZE];

    (void)ctx;
    return bf_idempotency_key(k, swept_plan, bf_plan_batch(swept_plan, 1), "v1", "SELECT 1");
}

static int sweep_check(void *ctx)
{
    bf_idem_findings *f = NULL;
    char *json = NULL;
    int rc = bf_idempotency_check(&f, swept_driver, &swept_spec, swept_plan);

    (void)ctx;
    if (rc == BF_OK)
        rc = bf_idem_findings_to_json(&json, f);
    bf_free(json);
    bf_idem_findings_free(f);
    return rc;
}

static int sweep_probe(void *ctx)
{
    bf_idem_probe *p = NULL;
    char *json = NULL;
    int rc = bf_idempotency_probe(&p, swept_driver, &swept_spec, swept_plan,
                                  bf_plan_batch(swept_plan, 1), 3);

    (void)ctx;
    if (rc == BF_OK)
        rc = bf_idem_probe_to_json(&json, p);
    bf_free(json);
    bf_idem_probe_free(p);
    return rc;
}

START_TEST(everything_survives_allocation_failures)
{
    tables();
    swept_driver = open_driver();
    swept_plan = key_plan("id", 10);
    ck_assert_int_ge(failalloc_sweep(sweep_key, NULL, NULL), 1);
    /* findings of every kind: no key, bounds on another column, a self-read */
    swept_spec = spec_of("app", BF_WRITE_APPEND,
                         "SELECT id, v, other FROM app WHERE other >= :lo", NULL, 0);
    ck_assert_int_ge(failalloc_sweep(sweep_check, NULL, NULL), 5);
    swept_spec = spec_of("d", BF_WRITE_MERGE,
                         "SELECT id AS k, v, other FROM src WHERE other >= :lo AND id < :hi",
                         key_k, 1);
    swept_spec.delete_missing = 1;
    ck_assert_int_ge(failalloc_sweep(sweep_check, NULL, NULL), 5);
    swept_spec = spec_of("app", BF_WRITE_APPEND,
                         "SELECT id, v, other FROM src WHERE id >= :lo AND id < :hi", key_id, 1);
    ck_assert_int_ge(failalloc_sweep(sweep_probe, NULL, NULL), 10);
    /* A failed allocation may leave the scratch tables; the next probe replaces and drops them. */
    ck_assert_int_eq(sweep_probe(NULL), BF_OK);
    assert_no_scratch();
    bf_driver_free(swept_driver);
    bf_plan_free(swept_plan);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("idempotency");
    TCase *tc = tcase_create("idempotency");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, keys_are_stable_and_change_with_every_input);
    tcase_add_test(tc, analysis_flags_append_merge_bounds_and_self_reads);
    tcase_add_test(tc, probe_passes_correct_overwrite_and_merge);
    tcase_add_test(tc, probe_flags_append_and_a_merge_on_a_repeated_key);
    tcase_add_test(tc, probe_failures_leave_nothing_behind);
    tcase_add_test(tc, probe_copies_the_scope_of_every_dimension);
    tcase_add_test(tc, scratch_tables_compare_and_refuse_as_the_target);
    tcase_add_test(tc, ledger_finds_completed_batches_by_key);
    tcase_add_test(tc, everything_survives_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
