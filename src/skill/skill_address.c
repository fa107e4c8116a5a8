/* skill_address.c - owns reading the device address (and, for a greeting, the
 * given name) from Amazon's APIs on the thread's loop, the "just a moment"
 * progressive response, and matching the address to a property, including the
 * remembered choice when it matches several (choice.h).
 */
#include "skill_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/data/addrmatch.h"
#include "binday/data/store.h"
#include "binday/skill/choice.h"
#include "binday/util/log.h"
#include "binday/util/xalloc.h"

static void set_line(const char *s, const uint8_t **p, size_t *n)
{
    *p = (const uint8_t *)s;
    *n = s ? strlen(s) : 0;
}

static void answer_from_address(struct skill_call *c)
{
    skill_thread_t *st = c->st;
    const alexa_address_t *a = &c->addr;
    addrmatch_input_t in;
    memset(&in, 0, sizeof(in));
    set_line(a->address_line1, &in.line[0], &in.line_len[0]);
    set_line(a->address_line2, &in.line[1], &in.line_len[1]);
    set_line(a->address_line3, &in.line[2], &in.line_len[2]);
    set_line(a->city, &in.city, &in.city_len);
    set_line(a->postal_code, &in.postcode, &in.postcode_len);
    set_line(a->country_code, &in.country, &in.country_len);

    char err[256], ah[SECRET_HEX_LEN + 1];
    int remember = 0;
    lookup_result_t *res = st->res;
    MDB_txn *txn;
    int rc = store_reader_begin(st->reader, &txn, err, sizeof(err));
    if (rc == 0) {
        rc = lookup_address_txn(store_reader_store(st->reader), txn, &in, c->today, SKILL_DAYS, res, err,
                                sizeof(err));
        if (rc == 0 && res->match == AM_AMBIGUOUS) {
            uint64_t uprn = 0;
            choice_address_digest(st->conf->user_key, a, ah, sizeof(ah));
            /* a fresh answer counts only if it is one of this address's candidates */
            for (size_t i = 0; c->chosen_uprn && i < res->n_candidates; i++)
                if (res->candidates[i].uprn == c->chosen_uprn)
                    uprn = c->chosen_uprn, remember = 1;
            if (uprn == 0 && choice_get(st->conf->privacy, txn, c->user, ah, &uprn) != 0)
                uprn = 0;
            if (uprn != 0)
                rc = lookup_uprn_txn(store_reader_store(st->reader), txn, uprn, c->today, SKILL_DAYS, res, err,
                                     sizeof(err));
        }
        store_reader_end(st->reader);
    }
    if (rc == 0 && remember) /* fire and forget, logged by the store writer (choice.h says why) */
        choice_put_submit(st->conf->privacy, c->user, ah, c->chosen_uprn);
    if (rc != 0) {
        log_error("skill.lookup", "error=\"%s\"", err);
        skill_answer_simple(c, "Sorry, something went wrong looking up your collections. Please try again later.", NULL, 1);
        return;
    }
    log_info("skill.match", "user=%s match=%s", c->user, addrmatch_kind_name(res->match));
    switch (res->match) {
    case AM_EXACT:
    case AM_BUILDING:
    case AM_POSTCODE:
        if (c->q == Q_EMAIL)
            skill_answer_email(c, res);
        else if (c->q == Q_ALERT)
            skill_answer_alert(c, res);
        else
            skill_answer_collections(c, res);
        return;
    case AM_AMBIGUOUS:
        skill_answer_ambiguous(c, res);
        return;
    case AM_OUTSIDE:
        skill_answer_simple(c, "Your device's address isn't in Breckland, so I can't tell you its bin collections. The "
                         "council for that area will have its collection days on its own website.",
                      NULL, 1);
        return;
    case AM_NONE:
    default:
        if (res->postcode[0]) {
            speech_buf_t sp;
            speech_buf_init(&sp);
            speech_buf_textf(&sp, "I couldn't find your address in %s in Breckland's address list. Please check the "
                                  "address of this device in the Alexa app, or see Breckland Council's website for "
                                  "your collection days.",
                             res->postcode);
            skill_answer_simple(c, sp.s, NULL, 1);
        } else {
            skill_answer_simple(c, "Your device's address has no postcode I recognise. Please check the address of this "
                             "device in the Alexa app: open Devices, choose this device, and set its location.",
                          NULL, 1);
        }
        return;
    }
}

void skill_maybe_answer(struct skill_call *c)
{
    if (c->waiting > 0)
        return;
    if (c->q == Q_EMAIL && skill_email_trouble(c))
        return;
    switch (c->addr_status) {
    case ALEXA_API_OK:
        answer_from_address(c);
        return;
    case ALEXA_API_NOT_SET:
        skill_answer_simple(c, "This device doesn't have an address set. In the Alexa app, open Devices, choose this "
                         "device, and add its address under Device Location. Then ask me again.",
                      NULL, 1);
        return;
    case ALEXA_API_PERMISSION_MISSING:
        skill_answer_permission(c);
        return;
    default:
        log_warn("skill.address_api", "user=%s status=%s", c->user, alexa_api_status_name(c->addr_status));
        skill_answer_api_trouble(c, c->addr_status);
        return;
    }
}

/* An asynchronous call is over once it has answered: the endpoint forgets its
 * handle when the answer arrives, so nothing else would free it (every
 * answered request stayed on st->calls until the thread stopped: ~11 KB per
 * request, found by make bench). */
void skill_free_if_answered(struct skill_call *c)
{
    if (c->cb == NULL && c->waiting <= 0)
        skill_call_free(c);
}

static void on_address(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->addr_call = NULL;
    c->addr_status = res->status;
    if (res->status == ALEXA_API_OK && res->address)
        alexa_address_copy(&c->addr, res->address);
    c->waiting--;
    skill_maybe_answer(c);
    skill_free_if_answered(c);
}

static void on_given_name(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->name_call = NULL;
    c->name_status = res->status;
    if (res->status == ALEXA_API_OK && res->text)
        snprintf(c->given_name, sizeof(c->given_name), "%s", res->text);
    c->waiting--;
    skill_maybe_answer(c);
    skill_free_if_answered(c);
}

static void on_progressive_sent(const alexa_api_result_t *res, void *ud)
{
    struct skill_call *c = ud;
    c->progressive_call = NULL;
    if (res->status != ALEXA_API_OK)
        log_info("skill.progressive", "result=%s", alexa_api_status_name(res->status));
}

static void on_progressive_timer(uv_timer_t *t)
{
    struct skill_call *c = t->data;
    if (c->waiting <= 0 || c->progressive_call || c->rq.request_id == NULL)
        return;
    char err[200];
    c->progressive_call = alexa_api_progressive(c->st->ob, c->rq.api_endpoint, c->rq.api_token, c->rq.request_id,
                                                "<speak>Just a moment while I look that up.</speak>",
                                                on_progressive_sent, c, err, sizeof(err));
}

/* Start the API calls the question needs. Returns 0 when the answer will come
 * asynchronously, -1 when it was given already. */
int skill_start_lookup(struct skill_call *c)
{
    skill_thread_t *st = c->st;
    char err[200];
    c->addr_status = ALEXA_API_UNAVAILABLE;
    c->name_status = ALEXA_API_UNAVAILABLE;
    c->waiting = 1;
    c->addr_call = alexa_api_address(st->ob, c->rq.api_endpoint, c->rq.api_token, c->rq.device_id, on_address, c,
                                     err, sizeof(err));
    if (c->addr_call == NULL) {
        log_warn("skill.address_api", "user=%s refused=\"%s\"", c->user, err);
        c->waiting = 0;
        c->addr_status = ALEXA_API_REFUSED;
        skill_maybe_answer(c);
        return -1;
    }
    c->progressive_timer = xmalloc(sizeof(*c->progressive_timer));
    uv_timer_init(outbound_loop(st->ob), c->progressive_timer);
    c->progressive_timer->data = c;
    uv_timer_start(c->progressive_timer, on_progressive_timer, SKILL_PROGRESSIVE_MS, 0);
    if (c->q == Q_EMAIL)
        skill_email_start(c);
    if (c->q == Q_LAUNCH) {
        c->name_call = alexa_api_given_name(st->ob, c->rq.api_endpoint, c->rq.api_token, on_given_name, c, err,
                                            sizeof(err));
        if (c->name_call)
            c->waiting++;
    }
    return 0;
}
