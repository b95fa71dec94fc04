/*
 * Registering a plan's batches: one prepared insert per batch, with the
 * bound parameters written as a small JSON object. The object is formatted
 * here rather than through Jansson because registration must cost about one
 * insert per batch, and these objects are flat: names and scalars.
 */
#include <string.h>

#include "common/json.h"
#include "ledger/ledger_internal.h"

void bf__json_quote(bf__sb *sb, const char *s, size_t len)
{
    size_t start = 0;

    bf__sb_appendc(sb, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        bf__sb_appendn(sb, s + start, i - start);
        if (c == '"' || c == '\\') {
            bf__sb_appendc(sb, '\\');
            bf__sb_appendc(sb, (char)c);
        } else if (c == '\n') {
            bf__sb_append(sb, "\\n");
        } else if (c == '\t') {
            bf__sb_append(sb, "\\t");
        } else {
            bf__sb_appendf(sb, "\\u%04x", c);
        }
        start = i + 1;
    }
    bf__sb_appendn(sb, s + start, len - start);
    bf__sb_appendc(sb, '"');
}

/* Integers are most parameters: format them without printf's parsing. */
static void append_int(bf__sb *sb, int64_t v)
{
    char buf[24], *p = buf + sizeof buf;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    bf__sb_appendn(sb, p, (size_t)(buf + sizeof buf - p));
}

static int params_json(bf__sb *sb, const bf_batch *batch)
{
    size_t n = bf_batch_param_count(batch);
    bf_value v;

    sb->len = 0;
    bf__sb_appendc(sb, '{');
    for (size_t i = 0; i < n; i++) {
        const char *name = bf_batch_param_name(batch, i);
        int rc = bf_batch_param_at(&v, batch, i);

        if (rc != BF_OK)
            return rc;
        if (i)
            bf__sb_appendc(sb, ',');
        bf__json_quote(sb, name, strlen(name));
        bf__sb_appendc(sb, ':');
        switch (v.type) {
        case BF_VALUE_INT:
            append_int(sb, v.i);
            break;
        case BF_VALUE_REAL:
            /* With a '.' or an exponent, so that 2.0 reads back as a real, not 2. */
            bf__jw_real(sb, v.r);
            break;
        case BF_VALUE_TEXT:
            bf__json_quote(sb, v.s, v.len);
            break;
        case BF_VALUE_NULL:
            bf__sb_append(sb, "null");
            break;
        default:
            return bf__error(BF_E_INVALID, "batch %s: parameter %s is not an integer, real, "
                             "text or null", bf_batch_label(batch), name);
        }
    }
    bf__sb_appendc(sb, '}');
    return sb->failed ? bf__nomem() : BF_OK;
}

int bf__run_register_plan(bf_ledger *ledger, int64_t run_id, const bf_plan *plan)
{
    size_t count = bf_plan_count(plan);

    if (count >= 1000000000)
        return bf__error(BF_E_INVALID, "plan %s: %zu batches; a run holds fewer than 10^9",
                         bf_plan_fingerprint(plan), count);
    bf_store_batch b;
    bf__sb sb;
    int64_t id;
    int rc = BF_OK;

    memset(&b, 0, sizeof b);
    b.run_id = run_id;
    b.state = BF_BATCH_PENDING;
    b.dimension = (int)bf_plan_dimension(plan);
    bf__sb_init(&sb);
    for (size_t i = 0; rc == BF_OK && i < count; i++) {
        const bf_batch *batch = bf_plan_batch(plan, i);

        rc = params_json(&sb, batch);
        if (rc != BF_OK)
            break;
        b.ordinal = (int64_t)bf_batch_ordinal(batch);
        b.id = run_id * 1000000000 + b.ordinal + 1;
        b.label = bf_batch_label(batch);
        b.lo = bf_batch_lo(batch);
        b.hi = bf_batch_hi(batch);
        b.params_json = sb.buf;
        rc = BF__STORE(ledger, batch_insert, (ledger->db, &id, &b));
    }
    bf__sb_dispose(&sb);
    return rc;
}
