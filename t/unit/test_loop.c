/* lib/loop: fds, timers, deferred calls and signals on one epoll loop. */
#include "lib/alloc.h"
#include "lib/loop.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Each test gets a fresh loop; a helper runs it until a condition holds,
 * failing instead of hanging if it never does. */
static struct sk_loop *loop;

static void
setup(void)
{
    struct sk_err err;

    ck_assert_msg(sk_loop_new(&loop, &err) == 0, "%s", err.msg);
}

static void
teardown(void)
{
    sk_loop_free(loop);
    loop = NULL;
}

#define RUN_UNTIL(cond)                                                                            \
    do {                                                                                           \
        int iter_;                                                                                 \
        for (iter_ = 0; iter_ < 1000 && !(cond); iter_++)                                          \
            ck_assert_int_ge(sk_loop_run_once(loop, 1000, NULL), 0);                               \
        ck_assert_msg((cond), "condition never held: %s", #cond);                                  \
    } while (0)

/* A log of small integers recorded by callbacks. */
static int order[64];
static int norder;

static void
record(struct sk_loop *l, void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
}

START_TEST(timers_fire_in_deadline_then_creation_order)
{
    static const struct {
        uint64_t delay;
        int tag;
    } timers[] = {{30, 5}, {10, 2}, {20, 4}, {10, 3}, {0, 1}};
    size_t i;

    norder = 0;
    for (i = 0; i < sizeof(timers) / sizeof(timers[0]); i++)
        ck_assert_uint_gt(
            sk_loop_timer_add(loop, timers[i].delay, record, (void *)(intptr_t)timers[i].tag), 0);
    RUN_UNTIL(norder == 5);
    for (i = 0; i < 5; i++)
        ck_assert_int_eq(order[i], (int)i + 1);
}
END_TEST

static uint64_t ids[4];

static void
cancel_others(struct sk_loop *l, void *arg)
{
    order[norder++] = 0;
    ck_assert_int_eq(sk_loop_timer_cancel(l, ids[0]), -1); /* itself: firing now */
    ck_assert_int_eq(sk_loop_timer_cancel(l, ids[1]), 0);
    ck_assert_int_eq(sk_loop_timer_cancel(l, ids[1]), -1); /* twice */
    ck_assert_int_eq(sk_loop_timer_cancel(l, ids[2]), 0);
}

START_TEST(timer_cancelled_inside_callback_never_fires)
{
    norder = 0;
    ids[0] = sk_loop_timer_add(loop, 0, cancel_others, NULL);
    ids[1] = sk_loop_timer_add(loop, 0, record, (void *)1);
    ids[2] = sk_loop_timer_add(loop, 5, record, (void *)2);
    ids[3] = sk_loop_timer_add(loop, 10, record, (void *)3);
    RUN_UNTIL(norder == 2);
    ck_assert_int_eq(order[0], 0);
    ck_assert_int_eq(order[1], 3);
    ck_assert_int_eq(sk_loop_timer_cancel(loop, ids[3]), -1);
    ck_assert_int_eq(sk_loop_timer_cancel(loop, 0), -1);
    ck_assert_int_eq(sk_loop_timer_cancel(loop, 12345678), -1);
}
END_TEST

static void
rearm_zero(struct sk_loop *l, void *arg)
{
    norder++;
    sk_loop_timer_add(l, 0, rearm_zero, NULL);
}

START_TEST(timer_rearming_with_zero_delay_waits_for_next_iteration)
{
    norder = 0;
    sk_loop_timer_add(loop, 0, rearm_zero, NULL);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 1);
    ck_assert_int_eq(norder, 1);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 1);
    ck_assert_int_eq(norder, 2);
}
END_TEST

/* Many timers with colliding deadlines, half of them cancelled: the rest
 * fire exactly once, in (deadline, creation) order. */
#define NTIMERS 20000
static uint64_t tid[NTIMERS];
static uint64_t tdelay[NTIMERS];
static int fired[NTIMERS];
static int nfired, last_fired;

static void
many_cb(struct sk_loop *l, void *arg)
{
    int i = (int)(intptr_t)arg;

    ck_assert_int_eq(fired[i], 0);
    if (last_fired >= 0)
        ck_assert(tdelay[last_fired] < tdelay[i] ||
                  (tdelay[last_fired] == tdelay[i] && last_fired < i));
    fired[i] = 1;
    last_fired = i;
    nfired++;
}

static int want_fired;

/* Runs as a deferred call, so "now" is the same for every timer. */
static void
add_many(struct sk_loop *l, void *arg)
{
    unsigned seed = 42;
    int i;

    for (i = 0; i < NTIMERS; i++) {
        tdelay[i] = (uint64_t)(rand_r(&seed) % 20);
        tid[i] = sk_loop_timer_add(l, tdelay[i], many_cb, (void *)(intptr_t)i);
    }
    for (i = 0; i < NTIMERS; i++) {
        if (rand_r(&seed) % 2) {
            ck_assert_int_eq(sk_loop_timer_cancel(l, tid[i]), 0);
            fired[i] = -1;
        } else {
            want_fired++;
        }
    }
}

START_TEST(many_timers_cancel_half_rest_fire_in_order)
{
    int i;

    nfired = 0;
    last_fired = -1;
    want_fired = 0;
    sk_loop_defer(loop, add_many, NULL);
    RUN_UNTIL(want_fired > 0 && nfired == want_fired);
    for (i = 0; i < NTIMERS; i++)
        ck_assert_int_ne(fired[i], 0);
    /* Freed slots are reused with fresh ids. */
    ck_assert_int_eq(sk_loop_timer_cancel(loop, tid[0]), -1);
    ck_assert_uint_ne(sk_loop_timer_add(loop, 1, record, NULL), tid[0]);
}
END_TEST

/* --- fds --- */

struct pipe_watch {
    int fds[2];
    int calls;
    unsigned events;
    struct pipe_watch *other;
};

static void
make_pipe(struct pipe_watch *w)
{
    memset(w, 0, sizeof(*w));
    ck_assert_int_eq(pipe2(w->fds, O_CLOEXEC | O_NONBLOCK), 0);
}

static void
on_readable_count(struct sk_loop *l, int fd, unsigned events, void *arg)
{
    struct pipe_watch *w = arg;

    w->calls++;
    w->events |= events;
}

/* The first of two ready pipes to run deletes and closes the other, then
 * creates a new readable pipe that gets the same fd number: the event
 * fetched for the old fd must be dropped, not handed to the new one. */
static struct pipe_watch reused;

static void
on_readable_kill_other(struct sk_loop *l, int fd, unsigned events, void *arg)
{
    struct pipe_watch *w = arg, *o = w->other;
    int oldfd = o->fds[0];

    w->calls++;
    sk_loop_fd_del(l, fd);
    sk_loop_fd_del(l, oldfd);
    close(o->fds[0]);
    make_pipe(&reused);
    ck_assert_int_eq(reused.fds[0], oldfd);
    ck_assert_int_eq(write(reused.fds[1], "x", 1), 1);
    ck_assert_int_eq(sk_loop_fd_add(l, reused.fds[0], SK_EV_READ, on_readable_count, &reused, NULL),
                     0);
}

START_TEST(fd_deleted_inside_callback_gets_no_pending_event)
{
    struct pipe_watch a, b;

    make_pipe(&a);
    make_pipe(&b);
    a.other = &b;
    b.other = &a;
    ck_assert_int_eq(write(a.fds[1], "x", 1), 1);
    ck_assert_int_eq(write(b.fds[1], "x", 1), 1);
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[0], SK_EV_READ, on_readable_kill_other, &a, NULL),
                     0);
    ck_assert_int_eq(sk_loop_fd_add(loop, b.fds[0], SK_EV_READ, on_readable_kill_other, &b, NULL),
                     0);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1);
    ck_assert_int_eq(a.calls + b.calls, 1);
    ck_assert_int_eq(reused.calls, 0);
    /* The new pipe is served on the next iteration. */
    RUN_UNTIL(reused.calls == 1);
    ck_assert_int_eq(reused.events, SK_EV_READ);
}
END_TEST

static void
on_readable_delete_self(struct sk_loop *l, int fd, unsigned events, void *arg)
{
    struct pipe_watch *w = arg;

    w->calls++;
    sk_loop_fd_del(l, fd);
    sk_loop_fd_del(l, fd); /* unknown now: ignored */
}

START_TEST(fd_deleted_by_its_own_callback_is_not_called_again)
{
    struct pipe_watch a;

    make_pipe(&a);
    ck_assert_int_eq(write(a.fds[1], "x", 1), 1);
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[0], SK_EV_READ, on_readable_delete_self, &a, NULL),
                     0);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
    ck_assert_int_eq(a.calls, 1);
    /* It can be watched again afterwards. */
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[0], SK_EV_READ, on_readable_count, &a, NULL), 0);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1);
    ck_assert_int_eq(a.calls, 2);
    close(a.fds[0]);
    close(a.fds[1]);
}
END_TEST

START_TEST(hangup_is_reported_as_error_and_silenced_by_empty_mask)
{
    struct pipe_watch a;

    make_pipe(&a);
    close(a.fds[0]);
    /* Only WRITE asked; the reader is gone: EPOLLERR comes along. */
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[1], SK_EV_WRITE, on_readable_count, &a, NULL), 0);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1);
    ck_assert(a.events & SK_EV_ERROR);
    ck_assert_int_eq(sk_loop_fd_mod(loop, a.fds[1], 0, NULL), 0);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
    ck_assert_int_eq(a.calls, 1);
    ck_assert_int_eq(sk_loop_fd_mod(loop, a.fds[1], SK_EV_WRITE, NULL), 0);
    ck_assert_int_eq(sk_loop_run_once(loop, 1000, NULL), 1);
    sk_loop_fd_del(loop, a.fds[1]);
    close(a.fds[1]);
}
END_TEST

START_TEST(fd_errors_are_reported)
{
    struct sk_err err;
    struct pipe_watch a;
    char want[64];

    make_pipe(&a);
    ck_assert_int_eq(sk_loop_fd_add(loop, -1, SK_EV_READ, on_readable_count, &a, &err), -EBADF);
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[0], SK_EV_READ, on_readable_count, &a, &err), 0);
    ck_assert_int_eq(sk_loop_fd_add(loop, a.fds[0], SK_EV_READ, on_readable_count, &a, &err),
                     -EEXIST);
    snprintf(want, sizeof(want), "watch fd %d: already watched", a.fds[0]);
    ck_assert_str_eq(err.msg, want);
    ck_assert_int_eq(sk_loop_fd_mod(loop, a.fds[1], SK_EV_READ, &err), -ENOENT);
    /* A regular file cannot be polled: epoll says EPERM. */
    {
        int fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);

        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(sk_loop_fd_add(loop, fd, SK_EV_READ, on_readable_count, &a, &err), -EPERM);
        close(fd);
    }
    sk_loop_fd_del(loop, a.fds[0]);
    close(a.fds[0]);
    close(a.fds[1]);
}
END_TEST

START_TEST(more_ready_fds_than_one_wait_returns_are_all_served)
{
    enum { N = 400 };
    struct pipe_watch *w = sk_calloc(N, sizeof(*w));
    int i, total;

    for (i = 0; i < N; i++) {
        make_pipe(&w[i]);
        ck_assert_int_eq(
            sk_loop_fd_add(loop, w[i].fds[0], SK_EV_READ, on_readable_delete_self, &w[i], NULL), 0);
        ck_assert_int_eq(write(w[i].fds[1], "x", 1), 1);
    }
    total = 0;
    while (total < N) {
        int n = sk_loop_run_once(loop, 1000, NULL);

        ck_assert_int_gt(n, 0);
        total += n;
    }
    for (i = 0; i < N; i++) {
        ck_assert_int_eq(w[i].calls, 1);
        close(w[i].fds[0]);
        close(w[i].fds[1]);
    }
    free(w);
}
END_TEST

/* --- deferred calls --- */

static void
defer_more(struct sk_loop *l, void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    sk_loop_defer(l, record, (void *)(intptr_t)((int)(intptr_t)arg + 10));
}

START_TEST(deferred_calls_run_fifo_and_new_ones_next_round)
{
    norder = 0;
    sk_loop_defer(loop, record, (void *)1);
    sk_loop_defer(loop, defer_more, (void *)2);
    sk_loop_defer(loop, record, (void *)3);
    /* Queued calls mean no waiting even with an infinite timeout. */
    ck_assert_int_eq(sk_loop_run_once(loop, -1, NULL), 3);
    ck_assert_int_eq(norder, 3);
    ck_assert_int_eq(order[0], 1);
    ck_assert_int_eq(order[1], 2);
    ck_assert_int_eq(order[2], 3);
    ck_assert_int_eq(sk_loop_run_once(loop, -1, NULL), 1);
    ck_assert_int_eq(order[3], 12);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
}
END_TEST

static void
defer_from_timer(struct sk_loop *l, void *arg)
{
    order[norder++] = 1;
    sk_loop_defer(l, record, (void *)2);
}

START_TEST(deferred_call_from_timer_runs_in_same_iteration)
{
    norder = 0;
    sk_loop_timer_add(loop, 0, defer_from_timer, NULL);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 2);
    ck_assert_int_eq(order[1], 2);
}
END_TEST

/* at_end from a timer: queued for after this iteration's deferred
 * calls; queued from an at_end call, nothing is (it is past the end). */
static void
at_end_inner(struct sk_loop *l, void *arg)
{
    order[norder++] = (int)(intptr_t)arg;
    ck_assert(!sk_loop_at_end(l, record, (void *)99));
}

static void
queue_at_end(struct sk_loop *l, void *arg)
{
    order[norder++] = 1;
    ck_assert(sk_loop_at_end(l, at_end_inner, (void *)3));
    ck_assert(sk_loop_at_end(l, record, (void *)4));
    sk_loop_defer(l, record, (void *)2);
}

START_TEST(at_end_calls_run_after_the_deferred_ones_once)
{
    norder = 0;
    ck_assert(!sk_loop_at_end(loop, record, (void *)9)); /* outside an iteration */
    sk_loop_timer_add(loop, 0, queue_at_end, NULL);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 4);
    ck_assert_int_eq(norder, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(order[i], i + 1);
    ck_assert_int_eq(sk_loop_run_once(loop, 0, NULL), 0);
    ck_assert_int_eq(norder, 4);
}
END_TEST

START_TEST(free_runs_queued_deferred_calls)
{
    norder = 0;
    sk_loop_defer(loop, defer_more, (void *)1);
    sk_loop_free(loop);
    loop = NULL;
    ck_assert_int_eq(norder, 2);
    ck_assert_int_eq(order[1], 11);
}
END_TEST

/* --- signals, run/stop, clock --- */

static int got_signo[4];
static int ngot;

static void
on_signal(struct sk_loop *l, int signo, void *arg)
{
    got_signo[ngot++] = signo;
}

START_TEST(signals_arrive_through_signalfd)
{
    struct sk_err err;

    ngot = 0;
    ck_assert_int_eq(sk_loop_signal_add(loop, SIGUSR1, on_signal, NULL, &err), 0);
    ck_assert_int_eq(sk_loop_signal_add(loop, SIGUSR2, on_signal, NULL, &err), 0);
    ck_assert_int_eq(raise(SIGUSR1), 0);
    RUN_UNTIL(ngot == 1);
    ck_assert_int_eq(got_signo[0], SIGUSR1);
    ck_assert_int_eq(kill(getpid(), SIGUSR2), 0);
    RUN_UNTIL(ngot == 2);
    ck_assert_int_eq(got_signo[1], SIGUSR2);
    ck_assert_int_eq(sk_loop_signal_add(loop, SIGKILL, on_signal, NULL, &err), -EINVAL);
    ck_assert_int_eq(sk_loop_signal_add(loop, 0, on_signal, NULL, &err), -EINVAL);
    ck_assert_int_eq(sk_loop_signal_add(loop, 1000, on_signal, NULL, &err), -EINVAL);
}
END_TEST

static void
stop_loop(struct sk_loop *l, void *arg)
{
    int *count = arg;

    if (++*count == 3)
        sk_loop_stop(l);
    else
        sk_loop_timer_add(l, 1, stop_loop, arg);
}

START_TEST(run_returns_after_stop)
{
    int count = 0;

    sk_loop_timer_add(loop, 1, stop_loop, &count);
    ck_assert_int_eq(sk_loop_run(loop, NULL), 0);
    ck_assert_int_eq(count, 3);
}
END_TEST

static uint64_t
mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
check_clock(struct sk_loop *l, void *arg)
{
    uint64_t *added = arg;

    /* Cached per iteration, and at least the delay after the add. */
    ck_assert_uint_eq(sk_loop_now_ms(l), sk_loop_now_ms(l));
    ck_assert_uint_ge(sk_loop_now_ms(l), *added + 5);
    *added = 0;
}

START_TEST(timer_fires_no_earlier_than_its_delay)
{
    uint64_t added;

    /* Start-up work between sk_loop_new() and the first iteration must
     * not make a timer fire early. */
    usleep(20000);
    added = mono_ms();
    ck_assert_uint_ge(sk_loop_now_ms(loop), added);

    sk_loop_timer_add(loop, 5, check_clock, &added);
    RUN_UNTIL(added == 0);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("loop");
    TCase *timers = tcase_create("timers");
    TCase *fds = tcase_create("fds");
    TCase *misc = tcase_create("deferred, signals, run");

    tcase_add_checked_fixture(timers, setup, teardown);
    tcase_add_test(timers, timers_fire_in_deadline_then_creation_order);
    tcase_add_test(timers, timer_cancelled_inside_callback_never_fires);
    tcase_add_test(timers, timer_rearming_with_zero_delay_waits_for_next_iteration);
    tcase_add_test(timers, many_timers_cancel_half_rest_fire_in_order);
    tcase_add_test(timers, timer_fires_no_earlier_than_its_delay);
    suite_add_tcase(s, timers);

    tcase_add_checked_fixture(fds, setup, teardown);
    tcase_add_test(fds, fd_deleted_inside_callback_gets_no_pending_event);
    tcase_add_test(fds, fd_deleted_by_its_own_callback_is_not_called_again);
    tcase_add_test(fds, hangup_is_reported_as_error_and_silenced_by_empty_mask);
    tcase_add_test(fds, fd_errors_are_reported);
    tcase_add_test(fds, more_ready_fds_than_one_wait_returns_are_all_served);
    suite_add_tcase(s, fds);

    tcase_add_checked_fixture(misc, setup, teardown);
    tcase_add_test(misc, deferred_calls_run_fifo_and_new_ones_next_round);
    tcase_add_test(misc, deferred_call_from_timer_runs_in_same_iteration);
    tcase_add_test(misc, at_end_calls_run_after_the_deferred_ones_once);
    tcase_add_test(misc, free_runs_queued_deferred_calls);
    tcase_add_test(misc, signals_arrive_through_signalfd);
    tcase_add_test(misc, run_returns_after_stop);
    suite_add_tcase(s, misc);
    return unit_main(s);
}
