/* algo.h - the process's cryptographic algorithm objects, fetched from the
 * OpenSSL provider once, and HMAC-SHA256 on that SHA-256 (one reused digest
 * context per thread: algo.c says why).
 *
 * Why: OpenSSL 3 looks algorithms up by name behind EVP_sha256(),
 * EVP_aes_256_gcm() and HMAC() (which goes through EVP_Q_mac) on every use;
 * under load that lookup cost more than the hashing itself (callgrind in
 * bench/results.md: ~20,000 instructions per HMAC() call, several calls per
 * request). Fetched objects are immutable and shared by all threads; they
 * live until exit.
 */
#ifndef BINDAY_ALGO_H
#define BINDAY_ALGO_H

#include <openssl/evp.h>
#include <stddef.h>
#include <stdint.h>

#define ALGO_HMAC_BYTES 32

/* Never NULL (abort if the default provider lacks them: a broken install). */
const EVP_MD *algo_sha256(void);
const EVP_CIPHER *algo_aes256_gcm(void);

/* HMAC-SHA256 (RFC 2104) of msg under key, any key length. Same output as
 * OpenSSL's HMAC (EVP_Q_mac "HMAC" with "SHA256"). Thread-safe: each thread
 * has its own digest context, made on its first call and freed when the
 * thread ends. Aborts only when memory ran out. */
void algo_hmac_sha256(const void *key, size_t key_len, const void *msg, size_t len, uint8_t out[ALGO_HMAC_BYTES]);

#endif
