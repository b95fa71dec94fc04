/* backfill blast-radius BRIEF: downstream assets, direct and indirect, and who to tell. */
#include <string.h>

#include "cli.h"

/* The downstream asset of that name (the lineage only returns names). */
static size_t asset_index(const bf_brief *brief, const char *name)
{
    size_t n = bf_brief_downstream_count(brief);

    for (size_t i = 0; i < n; i++)
        if (strcmp(bf_brief_downstream_name(brief, i), name) == 0)
            return i;
    return n;
}

static json_t *assets_json(const bf_brief *brief, const bf_lineage *l,
                           size_t (*count)(const bf_lineage *),
                           const char *(*get)(const bf_lineage *, size_t))
{
    json_t *list = json_array();

    for (size_t i = 0; list && i < count(l); i++) {
        size_t a = asset_index(brief, get(l, i));
        json_array_append_new(list, json_pack("{s:s, s:s?, s:s?}", "name", get(l, i), "kind",
                                              bf_asset_kind_name(bf_brief_downstream_kind(brief, a)),
                                              "owner", bf_brief_downstream_owner(brief, a)));
    }
    return list;
}

static void print_assets(const bf_brief *brief, const bf_lineage *l, const char *title,
                         size_t (*count)(const bf_lineage *),
                         const char *(*get)(const bf_lineage *, size_t))
{
    printf("%s:\n", title);
    if (!count(l))
        printf("  (none)\n");
    for (size_t i = 0; i < count(l); i++) {
        size_t a = asset_index(brief, get(l, i));
        const char *owner = bf_brief_downstream_owner(brief, a);

        printf("  %s (%s%s%s)\n", get(l, i), bf_asset_kind_name(bf_brief_downstream_kind(brief, a)),
               owner ? ", owner " : "", owner ? owner : "");
    }
}

static void print_text(const bf_brief *brief, const bf_lineage *l)
{
    const char *name = bf_brief_name(brief), *target = bf_brief_target_table(brief);

    printf("Blast radius of %s (target %s)\n\n", name ? name : "(unnamed brief)",
           target ? target : "not given");
    print_assets(brief, l, "Direct dependents", bf_lineage_direct_count, bf_lineage_direct);
    print_assets(brief, l, "Indirect dependents", bf_lineage_indirect_count, bf_lineage_indirect);
    printf("People to tell:\n");
    if (!bf_lineage_human_count(l))
        printf("  (none)\n");
    for (size_t i = 0; i < bf_lineage_human_count(l); i++)
        printf("  %s: %s\n", bf_lineage_human(l, i), bf_lineage_human_reason(l, i));
    printf("Refresh order after cutover:\n");
    if (!bf_lineage_refresh_count(l))
        printf("  (none)\n");
    for (size_t i = 0; i < bf_lineage_refresh_count(l); i++)
        printf("  %zu. %s\n", i + 1, bf_lineage_refresh(l, i));
}

static json_t *lineage_json(const bf_brief *brief, const bf_lineage *l)
{
    json_t *humans = json_array(), *refresh = json_array();

    for (size_t i = 0; humans && i < bf_lineage_human_count(l); i++)
        json_array_append_new(humans, json_pack("{s:s, s:s}", "name", bf_lineage_human(l, i), "reason",
                                                bf_lineage_human_reason(l, i)));
    for (size_t i = 0; refresh && i < bf_lineage_refresh_count(l); i++)
        json_array_append_new(refresh, json_string(bf_lineage_refresh(l, i)));
    return json_pack("{s:s?, s:s?, s:o, s:o, s:o, s:o}", "brief", bf_brief_name(brief), "target",
                     bf_brief_target_table(brief), "direct",
                     assets_json(brief, l, bf_lineage_direct_count, bf_lineage_direct), "indirect",
                     assets_json(brief, l, bf_lineage_indirect_count, bf_lineage_indirect), "humans",
                     humans, "refresh_order", refresh);
}

int cmd_blast_radius(int argc, char **argv)
{
    const char *path;
    bf_brief *brief = NULL;
    bf_lineage *l = NULL;
    int status, rc;

    status = cli_open_brief(&brief, &path, argc, argv, NULL);
    if (status != EXIT_DONE)
        return status;
    rc = bf_lineage_new(&l, brief);
    if (rc != BF_OK) {
        status = cli_fail_bf(rc, path);
        bf_brief_free(brief);
        return status;
    }
    if (cli_json)
        cli_print_json(lineage_json(brief, l));
    else
        print_text(brief, l);
    bf_lineage_free(l);
    bf_brief_free(brief);
    return EXIT_DONE;
}
