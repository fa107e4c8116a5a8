/* transcript.h - a record of each conversation turn (time, request type,
 * intent, slot values, what the skill said, pseudonymous user), kept for the
 * notice's purposes (training, monitoring, safeguarding) for the transcript
 * retention period, then destroyed.
 *
 * Storage (DBI "transcript.bytime"): key = day (4 bytes BE, UTC day number) |
 * time ms (8 BE) | random (4) | user tag (16, HMAC under the user's
 * transcript key), so new records append at the end of the tree; value = the
 * record's JSON sealed (seal.h) under HMAC(day key, user key), with the key's
 * fields in the order day | tag | time | random as associated data (the first
 * layout's key: privacy_open moves records of that layout, DBI "transcript",
 * without re-sealing them). DBI "transcript.days": user tag | day, one
 * entry per user and day with records, so export and forget visit only the
 * user's days.
 * Keys in the vault: "d:<day>" (one per day, shared) and "t:<user>" (per
 * user, with the last day written). Purge deletes the old days' records and
 * destroys their day keys; forget deletes the user's records and destroys the
 * user key; either key alone gone makes a record unreadable.
 */
#ifndef BINDAY_TRANSCRIPT_H
#define BINDAY_TRANSCRIPT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/privacy/privacy.h"

#define TRANSCRIPT_DBI_NAME "transcript.bytime"
#define TRANSCRIPT_DAYS_DBI_NAME "transcript.days" /* user tag | day: the days a user has records */
#define TRANSCRIPT_MAX_RECORD 8192 /* longer records are cut (the speech first) */

typedef struct transcript_turn {
    int64_t time_ms;          /* when the turn was answered (server clock) */
    const char *request_type; /* e.g. "IntentRequest" */
    const char *intent;       /* NULL unless an intent */
    json_t *slots;            /* borrowed Alexa slots object, or NULL */
    const char *said;         /* what the skill said, plain text, or NULL */
    const char *given_name;   /* the resident's given name if the turn used it, else NULL or "":
                                 never stored; every occurrence in `said` is stored as
                                 TRANSCRIPT_NAME_PLACEHOLDER (docs/privacy.md) */
} transcript_turn_t;

#define TRANSCRIPT_NAME_PLACEHOLDER "[given name]"

/* Pure: `said` with every whole-word occurrence of `name` (whitespace runs
 * in it match one space, ASCII letters any case) replaced by
 * TRANSCRIPT_NAME_PLACEHOLDER. A new string (caller frees), or NULL when the
 * name is empty (nothing to replace). */
char *transcript_redact_name(const char *said, const char *name);

/* Pure: the record's JSON (malloc'd, caller frees; *len set), bounded by
 * TRANSCRIPT_MAX_RECORD. Slots become {name: resolved id or spoken value}. */
char *transcript_record_json(const char *user_hex, const transcript_turn_t *t, size_t *len);

/* Append one turn (one short write txn). 0 or an error with a message. */
int transcript_write(privacy_t *p, const char *user_hex, const transcript_turn_t *t, char *err, size_t err_size);

/* The server's path: a bounded queue drained by one writer thread, so a
 * turn never waits for an fsync on the loop (one write txn per batch; the
 * measured cost of a txn per turn was ms, see docs/privacy.md); records
 * are committed in batches at most TRANSCRIPT_COMMIT_MS apart, so a crash
 * can lose that window's turns. The record
 * is built at enqueue time (inputs are borrowed only during the call).
 * Starting registers a flush hook with privacy (privacy_set_before_erase) so
 * an erasure in this process never races a queued record of the same user. */
typedef struct transcript_queue transcript_queue_t;
/* Pending records (at most 16 MB at the 8 KB cap); beyond that a turn's
 * record is dropped and logged. */
#define TRANSCRIPT_QUEUE_MAX 2048
#define TRANSCRIPT_BATCH_HIGH 1024 /* this many pending commit at once, */
#define TRANSCRIPT_COMMIT_MS 200   /* else the oldest waits at most this long */
transcript_queue_t *transcript_queue_start(privacy_t *p); /* NULL if the thread cannot start */
/* 0 queued, -1 dropped (queue full or stopping). Thread-safe, never blocks on I/O. */
int transcript_enqueue(transcript_queue_t *q, const char *user_hex, const transcript_turn_t *t);
/* Wait until everything queued before the call is committed. */
void transcript_queue_flush(transcript_queue_t *q);
/* Flush, stop the writer, free. NULL is a no-op. */
void transcript_queue_stop(transcript_queue_t *q);

/* Registered in privacy_modules.c: export = the user's records; forget
 * (disabled, forget) = all of them; purge = days before the cutoff. */
extern const privacy_module_t transcript_privacy_module;

#endif
