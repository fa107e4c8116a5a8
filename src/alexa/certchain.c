/* certchain.c - owns the signing-certificate chain: PEM parsing, date, SAN,
 * key and path checks, and the RSA-SHA256 body signature (see certchain.h).
 *
 * Every failing OpenSSL call leaves entries on the thread's error queue; the
 * TLS server on the same thread reads that queue, so we always clear it. */
#include "binday/alexa/certchain.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "binday/util/algo.h"
#include "binday/util/xalloc.h"

struct certchain {
    X509 *leaf;
    STACK_OF(X509) *untrusted; /* intermediates as sent (may be empty) */
    STACK_OF(X509) *verified;  /* leaf..anchor once certchain_verify succeeded */
    /* The verified path's common validity window, [valid_from, valid_until):
     * the latest notBefore and the earliest notAfter, as seconds. Checked on
     * every use by comparing two integers, where comparing the six ASN.1
     * times (X509_cmp_time) was ~50,000 instructions per request. */
    time_t valid_from, valid_until;
    size_t count;
    /* The signature check's contexts, made on first use and kept: a
     * verify-initialised key context and a digest context. Setting them up
     * per request (EVP_DigestVerifyInit: key-management, signature and digest
     * look-ups) was 3-4 µs of a ~20 µs check. A chain belongs to one thread. */
    EVP_PKEY_CTX *vctx;
    EVP_MD_CTX *hctx;
};

void certchain_free(certchain_t *c)
{
    if (c == NULL)
        return;
    EVP_PKEY_CTX_free(c->vctx);
    EVP_MD_CTX_free(c->hctx);
    X509_free(c->leaf);
    sk_X509_pop_free(c->untrusted, X509_free);
    sk_X509_pop_free(c->verified, X509_free);
    free(c);
}

size_t certchain_count(const certchain_t *c)
{
    return c ? c->count : 0;
}

verify_status_t certchain_parse(const uint8_t *pem, size_t len, certchain_t **out)
{
    *out = NULL;
    if (pem == NULL || len == 0 || len > CERTCHAIN_MAX_BYTES)
        return VERIFY_E_CERT_PARSE;
    certchain_t *c = xcalloc(1, sizeof(*c));
    /* len <= CERTCHAIN_MAX_BYTES fits an int: these fail only for memory */
    if ((c->untrusted = sk_X509_new_null()) == NULL)
        xalloc_die("sk_X509_new_null", 0);
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    if (bio == NULL)
        xalloc_die("BIO_new_mem_buf", 0);
    verify_status_t st = VERIFY_OK;
    ERR_clear_error();
    for (;;) {
        char *name = NULL, *header = NULL;
        unsigned char *der = NULL;
        long dlen = 0;
        if (!PEM_read_bio(bio, &name, &header, &der, &dlen)) {
            /* "no start line" is the normal end (text after the last block);
             * anything else is a block that does not decode */
            unsigned long e = ERR_peek_last_error();
            if (ERR_GET_LIB(e) != ERR_LIB_PEM || ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
                st = VERIFY_E_CERT_PARSE;
            break;
        }
        int is_cert = strcmp(name, PEM_STRING_X509) == 0;
        const unsigned char *p = der;
        X509 *x = is_cert ? d2i_X509(NULL, &p, dlen) : NULL;
        int whole = x != NULL && p == der + dlen; /* no trailing bytes inside the block */
        OPENSSL_free(name);
        OPENSSL_free(header);
        OPENSSL_free(der);
        if (!is_cert || !whole || c->count >= CERTCHAIN_MAX_CERTS) {
            X509_free(x);
            st = VERIFY_E_CERT_PARSE;
            break;
        }
        if (c->leaf == NULL)
            c->leaf = x;
        else if (!sk_X509_push(c->untrusted, x))
            xalloc_die("sk_X509_push", 0); /* at most CERTCHAIN_MAX_CERTS: only memory fails */
        c->count++;
    }
    BIO_free(bio);
    ERR_clear_error();
    if (st == VERIFY_OK && c->leaf == NULL)
        st = VERIFY_E_CERT_PARSE;
    if (st != VERIFY_OK) {
        certchain_free(c);
        return st;
    }
    *out = c;
    return VERIFY_OK;
}

static verify_status_t check_dates(X509 *x, time_t now)
{
    time_t t = now;
    /* X509_cmp_time: -1 when the cert time <= t, 1 when later, 0 on error */
    if (X509_cmp_time(X509_get0_notBefore(x), &t) >= 0)
        return VERIFY_E_CERT_EXPIRED;
    if (X509_cmp_time(X509_get0_notAfter(x), &t) <= 0)
        return VERIFY_E_CERT_EXPIRED;
    return VERIFY_OK;
}

/* An ASN.1 time as seconds since the epoch (UTC). */
static int asn1_seconds(const ASN1_TIME *t, time_t *out)
{
    struct tm tm;
    if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
        return -1;
    *out = timegm(&tm);
    return 0;
}

/* [latest notBefore, earliest notAfter) of a path; -1 if a time is unreadable. */
static int window(STACK_OF(X509) *path, time_t *from, time_t *until)
{
    time_t lo = 0, hi = 0;
    for (int i = 0; i < sk_X509_num(path); i++) {
        X509 *x = sk_X509_value(path, i);
        time_t nb, na;
        if (asn1_seconds(X509_get0_notBefore(x), &nb) != 0 || asn1_seconds(X509_get0_notAfter(x), &na) != 0)
            return -1;
        /* X509_cmp_time passes notBefore <= now < notAfter; so does [from, until) */
        if (i == 0 || nb > lo)
            lo = nb;
        if (i == 0 || na < hi)
            hi = na;
    }
    *from = lo;
    *until = hi;
    return sk_X509_num(path) > 0 ? 0 : -1;
}

static int has_dns_san(X509 *x, const char *want)
{
    GENERAL_NAMES *names = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    if (names == NULL)
        return 0;
    size_t wl = strlen(want);
    int found = 0;
    for (int i = 0; i < sk_GENERAL_NAME_num(names) && !found; i++) {
        const GENERAL_NAME *gn = sk_GENERAL_NAME_value(names, i);
        if (gn->type != GEN_DNS)
            continue;
        const ASN1_IA5STRING *s = gn->d.dNSName;
        /* exact length first, so an embedded NUL cannot shorten the name */
        if ((size_t)ASN1_STRING_length(s) == wl &&
            strncasecmp((const char *)ASN1_STRING_get0_data(s), want, wl) == 0)
            found = 1;
    }
    GENERAL_NAMES_free(names);
    return found;
}

verify_status_t certchain_verify(certchain_t *c, X509_STORE *store, time_t now)
{
    verify_status_t st = check_dates(c->leaf, now);
    if (st != VERIFY_OK)
        goto out;
    if (!has_dns_san(c->leaf, CERTCHAIN_SAN)) {
        st = VERIFY_E_CERT_SAN;
        goto out;
    }
    EVP_PKEY *pk = X509_get0_pubkey(c->leaf);
    if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA") || EVP_PKEY_get_bits(pk) < 2048) {
        st = VERIFY_E_CERT_KEY;
        goto out;
    }
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    if (ctx == NULL)
        xalloc_die("X509_STORE_CTX_new", 0);
    if (!X509_STORE_CTX_init(ctx, store, c->leaf, c->untrusted)) {
        X509_STORE_CTX_free(ctx);
        st = VERIFY_E_INTERNAL;
        goto out;
    }
    X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), now);
    if (X509_verify_cert(ctx) == 1) {
        sk_X509_pop_free(c->verified, X509_free);
        c->verified = X509_STORE_CTX_get1_chain(ctx);
        st = c->verified && window(c->verified, &c->valid_from, &c->valid_until) == 0 ? VERIFY_OK
                                                                                      : VERIFY_E_INTERNAL;
    } else {
        int e = X509_STORE_CTX_get_error(ctx);
        st = (e == X509_V_ERR_CERT_HAS_EXPIRED || e == X509_V_ERR_CERT_NOT_YET_VALID)
                 ? VERIFY_E_CERT_EXPIRED
                 : VERIFY_E_CERT_CHAIN;
    }
    X509_STORE_CTX_free(ctx);
out:
    ERR_clear_error();
    return st;
}

verify_status_t certchain_check_dates(const certchain_t *c, time_t now)
{
    if (c == NULL || c->verified == NULL)
        return VERIFY_E_CERT_CHAIN;
    /* the same rule as check_dates, for every certificate of the path at once */
    return now >= c->valid_from && now < c->valid_until ? VERIFY_OK : VERIFY_E_CERT_EXPIRED;
}

verify_status_t certchain_verify_signature(certchain_t *c, const uint8_t *sig, size_t sig_len, const uint8_t *body,
                                           size_t body_len)
{
    EVP_PKEY *pk = X509_get0_pubkey(c->leaf);
    if (pk == NULL || !EVP_PKEY_is_a(pk, "RSA"))
        return VERIFY_E_CERT_KEY;
    if (sig_len != (size_t)EVP_PKEY_get_size(pk))
        return VERIFY_E_BAD_SIGNATURE_LENGTH;
    if (c->vctx == NULL) {
        EVP_PKEY_CTX *v = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
        if (v == NULL || EVP_PKEY_verify_init(v) != 1 || EVP_PKEY_CTX_set_rsa_padding(v, RSA_PKCS1_PADDING) != 1 ||
            EVP_PKEY_CTX_set_signature_md(v, algo_sha256()) != 1) {
            EVP_PKEY_CTX_free(v);
            ERR_clear_error();
            return VERIFY_E_INTERNAL;
        }
        c->vctx = v;
    }
    if (c->hctx == NULL && (c->hctx = EVP_MD_CTX_new()) == NULL)
        xalloc_die("EVP_MD_CTX_new", 0);
    uint8_t digest[32];
    unsigned dl = 0;
    verify_status_t st = VERIFY_E_INTERNAL;
    if (EVP_DigestInit_ex2(c->hctx, algo_sha256(), NULL) == 1 && EVP_DigestUpdate(c->hctx, body, body_len) == 1 &&
        EVP_DigestFinal_ex(c->hctx, digest, &dl) == 1 && dl == sizeof(digest))
        st = EVP_PKEY_verify(c->vctx, sig, sig_len, digest, sizeof(digest)) == 1 ? VERIFY_OK
                                                                                  : VERIFY_E_SIGNATURE_MISMATCH;
    ERR_clear_error();
    return st;
}

X509_STORE *certchain_store_new(const char *ca_file, char *err, size_t errlen)
{
    X509_STORE *s = X509_STORE_new();
    if (s == NULL)
        xalloc_die("X509_STORE_new", 0);
    int okk = ca_file ? X509_STORE_load_file(s, ca_file) : X509_STORE_set_default_paths(s);
    if (okk != 1) {
        unsigned long e = ERR_peek_last_error();
        snprintf(err, errlen, "cannot load trust anchors from %s: %s", ca_file ? ca_file : "system store",
                 e ? ERR_reason_error_string(e) : "unknown error");
        ERR_clear_error();
        X509_STORE_free(s);
        return NULL;
    }
    ERR_clear_error();
    return s;
}
