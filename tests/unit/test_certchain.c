/* test_certchain.c - PEM chain parsing, the signing-cert checks (dates, dNSName
 * SAN, key, path to the trust anchor) and RSA-SHA256 over the raw body, with
 * certificates made at test time by tests/integration/alexa_pki.py. */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "binday/alexa/certchain.h"
#include "pki_helper.h"
#include "tap.h"

static X509_STORE *store;

static verify_status_t check_file(const char *name, time_t now)
{
    size_t len;
    unsigned char *pem = pki_read(name, &len);
    certchain_t *c = NULL;
    verify_status_t st = certchain_parse(pem, len, &c);
    free(pem);
    if (st != VERIFY_OK)
        return st;
    st = certchain_verify(c, store, now);
    certchain_free(c);
    return st;
}

#define CHECK(name, now, want) \
    is_int(check_file(name, now), want, "%s -> %s", name, verify_status_name(want))

int main(void)
{
    char err[256];
    pki_dir(); /* first: the certificates start being valid when made */
    time_t now = time(NULL);
    store = certchain_store_new(pki_path("root.pem"), err, sizeof(err));
    ok(store != NULL, "trust store from root.pem");
    ok(certchain_store_new(pki_path("does-not-exist.pem"), err, sizeof(err)) == NULL,
       "missing CA file is an error (%s)", err);

    CHECK("chain_good.pem", now, VERIFY_OK);
    CHECK("chain_wrong_san.pem", now, VERIFY_E_CERT_SAN);
    CHECK("chain_cn_only.pem", now, VERIFY_E_CERT_SAN);
    CHECK("chain_expired.pem", now, VERIFY_E_CERT_EXPIRED);
    CHECK("chain_not_yet_valid.pem", now, VERIFY_E_CERT_EXPIRED);
    CHECK("chain_self_signed.pem", now, VERIFY_E_CERT_CHAIN);
    CHECK("chain_untrusted_root.pem", now, VERIFY_E_CERT_CHAIN);
    CHECK("chain_missing_inter.pem", now, VERIFY_E_CERT_CHAIN);
    CHECK("chain_weak_key.pem", now, VERIFY_E_CERT_KEY);
    /* deterministic time: the good chain is valid for 10 years from today */
    CHECK("chain_good.pem", now + 20 * 365 * 86400LL, VERIFY_E_CERT_EXPIRED);
    CHECK("chain_good.pem", now - 86400, VERIFY_E_CERT_EXPIRED);
    /* in 2020 the signing cert was valid but its intermediate was not yet: a
     * date failure anywhere on the path is reported as CERT_EXPIRED */
    CHECK("chain_expired.pem", 1593561600 /* 2020-07-01 */, VERIFY_E_CERT_EXPIRED);
    {
        /* the intermediate alone (as if it were the signing cert): no SAN */
        CHECK("inter.pem", now, VERIFY_E_CERT_SAN);
    }
    {
        /* intermediates are untrusted: a store holding only the intermediate
         * is not an anchor for the good chain */
        X509_STORE *inter_only = certchain_store_new(pki_path("inter.pem"), err, sizeof(err));
        size_t len;
        unsigned char *pem = pki_read("chain_good.pem", &len);
        certchain_t *c = NULL;
        certchain_parse(pem, len, &c);
        is_int(certchain_verify(c, inter_only, now), VERIFY_E_CERT_CHAIN,
               "intermediate is not a trust anchor");
        certchain_free(c);
        free(pem);
        X509_STORE_free(inter_only);
    }

    {
        /* no --alexa-ca: the system store, which does not know the test root */
        X509_STORE *sys = certchain_store_new(NULL, err, sizeof(err));
        ok(sys != NULL, "system trust store loads");
        size_t len;
        unsigned char *pem = pki_read("chain_good.pem", &len);
        certchain_t *c = NULL;
        certchain_parse(pem, len, &c);
        is_int(certchain_verify(c, sys, now), VERIFY_E_CERT_CHAIN, "test chain is not trusted by the system store");
        certchain_free(c);
        free(pem);
        X509_STORE_free(sys);
    }

    /* parsing */
    {
        size_t len;
        unsigned char *pem = pki_read("chain_good.pem", &len);
        certchain_t *c = NULL;
        is_int(certchain_parse(pem, len, &c), VERIFY_OK, "good chain parses");
        is_int(certchain_count(c), 2, "  two certificates");
        is_int(certchain_check_dates(c, now), VERIFY_E_CERT_CHAIN, "  dates before verify: refused");
        is_int(certchain_verify(c, store, now), VERIFY_OK, "  verifies");
        is_int(certchain_check_dates(c, now), VERIFY_OK, "  dates ok now");
        is_int(certchain_check_dates(c, now + 20 * 365 * 86400LL), VERIFY_E_CERT_EXPIRED,
               "  dates re-checked on use: expired in 20 years");
        is_int(certchain_check_dates(c, now - 2 * 86400), VERIFY_E_CERT_EXPIRED,
               "  dates re-checked on use: not yet valid 2 days ago");
        /* the edges, to the second, agree with X509_cmp_time on every cert of
         * the verified path (leaf, intermediate, root): notBefore <= now < notAfter */
        {
            time_t lo = 0, hi = 0;
            int first = 1;
            const char *files[] = {"chain_good.pem", "root.pem"};
            for (int f = 0; f < 2; f++) {
                size_t fl;
                unsigned char *fp = pki_read(files[f], &fl);
                BIO *bio = BIO_new_mem_buf(fp, (int)fl);
                X509 *x;
                while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
                    struct tm tb, ta;
                    ASN1_TIME_to_tm(X509_get0_notBefore(x), &tb);
                    ASN1_TIME_to_tm(X509_get0_notAfter(x), &ta);
                    time_t nb = timegm(&tb), na = timegm(&ta);
                    if (first || nb > lo)
                        lo = nb;
                    if (first || na < hi)
                        hi = na;
                    first = 0;
                    X509_free(x);
                }
                ERR_clear_error();
                BIO_free(bio);
                free(fp);
            }
            ok(lo > 0 && hi > lo, "  validity window read from the three certificates");
            is_int(certchain_check_dates(c, hi - 1), VERIFY_OK, "  valid one second before the earliest notAfter");
            is_int(certchain_check_dates(c, hi), VERIFY_E_CERT_EXPIRED, "  expired at the earliest notAfter");
            is_int(certchain_check_dates(c, lo), VERIFY_OK, "  valid from the latest notBefore");
            is_int(certchain_check_dates(c, lo - 1), VERIFY_E_CERT_EXPIRED, "  not valid one second before it");
        }

        /* the signature over the raw body */
        const char body[] = "{\"version\":\"1.0\",\"request\":{\"type\":\"LaunchRequest\"}}";
        unsigned char sig[512];
        size_t sl = pki_sign("good.key", body, sizeof(body) - 1, sig, sizeof(sig));
        is_int(sl, 256, "RSA-2048 signature is 256 bytes");
        is_int(certchain_verify_signature(c, sig, sl, (const uint8_t *)body, sizeof(body) - 1), VERIFY_OK,
               "signature verifies");
        char body2[sizeof(body)];
        memcpy(body2, body, sizeof(body));
        body2[20] ^= 1;
        is_int(certchain_verify_signature(c, sig, sl, (const uint8_t *)body2, sizeof(body) - 1),
               VERIFY_E_SIGNATURE_MISMATCH, "body changed by one bit: mismatch");
        is_int(certchain_verify_signature(c, sig, sl, (const uint8_t *)body, sizeof(body) - 2),
               VERIFY_E_SIGNATURE_MISMATCH, "body one byte shorter: mismatch");
        sig[100] ^= 0x80;
        is_int(certchain_verify_signature(c, sig, sl, (const uint8_t *)body, sizeof(body) - 1),
               VERIFY_E_SIGNATURE_MISMATCH, "tampered signature: mismatch");
        sig[100] ^= 0x80;
        is_int(certchain_verify_signature(c, sig, sl - 1, (const uint8_t *)body, sizeof(body) - 1),
               VERIFY_E_BAD_SIGNATURE_LENGTH, "signature one byte short: length error");
        /* the chain keeps its verification contexts between calls: a good
         * signature still verifies after failures, and a bad one still fails
         * after successes */
        int again = 0;
        for (int i = 0; i < 4; i++) {
            again += certchain_verify_signature(c, sig, sl, (const uint8_t *)body, sizeof(body) - 1) == VERIFY_OK;
            again += certchain_verify_signature(c, sig, sl, (const uint8_t *)body2, sizeof(body) - 1) ==
                     VERIFY_E_SIGNATURE_MISMATCH;
        }
        is_int(again, 8, "alternating good and bad bodies: every answer right (reused contexts)");
        sl = pki_sign("other.key", body, sizeof(body) - 1, sig, sizeof(sig));
        is_int(certchain_verify_signature(c, sig, sl, (const uint8_t *)body, sizeof(body) - 1),
               VERIFY_E_SIGNATURE_MISMATCH, "signed by another key: mismatch");
        certchain_free(c);

        /* truncations and junk */
        is_int(certchain_parse(pem, 0, &c), VERIFY_E_CERT_PARSE, "empty");
        ok(c == NULL, "  no chain on failure");
        is_int(certchain_parse(pem, len / 2, &c), VERIFY_E_CERT_PARSE, "truncated in the second cert");
        is_int(certchain_parse((const uint8_t *)"hello", 5, &c), VERIFY_E_CERT_PARSE, "not PEM");
        const char *junk = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
        is_int(certchain_parse((const uint8_t *)junk, strlen(junk), &c), VERIFY_E_CERT_PARSE, "bad DER");
        const char *key = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
        is_int(certchain_parse((const uint8_t *)key, strlen(key), &c), VERIFY_E_CERT_PARSE,
               "not a CERTIFICATE block");
        /* text around the blocks is allowed (PEM) */
        size_t l2 = len + 32;
        unsigned char *wrapped = malloc(l2 + 32);
        memcpy(wrapped, "comment line\n", 13);
        memcpy(wrapped + 13, pem, len);
        memcpy(wrapped + 13 + len, "trailing text\n", 14);
        is_int(certchain_parse(wrapped, 13 + len + 14, &c), VERIFY_OK, "text around blocks ignored");
        certchain_free(c);
        /* too many certificates */
        size_t gl;
        unsigned char *good = pki_read("good.pem", &gl);
        unsigned char *many = malloc(gl * (CERTCHAIN_MAX_CERTS + 1));
        for (int i = 0; i <= CERTCHAIN_MAX_CERTS; i++)
            memcpy(many + gl * (size_t)i, good, gl);
        is_int(certchain_parse(many, gl * CERTCHAIN_MAX_CERTS, &c), VERIFY_OK, "%d certificates accepted",
               CERTCHAIN_MAX_CERTS);
        certchain_free(c);
        is_int(certchain_parse(many, gl * (CERTCHAIN_MAX_CERTS + 1), &c), VERIFY_E_CERT_PARSE,
               "%d certificates rejected", CERTCHAIN_MAX_CERTS + 1);
        is_int(certchain_parse(many, CERTCHAIN_MAX_BYTES + 1, &c), VERIFY_E_CERT_PARSE, "over the size cap");
        free(many);
        free(good);
        free(wrapped);
        free(pem);
    }
    X509_STORE_free(store);
    return done_testing();
}
