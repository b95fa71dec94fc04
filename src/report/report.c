/*
 * The public calls of the report module: the names of stages and formats,
 * and the report of a run (from the ledger) or of a brief alone.
 */
#include <string.h>

#include "common/json.h"
#include "report/report_internal.h"

static const char *const stage_names[] = {NULL, "before", "during", "after"};
static const char *const format_names[] = {NULL, "markdown", "json"};

const char *bf_report_stage_name(bf_report_stage stage)
{
    return stage >= BF_REPORT_BEFORE && stage <= BF_REPORT_AFTER ? stage_names[stage] : NULL;
}

int bf_report_stage_from_name(bf_report_stage *out, const char *name)
{
    for (int i = BF_REPORT_BEFORE; name && i <= BF_REPORT_AFTER; i++) {
        if (strcmp(name, stage_names[i]) == 0) {
            if (out)
                *out = (bf_report_stage)i;
            return BF_OK;
        }
    }
    return bf__error(BF_E_INVALID, "report stage '%s' is not one of before, during, after",
                     name ? name : "(null)");
}

const char *bf_report_format_name(bf_report_format format)
{
    return format >= BF_REPORT_MARKDOWN && format <= BF_REPORT_JSON ? format_names[format] : NULL;
}

int bf_report_format_from_name(bf_report_format *out, const char *name)
{
    int f = 0;

    if (name && (strcmp(name, "markdown") == 0 || strcmp(name, "md") == 0))
        f = BF_REPORT_MARKDOWN;
    else if (name && strcmp(name, "json") == 0)
        f = BF_REPORT_JSON;
    if (!f)
        return bf__error(BF_E_INVALID, "report format '%s' is not one of markdown (md), json",
                         name ? name : "(null)");
    if (out)
        *out = (bf_report_format)f;
    return BF_OK;
}

static int check_args(char **out, bf_report_stage stage, bf_report_format format, const char *fn)
{
    if (!out)
        return bf__error(BF_E_INVALID, "%s: NULL output", fn);
    *out = NULL;
    if (!bf_report_stage_name(stage))
        return bf__error(BF_E_INVALID, "%s: stage %d is not a report stage (before, during, after)",
                         fn, (int)stage);
    if (!bf_report_format_name(format))
        return bf__error(BF_E_INVALID, "%s: format %d is not a report format (markdown, json)", fn,
                         (int)format);
    return BF_OK;
}

static int render(char **out, json_t *facts, bf_report_format format)
{
    int rc;

    if (format == BF_REPORT_JSON)
        rc = bf__json_dump(out, facts, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    else
        rc = bf__report_markdown(out, facts);
    json_decref(facts);
    return rc;
}

int bf_report_run(char **out, bf_ledger *ledger, int64_t run_id, bf_report_stage stage,
                  bf_report_format format)
{
    json_t *facts = NULL;
    int rc = check_args(out, stage, format, "bf_report_run");

    if (rc != BF_OK)
        return rc;
    if (!ledger)
        return bf__error(BF_E_INVALID, "bf_report_run: NULL ledger");
    if (run_id <= 0)
        return bf__error(BF_E_NOT_FOUND, "report: no run %lld in the ledger %s", (long long)run_id,
                         bf_ledger_path(ledger));
    if ((rc = bf__report_facts(&facts, NULL, ledger, run_id, stage)) != BF_OK)
        return rc;
    return render(out, facts, format);
}

int bf_report_brief(char **out, const bf_brief *brief, bf_report_stage stage,
                    bf_report_format format)
{
    json_t *facts = NULL;
    int rc = check_args(out, stage, format, "bf_report_brief");

    if (rc != BF_OK)
        return rc;
    if (!brief)
        return bf__error(BF_E_INVALID, "bf_report_brief: NULL brief");
    if (stage != BF_REPORT_BEFORE)
        return bf__error(BF_E_INVALID, "bf_report_brief: a brief alone has only the announcement "
                         "(stage before), not the %s stage: report a run for that",
                         bf_report_stage_name(stage));
    if ((rc = bf__report_facts(&facts, brief, NULL, 0, stage)) != BF_OK)
        return rc;
    return render(out, facts, format);
}
