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
    return bftest_run(s);
}
