/* test_addrmatch.c - tokeniser and matcher on hand-made hard cases: suffixes,
 * ranges, flats and buildings, named houses, street-type clashes, typos,
 * St = Street/Saint, outside the district; and issue 16's: names that contain
 * one another, ground/first floor flats, misspelt street types, a number
 * that is a house's and not a flat's, never "ambiguous" with one option. */
#include <stdio.h>
#include <string.h>

#include "binday/data/addrmatch.h"
#include "tap.h"

#define S(x) ((rec_str_t){(x), (uint32_t)strlen(x)})
#define NOSTR ((rec_str_t){NULL, 0})

static addrmatch_cand_t C[32];
static size_t NC;

static void cand(uint64_t uprn, uint64_t parent, const char *saon, const char *paon,
                 const char *street)
{
    addrmatch_cand_t *c = &C[NC++];
    memset(c, 0, sizeof(*c));
    c->uprn = uprn;
    c->parent_uprn = parent;
    c->saon = saon ? S(saon) : NOSTR;
    c->paon = S(paon);
    c->street = S(street);
    c->town = S("DEREHAM");
}

static addrmatch_result_t R;

static int match(const char *l1, const char *l2, const char *pc, const char *country)
{
    addrmatch_input_t in;
    memset(&in, 0, sizeof(in));
    if (l1) {
        in.line[0] = (const uint8_t *)l1;
        in.line_len[0] = strlen(l1);
    }
    if (l2) {
        in.line[1] = (const uint8_t *)l2;
        in.line_len[1] = strlen(l2);
    }
    if (pc) {
        in.postcode = (const uint8_t *)pc;
        in.postcode_len = strlen(pc);
    }
    if (country) {
        in.country = (const uint8_t *)country;
        in.country_len = strlen(country);
    }
    addrmatch_query_t q;
    int pre = addrmatch_prepare(&in, &q);
    if (pre >= 0) {
        memset(&R, 0, sizeof(R));
        R.kind = (am_kind_t)pre;
        return pre;
    }
    addrmatch_match(&q, C, NC, &R);
    return R.kind;
}

static uint64_t got(void)
{
    return R.kind == AM_EXACT ? C[R.best].uprn : R.kind == AM_BUILDING ? R.building_uprn : 0;
}

int main(void)
{
    am_token_t t[AM_MAX_TOKENS];
    size_t n = addrmatch_tokenize((const uint8_t *)"Flat 2, 12-14 St. Mary's Rd", strlen("Flat 2, 12-14 St. Mary's Rd"), t, AM_MAX_TOKENS);
    is_int(n, 6, "tokens");
    is_str(t[0].s, "FLAT", "flat marker");
    is_str(t[2].s, "12-14", "range kept");
    is_str(t[3].s, "ST", "St. -> ST");
    is_str(t[4].s, "MARYS", "apostrophe joined");
    is_str(t[5].s, "RD", "Rd canonical");
    n = addrmatch_tokenize((const uint8_t *)"Saint Marys Street", strlen("Saint Marys Street"), t, AM_MAX_TOKENS);
    ok(n == 3 && strcmp(t[0].s, "ST") == 0 && strcmp(t[2].s, "ST") == 0, "Saint and Street");
    const char *curly = "the  old\xE2\x80\x99s  no 07";
    n = addrmatch_tokenize((const uint8_t *)curly, strlen(curly), t, AM_MAX_TOKENS);
    ok(n == 2 && strcmp(t[0].s, "OLDS") == 0 && strcmp(t[1].s, "7") == 0,
       "THE/NO dropped, curly apostrophe, leading zero");

    /* numbered street with suffixes */
    NC = 0;
    cand(1, 0, NULL, "12", "HIGH STREET");
    cand(2, 0, NULL, "14A", "HIGH STREET");
    cand(3, 0, NULL, "16", "HIGH STREET");
    cand(4, 0, NULL, "12", "CHURCH LANE");
    cand(5, 0, NULL, "12", "CHURCH CLOSE");
    cand(6, 0, NULL, "5", "ST MARYS CLOSE");
    cand(7, 0, NULL, "5", "MARKET STREET");
    cand(8, 0, NULL, "20-22", "HIGH STREET");
    is_int(match("12 High St", NULL, "nr19 1aa", NULL), AM_EXACT, "12 High St");
    is_int(got(), 1, "right house");
    is_int(match("12 high street", NULL, "NR191AA", "gb"), AM_EXACT, "lowercase, country gb");
    ok(match("14 High St", NULL, "NR19 1AA", NULL) != AM_EXACT, "14 is not 14A (never exact)");
    is_int(match("16A High St", NULL, "NR19 1AA", NULL), AM_NONE, "16A is not 16");
    is_int(match("14a High Street", NULL, "NR19 1AA", NULL), AM_EXACT, "14a -> 14A");
    is_int(got(), 2, "14A");
    is_int(match("14 A High Street", NULL, "NR19 1AA", NULL), AM_EXACT, "14 A -> 14A");
    is_int(got(), 2, "14A with a space");
    is_int(match("12 High Road", NULL, "NR19 1AA", NULL), AM_EXACT, "wrong street type, one 12 High");
    is_int(got(), 1, "12 High Street");
    is_int(match("12 Church Ln", NULL, "NR19 1AA", NULL), AM_EXACT, "Lane vs Close");
    is_int(got(), 4, "Church Lane");
    is_int(match("12 Church Close", NULL, "NR19 1AA", NULL), AM_EXACT, "Close");
    is_int(got(), 5, "Church Close");
    is_int(match("12 Church", NULL, "NR19 1AA", NULL), AM_AMBIGUOUS, "no street type: ambiguous");
    is_int(match("5 St. Mary's Cl", NULL, "NR19 1AA", NULL), AM_EXACT, "Saint");
    is_int(got(), 6, "St Marys Close");
    is_int(match("5 Market St", NULL, "NR19 1AA", NULL), AM_EXACT, "Street");
    is_int(got(), 7, "Market Street");
    is_int(match("12 Hihg Street", NULL, "NR19 1AA", NULL), AM_EXACT, "transposition typo");
    is_int(got(), 1, "High Street");
    is_int(match("21 High Street", NULL, "NR19 1AA", NULL), AM_NONE, "no such number");
    is_int(match("22 High Street", NULL, "NR19 1AA", NULL), AM_EXACT, "range 20-22 covers 22");
    is_int(got(), 8, "the range");
    is_int(match("High Street", NULL, "NR19 1AA", NULL), AM_AMBIGUOUS, "missing number");
    ok(R.n_idx >= 3, "candidates offered (%zu)", R.n_idx);
    is_int(match("Mr Smith", "12 High St", "NR19 1AA", NULL), AM_EXACT, "person's name in line 1");

    /* flats and their building */
    NC = 0;
    cand(10, 0, NULL, "7", "CHURCH STREET");
    for (int f = 1; f <= 4; f++) {
        static char saon[4][24];
        snprintf(saon[f - 1], sizeof(saon[0]), "FLAT %d", f);
        cand(10 + (uint64_t)f, 10, saon[f - 1], "7", "CHURCH STREET");
    }
    cand(20, 0, NULL, "9", "CHURCH STREET");
    is_int(match("Flat 3", "7 Church St", "NR19 1AA", NULL), AM_EXACT, "flat in line 1");
    is_int(got(), 13, "flat 3");
    is_int(match("3/7 Church Street", NULL, "NR19 1AA", NULL), AM_EXACT, "slash form");
    is_int(got(), 13, "flat 3 again");
    is_int(match("flat3 7 church st", NULL, "NR19 1AA", NULL), AM_EXACT, "flat3");
    is_int(match("7 Church Street", NULL, "NR19 1AA", NULL), AM_BUILDING, "no flat: building");
    is_int(got(), 10, "parent UPRN");
    is_int(match("Flat 9, 7 Church Street", NULL, "NR19 1AA", NULL), AM_BUILDING,
           "unknown flat: building, not a wrong flat");
    is_int(match("Flat 2, 9 Church Street", NULL, "NR19 1AA", NULL), AM_BUILDING,
           "flat of an unsplit house: building of that house");
    is_int(got(), 20, "9 Church Street");

    /* named houses */
    NC = 0;
    cand(30, 0, NULL, "ROSE COTTAGE", "THE STREET");
    cand(31, 0, NULL, "ROSE FARM", "THE STREET");
    cand(32, 0, NULL, "IVY COTTAGE", "THE STREET");
    cand(33, 0, NULL, "THE OLD RECTORY", "CHURCH LANE");
    is_int(match("Rose Cottage", NULL, "IP25 7AB", NULL), AM_EXACT, "name only");
    is_int(got(), 30, "Rose Cottage");
    is_int(match("The Street", "Rose Farm", "IP25 7AB", NULL), AM_EXACT, "name in line 2");
    is_int(got(), 31, "Rose Farm");
    is_int(match("Old Rectory", NULL, "IP25 7AB", NULL), AM_EXACT, "without The");
    is_int(match("Rose", "The Street", "IP25 7AB", NULL), AM_AMBIGUOUS, "Rose: which one?");
    is_int(match("Ivy Cotage", NULL, "IP25 7AB", NULL), AM_EXACT, "typo in name");
    is_int(got(), 32, "Ivy Cottage");
    is_int(match("The Street", NULL, "IP25 7AB", NULL), AM_AMBIGUOUS, "street only");

    /* outside / none */
    is_int(match("410 Terry Ave N", NULL, "20146", "US"), AM_OUTSIDE, "Amazon US test address");
    is_int(match("410 Terry Ave N", NULL, "20146", NULL), AM_OUTSIDE, "ZIP without country");
    is_int(match("1 Main St", NULL, "D02 X285", "IE"), AM_OUTSIDE, "other country");
    is_int(match("1 Main St", NULL, NULL, "GB"), AM_NONE, "no postcode");
    is_int(match("1 Main St", NULL, "garbage", "GB"), AM_NONE, "bad postcode");
    NC = 0;
    is_int(match("1 Main St", NULL, "NR19 1AA", NULL), AM_NONE, "no candidates");

    /* a flat number is never a house number: "Flat 2, Church Street" must not
     * confidently match the house at 2 Church Street (found by the skill tests) */
    NC = 0;
    cand(40, 0, NULL, "2", "CHURCH STREET");
    cand(41, 0, NULL, "7", "CHURCH STREET");
    cand(42, 41, "FLAT 1", "7", "CHURCH STREET");
    cand(43, 41, "FLAT 2", "7", "CHURCH STREET");
    int k = match("Flat 2, Church Street", NULL, "NR19 1AD", NULL);
    ok(k == AM_AMBIGUOUS || (k == AM_EXACT && got() == 43), "Flat 2, Church St: not the house at number 2");
    is_int(match("Flat 2, 7 Church Street", NULL, "NR19 1AD", NULL), AM_EXACT, "Flat 2, 7 Church St: exact");
    is_int(got(), 43, "the flat");
    is_int(match("2 Church Street", NULL, "NR19 1AD", NULL), AM_EXACT, "2 Church St: the house");
    is_int(got(), 40, "the house");

    /* ---- issue 16 ---- */
    /* an exact house name beats a name that contains it, both ways round */
    NC = 0;
    cand(50, 0, NULL, "MILL HOUSE", "CHURCH LANE");
    cand(51, 0, NULL, "MILL HOUSE SOUTH", "CHURCH LANE");
    cand(52, 0, NULL, "MILL HOUSE FARM", "CHURCH LANE");
    cand(53, 0, NULL, "ROSE COTTAGE", "CHURCH LANE");
    cand(54, 0, NULL, "THE COTTAGE", "CHURCH LANE");
    cand(55, 0, NULL, "CHURCH LODGE", "CHURCH LANE");
    cand(56, 0, NULL, "THE LODGE", "CHURCH LANE");
    static const struct {
        const char *l1, *l2;
        uint64_t want;
    } names[] = {
        {"Mill House", NULL, 50},          {"Mill House", "Church Lane", 50},
        {"Mill House South", NULL, 51},    {"Mill House South", "Church Lane", 51},
        {"Mill House Farm, Church Lane", NULL, 52}, {"Rose Cottage", NULL, 53},
        {"Rose Cottage", "Church Lane", 53}, {"The Cottage", NULL, 54},
        {"The Cottage", "Church Lane", 54}, {"Church Lodge", "Church Lane", 55},
        {"The Lodge", "Church Lane", 56},  {"The Lodge, Church Lane", NULL, 56},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        int kk = match(names[i].l1, names[i].l2, "NR20 1AA", NULL);
        ok(kk == AM_EXACT && got() == names[i].want, "name %s | %s: exact %llu (got %s %llu)",
           names[i].l1, names[i].l2 ? names[i].l2 : "", (unsigned long long)names[i].want,
           addrmatch_kind_name((am_kind_t)kk), (unsigned long long)got());
    }
    is_int(match("Mill", "Church Lane", "NR20 1AA", NULL), AM_AMBIGUOUS, "Mill alone: which one?");
    ok(R.n_idx >= 3, "Mill: the three Mill Houses offered (%zu)", R.n_idx);

    /* a name that ends like the street: SOUTH is the street's here */
    NC = 0;
    cand(57, 0, NULL, "THE OLD BUNGALOW", "ST ANDREWS CLOSE SOUTH");
    cand(58, 0, NULL, "THE OLD BUNGALOW SOUTH", "ST ANDREWS CLOSE SOUTH");
    is_int(match("The Old Bungalow St Andrews Close South", NULL, "NR20 1XL", NULL), AM_EXACT,
           "The Old Bungalow, St Andrews Close South: exact");
    is_int(got(), 57, "not The Old Bungalow South");
    is_int(match("The Old Bungalow South", "St Andrews Close South", "NR20 1XL", NULL), AM_EXACT,
           "The Old Bungalow South: exact");
    is_int(got(), 58, "The Old Bungalow South");

    /* typed words that a candidate lacks count against it */
    NC = 0;
    cand(60, 0, NULL, "20", "HIGH STREET");
    cand(61, 60, "GROUND FLOOR FLAT", "20", "HIGH STREET");
    cand(62, 60, "FIRST FLOOR FLAT", "20", "HIGH STREET");
    cand(63, 0, NULL, "22", "HIGH STREET");
    n = addrmatch_tokenize((const uint8_t *)"Ground Floor Flat, 20 High Street",
                           strlen("Ground Floor Flat, 20 High Street"), t, AM_MAX_TOKENS);
    ok(n == 6 && strcmp(t[2].s, "FLAT") == 0 && t[2].kind != t[0].kind + 3 &&
           strcmp(t[3].s, "20") == 0,
       "GROUND FLOOR FLAT: FLAT is a word of the name, 20 stays the house number");
    is_int(match("Ground Floor Flat, 20 High Street", NULL, "NR19 1AC", NULL), AM_EXACT,
           "Ground Floor Flat: exact, not ambiguous with First Floor Flat");
    is_int(got(), 61, "the ground floor flat");
    is_int(match("First Floor Flat", "20 High Street", "NR19 1AC", NULL), AM_EXACT,
           "First Floor Flat in line 1");
    is_int(got(), 62, "the first floor flat");
    is_int(match("20 High Street", NULL, "NR19 1AC", NULL), AM_BUILDING, "20: the building");
    is_int(got(), 60, "parent of the floor flats");
    is_int(match("22 High Street", NULL, "NR19 1AC", NULL), AM_EXACT, "22 unaffected");

    /* "3 Priory Road" is not Flat 3 of Priory House (on Priory Road) */
    NC = 0;
    cand(70, 0, NULL, "3", "PRIORY ROAD");
    cand(71, 0, NULL, "5", "PRIORY ROAD");
    cand(72, 0, NULL, "PRIORY HOUSE", "PRIORY ROAD");
    for (int f = 1; f <= 4; f++) {
        static char saon2[4][24];
        snprintf(saon2[f - 1], sizeof(saon2[0]), "FLAT %d", f);
        cand(72 + (uint64_t)f, 72, saon2[f - 1], "PRIORY HOUSE", "PRIORY ROAD");
    }
    is_int(match("3 Priory Road", NULL, "IP24 1AA", NULL), AM_EXACT, "3 Priory Road: exact");
    is_int(got(), 70, "the house, not flat 3");
    is_int(match("Flat 3, Priory House", "Priory Road", "IP24 1AA", NULL), AM_EXACT,
           "Flat 3, Priory House: exact");
    is_int(got(), 75, "flat 3");
    is_int(match("3 Priory House", "Priory Road", "IP24 1AA", NULL), AM_EXACT,
           "3 Priory House: the building named in full, so 3 is its flat");
    is_int(got(), 75, "flat 3 again");
    is_int(match("Priory House", "Priory Road", "IP24 1AA", NULL), AM_BUILDING,
           "Priory House: the building");
    is_int(got(), 72, "the building's UPRN");

    /* typos in street types */
    addrmatch_query_t qq;
    addrmatch_input_t qin;
    memset(&qin, 0, sizeof(qin));
    qin.line[0] = (const uint8_t *)"9 The Stret";
    qin.line_len[0] = strlen("9 The Stret");
    qin.postcode = (const uint8_t *)"IP25 7AB";
    qin.postcode_len = 8;
    is_int(addrmatch_prepare(&qin, &qq), -1, "prepare 9 The Stret");
    ok(qq.n_tok == 2 && strcmp(qq.tok[1].s, "STRET") == 0 && strcmp(qq.tok[1].alt, "ST") == 0,
       "STRET keeps its spelling and stands for ST");
    qin.line[0] = (const uint8_t *)"1 Read Raod";
    qin.line_len[0] = strlen("1 Read Raod");
    addrmatch_prepare(&qin, &qq);
    ok(qq.n_tok == 3 && qq.tok[1].alt[0] == '\0' && strcmp(qq.tok[2].alt, "RD") == 0,
       "RAOD (transposed) is a road, READ is not");
    n = addrmatch_tokenize((const uint8_t *)"The Stret", 9, t, AM_MAX_TOKENS);
    ok(n == 1 && t[0].alt[0] == '\0', "stored addresses are not read fuzzily");
    NC = 0;
    cand(80, 0, NULL, "9", "THE STREET");
    cand(81, 0, NULL, "ROSE COTTAGE", "THE STREET");
    cand(82, 0, NULL, "12", "CHURCH CLOSE");
    cand(83, 0, NULL, "12", "CHURCH LANE");
    is_int(match("9 The Stret", NULL, "IP25 7AB", NULL), AM_EXACT, "9 The Stret: exact");
    is_int(got(), 80, "9 The Street");
    is_int(match("9 The Steet", NULL, "IP25 7AB", NULL), AM_EXACT, "9 The Steet: exact");
    is_int(match("12 Church Clsoe", NULL, "IP25 7AB", NULL), AM_EXACT, "Clsoe is Close");
    is_int(got(), 82, "Church Close");
    is_int(match("12 Church Laen", NULL, "IP25 7AB", NULL), AM_EXACT, "Laen is Lane");
    is_int(got(), 83, "Church Lane");

    /* a single candidate is never "ambiguous" */
    NC = 0;
    cand(90, 0, NULL, "14A", "HIGH STREET");
    cand(91, 0, NULL, "16", "HIGH STREET");
    static const char *const one[] = {"14 High Street", "9 The Stret", "Flat 2, 14 High St",
                                      "14A", "High Street", "14B High Street", "Mill House"};
    for (size_t i = 0; i < sizeof(one) / sizeof(one[0]); i++) {
        int kk = match(one[i], NULL, "NR19 1AA", NULL);
        ok(kk != AM_AMBIGUOUS || R.n_idx >= 2, "%s: %s with %zu candidates", one[i],
           addrmatch_kind_name((am_kind_t)kk), R.n_idx);
    }
    is_int(match("14 High Street", NULL, "NR19 1AA", NULL), AM_NONE,
           "14 where only 14A has that number: no match rather than a choice of one");
    is_int(match("High Street", NULL, "NR19 1AA", NULL), AM_AMBIGUOUS, "no number: both offered");
    is_int(R.n_idx, 2, "two candidates");
    is_int(match("14A Hihg Stret", NULL, "NR19 1AA", NULL), AM_EXACT,
           "postcode and number name the only candidate");
    return done_testing();
}
