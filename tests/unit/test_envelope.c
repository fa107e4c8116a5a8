/* test_envelope.c - the pre-trust envelope parse, ISO 8601 timestamps and the
 * two-sided request window (150 s; 3600 s old for AlexaSkillEvent.*). */
#include <stdint.h>
#include <string.h>

#include "binday/alexa/envelope.h"
#include "tap.h"

static int64_t ts(const char *s)
{
    int64_t ms = -1;
    if (envelope_parse_timestamp((const uint8_t *)s, strlen(s), &ms) != 0)
        return -1;
    return ms;
}

static verify_status_t parse(const char *body, envelope_t *env)
{
    return envelope_parse((const uint8_t *)body, strlen(body), env);
}

static verify_status_t win(const char *type, int64_t age_ms)
{
    int64_t now = 1796000000000LL;
    return envelope_check_window(type, strlen(type), now - age_ms, now);
}

int main(void)
{
    /* timestamps */
    is_int(ts("1970-01-01T00:00:00Z"), 0, "epoch");
    is_int(ts("2026-11-28T21:00:00Z"), 1795899600000LL, "2026-11-28T21:00:00Z");
    is_int(ts("2026-11-28T21:00:00.5Z"), 1795899600500LL, "fraction .5");
    is_int(ts("2026-11-28T21:00:00.123Z"), 1795899600123LL, "fraction .123");
    is_int(ts("2026-11-28T21:00:00.123456789Z"), 1795899600123LL, "fraction, 9 digits truncated");
    is_int(ts("2024-02-29T12:00:00Z"), 1709208000000LL, "leap day");
    is_int(ts("2000-02-29T00:00:00Z"), 951782400000LL, "leap day of a 400-year");
    is_int(ts("2026-12-31T23:59:59Z"), 1798761599000LL, "end of year");
    static const char *bad_ts[] = {
        "", "2026-11-28", "2026-11-28T21:00:00", "2026-11-28T21:00:00+00:00", "2026-11-28 21:00:00Z",
        "2026-11-28T21:00Z", "2026-13-01T00:00:00Z", "2026-00-01T00:00:00Z", "2026-02-29T00:00:00Z",
        "1900-02-29T00:00:00Z", "2026-04-31T00:00:00Z", "2026-11-28T24:00:00Z", "2026-11-28T21:60:00Z",
        "2026-11-28T21:00:60Z", "2026-11-28T21:00:00.Z", "2026-11-28T21:00:00.1234567890Z",
        "2026-11-28T21:00:00zz", "2026-11-28t21:00:00Z", "2026-11-28T21:00:00z", "1969-12-31T23:59:59Z",
        "+026-11-28T21:00:00Z", "2026-1a-28T21:00:00Z", "2026-11-28T21:00:00Z ", " 2026-11-28T21:00:00Z",
        "1795899600", "2026-11-28T-1:00:00Z", "2026-11-28T21:00:00.1a2Z",
    };
    for (size_t i = 0; i < sizeof(bad_ts) / sizeof(bad_ts[0]); i++)
        is_int(ts(bad_ts[i]), -1, "unparseable timestamp \"%s\"", bad_ts[i]);
    {
        const uint8_t nul[] = "2026-11-28T21:00:00\0Z";
        int64_t ms;
        ok(envelope_parse_timestamp(nul, sizeof(nul) - 1, &ms) == -1, "timestamp with NUL");
    }

    /* the window: ordinary requests +-150 s inclusive */
    is_int(win("IntentRequest", 0), VERIFY_OK, "now");
    is_int(win("IntentRequest", 150000), VERIFY_OK, "150 s old (edge, inside)");
    is_int(win("IntentRequest", 150001), VERIFY_E_TIMESTAMP_SKEW, "150.001 s old (outside)");
    is_int(win("IntentRequest", -150000), VERIFY_OK, "150 s in the future (edge, inside)");
    is_int(win("IntentRequest", -150001), VERIFY_E_TIMESTAMP_SKEW, "150.001 s in the future (outside)");
    is_int(win("LaunchRequest", 149000), VERIFY_OK, "149 s old");
    is_int(win("LaunchRequest", 151000), VERIFY_E_TIMESTAMP_SKEW, "151 s old");
    is_int(win("LaunchRequest", -151000), VERIFY_E_TIMESTAMP_SKEW, "151 s ahead");
    is_int(win("SessionEndedRequest", 3540000), VERIFY_E_TIMESTAMP_SKEW, "59 min old ordinary request");
    /* skill events: up to an hour old */
    is_int(win("AlexaSkillEvent.SkillEnabled", 59 * 60000), VERIFY_OK, "event 59 min old");
    is_int(win("AlexaSkillEvent.SkillPermissionChanged", 61 * 60000), VERIFY_E_TIMESTAMP_SKEW,
           "event 61 min old");
    is_int(win("AlexaSkillEvent.SkillDisabled", 3600000), VERIFY_OK, "event 3600 s old (edge)");
    is_int(win("AlexaSkillEvent.SkillDisabled", 3600001), VERIFY_E_TIMESTAMP_SKEW, "event 3600.001 s old");
    is_int(win("AlexaSkillEvent.SkillEnabled", -150000), VERIFY_OK, "event 150 s ahead");
    is_int(win("AlexaSkillEvent.SkillEnabled", -151000), VERIFY_E_TIMESTAMP_SKEW,
           "event 151 s ahead (future bound stays 150 s)");
    is_int(win("AlexaSkillEvent", 59 * 60000), VERIFY_E_TIMESTAMP_SKEW, "\"AlexaSkillEvent\" without dot is no event");
    is_int(win("alexaskillevent.SkillEnabled", 59 * 60000), VERIFY_E_TIMESTAMP_SKEW, "event prefix is case-sensitive");
    is_int(win("XAlexaSkillEvent.SkillEnabled", 59 * 60000), VERIFY_E_TIMESTAMP_SKEW, "prefix must be at start");

    /* envelope parse */
    envelope_t env;
    const char *full =
        "{\"version\":\"1.0\",\"session\":{\"new\":true,\"sessionId\":\"s\",\"application\":"
        "{\"applicationId\":\"amzn1.ask.skill.A\"},\"user\":{\"userId\":\"u\"}},"
        "\"context\":{\"System\":{\"application\":{\"applicationId\":\"amzn1.ask.skill.A\"},"
        "\"user\":{\"userId\":\"u\"},\"apiEndpoint\":\"https://api.eu.amazonalexa.com\",\"n\":9223372036854775807}},"
        "\"request\":{\"type\":\"LaunchRequest\",\"requestId\":\"r\",\"timestamp\":\"2026-11-28T21:00:00Z\","
        "\"locale\":\"en-GB\",\"future\":[1,2,{\"x\":null}]},\"unknownTop\":{}}";
    is_int(parse(full, &env), VERIFY_OK, "full envelope parses (unknown keys ignored)");
    is_str(env.type, "LaunchRequest", "  request.type");
    is_str(env.timestamp, "2026-11-28T21:00:00Z", "  request.timestamp");
    is_str(env.app_id, "amzn1.ask.skill.A", "  applicationId");
    ok(env.root != NULL, "  tree returned");
    json_decref(env.root);

    is_int(parse("{\"context\":{\"System\":{\"application\":{\"applicationId\":\"B\"}}},"
                 "\"request\":{\"type\":\"AlexaSkillEvent.SkillEnabled\",\"timestamp\":\"2026-11-28T21:00:00Z\"}}",
                 &env),
           VERIFY_OK, "event without session");
    is_str(env.app_id, "B", "  applicationId from context");
    json_decref(env.root);
    is_int(parse("{\"session\":{\"application\":{\"applicationId\":\"C\"}},"
                 "\"request\":{\"type\":\"IntentRequest\",\"timestamp\":\"2026-11-28T21:00:00Z\"}}",
                 &env),
           VERIFY_OK, "session only");
    is_str(env.app_id, "C", "  applicationId from session");
    json_decref(env.root);
    is_int(parse("{\"request\":{\"type\":\"IntentRequest\"}}", &env), VERIFY_OK, "no timestamp, no app id");
    ok(env.timestamp == NULL && env.app_id == NULL, "  both reported absent");
    json_decref(env.root);
    is_int(parse("{\"request\":{\"type\":\"IntentRequest\",\"timestamp\":12}}", &env), VERIFY_OK,
           "numeric timestamp");
    ok(env.timestamp == NULL, "  reported absent (not a string)");
    json_decref(env.root);

    is_int(parse("{\"session\":{\"application\":{\"applicationId\":\"A\"}},"
                 "\"context\":{\"System\":{\"application\":{\"applicationId\":\"B\"}}},"
                 "\"request\":{\"type\":\"IntentRequest\"}}",
                 &env),
           VERIFY_E_WRONG_SKILL, "session and context app ids differ");
    ok(env.root == NULL, "  nothing to free on failure");
    static const char *bad_env[] = {
        "", "null", "[]", "\"x\"", "{}", "{\"request\":null}", "{\"request\":{}}", "{\"request\":{\"type\":1}}",
        "{\"request\":{\"type\":\"\"}}", "{\"request\":{\"type\":\"A\"}", "{\"request\":{\"type\":\"A\"}} x",
        "{\"request\":{\"type\":\"A\"},\"request\":{\"type\":\"B\"}}",
        "{\"request\":{\"type\":\"A\\u0000B\"}}", "{'request':{}}",
        /* beyond int64: jansson refuses rather than rounding (documented) */
        "{\"request\":{\"type\":\"A\"},\"n\":12345678901234567890}",
    };
    for (size_t i = 0; i < sizeof(bad_env) / sizeof(bad_env[0]); i++)
        is_int(parse(bad_env[i], &env), VERIFY_E_BAD_ENVELOPE, "bad envelope: %s", bad_env[i]);
    {
        static uint8_t big[ENVELOPE_MAX_BYTES + 2];
        memset(big, ' ', sizeof(big));
        memcpy(big, "{\"request\":{\"type\":\"A\"}}", 24);
        is_int(envelope_parse(big, sizeof(big), &env), VERIFY_E_BAD_ENVELOPE, "body over the size limit");
        is_int(envelope_parse(big, ENVELOPE_MAX_BYTES, &env), VERIFY_OK, "body at the size limit");
        json_decref(env.root);
    }
    {
        /* deep nesting must fail cleanly, not overflow the stack */
        static char deep[100000];
        size_t n = 0;
        n += (size_t)sprintf(deep, "{\"request\":{\"type\":\"A\"},\"x\":");
        while (n < sizeof(deep) - 2)
            deep[n++] = '[';
        deep[n] = '\0';
        is_int(parse(deep, &env), VERIFY_E_BAD_ENVELOPE, "deeply nested arrays rejected");
    }

    /* skill ids */
    const char *ids[] = {"amzn1.ask.skill.A", "amzn1.ask.skill.B"};
    ok(envelope_app_id_allowed("amzn1.ask.skill.B", 17, ids, 2), "configured id accepted");
    ok(!envelope_app_id_allowed("amzn1.ask.skill.C", 17, ids, 2), "other id rejected");
    ok(!envelope_app_id_allowed("amzn1.ask.skill.A.x", 19, ids, 2), "id with suffix rejected");
    ok(!envelope_app_id_allowed("amzn1.ask.skill.", 16, ids, 2), "prefix of an id rejected");
    ok(!envelope_app_id_allowed("AMZN1.ASK.SKILL.A", 17, ids, 2), "comparison is case-sensitive");
    ok(!envelope_app_id_allowed(NULL, 0, ids, 2), "missing id rejected");
    ok(!envelope_app_id_allowed("", 0, ids, 2), "empty id rejected");
    return done_testing();
}
