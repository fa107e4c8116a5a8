/* envelope.c - owns the pre-trust envelope parse (type, timestamp, skill id),
 * ISO 8601 timestamp parsing and the request-age window. */
#include "binday/alexa/envelope.h"

#include "binday/util/date.h"
#include "binday/json/jsonload.h"

#include <string.h>

static const char event_prefix[] = "AlexaSkillEvent.";

static const char *get_str(json_t *obj, const char *key, size_t *len)
{
    json_t *v = json_object_get(obj, key);
    if (!json_is_string(v))
        return NULL;
    *len = json_string_length(v);
    return json_string_value(v);
}

verify_status_t envelope_parse(const uint8_t *body, size_t len, envelope_t *env)
{
    memset(env, 0, sizeof(*env));
    if (body == NULL || len == 0 || len > ENVELOPE_MAX_BYTES)
        return VERIFY_E_BAD_ENVELOPE;
    json_error_t jerr;
    /* Duplicate keys would let two JSON readers disagree on which value was
     * signed; Amazon never sends them. "\u0000" is rejected (as jansson does).
     * jsonload builds the same tree as json_loadb, several times faster
     * (docs/jsonload.md): this parse was a fifth of the server's work. */
    json_t *root = jsonload(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL)
        return VERIFY_E_BAD_ENVELOPE;
    if (!json_is_object(root))
        goto bad;
    json_t *req = json_object_get(root, "request");
    if (!json_is_object(req))
        goto bad;
    env->type = get_str(req, "type", &env->type_len);
    if (env->type == NULL || env->type_len == 0)
        goto bad;
    env->timestamp = get_str(req, "timestamp", &env->timestamp_len);

    /* applicationId: context.System.application (all requests, including
     * skill events) or session.application (session requests). */
    size_t l1 = 0, l2 = 0;
    const char *a1 = NULL, *a2 = NULL;
    json_t *sys = json_object_get(json_object_get(root, "context"), "System");
    if (json_is_object(sys))
        a1 = get_str(json_object_get(sys, "application"), "applicationId", &l1);
    json_t *sess = json_object_get(root, "session");
    if (json_is_object(sess))
        a2 = get_str(json_object_get(sess, "application"), "applicationId", &l2);
    if (a1 != NULL && a2 != NULL && (l1 != l2 || memcmp(a1, a2, l1) != 0)) {
        json_decref(root);
        memset(env, 0, sizeof(*env));
        return VERIFY_E_WRONG_SKILL;
    }
    env->app_id = a1 ? a1 : a2;
    env->app_id_len = a1 ? l1 : l2;
    env->root = root;
    return VERIFY_OK;
bad:
    json_decref(root);
    memset(env, 0, sizeof(*env));
    return VERIFY_E_BAD_ENVELOPE;
}

static int digits(const uint8_t *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return 0;
}

int envelope_parse_timestamp(const uint8_t *s, size_t len, int64_t *ms)
{
    /* 0123456789012345678 9
     * YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z */
    if (s == NULL || len < 20 || len > 30)
        return -1;
    if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return -1;
    int Y, M, D, h, m, sec;
    if (digits(s, 4, &Y) || digits(s + 5, 2, &M) || digits(s + 8, 2, &D) || digits(s + 11, 2, &h) ||
        digits(s + 14, 2, &m) || digits(s + 17, 2, &sec))
        return -1;
    size_t i = 19;
    int frac_ms = 0;
    if (s[i] == '.') {
        i++;
        size_t f0 = i;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            i++;
        size_t nf = i - f0;
        if (nf == 0 || nf > 9)
            return -1;
        for (size_t k = 0; k < 3; k++)
            frac_ms = frac_ms * 10 + (k < nf ? s[f0 + k] - '0' : 0);
    }
    if (i + 1 != len || s[i] != 'Z')
        return -1;
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (Y < 1970 || M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 59)
        return -1;
    int leap = (Y % 4 == 0 && Y % 100 != 0) || Y % 400 == 0;
    if (D > mdays[M - 1] + (M == 2 && leap))
        return -1;
    int64_t t = (int64_t)date_from_ymd(Y, M, D) * 86400 + h * 3600 + m * 60 + sec;
    *ms = t * 1000 + frac_ms;
    return 0;
}

int envelope_is_event(const char *type, size_t type_len)
{
    size_t n = sizeof(event_prefix) - 1;
    return type != NULL && type_len >= n && memcmp(type, event_prefix, n) == 0;
}

verify_status_t envelope_check_window(const char *type, size_t type_len, int64_t ts_ms, int64_t now_ms)
{
    int64_t age = now_ms - ts_ms; /* > 0: sent in the past */
    int64_t max_age = envelope_is_event(type, type_len) ? ENVELOPE_EVENT_WINDOW_MS : ENVELOPE_WINDOW_MS;
    if (age > max_age || age < -ENVELOPE_WINDOW_MS)
        return VERIFY_E_TIMESTAMP_SKEW;
    return VERIFY_OK;
}

int envelope_app_id_allowed(const char *app_id, size_t app_id_len, const char *const *ids, size_t n)
{
    if (app_id == NULL || app_id_len == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] != NULL && strlen(ids[i]) == app_id_len && memcmp(ids[i], app_id, app_id_len) == 0)
            return 1;
    return 0;
}
