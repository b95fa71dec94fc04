/*
 * Static analysis of a write spec for idempotency: the pattern, the keys
 * against the real target, and a conservative reading of the job's SQL.
 * Every code is documented in docs/idempotency.md.
 */
#include <stdio.h>
#include <string.h>

#include "driver/sql.h"
#include "idempotency/idem_internal.h"

/* The bound parameters of a plan's dimension, as the driver's predicates use them. */
static size_t dimension_params(const char *const **out, bf_dimension dim)
{
    static const char *const time_p[] = {"start", "end"};
    static const char *const key_p[] = {"lo", "hi"};
    static const char *const part_p[] = {"partition"};
    static const char *const bucket_p[] = {"bucket", "buckets"};

    switch (dim) {
    case BF_DIM_TIME:
        *out = time_p;
        return 2;
    case BF_DIM_KEY:
        *out = key_p;
        return 2;
    case BF_DIM_PARTITION:
        *out = part_p;
        return 1;
    case BF_DIM_BUCKET:
        *out = bucket_p;
        return 2;
    }
    *out = NULL;
    return 0;
}

/* The column named `name` as SQL finds it (ASCII case aside), or -1. */
static int find_column(const bf_table_info *info, const char *name)
{
    for (size_t i = 0; i < bf_table_info_column_count(info); i++)
        if (bf__sql_same_ident(bf_table_info_column_name(info, i), name))
            return (int)i;
    return -1;
}

static int check_merge_key(bf_idem_findings *f, bf_driver *driver, const bf_write_spec *spec,
                           const bf_table_info *info, const char *keys)
{
    size_t pk_count = 0, covered = 0;
    bf_rows *samples = NULL;
    int64_t dups = 0;
    char *text = NULL;
    int rc;

    for (size_t i = 0; i < bf_table_info_column_count(info); i++) {
        if (!bf_table_info_column_pk(info, i))
            continue;
        pk_count++;
        for (size_t k = 0; k < spec->key_count; k++)
            covered += bf__sql_same_ident(spec->key[k], bf_table_info_column_name(info, i));
    }
    /* A primary key whose every column is in the merge key makes the merge key unique. */
    if (pk_count && covered == pk_count)
        return BF_OK;
    rc = bf_driver_duplicates(&samples, &dups, driver, spec->table, spec->key, spec->key_count, 3,
                              NULL, NULL);
    if (rc != BF_OK)
        return rc;
    if (dups > 0) {
        rc = bf__idem_describe_keys(&text, samples);
        if (rc == BF_OK)
            rc = bf__idem_findings_add(
                f, "merge-key-not-unique", BF_IDEM_BLOCK, "$.target.key",
                "%lld rows of %s repeat a merge key (%s) or have a NULL in it, e.g. %s: a merge "
                "updates every row of a repeated key and cannot tell them apart, so its result "
                "depends on rows it never wrote",
                (long long)dups, spec->table, keys, text);
    } else {
        rc = bf__idem_findings_add(
            f, "merge-key-not-enforced", BF_IDEM_WARN, "$.target.key",
            "the merge key (%s) is unique in %s today, but no primary key covers it, so nothing "
            "keeps it unique (a UNIQUE index is not seen: the driver describes only the primary "
            "key)",
            keys, spec->table);
    }
    bf__free(text);
    bf_rows_free(samples);
    return rc;
}

static int check_bounds(bf_idem_findings *f, const bf_write_spec *spec, const bf_plan *plan)
{
    const char *const *params;
    size_t count = dimension_params(&params, bf_plan_dimension(plan));
    const char *column = bf_plan_column(plan);
    int rc = BF_OK;

    for (size_t i = 0; i < count && rc == BF_OK; i++) {
        char *other = NULL;
        int near;

        rc = bf__sql_param_near(&near, &other, spec->select, params[i], column);
        if (rc != BF_OK)
            break;
        if (near < 0)
            rc = bf__idem_findings_add(
                f, "overwrite-bounds-mismatch", BF_IDEM_BLOCK, "$.job.select",
                "the job's SELECT does not use :%s, so it does not select the batch's bounds on "
                "%s that the %s deletes and rewrites",
                params[i], column, bf_write_strategy_name(spec->strategy));
        else if (!near)
            rc = bf__idem_findings_add(
                f, "overwrite-bounds-mismatch", BF_IDEM_BLOCK, "$.job.select",
                "the job's SELECT uses :%s%s%s but never beside the plan's column %s: it may "
                "select other rows than the bounds the %s deletes and rewrites",
                params[i], other ? " beside " : "", other ? other : "", column,
                bf_write_strategy_name(spec->strategy));
        bf__free(other);
    }
    return rc;
}

static int join_keys(char **out, const bf_write_spec *spec)
{
    bf__sb sb;

    bf__sb_init(&sb);
    for (size_t k = 0; k < spec->key_count; k++) {
        if (k)
            bf__sb_append(&sb, ", ");
        bf__sb_append(&sb, spec->key[k] ? spec->key[k] : "(null)");
    }
    return bf__sb_finish(&sb, out);
}

static int analyze(bf_idem_findings *f, bf_driver *driver, const bf_write_spec *spec,
                   const bf_plan *plan, const bf_table_info *info)
{
    char *keys = NULL;
    int rc = join_keys(&keys, spec), unknown = 0, reads = 0;

    for (size_t k = 0; k < spec->key_count && rc == BF_OK; k++) {
        if (spec->key[k] && find_column(info, spec->key[k]) >= 0)
            continue;
        unknown = 1;
        rc = bf__idem_findings_add(f, "key-unknown-column", BF_IDEM_BLOCK, "$.target.key",
                                   "the key column %s is not a column of %s",
                                   spec->key[k] ? spec->key[k] : "(null)", spec->table);
    }
    if (rc != BF_OK)
        goto done;
    switch (spec->strategy) {
    case BF_WRITE_APPEND:
        if (!spec->key_count)
            rc = bf__idem_findings_add(
                f, "append-without-key", BF_IDEM_BLOCK, "$.target.key",
                "append adds the job's rows again on every rerun and %s has no key to tell a "
                "repeated row from a new one: a retried batch silently duplicates its rows",
                spec->table);
        else
            rc = bf__idem_findings_add(
                f, "append-not-idempotent", BF_IDEM_WARN, "$.write.strategy",
                "append adds the job's rows again on every rerun; the key (%s) lets the "
                "duplicates be found, not prevented: skip completed batches by their "
                "idempotency key",
                keys);
        break;
    case BF_WRITE_MERGE:
        if (!spec->key_count)
            rc = bf__idem_findings_add(f, "merge-without-key", BF_IDEM_BLOCK, "$.target.key",
                                       "merge into %s needs key columns to match rows by",
                                       spec->table);
        else if (!unknown)
            rc = check_merge_key(f, driver, spec, info, keys);
        if (rc == BF_OK && spec->delete_missing)
            rc = check_bounds(f, spec, plan);
        break;
    default:
        rc = check_bounds(f, spec, plan);
        break;
    }
    if (rc == BF_OK)
        rc = bf__sql_reads_table(&reads, spec->select, spec->table);
    if (rc == BF_OK && reads)
        rc = bf__idem_findings_add(
            f, "job-reads-target", BF_IDEM_WARN, "$.job.select",
            "the job reads its own target %s (after FROM or JOIN): a rerun reads what the first "
            "run wrote, so it is idempotent only if the job's transformation is; the rerun "
            "probe, which never writes the target, cannot see this",
            spec->table);
done:
    bf__free(keys);
    return rc;
}

int bf__idem_check_spec(const bf_write_spec *spec, const bf_plan *plan, const char *op)
{
    if (spec->version < 1 || spec->version > BF_WRITE_SPEC_VERSION)
        return bf__error(BF_E_ABI, "%s: write spec version %u is not one this library knows "
                         "(1 to %u)", op, spec->version, BF_WRITE_SPEC_VERSION);
    if (!spec->table || !spec->table[0] || !spec->select || !spec->select[0])
        return bf__error(BF_E_INVALID, "%s: the write spec needs a table and a select", op);
    if (!bf_write_strategy_name(spec->strategy))
        return bf__error(BF_E_INVALID, "%s: the write spec has no known strategy", op);
    if (spec->key_count && !spec->key)
        return bf__error(BF_E_INVALID, "%s: key_count without key columns", op);
    if (!bf_plan_column(plan))
        return bf__error(BF_E_INVALID, "%s: the plan has no column", op);
    return BF_OK;
}

int bf_idempotency_check(bf_idem_findings **out, bf_driver *driver, const bf_write_spec *spec,
                         const bf_plan *plan)
{
    bf_idem_findings *f = NULL;
    bf_table_info *info = NULL;
    int rc;

    if (out)
        *out = NULL;
    if (!out || !driver || !spec || !plan)
        return bf__error(BF_E_INVALID,
                         "bf_idempotency_check: out, driver, spec and plan are required");
    if ((rc = bf__idem_check_spec(spec, plan, "bf_idempotency_check")) != BF_OK)
        return rc;
    if ((rc = bf_driver_describe(&info, driver, spec->table)) != BF_OK)
        return rc;
    rc = bf__idem_findings_new(&f);
    if (rc == BF_OK)
        rc = analyze(f, driver, spec, plan, info);
    bf_table_info_free(info);
    if (rc != BF_OK) {
        bf_idem_findings_free(f);
        return rc;
    }
    *out = f;
    return BF_OK;
}
