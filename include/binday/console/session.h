/* session.h - the staff console's sessions: random 256-bit ids held in a
 * bounded server-side table (never in the cookie but as a lookup key), each
 * with its account, role and CSRF token; 30-minute idle and 12-hour absolute
 * limits; sign-out. Thread-safe (one mutex; every call is a short scan).
 *
 * Times are passed in (seconds of a monotonic clock) so the unit test needs
 * no clock. The cookie value is the id in lower-case hex (64 characters).
 */
#ifndef BINDAY_CONSOLE_SESSION_H
#define BINDAY_CONSOLE_SESSION_H

#include <stddef.h>
#include <stdint.h>

#define SESSION_MAX 1024          /* sessions held; the least recently used goes first */
#define SESSION_IDLE_S (30 * 60)  /* idle timeout */
#define SESSION_ABS_S (12 * 3600) /* absolute limit */
#define SESSION_HEX 64            /* id and CSRF token in hex */
#define SESSION_USER_MAX 64

/* A copy of a live session's fields. */
typedef struct session_info {
    char user[SESSION_USER_MAX + 1];
    int role; /* staff_role_t */
    char csrf[SESSION_HEX + 1];
} session_info_t;

/* Start a session for user/role at `now`: the cookie value in cookie (65
 * bytes, NUL-terminated) and its fields in *info. 0, or -1 when the random
 * generator failed. A full table drops its least recently used session. */
int session_create(const char *user, int role, int64_t now, char cookie[SESSION_HEX + 1], session_info_t *info);

/* Look up a cookie value (untrusted bytes) at `now`: 0 and *info, touching
 * the idle clock; -1 when unknown, malformed or expired (expired ones are
 * removed). Comparison does not stop at the first differing byte. */
int session_get(const uint8_t *cookie, size_t len, int64_t now, session_info_t *info);

/* Sign-out: remove the session of this cookie value (no-op when unknown). */
void session_end(const uint8_t *cookie, size_t len);

/* End every session of `user` (an account disabled or its role changed). */
void session_end_user(const char *user);

/* 1 when tok (untrusted bytes) is the session's CSRF token, compared in
 * constant time; else 0. */
int session_csrf_ok(const session_info_t *s, const uint8_t *tok, size_t len);

/* A fresh random 256-bit token in hex (65 bytes with the NUL), from the same
 * generator as session ids: for other one-time names (upload stashes). 0 or -1. */
int session_token(char out[SESSION_HEX + 1]);

/* Sessions held now (tests). */
size_t session_count(void);

/* Forget every session (tests). */
void session_reset(void);

#endif
