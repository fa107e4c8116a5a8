/* backup.h - one file that is enough to restore a data directory, and the
 * restore that checks all of it before it changes anything (docs/store.md,
 * "Backup and restore"; docs/privacy.md, "Backups").
 *
 * A backup holds a compacted copy of the store (mdb_env_copyfd2 with
 * MDB_CP_COMPACT: no free pages, so nothing already deleted) and every key
 * file that store needs: the ones registered in it (data/keyfile.h:
 * pseudonym.key, calendar.key, journal.key) and the vault KEK of the copy's
 * generation. Layout (plain):
 *
 *   "BINDAY-BACKUP 1\n"
 *   manifest: one line of JSON, {"format":1,"created_at":ISO,"created_at_ms":N,
 *             "files":[{"name","size","sha256"}...]} "\n"
 *   the files' bytes, in manifest order
 *   "END " + SHA-256 (hex) of every byte before "END " + "\n"
 *
 * Encrypted to an X25519 public key (--encrypt-to, a PEM file; the private
 * key stays off the server):
 *
 *   "BINDAY-BACKUP-X25519 1\n" | ephemeral public key (32) | nonce (12)
 *   | AES-256-GCM(plain layout above) | tag (16)
 *
 * with the key HKDF-SHA256(X25519(eph, recipient), salt = eph pub |
 * recipient pub, info "binday-backup-v1") and the header as associated data.
 */
#ifndef BINDAY_BACKUP_H
#define BINDAY_BACKUP_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/store.h"

#define BACKUP_MAGIC "BINDAY-BACKUP 1\n"
#define BACKUP_MAGIC_X25519 "BINDAY-BACKUP-X25519 1\n"
#define BACKUP_MAX_FILES 16
#define BACKUP_MAX_MANIFEST 65536
#define BACKUP_NAME_MAX 64

/* restore's verdicts besides 0 and -1 (runtime error) */
#define BACKUP_INVALID 3 /* the backup (or the target) is refused: nothing changed */

typedef struct backup_file {
    char name[BACKUP_NAME_MAX + 1];
    uint64_t size;
    uint8_t sha256[32];
} backup_file_t;

typedef struct backup_manifest {
    int64_t created_at_ms;
    size_t n_files;
    backup_file_t files[BACKUP_MAX_FILES];
} backup_manifest_t;

/* Pure: parse a manifest line (without its "\n"). Names must be data.mdb or
 * [A-Za-z0-9_-][A-Za-z0-9._-]* ending ".key", unique; data.mdb exactly once.
 * 0, or -1 with a message. */
int backup_manifest_parse(const uint8_t *b, size_t len, backup_manifest_t *m, char *err, size_t err_size);

/* Write a backup of the store at `dir` (opened as s) to out_path: temp file
 * (mode 0600) beside it, fsync, rename, fsync the directory. pubkey_pem:
 * NULL for a plain backup. 0, or -1 with a message. */
int backup_write(store_t *s, const char *dir, const char *out_path, const char *pubkey_pem, backup_manifest_t *info,
                 char *err, size_t err_size);

typedef struct backup_restore_opts {
    const char *from;       /* the backup */
    const char *key_pem;    /* X25519 private key for an encrypted backup, or NULL */
    int replace;            /* replace a non-empty dir */
    const char **journals;  /* later backups whose erasure journals to apply too */
    size_t n_journals;
} backup_restore_opts_t;

typedef struct backup_restore_stats {
    size_t journal_entries; /* newer than the backup, from every source */
    size_t users_erased;    /* users of the backup matched by them */
    size_t purged;          /* records and keys retention removed */
} backup_restore_stats_t;

/* Restore into dir: check the whole backup in a staging directory beside
 * dir, apply the erasure journals of dir (when it holds a store) and of
 * opts->journals newer than the backup, apply retention as of today, fsync,
 * then swap it in with one rename (RENAME_EXCHANGE with replace). Returns 0,
 * BACKUP_INVALID (refused: nothing changed, message in err) or -1. */
int backup_restore(const char *dir, const backup_restore_opts_t *opts, backup_restore_stats_t *st, char *err,
                   size_t err_size);

#endif
