/*
 * Fuzz target: any bytes given to bf_brief_load_json are refused or accepted
 * cleanly, and whatever is accepted saves, reloads to the same text, and goes
 * through preflight, lineage and the one-page rendering without failing.
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
    bf_lineage *lineage = NULL;
    char *saved = NULL, *resaved = NULL, *page = NULL;
    int rc;

    if (bf_brief_load_json(&brief, (const char *)data, size) != BF_OK)
        return 0;
    if (bf_brief_save_json(&saved, brief) != BF_OK ||
        bf_brief_load_json(&again, saved, strlen(saved)) != BF_OK ||
        bf_brief_save_json(&resaved, again) != BF_OK || strcmp(saved, resaved) != 0)
        abort();
    if (bf_brief_check(&findings, brief) != BF_OK || bf_brief_render_markdown(&page, brief) != BF_OK)
        abort();
    rc = bf_lineage_new(&lineage, brief);
    if (rc != BF_OK && rc != BF_E_INVALID)
        abort();
    bf_lineage_free(lineage);
    bf_free(page);
    bf_findings_free(findings);
    bf_free(resaved);
    bf_free(saved);
    bf_brief_free(again);
    bf_brief_free(brief);
    return 0;
}
