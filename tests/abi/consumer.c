/* A program that knows libbackfill only through pkg-config. */
#include <backfill.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    if (bf_version() != BF_VERSION_NUMBER) {
        fprintf(stderr, "header says %d, library says %u\n", BF_VERSION_NUMBER, bf_version());
        return 1;
    }
    if (strcmp(bf_errstr(BF_E_LEASE_LOST), "BF_E_LEASE_LOST") != 0) {
        fprintf(stderr, "bf_errstr(BF_E_LEASE_LOST) = %s\n", bf_errstr(BF_E_LEASE_LOST));
        return 1;
    }
    printf("consumer linked libbackfill %s\n", bf_version_string());
    return 0;
}
