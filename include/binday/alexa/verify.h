/* verify.h - proves a POST /alexa request was signed by Amazon.
 *
 * Implements every rule of spec/alexa.md section 1, cheapest check first:
 *   headers present -> cert URL normalized + valid -> Signature-256 strict
 *   base64 + plausible length -> body parsed once (envelope.h): timestamp
 *   window and applicationId -> signing chain (per-thread cache, or one
 *   shared async download of exactly the normalized URL) -> dates re-checked
 *   -> RSA-SHA256 over the raw body bytes.
 * Nothing is downloaded before the URL, signature encoding, timestamp and
 * skill id have passed. The legacy SHA-1 `Signature` header is not an input.
 *
 * Threading: verify_global_init once in the main thread; then one
 * verify_thread_t per event-loop thread, used only from that thread (its
 * certificate cache is per thread, so there are no locks). See
 * docs/verification.md.
 *
 * Logging: every failure writes one line `event=alexa_verify_failed
 * reason=VERIFY_E_...` (plus a download's outbound error / HTTP status);
 * never the body, the signature or the skill id.
 */
#ifndef BINDAY_VERIFY_H
#define BINDAY_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/http/outbound.h"
#include "binday/alexa/verify_status.h"

/* Certificate cache size per thread, failure backoff, download limits. */
#define VERIFY_CACHE_ENTRIES 16
#define VERIFY_FAIL_BACKOFF_MS 30000
#define VERIFY_MAX_WAITERS 256        /* calls queued on one download */
#define VERIFY_DOWNLOAD_TIMEOUT_MS 3000
#define VERIFY_CONNECT_TIMEOUT_MS 1000

typedef struct verify_conf {
    const char *alexa_ca_file;       /* PEM trust anchors; NULL = system store */
    const char *const *skill_ids;    /* accepted applicationIds (copied); at least one */
    size_t n_skill_ids;
} verify_conf_t;

/* Main thread, once, before any verify_thread_new. Returns 0, or -1 with a
 * message in err (unreadable CA file, no skill id). */
int verify_global_init(const verify_conf_t *conf, char *err, size_t errlen);
/* After every verify_thread_t is freed. */
void verify_global_cleanup(void);

typedef struct verify_thread verify_thread_t;

/* One per loop thread; downloads go through `ob` (same thread). NULL on OOM.
 * The outbound_t must outlive the verify_thread_t. */
verify_thread_t *verify_thread_new(outbound_t *ob);
/* Cancels downloads in flight and drops pending calls WITHOUT running their
 * callbacks. Call it on the loop thread, never from inside a verify_cb. */
void verify_thread_free(verify_thread_t *vt);

/* Inputs are the raw header values and raw body as received; verify_start
 * copies what it keeps, so they need to stay valid only during the call. */
typedef struct verify_input {
    const char *cert_url;     /* SignatureCertChainUrl (NULL/0 = absent) */
    size_t cert_url_len;
    const char *signature;    /* Signature-256 (NULL/0 = absent) */
    size_t signature_len;
    const uint8_t *body;
    size_t body_len;
    /* Non-zero when SignatureCertChainUrl or Signature-256 occurred more than
     * once: which copy counts is exactly the kind of two-readings ambiguity
     * verification must refuse (VERIFY_E_DUPLICATE_HEADER). */
    int duplicate_header;
} verify_input_t;

/* The result. On VERIFY_OK, `envelope` is the body parsed from the verified
 * bytes and the callee owns it (json_decref); `request_type` is request.type,
 * a NUL-terminated string owned by `envelope` (e.g. "IntentRequest",
 * "AlexaSkillEvent.SkillEnabled"). On failure both are NULL. */
typedef void (*verify_cb)(void *ud, verify_status_t status, json_t *envelope, const char *request_type);

typedef struct verify_call verify_call_t;

/* Start verifying. Failures found before any download and successes on a
 * cached chain call `cb` synchronously, before verify_start returns NULL.
 * Otherwise returns a handle, and `cb` runs exactly once later on the loop
 * (after the shared download, bounded by its 3 s timeout), unless
 * verify_cancel is called first. */
verify_call_t *verify_start(verify_thread_t *vt, const verify_input_t *in, verify_cb cb, void *ud);
/* Forget a pending call: its callback will not run. Only for handles whose
 * callback has not run yet. */
void verify_cancel(verify_call_t *call);

/* ---- test and benchmark hooks ------------------------------------------------
 * A downloader with outbound_start's contract (cb exactly once unless
 * cancelled; NULL = could not start, cb never runs). verify_thread_new uses
 * outbound_start/outbound_cancel; tests substitute a scripted one. */
typedef struct verify_fetcher {
    void *(*start)(void *fud, const outbound_req_t *req, outbound_cb cb, void *cb_ud);
    void (*cancel)(void *fud, void *handle);
    void *fud;
} verify_fetcher_t;
verify_thread_t *verify_thread_new_with_fetcher(const verify_fetcher_t *f);
/* Replace the wall clock (milliseconds since the epoch) used for the
 * timestamp window, certificate dates and backoff. */
void verify_thread_set_clock(verify_thread_t *vt, int64_t (*now_ms)(void *ud), void *ud);
/* Cache statistics for tests and benchmarks. */
typedef struct verify_stats {
    uint64_t downloads;   /* downloads started */
    uint64_t cache_hits;  /* requests answered from a READY or FAILED entry */
    uint64_t evictions;
} verify_stats_t;
void verify_thread_stats(const verify_thread_t *vt, verify_stats_t *out);

#endif
