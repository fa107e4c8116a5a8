/* verify_status.c - owns the stable names of the verification failure reasons. */
#include "binday/alexa/verify_status.h"

const char *verify_status_name(verify_status_t s)
{
    static const char *const names[VERIFY_STATUS_COUNT_] = {
        [VERIFY_OK] = "VERIFY_OK",
        [VERIFY_E_NO_CERT_URL] = "VERIFY_E_NO_CERT_URL",
        [VERIFY_E_NO_SIGNATURE] = "VERIFY_E_NO_SIGNATURE",
        [VERIFY_E_DUPLICATE_HEADER] = "VERIFY_E_DUPLICATE_HEADER",
        [VERIFY_E_BAD_URL] = "VERIFY_E_BAD_URL",
        [VERIFY_E_BAD_SIGNATURE_ENCODING] = "VERIFY_E_BAD_SIGNATURE_ENCODING",
        [VERIFY_E_BAD_SIGNATURE_LENGTH] = "VERIFY_E_BAD_SIGNATURE_LENGTH",
        [VERIFY_E_BAD_ENVELOPE] = "VERIFY_E_BAD_ENVELOPE",
        [VERIFY_E_BAD_TIMESTAMP] = "VERIFY_E_BAD_TIMESTAMP",
        [VERIFY_E_TIMESTAMP_SKEW] = "VERIFY_E_TIMESTAMP_SKEW",
        [VERIFY_E_WRONG_SKILL] = "VERIFY_E_WRONG_SKILL",
        [VERIFY_E_CERT_DOWNLOAD] = "VERIFY_E_CERT_DOWNLOAD",
        [VERIFY_E_CERT_PARSE] = "VERIFY_E_CERT_PARSE",
        [VERIFY_E_CERT_EXPIRED] = "VERIFY_E_CERT_EXPIRED",
        [VERIFY_E_CERT_SAN] = "VERIFY_E_CERT_SAN",
        [VERIFY_E_CERT_CHAIN] = "VERIFY_E_CERT_CHAIN",
        [VERIFY_E_CERT_KEY] = "VERIFY_E_CERT_KEY",
        [VERIFY_E_SIGNATURE_MISMATCH] = "VERIFY_E_SIGNATURE_MISMATCH",
        [VERIFY_E_INTERNAL] = "VERIFY_E_INTERNAL",
    };
    if ((unsigned)s >= VERIFY_STATUS_COUNT_)
        return "VERIFY_E_UNKNOWN";
    return names[s];
}
