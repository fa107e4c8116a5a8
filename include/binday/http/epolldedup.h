/* epolldedup.h - drops the epoll_ctl(MOD) calls libuv makes that would not
 * change anything.
 *
 * Why: libuv 1.44 (Debian 12) re-registers a socket after every completed
 * uv_write (uv__drain stops POLLOUT, which queues the watcher even though its
 * events did not change) and after every uv_read_stop/uv_read_start pair
 * (h2o stops reading while it serves each request; the restart is an ADD that
 * fails with EEXIST, then a MOD). That was 3 epoll_ctl system calls per
 * Alexa request, none of which changed the kernel's state: ~5% of the
 * server's CPU on the benchmark VM (docs/performance.md).
 *
 * How: this module defines epoll_ctl itself, so that libuv's calls reach it
 * (the executable's definition comes before libc's; a program that does not
 * link this module keeps libc's). A server thread names its loop's epoll
 * instance with epolldedup_track; for that instance only, the module
 * remembers the events it last set for each fd, and skips a MOD that would
 * set exactly those again. ADD and DEL always reach the kernel (so a closed
 * and reused fd number is always registered afresh), and so does every call
 * on other epoll instances or threads, or on fds at or beyond
 * EPOLLDEDUP_MAX_FD. It relies on what libuv does: a fd is ADDed before it is
 * MODed, DELeted before it is closed, and the event's data is the fd.
 */
#ifndef BINDAY_EPOLLDEDUP_H
#define BINDAY_EPOLLDEDUP_H

#include <stdint.h>

#define EPOLLDEDUP_MAX_FD 65536 /* fds at or above this pass through */

/* From now on, on this thread, epfd is a libuv loop's epoll instance whose
 * redundant MODs are skipped. Returns 0, or -1 when memory ran out (then
 * nothing is skipped). Replaces an earlier track on this thread. */
int epolldedup_track(int epfd);

/* Stops skipping on this thread and frees its table: before the loop (and
 * so its epoll fd) is closed, or the thread ends. */
void epolldedup_untrack(void);

/* MOD calls skipped so far, all threads. */
uint64_t epolldedup_skipped(void);

#endif
