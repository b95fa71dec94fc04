#include <stdio.h>
#include <string.h>

#include "common/internal.h"

void bf__sb_init(bf__sb *sb)
{
    sb->buf = NULL;
    sb->len = 0;
    sb->cap = 0;
    sb->failed = 0;
}

void bf__sb_appendn(bf__sb *sb, const char *s, size_t n)
{
    if (sb->failed)
        return;
    if (n > SIZE_MAX - sb->len - 1 ||
        bf__grow((void **)&sb->buf, &sb->cap, sb->len + n + 1, 1) != BF_OK) {
        sb->failed = 1;
        return;
    }
    memcpy(sb->buf + sb->len, s, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void bf__sb_append(bf__sb *sb, const char *s)
{
    bf__sb_appendn(sb, s, strlen(s));
}

void bf__sb_appendc(bf__sb *sb, char c)
{
    bf__sb_appendn(sb, &c, 1);
}

void bf__sb_appendf(bf__sb *sb, const char *fmt, ...)
{
    va_list ap;
    char *s;

    if (sb->failed)
        return;
    va_start(ap, fmt);
    s = bf__vasprintf(fmt, ap);
    va_end(ap);
    if (!s) {
        sb->failed = 1;
        return;
    }
    bf__sb_append(sb, s);
    bf__free(s);
}

int bf__sb_finish(bf__sb *sb, char **out)
{
    if (!sb->failed && !sb->buf)
        bf__sb_appendn(sb, "", 0);
    if (sb->failed) {
        bf__sb_dispose(sb);
        return bf__nomem();
    }
    *out = sb->buf;
    bf__sb_init(sb);
    return BF_OK;
}

void bf__sb_dispose(bf__sb *sb)
{
    bf__free(sb->buf);
    bf__sb_init(sb);
}
