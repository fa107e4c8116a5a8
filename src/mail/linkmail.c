/* linkmail.c - owns what an emailed link says and how it is queued: the
 * feed links of the property, its next collections, the council's page per
 * service, a stable Message-ID, and the cap checks (via outbox). */
#include "binday/mail/linkmail.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/feed/calfeed.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/mail/mailmsg.h"
#include "binday/util/xalloc.h"

/* The host of an https base URL, for the Message-ID's right-hand side. */
static void host_of(const char *url, char *dst, size_t n)
{
    const char *h = strncmp(url, "https://", 8) == 0 ? url + 8 : url;
    size_t l = strcspn(h, ":/?#");
    snprintf(dst, n, "%.*s", (int)l, h);
    for (char *p = dst; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '.' ||
              *p == '-'))
            *p = '-';
    if (!dst[0])
        snprintf(dst, n, "binday.invalid");
}

/* The message for `res` to `email`: its text (malloc'd, *len), its id and
 * the feed links as JSON (new reference). LINKMAIL_QUEUED when composed. */
static linkmail_status_t compose(const linkmail_conf_t *conf, const lookup_result_t *res, uint64_t uprn,
                                 const char *email, int today, long long now, char **text_out, size_t *len_out,
                                 char id_out[OUTBOX_ID_MAX], json_t **links_out)
{
    if (!mailmsg_addr_ok((const uint8_t *)email, strlen(email)))
        return LINKMAIL_BAD_ADDRESS;
    char token[CALFEED_TOKEN_LEN + 1];
    calfeed_token_make(conf->feed_key, uprn, token);
    calfeed_links_t links;
    if (calfeed_links(conf->public_url, token, &links) != 0) {
        log_error("mail.compose", "reason=\"public_url unusable for links\"");
        return LINKMAIL_ERROR;
    }
    mailmsg_t *m = xcalloc(1, sizeof(*m));
    char addr[512];
    snprintf(addr, sizeof(addr), "%.*s", (int)res->address.n, res->address.p ? res->address.p : "");
    m->address = addr;
    for (size_t i = 0; i < res->n_collections && m->n_cols < LINKMAIL_UPCOMING; i++) {
        const lookup_collection_t *c = &res->collections[i];
        if (c->date < today || c->cancelled)
            continue;
        mailmsg_collection_t *mc = &m->cols[m->n_cols++];
        date_long(c->date, mc->when, sizeof(mc->when));
        calfeed_summary(c, mc->what, sizeof(mc->what));
        if (c->changed && c->original != c->date) {
            char od[64];
            date_long(c->original, od, sizeof(od));
            if (c->reason.p && c->reason.n)
                snprintf(mc->note, sizeof(mc->note), "moved from %s because of %.*s", od, (int)c->reason.n,
                         c->reason.p);
            else
                snprintf(mc->note, sizeof(mc->note), "moved from %s", od);
        }
    }
    for (size_t i = 0; i < res->n_collections && m->n_services < MAILMSG_MAX_SERVICES; i++) {
        const lookup_collection_t *c = &res->collections[i];
        if (!c->link_url.p || c->link_url.n < 9 || c->link_url.n >= sizeof(m->services[0].url) ||
            strncmp(c->link_url.p, "https://", 8) != 0)
            continue; /* only https links go into a message */
        int dup = 0;
        for (size_t k = 0; k < m->n_services && !dup; k++)
            dup = strlen(m->services[k].url) == c->link_url.n &&
                  memcmp(m->services[k].url, c->link_url.p, c->link_url.n) == 0;
        if (dup)
            continue;
        mailmsg_service_t *sv = &m->services[m->n_services++];
        snprintf(sv->name, sizeof(sv->name), "%.*s", (int)c->name.n, c->name.p ? c->name.p : "");
        snprintf(sv->url, sizeof(sv->url), "%.*s", (int)c->link_url.n, c->link_url.p);
    }
    /* Message-ID and outbox key: random, fixed at queueing, so every retry
     * (and a resend after a crash) carries the same id and receivers can
     * de-duplicate */
    uint8_t rnd[16];
    if (RAND_bytes(rnd, sizeof(rnd)) != 1) {
        log_error("mail.compose", "reason=\"no random bytes\"");
        return LINKMAIL_ERROR;
    }
    char id[40], host[128], msgid[200];
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    host_of(conf->public_url, host, sizeof(host));
    snprintf(msgid, sizeof(msgid), "<%s@%s>", id, host);
    m->from = conf->from;
    m->to = email;
    m->message_id = msgid;
    m->date = now;
    m->links = &links;
    char err[300];
    size_t len = 0;
    char *text = mailmsg_build(m, &len, err, sizeof(err));
    free(m);
    if (text == NULL) {
        log_error("mail.compose", "reason=\"%s\"", err);
        return LINKMAIL_ERROR;
    }
    json_t *jl = json_pack("{s:s,s:s,s:s,s:s}", "https", links.https, "webcal", links.webcal, "google", links.google,
                           "outlook", links.outlook);
    if (jl == NULL)
        xalloc_die("links", 0);
    *text_out = text;
    *len_out = len;
    *links_out = jl;
    snprintf(id_out, OUTBOX_ID_MAX, "%s", id);
    return LINKMAIL_QUEUED;
}

static void wipe_free(char *text, size_t len)
{
    OPENSSL_cleanse(text, len); /* it names the recipient */
    free(text);
}

linkmail_status_t linkmail_queue(const linkmail_conf_t *conf, const lookup_result_t *res, uint64_t uprn,
                                 const char *user, const char *email, int today, long long now,
                                 char id_out[OUTBOX_ID_MAX])
{
    char *text, id[OUTBOX_ID_MAX], err[300];
    size_t len;
    json_t *jl;
    linkmail_status_t st = compose(conf, res, uprn, email, today, now, &text, &len, id, &jl);
    if (st != LINKMAIL_QUEUED)
        return st;
    outbox_verdict_t v = OUTBOX_QUEUED;
    err[0] = '\0';
    int rc = outbox_enqueue(conf->store, id, user, email, text, len, jl, &conf->limits, now, today, &v, err,
                            sizeof(err));
    json_decref(jl);
    wipe_free(text, len);
    st = linkmail_status_of(rc, v);
    if (rc != 0)
        log_error("mail.queue", "error=\"%s\"", err);
    if (st == LINKMAIL_QUEUED)
        snprintf(id_out, OUTBOX_ID_MAX, "%s", id);
    return st;
}

linkmail_status_t linkmail_status_of(int rc, outbox_verdict_t v)
{
    if (rc == WRITER_FULL || rc == WRITER_STOPPED)
        return LINKMAIL_BUSY;
    if (rc != 0)
        return LINKMAIL_ERROR;
    if (v == OUTBOX_USER_CAPPED)
        return LINKMAIL_USER_CAPPED;
    if (v == OUTBOX_GLOBAL_CAPPED)
        return LINKMAIL_GLOBAL_CAPPED;
    return LINKMAIL_QUEUED;
}

linkmail_status_t linkmail_submit(const linkmail_conf_t *conf, writer_port_t *port, const lookup_result_t *res,
                                  uint64_t uprn, const char *user, const char *email, int today, long long now,
                                  outbox_done_fn done, void *ud, writer_job_t **job)
{
    char *text, id[OUTBOX_ID_MAX];
    size_t len;
    json_t *jl;
    if (port == NULL || conf->writer == NULL) { /* done would run on the writer thread: a wiring mistake */
        log_error("mail.queue", "error=\"no store writer port on this thread\"");
        return LINKMAIL_ERROR;
    }
    linkmail_status_t st = compose(conf, res, uprn, email, today, now, &text, &len, id, &jl);
    if (st != LINKMAIL_QUEUED)
        return st;
    int rc = conf->writer ? outbox_enqueue_submit(conf->writer, port, conf->store, id, user, email, text, len, jl,
                                                  &conf->limits, now, today, done, ud, job)
                          : WRITER_STOPPED;
    json_decref(jl);
    wipe_free(text, len);
    if (rc != 0) {
        log_warn("mail.queue", "error=\"not queued: %s\"", rc == WRITER_FULL ? "writer queue full" : "no writer");
        return LINKMAIL_BUSY;
    }
    return LINKMAIL_PENDING;
}
