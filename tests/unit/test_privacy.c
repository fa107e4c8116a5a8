/* test_privacy.c - the pure parts of privacy (record sealing, event ordering,
 * transcript records, retention cut-offs) and the vault on a real LMDB
 * environment, including the forensic check that a deleted entry stays
 * recoverable from the raw file until the vault rotates, and not after. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binday/alexa/alexa_request.h"
#include "binday/util/date.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/seal.h"
#include "binday/privacy/transcript.h"
#include "binday/privacy/vault.h"
#include "tap.h"

static void test_seal(void)
{
    uint8_t key[32], other[32], out[128], back[128];
    memset(key, 7, sizeof(key));
    memset(other, 8, sizeof(other));
    const char *msg = "turn: when is my green bin";
    size_t n = seal_encrypt(key, "aad", 3, msg, strlen(msg), out, sizeof(out));
    is_int((int)n, (int)(strlen(msg) + SEAL_OVERHEAD), "sealed length = plaintext + 28");
    ok(memmem(out, n, "green", 5) == NULL, "no plaintext in the sealed record");
    size_t bl = 0;
    ok(seal_decrypt(key, "aad", 3, out, n, back, sizeof(back), &bl) == 0 && bl == strlen(msg) &&
           memcmp(back, msg, bl) == 0,
       "opens with the key and aad");
    ok(seal_decrypt(other, "aad", 3, out, n, back, sizeof(back), &bl) != 0, "another key does not open it");
    ok(seal_decrypt(key, "aae", 3, out, n, back, sizeof(back), &bl) != 0, "another aad (moved record) does not open");
    out[15] ^= 1;
    ok(seal_decrypt(key, "aad", 3, out, n, back, sizeof(back), &bl) != 0, "a flipped bit does not open");
    ok(seal_decrypt(key, "aad", 3, out, 10, back, sizeof(back), &bl) != 0, "too short does not open");
    ok(seal_encrypt(key, NULL, 0, msg, strlen(msg), out, 10) == 0, "too small an output buffer is refused");
    uint8_t n2[128];
    size_t m = seal_encrypt(key, NULL, 0, msg, strlen(msg), n2, sizeof(n2));
    uint8_t n3[128];
    seal_encrypt(key, NULL, 0, msg, strlen(msg), n3, sizeof(n3));
    ok(m > 0 && memcmp(n2, n3, 12) != 0, "fresh nonce per record");
    /* a caller-drawn nonce is used as given (so it must be fresh: the output is deterministic) */
    uint8_t nonce[SEAL_NONCE_BYTES], w1[128], w2[128];
    memset(nonce, 0x5a, sizeof(nonce));
    size_t k1 = seal_encrypt_nonce(key, nonce, "aad", 3, msg, strlen(msg), w1, sizeof(w1));
    size_t k2 = seal_encrypt_nonce(key, nonce, "aad", 3, msg, strlen(msg), w2, sizeof(w2));
    ok(k1 == strlen(msg) + SEAL_OVERHEAD && memcmp(w1, nonce, sizeof(nonce)) == 0 && k2 == k1 &&
           memcmp(w1, w2, k1) == 0,
       "seal_encrypt_nonce: the given nonce leads the record");
    ok(seal_decrypt(key, "aad", 3, w1, k1, back, sizeof(back), &bl) == 0 && bl == strlen(msg) &&
           memcmp(back, msg, bl) == 0,
       "seal_encrypt_nonce: opens like any sealed record");
}

static void test_order(void)
{
    privacy_evstate_t cur = {0}, next;
    unsigned erase;
    int64_t t0 = 1764000000000;
    /* first event: full set with address only: email and name lose */
    ok(privacy_event_decide(&cur, 0, PRIVACY_EV_PERMISSIONS, t0, ALEXA_PERM_ADDRESS, &next, &erase) == 1,
       "first event applies");
    ok(erase == (PRIVACY_ERASE_EMAIL | PRIVACY_ERASE_NAME | PRIVACY_ERASE_ALERTS),
       "address kept; email, name and alert data erased (%u)", erase);
    cur = next;
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0, 0, &next, &erase) == 0, "redelivery: ignored");
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0 - 1000, ALEXA_PERM_EMAIL, &next, &erase) == 0,
       "older event after newer: ignored");
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0 + 1000, 0, &next, &erase) == 1 &&
           (erase & PRIVACY_ERASE_ADDRESS) && next.perms == 0,
       "empty set: address data erased");
    cur = next;
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_DISABLED, t0 + 2000, 0, &next, &erase) == 1 &&
           (erase & PRIVACY_ERASE_USER) && (erase & PRIVACY_ERASE_ALERTS) && !(erase & PRIVACY_ERASE_EVENT_STATE) &&
               next.disabled == 1,
       "disabled: everything but the ordering state");
    cur = next;
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_ENABLED, t0 + 1500, 0, &next, &erase) == 0,
       "an older enable does not undo a newer disable");
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_ENABLED, t0 + 3000, 0, &next, &erase) == 1 && erase == 0 &&
           next.disabled == 0,
       "a newer enable applies and erases nothing");
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0 + 4000,
                            ALEXA_PERM_ADDRESS | ALEXA_PERM_EMAIL | ALEXA_PERM_GIVEN_NAME | ALEXA_PERM_NOTIFICATIONS,
                            &next, &erase) == 1 &&
           erase == 0,
       "everything granted: nothing erased");
    cur = next;
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0 + 4500,
                            ALEXA_PERM_ADDRESS | ALEXA_PERM_EMAIL | ALEXA_PERM_GIVEN_NAME, &next, &erase) == 1 &&
           erase == PRIVACY_ERASE_ALERTS,
       "notifications revoked: only the alert subscription goes");
    ok(privacy_event_decide(&cur, 1, PRIVACY_EV_PERMISSIONS, t0 + 5000, ALEXA_PERM_POSTCODE, &next, &erase) == 1 &&
           (erase & PRIVACY_ERASE_ADDRESS),
       "postcode only: choices (from the full address) erased");
    const char *card = "read::alexa:device:all:address", *manifest = "alexa::devices:all:address:full:read";
    unsigned a = alexa_perm_from_scope(card, strlen(card)), b = alexa_perm_from_scope(manifest, strlen(manifest));
    ok(a == ALEXA_PERM_ADDRESS && b == ALEXA_PERM_ADDRESS, "both address scope spellings count");
}

static void test_record(void)
{
    json_error_t je;
    json_t *slots = json_loads("{\"BinType\":{\"name\":\"BinType\",\"value\":\"green one\",\"resolutions\":{"
                               "\"resolutionsPerAuthority\":[{\"status\":{\"code\":\"ER_SUCCESS_MATCH\"},\"values\":[{"
                               "\"value\":{\"name\":\"green\",\"id\":\"refuse\"}}]}]}},\"Date\":{\"name\":\"Date\"}}",
                               0, &je);
    transcript_turn_t t = {1764288000123, "IntentRequest", "BinTypeIntent", slots, "Your green bin goes out Monday.", NULL};
    size_t len;
    char *s = transcript_record_json("0123456789abcdef0123456789abcdef", &t, &len);
    is_str(s,
           "{\"intent\":\"BinTypeIntent\",\"request_type\":\"IntentRequest\",\"said\":\"Your green bin goes out "
           "Monday.\",\"slots\":{\"BinType\":\"refuse\"},\"time\":\"2025-11-28T00:00:00.123Z\",\"user\":"
           "\"0123456789abcdef0123456789abcdef\"}",
           "transcript record: resolved slot ids, no empty slots, UTC time");
    free(s);
    /* a slot value cut at 200 bytes must not split a character: 199 ASCII
     * bytes and an "é" keep the 199 */
    {
        char v[256];
        memset(v, 'a', 199);
        strcpy(v + 199, "\xc3\xa9 tail");
        json_t *ls = json_pack("{s:{s:s,s:s}}", "Street", "name", "Street", "value", v);
        transcript_turn_t lt = {1764288000123, "IntentRequest", "X", ls, "ok", NULL};
        char *r = transcript_record_json("u", &lt, &len);
        char want[300];
        snprintf(want, sizeof(want), "\"slots\":{\"Street\":\"%.199s\"}", v);
        ok(r && strstr(r, want) != NULL, "a long slot value is cut before a whole character, not inside it");
        free(r);
        json_decref(ls);
    }
    /* what was said, cut inside a character by the caller: the record keeps
     * the whole characters (it used to abort on the invalid UTF-8) */
    {
        transcript_turn_t ct = {1764288000123, "IntentRequest", "X", NULL, "Caf\xc3\xa9 \xe2\x82", NULL};
        char *r = transcript_record_json("u", &ct, &len);
        ok(r && strstr(r, "\"said\":\"Caf\xc3\xa9 \"") != NULL, "what was said keeps its whole characters");
        free(r);
    }
    /* no intent (a LaunchRequest), and a time with every field padded */
    transcript_turn_t l = {1796011399007, "LaunchRequest", NULL, NULL, "Hello.", NULL};
    s = transcript_record_json("u", &l, &len);
    is_str(s,
           "{\"intent\":null,\"request_type\":\"LaunchRequest\",\"said\":\"Hello.\",\"slots\":{},"
           "\"time\":\"2026-11-30T04:03:19.007Z\",\"user\":\"u\"}",
           "transcript record: null intent, zero-padded UTC time");
    ok(len == strlen(s), "its length");
    free(s);
    char *big = malloc(40000);
    memset(big, 'x', 39999);
    big[39999] = 0;
    t.said = big;
    s = transcript_record_json("u", &t, &len);
    ok(len <= TRANSCRIPT_MAX_RECORD && strstr(s, "xxxx") != NULL, "an oversize record is cut to the bound (%zu)", len);
    free(s);
    free(big);
    json_decref(slots);
}


/* ---- vault on a real environment ---- */

static char dir[64];

static size_t slurp(const char *path, uint8_t **out)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    *out = malloc((size_t)n + 1);
    size_t r = fread(*out, 1, (size_t)n, f);
    fclose(f);
    return r;
}

/* What an attacker with the directory can do: for each KEK file present,
 * compute the entry index of `name`, find it in data.mdb, read the node's
 * value after it and try to open it. 1 when the value is recovered. */
static int recoverable(const char *name, const uint8_t *want, size_t want_len)
{
    char path[400];
    snprintf(path, sizeof(path), "%s/data.mdb", dir);
    uint8_t *db = NULL;
    size_t dn = slurp(path, &db);
    int found = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "vault-", 6) != 0)
            continue;
        uint8_t *kek = NULL;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (slurp(path, &kek) != 32) {
            free(kek);
            continue;
        }
        uint8_t h[32];
        seal_derive(kek, "vault-index:", 12, name, strlen(name), h);
        for (size_t o = 8; o + 16 < dn; o++) {
            if (memcmp(db + o, h, 16) != 0)
                continue;
            size_t dsize = (size_t)db[o - 8] | (size_t)db[o - 7] << 8 | (size_t)db[o - 6] << 16 | (size_t)db[o - 5] << 24;
            uint8_t plain[256];
            size_t pl;
            if (dsize < 256 && o + 16 + dsize <= dn &&
                seal_decrypt(kek, h, 16, db + o + 16, dsize, plain, sizeof(plain), &pl) == 0 &&
                pl >= 1 + strlen(name) + want_len && memcmp(plain + 1 + strlen(name), want, want_len) == 0)
                found = 1;
        }
        free(kek);
    }
    if (d)
        closedir(d);
    free(db);
    return found;
}

static int count_keks(void)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        n += strncmp(e->d_name, "vault-", 6) == 0;
    if (d)
        closedir(d);
    return n;
}

struct op {
    vault_t *v;
    const char *name;
    uint8_t key[32];
    int rotate;
};

static int create_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    struct op *o = ud;
    return vault_key(o->v, txn, o->name, 1, o->key);
}

static int del_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    struct op *o = ud;
    int rc = vault_del(o->v, txn, o->name);
    if (rc == 0 && o->rotate)
        rc = vault_rotate(o->v, txn, err, n);
    return rc;
}

static int get_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    struct op *o = ud;
    return vault_key(o->v, txn, o->name, 0, o->key);
}

/* A fresh directory from a mkdtemp template (dir holds 64 bytes), and its
 * removal at the end of a test; each is a check of its own. */
static void make_dir(char *path, const char *tmpl)
{
    snprintf(path, 64, "%s", tmpl);
    ok(mkdtemp(path) != NULL, "temp dir");
}

/* A store with the privacy DBIs in d and privacy opened on it; 0, or -1
 * with err set. */
static int open_privacy(const char *d, const secret_key_t *uk, const privacy_retention_t *ret, store_t **s,
                        privacy_t **p, char *err, size_t err_size)
{
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    return store_open(d, defs, nd, s, err, err_size) == 0 && privacy_open(*s, d, uk, ret, p, err, err_size) == 0 ? 0 : -1;
}

static void remove_dir(const char *path)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", path);
    ok(system(cmd) == 0, "cleanup");
}

/* The given name is never stored (docs/privacy.md): a record of a turn that
 * greeted by name says where the name was, not what it was. */
static void test_given_name(void)
{
    char *r = transcript_redact_name("Hello Sam. Welcome to Breckland bins, Sam's bins.", "Sam");
    is_str(r, "Hello [given name]. Welcome to Breckland bins, [given name]'s bins.", "every occurrence replaced");
    free(r);
    r = transcript_redact_name("Samphire Road, sam, SAM.", "Sam");
    is_str(r, "Samphire Road, [given name], [given name].", "whole words only, ASCII case ignored");
    free(r);
    r = transcript_redact_name("Hello Mary Ann. Hello Mary  Ann.", "  Mary\t Ann ");
    is_str(r, "Hello [given name]. Hello [given name].", "whitespace runs in the name or the speech match");
    free(r);
    r = transcript_redact_name("Hello Zo\xc3\xab. Zo\xc3\xabs", "Zo\xc3\xab");
    is_str(r, "Hello [given name]. Zo\xc3\xabs", "UTF-8 names; a longer word is not the name");
    free(r);
    r = transcript_redact_name("Hello Jo & <Co>. x<Co>y", "Jo & <Co>");
    is_str(r, "Hello [given name]. x<Co>y", "a name with punctuation");
    free(r);
    r = transcript_redact_name("Hi x<Co>y", "<Co>");
    is_str(r, "Hi x[given name]y", "edges that are not word bytes need no boundary");
    free(r);
    ok(transcript_redact_name("Hello.", "") == NULL && transcript_redact_name("Hello.", " ") == NULL &&
           transcript_redact_name("Hello.", NULL) == NULL,
       "no name: nothing to replace");
    transcript_turn_t t = {1764288000123, "LaunchRequest", NULL, NULL, "Hello Sam. Welcome.", "Sam"};
    size_t len;
    char *s = transcript_record_json("u", &t, &len);
    ok(s && strstr(s, "\"said\":\"Hello [given name]. Welcome.\"") != NULL && strstr(s, "Sam") == NULL,
       "the record holds the placeholder and not the name");
    ok(s && len == strlen(s), "its length");
    free(s);
}

static void test_vault(void)
{
    make_dir(dir, "/tmp/binday-privacy-XXXXXX");
    store_set_initial_mapsize(1 << 20);
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s = NULL;
    vault_t *v = NULL;
    char err[300];
    ok(store_open(dir, defs, nd, &s, err, sizeof(err)) == 0, "store opens with the privacy DBIs");
    ok(vault_open(s, dir, &v, err, sizeof(err)) == 0, "vault opens (%s)", err);
    is_int(count_keks(), 1, "one KEK file");
    char kp[128];
    snprintf(kp, sizeof(kp), "%s/vault-1.key", dir);
    struct stat st;
    ok(stat(kp, &st) == 0 && (st.st_mode & 0777) == 0600, "KEK file mode 0600");

    struct op alice = {v, "t:alice", {0}, 0}, bob = {v, "t:bob", {0}, 0};
    ok(store_write(s, create_fn, &alice, err, sizeof(err)) == 0, "key for alice");
    ok(store_write(s, create_fn, &bob, err, sizeof(err)) == 0, "key for bob");
    uint8_t a_key[32];
    memcpy(a_key, alice.key, 32);
    ok(recoverable("t:alice", a_key, 32), "probe has teeth: alice's live key is found with the KEK on disk");

    /* delete without rotating: LMDB keeps the old page, the KEK still opens it */
    alice.rotate = 0;
    ok(store_write(s, del_fn, &alice, err, sizeof(err)) == 0, "alice's key deleted (no rotation)");
    ok(store_write(s, get_fn, &alice, err, sizeof(err)) == MDB_NOTFOUND, "deleted key is gone for lookups");
    ok(recoverable("t:alice", a_key, 32), "...but still recoverable from free pages: why rotation is needed");

    /* recreate and delete with rotation */
    ok(store_write(s, create_fn, &alice, err, sizeof(err)) == 0, "alice gets a new key");
    memcpy(a_key, alice.key, 32);
    alice.rotate = 1;
    ok(store_write(s, del_fn, &alice, err, sizeof(err)) == 0, "alice's key deleted with rotation (%s)", err);
    ok(vault_sweep(v, err, sizeof(err)) == 0, "sweep");
    is_int(count_keks(), 1, "one KEK file after the sweep");
    snprintf(kp, sizeof(kp), "%s/vault-1.key", dir);
    ok(access(kp, F_OK) != 0, "the old generation's KEK file is gone");
    ok(!recoverable("t:alice", a_key, 32), "alice's key is not recoverable from anything in the directory");
    uint8_t b_key[32];
    memcpy(b_key, bob.key, 32);
    ok(store_write(s, get_fn, &bob, err, sizeof(err)) == 0 && memcmp(bob.key, b_key, 32) == 0,
       "bob's key survives the rotation unchanged");
    ok(recoverable("t:bob", b_key, 32), "bob's key is found under the new KEK");

    /* a second process (simulated: a second vault on a second store handle
     * of the same directory) sees the rotation */
    vault_close(v);
    ok(vault_open(s, dir, &v, err, sizeof(err)) == 0, "vault reopens");
    bob.v = v;
    ok(store_write(s, get_fn, &bob, err, sizeof(err)) == 0 && memcmp(bob.key, b_key, 32) == 0,
       "bob's key read after reopening");
    vault_close(v);
    store_close(s);
    remove_dir(dir);
}

/* The server's path in one process: queued turns, export, an erasure that
 * must see queued records first, purge with a configured period. */
static int count_transcripts_fn(MDB_txn *txn, void *ud, char *err, size_t n);

/* [0] distinct 4-byte key suffixes (random | tag ... bytes 12..16), [1]
 * distinct nonces (first 12 bytes of the sealed values) among the records. */
static int distinct_random_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    size_t *out = ud;
    MDB_dbi d;
    MDB_cursor *c;
    MDB_val k, v;
    uint8_t keys[64][4], nonces[64][12];
    size_t cnt = 0;
    int rc = mdb_dbi_open(txn, TRANSCRIPT_DBI_NAME, 0, &d);
    if (rc == 0)
        rc = mdb_cursor_open(txn, d, &c);
    if (rc)
        return rc;
    for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0 && cnt < 64; r = mdb_cursor_get(c, &k, &v, MDB_NEXT))
        if (k.mv_size == 32 && v.mv_size >= 12) {
            memcpy(keys[cnt], (const uint8_t *)k.mv_data + 12, 4);
            memcpy(nonces[cnt], v.mv_data, 12);
            cnt++;
        }
    mdb_cursor_close(c);
    out[0] = out[1] = 0;
    for (size_t i = 0; i < cnt; i++) {
        int dk = 0, dn = 0;
        for (size_t j = 0; j < i; j++) {
            dk |= memcmp(keys[i], keys[j], 4) == 0;
            dn |= memcmp(nonces[i], nonces[j], 12) == 0;
        }
        out[0] += !dk;
        out[1] += !dn;
    }
    return 0;
}

static void test_queue(void)
{
    char qdir[64];
    make_dir(qdir, "/tmp/binday-privq-XXXXXX");
    store_t *s = NULL;
    privacy_t *p = NULL;
    char err[300];
    secret_key_t uk;
    memset(&uk, 3, sizeof(uk));
    privacy_retention_t ret = {30, 0};
    ok(open_privacy(qdir, &uk, &ret, &s, &p, err, sizeof(err)) == 0, "privacy opens");
    transcript_queue_t *q = transcript_queue_start(p);
    ok(q != NULL, "writer thread starts");
    const char *uid = "amzn1.ask.account.QUEUE";
    char user[SECRET_HEX_LEN + 1];
    privacy_user_hex(p, uid, user, sizeof(user));
    int64_t now = (int64_t)time(NULL) * 1000;
    int queued = 0;
    for (int i = 0; i < 50; i++) {
        transcript_turn_t t = {now - (int64_t)(i % 2) * 40 * 86400000LL, "LaunchRequest", NULL, NULL, "hello", NULL};
        queued += transcript_enqueue(q, user, &t) == 0;
    }
    is_int(queued, 50, "50 turns queued");
    transcript_queue_flush(q);
    {
        size_t dist[2] = {0, 0};
        ok(store_write(s, distinct_random_fn, dist, err, sizeof(err)) == 0 && dist[0] == 50 && dist[1] == 50,
           "a batch's records: 50 distinct key suffixes and 50 distinct nonces (%zu, %zu)", dist[0], dist[1]);
    }
    json_t *e = privacy_export(p, uid, err, sizeof(err));
    is_int((int)json_array_size(json_object_get(e, "transcripts")), 50, "all 50 exported after a flush");
    json_decref(e);
    int today = (int)(now / 86400000);
    is_int(privacy_cutoff(p, PRIVACY_TRANSCRIPTS, today), today - 30, "configured period: 30 days");
    privacy_purge_stats_t st;
    size_t cnt[3] = {0, 0, 0};
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[2] == 2,
       "days index: the user on two days (%zu)", cnt[2]);
    ok(privacy_purge(p, today, &st, err, sizeof(err)) == 0 && st.erased >= 25, "purge erases the 40-day-old half");
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[2] == 1,
       "purge drops the old day's days-index entry (%zu left)", cnt[2]);
    e = privacy_export(p, uid, err, sizeof(err));
    is_int((int)json_array_size(json_object_get(e, "transcripts")), 25, "25 recent turns left");
    json_decref(e);
    /* queued records of a user are written before that user's erasure runs */
    for (int i = 0; i < 10; i++) {
        transcript_turn_t t = {now, "LaunchRequest", NULL, NULL, "again", NULL};
        transcript_enqueue(q, user, &t);
    }
    size_t n = 0;
    ok(privacy_forget(p, uid, &n, err, sizeof(err)) == 0 && n >= 35, "forget erases queued and stored turns (%zu)", n);
    transcript_queue_flush(q);
    e = privacy_export(p, uid, err, sizeof(err));
    ok(e && json_object_size(e) == 2, "nothing left after forget");
    json_decref(e);
    /* without a flush, the commit window ends on its own: the record is
     * readable after a few windows (polled, up to 5 s) */
    {
        transcript_turn_t t = {now, "LaunchRequest", NULL, NULL, "windowed", NULL};
        ok(transcript_enqueue(q, user, &t) == 0, "one more turn queued");
        size_t seen = 0;
        for (int tries = 0; tries < 50 && seen == 0; tries++) {
            struct timespec nap = {0, 100 * 1000000L};
            nanosleep(&nap, NULL);
            json_t *x = privacy_export(p, uid, err, sizeof(err));
            seen = json_array_size(json_object_get(x, "transcripts"));
            json_decref(x);
        }
        is_int((int)seen, 1, "a queued turn is committed by the writer's timer, no flush needed");
    }
    transcript_queue_stop(q);
    privacy_close(p);
    store_close(s);
    /* calendar defaults: six months, six years */
    ok(open_privacy(qdir, &uk, NULL, &s, &p, err, sizeof(err)) == 0, "reopens with defaults");
    is_int(privacy_cutoff(p, PRIVACY_TRANSCRIPTS, date_from_ymd(2026, 11, 28)), date_from_ymd(2026, 5, 28),
           "six months before 28 Nov is 28 May");
    is_int(privacy_cutoff(p, PRIVACY_TRANSCRIPTS, date_from_ymd(2026, 8, 31)), date_from_ymd(2026, 2, 28),
           "six months before 31 Aug is 28 Feb (clamped)");
    is_int(privacy_cutoff(p, PRIVACY_CASE_RECORDS, date_from_ymd(2026, 11, 28)), date_from_ymd(2020, 11, 28),
           "six years before");
    privacy_close(p);
    store_close(s);
    remove_dir(qdir);
}

static int old_choice_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    MDB_dbi d;
    int rc = mdb_dbi_open(txn, "address_choice", 0, &d);
    char key[64];
    memset(key, 'a', sizeof(key));
    unsigned char val[8] = {0, 0, 0, 0, 0, 0, 1, 2};
    MDB_val k = {64, key}, v = {8, val};
    return rc ? rc : mdb_put(txn, d, &k, &v, 0);
}

static int count_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    MDB_dbi d;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, "address_choice", 0, &d);
    if (rc == 0 && (rc = mdb_stat(txn, d, &st)) == 0)
        *(size_t *)ud = st.ms_entries;
    return rc;
}

/* Choices stored in the first, unsealed layout are dropped at open. */
static void test_upgrade(void)
{
    char udir[64];
    make_dir(udir, "/tmp/binday-privu-XXXXXX");
    size_t nd, n = 99;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s = NULL;
    privacy_t *p = NULL;
    char err[300];
    secret_key_t uk;
    memset(&uk, 4, sizeof(uk));
    ok(store_open(udir, defs, nd, &s, err, sizeof(err)) == 0, "store opens");
    ok(store_write(s, old_choice_fn, NULL, err, sizeof(err)) == 0 && store_write(s, count_fn, &n, err, sizeof(err)) == 0 &&
           n == 1,
       "an old-layout choice is stored");
    ok(privacy_open(s, udir, &uk, NULL, &p, err, sizeof(err)) == 0, "privacy opens");
    ok(store_write(s, count_fn, &n, err, sizeof(err)) == 0 && n == 0, "the old-layout choice is gone");
    privacy_close(p);
    store_close(s);
    remove_dir(udir);
}

/* Rewrite every record of "transcript.bytime" into the first layout (DBI
 * "transcript", key day | tag | time | random), as a store written before
 * the time-ordered layout holds them. */
static int to_old_layout_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    MDB_dbi nd, od;
    MDB_cursor *c;
    MDB_val k, v;
    int rc = mdb_dbi_open(txn, TRANSCRIPT_DBI_NAME, 0, &nd);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "transcript", MDB_CREATE, &od);
    if (rc == 0)
        rc = mdb_cursor_open(txn, nd, &c);
    if (rc)
        return rc;
    size_t moved = 0;
    for (int r = mdb_cursor_get(c, &k, &v, MDB_FIRST); r == 0 && rc == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
        uint8_t old[32];
        const uint8_t *key = k.mv_data;
        MDB_val ok_ = k;
        if (k.mv_size == 32) { /* day | time(8) | random(4) | tag(16) -> day | tag | time | random */
            memcpy(old, key, 4);
            memcpy(old + 4, key + 16, 16);
            memcpy(old + 20, key + 4, 12);
            ok_.mv_data = old;
            moved++;
        }
        rc = mdb_put(txn, od, &ok_, &v, 0);
    }
    mdb_cursor_close(c);
    if (rc == 0)
        rc = mdb_drop(txn, nd, 0);
    MDB_dbi dd; /* the first layout had no days index */
    if (rc == 0 && (rc = mdb_dbi_open(txn, TRANSCRIPT_DAYS_DBI_NAME, 0, &dd)) == 0)
        rc = mdb_drop(txn, dd, 0);
    *(size_t *)ud = moved;
    return rc;
}

static int count_transcripts_fn(MDB_txn *txn, void *ud, char *err, size_t n)
{
    size_t *out = ud; /* [0] entries in the new DBI, [1] 1 if the old DBI exists, [2] days-index entries */
    MDB_dbi d;
    MDB_stat st;
    int rc = mdb_dbi_open(txn, TRANSCRIPT_DBI_NAME, 0, &d);
    if (rc == 0 && (rc = mdb_stat(txn, d, &st)) == 0)
        out[0] = st.ms_entries;
    out[1] = mdb_dbi_open(txn, "transcript", 0, &d) == 0;
    if (rc == 0 && (rc = mdb_dbi_open(txn, TRANSCRIPT_DAYS_DBI_NAME, 0, &d)) == 0 && (rc = mdb_stat(txn, d, &st)) == 0)
        out[2] = st.ms_entries;
    return rc;
}

static const char *said_of(json_t *list, size_t i)
{
    return json_string_value(json_object_get(json_array_get(list, i), "said"));
}

/* Transcripts of the first (user-ordered) layout move to the time-ordered
 * one at open and still open; export lists a user's turns in time order and
 * forget takes exactly that user's, with other users' turns interleaved. */
static void test_transcript_layout(void)
{
    char tdir[64];
    make_dir(tdir, "/tmp/binday-privt-XXXXXX");
    size_t moved = 0, cnt[3] = {0, 0, 0};
    store_t *s = NULL;
    privacy_t *p = NULL;
    char err[300];
    secret_key_t uk;
    memset(&uk, 5, sizeof(uk));
    ok(open_privacy(tdir, &uk, NULL, &s, &p, err, sizeof(err)) == 0, "privacy opens");
    const char *uid_a = "amzn1.ask.account.LAYOUT-A", *uid_b = "amzn1.ask.account.LAYOUT-B";
    char a[SECRET_HEX_LEN + 1], b[SECRET_HEX_LEN + 1];
    privacy_user_hex(p, uid_a, a, sizeof(a));
    privacy_user_hex(p, uid_b, b, sizeof(b));
    int64_t now = (int64_t)time(NULL) * 1000;
    /* A and B interleaved in time, over yesterday and today */
    const struct { const char *user; int64_t t; const char *said; } turns[] = {
        {a, now - 86400000LL - 5000, "a1"}, {b, now - 86400000LL - 4000, "b1"}, {a, now - 3000, "a2"},
        {b, now - 2000, "b2"},              {a, now - 1000, "a3"},
    };
    int wrote = 0;
    for (size_t i = 0; i < sizeof(turns) / sizeof(turns[0]); i++) {
        transcript_turn_t t = {turns[i].t, "LaunchRequest", NULL, NULL, turns[i].said, NULL};
        wrote += transcript_write(p, turns[i].user, &t, err, sizeof(err)) == 0;
    }
    {   /* a late record of an earlier day than the user's last: still indexed */
        transcript_turn_t t = {now - 2 * 86400000LL, "LaunchRequest", NULL, NULL, "a0", NULL};
        wrote += transcript_write(p, a, &t, err, sizeof(err)) == 0;
    }
    is_int(wrote, 6, "six turns written");
    json_t *e = privacy_export(p, uid_a, err, sizeof(err));
    json_t *l = json_object_get(e, "transcripts");
    ok(json_array_size(l) == 4 && strcmp(said_of(l, 0), "a0") == 0 && strcmp(said_of(l, 1), "a1") == 0 &&
           strcmp(said_of(l, 2), "a2") == 0 && strcmp(said_of(l, 3), "a3") == 0,
       "export: A's four turns, oldest first (the late one too), none of B's");
    json_decref(e);
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[2] == 5,
       "days index: A on 3 days, B on 2 (%zu)", cnt[2]);
    privacy_close(p);
    ok(store_write(s, to_old_layout_fn, &moved, err, sizeof(err)) == 0 && moved == 6,
       "the six records rewritten in the first layout (%zu)", moved);
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[0] == 0 && cnt[1] == 1 && cnt[2] == 0,
       "old DBI present, new one and the days index empty");
    ok(privacy_open(s, tdir, &uk, NULL, &p, err, sizeof(err)) == 0, "privacy reopens (upgrade runs)");
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[0] == 7 && cnt[1] == 0 && cnt[2] == 5,
       "records and the oldest-day mark moved, days index rebuilt, the old DBI gone (%zu, %zu)", cnt[0], cnt[2]);
    e = privacy_export(p, uid_a, err, sizeof(err));
    l = json_object_get(e, "transcripts");
    ok(json_array_size(l) == 4 && strcmp(said_of(l, 0), "a0") == 0 && strcmp(said_of(l, 3), "a3") == 0,
       "moved records open without re-sealing (same associated data)");
    json_decref(e);
    size_t n = 0;
    ok(privacy_forget(p, uid_a, &n, err, sizeof(err)) == 0 && n >= 4, "forget A (%zu erased)", n);
    e = privacy_export(p, uid_a, err, sizeof(err));
    ok(e && json_object_get(e, "transcripts") == NULL, "A: nothing left");
    json_decref(e);
    ok(store_write(s, count_transcripts_fn, cnt, err, sizeof(err)) == 0 && cnt[0] == 3 && cnt[2] == 2,
       "A's records and days-index entries gone, B's kept (%zu, %zu)", cnt[0], cnt[2]);
    e = privacy_export(p, uid_b, err, sizeof(err));
    l = json_object_get(e, "transcripts");
    ok(json_array_size(l) == 2 && strcmp(said_of(l, 0), "b1") == 0 && strcmp(said_of(l, 1), "b2") == 0,
       "B's interleaved turns untouched");
    json_decref(e);
    privacy_close(p);
    ok(privacy_open(s, tdir, &uk, NULL, &p, err, sizeof(err)) == 0, "a second open has nothing to move");
    privacy_close(p);
    store_close(s);
    remove_dir(tdir);
}

int main(void)
{
    test_seal();
    test_order();
    test_record();
    test_given_name();
    test_vault();
    test_queue();
    test_upgrade();
    test_transcript_layout();
    return done_testing();
}
