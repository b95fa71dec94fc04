/*
 * libbackfill: controlled, resumable, validated historical backfills.
 *
 * This umbrella header includes every public module header. Headers for
 * implementers of drivers, stores, schedulers and validators live in
 * <backfill/sys/...> and are included separately.
 */
#ifndef BACKFILL_H
#define BACKFILL_H

#include "backfill/version.h"
#include "backfill/common.h"
#include "backfill/types.h"
#include "backfill/value.h"
#include "backfill/plan.h"
#include "backfill/brief.h"
#include "backfill/lineage.h"
#include "backfill/time.h"
#include "backfill/fingerprint.h"
#include "backfill/driver.h"
#include "backfill/ledger.h"
#include "backfill/validate.h"
#include "backfill/idempotency.h"
#include "backfill/diff.h"
#include "backfill/runner.h"
#include "backfill/report.h"

#endif
