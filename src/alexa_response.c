/* alexa_response.c - the Alexa response envelope (see alexa_response.h).
 * Owns the JSON shape of every answer and Amazon's size limits. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa_response.h"

#include "binday/jsonout.h"
#include "binday/utf8.h"

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
    char *out = malloc((n < max ? n : max) + 1);
    size_t o = 0;
    if (out == NULL)
        return NULL;
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

/* {k1: v1, k2: v2} in that order, taking v1 and v2 (k2 may be NULL for one
 * member); NULL when a value is NULL (invalid UTF-8) or memory ran out.
 * What json_pack("{s:o, s:o}") does, without parsing a format per call. */
static json_t *obj2(const char *k1, json_t *v1, const char *k2, json_t *v2)
{
    json_t *o = json_object();
    if (o == NULL || v1 == NULL || (k2 && v2 == NULL)) {
        json_decref(o);
        json_decref(v1);
        json_decref(v2);
        return NULL;
    }
    if (json_object_set_new(o, k1, v1) != 0) { /* set_new took v1 even so */
        json_decref(o);
        json_decref(v2);
        return NULL;
    }
    if (k2 && json_object_set_new(o, k2, v2) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *speech_obj(const char *inner, size_t max_inner)
{
    size_t n = strlen(inner);
    char *buf = malloc(sizeof(SPEAK_OPEN) + n + sizeof(SPEAK_CLOSE));
    if (buf == NULL)
        return NULL;
    memcpy(buf, SPEAK_OPEN, sizeof(SPEAK_OPEN) - 1);
    memcpy(buf + sizeof(SPEAK_OPEN) - 1, inner, n + 1);
    size_t l = alexa_response_cut_ssml(buf + sizeof(SPEAK_OPEN) - 1, n, max_inner);
    memcpy(buf + sizeof(SPEAK_OPEN) - 1 + l, SPEAK_CLOSE, sizeof(SPEAK_CLOSE));
    size_t total = sizeof(SPEAK_OPEN) - 1 + l + sizeof(SPEAK_CLOSE) - 1;
    json_t *o = obj2("type", json_string("SSML"), "ssml", json_stringn(buf, total));
    free(buf);
    return o;
}

static size_t max_inner_speech(void)
{
    return ALEXA_RESPONSE_MAX_SPEECH - (sizeof(SPEAK_OPEN) - 1) - (sizeof(SPEAK_CLOSE) - 1);
}

/* One attempt at the envelope with the given caps; NULL on invalid input/OOM. */
static json_t *build_once(const alexa_response_t *r, size_t speech_cap, size_t card_cap, char *err, size_t err_size)
{
    json_t *root = json_object(), *resp = json_object();
    if (root == NULL || resp == NULL)
        goto oom;
    json_object_set_new(root, "version", json_string("1.0"));
    if (r->session_attributes) {
        if (!json_is_object(r->session_attributes)) {
            set_err(err, err_size, "sessionAttributes must be an object");
            goto fail;
        }
        json_object_set(root, "sessionAttributes", r->session_attributes);
    }
    if (r->ssml) {
        json_t *os = speech_obj(r->ssml, speech_cap);
        if (os == NULL) {
            set_err(err, err_size, "outputSpeech is not valid UTF-8");
            goto fail;
        }
        json_object_set_new(resp, "outputSpeech", os);
    }
    if (r->reprompt_ssml) {
        json_t *os = speech_obj(r->reprompt_ssml, speech_cap);
        if (os == NULL) {
            set_err(err, err_size, "reprompt is not valid UTF-8");
            goto fail;
        }
        json_object_set_new(resp, "reprompt", obj2("outputSpeech", os, NULL, NULL));
    }
    if (r->n_permissions > 0) {
        json_t *perms = json_array();
        for (size_t i = 0; i < r->n_permissions; i++) {
            json_t *p = r->permissions[i] ? json_string(r->permissions[i]) : NULL;
            if (p == NULL) {
                json_decref(perms);
                set_err(err, err_size, "invalid permission string");
                goto fail;
            }
            json_array_append_new(perms, p);
        }
        json_object_set_new(resp, "card", obj2("type", json_string("AskForPermissionsConsent"), "permissions", perms));
    } else if (r->card_title || r->card_content) {
        json_t *card = obj2("type", json_string("Simple"), NULL, NULL);
        if (r->card_title) {
            char *t = clean_text(r->card_title, 200);
            if (t == NULL) {
                json_decref(card);
                goto oom;
            }
            json_object_set_new(card, "title", json_string(t));
            free(t);
        }
        if (r->card_content) {
            char *t = clean_text(r->card_content, card_cap);
            if (t == NULL) {
                json_decref(card);
                goto oom;
            }
            json_object_set_new(card, "content", json_string(t));
            free(t);
        }
        json_object_set_new(resp, "card", card);
    }
    if (r->directives) {
        if (!json_is_array(r->directives)) {
            set_err(err, err_size, "directives must be an array");
            goto fail;
        }
        json_object_set(resp, "directives", r->directives);
    }
    if (r->should_end_session != ALEXA_END_OMIT)
        json_object_set_new(resp, "shouldEndSession", json_boolean(r->should_end_session == ALEXA_END_TRUE));
    json_object_set_new(root, "response", resp);
    return root;
oom:
    set_err(err, err_size, "out of memory");
fail:
    json_decref(resp);
    json_decref(root);
    return NULL;
}

char *alexa_response_build(const alexa_response_t *r, size_t *len, char *err, size_t err_size)
{
    /* Shrink in steps until it fits: card text first (it repeats the speech),
     * then the speech itself, always at a sentence boundary. */
    static const struct {
        size_t speech_div, card;
    } steps[] = {{1, ALEXA_RESPONSE_MAX_CARD}, {1, 500}, {2, 200}, {4, 0}};
    for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
        json_t *root = build_once(r, max_inner_speech() / steps[s].speech_div, steps[s].card, err, err_size);
        if (root == NULL)
            return NULL;
        size_t n = 0;
        char *out = jsonout_dump(root, 0, &n);
        json_decref(root);
        if (out == NULL) {
            set_err(err, err_size, "out of memory");
            return NULL;
        }
        if (n <= ALEXA_RESPONSE_MAX_BYTES) {
            if (len)
                *len = n;
            return out;
        }
        free(out);
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
