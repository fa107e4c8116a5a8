/* csv.h - an RFC 4180 CSV record iterator over an untrusted byte buffer.
 *
 * Pure: works on (const uint8_t *, size_t) and never reads past it. Accepts a
 * leading UTF-8 BOM, CRLF or LF line ends (a lone CR is also a line end),
 * quoted fields with embedded commas, doubled quotes and newlines. Fields that
 * need unescaping are copied into the reader's scratch buffer; all others point
 * into the input. Field pointers stay valid until the next csv_next call.
 * Lines are 1-based physical lines of the input; a record's `line` is the line
 * it starts on. After a syntax error the reader resynchronises at the next line
 * end, so callers can report every broken record.
 */
#ifndef BINDAY_CSV_H
#define BINDAY_CSV_H

#include <stddef.h>
#include <stdint.h>

#define CSV_MAX_FIELDS 64
#define CSV_MAX_RECORD (64 * 1024) /* unescaped bytes of one record */

typedef struct csv_field {
    const char *ptr; /* not NUL-terminated */
    size_t len;
    int quoted;      /* the field was written in quotes */
} csv_field_t;

typedef struct csv_record {
    csv_field_t f[CSV_MAX_FIELDS];
    size_t n;      /* number of fields (>= 1) */
    size_t line;   /* line the record starts on */
} csv_record_t;

typedef struct csv_reader {
    const uint8_t *p, *end;
    size_t line;
    char *scratch; /* CSV_MAX_RECORD bytes, owned */
} csv_reader_t;

/* Returns 0 (out of memory aborts, xalloc.h; the int stays for callers).
 * Skips a UTF-8 BOM. */
int csv_init(csv_reader_t *r, const uint8_t *data, size_t len);
void csv_free(csv_reader_t *r);

enum { CSV_EOF = 0, CSV_RECORD = 1, CSV_ERROR = -1 };
/* Next record: CSV_RECORD (rec filled), CSV_EOF, or CSV_ERROR with a message
 * in err and the line of the problem in *err_line. Blank lines are skipped. */
int csv_next(csv_reader_t *r, csv_record_t *rec, char *err, size_t err_size, size_t *err_line);

#endif
