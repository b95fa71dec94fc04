/*
 * bf_lineage_new(): a brief's target table, sources, downstream assets and
 * stakeholders as the neutral graph the lineage module builds from. The
 * lineage module does not know briefs; this adapter is the only place that
 * knows both.
 */
#include "brief/brief_internal.h"
#include "lineage/lineage_internal.h"

/* Assets of these kinds are refreshed after cutover even without refresh_sql. */
static int refreshed_kind(bf_asset_kind kind)
{
    return kind == BF_ASSET_TABLE || kind == BF_ASSET_VIEW || kind == BF_ASSET_MODEL;
}

int bf_lineage_new(bf_lineage **out, const bf_brief *brief)
{
    size_t nsources, nassets, nnodes, nedges = 0, npeople, used = 0;
    bf__lineage_node *nodes;
    const char **edges, **people;
    bf__lineage_graph graph;
    int rc;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_lineage_new: out or brief is NULL");
    *out = NULL;
    nsources = bf_brief_source_count(brief);
    nassets = bf_brief_downstream_count(brief);
    npeople = bf_brief_stakeholder_count(brief);
    nnodes = 1 + nsources + nassets;
    for (size_t a = 0; a < nassets; a++)
        nedges += bf_brief_downstream_depends_count(brief, a);
    nodes = bf__calloc(nnodes, sizeof *nodes);
    edges = bf__calloc(nedges ? nedges : 1, sizeof *edges);
    people = bf__calloc(npeople ? npeople : 1, sizeof *people);
    if (!nodes || !edges || !people) {
        bf__free(nodes);
        bf__free(edges);
        bf__free(people);
        return bf__nomem();
    }
    nodes[0].name = bf_brief_target_table(brief);
    nodes[0].kind = BF__LINEAGE_TARGET;
    for (size_t i = 0; i < nsources; i++) {
        nodes[1 + i].name = bf_brief_source(brief, i);
        nodes[1 + i].kind = BF__LINEAGE_SOURCE;
    }
    for (size_t a = 0; a < nassets; a++) {
        bf__lineage_node *n = &nodes[1 + nsources + a];
        bf_asset_kind kind = bf_brief_downstream_kind(brief, a);

        n->name = bf_brief_downstream_name(brief, a);
        n->kind = kind == BF_ASSET_STAKEHOLDER ? BF__LINEAGE_PERSON : BF__LINEAGE_ASSET;
        n->owner = bf_brief_downstream_owner(brief, a);
        n->refresh = bf_brief_downstream_refresh_sql(brief, a) != NULL || refreshed_kind(kind);
        n->depends_on = edges + used;
        n->depends_count = bf_brief_downstream_depends_count(brief, a);
        for (size_t d = 0; d < n->depends_count; d++)
            edges[used++] = bf_brief_downstream_depends_on(brief, a, d);
    }
    for (size_t i = 0; i < npeople; i++)
        people[i] = bf_brief_stakeholder(brief, i);
    graph = (bf__lineage_graph){
        .nodes = nodes,
        .node_count = nnodes,
        .people = people,
        .people_count = npeople,
        .people_reason = "listed in communication.stakeholders",
        .where = "$.downstream",
    };
    rc = bf__lineage_build(out, &graph);
    bf__free(nodes);
    bf__free(edges);
    bf__free(people);
    return rc;
}
