/* runtime: signal names, CRI log lines, cgroup paths, capabilities,
 * mount options, the default seccomp profile. */
#include "runtime/rt_int.h"
#include "unit.h"

#include <errno.h>
#include <sched.h>
#include <linux/capability.h>
#include <seccomp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>

static const struct {
    const char *in;
    int want;
} sigs[] = {
    {"KILL", SIGKILL}, {"SIGKILL", SIGKILL},
    {"kill", SIGKILL}, {"sigterm", SIGTERM},
    {"9", 9},          {"15", 15},
    {"HUP", SIGHUP},   {"USR1", SIGUSR1},
    {"", -1},          {"0", -1},
    {"99", -1},        {"9x", -1},
    {"SIGFOO", -1},    {"-9", -1},
    {"RTMAX+1", -1},
};

START_TEST(signal_names_and_numbers)
{
    ck_assert_msg(rt_signal_parse(sigs[_i].in) == sigs[_i].want, "'%s': got %d want %d",
                  sigs[_i].in, rt_signal_parse(sigs[_i].in), sigs[_i].want);
}
END_TEST

START_TEST(realtime_signals_by_offset)
{
    ck_assert_int_eq(rt_signal_parse("RTMIN"), SIGRTMIN);
    ck_assert_int_eq(rt_signal_parse("SIGRTMIN+2"), SIGRTMIN + 2);
    ck_assert_int_eq(rt_signal_parse("RTMAX-1"), SIGRTMAX - 1);
    ck_assert_int_eq(rt_signal_parse("RTMAX+1"), -1);
}
END_TEST

START_TEST(cri_line_full_and_partial)
{
    struct timespec ts = {1764097200, 123456789}; /* 2025-11-25T19:00:00.123456789Z */
    char out[256];
    size_t n;

    n = rt_cri_format(out, sizeof(out), &ts, "stdout", 0, "hello", 5);
    out[n] = '\0';
    ck_assert_str_eq(out, "2025-11-25T19:00:00.123456789Z stdout F hello\n");
    n = rt_cri_format(out, sizeof(out), &ts, "stderr", 1, "abc", 3);
    out[n] = '\0';
    ck_assert_str_eq(out, "2025-11-25T19:00:00.123456789Z stderr P abc\n");
    n = rt_cri_format(out, sizeof(out), &ts, "stdout", 0, "", 0);
    out[n] = '\0';
    ck_assert_str_eq(out, "2025-11-25T19:00:00.123456789Z stdout F \n");
    /* never overflows: too long for the buffer gives 0 */
    ck_assert_uint_eq(rt_cri_format(out, 40, &ts, "stdout", 0, "0123456789", 10), 0);
}
END_TEST

static const struct {
    const char *mnt, *own, *root, *name, *want;
} cgpaths[] = {
    {"/sys/fs/cgroup/memory", "/", "skiff", "c1", "/sys/fs/cgroup/memory/skiff/c1"},
    {"/sys/fs/cgroup/memory/", "/process_api/abc", "skiff", "c1",
     "/sys/fs/cgroup/memory/process_api/abc/skiff/c1"},
    {"/sys/fs/cgroup", "/user.slice//x/", "/t/", "pod1/app",
     "/sys/fs/cgroup/user.slice/x/t/pod1/app"},
    {"/sys/fs/cgroup/unified", "", "skiff", "id", "/sys/fs/cgroup/unified/skiff/id"},
};

START_TEST(cgroup_path_is_beneath_own_cgroup)
{
    char *p =
        rt_cgroup_path_join(cgpaths[_i].mnt, cgpaths[_i].own, cgpaths[_i].root, cgpaths[_i].name);

    ck_assert_str_eq(p, cgpaths[_i].want);
    free(p);
}
END_TEST

static void
on_usr2(int sig)
{
    (void)sig;
}

/* In a child: what the caller ignored, caught or blocked is back at the
 * default. */
START_TEST(signals_reset_to_defaults)
{
    pid_t pid = fork();
    int status;

    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct sigaction sa, got;
        sigset_t block, now;
        int bad = 0;

        memset(&sa, 0, sizeof(sa));
        sa.sa_handler = on_usr2;
        signal(SIGUSR1, SIG_IGN);
        signal(SIGPIPE, SIG_IGN);
        sigaction(SIGUSR2, &sa, NULL);
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigprocmask(SIG_BLOCK, &block, NULL);
        rt_signals_reset();
        for (int sig = 1; sig < 32; sig++) {
            if (sig == SIGKILL || sig == SIGSTOP)
                continue;
            sigaction(sig, NULL, &got);
            bad |= got.sa_handler != SIG_DFL;
        }
        sigprocmask(SIG_SETMASK, NULL, &now);
        bad |= sigismember(&now, SIGTERM);
        _exit(bad);
    }
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

/* A hybrid host like the development machine: memory in v1 (nested),
 * cpu co-mounted with cpuacct, cgroup2 beside; a second cgroup2 mount
 * and a mount point with an escaped space; a truncated last line. */
START_TEST(cgroup_where_parses_hybrid_hosts)
{
    char cgroup[] = "9:name=systemd:/\n8:pids:/\n4:memory:/job/7d\n1:cpu,cpuacct:/c\n0::/u\n";
    char mountinfo[] =
        "22 1 0:21 / /proc rw,relatime - proc proc rw\n"
        "30 25 0:26 / /sys/fs/cgroup/unified rw,nosuid shared:9 - cgroup2 cgroup2 rw\n"
        "31 25 0:27 / /sys/fs/cgroup/mem\\040ory rw - cgroup cgroup rw,memory\n"
        "32 25 0:28 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
        "33 25 0:29 / /other/unified rw - cgroup2 cgroup2 rw\n"
        "34 25 0:30 / /sys/fs/cgroup/pids rw - cgroup";
    struct rt_cg_where w;

    rt_cg_where_parse(&w, cgroup, mountinfo);
    ck_assert_str_eq(w.mount[RT_CG_UNIFIED], "/sys/fs/cgroup/unified");
    ck_assert_str_eq(w.own[RT_CG_UNIFIED], "/u");
    ck_assert_str_eq(w.mount[RT_CG_MEMORY], "/sys/fs/cgroup/mem ory");
    ck_assert_str_eq(w.own[RT_CG_MEMORY], "/job/7d");
    ck_assert_str_eq(w.mount[RT_CG_CPU], "/sys/fs/cgroup/cpu,cpuacct");
    ck_assert_str_eq(w.own[RT_CG_CPU], "/c");
    ck_assert_str_eq(w.own[RT_CG_PIDS], "/");
    ck_assert_ptr_null(w.mount[RT_CG_PIDS]); /* its line has no super options */
    ck_assert_ptr_null(w.mount[RT_CG_DEVICES]);
    ck_assert_ptr_null(w.own[RT_CG_DEVICES]);
    rt_cg_where_release(&w);

    rt_cg_where_parse(&w, NULL, NULL);
    for (int c = 0; c < RT_CG_NCTRL; c++)
        ck_assert(!w.mount[c] && !w.own[c]);
}
END_TEST

START_TEST(capability_names_round_trip)
{
    ck_assert_int_eq(rt_cap_from_name("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
    ck_assert_int_eq(rt_cap_from_name("net_raw"), CAP_NET_RAW);
    ck_assert_int_eq(rt_cap_from_name("CAP_NOPE"), -1);
    ck_assert_str_eq(rt_cap_name(CAP_CHOWN), "CHOWN");
    ck_assert_ptr_null(rt_cap_name(999));
    ck_assert_int_eq(__builtin_popcountll(rt_caps_default), 14);
    ck_assert(!(rt_caps_default & (1ULL << CAP_SYS_ADMIN)));
}
END_TEST

START_TEST(mount_options_fold_into_flags)
{
    struct rt_mount m = {0};
    char *data;

    ck_assert_int_eq(rt_mount_options_parse("ro", &m, &data), 0);
    ck_assert_ptr_null(data);
    ck_assert_int_eq(rt_mount_options_parse("nosuid", &m, &data), 0);
    ck_assert_int_eq(rt_mount_options_parse("rbind", &m, &data), 0);
    ck_assert_int_eq(rt_mount_options_parse("rslave", &m, &data), 0);
    ck_assert_int_eq(rt_mount_options_parse("size=10m", &m, &data), 0);
    ck_assert_str_eq(data, "size=10m");
    ck_assert_int_eq(rt_mount_options_parse("rw", &m, &data), 0);
    ck_assert(!(m.flags & MS_RDONLY));
    ck_assert(m.flags & MS_NOSUID);
    ck_assert_int_eq(m.bind, 2);
    ck_assert_uint_eq(m.propagation, MS_SLAVE | MS_REC);
    ck_assert_int_eq(rt_mount_options_parse("tmpcopyup", &m, &data), -1);
    ck_assert_int_eq(rt_mount_options_parse("idmap", &m, &data), -1);
}
END_TEST

static const struct rt_seccomp_rule *
find_rule(const struct rt_seccomp *sc, const char *name)
{
    for (size_t i = 0; i < sc->nrules; i++)
        for (size_t j = 0; j < sc->rules[i].nnames; j++)
            if (strcmp(sc->rules[i].names[j], name) == 0)
                return &sc->rules[i];
    return NULL;
}

START_TEST(default_profile_filters_namespaces_and_mounts)
{
    struct rt_seccomp *sc = rt_seccomp_default(rt_caps_default);
    const struct rt_seccomp_rule *r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_uint_eq(sc->default_action, SCMP_ACT_ERRNO(EPERM));
    ck_assert_ptr_nonnull(find_rule(sc, "read"));
    ck_assert_ptr_null(find_rule(sc, "mount"));
    ck_assert_ptr_null(find_rule(sc, "unshare"));
    ck_assert_ptr_null(find_rule(sc, "setns"));
    ck_assert_ptr_null(find_rule(sc, "kexec_load"));
    r = find_rule(sc, "clone");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->nargs, 1);
    ck_assert_int_eq(r->args[0].op, SCMP_CMP_MASKED_EQ);
    ck_assert(r->args[0].value & CLONE_NEWUSER);
    r = find_rule(sc, "clone3");
    ck_assert_uint_eq(r->action, SCMP_ACT_ERRNO(ENOSYS));
    r = find_rule(sc, "mknod");
    ck_assert_uint_eq(r->nargs, 1);
    ck_assert_int_gt(rt_seccomp_check(sc, &err), 300);
    rt_seccomp_free(sc);
}
END_TEST

START_TEST(admin_profile_allows_mount_and_plain_clone)
{
    struct rt_seccomp *sc = rt_seccomp_default(rt_caps_default | (1ULL << CAP_SYS_ADMIN));
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_ptr_nonnull(find_rule(sc, "mount"));
    ck_assert_ptr_nonnull(find_rule(sc, "unshare"));
    ck_assert_uint_eq(find_rule(sc, "clone")->nargs, 0);
    ck_assert_int_gt(rt_seccomp_check(sc, &err), 0);
    rt_seccomp_free(sc);
}
END_TEST

START_TEST(seccomp_hash_and_compile_cache)
{
    struct rt_seccomp *a = rt_seccomp_default(rt_caps_default);
    struct rt_seccomp *b = rt_seccomp_default(rt_caps_default | (1ULL << CAP_SYS_ADMIN));
    struct rt_bpf p1, p2;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert(rt_seccomp_hash(a) != rt_seccomp_hash(b));
    ck_assert_int_eq(rt_seccomp_compile(a, unit_tmpdir(), &p1, &err), 0);
    ck_assert_int_eq(rt_seccomp_compile(a, unit_tmpdir(), &p2, &err), 0); /* from the cache */
    ck_assert_uint_eq(p1.len, p2.len);
    ck_assert_uint_gt(p1.len, 0);
    ck_assert_int_eq(memcmp(p1.prog, p2.prog, p1.len), 0);
    free(p1.prog);
    free(p2.prog);
    ck_assert_int_eq(rt_seccomp_compile(NULL, NULL, &p1, &err), 0);
    ck_assert_ptr_null(p1.prog);
    rt_seccomp_free(a);
    rt_seccomp_free(b);
}
END_TEST

START_TEST(seccomp_parsers_reject_unknown_names)
{
    uint32_t a;
    int op;

    ck_assert_int_eq(rt_seccomp_action_parse("SCMP_ACT_ERRNO", 1, &a), 0);
    ck_assert_uint_eq(a, SCMP_ACT_ERRNO(1));
    ck_assert_int_eq(rt_seccomp_action_parse("SCMP_ACT_NOTIFY", 0, &a), -1);
    ck_assert_int_eq(rt_seccomp_op_parse("SCMP_CMP_GE", &op), 0);
    ck_assert_int_eq(op, SCMP_CMP_GE);
    ck_assert_int_eq(rt_seccomp_op_parse("GE", &op), -1);
    ck_assert_int_eq(rt_seccomp_arch_parse("SCMP_ARCH_X86_64", &a), 0);
    ck_assert_uint_eq(a, SCMP_ARCH_X86_64);
    ck_assert_int_eq(rt_seccomp_arch_parse("SCMP_ARCH_VAX", &a), -1);
}
END_TEST

static const struct {
    const char *text;
    int n; /* -1: malformed */
    pid_t first, last;
} procs[] = {
    {"", 0, 0, 0},
    {"1\n", 1, 1, 1},
    {"17\n4242\n9\n", 3, 17, 9},
    {"5\n\n6", 2, 5, 6},
    {"12a\n", -1, 0, 0},
    {"-3\n", -1, 0, 0},
    {"0\n", -1, 0, 0},
    {"99999999999\n", -1, 0, 0},
    {" 4\n", -1, 0, 0},
};

START_TEST(cgroup_procs_parse_or_fail_cleanly)
{
    pid_t *pids = (pid_t *)&_i; /* must be reset by the parser */
    size_t n = 77;
    int rc = rt_cgroup_parse_procs(procs[_i].text, &pids, &n);

    ck_assert_int_eq(rc, procs[_i].n < 0 ? -EINVAL : procs[_i].n);
    if (procs[_i].n <= 0) {
        ck_assert_ptr_null(pids);
        ck_assert_uint_eq(n, 0);
        return;
    }
    ck_assert_uint_eq(n, (size_t)procs[_i].n);
    ck_assert_int_eq(pids[0], procs[_i].first);
    ck_assert_int_eq(pids[n - 1], procs[_i].last);
    free(pids);
}
END_TEST

START_TEST(container_ids_are_checked)
{
    ck_assert(rt_id_valid("web-1_a.b"));
    ck_assert(!rt_id_valid(""));
    ck_assert(!rt_id_valid(".."));
    ck_assert(!rt_id_valid("a/b"));
    ck_assert(!rt_id_valid("a b"));
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("runtime_pure");
    TCase *tc = tcase_create("pure");

    tcase_add_loop_test(tc, signal_names_and_numbers, 0, (int)(sizeof(sigs) / sizeof(sigs[0])));
    tcase_add_test(tc, realtime_signals_by_offset);
    tcase_add_test(tc, cri_line_full_and_partial);
    tcase_add_loop_test(tc, cgroup_path_is_beneath_own_cgroup, 0,
                        (int)(sizeof(cgpaths) / sizeof(cgpaths[0])));
    tcase_add_test(tc, cgroup_where_parses_hybrid_hosts);
    tcase_add_test(tc, signals_reset_to_defaults);
    tcase_add_test(tc, capability_names_round_trip);
    tcase_add_test(tc, mount_options_fold_into_flags);
    tcase_add_test(tc, default_profile_filters_namespaces_and_mounts);
    tcase_add_test(tc, admin_profile_allows_mount_and_plain_clone);
    tcase_add_test(tc, seccomp_hash_and_compile_cache);
    tcase_add_test(tc, seccomp_parsers_reject_unknown_names);
    tcase_add_test(tc, container_ids_are_checked);
    tcase_add_loop_test(tc, cgroup_procs_parse_or_fail_cleanly, 0,
                        (int)(sizeof(procs) / sizeof(procs[0])));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
