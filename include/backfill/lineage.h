/*
 * Lineage: the graph of what a backfill touches, built from the brief's
 * target table, its sources and its downstream assets, and what follows
 * from it: the blast radius (direct, indirect and human dependents) and the
 * order in which downstream assets are refreshed after cutover.
 *
 * The lineage copies what it needs from the brief; it stays valid after the
 * brief changes or is freed. Strings it returns belong to it and live until
 * bf_lineage_free().
 */
#ifndef BACKFILL_LINEAGE_H
#define BACKFILL_LINEAGE_H

#include <stddef.h>

#include "backfill/common.h"
#include "backfill/types.h"

#ifdef __cplusplus
extern "C" {
#endif

/* bf_lineage and bf_brief are declared in <backfill/types.h>. */

/*
 * Build the lineage of a brief (a function of the brief module: the lineage
 * itself is built from a graph of names and knows nothing of briefs). Every `depends_on` name must be the target
 * table, a source or another downstream asset, and names must be unique;
 * otherwise BF_E_INVALID with a message naming the asset and the name
 * ("$.downstream[1].depends_on: \"Revenue dashboard\" depends on \"mart\",
 * which is not ..."). A cycle is BF_E_INVALID naming it, each arrow reading
 * "depends on" ("depends_on forms a cycle: a -> b -> a"). The caller owns
 * *out and frees it with bf_lineage_free().
 */
BF_API int bf_lineage_new(bf_lineage **out, const bf_brief *brief);

/* Free a lineage. Accepts NULL. */
BF_API void bf_lineage_free(bf_lineage *lineage);

/* Downstream assets that depend on the target table itself, in brief order. */
BF_API size_t bf_lineage_direct_count(const bf_lineage *lineage);
BF_API const char *bf_lineage_direct(const bf_lineage *lineage, size_t index);

/* Assets that depend on the target only through other assets, in brief order. */
BF_API size_t bf_lineage_indirect_count(const bf_lineage *lineage);
BF_API const char *bf_lineage_indirect(const bf_lineage *lineage, size_t index);

/*
 * The people to tell, each once: for every affected asset in dependency
 * order, the asset itself if it is a `stakeholder` and its owner; then
 * `communication.stakeholders`.
 * bf_lineage_human_reason() says why ("owner of mart_monthly_revenue",
 * "stakeholder depending on Revenue dashboard", "listed in
 * communication.stakeholders"; several reasons are joined by "; ").
 */
BF_API size_t bf_lineage_human_count(const bf_lineage *lineage);
BF_API const char *bf_lineage_human(const bf_lineage *lineage, size_t index);
BF_API const char *bf_lineage_human_reason(const bf_lineage *lineage, size_t index);

/*
 * Affected assets to refresh after cutover, in dependency order (an asset
 * after everything it depends on; ties in brief order): those with
 * `refresh_sql` and those of kind table, view or model.
 */
BF_API size_t bf_lineage_refresh_count(const bf_lineage *lineage);
BF_API const char *bf_lineage_refresh(const bf_lineage *lineage, size_t index);

#ifdef __cplusplus
}
#endif

#endif
