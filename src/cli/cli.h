/* The backfill command: shared declarations of the subcommands and helpers. */
#ifndef BF_CLI_H
#define BF_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "backfill.h"

/* Exit statuses of the backfill command (BRIEF-FORMAT.md). */
enum {
    EXIT_DONE = 0,
    EXIT_FAILURE_ = 1,   /* driver, I/O */
    EXIT_USAGE = 2,      /* bad usage or bad input */
    EXIT_BLOCKED = 3,    /* blocking finding, failed validation, approval missing */
    EXIT_UNFINISHED = 4  /* paused, cancelled, batches left */
};

struct cli_command {
    const char *name;
    const char *usage;   /* arguments after the name, e.g. "BRIEF [--format md|json]" */
    const char *summary; /* one line for --help */
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
};

/* Set from the global --json flag or the command's own. */
extern int cli_json;

/*
 * Print one line "backfill: <message>" to stderr (or, under --json, a JSON
 * object {"error": ..., "code": ...} to stdout as well) and return `status`.
 */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Report a library failure: the message of bf_last_error(), exit status by code. */
int cli_fail_bf(int code, const char *what);

/* The exit status for a library status code. */
int cli_exit_for(int code);

/* Print a JSON value to stdout, indented, and release it. */
void cli_print_json(json_t *value);

/*
 * Take "NAME VALUE" or "NAME=VALUE" out of argv (wherever it stands, the last
 * one winning) into *value, which is left alone when the option is absent.
 * Returns EXIT_DONE, or EXIT_USAGE (reported) when the value is missing.
 */
int cli_take_option(int *argc, char **argv, const char *name, const char **value);

/* Remove "--json" from argv wherever it stands; returns the new argc. */
int cli_take_json_flag(int argc, char **argv);

/* Each command group declares its entry points below its own heading. */

/* commands: check, brief, blast-radius */
int cmd_check(int argc, char **argv);
int cmd_brief(int argc, char **argv);
int cmd_blast_radius(int argc, char **argv);
/*
 * Take the one BRIEF argument of argv (the command has taken its own options
 * already) and load that file into *out, *path naming it. Returns EXIT_DONE,
 * or the exit status after reporting bad usage or an unreadable brief.
 */
int cli_open_brief(bf_brief **out, const char **path, int argc, char **argv, const char *usage);
/* Findings as a JSON array of {code, severity, path, message}. */
json_t *cli_findings_json(const bf_findings *findings);

/* commands: plan */
int cmd_plan(int argc, char **argv);

/* commands: fingerprint */
int cmd_fingerprint(int argc, char **argv);

/* commands: status, pause, resume, cancel, retry, finish */
int cmd_status(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_retry(int argc, char **argv);
int cmd_finish(int argc, char **argv);

/* "[RUN] --ledger FILE [--split]", as the ledger commands take them. */
struct cli_ledger_args {
    const char *ledger_path;
    const char *run_ref; /* a run id or a brief name, or NULL */
    int split;
};

/* Parse argv (argv[0] is the command); EXIT_DONE, or the status of a usage error already reported. */
int cli_ledger_args(struct cli_ledger_args *out, int argc, char **argv, int run_required,
                    int split_allowed);

/* Open an existing ledger (never creates one); EXIT_DONE or the reported failure's status. */
int cli_ledger_open(bf_ledger **out, const char *path);

/* Open the run a reference names; EXIT_DONE or the reported failure's status. */
int cli_run_open(bf_run **out, bf_ledger *ledger, const char *ref);

#endif
