/* cmd_ask.c - `binday ask "when is the black bin"`: a newcomer's way to talk
 * to a running binday as Alexa would. Matches the text against the skill's
 * interaction model (utterance.h), builds a realistic request envelope, signs
 * it like Alexa (RSA PKCS#1 v1.5 SHA-256 over the exact body bytes, base64 in
 * Signature-256, with SignatureCertChainUrl), POSTs it, and prints what Alexa
 * would say. Multi-turn conversations keep the session in --session FILE. */
#include <curl/curl.h>
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "binday/util/date.h"
#include "cli.h"
#include "binday/skill/speech.h"
#include "binday/dev/utterance.h"

#define ASK_MAX_RESPONSE (256 * 1024)

typedef struct {
    const char *url, *key, *cert_url, *ca, *skill_id, *user_id, *device_id, *api_token, *api_endpoint;
    const char *session, *model, *today;
    int json, print_request;
} ask_opts_t;

static void usage(FILE *out)
{
    fprintf(out,
            "usage: binday ask [OPTIONS] \"what you would say to Alexa\"\n\n"
            "Talks to a running binday as Alexa would: matches the words against the\n"
            "interaction model, builds and signs the request, sends it, prints the answer.\n\n"
            "  --url URL            skill endpoint (default https://localhost:8443/alexa)\n"
            "  --key FILE           PEM private key that signs requests (required unless\n"
            "                       --print-request; `make run` creates a development one)\n"
            "  --cert-url URL       SignatureCertChainUrl to send\n"
            "                       (default https://s3.amazonaws.com/echo.api/binday-dev.pem)\n"
            "  --insecure-ca FILE   trust FILE's CA for the endpoint's TLS certificate (the\n"
            "                       development server's self-signed CA)\n"
            "  --skill-id ID        applicationId (default $BINDAY_SKILL_ID or\n"
            "                       amzn1.ask.skill.binday-dev)\n"
            "  --user-id ID         userId (default amzn1.ask.account.BINDAYDEMO)\n"
            "  --device-id ID       deviceId (default amzn1.ask.device.BINDAYDEMO)\n"
            "  --api-token TOKEN    apiAccessToken (default tok-granted: see fake_amazon.py)\n"
            "  --api-endpoint URL   apiEndpoint (default https://api.eu.amazonalexa.com)\n"
            "  --session FILE       keep the session (id and attributes) here between turns\n"
            "  --model FILE         interaction model (default\n"
            "                       deploy/skill-package/interactionModels/custom/en-GB.json)\n"
            "  --today YYYY-MM-DD   date that 'tomorrow' / 'on Tuesday' count from\n"
            "                       (default: today in Europe/London)\n"
            "  --json               print the raw response JSON instead\n"
            "  --print-request      print the request envelope and send nothing\n\n"
            "examples:\n"
            "  binday ask --key dev/signing.key --insecure-ca dev/ca.pem \"open breckland bins\"\n"
            "  binday ask --session /tmp/s.json ... \"which bin goes out this week\"\n");
}

static void random_hex(char *dst, size_t nbytes)
{
    unsigned char b[32];
    if (nbytes > sizeof(b))
        nbytes = sizeof(b);
    if (RAND_bytes(b, (int)nbytes) != 1)
        memset(b, 0x5a, nbytes);
    for (size_t i = 0; i < nbytes; i++)
        sprintf(dst + 2 * i, "%02x", b[i]);
}

static int today_days(const char *s, int *out)
{
    int y, m, d;
    if (s) {
        if (strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &y, &m, &d) != 3 || !date_valid_ymd(y, m, d))
            return -1;
        *out = date_from_ymd(y, m, d);
        return 0;
    }
    /* the skill's dates are Europe/London dates (contract.md) */
    setenv("TZ", "Europe/London", 1);
    tzset();
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    *out = date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
    return 0;
}

static json_t *slot_json(const utterance_slot_t *s, const char *skill_id)
{
    json_t *j = json_pack("{s:s, s:s, s:s}", "name", s->name, "value", s->value, "confirmationStatus", "NONE");
    if (j == NULL)
        return NULL;
    if (strcmp(s->type, "AMAZON.DATE") != 0 && strncmp(s->type, "AMAZON.", 7) != 0) {
        /* custom type: entity resolution as Alexa reports it */
        char authority[256];
        snprintf(authority, sizeof(authority), "amzn1.er-authority.echo-sdk.%s.%s", skill_id, s->type);
        json_t *res;
        if (s->id[0])
            res = json_pack("{s:s, s:{s:s}, s:[{s:{s:s, s:s}}]}", "authority", authority, "status", "code",
                            "ER_SUCCESS_MATCH", "values", "value", "name", s->resolved, "id", s->id);
        else
            res = json_pack("{s:s, s:{s:s}}", "authority", authority, "status", "code", "ER_SUCCESS_NO_MATCH");
        json_object_set_new(j, "resolutions", json_pack("{s:[o]}", "resolutionsPerAuthority", res));
    }
    return j;
}

/* The whole envelope; session_in (borrowed) holds sessionId/attributes of a
 * continuing session or NULL. */
static json_t *build_envelope(const ask_opts_t *o, const utterance_result_t *u, json_t *session_in, char *sid)
{
    char rid[80] = "amzn1.echo-api.request.", ts[32];
    random_hex(rid + strlen(rid), 16);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);

    const char *session_id = json_string_value(json_object_get(session_in, "sessionId"));
    json_t *attrs = json_object_get(session_in, "attributes");
    int is_new = session_id == NULL;
    if (is_new) {
        strcpy(sid, "amzn1.echo-api.session.");
        random_hex(sid + strlen(sid), 16);
    } else {
        snprintf(sid, 80, "%s", session_id);
    }
    session_id = sid;
    json_t *req;
    if (u->kind == UTTERANCE_LAUNCH) {
        req = json_pack("{s:s, s:s, s:s, s:s, s:b}", "type", "LaunchRequest", "requestId", rid, "timestamp", ts,
                        "locale", "en-GB", "shouldLinkResultBeReturned", 0);
    } else if (u->kind == UTTERANCE_SESSION_END) {
        req = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "SessionEndedRequest", "requestId", rid, "timestamp",
                        ts, "locale", "en-GB", "reason", "USER_INITIATED");
    } else {
        json_t *slots = json_object();
        for (size_t i = 0; i < u->n_slots; i++)
            json_object_set_new(slots, u->slots[i].name, slot_json(&u->slots[i], o->skill_id));
        req = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:o}}", "type", "IntentRequest", "requestId", rid,
                        "timestamp", ts, "locale", "en-GB", "intent", "name", u->intent, "confirmationStatus",
                        "NONE", "slots", slots);
    }
    json_t *session = json_pack("{s:b, s:s, s:{s:s}, s:{s:s}}", "new", is_new, "sessionId", session_id,
                                "application", "applicationId", o->skill_id, "user", "userId", o->user_id);
    json_object_set_new(session, "attributes", json_is_object(attrs) ? json_incref(attrs) : json_object());
    json_t *env = json_pack(
        "{s:s, s:o, s:{s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:{}}}, s:s, s:s}}, s:o}", "version", "1.0", "session",
        session, "context", "System", "application", "applicationId", o->skill_id, "user", "userId", o->user_id,
        "device", "deviceId", o->device_id, "supportedInterfaces", "AudioPlayer", "apiEndpoint", o->api_endpoint,
        "apiAccessToken", o->api_token, "request", req);
    return env;
}

static char *base64_signature(const char *keyfile, const char *body, size_t len, char *err, size_t err_size)
{
    FILE *f = fopen(keyfile, "r");
    if (f == NULL) {
        snprintf(err, err_size, "cannot open --key %s", keyfile);
        return NULL;
    }
    EVP_PKEY *pkey = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (pkey == NULL) {
        snprintf(err, err_size, "--key %s is not a PEM private key", keyfile);
        return NULL;
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char *sig = NULL;
    size_t siglen = 0;
    char *out = NULL;
    if (ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
        EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)body, len) == 1 &&
        (sig = malloc(siglen)) != NULL &&
        EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)body, len) == 1) {
        out = malloc(4 * ((siglen + 2) / 3) + 1);
        if (out)
            EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
    } else {
        snprintf(err, err_size, "signing with --key %s failed", keyfile);
    }
    free(sig);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return out;
}

typedef struct {
    char *buf;
    size_t len;
    int overflow;
} sink_t;

static size_t on_body(char *p, size_t sz, size_t n, void *ud)
{
    sink_t *s = ud;
    size_t add = sz * n;
    if (s->len + add > ASK_MAX_RESPONSE) {
        s->overflow = 1;
        return 0;
    }
    char *nb = realloc(s->buf, s->len + add + 1);
    if (nb == NULL)
        return 0;
    s->buf = nb;
    memcpy(s->buf + s->len, p, add);
    s->len += add;
    s->buf[s->len] = '\0';
    return add;
}

static int post(const ask_opts_t *o, const char *body, const char *sig, long *status, sink_t *resp, char *err,
                size_t err_size)
{
    CURL *e = curl_easy_init();
    if (e == NULL) {
        snprintf(err, err_size, "curl init failed");
        return -1;
    }
    char h1[2048], h2[1024];
    snprintf(h1, sizeof(h1), "Signature-256: %s", sig);
    snprintf(h2, sizeof(h2), "SignatureCertChainUrl: %s", o->cert_url);
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json; charset=utf-8");
    h = curl_slist_append(h, "Accept: application/json");
    h = curl_slist_append(h, h1);
    h = curl_slist_append(h, h2);
    h = curl_slist_append(h, "Expect:");
    curl_easy_setopt(e, CURLOPT_URL, o->url);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "Apache-HttpClient/4.5.x (Java/1.8.0) binday-ask");
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, resp);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 10000L); /* Alexa gives up after about 8 s */
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
    if (o->ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, o->ca);
    CURLcode rc = curl_easy_perform(e);
    if (rc == CURLE_OK)
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status);
    else
        snprintf(err, err_size, "POST %s: %s", o->url, curl_easy_strerror(rc));
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? 0 : -1;
}

static void print_speech(const char *label, json_t *os)
{
    const char *ssml = json_string_value(json_object_get(os, "ssml"));
    const char *text = json_string_value(json_object_get(os, "text"));
    char buf[9000];
    if (ssml)
        speech_strip_ssml(buf, sizeof(buf), ssml, strlen(ssml));
    else if (text)
        snprintf(buf, sizeof(buf), "%s", text);
    else
        return;
    printf("%s%s\n", label, buf);
}

static void print_answer(json_t *resp)
{
    json_t *r = json_object_get(resp, "response");
    json_t *os = json_object_get(r, "outputSpeech");
    if (os)
        print_speech("Alexa: ", os);
    else
        printf("Alexa: (says nothing)\n");
    json_t *card = json_object_get(r, "card");
    const char *ctype = json_string_value(json_object_get(card, "type"));
    if (ctype && strcmp(ctype, "AskForPermissionsConsent") == 0) {
        printf("Card in the Alexa app: asks for permission:");
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(card, "permissions"), i, p) {
            printf(" %s", json_string_value(p));
        }
        printf("\n");
    } else if (ctype) {
        const char *title = json_string_value(json_object_get(card, "title"));
        const char *content = json_string_value(json_object_get(card, "content"));
        printf("Card in the Alexa app (%s): %s\n", ctype, title ? title : "");
        if (content)
            printf("  %s\n", content);
    }
    json_t *rp = json_object_get(json_object_get(r, "reprompt"), "outputSpeech");
    if (rp)
        print_speech("If you say nothing: ", rp);
    size_t i;
    json_t *d;
    json_array_foreach(json_object_get(r, "directives"), i, d) {
        printf("Directive: %s\n", json_string_value(json_object_get(d, "type")));
    }
}

int cmd_ask(int argc, char **argv)
{
    ask_opts_t o = {.url = "https://localhost:8443/alexa",
                    .cert_url = "https://s3.amazonaws.com/echo.api/binday-dev.pem",
                    .skill_id = getenv("BINDAY_SKILL_ID") ? getenv("BINDAY_SKILL_ID") : "amzn1.ask.skill.binday-dev",
                    .user_id = "amzn1.ask.account.BINDAYDEMO",
                    .device_id = "amzn1.ask.device.BINDAYDEMO",
                    .api_token = "tok-granted",
                    .api_endpoint = "https://api.eu.amazonalexa.com",
                    .model = "deploy/skill-package/interactionModels/custom/en-GB.json"};
    static const struct option lo[] = {
        {"url", 1, 0, 'u'},         {"key", 1, 0, 'k'},          {"cert-url", 1, 0, 'c'},
        {"insecure-ca", 1, 0, 'a'}, {"skill-id", 1, 0, 's'},     {"user-id", 1, 0, 'U'},
        {"device-id", 1, 0, 'D'},   {"api-token", 1, 0, 't'},    {"api-endpoint", 1, 0, 'e'},
        {"session", 1, 0, 'S'},     {"model", 1, 0, 'm'},        {"today", 1, 0, 'T'},
        {"json", 0, 0, 'j'},        {"print-request", 0, 0, 'p'}, {"help", 0, 0, 'h'},
        {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (c) {
        case 'u': o.url = optarg; break;
        case 'k': o.key = optarg; break;
        case 'c': o.cert_url = optarg; break;
        case 'a': o.ca = optarg; break;
        case 's': o.skill_id = optarg; break;
        case 'U': o.user_id = optarg; break;
        case 'D': o.device_id = optarg; break;
        case 't': o.api_token = optarg; break;
        case 'e': o.api_endpoint = optarg; break;
        case 'S': o.session = optarg; break;
        case 'm': o.model = optarg; break;
        case 'T': o.today = optarg; break;
        case 'j': o.json = 1; break;
        case 'p': o.print_request = 1; break;
        case 'h': usage(stdout); return CLI_EXIT_OK;
        default: usage(stderr); return CLI_EXIT_USAGE;
        }
    }
    if (optind != argc - 1) {
        fprintf(stderr, "binday ask: give exactly one utterance (quote it)\n");
        usage(stderr);
        return CLI_EXIT_USAGE;
    }
    if (o.key == NULL && !o.print_request) {
        fprintf(stderr, "binday ask: --key FILE is required to sign requests\n");
        return CLI_EXIT_USAGE;
    }
    int today;
    if (today_days(o.today, &today) != 0) {
        fprintf(stderr, "binday ask: --today wants YYYY-MM-DD\n");
        return CLI_EXIT_USAGE;
    }
    char err[512] = "";
    utterance_model_t *m = utterance_model_load(o.model, err, sizeof(err));
    if (m == NULL) {
        fprintf(stderr, "binday ask: %s\n", err);
        return CLI_EXIT_RUNTIME;
    }
    utterance_result_t u;
    utterance_match(m, argv[optind], today, &u);
    utterance_model_free(m);

    json_t *session_in = NULL;
    if (o.session && access(o.session, F_OK) == 0) {
        json_error_t je;
        session_in = json_load_file(o.session, 0, &je);
        if (!json_is_object(session_in)) {
            fprintf(stderr, "binday ask: --session %s is not a session file (delete it to start afresh)\n",
                    o.session);
            json_decref(session_in);
            return CLI_EXIT_INPUT;
        }
    }
    char sid[80];
    json_t *env = build_envelope(&o, &u, session_in, sid);
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    if (body == NULL) {
        fprintf(stderr, "binday ask: cannot build the request (invalid UTF-8 in an option?)\n");
        json_decref(session_in);
        return CLI_EXIT_INPUT;
    }
    fprintf(stderr, "(heard: %s", u.intent);
    for (size_t i = 0; i < u.n_slots; i++)
        fprintf(stderr, " %s=%s%s%s%s", u.slots[i].name, u.slots[i].value, u.slots[i].id[0] ? " [" : "",
                u.slots[i].id, u.slots[i].id[0] ? "]" : "");
    fprintf(stderr, ")\n");
    if (o.print_request) {
        printf("%s\n", body);
        free(body);
        json_decref(session_in);
        return CLI_EXIT_OK;
    }
    char *sig = base64_signature(o.key, body, strlen(body), err, sizeof(err));
    if (sig == NULL) {
        fprintf(stderr, "binday ask: %s\n", err);
        free(body);
        json_decref(session_in);
        return CLI_EXIT_USAGE;
    }
    long status = 0;
    sink_t resp = {0};
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int prc = post(&o, body, sig, &status, &resp, err, sizeof(err));
    curl_global_cleanup();
    free(sig);
    free(body);
    int rc = CLI_EXIT_OK;
    json_t *j = NULL;
    if (prc != 0) {
        fprintf(stderr, "binday ask: %s\n", err);
        rc = CLI_EXIT_RUNTIME;
    } else if (resp.overflow) {
        fprintf(stderr, "binday ask: response over %d bytes\n", ASK_MAX_RESPONSE);
        rc = CLI_EXIT_RUNTIME;
    } else if (status != 200) {
        char shown[300];
        snprintf(shown, sizeof(shown), "%.*s", (int)(resp.len < 280 ? resp.len : 280), resp.buf ? resp.buf : "");
        fprintf(stderr, "binday ask: HTTP %ld from %s: %s\n", status, o.url, shown);
        rc = CLI_EXIT_RUNTIME;
    } else {
        json_error_t je;
        j = json_loadb(resp.buf ? resp.buf : "", resp.len, 0, &je);
        if (!json_is_object(j)) {
            fprintf(stderr, "binday ask: the response is not a JSON object: %s\n", je.text);
            rc = CLI_EXIT_RUNTIME;
        }
    }
    if (rc == CLI_EXIT_OK) {
        if (resp.len > 24 * 1024)
            fprintf(stderr, "warning: response is %zu bytes; Alexa rejects responses over 24 KB\n", resp.len);
        if (o.json)
            printf("%s\n", resp.buf);
        else
            print_answer(j);
        json_t *end = json_object_get(json_object_get(j, "response"), "shouldEndSession");
        int continues = json_is_false(end) && u.kind != UTTERANCE_SESSION_END;
        if (!o.json)
            printf(continues ? "(the session stays open%s)\n" : "(the session has ended)\n",
                   o.session ? ": answer with another binday ask --session" : "");
        if (o.session) {
            if (continues) {
                json_t *attrs = json_object_get(j, "sessionAttributes");
                json_t *save = json_pack("{s:s, s:o}", "sessionId", sid, "attributes",
                                         json_is_object(attrs) ? json_incref(attrs) : json_object());
                if (save == NULL || json_dump_file(save, o.session, JSON_COMPACT) != 0) {
                    fprintf(stderr, "binday ask: cannot write --session %s\n", o.session);
                    rc = CLI_EXIT_RUNTIME;
                }
                json_decref(save);
            } else {
                unlink(o.session);
            }
        }
    }
    json_decref(j);
    json_decref(session_in);
    free(resp.buf);
    return rc;
}
