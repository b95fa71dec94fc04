#include <inttypes.h>
#include <locale.h>
#include <math.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_json;
const char *cli_json_format;

/* The library code that names a class of exit status, for errors the command raises itself. */
static int code_for_status(int status)
{
    switch (status) {
    case EXIT_USAGE:
        return BF_E_INVALID;
    case EXIT_BLOCKED:
        return BF_E_BLOCKED;
    case EXIT_UNFINISHED:
        return BF_E_STATE;
    default:
        return BF_E_IO;
    }
}

static int fail_v(int code, int status, const char *fmt, va_list ap)
{
    char msg[2048];

    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "backfill: %s\n", msg);
    if (cli_json)
        cli_print_json(json_pack("{s:s, s:s, s:s, s:i}", "format", "backfill-error/1", "error",
                                 msg, "code", bf_errstr(code), "exit", status));
    return status;
}

int cli_fail(int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(code_for_status(status), status, fmt, ap);
    va_end(ap);
    return status;
}

int cli_fail_code(int code, int status, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    fail_v(code, status, fmt, ap);
    va_end(ap);
    return status;
}

int cli_exit_for(int code)
{
    switch (code) {
    case BF_OK:
        return EXIT_DONE;
    case BF_E_INVALID:
    case BF_E_PARSE:
    case BF_E_NOT_FOUND:
    case BF_E_CONFLICT:
    case BF_E_ABI:
        return EXIT_USAGE;
    case BF_E_BLOCKED:
    case BF_E_VALIDATION:
        return EXIT_BLOCKED;
    case BF_E_STATE:
        return EXIT_UNFINISHED;
    default:
        return EXIT_FAILURE_;
    }
}

int cli_fail_bf(int code, const char *what)
{
    const char *msg = bf_last_error();

    if (!msg[0])
        msg = bf_errdesc(code);
    if (what)
        return cli_fail_code(code, cli_exit_for(code), "%s: %s", what, msg);
    return cli_fail_code(code, cli_exit_for(code), "%s", msg);
}

/* "2025-01-01T05:00:00Z", with ".ffffff" before the Z when the instant is not a whole second. */
static void iso_text(char *out, size_t size, int64_t us)
{
    int64_t s = us / 1000000, frac = us % 1000000;
    bf_civil t;

    if (frac < 0) {
        frac += 1000000;
        s--;
    }
    bf_civil_from_seconds(&t, s);
    if (frac)
        snprintf(out, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02d.%06dZ", t.year, t.month, t.day,
                 t.hour, t.minute, t.second, (int)frac);
    else
        snprintf(out, size, "%04" PRId64 "-%02d-%02dT%02d:%02d:%02dZ", t.year, t.month, t.day,
                 t.hour, t.minute, t.second);
}

json_t *cli_iso_json(int64_t us)
{
    char text[64];

    iso_text(text, sizeof text, us);
    return json_string(text);
}

json_t *cli_embedded_json(const char *text)
{
    static locale_t c_locale;
    locale_t was = (locale_t)0;
    json_t *v;

    if (!text)
        return json_null();
    if (!c_locale)
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale)
        was = uselocale(c_locale);
    v = json_loads(text, JSON_DECODE_ANY, NULL);
    if (c_locale)
        uselocale(was);
    return v ? v : json_string(text);
}

/*
 * The shortest text that reads back to the same double, in the form Jansson
 * gives its reals (always a "." or an exponent; no "+" or leading zeros in
 * the exponent), and with a "." whatever the locale's decimal point.
 */
static void real_text(char *out, size_t size, double x)
{
    /*
     * The command honours the user's locale (main() calls setlocale), so the
     * search for the shortest form runs in the "C" locale: a "." and no
     * grouping, whatever LC_NUMERIC says. This program has one thread.
     */
    static locale_t c_locale;
    locale_t was = (locale_t)0;
    char *e;

    if (!c_locale)
        c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
    if (c_locale)
        was = uselocale(c_locale);
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(out, size, "%.*g", precision, x);
        if (strtod(out, NULL) == x)
            break;
    }
    /*
     * The shortest form of 60 is 6e+01: numbers a person reads as plain
     * decimals (revenue, seconds) are written so, with as few decimals as
     * give the same double; only the very large and the very small keep the
     * exponent.
     */
    if (strchr(out, 'e') && fabs(x) >= 1e-4 && fabs(x) < 1e15) {
        for (int decimals = 0; decimals <= 17; decimals++) {
            snprintf(out, size, "%.*f", decimals, x);
            if (strtod(out, NULL) == x)
                break;
        }
    }
    if (c_locale)
        uselocale(was);
    e = strchr(out, 'e');
    if (e) {
        char *digits = e + 1;
        char *from = digits;

        if (*from == '+')
            from++;
        else if (*from == '-')
            digits = ++from;
        while (*from == '0' && from[1])
            from++;
        memmove(digits, from, strlen(from) + 1);
    } else if (!strchr(out, '.')) {
        strncat(out, ".0", size - strlen(out) - 1);
    }
}

void cli_real_text(char *out, size_t size, double x)
{
    real_text(out, size, x);
}

static void indent(FILE *to, int depth)
{
    fprintf(to, "%*s", 2 * depth, "");
}

static void emit(FILE *to, const json_t *v, int depth);

/* An object's members, "format" first when it is given, NAME_iso after each integer NAME_us. */
static void emit_object(FILE *to, const json_t *v, int depth, const char *format)
{
    const char *key;
    json_t *member;
    int first = 1;

    if (json_object_size(v) == 0 && !format) {
        fputs("{}", to);
        return;
    }
    fputs("{", to);
    if (format) {
        fputs("\n", to);
        indent(to, depth + 1);
        fprintf(to, "\"format\": \"%s\"", format);
        first = 0;
    }
    json_object_foreach((json_t *)v, key, member) {
        size_t len = strlen(key);

        fputs(first ? "\n" : ",\n", to);
        first = 0;
        indent(to, depth + 1);
        {
            json_t *k = json_string(key);

            json_dumpf(k, to, JSON_ENCODE_ANY);
            json_decref(k);
        }
        fputs(": ", to);
        emit(to, member, depth + 1);
        if (len > 3 && strcmp(key + len - 3, "_us") == 0 && json_is_integer(member)) {
            json_int_t us = json_integer_value(member);
            char iso[64];

            fputs(",\n", to);
            indent(to, depth + 1);
            fprintf(to, "\"%.*s_iso\": ", (int)(len - 3), key);
            if (us == 0) {
                fputs("null", to);
            } else {
                iso_text(iso, sizeof iso, (int64_t)us);
                fprintf(to, "\"%s\"", iso);
            }
        }
    }
    fputs("\n", to);
    indent(to, depth);
    fputs("}", to);
}

static void emit(FILE *to, const json_t *v, int depth)
{
    char text[64];
    size_t i;
    json_t *item;

    switch (json_typeof(v)) {
    case JSON_OBJECT:
        emit_object(to, v, depth, NULL);
        break;
    case JSON_ARRAY:
        if (json_array_size(v) == 0) {
            fputs("[]", to);
            break;
        }
        fputs("[", to);
        json_array_foreach((json_t *)v, i, item) {
            fputs(i ? ",\n" : "\n", to);
            indent(to, depth + 1);
            emit(to, item, depth + 1);
        }
        fputs("\n", to);
        indent(to, depth);
        fputs("]", to);
        break;
    case JSON_REAL:
        real_text(text, sizeof text, json_real_value(v));
        fputs(text, to);
        break;
    default: /* strings, integers, true, false, null: as Jansson writes them */
        json_dumpf(v, to, JSON_ENCODE_ANY);
        break;
    }
}

static void print_json_to(FILE *to, const char *format, json_t *value)
{
    if (json_is_object(value) && !json_object_get(value, "format"))
        emit_object(to, value, 0, format);
    else
        emit(to, value, 0);
    fputc('\n', to);
}

void cli_print_json_as(const char *format, json_t *value)
{
    if (!value)
        return;
    print_json_to(stdout, format, value);
    json_decref(value);
}

char *cli_json_text(const char *format, json_t *value, size_t *len)
{
    char *text = NULL;
    size_t size = 0;
    FILE *to;

    *len = 0;
    if (!value)
        return NULL;
    to = open_memstream(&text, &size);
    if (to) {
        print_json_to(to, format, value);
        if (fclose(to) != 0) {
            free(text);
            text = NULL;
        }
    }
    json_decref(value);
    if (text)
        *len = size;
    return text;
}

void cli_print_json(json_t *value)
{
    cli_print_json_as(cli_json_format, value);
}

int cli_warehouse_check(sqlite3 **out, const char *command, const char *path)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    struct stat st_buf;
    int rc;

    if (out)
        *out = NULL;
    if (stat(path, &st_buf) != 0)
        return cli_fail(EXIT_USAGE, "%s: --warehouse %s: no such file", command, path);
    if (S_ISDIR(st_buf.st_mode))
        return cli_fail(EXIT_USAGE, "%s: --warehouse %s: a directory, not a database", command,
                        path);
    /*
     * Opened for writing (never created) but with query_only set: no statement
     * of ours can write, yet the connection can still recover the journal or
     * the WAL a killed run left, which a read-only connection refuses.
     */
    rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, 5000);
        rc = sqlite3_exec(db, "PRAGMA query_only = 1", NULL, NULL, NULL);
    }
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master", -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st) == SQLITE_ROW ? SQLITE_OK : sqlite3_errcode(db);
    sqlite3_finalize(st);
    if (rc != SQLITE_OK) {
        /* Not a database, or not a file SQLite can open, is bad input; a busy one a failure. */
        int bad = (rc & 0xff) == SQLITE_NOTADB || (rc & 0xff) == SQLITE_CANTOPEN ||
                  (rc & 0xff) == SQLITE_CORRUPT;
        int status = cli_fail(bad ? EXIT_USAGE : EXIT_FAILURE_,
                              "%s: --warehouse %s: %s", command, path,
                              db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));

        sqlite3_close(db);
        return status;
    }
    if (out)
        *out = db;
    else
        sqlite3_close(db);
    return EXIT_DONE;
}

int cli_take_json_flag(int argc, char **argv)
{
    int kept = 0;

    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < argc)
                argv[kept++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--json") == 0)
            cli_json = 1;
        else
            argv[kept++] = argv[i];
    }
    argv[kept] = NULL;
    return kept;
}
