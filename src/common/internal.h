/*
 * Internal helpers shared by every module: allocation through the host's
 * hooks, error reporting, small string utilities. Not installed.
 */
#ifndef BF_INTERNAL_H
#define BF_INTERNAL_H

#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "backfill/common.h"

#if defined(__GNUC__)
#define BF_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define BF_PRINTF(fmt, args)
#endif

#define BF_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Allocation: every byte the library owns comes from these. */
void *bf__malloc(size_t size);
void *bf__calloc(size_t count, size_t size); /* zeroed; NULL on overflow */
void *bf__realloc(void *ptr, size_t size);
void bf__free(void *ptr);
char *bf__strdup(const char *s);               /* NULL in, NULL out */
char *bf__strndup(const char *s, size_t len);
char *bf__asprintf(const char *fmt, ...) BF_PRINTF(1, 2);
char *bf__vasprintf(const char *fmt, va_list ap);

/*
 * Locale independence (locale.c). The library's output never depends on the
 * host's locale: every printf-family call of the library goes through
 * bf__snprintf/bf__vsnprintf, bf__asprintf, bf__sb_appendf or bf__error,
 * which format in the "C" locale (a decimal point, never a comma). Code
 * that calls a C library function whose result depends on LC_NUMERIC or
 * LC_CTYPE (Jansson's dumping and loading of reals, strtod) brackets it with
 * bf__c_locale_enter()/bf__c_locale_leave(), which switch only the calling
 * thread. For character classes use the bf__ascii_* helpers below, never
 * <ctype.h>.
 */
int bf__snprintf(char *buf, size_t size, const char *fmt, ...) BF_PRINTF(3, 4);
int bf__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
/* Returns the thread's previous locale, to hand to bf__c_locale_leave(). */
locale_t bf__c_locale_enter(void);
void bf__c_locale_leave(locale_t previous);

/*
 * A real as the shortest text that reads back to the same double (real.c):
 * 0.1, 4.0 and 1e-7, never 0.10000000000000001; plain decimals from 0.0001
 * up to 10^15 (60.0, not 6e1) and an exponent beyond (1e20, 1.5e-7,
 * without '+' or leading zeros); always a '.' or an exponent, so that it
 * reads back as a real; "null" for NaN and the infinities. The same rule
 * whatever the locale. Returns the length written (without the NUL).
 */
#define BF__REAL_TEXT_SIZE 32
size_t bf__real_text(char out[BF__REAL_TEXT_SIZE], double v);

/* CLOCK_MONOTONIC in microseconds. */
int64_t bf__mono_us(void);

/*
 * A wait for another connection's SQLite lock: sqlite3_busy_handler(db,
 * bf__busy_wait, &busy) with busy.timeout_ms set. Sleeps 50 us, doubling up
 * to 2 ms a step, and gives up (SQLITE_BUSY) timeout_ms after the wait
 * began. Not SQLite's own busy timeout, whose steps grow to 100 ms.
 */
typedef struct bf__busy {
    int timeout_ms;
    int64_t since_us; /* when the current wait began (bf__mono_us) */
} bf__busy;

int bf__busy_wait(void *busy, int count);

/*
 * A test slice's own run is named after its brief with this suffix: the
 * runner names it so, and every reader of runs (approval, rollback,
 * validate, the change note) tells it apart by bf__slice_run_name().
 */
#define BF__SLICE_RUN_SUFFIX "@test-slice"
int bf__slice_run_name(const char *brief_name);

static inline int bf__ascii_isdigit(int c)
{
    return c >= '0' && c <= '9';
}
static inline int bf__ascii_isalpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}
static inline int bf__ascii_isspace(int c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}
static inline int bf__ascii_tolower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/*
 * The environment (env.c). The library never calls getenv() anywhere else:
 * each variable is read once, at its first use, and the copy is used from
 * then on, so a host thread's setenv() can neither crash a library call nor
 * change its behaviour. docs/environment.md lists every variable.
 */
typedef enum bf__env_var {
    BF__ENV_TZDIR, /* the tz database directory; read at the first zone load */
    BF__ENV_USER,  /* the default ledger actor; read at the first ledger open without one */
    BF__ENV_COUNT
} bf__env_var;

/*
 * The variable's value as read at first use, or NULL when it was unset or
 * empty, or longer than the library keeps (then *too_long, if given, is 1).
 */
const char *bf__env(bf__env_var var, int *too_long);
const char *bf__env_name(bf__env_var var);

/*
 * Grow *array (of *capacity elements of elem_size bytes) so that it holds at
 * least `need` elements. Doubles; fails on overflow or allocation failure.
 */
int bf__grow(void **array, size_t *capacity, size_t need, size_t elem_size);

/*
 * Record a failure for the calling thread and return `code`, so a failure
 * path reads `return bf__error(BF_E_INVALID, "brief %s: ...", name);`.
 */
int bf__error(int code, const char *fmt, ...) BF_PRINTF(2, 3);
int bf__verror(int code, const char *fmt, va_list ap);
/* The common case: an allocation failed. Never allocates. */
int bf__nomem(void);

/*
 * A long-lived handle's own copy of its last failure message. Embed one in
 * the handle; bf__herror() records the failure both for the thread and for
 * the handle.
 */
#define BF_ERRMSG_MAX 1024
typedef struct bf__errbuf {
    int code;
    char msg[BF_ERRMSG_MAX];
} bf__errbuf;

int bf__herror(bf__errbuf *h, int code, const char *fmt, ...) BF_PRINTF(3, 4);
/* Copy the calling thread's last failure into the handle; returns its code. */
int bf__herror_from_thread(bf__errbuf *h);

/*
 * A growable, always NUL-terminated string. A failed append marks the buffer
 * failed; later appends are no-ops and bf__sb_finish() reports BF_E_NOMEM,
 * so callers may check once at the end.
 */
typedef struct bf__sb {
    char *buf;
    size_t len;
    size_t cap;
    int failed;
} bf__sb;

void bf__sb_init(bf__sb *sb);
void bf__sb_append(bf__sb *sb, const char *s);
void bf__sb_appendn(bf__sb *sb, const char *s, size_t n);
void bf__sb_appendf(bf__sb *sb, const char *fmt, ...) BF_PRINTF(2, 3);
void bf__sb_appendc(bf__sb *sb, char c);
/* Hands over the string (caller frees with bf__free) or fails with BF_E_NOMEM. */
int bf__sb_finish(bf__sb *sb, char **out);
void bf__sb_dispose(bf__sb *sb);

#endif
