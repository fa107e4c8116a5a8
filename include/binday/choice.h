/* choice.h - which property a resident chose when their address matched
 * several ("which flat?"), so they are not asked again.
 *
 * Key: pseudonymous user id (keyed hash of the Alexa userId) + keyed hash of
 * the address as typed; value: the UPRN. Derived data only (Amazon allows
 * remembering the matched property); the address itself is never stored.
 * Erased when the resident's address permission goes or the skill is disabled.
 */
#ifndef BINDAY_CHOICE_H
#define BINDAY_CHOICE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/alexa_api.h"
#include "binday/secret.h"
#include "binday/store.h"

#define CHOICE_DBI_NAME "address_choice"

/* The DBI definition to pass to store_open. */
extern const store_dbi_def_t choice_dbi_def;

/* Keyed digest of an address as the Device Address API returned it (case and
 * spacing folded), SECRET_HEX_LEN hex digits + NUL. */
void choice_address_digest(const secret_key_t *key, const alexa_address_t *a, char *out, size_t out_size);

/* Look up within a read txn: 0 and *uprn, or MDB_NOTFOUND, or an MDB error. */
int choice_get(store_t *s, MDB_txn *txn, const char *user_hex, const char *addr_hex, uint64_t *uprn);
/* Remember (replacing any earlier choice for this user and address). 0 or an
 * MDB error with a message. Runs a write txn: quick, but it does fsync. */
int choice_put(store_t *s, const char *user_hex, const char *addr_hex, uint64_t uprn, char *err, size_t err_size);
/* Forget every choice of one user. 0 (and how many) or an MDB error. */
int choice_forget_user(store_t *s, const char *user_hex, size_t *n_deleted, char *err, size_t err_size);

#endif
