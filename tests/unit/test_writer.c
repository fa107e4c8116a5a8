/* test_writer.c - the store writer (writer.h) on a real LMDB environment:
 * submission order across batches, group commit of what queued while a
 * batch ran, a failing job rolled back alone, the bounded queue, completion
 * on the submitting loop's thread (two libuv loops), abandon, the shutdown
 * drain (within and past the grace), and the periodic task. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "binday/data/store.h"
#include "binday/data/writer.h"
#include "tap.h"

static store_t *S;
static MDB_dbi D;

/* A gate the first job of a test waits at, so jobs queue up behind it. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static int gate_open, gate_reached;

static void gate_reset(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = 0;
    gate_reached = 0;
    pthread_mutex_unlock(&gate_mu);
}

static void gate_wait_reached(void)
{
    pthread_mutex_lock(&gate_mu);
    while (!gate_reached)
        pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
}

static void gate_release(void)
{
    pthread_mutex_lock(&gate_mu);
    gate_open = 1;
    pthread_cond_broadcast(&gate_cv);
    pthread_mutex_unlock(&gate_mu);
}

static atomic_int released, applied_order_bad, done_calls, done_wrong_thread;
static int order_last; /* the last "seq" applied: each must be larger (writer thread only) */

typedef struct job {
    int seq;      /* ordering check; -1 = none */
    int fail;     /* apply returns 77 */
    int gate;     /* wait at the gate first */
    int hold_ms;  /* sleep this long in apply */
    char key[32]; /* written to the store */
    pthread_t want_thread;
    int *flag; /* set by done */
} job_t;

static int apply(MDB_txn *txn, void *arg, char *err, size_t err_size)
{
    job_t *j = arg;
    if (j->gate) {
        pthread_mutex_lock(&gate_mu);
        gate_reached = 1;
        pthread_cond_broadcast(&gate_cv);
        while (!gate_open)
            pthread_cond_wait(&gate_cv, &gate_mu);
        pthread_mutex_unlock(&gate_mu);
    }
    if (j->hold_ms)
        usleep((useconds_t)j->hold_ms * 1000);
    MDB_val k = {strlen(j->key), j->key}, v = {1, "x"};
    int rc = mdb_put(txn, D, &k, &v, 0);
    if (rc)
        return rc;
    if (j->fail) {
        snprintf(err, err_size, "refused on purpose");
        return 77; /* after a put: that put must not survive */
    }
    if (j->seq >= 0) {
        if (j->seq <= order_last)
            atomic_fetch_add(&applied_order_bad, 1);
        order_last = j->seq;
    }
    return 0;
}

static void rel(void *arg)
{
    atomic_fetch_add(&released, 1);
    free(arg);
}

static void done(void *ud, void *arg, int rc, const char *err)
{
    job_t *j = arg;
    (void)ud;
    (void)err;
    atomic_fetch_add(&done_calls, 1);
    if (!pthread_equal(pthread_self(), j->want_thread))
        atomic_fetch_add(&done_wrong_thread, 1);
    if (j->flag)
        *j->flag = rc == 0 ? 1 : rc;
}

static const writer_ops_t OPS = {apply, NULL, NULL, done, rel};

static atomic_int befores;
static void before(void *arg)
{
    (void)arg;
    atomic_fetch_add(&befores, 1);
}
static const writer_ops_t OPS_BEFORE = {apply, before, NULL, NULL, rel};

static job_t *mk(const char *key, int seq)
{
    job_t *j = calloc(1, sizeof(*j));
    snprintf(j->key, sizeof(j->key), "%s", key);
    j->seq = seq;
    j->want_thread = pthread_self();
    return j;
}

static int stored(const char *key)
{
    store_reader_t *r = store_reader_new(S);
    MDB_txn *txn;
    char err[200];
    int found = -1;
    if (store_reader_begin(r, &txn, err, sizeof(err)) == 0) {
        MDB_val k = {strlen(key), (void *)key}, v;
        found = mdb_get(txn, D, &k, &v) == 0;
        store_reader_end(r);
    }
    store_reader_free(r);
    return found;
}

static void wait_idle(writer_t *w)
{
    writer_stats_t st;
    for (int i = 0; i < 5000; i++) {
        writer_get_stats(w, &st);
        if (st.queued == 0 && st.applied + st.failed + st.dropped == st.submitted)
            return;
        usleep(1000);
    }
}

/* ---- ordering, batching, rollback of one job ---- */
static void test_order_and_batching(void)
{
    writer_t *w = writer_start(S, 0);
    gate_reset();
    order_last = -1;
    job_t *first = mk("order-0", 0);
    first->gate = 1;
    first->want_thread = pthread_self(); /* no port: done on the writer thread, checked below */
    ok(writer_submit(w, &OPS, first, NULL, NULL, NULL) == 0, "first job queued");
    gate_wait_reached(); /* the writer is inside batch 1 */
    for (int i = 1; i <= 50; i++) {
        char k[32];
        snprintf(k, sizeof(k), "order-%d", i);
        job_t *j = mk(k, i);
        j->fail = i == 25;
        if (i == 25)
            j->seq = -1;
        /* every tenth job has a `before`: it runs once for the batch */
        writer_submit(w, i % 10 == 0 ? &OPS_BEFORE : &OPS, j, NULL, NULL, NULL);
    }
    writer_stats_t st;
    writer_get_stats(w, &st);
    is_int(st.queued, 50, "50 jobs wait behind the running batch");
    gate_release();
    wait_idle(w);
    writer_get_stats(w, &st);
    is_int(st.batches, 2, "the 50 queued jobs went in one batch (group commit)");
    is_int(st.applied, 50, "50 applied");
    is_int(atomic_load(&befores), 1, "the five jobs' `before` ran once, for their batch");
    is_int(st.failed, 1, "one failed");
    is_int(atomic_load(&applied_order_bad), 0, "applied in submission order");
    ok(stored("order-0") == 1 && stored("order-24") == 1 && stored("order-50") == 1, "the batch is committed");
    is_int(stored("order-25"), 0, "the failing job's own put was rolled back, alone");
    is_int(atomic_load(&done_wrong_thread), 46, "without a port, done runs on the writer thread");
    atomic_store(&done_wrong_thread, 0);
    is_int(writer_stop(w, 1000), 0, "stop: nothing dropped");
    is_int(atomic_load(&released), 51, "every arg released once");
}

/* ---- the bound ---- */
static void test_full(void)
{
    atomic_store(&released, 0);
    writer_t *w = writer_start(S, 4);
    gate_reset();
    job_t *first = mk("full-0", -1);
    first->gate = 1;
    writer_submit(w, &OPS, first, NULL, NULL, NULL);
    gate_wait_reached();
    int rcs[6];
    for (int i = 0; i < 6; i++) {
        char k[32];
        snprintf(k, sizeof(k), "full-%d", i + 1);
        rcs[i] = writer_submit(w, &OPS, mk(k, -1), NULL, NULL, NULL);
    }
    ok(rcs[0] == 0 && rcs[3] == 0, "four queue");
    ok(rcs[4] == WRITER_FULL && rcs[5] == WRITER_FULL, "the fifth and sixth are refused: WRITER_FULL");
    is_int(atomic_load(&released), 2, "a refused job's arg is released at once");
    gate_release();
    wait_idle(w);
    ok(stored("full-4") == 1 && stored("full-5") == 0, "queued ones stored, refused ones not");
    writer_stop(w, 1000);
}

/* ---- completion on the right loop ---- */
typedef struct loopt {
    writer_t *w;
    uv_loop_t loop;
    uv_async_t async;
    writer_port_t *port;
    pthread_t tid;
    int flags[20];
    int n_done;
    int abandoned_flag;
    int here_ok;
} loopt_t;

static void wake(void *ud)
{
    uv_async_send(ud);
}

static void on_async(uv_async_t *a)
{
    loopt_t *t = a->data;
    writer_port_run(t->port);
    int n = 0;
    for (int i = 0; i < 20; i++)
        n += t->flags[i] != 0;
    if (n == 20)
        uv_close((uv_handle_t *)&t->async, NULL);
}

static void *loop_main(void *arg)
{
    loopt_t *t = arg;
    uv_loop_init(&t->loop);
    uv_async_init(&t->loop, &t->async, on_async);
    t->async.data = t;
    t->port = writer_port_new(t->w, wake, &t->async);
    t->here_ok = writer_port_here() == t->port;
    /* first a job abandoned before it can complete: its done must not run
     * (completions arrive in submission order, so it is delivered before the
     * last of the 20 below closes the loop's async handle) */
    job_t *j = mk("abandoned", -1);
    j->flag = &t->abandoned_flag;
    writer_job_t *h = NULL;
    writer_submit(t->w, &OPS, j, t->port, NULL, &h);
    writer_abandon(h);
    for (int i = 0; i < 20; i++) {
        char k[40];
        snprintf(k, sizeof(k), "loop-%p-%d", (void *)t, i);
        j = mk(k, -1);
        j->flag = &t->flags[i];
        writer_submit(t->w, &OPS, j, t->port, NULL, NULL);
    }
    uv_run(&t->loop, UV_RUN_DEFAULT);
    writer_port_free(t->port);
    t->here_ok = t->here_ok && writer_port_here() == NULL;
    uv_loop_close(&t->loop);
    return NULL;
}

static void test_ports(void)
{
    atomic_store(&done_calls, 0);
    atomic_store(&done_wrong_thread, 0);
    atomic_store(&released, 0);
    writer_t *w = writer_start(S, 0);
    loopt_t a = {.w = w}, b = {.w = w};
    pthread_create(&a.tid, NULL, loop_main, &a);
    pthread_create(&b.tid, NULL, loop_main, &b);
    pthread_join(a.tid, NULL);
    pthread_join(b.tid, NULL);
    int all = 1;
    for (int i = 0; i < 20; i++)
        all = all && a.flags[i] == 1 && b.flags[i] == 1;
    ok(all, "every job's done ran with rc 0 on both loops");
    is_int(atomic_load(&done_calls), 40, "40 done calls (the abandoned ones not)");
    is_int(atomic_load(&done_wrong_thread), 0, "each done ran on the thread of its own loop");
    ok(a.abandoned_flag == 0 && b.abandoned_flag == 0, "abandoned jobs: no done");
    ok(a.here_ok && b.here_ok, "writer_port_here: each thread's own port, NULL once freed");
    is_int(stored("abandoned"), 1, "an abandoned job still ran");
    writer_stop(w, 1000);
    is_int(atomic_load(&released), 42, "all 42 args released (abandoned ones too)");
}

/* ---- a port freed before its jobs finish ---- */
static void nowake(void *ud)
{
    (void)ud;
}

static void test_port_freed_first(void)
{
    atomic_store(&released, 0);
    atomic_store(&done_calls, 0);
    writer_t *w = writer_start(S, 0);
    gate_reset();
    writer_port_t *p = writer_port_new(w, nowake, NULL);
    job_t *first = mk("pf-0", -1);
    first->gate = 1;
    writer_submit(w, &OPS, first, p, NULL, NULL);
    gate_wait_reached();
    writer_submit(w, &OPS, mk("pf-1", -1), p, NULL, NULL);
    writer_port_free(p); /* the loop stopped with two jobs out */
    gate_release();
    writer_stop(w, 1000);
    is_int(atomic_load(&done_calls), 0, "no done after the port is freed");
    is_int(atomic_load(&released), 2, "both released");
    ok(stored("pf-1") == 1, "the writes themselves happened");
}

/* ---- shutdown drain ---- */
static void test_drain(void)
{
    atomic_store(&released, 0);
    writer_t *w = writer_start(S, 0);
    gate_reset();
    job_t *first = mk("drain-0", -1);
    first->gate = 1;
    writer_submit(w, &OPS, first, NULL, NULL, NULL);
    gate_wait_reached();
    for (int i = 1; i <= 5; i++) {
        char k[32];
        snprintf(k, sizeof(k), "drain-%d", i);
        writer_submit(w, &OPS, mk(k, -1), NULL, NULL, NULL);
    }
    gate_release();
    is_int(writer_stop(w, 2000), 0, "stop within the grace: nothing dropped");
    ok(stored("drain-5") == 1, "everything queued before stop is committed");
    is_int(atomic_load(&released), 6, "all released");

    /* a job that takes longer than the grace: what queued behind it is dropped */
    atomic_store(&released, 0);
    w = writer_start(S, 0);
    job_t *slow = mk("late-0", -1);
    slow->hold_ms = 400;
    writer_submit(w, &OPS, slow, NULL, NULL, NULL);
    usleep(50 * 1000);
    for (int i = 1; i <= 3; i++) {
        char k[32];
        snprintf(k, sizeof(k), "late-%d", i);
        writer_submit(w, &OPS, mk(k, -1), NULL, NULL, NULL);
    }
    is_int(writer_stop(w, 100), 3, "past the grace: the 3 queued jobs are dropped");
    ok(stored("late-0") == 1, "the batch in progress was finished");
    is_int(stored("late-1"), 0, "dropped jobs did not run");
    is_int(atomic_load(&released), 4, "dropped jobs are released too");
}

/* ---- periodic task ---- */
static atomic_int ticks;
static void tick(void *ud)
{
    (void)ud;
    atomic_fetch_add(&ticks, 1);
}

static void test_periodic(void)
{
    writer_t *w = writer_start(S, 0);
    writer_set_periodic(w, tick, NULL, 20, 20);
    usleep(300 * 1000);
    int n = atomic_load(&ticks);
    ok(n >= 3 && n <= 16, "periodic task ran about every 20 ms on the writer (%d)", n);
    writer_submit(w, &OPS, mk("between-ticks", -1), NULL, NULL, NULL);
    wait_idle(w);
    ok(stored("between-ticks") == 1, "jobs still run between ticks");
    writer_stop(w, 100);
    int after = atomic_load(&ticks);
    usleep(60 * 1000);
    is_int(atomic_load(&ticks), after, "no tick after stop");
}

int main(void)
{
    char dir[] = "/tmp/binday-writer-XXXXXX", err[300];
    ok(mkdtemp(dir) != NULL, "temp dir");
    static const store_dbi_def_t extra[] = {{"writer_test", 0}};
    if (!ok(store_open(dir, extra, 1, &S, err, sizeof(err)) == 0, "store opens (%s)", err))
        return done_testing();
    store_dbi(S, "writer_test", &D);
    test_order_and_batching();
    test_full();
    test_ports();
    test_port_freed_first();
    test_drain();
    test_periodic();
    store_close(S);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    return done_testing();
}
