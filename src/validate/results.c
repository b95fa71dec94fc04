/* bf_results: per-check outcomes, their JSON, and custom checks' result setters. */
#include <string.h>

#include "common/json.h"
#include "validate/results_internal.h"

static const char *const outcome_names[] = {"pass", "warn", "fail", "error", "skipped"};

const char *bf_outcome_name(bf_outcome o)
{
    return (unsigned)o < BF_ARRAY_LEN(outcome_names) ? outcome_names[o] : NULL;
}

int bf__results_new(bf_results **out, const bf_batch *batch)
{
    bf_results *r = bf__calloc(1, sizeof *r);

    *out = NULL;
    if (!r)
        return bf__nomem();
    if (batch && !(r->batch = bf__strdup(bf_batch_label(batch)))) {
        bf__free(r);
        return bf__nomem();
    }
    *out = r;
    return BF_OK;
}

int bf__results_add(bf__rentry **out, bf_results *r, const char *check, const char *name,
                    bf_check_severity severity)
{
    bf__rentry *e;

    if (bf__grow((void **)&r->e, &r->cap, r->count + 1, sizeof *r->e) != BF_OK)
        return bf__nomem();
    e = &r->e[r->count];
    memset(e, 0, sizeof *e);
    e->severity = severity;
    e->check = bf__strdup(check);
    e->name = name ? bf__strdup(name) : NULL;
    e->samples = json_array();
    r->count++;
    if (!e->check || (name && !e->name) || !e->samples)
        return bf__nomem();
    *out = e;
    return BF_OK;
}

static void entry_dispose(bf__rentry *e)
{
    bf__free(e->check);
    bf__free(e->name);
    bf__free(e->observed);
    bf__free(e->expected);
    bf__free(e->message);
    bf__free(e->samples_text);
    json_decref(e->samples);
    json_decref(e->extra);
}

void bf_results_free(bf_results *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->count; i++)
        entry_dispose(&r->e[i]);
    bf__free(r->e);
    bf__free(r->batch);
    bf__free(r);
}

static int set_text(char **slot, const char *text)
{
    char *copy = bf__strdup(text ? text : "");

    if (!copy)
        return bf__nomem();
    bf__free(*slot);
    *slot = copy;
    return BF_OK;
}

int bf__rentry_set(bf__rentry *e, bf_outcome outcome, const char *observed, const char *expected,
                   const char *message)
{
    e->outcome = outcome;
    if (set_text(&e->observed, observed) != BF_OK || set_text(&e->expected, expected) != BF_OK ||
        set_text(&e->message, message) != BF_OK)
        return BF_E_NOMEM;
    return BF_OK;
}

int bf__rentry_verdict(bf__rentry *e, int failed, const char *observed, const char *expected,
                       const char *message)
{
    bf_outcome o = !failed ? BF_OUTCOME_PASS
                   : e->severity == BF_CHECK_SEVERITY_WARN ? BF_OUTCOME_WARN
                                                           : BF_OUTCOME_FAIL;
    return bf__rentry_set(e, o, observed, expected, message);
}

int bf__rentry_sample(bf__rentry *e, json_t *sample)
{
    if (!sample)
        return bf__nomem();
    if (json_array_append_new(e->samples, sample) != 0)
        return bf__nomem();
    return BF_OK;
}

static bf__rentry *entry_at(const bf_results *r, size_t i)
{
    return r && i < r->count ? &r->e[i] : NULL;
}
#define ENTRY(r, i) entry_at(r, i)

size_t bf_results_count(const bf_results *r)
{
    return r ? r->count : 0;
}
const char *bf_results_batch(const bf_results *r)
{
    return r ? r->batch : NULL;
}
const char *bf_results_check(const bf_results *r, size_t i)
{
    return ENTRY(r, i) ? r->e[i].check : NULL;
}
const char *bf_results_name(const bf_results *r, size_t i)
{
    return ENTRY(r, i) ? r->e[i].name : NULL;
}
bf_check_severity bf_results_severity(const bf_results *r, size_t i)
{
    return ENTRY(r, i) ? r->e[i].severity : BF_CHECK_SEVERITY_ERROR;
}
bf_outcome bf_results_outcome(const bf_results *r, size_t i)
{
    return ENTRY(r, i) ? r->e[i].outcome : BF_OUTCOME_ERROR;
}
const char *bf_results_observed(const bf_results *r, size_t i)
{
    return ENTRY(r, i) && r->e[i].observed ? r->e[i].observed : (ENTRY(r, i) ? "" : NULL);
}
const char *bf_results_expected(const bf_results *r, size_t i)
{
    return ENTRY(r, i) && r->e[i].expected ? r->e[i].expected : (ENTRY(r, i) ? "" : NULL);
}
const char *bf_results_message(const bf_results *r, size_t i)
{
    return ENTRY(r, i) && r->e[i].message ? r->e[i].message : (ENTRY(r, i) ? "" : NULL);
}

const char *bf_results_samples_json(const bf_results *r, size_t i)
{
    bf__rentry *e = ENTRY(r, i);

    if (!e)
        return NULL;
    if (!e->samples_text && bf__json_dump(&e->samples_text, e->samples, JSON_COMPACT) != BF_OK)
        return NULL;
    return e->samples_text;
}

size_t bf_results_tally(const bf_results *r, bf_outcome o)
{
    size_t n = 0;

    for (size_t i = 0; r && i < r->count; i++)
        n += r->e[i].outcome == o;
    return n;
}

int bf_results_status(const bf_results *r)
{
    if (!r)
        return bf__error(BF_E_INVALID, "bf_results_status: NULL argument");
    for (size_t i = 0; i < r->count; i++)
        if (r->e[i].outcome == BF_OUTCOME_FAIL || r->e[i].outcome == BF_OUTCOME_ERROR)
            return bf__error(BF_E_VALIDATION, "%s", r->e[i].message ? r->e[i].message : "");
    return BF_OK;
}

int bf_results_to_json(char **out, const bf_results *r)
{
    json_t *doc, *checks, *counts;
    int rc = BF_OK;

    if (!out || !r)
        return bf__error(BF_E_INVALID, "bf_results_to_json: NULL argument");
    *out = NULL;
    doc = json_object();
    checks = json_array();
    counts = json_object();
    if (!doc || !checks || !counts) {
        json_decref(doc);
        json_decref(checks);
        json_decref(counts);
        return bf__nomem();
    }
    json_object_set_new(doc, "batch", r->batch ? json_string(r->batch) : json_null());
    for (int o = BF_OUTCOME_PASS; o <= BF_OUTCOME_SKIPPED; o++)
        json_object_set_new(counts, outcome_names[o],
                            json_integer((json_int_t)bf_results_tally(r, (bf_outcome)o)));
    json_object_set_new(doc, "status",
                        json_string(bf_results_tally(r, BF_OUTCOME_FAIL) +
                                            bf_results_tally(r, BF_OUTCOME_ERROR)
                                        ? "fail"
                                        : "pass"));
    json_object_set_new(doc, "counts", counts);
    for (size_t i = 0; i < r->count; i++) {
        const bf__rentry *e = &r->e[i];
        json_t *c = json_object();

        if (!c || json_array_append_new(checks, c) != 0) {
            rc = bf__nomem();
            break;
        }
        json_object_set_new(c, "check", json_string(e->check));
        json_object_set_new(c, "name", e->name ? json_string(e->name) : json_null());
        json_object_set_new(c, "severity",
                            json_string(e->severity == BF_CHECK_SEVERITY_WARN ? "warn" : "error"));
        json_object_set_new(c, "outcome", json_string(outcome_names[e->outcome]));
        json_object_set_new(c, "observed", json_string(e->observed ? e->observed : ""));
        json_object_set_new(c, "expected", json_string(e->expected ? e->expected : ""));
        json_object_set_new(c, "message", json_string(e->message ? e->message : ""));
        json_object_set(c, "samples", e->samples);
        if (e->extra)
            json_object_update(c, e->extra);
    }
    json_object_set_new(doc, "checks", checks);
    if (rc == BF_OK)
        rc = bf__json_dump(out, doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return rc;
}

/* ---- custom checks ---- */

int bf_check_result_set(bf_check_result *res, int failed, const char *observed,
                        const char *expected, const char *message)
{
    if (!res)
        return bf__error(BF_E_INVALID, "bf_check_result_set: NULL argument");
    res->set = 1;
    return bf__rentry_verdict(res->e, failed, observed, expected, message);
}

int bf_check_result_add_sample(bf_check_result *res, const char *text)
{
    json_error_t jerr;
    json_t *j;

    if (!res || !text)
        return bf__error(BF_E_INVALID, "bf_check_result_add_sample: NULL argument");
    j = bf__json_loads(text, 0, &jerr);
    if (!j || !json_is_object(j)) {
        json_decref(j);
        return bf__error(BF_E_PARSE, "check %s: a sample must be a JSON object", res->e->check);
    }
    return bf__rentry_sample(res->e, j);
}

int bf__results_total(bf_value *out, const bf_results *r, size_t i)
{
    if (!out || !r || i >= r->count || !r->e[i].has_total)
        return BF_E_NOT_FOUND;
    *out = r->e[i].total;
    return BF_OK;
}
