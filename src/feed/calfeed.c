/* calfeed.c - owns personal calendar feeds: the property token, the feed's
 * events (from lookup), subscribe links, and the parsers of the route's
 * untrusted bytes. No HTTP here: the GET /calendar/ handler is
 * calfeed_http.c, so the mail links (linkmail.c) need nothing of the server.
 * The iCalendar syntax itself is ics.c's. */
#include "binday/feed/calfeed.h"

#include <ctype.h>
#include <stdarg.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/algo.h"
#include "binday/util/date.h"
#include "binday/feed/ics.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

/* ---- token ------------------------------------------------------------------ */

/* The first half of calendar.key encrypts, the second keys the tag: separate
 * keys for separate jobs. */
static void tag_of(const secret_key_t *key, const uint8_t be[8], uint8_t tag[8])
{
    uint8_t msg[13], mac[ALGO_HMAC_BYTES];
    memcpy(msg, "feed:", 5);
    memcpy(msg + 5, be, 8);
    algo_hmac_sha256(key->k + 16, 16, msg, sizeof(msg), mac);
    memcpy(tag, mac, 8);
    OPENSSL_cleanse(mac, sizeof(mac));
}

static int aes_block(const secret_key_t *key, int enc, const uint8_t in[16], uint8_t out[16])
{
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
    int ok = 0, n = 0;
    if (ctx == NULL)
        xalloc_die("EVP_CIPHER_CTX", 0);
    if (EVP_CipherInit_ex(ctx, EVP_aes_128_ecb(), NULL, key->k, NULL, enc) == 1 &&
        EVP_CIPHER_CTX_set_padding(ctx, 0) == 1 && EVP_CipherUpdate(ctx, out, &n, in, 16) == 1 && n == 16)
        ok = 1;
    EVP_CIPHER_CTX_free(ctx);
    return ok ? 0 : -1;
}

void calfeed_token_make(const secret_key_t *key, uint64_t uprn, char out[CALFEED_TOKEN_LEN + 1])
{
    uint8_t block[16], ct[16];
    for (int i = 0; i < 8; i++)
        block[i] = (uint8_t)(uprn >> (56 - 8 * i));
    tag_of(key, block, block + 8);
    if (aes_block(key, 1, block, ct) != 0)
        abort(); /* AES-128 on one block cannot fail but for a broken library */
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 16; i++) {
        out[2 * i] = hex[ct[i] >> 4];
        out[2 * i + 1] = hex[ct[i] & 15];
    }
    out[CALFEED_TOKEN_LEN] = '\0';
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* only lower case: one spelling per token */
}

int calfeed_token_parse(const secret_key_t *key, const uint8_t *s, size_t len, uint64_t *uprn)
{
    uint8_t ct[16], block[16], tag[8];
    if (len != CALFEED_TOKEN_LEN)
        return -1;
    for (int i = 0; i < 16; i++) {
        int h = hexval(s[2 * i]), l = hexval(s[2 * i + 1]);
        if (h < 0 || l < 0)
            return -1;
        ct[i] = (uint8_t)(h << 4 | l);
    }
    if (aes_block(key, 0, ct, block) != 0)
        return -1;
    tag_of(key, block, tag);
    if (CRYPTO_memcmp(tag, block + 8, 8) != 0)
        return -1;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = u << 8 | block[i];
    if (u == 0)
        return -1;
    *uprn = u;
    return 0;
}

/* ---- request parsing --------------------------------------------------------- */

int calfeed_path_token(const uint8_t *path, size_t len, const uint8_t **tok, size_t *tok_len)
{
    static const char pre[] = "/calendar/", suf[] = ".ics";
    size_t pl = sizeof(pre) - 1, sl = sizeof(suf) - 1;
    if (len <= pl + sl || memcmp(path, pre, pl) != 0 || memcmp(path + len - sl, suf, sl) != 0)
        return -1;
    for (size_t i = pl; i < len - sl; i++)
        if (!isalnum(path[i]))
            return -1;
    *tok = path + pl;
    *tok_len = len - pl - sl;
    return 0;
}

int calfeed_query_alarm(const uint8_t *q, size_t len, int *minutes)
{
    int found = 0;
    size_t i = 0;
    while (i <= len) {
        size_t j = i;
        while (j < len && q[j] != '&')
            j++;
        if (j - i >= 6 && memcmp(q + i, "alarm=", 6) == 0) {
            if (found)
                return -1; /* two alarms: ambiguous, refuse */
            uint8_t v[8];
            size_t vn = 0;
            for (size_t k = i + 6; k < j; k++) {
                if (vn == sizeof(v))
                    return -1;
                if (q[k] == '%') {
                    if (j - k >= 3 && q[k + 1] == '3' && (q[k + 2] == 'A' || q[k + 2] == 'a')) {
                        v[vn++] = ':';
                        k += 2;
                        continue;
                    }
                    return -1;
                }
                v[vn++] = q[k];
            }
            if (ics_alarm_parse(v, vn, minutes) != 0)
                return -1;
            found = 1;
        }
        i = j + 1;
    }
    return found;
}

/* Compare an entity tag at t (n bytes, quotes included, maybe W/) with etag. */
static int tag_eq(const uint8_t *t, size_t n, const char *etag)
{
    if (n >= 2 && t[0] == 'W' && t[1] == '/')
        t += 2, n -= 2;
    const char *e = etag;
    size_t en = strlen(e);
    if (en >= 2 && e[0] == 'W' && e[1] == '/')
        e += 2, en -= 2;
    return n == en && memcmp(t, e, n) == 0;
}

int calfeed_etag_matches(const uint8_t *hdr, size_t len, const char *etag)
{
    size_t i = 0;
    while (i < len) {
        while (i < len && (hdr[i] == ' ' || hdr[i] == '\t' || hdr[i] == ','))
            i++;
        if (i == len)
            break;
        if (hdr[i] == '*')
            return 1;
        size_t s = i;
        if (len - i >= 2 && hdr[i] == 'W' && hdr[i + 1] == '/')
            i += 2;
        if (i >= len || hdr[i] != '"')
            return 0; /* malformed: treat as no match, the full feed is always safe */
        i++;
        while (i < len && hdr[i] != '"')
            i++;
        if (i == len)
            return 0;
        i++;
        if (tag_eq(hdr + s, i - s, etag))
            return 1;
    }
    return 0;
}

/* ---- links -------------------------------------------------------------------- */

static int pct_encode(char *dst, size_t n, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = 0;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            if (o + 2 > n)
                return -1;
            dst[o++] = (char)c;
        } else {
            if (o + 4 > n)
                return -1;
            dst[o++] = '%';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
    }
    dst[o] = '\0';
    return 0;
}

int calfeed_links(const char *public_url, const char *token, calfeed_links_t *out)
{
    if (public_url == NULL || strncmp(public_url, "https://", 8) != 0)
        return -1;
    const char *rest = public_url + 8;
    size_t rl = strlen(rest);
    while (rl > 0 && rest[rl - 1] == '/')
        rl--;
    if (rl == 0 || rl > 300)
        return -1;
    for (size_t i = 0; i < rl; i++) /* no spaces, quotes or controls in a link we print and mail */
        if ((unsigned char)rest[i] <= 0x20 || rest[i] == '"' || rest[i] == '<' || rest[i] == '>' ||
            rest[i] == '\\' || (unsigned char)rest[i] >= 0x7F || rest[i] == '?' || rest[i] == '#')
            return -1;
    int n1 = snprintf(out->https, sizeof(out->https), "https://%.*s/calendar/%s.ics", (int)rl, rest, token);
    int n2 = snprintf(out->webcal, sizeof(out->webcal), "webcal://%.*s/calendar/%s.ics", (int)rl, rest, token);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(out->https) || (size_t)n2 >= sizeof(out->webcal))
        return -1;
    char enc[CALFEED_URL_MAX];
    /* Google takes the webcal:// form in cid; Outlook wants the https one. */
    if (pct_encode(enc, sizeof(enc), out->webcal) != 0)
        return -1;
    n1 = snprintf(out->google, sizeof(out->google), "https://calendar.google.com/calendar/render?cid=%s", enc);
    if (pct_encode(enc, sizeof(enc), out->https) != 0)
        return -1;
    n2 = snprintf(out->outlook, sizeof(out->outlook),
                  "https://outlook.office.com/calendar/addfromweb?url=%s&name=Bin%%20collections", enc);
    if (n1 < 0 || n2 < 0 || (size_t)n1 >= sizeof(out->google) || (size_t)n2 >= sizeof(out->outlook))
        return -1;
    return 0;
}

/* ---- events ------------------------------------------------------------------- */

void calfeed_summary(const lookup_collection_t *c, char *dst, size_t n)
{
    char colour[64], name[96];
    rec_str_lower(colour, sizeof(colour), c->colour);
    rec_str_lower(name, sizeof(name), c->name);
    colour[0] = (char)toupper((unsigned char)colour[0]);
    /* a caddy, bag or box already says what the container is */
    int container = strstr(colour, "addy") || strstr(colour, "bag") || strstr(colour, "box");
    if (!colour[0])
        snprintf(dst, n, "%s collection", name[0] ? name : "Bin");
    else
        snprintf(dst, n, "%s%s - %s", colour, container ? "" : " bin", name);
}

typedef struct feed_event {
    char uid[128];
    char summary[192];
    char description[1024];
    int date, cancelled;
} feed_event_t;

/* UID: property, service and ORIGINAL date, so a moved collection is the same
 * event with a new date. Service ids are staff-chosen: keep only safe bytes. */
static void make_uid(char *dst, size_t n, uint64_t uprn, const rec_str_t *sid, int original)
{
    char s[64];
    size_t o = 0;
    for (size_t i = 0; sid->p && i < sid->n && o + 1 < sizeof(s); i++) {
        unsigned char c = (unsigned char)sid->p[i];
        s[o++] = (char)(isalnum(c) || c == '-' || c == '_' ? c : '_');
    }
    s[o] = '\0';
    int y, m, d;
    date_to_ymd(original, &y, &m, &d);
    snprintf(dst, n, "%llu-%s-%04d%02d%02d@binday.breckland", (unsigned long long)uprn, s, y, m, d);
}

/* Append to a bounded buffer; output past the end is cut (descriptions are
 * short; the bound only guards against absurd staff data). */
static void append(char *d, size_t n, size_t *o, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void append(char *d, size_t n, size_t *o, const char *fmt, ...)
{
    if (*o + 1 >= n)
        return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(d + *o, n - *o, fmt, ap);
    va_end(ap);
    if (k > 0)
        *o = (size_t)k >= n - *o ? n - 1 : *o + (size_t)k;
}

static void describe(feed_event_t *e, const lookup_collection_t *c)
{
    char *d = e->description;
    size_t n = sizeof(e->description), o = 0;
    d[0] = '\0';
    if (c->cancelled) {
        append(d, n, &o, "This collection is cancelled");
        if (c->reason.p && c->reason.n)
            append(d, n, &o, " (%.*s)", (int)c->reason.n, c->reason.p);
        append(d, n, &o, ".");
    } else {
        append(d, n, &o, "Put it out by 6:30 in the morning.");
        if (c->changed && c->original != c->date) {
            char od[64];
            date_long(c->original, od, sizeof(od));
            append(d, n, &o, "\nMoved from %s", od);
            if (c->reason.p && c->reason.n)
                append(d, n, &o, " (%.*s)", (int)c->reason.n, c->reason.p);
            append(d, n, &o, ".");
        } else if (c->changed && c->reason.p && c->reason.n) {
            append(d, n, &o, "\nExtra collection (%.*s).", (int)c->reason.n, c->reason.p);
        }
    }
    if (c->description.p && c->description.n)
        append(d, n, &o, "\n%.*s", (int)c->description.n, c->description.p);
    if (c->link_url.p && c->link_url.n)
        append(d, n, &o, "\n%.*s", (int)c->link_url.n, c->link_url.p);
}

char *calfeed_build(store_t *s, MDB_txn *txn, lookup_result_t *res, uint64_t uprn, int today, int alarm_minutes,
                    long long dtstamp, unsigned sequence_base, size_t *len, int *found, char *err,
                    size_t err_size)
{
    *found = 1;
    feed_event_t *fe = xcalloc(CALFEED_MAX_EVENTS, sizeof(*fe));
    ics_event_t *ev = xcalloc(CALFEED_MAX_EVENTS, sizeof(*ev));
    char *body = NULL;
    size_t n = 0;
    /* lookup answers at most LOOKUP_MAX_COLLECTIONS per call: read the year in
     * windows small enough that even weekly services on every day would fit
     * (an occurrence belongs to the window of its current date, so nothing is
     * seen twice). */
    const int step = 28;
    int first = today - CALFEED_DAYS_BACK, last = today + CALFEED_DAYS_AHEAD;
    for (int from = first; from <= last; from += step) {
        int days = last - from + 1 < step ? last - from + 1 : step;
        if (lookup_uprn_feed_txn(s, txn, uprn, from, days, res, err, err_size) != 0)
            goto out;
        if (res->match == AM_NONE) {
            *found = 0;
            goto out;
        }
        if (res->truncated)
            log_warn("calfeed.truncated", "from=%d days=%d", from, days);
        for (size_t i = 0; i < res->n_collections && n < CALFEED_MAX_EVENTS; i++, n++) {
            const lookup_collection_t *c = &res->collections[i];
            feed_event_t *e = &fe[n];
            make_uid(e->uid, sizeof(e->uid), uprn, &c->service_id, c->original);
            calfeed_summary(c, e->summary, sizeof(e->summary));
            describe(e, c);
            e->date = c->date;
            e->cancelled = c->cancelled;
            ev[n].uid = e->uid;
            ev[n].date = e->date;
            ev[n].cancelled = e->cancelled;
            /* every import may move or restore collections; one sequence
             * for the whole feed, raised by each import, means a client never
             * keeps a stale version (docs/calendar-feed.md) */
            ev[n].sequence = sequence_base;
            ev[n].summary = e->summary;
            ev[n].description = e->description;
        }
    }
    ics_feed_t feed = {"Bin collections", dtstamp, alarm_minutes};
    body = ics_feed_build(&feed, ev, n, len);
    if (body == NULL)
        snprintf(err, err_size, "feed too large or out of memory");
out:
    free(fe);
    free(ev);
    return body;
}
