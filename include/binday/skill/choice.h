/* choice.h - which property a resident chose when their address matched
 * several ("which flat?"), so they are not asked again.
 *
 * Derived data only (Amazon allows remembering the matched property); the
 * address itself is never stored. Sealed with the user's choice key (vault
 * name "c:<user>"): LMDB key = tag of the user | tag of the address digest,
 * both HMACs under that key; value = the UPRN sealed under it. Erasure
 * (privacy.h: address permission gone, skill disabled, forget) deletes the
 * records and destroys the key, so freed pages keep nothing readable.
 */
#ifndef BINDAY_CHOICE_H
#define BINDAY_CHOICE_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/alexa/alexa_api.h"
#include "binday/privacy/privacy.h"
#include "binday/util/secret.h"
#include "binday/data/store.h"

#define CHOICE_DBI_NAME "address_choice"


/* Keyed digest of an address as the Device Address API returned it (case and
 * spacing folded), SECRET_HEX_LEN hex digits + NUL. */
void choice_address_digest(const secret_key_t *key, const alexa_address_t *a, char *out, size_t out_size);

/* Look up within a read txn: 0 and *uprn, or MDB_NOTFOUND (also when a key
 * rotation made this snapshot's vault key unreadable: ask again), or an MDB error. */
int choice_get(privacy_t *p, MDB_txn *txn, const char *user_hex, const char *addr_hex, uint64_t *uprn);
/* Remember (replacing any earlier choice for this user and address). 0 or an
 * error with a message. Runs a write txn: quick, but it does fsync. */
int choice_put(privacy_t *p, const char *user_hex, const char *addr_hex, uint64_t uprn, char *err, size_t err_size);

/* choice_put on the privacy writer (privacy_set_writer), fire and forget:
 * the outcome is logged. Without a writer, runs now. 0 queued (or done), or
 * WRITER_FULL / WRITER_STOPPED (dropped and logged: the resident is asked
 * again next time, nothing else depends on it). */
int choice_put_submit(privacy_t *p, const char *user_hex, const char *addr_hex, uint64_t uprn);

/* Registered in privacy_modules.c: export lists the remembered UPRNs; forget
 * (address permission gone, disabled, forget) erases them all. */
extern const privacy_module_t choice_privacy_module;

#endif
