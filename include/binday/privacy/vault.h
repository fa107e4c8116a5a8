/* vault.h - a small sealed key-value store inside LMDB for the secrets that
 * make personal records readable (per-user and per-day data keys) and for
 * small per-user state, built so that deleting an entry really destroys it.
 *
 * Every entry is sealed (seal.h) under a key-encryption key (KEK) kept in a
 * 32-byte file DIR/vault-<generation>.key (mode 0600); its LMDB key is an
 * HMAC of its name under the KEK, so neither names nor values mean anything
 * without the KEK. LMDB is copy-on-write and never zeroes freed pages, so a
 * deleted entry survives in the file; vault_rotate() therefore re-seals every
 * live entry under a fresh KEK (new file, fsynced, before the txn commits),
 * and vault_sweep() unlinks the old KEK file after the commit. From then on
 * nothing stored can open an entry deleted before the rotation, nor anything
 * that entry's key sealed (docs/privacy.md has the argument and its limits).
 *
 * Several processes may use one data directory (the server and `binday user
 * forget`): the current generation lives in the DBI, rotation and sweeping run
 * inside LMDB write txns (serialised across processes), and each process
 * caches the KEK of the generation it last saw.
 *
 * Thread-safe: one vault_t per process, shared by all threads. Entry functions
 * run inside the caller's txn; writes need a write txn.
 */
#ifndef BINDAY_VAULT_H
#define BINDAY_VAULT_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/data/store.h"

#define VAULT_DBI_NAME "vault"
#define VAULT_MAX_NAME 120
#define VAULT_MAX_VALUE 64
#define VAULT_KEY_BYTES 32
/* A read txn saw a generation whose KEK file a rotation has just removed:
 * start a fresh txn and try again (or treat the data as absent). */
#define VAULT_STALE (-30900)

extern const store_dbi_def_t vault_dbi_def;

typedef struct vault vault_t;

/* Open the vault of a store whose environment lives in `dir` (the DBI must be
 * among store_open's extras). Creates the first KEK when there is none and
 * removes KEK files of other generations. 0, or -1 with a message. */
int vault_open(store_t *s, const char *dir, vault_t **out, char *err, size_t err_size);
void vault_close(vault_t *v);

/* 0 and the value (up to cap bytes, *len set); MDB_NOTFOUND; VAULT_STALE; or an MDB error. */
int vault_get(vault_t *v, MDB_txn *txn, const char *name, uint8_t *val, size_t cap, size_t *len);
/* Insert or replace (write txn). 0, EINVAL for an oversize name/value, or an MDB error. */
int vault_put(vault_t *v, MDB_txn *txn, const char *name, const void *val, size_t len);
/* Delete (write txn). 0, MDB_NOTFOUND, or an MDB error. The entry stays
 * readable in free pages until the next vault_rotate + vault_sweep. */
int vault_del(vault_t *v, MDB_txn *txn, const char *name);
/* A 32-byte data key named `name`: 0 and the key; with create (write txn
 * only), a missing key is made from fresh random bytes. MDB_NOTFOUND without
 * create; VAULT_STALE; or an MDB error. */
int vault_key(vault_t *v, MDB_txn *txn, const char *name, int create, uint8_t key[VAULT_KEY_BYTES]);

/* Delete (as vault_del) every entry whose name starts with prefix and for
 * which pred returns non-zero (write txn); *n_deleted counts them. 0 or an
 * MDB error. pred must not touch the vault. */
typedef int (*vault_pred_fn)(void *ud, const char *name, const uint8_t *val, size_t len);
int vault_del_if(vault_t *v, MDB_txn *txn, const char *prefix, vault_pred_fn pred, void *ud, size_t *n_deleted);

/* Re-seal every entry under a new KEK written to a new generation's file
 * (write txn). After the txn commits call vault_sweep. 0 or an error
 * (message in err); on error abort the txn. */
int vault_rotate(vault_t *v, MDB_txn *txn, char *err, size_t err_size);
/* Remove KEK files of every generation but the committed one (runs its own
 * short write txn). 0 or -1 with a message. */
int vault_sweep(vault_t *v, char *err, size_t err_size);

/* The committed generation seen by txn (0 if none yet). */
uint64_t vault_generation(vault_t *v, MDB_txn *txn);
/* The same for a vault DBI opened by hand (a backup's copy, no vault_t). */
uint64_t vault_generation_in(MDB_txn *txn, MDB_dbi dbi);

#endif
