/* backup.c - owns the backup file format and restore (backup.h): writing a
 * complete, checksummed (optionally encrypted) copy, and a restore that
 * checks everything in a staging directory, re-applies later erasures and
 * swaps the result in with one rename. */
#include "binday/privacy/backup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <libgen.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binday/data/keyfile.h"
#include "binday/privacy/privacy.h"
#include "binday/privacy/vault.h"
#include "binday/util/algo.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

#define CHUNK 65536
#define XPUB 32
#define NONCE 12
#define TAGLEN 16

/* ---- manifest ------------------------------------------------------------------ */

static int name_ok(const char *n)
{
    size_t l = strlen(n);
    if (strcmp(n, "data.mdb") == 0)
        return 1;
    if (l < 5 || l > BACKUP_NAME_MAX || n[0] == '.' || strcmp(n + l - 4, ".key") != 0)
        return 0;
    for (size_t i = 0; i < l; i++) {
        char c = n[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static int unhex32(const char *s, uint8_t out[32])
{
    if (s == NULL || strlen(s) != 64)
        return -1;
    for (int i = 0; i < 64; i++) {
        char c = s[i];
        int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (v < 0)
            return -1;
        out[i / 2] = (uint8_t)(i % 2 ? out[i / 2] | v : v << 4);
    }
    return 0;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
    static const char h[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = h[b[i] >> 4];
        out[2 * i + 1] = h[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int backup_manifest_parse(const uint8_t *b, size_t len, backup_manifest_t *m, char *err, size_t err_size)
{
    memset(m, 0, sizeof(*m));
    if (len > BACKUP_MAX_MANIFEST) {
        snprintf(err, err_size, "manifest too long");
        return -1;
    }
    json_error_t je;
    json_t *doc = json_loadb((const char *)b, len, JSON_REJECT_DUPLICATES, &je);
    json_t *files = json_object_get(doc, "files");
    json_t *at = json_object_get(doc, "created_at_ms");
    int rc = -1, data = 0;
    if (!json_is_object(doc))
        snprintf(err, err_size, "manifest is not a JSON object");
    else if (json_integer_value(json_object_get(doc, "format")) != 1 || !json_is_integer(json_object_get(doc, "format")))
        snprintf(err, err_size, "manifest: unknown format (want 1)");
    else if (!json_is_integer(at) || json_integer_value(at) < 0)
        snprintf(err, err_size, "manifest: created_at_ms missing");
    else if (!json_is_array(files) || json_array_size(files) == 0 || json_array_size(files) > BACKUP_MAX_FILES)
        snprintf(err, err_size, "manifest: files must list 1..%d files", BACKUP_MAX_FILES);
    else {
        m->created_at_ms = (int64_t)json_integer_value(at);
        rc = 0;
        size_t i;
        json_t *f;
        json_array_foreach(files, i, f)
        {
            const char *name = json_string_value(json_object_get(f, "name"));
            json_t *size = json_object_get(f, "size");
            backup_file_t *bf = &m->files[i];
            if (name == NULL || !name_ok(name) || !json_is_integer(size) || json_integer_value(size) < 0 ||
                json_integer_value(size) > ((json_int_t)1 << 40) ||
                unhex32(json_string_value(json_object_get(f, "sha256")), bf->sha256) != 0) {
                snprintf(err, err_size, "manifest: file %zu: bad name, size or sha256", i);
                rc = -1;
                break;
            }
            for (size_t j = 0; j < i; j++)
                if (strcmp(m->files[j].name, name) == 0) {
                    snprintf(err, err_size, "manifest: %s listed twice", name);
                    rc = -1;
                }
            if (rc)
                break;
            snprintf(bf->name, sizeof(bf->name), "%s", name);
            bf->size = (uint64_t)json_integer_value(size);
            data += strcmp(name, "data.mdb") == 0;
            m->n_files = i + 1;
        }
        if (rc == 0 && data != 1) {
            snprintf(err, err_size, "manifest: no data.mdb");
            rc = -1;
        }
    }
    if (doc == NULL)
        snprintf(err, err_size, "manifest: %s", je.text);
    json_decref(doc);
    return rc;
}

/* ---- small file helpers --------------------------------------------------------- */

static int fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int read_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int sha256_file(const char *path, uint8_t md[32], uint64_t *size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    uint8_t *buf = xmalloc(CHUNK);
    int ok = h && EVP_DigestInit_ex(h, algo_sha256(), NULL) == 1;
    *size = 0;
    ssize_t r;
    while (ok && (r = read(fd, buf, CHUNK)) > 0) {
        ok = EVP_DigestUpdate(h, buf, (size_t)r) == 1;
        *size += (uint64_t)r;
    }
    unsigned ml = 0;
    ok = ok && r == 0 && EVP_DigestFinal_ex(h, md, &ml) == 1;
    EVP_MD_CTX_free(h);
    free(buf);
    close(fd);
    return ok ? 0 : -1;
}

/* rm -r of a directory we made (staging) or replaced: files only, one level */
static void remove_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char p[5200];
            snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
            unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* ---- X25519 + HKDF ------------------------------------------------------------- */

static void hkdf(const uint8_t *ikm, size_t ikm_len, const uint8_t *salt, size_t salt_len, uint8_t out[32])
{
    uint8_t prk[32], t[17 + 1];
    algo_hmac_sha256(salt, salt_len, ikm, ikm_len, prk);
    memcpy(t, "binday-backup-v1", 16);
    t[16] = 1;
    algo_hmac_sha256(prk, sizeof(prk), t, 17, out);
    OPENSSL_cleanse(prk, sizeof(prk));
}

static EVP_PKEY *load_pem(const char *path, int priv, char *err, size_t err_size)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return NULL;
    }
    EVP_PKEY *k = priv ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : PEM_read_PUBKEY(f, NULL, NULL, NULL);
    fclose(f);
    if (k == NULL || EVP_PKEY_get_id(k) != EVP_PKEY_X25519) {
        snprintf(err, err_size, "%s: not an X25519 %s key in PEM (docs/store.md says how to make one)", path,
                 priv ? "private" : "public");
        EVP_PKEY_free(k);
        return NULL;
    }
    return k;
}

/* The content key from our key and the peer's, salt = eph pub | recipient pub. */
static int derive(EVP_PKEY *mine, EVP_PKEY *peer, const uint8_t eph_pub[XPUB], const uint8_t rcpt_pub[XPUB],
                  uint8_t key[32])
{
    EVP_PKEY_CTX *cx = EVP_PKEY_CTX_new(mine, NULL);
    uint8_t ss[64], salt[2 * XPUB];
    size_t sl = sizeof(ss);
    int ok = cx && EVP_PKEY_derive_init(cx) == 1 && EVP_PKEY_derive_set_peer(cx, peer) == 1 &&
             EVP_PKEY_derive(cx, ss, &sl) == 1;
    EVP_PKEY_CTX_free(cx);
    if (!ok)
        return -1;
    memcpy(salt, eph_pub, XPUB);
    memcpy(salt + XPUB, rcpt_pub, XPUB);
    hkdf(ss, sl, salt, sizeof(salt), key);
    OPENSSL_cleanse(ss, sizeof(ss));
    return 0;
}

/* ---- writing --------------------------------------------------------------------- */

struct out {
    int fd;
    EVP_CIPHER_CTX *cx; /* NULL: plain */
    EVP_MD_CTX *h;      /* the trailer's hash of the plain layout */
    int failed;
};

static void out_put(struct out *o, const void *b, size_t n, int hashed)
{
    if (o->failed || n == 0)
        return;
    if (hashed && EVP_DigestUpdate(o->h, b, n) != 1)
        o->failed = 1;
    if (o->cx == NULL) {
        if (write_all(o->fd, b, n) != 0)
            o->failed = 1;
        return;
    }
    uint8_t buf[CHUNK + 32];
    const uint8_t *p = b;
    while (n > 0 && !o->failed) {
        size_t k = n < CHUNK ? n : CHUNK;
        int cl = 0;
        if (EVP_EncryptUpdate(o->cx, buf, &cl, p, (int)k) != 1 || write_all(o->fd, buf, (size_t)cl) != 0)
            o->failed = 1;
        p += k;
        n -= k;
    }
}

static int copy_into(struct out *o, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    uint8_t *buf = xmalloc(CHUNK);
    ssize_t r;
    while ((r = read(fd, buf, CHUNK)) > 0)
        out_put(o, buf, (size_t)r, 1);
    free(buf);
    close(fd);
    return r == 0 ? 0 : -1;
}

/* What the copy needs: its vault generation and the key files registered in it. */
struct needs {
    uint64_t gen;
    long vault_entries;
    char names[BACKUP_MAX_FILES][BACKUP_NAME_MAX + 1];
    size_t n;
};

static int store_needs(const char *mdb_path, struct needs *nd, char *err, size_t err_size)
{
    memset(nd, 0, sizeof(*nd));
    MDB_env *env = NULL;
    MDB_txn *txn = NULL;
    MDB_dbi meta, vdbi;
    int rc = mdb_env_create(&env);
    if (rc == 0)
        rc = mdb_env_set_maxdbs(env, 64);
    if (rc == 0)
        rc = mdb_env_open(env, mdb_path, MDB_NOSUBDIR | MDB_RDONLY | MDB_NOLOCK, 0600);
    if (rc == 0)
        rc = mdb_txn_begin(env, NULL, MDB_RDONLY, &txn);
    if (rc == 0)
        rc = mdb_dbi_open(txn, "meta", 0, &meta);
    if (rc) {
        snprintf(err, err_size, "the store in the backup does not open: %s", mdb_strerror(rc));
        goto out;
    }
    if (mdb_dbi_open(txn, VAULT_DBI_NAME, 0, &vdbi) == 0) {
        MDB_stat st;
        nd->gen = vault_generation_in(txn, vdbi);
        if (mdb_stat(txn, vdbi, &st) == 0)
            nd->vault_entries = (long)st.ms_entries;
    }
    MDB_cursor *c;
    if ((rc = mdb_cursor_open(txn, meta, &c)) == 0) {
        MDB_val k = {8, (void *)"keyfile:"}, v;
        for (int r = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); r == 0; r = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
            if (k.mv_size < 8 || memcmp(k.mv_data, "keyfile:", 8) != 0)
                break;
            if (k.mv_size - 8 <= BACKUP_NAME_MAX && nd->n < BACKUP_MAX_FILES - 2) {
                snprintf(nd->names[nd->n], sizeof(nd->names[0]), "%.*s", (int)(k.mv_size - 8),
                         (const char *)k.mv_data + 8);
                nd->n++;
            }
        }
        mdb_cursor_close(c);
    }
    if (nd->gen > 0 && nd->n < BACKUP_MAX_FILES)
        snprintf(nd->names[nd->n++], sizeof(nd->names[0]), "vault-%" PRIu64 ".key", nd->gen);
    /* a store written before the key registry: personal data needs the pseudonym key */
    int has_user_key = 0;
    for (size_t i = 0; i < nd->n; i++)
        has_user_key |= strcmp(nd->names[i], PRIVACY_USER_KEY_FILE) == 0;
    if (nd->vault_entries > 1 && !has_user_key && nd->n < BACKUP_MAX_FILES)
        snprintf(nd->names[nd->n++], sizeof(nd->names[0]), "%s", PRIVACY_USER_KEY_FILE);
out:
    if (txn)
        mdb_txn_abort(txn);
    if (env)
        mdb_env_close(env);
    return rc ? -1 : 0;
}

int backup_write(store_t *s, const char *dir, const char *out_path, const char *pubkey_pem, backup_manifest_t *info,
                 char *err, size_t err_size)
{
    char tmp[4200], copy[4200];
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", out_path, (long)getpid());
    snprintf(copy, sizeof(copy), "%s.mdb.%ld", out_path, (long)getpid());
    EVP_PKEY *rcpt = NULL;
    if (pubkey_pem && (rcpt = load_pem(pubkey_pem, 0, err, err_size)) == NULL)
        return -1;
    backup_manifest_t m;
    struct needs nd;
    int rc = -1;
    /* the copy's KEK file can be swept by a rotation committed after the
     * copy's snapshot: then take a newer copy */
    for (int attempt = 0; attempt < 5 && rc != 0; attempt++) {
        unlink(copy);
        memset(&m, 0, sizeof(m));
        if (store_backup(s, copy, err, err_size) != 0 || store_needs(copy, &nd, err, err_size) != 0)
            break;
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        m.created_at_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
        snprintf(m.files[0].name, sizeof(m.files[0].name), "data.mdb");
        if (sha256_file(copy, m.files[0].sha256, &m.files[0].size) != 0) {
            snprintf(err, err_size, "%s: %s", copy, strerror(errno));
            break;
        }
        m.n_files = 1;
        rc = 0;
        for (size_t i = 0; rc == 0 && i < nd.n; i++) {
            char p[5200];
            snprintf(p, sizeof(p), "%s/%s", dir, nd.names[i]);
            backup_file_t *f = &m.files[m.n_files];
            snprintf(f->name, sizeof(f->name), "%s", nd.names[i]);
            if (sha256_file(p, f->sha256, &f->size) != 0) {
                rc = -1;
                snprintf(err, err_size, "%s: %s (the store needs it; the backup would be incomplete)", p,
                         strerror(errno));
                if (strncmp(nd.names[i], "vault-", 6) == 0)
                    rc = 1; /* swept meanwhile: again */
            } else {
                m.n_files++;
            }
        }
        if (rc == -1)
            break;
    }
    if (rc != 0) {
        unlink(copy);
        EVP_PKEY_free(rcpt);
        return -1;
    }
    /* the manifest */
    json_t *files = json_array();
    for (size_t i = 0; i < m.n_files; i++) {
        char h[65];
        hex(m.files[i].sha256, 32, h);
        json_array_append_new(files, json_pack("{s:s,s:I,s:s}", "name", m.files[i].name, "size",
                                               (json_int_t)m.files[i].size, "sha256", h));
    }
    char at[40];
    json_t *man = json_pack("{s:i,s:s,s:I,s:o}", "format", 1, "created_at",
                            privacy_iso_time(m.created_at_ms, at, sizeof(at)), "created_at_ms",
                            (json_int_t)m.created_at_ms, "files", files);
    char *mtext = man ? json_dumps(man, JSON_COMPACT) : NULL;
    json_decref(man);
    if (mtext == NULL)
        xalloc_die("manifest", 0);

    struct out o = {-1, NULL, EVP_MD_CTX_new(), 0};
    o.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (o.fd < 0 || o.h == NULL || EVP_DigestInit_ex(o.h, algo_sha256(), NULL) != 1) {
        snprintf(err, err_size, "%s: %s", tmp, strerror(errno));
        goto fail;
    }
    uint8_t key[32], nonce[NONCE], eph_pub[XPUB], rcpt_pub[XPUB];
    if (rcpt) {
        EVP_PKEY *eph = NULL;
        EVP_PKEY_CTX *kc = EVP_PKEY_CTX_new_id(EVP_PKEY_X25519, NULL);
        size_t pl = XPUB, rl = XPUB;
        int ok = kc && EVP_PKEY_keygen_init(kc) == 1 && EVP_PKEY_keygen(kc, &eph) == 1 &&
                 EVP_PKEY_get_raw_public_key(eph, eph_pub, &pl) == 1 &&
                 EVP_PKEY_get_raw_public_key(rcpt, rcpt_pub, &rl) == 1 && derive(eph, rcpt, eph_pub, rcpt_pub, key) == 0 &&
                 RAND_bytes(nonce, NONCE) == 1;
        EVP_PKEY_CTX_free(kc);
        EVP_PKEY_free(eph);
        o.cx = ok ? EVP_CIPHER_CTX_new() : NULL;
        uint8_t hdr[sizeof(BACKUP_MAGIC_X25519) - 1 + XPUB + NONCE];
        size_t ml = sizeof(BACKUP_MAGIC_X25519) - 1;
        memcpy(hdr, BACKUP_MAGIC_X25519, ml);
        memcpy(hdr + ml, eph_pub, XPUB);
        memcpy(hdr + ml + XPUB, nonce, NONCE);
        int al = 0;
        if (o.cx == NULL || EVP_EncryptInit_ex(o.cx, algo_aes256_gcm(), NULL, key, nonce) != 1 ||
            EVP_EncryptUpdate(o.cx, NULL, &al, hdr, (int)sizeof(hdr)) != 1 || write_all(o.fd, hdr, sizeof(hdr)) != 0) {
            OPENSSL_cleanse(key, sizeof(key));
            snprintf(err, err_size, "encrypting the backup failed");
            goto fail;
        }
        OPENSSL_cleanse(key, sizeof(key));
    }
    out_put(&o, BACKUP_MAGIC, strlen(BACKUP_MAGIC), 1);
    out_put(&o, mtext, strlen(mtext), 1);
    out_put(&o, "\n", 1, 1);
    if (copy_into(&o, copy) != 0)
        o.failed = 1;
    for (size_t i = 1; i < m.n_files && !o.failed; i++) {
        char p[5200];
        snprintf(p, sizeof(p), "%s/%s", dir, m.files[i].name);
        uint8_t md[32];
        uint64_t sz;
        /* the key read again must be the one hashed (key files change only by rename) */
        if (sha256_file(p, md, &sz) != 0 || memcmp(md, m.files[i].sha256, 32) != 0 || copy_into(&o, p) != 0)
            o.failed = 1;
    }
    uint8_t md[32];
    unsigned mdl = 0;
    char trailer[4 + 64 + 2];
    if (!o.failed && EVP_DigestFinal_ex(o.h, md, &mdl) == 1) {
        memcpy(trailer, "END ", 4);
        hex(md, 32, trailer + 4);
        trailer[68] = '\n';
        out_put(&o, trailer, 69, 0);
    } else {
        o.failed = 1;
    }
    if (o.cx && !o.failed) {
        uint8_t fin[32], tag[TAGLEN];
        int fl = 0;
        if (EVP_EncryptFinal_ex(o.cx, fin, &fl) != 1 || write_all(o.fd, fin, (size_t)fl) != 0 ||
            EVP_CIPHER_CTX_ctrl(o.cx, EVP_CTRL_GCM_GET_TAG, TAGLEN, tag) != 1 || write_all(o.fd, tag, TAGLEN) != 0)
            o.failed = 1;
    }
    if (o.failed || fsync(o.fd) != 0) {
        snprintf(err, err_size, "writing %s failed: %s", tmp, strerror(errno));
        goto fail;
    }
    if (close(o.fd) != 0 || rename(tmp, out_path) != 0) {
        o.fd = -1;
        snprintf(err, err_size, "%s: %s", out_path, strerror(errno));
        goto fail;
    }
    o.fd = -1;
    {
        char dcopy[4200];
        snprintf(dcopy, sizeof(dcopy), "%s", out_path);
        fsync_dir(dirname(dcopy));
    }
    EVP_CIPHER_CTX_free(o.cx);
    EVP_MD_CTX_free(o.h);
    free(mtext);
    unlink(copy);
    EVP_PKEY_free(rcpt);
    if (info)
        *info = m;
    return 0;
fail:
    if (o.fd >= 0)
        close(o.fd);
    unlink(tmp);
    unlink(copy);
    EVP_CIPHER_CTX_free(o.cx);
    EVP_MD_CTX_free(o.h);
    free(mtext);
    EVP_PKEY_free(rcpt);
    return -1;
}

/* ---- restore ---------------------------------------------------------------------- */

/* Refused: the message, and BACKUP_INVALID. */
__attribute__((format(printf, 3, 4))) static int invalid(char *err, size_t err_size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, err_size, fmt, ap);
    va_end(ap);
    return BACKUP_INVALID;
}

/* A buffered reader that hashes what it hands out (the trailer's hash). */
struct in {
    int fd;
    uint8_t buf[CHUNK];
    size_t pos, len;
    EVP_MD_CTX *h;
    int hashing;
};

static int in_fill(struct in *r)
{
    if (r->pos < r->len)
        return 0;
    ssize_t n;
    do
        n = read(r->fd, r->buf, sizeof(r->buf));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return -1;
    r->pos = 0;
    r->len = (size_t)n;
    return 0;
}

/* Up to n bytes into out (exactly n unless the file ends): the count. */
static size_t in_read(struct in *r, void *out, size_t n)
{
    size_t got = 0;
    while (got < n && in_fill(r) == 0) {
        size_t k = r->len - r->pos < n - got ? r->len - r->pos : n - got;
        memcpy((uint8_t *)out + got, r->buf + r->pos, k);
        if (r->hashing)
            EVP_DigestUpdate(r->h, r->buf + r->pos, k);
        r->pos += k;
        got += k;
    }
    return got;
}

static int unpack(int fd, const char *stage, backup_manifest_t *m, char *err, size_t err_size)
{
    struct in *r = xcalloc(1, sizeof(*r));
    r->fd = fd;
    r->h = EVP_MD_CTX_new();
    r->hashing = 1;
    int rc = BACKUP_INVALID;
    char *line = xmalloc(BACKUP_MAX_MANIFEST + 1);
    uint8_t *buf = xmalloc(CHUNK);
    size_t ml = strlen(BACKUP_MAGIC), ll = 0;
    if (r->h == NULL || EVP_DigestInit_ex(r->h, algo_sha256(), NULL) != 1) {
        rc = -1;
        goto out;
    }
    if (in_read(r, line, ml) != ml || memcmp(line, BACKUP_MAGIC, ml) != 0) {
        invalid(err, err_size, "not a binday backup (bad header)");
        goto out;
    }
    for (;;) {
        if (ll == BACKUP_MAX_MANIFEST) {
            invalid(err, err_size, "manifest too long: not a binday backup");
            goto out;
        }
        if (in_read(r, line + ll, 1) != 1) {
            invalid(err, err_size, "the backup is truncated (in the manifest)");
            goto out;
        }
        if (line[ll] == '\n')
            break;
        ll++;
    }
    char perr[200];
    if (backup_manifest_parse((const uint8_t *)line, ll, m, perr, sizeof(perr)) != 0) {
        invalid(err, err_size, "the backup is damaged: %s", perr);
        goto out;
    }
    for (size_t i = 0; i < m->n_files; i++) {
        char p[5200];
        snprintf(p, sizeof(p), "%s/%s", stage, m->files[i].name);
        int ofd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        EVP_MD_CTX *fh = EVP_MD_CTX_new();
        if (ofd < 0 || fh == NULL || EVP_DigestInit_ex(fh, algo_sha256(), NULL) != 1) {
            snprintf(err, err_size, "%s: %s", p, strerror(errno));
            if (ofd >= 0)
                close(ofd);
            EVP_MD_CTX_free(fh);
            rc = -1;
            goto out;
        }
        uint64_t left = m->files[i].size;
        int bad = 0;
        while (left > 0 && !bad) {
            size_t want = left < CHUNK ? (size_t)left : CHUNK, got = in_read(r, buf, want);
            if (got != want)
                bad = 1;
            else if (EVP_DigestUpdate(fh, buf, got) != 1 || write_all(ofd, buf, got) != 0)
                bad = 2;
            left -= got;
        }
        uint8_t md[32];
        unsigned mdl = 0;
        if (!bad && (EVP_DigestFinal_ex(fh, md, &mdl) != 1 || memcmp(md, m->files[i].sha256, 32) != 0))
            bad = 3;
        if (!bad && fsync(ofd) != 0)
            bad = 2;
        close(ofd);
        EVP_MD_CTX_free(fh);
        if (bad == 1) {
            invalid(err, err_size, "the backup is truncated (in %s)", m->files[i].name);
            goto out;
        }
        if (bad == 3) {
            invalid(err, err_size, "the backup is damaged: %s does not match its SHA-256", m->files[i].name);
            goto out;
        }
        if (bad) {
            snprintf(err, err_size, "%s: %s", p, strerror(errno));
            rc = -1;
            goto out;
        }
    }
    uint8_t md[32];
    unsigned mdl = 0;
    char want[70], got[70];
    EVP_DigestFinal_ex(r->h, md, &mdl);
    r->hashing = 0;
    memcpy(want, "END ", 4);
    hex(md, 32, want + 4);
    want[68] = '\n';
    if (in_read(r, got, 69) != 69) {
        invalid(err, err_size, "the backup is truncated (no end mark)");
        goto out;
    }
    if (memcmp(got, want, 69) != 0) {
        invalid(err, err_size, "the backup is damaged: its end mark does not match its content");
        goto out;
    }
    if (in_read(r, got, 1) != 0) {
        invalid(err, err_size, "the backup has bytes after its end mark");
        goto out;
    }
    rc = 0;
out:
    EVP_MD_CTX_free(r->h);
    free(r);
    free(line);
    free(buf);
    return rc;
}

/* Decrypt an encrypted backup (in, positioned after the magic) into a new
 * file `plain`; the tag is checked before anyone reads it. */
static int decrypt_to(int in, const char *key_pem, const char *plain, char *err, size_t err_size)
{
    struct stat st;
    size_t ml = strlen(BACKUP_MAGIC_X25519);
    uint8_t hdr[sizeof(BACKUP_MAGIC_X25519) + XPUB + NONCE];
    if (fstat(in, &st) != 0)
        return -1;
    if (st.st_size < (off_t)(ml + XPUB + NONCE + TAGLEN))
        return invalid(err, err_size, "the backup is truncated (encrypted header)");
    memcpy(hdr, BACKUP_MAGIC_X25519, ml);
    if (read_all(in, hdr + ml, XPUB + NONCE) != 0)
        return invalid(err, err_size, "the backup is truncated (encrypted header)");
    if (key_pem == NULL)
        return invalid(err, err_size, "the backup is encrypted: give the private key with --key KEYFILE");
    char kerr[300];
    EVP_PKEY *priv = load_pem(key_pem, 1, kerr, sizeof(kerr));
    if (priv == NULL)
        return invalid(err, err_size, "%s", kerr);
    uint8_t key[32], my_pub[XPUB];
    size_t pl = XPUB;
    EVP_PKEY *eph = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, hdr + ml, XPUB);
    int ok = eph && EVP_PKEY_get_raw_public_key(priv, my_pub, &pl) == 1 && derive(priv, eph, hdr + ml, my_pub, key) == 0;
    EVP_PKEY_free(eph);
    EVP_PKEY_free(priv);
    if (!ok)
        return invalid(err, err_size, "the backup's key exchange failed: wrong key or damaged header");
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    int al = 0, rc = -1;
    int ofd = open(plain, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    uint8_t *buf = xmalloc(CHUNK), *obuf = xmalloc(CHUNK + 32);
    if (ofd < 0 || cx == NULL || EVP_DecryptInit_ex(cx, algo_aes256_gcm(), NULL, key, hdr + ml + XPUB) != 1 ||
        EVP_DecryptUpdate(cx, NULL, &al, hdr, (int)(ml + XPUB + NONCE)) != 1) {
        snprintf(err, err_size, "%s: %s", plain, strerror(errno));
        goto out;
    }
    uint64_t left = (uint64_t)st.st_size - ml - XPUB - NONCE - TAGLEN;
    while (left > 0) {
        size_t k = left < CHUNK ? (size_t)left : CHUNK;
        int ol = 0;
        if (read_all(in, buf, k) != 0) {
            rc = invalid(err, err_size, "the backup is truncated");
            goto out;
        }
        if (EVP_DecryptUpdate(cx, obuf, &ol, buf, (int)k) != 1 || write_all(ofd, obuf, (size_t)ol) != 0) {
            snprintf(err, err_size, "%s: %s", plain, strerror(errno));
            goto out;
        }
        left -= k;
    }
    uint8_t tag[TAGLEN];
    int fl = 0;
    if (read_all(in, tag, TAGLEN) != 0 || EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAGLEN, tag) != 1 ||
        EVP_DecryptFinal_ex(cx, obuf, &fl) != 1) {
        rc = invalid(err, err_size, "the backup does not decrypt: wrong key, or the file is damaged or truncated");
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(key, sizeof(key));
    if (ofd >= 0)
        close(ofd);
    EVP_CIPHER_CTX_free(cx);
    free(buf);
    free(obuf);
    return rc;
}

/* Unpack and check `from` into the new directory `stage`. */
static int extract(const char *from, const char *key_pem, const char *stage, backup_manifest_t *m, char *err,
                   size_t err_size)
{
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return invalid(err, err_size, "%s: %s", from, strerror(errno));
    char head[32] = {0};
    size_t xl = strlen(BACKUP_MAGIC_X25519);
    int rc;
    if (read_all(fd, head, xl) == 0 && memcmp(head, BACKUP_MAGIC_X25519, xl) == 0) {
        char plain[5200];
        snprintf(plain, sizeof(plain), "%s/.plain", stage);
        rc = decrypt_to(fd, key_pem, plain, err, err_size);
        close(fd);
        if (rc == 0) {
            fd = open(plain, O_RDONLY | O_CLOEXEC);
            rc = fd < 0 ? -1 : unpack(fd, stage, m, err, err_size);
            if (fd >= 0)
                close(fd);
        }
        unlink(plain);
    } else {
        lseek(fd, 0, SEEK_SET);
        rc = unpack(fd, stage, m, err, err_size);
        close(fd);
    }
    if (rc)
        return rc;
    /* every key the store needs, and each the one it was written with */
    char mdb[5200];
    struct needs nd;
    snprintf(mdb, sizeof(mdb), "%s/data.mdb", stage);
    char serr[300];
    if (store_needs(mdb, &nd, serr, sizeof(serr)) != 0)
        return invalid(err, err_size, "the backup is damaged: %s", serr);
    for (size_t i = 0; i < nd.n; i++) {
        size_t j = 0;
        while (j < m->n_files && strcmp(m->files[j].name, nd.names[i]) != 0)
            j++;
        if (j == m->n_files)
            return invalid(err, err_size, "the backup is incomplete: its store needs %s, which is not in it (a new key would "
                           "make the data unreadable, so none is made)",
                           nd.names[i]);
    }
    return 0;
}

/* ---- journals ---- */

struct jentry {
    uint8_t tag[PRIVACY_JOURNAL_TAG];
    int64_t ts;
    unsigned what;
};

struct jsrc {
    secret_key_t key;
    struct jentry *e;
    size_t n, cap;
};

static void add_entry(void *ud, const uint8_t tag[PRIVACY_JOURNAL_TAG], int64_t ts_ms, unsigned what)
{
    struct jsrc *s = ud;
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 64;
        s->e = xrealloc(s->e, s->cap * sizeof(*s->e));
    }
    memcpy(s->e[s->n].tag, tag, PRIVACY_JOURNAL_TAG);
    s->e[s->n].ts = ts_ms;
    s->e[s->n++].what = what;
}

/* The journal (entries after since_ms) of the store in dir, with its key. */
static int read_journal(const char *dir, int64_t since_ms, struct jsrc *s, char *err, size_t err_size)
{
    memset(s, 0, sizeof(*s));
    int lr = secret_load(dir, PRIVACY_JOURNAL_KEY_FILE, &s->key, err, err_size);
    if (lr != 0)
        return lr == 1 ? 0 : -1; /* no journal key: no journal */
    store_t *st = NULL;
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    if (store_open(dir, defs, nd, &st, err, err_size) != 0)
        return -1;
    int rc = privacy_journal_each(st, since_ms, add_entry, s, err, err_size);
    store_close(st);
    return rc;
}

struct match_ctx {
    privacy_t *p;
    struct jsrc *src;
    size_t n_src;
    size_t erased;
    int failed;
};

static void match_user(void *ud, const char *user)
{
    struct match_ctx *m = ud;
    unsigned what = 0;
    for (size_t i = 0; i < m->n_src; i++) {
        uint8_t tag[PRIVACY_JOURNAL_TAG];
        privacy_journal_tag(&m->src[i].key, user, tag);
        for (size_t j = 0; j < m->src[i].n; j++)
            if (memcmp(m->src[i].e[j].tag, tag, PRIVACY_JOURNAL_TAG) == 0)
                what |= m->src[i].e[j].what;
    }
    if (what == 0)
        return;
    char err[300];
    if (privacy_erase(m->p, user, what, "restore_journal", NULL, err, sizeof(err)) != 0)
        m->failed = 1;
    else
        m->erased++;
}

/* Another process with dir's environment open (the server), or 0. Every
 * process that opens an LMDB environment holds a shared fcntl lock on its
 * lock.mdb for as long as it is open; F_GETLK asks without taking any lock
 * or writing a byte (a refused restore must change nothing). A restore under
 * a running server would be swapped out from under it. */
static long env_user(const char *dir)
{
    char p[4200];
    snprintf(p, sizeof(p), "%s/lock.mdb", dir);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    struct flock fl = {0};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    fl.l_start = 0;
    fl.l_len = 1;
    long pid = 0;
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK)
        pid = fl.l_pid > 0 ? (long)fl.l_pid : 1;
    close(fd);
    return pid;
}

static int dir_empty(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT ? 1 : -1;
    struct dirent *e;
    int empty = 1;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            empty = 0;
    closedir(d);
    return empty;
}

static int fsync_tree(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -1;
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char p[5200];
        snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) != 0)
            rc = -1;
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
    return fsync_dir(dir) == 0 ? rc : -1;
}

/* Apply the journals and retention to the staged store. */
static int settle(const char *stage, struct jsrc *src, size_t n_src, backup_restore_stats_t *st, char *err,
                  size_t err_size)
{
    store_t *s = NULL;
    privacy_t *p = NULL;
    secret_key_t uk;
    size_t nd;
    const store_dbi_def_t *defs = privacy_dbi_defs(&nd);
    if (store_open(stage, defs, nd, &s, err, err_size) != 0 ||
        privacy_load_user_key(s, stage, &uk, err, err_size) != 0 ||
        privacy_open(s, stage, &uk, NULL, &p, err, err_size) != 0) {
        OPENSSL_cleanse(&uk, sizeof(uk));
        if (s)
            store_close(s);
        return BACKUP_INVALID; /* the backup's store or keys do not open */
    }
    OPENSSL_cleanse(&uk, sizeof(uk));
    struct match_ctx mc = {p, src, n_src, 0, 0};
    int rc = privacy_users_each(p, match_user, &mc, err, err_size);
    if (rc == 0 && mc.failed) {
        snprintf(err, err_size, "re-applying an erasure to the restored store failed (see the log)");
        rc = -1;
    }
    /* carry the journals made with this store's key (the same lineage), so a
     * later restore from an older backup still finds these erasures */
    const secret_key_t *jk = privacy_journal_key(p);
    for (size_t i = 0; rc == 0 && i < n_src; i++)
        if (CRYPTO_memcmp(src[i].key.k, jk->k, SECRET_KEY_BYTES) == 0)
            for (size_t j = 0; rc == 0 && j < src[i].n; j++)
                rc = privacy_journal_put(p, src[i].e[j].tag, src[i].e[j].ts, src[i].e[j].what, err, err_size);
        else if (src[i].n > 0)
            log_warn("restore.journal", "entries=%zu note=\"a journal made with another journal.key: applied, "
                     "not carried\"", src[i].n);
    privacy_purge_stats_t ps = {0};
    if (rc == 0)
        rc = privacy_purge(p, date_today_london(), &ps, err, err_size);
    st->users_erased = mc.erased;
    st->purged = ps.erased;
    privacy_close(p);
    store_close(s);
    return rc;
}

int backup_restore(const char *dir_in, const backup_restore_opts_t *o, backup_restore_stats_t *st, char *err,
                   size_t err_size)
{
    char dir[4096], parent[4096], base[512], stage[4800];
    snprintf(dir, sizeof(dir), "%s", dir_in);
    for (size_t l = strlen(dir); l > 1 && dir[l - 1] == '/'; l--)
        dir[l - 1] = '\0';
    char t1[4096], t2[4096];
    snprintf(t1, sizeof(t1), "%s", dir);
    snprintf(t2, sizeof(t2), "%s", dir);
    snprintf(parent, sizeof(parent), "%s", dirname(t1));
    snprintf(base, sizeof(base), "%s", basename(t2));
    memset(st, 0, sizeof(*st));
    int empty = dir_empty(dir);
    if (empty < 0)
        return invalid(err, err_size, "%s: %s", dir, strerror(errno));
    if (!empty && !o->replace)
        return invalid(err, err_size, "%s is not empty: restore into an empty directory, or give --replace to replace it "
                       "(stop the server first)",
                       dir);
    if (!empty) {
        char mdb[4200];
        struct stat sb;
        snprintf(mdb, sizeof(mdb), "%s/data.mdb", dir);
        long pid = stat(mdb, &sb) == 0 ? env_user(dir) : 0;
        if (pid > 0)
            return invalid(err, err_size, "%s is in use by process %ld (the server?): stop it first", dir, pid);
    }
    snprintf(stage, sizeof(stage), "%s/.%s.restore-%ld", parent, base, (long)getpid());
    if (mkdir(stage, 0700) != 0) {
        snprintf(err, err_size, "%s: %s", stage, strerror(errno));
        return -1;
    }
    backup_manifest_t m;
    struct jsrc src[1 + 8];
    size_t n_src = 0;
    int rc = extract(o->from, o->key_pem, stage, &m, err, err_size);
    /* erasures after the backup: the directory being replaced, then later backups */
    if (rc == 0 && !empty) {
        char mdb[4200];
        struct stat sb;
        snprintf(mdb, sizeof(mdb), "%s/data.mdb", dir);
        if (stat(mdb, &sb) == 0) {
            char jerr[300];
            if (read_journal(dir, m.created_at_ms, &src[n_src], jerr, sizeof(jerr)) != 0) {
                rc = invalid(err, err_size,
                             "cannot read the erasure journal of %s (%s): a restore would bring back erased users; "
                             "move it aside and restore with --journal LATER_BACKUP instead",
                             dir, jerr);
            } else {
                n_src++;
            }
        }
    }
    for (size_t i = 0; rc == 0 && i < o->n_journals && n_src < sizeof(src) / sizeof(src[0]); i++) {
        char js[4900];
        backup_manifest_t jm;
        snprintf(js, sizeof(js), "%.4700s.j%zu", stage, i);
        if (mkdir(js, 0700) != 0) {
            snprintf(err, err_size, "%s: %s", js, strerror(errno));
            rc = -1;
            break;
        }
        rc = extract(o->journals[i], o->key_pem, js, &jm, err, err_size);
        if (rc == 0 && read_journal(js, m.created_at_ms, &src[n_src], err, err_size) == 0)
            n_src++;
        else if (rc == 0)
            rc = invalid(err, err_size, "%s: its erasure journal does not open", o->journals[i]);
        remove_tree(js);
    }
    for (size_t i = 0; i < n_src; i++)
        st->journal_entries += src[i].n;
    if (rc == 0)
        rc = settle(stage, src, n_src, st, err, err_size);
    for (size_t i = 0; i < n_src; i++) {
        free(src[i].e);
        OPENSSL_cleanse(&src[i].key, sizeof(src[i].key));
    }
    if (rc == 0) {
        char lock[4900];
        snprintf(lock, sizeof(lock), "%.4700s/lock.mdb", stage);
        unlink(lock);
        if (fsync_tree(stage) != 0) {
            snprintf(err, err_size, "%s: fsync: %s", stage, strerror(errno));
            rc = -1;
        }
    }
    if (rc != 0) {
        remove_tree(stage);
        return rc;
    }
    /* the swap: one rename */
    if (empty) {
        rmdir(dir); /* an empty directory, if any */
        if (rename(stage, dir) != 0) {
            snprintf(err, err_size, "%s -> %s: %s", stage, dir, strerror(errno));
            remove_tree(stage);
            return -1;
        }
    } else {
        if (renameat2(AT_FDCWD, stage, AT_FDCWD, dir, RENAME_EXCHANGE) != 0) {
            snprintf(err, err_size, "swapping %s and %s: %s (nothing changed)", stage, dir, strerror(errno));
            remove_tree(stage);
            return -1;
        }
        remove_tree(stage); /* now the replaced directory */
    }
    fsync_dir(parent);
    return 0;
}
