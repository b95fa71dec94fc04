#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "workload.h"

#define TRY(call)                                                                              \
    do {                                                                                       \
        int rc_ = (call);                                                                      \
        if (rc_ != BF_OK) {                                                                    \
            fprintf(stderr, "workload: %s: %s (%s)\n", #call, bf_errstr(rc_), bf_last_error()); \
            rc = rc_;                                                                          \
            goto done;                                                                         \
        }                                                                                      \
    } while (0)

static workload_returned_fn on_returned;

/* Hand a returned block to the observer, then free it as the headers say. */
static void give_back(const char *what, void *ptr)
{
    if (on_returned)
        on_returned(what, ptr);
    bf_free(ptr);
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *text = NULL;
    long n;

    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0 &&
        (text = malloc((size_t)n + 1)) != NULL) {
        if (fread(text, 1, (size_t)n, f) != (size_t)n) {
            free(text);
            text = NULL;
        } else {
            text[n] = '\0';
        }
    }
    fclose(f);
    return text;
}

/* The example warehouse's tables, with `orders` orders over 2024-12-15 .. 2025-06-15 UTC. */
static int build_warehouse(bf_driver *d, int orders)
{
    char sql[2048];

    snprintf(sql, sizeof sql,
             "CREATE TABLE dim_customers (customer_id INTEGER PRIMARY KEY, name TEXT, region TEXT);"
             "CREATE TABLE raw_orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,"
             " order_ts INTEGER NOT NULL, gross REAL NOT NULL);"
             "CREATE TABLE raw_refunds (refund_id INTEGER PRIMARY KEY, order_id INTEGER NOT NULL,"
             " amount REAL NOT NULL);"
             "CREATE TABLE fct_orders (order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL,"
             " order_ts INTEGER NOT NULL, gross REAL NOT NULL, refund_amount REAL NOT NULL,"
             " net_revenue REAL NOT NULL);"
             "CREATE INDEX fct_orders_ts ON fct_orders (order_ts);"
             "CREATE TABLE mart_monthly_revenue (month TEXT PRIMARY KEY, net_revenue REAL);"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100)"
             " INSERT INTO dim_customers SELECT i, 'customer ' || i, 'region ' || (i %% 4) FROM n;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < %d)"
             " INSERT INTO raw_orders SELECT i, 1 + i %% 100, 1734220800 + i * (15811200 / %d),"
             " 10 + (i * 37 %% 900) / 10.0 FROM n;"
             "INSERT INTO raw_refunds SELECT order_id, order_id, gross / 4 FROM raw_orders"
             " WHERE order_id %% 7 = 0;"
             "INSERT INTO fct_orders SELECT order_id, customer_id, order_ts, gross, 0, gross"
             " FROM raw_orders;",
             orders, orders);
    return bf_driver_execute(d, sql);
}

int workload_run(const char *dir, const char *brief_path, int orders, workload_returned_fn returned)
{
    char path[1024], fptext[BF_FINGERPRINT_TEXT_SIZE], fptext2[BF_FINGERPRINT_TEXT_SIZE];
    char *brief_text = NULL, *text = NULL;
    bf_brief *brief = NULL;
    bf_findings *findings = NULL;
    bf_lineage *lineage = NULL;
    bf_planner *planner = NULL;
    bf_plan *plan = NULL, *again = NULL;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    bf_lease *lease = NULL;
    bf_driver *driver = NULL;
    bf_table_info *info = NULL;
    bf_rows *rows = NULL;
    bf_profile *profile = NULL;
    int64_t *bounds = NULL;
    size_t nbounds;
    int rc = BF_OK;

    on_returned = returned;
    brief_text = read_file(brief_path);
    if (!brief_text) {
        fprintf(stderr, "workload: cannot read %s\n", brief_path);
        return BF_E_IO;
    }

    /* The brief: load, check, render, save, each check as JSON, lineage. */
    TRY(bf_brief_load_json(&brief, brief_text, strlen(brief_text)));
    TRY(bf_brief_check(&findings, brief));
    TRY(bf_brief_render_markdown(&text, brief));
    give_back("bf_brief_render_markdown", text);
    TRY(bf_brief_save_json(&text, brief));
    give_back("bf_brief_save_json", text);
    for (size_t i = 0; i < bf_brief_check_count(brief); i++) {
        TRY(bf_brief_check_json(&text, brief, i));
        give_back("bf_brief_check_json", text);
    }
    TRY(bf_lineage_new(&lineage, brief));

    /* The plan: from the brief, to JSON and back. */
    TRY(bf_planner_new_from_brief(&planner, brief));
    TRY(bf_planner_plan(&plan, planner));
    TRY(bf_plan_verify(plan, planner));
    TRY(bf_plan_to_json(&text, plan));
    TRY(bf_plan_from_json(&again, text));
    give_back("bf_plan_to_json", text);

    /* The warehouse. */
    snprintf(path, sizeof path, "%s/warehouse.db", dir);
    TRY(bf_driver_open_sqlite(&driver, path, BF_SQLITE_CREATE));
    TRY(build_warehouse(driver, orders));
    TRY(bf_driver_describe(&info, driver, "fct_orders"));
    TRY(bf_driver_key_boundaries(&bounds, &nbounds, driver, "fct_orders", "order_id", 1,
                                 (int64_t)orders + 1, 1000));
    give_back("bf_driver_key_boundaries", bounds);
    TRY(bf_driver_partitions(&rows, driver, "fct_orders", "customer_id"));
    bf_rows_free(rows);
    rows = NULL;

    /* The ledger and the run: every batch staged, published and completed. */
    snprintf(path, sizeof path, "%s/ledger.db", dir);
    {
        bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
        bf_run_spec spec = BF_RUN_SPEC_INIT;
        bf_write_spec write = BF_WRITE_SPEC_INIT;
        const char *key[] = {"order_id"};
        const char *columns[] = {"refund_amount", "net_revenue"};
        bf_profile_spec pspec = BF_PROFILE_SPEC_INIT;

        opts.durability = BF_DURABILITY_NORMAL;
        opts.actor = "workload";
        TRY(bf_ledger_open(&ledger, path, &opts));
        spec.brief_name = bf_brief_name(brief);
        spec.brief_json = brief_text;
        spec.max_concurrency = 2;
        TRY(bf_run_start(&run, ledger, &spec, plan));

        write.table = "fct_orders";
        write.key = key;
        write.key_count = 1;
        write.columns = columns;
        write.column_count = 2;
        write.select = bf_brief_job_select(brief);
        write.strategy = BF_WRITE_PARTITION_OVERWRITE;
        write.snapshot = 1;
        pspec.sum_columns = columns;
        pspec.sum_count = 2;
        pspec.fingerprint = 1;

        while ((rc = bf_run_claim(&lease, run)) == BF_OK && lease) {
            const bf_batch *batch = bf_plan_batch(plan, (size_t)bf_lease_ordinal(lease));
            bf_batch_result result = BF_BATCH_RESULT_INIT;
            bf_publish_result published = BF_PUBLISH_RESULT_INIT;
            bf_fingerprint before, after;
            int64_t staged;

            TRY(bf_driver_fingerprint(&before, driver, "fct_orders", NULL, 0, plan, batch));
            TRY(bf_driver_stage(&staged, driver, &write, plan, batch, bf_run_id(run)));
            TRY(bf_driver_publish(&published, driver, &write, plan, batch, bf_run_id(run),
                                  bf_lease_token(lease)));
            TRY(bf_driver_fingerprint(&after, driver, "fct_orders", NULL, 0, plan, batch));
            TRY(bf_driver_profile(&profile, driver, "fct_orders", &pspec, plan, batch));
            bf_profile_free(profile);
            profile = NULL;
            TRY(bf_driver_drop_staging(driver, &write, plan, batch, bf_run_id(run)));
            TRY(bf_fingerprint_format(fptext, sizeof fptext, &before));
            TRY(bf_fingerprint_format(fptext2, sizeof fptext2, &after));
            result.rows_written = published.written;
            result.fingerprint_before = fptext;
            result.fingerprint_after = fptext2;
            TRY(bf_run_complete(run, bf_lease_batch_id(lease), bf_lease_token(lease), &result));
            bf_lease_free(lease);
            lease = NULL;
        }
        TRY(rc);
        TRY(bf_driver_fetch(&rows, driver, "fct_orders", NULL, 0, "order_id", NULL, NULL, 50));
    }
    TRY(bf_ledger_runs_json(&text, ledger));
    give_back("bf_ledger_runs_json", text);
    TRY(bf_run_batches_json(&text, run, -1));
    give_back("bf_run_batches_json", text);
    TRY(bf_run_events_json(&text, run));
    give_back("bf_run_events_json", text);

done:
    bf_rows_free(rows);
    bf_profile_free(profile);
    bf_table_info_free(info);
    bf_lease_free(lease);
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_driver_free(driver);
    bf_plan_free(again);
    bf_plan_free(plan);
    bf_planner_free(planner);
    bf_lineage_free(lineage);
    bf_findings_free(findings);
    bf_brief_free(brief);
    free(brief_text);
    return rc;
}
