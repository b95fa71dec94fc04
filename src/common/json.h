/* Jansson helpers shared by the modules that read and write JSON. Not installed. */
#ifndef BF_COMMON_JSON_H
#define BF_COMMON_JSON_H

#include <jansson.h>

/*
 * Dump `value` as text into memory from the library's allocator, so the
 * caller frees it with bf_free() (json_dumps() would use Jansson's
 * allocator, which a host may have replaced). BF_E_NOMEM on failure.
 */
int bf__json_dump(char **out, const json_t *value, size_t flags);

/*
 * json_loadb()/json_loads() in the "C" locale, so reals read the same
 * whatever LC_NUMERIC the host set (Jansson converts through strtod, whose
 * decimal separator some versions take from the locale). Use these, never
 * Jansson's loaders directly.
 */
json_t *bf__json_loadb(const char *text, size_t len, size_t flags, json_error_t *error);
json_t *bf__json_loads(const char *text, size_t flags, json_error_t *error);

#endif
