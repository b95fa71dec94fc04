/* The results object, shared by validate.c and results.c. Not installed. */
#ifndef BF_VALIDATE_RESULTS_INTERNAL_H
#define BF_VALIDATE_RESULTS_INTERNAL_H

#include "validate/validate_internal.h"

typedef struct bf__rentry {
    char *check, *name;
    bf_check_severity severity;
    bf_outcome outcome;
    char *observed, *expected, *message;
    json_t *samples;      /* array of objects */
    char *samples_text;   /* cache of bf_results_samples_json */
    json_t *extra;        /* more members for the JSON (metric: before, after, delta...) */
    bf_value total;       /* metric: its value after, exactly as SQL gives the expression over
                             the batch (an integer, a real or NULL), when has_total */
    int has_total;
} bf__rentry;

struct bf_results {
    char *batch;
    size_t count, cap;
    bf__rentry *e;
};

struct bf_check_result {
    bf__rentry *e;
    int set;
};

int bf__results_new(bf_results **out, const bf_batch *batch);
int bf__results_add(bf__rentry **out, bf_results *r, const char *check, const char *name,
                    bf_check_severity severity);
int bf__rentry_set(bf__rentry *e, bf_outcome outcome, const char *observed, const char *expected,
                   const char *message);
/* Pass, or fail/warn by the entry's severity. */
int bf__rentry_verdict(bf__rentry *e, int failed, const char *observed, const char *expected,
                       const char *message);
/* Append a sample (takes the reference; NULL means out of memory). */
int bf__rentry_sample(bf__rentry *e, json_t *sample);
/*
 * A metric check's value after, exactly as `SELECT expr FROM table WHERE
 * <batch>` gives it (an integer, a real or NULL; no text): BF_OK, or
 * BF_E_NOT_FOUND when entry i is no metric measured in that form.
 */
int bf__results_total(bf_value *out, const bf_results *r, size_t i);

#endif
