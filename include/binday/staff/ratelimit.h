/* ratelimit.h - sign-in throttling per account and per client address.
 *
 * In memory in the server process (state is lost on restart, which only
 * forgives a few failures; documented in docs/staff-console.md). One table,
 * bounded (STAFF_RL_MAX entries by default): when full, the entry whose
 * last failure is oldest is dropped first. Each key ("account" and
 * "address" are kept apart) has a count of consecutive failures; after
 * the free allowance (STAFF_RL_FREE_ACCOUNT / STAFF_RL_FREE_ADDRESS) each
 * further failure locks the key for 2^(failures - free) seconds, capped at
 * STAFF_RL_MAX_LOCK_S. A success clears the account's count (not the
 * address's: one good password must not reset an address that is guessing
 * at other accounts). Failures older than STAFF_RL_FORGET_S are forgotten.
 *
 * Thread-safe (one mutex; calls are short). Time is passed in (monotonic
 * milliseconds) so the unit tests need no clock.
 */
#ifndef BINDAY_STAFF_RATELIMIT_H
#define BINDAY_STAFF_RATELIMIT_H

#include <stddef.h>
#include <stdint.h>

#define STAFF_RL_MAX 4096
#define STAFF_RL_FREE_ACCOUNT 5   /* failures an account may have before delays start */
#define STAFF_RL_FREE_ADDRESS 20  /* ... an address (offices share one NAT address) */
#define STAFF_RL_MAX_LOCK_S 900   /* 15 minutes at most */
#define STAFF_RL_FORGET_S 86400   /* a day without failures clears a key */
#define STAFF_RL_KEY_MAX 80       /* bytes of a user name / address kept (longer are cut) */

typedef struct staff_ratelimit staff_ratelimit_t;

/* max_entries 0 = STAFF_RL_MAX. NULL on OOM. */
staff_ratelimit_t *staff_ratelimit_new(size_t max_entries);
void staff_ratelimit_free(staff_ratelimit_t *rl); /* NULL is a no-op */

/* Before verifying a password: 0 = go ahead; 1 = refuse now (answer with
 * the same generic message as a wrong password, or 429), *retry_after_ms
 * (may be NULL) = how long the longer of the two locks still runs.
 * user or addr may be NULL (not checked). now_ms: a monotonic clock. */
int staff_ratelimit_check(staff_ratelimit_t *rl, const char *user, const char *addr, uint64_t now_ms,
                          uint64_t *retry_after_ms);
/* After verifying: success 1 or 0. Records the failure for both keys, or
 * clears the account's count on success. */
void staff_ratelimit_record(staff_ratelimit_t *rl, const char *user, const char *addr, int success,
                            uint64_t now_ms);
/* Entries held now (tests, /metrics). */
size_t staff_ratelimit_size(staff_ratelimit_t *rl);

#endif
