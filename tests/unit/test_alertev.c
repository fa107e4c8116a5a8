/* test_alertev.c - the pure parts of the evening-before alert: the event
 * body, referenceIds, due times (GMT and BST), the garbageTypes map, Login
 * with Amazon's token answer and the classification of Amazon's statuses. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alerts/alertev.h"
#include "binday/alexa/alexa_request.h"
#include "binday/util/date.h"
#include "tap.h"

static int day_of(const char *s)
{
    int d = 0;
    date_parse(s, strlen(s), &d);
    return d;
}

static const char *jstr(json_t *o, const char *path)
{
    /* "a.b.c" */
    char buf[128];
    snprintf(buf, sizeof(buf), "%s", path);
    json_t *cur = o;
    for (char *save = NULL, *k = strtok_r(buf, ".", &save); k && cur; k = strtok_r(NULL, ".", &save))
        cur = json_object_get(cur, k);
    return json_string_value(cur);
}

static void test_build(void)
{
    char err[200];
    size_t len = 0;
    int sat = day_of("2026-12-26");
    time_t now = date_london_to_unix(day_of("2026-12-25"), 18 * 60);
    uint32_t types = 1u << alertev_garbage_index("LANDFILL", 8) | 1u << alertev_garbage_index("KITCHEN_WASTE", 13);
    alertev_t ev = {"amzn1.ask.account.TEST", "0123456789abcdef0123456789abcdef", now, sat, types};
    char *s = alertev_build(&ev, &len, err, sizeof(err));
    ok(s != NULL && len == strlen(s), "event built (%s)", s ? "" : err);
    json_t *o = s ? json_loads(s, 0, NULL) : NULL;
    ok(o != NULL, "the event is JSON");
    is_str(jstr(o, "event.name"), "AMAZON.TrashCollectionAlert.Activated", "event name");
    is_str(jstr(o, "event.payload.alert.collectionDayOfWeek"), "SATURDAY", "collectionDayOfWeek of the day");
    json_t *gt = json_object_get(json_object_get(json_object_get(json_object_get(o, "event"), "payload"), "alert"),
                                 "garbageTypes");
    ok(json_array_size(gt) == 2 && !strcmp(json_string_value(json_array_get(gt, 0)), "KITCHEN_WASTE") &&
           !strcmp(json_string_value(json_array_get(gt, 1)), "LANDFILL"),
       "garbageTypes in the schema's order");
    is_str(jstr(o, "relevantAudience.type"), "Unicast", "Unicast");
    is_str(jstr(o, "relevantAudience.payload.user"), "amzn1.ask.account.TEST", "to the user");
    is_str(jstr(o, "referenceId"), "0123456789abcdef0123456789abcdef", "referenceId");
    is_str(jstr(o, "timestamp"), "2026-12-25T18:00:00.000Z", "timestamp (GMT in December)");
    is_str(jstr(o, "expiryTime"), "2026-12-26T12:00:00.000Z", "expires at noon of the collection day");
    ok(json_is_array(json_object_get(o, "localizedAttributes")), "localizedAttributes present");
    json_decref(o);
    free(s);

    /* late in the evening of a far day: expiry never more than 24 h ahead */
    ev.now = date_london_to_unix(day_of("2026-12-20"), 23 * 60);
    s = alertev_build(&ev, &len, err, sizeof(err));
    o = s ? json_loads(s, 0, NULL) : NULL;
    is_str(jstr(o, "expiryTime"), "2026-12-21T23:00:00.000Z", "expiry capped at 24 hours");
    json_decref(o);
    free(s);

    alertev_t bad = ev;
    bad.garbage_types = 0;
    ok(alertev_build(&bad, &len, err, sizeof(err)) == NULL, "no garbage types: refused");
    bad = ev;
    bad.reference_id = "has-dash";
    ok(alertev_build(&bad, &len, err, sizeof(err)) == NULL, "referenceId outside [A-Za-z0-9~]: refused");
    bad = ev;
    bad.user_id = "";
    ok(alertev_build(&bad, &len, err, sizeof(err)) == NULL, "empty user: refused");
}

static void test_reference(void)
{
    secret_key_t k1, k2;
    memset(&k1, 1, sizeof(k1));
    memset(&k2, 2, sizeof(k2));
    const char *a[] = {"refuse", "food"}, *b[] = {"food", "refuse"}, *c[] = {"refuse"};
    char r1[ALERTEV_REF_LEN + 1], r2[ALERTEV_REF_LEN + 1], r3[ALERTEV_REF_LEN + 1], r4[ALERTEV_REF_LEN + 1],
        r5[ALERTEV_REF_LEN + 1], r6[ALERTEV_REF_LEN + 1];
    const char *u = "0123456789abcdef0123456789abcdef";
    alertev_reference_id(&k1, u, 20000, a, 2, r1);
    alertev_reference_id(&k1, u, 20000, b, 2, r2);
    alertev_reference_id(&k1, u, 20000, c, 1, r3);
    alertev_reference_id(&k1, u, 20001, a, 2, r4);
    alertev_reference_id(&k2, u, 20000, a, 2, r5);
    alertev_reference_id(&k1, "ffffffffffffffffffffffffffffffff", 20000, a, 2, r6);
    ok(strcmp(r1, r2) == 0, "same services in another order: same referenceId");
    ok(strcmp(r1, r3) != 0, "another service set: another referenceId");
    ok(strcmp(r1, r4) != 0, "another day: another referenceId");
    ok(strcmp(r1, r5) != 0, "keyed: another key, another referenceId");
    ok(strcmp(r1, r6) != 0, "another subscriber: another referenceId");
    ok(strlen(r1) == 32 && strspn(r1, "0123456789abcdef") == 32, "32 hex digits");
    ok(strstr(r1, "refuse") == NULL, "names no service");
}

static void test_due(void)
{
    int d;
    int dec25 = day_of("2026-12-25"), jul1 = day_of("2026-07-01");
    ok(alertev_due(date_london_to_unix(dec25, 17 * 60 + 59), 18 * 60, &d) == 0, "17:59: not due");
    ok(alertev_due(date_london_to_unix(dec25, 18 * 60), 18 * 60, &d) == 1 && d == dec25 + 1,
       "18:00 GMT: due for tomorrow");
    ok(alertev_due(date_london_to_unix(dec25, 23 * 60 + 59), 18 * 60, &d) == 1 && d == dec25 + 1,
       "23:59: still the next day's collections");
    ok(alertev_due(date_london_to_unix(dec25 + 1, 0), 18 * 60, &d) == 0, "midnight: the window closed");
    /* BST: 18:00 London is 17:00 UTC */
    time_t t = date_london_to_unix(jul1, 18 * 60);
    ok((long long)t == (long long)jul1 * 86400 + 17 * 3600, "18:00 BST is 17:00 UTC");
    ok(alertev_due(t, 18 * 60, &d) == 1 && d == jul1 + 1, "18:00 BST: due");
    ok(alertev_due(t - 60, 18 * 60, &d) == 0, "17:59 BST: not due");
    time_t x;
    ok(alertev_parse_as_of("2026-12-25T18:00", 16, &x) == 0 && x == date_london_to_unix(dec25, 1080), "as-of parses");
    ok(alertev_parse_as_of("2026-12-25T24:00", 16, &x) != 0, "24:00 refused");
    ok(alertev_parse_as_of("2026-12-25", 10, &x) != 0, "a date alone refused");
    int m;
    ok(alertev_parse_hhmm("07:05", 5, &m) == 0 && m == 425, "HH:MM");
    ok(alertev_parse_hhmm("7:05", 4, &m) != 0, "H:MM refused");
}

static void test_map(void)
{
    char err[200];
    alertev_map_t m;
    json_t *o = json_loads("{\"refuse\":[\"LANDFILL\"],\"recycling\":[\"CANS\",\"WASTE_PAPER\"]}", 0, NULL);
    ok(alertev_map_from_json(o, &m, err, sizeof(err)) == 0 && m.n == 2, "map parsed");
    ok(alertev_map_get(&m, "refuse", 6) == 1u << alertev_garbage_index("LANDFILL", 8), "refuse -> LANDFILL");
    ok(alertev_map_get(&m, "garden", 6) == 0, "unmapped: none");
    json_decref(o);
    o = json_loads("{\"refuse\":[\"RUBBISH\"]}", 0, NULL);
    ok(alertev_map_from_json(o, &m, err, sizeof(err)) != 0 && strstr(err, "refuse"), "unknown type named: %s", err);
    json_decref(o);
    o = json_loads("{\"refuse\":[]}", 0, NULL);
    ok(alertev_map_from_json(o, &m, err, sizeof(err)) != 0, "empty list refused");
    json_decref(o);
    ok(alertev_map_from_json(NULL, &m, err, sizeof(err)) == 0 && m.n == 0, "absent: empty map");
    ok(alertev_garbage_index("landfill", 8) == -1, "names are exact");
}

static void test_token(void)
{
    char tok[ALERTEV_TOKEN_MAX + 1], err[200];
    long e = 0;
    const char *good = "{\"access_token\":\"Atc|MQEWY-abc\",\"expires_in\":3600,\"scope\":\"alexa::proactive_events\","
                       "\"token_type\":\"bearer\"}";
    ok(alertev_parse_token((const uint8_t *)good, strlen(good), tok, sizeof(tok), &e, err, sizeof(err)) == 0 &&
           !strcmp(tok, "Atc|MQEWY-abc") && e == 3600,
       "LWA answer parsed");
    const char *noexp = "{\"access_token\":\"abc\"}";
    ok(alertev_parse_token((const uint8_t *)noexp, strlen(noexp), tok, sizeof(tok), &e, err, sizeof(err)) == 0 &&
           e == 3600,
       "expires_in absent: an hour");
    const char *bad[] = {"", "[]", "{\"access_token\":\"\"}", "{\"access_token\":\"a b\"}",
                         "{\"access_token\":\"a\\r\\nX-Evil: 1\"}", "{\"access_token\":\"a\",\"expires_in\":0}",
                         "{\"access_token\":\"a\",\"expires_in\":\"3600\"}", "{\"access_token\":7}",
                         "{\"access_token\":\"a\",\"access_token\":\"b\"}", "{\"access_token\":\"\\u00e9\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        ok(alertev_parse_token((const uint8_t *)bad[i], strlen(bad[i]), tok, sizeof(tok), &e, err, sizeof(err)) != 0 &&
               strstr(err, "token") != NULL,
           "refused: %s", bad[i]);
    ok(alertev_parse_token((const uint8_t *)good, strlen(good), tok, 5, &e, err, sizeof(err)) != 0,
       "a token longer than the buffer is refused");
}

static void test_classify(void)
{
    ok(alertev_classify(202) == ALERTEV_SENT, "202 sent");
    ok(alertev_classify(409) == ALERTEV_DUPLICATE, "409 duplicate");
    ok(alertev_classify(429) == ALERTEV_RETRY && alertev_classify(500) == ALERTEV_RETRY &&
           alertev_classify(503) == ALERTEV_RETRY && alertev_classify(0) == ALERTEV_RETRY,
       "429, 5xx, no answer: retry");
    ok(alertev_classify(403) == ALERTEV_USER_GONE, "403 stops the user's alerts");
    ok(alertev_classify(401) == ALERTEV_TOKEN, "401 new token");
    ok(alertev_classify(400) == ALERTEV_FAILED && alertev_classify(302) == ALERTEV_FAILED, "400, 3xx: failed");
    ok(alertev_backoff_ms(1000, 1) == 1000 && alertev_backoff_ms(1000, 3) == 4000 &&
           alertev_backoff_ms(1000, 30) == 60000,
       "backoff doubles, capped at a minute");
}

static void test_request_events(void)
{
    const char *env = "{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{\"applicationId\":\"a\"},"
                      "\"user\":{\"userId\":\"u\",\"permissions\":{\"scopes\":{\"alexa::devices:all:notifications:"
                      "write\":{\"status\":\"GRANTED\"},\"alexa::alerts:reminders:skill:readwrite\":{\"status\":"
                      "\"DENIED\"}}}}}},\"request\":{\"type\":\"AlexaSkillEvent.ProactiveSubscriptionChanged\","
                      "\"body\":{\"subscriptions\":[]}}}";
    json_t *o = json_loads(env, 0, NULL);
    alexa_request_t r;
    char err[100];
    ok(alexa_request_parse(o, &r, err, sizeof(err)) == 0 && r.type == ALEXA_REQ_PROACTIVE_SUBSCRIPTION_CHANGED,
       "ProactiveSubscriptionChanged recognised");
    ok(r.proactive_subscriptions == 0, "an empty list: unsubscribed");
    ok(r.granted_scopes == ALEXA_PERM_NOTIFICATIONS, "granted scopes read; a denied one is not granted");
    json_decref(o);
    o = json_loads("{\"request\":{\"type\":\"AlexaSkillEvent.ProactiveSubscriptionChanged\",\"body\":{"
                   "\"subscriptions\":[{\"eventName\":\"AMAZON.TrashCollectionAlert.Activated\"}]}}}",
                   0, NULL);
    ok(alexa_request_parse(o, &r, err, sizeof(err)) == 0 && r.proactive_subscriptions == 1, "one subscription");
    json_decref(o);
    const char *sc = "alexa::devices:all:notifications:write";
    ok(alexa_perm_from_scope(sc, strlen(sc)) == ALEXA_PERM_NOTIFICATIONS &&
           !strcmp(alexa_perm_card_scope(ALEXA_PERM_NOTIFICATIONS), sc),
       "notifications scope: one spelling for cards and events");
}

int main(void)
{
    test_build();
    test_reference();
    test_due();
    test_map();
    test_token();
    test_classify();
    test_request_events();
    return done_testing();
}
