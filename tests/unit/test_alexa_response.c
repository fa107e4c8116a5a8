/* test_alexa_response.c - the response envelope, parsed back field by field,
 * and byte for byte against the jansson tree it used to be built as. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "binday/alexa/alexa_response.h"
#include "tap.h"

static json_t *build_parse(const alexa_response_t *r, size_t *len_out)
{
    char err[128] = "";
    size_t len = 0;
    char *s = alexa_response_build(r, &len, err, sizeof(err));
    if (s == NULL) {
        printf("# build failed: %s\n", err);
        return NULL;
    }
    if (len_out)
        *len_out = len;
    ok(strlen(s) == len, "length matches");
    json_error_t je;
    json_t *root = json_loads(s, 0, &je);
    free(s);
    return root;
}

static void test_full(void)
{
    json_t *attrs = json_pack("{s:s, s:i}", "pending", "email", "turn", 2);
    json_t *dirs = json_pack("[{s:s}]", "type", "Dialog.ElicitSlot");
    alexa_response_t r = {
        .ssml = "Your green bin goes out tomorrow.",
        .reprompt_ssml = "Anything else?",
        .card_title = "Breckland bins",
        .card_content = "Green bin:\ttomorrow\nBlack bin: next week\x01",
        .directives = dirs,
        .session_attributes = attrs,
        .should_end_session = ALEXA_END_FALSE,
    };
    json_t *root = build_parse(&r, NULL);
    ok(root != NULL, "full response parses");
    is_str(json_string_value(json_object_get(root, "version")), "1.0", "version");
    ok(json_equal(json_object_get(root, "sessionAttributes"), attrs), "sessionAttributes round-trip");
    json_t *resp = json_object_get(root, "response");
    json_t *os = json_object_get(resp, "outputSpeech");
    is_str(json_string_value(json_object_get(os, "type")), "SSML", "outputSpeech type");
    is_str(json_string_value(json_object_get(os, "ssml")), "<speak>Your green bin goes out tomorrow.</speak>",
           "ssml wrapped in speak");
    json_t *rp = json_object_get(json_object_get(resp, "reprompt"), "outputSpeech");
    is_str(json_string_value(json_object_get(rp, "ssml")), "<speak>Anything else?</speak>", "reprompt");
    json_t *card = json_object_get(resp, "card");
    is_str(json_string_value(json_object_get(card, "type")), "Simple", "card type");
    is_str(json_string_value(json_object_get(card, "title")), "Breckland bins", "card title");
    is_str(json_string_value(json_object_get(card, "content")), "Green bin:tomorrow\nBlack bin: next week",
           "card content: controls removed, newline kept");
    ok(json_equal(json_object_get(resp, "directives"), dirs), "directives");
    ok(json_is_false(json_object_get(resp, "shouldEndSession")), "shouldEndSession false");
    is_int(json_object_size(resp), 5, "exactly five response fields");
    is_int(json_object_size(root), 3, "exactly three top-level fields");
    json_decref(root);
    json_decref(attrs);
    json_decref(dirs);
}

static void test_minimal_and_omit(void)
{
    alexa_response_t r = {.ssml = "Goodbye.", .should_end_session = ALEXA_END_TRUE};
    json_t *root = build_parse(&r, NULL);
    json_t *resp = json_object_get(root, "response");
    ok(json_object_get(root, "sessionAttributes") == NULL, "no sessionAttributes when unset");
    ok(json_object_get(resp, "reprompt") == NULL && json_object_get(resp, "card") == NULL &&
           json_object_get(resp, "directives") == NULL,
       "unset fields omitted");
    ok(json_is_true(json_object_get(resp, "shouldEndSession")), "shouldEndSession true");
    json_decref(root);

    alexa_response_t r2 = {.ssml = "Hi.", .should_end_session = ALEXA_END_OMIT};
    root = build_parse(&r2, NULL);
    ok(json_object_get(json_object_get(root, "response"), "shouldEndSession") == NULL, "shouldEndSession omitted");
    json_decref(root);

    alexa_response_t r3 = {.card_content = "only content", .should_end_session = ALEXA_END_OMIT};
    root = build_parse(&r3, NULL);
    json_t *card = json_object_get(json_object_get(root, "response"), "card");
    ok(json_object_get(card, "title") == NULL, "card without title omits it");
    is_str(json_string_value(json_object_get(card, "content")), "only content", "content only card");
    ok(json_object_get(json_object_get(root, "response"), "outputSpeech") == NULL, "no speech when unset");
    json_decref(root);

    /* the title's 200-byte cap: whole characters only, controls and bad bytes dropped */
    char t1[300], t2[300];
    memset(t1, 'a', 199);
    strcpy(t1 + 199, "\xc3\xa9" "bbb");
    memset(t2, 'c', 250);
    t2[250] = '\0';
    const char *cases[][2] = {{t1, NULL}, {t2, NULL}, {"x\x01y\xffz\xc3\xa9!", "xyz\xc3\xa9!"}};
    size_t want_len[] = {199, 200, 0};
    for (size_t i = 0; i < 3; i++) {
        alexa_response_t rt = {.card_title = cases[i][0], .should_end_session = ALEXA_END_OMIT};
        root = build_parse(&rt, NULL);
        const char *got = json_string_value(
            json_object_get(json_object_get(json_object_get(root, "response"), "card"), "title"));
        if (cases[i][1])
            is_str(got, cases[i][1], "title cleaned: control, invalid byte dropped; UTF-8 kept");
        else
            ok(got && strlen(got) == want_len[i] && strspn(got, i == 0 ? "a" : "c") == want_len[i],
               "title cut at 200 bytes on a character boundary (%zu)", got ? strlen(got) : 0);
        json_decref(root);
    }
}

static void test_permissions_card(void)
{
    const char *perms[] = {"read::alexa:device:all:address"};
    alexa_response_t r = {.ssml = "I need your address.",
                          .card_title = "ignored",
                          .permissions = perms,
                          .n_permissions = 1,
                          .should_end_session = ALEXA_END_TRUE};
    json_t *root = build_parse(&r, NULL);
    json_t *card = json_object_get(json_object_get(root, "response"), "card");
    is_str(json_string_value(json_object_get(card, "type")), "AskForPermissionsConsent", "consent card type");
    json_t *p = json_object_get(card, "permissions");
    ok(json_is_array(p) && json_array_size(p) == 1, "one permission");
    is_str(json_string_value(json_array_get(p, 0)), "read::alexa:device:all:address", "permission string");
    ok(json_object_get(card, "title") == NULL, "consent card has no title");
    json_decref(root);
}

static void test_empty(void)
{
    size_t len = 0;
    char *s = alexa_response_empty(&len);
    is_str(s, "{\"version\":\"1.0\",\"response\":{}}", "empty event response");
    is_int(len, strlen(s), "empty length");
    free(s);
}

static void test_errors(void)
{
    char err[128] = "";
    json_t *arr = json_array();
    alexa_response_t r = {.ssml = "x", .session_attributes = arr, .should_end_session = ALEXA_END_TRUE};
    ok(alexa_response_build(&r, NULL, err, sizeof(err)) == NULL && strstr(err, "object"),
       "non-object session attributes refused");
    json_t *obj = json_object();
    alexa_response_t r2 = {.ssml = "x", .directives = obj, .should_end_session = ALEXA_END_TRUE};
    ok(alexa_response_build(&r2, NULL, err, sizeof(err)) == NULL && strstr(err, "array"), "non-array directives refused");
    alexa_response_t r3 = {.ssml = "bad \xff utf8", .should_end_session = ALEXA_END_TRUE};
    ok(alexa_response_build(&r3, NULL, err, sizeof(err)) == NULL && strstr(err, "UTF-8"), "invalid UTF-8 speech refused");
    alexa_response_t r4 = {.card_content = "caf\xc3\xa9 \xff ok", .should_end_session = ALEXA_END_TRUE};
    json_t *root = build_parse(&r4, NULL);
    is_str(json_string_value(json_object_get(json_object_get(json_object_get(root, "response"), "card"), "content")),
           "caf\xc3\xa9  ok", "card drops invalid bytes, keeps valid UTF-8");
    json_decref(root);
    /* session attributes too large to fit: refused rather than sent over 24 KB */
    json_t *big = json_object();
    char *blob = malloc(30000);
    memset(blob, 'a', 29999);
    blob[29999] = '\0';
    json_object_set_new(big, "blob", json_string(blob));
    free(blob);
    alexa_response_t r5 = {.ssml = "x", .session_attributes = big, .should_end_session = ALEXA_END_TRUE};
    ok(alexa_response_build(&r5, NULL, err, sizeof(err)) == NULL && strstr(err, "24 KB"), "oversize refused");
    json_decref(big);
    json_decref(arr);
    json_decref(obj);
}

static void test_cut(void)
{
    char s[256];
    strcpy(s, "One. Two three. Four five six.");
    is_int(alexa_response_cut_ssml(s, strlen(s), 100), strlen("One. Two three. Four five six."), "short is kept");
    is_int(alexa_response_cut_ssml(s, strlen(s), 20), 15, "cut at the last sentence end");
    is_str(s, "One. Two three.", "cut content");
    strcpy(s, "A sentence <say-as interpret-as=\"date\">2026. 12</say-as> more. end");
    size_t n = alexa_response_cut_ssml(s, strlen(s), 45);
    is_str(s, "A sentence", "never cut inside an element");
    is_int(n, 10, "word fallback length");
    strcpy(s, "First.<break time=\"1s\"/>Second. Third words here");
    alexa_response_cut_ssml(s, strlen(s), 40);
    is_str(s, "First.<break time=\"1s\"/>Second.", "self-closing tags are transparent");
    strcpy(s, "nospaceatallinthistext");
    is_int(alexa_response_cut_ssml(s, strlen(s), 5), 0, "no boundary: nothing");
    strcpy(s, "Version 2.5 is here. Next");
    alexa_response_cut_ssml(s, strlen(s), 24);
    is_str(s, "Version 2.5 is here.", "a dot inside a number is not a sentence end");
}

static void test_long_speech(void)
{
    /* 9,000 characters of sentences: speech is cut to fit 8,000 at a sentence end */
    size_t cap = 9000;
    char *ssml = malloc(cap + 1);
    size_t o = 0;
    while (o + 20 < cap)
        o += (size_t)sprintf(ssml + o, "Sentence %04zu here. ", o);
    ssml[o] = '\0';
    alexa_response_t r = {.ssml = ssml, .card_content = ssml, .should_end_session = ALEXA_END_TRUE};
    size_t len = 0;
    json_t *root = build_parse(&r, &len);
    const char *sp = json_string_value(json_object_get(json_object_get(json_object_get(root, "response"), "outputSpeech"), "ssml"));
    ok(sp && strlen(sp) <= ALEXA_RESPONSE_MAX_SPEECH, "speech within 8,000 characters (%zu)", sp ? strlen(sp) : 0);
    ok(sp && strlen(sp) > 7000, "but not needlessly short");
    ok(sp && strstr(sp, "here.</speak>") != NULL, "ends at a sentence");
    ok(len <= ALEXA_RESPONSE_MAX_BYTES, "whole response within 24 KB (%zu)", len);
    const char *card = json_string_value(json_object_get(json_object_get(json_object_get(root, "response"), "card"), "content"));
    ok(card && strlen(card) <= ALEXA_RESPONSE_MAX_CARD, "card bounded");
    json_decref(root);
    free(ssml);
}

/* The envelope as a jansson tree, written by json_dumps: how every response
 * was built before the builder wrote the text itself. Inputs here need no
 * cutting or cleaning (short speech, printable card text). */
static char *reference(const alexa_response_t *r)
{
    json_t *root = json_object(), *resp = json_object();
    json_object_set_new(root, "version", json_string("1.0"));
    if (r->session_attributes)
        json_object_set(root, "sessionAttributes", r->session_attributes);
    char buf[512];
    if (r->ssml) {
        snprintf(buf, sizeof(buf), "<speak>%s</speak>", r->ssml);
        json_object_set_new(resp, "outputSpeech", json_pack("{s:s, s:s}", "type", "SSML", "ssml", buf));
    }
    if (r->reprompt_ssml) {
        snprintf(buf, sizeof(buf), "<speak>%s</speak>", r->reprompt_ssml);
        json_object_set_new(resp, "reprompt",
                            json_pack("{s:{s:s, s:s}}", "outputSpeech", "type", "SSML", "ssml", buf));
    }
    if (r->n_permissions > 0) {
        json_t *perms = json_array();
        for (size_t i = 0; i < r->n_permissions; i++)
            json_array_append_new(perms, json_string(r->permissions[i]));
        json_object_set_new(resp, "card", json_pack("{s:s, s:o}", "type", "AskForPermissionsConsent", "permissions", perms));
    } else if (r->card_title || r->card_content) {
        json_t *card = json_pack("{s:s}", "type", "Simple");
        if (r->card_title)
            json_object_set_new(card, "title", json_string(r->card_title));
        if (r->card_content)
            json_object_set_new(card, "content", json_string(r->card_content));
        json_object_set_new(resp, "card", card);
    }
    if (r->directives)
        json_object_set(resp, "directives", r->directives);
    if (r->should_end_session != ALEXA_END_OMIT)
        json_object_set_new(resp, "shouldEndSession", json_boolean(r->should_end_session == ALEXA_END_TRUE));
    json_object_set_new(root, "response", resp);
    char *out = json_dumps(root, JSON_COMPACT);
    json_decref(root);
    return out;
}

static unsigned rnd_state = 99;
static unsigned rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (rnd_state >> 8) & 0xFFFFFF;
}

static void test_same_bytes(void)
{
    static const char *speech[] = {"Your green bin goes out tomorrow.", "Caf\xc3\xa9 &amp; \"quotes\" <break time=\"1s\"/> ok",
                                   "Tab\there, a \\ backslash, and \xe2\x82\xac" "10."};
    static const char *text[] = {"Breckland bins", "Green bin: tomorrow\nBlack bin: next week", "Caf\xc3\xa9 \"x\" / y"};
    static const char *perm[] = {"read::alexa:device:all:address", "alexa::profile:email:read"};
    json_t *attrs = json_pack("{s:s, s:i, s:{s:[s, s]}, s:b, s:n}", "pending", "email\xc3\xa9", "turn", 2, "nested", "a",
                              "x", "y", "flag", 1, "nothing");
    json_t *dirs = json_pack("[{s:s, s:s}]", "type", "Dialog.ElicitSlot", "slotToElicit", "Address");
    int same = 1, n = 0;
    for (int i = 0; i < 600 && same; i++) {
        unsigned m = rnd();
        alexa_response_t r = {
            .ssml = m & 1 ? speech[rnd() % 3] : NULL,
            .reprompt_ssml = m & 2 ? speech[rnd() % 3] : NULL,
            .card_title = m & 4 ? text[rnd() % 3] : NULL,
            .card_content = m & 8 ? text[rnd() % 3] : NULL,
            .permissions = perm,
            .n_permissions = m & 16 ? 1 + rnd() % 2 : 0,
            .directives = m & 32 ? dirs : NULL,
            .session_attributes = m & 64 ? attrs : NULL,
            .should_end_session = (alexa_end_t)((int)(rnd() % 3) - 1),
        };
        char err[128] = "";
        size_t len = 0;
        char *got = alexa_response_build(&r, &len, err, sizeof(err));
        char *want = reference(&r);
        n++;
        if (got == NULL || want == NULL || strcmp(got, want) != 0 || len != strlen(want)) {
            same = 0;
            printf("# case %d (mask %#x): got %s\n# want %s\n", i, m & 127, got ? got : err, want ? want : "(null)");
        }
        free(got);
        free(want);
    }
    ok(same, "the written envelope is byte for byte the jansson tree's json_dumps (%d mixes of every field)", n);
    json_decref(attrs);
    json_decref(dirs);
}

int main(void)
{
    test_same_bytes();
    test_full();
    test_minimal_and_omit();
    test_permissions_card();
    test_empty();
    test_errors();
    test_cut();
    test_long_speech();
    return done_testing();
}
