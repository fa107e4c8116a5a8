/* alerts.h - the evening-before alert sender (docs/alerts.md): which
 * subscribers have a collection tomorrow (moved dates applied), the Login
 * with Amazon token, and one Unicast AMAZON.TrashCollectionAlert.Activated
 * event per subscriber and day through the Proactive Events API.
 *
 * Runs on a thread of its own (`binday serve`: alerts_start) or on the
 * caller's thread (`binday alerts send`); it blocks on libcurl, never on an
 * event loop. Each alert is recorded "sending" durably before its first
 * POST and "sent" after Amazon's 2xx/409; its referenceId is deterministic,
 * so a resend after a crash carries the same id and Amazon drops it.
 */
#ifndef BINDAY_ALERTS_H
#define BINDAY_ALERTS_H

#include <jansson.h>
#include <stddef.h>
#include <time.h>

#include "binday/alerts/alertev.h"
#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"

#define ALERTS_DEFAULT_MINUTE (18 * 60)
#define ALERTS_MAX_PLAN 100000 /* alerts prepared per pass; the rest go in the next pass */

typedef struct alerts_conf {
    const char *client_id;   /* Login with Amazon client id; NULL: alerts off */
    const char *secret_file; /* the client secret, one line */
    int live;                /* 1: /v1/proactiveEvents; 0: .../stages/development */
    int send_minute;         /* Europe/London minute of the day alerts start */
    long retry_base_ms;      /* first retry after 429/5xx, doubling (default 1000) */
    int max_attempts;        /* per alert and pass (default 5) */
    alertev_map_t map;       /* service id -> garbageTypes */
    const secret_key_t *ref_key; /* keys referenceIds (the pseudonym key) */
    const char *ca_file;     /* outbound trust (NULL: system) */
    const void *connect_to;  /* a struct curl_slist of CURLOPT_CONNECT_TO rules, or NULL */
    const char *token_url;   /* NULL: https://api.amazon.com/auth/o2/token */
    int fixed_today;         /* serve --today (demos, tests): the thread's passes take this date with the
                                real time of day; 0 = the real date */
} alerts_conf_t;

/* The alerts_* keys of a serve configuration document (schemas/
 * config.schema.json) into *c; strings are borrowed from doc. Alerts are off
 * (c->client_id NULL) unless alerts_client_id is set. 0, or -1 with a message. */
int alerts_conf_from_json(const json_t *doc, alerts_conf_t *c, char *err, size_t err_size);

typedef struct alerts_stats {
    int day;             /* the collection day considered (0: nothing due yet) */
    size_t subscribers;  /* readable subscriptions */
    size_t due;          /* with a mapped collection that day */
    size_t unmapped;     /* collections that day, but no service mapped to a garbageType */
    size_t already;      /* finished in an earlier pass (sent, dropped or failed) */
    size_t sent, duplicate, dropped, failed, pending, retries;
    size_t by_type[ALERTEV_N_GARBAGE]; /* due alerts naming each garbageType */
} alerts_stats_t;

/* What would be sent for the collections of `day`: counts only. */
int alerts_preview(privacy_t *p, const alerts_conf_t *c, int day, alerts_stats_t *st, char *err, size_t err_size);

typedef struct alerts alerts_t;
/* conf is copied (its strings and connect_to must outlive the sender). */
alerts_t *alerts_new(privacy_t *p, const alerts_conf_t *conf);
void alerts_free(alerts_t *a);
/* Send what is due at `now` (nothing before the send time). 0 (see *st),
 * or -1 with a message (store, or no token: nothing could be sent). */
int alerts_send_due(alerts_t *a, time_t now, alerts_stats_t *st, char *err, size_t err_size);

/* `binday serve`: a thread that runs alerts_send_due at start and then
 * every minute while alerts are pending (every 10 minutes otherwise).
 * alerts_stop interrupts a backoff or a transfer and joins. */
int alerts_start(alerts_t *a);
void alerts_stop(alerts_t *a);

#endif
