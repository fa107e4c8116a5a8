/* jsonload_bench.c - ns per parse of a realistic Alexa request envelope with
 * jansson's json_loadb and with binday's jsonload (src/jsonload.c), both with
 * JSON_REJECT_DUPLICATES as src/envelope.c calls them. Built by bench/run.sh.
 *
 * The envelope has the shape bench/signreq.c sends (the one the server
 * benchmark parses): ~200-character userIds, a ~1.3 KB JWT-like
 * apiAccessToken, compact encoding; about 2.3 KB. A file may be given instead.
 *
 * usage: jsonload_bench [--n N] [--only jansson|jsonload] [--file BODY]
 *   --only runs one parser (for valgrind --tool=callgrind instruction counts).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/json/jsonload.h"

static char *make_envelope(void)
{
    static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    char tok[1400], uid[256];
    unsigned x = 12345;
    size_t n = 0;
    /* header.payload.signature, like Amazon's JWTs */
    for (int part = 0; part < 3; part++) {
        size_t len = part == 0 ? 36 : part == 1 ? 900 : 342;
        for (size_t i = 0; i < len; i++) {
            x = x * 1103515245u + 12345u;
            tok[n++] = b64url[(x >> 16) & 63];
        }
        tok[n++] = part < 2 ? '.' : '\0';
    }
    snprintf(uid, sizeof(uid), "amzn1.ask.account.AF%0190d", 7);
    json_t *env = json_pack(
        "{s:s, s:{s:b, s:s, s:{s:s}, s:{}, s:{s:s}}, "
        "s:{s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:{}}}, s:s, s:s}, s:{s:s}}, "
        "s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:{}}}}",
        "version", "1.0", "session", "new", 1, "sessionId",
        "amzn1.echo-api.session.0a1b2c3d-4e5f-6071-8293-a4b5c6d7e8f9", "application", "applicationId",
        "amzn1.ask.skill.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "attributes", "user", "userId", uid, "context",
        "System", "application", "applicationId", "amzn1.ask.skill.0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "user",
        "userId", uid, "device", "deviceId", "amzn1.ask.device.AGZXV7EXAMPLE3TQ2NQ4SCVWYBIZ6DNUDOFMPXGAYAFR", "supportedInterfaces",
        "AudioPlayer", "apiEndpoint", "https://api.eu.amazonalexa.com", "apiAccessToken", tok, "AudioPlayer",
        "playerActivity", "IDLE", "request", "type", "IntentRequest", "requestId",
        "amzn1.echo-api.request.9f8e7d6c-5b4a-3928-1706-f5e4d3c2b1a0", "timestamp", "2026-11-28T23:40:00Z",
        "locale", "en-GB", "intent", "name", "NextCollectionIntent", "confirmationStatus", "NONE", "slots");
    char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
    json_decref(env);
    return body;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    char *b = calloc(1, 1 << 20);
    size_t n = b ? fread(b, 1, (1 << 20) - 1, f) : 0;
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static double run(int which, const char *body, size_t len, long n)
{
    double t0 = now_ns();
    for (long i = 0; i < n; i++) {
        json_error_t e;
        json_t *j = which == 0 ? json_loadb(body, len, JSON_REJECT_DUPLICATES, &e)
                               : jsonload((const uint8_t *)body, len, JSON_REJECT_DUPLICATES, &e);
        if (j == NULL) {
            fprintf(stderr, "jsonload_bench: %s rejected the body: %s\n", which ? "jsonload" : "json_loadb", e.text);
            exit(1);
        }
        json_decref(j);
    }
    return (now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = 200000;
    const char *only = NULL, *file = NULL;
    static const struct option opts[] = {{"n", required_argument, NULL, 'n'},
                                         {"only", required_argument, NULL, 'o'},
                                         {"file", required_argument, NULL, 'f'},
                                         {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'n')
            n = atol(optarg);
        else if (c == 'o')
            only = optarg;
        else if (c == 'f')
            file = optarg;
        else
            return 2;
    }
    if (n < 1 || (only && strcmp(only, "jansson") != 0 && strcmp(only, "jsonload") != 0)) {
        fprintf(stderr, "usage: jsonload_bench [--n N] [--only jansson|jsonload] [--file BODY]\n");
        return 2;
    }
    char *body = file ? read_file(file) : make_envelope();
    if (body == NULL) {
        fprintf(stderr, "jsonload_bench: no body\n");
        return 1;
    }
    size_t len = strlen(body);
    /* the two trees must be the same before their speed means anything */
    json_t *a = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
    json_t *b = jsonload((const uint8_t *)body, len, JSON_REJECT_DUPLICATES, NULL);
    if (a == NULL || b == NULL || !json_equal(a, b)) {
        fprintf(stderr, "jsonload_bench: the parsers disagree on the body\n");
        return 1;
    }
    json_decref(a);
    json_decref(b);
    printf("body %zu bytes, %ld parses each\n", len, n);
    double tj = -1, tl = -1;
    if (only == NULL || strcmp(only, "jansson") == 0)
        tj = run(0, body, len, n);
    if (only == NULL || strcmp(only, "jsonload") == 0)
        tl = run(1, body, len, n);
    if (tj >= 0)
        printf("json_loadb  %8.0f ns/parse\n", tj);
    if (tl >= 0)
        printf("jsonload    %8.0f ns/parse\n", tl);
    if (tj > 0 && tl > 0)
        printf("speed-up    %8.2fx\n", tj / tl);
    free(body);
    return 0;
}
