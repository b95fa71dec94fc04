/*
 * The brief: parsing every field (good and bad values), malformed input,
 * lossless load/save on every example, the typed accessors and setters,
 * every preflight rule (a brief that triggers it and one that does not),
 * the one-page rendering, and allocation failure at every point of ours.
 */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backfill.h"
#include "bftest.h"
#include "brief/brief_internal.h"

/* ---- Helpers ----------------------------------------------------------------- */

static char *example_path(const char *name)
{
    const char *root = getenv("BF_SOURCE_ROOT");
    static char path[1024];

    snprintf(path, sizeof path, "%s/examples/briefs/%s", root ? root : ".", name);
    return path;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    long n;
    char *buf;

    ck_assert_msg(f != NULL, "cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static bf_brief *load_text(const char *text)
{
    bf_brief *b = NULL;
    int rc = bf_brief_load_json(&b, text, strlen(text));

    ck_assert_msg(rc == BF_OK, "load failed: %s (%s)", bf_errstr(rc), bf_last_error());
    return b;
}

static bf_brief *load_example(const char *name)
{
    bf_brief *b = NULL;
    int rc = bf_brief_load_file(&b, example_path(name));

    ck_assert_msg(rc == BF_OK, "%s: %s", name, bf_last_error());
    return b;
}

/* Load must fail with `code` and a message containing `want`. */
static void expect_load_fail(const char *text, int code, const char *want)
{
    bf_brief *b = (bf_brief *)1;
    int rc = bf_brief_load_json(&b, text, strlen(text));

    ck_assert_msg(rc == code, "%s: got %s (%s), wanted %s", text, bf_errstr(rc), bf_last_error(),
                  bf_errstr(code));
    ck_assert_ptr_null(b);
    ck_assert_msg(strstr(bf_last_error(), want) != NULL, "%s: message \"%s\" lacks \"%s\"", text,
                  bf_last_error(), want);
}

/* Set `dotted` (creating objects) to the JSON `value`, or delete it when value is NULL. */
static void patch(json_t *doc, const char *dotted, const char *value)
{
    char buf[256], *seg, *next;
    json_t *at = doc;

    snprintf(buf, sizeof buf, "%s", dotted);
    for (seg = buf; (next = strchr(seg, '.')) != NULL; seg = next + 1) {
        json_t *child;
        *next = '\0';
        child = json_object_get(at, seg);
        if (!child) {
            child = json_object();
            json_object_set_new(at, seg, child);
        }
        at = child;
    }
    if (!value) {
        json_object_del(at, seg);
        return;
    }
    json_error_t err;
    json_t *v = json_loads(value, JSON_DECODE_ANY, &err);
    ck_assert_msg(v != NULL, "bad test value %s: %s", value, err.text);
    json_object_set_new(at, seg, v);
}

/* The good example with up to four patches applied, as JSON text (free with free()). */
struct edit {
    const char *dotted;
    const char *value; /* JSON; NULL deletes */
};

static char *patched_example(const struct edit *edits, size_t n)
{
    json_error_t err;
    json_t *doc = json_load_file(example_path("refund-join.json"), 0, &err);
    char *text;

    ck_assert_msg(doc != NULL, "%s", err.text);
    for (size_t i = 0; i < n && edits[i].dotted; i++)
        patch(doc, edits[i].dotted, edits[i].value);
    text = json_dumps(doc, JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

static int has_finding(const bf_findings *f, const char *code, bf_severity *sev, const char **path)
{
    for (size_t i = 0; i < bf_findings_count(f); i++)
        if (strcmp(bf_findings_code(f, i), code) == 0) {
            if (sev)
                *sev = bf_findings_severity(f, i);
            if (path)
                *path = bf_findings_path(f, i);
            return 1;
        }
    return 0;
}

static bf_findings *check_text(const char *text)
{
    bf_brief *b = load_text(text);
    bf_findings *f = NULL;

    ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);
    bf_brief_free(b);
    return f;
}

/* ---- Every field parses: a good value loads and keeps its value, a bad one is refused ---- */

static const struct field_case {
    const char *dotted;
    const char *good;
    const char *bad;
    const char *why; /* part of the message for the bad value */
} fields[] = {
    {"format", "\"backfill-brief/1\"", "\"backfill-brief/2\"", "expected \"backfill-brief/1\""},
    {"name", "\"refund-join-fix-2025h1\"", "\"Refund Join\"", "expected a name of 1 to 64"},
    {"name", "\"a\"", "\"-leading-dash\"", "got \"-leading-dash\""},
    {"name", "\"x0123456789012345678901234567890123456789012345678901234567890ab\"",
     "\"x0123456789012345678901234567890123456789012345678901234567890abc\"", "expected a name"},
    {"reason", "\"Refunds were not joined.\"", "42", "expected a string, got 42"},
    {"owner", "\"ana@example.com\"", "[\"ana\"]", "expected a string, got an array"},
    {"reviewer", "\"raj@example.com\"", "null", "expected a string, got null"},
    {"risk", "\"critical_rebuild\"", "\"high\"",
     "expected one of enrichment, metric_repair, schema_migration, critical_rebuild, got \"high\""},
    {"code_version", "\"git:4f2a9c1\"", "{}", "expected a string, got an object"},
    {"target.table", "\"fct_orders\"", "\"\"", "expected a non-empty string, got \"\""},
    {"target.key", "[\"order_id\", \"line\"]", "[\"order_id\", \"order_id\"]", "is listed twice"},
    {"target.columns", "[\"net_revenue\"]", "\"net_revenue\"", "expected an array"},
    {"target.time_column", "\"order_ts\"", "7", "expected a non-empty string, got 7"},
    {"target.time_format", "\"iso8601\"", "\"epoch\"", "expected one of unix_s, unix_ms"},
    {"target.time_format", "\"date\"", "\"unix\"", "got \"unix\""},
    {"sources", "[\"raw_orders\"]", "[1]", "$.sources[0]: expected a non-empty string, got 1"},
    {"scope.time.start", "\"2024-02-29\"", "\"2025-02-29\"", "expected a real date"},
    {"scope.time.start", "\"2025-01-01 00:00:00\"", "\"2025-01-01 24:00\"", "expected a real date"},
    {"scope.time.end", "\"2025-06-01 12:30\"", "\"2025-06-01 24:00\"", "expected a real date"},
    {"scope.time.timezone", "\"Europe/Paris\"", "\"Mars/Olympus_Mons\"", "expected an IANA time zone"},
    {"scope.time.timezone", "\"UTC\"", "\"../../etc/passwd\"", "expected an IANA time zone"},
    {"scope.time.timezone", "\"America/New_York\"", "\"/etc/localtime\"", "expected an IANA time zone"},
    {"scope.keys.column", "\"order_id\"", "5", "expected a non-empty string"},
    {"scope.keys.start", "-5", "1.5", "expected an integer, got 1.5"},
    {"scope.keys.end", "9223372036854775807", "\"10\"", "expected an integer, got \"10\""},
    {"scope.partitions.column", "\"region\"", "false", "expected a non-empty string, got false"},
    {"scope.partitions.values", "[202501, \"2025-02\"]", "[1, 1]", "1 is listed twice"},
    {"scope.partitions.values", "[\"eu\"]", "[true]", "expected an integer or a non-empty string"},
    {"scope.buckets.column", "\"customer_id\"", "\"\"", "expected a non-empty string"},
    {"scope.buckets.count", "16", "0", "expected a positive integer, got 0"},
    {"scope.expected_rows.min", "0", "-1", "expected a non-negative integer, got -1"},
    {"scope.expected_rows.max", "250000", "2.5e5", "expected a non-negative integer, got 250000.0, a real"},
    {"batching.by", "\"key\"", "\"row\"", "expected one of time, key, partition, bucket"},
    {"batching.grain", "\"quarter\"", "\"fortnight\"", "expected one of hour, day, week, month"},
    {"batching.every", "7", "\"7\"", "$.batching.every: expected a positive integer, got \"7\""},
    {"batching.every", "1", "0", "expected a positive integer, got 0"},
    {"batching.width", "10000", "-10", "expected a positive integer"},
    {"batching.rows_per_batch", "50000", "0", "expected a positive integer"},
    {"batching.order", "\"newest_first\"", "\"random\"", "expected one of oldest_first, newest_first"},
    {"batching.max_concurrency", "4", "0", "expected a positive integer"},
    {"batching.max_attempts", "3", "true", "expected a positive integer, got true"},
    {"batching.retry_backoff_s", "0", "-1", "expected a non-negative integer"},
    {"batching.lease_s", "300", "0", "expected a positive integer"},
    {"batching.target_batch_s", "60", "0", "expected a positive integer"},
    {"batching.pause_between_batches_ms", "0", "-5", "expected a non-negative integer"},
    {"batching.window", "{\"hours\": [\"22:00-06:00\"], \"days\": [\"sat\", \"sun\"]}",
     "{\"hours\": [\"25:00-26:00\"]}",
     "$.batching.window.hours[0]: expected a range \"HH:MM-HH:MM\" of local times from 00:00 to "
     "24:00, got \"25:00-26:00\""},
    {"batching.window", "{\"hours\": [\"00:00-24:00\", \"23:00-01:00\"]}",
     "{\"hours\": [\"01:00-02:00\", \"3:00-04:00\"]}", "$.batching.window.hours[1]: expected a range"},
    {"batching.window", "{\"days\": [\"mon\", \"fri\"]}", "{\"days\": [\"mon\", \"mo\"]}",
     "$.batching.window.days[1]: expected one of mon, tue, wed, thu, fri, sat, sun, got \"mo\""},
    {"batching.window", "{}", "{\"days\": []}", "$.batching.window.days: expected at least one day"},
    {"batching.window", "{\"hours\": [\"12:00-13:00\"]}", "{\"hours\": []}",
     "$.batching.window.hours: expected at least one range"},
    {"batching.window", "{\"hours\": [\"06:00-05:59\"]}", "{\"hours\": [\"12:00-12:00\"]}",
     "$.batching.window.hours[0]: expected a range whose start and end differ"},
    {"batching.window", "{\"days\": [\"sun\"]}", "{\"days\": [\"sun\", \"sun\"]}",
     "$.batching.window.days[1]: \"sun\" is listed twice"},
    {"batching.window", "{\"days\": [\"sat\"]}", "{\"day\": [\"sat\"]}",
     "$.batching.window.day: unknown field"},
    {"batching.window", "{\"hours\": [\"22:00-06:00\"]}", "[\"22:00-06:00\"]",
     "$.batching.window: expected an object"},
    /* Integers are range-checked as JSON integers, before anything narrows them. */
    {"batching.every", "100000", "4294967297",
     "$.batching.every: expected a positive integer of at most 100000, got 4294967297"},
    {"batching.every", "7", "100001", "expected a positive integer of at most 100000, got 100001"},
    {"batching.max_concurrency", "4", "4294967297", "of at most 4294967295, got 4294967297"},
    {"batching.max_attempts", "4294967295", "4294967296", "of at most 4294967295, got 4294967296"},
    {"batching.retry_backoff_s", "9223372036854", "9223372036855", "of at most 9223372036854"},
    {"batching.lease_s", "9223372036854", "9223372036855", "of at most 9223372036854"},
    {"batching.target_batch_s", "60", "9223372036855", "of at most 9223372036854"},
    {"batching.pause_between_batches_ms", "9223372036854775", "9223372036854776",
     "of at most 9223372036854775"},
    {"rollback.retention_days", "106751991", "106751992", "of at most 106751991, got 106751992"},
    {"scope.buckets.count", "100000000", "100000001", "of at most 100000000, got 100000001"},
    /* A real where an integer is asked for says it is a real, as written. */
    {"batching.every", "7", "7.0", "$.batching.every: expected a positive integer, got 7.0, a real"},
    {"batching.width", "10", "1e3", "expected a positive integer, got 1000.0, a real"},
    {"scope.keys.start", "0", "0.5", "expected an integer, got 0.5, a real"},
    {"write.strategy", "\"staging_swap\"", "\"upsert\"", "expected one of partition_overwrite"},
    {"write.snapshot", "false", "\"yes\"", "expected true or false, got \"yes\""},
    {"write.delete_missing", "true", "1", "expected true or false, got 1"},
    {"write.version_table", "\"fct_orders_v2\"", "\"\"", "expected a non-empty string"},
    {"write.allow_non_idempotent", "true", "null", "expected true or false"},
    {"job.select", "\"SELECT 1 WHERE x >= :start AND x < :end\"", "[]", "expected a string"},
    {"downstream",
     "[{\"name\": \"m\", \"kind\": \"view\", \"depends_on\": [\"fct_orders\"], \"owner\": \"o\", "
     "\"refresh_sql\": \"SELECT 1\"}]",
     "[{\"name\": \"m\", \"kind\": \"cube\"}]", "$.downstream[0].kind: expected one of table"},
    {"downstream", "[]", "[{\"kind\": \"table\"}]", "$.downstream[0]: an asset needs a \"name\""},
    {"downstream", "[{\"name\": \"m\", \"kind\": \"alert\"}]", "[{\"name\": \"m\"}]",
     "asset \"m\" needs a \"kind\""},
    {"downstream", "[{\"name\": \"m\", \"kind\": \"ml_feature\"}]",
     "[{\"name\": \"m\", \"kind\": \"table\", \"depends\": []}]", "$.downstream[0].depends: unknown field"},
    {"rollback.plan", "\"Restore the pre-images.\"", "1", "expected a string"},
    {"rollback.retention_days", "14", "-1", "expected a non-negative integer"},
    {"rollback.owner", "\"ana\"", "[]", "expected a string"},
    {"communication.stakeholders", "[\"finance\"]", "[\"finance\", \"finance\"]", "listed twice"},
    {"communication.channel", "\"#data-changes\"", "{}", "expected a string"},
};

START_TEST(every_field_parses_good_and_refuses_bad)
{
    const struct field_case *c = &fields[_i];
    /* Another scope kind replaces the example's time scope. */
    int other_scope = strncmp(c->dotted, "scope.", 6) == 0 && strncmp(c->dotted, "scope.time", 10) != 0 &&
                      strncmp(c->dotted, "scope.expected_rows", 19) != 0;
    struct edit good[2] = {{"scope.time", NULL}, {c->dotted, c->good}};
    struct edit bad[2] = {{"scope.time", NULL}, {c->dotted, c->bad}};
    char *text = patched_example(good + !other_scope, 2 - !other_scope);
    bf_brief *b = load_text(text);
    json_t *want = json_loads(c->good, JSON_DECODE_ANY, NULL);
    char path[128];

    ck_assert_msg(json_equal(bf__json_at(b->doc, c->dotted), want), "%s did not keep its value",
                  c->dotted);
    json_decref(want);
    bf_brief_free(b);
    free(text);

    text = patched_example(bad + !other_scope, 2 - !other_scope);
    snprintf(path, sizeof path, "$.%s", c->dotted);
    expect_load_fail(text, BF_E_INVALID, c->why);
    ck_assert_msg(strncmp(bf_last_error(), path, strlen(path)) == 0, "\"%s\" does not start with %s",
                  bf_last_error(), path);
    free(text);
}
END_TEST

/* Validation checks: every kind with its members, and refusals naming the member. */
static const struct check_case {
    const char *good;
    const char *bad;
    const char *why;
} checks[] = {
    {"{\"check\": \"row_count\", \"per\": \"batch\", \"min\": 1, \"max\": 5}",
     "{\"check\": \"row_count\", \"min\": 5, \"max\": 1}", "$.validation[0].min: 5 is greater than max 1"},
    {"{\"check\": \"unique\", \"columns\": [\"order_id\"]}", "{\"check\": \"unique\", \"columns\": [\"\"]}",
     "$.validation[0].columns[0]: expected a non-empty string, got \"\""},
    {"{\"check\": \"unique\"}", "{\"check\": \"unique\", \"columns\": \"order_id\"}",
     "$.validation[0].columns: expected an array"},
    {"{\"check\": \"not_null\", \"columns\": [\"a\"], \"max_rate\": 0.01}",
     "{\"check\": \"not_null\", \"columns\": [\"a\"], \"max_rate\": 2}",
     "$.validation[0].max_rate: expected a rate between 0 and 1, got 2"},
    {"{\"check\": \"references\", \"columns\": [\"a\", \"b\"], \"parent\": \"p\", \"parent_columns\": [\"x\", \"y\"]}",
     "{\"check\": \"references\", \"columns\": [\"a\", \"b\"], \"parent\": \"p\", \"parent_columns\": [\"x\"]}",
     "$.validation[0].parent_columns: names 1 columns but columns names 2"},
    {"{\"check\": \"metric\", \"name\": \"n\", \"expr\": \"SUM(x)\", \"expect_delta\": {\"min\": -1.5, \"max\": 0}, \"group_by\": [\"region\"]}",
     "{\"check\": \"metric\", \"expr\": \"SUM(x)\", \"expect_delta_pct\": {\"min\": 1, \"max\": -1}}",
     "$.validation[0].expect_delta_pct.min: 1 is greater than max -1"},
    {"{\"check\": \"metric\", \"expr\": \"SUM(x)\", \"expect_delta_pct\": {\"min\": -10}}",
     "{\"check\": \"metric\", \"expr\": \"SUM(x)\", \"expect_delta_pct\": {\"low\": -10}}",
     "$.validation[0].expect_delta_pct.low: unknown field"},
    {"{\"check\": \"unchanged_columns\"}", "{\"check\": \"unchanged_columns\", \"query\": \"x\"}",
     "$.validation[0].query: unknown field"},
    {"{\"check\": \"records\", \"expect\": [{\"key\": [1001, \"a\"], \"before\": {\"v\": null}, \"after\": {\"v\": 80.5}}]}",
     "{\"check\": \"records\", \"expect\": [{\"key\": [1001], \"after\": {\"v\": [1]}}]}",
     "$.validation[0].expect[0].after.v: expected a string, number, boolean or null"},
    {"{\"check\": \"records\", \"expect\": []}", "{\"check\": \"records\", \"expect\": [{\"after\": {}}]}",
     "$.validation[0].expect[0]: a record needs its \"key\""},
    {"{\"check\": \"sql\", \"name\": \"n\", \"query\": \"SELECT 1\", \"severity\": \"warn\"}",
     "{\"check\": \"sql\", \"query\": \"SELECT 1\", \"severity\": \"fatal\"}",
     "$.validation[0].severity: expected one of error, warn, got \"fatal\""},
    {"{\"check\": \"coverage\", \"severity\": \"error\", \"per\": \"run\"}",
     "{\"check\": \"coverage\", \"per\": \"day\"}", "$.validation[0].per: expected one of batch, run"},
    {"{\"check\": \"sql\", \"query\": \"SELECT 1\"}", "{\"check\": \"lint\"}",
     "$.validation[0].check: expected one of row_count, unique"},
    {"{\"check\": \"unique\"}", "{\"columns\": [\"a\"]}", "$.validation[0]: a check needs its kind"},
    {"{\"check\": \"unique\"}", "[\"unique\"]", "$.validation[0]: expected an object, got an array"},
};

START_TEST(every_check_kind_parses_good_and_refuses_bad)
{
    const struct check_case *c = &checks[_i];
    char good[512], bad[512];
    bf_brief *b;

    snprintf(good, sizeof good, "{\"validation\": [%s]}", c->good);
    snprintf(bad, sizeof bad, "{\"validation\": [%s]}", c->bad);
    b = load_text(good);
    ck_assert_uint_eq(bf_brief_check_count(b), 1);
    bf_brief_free(b);
    expect_load_fail(bad, BF_E_INVALID, c->why ? c->why : "$.validation[0]");
}
END_TEST

START_TEST(document_level_rules_are_enforced)
{
    expect_load_fail("{\"frobnicate\": 1}", BF_E_INVALID, "$.frobnicate: unknown field");
    expect_load_fail("{\"target\": {\"tabel\": \"x\"}}", BF_E_INVALID, "$.target.tabel: unknown field");
    expect_load_fail("[1, 2]", BF_E_INVALID, "$: expected an object, got an array");
    expect_load_fail("{\"scope\": {\"time\": {\"start\": \"2025-06-01\", \"end\": \"2025-01-01\"}}}",
                     BF_E_INVALID, "$.scope.time.start: \"2025-06-01\" is after the end \"2025-01-01\"");
    expect_load_fail("{\"scope\": {\"time\": {\"start\": \"2025-01-01 10:00\", \"end\": \"2025-01-01 09:59:59\"}}}",
                     BF_E_INVALID, "is after the end");
    expect_load_fail("{\"scope\": {\"keys\": {\"column\": \"id\", \"start\": 10, \"end\": 9}}}",
                     BF_E_INVALID, "$.scope.keys.start: 10 is greater than end 9");
    expect_load_fail("{\"scope\": {\"expected_rows\": {\"min\": 10, \"max\": 9}}}", BF_E_INVALID,
                     "$.scope.expected_rows.min: 10 is greater than max 9");
    expect_load_fail("{\"scope\": {\"time\": {\"start\": \"2025-01-01\"}, \"keys\": {\"column\": \"id\"}}}",
                     BF_E_INVALID, "$.scope: give exactly one of time, keys, partitions, buckets (found time and keys)");
    expect_load_fail("{\"name\": \"a\", \"name\": \"b\"}", BF_E_PARSE, "duplicate object key");
}
END_TEST

/* ---- Malformed input ---------------------------------------------------------------- */

START_TEST(malformed_input_is_refused_with_position)
{
    char *deep = malloc(20001);

    expect_load_fail("", BF_E_PARSE, "brief: empty input");
    expect_load_fail("{\n  \"name\": \"x\",\n  \"reason\": ", BF_E_PARSE, "brief:3:");
    expect_load_fail("{\"name\": \"x\"", BF_E_PARSE, "brief:1:");
    expect_load_fail("{\"name\": }", BF_E_PARSE, "brief:1:10:");
    expect_load_fail("{\"name\": \"\xff\xfe\"}", BF_E_PARSE, "unable to decode byte 0xff");
    expect_load_fail("{\"risk\": 1e400}", BF_E_PARSE, "real number overflow");
    expect_load_fail("{\"batching\": {\"every\": 99999999999999999999999}}", BF_E_PARSE, "too big integer");
    expect_load_fail("{\"name\": \"a\\u0000b\"}", BF_E_PARSE, "\\u0000 is not allowed");
    expect_load_fail("  \n  ", BF_E_PARSE, "brief:2:");
    memset(deep, '[', 10000);
    memset(deep + 10000, ']', 10000);
    deep[20000] = '\0';
    expect_load_fail(deep, BF_E_PARSE, "maximum parsing depth reached");
    free(deep);
}
END_TEST

START_TEST(load_file_names_the_file_and_the_problem)
{
    char dir[] = "/tmp/bf-brief-XXXXXX";
    char path[256];
    bf_brief *b = (bf_brief *)1;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    ck_assert_int_eq(bf_brief_load_file(&b, dir), BF_E_INVALID);
    ck_assert_ptr_null(b);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "not a regular file"));
    snprintf(path, sizeof path, "%s/nosuch.json", dir);
    ck_assert_int_eq(bf_brief_load_file(&b, path), BF_E_NOT_FOUND);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "nosuch.json: no such file"));
    snprintf(path, sizeof path, "%s/empty.json", dir);
    f = fopen(path, "w");
    fclose(f);
    ck_assert_int_eq(bf_brief_load_file(&b, path), BF_E_PARSE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "empty.json: empty input"));
    f = fopen(path, "w");
    fputs("{\"batching\": {\"every\": 0}}", f);
    fclose(f);
    ck_assert_int_eq(bf_brief_load_file(&b, path), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "empty.json: $.batching.every: expected a positive integer, got 0"));
    unlink(path);
    rmdir(dir);
}
END_TEST

/* ---- Lossless load/save on every example ------------------------------------------------ */

START_TEST(every_example_round_trips)
{
    const char *root = getenv("BF_SOURCE_ROOT");
    char dirpath[1024];
    DIR *dir;
    struct dirent *e;
    int seen = 0;

    snprintf(dirpath, sizeof dirpath, "%s/examples/briefs", root ? root : ".");
    dir = opendir(dirpath);
    ck_assert_ptr_nonnull(dir);
    while ((e = readdir(dir)) != NULL) {
        char *original, *saved, *again;
        bf_brief *b, *b2;
        json_t *j1, *j2;
        size_t len = strlen(e->d_name);

        if (len < 5 || strcmp(e->d_name + len - 5, ".json") != 0 ||
            strcmp(e->d_name, "bad-unknown-field.json") == 0)
            continue;
        original = slurp(example_path(e->d_name));
        b = load_example(e->d_name);
        ck_assert_int_eq(bf_brief_save_json(&saved, b), BF_OK);
        b2 = load_text(saved);
        ck_assert_int_eq(bf_brief_save_json(&again, b2), BF_OK);
        ck_assert_str_eq(saved, again);
        j1 = json_loads(original, 0, NULL);
        j2 = json_loads(saved, 0, NULL);
        ck_assert_msg(json_equal(j1, j2), "%s changed on load/save", e->d_name);
        json_decref(j1);
        json_decref(j2);
        bf_free(saved);
        bf_free(again);
        free(original);
        bf_brief_free(b);
        bf_brief_free(b2);
        seen++;
    }
    closedir(dir);
    ck_assert_int_ge(seen, 9);
}
END_TEST

START_TEST(save_file_writes_what_loads_back)
{
    char path[] = "/tmp/bf-brief-save-XXXXXX";
    int fd = mkstemp(path);
    bf_brief *b = load_example("refund-join.json"), *b2 = NULL;

    close(fd);
    ck_assert_int_eq(bf_brief_save_file(b, path), BF_OK);
    ck_assert_int_eq(bf_brief_load_file(&b2, path), BF_OK);
    ck_assert_str_eq(bf_brief_name(b2), "refund-join-fix-2025h1");
    ck_assert_int_eq(bf_brief_save_file(b, "/nonexistent-dir/x.json"), BF_E_IO);
    unlink(path);
    bf_brief_free(b);
    bf_brief_free(b2);
}
END_TEST

/* ---- Accessors ------------------------------------------------------------------------------ */

START_TEST(getters_read_the_example)
{
    bf_brief *b = load_example("refund-join.json");
    bf_value v;
    int64_t n;

    ck_assert_str_eq(bf_brief_format(b), "backfill-brief/1");
    ck_assert_str_eq(bf_brief_name(b), "refund-join-fix-2025h1");
    ck_assert_str_eq(bf_brief_owner(b), "ana@example.com");
    ck_assert_str_eq(bf_brief_reviewer(b), "raj@example.com");
    ck_assert_str_eq(bf_brief_code_version(b), "git:4f2a9c1");
    ck_assert_int_eq(bf_brief_risk(b), BF_RISK_METRIC_REPAIR);
    ck_assert_str_eq(bf_brief_target_table(b), "fct_orders");
    ck_assert_uint_eq(bf_brief_key_count(b), 1);
    ck_assert_str_eq(bf_brief_key(b, 0), "order_id");
    ck_assert_ptr_null(bf_brief_key(b, 1));
    ck_assert_uint_eq(bf_brief_column_count(b), 2);
    ck_assert_str_eq(bf_brief_column(b, 1), "net_revenue");
    ck_assert_str_eq(bf_brief_time_column(b), "order_ts");
    ck_assert_int_eq(bf_brief_time_format(b), BF_TIME_FORMAT_UNIX_S);
    ck_assert_uint_eq(bf_brief_source_count(b), 2);
    ck_assert_str_eq(bf_brief_source(b, 1), "raw_refunds");
    ck_assert_int_eq(bf_brief_scope_kind(b), BF_SCOPE_TIME);
    ck_assert_str_eq(bf_brief_scope_start(b), "2025-01-01");
    ck_assert_str_eq(bf_brief_scope_end(b), "2025-06-01");
    ck_assert_str_eq(bf_brief_scope_timezone(b), "America/New_York");
    ck_assert_ptr_null(bf_brief_scope_column(b));
    ck_assert_int_eq(bf_brief_scope_key_start(&n, b), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_brief_partition(&v, b, 0), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_brief_expected_rows_min(&n, b), BF_OK);
    ck_assert_int_eq(n, 150000);
    ck_assert_int_eq(bf_brief_expected_rows_max(&n, b), BF_OK);
    ck_assert_int_eq(n, 250000);
    ck_assert_int_eq(bf_brief_batch_by(b), BF_BATCH_BY_TIME);
    ck_assert_int_eq(bf_brief_grain(b), BF_GRAIN_DAY);
    ck_assert_int_eq(bf_brief_every(&n, b), BF_OK);
    ck_assert_int_eq(n, 7);
    ck_assert_int_eq(bf_brief_batch_order(b), BF_BATCH_ORDER_OLDEST_FIRST);
    ck_assert_int_eq(bf_brief_max_concurrency(&n, b), BF_OK);
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(bf_brief_max_attempts(&n, b), BF_OK);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(bf_brief_retry_backoff_s(&n, b), BF_OK);
    ck_assert_int_eq(n, 5);
    ck_assert_int_eq(bf_brief_lease_s(&n, b), BF_OK);
    ck_assert_int_eq(n, 300);
    ck_assert_int_eq(bf_brief_target_batch_s(&n, b), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "$.batching.target_batch_s: not given");
    ck_assert_int_eq(bf_brief_width(&n, b), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_brief_write_strategy(b), BF_WRITE_PARTITION_OVERWRITE);
    ck_assert_int_eq(bf_brief_snapshot(b), 1);
    ck_assert_int_eq(bf_brief_delete_missing(b), 0);
    ck_assert_int_eq(bf_brief_allow_non_idempotent(b), 0);
    ck_assert_ptr_nonnull(strstr(bf_brief_job_select(b), ":start AND o.order_ts < :end"));
    ck_assert_uint_eq(bf_brief_downstream_count(b), 3);
    ck_assert_str_eq(bf_brief_downstream_name(b, 1), "Revenue dashboard");
    ck_assert_int_eq(bf_brief_downstream_kind(b, 1), BF_ASSET_DASHBOARD);
    ck_assert_str_eq(bf_brief_downstream_owner(b, 1), "finance");
    ck_assert_ptr_null(bf_brief_downstream_owner(b, 2));
    ck_assert_ptr_nonnull(bf_brief_downstream_refresh_sql(b, 0));
    ck_assert_uint_eq(bf_brief_downstream_depends_count(b, 2), 1);
    ck_assert_str_eq(bf_brief_downstream_depends_on(b, 2, 0), "Revenue dashboard");
    ck_assert_ptr_null(bf_brief_downstream_depends_on(b, 2, 1));
    ck_assert_int_eq(bf_brief_downstream_kind(b, 3), BF_ASSET_UNSET);
    ck_assert_uint_eq(bf_brief_check_count(b), 8);
    ck_assert_int_eq(bf_brief_check_kind(b, 0), BF_CHECK_ROW_COUNT);
    ck_assert_int_eq(bf_brief_check_per(b, 0), BF_CHECK_PER_RUN);
    ck_assert_int_eq(bf_brief_check_per(b, 1), BF_CHECK_PER_DEFAULT);
    ck_assert_int_eq(bf_brief_check_kind(b, 4), BF_CHECK_METRIC);
    ck_assert_str_eq(bf_brief_check_name(b, 4), "net revenue");
    ck_assert_int_eq(bf_brief_check_severity(b, 4), BF_CHECK_SEVERITY_ERROR);
    ck_assert_int_eq(bf_brief_check_severity(b, 7), BF_CHECK_SEVERITY_WARN);
    ck_assert_int_eq(bf_brief_check_kind(b, 8), BF_CHECK_UNSET);
    ck_assert_str_eq(bf_brief_rollback_plan(b), "Per-batch pre-images; restore with backfill rollback.");
    ck_assert_int_eq(bf_brief_retention_days(&n, b), BF_OK);
    ck_assert_int_eq(n, 14);
    ck_assert_str_eq(bf_brief_rollback_owner(b), "ana@example.com");
    ck_assert_uint_eq(bf_brief_stakeholder_count(b), 2);
    ck_assert_str_eq(bf_brief_stakeholder(b, 0), "finance");
    ck_assert_str_eq(bf_brief_channel(b), "#data-changes");
    bf_brief_free(b);
}
END_TEST

START_TEST(check_json_gives_each_check)
{
    bf_brief *b = load_example("refund-join.json");
    char *text = NULL;

    ck_assert_int_eq(bf_brief_check_json(&text, b, 3), BF_OK);
    ck_assert_str_eq(text, "{\"check\":\"references\",\"columns\":[\"customer_id\"],\"parent\":"
                           "\"dim_customers\",\"parent_columns\":[\"customer_id\"]}");
    bf_free(text);
    ck_assert_int_eq(bf_brief_check_json(&text, b, 8), BF_E_NOT_FOUND);
    ck_assert_ptr_null(text);
    bf_brief_free(b);
}
END_TEST

/* The window: its JSON as written, a ready bf_window in the scope's zone, and none at all. */
START_TEST(window_json_and_window_follow_the_scope_zone)
{
    bf_brief *b = load_example("refund-join.json");
    bf_window *w = (bf_window *)1;
    char *text = (char *)1;
    int64_t t;

    /* The example has no window: it may run at any time. */
    ck_assert_int_eq(bf_brief_window_json(&text, b), BF_OK);
    ck_assert_ptr_null(text);
    ck_assert_int_eq(bf_brief_window(&w, b), BF_OK);
    ck_assert_ptr_null(w);

    ck_assert_int_eq(bf_brief_set_window_json(b, "{\"hours\": [\"22:00-06:00\"], \"days\": [\"sun\", "
                                                 "\"sat\"]}"), BF_OK);
    ck_assert_int_eq(bf_brief_window_json(&text, b), BF_OK);
    ck_assert_str_eq(text, "{\"hours\":[\"22:00-06:00\"],\"days\":[\"sun\",\"sat\"]}");
    bf_free(text);
    /* The one-page brief says when batches run. */
    ck_assert_int_eq(bf_brief_render_markdown(&text, b), BF_OK);
    ck_assert_msg(strstr(text, "\n- **When:** batches are claimed only within 22:00-06:00 on sun, sat "
                               "(America/New_York time).\n"), "%s", text);
    bf_free(text);
    /* From Friday 2025-03-07 12:00 UTC, in America/New_York, the scope's zone: Saturday 22:00 EST. */
    ck_assert_int_eq(bf_brief_window(&w, b), BF_OK);
    ck_assert_int_eq(bf_window_next_open(&t, w, (int64_t)1741348800 * 1000000), BF_OK);
    ck_assert_int_eq(t, (int64_t)1741489200 * 1000000);
    /* It closes at 06:00 EDT on Sunday (10:00 UTC): the clocks sprang forward that night. */
    ck_assert_int_eq(bf_window_next_close(&t, w, t), BF_OK);
    ck_assert_int_eq(t, (int64_t)1741514400 * 1000000);
    bf_window_free(w);

    /* Without a time scope the window is in UTC. */
    ck_assert_int_eq(bf_brief_set_scope_keys(b, "order_id", 0, 100), BF_OK);
    ck_assert_int_eq(bf_brief_window(&w, b), BF_OK);
    ck_assert_int_eq(bf_window_next_open(&t, w, (int64_t)1741348800 * 1000000), BF_OK);
    ck_assert_int_eq(t, (int64_t)1741471200 * 1000000);
    bf_window_free(w);

    /* NULL removes it, and a saved brief keeps it. */
    ck_assert_int_eq(bf_brief_set_window_json(b, "{\"days\": [\"wed\"]}"), BF_OK);
    ck_assert_int_eq(bf_brief_save_json(&text, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(text, "\"window\": {\n      \"days\": [\n        \"wed\""));
    bf_free(text);
    ck_assert_int_eq(bf_brief_set_window_json(b, NULL), BF_OK);
    ck_assert_int_eq(bf_brief_window_json(&text, b), BF_OK);
    ck_assert_ptr_null(text);
    bf_brief_free(b);
}
END_TEST

START_TEST(enum_names_match_the_format)
{
    ck_assert_str_eq(bf_risk_name(BF_RISK_CRITICAL_REBUILD), "critical_rebuild");
    ck_assert_ptr_null(bf_risk_name(BF_RISK_UNSET));
    ck_assert_ptr_null(bf_risk_name((bf_risk)9));
    ck_assert_str_eq(bf_time_format_name(BF_TIME_FORMAT_UNIX_US), "unix_us");
    ck_assert_str_eq(bf_scope_kind_name(BF_SCOPE_PARTITIONS), "partitions");
    ck_assert_str_eq(bf_batch_by_name(BF_BATCH_BY_BUCKET), "bucket");
    ck_assert_str_eq(bf_grain_name(BF_GRAIN_WEEK), "week");
    ck_assert_str_eq(bf_batch_order_name(BF_BATCH_ORDER_NEWEST_FIRST), "newest_first");
    ck_assert_str_eq(bf_write_strategy_name(BF_WRITE_PARALLEL_VERSION), "parallel_version");
    ck_assert_str_eq(bf_asset_kind_name(BF_ASSET_REVERSE_ETL), "reverse_etl");
    ck_assert_str_eq(bf_check_kind_name(BF_CHECK_UNCHANGED_COLUMNS), "unchanged_columns");
}
END_TEST

/* Build the refund-join example with setters only; it must equal the file. */
static int build_example(bf_brief **out)
{
    static const char *const checks_json[] = {
        "{\"check\": \"row_count\", \"per\": \"run\", \"min\": 150000, \"max\": 250000}",
        "{\"check\": \"unique\"}",
        "{\"check\": \"not_null\", \"columns\": [\"net_revenue\"], \"max_rate\": 0}",
        "{\"check\": \"references\", \"columns\": [\"customer_id\"], \"parent\": \"dim_customers\", "
        "\"parent_columns\": [\"customer_id\"]}",
        "{\"check\": \"metric\", \"name\": \"net revenue\", \"expr\": \"SUM(net_revenue)\", "
        "\"expect_delta_pct\": {\"min\": -10, \"max\": 0}}",
        "{\"check\": \"unchanged_columns\"}",
        "{\"check\": \"records\", \"expect\": [{\"key\": [1001], \"after\": {\"net_revenue\": 80.0}}]}",
        "{\"check\": \"sql\", \"name\": \"no negative net\", \"query\": \"SELECT * FROM fct_orders WHERE "
        "net_revenue < 0\", \"severity\": \"warn\"}",
    };
    bf_brief *b;
    int rc = bf_brief_new(&b);

    if (rc != BF_OK)
        return rc;
#define TRY(call)              \
    if ((rc = (call)) != BF_OK) \
        goto done;
    TRY(bf_brief_set_name(b, "refund-join-fix-2025h1"));
    TRY(bf_brief_set_reason(b, "Net revenue was overstated from 2025-01-01 to 2025-05-31 because "
                               "refunds were not joined."));
    TRY(bf_brief_set_owner(b, "ana@example.com"));
    TRY(bf_brief_set_reviewer(b, "raj@example.com"));
    TRY(bf_brief_set_risk(b, BF_RISK_METRIC_REPAIR));
    TRY(bf_brief_set_code_version(b, "git:4f2a9c1"));
    TRY(bf_brief_set_target_table(b, "fct_orders"));
    TRY(bf_brief_add_key(b, "order_id"));
    TRY(bf_brief_add_column(b, "refund_amount"));
    TRY(bf_brief_add_column(b, "net_revenue"));
    TRY(bf_brief_set_time_column(b, "order_ts"));
    TRY(bf_brief_set_time_format(b, BF_TIME_FORMAT_UNIX_S));
    TRY(bf_brief_add_source(b, "raw_orders"));
    TRY(bf_brief_add_source(b, "raw_refunds"));
    TRY(bf_brief_set_scope_time(b, "2025-01-01", "2025-06-01", "America/New_York"));
    TRY(bf_brief_set_expected_rows_min(b, 150000));
    TRY(bf_brief_set_expected_rows_max(b, 250000));
    TRY(bf_brief_set_batch_by(b, BF_BATCH_BY_TIME));
    TRY(bf_brief_set_grain(b, BF_GRAIN_DAY));
    TRY(bf_brief_set_every(b, 7));
    TRY(bf_brief_set_batch_order(b, BF_BATCH_ORDER_OLDEST_FIRST));
    TRY(bf_brief_set_max_concurrency(b, 2));
    TRY(bf_brief_set_max_attempts(b, 3));
    TRY(bf_brief_set_retry_backoff_s(b, 5));
    TRY(bf_brief_set_lease_s(b, 300));
    TRY(bf_brief_set_write_strategy(b, BF_WRITE_PARTITION_OVERWRITE));
    TRY(bf_brief_set_snapshot(b, 1));
    TRY(bf_brief_set_job_select(
        b, "SELECT o.order_id, o.customer_id, o.order_ts, o.gross, COALESCE(SUM(r.amount), 0), "
           "o.gross - COALESCE(SUM(r.amount), 0) FROM raw_orders o LEFT JOIN raw_refunds r ON "
           "r.order_id = o.order_id WHERE o.order_ts >= :start AND o.order_ts < :end GROUP BY "
           "o.order_id"));
    TRY(bf_brief_add_downstream(b, "mart_monthly_revenue", BF_ASSET_TABLE, "analytics",
                                "DELETE FROM mart_monthly_revenue; INSERT INTO mart_monthly_revenue "
                                "SELECT ..."));
    TRY(bf_brief_add_downstream_dependency(b, 0, "fct_orders"));
    TRY(bf_brief_add_downstream(b, "Revenue dashboard", BF_ASSET_DASHBOARD, "finance", NULL));
    TRY(bf_brief_add_downstream_dependency(b, 1, "mart_monthly_revenue"));
    TRY(bf_brief_add_downstream(b, "Board pack", BF_ASSET_STAKEHOLDER, NULL, NULL));
    TRY(bf_brief_add_downstream_dependency(b, 2, "Revenue dashboard"));
    for (size_t i = 0; i < BF_ARRAY_LEN(checks_json); i++)
        TRY(bf_brief_add_check_json(b, checks_json[i]));
    TRY(bf_brief_set_rollback_plan(b, "Per-batch pre-images; restore with backfill rollback."));
    TRY(bf_brief_set_retention_days(b, 14));
    TRY(bf_brief_set_rollback_owner(b, "ana@example.com"));
    TRY(bf_brief_add_stakeholder(b, "finance"));
    TRY(bf_brief_add_stakeholder(b, "analytics"));
    TRY(bf_brief_set_channel(b, "#data-changes"));
#undef TRY
done:
    if (rc != BF_OK) {
        bf_brief_free(b);
        return rc;
    }
    *out = b;
    return BF_OK;
}

START_TEST(setters_build_the_example)
{
    bf_brief *b = NULL;
    char *saved;
    json_t *built, *file;
    int rc = build_example(&b);

    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    ck_assert_int_eq(bf_brief_save_json(&saved, b), BF_OK);
    built = json_loads(saved, 0, NULL);
    file = json_load_file(example_path("refund-join.json"), 0, NULL);
    ck_assert_msg(json_equal(built, file), "built brief differs from the file:\n%s", saved);
    json_decref(built);
    json_decref(file);
    bf_free(saved);
    bf_brief_free(b);
}
END_TEST

/* A refused setter fails with `want` and a message containing `msg`. */
static void expect_refused(int rc, int want, const char *msg)
{
    ck_assert_msg(rc == want, "got %s (%s), wanted %s", bf_errstr(rc), bf_last_error(), bf_errstr(want));
    ck_assert_msg(strstr(bf_last_error(), msg) != NULL, "message \"%s\" lacks \"%s\"", bf_last_error(), msg);
}

/* Every refused change leaves the brief exactly as it was (compared at the end). */
START_TEST(setters_refuse_what_loading_refuses)
{
    bf_brief *b = load_example("refund-join.json");
    char *before, *after;
    bf_value v = {BF_VALUE_TEXT, 0, 0, "eu", 2};

    ck_assert_int_eq(bf_brief_save_json(&before, b), BF_OK);
    expect_refused(bf_brief_set_every(b, 0), BF_E_INVALID,
                   "$.batching.every: expected a positive integer, got 0");
    expect_refused(bf_brief_set_name(b, "Refund Join"), BF_E_INVALID, "$.name: expected a name");
    expect_refused(bf_brief_set_name(b, "2025"), BF_E_INVALID,
                   "$.name: expected a name with a character other than a digit (digits alone "
                   "read as a run id)");
    expect_refused(bf_brief_set_risk(b, (bf_risk)9), BF_E_INVALID, "$.risk: 9 is not a value");
    expect_refused(bf_brief_set_scope_time(b, "2025-06-01", "2025-01-01", NULL), BF_E_INVALID,
                   "$.scope.time.start: \"2025-06-01\" is after the end");
    expect_refused(bf_brief_set_scope_time(b, "2025-01-01", "2025-06-01", "Nowhere/City"),
                   BF_E_INVALID, "$.scope.time.timezone: expected an IANA time zone");
    expect_refused(bf_brief_set_scope_keys(b, "id", 5, 4), BF_E_INVALID,
                   "$.scope.keys.start: 5 is greater than end 4");
    expect_refused(bf_brief_set_scope_buckets(b, "id", 0), BF_E_INVALID,
                   "$.scope.buckets.count: expected a positive integer");
    expect_refused(bf_brief_add_key(b, "order_id"), BF_E_INVALID,
                   "$.target.key[1]: \"order_id\" is listed twice");
    expect_refused(bf_brief_add_key(b, ""), BF_E_INVALID, "$.target.key[1]: expected a non-empty string");
    expect_refused(bf_brief_add_key(b, NULL), BF_E_INVALID, "$.target.key: cannot add NULL");
    expect_refused(bf_brief_set_owner(b, "\xff"), BF_E_INVALID, "$.owner: text is not valid UTF-8");
    expect_refused(bf_brief_add_partition(b, &v), BF_E_INVALID, "not the brief's scope");
    expect_refused(bf_brief_set_expected_rows_min(b, 300000), BF_E_INVALID,
                   "$.scope.expected_rows.min: 300000 is greater than max 250000");
    expect_refused(bf_brief_add_downstream(b, "m", (bf_asset_kind)42, NULL, NULL), BF_E_INVALID,
                   "$.downstream[3].kind: 42 is not an asset kind");
    expect_refused(bf_brief_add_downstream(b, "", BF_ASSET_TABLE, NULL, NULL), BF_E_INVALID,
                   "$.downstream[3].name: expected a non-empty string");
    expect_refused(bf_brief_add_downstream_dependency(b, 7, "x"), BF_E_NOT_FOUND,
                   "$.downstream[7]: no such asset");
    expect_refused(bf_brief_add_check_json(b, "{\"check\": \"unique\", \"colums\": []}"), BF_E_INVALID,
                   "$.validation[8].colums: unknown field");
    expect_refused(bf_brief_add_check_json(b, "{\"check\": "), BF_E_PARSE, "$.validation[8]:1:");
    expect_refused(bf_brief_set_window_json(b, "{\"days\": [\"mo\"]}"), BF_E_INVALID,
                   "$.batching.window.days[0]: expected one of mon, tue, wed, thu, fri, sat, sun, "
                   "got \"mo\"");
    expect_refused(bf_brief_set_window_json(b, "{\"hours\": [\"25:00-26:00\"]}"), BF_E_INVALID,
                   "$.batching.window.hours[0]: expected a range");
    expect_refused(bf_brief_set_window_json(b, "{\"hours\": "), BF_E_PARSE, "$.batching.window:1:");
    expect_refused(bf_brief_unset(b, "$.batching.evry"), BF_E_INVALID,
                   "$.batching.evry: not a field of the brief format");
    expect_refused(bf_brief_unset(b, "$.format"), BF_E_INVALID, "$.format: cannot be removed");
    expect_refused(bf_brief_unset(b, "batching"), BF_E_INVALID, "not a field");
    ck_assert_int_eq(bf_brief_save_json(&after, b), BF_OK);
    ck_assert_str_eq(before, after);
    bf_free(before);
    bf_free(after);
    bf_brief_free(b);
}
END_TEST

START_TEST(setters_change_and_unset_fields)
{
    bf_brief *b = load_example("refund-join.json");
    bf_value v;
    int64_t n;

    ck_assert_int_eq(bf_brief_set_every(b, 1), BF_OK);
    ck_assert_int_eq(bf_brief_every(&n, b), BF_OK);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(bf_brief_unset(b, "$.batching.every"), BF_OK);
    ck_assert_int_eq(bf_brief_every(&n, b), BF_E_NOT_FOUND);
    ck_assert_int_eq(bf_brief_unset(b, "$.batching.width"), BF_OK); /* absent: still fine */
    ck_assert_int_eq(bf_brief_set_reason(b, NULL), BF_OK);
    ck_assert_ptr_null(bf_brief_reason(b));
    ck_assert_int_eq(bf_brief_set_risk(b, BF_RISK_UNSET), BF_OK);
    ck_assert_int_eq(bf_brief_risk(b), BF_RISK_UNSET);
    ck_assert_int_eq(bf_brief_set_snapshot(b, 0), BF_OK);
    ck_assert_int_eq(bf_brief_snapshot(b), 0);
    ck_assert_ptr_nonnull(bf__json_at(b->doc, "write.snapshot"));
    ck_assert_int_eq(bf_brief_unset(b, "$.validation"), BF_OK);
    ck_assert_uint_eq(bf_brief_check_count(b), 0);
    ck_assert_int_eq(bf_brief_unset(b, "$.rollback"), BF_OK);
    ck_assert_ptr_null(bf_brief_rollback_plan(b));
    ck_assert_ptr_null(bf__json_at(b->doc, "rollback"));

    /* Scope kinds replace each other and keep expected_rows. */
    ck_assert_int_eq(bf_brief_set_scope_keys(b, "order_id", 10, 20), BF_OK);
    ck_assert_int_eq(bf_brief_scope_kind(b), BF_SCOPE_KEYS);
    ck_assert_ptr_null(bf_brief_scope_start(b));
    ck_assert_ptr_null(bf_brief_scope_timezone(b));
    ck_assert_str_eq(bf_brief_scope_column(b), "order_id");
    ck_assert_int_eq(bf_brief_scope_key_end(&n, b), BF_OK);
    ck_assert_int_eq(n, 20);
    ck_assert_int_eq(bf_brief_expected_rows_max(&n, b), BF_OK);
    ck_assert_int_eq(bf_brief_set_scope_partitions(b, "region"), BF_OK);
    v.type = BF_VALUE_TEXT;
    v.s = "eu-west";
    v.len = 7;
    ck_assert_int_eq(bf_brief_add_partition(b, &v), BF_OK);
    v.type = BF_VALUE_INT;
    v.i = 202501;
    ck_assert_int_eq(bf_brief_add_partition(b, &v), BF_OK);
    ck_assert_int_eq(bf_brief_add_partition(b, &v), BF_E_INVALID);
    v.type = BF_VALUE_REAL;
    ck_assert_int_eq(bf_brief_add_partition(b, &v), BF_E_INVALID);
    ck_assert_uint_eq(bf_brief_partition_count(b), 2);
    ck_assert_int_eq(bf_brief_partition(&v, b, 0), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_TEXT);
    ck_assert_str_eq(v.s, "eu-west");
    ck_assert_uint_eq(v.len, 7);
    ck_assert_int_eq(bf_brief_partition(&v, b, 1), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_INT);
    ck_assert_int_eq(v.i, 202501);
    ck_assert_int_eq(bf_brief_set_scope_buckets(b, "customer_id", 16), BF_OK);
    ck_assert_int_eq(bf_brief_scope_buckets(&n, b), BF_OK);
    ck_assert_int_eq(n, 16);
    ck_assert_uint_eq(bf_brief_partition_count(b), 0);
    ck_assert_int_eq(bf_brief_set_scope_time(b, "2025-01-01", "2025-01-02 06:00", NULL), BF_OK);
    ck_assert_str_eq(bf_brief_scope_timezone(b), "UTC");
    ck_assert_ptr_null(bf__json_at(b->doc, "scope.time.timezone"));
    bf_brief_free(b);
}
END_TEST

START_TEST(new_brief_is_an_empty_draft)
{
    bf_brief *b = NULL;
    char *text;
    bf_findings *f;

    ck_assert_int_eq(bf_brief_new(&b), BF_OK);
    ck_assert_int_eq(bf_brief_save_json(&text, b), BF_OK);
    ck_assert_str_eq(text, "{\n  \"format\": \"backfill-brief/1\"\n}");
    bf_free(text);
    ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);
    ck_assert(has_finding(f, "missing-reason", NULL, NULL));
    ck_assert(has_finding(f, "missing-scope", NULL, NULL));
    ck_assert(!has_finding(f, "missing-format", NULL, NULL));
    bf_findings_free(f);
    bf_brief_free(b);
    ck_assert_int_eq(bf_brief_new(NULL), BF_E_INVALID);
    bf_brief_free(NULL);
    bf_findings_free(NULL);
}
END_TEST

/* ---- Preflight: a brief that triggers each rule ------------------------------------------- */

static const struct rule_case {
    const char *code;
    bf_severity severity;
    const char *path;
    struct edit edits[4];
} rules[] = {
    {"missing-format", BF_SEVERITY_BLOCK, "$.format", {{"format", NULL}}},
    {"missing-name", BF_SEVERITY_BLOCK, "$.name", {{"name", NULL}}},
    {"missing-reason", BF_SEVERITY_BLOCK, "$.reason", {{"reason", NULL}}},
    {"missing-reason", BF_SEVERITY_BLOCK, "$.reason", {{"reason", "\"  \""}}},
    {"missing-owner", BF_SEVERITY_BLOCK, "$.owner", {{"owner", NULL}}},
    {"missing-reviewer", BF_SEVERITY_BLOCK, "$.reviewer", {{"reviewer", "\"\""}}},
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer", {{"reviewer", "\" ANA@example.com \""}}},
    /* Case is folded for all of Latin-1, Latin Extended-A, Greek and Cyrillic, not just ASCII. */
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer",
     {{"owner", "\"\u00e9lodie.\u00f8stergaard@example.com\""}, {"reviewer", "\"\u00c9LODIE.\u00d8STERGAARD@EXAMPLE.COM\""}}},
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer",
     {{"owner", "\"\u0141ukasz \u017b\u00f3\u0142kiewski\""}, {"reviewer", "\"\u0142UKASZ \u017c\u00d3\u0141KIEWSKI\""}}},
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer",
     {{"owner", "\"\u03a3\u03c9\u03ba\u03c1\u03ac\u03c4\u03b7\u03c2\""}, {"reviewer", "\"\u03a3\u03a9\u039a\u03a1\u0386\u03a4\u0397\u03a3\""}}},
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer",
     {{"owner", "\"\u0401\u043b\u043a\u0430 \u0406\u0432\u0430\u043d\u043e\u0432\u0430\""}, {"reviewer", "\"\u0451\u041b\u041a\u0410 \u0456\u0412\u0410\u041d\u041e\u0412\u0410\""}}},
    /* Surrounding Unicode white space (no-break space, ideographic space) is trimmed too. */
    {"reviewer-is-owner", BF_SEVERITY_BLOCK, "$.reviewer", {{"reviewer", "\"\u00a0Ana@Example.com\u3000\""}}},
    {"missing-risk", BF_SEVERITY_BLOCK, "$.risk", {{"risk", NULL}}},
    {"missing-code-version", BF_SEVERITY_BLOCK, "$.code_version", {{"code_version", NULL}}},
    {"missing-target-table", BF_SEVERITY_BLOCK, "$.target.table", {{"target.table", NULL}}},
    {"missing-target-key", BF_SEVERITY_WARN, "$.target.key", {{"target.key", NULL}}},
    {"merge-without-key", BF_SEVERITY_BLOCK, "$.target.key",
     {{"target.key", NULL}, {"write.strategy", "\"merge\""}}},
    {"missing-scope", BF_SEVERITY_BLOCK, "$.scope", {{"scope.time", NULL}}},
    {"missing-scope", BF_SEVERITY_BLOCK, "$.scope", {{"scope", NULL}}},
    {"incomplete-scope", BF_SEVERITY_BLOCK, "$.scope.time.end", {{"scope.time.end", NULL}}},
    {"incomplete-scope", BF_SEVERITY_BLOCK, "$.scope.keys.start",
     {{"scope.time", NULL}, {"scope.keys", "{\"column\": \"order_id\", \"end\": 5}"}}},
    {"incomplete-scope", BF_SEVERITY_BLOCK, "$.scope.buckets.count",
     {{"scope.time", NULL}, {"scope.buckets", "{\"column\": \"order_id\"}"}}},
    {"empty-scope", BF_SEVERITY_BLOCK, "$.scope.time", {{"scope.time.end", "\"2025-01-01\""}}},
    {"empty-scope", BF_SEVERITY_BLOCK, "$.scope.time", {{"scope.time.end", "\"2025-01-01 00:00:00\""}}},
    {"empty-scope", BF_SEVERITY_BLOCK, "$.scope.partitions.values",
     {{"scope.time", NULL}, {"scope.partitions", "{\"column\": \"region\", \"values\": []}"},
      {"batching.by", "\"partition\""}, {"job.select", "\"SELECT 1 WHERE region = :partition\""}}},
    {"empty-scope", BF_SEVERITY_BLOCK, "$.scope.keys",
     {{"scope.time", NULL}, {"scope.keys", "{\"column\": \"order_id\", \"start\": 5, \"end\": 5}"}}},
    {"unplannable", BF_SEVERITY_BLOCK, "$.scope.time",
     {{"target.time_format", "\"date\""}, {"scope.time.start", "\"2025-01-01 06:00\""}}},
    {"missing-expected-rows", BF_SEVERITY_WARN, "$.scope.expected_rows", {{"scope.expected_rows", NULL}}},
    {"missing-batching", BF_SEVERITY_BLOCK, "$.batching.by", {{"batching.by", NULL}}},
    {"batching-scope-mismatch", BF_SEVERITY_BLOCK, "$.batching.by",
     {{"batching.by", "\"key\""}, {"batching.width", "1000"}}},
    {"incomplete-batching", BF_SEVERITY_BLOCK, "$.batching.grain", {{"batching.grain", NULL}}},
    {"incomplete-batching", BF_SEVERITY_BLOCK, "$.target.time_column", {{"target.time_column", NULL}}},
    {"incomplete-batching", BF_SEVERITY_BLOCK, "$.target.time_format", {{"target.time_format", NULL}}},
    {"incomplete-batching", BF_SEVERITY_BLOCK, "$.batching.width",
     {{"scope.time", NULL}, {"scope.keys", "{\"column\": \"order_id\", \"start\": 0, \"end\": 5}"},
      {"batching.by", "\"key\""}}},
    {"missing-runtime-estimate", BF_SEVERITY_WARN, "$.batching.target_batch_s", {{NULL, NULL}}},
    {"high-concurrency", BF_SEVERITY_WARN, "$.batching.max_concurrency", {{"batching.max_concurrency", "9"}}},
    /* The example's lease is 300 s; a window open 4 minutes a night cannot hold one. */
    {"window-shorter-than-lease", BF_SEVERITY_WARN, "$.batching.window",
     {{"batching.window", "{\"hours\": [\"23:58-00:02\"]}"}}},
    /* Open three hours a week, but never more than an hour at a time. */
    {"window-shorter-than-lease", BF_SEVERITY_WARN, "$.batching.window",
     {{"batching.window", "{\"hours\": [\"01:00-02:00\"], \"days\": [\"mon\", \"wed\", \"fri\"]}"},
      {"batching.lease_s", "3601"}}},
    {"missing-write-strategy", BF_SEVERITY_BLOCK, "$.write.strategy", {{"write", NULL}}},
    {"append-not-idempotent", BF_SEVERITY_BLOCK, "$.write.strategy", {{"write.strategy", "\"append\""}}},
    {"append-not-idempotent", BF_SEVERITY_BLOCK, "$.write.strategy",
     {{"write.strategy", "\"append\""}, {"write.allow_non_idempotent", "false"}}},
    {"missing-version-table", BF_SEVERITY_BLOCK, "$.write.version_table",
     {{"write.strategy", "\"parallel_version\""}}},
    {"critical-without-snapshot", BF_SEVERITY_BLOCK, "$.write",
     {{"risk", "\"critical_rebuild\""}, {"write.snapshot", NULL}}},
    {"critical-without-snapshot", BF_SEVERITY_BLOCK, "$.write",
     {{"risk", "\"critical_rebuild\""}, {"write.snapshot", "false"}, {"write.strategy", "\"merge\""}}},
    {"missing-job", BF_SEVERITY_BLOCK, "$.job.select", {{"job", NULL}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT * FROM raw_orders\""}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT * FROM raw_orders WHERE ts >= :startx AND ts < :end\""}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT * FROM t WHERE ts >= ':start' AND ts < :end -- and :start\""}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT * FROM t WHERE ts >= x::start AND ts < :end /* :start */\""}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"scope.time", NULL}, {"scope.keys", "{\"column\": \"id\", \"start\": 0, \"end\": 9}"},
      {"batching.by", "\"key\""}, {"batching.width", "3"}}},
    {"job-ignores-bounds", BF_SEVERITY_BLOCK, "$.job.select",
     {{"scope.time", NULL}, {"scope.buckets", "{\"column\": \"id\", \"count\": 8}"},
      {"batching.by", "\"bucket\""}, {"job.select", "\"SELECT 1 WHERE h = :buckets\""}}},
    {"unknown-job-parameter", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT 1 WHERE ts >= :start AND ts < :end AND id < :hi\""}}},
    {"unknown-job-parameter", BF_SEVERITY_BLOCK, "$.job.select",
     {{"job.select", "\"SELECT 1 WHERE ts >= :start AND ts < :end AND r = :strat\""}}},
    {"missing-rollback-plan", BF_SEVERITY_BLOCK, "$.rollback.plan", {{"rollback.plan", NULL}}},
    {"missing-rollback-plan", BF_SEVERITY_WARN, "$.rollback.plan",
     {{"rollback", NULL}, {"risk", "\"enrichment\""}}},
    {"missing-metric-check", BF_SEVERITY_BLOCK, "$.validation", {{"validation", "[{\"check\": \"unique\"}]"}}},
    {"missing-metric-check", BF_SEVERITY_BLOCK, "$.validation",
     {{"validation", NULL}, {"risk", "\"schema_migration\""}}},
    {"missing-unique-check", BF_SEVERITY_WARN, "$.validation",
     {{"validation", "[{\"check\": \"metric\", \"expr\": \"SUM(x)\", \"expect_delta\": {\"max\": 0}}]"}}},
    {"missing-unique-check", BF_SEVERITY_WARN, "$.validation",
     {{"validation", "[{\"check\": \"unique\", \"columns\": [\"customer_id\"]}, {\"check\": \"metric\", "
                     "\"expr\": \"SUM(x)\", \"expect_delta\": {\"max\": 0}}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].expr",
     {{"validation", "[{\"check\": \"metric\", \"expect_delta\": {\"max\": 0}}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[1].expect_delta_pct",
     {{"validation", "[{\"check\": \"unique\"}, {\"check\": \"metric\", \"expr\": \"SUM(x)\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].parent",
     {{"validation", "[{\"check\": \"references\", \"columns\": [\"a\"], \"parent_columns\": [\"b\"]}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].min", {{"validation", "[{\"check\": \"row_count\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].columns",
     {{"validation", "[{\"check\": \"not_null\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].query", {{"validation", "[{\"check\": \"sql\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].expect", {{"validation", "[{\"check\": \"records\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].columns",
     {{"target.key", NULL}, {"validation", "[{\"check\": \"unique\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].columns",
     {{"target.key", NULL}, {"validation", "[{\"check\": \"completeness\"}]"}}},
    {"incomplete-check", BF_SEVERITY_BLOCK, "$.validation[0].max_growth_pct",
     {{"validation", "[{\"check\": \"footprint\"}]"}}},
    {"missing-downstream", BF_SEVERITY_WARN, "$.downstream", {{"downstream", NULL}}},
    {"missing-downstream", BF_SEVERITY_WARN, "$.downstream", {{"downstream", "[]"}}},
    {"missing-communication", BF_SEVERITY_WARN, "$.communication.stakeholders", {{"communication", NULL}}},
    {"invalid-lineage", BF_SEVERITY_BLOCK, "$.downstream",
     {{"downstream", "[{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"fct_orders\", \"b\"]}, "
                     "{\"name\": \"b\", \"kind\": \"view\", \"depends_on\": [\"a\"]}]"}}},
    {"invalid-lineage", BF_SEVERITY_BLOCK, "$.downstream[0].depends_on",
     {{"downstream", "[{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"fct_order\"]}]"}}},
};

START_TEST(each_rule_fires_on_a_brief_that_breaks_it)
{
    const struct rule_case *r = &rules[_i];
    char *text = patched_example(r->edits, 4);
    bf_findings *f = check_text(text);
    bf_severity sev = 0;
    const char *path = NULL;

    ck_assert_msg(has_finding(f, r->code, &sev, &path), "rule case %d: %s did not fire", _i, r->code);
    ck_assert_int_eq(sev, r->severity);
    ck_assert_str_eq(path, r->path);
    bf_findings_free(f);
    free(text);
}
END_TEST

/* Near misses: briefs close to breaking a rule that must not trigger it. */
static const struct rule_case near_misses[] = {
    {"reviewer-is-owner", 0, NULL, {{"reviewer", "\"ana@example.org\""}}},
    /* Folding is not stripping accents, and the Turkic dotted I is not folded. */
    {"reviewer-is-owner", 0, NULL, {{"owner", "\"elodie@example.com\""}, {"reviewer", "\"\u00e9lodie@example.com\""}}},
    {"reviewer-is-owner", 0, NULL, {{"owner", "\"\u0130lker\""}, {"reviewer", "\"ilker\""}}},
    {"reviewer-is-owner", 0, NULL, {{"owner", "\"\u0430na@example.com\""}, {"reviewer", "\"ana@example.com\""}}},
    {"missing-runtime-estimate", 0, NULL, {{"batching.target_batch_s", "60"}}},
    {"high-concurrency", 0, NULL, {{"batching.max_concurrency", "8"}}},
    {"window-shorter-than-lease", 0, NULL, {{"batching.window", "{\"hours\": [\"23:55-00:00\"]}"}}},
    {"window-shorter-than-lease", 0, NULL,
     {{"batching.window", "{\"hours\": [\"01:00-02:00\"], \"days\": [\"mon\"]}"},
      {"batching.lease_s", "3600"}}},
    /* Two ranges that meet make one stretch; the whole day is never too short. */
    {"window-shorter-than-lease", 0, NULL,
     {{"batching.window", "{\"hours\": [\"22:00-24:00\", \"00:00-01:00\"], \"days\": [\"sat\", \"sun\"]}"},
      {"batching.lease_s", "10800"}}},
    {"window-shorter-than-lease", 0, NULL,
     {{"batching.window", "{\"days\": [\"sun\"]}"}, {"batching.lease_s", "86400"}}},
    {"append-not-idempotent", 0, NULL,
     {{"write.strategy", "\"append\""}, {"write.allow_non_idempotent", "true"}}},
    {"critical-without-snapshot", 0, NULL, {{"risk", "\"critical_rebuild\""}}},
    {"critical-without-snapshot", 0, NULL,
     {{"risk", "\"critical_rebuild\""}, {"write", "{\"strategy\": \"staging_swap\"}"}}},
    {"critical-without-snapshot", 0, NULL,
     {{"risk", "\"critical_rebuild\""}, {"write", "{\"strategy\": \"parallel_version\", \"version_table\": \"v2\"}"}}},
    {"missing-version-table", 0, NULL,
     {{"write", "{\"strategy\": \"parallel_version\", \"version_table\": \"v2\"}"}}},
    {"merge-without-key", 0, NULL, {{"write.strategy", "\"merge\""}}},
    {"missing-rollback-plan", 0, NULL, {{"risk", "\"enrichment\""}}},
    {"missing-metric-check", 0, NULL, {{"risk", "\"enrichment\""}, {"validation", "[{\"check\": \"unique\"}]"}}},
    {"missing-unique-check", 0, NULL,
     {{"validation", "[{\"check\": \"unique\", \"columns\": [\"order_id\"]}, {\"check\": \"metric\", "
                     "\"expr\": \"SUM(x)\", \"expect_delta\": {\"max\": 0}}]"}}},
    {"job-ignores-bounds", 0, NULL,
     {{"job.select", "\"SELECT 1 FROM t WHERE ts >= :start AND ts < :end AND r = :run AND b = :batch\""}}},
    {"job-ignores-bounds", 0, NULL,
     {{"scope.time", NULL}, {"scope.keys", "{\"column\": \"id\", \"start\": 0, \"end\": 9}"},
      {"batching", "{\"by\": \"key\", \"rows_per_batch\": 3}"}, {"job.select", "\"SELECT 1 WHERE id >= :lo AND id < :hi\""}}},
    {"job-ignores-bounds", 0, NULL,
     {{"scope.time", NULL}, {"scope.buckets", "{\"column\": \"id\", \"count\": 8}"},
      {"batching", "{\"by\": \"bucket\"}"}, {"job.select", "\"SELECT 1 WHERE bf_bucket(id, :buckets) = :bucket\""}}},
    {"unknown-job-parameter", 0, NULL,
     {{"job.select", "\"SELECT '10:30', x::date FROM t WHERE ts >= :start AND ts < :end AND a[1:2] = 0\""}}},
    {"missing-communication", 0, NULL,
     {{"communication", NULL},
      {"downstream", "[{\"name\": \"m\", \"kind\": \"table\", \"depends_on\": [\"fct_orders\"]}]"}}},
    {"empty-scope", 0, NULL, {{"scope.time.end", "\"2025-01-01 00:00:01\""}}},
    {"batching-scope-mismatch", 0, NULL, {{"batching.by", "\"time\""}}},
    {"invalid-lineage", 0, NULL,
     {{"downstream", "[{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"raw_orders\"]}]"}}},
};

START_TEST(near_misses_do_not_fire)
{
    const struct rule_case *r = &near_misses[_i];
    char *text = patched_example(r->edits, 4);
    bf_findings *f = check_text(text);

    ck_assert_msg(!has_finding(f, r->code, NULL, NULL), "near miss %d: %s fired", _i, r->code);
    bf_findings_free(f);
    free(text);
}
END_TEST

/*
 * Preflight and the planner agree: for each scope, `check` blocks exactly
 * when planning the brief fails. Each case is the good example with its
 * scope (and the batching and job that go with the scope's kind) replaced.
 */
static const struct scope_case {
    const char *kind; /* time, keys, partitions, buckets */
    const char *scope;
    const char *batching; /* NULL: the example's (time, day, every 7) */
    const char *code;     /* the blocking finding expected, or NULL when the plan succeeds */
} scope_cases[] = {
    {"time", "{\"start\": \"2025-01-01\", \"end\": \"2025-01-01 00:00:00\"}", NULL, "empty-scope"},
    {"time", "{\"start\": \"2025-01-01 00:00\", \"end\": \"2025-01-01T00:00:00\"}", NULL, "empty-scope"},
    {"time", "{\"start\": \"2025-01-01\", \"end\": \"2025-01-01 00:00:01\"}", NULL, NULL},
    {"time", "{\"start\": \"2025-01-01\", \"end\": \"2025-02-01\", \"timezone\": \"Europe/Paris\"}", NULL, NULL},
    /* 02:00-03:00 does not exist in New York on 2025-03-09: both bounds are 03:00 EDT. */
    {"time", "{\"start\": \"2025-03-09 02:00\", \"end\": \"2025-03-09 02:30\", \"timezone\": \"America/New_York\"}",
     NULL, "empty-scope"},
    {"time", "{\"start\": \"2025-03-09 02:00\", \"end\": \"2025-03-09 03:00\", \"timezone\": \"America/New_York\"}",
     NULL, "empty-scope"},
    {"time", "{\"start\": \"2025-03-09 02:00\", \"end\": \"2025-03-09 03:01\", \"timezone\": \"America/New_York\"}",
     NULL, NULL},
    /* 01:00-02:00 happens twice on 2025-11-02; the first one is taken. */
    {"time", "{\"start\": \"2025-11-02 01:00\", \"end\": \"2025-11-02 01:30\", \"timezone\": \"America/New_York\"}",
     NULL, NULL},
    {"time", "{\"start\": \"2025-01-01 06:00\", \"end\": \"2025-02-01\"}",
     "{\"by\": \"time\", \"grain\": \"day\", \"date\": 1}", "unplannable"},
    {"time", "{\"start\": \"2025-01-01\", \"end\": \"2025-02-01\"}",
     "{\"by\": \"time\", \"grain\": \"hour\", \"date\": 1}", "unplannable"},
    {"time", "{\"start\": \"2025-01-01\", \"end\": \"2025-02-01\"}",
     "{\"by\": \"time\", \"grain\": \"day\", \"date\": 1}", NULL},
    {"keys", "{\"column\": \"id\", \"start\": 5, \"end\": 5}", NULL, "empty-scope"},
    {"keys", "{\"column\": \"id\", \"start\": 9, \"end\": 10}", NULL, NULL},
    /* Numbers, not text: "10" < "9" as text. */
    {"keys", "{\"column\": \"id\", \"start\": -9223372036854775808, \"end\": 9223372036854775807}",
     "{\"by\": \"key\", \"width\": 4611686018427387904}", NULL},
    {"keys", "{\"column\": \"id\", \"start\": 0, \"end\": 9223372036854775807}",
     "{\"by\": \"key\", \"width\": 1}", "unplannable"},
    {"keys", "{\"column\": \"id\", \"start\": 0, \"end\": 1000}", "{\"by\": \"key\", \"width\": 1}", NULL},
    {"keys", "{\"column\": \"id\", \"start\": 0, \"end\": 100000001}", "{\"by\": \"key\", \"width\": 1}",
     "unplannable"},
    {"partitions", "{\"column\": \"region\", \"values\": []}", NULL, "empty-scope"},
    {"partitions", "{\"column\": \"region\", \"values\": [42, \"42\", \"eu\"]}", NULL, NULL},
    {"partitions", "{\"column\": \"region\", \"values\": [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]}",
     NULL, NULL},
    {"partitions", "{\"column\": \"region\", \"values\": [\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"]}",
     NULL, "unplannable"},
    {"buckets", "{\"column\": \"id\", \"count\": 1}", NULL, NULL},
    {"buckets", "{\"column\": \"id\", \"count\": 64}", NULL, NULL},
};

START_TEST(check_blocks_exactly_when_the_planner_refuses)
{
    static const struct {
        const char *kind, *batching, *job;
    } per_kind[] = {
        {"time", NULL, "\"SELECT 1 WHERE ts >= :start AND ts < :end\""},
        {"keys", "{\"by\": \"key\", \"width\": 1000}", "\"SELECT 1 WHERE id >= :lo AND id < :hi\""},
        {"partitions", "{\"by\": \"partition\"}", "\"SELECT 1 WHERE region = :partition\""},
        {"buckets", "{\"by\": \"bucket\"}", "\"SELECT 1 WHERE h = :bucket\""},
    };
    const struct scope_case *c = &scope_cases[_i];
    char dotted[32], batching[256];
    size_t k = 0;
    bf_planner *planner = NULL;
    bf_plan *plan = NULL;
    int plan_rc;

    while (strcmp(per_kind[k].kind, c->kind) != 0)
        k++;
    snprintf(dotted, sizeof dotted, "scope.%s", c->kind);
    /* "date": 1 in a case's batching asks for time_format date (not a batching member). */
    snprintf(batching, sizeof batching, "%s",
             c->batching ? c->batching : per_kind[k].batching ? per_kind[k].batching : "");
    char *hint = strstr(batching, ", \"date\": 1");
    if (hint)
        memmove(hint, hint + 11, strlen(hint + 11) + 1);
    struct edit edits[5] = {{"scope.time", NULL}, {dotted, c->scope}, {"job.select", per_kind[k].job}};
    size_t n = 3;

    /* Keep the example's batching and time format unless the case changes them. */
    if (batching[0])
        edits[n++] = (struct edit){"batching", batching};
    if (hint)
        edits[n++] = (struct edit){"target.time_format", "\"date\""};
    char *text = patched_example(edits, n);
    bf_brief *b = load_text(text);
    bf_findings *f = NULL;
    ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);

    plan_rc = bf_planner_new_from_brief(&planner, b);
    if (plan_rc == BF_OK)
        plan_rc = bf_planner_plan(&plan, planner);
    if (plan_rc == BF_OK)
        plan_rc = bf_plan_verify(plan, planner);
    ck_assert_msg((bf_findings_blocking(f) > 0) == (plan_rc != BF_OK),
                  "scope case %d: check has %zu blocking finding(s) (first %s: %s), planning gave %s "
                  "(%s)",
                  _i, bf_findings_blocking(f), bf_findings_code(f, 0) ? bf_findings_code(f, 0) : "-",
                  bf_findings_message(f, 0) ? bf_findings_message(f, 0) : "-", bf_errstr(plan_rc),
                  plan_rc ? bf_last_error() : "");
    if (c->code) {
        ck_assert_msg(has_finding(f, c->code, NULL, NULL), "scope case %d: no %s", _i, c->code);
        ck_assert_uint_eq(bf_findings_blocking(f), 1);
    }
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_findings_free(f);
    bf_brief_free(b);
    free(text);
}
END_TEST

/*
 * missing-communication and blast-radius share one definition of affected:
 * the assets the finding names are exactly the dashboards and stakeholders
 * among the lineage's direct and indirect dependents.
 */
static const struct comm_case {
    const char *downstream;
    const char *names; /* the assets the finding names, as "a|b", or "" for no finding */
} comm_cases[] = {
    {"[{\"name\": \"mart\", \"kind\": \"table\", \"depends_on\": [\"fct_orders\"]},"
     " {\"name\": \"Revenue dashboard\", \"kind\": \"dashboard\", \"depends_on\": [\"mart\"]},"
     " {\"name\": \"Board pack\", \"kind\": \"stakeholder\", \"depends_on\": [\"Revenue dashboard\"]}]",
     "Revenue dashboard|Board pack"},
    /* Reads only a source: not affected, so no one to tell. */
    {"[{\"name\": \"Raw dashboard\", \"kind\": \"dashboard\", \"depends_on\": [\"raw_orders\"]}]", ""},
    {"[{\"name\": \"Raw dashboard\", \"kind\": \"dashboard\", \"depends_on\": [\"raw_orders\"]},"
     " {\"name\": \"Ops\", \"kind\": \"stakeholder\", \"depends_on\": [\"Raw dashboard\"]},"
     " {\"name\": \"mart\", \"kind\": \"view\", \"depends_on\": [\"fct_orders\", \"raw_refunds\"]},"
     " {\"name\": \"CFO\", \"kind\": \"stakeholder\", \"depends_on\": [\"fct_orders\"]},"
     " {\"name\": \"Margin dashboard\", \"kind\": \"dashboard\", \"depends_on\": [\"raw_refunds\", \"mart\"]}]",
     "CFO|Margin dashboard"},
    /* No depends_on at all: reaches nothing. */
    {"[{\"name\": \"Loose dashboard\", \"kind\": \"dashboard\"}]", ""},
    {"[{\"name\": \"mart\", \"kind\": \"table\", \"depends_on\": [\"fct_orders\"]},"
     " {\"name\": \"export\", \"kind\": \"export\", \"depends_on\": [\"mart\"]}]", ""},
};

START_TEST(missing_communication_names_what_blast_radius_reaches)
{
    const struct comm_case *c = &comm_cases[_i];
    struct edit edits[2] = {{"communication", NULL}, {"downstream", c->downstream}};
    char *text = patched_example(edits, 2);
    bf_brief *b = load_text(text);
    bf_findings *f = NULL;
    bf_lineage *l = NULL;
    char from_lineage[512] = "", from_finding[512] = "";
    const char *msg = NULL;

    ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);
    ck_assert_int_eq(bf_lineage_new(&l, b), BF_OK);
    /* What blast-radius reports: dashboards and stakeholders among the dependents. */
    for (int list = 0; list < 2; list++) {
        size_t n = list ? bf_lineage_indirect_count(l) : bf_lineage_direct_count(l);
        for (size_t i = 0; i < n; i++) {
            const char *name = list ? bf_lineage_indirect(l, i) : bf_lineage_direct(l, i);
            for (size_t a = 0; a < bf_brief_downstream_count(b); a++) {
                bf_asset_kind kind = bf_brief_downstream_kind(b, a);
                if (strcmp(bf_brief_downstream_name(b, a), name) == 0 &&
                    (kind == BF_ASSET_DASHBOARD || kind == BF_ASSET_STAKEHOLDER))
                    snprintf(from_lineage + strlen(from_lineage), sizeof from_lineage - strlen(from_lineage),
                             "%s%s", from_lineage[0] ? "|" : "", name);
            }
        }
    }
    /* What the finding names: its quoted asset names. */
    for (size_t i = 0; i < bf_findings_count(f); i++)
        if (strcmp(bf_findings_code(f, i), "missing-communication") == 0)
            msg = bf_findings_message(f, i);
    for (const char *q = msg ? strchr(msg, '"') : NULL; q; q = strchr(q, '"')) {
        const char *end = strchr(q + 1, '"');
        ck_assert_ptr_nonnull(end);
        snprintf(from_finding + strlen(from_finding), sizeof from_finding - strlen(from_finding),
                 "%s%.*s", from_finding[0] ? "|" : "", (int)(end - q - 1), q + 1);
        q = end + 1;
    }
    ck_assert_str_eq(from_lineage, c->names);
    ck_assert_str_eq(from_finding, from_lineage);
    ck_assert_int_eq(msg != NULL, c->names[0] != '\0');
    bf_lineage_free(l);
    bf_findings_free(f);
    bf_brief_free(b);
    free(text);
}
END_TEST

START_TEST(good_example_passes_every_rule_but_the_estimate)
{
    bf_brief *b = load_example("refund-join.json");
    bf_findings *f = NULL;

    ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);
    ck_assert_uint_eq(bf_findings_count(f), 1);
    ck_assert_uint_eq(bf_findings_blocking(f), 0);
    ck_assert_str_eq(bf_findings_code(f, 0), "missing-runtime-estimate");
    ck_assert_int_eq(bf_findings_severity(f, 0), BF_SEVERITY_WARN);
    ck_assert_ptr_null(bf_findings_code(f, 1));
    ck_assert_int_eq(bf_findings_severity(f, 1), 0);
    bf_findings_free(f);
    bf_brief_free(b);
}
END_TEST

START_TEST(blocking_findings_come_first)
{
    static const struct edit edits[] = {{"scope.expected_rows", NULL}, {"reason", NULL}, {"downstream", NULL}};
    char *text = patched_example(edits, 3);
    bf_findings *f = check_text(text);

    ck_assert_uint_eq(bf_findings_blocking(f), 1);
    ck_assert_str_eq(bf_findings_code(f, 0), "missing-reason");
    ck_assert_str_eq(bf_findings_message(f, 0), "The brief does not say why history is being rewritten.");
    for (size_t i = 1; i < bf_findings_count(f); i++)
        ck_assert_int_eq(bf_findings_severity(f, i), BF_SEVERITY_WARN);
    ck_assert(has_finding(f, "missing-expected-rows", NULL, NULL));
    ck_assert(has_finding(f, "missing-downstream", NULL, NULL));
    bf_findings_free(f);
    free(text);
}
END_TEST

START_TEST(each_bad_example_triggers_its_rule)
{
    static const struct {
        const char *file, *code;
    } bad[] = {
        {"bad-append.json", "append-not-idempotent"},
        {"bad-reviewer-is-owner.json", "reviewer-is-owner"},
        {"bad-no-rollback.json", "missing-rollback-plan"},
        {"bad-job-ignores-bounds.json", "job-ignores-bounds"},
        {"bad-critical-without-snapshot.json", "critical-without-snapshot"},
        {"bad-no-metric-check.json", "missing-metric-check"},
        {"bad-merge-without-key.json", "merge-without-key"},
        {"bad-lineage-cycle.json", "invalid-lineage"},
        {"bad-draft.json", "missing-reason"},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(bad); i++) {
        bf_brief *b = load_example(bad[i].file);
        bf_findings *f = NULL;

        ck_assert_int_eq(bf_brief_check(&f, b), BF_OK);
        ck_assert_msg(has_finding(f, bad[i].code, NULL, NULL), "%s lacks %s", bad[i].file, bad[i].code);
        /* Each one-rule example blocks on exactly that rule. */
        if (strcmp(bad[i].file, "bad-draft.json") != 0)
            ck_assert_msg(bf_findings_blocking(f) == 1 && strcmp(bf_findings_code(f, 0), bad[i].code) == 0,
                          "%s blocks on %zu findings, first %s", bad[i].file, bf_findings_blocking(f),
                          bf_findings_code(f, 0));
        bf_findings_free(f);
        bf_brief_free(b);
    }
}
END_TEST

/* ---- The one-page brief ------------------------------------------------------------------- */

START_TEST(render_tells_the_whole_story)
{
    bf_brief *b = load_example("refund-join.json");
    char *md = NULL;

    ck_assert_int_eq(bf_brief_render_markdown(&md, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(md, "# Backfill brief: refund-join-fix-2025h1\n"));
    ck_assert_ptr_nonnull(strstr(md, "**Status: ready to plan.** No blocking findings (1 warning)."));
    ck_assert_ptr_nonnull(strstr(md, "## Why\n\nNet revenue was overstated"));
    ck_assert_ptr_nonnull(strstr(md, "From 2025-01-01 up to, but not including, 2025-06-01 (America/New_York time)."));
    ck_assert_ptr_nonnull(strstr(md, "| Owner (runs it) | ana@example.com |"));
    ck_assert_ptr_nonnull(strstr(md, "| Reviewer (approves the cutover) | raj@example.com |"));
    ck_assert_ptr_nonnull(strstr(md, "**Metric repair**"));
    ck_assert_ptr_nonnull(strstr(md, "7 days each, oldest first, at most 2 at a time"));
    ck_assert_ptr_nonnull(strstr(md, "partition overwrite"));
    ck_assert_ptr_nonnull(strstr(md, "**Directly (read the table):** mart_monthly_revenue"));
    ck_assert_ptr_nonnull(strstr(md, "**Indirectly (through those):** Revenue dashboard, Board pack"));
    ck_assert_ptr_nonnull(strstr(md, "The metric \"net revenue\" (`SUM(net_revenue)`) moves between -10% and 0%"));
    ck_assert_ptr_nonnull(strstr(md, "- Every planned batch is done and validated before the run "
                                     "can be approved, and no batch writes outside its own bounds "
                                     "(always on).\n\n## How to undo it\n\nPer-batch pre-images"));
    /* The coverage check is not always on: listed, it has a line of its own. */
    ck_assert_ptr_null(strstr(md, "Rows outside the scope stay"));
    bf_free(md);
    ck_assert_int_eq(bf_brief_add_check_json(b, "{\"check\": \"coverage\"}"), BF_OK);
    ck_assert_int_eq(bf_brief_render_markdown(&md, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(md, "\n- Rows outside the scope stay exactly as they were, and each "
                                     "batch's rows stay as many as it left.\n"));
    ck_assert_ptr_nonnull(strstr(md, "kept for 14 days"));
    ck_assert_ptr_nonnull(strstr(md, "| warn | `missing-runtime-estimate` | `$.batching.target_batch_s` |"));
    bf_free(md);
    bf_brief_free(b);
}
END_TEST

START_TEST(render_shows_a_draft_and_its_blocks)
{
    bf_brief *b = load_example("bad-draft.json");
    char *md = NULL;

    ck_assert_int_eq(bf_brief_render_markdown(&md, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(md, "**Status: blocked.** 8 blocking findings must be fixed"));
    ck_assert_ptr_nonnull(strstr(md, "## Why\n\n_Not given._"));
    ck_assert_ptr_nonnull(strstr(md, "(UTC time)"));
    ck_assert_ptr_nonnull(strstr(md, "| **block** | `missing-reason` | `$.reason` |"));
    ck_assert_ptr_nonnull(strstr(md, "_No downstream assets or stakeholders are listed._"));
    bf_free(md);
    bf_brief_free(b);
    b = load_example("bad-lineage-cycle.json");
    ck_assert_int_eq(bf_brief_render_markdown(&md, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(md, "_Could not be worked out: $.downstream: depends_on forms a cycle"));
    bf_free(md);
    bf_brief_free(b);
}
END_TEST

START_TEST(render_escapes_table_cells)
{
    bf_brief *b = load_example("refund-join.json");
    char *md = NULL;

    ck_assert_int_eq(bf_brief_set_owner(b, "ana | finance\nteam"), BF_OK);
    ck_assert_int_eq(bf_brief_render_markdown(&md, b), BF_OK);
    ck_assert_ptr_nonnull(strstr(md, "| Owner (runs it) | ana \\| finance team |"));
    bf_free(md);
    bf_brief_free(b);
}
END_TEST

/* ---- Allocation failure at every point of ours ---------------------------------------------- */

struct sweep {
    const char *text;
    bf_brief *brief;
    bf_findings *findings;
    char *out;
};

static void sweep_cleanup(void *arg)
{
    struct sweep *s = arg;

    if (s->text)
        bf_brief_free(s->brief), s->brief = NULL;
    bf_findings_free(s->findings);
    s->findings = NULL;
    bf_free(s->out);
    s->out = NULL;
}

static int op_load(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_load_json(&s->brief, s->text, strlen(s->text));
}

static int op_load_file(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_load_file(&s->brief, example_path("refund-join.json"));
}

static int op_check(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_check(&s->findings, s->brief);
}

static int op_save(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_save_json(&s->out, s->brief);
}

static int op_render(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_render_markdown(&s->out, s->brief);
}

static int op_check_json(void *arg)
{
    struct sweep *s = arg;
    return bf_brief_check_json(&s->out, s->brief, 4);
}

static int op_build(void *arg)
{
    struct sweep *s = arg;
    return build_example(&s->brief);
}

START_TEST(every_allocation_failure_is_reported_without_leaks)
{
    char *text = slurp(example_path("refund-join.json"));
    struct sweep load = {text, NULL, NULL, NULL};
    struct sweep use = {NULL, load_example("refund-join.json"), NULL, NULL};
    struct sweep draft = {NULL, load_example("bad-draft.json"), NULL, NULL};
    struct sweep cycle = {NULL, load_example("bad-lineage-cycle.json"), NULL, NULL};

    ck_assert_int_ge(failalloc_sweep(op_load, sweep_cleanup, &load), 1);
    ck_assert_int_ge(failalloc_sweep(op_load_file, sweep_cleanup, &load), 2);
    ck_assert_int_ge(failalloc_sweep(op_check, sweep_cleanup, &use), 10);
    ck_assert_int_ge(failalloc_sweep(op_check, sweep_cleanup, &draft), 10);
    ck_assert_int_ge(failalloc_sweep(op_check, sweep_cleanup, &cycle), 10);
    ck_assert_int_ge(failalloc_sweep(op_save, sweep_cleanup, &use), 1);
    ck_assert_int_ge(failalloc_sweep(op_render, sweep_cleanup, &use), 20);
    ck_assert_int_ge(failalloc_sweep(op_render, sweep_cleanup, &cycle), 20);
    ck_assert_int_ge(failalloc_sweep(op_check_json, sweep_cleanup, &use), 1);
    ck_assert_int_ge(failalloc_sweep(op_build, sweep_cleanup, &load), 1);
    bf_brief_free(use.brief);
    bf_brief_free(draft.brief);
    bf_brief_free(cycle.brief);
    free(text);
}
END_TEST

/* ---- Dates and zones ------------------------------------------------------------------------ */

/* A brief whose time scope is `start`..`end` in `zone`. */
static void scope_text(char *buf, size_t size, const char *start, const char *end,
                       const char *zone)
{
    snprintf(buf, size,
             "{\"scope\": {\"time\": {\"start\": \"%s\", \"end\": \"%s\", \"timezone\": \"%s\"}}}",
             start, end, zone);
}

START_TEST(dates_are_real_calendar_dates)
{
    static const char *const bad[] = {"1900-02-29",       "2025-04-31",       "2025-13-01",
                                      "2025-1-01",        "2025-01-01 10:60", "2025-01-01 10:00:60",
                                      "2025-01-01 10:00:0x"};
    char text[256];

    scope_text(text, sizeof text, "2000-02-29 23:59:59", "2000-03-01", "UTC");
    bf_brief_free(load_text(text));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scope_text(text, sizeof text, bad[i], "2030-01-01", "UTC");
        expect_load_fail(text, BF_E_INVALID, "$.scope.time.start: expected a real date");
    }
    scope_text(text, sizeof text, "2000-03-01", "2000-02-29 23:59:59", "UTC");
    expect_load_fail(text, BF_E_INVALID, "is after the end");
}
END_TEST

START_TEST(zones_must_load)
{
    static const char *const bad[] = {"Europe", "Europe/../Europe/Paris", "zone.tab",
                                      "/etc/localtime", "Mars/Base"};
    char text[256];

    scope_text(text, sizeof text, "2025-01-01", "2025-02-01", "Europe/Paris");
    bf_brief_free(load_text(text));
    scope_text(text, sizeof text, "2025-01-01", "2025-02-01", "UTC");
    bf_brief_free(load_text(text));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        scope_text(text, sizeof text, "2025-01-01", "2025-02-01", bad[i]);
        expect_load_fail(text, BF_E_INVALID, "$.scope.time.timezone: expected an IANA time zone");
    }
}
END_TEST

START_TEST(zones_are_read_from_tzdir)
{
    char dir[] = "/tmp/bf-tz-XXXXXX", path[256], text[256];
    const char *old = getenv("TZDIR");
    char *saved = old ? strdup(old) : NULL;
    FILE *in = fopen("/usr/share/zoneinfo/Asia/Kathmandu", "rb"), *f;
    char buf[4096];
    size_t n;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/Test_Zone", dir);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(in);
    ck_assert_ptr_nonnull(f);
    while ((n = fread(buf, 1, sizeof buf, in)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, n, f), n);
    fclose(in);
    fclose(f);
    setenv("TZDIR", dir, 1);
    scope_text(text, sizeof text, "2025-01-01", "2025-02-01", "Test_Zone");
    bf_brief_free(load_text(text));
    scope_text(text, sizeof text, "2025-01-01", "2025-02-01", "Europe/Paris");
    expect_load_fail(text, BF_E_INVALID, "$.scope.time.timezone");
    if (saved)
        setenv("TZDIR", saved, 1);
    else
        unsetenv("TZDIR");
    free(saved);
    unlink(path);
    rmdir(dir);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("brief");
    TCase *parse = tcase_create("parse");
    TCase *access = tcase_create("accessors");
    TCase *preflight = tcase_create("preflight");
    TCase *render = tcase_create("render");
    TCase *memory = tcase_create("memory");

    tcase_add_loop_test(parse, every_field_parses_good_and_refuses_bad, 0, (int)BF_ARRAY_LEN(fields));
    tcase_add_loop_test(parse, every_check_kind_parses_good_and_refuses_bad, 0, (int)BF_ARRAY_LEN(checks));
    tcase_add_test(parse, document_level_rules_are_enforced);
    tcase_add_test(parse, malformed_input_is_refused_with_position);
    tcase_add_test(parse, load_file_names_the_file_and_the_problem);
    tcase_add_test(parse, every_example_round_trips);
    tcase_add_test(parse, save_file_writes_what_loads_back);
    tcase_add_test(parse, dates_are_real_calendar_dates);
    tcase_add_test(parse, zones_must_load);
    tcase_add_test(parse, zones_are_read_from_tzdir);
    tcase_add_test(access, getters_read_the_example);
    tcase_add_test(access, check_json_gives_each_check);
    tcase_add_test(access, window_json_and_window_follow_the_scope_zone);
    tcase_add_test(access, enum_names_match_the_format);
    tcase_add_test(access, setters_build_the_example);
    tcase_add_test(access, setters_refuse_what_loading_refuses);
    tcase_add_test(access, setters_change_and_unset_fields);
    tcase_add_test(access, new_brief_is_an_empty_draft);
    tcase_add_loop_test(preflight, each_rule_fires_on_a_brief_that_breaks_it, 0, (int)BF_ARRAY_LEN(rules));
    tcase_add_loop_test(preflight, near_misses_do_not_fire, 0, (int)BF_ARRAY_LEN(near_misses));
    tcase_add_loop_test(preflight, check_blocks_exactly_when_the_planner_refuses, 0,
                        (int)BF_ARRAY_LEN(scope_cases));
    tcase_add_loop_test(preflight, missing_communication_names_what_blast_radius_reaches, 0,
                        (int)BF_ARRAY_LEN(comm_cases));
    tcase_add_test(preflight, good_example_passes_every_rule_but_the_estimate);
    tcase_add_test(preflight, blocking_findings_come_first);
    tcase_add_test(preflight, each_bad_example_triggers_its_rule);
    tcase_add_test(render, render_tells_the_whole_story);
    tcase_add_test(render, render_shows_a_draft_and_its_blocks);
    tcase_add_test(render, render_escapes_table_cells);
    tcase_add_test(memory, every_allocation_failure_is_reported_without_leaks);
    suite_add_tcase(s, parse);
    suite_add_tcase(s, access);
    suite_add_tcase(s, preflight);
    suite_add_tcase(s, render);
    suite_add_tcase(s, memory);
    return bftest_run(s);
}
