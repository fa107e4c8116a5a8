/* speech.h - what the skill says, in British English, and SSML safety.
 *
 * Pure functions, no allocation: every output goes into a caller-provided
 * buffer and is always NUL-terminated. Phrases are plain text (not escaped);
 * speech_buf_text() escapes them when they go into SSML.
 *
 * Dates are day numbers (days since 1970-01-01, see civil.h) of local dates.
 */
#ifndef BINDAY_SPEECH_H
#define BINDAY_SPEECH_H

#include <stdbool.h>
#include <stddef.h>

/* Hard cap on the SSML built by a speech_buf_t (Amazon allows 8,000 characters
 * of outputSpeech including <speak></speak>; keep a margin). */
#define SPEECH_MAX 7500

/* A bounded SSML builder. Appends that would exceed SPEECH_MAX are dropped
 * whole (never half a tag or half a word) and set `truncated`. */
typedef struct speech_buf {
    char s[SPEECH_MAX + 1];
    size_t len;
    bool truncated;
} speech_buf_t;

void speech_buf_init(speech_buf_t *b);
/* Append trusted SSML markup verbatim (e.g. "<break time=\"300ms\"/>"). */
bool speech_buf_markup(speech_buf_t *b, const char *ssml);
/* Append plain text: control characters dropped, & < > " ' escaped.
 * len SIZE_MAX = text is NUL-terminated.
 * Returns false (and appends nothing) when it does not fit. */
bool speech_buf_text(speech_buf_t *b, const char *text, size_t len);
/* printf-style plain text (formatted, then escaped as speech_buf_text). */
bool speech_buf_textf(speech_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Escape src for SSML into dst: & < > " ' become entities, tab/CR/LF become a
 * space, other control characters (0x00-0x1f, 0x7f) and ill-formed UTF-8 are
 * dropped (utf8_clean). Returns the length written, or (size_t)-1 when dst is
 * too small (dst then holds ""). */
size_t speech_escape(char *dst, size_t dst_size, const char *src, size_t len);
/* Remove SSML tags and decode the five entities: what a listener hears, as text
 * (for cards and the `binday ask` printout). Returns the length written; output
 * is truncated to fit, between characters. */
size_t speech_strip_ssml(char *dst, size_t dst_size, const char *ssml, size_t len);

/* "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st" ... */
const char *speech_ordinal(int n, char *dst, size_t dst_size);
/* "Monday".."Sunday" for 0..6 (ISO, Monday = 0); "January".."December" for 1..12. */
const char *speech_weekday_name(int wd);
const char *speech_month_name(int m);

typedef enum {
    /* "today", "tomorrow, Tuesday the 2nd of December", "on Thursday the 4th of
     * December", "on Tuesday the 16th of December", "on Friday the 1st of
     * January 2027" (the year only when it differs from today's). Yesterday
     * and earlier: "yesterday, Monday the ..." / "on Monday the ...". */
    SPEECH_DATE_FULL = 0,
    /* Short forms for lists: "today", "tomorrow", "on Thursday" (2-6 days
     * ahead), "on Tuesday the 8th of December" from 7 days ahead (never "next
     * Tuesday": residents misread which week it meant). */
    SPEECH_DATE_SHORT = 1
} speech_date_style_t;

/* Natural phrase for `date` as seen on `today`. Returns dst. */
const char *speech_date_phrase(char *dst, size_t dst_size, int today, int date, speech_date_style_t style);
/* "Tuesday the 2nd of December" (no relative words; the year when != today's). */
const char *speech_date_plain(char *dst, size_t dst_size, int today, int date);

/* Join items: "A", "A and B", "A, B and C". Returns false when truncated. */
bool speech_join(char *dst, size_t dst_size, const char *const *items, size_t n);
/* The same for options in a question: "A, B or C". */
bool speech_join_or(char *dst, size_t dst_size, const char *const *items, size_t n);

/* "the green bin for household rubbish", "the black bin for recycling",
 * "the food caddy". colour may be NULL/""; container NULL = "bin"; purpose
 * (the spoken name of the service, e.g. "household rubbish") may be NULL/"".
 * When the container already names the purpose ("food caddy") pass purpose NULL.
 * Returns dst. */
const char *speech_bin_phrase(char *dst, size_t dst_size, const char *colour, const char *container,
                              const char *purpose);

#endif
