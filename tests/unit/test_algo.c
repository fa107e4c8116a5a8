/* test_algo.c - HMAC-SHA256 against RFC 4231's vectors and OpenSSL's HMAC(). */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/algo.h"
#include "tap.h"

static void hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", b[i]);
}

static void vector(const void *key, size_t kl, const void *msg, size_t ml, const char *want, const char *name)
{
    uint8_t mac[ALGO_HMAC_BYTES];
    char got[2 * ALGO_HMAC_BYTES + 1];
    algo_hmac_sha256(key, kl, msg, ml, mac);
    hex(mac, sizeof(mac), got);
    is_str(got, want, "%s", name);
}

int main(void)
{
    ok(algo_sha256() != NULL && EVP_MD_get_size(algo_sha256()) == 32, "SHA-256 fetched");
    ok(algo_aes256_gcm() != NULL && EVP_CIPHER_get_key_length(algo_aes256_gcm()) == 32, "AES-256-GCM fetched");
    ok(algo_sha256() == algo_sha256(), "fetched once");

    uint8_t k20[20], k131[131], d50[50];
    memset(k20, 0x0b, sizeof(k20));
    vector(k20, 20, "Hi There", 8, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", "RFC 4231 case 1");
    vector("Jefe", 4, "what do ya want for nothing?", 28,
           "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843", "RFC 4231 case 2");
    memset(k20, 0xaa, sizeof(k20));
    memset(d50, 0xdd, sizeof(d50));
    vector(k20, 20, d50, 50, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", "RFC 4231 case 3");
    memset(k131, 0xaa, sizeof(k131));
    vector(k131, 131, "Test Using Larger Than Block-Size Key - Hash Key First", 54,
           "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", "RFC 4231 case 6 (key > block)");
    vector("", 0, "", 0, "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad", "empty key and message");

    /* random keys (0..130 bytes) and messages (0..300 bytes) agree with HMAC() */
    srand(4231);
    int same = 0;
    for (int i = 0; i < 500; i++) {
        uint8_t key[131], msg[300], a[ALGO_HMAC_BYTES], b[EVP_MAX_MD_SIZE];
        size_t kl = (size_t)rand() % sizeof(key), ml = (size_t)rand() % sizeof(msg);
        for (size_t j = 0; j < kl; j++)
            key[j] = (uint8_t)rand();
        for (size_t j = 0; j < ml; j++)
            msg[j] = (uint8_t)rand();
        unsigned int bl = 0;
        algo_hmac_sha256(key, kl, msg, ml, a);
        HMAC(EVP_sha256(), key, (int)kl, msg, ml, b, &bl);
        same += bl == 32 && memcmp(a, b, 32) == 0;
    }
    is_int(same, 500, "500 random keys and messages: the same MAC as OpenSSL's HMAC()");
    return done_testing();
}
