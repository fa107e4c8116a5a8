/* alexa_request.h - what the skill needs from a parsed Alexa request envelope
 * (alexa.md §2, §5, §6): request type, intent and slots (entity-resolution ids
 * preferred), AMAZON.DATE values, session, user, device, API endpoint and
 * token, and skill-event permission sets.
 *
 * Pure extraction: every `const char *` in an alexa_request_t and
 * alexa_slot_t is borrowed from the json_t given to alexa_request_parse() and
 * stays valid while that json_t lives; nothing is allocated or copied. The
 * envelope must already be verified (signature, timestamp, application id).
 * Unknown keys and request types are ignored, never an error.
 */
#ifndef BINDAY_ALEXA_REQUEST_H
#define BINDAY_ALEXA_REQUEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    ALEXA_REQ_UNKNOWN = 0, /* a type Amazon added later: answer politely / ignore */
    ALEXA_REQ_LAUNCH,
    ALEXA_REQ_INTENT,
    ALEXA_REQ_SESSION_ENDED,
    ALEXA_REQ_CAN_FULFILL,
    ALEXA_REQ_SESSION_RESUMED,
    ALEXA_REQ_CONNECTIONS_RESPONSE,
    ALEXA_REQ_SKILL_ENABLED,
    ALEXA_REQ_SKILL_DISABLED,
    ALEXA_REQ_PERMISSION_ACCEPTED,
    ALEXA_REQ_PERMISSION_CHANGED,
    ALEXA_REQ_PROACTIVE_SUBSCRIPTION_CHANGED /* body.subscriptions: [] = unsubscribed */
} alexa_req_type_t;

/* Permissions as flags; both address spellings map to ALEXA_PERM_ADDRESS. */
typedef enum {
    ALEXA_PERM_ADDRESS = 1u << 0,  /* full device address */
    ALEXA_PERM_POSTCODE = 1u << 1, /* country and postal code */
    ALEXA_PERM_NAME = 1u << 2,
    ALEXA_PERM_GIVEN_NAME = 1u << 3,
    ALEXA_PERM_EMAIL = 1u << 4,
    ALEXA_PERM_REMINDERS = 1u << 5,
    ALEXA_PERM_NOTIFICATIONS = 1u << 6 /* alexa::devices:all:notifications:write (proactive events) */
} alexa_perm_t;
#define ALEXA_PERM_LAST ALEXA_PERM_NOTIFICATIONS

/* The spelling for an AskForPermissionsConsent card (one flag), NULL if unknown. */
const char *alexa_perm_card_scope(alexa_perm_t p);
/* Flag for a scope string in either spelling (card/event or manifest); 0 if unknown. */
unsigned alexa_perm_from_scope(const char *scope, size_t len);

typedef struct alexa_request {
    alexa_req_type_t type;
    const char *type_name;      /* request.type as sent (also for UNKNOWN) */
    const char *request_id;
    const char *timestamp;
    const char *locale;
    const char *application_id; /* context.System.application, else session.application */
    const char *user_id;        /* context.System.user, else session.user */
    const char *device_id;      /* NULL for skill events */
    int apl;                    /* the device lists Alexa.Presentation.APL (has a screen) */
    const char *api_endpoint;
    const char *api_token;      /* never log or store it */
    const char *session_id;     /* NULL without a session (events) */
    int session_new;            /* 1, 0, or -1 when there is no session */
    json_t *session_attributes; /* borrowed object, or NULL */
    /* IntentRequest / CanFulfillIntentRequest */
    const char *intent_name;
    const char *dialog_state;
    const char *confirmation_status;
    json_t *slots;              /* borrowed object, or NULL */
    /* SessionEndedRequest */
    const char *ended_reason;
    const char *error_type;
    /* skill events: the full accepted set (SkillPermissionAccepted/Changed) */
    unsigned accepted_permissions;
    const char *persistence_status; /* SkillDisabled: PERSISTED / NOT_PERSISTED */
    /* ProactiveSubscriptionChanged: how many of body.subscriptions name an
     * event (0: the user unsubscribed from all), -1 when there is no list */
    int proactive_subscriptions;
    /* context.System.user.permissions.scopes{scope: {status: "GRANTED"}}
     * (sent for notification and reminder scopes; unverified for others) */
    unsigned granted_scopes;
} alexa_request_t;

/* Fill *out from a parsed envelope. Returns 0, or -1 with a reason in err when
 * it is not an Alexa envelope at all (no object `request` with a string type). */
int alexa_request_parse(const json_t *root, alexa_request_t *out, char *err, size_t err_size);

typedef struct alexa_slot {
    const char *value; /* the words Alexa heard (may be NULL) */
    const char *id;    /* entity-resolution id on ER_SUCCESS_MATCH, else NULL */
    const char *name;  /* the resolved canonical name, else NULL */
} alexa_slot_t;

/* Look up slot `name`. Returns true when it carries a value or an id. */
bool alexa_request_slot(const alexa_request_t *r, const char *name, alexa_slot_t *out);
/* The id if resolved, else the raw value, else NULL. */
const char *alexa_slot_best(const alexa_slot_t *s);

/* An AMAZON.DATE value as an inclusive range of day numbers (civil.h).
 * Understands "2026-12-02", "2026-W49" (Monday-Sunday), "2026-W49-WE"
 * (Saturday-Sunday), "2026-12" (month), "2026" (year), "PRESENT_REF"
 * (today). Returns 0, or -1 for anything else (seasons, decades, "XXXX-..."
 * forms, invalid dates). Pure; fuzzed. */
int alexa_date_parse(const uint8_t *s, size_t len, int today, int *first, int *last);

#endif
