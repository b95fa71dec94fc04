/*
 * backfill report RUN --ledger FILE [--stage before|during|after] [--format md|json] [--json]
 * backfill report BRIEF --stage before [--format md|json] [--json]
 *
 * The announcement before a run, the maintenance notice while it runs and
 * the change note after it, read from the ledger only (the warehouse is
 * never opened). The default stage follows the run's state: after once the
 * batches are written (validating, awaiting approval, approved) or the run
 * has ended, during while it runs or is paused, before while it is planned.
 * Without --ledger the operand is a brief file and only the announcement
 * exists. A report of an unfinished run is still a report: exit 0.
 * Under --json every command prints one JSON object: the Markdown asked
 * for with --format md is then the "markdown" key of a
 * "backfill-report-page/1" object, with its stage (as brief does).
 */
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define USAGE "report RUN --ledger FILE [--stage before|during|after] [--format md|json], " \
              "or report BRIEF --stage before"
#define BRIEF_USAGE "BRIEF [--stage before] [--format md|json] (or RUN --ledger FILE)"

static bf_report_stage default_stage(bf_run_state state)
{
    switch (state) {
    case BF_RUN_PLANNED:
        return BF_REPORT_BEFORE;
    case BF_RUN_RUNNING:
    case BF_RUN_PAUSED:
        return BF_REPORT_DURING;
    default:
        return BF_REPORT_AFTER;
    }
}

static int print(char *text, int rc, bf_report_stage stage, bf_report_format format)
{
    if (rc != BF_OK)
        return cli_fail_bf(rc, "report");
    if (cli_json && format == BF_REPORT_MARKDOWN) {
        json_t *page = json_pack("{s:s, s:s}", "stage", bf_report_stage_name(stage), "markdown", text);

        bf_free(text);
        if (!page)
            return cli_fail_code(BF_E_NOMEM, cli_exit_for(BF_E_NOMEM), "report: out of memory");
        cli_print_json_as("backfill-report-page/1", page);
        return EXIT_DONE;
    }
    fputs(text, stdout);
    if (format == BF_REPORT_JSON || (text[0] && text[strlen(text) - 1] != '\n'))
        fputc('\n', stdout);
    bf_free(text);
    return EXIT_DONE;
}

static int report_brief(int argc, char **argv, int have_stage, bf_report_stage stage,
                        bf_report_format format)
{
    bf_brief *brief = NULL;
    const char *path;
    char *text = NULL;
    int status, rc;

    if (have_stage && stage != BF_REPORT_BEFORE)
        return cli_fail(EXIT_USAGE, "report: a brief alone has only the announcement (--stage "
                        "before); the %s stage needs a run: --ledger FILE (usage: backfill %s)",
                        bf_report_stage_name(stage), USAGE);
    /* "report 12" without --ledger: a run was meant, most likely. */
    if (argc == 2 && argv[1][0] != '-' && access(argv[1], F_OK) != 0)
        return cli_fail_code(BF_E_NOT_FOUND, EXIT_USAGE, "report: no brief file '%s'; the report of "
                             "a run needs --ledger FILE (usage: backfill %s)", argv[1], USAGE);
    status = cli_open_brief(&brief, &path, argc, argv, BRIEF_USAGE);
    if (status != EXIT_DONE)
        return status;
    rc = bf_report_brief(&text, brief, BF_REPORT_BEFORE, format);
    bf_brief_free(brief);
    return print(text, rc, BF_REPORT_BEFORE, format);
}

int cmd_report(int argc, char **argv)
{
    const char *stage_name = cli_opt("stage"), *format_name = cli_opt("format");
    bf_report_stage stage = BF_REPORT_AFTER;
    bf_report_format format = cli_json ? BF_REPORT_JSON : BF_REPORT_MARKDOWN;
    struct cli_ledger_args args;
    bf_ledger *ledger = NULL;
    bf_run *run = NULL;
    char *text = NULL;
    int status, rc;

    if (stage_name && bf_report_stage_from_name(&stage, stage_name) != BF_OK)
        return cli_fail(EXIT_USAGE, "report: --stage takes before, during or after, not '%s' "
                        "(usage: backfill %s)", stage_name, USAGE);
    if (format_name && strcmp(format_name, "md") != 0 && strcmp(format_name, "markdown") != 0 &&
        strcmp(format_name, "json") != 0)
        return cli_fail(EXIT_USAGE, "report: --format takes md or json, not '%s' (usage: "
                        "backfill %s)", format_name, USAGE);
    if (format_name)
        bf_report_format_from_name(&format, format_name);
    if (!cli_opt("ledger"))
        return report_brief(argc, argv, stage_name != NULL, stage, format);
    status = cli_ledger_args(&args, argc, argv, 1, 0);
    if (status == EXIT_DONE)
        status = cli_ledger_open(&ledger, args.ledger_path);
    if (status == EXIT_DONE)
        status = cli_run_open(&run, ledger, args.run_ref);
    if (status == EXIT_DONE) {
        if (!stage_name)
            stage = default_stage(bf_run_current_state(run));
        rc = bf_report_run(&text, ledger, bf_run_id(run), stage, format);
        status = print(text, rc, stage, format);
    }
    bf_run_free(run);
    bf_ledger_close(ledger);
    return status;
}
