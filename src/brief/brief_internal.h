/*
 * Internals of the brief module, shared by its files and the lineage module.
 *
 * A brief is kept as its JSON document: the schema (schema.c) guarantees
 * that the document always has the shape of docs/brief.md, so accessors
 * read it directly and saving is lossless by construction. Every change goes
 * through bf__brief_modify(), which edits a copy of one top-level section,
 * validates the copy and only then swaps it in.
 */
#ifndef BF_BRIEF_INTERNAL_H
#define BF_BRIEF_INTERNAL_H

#include <jansson.h>
#include <stdint.h>

#include "backfill/brief.h"
#include "common/internal.h"
#include "common/json.h"

struct bf_brief {
    json_t *doc; /* a JSON object that passed bf__schema_validate */
};

/* A JSON path being built while walking a document: "$.batching.every". */
typedef struct bf__jpath {
    char buf[400];
    size_t len;
} bf__jpath;

void bf__jpath_init(bf__jpath *p);
/* Append ".key" or "[index]"; both return the length to restore with bf__jpath_pop. */
size_t bf__jpath_key(bf__jpath *p, const char *key);
size_t bf__jpath_index(bf__jpath *p, size_t index);
void bf__jpath_pop(bf__jpath *p, size_t len);

/* Describe a JSON value for a message: "\"7\"", "0", "an object" (into buf). */
void bf__json_describe(const json_t *v, char *buf, size_t size);

typedef struct bf__snode bf__snode;

/* The schema node of a dotted path ("batching.every"), or NULL if the format has no such field. */
const bf__snode *bf__schema_find(const char *dotted);
/* Whether a node is a JSON array (for bf_brief_unset and adders). */
int bf__schema_is_array(const bf__snode *node);
/*
 * Validate `value` against the node of `dotted` (a whole section or field),
 * naming `$.<dotted>` in messages. BF_E_INVALID on the first problem.
 */
int bf__schema_validate_at(const char *dotted, const json_t *value);
/* Validate a whole document. */
int bf__schema_validate_doc(const json_t *doc);
/* Validate one validation check, named `$.validation[index]`. */
int bf__schema_validate_check(const json_t *check, size_t index);

/* An enumeration's JSON names, indexed by value; names[0] is NULL when 0 means "not given". */
typedef struct bf__enum {
    int count;
    const char *const *names; /* count entries; NULL for values without a name */
} bf__enum;

extern const bf__enum bf__risk_enum, bf__time_format_enum, bf__scope_kind_enum,
    bf__batch_by_enum, bf__grain_enum, bf__batch_order_enum, bf__write_strategy_enum,
    bf__asset_kind_enum, bf__check_kind_enum, bf__check_severity_enum, bf__check_per_enum;
/* The value of `name`, or -1 if the enumeration has no such name. */
int bf__enum_value(const bf__enum *e, const char *name);
/* The name of `value`, or NULL (out of range, or the unset 0). */
const char *bf__enum_name(const bf__enum *e, int value);

/* The value at a dotted path in `base` ("batching.every"), or NULL. */
json_t *bf__json_at(const json_t *base, const char *dotted);
const char *bf__brief_str(const bf_brief *brief, const char *dotted);
int bf__brief_int(int64_t *out, const bf_brief *brief, const char *dotted);
int bf__brief_enum(const bf_brief *brief, const char *dotted, const bf__enum *e);

/*
 * Change one top-level section: `edit` receives a deep copy of the section
 * (an empty object or array when absent, per the schema) in *section and may
 * replace it; the result is validated, then swapped in. Strings previously
 * returned from that section become invalid.
 */
typedef int (*bf__brief_edit)(json_t **section, void *ctx);
int bf__brief_modify(bf_brief *brief, const char *section, bf__brief_edit edit, void *ctx);
/* Set (value stolen) or, with value NULL, remove the field at a dotted path. */
int bf__brief_set(bf_brief *brief, const char *dotted, json_t *value);
/* Append `value` (stolen) to the array at a dotted path, creating it. */
int bf__brief_append(bf_brief *brief, const char *dotted, json_t *value);
/* Count and read string lists at a dotted path. */
size_t bf__brief_list_count(const bf_brief *brief, const char *dotted);
const char *bf__brief_list_item(const bf_brief *brief, const char *dotted, size_t index);

/*
 * A JSON string for text given by a host: BF_E_INVALID (naming $.<dotted>)
 * if the text is not UTF-8, BF_E_NOMEM if Jansson cannot allocate.
 */
int bf__json_text(json_t **out, const char *text, const char *dotted);


/*
 * Whether two names of people are the same person: equal ignoring case
 * (Unicode simple folding) and surrounding white space. What the preflight,
 * approval and the change note's definition of done all compare by.
 */
int bf__same_person(const char *a, const char *b);

#endif
