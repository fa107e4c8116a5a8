/* import.c - owns the meaning of the staff CSV files (six, and the optional
 * materials): column sets, field
 * formats, cross-table references and the atomic replacement of tables.
 *
 * Flow: mmap + parse every given file into row arrays (strings stay slices of
 * the mapping unless unescaping forced a copy into an arena), then, inside one
 * store_write() transaction: load the stored rows of tables that the given
 * ones must agree with, check references, and only if no problem was found
 * drop and rewrite the given tables. Rows are sorted in memory first so every
 * put is an MDB_APPEND (the cheap, page-filling path) - the import of a
 * million properties is dominated by parsing, not by the B-tree.
 */
#include "binday/data/import.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "binday/data/calendar.h"
#include "binday/data/csv.h"
#include "binday/data/materials.h"
#include "binday/util/date.h"
#include "binday/util/log.h"
#include "binday/data/postcode.h"
#include "binday/data/records.h"
#include "binday/util/utf8.h"
#include "binday/util/xalloc.h"

#define MAX_FIELD 1000   /* bytes; longer values are an error */
#define IMPORT_ABORT (-3) /* store_write callback: rejected, do not commit */

typedef rec_str_t str_t;

/* ---- small helpers ---------------------------------------------------------- */

#define GROW(arr, n, cap)                                                                      \
    do {                                                                                       \
        if ((n) == (cap)) {                                                                    \
            (cap) = (cap) ? (cap) * 2 : 1024;                                                  \
            (arr) = xrealloc((arr), (cap) * sizeof(*(arr)));                                   \
        }                                                                                      \
    } while (0)

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk_t;

typedef struct arena {
    chunk_t *head;
} arena_t;

static const char *arena_copy(arena_t *a, const char *p, size_t n)
{
    if (a->head == NULL || a->head->cap - a->head->used < n) {
        size_t cap = n > (1u << 20) ? n : (1u << 20);
        chunk_t *c = xmalloc(sizeof(*c) + cap);
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    char *d = a->head->data + a->head->used;
    memcpy(d, p, n);
    a->head->used += n;
    return d;
}

static void arena_free(arena_t *a)
{
    while (a->head) {
        chunk_t *n = a->head->next;
        free(a->head);
        a->head = n;
    }
}

static int str_cmp(str_t a, str_t b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;
    if (c)
        return c;
    return a.n < b.n ? -1 : a.n > b.n;
}

static int str_eq(str_t a, const char *s)
{
    size_t n = strlen(s);
    return a.p && a.n == n && memcmp(a.p, s, n) == 0;
}

static int str_ieq(str_t a, const char *s)
{
    size_t n = strlen(s);
    return a.p && a.n == n && strncasecmp(a.p, s, n) == 0;
}

/* ---- error collection ------------------------------------------------------ */

typedef struct errs {
    import_error_fn fn;
    void *ud;
    size_t max, total;
    /* problems found inside the txn are buffered: a MAP_FULL retry must not
     * report them twice, and they follow the parse problems */
    char **buf;
    size_t nbuf, capbuf;
    int buffering;
} errs_t;

static void err_vadd(errs_t *e, const char *file, size_t line, const char *fmt, va_list ap)
    __attribute__((format(printf, 4, 0)));
static void err_vadd(errs_t *e, const char *file, size_t line, const char *fmt, va_list ap)
{
    e->total++;
    if (e->total > e->max)
        return;
    char msg[1400];
    int n = snprintf(msg, sizeof(msg), "%s:%zu: ", file, line);
    vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
    if (e->buffering) {
        GROW(e->buf, e->nbuf, e->capbuf);
        e->buf[e->nbuf++] = xstrdup(msg);
    } else if (e->fn) {
        e->fn(msg, e->ud);
    }
}

static void err_add(errs_t *e, const char *file, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void err_add(errs_t *e, const char *file, size_t line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vadd(e, file, line, fmt, ap);
    va_end(ap);
}

static void err_clear_buffer(errs_t *e)
{
    for (size_t i = 0; i < e->nbuf; i++)
        free(e->buf[i]);
    e->nbuf = 0;
}

/* Quote an untrusted value for an error message (bounded, printable). */
static const char *q(char *dst, size_t n, str_t s)
{
    if (s.p == NULL)
        return "(empty)";
    return log_quote(dst, n, s.p, s.n);
}

/* ---- rows ----------------------------------------------------------------- */

typedef struct addr_row {
    uint64_t uprn, parent, usrn;
    str_t saon, paon, street, locality, town;
    char pc[POSTCODE_MAX];
    uint32_t line;
} addr_row_t;

typedef struct svc_row {
    str_t id, name, colour, spoken, desc, link;
    int sub;
    uint32_t line;
} svc_row_t;

typedef struct round_row {
    str_t id, service;
    int wd, interval, anchor, from, to;
    uint32_t line;
} round_row_t;

typedef struct asg_row {
    uint64_t uprn;
    str_t service, round;
    int from, to;
    uint32_t line;
} asg_row_t;

typedef struct exc_row {
    str_t round, reason;
    int action, orig, newd;
    uint32_t line;
} exc_row_t;

typedef struct notice_row {
    str_t id, scope, message;
    int from, to;
    uint32_t line;
} notice_row_t;

typedef struct mat_row {
    char id[MATERIALS_MAX_ID + 1]; /* slug of the name */
    str_t name, synonyms, service, take_to, note; /* service.p NULL: not collected */
    uint32_t line;
} mat_row_t;

typedef struct table {
    const char *label; /* path as given, or "stored:NAME" */
    int given;         /* from a file in this call */
    int loaded;        /* from the store (this attempt) */
    int broken;        /* its file had problems: rows are missing, so references
                          INTO it are not checked (they would only mislead) */
    void *rows;
    size_t n, cap;
} table_t;

typedef struct ctx {
    store_t *store;
    table_t t[IMPORT_N_TABLES];
    arena_t arena;       /* strings copied out of CSV scratch */
    arena_t store_arena; /* strings copied out of the store; reset per attempt */
    errs_t errs;
    size_t parse_errors;
    char stored_label[IMPORT_N_TABLES][32];
} ctx_t;

/* Append one zeroed row of `elem` bytes to a table; returns it. */
static void *tgrow(struct table *t, size_t elem)
{
    if (t->n == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 1024;
        t->rows = xrealloc(t->rows, t->cap * elem);
    }
    void *p = (char *)t->rows + elem * t->n++;
    memset(p, 0, elem);
    return p;
}

/* ---- columns --------------------------------------------------------------- */

typedef struct coldef {
    const char *name;
    int required;
} coldef_t;

enum { A_UPRN, A_PARENT, A_USRN, A_SAON, A_PAON, A_STREET, A_LOCALITY, A_TOWN, A_POSTCODE, A_N };
static const coldef_t addr_cols[] = {{"uprn", 1},   {"parent_uprn", 0}, {"usrn", 0},
                                     {"saon", 0},   {"paon", 1},        {"street", 1},
                                     {"locality", 0}, {"town", 1},      {"postcode", 1}};
enum { S_ID, S_NAME, S_COLOUR, S_SPOKEN, S_SUB, S_DESC, S_LINK, S_N };
static const coldef_t svc_cols[] = {{"service_id", 1}, {"name", 1},        {"colour", 1},
                                    {"spoken_name", 1}, {"subscription", 0}, {"description", 0},
                                    {"link_url", 0}};
enum { R_ID, R_SERVICE, R_WEEKDAY, R_INTERVAL, R_ANCHOR, R_FROM, R_TO, R_N };
static const coldef_t round_cols[] = {{"round_id", 1},       {"service_id", 1},  {"weekday", 1},
                                      {"interval_weeks", 1}, {"anchor_date", 1}, {"valid_from", 0},
                                      {"valid_to", 0}};
enum { G_UPRN, G_SERVICE, G_ROUND, G_FROM, G_TO, G_N };
static const coldef_t asg_cols[] = {{"uprn", 1}, {"service_id", 1}, {"round_id", 1},
                                    {"valid_from", 0}, {"valid_to", 0}};
enum { E_ROUND, E_ACTION, E_ORIG, E_NEW, E_REASON, E_N };
static const coldef_t exc_cols[] = {{"round_id", 1}, {"action", 1}, {"original_date", 0},
                                    {"new_date", 0}, {"reason", 0}};
enum { N_ID, N_SCOPE, N_FROM, N_TO, N_MESSAGE, N_N };
static const coldef_t notice_cols[] = {{"notice_id", 1}, {"scope", 1}, {"from", 1}, {"to", 1},
                                       {"message", 1}};

enum { M_NAME, M_SYNONYMS, M_SERVICE, M_TAKE_TO, M_NOTE, M_N };
static const coldef_t mat_cols[] = {{"material", 1}, {"synonyms", 0}, {"service_id", 1}, {"take_to", 0},
                                    {"note", 0}};

static const struct {
    const char *name;
    const coldef_t *cols;
    size_t ncols;
} tables[IMPORT_N_TABLES] = {
    {"addresses", addr_cols, A_N},       {"services", svc_cols, S_N},
    {"rounds", round_cols, R_N},         {"assignments", asg_cols, G_N},
    {"exceptions", exc_cols, E_N},       {"notices", notice_cols, N_N},
    {"materials", mat_cols, M_N},
};

const char *import_table_name(import_table_t t)
{
    return t < IMPORT_N_TABLES ? tables[t].name : "?";
}

/* ---- field parsing --------------------------------------------------------- */

typedef struct rowctx {
    ctx_t *c;
    const char *file;
    size_t line;
    const uint8_t *map;
    size_t map_len;
    const csv_record_t *rec;
    const int *colidx; /* field -> csv column, -1 when the column is absent */
    const coldef_t *cols;
    int bad;
} rowctx_t;

/* A problem with the row being read: report it and keep the row out. */
static void row_err(rowctx_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void row_err(rowctx_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err_vadd(&r->c->errs, r->file, r->line, fmt, ap);
    va_end(ap);
    r->bad = 1;
}

/* The value of field `fi`: trimmed, NULL when empty/absent. Validates UTF-8,
 * length, and (unless multiline) the absence of control characters. */
static str_t fld(rowctx_t *r, int fi, int multiline)
{
    str_t s = {NULL, 0};
    int col = r->colidx[fi];
    if (col < 0)
        return s;
    const csv_field_t *f = &r->rec->f[col];
    const char *p = f->ptr;
    size_t n = f->len;
    while (n && (*p == ' ' || *p == '\t')) {
        p++;
        n--;
    }
    while (n && (p[n - 1] == ' ' || p[n - 1] == '\t'))
        n--;
    if (n == 0)
        return s;
    if (n > MAX_FIELD) {
        row_err(r, "%s: value longer than %d bytes", r->cols[fi].name, MAX_FIELD);
        return s;
    }
    if (!utf8_valid((const uint8_t *)p, n)) {
        row_err(r, "%s: not valid UTF-8", r->cols[fi].name);
        return s;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if ((ch < 0x20 && !(multiline && (ch == '\n' || ch == '\r' || ch == '\t'))) || ch == 0x7f) {
            row_err(r, "%s: control character in value", r->cols[fi].name);
            return s;
        }
    }
    /* slices of the mapping live as long as the import; scratch does not */
    if (!((const uint8_t *)p >= r->map && (const uint8_t *)p < r->map + r->map_len))
        p = arena_copy(&r->c->arena, p, n);
    s.p = p;
    s.n = (uint32_t)n;
    return s;
}

static str_t need(rowctx_t *r, int fi, int multiline)
{
    str_t s = fld(r, fi, multiline);
    if (s.p == NULL && !r->bad) {
        row_err(r, "%s: required value is missing", r->cols[fi].name);
    }
    return s;
}

static int parse_uprn_str(str_t s, uint64_t *out)
{
    if (s.n < 1 || s.n > 12)
        return -1;
    uint64_t v = 0;
    for (uint32_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(s.p[i] - '0');
    }
    if (v == 0)
        return -1;
    *out = v;
    return 0;
}

static uint64_t uprn_field(rowctx_t *r, int fi, int required)
{
    str_t s = required ? need(r, fi, 0) : fld(r, fi, 0);
    uint64_t v = 0;
    if (s.p && parse_uprn_str(s, &v) != 0) {
        char b[64];
        row_err(r, "%s: %s is not a UPRN (1-12 digits, not zero)", r->cols[fi].name, q(b, sizeof(b), s));
    }
    return v;
}

/* A date field: absent -> dflt (or an error when required). */
static int date_field(rowctx_t *r, int fi, int required, int dflt)
{
    str_t s = required ? need(r, fi, 0) : fld(r, fi, 0);
    if (s.p == NULL)
        return dflt;
    int d;
    if (date_parse(s.p, s.n, &d) != 0) {
        char b[64];
        row_err(r, "%s: %s is not a date (YYYY-MM-DD)", r->cols[fi].name, q(b, sizeof(b), s));
        return dflt;
    }
    return d;
}

/* Identifiers: letters, digits, '_', '-', '.', at most 64 bytes. */
static int valid_id(str_t s)
{
    if (s.p == NULL || s.n == 0 || s.n > 64)
        return 0;
    for (uint32_t i = 0; i < s.n; i++) {
        char ch = s.p[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '_' || ch == '-' || ch == '.'))
            return 0;
    }
    return 1;
}

static str_t id_field(rowctx_t *r, int fi)
{
    str_t s = need(r, fi, 0);
    if (s.p && !valid_id(s)) {
        char b[100];
        row_err(r, "%s: %s is not a valid id (letters, digits, _ - . ; at most 64)", r->cols[fi].name,
                q(b, sizeof(b), s));
        s.p = NULL;
    }
    return s;
}

static void check_range(rowctx_t *r, int from, int to, const char *a, const char *b)
{
    if (from > to) {
        row_err(r, "%s is after %s", a, b);
    }
}

/* ---- per-table row parsers ------------------------------------------------ */

static void row_address(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_ADDRESSES];
    addr_row_t a;
    memset(&a, 0, sizeof(a));
    a.line = (uint32_t)r->line;
    a.uprn = uprn_field(r, A_UPRN, 1);
    a.parent = uprn_field(r, A_PARENT, 0);
    a.usrn = uprn_field(r, A_USRN, 0);
    a.saon = fld(r, A_SAON, 0);
    a.paon = need(r, A_PAON, 0);
    a.street = need(r, A_STREET, 0);
    a.locality = fld(r, A_LOCALITY, 0);
    a.town = need(r, A_TOWN, 0);
    str_t pc = need(r, A_POSTCODE, 0);
    if (pc.p && postcode_normalize((const uint8_t *)pc.p, pc.n, a.pc) < 0) {
        char b[64];
        row_err(r, "postcode: %s is not a UK postcode", q(b, sizeof(b), pc));
    }
    if (a.parent && a.parent == a.uprn) {
        row_err(r, "parent_uprn is the property's own uprn");
    }
    if (r->bad)
        return;
    *(addr_row_t *)tgrow(t, sizeof(addr_row_t)) = a;
}

static void row_service(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_SERVICES];
    svc_row_t s;
    memset(&s, 0, sizeof(s));
    s.line = (uint32_t)r->line;
    s.id = id_field(r, S_ID);
    s.name = need(r, S_NAME, 0);
    s.colour = need(r, S_COLOUR, 0);
    s.spoken = need(r, S_SPOKEN, 0);
    s.desc = fld(r, S_DESC, 1);
    s.link = fld(r, S_LINK, 0);
    str_t sub = fld(r, S_SUB, 0);
    if (sub.p == NULL || str_ieq(sub, "no")) {
        s.sub = 0;
    } else if (str_ieq(sub, "yes")) {
        s.sub = 1;
    } else {
        char b[64];
        row_err(r, "subscription: %s is not yes or no", q(b, sizeof(b), sub));
    }
    if (s.link.p && !(s.link.n > 8 && strncmp(s.link.p, "https://", 8) == 0)) {
        row_err(r, "link_url: must be an https:// URL");
    }
    if (r->bad)
        return;
    *(svc_row_t *)tgrow(t, sizeof(svc_row_t)) = s;
}

static void row_round(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_ROUNDS];
    round_row_t x;
    memset(&x, 0, sizeof(x));
    x.line = (uint32_t)r->line;
    x.id = id_field(r, R_ID);
    x.service = id_field(r, R_SERVICE);
    str_t wd = need(r, R_WEEKDAY, 0);
    x.wd = -1;
    if (wd.p && (x.wd = date_weekday_parse(wd.p, wd.n)) < 0) {
        char b[64];
        row_err(r, "weekday: %s is not one of MON..SUN", q(b, sizeof(b), wd));
    }
    str_t iv = need(r, R_INTERVAL, 0);
    if (iv.p) {
        if (iv.n == 1 && iv.p[0] >= '1' && iv.p[0] <= '8') {
            x.interval = iv.p[0] - '0';
        } else {
            char b[64];
            row_err(r, "interval_weeks: %s is not a number 1-8", q(b, sizeof(b), iv));
        }
    }
    x.anchor = date_field(r, R_ANCHOR, 1, 0);
    x.from = date_field(r, R_FROM, 0, DATE_NONE_LO);
    x.to = date_field(r, R_TO, 0, DATE_NONE_HI);
    if (!r->bad && date_weekday(x.anchor) != x.wd) {
        char d[11];
        row_err(r, "anchor_date %s is a %s, not a %s", date_format(x.anchor, d),
                date_weekday_long(date_weekday(x.anchor)), date_weekday_long(x.wd));
    }
    if (!r->bad)
        check_range(r, x.from, x.to, "valid_from", "valid_to");
    if (r->bad)
        return;
    *(round_row_t *)tgrow(t, sizeof(round_row_t)) = x;
}

static void row_assignment(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_ASSIGNMENTS];
    asg_row_t a;
    memset(&a, 0, sizeof(a));
    a.line = (uint32_t)r->line;
    a.uprn = uprn_field(r, G_UPRN, 1);
    a.service = id_field(r, G_SERVICE);
    a.round = id_field(r, G_ROUND);
    a.from = date_field(r, G_FROM, 0, DATE_NONE_LO);
    a.to = date_field(r, G_TO, 0, DATE_NONE_HI);
    if (!r->bad)
        check_range(r, a.from, a.to, "valid_from", "valid_to");
    if (r->bad)
        return;
    *(asg_row_t *)tgrow(t, sizeof(asg_row_t)) = a;
}

static void row_exception(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_EXCEPTIONS];
    exc_row_t e;
    memset(&e, 0, sizeof(e));
    e.line = (uint32_t)r->line;
    e.round = need(r, E_ROUND, 0);
    if (e.round.p && !str_eq(e.round, "*") && !valid_id(e.round)) {
        char b[100];
        row_err(r, "round_id: %s is not a round id or *", q(b, sizeof(b), e.round));
    }
    str_t act = need(r, E_ACTION, 0);
    if (act.p) {
        if (str_ieq(act, "moved"))
            e.action = CAL_MOVED;
        else if (str_ieq(act, "cancelled") || str_ieq(act, "canceled"))
            e.action = CAL_CANCELLED;
        else if (str_ieq(act, "added"))
            e.action = CAL_ADDED;
        else {
            char b[64];
            row_err(r, "action: %s is not moved, cancelled or added", q(b, sizeof(b), act));
        }
    }
    e.orig = date_field(r, E_ORIG, 0, DATE_NONE_LO);
    e.newd = date_field(r, E_NEW, 0, DATE_NONE_LO);
    e.reason = fld(r, E_REASON, 0);
    if (!r->bad) {
        int has_o = e.orig != DATE_NONE_LO, has_n = e.newd != DATE_NONE_LO;
        if (e.action == CAL_MOVED && (!has_o || !has_n)) {
            row_err(r, "moved needs original_date and new_date");
        } else if (e.action == CAL_MOVED && e.orig == e.newd) {
            row_err(r, "moved to the same date");
        } else if (e.action == CAL_CANCELLED && (!has_o || has_n)) {
            row_err(r, "cancelled needs original_date and no new_date");
        } else if (e.action == CAL_ADDED && (!has_n || has_o)) {
            row_err(r, "added needs new_date and no original_date");
        } else if (e.action == CAL_ADDED && str_eq(e.round, "*")) {
            row_err(r, "added needs a specific round_id (* only selects rounds by original_date)");
        }
    }
    if (r->bad)
        return;
    *(exc_row_t *)tgrow(t, sizeof(exc_row_t)) = e;
}

static void row_notice(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_NOTICES];
    notice_row_t x;
    memset(&x, 0, sizeof(x));
    x.line = (uint32_t)r->line;
    x.id = id_field(r, N_ID);
    x.scope = need(r, N_SCOPE, 0);
    x.from = date_field(r, N_FROM, 1, 0);
    x.to = date_field(r, N_TO, 1, 0);
    x.message = need(r, N_MESSAGE, 1);
    if (x.scope.p) {
        const char *colon = memchr(x.scope.p, ':', x.scope.n);
        int okk = 0;
        if (colon == NULL) {
            okk = str_eq(x.scope, "all");
        } else {
            size_t kl = (size_t)(colon - x.scope.p);
            str_t v = {colon + 1, (uint32_t)(x.scope.n - kl - 1)};
            if (kl == 7 && memcmp(x.scope.p, "service", 7) == 0)
                okk = valid_id(v);
            else if (kl == 5 && memcmp(x.scope.p, "round", 5) == 0)
                okk = valid_id(v);
            else if (kl == 8 && memcmp(x.scope.p, "postcode", 8) == 0) {
                /* store the prefix uppercased, single-spaced, as lookup compares it */
                char buf[16] = {0};
                size_t o = 0;
                okk = v.n >= 1 && v.n <= 8;
                for (uint32_t i = 0; okk && i < v.n; i++) {
                    char ch = v.p[i];
                    if (ch >= 'a' && ch <= 'z')
                        ch = (char)(ch - 32);
                    if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == ' '))
                        okk = 0;
                    else
                        buf[o++] = ch;
                }
                if (okk && (buf[0] < 'A' || buf[0] > 'Z'))
                    okk = 0;
                if (okk) {
                    char sc[32];
                    int m = snprintf(sc, sizeof(sc), "postcode:%.*s", (int)o, buf);
                    x.scope.p = arena_copy(&r->c->arena, sc, (size_t)m);
                    x.scope.n = (uint32_t)m;
                }
            }
        }
        if (!okk) {
            char b[100];
            row_err(r, "scope: %s is not all, service:ID, round:ID or postcode:PREFIX", q(b, sizeof(b), x.scope));
        }
    }
    if (!r->bad)
        check_range(r, x.from, x.to, "from", "to");
    if (r->bad)
        return;
    *(notice_row_t *)tgrow(t, sizeof(notice_row_t)) = x;
}

static void row_material(rowctx_t *r)
{
    table_t *t = &r->c->t[IMPORT_MATERIALS];
    mat_row_t x;
    memset(&x, 0, sizeof(x));
    x.line = (uint32_t)r->line;
    x.name = need(r, M_NAME, 0);
    x.synonyms = fld(r, M_SYNONYMS, 0);
    x.service = need(r, M_SERVICE, 0);
    x.take_to = fld(r, M_TAKE_TO, 0);
    x.note = fld(r, M_NOTE, 1);
    if (r->bad)
        return;
    if (str_ieq(x.service, MATERIALS_NOT_COLLECTED))
        x.service.p = NULL, x.service.n = 0;
    material_t m = {.name = x.name, .synonyms = x.synonyms, .service_id = x.service, .take_to = x.take_to,
                    .note = x.note};
    char why[300];
    if (materials_check(&m, why, sizeof(why)) != 0) {
        row_err(r, "%s", why);
        return;
    }
    materials_slug(x.id, sizeof(x.id), x.name.p, x.name.n);
    *(mat_row_t *)tgrow(t, sizeof(mat_row_t)) = x;
}

typedef void (*row_fn)(rowctx_t *r);
static const row_fn row_fns[IMPORT_N_TABLES] = {row_address,    row_service,   row_round,
                                                 row_assignment, row_exception, row_notice,
                                                 row_material};

/* ---- file parsing ---------------------------------------------------------- */

static void parse_buffer(ctx_t *c, import_table_t ti, const char *path, const uint8_t *map,
                         size_t len, size_t *rows);

static int parse_file(ctx_t *c, import_table_t ti, const char *path, void **map_out,
                      size_t *len_out, size_t *rows, char *err, size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, err_size, "%s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, err_size, "%s: not a regular file", path);
        close(fd);
        return -1;
    }
    size_t len = (size_t)st.st_size;
    const uint8_t *map = NULL;
    if (len > 0) {
        void *m = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (m == MAP_FAILED) {
            snprintf(err, err_size, "%s: mmap: %s", path, strerror(errno));
            close(fd);
            return -1;
        }
        madvise(m, len, MADV_SEQUENTIAL);
        map = m;
    }
    close(fd);
    *map_out = (void *)map;
    *len_out = len;
    parse_buffer(c, ti, path, map, len, rows);
    return 0;
}

/* Parse one table's CSV bytes into c->t[ti] (pure: no I/O). */
static void parse_buffer(ctx_t *c, import_table_t ti, const char *path, const uint8_t *map,
                         size_t len, size_t *rows)
{
    const coldef_t *cols = tables[ti].cols;
    size_t ncols = tables[ti].ncols;
    csv_reader_t rd;
    csv_init(&rd, map, len);
    csv_record_t *rec = xmalloc(sizeof(*rec));
    char cerr[200];
    size_t eline;
    int colidx[16];
    for (size_t i = 0; i < ncols; i++)
        colidx[i] = -1;
    size_t header_n = 0;
    int have_header = 0, header_ok = 1;
    for (;;) {
        int rc = csv_next(&rd, rec, cerr, sizeof(cerr), &eline);
        if (rc == CSV_EOF)
            break;
        if (rc == CSV_ERROR) {
            err_add(&c->errs, path, eline, "%s", cerr);
            if (!have_header) {
                header_ok = 0;
                have_header = 1;
            }
            continue;
        }
        if (!have_header) {
            have_header = 1;
            header_n = rec->n;
            for (size_t i = 0; i < rec->n; i++) {
                str_t h = {rec->f[i].ptr, (uint32_t)rec->f[i].len};
                while (h.n && (h.p[0] == ' ' || h.p[0] == '\t')) {
                    h.p++;
                    h.n--;
                }
                while (h.n && (h.p[h.n - 1] == ' ' || h.p[h.n - 1] == '\t'))
                    h.n--;
                size_t k;
                for (k = 0; k < ncols; k++)
                    if (str_ieq(h, cols[k].name))
                        break;
                char b[100];
                if (k == ncols) {
                    char list[300];
                    size_t o = 0;
                    for (size_t j = 0; j < ncols && o < sizeof(list); j++)
                        o += (size_t)snprintf(list + o, sizeof(list) - o, "%s%s", j ? ", " : "",
                                              cols[j].name);
                    err_add(&c->errs, path, rec->line,
                            "unknown column %s (the %s columns are: %s)", q(b, sizeof(b), h),
                            tables[ti].name, list);
                    header_ok = 0;
                } else if (colidx[k] >= 0) {
                    err_add(&c->errs, path, rec->line, "column %s appears twice", cols[k].name);
                    header_ok = 0;
                } else {
                    colidx[k] = (int)i;
                }
            }
            for (size_t k = 0; k < ncols; k++)
                if (cols[k].required && colidx[k] < 0) {
                    err_add(&c->errs, path, rec->line, "required column %s is missing",
                            cols[k].name);
                    header_ok = 0;
                }
            if (!header_ok)
                break; /* rows cannot be understood without their header */
            continue;
        }
        if (rec->n != header_n) {
            err_add(&c->errs, path, rec->line, "%zu fields, but the header has %zu", rec->n,
                    header_n);
            continue;
        }
        (*rows)++;
        rowctx_t r = {c, path, rec->line, map, len, rec, colidx, cols, 0};
        row_fns[ti](&r);
    }
    if (!have_header)
        err_add(&c->errs, path, 1, "empty file (expected a header row naming the columns)");
    free(rec);
    csv_free(&rd);
}

/* ---- sorting and lookups ---------------------------------------------------- */

static int cmp_addr(const void *a, const void *b)
{
    const addr_row_t *x = a, *y = b;
    if (x->uprn != y->uprn)
        return x->uprn < y->uprn ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static const addr_row_t *find_addr(const ctx_t *c, uint64_t uprn)
{
    const addr_row_t *a = c->t[IMPORT_ADDRESSES].rows;
    size_t lo = 0, hi = c->t[IMPORT_ADDRESSES].n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (a[mid].uprn < uprn)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->t[IMPORT_ADDRESSES].n && a[lo].uprn == uprn ? &a[lo] : NULL;
}

static int cmp_svc(const void *a, const void *b)
{
    const svc_row_t *x = a, *y = b;
    int r = str_cmp(x->id, y->id);
    return r ? r : (x->line < y->line ? -1 : x->line > y->line);
}

static int cmp_round(const void *a, const void *b)
{
    const round_row_t *x = a, *y = b;
    int r = str_cmp(x->id, y->id);
    return r ? r : (x->line < y->line ? -1 : x->line > y->line);
}

static int cmp_notice(const void *a, const void *b)
{
    const notice_row_t *x = a, *y = b;
    int r = str_cmp(x->id, y->id);
    return r ? r : (x->line < y->line ? -1 : x->line > y->line);
}

static int cmp_mat(const void *a, const void *b)
{
    const mat_row_t *x = a, *y = b;
    int r = strcmp(x->id, y->id);
    return r ? r : (x->line < y->line ? -1 : x->line > y->line);
}

static int cmp_asg(const void *a, const void *b)
{
    const asg_row_t *x = a, *y = b;
    if (x->uprn != y->uprn)
        return x->uprn < y->uprn ? -1 : 1;
    int r = str_cmp(x->service, y->service);
    if (r)
        return r;
    if (x->from != y->from)
        return x->from < y->from ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static int cmp_exc(const void *a, const void *b)
{
    const exc_row_t *x = a, *y = b;
    int r = str_cmp(x->round, y->round);
    if (r)
        return r;
    int kx = x->action == CAL_ADDED ? x->newd : x->orig;
    int ky = y->action == CAL_ADDED ? y->newd : y->orig;
    int ax = x->action == CAL_ADDED, ay = y->action == CAL_ADDED;
    if (ax != ay)
        return ax - ay;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

static const svc_row_t *find_svc(const ctx_t *c, str_t id)
{
    svc_row_t key;
    memset(&key, 0, sizeof(key));
    key.id = id;
    const svc_row_t *a = c->t[IMPORT_SERVICES].rows;
    size_t lo = 0, hi = c->t[IMPORT_SERVICES].n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (str_cmp(a[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->t[IMPORT_SERVICES].n && str_cmp(a[lo].id, id) == 0 ? &a[lo] : NULL;
}

static const round_row_t *find_round(const ctx_t *c, str_t id)
{
    const round_row_t *a = c->t[IMPORT_ROUNDS].rows;
    size_t lo = 0, hi = c->t[IMPORT_ROUNDS].n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (str_cmp(a[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->t[IMPORT_ROUNDS].n && str_cmp(a[lo].id, id) == 0 ? &a[lo] : NULL;
}

static void sort_table(ctx_t *c, import_table_t t)
{
    static int (*const cmps[IMPORT_N_TABLES])(const void *, const void *) = {
        cmp_addr, cmp_svc, cmp_round, cmp_asg, cmp_exc, cmp_notice, cmp_mat};
    static const size_t sizes[IMPORT_N_TABLES] = {sizeof(addr_row_t), sizeof(svc_row_t),
                                                  sizeof(round_row_t), sizeof(asg_row_t),
                                                  sizeof(exc_row_t), sizeof(notice_row_t),
                                                  sizeof(mat_row_t)};
    if (c->t[t].n > 1)
        qsort(c->t[t].rows, c->t[t].n, sizes[t], cmps[t]);
}

/* ---- loading stored tables ------------------------------------------------- */

static str_t keep(ctx_t *c, rec_str_t s)
{
    str_t o = {NULL, 0};
    if (s.p) {
        o.p = arena_copy(&c->store_arena, s.p, s.n);
        o.n = s.n;
    }
    return o;
}

static int load_stored(ctx_t *c, MDB_txn *txn, import_table_t ti)
{
    static const store_table_t st[IMPORT_N_TABLES] = {STORE_ADDRESSES, STORE_SERVICES,
                                                      STORE_ROUNDS,    STORE_ASSIGNMENTS,
                                                      STORE_EXCEPTIONS, STORE_NOTICES,
                                                      STORE_MATERIALS};
    table_t *t = &c->t[ti];
    t->n = 0;
    t->loaded = 1;
    snprintf(c->stored_label[ti], sizeof(c->stored_label[ti]), "stored:%s", tables[ti].name);
    t->label = c->stored_label[ti];
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store_core_dbi(c->store, st[ti]), &cur);
    if (rc)
        return rc;
    MDB_val k, v;
    uint32_t ord = 0;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        str_t key = {k.mv_data, (uint32_t)k.mv_size};
        switch (ti) {
        case IMPORT_ADDRESSES: {
            rec_property_t p;
            if (rec_decode_property(v.mv_data, v.mv_size, &p) != 0)
                goto corrupt;
            addr_row_t a;
            memset(&a, 0, sizeof(a));
            a.uprn = p.uprn;
            a.parent = p.parent_uprn;
            a.line = ++ord;
            *(addr_row_t *)tgrow(t, sizeof(addr_row_t)) = a;
            break;
        }
        case IMPORT_SERVICES: {
            svc_row_t s;
            memset(&s, 0, sizeof(s));
            s.id = keep(c, key);
            s.line = ++ord;
            *(svc_row_t *)tgrow(t, sizeof(svc_row_t)) = s;
            break;
        }
        case IMPORT_ROUNDS: {
            rec_round_t r;
            if (rec_decode_round(v.mv_data, v.mv_size, &r) != 0)
                goto corrupt;
            round_row_t x;
            memset(&x, 0, sizeof(x));
            x.id = keep(c, key);
            x.service = keep(c, r.service_id);
            x.wd = r.weekday;
            x.interval = r.interval_weeks;
            x.anchor = r.anchor;
            x.from = r.valid_from;
            x.to = r.valid_to;
            x.line = ++ord;
            *(round_row_t *)tgrow(t, sizeof(round_row_t)) = x;
            break;
        }
        case IMPORT_ASSIGNMENTS: {
            rec_iter_t it;
            rec_assignment_t a;
            if (k.mv_size != 8 || rec_list_open(&it, v.mv_data, v.mv_size) != 0)
                goto corrupt;
            uint64_t uprn = store_uprn_from_key(k.mv_data);
            int r2;
            while ((r2 = rec_next_assignment(&it, &a)) == 1) {
                asg_row_t g;
                memset(&g, 0, sizeof(g));
                g.uprn = uprn;
                g.service = keep(c, a.service_id);
                g.round = keep(c, a.round_id);
                g.from = a.valid_from;
                g.to = a.valid_to;
                g.line = ++ord;
                *(asg_row_t *)tgrow(t, sizeof(asg_row_t)) = g;
            }
            if (r2 < 0)
                goto corrupt;
            break;
        }
        case IMPORT_EXCEPTIONS: {
            rec_iter_t it;
            rec_exception_t e;
            if (rec_list_open(&it, v.mv_data, v.mv_size) != 0)
                goto corrupt;
            str_t round = keep(c, key);
            int r2;
            while ((r2 = rec_next_exception(&it, &e)) == 1) {
                exc_row_t x;
                memset(&x, 0, sizeof(x));
                x.round = round;
                x.action = e.action;
                x.orig = e.original;
                x.newd = e.new_date;
                x.line = ++ord;
                *(exc_row_t *)tgrow(t, sizeof(exc_row_t)) = x;
            }
            if (r2 < 0)
                goto corrupt;
            break;
        }
        case IMPORT_NOTICES: {
            rec_notice_t n;
            if (rec_decode_notice(v.mv_data, v.mv_size, &n) != 0)
                goto corrupt;
            notice_row_t x;
            memset(&x, 0, sizeof(x));
            x.id = keep(c, key);
            x.scope = keep(c, n.scope);
            x.from = n.from;
            x.to = n.to;
            x.line = ++ord;
            *(notice_row_t *)tgrow(t, sizeof(notice_row_t)) = x;
            break;
        }
        case IMPORT_MATERIALS: {
            material_t m;
            if (k.mv_size == 0 || k.mv_size > MATERIALS_MAX_ID || materials_decode(v.mv_data, v.mv_size, &m) != 0)
                goto corrupt;
            mat_row_t x;
            memset(&x, 0, sizeof(x));
            memcpy(x.id, k.mv_data, k.mv_size);
            x.service = keep(c, m.service_id);
            x.line = ++ord;
            *(mat_row_t *)tgrow(t, sizeof(mat_row_t)) = x;
            break;
        }
        default:
            break;
        }
    }
    mdb_cursor_close(cur);
    return rc == MDB_NOTFOUND ? 0 : rc;
corrupt:
    mdb_cursor_close(cur);
    return MDB_CORRUPTED;
}

/* ---- cross-table validation ------------------------------------------------ */

typedef struct phrase {
    char slug[MATERIALS_MAX_ID + 1];
    const char *p; /* as written, for the message */
    uint32_t n;
    const mat_row_t *row;
} phrase_t;

static int cmp_phrase(const void *a, const void *b)
{
    const phrase_t *x = a, *y = b;
    int r = strcmp(x->slug, y->slug);
    return r ? r : (x->row->line < y->row->line ? -1 : x->row->line > y->row->line);
}

static void add_phrase(phrase_t **ph, size_t *n, size_t *cap, const char *p, size_t len, const mat_row_t *row)
{
    GROW(*ph, *n, *cap);
    phrase_t *x = &(*ph)[*n];
    if (materials_slug(x->slug, sizeof(x->slug), p, len) == 0)
        return;
    x->p = p;
    x->n = (uint32_t)len;
    x->row = row;
    (*n)++;
}

/* A material's id, name or synonym must lead to one material only: the
 * interaction model's slot values are generated from them (one phrase, one
 * id), and a resident's words must find one answer. */
static void check_materials(ctx_t *c)
{
    char b[100];
    table_t *t = &c->t[IMPORT_MATERIALS];
    mat_row_t *m = t->rows;
    if (!t->given)
        return;
    if (t->n > MATERIALS_MAX_ROWS)
        err_add(&c->errs, t->label, m[MATERIALS_MAX_ROWS].line, "more than %d materials", MATERIALS_MAX_ROWS);
    for (size_t i = 1; i < t->n; i++)
        if (strcmp(m[i].id, m[i - 1].id) == 0)
            err_add(&c->errs, t->label, m[i].line, "duplicate material %s (first on line %u)",
                    q(b, sizeof(b), m[i].name), m[i - 1].line);
    phrase_t *ph = NULL;
    size_t n = 0, cap = 0;
    for (size_t i = 0; i < t->n; i++) {
        add_phrase(&ph, &n, &cap, m[i].name.p, m[i].name.n, &m[i]);
        const char *p = m[i].synonyms.p, *end = p ? p + m[i].synonyms.n : NULL;
        while (p && p <= end) {
            const char *semi = memchr(p, ';', (size_t)(end - p));
            const char *e = semi ? semi : end;
            add_phrase(&ph, &n, &cap, p, (size_t)(e - p), &m[i]);
            p = e + 1;
        }
    }
    if (n > 1)
        qsort(ph, n, sizeof(*ph), cmp_phrase);
    /* runs of one phrase, earliest line first: each later row that uses it
     * is reported once against the first (a duplicate id is reported above) */
    for (size_t i = 0, first = 0; i < n; i++) {
        if (i == 0 || strcmp(ph[i].slug, ph[first].slug) != 0) {
            first = i;
            continue;
        }
        const mat_row_t *a = ph[first].row, *later = ph[i].row;
        if (later == ph[i - 1].row || strcmp(later->id, a->id) == 0)
            continue;
        str_t w = {ph[i].p, ph[i].n};
        err_add(&c->errs, t->label, later->line, "%s also names material %s (line %u)", q(b, sizeof(b), w),
                a->id, a->line);
    }
    free(ph);
}

static void check_dups(ctx_t *c)
{
    char b[100];
    table_t *t = &c->t[IMPORT_ADDRESSES];
    addr_row_t *a = t->rows;
    if (t->given)
        for (size_t i = 1; i < t->n; i++)
            if (a[i].uprn == a[i - 1].uprn)
                err_add(&c->errs, t->label, a[i].line, "duplicate uprn %llu (first on line %u)",
                        (unsigned long long)a[i].uprn, a[i - 1].line);
    t = &c->t[IMPORT_SERVICES];
    svc_row_t *s = t->rows;
    if (t->given)
        for (size_t i = 1; i < t->n; i++)
            if (str_cmp(s[i].id, s[i - 1].id) == 0)
                err_add(&c->errs, t->label, s[i].line, "duplicate service_id %s (first on line %u)",
                        q(b, sizeof(b), s[i].id), s[i - 1].line);
    t = &c->t[IMPORT_ROUNDS];
    round_row_t *r = t->rows;
    if (t->given)
        for (size_t i = 1; i < t->n; i++)
            if (str_cmp(r[i].id, r[i - 1].id) == 0)
                err_add(&c->errs, t->label, r[i].line, "duplicate round_id %s (first on line %u)",
                        q(b, sizeof(b), r[i].id), r[i - 1].line);
    t = &c->t[IMPORT_NOTICES];
    notice_row_t *n = t->rows;
    if (t->given)
        for (size_t i = 1; i < t->n; i++)
            if (str_cmp(n[i].id, n[i - 1].id) == 0)
                err_add(&c->errs, t->label, n[i].line, "duplicate notice_id %s (first on line %u)",
                        q(b, sizeof(b), n[i].id), n[i - 1].line);
    check_materials(c);
}

/* Check references between a and b only when both are known in this attempt
 * (given, or loaded from the store) and at least one of them changes. */
static int chk(const ctx_t *c, import_table_t a, import_table_t b)
{
    int av = c->t[a].given || c->t[a].loaded, bv = c->t[b].given || c->t[b].loaded;
    return av && bv && !c->t[b].broken && (c->t[a].given || c->t[b].given);
}

static void check_refs(ctx_t *c)
{
    char b[100], b2[100], b3[100], d1[11];
    /* addresses: parents exist */
    table_t *t = &c->t[IMPORT_ADDRESSES];
    if (t->given || c->t[IMPORT_ADDRESSES].loaded) {
        addr_row_t *a = t->rows;
        if (t->given)
            for (size_t i = 0; i < t->n && !t->broken; i++)
                if (a[i].parent && find_addr(c, a[i].parent) == NULL)
                    err_add(&c->errs, t->label, a[i].line,
                            "parent_uprn %llu is not in addresses",
                            (unsigned long long)a[i].parent);
    }
    /* rounds -> services */
    t = &c->t[IMPORT_ROUNDS];
    if (chk(c, IMPORT_ROUNDS, IMPORT_SERVICES)) {
        round_row_t *r = t->rows;
        for (size_t i = 0; i < t->n; i++)
            if (find_svc(c, r[i].service) == NULL)
                err_add(&c->errs, t->label, r[i].line, "unknown service_id %s",
                        q(b, sizeof(b), r[i].service));
    }
    /* assignments -> addresses, services, rounds; no overlaps */
    t = &c->t[IMPORT_ASSIGNMENTS];
    if (t->given || t->loaded) {
        int c_addr = chk(c, IMPORT_ASSIGNMENTS, IMPORT_ADDRESSES);
        int c_svc = chk(c, IMPORT_ASSIGNMENTS, IMPORT_SERVICES);
        int c_round = chk(c, IMPORT_ASSIGNMENTS, IMPORT_ROUNDS);
        asg_row_t *g = t->rows;
        for (size_t i = 0; i < t->n; i++) {
            if (c_addr && find_addr(c, g[i].uprn) == NULL)
                err_add(&c->errs, t->label, g[i].line, "uprn %llu is not in addresses",
                        (unsigned long long)g[i].uprn);
            if (c_svc && find_svc(c, g[i].service) == NULL)
                err_add(&c->errs, t->label, g[i].line, "unknown service_id %s",
                        q(b, sizeof(b), g[i].service));
            const round_row_t *r = c_round ? find_round(c, g[i].round) : NULL;
            if (c_round && r == NULL)
                err_add(&c->errs, t->label, g[i].line, "unknown round_id %s",
                        q(b, sizeof(b), g[i].round));
            else if (r && str_cmp(r->service, g[i].service) != 0)
                err_add(&c->errs, t->label, g[i].line,
                        "round %s collects service %s, not %s", q(b, sizeof(b), g[i].round),
                        q(b2, sizeof(b2), r->service), q(b3, sizeof(b3), g[i].service));
            if (t->given && i > 0 && g[i - 1].uprn == g[i].uprn &&
                str_cmp(g[i - 1].service, g[i].service) == 0 && g[i - 1].to >= g[i].from)
                err_add(&c->errs, t->label, g[i].line,
                        "uprn %llu already has a %s assignment on %s (line %u): assignments "
                        "of one service must not overlap",
                        (unsigned long long)g[i].uprn, q(b, sizeof(b), g[i].service),
                        date_format(g[i].from > g[i - 1].from ? g[i].from : g[i - 1].from, d1),
                        g[i - 1].line);
        }
    }
    /* exceptions -> rounds and their collection dates; duplicates */
    t = &c->t[IMPORT_EXCEPTIONS];
    if (t->given || t->loaded) {
        int c_round = chk(c, IMPORT_EXCEPTIONS, IMPORT_ROUNDS);
        exc_row_t *e = t->rows;
        for (size_t i = 0; i < t->n; i++) {
            if (t->given && i > 0 && str_cmp(e[i].round, e[i - 1].round) == 0 &&
                (e[i].action == CAL_ADDED) == (e[i - 1].action == CAL_ADDED) &&
                (e[i].action == CAL_ADDED ? e[i].newd == e[i - 1].newd
                                          : e[i].orig == e[i - 1].orig))
                err_add(&c->errs, t->label, e[i].line,
                        "duplicate exception for round %s on %s (first on line %u)",
                        q(b, sizeof(b), e[i].round),
                        date_format(e[i].action == CAL_ADDED ? e[i].newd : e[i].orig, d1),
                        e[i - 1].line);
            if (str_eq(e[i].round, "*") || !c_round)
                continue;
            const round_row_t *r = find_round(c, e[i].round);
            if (r == NULL) {
                err_add(&c->errs, t->label, e[i].line, "unknown round_id %s",
                        q(b, sizeof(b), e[i].round));
                continue;
            }
            cal_round_t cr = {r->wd, r->interval, r->anchor, r->from, r->to};
            if (e[i].action != CAL_ADDED && !cal_round_collects(&cr, e[i].orig))
                err_add(&c->errs, t->label, e[i].line,
                        "round %s does not collect on original_date %s (a %s)",
                        q(b, sizeof(b), e[i].round), date_format(e[i].orig, d1),
                        date_weekday_long(date_weekday(e[i].orig)));
            if (e[i].action == CAL_ADDED && cal_round_collects(&cr, e[i].newd))
                err_add(&c->errs, t->label, e[i].line,
                        "round %s already collects on %s; nothing to add",
                        q(b, sizeof(b), e[i].round), date_format(e[i].newd, d1));
        }
    }
    /* notices -> services, rounds */
    t = &c->t[IMPORT_NOTICES];
    if (t->given || t->loaded) {
        int c_svc = chk(c, IMPORT_NOTICES, IMPORT_SERVICES);
        int c_round = chk(c, IMPORT_NOTICES, IMPORT_ROUNDS);
        notice_row_t *n = t->rows;
        for (size_t i = 0; i < t->n; i++) {
            str_t sc = n[i].scope;
            if (sc.n > 8 && memcmp(sc.p, "service:", 8) == 0) {
                str_t id = {sc.p + 8, sc.n - 8};
                if (c_svc && find_svc(c, id) == NULL)
                    err_add(&c->errs, t->label, n[i].line, "scope names unknown service %s",
                            q(b, sizeof(b), id));
            } else if (sc.n > 6 && memcmp(sc.p, "round:", 6) == 0) {
                str_t id = {sc.p + 6, sc.n - 6};
                if (c_round && find_round(c, id) == NULL)
                    err_add(&c->errs, t->label, n[i].line, "scope names unknown round %s",
                            q(b, sizeof(b), id));
            }
        }
    }
    /* materials -> services */
    t = &c->t[IMPORT_MATERIALS];
    if ((t->given || t->loaded) && chk(c, IMPORT_MATERIALS, IMPORT_SERVICES)) {
        mat_row_t *m = t->rows;
        for (size_t i = 0; i < t->n; i++)
            if (m[i].service.p && find_svc(c, m[i].service) == NULL)
                err_add(&c->errs, t->label, m[i].line, "unknown service_id %s%s", q(b, sizeof(b), m[i].service),
                        t->given ? "" : " (a stored material; import materials.csv with the services)");
    }
}

/* Which stored tables must be loaded to check the given ones. */
static int needs(const ctx_t *c, import_table_t t)
{
    if (c->t[t].given)
        return 0;
    int g[IMPORT_N_TABLES];
    for (int i = 0; i < IMPORT_N_TABLES; i++)
        g[i] = c->t[i].given;
    switch (t) {
    case IMPORT_ADDRESSES:
        return g[IMPORT_ASSIGNMENTS];
    case IMPORT_SERVICES:
        return g[IMPORT_ROUNDS] || g[IMPORT_ASSIGNMENTS] || g[IMPORT_NOTICES] || g[IMPORT_MATERIALS];
    case IMPORT_ROUNDS:
        return g[IMPORT_SERVICES] || g[IMPORT_ASSIGNMENTS] || g[IMPORT_EXCEPTIONS] ||
               g[IMPORT_NOTICES];
    case IMPORT_ASSIGNMENTS:
        return g[IMPORT_ADDRESSES] || g[IMPORT_SERVICES] || g[IMPORT_ROUNDS];
    case IMPORT_EXCEPTIONS:
        return g[IMPORT_ROUNDS];
    case IMPORT_NOTICES:
        return g[IMPORT_SERVICES] || g[IMPORT_ROUNDS];
    case IMPORT_MATERIALS:
        return g[IMPORT_SERVICES];
    default:
        return 0;
    }
}

/* ---- writing --------------------------------------------------------------- */

static rec_str_t pcstr(const addr_row_t *a)
{
    rec_str_t s = {a->pc, (uint32_t)strlen(a->pc)};
    return s;
}

static int cmp_pc_idx(const void *x, const void *y, void *ctxp)
{
    const addr_row_t *a = ctxp;
    const addr_row_t *p = &a[*(const uint32_t *)x], *q2 = &a[*(const uint32_t *)y];
    int r = strcmp(p->pc, q2->pc);
    if (r)
        return r;
    return p->uprn < q2->uprn ? -1 : p->uprn > q2->uprn;
}

static int put(MDB_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl,
               unsigned flags)
{
    MDB_val key = {kl, (void *)k}, val = {vl, (void *)v};
    return mdb_put(txn, dbi, &key, &val, flags);
}

static int write_addresses(ctx_t *c, MDB_txn *txn)
{
    MDB_dbi da = store_core_dbi(c->store, STORE_ADDRESSES);
    MDB_dbi dp = store_core_dbi(c->store, STORE_POSTCODES);
    int rc = mdb_drop(txn, da, 0);
    if (!rc)
        rc = mdb_drop(txn, dp, 0);
    if (rc)
        return rc;
    table_t *t = &c->t[IMPORT_ADDRESSES];
    addr_row_t *a = t->rows;
    rec_buf_t b = {0};
    for (size_t i = 0; i < t->n && !rc; i++) {
        rec_property_t p = {a[i].uprn, a[i].parent, a[i].usrn, a[i].saon, a[i].paon,
                            a[i].street, a[i].locality, a[i].town, pcstr(&a[i])};
        rec_buf_reset(&b);
        rec_encode_property(&b, &p);
        unsigned char key[8];
        store_uprn_key(a[i].uprn, key);
        rc = put(txn, da, key, 8, b.buf, b.len, MDB_APPEND);
    }
    uint32_t *idx = xmalloc(t->n * sizeof(*idx));
    for (size_t i = 0; i < t->n; i++)
        idx[i] = (uint32_t)i;
    qsort_r(idx, t->n, sizeof(*idx), cmp_pc_idx, a);
    for (size_t i = 0; i < t->n && !rc;) {
        size_t j = i;
        rec_buf_reset(&b);
        while (j < t->n && strcmp(a[idx[j]].pc, a[idx[i]].pc) == 0)
            j++;
        /* the whole postcode in one value: matching reads one record */
        rec_list_begin(&b, (uint32_t)(j - i));
        for (size_t k = i; k < j; k++) {
            const addr_row_t *x = &a[idx[k]];
            rec_property_t p = {x->uprn,  x->parent,   x->usrn, x->saon,   x->paon,
                                x->street, x->locality, x->town, pcstr(x)};
            size_t at = b.len;
            rec_list_begin(&b, 0); /* length placeholder */
            rec_encode_property(&b, &p);
            uint32_t l = (uint32_t)(b.len - at - 4);
            b.buf[at] = (uint8_t)(l >> 24);
            b.buf[at + 1] = (uint8_t)(l >> 16);
            b.buf[at + 2] = (uint8_t)(l >> 8);
            b.buf[at + 3] = (uint8_t)l;
        }
        const char *pc = a[idx[i]].pc;
        rc = put(txn, dp, pc, strlen(pc), b.buf, b.len, MDB_APPEND);
        i = j;
    }
    free(idx);
    rec_buf_free(&b);
    return rc;
}

static int write_simple(ctx_t *c, MDB_txn *txn, import_table_t ti)
{
    static const store_table_t st[IMPORT_N_TABLES] = {0, STORE_SERVICES, STORE_ROUNDS, 0, 0,
                                                      STORE_NOTICES};
    MDB_dbi d = store_core_dbi(c->store, st[ti]);
    int rc = mdb_drop(txn, d, 0);
    rec_buf_t b = {0};
    table_t *t = &c->t[ti];
    for (size_t i = 0; i < t->n && !rc; i++) {
        rec_buf_reset(&b);
        str_t key;
        if (ti == IMPORT_SERVICES) {
            const svc_row_t *s = &((svc_row_t *)t->rows)[i];
            rec_service_t r = {s->name, s->colour, s->spoken, s->desc, s->link, s->sub};
            rec_encode_service(&b, &r);
            key = s->id;
        } else if (ti == IMPORT_ROUNDS) {
            const round_row_t *x = &((round_row_t *)t->rows)[i];
            rec_round_t r = {x->service, x->wd, x->interval, x->anchor, x->from, x->to};
            rec_encode_round(&b, &r);
            key = x->id;
        } else {
            const notice_row_t *x = &((notice_row_t *)t->rows)[i];
            rec_notice_t r = {x->scope, x->message, x->from, x->to};
            rec_encode_notice(&b, &r);
            key = x->id;
        }
        rc = put(txn, d, key.p, key.n, b.buf, b.len, MDB_APPEND);
    }
    rec_buf_free(&b);
    return rc;
}

static int write_assignments(ctx_t *c, MDB_txn *txn)
{
    MDB_dbi d = store_core_dbi(c->store, STORE_ASSIGNMENTS);
    int rc = mdb_drop(txn, d, 0);
    table_t *t = &c->t[IMPORT_ASSIGNMENTS];
    asg_row_t *g = t->rows;
    rec_buf_t b = {0};
    for (size_t i = 0; i < t->n && !rc;) {
        size_t j = i;
        while (j < t->n && g[j].uprn == g[i].uprn)
            j++;
        rec_buf_reset(&b);
        rec_list_begin(&b, (uint32_t)(j - i));
        for (size_t k = i; k < j; k++) {
            rec_assignment_t a = {g[k].service, g[k].round, g[k].from, g[k].to};
            rec_encode_assignment(&b, &a);
        }
        unsigned char key[8];
        store_uprn_key(g[i].uprn, key);
        rc = put(txn, d, key, 8, b.buf, b.len, MDB_APPEND);
        i = j;
    }
    rec_buf_free(&b);
    return rc;
}

static int write_exceptions(ctx_t *c, MDB_txn *txn)
{
    MDB_dbi d = store_core_dbi(c->store, STORE_EXCEPTIONS);
    int rc = mdb_drop(txn, d, 0);
    table_t *t = &c->t[IMPORT_EXCEPTIONS];
    exc_row_t *e = t->rows;
    rec_buf_t b = {0};
    for (size_t i = 0; i < t->n && !rc;) {
        size_t j = i;
        while (j < t->n && str_cmp(e[j].round, e[i].round) == 0)
            j++;
        rec_buf_reset(&b);
        rec_list_begin(&b, (uint32_t)(j - i));
        for (size_t k = i; k < j; k++) {
            rec_exception_t x = {e[k].action, e[k].orig, e[k].newd, e[k].reason};
            rec_encode_exception(&b, &x);
        }
        rc = put(txn, d, e[i].round.p, e[i].round.n, b.buf, b.len, MDB_APPEND);
        i = j;
    }
    rec_buf_free(&b);
    return rc;
}

static int write_materials(ctx_t *c, MDB_txn *txn)
{
    MDB_dbi d = store_core_dbi(c->store, STORE_MATERIALS);
    int rc = mdb_drop(txn, d, 0);
    table_t *t = &c->t[IMPORT_MATERIALS];
    const mat_row_t *m = t->rows;
    rec_buf_t b = {0};
    for (size_t i = 0; i < t->n && !rc; i++) {
        material_t x = {.name = m[i].name, .synonyms = m[i].synonyms, .service_id = m[i].service,
                        .take_to = m[i].take_to, .note = m[i].note};
        rec_buf_reset(&b);
        materials_encode(&b, &x);
        rc = put(txn, d, m[i].id, strlen(m[i].id), b.buf, b.len, MDB_APPEND);
    }
    rec_buf_free(&b);
    return rc;
}

static int write_meta(ctx_t *c, MDB_txn *txn)
{
    MDB_dbi d = store_core_dbi(c->store, STORE_META);
    char v[64];
    /* in this txn, with the tables it wrote: a snapshot's generation always
     * names the small tables it holds (lookup_table.c relies on it) */
    int rc = store_generation_bump(c->store, txn, NULL);
    int n = snprintf(v, sizeof(v), "%lld", (long long)time(NULL));
    if (!rc)
        rc = put(txn, d, "imported_at", 11, v, (size_t)n, 0);
    for (int i = 0; i < IMPORT_N_TABLES && !rc; i++) {
        if (!c->t[i].given)
            continue;
        char key[40];
        int kl = snprintf(key, sizeof(key), "count:%s", tables[i].name);
        n = snprintf(v, sizeof(v), "%zu", c->t[i].n);
        rc = put(txn, d, key, (size_t)kl, v, (size_t)n, 0);
    }
    return rc;
}

/* Load what the given tables must agree with and check them, in txn (read
 * or write). 0 when there is no problem, IMPORT_ABORT, or an MDB error. */
static int check_txn(ctx_t *c, MDB_txn *txn, char *err, size_t err_size)
{
    /* a MAP_FULL retry (or a second run of a job) starts over: forget what
     * the last attempt loaded and found */
    err_clear_buffer(&c->errs);
    c->errs.total = c->parse_errors;
    c->errs.buffering = 1;
    arena_free(&c->store_arena);
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        if (c->t[i].loaded) {
            c->t[i].n = 0;
            c->t[i].loaded = 0;
        }
        if (needs(c, (import_table_t)i)) {
            int rc = load_stored(c, txn, (import_table_t)i);
            if (rc) {
                snprintf(err, err_size, "reading stored %s: %s", tables[i].name,
                         mdb_strerror(rc));
                return rc;
            }
            sort_table(c, (import_table_t)i);
        }
    }
    check_dups(c);
    check_refs(c);
    return c->errs.total > 0 ? IMPORT_ABORT : 0;
}

/* Replace the given tables and bump the generation, in the write txn. */
static int write_txn(ctx_t *c, MDB_txn *txn, char *err, size_t err_size)
{
    int rc = 0;
    if (c->t[IMPORT_ADDRESSES].given)
        rc = write_addresses(c, txn);
    if (!rc && c->t[IMPORT_SERVICES].given)
        rc = write_simple(c, txn, IMPORT_SERVICES);
    if (!rc && c->t[IMPORT_ROUNDS].given)
        rc = write_simple(c, txn, IMPORT_ROUNDS);
    if (!rc && c->t[IMPORT_ASSIGNMENTS].given)
        rc = write_assignments(c, txn);
    if (!rc && c->t[IMPORT_EXCEPTIONS].given)
        rc = write_exceptions(c, txn);
    if (!rc && c->t[IMPORT_NOTICES].given)
        rc = write_simple(c, txn, IMPORT_NOTICES);
    if (!rc && c->t[IMPORT_MATERIALS].given)
        rc = write_materials(c, txn);
    if (!rc)
        rc = write_meta(c, txn);
    if (rc && rc != MDB_MAP_FULL)
        snprintf(err, err_size, "writing: %s", mdb_strerror(rc));
    return rc;
}

static int txn_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    ctx_t *c = ud;
    int rc = check_txn(c, txn, err, err_size);
    return rc ? rc : write_txn(c, txn, err, err_size);
}

int import_run(store_t *s, const char *const paths[IMPORT_N_TABLES], size_t max_errors,
               import_error_fn on_error, void *ud, import_report_t *report, char *err,
               size_t err_size)
{
    ctx_t *c = xcalloc(1, sizeof(*c));
    c->store = s;
    c->errs.fn = on_error;
    c->errs.ud = ud;
    c->errs.max = max_errors ? max_errors : 1000;
    memset(report, 0, sizeof(*report));
    void *maps[IMPORT_N_TABLES] = {0};
    size_t lens[IMPORT_N_TABLES] = {0};
    int ret = 0, any = 0;
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        if (paths[i] == NULL)
            continue;
        any = 1;
        c->t[i].given = 1;
        c->t[i].label = paths[i];
        size_t before = c->errs.total;
        if (parse_file(c, (import_table_t)i, paths[i], &maps[i], &lens[i], &report->rows[i],
                       err, err_size) != 0) {
            ret = -1;
            goto out;
        }
        c->t[i].broken = c->errs.total > before;
        sort_table(c, (import_table_t)i);
    }
    if (!any) {
        snprintf(err, err_size, "no files given");
        ret = -1;
        goto out;
    }
    c->parse_errors = c->errs.total;
    int rc = store_write(s, txn_fn, c, err, err_size);
    for (size_t i = 0; i < c->errs.nbuf; i++)
        if (on_error)
            on_error(c->errs.buf[i], ud);
    if (rc == IMPORT_ABORT)
        ret = IMPORT_REJECTED;
    else if (rc != 0)
        ret = -1;
out:
    report->n_errors = c->errs.total;
    err_clear_buffer(&c->errs);
    free(c->errs.buf);
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        free(c->t[i].rows);
        if (maps[i])
            munmap(maps[i], lens[i]);
    }
    arena_free(&c->arena);
    arena_free(&c->store_arena);
    free(c);
    return ret;
}

size_t import_check_buffer(import_table_t t, const char *label, const uint8_t *data, size_t len,
                           size_t max_errors, import_error_fn on_error, void *ud, size_t *rows)
{
    ctx_t *c = xcalloc(1, sizeof(*c));
    c->errs.fn = on_error;
    c->errs.ud = ud;
    c->errs.max = max_errors ? max_errors : 1000;
    size_t nrows = 0;
    c->t[t].given = 1;
    c->t[t].label = label;
    parse_buffer(c, t, label, data, len, &nrows);
    sort_table(c, t);
    check_dups(c);
    size_t total = c->errs.total;
    if (rows)
        *rows = c->t[t].n;
    free(c->t[t].rows);
    arena_free(&c->arena);
    free(c);
    return total;
}

/* ---- jobs: the same import over buffers, in the caller's txn ------------------ */

struct import_job {
    ctx_t *c;
    uint8_t *data[IMPORT_N_TABLES]; /* copies of the CSV bytes the rows point into */
    char *label[IMPORT_N_TABLES];
    size_t rows_read[IMPORT_N_TABLES];
    char **parse_msgs;              /* problems found while parsing (kept across runs) */
    size_t n_parse, cap_parse;
    char **all;                     /* parse_msgs + the last run's, for import_job_errors */
    size_t n_all;
};

static void job_collect(const char *msg, void *ud)
{
    import_job_t *j = ud;
    GROW(j->parse_msgs, j->n_parse, j->cap_parse);
    j->parse_msgs[j->n_parse++] = xstrdup(msg);
}

import_job_t *import_job_new(store_t *s, size_t max_errors)
{
    import_job_t *j = xcalloc(1, sizeof(*j));
    j->c = xcalloc(1, sizeof(*j->c));
    j->c->store = s;
    j->c->errs.fn = job_collect;
    j->c->errs.ud = j;
    j->c->errs.max = max_errors ? max_errors : 1000;
    return j;
}

size_t import_job_add(import_job_t *j, import_table_t t, const char *label, const uint8_t *data, size_t len)
{
    ctx_t *c = j->c;
    if ((unsigned)t >= IMPORT_N_TABLES || c->t[t].given)
        abort(); /* a caller's bug: each table once */
    j->label[t] = xstrdup(label ? label : import_table_name(t));
    j->data[t] = xmalloc(len ? len : 1);
    if (len)
        memcpy(j->data[t], data, len);
    c->t[t].given = 1;
    c->t[t].label = j->label[t];
    size_t before = c->errs.total;
    parse_buffer(c, t, j->label[t], j->data[t], len, &j->rows_read[t]);
    c->t[t].broken = c->errs.total > before;
    sort_table(c, t);
    c->parse_errors = c->errs.total;
    return c->errs.total - before;
}

static void job_gather(import_job_t *j)
{
    free(j->all);
    j->n_all = j->n_parse + j->c->errs.nbuf;
    j->all = xmalloc((j->n_all ? j->n_all : 1) * sizeof(*j->all));
    if (j->n_parse)
        memcpy(j->all, j->parse_msgs, j->n_parse * sizeof(*j->all));
    if (j->c->errs.nbuf)
        memcpy(j->all + j->n_parse, j->c->errs.buf, j->c->errs.nbuf * sizeof(*j->all));
}

int import_job_run(import_job_t *j, MDB_txn *txn, int write, char *err, size_t err_size)
{
    ctx_t *c = j->c;
    int any = 0;
    for (int i = 0; i < IMPORT_N_TABLES; i++)
        any |= c->t[i].given;
    if (!any) {
        snprintf(err, err_size, "no tables given");
        return -1;
    }
    int rc = check_txn(c, txn, err, err_size);
    job_gather(j);
    if (rc == IMPORT_ABORT)
        return IMPORT_REJECTED;
    if (rc == 0 && write)
        rc = write_txn(c, txn, err, err_size);
    return rc;
}

size_t import_job_errors(const import_job_t *j, const char *const **msgs)
{
    *msgs = (const char *const *)j->all;
    return j->all ? j->n_all : 0;
}

size_t import_job_error_total(const import_job_t *j)
{
    return j->c->errs.total;
}

size_t import_job_rows(const import_job_t *j, import_table_t t)
{
    return (unsigned)t < IMPORT_N_TABLES && j->c->t[t].given ? j->c->t[t].n : 0;
}

void import_job_free(import_job_t *j)
{
    if (j == NULL)
        return;
    ctx_t *c = j->c;
    err_clear_buffer(&c->errs);
    free(c->errs.buf);
    for (int i = 0; i < IMPORT_N_TABLES; i++) {
        free(c->t[i].rows);
        free(j->data[i]);
        free(j->label[i]);
    }
    for (size_t i = 0; i < j->n_parse; i++)
        free(j->parse_msgs[i]);
    free(j->parse_msgs);
    free(j->all);
    arena_free(&c->arena);
    arena_free(&c->store_arena);
    free(c);
    free(j);
}

/* ---- diff: rows added, changed, removed ----------------------------------------
 * Each row of a table gets an identity (what makes it "the same row": the
 * uprn, the id, (uprn, service, valid_from) for assignments, (round, the
 * date it is about) for exceptions) and a value (its record encoding, the
 * same bytes the table stores). Both sides are listed, sorted by identity
 * and merged. */

typedef struct drow {
    uint8_t *k, *v;
    uint32_t kl, vl;
} drow_t;

typedef struct dlist {
    drow_t *r;
    size_t n, cap;
} dlist_t;

static void dl_add(dlist_t *l, const void *k, size_t kl, const void *v, size_t vl)
{
    GROW(l->r, l->n, l->cap);
    drow_t *d = &l->r[l->n++];
    d->k = xmalloc(kl + vl + 1);
    memcpy(d->k, k, kl);
    d->v = d->k + kl;
    memcpy(d->v, v, vl);
    d->kl = (uint32_t)kl;
    d->vl = (uint32_t)vl;
}

static void dl_free(dlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->r[i].k);
    free(l->r);
}

static int drow_cmp(const void *a, const void *b)
{
    const drow_t *x = a, *y = b;
    size_t n = x->kl < y->kl ? x->kl : y->kl;
    int c = n ? memcmp(x->k, y->k, n) : 0;
    return c ? c : (x->kl > y->kl) - (x->kl < y->kl);
}

static void be32(uint8_t *p, int v)
{
    uint32_t u = (uint32_t)v ^ 0x80000000u; /* sorts negative before positive */
    p[0] = (uint8_t)(u >> 24);
    p[1] = (uint8_t)(u >> 16);
    p[2] = (uint8_t)(u >> 8);
    p[3] = (uint8_t)u;
}

/* identity of an assignment / exception */
static size_t asg_key(uint8_t *k, size_t cap, uint64_t uprn, rec_str_t svc, int from)
{
    size_t n = svc.n > cap - 13 ? cap - 13 : svc.n;
    store_uprn_key(uprn, k);
    memcpy(k + 8, svc.p ? svc.p : "", n);
    k[8 + n] = 0;
    be32(k + 9 + n, from);
    return 13 + n;
}

static size_t exc_key(uint8_t *k, size_t cap, rec_str_t round, int action, int orig, int newd)
{
    size_t n = round.n > cap - 6 ? cap - 6 : round.n;
    memcpy(k, round.p ? round.p : "", n);
    k[n] = 0;
    k[n + 1] = action == CAL_ADDED ? 'a' : 'o';
    be32(k + n + 2, action == CAL_ADDED ? newd : orig);
    return n + 6;
}

static void diff_new(ctx_t *c, import_table_t t, dlist_t *l)
{
    rec_buf_t b = {0};
    uint8_t key[1100];
    table_t *tb = &c->t[t];
    for (size_t i = 0; i < tb->n; i++) {
        rec_buf_reset(&b);
        size_t kl = 0;
        switch (t) {
        case IMPORT_ADDRESSES: {
            const addr_row_t *a = &((addr_row_t *)tb->rows)[i];
            rec_property_t p = {a->uprn, a->parent, a->usrn, a->saon, a->paon, a->street, a->locality, a->town,
                                pcstr(a)};
            rec_encode_property(&b, &p);
            store_uprn_key(a->uprn, key);
            kl = 8;
            break;
        }
        case IMPORT_SERVICES: {
            const svc_row_t *s = &((svc_row_t *)tb->rows)[i];
            rec_service_t r = {s->name, s->colour, s->spoken, s->desc, s->link, s->sub};
            rec_encode_service(&b, &r);
            memcpy(key, s->id.p, s->id.n);
            kl = s->id.n;
            break;
        }
        case IMPORT_ROUNDS: {
            const round_row_t *x = &((round_row_t *)tb->rows)[i];
            rec_round_t r = {x->service, x->wd, x->interval, x->anchor, x->from, x->to};
            rec_encode_round(&b, &r);
            memcpy(key, x->id.p, x->id.n);
            kl = x->id.n;
            break;
        }
        case IMPORT_ASSIGNMENTS: {
            const asg_row_t *g = &((asg_row_t *)tb->rows)[i];
            rec_assignment_t a = {g->service, g->round, g->from, g->to};
            rec_encode_assignment(&b, &a);
            kl = asg_key(key, sizeof(key), g->uprn, g->service, g->from);
            break;
        }
        case IMPORT_EXCEPTIONS: {
            const exc_row_t *e = &((exc_row_t *)tb->rows)[i];
            rec_exception_t x = {e->action, e->orig, e->newd, e->reason};
            rec_encode_exception(&b, &x);
            kl = exc_key(key, sizeof(key), e->round, e->action, e->orig, e->newd);
            break;
        }
        case IMPORT_NOTICES: {
            const notice_row_t *x = &((notice_row_t *)tb->rows)[i];
            rec_notice_t r = {x->scope, x->message, x->from, x->to};
            rec_encode_notice(&b, &r);
            memcpy(key, x->id.p, x->id.n);
            kl = x->id.n;
            break;
        }
        case IMPORT_MATERIALS: {
            const mat_row_t *m = &((mat_row_t *)tb->rows)[i];
            material_t x = {.name = m->name, .synonyms = m->synonyms, .service_id = m->service,
                            .take_to = m->take_to, .note = m->note};
            materials_encode(&b, &x); /* as write_materials stores it */
            kl = strlen(m->id);
            memcpy(key, m->id, kl);
            break;
        }
        default:
            abort(); /* a table added without its diff identity */
        }
        dl_add(l, key, kl, b.buf, b.len);
    }
    rec_buf_free(&b);
}

static int diff_stored(ctx_t *c, MDB_txn *txn, import_table_t t, dlist_t *l)
{
    static const store_table_t st[IMPORT_N_TABLES] = {STORE_ADDRESSES, STORE_SERVICES, STORE_ROUNDS,
                                                      STORE_ASSIGNMENTS, STORE_EXCEPTIONS, STORE_NOTICES,
                                                      STORE_MATERIALS};
    MDB_cursor *cur;
    int rc = mdb_cursor_open(txn, store_core_dbi(c->store, st[t]), &cur);
    if (rc)
        return rc;
    rec_buf_t b = {0};
    uint8_t key[1100];
    MDB_val k, v;
    for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (t == IMPORT_ASSIGNMENTS || t == IMPORT_EXCEPTIONS) {
            rec_iter_t it;
            if (rec_list_open(&it, v.mv_data, v.mv_size) != 0 || (t == IMPORT_ASSIGNMENTS && k.mv_size != 8)) {
                rc = MDB_CORRUPTED;
                break;
            }
            int r2;
            if (t == IMPORT_ASSIGNMENTS) {
                rec_assignment_t a;
                uint64_t uprn = store_uprn_from_key(k.mv_data);
                while ((r2 = rec_next_assignment(&it, &a)) == 1) {
                    rec_buf_reset(&b);
                    rec_encode_assignment(&b, &a);
                    size_t kl = asg_key(key, sizeof(key), uprn, a.service_id, a.valid_from);
                    dl_add(l, key, kl, b.buf, b.len);
                }
            } else {
                rec_exception_t e;
                rec_str_t round = {k.mv_data, (uint32_t)k.mv_size};
                while ((r2 = rec_next_exception(&it, &e)) == 1) {
                    rec_buf_reset(&b);
                    rec_encode_exception(&b, &e);
                    size_t kl = exc_key(key, sizeof(key), round, e.action, e.original, e.new_date);
                    dl_add(l, key, kl, b.buf, b.len);
                }
            }
            if (r2 < 0) {
                rc = MDB_CORRUPTED;
                break;
            }
        } else {
            /* one record per key, stored in the encoding diff_new makes */
            dl_add(l, k.mv_data, k.mv_size, v.mv_data, v.mv_size);
        }
    }
    mdb_cursor_close(cur);
    rec_buf_free(&b);
    return rc == MDB_NOTFOUND ? 0 : rc;
}

int import_job_diff(import_job_t *j, MDB_txn *txn, import_diff_t diff[IMPORT_N_TABLES])
{
    ctx_t *c = j->c;
    memset(diff, 0, sizeof(import_diff_t) * IMPORT_N_TABLES);
    for (int t = 0; t < IMPORT_N_TABLES; t++) {
        if (!c->t[t].given)
            continue;
        diff[t].given = 1;
        dlist_t a = {0}, b = {0};
        diff_new(c, (import_table_t)t, &a);
        int rc = diff_stored(c, txn, (import_table_t)t, &b);
        if (rc) {
            dl_free(&a);
            dl_free(&b);
            return rc;
        }
        qsort(a.r, a.n, sizeof(*a.r), drow_cmp);
        qsort(b.r, b.n, sizeof(*b.r), drow_cmp);
        size_t i = 0, k = 0;
        while (i < a.n || k < b.n) {
            int cmp = i == a.n ? 1 : k == b.n ? -1 : drow_cmp(&a.r[i], &b.r[k]);
            if (cmp < 0) {
                diff[t].added++;
                i++;
            } else if (cmp > 0) {
                diff[t].removed++;
                k++;
            } else {
                if (a.r[i].vl == b.r[k].vl && memcmp(a.r[i].v, b.r[k].v, a.r[i].vl) == 0)
                    diff[t].unchanged++;
                else
                    diff[t].changed++;
                i++;
                k++;
            }
        }
        dl_free(&a);
        dl_free(&b);
    }
    return 0;
}
