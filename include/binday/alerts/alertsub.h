/* alertsub.h - who asked to be told the evening before, and which alerts
 * went out (docs/alerts.md, docs/privacy.md).
 *
 * Subscriptions (DBI "alert_sub"): LMDB key = the pseudonymous user id
 * (SECRET_HEX_LEN hex digits); value = sealed under the user's own vault key
 * "a:<user>" (seal.h, aad = the LMDB key): the UPRN, the apiEndpoint their
 * requests carry, and the Alexa userId, which the Unicast event must name.
 * Nothing else: no address, no name, no device. Erasure (privacy.h:
 * notifications revoked, unsubscribed, address permission gone, skill
 * disabled, forget, a 403 on an alert) deletes the record and destroys the
 * key, so freed pages keep nothing readable.
 *
 * Sent records (DBI "alert_sent"): LMDB key = the referenceId (alertev.h: a
 * keyed hash, names no one); value = state (1 byte) | collection day (4 bytes,
 * big-endian). Kept ALERTSENT_KEEP_DAYS after the collection, then purged.
 */
#ifndef BINDAY_ALERTSUB_H
#define BINDAY_ALERTSUB_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"

#define ALERTSUB_DBI_NAME "alert_sub"
#define ALERTSENT_DBI_NAME "alert_sent"
#define ALERTSUB_MAX_USER 512
#define ALERTSUB_MAX_ENDPOINT 64
#define ALERTSENT_KEEP_DAYS 7

typedef struct alertsub {
    char user_hex[SECRET_HEX_LEN + 1];
    char user_id[ALERTSUB_MAX_USER + 1];
    char endpoint[ALERTSUB_MAX_ENDPOINT + 1];
    uint64_t uprn;
} alertsub_t;

/* Subscribe (or move the subscription to another property): a write txn of
 * its own. 0, or an error with a message. */
int alertsub_put(privacy_t *p, const alertsub_t *s, char *err, size_t err_size);
/* alertsub_put on the privacy writer, fire and forget (logged). Without a
 * writer, runs now. 0 queued (or done), WRITER_FULL / WRITER_STOPPED. */
int alertsub_put_submit(privacy_t *p, const alertsub_t *s);

/* Visit every subscription readable in txn (a record whose key is gone is
 * skipped: it is being erased). fn returns 0 to go on. 0, fn's value, or
 * an MDB error (VAULT_STALE: start a fresh txn and try again). */
typedef int (*alertsub_each_fn)(void *ud, const alertsub_t *s);
int alertsub_each(privacy_t *p, MDB_txn *txn, alertsub_each_fn fn, void *ud);

/* The state of an alert (its referenceId). */
enum {
    ALERTSENT_NONE = 0,    /* never tried */
    ALERTSENT_SENDING = 1, /* recorded before the first POST: a restart resends it with the same referenceId */
    ALERTSENT_SENT = 2,    /* Amazon answered 2xx or 409 (already had it) */
    ALERTSENT_DROPPED = 3, /* 403: the user's alerts stopped (subscription erased) */
    ALERTSENT_FAILED = 4   /* refused for good (400...): not retried */
};
int alertsent_get(privacy_t *p, MDB_txn *txn, const char *ref, int *state);
/* Record a state durably (its own write txn, committed before it returns). */
int alertsent_put(privacy_t *p, const char *ref, int state, int day, char *err, size_t err_size);
const char *alertsent_state_name(int state);

/* Registered in privacy_modules.c: export shows the subscription (property
 * and endpoint); forget erases it; purge drops sent records of old days. */
extern const privacy_module_t alertsub_privacy_module;

#endif
