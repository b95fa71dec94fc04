#include "common/json.h"
#include "common/internal.h"

int bf__json_dump(char **out, const json_t *value, size_t flags)
{
    locale_t previous = bf__c_locale_enter();
    size_t size = json_dumpb(value, NULL, 0, flags);
    char *text = NULL;
    int rc = BF_OK;

    *out = NULL;
    if (size == 0)
        rc = bf__nomem();
    else if (!(text = bf__malloc(size + 1)))
        rc = bf__nomem();
    else if (json_dumpb(value, text, size, flags) != size) {
        bf__free(text);
        rc = bf__nomem();
    } else {
        text[size] = '\0';
        *out = text;
    }
    bf__c_locale_leave(previous);
    return rc;
}

json_t *bf__json_loadb(const char *text, size_t len, size_t flags, json_error_t *error)
{
    locale_t previous = bf__c_locale_enter();
    json_t *value = json_loadb(text, len, flags, error);

    bf__c_locale_leave(previous);
    return value;
}

json_t *bf__json_loads(const char *text, size_t flags, json_error_t *error)
{
    locale_t previous = bf__c_locale_enter();
    json_t *value = json_loads(text, flags, error);

    bf__c_locale_leave(previous);
    return value;
}
