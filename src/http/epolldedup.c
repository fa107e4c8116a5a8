/* epolldedup.c - owns the epoll_ctl the process's libraries call: it skips
 * the MODs that repeat a tracked loop's last setting (see epolldedup.h). */
#include "binday/http/epolldedup.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <unistd.h>

struct slot {
    uint32_t events; /* what the kernel has for this fd, when set != 0 */
    uint32_t set;    /* the fd + 1 while registered by us; 0 otherwise */
};

static _Thread_local int tracked = -1;        /* this thread's loop's epoll fd */
static _Thread_local struct slot *table;      /* EPOLLDEDUP_MAX_FD slots */
static atomic_uint_fast64_t skipped;

static int real_epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    return (int)syscall(SYS_epoll_ctl, epfd, op, fd, ev);
}

int epoll_ctl(int epfd, int op, int fd, struct epoll_event *ev)
{
    if (epfd != tracked || table == NULL || fd < 0 || fd >= EPOLLDEDUP_MAX_FD)
        return real_epoll_ctl(epfd, op, fd, ev);
    struct slot *s = &table[fd];
    /* the data is compared as libuv reads it back (data.fd): libuv leaves the
     * union's other bytes unset */
    if (op == EPOLL_CTL_MOD && ev && s->set == (uint32_t)fd + 1 && s->events == ev->events &&
        ev->data.fd == fd) {
        atomic_fetch_add_explicit(&skipped, 1, memory_order_relaxed);
        return 0;
    }
    int r = real_epoll_ctl(epfd, op, fd, ev);
    int saved = errno;
    if (r == 0 && op != EPOLL_CTL_DEL && ev && ev->data.fd == fd) {
        s->events = ev->events;
        s->set = (uint32_t)fd + 1;
    } else if (!(r != 0 && op == EPOLL_CTL_ADD && saved == EEXIST)) {
        /* deleted, set with data we do not track, or refused: unknown now.
         * (An ADD refused with EEXIST changed nothing: what we knew holds.) */
        s->set = 0;
    }
    errno = saved;
    return r;
}

int epolldedup_track(int epfd)
{
    epolldedup_untrack();
    table = calloc(EPOLLDEDUP_MAX_FD, sizeof(*table));
    if (table == NULL)
        return -1;
    tracked = epfd;
    return 0;
}

void epolldedup_untrack(void)
{
    free(table);
    table = NULL;
    tracked = -1;
}

uint64_t epolldedup_skipped(void)
{
    return atomic_load_explicit(&skipped, memory_order_relaxed);
}
