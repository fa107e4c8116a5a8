/* pki_helper.h - shared by the C unit tests that need certificates: runs
 * tests/integration/alexa_pki.py into a fresh temporary directory (real
 * certificates made by the openssl CLI), reads its files, signs bodies. */
#ifndef BINDAY_TEST_PKI_HELPER_H
#define BINDAY_TEST_PKI_HELPER_H

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char pki_dir_[256];

static void pki_cleanup_(void)
{
    if (pki_dir_[0]) {
        char cmd[300];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", pki_dir_);
        if (system(cmd) != 0)
            fprintf(stderr, "# could not remove %s\n", pki_dir_);
    }
}

/* Make the PKI once per process; returns its directory (exits on failure). */
static const char *pki_dir(void)
{
    if (pki_dir_[0])
        return pki_dir_;
    snprintf(pki_dir_, sizeof(pki_dir_), "/tmp/binday-pki-XXXXXX");
    if (mkdtemp(pki_dir_) == NULL) {
        perror("mkdtemp");
        exit(1);
    }
    atexit(pki_cleanup_);
    const char *root = getenv("BINDAY_ROOT");
    char cmd[1024];
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 %s/tests/integration/alexa_pki.py %s", root ? root : ".",
             pki_dir_);
    if (system(cmd) != 0) {
        printf("not ok 1 - alexa_pki.py failed\n1..1\n");
        exit(1);
    }
    return pki_dir_;
}

__attribute__((unused)) static char *pki_path(const char *name)
{
    static char p[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(p[k], sizeof(p[k]), "%s/%s", pki_dir(), name);
    return p[k];
}

/* Whole file (malloc'd, NUL-terminated); exits on failure. */
__attribute__((unused)) static unsigned char *pki_read(const char *name, size_t *len)
{
    FILE *f = fopen(pki_path(name), "rb");
    if (f == NULL) {
        perror(name);
        exit(1);
    }
    unsigned char *buf = malloc(1 << 20);
    *len = fread(buf, 1, (1 << 20) - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* RSA PKCS#1 v1.5 SHA-256 signature of body with the key file `keyname`. */
__attribute__((unused)) static size_t pki_sign(const char *keyname, const void *body, size_t len, unsigned char *sig, size_t sigsize)
{
    FILE *f = fopen(pki_path(keyname), "r");
    EVP_PKEY *k = f ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
    if (f)
        fclose(f);
    if (k == NULL) {
        fprintf(stderr, "cannot read key %s\n", keyname);
        exit(1);
    }
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    size_t n = sigsize;
    if (EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, k) != 1 ||
        EVP_DigestSign(md, sig, &n, body, len) != 1) {
        fprintf(stderr, "sign failed\n");
        exit(1);
    }
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(k);
    return n;
}

#endif
