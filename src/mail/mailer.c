/* mailer.c - owns the SMTP side of emailed links: the mailer thread, its
 * schedule (wake-ups, backoff), and one libcurl exchange per attempt. */
#include "binday/mail/mailer.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/mail/outbox.h"
#include "binday/util/xalloc.h"

#define MAILER_CONNECT_TIMEOUT_S 10L
#define MAILER_TIMEOUT_S 60L
#define MAILER_IDLE_MS 60000LL /* look at the outbox at least this often */

mailer_outcome_t mailer_classify(int curl_code, long smtp_code)
{
    if (curl_code == CURLE_OK)
        return MAILER_SENT;
    /* the server's word wins when there is one (RFC 5321 §4.2.1) */
    if (smtp_code >= 500 && smtp_code <= 599)
        return MAILER_PERMANENT;
    if (smtp_code >= 400 && smtp_code <= 499)
        return MAILER_TEMPORARY;
    switch (curl_code) {
    case CURLE_LOGIN_DENIED:        /* 535 without a code seen: credentials need fixing */
    case CURLE_URL_MALFORMAT:
    case CURLE_UNSUPPORTED_PROTOCOL:
        return MAILER_PERMANENT;
    default:
        /* refused, timeouts, DNS, TLS, a cut connection: may work later */
        return MAILER_TEMPORARY;
    }
}

long long mailer_backoff_ms(int retry_base_ms, int attempts)
{
    long long d = retry_base_ms > 0 ? retry_base_ms : 1000;
    for (int i = 1; i < attempts && d < 3600000LL; i++)
        d *= 2;
    return d > 3600000LL ? 3600000LL : d;
}

static struct {
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int running, stop, wake;
    store_t *store;
    char *url, *user, *password, *from, *ca;
    const void *connect_to;
    int retry_base_ms, max_attempts;
    mailer_last_t last; /* under mu */
    store_reader_t *metrics_reader; /* the outbox gauges' (collect) */
} M = {.mu = PTHREAD_MUTEX_INITIALIZER};

void mailer_last_attempt(mailer_last_t *out)
{
    pthread_mutex_lock(&M.mu);
    *out = M.last;
    pthread_mutex_unlock(&M.mu);
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

typedef struct reader {
    const char *p;
    size_t len, off;
} reader_t;

static size_t read_cb(char *buf, size_t size, size_t nitems, void *ud)
{
    reader_t *r = ud;
    size_t n = size * nitems, left = r->len - r->off;
    if (n > left)
        n = left;
    memcpy(buf, r->p + r->off, n);
    r->off += n;
    return n;
}

static int progress_cb(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)ud, (void)a, (void)b, (void)c, (void)d;
    pthread_mutex_lock(&M.mu);
    int stop = M.stop;
    pthread_mutex_unlock(&M.mu);
    return stop; /* non-zero aborts the exchange */
}

/* One attempt. Returns the curl code; *smtp_code the last reply code. */
static int send_one(const outbox_item_t *it, long *smtp_code, char *errbuf)
{
    CURL *c = curl_easy_init();
    if (c == NULL)
        return CURLE_OUT_OF_MEMORY;
    char from[300], to[300];
    snprintf(from, sizeof(from), "<%s>", M.from);
    snprintf(to, sizeof(to), "<%s>", it->to);
    struct curl_slist *rcpt = curl_slist_append(NULL, to);
    reader_t rd = {it->msg, it->msg_len, 0};
    errbuf[0] = '\0';
    curl_easy_setopt(c, CURLOPT_URL, M.url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_USE_SSL, (long)CURLUSESSL_ALL); /* STARTTLS required, never plain */
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (M.ca)
        curl_easy_setopt(c, CURLOPT_CAINFO, M.ca);
    if (M.connect_to)
        curl_easy_setopt(c, CURLOPT_CONNECT_TO, (struct curl_slist *)M.connect_to);
    if (M.user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, M.user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, M.password);
    }
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
    curl_easy_setopt(c, CURLOPT_READDATA, &rd);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)it->msg_len);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, MAILER_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_TIMEOUT, MAILER_TIMEOUT_S);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    *smtp_code = code;
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(c);
    return (int)rc;
}

/* What goes in the log and the case record: libcurl's words, which name
 * hosts and codes but never the recipient (no verbose mode). */
static void reason_of(int rc, const char *errbuf, char *out, size_t n)
{
    snprintf(out, n, "%s", errbuf[0] ? errbuf : curl_easy_strerror((CURLcode)rc));
    for (char *p = out; *p; p++)
        if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
            *p = ' ';
    /* libcurl may quote the recipient in an RCPT error: drop anything after '<' */
    char *lt = strchr(out, '<');
    if (lt)
        *lt = '\0';
}

/* ---- metrics (docs/metrics.md) ---- */
static const char *const outcome_labels[] = {"sent", "failed", "gave_up", "retry"};
METRICS_DEFINE(m_sends, METRICS_COUNTER, "binday_mail_send_attempts_total",
               "SMTP attempts by outcome: sent, failed (permanent), gave_up (last attempt), retry (temporary)",
               "outcome", outcome_labels, 4, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_depth, METRICS_GAUGE, "binday_mail_outbox_messages", "Messages queued in the outbox (not yet sent)",
               NULL, NULL, 1, NULL, NULL, 1, NULL, 0)
METRICS_DEFINE(m_oldest, METRICS_GAUGE, "binday_mail_outbox_oldest_age_seconds",
               "Age of the oldest message still queued in the outbox (0 when empty)", NULL, NULL, 1, NULL, NULL, 1,
               NULL, 0)

/* at scrape time, under the registry's lock (so the reader is used by one
 * thread at a time) */
static void collect(void *ud)
{
    long n = 0;
    long long oldest = 0;
    if (outbox_stats(ud, &n, &oldest) != 0)
        return;
    long long now = now_ms() / 1000;
    metrics_set(&m_depth, 0, 0, n);
    metrics_set(&m_oldest, 0, 0, oldest > 0 && now > oldest ? now - oldest : 0);
}

static void process(store_reader_t *r, outbox_item_t *it)
{
    char err[300], errbuf[CURL_ERROR_SIZE], why[CURL_ERROR_SIZE];
    long code = 0;
    int rc = send_one(it, &code, errbuf);
    int attempts = it->attempts + 1;
    long long t = now_ms();
    mailer_outcome_t o = mailer_classify(rc, code);
    pthread_mutex_lock(&M.mu);
    int stopping = M.stop;
    if (o == MAILER_SENT || !stopping)
        M.last = (mailer_last_t){1, o != MAILER_SENT, t / 1000, code};
    pthread_mutex_unlock(&M.mu);
    if (o != MAILER_SENT && stopping) {
        log_info("mail.interrupted", "id=%s note=\"retried on next start\"", it->id);
        return; /* not an attempt: the record stays as it was */
    }
    reason_of(rc, errbuf, why, sizeof(why));
    int wrc;
    if (o == MAILER_SENT) {
        wrc = outbox_finish(M.store, it->id, "sent", attempts, code, NULL, t / 1000, err, sizeof(err));
        log_info("mail.sent", "id=%s attempts=%d smtp_code=%ld", it->id, attempts, code);
    } else if (o == MAILER_PERMANENT) {
        wrc = outbox_finish(M.store, it->id, "failed", attempts, code, why, t / 1000, err, sizeof(err));
        log_warn("mail.failed", "id=%s attempts=%d smtp_code=%ld reason=\"%s\"", it->id, attempts, code, why);
    } else if (attempts >= M.max_attempts) {
        wrc = outbox_finish(M.store, it->id, "gave_up", attempts, code, why, t / 1000, err, sizeof(err));
        log_warn("mail.gave_up", "id=%s attempts=%d smtp_code=%ld reason=\"%s\"", it->id, attempts, code, why);
    } else {
        long long delay = mailer_backoff_ms(M.retry_base_ms, attempts);
        wrc = outbox_retry(M.store, it->id, attempts, t + delay, code, why, t / 1000, err, sizeof(err));
        log_warn("mail.retry", "id=%s attempts=%d smtp_code=%ld delay_ms=%lld reason=\"%s\"", it->id, attempts,
                 code, delay, why);
    }
    metrics_inc(&m_sends, o == MAILER_SENT ? 0 : o == MAILER_PERMANENT ? 1 : attempts >= M.max_attempts ? 2 : 3, 0);
    if (wrc != 0)
        log_error("mail.record", "id=%s error=\"%s\"", it->id, err);
    (void)r;
}

static void *thread_main(void *arg)
{
    (void)arg;
    store_reader_t *r = store_reader_new(M.store);
    if (r == NULL) {
        log_error("mail.start", "reason=\"reader\"");
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&M.mu);
        int stop = M.stop;
        M.wake = 0;
        pthread_mutex_unlock(&M.mu);
        if (stop)
            break;
        outbox_item_t it;
        long long earliest = -1;
        char err[300];
        long long t = now_ms();
        int got = outbox_next(r, t, &it, &earliest, err, sizeof(err));
        if (got == 1) {
            process(r, &it);
            outbox_item_free(&it);
            continue;
        }
        if (got < 0)
            log_error("mail.outbox", "error=\"%s\"", err);
        long long wait = MAILER_IDLE_MS;
        if (got == 0 && earliest >= 0 && earliest - t < wait)
            wait = earliest - t > 0 ? earliest - t : 0;
        if (got < 0)
            wait = 5000;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        long long ns = (long long)until.tv_nsec + (wait % 1000) * 1000000LL;
        until.tv_sec += (time_t)(wait / 1000 + ns / 1000000000LL);
        until.tv_nsec = (long)(ns % 1000000000LL);
        pthread_mutex_lock(&M.mu);
        while (!M.stop && !M.wake)
            if (pthread_cond_timedwait(&M.cv, &M.mu, &until) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&M.mu);
    }
    store_reader_free(r);
    return NULL;
}

static char *read_secret(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        snprintf(err, err_size, "smtp_password_file: cannot open %s", path);
        return NULL;
    }
    char buf[1024];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
        buf[--n] = '\0';
    if (n == 0) {
        snprintf(err, err_size, "smtp_password_file: empty");
        return NULL;
    }
    char *p = xstrdup(buf);
    memset(buf, 0, sizeof(buf));
    return p;
}

static char *dup_or_null(const char *s)
{
    if (s == NULL)
        return NULL;
    return xstrdup(s);
}

static void free_conf(void)
{
    if (M.password)
        memset(M.password, 0, strlen(M.password));
    free(M.url), free(M.user), free(M.password), free(M.from), free(M.ca);
    M.url = M.user = M.password = M.from = M.ca = NULL;
}

int mailer_start(store_t *s, const mailer_conf_t *conf, char *err, size_t err_size)
{
    if (M.running) {
        snprintf(err, err_size, "mailer already running");
        return -1;
    }
    M.store = s;
    M.url = dup_or_null(conf->smtp_url);
    M.user = dup_or_null(conf->user);
    M.from = dup_or_null(conf->from);
    M.ca = dup_or_null(conf->ca_file);
    M.connect_to = conf->connect_to;
    M.retry_base_ms = conf->retry_base_ms;
    M.max_attempts = conf->max_attempts > 0 ? conf->max_attempts : 1;
    if (conf->user) {
        M.password = read_secret(conf->password_file, err, err_size);
        if (M.password == NULL) {
            free_conf();
            return -1;
        }
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_cond_init(&M.cv, &ca);
    pthread_condattr_destroy(&ca);
    M.stop = M.wake = 0;
    if (pthread_create(&M.tid, NULL, thread_main, NULL) != 0) {
        snprintf(err, err_size, "mailer: cannot start thread");
        free_conf();
        return -1;
    }
    M.running = 1;
    M.metrics_reader = store_reader_new(s);
    if (M.metrics_reader && metrics_add_collector(collect, M.metrics_reader) != 0) {
        store_reader_free(M.metrics_reader);
        M.metrics_reader = NULL;
    }
    return 0;
}

void mailer_wake(void)
{
    pthread_mutex_lock(&M.mu);
    M.wake = 1;
    if (M.running)
        pthread_cond_signal(&M.cv);
    pthread_mutex_unlock(&M.mu);
}

void mailer_stop(void)
{
    if (!M.running)
        return;
    pthread_mutex_lock(&M.mu);
    M.stop = 1;
    pthread_cond_signal(&M.cv);
    pthread_mutex_unlock(&M.mu);
    pthread_join(M.tid, NULL);
    pthread_cond_destroy(&M.cv);
    if (M.metrics_reader) {
        metrics_remove_collector(collect, M.metrics_reader);
        store_reader_free(M.metrics_reader);
        M.metrics_reader = NULL;
    }
    M.running = 0;
    free_conf();
}

int mailer_enabled(void)
{
    return M.running;
}
