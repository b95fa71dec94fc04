/*
 * Batch idempotency keys: XXH3-128 over a canonical encoding of what makes
 * a batch's work what it is (docs/idempotency.md, "Batch idempotency keys").
 */
#include <string.h>
#include <xxhash.h>

#include "idempotency/idem_internal.h"

/* The encoding's first field: a new encoding gets a new tag, so old keys never match. */
#define KEY_FORMAT "backfill-idempotency-key/1"

static void put_u64(bf__sb *sb, uint64_t v)
{
    char b[8];

    for (int i = 0; i < 8; i++)
        b[i] = (char)(unsigned char)(v >> (8 * i));
    bf__sb_appendn(sb, b, sizeof b);
}

/* A string: its length, then its bytes; NULL is the length 2^64 - 1 and no bytes. */
static void put_str(bf__sb *sb, const char *s, size_t len)
{
    if (!s) {
        put_u64(sb, UINT64_MAX);
        return;
    }
    put_u64(sb, (uint64_t)len);
    bf__sb_appendn(sb, s, len);
}

static void put_value(bf__sb *sb, const bf_value *v)
{
    put_u64(sb, (uint64_t)v->type);
    switch (v->type) {
    case BF_VALUE_INT:
        put_u64(sb, (uint64_t)v->i);
        break;
    case BF_VALUE_REAL: {
        uint64_t bits;
        double d = v->r == 0.0 ? 0.0 : v->r;

        memcpy(&bits, &d, sizeof bits);
        put_u64(sb, bits);
        break;
    }
    case BF_VALUE_TEXT:
    case BF_VALUE_BLOB:
        put_str(sb, v->s ? v->s : "", v->s ? v->len : 0);
        break;
    default:
        break;
    }
}

static int batch_of(const bf_plan *plan, const bf_batch *batch)
{
    size_t ord = bf_batch_ordinal(batch);

    return ord < bf_plan_count(plan) && bf_plan_batch(plan, ord) == batch;
}

int bf_idempotency_key(char out[BF_IDEMPOTENCY_KEY_SIZE], const bf_plan *plan,
                       const bf_batch *batch, const char *code_version, const char *job_sql)
{
    static const char hex[] = "0123456789abcdef";
    const char *fp;
    bf__sb sb;
    char *bytes = NULL;
    size_t len;
    XXH128_hash_t h;
    int rc = BF_OK;

    if (!out || !plan || !batch)
        return bf__error(BF_E_INVALID, "bf_idempotency_key: out, plan and batch are required");
    out[0] = '\0';
    if (!batch_of(plan, batch))
        return bf__error(BF_E_INVALID, "bf_idempotency_key: batch %s is not a batch of the plan",
                         bf_batch_label(batch));
    fp = bf_plan_fingerprint(plan);
    bf__sb_init(&sb);
    put_str(&sb, KEY_FORMAT, strlen(KEY_FORMAT));
    put_str(&sb, fp, fp ? strlen(fp) : 0);
    put_u64(&sb, (uint64_t)bf_batch_dimension(batch));
    put_u64(&sb, (uint64_t)bf_batch_lo(batch));
    put_u64(&sb, (uint64_t)bf_batch_hi(batch));
    put_u64(&sb, (uint64_t)bf_batch_param_count(batch));
    for (size_t i = 0; i < bf_batch_param_count(batch) && rc == BF_OK; i++) {
        const char *name = bf_batch_param_name(batch, i);
        bf_value v;

        rc = bf_batch_param_at(&v, batch, i);
        put_str(&sb, name, name ? strlen(name) : 0);
        if (rc == BF_OK)
            put_value(&sb, &v);
    }
    put_str(&sb, code_version, code_version ? strlen(code_version) : 0);
    put_str(&sb, job_sql, job_sql ? strlen(job_sql) : 0);
    len = sb.len;
    if (rc != BF_OK) {
        bf__sb_dispose(&sb);
        return rc;
    }
    if ((rc = bf__sb_finish(&sb, &bytes)) != BF_OK)
        return rc;
    h = XXH3_128bits(bytes, len);
    bf__free(bytes);
    for (int i = 0; i < 16; i++) {
        uint64_t part = i < 8 ? h.high64 : h.low64;
        unsigned byte = (unsigned)(part >> (8 * (7 - i % 8))) & 0xffu;

        out[2 * i] = hex[byte >> 4];
        out[2 * i + 1] = hex[byte & 0xf];
    }
    out[32] = '\0';
    return BF_OK;
}
