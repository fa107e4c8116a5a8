/* ratelimit.c - owns the sign-in throttle table (ratelimit.h): consecutive
 * failures per account and per client address, exponential lockout, a
 * bounded table that drops the stalest entry when full.
 *
 * A linear scan is enough: the table holds at most a few thousand entries
 * and is touched twice per sign-in attempt (never per page), so a hash
 * would only add code. */
#include "binday/staff/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "binday/util/xalloc.h"

enum { K_ACCOUNT = 1, K_ADDRESS = 2 };

typedef struct rl_entry {
    int kind;                /* 0 = free slot */
    char key[STAFF_RL_KEY_MAX + 1];
    uint32_t fails;          /* consecutive failures */
    uint64_t last_fail_ms;
    uint64_t locked_until_ms;
} rl_entry_t;

struct staff_ratelimit {
    pthread_mutex_t mu;
    rl_entry_t *e;
    size_t cap;
};

staff_ratelimit_t *staff_ratelimit_new(size_t max_entries)
{
    staff_ratelimit_t *rl = xcalloc(1, sizeof(*rl));
    rl->cap = max_entries ? max_entries : STAFF_RL_MAX;
    rl->e = xcalloc(rl->cap, sizeof(*rl->e));
    pthread_mutex_init(&rl->mu, NULL);
    return rl;
}

void staff_ratelimit_free(staff_ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    pthread_mutex_destroy(&rl->mu);
    free(rl->e);
    free(rl);
}

static int expired(const rl_entry_t *x, uint64_t now)
{
    return now >= x->last_fail_ms + (uint64_t)STAFF_RL_FORGET_S * 1000 && now >= x->locked_until_ms;
}

static rl_entry_t *find(staff_ratelimit_t *rl, int kind, const char *key, uint64_t now)
{
    size_t n = strnlen(key, STAFF_RL_KEY_MAX);
    for (size_t i = 0; i < rl->cap; i++) {
        rl_entry_t *x = &rl->e[i];
        if (x->kind != kind || strncmp(x->key, key, n) != 0 || x->key[n] != '\0')
            continue;
        if (expired(x, now)) {
            x->kind = 0; /* forgotten */
            return NULL;
        }
        return x;
    }
    return NULL;
}

/* A slot for a new key: a free or forgotten one, else the one whose last
 * failure is oldest (an attacker spraying addresses evicts only its own
 * stale entries before anyone's recent ones). */
static rl_entry_t *take(staff_ratelimit_t *rl, int kind, const char *key, uint64_t now)
{
    rl_entry_t *best = &rl->e[0]; /* cap >= 1 */
    for (size_t i = 0; i < rl->cap; i++) {
        rl_entry_t *x = &rl->e[i];
        if (x->kind == 0 || expired(x, now)) {
            best = x;
            break;
        }
        if (x->last_fail_ms < best->last_fail_ms)
            best = x;
    }
    memset(best, 0, sizeof(*best));
    best->kind = kind;
    size_t n = strnlen(key, STAFF_RL_KEY_MAX);
    memcpy(best->key, key, n);
    best->key[n] = '\0';
    return best;
}

static uint64_t remaining(const rl_entry_t *x, uint64_t now)
{
    return x && x->locked_until_ms > now ? x->locked_until_ms - now : 0;
}

int staff_ratelimit_check(staff_ratelimit_t *rl, const char *user, const char *addr, uint64_t now_ms,
                          uint64_t *retry_after_ms)
{
    pthread_mutex_lock(&rl->mu);
    uint64_t a = user ? remaining(find(rl, K_ACCOUNT, user, now_ms), now_ms) : 0;
    uint64_t b = addr ? remaining(find(rl, K_ADDRESS, addr, now_ms), now_ms) : 0;
    pthread_mutex_unlock(&rl->mu);
    uint64_t w = a > b ? a : b;
    if (retry_after_ms)
        *retry_after_ms = w;
    return w > 0;
}

static void fail(staff_ratelimit_t *rl, int kind, const char *key, uint32_t free_n, uint64_t now)
{
    rl_entry_t *x = find(rl, kind, key, now);
    if (x == NULL)
        x = take(rl, kind, key, now);
    if (x->fails < UINT32_MAX)
        x->fails++;
    x->last_fail_ms = now;
    if (x->fails > free_n) {
        uint32_t over = x->fails - free_n; /* 1, 2, 3 ... -> 2 s, 4 s, 8 s ... */
        uint64_t s = over >= 10 ? STAFF_RL_MAX_LOCK_S : (uint64_t)1 << over;
        if (s > STAFF_RL_MAX_LOCK_S)
            s = STAFF_RL_MAX_LOCK_S;
        x->locked_until_ms = now + s * 1000;
    }
}

void staff_ratelimit_record(staff_ratelimit_t *rl, const char *user, const char *addr, int success,
                            uint64_t now_ms)
{
    pthread_mutex_lock(&rl->mu);
    if (success) {
        rl_entry_t *x = user ? find(rl, K_ACCOUNT, user, now_ms) : NULL;
        if (x)
            x->kind = 0;
    } else {
        if (user)
            fail(rl, K_ACCOUNT, user, STAFF_RL_FREE_ACCOUNT, now_ms);
        if (addr)
            fail(rl, K_ADDRESS, addr, STAFF_RL_FREE_ADDRESS, now_ms);
    }
    pthread_mutex_unlock(&rl->mu);
}

size_t staff_ratelimit_size(staff_ratelimit_t *rl)
{
    size_t n = 0;
    pthread_mutex_lock(&rl->mu);
    for (size_t i = 0; i < rl->cap; i++)
        n += rl->e[i].kind != 0;
    pthread_mutex_unlock(&rl->mu);
    return n;
}
