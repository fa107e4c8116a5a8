/* algo.c - owns the fetched algorithm objects and HMAC-SHA256 (see algo.h).
 *
 * HMAC is RFC 2104 spelled out over one EVP_MD_CTX per thread, reused with
 * EVP_DigestInit_ex2 on the SHA-256 fetched here. OpenSSL 3.0's
 * crypto/evp/digest.c frees the provider's digest state and allocates a new
 * one on every init, even with the same fetched EVP_MD, and a context copy
 * does the same: one malloc per hash is the floor on 3.0, two per HMAC (three
 * for keys over 64 bytes). OpenSSL's own MAC entry points allocate more per
 * call (bench/hmac_bench.c counts them: HMAC() and EVP_Q_mac 13, which also
 * fetch by name; EVP_MAC_init with a new key 6; EVP_MAC_CTX_dup of a keyed
 * context 11), and binday's keys change from call to call. The SHA256_Init
 * version this replaces (deprecated in 3.0) allocated nothing;
 * bench/hmac_bench.sh compares the two (docs/performance.md).
 *
 * The digest state is not cleansed after each HMAC: the next init frees it
 * with OPENSSL_clear_free, and what the last final leaves in it is the outer
 * hash, not the key. The key pads on the stack are cleansed.
 */
#include "binday/util/algo.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <string.h>

#include "binday/util/xalloc.h"

static EVP_MD *sha256;
static EVP_CIPHER *aes256gcm;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static pthread_key_t ctx_key; /* this thread's EVP_MD_CTX; freed when the thread ends */

static void free_ctx(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (sha256 == NULL || aes256gcm == NULL)
        xalloc_die("EVP fetch (default provider missing?)", 0); /* a broken install, or no memory */
    if (pthread_key_create(&ctx_key, free_ctx) != 0)
        xalloc_die("pthread_key_create", 0);
}

const EVP_MD *algo_sha256(void)
{
    pthread_once(&once, fetch);
    return sha256;
}

const EVP_CIPHER *algo_aes256_gcm(void)
{
    pthread_once(&once, fetch);
    return aes256gcm;
}

static EVP_MD_CTX *thread_ctx(void)
{
    pthread_once(&once, fetch);
    EVP_MD_CTX *c = pthread_getspecific(ctx_key);
    if (c == NULL) {
        c = EVP_MD_CTX_new();
        if (c == NULL || pthread_setspecific(ctx_key, c) != 0)
            xalloc_die("EVP_MD_CTX_new", sizeof(void *));
    }
    return c;
}

#define BLOCK 64 /* SHA-256 block size */

/* SHA-256 of a then b. Fails only when memory ran out (the init allocates). */
static void hash2(EVP_MD_CTX *c, const void *a, size_t al, const void *b, size_t bl, uint8_t out[ALGO_HMAC_BYTES])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(c, sha256, NULL) != 1 || EVP_DigestUpdate(c, a, al) != 1 ||
        EVP_DigestUpdate(c, b, bl) != 1 || EVP_DigestFinal_ex(c, out, &n) != 1 || n != ALGO_HMAC_BYTES)
        xalloc_die("SHA-256 digest context", 0);
}

void algo_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[ALGO_HMAC_BYTES])
{
    EVP_MD_CTX *c = thread_ctx();
    uint8_t k[BLOCK] = {0}, pad[BLOCK], inner[ALGO_HMAC_BYTES];
    if (key_len > BLOCK)
        hash2(c, key, key_len, "", 0, k); /* long keys are hashed first (RFC 2104 §2) */
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    hash2(c, pad, BLOCK, msg, len, inner);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    hash2(c, pad, BLOCK, inner, sizeof(inner), out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
}
