/* test_epolldedup.c - the epoll_ctl wrapper skips exactly the MODs that
 * repeat what the kernel already has for the tracked epoll instance, and
 * passes everything else through: changes, ADD, DEL, reused fd numbers,
 * other instances, other threads, untracked threads. Each skip is checked
 * against the kernel's view (epoll_wait), not only against the counter. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "binday/http/epolldedup.h"
#include "tap.h"

static int ctl(int ep, int op, int fd, uint32_t events)
{
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = events;
    e.data.fd = fd;
    return epoll_ctl(ep, op, fd, &e);
}

/* The events the kernel reports for fd right now (0: none). */
static uint32_t ready(int ep, int fd)
{
    struct epoll_event ev[8];
    int n = epoll_wait(ep, ev, 8, 0);
    for (int i = 0; i < n; i++)
        if (ev[i].data.fd == fd)
            return ev[i].events;
    return 0;
}

static void *other_thread(void *arg)
{
    int *p = arg; /* ep, fd */
    uint64_t before = epolldedup_skipped();
    ctl(p[0], EPOLL_CTL_MOD, p[1], EPOLLIN);
    ctl(p[0], EPOLL_CTL_MOD, p[1], EPOLLIN);
    p[2] = epolldedup_skipped() == before;
    return NULL;
}

int main(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC), sv[2];
    ok(ep >= 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "epoll instance and a socket pair");
    int fd = sv[0];
    ok(epolldedup_track(ep) == 0, "tracking this thread's epoll instance");
    uint64_t s0 = epolldedup_skipped();

    ok(ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == 0 && epolldedup_skipped() == s0, "ADD reaches the kernel");
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == 0 && epolldedup_skipped() == s0 + 1, "a MOD to the same events is skipped");
    ok(ready(ep, fd) == 0, "and the kernel still waits for input only (an idle socket is not ready)");
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN | EPOLLOUT) == 0 && epolldedup_skipped() == s0 + 1,
       "a MOD that changes the events reaches the kernel");
    ok(ready(ep, fd) & EPOLLOUT, "the kernel now reports the socket writable");
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == 0 && epolldedup_skipped() == s0 + 1, "and back: reaches the kernel");
    ok(ready(ep, fd) == 0, "the kernel no longer reports it writable");

    errno = 0;
    ok(ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == -1 && errno == EEXIST, "ADD of a registered fd: the kernel's EEXIST");
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == 0 && epolldedup_skipped() == s0 + 2,
       "libuv's MOD after EEXIST, to the same events: skipped");

    ok(ctl(ep, EPOLL_CTL_DEL, fd, 0) == 0, "DEL reaches the kernel");
    errno = 0;
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == -1 && errno == ENOENT && epolldedup_skipped() == s0 + 2,
       "after DEL a MOD is not skipped (the kernel says ENOENT)");

    /* a fd closed while registered (the kernel drops it) and its number reused */
    ok(ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == 0, "registered again");
    close(sv[0]);
    close(sv[1]);
    int nv[2];
    ok(socketpair(AF_UNIX, SOCK_STREAM, 0, nv) == 0 && nv[0] == fd, "a new socket gets the same fd number (%d)", nv[0]);
    ok(ctl(ep, EPOLL_CTL_ADD, fd, EPOLLIN) == 0, "its ADD reaches the kernel and succeeds");
    ok(write(nv[1], "x", 1) == 1 && (ready(ep, fd) & EPOLLIN), "and the kernel reports its input");

    /* data that is not the fd: passed through, and what was known is forgotten */
    struct epoll_event e;
    memset(&e, 0, sizeof(e));
    e.events = EPOLLIN;
    e.data.u64 = 0x1234567800000000ull;
    ok(epoll_ctl(ep, EPOLL_CTL_MOD, fd, &e) == 0 && epolldedup_skipped() == s0 + 2, "a MOD with other data reaches the kernel");
    ok(ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN) == 0 && epolldedup_skipped() == s0 + 2,
       "the next MOD reaches the kernel too (the data changed back)");

    /* another instance on this thread */
    int ep2 = epoll_create1(EPOLL_CLOEXEC);
    ctl(ep2, EPOLL_CTL_ADD, fd, EPOLLIN);
    ctl(ep2, EPOLL_CTL_MOD, fd, EPOLLIN);
    ok(epolldedup_skipped() == s0 + 2, "calls on another epoll instance are never skipped");

    /* another thread on the tracked instance */
    int args[3] = {ep, fd, 0};
    pthread_t t;
    pthread_create(&t, NULL, other_thread, args);
    pthread_join(t, NULL);
    ok(args[2], "calls from another thread are never skipped");

    epolldedup_untrack();
    ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
    ctl(ep, EPOLL_CTL_MOD, fd, EPOLLIN);
    ok(epolldedup_skipped() == s0 + 2, "after untrack nothing is skipped");
    close(ep2);
    close(ep);
    close(nv[0]);
    close(nv[1]);
    return done_testing();
}
