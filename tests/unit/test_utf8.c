/* test_utf8.c - the one UTF-8 check against a reference decoder (decode, then
 * reject overlong forms, surrogates and values past U+10FFFF), over every
 * 1-, 2- and 3-byte input and every 4-byte input with a 4-byte lead; and
 * utf8_clean against the three cleaners it replaced (speech, ICS, mail
 * headers), kept here as they were, over many generated texts. */
#include <stdio.h>
#include <string.h>

#include "binday/util/utf8.h"
#include "tap.h"

/* ---- the cleaners utf8_clean replaced, as they were --------------------- */

/* speech_escape's cleaning (without its SSML entities): TAB/LF/CR a space,
 * other C0 and DEL dropped; ill-formed bytes passed through unchecked. */
static size_t old_speech(char *dst, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '\t' || c == '\n' || c == '\r')
            dst[o++] = ' ';
        else if (!(c < 0x20 || c == 0x7f))
            dst[o++] = (char)c;
    }
    dst[o] = 0;
    return o;
}

/* ics_escape_text's cleaning (without its escapes): LF kept, other C0 and
 * DEL dropped, ill-formed UTF-8 dropped a byte at a time. */
static size_t old_ics(char *dst, const uint8_t *s, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        uint8_t c = s[i];
        if (c != '\n' && (c < 0x20 || c == 0x7F)) {
            i++;
            continue;
        }
        size_t q = utf8_seq(s + i, n - i);
        if (q == 0) {
            i++;
            continue;
        }
        memcpy(dst + o, s + i, q);
        o += q;
        i += q;
    }
    dst[o] = 0;
    return o;
}

/* mailmsg_header_clean: controls, C1 and ill-formed UTF-8 became spaces, one
 * per byte (a C1 control was two). */
static size_t old_mail(char *dst, size_t dst_size, const uint8_t *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < dst_size;) {
        unsigned c = s[i];
        if (c < 0x20 || c == 0x7F) {
            dst[o++] = ' ';
            i++;
            continue;
        }
        if (c < 0x80) {
            dst[o++] = (char)c;
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, len - i);
        if (k == 0 || (k == 2 && c == 0xC2 && s[i + 1] < 0xA0)) {
            dst[o++] = ' ';
            i++;
            continue;
        }
        if (o + k + 1 > dst_size)
            break;
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = 0;
    return o;
}

/* runs of spaces as one: the old mail cleaner wrote a space per byte of an
 * ill-formed sequence or C1 control, utf8_clean one per sequence */
static void squeeze(char *s)
{
    char *o = s;
    for (const char *p = s; *p; p++)
        if (!(*p == ' ' && o > s && o[-1] == ' '))
            *o++ = *p;
    *o = 0;
}

/* A generated text of pieces: ASCII, controls, well-formed characters, C1,
 * and ill-formed bytes and sequences (cut short, overlong, surrogate, past
 * U+10FFFF, stray continuation). */
static const char *const pieces[] = {
    "a", "B", " ", "&", ";", "\\", "\t", "\n", "\r", "\x01", "\x1f", "\x7f", "\xc3\xa9", "\xe2\x82\xac",
    "\xf0\x9f\x97\x91", "\xc2\xa0", "\xc2\x85", "\xc2\x9f", "\xff", "\x80", "\xbf", "\xc0\xaf", "\xe2\x82",
    "\xf0\x9f\x97", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80", "\xc3", "\xf5\x80"};
#define N_PIECES (sizeof(pieces) / sizeof(pieces[0]))

static uint32_t rng = 12345;
static uint32_t next_rand(void)
{
    rng = rng * 1103515245u + 12345u;
    return rng >> 8;
}

static size_t gen(uint8_t *buf, size_t cap, int valid_only)
{
    size_t n = 0, parts = 1 + next_rand() % 12;
    for (size_t p = 0; p < parts; p++) {
        const char *pc = pieces[next_rand() % N_PIECES];
        size_t l = pc[0] ? strlen(pc) : 1;
        if (valid_only && !utf8_valid((const uint8_t *)pc, l))
            continue;
        if (n + l > cap)
            break;
        memcpy(buf + n, pc, l);
        n += l;
    }
    return n;
}

static void test_clean(void)
{
    char d[64];
    utf8_clean_stats_t st;
    /* the flags one by one */
    const char in[] = "a\tb\nc\rd\x01" "e\x7f" "f\xc2\x85g\xff\xe2\x82h\xc3\xa9";
    size_t n = sizeof(in) - 1;
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, 0, &st);
    is_str(d, "abcdef\xc2\x85gh\xc3\xa9", "default: controls and ill-formed dropped, C1 kept");
    ok(st.used == n && st.invalid == 2 && st.controls == 5, "default: stats (used %zu, invalid %zu, controls %zu)",
       st.used, st.invalid, st.controls);
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_WS_SPACE, NULL);
    is_str(d, "a b c def\xc2\x85gh\xc3\xa9", "WS_SPACE: TAB, LF, CR a space");
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_KEEP_LF | UTF8_WS_SPACE, NULL);
    is_str(d, "a b\nc def\xc2\x85gh\xc3\xa9", "KEEP_LF wins over WS_SPACE");
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_CTRL_SPACE, NULL);
    is_str(d, "a b c d e f\xc2\x85gh\xc3\xa9", "CTRL_SPACE: every control a space");
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_C1_CONTROLS, &st);
    is_str(d, "abcdefgh\xc3\xa9", "C1_CONTROLS: NEL dropped as a control");
    is_int((int)st.controls, 6, "C1_CONTROLS: counted as a control");
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_BAD_SPACE, NULL);
    is_str(d, "abcdef\xc2\x85g  h\xc3\xa9", "BAD_SPACE: one space per ill-formed sequence");
    utf8_clean(d, sizeof(d), (const uint8_t *)in, n, UTF8_BAD_FFFD, NULL);
    is_str(d, "abcdef\xc2\x85g\xef\xbf\xbd\xef\xbf\xbdh\xc3\xa9", "BAD_FFFD: U+FFFD per maximal subpart");
    /* maximal subparts (Unicode 15 section 3.9, table 3-8) */
    const char t38[] = "\xc0\xaf\xe0\x80\xbf\xf0\x81\x82\x41";
    utf8_clean(d, sizeof(d), (const uint8_t *)t38, sizeof(t38) - 1, UTF8_BAD_FFFD, &st);
    is_int((int)st.invalid, 8, "table 3-8: C0 AF E0 80 BF F0 81 82 are eight replacements");
    const char t39[] = "\xf4\x91\x92\x93\xff\x41\x80\xbf\x42";
    utf8_clean(d, sizeof(d), (const uint8_t *)t39, sizeof(t39) - 1, UTF8_BAD_FFFD, &st);
    is_int((int)st.invalid, 7, "table 3-9: F4 91 92 93 FF . 80 BF . are seven");
    const char t311[] = "\xe1\x80\xe2\xf0\x91\x92\xf1\xbf\x41";
    utf8_clean(d, sizeof(d), (const uint8_t *)t311, sizeof(t311) - 1, UTF8_BAD_FFFD, &st);
    is_int((int)st.invalid, 4, "table 3-11: E1 80 | E2 | F0 91 92 | F1 BF are four");
    ok(utf8_valid((const uint8_t *)d, strlen(d)) && d[strlen(d) - 1] == 'A', "and the output is well-formed");

    /* cutting */
    char c5[5];
    is_int((int)utf8_clean(c5, sizeof(c5), (const uint8_t *)"caf\xc3\xa9s", 6, 0, &st), 3,
           "cut before a character that does not fit");
    ok(st.used == 3 && strcmp(c5, "caf") == 0, "cut: used says where (%zu)", st.used);
    is_int((int)utf8_clean(c5, sizeof(c5), (const uint8_t *)"ab\x01\x02\x03" "cd", 7, 0, &st), 4,
           "dropped controls take no room");
    ok(st.used == 7, "and are read to the end");
    char c4[4];
    is_int((int)utf8_clean(c4, sizeof(c4), (const uint8_t *)"a\xff", 2, UTF8_BAD_FFFD, &st), 1,
           "a replacement that does not fit is not written");
    is_int((int)utf8_clean(c4, 0, (const uint8_t *)"abc", 3, 0, &st), 0, "dst_size 0 writes nothing");
    is_int((int)st.used, 0, "dst_size 0 reads nothing");
    is_int((int)utf8_cut((const uint8_t *)"caf\xc3\xa9s", 6, 4), 3, "utf8_cut backs off to a lead byte");
    is_int((int)utf8_cut((const uint8_t *)"caf\xc3\xa9s", 6, 5), 5, "utf8_cut at a boundary stays");
    is_int((int)utf8_cut((const uint8_t *)"caf", 3, 9), 3, "utf8_cut: short text whole");
    is_int((int)utf8_cut((const uint8_t *)"\xe2\x82\xac", 3, 2), 0, "utf8_cut: nothing fits");

    /* against the old cleaners, on generated texts */
    long speech_bad = 0, ics_bad = 0, mail_bad = 0, mail_cut_bad = 0, invalid_out = 0, cut_rounds = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t buf[64];
        char a[256], b[256];
        size_t len = gen(buf, sizeof(buf), 0);
        /* speech: the same on well-formed text; ill-formed is now dropped */
        size_t vlen = gen(buf + 0, sizeof(buf), 1);
        old_speech(a, buf, vlen);
        utf8_clean(b, sizeof(b), buf, vlen, UTF8_WS_SPACE, NULL);
        speech_bad += strcmp(a, b) != 0;
        len = gen(buf, sizeof(buf), 0);
        utf8_clean(b, sizeof(b), buf, len, UTF8_WS_SPACE, NULL);
        invalid_out += !utf8_valid((const uint8_t *)b, strlen(b));
        /* ICS: the same on every text */
        old_ics(a, buf, len);
        utf8_clean(b, sizeof(b), buf, len, UTF8_KEEP_LF, NULL);
        ics_bad += strcmp(a, b) != 0;
        invalid_out += !utf8_valid((const uint8_t *)b, strlen(b));
        /* mail: the same but for runs of spaces; and the same cut */
        unsigned mf = UTF8_BAD_SPACE | UTF8_WS_SPACE | UTF8_CTRL_SPACE | UTF8_C1_CONTROLS;
        old_mail(a, sizeof(a), buf, len);
        utf8_clean(b, sizeof(b), buf, len, mf, NULL);
        invalid_out += !utf8_valid((const uint8_t *)b, strlen(b));
        squeeze(a);
        squeeze(b);
        mail_bad += strcmp(a, b) != 0;
        size_t vl = gen(buf, sizeof(buf), 1), cap = 1 + next_rand() % 24;
        if (memmem(buf, vl, "\xc2\x85", 2) || memmem(buf, vl, "\xc2\x9f", 2))
            continue; /* a C1 control took two bytes of room before, one now */
        cut_rounds++;
        old_mail(a, cap, buf, vl);
        utf8_clean(b, cap, buf, vl, mf, NULL);
        squeeze(a);
        squeeze(b);
        mail_cut_bad += strcmp(a, b) != 0;
    }
    is_int(speech_bad, 0, "speech: as before on well-formed text");
    is_int(ics_bad, 0, "ICS: as before on every text");
    is_int(mail_bad, 0, "mail: as before, but one space per ill-formed sequence or C1 control");
    is_int(mail_cut_bad, 0, "mail: the same cut into small buffers (%ld texts without C1)", cut_rounds);
    ok(cut_rounds > 5000, "and enough of them");
    is_int(invalid_out, 0, "every output well-formed");
}

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
    test_clean();
    return done_testing();
}
