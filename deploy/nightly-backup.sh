#!/bin/sh
# nightly-backup.sh - one backup of binday's data directory, as
# binday-backup.service runs it (installed as /usr/libexec/binday/nightly-backup).
#
#   nightly-backup.sh DATA_DIR BACKUP_DIR      (KEEP_DAYS, default 14)
#
# Writes BACKUP_DIR/YYYYMMDDTHHMMSSZ/: data.mdb, a compacting hot copy made by
# `binday backup` while the server runs, and the *.key files beside it in
# DATA_DIR (pseudonym.key, calendar.key, vault-N.key: without the vault key of
# its time a copy of data.mdb does not open, docs/privacy.md). The keys are
# copied before and after the data, so a vault key rotated during the copy is
# there too. The directory is itself a data directory: restoring is copying it
# back (docs/operations.md). Directories older than KEEP_DAYS are deleted.
set -eu
DATA=${1:?usage: nightly-backup.sh DATA_DIR BACKUP_DIR}
OUT=${2:?usage: nightly-backup.sh DATA_DIR BACKUP_DIR}
KEEP_DAYS=${KEEP_DAYS:-14}
BINDAY=${BINDAY:-/usr/bin/binday}
umask 077

rm -rf "$OUT"/*.partial           # left by a run that was killed
stamp=$(date -u +%Y%m%dT%H%M%SZ)
dir="$OUT/$stamp"
mkdir -m 0700 "$dir.partial"
copy_keys() {
    for k in "$DATA"/*.key; do
        if [ -f "$k" ]; then cp -p "$k" "$dir.partial/"; fi
    done
}
copy_keys
"$BINDAY" backup --data "$DATA" --out "$dir.partial/data.mdb" >/dev/null
copy_keys
mv "$dir.partial" "$dir"
find "$OUT" -mindepth 1 -maxdepth 1 -type d -name '[0-9]*T*Z' -mtime +"$KEEP_DAYS" -exec rm -rf {} +
echo "binday backup: $dir ($(du -sk "$dir" | cut -f1) KiB)"
