/* seal.c - owns record encryption (AES-256-GCM) and key derivation (HMAC-SHA256). */
#include "binday/privacy/seal.h"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/algo.h"

#define NONCE 12
#define TAG 16

size_t seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const void *aad, size_t aad_len, const void *in, size_t len,
                    uint8_t *out, size_t out_cap)
{
    uint8_t nonce[NONCE];
    if (RAND_bytes(nonce, NONCE) != 1)
        return 0;
    return seal_encrypt_nonce(key, nonce, aad, aad_len, in, len, out, out_cap);
}

size_t seal_encrypt_nonce(const uint8_t key[SEAL_KEY_BYTES], const uint8_t nonce[SEAL_NONCE_BYTES], const void *aad,
                          size_t aad_len, const void *in, size_t len, uint8_t *out, size_t out_cap)
{
    if (out_cap < len + SEAL_OVERHEAD || len > (size_t)1 << 30)
        return 0;
    memcpy(out, nonce, NONCE);
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    if (cx == NULL)
        return 0;
    int n = 0, f = 0, ok = EVP_EncryptInit_ex(cx, algo_aes256_gcm(), NULL, key, out) == 1 &&
                            (aad_len == 0 || EVP_EncryptUpdate(cx, NULL, &n, aad, (int)aad_len) == 1) &&
                            EVP_EncryptUpdate(cx, out + NONCE, &n, in, (int)len) == 1 &&
                            EVP_EncryptFinal_ex(cx, out + NONCE + n, &f) == 1 &&
                            EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_GET_TAG, TAG, out + NONCE + len) == 1;
    EVP_CIPHER_CTX_free(cx);
    return ok && (size_t)(n + f) == len ? len + SEAL_OVERHEAD : 0;
}

int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const void *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, size_t out_cap, size_t *out_len)
{
    if (len < SEAL_OVERHEAD || len - SEAL_OVERHEAD > out_cap || len > ((size_t)1 << 30))
        return -1;
    size_t clen = len - SEAL_OVERHEAD;
    EVP_CIPHER_CTX *cx = EVP_CIPHER_CTX_new();
    if (cx == NULL)
        return -1;
    uint8_t tag[TAG];
    memcpy(tag, in + NONCE + clen, TAG);
    int n = 0, f = 0, ok = EVP_DecryptInit_ex(cx, algo_aes256_gcm(), NULL, key, in) == 1 &&
                            (aad_len == 0 || EVP_DecryptUpdate(cx, NULL, &n, aad, (int)aad_len) == 1) &&
                            EVP_DecryptUpdate(cx, out, &n, in + NONCE, (int)clen) == 1 &&
                            EVP_CIPHER_CTX_ctrl(cx, EVP_CTRL_GCM_SET_TAG, TAG, tag) == 1 &&
                            EVP_DecryptFinal_ex(cx, out + n, &f) == 1;
    EVP_CIPHER_CTX_free(cx);
    if (!ok) {
        memset(out, 0, clen); /* never hand out unauthenticated plaintext */
        return -1;
    }
    *out_len = clen;
    return 0;
}

void seal_derive(const uint8_t key[SEAL_KEY_BYTES], const void *a, size_t a_len, const void *b, size_t b_len,
                 uint8_t out[32])
{
    uint8_t buf[512];
    /* Broken invariant if longer: callers pass a fixed label and a key or a
     * name of at most VAULT_MAX_NAME bytes (vault_get/put/del refuse longer
     * ones before deriving), never text from a request or a record. */
    if (a_len + b_len > sizeof(buf))
        abort();
    memcpy(buf, a, a_len);
    if (b_len)
        memcpy(buf + a_len, b, b_len);
    algo_hmac_sha256(key, SEAL_KEY_BYTES, buf, a_len + b_len, out);
}
