/* utf8.h - well-formed UTF-8 (RFC 3629 section 4): no overlong forms, no
 * surrogates (U+D800..DFFF), nothing above U+10FFFF, no sequence cut short.
 * The same rules as jansson's, so text we accept jansson accepts too.
 *
 * Also the one "clean, validate and cut" step for text that leaves binday in
 * a format (SSML speech, ICS feeds, mail headers): utf8_clean. Each format's
 * own escaping (SSML entities, ICS backslashes and folding, ...) stays in its
 * module and runs on the cleaned text. */
#ifndef BINDAY_UTF8_H
#define BINDAY_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Length (1..4) of the well-formed sequence at s, of which n >= 1 bytes are
 * readable; 0 when ill-formed. An ASCII byte is a sequence of 1. */
size_t utf8_seq(const uint8_t *s, size_t n);

/* 1 when all n bytes are well-formed UTF-8, else 0. */
int utf8_valid(const uint8_t *s, size_t n);

/* Length of the longest well-formed prefix of the n bytes: where text cut
 * anywhere (inside a character too) is cut back to whole characters. */
size_t utf8_valid_prefix(const uint8_t *s, size_t n);

/* The longest prefix of the n bytes at s that is at most max bytes long and
 * ends between characters (never half a character): n when n <= max. For
 * well-formed text (it backs off over continuation bytes only). */
size_t utf8_cut(const uint8_t *s, size_t n, size_t max);

/* utf8_clean's flags. By default an ill-formed sequence (each maximal
 * subpart, Unicode 15 section 3.9) is dropped, and so is every control
 * character: C0 (U+0000..U+001F, NUL included) and DEL. */
#define UTF8_BAD_SPACE 0x01   /* an ill-formed sequence becomes a space */
#define UTF8_BAD_FFFD 0x02    /* ... becomes U+FFFD REPLACEMENT CHARACTER */
#define UTF8_KEEP_LF 0x04     /* LF is kept as it is (the format escapes it) */
#define UTF8_WS_SPACE 0x08    /* TAB, LF (unless kept) and CR become a space */
#define UTF8_CTRL_SPACE 0x10  /* other controls become a space, not dropped */
#define UTF8_C1_CONTROLS 0x20 /* U+0080..U+009F are controls too */

typedef struct utf8_clean_stats {
    size_t used;     /* bytes of src read: less than len when the output was cut */
    size_t invalid;  /* ill-formed sequences replaced or dropped */
    size_t controls; /* control characters replaced or dropped */
} utf8_clean_stats_t;

/* Copy the len bytes at src into dst (dst_size bytes, NUL included) as
 * well-formed UTF-8 without the control characters the flags do not keep,
 * cut between characters when it does not fit. Returns the length written
 * (at most dst_size - 1; 0 and nothing written when dst_size is 0). The
 * output is never longer than the input unless UTF8_BAD_FFFD is given (each
 * replacement is 3 bytes). st (may be NULL) says what was done, for the
 * caller's log. src and dst must not overlap. */
size_t utf8_clean(char *dst, size_t dst_size, const uint8_t *src, size_t len, unsigned flags,
                  utf8_clean_stats_t *st);

#endif
