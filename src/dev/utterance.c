/* utterance.c - sample-utterance matching for `binday ask` (see utterance.h).
 * Walks the interaction model's JSON directly: it is small and read once. */
#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/dev/utterance.h"

#define MAX_TOKENS 32
#define TOKEN_LEN 48

struct utterance_model {
    json_t *root;
    json_t *intents; /* borrowed from root */
    json_t *types;
    const char *invocation;
};

typedef struct {
    char t[MAX_TOKENS][TOKEN_LEN];
    size_t n;
} toks_t;

static void set_err(char *err, size_t err_size, const char *msg)
{
    if (err && err_size)
        snprintf(err, err_size, "%s", msg);
}

utterance_model_t *utterance_model_parse(const char *json, size_t len, char *err, size_t err_size)
{
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (root == NULL) {
        if (err && err_size)
            snprintf(err, err_size, "interaction model: line %d: %s", je.line, je.text);
        return NULL;
    }
    json_t *lm = json_object_get(json_object_get(root, "interactionModel"), "languageModel");
    json_t *intents = json_object_get(lm, "intents");
    const char *inv = json_string_value(json_object_get(lm, "invocationName"));
    if (!json_is_array(intents) || inv == NULL) {
        json_decref(root);
        set_err(err, err_size, "interaction model: no languageModel.intents or invocationName");
        return NULL;
    }
    utterance_model_t *m = calloc(1, sizeof(*m));
    if (m == NULL) {
        json_decref(root);
        set_err(err, err_size, "out of memory");
        return NULL;
    }
    m->root = root;
    m->intents = intents;
    m->types = json_object_get(lm, "types");
    m->invocation = inv;
    return m;
}

utterance_model_t *utterance_model_load(const char *path, char *err, size_t err_size)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        if (err && err_size)
            snprintf(err, err_size, "cannot open %s", path);
        return NULL;
    }
    size_t cap = 1 << 20, n;
    char *buf = malloc(cap);
    n = buf ? fread(buf, 1, cap, f) : 0;
    fclose(f);
    if (buf == NULL || n == cap) {
        free(buf);
        set_err(err, err_size, "interaction model missing or over 1 MiB");
        return NULL;
    }
    utterance_model_t *m = utterance_model_parse(buf, n, err, err_size);
    free(buf);
    return m;
}

void utterance_model_free(utterance_model_t *m)
{
    if (m) {
        json_decref(m->root);
        free(m);
    }
}

const char *utterance_model_invocation(const utterance_model_t *m)
{
    return m->invocation;
}

/* Words: ASCII letters and digits lower-cased, apostrophes dropped ("what's"
 * = "whats"), '-' kept inside a word (dates), everything else separates.
 * "{Slot}" stays one token with its case. */
static void tokenize(const char *s, toks_t *out)
{
    out->n = 0;
    while (*s && out->n < MAX_TOKENS) {
        while (*s && !(isalnum((unsigned char)*s) || *s == '{' || *s == '-'))
            s++;
        if (*s == '\0')
            break;
        char *t = out->t[out->n];
        size_t l = 0;
        if (*s == '{') {
            while (*s && *s != '}' && l + 2 < TOKEN_LEN)
                t[l++] = *s++;
            if (*s == '}')
                t[l++] = *s++;
        } else {
            while (*s && (isalnum((unsigned char)*s) || *s == '\'' || *s == '-')) {
                if (*s != '\'' && l + 1 < TOKEN_LEN)
                    t[l++] = (char)tolower((unsigned char)*s);
                s++;
            }
        }
        t[l] = '\0';
        if (l > 0 && strcmp(t, "-") != 0)
            out->n++;
    }
}

static void join_tokens(const toks_t *t, size_t from, size_t to, char *dst, size_t dst_size)
{
    size_t o = 0;
    dst[0] = '\0';
    for (size_t i = from; i < to; i++) {
        int w = snprintf(dst + o, dst_size - o, "%s%s", i > from ? " " : "", t->t[i]);
        if (w < 0 || (size_t)w >= dst_size - o)
            return;
        o += (size_t)w;
    }
}

static bool phrase_eq(const char *a, const char *b)
{
    toks_t ta, tb;
    tokenize(a, &ta);
    tokenize(b, &tb);
    if (ta.n != tb.n || ta.n == 0)
        return false;
    for (size_t i = 0; i < ta.n; i++)
        if (strcmp(ta.t[i], tb.t[i]) != 0)
            return false;
    return true;
}

static int weekday_of(const char *w)
{
    static const char *const names[7] = {"monday", "tuesday", "wednesday", "thursday",
                                         "friday", "saturday", "sunday"};
    for (int i = 0; i < 7; i++)
        if (strcmp(w, names[i]) == 0)
            return i;
    return -1;
}

static void iso_week(int days, int *iso_year, int *week)
{
    int thursday = days - date_weekday(days) + 3;
    int y, m, d;
    date_to_ymd(thursday, &y, &m, &d);
    *iso_year = y;
    *week = (thursday - date_from_ymd(y, 1, 1)) / 7 + 1;
}

int utterance_date_value(const char *phrase, int today, char *dst, size_t dst_size)
{
    toks_t t;
    tokenize(phrase, &t);
    size_t i = 0;
    while (i < t.n && (strcmp(t.t[i], "on") == 0 || strcmp(t.t[i], "for") == 0))
        i++;
    char p[160];
    join_tokens(&t, i, t.n, p, sizeof(p));
    int date = 0, y, w, d, mth;
    const char *rest;
    if (strcmp(p, "today") == 0 || strcmp(p, "tonight") == 0)
        date = today;
    else if (strcmp(p, "tomorrow") == 0 || strcmp(p, "tomorrow morning") == 0)
        date = today + 1;
    else if (strcmp(p, "the day after tomorrow") == 0 || strcmp(p, "day after tomorrow") == 0)
        date = today + 2;
    else if (strcmp(p, "yesterday") == 0)
        date = today - 1;
    else if (strcmp(p, "this week") == 0 || strcmp(p, "next week") == 0 || strcmp(p, "this weekend") == 0 ||
             strcmp(p, "the weekend") == 0 || strcmp(p, "weekend") == 0 || strcmp(p, "next weekend") == 0) {
        iso_week(today + (strncmp(p, "next", 4) == 0 ? 7 : 0), &y, &w);
        snprintf(dst, dst_size, "%04d-W%02d%s", y, w, strstr(p, "weekend") ? "-WE" : "");
        return 0;
    } else if (sscanf(p, "%4d-%2d-%2d", &y, &mth, &d) == 3 && strlen(p) == 10 && date_valid_ymd(y, mth, d)) {
        date = date_from_ymd(y, mth, d);
    } else {
        /* "tuesday", "this tuesday", "next tuesday" */
        int next = 0;
        rest = p;
        if (strncmp(rest, "this ", 5) == 0)
            rest += 5;
        else if (strncmp(rest, "next ", 5) == 0)
            rest += 5, next = 1;
        int wd = weekday_of(rest);
        if (wd < 0)
            return -1;
        if (next)
            date = today - date_weekday(today) + 7 + wd; /* that day of next week */
        else
            date = today + (wd - date_weekday(today) + 7) % 7; /* the coming one, today included */
    }
    date_format(date, dst);
    return 0;
}

static json_t *find_type(const utterance_model_t *m, const char *name)
{
    size_t i;
    json_t *t;
    json_array_foreach(m->types, i, t) {
        const char *n = json_string_value(json_object_get(t, "name"));
        if (n && strcmp(n, name) == 0)
            return t;
    }
    return NULL;
}

static const char *slot_type(json_t *intent, const char *slot)
{
    size_t i;
    json_t *s;
    json_array_foreach(json_object_get(intent, "slots"), i, s) {
        const char *n = json_string_value(json_object_get(s, "name"));
        if (n && strcmp(n, slot) == 0)
            return json_string_value(json_object_get(s, "type"));
    }
    return NULL;
}

/* AMAZON.NUMBER ("twenty one" -> "21") and AMAZON.Ordinal ("second" ->
 * "2"), sent as digits as Alexa does; anything else does not fit. */
static bool number_value(const char *phrase, bool ordinal, char *dst, size_t n)
{
    static const char *const units[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight",
                                        "nine", "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen",
                                        "sixteen", "seventeen", "eighteen", "nineteen"};
    static const char *const tens[] = {"twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
    static const char *const ords[] = {"first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth",
                                       "ninth", "tenth", "last"};
    if (ordinal) {
        for (size_t i = 0; i < sizeof(ords) / sizeof(ords[0]); i++)
            if (strcmp(phrase, ords[i]) == 0) {
                snprintf(dst, n, "%zu", i == 10 ? (size_t)0 : i + 1);
                return i != 10;
            }
        return false;
    }
    if (phrase[0] && strspn(phrase, "0123456789") == strlen(phrase) && strlen(phrase) < 7) {
        snprintf(dst, n, "%s", phrase);
        return true;
    }
    /* one or two words below a hundred: "seven", "twenty one" */
    char a[32] = "", b[32] = "";
    if (sscanf(phrase, "%31s %31s", a, b) < 1)
        return false;
    int v = -1;
    for (int i = 0; i < 20; i++)
        if (strcmp(a, units[i]) == 0)
            v = i;
    for (int i = 0; i < 8; i++)
        if (strcmp(a, tens[i]) == 0)
            v = 20 + 10 * i;
    if (v < 0)
        return false;
    if (b[0]) {
        int u = -1;
        for (int i = 1; i < 10; i++)
            if (strcmp(b, units[i]) == 0)
                u = i;
        if (u < 0 || v < 20)
            return false;
        v += u;
    }
    snprintf(dst, n, "%d", v);
    return true;
}

/* Does `phrase` fit slot type `type`? Fills the slot's value/id/resolved. */
static bool fill_slot(const utterance_model_t *m, const char *type, const char *phrase, int today,
                      utterance_slot_t *s)
{
    if (type == NULL)
        return false;
    snprintf(s->type, sizeof(s->type), "%s", type);
    s->id[0] = s->resolved[0] = '\0';
    if (strcmp(type, "AMAZON.DATE") == 0)
        return utterance_date_value(phrase, today, s->value, sizeof(s->value)) == 0;
    if (strcmp(type, "AMAZON.NUMBER") == 0 || strcmp(type, "AMAZON.Ordinal") == 0)
        return number_value(phrase, strcmp(type, "AMAZON.Ordinal") == 0, s->value, sizeof(s->value));
    snprintf(s->value, sizeof(s->value), "%s", phrase);
    if (strncmp(type, "AMAZON.", 7) == 0)
        return true; /* SearchQuery and other built-ins: the words as heard */
    json_t *t = find_type(m, type);
    size_t i;
    json_t *v;
    json_array_foreach(json_object_get(t, "values"), i, v) {
        json_t *nm = json_object_get(v, "name");
        const char *id = json_string_value(json_object_get(v, "id"));
        const char *canon = json_string_value(json_object_get(nm, "value"));
        bool hit = canon && phrase_eq(canon, phrase);
        size_t k;
        json_t *syn;
        json_array_foreach(json_object_get(nm, "synonyms"), k, syn) {
            if (!hit && json_is_string(syn) && phrase_eq(json_string_value(syn), phrase))
                hit = true;
        }
        if (hit) {
            snprintf(s->id, sizeof(s->id), "%s", id ? id : canon);
            snprintf(s->resolved, sizeof(s->resolved), "%s", canon ? canon : "");
            return true;
        }
    }
    return false; /* custom types only take their own values (no open-ended guesses) */
}

typedef struct {
    const utterance_model_t *m;
    json_t *intent;
    const toks_t *sample, *utt;
    int today;
    utterance_slot_t slots[UTTERANCE_MAX_SLOTS];
    size_t n_slots;
} match_ctx_t;

static bool match_at(match_ctx_t *c, size_t si, size_t ui)
{
    if (si == c->sample->n)
        return ui == c->utt->n;
    const char *st = c->sample->t[si];
    if (st[0] != '{')
        return ui < c->utt->n && strcmp(st, c->utt->t[ui]) == 0 && match_at(c, si + 1, ui + 1);
    if (c->n_slots >= UTTERANCE_MAX_SLOTS)
        return false;
    char name[48];
    snprintf(name, sizeof(name), "%.*s", (int)(strlen(st) >= 2 ? strlen(st) - 2 : 0), st + 1);
    const char *type = slot_type(c->intent, name);
    for (size_t k = 1; ui + k <= c->utt->n; k++) {
        char phrase[160];
        join_tokens(c->utt, ui, ui + k, phrase, sizeof(phrase));
        utterance_slot_t *s = &c->slots[c->n_slots];
        memset(s, 0, sizeof(*s));
        snprintf(s->name, sizeof(s->name), "%s", name);
        if (!fill_slot(c->m, type, phrase, c->today, s))
            continue;
        c->n_slots++;
        if (match_at(c, si + 1, ui + k))
            return true;
        c->n_slots--;
    }
    return false;
}

static bool in_list(const char *p, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(p, *list) == 0)
            return true;
    return false;
}

int utterance_match(const utterance_model_t *m, const char *text, int today, utterance_result_t *out)
{
    static const char *const yes[] = {"yes", "yeah", "yep", "yes please", "sure", "ok", "okay", "go on",
                                      "please do", "go ahead", "yes thanks", "yes thank you", NULL};
    static const char *const no[] = {"no", "nope", "no thanks", "no thank you", "not now", "no ta", NULL};
    static const char *const help[] = {"help", "help me", "what can you do", "what can i say", "how does this work",
                                       NULL};
    static const char *const stop[] = {"stop", "shut up", "be quiet", "quiet", "thats all", "thats it", NULL};
    static const char *const cancel[] = {"cancel", "never mind", "nevermind", "forget it", NULL};
    static const char *const home[] = {"go home", "home", NULL};
    static const char *const end[] = {"exit", "quit", "goodbye", "bye", NULL};
    static const char *const opens[] = {"open", "start", "launch", "begin", "load", "run", NULL};
    static const char *const asks[] = {"ask", "tell", "use", NULL};

    memset(out, 0, sizeof(*out));
    toks_t u, inv;
    tokenize(text, &u);
    tokenize(m->invocation, &inv);
    size_t start = 0;
    if (u.n > 0 && strcmp(u.t[0], "alexa") == 0)
        start = 1;
    /* "[open|ask|tell] <invocation> [to|and|for|about] ..." */
    bool has_verb = start < u.n && (in_list(u.t[start], opens) || in_list(u.t[start], asks));
    bool open_verb = has_verb && in_list(u.t[start], opens);
    size_t at = start + (has_verb ? 1 : 0);
    bool inv_here = at + inv.n <= u.n;
    for (size_t i = 0; inv_here && i < inv.n; i++)
        if (strcmp(u.t[at + i], inv.t[i]) != 0)
            inv_here = false;
    if (inv_here) {
        start = at + inv.n;
        if (start < u.n && in_list(u.t[start], (const char *const[]){"to", "and", "for", "about", "if", NULL}))
            start++;
        if (start == u.n || (open_verb && start == u.n)) {
            out->kind = UTTERANCE_LAUNCH;
            snprintf(out->intent, sizeof(out->intent), "LaunchRequest");
            return 0;
        }
    }
    toks_t rest;
    rest.n = 0;
    for (size_t i = start; i < u.n; i++)
        memcpy(rest.t[rest.n++], u.t[i], TOKEN_LEN);
    char joined[512];
    join_tokens(&rest, 0, rest.n, joined, sizeof(joined));

    static const struct {
        const char *const *list;
        const char *intent;
    } builtins[] = {{yes, "AMAZON.YesIntent"},    {no, "AMAZON.NoIntent"},         {help, "AMAZON.HelpIntent"},
                    {stop, "AMAZON.StopIntent"}, {cancel, "AMAZON.CancelIntent"}, {home, "AMAZON.NavigateHomeIntent"}};
    if (in_list(joined, end)) {
        out->kind = UTTERANCE_SESSION_END;
        snprintf(out->intent, sizeof(out->intent), "SessionEndedRequest");
        return 0;
    }
    for (size_t b = 0; b < sizeof(builtins) / sizeof(builtins[0]); b++)
        if (in_list(joined, builtins[b].list)) {
            snprintf(out->intent, sizeof(out->intent), "%s", builtins[b].intent);
            return 0;
        }

    /* Best sample: the one matching with the most literal words (so "when is
     * the {BinType} bin" beats "{BinType}" for "when is the black bin"). */
    int best_score = -1;
    size_t i;
    json_t *intent;
    json_array_foreach(m->intents, i, intent) {
        size_t k;
        json_t *sample;
        json_array_foreach(json_object_get(intent, "samples"), k, sample) {
            toks_t st;
            if (!json_is_string(sample))
                continue;
            tokenize(json_string_value(sample), &st);
            match_ctx_t c = {.m = m, .intent = intent, .sample = &st, .utt = &rest, .today = today};
            if (!match_at(&c, 0, 0))
                continue;
            int score = (int)(st.n - c.n_slots);
            if (score > best_score) {
                best_score = score;
                snprintf(out->intent, sizeof(out->intent), "%s",
                         json_string_value(json_object_get(intent, "name")));
                memcpy(out->slots, c.slots, sizeof(c.slots));
                out->n_slots = c.n_slots;
            }
        }
    }
    if (best_score < 0)
        snprintf(out->intent, sizeof(out->intent), "AMAZON.FallbackIntent");
    return 0;
}
