/* verify_outbound.c - owns the production downloader of the verification
 * module: certificate chains fetched with the async outbound client (kept
 * apart from verify.c so the cache logic links and tests without it). */
#include "binday/alexa/verify.h"

static void *ob_start(void *fud, const outbound_req_t *req, outbound_cb cb, void *cb_ud)
{
    return outbound_start(fud, req, cb, cb_ud);
}

static void ob_cancel(void *fud, void *handle)
{
    (void)fud;
    outbound_cancel(handle);
}

verify_thread_t *verify_thread_new(outbound_t *ob)
{
    verify_fetcher_t f = {.start = ob_start, .cancel = ob_cancel, .fud = ob};
    return verify_thread_new_with_fetcher(&f);
}
