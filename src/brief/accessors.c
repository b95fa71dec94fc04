/*
 * Typed getters and setters for every scalar field and name list of the
 * brief. Each is one line over the generic operations of brief.c, so that
 * a setter validates exactly what loading validates.
 */
#include <string.h>

#include "brief/brief_internal.h"

/* Set a text field; NULL removes it. */
static int set_str(bf_brief *brief, const char *dotted, const char *value)
{
    json_t *v = NULL;
    int rc;

    if (value) {
        rc = bf__json_text(&v, value, dotted);
        if (rc != BF_OK)
            return rc;
    }
    return bf__brief_set(brief, dotted, v);
}

static int set_int(bf_brief *brief, const char *dotted, int64_t value)
{
    json_t *v = json_integer((json_int_t)value);

    return v ? bf__brief_set(brief, dotted, v) : bf__nomem();
}

static int set_enum(bf_brief *brief, const char *dotted, const bf__enum *e, int value)
{
    const char *name;

    if (value == 0)
        return bf__brief_set(brief, dotted, NULL);
    name = bf__enum_name(e, value);
    if (!name)
        return bf__error(BF_E_INVALID, "$.%s: %d is not a value of this field", dotted, value);
    return set_str(brief, dotted, name);
}

static int add_name(bf_brief *brief, const char *dotted, const char *value)
{
    json_t *v;
    int rc;

    if (!value)
        return bf__error(BF_E_INVALID, "$.%s: cannot add NULL", dotted);
    rc = bf__json_text(&v, value, dotted);
    if (rc != BF_OK)
        return rc;
    return bf__brief_append(brief, dotted, v);
}

#define TEXT_FIELD(fn, dotted)                                                                  \
    const char *bf_brief_##fn(const bf_brief *brief) { return bf__brief_str(brief, dotted); }  \
    int bf_brief_set_##fn(bf_brief *brief, const char *value)                                 \
    {                                                                                          \
        return set_str(brief, dotted, value);                                                  \
    }

#define ENUM_FIELD(fn, type, dotted, table)                                                    \
    type bf_brief_##fn(const bf_brief *brief)                                                  \
    {                                                                                          \
        return (type)bf__brief_enum(brief, dotted, &table);                                    \
    }                                                                                          \
    int bf_brief_set_##fn(bf_brief *brief, type value)                                         \
    {                                                                                          \
        return set_enum(brief, dotted, &table, (int)value);                                    \
    }

#define INT_FIELD(fn, dotted)                                                                  \
    int bf_brief_##fn(int64_t *out, const bf_brief *brief)                                     \
    {                                                                                          \
        return bf__brief_int(out, brief, dotted);                                              \
    }                                                                                          \
    int bf_brief_set_##fn(bf_brief *brief, int64_t value) { return set_int(brief, dotted, value); }

#define BOOL_FIELD(fn, dotted)                                                                 \
    int bf_brief_##fn(const bf_brief *brief)                                                   \
    {                                                                                          \
        return brief && json_is_true(bf__json_at(brief->doc, dotted));                         \
    }                                                                                          \
    int bf_brief_set_##fn(bf_brief *brief, int value)                                          \
    {                                                                                          \
        return bf__brief_set(brief, dotted, json_boolean(value));                              \
    }

#define NAME_LIST(fn, dotted)                                                                  \
    size_t bf_brief_##fn##_count(const bf_brief *brief)                                        \
    {                                                                                          \
        return bf__brief_list_count(brief, dotted);                                            \
    }                                                                                          \
    const char *bf_brief_##fn(const bf_brief *brief, size_t index)                             \
    {                                                                                          \
        return bf__brief_list_item(brief, dotted, index);                                      \
    }                                                                                          \
    int bf_brief_add_##fn(bf_brief *brief, const char *value)                                  \
    {                                                                                          \
        return add_name(brief, dotted, value);                                                 \
    }

#define ENUM_NAME(type, table) \
    const char *bf_##type##_name(bf_##type value) { return bf__enum_name(&table, (int)value); }

ENUM_NAME(risk, bf__risk_enum)
ENUM_NAME(scope_kind, bf__scope_kind_enum)
ENUM_NAME(batch_by, bf__batch_by_enum)
ENUM_NAME(asset_kind, bf__asset_kind_enum)
ENUM_NAME(check_kind, bf__check_kind_enum)

const char *bf_brief_format(const bf_brief *brief)
{
    return bf__brief_str(brief, "format");
}

TEXT_FIELD(name, "name")
TEXT_FIELD(reason, "reason")
TEXT_FIELD(owner, "owner")
TEXT_FIELD(reviewer, "reviewer")
TEXT_FIELD(code_version, "code_version")
TEXT_FIELD(target_table, "target.table")
TEXT_FIELD(time_column, "target.time_column")
TEXT_FIELD(version_table, "write.version_table")
TEXT_FIELD(job_select, "job.select")
TEXT_FIELD(rollback_plan, "rollback.plan")
TEXT_FIELD(rollback_owner, "rollback.owner")
TEXT_FIELD(channel, "communication.channel")

ENUM_FIELD(risk, bf_risk, "risk", bf__risk_enum)
ENUM_FIELD(time_format, bf_time_format, "target.time_format", bf__time_format_enum)
ENUM_FIELD(batch_by, bf_batch_by, "batching.by", bf__batch_by_enum)
ENUM_FIELD(grain, bf_grain, "batching.grain", bf__grain_enum)
ENUM_FIELD(batch_order, bf_batch_order, "batching.order", bf__batch_order_enum)
ENUM_FIELD(write_strategy, bf_write_strategy, "write.strategy", bf__write_strategy_enum)

INT_FIELD(every, "batching.every")
INT_FIELD(width, "batching.width")
INT_FIELD(rows_per_batch, "batching.rows_per_batch")
INT_FIELD(max_concurrency, "batching.max_concurrency")
INT_FIELD(max_attempts, "batching.max_attempts")
INT_FIELD(retry_backoff_s, "batching.retry_backoff_s")
INT_FIELD(lease_s, "batching.lease_s")
INT_FIELD(target_batch_s, "batching.target_batch_s")
INT_FIELD(pause_between_batches_ms, "batching.pause_between_batches_ms")
INT_FIELD(retention_days, "rollback.retention_days")
INT_FIELD(expected_rows_min, "scope.expected_rows.min")
INT_FIELD(expected_rows_max, "scope.expected_rows.max")

BOOL_FIELD(snapshot, "write.snapshot")
BOOL_FIELD(delete_missing, "write.delete_missing")
BOOL_FIELD(allow_non_idempotent, "write.allow_non_idempotent")

NAME_LIST(key, "target.key")
NAME_LIST(column, "target.columns")
NAME_LIST(source, "sources")
NAME_LIST(stakeholder, "communication.stakeholders")
