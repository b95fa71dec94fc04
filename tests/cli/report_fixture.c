/*
 * Builds a run in a ledger the way the runner records one, for the report
 * scenario (backfill run does not exist yet): the brief file planned without
 * a warehouse, its batches claimed and completed with results, each batch's
 * validation recorded (with a metric check's before and after), then, by
 * MODE:
 *   running  three batches done, the rest pending
 *   failed   three batches done, the third failing its validation (the run pauses)
 *   done     every batch, the run-level checks, a test-slice record, approval,
 *            cutover, the refresh of every asset in order, and the run finished
 *   redone   as done, but each asset's refresh first failed and was redone ok
 *            (the run approved again after the failure was fixed)
 * usage: report_fixture LEDGER BRIEF MODE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"

static int fail(const char *what)
{
    fprintf(stderr, "report_fixture: %s: %s\n", what, bf_last_error());
    return 1;
}

static int64_t clock_now = 1767225600LL * 1000000; /* 2026-01-01T00:00:00Z */

static int64_t fake_clock(void *userdata)
{
    (void)userdata;
    clock_now += 60 * 1000000LL; /* a minute per reading */
    return clock_now;
}

static int validation(bf_run *run, int64_t id, const char *label, int pass)
{
    char json[2048];
    int64_t tally[5] = {pass ? 1 : 0, 0, pass ? 0 : 1, 0, 0};

    snprintf(json, sizeof json,
             "{\"batch\": \"%s\", \"status\": \"%s\", \"counts\": {}, \"checks\": ["
             "{\"check\": \"metric\", \"name\": \"net revenue\", \"severity\": \"error\", "
             "\"outcome\": \"%s\", \"observed\": \"\", \"expected\": \"\", \"message\": \"%s\", "
             "\"samples\": [], \"before\": 1000.5, \"after\": %s, \"delta\": %s, "
             "\"contributions\": \"see diff\"}]}",
             label, pass ? "pass" : "fail", pass ? "pass" : "fail",
             pass ? "net revenue moved by -2%" : "net revenue moved by -60%, outside the expected bounds",
             pass ? "980.49" : "400.2", pass ? "-20.01" : "-600.3");
    if (bf_run_record_validation(run, id, json, tally, pass ? NULL : "net revenue moved by -60%",
                                 BF_VALIDATION_SETTLE) != BF_OK)
        return fail("record validation");
    return 0;
}

int main(int argc, char **argv)
{
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    bf_run_spec spec = BF_RUN_SPEC_INIT;
    bf_ledger *ledger;
    bf_brief *brief;
    bf_planner *planner;
    bf_plan *plan;
    bf_run *run;
    bf_lease *lease;
    bf_lineage *lineage;
    char *brief_json;
    int n = 0, limit, redone;
    const char *mode;

    if (argc != 4)
        return fprintf(stderr, "usage: report_fixture LEDGER BRIEF MODE\n"), 2;
    mode = argv[3];
    redone = strcmp(mode, "redone") == 0;
    limit = strcmp(mode, "done") == 0 || redone ? -1 : 3;
    lo.clock = fake_clock;
    lo.actor = "ana@example.com";
    if (bf_brief_load_file(&brief, argv[2]) != BF_OK || bf_brief_save_json(&brief_json, brief) != BF_OK)
        return fail("brief");
    if (bf_planner_new_from_brief(&planner, brief) != BF_OK || bf_planner_plan(&plan, planner) != BF_OK)
        return fail("plan");
    if (bf_ledger_open(&ledger, argv[1], &lo) != BF_OK)
        return fail("ledger");
    spec.brief_name = bf_brief_name(brief);
    spec.brief_json = brief_json;
    spec.operator_name = "ana@example.com";
    spec.max_concurrency = 2;
    if (bf_run_start(&run, ledger, &spec, plan) != BF_OK)
        return fail("start");
    while (limit != 0 && bf_run_claim(&lease, run) == BF_OK && lease) {
        bf_batch_result r = BF_BATCH_RESULT_INIT;
        char key[64];
        int64_t id = bf_lease_batch_id(lease);

        snprintf(key, sizeof key, "idem-%lld", (long long)id);
        r.rows_written = 700;
        r.rows_deleted = 3;
        r.fingerprint_before = "10:00000000000000000000000000000001";
        r.fingerprint_after = "10:00000000000000000000000000000002";
        r.duration_s = 30;
        r.idempotency_key = key;
        if (bf_run_complete(run, id, bf_lease_token(lease), &r) != BF_OK)
            return fail("complete");
        limit--;
        n++;
        if (validation(run, id, bf_lease_label(lease), !(strcmp(mode, "failed") == 0 && limit == 0)))
            return 1;
        bf_lease_free(lease);
    }
    if (strcmp(mode, "done") == 0 || redone) {
        if (bf_run_record(run, 0, "slice", "{\"batches\":2,\"estimate_s\":600,\"estimate_rows\":180000}") != BF_OK ||
            bf_run_set_state(run, BF_RUN_VALIDATING, NULL) != BF_OK ||
            bf_run_record_validation(run, 0, "{\"batch\": null, \"status\": \"pass\", \"checks\": []}",
                                     (const int64_t[5]){4, 0, 0, 0, 0}, NULL, 0) != BF_OK ||
            bf_run_set_state(run, BF_RUN_AWAITING_APPROVAL, NULL) != BF_OK ||
            bf_run_record(run, 0, "approval",
                          "{\"reviewer\":\"raj@example.com\",\"operator\":\"ana@example.com\"}") != BF_OK ||
            bf_run_set_state(run, BF_RUN_APPROVED, "approved by raj@example.com") != BF_OK ||
            bf_run_record(run, 0, "cutover", "{\"strategy\":\"partition_overwrite\",\"table\":\"fct_orders\"}") != BF_OK)
            return fail("approval");
        if (bf_lineage_new(&lineage, brief) != BF_OK)
            return fail("lineage");
        for (size_t i = 0; i < bf_lineage_refresh_count(lineage); i++) {
            char detail[512];
            if (redone) {
                snprintf(detail, sizeof detail,
                         "{\"asset\":\"%s\",\"order\":%zu,\"status\":\"failed\","
                         "\"error\":\"sqlite: no such table: audit_log\",\"duration_s\":0.1}",
                         bf_lineage_refresh(lineage, i), i + 1);
                if (bf_run_record(run, 0, "refresh", detail) != BF_OK)
                    return fail("refresh");
            }
            snprintf(detail, sizeof detail,
                     "{\"asset\":\"%s\",\"order\":%zu,\"status\":\"ok\",\"error\":null,\"duration_s\":0.5}",
                     bf_lineage_refresh(lineage, i), i + 1);
            if (bf_run_record(run, 0, "refresh", detail) != BF_OK)
                return fail("refresh");
        }
        bf_lineage_free(lineage);
        if (bf_run_finish(run, "done") != BF_OK)
            return fail("finish");
    }
    printf("%lld\n", (long long)bf_run_id(run));
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_free(brief_json);
    bf_brief_free(brief);
    return 0;
}
