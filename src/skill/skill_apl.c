/* skill_apl.c - owns the Echo Show / Fire TV visual of a collections answer:
 * an Alexa.Presentation.APL.RenderDocument directive with the next
 * collection dates, each bin in its colour with a "MOVED" badge, and the
 * notice in force.
 *
 * The document is the skill package's
 * response/display/BinDayCollections/document.json, compiled in and sent
 * inline (docs/skill.md, "Echo Show"): the server then never depends on a
 * copy saved separately in Amazon's authoring tool (a `Link` document), and
 * what a test sees is what a device gets. The data goes in the datasource
 * `binday` (type "object"), so the document stays fixed text.
 *
 * Sent only when the request's device lists Alexa.Presentation.APL (Amazon
 * refuses the directive otherwise); devices without a screen keep the card.
 */
#include "binday/skill/apl.h"
#include "skill_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "binday/util/date.h"
#include "binday/util/log.h"

__asm__(".section .rodata\n"
        ".global binday_apl_document\n"
        ".type binday_apl_document, @object\n"
        "binday_apl_document:\n"
        ".incbin \"deploy/skill-package/response/display/BinDayCollections/document.json\"\n"
        ".byte 0\n"
        ".previous\n");
extern const char binday_apl_document[];

const char *skill_apl_document(size_t *len)
{
    *len = strlen(binday_apl_document); /* text: the .byte 0 after it ends it */
    return binday_apl_document;
}

#define APL_DATES 3 /* collection dates shown */

/* A bin's colour name as a swatch and the ink that reads on it (contrast of
 * at least 4.5:1 either way); white outlines keep dark swatches visible on
 * the black background. Unknown colours get a neutral slate. */
void skill_apl_swatch(const char *colour, const char **swatch, const char **ink)
{
    static const struct {
        const char *word, *swatch, *ink;
    } map[] = {
        {"green", "#2E7D32", "#FFFFFF"},  {"black", "#212121", "#FFFFFF"}, {"brown", "#6D4C41", "#FFFFFF"},
        {"blue", "#1565C0", "#FFFFFF"},   {"grey", "#616161", "#FFFFFF"},  {"gray", "#616161", "#FFFFFF"},
        {"purple", "#6A1B9A", "#FFFFFF"}, {"red", "#C62828", "#FFFFFF"},   {"burgundy", "#7B1F2E", "#FFFFFF"},
        {"yellow", "#FDD835", "#000000"}, {"orange", "#EF6C00", "#000000"}, {"white", "#FFFFFF", "#000000"},
        {"silver", "#BDBDBD", "#000000"}, {"caddy", "#558B2F", "#FFFFFF"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strstr(colour, map[i].word)) {
            *swatch = map[i].swatch;
            *ink = map[i].ink;
            return;
        }
    *swatch = "#37474F";
    *ink = "#FFFFFF";
}

static json_t *str_of(rec_str_t s)
{
    return json_stringn(s.p ? s.p : "", s.p ? s.n : 0);
}

/* "Green bin", "Food caddy": what residents call the container. */
static void bin_label(char *dst, size_t n, rec_str_t colour)
{
    char c[64];
    rec_str_lower(c, sizeof(c), colour);
    if (strstr(c, "caddy") || strstr(c, "bag") || strstr(c, "box") || strstr(c, "bin"))
        snprintf(dst, n, "%s", c);
    else
        snprintf(dst, n, "%s bin", c);
    dst[0] = (char)toupper((unsigned char)dst[0]);
}

/* "Today", "Tomorrow, Wednesday 2 December", "Friday 4 December". */
static void when_label(char *dst, size_t n, int today, int date)
{
    int y, m, d;
    date_to_ymd(date, &y, &m, &d);
    const char *pre = date == today ? "Today, " : date == today + 1 ? "Tomorrow, " : "";
    snprintf(dst, n, "%s%s %d %s", pre, date_weekday_long(date_weekday(date)), d, date_month_long(m));
}

static json_t *bins_of(const lookup_result_t *res, int date, json_t **note)
{
    json_t *bins = json_array();
    for (size_t i = 0; i < res->n_collections; i++) {
        const lookup_collection_t *col = &res->collections[i];
        if (col->date != date)
            continue;
        char label[96], colour[64];
        const char *swatch, *ink;
        rec_str_lower(colour, sizeof(colour), col->colour);
        skill_apl_swatch(colour, &swatch, &ink);
        bin_label(label, sizeof(label), col->colour);
        int moved = col->changed && col->original != col->date;
        json_array_append_new(bins, json_pack("{s:o,s:s,s:o,s:o,s:s,s:s,s:b}", "service_id", str_of(col->service_id),
                                              "label", label, "kind", str_of(col->name), "colour",
                                              str_of(col->colour), "swatch", swatch, "ink", ink, "moved", moved));
        if (moved && *note == NULL) {
            char orig[64];
            int oy, om, od;
            date_to_ymd(col->original, &oy, &om, &od);
            snprintf(orig, sizeof(orig), "%s %d %s", date_weekday_long(date_weekday(col->original)), od,
                     date_month_long(om));
            char text[400];
            if (col->reason.p)
                snprintf(text, sizeof(text), "Moved from %s: %.*s", orig, (int)col->reason.n, col->reason.p);
            else
                snprintf(text, sizeof(text), "Moved from %s", orig);
            *note = json_string(text);
        }
    }
    return bins;
}

json_t *skill_apl_collections(const struct skill_call *c, const lookup_result_t *res)
{
    if (!c->rq.apl)
        return NULL;
    size_t len;
    const char *text = skill_apl_document(&len);
    json_error_t e;
    json_t *doc = json_loadb(text, len, 0, &e);
    if (doc == NULL) { /* compiled in and tested: only memory can fail it */
        log_error("skill.apl", "error=\"document: %s\"", e.text);
        return NULL;
    }
    json_t *dates = json_array();
    int d = c->today - 1;
    for (int shown = 0; shown < APL_DATES;) {
        int next = -1;
        for (size_t i = 0; i < res->n_collections; i++)
            if (res->collections[i].date > d && res->collections[i].date >= c->today) {
                next = res->collections[i].date;
                break;
            }
        if (next < 0)
            break;
        char when[96], iso[11];
        json_t *note = NULL;
        when_label(when, sizeof(when), c->today, next);
        json_t *bins = bins_of(res, next, &note);
        json_array_append_new(dates, json_pack("{s:s,s:s,s:o,s:o}", "date", date_format(next, iso), "when", when,
                                               "note", note ? note : json_string(""), "bins", bins));
        d = next;
        shown++;
    }
    char notice[1200] = "";
    for (size_t i = 0, o = 0; i < res->n_notices && i < 2; i++) {
        int w = snprintf(notice + o, sizeof(notice) - o, "%s%.*s", o ? " " : "", (int)res->notices[i].message.n,
                         res->notices[i].message.p);
        if (w < 0 || (size_t)w >= sizeof(notice) - o) {
            notice[o] = '\0'; /* whole notices only: a cut could split a character */
            break;
        }
        o += (size_t)w;
    }
    const char *empty = json_array_size(dates) ? "" : "No collections found in the next few weeks.";
    json_t *props = json_pack("{s:s,s:o,s:s,s:s}", "title", "Your bin collections", "collections", dates, "notice",
                              notice, "empty", empty);
    json_t *directive = json_pack("{s:s,s:s,s:o,s:{s:{s:s,s:o}}}", "type", "Alexa.Presentation.APL.RenderDocument",
                                  "token", SKILL_APL_TOKEN, "document", doc, "datasources", "binday", "type",
                                  "object", "properties", props);
    if (directive == NULL) /* json_pack fails only on memory or invalid UTF-8 from the store */
        return NULL;
    json_t *arr = json_array();
    json_array_append_new(arr, directive);
    return arr;
}
