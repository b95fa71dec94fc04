/*
 * The options tables at work: parsing a command's options with getopt_long,
 * its --help, the man page (`backfill --man`) and the bash completion script
 * (`backfill --bash-completion`), all from the same tables, so none can drift.
 */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

#define MAX_OPTIONS 32

/* What every command takes besides its own table. */
static const struct cli_option common_options[] = {
    {"json", 0, NULL, "machine-readable output on stdout (errors too)", 0, 0, 0},
    {"help", 'h', NULL, "print this help and exit", 0, 0, 0},
    {NULL, 0, NULL, NULL, 0, 0, 0},
};

static const struct cli_command *current;

static void usage_text(char *out, size_t size, const struct cli_command *cmd);
static const char *values[MAX_OPTIONS];
static int given[MAX_OPTIONS];

static size_t count_options(const struct cli_option *o)
{
    size_t n = 0;

    while (o && o[n].name)
        n++;
    return n;
}

static int option_index(const char *name)
{
    size_t n = current ? count_options(current->options) : 0;

    for (size_t i = 0; i < n; i++)
        if (strcmp(current->options[i].name, name) == 0)
            return (int)i;
    fprintf(stderr, "backfill: bug: option --%s is not in the table of '%s'\n", name,
            current ? current->name : "(no command)");
    abort();
}

const char *cli_opt(const char *name)
{
    return values[option_index(name)];
}

int cli_flag(const char *name)
{
    return given[option_index(name)];
}

/* ASCII-only case folding: the same answer in every locale. */
static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    size_t *d;
    size_t result;

    if (la > 64 || lb > 64)
        return (size_t)-1;
    d = malloc((la + 1) * (lb + 1) * sizeof *d);
    if (!d)
        return (size_t)-1;
#define D(i, j) d[(i) * (lb + 1) + (j)]
    for (size_t i = 0; i <= la; i++)
        D(i, 0) = i;
    for (size_t j = 0; j <= lb; j++)
        D(0, j) = j;
    for (size_t i = 1; i <= la; i++) {
        for (size_t j = 1; j <= lb; j++) {
            size_t cost = fold(a[i - 1]) != fold(b[j - 1]);
            size_t best = D(i - 1, j) + 1;

            if (D(i, j - 1) + 1 < best)
                best = D(i, j - 1) + 1;
            if (D(i - 1, j - 1) + cost < best)
                best = D(i - 1, j - 1) + cost;
            if (i > 1 && j > 1 && fold(a[i - 1]) == fold(b[j - 2]) &&
                fold(a[i - 2]) == fold(b[j - 1]) && D(i - 2, j - 2) + 1 < best)
                best = D(i - 2, j - 2) + 1;
            D(i, j) = best;
        }
    }
    result = D(la, lb);
#undef D
    free(d);
    return result;
}

const char *cli_nearest(const char *word, const char *const *candidates, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;

    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, candidates[i]);

        /* Close enough to be a slip: at most two edits, and fewer than half the name. */
        if (d < best_d && d <= 2 && 2 * d < strlen(candidates[i])) {
            best = candidates[i];
            best_d = d;
        }
    }
    return best;
}

/* The bad option's name without dashes or "=value", and a suggestion from the tables. */
static const char *suggest_option(const struct cli_command *cmd, const char *arg)
{
    const char *names[MAX_OPTIONS + 4];
    char word[128];
    size_t n = 0;

    while (*arg == '-')
        arg++;
    snprintf(word, sizeof word, "%.*s", (int)strcspn(arg, "="), arg);
    for (const struct cli_option *o = cmd->options; o && o->name; o++)
        names[n++] = o->name;
    for (const struct cli_option *o = common_options; o->name; o++)
        names[n++] = o->name;
    return cli_nearest(word, names, n);
}

static int unknown_option(const struct cli_command *cmd, const char *arg)
{
    const char *near = suggest_option(cmd, arg);
    char shown[128];

    snprintf(shown, sizeof shown, "%.*s", (int)strcspn(arg, "="), arg);
    if (near)
        return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (did you mean '--%s'?)", cmd->name,
                        shown, near);
    return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (see 'backfill %s --help')", cmd->name,
                    shown, cmd->name);
}

/* "-1", "-0.5", "-.5": a negative number, given as an option's value. */
static int looks_negative(const char *word)
{
    return word[0] == '-' &&
           ((word[1] >= '0' && word[1] <= '9') ||
            (word[1] == '.' && word[2] >= '0' && word[2] <= '9'));
}

/* An integer option's value: EXIT_DONE, or EXIT_USAGE after saying what is wrong with it. */
static int check_integer(const struct cli_command *cmd, const struct cli_option *o,
                         const char *text)
{
    const char *kind = o->min == 0   ? "a non-negative integer"
                       : o->min == 1 ? "a positive integer"
                                     : "an integer";
    char *end = NULL;
    long long v;

    errno = 0;
    v = strtoll(text, &end, 10);
    /* Digits only, with an optional sign: no spaces, no "0x10", no "5 rows". */
    if (!(text[0] == '-' || text[0] == '+' || (text[0] >= '0' && text[0] <= '9')) ||
        end == text || *end || (errno == ERANGE && v < 0) || v < o->min) {
        if (o->min > 1 || o->min < 0)
            return cli_fail(EXIT_USAGE, "%s: --%s: %s is not an integer from %lld to %lld",
                            cmd->name, o->name, text, o->min, o->max);
        return cli_fail(EXIT_USAGE, "%s: --%s: %s is not %s", cmd->name, o->name, text, kind);
    }
    if (errno == ERANGE || v > o->max)
        return cli_fail(EXIT_USAGE, "%s: --%s: %s is more than %lld, the most it takes",
                        cmd->name, o->name, text, o->max);
    return EXIT_DONE;
}

long long cli_opt_int(const char *name, long long dflt)
{
    int i = option_index(name);
    const char *text = values[i];

    if (current->options[i].max <= 0) {
        fprintf(stderr, "backfill: bug: option --%s of '%s' has no range\n", name, current->name);
        abort();
    }
    return text ? strtoll(text, NULL, 10) : dflt;
}

/* "run BRIEF --warehouse DB ... [--json]": the running command's, from its table. */
const char *cli_usage(void)
{
    static char text[1024];

    usage_text(text, sizeof text, current);
    return text;
}

int cli_parse_options(const struct cli_command *cmd, int *argc, char **argv)
{
    struct option longopts[MAX_OPTIONS + 4];
    size_t n = count_options(cmd->options), k = 0;
    int kept = 1, c, index, status;

    if (n + 3 > MAX_OPTIONS) {
        fprintf(stderr, "backfill: bug: too many options for '%s'\n", cmd->name);
        abort();
    }
    current = cmd;
    memset(values, 0, sizeof values);
    memset(given, 0, sizeof given);
    /* Table options are numbered from 256 by their index; --json and --help follow. */
    for (size_t i = 0; i < n; i++)
        longopts[k++] = (struct option){cmd->options[i].name,
                                        cmd->options[i].arg ? required_argument : no_argument,
                                        NULL, 256 + (int)i};
    longopts[k++] = (struct option){"json", no_argument, NULL, 'j'};
    longopts[k++] = (struct option){"help", no_argument, NULL, 'h'};
    longopts[k] = (struct option){NULL, 0, NULL, 0};

    /*
     * "-": operands come back in order as option 1 (no permutation, whatever
     * POSIXLY_CORRECT says); ":": a missing value is reported as ':'.
     */
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(*argc, argv, "-:h", longopts, &index)) != -1) {
        const char *arg = argv[optind - 1];

        if (c == 1) {
            argv[kept++] = optarg;
        } else if (c == 'h') {
            cli_print_command_help(stdout, cmd);
            return CLI_HELP_SHOWN;
        } else if (c == 'j') {
            cli_json = 1;
        } else if (c >= 256) {
            const struct cli_option *o = &cmd->options[c - 256];

            /*
             * "--ledger --json": the next word is an option, not the value;
             * "--batches -1" is a value (no option is a digit), and the
             * command says what is wrong with it.
             */
            if (o->arg && optarg == arg && optarg[0] == '-' && optarg[1] &&
                !looks_negative(optarg))
                return cli_fail(EXIT_USAGE, "%s: --%s needs a value (%s)", cmd->name, o->name,
                                o->arg);
            /* No option names a person, table, file, query or command by an empty word. */
            if (o->arg && !optarg[0])
                return cli_fail(EXIT_USAGE, "%s: --%s: the value is empty (give %s)", cmd->name,
                                o->name, o->arg);
            if (o->max > 0 && (status = check_integer(cmd, o, optarg)) != EXIT_DONE)
                return status;
            /* "--warehouse test.db ... --warehouse prod.db": which did the user mean? */
            if (o->arg && given[c - 256])
                return cli_fail(EXIT_USAGE, "%s: --%s given twice ('%s' and '%s'); give it once",
                                cmd->name, o->name, values[c - 256], optarg);
            values[c - 256] = optarg;
            given[c - 256] = 1;
        } else if (c == ':') {
            return cli_fail(EXIT_USAGE, "%s: %s needs a value", cmd->name, arg);
        } else if (optopt && optopt != '-' && arg[0] == '-' && arg[1] != '-') {
            char shown[3] = {'-', (char)optopt, '\0'};

            return unknown_option(cmd, shown);
        } else {
            return unknown_option(cmd, arg);
        }
    }
    /* Everything after "--" is an operand. */
    while (optind < *argc)
        argv[kept++] = argv[optind++];
    argv[kept] = NULL;
    *argc = kept;
    return EXIT_DONE;
}

/* "--warehouse DB", "--split", "--format md|json" */
static void format_option(char *out, size_t size, const struct cli_option *o)
{
    snprintf(out, size, "--%s%s%s", o->name, o->arg ? " " : "", o->arg ? o->arg : "");
}

/* "plan BRIEF [--warehouse DB] [--json]" */
static void usage_text(char *out, size_t size, const struct cli_command *cmd)
{
    char text[256];
    size_t len;

    snprintf(out, size, "%s%s%s", cmd->name, cmd->args ? " " : "", cmd->args ? cmd->args : "");
    for (const struct cli_option *o = cmd->options; o && o->name; o++) {
        format_option(text, sizeof text, o);
        len = strlen(out);
        snprintf(out + len, size - len, o->required ? " %s" : " [%s]", text);
    }
    len = strlen(out);
    snprintf(out + len, size - len, " [--json]");
}

void cli_print_usage(FILE *to, const struct cli_command *cmd)
{
    char text[1024];

    usage_text(text, sizeof text, cmd);
    fputs(text, to);
}

/* An option as --help --json lists it: the fields of its table row. */
static json_t *option_json(const struct cli_option *o)
{
    char short_name[2] = {o->short_name, '\0'};
    json_t *j = json_pack("{s:s, s:s?, s:s?, s:b, s:s}", "name", o->name, "short",
                          o->short_name ? short_name : NULL, "arg", o->arg, "required",
                          o->required, "help", o->help);

    if (j && o->max > 0) {
        json_object_set_new(j, "min", json_integer(o->min));
        json_object_set_new(j, "max", json_integer(o->max));
    }
    return j;
}

/* A command as the help lists it; its options too when `with_options`. */
static json_t *command_json(const struct cli_command *cmd, int with_options)
{
    char text[1024] = "backfill ";
    json_t *j, *options;

    usage_text(text + 9, sizeof text - 9, cmd);
    j = json_pack("{s:s, s:s, s:s, s:s?}", with_options ? "command" : "name", cmd->name, "usage",
                  text, "summary", cmd->summary, "json_format", cmd->json_format);
    if (!j || !with_options)
        return j;
    options = json_array();
    for (int pass = 0; pass < 2; pass++)
        for (const struct cli_option *o = pass ? common_options : cmd->options; o && o->name;
             o++)
            json_array_append_new(options, option_json(o));
    json_object_set_new(j, "options", options);
    return j;
}

void cli_print_help_json(const struct cli_command *commands, const char *usage,
                         const char *summary)
{
    json_t *list = json_array();

    for (const struct cli_command *c = commands; c->name; c++)
        json_array_append_new(list, command_json(c, 0));
    cli_print_json_as("backfill-help/1", json_pack("{s:n, s:s, s:s, s:o}", "command", "usage",
                                                   usage, "summary", summary, "commands", list));
}

void cli_print_command_help(FILE *to, const struct cli_command *cmd)
{
    char text[256];

    if (cli_json) {
        cli_print_json_as("backfill-help/1", command_json(cmd, 1));
        return;
    }

    fputs("usage: backfill ", to);
    cli_print_usage(to, cmd);
    fprintf(to, "\n\n%s\n\noptions:\n", cmd->summary);
    for (int pass = 0; pass < 2; pass++) {
        for (const struct cli_option *o = pass ? common_options : cmd->options; o && o->name;
             o++) {
            char both[300];

            format_option(text, sizeof text, o);
            if (o->short_name)
                snprintf(both, sizeof both, "-%c, %s", o->short_name, text);
            else
                snprintf(both, sizeof both, "%s", text);
            fprintf(to, "  %-22s %s\n", both, o->help);
        }
    }
    if (cmd->json_format)
        fprintf(to, "\n--json prints an object whose \"format\" is \"%s\".\n", cmd->json_format);
    fputs("Exit status: 0 done, 1 failure, 2 bad usage or input, 3 blocked, 4 not finished.\n", to);
}

/* Text for roff: backslashes doubled, "-" as "\-", no line starting with a control character. */
static void roff(FILE *to, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", to);
        else if (*s == '-')
            fputs("\\-", to);
        else
            fputc(*s, to);
    }
}

static void roff_option(FILE *to, const struct cli_option *o)
{
    fputs(".TP\n", to);
    if (o->short_name)
        fprintf(to, "\\fB\\-%c\\fR, ", o->short_name);
    fputs("\\fB\\-\\-", to);
    roff(to, o->name);
    fputs("\\fR", to);
    if (o->arg) {
        fputs(" \\fI", to);
        roff(to, o->arg);
        fputs("\\fR", to);
    }
    fputs("\n", to);
    roff(to, o->help);
    fputs("\n", to);
}

void cli_print_man(FILE *to, const struct cli_command *commands)
{
    char usage[1024];

    fprintf(to, ".\\\" Generated by backfill --man from the command's options tables; do not edit.\n"
                ".TH BACKFILL 1 \"\" \"libbackfill %s\" \"User Commands\"\n"
                ".SH NAME\n"
                "backfill \\- plan, steer and inspect controlled historical backfills\n"
                ".SH SYNOPSIS\n"
                ".B backfill\n"
                "[\\fB\\-\\-version\\fR] [\\fB\\-\\-help\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR] "
                "[\\fB\\-\\-json\\fR]\n"
                ".br\n"
                ".B backfill\n"
                "\\fICOMMAND\\fR \\fB\\-\\-help\\fR\n"
                ".SH DESCRIPTION\n"
                ".B backfill\n"
                "is the command\\-line host of libbackfill: it preflights briefs, plans batches,\n"
                "fingerprints tables and reads and steers the runs of a ledger.\n"
                "Errors go to standard error as one line that names the thing at fault.\n"
                "Options may stand before, between or after the operands; \\fB\\-\\-\\fR ends them.\n"
                ".SH COMMANDS\n",
            bf_version_string());
    for (const struct cli_command *c = commands; c->name; c++) {
        fputs(".SS \"", to);
        fputs("backfill ", to);
        roff(to, c->name);
        fputs("\"\n.B backfill ", to);
        usage_text(usage, sizeof usage, c);
        roff(to, usage);
        fputs("\n.PP\n", to);
        roff(to, c->summary);
        fputs(".\n", to);
        if (c->json_format) {
            fputs("With \\fB\\-\\-json\\fR, an object of format \\fB", to);
            roff(to, c->json_format);
            fputs("\\fR.\n", to);
        }
        for (const struct cli_option *o = c->options; o && o->name; o++)
            roff_option(to, o);
        for (const struct cli_option *o = common_options; o->name; o++)
            roff_option(to, o);
    }
    fputs(".SH OPTIONS\n"
          "Before the command:\n"
          ".TP\n\\fB\\-\\-version\\fR\nprint the library's version and exit.\n"
          ".TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nlist the commands and exit.\n"
          ".TP\n\\fB\\-\\-json\\fR\nmachine\\-readable output, for the version and for errors.\n"
          ".SH JSON OUTPUT\n"
          "Every object printed under \\fB\\-\\-json\\fR has a \\fBformat\\fR key naming its\n"
          "shape and version. An error is\n"
          "{\"format\": \"backfill\\-error/1\", \"error\": MESSAGE, \"code\": \"BF_E_...\", "
          "\"exit\": STATUS}.\n"
          "Integer members NAME_us (microsecond instants) are followed by NAME_iso in ISO 8601 UTC.\n"
          ".SH EXIT STATUS\n"
          ".TP\n0\ndone\n.TP\n1\nfailure (driver, I/O)\n.TP\n2\nbad usage or bad input\n"
          ".TP\n3\nblocked (a blocking finding, failed validation, approval missing)\n"
          ".TP\n4\nnot finished (paused, cancelled, batches left)\n"
          ".SH SEE ALSO\n"
          "The libbackfill README and docs/cli.md.\n",
          to);
}

/* Words of a choice "md|json" separated by spaces; empty when the value is free. */
static void choice_words(FILE *to, const char *arg)
{
    if (!arg || !strchr(arg, '|'))
        return;
    for (; *arg; arg++)
        fputc(*arg == '|' ? ' ' : *arg, to);
}

void cli_print_completion(FILE *to, const struct cli_command *commands)
{
    fputs("# bash completion for backfill; generated by `backfill --bash-completion` from the\n"
          "# command's options tables: do not edit.\n"
          "_backfill()\n"
          "{\n"
          "    local cur prev cmd opts i\n"
          "    cur=${COMP_WORDS[COMP_CWORD]}\n"
          "    prev=\n"
          "    [ \"$COMP_CWORD\" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}\n"
          "    cmd=\n"
          "    for ((i = 1; i < COMP_CWORD; i++)); do\n"
          "        case ${COMP_WORDS[i]} in\n"
          "        -*) ;;\n"
          "        *) cmd=${COMP_WORDS[i]}; break ;;\n"
          "        esac\n"
          "    done\n"
          "    if [ -z \"$cmd\" ] || [ \"$cmd\" = help ]; then\n"
          "        if [ -z \"$cmd\" ] && [[ $cur == -* ]]; then\n"
          "            COMPREPLY=($(compgen -W '--help --version --json' -- \"$cur\"))\n"
          "        else\n"
          "            COMPREPLY=($(compgen -W '",
          to);
    for (const struct cli_command *c = commands; c->name; c++)
        fprintf(to, "%s ", c->name);
    fputs("help' -- \"$cur\"))\n"
          "        fi\n"
          "        return 0\n"
          "    fi\n"
          "    case $cmd in\n",
          to);
    for (const struct cli_command *c = commands; c->name; c++) {
        fprintf(to, "    %s)\n        case $prev in\n", c->name);
        for (const struct cli_option *o = c->options; o && o->name; o++) {
            if (!o->arg)
                continue;
            fprintf(to, "        --%s)\n", o->name);
            if (strchr(o->arg, '|')) {
                fputs("            COMPREPLY=($(compgen -W '", to);
                choice_words(to, o->arg);
                fputs("' -- \"$cur\"))\n", to);
            } else {
                fputs("            COMPREPLY=($(compgen -f -- \"$cur\"))\n", to);
            }
            fputs("            return 0 ;;\n", to);
        }
        fputs("        esac\n        opts='", to);
        for (const struct cli_option *o = c->options; o && o->name; o++)
            fprintf(to, "--%s ", o->name);
        fputs("--json --help' ;;\n", to);
    }
    fputs("    *) return 0 ;;\n"
          "    esac\n"
          "    if [[ $cur == -* ]]; then\n"
          "        COMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
          "    else\n"
          "        COMPREPLY=($(compgen -f -- \"$cur\"))\n"
          "    fi\n"
          "    return 0\n"
          "}\n"
          "complete -o filenames -F _backfill backfill\n",
          to);
}
