/* test_b64.c - strict base64: RFC 4648 vectors, rejection of every lax form. */
#include <stdint.h>
#include <string.h>

#include "binday/util/b64.h"
#include "tap.h"

static void dec_ok(const char *in, const char *want)
{
    uint8_t out[64];
    size_t n = 0;
    int r = b64_decode_strict((const uint8_t *)in, strlen(in), out, sizeof(out), &n);
    ok(r == 0 && n == strlen(want) && memcmp(out, want, n) == 0, "decodes \"%s\"", in);
}

static void dec_bad(const char *in, const char *why)
{
    uint8_t out[64];
    size_t n = 0;
    ok(b64_decode_strict((const uint8_t *)in, strlen(in), out, sizeof(out), &n) == -1, "rejects %s", why);
}

int main(void)
{
    /* RFC 4648 section 10 */
    dec_ok("Zg==", "f");
    dec_ok("Zm8=", "fo");
    dec_ok("Zm9v", "foo");
    dec_ok("Zm9vYg==", "foob");
    dec_ok("Zm9vYmE=", "fooba");
    dec_ok("Zm9vYmFy", "foobar");
    dec_ok("+/+/", "\xfb\xff\xbf");
    {   /* every byte value in every position: accepted exactly when it is in the
         * alphabet, and decoded to its index */
        static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        int right = 0;
        for (int c = 0; c < 256; c++)
            for (int pos = 0; pos < 4; pos++) {
                uint8_t in[4] = {'A', 'A', 'A', 'A'}, out[3];
                size_t n = 0;
                in[pos] = (uint8_t)c;
                const char *at = c ? strchr(al, c) : NULL;
                int r = b64_decode_strict(in, 4, out, sizeof(out), &n);
                uint32_t w = (uint32_t)out[0] << 16 | (uint32_t)out[1] << 8 | out[2];
                if (c == '=' && pos == 3)
                    right += r == 0 && n == 2; /* "AAA=": padding */
                else if (at == NULL)
                    right += r == -1;
                else
                    right += r == 0 && n == 3 && w == (uint32_t)(at - al) << (6 * (3 - pos));
            }
        is_int(right, 1024, "every byte in every position: accepted and decoded exactly by the alphabet");
    }
    dec_bad("", "empty");
    dec_bad("Zg", "missing padding");
    dec_bad("Zg=", "short padding");
    dec_bad("Zm9vYg", "missing padding (6)");
    dec_bad("Zm9v\nYmFy", "newline");
    dec_bad("Zm9v YmFy", "space");
    dec_bad(" Zm9vYmFy", "leading space");
    dec_bad("Zm9vYmFy\n", "trailing newline");
    dec_bad("Zm9vYmF=", "non-zero bits under padding (1)");
    dec_bad("Zh==", "non-zero bits under padding (2)");
    dec_bad("Zg==Zg==", "padding in the middle");
    dec_bad("Z===", "three padding characters");
    dec_bad("====", "only padding");
    dec_bad("Zm9v-_8=", "URL-safe alphabet");
    dec_bad("Zm9v*mFy", "foreign character");
    dec_bad("Zm=vYmFy", "padding inside a quantum");
    {
        /* embedded NUL */
        const uint8_t in[8] = {'Z', 'm', '9', 'v', 0, 'm', 'F', 'y'};
        uint8_t out[16];
        size_t n;
        ok(b64_decode_strict(in, 8, out, sizeof(out), &n) == -1, "rejects NUL");
    }
    {
        uint8_t out[2];
        size_t n;
        ok(b64_decode_strict((const uint8_t *)"Zm9v", 4, out, sizeof(out), &n) == -1,
           "output buffer too small is an error");
    }
    /* round trip of every length 0..300 over all byte values */
    int all = 1;
    for (size_t len = 1; len <= 300; len++) {
        uint8_t src[300], back[300];
        char txt[512];
        for (size_t i = 0; i < len; i++)
            src[i] = (uint8_t)(i * 37 + len);
        long tl = b64_encode(src, len, txt, sizeof(txt));
        size_t n = 0;
        if (tl < 0 || b64_decode_strict((const uint8_t *)txt, (size_t)tl, back, sizeof(back), &n) != 0 ||
            n != len || memcmp(src, back, len) != 0)
            all = 0;
    }
    ok(all, "encode/decode round trip for lengths 1..300");
    return done_testing();
}
