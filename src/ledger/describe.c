/*
 * How messages name a run: "run 3 (refund-fix #1)". The lowest of the
 * ledger's files: it calls no other.
 */
#include <stdio.h>

#include "ledger/ledger_internal.h"

const char *bf__run_record_describe(const bf_store_run *rec, char *buf, size_t size)
{
    snprintf(buf, size, "run %lld (%s #%lld)", (long long)rec->id,
             rec->brief_name ? rec->brief_name : "?", (long long)rec->seq);
    return buf;
}

const char *bf__run_describe(const bf_run *run, char *buf, size_t size)
{
    snprintf(buf, size, "run %lld (%s #%lld)", (long long)run->id, run->brief_name,
             (long long)run->seq);
    return buf;
}
