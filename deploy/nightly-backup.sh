#!/bin/sh
# nightly-backup.sh - one backup of binday's data directory, as
# binday-backup.service runs it (installed as /usr/libexec/binday/nightly-backup).
#
#   nightly-backup.sh DATA_DIR BACKUP_DIR      (KEEP_DAYS, default 14; ENCRYPT_TO)
#
# Writes BACKUP_DIR/binday-YYYYMMDDTHHMMSSZ.backup with `binday backup`: one
# checksummed file holding a compacted hot copy of the store and every key file
# it needs (binday-backup(1), docs/store.md), encrypted to the X25519 public key
# ENCRYPT_TO when set. Restore with `binday restore` (docs/operations.md).
# Backups older than KEEP_DAYS are deleted.
set -eu
DATA=${1:?usage: nightly-backup.sh DATA_DIR BACKUP_DIR}
OUT=${2:?usage: nightly-backup.sh DATA_DIR BACKUP_DIR}
KEEP_DAYS=${KEEP_DAYS:-14}
BINDAY=${BINDAY:-/usr/bin/binday}
umask 077

file="$OUT/binday-$(date -u +%Y%m%dT%H%M%SZ).backup"
if [ -n "${ENCRYPT_TO:-}" ]; then
    "$BINDAY" backup --data "$DATA" --out "$file" --encrypt-to "$ENCRYPT_TO" >/dev/null
else
    "$BINDAY" backup --data "$DATA" --out "$file" >/dev/null
fi
find "$OUT" -mindepth 1 -maxdepth 1 -type f -name 'binday-*.backup' -mtime +"$KEEP_DAYS" -delete
echo "binday backup: $file ($(du -k "$file" | cut -f1) KiB)"
