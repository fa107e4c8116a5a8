/* csv.c - owns CSV syntax (RFC 4180 plus the usual real-world tolerances:
 * BOM, LF-only and CR-only line ends). Meaning of columns belongs to import.c.
 *
 * The scanner is a single pass with memchr-free byte loops; unquoted fields are
 * returned as slices of the input so the common case copies nothing (import
 * speed matters at a million properties).
 */
#include "binday/data/csv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "binday/util/xalloc.h"

int csv_init(csv_reader_t *r, const uint8_t *data, size_t len)
{
    r->p = data;
    r->end = data + len;
    r->line = 1;
    if (len >= 3 && data[0] == 0xEF && data[1] == 0xBB && data[2] == 0xBF)
        r->p += 3;
    r->scratch = xmalloc(CSV_MAX_RECORD);
    return 0;
}

void csv_free(csv_reader_t *r)
{
    free(r->scratch);
    r->scratch = NULL;
}

/* Skip to just after the next line end (for resynchronising after an error). */
static void skip_line(csv_reader_t *r)
{
    while (r->p < r->end) {
        uint8_t c = *r->p++;
        if (c == '\n') {
            r->line++;
            return;
        }
        if (c == '\r') {
            if (r->p < r->end && *r->p == '\n')
                r->p++;
            r->line++;
            return;
        }
    }
}

int csv_next(csv_reader_t *r, csv_record_t *rec, char *err, size_t err_size, size_t *err_line)
{
    /* blank lines between records are not records */
    while (r->p < r->end && (*r->p == '\n' || *r->p == '\r')) {
        if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
            r->p++;
        r->p++;
        r->line++;
    }
    if (r->p >= r->end)
        return CSV_EOF;
    rec->n = 0;
    rec->line = r->line;
    size_t used = 0; /* scratch bytes */
    for (;;) {
        if (rec->n == CSV_MAX_FIELDS) {
            snprintf(err, err_size, "more than %d fields in one record", CSV_MAX_FIELDS);
            *err_line = r->line;
            skip_line(r);
            return CSV_ERROR;
        }
        csv_field_t *f = &rec->f[rec->n++];
        f->quoted = 0;
        if (r->p < r->end && *r->p == '"') {
            size_t qline = r->line;
            const uint8_t *start = ++r->p;
            int copied = 0;
            char *dst = r->scratch + used;
            size_t dlen = 0;
            f->quoted = 1;
            for (;;) {
                if (r->p >= r->end) {
                    snprintf(err, err_size, "unterminated quoted field (opened on line %zu)",
                             qline);
                    *err_line = qline;
                    return CSV_ERROR;
                }
                uint8_t c = *r->p;
                if (c == '"') {
                    if (r->p + 1 < r->end && r->p[1] == '"') {
                        /* doubled quote: from here on the field needs a copy */
                        if (!copied) {
                            size_t n = (size_t)(r->p - start);
                            if (used + n + 1 > CSV_MAX_RECORD)
                                goto too_long;
                            memcpy(dst, start, n);
                            dlen = n;
                            copied = 1;
                        }
                        if (used + dlen + 1 > CSV_MAX_RECORD)
                            goto too_long;
                        dst[dlen++] = '"';
                        r->p += 2;
                        continue;
                    }
                    break;
                }
                if (c == '\n' || (c == '\r' && !(r->p + 1 < r->end && r->p[1] == '\n')))
                    r->line++;
                if (copied) {
                    if (used + dlen + 1 > CSV_MAX_RECORD)
                        goto too_long;
                    dst[dlen++] = (char)c;
                }
                r->p++;
            }
            if (copied) {
                f->ptr = dst;
                f->len = dlen;
                used += dlen;
            } else {
                f->ptr = (const char *)start;
                f->len = (size_t)(r->p - start);
                if (f->len > CSV_MAX_RECORD)
                    goto too_long;
            }
            r->p++; /* closing quote */
            if (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
                snprintf(err, err_size,
                         "unexpected character after closing quote (a quote inside a quoted "
                         "field must be doubled)");
                *err_line = r->line;
                skip_line(r);
                return CSV_ERROR;
            }
        } else {
            const uint8_t *start = r->p;
            while (r->p < r->end && *r->p != ',' && *r->p != '\n' && *r->p != '\r') {
                if (*r->p == '"') {
                    snprintf(err, err_size,
                             "quote inside an unquoted field (quote the whole field and "
                             "double the quote)");
                    *err_line = r->line;
                    skip_line(r);
                    return CSV_ERROR;
                }
                r->p++;
            }
            f->ptr = (const char *)start;
            f->len = (size_t)(r->p - start);
            if (f->len > CSV_MAX_RECORD)
                goto too_long;
        }
        if (r->p >= r->end)
            return CSV_RECORD;
        if (*r->p == ',') {
            r->p++;
            continue;
        }
        /* line end */
        if (*r->p == '\r' && r->p + 1 < r->end && r->p[1] == '\n')
            r->p++;
        r->p++;
        r->line++;
        return CSV_RECORD;
    }
too_long:
    snprintf(err, err_size, "record longer than %d bytes", CSV_MAX_RECORD);
    *err_line = rec->line;
    /* resynchronise at the next line end outside this record's text */
    skip_line(r);
    return CSV_ERROR;
}
