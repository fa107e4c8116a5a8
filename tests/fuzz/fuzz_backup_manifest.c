/* fuzz_backup_manifest.c - libFuzzer target for a backup's manifest line
 * (privacy/backup.h): never crashes, and whatever it accepts is a manifest
 * restore can trust: names safe to create in a directory, data.mdb once. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/privacy/backup.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    backup_manifest_t m;
    char err[200];
    if (backup_manifest_parse(data, size, &m, err, sizeof(err)) != 0)
        return 0;
    int dm = 0;
    if (m.n_files == 0 || m.n_files > BACKUP_MAX_FILES)
        abort();
    for (size_t i = 0; i < m.n_files; i++) {
        const char *n = m.files[i].name;
        if (n[0] == '\0' || n[0] == '.' || strchr(n, '/') != NULL || strlen(n) > BACKUP_NAME_MAX)
            abort();
        dm += strcmp(n, "data.mdb") == 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(m.files[j].name, n) == 0)
                abort();
    }
    if (dm != 1)
        abort();
    return 0;
}
