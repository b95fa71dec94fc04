#include "backfill/version.h"
#include "common/internal.h"

unsigned bf_version(void)
{
    return BF_VERSION_NUMBER;
}

const char *bf_version_string(void)
{
    return BF_VERSION_STRING;
}
