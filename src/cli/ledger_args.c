/* What the ledger commands share: "[RUN] --ledger FILE [--split]" and opening both. */
#include <string.h>

#include "cli.h"

int cli_ledger_args(struct cli_ledger_args *out, int argc, char **argv, int run_required,
                    int split_allowed)
{
    memset(out, 0, sizeof *out);
    out->ledger_path = cli_opt("ledger");
    out->split = split_allowed && cli_flag("split");
    for (int i = 1; i < argc; i++) {
        if (!out->run_ref) {
            out->run_ref = argv[i];
        } else {
            return cli_fail(EXIT_USAGE, "%s: unexpected argument '%s'", argv[0], argv[i]);
        }
    }
    if (!out->ledger_path)
        return cli_fail(EXIT_USAGE, "%s: --ledger FILE is required", argv[0]);
    if (run_required && !out->run_ref)
        return cli_fail(EXIT_USAGE, "%s: which run? (a run id or a brief name)", argv[0]);
    return EXIT_DONE;
}

int cli_ledger_open(bf_ledger **out, const char *path)
{
    bf_ledger_options opts = BF_LEDGER_OPTIONS_INIT;
    int rc;

    /*
     * Reading or steering runs never creates a ledger: a typo must not make
     * an empty one. The library refuses anything at the path that is not a
     * ledger before writing to it.
     */
    opts.flags = BF_LEDGER_MUST_EXIST;
    rc = bf_ledger_open(out, path, &opts);
    if (rc == BF_OK)
        return EXIT_DONE;
    /*
     * A path that names no ledger this library can use (missing, a
     * directory, another kind of file, a ledger of a newer libbackfill) is
     * bad input, whatever the code; I/O and a busy ledger stay failures.
     */
    if (rc == BF_E_NOT_FOUND || rc == BF_E_INVALID || rc == BF_E_PARSE ||
        rc == BF_E_UNSUPPORTED)
        return cli_fail(EXIT_USAGE, "%s", bf_last_error());
    return cli_fail_bf(rc, NULL);
}

int cli_run_open(bf_run **out, bf_ledger *ledger, const char *ref)
{
    int64_t id;
    int rc = bf_ledger_find_run(&id, ledger, ref);

    if (rc == BF_OK)
        rc = bf_run_open(out, ledger, id);
    return rc == BF_OK ? EXIT_DONE : cli_fail_bf(rc, NULL);
}

int cli_run_brief(bf_brief **out, bf_ledger *ledger, bf_run *run, const char *command)
{
    bf_run_list *list = NULL;
    int rc = bf_ledger_runs(&list, ledger, bf_run_brief_name(run));

    *out = NULL;
    for (size_t i = 0; rc == BF_OK && i < bf_run_list_count(list); i++) {
        if (bf_run_list_id(list, i) == bf_run_id(run)) {
            const char *text = bf_run_list_brief_json(list, i);
            rc = bf_brief_load_json(out, text, strlen(text));
            break;
        }
    }
    bf_run_list_free(list);
    if (rc != BF_OK)
        return cli_fail_bf(rc, command);
    if (!*out)
        return cli_fail(EXIT_FAILURE_, "%s: run %lld has no recorded brief", command,
                        (long long)bf_run_id(run));
    return EXIT_DONE;
}
