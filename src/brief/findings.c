/* The findings list that preflight fills: blocking findings first, each group in rule order. */
#include <string.h>

#include "brief/findings.h"

struct finding {
    const char *code; /* static */
    bf_severity severity;
    char *path;
    char *message;
};

struct bf_findings {
    struct finding *items;
    size_t count, cap, blocking;
};

int bf__findings_new(bf_findings **out)
{
    *out = bf__calloc(1, sizeof **out);
    return *out ? BF_OK : bf__nomem();
}

int bf__findings_add(bf_findings *f, const char *code, bf_severity severity, const char *path,
                     const char *fmt, ...)
{
    struct finding item = {code, severity, NULL, NULL};
    size_t at;
    va_list ap;
    int rc;

    rc = bf__grow((void **)&f->items, &f->cap, f->count + 1, sizeof *f->items);
    if (rc != BF_OK)
        return rc;
    item.path = bf__strdup(path);
    va_start(ap, fmt);
    item.message = bf__vasprintf(fmt, ap);
    va_end(ap);
    if (!item.path || !item.message) {
        bf__free(item.path);
        bf__free(item.message);
        return bf__nomem();
    }
    /* Blocking findings go after the last blocking one, so they all come first. */
    at = severity == BF_SEVERITY_BLOCK ? f->blocking++ : f->count;
    memmove(&f->items[at + 1], &f->items[at], (f->count - at) * sizeof *f->items);
    f->items[at] = item;
    f->count++;
    return BF_OK;
}

void bf_findings_free(bf_findings *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++) {
        bf__free(f->items[i].path);
        bf__free(f->items[i].message);
    }
    bf__free(f->items);
    bf__free(f);
}

size_t bf_findings_count(const bf_findings *f)
{
    return f ? f->count : 0;
}

size_t bf_findings_blocking(const bf_findings *f)
{
    return f ? f->blocking : 0;
}

const char *bf_findings_code(const bf_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].code : NULL;
}

const char *bf_findings_path(const bf_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].path : NULL;
}

const char *bf_findings_message(const bf_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].message : NULL;
}

bf_severity bf_findings_severity(const bf_findings *f, size_t index)
{
    return f && index < f->count ? f->items[index].severity : (bf_severity)0;
}
