/* privacy.h - the resident's data across modules: every store of personal
 * data registers here, so revocation, retention and the rights of access and
 * erasure reach all of it.
 *
 * A store registers a privacy_module_t in src/privacy_modules.c (one line)
 * with its DBIs and three callbacks, all run inside one LMDB write txn that
 * privacy.c opens:
 *   export_user  everything held about one pseudonymous user, as JSON
 *   forget       erase what the user's lost consent covers (`what`, below)
 *   purge        apply retention as of a day (delete what is older)
 * A module that seals its records with vault keys (vault.h) destroys a key
 * by vault_del and counts it in *n_erased; privacy.c then rotates the vault
 * in the same txn so the destroyed key, and so the records it sealed, cannot
 * be recovered from the files (docs/privacy.md).
 *
 * Registered now: address choices (choice.h), transcripts (transcript.h),
 * the email outbox with its case records (outbox.h, docs/email.md) and the
 * evening-before alert subscriptions (alertsub.h, docs/alerts.md).
 *
 * Users are named by their pseudonymous id (SECRET_HEX_LEN hex digits, the
 * keyed hash of the Alexa userId, privacy_user_hex) everywhere below.
 */
#ifndef BINDAY_PRIVACY_H
#define BINDAY_PRIVACY_H

#include <jansson.h>
#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/util/secret.h"
#include "binday/data/store.h"
#include "binday/data/writer.h"
#include "binday/privacy/vault.h"

/* What a forget covers. */
enum {
    PRIVACY_ERASE_ADDRESS = 1u << 0, /* full-address permission gone: what was derived from the address */
    PRIVACY_ERASE_EMAIL = 1u << 1,   /* email permission gone: cancel queued messages, erase the address */
    PRIVACY_ERASE_NAME = 1u << 2,    /* name permissions gone */
    PRIVACY_ERASE_USER = 1u << 3,    /* skill disabled: everything about the user; case records only as
                                        retention allows, pseudonymously */
    PRIVACY_ERASE_EVENT_STATE = 1u << 4, /* `binday user forget`: also the event-ordering state */
    PRIVACY_ERASE_ALERTS = 1u << 5, /* notifications permission gone, unsubscribed, or a 403 on an alert:
                                       the evening-before subscription (alertsub.h) */
    PRIVACY_ERASE_ALL = 0x3fu
};

/* Retention classes and their periods. */
typedef enum { PRIVACY_TRANSCRIPTS = 0, PRIVACY_CASE_RECORDS = 1 } privacy_class_t;

typedef struct privacy_retention {
    int transcripts_days;  /* 0 = the notice's six calendar months */
    int case_records_days; /* 0 = the notice's six calendar years */
} privacy_retention_t;

typedef struct privacy privacy_t;

typedef struct privacy_module {
    const char *name; /* the member of `binday user export`'s JSON */
    const store_dbi_def_t *dbis;
    size_t n_dbis;
    /* *out = a new JSON value (array or object) of what is held; NULL = nothing. */
    int (*export_user)(privacy_t *p, MDB_txn *txn, const char *user_hex, json_t **out, char *err, size_t err_size);
    int (*forget)(privacy_t *p, MDB_txn *txn, const char *user_hex, unsigned what, size_t *n_erased, char *err,
                  size_t err_size);
    int (*purge)(privacy_t *p, MDB_txn *txn, int as_of_day, size_t *n_erased, char *err, size_t err_size);
    /* Optional, at privacy_open: bring stored data to the current format
     * (e.g. drop records of an older, unsealed layout). */
    int (*upgrade)(privacy_t *p, MDB_txn *txn, size_t *n_changed, char *err, size_t err_size);
    /* Optional: called by privacy_open with the new handle (before upgrade)
     * and by privacy_close with NULL, for a module that needs the vault
     * outside these callbacks (the outbox seals queued messages with it).
     * Wiring here, not in each command, means every process that opens the
     * store with privacy (serve, purge, user) destroys the same keys. */
    void (*attach)(privacy_t *p);
} privacy_module_t;

/* The registry (src/privacy_modules.c). */
extern const privacy_module_t *const privacy_modules[];
extern const size_t privacy_n_modules;

/* Every DBI the privacy side needs (vault, event state, every module's), to
 * pass to store_open. Static storage. */
const store_dbi_def_t *privacy_dbi_defs(size_t *n);

/* Open on a store opened with privacy_dbi_defs() among its extras; `dir` is
 * the data directory (vault KEK files live there). user_key and retention
 * are copied. 0, or -1 with a message. */
int privacy_open(store_t *s, const char *dir, const secret_key_t *user_key, const privacy_retention_t *ret,
                 privacy_t **out, char *err, size_t err_size);
void privacy_close(privacy_t *p);
store_t *privacy_store(privacy_t *p);
vault_t *privacy_vault(privacy_t *p);
/* The pseudonymous id of an Alexa userId (out: SECRET_HEX_LEN + 1 bytes). */
void privacy_user_hex(const privacy_t *p, const char *alexa_user_id, char *out, size_t out_size);
/* The first day still kept in a class as of a day: records of earlier days go. */
int privacy_cutoff(const privacy_t *p, privacy_class_t cls, int as_of_day);

/* Called (if set) before every erasure and purge in this process, e.g. to
 * drain queued writes first. One hook; set before serving. */
void privacy_set_before_erase(privacy_t *p, void (*fn)(void *ud), void *ud);

/* The store writer (writer.h) the server's erasures, events and other
 * personal-data writes go through, so none runs on an event loop; set
 * before serving. NULL (the default: CLI, tests) = the synchronous calls. */
void privacy_set_writer(privacy_t *p, writer_t *w);
writer_t *privacy_writer(const privacy_t *p);

/* Erase for one user what `what` covers, in every module, in one txn; rotate
 * the vault when a key went. `reason` is logged. 0 (and *n_erased, may be
 * NULL) or -1 with a message. The hook for a 403 during a conversation. */
int privacy_erase(privacy_t *p, const char *user_hex, unsigned what, const char *reason, size_t *n_erased, char *err,
                  size_t err_size);

/* privacy_erase on the writer, fire and forget: the outcome is logged when
 * committed. Without a writer, runs now. 0 queued (or done), WRITER_FULL or
 * WRITER_STOPPED (not queued: logged as an error). */
int privacy_erase_submit(privacy_t *p, const char *user_hex, unsigned what, const char *reason);

/* ---- key files and the erasure journal ---- */
#define PRIVACY_USER_KEY_FILE "pseudonym.key"
#define PRIVACY_JOURNAL_KEY_FILE "journal.key"
#define PRIVACY_JOURNAL_DBI "privacy.journal"
#define PRIVACY_JOURNAL_TAG 16

/* Load DIR/pseudonym.key for the store (data/keyfile.h): created only for a
 * store without personal data; a missing or different key is refused. */
int privacy_load_user_key(store_t *s, const char *dir, secret_key_t *out, char *err, size_t err_size);

/* The erasure journal (DBI "privacy.journal", docs/privacy.md): every
 * privacy_erase and every applied skill event that erased appends, in the
 * same txn, time ms (8 BE) | HMAC(journal.key, user)[:16] -> what (4 BE).
 * No personal data; carried in backups, so a restore re-applies erasures
 * made after the backup (privacy/backup.h). */
void privacy_journal_tag(const secret_key_t *jk, const char *user_hex, uint8_t tag[PRIVACY_JOURNAL_TAG]);
const secret_key_t *privacy_journal_key(const privacy_t *p);
typedef void (*privacy_journal_fn)(void *ud, const uint8_t tag[PRIVACY_JOURNAL_TAG], int64_t ts_ms, unsigned what);
/* Entries newer than since_ms of a store opened with privacy_dbi_defs() (no
 * keys needed). 0 or -1 with a message. */
int privacy_journal_each(store_t *s, int64_t since_ms, privacy_journal_fn fn, void *ud, char *err, size_t err_size);
/* Append an entry made elsewhere (a restore carries the replaced
 * directory's journal into the restored one, so a later restore from an
 * even older backup still re-applies it). 0 or -1 with a message. */
int privacy_journal_put(privacy_t *p, const uint8_t tag[PRIVACY_JOURNAL_TAG], int64_t ts_ms, unsigned what, char *err,
                        size_t err_size);
/* Every pseudonymous user with a per-user vault entry ("c:", "t:", "mu:",
 * "ev:" + id): the users a journal can be matched against. */
int privacy_users_each(privacy_t *p, void (*fn)(void *ud, const char *user_hex), void *ud, char *err, size_t err_size);

/* "2026-12-02T12:20:15.123Z" (UTC, ISO 8601 with zone) into out. Returns out. */
char *privacy_iso_time(int64_t ms, char *out, size_t n);

/* ---- skill events (alexa.md §6) ---- */
typedef enum { PRIVACY_EV_ENABLED, PRIVACY_EV_DISABLED, PRIVACY_EV_PERMISSIONS } privacy_ev_t;

/* What we keep per user to order events: the last applied event's time, the
 * permission set it carried (alexa_perm_t flags) and whether it disabled the skill. */
typedef struct privacy_evstate {
    int64_t ts_ms;
    uint32_t perms;
    uint8_t disabled;
} privacy_evstate_t;

/* Pure: whether an event at ts_ms applies given the stored state (have_cur = 0
 * when none), the state to store after it, and what to erase. An event not
 * newer than the last applied one is ignored (returns 0): redeliveries are
 * no-ops and an older event never undoes a newer one. */
int privacy_event_decide(const privacy_evstate_t *cur, int have_cur, privacy_ev_t ev, int64_t ts_ms, unsigned perms,
                         privacy_evstate_t *next, unsigned *erase);

/* Apply a skill event for a user (pseudonymous id): decide, erase, store the
 * new state, all in one txn. 0 (with *applied 0/1 and *erased) or -1. */
int privacy_event(privacy_t *p, const char *user_hex, privacy_ev_t ev, int64_t ts_ms, unsigned perms, int *applied,
                  unsigned *erased, char *err, size_t err_size);

/* privacy_event on the writer (privacy_set_writer; it must be set): done
 * runs on `port`'s thread once the event is committed (rc 0, durable) or
 * failed (rc: an MDB error or the module's). Returns 0 with *job (for
 * writer_abandon, may be NULL), or WRITER_FULL / WRITER_STOPPED: nothing
 * queued and done is never called. */
typedef void (*privacy_event_done_fn)(void *ud, int rc, int applied, unsigned erased);
int privacy_event_submit(privacy_t *p, writer_port_t *port, const char *user_hex, privacy_ev_t ev, int64_t ts_ms,
                         unsigned perms, privacy_event_done_fn done, void *ud, writer_job_t **job);

/* Event-ordering state is kept this long after the last event (events come at
 * most an hour late), then dropped by purge. */
#define PRIVACY_EVSTATE_DAYS 7

/* ---- retention and rights ---- */
typedef struct privacy_purge_stats {
    size_t erased;
} privacy_purge_stats_t;
/* Apply retention as of a day in every module. 0 or -1 with a message. */
int privacy_purge(privacy_t *p, int as_of_day, privacy_purge_stats_t *st, char *err, size_t err_size);
/* Everything held about an Alexa userId, as a new JSON object; NULL with a message. */
json_t *privacy_export(privacy_t *p, const char *alexa_user_id, char *err, size_t err_size);
/* Erase everything about an Alexa userId (PRIVACY_ERASE_ALL). */
int privacy_forget(privacy_t *p, const char *alexa_user_id, size_t *n_erased, char *err, size_t err_size);

#endif
