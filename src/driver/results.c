/* The result objects of driver operations: table descriptions, rows, profiles. */
#include <string.h>

#include "common/internal.h"
#include "driver/driver_internal.h"

int bf__value_copy(bf_value *dst, const bf_value *src)
{
    char *bytes;

    *dst = *src;
    if (src->type != BF_VALUE_TEXT && src->type != BF_VALUE_BLOB) {
        dst->s = NULL;
        dst->len = 0;
        return BF_OK;
    }
    if (src->len == SIZE_MAX)
        return bf__nomem();
    bytes = bf__malloc(src->len + 1);
    if (!bytes)
        return bf__nomem();
    if (src->len)
        memcpy(bytes, src->s, src->len);
    bytes[src->len] = '\0';
    dst->s = bytes;
    return BF_OK;
}

void bf__value_dispose(bf_value *value)
{
    if (value->type == BF_VALUE_TEXT || value->type == BF_VALUE_BLOB)
        bf__free((void *)value->s);
    value->type = BF_VALUE_NULL;
    value->s = NULL;
    value->len = 0;
}

static int check_value(const bf_value *value)
{
    if (!value || (unsigned)value->type > BF_VALUE_BLOB)
        return bf__error(BF_E_INVALID, "driver result: a value of unknown type");
    if ((value->type == BF_VALUE_TEXT || value->type == BF_VALUE_BLOB) && value->len && !value->s)
        return bf__error(BF_E_INVALID, "driver result: a text or blob value with no bytes");
    return BF_OK;
}

/* ---- bf_table_info ---- */

int bf__table_info_new(bf_table_info **out)
{
    *out = bf__calloc(1, sizeof **out);
    return *out ? BF_OK : bf__nomem();
}

int bf_table_info_add_column(bf_table_info *info, const char *name, const char *type,
                             size_t pk_position)
{
    struct bf__column col;

    if (!info || !name || !name[0])
        return bf__error(BF_E_INVALID, "table description: a column needs a name");
    if (bf__grow((void **)&info->columns, &info->cap, info->count + 1, sizeof *info->columns))
        return bf__nomem();
    col.name = bf__strdup(name);
    col.type = bf__strdup(type ? type : "");
    col.pk = pk_position;
    col.generated = 0;
    if (!col.name || !col.type) {
        bf__free(col.name);
        bf__free(col.type);
        return bf__nomem();
    }
    info->columns[info->count++] = col;
    return BF_OK;
}

size_t bf_table_info_column_count(const bf_table_info *info)
{
    return info ? info->count : 0;
}

const char *bf_table_info_column_name(const bf_table_info *info, size_t index)
{
    return info && index < info->count ? info->columns[index].name : NULL;
}

const char *bf_table_info_column_type(const bf_table_info *info, size_t index)
{
    return info && index < info->count ? info->columns[index].type : NULL;
}

size_t bf_table_info_column_pk(const bf_table_info *info, size_t index)
{
    return info && index < info->count ? info->columns[index].pk : 0;
}

int bf_table_info_column_generated(const bf_table_info *info, size_t index)
{
    return info && index < info->count ? info->columns[index].generated : 0;
}

int bf_table_info_set_generated(bf_table_info *info, size_t index, int generated)
{
    if (!info || index >= info->count)
        return bf__error(BF_E_NOT_FOUND, "table description: no column %zu", index);
    info->columns[index].generated = generated != 0;
    return BF_OK;
}

void bf_table_info_free(bf_table_info *info)
{
    if (!info)
        return;
    for (size_t i = 0; i < info->count; i++) {
        bf__free(info->columns[i].name);
        bf__free(info->columns[i].type);
    }
    bf__free(info->columns);
    bf__free(info);
}

/* ---- bf_rows ---- */

int bf__rows_new(bf_rows **out, const char *const *names, size_t width)
{
    bf_rows *rows = bf__calloc(1, sizeof *rows);

    *out = NULL;
    if (!rows)
        return bf__nomem();
    rows->names = bf__calloc(width ? width : 1, sizeof *rows->names);
    if (!rows->names) {
        bf__free(rows);
        return bf__nomem();
    }
    rows->width = width;
    for (size_t i = 0; i < width; i++) {
        rows->names[i] = bf__strdup(names[i]);
        if (!rows->names[i]) {
            bf_rows_free(rows);
            return bf__nomem();
        }
    }
    *out = rows;
    return BF_OK;
}

int bf_rows_append(bf_rows *rows, const bf_value *values, size_t count)
{
    bf_value *row;
    size_t cap_cells;

    if (!rows || (count && !values))
        return bf__error(BF_E_INVALID, "rows: NULL argument");
    if (count != rows->width)
        return bf__error(BF_E_INVALID, "rows: a row of %zu values where %zu columns are expected",
                         count, rows->width);
    for (size_t i = 0; i < count; i++)
        if (check_value(&values[i]) != BF_OK)
            return BF_E_INVALID;
    if (rows->width) {
        cap_cells = rows->cap * rows->width;
        if (bf__grow((void **)&rows->cells, &cap_cells, (rows->count + 1) * rows->width,
                     sizeof *rows->cells))
            return bf__nomem();
        rows->cap = cap_cells / rows->width;
    }
    row = rows->cells + rows->count * rows->width;
    for (size_t i = 0; i < count; i++) {
        if (bf__value_copy(&row[i], &values[i]) != BF_OK) {
            while (i-- > 0)
                bf__value_dispose(&row[i]);
            return BF_E_NOMEM;
        }
    }
    rows->count++;
    return BF_OK;
}

size_t bf_rows_count(const bf_rows *rows)
{
    return rows ? rows->count : 0;
}

size_t bf_rows_width(const bf_rows *rows)
{
    return rows ? rows->width : 0;
}

const char *bf_rows_column(const bf_rows *rows, size_t index)
{
    return rows && index < rows->width ? rows->names[index] : NULL;
}

int bf_rows_value(bf_value *out, const bf_rows *rows, size_t row, size_t column)
{
    if (!rows || !out)
        return bf__error(BF_E_INVALID, "rows: NULL argument");
    if (row >= rows->count || column >= rows->width)
        return bf__error(BF_E_NOT_FOUND, "rows: no value at row %zu, column %zu", row, column);
    *out = rows->cells[row * rows->width + column];
    return BF_OK;
}

void bf_rows_free(bf_rows *rows)
{
    if (!rows)
        return;
    for (size_t i = 0; i < rows->count * rows->width; i++)
        bf__value_dispose(&rows->cells[i]);
    for (size_t i = 0; i < rows->width; i++)
        bf__free(rows->names[i]);
    bf__free(rows->names);
    bf__free(rows->cells);
    bf__free(rows);
}

/* ---- bf_profile ---- */

int bf__profile_new(bf_profile **out, const bf_profile_spec *spec)
{
    bf_profile *p = bf__calloc(1, sizeof *p);

    *out = NULL;
    if (!p)
        return bf__nomem();
    p->null_count = spec->null_count;
    p->sum_count = spec->sum_count;
    p->minmax_count = spec->minmax_count;
    p->nulls = bf__calloc(spec->null_count + 1, sizeof *p->nulls);
    p->sums = bf__calloc(spec->sum_count + 1, sizeof *p->sums);
    p->mins = bf__calloc(spec->minmax_count + 1, sizeof *p->mins);
    p->maxs = bf__calloc(spec->minmax_count + 1, sizeof *p->maxs);
    if (!p->nulls || !p->sums || !p->mins || !p->maxs) {
        bf_profile_free(p);
        return bf__nomem();
    }
    *out = p;
    return BF_OK;
}

void bf_profile_free(bf_profile *profile)
{
    if (!profile)
        return;
    for (size_t i = 0; profile->sums && i < profile->sum_count; i++)
        bf__value_dispose(&profile->sums[i]);
    for (size_t i = 0; profile->mins && i < profile->minmax_count; i++)
        bf__value_dispose(&profile->mins[i]);
    for (size_t i = 0; profile->maxs && i < profile->minmax_count; i++)
        bf__value_dispose(&profile->maxs[i]);
    bf__free(profile->nulls);
    bf__free(profile->sums);
    bf__free(profile->mins);
    bf__free(profile->maxs);
    bf__free(profile);
}

int bf_profile_set_rows(bf_profile *profile, int64_t rows)
{
    if (!profile)
        return bf__error(BF_E_INVALID, "profile: NULL argument");
    profile->rows = rows;
    return BF_OK;
}

int bf_profile_set_nulls(bf_profile *profile, size_t index, int64_t nulls)
{
    if (!profile || index >= profile->null_count)
        return bf__error(BF_E_INVALID, "profile: no null count %zu", index);
    profile->nulls[index] = nulls;
    return BF_OK;
}

/* Replace *slot with a copy of value. */
static int set_value(bf_value *slot, const bf_value *value)
{
    bf_value copy;

    if (check_value(value) != BF_OK)
        return BF_E_INVALID;
    if (bf__value_copy(&copy, value) != BF_OK)
        return BF_E_NOMEM;
    bf__value_dispose(slot);
    *slot = copy;
    return BF_OK;
}

int bf_profile_set_sum(bf_profile *profile, size_t index, const bf_value *value)
{
    if (!profile || index >= profile->sum_count)
        return bf__error(BF_E_INVALID, "profile: no sum %zu", index);
    return set_value(&profile->sums[index], value);
}

int bf_profile_set_min(bf_profile *profile, size_t index, const bf_value *value)
{
    if (!profile || index >= profile->minmax_count)
        return bf__error(BF_E_INVALID, "profile: no minimum %zu", index);
    return set_value(&profile->mins[index], value);
}

int bf_profile_set_max(bf_profile *profile, size_t index, const bf_value *value)
{
    if (!profile || index >= profile->minmax_count)
        return bf__error(BF_E_INVALID, "profile: no maximum %zu", index);
    return set_value(&profile->maxs[index], value);
}

int bf_profile_set_fingerprint(bf_profile *profile, const bf_fingerprint *fp)
{
    if (!profile || !fp)
        return bf__error(BF_E_INVALID, "profile: NULL argument");
    profile->fingerprint = *fp;
    profile->has_fingerprint = 1;
    return BF_OK;
}

int64_t bf_profile_rows(const bf_profile *profile)
{
    return profile ? profile->rows : 0;
}

int64_t bf_profile_nulls(const bf_profile *profile, size_t index)
{
    return profile && index < profile->null_count ? profile->nulls[index] : -1;
}

static int get_value(const bf_value *array, size_t count, size_t index, bf_value *out,
                     const char *what)
{
    if (!out)
        return bf__error(BF_E_INVALID, "profile: NULL argument");
    if (!array || index >= count)
        return bf__error(BF_E_NOT_FOUND, "profile: no %s %zu", what, index);
    *out = array[index];
    return BF_OK;
}

int bf_profile_sum(bf_value *out, const bf_profile *profile, size_t index)
{
    return get_value(profile ? profile->sums : NULL, profile ? profile->sum_count : 0, index, out,
                     "sum");
}

int bf_profile_min(bf_value *out, const bf_profile *profile, size_t index)
{
    return get_value(profile ? profile->mins : NULL, profile ? profile->minmax_count : 0, index,
                     out, "minimum");
}

int bf_profile_max(bf_value *out, const bf_profile *profile, size_t index)
{
    return get_value(profile ? profile->maxs : NULL, profile ? profile->minmax_count : 0, index,
                     out, "maximum");
}

int bf_profile_fingerprint(bf_fingerprint *out, const bf_profile *profile)
{
    if (!profile || !out)
        return bf__error(BF_E_INVALID, "profile: NULL argument");
    if (!profile->has_fingerprint)
        return bf__error(BF_E_NOT_FOUND, "profile: no fingerprint was asked for");
    *out = profile->fingerprint;
    return BF_OK;
}
