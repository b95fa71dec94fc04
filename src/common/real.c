/*
 * Reals as text: the shortest decimal that reads back to the same double,
 * the one number format of every JSON text the library writes.
 *
 * The digits come from printf's "%.*e" (in the "C" locale, through
 * bf__snprintf), which rounds the double's exact value correctly to the
 * precision asked for. Whether P digits are enough is decided exactly,
 * without parsing the text back (strtod would depend on the locale, and a
 * parser that rounds correctly is a big piece of code): a decimal reads back
 * to x when it lies within x's rounding interval, the halfway points to
 * the neighbouring doubles, and those are compared with the decimal as
 * integers of up to about 1,200 bits.
 *
 * P digits rounded correctly are never further from x than P - 1 digits
 * are, so once P digits read back, more do as well: the shortest P is
 * found by bisection. The one exception is a power of two, whose interval
 * is narrower below than above; there every P is tried from 1 up.
 */
#include <math.h>
#include <string.h>

#include "common/internal.h"

/* 1,536 bits: the largest product below is about 1,200. */
#define BIG_WORDS 48

typedef struct big {
    uint32_t w[BIG_WORDS]; /* least significant first */
    size_t n;              /* words in use; no leading zero word */
    int overflow;
} big;

static void big_set(big *b, uint64_t v)
{
    b->n = 0;
    b->overflow = 0;
    while (v) {
        b->w[b->n++] = (uint32_t)v;
        v >>= 32;
    }
}

static void big_mul(big *b, uint32_t m)
{
    uint64_t carry = 0;

    for (size_t i = 0; i < b->n; i++) {
        uint64_t t = (uint64_t)b->w[i] * m + carry;

        b->w[i] = (uint32_t)t;
        carry = t >> 32;
    }
    if (carry) {
        if (b->n == BIG_WORDS)
            b->overflow = 1;
        else
            b->w[b->n++] = (uint32_t)carry;
    }
}

static void big_mul_pow5(big *b, int e)
{
    static const uint32_t pow5[14] = {1,       5,        25,        125,       625,
                                      3125,    15625,    78125,     390625,    1953125,
                                      9765625, 48828125, 244140625, 1220703125};

    for (; e >= 13; e -= 13)
        big_mul(b, pow5[13]);
    if (e > 0)
        big_mul(b, pow5[e]);
}

static void big_shl(big *b, int bits)
{
    size_t words = (size_t)bits / 32, shift = (size_t)bits % 32;

    if (b->n == 0 || bits == 0)
        return;
    if (b->n + words + 1 > BIG_WORDS) {
        b->overflow = 1;
        return;
    }
    b->w[b->n + words] = 0;
    for (size_t i = b->n; i-- > 0;) {
        uint64_t t = (uint64_t)b->w[i] << shift;

        b->w[i + words + 1] |= (uint32_t)(t >> 32);
        b->w[i + words] = (uint32_t)t;
    }
    memset(b->w, 0, words * sizeof b->w[0]);
    b->n += words + 1;
    while (b->n && !b->w[b->n - 1])
        b->n--;
}

static int big_cmp(const big *a, const big *b)
{
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = a->n; i-- > 0;)
        if (a->w[i] != b->w[i])
            return a->w[i] < b->w[i] ? -1 : 1;
    return 0;
}

/*
 * The sign of d * 10^k - m * 2^j (d, m > 0), or 2 when the numbers do not
 * fit, which never happens for a double and its decimals.
 */
static int compare(uint64_t d, int k, uint64_t m, int j)
{
    big a, b;
    int a2, b2;

    big_set(&a, d);
    big_set(&b, m);
    /* d * 5^k * 2^k against m * 2^j; for k < 0 both sides times 10^-k. */
    if (k >= 0) {
        big_mul_pow5(&a, k);
        a2 = k;
        b2 = j;
    } else {
        big_mul_pow5(&b, -k);
        a2 = 0;
        b2 = j - k;
    }
    if (a2 > b2)
        big_shl(&a, a2 - b2);
    else
        big_shl(&b, b2 - a2);
    if (a.overflow || b.overflow)
        return 2;
    return big_cmp(&a, &b);
}

/* Whether d * 10^k (d > 0) reads back as the positive finite double x. */
static int reads_back(uint64_t d, int k, double x)
{
    uint64_t bits, frac, m;
    int exp_bits, q, below, above;

    memcpy(&bits, &x, sizeof bits);
    exp_bits = (int)(bits >> 52 & 0x7FF);
    frac = bits & ((UINT64_C(1) << 52) - 1);
    m = exp_bits ? frac | UINT64_C(1) << 52 : frac;
    q = exp_bits ? exp_bits - 1075 : -1074;
    /* x = m * 2^q; halfway up (2m + 1) * 2^(q - 1); halfway down the same, or closer below a power of two. */
    above = compare(d, k, 2 * m + 1, q - 1);
    if (frac == 0 && exp_bits > 1)
        below = compare(d, k, 4 * m - 1, q - 2);
    else
        below = compare(d, k, 2 * m - 1, q - 1);
    if (above == 2 || below == 2)
        return 0;
    /* A decimal halfway between two doubles reads as the one with the even significand. */
    if (m % 2 == 0)
        return above <= 0 && below >= 0;
    return above < 0 && below > 0;
}

/* x (positive, finite) to `precision` significant digits: the digits, and the decimal exponent of the first. */
static void digits_of(char digits[24], uint64_t *d, int *exp10, double x, int precision)
{
    char text[40];
    const char *p;
    size_t n = 0;
    int e = 0, negative = 0;

    bf__snprintf(text, sizeof text, "%.*e", precision - 1, x);
    *d = 0;
    for (p = text; *p && *p != 'e'; p++) {
        if (bf__ascii_isdigit((unsigned char)*p)) {
            digits[n++] = *p;
            *d = *d * 10 + (uint64_t)(*p - '0');
        }
    }
    digits[n] = '\0';
    if (*p == 'e')
        p++;
    if (*p == '-' || *p == '+')
        negative = *p++ == '-';
    for (; bf__ascii_isdigit((unsigned char)*p); p++)
        e = e * 10 + (*p - '0');
    *exp10 = negative ? -e : e;
}

/* Whether `precision` digits read back to x; if so, they and their exponent are kept. */
static int fits(char digits[24], int *exp10, double x, int precision)
{
    char tried[24];
    uint64_t d;
    int e;

    digits_of(tried, &d, &e, x, precision);
    if (precision < 17 && !reads_back(d, e - (precision - 1), x))
        return 0;
    memcpy(digits, tried, sizeof tried);
    *exp10 = e;
    return 1;
}

size_t bf__real_text(char out[BF__REAL_TEXT_SIZE], double v)
{
    char digits[24], *o = out;
    double x = fabs(v);
    uint64_t bits;
    int e = 0, precision, n;

    if (!isfinite(v)) {
        memcpy(out, "null", 5);
        return 4;
    }
    if (signbit(v))
        *o++ = '-';
    if (x == 0) {
        memcpy(o, "0.0", 4);
        return (size_t)(o - out) + 3;
    }
    memcpy(&bits, &x, sizeof bits);
    if ((bits & ((UINT64_C(1) << 52) - 1)) == 0 && (bits >> 52) > 1) {
        /* A power of two: its interval is lopsided, so try every precision. */
        for (precision = 1; !fits(digits, &e, x, precision); precision++)
            ;
    } else {
        /* The fewest digits that read back (17 always do); the last that did are kept. */
        int lo = 1, hi = 17, found = 0;

        while (lo < hi) {
            int mid = (lo + hi) / 2;

            if (fits(digits, &e, x, mid)) {
                hi = mid;
                found = mid;
            } else {
                lo = mid + 1;
            }
        }
        precision = lo;
        if (found != precision)
            fits(digits, &e, x, precision);
    }
    n = (int)strlen(digits);
    while (n > 1 && digits[n - 1] == '0')
        n--;
    /*
     * As "%g" chooses, but numbers a person reads as plain decimals
     * (revenue, seconds) are written so from 0.0001 up to 10^15: 60.0, not
     * 6e1. Always a '.' or an exponent, so that the text reads as a real.
     */
    if ((e >= -4 && e < precision) || (x >= 1e-4 && x < 1e15)) {
        if (e < 0) {
            *o++ = '0';
            *o++ = '.';
            for (int i = -1; i > e; i--)
                *o++ = '0';
            memcpy(o, digits, (size_t)n);
            o += n;
        } else if (e >= n - 1) {
            memcpy(o, digits, (size_t)n);
            o += n;
            for (int i = n - 1; i < e; i++)
                *o++ = '0';
            *o++ = '.';
            *o++ = '0';
        } else {
            memcpy(o, digits, (size_t)e + 1);
            o += e + 1;
            *o++ = '.';
            memcpy(o, digits + e + 1, (size_t)(n - e - 1));
            o += n - e - 1;
        }
    } else {
        *o++ = digits[0];
        if (n > 1) {
            *o++ = '.';
            memcpy(o, digits + 1, (size_t)n - 1);
            o += n - 1;
        }
        o += bf__snprintf(o, 8, "e%d", e);
    }
    *o = '\0';
    return (size_t)(o - out);
}
