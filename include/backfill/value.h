/*
 * A typed scalar value, as bound to SQL parameters and read from rows.
 * The type numbers are the type tags of the fingerprint encoding.
 */
#ifndef BACKFILL_VALUE_H
#define BACKFILL_VALUE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum bf_value_type {
    BF_VALUE_NULL = 0,
    BF_VALUE_INT = 1,
    BF_VALUE_REAL = 2,
    BF_VALUE_TEXT = 3,
    BF_VALUE_BLOB = 4
} bf_value_type;

/*
 * A value type: copy it freely. For TEXT and BLOB, `s` points at `len` bytes
 * (TEXT is also NUL-terminated) owned by whatever produced the value; the
 * function that returns one says how long the bytes stay valid.
 */
typedef struct bf_value {
    bf_value_type type;
    int64_t i;     /* BF_VALUE_INT */
    double r;      /* BF_VALUE_REAL */
    const char *s; /* BF_VALUE_TEXT, BF_VALUE_BLOB */
    size_t len;    /* bytes at s, without the terminating NUL */
} bf_value;

#ifdef __cplusplus
}
#endif

#endif
