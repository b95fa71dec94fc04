#include <math.h>
#include <string.h>

#include "common/json.h"
#include "common/internal.h"

/* json_dump_callback's sink: appends to a bf__sb, and stops the dump once an append failed. */
static int dump_to_sb(const char *buffer, size_t size, void *data)
{
    bf__sb *sb = data;

    bf__sb_appendn(sb, buffer, size);
    return sb->failed ? -1 : 0;
}

/*
 * One pass of Jansson's writer into our own buffer (json_dumpb would need
 * two, one to measure and one to fill, and formatting numbers is most of
 * what a dump costs).
 */
int bf__json_dump(char **out, const json_t *value, size_t flags)
{
    locale_t previous = bf__c_locale_enter();
    bf__sb sb;
    int rc;

    *out = NULL;
    bf__sb_init(&sb);
    if (json_dump_callback(value, dump_to_sb, &sb, flags) != 0 || sb.len == 0) {
        bf__sb_dispose(&sb);
        rc = bf__nomem();
    } else {
        rc = bf__sb_finish(&sb, out);
    }
    bf__c_locale_leave(previous);
    return rc;
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

void bf__jw_str(bf__sb *sb, const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)text;
    size_t n, run;

    if (!text) {
        bf__sb_appendn(sb, "null", 4);
        return;
    }
    n = strlen(text);
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
    char buf[48], *e;
    int n;

    if (!isfinite(v)) {
        bf__sb_appendn(sb, "null", 4);
        return;
    }
    n = bf__snprintf(buf, sizeof buf - 2, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof buf - 2) {
        sb->failed = 1;
        return;
    }
    /* A '.' or an exponent, so that it reads back as a real. */
    if (!strchr(buf, '.') && !strchr(buf, 'e')) {
        memcpy(buf + n, ".0", 3);
        n += 2;
    }
    /* No '+' and no leading zeros in the exponent: 1e20, 1.5e-7. */
    if ((e = strchr(buf, 'e'))) {
        char *from = e + 1, *to = e + 1;

        if (*from == '-')
            from++, to++;
        else if (*from == '+')
            from++;
        while (*from == '0' && from[1])
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(buf);
    }
    bf__sb_appendn(sb, buf, (size_t)n);
}

void bf__jw_member(bf__sb *sb, int *count, const char *key)
{
    if ((*count)++)
        bf__sb_appendc(sb, ',');
    bf__jw_str(sb, key);
    bf__sb_appendc(sb, ':');
}
