/*
 * Fingerprints: order-independent fingerprints of a multiset of rows.
 *
 * A fingerprint is (rows, sum): the number of rows and the sum modulo 2^128
 * of XXH3-128 (seed 0) of each row's canonical encoding. A row is encoded
 * column by column, in the declared column order, as a one-byte type tag (the
 * bf_value_type number) followed by the value: NULL nothing; INT 8 bytes
 * little-endian two's complement; REAL 8 bytes little-endian IEEE 754 with
 * -0.0 written as 0.0 and every NaN as the canonical quiet NaN
 * (0x7ff8000000000000); TEXT and BLOB an 8-byte little-endian length, then
 * the bytes. Fingerprints add up: the fingerprint of a table is the sum of
 * its parts'. docs/fingerprint.md has the definition and test vectors.
 */
#ifndef BACKFILL_FINGERPRINT_H
#define BACKFILL_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"
#include "backfill/value.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A value type: copy it freely. All zeroes is the fingerprint of no rows.
 * The 128-bit sum is hi * 2^64 + lo.
 */
typedef struct bf_fingerprint {
    uint64_t rows;
    uint64_t hi;
    uint64_t lo;
} bf_fingerprint;

/* Bytes needed for the text form "rows:hex32" with its terminating NUL. */
#define BF_FINGERPRINT_TEXT_SIZE 54

/*
 * Add one row of `count` values to *fp. Fails with BF_E_INVALID on a NULL
 * argument or a value of unknown type, and with BF_E_NOMEM when a very wide
 * row needs more than the built-in buffer; *fp is unchanged on failure.
 */
BF_API int bf_fingerprint_add_row(bf_fingerprint *fp, const bf_value *values, size_t count);

/*
 * Remove one row (the inverse of bf_fingerprint_add_row), so that a running
 * fingerprint can follow deletes. Same failures.
 */
BF_API int bf_fingerprint_remove_row(bf_fingerprint *fp, const bf_value *values, size_t count);

/*
 * *out = *a + *b (rows modulo 2^64, sums modulo 2^128). out may alias a or b.
 * Does nothing when out, a or b is NULL.
 */
BF_API void bf_fingerprint_add(bf_fingerprint *out, const bf_fingerprint *a,
                               const bf_fingerprint *b);

/*
 * *out = *a - *b (rows modulo 2^64, sums modulo 2^128): the fingerprint of
 * the rows of a that are not in b, when b is a sub-multiset of a. Two
 * multisets are equal exactly when their difference is all zeroes (up to hash
 * collisions). out may alias a or b. Does nothing when out, a or b is NULL.
 */
BF_API void bf_fingerprint_sub(bf_fingerprint *out, const bf_fingerprint *a,
                               const bf_fingerprint *b);

/* 1 if the two fingerprints are equal, else 0 (also when a or b is NULL). */
BF_API int bf_fingerprint_equal(const bf_fingerprint *a, const bf_fingerprint *b);

/*
 * Write the text form "rows:hex32" (decimal row count, colon, the sum as 32
 * lowercase hex digits, most significant first) into out, which holds `size`
 * bytes; BF_FINGERPRINT_TEXT_SIZE is always enough. Fails with BF_E_INVALID
 * when the buffer is too small (out then holds "").
 */
BF_API int bf_fingerprint_format(char *out, size_t size, const bf_fingerprint *fp);

/*
 * Parse the text form. Accepts exactly what bf_fingerprint_format writes
 * (hex digits in either case); anything else fails with BF_E_PARSE and
 * leaves *out unchanged.
 */
BF_API int bf_fingerprint_parse(bf_fingerprint *out, const char *text);

#ifdef __cplusplus
}
#endif

#endif
