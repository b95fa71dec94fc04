/* Building a findings list (preflight's output). */
#ifndef BF_BRIEF_FINDINGS_H
#define BF_BRIEF_FINDINGS_H

#include <stdarg.h>

#include "backfill/brief.h"
#include "common/internal.h"

int bf__findings_new(bf_findings **out);
/* Add a finding; `code` must be static. The message is formatted. */
int bf__findings_add(bf_findings *f, const char *code, bf_severity severity, const char *path,
                     const char *fmt, ...) BF_PRINTF(5, 6);

#endif
