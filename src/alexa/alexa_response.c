/* alexa_response.c - the Alexa response envelope (see alexa_response.h).
 * Owns the JSON shape of every answer and Amazon's size limits. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa/alexa_response.h"

#include "binday/json/jsonout.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

#define SPEAK_OPEN "<speak>"
#define SPEAK_CLOSE "</speak>"

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", msg);
}

/* Plain text for a card: valid UTF-8 only, control characters except '\n'
 * removed, at most max bytes (never splitting a character). malloc'd. */
static char *clean_text(const char *s, size_t max)
{
    size_t n = strlen(s);
    char *out = xmalloc((n < max ? n : max) + 1);
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        const unsigned char *p = (const unsigned char *)s + i;
        /* a run of printable ASCII (most of every answer) is copied at once */
        size_t r = 0;
        while (i + r < n && p[r] >= 0x20 && p[r] < 0x7f)
            r++;
        if (r > 0) {
            if (o + r > max)
                r = max - o;
            memcpy(out + o, p, r);
            o += r;
            i += r;
            if (o == max)
                break;
            continue;
        }
        size_t l = utf8_seq(p, n - i);
        if (l == 0) {
            i++;
            continue;
        }
        if (l == 1 && ((p[0] < 0x20 && p[0] != '\n') || p[0] == 0x7f)) {
            i++;
            continue;
        }
        if (o + l > max)
            break;
        memcpy(out + o, p, l);
        o += l;
        i += l;
    }
    out[o] = '\0';
    return out;
}

size_t alexa_response_cut_ssml(char *ssml, size_t len, size_t max)
{
    size_t best_sentence = 0, best_word = 0;
    int depth = 0;
    if (len <= max)
        return len;
    for (size_t i = 0; i < len && i <= max; i++) {
        char c = ssml[i];
        if (c == '<') {
            const char *end = memchr(ssml + i, '>', len - i);
            if (end == NULL)
                break;
            size_t close = (size_t)(end - ssml);
            bool closing = ssml[i + 1] == '/';
            bool selfclosing = close > i && ssml[close - 1] == '/';
            if (closing)
                depth--;
            else if (!selfclosing)
                depth++;
            /* a position right after a tag that returns to depth 0 ends a word */
            if (depth == 0 && close + 1 <= max)
                best_word = close + 1;
            i = close;
            continue;
        }
        if (depth != 0)
            continue;
        if ((c == '.' || c == '!' || c == '?') && i + 1 <= max &&
            (i + 1 == len || ssml[i + 1] == ' ' || ssml[i + 1] == '<'))
            best_sentence = i + 1;
        if (c == ' ')
            best_word = i;
    }
    size_t cut = best_sentence ? best_sentence : best_word;
    ssml[cut] = '\0';
    return cut;
}

/* {"type":"SSML","ssml":"<speak>inner, cut to max_inner</speak>"}; -1 when
 * the speech is not valid UTF-8. */
static int put_speech(strbuf_t *b, const char *inner, size_t max_inner)
{
    size_t n = strlen(inner);
    char stack[1024];
    size_t need = sizeof(SPEAK_OPEN) + n + sizeof(SPEAK_CLOSE);
    char *buf = need <= sizeof(stack) ? stack : xmalloc(need);
    memcpy(buf, SPEAK_OPEN, sizeof(SPEAK_OPEN) - 1);
    memcpy(buf + sizeof(SPEAK_OPEN) - 1, inner, n + 1);
    size_t l = alexa_response_cut_ssml(buf + sizeof(SPEAK_OPEN) - 1, n, max_inner);
    memcpy(buf + sizeof(SPEAK_OPEN) - 1 + l, SPEAK_CLOSE, sizeof(SPEAK_CLOSE));
    strbuf_put(b, "{\"type\":\"SSML\",\"ssml\":", 22);
    int rc = jsonout_put_string(b, buf, sizeof(SPEAK_OPEN) - 1 + l + sizeof(SPEAK_CLOSE) - 1);
    strbuf_put(b, "}", 1);
    if (buf != stack)
        free(buf);
    return rc;
}

static size_t max_inner_speech(void)
{
    return ALEXA_RESPONSE_MAX_SPEECH - (sizeof(SPEAK_OPEN) - 1) - (sizeof(SPEAK_CLOSE) - 1);
}

/* ,"key": between the members of an object (none before the first) */
static void member(strbuf_t *b, int *first, const char *key)
{
    if (!*first)
        strbuf_put(b, ",", 1);
    *first = 0;
    strbuf_put(b, "\"", 1);
    strbuf_puts(b, key);
    strbuf_put(b, "\":", 2);
}

/* A card's text field, cleaned and cut (clean_text: always valid UTF-8). */
static void put_card_text(strbuf_t *b, int *first, const char *key, const char *text, size_t cap)
{
    char *t = clean_text(text, cap);
    member(b, first, key);
    jsonout_put_string(b, t, strlen(t));
    free(t);
}

/* One attempt at the envelope with the given caps, written into b (members in
 * the order the envelope always had: what json_dumps wrote of the tree this
 * once built); -1 with err set on invalid input. */
static int build_once(strbuf_t *b, const alexa_response_t *r, size_t speech_cap, size_t card_cap, char *err,
                      size_t err_size)
{
    strbuf_put(b, "{\"version\":\"1.0\"", 16);
    if (r->session_attributes) {
        if (!json_is_object(r->session_attributes)) {
            set_err(err, err_size, "sessionAttributes must be an object");
            return -1;
        }
        strbuf_put(b, ",\"sessionAttributes\":", 21);
        if (jsonout_put(b, r->session_attributes, 0) != 0) {
            set_err(err, err_size, "sessionAttributes hold invalid UTF-8 or nest too deep");
            return -1;
        }
    }
    strbuf_put(b, ",\"response\":{", 13);
    int first = 1;
    if (r->ssml) {
        member(b, &first, "outputSpeech");
        if (put_speech(b, r->ssml, speech_cap) != 0) {
            set_err(err, err_size, "outputSpeech is not valid UTF-8");
            return -1;
        }
    }
    if (r->reprompt_ssml) {
        member(b, &first, "reprompt");
        strbuf_put(b, "{\"outputSpeech\":", 16);
        if (put_speech(b, r->reprompt_ssml, speech_cap) != 0) {
            set_err(err, err_size, "reprompt is not valid UTF-8");
            return -1;
        }
        strbuf_put(b, "}", 1);
    }
    if (r->n_permissions > 0) {
        member(b, &first, "card");
        strbuf_puts(b, "{\"type\":\"AskForPermissionsConsent\",\"permissions\":[");
        for (size_t i = 0; i < r->n_permissions; i++) {
            const char *p = r->permissions[i];
            if (i)
                strbuf_put(b, ",", 1);
            if (p == NULL || jsonout_put_string(b, p, strlen(p)) != 0) {
                set_err(err, err_size, "invalid permission string");
                return -1;
            }
        }
        strbuf_put(b, "]}", 2);
    } else if (r->card_title || r->card_content) {
        member(b, &first, "card");
        strbuf_put(b, "{\"type\":\"Simple\"", 16);
        int card_first = 0;
        if (r->card_title)
            put_card_text(b, &card_first, "title", r->card_title, 200);
        if (r->card_content)
            put_card_text(b, &card_first, "content", r->card_content, card_cap);
        strbuf_put(b, "}", 1);
    }
    if (r->directives) {
        if (!json_is_array(r->directives)) {
            set_err(err, err_size, "directives must be an array");
            return -1;
        }
        member(b, &first, "directives");
        if (jsonout_put(b, r->directives, 0) != 0) {
            set_err(err, err_size, "directives hold invalid UTF-8 or nest too deep");
            return -1;
        }
    }
    if (r->should_end_session != ALEXA_END_OMIT) {
        member(b, &first, "shouldEndSession");
        strbuf_puts(b, r->should_end_session == ALEXA_END_TRUE ? "true" : "false");
    }
    strbuf_put(b, "}}", 2);
    return 0;
}

char *alexa_response_build(const alexa_response_t *r, size_t *len, char *err, size_t err_size)
{
    /* Shrink in steps until it fits: card text first (it repeats the speech),
     * then the speech itself, always at a sentence boundary. */
    static const struct {
        size_t speech_div, card;
    } steps[] = {{1, ALEXA_RESPONSE_MAX_CARD}, {1, 500}, {2, 200}, {4, 0}};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        strbuf_t b;
        strbuf_init(&b, ALEXA_RESPONSE_MAX_BYTES + 1); /* the text and its NUL */
        if (build_once(&b, r, max_inner_speech() / steps[s].speech_div, steps[s].card, err, err_size) != 0) {
            strbuf_free(&b);
            return NULL;
        }
        if (b.failed == STRBUF_OOM)
            xalloc_die("alexa_response", b.cap);
        if (!b.failed) {
            if (len)
                *len = b.len;
            return b.p;
        }
        strbuf_free(&b); /* over the limit: try smaller */
    }
    set_err(err, err_size, "response exceeds 24 KB (session attributes or directives too large)");
    return NULL;
}

char *alexa_response_empty(size_t *len)
{
    static const char body[] = "{\"version\":\"1.0\",\"response\":{}}";
    char *out = strdup(body);
    if (out && len)
        *len = sizeof(body) - 1;
    return out;
}
