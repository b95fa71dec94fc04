/* Fingerprints: canonical row encoding, XXH3-128, sums modulo 2^128. */
#include <math.h>
#include <stdio.h>
#include <string.h>
/*
 * XXH3 inlined: the same hash as the shared library's (XXH3_128bits,
 * seed 0, the default secret), without a call through the PLT for every
 * row's short input.
 */
#define XXH_INLINE_ALL
#include <xxhash.h>

#include "common/internal.h"
#include "fingerprint/fp_internal.h"

void bf__fprow_reset(bf__fprow *row)
{
    row->len = 0;
}

int bf__fprow_grow(bf__fprow *row, size_t more)
{
    size_t need;

    if (more > SIZE_MAX - row->len)
        return bf__nomem();
    need = row->len + more;
    if (!row->heap && need <= sizeof row->small)
        return BF_OK;
    if (row->heap && need <= row->heap_cap)
        return BF_OK;
    if (!row->heap) {
        size_t cap = 0;
        unsigned char *heap = NULL;

        if (bf__grow((void **)&heap, &cap, need, 1) != BF_OK)
            return bf__nomem();
        memcpy(heap, row->small, row->len);
        row->heap = heap;
        row->heap_cap = cap;
        return BF_OK;
    }
    return bf__grow((void **)&row->heap, &row->heap_cap, need, 1) == BF_OK ? BF_OK : bf__nomem();
}

int bf__fprow_put(bf__fprow *row, const bf_value *value)
{
    switch (value->type) {
    case BF_VALUE_NULL:
        return bf__fprow_put_null(row);
    case BF_VALUE_INT:
        return bf__fprow_put_int(row, value->i);
    case BF_VALUE_REAL:
        return bf__fprow_put_real(row, value->r);
    case BF_VALUE_TEXT:
    case BF_VALUE_BLOB:
        if (value->len && !value->s)
            return bf__error(BF_E_INVALID, "fingerprint: text or blob value with no bytes");
        return bf__fprow_put_bytes(row, value->type, value->s, value->len) == BF_OK
                   ? BF_OK
                   : bf__nomem();
    default:
        return bf__error(BF_E_INVALID, "fingerprint: unknown value type %d", (int)value->type);
    }
}

static void sum_add(bf_fingerprint *fp, uint64_t hi, uint64_t lo)
{
    uint64_t old = fp->lo;

    fp->lo += lo;
    fp->hi += hi + (fp->lo < old);
}

static void sum_sub(bf_fingerprint *fp, uint64_t hi, uint64_t lo)
{
    uint64_t old = fp->lo;

    fp->lo -= lo;
    fp->hi -= hi + (fp->lo > old);
}

void bf__fprow_apply(const bf__fprow *row, bf_fingerprint *fp, int sign)
{
    const void *data = row->heap ? (const void *)row->heap : (const void *)row->small;
    XXH128_hash_t h = XXH3_128bits(data, row->len);

    if (sign > 0) {
        fp->rows++;
        sum_add(fp, h.high64, h.low64);
    } else {
        fp->rows--;
        sum_sub(fp, h.high64, h.low64);
    }
}

void bf__fprow_dispose(bf__fprow *row)
{
    bf__free(row->heap);
    row->heap = NULL;
    row->heap_cap = 0;
    row->len = 0;
}

int64_t bf__value_bucket(const bf_value *value, int64_t buckets)
{
    bf__fprow row = {0};
    uint64_t h;

    if (buckets <= 0 || bf__fprow_put(&row, value) != BF_OK) {
        bf__fprow_dispose(&row);
        return -1;
    }
    h = XXH3_64bits(row.heap ? (const void *)row.heap : (const void *)row.small, row.len);
    bf__fprow_dispose(&row);
    return (int64_t)(h % (uint64_t)buckets);
}

static int apply_row(bf_fingerprint *fp, const bf_value *values, size_t count, int sign)
{
    bf__fprow row = {0};
    int rc = BF_OK;

    if (!fp || (count && !values))
        return bf__error(BF_E_INVALID, "fingerprint: NULL argument");
    for (size_t i = 0; i < count && rc == BF_OK; i++)
        rc = bf__fprow_put(&row, &values[i]);
    if (rc == BF_OK)
        bf__fprow_apply(&row, fp, sign);
    bf__fprow_dispose(&row);
    return rc;
}

int bf_fingerprint_add_row(bf_fingerprint *fp, const bf_value *values, size_t count)
{
    return apply_row(fp, values, count, 1);
}

int bf_fingerprint_remove_row(bf_fingerprint *fp, const bf_value *values, size_t count)
{
    return apply_row(fp, values, count, -1);
}

void bf_fingerprint_add(bf_fingerprint *out, const bf_fingerprint *a, const bf_fingerprint *b)
{
    bf_fingerprint r;

    if (!out || !a || !b)
        return;
    r = *a;
    r.rows += b->rows;
    sum_add(&r, b->hi, b->lo);
    *out = r;
}

void bf_fingerprint_sub(bf_fingerprint *out, const bf_fingerprint *a, const bf_fingerprint *b)
{
    bf_fingerprint r;

    if (!out || !a || !b)
        return;
    r = *a;
    r.rows -= b->rows;
    sum_sub(&r, b->hi, b->lo);
    *out = r;
}

int bf_fingerprint_equal(const bf_fingerprint *a, const bf_fingerprint *b)
{
    if (!a || !b)
        return 0;
    return a->rows == b->rows && a->hi == b->hi && a->lo == b->lo;
}

int bf_fingerprint_format(char *out, size_t size, const bf_fingerprint *fp)
{
    int n;

    if (!out || !fp)
        return bf__error(BF_E_INVALID, "fingerprint: NULL argument");
    n = snprintf(out, size, "%llu:%016llx%016llx", (unsigned long long)fp->rows,
                 (unsigned long long)fp->hi, (unsigned long long)fp->lo);
    if (n < 0 || (size_t)n >= size) {
        if (size)
            out[0] = '\0';
        return bf__error(BF_E_INVALID, "fingerprint: a buffer of %zu bytes is too small", size);
    }
    return BF_OK;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int bf_fingerprint_parse(bf_fingerprint *out, const char *text)
{
    bf_fingerprint fp = {0, 0, 0};
    const char *p = text;

    if (!out || !text)
        return bf__error(BF_E_INVALID, "fingerprint: NULL argument");
    if (*p < '0' || *p > '9' || (p[0] == '0' && p[1] != ':'))
        goto bad;
    for (; *p >= '0' && *p <= '9'; p++) {
        unsigned d = (unsigned)(*p - '0');

        if (fp.rows > (UINT64_MAX - d) / 10)
            goto bad;
        fp.rows = fp.rows * 10 + d;
    }
    if (*p++ != ':')
        goto bad;
    for (int i = 0; i < 32; i++, p++) {
        int d = hex_digit(*p);

        if (d < 0)
            goto bad;
        if (i < 16)
            fp.hi = (fp.hi << 4) | (uint64_t)d;
        else
            fp.lo = (fp.lo << 4) | (uint64_t)d;
    }
    if (*p)
        goto bad;
    *out = fp;
    return BF_OK;
bad:
    return bf__error(BF_E_PARSE, "fingerprint '%.80s': expected rows:hex32", text);
}
