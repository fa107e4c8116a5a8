/* algo.c - owns the fetched algorithm objects and HMAC-SHA256 (see algo.h). */
#include "binday/algo.h"

#include <openssl/crypto.h>
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

static void hash2(EVP_MD_CTX *c, const void *a, size_t al, const void *b, size_t bl, uint8_t out[ALGO_HMAC_BYTES])
{
    if (EVP_DigestInit_ex2(c, algo_sha256(), NULL) != 1 || EVP_DigestUpdate(c, a, al) != 1 ||
        EVP_DigestUpdate(c, b, bl) != 1 || EVP_DigestFinal_ex(c, out, NULL) != 1)
        abort(); /* SHA-256 of memory cannot fail but for OOM */
}

void algo_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[ALGO_HMAC_BYTES])
{
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (c == NULL)
        abort();
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
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
}
