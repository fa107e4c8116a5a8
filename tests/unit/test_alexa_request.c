/* test_alexa_request.c - extraction from realistic Alexa envelopes, AMAZON.DATE. */
#include <jansson.h>
#include <string.h>

#include "binday/alexa/alexa_request.h"
#include "binday/util/date.h"
#include "tap.h"

static const char intent_env[] =
    "{\"version\":\"1.0\",\"session\":{\"new\":false,\"sessionId\":\"amzn1.echo-api.session.s1\","
    "\"application\":{\"applicationId\":\"amzn1.ask.skill.sess\"},"
    "\"attributes\":{\"pending\":\"email\"},\"user\":{\"userId\":\"amzn1.ask.account.SESSIONUSER\"}},"
    "\"context\":{\"System\":{\"application\":{\"applicationId\":\"amzn1.ask.skill.abc\"},"
    "\"user\":{\"userId\":\"amzn1.ask.account.U1\",\"permissions\":{\"consentToken\":\"ct\"}},"
    "\"device\":{\"deviceId\":\"amzn1.ask.device.D1/x+y\",\"supportedInterfaces\":{}},"
    "\"apiEndpoint\":\"https://api.eu.amazonalexa.com\",\"apiAccessToken\":\"eyJ0.tok\"},\"Viewport\":{}},"
    "\"request\":{\"type\":\"IntentRequest\",\"requestId\":\"amzn1.echo-api.request.r1\","
    "\"timestamp\":\"2026-11-28T21:00:00Z\",\"locale\":\"en-GB\",\"dialogState\":\"STARTED\",\"newField\":1,"
    "\"intent\":{\"name\":\"BinTypeIntent\",\"confirmationStatus\":\"NONE\",\"slots\":{"
    "\"BinType\":{\"name\":\"BinType\",\"value\":\"black\",\"confirmationStatus\":\"NONE\","
    "\"resolutions\":{\"resolutionsPerAuthority\":["
    "{\"authority\":\"amzn1.er-authority.echo-sdk.dynamic\",\"status\":{\"code\":\"ER_SUCCESS_NO_MATCH\"}},"
    "{\"authority\":\"amzn1.er-authority.echo-sdk.amzn1.ask.skill.abc.BinType\",\"status\":{\"code\":\"ER_SUCCESS_MATCH\"},"
    "\"values\":[{\"value\":{\"name\":\"black bin\",\"id\":\"recycling\"}}]}]}},"
    "\"Date\":{\"name\":\"Date\",\"value\":\"2026-W49\"},"
    "\"Empty\":{\"name\":\"Empty\",\"value\":\"\"},"
    "\"NoMatch\":{\"name\":\"NoMatch\",\"value\":\"purple\",\"resolutions\":{\"resolutionsPerAuthority\":["
    "{\"status\":{\"code\":\"ER_SUCCESS_NO_MATCH\"}}]}},"
    "\"Missing\":{\"name\":\"Missing\"}}}}}";

static json_t *load(const char *s)
{
    json_error_t e;
    json_t *j = json_loads(s, 0, &e);
    if (j == NULL)
        printf("# json error: %s\n", e.text);
    return j;
}

static void test_intent(void)
{
    json_t *root = load(intent_env);
    alexa_request_t r;
    char err[64];
    is_int(alexa_request_parse(root, &r, err, sizeof(err)), 0, "intent envelope parses");
    is_int(r.type, ALEXA_REQ_INTENT, "type");
    is_str(r.type_name, "IntentRequest", "type name");
    is_str(r.intent_name, "BinTypeIntent", "intent name");
    is_str(r.request_id, "amzn1.echo-api.request.r1", "request id");
    is_str(r.timestamp, "2026-11-28T21:00:00Z", "timestamp");
    is_str(r.locale, "en-GB", "locale");
    is_str(r.application_id, "amzn1.ask.skill.abc", "application id from context first");
    is_str(r.user_id, "amzn1.ask.account.U1", "user id from context first");
    is_str(r.device_id, "amzn1.ask.device.D1/x+y", "device id");
    is_str(r.api_endpoint, "https://api.eu.amazonalexa.com", "api endpoint");
    is_str(r.api_token, "eyJ0.tok", "api token");
    is_str(r.session_id, "amzn1.echo-api.session.s1", "session id");
    is_int(r.session_new, 0, "session.new false");
    is_str(json_string_value(json_object_get(r.session_attributes, "pending")), "email", "session attributes");
    is_str(r.dialog_state, "STARTED", "dialog state");
    is_str(r.confirmation_status, "NONE", "confirmation status");

    alexa_slot_t s;
    ok(alexa_request_slot(&r, "BinType", &s), "BinType present");
    is_str(s.value, "black", "raw words");
    is_str(s.id, "recycling", "resolved id skips the non-matching authority");
    is_str(s.name, "black bin", "resolved name");
    is_str(alexa_slot_best(&s), "recycling", "best = id");
    ok(alexa_request_slot(&r, "Date", &s), "Date present");
    is_str(alexa_slot_best(&s), "2026-W49", "best = raw value without resolutions");
    ok(!alexa_request_slot(&r, "Empty", &s), "empty value is absent");
    ok(alexa_request_slot(&r, "NoMatch", &s) && s.id == NULL, "no match keeps the words, no id");
    is_str(alexa_slot_best(&s), "purple", "best = words");
    ok(!alexa_request_slot(&r, "Missing", &s), "slot without value is absent");
    ok(!alexa_request_slot(&r, "Nope", &s), "unknown slot absent");
    json_decref(root);
}

static void test_launch_and_fallbacks(void)
{
    json_t *root = load("{\"session\":{\"new\":true,\"sessionId\":\"s\",\"application\":{\"applicationId\":\"app\"},"
                        "\"user\":{\"userId\":\"u\"},\"attributes\":[]},"
                        "\"request\":{\"type\":\"LaunchRequest\"}}");
    alexa_request_t r;
    is_int(alexa_request_parse(root, &r, NULL, 0), 0, "launch parses");
    is_int(r.type, ALEXA_REQ_LAUNCH, "launch type");
    is_int(r.session_new, 1, "session.new true");
    is_str(r.application_id, "app", "application id falls back to the session");
    is_str(r.user_id, "u", "user id falls back to the session");
    ok(r.session_attributes == NULL, "non-object attributes ignored");
    ok(r.device_id == NULL && r.api_token == NULL && r.intent_name == NULL, "absent fields NULL");
    alexa_slot_t s;
    ok(!alexa_request_slot(&r, "BinType", &s), "no slots on a launch");
    json_decref(root);

    root = load("{\"request\":{\"type\":\"Alexa.Presentation.APL.UserEvent\"}}");
    is_int(alexa_request_parse(root, &r, NULL, 0), 0, "unknown type still parses");
    is_int(r.type, ALEXA_REQ_UNKNOWN, "unknown type");
    is_str(r.type_name, "Alexa.Presentation.APL.UserEvent", "its name is kept");
    is_int(r.session_new, -1, "no session");
    json_decref(root);

    char err[64] = "";
    root = load("{\"request\":{\"type\":5}}");
    is_int(alexa_request_parse(root, &r, err, sizeof(err)), -1, "non-string type refused");
    ok(strstr(err, "request.type") != NULL, "with a reason");
    json_decref(root);
    root = load("[1,2]");
    is_int(alexa_request_parse(root, &r, err, sizeof(err)), -1, "array refused");
    json_decref(root);
    is_int(alexa_request_parse(NULL, &r, err, sizeof(err)), -1, "NULL refused");

    root = load("{\"request\":{\"type\":\"SessionEndedRequest\",\"reason\":\"ERROR\","
                "\"error\":{\"type\":\"INVALID_RESPONSE\",\"message\":\"m\"}}}");
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.type, ALEXA_REQ_SESSION_ENDED, "session ended");
    is_str(r.ended_reason, "ERROR", "reason");
    is_str(r.error_type, "INVALID_RESPONSE", "error type");
    json_decref(root);

    root = load("{\"request\":{\"type\":\"CanFulfillIntentRequest\",\"intent\":{\"name\":\"NextCollectionIntent\"}}}");
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.type, ALEXA_REQ_CAN_FULFILL, "can fulfill");
    is_str(r.intent_name, "NextCollectionIntent", "can fulfill intent");
    json_decref(root);
}

static void test_events(void)
{
    json_t *root = load("{\"version\":\"1.0\",\"context\":{\"System\":{\"application\":{\"applicationId\":\"app\"},"
                        "\"user\":{\"userId\":\"u\"},\"apiEndpoint\":\"https://api.eu.amazonalexa.com\"}},"
                        "\"request\":{\"type\":\"AlexaSkillEvent.SkillPermissionChanged\",\"requestId\":\"r\","
                        "\"timestamp\":\"2026-11-28T20:00:00Z\",\"body\":{\"acceptedPermissions\":["
                        "{\"scope\":\"alexa::devices:all:address:full:read\"},{\"scope\":\"alexa::profile:email:read\"},"
                        "{\"scope\":\"something:new\"},{\"noscope\":1}]}}}");
    alexa_request_t r;
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.type, ALEXA_REQ_PERMISSION_CHANGED, "permission changed");
    is_int(r.accepted_permissions, ALEXA_PERM_ADDRESS | ALEXA_PERM_EMAIL, "manifest spelling of the address accepted");
    ok(r.session_id == NULL && r.device_id == NULL, "events have no session or device");
    json_decref(root);

    root = load("{\"request\":{\"type\":\"AlexaSkillEvent.SkillPermissionAccepted\",\"body\":{\"acceptedPermissions\":["
                "{\"scope\":\"read::alexa:device:all:address\"},{\"scope\":\"alexa::profile:given_name:read\"}]}}}");
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.type, ALEXA_REQ_PERMISSION_ACCEPTED, "permission accepted");
    is_int(r.accepted_permissions, ALEXA_PERM_ADDRESS | ALEXA_PERM_GIVEN_NAME, "card spelling accepted");
    json_decref(root);

    root = load("{\"request\":{\"type\":\"AlexaSkillEvent.SkillPermissionChanged\",\"body\":{\"acceptedPermissions\":[]}}}");
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.accepted_permissions, 0, "empty set = everything revoked");
    json_decref(root);

    root = load("{\"request\":{\"type\":\"AlexaSkillEvent.SkillDisabled\",\"body\":{\"userInformationPersistenceStatus\":\"NOT_PERSISTED\"}}}");
    alexa_request_parse(root, &r, NULL, 0);
    is_int(r.type, ALEXA_REQ_SKILL_DISABLED, "skill disabled");
    is_str(r.persistence_status, "NOT_PERSISTED", "persistence status");
    json_decref(root);

    is_str(alexa_perm_card_scope(ALEXA_PERM_ADDRESS), "read::alexa:device:all:address", "card scope: address");
    is_str(alexa_perm_card_scope(ALEXA_PERM_EMAIL), "alexa::profile:email:read", "card scope: email");
    is_str(alexa_perm_card_scope(ALEXA_PERM_POSTCODE), "read::alexa:device:all:address:country_and_postal_code",
           "card scope: postcode");
    is_int(alexa_perm_from_scope("alexa::profile:email:read", 24), 0, "length-exact: a prefix does not match");
}

static void test_dates(void)
{
    int today = date_from_ymd(2026, 11, 28), a, b;
    struct {
        const char *in;
        int rc, first, last;
    } t[] = {
        {"2026-12-02", 0, date_from_ymd(2026, 12, 2), date_from_ymd(2026, 12, 2)},
        {"2026-W49", 0, date_from_ymd(2026, 11, 30), date_from_ymd(2026, 12, 6)},
        {"2026-W49-WE", 0, date_from_ymd(2026, 12, 5), date_from_ymd(2026, 12, 6)},
        {"2026-W53", 0, date_from_ymd(2026, 12, 28), date_from_ymd(2027, 1, 3)},
        {"2027-W53", -1, 0, 0},
        {"2026-W00", -1, 0, 0},
        {"2026-12", 0, date_from_ymd(2026, 12, 1), date_from_ymd(2026, 12, 31)},
        {"2028-02", 0, date_from_ymd(2028, 2, 1), date_from_ymd(2028, 2, 29)},
        {"2027", 0, date_from_ymd(2027, 1, 1), date_from_ymd(2027, 12, 31)},
        {"PRESENT_REF", 0, today, today},
        {"2026-02-29", -1, 0, 0},
        {"2026-13", -1, 0, 0},
        {"2026-WI", -1, 0, 0},
        {"201X", -1, 0, 0},
        {"XXXX-12-02", -1, 0, 0},
        {"2026-W49-XX", -1, 0, 0},
        {"2026-12-02T10:00", -1, 0, 0},
        {"", -1, 0, 0},
        {"0000-01-01", -1, 0, 0},
        {"2026-1-2", -1, 0, 0},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        a = b = 12345;
        int rc = alexa_date_parse((const uint8_t *)t[i].in, strlen(t[i].in), today, &a, &b);
        if (t[i].rc == 0)
            ok(rc == 0 && a == t[i].first && b == t[i].last, "date %s -> range", t[i].in);
        else
            ok(rc == -1, "date %s refused", t[i].in);
    }
}

int main(void)
{
    test_intent();
    test_launch_and_fallbacks();
    test_events();
    test_dates();
    return done_testing();
}
