module libbackfill.org/backfill

go 1.19
