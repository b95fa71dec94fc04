/* backfill: the command-line host of libbackfill. */
#include <locale.h>
#include <stdint.h>
#include <string.h>

#include "cli.h"

/*
 * The options of each command. A new option is one line here: the parser,
 * --help, the man page and the bash completion all read these tables, and
 * the command reads the value with cli_opt("name") or cli_flag("name"). The
 * last two numbers are an integer option's range (the parser refuses other
 * values, and the command reads it with cli_opt_int()), 0, 0 for the others.
 */
static const struct cli_option brief_options[] = {
    {"format", 0, "md|json", "md: the one-page brief (the default); json: the brief itself",
     0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option plan_options[] = {
    {"warehouse", 0, "DB", "count each batch's rows in this SQLite warehouse", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option fingerprint_options[] = {
    {"warehouse", 0, "DB", "the SQLite warehouse that holds the table", 1, 0, 0},
    {"columns", 0, "a,b", "fingerprint only these columns, separated by commas", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option diff_options[] = {
    {"warehouse", 0, "DB", "the SQLite warehouse that holds both tables (or the run's target)",
     1, 0, 0},
    {"against", 0, "TABLE", "TABLE form: the table holding the rows before (a snapshot, a copy)",
     0, 0, 0},
    {"key", 0, "a,b", "TABLE form: the key columns rows are matched on, separated by commas",
     0, 0, 0},
    {"ledger", 0, "FILE", "RUN form: the ledger holding the run's recorded before-states", 0, 0, 0},
    {"batch", 0, "ID", "RUN form: only this batch (its id, as status RUN --json lists)", 0, 1,
     INT64_MAX},
    {"tolerance", 0, "col=x,...", "numeric columns whose changes up to x count as equal", 0, 0, 0},
    {"samples", 0, "N", "rows of each kind to show (default 5)", 0, 0, INT32_MAX},
    {"segments", 0, "N", "key-hash segments to compare (default: one per 32 rows)", 0, 0,
     INT32_MAX},
    {"metric", 0, "EXPR", "explain the delta of SUM(expr), COUNT(*) or COUNT(expr)", 0, 0, 0},
    {"group-by", 0, "EXPR", "with --metric: the groups that contributed most", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option ledger_options[] = {
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option retry_options[] = {
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {"split", 0, NULL, "split failed key ranges in two", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option validate_options[] = {
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {"warehouse", 0, "DB", "the SQLite warehouse the run wrote", 1, 0, 0},
    {"batch", 0, "ID", "only this batch (its id, as status RUN --json lists)", 0, 1, INT64_MAX},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option report_options[] = {
    {"ledger", 0, "FILE", "the ledger holding RUN (without it, the operand is a brief file)",
     0, 0, 0},
    {"stage", 0, "before|during|after",
     "the announcement, the maintenance notice or the change note (default: from the run's state)",
     0, 0, 0},
    {"format", 0, "md|json", "md: Markdown for people (the default); json: the same facts",
     0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const struct cli_option run_options[] = {
    {"warehouse", 0, "DB", "the SQLite warehouse to write", 1, 0, 0},
    {"ledger", 0, "FILE", "the ledger (created if missing; default: DB.ledger)", 0, 0, 0},
    {"workers", 0, "N", "worker threads (default: the brief's max_concurrency)", 0, 1, 256},
    {"throttle-sql", 0, "QUERY", "hold new claims while this query's first value is not 0",
     0, 0, 0},
    {"on-event", 0, "CMD", "run CMD for each run event, with the event as JSON on stdin", 0, 0, 0},
    {"on-event-timeout", 0, "S", "stop an --on-event command still running after S seconds "
     "(default 60)", 0, 1, 86400},
    {"new", 0, NULL, "start a new run even if the brief has an unfinished one", 0, 0, 0},
    {"force", 0, NULL, "publish batches an earlier run already did with the same code", 0, 0, 0},
    {"no-wait", 0, NULL, "return instead of waiting for batches leased elsewhere", 0, 0, 0},
    {"operator", 0, "NAME", "who runs it, as the ledger and the change note name them "
     "(default: $USER)", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const struct cli_option approve_options[] = {
    {"reviewer", 0, "NAME", "who approves: the brief's reviewer, not the operator or the owner",
     1, 0, 0},
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {"warehouse", 0, "DB", "the SQLite warehouse the run wrote", 1, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option rollback_options[] = {
    {"batch", 0, "ID",
     "only this batch (its id, as status RUN --json lists); default: the whole run", 0, 1,
     INT64_MAX},
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {"warehouse", 0, "DB", "the SQLite warehouse the run wrote", 1, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option cleanup_options[] = {
    {"ledger", 0, "FILE", "the ledger (an existing SQLite file; never created)", 1, 0, 0},
    {"warehouse", 0, "DB", "the SQLite warehouse the run wrote", 1, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};
static const struct cli_option check_options[] = {
    {"ledger", 0, "FILE", "a ledger whose completed test slice gives the runtime estimate",
     0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const struct cli_option test_slice_options[] = {
    {"warehouse", 0, "DB", "the SQLite warehouse (read only: scratch copies are written)", 1, 0, 0},
    {"ledger", 0, "FILE", "the ledger (created if missing; default: DB.ledger)", 0, 0, 0},
    {"batches", 0, "N", "how many representative batches (default 5)", 0, 1, 1000},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const struct cli_command commands[] = {
    /* commands: check, brief, blast-radius */
    {"check", "BRIEF", "preflight the brief; prints findings (exit 3 if any blocks)", check_options,
     "backfill-check/1", cmd_check},
    {"brief", "BRIEF", "the one-page brief", brief_options, "backfill-brief/1", cmd_brief},
    {"blast-radius", "BRIEF", "downstream assets, direct and indirect, and who to tell", NULL,
     "backfill-blast-radius/1", cmd_blast_radius},

    /* commands: plan */
    {"plan", "BRIEF", "the pinned batch plan of the brief (a dry run: nothing is written)",
     plan_options, "backfill-plan/1", cmd_plan},

    /* commands: fingerprint */
    {"fingerprint", "TABLE",
     "the fingerprint rows:hex32 of a table: every column SELECT * returns, generated ones "
     "included (or some columns)",
     fingerprint_options, "backfill-fingerprint/1", cmd_fingerprint},

    /* commands: diff */
    {"diff", "TABLE|RUN",
     "rows added, removed and changed by key between TABLE and the table --against, or with "
     "--ledger per batch of RUN against its recorded before-state (exit 4 none yet); read "
     "only where segment fingerprints differ; per-column counts, samples, explained metrics",
     diff_options, "backfill-diff/1", cmd_diff},

    /* commands: status, pause, resume, cancel, retry, finish */
    {"status", "[RUN]", "runs, or one run's batches by state, failures and ETA", ledger_options,
     "backfill-status/1", cmd_status},
    {"pause", "RUN", "stop new claims; running batches go on", ledger_options,
     "backfill-control/1", cmd_pause},
    {"resume", "RUN", "allow claims again after a pause", ledger_options, "backfill-control/1",
     cmd_resume},
    {"cancel", "RUN", "stop the run; pending batches are cancelled", ledger_options,
     "backfill-control/1", cmd_cancel},
    {"retry", "RUN", "failed batches back to pending (split key ranges in two)", retry_options,
     "backfill-control/1", cmd_retry},
    {"finish", "RUN", "mark the run completed once every batch is done", ledger_options,
     "backfill-control/1", cmd_finish},

    /* commands: validate */
    {"validate", "RUN",
     "re-run the run's checks on the warehouse and record them (exit 3 failed, 4 unwritten)",
     validate_options, "backfill-validate/1", cmd_validate},

    /* commands: run */
    {"run", "BRIEF",
     "start or resume the run: publish and validate every batch, then the run-level checks "
     "(exit 0 awaiting approval, 3 validation failed, 4 paused or stopped)",
     run_options, "backfill-run/1", cmd_run},
    /* commands: report */
    {"report", "RUN|BRIEF",
     "the announcement before a run, the maintenance notice during it, the change note after it "
     "(with the definition of done); read from the ledger only",
     report_options, "backfill-report/1", cmd_report},

    /* commands: approve, rollback, cleanup */
    {"approve", "RUN",
     "approve the run as its reviewer, cut over and refresh downstream assets (exit 3 refused; "
     "approving again resumes a failed refresh)",
     approve_options, "backfill-approve/1", cmd_approve},
    {"rollback", "RUN",
     "undo one batch or the whole run from its pre-images, proved by fingerprints (exit 3 "
     "refused: nothing changed)",
     rollback_options, "backfill-rollback/1", cmd_rollback},
    {"cleanup", "RUN",
     "drop a settled run's snapshots, staging and version tables after its retention (exit 4 "
     "too early)",
     cleanup_options, "backfill-cleanup/1", cmd_cleanup},

    /* commands: test-slice */
    {"test-slice", "BRIEF",
     "run a few representative batches into scratch copies: checks, idempotency, durations, "
     "and the whole plan's estimate (exit 3 a check failed or a batch is not idempotent)",
     test_slice_options, "backfill-test-slice/1", cmd_test_slice},

    {NULL, NULL, NULL, NULL, NULL, NULL},
};

#define USAGE "backfill [--version] [--help] COMMAND [ARGS] [--json]"
#define SUMMARY "Plan, run, validate and report controlled historical backfills."

static void print_help(FILE *to)
{
    if (cli_json && to == stdout) {
        cli_print_help_json(commands, USAGE, SUMMARY);
        return;
    }
    fprintf(to,
            "usage: " USAGE "\n"
            "       backfill COMMAND --help\n"
            "\n"
            SUMMARY "\n"
            "\n"
            "commands:\n");
    for (const struct cli_command *c = commands; c->name; c++) {
        fprintf(to, "  %-14s ", c->name);
        cli_print_usage(to, c);
        fprintf(to, "\n  %-14s   %s\n", "", c->summary);
    }
    fprintf(to,
            "\n"
            "Every command takes --json for machine-readable output and -h/--help.\n"
            "Exit status: 0 done, 1 failure, 2 bad usage or input, 3 blocked,\n"
            "4 not finished.\n");
}

static int print_version(void)
{
    if (cli_json) {
        cli_print_json_as("backfill-version/1",
                          json_pack("{s:s, s:i}", "version", bf_version_string(), "version_number",
                                    (int)bf_version()));
        return EXIT_DONE;
    }
    printf("backfill %s\n", bf_version_string());
    return EXIT_DONE;
}

static const struct cli_command *find_command(const char *name)
{
    for (const struct cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

static int unknown_command(const char *name)
{
    const char *names[sizeof commands / sizeof commands[0]];
    const char *near;
    size_t n = 0;

    for (const struct cli_command *c = commands; c->name; c++)
        names[n++] = c->name;
    near = cli_nearest(name, names, n);
    if (near)
        return cli_fail(EXIT_USAGE, "unknown command '%s' (did you mean '%s'?)", name, near);
    return cli_fail(EXIT_USAGE, "unknown command '%s' (see 'backfill --help')", name);
}

static int unknown_global_option(const char *arg)
{
    static const char *const names[] = {"help", "version", "json"};
    const char *word = arg + strspn(arg, "-");
    const char *near = cli_nearest(word, names, sizeof names / sizeof names[0]);

    if (near)
        return cli_fail(EXIT_USAGE, "unknown option '%s' (did you mean '--%s'?)", arg, near);
    return cli_fail(EXIT_USAGE, "unknown option '%s' (see 'backfill --help')", arg);
}

/* backfill help [COMMAND] */
static int help(int argc, char **argv)
{
    const struct cli_command *c;

    if (argc < 3) {
        print_help(stdout);
        return EXIT_DONE;
    }
    c = find_command(argv[2]);
    if (!c)
        return unknown_command(argv[2]);
    cli_print_command_help(stdout, c);
    return EXIT_DONE;
}

int main(int argc, char **argv)
{
    const struct cli_command *c;
    const char *name;
    int status;

    /*
     * Like any interactive program, honour the user's locale (LC_ALL, LC_*,
     * LANG). The library's output does not depend on it, and this tool
     * prints no locale-dependent number itself, so files, JSON and text
     * stay the same under every locale.
     */
    setlocale(LC_ALL, "");
    argc = cli_take_json_flag(argc, argv);
    if (argc < 2) {
        if (cli_json)
            return cli_fail(EXIT_USAGE, "which command? (see 'backfill --help')");
        print_help(stderr);
        return EXIT_USAGE;
    }
    name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return print_version();
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0)
        return help(1, argv);
    if (strcmp(name, "help") == 0)
        return help(argc, argv);
    /* Hidden: the build writes the man page and the bash completion from the tables. */
    if (strcmp(name, "--man") == 0) {
        cli_print_man(stdout, commands);
        return EXIT_DONE;
    }
    if (strcmp(name, "--bash-completion") == 0) {
        cli_print_completion(stdout, commands);
        return EXIT_DONE;
    }
    if (name[0] == '-')
        return unknown_global_option(name);
    c = find_command(name);
    if (!c)
        return unknown_command(name);
    argc--;
    argv++;
    status = cli_parse_options(c, &argc, argv);
    if (status == CLI_HELP_SHOWN)
        return EXIT_DONE;
    if (status != EXIT_DONE)
        return status;
    cli_json_format = c->json_format;
    return c->run(argc, argv);
}
