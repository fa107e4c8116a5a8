/* test_utf8.c - the one UTF-8 check against a reference decoder (decode, then
 * reject overlong forms, surrogates and values past U+10FFFF), over every
 * 1-, 2- and 3-byte input and every 4-byte input with a 4-byte lead. */
#include <stdio.h>
#include <string.h>

#include "binday/util/utf8.h"
#include "tap.h"

static size_t reference(const uint8_t *s, size_t n)
{
    size_t k;
    uint32_t cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xE0) == 0xC0)
        k = 2, cp = s[0] & 0x1F;
    else if ((s[0] & 0xF0) == 0xE0)
        k = 3, cp = s[0] & 0x0F;
    else if ((s[0] & 0xF8) == 0xF0)
        k = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (n < k)
        return 0;
    for (size_t i = 1; i < k; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) || (k == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
        return 0;
    return k;
}

int main(void)
{
    long bad = 0;
    uint8_t b[4];
    for (unsigned a = 0; a < 256; a++) {
        b[0] = (uint8_t)a;
        bad += utf8_seq(b, 1) != reference(b, 1);
        for (unsigned c = 0; c < 256; c++) {
            b[1] = (uint8_t)c;
            bad += utf8_seq(b, 2) != reference(b, 2);
            for (unsigned d = 0; d < 256; d++) {
                b[2] = (uint8_t)d;
                bad += utf8_seq(b, 3) != reference(b, 3);
            }
        }
    }
    is_int((int)bad, 0, "every 1-, 2- and 3-byte input agrees with the reference");
    bad = 0;
    for (unsigned a = 0xF0; a < 0xF8; a++)
        for (unsigned c = 0; c < 256; c++)
            for (unsigned d = 0x70; d < 0xD0; d++)
                for (unsigned e = 0x70; e < 0xD0; e++) {
                    b[0] = (uint8_t)a, b[1] = (uint8_t)c, b[2] = (uint8_t)d, b[3] = (uint8_t)e;
                    bad += utf8_seq(b, 4) != reference(b, 4);
                }
    is_int((int)bad, 0, "4-byte leads with every second byte and continuation-edge bytes agree");
    const char *ok_text = "Dereham \xc3\xa9 \xe2\x82\xac \xf0\x9f\x97\x91 \xf4\x8f\xbf\xbf";
    ok(utf8_valid((const uint8_t *)ok_text, strlen(ok_text)), "mixed text is valid");
    ok(!utf8_valid((const uint8_t *)"ab\xc0\xaf", 4), "overlong '/' is not");
    ok(!utf8_valid((const uint8_t *)"\xed\xa0\x80", 3), "a surrogate is not");
    ok(!utf8_valid((const uint8_t *)"\xe2\x82", 2), "a sequence cut short is not");
    ok(utf8_valid((const uint8_t *)"", 0), "empty is valid");
    is_int((int)utf8_valid_prefix((const uint8_t *)"Caf\xc3\xa9 \xe2\x82", 8), 6, "prefix: a cut-short euro sign is dropped");
    is_int((int)utf8_valid_prefix((const uint8_t *)"Caf\xc3\xa9", 4), 3, "prefix: a cut inside \"\xc3\xa9\" backs off to it");
    is_int((int)utf8_valid_prefix((const uint8_t *)"ab\xc0\xaf" "cd", 6), 2, "prefix: stops at an ill-formed sequence");
    is_int((int)utf8_valid_prefix((const uint8_t *)ok_text, strlen(ok_text)), (int)strlen(ok_text),
           "prefix: valid text whole");
    done_testing();
}
