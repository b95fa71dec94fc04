/* backfill brief BRIEF [--format md|json]: the one-page brief, or the brief as JSON. */
#include <string.h>

#include "cli.h"

static int print_brief(const bf_brief *brief, const char *format)
{
    char *text = NULL;
    int json = strcmp(format, "json") == 0;
    int rc = json ? bf_brief_save_json(&text, brief) : bf_brief_render_markdown(&text, brief);

    if (rc != BF_OK)
        return cli_fail_bf(rc, "brief");
    if (cli_json && !json)
        cli_print_json_as("backfill-brief-page/1", json_pack("{s:s}", "markdown", text));
    else
        fputs(text, stdout);
    if (json)
        fputc('\n', stdout);
    bf_free(text);
    return EXIT_DONE;
}

int cmd_brief(int argc, char **argv)
{
    const char *path, *format = NULL;
    bf_brief *brief = NULL;
    int status;

    format = cli_opt("format");
    if (format && strcmp(format, "md") != 0 && strcmp(format, "json") != 0)
        return cli_fail(EXIT_USAGE, "brief: --format takes md or json, not '%s' (usage: backfill "
                        "%s)", format, cli_usage());
    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    /* --json alone asks for the brief itself as JSON. */
    status = print_brief(brief, format ? format : cli_json ? "json" : "md");
    bf_brief_free(brief);
    return status;
}
