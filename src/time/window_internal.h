/*
 * The text forms of a window's parts, shared by bf_window_new() and the
 * brief's schema, which validates `batching.window` with the same rules.
 * Neither function allocates. Not installed.
 */
#ifndef BF_TIME_WINDOW_INTERNAL_H
#define BF_TIME_WINDOW_INTERNAL_H

/* The most hour ranges a window may list. */
#define BF__WINDOW_MAX_RANGES 48

/* The day names, for messages. */
#define BF__WINDOW_DAY_NAMES "mon, tue, wed, thu, fri, sat, sun"

/*
 * Parse "HH:MM-HH:MM" into minutes of the day: *start in 0..1439, *end in
 * 0..1440 ("24:00" only as an end). An end at or before the start wraps past
 * midnight. Returns NULL, or why the text is not a range (for "expected ...,
 * got ..." messages): malformed, or empty (start equal to end).
 */
const char *bf__window_range_parse(const char *text, int *start, int *end);

/* The ISO weekday of a day name: 1 for "mon" ... 7 for "sun"; 0 for anything else. */
int bf__window_day(const char *name);

#endif
