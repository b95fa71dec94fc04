/*
 * The one-page brief: Markdown for the people who approve and are told
 * about a backfill, not only for engineers. Every section renders something
 * even for a draft, saying plainly what is not given.
 */
#include <stdio.h>
#include <string.h>

#include "backfill/lineage.h"
#include "brief/brief_internal.h"

static const char *const risk_sentences[] = {
    NULL,
    "**Enrichment**: this backfill adds or fills data without changing numbers people already "
    "rely on.",
    "**Metric repair**: this backfill corrects numbers that people already rely on; reports "
    "will change.",
    "**Schema migration**: this backfill changes the shape of the data; consumers may need to "
    "adapt.",
    "**Critical rebuild**: this backfill rebuilds data the business depends on; a mistake would "
    "be serious.",
};

static const char *const strategy_sentences[] = {
    NULL,
    "partition overwrite: each batch replaces exactly its own slice of the table.",
    "merge: each batch updates rows by key and inserts new ones.",
    "staging then swap: the new table is built beside the old one and swapped in at cutover.",
    "parallel version: a new version is written beside the table and switched to at cutover.",
    "append: each batch adds rows; running a batch twice would add them twice.",
};

/* Text inside a table cell: pipes escaped, line breaks flattened. */
static void cell(bf__sb *sb, const char *text)
{
    for (const char *c = text; *c; c++) {
        if (*c == '|')
            bf__sb_append(sb, "\\|");
        else if (*c == '\n' || *c == '\r')
            bf__sb_appendc(sb, ' ');
        else
            bf__sb_appendc(sb, *c);
    }
}

static void or_not_given(bf__sb *sb, const char *text)
{
    bf__sb_append(sb, text && text[0] ? text : "_Not given._");
}

/* `a`, `b`, `c` from a JSON array of names. */
static void code_list(bf__sb *sb, const json_t *names)
{
    size_t i;
    json_t *v;

    json_array_foreach(names, i, v) {
        if (json_is_string(v))
            bf__sb_appendf(sb, "%s`%s`", i ? ", " : "", json_string_value(v));
        else
            bf__sb_appendf(sb, "%s%" JSON_INTEGER_FORMAT, i ? ", " : "", json_integer_value(v));
    }
}

static void status(bf__sb *sb, const bf_findings *f)
{
    size_t blocking = bf_findings_blocking(f), warns = bf_findings_count(f) - blocking;

    if (blocking)
        bf__sb_appendf(sb, "> **Status: blocked.** %zu blocking finding%s must be fixed before this "
                           "backfill can run (see Findings).\n\n",
                       blocking, blocking == 1 ? "" : "s");
    else
        bf__sb_appendf(sb, "> **Status: ready to plan.** No blocking findings (%zu warning%s).\n\n",
                       warns, warns == 1 ? "" : "s");
}

static void what_changes(bf__sb *sb, const bf_brief *b)
{
    const json_t *doc = b->doc;

    bf__sb_append(sb, "## What changes\n\n- **Table:** ");
    if (bf_brief_target_table(b))
        bf__sb_appendf(sb, "`%s`", bf_brief_target_table(b));
    else
        bf__sb_append(sb, "_Not given._");
    if (bf_brief_key_count(b)) {
        bf__sb_append(sb, ", one row per ");
        code_list(sb, bf__json_at(doc, "target.key"));
    }
    bf__sb_append(sb, "\n- **Columns rewritten:** ");
    if (bf_brief_column_count(b)) {
        code_list(sb, bf__json_at(doc, "target.columns"));
        bf__sb_append(sb, "; all other columns must stay exactly as they are");
    } else {
        bf__sb_append(sb, "_Not listed._");
    }
    bf__sb_append(sb, "\n- **Built from:** ");
    if (bf_brief_source_count(b))
        code_list(sb, json_object_get(doc, "sources"));
    else
        bf__sb_append(sb, "_Not listed._");
    bf__sb_append(sb, "\n- **Code version:** ");
    or_not_given(sb, bf_brief_code_version(b));
    bf__sb_append(sb, "\n\n");
}

static void scope(bf__sb *sb, const bf_brief *b)
{
    int64_t lo, hi, n;

    bf__sb_append(sb, "## Scope\n\n");
    switch (bf_brief_scope_kind(b)) {
    case BF_SCOPE_TIME:
        bf__sb_appendf(sb, "From %s up to, but not including, %s (%s time).\n",
                       bf_brief_scope_start(b) ? bf_brief_scope_start(b) : "(start not given)",
                       bf_brief_scope_end(b) ? bf_brief_scope_end(b) : "(end not given)",
                       bf_brief_scope_timezone(b));
        break;
    case BF_SCOPE_KEYS:
        bf__sb_appendf(sb, "Keys `%s` from ", bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?");
        if (bf_brief_scope_key_start(&lo, b) == BF_OK && bf_brief_scope_key_end(&hi, b) == BF_OK)
            bf__sb_appendf(sb, "%lld up to, but not including, %lld.\n", (long long)lo, (long long)hi);
        else
            bf__sb_append(sb, "a range not fully given.\n");
        break;
    case BF_SCOPE_PARTITIONS:
        bf__sb_appendf(sb, "%zu partition%s of `%s`: ", bf_brief_partition_count(b),
                       bf_brief_partition_count(b) == 1 ? "" : "s",
                       bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?");
        code_list(sb, bf__json_at(b->doc, "scope.partitions.values"));
        bf__sb_append(sb, ".\n");
        break;
    case BF_SCOPE_BUCKETS:
        if (bf_brief_scope_buckets(&n, b) != BF_OK)
            n = 0;
        bf__sb_appendf(sb, "All rows, spread by `%s` over %lld hash buckets.\n",
                       bf_brief_scope_column(b) ? bf_brief_scope_column(b) : "?", (long long)n);
        break;
    case BF_SCOPE_NONE:
        bf__sb_append(sb, "_Not given._\n");
        break;
    }
    if (bf_brief_expected_rows_min(&lo, b) == BF_OK && bf_brief_expected_rows_max(&hi, b) == BF_OK)
        bf__sb_appendf(sb, "\nExpected rows: between %lld and %lld.\n", (long long)lo, (long long)hi);
    else if (bf_brief_expected_rows_min(&lo, b) == BF_OK)
        bf__sb_appendf(sb, "\nExpected rows: at least %lld.\n", (long long)lo);
    else if (bf_brief_expected_rows_max(&hi, b) == BF_OK)
        bf__sb_appendf(sb, "\nExpected rows: at most %lld.\n", (long long)hi);
    bf__sb_append(sb, "\n");
}

static void person_row(bf__sb *sb, const char *role, const char *who)
{
    bf__sb_appendf(sb, "| %s | ", role);
    if (who && who[0])
        cell(sb, who);
    else
        bf__sb_append(sb, "_Not given._");
    bf__sb_append(sb, " |\n");
}

static void people_and_risk(bf__sb *sb, const bf_brief *b)
{
    bf_risk risk = bf_brief_risk(b);

    bf__sb_append(sb, "## People\n\n| Role | Who |\n|---|---|\n");
    person_row(sb, "Owner (runs it)", bf_brief_owner(b));
    person_row(sb, "Reviewer (approves the cutover)", bf_brief_reviewer(b));
    person_row(sb, "Rollback owner", bf_brief_rollback_owner(b));
    bf__sb_append(sb, "\n## Risk\n\n");
    if (risk)
        bf__sb_appendf(sb, "%s\n\n", risk_sentences[risk]);
    else
        bf__sb_append(sb, "_Not rated._\n\n");
}

/* The items of a string list, joined with ", ". */
static void join_list(bf__sb *sb, const json_t *list)
{
    size_t i;
    json_t *item;

    json_array_foreach(list, i, item)
        bf__sb_appendf(sb, "%s%s", i ? ", " : "", json_string_value(item));
}

/* `batching.window`, when given: the hours and days batches may be claimed. */
static void when(bf__sb *sb, const bf_brief *b)
{
    const json_t *hours = bf__json_at(b->doc, "batching.window.hours");
    const json_t *days = bf__json_at(b->doc, "batching.window.days");
    const char *zone = bf_brief_scope_timezone(b);

    if (!bf__json_at(b->doc, "batching.window"))
        return;
    bf__sb_append(sb, "- **When:** batches are claimed only ");
    if (hours) {
        bf__sb_append(sb, "within ");
        join_list(sb, hours);
    } else {
        bf__sb_append(sb, "all day");
    }
    if (days) {
        bf__sb_append(sb, " on ");
        join_list(sb, days);
    } else {
        bf__sb_append(sb, ", every day");
    }
    bf__sb_appendf(sb, " (%s time).\n", zone ? zone : "UTC");
}

static void how_written(bf__sb *sb, const bf_brief *b)
{
    bf_batch_by by = bf_brief_batch_by(b);
    bf_write_strategy s = bf_brief_write_strategy(b);
    int64_t every = 1, v;

    bf__sb_append(sb, "## How it is written\n\n- **Batches:** ");
    bf_brief_every(&every, b);
    if (by == BF_BATCH_BY_TIME && bf_brief_grain(b))
        bf__sb_appendf(sb, "%lld %s%s each", (long long)every, bf_grain_name(bf_brief_grain(b)),
                       every == 1 ? "" : "s");
    else if (by == BF_BATCH_BY_KEY && bf_brief_width(&v, b) == BF_OK)
        bf__sb_appendf(sb, "%lld keys each", (long long)v);
    else if (by == BF_BATCH_BY_KEY && bf_brief_rows_per_batch(&v, b) == BF_OK)
        bf__sb_appendf(sb, "about %lld rows each", (long long)v);
    else if (by == BF_BATCH_BY_PARTITION)
        bf__sb_append(sb, "one partition each");
    else if (by == BF_BATCH_BY_BUCKET)
        bf__sb_append(sb, "one hash bucket each");
    else
        bf__sb_append(sb, "_not described_");
    if (bf_brief_batch_order(b))
        bf__sb_appendf(sb, ", %s", bf_brief_batch_order(b) == BF_BATCH_ORDER_OLDEST_FIRST
                                       ? "oldest first" : "newest first");
    if (bf_brief_max_concurrency(&v, b) == BF_OK)
        bf__sb_appendf(sb, ", at most %lld at a time", (long long)v);
    if (bf_brief_max_attempts(&v, b) == BF_OK)
        bf__sb_appendf(sb, ", up to %lld attempts each", (long long)v);
    bf__sb_append(sb, ".\n");
    when(sb, b);
    bf__sb_append(sb, "- **Write pattern:** ");
    bf__sb_append(sb, s ? strategy_sentences[s] : "_Not given._");
    if (s == BF_WRITE_PARALLEL_VERSION && bf_brief_version_table(b))
        bf__sb_appendf(sb, " Version table: `%s`.", bf_brief_version_table(b));
    if (s == BF_WRITE_MERGE && bf_brief_delete_missing(b))
        bf__sb_append(sb, " Rows the job no longer produces are deleted.");
    bf__sb_append(sb, bf_brief_snapshot(b)
                          ? "\n- **Pre-images:** kept for every batch, so any batch can be undone.\n\n"
                          : "\n- **Pre-images:** not kept.\n\n");
}

static void affected(bf__sb *sb, const bf_brief *b)
{
    bf_lineage *l;
    int rc;

    bf__sb_append(sb, "## Who is affected\n\n");
    if (bf_brief_downstream_count(b) == 0 && bf_brief_stakeholder_count(b) == 0) {
        bf__sb_append(sb, "_No downstream assets or stakeholders are listed._\n\n");
        return;
    }
    rc = bf_lineage_new(&l, b);
    if (rc == BF_E_NOMEM) {
        sb->failed = 1;
        return;
    }
    if (rc != BF_OK) {
        bf__sb_appendf(sb, "_Could not be worked out: %s_\n\n", bf_last_error());
        return;
    }
    bf__sb_append(sb, "- **Directly (read the table):** ");
    for (size_t i = 0; i < bf_lineage_direct_count(l); i++)
        bf__sb_appendf(sb, "%s%s", i ? ", " : "", bf_lineage_direct(l, i));
    if (!bf_lineage_direct_count(l))
        bf__sb_append(sb, "none listed");
    bf__sb_append(sb, "\n- **Indirectly (through those):** ");
    for (size_t i = 0; i < bf_lineage_indirect_count(l); i++)
        bf__sb_appendf(sb, "%s%s", i ? ", " : "", bf_lineage_indirect(l, i));
    if (!bf_lineage_indirect_count(l))
        bf__sb_append(sb, "none listed");
    bf__sb_append(sb, "\n- **People to tell:**");
    for (size_t i = 0; i < bf_lineage_human_count(l); i++)
        bf__sb_appendf(sb, "%s %s (%s)", i ? ";" : "", bf_lineage_human(l, i),
                       bf_lineage_human_reason(l, i));
    if (!bf_lineage_human_count(l))
        bf__sb_append(sb, " no one listed");
    if (bf_lineage_refresh_count(l)) {
        bf__sb_append(sb, "\n- **Refreshed after cutover, in this order:** ");
        for (size_t i = 0; i < bf_lineage_refresh_count(l); i++)
            bf__sb_appendf(sb, "%s%s", i ? ", then " : "", bf_lineage_refresh(l, i));
    }
    if (bf_brief_channel(b))
        bf__sb_appendf(sb, "\n- **Announced in:** %s", bf_brief_channel(b));
    bf__sb_append(sb, "\n\n");
    bf_lineage_free(l);
}

static void range_words(bf__sb *sb, const json_t *range, const char *unit)
{
    json_t *lo = json_object_get(range, "min"), *hi = json_object_get(range, "max");

    if (lo && hi)
        bf__sb_appendf(sb, "between %g%s and %g%s", json_number_value(lo), unit,
                       json_number_value(hi), unit);
    else if (lo)
        bf__sb_appendf(sb, "at least %g%s", json_number_value(lo), unit);
    else if (hi)
        bf__sb_appendf(sb, "at most %g%s", json_number_value(hi), unit);
    else
        bf__sb_append(sb, "by any amount");
}

/* A check's text member, or "?" in a draft that lacks it. */
static const char *member_text(const json_t *check, const char *key)
{
    const char *text = json_string_value(json_object_get(check, key));

    return text ? text : "?";
}

static void check_line(bf__sb *sb, const bf_brief *b, const json_t *c, size_t i)
{
    const char *name = bf_brief_check_name(b, i);
    json_t *cols = json_object_get(c, "columns");

    bf__sb_append(sb, "- ");
    switch (bf_brief_check_kind(b, i)) {
    case BF_CHECK_ROW_COUNT:
        bf__sb_append(sb, "The number of rows is ");
        range_words(sb, c, "");
        break;
    case BF_CHECK_UNIQUE:
        bf__sb_append(sb, "No duplicated or missing keys (");
        code_list(sb, cols ? cols : bf__json_at(b->doc, "target.key"));
        bf__sb_append(sb, ")");
        break;
    case BF_CHECK_NOT_NULL:
        if (json_number_value(json_object_get(c, "max_rate")) > 0)
            bf__sb_appendf(sb, "At most %g%% of values missing in ",
                           100 * json_number_value(json_object_get(c, "max_rate")));
        else
            bf__sb_append(sb, "No missing values in ");
        code_list(sb, cols);
        break;
    case BF_CHECK_REFERENCES:
        bf__sb_append(sb, "Every ");
        code_list(sb, cols);
        bf__sb_appendf(sb, " exists in `%s`", member_text(c, "parent"));
        break;
    case BF_CHECK_METRIC:
        bf__sb_appendf(sb, "The metric \"%s\" (`%s`) moves ", name ? name : "unnamed",
                       member_text(c, "expr"));
        if (json_object_get(c, "expect_delta_pct"))
            range_words(sb, json_object_get(c, "expect_delta_pct"), "%");
        else
            range_words(sb, json_object_get(c, "expect_delta"), "");
        name = NULL;
        break;
    case BF_CHECK_UNCHANGED_COLUMNS:
        bf__sb_append(sb, "Columns not being fixed stay exactly as they were");
        break;
    case BF_CHECK_RECORDS:
        bf__sb_appendf(sb, "%zu named record%s the expected values",
                       json_array_size(json_object_get(c, "expect")),
                       json_array_size(json_object_get(c, "expect")) == 1 ? " shows" : "s show");
        break;
    case BF_CHECK_SQL:
        bf__sb_append(sb, "A custom query finds no failing rows");
        break;
    case BF_CHECK_COMPLETENESS:
        bf__sb_append(sb, "No key, partition or day goes missing");
        break;
    case BF_CHECK_FOOTPRINT:
        bf__sb_append(sb, "The table's size on disk ");
        if (json_object_get(c, "max_growth_pct"))
            bf__sb_appendf(sb, "grows by at most %g%%",
                           json_number_value(json_object_get(c, "max_growth_pct")));
        else
            bf__sb_append(sb, "is recorded before and after");
        break;
    case BF_CHECK_COVERAGE:
        bf__sb_append(sb, "Rows outside the scope stay exactly as they were, and each batch's "
                          "rows stay as many as it left");
        break;
    case BF_CHECK_UNSET:
        break;
    }
    if (name)
        bf__sb_appendf(sb, " (\"%s\")", name);
    if (bf_brief_check_per(b, i) == BF_CHECK_PER_BATCH)
        bf__sb_append(sb, ", for every batch");
    else if (bf_brief_check_per(b, i) == BF_CHECK_PER_RUN)
        bf__sb_append(sb, ", over the whole run");
    bf__sb_append(sb, bf_brief_check_severity(b, i) == BF_CHECK_SEVERITY_WARN ? " (a warning only).\n"
                                                                               : ".\n");
}

static void checks_and_undo(bf__sb *sb, const bf_brief *b)
{
    json_t *checks = json_object_get(b->doc, "validation");
    size_t i;
    json_t *c;
    int64_t days;

    bf__sb_append(sb, "## How it is checked\n\n");
    json_array_foreach(checks, i, c)
        check_line(sb, b, c, i);
    /* What the runner holds any run to, checks or not; the coverage check is only when listed. */
    bf__sb_append(sb, "- Every planned batch is done and validated before the run can be approved, "
                      "and no batch writes outside its own bounds (always on).\n\n");
    bf__sb_append(sb, "## How to undo it\n\n");
    or_not_given(sb, bf_brief_rollback_plan(b));
    if (bf_brief_retention_days(&days, b) == BF_OK)
        bf__sb_appendf(sb, " What is needed to undo it is kept for %lld days.", (long long)days);
    bf__sb_append(sb, "\n\n");
}

static void findings(bf__sb *sb, const bf_findings *f)
{
    bf__sb_append(sb, "## Findings\n\n");
    if (!bf_findings_count(f)) {
        bf__sb_append(sb, "None: the brief passes every preflight rule.\n");
        return;
    }
    bf__sb_append(sb, "| Severity | Code | Where | What |\n|---|---|---|---|\n");
    for (size_t i = 0; i < bf_findings_count(f); i++) {
        bf__sb_appendf(sb, "| %s | `%s` | `%s` | ",
                       bf_findings_severity(f, i) == BF_SEVERITY_BLOCK ? "**block**" : "warn",
                       bf_findings_code(f, i), bf_findings_path(f, i));
        cell(sb, bf_findings_message(f, i));
        bf__sb_append(sb, " |\n");
    }
}

int bf_brief_render_markdown(char **out, const bf_brief *brief)
{
    bf_findings *f;
    bf__sb sb;
    int rc;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_brief_render_markdown: out or brief is NULL");
    *out = NULL;
    rc = bf_brief_check(&f, brief);
    if (rc != BF_OK)
        return rc;
    bf__sb_init(&sb);
    bf__sb_appendf(&sb, "# Backfill brief: %s\n\n",
                   bf_brief_name(brief) ? bf_brief_name(brief) : "(unnamed)");
    status(&sb, f);
    bf__sb_append(&sb, "## Why\n\n");
    or_not_given(&sb, bf_brief_reason(brief));
    bf__sb_append(&sb, "\n\n");
    what_changes(&sb, brief);
    scope(&sb, brief);
    people_and_risk(&sb, brief);
    how_written(&sb, brief);
    affected(&sb, brief);
    checks_and_undo(&sb, brief);
    findings(&sb, f);
    bf_findings_free(f);
    return bf__sb_finish(&sb, out);
}
