/* net/netns.c: doing things inside another network namespace.
 *
 * setns(2) with CLONE_NEWNET changes the netns of the calling thread
 * only. Rather than switching the caller's thread and back (which
 * leaves it in the wrong namespace if the way back fails, and is wrong
 * for any other code running on it), net_netns_run starts a short-lived
 * thread that enters the target netns, does its work and exits. Work
 * done there keeps its namespace after the thread is gone: a netlink
 * socket stays bound to the netns it was created in (nl_sock_open_netns),
 * and a /proc/sys/net file belongs to the netns of the thread that
 * opened it (fs/proc/proc_sysctl.c resolves net sysctls through
 * current->nsproxy). A forked child would do as well but costs a fork
 * per call and cannot hand a socket back without SCM_RIGHTS. The one
 * exception is nl_sock_open_in, for the pod setup's hot path (below).
 * net_netns_spawn runs such a thread beside the caller instead of
 * waiting for it at once. */
#include "net/nl_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

struct netns_job {
    int fd;
    int (*fn)(void *arg, struct sk_err *err);
    void *arg;
    struct sk_err *err;
    int rc;
};

static void *
netns_thread(void *p)
{
    struct netns_job *job = p;

    if (setns(job->fd, CLONE_NEWNET) < 0) {
        job->rc = sk_err_sys(job->err, errno, "enter network namespace");
        return NULL;
    }
    job->rc = job->fn(job->arg, job->err);
    return NULL;
}

int
net_netns_run(int netns_fd, int (*fn)(void *arg, struct sk_err *err), void *arg, struct sk_err *err)
{
    struct netns_job job = {netns_fd, fn, arg, err, 0};
    sigset_t all, old;
    pthread_t tid;
    int rc;

    if (netns_fd < 0)
        return fn(arg, err);
    /* The helper thread blocks every signal, so signals keep going to
     * the threads that expect them. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&tid, NULL, netns_thread, &job);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return sk_err_sys(err, rc, "start a thread to enter a network namespace");
    pthread_join(tid, NULL);
    return job.rc;
}

/* ---- a thread that runs beside the caller ---- */

struct net_netns_task {
    pthread_t tid;
    struct netns_job job;
    struct sk_err err; /* job.err; read only after the join */
};

int
net_netns_spawn(struct net_netns_task **out, int netns_fd, int (*fn)(void *arg, struct sk_err *err),
                void *arg, struct sk_err *err)
{
    struct net_netns_task *t = sk_calloc(1, sizeof(*t));
    sigset_t all, old;
    int rc;

    *out = NULL;
    sk_err_init(&t->err);
    t->job = (struct netns_job){netns_fd, fn, arg, &t->err, 0};
    /* Every signal blocked, as in net_netns_run. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&t->tid, NULL, netns_thread, &t->job);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(t);
        return sk_err_sys(err, rc, "start a thread to enter a network namespace");
    }
    *out = t;
    return 0;
}

int
net_netns_join(struct net_netns_task *t, struct sk_err *err)
{
    int rc;

    if (!t)
        return 0;
    pthread_join(t->tid, NULL);
    rc = t->job.rc < 0 ? sk_err_copy(err, &t->err) : 0;
    free(t);
    return rc;
}

/* ---- a socket opened from inside, without a thread ---- */

/* The one exception to the rule above, for the pod setup's hot path:
 * a thread costs a clone, an exit and, on a busy machine, a wait for a
 * CPU, where two setns calls cost a microsecond each. Only socket()
 * runs in between, with every signal blocked, so no other code runs
 * on this thread in the wrong netns; the way back (into a netns this
 * thread held open) can only fail when the kernel cannot allocate the
 * new nsproxy, and skiff aborts on an allocation failure anyway: going
 * on in the wrong netns would be worse. */
int
nl_sock_open_in(struct nl_sock **out, int netns_fd, struct sk_err *err)
{
    sigset_t all, old;
    int self, rc;

    *out = NULL;
    self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (self < 0)
        return sk_err_sys(err, errno, "open this thread's network namespace");
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    if (setns(netns_fd, CLONE_NEWNET) < 0) {
        rc = sk_err_sys(err, errno, "enter network namespace");
    } else {
        rc = nl_sock_open(out, err);
        if (setns(self, CLONE_NEWNET) < 0)
            SK_BUG("cannot return to this thread's network namespace: %s", strerror(errno));
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    close(self);
    return rc;
}

int
net_netns_open(const char *path, struct sk_err *err)
{
    int fd, type;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "network namespace '%s'", path);
    /* NS_GET_NSTYPE (Linux 4.11) tells a netns from any other file
     * (ENOTTY: not an nsfs file); without the check setns() would fail
     * later with a vaguer EINVAL. */
    type = ioctl(fd, NS_GET_NSTYPE);
    if (type != CLONE_NEWNET) {
        close(fd);
        return sk_err_set(err, EINVAL, "'%s' is not a network namespace", path);
    }
    return fd;
}

struct nl_open_job {
    struct nl_sock *nl;
};

static int
nl_open_fn(void *arg, struct sk_err *err)
{
    struct nl_open_job *job = arg;

    return nl_sock_open(&job->nl, err);
}

int
nl_sock_open_netns(struct nl_sock **out, int netns_fd, struct sk_err *err)
{
    struct nl_open_job job = {NULL};
    int rc;

    rc = net_netns_run(netns_fd, nl_open_fn, &job, err);
    *out = job.nl;
    return rc;
}

/* ---- sysctls ---- */

/* "net.ipv4.ip_forward" -> "/proc/sys/net/ipv4/ip_forward"; only net.*
 * keys made of [A-Za-z0-9_-] components, so no path can escape. */
static int
sysctl_path(const char *key, char *path, size_t size, struct sk_err *err)
{
    size_t i, n = strlen("/proc/sys/");
    char prev = '.';

    if (!sk_startswith(key, "net."))
        return sk_err_set(err, EINVAL, "sysctl '%.64s': only net.* keys can be set", key);
    if (sk_snprintf(path, size, "/proc/sys/%s", key) < 0)
        return sk_err_set(err, EINVAL, "sysctl '%.64s': key too long", key);
    for (i = 0; key[i]; i++) {
        char c = key[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || (c == '.' && prev != '.');

        if (!ok)
            return sk_err_set(err, EINVAL, "sysctl '%.64s': bad key", key);
        path[n + i] = c == '.' ? '/' : c;
        prev = c;
    }
    if (prev == '.')
        return sk_err_set(err, EINVAL, "sysctl '%.64s': bad key", key);
    return 0;
}

struct sysctl_job {
    const char *key;
    const char *path;
    const char *value; /* NULL: read into buf */
    char *buf;
    size_t size;
};

static int
sysctl_fn(void *arg, struct sk_err *err)
{
    struct sysctl_job *job = arg;
    ssize_t n;
    int fd, rc = 0;

    fd = open(job->path, (job->value ? O_WRONLY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0)
        return sk_err_sys(err, errno, "sysctl '%s': open '%s'", job->key, job->path);
    if (job->value) {
        n = write(fd, job->value, strlen(job->value));
        if (n != (ssize_t)strlen(job->value))
            rc = sk_err_sys(err, n < 0 ? errno : EIO, "sysctl '%s': write '%s'", job->key,
                            job->value);
        goto out_close;
    }
    n = read(fd, job->buf, job->size - 1);
    if (n < 0) {
        rc = sk_err_sys(err, errno, "sysctl '%s': read", job->key);
        goto out_close;
    }
    job->buf[n] = '\0';
    if (n > 0 && job->buf[n - 1] == '\n')
        job->buf[n - 1] = '\0';
out_close:
    close(fd);
    return rc;
}

int
net_sysctl_set(int netns_fd, const char *key, const char *value, struct sk_err *err)
{
    char path[256];
    struct sysctl_job job = {key, path, value, NULL, 0};

    if (sysctl_path(key, path, sizeof(path), err) < 0)
        return -EINVAL;
    return net_netns_run(netns_fd, sysctl_fn, &job, err);
}

int
net_sysctl_get(int netns_fd, const char *key, char *buf, size_t size, struct sk_err *err)
{
    char path[256];
    struct sysctl_job job = {key, path, NULL, buf, size};

    if (size < 2)
        return sk_err_set(err, EINVAL, "sysctl '%s': buffer too small", key);
    if (sysctl_path(key, path, sizeof(path), err) < 0)
        return -EINVAL;
    return net_netns_run(netns_fd, sysctl_fn, &job, err);
}
