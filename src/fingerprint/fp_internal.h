/*
 * The row encoder behind fingerprints, shared by the public functions, the
 * SQL layer's row-by-row fallback and the SQLite aggregate.
 */
#ifndef BF_FP_INTERNAL_H
#define BF_FP_INTERNAL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "backfill/fingerprint.h"

#define BF_FPROW_SMALL 256

/*
 * One row's canonical encoding. All zeroes is a valid empty encoder, so it
 * may live in memory that SQLite zeroes for an aggregate. Rows longer than
 * the built-in buffer spill to one heap buffer that is reused for later rows.
 */
typedef struct bf__fprow {
    unsigned char *heap;
    size_t heap_cap;
    size_t len;
    unsigned char small[BF_FPROW_SMALL];
} bf__fprow;

/* Start a new row (keeps the heap buffer). */
void bf__fprow_reset(bf__fprow *row);

/* Append one value's tag and bytes; BF_E_INVALID for an unknown type, BF_E_NOMEM. */
int bf__fprow_put(bf__fprow *row, const bf_value *value);

/*
 * The same encoding one type at a time, for the per-row loops of the SQL
 * aggregates (no bf_value to fill, one switch less): inline, with the
 * buffer growth out of line. bf__fprow_put is written with them, so there
 * is one encoding (docs/fingerprint.md). Each returns BF_OK or BF_E_NOMEM.
 */

/* Out of line: make room for `more` bytes, moving to (or growing) the heap buffer. */
int bf__fprow_grow(bf__fprow *row, size_t more);

/* Where the next `more` bytes go, or NULL when out of memory. */
static inline unsigned char *bf__fprow_room(bf__fprow *row, size_t more)
{
    if (row->heap ? more <= row->heap_cap - row->len : more <= sizeof row->small - row->len)
        return (row->heap ? row->heap : row->small) + row->len;
    if (bf__fprow_grow(row, more) != BF_OK)
        return NULL;
    return row->heap + row->len;
}

/* 8 bytes little-endian: one copy on little-endian hosts (compilers do not always merge the loop). */
static inline void bf__fprow_le64(unsigned char *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, sizeof v);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
#endif
}

static inline int bf__fprow_put_null(bf__fprow *row)
{
    unsigned char *p = bf__fprow_room(row, 1);

    if (!p)
        return BF_E_NOMEM;
    p[0] = (unsigned char)BF_VALUE_NULL;
    row->len += 1;
    return BF_OK;
}

static inline int bf__fprow_put_int(bf__fprow *row, int64_t i)
{
    unsigned char *p = bf__fprow_room(row, 9);

    if (!p)
        return BF_E_NOMEM;
    p[0] = (unsigned char)BF_VALUE_INT;
    bf__fprow_le64(p + 1, (uint64_t)i);
    row->len += 9;
    return BF_OK;
}

/* -0.0 is written as +0.0 (they compare equal), every NaN as the one quiet NaN. */
static inline int bf__fprow_put_real(bf__fprow *row, double r)
{
    unsigned char *p = bf__fprow_room(row, 9);
    uint64_t bits;

    if (!p)
        return BF_E_NOMEM;
    if (r == 0.0)
        r = 0.0;
    if (isnan(r))
        bits = UINT64_C(0x7ff8000000000000);
    else
        memcpy(&bits, &r, sizeof bits);
    p[0] = (unsigned char)BF_VALUE_REAL;
    bf__fprow_le64(p + 1, bits);
    row->len += 9;
    return BF_OK;
}

/*
 * Copy `len` bytes: most values of a row are short, and a call to memcpy
 * costs more than the copy, so up to 16 bytes are two fixed-size copies
 * that may overlap (each compiles to one load and one store).
 */
static inline void bf__fprow_copy(unsigned char *to, const void *from, size_t len)
{
    const unsigned char *f = from;

    if (len >= 8 && len <= 16) {
        memcpy(to, f, 8);
        memcpy(to + len - 8, f + len - 8, 8);
    } else if (len >= 4 && len < 8) {
        memcpy(to, f, 4);
        memcpy(to + len - 4, f + len - 4, 4);
    } else if (len > 16) {
        memcpy(to, f, len);
    } else {
        for (size_t i = 0; i < len; i++)
            to[i] = f[i];
    }
}

/* TEXT or BLOB: the tag, the length as 8 bytes, the bytes (`len` of them at `s`). */
static inline int bf__fprow_put_bytes(bf__fprow *row, bf_value_type type, const void *s,
                                      size_t len)
{
    unsigned char *p;

    if (len > SIZE_MAX - 9 || !(p = bf__fprow_room(row, 9 + len)))
        return BF_E_NOMEM;
    p[0] = (unsigned char)type;
    bf__fprow_le64(p + 1, (uint64_t)len);
    bf__fprow_copy(p + 9, s, len);
    row->len += 9 + len;
    return BF_OK;
}

/* Add (sign 1) or remove (sign -1) the encoded row to/from *fp. */
void bf__fprow_apply(const bf__fprow *row, bf_fingerprint *fp, int sign);

/* Release the heap buffer; the encoder is empty afterwards. */
void bf__fprow_dispose(bf__fprow *row);

/*
 * The bucket of a value among `buckets` (> 0): XXH3-64 (seed 0) of the
 * value's canonical encoding, modulo buckets. Deterministic across
 * platforms and releases; bf_bucket() in SQL is this function.
 */
int64_t bf__value_bucket(const bf_value *value, int64_t buckets);

#endif
