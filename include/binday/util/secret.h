/* secret.h - secret keys kept in the data directory, and keyed hashes made
 * with them.
 *
 * Used for pseudonymous user ids (a keyed hash of the Alexa userId, so the
 * stored data names no one without the key) and for unguessable, stable
 * calendar-feed tokens. A key file holds 32 random bytes, mode 0600; it is
 * created atomically (write to a temporary file, fsync, link) on first use so
 * two processes starting together agree on one key.
 */
#ifndef BINDAY_SECRET_H
#define BINDAY_SECRET_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_KEY_BYTES 32
/* hex digest length (without NUL) of secret_hmac_hex's output */
#define SECRET_HEX_LEN 32

typedef struct secret_key {
    uint8_t k[SECRET_KEY_BYTES];
} secret_key_t;

/* Load DIR/NAME, or create it with fresh random bytes if it does not exist.
 * Refuses a key file that is readable by group or others, or of the wrong
 * size. Returns 0, or -1 with a message in err. */
int secret_load_or_create(const char *dir, const char *name, secret_key_t *out, char *err, size_t err_size);

/* Load DIR/NAME only: 0, 1 when the file does not exist (nothing created),
 * or -1 with a message (unreadable, wrong size, readable by others). */
int secret_load(const char *dir, const char *name, secret_key_t *out, char *err, size_t err_size);

/* HMAC-SHA256(key, msg) truncated to 128 bits, as 32 lower-case hex digits
 * plus NUL in out (out_size >= SECRET_HEX_LEN + 1). */
void secret_hmac_hex(const secret_key_t *key, const void *msg, size_t len, char *out, size_t out_size);

#endif
