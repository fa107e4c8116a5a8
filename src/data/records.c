/* records.c - owns the on-disk value formats of the data side (see records.h). */
#include "binday/data/records.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/xalloc.h"

static void reserve(rec_buf_t *b, size_t extra)
{
    if (b->len + extra <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    b->buf = xrealloc(b->buf, cap);
    b->cap = cap;
}

void rec_buf_reset(rec_buf_t *b)
{
    b->len = 0;
}

void rec_buf_free(rec_buf_t *b)
{
    free(b->buf);
    b->buf = NULL;
    b->len = b->cap = 0;
}

void rec_buf_append(rec_buf_t *b, const void *p, size_t n)
{
    reserve(b, n);
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

static void put_u64(rec_buf_t *b, uint64_t v)
{
    reserve(b, 8);
    for (int i = 7; i >= 0; i--)
        b->buf[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u32(rec_buf_t *b, uint32_t v)
{
    reserve(b, 4);
    for (int i = 3; i >= 0; i--)
        b->buf[b->len++] = (uint8_t)(v >> (8 * i));
}

static void put_u8(rec_buf_t *b, uint8_t v)
{
    reserve(b, 1);
    b->buf[b->len++] = v;
}

/* Strings are at most 65534 bytes (import bounds fields well below that);
 * 0xFFFF marks "absent" so absent and empty stay distinct. */
static void put_str(rec_buf_t *b, rec_str_t s)
{
    uint32_t n = s.p ? (s.n > 65534 ? 65534 : s.n) : 0xFFFF;
    reserve(b, 2 + (s.p ? n : 0));
    b->buf[b->len++] = (uint8_t)(n >> 8);
    b->buf[b->len++] = (uint8_t)n;
    if (s.p) {
        memcpy(b->buf + b->len, s.p, n);
        b->len += n;
    }
}

typedef struct rd {
    const uint8_t *p, *end;
    int bad;
} rd_t;

static uint64_t get_u64(rd_t *r)
{
    if (r->end - r->p < 8) {
        r->bad = 1;
        return 0;
    }
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | r->p[i];
    r->p += 8;
    return v;
}

static uint32_t get_u32(rd_t *r)
{
    if (r->end - r->p < 4) {
        r->bad = 1;
        return 0;
    }
    uint32_t v = ((uint32_t)r->p[0] << 24) | ((uint32_t)r->p[1] << 16) |
                 ((uint32_t)r->p[2] << 8) | r->p[3];
    r->p += 4;
    return v;
}

static uint8_t get_u8(rd_t *r)
{
    if (r->end - r->p < 1) {
        r->bad = 1;
        return 0;
    }
    return *r->p++;
}

static rec_str_t get_str(rd_t *r)
{
    rec_str_t s = {NULL, 0};
    if (r->end - r->p < 2) {
        r->bad = 1;
        return s;
    }
    uint32_t n = ((uint32_t)r->p[0] << 8) | r->p[1];
    r->p += 2;
    if (n == 0xFFFF)
        return s;
    if ((size_t)(r->end - r->p) < n) {
        r->bad = 1;
        return s;
    }
    s.p = (const char *)r->p;
    s.n = n;
    r->p += n;
    return s;
}

void rec_encode_property(rec_buf_t *b, const rec_property_t *p)
{
    put_u64(b, p->uprn);
    put_u64(b, p->parent_uprn);
    put_u64(b, p->usrn);
    put_str(b, p->saon);
    put_str(b, p->paon);
    put_str(b, p->street);
    put_str(b, p->locality);
    put_str(b, p->town);
    put_str(b, p->postcode);
}

int rec_decode_property(const void *v, size_t len, rec_property_t *p)
{
    rd_t r = {v, (const uint8_t *)v + len, 0};
    p->uprn = get_u64(&r);
    p->parent_uprn = get_u64(&r);
    p->usrn = get_u64(&r);
    p->saon = get_str(&r);
    p->paon = get_str(&r);
    p->street = get_str(&r);
    p->locality = get_str(&r);
    p->town = get_str(&r);
    p->postcode = get_str(&r);
    return r.bad ? -1 : 0;
}

void rec_encode_service(rec_buf_t *b, const rec_service_t *s)
{
    put_str(b, s->name);
    put_str(b, s->colour);
    put_str(b, s->spoken_name);
    put_str(b, s->description);
    put_str(b, s->link_url);
    put_u8(b, (uint8_t)(s->subscription != 0));
}

int rec_decode_service(const void *v, size_t len, rec_service_t *s)
{
    rd_t r = {v, (const uint8_t *)v + len, 0};
    s->name = get_str(&r);
    s->colour = get_str(&r);
    s->spoken_name = get_str(&r);
    s->description = get_str(&r);
    s->link_url = get_str(&r);
    s->subscription = get_u8(&r);
    return r.bad ? -1 : 0;
}

void rec_encode_round(rec_buf_t *b, const rec_round_t *x)
{
    put_str(b, x->service_id);
    put_u8(b, (uint8_t)x->weekday);
    put_u8(b, (uint8_t)x->interval_weeks);
    put_u32(b, (uint32_t)x->anchor);
    put_u32(b, (uint32_t)x->valid_from);
    put_u32(b, (uint32_t)x->valid_to);
}

int rec_decode_round(const void *v, size_t len, rec_round_t *x)
{
    rd_t r = {v, (const uint8_t *)v + len, 0};
    x->service_id = get_str(&r);
    x->weekday = get_u8(&r);
    x->interval_weeks = get_u8(&r);
    x->anchor = (int32_t)get_u32(&r);
    x->valid_from = (int32_t)get_u32(&r);
    x->valid_to = (int32_t)get_u32(&r);
    if (x->weekday > 6 || x->interval_weeks < 1)
        r.bad = 1;
    return r.bad ? -1 : 0;
}

void rec_list_begin(rec_buf_t *b, uint32_t n)
{
    put_u32(b, n);
}

void rec_encode_assignment(rec_buf_t *b, const rec_assignment_t *a)
{
    put_str(b, a->service_id);
    put_str(b, a->round_id);
    put_u32(b, (uint32_t)a->valid_from);
    put_u32(b, (uint32_t)a->valid_to);
}

void rec_encode_exception(rec_buf_t *b, const rec_exception_t *e)
{
    put_u8(b, (uint8_t)e->action);
    put_u32(b, (uint32_t)e->original);
    put_u32(b, (uint32_t)e->new_date);
    put_str(b, e->reason);
}

void rec_encode_notice(rec_buf_t *b, const rec_notice_t *n)
{
    put_str(b, n->scope);
    put_str(b, n->message);
    put_u32(b, (uint32_t)n->from);
    put_u32(b, (uint32_t)n->to);
}

int rec_decode_notice(const void *v, size_t len, rec_notice_t *n)
{
    rd_t r = {v, (const uint8_t *)v + len, 0};
    n->scope = get_str(&r);
    n->message = get_str(&r);
    n->from = (int32_t)get_u32(&r);
    n->to = (int32_t)get_u32(&r);
    return r.bad ? -1 : 0;
}

int rec_list_open(rec_iter_t *it, const void *v, size_t len)
{
    rd_t r = {v, (const uint8_t *)v + len, 0};
    it->left = get_u32(&r);
    it->p = r.p;
    it->end = r.end;
    return r.bad ? -1 : 0;
}

int rec_next_assignment(rec_iter_t *it, rec_assignment_t *a)
{
    if (it->left == 0)
        return 0;
    rd_t r = {it->p, it->end, 0};
    a->service_id = get_str(&r);
    a->round_id = get_str(&r);
    a->valid_from = (int32_t)get_u32(&r);
    a->valid_to = (int32_t)get_u32(&r);
    if (r.bad)
        return -1;
    it->p = r.p;
    it->left--;
    return 1;
}

int rec_next_exception(rec_iter_t *it, rec_exception_t *e)
{
    if (it->left == 0)
        return 0;
    rd_t r = {it->p, it->end, 0};
    e->action = get_u8(&r);
    e->original = (int32_t)get_u32(&r);
    e->new_date = (int32_t)get_u32(&r);
    e->reason = get_str(&r);
    if (r.bad)
        return -1;
    it->p = r.p;
    it->left--;
    return 1;
}

int rec_next_property(rec_iter_t *it, rec_property_t *p)
{
    if (it->left == 0)
        return 0;
    rd_t r = {it->p, it->end, 0};
    uint32_t l = get_u32(&r);
    if (r.bad || (size_t)(r.end - r.p) < l)
        return -1;
    if (rec_decode_property(r.p, l, p) != 0)
        return -1;
    it->p = r.p + l;
    it->left--;
    return 1;
}

void rec_str_lower(char *dst, size_t cap, rec_str_t s)
{
    size_t n = s.p ? strnlen(s.p, s.n < cap - 1 ? s.n : cap - 1) : 0;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)s.p[i]);
    dst[n] = '\0';
}
