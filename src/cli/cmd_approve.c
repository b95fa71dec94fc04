/*
 * backfill approve RUN --reviewer NAME --ledger FILE --warehouse DB
 * backfill rollback RUN [--batch ID] --ledger FILE --warehouse DB
 * backfill cleanup RUN --ledger FILE --warehouse DB
 *
 * The runbook's last steps through bf_runner: the reviewer's approval with
 * the cutover and the downstream refresh; the rollback of one batch or the
 * whole run; dropping what a settled run left once its retention is over.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

struct settle_args {
    const char *ledger_path, *warehouse_path, *run_ref;
    int64_t run_id;
};

/* RUN --ledger FILE --warehouse DB: the run's id from the existing ledger. */
static int settle_args(struct settle_args *a, int argc, char **argv)
{
    bf_ledger *ledger = NULL;
    int status, rc;

    memset(a, 0, sizeof *a);
    a->ledger_path = cli_opt("ledger");
    a->warehouse_path = cli_opt("warehouse");
    for (int i = 1; i < argc; i++) {
        if (a->run_ref)
            return cli_fail(EXIT_USAGE, "%s: unexpected argument '%s'", argv[0], argv[i]);
        a->run_ref = argv[i];
    }
    if (!a->run_ref)
        return cli_fail(EXIT_USAGE, "%s: which run? (a run id or a brief name)", argv[0]);
    if (!a->ledger_path)
        return cli_fail(EXIT_USAGE, "%s: --ledger FILE is required", argv[0]);
    if (!a->warehouse_path)
        return cli_fail(EXIT_USAGE, "%s: --warehouse DB is required", argv[0]);
    if (access(a->warehouse_path, F_OK) != 0)
        return cli_fail(EXIT_USAGE, "%s: --warehouse %s: no such file", argv[0],
                        a->warehouse_path);
    if ((status = cli_ledger_open(&ledger, a->ledger_path)) != EXIT_DONE)
        return status;
    rc = bf_ledger_find_run(&a->run_id, ledger, a->run_ref);
    bf_ledger_close(ledger);
    return rc == BF_OK ? EXIT_DONE : cli_fail_bf(rc, argv[0]);
}

static int open_runner(bf_runner **out, const struct settle_args *a, bf_run_event_fn on_event,
                       void *userdata, const char *command)
{
    bf_runner_options opts = BF_RUNNER_OPTIONS_INIT;
    bf_ledger_options lo = BF_LEDGER_OPTIONS_INIT;
    int rc;

    lo.flags = BF_LEDGER_MUST_EXIST;
    opts.ledger_path = a->ledger_path;
    opts.ledger_options = &lo;
    opts.warehouse_path = a->warehouse_path;
    opts.on_event = on_event;
    opts.event_userdata = userdata;
    rc = bf_runner_new(out, &opts);
    return rc == BF_OK ? EXIT_DONE : cli_fail_bf(rc, command);
}

/* ---- approve ---- */

struct approve_ui {
    json_t *events; /* the events, for --json */
};

static void approve_event(void *userdata, const bf_run_event *ev)
{
    struct approve_ui *ui = userdata;

    if (ev->kind == BF_RUN_EVENT_PROGRESS)
        return;
    if (cli_json) {
        json_array_append_new(ui->events, cli_embedded_json(ev->json));
        return;
    }
    printf("%s%s%s\n", bf_run_event_name(ev->kind), ev->message ? ": " : "",
           ev->message ? ev->message : "");
}

/* The run's state now, read from the ledger ("" when it cannot be read). */
static const char *run_state(int64_t run_id, const char *ledger_path)
{
    static char name[32];
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;

    name[0] = '\0';
    if (bf_ledger_open(&ledger, ledger_path, NULL) == BF_OK &&
        bf_run_open(&run, ledger, run_id) == BF_OK)
        snprintf(name, sizeof name, "%s", bf_run_state_name(bf_run_current_state(run)));
    bf_run_free(run);
    bf_ledger_close(ledger);
    return name;
}

int cmd_approve(int argc, char **argv)
{
    struct settle_args a;
    struct approve_ui ui = {NULL};
    const char *reviewer = cli_opt("reviewer");
    bf_runner *r = NULL;
    int status, rc;

    if ((status = settle_args(&a, argc, argv)) != EXIT_DONE)
        return status;
    if (!reviewer || !reviewer[0])
        return cli_fail(EXIT_USAGE, "approve: --reviewer NAME is required (who approves)");
    ui.events = json_array();
    if (!ui.events)
        return cli_fail(EXIT_FAILURE_, "approve: out of memory");
    if ((status = open_runner(&r, &a, approve_event, &ui, "approve")) != EXIT_DONE) {
        json_decref(ui.events);
        return status;
    }
    rc = bf_runner_approve(r, a.run_id, reviewer);
    if (rc != BF_OK) {
        /* Refused over what the warehouse holds (changed target, not the run's): blocked, 3. */
        status = cli_fail_code(rc, rc == BF_E_CONFLICT ? EXIT_BLOCKED : cli_exit_for(rc),
                               "approve: %s", bf_runner_last_error(r));
        json_decref(ui.events);
    } else if (cli_json) {
        cli_print_json(json_pack("{s:I, s:s, s:s, s:o}", "run", (json_int_t)a.run_id, "reviewer",
                                 reviewer, "state", run_state(a.run_id, a.ledger_path),
                                 "events", ui.events));
    } else {
        json_decref(ui.events);
        printf("run %lld is %s\n", (long long)a.run_id, run_state(a.run_id, a.ledger_path));
    }
    bf_runner_free(r);
    return status;
}

/* ---- rollback ---- */

int cmd_rollback(int argc, char **argv)
{
    struct settle_args a;
    long long batch = cli_opt_int("batch", 0);
    char *json = NULL;
    bf_runner *r = NULL;
    json_t *o;
    int status, rc;

    if ((status = settle_args(&a, argc, argv)) != EXIT_DONE)
        return status;
    if ((status = open_runner(&r, &a, NULL, NULL, "rollback")) != EXIT_DONE)
        return status;
    rc = bf_runner_rollback(&json, r, a.run_id, (int64_t)batch);
    /* A refused or unproven undo is blocked (3), whatever the library's code. */
    status = rc == BF_OK ? EXIT_DONE
             : rc == BF_E_CONFLICT || rc == BF_E_VALIDATION || rc == BF_E_BLOCKED ? EXIT_BLOCKED
             : cli_exit_for(rc);
    o = json ? cli_embedded_json(json) : NULL;
    /* Bad input (no such batch, say) is its error alone: the run's state did not enter into it. */
    if (!json_is_object(o) || (!cli_json && rc != BF_OK && status == EXIT_USAGE)) {
        json_decref(o);
        if (rc != BF_OK)
            status = cli_fail_code(rc, status, "rollback: %s", bf_runner_last_error(r));
        bf_free(json);
        bf_runner_free(r);
        return status;
    }
    if (cli_json) {
        if (rc != BF_OK) {
            json_object_set_new(o, "error", json_string(bf_runner_last_error(r)));
            json_object_set_new(o, "code", json_string(bf_errstr(rc)));
            json_object_set_new(o, "exit", json_integer(status));
            fprintf(stderr, "backfill: rollback: %s\n", bf_runner_last_error(r));
        }
        cli_print_json(o);
    } else {
        json_t *b;
        size_t i;

        json_array_foreach(json_object_get(o, "batches"), i, b) {
            printf("batch %lld %s: %s: %s\n",
                   (long long)json_integer_value(json_object_get(b, "id")),
                   json_string_value(json_object_get(b, "label")),
                   json_is_true(json_object_get(b, "restored")) ? "restored" : "not restored",
                   json_string_value(json_object_get(b, "why")));
        }
        json_array_foreach(json_object_get(o, "refreshed"), i, b)
            printf("refreshed: %s, again after the rollback\n", json_string_value(b));
        printf("run %lld is %s\n", (long long)a.run_id,
               json_string_value(json_object_get(o, "state")));
        json_decref(o);
        if (rc != BF_OK)
            status = cli_fail_code(rc, status, "rollback: %s", bf_runner_last_error(r));
    }
    bf_free(json);
    bf_runner_free(r);
    return status;
}

/* ---- cleanup ---- */

int cmd_cleanup(int argc, char **argv)
{
    struct settle_args a;
    char *json = NULL;
    bf_runner *r = NULL;
    json_t *o;
    int status, rc;

    if ((status = settle_args(&a, argc, argv)) != EXIT_DONE)
        return status;
    if ((status = open_runner(&r, &a, NULL, NULL, "cleanup")) != EXIT_DONE)
        return status;
    rc = bf_runner_cleanup(&json, r, a.run_id);
    o = rc == BF_OK ? cli_embedded_json(json) : NULL;
    if (rc != BF_OK) {
        status = cli_fail_code(rc, rc == BF_E_CONFLICT ? EXIT_BLOCKED : cli_exit_for(rc),
                               "cleanup: %s", bf_runner_last_error(r));
    } else if (!json_is_object(o)) {
        json_decref(o);
        status = cli_fail(EXIT_FAILURE_, "cleanup: the library's answer is not a JSON object");
    } else if (cli_json) {
        cli_print_json(o);
    } else {
        json_t *v;
        size_t i, n = json_array_size(json_object_get(o, "dropped"));

        json_array_foreach(json_object_get(o, "dropped"), i, v)
            printf("dropped %s\n", json_string_value(v));
        json_array_foreach(json_object_get(o, "kept"), i, v)
            printf("kept %s: %s\n", json_string_value(json_object_get(v, "table")),
                   json_string_value(json_object_get(v, "why")));
        printf("run %lld: %zu table%s dropped\n", (long long)a.run_id, n, n == 1 ? "" : "s");
        json_decref(o);
    }
    bf_free(json);
    bf_runner_free(r);
    return status;
}
