/* Internals of the validate module, shared by its files. Not installed. */
#ifndef BF_VALIDATE_INTERNAL_H
#define BF_VALIDATE_INTERNAL_H

#include <jansson.h>

#include "backfill/diff.h"
#include "backfill/fingerprint.h"
#include "backfill/sys/validator.h"
#include "common/internal.h"

/* Check kinds beyond bf_check_kind. */
#define BF__CHECK_CUSTOM 100
#define BF__CHECK_EXPECTED_ROWS 101

/* The phases a check runs in. */
#define BF__PHASE_BATCH 1
#define BF__PHASE_RUN 2
/* Whether check c runs for `batch` (NULL: the run). */
#define BF__RUNS_IN(c, batch) (((c)->phases & ((batch) ? BF__PHASE_BATCH : BF__PHASE_RUN)) != 0)

typedef struct bf__vcheck {
    int kind;            /* bf_check_kind or BF__CHECK_* */
    char *kind_name;     /* custom validators: their name */
    json_t *cfg;         /* the check's JSON (built-ins) */
    bf_check_severity severity;
    int phases;          /* BF__PHASE_BATCH | BF__PHASE_RUN: where the check is evaluated */
    bf_validator_vtable vt; /* custom */
    void *ud;
    void (*free_ud)(void *userdata);
} bf__vcheck;

struct bf_validator {
    char *table;
    char **key;
    size_t key_count;
    char **columns;
    size_t column_count;
    size_t max_samples;
    bf__vcheck *checks;
    size_t count, cap;
    int has_written;
    size_t *written;
    int64_t *rows_written;
    size_t written_count;
};

/*
 * bf_validator_after, and for a batch, in the scan of the table its shared
 * profile makes anyway, the fingerprint of every column of the validator's
 * table within the batch into *all_fp (as bf_driver_fingerprint() with no
 * columns gives it): *measured is 1 when it was, 0 when the checks need no
 * such scan or the driver cannot fuse it (then the caller measures it).
 */
int bf__validator_after_fp(bf_results **out, bf_validator *v, bf_driver *d, const bf_plan *plan,
                           const bf_batch *batch, const bf_validation_state *state,
                           bf_fingerprint *all_fp, int *measured);

/*
 * The before-state as text and back, so a run resumed by another process
 * compares with the values from before its first publish: every built-in
 * check's captured values (a host validator's own state cannot be written
 * down: it is read back as not captured). Reading it back requires the
 * same checks in the same order (BF_E_CONFLICT naming the first that
 * differs); BF_E_PARSE for text that is not such a state.
 */
int bf__validation_state_to_json(char **out, const bf_validation_state *st);
int bf__validation_state_from_json(bf_validation_state **out, const bf_validator *v,
                                   const char *text);

/*
 * bf_validator_before, and for a batch, in the scan of the validator's
 * table its shared profile makes anyway, the before-state by `key` that
 * bf_diff_capture() would capture with default options (the same segments
 * and fingerprints) into *capture; *capture stays NULL when the checks need
 * no such scan or the driver cannot fuse it (then the caller captures it).
 */
int bf__validator_before_capture(bf_validation_state **out, bf_validator *v, bf_driver *d,
                                 const bf_plan *plan, const bf_batch *batch,
                                 const char *const *key, size_t key_count,
                                 bf_diff_before **capture);

/*
 * Every name and statement of the built-in checks, against the warehouse,
 * as a scan of the run (the run's checks) and of the plan's first batch (the
 * batches' checks) would check them before reading anything: a column, a
 * table, a metric expression or a query that is not there fails here, with
 * the check's name, before a run is started. Reads no rows.
 */
int bf__validator_check_inputs(bf_validator *v, bf_driver *d, const bf_plan *plan);

/* Add a built-in check from JSON that the brief schema has validated (a reference is taken). */
int bf__validator_add_json(bf_validator *v, json_t *check);

#endif
