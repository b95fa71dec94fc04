/*
 * For people who write plug-ins: stores, drivers, validators, schedulers.
 * A member of a host's vtable or a host callback reports a failure the way
 * the library's own code does: it sets the calling thread's error (code and
 * message) and returns the code. The library's dispatchers keep a message
 * set this way and add their own only when a member returns a code without
 * one:
 *
 *     if (!row)
 *         return bf_error_set(BF_E_NOT_FOUND, "ledger %s: no run %lld", name, (long long)id);
 *
 * BF_E_USER set this way reaches the caller untouched, message included.
 */
#ifndef BACKFILL_SYS_ERRORS_H
#define BACKFILL_SYS_ERRORS_H

#include <stdarg.h>

#include "backfill/common.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define BF_FORMAT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define BF_FORMAT_PRINTF(fmt, args)
#endif

/*
 * Set the calling thread's last error, as bf_last_error() and
 * bf_last_error_code() then read it: `code` (a BF_E_* code; BF_OK or a
 * positive value records BF_E_INVALID, since no success has a message) and
 * a printf-style message, formatted in the "C" locale and cut at 1023
 * bytes. A NULL fmt records the code's bf_errdesc(). Returns the code
 * recorded, so a member can `return bf_error_set(...)`. Never allocates.
 */
BF_API int bf_error_set(int code, const char *fmt, ...) BF_FORMAT_PRINTF(2, 3);

/* bf_error_set() with a va_list, for bindings and wrappers. */
BF_API int bf_error_setv(int code, const char *fmt, va_list ap);

#ifdef __cplusplus
}
#endif

#endif
