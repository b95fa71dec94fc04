/* Idempotency findings: a small parallel of preflight's bf_findings. */
#include <jansson.h>
#include <stdarg.h>
#include <string.h>

#include "common/json.h"
#include "idempotency/idem_internal.h"

struct finding {
    const char *code; /* static */
    const char *path; /* static */
    bf_idem_severity severity;
    char *message;
};

struct bf_idem_findings {
    struct finding *items;
    size_t count, cap, blocking;
};

int bf__idem_findings_new(bf_idem_findings **out)
{
    *out = bf__calloc(1, sizeof **out);
    return *out ? BF_OK : bf__nomem();
}

int bf__idem_findings_add(bf_idem_findings *f, const char *code, bf_idem_severity severity,
                          const char *path, const char *fmt, ...)
{
    struct finding item = {code, path, severity, NULL};
    size_t at;
    va_list ap;
    int rc = bf__grow((void **)&f->items, &f->cap, f->count + 1, sizeof *f->items);

    if (rc != BF_OK)
        return rc;
    va_start(ap, fmt);
    item.message = bf__vasprintf(fmt, ap);
    va_end(ap);
    if (!item.message)
        return bf__nomem();
    at = severity == BF_IDEM_BLOCK ? f->blocking++ : f->count;
    memmove(&f->items[at + 1], &f->items[at], (f->count - at) * sizeof *f->items);
    f->items[at] = item;
    f->count++;
    return BF_OK;
}

void bf_idem_findings_free(bf_idem_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        bf__free(f->items[i].message);
    bf__free(f->items);
    bf__free(f);
}

size_t bf_idem_findings_count(const bf_idem_findings *f)
{
    return f ? f->count : 0;
}

size_t bf_idem_findings_blocking(const bf_idem_findings *f)
{
    return f ? f->blocking : 0;
}

const char *bf_idem_findings_code(const bf_idem_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].code : NULL;
}

const char *bf_idem_findings_path(const bf_idem_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].path : NULL;
}

const char *bf_idem_findings_message(const bf_idem_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].message : NULL;
}

bf_idem_severity bf_idem_findings_severity(const bf_idem_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].severity : (bf_idem_severity)0;
}

int bf_idem_findings_to_json(char **out, const bf_idem_findings *f)
{
    json_t *arr;
    int rc = BF_OK;

    if (!out || !f)
        return bf__error(BF_E_INVALID, "bf_idem_findings_to_json: out and findings are required");
    *out = NULL;
    arr = json_array();
    if (!arr)
        return bf__nomem();
    for (size_t i = 0; i < f->count && rc == BF_OK; i++) {
        const struct finding *it = &f->items[i];
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "code", it->code, "severity",
                              it->severity == BF_IDEM_BLOCK ? "block" : "warn", "path", it->path,
                              "message", it->message);

        if (!o || json_array_append_new(arr, o) != 0)
            rc = bf__nomem();
    }
    if (rc == BF_OK)
        rc = bf__json_dump(out, arr, JSON_COMPACT);
    json_decref(arr);
    return rc;
}
