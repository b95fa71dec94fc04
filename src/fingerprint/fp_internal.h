/*
 * The row encoder behind fingerprints, shared by the public functions, the
 * SQL layer's row-by-row fallback and the SQLite aggregate.
 */
#ifndef BF_FP_INTERNAL_H
#define BF_FP_INTERNAL_H

#include <stdint.h>

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
