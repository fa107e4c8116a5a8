/* transcript.c - owns the turn transcripts (DBI "transcript.bytime") and their
 * vault keys ("d:<day>", "t:<user>"). */
#include "binday/privacy/transcript.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <sched.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "binday/alexa/alexa_request.h"
#include "binday/util/date.h"
#include "binday/json/jsonout.h"
#include "binday/util/log.h"
#include "binday/util/metrics.h"
#include "binday/privacy/seal.h"
#include "binday/util/strbuf.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

static const store_dbi_def_t transcript_dbi_defs[] = {{TRANSCRIPT_DBI_NAME, 0}, {TRANSCRIPT_DAYS_DBI_NAME, 0}};

#define TAG 16
#define KLEN (4 + 8 + 4 + TAG)
/* Record key: day (4, BE) | time ms (8, BE) | random (4) | user tag (16).
 * Time first: the writer appends at the right edge of the tree, so a commit
 * reads (maps) only that edge's pages. With the user tag first (the layout
 * until 2026-11, DBI "transcript") each batch of a thousand users' turns
 * touched a thousand leaves spread over the whole day, and the server's
 * resident memory grew with the stored transcripts (make bench S3: ~150 MB of
 * mapped LMDB pages). Export and forget now scan the user's days instead of
 * seeking to a prefix: they are rare, and a day is a few thousand records. */
#define K_TIME 4
#define K_RAND 12
#define K_TAG 16
#define OLD_DBI_NAME "transcript"
/* Random bytes a record needs: 4 for its key, the seal's nonce. A batch draws
 * them for all its records in one RAND_bytes call: two calls per record were
 * two DRBG rounds and two getpid() system calls (OpenSSL's fork check). */
#define RECORD_RANDOM (4 + SEAL_NONCE_BYTES)
#define META_OLDEST "\0o" /* 2 bytes: oldest day that may have a day key */
#define USER_VAL (VAULT_KEY_BYTES + 4)
#define MS_PER_DAY 86400000LL

static int dbi(privacy_t *p, MDB_dbi *d)
{
    return store_dbi(privacy_store(p), TRANSCRIPT_DBI_NAME, d) == 0 ? 0 : MDB_BAD_DBI;
}

/* The days index: key = user tag (16) | day (4 BE), empty value; one entry
 * per user and day with records, so export and forget visit only the user's
 * days (the records of a day are in time order, not by user). */
#define DLEN (TAG + 4)
static int days_dbi(privacy_t *p, MDB_dbi *d)
{
    return store_dbi(privacy_store(p), TRANSCRIPT_DAYS_DBI_NAME, d) == 0 ? 0 : MDB_BAD_DBI;
}

static void put32(uint8_t *b, uint32_t v)
{
    b[0] = (uint8_t)(v >> 24);
    b[1] = (uint8_t)(v >> 16);
    b[2] = (uint8_t)(v >> 8);
    b[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int day_of_ms(int64_t ms)
{
    return (int)(ms >= 0 ? ms / MS_PER_DAY : -((-ms + MS_PER_DAY - 1) / MS_PER_DAY));
}

/* "2026-11-29T04:03:19.123Z" into ts (25 bytes with the NUL); by hand, as
 * snprintf was ~1% of a request's instructions. */
static void iso_time(int64_t time_ms, char ts[25])
{
    time_t secs = (time_t)(time_ms / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int v[7] = {tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                (int)(time_ms % 1000)};
    static const int width[7] = {4, 2, 2, 2, 2, 2, 3};
    static const char after[7] = {'-', '-', 'T', ':', ':', '.', 'Z'};
    char *p = ts;
    for (int i = 0; i < 7; i++) {
        unsigned x = v[i] < 0 ? 0 : (unsigned)v[i];
        for (int d = width[i] - 1; d >= 0; d--, x /= 10)
            p[d] = (char)('0' + x % 10);
        p += width[i];
        *p++ = after[i];
    }
    *p = '\0';
}

struct slot_pair {
    const char *name, *value;
    size_t value_len;
};

static int by_name(const void *a, const void *b)
{
    return strcmp(((const struct slot_pair *)a)->name, ((const struct slot_pair *)b)->name);
}

/* One string member's value: only its well-formed UTF-8 prefix, so
 * jsonout_put_string cannot refuse it. The request's strings were checked as
 * UTF-8 when it was parsed and what was said is cut to whole characters
 * before this, so *cut stays 0 unless a caller broke that; a turn is then
 * recorded with the bad text dropped (and logged once) rather than the
 * server stopping over a transcript. */
static void put_text(strbuf_t *b, const char *s, size_t n, int *cut)
{
    size_t ok = utf8_valid_prefix((const uint8_t *)s, n);
    *cut += ok < n;
    jsonout_put_string(b, s, ok);
}

/* The record's text, written directly (building a jansson tree to dump was
 * ~3% of a request's instructions): keys sorted, as json_dumps with
 * JSON_SORT_KEYS wrote them (test_privacy checks the bytes). */
static void put_record(strbuf_t *b, const char *user_hex, const transcript_turn_t *t, const char *ts,
                       const struct slot_pair *slots, size_t n_slots, const char *said, size_t said_len)
{
    int cut = 0;
    strbuf_put(b, "{\"intent\":", 10);
    if (t->intent)
        put_text(b, t->intent, strlen(t->intent), &cut);
    else
        strbuf_put(b, "null", 4);
    const char *rt = t->request_type ? t->request_type : "";
    strbuf_put(b, ",\"request_type\":", 16);
    put_text(b, rt, strlen(rt), &cut);
    strbuf_put(b, ",\"said\":", 8);
    put_text(b, said, said_len, &cut);
    strbuf_put(b, ",\"slots\":{", 10);
    for (size_t i = 0; i < n_slots; i++) {
        if (i)
            strbuf_put(b, ",", 1);
        put_text(b, slots[i].name, strlen(slots[i].name), &cut);
        strbuf_put(b, ":", 1);
        put_text(b, slots[i].value, slots[i].value_len, &cut);
    }
    strbuf_put(b, "},\"time\":\"", 10);
    strbuf_puts(b, ts);
    strbuf_put(b, "\",\"user\":", 9);
    put_text(b, user_hex, strlen(user_hex), &cut);
    strbuf_put(b, "}", 1);
    if (b->failed == STRBUF_OOM)
        xalloc_die("transcript record", b->cap);
    if (cut) /* the field count only: the text itself may be personal */
        log_warn("transcript.invalid_text", "fields=%d action=dropped_from_first_invalid_byte", cut);
}

/* Whether the n - ok bytes after the well-formed prefix are more than one
 * character cut short at the end (a cut at a buffer's size, which is normal):
 * i.e. invalid text that is being dropped. */
static int invalid_tail(const char *s, size_t ok, size_t n)
{
    const uint8_t *p = (const uint8_t *)s + ok;
    size_t rest = n - ok;
    if (rest == 0)
        return 0;
    size_t want = p[0] >= 0xC2 && p[0] <= 0xDF ? 2 : p[0] >= 0xE0 && p[0] <= 0xEF ? 3 : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4 : 0;
    if (rest >= want)
        return 1;
    for (size_t i = 1; i < rest; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 1;
    return 0;
}

/* A byte that continues a word: ASCII letters and digits, and any byte of a
 * multi-byte UTF-8 character (names are not only ASCII). */
static int word_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c >= 0x80;
}

static int ascii_lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* The length of the match of the normalised name `n` at s, or 0: spaces in
 * n match a run of whitespace (speech_strip_ssml collapses runs, an API
 * value may not), ASCII letters any case, and the match must be whole words
 * (a name that begins or ends with a word byte must not continue one:
 * "Sam" is not in "Samphire"). */
static size_t name_at(const char *s, size_t i, size_t sl, const char *n, size_t nl)
{
    if (i > 0 && word_byte((unsigned char)n[0]) && word_byte((unsigned char)s[i - 1]))
        return 0;
    size_t j = i, k = 0;
    while (k < nl) {
        if (n[k] == ' ') {
            if (j >= sl || (s[j] != ' ' && s[j] != '\t' && s[j] != '\n'))
                return 0;
            while (j < sl && (s[j] == ' ' || s[j] == '\t' || s[j] == '\n'))
                j++;
            k++;
        } else if (j < sl && ascii_lower((unsigned char)s[j]) == ascii_lower((unsigned char)n[k])) {
            j++;
            k++;
        } else {
            return 0;
        }
    }
    return j < sl && word_byte((unsigned char)n[nl - 1]) && word_byte((unsigned char)s[j]) ? 0 : j - i;
}

char *transcript_redact_name(const char *said, const char *name)
{
    if (name == NULL)
        return NULL;
    /* the name with whitespace runs as one space, trimmed */
    size_t rl = strlen(name), nl = 0;
    char *n = xmalloc(rl + 1);
    for (size_t i = 0; i < rl; i++) {
        int ws = name[i] == ' ' || name[i] == '\t' || name[i] == '\n' || name[i] == '\r';
        if (!ws)
            n[nl++] = name[i];
        else if (nl > 0 && n[nl - 1] != ' ')
            n[nl++] = ' ';
    }
    while (nl > 0 && n[nl - 1] == ' ')
        nl--;
    n[nl] = '\0';
    if (nl == 0) {
        free(n);
        return NULL;
    }
    const char *s = said ? said : "";
    size_t sl = strlen(s), pl = strlen(TRANSCRIPT_NAME_PLACEHOLDER);
    /* each match is at least one byte, so at most sl of them */
    char *out = xmalloc(sl + (sl / nl + 1) * pl + 1);
    size_t o = 0;
    for (size_t i = 0; i < sl;) {
        size_t m = name_at(s, i, sl, n, nl);
        if (m > 0) {
            memcpy(out + o, TRANSCRIPT_NAME_PLACEHOLDER, pl);
            o += pl;
            i += m;
        } else {
            out[o++] = s[i++];
        }
    }
    out[o] = '\0';
    OPENSSL_cleanse(n, nl);
    free(n);
    return out;
}

char *transcript_record_json(const char *user_hex, const transcript_turn_t *t, size_t *len)
{
    int dropped = 0; /* fields whose invalid text was dropped below */
    char ts[25];
    iso_time(t->time_ms, ts);
    struct slot_pair slots[32] = {{NULL, NULL, 0}};
    size_t n_slots = 0;
    const char *name;
    json_t *s;
    json_object_foreach(t->slots, name, s)
    {
        const char *best = NULL;
        alexa_request_t fake = {0};
        alexa_slot_t sl;
        fake.slots = t->slots;
        if (alexa_request_slot(&fake, name, &sl))
            best = alexa_slot_best(&sl);
        if (best && n_slots < sizeof(slots) / sizeof(slots[0])) {
            slots[n_slots].name = name;
            slots[n_slots].value = best;
            /* at most 200 bytes, cut back to whole characters (a split one
             * would be invalid UTF-8, which put_record refuses) */
            size_t vn = strnlen(best, 200);
            slots[n_slots].value_len = utf8_valid_prefix((const uint8_t *)best, vn);
            dropped += invalid_tail(best, slots[n_slots].value_len, vn);
            n_slots++;
        }
    }
    qsort(slots, n_slots, sizeof(slots[0]), by_name);
    /* the given name is never stored: the record says where it was used */
    char *redacted = transcript_redact_name(t->said, t->given_name);
    const char *said = redacted ? redacted : t->said ? t->said : "";
    size_t said_len = strlen(said);
    /* only the valid UTF-8 prefix: the caller's copy of the speech may end
     * inside a character (speech_strip_ssml cuts at its buffer's size) */
    size_t said_whole = said_len;
    said_len = utf8_valid_prefix((const uint8_t *)said, said_len);
    /* what was said comes from stored records too (street and service
     * names): invalid text there is dropped and logged, never fatal */
    dropped += invalid_tail(said, said_len, said_whole);
    if (dropped)
        log_warn("transcript.invalid_text", "fields=%d action=dropped_from_first_invalid_byte", dropped);
    /* bound the record: cut what was said until it fits */
    for (;;) {
        strbuf_t b;
        strbuf_init(&b, JSONOUT_MAX_BYTES);
        put_record(&b, user_hex, t, ts, slots, n_slots, said, said_len);
        if (b.len <= TRANSCRIPT_MAX_RECORD || said_len == 0) {
            *len = b.len;
            free(redacted);
            return b.p;
        }
        strbuf_free(&b);
        /* 1 KB less, cut back to whole characters */
        said_len = utf8_valid_prefix((const uint8_t *)said, said_len > 1024 ? said_len - 1024 : 0);
    }
}

/* ---- keys --------------------------------------------------------------------- */

static void day_name(int day, char *out, size_t n)
{
    char num[24];
    strbuf_concat(out, n, "d:", strbuf_itoa(day, num));
}

static void user_name(const char *user_hex, char *out, size_t n)
{
    strbuf_concat(out, n, "t:", user_hex);
}

static void user_tag(const uint8_t uk[VAULT_KEY_BYTES], uint8_t tag[TAG])
{
    uint8_t h[32];
    seal_derive(uk, "transcript-user", 15, NULL, 0, h);
    memcpy(tag, h, TAG);
}

/* The sealed record's associated data: its identity (day, user tag, time,
 * random) in the first layout's order, whatever the key's order. A record
 * therefore moved from the old layout to this one without being re-sealed
 * (upgrade below), and a record copied under another key still fails to open. */
static void record_aad(const uint8_t key[KLEN], uint8_t aad[KLEN])
{
    memcpy(aad, key, 4);
    memcpy(aad + 4, key + K_TAG, TAG);
    memcpy(aad + 4 + TAG, key + K_TIME, 12); /* time and random */
}

/* The inverse: the key of a record whose first-layout key (= aad) is old. */
static void key_of_old(const uint8_t old[KLEN], uint8_t key[KLEN])
{
    memcpy(key, old, 4);
    memcpy(key + K_TIME, old + 4 + TAG, 12);
    memcpy(key + K_TAG, old + 4, TAG);
}

static void record_key(const uint8_t dk[VAULT_KEY_BYTES], const uint8_t uk[VAULT_KEY_BYTES], uint8_t rk[32])
{
    seal_derive(dk, "transcript-record", 17, uk, VAULT_KEY_BYTES, rk);
}

/* The user's key and last day: 0, MDB_NOTFOUND, or an error. */
static int get_user(privacy_t *p, MDB_txn *txn, const char *user_hex, uint8_t uk[VAULT_KEY_BYTES], int *last_day)
{
    char name[80];
    user_name(user_hex, name, sizeof(name));
    uint8_t v[VAULT_MAX_VALUE];
    size_t len = 0;
    int rc = vault_get(privacy_vault(p), txn, name, v, sizeof(v), &len);
    if (rc == 0 && len != USER_VAL)
        rc = MDB_CORRUPTED;
    if (rc == 0) {
        memcpy(uk, v, VAULT_KEY_BYTES);
        *last_day = (int)get32(v + VAULT_KEY_BYTES);
    }
    OPENSSL_cleanse(v, sizeof(v));
    return rc;
}

static int put_user(privacy_t *p, MDB_txn *txn, const char *user_hex, const uint8_t uk[VAULT_KEY_BYTES], int last_day)
{
    char name[80];
    user_name(user_hex, name, sizeof(name));
    uint8_t v[USER_VAL];
    memcpy(v, uk, VAULT_KEY_BYTES);
    put32(v + VAULT_KEY_BYTES, (uint32_t)last_day);
    int rc = vault_put(privacy_vault(p), txn, name, v, sizeof(v));
    OPENSSL_cleanse(v, sizeof(v));
    return rc;
}

static void day_entry(const uint8_t tag[TAG], int day, uint8_t out[DLEN])
{
    memcpy(out, tag, TAG);
    put32(out + TAG, (uint32_t)day);
}

/* Note in the days index that the user has records on `day` (idempotent). */
static int put_user_day(privacy_t *p, MDB_txn *txn, const uint8_t uk[VAULT_KEY_BYTES], int day)
{
    MDB_dbi dd;
    uint8_t tag[TAG], e[DLEN];
    int rc = days_dbi(p, &dd);
    if (rc)
        return rc;
    user_tag(uk, tag);
    day_entry(tag, day, e);
    MDB_val k = {DLEN, e}, v = {0, ""};
    return mdb_put(txn, dd, &k, &v, 0);
}

/* The days (ascending) on which the user with this tag has records, from the
 * days index: a malloc'd array (*n entries; NULL when none), or an error. */
static int user_days(privacy_t *p, MDB_txn *txn, const uint8_t tag[TAG], int **days, size_t *n)
{
    MDB_dbi dd;
    MDB_cursor *c = NULL;
    *days = NULL;
    *n = 0;
    int rc = days_dbi(p, &dd);
    if (rc == 0)
        rc = mdb_cursor_open(txn, dd, &c);
    size_t cap = 0;
    MDB_val k = {TAG, (void *)tag}, v;
    for (int r = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (r || k.mv_size != DLEN || memcmp(k.mv_data, tag, TAG) != 0) {
            rc = r == MDB_NOTFOUND ? 0 : r;
            break;
        }
        if (*n == cap) {
            cap = cap ? cap * 2 : 32;
            *days = xrealloc(*days, cap * sizeof(int));
        }
        (*days)[(*n)++] = (int)get32((const uint8_t *)k.mv_data + TAG);
    }
    if (c)
        mdb_cursor_close(c);
    if (rc) {
        free(*days);
        *days = NULL;
        *n = 0;
    }
    return rc;
}

static int get_oldest(MDB_txn *txn, MDB_dbi d, int *oldest)
{
    MDB_val k = {2, (void *)META_OLDEST}, v;
    int rc = mdb_get(txn, d, &k, &v);
    if (rc == 0 && v.mv_size == 4)
        *oldest = (int)get32(v.mv_data);
    return rc;
}

static int put_oldest(MDB_txn *txn, MDB_dbi d, int oldest)
{
    uint8_t b[4];
    put32(b, (uint32_t)oldest);
    MDB_val k = {2, (void *)META_OLDEST}, v = {4, b};
    return mdb_put(txn, d, &k, &v, 0);
}

/* ---- write -------------------------------------------------------------------- */

/* A batch's day key, looked up once per day in the batch rather than per
 * record (each lookup is an HMAC of the name, an LMDB get and a decryption). */
struct day_cache {
    int day; /* -1: empty */
    uint8_t dk[VAULT_KEY_BYTES];
    int oldest_ok, oldest; /* the "oldest day" meta as this batch left it */
};

struct write_args {
    privacy_t *p;
    const char *user_hex;
    int64_t time_ms;
    const char *rec;
    size_t len;
    struct day_cache *dc; /* NULL: no cache */
    const uint8_t *rnd;   /* RECORD_RANDOM fresh random bytes for this record, or NULL: draw them */
};

static int day_key(vault_t *v, MDB_txn *txn, int day, struct day_cache *dc, uint8_t dk[VAULT_KEY_BYTES])
{
    if (dc && dc->day == day) {
        memcpy(dk, dc->dk, VAULT_KEY_BYTES);
        return 0;
    }
    char dname[32];
    day_name(day, dname, sizeof(dname));
    int rc = vault_key(v, txn, dname, 1, dk);
    if (rc == 0 && dc) {
        dc->day = day;
        memcpy(dc->dk, dk, VAULT_KEY_BYTES);
    }
    return rc;
}

static int write_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct write_args *a = ud;
    MDB_dbi d;
    int rc = dbi(a->p, &d);
    if (rc)
        return rc;
    vault_t *v = privacy_vault(a->p);
    int day = day_of_ms(a->time_ms), last = 0, oldest = 0;
    uint8_t uk[VAULT_KEY_BYTES], dk[VAULT_KEY_BYTES], rk[32], key[KLEN];
    rc = get_user(a->p, txn, a->user_hex, uk, &last);
    if (rc == MDB_NOTFOUND) {
        rc = RAND_bytes(uk, sizeof(uk)) == 1 ? 0 : MDB_PANIC;
        last = -1;
    }
    if (rc == 0 && day > last) /* the newest day with a record: purge keeps the key until then */
        rc = put_user(a->p, txn, a->user_hex, uk, day);
    if (rc == 0 && day != last) /* the user's first record of this day (or a late one of an earlier day) */
        rc = put_user_day(a->p, txn, uk, day);
    if (rc == 0)
        rc = day_key(v, txn, day, a->dc, dk);
    if (rc == 0 && !(a->dc && a->dc->oldest_ok && day >= a->dc->oldest)) {
        int r2 = get_oldest(txn, d, &oldest);
        if (r2 == MDB_NOTFOUND || (r2 == 0 && day < oldest)) {
            rc = put_oldest(txn, d, day);
            oldest = day;
        } else {
            rc = r2;
        }
        if (rc == 0 && a->dc) { /* once per batch, not per record */
            a->dc->oldest = oldest;
            a->dc->oldest_ok = 1;
        }
    }
    uint8_t *sealed = NULL;
    size_t sl = 0;
    if (rc == 0) {
        uint8_t aad[KLEN];
        record_key(dk, uk, rk);
        put32(key, (uint32_t)day);
        uint64_t t = (uint64_t)a->time_ms;
        for (int i = 7; i >= 0; i--, t >>= 8)
            key[K_TIME + i] = (uint8_t)t;
        uint8_t own[RECORD_RANDOM];
        const uint8_t *rnd = a->rnd;
        if (rnd == NULL)
            rnd = RAND_bytes(own, sizeof(own)) == 1 ? own : NULL;
        if (rnd == NULL)
            rc = MDB_PANIC;
        else
            memcpy(key + K_RAND, rnd, 4);
        user_tag(uk, key + K_TAG);
        record_aad(key, aad);
        sealed = xmalloc(a->len + SEAL_OVERHEAD);
        if (rc == 0 && (sl = seal_encrypt_nonce(rk, rnd + 4, aad, KLEN, a->rec, a->len, sealed,
                                                a->len + SEAL_OVERHEAD)) == 0)
            rc = MDB_PANIC;
    }
    if (rc == 0) {
        MDB_val k = {KLEN, key}, val = {sl, sealed};
        rc = mdb_put(txn, d, &k, &val, 0);
    }
    OPENSSL_cleanse(uk, sizeof(uk));
    OPENSSL_cleanse(dk, sizeof(dk));
    OPENSSL_cleanse(rk, sizeof(rk));
    free(sealed);
    if (rc)
        snprintf(err, err_size, "transcript write: %s", rc == MDB_PANIC ? "sealing failed" : mdb_strerror(rc));
    return rc;
}

int transcript_write(privacy_t *p, const char *user_hex, const transcript_turn_t *t, char *err, size_t err_size)
{
    size_t len;
    char *rec = transcript_record_json(user_hex, t, &len);
    struct write_args a = {p, user_hex, t->time_ms, rec, len, NULL, NULL};
    int rc = store_write(privacy_store(p), write_fn, &a, err, err_size);
    OPENSSL_cleanse(rec, len);
    free(rec);
    return rc;
}

/* ---- the server's queue ------------------------------------------------------ */

struct pending {
    char user[SECRET_HEX_LEN + 1];
    int64_t time_ms;
    char *rec;
    size_t len;
};

/* ---- metrics of the queue (docs/metrics.md) ---- */
METRICS_DEFINE(m_tr_queued, METRICS_GAUGE, "binday_transcript_queue_records",
               "Transcript records queued for the transcript writer, not yet committed", NULL, NULL, 1, NULL, NULL, 1,
               NULL, 0)
METRICS_DEFINE(m_tr_written, METRICS_COUNTER, "binday_transcript_records_written_total",
               "Transcript records committed to the store", NULL, NULL, 1, NULL, NULL, 1, NULL, 0)
static const char *const drop_reasons[] = {"queue_full", "write_error"};
METRICS_DEFINE(m_tr_dropped, METRICS_COUNTER, "binday_transcript_records_dropped_total",
               "Transcript records lost: queue full (or stopping), or their batch's write failed", "reason",
               drop_reasons, 2, NULL, NULL, 1, NULL, 0)
static const uint64_t lag_bounds_us[] = {50000, 100000, 200000, 300000, 500000, 1000000, 2500000, 10000000, 60000000};
METRICS_DEFINE(m_tr_lag, METRICS_HISTOGRAM, "binday_transcript_commit_lag_seconds",
               "Per committed batch: time from its oldest turn to the commit (the writer's lag)", NULL, NULL, 1, NULL,
               NULL, 1, lag_bounds_us, sizeof(lag_bounds_us) / sizeof(lag_bounds_us[0]))

struct transcript_queue {
    privacy_t *p;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t more, done;
    struct pending q[TRANSCRIPT_QUEUE_MAX];
    size_t n;
    uint64_t enqueued, written; /* sequence numbers for flush */
    uint64_t dropped;
    int flushers; /* threads waiting in transcript_queue_flush: commit now */
    int stopping;
};

struct batch {
    privacy_t *p;
    struct pending *items;
    size_t n;
};

static int batch_write_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct batch *b = ud;
    struct day_cache dc = {.day = -1};
    uint8_t *rnd = xmalloc(b->n * RECORD_RANDOM + 1);
    int rc = RAND_bytes(rnd, (int)(b->n * RECORD_RANDOM)) == 1 ? 0 : MDB_PANIC;
    if (rc)
        snprintf(err, err_size, "transcript write: no random bytes");
    for (size_t i = 0; i < b->n && rc == 0; i++) {
        struct write_args a = {b->p,   b->items[i].user, b->items[i].time_ms, b->items[i].rec, b->items[i].len,
                               &dc,    rnd + i * RECORD_RANDOM};
        rc = write_fn(txn, &a, err, err_size);
        /* A batch is up to a thousand records of sealing (~6 µs each): give a
         * loop thread sharing this core its turn every 16, so a batch delays
         * an answer by ~0.1 ms at a time rather than a scheduler slice. */
        if (i % 16 == 15)
            sched_yield();
    }
    OPENSSL_cleanse(dc.dk, sizeof(dc.dk));
    free(rnd);
    return rc;
}

/* Deadline for a batch that started now: TRANSCRIPT_COMMIT_MS on the
 * monotonic clock the condition variable waits on. */
static struct timespec commit_deadline(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_nsec += (long)TRANSCRIPT_COMMIT_MS * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    return ts;
}

/* Records wait up to TRANSCRIPT_COMMIT_MS (or until TRANSCRIPT_BATCH_HIGH are
 * pending, a flush is asked for, or the queue stops) and are committed in one
 * write txn. A commit per few turns cost a quarter of the server's CPU in
 * fsyncs, page writes and thread wake-ups (bench/results.md); a few commits a
 * second cost nothing measurable. What is lost in a crash is the same kind of
 * loss as before (the queued, uncommitted turns), over a longer window. */
static void *writer_main(void *arg)
{
    transcript_queue_t *q = arg;
    struct pending *items = xcalloc(TRANSCRIPT_QUEUE_MAX, sizeof(*items));
    /* No lower priority for this thread: at nice 10, together with the
     * sched_yield every 16 records below, the scheduler (EEVDF, Linux 6.x)
     * left it so little of a core the loop thread kept busy that make bench
     * S1 dropped 68% of the transcripts ("queue full"); at nice 0 it drops
     * none, and the yields still hand the core back every ~0.1 ms. */
    pthread_mutex_lock(&q->mu);
    for (;;) {
        while (q->n == 0 && !q->stopping)
            pthread_cond_wait(&q->more, &q->mu);
        if (q->n == 0 && q->stopping)
            break;
        struct timespec until = commit_deadline();
        while (q->n < TRANSCRIPT_BATCH_HIGH && !q->stopping && q->flushers == 0)
            if (pthread_cond_timedwait(&q->more, &q->mu, &until) != 0)
                break; /* ETIMEDOUT: commit what there is */
        size_t n = q->n;
        memcpy(items, q->q, n * sizeof(*items));
        q->n = 0;
        uint64_t upto = q->enqueued;
        pthread_mutex_unlock(&q->mu);
        struct batch b = {q->p, items, n};
        char err[300];
        int64_t oldest_ms = n ? items[0].time_ms : 0;
        for (size_t i = 1; i < n; i++)
            if (items[i].time_ms < oldest_ms)
                oldest_ms = items[i].time_ms;
        if (store_write(privacy_store(q->p), batch_write_fn, &b, err, sizeof(err)) != 0) {
            log_error("transcript.write", "records=%zu error=\"%s\"", n, err);
            metrics_add(&m_tr_dropped, 1, 0, n);
        } else {
            metrics_add(&m_tr_written, 0, 0, n);
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            int64_t lag_ms = (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000 - oldest_ms;
            metrics_observe(&m_tr_lag, 0, 0, lag_ms > 0 ? (uint64_t)lag_ms * 1000 : 0);
        }
        for (size_t i = 0; i < n; i++) {
            OPENSSL_cleanse(items[i].rec, items[i].len);
            free(items[i].rec);
        }
        pthread_mutex_lock(&q->mu);
        q->written = upto;
        metrics_set(&m_tr_queued, 0, 0, (int64_t)q->n);
        pthread_cond_broadcast(&q->done);
    }
    pthread_mutex_unlock(&q->mu);
    free(items);
    return NULL;
}

static void flush_hook(void *ud)
{
    transcript_queue_flush(ud);
}

transcript_queue_t *transcript_queue_start(privacy_t *p)
{
    transcript_queue_t *q = xcalloc(1, sizeof(*q));
    q->p = p;
    pthread_mutex_init(&q->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* the commit window ignores wall-clock steps */
    pthread_cond_init(&q->more, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&q->done, NULL);
    if (pthread_create(&q->tid, NULL, writer_main, q) != 0) {
        pthread_mutex_destroy(&q->mu);
        pthread_cond_destroy(&q->more);
        pthread_cond_destroy(&q->done);
        free(q);
        return NULL;
    }
    privacy_set_before_erase(p, flush_hook, q);
    return q;
}

int transcript_enqueue(transcript_queue_t *q, const char *user_hex, const transcript_turn_t *t)
{
    size_t len;
    char *rec = transcript_record_json(user_hex, t, &len);
    pthread_mutex_lock(&q->mu);
    int rc = -1;
    if (q->n < TRANSCRIPT_QUEUE_MAX && !q->stopping) {
        struct pending *e = &q->q[q->n++];
        snprintf(e->user, sizeof(e->user), "%s", user_hex);
        e->time_ms = t->time_ms;
        e->rec = rec;
        e->len = len;
        q->enqueued++;
        rec = NULL;
        rc = 0;
        /* Wake the writer only to start a window or to cut it short: no
         * futex call (and no cross-CPU wake-up) on every turn. */
        if (q->n == 1 || q->n == TRANSCRIPT_BATCH_HIGH)
            pthread_cond_signal(&q->more);
        metrics_set(&m_tr_queued, 0, 0, (int64_t)q->n);
    } else {
        metrics_inc(&m_tr_dropped, 0, 0);
        if (q->dropped++ % 100 == 0)
            log_warn("transcript.dropped", "total=%llu reason=\"queue full\"", (unsigned long long)q->dropped);
    }
    pthread_mutex_unlock(&q->mu);
    if (rec) {
        OPENSSL_cleanse(rec, len);
        free(rec);
    }
    return rc;
}

void transcript_queue_flush(transcript_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    uint64_t want = q->enqueued;
    q->flushers++;
    pthread_cond_signal(&q->more); /* end the commit window now */
    while (q->written < want)
        pthread_cond_wait(&q->done, &q->mu);
    q->flushers--;
    pthread_mutex_unlock(&q->mu);
}

void transcript_queue_stop(transcript_queue_t *q)
{
    if (q == NULL)
        return;
    privacy_set_before_erase(q->p, NULL, NULL);
    pthread_mutex_lock(&q->mu);
    q->stopping = 1;
    pthread_cond_signal(&q->more);
    pthread_mutex_unlock(&q->mu);
    pthread_join(q->tid, NULL);
    pthread_mutex_destroy(&q->mu);
    pthread_cond_destroy(&q->more);
    pthread_cond_destroy(&q->done);
    free(q);
}

/* ---- privacy callbacks ------------------------------------------------------ */

/* Calls fn for each of the user's records (key and sealed value), day by day
 * from the days index, in time order; fn returns 0 to go on. */
typedef int (*each_record_fn)(void *ud, int day, const uint8_t *key, const MDB_val *val);

static int each_user_record(privacy_t *p, MDB_txn *txn, const uint8_t tag[TAG], each_record_fn fn, void *ud)
{
    MDB_dbi d;
    int *days = NULL;
    size_t nd = 0;
    int rc = dbi(p, &d);
    if (rc == 0)
        rc = user_days(p, txn, tag, &days, &nd);
    MDB_cursor *c = NULL;
    if (rc == 0 && nd > 0)
        rc = mdb_cursor_open(txn, d, &c);
    for (size_t i = 0; rc == 0 && i < nd; i++) {
        uint8_t start[4];
        put32(start, (uint32_t)days[i]);
        MDB_val k = {sizeof(start), start}, v;
        int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        for (; r == 0 && rc == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size != KLEN)
                continue;
            if ((int)get32(k.mv_data) != days[i])
                break;
            if (memcmp((const uint8_t *)k.mv_data + K_TAG, tag, TAG) == 0)
                rc = fn(ud, days[i], k.mv_data, &v);
        }
        if (rc == 0 && r != 0 && r != MDB_NOTFOUND)
            rc = r;
    }
    if (c)
        mdb_cursor_close(c);
    free(days);
    return rc;
}

struct export_ctx {
    privacy_t *p;
    MDB_txn *txn;
    const uint8_t *uk;
    uint8_t rk[32];
    int rk_day; /* the day rk opens; -2: that day's key is gone */
    char *plain;
    json_t *list;
    size_t unreadable; /* records that opened but are not JSON (logged by count) */
};

static int export_one(void *ud, int day, const uint8_t *key, const MDB_val *val)
{
    struct export_ctx *x = ud;
    if (day != x->rk_day) {
        uint8_t dk[VAULT_KEY_BYTES];
        char dname[32];
        day_name(day, dname, sizeof(dname));
        int rc = vault_key(privacy_vault(x->p), x->txn, dname, 0, dk);
        if (rc == MDB_NOTFOUND) /* the day's key is gone: its records cannot be opened */
            return 0;
        if (rc)
            return rc;
        record_key(dk, x->uk, x->rk);
        OPENSSL_cleanse(dk, sizeof(dk));
        x->rk_day = day;
    }
    uint8_t aad[KLEN];
    record_aad(key, aad);
    size_t pl = 0;
    if (seal_decrypt(x->rk, aad, KLEN, val->mv_data, val->mv_size, (uint8_t *)x->plain, TRANSCRIPT_MAX_RECORD, &pl) !=
        0)
        return MDB_CORRUPTED;
    /* Authenticated, so written by us; but text that is not JSON (or not
     * UTF-8: jansson checks) is replaced in the export, not fatal to it. */
    json_t *rec = json_loadb(x->plain, pl, 0, NULL);
    if (rec == NULL)
        x->unreadable++;
    json_array_append_new(x->list, rec ? rec : json_string("(unreadable record)"));
    return 0;
}

static int export_user(privacy_t *p, MDB_txn *txn, const char *user_hex, json_t **out, char *err, size_t err_size)
{
    uint8_t uk[VAULT_KEY_BYTES], tag[TAG];
    int last = 0, rc = get_user(p, txn, user_hex, uk, &last);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc) {
        snprintf(err, err_size, "transcript export: %s", mdb_strerror(rc));
        return rc;
    }
    user_tag(uk, tag);
    struct export_ctx x = {p, txn, uk, {0}, -1, xmalloc(TRANSCRIPT_MAX_RECORD + 1), json_array(), 0};
    if (x.list == NULL)
        xalloc_die("json_array", 0);
    rc = each_user_record(p, txn, tag, export_one, &x);
    OPENSSL_cleanse(x.rk, sizeof(x.rk));
    OPENSSL_cleanse(x.plain, TRANSCRIPT_MAX_RECORD + 1);
    free(x.plain);
    OPENSSL_cleanse(uk, sizeof(uk));
    if (x.unreadable)
        log_warn("transcript.unreadable", "records=%zu action=replaced_in_export", x.unreadable);
    if (rc) {
        json_decref(x.list);
        snprintf(err, err_size, "transcript export: %s", mdb_strerror(rc));
        return rc;
    }
    *out = x.list;
    return 0;
}

struct key_list {
    uint8_t *keys;
    size_t n, cap;
};

static int collect_key(void *ud, int day, const uint8_t *key, const MDB_val *val)
{
    (void)day;
    (void)val;
    struct key_list *l = ud;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->keys = xrealloc(l->keys, l->cap * KLEN);
    }
    memcpy(l->keys + l->n++ * KLEN, key, KLEN);
    return 0;
}

static int forget(privacy_t *p, MDB_txn *txn, const char *user_hex, unsigned what, size_t *n_erased, char *err,
                  size_t err_size)
{
    if (!(what & PRIVACY_ERASE_USER))
        return 0;
    MDB_dbi d, dd;
    uint8_t uk[VAULT_KEY_BYTES], tag[TAG];
    int last = 0, rc = get_user(p, txn, user_hex, uk, &last);
    if (rc == MDB_NOTFOUND)
        return 0;
    if (rc == 0)
        rc = dbi(p, &d);
    if (rc == 0)
        rc = days_dbi(p, &dd);
    /* collect, then delete: a cursor walk that deletes as it goes is easy to
     * get wrong at page edges, and one user's records are few */
    struct key_list l = {0};
    int *days = NULL;
    size_t nd = 0;
    if (rc == 0) {
        user_tag(uk, tag);
        rc = each_user_record(p, txn, tag, collect_key, &l);
    }
    for (size_t i = 0; rc == 0 && i < l.n; i++) {
        MDB_val k = {KLEN, l.keys + i * KLEN};
        if ((rc = mdb_del(txn, d, &k, NULL)) == 0)
            (*n_erased)++;
    }
    free(l.keys);
    if (rc == 0)
        rc = user_days(p, txn, tag, &days, &nd);
    for (size_t i = 0; rc == 0 && i < nd; i++) {
        uint8_t e[DLEN];
        day_entry(tag, days[i], e);
        MDB_val k = {DLEN, e};
        rc = mdb_del(txn, dd, &k, NULL);
    }
    free(days);
    OPENSSL_cleanse(uk, sizeof(uk));
    if (rc == 0) {
        char name[80];
        user_name(user_hex, name, sizeof(name));
        if ((rc = vault_del(privacy_vault(p), txn, name)) == 0)
            (*n_erased)++;
    }
    if (rc)
        snprintf(err, err_size, "transcript forget: %s", mdb_strerror(rc));
    return rc;
}

/* a user key whose newest record is older than the cut-off (int in *ud) */
static int idle(void *ud, const char *name, const uint8_t *val, size_t len)
{
    (void)name;
    return len == USER_VAL && (int)get32(val + VAULT_KEY_BYTES) < *(const int *)ud;
}

static int purge(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n_erased, char *err, size_t err_size)
{
    MDB_dbi d;
    int rc = dbi(p, &d), oldest = 0;
    if (rc)
        return rc;
    int cutoff = privacy_cutoff(p, PRIVACY_TRANSCRIPTS, as_of_day);
    rc = get_oldest(txn, d, &oldest);
    if (rc == MDB_NOTFOUND)
        return 0; /* nothing was ever written */
    MDB_cursor *c = NULL;
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    /* records of days before the cutoff (keys sort by day first) */
    for (MDB_val k, v; rc == 0;) {
        uint8_t first[4] = {0, 0, 0, 0};
        k.mv_size = 4;
        k.mv_data = first;
        rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE);
        while (rc == 0 && k.mv_size != KLEN)
            rc = mdb_cursor_get(c, &k, &v, MDB_NEXT);
        if (rc || (int)get32(k.mv_data) >= cutoff)
            break;
        if ((rc = mdb_cursor_del(c, 0)) == 0)
            (*n_erased)++;
    }
    if (c)
        mdb_cursor_close(c);
    if (rc == MDB_NOTFOUND)
        rc = 0;
    /* their day keys */
    for (int day = oldest; rc == 0 && day < cutoff; day++) {
        char dname[32];
        day_name(day, dname, sizeof(dname));
        rc = vault_del(privacy_vault(p), txn, dname);
        if (rc == 0)
            (*n_erased)++;
        if (rc == MDB_NOTFOUND)
            rc = 0;
    }
    /* the days index's entries of those days (the index is keyed by user
     * first, so this walks it all: one entry per user and day) */
    if (rc == 0 && oldest < cutoff) {
        MDB_dbi dd;
        MDB_cursor *dc = NULL;
        MDB_val k, v;
        rc = days_dbi(p, &dd);
        if (rc == 0)
            rc = mdb_cursor_open(txn, dd, &dc);
        for (int r = rc ? rc : mdb_cursor_get(dc, &k, &v, MDB_FIRST); rc == 0;) {
            if (r) {
                rc = r == MDB_NOTFOUND ? 0 : r;
                break;
            }
            if (k.mv_size == DLEN && (int)get32((const uint8_t *)k.mv_data + TAG) < cutoff) {
                uint8_t gone[DLEN];
                memcpy(gone, k.mv_data, DLEN);
                if ((rc = mdb_cursor_del(dc, 0)) != 0)
                    break;
                k.mv_size = DLEN; /* the entry after the deleted one */
                k.mv_data = gone;
                r = mdb_cursor_get(dc, &k, &v, MDB_SET_RANGE);
            } else {
                r = mdb_cursor_get(dc, &k, &v, MDB_NEXT);
            }
        }
        if (dc)
            mdb_cursor_close(dc);
    }
    if (rc == 0 && oldest < cutoff)
        rc = put_oldest(txn, d, cutoff);
    /* user keys with nothing left to open */
    if (rc == 0)
        rc = vault_del_if(privacy_vault(p), txn, "t:", idle, &cutoff, n_erased);
    if (rc)
        snprintf(err, err_size, "transcript purge: %s", mdb_strerror(rc));
    return rc;
}

/* Records of the first layout (DBI "transcript": day | tag | time | random)
 * move to this one with their sealed values untouched (the associated data is
 * that first-layout key, record_aad), together with the "oldest day" meta key;
 * then the old DBI is deleted. One transaction: all or nothing. */
static int upgrade(privacy_t *p, MDB_txn *txn, size_t *n_changed, char *err, size_t err_size)
{
    MDB_dbi d, dd, old;
    int rc = mdb_dbi_open(txn, OLD_DBI_NAME, 0, &old);
    if (rc == MDB_NOTFOUND)
        return 0; /* nothing of the old layout (a new store, or already moved) */
    MDB_cursor *c = NULL;
    if (rc == 0)
        rc = dbi(p, &d);
    if (rc == 0)
        rc = days_dbi(p, &dd);
    if (rc == 0)
        rc = mdb_cursor_open(txn, old, &c);
    MDB_val k, v;
    for (int r2 = rc ? rc : mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
         r2 = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        if (r2) {
            rc = r2 == MDB_NOTFOUND ? 0 : r2;
            break;
        }
        uint8_t key[KLEN];
        MDB_val nk = k;
        if (k.mv_size == KLEN) {
            key_of_old(k.mv_data, key);
            nk.mv_data = key;
        } else if (k.mv_size != 2) {
            continue; /* not ours: left behind, and gone with the DBI */
        }
        if ((rc = mdb_put(txn, d, &nk, &v, 0)) == 0 && k.mv_size == KLEN) {
            uint8_t e[DLEN];
            day_entry(key + K_TAG, (int)get32(key), e);
            MDB_val ek = {DLEN, e}, ev = {0, ""};
            rc = mdb_put(txn, dd, &ek, &ev, 0);
            (*n_changed)++;
        }
    }
    if (c)
        mdb_cursor_close(c);
    if (rc == 0)
        rc = mdb_drop(txn, old, 1);
    if (rc)
        snprintf(err, err_size, "transcript upgrade (moving records to the time-ordered layout): %s",
                 mdb_strerror(rc));
    return rc;
}

const privacy_module_t transcript_privacy_module = {"transcripts", transcript_dbi_defs, 2, export_user, forget, purge,
                                                    upgrade, NULL};
