/* algo.c - owns the fetched algorithm objects and HMAC-SHA256 (see algo.h).
 *
 * HMAC is built on OpenSSL's SHA256_Init/Update/Final, deprecated in 3.0 in
 * favour of EVP but still part of it: with EVP, OpenSSL 3.0 frees and
 * allocates the digest's provider context on every EVP_DigestInit, three
 * mallocs and a free-and-lookup per HMAC, 0.34-0.46 µs against 0.19-0.22 µs
 * (a request makes ~4.5: pseudonyms, derived keys). The plain SHA-256 calls
 * use the same assembly (SHA-NI where present). */
#define OPENSSL_SUPPRESS_DEPRECATED /* SHA256_Init & co., see above */
#include "binday/util/algo.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static EVP_MD *sha256;
static EVP_CIPHER *aes256gcm;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fetch(void)
{
    sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    aes256gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    if (sha256 == NULL || aes256gcm == NULL)
        abort(); /* the default provider is part of libcrypto: a broken install */
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

#define BLOCK 64 /* SHA-256 block size */

static void hash2(const void *a, size_t al, const void *b, size_t bl, uint8_t out[ALGO_HMAC_BYTES])
{
    SHA256_CTX c;
    SHA256_Init(&c);
    SHA256_Update(&c, a, al);
    SHA256_Update(&c, b, bl);
    SHA256_Final(out, &c);
    OPENSSL_cleanse(&c, sizeof(c));
}

void algo_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[ALGO_HMAC_BYTES])
{
    uint8_t k[BLOCK] = {0}, pad[BLOCK], inner[ALGO_HMAC_BYTES];
    if (key_len > BLOCK)
        hash2(key, key_len, "", 0, k); /* long keys are hashed first (RFC 2104 §2) */
    else if (key_len)
        memcpy(k, key, key_len);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    hash2(pad, BLOCK, msg, len, inner);
    for (int i = 0; i < BLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    hash2(pad, BLOCK, inner, sizeof(inner), out);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
}
