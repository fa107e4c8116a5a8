/* session.c - owns the staff console's session table (session.h): a fixed
 * array of SESSION_MAX entries under one mutex. Ids are 32 bytes from
 * getrandom(); the table keeps them in binary and compares with
 * CRYPTO_memcmp, so a lookup leaks nothing of a near miss through timing. */
#include "binday/console/session.h"

#include <openssl/crypto.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

typedef struct session_slot {
    int used;
    uint8_t id[32];
    int64_t created, seen;
    session_info_t info;
} session_slot_t;

static session_slot_t slots[SESSION_MAX];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void to_hex(const uint8_t *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = "0123456789abcdef"[b[i] >> 4];
        out[2 * i + 1] = "0123456789abcdef"[b[i] & 15];
    }
    out[2 * n] = 0;
}

/* 64 lower-case hex digits into 32 bytes; -1 for anything else */
static int from_hex(const uint8_t *s, size_t len, uint8_t out[32])
{
    if (len != SESSION_HEX)
        return -1;
    for (size_t i = 0; i < 32; i++) {
        int v = 0;
        for (int k = 0; k < 2; k++) {
            uint8_t c = s[2 * i + (size_t)k];
            int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
            if (d < 0)
                return -1;
            v = v << 4 | d;
        }
        out[i] = (uint8_t)v;
    }
    return 0;
}

static int fill_random(uint8_t *b, size_t n)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(b + got, n - got, 0);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static int expired(const session_slot_t *s, int64_t now)
{
    return now - s->seen >= SESSION_IDLE_S || now - s->created >= SESSION_ABS_S || now < s->created;
}

int session_create(const char *user, int role, int64_t now, char cookie[SESSION_HEX + 1], session_info_t *info)
{
    uint8_t id[32], csrf[32];
    if (fill_random(id, sizeof(id)) != 0 || fill_random(csrf, sizeof(csrf)) != 0)
        return -1;
    pthread_mutex_lock(&lock);
    size_t pick = SESSION_MAX;
    for (size_t i = 0; i < SESSION_MAX; i++) {
        if (!slots[i].used || expired(&slots[i], now)) {
            pick = i;
            break;
        }
        if (pick == SESSION_MAX || slots[i].seen < slots[pick].seen)
            pick = i; /* least recently used so far */
    }
    session_slot_t *s = &slots[pick];
    memset(s, 0, sizeof(*s));
    s->used = 1;
    memcpy(s->id, id, sizeof(id));
    s->created = s->seen = now;
    snprintf(s->info.user, sizeof(s->info.user), "%s", user);
    s->info.role = role;
    to_hex(csrf, sizeof(csrf), s->info.csrf);
    *info = s->info;
    pthread_mutex_unlock(&lock);
    to_hex(id, sizeof(id), cookie);
    return 0;
}

/* the slot holding id, or NULL; every used slot is compared (no early exit
 * on a match either), so the time taken does not depend on the id */
static session_slot_t *find(const uint8_t id[32])
{
    session_slot_t *hit = NULL;
    for (size_t i = 0; i < SESSION_MAX; i++)
        if (slots[i].used && CRYPTO_memcmp(slots[i].id, id, 32) == 0)
            hit = &slots[i];
    return hit;
}

int session_get(const uint8_t *cookie, size_t len, int64_t now, session_info_t *info)
{
    uint8_t id[32];
    if (from_hex(cookie, len, id) != 0)
        return -1;
    int rc = -1;
    pthread_mutex_lock(&lock);
    session_slot_t *s = find(id);
    if (s != NULL && expired(s, now)) {
        memset(s, 0, sizeof(*s));
    } else if (s != NULL) {
        s->seen = now;
        *info = s->info;
        rc = 0;
    }
    pthread_mutex_unlock(&lock);
    return rc;
}

void session_end(const uint8_t *cookie, size_t len)
{
    uint8_t id[32];
    if (from_hex(cookie, len, id) != 0)
        return;
    pthread_mutex_lock(&lock);
    session_slot_t *s = find(id);
    if (s != NULL)
        memset(s, 0, sizeof(*s));
    pthread_mutex_unlock(&lock);
}

void session_end_user(const char *user)
{
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SESSION_MAX; i++)
        if (slots[i].used && strcmp(slots[i].info.user, user) == 0)
            memset(&slots[i], 0, sizeof(slots[i]));
    pthread_mutex_unlock(&lock);
}

int session_csrf_ok(const session_info_t *s, const uint8_t *tok, size_t len)
{
    if (len != SESSION_HEX || strlen(s->csrf) != SESSION_HEX)
        return 0;
    return CRYPTO_memcmp(s->csrf, tok, SESSION_HEX) == 0;
}

int session_token(char out[SESSION_HEX + 1])
{
    uint8_t b[32];
    if (fill_random(b, sizeof(b)) != 0)
        return -1;
    to_hex(b, sizeof(b), out);
    return 0;
}

size_t session_count(void)
{
    size_t n = 0;
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < SESSION_MAX; i++)
        n += slots[i].used != 0;
    pthread_mutex_unlock(&lock);
    return n;
}

void session_reset(void)
{
    pthread_mutex_lock(&lock);
    memset(slots, 0, sizeof(slots));
    pthread_mutex_unlock(&lock);
}
