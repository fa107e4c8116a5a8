/* keyfile.h - the data directory's key files, checked against the store
 * that depends on them.
 *
 * A key file (pseudonym.key, calendar.key, journal.key) is made once, when
 * the store first needs it, and everything written afterwards depends on it:
 * a new key in place of a lost one silently breaks pseudonymous lookups,
 * erasure and every emailed calendar link (issue 15). So the store remembers
 * each key it was given (STORE_META "keyfile:<name>" -> the first 8 bytes of
 * SHA-256 of the key, which says nothing about the key itself) and
 * store_keyfile refuses a missing or different file for a registered name
 * instead of creating one. Restore the file from the backup (binday
 * restore). */
#ifndef BINDAY_KEYFILE_H
#define BINDAY_KEYFILE_H

#include <stddef.h>

#include "binday/data/store.h"
#include "binday/util/secret.h"

/* Load DIR/NAME for the store. A name the store has registered must be the
 * registered key; one it has not is created (when missing and may_create)
 * and registered. may_create = 0 is for a store that holds data written
 * before the registry existed and needing this key. 0, or -1 with a message
 * naming the file and what to do. */
int store_keyfile(store_t *s, const char *dir, const char *name, int may_create, secret_key_t *out, char *err,
                  size_t err_size);

/* Whether the store has registered NAME: 1, 0, or -1 on a store error. */
int store_keyfile_registered(store_t *s, const char *name);

#endif
