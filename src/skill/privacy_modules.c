/* privacy_modules.c - the registry of stores that hold personal data
 * (privacy.h). Add a store here with one line; its DBIs are then opened by
 * every command that opens the store through privacy_dbi_defs(). */
#include "binday/alerts/alertsub.h"
#include "binday/skill/choice.h"
#include "binday/mail/outbox.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/transcript.h"
#include "binday/staff/audit.h"

extern const privacy_module_t privacy_events_module; /* privacy.c */

const privacy_module_t *const privacy_modules[] = {
    &privacy_events_module,
    &choice_privacy_module,
    &transcript_privacy_module,
    &outbox_privacy_module,
    &staff_privacy_module, /* staff accounts and the audit log (case records) */
    &alertsub_privacy_module, /* evening-before alert subscriptions (docs/alerts.md) */
};
const size_t privacy_n_modules = sizeof(privacy_modules) / sizeof(privacy_modules[0]);
