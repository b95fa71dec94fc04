/*
 * The environment, read once. getenv() is not safe against a host thread
 * that calls setenv() or putenv() at the same moment (the environment block
 * may be reallocated under the reader), so the library reads each variable
 * it uses exactly once, the first time it needs it, under pthread_once, and
 * keeps a copy in static storage (no allocation, so nothing to free and no
 * dependency on the allocator hooks). Later changes to the environment do
 * not change the library's behaviour. docs/environment.md lists the
 * variables.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/internal.h"

/* Longer values than this are treated as too long (a path longer than PATH_MAX cannot be opened). */
#define ENV_VALUE_MAX 4096

struct env_snapshot {
    const char *name;
    pthread_once_t once;
    int state; /* 0 unset or empty, 1 set, -1 too long */
    char value[ENV_VALUE_MAX];
};

static struct env_snapshot snapshots[BF__ENV_COUNT] = {
    [BF__ENV_TZDIR] = {"TZDIR", PTHREAD_ONCE_INIT, 0, ""},
    [BF__ENV_USER] = {"USER", PTHREAD_ONCE_INIT, 0, ""},
};

static void take(struct env_snapshot *s)
{
    const char *v = getenv(s->name);
    size_t len;

    if (!v || !v[0])
        return;
    len = strlen(v);
    if (len >= sizeof s->value) {
        s->state = -1;
        return;
    }
    memcpy(s->value, v, len + 1);
    s->state = 1;
}

static void take_tzdir(void)
{
    take(&snapshots[BF__ENV_TZDIR]);
}

static void take_user(void)
{
    take(&snapshots[BF__ENV_USER]);
}

static void (*const takers[BF__ENV_COUNT])(void) = {
    [BF__ENV_TZDIR] = take_tzdir,
    [BF__ENV_USER] = take_user,
};

const char *bf__env(bf__env_var var, int *too_long)
{
    struct env_snapshot *s = &snapshots[var];

    pthread_once(&s->once, takers[var]);
    if (too_long)
        *too_long = s->state < 0;
    return s->state > 0 ? s->value : NULL;
}

const char *bf__env_name(bf__env_var var)
{
    return snapshots[var].name;
}
