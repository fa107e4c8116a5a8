/* writer.h - the store writer: one thread that owns the server's LMDB write
 * transactions, so no event loop ever waits for LMDB's writer lock or an
 * fsync.
 *
 * Why: LMDB has one writer at a time across processes, and a commit fsyncs.
 * While `binday import` held the writer lock in another process, a skill
 * event written on a loop thread stalled that loop (every request on it) for
 * 1.9 s. Now loop threads queue a job and go on; the writer thread runs it.
 *
 * Jobs run in submission order. The writer takes everything queued (up to
 * WRITER_BATCH_MAX) and applies it in ONE write txn, each job in a nested
 * txn of its own (group commit: one fsync for the batch, and a job whose
 * apply fails is rolled back alone). A batch that hits MDB_MAP_FULL is run
 * again on a bigger map (store_write), so apply must be repeatable.
 *
 * Completion: a job may name a port, the mailbox of one thread (an event
 * loop: the caller wires the port's wake function to a uv_async_t of that
 * loop, whose callback calls writer_port_run). The job's done callback then
 * runs on that thread, never on the writer. A job without a port is fire and
 * forget: its done (if any) runs on the writer thread.
 *
 * The queue is bounded: writer_submit refuses with WRITER_FULL rather than
 * let a stalled writer (the lock held elsewhere) grow memory without bound;
 * each caller decides what a refusal means (docs/store.md).
 *
 * Threads: writer_submit is thread-safe. A port and the jobs submitted to it
 * belong to the port's thread: writer_port_run, writer_port_free and
 * writer_abandon are called there only.
 */
#ifndef BINDAY_WRITER_H
#define BINDAY_WRITER_H

#include <lmdb.h>
#include <stddef.h>
#include <stdint.h>

#include "binday/data/store.h"

#define WRITER_QUEUE_MAX 4096 /* default bound of queued jobs */
#define WRITER_BATCH_MAX 128  /* jobs per write txn at most */

/* Codes a job can end with besides 0, MDB errors and apply's own values. */
#define WRITER_FULL (-31001)    /* refused: the queue is at its bound */
#define WRITER_STOPPED (-31002) /* refused, or dropped unrun: the writer is stopping */

typedef struct writer writer_t;
typedef struct writer_port writer_port_t;
typedef struct writer_job writer_job_t;

/* What a kind of job does. Only apply is required. */
typedef struct writer_ops {
    /* In the batch's write txn (a nested txn of this job): 0 to keep what it
     * did, else that job alone is rolled back and ends with this value.
     * MDB_MAP_FULL reruns the whole batch on a grown map. Writer thread. */
    int (*apply)(MDB_txn *txn, void *arg, char *err, size_t err_size);
    /* Before the batch's txn begins, to prepare for it (e.g. flush another
     * queue). Called ONCE per batch for each distinct function, with the arg
     * of the first job in the batch that has it: it must cover every job of
     * the batch that has it. Writer thread. */
    void (*before)(void *arg);
    /* Once the outcome is known (rc 0: committed, durable), before done.
     * Writer thread; e.g. delete files the commit made obsolete, log. */
    void (*after)(void *arg, int rc, const char *err);
    /* The answer: on the port's thread, or on the writer thread without a
     * port. Not called for an abandoned job or one whose port was freed. */
    void (*done)(void *ud, void *arg, int rc, const char *err);
    /* Frees arg (NULL: free()). Always called exactly once per submitted
     * arg, also when the submit is refused. */
    void (*release)(void *arg);
} writer_ops_t;

/* Start the writer thread on a store. queue_max 0 = WRITER_QUEUE_MAX.
 * NULL if the thread cannot start. */
writer_t *writer_start(store_t *s, size_t queue_max);

/* A task the writer runs by itself, first after first_ms, then every
 * every_ms (e.g. the daily retention purge), outside any txn (fn opens its
 * own). One per writer; set before submitting. */
void writer_set_periodic(writer_t *w, void (*fn)(void *ud), void *ud, uint64_t first_ms, uint64_t every_ms);

/* Queue a job; ownership of arg passes to the writer (ops->release). With a
 * port, *job (if job is not NULL) is the handle for writer_abandon, valid
 * until done runs. Returns 0, or WRITER_FULL / WRITER_STOPPED (arg already
 * released, done never called). ops must outlive the job. */
int writer_submit(writer_t *w, const writer_ops_t *ops, void *arg, writer_port_t *port, void *ud, writer_job_t **job);

/* The requester is gone (timed out, client closed): done will not be
 * called. The job itself still runs or has run (it cannot be recalled once
 * queued). Port thread only, before done ran. */
void writer_abandon(writer_job_t *job);

/* Stop: refuse new jobs, let the thread commit what is queued for up to
 * grace_ms, drop (release, not apply) what is still queued then, wait for a
 * batch in progress, join. Returns the number of jobs dropped. NULL is a no-op. */
size_t writer_stop(writer_t *w, uint64_t grace_ms);

/* A mailbox on the calling thread. wake(wake_ud) is called from the writer
 * thread when a completion arrives in an empty mailbox (uv_async_send fits:
 * it coalesces and is safe from any thread); it is never called after
 * writer_port_free returned. */
writer_port_t *writer_port_new(writer_t *w, void (*wake)(void *wake_ud), void *wake_ud);
/* The port made last on the calling thread (until freed), or NULL. */
writer_port_t *writer_port_here(void);
/* Deliver the completions that arrived: each job's done, then release. */
void writer_port_run(writer_port_t *p);
/* The port's thread stops taking completions: those pending and any later
 * ones are released without done. NULL is a no-op. */
void writer_port_free(writer_port_t *p);

typedef struct writer_stats {
    uint64_t submitted, refused, batches, applied, failed, dropped, periodic_runs;
    size_t queued;
} writer_stats_t;
void writer_get_stats(writer_t *w, writer_stats_t *st);

#endif
