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
#include "binday/data/writer.h"

#define LINKMAIL_UPCOMING 6 /* collections listed in the message */

typedef struct linkmail_conf {
    store_t *store;
    const secret_key_t *feed_key; /* calendar.key (calfeed_key()) */
    const char *public_url;       /* https base of the feed links */
    const char *from;             /* mail_from */
    outbox_limits_t limits;
    writer_t *writer; /* the server's store writer (linkmail_submit) */
} linkmail_conf_t;

typedef enum {
    LINKMAIL_QUEUED = 0,
    LINKMAIL_USER_CAPPED,
    LINKMAIL_GLOBAL_CAPPED,
    LINKMAIL_BAD_ADDRESS, /* the email address is not a plain addr-spec */
    LINKMAIL_ERROR,       /* storage or configuration trouble (logged) */
    LINKMAIL_BUSY,        /* the store writer's queue is full (or stopping): nothing queued */
    LINKMAIL_PENDING      /* linkmail_submit: handed to the writer, the outcome comes to done */
} linkmail_status_t;

/* Compose the message for `res` (a lookup of `uprn` from `today`; the next
 * few collections are listed) to `email`, and queue it for the pseudonymous
 * `user`. On LINKMAIL_QUEUED the id (outbox key) is written to id_out. */
linkmail_status_t linkmail_queue(const linkmail_conf_t *conf, const lookup_result_t *res, uint64_t uprn,
                                 const char *user, const char *email, int today, long long now,
                                 char id_out[OUTBOX_ID_MAX]);

/* The server's path: compose now, and queue on conf->writer. Returns
 * LINKMAIL_PENDING when handed over: done(ud, rc, verdict, id, err) then
 * runs on `port`'s thread once the message is durable in the outbox (or the
 * write failed); map its rc and verdict with linkmail_status_of. Any other
 * status is final now (BAD_ADDRESS, ERROR, BUSY) and done is never called.
 * *job (may be NULL) is for writer_abandon. */
linkmail_status_t linkmail_submit(const linkmail_conf_t *conf, writer_port_t *port, const lookup_result_t *res,
                                  uint64_t uprn, const char *user, const char *email, int today, long long now,
                                  outbox_done_fn done, void *ud, writer_job_t **job);
/* The status of an enqueue that ended with rc and verdict. */
linkmail_status_t linkmail_status_of(int rc, outbox_verdict_t v);

#endif
