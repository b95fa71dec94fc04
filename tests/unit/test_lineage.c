/*
 * Lineage: blast radius (direct, indirect, human), refresh order, and the
 * errors for unknown names, duplicate names and cycles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "bftest.h"
#include "common/internal.h"
#include "lineage/lineage_internal.h"

static bf_brief *brief_from(const char *text)
{
    bf_brief *b = NULL;
    int rc = bf_brief_load_json(&b, text, strlen(text));

    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    return b;
}

static bf_lineage *lineage_of(const char *text)
{
    bf_brief *b = brief_from(text);
    bf_lineage *l = NULL;
    int rc = bf_lineage_new(&l, b);

    ck_assert_msg(rc == BF_OK, "%s", bf_last_error());
    bf_brief_free(b); /* the lineage keeps its own copies */
    return l;
}

static void expect_fail(const char *text, const char *want)
{
    bf_brief *b = brief_from(text);
    bf_lineage *l = (bf_lineage *)1;

    ck_assert_int_eq(bf_lineage_new(&l, b), BF_E_INVALID);
    ck_assert_ptr_null(l);
    ck_assert_msg(strcmp(bf_last_error(), want) == 0, "got \"%s\"\nwanted \"%s\"", bf_last_error(), want);
    bf_brief_free(b);
}

/* Join a lineage list with commas, for one comparison per list. */
static const char *joined(const bf_lineage *l, size_t (*count)(const bf_lineage *),
                          const char *(*get)(const bf_lineage *, size_t))
{
    static char buf[1024];

    buf[0] = '\0';
    for (size_t i = 0; i < count(l); i++) {
        if (i)
            strcat(buf, ",");
        strcat(buf, get(l, i));
    }
    ck_assert_ptr_null(get(l, count(l)));
    return buf;
}

#define REFUND                                                                                    \
    "{\"target\": {\"table\": \"fct_orders\"}, \"sources\": [\"raw_orders\", \"raw_refunds\"], " \
    "\"downstream\": ["                                                                           \
    "{\"name\": \"mart_monthly_revenue\", \"kind\": \"table\", \"depends_on\": [\"fct_orders\"], " \
    "\"owner\": \"analytics\", \"refresh_sql\": \"...\"},"                                         \
    "{\"name\": \"Revenue dashboard\", \"kind\": \"dashboard\", \"depends_on\": "                 \
    "[\"mart_monthly_revenue\"], \"owner\": \"finance\"},"                                         \
    "{\"name\": \"Board pack\", \"kind\": \"stakeholder\", \"depends_on\": [\"Revenue dashboard\"]}]," \
    "\"communication\": {\"stakeholders\": [\"finance\", \"cfo\"]}}"

START_TEST(blast_radius_of_the_refund_join)
{
    bf_lineage *l = lineage_of(REFUND);

    ck_assert_str_eq(joined(l, bf_lineage_direct_count, bf_lineage_direct), "mart_monthly_revenue");
    ck_assert_str_eq(joined(l, bf_lineage_indirect_count, bf_lineage_indirect),
                     "Revenue dashboard,Board pack");
    ck_assert_str_eq(joined(l, bf_lineage_human_count, bf_lineage_human),
                     "analytics,finance,Board pack,cfo");
    ck_assert_str_eq(bf_lineage_human_reason(l, 0), "owner of mart_monthly_revenue");
    ck_assert_str_eq(bf_lineage_human_reason(l, 1),
                     "owner of Revenue dashboard; listed in communication.stakeholders");
    ck_assert_str_eq(bf_lineage_human_reason(l, 2), "stakeholder depending on Revenue dashboard");
    ck_assert_str_eq(bf_lineage_human_reason(l, 3), "listed in communication.stakeholders");
    ck_assert_ptr_null(bf_lineage_human_reason(l, 4));
    ck_assert_str_eq(joined(l, bf_lineage_refresh_count, bf_lineage_refresh), "mart_monthly_revenue");
    bf_lineage_free(l);
}
END_TEST

START_TEST(refresh_order_is_topological_and_stable)
{
    /* Brief order lists dependents before what they depend on; ties keep brief order. */
    bf_lineage *l = lineage_of(
        "{\"target\": {\"table\": \"t\"}, \"downstream\": ["
        "{\"name\": \"d\", \"kind\": \"view\", \"depends_on\": [\"b\", \"c\"]},"
        "{\"name\": \"c\", \"kind\": \"model\", \"depends_on\": [\"t\"]},"
        "{\"name\": \"e\", \"kind\": \"export\", \"depends_on\": [\"t\"], \"refresh_sql\": \"x\"},"
        "{\"name\": \"b\", \"kind\": \"table\", \"depends_on\": [\"t\"]},"
        "{\"name\": \"alert\", \"kind\": \"alert\", \"depends_on\": [\"d\"]},"
        "{\"name\": \"f\", \"kind\": \"ml_feature\", \"depends_on\": [\"b\"]}]}");

    ck_assert_str_eq(joined(l, bf_lineage_refresh_count, bf_lineage_refresh), "c,e,b,d");
    ck_assert_str_eq(joined(l, bf_lineage_direct_count, bf_lineage_direct), "c,e,b");
    ck_assert_str_eq(joined(l, bf_lineage_indirect_count, bf_lineage_indirect), "d,alert,f");
    ck_assert_uint_eq(bf_lineage_human_count(l), 0);
    bf_lineage_free(l);
}
END_TEST

START_TEST(assets_that_do_not_reach_the_target_are_not_affected)
{
    bf_lineage *l = lineage_of(
        "{\"target\": {\"table\": \"t\"}, \"sources\": [\"s\"], \"downstream\": ["
        "{\"name\": \"from_source\", \"kind\": \"table\", \"depends_on\": [\"s\"], \"owner\": \"x\"},"
        "{\"name\": \"nothing\", \"kind\": \"view\"},"
        "{\"name\": \"both\", \"kind\": \"view\", \"depends_on\": [\"s\", \"t\"], \"owner\": \"y\"}]}");

    ck_assert_str_eq(joined(l, bf_lineage_direct_count, bf_lineage_direct), "both");
    ck_assert_uint_eq(bf_lineage_indirect_count(l), 0);
    ck_assert_str_eq(joined(l, bf_lineage_refresh_count, bf_lineage_refresh), "both");
    ck_assert_str_eq(joined(l, bf_lineage_human_count, bf_lineage_human), "y");
    bf_lineage_free(l);
}
END_TEST

START_TEST(empty_lineage)
{
    bf_lineage *l = lineage_of("{}");

    ck_assert_uint_eq(bf_lineage_direct_count(l), 0);
    ck_assert_uint_eq(bf_lineage_indirect_count(l), 0);
    ck_assert_uint_eq(bf_lineage_human_count(l), 0);
    ck_assert_uint_eq(bf_lineage_refresh_count(l), 0);
    ck_assert_ptr_null(bf_lineage_direct(l, 0));
    bf_lineage_free(l);
    bf_lineage_free(NULL);
    ck_assert_uint_eq(bf_lineage_direct_count(NULL), 0);
    ck_assert_int_eq(bf_lineage_new(NULL, NULL), BF_E_INVALID);
}
END_TEST

START_TEST(unknown_and_duplicate_names_are_refused)
{
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"t\"]},"
                "{\"name\": \"dash\", \"kind\": \"dashboard\", \"depends_on\": [\"a\", \"mart\"]}]}",
                "$.downstream[1].depends_on: \"dash\" depends on \"mart\", which is not the target "
                "table, a source or another downstream asset");
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"a\", \"kind\": \"table\"}, {\"name\": \"a\", \"kind\": \"view\"}]}",
                "$.downstream[1].name: \"a\" is already the name of another downstream asset");
    /* The first repeat in brief order is named, whatever the names sort like. */
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"x\", \"kind\": \"table\"}, {\"name\": \"y\", \"kind\": \"view\"},"
                "{\"name\": \"y\", \"kind\": \"view\"}, {\"name\": \"x\", \"kind\": \"view\"}]}",
                "$.downstream[2].name: \"y\" is already the name of another downstream asset");
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": [{\"name\": \"t\", \"kind\": \"view\"}]}",
                "$.downstream[0].name: \"t\" is already the name of the target table");
    expect_fail("{\"target\": {\"table\": \"t\"}, \"sources\": [\"s\"], \"downstream\": "
                "[{\"name\": \"s\", \"kind\": \"view\"}]}",
                "$.downstream[0].name: \"s\" is already the name of a source");
}
END_TEST

START_TEST(cycles_are_named)
{
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"t\", \"c\"]},"
                "{\"name\": \"b\", \"kind\": \"table\", \"depends_on\": [\"a\"]},"
                "{\"name\": \"c\", \"kind\": \"table\", \"depends_on\": [\"b\"]}]}",
                "$.downstream: depends_on forms a cycle: a -> c -> b -> a");
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"self\", \"kind\": \"view\", \"depends_on\": [\"self\"]}]}",
                "$.downstream: depends_on forms a cycle: self -> self");
    /* An asset hanging below a cycle is not part of the named cycle. */
    expect_fail("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                "{\"name\": \"below\", \"kind\": \"view\", \"depends_on\": [\"x\"]},"
                "{\"name\": \"x\", \"kind\": \"view\", \"depends_on\": [\"y\"]},"
                "{\"name\": \"y\", \"kind\": \"view\", \"depends_on\": [\"x\"]}]}",
                "$.downstream: depends_on forms a cycle: x -> y -> x");
}
END_TEST

START_TEST(lineage_survives_its_brief_changing)
{
    bf_brief *b = brief_from(REFUND);
    bf_lineage *l = NULL;

    ck_assert_int_eq(bf_lineage_new(&l, b), BF_OK);
    ck_assert_int_eq(bf_brief_unset(b, "$.downstream"), BF_OK);
    bf_brief_free(b);
    ck_assert_str_eq(bf_lineage_direct(l, 0), "mart_monthly_revenue");
    bf_lineage_free(l);
}
END_TEST

START_TEST(many_assets_in_a_chain)
{
    bf_brief *b = NULL;
    bf_lineage *l = NULL;
    char name[32], prev[32] = "t";

    ck_assert_int_eq(bf_brief_new(&b), BF_OK);
    ck_assert_int_eq(bf_brief_set_target_table(b, "t"), BF_OK);
    for (size_t i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "a%zu", i);
        ck_assert_int_eq(bf_brief_add_downstream(b, name, BF_ASSET_VIEW, NULL, NULL), BF_OK);
        ck_assert_int_eq(bf_brief_add_downstream_dependency(b, i, prev), BF_OK);
        strcpy(prev, name);
    }
    ck_assert_int_eq(bf_lineage_new(&l, b), BF_OK);
    ck_assert_uint_eq(bf_lineage_direct_count(l), 1);
    ck_assert_uint_eq(bf_lineage_indirect_count(l), 299);
    ck_assert_uint_eq(bf_lineage_refresh_count(l), 300);
    ck_assert_str_eq(bf_lineage_refresh(l, 299), "a299");
    bf_lineage_free(l);
    bf_brief_free(b);
}
END_TEST

struct sweep {
    bf_brief *brief;
    bf_lineage *lineage;
};

static int op_lineage(void *arg)
{
    struct sweep *s = arg;
    return bf_lineage_new(&s->lineage, s->brief);
}

static void cleanup(void *arg)
{
    struct sweep *s = arg;
    bf_lineage_free(s->lineage);
    s->lineage = NULL;
}

/* The cycle report allocates too: its failures must also come back as BF_E_NOMEM. */
static int op_cycle(void *arg)
{
    struct sweep *s = arg;
    int rc = bf_lineage_new(&s->lineage, s->brief);
    return rc == BF_E_INVALID ? BF_OK : rc;
}

START_TEST(every_allocation_failure_is_reported_without_leaks)
{
    struct sweep ok = {brief_from(REFUND), NULL};
    struct sweep cyc = {brief_from("{\"target\": {\"table\": \"t\"}, \"downstream\": ["
                                   "{\"name\": \"a\", \"kind\": \"table\", \"depends_on\": [\"t\", \"b\"]},"
                                   "{\"name\": \"b\", \"kind\": \"table\", \"depends_on\": [\"a\"]}]}"),
                        NULL};

    ck_assert_int_ge(failalloc_sweep(op_lineage, cleanup, &ok), 15);
    ck_assert_int_ge(failalloc_sweep(op_cycle, cleanup, &cyc), 5);
    bf_brief_free(ok.brief);
    bf_brief_free(cyc.brief);
}
END_TEST

/* The lineage module on its own: a graph of names, no brief. */
START_TEST(neutral_graph_without_a_brief)
{
    static const char *const on_target[] = {"orders"};
    static const char *const on_mart[] = {"mart"};
    static const char *const people[] = {"finance"};
    const bf__lineage_node nodes[] = {
        {"orders", BF__LINEAGE_TARGET, NULL, 0, NULL, 0},
        {"raw", BF__LINEAGE_SOURCE, NULL, 0, NULL, 0},
        {"mart", BF__LINEAGE_ASSET, "ann", 1, on_target, 1},
        {"dash", BF__LINEAGE_ASSET, NULL, 0, on_mart, 1},
        {"cfo", BF__LINEAGE_PERSON, NULL, 0, on_mart, 1},
    };
    bf__lineage_graph g = {nodes, 5, people, 1, "named", "$.graph"};
    bf_lineage *l = NULL;

    ck_assert_int_eq(bf__lineage_build(&l, &g), BF_OK);
    ck_assert_uint_eq(bf_lineage_direct_count(l), 1);
    ck_assert_str_eq(bf_lineage_direct(l, 0), "mart");
    ck_assert_uint_eq(bf_lineage_indirect_count(l), 2);
    ck_assert_uint_eq(bf_lineage_refresh_count(l), 1);
    ck_assert_str_eq(bf_lineage_refresh(l, 0), "mart");
    ck_assert_uint_eq(bf_lineage_human_count(l), 3);
    ck_assert_str_eq(bf_lineage_human(l, 0), "ann");
    ck_assert_str_eq(bf_lineage_human(l, 1), "cfo");
    ck_assert_str_eq(bf_lineage_human_reason(l, 1), "stakeholder depending on mart");
    ck_assert_str_eq(bf_lineage_human(l, 2), "finance");
    ck_assert_str_eq(bf_lineage_human_reason(l, 2), "named");
    bf_lineage_free(l);

    /* Messages name the caller's path; a graph out of order is a bug of the caller. */
    static const char *const on_nothing[] = {"nowhere"};
    const bf__lineage_node unknown[] = {
        {"orders", BF__LINEAGE_TARGET, NULL, 0, NULL, 0},
        {"mart", BF__LINEAGE_ASSET, NULL, 0, on_nothing, 1},
    };
    bf__lineage_graph bad = {unknown, 2, NULL, 0, NULL, "$.graph"};
    ck_assert_int_eq(bf__lineage_build(&l, &bad), BF_E_INVALID);
    ck_assert_ptr_null(l);
    ck_assert_ptr_nonnull(strstr(bf_last_error(), "$.graph[0].depends_on: \"mart\" depends on"));
    const bf__lineage_node disorder[] = {
        {"orders", BF__LINEAGE_TARGET, NULL, 0, NULL, 0},
        {"mart", BF__LINEAGE_ASSET, NULL, 0, NULL, 0},
        {"raw", BF__LINEAGE_SOURCE, NULL, 0, NULL, 0},
    };
    bad = (bf__lineage_graph){disorder, 3, NULL, 0, NULL, "$.graph"};
    ck_assert_int_eq(bf__lineage_build(&l, &bad), BF_E_INTERNAL);
    ck_assert_int_eq(failalloc_live(), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lineage");
    TCase *graph = tcase_create("graph");
    TCase *errors = tcase_create("errors");
    TCase *memory = tcase_create("memory");

    tcase_add_test(graph, blast_radius_of_the_refund_join);
    tcase_add_test(graph, refresh_order_is_topological_and_stable);
    tcase_add_test(graph, assets_that_do_not_reach_the_target_are_not_affected);
    tcase_add_test(graph, empty_lineage);
    tcase_add_test(graph, lineage_survives_its_brief_changing);
    tcase_add_test(graph, many_assets_in_a_chain);
    tcase_add_test(graph, neutral_graph_without_a_brief);
    tcase_add_test(errors, unknown_and_duplicate_names_are_refused);
    tcase_add_test(errors, cycles_are_named);
    tcase_add_test(memory, every_allocation_failure_is_reported_without_leaks);
    suite_add_tcase(s, graph);
    suite_add_tcase(s, errors);
    suite_add_tcase(s, memory);
    return bftest_run(s);
}
