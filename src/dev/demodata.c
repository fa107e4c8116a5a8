/* demodata.c - owns the synthetic demo district: towns and villages with real
 * Breckland names, streets and postcode units, numbered houses, named village
 * houses, blocks of flats with parent UPRNs, and the collection set-up the
 * council runs (green/black alternate weekly on the same weekday, weekly
 * food, brown garden waste by subscription, bank-holiday slips, a Christmas
 * calendar, route re-plan with an effective date). The shapes that make
 * address matching hard are there on purpose: house names that contain one
 * another on one street ("ROSE COTTAGE" and "THE COTTAGE", "MILL HOUSE" and
 * "MILL HOUSE SOUTH"), blocks named after their street ("PRIORY HOUSE" on
 * Priory Crescent, next to 3 Priory Crescent) and houses split into ground
 * and first floor flats.
 *
 * materials.csv ("what goes in which bin?") is data/materials.csv, compiled
 * in: the same list is the interaction model's default MATERIAL slot values
 * (`binday skill-package` without --data).
 *
 * Determinism: a private splitmix64 stream seeded from --seed; no clock, no
 * libc rand, so the same options always produce the same files.
 */
#include "binday/dev/demodata.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "binday/util/date.h"
#include "binday/data/holidays.h"

/* data/materials.csv, compiled in (.incbin, as config.c does its schema) */
__asm__(".section .rodata\n"
        ".global binday_demo_materials\n"
        ".type binday_demo_materials, @object\n"
        "binday_demo_materials:\n"
        ".incbin \"data/materials.csv\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char binday_demo_materials[];

const char *demodata_materials_csv(size_t *len)
{
    *len = strlen(binday_demo_materials); /* text: the .byte 0 after it ends it */
    return binday_demo_materials;
}

typedef struct rng {
    uint64_t s;
} rng_t;

static uint64_t next(rng_t *r)
{
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

static unsigned pick(rng_t *r, unsigned n)
{
    return (unsigned)(next(r) % n);
}

static const struct place {
    const char *name;
    const char *outward;
    int weight; /* relative size */
    int village;
} places[] = {
    {"DEREHAM", "NR19", 110, 0},        {"THETFORD", "IP24", 130, 0},
    {"SWAFFHAM", "PE37", 50, 0},        {"ATTLEBOROUGH", "NR17", 60, 0},
    {"WATTON", "IP25", 45, 0},          {"SHIPDHAM", "IP25", 10, 1},
    {"MATTISHALL", "NR20", 10, 1},      {"NECTON", "PE37", 8, 1},
    {"NARBOROUGH", "PE32", 6, 1},       {"MUNDFORD", "IP26", 6, 1},
    {"HOCKHAM", "IP24", 4, 1},          {"GARBOLDISHAM", "IP22", 5, 1},
    {"BANHAM", "NR16", 6, 1},           {"KENNINGHALL", "NR16", 5, 1},
    {"ASHILL", "IP25", 5, 1},           {"SAHAM TONEY", "IP25", 6, 1},
    {"GREAT ELLINGHAM", "NR17", 6, 1},  {"SWANTON MORLEY", "NR20", 9, 1},
    {"YAXHAM", "NR19", 4, 1},           {"OLD BUCKENHAM", "NR17", 6, 1},
    {"LITCHAM", "PE32", 3, 1},          {"NORTH ELMHAM", "NR20", 6, 1},
    {"WEETING", "IP27", 8, 1},          {"BEETLEY", "NR20", 6, 1},
    {"GRESSENHALL", "NR20", 4, 1},      {"SCARNING", "NR19", 9, 1},
    {"CARBROOKE", "IP25", 5, 1},        {"BAWDESWELL", "NR20", 3, 1},
    {"ROCKLAND ST PETER", "NR17", 2, 1}, {"HARLING", "NR16", 9, 1},
};
#define N_PLACES (sizeof(places) / sizeof(places[0]))

static const char *const town_streets[] = {
    "HIGH STREET",       "CHURCH STREET",    "STATION ROAD",     "LONDON ROAD",
    "NORWICH ROAD",      "QUEBEC ROAD",      "ST MARYS CLOSE",   "ST NICHOLAS STREET",
    "MANOR ROAD",        "KINGS ROAD",       "QUEENS ROAD",      "VICTORIA ROAD",
    "ORCHARD CLOSE",     "MEADOW WAY",       "PARK AVENUE",      "ELM DRIVE",
    "OAK CLOSE",         "WILLOW GARDENS",   "BEECH COURT",      "CHERRY TREE ROAD",
    "NEATHERD ROAD",     "WELL STREET",      "EARLS STREET",     "BRIDGE STREET",
    "CASTLE STREET",     "MAGDALEN STREET",  "POUND LANE",       "NORFOLK TERRACE",
    "GREENFIELDS ROAD",  "MILL LANE",        "MARKET PLACE",     "GROVE LANE",
    "HALL ROAD",         "BURY ROAD",        "MUNDFORD ROAD",    "CROXTON ROAD",
    "ABBEY GREEN",       "CLOSE ROAD",       "VICARAGE ROAD",    "SANDY LANE",
    "LARK RISE",         "PRIORY CRESCENT",  "WHITE HART STREET", "BRANDON ROAD",
    "ST JOHNS WAY",      "BECCLES ROAD",     "THE PADDOCKS",     "SAINT WITHBURGA LANE",
    "KING GEORGES AVENUE", "SPRINGFIELD DRIVE", "FIELD VIEW",     "WATERY LANE",
};
static const char *const village_streets[] = {
    "THE STREET",     "CHURCH LANE",     "CHAPEL STREET",  "SCHOOL LANE",   "BACK LANE",
    "WATTON ROAD",    "SWAFFHAM ROAD",   "DEREHAM ROAD",   "MILL ROAD",     "THE GREEN",
    "COMMON ROAD",    "HALL LANE",       "MANOR FARM LANE", "PEDDARS WAY",  "LOW ROAD",
    "ST ANDREWS CLOSE", "THE LOKE",      "CHERRY LANE",    "BRICK KILN LANE", "STOCKS HILL",
};
static const char *const house_words1[] = {
    "ROSE",   "IVY",     "HOLLY",   "OAK",     "ELM",      "WILLOW", "APPLE",  "PEAR TREE",
    "MEADOW", "ORCHARD", "BRIAR",   "LAUREL",  "HAWTHORN", "BEECH",  "LILAC",  "PRIMROSE",
    "FOXGLOVE", "BRAMBLE", "SWALLOWS", "OWL",  "THE OLD",  "CHURCH", "MILL",   "POND",
    "WHEELWRIGHTS", "BLACKSMITHS", "STABLE", "HEATH", "FIELD", "BRECK", "SUNNYSIDE", "WOODSIDE",
};
static const char *const house_words2[] = {
    "COTTAGE", "HOUSE", "FARM", "BARN", "LODGE", "VIEW", "END", "BUNGALOW",
};
static const char *const block_names[] = {
    "MILL COURT",    "ASHDOWN HOUSE",  "KINGFISHER COURT", "ST GEORGES COURT", "ABBEY VIEW",
    "RIVERSIDE HOUSE", "THE MALTINGS", "CORN EXCHANGE HOUSE", "BRECKLAND HOUSE", "WENSUM COURT",
};
static const char inward_letters[] = "ABDEFGHJLNPQRSTUWXYZ";

typedef struct out {
    FILE *f[6];
    size_t rows[6];
} out_t;

enum { F_ADDR, F_SVC, F_ROUND, F_ASG, F_EXC, F_NOTICE };

typedef struct street_ctx {
    uint64_t next_uprn;
    unsigned long usrn;
    unsigned unit_no[N_PLACES];
} gen_t;

/* postcode unit n of an outward code: "NR19 1AB". An outward code has 3,600
 * units here (9 sectors x 400); synthetic districts bigger than the real one
 * overflow into made-up outward codes of the same area ("NR1C 1AB") so that
 * postcodes keep a realistic size (10-20 properties) at a million. */
static void unit_code(const char *outward, unsigned n, char out[16])
{
    unsigned v = n / 3600;
    n %= 3600;
    unsigned sector = 1 + (n / 400) % 9;
    unsigned a = (n / 20) % 20, b = n % 20;
    char ow[8];
    if (v == 0) {
        snprintf(ow, sizeof(ow), "%s", outward);
    } else {
        static const char letters[] = "ABCDEFGHJKMNPRSTUVWXY";
        size_t al = 0;
        while (outward[al] >= 'A' && outward[al] <= 'Z')
            al++;
        unsigned h = (unsigned)(outward[al + 1] ? outward[al + 1] : '0');
        snprintf(ow, sizeof(ow), "%.*s%c%c", (int)al, outward, outward[al],
                 letters[(v - 1 + h * 7) % 21]);
    }
    snprintf(out, 16, "%s %u%c%c", ow, sector, inward_letters[a], inward_letters[b]);
}

/* A property's rounds: day (0-4), crew, and whether it has garden waste. */
typedef struct prop {
    uint64_t uprn;
    int day, crew, garden, communal_parent;
} prop_t;

typedef struct asg_state {
    int crews;
    int year;
    int garden_from, garden_to; /* subscription year */
    int replan;                 /* date of the route re-plan */
    int food_from;
} asg_state_t;

static void write_assign(out_t *o, rng_t *r, const asg_state_t *a, uint64_t uprn, int day,
                         int crew)
{
    static const char *const dn[] = {"MON", "TUE", "WED", "THU", "FRI"};
    char d1[11], d2[11];
    FILE *f = o->f[F_ASG];
    /* 4% of households change day at the route re-plan */
    if (pick(r, 100) < 4) {
        int nday = (day + 1 + (int)pick(r, 4)) % 5;
        int ncrew = (int)pick(r, (unsigned)a->crews) + 1;
        date_format(a->replan - 1, d1);
        date_format(a->replan, d2);
        fprintf(f, "%llu,refuse,REF-%s-%d,,%s\n", (unsigned long long)uprn, dn[day], crew, d1);
        fprintf(f, "%llu,refuse,REF-%s-%d,%s,\n", (unsigned long long)uprn, dn[nday], ncrew, d2);
        fprintf(f, "%llu,recycling,REC-%s-%d,,%s\n", (unsigned long long)uprn, dn[day], crew, d1);
        fprintf(f, "%llu,recycling,REC-%s-%d,%s,\n", (unsigned long long)uprn, dn[nday], ncrew,
                d2);
        o->rows[F_ASG] += 4;
    } else {
        fprintf(f, "%llu,refuse,REF-%s-%d,,\n", (unsigned long long)uprn, dn[day], crew);
        fprintf(f, "%llu,recycling,REC-%s-%d,,\n", (unsigned long long)uprn, dn[day], crew);
        o->rows[F_ASG] += 2;
    }
    fprintf(f, "%llu,food,FOOD-%s-%d,%s,\n", (unsigned long long)uprn, dn[day], crew,
            date_format(a->food_from, d1));
    o->rows[F_ASG]++;
}

static void write_garden(out_t *o, rng_t *r, const asg_state_t *a, uint64_t uprn, int day,
                         int crew)
{
    static const char *const dn[] = {"MON", "TUE", "WED", "THU", "FRI"};
    char d1[11], d2[11];
    int to = a->garden_to;
    unsigned p = pick(r, 100);
    int from = a->garden_from;
    if (p < 12) {
        /* lapsed part-way through the year */
        to = a->garden_from + 60 + (int)pick(r, 240);
    } else if (p < 20) {
        /* joined late */
        from = a->garden_from + 30 + (int)pick(r, 200);
    }
    fprintf(o->f[F_ASG], "%llu,garden,GDN-%s-%d,%s,%s\n", (unsigned long long)uprn, dn[day],
            1 + (crew - 1) % 3, date_format(from, d1), date_format(to, d2));
    o->rows[F_ASG]++;
}

int demodata_write(const char *dir, const demodata_opts_t *opt, demodata_stats_t *st, char *err,
                   size_t err_size)
{
    static const char *const names[6] = {"addresses.csv", "services.csv",   "rounds.csv",
                                         "assignments.csv", "exceptions.csv", "notices.csv"};
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        snprintf(err, err_size, "%s: %s", dir, strerror(errno));
        return -1;
    }
    out_t o;
    memset(&o, 0, sizeof(o));
    for (int i = 0; i < 6; i++) {
        char p[4096];
        snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
        o.f[i] = fopen(p, "w");
        if (o.f[i] == NULL) {
            snprintf(err, err_size, "%s: %s", p, strerror(errno));
            for (int j = 0; j < i; j++)
                fclose(o.f[j]);
            return -1;
        }
        setvbuf(o.f[i], NULL, _IOFBF, 1 << 20);
    }
    rng_t r = {opt->seed * 0x2545F4914F6CDD1DULL + 1};
    /* a second stream for the hard shapes, so that adding them did not
     * reshuffle the draws of everything else */
    rng_t r2 = {opt->seed * 0x9E3779B97F4A7C15ULL + 7};
    int year = opt->year;
    size_t target = opt->properties ? opt->properties : 60000;
    asg_state_t as;
    /* crews per weekday per service: about 1,200 households per crew-day */
    as.crews = (int)(target / 6000) + 1;
    if (as.crews > 40)
        as.crews = 40;
    as.year = year;
    as.garden_from = date_from_ymd(year, 4, 1);
    as.garden_to = date_from_ymd(year + 1, 3, 31);
    as.replan = date_from_ymd(year + 1, 2, 1);
    as.food_from = date_from_ymd(2026, 3, 31) > date_from_ymd(year, 1, 1)
                       ? date_from_ymd(2026, 3, 31)
                       : date_from_ymd(year, 1, 1);

    /* services */
    fprintf(o.f[F_SVC], "service_id,name,colour,spoken_name,subscription,description,link_url\n");
    fprintf(o.f[F_SVC], "refuse,Household rubbish,green,green bin,no,\"Bagged household rubbish "
                        "that cannot be recycled. Bins out by 6:30am.\","
                        "https://www.breckland.gov.uk/bins\n");
    fprintf(o.f[F_SVC], "recycling,Recycling,black,black recycling bin,no,\"Paper, card, cans, "
                        "tins and plastic bottles, loose (not in bags).\","
                        "https://www.breckland.gov.uk/recycling\n");
    fprintf(o.f[F_SVC], "garden,Garden waste,brown,brown garden bin,yes,\"Grass, hedge trimmings "
                        "and leaves; subscribers only.\",https://www.breckland.gov.uk/gardenwaste\n");
    fprintf(o.f[F_SVC], "food,Food waste,food caddy,food waste caddy,no,\"All cooked and uncooked "
                        "food in the caddy, weekly.\",https://www.breckland.gov.uk/foodwaste\n");
    o.rows[F_SVC] = 4;

    /* rounds: green and black alternate weekly on the same weekday */
    fprintf(o.f[F_ROUND],
            "round_id,service_id,weekday,interval_weeks,anchor_date,valid_from,valid_to\n");
    static const char *const dn[] = {"MON", "TUE", "WED", "THU", "FRI"};
    int jan1 = date_from_ymd(year, 1, 1);
    int first_monday = jan1 + (7 - date_weekday(jan1)) % 7;
    char d1[11];
    for (int d = 0; d < 5; d++) {
        for (int c = 1; c <= as.crews; c++) {
            int anchor = first_monday + d + 7 * (c % 2);
            fprintf(o.f[F_ROUND], "REF-%s-%d,refuse,%s,2,%s,,\n", dn[d], c, dn[d],
                    date_format(anchor, d1));
            fprintf(o.f[F_ROUND], "REC-%s-%d,recycling,%s,2,%s,,\n", dn[d], c, dn[d],
                    date_format(anchor + 7, d1));
            fprintf(o.f[F_ROUND], "FOOD-%s-%d,food,%s,1,%s,,\n", dn[d], c, dn[d],
                    date_format(anchor, d1));
            o.rows[F_ROUND] += 3;
        }
        for (int c = 1; c <= 3; c++) {
            fprintf(o.f[F_ROUND], "GDN-%s-%d,garden,%s,2,%s,,\n", dn[d], c, dn[d],
                    date_format(first_monday + d + 7 * (c % 2), d1));
            o.rows[F_ROUND]++;
        }
    }

    /* addresses and assignments */
    fprintf(o.f[F_ADDR], "uprn,parent_uprn,usrn,saon,paon,street,locality,town,postcode\n");
    fprintf(o.f[F_ASG], "uprn,service_id,round_id,valid_from,valid_to\n");
    int total_w = 0;
    for (size_t i = 0; i < N_PLACES; i++)
        total_w += places[i].weight;
    uint64_t uprn = 100090000000ULL + (opt->seed % 1000) * 1000000ULL;
    unsigned long usrn = 28000000;
    /* one counter of postcode units per outward code, shared by the places in it */
    unsigned unit_store[N_PLACES];
    unsigned *unit_of[N_PLACES];
    memset(unit_store, 0, sizeof(unit_store));
    for (size_t i = 0; i < N_PLACES; i++) {
        size_t k = 0;
        while (strcmp(places[k].outward, places[i].outward) != 0)
            k++;
        unit_of[i] = &unit_store[k];
    }
    size_t made = 0;
    for (size_t pi = 0; pi < N_PLACES; pi++) {
        const struct place *pl = &places[pi];
        size_t want = target * (size_t)pl->weight / (size_t)total_w;
        if (pi == N_PLACES - 1 && made + want < target)
            want = target - made;
        size_t done = 0;
        unsigned si = 0;
        /* a town is also the post town of its villages */
        const char *post_town = pl->name;
        for (size_t k = 0; k < pi && pl->village; k++)
            if (!places[k].village && strcmp(places[k].outward, pl->outward) == 0)
                post_town = places[k].name;
        while (done < want) {
            const char *const *list = pl->village ? village_streets : town_streets;
            size_t nlist = pl->village ? sizeof(village_streets) / sizeof(village_streets[0])
                                       : sizeof(town_streets) / sizeof(town_streets[0]);
            char street[80];
            unsigned round_no = si / (unsigned)nlist;
            if (round_no == 0)
                snprintf(street, sizeof(street), "%s", list[si % nlist]);
            else /* big synthetic towns: new estates reuse names with a suffix */
                snprintf(street, sizeof(street), "%s %s", list[si % nlist],
                         (const char *const[]){"NORTH", "SOUTH", "EAST", "WEST", "UPPER",
                                               "LOWER"}[(round_no - 1) % 6]);
            si++;
            usrn++;
            size_t houses = 8 + pick(&r, pl->village ? 30 : 70);
            if (houses > want - done)
                houses = want - done;
            int day = (int)pick(&r, 5), crew = (int)pick(&r, (unsigned)as.crews) + 1;
            char pc[16];
            uint64_t used_names[4] = {0}; /* house names and blocks unique per street */
            unsigned the_used = 0;         /* "THE COTTAGE" etc. used on this street */
            char pending[80] = "";         /* next house's name: one containing another */
            char street_house[40];         /* a block named after its street */
            {
                /* its first word ("PRIORY" of PRIORY CRESCENT; "ST MARYS") */
                const char *w = strncmp(street, "THE ", 4) == 0 ? street + 4 : street;
                size_t wl = strcspn(w, " ");
                if ((wl == 2 && strncmp(w, "ST", 2) == 0) || (wl == 5 && strncmp(w, "SAINT", 5) == 0))
                    wl += w[wl] ? 1 + strcspn(w + wl + 1, " ") : 0;
                snprintf(street_house, sizeof(street_house), "%.*s HOUSE", (int)(wl > 30 ? 30 : wl),
                         w);
            }
            unsigned in_unit = 0, unit_size = 10 + pick(&r, 12);
            unit_code(pl->outward, (*unit_of[pi])++, pc);
            for (size_t h = 1; h <= houses && done < want; h++) {
                if (in_unit == unit_size) {
                    unit_code(pl->outward, (*unit_of[pi])++, pc);
                    in_unit = 0;
                    unit_size = 10 + pick(&r, 12);
                    /* the next unit may be on another crew's round */
                    if (pick(&r, 3) == 0) {
                        day = (int)pick(&r, 5);
                        crew = (int)pick(&r, (unsigned)as.crews) + 1;
                    }
                }
                in_unit++;
                uint64_t u = uprn;
                uprn += 1 + pick(&r, 3);
                unsigned kind = pick(&r, 100);
                const char *loc = pl->village ? pl->name : "";
                if (!pl->village && kind < 4 && want - done > 12) {
                    /* a block of flats with communal bins on the building */
                    unsigned nf = 4 + pick(&r, 9);
                    char paon[64];
                    unsigned bn = pick(&r, 10);
                    if (pick(&r, 2) && !(used_names[3] & (1ULL << bn))) {
                        used_names[3] |= 1ULL << bn;
                        if (pick(&r2, 3) == 0 && !(used_names[3] & (1ULL << 63))) {
                            used_names[3] |= 1ULL << 63;
                            snprintf(paon, sizeof(paon), "%s", street_house);
                        } else
                            snprintf(paon, sizeof(paon), "%s", block_names[bn]);
                    } else
                        snprintf(paon, sizeof(paon), "%zu", h);
                    fprintf(o.f[F_ADDR], "%llu,,%lu,,%s,%s,%s,%s,%s\n", (unsigned long long)u,
                            usrn, paon, street, loc, post_town, pc);
                    write_assign(&o, &r, &as, u, day, crew);
                    o.rows[F_ADDR]++;
                    done++;
                    for (unsigned fl = 1; fl <= nf && done < want; fl++) {
                        fprintf(o.f[F_ADDR], "%llu,%llu,%lu,FLAT %u,%s,%s,%s,%s,%s\n",
                                (unsigned long long)uprn, (unsigned long long)u, usrn, fl, paon,
                                street, loc, post_town, pc);
                        uprn += 1;
                        o.rows[F_ADDR]++;
                        done++;
                    }
                    continue;
                }
                char paon[80];
                unsigned w1 = pick(&r, 32), w2 = pick(&r, 8), combo = w1 * 8 + w2;
                int split = 0; /* ground and first floor flats */
                if (pending[0]) {
                    snprintf(paon, sizeof(paon), "%s", pending);
                    pending[0] = '\0';
                } else if (pl->village && kind < 45 &&
                           !(used_names[combo / 64] & (1ULL << (combo % 64)))) {
                    used_names[combo / 64] |= 1ULL << (combo % 64);
                    snprintf(paon, sizeof(paon), "%s %s", house_words1[w1], house_words2[w2]);
                    /* the next house's name contains this one, or is contained */
                    unsigned v = pick(&r2, 10);
                    if (v == 0 && w2 < 5 && !(the_used & (1u << w2))) {
                        the_used |= 1u << w2;
                        snprintf(pending, sizeof(pending), "THE %s", house_words2[w2]);
                    } else if (v == 1) {
                        snprintf(pending, sizeof(pending), "%.60s SOUTH", paon);
                    } else if (v == 2 && w2 != 3) {
                        snprintf(pending, sizeof(pending), "%.60s BARN", paon);
                    }
                } else if (kind < 50 && kind >= 47) {
                    snprintf(paon, sizeof(paon), "%zuA", h);
                } else {
                    snprintf(paon, sizeof(paon), "%zu", h);
                    split = pick(&r2, 40) == 0 && want - done > 3;
                }
                /* the odd house has its own round (neighbours can differ) */
                int pday = day, pcrew = crew;
                if (pick(&r, 50) == 0) {
                    pday = (int)pick(&r, 5);
                    pcrew = (int)pick(&r, (unsigned)as.crews) + 1;
                }
                fprintf(o.f[F_ADDR], "%llu,,%lu,,%s,%s,%s,%s,%s\n", (unsigned long long)u, usrn,
                        paon, street, loc, post_town, pc);
                o.rows[F_ADDR]++;
                write_assign(&o, &r, &as, u, pday, pcrew);
                if (pick(&r, 3) == 0)
                    write_garden(&o, &r, &as, u, pday, pcrew);
                done++;
                if (split) {
                    /* a house split into flats that share its bins */
                    static const char *const floors[] = {"GROUND FLOOR FLAT",
                                                         "FIRST FLOOR FLAT"};
                    for (int fl = 0; fl < 2; fl++) {
                        fprintf(o.f[F_ADDR], "%llu,%llu,%lu,%s,%s,%s,%s,%s,%s\n",
                                (unsigned long long)uprn, (unsigned long long)u, usrn, floors[fl],
                                paon, street, loc, post_town, pc);
                        uprn += 1;
                        o.rows[F_ADDR]++;
                        done++;
                    }
                }
            }
        }
        made += done;
    }

    /* exceptions: bank-holiday slips for this year and next (staff would
     * generate these with `binday holidays propose` and review them), plus
     * the Christmas calendar: garden waste suspended for three weeks. */
    fprintf(o.f[F_EXC], "round_id,action,original_date,new_date,reason\n");
    size_t nh;
    const holiday_t *hol = holidays_builtin(&nh);
    holiday_slip_t slips[256];
    for (int y = year; y <= year + 1; y++) {
        size_t ns = holidays_propose(hol, nh, y, slips, 256);
        for (size_t i = 0; i < ns; i++) {
            char a[11], b[11];
            fprintf(o.f[F_EXC], "*,moved,%s,%s,bank holiday\n", date_format(slips[i].original, a),
                    date_format(slips[i].new_date, b));
            o.rows[F_EXC]++;
        }
    }
    int xmas = date_from_ymd(year, 12, 21);
    for (int d = 0; d < 5; d++)
        for (int c = 1; c <= 3; c++) {
            int anchor = first_monday + d + 7 * (c % 2);
            for (int day = xmas; day < xmas + 21; day++) {
                if ((day - anchor) % 14 != 0)
                    continue;
                char a[11];
                fprintf(o.f[F_EXC], "GDN-%s-%d,cancelled,%s,,Christmas: no garden waste\n",
                        dn[d], c, date_format(day, a));
                o.rows[F_EXC]++;
            }
        }

    /* notices */
    fprintf(o.f[F_NOTICE], "notice_id,scope,from,to,message\n");
    char a[11], b[11];
    fprintf(o.f[F_NOTICE], "xmas-%d,all,%s,%s,\"Collections move over Christmas and New Year. "
                           "Garden waste restarts in January.\"\n",
            year, date_format(date_from_ymd(year, 12, 14), a),
            date_format(date_from_ymd(year + 1, 1, 10), b));
    fprintf(o.f[F_NOTICE], "garden-renew-%d,service:garden,%s,%s,\"Garden waste subscriptions "
                           "renew on 1 April; renew online to keep your brown bin emptied.\"\n",
            year + 1, date_format(date_from_ymd(year + 1, 3, 1), a),
            date_format(date_from_ymd(year + 1, 3, 31), b));
    fprintf(o.f[F_NOTICE], "thetford-roadworks,postcode:IP24,%s,%s,\"Roadworks in Thetford may "
                           "delay collections by a day; please leave your bin out.\"\n",
            date_format(date_from_ymd(year, 11, 1), a), date_format(date_from_ymd(year, 12, 12), b));
    o.rows[F_NOTICE] = 3;

    int bad = 0;
    for (int i = 0; i < 6; i++)
        if (fclose(o.f[i]) != 0)
            bad = 1;
    if (bad) {
        snprintf(err, err_size, "writing %s failed", dir);
        return -1;
    }
    char p[4096];
    snprintf(p, sizeof(p), "%s/materials.csv", dir);
    FILE *mf = fopen(p, "w");
    size_t mlen;
    const char *mcsv = demodata_materials_csv(&mlen);
    int wrote = mf != NULL && fwrite(mcsv, 1, mlen, mf) == mlen;
    if (mf != NULL && fclose(mf) != 0)
        wrote = 0;
    if (!wrote) {
        snprintf(err, err_size, "%s: %s", p, strerror(errno));
        return -1;
    }
    if (st)
        memcpy(st->rows, o.rows, sizeof(st->rows));
    return 0;
}
