/* certchain.h - Alexa's signing-certificate chain: PEM parsing, the checks
 * Amazon requires, and the RSA-SHA256 signature over the raw body.
 *
 * A chain is the downloaded PEM: first certificate = signing cert, the rest =
 * intermediates (never trusted by themselves). certchain_verify() runs the
 * full checks once (dates, dNSName SAN echo-api.amazon.com, RSA >= 2048 key,
 * path to a trust anchor at the given time) and keeps the verified path;
 * certchain_check_dates() re-checks the validity dates of EVERY certificate
 * of that path and is meant to run on every use of a cached chain.
 * All functions take `now` explicitly so tests are deterministic.
 * A certchain_t is used from one thread at a time; the X509_STORE may be
 * shared read-only between threads.
 */
#ifndef BINDAY_CERTCHAIN_H
#define BINDAY_CERTCHAIN_H

#include <openssl/x509.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "binday/alexa/verify_status.h"

#define CERTCHAIN_MAX_BYTES (64 * 1024) /* the download cap, too */
#define CERTCHAIN_MAX_CERTS 8
#define CERTCHAIN_SAN "echo-api.amazon.com"

typedef struct certchain certchain_t;

/* Parse a PEM chain (pure; untrusted bytes). Only "CERTIFICATE" blocks are
 * read; text between blocks is ignored as PEM allows; anything that looks
 * like a block but does not parse fails. Returns VERIFY_OK and a new chain in
 * *out (free with certchain_free), or VERIFY_E_CERT_PARSE (no certificate,
 * more than CERTCHAIN_MAX_CERTS, over CERTCHAIN_MAX_BYTES, bad DER). */
verify_status_t certchain_parse(const uint8_t *pem, size_t len, certchain_t **out);
void certchain_free(certchain_t *c);
/* Number of certificates parsed (signing cert + intermediates). */
size_t certchain_count(const certchain_t *c);

/* Full checks at time `now`, in this order: signing cert dates
 * (VERIFY_E_CERT_EXPIRED), dNSName SAN (VERIFY_E_CERT_SAN; the subject CN is
 * never consulted), RSA key of >= 2048 bits (VERIFY_E_CERT_KEY), and the path
 * to a trust anchor of `store` with the other certs as untrusted
 * intermediates (VERIFY_E_CERT_CHAIN, or VERIFY_E_CERT_EXPIRED when the path
 * fails only on a date). On VERIFY_OK the verified path is kept in `c`. */
verify_status_t certchain_verify(certchain_t *c, X509_STORE *store, time_t now);

/* Re-check notBefore <= now < notAfter on every certificate of the verified
 * path (signing cert, intermediates, anchor). VERIFY_E_CERT_CHAIN when the
 * chain was never verified. Cheap: no signature operations. */
verify_status_t certchain_check_dates(const certchain_t *c, time_t now);

/* RSA PKCS#1 v1.5 with SHA-256 of body[0..body_len) against the signing
 * cert's key. VERIFY_E_BAD_SIGNATURE_LENGTH when sig_len differs from the key
 * size, VERIFY_E_SIGNATURE_MISMATCH when it does not verify. Keeps its
 * OpenSSL contexts in c between calls: not for two threads at once (verify.c's
 * chain caches are per thread). */
verify_status_t certchain_verify_signature(certchain_t *c, const uint8_t *sig, size_t sig_len, const uint8_t *body,
                                           size_t body_len);

/* A trust store from a PEM file of anchors, or the system store when ca_file
 * is NULL. Returns NULL with a message in err on failure. X509_STORE_free it. */
X509_STORE *certchain_store_new(const char *ca_file, char *err, size_t errlen);

#endif
