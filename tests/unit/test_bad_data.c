/* test_bad_data.c - data never aborts the process: the paths where text from
 * a request, a record or a stored entry used to reach an abort() (or an
 * overrun) now drop or refuse it. Each check here would have aborted or, under
 * ASan, reported a stack-buffer-overflow before the fix.
 *
 *  - transcript records: a turn whose intent, request type, slot or user text
 *    is not UTF-8 is written with the invalid text dropped from its first bad
 *    byte (put_record aborted);
 *  - the vault: an authenticated entry whose name is longer than
 *    VAULT_MAX_NAME (a corrupted or foreign vault) is reported as corrupted by
 *    every walk (it overran a VAULT_MAX_NAME + 1 stack buffer), and an
 *    oversize name asked for is simply absent (seal_derive aborted past 512
 *    bytes).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binday/privacy/privacy.h"
#include "binday/privacy/seal.h"
#include "binday/privacy/transcript.h"
#include "binday/privacy/vault.h"
#include "binday/util/utf8.h"
#include "tap.h"

/* The record parses as JSON, is valid UTF-8 throughout, and member `key`
 * holds `want`. */
static int record_has(const char *rec, size_t len, const char *key, const char *want)
{
    if (rec == NULL || !utf8_valid((const uint8_t *)rec, len))
        return 0;
    json_error_t e;
    json_t *j = json_loadb(rec, len, 0, &e);
    const char *got = json_string_value(json_object_get(j, key));
    int same = got != NULL && strcmp(got, want) == 0;
    json_decref(j);
    return same;
}

static void test_transcript_invalid_text(void)
{
    size_t len = 0;
    transcript_turn_t t = {1764288000123, "IntentRequest", "NextCollection\xffIntent", NULL, "Hello.", NULL};
    char *r = transcript_record_json("u", &t, &len);
    ok(record_has(r, len, "intent", "NextCollection"), "an intent with an invalid byte: cut before it (%s)",
       r ? r : "NULL");
    ok(record_has(r, len, "said", "Hello."), "  the rest of the record is intact");
    free(r);

    transcript_turn_t rt = {1764288000123, "Intent\xc0\xafRequest", NULL, NULL, "Hi.", NULL};
    r = transcript_record_json("u", &rt, &len);
    ok(record_has(r, len, "request_type", "Intent"), "an overlong form in the request type: cut before it");
    free(r);

    transcript_turn_t st = {1764288000123, "IntentRequest", "X", NULL, "ab\xed\xa0\x80 cd", NULL};
    r = transcript_record_json("u", &st, &len);
    ok(record_has(r, len, "said", "ab"), "a surrogate in what was said: cut before it");
    free(r);

    json_t *slots = json_pack("{s:{s:s,s:s}}", "Street", "name", "Street", "value", "High St");
    /* jansson itself refuses invalid UTF-8, so plant it the way a broken
     * caller would: through the nocheck constructor */
    json_object_set_new(json_object_get(slots, "Street"), "value", json_string_nocheck("High \xfe St"));
    transcript_turn_t sl = {1764288000123, "IntentRequest", "X", slots, "ok", NULL};
    r = transcript_record_json("u", &sl, &len);
    json_t *j = r ? json_loadb(r, len, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(json_object_get(j, "slots"), "Street"));
    ok(j != NULL && v != NULL && strcmp(v, "High ") == 0, "an invalid slot value: cut before the bad byte (%s)",
       v ? v : "none");
    json_decref(j);
    json_decref(slots);
    free(r);

    r = transcript_record_json("ab\x80", &t, &len);
    ok(record_has(r, len, "user", "ab"), "an invalid user tag: cut too");
    free(r);
}

/* ---- the vault ------------------------------------------------------------------ */

static char dir[64];

struct plant {
    vault_t *v;
    store_t *s;
    size_t name_len;
};

/* Writes an entry sealed exactly as vault.c seals one (index HMAC as its key
 * and aad, plaintext = name length | name | value), under the real KEK, but
 * with a name longer than VAULT_MAX_NAME: what a corrupted vault could hold. */
static int plant_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct plant *p = ud;
    char path[128];
    uint8_t kek[VAULT_KEY_BYTES];
    snprintf(path, sizeof(path), "%s/vault-%llu.key", dir, (unsigned long long)vault_generation(p->v, txn));
    int fd = open(path, O_RDONLY);
    if (fd < 0 || read(fd, kek, sizeof(kek)) != (ssize_t)sizeof(kek)) {
        snprintf(err, err_size, "read %s", path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    char name[256];
    memset(name, 'n', p->name_len);
    uint8_t h[32], plain[1 + 255], sealed[sizeof(plain) + SEAL_OVERHEAD];
    seal_derive(kek, "vault-index:", 12, name, p->name_len, h);
    plain[0] = (uint8_t)p->name_len;
    memcpy(plain + 1, name, p->name_len);
    size_t sl = seal_encrypt(kek, h, 16, plain, 1 + p->name_len, sealed, sizeof(sealed));
    MDB_dbi dbi;
    if (sl == 0 || store_dbi(p->s, VAULT_DBI_NAME, &dbi) != 0)
        return -1;
    MDB_val k = {16, h}, val = {sl, sealed};
    return mdb_put(txn, dbi, &k, &val, 0);
}

static int any_name(void *ud, const char *name, const uint8_t *val, size_t len)
{
    (void)ud, (void)name, (void)val, (void)len;
    return 0;
}

struct del_if {
    vault_t *v;
    int rc;
};

static int del_if_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct del_if *d = ud;
    d->rc = vault_del_if(d->v, txn, "", any_name, NULL, NULL);
    return -1; /* never commit: only the walk's answer matters */
}

struct get_long {
    vault_t *v;
    int get_rc, del_rc;
};

static int get_long_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct get_long *g = ud;
    char name[700];
    memset(name, 'x', sizeof(name) - 1);
    name[sizeof(name) - 1] = 0;
    uint8_t val[VAULT_MAX_VALUE];
    size_t len = 0;
    g->get_rc = vault_get(g->v, txn, name, val, sizeof(val), &len);
    g->del_rc = vault_del(g->v, txn, name);
    return -1;
}

static void test_vault_long_names(void)
{
    snprintf(dir, sizeof(dir), "/tmp/binday-baddata-XXXXXX");
    if (!ok(mkdtemp(dir) != NULL, "temp dir"))
        return;
    store_set_initial_mapsize(1 << 20);
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    store_t *s = NULL;
    vault_t *v = NULL;
    char err[300] = "";
    if (!ok(store_open(dir, defs, nd, &s, err, sizeof(err)) == 0 && vault_open(s, dir, &v, err, sizeof(err)) == 0,
            "store and vault open (%s)", err))
        return;

    struct get_long g = {v, 0, 0};
    store_write(s, get_long_fn, &g, err, sizeof(err));
    is_int(g.get_rc, MDB_NOTFOUND, "vault_get of a 699-byte name: absent, not an abort in seal_derive");
    is_int(g.del_rc, MDB_NOTFOUND, "vault_del of a 699-byte name: absent");

    /* 180 bytes: longer than VAULT_MAX_NAME (120), short enough that the
     * entry still fits the walk's plaintext buffer, so only the name check
     * stands between it and the 121-byte name buffer */
    struct plant p = {v, s, 180};
    ok(store_write(s, plant_fn, &p, err, sizeof(err)) == 0, "an entry with a 180-byte name planted (%s)", err);
    struct del_if d = {v, 0};
    store_write(s, del_if_fn, &d, err, sizeof(err));
    is_int(d.rc, MDB_CORRUPTED, "walking the vault: the entry is reported corrupted, nothing overruns");

    vault_close(v);
    store_close(s);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    ok(system(cmd) == 0, "cleanup");
}

int main(void)
{
    test_transcript_invalid_text();
    test_vault_long_names();
    return done_testing();
}
