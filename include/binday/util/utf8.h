/* utf8.h - well-formed UTF-8 (RFC 3629 section 4): no overlong forms, no
 * surrogates (U+D800..DFFF), nothing above U+10FFFF, no sequence cut short.
 * The same rules as jansson's, so text we accept jansson accepts too. */
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

#endif
