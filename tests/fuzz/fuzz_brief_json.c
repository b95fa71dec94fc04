/*
 * Fuzz target: loading any bytes as a brief either fails cleanly or yields a
 * brief that checks, renders and saves, and whose saved form loads back to
 * the same text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    bf_brief *brief = NULL, *again = NULL;
    bf_findings *findings = NULL;
    char *saved = NULL, *resaved = NULL, *page = NULL;

    if (bf_brief_load_json(&brief, (const char *)data, size) != BF_OK)
        return 0;
    if (bf_brief_check(&findings, brief) != BF_OK)
        abort();
    if (bf_brief_render_markdown(&page, brief) != BF_OK)
        abort();
    if (bf_brief_save_json(&saved, brief) != BF_OK ||
        bf_brief_load_json(&again, saved, strlen(saved)) != BF_OK ||
        bf_brief_save_json(&resaved, again) != BF_OK || strcmp(saved, resaved) != 0)
        abort();
    bf_free(page);
    bf_free(saved);
    bf_free(resaved);
    bf_findings_free(findings);
    bf_brief_free(again);
    bf_brief_free(brief);
    return 0;
}
