#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "bftest.h"
#include "backfill/sys/errors.h"
#include "backfill/sys/store.h"
#include "common/internal.h"
#include "common/json.h"
#include "common/versioned.h"

START_TEST(errstr_names_every_code)
{
    static const struct {
        int code;
        const char *name;
    } expect[] = {
        {0, "BF_OK"},           {-1, "BF_E_INVALID"},     {-2, "BF_E_PARSE"},
        {-3, "BF_E_NOMEM"},     {-4, "BF_E_IO"},          {-5, "BF_E_NOT_FOUND"},
        {-6, "BF_E_CONFLICT"},  {-7, "BF_E_STATE"},       {-8, "BF_E_LEASE_LOST"},
        {-9, "BF_E_BLOCKED"},   {-10, "BF_E_VALIDATION"}, {-11, "BF_E_BUSY"},
        {-12, "BF_E_DRIVER"},   {-13, "BF_E_UNSUPPORTED"}, {-14, "BF_E_USER"},
        {-15, "BF_E_ABI"},      {-16, "BF_E_INTERNAL"},
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(expect); i++) {
        ck_assert_str_eq(bf_errstr(expect[i].code), expect[i].name);
        ck_assert_str_ne(bf_errdesc(expect[i].code), "unknown status code");
    }
    ck_assert_str_eq(bf_errstr(-17), "BF_E_UNKNOWN");
    ck_assert_str_eq(bf_errstr(1), "BF_E_UNKNOWN");
    ck_assert_str_eq(bf_errdesc(-999), "unknown status code");
}
END_TEST

START_TEST(last_error_keeps_message_and_code)
{
    bf_clear_error();
    ck_assert_str_eq(bf_last_error(), "");
    ck_assert_int_eq(bf_last_error_code(), BF_OK);
    ck_assert_int_eq(bf__error(BF_E_NOT_FOUND, "run %d: no such run", 42), BF_E_NOT_FOUND);
    ck_assert_str_eq(bf_last_error(), "run 42: no such run");
    ck_assert_int_eq(bf_last_error_code(), BF_E_NOT_FOUND);
    bf_clear_error();
    ck_assert_str_eq(bf_last_error(), "");
}
END_TEST

START_TEST(last_error_truncates_long_messages)
{
    char big[4000];

    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bf__error(BF_E_INVALID, "%s", big);
    ck_assert_uint_eq(strlen(bf_last_error()), BF_ERRMSG_MAX - 1);
}
END_TEST

/* A caller puts its context before the message it got: the message must survive being wrapped. */
START_TEST(last_error_wraps_the_last_error)
{
    char big[BF_ERRMSG_MAX + 100], want[BF_ERRMSG_MAX];

    bf__error(BF_E_NOT_FOUND, "table fct_orders: no such column net_revenu");
    ck_assert_int_eq(bf__error(BF_E_INVALID, "check %s: %s", "net revenue", bf_last_error()),
                     BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "check net revenue: table fct_orders: no such column "
                                      "net_revenu");
    ck_assert_int_eq(bf_last_error_code(), BF_E_INVALID);
    /* Twice, and after the message (what wrapping inside a loop does). */
    bf__error(BF_E_INVALID, "run: %s (%d)", bf_last_error(), 2);
    ck_assert_str_eq(bf_last_error(), "run: check net revenue: table fct_orders: no such "
                                      "column net_revenu (2)");
    /* Plugins wrap through the public bf_error_set the same way. */
    bf_error_set(BF_E_USER, "host check: %s", bf_last_error());
    ck_assert_str_eq(bf_last_error(), "host check: run: check net revenue: table fct_orders: "
                                      "no such column net_revenu (2)");
    /* A message at the limit, wrapped: the prefix, then as much of it as fits. */
    memset(big, 'y', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    bf__error(BF_E_IO, "%s", big);
    bf__error(BF_E_IO, "wrapped: %s", bf_last_error());
    memcpy(want, "wrapped: ", 9);
    memset(want + 9, 'y', sizeof want - 10);
    want[sizeof want - 1] = '\0';
    ck_assert_str_eq(bf_last_error(), want);
}
END_TEST

static void *fail_in_thread(void *arg)
{
    (void)arg;
    bf__error(BF_E_IO, "thread message");
    return bf__strdup(bf_last_error());
}

START_TEST(last_error_is_per_thread)
{
    pthread_t t;
    void *theirs;

    bf__error(BF_E_PARSE, "main message");
    ck_assert_int_eq(pthread_create(&t, NULL, fail_in_thread, NULL), 0);
    ck_assert_int_eq(pthread_join(t, &theirs), 0);
    ck_assert_str_eq((char *)theirs, "thread message");
    bf_free(theirs);
    ck_assert_str_eq(bf_last_error(), "main message");
    ck_assert_int_eq(bf_last_error_code(), BF_E_PARSE);
}
END_TEST

START_TEST(handle_error_copies_message)
{
    bf__errbuf h = {0};

    ck_assert_int_eq(bf__herror(&h, BF_E_LEASE_LOST, "batch %s: lease lost", "2025-03-09"),
                     BF_E_LEASE_LOST);
    ck_assert_int_eq(h.code, BF_E_LEASE_LOST);
    ck_assert_str_eq(h.msg, "batch 2025-03-09: lease lost");
    bf_clear_error();
    ck_assert_str_eq(h.msg, "batch 2025-03-09: lease lost");
}
END_TEST

START_TEST(version_matches_header)
{
    char expect[32];

    ck_assert_uint_eq(bf_version(), BF_VERSION_NUMBER);
    ck_assert_str_eq(bf_version_string(), BF_VERSION_STRING);
    snprintf(expect, sizeof expect, "%d.%d.%d", BF_VERSION_MAJOR, BF_VERSION_MINOR,
             BF_VERSION_PATCH);
    ck_assert_str_eq(bf_version_string(), expect);
}
END_TEST

START_TEST(set_allocator_refuses_partial_hooks)
{
    ck_assert_int_eq(bf_set_allocator(malloc, NULL, free), BF_E_INVALID);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "all three"));
}
END_TEST

START_TEST(set_allocator_refused_after_first_allocation)
{
    char *s = bf__strdup("allocated");

    ck_assert_ptr_nonnull(s);
    ck_assert_int_eq(bf_set_allocator(malloc, realloc, free), BF_E_STATE);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "already allocated"));
    bf_free(s);
}
END_TEST

START_TEST(allocations_go_through_hooks)
{
    long before = failalloc_count();
    long live = failalloc_live();
    char *s = bf__asprintf("%s-%d", "batch", 7);

    ck_assert_str_eq(s, "batch-7");
    ck_assert_int_gt(failalloc_count(), before);
    ck_assert_int_eq(failalloc_live(), live + 1);
    bf_free(s);
    ck_assert_int_eq(failalloc_live(), live);
}
END_TEST

START_TEST(failed_allocation_is_reported)
{
    char *s;

    failalloc_fail_at(1);
    s = bf__strdup("never");
    ck_assert_ptr_null(s);
    ck_assert_int_eq(failalloc_fired(), 1);
    ck_assert_ptr_null(bf__calloc(SIZE_MAX / 2, 4));
    failalloc_fail_at(0);
}
END_TEST

START_TEST(grow_doubles_and_keeps_contents)
{
    int *a = NULL;
    size_t cap = 0;

    ck_assert_int_eq(bf__grow((void **)&a, &cap, 3, sizeof *a), BF_OK);
    ck_assert_uint_eq(cap, 8);
    for (int i = 0; i < 8; i++)
        a[i] = i * i;
    ck_assert_int_eq(bf__grow((void **)&a, &cap, 9, sizeof *a), BF_OK);
    ck_assert_uint_eq(cap, 16);
    ck_assert_int_eq(a[7], 49);
    ck_assert_int_eq(bf__grow((void **)&a, &cap, SIZE_MAX, sizeof *a), BF_E_NOMEM);
    ck_assert_uint_eq(cap, 16);
    bf_free(a);
}
END_TEST

struct sb_ctx {
    char *out;
};

static int build_string(void *arg)
{
    struct sb_ctx *ctx = arg;
    bf__sb sb;

    bf__sb_init(&sb);
    bf__sb_append(&sb, "batches ");
    for (int i = 0; i < 40; i++)
        bf__sb_appendf(&sb, "%d,", i);
    bf__sb_appendc(&sb, '!');
    return bf__sb_finish(&sb, &ctx->out);
}

static void free_string(void *arg)
{
    struct sb_ctx *ctx = arg;

    bf_free(ctx->out);
    ctx->out = NULL;
}

START_TEST(string_builder_appends)
{
    struct sb_ctx ctx = {NULL};

    ck_assert_int_eq(build_string(&ctx), BF_OK);
    ck_assert_uint_eq(strncmp(ctx.out, "batches 0,1,2,", 14), 0);
    ck_assert_uint_eq(ctx.out[strlen(ctx.out) - 1], '!');
    ck_assert_ptr_nonnull(strstr(ctx.out, ",39,!"));
    free_string(&ctx);
}
END_TEST

START_TEST(string_builder_every_allocation_failure)
{
    struct sb_ctx ctx = {NULL};
    long points = failalloc_sweep(build_string, free_string, &ctx);

    ck_assert_int_ge(points, 3);
}
END_TEST

/* The ABI promise: every handle's release function accepts NULL. */
START_TEST(every_free_accepts_null)
{
    bf_free(NULL);
    bf_brief_free(NULL);
    bf_findings_free(NULL);
    bf_lineage_free(NULL);
    bf_plan_free(NULL);
    bf_planner_free(NULL);
    bf_tz_free(NULL);
    bf_driver_free(NULL);
    bf_table_info_free(NULL);
    bf_rows_free(NULL);
    bf_profile_free(NULL);
    bf_ledger_close(NULL);
    bf_run_free(NULL);
    bf_lease_free(NULL);
    ck_assert_int_eq(failalloc_live(), 0);
}
END_TEST

/* ---- the one rule for versioned structs ---- */

/* A struct at version 2, which added `extra` to version 1's two members. */
typedef struct vs {
    unsigned version;
    int a;     /* since version 1 */
    double b;
    char extra[40]; /* since version 2 */
} vs;

static const vs vs_defaults = {2u, 7, 1.5, "two"};
static const size_t vs_sizes[] = {0, BF__SIZE_TO(vs, b), sizeof(vs)};
static const bf__struct_desc vs_desc = {"test struct", 2u, vs_sizes, &vs_defaults};

/* Members of a struct allocated shorter than the type, read and written bytewise. */
static int vs_a(const unsigned char *p)
{
    int a;

    memcpy(&a, p + offsetof(vs, a), sizeof a);
    return a;
}

static unsigned vs_version(const unsigned char *p)
{
    unsigned v;

    memcpy(&v, p, sizeof v);
    return v;
}

static void vs_set(unsigned char *p, size_t off, int value)
{
    memcpy(p + off, &value, sizeof value);
}

START_TEST(struct_init_accepts_every_known_version_and_writes_only_its_bytes)
{
    vs whole;
    unsigned char *old = malloc(vs_sizes[1]); /* exactly version 1: ASan sees any overrun */
    vs copy;

    ck_assert_ptr_nonnull(old);
    ck_assert_int_eq(bf__struct_init(&whole, 2, &vs_desc), BF_OK);
    ck_assert_uint_eq(whole.version, 2);
    ck_assert_str_eq(whole.extra, "two");
    ck_assert_int_eq(bf__struct_init(old, 1, &vs_desc), BF_OK);
    ck_assert_int_eq(vs_a(old), 7);
    ck_assert_uint_eq(vs_version(old), 1);
    ck_assert_int_eq(bf__struct_init(old, 0, &vs_desc), BF_E_ABI);
    ck_assert_int_eq(bf__struct_init(old, 3, &vs_desc), BF_E_ABI);
    ck_assert_str_eq(bf_last_error(), "initialising test struct: test struct version 3 is "
                                      "unknown (this library knows 1 to 2)");
    ck_assert_int_eq(bf__struct_init(NULL, 1, &vs_desc), BF_E_INVALID);
    /* Reading an old struct: its members, then the defaults of later ones. */
    vs_set(old, offsetof(vs, a), 42);
    ck_assert_int_eq(bf__struct_read(&copy, old, &vs_desc, "op"), BF_OK);
    ck_assert_int_eq(copy.a, 42);
    ck_assert_uint_eq(copy.version, 1);
    ck_assert_str_eq(copy.extra, "two");
    /* Writing back: only the old struct's bytes. */
    copy.a = 9;
    strcpy(copy.extra, "not for version 1");
    bf__struct_write(old, &copy, &vs_desc);
    ck_assert_int_eq(vs_a(old), 9);
    ck_assert_uint_eq(vs_version(old), 1);
    free(old);
}
END_TEST

START_TEST(vtable_check_copies_up_to_the_hosts_version)
{
    unsigned char *old = malloc(vs_sizes[1]);
    vs mine;

    ck_assert_ptr_nonnull(old);
    ck_assert_int_eq(bf__struct_init(old, 1, &vs_desc), BF_OK);
    ck_assert_int_eq(bf__vtable_check(&mine, old, &vs_desc, "op"), BF_OK);
    ck_assert_int_eq(mine.a, 7);
    vs_set(old, 0, 5);
    ck_assert_int_eq(bf__vtable_check(&mine, old, &vs_desc, "op"), BF_E_ABI);
    free(old);
    /* Every public bf_x_init refuses 0 and the future alike. */
    {
        bf_store_vtable vt;

        ck_assert_int_eq(bf_store_vtable_init(&vt, 0), BF_E_ABI);
        ck_assert_int_eq(bf_store_vtable_init(&vt, BF_STORE_VTABLE_VERSION + 1), BF_E_ABI);
        ck_assert_int_eq(bf_store_vtable_init(&vt, BF_STORE_VTABLE_VERSION), BF_OK);
        ck_assert(vt.open == NULL);
    }
}
END_TEST

START_TEST(old_ledger_options_are_not_overrun)
{
    /* Version 1 ended at flags; version 2 added the store's userdata. */
    size_t v1 = offsetof(bf_ledger_options, flags) + sizeof(unsigned);
    unsigned char *opts = malloc(v1); /* a host compiled against version 1 */
    bf_ledger *l = NULL;

    ck_assert_ptr_nonnull(opts);
    ck_assert_int_eq(bf_ledger_options_init((bf_ledger_options *)opts, 1), BF_OK);
    ck_assert_uint_eq(vs_version(opts), 1);
    ck_assert_int_eq(bf_ledger_open(&l, "/nonexistent-dir/x.ledger", (bf_ledger_options *)opts),
                     BF_E_IO);
    free(opts);
}
END_TEST

START_TEST(error_set_is_what_plugins_report_with)
{
    ck_assert_int_eq(bf_error_set(BF_E_USER, "host %s failed %d times", "check", 3), BF_E_USER);
    ck_assert_int_eq(bf_last_error_code(), BF_E_USER);
    ck_assert_str_eq(bf_last_error(), "host check failed 3 times");
    ck_assert_int_eq(bf_error_set(BF_E_IO, NULL), BF_E_IO);
    ck_assert_str_eq(bf_last_error(), "input/output error");
    ck_assert_int_eq(bf_error_set(BF_OK, "not an error"), BF_E_INVALID);
    ck_assert_int_eq(bf_last_error_code(), BF_E_INVALID);
}
END_TEST

/* Every shared enumeration's names go both ways, and unknown names are refused with the list. */
START_TEST(type_names_round_trip)
{
    bf_dimension dim = BF_DIM_TIME;
    bf_grain grain = BF_GRAIN_UNSET;
    bf_time_format format = BF_TIME_FORMAT_UNSET;
    bf_batch_order order = BF_BATCH_ORDER_UNSET;
    bf_write_strategy strategy = BF_WRITE_UNSET;

    for (int v = BF_DIM_TIME; v <= BF_DIM_BUCKET; v++) {
        ck_assert_int_eq(bf_dimension_from_name(&dim, bf_dimension_name((bf_dimension)v)), BF_OK);
        ck_assert_int_eq(dim, v);
    }
    for (int v = BF_GRAIN_HOUR; v <= BF_GRAIN_YEAR; v++) {
        ck_assert_int_eq(bf_grain_from_name(&grain, bf_grain_name((bf_grain)v)), BF_OK);
        ck_assert_int_eq(grain, v);
    }
    for (int v = BF_TIME_FORMAT_UNIX_S; v <= BF_TIME_FORMAT_DATE; v++) {
        ck_assert_int_eq(bf_time_format_from_name(&format, bf_time_format_name((bf_time_format)v)),
                         BF_OK);
        ck_assert_int_eq(format, v);
    }
    for (int v = BF_BATCH_ORDER_OLDEST_FIRST; v <= BF_BATCH_ORDER_NEWEST_FIRST; v++) {
        ck_assert_int_eq(bf_batch_order_from_name(&order, bf_batch_order_name((bf_batch_order)v)),
                         BF_OK);
        ck_assert_int_eq(order, v);
    }
    for (int v = BF_WRITE_PARTITION_OVERWRITE; v <= BF_WRITE_APPEND; v++) {
        ck_assert_int_eq(
            bf_write_strategy_from_name(&strategy, bf_write_strategy_name((bf_write_strategy)v)),
            BF_OK);
        ck_assert_int_eq(strategy, v);
    }
    ck_assert_str_eq(bf_dimension_name(BF_DIM_PARTITION), "partition");
    ck_assert_str_eq(bf_write_strategy_name(BF_WRITE_STAGING_SWAP), "staging_swap");
    ck_assert_ptr_null(bf_dimension_name((bf_dimension)0));
    ck_assert_ptr_null(bf_grain_name(BF_GRAIN_UNSET));
    ck_assert_ptr_null(bf_write_strategy_name((bf_write_strategy)6));
    ck_assert_int_eq(bf_dimension_from_name(&dim, "row"), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "dimension 'row': expected time, key, partition or bucket");
    ck_assert_int_eq(dim, BF_DIM_BUCKET);
    ck_assert_int_eq(bf_write_strategy_from_name(&strategy, NULL), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "write strategy '(null)': expected partition_overwrite, "
                                      "merge, staging_swap, parallel_version or append");
    ck_assert_int_eq(strategy, BF_WRITE_APPEND);
}
END_TEST

/* ---- the JSON writer ---- */

static const char *const jw_strings[] = {
    "", "plain", "quote \" backslash \\ slash /", "tab\t nl\n cr\r bs\b ff\f",
    "control \x01\x1f" " and del \x7f",
    "\xc3\xbc" "n\xc3\xaf" "c\xc3\xb8" "d\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",
    "edges \xc2\x80 \xdf\xbf \xe0\xa0\x80 \xef\xbf\xbf \xf0\x90\x80\x80 \xf4\x8f\xbf\xbf",
};
static const int64_t jw_ints[] = {0, 1, -1, 42, -987654321, INT64_MAX, INT64_MIN};
static const double jw_reals[] = {0.0, -0.0, 0.1, 1.5, -2.25, 100.0, 1e20, 1.5e-7, 123456789.125,
                                  1e300, -2.5e-300, 5e-324, 1.7976931348623157e308, 0.30000000000000004};

/*
 * The reference for reals: the fewest significant digits that strtod (in
 * the "C" locale) reads back to the same double, as "%g" writes them; plain
 * decimals from 0.0001 up to 10^15; a '.' or an exponent; no '+' or leading
 * zeros in the exponent. What docs/cli.md promises for every output.
 */
static void reference_real(char *out, size_t size, double x)
{
    locale_t c = newlocale(LC_ALL_MASK, "C", (locale_t)0), was = uselocale(c);
    char *e;

    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, size, "%.*g", precision, x);
        if (strtod(out, NULL) == x)
            break;
    }
    if (strchr(out, 'e') && fabs(x) >= 1e-4 && fabs(x) < 1e15) {
        for (int decimals = 0; decimals <= 17; decimals++) {
            snprintf(out, size, "%.*f", decimals, x);
            if (strtod(out, NULL) == x)
                break;
        }
    }
    uselocale(was);
    freelocale(c);
    if ((e = strchr(out, 'e'))) {
        char *digits = e + 1, *from = digits;

        if (*from == '+')
            from++;
        else if (*from == '-')
            digits = ++from;
        while (*from == '0' && from[1])
            from++;
        memmove(digits, from, strlen(from) + 1);
    } else if (!strchr(out, '.')) {
        strcat(out, ".0");
    }
}

static void check_real(double x)
{
    char ours[BF__REAL_TEXT_SIZE], want[64];
    size_t n = bf__real_text(ours, x);

    reference_real(want, sizeof want, x);
    ck_assert_uint_eq(n, strlen(ours));
    ck_assert_msg(strcmp(ours, want) == 0, "%a: %s, want %s", x, ours, want);
}

/* Reals as docs/cli.md shows them, and whatever doubles a run's numbers are made of. */
START_TEST(reals_are_written_shortest)
{
    static const struct {
        double x;
        const char *text;
    } shown[] = {
        {0.1, "0.1"},         {4.0, "4.0"},      {60.0, "60.0"},         {3000.0, "3000.0"},
        {1e-7, "1e-7"},       {1e20, "1e20"},    {0.0001, "0.0001"},     {1e15, "1e15"},
        {0.0, "0.0"},         {-0.0, "-0.0"},    {-2.25, "-2.25"},       {1.5e-7, "1.5e-7"},
        {0.032215, "0.032215"}, {0.15876, "0.15876"}, {17308287.82, "17308287.82"},
        {0.30000000000000004, "0.30000000000000004"}, {5e-324, "5e-324"},
        {1.7976931348623157e308, "1.7976931348623157e308"}, {123456789012345.6, "123456789012345.6"},
        {9007199254740993.0, "9007199254740992.0"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
    };
    uint64_t state = 0x9E3779B97F4A7C15u;

    for (size_t i = 0; i < BF_ARRAY_LEN(shown); i++) {
        char text[BF__REAL_TEXT_SIZE];

        bf__real_text(text, shown[i].x);
        ck_assert_msg(strcmp(text, shown[i].text) == 0, "%a: %s, want %s", shown[i].x, text,
                      shown[i].text);
        check_real(shown[i].x);
    }
    /* Every power of two (their interval is narrower below) and its neighbours. */
    for (int e = -1074; e <= 1023; e++) {
        double p = ldexp(1.0, e);

        check_real(p);
        check_real(nextafter(p, 0));
        check_real(-nextafter(p, INFINITY));
    }
    /* Powers of ten and their neighbours, decimals of a few digits, and random bit patterns. */
    for (int e = -323; e <= 308; e++) {
        char text[32];
        double p;

        snprintf(text, sizeof text, "1e%d", e);
        p = strtod(text, NULL);
        check_real(p);
        check_real(nextafter(p, 0));
        check_real(nextafter(p, INFINITY));
    }
    for (int i = 0; i < 20000; i++) {
        double x;
        uint64_t bits;

        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bits = state;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x))
            check_real(x);
        check_real((double)(int64_t)(state % 100000000) / 100.0);
        check_real((double)(int64_t)(state % 1000003) * 0.001);
        check_real((double)(state >> 11) / 1e6);
    }
    {
        char text[BF__REAL_TEXT_SIZE];

        ck_assert_uint_eq(bf__real_text(text, NAN), 4);
        ck_assert_str_eq(text, "null");
        bf__real_text(text, -INFINITY);
        ck_assert_str_eq(text, "null");
    }
}
END_TEST

/*
 * Every string, integer and real as members of one object, written both
 * ways: the writer gives what bf__json_dump() gives, which is Jansson's
 * text but for the reals, written shortest where Jansson writes 17 digits.
 */
START_TEST(json_writer_writes_what_jansson_dumps)
{
    json_t *o = json_object(), *back;
    bf__sb sb;
    char *ours = NULL, *theirs = NULL, key[32];
    int n = 0;

    bf__sb_init(&sb);
    bf__sb_appendc(&sb, '{');
    for (size_t i = 0; i < BF_ARRAY_LEN(jw_strings); i++) {
        snprintf(key, sizeof key, "s%zu", i);
        bf__jw_member(&sb, &n, key);
        bf__jw_str(&sb, jw_strings[i]);
        ck_assert_int_eq(json_object_set_new(o, key, json_string(jw_strings[i])), 0);
    }
    for (size_t i = 0; i < BF_ARRAY_LEN(jw_ints); i++) {
        snprintf(key, sizeof key, "i%zu", i);
        bf__jw_member(&sb, &n, key);
        bf__jw_int(&sb, jw_ints[i]);
        ck_assert_int_eq(json_object_set_new(o, key, json_integer(jw_ints[i])), 0);
    }
    bf__jw_member(&sb, &n, "a key \"quoted\"\n");
    bf__jw_str(&sb, NULL);
    ck_assert_int_eq(json_object_set_new(o, "a key \"quoted\"\n", json_null()), 0);
    /* Without reals, Jansson's own compact dump is the same text. */
    {
        char *jansson = json_dumps(o, JSON_COMPACT);

        ck_assert_ptr_nonnull(jansson);
        bf__sb_appendc(&sb, '}');
        ck_assert_str_eq(sb.buf, jansson);
        sb.len--;
        free(jansson);
    }
    for (size_t i = 0; i < BF_ARRAY_LEN(jw_reals); i++) {
        char want[64];

        snprintf(key, sizeof key, "r%zu", i);
        bf__jw_member(&sb, &n, key);
        bf__jw_real(&sb, jw_reals[i]);
        ck_assert_int_eq(json_object_set_new(o, key, json_real(jw_reals[i])), 0);
        reference_real(want, sizeof want, jw_reals[i]);
        ck_assert_msg(strstr(sb.buf, want) != NULL, "r%zu: %s not written", i, want);
    }
    bf__sb_appendc(&sb, '}');
    ck_assert_int_eq(bf__sb_finish(&sb, &ours), BF_OK);
    ck_assert_int_eq(bf__json_dump(&theirs, o, JSON_COMPACT), BF_OK);
    ck_assert_str_eq(ours, theirs);
    ck_assert_ptr_nonnull(strstr(ours, "\"r2\":0.1,"));
    ck_assert_ptr_nonnull(strstr(ours, "\"r5\":100.0,"));
    ck_assert_ptr_nonnull(strstr(ours, "\"r6\":1e20,"));
    /* And it reads back to the same values, every real to the bit. */
    back = json_loads(ours, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert(json_equal(back, o));
    json_decref(back);
    json_decref(o);
    bf__free(ours);
    bf__free(theirs);
}
END_TEST

/* bf__json_dump() lays out nested values as Jansson does, compact or indented. */
START_TEST(json_dump_lays_out_as_jansson_does)
{
    static const size_t flags[] = {0, JSON_COMPACT, JSON_INDENT(2), JSON_INDENT(2) | JSON_COMPACT,
                                   JSON_INDENT(4) | JSON_PRESERVE_ORDER};
    json_t *doc = json_pack("{s:[], s:{}, s:[i, s, {s:b, s:n}, [[]], {s:{}}], s:{s:s, s:[b]}, "
                            "s:s#, s:I}",
                            "empty_list", "empty_object", "list", 1, "two\t", "t", 1, "nothing",
                            "deep", "inner", "x", "z", "nested", 0, "nul", "a\0b", 3,
                            "big", (json_int_t)INT64_MIN);

    ck_assert_ptr_nonnull(doc);
    for (size_t i = 0; i < BF_ARRAY_LEN(flags); i++) {
        char *ours = NULL, *jansson = json_dumps(doc, flags[i]);

        ck_assert_ptr_nonnull(jansson);
        ck_assert_int_eq(bf__json_dump(&ours, doc, flags[i]), BF_OK);
        ck_assert_msg(strcmp(ours, jansson) == 0, "flags %zx:\n%s\nJansson:\n%s", flags[i], ours,
                      jansson);
        free(jansson);
        bf__free(ours);
    }
    /* With reals: the same layout, each real shortest. */
    ck_assert_int_eq(json_object_set_new(doc, "ratio", json_real(0.1 + 0.2)), 0);
    ck_assert_int_eq(json_array_append_new(json_object_get(doc, "list"), json_real(0.25)), 0);
    {
        char *ours = NULL;

        ck_assert_int_eq(bf__json_dump(&ours, doc, JSON_INDENT(2)), BF_OK);
        ck_assert_ptr_nonnull(strstr(ours, "\"ratio\": 0.30000000000000004\n}"));
        ck_assert_ptr_nonnull(strstr(ours, "    0.25\n  ],"));
        bf__free(ours);
    }
    json_decref(doc);
}
END_TEST

/* What Jansson would refuse: bytes that are no UTF-8 become U+FFFD, NaN and infinities null. */
START_TEST(json_writer_mends_what_json_cannot_hold)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"a\xc3(b", "\"a\xef\xbf\xbd(b\""},                        /* a lead without its continuation */
        {"\x80", "\"\xef\xbf\xbd\""},                               /* a lone continuation */
        {"\xc0\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\""},               /* an overlong '/' */
        {"\xe0\x80\xaf", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* an overlong, three bytes */
        {"\xed\xa0\x80", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\""}, /* a surrogate */
        {"\xf4\x90\x80\x80!", "\"\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd!\""}, /* past U+10FFFF */
        {"end \xe2\x82", "\"end \xef\xbf\xbd\xef\xbf\xbd\""},         /* cut short */
    };
    static const double odd[] = {NAN, INFINITY, -INFINITY};
    json_error_t error;

    for (size_t i = 0; i < BF_ARRAY_LEN(cases); i++) {
        bf__sb sb;
        char *text = NULL;
        json_t *back;

        bf__sb_init(&sb);
        bf__jw_str(&sb, cases[i].in);
        ck_assert_int_eq(bf__sb_finish(&sb, &text), BF_OK);
        ck_assert_msg(strcmp(text, cases[i].out) == 0, "case %zu: %s", i, text);
        back = json_loads(text, JSON_DECODE_ANY, &error);
        ck_assert_msg(back && json_is_string(back), "case %zu does not read back: %s", i,
                      error.text);
        json_decref(back);
        bf__free(text);
    }
    for (size_t i = 0; i < BF_ARRAY_LEN(odd); i++) {
        bf__sb sb;
        char *text = NULL;

        bf__sb_init(&sb);
        bf__jw_real(&sb, odd[i]);
        ck_assert_int_eq(bf__sb_finish(&sb, &text), BF_OK);
        ck_assert_str_eq(text, "null");
        bf__free(text);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("common");
    TCase *errors = tcase_create("errors");
    TCase *memory = tcase_create("memory");
    TCase *version = tcase_create("version");

    tcase_add_test(errors, errstr_names_every_code);
    tcase_add_test(errors, last_error_keeps_message_and_code);
    tcase_add_test(errors, last_error_truncates_long_messages);
    tcase_add_test(errors, last_error_wraps_the_last_error);
    tcase_add_test(errors, last_error_is_per_thread);
    tcase_add_test(errors, handle_error_copies_message);
    tcase_add_test(version, version_matches_header);
    tcase_add_test(version, struct_init_accepts_every_known_version_and_writes_only_its_bytes);
    tcase_add_test(version, vtable_check_copies_up_to_the_hosts_version);
    tcase_add_test(version, old_ledger_options_are_not_overrun);
    tcase_add_test(errors, error_set_is_what_plugins_report_with);
    tcase_add_test(version, type_names_round_trip);
    tcase_add_test(memory, set_allocator_refuses_partial_hooks);
    tcase_add_test(memory, set_allocator_refused_after_first_allocation);
    tcase_add_test(memory, allocations_go_through_hooks);
    tcase_add_test(memory, failed_allocation_is_reported);
    tcase_add_test(memory, grow_doubles_and_keeps_contents);
    tcase_add_test(memory, string_builder_appends);
    tcase_add_test(memory, string_builder_every_allocation_failure);
    tcase_add_test(memory, every_free_accepts_null);
    tcase_add_test(memory, reals_are_written_shortest);
    tcase_add_test(memory, json_writer_writes_what_jansson_dumps);
    tcase_add_test(memory, json_dump_lays_out_as_jansson_does);
    tcase_add_test(memory, json_writer_mends_what_json_cannot_hold);
    suite_add_tcase(s, errors);
    suite_add_tcase(s, memory);
    suite_add_tcase(s, version);
    return bftest_run(s);
}
