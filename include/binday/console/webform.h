/* webform.h - the staff console's parsers of untrusted request bytes: HTML form
 * bodies (urlencoded and multipart form-data) and the
 * Cookie header. Pure functions of their input: no I/O, no globals.
 *
 * A webform_t owns one arena holding every decoded name and value (each
 * NUL-terminated after its length); webform_free releases it. The input may be
 * freed once parsing returns.
 */
#ifndef BINDAY_WEBFORM_H
#define BINDAY_WEBFORM_H

#include <stddef.h>
#include <stdint.h>

#define WEBFORM_MAX_FIELDS 64   /* more fields: the form is refused */
#define WEBFORM_MAX_NAME 64     /* longer field names: refused */
#define WEBFORM_MAX_BOUNDARY 70 /* RFC 2046 */

typedef struct webform_field {
    const char *name; /* UTF-8, no NUL inside */
    size_t name_len;
    const char *value; /* urlencoded: UTF-8 without NUL; multipart: any bytes */
    size_t value_len;
    const char *filename; /* multipart file parts only (may be ""); else NULL */
} webform_field_t;

typedef struct webform {
    webform_field_t fields[WEBFORM_MAX_FIELDS];
    size_t n;
    char *arena; /* owned */
} webform_t;

/* Parse an application/x-www-form-urlencoded body ("a=1&b=x+y%21"). Empty
 * pieces are skipped; a piece without '=' has an empty value. Returns 0, or
 * -1 (form emptied) on a bad %-escape, a name or value that is not UTF-8 or
 * holds NUL or a control other than TAB/CR/LF, an over-long name, or too many
 * fields. */
int webform_parse_urlencoded(const uint8_t *body, size_t len, webform_t *out);

/* The boundary parameter of a multipart form-data Content-Type (quoted or
 * not) into dst (WEBFORM_MAX_BOUNDARY + 1 bytes). 0, or -1 when the type is
 * not multipart/form-data or has no valid boundary. */
int webform_multipart_boundary(const uint8_t *ctype, size_t len, char *dst);

/* Parse a multipart/form-data body with the given boundary. Each part needs
 * Content-Disposition: form-data; name="..." (filename="..." optional). Part
 * values are kept as bytes (a file may hold anything); names and filenames
 * must be UTF-8. Returns 0 or -1 (form emptied) on any framing error. */
int webform_parse_multipart(const uint8_t *body, size_t len, const char *boundary, webform_t *out);

/* The first field called `name`, or NULL. */
const webform_field_t *webform_get(const webform_t *f, const char *name);
void webform_free(webform_t *f);

/* The value of cookie `name` in a Cookie header ("a=1; b=2"): 0 with
 * val and val_len pointing into hdr, or -1 when absent. Only the first
 * occurrence counts. Values are not decoded. */
int webform_cookie(const uint8_t *hdr, size_t len, const char *name, const uint8_t **val, size_t *val_len);

#endif
