/*
 * Living inside a host's process: output that does not change with the
 * host's locale, the environment read once, and handles that refuse to
 * cross fork().
 */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../ledger/ledger_testlib.h"
#include "bftest.h"
#include "common/internal.h"
#include "ledger/ledger_internal.h"
#include "plan/plan_internal.h"

/* ---- helpers ---- */

static char dir[256];
static char path[300];

static void make_dir(void)
{
    snprintf(dir, sizeof dir, "/tmp/bf-host-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/ledger.db", dir);
}

static void remove_dir(void)
{
    char cmd[600];

    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
}

/*
 * Switch the whole process to a German locale, as a host may. A missing
 * locale fails the test: tests/deps.sh generates it.
 */
static void decimal_comma_locale(void)
{
    char probe[16];

    ck_assert_msg(setlocale(LC_ALL, "de_DE.UTF-8") != NULL,
                  "locale de_DE.UTF-8 is not installed (tests/deps.sh generates it, as root)");
    snprintf(probe, sizeof probe, "%g", 1.5);
    ck_assert_str_eq(probe, "1,5"); /* the host's own printf now writes a comma */
}

static char *slurp(const char *file)
{
    FILE *f = fopen(file, "rb");
    long n;
    char *buf;

    ck_assert_msg(f != NULL, "cannot open %s", file);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    ck_assert_uint_eq(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* Replace the one occurrence of `from` in the malloc'd `text`. */
static char *replace(char *text, const char *from, const char *to)
{
    char *at = strstr(text, from), *out;

    ck_assert_msg(at != NULL, "'%s' not found", from);
    out = malloc(strlen(text) - strlen(from) + strlen(to) + 1);
    memcpy(out, text, (size_t)(at - text));
    strcpy(out + (at - text), to);
    strcat(out, at + strlen(from));
    free(text);
    return out;
}

/* Two key batches with a real, an integer and a text parameter each. */
static bf_plan *real_plan(void)
{
    static const char *const names[] = {"scale", "lo", "note"};
    bf_plan *plan;

    ck_assert_int_eq(bf__plan_new(&plan, BF_DIM_KEY, "order_id", 2), BF_OK);
    for (int i = 0; i < 2; i++) {
        bf_value v[3] = {{.type = BF_VALUE_REAL, .r = 1.5 + i},
                         {.type = BF_VALUE_INT, .i = i * 100},
                         {.type = BF_VALUE_TEXT, .s = "x", .len = 1}};

        ck_assert_int_eq(bf__plan_add(plan, i * 100, i * 100 + 100, i ? "b" : "a", 3, names, v),
                         BF_OK);
    }
    ck_assert_int_eq(bf__plan_seal(plan, "pin"), BF_OK);
    return plan;
}

/* ---- locale ---- */

START_TEST(plan_json_keeps_a_decimal_point)
{
    bf_plan *plan, *back;
    char *json;
    bf_value v;

    decimal_comma_locale();
    plan = real_plan();
    ck_assert_int_eq(bf_plan_to_json(&json, plan), BF_OK);
    ck_assert_msg(strstr(json, "\"params\":{\"scale\":1.5,\"lo\":0,\"note\":\"x\"}") != NULL,
                  "%s", json);
    ck_assert_int_eq(bf_plan_from_json(&back, json), BF_OK);
    ck_assert_str_eq(bf_plan_fingerprint(back), bf_plan_fingerprint(plan));
    ck_assert_int_eq(bf_batch_param(&v, bf_plan_batch(back, 1), "scale"), BF_OK);
    ck_assert_int_eq(v.type, BF_VALUE_REAL);
    ck_assert(v.r == 2.5);
    bf_free(json);
    bf_plan_free(back);
    bf_plan_free(plan);
}
END_TEST

START_TEST(ledger_batch_params_stay_json_objects)
{
    bf_run_spec spec = lt_spec("orders-fix", 1, 3, 1, 60);
    bf_ledger *ledger;
    bf_plan *plan;
    bf_run *run;
    bf_lease *lease;
    char *batches;

    decimal_comma_locale();
    make_dir();
    plan = real_plan();
    ck_assert_int_eq(bf_ledger_open(&ledger, path, NULL), BF_OK);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_str_eq(bf_lease_params_json(lease), "{\"scale\":1.5,\"lo\":0,\"note\":\"x\"}");
    ck_assert_int_eq(bf_run_batches_json(&batches, run, -1), BF_OK);
    ck_assert_msg(strstr(batches, "\"params\":{\"scale\":1.5,\"lo\":0,\"note\":\"x\"}") != NULL,
                  "%s", batches);
    ck_assert_msg(strstr(batches, "\"params\":{\"scale\":2.5,\"lo\":100,\"note\":\"x\"}") != NULL,
                  "%s", batches);
    bf_free(batches);
    bf_lease_free(lease);
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_plan_free(plan);
    remove_dir();
}
END_TEST

START_TEST(markdown_brief_keeps_a_decimal_point)
{
    const char *root = getenv("BF_SOURCE_ROOT");
    char file[1024];
    char *text, *md;
    bf_brief *brief;

    snprintf(file, sizeof file, "%s/examples/briefs/refund-join.json", root ? root : ".");
    text = slurp(file);
    text = replace(text, "\"max_rate\": 0 }", "\"max_rate\": 0.025 }");
    text = replace(text, "\"min\": -10, \"max\": 0 }", "\"min\": -2.5, \"max\": 0.5 }");
    decimal_comma_locale();
    ck_assert_int_eq(bf_brief_load_json(&brief, text, strlen(text)), BF_OK);
    ck_assert_int_eq(bf_brief_render_markdown(&md, brief), BF_OK);
    ck_assert_msg(strstr(md, "At most 2.5% of values missing in") != NULL, "%s", md);
    ck_assert_msg(strstr(md, "moves between -2.5% and 0.5%.") != NULL, "%s", md);
    ck_assert_ptr_null(strstr(md, "2,5"));
    bf_free(md);
    bf_brief_free(brief);
    free(text);
}
END_TEST

START_TEST(fingerprints_of_reals_do_not_change)
{
    bf_value row[2] = {{.type = BF_VALUE_REAL, .r = 1.5}, {.type = BF_VALUE_REAL, .r = -0.25}};
    bf_fingerprint c = {0, 0, 0}, de = {0, 0, 0};
    char c_text[BF_FINGERPRINT_TEXT_SIZE], de_text[BF_FINGERPRINT_TEXT_SIZE];

    ck_assert_int_eq(bf_fingerprint_add_row(&c, row, 2), BF_OK);
    ck_assert_int_eq(bf_fingerprint_format(c_text, sizeof c_text, &c), BF_OK);
    decimal_comma_locale();
    ck_assert_int_eq(bf_fingerprint_add_row(&de, row, 2), BF_OK);
    ck_assert_int_eq(bf_fingerprint_format(de_text, sizeof de_text, &de), BF_OK);
    ck_assert_str_eq(de_text, c_text);
}
END_TEST

START_TEST(messages_keep_a_decimal_point)
{
    int64_t width;
    char *s;

    decimal_comma_locale();
    ck_assert_int_eq(bf_key_width_next(&width, 100, 1.5, 0, -2.5), BF_E_INVALID);
    ck_assert_str_eq(bf_last_error(), "key sizing: target_batch_s must be above 0, got -2.5");
    /* Every formatting helper, not only the message. */
    s = bf__asprintf("%.1f %g %e", 0.5, 1.25, 2.0);
    ck_assert_str_eq(s, "0.5 1.25 2.000000e+00");
    bf_free(s);
    /* The host's locale is untouched by the library's calls. */
    s = bf__asprintf("%g", 1.5);
    bf_free(s);
    {
        char probe[16];

        snprintf(probe, sizeof probe, "%g", 1.5);
        ck_assert_str_eq(probe, "1,5");
    }
}
END_TEST

/* ---- the environment, read once ---- */

START_TEST(tzdir_is_read_once_at_the_first_zone_load)
{
    bf_tz *tz;

    ck_assert_int_eq(setenv("TZDIR", "/usr/share/zoneinfo", 1), 0);
    ck_assert_int_eq(bf_tz_load(&tz, "America/New_York"), BF_OK);
    bf_tz_free(tz);
    /* A host thread changes the environment afterwards: the library does not notice. */
    ck_assert_int_eq(setenv("TZDIR", "/nonexistent/bf-tzdir", 1), 0);
    ck_assert_msg(bf_tz_load(&tz, "Europe/Berlin") == BF_OK, "%s", bf_last_error());
    bf_tz_free(tz);
    ck_assert_int_eq(unsetenv("TZDIR"), 0);
    ck_assert_msg(bf_tz_load(&tz, "Asia/Tokyo") == BF_OK, "%s", bf_last_error());
    bf_tz_free(tz);
}
END_TEST

START_TEST(a_bogus_tzdir_at_the_first_load_is_kept)
{
    bf_tz *tz;

    ck_assert_int_eq(setenv("TZDIR", "/nonexistent/bf-tzdir", 1), 0);
    ck_assert_int_eq(bf_tz_load(&tz, "Europe/Berlin"), BF_E_NOT_FOUND);
    ck_assert_msg(strstr(bf_last_error(), "/nonexistent/bf-tzdir/Europe/Berlin") != NULL, "%s",
                  bf_last_error());
    ck_assert_int_eq(setenv("TZDIR", "/usr/share/zoneinfo", 1), 0);
    ck_assert_int_eq(bf_tz_load(&tz, "Europe/Berlin"), BF_E_NOT_FOUND);
}
END_TEST

START_TEST(user_is_read_once_at_the_first_default_actor)
{
    bf_ledger *first, *second;
    char want[64];

    make_dir();
    ck_assert_int_eq(setenv("USER", "alice", 1), 0);
    ck_assert_int_eq(bf_ledger_open(&first, path, NULL), BF_OK);
    ck_assert_int_eq(setenv("USER", "mallory", 1), 0);
    ck_assert_int_eq(bf_ledger_open(&second, path, NULL), BF_OK);
    snprintf(want, sizeof want, "alice pid %ld", (long)getpid());
    ck_assert_str_eq(first->actor, want);
    ck_assert_str_eq(second->actor, want);
    bf_ledger_close(second);
    bf_ledger_close(first);
    remove_dir();
}
END_TEST

/* ---- handles do not cross fork() ---- */

/* In the child: a check that failed exits with its line number. */
#define CHILD_CHECK(cond)                                                                      \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            fprintf(stderr, "child: %s failed: %s\n", #cond, bf_last_error());                 \
            _exit(__LINE__ % 250 + 1);                                                         \
        }                                                                                      \
    } while (0)

static void wait_child(pid_t child)
{
    int status;

    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                  "the child's checks failed (status %d)", status);
}

START_TEST(a_ledger_used_after_fork_refuses)
{
    bf_run_spec spec = lt_spec("orders-fix", 1, 3, 1, 60);
    bf_plan *plan = lt_key_plan(3, 100, "pin");
    bf_ledger *ledger;
    bf_run *run;
    bf_lease *lease;
    char *events_before, *events_after, *runs_before, *runs_after;
    pid_t parent = getpid(), child;

    make_dir();
    ck_assert_int_eq(bf_ledger_open(&ledger, path, NULL), BF_OK);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    ck_assert_int_eq(bf_run_events_json(&events_before, run), BF_OK);
    ck_assert_int_eq(bf_ledger_runs_json(&runs_before, ledger), BF_OK);
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        char want[700];
        char *text = NULL;
        int64_t id;

        snprintf(want, sizeof want,
                 "ledger %s: the handle was opened in process %ld and used in process %ld; "
                 "a handle must not cross fork(): open a new one in the child",
                 path, (long)parent, (long)getpid());
        CHILD_CHECK(bf_run_claim(&lease, run) == BF_E_STATE);
        CHILD_CHECK(strcmp(bf_last_error(), want) == 0);
        CHILD_CHECK(strcmp(bf_run_last_error(run), want) == 0);
        CHILD_CHECK(bf_run_pause(run, "from the child") == BF_E_STATE);
        CHILD_CHECK(bf_run_note(run, "from the child") == BF_E_STATE);
        CHILD_CHECK(bf_run_refresh(run) == BF_E_STATE);
        CHILD_CHECK(bf_run_record_before_state(run, 1000000001, "{}") == BF_E_STATE);
        CHILD_CHECK(bf_run_before_state(&text, run, 1000000001) == BF_E_STATE && text == NULL);
        CHILD_CHECK(strcmp(bf_run_last_error(run), want) == 0);
        CHILD_CHECK(bf_ledger_find_run(&id, ledger, "orders-fix") == BF_E_STATE);
        CHILD_CHECK(strcmp(bf_ledger_last_error(ledger), want) == 0);
        CHILD_CHECK(bf_ledger_runs_json(&text, ledger) == BF_E_STATE && text == NULL);
        CHILD_CHECK(bf_run_start(&run, ledger, &spec, plan) == BF_E_STATE);
        /* A new handle in the child works. */
        bf_ledger *own;
        CHILD_CHECK(bf_ledger_open(&own, path, NULL) == BF_OK);
        CHILD_CHECK(bf_ledger_find_run(&id, own, "orders-fix") == BF_OK);
        bf_ledger_close(own);
        bf_ledger_close(ledger); /* frees the handle, leaves the parent's store alone */
        _exit(0);
    }
    wait_child(child);
    /* Nothing was written, and the parent's handles still work. */
    ck_assert_int_eq(bf_run_events_json(&events_after, run), BF_OK);
    ck_assert_str_eq(events_after, events_before);
    ck_assert_int_eq(bf_ledger_runs_json(&runs_after, ledger), BF_OK);
    ck_assert_str_eq(runs_after, runs_before);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    ck_assert_int_eq(bf_lease_ordinal(lease), 0);
    bf_lease_free(lease);
    bf_free(events_before);
    bf_free(events_after);
    bf_free(runs_before);
    bf_free(runs_after);
    bf_run_free(run);
    bf_ledger_close(ledger);
    bf_plan_free(plan);
    remove_dir();
}
END_TEST

START_TEST(a_driver_used_after_fork_refuses)
{
    char db[320];
    bf_driver *driver;
    bf_table_info *info;
    pid_t parent = getpid(), child;

    make_dir();
    snprintf(db, sizeof db, "%s/wh.db", dir);
    ck_assert_int_eq(bf_driver_open_sqlite(&driver, db, BF_SQLITE_CREATE), BF_OK);
    ck_assert_int_eq(bf_driver_execute(driver, "CREATE TABLE t (id INTEGER PRIMARY KEY)"), BF_OK);
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        char want[700];

        snprintf(want, sizeof want,
                 "driver: execute: the handle was created in process %ld and used in process "
                 "%ld; a handle must not cross fork(): create a new one in the child",
                 (long)parent, (long)getpid());
        CHILD_CHECK(bf_driver_execute(driver, "INSERT INTO t VALUES (1)") == BF_E_STATE);
        CHILD_CHECK(strcmp(bf_driver_last_error(driver), want) == 0);
        CHILD_CHECK(bf_driver_describe(&info, driver, "t") == BF_E_STATE);
        bf_driver_free(driver);
        _exit(0);
    }
    wait_child(child);
    ck_assert_int_eq(bf_driver_execute(driver, "INSERT INTO t VALUES (2)"), BF_OK);
    ck_assert_int_eq(bf_driver_describe(&info, driver, "t"), BF_OK);
    bf_table_info_free(info);
    bf_driver_free(driver);
    remove_dir();
}
END_TEST

/*
 * In the child, closing and freeing the parent's handles releases every
 * block the library allocated for them: the handles and the built-in
 * store's and SQL layer's own buffers. Only the SQLite connections are
 * left alone, to the parent, which goes on using them.
 */
START_TEST(a_child_releases_the_library_memory_of_the_parents_handles)
{
    bf_run_spec spec = lt_spec("orders-fix", 1, 3, 1, 60);
    bf_plan *plan = lt_key_plan(3, 100, "pin");
    bf_ledger *ledger;
    bf_run *run;
    bf_lease *lease;
    bf_driver *driver;
    char db[320];
    long live;
    pid_t child;

    make_dir();
    snprintf(db, sizeof db, "%s/wh.db", dir);
    /* Once before counting: what the library sets up once for the process is not the handles'. */
    ck_assert_int_eq(bf_ledger_open(&ledger, path, NULL), BF_OK);
    bf_ledger_close(ledger);
    ck_assert_int_eq(bf_driver_open_sqlite(&driver, db, BF_SQLITE_CREATE), BF_OK);
    bf_driver_free(driver);
    live = failalloc_live();
    ck_assert_int_eq(bf_ledger_open(&ledger, path, NULL), BF_OK);
    ck_assert_int_eq(bf_run_start(&run, ledger, &spec, plan), BF_OK);
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK); /* the store keeps copies of what it read */
    bf_lease_free(lease);
    ck_assert_int_eq(bf_driver_open_sqlite(&driver, db, 0), BF_OK);
    ck_assert_int_eq(bf_driver_execute(driver, "CREATE TABLE t (id INTEGER PRIMARY KEY)"), BF_OK);
    ck_assert_int_gt(failalloc_live(), live);
    child = fork();
    ck_assert_int_ne(child, -1);
    if (child == 0) {
        CHILD_CHECK(bf_run_claim(&lease, run) == BF_E_STATE);
        CHILD_CHECK(bf_driver_execute(driver, "INSERT INTO t VALUES (1)") == BF_E_STATE);
        bf_run_free(run);
        bf_ledger_close(ledger);
        bf_driver_free(driver);
        if (failalloc_live() != live) {
            fprintf(stderr, "child: %ld blocks of the library's still allocated\n",
                    failalloc_live() - live);
            _exit(1);
        }
        _exit(0);
    }
    wait_child(child);
    /* The parent's connections were left alone: its handles still work. */
    ck_assert_int_eq(bf_run_claim(&lease, run), BF_OK);
    bf_lease_free(lease);
    ck_assert_int_eq(bf_driver_execute(driver, "INSERT INTO t VALUES (2)"), BF_OK);
    bf_driver_free(driver);
    bf_run_free(run);
    bf_ledger_close(ledger);
    ck_assert_int_eq(failalloc_live(), live);
    bf_plan_free(plan);
    remove_dir();
}
END_TEST

int main(void)
{
    Suite *s = suite_create("host");
    TCase *loc = tcase_create("locale");

    suite_add_tcase(s, loc);
    tcase_add_test(loc, plan_json_keeps_a_decimal_point);
    tcase_add_test(loc, ledger_batch_params_stay_json_objects);
    tcase_add_test(loc, markdown_brief_keeps_a_decimal_point);
    tcase_add_test(loc, fingerprints_of_reals_do_not_change);
    tcase_add_test(loc, messages_keep_a_decimal_point);

    TCase *env = tcase_create("environment");
    suite_add_tcase(s, env);
    tcase_add_test(env, tzdir_is_read_once_at_the_first_zone_load);
    tcase_add_test(env, a_bogus_tzdir_at_the_first_load_is_kept);
    tcase_add_test(env, user_is_read_once_at_the_first_default_actor);

    TCase *fork_ = tcase_create("fork");
    suite_add_tcase(s, fork_);
    tcase_add_test(fork_, a_ledger_used_after_fork_refuses);
    tcase_add_test(fork_, a_driver_used_after_fork_refuses);
    tcase_add_test(fork_, a_child_releases_the_library_memory_of_the_parents_handles);
    return bftest_run(s);
}
