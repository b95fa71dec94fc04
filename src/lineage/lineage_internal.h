/*
 * Building a lineage from a neutral graph: named nodes with a kind and an
 * owner, and for each node the names of what it depends on. The lineage
 * module knows nothing else of where the graph comes from; the brief module
 * turns a brief into one (bf_lineage_new() in src/brief/lineage.c). Not
 * installed.
 */
#ifndef BF_LINEAGE_INTERNAL_H
#define BF_LINEAGE_INTERNAL_H

#include <stddef.h>

#include "backfill/lineage.h"

typedef enum bf__lineage_kind {
    BF__LINEAGE_TARGET = 0, /* the table being backfilled: node 0, and only node 0 */
    BF__LINEAGE_SOURCE = 1, /* a table the backfill reads */
    BF__LINEAGE_ASSET = 2,  /* something downstream of the target */
    BF__LINEAGE_PERSON = 3  /* a downstream person or team: told when affected */
} bf__lineage_kind;

typedef struct bf__lineage_node {
    const char *name;   /* NULL only for a target not named yet (a draft) */
    bf__lineage_kind kind;
    const char *owner;  /* told when the node is affected; NULL for none */
    int refresh;        /* refreshed after cutover when affected */
    /* The edges into this node: the names of the nodes it depends on. */
    const char *const *depends_on;
    size_t depends_count;
} bf__lineage_node;

typedef struct bf__lineage_graph {
    /* The target, then the sources, then the downstream nodes, in order. */
    const bf__lineage_node *nodes;
    size_t node_count;
    /* People told in any case, after those of the affected nodes, and why. */
    const char *const *people;
    size_t people_count;
    const char *people_reason;
    /*
     * How messages name the list of downstream nodes, e.g. "$.downstream":
     * "$.downstream[1].depends_on: ...", "$.downstream: depends_on forms a cycle: ...".
     */
    const char *where;
} bf__lineage_graph;

/*
 * Build the lineage of a graph (the names are copied). Every depends_on name
 * must name another node, and downstream names must be unique; otherwise
 * BF_E_INVALID, as bf_lineage_new() documents. Only downstream nodes
 * (assets and people) have edges.
 */
int bf__lineage_build(bf_lineage **out, const bf__lineage_graph *graph);

#endif
