/*
 * The inside of a loaded time zone, shared by the TZif reader, the POSIX TZ
 * rule evaluator and the conversions. Not installed.
 */
#ifndef BF_TZ_INTERNAL_H
#define BF_TZ_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "backfill/time.h"

/* Offsets beyond this many seconds either way are refused when loading. */
#define BF__TZ_MAX_OFFSET (26 * 3600)

/* One local time type: offset from UTC and whether it is daylight-saving time. */
typedef struct bf__tz_type {
    int32_t utoff;
    int isdst;
} bf__tz_type;

/* The date part of a POSIX TZ rule: Jn, n or Mm.w.d. */
typedef struct bf__tz_date {
    char kind; /* 'J' (1-365, no leap day), 'n' (0-365), 'M' (month.week.weekday) */
    int day;   /* for J and n */
    int month, week, weekday; /* for M: weekday 0 = Sunday */
    int32_t time; /* local seconds after midnight, -167h..167h (RFC 8536) */
} bf__tz_date;

/* A POSIX TZ string such as "EST5EDT,M3.2.0,M11.1.0", from a TZif footer. */
typedef struct bf__tz_rule {
    int present;
    bf__tz_type std;
    int has_dst;
    bf__tz_type dst;
    bf__tz_date start; /* into daylight-saving time, in standard local time */
    bf__tz_date end;   /* out of it, in daylight-saving local time */
} bf__tz_rule;

/* A rule edge: from instant `at` on, daylight-saving time is `isdst`. */
typedef struct bf__tz_edge {
    int64_t at;
    int isdst;
} bf__tz_edge;

struct bf_tz {
    char *name;
    size_t ntrans;
    int64_t *trans;     /* ascending transition instants */
    uint8_t *trans_type; /* the type in effect from each transition on */
    size_t ntypes;
    bf__tz_type *types;
    bf__tz_rule rule;   /* for instants at and after the last transition */
    /*
     * The rule's edges, sorted, computed once at load for the centuries after
     * the transition table, so lookups there cost a binary search instead of
     * re-deriving five years of edges. They answer for instants in
     * [edges_from, edges_until) only (NULL when the rule has no DST).
     * Written at load only, so a loaded zone stays immutable.
     */
    bf__tz_edge *edges;
    size_t nedges;
    int64_t edges_from, edges_until;
};

/*
 * Parse a POSIX TZ string (with the RFC 8536 extensions) into *out. Returns
 * BF_OK or BF_E_PARSE with a message naming `what` (the zone and file).
 */
int bf__tz_rule_parse(bf__tz_rule *out, const char *text, size_t len, const char *what);

/*
 * The type a present rule gives at instant `t`, and in *out_next the next
 * instant after `t` at which the offset or DST flag changes (INT64_MAX when
 * it never does).
 */
bf__tz_type bf__tz_rule_at(const bf__tz_rule *rule, int64_t t, int64_t *out_next);

/*
 * Precompute tz->edges from tz->rule for the years after the transition
 * table. BF_OK, or BF_E_NOMEM (the zone is then unusable: free it).
 */
int bf__tz_rule_table(bf_tz *tz);

/*
 * The type the rule gives at `t` from the precomputed edges, as
 * bf__tz_rule_at(); returns 0 (and leaves *out alone) when `t` is outside
 * the table.
 */
int bf__tz_rule_lookup(const bf_tz *tz, int64_t t, bf__tz_type *out, int64_t *out_next);

/*
 * Parse TZif data (RFC 8536, versions 1-4) into the tables of `tz`.
 * `what` names the zone and file in error messages.
 */
int bf__tzif_parse(bf_tz *tz, const unsigned char *data, size_t len, const char *what);

/* The type in effect at `t` and the next change after `t` (INT64_MAX if none). */
bf__tz_type bf__tz_at(const bf_tz *tz, int64_t t, int64_t *out_next);

#endif
