/*
 * Locale independence. A host may call setlocale(LC_ALL, "de_DE.UTF-8");
 * the library's files, JSON, hash inputs and messages must not change with
 * it. Every formatting and parsing call that could see the host's locale
 * (printf-family conversions of reals, Jansson's conversion of reals) runs
 * with the calling thread switched to the "C" locale by uselocale(), which
 * is per-thread, so other host threads never notice, and then switched back.
 *
 * The "C" locale object is created once, on first use, under pthread_once
 * (thread-safe, no lock on later calls). It is never freed: glibc and musl
 * return their static "C" object for newlocale(LC_ALL_MASK, "C", 0), which
 * owns no memory, and freeing it at unload would race with host threads
 * still inside the library during exit.
 */
#include <locale.h>
#include <pthread.h>
#include <stdio.h>

#include "common/internal.h"

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale = (locale_t)0;

static void make_c_locale(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

locale_t bf__c_locale_enter(void)
{
    pthread_once(&c_locale_once, make_c_locale);
    if (c_locale == (locale_t)0)
        return (locale_t)0;
    return uselocale(c_locale);
}

void bf__c_locale_leave(locale_t previous)
{
    if (previous != (locale_t)0)
        uselocale(previous);
}

int bf__vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
    locale_t previous = bf__c_locale_enter();
    int n = vsnprintf(buf, size, fmt, ap);

    bf__c_locale_leave(previous);
    return n;
}

int bf__snprintf(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = bf__vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}
