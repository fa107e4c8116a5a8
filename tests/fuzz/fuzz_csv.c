/* fuzz_csv.c - the CSV reader over arbitrary bytes: every record's fields must
 * lie inside the input or the reader's scratch, and the reader must always
 * terminate. Also feeds the bank-holiday CSV parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/csv.h"
#include "binday/data/holidays.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    csv_reader_t r;
    if (csv_init(&r, data, size) != 0)
        return 0;
    csv_record_t *rec = malloc(sizeof(*rec));
    char err[200];
    size_t eline, guard = 0;
    int rc;
    while ((rc = csv_next(&r, rec, err, sizeof(err), &eline)) != CSV_EOF) {
        if (rc == CSV_RECORD) {
            for (size_t i = 0; i < rec->n; i++) {
                const char *p = rec->f[i].ptr;
                int in_input = (const uint8_t *)p >= data && (const uint8_t *)p + rec->f[i].len <= data + size;
                int in_scratch = p >= r.scratch && p + rec->f[i].len <= r.scratch + CSV_MAX_RECORD;
                if (!in_input && !in_scratch)
                    abort();
                volatile char sink = 0;
                for (size_t k = 0; k < rec->f[i].len; k++)
                    sink ^= p[k];
                (void)sink;
            }
        }
        if (++guard > size + 2)
            abort(); /* every call consumes input */
    }
    free(rec);
    csv_free(&r);
    holiday_t h[64];
    holidays_parse(data, size, h, 64, err, sizeof(err));
    return 0;
}
