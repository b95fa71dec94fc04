/*
 * The SQLite reference driver: the SQL connection vtable over sqlite3, plus
 * the fast paths the SQL layer uses when a dialect offers them: an
 * application-defined aggregates bf_fingerprint(c1, ...) and
 * bf_fingerprint_nulls(c1, ...), which also counts each column's NULLs in
 * the same pass, and the scalar bf_bucket(x, n) used by bucket batch
 * predicates.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "driver/driver_internal.h"
#include "fingerprint/fp_internal.h"

struct conn {
    sqlite3 *db;
    char msg[512]; /* our own message for failures SQLite did not describe */
};

static int code_for(int rc)
{
    switch (rc & 0xff) {
    case SQLITE_NOMEM:
        return BF_E_NOMEM;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return BF_E_BUSY;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
        return BF_E_IO;
    default:
        return BF_E_DRIVER;
    }
}

static int failed(struct conn *c, int rc)
{
    snprintf(c->msg, sizeof c->msg, "%s", sqlite3_errmsg(c->db));
    return code_for(rc);
}

static int lite_execute(void *ud, const char *sql)
{
    struct conn *c = ud;
    int rc = sqlite3_exec(c->db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? BF_OK : failed(c, rc);
}

static int lite_prepare(void *ud, void **out, const char *sql)
{
    struct conn *c = ud;
    sqlite3_stmt *st = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(c->db, sql, -1, &st, &tail);

    *out = NULL;
    if (rc != SQLITE_OK)
        return failed(c, rc);
    if (!st) {
        snprintf(c->msg, sizeof c->msg, "no SQL statement");
        return BF_E_INVALID;
    }
    if (tail && tail[strspn(tail, " \t\r\n;")]) {
        sqlite3_finalize(st);
        snprintf(c->msg, sizeof c->msg, "exactly one SQL statement expected; more follows");
        return BF_E_INVALID;
    }
    *out = st;
    return BF_OK;
}

static int lite_param_count(void *ud, void *stmt)
{
    (void)ud;
    return sqlite3_bind_parameter_count(stmt);
}

static const char *lite_param_name(void *ud, void *stmt, int index)
{
    (void)ud;
    return sqlite3_bind_parameter_name(stmt, index);
}

static int lite_bind(void *ud, void *stmt, int index, const bf_value *v)
{
    int rc;

    switch (v->type) {
    case BF_VALUE_NULL:
        rc = sqlite3_bind_null(stmt, index);
        break;
    case BF_VALUE_INT:
        rc = sqlite3_bind_int64(stmt, index, v->i);
        break;
    case BF_VALUE_REAL:
        rc = sqlite3_bind_double(stmt, index, v->r);
        break;
    case BF_VALUE_TEXT:
        rc = sqlite3_bind_text64(stmt, index, v->s ? v->s : "", v->len, SQLITE_TRANSIENT,
                                 SQLITE_UTF8);
        break;
    case BF_VALUE_BLOB:
        rc = sqlite3_bind_blob64(stmt, index, v->s ? v->s : "", v->len, SQLITE_TRANSIENT);
        break;
    default:
        snprintf(((struct conn *)ud)->msg, sizeof ((struct conn *)ud)->msg,
                 "a value of unknown type");
        return BF_E_INVALID;
    }
    return rc == SQLITE_OK ? BF_OK : failed(ud, rc);
}

static int lite_step(void *ud, void *stmt)
{
    int rc = sqlite3_step(stmt);

    if (rc == SQLITE_ROW)
        return BF_SQL_ROW;
    if (rc == SQLITE_DONE)
        return BF_SQL_DONE;
    return failed(ud, rc);
}

static int lite_column_count(void *ud, void *stmt)
{
    (void)ud;
    return sqlite3_column_count(stmt);
}

/* A SQLite value as a bf_value; bytes stay SQLite's. */
static void to_value(sqlite3_value *sv, bf_value *out)
{
    memset(out, 0, sizeof *out);
    switch (sqlite3_value_type(sv)) {
    case SQLITE_INTEGER:
        out->type = BF_VALUE_INT;
        out->i = sqlite3_value_int64(sv);
        break;
    case SQLITE_FLOAT:
        out->type = BF_VALUE_REAL;
        out->r = sqlite3_value_double(sv);
        break;
    case SQLITE_TEXT:
        out->type = BF_VALUE_TEXT;
        out->s = (const char *)sqlite3_value_text(sv);
        out->len = (size_t)sqlite3_value_bytes(sv);
        break;
    case SQLITE_BLOB:
        out->type = BF_VALUE_BLOB;
        out->s = sqlite3_value_blob(sv);
        out->len = (size_t)sqlite3_value_bytes(sv);
        break;
    default:
        out->type = BF_VALUE_NULL;
    }
}

static int lite_column(void *ud, void *stmt, int index, bf_value *out)
{
    sqlite3_value *sv = sqlite3_column_value(stmt, index);

    if (!sv) {
        snprintf(((struct conn *)ud)->msg, sizeof ((struct conn *)ud)->msg, "no column %d", index);
        return BF_E_DRIVER;
    }
    to_value(sv, out);
    if ((out->type == BF_VALUE_TEXT || out->type == BF_VALUE_BLOB) && !out->s && out->len)
        return failed(ud, SQLITE_NOMEM);
    return BF_OK;
}

static int64_t lite_changes(void *ud)
{
    return sqlite3_changes64(((struct conn *)ud)->db);
}

static void lite_finalize(void *ud, void *stmt)
{
    (void)ud;
    sqlite3_finalize(stmt);
}

static int lite_describe(void *ud, bf_table_info *info, const char *table)
{
    struct conn *c = ud;
    sqlite3_stmt *st = NULL;
    int rc, out = BF_OK;

    /*
     * A table's columns are those `SELECT *` returns: pragma_table_xinfo
     * lists generated columns too (hidden 2: virtual, 3: stored), which
     * pragma_table_info leaves out; hidden 1 marks a virtual table's hidden
     * columns, which `SELECT *` leaves out. The pragma takes the name as a
     * bound value.
     */
    rc = sqlite3_prepare_v2(c->db, "SELECT name, type, pk, hidden FROM pragma_table_xinfo(?1) "
                            "WHERE hidden <> 1 ORDER BY cid", -1, &st, NULL);
    if (rc != SQLITE_OK)
        return failed(c, rc);
    sqlite3_bind_text(st, 1, table, -1, SQLITE_TRANSIENT);
    while (out == BF_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        int hidden = sqlite3_column_int(st, 3);

        out = bf_table_info_add_column(info, name ? name : "", type ? type : "",
                                       (size_t)sqlite3_column_int64(st, 2));
        if (out == BF_OK && (hidden == 2 || hidden == 3))
            out = bf_table_info_set_generated(info, info->count - 1, 1);
    }
    if (out == BF_OK && rc != SQLITE_DONE)
        out = failed(c, rc);
    sqlite3_finalize(st);
    if (out == BF_OK && info->count == 0)
        return BF_E_NOT_FOUND;
    return out;
}

static const char *lite_error_message(void *ud)
{
    return ((struct conn *)ud)->msg;
}

const bf_sql_vtable bf__sqlite_vtable = {
    .version = BF_SQL_VTABLE_VERSION,
    .dialect = "sqlite",
    .ident_quote = '"',
    .begin_sql = "BEGIN IMMEDIATE",
    .fingerprint_function = "bf_fingerprint",
    .bucket_function = "bf_bucket",
    .rowid_column = "rowid",
    .fingerprint_nulls_function = "bf_fingerprint_nulls",
    .execute = lite_execute,
    .prepare = lite_prepare,
    .param_count = lite_param_count,
    .param_name = lite_param_name,
    .bind = lite_bind,
    .step = lite_step,
    .column_count = lite_column_count,
    .column = lite_column,
    .changes = lite_changes,
    .finalize = lite_finalize,
    .describe = lite_describe,
    .error_message = lite_error_message,
};

/* ---- SQL functions ---- */

/*
 * The aggregates' state lives in memory SQLite zeroes for each group; the
 * NULL counts of bf_fingerprint_nulls follow it, one per argument.
 */
struct fp_agg {
    bf_fingerprint fp;
    bf__fprow row;
    int64_t columns; /* arguments counted in nulls[] */
    int64_t nulls[];
};

static void fp_add(sqlite3_context *ctx, int argc, sqlite3_value **argv, int count_nulls)
{
    size_t size = sizeof(struct fp_agg) + (count_nulls ? (size_t)argc * sizeof(int64_t) : 0);
    struct fp_agg *agg = sqlite3_aggregate_context(ctx, (int)size);
    bf_value v;

    if (!agg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    bf__fprow_reset(&agg->row);
    for (int i = 0; i < argc; i++) {
        to_value(argv[i], &v);
        if (bf__fprow_put(&agg->row, &v) != BF_OK) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (count_nulls)
            agg->nulls[i] += v.type == BF_VALUE_NULL;
    }
    agg->columns = count_nulls ? argc : 0;
    bf__fprow_apply(&agg->row, &agg->fp, 1);
}

static void fp_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    fp_add(ctx, argc, argv, 0);
}

static void fp_nulls_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    fp_add(ctx, argc, argv, 1);
}

/* "rows:hex32", then " n1,n2,..." when NULLs were counted (no rows: no counts). */
static void fp_final(sqlite3_context *ctx)
{
    struct fp_agg *agg = sqlite3_aggregate_context(ctx, 0);
    bf_fingerprint empty = {0, 0, 0};
    char text[BF_FINGERPRINT_TEXT_SIZE];
    sqlite3_str *str;

    bf_fingerprint_format(text, sizeof text, agg ? &agg->fp : &empty);
    if (agg)
        bf__fprow_dispose(&agg->row);
    if (!agg || !agg->columns) {
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
        return;
    }
    str = sqlite3_str_new(NULL);
    sqlite3_str_appendall(str, text);
    for (int64_t i = 0; i < agg->columns; i++)
        sqlite3_str_appendf(str, "%c%lld", i ? ',' : ' ', (long long)agg->nulls[i]);
    if (sqlite3_str_errcode(str) != SQLITE_OK) {
        sqlite3_free(sqlite3_str_finish(str));
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, sqlite3_str_finish(str), -1, sqlite3_free);
}

static void bucket_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    bf_value v;
    int64_t n, b;

    (void)argc;
    n = sqlite3_value_int64(argv[1]);
    if (n <= 0) {
        sqlite3_result_error(ctx, "bf_bucket: the number of buckets must be positive", -1);
        return;
    }
    to_value(argv[0], &v);
    b = bf__value_bucket(&v, n);
    if (b < 0)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_int64(ctx, b);
}

/* ---- opening ---- */

int bf__sqlite_open(void **out, const char *path, unsigned flags)
{
    struct conn *c;
    int rc;

    *out = NULL;
    if (!path || !path[0])
        return bf__error(BF_E_INVALID, "warehouse: no file name");
    if (flags & ~BF_SQLITE_CREATE)
        return bf__error(BF_E_INVALID, "warehouse %s: unknown flags 0x%x", path, flags);
    if (!(flags & BF_SQLITE_CREATE) && access(path, F_OK) != 0)
        return bf__error(BF_E_NOT_FOUND, "warehouse %s: no such file", path);
    c = bf__calloc(1, sizeof *c);
    if (!c)
        return bf__nomem();
    rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE |
                         (flags & BF_SQLITE_CREATE ? SQLITE_OPEN_CREATE : 0), NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_timeout(c->db, 5000);
    /*
     * No double-quoted string literals: "nope" is an identifier, so a name
     * that is not a column fails instead of becoming the text 'nope'.
     */
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DML, 0, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_db_config(c->db, SQLITE_DBCONFIG_DQS_DDL, 0, (int *)NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_fingerprint", -1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, fp_step,
                                        fp_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_fingerprint_nulls", -1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL,
                                        fp_nulls_step, fp_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_bucket", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                        NULL, bucket_fn, NULL, NULL, NULL);
    if (rc != SQLITE_OK) {
        int code = code_for(rc);

        bf__error(code, "warehouse %s: %s", path,
                  c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(rc));
        sqlite3_close(c->db);
        bf__free(c);
        return code;
    }
    *out = c;
    return BF_OK;
}

void bf__sqlite_close(void *ud)
{
    struct conn *c = ud;

    if (!c)
        return;
    sqlite3_close_v2(c->db);
    bf__free(c);
}

int bf_driver_open_sqlite(bf_driver **out, const char *path, unsigned flags)
{
    void *conn;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_driver_open_sqlite: NULL out");
    *out = NULL;
    if ((rc = bf__sqlite_open(&conn, path, flags)) != BF_OK)
        return rc;
    rc = bf_driver_new_sql(out, &bf__sqlite_vtable, conn, bf__sqlite_close);
    if (rc != BF_OK)
        bf__sqlite_close(conn);
    return rc;
}
