/* outbox.h - the durable queue of emailed links, the per-user and global
 * limits, and the delivery records that stay behind as case records.
 *
 * Three DBIs (pass outbox_dbi_defs to store_open):
 *   mail_outbox  id -> {"sealed" (or "to","msg" without a vault),"user",
 *                "queued_at","attempts","next_at_ms"}
 *                A queued message. It holds the only copy of the email
 *                address, and is deleted in the same txn that records the
 *                outcome once the SMTP server accepted (or refused) it.
 *   mail_log     id -> {"kind","user","queued_at","status","attempts",
 *                "updated_at","links",["smtp_code"],["error"]}
 *                The case record: pseudonymous user, times, links, status
 *                (queued / sent / failed / gave_up). No address, no body.
 *   mail_limits  "d:YYYY-MM-DD:USER" and "h:HOUR" -> count (decimal)
 *                Counters for the daily per-user cap and the hourly global
 *                cap; old counters are pruned on each enqueue.
 * Every write is one LMDB txn (store_write), durable on commit.
 */
#ifndef BINDAY_OUTBOX_H
#define BINDAY_OUTBOX_H

#include <jansson.h>
#include <stddef.h>

#include "binday/data/store.h"
#include "binday/data/writer.h"

#define OUTBOX_N_DBI 3
#define OUTBOX_ID_MAX 96
extern const store_dbi_def_t outbox_dbi_defs[OUTBOX_N_DBI];

typedef struct outbox_limits {
    int user_daily;    /* per pseudonymous user per Europe/London day */
    int global_hourly; /* across all users per UTC hour */
} outbox_limits_t;

typedef enum { OUTBOX_QUEUED = 0, OUTBOX_USER_CAPPED, OUTBOX_GLOBAL_CAPPED } outbox_verdict_t;

/* Queue one message unless a cap is reached (counters are raised only when
 * it is queued). `links` (borrowed) is copied into the case record.
 * Returns 0 with *verdict set, or an MDB error (message in err). */
int outbox_enqueue(store_t *s, const char *id, const char *user, const char *to, const char *msg, size_t msg_len,
                   json_t *links, const outbox_limits_t *lim, long long now, int today, outbox_verdict_t *verdict,
                   char *err, size_t err_size);

/* outbox_enqueue on the store writer (writer.h), for the server: the
 * arguments are copied (the address and text wiped when done), the write
 * commits on the writer thread, and done(ud, rc, verdict, id, err) runs on
 * `port`'s thread once it is durable (rc 0) or failed. Returns 0 (*job for
 * writer_abandon), or WRITER_FULL / WRITER_STOPPED: nothing queued, done
 * never called. */
typedef void (*outbox_done_fn)(void *ud, int rc, outbox_verdict_t verdict, const char *id, const char *err);
int outbox_enqueue_submit(writer_t *w, writer_port_t *port, store_t *s, const char *id, const char *user,
                          const char *to, const char *msg, size_t msg_len, json_t *links, const outbox_limits_t *lim,
                          long long now, int today, outbox_done_fn done, void *ud, writer_job_t **job);

/* A queued message for the sender. Free with outbox_item_free. */
typedef struct outbox_item {
    char id[OUTBOX_ID_MAX];
    char *to;
    char *msg;
    size_t msg_len;
    int attempts;
    long long next_at_ms;
} outbox_item_t;
void outbox_item_free(outbox_item_t *it);

/* The next message due at now_ms (earliest next_at first). Returns 1 and
 * fills *it; 0 when none is due (*earliest_ms = the earliest next_at, or -1
 * when the outbox is empty); or -1 with a message in err. */
int outbox_next(store_reader_t *r, long long now_ms, outbox_item_t *it, long long *earliest_ms, char *err,
                size_t err_size);

/* Final outcome: delete the queued message (and with it the address), its
 * key and (with a vault) the KEK that sealed that key, and set the case
 * record's status ("sent", "failed", "gave_up"). */
int outbox_finish(store_t *s, const char *id, const char *status, int attempts, long smtp_code, const char *error,
                  long long now, char *err, size_t err_size);
/* A temporary failure: keep it, try again at next_at_ms. */
int outbox_retry(store_t *s, const char *id, int attempts, long long next_at_ms, long smtp_code, const char *error,
                 long long now, char *err, size_t err_size);

/* Call fn for each case record (id, JSON text) in id order, with the number
 * of messages still queued. 0, or -1 with a message in err. */
typedef void (*outbox_log_fn)(const char *id, size_t id_len, const char *json, size_t len, void *ud);
int outbox_log_each(store_reader_t *r, outbox_log_fn fn, void *ud, char *err, size_t err_size);

/* The privacy module (registered in privacy_modules.c): export of queued
 * messages and case records; forget on email/user consent loss (queued
 * messages deleted, their records "cancelled"; case records stripped of links,
 * or deleted by `binday user forget`); purge of case records past the
 * case-record retention period. */
struct privacy_module;
extern const struct privacy_module outbox_privacy_module;

/* Queued messages (address and text) are sealed with per-message keys from
 * the privacy vault: privacy_open wires it through this module's attach hook
 * and privacy_close clears it (without it, as in unit tests of the queue
 * alone, they are stored plain). With a vault, outbox_finish destroys the
 * message's key and rotates the vault in the same txn (the address is
 * unreadable, free pages included, once the outcome is committed). */

/* Messages still queued (for /healthz and tests). -1 on error. */
long outbox_pending(store_reader_t *r);
/* Messages still queued and the queued_at (Unix seconds) of the oldest, or
 * 0 when none (for the metrics). 0, or -1 on error. */
int outbox_stats(store_reader_t *r, long *pending, long long *oldest_queued_at);

#endif
