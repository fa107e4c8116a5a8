/* test_calendar.c - the calendar engine on the cases residents and staff hit:
 * ISO week 53, anchors after the asked date, a bank-holiday Monday slipping
 * the week to Saturday, a three-week Christmas calendar, a garden subscription
 * lapsing mid-month, a route change with an effective date. */
#include <string.h>

#include "binday/data/calendar.h"
#include "binday/util/date.h"
#include "binday/data/holidays.h"
#include "tap.h"

static int P(const char *s)
{
    int d = 0;
    date_parse(s, strlen(s), &d);
    return d;
}

static cal_occurrence_t occ[64];

static size_t run(const cal_round_t *r, const cal_exception_t *own, size_t n_own,
                  const cal_exception_t *star, size_t n_star, const char *from, const char *to,
                  int eff_from, int eff_to)
{
    return cal_occurrences(r, own, n_own, star, n_star, P(from), P(to), eff_from, eff_to, occ, 64);
}

#define ALL DATE_NONE_LO, DATE_NONE_HI
#define D(i) date_format(occ[i].date, dbuf)
static char dbuf[11];

int main(void)
{
    /* fortnightly across ISO week 53: 2026-12-28..2027-01-03 is week 53, so
     * odd/even week parity would flip; anchor arithmetic does not */
    cal_round_t fn = {0, 2, P("2026-12-21"), ALL};
    size_t n = run(&fn, NULL, 0, NULL, 0, "2026-12-14", "2027-01-31", ALL);
    is_int(n, 3, "three collections");
    is_str(D(0), "2026-12-21", "week 52");
    is_str(D(1), "2027-01-04", "two weeks later despite week 53");
    is_str(D(2), "2027-01-18", "and again");
    ok(!cal_round_collects(&fn, P("2026-12-28")), "not in week 53");
    ok(!cal_round_collects(&fn, P("2027-01-11")), "not on ISO week 2");

    /* anchor after the asked date (k negative) */
    cal_round_t late = {2, 2, P("2027-06-09"), ALL};
    n = run(&late, NULL, 0, NULL, 0, "2026-12-01", "2026-12-28", ALL);
    is_int(n, 2, "anchor in the future still gives past-side dates");
    is_str(D(0), "2026-12-09", "first Wednesday (27 weeks before is odd, so 9 Dec)");
    ok(cal_round_collects(&late, P("2026-12-23")), "k negative");
    ok(!cal_round_collects(&late, P("2026-12-16")), "and not the week between");
    /* validity of the round */
    cal_round_t valid = {2, 1, P("2026-12-02"), P("2026-12-10"), P("2026-12-20")};
    n = run(&valid, NULL, 0, NULL, 0, "2026-12-01", "2026-12-31", ALL);
    is_int(n, 1, "only within valid_from..valid_to");
    is_str(D(0), "2026-12-16", "first collection inside the validity");

    /* bank-holiday Monday (31 Aug 2026): the week slips to Saturday */
    size_t nh;
    const holiday_t *h = holidays_builtin(&nh);
    holiday_slip_t slips[64];
    size_t ns = holidays_propose(h, nh, 2026, slips, 64);
    cal_exception_t star[64];
    for (size_t i = 0; i < ns; i++) {
        star[i].action = CAL_MOVED;
        star[i].original = slips[i].original;
        star[i].new_date = slips[i].new_date;
        star[i].reason = "bank holiday";
        star[i].reason_len = 12;
    }
    cal_round_t mon = {0, 1, P("2026-08-03"), ALL}, fri = {4, 1, P("2026-08-07"), ALL};
    n = run(&mon, NULL, 0, star, ns, "2026-08-29", "2026-09-08", ALL);
    is_int(n, 2, "Monday round: two collections");
    is_str(D(0), "2026-09-01", "holiday Monday collected Tuesday");
    ok(occ[0].changed && occ[0].original == P("2026-08-31"), "original date kept, changed");
    ok(occ[0].reason && memcmp(occ[0].reason, "bank holiday", 12) == 0, "reason");
    is_str(D(1), "2026-09-07", "next week back to normal");
    ok(!occ[1].changed, "unchanged flag");
    n = run(&fri, NULL, 0, star, ns, "2026-08-29", "2026-09-08", ALL);
    is_int(n, 1, "Friday round");
    is_str(D(0), "2026-09-05", "Friday slips to Saturday");
    /* the moved collection is found even if the window starts after its original */
    n = run(&fri, NULL, 0, star, ns, "2026-09-05", "2026-09-05", ALL);
    is_int(n, 1, "moved-in collection outside original window");

    /* three-week Christmas calendar for a weekly Friday round, own exceptions
     * winning over `*`; Thursday's collection moved onto Friday is not moved again */
    cal_exception_t xmas[] = {
        {CAL_MOVED, P("2026-12-25"), P("2026-12-28"), "Christmas", 9},
        {CAL_MOVED, P("2027-01-01"), P("2027-01-04"), "New Year", 8},
        {CAL_CANCELLED, P("2027-01-08"), 0, "Christmas catch-up", 18},
    };
    n = run(&fri, xmas, 3, star, ns, "2026-12-18", "2027-01-15", ALL);
    is_int(n, 4, "four collections over the three weeks and after");
    is_str(D(0), "2026-12-18", "normal week before");
    is_str(D(1), "2026-12-28", "Christmas Day collected Monday (own exception beats *)");
    is_str(D(2), "2027-01-04", "New Year's Day collected Monday");
    is_str(D(3), "2027-01-15", "8 Jan cancelled, 15 Jan normal");
    cal_round_t thu = {3, 1, P("2026-12-03"), ALL};
    cal_exception_t onto[] = {{CAL_MOVED, P("2026-12-24"), P("2026-12-25"), "early", 5}};
    cal_exception_t star25[] = {{CAL_MOVED, P("2026-12-25"), P("2026-12-26"), "x", 1}};
    n = run(&thu, onto, 1, star25, 1, "2026-12-21", "2026-12-27", ALL);
    is_int(n, 1, "one collection");
    is_str(D(0), "2026-12-25", "moved onto a date with its own exception: not moved again");
    cal_exception_t added[] = {{CAL_ADDED, 0, P("2026-12-29"), "extra", 5}};
    n = run(&thu, added, 1, NULL, 0, "2026-12-28", "2027-01-03", ALL);
    is_int(n, 2, "added collection plus the normal one");
    is_str(D(0), "2026-12-29", "added first");
    ok(occ[0].changed && occ[0].original == occ[0].date, "added is changed, original=date");

    /* garden subscription lapsing mid-month (valid_to 2026-06-15) */
    cal_round_t gdn = {4, 2, P("2026-05-29"), ALL};
    n = run(&gdn, NULL, 0, NULL, 0, "2026-06-01", "2026-06-30", DATE_NONE_LO, P("2026-06-15"));
    is_int(n, 1, "only the collection before the lapse");
    is_str(D(0), "2026-06-12", "12 June");
    n = run(&gdn, NULL, 0, NULL, 0, "2026-06-16", "2026-07-31", DATE_NONE_LO, P("2026-06-15"));
    is_int(n, 0, "nothing after the lapse");

    /* route change effective 2027-02-01: Monday round until, Thursday from */
    cal_round_t oldr = {0, 2, P("2027-01-04"), ALL}, newr = {3, 2, P("2027-02-04"), ALL};
    size_t a = run(&oldr, NULL, 0, NULL, 0, "2027-01-15", "2027-02-20", DATE_NONE_LO,
                   P("2027-01-31"));
    is_int(a, 1, "old round: one before the change");
    is_str(D(0), "2027-01-18", "18 Jan (Mon)");
    size_t b = run(&newr, NULL, 0, NULL, 0, "2027-01-15", "2027-02-20", P("2027-02-01"),
                   DATE_NONE_HI);
    is_int(b, 2, "new round after the change");
    is_str(D(0), "2027-02-04", "4 Feb (Thu)");
    is_str(D(1), "2027-02-18", "18 Feb (Thu)");

    /* bounded output */
    cal_round_t weekly = {0, 1, P("2026-01-05"), ALL};
    n = cal_occurrences(&weekly, NULL, 0, NULL, 0, P("2026-01-01"), P("2027-01-01"), ALL, occ, 5);
    is_int(n, 5, "output bounded by max");
    return done_testing();
}
