/* jsonload_diff.h - the differential oracle shared by test_jsonload.c and
 * tests/fuzz/fuzz_jsonload.c: parse the same bytes with jansson's json_loadb
 * and with jsonload, and say how they disagree (NULL when they agree).
 * Agreement means: both reject, or both accept with trees of the same shape
 * where every node has the same type (integer vs real), strings are byte-equal,
 * reals are bit-equal, objects hold the same keys in the same order, and
 * json_equal agrees. */
#ifndef BINDAY_JSONLOAD_DIFF_H
#define BINDAY_JSONLOAD_DIFF_H

#include <jansson.h>
#include <stdint.h>
#include <string.h>

#include "binday/json/jsonload.h"

static int jld_same(const json_t *a, const json_t *b)
{
    if (json_typeof(a) != json_typeof(b))
        return 0;
    switch (json_typeof(a)) {
    case JSON_OBJECT: {
        if (json_object_size(a) != json_object_size(b))
            return 0;
        /* insertion order too: jansson keeps it, and dumps follow it */
        void *ia = json_object_iter((json_t *)a), *ib = json_object_iter((json_t *)b);
        while (ia != NULL && ib != NULL) {
            size_t la = json_object_iter_key_len(ia), lb = json_object_iter_key_len(ib);
            if (la != lb || memcmp(json_object_iter_key(ia), json_object_iter_key(ib), la) != 0)
                return 0;
            if (!jld_same(json_object_iter_value(ia), json_object_iter_value(ib)))
                return 0;
            ia = json_object_iter_next((json_t *)a, ia);
            ib = json_object_iter_next((json_t *)b, ib);
        }
        return ia == NULL && ib == NULL;
    }
    case JSON_ARRAY:
        if (json_array_size(a) != json_array_size(b))
            return 0;
        for (size_t i = 0; i < json_array_size(a); i++)
            if (!jld_same(json_array_get(a, i), json_array_get(b, i)))
                return 0;
        return 1;
    case JSON_STRING:
        return json_string_length(a) == json_string_length(b) &&
               memcmp(json_string_value(a), json_string_value(b), json_string_length(a)) == 0;
    case JSON_INTEGER:
        return json_integer_value(a) == json_integer_value(b);
    case JSON_REAL: {
        double x = json_real_value(a), y = json_real_value(b);
        return memcmp(&x, &y, sizeof(x)) == 0;
    }
    default:
        return 1; /* true, false, null: the type is the value */
    }
}

/* NULL when json_loadb and jsonload agree on data[0..size) with these flags,
 * else what differs. *accepted (if not NULL) says whether jansson accepted. */
static const char *jld_diff(const uint8_t *data, size_t size, size_t flags, int *accepted)
{
    json_error_t ea, eb;
    json_t *a = json_loadb((const char *)data, size, flags, &ea);
    json_t *b = jsonload(data, size, flags, &eb);
    const char *why = NULL;
    if (a == NULL && b != NULL)
        why = "jansson rejects, jsonload accepts";
    else if (a != NULL && b == NULL)
        why = "jansson accepts, jsonload rejects";
    else if (a != NULL && (!jld_same(a, b) || !json_equal(a, b)))
        why = "trees differ";
    else if (a == NULL && (eb.text[0] == '\0' || eb.position < 0 || (size_t)eb.position > size))
        why = "rejected without an error text and position";
    if (accepted != NULL)
        *accepted = a != NULL;
    json_decref(a);
    json_decref(b);
    return why;
}

static const size_t jld_flag_sets[3] = {0, JSON_REJECT_DUPLICATES, JSON_DECODE_ANY};

#endif
