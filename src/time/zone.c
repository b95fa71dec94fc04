/*
 * Loading zones from the tz database and converting between instants and
 * local civil time.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/internal.h"
#include "time/tz_internal.h"

#define DEFAULT_TZDIR "/usr/share/zoneinfo"
/* The largest real TZif file is a few kilobytes; anything huge is not one. */
#define MAX_TZIF_BYTES (1u << 20)

void bf_tz_free(bf_tz *tz)
{
    if (!tz)
        return;
    bf__free(tz->name);
    bf__free(tz->trans);
    bf__free(tz->trans_type);
    bf__free(tz->types);
    bf__free(tz->edges);
    bf__free(tz);
}

const char *bf_tz_name(const bf_tz *tz)
{
    return tz ? tz->name : NULL;
}

/* Zone names are relative paths of letters, digits and "/_+-."; no "..". */
static int valid_name(const char *name)
{
    size_t len = strlen(name);

    if (len == 0 || len > 255 || name[0] == '/' || name[0] == '.' || strstr(name, ".."))
        return 0;
    for (const char *p = name; *p; p++) {
        if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              strchr("/_+-.", *p)))
            return 0;
    }
    return 1;
}

/* Read a whole zone file into memory owned by the caller. */
static int read_file(unsigned char **out, size_t *out_len, const char *path, const char *name)
{
    struct stat st;
    unsigned char *buf;
    size_t got = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return bf__error(BF_E_NOT_FOUND, "time zone '%s': no such zone (no file %s)", name,
                             path);
        return bf__error(BF_E_IO, "time zone '%s': cannot open %s: %s", name, path,
                         strerror(errno));
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)MAX_TZIF_BYTES) {
        close(fd);
        return bf__error(BF_E_NOT_FOUND, "time zone '%s': %s is not a zone file", name, path);
    }
    buf = bf__malloc(st.st_size ? (size_t)st.st_size : 1);
    if (!buf) {
        close(fd);
        return bf__nomem();
    }
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int err = n < 0 ? errno : EIO;

            close(fd);
            bf__free(buf);
            return bf__error(BF_E_IO, "time zone '%s': cannot read %s: %s", name, path,
                             strerror(err));
        }
        got += (size_t)n;
    }
    close(fd);
    *out = buf;
    *out_len = got;
    return BF_OK;
}

static int load_file(bf_tz *tz, const char *name)
{
    int too_long;
    const char *dir = bf__env(BF__ENV_TZDIR, &too_long); /* read once, at the first load */
    unsigned char *data = NULL;
    size_t len = 0;
    char *path;
    char *what;
    int rc;

    if (too_long)
        return bf__error(BF_E_INVALID, "time zone '%s': the TZDIR environment variable is too "
                         "long to be a directory", name);
    if (!dir)
        dir = DEFAULT_TZDIR;
    path = bf__asprintf("%s/%s", dir, name);
    if (!path)
        return bf__nomem();
    rc = read_file(&data, &len, path, name);
    if (rc == BF_OK) {
        what = bf__asprintf("time zone '%s' (%s)", name, path);
        rc = what ? bf__tzif_parse(tz, data, len, what) : bf__nomem();
        bf__free(what);
    }
    bf__free(data);
    bf__free(path);
    return rc;
}

int bf_tz_load(bf_tz **out, const char *name)
{
    bf_tz *tz;
    int rc;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_tz_load: out is NULL");
    if (!name || !valid_name(name))
        return bf__error(BF_E_INVALID, "time zone '%s': not a valid zone name",
                         name ? name : "(null)");
    tz = bf__calloc(1, sizeof *tz);
    if (!tz)
        return bf__nomem();
    tz->name = bf__strdup(name);
    if (!tz->name) {
        bf_tz_free(tz);
        return bf__nomem();
    }
    if (strcmp(name, "UTC") == 0) {
        /* Built in, so plans in UTC work on hosts without a tz database. */
        tz->types = bf__calloc(1, sizeof *tz->types);
        tz->ntypes = 1;
        rc = tz->types ? BF_OK : bf__nomem();
    } else {
        rc = load_file(tz, name);
    }
    if (rc != BF_OK) {
        bf_tz_free(tz);
        return rc;
    }
    *out = tz;
    return BF_OK;
}

bf__tz_type bf__tz_at(const bf_tz *tz, int64_t t, int64_t *out_next)
{
    size_t lo = 0, hi = tz->ntrans;

    if (tz->ntrans == 0 || t >= tz->trans[tz->ntrans - 1]) {
        bf__tz_type type;

        if (bf__tz_rule_lookup(tz, t, &type, out_next))
            return type;
        if (tz->rule.present)
            return bf__tz_rule_at(&tz->rule, t, out_next);
        *out_next = INT64_MAX;
        return tz->types[tz->ntrans ? tz->trans_type[tz->ntrans - 1] : 0];
    }
    if (t < tz->trans[0]) {
        /* RFC 8536: type 0 applies before the first transition. */
        *out_next = tz->trans[0];
        return tz->types[0];
    }
    /* The last transition at or before t: trans[lo] <= t < trans[hi]. */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (tz->trans[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    *out_next = tz->trans[hi];
    return tz->types[tz->trans_type[lo]];
}

int32_t bf_tz_offset(const bf_tz *tz, int64_t t)
{
    int64_t next;

    return tz ? bf__tz_at(tz, t, &next).utoff : 0;
}

int bf_tz_is_dst(const bf_tz *tz, int64_t t)
{
    int64_t next;

    return tz ? bf__tz_at(tz, t, &next).isdst : 0;
}

void bf_tz_to_local(bf_civil *out, const bf_tz *tz, int64_t t)
{
    if (!out || !tz)
        return;
    bf_civil_from_seconds(out, t + bf_tz_offset(tz, t));
}

int bf_tz_to_utc(int64_t *out, const bf_tz *tz, const bf_civil *local)
{
    int64_t wall;
    int64_t t;
    int64_t stop;

    if (!out)
        return bf__error(BF_E_INVALID, "bf_tz_to_utc: out is NULL");
    if (!tz)
        return bf__error(BF_E_INVALID, "bf_tz_to_utc: tz is NULL");
    if (!local)
        return bf__error(BF_E_INVALID, "bf_tz_to_utc: local is NULL");
    if (!bf_civil_valid(local))
        return bf__error(BF_E_INVALID,
                         "time zone '%s': %04lld-%02d-%02d %02d:%02d:%02d is not a valid "
                         "local time",
                         tz->name, (long long)local->year, local->month, local->day,
                         local->hour, local->minute, local->second);
    /*
     * Walk the intervals of constant offset from well before the wall time
     * (no instant earlier than wall - max offset can show it) to well after.
     * In each interval [t, next) the local clock runs from t + off to
     * next + off; the first interval whose clock reaches `wall` holds the
     * answer: the instant showing `wall`, or the interval's start when the
     * clock jumped over it.
     */
    wall = bf_civil_seconds(local);
    t = wall - BF__TZ_MAX_OFFSET;
    stop = wall + BF__TZ_MAX_OFFSET + 1;
    for (;;) {
        int64_t next;
        int32_t off = bf__tz_at(tz, t, &next).utoff;

        if (next > stop)
            next = stop;
        if (next + off > wall) {
            *out = wall - off > t ? wall - off : t;
            return BF_OK;
        }
        t = next;
    }
}
