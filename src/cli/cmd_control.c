/*
 * backfill pause|resume|cancel|retry|finish RUN --ledger FILE: steer a run
 * from outside its workers.
 */
#include <string.h>

#include "cli.h"

/* Which change the command makes. */
enum control { CONTROL_PAUSE, CONTROL_RESUME, CONTROL_CANCEL, CONTROL_RETRY, CONTROL_FINISH };

static int apply(bf_run *run, enum control what, int split, size_t *retried)
{
    switch (what) {
    case CONTROL_PAUSE:
        return bf_run_pause(run, "backfill pause");
    case CONTROL_RESUME:
        return bf_run_resume(run, "backfill resume");
    case CONTROL_CANCEL:
        return bf_run_cancel(run, "backfill cancel");
    case CONTROL_RETRY:
        return bf_run_retry(retried, run, split ? BF_RETRY_SPLIT : 0u);
    case CONTROL_FINISH:
        return bf_run_finish(run, "backfill finish");
    }
    return BF_E_INVALID;
}

static int control(int argc, char **argv, enum control what)
{
    struct cli_ledger_args args;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    size_t retried = 0;
    int status = cli_ledger_args(&args, argc, argv, 1, what == CONTROL_RETRY);
    int rc;

    if (status == EXIT_DONE)
        status = cli_ledger_open(&ledger, args.ledger_path);
    if (status == EXIT_DONE)
        status = cli_run_open(&run, ledger, args.run_ref);
    if (status == EXIT_DONE) {
        rc = apply(run, what, args.split, &retried);
        if (rc != BF_OK) {
            status = cli_fail_bf(rc, NULL);
        } else if (cli_json) {
            cli_print_json(json_pack("{s:I, s:s, s:I, s:s}", "run", (json_int_t)bf_run_id(run),
                                     "brief", bf_run_brief_name(run), "retried",
                                     (json_int_t)retried, "state",
                                     bf_run_state_name(bf_run_current_state(run))));
        } else {
            printf("run %lld (%s #%lld): %s", (long long)bf_run_id(run), bf_run_brief_name(run),
                   (long long)bf_run_seq(run), bf_run_state_name(bf_run_current_state(run)));
            if (what == CONTROL_RETRY)
                printf(", %zu failed batch%s %s", retried, retried == 1 ? "" : "es",
                       args.split ? "split or back to pending" : "back to pending");
            printf("\n");
        }
    }
    bf_run_free(run);
    bf_ledger_close(ledger);
    return status;
}

int cmd_pause(int argc, char **argv)
{
    return control(argc, argv, CONTROL_PAUSE);
}

int cmd_resume(int argc, char **argv)
{
    return control(argc, argv, CONTROL_RESUME);
}

int cmd_cancel(int argc, char **argv)
{
    return control(argc, argv, CONTROL_CANCEL);
}

int cmd_retry(int argc, char **argv)
{
    return control(argc, argv, CONTROL_RETRY);
}

int cmd_finish(int argc, char **argv)
{
    return control(argc, argv, CONTROL_FINISH);
}
