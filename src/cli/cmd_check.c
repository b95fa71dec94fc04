/* backfill check BRIEF: preflight findings; exit 3 when any finding blocks. */
#include "cli.h"

static void print_findings(const bf_brief *brief, const bf_findings *f)
{
    size_t blocking = bf_findings_blocking(f), warns = bf_findings_count(f) - blocking;

    for (size_t i = 0; i < bf_findings_count(f); i++)
        printf("%-5s %s %s: %s\n", bf_findings_severity(f, i) == BF_SEVERITY_BLOCK ? "block" : "warn",
               bf_findings_code(f, i), bf_findings_path(f, i), bf_findings_message(f, i));
    printf("%s: %zu blocking, %zu warning%s; %s\n",
           bf_brief_name(brief) ? bf_brief_name(brief) : "(unnamed brief)", blocking, warns,
           warns == 1 ? "" : "s", blocking ? "the brief does not run" : "ready to plan");
}

int cmd_check(int argc, char **argv)
{
    const char *path;
    bf_brief *brief = NULL;
    bf_findings *f = NULL;
    int status, rc;

    status = cli_open_brief(&brief, &path, argc, argv, "BRIEF");
    if (status != EXIT_DONE)
        return status;
    rc = bf_brief_check(&f, brief);
    if (rc != BF_OK) {
        bf_brief_free(brief);
        return cli_fail_bf(rc, "check");
    }
    if (cli_json)
        cli_print_json(json_pack("{s:s?, s:b, s:I, s:I, s:o}", "brief", bf_brief_name(brief), "ok",
                                 bf_findings_blocking(f) == 0, "blocking",
                                 (json_int_t)bf_findings_blocking(f), "warnings",
                                 (json_int_t)(bf_findings_count(f) - bf_findings_blocking(f)),
                                 "findings", cli_findings_json(f)));
    else
        print_findings(brief, f);
    status = bf_findings_blocking(f) ? EXIT_BLOCKED : EXIT_DONE;
    bf_findings_free(f);
    bf_brief_free(brief);
    return status;
}
