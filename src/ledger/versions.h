/*
 * The ledger's versioned structs and the store vtable, described for the
 * one rule of common/versioned.h: their sizes as of every version and their
 * defaults.
 */
#ifndef BF_LEDGER_VERSIONS_H
#define BF_LEDGER_VERSIONS_H

#include "backfill/ledger.h"
#include "backfill/sys/store.h"
#include "common/versioned.h"

extern const bf__struct_desc bf__ledger_options_desc;
extern const bf__struct_desc bf__run_spec_desc;
extern const bf__struct_desc bf__batch_result_desc;
extern const bf__struct_desc bf__progress_desc;
extern const bf__struct_desc bf__store_vtable_desc;

#endif
