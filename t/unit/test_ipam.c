/* net/ipam.c: pod address allocation and its allocation file. */
#include "lib/alloc.h"
#include "lib/buf.h"
#include "net/net.h"
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *
tmp_path(const char *name)
{
    static int n;

    return sk_asprintf("%s/%s-%d-%d", unit_tmpdir(), name, (int)getpid(), n++);
}

static void
open_pool(struct ipam *ipam, const char *path, const char *pool)
{
    struct net_cidr c;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(net_cidr_parse(pool, false, &c, NULL), 0);
    ck_assert_msg(ipam_init(ipam, path, &c, &err) == 0, "%s", err.msg);
}

/* Allocate for owner and return the address as text (static buffer). */
static const char *
alloc_str(struct ipam *ipam, const char *owner, int want_rc)
{
    static char buf[NET_IP_STRLEN];
    struct net_ip ip;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = ipam_alloc(ipam, owner, &ip, &err);
    ck_assert_msg(rc == want_rc, "alloc '%s': rc %d: %s", owner, rc, err.msg);
    return net_ip_format(&ip, buf, sizeof(buf));
}

static char *
read_text(const char *path)
{
    struct sk_buf b = SK_BUF_INIT;
    char chunk[512];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    ck_assert_int_ge(fd, 0);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        sk_buf_append(&b, chunk, (size_t)n);
    close(fd);
    return sk_buf_detach(&b, NULL);
}

static void
write_text(const char *path, const char *text, size_t len)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, len), (ssize_t)len);
    close(fd);
}

START_TEST(init_refuses_unusable_pools)
{
    static const char *const bad[] = {"10.0.0.0/8", "10.244.1.0/31", "10.244.1.4/32", "fd00::/64"};
    struct ipam ipam;
    struct net_cidr c;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ck_assert_int_eq(net_cidr_parse(bad[i], false, &c, NULL), 0);
        sk_err_init(&err);
        ck_assert_int_lt(ipam_init(&ipam, "/nonexistent", &c, &err), 0);
        ck_assert_msg(strstr(err.msg, bad[i]), "%s", err.msg);
    }
}
END_TEST

START_TEST(first_addresses_skip_network_and_gateway)
{
    char *path = tmp_path("ipam");
    struct ipam ipam;
    char gw[NET_IP_STRLEN];
    struct ipam_entry *e;
    struct net_ip g;
    size_t n;

    open_pool(&ipam, path, "10.244.1.0/24");
    /* no file yet: an empty pool, and listing does not create one */
    ck_assert_int_eq(ipam_list(&ipam, &e, &n, NULL), 0);
    ck_assert_uint_eq(n, 0);
    ipam_entries_free(e, n);
    ck_assert_int_eq(access(path, F_OK), -1);
    g = ipam_gateway(&ipam);
    ck_assert_str_eq(net_ip_format(&g, gw, sizeof(gw)), "10.244.1.1");
    ck_assert_str_eq(alloc_str(&ipam, "pod-a", 1), "10.244.1.2");
    ck_assert_str_eq(alloc_str(&ipam, "pod-b", 1), "10.244.1.3");
    /* the same owner again: the same address, nothing new */
    ck_assert_str_eq(alloc_str(&ipam, "pod-a", 0), "10.244.1.2");
    ipam_release(&ipam);
    free(path);
}
END_TEST

START_TEST(exhaustion_is_a_clear_error_and_broadcast_is_never_used)
{
    char *path = tmp_path("ipam"), owner[16];
    struct ipam ipam;
    struct net_ip ip;
    struct sk_err err;
    int i;

    open_pool(&ipam, path, "10.244.1.0/29");
    for (i = 0; i < 5; i++) {
        snprintf(owner, sizeof(owner), "pod-%d", i);
        alloc_str(&ipam, owner, 1);
    }
    sk_err_init(&err);
    ck_assert_int_eq(ipam_alloc(&ipam, "pod-x", &ip, &err), -ENOSPC);
    ck_assert_str_eq(err.msg, "pod cidr 10.244.1.0/29 is exhausted (5 addresses in use)");
    /* .7 (broadcast) was never handed out: the last one is .6 */
    ck_assert_str_eq(alloc_str(&ipam, "pod-4", 0), "10.244.1.6");
    ipam_release(&ipam);
    free(path);
}
END_TEST

START_TEST(released_address_is_not_reused_at_once)
{
    char *path = tmp_path("ipam");
    struct ipam ipam;
    struct net_ip ip;

    open_pool(&ipam, path, "10.244.1.0/29");
    alloc_str(&ipam, "a", 1); /* .2 */
    alloc_str(&ipam, "b", 1); /* .3 */
    ck_assert_int_eq(ipam_release_owner(&ipam, "b", NULL), 1);
    ck_assert_str_eq(alloc_str(&ipam, "c", 1), "10.244.1.4");
    alloc_str(&ipam, "d", 1); /* .5 */
    alloc_str(&ipam, "e", 1); /* .6 */
    /* wraps around past broadcast, network and gateway to the free .3 */
    ck_assert_str_eq(alloc_str(&ipam, "f", 1), "10.244.1.3");
    ck_assert_int_eq(net_ip_parse("10.244.1.4", &ip, NULL), 0);
    ck_assert_int_eq(ipam_release_ip(&ipam, &ip, NULL), 1);
    ck_assert_int_eq(ipam_release_ip(&ipam, &ip, NULL), 0); /* idempotent */
    ck_assert_int_eq(ipam_release_owner(&ipam, "nobody", NULL), 0);
    /* the only free address is the one just after the last: reused */
    ck_assert_str_eq(alloc_str(&ipam, "g", 1), "10.244.1.4");
    ipam_release(&ipam);
    free(path);
}
END_TEST

START_TEST(file_round_trip_matches_documented_format)
{
    char *path = tmp_path("ipam"), *text, *tmp;
    struct ipam a, b;
    struct ipam_entry *e;
    size_t n;

    open_pool(&a, path, "10.244.1.0/24");
    alloc_str(&a, "ns1/web-1", 1);
    alloc_str(&a, "ns1/web-2", 1);
    alloc_str(&a, "ns2/db:0", 1);
    ck_assert_int_eq(ipam_release_owner(&a, "ns1/web-2", NULL), 1);
    text = read_text(path);
    ck_assert_str_eq(text, "skiff-ipam 1\n"
                           "pool 10.244.1.0/24\n"
                           "last 10.244.1.4\n"
                           "10.244.1.2 ns1/web-1\n"
                           "10.244.1.4 ns2/db:0\n");
    free(text);
    tmp = sk_asprintf("%s.tmp", path);
    ck_assert_int_eq(access(tmp, F_OK), -1); /* no temp file left behind */
    free(tmp);
    /* a second allocator (another process after a restart) sees it all */
    open_pool(&b, path, "10.244.1.0/24");
    ck_assert_int_eq(ipam_list(&b, &e, &n, NULL), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(e[0].owner, "ns1/web-1");
    ck_assert_str_eq(e[1].owner, "ns2/db:0");
    ipam_entries_free(e, n);
    ck_assert_str_eq(alloc_str(&b, "ns3/x", 1), "10.244.1.5");
    ipam_release(&a);
    ipam_release(&b);
    free(path);
}
END_TEST

START_TEST(bad_owner_ids_are_refused)
{
    static const char *const bad[] = {"", "a b", "pod\n10.244.1.9 other", "x\x01"};
    char *path = tmp_path("ipam"), big[300];
    struct ipam ipam;
    struct net_ip ip;
    struct sk_err err;
    size_t i;

    open_pool(&ipam, path, "10.244.1.0/24");
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sk_err_init(&err);
        ck_assert_int_eq(ipam_alloc(&ipam, bad[i], &ip, &err), -EINVAL);
        ck_assert(strstr(err.msg, "bad owner id"));
    }
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(ipam_alloc(&ipam, big, &ip, NULL), -EINVAL);
    ck_assert_int_eq(access(path, F_OK), -1); /* nothing written */
    ipam_release(&ipam);
    free(path);
}
END_TEST

#define HDR "skiff-ipam 1\npool 10.244.1.0/24\nlast 10.244.1.2\n"

static const struct {
    const char *text;
    size_t len; /* 0: strlen */
    const char *msg;
} garbage[] = {
    {"", 0, "': empty file"},
    {"skiff-ipam 2\npool 10.244.1.0/24\nlast 10.244.1.2\n", 0, "': line 1: not a skiff ipam file"},
    {"skiff-ipam 1\npool 10.244.2.0/24\nlast 10.244.1.2\n", 0,
     "': line 2: pool 10.244.2.0/24 is not this node's pod cidr 10.244.1.0/24"},
    {"skiff-ipam 1\npool 10.244.1.0/24\n", 0, "': line 3: header incomplete"},
    {"skiff-ipam 1\npool 10.244.1.0/24\nlast 10.9.9.9\n", 0, "': line 3: expected 'last"},
    {HDR "10.244.1.2 a\n10.244.1.3", 0, "': line 5: truncated (no newline at the end)"},
    {HDR "10.244.1.2 a\n10.244.1.", 0, "': line 5: truncated"},
    {HDR "10.244.1.2\n", 0, "': line 4: expected '<address> <owner>'"},
    {HDR "10.244.1.x a\n", 0, "': line 4: bad address '10.244.1.x'"},
    {HDR "10.244.2.2 a\n", 0, "': line 4: bad address '10.244.2.2' for this pool"},
    {HDR "10.244.1.1 a\n", 0, "': line 4: bad address '10.244.1.1'"},
    {HDR "10.244.1.255 a\n", 0, "': line 4: bad address '10.244.1.255'"},
    {HDR "10.244.1.0 a\n", 0, "': line 4: bad address '10.244.1.0'"},
    {HDR "10.244.1.2 a\n10.244.1.2 b\n", 0, "': line 5: address 10.244.1.2 allocated twice"},
    {HDR "10.244.1.2 a\n10.244.1.3 a\n", 0, "': line 5: owner 'a' has two addresses"},
    {HDR "10.244.1.2 a b\n", 0, "': line 4: bad owner id 'a b'"},
    {HDR "10.244.1.2 a\n\n", 0, "': line 5: expected '<address> <owner>'"},
    {HDR "10.244.1.2 \0a\n", sizeof(HDR "10.244.1.2 \0a\n") - 1, "': contains a NUL byte"},
};

START_TEST(garbage_file_is_refused_with_file_and_line)
{
    char *path = tmp_path("ipam"), *text;
    struct ipam_entry *e;
    struct ipam ipam;
    struct net_ip ip;
    struct sk_err err;
    size_t i, n;

    open_pool(&ipam, path, "10.244.1.0/24");
    for (i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
        size_t len = garbage[i].len ? garbage[i].len : strlen(garbage[i].text);

        write_text(path, garbage[i].text, len);
        sk_err_init(&err);
        ck_assert_int_eq(ipam_list(&ipam, &e, &n, &err), -EBADMSG);
        ck_assert_msg(strstr(err.msg, path) && strstr(err.msg, garbage[i].msg),
                      "case %zu: got '%s'", i, err.msg);
        /* never a guess: allocation fails too, and the file is kept */
        ck_assert_int_eq(ipam_alloc(&ipam, "new-pod", &ip, NULL), -EBADMSG);
        ck_assert_int_eq(ipam_release_owner(&ipam, "a", NULL), -EBADMSG);
        text = read_text(path);
        ck_assert_uint_eq(strlen(text), strnlen(garbage[i].text, len));
        free(text);
    }
    ipam_release(&ipam);
    free(path);
}
END_TEST

START_TEST(unreadable_file_names_the_file)
{
    char *path = tmp_path("ipam");
    struct ipam ipam;
    struct net_ip ip;
    struct sk_err err;

    ck_assert_int_eq(mkdir(path, 0700), 0); /* a directory where the file should be */
    open_pool(&ipam, path, "10.244.1.0/24");
    sk_err_init(&err);
    ck_assert_int_lt(ipam_alloc(&ipam, "a", &ip, &err), 0);
    ck_assert_msg(strstr(err.msg, path), "%s", err.msg);
    rmdir(path);
    ipam_release(&ipam);
    free(path);
}
END_TEST

START_TEST(reconcile_releases_dead_owners_only)
{
    static const char *const live[] = {"a", "c", "not-allocated"};
    char *path = tmp_path("ipam");
    struct ipam_entry *e;
    struct ipam ipam;
    size_t n;

    open_pool(&ipam, path, "10.244.1.0/24");
    alloc_str(&ipam, "a", 1);
    alloc_str(&ipam, "b", 1);
    alloc_str(&ipam, "c", 1);
    alloc_str(&ipam, "d", 1);
    ck_assert_int_eq(ipam_reconcile(&ipam, live, 3, NULL), 2);
    ck_assert_int_eq(ipam_reconcile(&ipam, live, 3, NULL), 0);
    ck_assert_int_eq(ipam_list(&ipam, &e, &n, NULL), 0);
    ck_assert_uint_eq(n, 2);
    ck_assert_str_eq(e[0].owner, "a");
    ck_assert_str_eq(e[1].owner, "c");
    ipam_entries_free(e, n);
    /* a live pod keeps its address across the "restart" */
    ck_assert_str_eq(alloc_str(&ipam, "c", 0), "10.244.1.4");
    ck_assert_int_eq(ipam_reconcile(&ipam, NULL, 0, NULL), 2);
    ipam_release(&ipam);
    free(path);
}
END_TEST

/* Several processes allocating from one file at once: flock keeps every
 * read-modify-write whole, so no address is handed out twice. */
START_TEST(concurrent_processes_never_share_an_address)
{
    enum { PROCS = 4, EACH = 25 };
    char *path = tmp_path("ipam"), owner[32];
    struct ipam_entry *e;
    struct ipam ipam;
    struct net_ip ip;
    int p, i, status;
    size_t n, j, k;
    pid_t pids[PROCS];

    open_pool(&ipam, path, "10.244.1.0/24");
    for (p = 0; p < PROCS; p++) {
        pids[p] = fork();
        ck_assert_int_ge(pids[p], 0);
        if (pids[p] == 0) {
            for (i = 0; i < EACH; i++) {
                snprintf(owner, sizeof(owner), "p%d-%d", p, i);
                if (ipam_alloc(&ipam, owner, &ip, NULL) != 1)
                    _exit(1);
            }
            _exit(0);
        }
    }
    for (p = 0; p < PROCS; p++) {
        ck_assert_int_eq(waitpid(pids[p], &status, 0), pids[p]);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    ck_assert_int_eq(ipam_list(&ipam, &e, &n, NULL), 0);
    ck_assert_uint_eq(n, PROCS * EACH);
    for (j = 0; j < n; j++)
        for (k = j + 1; k < n; k++)
            ck_assert(!net_ip_equal(&e[j].ip, &e[k].ip));
    ipam_entries_free(e, n);
    ipam_release(&ipam);
    free(path);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ipam");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, init_refuses_unusable_pools);
    tcase_add_test(tc, first_addresses_skip_network_and_gateway);
    tcase_add_test(tc, exhaustion_is_a_clear_error_and_broadcast_is_never_used);
    tcase_add_test(tc, released_address_is_not_reused_at_once);
    tcase_add_test(tc, file_round_trip_matches_documented_format);
    tcase_add_test(tc, bad_owner_ids_are_refused);
    tcase_add_test(tc, garbage_file_is_refused_with_file_and_line);
    tcase_add_test(tc, unreadable_file_names_the_file);
    tcase_add_test(tc, reconcile_releases_dead_owners_only);
    tcase_add_test(tc, concurrent_processes_never_share_an_address);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
