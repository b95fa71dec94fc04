#include <stdio.h>
#include <string.h>

#include "backfill/sys/errors.h"
#include "common/internal.h"

/* The calling thread's last failure: fixed storage, so reporting never allocates. */
static _Thread_local int last_code;
static _Thread_local char last_msg[BF_ERRMSG_MAX];

static const struct {
    int code;
    const char *name;
    const char *desc;
} codes[] = {
    {BF_OK, "BF_OK", "success"},
    {BF_E_INVALID, "BF_E_INVALID", "bad argument or value"},
    {BF_E_PARSE, "BF_E_PARSE", "unreadable input"},
    {BF_E_NOMEM, "BF_E_NOMEM", "out of memory"},
    {BF_E_IO, "BF_E_IO", "input/output error"},
    {BF_E_NOT_FOUND, "BF_E_NOT_FOUND", "not found"},
    {BF_E_CONFLICT, "BF_E_CONFLICT", "conflicts with what exists or is recorded"},
    {BF_E_STATE, "BF_E_STATE", "illegal state transition"},
    {BF_E_LEASE_LOST, "BF_E_LEASE_LOST", "lease lost to a newer fencing token"},
    {BF_E_BLOCKED, "BF_E_BLOCKED", "blocked by preflight or approval"},
    {BF_E_VALIDATION, "BF_E_VALIDATION", "validation failed"},
    {BF_E_BUSY, "BF_E_BUSY", "resource busy"},
    {BF_E_DRIVER, "BF_E_DRIVER", "warehouse driver failed"},
    {BF_E_UNSUPPORTED, "BF_E_UNSUPPORTED", "operation not supported"},
    {BF_E_USER, "BF_E_USER", "host callback failed"},
    {BF_E_ABI, "BF_E_ABI", "version mismatch"},
    {BF_E_INTERNAL, "BF_E_INTERNAL", "internal error"},
};

const char *bf_errstr(int code)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(codes); i++)
        if (codes[i].code == code)
            return codes[i].name;
    return "BF_E_UNKNOWN";
}

const char *bf_errdesc(int code)
{
    for (size_t i = 0; i < BF_ARRAY_LEN(codes); i++)
        if (codes[i].code == code)
            return codes[i].desc;
    return "unknown status code";
}

const char *bf_last_error(void)
{
    return last_msg;
}

int bf_last_error_code(void)
{
    return last_code;
}

void bf_clear_error(void)
{
    last_code = BF_OK;
    last_msg[0] = '\0';
}

/*
 * The message is formatted aside and then copied: callers wrap the message
 * before theirs ("check %s: %s", name, bf_last_error()), and formatting
 * straight into last_msg would read what it is overwriting.
 */
int bf__verror(int code, const char *fmt, va_list ap)
{
    char msg[BF_ERRMSG_MAX];

    bf__vsnprintf(msg, sizeof msg, fmt, ap);
    memcpy(last_msg, msg, strlen(msg) + 1);
    last_code = code;
    return code;
}

int bf__error(int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bf__verror(code, fmt, ap);
    va_end(ap);
    return code;
}

int bf__nomem(void)
{
    return bf__error(BF_E_NOMEM, "out of memory");
}

int bf__herror(bf__errbuf *h, int code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    bf__verror(code, fmt, ap);
    va_end(ap);
    return bf__herror_from_thread(h);
}

int bf__herror_from_thread(bf__errbuf *h)
{
    if (h) {
        h->code = last_code;
        memcpy(h->msg, last_msg, sizeof h->msg);
    }
    return last_code;
}

int bf_error_setv(int code, const char *fmt, va_list ap)
{
    if (code >= BF_OK)
        code = BF_E_INVALID; /* a success has no message: recording one would be a bug */
    if (!fmt) {
        last_code = code;
        bf__snprintf(last_msg, sizeof last_msg, "%s", bf_errdesc(code));
        return code;
    }
    return bf__verror(code, fmt, ap);
}

int bf_error_set(int code, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = bf_error_setv(code, fmt, ap);
    va_end(ap);
    return rc;
}
