/*
 * Fingerprint and profile benchmarks on a 2,000,000-row, 6-column SQLite
 * table (20,000 rows with BF_BENCH_QUICK=1), each against a baseline
 * measured in the same run:
 *   fingerprint_scan: bf_driver_fingerprint over the six columns vs the
 *     floor: a C aggregate registered here, bf_bench_read(c1, ..., c6), that
 *     reads every value's bytes by type (sqlite3_value_int64, _double, _text
 *     or _blob with _bytes) and folds every byte into a sum, so it does the
 *     least work that still reads the same data (no conversion, no hash);
 *   profile_one_scan: bf_driver_profile computing count, 6 null counts,
 *     3 sums and the fingerprint in one scan vs the same as separate queries.
 * Each figure is the best of a few runs (the fingerprint and its floor of
 * five, three in quick mode). The peers a user would otherwise
 * reach for are timed in the same run and printed to stderr (not BENCH
 * lines), one run each: the sqlite3 shell's `.sha3sum t` when a sqlite3
 * shell is on PATH, and a pure-SQL checksum of the shape data-diff uses
 * (see PEER_SQL).
 */
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backfill.h"

static const char *const cols[] = {"c1", "c2", "c3", "c4", "c5", "c6"};

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_fingerprint: %s: %s\n", what, msg);
    exit(1);
}

static void exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
        die(sql, err);
}

/* Run a query to its end; returns the first column of the first row. */
static sqlite3_int64 query(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    sqlite3_int64 v = 0;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        die(sql, sqlite3_errmsg(db));
    while (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void fill(sqlite3 *db, long rows)
{
    char sql[1024];

    exec(db, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;"
             "CREATE TABLE t (c1 INTEGER, c2 TEXT, c3 REAL, c4 TEXT, c5 INTEGER, c6 REAL)");
    snprintf(sql, sizeof sql,
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %ld) "
             "INSERT INTO t SELECT i, 'customer-' || (i %% 9973), i * 0.25, "
             "CASE WHEN i %% 10 = 0 THEN NULL ELSE printf('%%08x', i * 2654435761 %% 4294967296) END, "
             "CASE WHEN i %% 7 = 0 THEN NULL ELSE i %% 1000 END, "
             "CASE WHEN i %% 3 = 0 THEN NULL ELSE (i %% 100) / 7.0 END FROM n",
             rows);
    exec(db, sql);
}

static double time_fingerprint(bf_driver *d, bf_fingerprint *out)
{
    double t0 = now();

    if (bf_driver_fingerprint(out, d, "t", cols, 6, NULL, NULL) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    return now() - t0;
}

/*
 * The floor: read every value as SQLite stores it and touch each of its bytes,
 * nothing else. The sum is returned, so the compiler cannot drop the reads.
 */
static void read_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    uint64_t *acc = sqlite3_aggregate_context(ctx, sizeof *acc);
    uint64_t sum = 0;

    if (!acc)
        return;
    for (int i = 0; i < argc; i++) {
        const unsigned char *p = NULL;
        double r;
        uint64_t bits;
        int n;

        switch (sqlite3_value_type(argv[i])) {
        case SQLITE_INTEGER:
            sum += (uint64_t)sqlite3_value_int64(argv[i]);
            break;
        case SQLITE_FLOAT:
            r = sqlite3_value_double(argv[i]);
            memcpy(&bits, &r, sizeof bits);
            sum += bits;
            break;
        case SQLITE_TEXT:
            p = sqlite3_value_text(argv[i]);
            /* fall through */
        case SQLITE_BLOB:
            if (!p)
                p = sqlite3_value_blob(argv[i]);
            n = sqlite3_value_bytes(argv[i]);
            for (int k = 0; k < n; k++)
                sum += p[k];
            break;
        default:
            sum += 1;
            break;
        }
    }
    *acc += sum + 1;
}

static void read_final(sqlite3_context *ctx)
{
    uint64_t *acc = sqlite3_aggregate_context(ctx, 0);

    sqlite3_result_int64(ctx, acc ? (sqlite3_int64)*acc : 0);
}

static double time_floor(sqlite3 *db, sqlite3_int64 *sum)
{
    double t0 = now();

    *sum = query(db, "SELECT bf_bench_read(c1, c2, c3, c4, c5, c6) FROM t");
    return now() - t0;
}

/*
 * The pure-SQL checksum a user would write after data-diff, which sums
 * md5(concat(coalesce(cast(c AS text), '<null>'), ...)) cut to an integer.
 * Plain SQLite has no md5 (nor any hash), so the row text is reduced by its
 * length and two code points instead: a weaker checksum that costs no more
 * than a hash would, since rendering and joining the texts dominates.
 * (LIMIT -1 keeps SQLite from flattening the subquery, which would build
 * each row's text three times.)
 */
#define PEER_ROW                                                                              \
    "coalesce(cast(c1 AS text), '<null>') || '|' || coalesce(cast(c2 AS text), '<null>') || "  \
    "'|' || coalesce(cast(c3 AS text), '<null>') || '|' || coalesce(cast(c4 AS text), "        \
    "'<null>') || '|' || coalesce(cast(c5 AS text), '<null>') || '|' || "                     \
    "coalesce(cast(c6 AS text), '<null>')"
#define PEER_SQL                                                                              \
    "SELECT count(*), sum(length(r) * 1000003 + unicode(r) * 1009 + unicode(substr(r, -1))) " \
    "FROM (SELECT " PEER_ROW " AS r FROM t LIMIT -1)"

static double time_peer_sql(sqlite3 *db)
{
    double t0 = now();

    query(db, PEER_SQL);
    return now() - t0;
}

/* The sqlite3 shell's .sha3sum of the table; < 0 when no shell runs. */
static double time_peer_sha3sum(const char *path)
{
    char cmd[256];
    double t0 = now();

    snprintf(cmd, sizeof cmd, "sqlite3 -readonly '%s' '.sha3sum t' >/dev/null 2>&1", path);
    if (system(cmd) != 0)
        return -1;
    return now() - t0;
}

static double time_profile(bf_driver *d, bf_fingerprint *out)
{
    static const char *const sums[] = {"c1", "c3", "c5"};
    bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
    bf_profile *p;
    double t0 = now();

    spec.null_columns = cols;
    spec.null_count = 6;
    spec.sum_columns = sums;
    spec.sum_count = 3;
    spec.fingerprint = 1;
    if (bf_driver_profile(&p, d, "t", &spec, NULL, NULL) != BF_OK)
        die("profile", bf_driver_last_error(d));
    bf_profile_fingerprint(out, p);
    bf_profile_free(p);
    return now() - t0;
}

static double time_separate(sqlite3 *db, bf_driver *d)
{
    static const char *const queries[] = {
        "SELECT count(*) FROM t",
        "SELECT count(*) - count(c1) FROM t", "SELECT count(*) - count(c2) FROM t",
        "SELECT count(*) - count(c3) FROM t", "SELECT count(*) - count(c4) FROM t",
        "SELECT count(*) - count(c5) FROM t", "SELECT count(*) - count(c6) FROM t",
        "SELECT sum(c1) FROM t", "SELECT sum(c3) FROM t", "SELECT sum(c5) FROM t",
    };
    bf_fingerprint fp;
    double t0 = now();

    for (size_t i = 0; i < sizeof queries / sizeof *queries; i++)
        query(db, queries[i]);
    if (bf_driver_fingerprint(&fp, d, "t", cols, 6, NULL, NULL) != BF_OK)
        die("fingerprint", bf_driver_last_error(d));
    return now() - t0;
}

static double min2(double a, double b)
{
    return a < b ? a : b;
}

int main(void)
{
    int quick = getenv("BF_BENCH_QUICK") && strcmp(getenv("BF_BENCH_QUICK"), "0") != 0;
    long rows = quick ? 20000 : 2000000;
    int runs = quick ? 2 : 3;
    char dir[] = "/tmp/bf-bench-XXXXXX", path[64];
    double fp_best = 1e30, floor_best = 1e30, prof_best = 1e30, sep_best = 1e30;
    double sql_s, sha3_s;
    sqlite3_int64 floor_sum = 0;
    bf_fingerprint a, b;
    sqlite3 *db;
    bf_driver *d;

    if (!mkdtemp(dir))
        die("mkdtemp", "cannot make a scratch directory");
    snprintf(path, sizeof path, "%s/bench.db", dir);
    if (sqlite3_open(path, &db) != SQLITE_OK)
        die(path, sqlite3_errmsg(db));
    fill(db, rows);
    if (sqlite3_create_function_v2(db, "bf_bench_read", -1, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                   NULL, NULL, read_step, read_final, NULL) != SQLITE_OK)
        die("bf_bench_read", sqlite3_errmsg(db));
    if (bf_driver_open_sqlite(&d, path, 0) != BF_OK)
        die(path, bf_last_error());
    /* Warm both connections' caches before measuring. */
    time_floor(db, &floor_sum);
    time_fingerprint(d, &a);
    /*
     * The scan and its floor take about a second each, so they get more
     * runs: on a shared machine one slow run must not decide the ratio.
     */
    for (int i = 0; i < 2 * runs - 1; i++) {
        floor_best = min2(floor_best, time_floor(db, &floor_sum));
        fp_best = min2(fp_best, time_fingerprint(d, &a));
    }
    for (int i = 0; i < runs; i++) {
        sep_best = min2(sep_best, time_separate(db, d));
        prof_best = min2(prof_best, time_profile(d, &b));
    }
    /* The peers are far slower; one run each keeps the benchmark short. */
    sql_s = time_peer_sql(db);
    sha3_s = time_peer_sha3sum(path);
    if (floor_sum == 0)
        die("check", "the floor aggregate read nothing");
    if (!bf_fingerprint_equal(&a, &b) || a.rows != (uint64_t)rows)
        die("check", "the profile's fingerprint differs from the fingerprint scan");
    printf("BENCH name=fingerprint_scan value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:1.15\n",
           fp_best, floor_best, fp_best / floor_best);
    printf("BENCH name=profile_one_scan value=%.4f unit=s baseline=%.4f ratio=%.2f target=max:0.5\n",
           prof_best, sep_best, prof_best / sep_best);
    fprintf(stderr,
            "bench_fingerprint: %ld rows: fingerprint %.4f s (%.2f M rows/s); floor %.4f s; "
            "pure-SQL checksum %.4f s (fingerprint at %.2fx); ",
            rows, fp_best, rows / fp_best / 1e6, floor_best, sql_s, fp_best / sql_s);
    if (sha3_s > 0)
        fprintf(stderr, "sqlite3 shell .sha3sum %.4f s (fingerprint at %.2fx)\n", sha3_s,
                fp_best / sha3_s);
    else
        fprintf(stderr, "no sqlite3 shell on PATH, .sha3sum not timed\n");
    bf_driver_free(d);
    sqlite3_close(db);
    unlink(path);
    rmdir(dir);
    return 0;
}
