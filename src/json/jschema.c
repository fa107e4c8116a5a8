/* jschema.c - owns validation of JSON documents against binday's JSON Schemas. */
#include "binday/json/jschema.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static const char *type_name(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "object";
    case JSON_ARRAY:
        return "array";
    case JSON_STRING:
        return "string";
    case JSON_INTEGER:
        return "integer";
    case JSON_REAL:
        return "number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

static int type_matches(const char *want, const json_t *v)
{
    if (strcmp(want, "number") == 0)
        return json_is_number(v);
    if (strcmp(want, "integer") == 0)
        return json_is_integer(v) || (json_is_real(v) && floor(json_real_value(v)) == json_real_value(v));
    return strcmp(want, type_name(v)) == 0;
}

static size_t utf8_length(const char *s, size_t n)
{
    size_t cps = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            cps++;
    return cps;
}

/* Append a JSON Pointer segment (escaping ~ and /) to path. */
static void path_push(char *path, size_t size, const char *seg)
{
    size_t n = strlen(path);
    if (n + 2 >= size)
        return;
    path[n++] = '/';
    for (const char *p = seg; *p && n + 3 < size; p++) {
        if (*p == '~' || *p == '/') {
            path[n++] = '~';
            path[n++] = *p == '~' ? '0' : '1';
        } else {
            path[n++] = *p;
        }
    }
    path[n] = 0;
}

static int fail(char *err, size_t err_size, const char *path, const char *msg)
{
    snprintf(err, err_size, "%s: %s", path[0] ? path : "(top level)", msg);
    return -1;
}

static int validate(const json_t *schema, const json_t *doc, char *path, size_t path_size, char *err,
                    size_t err_size)
{
    char msg[256];
    if (!json_is_object(schema))
        return 0;
    const json_t *t = json_object_get(schema, "type");
    if (json_is_string(t) && !type_matches(json_string_value(t), doc)) {
        snprintf(msg, sizeof(msg), "must be %s %s, not %s",
                 strchr("aeiou", json_string_value(t)[0]) ? "an" : "a", json_string_value(t), type_name(doc));
        return fail(err, err_size, path, msg);
    }
    if (json_is_array(t)) {
        int okk = 0;
        size_t i;
        json_t *e;
        json_array_foreach(t, i, e)
        {
            if (json_is_string(e) && type_matches(json_string_value(e), doc))
                okk = 1;
        }
        if (!okk)
            return fail(err, err_size, path, "has the wrong type");
    }
    const json_t *en = json_object_get(schema, "enum");
    if (json_is_array(en)) {
        int found = 0;
        size_t i;
        json_t *e;
        json_array_foreach(en, i, e)
        {
            if (json_equal(e, (json_t *)doc))
                found = 1;
        }
        if (!found) {
            char *alts = json_dumps(en, JSON_COMPACT);
            snprintf(msg, sizeof(msg), "must be one of %.200s", alts ? alts : "the allowed values");
            free(alts);
            return fail(err, err_size, path, msg);
        }
    }
    const json_t *cn = json_object_get(schema, "const");
    if (cn != NULL && !json_equal((json_t *)cn, (json_t *)doc))
        return fail(err, err_size, path, "has a value that is not allowed");
    if (json_is_number(doc)) {
        double v = json_number_value(doc);
        const json_t *mn = json_object_get(schema, "minimum"), *mx = json_object_get(schema, "maximum");
        if (json_is_number(mn) && v < json_number_value(mn)) {
            snprintf(msg, sizeof(msg), "must be at least %g", json_number_value(mn));
            return fail(err, err_size, path, msg);
        }
        if (json_is_number(mx) && v > json_number_value(mx)) {
            snprintf(msg, sizeof(msg), "must be at most %g", json_number_value(mx));
            return fail(err, err_size, path, msg);
        }
    }
    if (json_is_string(doc)) {
        size_t len = utf8_length(json_string_value(doc), json_string_length(doc));
        const json_t *mn = json_object_get(schema, "minLength"), *mx = json_object_get(schema, "maxLength");
        if (json_is_integer(mn) && (json_int_t)len < json_integer_value(mn)) {
            snprintf(msg, sizeof(msg), "must be at least %lld characters long", (long long)json_integer_value(mn));
            return fail(err, err_size, path, msg);
        }
        if (json_is_integer(mx) && (json_int_t)len > json_integer_value(mx)) {
            snprintf(msg, sizeof(msg), "must be at most %lld characters long", (long long)json_integer_value(mx));
            return fail(err, err_size, path, msg);
        }
    }
    if (json_is_array(doc)) {
        size_t n = json_array_size(doc);
        const json_t *mn = json_object_get(schema, "minItems"), *mx = json_object_get(schema, "maxItems");
        if (json_is_integer(mn) && (json_int_t)n < json_integer_value(mn)) {
            snprintf(msg, sizeof(msg), "must have at least %lld item(s)", (long long)json_integer_value(mn));
            return fail(err, err_size, path, msg);
        }
        if (json_is_integer(mx) && (json_int_t)n > json_integer_value(mx)) {
            snprintf(msg, sizeof(msg), "must have at most %lld item(s)", (long long)json_integer_value(mx));
            return fail(err, err_size, path, msg);
        }
        const json_t *items = json_object_get(schema, "items");
        size_t i;
        json_t *e;
        json_array_foreach(doc, i, e)
        {
            size_t plen = strlen(path);
            char idx[24];
            snprintf(idx, sizeof(idx), "%zu", i);
            path_push(path, path_size, idx);
            int r = validate(items, e, path, path_size, err, err_size);
            path[plen] = 0;
            if (r)
                return r;
        }
    }
    if (json_is_object(doc)) {
        const json_t *props = json_object_get(schema, "properties");
        const json_t *addl = json_object_get(schema, "additionalProperties");
        const json_t *req = json_object_get(schema, "required");
        size_t i;
        json_t *e;
        json_array_foreach(req, i, e)
        {
            if (json_is_string(e) && json_object_get(doc, json_string_value(e)) == NULL) {
                snprintf(msg, sizeof(msg), "missing required key \"%.100s\"", json_string_value(e));
                return fail(err, err_size, path, msg);
            }
        }
        const char *key;
        json_t *val;
        json_object_foreach((json_t *)doc, key, val)
        {
            const json_t *sub = json_object_get(props, key);
            size_t plen = strlen(path);
            path_push(path, path_size, key);
            int r = 0;
            if (sub != NULL)
                r = validate(sub, val, path, path_size, err, err_size);
            else if (json_is_false(addl))
                r = fail(err, err_size, path, "unknown key");
            else if (json_is_object(addl))
                r = validate(addl, val, path, path_size, err, err_size);
            path[plen] = 0;
            if (r)
                return r;
        }
    }
    return 0;
}

int jschema_validate(const json_t *schema, const json_t *doc, char *err, size_t err_size)
{
    char path[512] = "";
    if (doc == NULL)
        return fail(err, err_size, path, "no document");
    return validate(schema, doc, path, sizeof(path), err, err_size);
}
