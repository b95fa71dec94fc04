/*
 * Reports for the people whose numbers move: the announcement before the
 * run, the maintenance notice while batches run, and the change note after
 * it, in Markdown for people and in JSON for machines. Everything is read
 * from the ledger (the run, its brief as recorded, batches, validations and
 * records); nothing is written.
 */
#ifndef BACKFILL_REPORT_H
#define BACKFILL_REPORT_H

#include <stdint.h>

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
