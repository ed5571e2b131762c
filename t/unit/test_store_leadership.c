/* store_leadership_watch: a single member that wins its election is
 * reported as leader once, and nothing more after the watch stops. */
#include "lib/clock.h"
#include "lib/loop.h"
#include "store/store.h"
#include "unit.h"

#include <stdio.h>

struct seen {
    int calls;
    bool last;
};

static void
on_change(void *arg, bool leader)
{
    struct seen *s = arg;

    s->calls++;
    s->last = leader;
}

static struct store *
open_single(struct sk_loop *loop, const char *dir)
{
    struct store_config cfg = {.name = "m1",
                               .data_dir = dir,
                               .peer_listen = "127.0.0.1:0",
                               .peers = "",
                               .snapshot_every = 1000,
                               .election_timeout_ms = 100,
                               .heartbeat_interval_ms = 20,
                               .fsync = false};
    struct store *s = NULL;
    struct sk_err err = {0};

    ck_assert_msg(store_open(loop, &cfg, &s, &err) == 0, "store_open: %s", err.msg);
    return s;
}

/* Run the loop until cond holds, for at most timeout_ms. */
static void
run_until(struct sk_loop *loop, const struct seen *s, int calls, int timeout_ms)
{
    int64_t deadline = sk_clock_mono_ms() + timeout_ms;
    struct sk_err err = {0};

    while (s->calls < calls && sk_clock_mono_ms() < deadline)
        ck_assert(sk_loop_run_once(loop, 50, &err) >= 0);
}

START_TEST(single_member_is_reported_leader_once)
{
    struct sk_loop *loop = NULL;
    struct sk_err err = {0};
    struct seen seen = {0};
    char dir[512];

    snprintf(dir, sizeof(dir), "%s/leader1", unit_tmpdir());
    ck_assert(sk_loop_new(&loop, &err) == 0);
    struct store *s = open_single(loop, dir);
    struct store_leadership *l = store_leadership_watch(loop, s, 10, on_change, &seen);

    ck_assert(!store_leadership_is_leader(l));
    run_until(loop, &seen, 1, 5000);
    ck_assert_int_eq(seen.calls, 1);
    ck_assert(seen.last);
    ck_assert(store_leadership_is_leader(l));
    /* Still leader: more polls report nothing new. */
    run_until(loop, &seen, 2, 200);
    ck_assert_int_eq(seen.calls, 1);
    store_leadership_stop(l);
    store_close(s);
    sk_loop_free(loop);
}
END_TEST

int
main(void)
{
    Suite *suite = suite_create("store_leadership");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, single_member_is_reported_leader_once);
    tcase_set_timeout(tc, 20);
    suite_add_tcase(suite, tc);
    return unit_main(suite);
}
