/* records.h - the byte layout of the data side's LMDB values.
 *
 * Writers (import) encode into a caller buffer; readers decode in place:
 * decoded strings point into the value (i.e. into the LMDB map), so they are
 * valid only while the read txn that produced the value is open.
 * Layout: fixed-width integers big-endian, strings as u16 length + bytes.
 * Every decoder bounds-checks against the value length and returns -1 on a
 * malformed value instead of reading past it.
 */
#ifndef BINDAY_RECORDS_H
#define BINDAY_RECORDS_H

#include <stddef.h>
#include <stdint.h>

typedef struct rec_str {
    const char *p; /* NULL when absent */
    uint32_t n;
} rec_str_t;

/* s lower-cased (ASCII, via tolower) into dst, cut to cap - 1 bytes and at
 * an embedded NUL like snprintf("%.*s"); "" when s is absent. cap >= 1. */
void rec_str_lower(char *dst, size_t cap, rec_str_t s);

typedef struct rec_property {
    uint64_t uprn, parent_uprn, usrn; /* 0 = absent */
    rec_str_t saon, paon, street, locality, town, postcode;
} rec_property_t;

typedef struct rec_service {
    rec_str_t name, colour, spoken_name, description, link_url;
    int subscription;
} rec_service_t;

typedef struct rec_round {
    rec_str_t service_id;
    int weekday, interval_weeks, anchor, valid_from, valid_to;
} rec_round_t;

typedef struct rec_assignment {
    rec_str_t service_id, round_id;
    int valid_from, valid_to;
} rec_assignment_t;

typedef struct rec_exception {
    int action, original, new_date; /* cal_action_t; DATE_NONE_* when absent */
    rec_str_t reason;
} rec_exception_t;

typedef struct rec_notice {
    rec_str_t scope, message;
    int from, to;
} rec_notice_t;

/* A growable output buffer for encoders (malloc'd; caller frees buf). */
typedef struct rec_buf {
    uint8_t *buf;
    size_t len, cap;
} rec_buf_t;

void rec_buf_reset(rec_buf_t *b);
void rec_buf_free(rec_buf_t *b);
void rec_buf_append(rec_buf_t *b, const void *p, size_t n);

void rec_encode_property(rec_buf_t *b, const rec_property_t *p);
void rec_encode_service(rec_buf_t *b, const rec_service_t *s);
void rec_encode_round(rec_buf_t *b, const rec_round_t *r);
/* Lists: call rec_list_begin, then the item encoder n times. */
void rec_list_begin(rec_buf_t *b, uint32_t n);
void rec_encode_assignment(rec_buf_t *b, const rec_assignment_t *a);
void rec_encode_exception(rec_buf_t *b, const rec_exception_t *e);
void rec_encode_notice(rec_buf_t *b, const rec_notice_t *n);

int rec_decode_property(const void *v, size_t len, rec_property_t *p);
int rec_decode_service(const void *v, size_t len, rec_service_t *s);
int rec_decode_round(const void *v, size_t len, rec_round_t *r);
int rec_decode_notice(const void *v, size_t len, rec_notice_t *n);

/* Iterating a list value. */
typedef struct rec_iter {
    const uint8_t *p, *end;
    uint32_t left;
} rec_iter_t;
int rec_list_open(rec_iter_t *it, const void *v, size_t len); /* -1 malformed */
/* 1 item decoded, 0 end, -1 malformed */
int rec_next_assignment(rec_iter_t *it, rec_assignment_t *a);
int rec_next_exception(rec_iter_t *it, rec_exception_t *e);
/* Postcode values: a list of (u32 length, property record). */
int rec_next_property(rec_iter_t *it, rec_property_t *p);

#endif
