/* Helpers shared by the brief commands (check, brief, blast-radius). */
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

/* The single BRIEF argument left in argv once the command took its own options. */
static int brief_args(int argc, char **argv, const char **brief, const char *usage)
{
    *brief = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_fail(EXIT_USAGE, "%s: unknown option '%s' (usage: backfill %s %s)", argv[0],
                            argv[i], argv[0], usage);
        if (*brief)
            return cli_fail(EXIT_USAGE, "%s: one brief at a time (usage: backfill %s %s)", argv[0],
                            argv[0], usage);
        *brief = argv[i];
    }
    if (!*brief)
        return cli_fail(EXIT_USAGE, "%s: which brief? (usage: backfill %s %s)", argv[0], argv[0],
                        usage);
    return EXIT_DONE;
}

int cli_open_brief(bf_brief **out, const char **path, int argc, char **argv, const char *usage)
{
    int status = brief_args(argc, argv, path, usage);

    return status == EXIT_DONE ? load_brief(out, *path) : status;
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
