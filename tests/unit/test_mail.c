/* test_mail.c - emailed links: address checks and header cleaning, the MIME
 * message, the SMTP outcome classes and backoff, and the LMDB outbox (queue,
 * caps, due order, retry, final records) on a real environment. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "binday/util/b64.h"
#include "binday/mail/mailer.h"
#include "binday/mail/mailmsg.h"
#include "binday/mail/outbox.h"
#include "binday/data/store.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/vault.h"
#include "tap.h"

static int addr_ok(const char *s)
{
    return mailmsg_addr_ok((const uint8_t *)s, strlen(s));
}

static char *decode_part(const char *msg, const char *ctype)
{
    const char *p = strstr(msg, ctype);
    if (!p)
        return NULL;
    p = strstr(p, "\r\n\r\n");
    if (!p)
        return NULL;
    p += 4;
    const char *end = strstr(p, "\r\n--");
    char *b64 = calloc(1, (size_t)(end - p) + 1);
    size_t n = 0;
    for (const char *q = p; q < end; q++)
        if (*q != '\r' && *q != '\n')
            b64[n++] = *q;
    uint8_t *out = calloc(1, n + 1);
    size_t on = 0;
    if (b64_decode_strict((const uint8_t *)b64, n, out, n + 1, &on) != 0) {
        free(b64);
        free(out);
        return NULL;
    }
    free(b64);
    out[on] = 0;
    return (char *)out;
}

static void test_addresses(void)
{
    ok(addr_ok("jane@example.com"), "plain address");
    ok(addr_ok("jane.o'neil+bins@mail.example.co.uk"), "address with ' + and subdomains");
    const char *bad[] = {"jane@example.com\r\nBcc: x@y.z", "jane@example.com>", "<jane@example.com>",
                         "Jane <jane@example.com>", "jane smith@example.com", "jane@@example.com",
                         "jane@example", ".jane@example.com", "jane.@example.com", "ja..ne@example.com",
                         "jane@-example.com", "jane@example-.com", "jane@exa mple.com", "\"jane\"@example.com",
                         "jane@example.com\n", "", "@example.com", "jane@", "j\xc3\xa9@example.com"};
    int all = 1;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (addr_ok(bad[i])) {
            all = 0;
            printf("# accepted: %s\n", bad[i]);
        }
    ok(all, "unsafe or invalid addresses refused");
    char big[300];
    memset(big, 'a', sizeof(big));
    memcpy(big + 250, "@ex.com", 8);
    ok(!addr_ok(big), "over 254 bytes refused");

    char h[64];
    mailmsg_header_clean(h, sizeof(h), "a\r\nBcc: x\x01y", 11);
    is_str(h, "a  Bcc: x y", "header clean: CR/LF and controls become spaces");
    mailmsg_header_clean(h, sizeof(h), "caf\xc3\xa9\xff", 6);
    is_str(h, "caf\xc3\xa9 ", "header clean: valid UTF-8 kept, invalid replaced");
    mailmsg_header_clean(h, sizeof(h), "a\xc0\xaf" "b\xe0\x80\xaf" "c\xed\xa0\x80" "d\xf4\x90\x80\x80" "e", 17);
    is_str(h, "a  b   c   d    e", "header clean: overlongs, a surrogate and > U+10FFFF become spaces");
    mailmsg_header_clean(h, sizeof(h), "x\xc2\x85y\xc2\xa0z\xe2\x82\xac", 10);
    is_str(h, "x y\xc2\xa0z\xe2\x82\xac", "header clean: C1 control (NEL) one space; NBSP and euro kept");
    mailmsg_header_clean(h, sizeof(h), "caf\xe2\x82!", 6);
    is_str(h, "caf !", "header clean: a cut-short sequence is one space");
    char h6[5];
    is_int((int)mailmsg_header_clean(h6, sizeof(h6), "caf\xc3\xa9s", 6), 3, "header clean: cut before a character that does not fit");
    is_str(h6, "caf", "header clean: never half a character");
}

static void test_message(void)
{
    calfeed_links_t L;
    calfeed_links("https://bins.example.gov.uk", "0123456789abcdef0123456789abcdef", &L);
    mailmsg_t m;
    memset(&m, 0, sizeof(m));
    m.from = "bins@breckland.example";
    m.to = "jane@example.com";
    m.message_id = "<abc@bins.example.gov.uk>\r\nBcc: evil@x.example";
    m.date = 1764547200;
    m.address = "12 HIGH STREET <script>, DEREHAM\r\nBcc: evil@x.example";
    m.n_cols = 1;
    snprintf(m.cols[0].when, sizeof(m.cols[0].when), "Tuesday 1 December 2026");
    snprintf(m.cols[0].what, sizeof(m.cols[0].what), "Black bin - recycling");
    snprintf(m.cols[0].note, sizeof(m.cols[0].note), "moved from Monday 30 November 2026");
    m.n_services = 1;
    snprintf(m.services[0].name, sizeof(m.services[0].name), "Recycling");
    snprintf(m.services[0].url, sizeof(m.services[0].url), "https://www.breckland.gov.uk/recycling?a=1&b=2");
    m.links = &L;
    char err[200];
    size_t len = 0;
    char *msg = mailmsg_build(&m, &len, err, sizeof(err));
    ok(msg != NULL, "message built");
    if (!msg)
        return;
    ok(strncmp(msg, "From: Breckland Council bins <bins@breckland.example>\r\nTo: jane@example.com\r\n", 77) == 0,
       "From and To headers first");
    ok(strstr(msg, "\r\nMessage-ID: <abc@bins.example.gov.uk>  Bcc: evil@x.example\r\n") != NULL,
       "a CR/LF in a header value cannot start a header");
    ok(strstr(msg, "\r\nBcc:") == NULL, "no Bcc header");
    ok(strstr(msg, "\r\nDate: Mon, 01 Dec 2025 00:00:00 +0000\r\n") != NULL, "Date header (RFC 5322)");
    ok(strstr(msg, "Content-Type: multipart/alternative; boundary=") != NULL, "multipart/alternative");
    int bare = 0;
    for (size_t i = 0; i < len; i++)
        if ((msg[i] == '\n' && (i == 0 || msg[i - 1] != '\r')) || (msg[i] == '\r' && msg[i + 1] != '\n'))
            bare = 1;
    ok(!bare, "CRLF line ends only");
    size_t maxline = 0, cur = 0;
    for (size_t i = 0; i < len; i++) {
        if (msg[i] == '\n')
            cur = 0;
        else if (++cur > maxline)
            maxline = cur;
    }
    ok(maxline <= 998, "lines within the SMTP limit (%zu)", maxline);
    char *text = decode_part(msg, "Content-Type: text/plain");
    char *html = decode_part(msg, "Content-Type: text/html");
    ok(text && strstr(text, L.webcal) && strstr(text, L.google) && strstr(text, L.outlook) && strstr(text, L.https),
       "text: all four links");
    ok(text && strstr(text, "Tuesday 1 December 2026: Black bin - recycling (moved from Monday 30 November 2026)"),
       "text: collections with moved note");
    ok(html && strstr(html, "12 HIGH STREET &lt;script&gt;") && !strstr(html, "<script>"), "html: escaped");
    ok(html && strstr(html, "href=\"https://www.breckland.gov.uk/recycling?a=1&amp;b=2\""), "html: service link");
    free(text);
    free(html);
    free(msg);
    m.to = "jane@example.com\r\nBcc: x@y.example";
    ok(mailmsg_build(&m, &len, err, sizeof(err)) == NULL, "a recipient with CR/LF is refused");
}

static void test_classify(void)
{
    is_int(mailer_classify(CURLE_OK, 250), MAILER_SENT, "250: sent");
    is_int(mailer_classify(CURLE_RECV_ERROR, 550), MAILER_PERMANENT, "550: permanent");
    is_int(mailer_classify(CURLE_SEND_ERROR, 554), MAILER_PERMANENT, "554: permanent");
    is_int(mailer_classify(CURLE_RECV_ERROR, 451), MAILER_TEMPORARY, "451: temporary");
    is_int(mailer_classify(CURLE_COULDNT_CONNECT, 0), MAILER_TEMPORARY, "refused: temporary");
    is_int(mailer_classify(CURLE_OPERATION_TIMEDOUT, 0), MAILER_TEMPORARY, "timeout: temporary");
    is_int(mailer_classify(CURLE_USE_SSL_FAILED, 0), MAILER_TEMPORARY, "no STARTTLS: temporary (fixable)");
    is_int(mailer_classify(CURLE_LOGIN_DENIED, 535), MAILER_PERMANENT, "535 auth: permanent");
    is_int((int)mailer_backoff_ms(1000, 1), 1000, "backoff 1");
    is_int((int)mailer_backoff_ms(1000, 4), 8000, "backoff doubles");
    is_int((int)mailer_backoff_ms(60000, 30), 3600000, "backoff capped at 1 h");
}

static void test_outbox(void)
{
    char dir[64], err[256];
    snprintf(dir, sizeof(dir), "/tmp/binday-outbox-XXXXXX");
    if (!ok(mkdtemp(dir) != NULL, "temp dir"))
        return;
    store_t *s = NULL;
    ok(store_open(dir, outbox_dbi_defs, OUTBOX_N_DBI, &s, err, sizeof(err)) == 0, "store with outbox DBIs");
    store_reader_t *r = store_reader_new(s);
    outbox_limits_t lim = {2, 3};
    outbox_verdict_t v;
    long long now = 1764590000;
    int day = (int)(now / 86400);
    json_t *links = json_pack("{s:s}", "https", "https://x/calendar/t.ics");
    ok(outbox_enqueue(s, "id1", "userA", "a@example.com", "MSG1", 4, links, &lim, now, day, &v, err, sizeof(err)) ==
               0 &&
           v == OUTBOX_QUEUED,
       "queued 1");
    ok(outbox_enqueue(s, "id2", "userA", "a@example.com", "MSG2", 4, links, &lim, now, day, &v, err, sizeof(err)) ==
               0 &&
           v == OUTBOX_QUEUED,
       "queued 2");
    ok(outbox_enqueue(s, "id3", "userA", "a@example.com", "MSG3", 4, links, &lim, now, day, &v, err, sizeof(err)) ==
               0 &&
           v == OUTBOX_USER_CAPPED,
       "user cap");
    ok(outbox_enqueue(s, "id3", "userA", "a@example.com", "MSG3", 4, links, &lim, now + 86400, day + 1, &v, err,
                      sizeof(err)) == 0 &&
           v == OUTBOX_QUEUED,
       "next day: allowed again");
    ok(outbox_enqueue(s, "id4", "userB", "b@example.com", "MSG4", 4, links, &lim, now + 86400, day + 1, &v, err,
                      sizeof(err)) == 0 &&
           v == OUTBOX_QUEUED,
       "other user");
    ok(outbox_enqueue(s, "id5", "userC", "c@example.com", "MSG5", 4, links, &lim, now + 86400, day + 1, &v, err,
                      sizeof(err)) == 0 &&
           v == OUTBOX_QUEUED,
       "third in the hour");
    ok(outbox_enqueue(s, "id6", "userD", "d@example.com", "MSG6", 4, links, &lim, now + 86400, day + 1, &v, err,
                      sizeof(err)) == 0 &&
           v == OUTBOX_GLOBAL_CAPPED,
       "global hourly cap");
    is_int((int)outbox_pending(r), 5, "five queued");
    outbox_item_t it;
    long long earliest;
    ok(outbox_next(r, 1000, &it, &earliest, err, sizeof(err)) == 1 && it.msg_len == 4 && it.attempts == 0,
       "a due message");
    char first[OUTBOX_ID_MAX];
    snprintf(first, sizeof(first), "%s", it.id);
    outbox_item_free(&it);
    ok(outbox_retry(s, first, 1, 5000, 451, "try later", now, err, sizeof(err)) == 0, "retry recorded");
    ok(outbox_next(r, 1000, &it, &earliest, err, sizeof(err)) == 1 && strcmp(it.id, first) != 0,
       "the retried one waits; another is due");
    outbox_item_free(&it);
    /* finish all but the retried one */
    int n = 0;
    while (outbox_next(r, 1000, &it, &earliest, err, sizeof(err)) == 1 && n < 10) {
        outbox_finish(s, it.id, "sent", 1, 250, NULL, now, err, sizeof(err));
        outbox_item_free(&it);
        n++;
    }
    is_int(n, 4, "four sent");
    ok(outbox_next(r, 1000, &it, &earliest, err, sizeof(err)) == 0 && earliest == 5000, "earliest = retry time");
    ok(outbox_next(r, 5000, &it, &earliest, err, sizeof(err)) == 1 && it.attempts == 1, "due at its time");
    outbox_item_free(&it);
    ok(outbox_finish(s, first, "failed", 2, 550, "no such user", now, err, sizeof(err)) == 0, "failed recorded");
    is_int((int)outbox_pending(r), 0, "outbox empty");
    ok(outbox_next(r, 1LL << 60, &it, &earliest, err, sizeof(err)) == 0 && earliest == -1, "nothing left");
    json_decref(links);
    store_reader_free(r);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
}

struct keyq {
    vault_t *v;
    const char *name;
    int create, rc;
    uint64_t gen;
};

static int key_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct keyq *q = ud;
    uint8_t k[VAULT_KEY_BYTES];
    (void)err;
    (void)err_size;
    q->rc = vault_key(q->v, txn, q->name, q->create, k);
    q->gen = vault_generation(q->v, txn);
    return 0;
}

/* Issue 15: privacy_open wires the vault into the outbox (every command, not
 * just serve); a finished message's key goes and the vault rotates in the same
 * txn; purge drops message keys whose message is gone. */
struct logtxt {
    char mid3[2048];
};

static void log_text_of(const char *id, size_t id_len, const char *json, size_t len, void *ud)
{
    struct logtxt *l = ud;
    if (id_len == 4 && memcmp(id, "mid3", 4) == 0)
        snprintf(l->mid3, sizeof(l->mid3), "%.*s", (int)len, json);
}

static void test_outbox_vault(void)
{
    char dir[64], err[300];
    snprintf(dir, sizeof(dir), "/tmp/binday-outboxv-XXXXXX");
    if (!ok(mkdtemp(dir) != NULL, "temp dir"))
        return;
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s = NULL;
    privacy_t *p = NULL;
    secret_key_t uk;
    memset(&uk, 7, sizeof(uk));
    ok(store_open(dir, defs, nd, &s, err, sizeof(err)) == 0 && privacy_open(s, dir, &uk, NULL, &p, err, sizeof(err)) == 0,
       "store and privacy open");
    vault_t *v = privacy_vault(p);
    outbox_limits_t lim = {5, 5};
    outbox_verdict_t vd;
    long long now = 1764590000;
    ok(outbox_enqueue(s, "mid1", "userA", "a@example.com", "MSG1", 4, NULL, &lim, now, (int)(now / 86400), &vd, err,
                      sizeof(err)) == 0 &&
           vd == OUTBOX_QUEUED,
       "queued with the vault attached by privacy_open");
    struct keyq q = {v, "mail:mid1", 0, -1, 0};
    ok(store_write(s, key_fn, &q, err, sizeof(err)) == 0 && q.rc == 0, "the message has its own key in the vault");
    uint64_t g0 = q.gen;
    store_reader_t *r = store_reader_new(s);
    outbox_item_t it;
    long long earliest;
    ok(outbox_next(r, 1000, &it, &earliest, err, sizeof(err)) == 1 && strcmp(it.to, "a@example.com") == 0,
       "the sender opens it");
    outbox_item_free(&it);
    ok(outbox_finish(s, "mid1", "sent", 1, 250, NULL, now, err, sizeof(err)) == 0, "delivered");
    ok(store_write(s, key_fn, &q, err, sizeof(err)) == 0 && q.rc == MDB_NOTFOUND, "delivered: its key is gone");
    is_int((int)(q.gen - g0), 1, "delivered: the vault rotated in the same txn");
    char kek[128];
    snprintf(kek, sizeof(kek), "%s/vault-%llu.key", dir, (unsigned long long)g0);
    ok(access(kek, F_OK) != 0, "delivered: the KEK that sealed the key is swept");
    /* a retry keeps the key and does not rotate */
    outbox_enqueue(s, "mid2", "userA", "a@example.com", "MSG2", 4, NULL, &lim, now, (int)(now / 86400), &vd, err,
                   sizeof(err));
    q.name = "mail:mid2";
    store_write(s, key_fn, &q, err, sizeof(err));
    g0 = q.gen;
    ok(outbox_retry(s, "mid2", 1, 5000, 451, "later", now, err, sizeof(err)) == 0 &&
           store_write(s, key_fn, &q, err, sizeof(err)) == 0 && q.rc == 0 && q.gen == g0,
       "a retry keeps the key, no rotation");
    /* an orphan key, as a process without the vault wired in left it */
    struct keyq orphan = {v, "mail:0123456789abcdef0123456789abcdef", 1, -1, 0};
    ok(store_write(s, key_fn, &orphan, err, sizeof(err)) == 0 && orphan.rc == 0, "an orphan message key");
    privacy_purge_stats_t st = {0};
    ok(privacy_purge(p, (int)(now / 86400), &st, err, sizeof(err)) == 0 && st.erased >= 1, "purge");
    orphan.create = 0;
    ok(store_write(s, key_fn, &orphan, err, sizeof(err)) == 0 && orphan.rc == MDB_NOTFOUND, "purge: the orphan key is gone");
    ok(store_write(s, key_fn, &q, err, sizeof(err)) == 0 && q.rc == 0, "purge: a queued message keeps its key");
    store_reader_free(r);
    privacy_close(p);
    /* detached at close: the outbox holds no dangling vault */
    ok(outbox_enqueue(s, "mid3", "userB", "b@example.com", "M", 1, NULL, &lim, now, (int)(now / 86400), &vd, err,
                      sizeof(err)) == 0,
       "after privacy_close the outbox works without a vault");
    /* that record has the layout before issue 15 (user in clear): the next
     * privacy_open seals it */
    ok(privacy_open(s, dir, &uk, NULL, &p, err, sizeof(err)) == 0, "privacy reopened (upgrade)");
    r = store_reader_new(s);
    struct logtxt lt = {{0}};
    ok(outbox_log_each(r, log_text_of, &lt, err, sizeof(err)) == 0 && strstr(lt.mid3, "\"utag\":") &&
           strstr(lt.mid3, "\"case\":") && !strstr(lt.mid3, "userB") && !strstr(lt.mid3, "\"links\""),
       "upgrade: the old case record names a tag, its links and user sealed (%s)", lt.mid3);
    store_reader_free(r);
    privacy_close(p);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
}

int main(void)
{
    test_addresses();
    test_message();
    test_classify();
    test_outbox();
    test_outbox_vault();
    return done_testing();
}
