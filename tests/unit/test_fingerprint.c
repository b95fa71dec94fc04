#include <math.h>
#include <string.h>
#include <xxhash.h>

#include "backfill.h"
#include "bftest.h"
#include "common/internal.h"
#include "fingerprint/fp_internal.h"

#define I(x) {BF_VALUE_INT, (x), 0.0, NULL, 0}
#define R(x) {BF_VALUE_REAL, 0, (x), NULL, 0}
#define T(x) {BF_VALUE_TEXT, 0, 0.0, (x), sizeof(x) - 1}
#define B(x) {BF_VALUE_BLOB, 0, 0.0, (x), sizeof(x) - 1}
#define N {BF_VALUE_NULL, 0, 0.0, NULL, 0}

static bf_fingerprint of_row(const bf_value *row, size_t n)
{
    bf_fingerprint fp = {0, 0, 0};

    ck_assert_int_eq(bf_fingerprint_add_row(&fp, row, n), BF_OK);
    return fp;
}

static const char *text(const bf_fingerprint *fp)
{
    static char buf[BF_FINGERPRINT_TEXT_SIZE];

    ck_assert_int_eq(bf_fingerprint_format(buf, sizeof buf, fp), BF_OK);
    return buf;
}

/* The vectors written down in docs/fingerprint.md for the bindings. */
START_TEST(test_vectors)
{
    static const bf_value null_row[] = {N}, int_row[] = {I(1)}, real_row[] = {R(1.0)};
    static const bf_value split_row[] = {T("a|b"), T("c")};
    static const bf_value mixed[] = {I(42), R(-0.0), T("h\xc3\xa9llo"), B("\x00\xff"), N};
    static const bf_value neg[] = {I(-1)}, empty_text[] = {T("")};
    static const bf_value r1[] = {I(1), T("a")}, r2[] = {I(2), T("b")}, r3[] = {I(3), N};
    static const struct {
        const bf_value *row;
        size_t n;
        const char *want;
    } one_row[] = {
        {null_row, 1, "1:a6cd5e9392000f6ac44bdff4074eecdb"},
        {int_row, 1, "1:4bf11acb9ef8ce739a0670b0dfa048f0"},
        {real_row, 1, "1:3ce7151f7d7777d8c2e1e4a5e6d61dca"},
        {split_row, 2, "1:f4ea4ba030d67da7ccbc740cc953d725"},
        {mixed, 5, "1:d75cc219f4956cad8ba95ca3694f2219"},
        {neg, 1, "1:c8376ffe4131faf5893fd9db86b0c612"},
        {empty_text, 1, "1:7af663c80eb713021750123014926432"},
    };
    bf_fingerprint fp = {0, 0, 0};

    ck_assert_str_eq(text(&fp), "0:00000000000000000000000000000000");
    for (size_t i = 0; i < BF_ARRAY_LEN(one_row); i++) {
        bf_fingerprint v = of_row(one_row[i].row, one_row[i].n);

        ck_assert_str_eq(text(&v), one_row[i].want);
    }
    ck_assert_int_eq(bf_fingerprint_add_row(&fp, r1, 2), BF_OK);
    ck_assert_int_eq(bf_fingerprint_add_row(&fp, r2, 2), BF_OK);
    ck_assert_int_eq(bf_fingerprint_add_row(&fp, r3, 2), BF_OK);
    ck_assert_str_eq(text(&fp), "3:57442992ded4987754587052b32b7e0c");
}
END_TEST

/* The encoding, byte by byte as docs/fingerprint.md defines it, hashed with libxxhash directly. */
START_TEST(encoding_matches_the_definition)
{
    static const unsigned char bytes[] = {
        0x01, 0x2a, 0, 0, 0, 0, 0, 0, 0,                   /* INT 42 */
        0x02, 0, 0, 0, 0, 0, 0, 0, 0,                      /* REAL -0.0 as 0.0 */
        0x03, 6, 0, 0, 0, 0, 0, 0, 0, 'h', 0xc3, 0xa9, 'l', 'l', 'o', /* TEXT */
        0x04, 2, 0, 0, 0, 0, 0, 0, 0, 0x00, 0xff,          /* BLOB */
        0x00,                                              /* NULL */
    };
    bf_value mixed[] = {I(42), R(-0.0), T("h\xc3\xa9llo"), B("\x00\xff"), N};
    XXH128_hash_t h = XXH3_128bits(bytes, sizeof bytes);
    bf_fingerprint fp = of_row(mixed, 5);

    ck_assert_uint_eq(fp.rows, 1);
    ck_assert_uint_eq(fp.hi, h.high64);
    ck_assert_uint_eq(fp.lo, h.low64);
}
END_TEST

START_TEST(nan_is_canonical)
{
    static const unsigned char bytes[] = {0x02, 0, 0, 0, 0, 0, 0, 0xf8, 0x7f};
    bf_value a[] = {R(NAN)}, b[] = {R(-NAN)};
    XXH128_hash_t h = XXH3_128bits(bytes, sizeof bytes);
    bf_fingerprint fa = of_row(a, 1), fb = of_row(b, 1);

    ck_assert(bf_fingerprint_equal(&fa, &fb));
    ck_assert_uint_eq(fa.hi, h.high64);
    ck_assert_uint_eq(fa.lo, h.low64);
}
END_TEST

START_TEST(order_independent)
{
    bf_value r1[] = {I(1), T("a")}, r2[] = {I(2), T("b")}, r3[] = {I(3), N};
    bf_fingerprint x = {0, 0, 0}, y = {0, 0, 0};

    bf_fingerprint_add_row(&x, r1, 2);
    bf_fingerprint_add_row(&x, r2, 2);
    bf_fingerprint_add_row(&x, r3, 2);
    bf_fingerprint_add_row(&y, r3, 2);
    bf_fingerprint_add_row(&y, r1, 2);
    bf_fingerprint_add_row(&y, r2, 2);
    ck_assert(bf_fingerprint_equal(&x, &y));
}
END_TEST

START_TEST(duplicates_count)
{
    bf_value r1[] = {I(1)}, r2[] = {I(2)};
    bf_fingerprint once = {0, 0, 0}, twice = {0, 0, 0};

    bf_fingerprint_add_row(&once, r1, 1);
    bf_fingerprint_add_row(&once, r2, 1);
    bf_fingerprint_add_row(&twice, r1, 1);
    bf_fingerprint_add_row(&twice, r1, 1);
    bf_fingerprint_add_row(&twice, r2, 1);
    ck_assert(!bf_fingerprint_equal(&once, &twice));
    ck_assert_uint_eq(twice.rows, 3);
    /* Adding a row twice is not the same as adding it once: a multiset, not a set. */
    bf_fingerprint_add_row(&once, r1, 1);
    ck_assert(bf_fingerprint_equal(&once, &twice));
}
END_TEST

START_TEST(column_boundaries_matter)
{
    bf_value a[] = {T("a|b"), T("c")}, b[] = {T("a"), T("b|c")};
    bf_value c[] = {T("ab"), T("")}, d[] = {T("a"), T("b")};
    bf_fingerprint fa = of_row(a, 2), fb = of_row(b, 2), fc = of_row(c, 2), fd = of_row(d, 2);

    ck_assert(!bf_fingerprint_equal(&fa, &fb));
    ck_assert(!bf_fingerprint_equal(&fc, &fd));
}
END_TEST

START_TEST(types_are_distinct)
{
    bf_value null_row[] = {N}, null_text[] = {T("NULL")}, zero[] = {I(0)}, zero_real[] = {R(0.0)};
    bf_value one[] = {I(1)}, one_real[] = {R(1.0)}, text_one[] = {T("1")};
    bf_value blob_a[] = {B("a")}, text_a[] = {T("a")}, empty_text[] = {T("")};
    bf_fingerprint f[] = {
        of_row(null_row, 1), of_row(null_text, 1), of_row(zero, 1), of_row(zero_real, 1),
        of_row(one, 1),      of_row(one_real, 1),  of_row(text_one, 1), of_row(blob_a, 1),
        of_row(text_a, 1),   of_row(empty_text, 1),
    };

    for (size_t i = 0; i < BF_ARRAY_LEN(f); i++)
        for (size_t j = i + 1; j < BF_ARRAY_LEN(f); j++)
            ck_assert_msg(!bf_fingerprint_equal(&f[i], &f[j]), "rows %zu and %zu collide", i, j);
}
END_TEST

START_TEST(negative_zero_equals_zero)
{
    bf_value a[] = {R(-0.0)}, b[] = {R(0.0)};
    bf_fingerprint fa = of_row(a, 1), fb = of_row(b, 1);

    ck_assert(bf_fingerprint_equal(&fa, &fb));
}
END_TEST

START_TEST(add_sub_and_remove)
{
    bf_value r1[] = {I(1)}, r2[] = {T("two")}, r3[] = {R(3.5)};
    bf_fingerprint a = {0, 0, 0}, b = {0, 0, 0}, all = {0, 0, 0}, sum, diff, zero = {0, 0, 0};

    bf_fingerprint_add_row(&a, r1, 1);
    bf_fingerprint_add_row(&a, r2, 1);
    bf_fingerprint_add_row(&b, r3, 1);
    bf_fingerprint_add_row(&all, r3, 1);
    bf_fingerprint_add_row(&all, r2, 1);
    bf_fingerprint_add_row(&all, r1, 1);
    bf_fingerprint_add(&sum, &a, &b);
    ck_assert(bf_fingerprint_equal(&sum, &all));
    bf_fingerprint_sub(&diff, &all, &b);
    ck_assert(bf_fingerprint_equal(&diff, &a));
    bf_fingerprint_sub(&diff, &all, &all);
    ck_assert(bf_fingerprint_equal(&diff, &zero));
    ck_assert_int_eq(bf_fingerprint_remove_row(&all, r3, 1), BF_OK);
    ck_assert(bf_fingerprint_equal(&all, &a));
}
END_TEST

START_TEST(sum_carries_between_halves)
{
    bf_fingerprint a = {1, 0, UINT64_MAX}, b = {1, 0, 1}, out;

    bf_fingerprint_add(&out, &a, &b);
    ck_assert_uint_eq(out.hi, 1);
    ck_assert_uint_eq(out.lo, 0);
    ck_assert_uint_eq(out.rows, 2);
    bf_fingerprint_sub(&out, &out, &b);
    ck_assert(bf_fingerprint_equal(&out, &a));
    a = (bf_fingerprint){1, UINT64_MAX, UINT64_MAX};
    bf_fingerprint_add(&out, &a, &b);
    ck_assert_uint_eq(out.hi, 0);
    ck_assert_uint_eq(out.lo, 0);
}
END_TEST

START_TEST(text_round_trip)
{
    bf_fingerprint fp = {18446744073709551615u, 0x0123456789abcdefu, 0xfedcba9876543210u}, back;
    char small[10];

    ck_assert_str_eq(text(&fp), "18446744073709551615:0123456789abcdeffedcba9876543210");
    ck_assert_uint_eq(strlen(text(&fp)) + 1, BF_FINGERPRINT_TEXT_SIZE);
    ck_assert_int_eq(bf_fingerprint_parse(&back, text(&fp)), BF_OK);
    ck_assert(bf_fingerprint_equal(&fp, &back));
    ck_assert_int_eq(bf_fingerprint_parse(&back, "7:0123456789ABCDEFFEDCBA9876543210"), BF_OK);
    ck_assert_uint_eq(back.rows, 7);
    ck_assert_uint_eq(back.lo, 0xfedcba9876543210u);
    ck_assert_int_eq(bf_fingerprint_format(small, sizeof small, &fp), BF_E_INVALID);
    ck_assert_str_eq(small, "");
}
END_TEST

START_TEST(parse_rejects_malformed)
{
    static const char *const bad[] = {
        "", ":00000000000000000000000000000000", "1:", "1:0000000000000000000000000000000",
        "1:000000000000000000000000000000000", "1:0000000000000000000000000000000g",
        "-1:00000000000000000000000000000000", "01:00000000000000000000000000000000",
        "18446744073709551616:00000000000000000000000000000000",
        "1 :00000000000000000000000000000000", "1:00000000000000000000000000000000 ",
    };
    bf_fingerprint fp = {5, 6, 7};

    for (size_t i = 0; i < BF_ARRAY_LEN(bad); i++) {
        ck_assert_msg(bf_fingerprint_parse(&fp, bad[i]) == BF_E_PARSE, "accepted '%s'", bad[i]);
        ck_assert_uint_eq(fp.rows, 5);
    }
    ck_assert(strstr(bf_last_error(), "expected rows:hex32") != NULL);
    ck_assert_int_eq(bf_fingerprint_parse(&fp, NULL), BF_E_INVALID);
}
END_TEST

START_TEST(bad_values_are_refused)
{
    bf_value bad_type[] = {{(bf_value_type)9, 0, 0.0, NULL, 0}};
    bf_value no_bytes[] = {{BF_VALUE_TEXT, 0, 0.0, NULL, 3}};
    bf_fingerprint fp = {0, 0, 0};

    ck_assert_int_eq(bf_fingerprint_add_row(&fp, bad_type, 1), BF_E_INVALID);
    ck_assert_int_eq(bf_fingerprint_add_row(&fp, no_bytes, 1), BF_E_INVALID);
    ck_assert_int_eq(bf_fingerprint_add_row(NULL, no_bytes, 1), BF_E_INVALID);
    ck_assert_uint_eq(fp.rows, 0);
}
END_TEST

/* A row wider than the built-in buffer spills to the heap; the sweep fails that allocation. */
static char wide_text[4000];

static int add_wide_row(void *ctx)
{
    bf_value row[] = {I(1), {BF_VALUE_TEXT, 0, 0.0, wide_text, sizeof wide_text}};

    return bf_fingerprint_add_row(ctx, row, 2);
}

START_TEST(wide_rows_survive_allocation_failures)
{
    bf_fingerprint fp = {0, 0, 0}, before;
    long points;

    memset(wide_text, 'x', sizeof wide_text);
    points = failalloc_sweep(add_wide_row, NULL, &fp);
    ck_assert_int_ge(points, 1);
    before = fp;
    failalloc_fail_at(1);
    ck_assert_int_eq(add_wide_row(&fp), BF_E_NOMEM);
    failalloc_fail_at(0);
    ck_assert(bf_fingerprint_equal(&fp, &before));
}
END_TEST

START_TEST(buckets_are_stable)
{
    bf_value a = I(12345), t = T("12345");
    int64_t b = bf__value_bucket(&a, 16);

    ck_assert_int_ge(b, 0);
    ck_assert_int_lt(b, 16);
    ck_assert_int_eq(bf__value_bucket(&a, 16), b);
    ck_assert_int_eq(bf__value_bucket(&a, 1), 0);
    ck_assert_int_eq(bf__value_bucket(&a, 0), -1);
    /* The bucket is XXH3-64 of the canonical encoding, modulo the count. */
    {
        static const unsigned char enc[] = {0x01, 0x39, 0x30, 0, 0, 0, 0, 0, 0};

        ck_assert_int_eq(b, (int64_t)(XXH3_64bits(enc, sizeof enc) % 16));
        ck_assert_int_eq(bf__value_bucket(&t, 1000003),
                         (int64_t)(XXH3_64bits("\x03\x05\0\0\0\0\0\0\0" "12345", 14) % 1000003));
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("fingerprint");
    TCase *tc = tcase_create("fingerprint");

    tcase_add_test(tc, test_vectors);
    tcase_add_test(tc, encoding_matches_the_definition);
    tcase_add_test(tc, nan_is_canonical);
    tcase_add_test(tc, order_independent);
    tcase_add_test(tc, duplicates_count);
    tcase_add_test(tc, column_boundaries_matter);
    tcase_add_test(tc, types_are_distinct);
    tcase_add_test(tc, negative_zero_equals_zero);
    tcase_add_test(tc, add_sub_and_remove);
    tcase_add_test(tc, sum_carries_between_halves);
    tcase_add_test(tc, text_round_trip);
    tcase_add_test(tc, parse_rejects_malformed);
    tcase_add_test(tc, bad_values_are_refused);
    tcase_add_test(tc, wide_rows_survive_allocation_failures);
    tcase_add_test(tc, buckets_are_stable);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return bftest_run(suite());
}
