/* mailmsg.h - the emailed-link message (RFC 5322 + MIME), built as one
 * byte string ready for SMTP DATA.
 *
 * Pure. Header values are never taken raw: addresses must pass
 * mailmsg_addr_ok (a strict addr-spec with no spaces, quotes, angle brackets
 * or control bytes), and every other header value goes through
 * mailmsg_header_clean, so a CR/LF in any input cannot start a new header.
 * Bodies are base64 (multipart/alternative: text/plain then text/html);
 * the HTML escapes everything it is given.
 */
#ifndef BINDAY_MAILMSG_H
#define BINDAY_MAILMSG_H

#include <stddef.h>
#include <stdint.h>

#include "binday/feed/calfeed.h"

#define MAILMSG_MAX_ADDR 254
#define MAILMSG_MAX_COLS 8
#define MAILMSG_MAX_SERVICES 8
#define MAILMSG_MAX_BYTES (256 * 1024)

/* A strict addr-spec: local@domain, printable ASCII only, local part of
 * [A-Za-z0-9.!#$%&'*+/=?^_`{|}~-] (no leading/trailing/double dot), a domain
 * of dot-separated labels of [A-Za-z0-9-], total <= 254 bytes. */
int mailmsg_addr_ok(const uint8_t *s, size_t len);

/* Copy a header value with CR, LF and other control characters (C0, DEL and
 * C1) and ill-formed UTF-8 (overlongs and surrogates included) replaced by
 * spaces, one per character or ill-formed sequence (utf8_clean), truncated
 * to dst_size - 1 at a character boundary. Returns the length written. */
size_t mailmsg_header_clean(char *dst, size_t dst_size, const char *src, size_t len);

typedef struct mailmsg_collection {
    char when[64];  /* "Tuesday 1 December 2026" */
    char what[192]; /* "Green bin - household rubbish" */
    char note[256]; /* "" or "moved from Monday 30 November (bank holiday)" */
} mailmsg_collection_t;

typedef struct mailmsg_service {
    char name[96]; /* "Recycling" */
    char url[512]; /* the council's page (https only; others are not listed) */
} mailmsg_service_t;

typedef struct mailmsg {
    const char *from, *to;     /* addr-specs (checked) */
    const char *message_id;    /* "<...@...>" (cleaned) */
    long long date;            /* unix seconds, for the Date header */
    const char *address;       /* the matched property, as text */
    mailmsg_collection_t cols[MAILMSG_MAX_COLS];
    size_t n_cols;
    mailmsg_service_t services[MAILMSG_MAX_SERVICES];
    size_t n_services;
    const calfeed_links_t *links;
} mailmsg_t;

/* Build the message. Returns a malloc'd NUL-terminated string (caller frees)
 * with CRLF line ends and its length, or NULL with a reason in err (an
 * address refused, or OOM). */
char *mailmsg_build(const mailmsg_t *m, size_t *len, char *err, size_t err_size);

#endif
