#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"

static void *(*hook_malloc)(size_t) = malloc;
static void *(*hook_realloc)(void *, size_t) = realloc;
static void (*hook_free)(void *) = free;
/* Set by the first allocation; after it the hooks can no longer change. */
static atomic_bool allocated;

/*
 * Record that the library has allocated. Written once: later allocations
 * only read the flag (a relaxed load of a line every core keeps shared),
 * where a store on every allocation would bounce the cache line between
 * cores. Relaxed order is enough, the flag guards no other data.
 */
static inline void note_allocation(void)
{
    if (!atomic_load_explicit(&allocated, memory_order_relaxed))
        atomic_store_explicit(&allocated, true, memory_order_relaxed);
}

int bf_set_allocator(void *(*malloc_fn)(size_t), void *(*realloc_fn)(void *, size_t),
                     void (*free_fn)(void *))
{
    int given = (malloc_fn != NULL) + (realloc_fn != NULL) + (free_fn != NULL);

    if (given != 0 && given != 3)
        return bf__error(BF_E_INVALID,
                         "bf_set_allocator: give all three of malloc, realloc and free, or none");
    if (atomic_load_explicit(&allocated, memory_order_relaxed))
        return bf__error(BF_E_STATE,
                         "bf_set_allocator: the library has already allocated memory; "
                         "set the allocator before any other call");
    hook_malloc = malloc_fn ? malloc_fn : malloc;
    hook_realloc = realloc_fn ? realloc_fn : realloc;
    hook_free = free_fn ? free_fn : free;
    return BF_OK;
}

void *bf__malloc(size_t size)
{
    note_allocation();
    return hook_malloc(size ? size : 1);
}

void *bf__calloc(size_t count, size_t size)
{
    void *p;

    if (size != 0 && count > SIZE_MAX / size)
        return NULL;
    p = bf__malloc(count * size);
    if (p)
        memset(p, 0, count * size);
    return p;
}

void *bf__realloc(void *ptr, size_t size)
{
    note_allocation();
    return hook_realloc(ptr, size ? size : 1);
}

void bf__free(void *ptr)
{
    if (ptr)
        hook_free(ptr);
}

void bf_free(void *ptr)
{
    bf__free(ptr);
}

char *bf__strndup(const char *s, size_t len)
{
    char *copy;

    if (!s)
        return NULL;
    copy = bf__malloc(len + 1);
    if (!copy)
        return NULL;
    memcpy(copy, s, len);
    copy[len] = '\0';
    return copy;
}

char *bf__strdup(const char *s)
{
    return s ? bf__strndup(s, strlen(s)) : NULL;
}

char *bf__vasprintf(const char *fmt, va_list ap)
{
    va_list again;
    int n;
    char *out;

    locale_t previous = bf__c_locale_enter(); /* both passes in the "C" locale, one switch */

    va_copy(again, ap);
    n = vsnprintf(NULL, 0, fmt, again);
    va_end(again);
    out = n < 0 ? NULL : bf__malloc((size_t)n + 1);
    if (out)
        vsnprintf(out, (size_t)n + 1, fmt, ap);
    bf__c_locale_leave(previous);
    return out;
}

char *bf__asprintf(const char *fmt, ...)
{
    va_list ap;
    char *out;

    va_start(ap, fmt);
    out = bf__vasprintf(fmt, ap);
    va_end(ap);
    return out;
}

int bf__grow(void **array, size_t *capacity, size_t need, size_t elem_size)
{
    size_t cap = *capacity;
    void *grown;

    if (need <= cap)
        return BF_OK;
    if (cap < 8)
        cap = 8;
    while (cap < need) {
        if (cap > SIZE_MAX / 2)
            return bf__nomem();
        cap *= 2;
    }
    if (cap > SIZE_MAX / elem_size)
        return bf__nomem();
    grown = bf__realloc(*array, cap * elem_size);
    if (!grown)
        return bf__nomem();
    *array = grown;
    *capacity = cap;
    return BF_OK;
}
