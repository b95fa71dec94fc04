/*
 * The report module inside: the facts of a report are gathered once into a
 * JSON object (facts.c), which is the JSON output itself; the Markdown is
 * rendered from that object (markdown.c), so both formats say the same.
 */
#ifndef BF_REPORT_INTERNAL_H
#define BF_REPORT_INTERNAL_H

#include <jansson.h>

#include "backfill.h"
#include "common/internal.h"

/*
 * The facts of a brief alone (run_id 0, ledger NULL) or of run `run_id` of
 * `ledger`, at `stage`: *out is the JSON object of the "backfill-report/1"
 * format, which the caller releases with json_decref().
 */
int bf__report_facts(json_t **out, const bf_brief *brief, bf_ledger *ledger, int64_t run_id,
                     bf_report_stage stage);

/* The Markdown of facts made by bf__report_facts(); the caller frees *out with bf__free(). */
int bf__report_markdown(char **out, const json_t *facts);

/* "2025-01-01T05:00:00Z" (".ffffffZ" when the instant has microseconds); "" for 0. */
void bf__report_iso(char *buf, size_t size, int64_t us);

#endif
