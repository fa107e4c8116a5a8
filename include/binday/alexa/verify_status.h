/* verify_status.h - why an Alexa request failed verification (one stable enum).
 *
 * Every check of the verification module (cert URL, base64 signature, envelope,
 * timestamp window, skill id, certificate chain, signature) reports one of these.
 * The names returned by verify_status_name() are stable: logs and tests match
 * them. They name the reason only; never log the body or the signature itself.
 */
#ifndef BINDAY_VERIFY_STATUS_H
#define BINDAY_VERIFY_STATUS_H

typedef enum verify_status {
    VERIFY_OK = 0,
    VERIFY_E_NO_CERT_URL,           /* SignatureCertChainUrl missing or empty */
    VERIFY_E_NO_SIGNATURE,          /* Signature-256 missing or empty */
    VERIFY_E_DUPLICATE_HEADER,      /* a verification header sent more than once */
    VERIFY_E_BAD_URL,               /* cert URL fails normalization or the Amazon rules */
    VERIFY_E_BAD_SIGNATURE_ENCODING,/* Signature-256 is not strict base64 */
    VERIFY_E_BAD_SIGNATURE_LENGTH,  /* decoded signature has an impossible length */
    VERIFY_E_BAD_ENVELOPE,          /* body is not a JSON object / request missing / too big */
    VERIFY_E_BAD_TIMESTAMP,         /* request.timestamp missing or unparseable */
    VERIFY_E_TIMESTAMP_SKEW,        /* timestamp outside the allowed window */
    VERIFY_E_WRONG_SKILL,           /* applicationId missing, ambiguous or not configured */
    VERIFY_E_CERT_DOWNLOAD,         /* download failed (network, HTTP status, size, busy) */
    VERIFY_E_CERT_PARSE,            /* downloaded bytes are not a PEM certificate chain */
    VERIFY_E_CERT_EXPIRED,          /* a certificate is outside notBefore/notAfter now */
    VERIFY_E_CERT_SAN,              /* signing cert lacks dNSName echo-api.amazon.com */
    VERIFY_E_CERT_CHAIN,            /* chain does not verify to a trust anchor */
    VERIFY_E_CERT_KEY,              /* signing key is not RSA >= 2048 bits */
    VERIFY_E_SIGNATURE_MISMATCH,    /* RSA-SHA256 over the body does not verify */
    VERIFY_E_INTERNAL,              /* OOM-free internal failure (e.g. crypto library error) */
    VERIFY_STATUS_COUNT_
} verify_status_t;

/* Stable upper-case name, e.g. "VERIFY_E_BAD_URL"; "VERIFY_E_UNKNOWN" out of range.
 * Never NULL; static storage. */
const char *verify_status_name(verify_status_t s);

#endif
