/*
 * libbackfill common definitions: export macro, status codes, error messages,
 * memory ownership and allocator hooks, library version.
 *
 * Error model. Every function that can fail returns an int: BF_OK (0) or one
 * of the negative BF_E_* codes below. Code values never change once released.
 * When a call fails, a one-line message naming the thing at fault is kept for
 * the calling thread and can be read with bf_last_error(). Long-lived handles
 * (ledger, driver, run) also keep the message of their own last failure, so
 * a caller that moves between threads between calls still finds it.
 *
 * Ownership. Anything returned through an `out` pointer belongs to the caller
 * and is released with the module's own *_free() or, for plain memory such as
 * strings, with bf_free(). Strings returned directly by accessors belong to
 * the handle and stay valid until the handle changes or is freed. Each
 * function's comment says which applies.
 */
#ifndef BACKFILL_COMMON_H
#define BACKFILL_COMMON_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__) && __GNUC__ >= 4
#define BF_API __attribute__((visibility("default")))
#else
#define BF_API
#endif

/* Status codes. */
enum {
    BF_OK = 0,
    BF_E_INVALID = -1,      /* a bad argument or value */
    BF_E_PARSE = -2,        /* unreadable input (JSON syntax, a corrupt file) */
    BF_E_NOMEM = -3,        /* an allocation failed */
    BF_E_IO = -4,           /* a file or the operating system failed */
    BF_E_NOT_FOUND = -5,    /* no such run, batch, table, file or name */
    BF_E_CONFLICT = -6,     /* exists already, or differs from what is recorded */
    BF_E_STATE = -7,        /* the transition is not legal from the current state */
    BF_E_LEASE_LOST = -8,   /* the lease expired or a newer fencing token exists */
    BF_E_BLOCKED = -9,      /* preflight or approval refuses */
    BF_E_VALIDATION = -10,  /* a validation check failed */
    BF_E_BUSY = -11,        /* the resource is locked; try again */
    BF_E_DRIVER = -12,      /* the warehouse driver failed */
    BF_E_UNSUPPORTED = -13, /* the driver or store does not provide the operation */
    BF_E_USER = -14,        /* a host callback failed; passed through untouched */
    BF_E_ABI = -15,         /* a struct or vtable version this library does not know */
    BF_E_INTERNAL = -16     /* a broken internal invariant: a bug in libbackfill */
};

/*
 * The symbolic name of a status code ("BF_E_PARSE"), or "BF_E_UNKNOWN" for a
 * value that is not a status code. The string is static.
 */
BF_API const char *bf_errstr(int code);

/*
 * A short English description of a status code ("unreadable input"). The
 * string is static.
 */
BF_API const char *bf_errdesc(int code);

/*
 * The message of the last failure on the calling thread, or "" if no call on
 * this thread has failed yet. Successful calls do not clear it, so read it
 * right after a call returned an error. The string is owned by the library
 * and valid until the next failing call on the same thread.
 */
BF_API const char *bf_last_error(void);

/*
 * The status code of the last failure on the calling thread, or BF_OK if no
 * call on this thread has failed yet.
 */
BF_API int bf_last_error_code(void);

/* Forget the calling thread's last failure. */
BF_API void bf_clear_error(void);

/*
 * Release memory that the library returned through an out parameter and
 * documented as "free with bf_free()". Accepts NULL.
 */
BF_API void bf_free(void *ptr);

/*
 * Route the memory libbackfill allocates itself through these functions:
 * every handle (brief, plan, planner, ledger, run, lease, driver, rows,
 * profile, findings, lineage, zone), every string and buffer it hands out
 * (which the caller frees with bf_free() or the module's *_free()), and its
 * internal buffers. They must behave like the C library's malloc, realloc
 * and free: memory aligned for any type, realloc(NULL, n) allocates, a
 * failed realloc leaves the block as it was. The library never asks for
 * zero bytes. When handles are used from several threads, the functions
 * must be thread-safe. Pass three NULLs to restore the C library's
 * functions.
 *
 * Not routed: the memory of the libraries libbackfill uses. Jansson's
 * (the JSON trees a brief or plan is kept in, parsing and dumping) and
 * SQLite's (the ledger's and the SQLite driver's connections, their page
 * caches and statements) keep going to their own allocators, which are
 * process-wide settings those libraries own; so does the C library's own
 * (stdio when a brief is read from or written to a file). In a run of a
 * brief, a plan, the ledger and the SQLite driver, SQLite accounts for
 * nearly all the bytes and the hooks see about 1% of them. A host that
 * wants those too routes them itself, for the whole process, before any
 * other use of those libraries: json_set_alloc_funcs() for Jansson,
 * sqlite3_config(SQLITE_CONFIG_MALLOC) for SQLite. libbackfill never
 * changes either setting. Memory the library hands out never comes from
 * Jansson or SQLite: it is always from these functions. docs/allocation.md
 * has the details and how the share was measured.
 *
 * Call it before any other libbackfill function that allocates: once the
 * library has allocated anything, a different allocator would be asked to
 * free memory it never handed out, so the call then fails with BF_E_STATE.
 * Passing only some of the three functions fails with BF_E_INVALID.
 * This is the only process-wide setting of the library; it is not
 * thread-safe with respect to concurrent library calls.
 */
BF_API int bf_set_allocator(void *(*malloc_fn)(size_t size),
                            void *(*realloc_fn)(void *ptr, size_t size),
                            void (*free_fn)(void *ptr));

/*
 * The version of the library that is linked at run time, as a
 * BF_VERSION_NUMBER (compare with the macro of the same name in
 * <backfill/version.h> to detect a header/library mismatch).
 */
BF_API unsigned bf_version(void);

/* The linked library's version as text, e.g. "0.1.0". The string is static. */
BF_API const char *bf_version_string(void);

#ifdef __cplusplus
}
#endif

#endif
