/*
 * The run and batch state machines: names and the tables of legal
 * transitions (docs/ledger.md shows the same tables).
 */
#include "ledger/ledger_internal.h"

static const char *const run_names[] = {
    "planned",   "running",          "paused",   "cancelled", "failed",
    "validating", "awaiting_approval", "approved", "completed", "rolled_back",
};

static const char *const batch_names[] = {
    "pending", "running", "completed", "validated", "failed", "cancelled", "rolled_back", "split",
};

#define R(s) (1u << BF_RUN_##s)
#define B(s) (1u << BF_BATCH_##s)

/* run_next[from] is the set of states a run may move to from `from`. */
static const unsigned run_next[] = {
    [BF_RUN_PLANNED] = R(RUNNING) | R(PAUSED) | R(CANCELLED),
    [BF_RUN_RUNNING] = R(PAUSED) | R(CANCELLED) | R(FAILED) | R(VALIDATING),
    [BF_RUN_PAUSED] = R(RUNNING) | R(CANCELLED) | R(ROLLED_BACK),
    [BF_RUN_CANCELLED] = R(ROLLED_BACK),
    [BF_RUN_FAILED] = R(RUNNING) | R(CANCELLED) | R(ROLLED_BACK),
    [BF_RUN_VALIDATING] = R(AWAITING_APPROVAL) | R(FAILED) | R(PAUSED) | R(CANCELLED),
    [BF_RUN_AWAITING_APPROVAL] = R(RUNNING) | R(APPROVED) | R(FAILED) | R(CANCELLED) |
                                 R(ROLLED_BACK),
    [BF_RUN_APPROVED] = R(COMPLETED) | R(ROLLED_BACK),
    [BF_RUN_COMPLETED] = R(ROLLED_BACK),
    [BF_RUN_ROLLED_BACK] = 0,
};

/* batch_next[from]: every move the ledger makes, by claim, lease expiry and the calls below. */
static const unsigned batch_next[] = {
    [BF_BATCH_PENDING] = B(RUNNING) | B(CANCELLED) | B(SPLIT) | B(ROLLED_BACK),
    [BF_BATCH_RUNNING] = B(COMPLETED) | B(PENDING) | B(FAILED) | B(CANCELLED) | B(ROLLED_BACK),
    [BF_BATCH_COMPLETED] = B(VALIDATED) | B(FAILED) | B(ROLLED_BACK),
    [BF_BATCH_VALIDATED] = B(ROLLED_BACK),
    [BF_BATCH_FAILED] = B(PENDING) | B(SPLIT) | B(CANCELLED) | B(ROLLED_BACK),
    [BF_BATCH_CANCELLED] = B(ROLLED_BACK),
    [BF_BATCH_ROLLED_BACK] = B(PENDING),
    [BF_BATCH_SPLIT] = 0,
};

/*
 * The subset a caller moves by hand with bf_run_mark_batch(). A batch not
 * completed is marked rolled_back when the undo of a publish the ledger
 * never heard of (its worker died between the two commits) restored it; a
 * running one only once its lease ran out (mark_op).
 */
static const unsigned batch_mark[] = {
    [BF_BATCH_PENDING] = B(CANCELLED) | B(ROLLED_BACK),
    [BF_BATCH_RUNNING] = B(ROLLED_BACK),
    [BF_BATCH_COMPLETED] = B(VALIDATED) | B(FAILED) | B(ROLLED_BACK),
    [BF_BATCH_VALIDATED] = B(ROLLED_BACK),
    [BF_BATCH_FAILED] = B(CANCELLED) | B(ROLLED_BACK),
    [BF_BATCH_CANCELLED] = B(ROLLED_BACK),
    [BF_BATCH_ROLLED_BACK] = B(PENDING),
    [BF_BATCH_SPLIT] = 0,
};

const char *bf_run_state_name(bf_run_state state)
{
    if ((int)state < 0 || (size_t)state >= BF_ARRAY_LEN(run_names))
        return NULL;
    return run_names[state];
}

const char *bf_batch_state_name(bf_batch_state state)
{
    if ((int)state < 0 || (size_t)state >= BF_ARRAY_LEN(batch_names))
        return NULL;
    return batch_names[state];
}

static int in_table(const unsigned *table, size_t n, int from, int to)
{
    if (from < 0 || (size_t)from >= n || to < 0 || to >= 32)
        return 0;
    return (table[from] >> to) & 1u;
}

int bf__run_transition_legal(int from, int to)
{
    return in_table(run_next, BF_ARRAY_LEN(run_next), from, to);
}

int bf__batch_transition_legal(int from, int to)
{
    return in_table(batch_next, BF_ARRAY_LEN(batch_next), from, to);
}

int bf__batch_mark_legal(int from, int to)
{
    return in_table(batch_mark, BF_ARRAY_LEN(batch_mark), from, to);
}

int bf__run_unfinished(int state)
{
    return state != BF_RUN_CANCELLED && state != BF_RUN_COMPLETED && state != BF_RUN_ROLLED_BACK;
}
