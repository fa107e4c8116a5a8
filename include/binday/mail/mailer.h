/* mailer.h - the sender of queued emailed links: one dedicated thread that
 * takes messages from the outbox (outbox.h) and hands them to the SMTP
 * server with libcurl, so no request thread ever waits on SMTP.
 *
 * TLS is mandatory: smtps:// (implicit TLS) or smtp:// with STARTTLS
 * required (CURLUSESSL_ALL); --upstream-ca and --connect-to apply as to every
 * outbound connection. Temporary failures (no connection, timeout, TLS
 * trouble, 4xx) are retried with exponential backoff up to max_attempts;
 * permanent ones (5xx) are recorded as failed and never retried.
 * Delivery is at-least-once across crashes: a message is deleted from the
 * outbox in the txn that records its acceptance, so only a crash between
 * the server's "250" and that commit can repeat it (docs/email.md).
 */
#ifndef BINDAY_MAILER_H
#define BINDAY_MAILER_H

#include <stddef.h>

#include "binday/data/store.h"

typedef struct mailer_conf {
    const char *smtp_url;      /* smtps://HOST:PORT or smtp://HOST:PORT */
    const char *user;          /* NULL: no AUTH */
    const char *password_file; /* read once at start; trailing newline dropped */
    const char *from;          /* envelope sender */
    const char *ca_file;       /* NULL: system bundle */
    const void *connect_to;    /* curl_slist of --connect-to rules, or NULL */
    int retry_base_ms;         /* first retry delay; doubles each time (capped at 1 h) */
    int max_attempts;
} mailer_conf_t;

/* Outcome classes of one SMTP attempt (pure; unit tested). */
typedef enum { MAILER_SENT = 0, MAILER_TEMPORARY, MAILER_PERMANENT } mailer_outcome_t;
/* From libcurl's result code and the last SMTP reply code (0 if none). */
mailer_outcome_t mailer_classify(int curl_code, long smtp_code);
/* Delay before attempt number `attempts + 1` after `attempts` failures. */
long long mailer_backoff_ms(int retry_base_ms, int attempts);

/* Start the thread (the conf's strings are copied). 0, or -1 with err. */
int mailer_start(store_t *s, const mailer_conf_t *conf, char *err, size_t err_size);
/* Something was queued: look now rather than at the next timer. Any thread. */
void mailer_wake(void);
/* Stop (an SMTP exchange in progress is aborted and retried on the next
 * start) and join. Safe to call when not started. */
void mailer_stop(void);
/* Is a mailer running (i.e. is email configured)? */
int mailer_enabled(void);

/* The mailer's last SMTP attempt since start, for GET /readyz (no personal
 * data: neither recipient nor message). Any thread. */
typedef struct mailer_last {
    int attempted;  /* 0: none yet */
    int failed;     /* the last attempt did not deliver (temporary or permanent) */
    long long at_s; /* when it ended, unix seconds */
    long smtp_code; /* the server's last reply code, 0 if none */
} mailer_last_t;
void mailer_last_attempt(mailer_last_t *out);

#endif
