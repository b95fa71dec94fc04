#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <xxhash.h>

#include "common/internal.h"
#include "plan/plan_internal.h"

/*
 * Batch storage. Plans of tens of millions of batches are common and
 * planning is bound by memory, so a batch is a 24-byte record: its bounds,
 * where its text starts, its slot in its chunk and its parameter layout.
 *
 * - Records live in chunks of up to CHUNK_BATCHES. A chunk's header holds
 *   the plan and the ordinal of its first record, so a bf_batch handle (a
 *   pointer to its record) finds its plan and ordinal from its slot, without
 *   a pointer back in every record. Chunks never move once full, and a plan
 *   is only handed out sealed, so handles stay valid for the plan's life.
 * - Parameter names, types and where each value comes from are a layout,
 *   shared by every batch with the same shape (a plan has one or two). A
 *   value equal to a bound (key lo/hi, bucket, unix_s/ms/us instants) is
 *   read back from the bound instead of being stored again.
 * - Each chunk has a text area: per batch the label and a NUL, then the
 *   values the layout does not derive from the bounds (partition values,
 *   iso8601 and date text), packed: 8 bytes for an integer or real, an
 *   8-byte length, the bytes and a NUL for text.
 */
#define CHUNK_SHIFT 12
#define CHUNK_BATCHES ((size_t)1 << CHUNK_SHIFT)
#define MAX_LAYOUTS 65535

enum {
    SRC_STORED = 0,
    SRC_LO = 1, /* + divisor index: value = lo / divisor */
    SRC_HI = 4  /* + divisor index: value = hi / divisor */
};
static const int64_t divisors[3] = {1, 1000, 1000000};

struct layout {
    unsigned n;
    unsigned char type[BF_BATCH_MAX_PARAMS];
    unsigned char src[BF_BATCH_MAX_PARAMS];
    char *names[BF_BATCH_MAX_PARAMS];
};

struct bf_batch {
    int64_t lo;
    int64_t hi;
    uint32_t text;   /* offset of the label in the chunk's text */
    uint16_t slot;   /* index in the chunk */
    uint16_t layout; /* index in the plan's layouts */
};

struct chunk {
    const bf_plan *plan;
    size_t first; /* ordinal of batches[0] */
    char *text;
    size_t text_len;
    size_t text_cap;
    size_t count;
    size_t cap;
    bf_batch batches[];
};

struct bf_plan {
    bf_dimension dim;
    char *column;
    char *pin;
    int sealed;
    char fingerprint[33];
    size_t count;
    size_t hint; /* expected batches, 0 if unknown */

    struct chunk **chunks;
    size_t nchunks;
    size_t chunks_cap;

    struct layout *layouts;
    size_t nlayouts;
    size_t layouts_cap;
    size_t last_layout;

    /* A set plan's values (bf__plan_set_values): copies, text in `set_text`. */
    bf_value *set;
    size_t nset;
    char *set_text;
};

static const struct chunk *chunk_of(const bf_batch *b)
{
    return (const struct chunk *)(const void *)((const char *)(b - b->slot) -
                                                offsetof(struct chunk, batches));
}

static const bf_plan *plan_of(const bf_batch *b)
{
    return chunk_of(b)->plan;
}

static const struct layout *layout_of(const bf_batch *b)
{
    return &plan_of(b)->layouts[b->layout];
}

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
    plan->hint = capacity_hint;
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
    for (size_t i = 0; i < plan->nchunks; i++) {
        bf__free(plan->chunks[i]->text);
        bf__free(plan->chunks[i]);
    }
    bf__free(plan->chunks);
    for (size_t i = 0; i < plan->nlayouts; i++)
        for (unsigned k = 0; k < plan->layouts[i].n; k++)
            bf__free(plan->layouts[i].names[k]);
    bf__free(plan->layouts);
    bf__free(plan->set);
    bf__free(plan->set_text);
    bf__free(plan);
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

/* Where parameter value `v` of a batch [lo, hi) comes from. */
static unsigned char source_of(const bf_value *v, int64_t lo, int64_t hi)
{
    if (v->type != BF_VALUE_INT)
        return SRC_STORED;
    for (unsigned d = 0; d < 3; d++) {
        if (lo % divisors[d] == 0 && lo / divisors[d] == v->i)
            return (unsigned char)(SRC_LO + d);
        if (hi % divisors[d] == 0 && hi / divisors[d] == v->i)
            return (unsigned char)(SRC_HI + d);
    }
    return SRC_STORED;
}

static int layout_matches(const struct layout *l, size_t n, const unsigned char *type,
                          const unsigned char *src, const char *const *names)
{
    if (l->n != n)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (l->type[i] != type[i] || l->src[i] != src[i] || strcmp(l->names[i], names[i]) != 0)
            return 0;
    return 1;
}

/* The index of the layout of this shape, added if new. */
static int find_layout(size_t *out, bf_plan *plan, size_t n, const unsigned char *type,
                       const unsigned char *src, const char *const *names)
{
    struct layout *l;

    if (plan->nlayouts &&
        layout_matches(&plan->layouts[plan->last_layout], n, type, src, names)) {
        *out = plan->last_layout;
        return BF_OK;
    }
    for (size_t i = 0; i < plan->nlayouts; i++) {
        if (layout_matches(&plan->layouts[i], n, type, src, names)) {
            *out = plan->last_layout = i;
            return BF_OK;
        }
    }
    if (plan->nlayouts == MAX_LAYOUTS)
        return bf__error(BF_E_INVALID, "plan: more than %d different parameter layouts",
                         MAX_LAYOUTS);
    if (bf__grow((void **)&plan->layouts, &plan->layouts_cap, plan->nlayouts + 1,
                 sizeof *plan->layouts))
        return BF_E_NOMEM;
    l = &plan->layouts[plan->nlayouts];
    memset(l, 0, sizeof *l);
    for (size_t i = 0; i < n; i++) {
        l->names[i] = bf__strdup(names[i]);
        if (!l->names[i]) {
            while (i--)
                bf__free(l->names[i]);
            return bf__nomem();
        }
        l->type[i] = (unsigned char)type[i];
        l->src[i] = src[i];
    }
    l->n = (unsigned)n;
    *out = plan->last_layout = plan->nlayouts++;
    return BF_OK;
}

/* A chunk with room for one more batch: the last one, grown, or a new one. */
static struct chunk *chunk_for_add(bf_plan *plan)
{
    struct chunk *c = plan->nchunks ? plan->chunks[plan->nchunks - 1] : NULL;
    size_t cap;

    if (c && c->count < c->cap)
        return c;
    if (c && c->cap < CHUNK_BATCHES) {
        cap = c->cap * 2 < CHUNK_BATCHES ? c->cap * 2 : CHUNK_BATCHES;
        c = bf__realloc(c, sizeof *c + cap * sizeof c->batches[0]);
        if (!c)
            return NULL;
        c->cap = cap;
        plan->chunks[plan->nchunks - 1] = c;
        return c;
    }
    if (c && c->text_cap > c->text_len) {
        /* A full chunk never grows again: give back the text area's slack. */
        char *fit = bf__realloc(c->text, c->text_len ? c->text_len : 1);

        if (!fit)
            return NULL;
        c->text = fit;
        c->text_cap = c->text_len ? c->text_len : 1;
    }
    if (bf__grow((void **)&plan->chunks, &plan->chunks_cap, plan->nchunks + 1,
                 sizeof *plan->chunks))
        return NULL;
    /* Sized for the batches still expected, so a known-size plan never reallocates. */
    cap = plan->hint > plan->count ? plan->hint - plan->count : 16;
    if (cap > CHUNK_BATCHES)
        cap = CHUNK_BATCHES;
    c = bf__calloc(1, sizeof *c + cap * sizeof c->batches[0]);
    if (!c)
        return NULL;
    c->plan = plan;
    c->first = plan->count;
    c->cap = cap;
    plan->chunks[plan->nchunks++] = c;
    return c;
}

static int text_put(struct chunk *c, const void *data, size_t len)
{
    if (len > UINT32_MAX - c->text_len)
        return bf__error(BF_E_INVALID, "plan: more than 4 GiB of labels and values in %zu "
                                       "batches", CHUNK_BATCHES);
    if (bf__grow((void **)&c->text, &c->text_cap, c->text_len + len, 1))
        return BF_E_NOMEM;
    memcpy(c->text + c->text_len, data, len);
    c->text_len += len;
    return BF_OK;
}

static int text_put_u64(struct chunk *c, uint64_t v)
{
    return text_put(c, &v, sizeof v);
}

int bf__plan_add(bf_plan *plan, int64_t lo, int64_t hi, const char *label, size_t nparams,
                 const char *const *names, const bf_value *params)
{
    unsigned char type[BF_BATCH_MAX_PARAMS], src[BF_BATCH_MAX_PARAMS];
    size_t layout = 0, text_mark;
    struct chunk *c;
    bf_batch *b;
    int rc;

    if (plan->sealed)
        return bf__error(BF_E_STATE, "plan: sealed plans cannot change");
    if (!label)
        return bf__error(BF_E_INVALID, "plan: batch %zu has no label", plan->count);
    rc = check_params(nparams, names, params);
    if (rc)
        return rc;
    for (size_t i = 0; i < nparams; i++) {
        type[i] = (unsigned char)params[i].type;
        src[i] = source_of(&params[i], lo, hi);
    }
    rc = find_layout(&layout, plan, nparams, type, src, names);
    if (rc)
        return rc;
    c = chunk_for_add(plan);
    if (!c)
        return bf__nomem();
    text_mark = c->text_len;
    rc = text_put(c, label, strlen(label) + 1);
    for (size_t i = 0; i < nparams && rc == BF_OK; i++) {
        uint64_t bits;

        if (src[i] != SRC_STORED)
            continue;
        switch (params[i].type) {
        case BF_VALUE_INT:
            rc = text_put_u64(c, (uint64_t)params[i].i);
            break;
        case BF_VALUE_REAL:
            memcpy(&bits, &params[i].r, sizeof bits);
            rc = text_put_u64(c, bits);
            break;
        case BF_VALUE_TEXT:
            rc = text_put_u64(c, params[i].len);
            if (rc == BF_OK)
                rc = text_put(c, params[i].s, params[i].len);
            if (rc == BF_OK)
                rc = text_put(c, "", 1);
            break;
        default:
            break;
        }
    }
    if (rc != BF_OK) {
        c->text_len = text_mark;
        return rc;
    }
    b = &c->batches[c->count];
    b->lo = lo;
    b->hi = hi;
    b->text = (uint32_t)text_mark;
    b->slot = (uint16_t)c->count;
    b->layout = (uint16_t)layout;
    c->count++;
    plan->count++;
    return BF_OK;
}

/*
 * Give back the slack of the last chunk once no batch can be added. A
 * shrinking realloc that fails is still reported, as every failed
 * allocation is.
 */
static int trim_last_chunk(bf_plan *plan)
{
    struct chunk *c;

    if (!plan->nchunks)
        return BF_OK;
    c = plan->chunks[plan->nchunks - 1];
    if (c->count && c->count < c->cap) {
        struct chunk *fit = bf__realloc(c, sizeof *c + c->count * sizeof c->batches[0]);

        if (!fit)
            return bf__nomem();
        fit->cap = fit->count;
        plan->chunks[plan->nchunks - 1] = c = fit;
    }
    if (c->text_len && c->text_len < c->text_cap) {
        char *fit = bf__realloc(c->text, c->text_len);

        if (!fit)
            return bf__nomem();
        c->text = fit;
        c->text_cap = c->text_len;
    }
    return BF_OK;
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
    if (trim_last_chunk(plan) != BF_OK)
        return BF_E_NOMEM;
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
        const bf_batch *batch = bf_plan_batch(plan, b);
        const char *label = bf_batch_label(batch);
        size_t nparams = bf_batch_param_count(batch);

        hash_u64(&hs, (uint64_t)batch->lo);
        hash_u64(&hs, (uint64_t)batch->hi);
        hash_bytes(&hs, label, strlen(label));
        hash_u64(&hs, nparams);
        for (size_t i = 0; i < nparams; i++) {
            const char *name = bf_batch_param_name(batch, i);
            bf_value v;
            uint64_t bits;

            bf_batch_param_at(&v, batch, i);
            hash_bytes(&hs, name, strlen(name));
            hash_u64(&hs, (uint64_t)v.type);
            switch (v.type) {
            case BF_VALUE_INT:
                hash_u64(&hs, (uint64_t)v.i);
                break;
            case BF_VALUE_REAL:
                memcpy(&bits, &v.r, sizeof bits);
                hash_u64(&hs, bits);
                break;
            case BF_VALUE_TEXT:
                hash_bytes(&hs, v.s, v.len);
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

int bf__plan_set_values(bf_plan *plan, const bf_value *values, size_t n)
{
    size_t text = 0, at = 0;

    if (plan->sealed)
        return bf__error(BF_E_STATE, "plan: sealed, its values cannot change");
    if (plan->dim != BF_DIM_PARTITION || plan->set)
        return bf__error(BF_E_INVALID, "plan: only a partition plan takes a value set, once");
    if (!n)
        return bf__error(BF_E_INVALID, "plan: a value set is not empty");
    for (size_t i = 0; i < n; i++) {
        if (values[i].type == BF_VALUE_TEXT || values[i].type == BF_VALUE_BLOB) {
            if (values[i].len >= SIZE_MAX - text - 1)
                return bf__nomem();
            text += values[i].len + 1;
        }
    }
    if (!(plan->set = bf__calloc(n, sizeof *plan->set)) ||
        (text && !(plan->set_text = bf__malloc(text)))) {
        bf__free(plan->set);
        plan->set = NULL;
        return bf__nomem();
    }
    for (size_t i = 0; i < n; i++) {
        plan->set[i] = values[i];
        if (values[i].type == BF_VALUE_TEXT || values[i].type == BF_VALUE_BLOB) {
            if (values[i].len)
                memcpy(plan->set_text + at, values[i].s, values[i].len);
            plan->set_text[at + values[i].len] = '\0';
            plan->set[i].s = plan->set_text + at;
            at += values[i].len + 1;
        }
    }
    plan->nset = n;
    return BF_OK;
}

size_t bf__plan_values(const bf_plan *plan, const bf_value **out)
{
    *out = plan ? plan->set : NULL;
    return plan ? plan->nset : 0;
}

const bf_plan *bf__batch_plan(const bf_batch *batch)
{
    return batch ? plan_of(batch) : NULL;
}

const char *bf__plan_pin(const bf_plan *plan)
{
    return plan->pin ? plan->pin : "";
}

/*
 * The plain accessors below answer a NULL plan or batch with a neutral value
 * (0, no dimension, NULL), as the ledger's accessors do, instead of crashing.
 */
size_t bf_plan_count(const bf_plan *plan)
{
    return plan ? plan->count : 0;
}

const bf_batch *bf_plan_batch(const bf_plan *plan, size_t index)
{
    if (!plan || index >= plan->count)
        return NULL;
    return &plan->chunks[index >> CHUNK_SHIFT]->batches[index & (CHUNK_BATCHES - 1)];
}

bf_dimension bf_plan_dimension(const bf_plan *plan)
{
    return plan ? plan->dim : (bf_dimension)0;
}

const char *bf_plan_column(const bf_plan *plan)
{
    return plan ? plan->column : NULL;
}

const char *bf_plan_fingerprint(const bf_plan *plan)
{
    return plan ? plan->fingerprint : NULL;
}

size_t bf_batch_ordinal(const bf_batch *batch)
{
    return batch ? chunk_of(batch)->first + batch->slot : 0;
}

bf_dimension bf_batch_dimension(const bf_batch *batch)
{
    return batch ? plan_of(batch)->dim : (bf_dimension)0;
}

const char *bf_batch_label(const bf_batch *batch)
{
    return batch ? chunk_of(batch)->text + batch->text : NULL;
}

int64_t bf_batch_lo(const bf_batch *batch)
{
    return batch ? batch->lo : 0;
}

int64_t bf_batch_hi(const bf_batch *batch)
{
    return batch ? batch->hi : 0;
}

size_t bf_batch_param_count(const bf_batch *batch)
{
    return batch ? layout_of(batch)->n : 0;
}

const char *bf_batch_param_name(const bf_batch *batch, size_t index)
{
    const struct layout *l = batch ? layout_of(batch) : NULL;

    return l && index < l->n ? l->names[index] : NULL;
}

static uint64_t read_u64(const char *p)
{
    uint64_t v;

    memcpy(&v, p, sizeof v);
    return v;
}

int bf_batch_param_at(bf_value *out, const bf_batch *batch, size_t index)
{
    const struct layout *l;
    const char *p;
    uint64_t bits;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_batch_param_at: out is NULL");
    if (!batch)
        return bf__error(BF_E_INVALID, "bf_batch_param_at: batch is NULL");
    l = layout_of(batch);
    if (index >= l->n)
        return bf__error(BF_E_NOT_FOUND, "batch %s: no parameter %zu (it has %u)",
                         bf_batch_label(batch), index, l->n);
    memset(out, 0, sizeof *out);
    out->type = (bf_value_type)l->type[index];
    if (l->src[index] != SRC_STORED) {
        int64_t bound = l->src[index] >= SRC_HI ? batch->hi : batch->lo;

        out->i = bound / divisors[l->src[index] - (l->src[index] >= SRC_HI ? SRC_HI : SRC_LO)];
        return BF_OK;
    }
    /* The stored values follow the label, in parameter order. */
    p = bf_batch_label(batch);
    p += strlen(p) + 1;
    for (size_t i = 0; i <= index; i++) {
        size_t len = 0;

        if (l->src[i] != SRC_STORED)
            continue;
        switch (l->type[i]) {
        case BF_VALUE_INT:
        case BF_VALUE_REAL:
            len = 8;
            break;
        case BF_VALUE_TEXT:
            len = 8 + (size_t)read_u64(p) + 1;
            break;
        default:
            break;
        }
        if (i == index) {
            switch (l->type[i]) {
            case BF_VALUE_INT:
                out->i = (int64_t)read_u64(p);
                break;
            case BF_VALUE_REAL:
                bits = read_u64(p);
                memcpy(&out->r, &bits, sizeof bits);
                break;
            case BF_VALUE_TEXT:
                out->len = (size_t)read_u64(p);
                out->s = p + 8;
                break;
            default:
                break;
            }
        }
        p += len;
    }
    return BF_OK;
}

int bf_batch_param(bf_value *out, const bf_batch *batch, const char *name)
{
    if (!out)
        return bf__error(BF_E_INVALID, "bf_batch_param: out is NULL");
    if (!batch)
        return bf__error(BF_E_INVALID, "bf_batch_param: batch is NULL");
    if (!name)
        return bf__error(BF_E_INVALID, "batch %s: parameter name is NULL", bf_batch_label(batch));
    if (name[0] == ':')
        name++;
    for (size_t i = 0; i < bf_batch_param_count(batch); i++)
        if (strcmp(bf_batch_param_name(batch, i), name) == 0)
            return bf_batch_param_at(out, batch, i);
    return bf__error(BF_E_NOT_FOUND, "batch %s: no parameter ':%s'", bf_batch_label(batch), name);
}
