/* edit.h - the editors' changes: exceptions (move, cancel, add), notices
 * (publish, expire), bank-holiday proposals accepted into exceptions, and
 * uploads of whole CSV tables.
 *
 * One path for all of them: an edit is turned into the new CSV text of the
 * table(s) it changes (the stored exceptions or notices table with the row
 * added, changed or taken out; or the uploaded files as given) and handed
 * to the import (data/import.h, import_job_*): the same parsing, field
 * checks, cross-table checks and FILE:LINE messages as `binday import`, the
 * same writing, and store_generation_bump in the same transaction, so the
 * skill and the calendar feeds see the change at once. The edit's audit
 * record (audit.h) is written in that transaction too.
 *
 * preview: reads only (a read txn), changes nothing: the diff per table, the
 * problems, and for exceptions how many properties and which dates change.
 * apply: checks again in the write txn (the data may have moved on since the
 * preview) and commits only if there is no problem.
 *
 * Permissions: every edit needs STAFF_ROLE_EDITOR (STAFF_FORBIDDEN, nothing
 * read or written, otherwise).
 *
 * Dates are days since the epoch (util/date.h: date_parse, date_format).
 */
#ifndef BINDAY_STAFF_EDIT_H
#define BINDAY_STAFF_EDIT_H

#include <stddef.h>
#include <stdint.h>

#include "binday/data/writer.h"
#include "binday/staff/staff.h"

typedef enum {
    STAFF_EDIT_MOVE = 1,       /* round's collection on `date` moves to `new_date` */
    STAFF_EDIT_CANCEL,         /* round's collection on `date` is cancelled (reason required) */
    STAFF_EDIT_ADD,            /* an extra collection for the round on `new_date` */
    STAFF_EDIT_REVERT,         /* remove the round's exception for `date` (original or added date) */
    STAFF_EDIT_NOTICE_PUBLISH, /* add (or replace, same id) a notice */
    STAFF_EDIT_NOTICE_EXPIRE,  /* end a notice: `to` set to yesterday, or removed if it had not begun */
    STAFF_EDIT_HOLIDAYS,       /* accept bank-holiday proposals into `*` exceptions */
    STAFF_EDIT_UPLOAD          /* replace whole tables from CSV bytes */
} staff_edit_kind_t;

/* One uploaded table. */
typedef struct staff_upload_file {
    int table;            /* import_table_t: IMPORT_ADDRESSES .. IMPORT_MATERIALS */
    const char *name;     /* label in FILE:LINE messages, e.g. the uploaded file name */
    const uint8_t *data;  /* CSV bytes, as for `binday import` (contract.md) */
    size_t len;
} staff_upload_file_t;

/* The edit. Only the fields of its kind are read; strings are borrowed for
 * the call (the *_submit variant copies them). */
typedef struct staff_edit {
    staff_edit_kind_t kind;
    /* MOVE, CANCEL, ADD, REVERT */
    const char *round_id;   /* required; "*" (every round) for MOVE and CANCEL only */
    const char *service_id; /* optional: when set, the round must collect this service */
    int date;               /* MOVE, CANCEL, REVERT: the original (scheduled) date */
    int new_date;           /* MOVE, ADD */
    const char *reason;     /* optional for MOVE and ADD, required for CANCEL (<= 1000 bytes) */
    /* NOTICE_PUBLISH, NOTICE_EXPIRE */
    const char *notice_id;  /* PUBLISH: NULL = a new id ("n" + date + counter); EXPIRE: required */
    const char *scope;      /* PUBLISH: "all", "round:ID", "service:ID" or "postcode:PREFIX" */
    const char *message;    /* PUBLISH: the text residents hear (<= 1000 bytes) */
    int from, to;           /* PUBLISH: in force from..to inclusive; EXPIRE: `today` is `from` */
    /* HOLIDAYS: accept the proposals of `year` whose original date is one of
     * dates[] (n_dates == 0: all of that year's that are not yet accepted) */
    int year;
    const int *dates;
    size_t n_dates;
    /* UPLOAD */
    const staff_upload_file_t *files;
    size_t n_files;
} staff_edit_t;

/* Cost (bench/staff_ops.py, 60,000-property demo district): an exception
 * preview ~10 ms of CPU, a dry run of the whole assignments table ~300 ms.
 * An event loop should run upload previews on a worker thread. */

/* Preview: *out always set (caller frees with staff_result_free) unless the
 * return is STAFF_ERROR with err filled. Returns (*out)->rc. */
int staff_edit_preview(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                       char *err, size_t err_size);
/* Apply synchronously (CLI, tests): validate, write, audit, bump the store
 * generation, all in one write txn. Same out/return convention. */
int staff_edit_apply(staff_t *st, const staff_actor_t *actor, const staff_edit_t *e, staff_result_t **out,
                     char *err, size_t err_size);

/* Apply on the store writer (staff_options_t.writer; without one this runs
 * synchronously and calls done before returning). The edit and actor are
 * copied (upload bytes too) and parsed before queueing: a parse problem
 * still comes back through done. done(ud, res) runs on `port`'s thread and
 * takes ownership of res (staff_result_free). Returns 0 (queued), or
 * WRITER_FULL / WRITER_STOPPED (done never called). *job (may be NULL) is
 * for writer_abandon. */
typedef void (*staff_edit_done_fn)(void *ud, staff_result_t *res);
int staff_edit_submit(staff_t *st, writer_port_t *port, const staff_actor_t *actor, const staff_edit_t *e,
                      staff_edit_done_fn done, void *ud, writer_job_t **job);

#endif
