/*
 * The rerun probe: a batch's job staged and published twice into a scratch
 * copy of the batch's scope, its fingerprints compared and its key checked.
 * The target is only read; the scratch tables are dropped on every path.
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "common/json.h"
#include "driver/driver_internal.h"
#include "idempotency/idem_internal.h"

/* The scratch table's name: "<table>" SCRATCH_SUFFIX (reserved, like the driver's "__bf_" names). */
#define SCRATCH_SUFFIX "__bf_idem"
#define SAMPLE_KEYS 5

struct bf_idem_probe {
    int idempotent;
    int reached; /* fingerprints taken: 0 to 3 */
    bf_fingerprint fp[3];
    int64_t rows_added;
    int64_t duplicates;
    bf_rows *samples;
    char *message;
};

void bf_idem_probe_free(bf_idem_probe *p)
{
    if (!p)
        return;
    bf_rows_free(p->samples);
    bf__free(p->message);
    bf__free(p);
}

int bf_idem_probe_idempotent(const bf_idem_probe *p)
{
    return p ? p->idempotent : 0;
}

int bf_idem_probe_fingerprint(bf_fingerprint *out, const bf_idem_probe *p, int which)
{
    if (!out || !p)
        return bf__error(BF_E_INVALID, "bf_idem_probe_fingerprint: out and probe are required");
    if (which < 0 || which >= p->reached)
        return bf__error(BF_E_NOT_FOUND, "bf_idem_probe_fingerprint: the probe took no "
                         "fingerprint %d", which);
    *out = p->fp[which];
    return BF_OK;
}

int64_t bf_idem_probe_rows_added(const bf_idem_probe *p)
{
    return p ? p->rows_added : 0;
}

int64_t bf_idem_probe_duplicates(const bf_idem_probe *p)
{
    return p ? p->duplicates : 0;
}

const bf_rows *bf_idem_probe_duplicate_samples(const bf_idem_probe *p)
{
    return p ? p->samples : NULL;
}

const char *bf_idem_probe_message(const bf_idem_probe *p)
{
    return p ? p->message : NULL;
}

int bf_idem_probe_to_json(char **out, const bf_idem_probe *p)
{
    json_t *o, *fps[3];
    static const char *const names[] = {"fingerprint_before", "fingerprint_first",
                                        "fingerprint_second"};
    int rc = BF_OK;

    if (!out || !p)
        return bf__error(BF_E_INVALID, "bf_idem_probe_to_json: out and probe are required");
    *out = NULL;
    o = json_pack("{s:b, s:s, s:I, s:I}", "idempotent", p->idempotent, "message",
                  p->message ? p->message : "", "rows_added", (json_int_t)p->rows_added,
                  "duplicates", (json_int_t)p->duplicates);
    if (!o)
        return bf__nomem();
    for (int i = 0; i < 3 && rc == BF_OK; i++) {
        char text[BF_FINGERPRINT_TEXT_SIZE];

        if (i < p->reached) {
            bf_fingerprint_format(text, sizeof text, &p->fp[i]);
            fps[i] = json_string(text);
        } else {
            fps[i] = json_null();
        }
        if (!fps[i] || json_object_set_new(o, names[i], fps[i]) != 0)
            rc = bf__nomem();
    }
    if (rc == BF_OK)
        rc = bf__json_dump(out, o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return rc;
}

/* ---- text ---- */

static void append_value(bf__sb *sb, const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        bf__sb_appendf(sb, "%lld", (long long)v->i);
        break;
    case BF_VALUE_REAL: {
        char buf[BF__REAL_TEXT_SIZE];

        bf__sb_appendn(sb, buf, bf__real_text(buf, v->r));
        break;
    }
    case BF_VALUE_TEXT:
        bf__sb_appendc(sb, '\'');
        bf__sb_appendn(sb, v->s ? v->s : "", v->len > 40 ? 40 : v->len);
        bf__sb_append(sb, v->len > 40 ? "...'" : "'");
        break;
    case BF_VALUE_BLOB:
        bf__sb_appendf(sb, "<%zu bytes>", v->len);
        break;
    default:
        bf__sb_append(sb, "NULL");
    }
}

int bf__idem_describe_keys(char **out, const bf_rows *rows)
{
    size_t width = rows ? bf_rows_width(rows) : 0;
    bf__sb sb;

    bf__sb_init(&sb);
    for (size_t r = 0; rows && r < bf_rows_count(rows) && r < 3; r++) {
        bf_value v;

        bf__sb_append(&sb, r ? ", (" : "(");
        /* The last column is "rows", the count. */
        for (size_t c = 0; c + 1 < width; c++) {
            if (c)
                bf__sb_append(&sb, ", ");
            bf__sb_append(&sb, bf_rows_column(rows, c));
            bf__sb_appendc(&sb, '=');
            if (bf_rows_value(&v, rows, r, c) == BF_OK)
                append_value(&sb, &v);
        }
        bf__sb_appendc(&sb, ')');
        if (width && bf_rows_value(&v, rows, r, width - 1) == BF_OK && v.type == BF_VALUE_INT)
            bf__sb_appendf(&sb, " x%lld", (long long)v.i);
    }
    if (!sb.len)
        bf__sb_append(&sb, "(no sample)");
    return bf__sb_finish(&sb, out);
}

/* A double-quoted name, a doubled quote standing for one. */
static void quote(bf__sb *sb, const char *name)
{
    bf__sb_appendc(sb, '"');
    for (const char *p = name; *p; p++) {
        if (*p == '"')
            bf__sb_appendc(sb, '"');
        bf__sb_appendc(sb, *p);
    }
    bf__sb_appendc(sb, '"');
}

/* ---- the probe ---- */

struct probe {
    bf_driver *driver;
    const bf_write_spec *spec;
    const bf_plan *plan;
    const bf_batch *batch;
    int64_t run;
    bf_table_info *info;
    char *scratch;
    bf_write_spec copy_spec; /* copies the target's batch rows into the scratch table */
    bf_write_spec job_spec;  /* the job, into the scratch table */
    char *copy_sql;
};

/*
 * CREATE TABLE name (the target's non-generated columns with their types,
 * PRIMARY KEY (...)): a scratch table the shape of the target (the probe's,
 * and the test slice's).
 */
int bf__scratch_create_sql(char **out, const bf_table_info *info, const char *name)
{
    size_t n = bf_table_info_column_count(info), pk = 0, any = 0;
    bf__sb sb;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "CREATE TABLE ");
    quote(&sb, name);
    bf__sb_append(&sb, " (");
    for (size_t i = 0; i < n; i++) {
        const char *type = bf_table_info_column_type(info, i);

        if (bf_table_info_column_generated(info, i))
            continue;
        if (any++)
            bf__sb_append(&sb, ", ");
        quote(&sb, bf_table_info_column_name(info, i));
        if (type && type[0]) {
            bf__sb_appendc(&sb, ' ');
            /* A declared type is a name or a name with (precision): keep only such text. */
            for (const char *t = type; *t; t++)
                if (bf__ascii_isalpha((unsigned char)*t) || bf__ascii_isdigit((unsigned char)*t) ||
                    strchr(" _(),", *t))
                    bf__sb_appendc(&sb, *t);
        }
        if (bf_table_info_column_pk(info, i) > pk)
            pk = bf_table_info_column_pk(info, i);
    }
    if (pk) {
        size_t listed = 0;

        bf__sb_append(&sb, ", PRIMARY KEY (");
        for (size_t pos = 1; pos <= pk; pos++)
            for (size_t i = 0; i < n; i++)
                if (bf_table_info_column_pk(info, i) == pos &&
                    !bf_table_info_column_generated(info, i)) {
                    if (listed++)
                        bf__sb_append(&sb, ", ");
                    quote(&sb, bf_table_info_column_name(info, i));
                }
        bf__sb_appendc(&sb, ')');
    }
    bf__sb_appendc(&sb, ')');
    return bf__sb_finish(&sb, out);
}

int bf__scratch_create(bf_driver *driver, const bf_table_info *info, const char *table,
                       const char *name)
{
    char *sql = NULL;
    int rc = bf__driver_create_like(driver, table, name);

    if (rc != BF_E_UNSUPPORTED)
        return rc;
    if ((rc = bf__scratch_create_sql(&sql, info, name)) == BF_OK)
        rc = bf_driver_execute(driver, sql);
    bf__free(sql);
    return rc;
}

/*
 * SELECT the target's non-generated columns within the batch's bounds, by
 * the predicate the driver documents for each dimension (<backfill/driver.h>),
 * its values bound as parameters by the driver's stage (the probe's copy,
 * and the test slice's).
 */
int bf__scratch_copy_sql(char **out, const bf_table_info *info, const char *table,
                         const bf_plan *plan, const bf_batch *batch)
{
    const char *col = bf_plan_column(plan);
    size_t any = 0;
    bf__sb sb;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "SELECT ");
    for (size_t i = 0; i < bf_table_info_column_count(info); i++) {
        if (bf_table_info_column_generated(info, i))
            continue;
        if (any++)
            bf__sb_append(&sb, ", ");
        quote(&sb, bf_table_info_column_name(info, i));
    }
    bf__sb_append(&sb, " FROM ");
    quote(&sb, table);
    bf__sb_append(&sb, " WHERE ");
    switch (bf_batch_dimension(batch)) {
    case BF_DIM_TIME:
    case BF_DIM_KEY: {
        int time = bf_batch_dimension(batch) == BF_DIM_TIME;

        quote(&sb, col);
        bf__sb_append(&sb, time ? " >= :start AND " : " >= :lo AND ");
        quote(&sb, col);
        bf__sb_append(&sb, time ? " < :end" : " < :hi");
        break;
    }
    case BF_DIM_PARTITION:
        quote(&sb, col);
        bf__sb_append(&sb, " = :partition");
        break;
    case BF_DIM_BUCKET:
        bf__sb_append(&sb, "bf_bucket(");
        quote(&sb, col);
        bf__sb_append(&sb, ", :buckets) = :bucket");
        break;
    default:
        bf__sb_dispose(&sb);
        return bf__error(BF_E_INVALID, "batch %s: unknown dimension", bf_batch_label(batch));
    }
    return bf__sb_finish(&sb, out);
}

int bf__scratch_drop(bf_driver *driver, const char *name)
{
    bf__sb sb;
    char *sql = NULL;
    int rc;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "DROP TABLE IF EXISTS ");
    quote(&sb, name);
    if ((rc = bf__sb_finish(&sb, &sql)) == BF_OK)
        rc = bf_driver_execute(driver, sql);
    bf__free(sql);
    return rc;
}

static int drop_scratch(struct probe *pr)
{
    return bf__scratch_drop(pr->driver, pr->scratch);
}

/*
 * Drop the staging table (the driver names it from the scratch table, which
 * must still exist for it to do so) and the scratch table.
 */
static int cleanup(struct probe *pr)
{
    int rc = bf_driver_drop_staging(pr->driver, &pr->job_spec, pr->plan, pr->batch, pr->run);
    int rc2 = drop_scratch(pr); /* tried even when the staging table could not be dropped */

    return rc != BF_OK ? rc : rc2;
}

/* Stage and publish `spec` into the scratch table; *refused gets a refused publish's message. */
static int stage_publish(char **refused, struct probe *pr, const bf_write_spec *spec)
{
    bf_publish_result res = BF_PUBLISH_RESULT_INIT;
    int rc = bf_driver_stage(NULL, pr->driver, spec, pr->plan, pr->batch, pr->run);

    if (rc != BF_OK)
        return rc;
    rc = bf_driver_publish(&res, pr->driver, spec, pr->plan, pr->batch, pr->run, 1);
    if (rc == BF_OK || !refused || rc == BF_E_NOMEM || rc == BF_E_USER || rc == BF_E_ABI ||
        rc == BF_E_INVALID || rc == BF_E_UNSUPPORTED)
        return rc;
    /* The driver refused what the job staged: a result of the probe, not its failure. */
    *refused = bf__strdup(bf_last_error());
    return *refused ? BF_OK : bf__nomem();
}

static int take_fp(bf_idem_probe *p, struct probe *pr)
{
    int rc = bf_driver_fingerprint(&p->fp[p->reached], pr->driver, pr->scratch, NULL, 0, NULL,
                                   NULL);

    if (rc == BF_OK)
        p->reached++;
    return rc;
}

static int verdict(bf_idem_probe *p, const struct probe *pr, const char *refused, int pass)
{
    bf__sb sb;
    char *keys = NULL;
    int rc = BF_OK;

    bf__sb_init(&sb);
    if (refused) {
        bf__sb_appendf(&sb, "publish %d of the job was refused: %s", pass, refused);
        return bf__sb_finish(&sb, &p->message);
    }
    p->rows_added = (int64_t)(p->fp[2].rows - p->fp[1].rows);
    if (p->rows_added > 0)
        bf__sb_appendf(&sb, "the rerun added %lld rows (%llu -> %llu)", (long long)p->rows_added,
                       (unsigned long long)p->fp[1].rows, (unsigned long long)p->fp[2].rows);
    else if (p->rows_added < 0)
        bf__sb_appendf(&sb, "the rerun removed %lld rows (%llu -> %llu)",
                       (long long)-p->rows_added, (unsigned long long)p->fp[1].rows,
                       (unsigned long long)p->fp[2].rows);
    else if (!bf_fingerprint_equal(&p->fp[1], &p->fp[2])) {
        char a[BF_FINGERPRINT_TEXT_SIZE], b[BF_FINGERPRINT_TEXT_SIZE];

        bf_fingerprint_format(a, sizeof a, &p->fp[1]);
        bf_fingerprint_format(b, sizeof b, &p->fp[2]);
        bf__sb_appendf(&sb, "the rerun changed rows: fingerprint %s after the first run, %s "
                       "after the second", a, b);
    }
    if (p->duplicates > 0) {
        rc = bf__idem_describe_keys(&keys, p->samples);
        if (sb.len)
            bf__sb_append(&sb, "; ");
        bf__sb_appendf(&sb, "%lld rows repeat a key or have a NULL in it, e.g. %s",
                       (long long)p->duplicates, keys ? keys : "");
        bf__free(keys);
    }
    p->idempotent = sb.len == 0 && rc == BF_OK;
    if (p->idempotent)
        bf__sb_append(&sb, "idempotent");
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    (void)pr;
    return bf__sb_finish(&sb, &p->message);
}

static int probe(bf_idem_probe *p, struct probe *pr)
{
    const bf_write_spec *spec = pr->spec;
    char *refused = NULL;
    int rc, pass = 0;

    if ((rc = bf_driver_describe(&pr->info, pr->driver, spec->table)) != BF_OK)
        return rc;
    /*
     * A scratch table left by an interrupted probe goes first (a staging
     * table it left is replaced by the first stage).
     */
    if ((rc = drop_scratch(pr)) != BF_OK)
        return rc;
    if ((rc = bf__scratch_create(pr->driver, pr->info, spec->table, pr->scratch)) != BF_OK)
        return rc;
    if ((rc = bf__scratch_copy_sql(&pr->copy_sql, pr->info, pr->spec->table, pr->plan, pr->batch)) != BF_OK)
        return rc;
    pr->copy_spec.select = pr->copy_sql;
    if ((rc = stage_publish(NULL, pr, &pr->copy_spec)) != BF_OK || (rc = take_fp(p, pr)) != BF_OK)
        return rc;
    for (pass = 1; pass <= 2 && rc == BF_OK && !refused; pass++) {
        rc = stage_publish(&refused, pr, &pr->job_spec);
        if (rc == BF_OK && !refused)
            rc = take_fp(p, pr);
    }
    if (rc == BF_OK && !refused && spec->key_count)
        rc = bf_driver_duplicates(&p->samples, &p->duplicates, pr->driver, pr->scratch,
                                  spec->key, spec->key_count, SAMPLE_KEYS, NULL, NULL);
    if (rc == BF_OK && p->duplicates == 0) {
        bf_rows_free(p->samples);
        p->samples = NULL;
    }
    if (rc == BF_OK)
        rc = verdict(p, pr, refused, pass - 1);
    bf__free(refused);
    return rc;
}

int bf_idempotency_probe(bf_idem_probe **out, bf_driver *driver, const bf_write_spec *spec,
                         const bf_plan *plan, const bf_batch *batch, int64_t run)
{
    struct probe pr;
    bf_idem_probe *p;
    int rc, rc2;

    if (out)
        *out = NULL;
    if (!out || !driver || !spec || !plan || !batch)
        return bf__error(BF_E_INVALID,
                         "bf_idempotency_probe: out, driver, spec, plan and batch are required");
    if ((rc = bf__idem_check_spec(spec, plan, "bf_idempotency_probe")) != BF_OK)
        return rc;
    if (bf_batch_ordinal(batch) >= bf_plan_count(plan) ||
        bf_plan_batch(plan, bf_batch_ordinal(batch)) != batch)
        return bf__error(BF_E_INVALID, "bf_idempotency_probe: batch %s is not a batch of the plan",
                         bf_batch_label(batch));
    memset(&pr, 0, sizeof pr);
    pr.driver = driver;
    pr.spec = spec;
    pr.plan = plan;
    pr.batch = batch;
    pr.run = run;
    pr.scratch = bf__asprintf("%s" SCRATCH_SUFFIX, spec->table);
    p = bf__calloc(1, sizeof *p);
    if (!pr.scratch || !p) {
        bf__free(pr.scratch);
        bf__free(p);
        return bf__nomem();
    }
    pr.job_spec = *spec;
    pr.job_spec.version = BF_WRITE_SPEC_VERSION;
    pr.job_spec.table = pr.scratch;
    pr.job_spec.snapshot = 0;
    pr.job_spec.version_table = NULL;
    /* staging_swap and parallel_version write a batch's rows as partition_overwrite does. */
    if (spec->strategy == BF_WRITE_STAGING_SWAP || spec->strategy == BF_WRITE_PARALLEL_VERSION)
        pr.job_spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    pr.copy_spec = pr.job_spec;
    pr.copy_spec.strategy = BF_WRITE_PARTITION_OVERWRITE;
    pr.copy_spec.key = NULL;
    pr.copy_spec.key_count = 0;
    pr.copy_spec.columns = NULL;
    pr.copy_spec.column_count = 0;
    pr.copy_spec.delete_missing = 0;

    rc = probe(p, &pr);
    if (pr.info) {
        /* Clean up on every path; the first failure's message is the one kept. */
        char msg[BF_ERRMSG_MAX];

        bf__snprintf(msg, sizeof msg, "%s", rc != BF_OK ? bf_last_error() : "");
        rc2 = cleanup(&pr);
        if (rc != BF_OK)
            bf__error(rc, "%s", msg);
        else
            rc = rc2;
    }
    bf_table_info_free(pr.info);
    bf__free(pr.copy_sql);
    bf__free(pr.scratch);
    if (rc != BF_OK) {
        bf_idem_probe_free(p);
        return rc;
    }
    *out = p;
    return BF_OK;
}
