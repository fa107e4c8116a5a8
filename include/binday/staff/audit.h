/* audit.h - the staff audit log: who changed what, when, before and after.
 *
 * One record per change, written by the change's own write transaction (so
 * a change and its record commit together or not at all), in the
 * "staff_audit" database: key = 8-byte big-endian id (microseconds since
 * the epoch, made strictly increasing), value = a JSON object
 *   {"id", "time" (RFC 3339 UTC), "actor", "action", "target",
 *    "before", "after", "summary"}
 * "before"/"after" are JSON values (objects for one row or account, small
 * summaries with counts and SHA-256 for uploads). Records name staff
 * accounts but hold no resident personal data (no resident names, emails or
 * Alexa ids; property addresses are the council's gazetteer, not personal).
 *
 * Retention: audit records are case records, kept for the case-record
 * period (six calendar years by default, privacy_cutoff) and deleted by the
 * daily purge (`binday purge`, the server's writer) through
 * staff_privacy_module, registered in skill/privacy_modules.c.
 */
#ifndef BINDAY_STAFF_AUDIT_H
#define BINDAY_STAFF_AUDIT_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/privacy/privacy.h"
#include "binday/staff/staff.h"

#define STAFF_DBI_ACCOUNTS "staff_accounts"
#define STAFF_DBI_AUDIT "staff_audit"

/* The privacy registry entry: declares both staff DBIs and purges audit
 * records older than the case-record period. */
extern const privacy_module_t staff_privacy_module;

typedef struct staff_audit_entry {
    uint64_t id;          /* microseconds since the epoch, unique */
    int64_t time;         /* unix seconds (id / 1e6) */
    const char *actor;    /* NUL-terminated; valid during the callback only */
    const char *action;   /* e.g. "account.add", "exception.move", "upload" */
    const char *target;   /* e.g. the account name, "round:R1", "notices" */
    const char *summary;  /* one line for people */
    const json_t *before; /* JSON null when nothing was there */
    const json_t *after;  /* JSON null when nothing remains */
} staff_audit_entry_t;

/* Called per record, oldest first; return non-zero to stop. */
typedef int (*staff_audit_fn)(const staff_audit_entry_t *e, void *ud);

/* Records with time >= since (unix seconds; 0 = all), oldest first, at most
 * limit (0 = all). 0, or STAFF_ERROR. Read-only (its own read txn). */
int staff_audit_each(staff_t *st, int64_t since, size_t limit, staff_audit_fn fn, void *ud, char *err,
                     size_t err_size);

/* Newest first, for the admin page: records with id < before_id (0 = from
 * the newest), at most limit. *next_before = the id to pass for the next
 * page (0 when none left). */
int staff_audit_each_newest(staff_t *st, uint64_t before_id, size_t limit, staff_audit_fn fn, void *ud,
                            uint64_t *next_before, char *err, size_t err_size);

typedef enum { STAFF_AUDIT_JSON = 0, STAFF_AUDIT_CSV = 1 } staff_audit_format_t;

/* The export `binday staff audit` prints and the admin page downloads:
 * JSON = an array of the record objects; CSV = a header row
 * "id,time,actor,action,target,summary,before,after" then one row per
 * record, RFC 4180 quoting (before/after as compact JSON text), CRLF line
 * ends, and cells starting with = + - @ prefixed with ' (spreadsheet formula
 * injection). *out malloc'd (caller frees), *len its length. 0 or STAFF_ERROR. */
int staff_audit_export(staff_t *st, int64_t since, staff_audit_format_t fmt, char **out, size_t *len, char *err,
                       size_t err_size);

/* A record of something that changed no data (sign-in, sign-out, a refused
 * sign-in to a known account, an export), in its own write txn. Synchronous.
 * 0 or STAFF_ERROR. `detail` may be NULL. */
int staff_audit_note(staff_t *st, const staff_actor_t *actor, const char *action, const char *target,
                     const char *detail, char *err, size_t err_size);

/* staff_audit_note on the store writer, fire and forget (for an event loop:
 * e.g. a sign-out note). Strings are copied. Without a writer it runs now.
 * 0 queued (or done), WRITER_FULL / WRITER_STOPPED (not written; logged). */
int staff_audit_note_submit(staff_t *st, const staff_actor_t *actor, const char *action, const char *target,
                            const char *detail);

/* ---- for the staff modules' own write txns ---- */

/* Append a record in txn. before/after are borrowed (NULL = JSON null).
 * 0 and *id (may be NULL), or an MDB error (MDB_MAP_FULL included: the
 * caller's store_write retries the whole txn). */
int staff_audit_put(staff_t *st, MDB_txn *txn, const char *actor, const char *action, const char *target,
                    const char *summary, const json_t *before, const json_t *after, uint64_t *id);

/* Delete records older than cutoff_day (days since epoch) in txn;
 * *n_erased += how many. 0 or an MDB error. (The privacy module's purge.) */
int staff_audit_purge(store_t *s, MDB_txn *txn, int cutoff_day, size_t *n_erased);

#endif
