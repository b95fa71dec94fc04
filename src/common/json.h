/* Jansson helpers shared by the modules that read and write JSON. Not installed. */
#ifndef BF_COMMON_JSON_H
#define BF_COMMON_JSON_H

#include <jansson.h>
#include <stdint.h>

/*
 * Dump `value` as text into memory from the library's allocator, so the
 * caller frees it with bf_free() (json_dumps() would use Jansson's
 * allocator, which a host may have replaced). BF_E_NOMEM on failure.
 * The text is Jansson's for the flags JSON_COMPACT and JSON_INDENT(n)
 * (members in the order they were set; other flags are ignored), except
 * for reals: each in the shortest form that reads back to the same double
 * (bf__real_text), where Jansson writes 17 digits (0.10000000000000001).
 * Every JSON text of the library is written by this or the bf__jw_*
 * writer below, so all of them follow the one rule.
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

/*
 * Writing JSON straight into a bf__sb (common/internal.h), for text made
 * often, such as the runner's events: the same text bf__json_dump() gives
 * with JSON_COMPACT for the same values in the same order, without
 * building json_t values first. Strings are escaped as Jansson escapes
 * them; a byte that does not begin a valid UTF-8 sequence is written as
 * U+FFFD (where Jansson refuses the whole string). A real is written in
 * its shortest form that reads back to the same double (bf__real_text: a
 * '.' or an exponent, no '+' or leading zeros in the exponent, the same in
 * every locale); NaN and the infinities, which JSON cannot hold, as null.
 * A failed append marks the buffer, as every append does.
 */
struct bf__sb;

void bf__jw_str(struct bf__sb *sb, const char *s); /* NULL: null */
void bf__jw_int(struct bf__sb *sb, int64_t v);
void bf__jw_real(struct bf__sb *sb, double v);
/* `,"key":` (no comma for the first member: *count 0), then count one more. */
void bf__jw_member(struct bf__sb *sb, int *count, const char *key);

#endif
