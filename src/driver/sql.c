/*
 * The SQL layer's core: identifiers, predicates, statements with named
 * bindings, transactions, and the driver made from a connection vtable.
 */
#include <stddef.h>
#include <string.h>

#include "common/versioned.h"
#include "driver/sql.h"
#include "plan/plan_internal.h"

/* ---- bindings ---- */

void bf__binds_init(bf__binds *b)
{
    b->count = 0;
    b->list = NULL;
    b->list_count = 0;
}

void bf__binds_list(bf__binds *b, const bf_value *values, size_t count)
{
    b->list = values;
    b->list_count = count;
}

void bf__binds_value(bf__binds *b, const char *name, const bf_value *value)
{
    for (size_t i = 0; i < b->count; i++) {
        if (strcmp(b->names[i], name) == 0) {
            b->values[i] = *value;
            return;
        }
    }
    if (b->count < BF_BINDS_MAX) {
        b->names[b->count] = name;
        b->values[b->count] = *value;
        b->count++;
    }
}

void bf__binds_int(bf__binds *b, const char *name, int64_t value)
{
    bf_value v = {BF_VALUE_INT, value, 0.0, NULL, 0};

    bf__binds_value(b, name, &v);
}

void bf__binds_batch(bf__binds *b, const bf_batch *batch)
{
    const bf_value *set;
    size_t nset = bf__plan_values(bf__batch_plan(batch), &set);
    bf_value v;

    if (nset) /* a set plan's batch: its values, for the predicate's IN list */
        bf__binds_list(b, set, nset);

    for (size_t i = 0; batch && i < bf_batch_param_count(batch); i++)
        if (bf_batch_param_at(&v, batch, i) == BF_OK)
            bf__binds_value(b, bf_batch_param_name(batch, i), &v);
}

static const bf_value *binds_find(const bf__binds *b, const char *name)
{
    size_t index = 0;
    const char *p;

    for (size_t i = 0; b && i < b->count; i++)
        if (strcmp(b->names[i], name) == 0)
            return &b->values[i];
    /* "bf_v<N>": element N of the list. */
    if (!b || !b->list || strncmp(name, "bf_v", 4) != 0 || !name[4])
        return NULL;
    for (p = name + 4; *p >= '0' && *p <= '9' && index < b->list_count; p++)
        index = index * 10 + (size_t)(*p - '0');
    return *p == '\0' && index < b->list_count ? &b->list[index] : NULL;
}

/* ---- identifiers ---- */

/* Length of the UTF-8 sequence starting at p, or 0 if it is malformed. */
static size_t utf8_len(const unsigned char *p)
{
    size_t n;
    unsigned cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        n = 2, cp = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        n = 3, cp = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        n = 4, cp = p[0] & 0x07u;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)))
        return 0;
    return n;
}

int bf__sql_ident(const bf__sql *s, bf__sb *sb, const char *name)
{
    char quote = s->vt.ident_quote ? (char)s->vt.ident_quote : '"';
    size_t len, step;

    if (!name || !name[0])
        return bf__error(BF_E_INVALID, "identifier: an empty name");
    len = strlen(name);
    if (len > BF_IDENT_MAX)
        return bf__error(BF_E_INVALID, "identifier '%.40s...': longer than %d bytes", name,
                         BF_IDENT_MAX);
    for (const unsigned char *p = (const unsigned char *)name; *p; p += step) {
        if (*p < 0x20 || *p == 0x7f)
            return bf__error(BF_E_INVALID, "identifier '%.60s': contains a control character",
                             name);
        step = utf8_len(p);
        if (!step)
            return bf__error(BF_E_INVALID, "identifier '%.60s': not valid UTF-8", name);
    }
    if (!sb)
        return BF_OK;
    bf__sb_appendc(sb, quote);
    for (const char *p = name; *p; p++) {
        if (*p == quote)
            bf__sb_appendc(sb, quote);
        bf__sb_appendc(sb, *p);
    }
    bf__sb_appendc(sb, quote);
    return BF_OK;
}

static int qualified(const bf__sql *s, bf__sb *sb, const char *alias, const char *name)
{
    if (alias) {
        bf__sb_append(sb, alias);
        bf__sb_appendc(sb, '.');
    }
    return bf__sql_ident(s, sb, name);
}

int bf__sql_ident_list(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *names,
                       size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i)
            bf__sb_append(sb, ", ");
        if (qualified(s, sb, alias, names[i]) != BF_OK)
            return BF_E_INVALID;
    }
    return BF_OK;
}

int bf__sql_key_match(const bf__sql *s, bf__sb *sb, const char *a, const char *b,
                      const char *const *key, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (i)
            bf__sb_append(sb, " AND ");
        if (qualified(s, sb, a, key[i]) != BF_OK)
            return BF_E_INVALID;
        bf__sb_append(sb, " = ");
        if (qualified(s, sb, b, key[i]) != BF_OK)
            return BF_E_INVALID;
    }
    return BF_OK;
}

int bf__sql_key_in(const bf__sql *s, bf__sb *sb, const char *alias, const char *const *key,
                   size_t count, const char *table, const char *filter)
{
    int rows = count > 1 && s->vt.dialect && strcmp(s->vt.dialect, "sqlite") == 0;

    /* The subquery's own columns would answer an unqualified name. */
    if (!count || (count > 1 && !rows && !alias))
        return bf__error(BF_E_INTERNAL, "key membership in %s: no key or no qualifier", table);
    if (count > 1 && !rows) {
        bf__sb_append(sb, "EXISTS (SELECT 1 FROM ");
        if (bf__sql_ident(s, sb, table) != BF_OK)
            return BF_E_INVALID;
        bf__sb_append(sb, " bf_k WHERE ");
        if (filter) {
            bf__sb_append(sb, filter);
            bf__sb_append(sb, " AND ");
        }
        if (bf__sql_key_match(s, sb, alias, "bf_k", key, count) != BF_OK)
            return BF_E_INVALID;
        bf__sb_appendc(sb, ')');
        return BF_OK;
    }
    if (rows)
        bf__sb_appendc(sb, '(');
    if (bf__sql_ident_list(s, sb, alias, key, count) != BF_OK)
        return BF_E_INVALID;
    bf__sb_append(sb, rows ? ") IN (SELECT " : " IN (SELECT ");
    if (bf__sql_ident_list(s, sb, NULL, key, count) != BF_OK)
        return BF_E_INVALID;
    bf__sb_append(sb, " FROM ");
    if (bf__sql_ident(s, sb, table) != BF_OK)
        return BF_E_INVALID;
    if (filter) {
        bf__sb_append(sb, " WHERE ");
        bf__sb_append(sb, filter);
    }
    bf__sb_appendc(sb, ')');
    return BF_OK;
}

/* The plan's column in a predicate: `expr` when given, else the column qualified by `alias`. */
static int pred_column(const bf__sql *s, bf__sb *sb, const char *alias, const char *col,
                       const char *expr)
{
    if (!expr)
        return qualified(s, sb, alias, col);
    bf__sb_append(sb, expr);
    return BF_OK;
}

int bf__sql_predicate(const bf__sql *s, bf__sb *sb, const bf_plan *plan, const bf_batch *batch,
                      const char *alias)
{
    return bf__sql_predicate_on(s, sb, plan, batch, alias, NULL);
}

int bf__sql_predicate_on(const bf__sql *s, bf__sb *sb, const bf_plan *plan,
                         const bf_batch *batch, const char *alias, const char *expr)
{
    const char *col;

    if (!batch) {
        bf__sb_append(sb, "1 = 1");
        return BF_OK;
    }
    col = bf_plan_column(plan);
    bf__sb_appendc(sb, '(');
    switch (bf_batch_dimension(batch)) {
    case BF_DIM_TIME:
    case BF_DIM_KEY: {
        int time = bf_batch_dimension(batch) == BF_DIM_TIME;

        if (pred_column(s, sb, alias, col, expr) != BF_OK)
            return BF_E_INVALID;
        bf__sb_append(sb, time ? " >= :start AND " : " >= :lo AND ");
        pred_column(s, sb, alias, col, expr);
        bf__sb_append(sb, time ? " < :end" : " < :hi");
        break;
    }
    case BF_DIM_PARTITION: {
        const bf_value *set;
        size_t nset = bf__plan_values(bf__batch_plan(batch), &set);

        if (pred_column(s, sb, alias, col, expr) != BF_OK)
            return BF_E_INVALID;
        if (!nset) {
            bf__sb_append(sb, " = :partition");
            break;
        }
        /* A set plan's batch: every value, bound as the list :bf_v0 ... (bf__binds_batch). */
        bf__sb_append(sb, " IN (");
        for (size_t i = 0; i < nset; i++)
            bf__sb_appendf(sb, "%s:bf_v%zu", i ? ", " : "", i);
        bf__sb_appendc(sb, ')');
        break;
    }
    case BF_DIM_BUCKET:
        if (!s->vt.bucket_function)
            return bf__error(BF_E_UNSUPPORTED, "%s: no bucket function, so no bucket batches",
                             s->vt.dialect ? s->vt.dialect : "driver");
        bf__sb_append(sb, s->vt.bucket_function);
        bf__sb_appendc(sb, '(');
        if (pred_column(s, sb, alias, col, expr) != BF_OK)
            return BF_E_INVALID;
        bf__sb_append(sb, ", :buckets) = :bucket");
        break;
    default:
        return bf__error(BF_E_INVALID, "batch %s: unknown dimension", bf_batch_label(batch));
    }
    bf__sb_appendc(sb, ')');
    return BF_OK;
}

int bf__sql_text(bf__sb *sb, char **out)
{
    if (bf__sb_finish(sb, out) != BF_OK)
        return bf__nomem();
    return BF_OK;
}

int bf__sql_quoted(const bf__sql *s, char **out, const char *name)
{
    bf__sb sb;
    int rc;

    *out = NULL;
    bf__sb_init(&sb);
    if ((rc = bf__sql_ident(s, &sb, name)) != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

int bf__sql_build(const bf__sql *s, char **out, const bf__tpl *t, const char *tpl,
                  const char *const *args)
{
    bf__sb sb;
    int rc = BF_OK;
    size_t a = 0;

    *out = NULL;
    bf__sb_init(&sb);
    for (const char *p = tpl; *p && rc == BF_OK; p++) {
        if (*p != '%') {
            bf__sb_appendc(&sb, *p);
            continue;
        }
        switch (*++p) {
        case 'T':
            rc = bf__sql_ident(s, &sb, args[a++]);
            break;
        case 'C':
            rc = bf__sql_ident_list(s, &sb, args[a++], t->cols, t->col_count);
            break;
        case 'K':
            rc = bf__sql_ident_list(s, &sb, args[a++], t->key, t->key_count);
            break;
        case 'M':
            rc = bf__sql_key_match(s, &sb, args[a], args[a + 1], t->key, t->key_count);
            a += 2;
            break;
        case 'N':
            rc = bf__sql_key_in(s, &sb, args[a], t->key, t->key_count, args[a + 1], NULL);
            a += 2;
            break;
        case 'P':
            rc = bf__sql_predicate(s, &sb, t->plan, t->batch, args[a++]);
            break;
        case 'S':
            bf__sb_append(&sb, args[a++]);
            break;
        default:
            rc = bf__error(BF_E_INTERNAL, "SQL template '%s': bad directive", tpl);
        }
    }
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    return bf__sql_text(&sb, out);
}

/* ---- statements ---- */

int bf__sql_fail(const bf__sql *s, int rc, const char *what)
{
    const char *msg;

    if (rc == BF_E_USER || rc == BF_E_NOMEM || rc == BF_E_LEASE_LOST)
        return rc == BF_E_NOMEM ? bf__nomem() : rc;
    msg = s->vt.error_message ? s->vt.error_message(s->ud) : NULL;
    if (rc >= 0)
        rc = BF_E_DRIVER;
    return bf__error(rc, "%s: %s (%.300s)", s->vt.dialect ? s->vt.dialect : "driver",
                     msg && msg[0] ? msg : bf_errdesc(rc), what);
}

int bf__stmt_prepare(bf__stmt *st, bf__sql *s, const char *sql, const bf__binds *binds)
{
    int rc, n;

    st->s = s;
    st->h = NULL;
    st->sql = sql;
    rc = s->vt.prepare(s->ud, &st->h, sql);
    if (rc != BF_OK) {
        st->h = NULL;
        return bf__sql_fail(s, rc, sql);
    }
    n = s->vt.param_count(s->ud, st->h);
    for (int i = 1; i <= n; i++) {
        const char *name = s->vt.param_name(s->ud, st->h, i);
        const bf_value *v;

        if (!name || !name[0] || !name[1]) {
            bf__stmt_finalize(st);
            return bf__error(BF_E_INVALID, "SQL uses a positional parameter; name it (%.200s)",
                             sql);
        }
        v = binds_find(binds, name + 1);
        if (!v) {
            /* The name belongs to the statement: report before finalizing it. */
            rc = bf__error(BF_E_INVALID, "SQL uses %s, which this batch does not bind (%.200s)",
                           name, sql);
            bf__stmt_finalize(st);
            return rc;
        }
        rc = s->vt.bind(s->ud, st->h, i, v);
        if (rc != BF_OK) {
            bf__stmt_finalize(st);
            return bf__sql_fail(s, rc, sql);
        }
    }
    return BF_OK;
}

int bf__stmt_step(bf__stmt *st)
{
    int rc = st->s->vt.step(st->s->ud, st->h);

    if (rc == BF_SQL_ROW || rc == BF_SQL_DONE)
        return rc;
    return bf__sql_fail(st->s, rc < 0 ? rc : BF_E_DRIVER, st->sql);
}

int bf__stmt_column(bf__stmt *st, int index, bf_value *out)
{
    int rc = st->s->vt.column(st->s->ud, st->h, index, out);

    return rc == BF_OK ? BF_OK : bf__sql_fail(st->s, rc, st->sql);
}

void bf__stmt_finalize(bf__stmt *st)
{
    if (st->h)
        st->s->vt.finalize(st->s->ud, st->h);
    st->h = NULL;
}

int bf__sql_run(bf__sql *s, const char *sql, const bf__binds *binds, int64_t *changes)
{
    bf__stmt st;
    int rc;

    if ((rc = bf__stmt_prepare(&st, s, sql, binds)) != BF_OK)
        return rc;
    while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW)
        ;
    if (rc == BF_SQL_DONE && changes)
        *changes = s->vt.changes(s->ud);
    bf__stmt_finalize(&st);
    return rc == BF_SQL_DONE ? BF_OK : rc;
}

int bf__sql_query_int(bf__sql *s, int64_t *out, const char *sql, const bf__binds *binds)
{
    bf__stmt st;
    bf_value v;
    int rc;

    *out = 0;
    if ((rc = bf__stmt_prepare(&st, s, sql, binds)) != BF_OK)
        return rc;
    rc = bf__stmt_step(&st);
    if (rc == BF_SQL_ROW) {
        rc = bf__stmt_column(&st, 0, &v);
        if (rc == BF_OK && v.type == BF_VALUE_INT)
            *out = v.i;
        else if (rc == BF_OK && v.type == BF_VALUE_REAL)
            *out = (int64_t)v.r;
    } else if (rc == BF_SQL_DONE) {
        rc = BF_OK;
    }
    bf__stmt_finalize(&st);
    return rc;
}

int bf__sql_exec(bf__sql *s, const char *sql)
{
    int rc = s->vt.execute(s->ud, sql);

    return rc == BF_OK ? BF_OK : bf__sql_fail(s, rc, sql);
}

int bf__sql_query_rows(bf__sql *s, bf_rows *rows, const char *sql, const bf__binds *binds)
{
    bf_value vals[16];
    bf_value *v = rows->width <= 16 ? vals : bf__calloc(rows->width, sizeof *v);
    bf__stmt st;
    int rc;

    if (!v)
        return bf__nomem();
    if ((rc = bf__stmt_prepare(&st, s, sql, binds)) == BF_OK) {
        while ((rc = bf__stmt_step(&st)) == BF_SQL_ROW) {
            for (size_t i = 0; i < rows->width && rc == BF_SQL_ROW; i++)
                if (bf__stmt_column(&st, (int)i, &v[i]) != BF_OK)
                    rc = bf_last_error_code();
            if (rc == BF_SQL_ROW && bf_rows_append(rows, v, rows->width) != BF_OK)
                rc = bf_last_error_code();
            if (rc != BF_SQL_ROW)
                break;
        }
        bf__stmt_finalize(&st);
    }
    if (v != vals)
        bf__free(v);
    return rc == BF_SQL_DONE ? BF_OK : rc;
}

int bf__sql_describe(bf__sql *s, bf_table_info **out, const char *table)
{
    bf_table_info *info;
    int rc;

    /* Validate the name like every other identifier before the connection sees it. */
    if ((rc = bf__sql_ident(s, NULL, table)) != BF_OK)
        return rc;
    if (bf__table_info_new(&info) != BF_OK)
        return BF_E_NOMEM;
    rc = s->vt.describe(s->ud, info, table);
    if (rc != BF_OK && rc != BF_E_NOT_FOUND)
        rc = bf__sql_fail(s, rc, table);
    if (rc == BF_E_NOT_FOUND || (rc == BF_OK && info->count == 0))
        rc = bf__error(BF_E_NOT_FOUND, "table %s: no such table", table);
    if (rc != BF_OK) {
        bf_table_info_free(info);
        return rc;
    }
    *out = info;
    return BF_OK;
}

/*
 * Whether `column` is the rowid of SQLite table `table`: its primary key's
 * only column, declared INTEGER, without an index of its own (a WITHOUT
 * ROWID table's key, or an INTEGER PRIMARY KEY DESC, has one). A value
 * then matches one row of the table at most. `info` is the table's
 * description when the caller has it (NULL: described here).
 */
int bf__sql_rowid_column(bf__sql *s, const char *table, const bf_table_info *info,
                         const char *column, int *yes)
{
    bf_value t = {BF_VALUE_TEXT, 0, 0.0, table, strlen(table)};
    bf_table_info *owned = NULL;
    int64_t indexes = -1;
    size_t pk = 0, at = 0;
    bf__binds b;
    int rc;

    *yes = 0;
    if (!s->vt.dialect || strcmp(s->vt.dialect, "sqlite") != 0)
        return BF_OK;
    if (!info && (rc = bf__sql_describe(s, &owned, table)) != BF_OK)
        return rc;
    if (!info)
        info = owned;
    for (size_t i = 0; i < info->count; i++)
        if (info->columns[i].pk) {
            pk++;
            at = i;
        }
    *yes = pk == 1 && bf__sql_same_ident(info->columns[at].name, column) &&
           info->columns[at].type && bf__sql_same_ident(info->columns[at].type, "INTEGER");
    bf_table_info_free(owned);
    if (!*yes)
        return BF_OK;
    bf__binds_init(&b);
    bf__binds_value(&b, "bf_t", &t);
    if ((rc = bf__sql_query_int(s, &indexes, "SELECT count(*) FROM pragma_index_list(:bf_t) "
                                "WHERE origin = 'pk'", &b)) != BF_OK)
        return rc;
    *yes = indexes == 0;
    return BF_OK;
}

int bf__sql_exists(bf__sql *s, int *out, const char *table)
{
    bf_table_info *info = NULL;
    int rc = bf__sql_describe(s, &info, table);

    bf_table_info_free(info);
    *out = rc == BF_OK;
    return rc == BF_E_NOT_FOUND ? BF_OK : rc;
}

/* ---- names against what exists ---- */

int bf__sql_same_ident(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a >= 'A' && *a <= 'Z' ? (char)(*a - 'A' + 'a') : *a;
        char y = *b >= 'A' && *b <= 'Z' ? (char)(*b - 'A' + 'a') : *b;

        if (x != y)
            return 0;
    }
    return *a == *b;
}

static int check_column(const bf__sql *s, const bf_table_info *info, const char *table,
                        const char *name, const char *why)
{
    int rc = bf__sql_ident(s, NULL, name);

    if (rc != BF_OK)
        return rc;
    for (size_t i = 0; i < info->count; i++)
        if (bf__sql_same_ident(info->columns[i].name, name))
            return BF_OK;
    return bf__error(BF_E_NOT_FOUND, "table %s: no such column %s%s", table, name, why);
}

int bf__sql_check_columns(const bf__sql *s, const bf_table_info *info, const char *table,
                          const char *const *names, size_t count)
{
    int rc = BF_OK;

    for (size_t i = 0; i < count && rc == BF_OK; i++)
        rc = check_column(s, info, table, names[i], "");
    return rc;
}

int bf__sql_check_scope(const bf__sql *s, const bf_table_info *info, const char *table,
                        const bf_plan *plan, const bf_batch *batch)
{
    if (!batch || !plan)
        return BF_OK;
    return check_column(s, info, table, bf_plan_column(plan), " (the plan's batches are cut on it)");
}

int bf__sql_check_spec(const bf__sql *s, const bf_table_info *info, const bf_write_spec *spec,
                       const bf_plan *plan, const bf_batch *batch)
{
    int rc = bf__sql_check_columns(s, info, spec->table, spec->key, spec->key_count);

    if (rc == BF_OK)
        rc = bf__sql_check_columns(s, info, spec->table, spec->columns, spec->column_count);
    if (rc == BF_OK)
        rc = bf__sql_check_scope(s, info, spec->table, plan, batch);
    return rc;
}

int bf__sql_begin(bf__sql *s)
{
    return bf__sql_exec(s, s->vt.begin_sql ? s->vt.begin_sql : "BEGIN");
}

int bf__sql_commit(bf__sql *s)
{
    return bf__sql_exec(s, "COMMIT");
}

void bf__sql_rollback(bf__sql *s)
{
    /* Keep the failure that made us roll back, not the rollback's own. */
    char msg[BF_ERRMSG_MAX];
    int code = bf_last_error_code();

    memcpy(msg, bf_last_error(), sizeof msg);
    s->vt.execute(s->ud, "ROLLBACK");
    bf__error(code, "%s", msg);
}

/* ---- the driver over a connection ---- */

static int sql_describe(void *ud, bf_table_info *info, const char *table)
{
    bf_table_info *found;
    int rc = bf__sql_describe(ud, &found, table);

    if (rc != BF_OK)
        return rc;
    /* Hand the columns over to the caller's description. */
    *info = *found;
    bf__free(found);
    return BF_OK;
}

static int sql_execute(void *ud, const char *sql)
{
    return bf__sql_exec(ud, sql);
}

/* The SQL layer's own memory, the connection aside. */
static void free_memory(bf__sql *s)
{
    for (size_t i = 0; i < s->probe_memo_count; i++)
        bf__free(s->probe_memo[i]);
    bf__free(s->probe_memo);
    bf__free(s->owner);
    bf__free(s);
}

static void sql_free(void *ud)
{
    bf__sql *s = ud;

    if (s->free_ud)
        s->free_ud(s->ud);
    free_memory(s);
}

void bf__sql_forget(bf__sql *s)
{
    if (!s)
        return;
    if (s->free_ud == bf__sqlite_close)
        bf__sqlite_forget(s->ud);
    free_memory(s);
}

static const bf_driver_vtable sql_driver = {
    .version = BF_DRIVER_VTABLE_VERSION,
    .describe = sql_describe,
    .stage = bf__sql_stage,
    .publish = bf__sql_publish,
    .restore = bf__sql_restore,
    .drop_snapshot = bf__sql_drop_snapshot,
    .drop_staging = bf__sql_drop_staging,
    .cutover = bf__sql_cutover,
    .fence = bf__sql_fence,
    .fingerprint = bf__sql_fingerprint,
    .profile = bf__sql_profile,
    .duplicates = bf__sql_duplicates,
    .orphans = bf__sql_orphans,
    .segments = bf__sql_segments,
    .fetch = bf__sql_fetch,
    .key_boundaries = bf__sql_key_boundaries,
    .partitions = bf__sql_partitions,
    .execute = sql_execute,
    .last_error = NULL,
    .count_batches = bf__sql_count_batches,
    .key_segments = bf__sql_key_segments,
    .segment_rows = bf__sql_segment_rows,
    .evaluate = bf__sql_evaluate,
};

static const size_t sql_vtable_sizes[] = {0, BF__SIZE_TO(bf_sql_vtable, error_message),
                                          BF__SIZE_TO(bf_sql_vtable, batch_counts_function),
                                          BF__SIZE_TO(bf_sql_vtable, segment_filter_function),
                                          sizeof(bf_sql_vtable)};
static const bf__struct_desc sql_vtable_desc = {"SQL vtable", BF_SQL_VTABLE_VERSION,
                                                sql_vtable_sizes, NULL};

int bf_sql_vtable_init(bf_sql_vtable *vtable, unsigned version)
{
    return bf__struct_init(vtable, version, &sql_vtable_desc);
}

int bf_driver_new_sql(bf_driver **out, const bf_sql_vtable *host_vt, void *userdata,
                      void (*free_userdata)(void *userdata))
{
    bf_sql_vtable copy, *vt = &copy;
    static const char *const required[] = {
        "execute", "prepare", "param_count", "param_name", "bind", "step",
        "column_count", "column", "changes", "finalize", "describe",
    };
    bf__sql *s;
    int rc;

    if (!out || !host_vt)
        return bf__error(BF_E_INVALID, "bf_driver_new_sql: NULL argument");
    *out = NULL;
    if (bf__vtable_check(&copy, host_vt, &sql_vtable_desc, "bf_driver_new_sql") != BF_OK)
        return BF_E_ABI;
    {
        const int present[] = {
            vt->execute != NULL, vt->prepare != NULL, vt->param_count != NULL,
            vt->param_name != NULL, vt->bind != NULL, vt->step != NULL,
            vt->column_count != NULL, vt->column != NULL, vt->changes != NULL,
            vt->finalize != NULL, vt->describe != NULL,
        };
        for (size_t i = 0; i < BF_ARRAY_LEN(required); i++)
            if (!present[i])
                return bf__error(BF_E_INVALID, "SQL vtable: the required member %s is NULL",
                                 required[i]);
    }
    s = bf__calloc(1, sizeof *s);
    if (!s)
        return bf__nomem();
    s->vt = copy;
    s->ud = userdata;
    rc = bf_driver_new(out, &sql_driver, s, sql_free);
    if (rc != BF_OK) {
        bf__free(s);
        return rc;
    }
    /* Only now does the driver own the connection's userdata. */
    s->free_ud = free_userdata;
    return BF_OK;
}
