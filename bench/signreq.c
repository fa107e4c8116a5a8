/* signreq.c - writes a batch of distinct, signed Alexa requests for the load
 * generators of `make bench` (bench/alexa.lua reads the file).
 *
 * Why a C program: a batch is generated just before every run (the requests
 * must be inside binday's 150 s timestamp window for the whole run), and
 * signing a few thousand bodies with the `openssl` CLI would take longer than
 * the run itself. One line per request: "<base64 Signature-256>\t<body>\n";
 * bodies are compact JSON (jansson escapes tabs and newlines, so the format is
 * unambiguous).
 *
 * Request k: its own requestId and sessionId, userId ...BENCH<k>, deviceId
 * ...bench-<k % devices> (bench/fast_amazon.js answers the Device Address API
 * for device i with address i of its list), apiAccessToken "<token>-<k>-xxx"
 * padded to a realistic length (Amazon's tokens are JWTs of ~1 KB).
 *
 * usage: signreq --key PEM --skill-id ID --count N --out FILE
 *                [--devices D] [--token tok-granted] [--intent NextCollectionIntent]
 *                [--api-endpoint https://api.eu.amazonalexa.com] [--age-seconds S]
 */
#include <getopt.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void usage(FILE *out)
{
    fprintf(out, "usage: signreq --key PEM --skill-id ID --count N --out FILE [--devices D]\n"
                 "               [--token PREFIX] [--intent NAME] [--api-endpoint URL] [--age-seconds S]\n");
}

/* Base64 of an RSA-SHA256 signature of body with pkey, into out (NUL-terminated). */
static int sign_b64(EVP_PKEY *pkey, const char *body, size_t len, char *out, size_t out_size)
{
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestSign(ctx, NULL, &siglen, (const unsigned char *)body, len) == 1 && siglen <= sizeof(sig) &&
             EVP_DigestSign(ctx, sig, &siglen, (const unsigned char *)body, len) == 1 &&
             4 * ((siglen + 2) / 3) + 1 <= out_size;
    if (ok)
        EVP_EncodeBlock((unsigned char *)out, sig, (int)siglen);
    EVP_MD_CTX_free(ctx);
    return ok ? 0 : -1;
}

static json_t *envelope(long k, long devices, const char *skill, const char *token, const char *intent,
                        const char *endpoint, const char *ts)
{
    char rid[96], sid[96], uid[300], did[96], tok[1200];
    snprintf(rid, sizeof(rid), "amzn1.echo-api.request.bench-%08lx-%ld", (unsigned long)time(NULL), k);
    snprintf(sid, sizeof(sid), "amzn1.echo-api.session.bench-%ld", k);
    /* real userIds are ~200 characters */
    snprintf(uid, sizeof(uid), "amzn1.ask.account.BENCH%08ld%0180d", k, 0);
    snprintf(did, sizeof(did), "amzn1.ask.device.bench-%ld", k % devices);
    int n = snprintf(tok, sizeof(tok), "%s-%ld-", token, k);
    if (n > 0 && (size_t)n < 1000) {
        memset(tok + n, 'x', 1000 - (size_t)n);
        tok[1000] = '\0';
    }
    return json_pack("{s:s, s:{s:b, s:s, s:{s:s}, s:{}, s:{s:s}}, "
                     "s:{s:{s:{s:s}, s:{s:s}, s:{s:s, s:{s:{}}}, s:s, s:s}}, "
                     "s:{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:{}}}}",
                     "version", "1.0",
                     "session", "new", 1, "sessionId", sid, "application", "applicationId", skill, "attributes",
                     "user", "userId", uid,
                     "context", "System", "application", "applicationId", skill, "user", "userId", uid, "device",
                     "deviceId", did, "supportedInterfaces", "AudioPlayer", "apiEndpoint", endpoint,
                     "apiAccessToken", tok,
                     "request", "type", "IntentRequest", "requestId", rid, "timestamp", ts, "locale", "en-GB",
                     "intent", "name", intent, "confirmationStatus", "NONE", "slots");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {{"key", required_argument, NULL, 'k'},
                                         {"skill-id", required_argument, NULL, 's'},
                                         {"count", required_argument, NULL, 'n'},
                                         {"out", required_argument, NULL, 'o'},
                                         {"devices", required_argument, NULL, 'd'},
                                         {"token", required_argument, NULL, 't'},
                                         {"intent", required_argument, NULL, 'i'},
                                         {"api-endpoint", required_argument, NULL, 'e'},
                                         {"age-seconds", required_argument, NULL, 'a'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *key = NULL, *skill = NULL, *out = NULL, *token = "tok-granted", *intent = "NextCollectionIntent";
    const char *endpoint = "https://api.eu.amazonalexa.com";
    long count = 0, devices = 1000, age = 0;
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k': key = optarg; break;
        case 's': skill = optarg; break;
        case 'n': count = atol(optarg); break;
        case 'o': out = optarg; break;
        case 'd': devices = atol(optarg); break;
        case 't': token = optarg; break;
        case 'i': intent = optarg; break;
        case 'e': endpoint = optarg; break;
        case 'a': age = atol(optarg); break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!key || !skill || !out || count < 1 || count > 1000000 || devices < 1 || strlen(token) > 200) {
        usage(stderr);
        return 2;
    }
    FILE *kf = fopen(key, "r");
    EVP_PKEY *pkey = kf ? PEM_read_PrivateKey(kf, NULL, NULL, NULL) : NULL;
    if (kf)
        fclose(kf);
    if (pkey == NULL) {
        fprintf(stderr, "signreq: cannot read private key %s\n", key);
        return 1;
    }
    char ts[32];
    time_t now = time(NULL) - age;
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
    FILE *f = fopen(out, "w");
    if (f == NULL) {
        perror(out);
        return 1;
    }
    int rc = 0;
    for (long k = 0; k < count && rc == 0; k++) {
        json_t *env = envelope(k, devices, skill, token, intent, endpoint, ts);
        char *body = env ? json_dumps(env, JSON_COMPACT) : NULL;
        char sig[1400];
        if (body == NULL || sign_b64(pkey, body, strlen(body), sig, sizeof(sig)) != 0) {
            fprintf(stderr, "signreq: building or signing request %ld failed\n", k);
            rc = 1;
        } else if (fprintf(f, "%s\t%s\n", sig, body) < 0) {
            rc = 1;
        }
        free(body);
        json_decref(env);
    }
    if (fclose(f) != 0)
        rc = 1;
    EVP_PKEY_free(pkey);
    return rc;
}
