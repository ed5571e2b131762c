#ifndef SK_LOOP_H
#define SK_LOOP_H

/* The event loop every daemon runs on: file descriptors, one-shot timers,
 * signals and deferred calls, all on one thread.
 *
 * One iteration (sk_loop_run_once) is:
 *
 *     update the cached clock
 *     wait for fd events (epoll), at most until the nearest timer is due,
 *         not at all if deferred calls are queued
 *     update the cached clock
 *     dispatch fd callbacks, one per ready fd with all its events
 *     fire due timers in (deadline, creation) order
 *     run the deferred calls queued so far, FIFO
 *
 * Every callback may add, modify or delete fds, timers and deferred calls,
 * including its own. An fd deleted (or a timer cancelled) by a callback is
 * never called back again, even if it had events pending in the current
 * iteration, and even if the same fd number is added again meanwhile.
 * The loop is not thread-safe; a callback must not run the loop itself
 * (no nested sk_loop_run_once) nor free it. The epoll backend lives in
 * loop_epoll.c behind lib/loop_int.h. */

#include "err.h"

#include <stdbool.h>
#include <stdint.h>

struct sk_loop;

#define SK_EV_READ  1u
#define SK_EV_WRITE 2u
#define SK_EV_ERROR 4u /* EPOLLERR/EPOLLHUP; delivered whatever was asked */

typedef void (*sk_fd_cb)(struct sk_loop *loop, int fd, unsigned events, void *arg);
typedef void (*sk_timer_cb)(struct sk_loop *loop, void *arg);
typedef void (*sk_signal_cb)(struct sk_loop *loop, int signo, void *arg);

/* Create a loop (an epoll fd, CLOEXEC). Fails only if the kernel refuses
 * the epoll instance (EMFILE, ENOMEM). */
int sk_loop_new(struct sk_loop **out, struct sk_err *err);

/* Free the loop. Deferred calls still queued are run first, so cleanups
 * they carry (a closed connection's on_close and free) still happen.
 * Pending timers are dropped without being called. Closes the loop's own
 * fds (epoll, signalfd) but never the callers' fds, which must be deleted
 * and closed by their owners. Blocked signals stay blocked. NULL is a
 * no-op. */
void sk_loop_free(struct sk_loop *loop);

/* Watch fd for events (SK_EV_READ | SK_EV_WRITE, level-triggered) and call
 * cb(loop, fd, ready_events, arg) when it is ready. SK_EV_ERROR is
 * delivered whenever the kernel reports an error or hang-up, as long as at
 * least one of READ/WRITE is asked: with events 0 the fd stays registered
 * but is taken out of epoll entirely, so it cannot busy-loop on a hang-up
 * nobody is going to handle. Fails with EEXIST if fd is already watched,
 * EBADF for a negative fd, or epoll_ctl's errno (EPERM for a regular file).
 * Delete the fd with sk_loop_fd_del() before closing it. */
int sk_loop_fd_add(struct sk_loop *loop, int fd, unsigned events, sk_fd_cb cb, void *arg,
                   struct sk_err *err);

/* Change the events watched on fd (0 allowed, see above). ENOENT if fd is
 * not watched. */
int sk_loop_fd_mod(struct sk_loop *loop, int fd, unsigned events, struct sk_err *err);

/* Stop watching fd; does not close it. Unknown fds are ignored. Safe to
 * call from inside any callback, also for an fd with events pending in
 * this iteration: they are dropped. */
void sk_loop_fd_del(struct sk_loop *loop, int fd);

/* Call cb(loop, arg) once, delay_ms after sk_loop_now_ms(). Returns
 * the timer's id (> 0, never reused while the timer is pending). Timers
 * with the same deadline fire in the order they were added; a timer added
 * by a timer callback never fires in the same iteration, even with delay
 * 0. Cheap for many timers: a binary heap, O(log n) add and cancel. */
uint64_t sk_loop_timer_add(struct sk_loop *loop, uint64_t delay_ms, sk_timer_cb cb, void *arg);

/* Cancel a pending timer: 0, or -1 if the id is unknown or the timer has
 * already fired (or is firing now). Safe inside callbacks. */
int sk_loop_timer_cancel(struct sk_loop *loop, uint64_t id);

/* Call cb(loop, signo, arg) from the loop when signo arrives. Blocks signo
 * in the process (sigprocmask) and reads it from one signalfd shared by all
 * the loop's signals; adding a signal again replaces its callback.
 * Signals of one kind coalesce (two SIGCHLDs may give one call: reap with
 * a waitpid loop). The mask is inherited across fork and execve, so code
 * that starts other programs must unblock signals in the child. EINVAL for
 * SIGKILL, SIGSTOP or a number out of range. */
int sk_loop_signal_add(struct sk_loop *loop, int signo, sk_signal_cb cb, void *arg,
                       struct sk_err *err);

/* Call cb(loop, arg) after the current iteration's fd events and timers,
 * in FIFO order. Calls deferred while deferred calls run go to the next
 * iteration (which then does not wait), so a callback re-deferring itself
 * cannot starve the fds. */
void sk_loop_defer(struct sk_loop *loop, sk_timer_cb cb, void *arg);

/* Inside an iteration (a callback of sk_loop_run_once): call cb(loop,
 * arg) once at the end of this iteration, after its deferred calls, in
 * FIFO order, and return true. Outside an iteration nothing is queued
 * and it returns false: the caller acts at once. For work that gains
 * from batching everything an iteration produced, such as one write(2)
 * per connection instead of one per message (lib/line.c). */
bool sk_loop_at_end(struct sk_loop *loop, sk_timer_cb cb, void *arg);

/* CLOCK_MONOTONIC in milliseconds. Inside callbacks it is read once per
 * iteration (after waiting), so every callback of an iteration sees the
 * same time and timers added together expire together; outside the loop
 * (start-up code) it is read afresh. */
uint64_t sk_loop_now_ms(struct sk_loop *loop);

/* Run iterations until sk_loop_stop() is called (the current iteration is
 * finished first). Returns 0, or negative if waiting fails (never for
 * EINTR). */
int sk_loop_run(struct sk_loop *loop, struct sk_err *err);

/* Run one iteration, waiting at most timeout_ms for events (-1: until an
 * event or a timer). Returns how many fd, timer and deferred callbacks ran
 * (0 if none; the signals of one wakeup count as one fd callback), or
 * negative if epoll_wait fails. */
int sk_loop_run_once(struct sk_loop *loop, int timeout_ms, struct sk_err *err);

/* Make sk_loop_run() return after the current iteration. */
void sk_loop_stop(struct sk_loop *loop);

#endif
