/* Fuzz target: bf_plan_from_json must refuse or accept any bytes cleanly. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    bf_plan *plan = NULL;
    char *json = NULL;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (bf_plan_from_json(&plan, text) == BF_OK) {
        bf_plan *again = NULL;

        /* Whatever is accepted must write back into an identical plan. */
        if (bf_plan_to_json(&json, plan) != BF_OK || bf_plan_from_json(&again, json) != BF_OK ||
            strcmp(bf_plan_fingerprint(plan), bf_plan_fingerprint(again)) != 0)
            abort();
        bf_plan_free(again);
    }
    bf_free(json);
    bf_plan_free(plan);
    free(text);
    return 0;
}
