/* hmac_bench.c - ns and OpenSSL allocations per HMAC-SHA256 with binday's
 * algo_hmac_sha256 and with OpenSSL's own non-deprecated HMAC entry points,
 * on the sizes binday hashes: a 32-byte key and a 220-byte message (an
 * Alexa userId's pseudonym) or a 40-byte one (the derived keys' labels).
 * Run by bench/hmac_bench.sh, which also builds this against an older
 * src/util/algo.c to compare the two (docs/performance.md).
 *
 * usage: hmac_bench [--n N] [--msg BYTES] [--only NAME] [--count]
 *   NAME: algo (binday's), hmac (HMAC() with the fetched SHA-256), qmac
 *   (EVP_Q_mac), mac (one EVP_MAC_CTX re-keyed per call), macsame (one
 *   EVP_MAC_CTX keyed once and re-initialised with EVP_MAC_init(ctx, NULL, 0,
 *   NULL): only right for one fixed key), macdup (a keyed EVP_MAC_CTX
 *   duplicated per call: also one fixed key).
 *   --count counts libcrypto's allocations (through CRYPTO_set_mem_functions,
 *   which itself costs a little: time without it).
 * Prints one line per variant: name, ns per HMAC, libcrypto allocations per
 * HMAC (-1 without --count).
 */
#include <getopt.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/algo.h"

/* counts every allocation libcrypto makes (CRYPTO_set_mem_functions must be
 * called before the first one) */
static atomic_long n_alloc;
static void *count_malloc(size_t n, const char *file, int line)
{
    (void)file, (void)line;
    atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
    return malloc(n);
}
static void *count_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    atomic_fetch_add_explicit(&n_alloc, 1, memory_order_relaxed);
    return realloc(p, n);
}
static void count_free(void *p, const char *file, int line)
{
    (void)file, (void)line;
    free(p);
}

static uint8_t key[32], msg[4096], out[EVP_MAX_MD_SIZE];
static size_t msg_len = 220;
static EVP_MAC *mac;
static EVP_MAC_CTX *mctx, *keyed;
static OSSL_PARAM params[2];

static void die(const char *what)
{
    fprintf(stderr, "hmac_bench: %s failed\n", what);
    exit(1);
}

static void one_algo(void)
{
    algo_hmac_sha256(key, sizeof(key), msg, msg_len, out);
}

static void one_hmac(void)
{
    unsigned int n = 0;
    if (!HMAC(algo_sha256(), key, sizeof(key), msg, msg_len, out, &n))
        die("HMAC");
}

static void one_qmac(void)
{
    size_t n = 0;
    if (!EVP_Q_mac(NULL, "HMAC", NULL, "SHA256", NULL, key, sizeof(key), msg, msg_len, out, sizeof(out), &n))
        die("EVP_Q_mac");
}

static void one_mac(void)
{
    size_t n = 0;
    if (EVP_MAC_init(mctx, key, sizeof(key), params) != 1 || EVP_MAC_update(mctx, msg, msg_len) != 1 ||
        EVP_MAC_final(mctx, out, &n, sizeof(out)) != 1)
        die("EVP_MAC");
}

static void one_macsame(void)
{
    size_t n = 0;
    if (EVP_MAC_init(keyed, NULL, 0, NULL) != 1 || EVP_MAC_update(keyed, msg, msg_len) != 1 ||
        EVP_MAC_final(keyed, out, &n, sizeof(out)) != 1)
        die("EVP_MAC (same key)");
}

static void one_macdup(void)
{
    size_t n = 0;
    EVP_MAC_CTX *c = EVP_MAC_CTX_dup(keyed);
    if (c == NULL || EVP_MAC_update(c, msg, msg_len) != 1 || EVP_MAC_final(c, out, &n, sizeof(out)) != 1)
        die("EVP_MAC_CTX_dup");
    EVP_MAC_CTX_free(c);
}

static double now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int counting;

static void run(const char *name, void (*f)(void), long n)
{
    for (long i = 0; i < n / 10 + 1; i++) /* warm caches and the allocator */
        f();
    long a0 = atomic_load(&n_alloc);
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        key[i & 31] ^= (uint8_t)i; /* not the same input every time */
        f();
    }
    double t1 = now_ns();
    long a1 = atomic_load(&n_alloc);
    printf("%-7s %8.1f ns %5.2f allocs\n", name, (t1 - t0) / (double)n, counting ? (double)(a1 - a0) / (double)n : -1.0);
}

int main(int argc, char **argv)
{
    long n = 500000;
    const char *only = NULL;
    static const struct option opts[] = {
        {"n", required_argument, 0, 'n'}, {"msg", required_argument, 0, 'm'}, {"only", required_argument, 0, 'o'},
        {"count", no_argument, 0, 'c'}, {0}};
    for (int c; (c = getopt_long(argc, argv, "", opts, NULL)) != -1;) {
        if (c == 'n')
            n = atol(optarg);
        else if (c == 'm')
            msg_len = (size_t)atol(optarg);
        else if (c == 'o')
            only = optarg;
        else if (c == 'c')
            counting = 1;
        else
            return 2;
    }
    if (n <= 0 || msg_len > sizeof(msg))
        return 2;
    if (counting && !CRYPTO_set_mem_functions(count_malloc, count_realloc, count_free))
        die("CRYPTO_set_mem_functions"); /* before libcrypto's first allocation */
    for (size_t i = 0; i < sizeof(msg); i++)
        msg[i] = (uint8_t)(i * 131 + 7);
    for (size_t i = 0; i < sizeof(key); i++)
        key[i] = (uint8_t)(i * 31 + 1);

    mac = EVP_MAC_fetch(NULL, "HMAC", NULL);
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, "SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    mctx = mac ? EVP_MAC_CTX_new(mac) : NULL;
    keyed = mac ? EVP_MAC_CTX_new(mac) : NULL;
    if (!mctx || !keyed || EVP_MAC_init(keyed, key, sizeof(key), params) != 1)
        die("EVP_MAC setup");

    static const struct {
        const char *name;
        void (*f)(void);
    } v[] = {{"algo", one_algo}, {"hmac", one_hmac}, {"qmac", one_qmac}, {"mac", one_mac}, {"macsame", one_macsame}, {"macdup", one_macdup}};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (!only || strcmp(only, v[i].name) == 0)
            run(v[i].name, v[i].f, n);
    EVP_MAC_CTX_free(mctx);
    EVP_MAC_CTX_free(keyed);
    EVP_MAC_free(mac);
    return 0;
}
