/*
 * Dates and zone names in a brief's scope. The time module will own real
 * zone arithmetic; until then a brief only needs to know that a date is a
 * real calendar date, that two dates are in order, and that a zone exists.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "brief/brief_internal.h"

/* Read `n` decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

/* Days since 1970-01-01 of a proleptic Gregorian date (valid for years 0..9999). */
static int64_t days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = y / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int bf__datetime_parse(const char *text, int64_t *out)
{
    size_t len = strlen(text);
    int y, mo, d, h = 0, mi = 0, s = 0;

    if (len != 10 && len != 16 && len != 19)
        return -1;
    y = digits(text, 4);
    mo = digits(text + 5, 2);
    d = digits(text + 8, 2);
    if (text[4] != '-' || text[7] != '-' || y < 0 || mo < 1 || mo > 12 || d < 1 ||
        d > days_in_month(y, mo))
        return -1;
    if (len >= 16) {
        h = digits(text + 11, 2);
        mi = digits(text + 14, 2);
        if (text[10] != ' ' || text[13] != ':' || h < 0 || h > 23 || mi < 0 || mi > 59)
            return -1;
    }
    if (len == 19) {
        s = digits(text + 17, 2);
        if (text[16] != ':' || s < 0 || s > 59)
            return -1;
    }
    *out = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s;
    return 0;
}

/* Zone names are relative paths of letters, digits and "/_+-"; never "..". */
static int zone_name_shape_ok(const char *name)
{
    if (!name[0] || name[0] == '/' || strstr(name, "..") || strlen(name) > 255)
        return 0;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '/' || *c == '_' || *c == '+' || *c == '-' || *c == '.'))
            return 0;
    return 1;
}

int bf__zone_exists(const char *name)
{
    const char *dir = getenv("TZDIR");
    char path[512], magic[4];
    struct stat st;
    int fd, ok;

    if (!zone_name_shape_ok(name))
        return 0;
    /* The brief's default zone is valid even where tzdata is not installed. */
    if (strcmp(name, "UTC") == 0)
        return 1;
    if (!dir || !dir[0])
        dir = "/usr/share/zoneinfo";
    if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, name) >= sizeof path)
        return 0;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && read(fd, magic, 4) == 4 &&
         memcmp(magic, "TZif", 4) == 0;
    close(fd);
    return ok;
}
