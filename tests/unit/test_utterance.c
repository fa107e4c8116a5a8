/* test_utterance.c - the `binday ask` utterance matcher against the skill's
 * real interaction model, and date phrases. Run from the repository root. */
#include <string.h>

#include "binday/util/date.h"
#include "binday/dev/utterance.h"
#include "tap.h"

#define MODEL "deploy/skill-package/interactionModels/custom/en-GB.json"

static utterance_model_t *m;
static int today;

static const utterance_slot_t *slot(const utterance_result_t *r, const char *name)
{
    for (size_t i = 0; i < r->n_slots; i++)
        if (strcmp(r->slots[i].name, name) == 0)
            return &r->slots[i];
    return NULL;
}

__attribute__((noinline)) static void check(const char *text, const char *intent, const char *slot_name, const char *want_id,
                  const char *want_value)
{
    utterance_result_t r;
    utterance_match(m, text, today, &r);
    is_str(r.intent, intent, "'%s' -> intent", text);
    if (slot_name) {
        char sn[48];
        snprintf(sn, sizeof(sn), "%s", slot_name);
        const utterance_slot_t *s = slot(&r, sn);
        ok(s != NULL, "'%s' has slot %s", text, sn);
        if (want_id)
            is_str(s ? s->id : "", want_id, "'%s' %s id", text, sn);
        if (want_value)
            is_str(s ? s->value : "", want_value, "'%s' %s value", text, sn);
    } else {
        is_int(r.n_slots, 0, "'%s' has no slots", text);
    }
}

int main(void)
{
    char err[200] = "";
    m = utterance_model_load(MODEL, err, sizeof(err));
    ok(m != NULL, "model loads (%s)", err);
    if (m == NULL)
        return done_testing();
    is_str(utterance_model_invocation(m), "breckland bins", "invocation name");
    today = date_from_ymd(2026, 11, 28); /* a Saturday */

    /* bins by colour and by kind: Breckland's green is rubbish, black is recycling */
    check("when is the black bin", "BinTypeIntent", "BinType", "recycling", "black");
    check("When is the GREEN bin?", "BinTypeIntent", "BinType", "refuse", "green");
    check("when is the brown bin collected", "BinTypeIntent", "BinType", "garden", "brown");
    check("when is the food caddy", "BinTypeIntent", "BinType", "food", NULL);
    check("when does the general waste go out", "BinTypeIntent", "BinType", "refuse", "general waste");
    check("when is the garden waste bin collected", "BinTypeIntent", "BinType", "garden", NULL);
    check("when is the green waste bin", "BinTypeIntent", "BinType", "garden", NULL);
    check("Alexa, ask Breckland bins when is the black bin", "BinTypeIntent", "BinType", "recycling", NULL);
    check("ask breckland bins when's my food waste collection", "BinTypeIntent", "BinType", "food", NULL);
    check("when is the purple bin", "AMAZON.FallbackIntent", NULL, NULL, NULL);

    /* dates */
    check("which bin goes out this week", "WhichBinIntent", "Date", NULL, "2026-W48");
    check("which bin goes out tomorrow", "WhichBinIntent", "Date", NULL, "2026-11-29");
    check("which bin goes out on Tuesday", "WhichBinIntent", "Date", NULL, "2026-12-01");
    check("what bins go out next week", "WhichBinIntent", "Date", NULL, "2026-W49");
    check("what goes out next Tuesday", "WhichBinIntent", "Date", NULL, "2026-12-01");
    check("which bin is collected today", "WhichBinIntent", "Date", NULL, "2026-11-28");
    check("which bin is it", "WhichBinIntent", NULL, NULL, NULL);

    check("when is my next collection", "NextCollectionIntent", NULL, NULL, NULL);
    check("when's bin day", "NextCollectionIntent", NULL, NULL, NULL);
    check("what are my next collections", "UpcomingCollectionsIntent", NULL, NULL, NULL);
    check("email me the link", "EmailLinkIntent", NULL, NULL, NULL);
    check("it's flat 2", "ChooseAddressIntent", "FlatNumber", NULL, "2");
    check("flat two", "ChooseAddressIntent", "FlatNumber", NULL, "2");
    check("number twenty one", "ChooseAddressIntent", "HouseNumber", NULL, "21");
    check("the second one", "ChooseAddressIntent", "Ordinal", NULL, "2");
    check("it's 12a", "ChooseAddressIntent", "Property", NULL, "12a");
    check("I live at rose cottage", "ChooseAddressIntent", "Property", NULL, "rose cottage");

    check("yes please", "AMAZON.YesIntent", NULL, NULL, NULL);
    check("no thanks", "AMAZON.NoIntent", NULL, NULL, NULL);
    check("help", "AMAZON.HelpIntent", NULL, NULL, NULL);
    check("stop", "AMAZON.StopIntent", NULL, NULL, NULL);
    check("cancel", "AMAZON.CancelIntent", NULL, NULL, NULL);
    check("go home", "AMAZON.NavigateHomeIntent", NULL, NULL, NULL);
    check("what is the meaning of life", "AMAZON.FallbackIntent", NULL, NULL, NULL);

    utterance_result_t r;
    utterance_match(m, "open breckland bins", today, &r);
    is_int(r.kind, UTTERANCE_LAUNCH, "open -> launch");
    utterance_match(m, "Alexa, launch Breckland Bins", today, &r);
    is_int(r.kind, UTTERANCE_LAUNCH, "Alexa, launch -> launch");
    utterance_match(m, "ask breckland bins", today, &r);
    is_int(r.kind, UTTERANCE_LAUNCH, "bare ask -> launch");
    utterance_match(m, "exit", today, &r);
    is_int(r.kind, UTTERANCE_SESSION_END, "exit -> session ended");
    utterance_match(m, "open breckland bins and tell me when is the black bin", today, &r);
    is_int(r.kind, UTTERANCE_INTENT, "open ... and <request> is an intent");
    utterance_match(m, "", today, &r);
    is_str(r.intent, "AMAZON.FallbackIntent", "empty text -> fallback");

    /* date phrases on their own */
    char d[32];
    static const struct {
        const char *in, *out;
    } dates[] = {{"today", "2026-11-28"},           {"tomorrow", "2026-11-29"},       {"yesterday", "2026-11-27"},
                 {"the day after tomorrow", "2026-11-30"}, {"on saturday", "2026-11-28"}, {"sunday", "2026-11-29"},
                 {"this friday", "2026-12-04"},     {"next monday", "2026-11-30"},    {"next saturday", "2026-12-05"},
                 {"this week", "2026-W48"},         {"next week", "2026-W49"},        {"this weekend", "2026-W48-WE"},
                 {"next weekend", "2026-W49-WE"},   {"2026-12-24", "2026-12-24"}};
    for (size_t i = 0; i < sizeof(dates) / sizeof(dates[0]); i++) {
        d[0] = '\0';
        ok(utterance_date_value(dates[i].in, today, d, sizeof(d)) == 0 && strcmp(d, dates[i].out) == 0,
           "date '%s' -> %s (got %s)", dates[i].in, dates[i].out, d);
    }
    ok(utterance_date_value("someday", today, d, sizeof(d)) == -1, "unknown phrase refused");
    ok(utterance_date_value("2026-02-30", today, d, sizeof(d)) == -1, "invalid ISO date refused");
    int dec31 = date_from_ymd(2026, 12, 31);
    ok(utterance_date_value("next week", dec31, d, sizeof(d)) == 0 && strcmp(d, "2027-W01") == 0,
       "next week across the 53-week year end (%s)", d);

    ok(utterance_model_parse("{}", 2, err, sizeof(err)) == NULL, "model without intents refused");
    ok(utterance_model_load("/nonexistent/model.json", err, sizeof(err)) == NULL, "missing file refused");
    utterance_model_free(m);
    return done_testing();
}
