/*
 * Reports for the people whose numbers move: the announcement before the
 * run, the maintenance notice while batches run, and the change note after
 * it, in Markdown for people and in JSON for machines. Everything is read
 * from the ledger (the run, its brief as recorded, batches, validations and
 * records); nothing is written, and the warehouse is never opened.
 *
 * A report does not read the clock: the same ledger gives the same text.
 * Instants are shown in UTC and in the brief's time zone; numbers are the
 * same in every locale. The JSON is one object of the "backfill-report/1"
 * format with the same facts as the Markdown; the change note ends with
 * the runbook's definition of done, each item with its evidence. The
 * stages, the checklist and the JSON keys are in docs/report.md.
 */
#ifndef BACKFILL_REPORT_H
#define BACKFILL_REPORT_H

#include <stdint.h>

#include "backfill/common.h"
#include "backfill/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Which note. */
typedef enum bf_report_stage {
    BF_REPORT_BEFORE = 1, /* the announcement: what will change, why, when, what may move, who to ask */
    BF_REPORT_DURING = 2, /* the maintenance notice: what is running, how far, when it should end */
    BF_REPORT_AFTER = 3   /* the change note: what changed, validation, metrics, refresh, sign-off */
} bf_report_stage;

/* The output. */
typedef enum bf_report_format {
    BF_REPORT_MARKDOWN = 1,
    BF_REPORT_JSON = 2
} bf_report_format;

/* Names ("before", "markdown"), or NULL out of range; and back (BF_E_INVALID listing the names). */
BF_API const char *bf_report_stage_name(bf_report_stage stage);
BF_API int bf_report_stage_from_name(bf_report_stage *out, const char *name);
BF_API const char *bf_report_format_name(bf_report_format format);
BF_API int bf_report_format_from_name(bf_report_format *out, const char *name);

/*
 * The report of run `run_id` (BF_E_NOT_FOUND naming it) at `stage`, in
 * `format`. *out is NUL-terminated text the caller frees with bf_free().
 * Any stage of any run may be asked for: a run that is not finished gets a
 * report that says so ("awaiting approval: not yet cut over").
 */
BF_API int bf_report_run(char **out, bf_ledger *ledger, int64_t run_id, bf_report_stage stage,
                         bf_report_format format);

/*
 * The announcement from a brief alone, before any run exists (stage must be
 * BF_REPORT_BEFORE; BF_E_INVALID otherwise).
 */
BF_API int bf_report_brief(char **out, const bf_brief *brief, bf_report_stage stage,
                           bf_report_format format);

#ifdef __cplusplus
}
#endif

#endif
