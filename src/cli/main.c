/* backfill: the command-line host of libbackfill. */
#include <locale.h>
#include <string.h>

#include "cli.h"

static const struct cli_command commands[] = {
    /* commands: check, brief, blast-radius */
    {"check", "BRIEF", "preflight the brief; prints findings (exit 3 if any blocks)", cmd_check},
    {"brief", "BRIEF [--format md|json]", "the one-page brief", cmd_brief},
    {"blast-radius", "BRIEF", "downstream assets, direct and indirect, and who to tell",
     cmd_blast_radius},

    /* commands: plan */
    {"plan", "BRIEF [--json]", "the pinned batch plan of the brief (a dry run: nothing is written)",
     cmd_plan},

    /* commands: fingerprint */
    {"fingerprint", "TABLE --warehouse DB [--columns a,b]",
     "the fingerprint rows:hex32 of a table: every column SELECT * returns, generated "
     "ones included (or some columns)", cmd_fingerprint},

    /* commands: status, pause, resume, cancel, retry, finish */
    {"status", "[RUN] --ledger FILE", "runs, or one run's batches by state, failures and ETA",
     cmd_status},
    {"pause", "RUN --ledger FILE", "stop new claims; running batches go on", cmd_pause},
    {"resume", "RUN --ledger FILE", "allow claims again after a pause", cmd_resume},
    {"cancel", "RUN --ledger FILE", "stop the run; pending batches are cancelled", cmd_cancel},
    {"retry", "RUN --ledger FILE [--split]",
     "failed batches back to pending (split key ranges in two)", cmd_retry},
    {"finish", "RUN --ledger FILE", "mark the run completed once every batch is done", cmd_finish},

    {NULL, NULL, NULL, NULL},
};

static void print_help(FILE *to)
{
    fprintf(to,
            "usage: backfill [--version] [--help] COMMAND [ARGS] [--json]\n"
            "\n"
            "Plan, run, validate and report controlled historical backfills.\n"
            "\n"
            "commands:\n");
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(to, "  %-14s %s\n  %-14s   %s\n", c->name, c->usage, "", c->summary);
    fprintf(to,
            "\n"
            "Every command takes --json for machine-readable output.\n"
            "Exit status: 0 done, 1 failure, 2 bad usage or input, 3 blocked,\n"
            "4 not finished.\n");
}

static int print_version(void)
{
    if (cli_json) {
        cli_print_json(json_pack("{s:s, s:i}", "version", bf_version_string(),
                                 "version_number", (int)bf_version()));
        return EXIT_DONE;
    }
    printf("backfill %s\n", bf_version_string());
    return EXIT_DONE;
}

int main(int argc, char **argv)
{
    const char *name;

    /*
     * Like any interactive program, honour the user's locale (LC_ALL, LC_*,
     * LANG). The library's output does not depend on it, and this tool
     * prints no locale-dependent number itself, so files, JSON and text
     * stay the same under every locale.
     */
    setlocale(LC_ALL, "");
    argc = cli_take_json_flag(argc, argv);
    if (argc < 2) {
        print_help(stderr);
        return EXIT_USAGE;
    }
    name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0)
        return print_version();
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return EXIT_DONE;
    }
    for (const struct cli_command *c = commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->run(argc - 1, argv + 1);
    if (name[0] == '-')
        return cli_fail(EXIT_USAGE, "unknown option '%s' (see 'backfill --help')", name);
    return cli_fail(EXIT_USAGE, "unknown command '%s' (see 'backfill --help')", name);
}
