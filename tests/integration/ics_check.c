/* ics_check.c - validate an iCalendar file with Debian's libical (a real,
 * independent parser), for test_calendar_feed.py, which builds it with
 * `cc ics_check.c -lical` at test time. Prints "errors N" (parser and RFC
 * restriction errors libical attached as X-LIC-ERROR), then one line per VEVENT:
 * "EVENT uid|start|end|is_date|sequence|status|summary|alarm-trigger-seconds". */
#include <libical/ical.h>
#include <stdio.h>
#include <stdlib.h>

static int count_errors(icalcomponent *c)
{
    int n = 0;
    for (icalproperty *p = icalcomponent_get_first_property(c, ICAL_XLICERROR_PROPERTY); p;
         p = icalcomponent_get_next_property(c, ICAL_XLICERROR_PROPERTY)) {
        fprintf(stderr, "libical: %s\n", icalproperty_get_xlicerror(p));
        n++;
    }
    for (icalcomponent *s = icalcomponent_get_first_component(c, ICAL_ANY_COMPONENT); s;
         s = icalcomponent_get_next_component(c, ICAL_ANY_COMPONENT))
        n += count_errors(s);
    return n;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return 2;
    FILE *f = fopen(argv[1], "rb");
    if (!f)
        return 2;
    static char buf[8 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    icalcomponent *cal = icalparser_parse_string(buf);
    if (cal == NULL || icalcomponent_isa(cal) != ICAL_VCALENDAR_COMPONENT) {
        printf("errors 1\n");
        return 0;
    }
    icalrestriction_check(cal);
    printf("errors %d\n", count_errors(cal));
    for (icalcomponent *e = icalcomponent_get_first_component(cal, ICAL_VEVENT_COMPONENT); e;
         e = icalcomponent_get_next_component(cal, ICAL_VEVENT_COMPONENT)) {
        struct icaltimetype s = icalcomponent_get_dtstart(e), d = icalcomponent_get_dtend(e);
        int trig = 0;
        icalcomponent *a = icalcomponent_get_first_component(e, ICAL_VALARM_COMPONENT);
        if (a) {
            icalproperty *tp = icalcomponent_get_first_property(a, ICAL_TRIGGER_PROPERTY);
            if (tp)
                trig = icaldurationtype_as_int(icalproperty_get_trigger(tp).duration);
        }
        icalproperty_status st = icalcomponent_get_status(e);
        printf("EVENT %s|%04d-%02d-%02d|%04d-%02d-%02d|%d|%d|%s|%s|%d\n", icalcomponent_get_uid(e), s.year, s.month,
               s.day, d.year, d.month, d.day, s.is_date && d.is_date, icalcomponent_get_sequence(e),
               st == ICAL_STATUS_CANCELLED ? "CANCELLED" : st == ICAL_STATUS_CONFIRMED ? "CONFIRMED" : "OTHER",
               icalcomponent_get_summary(e), a ? trig : 1);
    }
    icalcomponent_free(cal);
    return 0;
}
