/*
 * The validator: its checks, the before and after phases, and the built-in
 * checks. Statements are written through the driver's SQL layer (its quoter
 * and binder); values are always bound.
 */
#include <math.h>
#include <string.h>

#include "common/json.h"
#include "common/versioned.h"
#include "driver/sql.h"
#include "validate/results_internal.h"

static const char *const kind_names[] = {NULL,     "row_count", "unique",  "not_null",
                                         "references", "metric", "unchanged_columns",
                                         "records", "sql",      "coverage", "completeness",
                                         "footprint"};

/* ---- the validator ---- */

static int copy_names(char ***out, const char *const *names, size_t count)
{
    *out = NULL;
    if (!count)
        return BF_OK;
    if (!names)
        return bf__error(BF_E_INVALID, "validator: NULL column list");
    *out = bf__calloc(count, sizeof **out);
    if (!*out)
        return bf__nomem();
    for (size_t i = 0; i < count; i++) {
        if (!names[i])
            return bf__error(BF_E_INVALID, "validator: NULL column name");
        if (!((*out)[i] = bf__strdup(names[i])))
            return bf__nomem();
    }
    return BF_OK;
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; names && i < count; i++)
        bf__free(names[i]);
    bf__free(names);
}

int bf_validator_new(bf_validator **out, const char *table, const char *const *key,
                     size_t key_count, const char *const *columns, size_t column_count)
{
    bf_validator *v;
    int rc;

    if (!out || !table)
        return bf__error(BF_E_INVALID, "bf_validator_new: NULL argument");
    *out = NULL;
    if (!(v = bf__calloc(1, sizeof *v)))
        return bf__nomem();
    v->max_samples = 10;
    v->key_count = key_count;
    v->column_count = column_count;
    if (!(v->table = bf__strdup(table)))
        rc = bf__nomem();
    else if ((rc = copy_names(&v->key, key, key_count)) == BF_OK)
        rc = copy_names(&v->columns, columns, column_count);
    if (rc != BF_OK) {
        bf_validator_free(v);
        return rc;
    }
    *out = v;
    return BF_OK;
}

void bf_validator_free(bf_validator *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->count; i++) {
        json_decref(v->checks[i].cfg);
        bf__free(v->checks[i].kind_name);
        if (v->checks[i].free_ud)
            v->checks[i].free_ud(v->checks[i].ud);
    }
    bf__free(v->checks);
    bf__free(v->table);
    free_names(v->key, v->key_count);
    free_names(v->columns, v->column_count);
    bf__free(v->written);
    bf__free(v->rows_written);
    bf__free(v);
}

static bf__vcheck *new_check(bf_validator *v)
{
    if (bf__grow((void **)&v->checks, &v->cap, v->count + 1, sizeof *v->checks) != BF_OK) {
        bf__nomem();
        return NULL;
    }
    memset(&v->checks[v->count], 0, sizeof v->checks[v->count]);
    return &v->checks[v->count];
}

int bf__validator_add_json(bf_validator *v, json_t *cfg)
{
    const char *kind = json_string_value(json_object_get(cfg, "check"));
    const char *sev = json_string_value(json_object_get(cfg, "severity"));
    const char *per = json_string_value(json_object_get(cfg, "per"));
    bf__vcheck *c;
    int k = 0;

    for (size_t i = 1; kind && i < BF_ARRAY_LEN(kind_names); i++)
        if (strcmp(kind, kind_names[i]) == 0)
            k = (int)i;
    if (!k)
        return bf__error(BF_E_INVALID, "validation check: unknown check \"%s\"", kind ? kind : "");
    if (!(c = new_check(v)))
        return BF_E_NOMEM;
    c->kind = k;
    c->cfg = json_incref(cfg);
    c->severity = sev && strcmp(sev, "warn") == 0 ? BF_CHECK_SEVERITY_WARN
                                                  : BF_CHECK_SEVERITY_ERROR;
    /* `per` absent: coverage runs for the run, a metric and records for each batch and for
     * the run (the run looks up the records no batch held), the others for each batch. */
    if (per)
        c->phases = strcmp(per, "run") == 0 ? BF__PHASE_RUN : BF__PHASE_BATCH;
    else if (k == BF_CHECK_COVERAGE)
        c->phases = BF__PHASE_RUN;
    else if (k == BF_CHECK_METRIC || k == BF_CHECK_RECORDS)
        c->phases = BF__PHASE_BATCH | BF__PHASE_RUN;
    else
        c->phases = BF__PHASE_BATCH;
    v->count++;
    return BF_OK;
}

int bf_validator_set_expected_rows(bf_validator *v, int64_t min, int64_t max)
{
    bf__vcheck *c;
    json_t *cfg;

    if (!v || min < 0 || max < min)
        return bf__error(BF_E_INVALID, "bf_validator_set_expected_rows: need 0 <= min <= max");
    cfg = json_pack("{sIsI}", "min", (json_int_t)min, "max", (json_int_t)max);
    if (!cfg || !(c = new_check(v))) {
        json_decref(cfg);
        return bf__nomem();
    }
    c->kind = BF__CHECK_EXPECTED_ROWS;
    c->cfg = cfg;
    c->severity = BF_CHECK_SEVERITY_ERROR;
    c->phases = BF__PHASE_RUN;
    v->count++;
    return BF_OK;
}

int bf_validator_set_max_samples(bf_validator *v, size_t n)
{
    if (!v || n > 1000)
        return bf__error(BF_E_INVALID, "bf_validator_set_max_samples: at most 1000 samples");
    v->max_samples = n;
    return BF_OK;
}

int bf_validator_set_table(bf_validator *v, const char *table)
{
    char *copy;

    if (!v || !table || !table[0])
        return bf__error(BF_E_INVALID, "bf_validator_set_table: %s", !v ? "validator is NULL"
                                                                       : "no table");
    if (!(copy = bf__strdup(table)))
        return bf__nomem();
    bf__free(v->table);
    v->table = copy;
    return BF_OK;
}

int bf_validator_set_written(bf_validator *v, const size_t *ordinals, const int64_t *rows,
                             size_t count)
{
    size_t *o = NULL;
    int64_t *r = NULL;

    if (!v || (count && !ordinals))
        return bf__error(BF_E_INVALID, "bf_validator_set_written: NULL argument");
    if (count && (!(o = bf__calloc(count, sizeof *o)) || !(r = bf__calloc(count, sizeof *r)))) {
        bf__free(o);
        return bf__nomem();
    }
    for (size_t i = 0; i < count; i++) {
        o[i] = ordinals[i];
        r[i] = rows ? rows[i] : -1;
    }
    bf__free(v->written);
    bf__free(v->rows_written);
    v->written = o;
    v->rows_written = r;
    v->written_count = count;
    v->has_written = 1;
    return BF_OK;
}

size_t bf_validator_check_count(const bf_validator *v)
{
    return v ? v->count : 0;
}

static const size_t vtable_sizes[] = {0, sizeof(bf_validator_vtable)};
static const bf__struct_desc vtable_desc = {"validator vtable", BF_VALIDATOR_VTABLE_VERSION,
                                            vtable_sizes, NULL};

int bf_validator_vtable_init(bf_validator_vtable *vt, unsigned version)
{
    return bf__struct_init(vt, version, &vtable_desc);
}

int bf_validator_add_custom(bf_validator *v, const char *name, bf_check_severity severity,
                            int per_run, const bf_validator_vtable *vtable, void *userdata,
                            void (*free_userdata)(void *userdata))
{
    bf_validator_vtable vt;
    bf__vcheck *c;
    char *copy;

    if (!v || !name || !name[0] || !vtable)
        return bf__error(BF_E_INVALID, "bf_validator_add_custom: NULL argument");
    if (bf__vtable_check(&vt, vtable, &vtable_desc, "bf_validator_add_custom") != BF_OK)
        return BF_E_ABI;
    if (!vt.after)
        return bf__error(BF_E_INVALID, "validator vtable %s: the required member after is NULL",
                         name);
    if (severity != BF_CHECK_SEVERITY_ERROR && severity != BF_CHECK_SEVERITY_WARN)
        return bf__error(BF_E_INVALID, "validator %s: bad severity", name);
    if (!(copy = bf__strdup(name)))
        return bf__nomem();
    if (!(c = new_check(v))) {
        bf__free(copy);
        return BF_E_NOMEM;
    }
    c->kind = BF__CHECK_CUSTOM;
    c->kind_name = copy;
    c->severity = severity;
    c->phases = per_run ? BF__PHASE_RUN : BF__PHASE_BATCH;
    c->vt = vt;
    c->ud = userdata;
    c->free_ud = free_userdata;
    v->count++;
    return BF_OK;
}
