/*
 * The TZif reader (RFC 8536). A version 1 file has one data block with
 * 32-bit times; versions 2 and up repeat the header and data with 64-bit
 * times and end with a POSIX TZ string between newlines, which we use for
 * instants after the table. Everything is checked against the counts before
 * it is read, so a truncated or corrupt file fails cleanly.
 */
#include <string.h>

#include "common/internal.h"
#include "time/tz_internal.h"

#define HEADER_LEN 44

typedef struct header {
    int version; /* 1, 2, 3 or 4 */
    uint32_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
} header;

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

static int read_header(header *h, const unsigned char *p, size_t len, const char *what)
{
    if (len < HEADER_LEN || memcmp(p, "TZif", 4) != 0)
        return bf__error(BF_E_PARSE, "%s: not a TZif file", what);
    if (p[4] == 0)
        h->version = 1;
    else if (p[4] >= '2' && p[4] <= '4')
        h->version = p[4] - '0';
    else
        return bf__error(BF_E_PARSE, "%s: unknown TZif version byte 0x%02x", what, p[4]);
    h->isutcnt = be32(p + 20);
    h->isstdcnt = be32(p + 24);
    h->leapcnt = be32(p + 28);
    h->timecnt = be32(p + 32);
    h->typecnt = be32(p + 36);
    h->charcnt = be32(p + 40);
    if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
        (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
        (h->isstdcnt != 0 && h->isstdcnt != h->typecnt) || h->timecnt > 100000 ||
        h->charcnt > 65536 || h->leapcnt > 100000)
        return bf__error(BF_E_PARSE, "%s: inconsistent TZif header counts", what);
    return BF_OK;
}

/* Bytes of the data block that follows a header, with `tsize`-byte times. */
static size_t block_len(const header *h, size_t tsize)
{
    return (size_t)h->timecnt * tsize + h->timecnt + (size_t)h->typecnt * 6 + h->charcnt +
           (size_t)h->leapcnt * (tsize + 4) + h->isstdcnt + h->isutcnt;
}

/* Fill the zone's tables from a data block whose times are `tsize` bytes. */
static int read_block(bf_tz *tz, const header *h, const unsigned char *p, size_t tsize,
                      const char *what)
{
    const unsigned char *idx = p + (size_t)h->timecnt * tsize;
    const unsigned char *types = idx + h->timecnt;

    if (h->leapcnt != 0)
        return bf__error(BF_E_UNSUPPORTED,
                         "%s: leap-second zones (\"right/\") are not supported; use the zone "
                         "without leap seconds",
                         what);
    tz->trans = bf__calloc(h->timecnt ? h->timecnt : 1, sizeof *tz->trans);
    tz->trans_type = bf__calloc(h->timecnt ? h->timecnt : 1, 1);
    tz->types = bf__calloc(h->typecnt, sizeof *tz->types);
    if (!tz->trans || !tz->trans_type || !tz->types)
        return bf__nomem();
    tz->ntrans = h->timecnt;
    tz->ntypes = h->typecnt;
    for (size_t i = 0; i < h->typecnt; i++) {
        const unsigned char *t = types + i * 6;
        int32_t utoff = (int32_t)be32(t);

        if (utoff < -BF__TZ_MAX_OFFSET || utoff > BF__TZ_MAX_OFFSET || t[4] > 1 ||
            t[5] >= h->charcnt)
            return bf__error(BF_E_PARSE, "%s: bad local time type %zu", what, i);
        tz->types[i].utoff = utoff;
        tz->types[i].isdst = t[4];
    }
    for (size_t i = 0; i < h->timecnt; i++) {
        tz->trans[i] = tsize == 8 ? be64(p + i * 8) : (int32_t)be32(p + i * 4);
        tz->trans_type[i] = idx[i];
        if (idx[i] >= h->typecnt || (i > 0 && tz->trans[i] <= tz->trans[i - 1]))
            return bf__error(BF_E_PARSE, "%s: bad transition %zu", what, i);
    }
    return BF_OK;
}

int bf__tzif_parse(bf_tz *tz, const unsigned char *data, size_t len, const char *what)
{
    header h;
    size_t pos;
    int rc = read_header(&h, data, len, what);

    if (rc != BF_OK)
        return rc;
    pos = HEADER_LEN + block_len(&h, 4);
    if (pos > len)
        return bf__error(BF_E_PARSE, "%s: truncated TZif data", what);
    if (h.version == 1)
        return read_block(tz, &h, data + HEADER_LEN, 4, what);

    rc = read_header(&h, data + pos, len - pos, what);
    if (rc != BF_OK)
        return rc;
    pos += HEADER_LEN;
    if (block_len(&h, 8) > len - pos)
        return bf__error(BF_E_PARSE, "%s: truncated TZif data", what);
    rc = read_block(tz, &h, data + pos, 8, what);
    if (rc != BF_OK)
        return rc;
    pos += block_len(&h, 8);

    /* The footer: "\n" TZ-string "\n"; an empty string means no rule. */
    if (pos >= len || data[pos] != '\n')
        return bf__error(BF_E_PARSE, "%s: missing TZif footer", what);
    {
        const unsigned char *start = data + pos + 1;
        const unsigned char *nl = memchr(start, '\n', len - pos - 1);

        if (!nl)
            return bf__error(BF_E_PARSE, "%s: unterminated TZif footer", what);
        if (nl == start)
            return BF_OK;
        rc = bf__tz_rule_parse(&tz->rule, (const char *)start, (size_t)(nl - start), what);
        return rc == BF_OK ? bf__tz_rule_table(tz) : rc;
    }
}
