/* Finding the named parameters of a job's SQL. */
#ifndef BF_BRIEF_JOB_PARAMS_H
#define BF_BRIEF_JOB_PARAMS_H

#include <stddef.h>

/* Called once per parameter use, with the name (without the colon) and its length. */
typedef void (*bf__job_param_fn)(const char *name, size_t len, void *ctx);

void bf__job_params(const char *sql, bf__job_param_fn fn, void *ctx);

#endif
