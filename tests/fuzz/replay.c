/*
 * Runs a fuzz target over files and directories of inputs without libFuzzer,
 * so the seed corpora run in every test build.
 * usage: replay PATH...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;

    if (!f) {
        perror(path);
        return 1;
    }
    do {
        if (len == cap) {
            unsigned char *grown = realloc(buf, cap ? cap * 2 : 4096);

            if (!grown) {
                fclose(f);
                free(buf);
                return 1;
            }
            buf = grown;
            cap = cap ? cap * 2 : 4096;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
    } while (n > 0);
    fclose(f);
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 0;
}

int main(int argc, char **argv)
{
    int count = 0, failed = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;

        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            return 1;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            struct dirent *e;

            while (d && (e = readdir(d))) {
                char path[4096];

                if (e->d_name[0] == '.')
                    continue;
                snprintf(path, sizeof path, "%s/%s", argv[i], e->d_name);
                failed |= replay_file(path);
                count++;
            }
            if (d)
                closedir(d);
        } else {
            failed |= replay_file(argv[i]);
            count++;
        }
    }
    printf("1..1\n%s 1 - replayed %d inputs\n", failed || count == 0 ? "not ok" : "ok", count);
    return failed || count == 0;
}
