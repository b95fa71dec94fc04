/* Helpers shared by the brief commands (check, brief, blast-radius). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static int load_brief(bf_brief **out, const char *path)
{
    int rc = bf_brief_load_file(out, path);

    if (rc == BF_OK)
        return EXIT_DONE;
    /* A brief that cannot be read is bad input, whatever the reason; memory is a failure. */
    if (rc == BF_E_NOMEM)
        return cli_fail_bf(rc, NULL);
    return cli_fail_code(rc, EXIT_USAGE, "%s", bf_last_error());
}

/*
 * The usage line a usage error quotes after "usage: backfill ": the command's
 * own from its table, or the caller's form of it (which may or may not
 * repeat "usage: backfill" and the command's name: it is said once).
 */
static void usage_line(char *out, size_t size, const char *command, const char *usage)
{
    size_t n = strlen(command);

    if (!usage) {
        snprintf(out, size, "%s", cli_usage());
        return;
    }
    if (strncmp(usage, "usage: ", 7) == 0)
        usage += 7;
    if (strncmp(usage, "backfill ", 9) == 0)
        usage += 9;
    if (strncmp(usage, command, n) == 0 && usage[n] == ' ')
        usage += n + 1;
    snprintf(out, size, "%s %s", command, usage);
}

/* The single BRIEF argument left in argv once the command took its own options. */
static int brief_args(int argc, char **argv, const char **brief, const char *usage)
{
    char line[1024];

    *brief = NULL;
    usage_line(line, sizeof line, argv[0], usage);
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (usage: backfill %s)", argv[0],
                            argv[i], line);
        if (*brief)
            return cli_fail(EXIT_USAGE, "%s: one brief at a time (usage: backfill %s)", argv[0],
                            line);
        *brief = argv[i];
    }
    if (!*brief)
        return cli_fail(EXIT_USAGE, "%s: which brief? (usage: backfill %s)", argv[0], line);
    return EXIT_DONE;
}

int cli_open_brief(bf_brief **out, const char **path, int argc, char **argv, const char *usage)
{
    int status = brief_args(argc, argv, path, usage);

    return status == EXIT_DONE ? load_brief(out, *path) : status;
}

int cli_refuse_blocked(const char *command, const bf_brief *brief)
{
    bf_findings *f = NULL;
    int rc = bf_brief_check(&f, brief), status = EXIT_DONE;

    if (rc != BF_OK)
        return cli_fail_bf(rc, command);
    /* The runner's own sentence for it (bf_runner_set_brief), said before anything is written. */
    for (size_t i = 0; i < bf_findings_count(f); i++) {
        if (bf_findings_severity(f, i) == BF_SEVERITY_BLOCK) {
            size_t n = bf_findings_blocking(f);

            status = cli_fail_code(BF_E_BLOCKED, EXIT_BLOCKED,
                                   "%s: brief %s is blocked (%zu blocking finding%s): %s: %s",
                                   command, bf_brief_name(brief) ? bf_brief_name(brief)
                                                                 : "(unnamed)",
                                   n, n == 1 ? "" : "s", bf_findings_path(f, i),
                                   bf_findings_message(f, i));
            break;
        }
    }
    bf_findings_free(f);
    return status;
}

json_t *cli_findings_json(const bf_findings *f)
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < bf_findings_count(f); i++)
        json_array_append_new(
            list, json_pack("{s:s, s:s, s:s, s:s}", "code", bf_findings_code(f, i), "severity",
                            bf_findings_severity(f, i) == BF_SEVERITY_BLOCK ? "block" : "warn",
                            "path", bf_findings_path(f, i), "message", bf_findings_message(f, i)));
    return list;
}
