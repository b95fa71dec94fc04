/* The median of a benchmark's rounds, shared by the benchmarks that time rounds in turn. */
#ifndef BF_BENCH_MEDIAN_H
#define BF_BENCH_MEDIAN_H

#include <stdlib.h>

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

/* The median of n values (n odd), which it sorts. */
static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, bench_cmp_double);
    return v[n / 2];
}

#endif
