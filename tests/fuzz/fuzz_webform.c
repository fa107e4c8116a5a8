/* fuzz_webform.c - libFuzzer target for the console's parsers (webform.h):
 * urlencoded and multipart bodies, the multipart boundary and the Cookie
 * header never crash or read out of bounds, and every accepted field lies
 * within its limits. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "binday/console/webform.h"

static void check(const webform_t *f)
{
    if (f->n > WEBFORM_MAX_FIELDS)
        abort();
    for (size_t i = 0; i < f->n; i++)
        if (f->fields[i].name_len == 0 && f->fields[i].value == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 65536)
        return 0;
    webform_t f;
    if (webform_parse_urlencoded(data, size, &f) == 0)
        check(&f);
    webform_free(&f);
    char b[WEBFORM_MAX_BOUNDARY + 1];
    /* the first line is a Content-Type, the rest a multipart body */
    const uint8_t *nl = memchr(data, '\n', size);
    size_t hl = nl ? (size_t)(nl - data) : size;
    if (webform_multipart_boundary(data, hl, b) == 0 && nl != NULL) {
        if (webform_parse_multipart(nl + 1, size - hl - 1, b, &f) == 0)
            check(&f);
        webform_free(&f);
    }
    if (webform_parse_multipart(data, size, "XX", &f) == 0)
        check(&f);
    webform_free(&f);
    const uint8_t *v;
    size_t vl;
    if (webform_cookie(data, size, "binday_staff", &v, &vl) == 0 && (v < data || v + vl > data + size))
        abort();
    return 0;
}
