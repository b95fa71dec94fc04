/*
 * The lineage graph: node 0 is the target table, then the sources, then the
 * downstream nodes in the order given. Edges run from a dependency to its
 * dependent. A stable topological order (Kahn's algorithm taking the lowest
 * node number first) gives the refresh order and finds cycles.
 */
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"
#include "lineage/lineage_internal.h"

struct human {
    char *name;
    char *reason;
};

struct bf_lineage {
    char **direct, **indirect, **refresh;
    size_t ndirect, nindirect, nrefresh;
    struct human *humans;
    size_t nhumans, humans_cap;
};

struct named {
    const char *name;
    size_t node;
};

/* The graph while it is being built; names are borrowed from the caller's. */
struct graph {
    const bf__lineage_graph *spec;
    size_t n, nsources;
    const char **names;
    struct named *index; /* named nodes sorted by name, then node: lookups in log time */
    size_t nindex;
    size_t *ndeps;     /* per node: dependencies not yet placed (Kahn) */
    /* Dependents in compressed rows: node i's are dep_list[dep_start[i] .. dep_start[i + 1]). */
    size_t *dep_start;
    size_t *dep_list;
    size_t *order; /* topological order */
    unsigned char *affected, *direct;
};

static void graph_dispose(struct graph *g)
{
    bf__free(g->names);
    bf__free(g->index);
    bf__free(g->ndeps);
    bf__free(g->dep_start);
    bf__free(g->dep_list);
    bf__free(g->order);
    bf__free(g->affected);
    bf__free(g->direct);
}

static size_t asset_of(const struct graph *g, size_t node)
{
    return node - 1 - g->nsources;
}

static int by_name(const void *a, const void *b)
{
    const struct named *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : (x->node > y->node) - (x->node < y->node);
}

/* The first node named `name`, or g->n; the target wins over a source of the same name. */
static size_t find_node(const struct graph *g, const char *name)
{
    size_t lo = 0, hi = g->nindex;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(g->index[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->nindex && strcmp(g->index[lo].name, name) == 0 ? g->index[lo].node : g->n;
}

/* The nodes' kinds must come in order: the target, the sources, then the downstream nodes. */
static int graph_kinds(struct graph *g)
{
    const bf__lineage_graph *s = g->spec;

    if (s->node_count == 0 || s->nodes[0].kind != BF__LINEAGE_TARGET)
        return bf__error(BF_E_INTERNAL, "lineage graph: node 0 is not the target");
    g->nsources = 0;
    while (1 + g->nsources < s->node_count && s->nodes[1 + g->nsources].kind == BF__LINEAGE_SOURCE)
        g->nsources++;
    for (size_t i = 0; i < s->node_count; i++) {
        bf__lineage_kind k = s->nodes[i].kind;
        int downstream = k == BF__LINEAGE_ASSET || k == BF__LINEAGE_PERSON;

        if ((i > g->nsources && !downstream) || (!downstream && s->nodes[i].depends_count))
            return bf__error(BF_E_INTERNAL, "lineage graph: node %zu is out of order", i);
    }
    return BF_OK;
}

static int graph_nodes(struct graph *g)
{
    const bf__lineage_node *nodes = g->spec->nodes;
    size_t worst, clash = 0;

    g->n = g->spec->node_count;
    worst = g->n;
    g->names = bf__calloc(g->n, sizeof *g->names);
    g->index = bf__calloc(g->n, sizeof *g->index);
    if (!g->names || !g->index)
        return bf__nomem();
    for (size_t i = 0; i < g->n; i++)
        g->names[i] = nodes[i].name;
    for (size_t i = 0; i < g->n; i++)
        if (g->names[i])
            g->index[g->nindex++] = (struct named){g->names[i], i};
    qsort(g->index, g->nindex, sizeof *g->index, by_name);
    /* An asset may not reuse a name; report the first such asset in the order given. */
    for (size_t k = 1, first = 0; k < g->nindex; k++) {
        if (strcmp(g->index[k].name, g->index[first].name) != 0) {
            first = k;
            continue;
        }
        if (g->index[k].node > g->nsources && g->index[k].node < worst) {
            worst = g->index[k].node;
            clash = g->index[first].node;
        }
    }
    if (worst < g->n) {
        const char *what = clash == 0              ? "the target table"
                           : clash <= g->nsources ? "a source"
                                                  : "another downstream asset";
        return bf__error(BF_E_INVALID, "%s[%zu].name: \"%s\" is already the name of %s",
                         g->spec->where, asset_of(g, worst), g->names[worst], what);
    }
    return BF_OK;
}

/* Count dependencies, check their names, and lay out the dependents lists. */
static int graph_edges(struct graph *g)
{
    const bf__lineage_node *nodes = g->spec->nodes;
    size_t edges = 0, *fill;

    g->ndeps = bf__calloc(g->n, sizeof *g->ndeps);
    g->dep_start = bf__calloc(g->n + 1, sizeof *g->dep_start);
    if (!g->ndeps || !g->dep_start)
        return bf__nomem();
    for (size_t node = 1 + g->nsources; node < g->n; node++) {
        size_t a = asset_of(g, node);
        size_t nd = nodes[node].depends_count;

        for (size_t d = 0; d < nd; d++) {
            const char *dep = nodes[node].depends_on[d];
            size_t from = dep ? find_node(g, dep) : g->n;

            if (from == g->n)
                return bf__error(BF_E_INVALID,
                                 "%s[%zu].depends_on: \"%s\" depends on \"%s\", which is not "
                                 "the target table, a source or another downstream asset",
                                 g->spec->where, a, g->names[node], dep ? dep : "(null)");
            g->dep_start[from + 1]++;
            g->ndeps[node]++;
            edges++;
        }
    }
    for (size_t i = 0; i < g->n; i++)
        g->dep_start[i + 1] += g->dep_start[i];
    g->dep_list = bf__calloc(edges ? edges : 1, sizeof *g->dep_list);
    fill = bf__calloc(g->n, sizeof *fill);
    if (!g->dep_list || !fill) {
        bf__free(fill);
        return bf__nomem();
    }
    for (size_t node = 1 + g->nsources; node < g->n; node++) {
        size_t nd = nodes[node].depends_count;

        for (size_t d = 0; d < nd; d++) {
            size_t from = find_node(g, nodes[node].depends_on[d]);
            g->dep_list[g->dep_start[from] + fill[from]++] = node;
        }
    }
    bf__free(fill);
    return BF_OK;
}

/* A min-heap of node numbers: the ready node that comes first in the graph is placed first. */
static void heap_push(size_t *heap, size_t *len, size_t v)
{
    size_t i = (*len)++;

    heap[i] = v;
    while (i > 0 && heap[(i - 1) / 2] > heap[i]) {
        size_t p = (i - 1) / 2, t = heap[p];
        heap[p] = heap[i];
        heap[i] = t;
        i = p;
    }
}

static size_t heap_pop(size_t *heap, size_t *len)
{
    size_t top = heap[0], i = 0;

    heap[0] = heap[--(*len)];
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < *len && heap[l] < heap[m])
            m = l;
        if (r < *len && heap[r] < heap[m])
            m = r;
        if (m == i)
            break;
        size_t t = heap[m];
        heap[m] = heap[i];
        heap[i] = t;
        i = m;
    }
    return top;
}

/* Name one cycle among the nodes Kahn's algorithm could not place. */
static int cycle_error(const struct graph *g)
{
    const bf__lineage_node *nodes = g->spec->nodes;
    size_t *step = bf__calloc(g->n, sizeof *step); /* 1 + position on the walk, 0 = not visited */
    size_t *walk = bf__calloc(g->n + 1, sizeof *walk);
    size_t node = 0, len = 0;
    bf__sb sb;
    char *path;
    int rc;

    if (!step || !walk) {
        bf__free(step);
        bf__free(walk);
        return bf__nomem();
    }
    while (g->ndeps[node] == 0)
        node++;
    /* Every unplaced node has an unplaced dependency: follow them until one repeats. */
    while (!step[node]) {
        size_t nd = nodes[node].depends_count, next = g->n;

        step[node] = ++len;
        walk[len - 1] = node;
        for (size_t d = 0; d < nd && next == g->n; d++) {
            size_t dep = find_node(g, nodes[node].depends_on[d]);
            if (g->ndeps[dep] > 0)
                next = dep;
        }
        node = next;
    }
    bf__sb_init(&sb);
    for (size_t i = step[node] - 1; i < len; i++)
        bf__sb_appendf(&sb, "%s -> ", g->names[walk[i]]);
    bf__sb_append(&sb, g->names[node]);
    bf__free(step);
    bf__free(walk);
    rc = bf__sb_finish(&sb, &path);
    if (rc != BF_OK)
        return rc;
    rc = bf__error(BF_E_INVALID, "%s: depends_on forms a cycle: %s", g->spec->where, path);
    bf__free(path);
    return rc;
}

static int graph_order(struct graph *g)
{
    size_t *heap = bf__calloc(g->n, sizeof *heap);
    size_t len = 0, placed = 0;

    g->order = bf__calloc(g->n, sizeof *g->order);
    if (!heap || !g->order) {
        bf__free(heap);
        return bf__nomem();
    }
    for (size_t i = 0; i < g->n; i++)
        if (g->ndeps[i] == 0)
            heap_push(heap, &len, i);
    while (len > 0) {
        size_t node = heap_pop(heap, &len);

        g->order[placed++] = node;
        for (size_t e = g->dep_start[node]; e < g->dep_start[node + 1]; e++)
            if (--g->ndeps[g->dep_list[e]] == 0)
                heap_push(heap, &len, g->dep_list[e]);
    }
    bf__free(heap);
    return placed == g->n ? BF_OK : cycle_error(g);
}

/* Mark what the target reaches; in topological order one pass suffices. */
static int graph_reach(struct graph *g)
{
    g->affected = bf__calloc(g->n, 1);
    g->direct = bf__calloc(g->n, 1);
    if (!g->affected || !g->direct)
        return bf__nomem();
    g->affected[0] = 1;
    for (size_t k = 0; k < g->n; k++) {
        size_t node = g->order[k];

        if (!g->affected[node])
            continue;
        for (size_t e = g->dep_start[node]; e < g->dep_start[node + 1]; e++) {
            g->affected[g->dep_list[e]] = 1;
            if (node == 0)
                g->direct[g->dep_list[e]] = 1;
        }
    }
    return BF_OK;
}

static int push_name(char ***list, size_t *count, const char *name)
{
    char *copy = bf__strdup(name);

    if (!copy)
        return bf__nomem();
    (*list)[(*count)++] = copy;
    return BF_OK;
}

static int add_human(bf_lineage *l, const char *name, const char *reason)
{
    char *joined;
    int rc;

    if (!name || !name[0])
        return BF_OK;
    for (size_t i = 0; i < l->nhumans; i++) {
        if (strcmp(l->humans[i].name, name) != 0)
            continue;
        joined = bf__asprintf("%s; %s", l->humans[i].reason, reason);
        if (!joined)
            return bf__nomem();
        bf__free(l->humans[i].reason);
        l->humans[i].reason = joined;
        return BF_OK;
    }
    rc = bf__grow((void **)&l->humans, &l->humans_cap, l->nhumans + 1, sizeof *l->humans);
    if (rc != BF_OK)
        return rc;
    l->humans[l->nhumans].name = bf__strdup(name);
    l->humans[l->nhumans].reason = bf__strdup(reason);
    if (!l->humans[l->nhumans].name || !l->humans[l->nhumans].reason) {
        bf__free(l->humans[l->nhumans].name);
        bf__free(l->humans[l->nhumans].reason);
        return bf__nomem();
    }
    l->nhumans++;
    return BF_OK;
}

static int lineage_humans(bf_lineage *l, const struct graph *g)
{
    const bf__lineage_graph *s = g->spec;
    int rc = BF_OK;

    for (size_t k = 0; rc == BF_OK && k < g->n; k++) {
        size_t node = g->order[k];
        const bf__lineage_node *nd = &s->nodes[node];
        char *reason;

        if (node <= g->nsources || !g->affected[node])
            continue;
        if (nd->kind == BF__LINEAGE_PERSON) {
            const char *via = nd->depends_count ? nd->depends_on[0] : NULL;
            reason = bf__asprintf("stakeholder depending on %s", via ? via : "the target");
            rc = reason ? add_human(l, g->names[node], reason) : bf__nomem();
            bf__free(reason);
        }
        if (rc == BF_OK && nd->owner) {
            reason = bf__asprintf("owner of %s", g->names[node]);
            rc = reason ? add_human(l, nd->owner, reason) : bf__nomem();
            bf__free(reason);
        }
    }
    for (size_t i = 0; rc == BF_OK && i < s->people_count; i++)
        rc = add_human(l, s->people[i], s->people_reason ? s->people_reason : "listed");
    return rc;
}

static int lineage_lists(bf_lineage *l, const struct graph *g)
{
    size_t nassets = g->n - 1 - g->nsources;
    int rc = BF_OK;

    l->direct = bf__calloc(nassets + 1, sizeof *l->direct);
    l->indirect = bf__calloc(nassets + 1, sizeof *l->indirect);
    l->refresh = bf__calloc(nassets + 1, sizeof *l->refresh);
    if (!l->direct || !l->indirect || !l->refresh)
        return bf__nomem();
    for (size_t node = 1 + g->nsources; rc == BF_OK && node < g->n; node++) {
        if (g->direct[node])
            rc = push_name(&l->direct, &l->ndirect, g->names[node]);
        else if (g->affected[node])
            rc = push_name(&l->indirect, &l->nindirect, g->names[node]);
    }
    for (size_t k = 0; rc == BF_OK && k < g->n; k++) {
        size_t node = g->order[k];
        if (node > g->nsources && g->affected[node] && g->spec->nodes[node].refresh)
            rc = push_name(&l->refresh, &l->nrefresh, g->names[node]);
    }
    return rc;
}

int bf__lineage_build(bf_lineage **out, const bf__lineage_graph *graph)
{
    struct graph g;
    bf_lineage *l;
    int rc;

    *out = NULL;
    memset(&g, 0, sizeof g);
    g.spec = graph;
    rc = graph_kinds(&g);
    if (rc != BF_OK)
        return rc;
    l = bf__calloc(1, sizeof *l);
    if (!l)
        return bf__nomem();
    rc = graph_nodes(&g);
    if (rc == BF_OK)
        rc = graph_edges(&g);
    if (rc == BF_OK)
        rc = graph_order(&g);
    if (rc == BF_OK)
        rc = graph_reach(&g);
    if (rc == BF_OK)
        rc = lineage_lists(l, &g);
    if (rc == BF_OK)
        rc = lineage_humans(l, &g);
    graph_dispose(&g);
    if (rc != BF_OK) {
        bf_lineage_free(l);
        return rc;
    }
    *out = l;
    return BF_OK;
}

static void free_names(char **list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        bf__free(list[i]);
    bf__free(list);
}

void bf_lineage_free(bf_lineage *l)
{
    if (!l)
        return;
    free_names(l->direct, l->ndirect);
    free_names(l->indirect, l->nindirect);
    free_names(l->refresh, l->nrefresh);
    for (size_t i = 0; i < l->nhumans; i++) {
        bf__free(l->humans[i].name);
        bf__free(l->humans[i].reason);
    }
    bf__free(l->humans);
    bf__free(l);
}

size_t bf_lineage_direct_count(const bf_lineage *l)
{
    return l ? l->ndirect : 0;
}

const char *bf_lineage_direct(const bf_lineage *l, size_t index)
{
    return l && index < l->ndirect ? l->direct[index] : NULL;
}

size_t bf_lineage_indirect_count(const bf_lineage *l)
{
    return l ? l->nindirect : 0;
}

const char *bf_lineage_indirect(const bf_lineage *l, size_t index)
{
    return l && index < l->nindirect ? l->indirect[index] : NULL;
}

size_t bf_lineage_human_count(const bf_lineage *l)
{
    return l ? l->nhumans : 0;
}

const char *bf_lineage_human(const bf_lineage *l, size_t index)
{
    return l && index < l->nhumans ? l->humans[index].name : NULL;
}

const char *bf_lineage_human_reason(const bf_lineage *l, size_t index)
{
    return l && index < l->nhumans ? l->humans[index].reason : NULL;
}

size_t bf_lineage_refresh_count(const bf_lineage *l)
{
    return l ? l->nrefresh : 0;
}

const char *bf_lineage_refresh(const bf_lineage *l, size_t index)
{
    return l && index < l->nrefresh ? l->refresh[index] : NULL;
}
