/* addrmatch.c - owns address matching: tokenising free text the way residents
 * type it, scoring the properties of a postcode against it, and deciding how
 * sure we are.
 *
 * Philosophy: a confidently wrong answer (telling a resident the wrong bin
 * day) is worse than asking a follow-up question, so "exact" needs every
 * identifying part of the property (house number with suffix, flat, or house
 * name) to be present and nothing in the input to contradict it, plus a clear
 * margin over the runner-up. Anything less becomes ambiguous/building/none.
 * Scores are small integers; the weights are documented in
 * docs/address-matching.md.
 */
#include "binday/data/addrmatch.h"

#include <stdlib.h>
#include <string.h>

enum { T_WORD = 0, T_NUM, T_RANGE, T_FLAT };

#define MARGIN 15
#define MIN_SCORE 25
#define MISSING_WORD 20 /* per typed word a candidate lacks (more than the best) */

const char *addrmatch_kind_name(am_kind_t k)
{
    static const char *const n[] = {"exact", "ambiguous", "building", "postcode", "none",
                                    "outside"};
    return k <= AM_OUTSIDE ? n[k] : "none";
}

/* ---- tokenising ------------------------------------------------------------- */

static const struct {
    const char *from, *to;
} canon[] = {
    {"STREET", "ST"},     {"STR", "ST"},       {"SAINT", "ST"},      {"ROAD", "RD"},
    {"AVENUE", "AVE"},    {"AV", "AVE"},       {"CLOSE", "CL"},      {"COURT", "CT"},
    {"CRT", "CT"},        {"DRIVE", "DR"},     {"LANE", "LN"},       {"GARDENS", "GDNS"},
    {"GDN", "GDNS"},      {"PLACE", "PL"},     {"SQUARE", "SQ"},     {"CRESCENT", "CRES"},
    {"CRESC", "CRES"},    {"TERRACE", "TER"},  {"TERR", "TER"},      {"TCE", "TER"},
    {"PARK", "PK"},       {"GREEN", "GRN"},    {"GROVE", "GR"},      {"GRV", "GR"},
    {"WALK", "WLK"},      {"YARD", "YD"},      {"COTTAGES", "COTTS"}, {"MOUNT", "MT"},
    {"NORTH", "N"},       {"SOUTH", "S"},      {"EAST", "E"},        {"WEST", "W"},
    {"UPPER", "UPR"},     {"LOWER", "LWR"},    {"GREAT", "GT"},      {"LITTLE", "LT"},
};

static const char *const flat_words[] = {"FLAT", "FLT", "APARTMENT", "APT", "UNIT",
                                         "APARTMENTS", "FLATS", "MAISONETTE"};
static const char *const drop_words[] = {"THE", "NO", "NUMBER", "OF", "AND"};
static const char *const type_words[] = {"ST",  "RD",  "AVE", "CL",   "CT",   "DR",  "LN",
                                         "GDNS", "PL", "SQ",  "CRES", "TER",  "PK",  "GRN",
                                         "GR",  "WAY", "MEWS", "ROW", "HILL", "WLK", "CHASE",
                                         "VIEW", "YD", "RISE", "END", "LOKE", "DROVE"};
/* Words that make a following FLAT part of a named unit ("GROUND FLOOR FLAT",
 * "TOP FLAT"): there FLAT is a word of the unit's name, not a flat marker
 * whose number follows, so "Ground Floor Flat, 20 High St" keeps 20 as the
 * house number. */
static const char *const floor_words[] = {"FLOOR", "GROUND", "FIRST", "SECOND", "THIRD",
                                          "TOP",   "BASEMENT", "UPR", "LWR", "GARDEN"};
/* Street types residents misspell ("The Stret", "Clsoe"): the long forms of
 * canon[] a typed word may be one edit from. Only query words get this
 * (stored addresses are spelt as the council keeps them), and the word keeps
 * its own spelling too (am_token_t.alt). Four-letter forms only by an
 * adjacent transposition ("Raod"): one substitution would make READ a road. */
static const struct {
    const char *from, *to;
} type_typos[] = {
    {"STREET", "ST"}, {"AVENUE", "AVE"}, {"CLOSE", "CL"},   {"COURT", "CT"},
    {"DRIVE", "DR"},  {"GARDENS", "GDNS"}, {"PLACE", "PL"}, {"SQUARE", "SQ"},
    {"CRESCENT", "CRES"}, {"TERRACE", "TER"}, {"GREEN", "GRN"}, {"GROVE", "GR"},
    {"ROAD", "RD"},   {"LANE", "LN"},
};
static const char *const generic_name_words[] = {"COTTAGE", "COTTS", "HOUSE", "FARM",
                                                 "BARN",    "LODGE", "VILLA", "BUNGALOW",
                                                 "HALL",    "FARMHOUSE"};

static int in_list(const char *s, const char *const *list, size_t n)
{
    /* first byte check before strcmp: these lists are scanned per token */
    for (size_t i = 0; i < n; i++)
        if (s[0] == list[i][0] && strcmp(s, list[i]) == 0)
            return 1;
    return 0;
}
#define IN(s, l) in_list((s), (l), sizeof(l) / sizeof((l)[0]))

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Classify and canonicalise a raw token; may emit two (e.g. "FLAT2"). */
static int lev(const char *a, size_t la, const char *b, size_t lb);

/* The street type a misspelt query word stands for, or NULL. */
static const char *type_typo(const char *s, size_t len)
{
    if (len < 4)
        return NULL;
    for (size_t i = 0; i < sizeof(type_typos) / sizeof(type_typos[0]); i++) {
        size_t fl = strlen(type_typos[i].from);
        if (fl == 4) {
            /* one adjacent transposition only */
            if (len != 4)
                continue;
            size_t d = 0, at = 0;
            for (size_t k = 0; k < 4; k++)
                if (s[k] != type_typos[i].from[k]) {
                    if (d++ == 0)
                        at = k;
                }
            if (d == 2 && at < 3 && s[at] == type_typos[i].from[at + 1] &&
                s[at + 1] == type_typos[i].from[at])
                return type_typos[i].to;
            continue;
        }
        if (len < 5 || (len > fl ? len - fl : fl - len) > 1)
            continue;
        /* one edit leaves the first or the last letter in place: a cheap
         * filter before the edit distance (this runs per query word) */
        if (s[0] != type_typos[i].from[0] && s[len - 1] != type_typos[i].from[fl - 1])
            continue;
        if (lev(s, len, type_typos[i].from, fl) == 1)
            return type_typos[i].to;
    }
    return NULL;
}

static size_t emit(const char *raw, size_t len, am_token_t *tok, size_t n, size_t max, int fuzzy)
{
    char s[AM_TOKEN_LEN];
    if (len == 0)
        return n;
    if (len >= AM_TOKEN_LEN)
        len = AM_TOKEN_LEN - 1;
    memcpy(s, raw, len);
    s[len] = '\0';
    /* "FLAT2", "APT3B": only tokens that start like a flat word and hold a digit */
    if ((s[0] == 'F' || s[0] == 'A' || s[0] == 'U' || s[0] == 'M') && len > 3 &&
        !is_digit(s[0]) && strpbrk(s, "0123456789") != NULL) {
        for (size_t i = 0; i < sizeof(flat_words) / sizeof(flat_words[0]); i++) {
            size_t fl = strlen(flat_words[i]);
            if (len > fl && memcmp(s, flat_words[i], fl) == 0 && is_digit(s[fl])) {
                n = emit(flat_words[i], fl, tok, n, max, fuzzy);
                return emit(s + fl, len - fl, tok, n, max, fuzzy);
            }
        }
    }
    if (n >= max)
        return n;
    am_token_t *t = &tok[n];
    t->alt[0] = '\0';
    size_t d = 0;
    while (d < len && is_digit(s[d]))
        d++;
    if (d > 0 && (d == len || (d + 1 == len && !is_digit(s[d]) && s[d] != '-'))) {
        t->kind = T_NUM;
    } else if (d > 0 && s[d] == '-') {
        t->kind = T_RANGE;
    } else if (IN(s, flat_words)) {
        /* "GROUND FLOOR FLAT": a word of the unit's name, not a marker */
        int named = n > 0 && tok[n - 1].kind == T_WORD && IN(tok[n - 1].s, floor_words);
        t->kind = named ? T_WORD : T_FLAT;
        strcpy(s, "FLAT");
        len = 4;
    } else {
        if (IN(s, drop_words))
            return n;
        t->kind = T_WORD;
        int known = 0;
        for (size_t i = 0; i < sizeof(canon) / sizeof(canon[0]); i++)
            if (s[0] == canon[i].from[0] && strcmp(s, canon[i].from) == 0) {
                len = strlen(canon[i].to);
                memcpy(s, canon[i].to, len + 1);
                known = 1;
                break;
            }
        if (fuzzy && !known && !IN(s, type_words) && !IN(s, generic_name_words) &&
            !IN(s, floor_words)) {
            const char *a = type_typo(s, len);
            if (a)
                memcpy(t->alt, a, strlen(a) + 1);
        }
    }
    /* numbers compare without leading zeros ("07" = "7") */
    if (t->kind == T_NUM) {
        size_t z = 0;
        while (z + 1 < len && s[z] == '0' && is_digit(s[z + 1]))
            z++;
        memmove(s, s + z, len - z + 1);
        len -= z;
    }
    memcpy(t->s, s, len + 1);
    t->len = (uint8_t)len;
    return n + 1;
}

/* "12 A" -> "12A": a lone letter right after a plain house number is its
 * suffix (residents often type the space). Not after a flat marker's number,
 * and not the compass letters N/S/E/W ("12 N Street"). */
static size_t merge_suffixes(am_token_t *tok, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (o > 0 && tok[i].kind == T_WORD && tok[i].len == 1 && tok[i].s[0] >= 'A' &&
            tok[i].s[0] <= 'H' && tok[o - 1].kind == T_NUM &&
            tok[o - 1].len + 1 < AM_TOKEN_LEN && is_digit(tok[o - 1].s[tok[o - 1].len - 1]) &&
            !(o > 1 && tok[o - 2].kind == T_FLAT) && !(i + 1 < n && tok[i + 1].kind == T_NUM)) {
            am_token_t *t = &tok[o - 1];
            t->s[t->len++] = tok[i].s[0];
            t->s[t->len] = '\0';
            continue;
        }
        if (o != i)
            tok[o] = tok[i];
        o++;
    }
    return o;
}

static size_t tokenize(const uint8_t *in, size_t inlen, am_token_t *tok, size_t max, int fuzzy)
{
    size_t n = 0;
    char cur[64];
    size_t cl = 0;
    for (size_t i = 0; i <= inlen && n < max; i++) {
        if (i < inlen) {
            uint8_t c = in[i];
            /* apostrophes join: "ST MARY'S" = "ST MARYS" */
            if (c == '\'' || c == '`')
                continue;
            if (c == 0xE2 && i + 2 < inlen && in[i + 1] == 0x80 &&
                (in[i + 2] == 0x98 || in[i + 2] == 0x99)) {
                i += 2;
                continue;
            }
            if (c >= 'a' && c <= 'z')
                c = (uint8_t)(c - 32);
            int keep = (c >= 'A' && c <= 'Z') || is_digit((char)c) || c >= 0x80;
            /* a hyphen between digits is a range ("12-14") */
            if (c == '-' && cl > 0 && is_digit(cur[cl - 1]) && i + 1 < inlen &&
                is_digit((char)in[i + 1]) && is_digit(cur[0]))
                keep = 1;
            if (keep) {
                if (cl < sizeof(cur) - 1)
                    cur[cl++] = (char)c;
                continue;
            }
        }
        n = emit(cur, cl, tok, n, max, fuzzy);
        cl = 0;
    }
    return merge_suffixes(tok, n);
}

size_t addrmatch_tokenize(const uint8_t *in, size_t inlen, am_token_t *tok, size_t max)
{
    return tokenize(in, inlen, tok, max, 0);
}

/* ---- prepare --------------------------------------------------------------- */

static int eq_ci(const uint8_t *s, size_t n, const char *lit)
{
    size_t l = strlen(lit);
    if (n != l)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = (char)s[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 32);
        if (c != lit[i])
            return 0;
    }
    return 1;
}

int addrmatch_prepare(const addrmatch_input_t *in, addrmatch_query_t *q)
{
    memset(q->postcode, 0, sizeof(q->postcode));
    q->n_tok = 0;
    if (in->country && in->country_len > 0) {
        /* trim */
        const uint8_t *c = in->country;
        size_t n = in->country_len;
        while (n && (*c == ' ')) {
            c++;
            n--;
        }
        while (n && c[n - 1] == ' ')
            n--;
        if (n > 0 && !eq_ci(c, n, "GB") && !eq_ci(c, n, "UK") && !eq_ci(c, n, "GBR") &&
            !eq_ci(c, n, "UNITED KINGDOM") && !eq_ci(c, n, "GREAT BRITAIN"))
            return AM_OUTSIDE;
    }
    for (int i = 0; i < 3; i++)
        if (in->line[i])
            q->n_tok += tokenize(in->line[i], in->line_len[i], q->tok + q->n_tok,
                                 AM_MAX_TOKENS - q->n_tok, 1);
    if (in->postcode == NULL || in->postcode_len == 0)
        return AM_NONE;
    if (postcode_normalize(in->postcode, in->postcode_len, q->postcode) < 0) {
        q->postcode[0] = '\0';
        /* a ZIP code (Amazon's US test device has 20146) is outside, not "unknown" */
        size_t digits = 0, other = 0;
        for (size_t i = 0; i < in->postcode_len; i++) {
            if (is_digit((char)in->postcode[i]))
                digits++;
            else if (in->postcode[i] != ' ' && in->postcode[i] != '-')
                other++;
        }
        if (other == 0 && (digits == 5 || digits == 9))
            return AM_OUTSIDE;
        return AM_NONE;
    }
    return -1;
}

/* ---- scoring -------------------------------------------------------------- */

/* Edit distance with adjacent transpositions (optimal string alignment),
 * early exit once it exceeds 2. Tokens are short (< AM_TOKEN_LEN). */
static int lev(const char *a, size_t la, const char *b, size_t lb)
{
    int pp[AM_TOKEN_LEN + 1], p[AM_TOKEN_LEN + 1], c[AM_TOKEN_LEN + 1];
    for (size_t j = 0; j <= lb; j++)
        p[j] = (int)j;
    memset(pp, 0, sizeof(pp));
    for (size_t i = 1; i <= la; i++) {
        c[0] = (int)i;
        int best = c[0];
        for (size_t j = 1; j <= lb; j++) {
            int v = p[j - 1] + (a[i - 1] != b[j - 1]);
            if (p[j] + 1 < v)
                v = p[j] + 1;
            if (c[j - 1] + 1 < v)
                v = c[j - 1] + 1;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && pp[j - 2] + 1 < v)
                v = pp[j - 2] + 1;
            c[j] = v;
            if (v < best)
                best = v;
        }
        if (best > 2)
            return 3;
        memcpy(pp, p, sizeof(p));
        memcpy(p, c, sizeof(c));
    }
    return p[lb];
}

static int word_match(const am_token_t *a, const am_token_t *b)
{
    if (a->len == b->len && memcmp(a->s, b->s, a->len) == 0)
        return 1;
    size_t m = a->len < b->len ? a->len : b->len;
    size_t dl = a->len > b->len ? (size_t)(a->len - b->len) : (size_t)(b->len - a->len);
    if (m < 4 || dl > 2)
        return 0;
    int d = lev(a->s, a->len, b->s, b->len);
    return d <= 1 || (m >= 7 && d <= 2);
}

typedef struct cand_toks {
    am_token_t saon[8], paon[8], street[8];
    size_t ns, np, nst;
} cand_toks_t;

static size_t toks(rec_str_t s, am_token_t *t, size_t max)
{
    return s.p ? addrmatch_tokenize((const uint8_t *)s.p, s.n, t, max) : 0;
}

/* Query word qt against a stored word w: as typed, or as the street type a
 * misspelt word stands for. */
static int qword_match(const am_token_t *qt, const am_token_t *w)
{
    return word_match(qt, w) || (qt->alt[0] && strcmp(qt->alt, w->s) == 0);
}

static int q_has_word(const addrmatch_query_t *q, const am_token_t *w)
{
    for (size_t i = 0; i < q->n_tok; i++)
        if (q->tok[i].kind == T_WORD && qword_match(&q->tok[i], w))
            return 1;
    return 0;
}

/* The street type a query word is (canonical, or the one a typo stands for). */
static const char *q_type(const am_token_t *t)
{
    if (t->kind != T_WORD)
        return NULL;
    if (IN(t->s, type_words))
        return t->s;
    return t->alt[0] ? t->alt : NULL;
}

/* Weighted fraction (x100) of the word tokens of a field found in the query.
 * Each query word explains one stored word only (taken[] marks those used):
 * in "The Lodge, Church Lane" the one CHURCH is the street's, so it cannot
 * also make CHURCH LODGE's name whole. Fields are scored name first. */
static int frac_words(const addrmatch_query_t *q, const am_token_t *t, size_t n,
                      const char *const *light, size_t n_light, int *n_words, uint8_t *taken,
                      int *unmatched)
{
    int tot = 0, got = 0, nhit = 0;
    *n_words = 0;
    for (size_t i = 0; i < n; i++) {
        if (t[i].kind != T_WORD)
            continue;
        int w = in_list(t[i].s, light, n_light) ? 1 : 2;
        (*n_words)++;
        tot += w;
        for (size_t k = 0; k < q->n_tok; k++)
            if (!taken[k] && q->tok[k].kind == T_WORD && qword_match(&q->tok[k], &t[i])) {
                taken[k] = 1;
                got += w;
                nhit++;
                break;
            }
    }
    /* words of a field the resident began to type but this candidate has
     * more of ("ST ANDREWS CLOSE SOUTH" read with SOUTH given to the name
     * THE OLD BUNGALOW SOUTH); a field not typed at all costs nothing */
    if (nhit > 0)
        *unmatched += *n_words - nhit;
    return tot ? got * 100 / tot : 0;
}

static int num_eq(const am_token_t *a, const am_token_t *b)
{
    return a->len == b->len && memcmp(a->s, b->s, a->len) == 0;
}

static size_t digits_len(const am_token_t *t)
{
    size_t d = 0;
    while (d < t->len && is_digit(t->s[d]))
        d++;
    return d;
}

/* Does query number token qt name the candidate's house number pt?
 * 2 = exactly, 1 = same digits but the candidate has a suffix the query lacks,
 * -1 = the query has a suffix the candidate lacks, 0 = no. */
static int house_num_match(const am_token_t *qt, const am_token_t *pt)
{
    if (pt->kind == T_RANGE) {
        if (num_eq(qt, pt))
            return 2;
        /* "12-14" matches "12" or "14" */
        const char *dash = memchr(pt->s, '-', pt->len);
        if (dash && qt->kind == T_NUM) {
            size_t l1 = (size_t)(dash - pt->s), l2 = pt->len - l1 - 1;
            if ((qt->len == l1 && memcmp(qt->s, pt->s, l1) == 0) ||
                (qt->len == l2 && memcmp(qt->s, dash + 1, l2) == 0))
                return 2;
        }
        return 0;
    }
    if (qt->kind == T_RANGE) {
        const char *dash = memchr(qt->s, '-', qt->len);
        size_t l1 = (size_t)(dash - qt->s);
        return (pt->len == l1 && memcmp(qt->s, pt->s, l1) == 0) ? 1 : 0;
    }
    if (num_eq(qt, pt))
        return 2;
    size_t dq = digits_len(qt), dp = digits_len(pt);
    if (dq != dp || memcmp(qt->s, pt->s, dq) != 0)
        return 0;
    return qt->len == dq ? 1 : -1;
}

typedef struct score {
    int score;
    int complete;
    int conflict;
    int flat_extra; /* the query names a flat this candidate does not have */
    int missing;    /* query words none of this candidate's fields has, plus
                     * words of its partly typed fields that were not typed */
    int but_street; /* complete but for the street ("9 The" for 9 THE STREET) */
} score_t;

static void score_cand(const addrmatch_query_t *q, const addrmatch_cand_t *c, score_t *out)
{
    cand_toks_t ct;
    ct.ns = toks(c->saon, ct.saon, 8);
    ct.np = toks(c->paon, ct.paon, 8);
    ct.nst = toks(c->street, ct.street, 8);
    int used[AM_MAX_TOKENS] = {0};
    uint8_t taken[AM_MAX_TOKENS] = {0}; /* query words explained by a field */
    int score = 0, complete = 1, conflict = 0, flat_extra = 0;
    /* stored words of partly typed fields not typed: the unit and the
     * street count; the name's are left to its fraction and whole-name
     * bonus, so that "Mill" alone stays a question between Mill House and
     * Mill House Farm rather than a guess of the shorter */
    int unmatched = 0, name_unmatched = 0;
    /* the house (or building) name, scored below; needed first to decide
     * whether a bare number can be this candidate's flat */
    int nname;
    int nf = frac_words(q, ct.paon, ct.np, generic_name_words,
                        sizeof(generic_name_words) / sizeof(generic_name_words[0]), &nname,
                        taken, &name_unmatched);

    /* flat / unit */
    const am_token_t *snum = NULL;
    for (size_t i = 0; i < ct.ns; i++)
        if (ct.saon[i].kind == T_NUM || ct.saon[i].kind == T_RANGE) {
            snum = &ct.saon[i];
            break;
        }
    const am_token_t *pnum = NULL;
    for (size_t i = 0; i < ct.np; i++)
        if (ct.paon[i].kind == T_NUM || ct.paon[i].kind == T_RANGE) {
            pnum = &ct.paon[i];
            break;
        }
    if (snum) {
        int found = 0;
        /* "FLAT 3" in the query */
        for (size_t i = 0; i + 1 < q->n_tok && !found; i++)
            if (q->tok[i].kind == T_FLAT && q->tok[i + 1].kind == T_NUM &&
                num_eq(&q->tok[i + 1], snum)) {
                used[i + 1] = 1;
                found = 1;
            }
        /* a bare number that is not the house number ("3, 12 High St", "3/12",
         * "3 Priory House"): only when the building itself is named in full
         * (its number, or every word of its name). Otherwise "3 Priory Road"
         * would read as Flat 3 of Priory House on the strength of one shared
         * word; the number then stays unexplained and contradicts the flat. */
        int building_named = 0;
        if (pnum) {
            for (size_t i = 0; i < q->n_tok && !building_named; i++)
                building_named = (q->tok[i].kind == T_NUM || q->tok[i].kind == T_RANGE) &&
                                 !(i > 0 && q->tok[i - 1].kind == T_FLAT) &&
                                 house_num_match(&q->tok[i], pnum) == 2;
        } else {
            building_named = nname == 0 || nf == 100;
        }
        for (size_t i = 0; i < q->n_tok && !found && building_named; i++)
            if (!used[i] && q->tok[i].kind == T_NUM && num_eq(&q->tok[i], snum) &&
                (pnum == NULL || !num_eq(&q->tok[i], pnum))) {
                used[i] = 1;
                found = 1;
            }
        if (found)
            score += 30;
        else
            complete = 0;
    } else if (ct.ns > 0) {
        /* a named unit ("ANNEXE", "GROUND FLOOR FLAT") */
        int nw;
        int f = frac_words(q, ct.saon, ct.ns, generic_name_words, 0, &nw, taken, &unmatched);
        if (nw > 0 && f == 100)
            score += 20;
        else if (nw > 0 && f >= 50) {
            /* "Ground Flat" for GROUND FLOOR FLAT: likely, but not the whole name */
            score += 10;
            complete = 0;
        } else if (nw > 0) {
            complete = 0;
            score -= 10;
        }
    }
    /* house number */
    if (pnum) {
        int best = 0;
        size_t at = 0;
        for (size_t i = 0; i < q->n_tok; i++) {
            if (used[i] || (q->tok[i].kind != T_NUM && q->tok[i].kind != T_RANGE))
                continue;
            /* the number of "FLAT 2" is never a house number: otherwise "Flat 2,
             * Church St" would confidently match the house at 2 Church St */
            if (i > 0 && q->tok[i - 1].kind == T_FLAT)
                continue;
            int m = house_num_match(&q->tok[i], pnum);
            if (m == 2 || (m != 0 && best == 0)) {
                best = m;
                at = i;
                if (m == 2)
                    break;
            }
        }
        if (best == 2) {
            score += 50;
            used[at] = 1;
        } else if (best == 1) {
            score += 25;
            complete = 0;
            used[at] = 1;
        } else if (best == -1) {
            score -= 30;
            conflict = 1;
            used[at] = 1;
        } else {
            complete = 0;
        }
    }
    /* house name; the whole name earns a bonus so that an exact name beats
     * a longer one that contains it ("Mill House" vs "Mill House Farm": 60 vs
     * 37), and words the longer name lacks count against it (missing, below) */
    if (nname > 0) {
        score += 50 * nf / 100;
        if (nf == 100)
            score += 10;
        if (pnum == NULL && nf < 50)
            complete = 0;
    }
    /* street */
    int nsw;
    int sf = frac_words(q, ct.street, ct.nst, type_words,
                        sizeof(type_words) / sizeof(type_words[0]), &nsw, taken,
                        &unmatched);
    score += 30 * sf / 100;
    /* everything but the street identifies it: a house number (with suffix)
     * and the flat if it has one; the postcode and number name one property
     * when nothing else in the postcode is a candidate */
    int but_street = complete && pnum != NULL;
    if (sf < 50 && !(nname > 0 && pnum == NULL && nf == 100))
        complete = 0;
    /* a street type in the query that is not this street's ("Church Lane" vs
     * "Church Close") counts against it */
    int cand_type = -1;
    for (size_t i = 0; i < ct.nst; i++)
        if (ct.street[i].kind == T_WORD && IN(ct.street[i].s, type_words))
            cand_type = (int)i;
    if (cand_type >= 0 && !q_has_word(q, &ct.street[cand_type])) {
        for (size_t i = 0; i < q->n_tok; i++) {
            const char *qt = q_type(&q->tok[i]);
            if (qt && strcmp(qt, "ST") != 0) {
                /* only if that type word is not part of the house name */
                int in_name = 0;
                for (size_t k = 0; k < ct.np; k++)
                    if (qword_match(&q->tok[i], &ct.paon[k]))
                        in_name = 1;
                if (!in_name) {
                    score -= 15;
                    break;
                }
            }
        }
    }
    /* query words that none of saon, paon, street explains. The town, county or
     * a person's name are missing from every candidate alike; the matcher
     * only counts the difference to the best candidate (addrmatch_match). */
    int missing = unmatched;
    for (size_t i = 0; i < q->n_tok; i++)
        missing += q->tok[i].kind == T_WORD && !taken[i];
    /* numbers in the query that this candidate does not explain */
    for (size_t i = 0; i < q->n_tok; i++) {
        if (used[i] || (q->tok[i].kind != T_NUM && q->tok[i].kind != T_RANGE))
            continue;
        int after_flat = i > 0 && q->tok[i - 1].kind == T_FLAT;
        if (snum == NULL && after_flat) {
            flat_extra = 1; /* a flat of this building, not listed on its own */
            score -= 10;
        } else {
            score -= 40;
            conflict = 1;
        }
    }
    out->score = score;
    out->complete = complete && !conflict;
    out->conflict = conflict;
    out->flat_extra = flat_extra;
    out->missing = missing;
    out->but_street = but_street && !conflict;
}

/* The building all of G belongs to (a parent UPRN that is either the parent of
 * each member or the member itself), or 0. */
static uint64_t common_building(const addrmatch_cand_t *c, const size_t *g, size_t n)
{
    uint64_t p = 0;
    for (size_t i = 0; i < n && p == 0; i++)
        p = c[g[i]].parent_uprn;
    if (p == 0)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (c[g[i]].parent_uprn != p && c[g[i]].uprn != p)
            return 0;
    return p;
}

void addrmatch_match(const addrmatch_query_t *q, const addrmatch_cand_t *c, size_t n,
                     addrmatch_result_t *r)
{
    memset(r, 0, sizeof(*r));
    r->kind = AM_NONE;
    if (n == 0)
        return;
    /* keep the top entries only: bounded work and memory whatever n is */
    enum { TOP = 64 };
    size_t top[TOP];
    score_t ts[TOP] = {{0}};
    size_t nt = 0;
    /* Cheap pre-filter: a property without a flat can only explain a bare
     * number of the input as its house number; if its house number differs
     * from every bare number, scoring would mark it a conflict, and conflicts
     * never enter the result. Skip those without tokenising them. */
    unsigned long qnum[AM_MAX_TOKENS];
    size_t nqnum = 0;
    int prefilter = 1;
    for (size_t i = 0; i < q->n_tok; i++) {
        if (q->tok[i].kind == T_RANGE)
            prefilter = 0;
        if (q->tok[i].kind == T_NUM && !(i > 0 && q->tok[i - 1].kind == T_FLAT))
            qnum[nqnum++] = strtoul(q->tok[i].s, NULL, 10);
    }
    if (nqnum == 0)
        prefilter = 0;
    for (size_t i = 0; i < n; i++) {
        if (prefilter && (c[i].saon.p == NULL || c[i].saon.n == 0) && c[i].paon.p) {
            const char *p = c[i].paon.p, *e = p + c[i].paon.n;
            while (p < e && !is_digit(*p))
                p++;
            unsigned long v = 0;
            const char *d0 = p;
            while (p < e && is_digit(*p) && p - d0 < 9)
                v = v * 10 + (unsigned long)(*p++ - '0');
            int range = memchr(c[i].paon.p, '-', c[i].paon.n) != NULL;
            int hit = range;
            for (size_t k = 0; k < nqnum && !hit; k++)
                hit = p > d0 && qnum[k] == v;
            if (!hit)
                continue;
        }
        score_t s;
        score_cand(q, &c[i], &s);
        if (s.score < MIN_SCORE - MARGIN)
            continue;
        size_t pos = nt;
        while (pos > 0 && ts[pos - 1].score < s.score)
            pos--;
        if (pos >= TOP)
            continue;
        size_t last = nt < TOP ? nt : TOP - 1;
        for (size_t k = last; k > pos; k--) {
            top[k] = top[k - 1];
            ts[k] = ts[k - 1];
        }
        top[pos] = i;
        ts[pos] = s;
        if (nt < TOP)
            nt++;
    }
    /* Typed words a candidate lacks count against it, relative to the
     * candidate that lacks fewest: "Ground Floor Flat" is not "First Floor
     * Flat", "Rose Cottage" not "The Cottage". Words every candidate lacks
     * (a town, a person's name) cost nothing. Candidates contradicted by a
     * number do not set the reference. */
    int minmiss = -1;
    for (size_t i = 0; i < nt; i++)
        if (!ts[i].conflict && (minmiss < 0 || ts[i].missing < minmiss))
            minmiss = ts[i].missing;
    if (minmiss >= 0) {
        for (size_t i = 0; i < nt; i++)
            if (ts[i].missing > minmiss)
                ts[i].score -= MISSING_WORD * (ts[i].missing - minmiss);
        for (size_t i = 1; i < nt; i++) { /* re-sort, stable */
            score_t st = ts[i];
            size_t tp = top[i], j = i;
            while (j > 0 && ts[j - 1].score < st.score) {
                ts[j] = ts[j - 1];
                top[j] = top[j - 1];
                j--;
            }
            ts[j] = st;
            top[j] = tp;
        }
    }
    if (nt == 0 || ts[0].score < MIN_SCORE)
        return;
    r->score = ts[0].score;
    /* G: the non-contradicted candidates near the best */
    size_t g[TOP], ng = 0;
    for (size_t i = 0; i < nt; i++)
        if (!ts[i].conflict && ts[i].score >= ts[0].score - MARGIN)
            g[ng++] = i;
    if (ng == 0)
        return;
    size_t gi[TOP];
    for (size_t i = 0; i < ng; i++)
        gi[i] = top[g[i]];
    if (ng == 1) {
        size_t b = g[0];
        int has_children = 0;
        for (size_t j = 0; j < n && !has_children; j++)
            has_children = c[j].parent_uprn == c[top[b]].uprn;
        if (ts[b].complete && has_children) {
            r->kind = AM_BUILDING;
            r->building_uprn = c[top[b]].uprn;
            return;
        }
        if (ts[b].complete && !ts[b].flat_extra) {
            r->kind = AM_EXACT;
            r->best = top[b];
            return;
        }
        if (ts[b].complete && ts[b].flat_extra) {
            /* "Flat 3, 12 High St" where the flats are not listed */
            r->kind = AM_BUILDING;
            r->building_uprn = c[top[b]].parent_uprn ? c[top[b]].parent_uprn : c[top[b]].uprn;
            return;
        }
    } else {
        uint64_t p = common_building(c, gi, ng);
        if (p) {
            r->kind = AM_BUILDING;
            r->building_uprn = p;
            return;
        }
    }
    if (ng == 1) {
        /* One candidate, but not a complete one ("14 High St" for 14A, a street
         * we could not read): "ambiguous" with a single option would ask the
         * resident to choose from one. Offer every uncontradicted candidate
         * that scored; if there is no other, it is no match. */
        for (size_t i = 0; i < nt; i++)
            if (!ts[i].conflict && ts[i].score >= MIN_SCORE - MARGIN && top[i] != gi[0])
                gi[ng++] = top[i];
        if (ng == 1 && ts[g[0]].but_street && !ts[g[0]].flat_extra) {
            /* the only property of the postcode with that number (and flat):
             * postcode and number are how UK addresses are told apart */
            int has_children = 0;
            for (size_t j = 0; j < n && !has_children; j++)
                has_children = c[j].parent_uprn == c[gi[0]].uprn;
            r->kind = has_children ? AM_BUILDING : AM_EXACT;
            r->best = gi[0];
            r->building_uprn = has_children ? c[gi[0]].uprn : 0;
            return;
        }
        if (ng == 1)
            return; /* AM_NONE */
    }
    r->kind = AM_AMBIGUOUS;
    for (size_t i = 0; i < ng && r->n_idx < AM_MAX_RESULT; i++)
        r->idx[r->n_idx++] = gi[i];
}
