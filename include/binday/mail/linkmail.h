/* linkmail.h - "email me the link": compose the message for one property
 * and queue it in the outbox under the caps. Called by the skill on its
 * request thread; it only reads the lookup result it is given and writes
 * one LMDB txn - the SMTP work happens later on the mailer thread.
 */
#ifndef BINDAY_LINKMAIL_H
#define BINDAY_LINKMAIL_H

#include <stdint.h>

#include "binday/data/lookup.h"
#include "binday/mail/outbox.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

#define LINKMAIL_UPCOMING 6 /* collections listed in the message */

typedef struct linkmail_conf {
    store_t *store;
    const secret_key_t *feed_key; /* calendar.key (calfeed_key()) */
    const char *public_url;       /* https base of the feed links */
    const char *from;             /* mail_from */
    outbox_limits_t limits;
} linkmail_conf_t;

typedef enum {
    LINKMAIL_QUEUED = 0,
    LINKMAIL_USER_CAPPED,
    LINKMAIL_GLOBAL_CAPPED,
    LINKMAIL_BAD_ADDRESS, /* the email address is not a plain addr-spec */
    LINKMAIL_ERROR        /* storage or configuration trouble (logged) */
} linkmail_status_t;

/* Compose the message for `res` (a lookup of `uprn` from `today`; the next
 * few collections are listed) to `email`, and queue it for the pseudonymous
 * `user`. On LINKMAIL_QUEUED the id (outbox key) is written to id_out. */
linkmail_status_t linkmail_queue(const linkmail_conf_t *conf, const lookup_result_t *res, uint64_t uprn,
                                 const char *user, const char *email, int today, long long now,
                                 char id_out[OUTBOX_ID_MAX]);

#endif
