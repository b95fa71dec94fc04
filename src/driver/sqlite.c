/*
 * The SQLite reference driver: the SQL connection vtable over sqlite3, plus
 * the fast paths the SQL layer uses when a dialect offers them: an
 * application-defined aggregates bf_fingerprint(c1, ...) and
 * bf_fingerprint_nulls(c1, ...), which also counts each column's NULLs in
 * the same pass, the scalar bf_bucket(x, n) used by bucket batch
 * predicates, the aggregate bf_batch_counts(x, bounds) that counts a
 * plan's rows per batch in one pass, and bf_profile(nf, nn, ns, ...), a
 * whole profile (rows, NULLs, sums, fingerprint) in one call per row, and
 * bf_stage_keys(kinds, key, ok, ...), which tells a delta publish whether
 * it may compare the staged rows without converting them first.
 */
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/internal.h"
#include "driver/driver_internal.h"
#include "driver/sql.h"
#include "fingerprint/fp_internal.h"

struct conn {
    sqlite3 *db;
    char msg[512]; /* our own message for failures SQLite did not describe */
    /*
     * Its wait for other connections' locks: the runner's workers share the
     * warehouse, and a publish's commit waits there for another worker's
     * read to end, which takes milliseconds.
     */
    bf__busy busy;
};

/* How long a statement waits for another connection's lock before SQLITE_BUSY. */
#define BUSY_WAIT_MS 5000

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
    const char *file = sqlite3_db_filename(c->db, "main");

    /* Which file, and that the wait for it ran out: the lock is another connection's. */
    if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED)
        snprintf(c->msg, sizeof c->msg, "%s: warehouse %s is still locked by another connection",
                 sqlite3_errmsg(c->db), file && file[0] ? file : "(in memory)");
    else
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
    .batch_counts_function = "bf_batch_counts",
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
    .segments_function = "bf_segment_fingerprints",
    .segment_filter_function = "bf_segment_in",
    .profile_function = "bf_profile",
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

/*
 * Append an argument's canonical encoding (what to_value and bf__fprow_put
 * would write, without the bf_value between them); its SQLite type in *type.
 * Inlined into both aggregates' per-row loops: it runs for every value.
 */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline int fp_put_arg(bf__fprow *row, sqlite3_value *sv, int *type)
{
    const void *s;

    switch ((*type = sqlite3_value_type(sv))) {
    case SQLITE_INTEGER:
        return bf__fprow_put_int(row, sqlite3_value_int64(sv));
    case SQLITE_FLOAT:
        return bf__fprow_put_real(row, sqlite3_value_double(sv));
    case SQLITE_TEXT:
        s = sqlite3_value_text(sv);
        break;
    case SQLITE_BLOB:
        s = sqlite3_value_blob(sv);
        break;
    default:
        return bf__fprow_put_null(row);
    }
    {
        size_t len = (size_t)sqlite3_value_bytes(sv);

        if (len && !s)
            return BF_E_NOMEM;
        return bf__fprow_put_bytes(row, *type == SQLITE_TEXT ? BF_VALUE_TEXT : BF_VALUE_BLOB, s,
                                   len);
    }
}

static void fp_add(sqlite3_context *ctx, int argc, sqlite3_value **argv, int count_nulls)
{
    size_t size = sizeof(struct fp_agg) + (count_nulls ? (size_t)argc * sizeof(int64_t) : 0);
    struct fp_agg *agg = sqlite3_aggregate_context(ctx, (int)size);
    int type;

    if (!agg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    bf__fprow_reset(&agg->row);
    for (int i = 0; i < argc; i++) {
        if (fp_put_arg(&agg->row, argv[i], &type) != BF_OK) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (count_nulls)
            agg->nulls[i] += type == SQLITE_NULL;
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

/*
 * A set of integer keys (open addressing), with each key's rows counted
 * beside it when the set counts: bf_stage_keys only asks whether a key
 * repeats (8 bytes a slot); bf_profile's references probes count each
 * key's rows and mark the keys found in the parent (16 bytes a slot).
 */
#define KS_FREE INT64_MIN /* marks a free slot; that key itself is kept apart */

struct keyset {
    int64_t *keys;
    int64_t *counts;   /* beside keys when the set counts, else NULL */
    size_t cap, used;
    int counted;       /* set before the first key */
    int64_t free_rows; /* the key KS_FREE itself: its rows (uncounted: 1 once seen) */
};

/* Every bit of the key moves the slot (keys that differ only in high bits, say). */
static size_t ks_slot(int64_t key, size_t cap)
{
    uint64_t x = (uint64_t)key;

    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    return (size_t)(x ^ (x >> 31)) & (cap - 1);
}

/* The slot of key (or cap, the free slot where it would go), for cap > 0. */
static size_t ks_where(const struct keyset *s, int64_t key)
{
    size_t i = ks_slot(key, s->cap);

    while (s->keys[i] != KS_FREE && s->keys[i] != key)
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* Twice the slots (1024 at first); 0 without memory. */
static int ks_grow(struct keyset *s)
{
    size_t cap = s->cap ? 2 * s->cap : 1024;
    struct keyset to = *s;

    to.cap = cap;
    to.keys = bf__malloc(cap * sizeof *to.keys);
    to.counts = s->counted ? bf__calloc(cap, sizeof *to.counts) : NULL;
    if (!to.keys || (s->counted && !to.counts)) {
        bf__free(to.keys);
        bf__free(to.counts);
        return 0;
    }
    for (size_t k = 0; k < cap; k++)
        to.keys[k] = KS_FREE;
    for (size_t k = 0; k < s->cap; k++) {
        size_t i;

        if (s->keys[k] == KS_FREE)
            continue;
        i = ks_where(&to, s->keys[k]);
        to.keys[i] = s->keys[k];
        if (s->counted)
            to.counts[i] = s->counts[k];
    }
    bf__free(s->keys);
    bf__free(s->counts);
    *s = to;
    return 1;
}

/* Add one row of key: 1 when the key is new, 2 when it was there, -1 without memory. */
static int ks_add(struct keyset *s, int64_t key)
{
    size_t i;

    if (key == KS_FREE) {
        int seen = s->free_rows > 0;

        if (s->counted || !seen)
            s->free_rows++;
        return seen ? 2 : 1;
    }
    if (2 * (s->used + 1) > s->cap && !ks_grow(s))
        return -1;
    i = ks_where(s, key);
    if (s->counted)
        s->counts[i]++;
    if (s->keys[i] == key)
        return 2;
    s->keys[i] = key;
    s->used++;
    return 1;
}

/* The rows of key in a counting set (negated once found), or NULL when it is not there. */
static int64_t *ks_count(struct keyset *s, int64_t key)
{
    size_t i;

    if (key == KS_FREE)
        return s->free_rows ? &s->free_rows : NULL;
    if (!s->cap || s->keys[i = ks_where(s, key)] != key)
        return NULL;
    return &s->counts[i];
}

static void ks_dispose(struct keyset *s)
{
    bf__free(s->keys);
    bf__free(s->counts);
    s->keys = s->counts = NULL;
    s->cap = s->used = 0;
    s->free_rows = 0;
}

/*
 * bf_profile(nf, nn, ns, f1.., n1.., s1..): the profile's row count, NULL
 * counts, sums and fingerprint in one call per row
 * (bf_sql_vtable.profile_function). Each sum is SQLite's own sum(): the
 * same numeric conversion of each argument (sqlite3_value_numeric_type),
 * an exact integer sum while every value is an integer, "integer overflow"
 * where sum() fails, and the floating-point sum of the linked SQLite's
 * version: Kahan-Babuska-Neumaier since 3.43.0, a plain double sum before.
 */
struct sum_acc {
    double r, err;
    int64_t i, cnt;
    unsigned char approx, ovrfl;
};

/*
 * The most distinct integers a probe keeps: the set holds twice as many
 * slots, so it stops at 2^19 slots of 16 bytes (8 MB) before it would grow.
 */
#define PF_PROBE_KEYS_MAX ((1 << 18) - 1)

/*
 * One references probe of bf_profile's shared form (' P'): the rows whose
 * value of one argument is no key of a parent, given by a query that
 * selects the parent's rowid. The child's integers are counted per value
 * as the rows go by; the parent is read once at the end, when it has at
 * most a few times as many rows as were scanned. Any other value (text, a
 * real, a blob), a larger parent, or more than PF_PROBE_KEYS_MAX distinct
 * integers (8 MB of slots) leaves the probe undecided: the SQL layer then
 * counts with its join, whose rules for other values this does not repeat.
 */
struct pf_probe {
    int arg;             /* the child's argument */
    char *query;         /* the parent's keys: "SELECT <rowid column> FROM <parent>" */
    int64_t nulls;
    int undecided;
    struct keyset keys;  /* each integer the child holds, with its rows (counted) */
};

struct pf_agg {
    int ready, bad, kbn; /* bad: 1 bad arguments, 2 no memory */
    int nf, nn, ns;
    int first;            /* the first fingerprint argument */
    int *nidx, *sidx;     /* the argument of each NULL count and each sum */
    int64_t rows;
    bf_fingerprint fp;
    bf__fprow row;
    int64_t *nulls;      /* nn, within the context */
    struct sum_acc *sums; /* ns, within the context */
    int na;               /* shared form: a second fingerprint over these arguments, or 0 */
    int *aidx;
    bf_fingerprint afp;
    int64_t segn;         /* shared form: segment fingerprints by key into segn segments, or 0 */
    int skc, snc;         /* of skc key arguments, over snc column arguments */
    int *skidx, *scidx;
    bf__segacc seg;       /* its accumulator, from the first row on */
    int np;               /* shared form: references probes, or 0 */
    struct pf_probe *probes;
};

static void kbn_step(struct sum_acc *p, double r)
{
    volatile double s = p->r;
    volatile double t = s + r;

    if (fabs(s) > fabs(r))
        p->err += (s - t) + r;
    else
        p->err += (r - t) + s;
    p->r = t;
}

static void kbn_step_int(struct sum_acc *p, int64_t v)
{
    if (v <= -4503599627370496LL || v >= 4503599627370496LL) {
        int64_t sm = v % 16384;

        kbn_step(p, (double)(v - sm));
        kbn_step(p, (double)sm);
    } else {
        kbn_step(p, (double)v);
    }
}

static void kbn_init(struct sum_acc *p, int64_t v)
{
    if (v <= -4503599627370496LL || v >= 4503599627370496LL) {
        int64_t sm = v % 16384;

        p->r = (double)(v - sm);
        p->err = (double)sm;
    } else {
        p->r = (double)v;
        p->err = 0.0;
    }
}

static int add_overflows(int64_t *acc, int64_t v)
{
    if ((v > 0 && *acc > INT64_MAX - v) || (v < 0 && *acc < INT64_MIN - v))
        return 1;
    *acc += v;
    return 0;
}

static void sum_add(struct sum_acc *p, sqlite3_value *x, int kbn)
{
    /* sqlite3_value_numeric_type() converts text only; every other type it returns as is. */
    int type = sqlite3_value_type(x);

    if (type == SQLITE_TEXT)
        type = sqlite3_value_numeric_type(x);

    if (type == SQLITE_NULL)
        return;
    p->cnt++;
    if (!kbn) { /* SQLite before 3.43.0 */
        if (type == SQLITE_INTEGER) {
            int64_t v = sqlite3_value_int64(x);

            p->r += (double)v;
            if (!(p->approx | p->ovrfl) && add_overflows(&p->i, v))
                p->approx = p->ovrfl = 1;
        } else {
            p->r += sqlite3_value_double(x);
            p->approx = 1;
        }
        return;
    }
    if (!p->approx) {
        if (type != SQLITE_INTEGER) {
            kbn_init(p, p->i);
            p->approx = 1;
            kbn_step(p, sqlite3_value_double(x));
        } else {
            int64_t v = sqlite3_value_int64(x);

            if (add_overflows(&p->i, v)) {
                p->ovrfl = 1;
                kbn_init(p, p->i);
                p->approx = 1;
                kbn_step_int(p, v);
            }
        }
    } else if (type == SQLITE_INTEGER) {
        kbn_step_int(p, sqlite3_value_int64(x));
    } else {
        p->ovrfl = 0;
        kbn_step(p, sqlite3_value_double(x));
    }
}

/* The next decimal number of the shared form's header at *p (at most a segment count), or -1. */
static int64_t pf_number(const unsigned char **p)
{
    int64_t n = 0;

    while (**p == ' ')
        (*p)++;
    if (**p < '0' || **p > '9')
        return -1;
    for (; **p >= '0' && **p <= '9'; (*p)++)
        if ((n = n * 10 + (**p - '0')) > BF_SEGMENTS_MAX)
            return -1;
    return n;
}

/* The next n numbers of the header at *p, arguments after it (0-based), into out as 1 + each. */
static int pf_args(const unsigned char **p, int64_t n, int argc, int *out)
{
    int64_t at;

    for (int64_t i = 0; i < n; i++) {
        if ((at = pf_number(p)) < 0 || at >= argc - 1)
            return 0;
        out[i] = 1 + (int)at;
    }
    return 1;
}

/*
 * Read the arguments' layout at the first row. The classic form
 * bf_profile(nf, nn, ns, f1.., n1.., s1..); the shared form (the SQL layer's
 * own, for this dialect: sql_measure.c, pf_shared_args)
 * bf_profile('R nf nn ns p1.. q1..', a1, a2, ...), where f1.. are a1..anf
 * and NULL count i reads a(pi + 1), sum i a(qi + 1): a column is read once.
 * The shared form may end with ' A na r1 .. rna': a second fingerprint, of
 * a(r1 + 1) .. a(rna + 1) in that order, given as one more word at the end;
 * and then with ' S n kc k1 .. kkc nc c1 .. cnc': the segment fingerprints
 * bf_segment_fingerprints(n, kc, keys.., columns..) gives, of the keys
 * a(k + 1) and the columns a(c + 1), after a newline at the end; and then
 * with ' P np c1 q1 .. cnp qnp': references probes (struct pf_probe), of
 * the column a(ci + 1) against the parent's keys that the text a(qi + 1)
 * selects, each " p<nulls>:<orphans>" or " p?" at the end of the first
 * line. Returns 1, 0 for bad arguments, -1 without memory.
 */
static int pf_layout(struct pf_agg *a, int argc, sqlite3_value **argv)
{
    const unsigned char *h;
    int64_t nf, nn, ns;

    a->kbn = sqlite3_libversion_number() >= 3043000;
    /* The arrays follow the struct; sum_acc is 8-byte aligned like int64_t, int after both. */
    a->nulls = (int64_t *)(a + 1);
    a->sums = (struct sum_acc *)(a->nulls + argc);
    a->nidx = (int *)(a->sums + argc);
    a->sidx = a->nidx + argc;
    a->aidx = a->sidx + argc;
    a->skidx = a->aidx + argc;
    a->scidx = a->skidx + argc;
    if (argc >= 1 && sqlite3_value_type(argv[0]) == SQLITE_TEXT) {
        h = sqlite3_value_text(argv[0]);
        if (!h || *h++ != 'R' || (nf = pf_number(&h)) < 0 || (nn = pf_number(&h)) < 0 ||
            (ns = pf_number(&h)) < 0 || nf > argc - 1 || nn > argc - 1 || ns > argc - 1)
            return 0;
        a->first = 1;
        if (!pf_args(&h, nn, argc, a->nidx) || !pf_args(&h, ns, argc, a->sidx))
            return 0;
        /* ' A na a1 .. ana': a second fingerprint, of the arguments a1 .. ana in that order. */
        if (h[0] == ' ' && h[1] == 'A') {
            int64_t na;

            h += 2;
            if ((na = pf_number(&h)) < 1 || na > argc - 1 || !pf_args(&h, na, argc, a->aidx))
                return 0;
            a->na = (int)na;
        }
        /*
         * ' S n kc k1 .. kkc nc c1 .. cnc': the segment fingerprints of
         * bf_segment_fingerprints(n, kc, <k1 ..>, <c1 ..>) from the same arguments.
         */
        if (h[0] == ' ' && h[1] == 'S') {
            int64_t n, kc, nc;

            h += 2;
            if ((n = pf_number(&h)) < 1 || n > BF_SEGMENTS_MAX || (kc = pf_number(&h)) < 1 ||
                kc > argc - 1 || kc > 128 || !pf_args(&h, kc, argc, a->skidx) ||
                (nc = pf_number(&h)) < 0 || nc > argc - 1 || kc + nc > 128 ||
                !pf_args(&h, nc, argc, a->scidx))
                return 0;
            if (bf__segacc_init(&a->seg, n) != BF_OK)
                return -1;
            a->segn = n;
            a->skc = (int)kc;
            a->snc = (int)nc;
        }
        /* ' P np c1 q1 .. cnp qnp': references probes, of column ci against the query qi. */
        if (h[0] == ' ' && h[1] == 'P') {
            int64_t np;
            int at[2];

            h += 2;
            if ((np = pf_number(&h)) < 1 || np > BF_PROFILE_PROBES_MAX)
                return 0;
            if (!(a->probes = bf__calloc((size_t)np, sizeof *a->probes)))
                return -1;
            a->np = (int)np;
            for (int i = 0; i < a->np; i++) {
                if (!pf_args(&h, 2, argc, at) || sqlite3_value_type(argv[at[1]]) != SQLITE_TEXT)
                    return 0;
                a->probes[i].arg = at[0];
                a->probes[i].keys.counted = 1;
                a->probes[i].query = bf__strdup((const char *)sqlite3_value_text(argv[at[1]]));
                if (!a->probes[i].query)
                    return -1;
            }
        }
        if (*h)
            return 0;
    } else {
        nf = argc >= 3 ? sqlite3_value_int64(argv[0]) : -1;
        nn = argc >= 3 ? sqlite3_value_int64(argv[1]) : -1;
        ns = argc >= 3 ? sqlite3_value_int64(argv[2]) : -1;
        if (nf < 0 || nn < 0 || ns < 0 || nf + nn + ns != argc - 3)
            return 0;
        a->first = 3;
        for (int64_t i = 0; i < nn; i++)
            a->nidx[i] = 3 + (int)(nf + i);
        for (int64_t i = 0; i < ns; i++)
            a->sidx[i] = 3 + (int)(nf + nn + i);
    }
    a->nf = (int)nf;
    a->nn = (int)nn;
    a->ns = (int)ns;
    return 1;
}

static void pf_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    size_t n = argc > 0 ? (size_t)argc : 0;
    size_t size = sizeof(struct pf_agg) + n * (sizeof(int64_t) + sizeof(struct sum_acc)) +
                  5 * n * sizeof(int);
    struct pf_agg *a = sqlite3_aggregate_context(ctx, (int)size);
    int type;

    if (!a) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!a->ready) {
        int layout = pf_layout(a, argc, argv);

        a->ready = 1;
        a->bad = layout != 1 ? 1 + (layout < 0) : 0;
    }
    if (a->bad) {
        /* 2: no memory for the segments */
        if (a->bad == 2)
            sqlite3_result_error_nomem(ctx);
        else
            sqlite3_result_error(ctx, "bf_profile: bad arguments", -1);
        return;
    }
    a->rows++;
    /* The fingerprint first: sum_add may convert a text argument to a number in place. */
    if (a->nf) {
        bf__fprow_reset(&a->row);
        for (int i = 0; i < a->nf; i++) {
            if (fp_put_arg(&a->row, argv[a->first + i], &type) != BF_OK) {
                sqlite3_result_error_nomem(ctx);
                return;
            }
        }
        bf__fprow_apply(&a->row, &a->fp, 1);
    }
    if (a->na) {
        bf__fprow_reset(&a->row);
        for (int i = 0; i < a->na; i++) {
            if (fp_put_arg(&a->row, argv[a->aidx[i]], &type) != BF_OK) {
                sqlite3_result_error_nomem(ctx);
                return;
            }
        }
        bf__fprow_apply(&a->row, &a->afp, 1);
    }
    if (a->segn) {
        bf__fprow *row = &a->seg.row;
        int64_t seg;
        int rc = BF_OK;

        bf__fprow_reset(row);
        for (int i = 0; i < a->skc && rc == BF_OK; i++)
            rc = fp_put_arg(row, argv[a->skidx[i]], &type);
        seg = bf__segacc_segment(&a->seg);
        bf__fprow_reset(row);
        for (int i = 0; i < a->snc && rc == BF_OK; i++)
            rc = fp_put_arg(row, argv[a->scidx[i]], &type);
        if (rc != BF_OK) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        bf__fprow_apply(row, &a->seg.fps[seg], 1);
    }
    /* Before the sums, which may turn a text argument into a number. */
    for (int i = 0; i < a->np; i++) {
        struct pf_probe *p = &a->probes[i];
        int vt = sqlite3_value_type(argv[p->arg]);

        if (vt == SQLITE_NULL) {
            p->nulls++;
            continue;
        }
        if (p->undecided)
            continue;
        if (vt == SQLITE_INTEGER && ks_add(&p->keys, sqlite3_value_int64(argv[p->arg])) < 0) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        /* Not an integer, or too many of them: the join decides. */
        if (vt != SQLITE_INTEGER || p->keys.used > PF_PROBE_KEYS_MAX) {
            p->undecided = 1;
            ks_dispose(&p->keys);
        }
    }
    for (int i = 0; i < a->nn; i++)
        a->nulls[i] += sqlite3_value_type(argv[a->nidx[i]]) == SQLITE_NULL;
    for (int i = 0; i < a->ns; i++)
        sum_add(&a->sums[i], argv[a->sidx[i]], a->kbn);
}

/* The sum as sum() gives it; 0 after setting the error sum() would fail with. */
static int sum_text(sqlite3_context *ctx, sqlite3_str *str, const struct sum_acc *p, int kbn)
{
    double r;
    uint64_t bits;

    if (!p->cnt) {
        sqlite3_str_appendall(str, " null");
        return 1;
    }
    if (p->ovrfl) {
        sqlite3_result_error(ctx, "integer overflow", -1);
        return 0;
    }
    if (!p->approx) {
        sqlite3_str_appendf(str, " i%lld", (long long)p->i);
        return 1;
    }
    r = kbn && !isnan(p->err) && !isinf(p->err) ? p->r + p->err : p->r;
    if (isnan(r)) { /* SQLite stores a NaN result as NULL */
        sqlite3_str_appendall(str, " null");
        return 1;
    }
    memcpy(&bits, &r, sizeof bits);
    sqlite3_str_appendf(str, " r%016llx", (unsigned long long)bits);
    return 1;
}

static void pf_probes_dispose(struct pf_agg *a)
{
    for (int i = 0; i < a->np; i++) {
        bf__free(a->probes[i].query);
        ks_dispose(&a->probes[i].keys);
    }
    bf__free(a->probes);
    a->probes = NULL;
    a->np = 0;
}

/*
 * Read probe p's parent, at most `cap` keys, marking each the child holds
 * as found (its count negated). 1 when read whole, 0 when the parent has
 * more keys or one that is not an integer (undecided), -1 with the
 * connection's error in *err (to sqlite3_free), -2 without memory.
 */
static int pf_probe_parent(sqlite3 *db, struct pf_probe *p, int64_t cap, char **err)
{
    char *sql = sqlite3_mprintf("%s LIMIT %lld", p->query, (long long)cap + 1);
    sqlite3_stmt *st = NULL;
    int64_t seen = 0;
    int rc;

    if (!sql)
        return -2;
    rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    sqlite3_free(sql);
    if (rc == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t *rows;

            if (++seen > cap || sqlite3_column_type(st, 0) != SQLITE_INTEGER) {
                sqlite3_finalize(st);
                return 0;
            }
            if ((rows = ks_count(&p->keys, sqlite3_column_int64(st, 0))) && *rows > 0)
                *rows = -*rows;
        }
    }
    if (rc != SQLITE_DONE)
        *err = sqlite3_mprintf("references probe: %s", sqlite3_errmsg(db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 1 : *err ? -1 : -2;
}

/*
 * " p<nulls>:<orphans>" for each probe, or " p?" when it is undecided. The
 * parent is read when it has at most four keys per row scanned (and 1024
 * more): reading it then costs about what looking each row up would.
 */
static int pf_probes_text(sqlite3_context *ctx, sqlite3_str *str, struct pf_agg *a)
{
    for (int i = 0; i < a->np; i++) {
        struct pf_probe *p = &a->probes[i];
        char *err = NULL;
        int64_t orphans = 0;
        int rc = p->undecided ? 0
                 : pf_probe_parent(sqlite3_context_db_handle(ctx), p, 4 * a->rows + 1024, &err);

        if (rc < 0) {
            if (err)
                sqlite3_result_error(ctx, err, -1);
            else
                sqlite3_result_error_nomem(ctx);
            sqlite3_free(err);
            return 0;
        }
        if (!rc) {
            sqlite3_str_appendall(str, " p?");
            continue;
        }
        for (size_t k = 0; k < p->keys.cap; k++)
            if (p->keys.keys[k] != KS_FREE && p->keys.counts[k] > 0)
                orphans += p->keys.counts[k];
        if (p->keys.free_rows > 0)
            orphans += p->keys.free_rows;
        sqlite3_str_appendf(str, " p%lld:%lld", (long long)p->nulls, (long long)orphans);
    }
    return 1;
}

/* "ROWS FP N1.. S1.." (see bf_sql_vtable.profile_function); NULL when there were no rows. */
static void pf_final(sqlite3_context *ctx)
{
    struct pf_agg *a = sqlite3_aggregate_context(ctx, 0);
    char text[BF_FINGERPRINT_TEXT_SIZE];
    sqlite3_str *str;
    int ok = 1;

    if (!a || !a->ready || a->bad) {
        if (a) {
            bf__fprow_dispose(&a->row);
            bf__segacc_dispose(&a->seg);
            pf_probes_dispose(a);
        }
        if (!a || !a->bad)
            sqlite3_result_null(ctx);
        return;
    }
    bf__fprow_dispose(&a->row);
    str = sqlite3_str_new(NULL);
    sqlite3_str_appendf(str, "%lld ", (long long)a->rows);
    if (a->nf) {
        bf_fingerprint_format(text, sizeof text, &a->fp);
        sqlite3_str_appendall(str, text);
    } else {
        sqlite3_str_appendall(str, "-");
    }
    for (int i = 0; i < a->nn; i++)
        sqlite3_str_appendf(str, " %lld", (long long)a->nulls[i]);
    for (int i = 0; i < a->ns && ok; i++)
        ok = sum_text(ctx, str, &a->sums[i], a->kbn);
    if (a->na) {
        bf_fingerprint_format(text, sizeof text, &a->afp);
        sqlite3_str_appendf(str, " %s", text);
    }
    if (a->np && ok)
        ok = pf_probes_text(ctx, str, a);
    pf_probes_dispose(a);
    /* The segments after a newline, as bf_segment_fingerprints gives them. */
    if (a->segn) {
        char *segs = NULL;

        if (bf__segacc_text(&segs, &a->seg) == BF_OK) {
            sqlite3_str_appendchar(str, 1, '\n');
            sqlite3_str_appendall(str, segs);
        } else {
            sqlite3_result_error_nomem(ctx);
            ok = 0;
        }
        bf__free(segs);
        bf__segacc_dispose(&a->seg);
    }
    if (!ok) {
        sqlite3_free(sqlite3_str_finish(str));
        return;
    }
    if (sqlite3_str_errcode(str) != SQLITE_OK) {
        sqlite3_free(sqlite3_str_finish(str));
        sqlite3_result_error_nomem(ctx);
        return;
    }
    sqlite3_result_text(ctx, sqlite3_str_finish(str), -1, sqlite3_free);
}

/*
 * bf_affinity(v, 'T'|'I'|'N'|'R'|'B'): v as a column of that affinity would store it (SQLite's
 * rules: text that reads as a number becomes one in a numeric column, a real that is a whole
 * number an integer in an INTEGER or NUMERIC one, a number text in a TEXT one). The SQL layer
 * compares staged rows, which have no affinity, as the destination will hold them.
 */
static void affinity_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const unsigned char *a = sqlite3_value_text(argv[1]);
    int type = sqlite3_value_type(argv[0]);
    char kind = a ? (char)a[0] : 'B';

    (void)argc;
    if (kind == 'T') {
        if (type == SQLITE_INTEGER || type == SQLITE_FLOAT) {
            const unsigned char *t = sqlite3_value_text(argv[0]);
            if (!t) {
                sqlite3_result_error_nomem(ctx);
                return;
            }
            sqlite3_result_text(ctx, (const char *)t, -1, SQLITE_TRANSIENT);
            return;
        }
    } else if (kind == 'I' || kind == 'N' || kind == 'R') {
        if (type == SQLITE_TEXT)
            type = sqlite3_value_numeric_type(argv[0]);
        if (type == SQLITE_FLOAT && kind != 'R') {
            double d = sqlite3_value_double(argv[0]);
            if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 &&
                (double)(sqlite3_int64)d == d) {
                sqlite3_result_int64(ctx, (sqlite3_int64)d);
                return;
            }
        } else if (type == SQLITE_INTEGER && kind == 'R') {
            sqlite3_result_double(ctx, (double)sqlite3_value_int64(argv[0]));
            return;
        }
    }
    sqlite3_result_value(ctx, argv[0]);
}

/* bf_column_collation(table, column): the column's collation ("BINARY"), or NULL if unknown. */
static void collation_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    const char *coll = NULL;
    const char *t = (const char *)sqlite3_value_text(argv[0]);
    const char *c = (const char *)sqlite3_value_text(argv[1]);

    (void)argc;
    if (t && c &&
        sqlite3_table_column_metadata(sqlite3_context_db_handle(ctx), NULL, t, c, NULL, &coll,
                                      NULL, NULL, NULL) == SQLITE_OK && coll)
        sqlite3_result_text(ctx, coll, -1, SQLITE_TRANSIENT);
    else
        sqlite3_result_null(ctx);
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

/*
 * bf_batch_counts(x, bounds): rows per batch of a time or key plan in one
 * pass (bf_sql_vtable.batch_counts_function). The boundaries are decoded
 * once per statement; each row is placed by a binary search that compares
 * as SQLite does: integers and reals exactly against integer bounds, text
 * bytewise against text bounds. Values whose order could depend on the
 * column's affinity or collation (text against integer bounds, text with
 * other characters than those of a date or time) make it answer NULL, and
 * the library counts with SQL comparisons instead.
 */
struct bc_agg {
    int ready;
    int unplaced;
    char kind;        /* 'I' or 'T' */
    size_t n;         /* batches */
    int64_t *ints;    /* n + 1 integer bounds */
    const unsigned char **texts; /* n + 1 text bounds, pointing into copy */
    size_t *lens;
    unsigned char *copy;
    int64_t *counts;
};

static void bc_dispose(struct bc_agg *a)
{
    sqlite3_free(a->ints);
    sqlite3_free(a->texts);
    sqlite3_free(a->lens);
    sqlite3_free(a->copy);
    sqlite3_free(a->counts);
}

/* Decode the bounds blob; 0 when it is malformed. */
static int bc_decode(struct bc_agg *a, const unsigned char *p, size_t len)
{
    size_t count = 0, at;

    if (len < 1 || (p[0] != 'I' && p[0] != 'T'))
        return 0;
    a->kind = (char)p[0];
    if (a->kind == 'I') {
        if ((len - 1) % 8 || (len - 1) / 8 < 2)
            return 0;
        count = (len - 1) / 8;
        if (!(a->ints = sqlite3_malloc64(count * sizeof *a->ints)))
            return 0;
        for (size_t i = 0; i < count; i++) {
            uint64_t u = 0;

            for (int b = 7; b >= 0; b--)
                u = (u << 8) | p[1 + 8 * i + (size_t)b];
            a->ints[i] = (int64_t)u;
        }
    } else {
        if (!(a->copy = sqlite3_malloc64(len)))
            return 0;
        memcpy(a->copy, p, len);
        for (at = 1; at + 4 <= len; count++) {
            size_t l = (size_t)p[at] | (size_t)p[at + 1] << 8 | (size_t)p[at + 2] << 16 |
                       (size_t)p[at + 3] << 24;

            if (l > len - at - 4)
                return 0;
            at += 4 + l;
        }
        if (at != len || count < 2 || !(a->texts = sqlite3_malloc64(count * sizeof *a->texts)) ||
            !(a->lens = sqlite3_malloc64(count * sizeof *a->lens)))
            return 0;
        at = 1;
        for (size_t i = 0; i < count; i++) {
            a->lens[i] = (size_t)p[at] | (size_t)p[at + 1] << 8 | (size_t)p[at + 2] << 16 |
                         (size_t)p[at + 3] << 24;
            a->texts[i] = a->copy + at + 4;
            at += 4 + a->lens[i];
        }
    }
    a->n = count - 1;
    a->counts = sqlite3_malloc64(a->n * sizeof *a->counts);
    if (!a->counts)
        return 0;
    memset(a->counts, 0, a->n * sizeof *a->counts);
    return 1;
}

/* The exact order of a real and an integer, as SQLite compares them. */
static int real_vs_int(double r, int64_t b)
{
    int64_t t;
    double frac;

    if (r < -9223372036854775808.0)
        return -1;
    if (r >= 9223372036854775808.0)
        return 1;
    t = (int64_t)r;
    if (t != b)
        return t < b ? -1 : 1;
    frac = r - (double)t;
    return (frac > 0) - (frac < 0);
}

/* Characters of dates and times, which BINARY, NOCASE and RTRIM order alike. */
static int plain_time_text(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == ':' || s[i] == '.' ||
              s[i] == '+' || s[i] == 'T' || s[i] == 'Z' || (s[i] == ' ' && i + 1 < len)))
            return 0;
    return 1;
}

static int text_cmp(const unsigned char *x, size_t xl, const unsigned char *b, size_t bl)
{
    int r = memcmp(x, b, xl < bl ? xl : bl);

    return r ? r : (xl > bl) - (xl < bl);
}

static void bc_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct bc_agg *a = sqlite3_aggregate_context(ctx, (int)sizeof *a);
    int type = sqlite3_value_type(argv[0]);
    size_t lo = 0, hi;
    const unsigned char *xs = NULL;
    size_t xl = 0;
    int64_t xi = 0;
    double xr = 0;

    (void)argc;
    if (!a) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (!a->ready) {
        a->ready = 1;
        if (sqlite3_value_type(argv[1]) != SQLITE_BLOB ||
            !bc_decode(a, sqlite3_value_blob(argv[1]), (size_t)sqlite3_value_bytes(argv[1]))) {
            a->unplaced = 1;
            a->n = 0;
        }
    }
    if (a->unplaced)
        return;
    if (a->kind == 'I' && type == SQLITE_INTEGER)
        xi = sqlite3_value_int64(argv[0]);
    else if (a->kind == 'I' && type == SQLITE_FLOAT)
        xr = sqlite3_value_double(argv[0]);
    else if (a->kind == 'T' && type == SQLITE_TEXT) {
        xs = sqlite3_value_text(argv[0]);
        xl = (size_t)sqlite3_value_bytes(argv[0]);
        if (!xs || !plain_time_text(xs, xl))
            xs = NULL;
    }
    if (!xs && !(a->kind == 'I' && (type == SQLITE_INTEGER || type == SQLITE_FLOAT))) {
        a->unplaced = 1;
        return;
    }
    /*
     * Integers: guess the batch by interpolation (exact for key widths,
     * off by one at most around a DST day), then step to it.
     */
    if (type == SQLITE_INTEGER && xi >= a->ints[0] && xi < a->ints[a->n]) {
        double span = (double)a->ints[a->n] - (double)a->ints[0];
        size_t g = (size_t)(((double)xi - (double)a->ints[0]) / span * (double)a->n);

        if (g >= a->n)
            g = a->n - 1;
        for (int step = 0; step < 4; step++) {
            if (xi < a->ints[g])
                g--;
            else if (xi >= a->ints[g + 1])
                g++;
            else {
                a->counts[g]++;
                return;
            }
        }
    }
    /* The last boundary at or below x: bounds[lo] <= x < bounds[lo + 1]. */
    hi = a->n + 1;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        int below = a->kind == 'T'   ? text_cmp(xs, xl, a->texts[mid], a->lens[mid]) < 0
                    : type == SQLITE_INTEGER ? xi < a->ints[mid]
                                             : real_vs_int(xr, a->ints[mid]) < 0;

        if (below)
            hi = mid;
        else
            lo = mid;
    }
    /* Below the first or at or past the last boundary: the library said it would not send these. */
    if (lo >= a->n || (a->kind == 'I' && type == SQLITE_INTEGER && xi < a->ints[0]) ||
        (a->kind == 'I' && type == SQLITE_FLOAT && real_vs_int(xr, a->ints[0]) < 0) ||
        (a->kind == 'T' && text_cmp(xs, xl, a->texts[0], a->lens[0]) < 0)) {
        a->unplaced = 1;
        return;
    }
    a->counts[lo]++;
}

/* n little-endian 8-byte counts; an empty blob for no rows; NULL when a value was unplaced. */
static void bc_final(sqlite3_context *ctx)
{
    struct bc_agg *a = sqlite3_aggregate_context(ctx, 0);
    unsigned char *out;

    if (!a) {
        sqlite3_result_zeroblob(ctx, 0);
        return;
    }
    if (a->unplaced) {
        bc_dispose(a);
        sqlite3_result_null(ctx);
        return;
    }
    out = sqlite3_malloc64(a->n ? a->n * 8 : 1);
    if (!out) {
        bc_dispose(a);
        sqlite3_result_error_nomem(ctx);
        return;
    }
    for (size_t i = 0; i < a->n; i++)
        for (int b = 0; b < 8; b++)
            out[8 * i + (size_t)b] = (unsigned char)((uint64_t)a->counts[i] >> (8 * b));
    sqlite3_result_blob64(ctx, out, a->n * 8, sqlite3_free);
    bc_dispose(a);
}

/*
 * bf_segment_fingerprints(n, key_count, k1.., c1..): one accumulator per
 * segment of the key hash, in one pass; the result lists the non-empty
 * segments as "segment rows:hex32" lines.
 */
struct seg_agg {
    bf__segacc acc;
    int failed;
};

static void seg_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct seg_agg *agg = sqlite3_aggregate_context(ctx, sizeof *agg);
    bf_value vals[128];
    int64_t n, kc;

    if (!agg) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (agg->failed)
        return;
    n = sqlite3_value_int64(argv[0]);
    kc = sqlite3_value_int64(argv[1]);
    if (!agg->acc.fps) {
        if (n <= 0 || n > BF_SEGMENTS_MAX || kc < 1 || kc > argc - 2 || argc - 2 > 128) {
            agg->failed = 1;
            sqlite3_result_error(ctx, "bf_segment_fingerprints: bad arguments", -1);
            return;
        }
        if (bf__segacc_init(&agg->acc, n) != BF_OK) {
            agg->failed = 1;
            sqlite3_result_error_nomem(ctx);
            return;
        }
    }
    for (int i = 2; i < argc; i++)
        to_value(argv[i], &vals[i - 2]);
    if (bf__segacc_add(&agg->acc, vals, (size_t)kc, vals + kc, (size_t)(argc - 2 - kc)) != BF_OK) {
        agg->failed = 1;
        sqlite3_result_error_nomem(ctx);
    }
}

static void seg_final(sqlite3_context *ctx)
{
    struct seg_agg *agg = sqlite3_aggregate_context(ctx, 0);
    char *text = NULL;

    if (!agg || !agg->acc.fps) {
        sqlite3_result_text(ctx, "", 0, SQLITE_STATIC);
        return;
    }
    if (!agg->failed && bf__segacc_text(&text, &agg->acc) == BF_OK)
        sqlite3_result_text(ctx, text, -1, SQLITE_TRANSIENT);
    else if (!agg->failed)
        sqlite3_result_error_nomem(ctx);
    bf__free(text);
    bf__segacc_dispose(&agg->acc);
}

/*
 * bf_stage_keys(kinds, key, ok, v1, ..): whether a delta publish may
 * compare the staged rows as the job produced them, without converting them
 * first (sql_write.c, stage_keys). Its result is the number of rows when
 * every row is `ok` (1: the SQL layer's bounds test), has an INTEGER key
 * that no other row has, and each vi fits its column's kind, one letter of
 * `kinds` each: 'R' (a REAL column) a real or an integer of at most 2^53 in
 * magnitude, 'T' (a TEXT column) text or a blob; NULL fits both. Else -1.
 */
struct sk_agg {
    int64_t rows;
    int bad;
    struct keyset keys; /* not counted: a set */
};

#define SK_EXACT 9007199254740992.0 /* 2^53: every integer up to it is a double */

static int sk_fits(char kind, sqlite3_value *v)
{
    switch (sqlite3_value_type(v)) {
    case SQLITE_NULL:
        return 1;
    case SQLITE_INTEGER: {
        sqlite3_int64 i = sqlite3_value_int64(v);

        return kind == 'R' && i >= -(sqlite3_int64)SK_EXACT && i <= (sqlite3_int64)SK_EXACT;
    }
    case SQLITE_FLOAT:
        return kind == 'R';
    default:
        return kind == 'T';
    }
}

static void sk_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    struct sk_agg *a = sqlite3_aggregate_context(ctx, (int)sizeof *a);
    const unsigned char *kinds;
    int dup;

    if (!a) {
        sqlite3_result_error_nomem(ctx);
        return;
    }
    if (a->bad)
        return;
    a->rows++;
    kinds = sqlite3_value_text(argv[0]);
    if (argc < 3 || !kinds || strlen((const char *)kinds) != (size_t)(argc - 3) ||
        sqlite3_value_type(argv[1]) != SQLITE_INTEGER || sqlite3_value_int(argv[2]) != 1) {
        a->bad = 1;
        return;
    }
    for (int i = 3; i < argc; i++)
        if (!sk_fits((char)kinds[i - 3], argv[i])) {
            a->bad = 1;
            return;
        }
    if ((dup = ks_add(&a->keys, sqlite3_value_int64(argv[1]))) < 0)
        sqlite3_result_error_nomem(ctx);
    a->bad = dup != 1;
}

static void sk_final(sqlite3_context *ctx)
{
    struct sk_agg *a = sqlite3_aggregate_context(ctx, 0);

    sqlite3_result_int64(ctx, !a ? 0 : a->bad ? -1 : a->rows);
    if (a)
        ks_dispose(&a->keys);
}

/* bf_segment_in(wanted, n, k1, ...): the parsed set is cached on the statement. */
static void seg_in_free(void *p)
{
    bf__free(p);
}

static void seg_in_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
    unsigned char *set = sqlite3_get_auxdata(ctx, 0);
    int64_t n = sqlite3_value_int64(argv[1]);
    bf_value key[128];
    int has;

    if (n <= 0 || n > BF_SEGMENTS_MAX || argc - 2 > 128 || argc < 3) {
        sqlite3_result_error(ctx, "bf_segment_in: bad arguments", -1);
        return;
    }
    if (!set) {
        const char *text = (const char *)sqlite3_value_text(argv[0]);

        int rc = bf__segset_parse(&set, text ? text : "", n);

        if (rc == BF_E_NOMEM || (!text && sqlite3_value_type(argv[0]) != SQLITE_NULL)) {
            sqlite3_result_error_nomem(ctx);
            return;
        }
        if (rc != BF_OK) {
            sqlite3_result_error(ctx, bf_last_error(), -1);
            return;
        }
        sqlite3_set_auxdata(ctx, 0, set, seg_in_free);
        set = sqlite3_get_auxdata(ctx, 0);
        if (!set) {
            /* SQLite freed it (out of memory): parse per row */
            if (bf__segset_parse(&set, (const char *)sqlite3_value_text(argv[0]), n) != BF_OK) {
                sqlite3_result_error_nomem(ctx);
                return;
            }
            for (int i = 2; i < argc; i++)
                to_value(argv[i], &key[i - 2]);
            has = bf__segset_has(set, key, (size_t)(argc - 2), n);
            bf__free(set);
            if (has < 0)
                sqlite3_result_error_nomem(ctx);
            else
                sqlite3_result_int(ctx, has);
            return;
        }
    }
    for (int i = 2; i < argc; i++)
        to_value(argv[i], &key[i - 2]);
    has = bf__segset_has(set, key, (size_t)(argc - 2), n);
    if (has < 0)
        sqlite3_result_error_nomem(ctx);
    else
        sqlite3_result_int(ctx, has);
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
    /*
     * A handle is used by one thread at a time (as the ledger's connection):
     * no mutex around each of the connection's calls, two per value read.
     */
    c->busy.timeout_ms = BUSY_WAIT_MS;
    rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
                         (flags & BF_SQLITE_CREATE ? SQLITE_OPEN_CREATE : 0), NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_busy_handler(c->db, bf__busy_wait, &c->busy);
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
        rc = sqlite3_create_function_v2(c->db, "bf_profile", -1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, pf_step,
                                        pf_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_bucket", 2, SQLITE_UTF8 | SQLITE_DETERMINISTIC,
                                        NULL, bucket_fn, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_batch_counts", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, bc_step,
                                        bc_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_segment_fingerprints", -1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, NULL, seg_step,
                                        seg_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_stage_keys", -1, SQLITE_UTF8, NULL, NULL,
                                        sk_step, sk_final, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_affinity", 2,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, affinity_fn,
                                        NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_column_collation", 2, SQLITE_UTF8, NULL,
                                        collation_fn, NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_create_function_v2(c->db, "bf_segment_in", -1,
                                        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, seg_in_fn, NULL,
                                        NULL, NULL);
    /* SQLite reads the file at the first statement: a file that is no database is refused now. */
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(c->db, "SELECT 1 FROM main.sqlite_master LIMIT 1", NULL, NULL, NULL);
    if (rc == SQLITE_NOTADB) {
        bf__error(BF_E_INVALID, "warehouse %s: file is not a database", path);
        sqlite3_close(c->db);
        bf__free(c);
        return BF_E_INVALID;
    }
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

void bf__sqlite_forget(void *ud)
{
    bf__free(ud);
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
    else
        bf__driver_sql(*out)->builtin_sqlite = 1; /* our bf_profile and bf_stage_keys */
    return rc;
}
