#include <string.h>

#include "common/json.h"
#include "common/internal.h"

static int write_value(bf__sb *sb, const json_t *value, size_t flags, int depth);

/* Deeper than any JSON the library builds; a cycle would otherwise recurse for ever. */
#define MAX_DEPTH 2048

int bf__json_dump(char **out, const json_t *value, size_t flags)
{
    bf__sb sb;

    *out = NULL;
    bf__sb_init(&sb);
    if (!value)
        return bf__error(BF_E_INTERNAL, "JSON dump: no value");
    if (write_value(&sb, value, flags, 0) != 0) {
        bf__sb_dispose(&sb);
        return bf__error(BF_E_INTERNAL, "JSON dump: values nested more than %d deep (a cycle?)",
                         MAX_DEPTH);
    }
    return bf__sb_finish(&sb, out);
}

json_t *bf__json_loadb(const char *text, size_t len, size_t flags, json_error_t *error)
{
    locale_t previous = bf__c_locale_enter();
    json_t *value = json_loadb(text, len, flags, error);

    bf__c_locale_leave(previous);
    return value;
}

json_t *bf__json_loads(const char *text, size_t flags, json_error_t *error)
{
    locale_t previous = bf__c_locale_enter();
    json_t *value = json_loads(text, flags, error);

    bf__c_locale_leave(previous);
    return value;
}

/* ---- writing JSON into a bf__sb ---- */

/* The length of the valid UTF-8 sequence at s (n bytes left), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;

    if (c < 0xC2 || c > 0xF4)
        return 0; /* ASCII is handled before; 0x80-0xC1: a continuation or an overlong lead */
    len = c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    if (n < len)
        return 0;
    cp = c & (len == 2 ? 0x1F : len == 3 ? 0x0F : 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

static void write_string(bf__sb *sb, const char *text, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)text;
    size_t run;

    bf__sb_appendc(sb, '"');
    while (n > 0) {
        /* The longest run written as it is: printable ASCII but the quote and the backslash. */
        for (run = 0; run < n && s[run] >= 0x20 && s[run] < 0x80 && s[run] != '"' &&
                      s[run] != '\\';
             run++)
            ;
        if (run) {
            bf__sb_appendn(sb, (const char *)s, run);
            s += run;
            n -= run;
            continue;
        }
        if (*s >= 0x80) {
            size_t len = utf8_len(s, n);

            if (len)
                bf__sb_appendn(sb, (const char *)s, len);
            else
                bf__sb_appendn(sb, "\xEF\xBF\xBD", 3);
            s += len ? len : 1;
            n -= len ? len : 1;
            continue;
        }
        switch (*s) {
        case '"': bf__sb_appendn(sb, "\\\"", 2); break;
        case '\\': bf__sb_appendn(sb, "\\\\", 2); break;
        case '\b': bf__sb_appendn(sb, "\\b", 2); break;
        case '\f': bf__sb_appendn(sb, "\\f", 2); break;
        case '\n': bf__sb_appendn(sb, "\\n", 2); break;
        case '\r': bf__sb_appendn(sb, "\\r", 2); break;
        case '\t': bf__sb_appendn(sb, "\\t", 2); break;
        default: {
            char u[6] = {'\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15]};

            bf__sb_appendn(sb, u, sizeof u);
        }
        }
        s++;
        n--;
    }
    bf__sb_appendc(sb, '"');
}

void bf__jw_str(bf__sb *sb, const char *text)
{
    if (!text)
        bf__sb_appendn(sb, "null", 4);
    else
        write_string(sb, text, strlen(text));
}

void bf__jw_int(bf__sb *sb, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    bf__sb_appendn(sb, p, (size_t)(buf + sizeof buf - p));
}

void bf__jw_real(bf__sb *sb, double v)
{
    char text[BF__REAL_TEXT_SIZE];

    bf__sb_appendn(sb, text, bf__real_text(text, v));
}

void bf__jw_member(bf__sb *sb, int *count, const char *key)
{
    if ((*count)++)
        bf__sb_appendc(sb, ',');
    bf__jw_str(sb, key);
    bf__sb_appendc(sb, ':');
}

/* ---- a json_t as text ---- */

/* A newline and the indentation of `depth`, or the space after a separator; as Jansson writes them. */
static void write_indent(bf__sb *sb, size_t flags, int depth, int space)
{
    size_t width = flags & 0x1F; /* JSON_INDENT(n) */

    if (width > 0) {
        bf__sb_appendc(sb, '\n');
        for (size_t i = 0; i < width * (size_t)depth; i++)
            bf__sb_appendc(sb, ' ');
    } else if (space && !(flags & JSON_COMPACT)) {
        bf__sb_appendc(sb, ' ');
    }
}

/* After a member or an element at `depth` + 1: a separator, or the closing bracket's indentation. */
static void write_after(bf__sb *sb, size_t flags, int depth, int last)
{
    if (last) {
        write_indent(sb, flags, depth, 0);
    } else {
        bf__sb_appendc(sb, ',');
        write_indent(sb, flags, depth + 1, 1);
    }
}

/* 0, or -1 when the values nest too deep. */
static int write_value(bf__sb *sb, const json_t *value, size_t flags, int depth)
{
    if (depth > MAX_DEPTH)
        return -1;
    switch (json_typeof(value)) {
    case JSON_OBJECT: {
        const char *key;
        json_t *member;
        size_t left = json_object_size(value);

        bf__sb_appendc(sb, '{');
        if (left == 0) {
            bf__sb_appendc(sb, '}');
            break;
        }
        write_indent(sb, flags, depth + 1, 0);
        /* In the order the members were set, as Jansson keeps and dumps them. */
        json_object_foreach((json_t *)value, key, member) {
            write_string(sb, key, strlen(key));
            bf__sb_append(sb, flags & JSON_COMPACT ? ":" : ": ");
            if (write_value(sb, member, flags, depth + 1) != 0)
                return -1;
            write_after(sb, flags, depth, --left == 0);
        }
        bf__sb_appendc(sb, '}');
        break;
    }
    case JSON_ARRAY: {
        size_t n = json_array_size(value);

        bf__sb_appendc(sb, '[');
        if (n == 0) {
            bf__sb_appendc(sb, ']');
            break;
        }
        write_indent(sb, flags, depth + 1, 0);
        for (size_t i = 0; i < n; i++) {
            if (write_value(sb, json_array_get(value, i), flags, depth + 1) != 0)
                return -1;
            write_after(sb, flags, depth, i + 1 == n);
        }
        bf__sb_appendc(sb, ']');
        break;
    }
    case JSON_STRING:
        write_string(sb, json_string_value(value), json_string_length(value));
        break;
    case JSON_INTEGER:
        bf__jw_int(sb, (int64_t)json_integer_value(value));
        break;
    case JSON_REAL:
        bf__jw_real(sb, json_real_value(value));
        break;
    case JSON_TRUE:
        bf__sb_appendn(sb, "true", 4);
        break;
    case JSON_FALSE:
        bf__sb_appendn(sb, "false", 5);
        break;
    default:
        bf__sb_appendn(sb, "null", 4);
        break;
    }
    return 0;
}
