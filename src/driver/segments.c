/*
 * Segments by key hash: a row's segment is XXH3-64 (seed 0) of its key's
 * canonical encoding modulo the number of segments, so any key (integer,
 * text, composite) splits into segments. The accumulator here is shared by
 * the SQL layer's portable fallback and the SQLite aggregate.
 */
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "common/internal.h"
#include "driver/driver_internal.h"
#include "fingerprint/fp_internal.h"

/* The segment of the key encoded in row, among n. */
static int64_t row_segment(const bf__fprow *row, int64_t n)
{
    uint64_t h = XXH3_64bits(row->heap ? (const void *)row->heap : (const void *)row->small,
                             row->len);

    return (int64_t)(h % (uint64_t)n);
}

static int64_t key_segment(bf__fprow *row, const bf_value *key, size_t key_count, int64_t n)
{
    bf__fprow_reset(row);
    for (size_t i = 0; i < key_count; i++)
        if (bf__fprow_put(row, &key[i]) != BF_OK)
            return -1;
    return row_segment(row, n);
}

int64_t bf__segacc_segment(const bf__segacc *acc)
{
    return row_segment(&acc->row, acc->n);
}

int64_t bf_key_segment(const bf_value *key, size_t key_count, int64_t segments)
{
    bf__fprow row = {0};
    int64_t seg;

    if ((!key && key_count) || segments <= 0 || segments > BF_SEGMENTS_MAX)
        return -1;
    seg = key_segment(&row, key, key_count, segments);
    bf__fprow_dispose(&row);
    return seg;
}

int bf__segacc_init(bf__segacc *acc, int64_t segments)
{
    memset(acc, 0, sizeof *acc);
    acc->n = segments;
    acc->fps = bf__calloc((size_t)segments, sizeof *acc->fps);
    return acc->fps ? BF_OK : bf__nomem();
}

void bf__segacc_dispose(bf__segacc *acc)
{
    bf__free(acc->fps);
    acc->fps = NULL;
    bf__fprow_dispose(&acc->row);
}

int bf__segacc_add(bf__segacc *acc, const bf_value *key, size_t key_count, const bf_value *cols,
                   size_t col_count)
{
    int64_t seg = key_segment(&acc->row, key, key_count, acc->n);
    int rc = seg < 0 ? bf_last_error_code() : BF_OK;

    if (rc == BF_OK) {
        bf__fprow_reset(&acc->row);
        for (size_t i = 0; i < col_count && rc == BF_OK; i++)
            rc = bf__fprow_put(&acc->row, &cols[i]);
        if (rc == BF_OK)
            bf__fprow_apply(&acc->row, &acc->fps[seg], 1);
    }
    return rc;
}

int bf__segacc_text(char **out, const bf__segacc *acc)
{
    bf__sb sb;
    char fp[BF_FINGERPRINT_TEXT_SIZE];

    bf__sb_init(&sb);
    for (int64_t i = 0; i < acc->n; i++) {
        if (!acc->fps[i].rows)
            continue;
        bf_fingerprint_format(fp, sizeof fp, &acc->fps[i]);
        bf__sb_appendf(&sb, "%lld %s\n", (long long)i, fp);
    }
    return bf__sb_finish(&sb, out);
}

/* A decimal integer at *p (no sign), advancing p; -1 when there is none. */
static int64_t parse_int(const char **p)
{
    int64_t v = 0;
    const char *s = *p;

    if (*s < '0' || *s > '9')
        return -1;
    while (*s >= '0' && *s <= '9') {
        if (v > (INT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (*s++ - '0');
    }
    *p = s;
    return v;
}

int bf__segacc_parse(bf_rows *rows, const char *text)
{
    const char *p = text;

    while (*p) {
        char fp_text[BF_FINGERPRINT_TEXT_SIZE];
        bf_fingerprint fp;
        int64_t seg = parse_int(&p);
        size_t len;
        int rc;

        if (seg < 0 || *p++ != ' ')
            return bf__error(BF_E_DRIVER, "segments: malformed segment list");
        len = strcspn(p, "\n");
        if (len >= sizeof fp_text)
            return bf__error(BF_E_DRIVER, "segments: malformed segment list");
        memcpy(fp_text, p, len);
        fp_text[len] = '\0';
        p += len + (p[len] == '\n');
        if (bf_fingerprint_parse(&fp, fp_text) != BF_OK)
            return bf__error(BF_E_DRIVER, "segments: malformed fingerprint %s", fp_text);
        {
            bf_value v[3] = {
                {BF_VALUE_INT, seg, 0.0, NULL, 0},
                {BF_VALUE_INT, (int64_t)fp.rows, 0.0, NULL, 0},
                {BF_VALUE_TEXT, 0, 0.0, fp_text, len},
            };
            if ((rc = bf_rows_append(rows, v, 3)) != BF_OK)
                return rc;
        }
    }
    return BF_OK;
}

int bf__segset_parse(unsigned char **out, const char *text, int64_t n)
{
    unsigned char *set = bf__calloc((size_t)n / 8 + 1, 1);
    const char *p = text;

    *out = NULL;
    if (!set)
        return bf__nomem();
    while (*p) {
        int64_t seg = parse_int(&p);

        if (seg < 0 || seg >= n || (*p && *p != ',')) {
            bf__free(set);
            return bf__error(BF_E_INVALID, "segments: malformed segment set");
        }
        set[seg / 8] |= (unsigned char)(1u << (seg % 8));
        if (*p)
            p++;
    }
    *out = set;
    return BF_OK;
}

int bf__segset_has(const unsigned char *set, const bf_value *key, size_t key_count, int64_t n)
{
    int64_t seg = bf_key_segment(key, key_count, n);

    if (seg < 0)
        return -1;
    return (set[seg / 8] >> (seg % 8)) & 1;
}
