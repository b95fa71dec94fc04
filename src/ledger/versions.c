/*
 * The ledger's versioned structs: sizes per version, defaults, and their
 * bf_x_init() functions, all through common/versioned.h.
 */
#include "ledger/versions.h"

static const bf_ledger_options ledger_options_defaults = BF_LEDGER_OPTIONS_INIT;
/* Version 2 added store_userdata and free_store_userdata. */
static const size_t ledger_options_sizes[] = {0, BF__SIZE_TO(bf_ledger_options, flags),
                                              sizeof(bf_ledger_options)};
const bf__struct_desc bf__ledger_options_desc = {"ledger options", BF_LEDGER_OPTIONS_VERSION,
                                                 ledger_options_sizes, &ledger_options_defaults};

static const bf_run_spec run_spec_defaults = BF_RUN_SPEC_INIT;
static const size_t run_spec_sizes[] = {0, sizeof(bf_run_spec)};
const bf__struct_desc bf__run_spec_desc = {"run spec", BF_RUN_SPEC_VERSION, run_spec_sizes,
                                           &run_spec_defaults};

static const bf_batch_result batch_result_defaults = BF_BATCH_RESULT_INIT;
/* Version 2 added the validation results recorded with the completion. */
static const size_t batch_result_sizes[] = {0, BF__SIZE_TO(bf_batch_result, idempotency_key),
                                            sizeof(bf_batch_result)};
const bf__struct_desc bf__batch_result_desc = {"batch result", BF_BATCH_RESULT_VERSION,
                                               batch_result_sizes, &batch_result_defaults};

static const bf_progress progress_defaults = BF_PROGRESS_INIT;
static const size_t progress_sizes[] = {0, sizeof(bf_progress)};
const bf__struct_desc bf__progress_desc = {"progress", BF_PROGRESS_VERSION, progress_sizes,
                                           &progress_defaults};

/* Version 2 added validation_put and validation_list; 3 before_state_put and before_state_list. */
static const size_t store_vtable_sizes[] = {0, BF__SIZE_TO(bf_store_vtable, event_list),
                                            BF__SIZE_TO(bf_store_vtable, validation_list),
                                            sizeof(bf_store_vtable)};
const bf__struct_desc bf__store_vtable_desc = {"store vtable", BF_STORE_VTABLE_VERSION,
                                               store_vtable_sizes, NULL};

int bf_ledger_options_init(bf_ledger_options *opts, unsigned version)
{
    return bf__struct_init(opts, version, &bf__ledger_options_desc);
}

int bf_run_spec_init(bf_run_spec *spec, unsigned version)
{
    return bf__struct_init(spec, version, &bf__run_spec_desc);
}

int bf_batch_result_init(bf_batch_result *result, unsigned version)
{
    return bf__struct_init(result, version, &bf__batch_result_desc);
}

int bf_progress_init(bf_progress *progress, unsigned version)
{
    return bf__struct_init(progress, version, &bf__progress_desc);
}
