/* fuzz_import.c - the import's per-table parsing and validation over
 * arbitrary bytes (the first byte picks the table). */
#include <stdint.h>
#include <stdlib.h>

#include "binday/data/import.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    import_table_t t = (import_table_t)(data[0] % IMPORT_N_TABLES);
    size_t rows = 0;
    size_t n = import_check_buffer(t, "fuzz.csv", data + 1, size - 1, 50, NULL, NULL, &rows);
    if (rows > size)
        abort(); /* more valid rows than bytes is impossible */
    (void)n;
    return 0;
}
