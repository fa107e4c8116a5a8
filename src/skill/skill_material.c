/* skill_material.c - owns MaterialIntent: "where does glass go?", "can I put
 * pizza boxes in the recycling?". The answer comes from the council's
 * materials table (materials.h) and names the bin as the services table
 * does (spoken_name), so it needs no address and no Amazon API call: it is
 * answered at once, from one read of the store.
 *
 * Wording avoids the grammatical number of the material ("you can put pizza
 * boxes in...", "you can put paper in..."): the data's names are whatever
 * the council wrote.
 */
#include "skill_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "binday/data/materials.h"
#include "binday/util/log.h"

/* The material's name as said mid-sentence: first letter lower-cased unless
 * the word is an abbreviation ("LED bulbs"). */
static void mid_sentence(char *dst, size_t n, rec_str_t name)
{
    snprintf(dst, n, "%.*s", (int)name.n, name.p);
    if (dst[0] && !(isupper((unsigned char)dst[0]) && isupper((unsigned char)dst[1])))
        dst[0] = (char)tolower((unsigned char)dst[0]);
}

static void answer(struct skill_call *c, speech_buf_t *sp, int end)
{
    char card[2000];
    skill_card_from(sp, card, sizeof(card));
    alexa_response_t r = {0};
    r.ssml = sp->s;
    r.reprompt_ssml = end ? NULL : "Which material do you mean? For example: where does glass go?";
    r.card_title = "What goes in which bin";
    r.card_content = card;
    r.should_end_session = end ? ALEXA_END_TRUE : ALEXA_END_FALSE;
    skill_finish(c, &r);
}

/* Phrase the answer for a found material; the service (when collected)
 * read in the same txn. */
static void say_material(struct skill_call *c, speech_buf_t *sp, MDB_txn *txn, const material_t *m)
{
    char what[MATERIALS_MAX_FIELD + 1];
    mid_sentence(what, sizeof(what), m->name);
    alexa_slot_t bin;
    const char *asked = alexa_request_slot(&c->rq, "BinType", &bin) ? bin.id : NULL;
    if (m->service_id.p == NULL) {
        if (asked)
            skill_say(sp, "No. ");
        speech_buf_textf(sp, "Breckland doesn't collect %s from your home. Please take them to %.*s. ", what,
                         (int)m->take_to.n, m->take_to.p);
    } else {
        store_t *s = store_reader_store(c->st->reader);
        MDB_val k = {m->service_id.n, (void *)m->service_id.p}, v;
        rec_service_t svc;
        if (mdb_get(txn, store_core_dbi(s, STORE_SERVICES), &k, &v) != 0 ||
            rec_decode_service(v.mv_data, v.mv_size, &svc) != 0) {
            /* the import checks the reference; only a damaged store gets here */
            log_error("skill.material", "error=\"service of material %s unreadable\"", m->id);
            skill_say(sp, "Sorry, I can't find that in the council's list just now. ");
            return;
        }
        if (asked) {
            int same = strlen(asked) == m->service_id.n && !memcmp(asked, m->service_id.p, m->service_id.n);
            skill_say(sp, same ? "Yes. " : "No. ");
        }
        speech_buf_textf(sp, "You can put %s in the %.*s. ", what, (int)svc.spoken_name.n, svc.spoken_name.p);
    }
    if (m->note.p)
        speech_buf_textf(sp, "%.*s ", (int)m->note.n, m->note.p);
}

void skill_answer_material(struct skill_call *c)
{
    speech_buf_t sp;
    speech_buf_init(&sp);
    alexa_slot_t slot;
    const char *text = alexa_request_slot(&c->rq, "Material", &slot) ? alexa_slot_best(&slot) : NULL;
    if (text == NULL || !text[0]) {
        skill_say(&sp, "Which material do you mean? You can ask, for example: where does glass go?");
        answer(c, &sp, 0);
        return;
    }
    MDB_txn *txn;
    char err[200];
    if (store_reader_begin(c->st->reader, &txn, err, sizeof(err)) != 0) {
        log_error("skill.material", "error=\"%s\"", err);
        skill_say(&sp, "Sorry, I can't look that up just now. Please try again in a moment.");
        answer(c, &sp, 1);
        return;
    }
    material_t m;
    int rc = materials_find(store_reader_store(c->st->reader), txn, text, strlen(text), &m);
    /* the slot id is found directly; the words Alexa heard are a second try */
    if (rc == MDB_NOTFOUND && slot.id && slot.value)
        rc = materials_find(store_reader_store(c->st->reader), txn, slot.value, strlen(slot.value), &m);
    if (rc == 0) {
        say_material(c, &sp, txn, &m);
        log_info("skill.material", "user=%s material=%s", c->user, m.id);
    } else {
        if (rc != MDB_NOTFOUND)
            log_error("skill.material", "error=\"%s\"", mdb_strerror(rc));
        /* the words are the resident's, escaped by speech_buf_textf; bounded */
        speech_buf_textf(&sp, "Sorry, I don't know where %.80s goes. Breckland Council's website lists what goes "
                              "in each bin. ",
                         slot.value ? slot.value : "that");
    }
    store_reader_end(c->st->reader);
    answer(c, &sp, 1);
}
