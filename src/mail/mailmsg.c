/* mailmsg.c - owns the text of the emailed link: headers (sanitized), the
 * MIME structure, and the plain-text and HTML bodies. */
#include "binday/mail/mailmsg.h"

#include "binday/util/strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/b64.h"
#include "binday/util/utf8.h"

int mailmsg_addr_ok(const uint8_t *s, size_t len)
{
    if (len < 3 || len > MAILMSG_MAX_ADDR)
        return 0;
    const uint8_t *at = NULL;
    for (size_t i = 0; i < len; i++)
        if (s[i] == '@') {
            if (at)
                return 0;
            at = s + i;
        }
    if (at == NULL)
        return 0;
    size_t ll = (size_t)(at - s), dl = len - ll - 1;
    if (ll == 0 || ll > 64 || dl == 0)
        return 0;
    static const char local_extra[] = ".!#$%&'*+/=?^_`{|}~-";
    for (size_t i = 0; i < ll; i++) {
        uint8_t c = s[i];
        int okc = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  (c != 0 && strchr(local_extra, c) != NULL);
        if (!okc)
            return 0;
        if (c == '.' && (i == 0 || i == ll - 1 || s[i - 1] == '.'))
            return 0;
    }
    const uint8_t *d = at + 1;
    size_t label = 0, labels = 0;
    for (size_t i = 0; i <= dl; i++) {
        if (i == dl || d[i] == '.') {
            if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
                return 0;
            labels++;
            label = 0;
            continue;
        }
        uint8_t c = d[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'))
            return 0;
        label++;
    }
    return labels >= 2;
}

size_t mailmsg_header_clean(char *dst, size_t dst_size, const char *src, size_t len)
{
    /* The one clean step (utf8.h), every removal a space so words stay
     * apart: CR and LF (no header injection), other controls, C1 controls
     * (U+0080..U+009F are controls like the C0 ones), and what is not
     * well-formed UTF-8 (overlongs, surrogates, past U+10FFFF). */
    return utf8_clean(dst, dst_size, (const uint8_t *)src, len,
                      UTF8_BAD_SPACE | UTF8_WS_SPACE | UTF8_CTRL_SPACE | UTF8_C1_CONTROLS, NULL);
}

static void sb_html(strbuf_t *b, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': strbuf_puts(b, "&amp;"); break;
        case '<': strbuf_puts(b, "&lt;"); break;
        case '>': strbuf_puts(b, "&gt;"); break;
        case '"': strbuf_puts(b, "&quot;"); break;
        case '\'': strbuf_puts(b, "&#39;"); break;
        default: strbuf_put(b, s, 1);
        }
    }
}

/* A header line "Name: value" with the value cleaned. */
static void header(strbuf_t *b, const char *name, const char *value)
{
    char v[1024];
    mailmsg_header_clean(v, sizeof(v), value, strlen(value));
    strbuf_printf(b, "%s: %s\r\n", name, v);
}

/* body as base64 in 76-column lines */
static void put_b64(strbuf_t *b, const char *body, size_t len)
{
    for (size_t i = 0; i < len; i += 57) {
        size_t n = len - i < 57 ? len - i : 57;
        char line[80];
        if (b64_encode((const uint8_t *)body + i, n, line, sizeof(line)) < 0) {
            b->failed = STRBUF_CAP; /* b64_encode refused the line */
            return;
        }
        strbuf_puts(b, line);
        strbuf_puts(b, "\r\n");
    }
}

static void text_body(strbuf_t *t, const mailmsg_t *m)
{
    /* lines end CRLF even inside base64: the decoded text is a text/plain part */
    strbuf_puts(t, "Hello,\r\n\r\nYou asked Breckland bins on Alexa to send you the link to your bin collection "
              "calendar.\r\n\r\n");
    strbuf_printf(t, "Address: %s\r\n\r\n", m->address);
    if (m->n_cols) {
        strbuf_puts(t, "Your next collections:\r\n");
        for (size_t i = 0; i < m->n_cols; i++) {
            strbuf_printf(t, "  %s: %s", m->cols[i].when, m->cols[i].what);
            if (m->cols[i].note[0])
                strbuf_printf(t, " (%s)", m->cols[i].note);
            strbuf_puts(t, "\r\n");
        }
        strbuf_puts(t, "Put your bins out by 6:30 in the morning on collection day.\r\n\r\n");
    }
    strbuf_puts(t, "Add your collections to your calendar - it keeps itself up to date when collections move:\r\n");
    strbuf_printf(t, "  Apple Calendar and others: %s\r\n", m->links->webcal);
    strbuf_printf(t, "  Google Calendar: %s\r\n", m->links->google);
    strbuf_printf(t, "  Outlook: %s\r\n", m->links->outlook);
    strbuf_printf(t, "  Calendar file (iCalendar): %s\r\n\r\n", m->links->https);
    if (m->n_services) {
        strbuf_puts(t, "More about each service on the council's website:\r\n");
        for (size_t i = 0; i < m->n_services; i++)
            strbuf_printf(t, "  %s: %s\r\n", m->services[i].name, m->services[i].url);
        strbuf_puts(t, "\r\n");
    }
    strbuf_puts(t, "The calendar link is personal to your address: anyone with it can see your collection days, "
              "nothing else.\r\n\r\nBreckland Council\r\n");
}

static void html_link(strbuf_t *h, const char *label, const char *url)
{
    strbuf_puts(h, "<li><a href=\"");
    sb_html(h, url);
    strbuf_puts(h, "\">");
    sb_html(h, label);
    strbuf_puts(h, "</a></li>\r\n");
}

static void html_body(strbuf_t *h, const mailmsg_t *m)
{
    strbuf_puts(h, "<!DOCTYPE html>\r\n<html lang=\"en-GB\"><head><meta charset=\"utf-8\"><title>Your bin collection "
              "calendar</title></head>\r\n<body>\r\n<p>Hello,</p>\r\n<p>You asked Breckland bins on Alexa to send you "
              "the link to your bin collection calendar.</p>\r\n<p><strong>Address:</strong> ");
    sb_html(h, m->address);
    strbuf_puts(h, "</p>\r\n");
    if (m->n_cols) {
        strbuf_puts(h, "<h2>Your next collections</h2>\r\n<ul>\r\n");
        for (size_t i = 0; i < m->n_cols; i++) {
            strbuf_puts(h, "<li>");
            sb_html(h, m->cols[i].when);
            strbuf_puts(h, ": ");
            sb_html(h, m->cols[i].what);
            if (m->cols[i].note[0]) {
                strbuf_puts(h, " (");
                sb_html(h, m->cols[i].note);
                strbuf_puts(h, ")");
            }
            strbuf_puts(h, "</li>\r\n");
        }
        strbuf_puts(h, "</ul>\r\n<p>Put your bins out by 6:30 in the morning on collection day.</p>\r\n");
    }
    strbuf_puts(h, "<h2>Add your collections to your calendar</h2>\r\n<p>It keeps itself up to date when collections "
              "move.</p>\r\n<ul>\r\n");
    html_link(h, "Apple Calendar and others (webcal)", m->links->webcal);
    html_link(h, "Google Calendar", m->links->google);
    html_link(h, "Outlook", m->links->outlook);
    html_link(h, "Calendar file (iCalendar)", m->links->https);
    strbuf_puts(h, "</ul>\r\n");
    if (m->n_services) {
        strbuf_puts(h, "<h2>More about each service</h2>\r\n<ul>\r\n");
        for (size_t i = 0; i < m->n_services; i++)
            html_link(h, m->services[i].name, m->services[i].url);
        strbuf_puts(h, "</ul>\r\n");
    }
    strbuf_puts(h, "<p>The calendar link is personal to your address: anyone with it can see your collection days, "
              "nothing else.</p>\r\n<p>Breckland Council</p>\r\n</body></html>\r\n");
}

char *mailmsg_build(const mailmsg_t *m, size_t *len, char *err, size_t err_size)
{
    if (!mailmsg_addr_ok((const uint8_t *)m->to, strlen(m->to))) {
        snprintf(err, err_size, "recipient is not a plain email address");
        return NULL;
    }
    if (!mailmsg_addr_ok((const uint8_t *)m->from, strlen(m->from))) {
        snprintf(err, err_size, "mail_from is not a plain email address");
        return NULL;
    }
    strbuf_t msg, txt, html;
    strbuf_init(&msg, MAILMSG_MAX_BYTES);
    strbuf_init(&txt, MAILMSG_MAX_BYTES);
    strbuf_init(&html, MAILMSG_MAX_BYTES);
    text_body(&txt, m);
    html_body(&html, m);
    char date[64], boundary[96];
    time_t t = (time_t)m->date;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    /* the boundary only needs to be absent from the (base64) parts */
    snprintf(boundary, sizeof(boundary), "=_binday_%lld_alt", m->date);
    char from[320];
    snprintf(from, sizeof(from), "Breckland Council bins <%s>", m->from);
    header(&msg, "From", from);
    header(&msg, "To", m->to);
    header(&msg, "Subject", "Your bin collection calendar");
    header(&msg, "Date", date);
    header(&msg, "Message-ID", m->message_id);
    header(&msg, "MIME-Version", "1.0");
    header(&msg, "Auto-Submitted", "auto-generated");
    strbuf_printf(&msg, "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n", boundary);
    strbuf_puts(&msg, "This is a message in MIME format.\r\n");
    strbuf_printf(&msg, "--%s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
              boundary);
    if (!txt.failed)
        put_b64(&msg, txt.p, txt.len);
    strbuf_printf(&msg, "--%s\r\nContent-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: base64\r\n\r\n",
              boundary);
    if (!html.failed)
        put_b64(&msg, html.p, html.len);
    strbuf_printf(&msg, "--%s--\r\n", boundary);
    int failed = msg.failed || txt.failed || html.failed;
    free(txt.p);
    free(html.p);
    if (failed) {
        free(msg.p);
        snprintf(err, err_size, "message too large or out of memory");
        return NULL;
    }
    *len = msg.len;
    return msg.p;
}
