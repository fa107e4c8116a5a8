/* ics.h - a small RFC 5545 (iCalendar) writer for collection feeds.
 *
 * Pure: no storage, no clock. The caller hands in events (all-day, one per
 * service per date) and gets a complete VCALENDAR back: CRLF line ends,
 * content lines folded at 75 octets (never inside a UTF-8 sequence), TEXT
 * values escaped (backslash, comma, semicolon, newline), other control
 * characters dropped. Also parses the feed's `alarm=HH:MM` option.
 */
#ifndef BINDAY_ICS_H
#define BINDAY_ICS_H

#include <stddef.h>
#include <stdint.h>

#include "binday/util/strbuf.h"

/* Hard cap on a feed body; a property has at most a few hundred events. */
#define ICS_MAX_BYTES (4u * 1024u * 1024u)

/* One content line "NAME:VALUE" (name may carry parameters, e.g.
 * "DTSTART;VALUE=DATE"); `value` is written as is (already valid for the
 * property's type), folded, CRLF-terminated. */
void ics_line(strbuf_t *b, const char *name, const char *value, size_t len);
/* One TEXT property: the value is escaped per RFC 5545 §3.3.11. */
void ics_text(strbuf_t *b, const char *name, const char *text, size_t len);
/* Escape TEXT into dst (NUL-terminated, truncated at a UTF-8 boundary).
 * Ill-formed UTF-8 and control characters but LF (escaped as \n) are dropped
 * first (utf8_clean). Returns the length written. */
size_t ics_escape_text(char *dst, size_t dst_size, const char *src, size_t len);

typedef struct ics_event {
    const char *uid;         /* stable; at most 200 bytes of [A-Za-z0-9@._-] */
    int date;                /* days since epoch: the (current) collection day */
    int cancelled;           /* STATUS:CANCELLED instead of CONFIRMED */
    unsigned sequence;       /* SEQUENCE */
    const char *summary;     /* plain UTF-8 text (escaped here) */
    const char *description; /* plain UTF-8 text, may contain '\n' (escaped here) */
} ics_event_t;

typedef struct ics_feed {
    const char *name;      /* X-WR-CALNAME, plain text */
    long long dtstamp;     /* unix seconds for every DTSTAMP (e.g. last import) */
    int alarm_minutes;     /* -1: none; else minutes after midnight of the evening before */
} ics_feed_t;

/* The whole calendar. Returns a malloc'd body (caller frees) and its length,
 * or NULL on OOM / when it would exceed ICS_MAX_BYTES. */
char *ics_feed_build(const ics_feed_t *feed, const ics_event_t *ev, size_t n, size_t *len);

/* Parse an alarm time "HH:MM" (exactly 5 bytes, 24-hour clock) for the
 * evening before: accepted from 12:00 to 23:59. Returns 0 and minutes after
 * midnight in *out, or -1. */
int ics_alarm_parse(const uint8_t *s, size_t len, int *out);

#endif
