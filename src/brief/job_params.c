/*
 * The named parameters a job's SELECT uses (":start", ":lo"...), found the
 * way a SQL engine would bind them: outside quoted text and comments, a
 * colon not part of a "::" cast, then a whole identifier.
 */
#include <string.h>

#include "brief/job_params.h"

static int ident_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int ident_char(char c)
{
    return ident_start(c) || (c >= '0' && c <= '9');
}

/* Skip from an opening quote to past its closing one (a doubled quote is an escaped quote). */
static const char *skip_quoted(const char *s, char quote)
{
    for (s++; *s; s++) {
        if (*s == quote) {
            if (s[1] != quote)
                return s + 1;
            s++;
        }
    }
    return s;
}

void bf__job_params(const char *sql, bf__job_param_fn fn, void *ctx)
{
    const char *s = sql;

    while (*s) {
        if (*s == '\'' || *s == '"' || *s == '`') {
            s = skip_quoted(s, *s);
        } else if (s[0] == '-' && s[1] == '-') {
            while (*s && *s != '\n')
                s++;
        } else if (s[0] == '/' && s[1] == '*') {
            const char *end = strstr(s + 2, "*/");
            s = end ? end + 2 : s + strlen(s);
        } else if (s[0] == ':' && s[1] == ':') {
            s += 2; /* a cast: x::date */
        } else if (s[0] == ':' && ident_start(s[1])) {
            const char *name = ++s;
            while (ident_char(*s))
                s++;
            fn(name, (size_t)(s - name), ctx);
        } else {
            s++;
        }
    }
}
