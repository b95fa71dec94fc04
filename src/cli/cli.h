/* The backfill command: shared declarations of the subcommands and helpers. */
#ifndef BF_CLI_H
#define BF_CLI_H

#include <jansson.h>
#include <stdio.h>

#include "backfill.h"

struct sqlite3; /* <sqlite3.h>: the warehouse, opened read only by the CLI itself */

/* Exit statuses of the backfill command (docs/cli.md). */
enum {
    EXIT_DONE = 0,
    EXIT_FAILURE_ = 1,   /* driver, I/O */
    EXIT_USAGE = 2,      /* bad usage or bad input */
    EXIT_BLOCKED = 3,    /* blocking finding, failed validation, approval missing */
    EXIT_UNFINISHED = 4  /* paused, cancelled, batches left */
};

/*
 * One option of a command. Its table drives the parser (getopt_long), the
 * command's --help, `backfill --man` and `backfill --bash-completion`, so an
 * option is added in one place: its command's table in main.c. Every command
 * also takes --json and -h/--help, which are not listed in the tables.
 */
struct cli_option {
    const char *name;  /* the long name without "--": "warehouse" */
    char short_name;   /* a one-letter alias, or 0 */
    const char *arg;   /* the value's placeholder ("DB"), "a|b" for a choice, NULL for a flag */
    const char *help;  /* one line */
    int required;      /* shown without brackets in the usage line; the command checks it */
    /*
     * An integer option (max > 0): the parser refuses a value that is not an
     * integer from min to max, saying what is wrong with it ("--batches: -1
     * is not a positive integer"); the command reads it with cli_opt_int().
     */
    long long min, max;
};

struct cli_command {
    const char *name;
    const char *args;    /* positional arguments after the name, e.g. "BRIEF" or "[RUN]" */
    const char *summary; /* one line for --help */
    const struct cli_option *options; /* terminated by {NULL}; NULL for none */
    const char *json_format; /* the "format" of its --json output, e.g. "backfill-plan/1" */
    int (*run)(int argc, char **argv); /* argv[0] is the command name, then its operands */
};

/* Set from the global --json flag or the command's own. */
extern int cli_json;

/* The "format" key cli_print_json() adds: the running command's json_format. */
extern const char *cli_json_format;

/*
 * Print one line "backfill: <message>" to stderr (under --json, also the
 * object {"format": "backfill-error/1", "error": ..., "code": "BF_E_...",
 * "exit": status} to stdout) and return `status`. cli_fail() names the code
 * of the status's class (BF_E_INVALID for bad usage); cli_fail_code() names
 * the library status code `code`.
 */
int cli_fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_fail_code(int code, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Report a library failure: the message of bf_last_error(), exit status by code. */
int cli_fail_bf(int code, const char *what);

/* The exit status for a library status code. */
int cli_exit_for(int code);

/*
 * Print a JSON value to stdout, indented, and release it: the one JSON dumper
 * of the command. An object gets "format": cli_json_format (or `format`) as
 * its first key unless it has one; reals are printed in their shortest form
 * that reads back to the same double; every integer member NAME_us (a
 * microsecond instant) is followed by NAME_iso, the instant in ISO 8601 UTC
 * ("2025-01-01T05:00:00Z"), or null for 0 (not set).
 */
void cli_print_json(json_t *value);
void cli_print_json_as(const char *format, json_t *value);

/*
 * The text cli_print_json_as() would print (its newline included), in
 * memory from malloc() and of *len bytes, for output that must be ready
 * before it is needed (a signal handler can only write(2) it); releases
 * `value`. NULL when out of memory.
 */
char *cli_json_text(const char *format, json_t *value, size_t *len);

/* An instant in microseconds as ISO 8601 UTC text: "2025-01-01T05:00:00Z", ".ffffffZ" if needed. */
json_t *cli_iso_json(int64_t us);

/*
 * JSON text the ledger keeps (run or batch parameters) as a value to embed:
 * parsed in the "C" locale, kept as a string when it does not parse, null
 * for NULL.
 */
json_t *cli_embedded_json(const char *text);

/* A real as the shortest text that reads back to it, with a "." whatever the locale. */
void cli_real_text(char *out, size_t size, double x);

/*
 * The parsed options of the running command (main parses them with the
 * command's table before calling it): the value of option `name` (the last
 * one given wins), or NULL when absent; cli_flag() says whether a flag was
 * given. Asking for a name the command's table lacks is a bug and aborts.
 */
const char *cli_opt(const char *name);
int cli_flag(const char *name);

/*
 * The value of integer option `name` (one with a range in the table, which
 * the parser checked), or `dflt` when it is absent. Asking for an option
 * without a range is a bug and aborts.
 */
long long cli_opt_int(const char *name, long long dflt);

/*
 * The running command's usage line from its options table, without
 * "usage: backfill " ("run BRIEF --warehouse DB [--ledger FILE] ... [--json]"):
 * the one a usage error quotes, so it cannot drift from --help.
 */
const char *cli_usage(void);

/*
 * Open the SQLite warehouse at `path` (never created; PRAGMA query_only, so
 * that no statement on the handle writes) and read its schema, so that a
 * missing file or one that is not a database is refused (exit 2, naming
 * --warehouse) before a command writes anything. The handle goes to *out,
 * or is closed when out is NULL. EXIT_DONE or the reported failure's status.
 */
int cli_warehouse_check(struct sqlite3 **out, const char *command, const char *path);

/* Remove "--json" from argv wherever it stands (before "--"); returns the new argc. */
int cli_take_json_flag(int argc, char **argv);

/* options.c: parsing, help, man page and completion from the tables. */
int cli_parse_options(const struct cli_command *cmd, int *argc, char **argv);
enum { CLI_HELP_SHOWN = -1 };
void cli_print_usage(FILE *to, const struct cli_command *cmd);
/*
 * The command's --help; under --json, on stdout, the object backfill-help/1:
 * "command", "usage", "summary", "json_format" and "options" (each "name",
 * "short", "arg", "required", "help", and "min", "max" for an integer).
 */
void cli_print_command_help(FILE *to, const struct cli_command *cmd);
/* backfill --help --json: "command" null, "usage", "summary" and "commands" (without options). */
void cli_print_help_json(const struct cli_command *commands, const char *usage,
                         const char *summary);
void cli_print_man(FILE *to, const struct cli_command *commands);
void cli_print_completion(FILE *to, const struct cli_command *commands);
/* The candidate nearest to `word` by edit distance, or NULL when none is close. */
const char *cli_nearest(const char *word, const char *const *candidates, size_t n);

/* Each command group declares its entry points below its own heading. */

/* commands: check, brief, blast-radius */
int cmd_check(int argc, char **argv);
int cmd_brief(int argc, char **argv);
int cmd_blast_radius(int argc, char **argv);
/*
 * Take the one BRIEF argument of argv (the command has taken its own options
 * already) and load that file into *out, *path naming it. Returns EXIT_DONE,
 * or the exit status after reporting bad usage or an unreadable brief. A
 * usage error quotes `usage`, the usage line after the command's name, or
 * for NULL the command's usage line from its table (cli_usage()).
 */
int cli_open_brief(bf_brief **out, const char **path, int argc, char **argv, const char *usage);
/*
 * Refuse a brief with a blocking finding before anything is written (no
 * ledger created, no run started): its first blocking finding in the
 * runner's words, exit 3. EXIT_DONE when nothing blocks.
 */
int cli_refuse_blocked(const char *command, const bf_brief *brief);
/* Findings as a JSON array of {code, severity, path, message}. */
json_t *cli_findings_json(const bf_findings *findings);

/* commands: plan */
int cmd_plan(int argc, char **argv);

/* commands: fingerprint */
int cmd_fingerprint(int argc, char **argv);

/* commands: diff */
int cmd_diff(int argc, char **argv);

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

/* The brief the run recorded at its start (a copy); EXIT_DONE or the reported failure's status. */
int cli_run_brief(bf_brief **out, bf_ledger *ledger, bf_run *run, const char *command);

/* commands: validate */
int cmd_validate(int argc, char **argv);

/* commands: run */
int cmd_run(int argc, char **argv);
/* commands: report */
int cmd_report(int argc, char **argv);

/* commands: approve, rollback, cleanup */
int cmd_approve(int argc, char **argv);
int cmd_rollback(int argc, char **argv);
int cmd_cleanup(int argc, char **argv);

/* commands: test-slice */
int cmd_test_slice(int argc, char **argv);

#endif
