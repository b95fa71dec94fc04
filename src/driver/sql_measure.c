/*
 * The SQL layer's reads for validation, diffs and planning: fingerprints,
 * one-scan profiles, duplicates, orphans, segments, fetches, key
 * boundaries and partition values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "driver/sql.h"
#include "fingerprint/fp_internal.h"

/* A read of some columns of a table within a scope. */
struct scan {
    bf__sql *s;
    const char *table;
    bf_table_info *info;
    const char **all;
    bf__tpl t;
    bf__binds binds;
    const char *where; /* more SQL the rows must satisfy, or NULL */
};

static void scan_dispose(struct scan *sc)
{
    bf_table_info_free(sc->info);
    bf__free(sc->all);
}

/*
 * Describe the table (so a missing one is BF_E_NOT_FOUND), check that the
 * columns named and the batch's column are the table's, and pick the columns.
 */
static int scan_init(struct scan *sc, void *ud, const char *table, const char *const *columns,
                     size_t count, const bf_plan *plan, const bf_batch *batch)
{
    int rc;

    memset(sc, 0, sizeof *sc);
    sc->s = ud;
    sc->table = table;
    sc->t.plan = plan;
    sc->t.batch = batch;
    bf__binds_init(&sc->binds);
    bf__binds_batch(&sc->binds, batch);
    if ((rc = bf__sql_describe(sc->s, &sc->info, table)) != BF_OK ||
        (rc = bf__sql_check_columns(sc->s, sc->info, table, columns, count)) != BF_OK ||
        (rc = bf__sql_check_scope(sc->s, sc->info, table, plan, batch)) != BF_OK)
        return rc;
    if (columns && count) {
        sc->t.cols = columns;
        sc->t.col_count = count;
        return BF_OK;
    }
    sc->all = bf__calloc(sc->info->count, sizeof *sc->all);
    if (!sc->all)
        return bf__nomem();
    for (size_t i = 0; i < sc->info->count; i++)
        sc->all[i] = sc->info->columns[i].name;
    sc->t.cols = sc->all;
    sc->t.col_count = sc->info->count;
    return BF_OK;
}

/* Check more names of the scan's table (a key column, a profile's metrics). */
static int scan_check(const struct scan *sc, const char *const *names, size_t count)
{
    return bf__sql_check_columns(sc->s, sc->info, sc->table, names, count);
}

/* The dialect's aggregate `fn` if it can take the scan's columns, else NULL. */
static const char *aggregate(const struct scan *sc, const char *fn)
{
    return sc->t.col_count <= BF_AGG_MAX_ARGS ? fn : NULL;
}

static int scan_build(struct scan *sc, char **out, const char *tpl, const char *const *args)
{
    return bf__sql_build(sc->s, out, &sc->t, tpl, args);
}

/* Parse a fingerprint aggregate's "rows:hex32" result (what follows a space is not ours). */
static int fp_from_value(const bf__sql *s, bf_fingerprint *out, const bf_value *v)
{
    char text[BF_FINGERPRINT_TEXT_SIZE];
    size_t len = v->type == BF_VALUE_TEXT ? strcspn(v->s, " ") : 0;

    if (len && len < sizeof text) {
        memcpy(text, v->s, len);
        text[len] = '\0';
        if (bf_fingerprint_parse(out, text) == BF_OK)
            return BF_OK;
    }
    return bf__error(BF_E_DRIVER, "%s: the fingerprint function returned no fingerprint",
                     s->vt.dialect ? s->vt.dialect : "driver");
}

/* Hash every row of a prepared statement's columns [first, first + count). */
static int fp_rows(bf__stmt *st, bf_fingerprint *fp, int first, size_t count)
{
    bf__fprow row = {0};
    bf_value v;
    int rc;

    while ((rc = bf__stmt_step(st)) == BF_SQL_ROW) {
        bf__fprow_reset(&row);
        for (size_t i = 0; i < count && rc == BF_SQL_ROW; i++)
            if (bf__stmt_column(st, first + (int)i, &v) != BF_OK || bf__fprow_put(&row, &v) != BF_OK)
                rc = bf_last_error_code();
        if (rc != BF_SQL_ROW)
            break;
        bf__fprow_apply(&row, fp, 1);
    }
    bf__fprow_dispose(&row);
    return rc == BF_SQL_DONE ? BF_OK : rc;
}

/* The fingerprint of the scan's columns: the driver's aggregate, or rows hashed here. */
static int fp_scan(struct scan *sc, bf_fingerprint *out)
{
    const char *fn = aggregate(sc, sc->s->vt.fingerprint_function);
    bf_fingerprint fp = {0, 0, 0};
    bf__stmt st;
    bf_value v;
    char *sql;
    int rc;

    const char *where = sc->where ? sc->where : "1 = 1";

    rc = fn ? scan_build(sc, &sql, "SELECT %S(%C) FROM %T WHERE %P AND %S",
                         ARGS(fn, NULL, sc->table, NULL, where))
            : scan_build(sc, &sql, "SELECT %C FROM %T WHERE %P AND %S",
                         ARGS(NULL, sc->table, NULL, where));
    if (rc != BF_OK)
        return rc;
    if ((rc = bf__stmt_prepare(&st, sc->s, sql, &sc->binds)) == BF_OK) {
        if (!fn) {
            rc = fp_rows(&st, &fp, 0, sc->t.col_count);
        } else if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            rc = bf__stmt_column(&st, 0, &v);
            if (rc == BF_OK)
                rc = fp_from_value(sc->s, &fp, &v);
        } else if (rc == BF_SQL_DONE) {
            rc = BF_OK;
        }
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    if (rc == BF_OK)
        *out = fp;
    return rc;
}

int bf__sql_fingerprint(void *ud, bf_fingerprint *out, const char *table,
                        const char *const *columns, size_t column_count, const bf_plan *plan,
                        const bf_batch *batch)
{
    struct scan sc;
    int rc = scan_init(&sc, ud, table, columns, column_count, plan, batch);

    if (rc == BF_OK)
        rc = fp_scan(&sc, out);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_fingerprint_where(bf__sql *s, bf_fingerprint *out, const char *table,
                              const char *const *columns, size_t column_count,
                              const bf_plan *plan, const bf_batch *batch, const char *where)
{
    struct scan sc;
    int rc = scan_init(&sc, s, table, columns, column_count, plan, batch);

    sc.where = where;
    if (rc == BF_OK)
        rc = fp_scan(&sc, out);
    scan_dispose(&sc);
    return rc;
}

/* ---- profile ---- */

/* Append ", <fn>(<col>)" for each column; fn "nulls" means count(*) - count(col). */
static int add_aggregates(const bf__sql *s, bf__sb *sb, const char *fn, const char *const *cols,
                          size_t count)
{
    for (size_t i = 0; i < count; i++) {
        int nulls = strcmp(fn, "nulls") == 0;

        bf__sb_append(sb, nulls ? ", count(*) - count(" : ", ");
        if (!nulls) {
            bf__sb_append(sb, fn);
            bf__sb_appendc(sb, '(');
        }
        if (bf__sql_ident(s, sb, cols[i]) != BF_OK)
            return BF_E_INVALID;
        bf__sb_appendc(sb, ')');
    }
    return BF_OK;
}

/*
 * Where the fingerprint-and-nulls aggregate counts column `name`'s NULLs:
 * its position among the fingerprint columns, or -1 when a count() must.
 */
static long fp_null_index(const struct scan *sc, int use_fpn, const char *name)
{
    for (size_t i = 0; use_fpn && i < sc->t.col_count; i++)
        if (strcmp(sc->t.cols[i], name) == 0)
            return (long)i;
    return -1;
}

static int profile_sql(struct scan *sc, char **out, const bf_profile_spec *spec, int with_fp,
                       int use_fpn)
{
    const bf__sql *s = sc->s;
    bf__sb sb;
    char *tail = NULL;
    int rc = BF_OK;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "SELECT count(*)");
    for (size_t i = 0; i < spec->null_count && rc == BF_OK; i++)
        if (fp_null_index(sc, use_fpn, spec->null_columns[i]) < 0)
            rc = add_aggregates(s, &sb, "nulls", &spec->null_columns[i], 1);
    if (rc == BF_OK)
        rc = add_aggregates(s, &sb, "sum", spec->sum_columns, spec->sum_count);
    for (size_t i = 0; i < spec->minmax_count && rc == BF_OK; i++) {
        rc = add_aggregates(s, &sb, "min", &spec->minmax_columns[i], 1);
        if (rc == BF_OK)
            rc = add_aggregates(s, &sb, "max", &spec->minmax_columns[i], 1);
    }
    if (rc == BF_OK)
        rc = with_fp ? scan_build(sc, &tail, ", %S(%C) FROM %T WHERE %P",
                                  ARGS(use_fpn ? s->vt.fingerprint_nulls_function
                                               : s->vt.fingerprint_function,
                                       NULL, sc->table, NULL))
                     : scan_build(sc, &tail, " FROM %T WHERE %P", ARGS(sc->table, NULL));
    if (rc == BF_OK)
        bf__sb_append(&sb, tail);
    bf__free(tail);
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* The n-th count of "rows:hex32 n0,n1,..." (no counts after the fingerprint: no rows, 0). */
static int nth_count(const bf__sql *s, int64_t *out, const bf_value *v, long n)
{
    const char *p = v->type == BF_VALUE_TEXT ? strchr(v->s, ' ') : NULL;
    char *end;

    *out = 0;
    if (!p)
        return BF_OK;
    for (long i = 0; i <= n; i++) {
        *out = strtoll(p + 1, &end, 10);
        if (end == p + 1 || (*end != ',' && (*end != '\0' || i < n)))
            return bf__error(BF_E_DRIVER, "%s: the fingerprint function returned no NULL counts",
                             s->vt.dialect ? s->vt.dialect : "driver");
        p = end;
    }
    return BF_OK;
}

static int profile_fill(bf__stmt *st, struct scan *sc, bf_profile *p,
                        const bf_profile_spec *spec, int with_fp, int use_fpn)
{
    bf_fingerprint fp;
    bf_value v;
    int col = 0, rc;

    if ((rc = bf__stmt_column(st, col++, &v)) != BF_OK)
        return rc;
    p->rows = v.i;
    for (size_t i = 0; i < spec->null_count; i++) {
        if (fp_null_index(sc, use_fpn, spec->null_columns[i]) >= 0)
            continue;
        if ((rc = bf__stmt_column(st, col++, &v)) != BF_OK)
            return rc;
        p->nulls[i] = v.i;
    }
    for (size_t i = 0; i < spec->sum_count; i++)
        if ((rc = bf__stmt_column(st, col++, &v)) != BF_OK ||
            (rc = bf_profile_set_sum(p, i, &v)) != BF_OK)
            return rc;
    for (size_t i = 0; i < spec->minmax_count; i++) {
        if ((rc = bf__stmt_column(st, col++, &v)) != BF_OK ||
            (rc = bf_profile_set_min(p, i, &v)) != BF_OK)
            return rc;
        if ((rc = bf__stmt_column(st, col++, &v)) != BF_OK ||
            (rc = bf_profile_set_max(p, i, &v)) != BF_OK)
            return rc;
    }
    if (!with_fp)
        return BF_OK;
    if ((rc = bf__stmt_column(st, col, &v)) != BF_OK ||
        (rc = fp_from_value(st->s, &fp, &v)) != BF_OK)
        return rc;
    for (size_t i = 0; i < spec->null_count; i++) {
        long at = fp_null_index(sc, use_fpn, spec->null_columns[i]);

        if (at >= 0 && (rc = nth_count(st->s, &p->nulls[i], &v, at)) != BF_OK)
            return rc;
    }
    return bf_profile_set_fingerprint(p, &fp);
}

/* ---- profile through the dialect's profile aggregate ---- */

/* How many columns the fused aggregate fingerprints (0: none), or -1 when it cannot serve. */
static long pf_fp_count(const struct scan *sc, const bf_profile_spec *spec)
{
    size_t nf = spec->fingerprint ? sc->t.col_count : 0;

    if (!sc->s->vt.profile_function ||
        3 + nf + spec->null_count + spec->sum_count > BF_AGG_MAX_ARGS)
        return -1;
    return (long)nf;
}

/* Where `name` is among the first *n of `args`, appended (*n grows) when it is not there yet. */
static size_t arg_at(const char **args, size_t *n, const char *name)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(args[i], name) == 0)
            return i;
    args[*n] = name;
    return (*n)++;
}

/*
 * Whether the fingerprint of every column (extra->all) is one more result
 * of the shared-argument profile itself, from the arguments it reads
 * anyway, instead of a second aggregate reading every column again.
 */
static int pf_fused(const struct scan *sc, const bf_profile_spec *spec,
                    const bf__profile_extra *extra)
{
    return extra && extra->all && sc->s->builtin_sqlite &&
           1 + (size_t)pf_fp_count(sc, spec) + spec->null_count + spec->sum_count +
                   sc->info->count <= BF_AGG_MAX_ARGS;
}

/*
 * Whether the segment fingerprints by key (extra->segments) are one more
 * result of the shared-argument profile, from the arguments it reads, as
 * the fingerprint of every column is (pf_fused), instead of a second
 * aggregate reading the key and every column again.
 */
static int pf_segfused(const struct scan *sc, const bf_profile_spec *spec,
                       const bf__profile_extra *extra)
{
    return extra && extra->segments && sc->s->builtin_sqlite &&
           1 + (size_t)pf_fp_count(sc, spec) + spec->null_count + spec->sum_count +
                   extra->key_count + sc->info->count <= BF_AGG_MAX_ARGS &&
           extra->key_count + sc->info->count <= 128;
}

/*
 * How a profile's scan counts each references probe (how[i]): a correlated
 * NOT EXISTS, a join to the parent (probe_joins), or, with the built-in
 * SQLite dialect, counted by its profile aggregate itself, which reads a
 * small parent once instead of looking each row up in it (sqlite.c,
 * struct pf_probe). The parent's query of a counted probe is bound as
 * :bf_pq<k>, k counting the counted probes.
 */
enum { PROBE_EXISTS, PROBE_JOIN, PROBE_COUNT };

static const char *const probe_binds[BF_PROFILE_PROBES_MAX] = {
    "bf_pq0", "bf_pq1", "bf_pq2", "bf_pq3", "bf_pq4", "bf_pq5", "bf_pq6", "bf_pq7",
};

/*
 * The shared-argument form of the built-in SQLite dialect's bf_profile
 * (bf__sql.builtin_sqlite): each column is read once, the fingerprint
 * columns first, then the NULL-count and sum columns not read yet, after a
 * constant header 'R nf nn ns p1 .. pnn q1 .. qns' that says which argument
 * (0-based, after the header) each NULL count and each sum reads.
 */
static int pf_shared_args(const bf__sql *s, bf__sb *sb, const struct scan *sc,
                          const bf_profile_spec *spec, size_t nf, const char *const *all,
                          size_t nall, const bf__profile_extra *segs,
                          const bf__profile_extra *extra, const int *how)
{
    const char **args;
    size_t n = nf, nprobe = extra ? extra->probe_count : 0, counted = 0;
    size_t total = nf + spec->null_count + spec->sum_count + nall +
                   (segs ? segs->key_count + sc->info->count : 0) + nprobe;
    size_t child[BF_PROFILE_PROBES_MAX];
    int rc = BF_OK;

    if (!(args = bf__calloc(total ? total : 1, sizeof *args)))
        return bf__nomem();
    for (size_t i = 0; i < nf; i++)
        args[i] = sc->t.cols[i];
    bf__sb_appendf(sb, "SELECT %s('R %zu %zu %zu", s->vt.profile_function, nf, spec->null_count,
                   spec->sum_count);
    for (size_t i = 0; i < spec->null_count + spec->sum_count; i++) {
        const char *name = i < spec->null_count ? spec->null_columns[i]
                                                : spec->sum_columns[i - spec->null_count];

        bf__sb_appendf(sb, " %zu", arg_at(args, &n, name));
    }
    /* The fingerprint of every column, in the table's order, from the same arguments. */
    if (nall)
        bf__sb_appendf(sb, " A %zu", nall);
    for (size_t i = 0; i < nall; i++)
        bf__sb_appendf(sb, " %zu", arg_at(args, &n, all[i]));
    /* The segment fingerprints by key over every column, from the same arguments. */
    if (segs) {
        bf__sb_appendf(sb, " S %lld %zu", (long long)segs->segment_count, segs->key_count);
        for (size_t i = 0; i < segs->key_count; i++)
            bf__sb_appendf(sb, " %zu", arg_at(args, &n, segs->key[i]));
        bf__sb_appendf(sb, " %zu", sc->info->count);
        for (size_t i = 0; i < sc->info->count; i++)
            bf__sb_appendf(sb, " %zu", arg_at(args, &n, sc->info->columns[i].name));
    }
    /*
     * The references probes the aggregate counts: each child column's
     * argument, then its parent's query, bound after every column.
     */
    for (size_t i = 0; i < nprobe; i++)
        if (how[i] == PROBE_COUNT)
            child[counted++] = arg_at(args, &n, extra->probes[i].columns[0]);
    if (counted)
        bf__sb_appendf(sb, " P %zu", counted);
    for (size_t k = 0; k < counted; k++)
        bf__sb_appendf(sb, " %zu %zu", child[k], n + k);
    bf__sb_appendc(sb, '\'');
    for (size_t i = 0; i < n && rc == BF_OK; i++) {
        bf__sb_append(sb, ", ");
        rc = bf__sql_ident(s, sb, args[i]);
    }
    for (size_t k = 0; k < counted; k++)
        bf__sb_appendf(sb, ", :%s", probe_binds[k]);
    bf__free(args);
    return rc;
}

static int any_null(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *cols,
                    size_t count);

/* The alias of the i-th probe's parent where it is joined, and the one column it shows. */
#define PROBE_ALIAS "bf__parent_"
#define PROBE_KEY "bf__parent_key"

/*
 * Which probes look their parent up by a join (joined[i]): those of one
 * column that is the parent's rowid, so that the join adds no row to the
 * scan, where the scanned table has no column named like what the join
 * shows. The others keep a correlated NOT EXISTS.
 */
static int probe_joins(struct scan *sc, const bf__profile_extra *extra, int *joined)
{
    char alias[40];
    int rc = BF_OK;

    for (size_t i = 0; i < sc->info->count; i++)
        if (bf__sql_same_ident(sc->info->columns[i].name, PROBE_KEY))
            return BF_OK;
    for (size_t i = 0; i < extra->probe_count && rc == BF_OK; i++) {
        bf__snprintf(alias, sizeof alias, PROBE_ALIAS "%zu", i);
        if (extra->probes[i].count == 1 && !bf__sql_same_ident(sc->table, alias))
            rc = bf__sql_rowid_column(sc->s, extra->probes[i].parent, NULL,
                                      extra->probes[i].parent_columns[0], &joined[i]);
    }
    return rc;
}

/* What the connection remembers of an undecided probe: its table, column and parent query. */
static char *probe_memo_key(const char *table, const bf__orphan_probe *p, const char *query)
{
    return bf__asprintf("%s\x1f%s\x1f%s", table, p->columns[0], query);
}

static int probe_memo_has(const bf__sql *s, const char *key)
{
    for (size_t i = 0; i < s->probe_memo_count; i++)
        if (strcmp(s->probe_memo[i], key) == 0)
            return 1;
    return 0;
}

/* Remember key (taken, also on failure). */
static int probe_memo_add(bf__sql *s, char *key)
{
    char **memo = bf__realloc(s->probe_memo, (s->probe_memo_count + 1) * sizeof *memo);

    if (!memo) {
        bf__free(key);
        return bf__nomem();
    }
    s->probe_memo = memo;
    s->probe_memo[s->probe_memo_count++] = key;
    return BF_OK;
}

/*
 * Fill how[] (zeroed) and, for each probe the aggregate counts, queries[i]
 * ("SELECT <parent rowid column> FROM <parent>", the caller frees): the
 * probes that would join, up to BF_PROFILE_PROBES_MAX of them while the
 * binds have room, and not remembered as undecided on this connection.
 */
static int probe_plan(struct scan *sc, const bf__profile_extra *extra, int *how, char **queries)
{
    size_t counted = 0;
    int rc = probe_joins(sc, extra, how);

    for (size_t i = 0; i < extra->probe_count && rc == BF_OK && sc->s->builtin_sqlite; i++) {
        const bf__orphan_probe *p = &extra->probes[i];
        char *key = NULL;
        bf__sb sb;

        if (how[i] != PROBE_JOIN || counted == BF_PROFILE_PROBES_MAX ||
            sc->binds.count + counted >= BF_BINDS_MAX)
            continue;
        bf__sb_init(&sb);
        bf__sb_append(&sb, "SELECT ");
        rc = bf__sql_ident(sc->s, &sb, p->parent_columns[0]);
        bf__sb_append(&sb, " FROM ");
        if (rc == BF_OK)
            rc = bf__sql_ident(sc->s, &sb, p->parent);
        if (rc != BF_OK) {
            bf__sb_dispose(&sb);
            break;
        }
        if ((rc = bf__sql_text(&sb, &queries[i])) != BF_OK)
            break;
        if (!(key = probe_memo_key(sc->table, p, queries[i]))) {
            rc = bf__nomem();
            break;
        }
        if (probe_memo_has(sc->s, key)) {
            bf__free(queries[i]);
            queries[i] = NULL;
        } else {
            how[i] = PROBE_COUNT;
            counted++;
        }
        bf__free(key);
    }
    return rc;
}

/* " LEFT JOIN (SELECT pc AS PROBE_KEY FROM parent) PROBE_ALIAS<i> ON ... = table.c". */
static int probe_join(const bf__sql *s, bf__sb *sb, const char *table, const bf__orphan_probe *p,
                      size_t i)
{
    int rc;

    bf__sb_append(sb, " LEFT JOIN (SELECT ");
    rc = bf__sql_ident(s, sb, p->parent_columns[0]);
    bf__sb_append(sb, " AS " PROBE_KEY " FROM ");
    if (rc == BF_OK)
        rc = bf__sql_ident(s, sb, p->parent);
    bf__sb_appendf(sb, ") " PROBE_ALIAS "%zu ON " PROBE_ALIAS "%zu." PROBE_KEY " = ", i, i);
    if (rc == BF_OK)
        rc = bf__sql_ident(s, sb, table);
    bf__sb_appendc(sb, '.');
    if (rc == BF_OK)
        rc = bf__sql_ident(s, sb, p->columns[0]);
    return rc;
}

/*
 * A references probe's two counts in the profile's scan of `table` (not
 * aliased, so its columns are qualified by its name; the parent's alias p
 * hides the parent's own name, so a table referencing itself works too):
 * ", sum(CASE WHEN <a NULL> THEN 1 ELSE 0 END), sum(CASE WHEN NOT <a NULL>
 * AND NOT EXISTS (SELECT 1 FROM parent p WHERE p.pc = table.c ...) ...)".
 * A probe joined to its parent (probe_joins) has no row there instead:
 * "... AND PROBE_ALIAS<i>.PROBE_KEY IS NULL ...", the key of a row joined
 * being the value of table.c, never NULL.
 */
static int probe_sql(const bf__sql *s, bf__sb *sb, const char *table, const bf__orphan_probe *p,
                     int joined, size_t index)
{
    bf__sb nulls;
    char *qt = NULL, *nt = NULL;
    int rc;

    if ((rc = bf__sql_quoted(s, &qt, table)) != BF_OK)
        return rc;
    bf__sb_init(&nulls);
    if (any_null(s, &nulls, qt, p->columns, p->count) != BF_OK) {
        bf__sb_dispose(&nulls);
        bf__free(qt);
        return BF_E_INVALID;
    }
    if ((rc = bf__sql_text(&nulls, &nt)) != BF_OK) {
        bf__free(qt);
        return rc;
    }
    if (joined) {
        bf__sb_appendf(sb, ", sum(CASE WHEN %s THEN 1 ELSE 0 END), sum(CASE WHEN NOT %s AND "
                       PROBE_ALIAS "%zu." PROBE_KEY " IS NULL THEN 1 ELSE 0 END)", nt, nt, index);
        bf__free(qt);
        bf__free(nt);
        return BF_OK;
    }
    bf__sb_appendf(sb, ", sum(CASE WHEN %s THEN 1 ELSE 0 END), sum(CASE WHEN NOT %s AND NOT "
                   "EXISTS (SELECT 1 FROM ", nt, nt);
    rc = bf__sql_ident(s, sb, p->parent);
    bf__sb_append(sb, " p WHERE ");
    for (size_t i = 0; i < p->count && rc == BF_OK; i++) {
        bf__sb_append(sb, i ? " AND p." : "p.");
        rc = bf__sql_ident(s, sb, p->parent_columns[i]);
        bf__sb_appendf(sb, " = %s.", qt);
        if (rc == BF_OK)
            rc = bf__sql_ident(s, sb, p->columns[i]);
    }
    bf__sb_append(sb, ") THEN 1 ELSE 0 END)");
    bf__free(qt);
    bf__free(nt);
    return rc;
}

/*
 * Append " FROM table<joins> WHERE <the batch>" to sb, `from` holding the
 * joins (disposed of here). On failure sb is disposed of too.
 */
static int scan_from(struct scan *sc, bf__sb *sb, bf__sb *from, int rc)
{
    char *joins = NULL, *tail = NULL;

    if (rc == BF_OK)
        rc = bf__sql_text(from, &joins);
    else
        bf__sb_dispose(from);
    if (rc == BF_OK)
        rc = scan_build(sc, &tail, " FROM %T%S WHERE %P", ARGS(sc->table, joins, NULL));
    if (rc == BF_OK)
        bf__sb_append(sb, tail);
    else
        bf__sb_dispose(sb);
    bf__free(tail);
    bf__free(joins);
    return rc;
}

/*
 * SELECT f(nf, nn, ns, f1.., n1.., s1..), min(m1), max(m1), ... FROM t WHERE batch
 * (or f('R ...', ...), the shared-argument form, where the dialect has it).
 */
static int pf_sql(struct scan *sc, char **out, const bf_profile_spec *spec, size_t nf,
                  const char *const *all, size_t nall, const bf__profile_extra *extra,
                  const int *how)
{
    const bf__sql *s = sc->s;
    bf__sb sb, from;
    size_t nprobe = extra ? extra->probe_count : 0;
    int fused = pf_fused(sc, spec, extra), segfused = pf_segfused(sc, spec, extra);
    int rc = BF_OK;

    bf__sb_init(&sb);
    if (s->builtin_sqlite) {
        rc = pf_shared_args(s, &sb, sc, spec, nf, fused ? all : NULL, fused ? nall : 0,
                            segfused ? extra : NULL, extra, how);
    } else {
        bf__sb_appendf(&sb, "SELECT %s(%zu, %zu, %zu", s->vt.profile_function, nf,
                       spec->null_count, spec->sum_count);
        if (nf) {
            bf__sb_append(&sb, ", ");
            rc = bf__sql_ident_list(s, &sb, NULL, sc->t.cols, nf);
        }
        for (size_t i = 0; i < spec->null_count && rc == BF_OK; i++) {
            bf__sb_append(&sb, ", ");
            rc = bf__sql_ident(s, &sb, spec->null_columns[i]);
        }
        for (size_t i = 0; i < spec->sum_count && rc == BF_OK; i++) {
            bf__sb_append(&sb, ", ");
            rc = bf__sql_ident(s, &sb, spec->sum_columns[i]);
        }
    }
    bf__sb_appendc(&sb, ')');
    /* min() and max() compare with the column's collation: SQL's own aggregates keep them. */
    for (size_t i = 0; i < spec->minmax_count && rc == BF_OK; i++) {
        rc = add_aggregates(s, &sb, "min", &spec->minmax_columns[i], 1);
        if (rc == BF_OK)
            rc = add_aggregates(s, &sb, "max", &spec->minmax_columns[i], 1);
    }
    /* What else the caller wants of the same scan (bf__sql_profile_with). */
    if (extra && extra->all && !fused && rc == BF_OK) {
        bf__sb_appendf(&sb, ", %s(", s->vt.fingerprint_function);
        rc = bf__sql_ident_list(s, &sb, NULL, all, nall);
        bf__sb_appendc(&sb, ')');
    }
    if (extra && extra->segments && !segfused && rc == BF_OK) {
        bf__sb_appendf(&sb, ", %s(:bf_n, :bf_kc, ", s->vt.segments_function);
        rc = bf__sql_ident_list(s, &sb, NULL, extra->key, extra->key_count);
        bf__sb_append(&sb, ", ");
        if (rc == BF_OK)
            rc = bf__sql_ident_list(s, &sb, NULL, all, nall);
        bf__sb_appendc(&sb, ')');
    }
    bf__sb_init(&from);
    for (size_t i = 0; i < nprobe && rc == BF_OK; i++) {
        if (how[i] == PROBE_COUNT)
            continue;
        rc = probe_sql(s, &sb, sc->table, &extra->probes[i], how[i] == PROBE_JOIN, i);
        if (rc == BF_OK && how[i] == PROBE_JOIN)
            rc = probe_join(s, &from, sc->table, &extra->probes[i], i);
    }
    if ((rc = scan_from(sc, &sb, &from, rc)) != BF_OK)
        return rc;
    return bf__sql_text(&sb, out);
}

static int pf_bad(const bf__sql *s)
{
    return bf__error(BF_E_DRIVER, "%s: the profile function returned no profile",
                     s->vt.dialect ? s->vt.dialect : "driver");
}

/* One "i<int>", "r<16 hex digits>" or "null" sum. */
static int pf_sum(const bf__sql *s, bf_value *out, const char *tok, size_t len)
{
    char buf[24], *end;
    uint64_t bits;

    memset(out, 0, sizeof *out);
    if (len == 4 && memcmp(tok, "null", 4) == 0) {
        out->type = BF_VALUE_NULL;
        return BF_OK;
    }
    if (len < 2 || len >= sizeof buf || (tok[0] != 'i' && tok[0] != 'r'))
        return pf_bad(s);
    memcpy(buf, tok + 1, len - 1);
    buf[len - 1] = '\0';
    if (tok[0] == 'i') {
        out->type = BF_VALUE_INT;
        out->i = strtoll(buf, &end, 10);
    } else {
        if (len != 17)
            return pf_bad(s);
        out->type = BF_VALUE_REAL;
        bits = strtoull(buf, &end, 16);
        memcpy(&out->r, &bits, sizeof out->r);
    }
    return *end == '\0' && end != buf ? BF_OK : pf_bad(s);
}

/* Fill the profile from the aggregate's "ROWS FP N1.. S1.." (NULL: no rows). */
static int pf_fill(const bf__sql *s, bf_profile *p, const bf_profile_spec *spec, size_t nf,
                   const bf_value *v, bf_fingerprint *all)
{
    size_t want = 2 + spec->null_count + spec->sum_count + (all != NULL), at = 0;
    const char *q, *end;
    bf_value sum;
    int rc = BF_OK;

    if (v->type == BF_VALUE_NULL) {
        static const bf_value null = {BF_VALUE_NULL, 0, 0.0, NULL, 0};
        bf_fingerprint empty = {0, 0, 0};

        p->rows = 0;
        for (size_t i = 0; i < spec->null_count; i++)
            p->nulls[i] = 0;
        for (size_t i = 0; i < spec->sum_count && rc == BF_OK; i++)
            rc = bf_profile_set_sum(p, i, &null);
        if (all)
            *all = empty;
        return rc == BF_OK && spec->fingerprint ? bf_profile_set_fingerprint(p, &empty) : rc;
    }
    if (v->type != BF_VALUE_TEXT || !v->s)
        return pf_bad(s);
    for (q = v->s, end = v->s + v->len; at < want && rc == BF_OK; at++) {
        const char *sp = memchr(q, ' ', (size_t)(end - q));
        size_t len = sp ? (size_t)(sp - q) : (size_t)(end - q);
        char num[32], *stop;

        if ((at + 1 < want) != (sp != NULL) || !len)
            return pf_bad(s);
        if (all && at + 1 == want) { /* the fingerprint of every column */
            char text[BF_FINGERPRINT_TEXT_SIZE];

            if (len >= sizeof text)
                return pf_bad(s);
            memcpy(text, q, len);
            text[len] = '\0';
            if (bf_fingerprint_parse(all, text) != BF_OK)
                return pf_bad(s);
        } else if (at == 1) { /* the fingerprint, or "-" */
            char text[BF_FINGERPRINT_TEXT_SIZE];
            bf_fingerprint fp;

            if (!nf) {
                if (len != 1 || *q != '-')
                    return pf_bad(s);
            } else {
                if (len >= sizeof text)
                    return pf_bad(s);
                memcpy(text, q, len);
                text[len] = '\0';
                if (bf_fingerprint_parse(&fp, text) != BF_OK)
                    return pf_bad(s);
                rc = bf_profile_set_fingerprint(p, &fp);
            }
        } else if (at < 2 + spec->null_count) { /* the row count, a NULL count */
            if (len >= sizeof num)
                return pf_bad(s);
            memcpy(num, q, len);
            num[len] = '\0';
            int64_t n = strtoll(num, &stop, 10);

            if (*stop || n < 0)
                return pf_bad(s);
            if (at == 0)
                p->rows = n;
            else
                p->nulls[at - 2] = n;
        } else if ((rc = pf_sum(s, &sum, q, len)) == BF_OK) {
            rc = bf_profile_set_sum(p, at - 2 - spec->null_count, &sum);
        }
        q = sp ? sp + 1 : end;
    }
    return rc;
}

/*
 * A joined or looked-up probe's two counts, from columns `at` and `at + 1`
 * of a statement's row: its NULL references and its orphans, each a sum()
 * that is NULL over no rows (none counted).
 */
static int probe_columns(bf__stmt *st, int at, bf__orphan_probe *p, const char *table)
{
    int64_t *dst[2] = {&p->nulls, &p->orphans};
    bf_value v;
    int rc = BF_OK;

    for (int k = 0; k < 2 && rc == BF_OK; k++)
        if ((rc = bf__stmt_column(st, at + k, &v)) == BF_OK)
            *dst[k] = v.type == BF_VALUE_INT ? v.i : 0;
    if (rc == BF_OK && (p->nulls < 0 || p->orphans < 0))
        rc = bf__error(BF_E_DRIVER, "profile of %s: a negative count of orphans", table);
    return rc;
}

/*
 * A counted probe's result in the profile's first line, at *q: " p?"
 * (undecided, *undecided set) or " p<nulls>:<orphans>". Advances *q.
 */
static int probe_parse(const bf__sql *s, const char **q, const char *end,
                       bf__orphan_probe *p, int *undecided)
{
    char num[48], *stop, *colon;
    const char *t = *q + 2, *sp;
    size_t len;

    if (end - *q < 3 || memcmp(*q, " p", 2) != 0)
        return pf_bad(s);
    sp = memchr(t, ' ', (size_t)(end - t));
    len = sp ? (size_t)(sp - t) : (size_t)(end - t);
    *q = t + len;
    if (len == 1 && *t == '?') {
        *undecided = 1;
        return BF_OK;
    }
    if (len >= sizeof num)
        return pf_bad(s);
    memcpy(num, t, len);
    num[len] = '\0';
    if (!(colon = strchr(num, ':')))
        return pf_bad(s);
    p->nulls = strtoll(num, &stop, 10);
    if (stop != colon || p->nulls < 0)
        return pf_bad(s);
    p->orphans = strtoll(colon + 1, &stop, 10);
    return *stop || stop == colon + 1 || p->orphans < 0 ? pf_bad(s) : BF_OK;
}

/*
 * A probe the aggregate left undecided, counted alone with the join it
 * would have had (probe_sql, probe_join) over the same rows.
 */
static int probe_alone(struct scan *sc, bf__orphan_probe *p, size_t i)
{
    bf__sb sb, from;
    bf__stmt st;
    char *sql = NULL;
    int rc;

    bf__sb_init(&sb);
    bf__sb_init(&from);
    bf__sb_append(&sb, "SELECT 0");
    rc = probe_sql(sc->s, &sb, sc->table, p, 1, i);
    if (rc == BF_OK)
        rc = probe_join(sc->s, &from, sc->table, p, i);
    if ((rc = scan_from(sc, &sb, &from, rc)) == BF_OK)
        rc = bf__sql_text(&sb, &sql);
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc->s, sql, &sc->binds)) == BF_OK) {
        rc = bf__stmt_step(&st);
        if (rc == BF_SQL_ROW) {
            rc = probe_columns(&st, 1, p, sc->table);
        } else if (rc == BF_SQL_DONE) {
            rc = bf__error(BF_E_DRIVER, "references probe of %s: no row", sc->table);
        }
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    return rc;
}

/* The whole profile in one statement around the dialect's profile aggregate. */
static int pf_profile(struct scan *sc, bf_profile *p, const bf_profile_spec *spec, size_t nf,
                      const char *const *all, size_t nall, const bf__profile_extra *extra)
{
    bf__stmt st;
    bf_value v;
    char *sql = NULL, **queries = NULL;
    size_t nprobe = extra ? extra->probe_count : 0, counted = 0;
    int at = 1 + 2 * (int)spec->minmax_count;
    int fused = pf_fused(sc, spec, extra), segfused = pf_segfused(sc, spec, extra);
    int *how = bf__calloc(nprobe + 1, sizeof *how);
    int *undecided = bf__calloc(nprobe + 1, sizeof *undecided);
    int rc = how && undecided && (queries = bf__calloc(nprobe + 1, sizeof *queries)) ? BF_OK
                                                                                   : bf__nomem();

    if (rc == BF_OK && nprobe)
        rc = probe_plan(sc, extra, how, queries);
    for (size_t i = 0; i < nprobe && rc == BF_OK; i++) {
        if (how[i] == PROBE_COUNT) {
            bf_value q = {BF_VALUE_TEXT, 0, 0.0, queries[i], strlen(queries[i])};

            bf__binds_value(&sc->binds, probe_binds[counted++], &q);
        }
    }
    if (rc == BF_OK)
        rc = pf_sql(sc, &sql, spec, nf, all, nall, extra, how);
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc->s, sql, &sc->binds)) == BF_OK) {
        rc = bf__stmt_step(&st);
        if (rc == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK) {
            /* The segments ride after a newline when the profile takes them (pf_segfused). */
            const char *nl =
                segfused && v.type == BF_VALUE_TEXT && v.s ? memchr(v.s, '\n', v.len) : NULL;
            bf_value head = v;

            if (nl)
                head.len = (size_t)(nl - v.s);
            /* The counted probes end the first line, each " p...". */
            if (counted && head.type == BF_VALUE_TEXT && head.s) {
                const char *q = head.s, *end = head.s + head.len;

                while (q + 1 < end && !(q[0] == ' ' && q[1] == 'p'))
                    q++;
                head.len = (size_t)(q - head.s);
                for (size_t i = 0; i < nprobe && rc == BF_OK; i++)
                    if (how[i] == PROBE_COUNT)
                        rc = probe_parse(sc->s, &q, end, &extra->probes[i], &undecided[i]);
                if (rc == BF_OK && q != end)
                    rc = pf_bad(sc->s);
            } else if (counted) { /* no rows: none counted */
                for (size_t i = 0; i < nprobe; i++)
                    if (how[i] == PROBE_COUNT)
                        extra->probes[i].nulls = extra->probes[i].orphans = 0;
            }
            if (rc == BF_OK)
                rc = pf_fill(sc->s, p, spec, nf, &head, fused ? extra->all : NULL);
            if (rc == BF_OK && segfused && v.type == BF_VALUE_TEXT)
                rc = nl ? bf__segacc_parse(extra->segments, nl + 1)
                        : bf__error(BF_E_DRIVER, "profile of %s: the aggregate gave no "
                                                 "segments", sc->table);
        } else if (rc == BF_SQL_DONE)
            rc = bf__error(BF_E_DRIVER, "profile of %s: the aggregate gave no row", sc->table);
        for (size_t i = 0; i < spec->minmax_count && rc == BF_OK; i++) {
            if ((rc = bf__stmt_column(&st, 1 + 2 * (int)i, &v)) != BF_OK ||
                (rc = bf_profile_set_min(p, i, &v)) != BF_OK)
                break;
            if ((rc = bf__stmt_column(&st, 2 + 2 * (int)i, &v)) == BF_OK)
                rc = bf_profile_set_max(p, i, &v);
        }
        if (extra && extra->all && !fused && rc == BF_OK &&
            (rc = bf__stmt_column(&st, at++, &v)) == BF_OK)
            rc = fp_from_value(sc->s, extra->all, &v);
        /* As bf__sql_key_segments reads its aggregate: no rows, no segments. */
        if (extra && extra->segments && !segfused && rc == BF_OK &&
            (rc = bf__stmt_column(&st, at++, &v)) == BF_OK)
            rc = v.type == BF_VALUE_TEXT ? bf__segacc_parse(extra->segments, v.s)
                 : v.type == BF_VALUE_NULL ? BF_OK
                 : bf__error(BF_E_DRIVER, "%s: %s returned no segment list",
                             sc->s->vt.dialect ? sc->s->vt.dialect : "driver",
                             sc->s->vt.segments_function);
        for (size_t i = 0; i < nprobe && rc == BF_OK; i++) {
            if (how[i] == PROBE_COUNT)
                continue;
            rc = probe_columns(&st, at, &extra->probes[i], sc->table);
            at += 2;
        }
        bf__stmt_finalize(&st);
    }
    /* Undecided: counted again with the join, which later profiles use from the start. */
    for (size_t i = 0; i < nprobe && rc == BF_OK; i++) {
        char *key;

        if (how[i] != PROBE_COUNT)
            continue;
        if (!undecided[i]) {
            sc->s->probes_counted++;
            continue;
        }
        if ((rc = probe_alone(sc, &extra->probes[i], i)) != BF_OK)
            break;
        key = probe_memo_key(sc->table, &extra->probes[i], queries[i]);
        rc = key ? probe_memo_add(sc->s, key) : bf__nomem();
    }
    for (size_t i = 0; queries && i < nprobe; i++)
        bf__free(queries[i]);
    bf__free(queries);
    bf__free(how);
    bf__free(undecided);
    bf__free(sql);
    return rc;
}

int bf__sql_profile(void *ud, bf_profile *p, const char *table, const bf_profile_spec *spec,
                    const bf_plan *plan, const bf_batch *batch)
{
    struct scan sc;
    bf__stmt st;
    char *sql = NULL;
    int with_fp, use_fpn, rc;

    rc = scan_init(&sc, ud, table, spec->fingerprint_columns, spec->fingerprint_count, plan, batch);
    if (rc == BF_OK && (rc = scan_check(&sc, spec->null_columns, spec->null_count)) == BF_OK &&
        (rc = scan_check(&sc, spec->sum_columns, spec->sum_count)) == BF_OK)
        rc = scan_check(&sc, spec->minmax_columns, spec->minmax_count);
    /* Rows alone are SQL's own count(*), with no function call per row. */
    if (rc == BF_OK && pf_fp_count(&sc, spec) >= 0 &&
        (spec->fingerprint || spec->null_count || spec->sum_count || spec->minmax_count)) {
        rc = pf_profile(&sc, p, spec, (size_t)pf_fp_count(&sc, spec), NULL, 0, NULL);
        scan_dispose(&sc);
        return rc;
    }
    with_fp = spec->fingerprint && aggregate(&sc, sc.s->vt.fingerprint_function);
    use_fpn = with_fp && aggregate(&sc, sc.s->vt.fingerprint_nulls_function);
    if (rc == BF_OK)
        rc = profile_sql(&sc, &sql, spec, with_fp, use_fpn);
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc.s, sql, &sc.binds)) == BF_OK) {
        rc = bf__stmt_step(&st);
        if (rc == BF_SQL_ROW)
            rc = profile_fill(&st, &sc, p, spec, with_fp, use_fpn);
        else if (rc == BF_SQL_DONE)
            rc = bf__error(BF_E_DRIVER, "profile of %s: the aggregate gave no row", table);
        bf__stmt_finalize(&st);
    }
    /* Without an aggregate the fingerprint takes its own scan. */
    if (rc == BF_OK && spec->fingerprint && !with_fp) {
        bf_fingerprint fp;

        if ((rc = fp_scan(&sc, &fp)) == BF_OK)
            rc = bf_profile_set_fingerprint(p, &fp);
    }
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_profile_with(bf__sql *s, bf_profile *p, const bf__profile_extra *extra,
                         const char *table, const bf_profile_spec *spec, const bf_plan *plan,
                         const bf_batch *batch)
{
    struct scan sc;
    const char **names = NULL;
    int rc = scan_init(&sc, s, table, spec->fingerprint_columns, spec->fingerprint_count, plan,
                       batch);

    if (rc == BF_OK && (rc = scan_check(&sc, spec->null_columns, spec->null_count)) == BF_OK &&
        (rc = scan_check(&sc, spec->sum_columns, spec->sum_count)) == BF_OK)
        rc = scan_check(&sc, spec->minmax_columns, spec->minmax_count);
    if (rc == BF_OK && extra->segments)
        rc = scan_check(&sc, extra->key, extra->key_count);
    /* Only around the dialect's aggregates: else as many scans anyway. */
    if (rc == BF_OK && (pf_fp_count(&sc, spec) < 0 || !sc.info->count ||
                        (extra->all && (!s->vt.fingerprint_function ||
                                        sc.info->count > BF_AGG_MAX_ARGS)) ||
                        (extra->segments && (!s->vt.segments_function || !extra->key_count ||
                                             extra->segment_count < 1 ||
                                             extra->segment_count > BF_SEGMENTS_MAX ||
                                             sc.info->count + extra->key_count + 2 >
                                                 BF_AGG_MAX_ARGS))))
        rc = bf__error(BF_E_UNSUPPORTED, "profile of %s: no one-scan form for what else is asked",
                       table);
    if (rc == BF_OK && !(names = bf__calloc(sc.info->count, sizeof *names)))
        rc = bf__nomem();
    for (size_t i = 0; rc == BF_OK && i < sc.info->count; i++)
        names[i] = sc.info->columns[i].name;
    bf__binds_int(&sc.binds, "bf_n", extra->segment_count);
    bf__binds_int(&sc.binds, "bf_kc", (int64_t)extra->key_count);
    if (rc == BF_OK)
        rc = pf_profile(&sc, p, spec, (size_t)pf_fp_count(&sc, spec), names, sc.info->count,
                        extra);
    bf__free(names);
    scan_dispose(&sc);
    return rc;
}

/* ---- duplicates and orphans ---- */

/* Append "(a.c1 IS NULL OR a.c2 IS NULL ...)". */
static int any_null(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *cols,
                    size_t count)
{
    bf__sb_appendc(sb, '(');
    for (size_t i = 0; i < count; i++) {
        if (i)
            bf__sb_append(sb, " OR ");
        if (alias) {
            bf__sb_append(sb, alias);
            bf__sb_appendc(sb, '.');
        }
        if (bf__sql_ident(s, sb, cols[i]) != BF_OK)
            return BF_E_INVALID;
        bf__sb_append(sb, " IS NULL");
    }
    bf__sb_appendc(sb, ')');
    return BF_OK;
}

static int null_text(const bf__sql *s, char **out, const char *alias, const char *const *cols,
                     size_t count)
{
    bf__sb sb;

    bf__sb_init(&sb);
    if (any_null(s, &sb, alias, cols, count) != BF_OK) {
        bf__sb_dispose(&sb);
        return BF_E_INVALID;
    }
    return bf__sql_text(&sb, out);
}

/* Run a built query into rows (appending) when `max` samples are wanted. */
static int sample(struct scan *sc, bf_rows *rows, size_t max, const char *tpl,
                  const char *const *args)
{
    char *sql;
    int rc;

    if (!max)
        return BF_OK;
    bf__binds_int(&sc->binds, "bf_limit", max > INT64_MAX ? INT64_MAX : (int64_t)max);
    if ((rc = scan_build(sc, &sql, tpl, args)) != BF_OK)
        return rc;
    rc = bf__sql_query_rows(sc->s, rows, sql, &sc->binds);
    bf__free(sql);
    return rc;
}

static int scan_int(struct scan *sc, int64_t *out, const char *tpl, const char *const *args)
{
    char *sql;
    int rc = scan_build(sc, &sql, tpl, args);

    if (rc == BF_OK)
        rc = bf__sql_query_int(sc->s, out, sql, &sc->binds);
    bf__free(sql);
    return rc;
}

/*
 * Two non-NULL key values are the same key as GROUP BY sees it: numbers by
 * value (1 and 1.0 alike), text and blobs byte for byte.
 */
static int same_value(const bf_value *a, const bf_value *b)
{
    const bf_value *iv, *rv;

    if (a->type == BF_VALUE_INT && b->type == BF_VALUE_INT)
        return a->i == b->i;
    if (a->type == BF_VALUE_REAL && b->type == BF_VALUE_REAL)
        return a->r == b->r;
    if ((a->type == BF_VALUE_INT && b->type == BF_VALUE_REAL) ||
        (a->type == BF_VALUE_REAL && b->type == BF_VALUE_INT)) {
        iv = a->type == BF_VALUE_INT ? a : b;
        rv = a->type == BF_VALUE_INT ? b : a;
        return rv->r >= -9223372036854775808.0 && rv->r < 9223372036854775808.0 &&
               (double)(int64_t)rv->r == rv->r && (int64_t)rv->r == iv->i;
    }
    if (a->type != b->type || a->len != b->len)
        return 0;
    return a->len == 0 || memcmp(a->s, b->s, a->len) == 0;
}

/* The previous key of the ordered pass, its bytes copied out of the statement. */
struct prev_key {
    bf_value *v;
    char *buf;
    size_t cap;
};

static int prev_copy(struct prev_key *p, const bf_value *cur, size_t n)
{
    size_t need = 0, at = 0;

    for (size_t i = 0; i < n; i++)
        if (cur[i].type == BF_VALUE_TEXT || cur[i].type == BF_VALUE_BLOB)
            need += cur[i].len + 1;
    if (need > p->cap) {
        char *nb = bf__realloc(p->buf, need * 2);
        if (!nb)
            return bf__nomem();
        p->buf = nb;
        p->cap = need * 2;
    }
    for (size_t i = 0; i < n; i++) {
        p->v[i] = cur[i];
        if (cur[i].type == BF_VALUE_TEXT || cur[i].type == BF_VALUE_BLOB) {
            if (cur[i].len)
                memcpy(p->buf + at, cur[i].s, cur[i].len);
            p->buf[at + cur[i].len] = '\0';
            p->v[i].s = p->buf + at;
            at += cur[i].len + 1;
        }
    }
    return BF_OK;
}

/*
 * A group of `run` rows with the key in p ended: its rows beyond the first
 * are duplicates, and the first `max` such keys are the samples.
 */
static int close_group(struct prev_key *p, size_t n, int64_t run, int64_t *dups,
                       bf_rows *samples, size_t max)
{
    if (run < 2)
        return BF_OK;
    *dups += run - 1;
    if (samples && bf_rows_count(samples) < max) {
        p->v[n] = (bf_value){BF_VALUE_INT, run, 0.0, NULL, 0};
        return bf_rows_append(samples, p->v, n + 1);
    }
    return BF_OK;
}

/*
 * One ordered pass over the key: rows arrive sorted by the key (read from an
 * index on it in order when there is one, else sorted once), each is
 * compared with the one before, and only the first max_samples repeated keys
 * are kept. NULL-key rows are counted whole, and apart in *out_nulls.
 */
int bf__sql_duplicates_nulls(bf__sql *s, bf_rows *samples, int64_t *out_count,
                             int64_t *out_nulls, const char *table, const char *const *key,
                             size_t key_count, size_t max_samples, const bf_plan *plan,
                             const bf_batch *batch)
{
    struct scan sc;
    struct prev_key prev = {NULL, NULL, 0};
    bf_value *cur = NULL;
    bf__stmt st;
    char *sql = NULL;
    int64_t dups = 0, nulls = 0, run = 0;
    int rc = scan_init(&sc, s, table, key, key_count, plan, batch);

    if (rc == BF_OK && (!(prev.v = bf__calloc(key_count + 1, sizeof *prev.v)) ||
                        !(cur = bf__calloc(key_count, sizeof *cur))))
        rc = bf__nomem();
    /*
     * Keys are compared byte for byte, so they are sorted so too: under a column's own
     * collation (NOCASE) 'x', 'X', 'x' would arrive in that order and the two 'x' never meet.
     * On SQLite each key column is ordered COLLATE BINARY (an index in another collation then
     * cannot give the order: the rows are sorted once).
     */
    if (rc == BF_OK) {
        bf__sb order;
        char *by = NULL;
        int sqlite = s->vt.dialect && strcmp(s->vt.dialect, "sqlite") == 0;

        bf__sb_init(&order);
        for (size_t i = 0; i < key_count && rc == BF_OK; i++) {
            bf__sb_append(&order, i ? ", " : "");
            rc = bf__sql_ident(s, &order, key[i]);
            if (sqlite)
                bf__sb_append(&order, " COLLATE BINARY");
        }
        if (rc == BF_OK)
            rc = bf__sql_text(&order, &by);
        else
            bf__sb_dispose(&order);
        if (rc == BF_OK)
            rc = scan_build(&sc, &sql, "SELECT %C FROM %T WHERE %P ORDER BY %S",
                            ARGS(NULL, table, NULL, by));
        bf__free(by);
    }
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc.s, sql, &sc.binds)) == BF_OK) {
        while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            int null = 0, same = run > 0;

            for (size_t i = 0; i < key_count && rc == BF_SQL_ROW; i++) {
                if ((rc = bf__stmt_column(&st, (int)i, &cur[i])) != BF_OK)
                    break;
                rc = BF_SQL_ROW;
                null |= cur[i].type == BF_VALUE_NULL;
                same = same && !null && same_value(&cur[i], &prev.v[i]);
            }
            if (rc != BF_SQL_ROW)
                break;
            if (same) {
                run++;
                continue;
            }
            /* A new key (or a NULL one) closes the group before it. */
            if ((rc = close_group(&prev, key_count, run, &dups, samples, max_samples)) != BF_OK)
                break;
            run = 0;
            if (null) {
                nulls++;
                continue;
            }
            if ((rc = prev_copy(&prev, cur, key_count)) != BF_OK)
                break;
            run = 1;
        }
        if (rc == BF_SQL_DONE)
            rc = close_group(&prev, key_count, run, &dups, samples, max_samples);
        bf__stmt_finalize(&st);
    }
    if (rc == BF_OK) {
        *out_count = dups + nulls;
        if (out_nulls)
            *out_nulls = nulls;
    }
    bf__free(sql);
    bf__free(cur);
    bf__free(prev.v);
    bf__free(prev.buf);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_duplicates(void *ud, bf_rows *samples, int64_t *out_count, const char *table,
                       const char *const *key, size_t key_count, size_t max_samples,
                       const bf_plan *plan, const bf_batch *batch)
{
    return bf__sql_duplicates_nulls(ud, max_samples ? samples : NULL, out_count, NULL, table, key,
                                    key_count, max_samples, plan, batch);
}

int bf__sql_orphans(void *ud, bf_rows *samples, int64_t *out_count, const char *table,
                    const char *const *columns, size_t column_count, const char *parent,
                    const char *const *parent_columns, size_t max_samples, const bf_plan *plan,
                    const bf_batch *batch)
{
    struct scan sc;
    char *nulls = NULL, *match = NULL;
    bf__sb sb;
    bf_table_info *parent_info = NULL;
    int rc = scan_init(&sc, ud, table, columns, column_count, plan, batch);

    /* The parent and its columns exist too: a missing one would make every row an orphan. */
    if (rc == BF_OK && (rc = bf__sql_describe(sc.s, &parent_info, parent)) == BF_OK)
        rc = bf__sql_check_columns(sc.s, parent_info, parent, parent_columns, column_count);
    bf_table_info_free(parent_info);
    if (rc == BF_OK)
        rc = null_text(sc.s, &nulls, "c", columns, column_count);
    if (rc == BF_OK) {
        bf__sb_init(&sb);
        for (size_t i = 0; i < column_count && rc == BF_OK; i++) {
            bf__sb_append(&sb, i ? " AND p." : "p.");
            rc = bf__sql_ident(sc.s, &sb, parent_columns[i]);
            bf__sb_append(&sb, " = c.");
            if (rc == BF_OK)
                rc = bf__sql_ident(sc.s, &sb, columns[i]);
        }
        if (rc == BF_OK)
            rc = bf__sql_text(&sb, &match);
        else
            bf__sb_dispose(&sb);
    }
    if (rc == BF_OK)
        rc = scan_int(&sc, out_count,
                      "SELECT count(*) FROM %T c WHERE %P AND NOT %S AND NOT EXISTS "
                      "(SELECT 1 FROM %T p WHERE %S)",
                      ARGS(table, "c", nulls, parent, match));
    /* No orphan, no sample: the second pass over the batch would find nothing. */
    if (rc == BF_OK && *out_count)
        rc = sample(&sc, samples, max_samples,
                    "SELECT %C, count(*) FROM %T c WHERE %P AND NOT %S AND NOT EXISTS "
                    "(SELECT 1 FROM %T p WHERE %S) GROUP BY %C ORDER BY %C LIMIT :bf_limit",
                    ARGS("c", table, "c", nulls, parent, match, "c", "c"));
    bf__free(nulls);
    bf__free(match);
    scan_dispose(&sc);
    return rc;
}

/* ---- diffs ---- */

static int add_segment(bf_rows *rows, int64_t segment, const bf_fingerprint *fp)
{
    char text[BF_FINGERPRINT_TEXT_SIZE];
    bf_value v[3] = {
        {BF_VALUE_INT, segment, 0.0, NULL, 0},
        {BF_VALUE_INT, (int64_t)fp->rows, 0.0, NULL, 0},
        {BF_VALUE_TEXT, 0, 0.0, text, 0},
    };

    bf_fingerprint_format(text, sizeof text, fp);
    v[2].len = strlen(text);
    return bf_rows_append(rows, v, 3);
}

int bf__sql_segments(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                     size_t column_count, const char *key_column, int64_t lo, int64_t hi,
                     int64_t width)
{
    struct scan sc;
    bf__stmt st;
    char *sql = NULL;
    int rc = scan_init(&sc, ud, table, columns, column_count, NULL, NULL);
    const char *fn = aggregate(&sc, sc.s->vt.fingerprint_function);

    if (rc == BF_OK)
        rc = scan_check(&sc, &key_column, 1);

    bf__binds_int(&sc.binds, "bf_lo", lo);
    bf__binds_int(&sc.binds, "bf_hi", hi);
    bf__binds_int(&sc.binds, "bf_width", width);
    if (rc == BF_OK)
        rc = fn ? scan_build(&sc, &sql, "SELECT (%T - :bf_lo) / :bf_width AS bf_seg, %S(%C) FROM %T "
                             "WHERE %T >= :bf_lo AND %T < :bf_hi GROUP BY bf_seg ORDER BY bf_seg",
                             ARGS(key_column, fn, NULL, table, key_column, key_column))
                : scan_build(&sc, &sql, "SELECT (%T - :bf_lo) / :bf_width, %C FROM %T WHERE "
                             "%T >= :bf_lo AND %T < :bf_hi ORDER BY %T",
                             ARGS(key_column, NULL, table, key_column, key_column, key_column));
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc.s, sql, &sc.binds)) == BF_OK) {
        bf__fprow row = {0};
        bf_fingerprint fp = {0, 0, 0};
        int64_t current = 0;
        bf_value v;

        while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            int64_t seg;

            if ((rc = bf__stmt_column(&st, 0, &v)) != BF_OK)
                break;
            seg = v.i;
            if (fn) {
                if ((rc = bf__stmt_column(&st, 1, &v)) != BF_OK ||
                    (rc = fp_from_value(sc.s, &fp, &v)) != BF_OK ||
                    (rc = add_segment(rows, lo + seg * width, &fp)) != BF_OK)
                    break;
                continue;
            }
            /* Rows arrive in key order: close a segment when the next one starts. */
            if (fp.rows && seg != current) {
                if ((rc = add_segment(rows, lo + current * width, &fp)) != BF_OK)
                    break;
                fp = (bf_fingerprint){0, 0, 0};
            }
            current = seg;
            bf__fprow_reset(&row);
            for (size_t i = 0; i < sc.t.col_count && rc == BF_OK; i++)
                if ((rc = bf__stmt_column(&st, 1 + (int)i, &v)) == BF_OK)
                    rc = bf__fprow_put(&row, &v);
            if (rc != BF_OK)
                break;
            bf__fprow_apply(&row, &fp, 1);
        }
        if (rc == BF_SQL_DONE && !fn && fp.rows)
            rc = add_segment(rows, lo + current * width, &fp);
        if (rc == BF_SQL_DONE)
            rc = BF_OK;
        bf__fprow_dispose(&row);
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_fetch(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                  size_t column_count, const char *key_column, const bf_value *lo,
                  const bf_value *hi, size_t limit)
{
    static const bf_value open = {BF_VALUE_NULL, 0, 0.0, NULL, 0};
    struct scan sc;
    char *sql = NULL;
    int rc = scan_init(&sc, ud, table, columns, column_count, NULL, NULL);

    /* An open side is bound as NULL, so the statement text never depends on values. */
    bf__binds_value(&sc.binds, "bf_lo", lo ? lo : &open);
    bf__binds_value(&sc.binds, "bf_hi", hi ? hi : &open);
    bf__binds_int(&sc.binds, "bf_limit", limit && limit < INT64_MAX ? (int64_t)limit : -1);
    if (rc == BF_OK)
        rc = scan_check(&sc, &key_column, 1);
    if (rc == BF_OK)
        rc = scan_build(&sc, &sql, "SELECT %C FROM %T WHERE (:bf_lo IS NULL OR %T >= :bf_lo) "
                        "AND (:bf_hi IS NULL OR %T < :bf_hi) ORDER BY %T LIMIT :bf_limit",
                        ARGS(NULL, table, key_column, key_column, key_column));
    if (rc == BF_OK)
        rc = bf__sql_query_rows(sc.s, rows, sql, &sc.binds);
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

/* ---- planning ---- */

/* A key value as text for a message: the number, or the text quoted and cut. */
static void key_text(char *buf, size_t size, const bf_value *v)
{
    switch (v->type) {
    case BF_VALUE_INT:
        snprintf(buf, size, "%lld", (long long)v->i);
        break;
    case BF_VALUE_REAL: {
        char real[BF__REAL_TEXT_SIZE];

        bf__real_text(real, v->r);
        snprintf(buf, size, "%s", real);
        break;
    }
    case BF_VALUE_TEXT:
        snprintf(buf, size, "'%.*s'", (int)(v->len < 60 ? v->len : 60), v->s);
        break;
    case BF_VALUE_BLOB:
        snprintf(buf, size, "a blob of %zu bytes", v->len);
        break;
    default:
        snprintf(buf, size, "NULL");
    }
}

static int not_integer(const struct scan *sc, const char *column, const bf_value *v)
{
    char text[96];

    key_text(text, sizeof text, v);
    return bf__error(BF_E_INVALID, "table %s: column %s holds %s, which is not an integer; "
                     "rows_per_batch walks integer keys", sc->table, column, text);
}

/*
 * The key the one-row query `sql` answers: *found is 0 when it answers no
 * row or NULL. A value that is not an integer (3.5, text) is BF_E_INVALID
 * naming the column and the value: the walk steps from key to key, and a
 * value read back as a neighbouring integer would never move it on.
 */
static int key_query(struct scan *sc, int64_t *out, int *found, const char *column,
                     const char *sql)
{
    bf__stmt st;
    bf_value v;
    int rc;

    *found = 0;
    if ((rc = bf__stmt_prepare(&st, sc->s, sql, &sc->binds)) != BF_OK)
        return rc;
    rc = bf__stmt_step(&st);
    if (rc == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK) {
        if (v.type == BF_VALUE_INT) {
            *out = v.i;
            *found = 1;
        } else if (v.type == BF_VALUE_REAL && v.r >= -9223372036854775808.0 &&
                   v.r < 9223372036854775808.0 && v.r == (double)(int64_t)v.r) {
            *out = (int64_t)v.r;
            *found = 1;
        } else if (v.type != BF_VALUE_NULL) {
            rc = not_integer(sc, column, &v);
        }
    } else if (rc == BF_SQL_DONE) {
        rc = BF_OK;
    }
    bf__stmt_finalize(&st);
    return rc;
}

/* Refuse the first value the query `sql` finds (values of the scope that are not whole). */
static int odd_key(struct scan *sc, const char *column, const char *sql)
{
    bf__stmt st;
    bf_value v;
    int rc;

    if ((rc = bf__stmt_prepare(&st, sc->s, sql, &sc->binds)) != BF_OK)
        return rc;
    rc = bf__stmt_step(&st);
    if (rc == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK)
        rc = not_integer(sc, column, &v);
    else if (rc == BF_SQL_DONE)
        rc = BF_OK;
    bf__stmt_finalize(&st);
    return rc;
}

int bf__sql_key_boundaries(void *ud, bf_rows *rows, const char *table, const char *key_column,
                           int64_t lo, int64_t hi, int64_t rows_per_batch)
{
    const char *const key[] = {key_column};
    struct scan sc;
    char *odd_sql = NULL, *first_sql = NULL, *offset_sql = NULL, *next_sql = NULL;
    bf_value v = {BF_VALUE_INT, lo, 0.0, NULL, 0};
    int64_t cur = lo, first, next;
    int found, rc = scan_init(&sc, ud, table, key, 1, NULL, NULL);

    /* Any value in the scope that is not a whole number is refused up front, by name. */
    if (rc == BF_OK)
        rc = scan_build(&sc, &odd_sql, "SELECT %T FROM %T WHERE %T >= :bf_cur AND %T < :bf_hi "
                        "AND %T <> CAST(%T AS INTEGER) ORDER BY %T LIMIT 1",
                        ARGS(key_column, table, key_column, key_column, key_column, key_column,
                             key_column));
    if (rc == BF_OK)
        rc = scan_build(&sc, &first_sql, "SELECT min(%T) FROM %T WHERE %T >= :bf_cur AND "
                        "%T < :bf_hi", ARGS(key_column, table, key_column, key_column));
    if (rc == BF_OK)
        rc = scan_build(&sc, &offset_sql, "SELECT %T FROM %T WHERE %T >= :bf_cur AND %T < :bf_hi "
                        "ORDER BY %T LIMIT 1 OFFSET :bf_n",
                        ARGS(key_column, table, key_column, key_column, key_column));
    if (rc == BF_OK)
        rc = scan_build(&sc, &next_sql, "SELECT min(%T) FROM %T WHERE %T > :bf_first AND "
                        "%T < :bf_hi", ARGS(key_column, table, key_column, key_column));
    if (rc == BF_OK)
        rc = bf_rows_append(rows, &v, 1);
    bf__binds_int(&sc.binds, "bf_cur", lo);
    bf__binds_int(&sc.binds, "bf_hi", hi);
    bf__binds_int(&sc.binds, "bf_n", rows_per_batch);
    if (rc == BF_OK && (rc = odd_key(&sc, key_column, odd_sql)) != BF_OK)
        goto done;
    /*
     * Each batch [cur, next) ends where the key at offset rows_per_batch from
     * its first row begins, so a run of equal keys is never split. When that
     * run is the batch's own first key, the batch would be empty: it takes
     * the whole run instead and ends at the next key. Every boundary is a
     * key of the table greater than the last, so the walk always moves on.
     */
    while (rc == BF_OK) {
        bf__binds_int(&sc.binds, "bf_cur", cur);
        if ((rc = key_query(&sc, &first, &found, key_column, first_sql)) != BF_OK || !found)
            break;
        if ((rc = key_query(&sc, &next, &found, key_column, offset_sql)) != BF_OK || !found)
            break;
        if (next <= first) {
            bf__binds_int(&sc.binds, "bf_first", first);
            if ((rc = key_query(&sc, &next, &found, key_column, next_sql)) != BF_OK || !found)
                break;
        }
        if (next <= cur || next >= hi) {
            if (next <= cur)
                rc = bf__error(BF_E_INTERNAL, "key boundaries of %s: the walk on %s stopped at "
                               "%lld", table, key_column, (long long)cur);
            break;
        }
        v.i = cur = next;
        rc = bf_rows_append(rows, &v, 1);
    }
    if (rc == BF_OK) {
        v.i = hi;
        rc = bf_rows_append(rows, &v, 1);
    }
done:
    bf__free(odd_sql);
    bf__free(first_sql);
    bf__free(offset_sql);
    bf__free(next_sql);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_partitions(void *ud, bf_rows *rows, const char *table, const char *column)
{
    struct scan sc;
    char *sql = NULL;
    int rc = scan_init(&sc, ud, table, &column, 1, NULL, NULL);

    if (rc == BF_OK)
        rc = scan_build(&sc, &sql, "SELECT DISTINCT %T FROM %T WHERE %T IS NOT NULL ORDER BY %T",
                        ARGS(column, table, column, column));
    if (rc == BF_OK)
        rc = bf__sql_query_rows(sc.s, rows, sql, &sc.binds);
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

/* ---- segments by key hash ---- */

/* ", (e1), (e2) ..." for the caller's expressions. */
static int expr_list(char **out, const char *const *exprs, size_t count, int leading_comma)
{
    bf__sb sb;

    bf__sb_init(&sb);
    for (size_t i = 0; i < count; i++)
        bf__sb_appendf(&sb, "%s(%s)", i || leading_comma ? ", " : "", exprs[i]);
    return bf__sb_finish(&sb, out);
}

int bf__sql_key_segments(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                         size_t column_count, const char *const *key, size_t key_count,
                         int64_t segments, const bf_plan *plan, const bf_batch *batch)
{
    struct scan sc;
    bf__stmt st;
    char *sql = NULL;
    int rc = scan_init(&sc, ud, table, columns, column_count, plan, batch);
    const char *fn = sc.s->vt.segments_function;

    if (rc == BF_OK)
        rc = scan_check(&sc, key, key_count);
    sc.t.key = key;
    sc.t.key_count = key_count;
    if (sc.t.col_count + key_count + 2 > BF_AGG_MAX_ARGS)
        fn = NULL;
    bf__binds_int(&sc.binds, "bf_n", segments);
    bf__binds_int(&sc.binds, "bf_kc", (int64_t)key_count);
    if (rc == BF_OK)
        rc = fn ? scan_build(&sc, &sql, "SELECT %S(:bf_n, :bf_kc, %K, %C) FROM %T WHERE %P",
                             ARGS(fn, NULL, NULL, table, NULL))
                : scan_build(&sc, &sql, "SELECT %K, %C FROM %T WHERE %P",
                             ARGS(NULL, NULL, table, NULL));
    if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc.s, sql, &sc.binds)) == BF_OK) {
        size_t width = key_count + sc.t.col_count;
        bf_value *vals = bf__calloc(width, sizeof *vals);
        bf__segacc acc;

        memset(&acc, 0, sizeof acc);
        bf_value v;

        if (!vals)
            rc = bf__nomem();
        else if (fn) {
            if ((rc = bf__stmt_step(&st)) == BF_SQL_ROW && (rc = bf__stmt_column(&st, 0, &v)) == BF_OK)
                rc = v.type == BF_VALUE_TEXT ? bf__segacc_parse(rows, v.s)
                     : v.type == BF_VALUE_NULL ? BF_OK
                     : bf__error(BF_E_DRIVER, "%s: %s returned no segment list",
                                 sc.s->vt.dialect ? sc.s->vt.dialect : "driver", fn);
        } else if ((rc = bf__segacc_init(&acc, segments)) == BF_OK) {
            while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
                for (size_t i = 0; i < width && rc == BF_SQL_ROW; i++)
                    if (bf__stmt_column(&st, (int)i, &vals[i]) != BF_OK)
                        rc = bf_last_error_code();
                if (rc != BF_SQL_ROW ||
                    (rc = bf__segacc_add(&acc, vals, key_count, vals + key_count,
                                         sc.t.col_count)) != BF_OK)
                    break;
                rc = BF_SQL_ROW;
            }
            if (rc == BF_SQL_DONE) {
                char *text = NULL;

                if ((rc = bf__segacc_text(&text, &acc)) == BF_OK)
                    rc = bf__segacc_parse(rows, text);
                bf__free(text);
            }
            bf__segacc_dispose(&acc);
        }
        bf__free(vals);
        bf__stmt_finalize(&st);
    }
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_segment_rows(void *ud, bf_rows *rows, const char *table, const char *const *columns,
                         size_t column_count, const char *const *expressions,
                         size_t expression_count, const char *const *key, size_t key_count,
                         int64_t segments, const int64_t *wanted, size_t wanted_count,
                         const bf_plan *plan, const bf_batch *batch)
{
    struct scan sc;
    bf__stmt st;
    char *sql = NULL, *exprs = NULL, *set_text = NULL;
    unsigned char *set = NULL;
    int rc = scan_init(&sc, ud, table, columns, column_count, plan, batch);
    const char *fn = sc.s->vt.segment_filter_function;
    bf__sb sb;

    if (rc == BF_OK)
        rc = scan_check(&sc, key, key_count);
    sc.t.key = key;
    sc.t.key_count = key_count;
    bf__sb_init(&sb);
    for (size_t i = 0; i < wanted_count; i++)
        bf__sb_appendf(&sb, "%s%lld", i ? "," : "", (long long)wanted[i]);
    if (rc == BF_OK)
        rc = bf__sb_finish(&sb, &set_text);
    else
        bf__sb_dispose(&sb);
    if (rc == BF_OK)
        rc = expr_list(&exprs, expressions, expression_count, 1);
    bf__binds_int(&sc.binds, "bf_n", segments);
    if (rc == BF_OK && fn) {
        bf_value v = {BF_VALUE_TEXT, 0, 0.0, set_text, strlen(set_text)};

        bf__binds_value(&sc.binds, "bf_set", &v);
        rc = scan_build(&sc, &sql, "SELECT %C%S FROM %T WHERE %P AND %S(:bf_set, :bf_n, %K) = 1",
                        ARGS(NULL, exprs, table, NULL, fn, NULL));
        if (rc == BF_OK)
            rc = bf__sql_query_rows(sc.s, rows, sql, &sc.binds);
    } else if (rc == BF_OK) {
        /* Portable: read the scope and keep the rows of wanted segments. */
        rc = bf__segset_parse(&set, set_text, segments);
        if (rc == BF_OK)
            rc = scan_build(&sc, &sql, "SELECT %C%S, %K FROM %T WHERE %P",
                            ARGS(NULL, exprs, NULL, table, NULL));
        if (rc == BF_OK && (rc = bf__stmt_prepare(&st, sc.s, sql, &sc.binds)) == BF_OK) {
            size_t out_width = sc.t.col_count + expression_count;
            bf_value *vals = bf__calloc(out_width + key_count, sizeof *vals);

            if (!vals)
                rc = bf__nomem();
            while (vals && (rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
                int has;

                for (size_t i = 0; i < out_width + key_count && rc == BF_SQL_ROW; i++)
                    if (bf__stmt_column(&st, (int)i, &vals[i]) != BF_OK)
                        rc = bf_last_error_code();
                if (rc != BF_SQL_ROW)
                    break;
                has = bf__segset_has(set, vals + out_width, key_count, segments);
                if (has < 0) {
                    rc = bf__nomem();
                    break;
                }
                if (has && (rc = bf_rows_append(rows, vals, out_width)) != BF_OK)
                    break;
            }
            if (rc == BF_SQL_DONE)
                rc = BF_OK;
            bf__free(vals);
            bf__stmt_finalize(&st);
        }
    }
    bf__free(set);
    bf__free(set_text);
    bf__free(exprs);
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}

int bf__sql_evaluate(void *ud, bf_rows *rows, const char *table, const char *const *expressions,
                     size_t expression_count, const bf_plan *plan, const bf_batch *batch)
{
    struct scan sc;
    char *sql = NULL, *exprs = NULL;
    int rc = scan_init(&sc, ud, table, NULL, 0, plan, batch);

    if (rc == BF_OK)
        rc = expr_list(&exprs, expressions, expression_count, 0);
    if (rc == BF_OK)
        rc = scan_build(&sc, &sql, "SELECT %S FROM %T WHERE %P", ARGS(exprs, table, NULL));
    if (rc == BF_OK)
        rc = bf__sql_query_rows(sc.s, rows, sql, &sc.binds);
    bf__free(exprs);
    bf__free(sql);
    scan_dispose(&sc);
    return rc;
}
