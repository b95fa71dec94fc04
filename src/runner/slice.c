/*
 * bf_runner_test_slice: a few representative batches of the plan, each run
 * into a scratch copy of its rows, validated and probed for idempotency,
 * their durations measured and recorded in the ledger as a run of its own
 * ("<brief>@test-slice"), and the whole plan's runtime estimated from them.
 *
 * The ledger run is registered from the full plan so that its progress and
 * status stay honest: the batches not in the slice are cancelled ("not in
 * the test slice"), the chosen ones are claimed, completed with what was
 * measured and validated. A slice that passed finishes the run (completed);
 * one with a failed check or a batch that is not idempotent leaves that
 * batch failed and the run failed, with the reason. Only a completed slice
 * gives an estimate (bf_runner_slice_estimate).
 *
 * The target is only read: every write goes to "<table>__bf_slice" (and the
 * probe's own "<table>__bf_idem"), dropped afterwards on every path.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill/fingerprint.h"
#include "backfill/idempotency.h"
#include "backfill/time.h"
#include "common/json.h"
#include "driver/driver_internal.h"
#include "idempotency/idem_internal.h"
#include "runner/runner_internal.h"

#define SLICE_SUFFIX "__bf_slice"
#define SLICE_DEFAULT 5

struct pick {
    size_t ordinal;
    char reason[512];
    int64_t rows;     /* the batch's rows in the target now */
    /* measured */
    int64_t batch_id, rows_read, rows_written, rows_deleted;
    double duration_s;
    int checked;      /* the checks ran */
    int checks_ok;
    int64_t tally[5];
    char *failure;    /* the first failing check's sentence */
    char *results;    /* the results JSON */
    int idempotent;
    char *idem_message;
};

struct slice {
    bf_runner *r;
    bf_run *run;
    int64_t run_id;
    char *scratch;
    int64_t *counts;
    struct pick *picks;
    size_t npicks, want;
};

/* ---- Choosing the batches ---------------------------------------------- */

/* 9412 -> "9,412": the same whatever the locale. */
static void thousands(char *out, size_t size, int64_t v)
{
    char digits[32], buf[48];
    size_t n, j = 0;
    int neg = v < 0;
    uint64_t u = neg ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    bf__snprintf(digits, sizeof digits, "%llu", (unsigned long long)u);
    n = strlen(digits);
    if (neg)
        buf[j++] = '-';
    for (size_t i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[j++] = ',';
        buf[j++] = digits[i];
    }
    buf[j] = '\0';
    bf__snprintf(out, size, "%s", buf);
}

static struct pick *find_pick(struct slice *s, size_t ordinal)
{
    for (size_t i = 0; i < s->npicks; i++)
        if (s->picks[i].ordinal == ordinal)
            return &s->picks[i];
    return NULL;
}

/* Choose `ordinal` for `reason`; a batch chosen already gets the reason added. */
static void choose(struct slice *s, size_t ordinal, const char *reason)
{
    struct pick *p = find_pick(s, ordinal);
    size_t len;

    if (p) {
        len = strlen(p->reason);
        bf__snprintf(p->reason + len, sizeof p->reason - len, "; %s", reason);
        return;
    }
    if (s->npicks >= s->want)
        return;
    p = &s->picks[s->npicks++];
    p->ordinal = ordinal;
    p->rows = s->counts[ordinal];
    bf__snprintf(p->reason, sizeof p->reason, "%s", reason);
}

static int64_t floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

/* "DST change 2025-03-09" when the zone's offset changes within the batch. */
static int dst_change(char *out, size_t size, const bf_tz *tz, const bf_batch *b)
{
    int64_t lo = floor_div(bf_batch_lo(b), 1000000), hi = floor_div(bf_batch_hi(b) - 1, 1000000);
    int32_t off = bf_tz_offset(tz, lo);
    bf_civil c;

    if (hi <= lo || bf_tz_offset(tz, hi) == off)
        return 0;
    /* The first instant with another offset: offset(lo) == off, offset(hi) != off. */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;

        if (bf_tz_offset(tz, mid) == off)
            lo = mid;
        else
            hi = mid;
    }
    bf_tz_to_local(&c, tz, hi);
    bf__snprintf(out, size, "DST change %04lld-%02d-%02d", (long long)c.year, c.month, c.day);
    return 1;
}

/*
 * "month end 2025-01-31 differs from UTC" when a UTC month boundary falls
 * strictly inside the batch while the zone is off UTC there: the batch's
 * rows belong to two months in UTC and to one in the zone (or the reverse).
 */
static int month_end(char *out, size_t size, const bf_tz *tz, const bf_batch *b)
{
    int64_t lo_us = bf_batch_lo(b), hi_us = bf_batch_hi(b);
    bf_civil c, next;

    bf_civil_from_seconds(&c, floor_div(lo_us, 1000000));
    for (int guard = 0; guard < 1200; guard++) {
        int64_t boundary;

        bf_civil_add_months(&next, &c, 1);
        boundary = bf_civil_seconds(&next);
        if (boundary * 1000000 >= hi_us)
            return 0;
        if (boundary * 1000000 > lo_us && bf_tz_offset(tz, boundary) != 0) {
            bf_civil last;

            bf_civil_from_seconds(&last, boundary - 86400);
            bf__snprintf(out, size, "month end %04lld-%02d-%02d differs from UTC",
                         (long long)last.year, last.month, last.day);
            return 1;
        }
        c = next;
    }
    return 0;
}

static int by_ordinal(const void *a, const void *b)
{
    const struct pick *x = a, *y = b;

    return x->ordinal < y->ordinal ? -1 : x->ordinal > y->ordinal;
}

static int choose_batches(struct slice *s)
{
    bf_runner *r = s->r;
    const bf_plan *plan = r->plan;
    size_t n = bf_plan_count(plan), largest = 0;
    char why[160], rows[40];
    int rc;

    s->counts = bf__calloc(n ? n : 1, sizeof *s->counts);
    s->picks = bf__calloc(s->want ? s->want : 1, sizeof *s->picks);
    if (!s->counts || !s->picks)
        return bf__nomem();
    if ((rc = bf_driver_count_batches(s->counts, r->driver, plan, r->job.spec.table)) != BF_OK)
        return rc;
    for (size_t i = 1; i < n; i++)
        if (s->counts[i] > s->counts[largest])
            largest = i;
    choose(s, 0, "first");
    choose(s, n - 1, "last");
    thousands(rows, sizeof rows, s->counts[largest]);
    bf__snprintf(why, sizeof why, "largest: %s rows", rows);
    choose(s, largest, why);
    /* DST changes and month ends in the brief's zone, taken in turn. */
    if (bf_plan_dimension(plan) == BF_DIM_TIME && r->brief &&
        bf_brief_scope_timezone(r->brief)) {
        bf_tz *tz = NULL;
        size_t dst = 0, me = 0;

        if ((rc = bf_tz_load(&tz, bf_brief_scope_timezone(r->brief))) != BF_OK)
            return rc;
        while (dst < n || me < n) {
            for (; dst < n; dst++)
                if (dst_change(why, sizeof why, tz, bf_plan_batch(plan, dst))) {
                    choose(s, dst++, why);
                    break;
                }
            for (; me < n; me++)
                if (month_end(why, sizeof why, tz, bf_plan_batch(plan, me))) {
                    choose(s, me++, why);
                    break;
                }
        }
        bf_tz_free(tz);
    }
    /* The rest evenly spaced over the plan, each near its spot. */
    while (s->npicks < s->want) {
        size_t k = s->want - s->npicks, added = 0;

        for (size_t j = 1; j <= k && s->npicks < s->want; j++) {
            size_t spot = (size_t)(((double)j * (double)(n - 1)) / (double)(k + 1) + 0.5);

            for (size_t d = 0; d < n; d++) {
                if (spot + d < n && !find_pick(s, spot + d)) {
                    choose(s, spot + d, "evenly spaced");
                    added++;
                    break;
                }
                if (d <= spot && !find_pick(s, spot - d)) {
                    choose(s, spot - d, "evenly spaced");
                    added++;
                    break;
                }
            }
        }
        if (!added)
            break;
    }
    qsort(s->picks, s->npicks, sizeof *s->picks, by_ordinal);
    return BF_OK;
}

/* ---- The scratch copy of a batch --------------------------------------- */


/*
 * One chosen batch: claim it in the slice's run, copy its target rows into
 * the scratch table, run the job there as the run does (validator before,
 * fingerprint, stage, publish by the write pattern with fence and snapshot,
 * fingerprint), complete it with what was measured, validate it, probe its
 * idempotency, and settle it. Library failures are returned; a failed
 * check or a rerun that differs is a result in *p.
 */
static int slice_batch(struct slice *s, struct pick *p)
{
    bf_runner *r = s->r;
    const bf_plan *plan = r->plan;
    const bf_batch *b = bf_plan_batch(plan, p->ordinal);
    const bf_write_spec *target = &r->job.spec;
    bf_write_spec job = *target, copy;
    bf_table_info *info = NULL;
    bf_lease *lease = NULL;
    bf_validation_state *vstate = NULL;
    bf_results *results = NULL;
    bf_idem_probe *probe = NULL;
    bf_publish_result pub = BF_PUBLISH_RESULT_INIT;
    bf_batch_result done = BF_BATCH_RESULT_INIT;
    char fp_before[64] = "", fp_after[64] = "", *select = NULL;
    int64_t token = 0, started;
    int rc, created = 0, staged = 0, claimed = 0;

    if ((rc = bf_run_claim(&lease, s->run)) != BF_OK)
        return rc;
    if (!lease || (size_t)bf_lease_ordinal(lease) != p->ordinal) {
        rc = bf__error(BF_E_INTERNAL, "test slice: run %lld handed out batch %s instead of %s",
                       (long long)s->run_id, lease ? bf_lease_label(lease) : "(none)",
                       bf_batch_label(b));
        bf_lease_free(lease);
        return rc;
    }
    p->batch_id = bf_lease_batch_id(lease);
    token = bf_lease_token(lease);
    bf_lease_free(lease);
    claimed = 1;

    /* The job writes the scratch table, as the run writes the target (or its shadow). */
    job.version = BF_WRITE_SPEC_VERSION;
    job.table = s->scratch;
    job.version_table = NULL;
    if (job.strategy == BF_WRITE_STAGING_SWAP || job.strategy == BF_WRITE_PARALLEL_VERSION)
        job.strategy = BF_WRITE_PARTITION_OVERWRITE;
    copy = job;
    copy.strategy = BF_WRITE_PARTITION_OVERWRITE;
    copy.key = NULL;
    copy.key_count = 0;
    copy.columns = NULL;
    copy.column_count = 0;
    copy.delete_missing = 0;
    copy.snapshot = 0;

    if ((rc = bf_driver_describe(&info, r->driver, target->table)) != BF_OK ||
        (rc = bf__scratch_drop(r->driver, s->scratch)) != BF_OK ||
        (rc = bf__scratch_create(r->driver, info, target->table, s->scratch)) != BF_OK)
        goto out;
    created = 1;
    if ((rc = bf__scratch_copy_sql(&select, info, target->table, plan, b)) != BF_OK)
        goto out;
    copy.select = select;
    staged = 1;
    if ((rc = bf_driver_stage(NULL, r->driver, &copy, plan, b, s->run_id)) != BF_OK ||
        (rc = bf_driver_publish(NULL, r->driver, &copy, plan, b, s->run_id, token)) != BF_OK)
        goto out;

    /* The measured work: what a run does for the batch up to its completion. */
    started = bf__runner_now_us();
    if (r->validator) {
        if (!r->own_validator)
            pthread_mutex_lock(&r->validator_lock);
        rc = bf_validator_set_table(r->validator, s->scratch);
        if (rc == BF_OK)
            rc = bf_validator_before(&vstate, r->validator, r->driver, plan, b);
        if (!r->own_validator)
            pthread_mutex_unlock(&r->validator_lock);
        if (rc != BF_OK)
            goto out;
    }
    if ((rc = bf__fingerprint_text(fp_before, r->driver, s->scratch, plan, b)) != BF_OK ||
        (rc = bf_driver_stage(&p->rows_read, r->driver, &job, plan, b, s->run_id)) != BF_OK)
        goto out;
    /*
     * The publish refuses what the job staged (rows outside the batch's
     * bounds, a merge's NULL or repeated keys), as a run's would: a result
     * of the slice, the batch failed with it, not a failure of the slice.
     */
    if ((rc = bf_driver_publish(&pub, r->driver, &job, plan, b, s->run_id, token)) ==
        BF_E_VALIDATION) {
        char why[BF_ERRMSG_MAX + 64];

        bf__snprintf(why, sizeof why, "the publish refused the job's rows: %s", bf_last_error());
        p->checked = 1;
        if (!(p->failure = bf__strdup(why)) ||
            !(p->idem_message = bf__strdup("not probed: the publish refused the job's rows"))) {
            rc = bf__nomem();
            goto out;
        }
        bf__snprintf(why, sizeof why, "validation failed: %s", p->failure);
        rc = bf_run_fail(s->run, p->batch_id, token, why);
        claimed = 0;
        goto out;
    }
    if (rc != BF_OK || (rc = bf__fingerprint_text(fp_after, r->driver, s->scratch, plan, b)) != BF_OK)
        goto out;
    p->duration_s = (double)(bf__runner_now_us() - started) / 1e6;
    p->rows_written = pub.written;
    p->rows_deleted = pub.deleted;
    done.rows_written = pub.written;
    done.rows_deleted = pub.deleted;
    done.fingerprint_before = fp_before;
    done.fingerprint_after = fp_after;
    done.duration_s = p->duration_s > 0 ? p->duration_s : 1e-6;
    done.idempotency_key = NULL; /* the slice's work is not in the target */
    if ((rc = bf_run_complete(s->run, p->batch_id, token, &done)) != BF_OK)
        goto out;
    claimed = 0;

    if (r->validator) {
        if (!r->own_validator)
            pthread_mutex_lock(&r->validator_lock);
        rc = bf_validator_after(&results, r->validator, r->driver, plan, b, vstate);
        if (!r->own_validator)
            pthread_mutex_unlock(&r->validator_lock);
        if (rc != BF_OK)
            goto out;
        p->checked = 1;
        for (int o = 0; o < 5; o++)
            p->tally[o] = (int64_t)bf_results_tally(results, (bf_outcome)o);
        p->checks_ok = bf_results_status(results) == BF_OK;
        if (!p->checks_ok && !(p->failure = bf__strdup(bf_last_error()))) {
            rc = bf__nomem();
            goto out;
        }
        if ((rc = bf_results_to_json(&p->results, results)) != BF_OK)
            goto out;
    } else {
        p->checks_ok = 1;
    }

    if ((rc = bf_idempotency_probe(&probe, r->driver, target, plan, b, s->run_id)) != BF_OK)
        goto out;
    p->idempotent = bf_idem_probe_idempotent(probe);
    if (!(p->idem_message = bf__strdup(bf_idem_probe_message(probe)))) {
        rc = bf__nomem();
        goto out;
    }

    /* Settle: a passing, idempotent batch is validated; any other fails with its reason. */
    if (p->checks_ok && p->idempotent) {
        rc = results ? bf_validator_settle(s->run, p->batch_id, results)
                     : bf_run_mark_batch(s->run, p->batch_id, BF_BATCH_VALIDATED, "no checks");
    } else {
        char why[1200];

        if (p->checks_ok)
            bf__snprintf(why, sizeof why, "not idempotent: %s", p->idem_message);
        else
            bf__snprintf(why, sizeof why, "validation failed: %s", p->failure);
        rc = results ? bf_run_record_validation(s->run, p->batch_id, p->results, p->tally,
                                                p->checks_ok ? NULL : p->failure, 0)
                     : BF_OK;
        if (rc == BF_OK)
            rc = bf_run_mark_batch(s->run, p->batch_id, BF_BATCH_FAILED, why);
    }
out:
    {
        /* Clean up on every path; the first failure's message is the one kept. */
        char msg[BF_ERRMSG_MAX];

        int rc2 = BF_OK, step;

        bf__snprintf(msg, sizeof msg, "%s", rc != BF_OK ? bf_last_error() : "");
        if (r->validator) {
            /* The validator reads the target again (a failure here is the slice's). */
            if (!r->own_validator)
                pthread_mutex_lock(&r->validator_lock);
            rc2 = bf_validator_set_table(r->validator, target->table);
            if (!r->own_validator)
                pthread_mutex_unlock(&r->validator_lock);
        }
        if (created) {
            /* Tried each, even when one before failed: nothing of the slice stays behind. */
            if (staged && (step = bf_driver_drop_staging(r->driver, &job, plan, b,
                                                         s->run_id)) != BF_OK && rc2 == BF_OK)
                rc2 = step;
            if (job.snapshot && (step = bf_driver_drop_snapshot(r->driver, &job, plan, b,
                                                                s->run_id)) != BF_OK &&
                rc2 == BF_OK)
                rc2 = step;
            if ((step = bf__scratch_drop(r->driver, s->scratch)) != BF_OK && rc2 == BF_OK)
                rc2 = step;
        }
        if (rc == BF_OK && rc2 != BF_OK) {
            rc = rc2;
            bf__snprintf(msg, sizeof msg, "cleaning up: %s", bf_last_error());
        }
        if (rc != BF_OK) {
            if (claimed)
                bf_run_fail(s->run, p->batch_id, token, msg);
            bf__error(rc, "test slice: batch %s: %s", bf_batch_label(b), msg);
        }
    }
    bf_idem_probe_free(probe);
    bf_results_free(results);
    bf_validation_state_free(vstate);
    bf_table_info_free(info);
    bf__free(select);
    return rc;
}

/* ---- The slice ---------------------------------------------------------- */

static void slice_dispose(struct slice *s)
{
    for (size_t i = 0; s->picks && i < s->npicks; i++) {
        bf__free(s->picks[i].failure);
        bf__free(s->picks[i].results);
        bf__free(s->picks[i].idem_message);
    }
    bf__free(s->picks);
    bf__free(s->counts);
    bf__free(s->scratch);
    bf_run_free(s->run);
}

/* Cancel every batch not in the slice. */
static int cancel_others(struct slice *s)
{
    bf_batch_list *l = NULL;
    int rc = bf_run_batches(&l, s->run, BF_BATCH_PENDING);

    for (size_t i = 0; rc == BF_OK && i < bf_batch_list_count(l); i++)
        if (!find_pick(s, (size_t)bf_batch_list_ordinal(l, i)))
            rc = bf_run_mark_batch(s->run, bf_batch_list_id(l, i), BF_BATCH_CANCELLED,
                                   "not in the test slice");
    bf_batch_list_free(l);
    return rc;
}

/* ---- Sources the job reads whole for every batch ------------------------ */

static int ident_char(char c)
{
    return bf__ascii_isalpha((unsigned char)c) || bf__ascii_isdigit((unsigned char)c) ||
           c == '_' || (unsigned char)c >= 0x80;
}

/*
 * The next word of `sql` from *at (an identifier, "quoted" or bare, or one
 * other character); 0 at the end of the text.
 */
static int next_word(char *out, size_t size, const char *sql, size_t *at)
{
    size_t i = *at, n = 0;
    int found;

    while (bf__ascii_isspace((unsigned char)sql[i]))
        i++;
    found = sql[i] != '\0';
    if (sql[i] == '"' || sql[i] == '`' || sql[i] == '[') {
        char close = sql[i] == '[' ? ']' : sql[i];

        for (i++; sql[i] && sql[i] != close; i++)
            if (n + 1 < size)
                out[n++] = sql[i];
        if (sql[i])
            i++;
    } else if (ident_char(sql[i])) {
        for (; ident_char(sql[i]); i++)
            if (n + 1 < size)
                out[n++] = sql[i];
    } else if (sql[i]) {
        out[n++] = sql[i++];
    }
    out[n] = '\0';
    *at = i;
    return found;
}

/* Names compared as SQL compares them: ASCII letters without case, whatever the locale. */
static int same_word(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (bf__ascii_tolower((unsigned char)*a) != bf__ascii_tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

static int opens_source(const char *w)
{
    return same_word(w, "FROM") || same_word(w, "JOIN") ||
           strcmp(w, ",") == 0;
}

/*
 * The table `name` stands for in `sql`: the t of "FROM t name" or
 * "FROM t AS name" (or after JOIN or a comma), else name itself.
 */
static void alias_table(char *out, size_t size, const char *sql, const char *name)
{
    char w[4][256]; /* the three words before the current one, then the current one */
    size_t at = 0;

    bf__snprintf(out, size, "%s", name);
    w[0][0] = w[1][0] = w[2][0] = '\0';
    while (next_word(w[3], sizeof w[3], sql, &at)) {
        if (same_word(w[3], name)) {
            if (opens_source(w[1]) && ident_char(w[2][0])) {
                bf__snprintf(out, size, "%s", w[2]);
                return;
            }
            if (same_word(w[2], "AS") && opens_source(w[0])) {
                bf__snprintf(out, size, "%s", w[1]);
                return;
            }
        }
        memmove(w[0], w[1], 3 * sizeof w[0]);
    }
}

/*
 * A job that reads a large source whole for every batch (SQLite's plan has
 * "SCAN" for it: no index serves the batch's bounds, or the planner had no
 * statistics to choose it) costs a pass over the source per batch. With the
 * SQLite driver the slice asks for the job's plan on its first batch and
 * names each such source holding more than four times the batch's rows
 * (and at least 1,000): the cost that batching multiplies.
 */
static int whole_scans(json_t **out, struct slice *s)
{
    bf_runner *r = s->r;
    const struct pick *p = &s->picks[0];
    char **scans = NULL;
    size_t n = 0;
    json_t *list = json_array();
    int rc;

    *out = NULL;
    if (!list)
        return bf__nomem();
    rc = bf__driver_whole_scans(&scans, &n, r->driver, r->job.spec.select,
                                bf_plan_batch(r->plan, p->ordinal));
    if (rc == BF_E_UNSUPPORTED) {
        *out = list; /* another warehouse: nothing to say */
        bf_clear_error();
        return BF_OK;
    }
    for (size_t i = 0; rc == BF_OK && i < n; i++) {
        char name[256], table[256], big[32], small[32], msg[1200];
        bf_profile_spec spec = BF_PROFILE_SPEC_INIT;
        bf_profile *prof = NULL;
        int64_t rows, batch_rows = p->rows_written > p->rows ? p->rows_written : p->rows;
        const char *sp = strchr(scans[i], ' ');

        bf__snprintf(name, sizeof name, "%.*s", (int)(sp ? (size_t)(sp - scans[i])
                                                          : strlen(scans[i])), scans[i]);
        alias_table(table, sizeof table, r->job.spec.select, name);
        rc = bf_driver_profile(&prof, r->driver, table, &spec, NULL, NULL);
        if (rc == BF_E_NOT_FOUND) {
            rc = BF_OK; /* not a table of the warehouse (a subquery's or a CTE's name) */
            bf_clear_error();
            continue;
        }
        if (rc != BF_OK)
            break;
        rows = bf_profile_rows(prof);
        bf_profile_free(prof);
        if (rows < 1000 || rows <= 4 * batch_rows)
            continue;
        thousands(big, sizeof big, rows);
        thousands(small, sizeof small, batch_rows);
        bf__snprintf(msg, sizeof msg, "the job reads %s whole (%s rows) for every batch of about "
                     "%s rows (SQLite's plan: SCAN %s): an index on what bounds the batch, or "
                     "statistics (ANALYZE %s) if one exists, lets each batch read its range",
                     table, big, small, scans[i], table);
        if (json_array_append_new(list, json_pack("{s:s, s:s, s:s, s:I, s:I, s:s, s:s}", "code",
                                                  "source-read-whole", "severity", "warn",
                                                  "source", table, "rows", (json_int_t)rows,
                                                  "batch_rows", (json_int_t)batch_rows, "plan",
                                                  scans[i], "message", msg)) != 0)
            rc = bf__nomem();
    }
    for (size_t i = 0; i < n; i++)
        bf__free(scans[i]);
    bf__free(scans);
    if (rc != BF_OK) {
        json_decref(list);
        return rc;
    }
    *out = list;
    return BF_OK;
}

static json_t *pick_json(const struct pick *p, const bf_plan *plan, int full)
{
    json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:f, s:b}", "label",
                          bf_batch_label(bf_plan_batch(plan, p->ordinal)), "ordinal",
                          (json_int_t)p->ordinal, "reason", p->reason, "rows",
                          (json_int_t)p->rows, "duration_s", p->duration_s, "idempotent",
                          p->idempotent);

    if (!o || !full)
        return o;
    json_object_set_new(o, "batch_id", json_integer((json_int_t)p->batch_id));
    json_object_set_new(o, "rows_read", json_integer((json_int_t)p->rows_read));
    json_object_set_new(o, "rows_written", json_integer((json_int_t)p->rows_written));
    json_object_set_new(o, "rows_deleted", json_integer((json_int_t)p->rows_deleted));
    json_object_set_new(o, "idempotency", json_string(p->idem_message ? p->idem_message : ""));
    if (p->checked) {
        json_t *results = p->results ? bf__json_loads(p->results, 0, NULL) : NULL;

        json_object_set_new(o, "checks",
                            json_pack("{s:s, s:I, s:I, s:I, s:I, s:I, s:s?, s:o?}", "status",
                                      p->checks_ok ? "pass" : "fail", "pass",
                                      (json_int_t)p->tally[0], "warn", (json_int_t)p->tally[1],
                                      "fail", (json_int_t)p->tally[2], "error",
                                      (json_int_t)p->tally[3], "skipped",
                                      (json_int_t)p->tally[4], "failure", p->failure,
                                      "results", results));
    } else {
        json_object_set_new(o, "checks", json_null());
    }
    return o;
}

int bf_runner_test_slice(char **json_out, bf_runner *r, size_t batches)
{
    struct slice s;
    bf_run_spec spec;
    char *run_name = NULL, *record = NULL, verdict[1400] = "";
    size_t *ordinals = NULL;
    double *seconds = NULL, estimate = 0;
    int64_t total_rows = 0;
    json_t *chosen = NULL, *full = NULL, *o = NULL, *findings = NULL;
    bf_ledger *ledger = NULL;
    int rc, result = BF_OK;

    if (json_out)
        *json_out = NULL;
    if (!r)
        return bf__error(BF_E_INVALID, "bf_runner_test_slice: runner is NULL");
    r->err.code = BF_OK;
    r->err.msg[0] = '\0';
    if (!r->plan)
        return bf__runner_fail(r, bf__error(BF_E_STATE, "bf_runner_test_slice: nothing to run: "
                                            "give a brief (bf_runner_set_brief) or a job first"));
    if (bf_plan_count(r->plan) == 0)
        return bf__runner_fail(r, bf__error(BF_E_INVALID, "bf_runner_test_slice: the plan of %s "
                                            "has no batches", r->brief_name));
    memset(&s, 0, sizeof s);
    s.r = r;
    s.want = batches ? batches : SLICE_DEFAULT;
    if (s.want > bf_plan_count(r->plan))
        s.want = bf_plan_count(r->plan);
    s.scratch = bf__asprintf("%s" SLICE_SUFFIX, r->job.spec.table);
    run_name = bf__asprintf("%s" BF__SLICE_RUN_SUFFIX, r->brief_name);
    if (!s.scratch || !run_name) {
        rc = bf__nomem();
        goto done;
    }
    if ((rc = choose_batches(&s)) != BF_OK || (rc = bf__runner_check_inputs(r)) != BF_OK)
        goto done;

    /* The slice's own run, from the full plan: the others are cancelled. */
    spec = r->run_spec;
    spec.brief_name = run_name;
    spec.flags |= BF_RUN_NEW;
    spec.max_concurrency = 1;
    spec.max_attempts = 1;
    if ((rc = bf__runner_ledger(r, &ledger)) != BF_OK ||
        (rc = bf_run_start(&s.run, ledger, &spec, r->plan)) != BF_OK)
        goto done;
    s.run_id = bf_run_id(s.run);
    if (bf_run_current_state(s.run) != BF_RUN_PLANNED) {
        rc = bf__error(BF_E_STATE, "test slice: run %lld (%s) is %s, not new",
                       (long long)s.run_id, run_name,
                       bf_run_state_name(bf_run_current_state(s.run)));
        goto done;
    }
    /*
     * The slice publishes into its scratch table, made anew each time: no
     * owner's fences there are worth keeping, so it fences without one.
     */
    if ((rc = cancel_others(&s)) != BF_OK || (rc = bf__driver_set_owner(r->driver, NULL)) != BF_OK)
        goto done;
    r->stop = 0;
    for (size_t i = 0; i < s.npicks; i++) {
        if (r->stop)
            rc = bf__error(BF_E_STATE, "test slice of %s: stopped after %zu of %zu batches",
                           r->brief_name, i, s.npicks);
        else
            rc = slice_batch(&s, &s.picks[i]);
        if (rc != BF_OK) {
            char msg[BF_ERRMSG_MAX];

            bf__snprintf(msg, sizeof msg, "%s", bf_last_error());
            bf_run_cancel(s.run, msg);
            bf__error(rc, "%s", msg);
            goto done;
        }
    }

    /* The whole plan's estimate from the measured batches. */
    ordinals = bf__calloc(s.npicks, sizeof *ordinals);
    seconds = bf__calloc(s.npicks, sizeof *seconds);
    if (!ordinals || !seconds) {
        rc = bf__nomem();
        goto done;
    }
    for (size_t i = 0; i < s.npicks; i++) {
        ordinals[i] = s.picks[i].ordinal;
        seconds[i] = s.picks[i].duration_s;
    }
    if ((rc = bf_plan_estimate(&estimate, r->plan, ordinals, seconds, s.npicks)) != BF_OK)
        goto done;
    for (size_t i = 0; i < bf_plan_count(r->plan); i++)
        total_rows += s.counts[i];
    if ((rc = whole_scans(&findings, &s)) != BF_OK)
        goto done;

    /* The verdict: the first failed check, else the first batch that is not idempotent. */
    for (size_t i = 0; i < s.npicks && result == BF_OK; i++)
        if (!s.picks[i].checks_ok) {
            result = BF_E_VALIDATION;
            bf__snprintf(verdict, sizeof verdict, "test slice of %s: validation failed: batch "
                         "%s: %s", r->brief_name, bf_batch_label(bf_plan_batch(r->plan,
                         s.picks[i].ordinal)), s.picks[i].failure);
        }
    for (size_t i = 0; i < s.npicks && result == BF_OK; i++)
        if (!s.picks[i].idempotent) {
            result = BF_E_BLOCKED;
            bf__snprintf(verdict, sizeof verdict, "test slice of %s: batch %s is not "
                         "idempotent: %s", r->brief_name, bf_batch_label(bf_plan_batch(r->plan,
                         s.picks[i].ordinal)), s.picks[i].idem_message);
        }

    /* The slice record, then the run finished (or failed with the verdict). */
    chosen = json_array();
    full = json_array();
    for (size_t i = 0; chosen && full && i < s.npicks; i++) {
        json_array_append_new(chosen, pick_json(&s.picks[i], r->plan, 0));
        json_array_append_new(full, pick_json(&s.picks[i], r->plan, 1));
    }
    o = json_pack("{s:I, s:O, s:f, s:I, s:I, s:O}", "batches", (json_int_t)s.npicks, "chosen",
                  chosen, "estimate_s", estimate, "estimate_rows", (json_int_t)total_rows,
                  "plan_batches", (json_int_t)bf_plan_count(r->plan), "findings", findings);
    if (!o || !full) {
        rc = bf__nomem();
        goto done;
    }
    if ((rc = bf__json_dump(&record, o, JSON_COMPACT | JSON_PRESERVE_ORDER)) != BF_OK ||
        (rc = bf_run_record(s.run, 0, "slice", record)) != BF_OK)
        goto done;
    if (result == BF_OK) {
        char detail[200];

        bf__snprintf(detail, sizeof detail, "test slice of %zu batch%s passed", s.npicks,
                     s.npicks == 1 ? "" : "es");
        rc = bf_run_finish(s.run, detail);
    } else {
        rc = bf_run_set_state(s.run, BF_RUN_FAILED, verdict);
    }
    if (rc != BF_OK)
        goto done;
    json_decref(o);
    o = json_pack("{s:s, s:s, s:I, s:O, s:{s:f, s:I, s:I}, s:O, s:s, s:s}", "format",
                  "backfill-test-slice/1", "brief", r->brief_name, "run", (json_int_t)s.run_id,
                  "batches", full, "estimate", "seconds", estimate, "rows",
                  (json_int_t)total_rows, "batches", (json_int_t)bf_plan_count(r->plan),
                  "findings", findings,
                  "status", result == BF_OK ? "pass" : result == BF_E_VALIDATION
                                                           ? "validation_failed"
                                                           : "not_idempotent",
                  "message", result == BF_OK ? "" : verdict);
    if (!o) {
        rc = bf__nomem();
        goto done;
    }
    if (json_out && (rc = bf__json_dump(json_out, o, JSON_COMPACT | JSON_PRESERVE_ORDER)) != BF_OK)
        goto done;
    rc = result == BF_OK ? BF_OK : bf__error(result, "%s", verdict);
done:
    if (rc != BF_OK)
        bf__runner_fail(r, rc);
    json_decref(o);
    json_decref(chosen);
    json_decref(full);
    json_decref(findings);
    bf__free(record);
    bf__free(ordinals);
    bf__free(seconds);
    bf__free(run_name);
    slice_dispose(&s);
    return rc;
}

/* ---- The estimate a completed slice left ------------------------------- */

int bf_runner_slice_estimate(double *seconds, int64_t *rows, bf_ledger *ledger,
                             const char *brief_name)
{
    bf_run_list *l = NULL;
    bf_run *run = NULL;
    bf_event_list *ev = NULL;
    char *name;
    int64_t run_id = 0;
    int rc, found = 0;

    if (seconds)
        *seconds = 0;
    if (rows)
        *rows = 0;
    if (!ledger || !brief_name || !brief_name[0])
        return bf__error(BF_E_INVALID, "bf_runner_slice_estimate: ledger and brief_name are "
                         "required");
    if (!(name = bf__asprintf("%s" BF__SLICE_RUN_SUFFIX, brief_name)))
        return bf__nomem();
    rc = bf_ledger_runs(&l, ledger, name);
    for (size_t i = bf_run_list_count(l); rc == BF_OK && i-- > 0;)
        if (bf_run_list_state(l, i) == BF_RUN_COMPLETED) {
            run_id = bf_run_list_id(l, i);
            break;
        }
    bf_run_list_free(l);
    if (rc == BF_OK && run_id && (rc = bf_run_open(&run, ledger, run_id)) == BF_OK)
        rc = bf_run_events(&ev, run);
    for (size_t i = bf_event_list_count(ev); rc == BF_OK && i-- > 0;) {
        if (strcmp(bf_event_list_subject(ev, i), "slice") == 0) {
            json_t *o = bf__json_loads(bf_event_list_detail(ev, i), 0, NULL);
            json_t *s = json_object_get(o, "estimate_s"), *n = json_object_get(o, "estimate_rows");

            if (!o) {
                rc = bf__error(BF_E_PARSE, "ledger %s: run %lld: the slice record is not JSON",
                               bf_ledger_path(ledger), (long long)run_id);
                break;
            }

            if (json_is_number(s) && json_is_integer(n)) {
                if (seconds)
                    *seconds = json_number_value(s);
                if (rows)
                    *rows = (int64_t)json_integer_value(n);
                found = 1;
            }
            json_decref(o);
            break;
        }
    }
    bf_event_list_free(ev);
    bf_run_free(run);
    if (rc == BF_OK && !found)
        rc = bf__error(BF_E_NOT_FOUND, "ledger %s has no completed test slice of brief %s",
                       bf_ledger_path(ledger), brief_name);
    bf__free(name);
    return rc;
}
