/* alexa_request.c - pure extraction of what the skill needs from a verified
 * Alexa envelope (see alexa_request.h). Borrowed pointers only. */
#include <stdio.h>
#include <string.h>

#include "binday/alexa/alexa_request.h"
#include "binday/util/date.h"

static const struct {
    const char *name;
    alexa_req_type_t type;
} req_types[] = {
    {"LaunchRequest", ALEXA_REQ_LAUNCH},
    {"IntentRequest", ALEXA_REQ_INTENT},
    {"SessionEndedRequest", ALEXA_REQ_SESSION_ENDED},
    {"CanFulfillIntentRequest", ALEXA_REQ_CAN_FULFILL},
    {"SessionResumedRequest", ALEXA_REQ_SESSION_RESUMED},
    {"Connections.Response", ALEXA_REQ_CONNECTIONS_RESPONSE},
    {"AlexaSkillEvent.SkillEnabled", ALEXA_REQ_SKILL_ENABLED},
    {"AlexaSkillEvent.SkillDisabled", ALEXA_REQ_SKILL_DISABLED},
    {"AlexaSkillEvent.SkillPermissionAccepted", ALEXA_REQ_PERMISSION_ACCEPTED},
    {"AlexaSkillEvent.SkillPermissionChanged", ALEXA_REQ_PERMISSION_CHANGED},
    {"AlexaSkillEvent.ProactiveSubscriptionChanged", ALEXA_REQ_PROACTIVE_SUBSCRIPTION_CHANGED},
};

/* Both columns of alexa.md §5: which address spelling appears in events is unverified. */
static const struct {
    const char *scope;
    alexa_perm_t perm;
    int card; /* the spelling to put on a consent card */
} scopes[] = {
    {"read::alexa:device:all:address", ALEXA_PERM_ADDRESS, 1},
    {"alexa::devices:all:address:full:read", ALEXA_PERM_ADDRESS, 0},
    {"read::alexa:device:all:address:country_and_postal_code", ALEXA_PERM_POSTCODE, 1},
    {"alexa:devices:all:address:country_and_postal_code:read", ALEXA_PERM_POSTCODE, 0},
    {"alexa::devices:all:address:country_and_postal_code:read", ALEXA_PERM_POSTCODE, 0},
    {"alexa::profile:name:read", ALEXA_PERM_NAME, 1},
    {"alexa::profile:given_name:read", ALEXA_PERM_GIVEN_NAME, 1},
    {"alexa::profile:email:read", ALEXA_PERM_EMAIL, 1},
    {"alexa::alerts:reminders:skill:readwrite", ALEXA_PERM_REMINDERS, 1},
    {"alexa::devices:all:notifications:write", ALEXA_PERM_NOTIFICATIONS, 1},
};

const char *alexa_perm_card_scope(alexa_perm_t p)
{
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if (scopes[i].perm == p && scopes[i].card)
            return scopes[i].scope;
    return NULL;
}

unsigned alexa_perm_from_scope(const char *scope, size_t len)
{
    for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++)
        if (strlen(scopes[i].scope) == len && memcmp(scopes[i].scope, scope, len) == 0)
            return scopes[i].perm;
    return 0;
}

static const char *str_at(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key)); /* NULL-safe in jansson */
}

int alexa_request_parse(const json_t *root, alexa_request_t *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    out->session_new = -1;
    json_t *req = json_object_get(root, "request");
    const char *type = str_at(req, "type");
    if (!json_is_object(root) || !json_is_object(req) || type == NULL) {
        if (err && err_size)
            snprintf(err, err_size, "not an Alexa envelope: no request.type");
        return -1;
    }
    out->type_name = type;
    for (size_t i = 0; i < sizeof(req_types) / sizeof(req_types[0]); i++)
        if (strcmp(req_types[i].name, type) == 0)
            out->type = req_types[i].type;
    out->request_id = str_at(req, "requestId");
    out->timestamp = str_at(req, "timestamp");
    out->locale = str_at(req, "locale");

    json_t *session = json_object_get(root, "session");
    json_t *sys = json_object_get(json_object_get(root, "context"), "System");
    out->application_id = str_at(json_object_get(sys, "application"), "applicationId");
    if (out->application_id == NULL)
        out->application_id = str_at(json_object_get(session, "application"), "applicationId");
    out->user_id = str_at(json_object_get(sys, "user"), "userId");
    if (out->user_id == NULL)
        out->user_id = str_at(json_object_get(session, "user"), "userId");
    out->device_id = str_at(json_object_get(sys, "device"), "deviceId");
    /* a screen: the interface is listed (an object with runtime.maxVersion) */
    out->apl = json_is_object(json_object_get(
        json_object_get(json_object_get(sys, "device"), "supportedInterfaces"), "Alexa.Presentation.APL"));
    out->api_endpoint = str_at(sys, "apiEndpoint");
    out->api_token = str_at(sys, "apiAccessToken");

    if (json_is_object(session)) {
        out->session_id = str_at(session, "sessionId");
        json_t *n = json_object_get(session, "new");
        out->session_new = json_is_boolean(n) ? json_is_true(n) : -1;
        json_t *a = json_object_get(session, "attributes");
        out->session_attributes = json_is_object(a) ? a : NULL;
    }

    json_t *intent = json_object_get(req, "intent");
    if (json_is_object(intent)) {
        out->intent_name = str_at(intent, "name");
        out->confirmation_status = str_at(intent, "confirmationStatus");
        json_t *slots = json_object_get(intent, "slots");
        out->slots = json_is_object(slots) ? slots : NULL;
    }
    out->dialog_state = str_at(req, "dialogState");
    out->ended_reason = str_at(req, "reason");
    out->error_type = str_at(json_object_get(req, "error"), "type");

    json_t *body = json_object_get(req, "body");
    json_t *acc = json_object_get(body, "acceptedPermissions");
    if (json_is_array(acc)) {
        size_t i;
        json_t *p;
        json_array_foreach(acc, i, p) {
            json_t *sc = json_object_get(p, "scope");
            if (json_is_string(sc))
                out->accepted_permissions |= alexa_perm_from_scope(json_string_value(sc), json_string_length(sc));
        }
    }
    out->persistence_status = str_at(body, "userInformationPersistenceStatus");
    out->proactive_subscriptions = -1;
    json_t *subs = json_object_get(body, "subscriptions");
    if (json_is_array(subs)) {
        size_t i;
        json_t *e;
        out->proactive_subscriptions = 0;
        json_array_foreach(subs, i, e) {
            if (str_at(e, "eventName") != NULL)
                out->proactive_subscriptions++;
        }
    }
    json_t *granted = json_object_get(json_object_get(json_object_get(sys, "user"), "permissions"), "scopes");
    const char *sk;
    json_t *sv;
    json_object_foreach(granted, sk, sv) {
        const char *status = str_at(sv, "status");
        if (status && strcmp(status, "GRANTED") == 0)
            out->granted_scopes |= alexa_perm_from_scope(sk, strlen(sk));
    }
    return 0;
}

bool alexa_request_slot(const alexa_request_t *r, const char *name, alexa_slot_t *out)
{
    memset(out, 0, sizeof(*out));
    json_t *slot = json_object_get(r->slots, name);
    if (!json_is_object(slot))
        return false;
    out->value = str_at(slot, "value");
    json_t *auths = json_object_get(json_object_get(slot, "resolutions"), "resolutionsPerAuthority");
    size_t i;
    json_t *a;
    json_array_foreach(auths, i, a) {
        const char *code = str_at(json_object_get(a, "status"), "code");
        if (code == NULL || strcmp(code, "ER_SUCCESS_MATCH") != 0)
            continue;
        json_t *v = json_object_get(json_array_get(json_object_get(a, "values"), 0), "value");
        const char *id = str_at(v, "id");
        if (id && *id) {
            out->id = id;
            out->name = str_at(v, "name");
            break;
        }
    }
    if (out->value && *out->value == '\0')
        out->value = NULL;
    return out->value != NULL || out->id != NULL;
}

const char *alexa_slot_best(const alexa_slot_t *s)
{
    return s->id ? s->id : s->value;
}

/* Exactly n decimal digits at s. */
static bool digits(const uint8_t *s, size_t n, int *v)
{
    int x = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        x = x * 10 + (s[i] - '0');
    }
    *v = x;
    return true;
}

int alexa_date_parse(const uint8_t *s, size_t len, int today, int *first, int *last)
{
    int y, m, d, w;
    if (len == 11 && memcmp(s, "PRESENT_REF", 11) == 0) {
        *first = *last = today;
        return 0;
    }
    if (len < 4 || !digits(s, 4, &y) || y < 1)
        return -1;
    if (len == 4) { /* a year */
        *first = date_from_ymd(y, 1, 1);
        *last = date_from_ymd(y, 12, 31);
        return 0;
    }
    if (s[4] != '-')
        return -1;
    if (len == 7 && digits(s + 5, 2, &m)) { /* a month */
        if (m < 1 || m > 12)
            return -1;
        *first = date_from_ymd(y, m, 1);
        *last = date_from_ymd(y, m, date_days_in_month(y, m));
        return 0;
    }
    if (len == 10 && digits(s + 5, 2, &m) && s[7] == '-' && digits(s + 8, 2, &d)) {
        if (!date_valid_ymd(y, m, d))
            return -1;
        *first = *last = date_from_ymd(y, m, d);
        return 0;
    }
    if ((len == 8 || len == 11) && s[5] == 'W' && digits(s + 6, 2, &w)) {
        int monday;
        if (date_iso_week_monday(y, w, &monday))
            return -1;
        if (len == 8) {
            *first = monday;
            *last = monday + 6;
            return 0;
        }
        if (memcmp(s + 8, "-WE", 3) == 0) {
            *first = monday + 5;
            *last = monday + 6;
            return 0;
        }
    }
    return -1;
}
