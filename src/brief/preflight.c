/*
 * Preflight: one rule per checklist item of a good backfill (docs/brief.md,
 * "Preflight"). Each rule adds findings with a stable code; docs/brief.md
 * has the table of codes. Rules grow stricter as `risk` rises.
 */
#include <stdio.h>
#include <string.h>

#include "backfill/lineage.h"
#include "backfill/time.h"
#include "brief/brief_internal.h"
#include "brief/findings.h"
#include "brief/job_params.h"
#include "plan/planner_internal.h"

struct pf {
    const bf_brief *b;
    bf_findings *f;
    bf_risk risk;
    int scope_ok;    /* the scope is complete and not empty */
    int batching_ok; /* batching.by is given and nothing it needs is missing */
    int rc; /* the first failure; later findings are skipped */
};

#define BLOCK BF_SEVERITY_BLOCK
#define WARN BF_SEVERITY_WARN

#define FIND(pf, code, sev, path, ...)                                                     \
    do {                                                                                   \
        if ((pf)->rc == BF_OK)                                                             \
            (pf)->rc = bf__findings_add((pf)->f, code, sev, path, __VA_ARGS__);            \
    } while (0)


static int has(const bf_brief *b, const char *dotted)
{
    return bf__json_at(b->doc, dotted) != NULL;
}

/*
 * People are compared by Unicode simple case folding (CaseFolding.txt, status
 * C and S) over Basic Latin, Latin-1 Supplement, Latin Extended-A, Greek and
 * Cyrillic, in code, so the answer never depends on the host's locale
 * (tolower/towlower do). Other characters compare as they are.
 */
static uint32_t fold(uint32_t c)
{
    if (c < 0x80)
        return c >= 'A' && c <= 'Z' ? c + 32 : c;
    if (c == 0xB5)
        return 0x3BC; /* micro sign -> mu */
    if ((c >= 0xC0 && c <= 0xD6) || (c >= 0xD8 && c <= 0xDE))
        return c + 32;
    if (c >= 0x100 && c <= 0x17F) {
        if (c == 0x130 || c == 0x131 || c == 0x138 || c == 0x149)
            return c; /* dotted I folds only in Turkic rules; the rest have no simple folding */
        if (c == 0x178)
            return 0xFF;
        if (c == 0x17F)
            return 's';
        if ((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17E))
            return c & 1 ? c + 1 : c; /* odd capitals */
        return c & 1 ? c : c + 1;    /* even capitals */
    }
    if (c >= 0x370 && c <= 0x3FF) {
        switch (c) {
        case 0x370: case 0x372: case 0x376: return c + 1;
        case 0x37F: return 0x3F3;
        case 0x386: return 0x3AC;
        case 0x388: case 0x389: case 0x38A: return c + 37;
        case 0x38C: return 0x3CC;
        case 0x38E: case 0x38F: return c + 63;
        case 0x3C2: return 0x3C3; /* final sigma */
        case 0x3CF: return 0x3D7;
        case 0x3D0: return 0x3B2;
        case 0x3D1: return 0x3B8;
        case 0x3D5: return 0x3C6;
        case 0x3D6: return 0x3C0;
        case 0x3F0: return 0x3BA;
        case 0x3F1: return 0x3C1;
        case 0x3F4: return 0x3B8;
        case 0x3F5: return 0x3B5;
        case 0x3F7: case 0x3FA: return c + 1;
        case 0x3F9: return 0x3F2;
        case 0x3FD: case 0x3FE: case 0x3FF: return c - 130;
        default: break;
        }
        if ((c >= 0x391 && c <= 0x3A1) || (c >= 0x3A3 && c <= 0x3AB))
            return c + 32;
        if (c >= 0x3D8 && c <= 0x3EF)
            return c & 1 ? c : c + 1;
        return c;
    }
    if (c == 0x345)
        return 0x3B9; /* combining ypogegrammeni -> iota */
    if (c >= 0x400 && c <= 0x52F) {
        if (c <= 0x40F)
            return c + 80;
        if (c <= 0x42F)
            return c + 32;
        if ((c >= 0x460 && c <= 0x481) || (c >= 0x48A && c <= 0x4BF) || (c >= 0x4D0 && c <= 0x52F))
            return c & 1 ? c : c + 1;
        if (c == 0x4C0)
            return 0x4CF;
        if (c >= 0x4C1 && c <= 0x4CE)
            return c & 1 ? c + 1 : c;
    }
    return c;
}

/* The code point at *s (well-formed UTF-8, as the schema guarantees); advances *s. */
static uint32_t next_cp(const unsigned char **s)
{
    const unsigned char *p = *s;
    uint32_t c = p[0];
    size_t n = c < 0x80 ? 0 : c < 0xE0 ? 1 : c < 0xF0 ? 2 : 3;

    if (n)
        c &= 0x3F >> n;
    for (size_t i = 1; i <= n && p[i]; i++)
        c = (c << 6) | (p[i] & 0x3F);
    *s = p + 1 + n;
    return c;
}

/* Unicode white space (White_Space=yes), not the locale's idea of it. */
static int white(uint32_t c)
{
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
           c == 0x205F || c == 0x3000;
}

/* [*start, *end) of s without surrounding white space. */
static void trim(const unsigned char **start, const unsigned char **end, const char *s)
{
    const unsigned char *p = (const unsigned char *)s, *q;

    while (*p) {
        q = p;
        if (!white(next_cp(&p))) {
            p = q;
            break;
        }
    }
    *start = *end = p;
    while (*p)
        if (!white(next_cp(&p)))
            *end = p;
}

/* Absent, empty or only white space. */
static int blank(const char *s)
{
    const unsigned char *start, *end;

    if (!s)
        return 1;
    trim(&start, &end, s);
    return start == end;
}

/* Two names of people are the same person if they match ignoring case and surrounding blanks. */
int bf__same_person(const char *a, const char *b)
{
    const unsigned char *pa, *ea, *pb, *eb;

    trim(&pa, &ea, a);
    trim(&pb, &eb, b);
    while (pa < ea && pb < eb)
        if (fold(next_cp(&pa)) != fold(next_cp(&pb)))
            return 0;
    return pa >= ea && pb >= eb;
}

static void rule_identity(struct pf *pf)
{
    const bf_brief *b = pf->b;
    const char *owner = bf_brief_owner(b), *reviewer = bf_brief_reviewer(b);

    if (!bf_brief_format(b))
        FIND(pf, "missing-format", BLOCK, "$.format",
             "The brief does not say its format; add \"format\": \"backfill-brief/1\".");
    if (!bf_brief_name(b))
        FIND(pf, "missing-name", BLOCK, "$.name",
             "The brief has no name, so its runs cannot be numbered under one.");
    if (blank(bf_brief_reason(b)))
        FIND(pf, "missing-reason", BLOCK, "$.reason",
             "The brief does not say why history is being rewritten.");
    if (blank(owner))
        FIND(pf, "missing-owner", BLOCK, "$.owner", "No one owns this backfill.");
    if (blank(reviewer))
        FIND(pf, "missing-reviewer", BLOCK, "$.reviewer",
             "No reviewer is named to approve the cutover.");
    if (!blank(owner) && !blank(reviewer) && bf__same_person(owner, reviewer))
        FIND(pf, "reviewer-is-owner", BLOCK, "$.reviewer",
             "The reviewer is the owner (%s); a second person must review.", owner);
    if (!bf_brief_risk(b))
        FIND(pf, "missing-risk", BLOCK, "$.risk",
             "The brief does not rate its risk (enrichment, metric_repair, schema_migration or "
             "critical_rebuild).");
    if (blank(bf_brief_code_version(b)))
        FIND(pf, "missing-code-version", BLOCK, "$.code_version",
             "The version of the logic that produces the corrected data is not recorded.");
}

static void rule_target(struct pf *pf)
{
    const bf_brief *b = pf->b;

    if (!bf_brief_target_table(b))
        FIND(pf, "missing-target-table", BLOCK, "$.target.table",
             "The brief does not name the table it rewrites.");
    if (bf_brief_key_count(b) == 0) {
        if (bf_brief_write_strategy(b) == BF_WRITE_MERGE)
            FIND(pf, "merge-without-key", BLOCK, "$.target.key",
                 "A merge needs target.key to match rows, and none is given.");
        else
            FIND(pf, "missing-target-key", WARN, "$.target.key",
                 "The target's key (one row per key) is not given, so uniqueness cannot be checked.");
    }
}

/*
 * Whether the time scope holds no instant: its start and end compared as
 * instants of the scope's zone, as the planner resolves them (so "2025-01-01"
 * and "2025-01-01 00:00:00" are one instant, and so are two local times in
 * the same clock change). Adds the finding; -1 when the check itself failed.
 */
static int time_scope_empty(struct pf *pf)
{
    const bf_brief *b = pf->b;
    const char *start = bf_brief_scope_start(b), *end = bf_brief_scope_end(b);
    const char *zone = bf_brief_scope_timezone(b);
    bf_civil s, e;
    bf_tz *tz = NULL;
    int64_t s_utc, e_utc;
    int rc;

    /* The schema has parsed both dates and loaded the zone already. */
    if (bf_civil_parse(&s, start) != BF_OK || bf_civil_parse(&e, end) != BF_OK)
        return 0;
    rc = bf_tz_load(&tz, zone);
    if (rc != BF_OK) {
        if (rc == BF_E_NOMEM && pf->rc == BF_OK)
            pf->rc = rc;
        return rc == BF_E_NOMEM ? -1 : 0;
    }
    bf_tz_to_utc(&s_utc, tz, &s);
    bf_tz_to_utc(&e_utc, tz, &e);
    bf_tz_free(tz);
    if (s_utc < e_utc)
        return 0;
    if (bf_civil_seconds(&s) == bf_civil_seconds(&e))
        FIND(pf, "empty-scope", BLOCK, "$.scope.time",
             "The time scope is empty: its start \"%s\" and end \"%s\" are the same time, so "
             "nothing would be backfilled.",
             start, end);
    else
        FIND(pf, "empty-scope", BLOCK, "$.scope.time",
             "The time scope is empty: its start \"%s\" and end \"%s\" fall in the same clock "
             "change of %s and are the same instant, so nothing would be backfilled.",
             start, end, zone);
    return 1;
}

/* The members a scope kind needs, and whether the scope it gives is empty. */
static void rule_scope(struct pf *pf)
{
    static const struct {
        const char *kind;
        const char *members[3];
    } needs[] = {
        {"time", {"start", "end", NULL}},
        {"keys", {"column", "start", "end"}},
        {"partitions", {"column", "values", NULL}},
        {"buckets", {"column", "count", NULL}},
    };
    const bf_brief *b = pf->b;
    bf_scope_kind kind = bf_brief_scope_kind(b);
    int complete = 1, empty = 0;
    int64_t lo, hi;

    if (!has(b, "scope.expected_rows"))
        FIND(pf, "missing-expected-rows", WARN, "$.scope.expected_rows",
             "No expected row count is given, so a wildly wrong result would not stand out.");
    if (kind == BF_SCOPE_NONE) {
        FIND(pf, "missing-scope", BLOCK, "$.scope",
             "The brief gives no scope (time, keys, partitions or buckets), so it would touch "
             "everything.");
        return;
    }
    for (size_t m = 0; m < 3 && needs[kind - 1].members[m]; m++) {
        char dotted[64], path[80];
        snprintf(dotted, sizeof dotted, "scope.%s.%s", needs[kind - 1].kind, needs[kind - 1].members[m]);
        if (has(b, dotted))
            continue;
        complete = 0;
        snprintf(path, sizeof path, "$.%s", dotted);
        FIND(pf, "incomplete-scope", BLOCK, path, "The %s scope does not give its %s.",
             needs[kind - 1].kind, needs[kind - 1].members[m]);
    }
    if (!complete)
        return;
    if (kind == BF_SCOPE_TIME) {
        empty = time_scope_empty(pf);
        if (empty < 0)
            return;
    } else if (kind == BF_SCOPE_KEYS) {
        /* Numbers, compared as numbers; the schema keeps start <= end. */
        bf_brief_scope_key_start(&lo, b);
        bf_brief_scope_key_end(&hi, b);
        if (lo >= hi) {
            empty = 1;
            FIND(pf, "empty-scope", BLOCK, "$.scope.keys",
                 "The key scope is empty: its start %lld is not below its end %lld (the end is "
                 "excluded), so nothing would be backfilled.",
                 (long long)lo, (long long)hi);
        }
    } else if (kind == BF_SCOPE_PARTITIONS) {
        empty = bf_brief_partition_count(b) == 0;
        if (empty)
            FIND(pf, "empty-scope", BLOCK, "$.scope.partitions.values",
                 "The partition scope lists no values, so nothing would be backfilled.");
    } else if (bf_brief_scope_buckets(&lo, b) == BF_OK && lo < 1) {
        /* The schema refuses a count below 1; kept so that every kind has its rule. */
        empty = 1;
        FIND(pf, "empty-scope", BLOCK, "$.scope.buckets.count",
             "The bucket scope has no buckets, so nothing would be backfilled.");
    }
    pf->scope_ok = !empty;
}

static void rule_batching(struct pf *pf)
{
    const bf_brief *b = pf->b;
    bf_batch_by by = bf_brief_batch_by(b);
    bf_scope_kind kind = bf_brief_scope_kind(b);
    int64_t v;

    if (!by) {
        FIND(pf, "missing-batching", BLOCK, "$.batching.by",
             "The brief does not say how to cut the work into batches (batching.by).");
    } else {
        size_t before = bf_findings_count(pf->f);

        /* batching.by and the scope kind are numbered alike. */
        if (kind != BF_SCOPE_NONE && (int)kind != (int)by)
            FIND(pf, "batching-scope-mismatch", BLOCK, "$.batching.by",
                 "Batches are cut by %s but the scope is given as %s.", bf_batch_by_name(by),
                 bf_scope_kind_name(kind));
        if (by == BF_BATCH_BY_TIME && !bf_brief_grain(b))
            FIND(pf, "incomplete-batching", BLOCK, "$.batching.grain",
                 "Time batches need a grain (hour, day, week, month, quarter or year).");
        if (by == BF_BATCH_BY_TIME && !bf_brief_time_column(b))
            FIND(pf, "incomplete-batching", BLOCK, "$.target.time_column",
                 "Time batches need the target's time column.");
        if (by == BF_BATCH_BY_TIME && !bf_brief_time_format(b))
            FIND(pf, "incomplete-batching", BLOCK, "$.target.time_format",
                 "Time batches need the target's time format, to bind :start and :end in it.");
        if (by == BF_BATCH_BY_KEY && !has(b, "batching.width") && !has(b, "batching.rows_per_batch"))
            FIND(pf, "incomplete-batching", BLOCK, "$.batching.width",
                 "Key batches need a width or rows_per_batch.");
        pf->batching_ok = bf_findings_count(pf->f) == before;
    }
    if (!has(b, "batching.target_batch_s"))
        FIND(pf, "missing-runtime-estimate", WARN, "$.batching.target_batch_s",
             "There is no runtime estimate yet; give batching.target_batch_s or run a test slice.");
    if (bf_brief_max_concurrency(&v, b) == BF_OK && v > 8)
        FIND(pf, "high-concurrency", WARN, "$.batching.max_concurrency",
             "%lld batches at once can starve production; 8 or fewer is safer.", (long long)v);
}

/* Seconds, for a sentence: "45 min", "2 h 30 min", "90 s". */
static void say_duration(char *buf, size_t size, int64_t s)
{
    if (s % 60 != 0)
        bf__snprintf(buf, size, "%lld s", (long long)s);
    else if (s < 3600)
        bf__snprintf(buf, size, "%lld min", (long long)(s / 60));
    else if (s % 3600 == 0)
        bf__snprintf(buf, size, "%lld h", (long long)(s / 3600));
    else
        bf__snprintf(buf, size, "%lld h %lld min", (long long)(s / 3600), (long long)(s % 3600 / 60));
}

/*
 * A window that is never open as long as a lease: a batch claimed when it
 * opens still holds its lease after it closes. The longest stretch is
 * measured over two weeks from Monday 2025-01-06 00:00 UTC, a fixed start so
 * the finding never depends on the day preflight runs.
 */
static void rule_window(struct pf *pf)
{
    const int64_t us = 1000000, from = (int64_t)1736121600 * us, until = from + 14 * 86400 * us;
    bf_window *w = NULL;
    int64_t lease, open, close = from, longest = 0;
    int rc;

    if (bf_brief_lease_s(&lease, pf->b) != BF_OK)
        return;
    rc = bf_brief_window(&w, pf->b);
    if (rc == BF_E_NOMEM)
        pf->rc = rc;
    if (rc != BF_OK || !w)
        return;
    while (close < until && bf_window_next_open(&open, w, close) == BF_OK &&
           bf_window_next_close(&close, w, open) == BF_OK && close != INT64_MAX) {
        if (close - open > longest)
            longest = close - open;
    }
    if (close != INT64_MAX && longest < lease * us) {
        char open_for[48];

        say_duration(open_for, sizeof open_for, longest / us);
        FIND(pf, "window-shorter-than-lease", WARN, "$.batching.window",
             "The batching window is open for at most %s at a time, less than lease_s (%lld s): a "
             "batch claimed in it may still hold its lease after it closes.",
             open_for, (long long)lease);
    }
    bf_window_free(w);
}

/* Split "$.path: why" (a library message) into its path and the rest, or use `path`. */
static const char *split_path(char *out, size_t size, const char *msg, const char *path)
{
    const char *sep = msg[0] == '$' ? strstr(msg, ": ") : NULL;
    size_t plen = sep ? (size_t)(sep - msg) : 0;

    if (!sep) {
        snprintf(out, size, "%s", path);
        return msg;
    }
    snprintf(out, size, "%.*s", (int)(plen < size ? plen : size - 1), msg);
    return sep + 2;
}

/*
 * Whatever the planner refuses, preflight blocks: the brief's scope and
 * batching are handed to the planner itself (bf_planner_new_from_brief and
 * the checks bf_planner_plan makes before cutting), so the two cannot
 * disagree. Runs once the scope and batching rules found nothing missing.
 */
static void rule_plannable(struct pf *pf)
{
    static const char *const scope_paths[] = {"$.scope", "$.scope.time", "$.scope.keys",
                                              "$.scope.partitions", "$.scope.buckets"};
    bf_planner *p = NULL;
    char path[128];
    const char *why;
    int rc;

    if (!pf->scope_ok || !pf->batching_ok || pf->rc != BF_OK)
        return;
    rc = bf_planner_new_from_brief(&p, pf->b);
    if (rc == BF_OK)
        rc = bf__planner_check(p);
    bf_planner_free(p);
    if (rc == BF_OK)
        return;
    if (rc == BF_E_NOMEM) {
        pf->rc = rc;
        return;
    }
    why = split_path(path, sizeof path, bf_last_error(), scope_paths[bf_brief_scope_kind(pf->b)]);
    FIND(pf, "unplannable", BLOCK, path, "The planner refuses this brief: %s.", why);
}

static void rule_write(struct pf *pf)
{
    const bf_brief *b = pf->b;
    bf_write_strategy s = bf_brief_write_strategy(b);

    if (!s) {
        FIND(pf, "missing-write-strategy", BLOCK, "$.write.strategy",
             "The brief does not say how batches are written (write.strategy).");
        return;
    }
    if (s == BF_WRITE_APPEND && !bf_brief_allow_non_idempotent(b))
        FIND(pf, "append-not-idempotent", BLOCK, "$.write.strategy",
             "Appending is not idempotent: a retried batch would duplicate rows; set "
             "write.allow_non_idempotent to true to accept that.");
    if (s == BF_WRITE_PARALLEL_VERSION && !bf_brief_version_table(b))
        FIND(pf, "missing-version-table", BLOCK, "$.write.version_table",
             "The parallel_version strategy needs the version_table it writes.");
    if (pf->risk == BF_RISK_CRITICAL_REBUILD && !bf_brief_snapshot(b) &&
        s != BF_WRITE_STAGING_SWAP && s != BF_WRITE_PARALLEL_VERSION)
        FIND(pf, "critical-without-snapshot", BLOCK, "$.write",
             "A critical rebuild must keep pre-images (write.snapshot) or write beside the table "
             "(staging_swap or parallel_version).");
}

/* Parameters each batching dimension binds, by bf_batch_by; every batch also binds run and batch. */
static const char *const bound_params[][3] = {
    {NULL, NULL, NULL},
    {"start", "end", NULL},
    {"lo", "hi", NULL},
    {"partition", NULL, NULL},
    {"bucket", "buckets", NULL},
};
static const char *const known_params[] = {"start", "end", "lo", "hi", "partition",
                                           "bucket", "buckets", "run", "batch"};

struct param_scan {
    bf_batch_by by;
    int used[3]; /* which of bound_params[by] the job uses */
    char unknown[64]; /* the first parameter the batches would not bind */
};

static int param_is(const char *name, size_t len, const char *want)
{
    return want && strlen(want) == len && strncmp(name, want, len) == 0;
}

static void on_param(const char *name, size_t len, void *arg)
{
    struct param_scan *scan = arg;
    int bound = param_is(name, len, "run") || param_is(name, len, "batch");

    for (int i = 0; i < 3; i++)
        if (param_is(name, len, bound_params[scan->by][i])) {
            scan->used[i] = 1;
            bound = 1;
        }
    if (!scan->by)
        for (size_t i = 0; i < BF_ARRAY_LEN(known_params); i++)
            bound |= param_is(name, len, known_params[i]);
    if (!bound && !scan->unknown[0])
        snprintf(scan->unknown, sizeof scan->unknown, "%.*s", (int)(len < 60 ? len : 60), name);
}

static void rule_job(struct pf *pf)
{
    const bf_brief *b = pf->b;
    const char *sql = bf_brief_job_select(b);
    struct param_scan scan = {bf_brief_batch_by(b), {0, 0, 0}, ""};

    if (blank(sql)) {
        FIND(pf, "missing-job", BLOCK, "$.job.select",
             "The brief has no job.select producing the corrected rows.");
        return;
    }
    /* Without batching.by the scope kind tells the dimension (they are numbered alike). */
    if (!scan.by)
        scan.by = (bf_batch_by)bf_brief_scope_kind(b);
    bf__job_params(sql, on_param, &scan);
    if (scan.by == BF_BATCH_BY_BUCKET)
        scan.used[1] = 1; /* :bucket alone selects a bucket; :buckets is optional */
    for (int i = 0; i < 3 && scan.by; i++)
        if (bound_params[scan.by][i] && !scan.used[i]) {
            FIND(pf, "job-ignores-bounds", BLOCK, "$.job.select",
                 "The job never uses :%s, so every %s batch would rewrite the whole table.",
                 bound_params[scan.by][i], bf_batch_by_name(scan.by));
            break;
        }
    if (scan.unknown[0])
        FIND(pf, "unknown-job-parameter", BLOCK, "$.job.select",
             "The job uses :%s, which %s batches do not bind.", scan.unknown,
             scan.by ? bf_batch_by_name(scan.by) : "the");
}

static void rule_rollback(struct pf *pf)
{
    if (!blank(bf_brief_rollback_plan(pf->b)))
        return;
    if (pf->risk > BF_RISK_ENRICHMENT)
        FIND(pf, "missing-rollback-plan", BLOCK, "$.rollback.plan",
             "A %s backfill needs a written rollback plan.", bf_risk_name(pf->risk));
    else
        FIND(pf, "missing-rollback-plan", WARN, "$.rollback.plan",
             "There is no rollback plan; say how the change would be undone.");
}

/* The member a check needs before it can run (or *any2 instead), or NULL. */
static const char *check_needs(bf_check_kind kind, int has_key, const char **any2)
{
    *any2 = NULL;
    switch (kind) {
    case BF_CHECK_ROW_COUNT:
        *any2 = "max";
        return "min";
    case BF_CHECK_UNIQUE:
    case BF_CHECK_COMPLETENESS: /* distinct keys: columns, else target.key */
        return has_key ? NULL : "columns";
    case BF_CHECK_FOOTPRINT: /* without a bound the growth judges nothing */
        return "max_growth_pct";
    case BF_CHECK_NOT_NULL:
        return "columns";
    case BF_CHECK_METRIC:
        return "expr";
    case BF_CHECK_RECORDS:
        return "expect";
    case BF_CHECK_SQL:
        return "query";
    default:
        return NULL;
    }
}

static const char *const references_needs[] = {"columns", "parent", "parent_columns"};

static void rule_checks(struct pf *pf)
{
    const bf_brief *b = pf->b;
    json_t *checks = json_object_get(b->doc, "validation");
    int has_metric = 0, has_unique = 0;
    size_t i;
    json_t *c;

    json_array_foreach(checks, i, c) {
        bf_check_kind kind = bf_brief_check_kind(b, i);
        const char *alt, *need = check_needs(kind, bf_brief_key_count(b) > 0, &alt);
        char path[80];

        if (kind == BF_CHECK_METRIC)
            has_metric = 1;
        if (kind == BF_CHECK_UNIQUE) {
            json_t *cols = json_object_get(c, "columns");
            json_t *key = bf__json_at(b->doc, "target.key");
            has_unique |= !cols || (key && json_equal(cols, key));
        }
        if (need && !json_object_get(c, need) && !(alt && json_object_get(c, alt))) {
            snprintf(path, sizeof path, "$.validation[%zu].%s", i, need);
            FIND(pf, "incomplete-check", BLOCK, path, "The %s check needs %s%s%s.",
                 bf_check_kind_name(kind), need, alt ? " or " : "", alt ? alt : "");
        }
        for (size_t m = 0; kind == BF_CHECK_REFERENCES && m < BF_ARRAY_LEN(references_needs); m++)
            if (!json_object_get(c, references_needs[m])) {
                snprintf(path, sizeof path, "$.validation[%zu].%s", i, references_needs[m]);
                FIND(pf, "incomplete-check", BLOCK, path, "The references check needs %s.",
                     references_needs[m]);
            }
        if (kind == BF_CHECK_METRIC && !json_object_get(c, "expect_delta_pct") &&
            !json_object_get(c, "expect_delta")) {
            snprintf(path, sizeof path, "$.validation[%zu].expect_delta_pct", i);
            FIND(pf, "incomplete-check", BLOCK, path,
                 "The metric check needs expect_delta_pct or expect_delta to judge the change.");
        }
    }
    if (!has_metric && pf->risk >= BF_RISK_METRIC_REPAIR)
        FIND(pf, "missing-metric-check", BLOCK, "$.validation",
             "A %s backfill needs a metric check showing how the numbers move.",
             bf_risk_name(pf->risk));
    if (!has_unique)
        FIND(pf, "missing-unique-check", WARN, "$.validation",
             "No unique check on the target's key; duplicated rows would go unnoticed.");
}

/* The downstream asset named `name`, or the asset count. */
static size_t asset_named(const bf_brief *b, const char *name)
{
    size_t n = bf_brief_downstream_count(b);

    for (size_t i = 0; i < n; i++)
        if (strcmp(bf_brief_downstream_name(b, i), name) == 0)
            return i;
    return n;
}

/* Append the affected dashboards and stakeholders of one lineage list to sb; counts them in *n. */
static void people_assets(bf__sb *sb, size_t *n, const bf_brief *b, const bf_lineage *l,
                          size_t (*count)(const bf_lineage *),
                          const char *(*get)(const bf_lineage *, size_t))
{
    for (size_t i = 0; i < count(l); i++) {
        bf_asset_kind kind = bf_brief_downstream_kind(b, asset_named(b, get(l, i)));

        if (kind != BF_ASSET_DASHBOARD && kind != BF_ASSET_STAKEHOLDER)
            continue;
        bf__sb_appendf(sb, "%s\"%s\"", (*n)++ ? ", " : "", get(l, i));
    }
}

/*
 * Who must be told: the dashboards and stakeholders the target reaches,
 * by the lineage's one definition of "affected" (what blast-radius lists as
 * direct and indirect dependents). Assets that read only sources are not
 * affected, so they ask for no one.
 */
static void rule_communication(struct pf *pf, const bf_lineage *l)
{
    const bf_brief *b = pf->b;
    size_t n = 0;
    bf__sb sb;
    char *names;
    int rc;

    if (bf_brief_stakeholder_count(b) > 0)
        return;
    bf__sb_init(&sb);
    people_assets(&sb, &n, b, l, bf_lineage_direct_count, bf_lineage_direct);
    people_assets(&sb, &n, b, l, bf_lineage_indirect_count, bf_lineage_indirect);
    rc = bf__sb_finish(&sb, &names);
    if (rc != BF_OK) {
        if (pf->rc == BF_OK)
            pf->rc = rc;
        return;
    }
    if (n)
        FIND(pf, "missing-communication", WARN, "$.communication.stakeholders",
             "The change reaches %s %s, but communication.stakeholders names no one to tell.",
             n == 1 ? "the dashboard or stakeholder" : "the dashboards and stakeholders", names);
    bf__free(names);
}

static void rule_downstream(struct pf *pf)
{
    const bf_brief *b = pf->b;
    size_t n = bf_brief_downstream_count(b);
    bf_lineage *lineage = NULL;
    int rc;

    if (n == 0) {
        FIND(pf, "missing-downstream", WARN, "$.downstream",
             "No downstream assets are listed, so no one can tell what the change reaches.");
        return;
    }
    rc = bf_lineage_new(&lineage, b);
    if (rc == BF_E_NOMEM) {
        pf->rc = rc;
        return;
    }
    if (rc != BF_OK) {
        /* The lineage message starts with its own "$.path: "; keep the path apart. */
        char path[128];
        const char *why = split_path(path, sizeof path, bf_last_error(), "$.downstream");

        FIND(pf, "invalid-lineage", BLOCK, path, "%s.", why);
        return;
    }
    rule_communication(pf, lineage);
    bf_lineage_free(lineage);
}

int bf_brief_check(bf_findings **out, const bf_brief *brief)
{
    struct pf pf;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_brief_check: out or brief is NULL");
    *out = NULL;
    pf.b = brief;
    pf.risk = bf_brief_risk(brief);
    pf.scope_ok = 0;
    pf.batching_ok = 0;
    pf.rc = bf__findings_new(&pf.f);
    if (pf.rc != BF_OK)
        return pf.rc;
    rule_identity(&pf);
    rule_target(&pf);
    rule_scope(&pf);
    rule_batching(&pf);
    rule_window(&pf);
    rule_plannable(&pf);
    rule_write(&pf);
    rule_job(&pf);
    rule_checks(&pf);
    rule_rollback(&pf);
    rule_downstream(&pf);
    if (pf.rc != BF_OK) {
        bf_findings_free(pf.f);
        return pf.rc;
    }
    *out = pf.f;
    return BF_OK;
}
