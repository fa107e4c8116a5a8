/* writer.c - owns the writer thread, its bounded job queue, group commit of
 * queued jobs in one LMDB write txn, the completion mailboxes (ports) of
 * the threads that wait for a job, and the periodic task.
 *
 * Locking: one mutex guards the queue, every port's mailbox and reference
 * count, and the counters. Nothing runs under it but list and counter
 * updates and the ports' wake functions (uv_async_send: a write to an
 * eventfd), so submitters on loop threads never wait for LMDB.
 *
 * A port lives until its owner freed it and no job refers to it any more
 * (refs), so the writer can always tell whether a completion still has a
 * thread to go to.
 */
#include "binday/data/writer.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "binday/util/log.h"
#include "binday/util/xalloc.h"

struct writer_job {
    const writer_ops_t *ops;
    void *arg, *ud;
    writer_port_t *port;
    int rc;
    int abandoned; /* port thread only */
    char err[200];
    struct writer_job *next;
};

struct writer_port {
    writer_t *w;
    void (*wake)(void *);
    void *wake_ud;
    writer_job_t *head, *tail; /* finished, waiting for writer_port_run */
    int refs;                  /* owner (until freed) + jobs that name this port */
    int closed;
};

struct writer {
    store_t *store;
    pthread_t tid;
    pthread_mutex_t mu;
    pthread_cond_t more, idle;
    writer_job_t *head, *tail;
    size_t n, max;
    int stopping; /* refuse new jobs */
    int dropping; /* the grace ran out: release what is queued unrun */
    void (*periodic)(void *);
    void *periodic_ud;
    uint64_t periodic_every_ms;
    struct timespec periodic_next;
    writer_stats_t st;
};

static void release(writer_job_t *j)
{
    if (j->ops->release)
        j->ops->release(j->arg);
    else
        free(j->arg);
    free(j);
}

static struct timespec after_ms(uint64_t ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

static int reached(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return now.tv_sec > t->tv_sec || (now.tv_sec == t->tv_sec && now.tv_nsec >= t->tv_nsec);
}

/* ---- ports ------------------------------------------------------------------ */

/* The calling thread's port (writer_port_here): code deep in a request (the
 * skill's email step) finds its loop's mailbox without it being passed
 * through every layer in between. */
static _Thread_local writer_port_t *here;

writer_port_t *writer_port_here(void)
{
    return here;
}

writer_port_t *writer_port_new(writer_t *w, void (*wake)(void *wake_ud), void *wake_ud)
{
    writer_port_t *p = xcalloc(1, sizeof(*p));
    p->w = w;
    p->wake = wake;
    p->wake_ud = wake_ud;
    p->refs = 1;
    here = p;
    return p;
}

/* Drop one reference; the last one frees. Under w->mu. */
static int port_unref_locked(writer_port_t *p)
{
    if (--p->refs > 0)
        return 0;
    free(p);
    return 1;
}

void writer_port_run(writer_port_t *p)
{
    writer_t *w = p->w;
    pthread_mutex_lock(&w->mu);
    writer_job_t *list = p->head;
    p->head = p->tail = NULL;
    pthread_mutex_unlock(&w->mu);
    size_t n = 0;
    for (writer_job_t *j = list, *next; j; j = next, n++) {
        next = j->next;
        if (!j->abandoned && j->ops->done)
            j->ops->done(j->ud, j->arg, j->rc, j->err);
        release(j);
    }
    if (n == 0)
        return;
    pthread_mutex_lock(&w->mu);
    p->refs -= (int)n; /* the owner's reference keeps it above 0 */
    pthread_mutex_unlock(&w->mu);
}

void writer_port_free(writer_port_t *p)
{
    if (p == NULL)
        return;
    writer_t *w = p->w;
    if (here == p)
        here = NULL;
    pthread_mutex_lock(&w->mu);
    writer_job_t *list = p->head;
    p->head = p->tail = NULL;
    p->closed = 1;
    size_t n = 0;
    for (writer_job_t *j = list; j; j = j->next)
        n++;
    p->refs -= (int)n;
    port_unref_locked(p);
    pthread_mutex_unlock(&w->mu);
    for (writer_job_t *j = list, *next; j; j = next) {
        next = j->next;
        release(j);
    }
}

void writer_abandon(writer_job_t *job)
{
    job->abandoned = 1;
}

/* A finished job goes to its port's mailbox (waking the port's thread if the
 * mailbox was empty), or, without a port or with a closed one, ends here. */
static void deliver(writer_t *w, writer_job_t *j)
{
    if (j->port == NULL) {
        if (j->ops->done)
            j->ops->done(j->ud, j->arg, j->rc, j->err);
        release(j);
        return;
    }
    writer_port_t *p = j->port;
    pthread_mutex_lock(&w->mu);
    if (p->closed) {
        port_unref_locked(p);
        pthread_mutex_unlock(&w->mu);
        release(j);
        return;
    }
    j->next = NULL;
    int was_empty = p->head == NULL;
    if (p->tail)
        p->tail->next = j;
    else
        p->head = j;
    p->tail = j;
    if (was_empty)
        p->wake(p->wake_ud);
    pthread_mutex_unlock(&w->mu);
}

/* ---- submitting --------------------------------------------------------------- */

int writer_submit(writer_t *w, const writer_ops_t *ops, void *arg, writer_port_t *port, void *ud, writer_job_t **job)
{
    writer_job_t *j = xcalloc(1, sizeof(*j));
    j->ops = ops;
    j->arg = arg;
    j->ud = ud;
    j->port = port;
    pthread_mutex_lock(&w->mu);
    int rc = w->stopping ? WRITER_STOPPED : w->n >= w->max ? WRITER_FULL : 0;
    if (rc == 0) {
        if (w->tail)
            w->tail->next = j;
        else
            w->head = j;
        w->tail = j;
        /* wake the writer only when it may be waiting: it takes the whole
         * queue each time, so a job behind another needs no signal */
        if (w->n++ == 0)
            pthread_cond_signal(&w->more);
        if (port)
            port->refs++;
        w->st.submitted++;
    } else {
        w->st.refused++;
    }
    pthread_mutex_unlock(&w->mu);
    if (rc != 0) {
        release(j);
        return rc;
    }
    if (job)
        *job = port ? j : NULL;
    return 0;
}

/* ---- the writer thread ------------------------------------------------------------ */

struct batch {
    store_t *store;
    writer_job_t **jobs;
    size_t n;
};

/* Each job in a nested txn: a job whose apply fails is rolled back alone. A
 * failure to begin or commit a nested txn fails the whole batch (LMDB then
 * refuses further work in the parent anyway). */
static int batch_fn(MDB_txn *txn, void *ud, char *err, size_t err_size)
{
    struct batch *b = ud;
    MDB_env *env = store_env(b->store);
    for (size_t i = 0; i < b->n; i++) {
        writer_job_t *j = b->jobs[i];
        MDB_txn *child;
        j->err[0] = '\0';
        int rc = mdb_txn_begin(env, txn, 0, &child);
        if (rc) {
            snprintf(err, err_size, "nested txn: %s", mdb_strerror(rc));
            return rc;
        }
        j->rc = j->ops->apply(child, j->arg, j->err, sizeof(j->err));
        if (j->rc == 0) {
            rc = mdb_txn_commit(child);
            if (rc) {
                snprintf(err, err_size, "nested commit: %s", mdb_strerror(rc));
                return rc;
            }
        } else {
            mdb_txn_abort(child);
            if (j->rc == MDB_MAP_FULL)
                return MDB_MAP_FULL; /* store_write grows the map and runs the batch again */
        }
    }
    return 0;
}

static void run_batch(writer_t *w, writer_job_t **jobs, size_t n)
{
    /* each distinct `before` once per batch: a flush that covers all of the
     * batch's jobs needs doing once (writer.h) */
    for (size_t i = 0; i < n; i++) {
        void (*fn)(void *) = jobs[i]->ops->before;
        int seen = 0;
        for (size_t k = 0; fn && k < i && !seen; k++)
            seen = jobs[k]->ops->before == fn;
        if (fn && !seen)
            fn(jobs[i]->arg);
    }
    struct batch b = {w->store, jobs, n};
    char err[200];
    int rc = store_write(w->store, batch_fn, &b, err, sizeof(err));
    size_t failed = 0;
    for (size_t i = 0; i < n; i++) {
        writer_job_t *j = jobs[i];
        if (rc != 0) { /* nothing of the batch is stored */
            j->rc = rc;
            snprintf(j->err, sizeof(j->err), "%s", err);
        }
        if (j->rc != 0)
            failed++;
        if (j->ops->after)
            j->ops->after(j->arg, j->rc, j->err);
    }
    if (rc != 0)
        log_error("writer.batch", "jobs=%zu error=\"%s\"", n, err);
    pthread_mutex_lock(&w->mu);
    w->st.batches++;
    w->st.applied += n - failed;
    w->st.failed += failed;
    pthread_mutex_unlock(&w->mu);
    for (size_t i = 0; i < n; i++)
        deliver(w, jobs[i]);
}

static void *writer_main(void *arg)
{
    writer_t *w = arg;
    writer_job_t **jobs = xcalloc(WRITER_BATCH_MAX, sizeof(*jobs));
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (w->n == 0 && !w->stopping) {
            if (w->periodic && reached(&w->periodic_next))
                break;
            if (w->periodic)
                pthread_cond_timedwait(&w->more, &w->mu, &w->periodic_next);
            else
                pthread_cond_wait(&w->more, &w->mu);
        }
        if (w->n == 0 && w->stopping)
            break;
        if (w->n == 0 && w->periodic && reached(&w->periodic_next)) {
            w->periodic_next = after_ms(w->periodic_every_ms);
            w->st.periodic_runs++;
            pthread_mutex_unlock(&w->mu);
            w->periodic(w->periodic_ud);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        if (w->dropping) {
            writer_job_t *list = w->head;
            w->st.dropped += w->n;
            w->head = w->tail = NULL;
            w->n = 0;
            pthread_mutex_unlock(&w->mu);
            for (writer_job_t *j = list, *next; j; j = next) {
                next = j->next;
                j->rc = WRITER_STOPPED;
                snprintf(j->err, sizeof(j->err), "writer stopping: not run");
                deliver(w, j);
            }
            pthread_mutex_lock(&w->mu);
            continue;
        }
        size_t n = 0;
        while (w->head && n < WRITER_BATCH_MAX) {
            jobs[n++] = w->head;
            w->head = w->head->next;
        }
        if (w->head == NULL)
            w->tail = NULL;
        w->n -= n;
        pthread_mutex_unlock(&w->mu);
        run_batch(w, jobs, n);
        pthread_mutex_lock(&w->mu);
        if (w->n == 0)
            pthread_cond_broadcast(&w->idle);
    }
    pthread_cond_broadcast(&w->idle);
    pthread_mutex_unlock(&w->mu);
    free(jobs);
    return NULL;
}

writer_t *writer_start(store_t *s, size_t queue_max)
{
    writer_t *w = xcalloc(1, sizeof(*w));
    w->store = s;
    w->max = queue_max ? queue_max : WRITER_QUEUE_MAX;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* deadlines ignore wall-clock steps */
    pthread_cond_init(&w->more, &ca);
    pthread_cond_init(&w->idle, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&w->tid, NULL, writer_main, w) != 0) {
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->more);
        pthread_cond_destroy(&w->idle);
        free(w);
        return NULL;
    }
    return w;
}

void writer_set_periodic(writer_t *w, void (*fn)(void *ud), void *ud, uint64_t first_ms, uint64_t every_ms)
{
    pthread_mutex_lock(&w->mu);
    w->periodic = fn;
    w->periodic_ud = ud;
    w->periodic_every_ms = every_ms;
    w->periodic_next = after_ms(first_ms);
    pthread_cond_signal(&w->more); /* a waiting writer picks up the deadline */
    pthread_mutex_unlock(&w->mu);
}

size_t writer_stop(writer_t *w, uint64_t grace_ms)
{
    if (w == NULL)
        return 0;
    struct timespec until = after_ms(grace_ms);
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    w->periodic = NULL; /* no new purge during shutdown */
    pthread_cond_signal(&w->more);
    while (w->n > 0)
        if (pthread_cond_timedwait(&w->idle, &w->mu, &until) == ETIMEDOUT)
            break;
    uint64_t before = w->st.dropped;
    if (w->n > 0) {
        log_warn("writer.stop", "queued=%zu note=\"shutdown grace over: queued writes dropped\"", w->n);
        w->dropping = 1;
        pthread_cond_signal(&w->more);
    }
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->tid, NULL); /* waits for a batch in progress: it cannot be cut short */
    size_t dropped = (size_t)(w->st.dropped - before);
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->more);
    pthread_cond_destroy(&w->idle);
    free(w);
    return dropped;
}

void writer_get_stats(writer_t *w, writer_stats_t *st)
{
    pthread_mutex_lock(&w->mu);
    *st = w->st;
    st->queued = w->n;
    pthread_mutex_unlock(&w->mu);
}
