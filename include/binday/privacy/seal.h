/* seal.h - authenticated encryption of one stored record (AES-256-GCM).
 *
 * A sealed record is nonce(12) | ciphertext | tag(16); the nonce is random
 * (keys are used for at most a few million records, far below the 2^32 limit
 * for random 96-bit nonces). `aad` binds the record to where it is stored
 * (its LMDB key), so a record moved under another key does not open.
 * Pure functions apart from the random nonce; thread-safe.
 */
#ifndef BINDAY_SEAL_H
#define BINDAY_SEAL_H

#include <stddef.h>
#include <stdint.h>

#define SEAL_KEY_BYTES 32
#define SEAL_OVERHEAD 28 /* nonce + tag */
#define SEAL_NONCE_BYTES 12

/* Seal `len` bytes into out (out_cap >= len + SEAL_OVERHEAD). Returns the
 * sealed length, or 0 when the random source or OpenSSL fails. */
size_t seal_encrypt(const uint8_t key[SEAL_KEY_BYTES], const void *aad, size_t aad_len, const void *in, size_t len,
                    uint8_t *out, size_t out_cap);
/* The same with a nonce the caller drew from RAND_bytes (e.g. many at once
 * for a batch of records): it must be fresh random bytes, never a counter and
 * never used twice. */
size_t seal_encrypt_nonce(const uint8_t key[SEAL_KEY_BYTES], const uint8_t nonce[SEAL_NONCE_BYTES], const void *aad,
                          size_t aad_len, const void *in, size_t len, uint8_t *out, size_t out_cap);
/* Open a sealed record into out (out_cap >= len - SEAL_OVERHEAD). Returns 0
 * and *out_len, or -1 when it is too short, too long or fails authentication
 * (wrong key, wrong aad, tampered). */
int seal_decrypt(const uint8_t key[SEAL_KEY_BYTES], const void *aad, size_t aad_len, const uint8_t *in, size_t len,
                 uint8_t *out, size_t out_cap, size_t *out_len);

/* HMAC-SHA256(key, a | b) into out (32 bytes): derives subkeys and index tags. */
void seal_derive(const uint8_t key[SEAL_KEY_BYTES], const void *a, size_t a_len, const void *b, size_t b_len,
                 uint8_t out[32]);

#endif
