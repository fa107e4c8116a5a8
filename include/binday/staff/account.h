/* account.h - staff accounts: names, roles, Argon2id password hashes.
 *
 * Accounts live in the "staff_accounts" database (key: the user name; value:
 * a small JSON object with the role, the PHC hash string, disabled flag and
 * times). Every change writes an audit record (audit.h) in the same write
 * transaction. Passwords are hashed with Argon2id (libargon2) into a PHC
 * string ("$argon2id$v=19$m=...,t=...,p=...$salt$hash") that carries its own
 * parameters, so they can be raised later without invalidating old hashes;
 * verification recomputes with the stored parameters and compares in
 * constant time (argon2id_verify). Parameters: docs/staff-console.md.
 *
 * Cost: hashing and verifying take tens of milliseconds of CPU and
 * STAFF_ARGON2_M_KIB of memory by design. staff_signin is therefore NOT for
 * an event loop thread as is: run it on a worker (e.g. uv_queue_work) and
 * pass the answer back. The rate limiter (ratelimit.h) runs before it.
 *
 * Names: 1-64 bytes of [a-z0-9._@-] (lower case; case-folding is the
 * caller's choice, staff_user_valid says yes or no). Passwords: 8-1024
 * bytes, any bytes but NUL, CR and LF.
 */
#ifndef BINDAY_STAFF_ACCOUNT_H
#define BINDAY_STAFF_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "binday/staff/staff.h"

#define STAFF_USER_MAX 64
#define STAFF_PASSWORD_MIN 8
#define STAFF_PASSWORD_MAX 1024
#define STAFF_PHC_MAX 192 /* a PHC string with the default parameters is ~97 bytes */

/* Argon2id defaults (RFC 9106's second recommended option is 64 MiB, t=3;
 * OWASP's minimum is 19 MiB, t=2, p=1: we take the OWASP figure with t=3). */
#define STAFF_ARGON2_M_KIB 19456
#define STAFF_ARGON2_T 3
#define STAFF_ARGON2_P 1
#define STAFF_ARGON2_SALT 16
#define STAFF_ARGON2_HASH 32

typedef struct staff_account {
    char user[STAFF_USER_MAX + 1];
    staff_role_t role;
    int disabled;
    int64_t created;   /* unix seconds */
    int64_t changed;   /* unix seconds of the last change (role, password, disabled) */
    char created_by[STAFF_USER_MAX + 8]; /* actor that created it */
} staff_account_t;

/* 1 when name is an acceptable account name, else 0. */
int staff_user_valid(const char *name, size_t n);
/* 1 when pw is an acceptable password (length and bytes), else 0. */
int staff_password_valid(const char *pw, size_t n);

/* ---- hashing (pure; no store) ---- */

/* Hash with a fresh random salt into out (a PHC string, NUL-terminated).
 * 0, or STAFF_ERROR with a message (RNG failure, out too small). */
int staff_password_hash(const char *pw, size_t n, char *out, size_t out_size, char *err, size_t err_size);
/* 1 when pw matches the PHC string, 0 when not, -1 when phc is malformed.
 * Constant time in the comparison (argon2id_verify). */
int staff_password_verify(const char *phc, const char *pw, size_t n);
/* For tests only: hash with these parameters from now on (0 = default). The
 * stored PHC strings keep whatever they were made with. */
void staff_password_set_params(uint32_t m_kib, uint32_t t, uint32_t p);
/* Make a random password for a new account (e.g. `make run`'s demo admin):
 * 20 characters of [A-Za-z0-9] without look-alikes (~114 bits). 0 or STAFF_ERROR. */
int staff_password_random(char out[32], char *err, size_t err_size);

/* ---- accounts in the store (synchronous: CLI, or a worker thread) ---- */

/* Create an account. Actor needs STAFF_ROLE_ADMIN. 0, STAFF_EXISTS,
 * STAFF_REJECTED (bad name or password: message in err), STAFF_FORBIDDEN,
 * STAFF_ERROR. */
int staff_account_add(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                      const char *pw, size_t pw_len, char *err, size_t err_size);
/* Set a new password (an admin for anyone; any account for itself).
 * 0, STAFF_NOT_FOUND, STAFF_REJECTED, STAFF_FORBIDDEN, STAFF_ERROR. */
int staff_account_passwd(staff_t *st, const staff_actor_t *actor, const char *user, const char *pw,
                         size_t pw_len, char *err, size_t err_size);
/* Disable (1) or enable (0) an account. Admin only. A disabled account
 * cannot sign in; the web layer should also end its sessions (it owns them).
 * 0, STAFF_NOT_FOUND, STAFF_FORBIDDEN, STAFF_ERROR. */
int staff_account_set_disabled(staff_t *st, const staff_actor_t *actor, const char *user, int disabled,
                               char *err, size_t err_size);
/* Change an account's role. Admin only. Same codes. */
int staff_account_set_role(staff_t *st, const staff_actor_t *actor, const char *user, staff_role_t role,
                           char *err, size_t err_size);

/* One account: 0 and *out, STAFF_NOT_FOUND, or STAFF_ERROR. */
int staff_account_get(staff_t *st, const char *user, staff_account_t *out, char *err, size_t err_size);
/* Every account, sorted by name: *out is malloc'd (caller frees), *n its
 * length. 0 or STAFF_ERROR. */
int staff_account_list(staff_t *st, staff_account_t **out, size_t *n, char *err, size_t err_size);
/* How many accounts exist (`make run` adds the demo admin when 0). */
int staff_account_count(staff_t *st, size_t *n, char *err, size_t err_size);

/* Sign-in check: 0 and *role when the account exists, is enabled and the
 * password matches; STAFF_DENIED otherwise, whatever the reason (unknown
 * names are verified against a dummy hash so timing does not tell them
 * apart); STAFF_ERROR on storage failure. CPU-heavy, see above. Does not
 * write (the web layer records the outcome in the rate limiter, and may
 * write a "signin" audit note with staff_audit_note). */
int staff_signin(staff_t *st, const char *user, const char *pw, size_t pw_len, staff_role_t *role,
                 char *err, size_t err_size);

#endif
