/*
 * Accessors for the brief's structured parts: the scope (one of four kinds),
 * downstream assets and validation checks. Changes go through
 * bf__brief_modify(), so each is validated like loading validates.
 */
#include <string.h>

#include "backfill/time.h"
#include "brief/brief_internal.h"

static const char *const scope_kinds[] = {NULL, "time", "keys", "partitions", "buckets"};

bf_scope_kind bf_brief_scope_kind(const bf_brief *brief)
{
    json_t *scope = brief ? json_object_get(brief->doc, "scope") : NULL;

    for (int k = BF_SCOPE_TIME; k <= BF_SCOPE_BUCKETS; k++)
        if (json_object_get(scope, scope_kinds[k]))
            return (bf_scope_kind)k;
    return BF_SCOPE_NONE;
}

struct scope_ctx {
    const char *kind;
    json_t *value; /* the new scope kind's object; owned by the caller */
};

/* Replace whichever scope kind is there by the new one, keeping expected_rows. */
static int scope_edit(json_t **section, void *arg)
{
    struct scope_ctx *ctx = arg;

    if (json_object_set(*section, ctx->kind, ctx->value) != 0)
        return bf__nomem();
    for (int k = BF_SCOPE_TIME; k <= BF_SCOPE_BUCKETS; k++)
        if (strcmp(scope_kinds[k], ctx->kind) != 0)
            json_object_del(*section, scope_kinds[k]);
    return BF_OK;
}

static int set_scope(bf_brief *brief, const char *kind, json_t *value)
{
    struct scope_ctx ctx = {kind, value};
    int rc;

    if (!value)
        return bf__nomem();
    rc = bf__brief_modify(brief, "scope", scope_edit, &ctx);
    json_decref(value);
    return rc;
}

/* Add a text member (skipped when NULL); on failure frees obj. */
static int add_text(json_t *obj, const char *key, const char *text, const char *dotted)
{
    json_t *v;
    int rc;

    if (!text)
        return BF_OK;
    rc = bf__json_text(&v, text, dotted);
    if (rc == BF_OK && json_object_set_new(obj, key, v) != 0)
        rc = bf__nomem();
    if (rc != BF_OK)
        json_decref(obj);
    return rc;
}

int bf_brief_set_scope_time(bf_brief *brief, const char *start, const char *end,
                            const char *timezone)
{
    json_t *time = json_object();
    int rc;

    if (!time)
        return bf__nomem();
    if ((rc = add_text(time, "start", start, "scope.time.start")) != BF_OK ||
        (rc = add_text(time, "end", end, "scope.time.end")) != BF_OK ||
        (rc = add_text(time, "timezone", timezone, "scope.time.timezone")) != BF_OK)
        return rc;
    return set_scope(brief, "time", time);
}

static json_t *scope_member(const bf_brief *brief, const char *kind, const char *member)
{
    json_t *scope = brief ? json_object_get(brief->doc, "scope") : NULL;

    return json_object_get(json_object_get(scope, kind), member);
}

const char *bf_brief_scope_start(const bf_brief *brief)
{
    return json_string_value(scope_member(brief, "time", "start"));
}

const char *bf_brief_scope_end(const bf_brief *brief)
{
    return json_string_value(scope_member(brief, "time", "end"));
}

const char *bf_brief_scope_timezone(const bf_brief *brief)
{
    json_t *zone = scope_member(brief, "time", "timezone");

    if (zone)
        return json_string_value(zone);
    return bf_brief_scope_kind(brief) == BF_SCOPE_TIME ? "UTC" : NULL;
}

int bf_brief_set_scope_keys(bf_brief *brief, const char *column, int64_t start, int64_t end)
{
    json_t *keys = json_pack("{s:I, s:I}", "start", (json_int_t)start, "end", (json_int_t)end);
    int rc;

    if (!keys)
        return bf__nomem();
    if ((rc = add_text(keys, "column", column, "scope.keys.column")) != BF_OK)
        return rc;
    return set_scope(brief, "keys", keys);
}

static int scope_int(int64_t *out, const bf_brief *brief, const char *kind, const char *member)
{
    json_t *v = scope_member(brief, kind, member);

    if (!out)
        return bf__error(BF_E_INVALID, "$.scope.%s.%s: out is NULL", kind, member);
    if (!json_is_integer(v))
        return bf__error(BF_E_NOT_FOUND, "$.scope.%s.%s: not given", kind, member);
    *out = json_integer_value(v);
    return BF_OK;
}

int bf_brief_scope_key_start(int64_t *out, const bf_brief *brief)
{
    return scope_int(out, brief, "keys", "start");
}

int bf_brief_scope_key_end(int64_t *out, const bf_brief *brief)
{
    return scope_int(out, brief, "keys", "end");
}

int bf_brief_set_scope_partitions(bf_brief *brief, const char *column)
{
    json_t *parts = json_pack("{s:[]}", "values");
    int rc;

    if (!parts)
        return bf__nomem();
    if ((rc = add_text(parts, "column", column, "scope.partitions.column")) != BF_OK)
        return rc;
    return set_scope(brief, "partitions", parts);
}

size_t bf_brief_partition_count(const bf_brief *brief)
{
    return json_array_size(scope_member(brief, "partitions", "values"));
}

int bf_brief_partition(bf_value *out, const bf_brief *brief, size_t index)
{
    json_t *v = json_array_get(scope_member(brief, "partitions", "values"), index);

    if (!out)
        return bf__error(BF_E_INVALID, "bf_brief_partition: out is NULL");
    if (!v)
        return bf__error(BF_E_NOT_FOUND, "$.scope.partitions.values[%zu]: no such value", index);
    memset(out, 0, sizeof *out);
    if (json_is_integer(v)) {
        out->type = BF_VALUE_INT;
        out->i = json_integer_value(v);
    } else {
        out->type = BF_VALUE_TEXT;
        out->s = json_string_value(v);
        out->len = json_string_length(v);
    }
    return BF_OK;
}

int bf_brief_add_partition(bf_brief *brief, const bf_value *value)
{
    json_t *v = NULL;
    int rc;

    if (!brief || !value)
        return bf__error(BF_E_INVALID, "bf_brief_add_partition: brief or value is NULL");
    if (bf_brief_scope_kind(brief) != BF_SCOPE_PARTITIONS)
        return bf__error(BF_E_INVALID,
                         "$.scope.partitions: not the brief's scope; "
                         "call bf_brief_set_scope_partitions first");
    if (value->type == BF_VALUE_INT) {
        v = json_integer((json_int_t)value->i);
        if (!v)
            return bf__nomem();
    } else if (value->type == BF_VALUE_TEXT && value->s) {
        if (memchr(value->s, '\0', value->len))
            return bf__error(BF_E_INVALID, "$.scope.partitions.values: text contains a NUL byte");
        char *text = bf__strndup(value->s, value->len);
        if (!text)
            return bf__nomem();
        rc = bf__json_text(&v, text, "scope.partitions.values");
        bf__free(text);
        if (rc != BF_OK)
            return rc;
    } else {
        return bf__error(BF_E_INVALID, "$.scope.partitions.values: a partition value is an INT or TEXT");
    }
    return bf__brief_append(brief, "scope.partitions.values", v);
}

int bf_brief_set_scope_buckets(bf_brief *brief, const char *column, int64_t count)
{
    json_t *buckets = json_pack("{s:I}", "count", (json_int_t)count);
    int rc;

    if (!buckets)
        return bf__nomem();
    if ((rc = add_text(buckets, "column", column, "scope.buckets.column")) != BF_OK)
        return rc;
    return set_scope(brief, "buckets", buckets);
}

int bf_brief_scope_buckets(int64_t *out, const bf_brief *brief)
{
    return scope_int(out, brief, "buckets", "count");
}

const char *bf_brief_scope_column(const bf_brief *brief)
{
    bf_scope_kind kind = bf_brief_scope_kind(brief);

    if (kind == BF_SCOPE_NONE || kind == BF_SCOPE_TIME)
        return NULL;
    return json_string_value(scope_member(brief, scope_kinds[kind], "column"));
}

/* ---- Downstream assets ------------------------------------------------------ */

static json_t *asset(const bf_brief *brief, size_t index)
{
    return brief ? json_array_get(json_object_get(brief->doc, "downstream"), index) : NULL;
}

size_t bf_brief_downstream_count(const bf_brief *brief)
{
    return brief ? json_array_size(json_object_get(brief->doc, "downstream")) : 0;
}

const char *bf_brief_downstream_name(const bf_brief *brief, size_t index)
{
    return json_string_value(json_object_get(asset(brief, index), "name"));
}

const char *bf_brief_downstream_owner(const bf_brief *brief, size_t index)
{
    return json_string_value(json_object_get(asset(brief, index), "owner"));
}

const char *bf_brief_downstream_refresh_sql(const bf_brief *brief, size_t index)
{
    return json_string_value(json_object_get(asset(brief, index), "refresh_sql"));
}

bf_asset_kind bf_brief_downstream_kind(const bf_brief *brief, size_t index)
{
    int k = bf__enum_value(&bf__asset_kind_enum,
                           json_string_value(json_object_get(asset(brief, index), "kind")));
    return k < 0 ? BF_ASSET_UNSET : (bf_asset_kind)k;
}

size_t bf_brief_downstream_depends_count(const bf_brief *brief, size_t index)
{
    return json_array_size(json_object_get(asset(brief, index), "depends_on"));
}

const char *bf_brief_downstream_depends_on(const bf_brief *brief, size_t index, size_t dep)
{
    return json_string_value(json_array_get(json_object_get(asset(brief, index), "depends_on"), dep));
}

static int append_edit(json_t **section, void *value)
{
    return json_array_append(*section, value) == 0 ? BF_OK : bf__nomem();
}

int bf_brief_add_downstream(bf_brief *brief, const char *name, bf_asset_kind kind,
                            const char *owner, const char *refresh_sql)
{
    const char *kind_name = bf__enum_name(&bf__asset_kind_enum, (int)kind);
    json_t *obj;
    int rc;

    if (!kind_name)
        return bf__error(BF_E_INVALID, "$.downstream[%zu].kind: %d is not an asset kind",
                         bf_brief_downstream_count(brief), (int)kind);
    if (!name)
        return bf__error(BF_E_INVALID, "$.downstream[%zu].name: an asset needs a name",
                         bf_brief_downstream_count(brief));
    obj = json_pack("{s:s}", "kind", kind_name);
    if (!obj)
        return bf__nomem();
    if ((rc = add_text(obj, "name", name, "downstream.name")) != BF_OK ||
        (rc = add_text(obj, "owner", owner, "downstream.owner")) != BF_OK ||
        (rc = add_text(obj, "refresh_sql", refresh_sql, "downstream.refresh_sql")) != BF_OK)
        return rc;
    rc = bf__brief_modify(brief, "downstream", append_edit, obj);
    json_decref(obj);
    return rc;
}

struct dep_ctx {
    size_t index;
    json_t *name;
};

static int dependency_edit(json_t **section, void *arg)
{
    struct dep_ctx *ctx = arg;
    json_t *obj = json_array_get(*section, ctx->index);
    json_t *deps = json_object_get(obj, "depends_on");

    if (!deps) {
        deps = json_array();
        if (!deps || json_object_set_new(obj, "depends_on", deps) != 0)
            return bf__nomem();
    }
    return json_array_append(deps, ctx->name) == 0 ? BF_OK : bf__nomem();
}

int bf_brief_add_downstream_dependency(bf_brief *brief, size_t index, const char *name)
{
    struct dep_ctx ctx = {index, NULL};
    int rc;

    if (!asset(brief, index))
        return bf__error(BF_E_NOT_FOUND, "$.downstream[%zu]: no such asset", index);
    if (!name)
        return bf__error(BF_E_INVALID, "$.downstream[%zu].depends_on: cannot add NULL", index);
    rc = bf__json_text(&ctx.name, name, "downstream.depends_on");
    if (rc != BF_OK)
        return rc;
    rc = bf__brief_modify(brief, "downstream", dependency_edit, &ctx);
    json_decref(ctx.name);
    return rc;
}

/* ---- Validation checks ------------------------------------------------------ */

static json_t *check(const bf_brief *brief, size_t index)
{
    return brief ? json_array_get(json_object_get(brief->doc, "validation"), index) : NULL;
}

size_t bf_brief_check_count(const bf_brief *brief)
{
    return brief ? json_array_size(json_object_get(brief->doc, "validation")) : 0;
}

bf_check_kind bf_brief_check_kind(const bf_brief *brief, size_t index)
{
    int k = bf__enum_value(&bf__check_kind_enum,
                           json_string_value(json_object_get(check(brief, index), "check")));
    return k < 0 ? BF_CHECK_UNSET : (bf_check_kind)k;
}

bf_check_severity bf_brief_check_severity(const bf_brief *brief, size_t index)
{
    int s = bf__enum_value(&bf__check_severity_enum,
                           json_string_value(json_object_get(check(brief, index), "severity")));
    return s == BF_CHECK_SEVERITY_WARN ? BF_CHECK_SEVERITY_WARN : BF_CHECK_SEVERITY_ERROR;
}

bf_check_per bf_brief_check_per(const bf_brief *brief, size_t index)
{
    int p = bf__enum_value(&bf__check_per_enum,
                           json_string_value(json_object_get(check(brief, index), "per")));
    return p < 0 ? BF_CHECK_PER_DEFAULT : (bf_check_per)p;
}

const char *bf_brief_check_name(const bf_brief *brief, size_t index)
{
    return json_string_value(json_object_get(check(brief, index), "name"));
}

int bf_brief_check_json(char **out, const bf_brief *brief, size_t index)
{
    json_t *c = check(brief, index);

    if (!out)
        return bf__error(BF_E_INVALID, "bf_brief_check_json: out is NULL");
    *out = NULL;
    if (!c)
        return bf__error(BF_E_NOT_FOUND, "$.validation[%zu]: no such check", index);
    return bf__json_dump(out, c, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

int bf_brief_add_check_json(bf_brief *brief, const char *json)
{
    size_t index = bf_brief_check_count(brief);
    json_error_t err;
    json_t *c;
    int rc;

    if (!brief || !json)
        return bf__error(BF_E_INVALID, "bf_brief_add_check_json: brief or json is NULL");
    c = bf__json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!c) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return bf__nomem();
        return bf__error(BF_E_PARSE, "$.validation[%zu]:%d:%d: %s", index, err.line, err.column,
                         err.text);
    }
    rc = bf__schema_validate_check(c, index);
    if (rc == BF_OK)
        rc = bf__brief_modify(brief, "validation", append_edit, c);
    json_decref(c);
    return rc;
}

/* ---- batching.window ------------------------------------------------------ */

int bf_brief_window_json(char **out, const bf_brief *brief)
{
    json_t *w;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_brief_window_json: out or brief is NULL");
    *out = NULL;
    w = bf__json_at(brief->doc, "batching.window");
    return w ? bf__json_dump(out, w, JSON_COMPACT | JSON_PRESERVE_ORDER) : BF_OK;
}

int bf_brief_set_window_json(bf_brief *brief, const char *json)
{
    json_error_t err;
    json_t *w;

    if (!brief)
        return bf__error(BF_E_INVALID, "bf_brief_set_window_json: brief is NULL");
    if (!json)
        return bf__brief_set(brief, "batching.window", NULL);
    w = bf__json_loads(json, JSON_REJECT_DUPLICATES, &err);
    if (!w) {
        if (json_error_code(&err) == json_error_out_of_memory)
            return bf__nomem();
        return bf__error(BF_E_PARSE, "$.batching.window:%d:%d: %s", err.line, err.column,
                         err.text);
    }
    return bf__brief_set(brief, "batching.window", w);
}

int bf_brief_window(bf_window **out, const bf_brief *brief)
{
    const char *zone;
    char *json = NULL;
    int rc;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_brief_window: out or brief is NULL");
    *out = NULL;
    rc = bf_brief_window_json(&json, brief);
    if (rc != BF_OK || !json)
        return rc;
    zone = bf_brief_scope_timezone(brief);
    rc = bf_window_new(out, json, zone ? zone : "UTC");
    bf_free(json);
    return rc;
}
