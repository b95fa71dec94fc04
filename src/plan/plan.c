#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "common/internal.h"
#include "plan/plan_internal.h"

/*
 * Batches are fixed-size records; their labels, parameter names and text
 * values live in one text arena, addressed by offset so the arena can grow
 * while the plan is built. A million batches cost three allocations that
 * double, not millions of small ones.
 */
struct param {
    size_t name;  /* offset of the name in the arena */
    bf_value_type type;
    int64_t i;
    double r;
    size_t text;  /* offset of a TEXT value */
    size_t len;
};

struct bf_batch {
    const bf_plan *plan;
    int64_t lo;
    int64_t hi;
    size_t ordinal;
    size_t label;
    size_t first_param;
    unsigned nparams;
};

struct bf_plan {
    bf_dimension dim;
    char *column;
    char *pin;
    int sealed;
    char fingerprint[33];

    bf_batch *batches;
    size_t count;
    size_t cap;

    struct param *params;
    size_t nparams;
    size_t params_cap;

    char *text;
    size_t text_len;
    size_t text_cap;
};

int bf__plan_new(bf_plan **out, bf_dimension dim, const char *column, size_t capacity_hint)
{
    bf_plan *plan;

    *out = NULL;
    if (!bf_dimension_name(dim))
        return bf__error(BF_E_INVALID, "plan: unknown dimension %d", (int)dim);
    if (!column || !column[0])
        return bf__error(BF_E_INVALID, "plan: the batching column is empty");
    plan = bf__calloc(1, sizeof *plan);
    if (!plan)
        return bf__nomem();
    plan->dim = dim;
    plan->column = bf__strdup(column);
    if (!plan->column)
        goto nomem;
    if (capacity_hint) {
        if (bf__grow((void **)&plan->batches, &plan->cap, capacity_hint, sizeof *plan->batches) ||
            bf__grow((void **)&plan->text, &plan->text_cap, capacity_hint * 16, 1))
            goto nomem;
    }
    *out = plan;
    return BF_OK;
nomem:
    bf_plan_free(plan);
    return bf__nomem();
}

void bf_plan_free(bf_plan *plan)
{
    if (!plan)
        return;
    bf__free(plan->column);
    bf__free(plan->pin);
    bf__free(plan->batches);
    bf__free(plan->params);
    bf__free(plan->text);
    bf__free(plan);
}

/* Copy len bytes plus a NUL into the arena; *off receives their offset. */
static int arena_put(bf_plan *plan, const char *s, size_t len, size_t *off)
{
    if (len > SIZE_MAX - plan->text_len - 1)
        return bf__nomem();
    if (bf__grow((void **)&plan->text, &plan->text_cap, plan->text_len + len + 1, 1))
        return BF_E_NOMEM;
    memcpy(plan->text + plan->text_len, s, len);
    plan->text[plan->text_len + len] = '\0';
    *off = plan->text_len;
    plan->text_len += len + 1;
    return BF_OK;
}

static int check_params(size_t nparams, const char *const *names, const bf_value *params)
{
    if (nparams > BF_BATCH_MAX_PARAMS)
        return bf__error(BF_E_INVALID, "plan: a batch has at most %d parameters, got %zu",
                         BF_BATCH_MAX_PARAMS, nparams);
    for (size_t i = 0; i < nparams; i++) {
        if (!names[i] || !names[i][0])
            return bf__error(BF_E_INVALID, "plan: parameter %zu has no name", i);
        for (size_t j = 0; j < i; j++)
            if (strcmp(names[i], names[j]) == 0)
                return bf__error(BF_E_INVALID, "plan: parameter '%s' given twice", names[i]);
        switch (params[i].type) {
        case BF_VALUE_NULL:
        case BF_VALUE_INT:
        case BF_VALUE_REAL:
            break;
        case BF_VALUE_TEXT:
            if (!params[i].s)
                return bf__error(BF_E_INVALID, "plan: parameter '%s' is text without bytes",
                                 names[i]);
            break;
        default:
            return bf__error(BF_E_INVALID,
                             "plan: parameter '%s' has type %d; batch bounds are null, integer, "
                             "real or text",
                             names[i], (int)params[i].type);
        }
    }
    return BF_OK;
}

int bf__plan_add(bf_plan *plan, int64_t lo, int64_t hi, const char *label, size_t nparams,
                 const char *const *names, const bf_value *params)
{
    size_t text_mark = plan->text_len;
    bf_batch *b;
    int rc;

    if (plan->sealed)
        return bf__error(BF_E_STATE, "plan: sealed plans cannot change");
    if (!label)
        return bf__error(BF_E_INVALID, "plan: batch %zu has no label", plan->count);
    rc = check_params(nparams, names, params);
    if (rc)
        return rc;
    if (bf__grow((void **)&plan->batches, &plan->cap, plan->count + 1, sizeof *plan->batches) ||
        bf__grow((void **)&plan->params, &plan->params_cap, plan->nparams + nparams,
                 sizeof *plan->params))
        return BF_E_NOMEM;

    b = &plan->batches[plan->count];
    b->plan = plan;
    b->lo = lo;
    b->hi = hi;
    b->ordinal = plan->count;
    b->first_param = plan->nparams;
    b->nparams = (unsigned)nparams;
    if (arena_put(plan, label, strlen(label), &b->label))
        goto nomem;
    for (size_t i = 0; i < nparams; i++) {
        struct param *p = &plan->params[plan->nparams + i];

        memset(p, 0, sizeof *p);
        p->type = params[i].type;
        p->i = params[i].i;
        p->r = params[i].r;
        if (arena_put(plan, names[i], strlen(names[i]), &p->name))
            goto nomem;
        if (p->type == BF_VALUE_TEXT) {
            p->len = params[i].len;
            if (arena_put(plan, params[i].s, p->len, &p->text))
                goto nomem;
        }
    }
    plan->nparams += nparams;
    plan->count++;
    return BF_OK;
nomem:
    plan->text_len = text_mark;
    return BF_E_NOMEM;
}

/*
 * The seal hashes many small fields; they are gathered in a buffer and fed
 * to XXH3 in large pieces, which costs far less than one update per field.
 */
struct hasher {
    XXH3_state_t *st;
    size_t used;
    unsigned char buf[4096];
};

static void hash_flush(struct hasher *h)
{
    XXH3_128bits_update(h->st, h->buf, h->used);
    h->used = 0;
}

static void hash_raw(struct hasher *h, const void *data, size_t len)
{
    if (len > sizeof h->buf - h->used) {
        hash_flush(h);
        if (len > sizeof h->buf) {
            XXH3_128bits_update(h->st, data, len);
            return;
        }
    }
    memcpy(h->buf + h->used, data, len);
    h->used += len;
}

static void hash_u64(struct hasher *h, uint64_t v)
{
    unsigned char le[8];

    for (int i = 0; i < 8; i++)
        le[i] = (unsigned char)(v >> (8 * i));
    hash_raw(h, le, sizeof le);
}

static void hash_bytes(struct hasher *h, const char *s, size_t len)
{
    hash_u64(h, len);
    hash_raw(h, s, len);
}

int bf__plan_seal(bf_plan *plan, const char *pin)
{
    struct hasher hs;
    XXH128_hash_t h;

    if (plan->sealed)
        return bf__error(BF_E_STATE, "plan: already sealed");
    plan->pin = bf__strdup(pin ? pin : "");
    if (!plan->pin)
        return bf__nomem();
    hs.st = XXH3_createState();
    hs.used = 0;
    if (!hs.st) {
        bf__free(plan->pin);
        plan->pin = NULL;
        return bf__nomem();
    }
    /*
     * Every field goes in with its length or a fixed width, so that no two
     * different plans produce the same byte stream.
     */
    XXH3_128bits_reset(hs.st);
    hash_bytes(&hs, "backfill-plan/1", 15);
    hash_bytes(&hs, plan->pin, strlen(plan->pin));
    hash_u64(&hs, (uint64_t)plan->dim);
    hash_bytes(&hs, plan->column, strlen(plan->column));
    hash_u64(&hs, plan->count);
    for (size_t b = 0; b < plan->count; b++) {
        const bf_batch *batch = &plan->batches[b];
        const char *label = plan->text + batch->label;

        hash_u64(&hs, (uint64_t)batch->lo);
        hash_u64(&hs, (uint64_t)batch->hi);
        hash_bytes(&hs, label, strlen(label));
        hash_u64(&hs, batch->nparams);
        for (unsigned i = 0; i < batch->nparams; i++) {
            const struct param *p = &plan->params[batch->first_param + i];
            const char *name = plan->text + p->name;
            uint64_t bits;

            hash_bytes(&hs, name, strlen(name));
            hash_u64(&hs, (uint64_t)p->type);
            switch (p->type) {
            case BF_VALUE_INT:
                hash_u64(&hs, (uint64_t)p->i);
                break;
            case BF_VALUE_REAL:
                memcpy(&bits, &p->r, sizeof bits);
                hash_u64(&hs, bits);
                break;
            case BF_VALUE_TEXT:
                hash_bytes(&hs, plan->text + p->text, p->len);
                break;
            default:
                break;
            }
        }
    }
    hash_flush(&hs);
    h = XXH3_128bits_digest(hs.st);
    XXH3_freeState(hs.st);
    snprintf(plan->fingerprint, sizeof plan->fingerprint, "%016llx%016llx",
             (unsigned long long)h.high64, (unsigned long long)h.low64);
    plan->sealed = 1;
    return BF_OK;
}

const char *bf__plan_pin(const bf_plan *plan)
{
    return plan->pin ? plan->pin : "";
}

size_t bf_plan_count(const bf_plan *plan)
{
    return plan->count;
}

const bf_batch *bf_plan_batch(const bf_plan *plan, size_t index)
{
    return index < plan->count ? &plan->batches[index] : NULL;
}

bf_dimension bf_plan_dimension(const bf_plan *plan)
{
    return plan->dim;
}

const char *bf_plan_column(const bf_plan *plan)
{
    return plan->column;
}

const char *bf_plan_fingerprint(const bf_plan *plan)
{
    return plan->fingerprint;
}

size_t bf_batch_ordinal(const bf_batch *batch)
{
    return batch->ordinal;
}

bf_dimension bf_batch_dimension(const bf_batch *batch)
{
    return batch->plan->dim;
}

const char *bf_batch_label(const bf_batch *batch)
{
    return batch->plan->text + batch->label;
}

int64_t bf_batch_lo(const bf_batch *batch)
{
    return batch->lo;
}

int64_t bf_batch_hi(const bf_batch *batch)
{
    return batch->hi;
}

size_t bf_batch_param_count(const bf_batch *batch)
{
    return batch->nparams;
}

const char *bf_batch_param_name(const bf_batch *batch, size_t index)
{
    if (index >= batch->nparams)
        return NULL;
    return batch->plan->text + batch->plan->params[batch->first_param + index].name;
}

int bf_batch_param_at(bf_value *out, const bf_batch *batch, size_t index)
{
    const struct param *p;

    if (index >= batch->nparams)
        return bf__error(BF_E_NOT_FOUND, "batch %s: no parameter %zu (it has %u)",
                         bf_batch_label(batch), index, batch->nparams);
    p = &batch->plan->params[batch->first_param + index];
    memset(out, 0, sizeof *out);
    out->type = p->type;
    out->i = p->i;
    out->r = p->r;
    if (p->type == BF_VALUE_TEXT) {
        out->s = batch->plan->text + p->text;
        out->len = p->len;
    }
    return BF_OK;
}

int bf_batch_param(bf_value *out, const bf_batch *batch, const char *name)
{
    if (!name)
        return bf__error(BF_E_INVALID, "batch %s: parameter name is NULL", bf_batch_label(batch));
    if (name[0] == ':')
        name++;
    for (size_t i = 0; i < batch->nparams; i++)
        if (strcmp(bf_batch_param_name(batch, i), name) == 0)
            return bf_batch_param_at(out, batch, i);
    return bf__error(BF_E_NOT_FOUND, "batch %s: no parameter ':%s'", bf_batch_label(batch), name);
}
