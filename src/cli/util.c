#include <stdarg.h>
#include <string.h>

#include "cli.h"

int cli_json;

int cli_fail(int status, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    fprintf(stderr, "backfill: %s\n", msg);
    if (cli_json)
        cli_print_json(json_pack("{s:s, s:i}", "error", msg, "exit", status));
    return status;
}

int cli_exit_for(int code)
{
    switch (code) {
    case BF_OK:
        return EXIT_DONE;
    case BF_E_INVALID:
    case BF_E_PARSE:
    case BF_E_NOT_FOUND:
    case BF_E_CONFLICT:
    case BF_E_ABI:
        return EXIT_USAGE;
    case BF_E_BLOCKED:
    case BF_E_VALIDATION:
        return EXIT_BLOCKED;
    case BF_E_STATE:
        return EXIT_UNFINISHED;
    default:
        return EXIT_FAILURE_;
    }
}

int cli_fail_bf(int code, const char *what)
{
    const char *msg = bf_last_error();

    if (!msg[0])
        msg = bf_errdesc(code);
    if (what)
        return cli_fail(cli_exit_for(code), "%s: %s", what, msg);
    return cli_fail(cli_exit_for(code), "%s", msg);
}

void cli_print_json(json_t *value)
{
    if (!value)
        return;
    json_dumpf(value, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    fputc('\n', stdout);
    json_decref(value);
}

int cli_take_json_flag(int argc, char **argv)
{
    int kept = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--json") == 0)
            cli_json = 1;
        else
            argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return kept;
}

int cli_take_option(int *argc, char **argv, const char *name, const char **value)
{
    size_t len = strlen(name);
    int kept = 0;

    for (int i = 0; i < *argc; i++) {
        if (strcmp(argv[i], name) == 0) {
            if (i + 1 >= *argc || argv[i + 1][0] == '-')
                return cli_fail(EXIT_USAGE, "%s: %s needs a value", argv[0], name);
            *value = argv[++i];
        } else if (strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
            *value = argv[i] + len + 1;
        } else {
            argv[kept++] = argv[i];
        }
    }
    argv[kept] = NULL;
    *argc = kept;
    return EXIT_DONE;
}
