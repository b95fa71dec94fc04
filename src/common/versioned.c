/* The one rule for versioned structs and vtables: see versioned.h. */
#include <string.h>

#include "common/internal.h"
#include "common/versioned.h"

static int known(unsigned version, const bf__struct_desc *d, const char *op)
{
    if (version == 0 || version > d->latest)
        return bf__error(BF_E_ABI, "%s: %s version %u is unknown (this library knows 1 to %u)",
                         op, d->what, version, d->latest);
    return BF_OK;
}

int bf__struct_init(void *ptr, unsigned version, const bf__struct_desc *d)
{
    char op[96];

    bf__snprintf(op, sizeof op, "initialising %s", d->what);
    if (!ptr)
        return bf__error(BF_E_INVALID, "%s: NULL pointer", op);
    if (known(version, d, op) != BF_OK)
        return BF_E_ABI;
    if (d->defaults)
        memcpy(ptr, d->defaults, d->sizes[version]);
    else
        memset(ptr, 0, d->sizes[version]);
    memcpy(ptr, &version, sizeof version);
    return BF_OK;
}

int bf__struct_version(unsigned *out, const void *ptr, const bf__struct_desc *d, const char *op)
{
    unsigned version;

    if (!ptr)
        return bf__error(BF_E_INVALID, "%s: NULL %s", op, d->what);
    memcpy(&version, ptr, sizeof version);
    if (known(version, d, op) != BF_OK)
        return BF_E_ABI;
    *out = version;
    return BF_OK;
}

int bf__struct_read(void *dst, const void *src, const bf__struct_desc *d, const char *op)
{
    unsigned version;
    int rc = bf__struct_version(&version, src, d, op);

    if (rc != BF_OK)
        return rc;
    if (d->defaults)
        memcpy(dst, d->defaults, d->sizes[d->latest]);
    else
        memset(dst, 0, d->sizes[d->latest]);
    memcpy(dst, src, d->sizes[version]);
    return BF_OK;
}

void bf__struct_write(void *dst, const void *src, const bf__struct_desc *d)
{
    unsigned version;

    memcpy(&version, dst, sizeof version);
    if (version == 0 || version > d->latest)
        return;
    memcpy((char *)dst + sizeof version, (const char *)src + sizeof version,
           d->sizes[version] - sizeof version);
}

int bf__vtable_check(void *dst, const void *src, const bf__struct_desc *d, const char *op)
{
    return bf__struct_read(dst, src, d, op);
}
