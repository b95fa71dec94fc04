/*
 * backfill check BRIEF [--ledger FILE]: preflight findings; exit 3 when any
 * finding blocks. With --ledger, a completed test slice of the brief in that
 * ledger is the runtime estimate: the "missing-runtime-estimate" warning is
 * dropped and the estimate printed instead.
 */
#include <string.h>

#include "cli.h"

#define NO_ESTIMATE "missing-runtime-estimate"

struct estimate {
    int found;
    double seconds;
    int64_t rows;
};

/* Whether finding i is shown: the runtime warning goes when a test slice gave an estimate. */
static int shown(const bf_findings *f, size_t i, const struct estimate *e)
{
    return !(e->found && strcmp(bf_findings_code(f, i), NO_ESTIMATE) == 0);
}

static void print_findings(const bf_brief *brief, const bf_findings *f, const struct estimate *e)
{
    size_t blocking = bf_findings_blocking(f), warns = 0;

    for (size_t i = 0; i < bf_findings_count(f); i++) {
        if (!shown(f, i, e))
            continue;
        if (bf_findings_severity(f, i) != BF_SEVERITY_BLOCK)
            warns++;
        printf("%-5s %s %s: %s\n", bf_findings_severity(f, i) == BF_SEVERITY_BLOCK ? "block" : "warn",
               bf_findings_code(f, i), bf_findings_path(f, i), bf_findings_message(f, i));
    }
    if (e->found) {
        char secs[40];

        cli_real_text(secs, sizeof secs, (double)(long long)(e->seconds * 10 + 0.5) / 10);
        printf("runtime estimate: about %ss for %lld rows (from the latest test slice)\n", secs,
               (long long)e->rows);
    }
    printf("%s: %zu blocking, %zu warning%s; %s\n",
           bf_brief_name(brief) ? bf_brief_name(brief) : "(unnamed brief)", blocking, warns,
           warns == 1 ? "" : "s", blocking ? "the brief does not run" : "ready to plan");
}

/* The findings shown, as JSON. */
static json_t *findings_json(const bf_findings *f, const struct estimate *e)
{
    json_t *all = cli_findings_json(f), *list = json_array();

    for (size_t i = 0; all && list && i < bf_findings_count(f); i++)
        if (shown(f, i, e))
            json_array_append(list, json_array_get(all, i));
    json_decref(all);
    return list;
}

int cmd_check(int argc, char **argv)
{
    const char *path, *ledger_path = cli_opt("ledger");
    bf_brief *brief = NULL;
    bf_findings *f = NULL;
    bf_ledger *ledger = NULL;
    struct estimate e = {0, 0, 0};
    size_t warns = 0;
    int status, rc;

    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    rc = bf_brief_check(&f, brief);
    if (rc != BF_OK) {
        bf_brief_free(brief);
        return cli_fail_bf(rc, "check");
    }
    if (ledger_path) {
        if ((status = cli_ledger_open(&ledger, ledger_path)) != EXIT_DONE) {
            bf_findings_free(f);
            bf_brief_free(brief);
            return status;
        }
        if (bf_brief_name(brief)) {
            rc = bf_runner_slice_estimate(&e.seconds, &e.rows, ledger, bf_brief_name(brief));
            e.found = rc == BF_OK;
            if (rc != BF_OK && rc != BF_E_NOT_FOUND) {
                status = cli_fail_bf(rc, "check");
                bf_ledger_close(ledger);
                bf_findings_free(f);
                bf_brief_free(brief);
                return status;
            }
        }
        bf_ledger_close(ledger);
    }
    for (size_t i = 0; i < bf_findings_count(f); i++)
        if (shown(f, i, &e) && bf_findings_severity(f, i) != BF_SEVERITY_BLOCK)
            warns++;
    if (cli_json) {
        json_t *o = json_pack("{s:s?, s:b, s:I, s:I, s:o}", "brief", bf_brief_name(brief), "ok",
                              bf_findings_blocking(f) == 0, "blocking",
                              (json_int_t)bf_findings_blocking(f), "warnings",
                              (json_int_t)warns, "findings", findings_json(f, &e));

        if (o && e.found)
            json_object_set_new(o, "estimate", json_pack("{s:f, s:I}", "seconds", e.seconds,
                                                         "rows", (json_int_t)e.rows));
        cli_print_json(o);
    } else {
        print_findings(brief, f, &e);
    }
    status = bf_findings_blocking(f) ? EXIT_BLOCKED : EXIT_DONE;
    bf_findings_free(f);
    bf_brief_free(brief);
    return status;
}
