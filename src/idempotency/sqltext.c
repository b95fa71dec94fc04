/*
 * A conservative reading of a job's SELECT text: tokens, clauses, the names
 * beside a bound parameter, and the tables after FROM and JOIN. It is no SQL
 * parser; docs/idempotency.md says what it sees and what it misses.
 */
#include <string.h>

#include "idempotency/idem_internal.h"

enum tok_kind { T_NAME, T_QNAME, T_PARAM, T_LITERAL, T_PUNCT };

struct tok {
    enum tok_kind kind;
    const char *p; /* a quoted name: between the quotes; a parameter: after the sigil */
    size_t n;
    char quote;    /* a quoted name's closing quote */
};

struct toks {
    struct tok *v;
    size_t count, cap;
};

static int is_name_char(unsigned char c)
{
    return bf__ascii_isalpha(c) || bf__ascii_isdigit(c) || c == '_' || c >= 0x80;
}

static int push(struct toks *t, enum tok_kind kind, const char *p, size_t n, char quote)
{
    int rc = bf__grow((void **)&t->v, &t->cap, t->count + 1, sizeof *t->v);

    if (rc == BF_OK)
        t->v[t->count++] = (struct tok){kind, p, n, quote};
    return rc;
}

/* Split sql into tokens, dropping whitespace and comments. */
static int tokenize(struct toks *t, const char *sql)
{
    const char *p = sql;
    int rc = BF_OK;

    memset(t, 0, sizeof *t);
    while (*p && rc == BF_OK) {
        unsigned char c = (unsigned char)*p;

        if (bf__ascii_isspace(c)) {
            p++;
        } else if (c == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
        } else if (c == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");

            p = end ? end + 2 : p + strlen(p);
        } else if (c == '\'') {
            const char *s = p++;

            while (*p && !(*p == '\'' && p[1] != '\''))
                p += *p == '\'' ? 2 : 1;
            if (*p)
                p++;
            rc = push(t, T_LITERAL, s, (size_t)(p - s), 0);
        } else if (c == '"' || c == '`' || c == '[') {
            char close = c == '[' ? ']' : (char)c;
            const char *s = ++p;

            while (*p && !(*p == close && p[1] != close))
                p += *p == close && close != ']' ? 2 : 1;
            rc = push(t, T_QNAME, s, (size_t)(p - s), close);
            if (*p)
                p++;
        } else if ((c == ':' || c == '@' || c == '$') && p[1] && p[0] != p[1] &&
                   !(p > sql && p[-1] == ':') && /* x::type is a cast */
                   is_name_char((unsigned char)p[1]) && !bf__ascii_isdigit((unsigned char)p[1])) {
            const char *s = ++p;

            while (is_name_char((unsigned char)*p))
                p++;
            rc = push(t, T_PARAM, s, (size_t)(p - s), 0);
        } else if (is_name_char(c)) {
            const char *s = p;

            while (is_name_char((unsigned char)*p) || (bf__ascii_isdigit(c) && *p == '.'))
                p++;
            rc = push(t, bf__ascii_isdigit(c) ? T_LITERAL : T_NAME, s, (size_t)(p - s), 0);
        } else {
            rc = push(t, T_PUNCT, p, 1, 0);
            p++;
        }
    }
    if (rc != BF_OK) {
        bf__free(t->v);
        t->v = NULL;
    }
    return rc;
}

/* Whether a name token is `word` (ASCII, without case); quoted names are never keywords. */
static int is_word(const struct tok *k, const char *word)
{
    size_t n = strlen(word);

    if (k->kind != T_NAME || k->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (bf__ascii_tolower((unsigned char)k->p[i]) != bf__ascii_tolower((unsigned char)word[i]))
            return 0;
    return 1;
}

/* Whether a name token (bare or quoted) names `name`, without case. */
static int names(const struct tok *k, const char *name)
{
    const char *p = k->p, *end = k->p + k->n;

    if (k->kind != T_NAME && k->kind != T_QNAME)
        return 0;
    for (; p < end; p++, name++) {
        if (!*name)
            return 0;
        if (bf__ascii_tolower((unsigned char)*p) != bf__ascii_tolower((unsigned char)*name))
            return 0;
        if (k->kind == T_QNAME && *p == k->quote && k->quote != ']')
            p++; /* a doubled quote stands for one */
    }
    return *name == '\0';
}

static int is_punct(const struct tok *k, char c)
{
    return k->kind == T_PUNCT && k->p[0] == c;
}

static const char *const clause_words[] = {
    "WHERE", "AND", "OR", "ON", "HAVING", "WHEN", "THEN", "ELSE", "SELECT",
    "FROM", "JOIN", "GROUP", "ORDER", "LIMIT", "UNION", "EXCEPT", "INTERSECT", "USING",
};

/* Words that are no column names, skipped when naming what stands beside a parameter. */
static const char *const plain_words[] = {
    "NOT", "IS", "NULL", "BETWEEN", "IN", "LIKE", "AS", "CAST", "CASE", "END",
    "INTEGER", "TEXT", "REAL", "DATE", "TIMESTAMP", "INTERVAL", "COLLATE", "ESCAPE", "GLOB",
};

static int in_list(const struct tok *k, const char *const *words, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (is_word(k, words[i]))
            return 1;
    return 0;
}

/* The clause boundaries: bound[i] is 1 when token i ends the clause before it. */
static int clause_bounds(char **out, const struct toks *t)
{
    char *bound = bf__calloc(t->count + 1, 1);
    int between = 0;

    if (!bound)
        return bf__nomem();
    for (size_t i = 0; i < t->count; i++) {
        const struct tok *k = &t->v[i];

        if (is_word(k, "BETWEEN")) {
            between = 1;
        } else if (is_word(k, "AND") && between) {
            between = 0;
        } else if (is_punct(k, ';') || in_list(k, clause_words, BF_ARRAY_LEN(clause_words))) {
            bound[i] = 1;
            between = 0;
        }
    }
    *out = bound;
    return BF_OK;
}

int bf__sql_param_near(int *out, char **other, const char *sql, const char *param,
                       const char *column)
{
    struct toks t;
    char *bound = NULL;
    const struct tok *first_other = NULL;
    size_t start = 0;
    int rc, used = 0, near = 0;

    if (other)
        *other = NULL;
    if ((rc = tokenize(&t, sql ? sql : "")) != BF_OK)
        return rc;
    if ((rc = clause_bounds(&bound, &t)) != BF_OK) {
        bf__free(t.v);
        return rc;
    }
    for (size_t i = 0; i <= t.count; i++) {
        int has_param = 0, has_column = 0;
        const struct tok *name = NULL;

        if (i < t.count && !bound[i])
            continue;
        /* The clause [start, i). */
        for (size_t j = start; j < i; j++) {
            const struct tok *k = &t.v[j];

            if (k->kind == T_PARAM && k->n == strlen(param) && memcmp(k->p, param, k->n) == 0)
                has_param = 1;
            else if (names(k, column))
                has_column = 1;
            else if (!name && (k->kind == T_QNAME || k->kind == T_NAME) &&
                     !in_list(k, plain_words, BF_ARRAY_LEN(plain_words)) &&
                     !(j + 1 < i && is_punct(&t.v[j + 1], '(')) &&
                     !(j + 1 < i && is_punct(&t.v[j + 1], '.')))
                name = k;
        }
        if (has_param) {
            used = 1;
            near |= has_column;
            if (!first_other && name)
                first_other = name;
        }
        start = i + 1;
    }
    *out = !used ? -1 : near;
    if (rc == BF_OK && other && used && !near && first_other) {
        *other = bf__strndup(first_other->p, first_other->n);
        if (!*other)
            rc = bf__nomem();
    }
    bf__free(bound);
    bf__free(t.v);
    return rc;
}

int bf__sql_reads_table(int *out, const char *sql, const char *table)
{
    enum { NONE, EXPECT, AFTER_FROM_TABLE } state = NONE;
    struct toks t;
    int rc = tokenize(&t, sql ? sql : ""), found = 0, from_list = 0;
    /* resume[d]: the parenthesis opened at depth d is a subquery in a FROM list */
    unsigned char resume[64] = {0};
    size_t depth = 0;

    if (rc != BF_OK)
        return rc;
    for (size_t i = 0; i < t.count && !found; i++) {
        const struct tok *k = &t.v[i];

        if (is_punct(k, '(')) {
            depth++;
            if (depth < sizeof resume)
                resume[depth] = state == EXPECT && from_list;
            state = NONE;
        } else if (is_punct(k, ')')) {
            state = depth && depth < sizeof resume && resume[depth] ? AFTER_FROM_TABLE : NONE;
            if (state == AFTER_FROM_TABLE)
                from_list = 1;
            if (depth)
                depth--;
        } else if (is_word(k, "FROM")) {
            state = EXPECT;
            from_list = 1;
        } else if (is_word(k, "JOIN")) {
            state = EXPECT;
            from_list = 0;
        } else if (state == EXPECT && (k->kind == T_NAME || k->kind == T_QNAME)) {
            /* schema.table: the last part names the table */
            while (i + 2 < t.count && is_punct(&t.v[i + 1], '.') &&
                   (t.v[i + 2].kind == T_NAME || t.v[i + 2].kind == T_QNAME))
                i += 2;
            found = names(&t.v[i], table);
            state = from_list ? AFTER_FROM_TABLE : NONE;
        } else if (state == EXPECT) {
            state = NONE; /* a table function or the like */
        } else if (state == AFTER_FROM_TABLE) {
            if (is_punct(k, ','))
                state = EXPECT;
            else if (is_punct(k, ';') ||
                     in_list(k, clause_words, BF_ARRAY_LEN(clause_words)))
                state = NONE;
        }
    }
    bf__free(t.v);
    *out = found;
    return BF_OK;
}
