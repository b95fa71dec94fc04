/*
 * The brief handle: life cycle, loading and saving JSON, and the generic
 * read and change operations every accessor is built on.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "brief/brief_internal.h"

int bf_brief_new(bf_brief **out)
{
    bf_brief *brief;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_brief_new: out is NULL");
    *out = NULL;
    brief = bf__calloc(1, sizeof *brief);
    if (!brief)
        return bf__nomem();
    brief->doc = json_pack("{s:s}", "format", "backfill-brief/1");
    if (!brief->doc) {
        bf__free(brief);
        return bf__nomem();
    }
    *out = brief;
    return BF_OK;
}

void bf_brief_free(bf_brief *brief)
{
    if (!brief)
        return;
    json_decref(brief->doc);
    bf__free(brief);
}

/* Turn Jansson's parse error into ours: "<source>:line:column: text". */
static int parse_error(const json_error_t *err, const char *source, size_t len)
{
    if (json_error_code((json_error_t *)err) == json_error_out_of_memory)
        return bf__nomem();
    if (len == 0)
        return bf__error(BF_E_PARSE, "%s: empty input, expected a JSON object", source);
    return bf__error(BF_E_PARSE, "%s:%d:%d: %s", source, err->line, err->column, err->text);
}

/* Parse and validate a document; `source` prefixes syntax errors. */
static int load(bf_brief **out, const char *text, size_t len, const char *source)
{
    json_error_t err;
    json_t *doc;
    bf_brief *brief;
    int rc;

    *out = NULL;
    doc = bf__json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
    if (!doc)
        return parse_error(&err, source, len);
    rc = bf__schema_validate_doc(doc);
    if (rc != BF_OK) {
        json_decref(doc);
        return rc;
    }
    brief = bf__calloc(1, sizeof *brief);
    if (!brief) {
        json_decref(doc);
        return bf__nomem();
    }
    brief->doc = doc;
    *out = brief;
    return BF_OK;
}

int bf_brief_load_json(bf_brief **out, const char *text, size_t len)
{
    if (!out || (!text && len))
        return bf__error(BF_E_INVALID, "bf_brief_load_json: out or text is NULL");
    return load(out, text ? text : "", len, "brief");
}

/* Read a whole regular file into memory of ours. */
static int read_file(char **out, size_t *len, const char *path)
{
    struct stat st;
    FILE *f;
    char *buf;
    size_t got;

    f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT)
            return bf__error(BF_E_NOT_FOUND, "%s: no such file", path);
        return bf__error(BF_E_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return bf__error(BF_E_INVALID, "%s: not a regular file (a brief is a JSON file)", path);
    }
    buf = bf__malloc((size_t)st.st_size + 1);
    if (!buf) {
        fclose(f);
        return bf__nomem();
    }
    got = fread(buf, 1, (size_t)st.st_size, f);
    if (ferror(f)) {
        fclose(f);
        bf__free(buf);
        return bf__error(BF_E_IO, "%s: read failed", path);
    }
    fclose(f);
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return BF_OK;
}

int bf_brief_load_file(bf_brief **out, const char *path)
{
    char *text = NULL;
    size_t len = 0;
    int rc;

    if (!out || !path)
        return bf__error(BF_E_INVALID, "bf_brief_load_file: out or path is NULL");
    *out = NULL;
    rc = read_file(&text, &len, path);
    if (rc != BF_OK)
        return rc;
    rc = load(out, text, len, path);
    bf__free(text);
    if (rc == BF_E_INVALID) {
        /* Name the file too: the path inside the document alone is not enough for a user. */
        char msg[BF_ERRMSG_MAX];
        snprintf(msg, sizeof msg, "%s", bf_last_error());
        rc = bf__error(BF_E_INVALID, "%s: %s", path, msg);
    }
    return rc;
}

int bf_brief_save_json(char **out, const bf_brief *brief)
{
    if (!out || !brief)
        return bf__error(BF_E_INVALID, "bf_brief_save_json: out or brief is NULL");
    return bf__json_dump(out, brief->doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
}

int bf_brief_save_file(const bf_brief *brief, const char *path)
{
    char *text;
    FILE *f;
    int rc, bad;

    if (!path)
        return bf__error(BF_E_INVALID, "bf_brief_save_file: path is NULL");
    rc = bf_brief_save_json(&text, brief);
    if (rc != BF_OK)
        return rc;
    f = fopen(path, "w");
    if (!f) {
        bf__free(text);
        return bf__error(BF_E_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    bad = fputs(text, f) == EOF || fputc('\n', f) == EOF;
    bad |= fclose(f) != 0;
    bf__free(text);
    return bad ? bf__error(BF_E_IO, "%s: write failed", path) : BF_OK;
}

/* ---- Reading ------------------------------------------------------------ */

json_t *bf__json_at(const json_t *base, const char *dotted)
{
    const json_t *v = base;
    char seg[64];

    while (v && *dotted) {
        const char *dot = strchr(dotted, '.');
        size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);

        if (len >= sizeof seg)
            return NULL;
        memcpy(seg, dotted, len);
        seg[len] = '\0';
        v = json_object_get(v, seg);
        dotted += len + (dot ? 1 : 0);
    }
    return (json_t *)v;
}

const char *bf__brief_str(const bf_brief *brief, const char *dotted)
{
    return brief ? json_string_value(bf__json_at(brief->doc, dotted)) : NULL;
}

int bf__brief_int(int64_t *out, const bf_brief *brief, const char *dotted)
{
    json_t *v;

    if (!out || !brief)
        return bf__error(BF_E_INVALID, "$.%s: out or brief is NULL", dotted);
    v = bf__json_at(brief->doc, dotted);
    if (!json_is_integer(v))
        return bf__error(BF_E_NOT_FOUND, "$.%s: not given", dotted);
    *out = json_integer_value(v);
    return BF_OK;
}

int bf__brief_enum(const bf_brief *brief, const char *dotted, const bf__enum *e)
{
    int v = brief ? bf__enum_value(e, bf__brief_str(brief, dotted)) : -1;

    return v < 0 ? 0 : v;
}

size_t bf__brief_list_count(const bf_brief *brief, const char *dotted)
{
    return brief ? json_array_size(bf__json_at(brief->doc, dotted)) : 0;
}

const char *bf__brief_list_item(const bf_brief *brief, const char *dotted, size_t index)
{
    return brief ? json_string_value(json_array_get(bf__json_at(brief->doc, dotted), index))
                 : NULL;
}

/* ---- Changing ------------------------------------------------------------ */

int bf__brief_modify(bf_brief *brief, const char *section, bf__brief_edit edit, void *ctx)
{
    const bf__snode *node = bf__schema_find(section);
    json_t *old, *copy;
    int rc;

    if (!brief)
        return bf__error(BF_E_INVALID, "$.%s: brief is NULL", section);
    if (!node)
        return bf__error(BF_E_INTERNAL, "$.%s: not a section of the brief format", section);
    old = json_object_get(brief->doc, section);
    if (old)
        copy = json_deep_copy(old);
    else
        copy = bf__schema_is_array(node) ? json_array() : json_object();
    if (!copy)
        return bf__nomem();
    rc = edit(&copy, ctx);
    if (rc == BF_OK && copy)
        rc = bf__schema_validate_at(section, copy);
    if (rc != BF_OK) {
        json_decref(copy);
        return rc;
    }
    if (!copy) {
        json_object_del(brief->doc, section);
        return BF_OK;
    }
    return json_object_set_new(brief->doc, section, copy) == 0 ? BF_OK : bf__nomem();
}

struct put_ctx {
    const char *rest; /* the path below the section, or "" for the section itself */
    json_t *value;    /* stolen; NULL removes */
    int append;       /* append value to the array at rest */
};

/* Walk (creating objects) to the parent of the last segment of ctx->rest. */
static int put_edit(json_t **section, void *arg)
{
    struct put_ctx *ctx = arg;
    json_t *parent = *section;
    const char *rest = ctx->rest;
    char seg[64];

    if (!*rest) {
        /* The section itself: replace it, or append to it. */
        if (ctx->append)
            return json_array_append(*section, ctx->value) == 0 ? BF_OK : bf__nomem();
        json_decref(*section);
        *section = json_incref(ctx->value);
        return BF_OK;
    }
    for (;;) {
        const char *dot = strchr(rest, '.');
        size_t len = dot ? (size_t)(dot - rest) : strlen(rest);
        json_t *child;

        if (len >= sizeof seg)
            return bf__error(BF_E_INTERNAL, "%s: path segment too long", ctx->rest);
        memcpy(seg, rest, len);
        seg[len] = '\0';
        if (!dot)
            break;
        child = json_object_get(parent, seg);
        if (!child) {
            if (!ctx->value)
                return BF_OK; /* removing below a missing object: nothing to do */
            child = json_object();
            if (!child || json_object_set_new(parent, seg, child) != 0)
                return bf__nomem();
        }
        parent = child;
        rest = dot + 1;
    }
    if (!ctx->value) {
        json_object_del(parent, seg);
        return BF_OK;
    }
    if (ctx->append) {
        json_t *arr = json_object_get(parent, seg);
        if (!arr) {
            arr = json_array();
            if (!arr || json_object_set_new(parent, seg, arr) != 0)
                return bf__nomem();
        }
        return json_array_append(arr, ctx->value) == 0 ? BF_OK : bf__nomem();
    }
    return json_object_set(parent, seg, ctx->value) == 0 ? BF_OK : bf__nomem();
}

static int put(bf_brief *brief, const char *dotted, json_t *value, int append)
{
    char section[64];
    const char *dot = strchr(dotted, '.');
    size_t len = dot ? (size_t)(dot - dotted) : strlen(dotted);
    struct put_ctx ctx = {dot ? dot + 1 : "", value, append};
    int rc;

    if (len >= sizeof section) {
        json_decref(value);
        return bf__error(BF_E_INTERNAL, "%s: section name too long", dotted);
    }
    memcpy(section, dotted, len);
    section[len] = '\0';
    rc = bf__brief_modify(brief, section, put_edit, &ctx);
    json_decref(value);
    return rc;
}

int bf__brief_set(bf_brief *brief, const char *dotted, json_t *value)
{
    return put(brief, dotted, value, 0);
}

int bf__brief_append(bf_brief *brief, const char *dotted, json_t *value)
{
    if (!value)
        return bf__nomem();
    return put(brief, dotted, value, 1);
}

int bf_brief_unset(bf_brief *brief, const char *path)
{
    if (!brief || !path)
        return bf__error(BF_E_INVALID, "bf_brief_unset: brief or path is NULL");
    if (strncmp(path, "$.", 2) != 0 || !path[2] || !bf__schema_find(path + 2))
        return bf__error(BF_E_INVALID, "%s: not a field of the brief format", path);
    if (strcmp(path, "$.format") == 0)
        return bf__error(BF_E_INVALID, "$.format: cannot be removed");
    /* Removing an absent field must not create its section. */
    if (!bf__json_at(brief->doc, path + 2))
        return BF_OK;
    return bf__brief_set(brief, path + 2, NULL);
}
