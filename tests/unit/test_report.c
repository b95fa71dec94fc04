/*
 * The report module: announcements, maintenance notices and change notes
 * read from a ledger built through the public API, the way the runner
 * records a run (the refund-join example brief, its plan, batches with
 * results, validations, approval, cutover and refresh records).
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bftest.h"
#include "backfill.h"

static char dir[256];
static char path[300];
static char *brief_text;
static bf_ledger *ledger;
static int64_t fake_now;

/* A clock that moves one second each time it is read: reports must not depend on it. */
static int64_t fake_clock(void *userdata)
{
    (void)userdata;
    fake_now += 1000000;
    return fake_now;
}

static char *read_text(const char *p)
{
    FILE *f = fopen(p, "rb");
    char *buf;
    long n;

    ck_assert_msg(f != NULL, "cannot open %s", p);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_int_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = 0;
    fclose(f);
    return buf;
}

static void setup(void)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    const char *root = getenv("BF_SOURCE_ROOT");
    char p[512];

    snprintf(dir, sizeof dir, "/tmp/bf_report_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    snprintf(p, sizeof p, "%s/examples/warehouse/refund-join.json", root ? root : ".");
    brief_text = read_text(p);
    fake_now = 1767225600LL * 1000000; /* 2026-01-01T00:00:00Z */
    opts.clock = fake_clock;
    opts.actor = "ana@example.com";
    ck_assert_int_eq(bf_ledger_open(&ledger, path, &opts), BF_OK);
}

static void teardown(void)
{
    char cmd[400];

    bf_ledger_close(ledger);
    ledger = NULL;
    free(brief_text);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static bf_plan *brief_plan(const char *text)
{
    bf_brief *brief;
    bf_planner *planner;
    bf_plan *plan;

    ck_assert_int_eq(bf_brief_load_json(&brief, text, strlen(text)), BF_OK);
    ck_assert_int_eq(bf_planner_new_from_brief(&planner, brief), BF_OK);
    ck_assert_int_eq(bf_planner_plan(&plan, planner), BF_OK);
    bf_planner_free(planner);
    bf_brief_free(brief);
    return plan;
}

static bf_run *start(const char *name, const char *text)
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_plan *plan = brief_plan(text);
    bf_run *run;

    spec.brief_name = name;
    spec.brief_json = text;
    spec.code_version = "git:4f2a9c1";
    spec.operator_name = "ana@example.com";
    spec.max_concurrency = 2;
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    return run;
}

/* Batch results as bf_results_to_json() writes them, with one metric check. */
static void record_batch_validation(bf_run *run, int64_t id, const char *label, int pass)
{
    char json[2048];
    int64_t tally[5] = {pass ? 2 : 1, 0, pass ? 0 : 1, 0, 0};

    snprintf(json, sizeof json,
             "{\"batch\": \"%s\", \"status\": \"%s\", \"counts\": {\"pass\": %d, \"warn\": 0, "
             "\"fail\": %d, \"error\": 0, \"skipped\": 0}, \"checks\": ["
             "{\"check\": \"unique\", \"name\": null, \"severity\": \"error\", \"outcome\": \"pass\", "
             "\"observed\": \"0\", \"expected\": \"0\", \"message\": \"no duplicated keys\", \"samples\": []},"
             "{\"check\": \"metric\", \"name\": \"net revenue\", \"severity\": \"error\", \"outcome\": \"%s\", "
             "\"observed\": \"\", \"expected\": \"\", \"message\": \"%s\", \"samples\": [], "
             "\"before\": 1000, \"after\": %s, \"delta\": %s, \"explained\": {\"added\": 0, "
             "\"removed\": 0, \"changed\": %s}}]}",
             label, pass ? "pass" : "fail", pass ? 2 : 1, pass ? 0 : 1, pass ? "pass" : "fail",
             pass ? "check net revenue: moved from 1000 to 950"
                  : "check net revenue: moved from 1000 to 500 (-50%), outside the expected bounds",
             pass ? "950" : "500", pass ? "-50" : "-500", pass ? "-50" : "-500");
    ck_assert_int_eq(bf_run_record_validation(run, id, json, tally,
                                              pass ? NULL : "check net revenue moved -50%",
                                              BF_VALIDATION_SETTLE),
                     BF_OK);
}

/* Claim and complete `n` batches (all: n < 0), recording validation for each. */
static int64_t work(bf_run *run, int n, int fail_last)
{
    bf_lease *lease;
    int64_t done = 0;

    while (n != 0 && bf_run_claim(&lease, run) == BF_OK && lease) {
        bf_batch_result r = BF_BATCH_RESULT_INIT;
        char key[64];
        int64_t id = bf_lease_batch_id(lease);

        snprintf(key, sizeof key, "key-%lld", (long long)id);
        r.rows_written = 1000;
        r.rows_deleted = 10;
        r.fingerprint_before = "10:0123456789abcdef0123456789abcdef";
        r.fingerprint_after = "10:fedcba9876543210fedcba9876543210";
        r.duration_s = 2.0;
        r.idempotency_key = key;
        ck_assert_int_eq(bf_run_complete(run, id, bf_lease_token(lease), &r), BF_OK);
        n--;
        record_batch_validation(run, id, bf_lease_label(lease), !(fail_last && n == 0));
        bf_lease_free(lease);
        done++;
    }
    return done;
}

static void pass_run_level(bf_run *run)
{
    int64_t tally[5] = {3, 1, 0, 0, 0};

    ck_assert_int_eq(bf_run_record_validation(
                         run, 0,
                         "{\"batch\": null, \"status\": \"pass\", \"counts\": {}, \"checks\": ["
                         "{\"check\": \"sql\", \"name\": \"no negative net\", \"severity\": \"warn\","
                         " \"outcome\": \"warn\", \"observed\": \"2\", \"expected\": \"0\","
                         " \"message\": \"2 rows | have negative net\", \"samples\": []}]}",
                         tally, NULL, 0),
                     BF_OK);
}

/*
 * A whole run of the brief `text` the way the runner finishes it: validated,
 * approved, cut over, its refresh records `records` (NULL-ended), finished.
 */
/* The run approved and its refresh `records` made; finished too when `finish`. */
static bf_run *approved_run(const char *text, const char *const *records, int finish)
{
    bf_run *run = start("refund-join-fix-2025h1", text);

    work(run, -1, 0);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_VALIDATING, NULL), BF_OK);
    pass_run_level(run);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_AWAITING_APPROVAL, NULL), BF_OK);
    ck_assert_int_eq(bf_run_record(run, 0, "approval",
                                   "{\"reviewer\":\"raj@example.com\",\"operator\":\"ana@example.com\"}"),
                     BF_OK);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_APPROVED, NULL), BF_OK);
    ck_assert_int_eq(bf_run_record(run, 0, "cutover",
                                   "{\"strategy\":\"partition_overwrite\",\"table\":\"fct_orders\"}"),
                     BF_OK);
    for (; *records; records++)
        ck_assert_int_eq(bf_run_record(run, 0, "refresh", *records), BF_OK);
    if (finish)
        ck_assert_int_eq(bf_run_finish(run, NULL), BF_OK);
    return run;
}

static bf_run *refreshed_run(const char *text, const char *const *records)
{
    return approved_run(text, records, 1);
}

/* The example brief's run, finished: its one downstream table refreshed ok. */
static bf_run *finished_run(void)
{
    static const char *const records[] = {
        "{\"asset\":\"mart_monthly_revenue\",\"order\":1,\"status\":\"ok\",\"error\":null,\"duration_s\":0.12}",
        NULL};

    return refreshed_run(brief_text, records);
}

static char *report(bf_run *run, bf_report_stage stage, bf_report_format format)
{
    char *out = NULL;
    int rc = bf_report_run(&out, ledger, bf_run_id(run), stage, format);

    ck_assert_msg(rc == BF_OK, "report: %s", bf_last_error());
    ck_assert_ptr_nonnull(out);
    return out;
}

static json_t *report_json(bf_run *run, bf_report_stage stage)
{
    char *text = report(run, stage, BF_REPORT_JSON);
    json_t *j = json_loads(text, 0, NULL);

    ck_assert_ptr_nonnull(j);
    bf_free(text);
    return j;
}

static const json_t *done_item(const json_t *j, const char *id)
{
    size_t i;
    json_t *e;

    json_array_foreach(json_object_get(j, "definition_of_done"), i, e)
        if (!strcmp(json_string_value(json_object_get(e, "item")), id))
            return e;
    ck_abort_msg("no checklist item %s", id);
    return NULL;
}

static int item_done(const json_t *j, const char *id)
{
    return json_is_true(json_object_get(done_item(j, id), "done"));
}

static const char *item_evidence(const json_t *j, const char *id)
{
    return json_string_value(json_object_get(done_item(j, id), "evidence"));
}

/* The text is cut short in the message: Check's messages have a size limit (CK_MAX_MSG_SIZE). */
#define HAS(text, needle) ck_assert_msg(strstr((text), (needle)) != NULL, "missing \"%s\" in:\n%.3000s", \
                                         (needle), (text))
#define LACKS(text, needle) ck_assert_msg(strstr((text), (needle)) == NULL, "unexpected \"%s\" in:\n%.3000s", \
                                          (needle), (text))

START_TEST(names_of_stages_and_formats)
{
    bf_report_stage s;
    bf_report_format f;

    ck_assert_str_eq(bf_report_stage_name(BF_REPORT_BEFORE), "before");
    ck_assert_str_eq(bf_report_stage_name(BF_REPORT_AFTER), "after");
    ck_assert_ptr_null(bf_report_stage_name((bf_report_stage)0));
    ck_assert_ptr_null(bf_report_stage_name((bf_report_stage)4));
    ck_assert_int_eq(bf_report_stage_from_name(&s, "during"), BF_OK);
    ck_assert_int_eq(s, BF_REPORT_DURING);
    ck_assert_int_eq(bf_report_stage_from_name(&s, "durring"), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "'durring'"));
    ck_assert_str_eq(bf_report_format_name(BF_REPORT_MARKDOWN), "markdown");
    ck_assert_int_eq(bf_report_format_from_name(&f, "md"), BF_OK);
    ck_assert_int_eq(f, BF_REPORT_MARKDOWN);
    ck_assert_int_eq(bf_report_format_from_name(&f, "json"), BF_OK);
    ck_assert_int_eq(f, BF_REPORT_JSON);
    ck_assert_int_eq(bf_report_format_from_name(&f, "html"), BF_E_INVALID);
}
END_TEST

START_TEST(announcement_from_a_brief_alone)
{
    bf_brief *brief;
    char *md, *js;
    json_t *j;

    ck_assert_int_eq(bf_brief_load_json(&brief, brief_text, strlen(brief_text)), BF_OK);
    ck_assert_int_eq(bf_report_brief(&md, brief, BF_REPORT_BEFORE, BF_REPORT_MARKDOWN), BF_OK);
    HAS(md, "# Announcement: refund-join-fix-2025h1");
    HAS(md, "- **Table:** `fct_orders`, one row per `order_id`");
    HAS(md, "- **Columns expected to change:** `refund_amount`, `net_revenue`");
    HAS(md, "- **Period:** 2025-01-01 to 2025-05-31 (America/New_York)");
    HAS(md, "Net revenue was overstated");
    HAS(md, "## When\n\nnot scheduled yet");
    HAS(md, "- **Directly (read the table):** mart_monthly_revenue");
    HAS(md, "- **Indirectly (through those):** Revenue dashboard, Board pack");
    HAS(md, "- **Channel:** #data-changes");
    HAS(md, "- **Owner:** ana@example.com");
    HAS(md, "- **Reviewer:** raj@example.com");
    HAS(md, "Per-batch pre-images; restore with backfill rollback.");
    LACKS(md, "Definition of done");
    ck_assert_int_eq(bf_report_brief(&js, brief, BF_REPORT_BEFORE, BF_REPORT_JSON), BF_OK);
    j = json_loads(js, 0, NULL);
    ck_assert_str_eq(json_string_value(json_object_get(j, "format")), "backfill-report/1");
    ck_assert_str_eq(json_string_value(json_object_get(j, "stage")), "before");
    ck_assert(json_is_null(json_object_get(j, "run")));
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(json_object_get(j, "brief"), "period"), "last_day")),
                     "2025-05-31");
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "blast_radius"), "indirect")), 2);
    ck_assert_ptr_null(json_object_get(j, "definition_of_done"));
    json_decref(j);
    bf_free(js);
    bf_free(md);
    /* Only the announcement exists before a run. */
    ck_assert_int_eq(bf_report_brief(&md, brief, BF_REPORT_AFTER, BF_REPORT_MARKDOWN), BF_E_INVALID);
    ck_assert_ptr_null(md);
    ck_assert_int_eq(bf_report_brief(&md, brief, (bf_report_stage)9, BF_REPORT_MARKDOWN), BF_E_INVALID);
    bf_brief_free(brief);
}
END_TEST

START_TEST(change_note_of_a_finished_run)
{
    bf_run *run = finished_run();
    char *md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN), *again;
    json_t *j = report_json(run, BF_REPORT_AFTER), *p = json_object_get(j, "progress");
    const json_t *m;
    int64_t n = json_integer_value(json_object_get(p, "total"));
    char line[256];

    ck_assert_int_eq(n, 22); /* 2025-01-01 to 2025-06-01 in 7-day batches */
    ck_assert_int_eq(json_integer_value(json_object_get(p, "validated")), n);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "rows_written")), n * 1000);
    ck_assert_int_eq(json_integer_value(json_object_get(p, "rows_deleted")), n * 10);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "completed: approved, cut over and refreshed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "run"), "state")), "completed");
    ck_assert_str_eq(json_string_value(json_object_get(json_object_get(j, "approval"), "reviewer")),
                     "raj@example.com");
    ck_assert(json_is_integer(json_object_get(json_object_get(j, "approval"), "at_us")));
    ck_assert(json_is_string(json_object_get(json_object_get(j, "approval"), "at_iso")));
    /* Metrics: one per batch, before/after/delta and the explained delta. */
    ck_assert_int_eq(json_array_size(json_object_get(j, "metrics")), (size_t)n);
    m = json_array_get(json_object_get(j, "metrics"), 0);
    ck_assert_str_eq(json_string_value(json_object_get(m, "name")), "net revenue");
    ck_assert(json_number_value(json_object_get(m, "before")) == 1000);
    ck_assert(json_number_value(json_object_get(m, "after")) == 950);
    ck_assert(json_number_value(json_object_get(m, "delta")) == -50);
    ck_assert(json_number_value(json_object_get(json_object_get(m, "explained"), "changed")) == -50);
    m = json_array_get(json_object_get(j, "metric_totals"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(m, "batches")), n);
    ck_assert(json_number_value(json_object_get(m, "delta")) == -1100);
    ck_assert(json_number_value(json_object_get(m, "delta_pct")) == -5);
    /* Validation counts. */
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(json_object_get(j, "validation"), "batches"), "passed")), n);
    ck_assert(json_is_true(json_object_get(json_object_get(json_object_get(j, "validation"), "run"), "passed")));
    /* The checklist: everything but the test slice is done. */
    ck_assert(item_done(j, "brief"));
    ck_assert(item_done(j, "people"));
    ck_assert_str_eq(item_evidence(j, "people"), "operator ana@example.com, reviewer raj@example.com");
    ck_assert(item_done(j, "blast_radius"));
    ck_assert(item_done(j, "idempotent_write"));
    ck_assert_str_eq(item_evidence(j, "idempotent_write"),
                     "partition_overwrite; idempotency keys recorded for 22 of 22 written batches");
    ck_assert(item_done(j, "rollback"));
    ck_assert(!item_done(j, "test_slice"));
    ck_assert_str_eq(item_evidence(j, "test_slice"), "not recorded");
    ck_assert(item_done(j, "batches_validated"));
    ck_assert(item_done(j, "run_validation"));
    ck_assert(item_done(j, "approval"));
    ck_assert(item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"), "1 of 1 refreshed");
    ck_assert(item_done(j, "change_note"));
    /* The same facts in Markdown. */
    HAS(md, "# Change note: refund-join-fix-2025h1");
    HAS(md, "> **Status:** completed: approved, cut over and refreshed");
    HAS(md, "- **Period:** 2025-01-01 to 2025-05-31 (America/New_York)");
    HAS(md, "- **Batches:** 22 of 22 written (22 validated, 0 failed, 0 cancelled, 0 rolled back)");
    HAS(md, "- **Rows:** 22000 written, 220 deleted");
    HAS(md, "- **Run level:** passed (3 pass, 1 warn, 0 fail, 0 error, 0 skipped)");
    HAS(md, "- **Batches:** 22 recorded, 22 passed, 0 failed (checks: 44 pass");
    HAS(md, "| net revenue | 1000 | 950 | -50 | added 0, removed 0, changed -50 | pass |");
    HAS(md, "- **net revenue**, summed over 22 batches: 22000 before, 20900 after (-1100, -5%)");
    HAS(md, "2 rows \\| have negative net"); /* a pipe in a table cell is escaped */
    HAS(md, "| 1 | mart_monthly_revenue | ok |");
    HAS(md, "- **Run by (operator):** ana@example.com");
    HAS(md, "- **Approved by:** raj@example.com at 2026-01-01T");
    HAS(md, "America/New_York)");
    HAS(md, "- [x] One operator and one different reviewer: operator ana@example.com, reviewer raj@example.com");
    HAS(md, "- [ ] Test slice run first: **not done**: not recorded");
    HAS(md, "- [x] Change note written: this document");
    snprintf(line, sizeof line, "- [x] All batches validated: %lld of %lld batches validated", (long long)n,
             (long long)n);
    HAS(md, line);
    /* Deterministic: the same ledger gives the same text, whatever the clock says now. */
    again = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    ck_assert_str_eq(md, again);
    bf_free(again);
    bf_free(md);
    json_decref(j);
    bf_run_free(run);
}
END_TEST

START_TEST(test_slice_run_is_found)
{
    bf_run *slice = start("refund-join-fix-2025h1@test-slice", brief_text), *run;
    json_t *j;

    bf_run_free(slice);
    run = finished_run();
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert(item_done(j, "test_slice"));
    ck_assert_ptr_nonnull(strstr(item_evidence(j, "test_slice"), "(refund-join-fix-2025h1@test-slice), planned"));
    json_decref(j);
    bf_run_free(run);
}
END_TEST

START_TEST(notice_of_a_running_run)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    char *md;
    json_t *j, *p;

    ck_assert_int_eq(work(run, 5, 0), 5);
    md = report(run, BF_REPORT_DURING, BF_REPORT_MARKDOWN);
    HAS(md, "# Maintenance notice: refund-join-fix-2025h1");
    HAS(md, "> **Status:** running: 5 of 22 batches done; not finished");
    HAS(md, "- **Batches done:** 5 of 22 (5 validated, 0 running, 17 pending, 0 failed, 0 cancelled)");
    HAS(md, "- **Rows written so far:** 5000 (50 deleted)");
    HAS(md, "### Waiting batches");
    HAS(md, "| _and 7 more_ |");
    HAS(md, "> Numbers in mart_monthly_revenue, Revenue dashboard, Board pack and in `fct_orders` may be "
            "inconsistent until 2026-");
    HAS(md, "- **Operator (runs it):** ana@example.com");
    j = report_json(run, BF_REPORT_DURING);
    p = json_object_get(j, "progress");
    ck_assert_int_eq(json_integer_value(json_object_get(p, "done")), 5);
    ck_assert_int_eq(json_array_size(json_object_get(json_object_get(j, "batches"), "waiting")), 17);
    ck_assert(json_is_integer(json_object_get(p, "eta_us")));
    ck_assert(json_is_string(json_object_get(p, "eta_iso")));
    ck_assert_ptr_null(json_object_get(j, "definition_of_done"));
    json_decref(j);
    bf_free(md);
    /* The change note of an unfinished run says so honestly. */
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "> **Status:** running: 5 of 22 batches done; not finished");
    HAS(md, "- **Finished:** not finished");
    HAS(md, "- **Approved by:** not yet approved");
    HAS(md, "- [ ] All batches validated: **not done**: 5 of 22 batches validated");
    HAS(md, "- [ ] Run-level validation passed: **not done**: not recorded");
    HAS(md, "- [ ] Approval recorded before cutover: **not done**: no approval recorded");
    HAS(md, "- [ ] Downstream refreshed in order: **not done**: 0 of 1 refreshed");
    bf_free(md);
    bf_run_free(run);
}
END_TEST

static int64_t first_batch(bf_run *run, bf_batch_state state);

START_TEST(awaiting_approval_is_not_cut_over)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    json_t *j;
    char *md;

    work(run, -1, 0);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_VALIDATING, NULL), BF_OK);
    pass_run_level(run);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_AWAITING_APPROVAL, NULL), BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")), "awaiting approval: the target already holds the new rows; downstream not refreshed yet");
    ck_assert(json_is_null(json_object_get(j, "approval")));
    ck_assert(item_done(j, "batches_validated"));
    ck_assert(!item_done(j, "approval"));
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "> **Status:** awaiting approval: the target already holds the new rows; downstream "
            "not refreshed yet");
    HAS(md, "- **Cut over:** not needed: partition_overwrite writes the target in place");
    HAS(md, "Nothing refreshed yet; to refresh, in this order: mart_monthly_revenue.");
    bf_free(md);
    /* One batch rolled back before approval: the target no longer holds all the new rows. */
    ck_assert_int_eq(bf_run_mark_batch(run, first_batch(run, BF_BATCH_VALIDATED),
                                       BF_BATCH_ROLLED_BACK, "restored"), BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "awaiting approval, but 1 batch rolled back since: the target holds the new "
                     "rows of the other batches only; running the brief again redoes it, and the "
                     "run cannot be approved before");
    json_decref(j);
    bf_run_free(run);
}
END_TEST

START_TEST(failed_validation_pauses_and_is_reported)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    json_t *j, *v;
    char *md;

    ck_assert_int_eq(work(run, 3, 1), 3);
    ck_assert_int_eq(bf_run_refresh(run), BF_OK);
    ck_assert_int_eq(bf_run_current_state(run), BF_RUN_PAUSED);
    j = report_json(run, BF_REPORT_AFTER);
    v = json_object_get(j, "validation");
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "batches"), "failed")), 1);
    ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(v, "batches"), "passed")), 2);
    ck_assert_int_eq(json_array_size(json_object_get(v, "failures")), 1);
    ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(j, "status")),
                                 "paused: validation failed: "));
    ck_assert(!item_done(j, "batches_validated"));
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "### Failing checks");
    HAS(md, "| metric net revenue | fail | check net revenue: moved from 1000 to 500 (-50%), outside the "
            "expected bounds |");
    HAS(md, "| net revenue | 1000 | 500 | -500 |");
    HAS(md, "- **Batches:** 3 recorded, 2 passed, 1 failed");
    bf_free(md);
    md = report(run, BF_REPORT_DURING, BF_REPORT_MARKDOWN);
    HAS(md, "> **Status:** paused: validation failed: ");
    HAS(md, "- **Expected to end:** unknown while the run is paused");
    HAS(md, "may be inconsistent until the run ends.");
    bf_free(md);
    bf_run_free(run);
}
END_TEST

START_TEST(same_operator_and_reviewer_is_not_done)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    json_t *j;

    ck_assert_int_eq(bf_run_record(run, 0, "approval",
                                   "{\"reviewer\":\"ana@example.com\",\"operator\":\"ana@example.com\"}"),
                     BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert(!item_done(j, "people"));
    ck_assert_str_eq(item_evidence(j, "people"),
                     "operator and reviewer are the same person: ana@example.com");
    json_decref(j);
    bf_run_free(run);
}
END_TEST

START_TEST(unknown_run_is_named)
{
    char *out = (char *)"x";

    ck_assert_int_eq(bf_report_run(&out, ledger, 42, BF_REPORT_AFTER, BF_REPORT_MARKDOWN), BF_E_NOT_FOUND);
    ck_assert_ptr_null(out);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "42"));
    ck_assert_int_eq(bf_report_run(&out, ledger, 1, (bf_report_stage)0, BF_REPORT_MARKDOWN), BF_E_INVALID);
    ck_assert_int_eq(bf_report_run(&out, ledger, 1, BF_REPORT_AFTER, (bf_report_format)7), BF_E_INVALID);
}
END_TEST

/* A host without briefs records a bare one: the report still names the run and says what is missing. */
START_TEST(run_with_a_bare_brief)
{
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_plan *plan = brief_plan(brief_text);
    bf_run *run;
    char *md;

    spec.brief_name = "orders-host";
    spec.brief_json = "{\"format\":\"backfill-brief/1\"}";
    spec.operator_name = "ana@example.com";
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    bf_plan_free(plan);
    work(run, 2, 0);
    md = report(run, BF_REPORT_DURING, BF_REPORT_MARKDOWN);
    HAS(md, "# Maintenance notice: orders-host");
    HAS(md, "- **Period:** not given");
    HAS(md, "_No reason is given in the brief._");
    HAS(md, "in the target table may be inconsistent until");
    bf_free(md);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "- [ ] Written brief with scope and reason: **not done**: scope: not given; reason: not given");
    HAS(md, "- [ ] Blast radius known (downstream listed): **not done**: no downstream assets listed in the brief");
    HAS(md, "- [ ] Safe idempotent write pattern: **not done**: no write strategy in the brief");
    HAS(md, "- [ ] Rollback path: **not done**: no pre-images kept (snapshot off); plan: not given");
    bf_free(md);
    bf_run_free(run);
}
END_TEST

/* An instant as the brief's zone shows it in winter: New York is UTC-5 in December and January. */
static void new_york_text(char *buf, size_t size, int64_t us)
{
    time_t t = (time_t)(us / 1000000) - 5 * 3600;
    struct tm tm;
    char day[32];

    ck_assert_ptr_nonnull(gmtime_r(&t, &tm));
    strftime(day, sizeof day, "%Y-%m-%d %H:%M", &tm);
    snprintf(buf, size, "%s America/New_York", day);
}

/* Every NAME_local string anywhere in the report; returns how many there are. */
static int every_local_in_new_york(const json_t *v, const char *where)
{
    const char *key;
    json_t *m;
    size_t i;
    int n = 0;

    if (json_is_array(v))
        json_array_foreach(v, i, m) n += every_local_in_new_york(m, where);
    if (!json_is_object(v))
        return n;
    json_object_foreach((json_t *)v, key, m) {
        size_t len = strlen(key);
        if (len > 6 && !strcmp(key + len - 6, "_local") && json_is_string(m)) {
            const char *s = json_string_value(m);
            ck_assert_msg(strlen(s) > 17 && !strcmp(s + strlen(s) - 17, " America/New_York"),
                          "%s: %s is \"%s\", not in the brief's zone", where, key, s);
            n++;
        }
        n += every_local_in_new_york(m, where);
    }
    return n;
}

/*
 * Every instant is in the brief's zone, the refresh records' too: a run's
 * brief comes from the ledger, and its records were once rendered before its
 * zone was loaded ("... UTC").
 */
START_TEST(every_instant_is_in_the_briefs_zone)
{
    bf_run *run = finished_run();
    json_t *j = report_json(run, BF_REPORT_AFTER);
    const json_t *r = json_array_get(json_object_get(j, "refresh"), 0);
    const json_t *a = json_object_get(j, "approval");
    char want[96], row[256];
    char *md;

    ck_assert_ptr_nonnull(r);
    new_york_text(want, sizeof want, (int64_t)json_integer_value(json_object_get(r, "at_us")));
    ck_assert_str_eq(json_string_value(json_object_get(r, "at_local")), want);
    new_york_text(want, sizeof want, (int64_t)json_integer_value(json_object_get(a, "at_us")));
    ck_assert_str_eq(json_string_value(json_object_get(a, "at_local")), want);
    /* run created, started, finished, last recorded; run-level validation; approval; cutover; refresh */
    ck_assert_int_ge(every_local_in_new_york(j, "after"), 8);
    json_decref(j);
    j = report_json(run, BF_REPORT_DURING);
    every_local_in_new_york(j, "during");
    json_decref(j);
    /* The Markdown shows the refresh's instant in the zone too, and so does the approval's evidence. */
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    j = report_json(run, BF_REPORT_AFTER);
    r = json_array_get(json_object_get(j, "refresh"), 0);
    snprintf(row, sizeof row, "| 1 | mart_monthly_revenue | ok | %s (%s) |",
             json_string_value(json_object_get(r, "at_iso")),
             json_string_value(json_object_get(r, "at_local")));
    HAS(md, row);
    LACKS(md, " UTC)");
    a = json_object_get(j, "approval");
    snprintf(row, sizeof row, "approved by raj@example.com at %s (%s), before the cutover",
             json_string_value(json_object_get(a, "at_iso")),
             json_string_value(json_object_get(a, "at_local")));
    ck_assert_str_eq(item_evidence(j, "approval"), row);
    json_decref(j);
    bf_free(md);
    bf_run_free(run);
}
END_TEST

/* The brief with a second downstream table, audit_asset, refreshed after mart_monthly_revenue. */
static char *brief_with_audit(void)
{
    json_t *b = json_loads(brief_text, 0, NULL);
    char *text;

    ck_assert_ptr_nonnull(b);
    json_array_append_new(json_object_get(b, "downstream"),
                          json_pack("{s:s, s:s, s:[s], s:s, s:s}", "name", "audit_asset", "kind", "table",
                                    "depends_on", "fct_orders", "owner", "audit", "refresh_sql",
                                    "INSERT INTO audit_log VALUES (1)"));
    text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    return text;
}

#define REFRESH_MART_OK "{\"asset\":\"mart_monthly_revenue\",\"order\":1,\"status\":\"ok\",\"error\":null}"
#define REFRESH_AUDIT_FAILED "{\"asset\":\"audit_asset\",\"order\":2,\"status\":\"failed\"," \
                             "\"error\":\"sqlite: no such table: audit_log\"}"
#define REFRESH_AUDIT_OK "{\"asset\":\"audit_asset\",\"order\":2,\"status\":\"ok\",\"error\":null}"

/*
 * A refresh that failed, then succeeded when the run was approved again: only
 * an asset's latest record counts, in the status, the checklist and the JSON.
 */
START_TEST(a_redone_refresh_counts_by_its_latest_record)
{
    char *text = brief_with_audit(), *md;
    static const char *const records[] = {REFRESH_MART_OK, REFRESH_AUDIT_FAILED, REFRESH_AUDIT_OK, NULL};
    bf_run *run = refreshed_run(text, records);
    json_t *j = report_json(run, BF_REPORT_AFTER), *r = json_object_get(j, "refresh");

    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "completed: approved, cut over and refreshed");
    ck_assert(item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"), "2 of 2 refreshed");
    /* The history stays, each record saying whether it is its asset's latest. */
    ck_assert_int_eq(json_array_size(r), 3);
    ck_assert(json_is_true(json_object_get(json_array_get(r, 0), "latest")));
    ck_assert(json_is_false(json_object_get(json_array_get(r, 1), "latest")));
    ck_assert(json_is_true(json_object_get(json_array_get(r, 2), "latest")));
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "> **Status:** completed: approved, cut over and refreshed\n");
    HAS(md, "| 2 | audit_asset | failed (superseded) | ");
    HAS(md, "| 2 | audit_asset | ok | ");
    HAS(md, "- [x] Downstream refreshed in order: 2 of 2 refreshed\n");
    LACKS(md, "downstream refresh failed");
    bf_free(md);
    bf_run_free(run);
    free(text);
}
END_TEST

/*
 * A downstream view with no refresh_sql (always current) is not waited for:
 * approval refreshes only assets with one, and the checklist counts those,
 * naming the others.
 */
START_TEST(assets_without_refresh_sql_do_not_hold_the_refresh_item)
{
    json_t *b = json_loads(brief_text, 0, NULL), *j;
    static const char *const records[] = {REFRESH_MART_OK, NULL};
    char *text, *md;
    bf_run *run;

    ck_assert_ptr_nonnull(b);
    json_array_append_new(json_object_get(b, "downstream"),
                          json_pack("{s:s, s:s, s:[s], s:s}", "name", "v_revenue", "kind", "view",
                                    "depends_on", "fct_orders", "owner", "finance"));
    text = json_dumps(b, JSON_COMPACT);
    json_decref(b);
    run = refreshed_run(text, records);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert(item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"),
                     "1 of 1 refreshed; 1 without a refresh_sql, current on their own");
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "- [x] Downstream refreshed in order: 1 of 1 refreshed; 1 without a refresh_sql");
    bf_free(md);
    bf_run_free(run);
    free(text);
}
END_TEST

/* The other way round: an asset whose latest refresh failed is a failure, whatever came before. */
START_TEST(a_latest_failed_refresh_still_fails)
{
    char *text = brief_with_audit(), *md;
    static const char *const records[] = {REFRESH_MART_OK, REFRESH_AUDIT_OK, REFRESH_AUDIT_FAILED, NULL};
    bf_run *run = refreshed_run(text, records);
    json_t *j = report_json(run, BF_REPORT_AFTER);

    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "completed, but 1 downstream refresh failed");
    ck_assert(!item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"), "1 of 2 refreshed");
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "| 2 | audit_asset | ok (superseded) | ");
    HAS(md, "- [ ] Downstream refreshed in order: **not done**: 1 of 2 refreshed\n");
    bf_free(md);
    bf_run_free(run);
    free(text);
}
END_TEST

/* The id of the run's first batch that is `state`. */
static int64_t first_batch(bf_run *run, bf_batch_state state)
{
    bf_batch_list *bl = NULL;
    int64_t id = 0;

    ck_assert_int_eq(bf_run_batches(&bl, run, (int)state), BF_OK);
    ck_assert_uint_gt(bf_batch_list_count(bl), 0);
    id = bf_batch_list_id(bl, 0);
    bf_batch_list_free(bl);
    return id;
}

/*
 * A batch rolled back after approval: the totals count the batches still in effect, the
 * status and the checklist say the marts were refreshed before it, until a refresh after it.
 */
START_TEST(a_batch_rolled_back_after_approval_leaves_the_totals_and_the_refresh)
{
    bf_run *run = finished_run();
    int64_t id = first_batch(run, BF_BATCH_VALIDATED);
    json_t *j, *t;
    char rec[128], *md;
    double before, after;

    ck_assert_int_eq(bf_run_mark_batch(run, id, BF_BATCH_ROLLED_BACK, "restored"), BF_OK);
    snprintf(rec, sizeof rec, "{\"batches\":[%lld],\"proven\":true}", (long long)id);
    ck_assert_int_eq(bf_run_record(run, id, "rollback", rec), BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "completed, then 1 batch rolled back: the target keeps the other batches' "
                     "rows; downstream not refreshed since the rollback (rolling back again "
                     "refreshes it)");
    ck_assert(!item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"), "0 of 1 refreshed since the rollback");
    /* Each batch's metric moved 1000 -> 950: the total holds the batches still in effect. */
    t = json_array_get(json_object_get(j, "metric_totals"), 0);
    before = json_number_value(json_object_get(t, "before"));
    after = json_number_value(json_object_get(t, "after"));
    ck_assert_int_eq(json_integer_value(json_object_get(t, "rolled_back")), 1);
    ck_assert_int_gt(json_integer_value(json_object_get(t, "batches")), 0);
    ck_assert(before == 1000.0 * (double)json_integer_value(json_object_get(t, "batches")));
    ck_assert(after == 950.0 * (double)json_integer_value(json_object_get(t, "batches")));
    json_decref(j);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "in effect (1 rolled back since, not counted): ");
    HAS(md, " (rolled back since) | net revenue | 1000 | 950 | -50 |");
    /* Its rows were written all the same, and undone; its write pattern and key still count. */
    HAS(md, " deleted (of which 1000 written and 10 deleted by batches rolled back since, whose "
            "rows are as before)\n");
    HAS(md, "- [x] Safe idempotent write pattern: ");
    bf_free(md);
    /* The refresh the rollback makes afterwards settles it. */
    ck_assert_int_eq(bf_run_record(run, 0, "refresh", REFRESH_MART_OK), BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "completed, then 1 batch rolled back: the target keeps the other batches' "
                     "rows; downstream refreshed again after the rollback");
    ck_assert(item_done(j, "refresh"));
    ck_assert_str_eq(item_evidence(j, "refresh"), "1 of 1 refreshed since the rollback");
    json_decref(j);
    bf_run_free(run);
}
END_TEST

/* A batch's metric check as the validator records it: the reals as %.17g writes them. */
static void record_metric(bf_run *run, int64_t id, const char *label, double before, double after)
{
    char json[2048];
    int64_t tally[5] = {1, 0, 0, 0, 0};
    double delta = after - before;

    snprintf(json, sizeof json,
             "{\"batch\": \"%s\", \"status\": \"pass\", \"counts\": {\"pass\": 1, \"warn\": 0, "
             "\"fail\": 0, \"error\": 0, \"skipped\": 0}, \"checks\": ["
             "{\"check\": \"metric\", \"name\": \"net revenue\", \"severity\": \"error\", "
             "\"outcome\": \"pass\", \"observed\": \"\", \"expected\": \"\", \"message\": \"moved\", "
             "\"samples\": [], \"before\": %.17g, \"after\": %.17g, \"delta\": %.17g, "
             "\"explained\": {\"added\": 0.0, \"removed\": 0.0, \"changed\": %.17g}}]}",
             label, before, after, delta, delta);
    ck_assert_int_eq(bf_run_record_validation(run, id, json, tally, NULL, BF_VALIDATION_SETTLE),
                     BF_OK);
}

/*
 * Revenues in cents, as a warehouse holds them, are decimals no double holds exactly: adding
 * 21 batches' doubles gave 17308287.820000004 and a delta of -802347.3499999972. The totals
 * are the decimals the batches add up to, in JSON as in Markdown, and the explained delta is
 * summed over the batches in effect like the delta itself, to the same number.
 */
/* Complete the leased batch (1000 rows written); its id. */
static int64_t complete_leased(bf_run *run, bf_lease *lease)
{
    bf_batch_result r = BF_BATCH_RESULT_INIT;
    int64_t id = bf_lease_batch_id(lease);

    r.rows_written = 1000;
    r.fingerprint_before = "10:0123456789abcdef0123456789abcdef";
    r.fingerprint_after = "10:fedcba9876543210fedcba9876543210";
    r.duration_s = 1.0;
    r.idempotency_key = "k";
    ck_assert_int_eq(bf_run_complete(run, id, bf_lease_token(lease), &r), BF_OK);
    return id;
}

START_TEST(metric_totals_are_the_decimals_the_batches_add_up_to)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    bf_lease *lease;
    int64_t before_cents = 0, after_cents = 0, n = 0, undone = 0;
    json_t *j;
    const json_t *t, *x;
    char *md, line[512], d[64];

    while (bf_run_claim(&lease, run) == BF_OK && lease) {
        int64_t id = complete_leased(run, lease);
        /* 880,000.00 to 880,999.99 before, about 39,000 less after: all to the cent. */
        int64_t b = 88000000 + (n * 7919 + 4507) % 100000;
        int64_t a = b - 3880000 - (n * 104729 + 31) % 30000;

        record_metric(run, id, bf_lease_label(lease), (double)b / 100, (double)a / 100);
        if (n == 1) {
            undone = id;
        } else {
            before_cents += b;
            after_cents += a;
        }
        bf_lease_free(lease);
        n++;
    }
    ck_assert_int_eq(n, 22);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_VALIDATING, NULL), BF_OK);
    pass_run_level(run);
    ck_assert_int_eq(bf_run_set_state(run, BF_RUN_AWAITING_APPROVAL, NULL), BF_OK);
    ck_assert_int_eq(bf_run_mark_batch(run, undone, BF_BATCH_ROLLED_BACK, "restored"), BF_OK);
    j = report_json(run, BF_REPORT_AFTER);
    t = json_array_get(json_object_get(j, "metric_totals"), 0);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "batches")), 21);
    ck_assert_int_eq(json_integer_value(json_object_get(t, "rolled_back")), 1);
    ck_assert_msg(json_real_value(json_object_get(t, "before")) == (double)before_cents / 100,
                  "before %.17g, want %.17g", json_real_value(json_object_get(t, "before")),
                  (double)before_cents / 100);
    ck_assert_msg(json_real_value(json_object_get(t, "after")) == (double)after_cents / 100,
                  "after %.17g, want %.17g", json_real_value(json_object_get(t, "after")),
                  (double)after_cents / 100);
    ck_assert_msg(json_real_value(json_object_get(t, "delta")) ==
                      (double)(after_cents - before_cents) / 100,
                  "delta %.17g, want %.17g", json_real_value(json_object_get(t, "delta")),
                  (double)(after_cents - before_cents) / 100);
    x = json_object_get(t, "explained");
    ck_assert_msg(json_is_object(x), "the total has no explanation");
    ck_assert(json_real_value(json_object_get(x, "changed")) ==
              json_real_value(json_object_get(t, "delta")));
    ck_assert(json_real_value(json_object_get(x, "added")) == 0);
    /* The Markdown says the same. */
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    snprintf(d, sizeof d, "%.10g", (double)(after_cents - before_cents) / 100);
    snprintf(line, sizeof line,
             "- **net revenue**, summed over 21 batches in effect (1 rolled back since, not "
             "counted): %.10g before, %.10g after (%s, ",
             (double)before_cents / 100, (double)after_cents / 100, d);
    HAS(md, line);
    snprintf(line, sizeof line, "%%): added rows 0, removed rows 0, changed rows %s\n", d);
    HAS(md, line);
    bf_free(md);
    json_decref(j);
    bf_run_free(run);
}
END_TEST

static int64_t sweep_run_id;

static int sweep_op(void *arg)
{
    char *out = NULL;
    int rc = bf_report_run(&out, ledger, sweep_run_id, *(bf_report_stage *)arg, BF_REPORT_MARKDOWN);

    if (rc == BF_OK) {
        ck_assert_ptr_nonnull(strstr(out, "refund-join-fix-2025h1"));
        bf_free(out);
    } else {
        ck_assert_ptr_null(out);
    }
    return rc;
}

static int sweep_json_op(void *arg)
{
    char *out = NULL;
    int rc = bf_report_run(&out, ledger, sweep_run_id, *(bf_report_stage *)arg, BF_REPORT_JSON);

    bf_free(out);
    return rc;
}

START_TEST(report_survives_allocation_failures)
{
    bf_run *run = finished_run();
    bf_report_stage after = BF_REPORT_AFTER, during = BF_REPORT_DURING;

    sweep_run_id = bf_run_id(run);
    ck_assert_int_gt(failalloc_sweep(sweep_op, NULL, &after), 20);
    ck_assert_int_gt(failalloc_sweep(sweep_op, NULL, &during), 20);
    ck_assert_int_gt(failalloc_sweep(sweep_json_op, NULL, &after), 20);
    bf_run_free(run);
}
END_TEST

/* Approved, its refresh stopped at a failure: not "under way", and approving again goes on. */
START_TEST(an_approval_stopped_by_a_failed_refresh_says_so)
{
    char *text = brief_with_audit();
    static const char *const records[] = {REFRESH_MART_OK, REFRESH_AUDIT_FAILED, NULL};
    bf_run *run = approved_run(text, records, 0);
    json_t *j = report_json(run, BF_REPORT_AFTER);

    ck_assert_str_eq(json_string_value(json_object_get(j, "status")),
                     "approved, but 1 downstream refresh failed; not finished (approving again "
                     "retries the refresh from there)");
    ck_assert(!item_done(j, "refresh"));
    json_decref(j);
    bf_run_free(run);
    free(text);
}
END_TEST

/* Large values keep their cents in Markdown: 12345678901.23, not 1.23456789e+10. */
START_TEST(large_metric_values_keep_their_cents)
{
    bf_run *run = start("refund-join-fix-2025h1", brief_text);
    bf_lease *lease;
    int64_t n = 0;
    char *md;

    while (bf_run_claim(&lease, run) == BF_OK && lease) {
        int64_t id = complete_leased(run, lease);

        record_metric(run, id, bf_lease_label(lease), 12345678901.23, 12345678801.21);
        bf_lease_free(lease);
        n++;
    }
    ck_assert_int_eq(n, 22);
    md = report(run, BF_REPORT_AFTER, BF_REPORT_MARKDOWN);
    HAS(md, "| net revenue | 12345678901.23 | 12345678801.21 | -100.02 |");
    /* 22 times each, to the cent. */
    HAS(md, "summed over 22 batches: 271604935827.06 before, 271604933626.62 after (-2200.44, ");
    bf_free(md);
    bf_run_free(run);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("report");

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, names_of_stages_and_formats);
    tcase_add_test(tc, announcement_from_a_brief_alone);
    tcase_add_test(tc, change_note_of_a_finished_run);
    tcase_add_test(tc, test_slice_run_is_found);
    tcase_add_test(tc, notice_of_a_running_run);
    tcase_add_test(tc, awaiting_approval_is_not_cut_over);
    tcase_add_test(tc, failed_validation_pauses_and_is_reported);
    tcase_add_test(tc, same_operator_and_reviewer_is_not_done);
    tcase_add_test(tc, unknown_run_is_named);
    tcase_add_test(tc, run_with_a_bare_brief);
    tcase_add_test(tc, every_instant_is_in_the_briefs_zone);
    tcase_add_test(tc, a_redone_refresh_counts_by_its_latest_record);
    tcase_add_test(tc, assets_without_refresh_sql_do_not_hold_the_refresh_item);
    tcase_add_test(tc, a_latest_failed_refresh_still_fails);
    tcase_add_test(tc, a_batch_rolled_back_after_approval_leaves_the_totals_and_the_refresh);
    tcase_add_test(tc, metric_totals_are_the_decimals_the_batches_add_up_to);
    tcase_add_test(tc, large_metric_values_keep_their_cents);
    tcase_add_test(tc, an_approval_stopped_by_a_failed_refresh_says_so);
    tcase_add_test(tc, report_survives_allocation_failures);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
