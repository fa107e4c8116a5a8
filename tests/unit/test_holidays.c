/* test_holidays.c - the bank-holiday facts (compiled-in list == shipped CSV)
 * and the proposed end-of-week slips. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/data/holidays.h"
#include "tap.h"

static int P(const char *s)
{
    int d = 0;
    date_parse(s, strlen(s), &d);
    return d;
}

static int has_slip(const holiday_slip_t *s, size_t n, const char *from, const char *to)
{
    for (size_t i = 0; i < n; i++)
        if (s[i].original == P(from))
            return s[i].new_date == P(to);
    return 0;
}

int main(void)
{
    size_t n;
    const holiday_t *h = holidays_builtin(&n);
    int first, last;
    holidays_years(h, n, &first, &last);
    ok(first <= 2025 && last >= 2028, "covers 2025-2028 (%d-%d)", first, last);

    const char *root = getenv("BINDAY_ROOT") ? getenv("BINDAY_ROOT") : ".";
    char path[1024];
    snprintf(path, sizeof(path), "%s/data/bank-holidays-england-wales.csv", root);
    FILE *f = fopen(path, "rb");
    ok(f != NULL, "shipped data file %s", path);
    static uint8_t buf[65536];
    size_t len = f ? fread(buf, 1, sizeof(buf), f) : 0;
    if (f)
        fclose(f);
    holiday_t parsed[256];
    char err[200];
    long k = holidays_parse(buf, len, parsed, 256, err, sizeof(err));
    is_int(k, (long)n, "same count in the CSV and the binary");
    int same = k == (long)n;
    for (long i = 0; same && i < k; i++)
        same = parsed[i].date == h[i].date;
    ok(same, "same dates in the CSV and the binary");
    ok(holidays_parse((const uint8_t *)"x\n", 2, parsed, 256, err, sizeof(err)) < 0,
       "bad header rejected");

    /* spot checks of the facts (gov.uk) */
    const char *facts[] = {"2026-04-03", "2026-04-06", "2026-12-28", "2027-03-26", "2027-03-29",
                           "2027-12-27", "2027-12-28", "2028-01-03", "2028-04-14", "2028-04-17"};
    int all = 1;
    for (size_t i = 0; i < sizeof(facts) / sizeof(facts[0]); i++) {
        int found = 0;
        for (size_t j = 0; j < n; j++)
            found |= h[j].date == P(facts[i]);
        if (!found) {
            printf("# missing %s\n", facts[i]);
            all = 0;
        }
    }
    ok(all, "Easter 2026/2027/2028 and substitute days present");

    holiday_slip_t s[128];
    size_t ns = holidays_propose(h, n, 2026, s, 128);
    ok(ns > 20, "2026 proposal has slips (%zu)", ns);
    ok(has_slip(s, ns, "2026-08-31", "2026-09-01"), "Mon holiday -> Tue");
    ok(has_slip(s, ns, "2026-09-04", "2026-09-05"), "Fri -> Sat");
    ok(has_slip(s, ns, "2026-04-03", "2026-04-04"), "Good Friday -> Saturday");
    ok(has_slip(s, ns, "2026-04-06", "2026-04-07"), "Easter Monday -> Tuesday");
    ok(has_slip(s, ns, "2026-12-25", "2026-12-26"), "Christmas Friday -> Saturday");
    ok(has_slip(s, ns, "2026-12-30", "2026-12-31"), "after the substitute Monday");
    ok(has_slip(s, ns, "2026-12-31", "2027-01-02"), "skips New Year's Day");
    ok(has_slip(s, ns, "2027-01-01", "2027-01-02"), "never a Sunday");
    ok(has_slip(s, ns, "2026-01-01", "2026-01-02"), "New Year 2026 (week starting in 2025)");
    ok(!has_slip(s, ns, "2026-08-28", "2026-08-29"), "nothing before the holiday");
    size_t ns27 = holidays_propose(h, n, 2027, s, 128);
    ok(!has_slip(s, ns27, "2027-01-01", "2027-01-02"), "that week belongs to 2026, not twice");
    ok(has_slip(s, ns27, "2027-12-27", "2027-12-29"), "two holidays: Monday -> Wednesday");
    ok(has_slip(s, ns27, "2027-12-29", "2027-12-31"), "Wednesday -> Friday");
    int sunday = 0;
    for (size_t i = 0; i < ns27; i++)
        sunday |= date_weekday(s[i].new_date) == 6;
    ok(!sunday, "no Sunday in 2027");
    return done_testing();
}
