/*
 * The one rule for versioned structs and vtables (versioned.c). Every host
 * struct and vtable starts with `unsigned version` and only grows at the
 * end; each has a table of its size as of every version, so that this
 * library never reads or writes past the end of a struct a host compiled
 * against older headers:
 *
 *     static const size_t opts_sizes[] = {0, BF__SIZE_TO(bf_x, last_v1_member),
 *                                         sizeof(bf_x)};
 *     static const bf__struct_desc opts_desc = {"ledger options", BF_X_VERSION,
 *                                               opts_sizes, &defaults};
 *
 * sizes[0] is unused, sizes[k] is the bytes version k defines (up to the end
 * of its last member), and sizes[BF_X_VERSION] is sizeof the struct. Every
 * bf_x_init(ptr, version) is bf__struct_init(); every check of a struct
 * passed in is bf__struct_read() (or bf__struct_version()); every vtable is
 * taken in with bf__vtable_check(), which copies it. Versions 1 to the
 * latest are accepted; 0 and a version from the future fail with BF_E_ABI.
 */
#ifndef BF_COMMON_VERSIONED_H
#define BF_COMMON_VERSIONED_H

#include <stddef.h>

/* The bytes of `type` up to the end of `member`: the size of the version that ends with it. */
#define BF__SIZE_TO(type, member) (offsetof(type, member) + sizeof(((type *)0)->member))

typedef struct bf__struct_desc {
    const char *what;     /* names the struct in messages: "ledger options" */
    unsigned latest;      /* the BF_X_VERSION of this library */
    const size_t *sizes;  /* latest + 1 entries; sizes[0] unused */
    const void *defaults; /* a whole struct of the latest version with its defaults, or NULL: zeros */
} bf__struct_desc;

/*
 * bf_x_init(ptr, version): BF_E_INVALID for NULL, BF_E_ABI outside
 * 1..latest; else writes exactly the first sizes[version] bytes (the
 * defaults, or zeros) and sets the version.
 */
int bf__struct_init(void *ptr, unsigned version, const bf__struct_desc *d);

/* *out = the version of the struct at ptr; BF_E_ABI (naming `op`) outside 1..latest. */
int bf__struct_version(unsigned *out, const void *ptr, const bf__struct_desc *d, const char *op);

/*
 * Take in a struct a host passed: check its version, then fill `dst`, a
 * whole struct of the latest version, with the defaults and over them the
 * first sizes[version] bytes of `src`. dst->version keeps the host's.
 */
int bf__struct_read(void *dst, const void *src, const bf__struct_desc *d, const char *op);

/*
 * Give back a struct the library filled: copy `src` (a whole struct of the
 * latest version) into the host's `dst` up to the host's sizes[version],
 * keeping dst's version. dst's version must have been checked.
 */
void bf__struct_write(void *dst, const void *src, const bf__struct_desc *d);

/*
 * Take in a vtable: check its version and copy its first sizes[version]
 * bytes into `dst` (the library's own copy, of the latest version), the
 * members of later versions NULL. Vtables are always copied: the host's
 * may be a stack variable, released once the call returns.
 */
int bf__vtable_check(void *dst, const void *src, const bf__struct_desc *d, const char *op);

#endif
