/*
 * The Markdown of a report, rendered from its facts (facts.c), so the two
 * formats cannot say different things. Deterministic: no current time,
 * numbers through the locale-independent wrappers. User text is flattened to
 * one line, and escaped in table cells.
 */
#include <math.h>
#include <string.h>

#include "report/report_internal.h"

#define S(obj, key) json_string_value(json_object_get((obj), (key)))
#define I(obj, key) ((long long)json_integer_value(json_object_get((obj), (key))))

/* Text on one line: line breaks become spaces; in a table cell `|` is escaped too. */
static void text(bf__sb *sb, const char *s, int in_cell)
{
    for (const char *c = s ? s : ""; *c; c++) {
        if (*c == '\n' || *c == '\r')
            bf__sb_appendc(sb, ' ');
        else if (in_cell && *c == '|')
            bf__sb_append(sb, "\\|");
        else
            bf__sb_appendc(sb, *c);
    }
}

static void or_text(bf__sb *sb, const char *s, const char *fallback)
{
    if (s && s[0])
        text(sb, s, 0);
    else
        bf__sb_append(sb, fallback);
}

/* A name as code: `name`, or plain escaped text when it holds a backtick. */
static void code(bf__sb *sb, const char *s)
{
    if (s && strchr(s, '`'))
        text(sb, s, 0);
    else
        bf__sb_appendf(sb, "`%s`", s ? s : "");
}

static void list(bf__sb *sb, const json_t *a, int as_code, const char *none)
{
    size_t i;
    json_t *v;

    if (!json_array_size(a)) {
        bf__sb_append(sb, none);
        return;
    }
    json_array_foreach(a, i, v) {
        if (i)
            bf__sb_append(sb, ", ");
        if (as_code)
            code(sb, json_string_value(v));
        else
            text(sb, json_string_value(v), 0);
    }
}

/*
 * A measured value: fifteen significant digits, as many as any decimal
 * keeps through a double, so that a revenue of 12345678901.23 keeps its
 * cents (ten digits wrote 1.23456789e+10) while the float noise of a sum
 * (881344.4500000001) is not shown.
 */
static void number(bf__sb *sb, double x)
{
    bf__sb_appendf(sb, "%.15g", x);
}

static void signed_number(bf__sb *sb, double x)
{
    bf__sb_appendf(sb, "%s%.15g", x > 0 ? "+" : "", x);
}

/*
 * A percentage as people write one: two decimals at most (-4.43, 12.5, -5),
 * or two significant digits below 1 (0.12, 0.0031) so that a small change
 * does not read as none. The JSON keeps the full value.
 */
static void signed_percent(bf__sb *sb, double x)
{
    char buf[64];
    size_t n;

    if (fabs(x) < 1) {
        bf__snprintf(buf, sizeof buf, "%s%.2g", x > 0 ? "+" : "", x);
    } else {
        bf__snprintf(buf, sizeof buf, "%s%.2f", x > 0 ? "+" : "", x);
        n = strlen(buf);
        while (n && buf[n - 1] == '0')
            buf[--n] = '\0';
        if (n && buf[n - 1] == '.')
            buf[--n] = '\0';
    }
    bf__sb_appendf(sb, "%s%%", buf);
}

static void instant(bf__sb *sb, const json_t *obj, const char *name)
{
    char key[64];
    const char *iso, *local;

    bf__snprintf(key, sizeof key, "%s_iso", name);
    iso = S(obj, key);
    bf__snprintf(key, sizeof key, "%s_local", name);
    local = S(obj, key);
    if (!iso) {
        bf__sb_append(sb, "not recorded");
        return;
    }
    bf__sb_appendf(sb, "%s (%s)", iso, local ? local : "");
}

/* ---- sections ---- */

static void title(bf__sb *sb, const json_t *f, const char *what)
{
    const json_t *b = json_object_get(f, "brief"), *run = json_object_get(f, "run");

    bf__sb_appendf(sb, "# %s: ", what);
    or_text(sb, S(b, "name"), "unnamed backfill");
    bf__sb_append(sb, "\n\n");
    if (json_is_object(run))
        bf__sb_appendf(sb, "Run %lld (number %lld of this brief), state **%s**.\n\n", I(run, "id"),
                       I(run, "seq"), S(run, "state"));
    bf__sb_append(sb, "> **Status:** ");
    text(sb, S(f, "status"), 0);
    bf__sb_append(sb, "\n\n");
}

static void what_changes(bf__sb *sb, const json_t *f, const char *heading)
{
    const json_t *b = json_object_get(f, "brief");
    const json_t *lo = json_object_get(b, "expected_rows_min"), *hi = json_object_get(b, "expected_rows_max");

    bf__sb_appendf(sb, "## %s\n\n- **Table:** ", heading);
    if (S(b, "table"))
        code(sb, S(b, "table"));
    else
        bf__sb_append(sb, "not given");
    if (json_array_size(json_object_get(b, "key"))) {
        bf__sb_append(sb, ", one row per ");
        list(sb, json_object_get(b, "key"), 1, "");
    }
    bf__sb_append(sb, "\n- **Columns expected to change:** ");
    list(sb, json_object_get(b, "columns"), 1, "not listed");
    bf__sb_append(sb, "\n- **Period:** ");
    text(sb, S(json_object_get(b, "period"), "text"), 0);
    if (json_is_integer(lo) && json_is_integer(hi))
        bf__sb_appendf(sb, "\n- **Rows in scope (expected):** between %lld and %lld",
                       (long long)json_integer_value(lo), (long long)json_integer_value(hi));
    bf__sb_append(sb, "\n- **Write pattern:** ");
    or_text(sb, S(b, "write_strategy"), "not given");
    bf__sb_append(sb, json_is_true(json_object_get(b, "snapshot")) ? ", pre-images kept\n" : "\n");
    bf__sb_append(sb, "\n## Why\n\n");
    or_text(sb, S(b, "reason"), "_No reason is given in the brief._");
    bf__sb_append(sb, "\n\n");
}

static void when(bf__sb *sb, const json_t *f)
{
    bf__sb_append(sb, "## When\n\n");
    text(sb, S(json_object_get(f, "when"), "text"), 0);
    bf__sb_append(sb, "\n\n");
}

static void may_move(bf__sb *sb, const json_t *f)
{
    const json_t *r = json_object_get(f, "blast_radius");
    size_t i;
    json_t *p;

    bf__sb_append(sb, "## What may move\n\n");
    if (!json_is_true(json_object_get(r, "known"))) {
        bf__sb_append(sb, "_Could not be worked out: ");
        text(sb, S(r, "error"), 0);
        bf__sb_append(sb, "_\n\n");
        return;
    }
    bf__sb_append(sb, "- **Directly (read the table):** ");
    list(sb, json_object_get(r, "direct"), 0, "none listed");
    bf__sb_append(sb, "\n- **Indirectly (through those):** ");
    list(sb, json_object_get(r, "indirect"), 0, "none listed");
    bf__sb_append(sb, "\n\n## Who is told\n\n");
    if (!json_array_size(json_object_get(r, "people")))
        bf__sb_append(sb, "- No one is listed.\n");
    json_array_foreach(json_object_get(r, "people"), i, p) {
        bf__sb_append(sb, "- ");
        text(sb, S(p, "who"), 0);
        bf__sb_append(sb, " (");
        text(sb, S(p, "why"), 0);
        bf__sb_append(sb, ")\n");
    }
    bf__sb_append(sb, "- **Channel:** ");
    or_text(sb, S(json_object_get(f, "brief"), "channel"), "not given");
    bf__sb_append(sb, "\n\n");
}

static void who_to_ask(bf__sb *sb, const json_t *f)
{
    const json_t *b = json_object_get(f, "brief"), *run = json_object_get(f, "run");

    bf__sb_append(sb, "## Who to ask\n\n- **Owner:** ");
    or_text(sb, S(b, "owner"), "not given");
    bf__sb_append(sb, "\n- **Reviewer:** ");
    or_text(sb, S(b, "reviewer"), "not given");
    if (json_is_object(run)) {
        bf__sb_append(sb, "\n- **Operator (runs it):** ");
        or_text(sb, S(run, "operator"), "not recorded");
    }
    bf__sb_append(sb, "\n\n");
}

static void rollback(bf__sb *sb, const json_t *f)
{
    const json_t *b = json_object_get(f, "brief");

    bf__sb_append(sb, "## Rollback plan\n\n");
    or_text(sb, S(b, "rollback_plan"), "_No rollback plan is given in the brief._");
    if (S(b, "rollback_owner")) {
        bf__sb_append(sb, " Rollback owner: ");
        text(sb, S(b, "rollback_owner"), 0);
        bf__sb_append(sb, ".");
    }
    if (json_is_integer(json_object_get(b, "retention_days")))
        bf__sb_appendf(sb, " What is needed to undo it is kept for %lld days.",
                       I(b, "retention_days"));
    bf__sb_append(sb, "\n\n");
}

static void batch_rows(bf__sb *sb, const json_t *a, size_t max)
{
    size_t i;
    json_t *e;

    bf__sb_append(sb, "| Batch | State | Attempt | Last error |\n|---|---|---|---|\n");
    json_array_foreach(a, i, e) {
        if (i == max) {
            bf__sb_appendf(sb, "| _and %zu more_ | | | |\n", json_array_size(a) - max);
            break;
        }
        bf__sb_append(sb, "| ");
        text(sb, S(e, "label"), 1);
        bf__sb_appendf(sb, " | %s | %lld | ", S(e, "state"), I(e, "attempt"));
        text(sb, S(e, "error") ? S(e, "error") : "", 1);
        bf__sb_append(sb, " |\n");
    }
    bf__sb_append(sb, "\n");
}

static void progress(bf__sb *sb, const json_t *f)
{
    const json_t *p = json_object_get(f, "progress"), *bt = json_object_get(f, "batches");
    const json_t *radius = json_object_get(f, "blast_radius");

    bf__sb_appendf(sb, "## Progress\n\n- **Batches done:** %lld of %lld (%lld validated, %lld "
                       "running, %lld pending, %lld failed, %lld cancelled)\n",
                   I(p, "done"), I(p, "total"), I(p, "validated"), I(p, "running"), I(p, "pending"),
                   I(p, "failed"), I(p, "cancelled"));
    bf__sb_appendf(sb, "- **Rows written so far:** %lld (%lld deleted)\n", I(p, "rows_written"),
                   I(p, "rows_deleted"));
    bf__sb_append(sb, "- **Expected to end:** ");
    if (S(p, "eta_iso"))
        instant(sb, p, "eta");
    else
        text(sb, S(p, "eta_note") ? S(p, "eta_note") : "unknown", 0);
    bf__sb_append(sb, "\n\n");
    if (json_array_size(json_object_get(bt, "failed"))) {
        bf__sb_append(sb, "### Failed batches\n\n");
        batch_rows(sb, json_object_get(bt, "failed"), 20);
    }
    if (json_array_size(json_object_get(bt, "waiting"))) {
        bf__sb_append(sb, "### Waiting batches\n\n");
        batch_rows(sb, json_object_get(bt, "waiting"), 10); /* the next few: the rest is counted */
    }
    bf__sb_append(sb, "> Numbers in ");
    if (json_array_size(json_object_get(radius, "direct")) + json_array_size(json_object_get(radius, "indirect"))) {
        list(sb, json_object_get(radius, "direct"), 0, "");
        if (json_array_size(json_object_get(radius, "direct")) && json_array_size(json_object_get(radius, "indirect")))
            bf__sb_append(sb, ", ");
        list(sb, json_object_get(radius, "indirect"), 0, "");
        bf__sb_append(sb, " and in ");
    }
    if (S(json_object_get(f, "brief"), "table"))
        code(sb, S(json_object_get(f, "brief"), "table"));
    else
        bf__sb_append(sb, "the target table");
    bf__sb_append(sb, " may be inconsistent until ");
    if (S(p, "eta_iso"))
        instant(sb, p, "eta");
    else
        bf__sb_append(sb, "the run ends");
    bf__sb_append(sb, ".\n\n");
}

static void counts(bf__sb *sb, const json_t *c)
{
    bf__sb_appendf(sb, "%lld pass, %lld warn, %lld fail, %lld error, %lld skipped", I(c, "pass"),
                   I(c, "warn"), I(c, "fail"), I(c, "error"), I(c, "skipped"));
}

static void finding_rows(bf__sb *sb, const json_t *a)
{
    size_t i;
    json_t *e;

    bf__sb_append(sb, "| Batch | Check | Outcome | What |\n|---|---|---|---|\n");
    json_array_foreach(a, i, e) {
        bf__sb_append(sb, "| ");
        text(sb, S(e, "batch") ? S(e, "batch") : "run", 1);
        bf__sb_append(sb, " | ");
        text(sb, S(e, "check"), 1);
        if (S(e, "name")) {
            bf__sb_append(sb, " ");
            text(sb, S(e, "name"), 1);
        }
        bf__sb_appendf(sb, " | %s | ", S(e, "outcome"));
        text(sb, S(e, "message"), 1);
        bf__sb_append(sb, " |\n");
    }
    bf__sb_append(sb, "\n");
}

static void validation(bf__sb *sb, const json_t *f)
{
    const json_t *v = json_object_get(f, "validation"), *b = json_object_get(v, "batches");
    const json_t *runv = json_object_get(v, "run");

    bf__sb_append(sb, "## Validation\n\n- **Run level:** ");
    if (json_is_object(runv)) {
        bf__sb_append(sb, json_is_true(json_object_get(runv, "passed")) ? "passed (" : "**failed** (");
        counts(sb, json_object_get(runv, "counts"));
        bf__sb_append(sb, ")");
    } else {
        bf__sb_append(sb, "not recorded");
    }
    bf__sb_appendf(sb, "\n- **Batches:** %lld recorded, %lld passed, %lld failed (checks: ",
                   I(b, "recorded"), I(b, "passed"), I(b, "failed"));
    counts(sb, json_object_get(b, "counts"));
    bf__sb_append(sb, ")\n\n");
    if (json_array_size(json_object_get(v, "failures"))) {
        bf__sb_append(sb, "### Failing checks\n\n");
        finding_rows(sb, json_object_get(v, "failures"));
    }
    if (json_array_size(json_object_get(v, "warnings"))) {
        bf__sb_append(sb, "### Warnings\n\n");
        finding_rows(sb, json_object_get(v, "warnings"));
    }
}

static void metrics(bf__sb *sb, const json_t *f)
{
    const json_t *m = json_object_get(f, "metrics");
    size_t i;
    json_t *e;

    bf__sb_append(sb, "## Metrics\n\n");
    if (!json_array_size(m)) {
        bf__sb_append(sb, "No metric check recorded a before and after value.\n\n");
        return;
    }
    json_array_foreach(json_object_get(f, "metric_totals"), i, e) {
        bf__sb_append(sb, "- **");
        text(sb, S(e, "name") ? S(e, "name") : "metric", 0);
        bf__sb_appendf(sb, "**, summed over %lld batch%s", I(e, "batches"),
                       I(e, "batches") == 1 ? "" : "es");
        if (I(e, "rolled_back"))
            bf__sb_appendf(sb, " in effect (%lld rolled back since, not counted)",
                           I(e, "rolled_back"));
        bf__sb_append(sb, ": ");
        number(sb, json_number_value(json_object_get(e, "before")));
        bf__sb_append(sb, " before, ");
        number(sb, json_number_value(json_object_get(e, "after")));
        bf__sb_append(sb, " after (");
        signed_number(sb, json_number_value(json_object_get(e, "delta")));
        if (json_is_number(json_object_get(e, "delta_pct"))) {
            bf__sb_append(sb, ", ");
            signed_percent(sb, json_number_value(json_object_get(e, "delta_pct")));
        }
        bf__sb_append(sb, ")");
        if (json_is_object(json_object_get(e, "explained"))) {
            const json_t *x = json_object_get(e, "explained");

            bf__sb_append(sb, ": added rows ");
            signed_number(sb, json_number_value(json_object_get(x, "added")));
            bf__sb_append(sb, ", removed rows ");
            signed_number(sb, json_number_value(json_object_get(x, "removed")));
            bf__sb_append(sb, ", changed rows ");
            signed_number(sb, json_number_value(json_object_get(x, "changed")));
        }
        bf__sb_append(sb, "\n");
    }
    if (json_array_size(json_object_get(f, "metric_totals")))
        bf__sb_append(sb, "\n");
    bf__sb_append(sb, "| Batch | Metric | Before | After | Delta | Explained | Outcome |\n"
                      "|---|---|---|---|---|---|---|\n");
    json_array_foreach(m, i, e) {
        const json_t *x = json_object_get(e, "explained");
        if (i == 50) {
            bf__sb_appendf(sb, "| _and %zu more (see the JSON)_ | | | | | | |\n", json_array_size(m) - 50);
            break;
        }
        bf__sb_append(sb, "| ");
        text(sb, S(e, "batch") ? S(e, "batch") : "run", 1);
        if (json_is_true(json_object_get(e, "rolled_back")))
            bf__sb_append(sb, " (rolled back since)");
        else if (json_is_true(json_object_get(e, "before_rollback")))
            bf__sb_append(sb, " (measured before the rollback)");
        bf__sb_append(sb, " | ");
        text(sb, S(e, "name") ? S(e, "name") : "metric", 1);
        bf__sb_append(sb, " | ");
        number(sb, json_number_value(json_object_get(e, "before")));
        bf__sb_append(sb, " | ");
        number(sb, json_number_value(json_object_get(e, "after")));
        bf__sb_append(sb, " | ");
        signed_number(sb, json_number_value(json_object_get(e, "delta")));
        bf__sb_append(sb, " | ");
        if (json_is_object(x)) {
            bf__sb_append(sb, "added ");
            signed_number(sb, json_number_value(json_object_get(x, "added")));
            bf__sb_append(sb, ", removed ");
            signed_number(sb, json_number_value(json_object_get(x, "removed")));
            bf__sb_append(sb, ", changed ");
            signed_number(sb, json_number_value(json_object_get(x, "changed")));
        } else {
            bf__sb_append(sb, "not recorded (see `backfill diff`)");
        }
        bf__sb_appendf(sb, " | %s |\n", S(e, "outcome"));
    }
    bf__sb_append(sb, "\n");
}

static void refreshed(bf__sb *sb, const json_t *f)
{
    const json_t *r = json_object_get(f, "refresh");
    const json_t *order = json_object_get(json_object_get(f, "blast_radius"), "refresh_order");
    size_t i;
    json_t *e;

    bf__sb_append(sb, "## Downstream refreshed\n\n");
    if (!json_array_size(r)) {
        bf__sb_append(sb, "Nothing refreshed yet");
        if (json_array_size(order)) {
            bf__sb_append(sb, "; to refresh, in this order: ");
            list(sb, order, 0, "");
        }
        bf__sb_append(sb, ".\n\n");
        return;
    }
    bf__sb_append(sb, "| Order | Asset | Status | When | Error |\n|---|---|---|---|---|\n");
    json_array_foreach(r, i, e) {
        if (json_is_integer(json_object_get(e, "order")))
            bf__sb_appendf(sb, "| %lld | ", I(e, "order"));
        else
            bf__sb_append(sb, "| | ");
        text(sb, S(e, "asset"), 1);
        bf__sb_append(sb, " | ");
        text(sb, S(e, "status") ? S(e, "status") : "?", 1);
        /* History: only an asset's latest record counts, an earlier one says it was redone. */
        if (json_is_false(json_object_get(e, "latest")))
            bf__sb_append(sb, " (superseded)");
        bf__sb_append(sb, " | ");
        if (S(e, "at_iso"))
            instant(sb, e, "at");
        bf__sb_append(sb, " | ");
        text(sb, S(e, "error") ? S(e, "error") : "", 1);
        bf__sb_append(sb, " |\n");
    }
    bf__sb_append(sb, "\n");
}

static void sign_off(bf__sb *sb, const json_t *f)
{
    const json_t *run = json_object_get(f, "run"), *a = json_object_get(f, "approval");
    const json_t *c = json_object_get(f, "cutover");

    bf__sb_append(sb, "## Sign-off\n\n- **Run by (operator):** ");
    or_text(sb, json_is_object(a) && S(a, "operator") ? S(a, "operator") : S(run, "operator"),
            "not recorded");
    bf__sb_append(sb, "\n- **Approved by:** ");
    if (json_is_object(a)) {
        or_text(sb, S(a, "reviewer") ? S(a, "reviewer") : S(a, "actor"), "?");
        bf__sb_append(sb, " at ");
        instant(sb, a, "at");
    } else {
        bf__sb_append(sb, "not yet approved");
    }
    bf__sb_append(sb, "\n- **Cut over:** ");
    if (json_is_object(c)) {
        instant(sb, c, "at");
        if (S(c, "strategy")) {
            bf__sb_append(sb, ", ");
            text(sb, S(c, "strategy"), 0);
        }
    } else {
        const char *ws = S(json_object_get(f, "brief"), "write_strategy");

        /* Only the shadow patterns swap tables; the others write the target in place. */
        if (ws && strcmp(ws, "staging_swap") && strcmp(ws, "parallel_version")) {
            bf__sb_append(sb, "not needed: ");
            text(sb, ws, 0);
            bf__sb_append(sb, " writes the target in place");
        } else {
            bf__sb_append(sb, "not yet");
        }
    }
    bf__sb_append(sb, "\n\n");
}

static void done_list(bf__sb *sb, const json_t *f)
{
    size_t i;
    json_t *e;

    bf__sb_append(sb, "## Definition of done\n\n");
    json_array_foreach(json_object_get(f, "definition_of_done"), i, e) {
        int done = json_is_true(json_object_get(e, "done"));
        bf__sb_appendf(sb, "- [%c] %s: ", done ? 'x' : ' ', S(e, "title"));
        if (!done)
            bf__sb_append(sb, "**not done**: ");
        text(sb, S(e, "evidence"), 0);
        bf__sb_append(sb, "\n");
    }
}

static void after(bf__sb *sb, const json_t *f)
{
    const json_t *run = json_object_get(f, "run"), *p = json_object_get(f, "progress");

    title(sb, f, "Change note");
    what_changes(sb, f, "What changed");
    bf__sb_appendf(sb, "## Batches and rows\n\n- **Batches:** %lld of %lld written (%lld validated, "
                       "%lld failed, %lld cancelled, %lld rolled back)\n",
                   I(p, "done"), I(p, "total"), I(p, "validated"), I(p, "failed"), I(p, "cancelled"),
                   I(p, "rolled_back"));
    bf__sb_appendf(sb, "- **Rows:** %lld written, %lld deleted", I(p, "rows_written"),
                   I(p, "rows_deleted"));
    {
        const json_t *u = json_object_get(json_object_get(f, "batches"), "rows_rolled_back");

        if (I(p, "rolled_back"))
            bf__sb_appendf(sb, " (of which %lld written and %lld deleted by batches rolled back "
                               "since, whose rows are as before)", I(u, "written"),
                           I(u, "deleted"));
    }
    bf__sb_append(sb, "\n- **Started:** ");
    instant(sb, run, "started");
    bf__sb_append(sb, "\n- **Finished:** ");
    if (S(run, "finished_iso"))
        instant(sb, run, "finished");
    else
        bf__sb_append(sb, "not finished");
    bf__sb_append(sb, "\n\n");
    validation(sb, f);
    metrics(sb, f);
    refreshed(sb, f);
    sign_off(sb, f);
    rollback(sb, f);
    done_list(sb, f);
}

int bf__report_markdown(char **out, const json_t *f)
{
    const char *stage = S(f, "stage");
    bf__sb sb;

    bf__sb_init(&sb);
    if (!strcmp(stage, "before")) {
        title(&sb, f, "Announcement");
        what_changes(&sb, f, "What will change");
        when(&sb, f);
        may_move(&sb, f);
        who_to_ask(&sb, f);
        rollback(&sb, f);
    } else if (!strcmp(stage, "during")) {
        title(&sb, f, "Maintenance notice");
        what_changes(&sb, f, "What is changing");
        when(&sb, f);
        progress(&sb, f);
        may_move(&sb, f);
        who_to_ask(&sb, f);
    } else {
        after(&sb, f);
    }
    return bf__sb_finish(&sb, out);
}
