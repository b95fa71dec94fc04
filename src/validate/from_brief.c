/*
 * The adapter from a brief: the only file of the validate module that reads
 * briefs, so checks from a brief and checks added as JSON are validated by
 * the brief's own schema, with the same messages.
 */
#include <string.h>

#include "backfill/brief.h"
#include "common/json.h"
#include "validate/validate_internal.h"

static int add_from_text(bf_validator *v, const char *text)
{
    json_error_t jerr;
    json_t *check = bf__json_loads(text, 0, &jerr);
    int rc;

    if (!check)
        return bf__error(BF_E_PARSE, "validation check: %s", jerr.text);
    rc = bf__validator_add_json(v, check);
    json_decref(check);
    return rc;
}

int bf_validator_add_check_json(bf_validator *v, const char *json)
{
    bf_brief *scratch = NULL;
    char *canon = NULL;
    int rc;

    if (!v || !json)
        return bf__error(BF_E_INVALID, "bf_validator_add_check_json: NULL argument");
    /* Validate through the brief's schema: one set of rules and messages. */
    if ((rc = bf_brief_new(&scratch)) != BF_OK)
        return rc;
    rc = bf_brief_add_check_json(scratch, json);
    if (rc == BF_OK)
        rc = bf_brief_check_json(&canon, scratch, 0);
    if (rc == BF_OK)
        rc = add_from_text(v, canon);
    bf_free(canon);
    bf_brief_free(scratch);
    return rc;
}

int bf_validator_new_from_brief(bf_validator **out, const bf_brief *brief)
{
    const char **key = NULL, **cols = NULL;
    size_t nk, nc;
    bf_validator *v = NULL;
    int64_t lo, hi;
    int rc;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_validator_new_from_brief: NULL argument");
    *out = NULL;
    if (!bf_brief_target_table(brief))
        return bf__error(BF_E_INVALID, "brief: $.target.table: a validator needs the target table");
    nk = bf_brief_key_count(brief);
    nc = bf_brief_column_count(brief);
    key = bf__calloc(nk + 1, sizeof *key);
    cols = bf__calloc(nc + 1, sizeof *cols);
    if (!key || !cols) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t i = 0; i < nk; i++)
        key[i] = bf_brief_key(brief, i);
    for (size_t i = 0; i < nc; i++)
        cols[i] = bf_brief_column(brief, i);
    rc = bf_validator_new(&v, bf_brief_target_table(brief), key, nk, cols, nc);
    for (size_t i = 0; rc == BF_OK && i < bf_brief_check_count(brief); i++) {
        char *text = NULL;

        rc = bf_brief_check_json(&text, brief, i);
        if (rc == BF_OK)
            rc = add_from_text(v, text);
        bf_free(text);
    }
    if (rc == BF_OK && bf_brief_expected_rows_min(&lo, brief) == BF_OK &&
        bf_brief_expected_rows_max(&hi, brief) == BF_OK)
        rc = bf_validator_set_expected_rows(v, lo, hi);
    if (rc == BF_OK) {
        *out = v;
        v = NULL;
    }
done:
    bf_validator_free(v);
    bf__free(key);
    bf__free(cols);
    return rc;
}
