/* test_certurl.c - SignatureCertChainUrl normalization and Amazon's URL rules:
 * every example from Amazon's documentation plus adversarial ones. */
#include <stdint.h>
#include <string.h>

#include "binday/alexa/certurl.h"
#include "tap.h"

static void good(const char *in, const char *want)
{
    char out[CERTURL_MAX + 1];
    const char *why = NULL;
    int r = certurl_normalize((const uint8_t *)in, strlen(in), out, sizeof(out), &why);
    if (!ok(r == 0, "valid: %s", in))
        printf("#   rejected: %s\n", why);
    else
        if (!ok(strcmp(out, want) == 0, "  normalized to %s", want))
            printf("#   got %s\n", out);
}

static void bad(const char *in)
{
    char out[CERTURL_MAX + 1];
    const char *why = NULL;
    int r = certurl_normalize((const uint8_t *)in, strlen(in), out, sizeof(out), &why);
    if (!ok(r == -1, "invalid: %s (%s)", in, why ? why : "?"))
        printf("#   accepted as %s\n", out);
}

static void dots(const char *in, const char *want)
{
    char out[256];
    long n = certurl_remove_dot_segments(in, strlen(in), out, sizeof(out));
    ok(n >= 0 && strcmp(out, want) == 0 && (size_t)n == strlen(want), "remove_dot_segments(%s) = %s", in,
       n >= 0 ? out : "(error)");
}

int main(void)
{
    const char *canon = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem";
    /* Amazon's documented valid examples */
    good("https://s3.amazonaws.com/echo.api/echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com:443/echo.api/echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com/echo.api/../echo.api/echo-api-cert.pem", canon);
    /* case-insensitive scheme and host */
    good("HTTPS://s3.amazonaws.com/echo.api/echo-api-cert.pem", canon);
    good("Https://S3.AmazonAWS.COM/echo.api/echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com/echo.api/./echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com/./echo.api/echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com/x/../echo.api/echo-api-cert.pem", canon);
    good("https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem",
         "https://s3.amazonaws.com/echo.api/echo-api-cert-12.pem");
    good("https://s3.amazonaws.com/echo.api/a/../echo-api-cert.pem", canon);

    /* Amazon's documented invalid examples */
    bad("http://s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://notamazon.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/EcHo.aPi/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/invalid.path/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:563/echo.api/echo-api-cert.pem");

    /* dot segments escaping /echo.api/ */
    bad("https://s3.amazonaws.com/echo.api/../echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/../../echo.api.evil/x.pem");
    bad("https://s3.amazonaws.com/echo.api/..");
    bad("https://s3.amazonaws.com/echo.api/.");
    bad("https://s3.amazonaws.com/echo.api/");
    bad("https://s3.amazonaws.com/echo.api");
    bad("https://s3.amazonaws.com/echo.api/x/../../evil/x.pem");
    bad("https://s3.amazonaws.com/echo.apix/cert.pem");
    /* percent-encoding of anything */
    bad("https://s3.amazonaws.com/echo.api/%2e%2e/evil.pem");
    bad("https://s3.amazonaws.com/echo.api/%2E%2E/evil.pem");
    bad("https://s3.amazonaws.com/echo.api/..%2fevil.pem");
    bad("https://s3.amazonaws.com/echo.api/..%2Fevil.pem");
    bad("https://s3.amazonaws.com/echo.api/..%5cevil.pem");
    bad("https://s3.amazonaws.com/echo%2eapi/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert%2epem");
    bad("https://s3%2eamazonaws.com/echo.api/echo-api-cert.pem");
    /* userinfo and host tricks */
    bad("https://user@s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com@evil.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:443@evil.com/echo.api/echo-api-cert.pem");
    bad("https://evil.com#@s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com.evil.com/echo.api/echo-api-cert.pem");
    bad("https://evil-s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://xs3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com./echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com.:443/echo.api/echo-api-cert.pem");
    bad("https:///echo.api/echo-api-cert.pem");
    bad("https://:443/echo.api/echo-api-cert.pem");
    bad("https://s3.eu-west-1.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://[::1]/echo.api/echo-api-cert.pem");
    bad("https://52.216.0.1/echo.api/echo-api-cert.pem");
    /* backslashes */
    bad("https://s3.amazonaws.com\\@evil.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api\\..\\..\\evil.pem");
    bad("https:\\\\s3.amazonaws.com/echo.api/echo-api-cert.pem");
    /* ports */
    bad("https://s3.amazonaws.com:/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:0443/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:443:443/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:80/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:4430/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:44/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:+443/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com:65979/echo.api/echo-api-cert.pem");
    /* whitespace, controls, non-ASCII, query, fragment */
    bad(" https://s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem ");
    bad("https://s3.amazonaws.com/echo.api/echo api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem\t");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem\r\nX-Evil: 1");
    bad("https://s3.amazonaws.com /echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/\xc3\xa9.pem");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem?x=1");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem#frag");
    bad("https://s3.amazonaws.com/echo.api/echo-api-cert.pem;x");
    /* other shapes */
    bad("");
    bad("https:");
    bad("https://");
    bad("https://s3.amazonaws.com");
    bad("https:/s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("https:s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("ftp://s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("httpss://s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("//s3.amazonaws.com/echo.api/echo-api-cert.pem");
    bad("/echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com//echo.api/echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api//echo-api-cert.pem");
    bad("https://s3.amazonaws.com/echo.api/x:y.pem");

    /* embedded NUL: the checker must not stop at it */
    {
        static const char nul[] = "https://s3.amazonaws.com/echo.api/echo-api-cert.pem\0evil";
        char out[CERTURL_MAX + 1];
        ok(certurl_normalize((const uint8_t *)nul, sizeof(nul) - 1, out, sizeof(out), NULL) == -1,
           "invalid: embedded NUL");
    }
    /* length bound */
    {
        char big[CERTURL_MAX + 64];
        char out[CERTURL_MAX + 1];
        strcpy(big, "https://s3.amazonaws.com/echo.api/");
        size_t n = strlen(big);
        memset(big + n, 'a', sizeof(big) - n - 1);
        big[sizeof(big) - 1] = '\0';
        ok(certurl_normalize((const uint8_t *)big, strlen(big), out, sizeof(out), NULL) == -1,
           "invalid: longer than CERTURL_MAX");
        big[CERTURL_MAX] = '\0';
        ok(certurl_normalize((const uint8_t *)big, strlen(big), out, sizeof(out), NULL) == 0,
           "valid: exactly CERTURL_MAX bytes");
        ok(certurl_normalize((const uint8_t *)big, strlen(big), out, 10, NULL) == -1,
           "small output buffer is an error, not an overflow");
    }

    /* RFC 3986 5.4 examples (paths only) */
    dots("/a/b/c/./../../g", "/a/g");
    dots("/mid/content=5/../6", "/mid/6");
    dots("/..", "/");
    dots("/../..", "/");
    dots("/a/..", "/");
    dots("/a/.", "/a/");
    dots("/a/./", "/a/");
    dots("/.a/..b/...", "/.a/..b/...");
    dots("/a//../b", "/a/b");
    dots("/", "/");
    return done_testing();
}
