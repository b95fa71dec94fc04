/* backfill fingerprint TABLE --warehouse DB [--columns a,b]: a table's fingerprint, by hand. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Split "a,b,c" in place into names; returns their number or -1 for an empty name. */
static int split_columns(char *list, char ***out)
{
    size_t n = 1;
    char **names;

    for (const char *p = list; *p; p++)
        n += *p == ',';
    names = calloc(n, sizeof *names);
    if (!names)
        return -1;
    for (size_t i = 0; i < n; i++) {
        names[i] = list;
        list = strchr(list, ',');
        if (list)
            *list++ = '\0';
        if (!names[i][0]) {
            free(names);
            return -1;
        }
    }
    *out = names;
    return (int)n;
}

int cmd_fingerprint(int argc, char **argv)
{
    const char *table = NULL, *warehouse = NULL, *columns = NULL;
    char **names = NULL;
    char text[BF_FINGERPRINT_TEXT_SIZE];
    bf_fingerprint fp;
    bf_driver *d;
    int count = 0, rc;

    warehouse = cli_opt("warehouse");
    columns = cli_opt("columns");
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1])
            return cli_fail(EXIT_USAGE, "fingerprint: unknown option '%s' (usage: backfill %s)",
                            argv[i], cli_usage());
        else if (!table)
            table = argv[i];
        else
            return cli_fail(EXIT_USAGE, "fingerprint: one table only ('%s' is extra)", argv[i]);
    }
    if (!table || !warehouse)
        return cli_fail(EXIT_USAGE, "fingerprint: %s (usage: backfill %s)",
                        table ? "--warehouse DB is required" : "which table?", cli_usage());
    /* The list is split in place: it is an argv string, which is writable. */
    if (columns && (count = split_columns((char *)columns, &names)) < 0)
        return cli_fail(EXIT_USAGE, "fingerprint: --columns needs names separated by commas");
    rc = bf_driver_open_sqlite(&d, warehouse, 0);
    if (rc != BF_OK) {
        free(names);
        return cli_fail_bf(rc, NULL);
    }
    rc = bf_driver_fingerprint(&fp, d, table, (const char *const *)names, (size_t)count, NULL,
                               NULL);
    free(names);
    if (rc != BF_OK) {
        rc = cli_fail_code(rc, cli_exit_for(rc), "%s", bf_driver_last_error(d));
        bf_driver_free(d);
        return rc;
    }
    bf_driver_free(d);
    bf_fingerprint_format(text, sizeof text, &fp);
    if (cli_json) {
        cli_print_json(json_pack("{s:s, s:I, s:s, s:s}", "table", table, "rows",
                                 (json_int_t)fp.rows, "sum", strchr(text, ':') + 1,
                                 "fingerprint", text));
        return EXIT_DONE;
    }
    printf("%s\n", text);
    return EXIT_DONE;
}
