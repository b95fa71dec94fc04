#include <jansson.h>
#include <string.h>

#include "common/internal.h"
#include "common/json.h"
#include "plan/plan_internal.h"

#define PLAN_FORMAT "backfill-plan/1"

static json_t *param_json(const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        return json_integer(v->i);
    case BF_VALUE_REAL:
        return json_real(v->r);
    case BF_VALUE_TEXT:
        return json_stringn(v->s, v->len);
    default:
        return json_null();
    }
}

int bf_plan_to_json(char **out, const bf_plan *plan)
{
    json_t *root, *batches;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_plan_to_json: out is NULL");
    *out = NULL;
    if (!plan)
        return bf__error(BF_E_INVALID, "bf_plan_to_json: plan is NULL");
    root = json_pack("{s:s, s:s, s:s, s:s, s:s, s:I}", "format", PLAN_FORMAT, "dimension",
                     bf_dimension_name(bf_plan_dimension(plan)), "column", bf_plan_column(plan),
                     "fingerprint", bf_plan_fingerprint(plan), "pin", bf__plan_pin(plan), "count",
                     (json_int_t)bf_plan_count(plan));
    batches = json_array();
    if (!root || !batches || json_object_set_new(root, "batches", batches)) {
        json_decref(root);
        return bf__nomem();
    }
    for (size_t i = 0; i < bf_plan_count(plan); i++) {
        const bf_batch *b = bf_plan_batch(plan, i);
        json_t *params = json_object();
        json_t *jb = json_pack("{s:s, s:I, s:I}", "label", bf_batch_label(b), "lo",
                               (json_int_t)bf_batch_lo(b), "hi", (json_int_t)bf_batch_hi(b));

        if (!params || !jb || json_object_set_new(jb, "params", params) ||
            json_array_append_new(batches, jb)) {
            json_decref(jb);
            json_decref(root);
            return bf__nomem();
        }
        for (size_t p = 0; p < bf_batch_param_count(b); p++) {
            bf_value v;

            bf_batch_param_at(&v, b, p);
            if (json_object_set_new(params, bf_batch_param_name(b, p), param_json(&v))) {
                json_decref(root);
                return bf__nomem();
            }
        }
    }
    rc = bf__json_dump(out, root, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(root);
    return rc;
}

static int parse_dimension(const char *name, bf_dimension *out)
{
    for (int d = BF_DIM_TIME; d <= BF_DIM_BUCKET; d++)
        if (strcmp(bf_dimension_name((bf_dimension)d), name) == 0) {
            *out = (bf_dimension)d;
            return BF_OK;
        }
    return bf__error(BF_E_PARSE, "plan: $.dimension: unknown dimension \"%s\"", name);
}

/* How a message names a JSON value's type, by json_type. */
static const char *const json_kinds[] = {"an object", "an array", "a string", "an integer",
                                         "a real",    "true",     "false",    "null"};

/*
 * Member `name`, of JSON type `type`, of the plan ("$") or of a batch
 * ("$.batches[3]"); BF_E_PARSE naming it when it is missing or of another
 * type. Other members are not looked at: `backfill plan --json` adds its own
 * (brief, first, last, ordinal, lo_iso, rows, ...), and the fingerprint
 * covers what is read.
 */
static int member(json_t **out, json_t *obj, const char *path, const char *name, json_type type)
{
    json_t *v = json_object_get(obj, name);

    *out = v;
    if (!v)
        return bf__error(BF_E_PARSE, "plan: %s.%s is missing: %s", path, name,
                         strcmp(path, "$") == 0 ? "a plan has format, dimension, column, "
                                                  "fingerprint, pin, count and batches"
                                                : "each batch has label, lo, hi and params");
    if (json_typeof(v) != type)
        return bf__error(BF_E_PARSE, "plan: %s.%s: expected %s, got %s", path, name,
                         json_kinds[type], json_kinds[json_typeof(v)]);
    return BF_OK;
}

static int parse_batch(bf_plan *plan, size_t index, json_t *jb)
{
    const char *names[BF_BATCH_MAX_PARAMS];
    bf_value values[BF_BATCH_MAX_PARAMS];
    json_t *label, *lo, *hi, *params, *v;
    const char *key;
    char path[48];
    size_t n = 0;
    int rc;

    snprintf(path, sizeof path, "$.batches[%zu]", index);
    if (!json_is_object(jb))
        return bf__error(BF_E_PARSE, "plan: %s: expected an object, got %s", path,
                         json_kinds[json_typeof(jb)]);
    if ((rc = member(&label, jb, path, "label", JSON_STRING)) ||
        (rc = member(&lo, jb, path, "lo", JSON_INTEGER)) ||
        (rc = member(&hi, jb, path, "hi", JSON_INTEGER)) ||
        (rc = member(&params, jb, path, "params", JSON_OBJECT)))
        return rc;
    if (json_object_size(params) > BF_BATCH_MAX_PARAMS)
        return bf__error(BF_E_PARSE, "plan: %s.params: more than %d parameters", path,
                         BF_BATCH_MAX_PARAMS);
    json_object_foreach(params, key, v) {
        memset(&values[n], 0, sizeof values[n]);
        names[n] = key;
        if (json_is_integer(v)) {
            values[n].type = BF_VALUE_INT;
            values[n].i = json_integer_value(v);
        } else if (json_is_real(v)) {
            values[n].type = BF_VALUE_REAL;
            values[n].r = json_real_value(v);
        } else if (json_is_string(v)) {
            values[n].type = BF_VALUE_TEXT;
            values[n].s = json_string_value(v);
            values[n].len = json_string_length(v);
        } else if (json_is_null(v)) {
            values[n].type = BF_VALUE_NULL;
        } else {
            return bf__error(BF_E_PARSE, "plan: %s.params.%s: expected a scalar", path, key);
        }
        n++;
    }
    return bf__plan_add(plan, json_integer_value(lo), json_integer_value(hi),
                        json_string_value(label), n, names, values);
}

int bf_plan_from_json(bf_plan **out, const char *json)
{
    json_error_t err;
    json_t *root, *format, *dimension, *column, *fingerprint, *pin, *count, *batches;
    bf_dimension dim = BF_DIM_TIME;
    bf_plan *plan = NULL;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_plan_from_json: out is NULL");
    *out = NULL;
    if (!json)
        return bf__error(BF_E_INVALID, "bf_plan_from_json: json is NULL");
    root = bf__json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!root)
        return bf__error(BF_E_PARSE, "plan: %d:%d: %s", err.line, err.column, err.text);
    if (!json_is_object(root)) {
        rc = bf__error(BF_E_PARSE, "plan: expected an object, got %s",
                       json_kinds[json_typeof(root)]);
        goto done;
    }
    /* The format first: another document is not a plan missing its members. */
    if ((rc = member(&format, root, "$", "format", JSON_STRING)))
        goto done;
    if (strcmp(json_string_value(format), PLAN_FORMAT) != 0) {
        rc = bf__error(BF_E_PARSE, "plan: $.format: expected \"%s\", got \"%s\"", PLAN_FORMAT,
                       json_string_value(format));
        goto done;
    }
    if ((rc = member(&dimension, root, "$", "dimension", JSON_STRING)) ||
        (rc = member(&column, root, "$", "column", JSON_STRING)) ||
        (rc = member(&fingerprint, root, "$", "fingerprint", JSON_STRING)) ||
        (rc = member(&pin, root, "$", "pin", JSON_STRING)) ||
        (rc = member(&count, root, "$", "count", JSON_INTEGER)) ||
        (rc = member(&batches, root, "$", "batches", JSON_ARRAY)))
        goto done;
    if ((json_int_t)json_array_size(batches) != json_integer_value(count)) {
        rc = bf__error(BF_E_PARSE, "plan: $.batches: expected an array of %lld batches",
                       (long long)json_integer_value(count));
        goto done;
    }
    rc = parse_dimension(json_string_value(dimension), &dim);
    if (rc)
        goto done;
    rc = bf__plan_new(&plan, dim, json_string_value(column), json_array_size(batches));
    for (size_t i = 0; rc == BF_OK && i < json_array_size(batches); i++)
        rc = parse_batch(plan, i, json_array_get(batches, i));
    if (rc == BF_OK)
        rc = bf__plan_seal(plan, json_string_value(pin));
    if (rc == BF_OK && strcmp(bf_plan_fingerprint(plan), json_string_value(fingerprint)) != 0)
        rc = bf__error(BF_E_CONFLICT,
                       "plan: recorded fingerprint %s does not match its batches (%s): the plan "
                       "was edited",
                       json_string_value(fingerprint), bf_plan_fingerprint(plan));
done:
    json_decref(root);
    if (rc) {
        bf_plan_free(plan);
        return rc;
    }
    *out = plan;
    return BF_OK;
}
