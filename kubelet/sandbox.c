/* kubelet/sandbox.c: the pod sandbox, a pause process holding the pod's
 * network namespace, and the pod network inside it.
 *
 * The pause process is double-forked (not the agent's child, so an agent
 * restart neither kills nor has to reap it), unshares a network
 * namespace and execs `<pause_exe> _pause`. Its namespace is reached as
 * /proc/PID/ns/net: nothing is bind-mounted, so a sandbox survives an
 * agent that runs in a private mount namespace (ip netns exec) and is
 * restarted in another. PID and start time (/proc/PID/stat field 22)
 * are kept in <pod dir>/sandbox, so a recycled PID is never taken for
 * the pause process.
 *
 * The pod network (net_pod_setup: veth into the bridge, address from
 * the node's IPAM owned by the pod's uid) is set up after the pause
 * process. Killing the pause process destroys the netns and the veth
 * with it; the address is released once the host end is gone
 * (netgone.c). */
#include "kubelet/agent_int.h"

#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

unsigned long long
kl_proc_starttime(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd, i;

    sk_snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may hold spaces and ')': fields count from the last ')' */
    if (!(p = strrchr(buf, ')')))
        return 0;
    for (i = 2; i < 22 && p; i++)
        p = strchr(p + 1, ' ');
    if (p)
        start = strtoull(p + 1, NULL, 10);
    return start;
}

bool
kl_sandbox_alive(const struct kl_apod *p)
{
    return p->sandbox_pid > 0 && kl_proc_starttime(p->sandbox_pid) == p->sandbox_start;
}

int
kl_sandbox_load(struct kl_apod *p)
{
    char path[PATH_MAX + 16];
    unsigned long long start;
    FILE *f;
    int pid;

    sk_snprintf(path, sizeof(path), "%s/sandbox", p->dir);
    if (!(f = fopen(path, "re")))
        return -ENOENT;
    if (fscanf(f, "%d %llu", &pid, &start) != 2)
        pid = 0;
    fclose(f);
    if (pid <= 0)
        return -EINVAL;
    p->sandbox_pid = pid;
    p->sandbox_start = start;
    return kl_sandbox_alive(p) ? 0 : -ESRCH;
}

int
kl_pause_main(void)
{
    sigset_t set;
    int sig;

    /* Only SIGKILL ends it: no stray signal takes the pod's network. */
    sigfillset(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
    for (;;)
        sigwait(&set, &sig);
    return 0;
}

/* Child side of the double fork: never returns. */
static void
pause_child(const char *exe, int wfd)
{
    pid_t pid;

    setsid();
    if ((pid = fork()) != 0)
        _exit(pid < 0 ? 1 : 0);
    if (unshare(CLONE_NEWNET) < 0)
        _exit(2);
    pid = getpid();
    if (write(wfd, &pid, sizeof(pid)) != sizeof(pid))
        _exit(3);
    close(wfd);
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (devnull >= 0) {
        dup2(devnull, 0);
        dup2(devnull, 1);
        dup2(devnull, 2);
    }
    execl(exe, "skiffd-pause", "_pause", (char *)NULL);
    _exit(127);
}

static int
pause_spawn(const char *exe, pid_t *out, struct sk_err *err)
{
    int fds[2], status;
    pid_t mid, pid = 0;
    ssize_t n;

    if (pipe2(fds, O_CLOEXEC) < 0)
        return sk_err_sys(err, errno, "pipe");
    if ((mid = fork()) < 0) {
        close(fds[0]);
        close(fds[1]);
        return sk_err_sys(err, errno, "fork");
    }
    if (mid == 0) {
        close(fds[0]);
        pause_child(exe, fds[1]);
    }
    close(fds[1]);
    n = read(fds[0], &pid, sizeof(pid));
    close(fds[0]);
    waitpid(mid, &status, 0);
    if (n != sizeof(pid) || pid <= 0)
        return sk_err_set(err, EIO, "sandbox process '%s _pause' did not start", exe);
    *out = pid;
    return 0;
}

static int
sandbox_start(struct kl_agent *a, struct kl_apod *p, struct sk_err *err)
{
    char path[PATH_MAX + 16], line[64];
    pid_t pid = 0;
    int n;

    if (kl_mkdir_p(p->dir, 0711, err) < 0)
        return -err->code;
    if (pause_spawn(a->pause_exe, &pid, err) < 0)
        return -err->code;
    p->sandbox_pid = pid;
    p->sandbox_start = kl_proc_starttime(pid);
    n = snprintf(line, sizeof(line), "%d %llu\n", (int)pid, p->sandbox_start);
    sk_snprintf(path, sizeof(path), "%s/sandbox", p->dir);
    if (kl_write_file(path, line, (size_t)n, 0600, err) < 0) {
        kill(pid, SIGKILL);
        p->sandbox_pid = 0;
        return -err->code;
    }
    return 0;
}

static int
sandbox_network(struct kl_agent *a, struct kl_apod *p, struct sk_err *err)
{
    char nspath[64];
    struct net_pod_spec spec = {.pod_id = p->uid, .netns_path = nspath, .bridge = a->bridge};
    struct net_pod_result res;

    sk_snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->sandbox_pid);
    if (net_pod_setup(a->nl, &a->ipam, &spec, &res, err) < 0)
        return -err->code;
    net_ip_format(&res.addr.ip, p->ip, sizeof(p->ip));
    return 0;
}

/* The pod's sandbox, created when missing: pause process, pod network,
 * the pod's /etc files. Idempotent: an alive sandbox is kept (and its
 * network set up again, which net_pod_setup makes a no-op). */
int
kl_sandbox_ensure(struct kl_agent *a, struct kl_apod *p, struct sk_err *err)
{
    char nspath[64], host[NET_IP_STRLEN] = "";
    struct kl_sandbox sb = {.pod_dir = p->dir, .node_name = a->node_name};
    const char *dns;
    int rc;

    if (!kl_sandbox_alive(p) && kl_sandbox_load(p) < 0) {
        if ((rc = sandbox_start(a, p, err)) < 0)
            return sk_err_wrap(err, "sandbox");
        p->ip[0] = '\0'; /* a new network namespace: set it up again */
        sk_info("kubelet", "pod '%s/%s': sandbox pid %d", p->ns, p->name, (int)p->sandbox_pid);
    }
    if (!*p->ip) {
        if ((rc = sandbox_network(a, p, err)) < 0)
            return sk_err_wrap(err, "pod network");
        p->files_written = false;
    }
    if (p->files_written)
        return 0;
    sk_snprintf(nspath, sizeof(nspath), "/proc/%d/ns/net", (int)p->sandbox_pid);
    sb.netns_path = nspath;
    sb.pod_ip = p->ip;
    sb.host_ip = host;
    dns = *a->dns_ip ? a->dns_ip : NULL; /* services.c; NULL: no cluster DNS */
    if ((rc = kl_pod_files_write(p->obj, &sb, dns, a->dns_domain, err)) < 0)
        return sk_err_wrap(err, "pod files");
    p->files_written = true;
    return 0;
}

int
kl_rm_rf(const char *path)
{
    pid_t pid;
    int status;

    /* nftw(3) with FTW_DEPTH|FTW_PHYS would do; a child keeps it short */
    if ((pid = fork()) == 0) {
        execl("/bin/rm", "rm", "-rf", "--one-file-system", "--", path, (char *)NULL);
        _exit(127);
    }
    if (pid < 0)
        return -errno;
    waitpid(pid, &status, 0);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EIO;
}

/* Kill the pause process (its netns, and the veth in it, go with it:
 * no blocking RTM_DELLINK here, netgone.c waits for the veth and then
 * releases the address), remove the pod's directory. Idempotent; also
 * for pods known only by their dir. */
void
kl_sandbox_teardown(struct kl_agent *a, const char *uid, const char *dir)
{
    struct kl_apod tmp;

    memset(&tmp, 0, sizeof(tmp));
    tmp.dir = sk_strdup(dir);
    if (kl_sandbox_load(&tmp) == 0)
        kill(tmp.sandbox_pid, SIGKILL);
    if (a->ipam.path)
        kl_netgone_add(a, uid);
    if (kl_rm_rf(dir) < 0)
        sk_warn("kubelet", "pod '%s': removing '%s' failed", uid, dir);
    free(tmp.dir);
}
