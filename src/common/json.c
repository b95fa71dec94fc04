#include "common/json.h"
#include "common/internal.h"

int bf__json_dump(char **out, const json_t *value, size_t flags)
{
    size_t size = json_dumpb(value, NULL, 0, flags);
    char *text;

    *out = NULL;
    if (size == 0)
        return bf__nomem();
    text = bf__malloc(size + 1);
    if (!text)
        return bf__nomem();
    if (json_dumpb(value, text, size, flags) != size) {
        bf__free(text);
        return bf__nomem();
    }
    text[size] = '\0';
    *out = text;
    return BF_OK;
}
