/* alertev.c - owns the pure parts of the evening-before alert (alertev.h):
 * the event body, referenceIds, garbageTypes, due times and Amazon's answers. */
#include "binday/alerts/alertev.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"

static const char *const garbage[ALERTEV_N_GARBAGE] = {
    "BOTTLES",       "BULKY",    "BURNABLE",     "CANS",     "CLOTHING",          "COMPOSTABLE",
    "CRUSHABLE",     "GARDEN_WASTE", "GLASS",    "HAZARDOUS", "HOME_APPLIANCES",  "KITCHEN_WASTE",
    "LANDFILL",      "PET_BOTTLES", "RECYCLABLE_PLASTICS", "WASTE_PAPER"};

const char *alertev_garbage_name(int i)
{
    return i >= 0 && i < ALERTEV_N_GARBAGE ? garbage[i] : NULL;
}

int alertev_garbage_index(const char *s, size_t len)
{
    for (int i = 0; i < ALERTEV_N_GARBAGE; i++)
        if (strlen(garbage[i]) == len && memcmp(garbage[i], s, len) == 0)
            return i;
    return -1;
}

int alertev_map_from_json(const json_t *obj, alertev_map_t *m, char *err, size_t err_size)
{
    memset(m, 0, sizeof(*m));
    if (obj == NULL)
        return 0;
    if (!json_is_object(obj)) {
        snprintf(err, err_size, "alerts_garbage_types: want an object of service id -> list of garbageTypes");
        return -1;
    }
    const char *sid;
    json_t *list;
    json_object_foreach((json_t *)obj, sid, list)
    {
        size_t sl = strlen(sid);
        if (m->n == ALERTEV_MAP_MAX || sl == 0 || sl > ALERTEV_SERVICE_MAX) {
            snprintf(err, err_size, "alerts_garbage_types: at most %d services, ids of 1-%d bytes", ALERTEV_MAP_MAX,
                     ALERTEV_SERVICE_MAX);
            return -1;
        }
        if (!json_is_array(list) || json_array_size(list) == 0) {
            snprintf(err, err_size, "alerts_garbage_types.%.63s: want a non-empty list", sid);
            return -1;
        }
        uint32_t types = 0;
        size_t i;
        json_t *v;
        json_array_foreach(list, i, v)
        {
            int gi = json_is_string(v) ? alertev_garbage_index(json_string_value(v), json_string_length(v)) : -1;
            if (gi < 0) {
                snprintf(err, err_size, "alerts_garbage_types.%.63s[%zu]: not one of Amazon's garbageTypes", sid, i);
                return -1;
            }
            types |= 1u << gi;
        }
        memcpy(m->e[m->n].service_id, sid, sl + 1);
        m->e[m->n].types = types;
        m->n++;
    }
    return 0;
}

uint32_t alertev_map_get(const alertev_map_t *m, const char *service_id, size_t len)
{
    for (size_t i = 0; i < m->n; i++)
        if (strlen(m->e[i].service_id) == len && memcmp(m->e[i].service_id, service_id, len) == 0)
            return m->e[i].types;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

void alertev_reference_id(const secret_key_t *key, const char *user_hex, int day, const char *const *service_ids,
                          size_t n, char out[ALERTEV_REF_LEN + 1])
{
    /* unit separators between fields, so no two inputs share a message */
    char msg[4096], d[11];
    const char *sorted[64];
    if (n > 64)
        n = 64; /* a day never has that many services; the id stays deterministic */
    memcpy(sorted, service_ids, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    int len = snprintf(msg, sizeof(msg), "binday-alert-ref\x1f%s\x1f%s", user_hex, date_format(day, d));
    for (size_t i = 0; i < n && len > 0 && (size_t)len < sizeof(msg); i++)
        len += snprintf(msg + len, sizeof(msg) - (size_t)len, "\x1f%s", sorted[i]);
    if (len < 0)
        len = 0;
    if ((size_t)len >= sizeof(msg))
        len = (int)sizeof(msg) - 1;
    secret_hmac_hex(key, msg, (size_t)len, out, ALERTEV_REF_LEN + 1);
}

static void iso_utc(time_t t, char out[32])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%S.000Z", &tm);
}

static int ref_ok(const char *r)
{
    size_t n = r ? strlen(r) : 0;
    if (n == 0 || n > 100)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = r[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '~'))
            return 0;
    }
    return 1;
}

char *alertev_build(const alertev_t *ev, size_t *len, char *err, size_t err_size)
{
    if (ev->garbage_types == 0 || ev->user_id == NULL || ev->user_id[0] == 0 || strlen(ev->user_id) > 512 ||
        !ref_ok(ev->reference_id)) {
        snprintf(err, err_size, "alert: needs garbage types, a user id and a referenceId of [A-Za-z0-9~]{1,100}");
        return NULL;
    }
    /* Amazon: expiryTime 5 minutes to 24 hours after the timestamp */
    long long expiry = (long long)ev->collection_day * 86400 + 12 * 3600;
    if (expiry > (long long)ev->now + 24 * 3600)
        expiry = (long long)ev->now + 24 * 3600;
    if (expiry < (long long)ev->now + 300)
        expiry = (long long)ev->now + 300;
    char ts[32], ex[32];
    iso_utc(ev->now, ts);
    iso_utc((time_t)expiry, ex);
    json_t *types = json_array();
    for (int i = 0; i < ALERTEV_N_GARBAGE; i++)
        if (ev->garbage_types & (1u << i))
            json_array_append_new(types, json_string(garbage[i]));
    static const char *const days[7] = {"MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"};
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s,s:{s:{s:s,s:o}}},s:[],s:{s:s,s:{s:s}}}", "timestamp", ts,
                          "referenceId", ev->reference_id, "expiryTime", ex, "event", "name",
                          "AMAZON.TrashCollectionAlert.Activated", "payload", "alert", "collectionDayOfWeek",
                          days[date_weekday(ev->collection_day)], "garbageTypes", types, "localizedAttributes",
                          "relevantAudience", "type", "Unicast", "payload", "user", ev->user_id);
    if (o == NULL) { /* only a user id that is not UTF-8 gets here */
        snprintf(err, err_size, "alert: user id is not valid UTF-8");
        return NULL;
    }
    char *s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (s == NULL) {
        snprintf(err, err_size, "alert: out of memory");
        return NULL;
    }
    *len = strlen(s);
    return s;
}

int alertev_parse_hhmm(const char *s, size_t len, int *minute)
{
    if (len != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && (s[i] < '0' || s[i] > '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    if (h > 23 || m > 59)
        return -1;
    *minute = h * 60 + m;
    return 0;
}

int alertev_parse_as_of(const char *s, size_t len, time_t *out)
{
    int day, minute;
    if (len != 16 || (s[10] != 'T' && s[10] != ' ') || date_parse(s, 10, &day) != 0 ||
        alertev_parse_hhmm(s + 11, 5, &minute) != 0)
        return -1;
    *out = date_london_to_unix(day, minute);
    return 0;
}

int alertev_due(time_t now, int send_minute, int *collection_day)
{
    long long local = date_london_local_seconds(now);
    long long day = local / 86400 - (local % 86400 < 0);
    int minute = (int)((local - day * 86400) / 60);
    if (minute < send_minute)
        return 0;
    *collection_day = (int)day + 1;
    return 1;
}

int alertev_parse_token(const uint8_t *body, size_t len, char *tok, size_t tok_cap, long *expires_in, char *err,
                        size_t err_size)
{
    json_error_t je;
    json_t *o = json_loadb((const char *)body, len, JSON_REJECT_DUPLICATES, &je);
    int rc = -1;
    if (!json_is_object(o)) {
        snprintf(err, err_size, "token answer: not a JSON object");
        goto out;
    }
    json_t *at = json_object_get(o, "access_token"), *ei = json_object_get(o, "expires_in");
    if (!json_is_string(at) || json_string_length(at) == 0 || json_string_length(at) > ALERTEV_TOKEN_MAX ||
        json_string_length(at) >= tok_cap) {
        snprintf(err, err_size, "token answer: no usable access_token");
        goto out;
    }
    const char *t = json_string_value(at);
    size_t tl = json_string_length(at);
    for (size_t i = 0; i < tl; i++)
        if ((unsigned char)t[i] < 0x21 || (unsigned char)t[i] > 0x7e) { /* visible ASCII only: a header value */
            snprintf(err, err_size, "token answer: access_token has characters unfit for a header");
            goto out;
        }
    long e = 3600;
    if (ei != NULL) {
        if (!json_is_integer(ei) || json_integer_value(ei) < 1 || json_integer_value(ei) > 86400) {
            snprintf(err, err_size, "token answer: expires_in is not 1..86400");
            goto out;
        }
        e = (long)json_integer_value(ei);
    }
    memcpy(tok, t, tl);
    tok[tl] = 0;
    *expires_in = e;
    rc = 0;
out:
    json_decref(o);
    return rc;
}

alertev_outcome_t alertev_classify(long status)
{
    if (status >= 200 && status <= 299)
        return ALERTEV_SENT;
    if (status == 409)
        return ALERTEV_DUPLICATE;
    if (status == 401)
        return ALERTEV_TOKEN;
    if (status == 403)
        return ALERTEV_USER_GONE;
    if (status == 0 || status == 429 || (status >= 500 && status <= 599))
        return ALERTEV_RETRY;
    return ALERTEV_FAILED;
}

const char *alertev_outcome_name(alertev_outcome_t o)
{
    static const char *const n[] = {"sent", "duplicate", "retry", "token", "user_gone", "failed"};
    return (unsigned)o < sizeof(n) / sizeof(n[0]) ? n[o] : "?";
}

long alertev_backoff_ms(long base_ms, int attempt)
{
    long d = base_ms > 0 ? base_ms : 1000;
    for (int i = 1; i < attempt && d < 60000; i++)
        d *= 2;
    return d > 60000 ? 60000 : d;
}
