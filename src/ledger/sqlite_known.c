/*
 * What a connection knows of its ledger without reading it again: the run
 * record it read last (with its own later changes), the batch it read last
 * or was handed by the claim's walk (with its own later changes), and the
 * last event id of the run it appended to. Good only while no other
 * connection has changed the file: SQLite's data version
 * (SQLITE_FCNTL_DATA_VERSION), which moves with every commit, this
 * connection's or another's, and with every rollback, is taken right after
 * this connection's commit and compared when its next write transaction
 * holds the write lock; anything else forgets it all. Only write
 * transactions use and fill it: under the write lock nobody else changes
 * the file until the commit.
 */
#include <string.h>

#include "common/internal.h"
#include "ledger/sqlite_store.h"

static unsigned data_version(sq_store *s)
{
    unsigned v = 0;

    if (sqlite3_file_control(s->db, "main", SQLITE_FCNTL_DATA_VERSION, &v) != SQLITE_OK)
        return 0;
    return v;
}

void sq_known_forget(sq_store *s)
{
    s->known.valid = 0;
    s->known.run.id = 0;
    s->known.batch.id = 0;
    s->known.event_run = 0;
}

void sq_known_begin(sq_store *s, int write)
{
    sq_known *k = &s->known;

    if (!write) {
        k->usable = 0;
        return;
    }
    if (!k->valid || data_version(s) != k->version || k->version == 0)
        sq_known_forget(s); /* another connection may have changed anything */
    k->usable = 1;
}

void sq_known_commit(sq_store *s, int committed)
{
    sq_known *k = &s->known;

    if (!k->usable)
        return; /* a read transaction changes nothing */
    k->usable = 0;
    if (committed) {
        k->version = data_version(s);
        k->valid = 1;
    } else {
        sq_known_forget(s);
    }
}

void sq_known_rollback(sq_store *s)
{
    if (s->known.usable)
        sq_known_forget(s); /* what the transaction read or wrote is undone */
    s->known.usable = 0;
}

/*
 * Copy the strings `fields` point at into *buf and point them there; 0 when
 * out of memory (the caller fails with BF_E_NOMEM, as a read would).
 */
static int copy_strings(char **buf, size_t *cap, const char **fields[], size_t count)
{
    size_t need = 1, at = 0;

    for (size_t i = 0; i < count; i++)
        if (*fields[i])
            need += strlen(*fields[i]) + 1;
    if (need > *cap) {
        char *grown = bf__malloc(need);

        if (!grown)
            return 0;
        bf__free(*buf);
        *buf = grown;
        *cap = need;
    }
    for (size_t i = 0; i < count; i++) {
        size_t len;

        if (!*fields[i])
            continue;
        len = strlen(*fields[i]) + 1;
        memcpy(*buf + at, *fields[i], len);
        *fields[i] = *buf + at;
        at += len;
    }
    return 1;
}

int sq_known_run(bf_store_run *out, sq_store *s, int64_t id)
{
    if (!s->known.usable || s->known.run.id != id || id == 0)
        return 0;
    *out = s->known.run;
    return 1;
}

int sq_known_set_run(sq_store *s, const bf_store_run *r)
{
    sq_known *k = &s->known;
    const char **fields[] = {&k->run.brief_name,   &k->run.brief_json,   &k->run.plan_fingerprint,
                             &k->run.plan_column,  &k->run.code_version, &k->run.operator_name,
                             &k->run.params_json};

    if (!k->usable)
        return BF_OK;
    k->run = *r;
    if (copy_strings(&k->buf[0], &k->cap[0], fields, BF_ARRAY_LEN(fields)))
        return BF_OK;
    k->run.id = 0;
    return bf__nomem();
}

void sq_known_run_update(sq_store *s, const bf_store_run *r)
{
    sq_known *k = &s->known;

    if (!k->usable || k->run.id != r->id)
        return;
    k->run.state = r->state;
    k->run.started_at = r->started_at;
    k->run.updated_at = r->updated_at;
    k->run.finished_at = r->finished_at;
}

int sq_known_batch(bf_store_batch *out, sq_store *s, int64_t id)
{
    if (!s->known.usable || s->known.batch.id != id || id == 0)
        return 0;
    *out = s->known.batch;
    return 1;
}

int sq_known_set_batch(sq_store *s, const bf_store_batch *b)
{
    sq_known *k = &s->known;
    const char **fields[] = {&k->batch.label,    &k->batch.params_json, &k->batch.worker,
                             &k->batch.fp_before, &k->batch.fp_after,    &k->batch.idempotency_key,
                             &k->batch.error};

    if (!k->usable)
        return BF_OK;
    k->batch = *b;
    if (copy_strings(&k->buf[1], &k->cap[1], fields, BF_ARRAY_LEN(fields)))
        return BF_OK;
    k->batch.id = 0;
    return bf__nomem();
}

int sq_known_batch_update(sq_store *s, const bf_store_batch *b)
{
    sq_known *k = &s->known;
    bf_store_batch merged;

    if (!k->usable || k->batch.id != b->id)
        return BF_OK;
    /* What batch_update writes (SQ_BATCH_UPDATE); the rest stays as read. */
    merged = k->batch;
    merged.state = b->state;
    merged.token = b->token;
    merged.attempt = b->attempt;
    merged.lease_until = b->lease_until;
    merged.not_before = b->not_before;
    merged.worker = b->worker;
    merged.started_at = b->started_at;
    merged.finished_at = b->finished_at;
    merged.duration_us = b->duration_us;
    merged.rows_written = b->rows_written;
    merged.rows_deleted = b->rows_deleted;
    merged.fp_before = b->fp_before;
    merged.fp_after = b->fp_after;
    merged.idempotency_key = b->idempotency_key;
    merged.error = b->error;
    /* Strings of the record read are in k->buf[1]: copy into buf[2], then swap the two. */
    {
        const char **fields[] = {&merged.label,    &merged.params_json, &merged.worker,
                                 &merged.fp_before, &merged.fp_after,    &merged.idempotency_key,
                                 &merged.error};
        char *buf;
        size_t cap;

        if (!copy_strings(&k->buf[2], &k->cap[2], fields, BF_ARRAY_LEN(fields))) {
            k->batch.id = 0;
            return bf__nomem();
        }
        buf = k->buf[1];
        cap = k->cap[1];
        k->buf[1] = k->buf[2];
        k->cap[1] = k->cap[2];
        k->buf[2] = buf;
        k->cap[2] = cap;
    }
    k->batch = merged;
    return BF_OK;
}

int64_t sq_known_event_next(sq_store *s, int64_t run_id)
{
    if (!s->known.usable || s->known.event_run != run_id || run_id == 0)
        return 0;
    return s->known.event_last + 1;
}

void sq_known_set_event(sq_store *s, int64_t run_id, int64_t id)
{
    if (!s->known.usable)
        return;
    s->known.event_run = run_id;
    s->known.event_last = id;
}
