/* The last steps before execve, in the container's mount namespace and
 * root, shared by the container's init (create) and exec: user lookup,
 * rlimits, working directory, identity, capabilities, no_new_privs and
 * seccomp (last, so nothing after it needs a blocked syscall). */
#include "runtime/rt_int.h"

#include "lib/buf.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Look name up in the container's /etc/passwd (never the host's: this
 * runs after pivot_root or setns into the mount namespace). */
int
rt_process_lookup_user(const char *name, uint32_t *uid, uint32_t *gid, struct sk_err *err)
{
    FILE *f = fopen("/etc/passwd", "re");
    char line[1024];
    int rc = sk_err_set(err, ENOENT, "user '%s': not found in the container's /etc/passwd", name);

    if (!f)
        return sk_err_sys(err, errno, "user '%s': open '/etc/passwd'", name);
    while (fgets(line, sizeof(line), f)) {
        char *save = NULL, *u = strtok_r(line, ":", &save), *x, *su, *sg;

        x = strtok_r(NULL, ":", &save);
        su = strtok_r(NULL, ":", &save);
        sg = strtok_r(NULL, ":", &save);
        if (!u || !x || !su || !sg || strcmp(u, name) != 0)
            continue;
        *uid = (uint32_t)strtoul(su, NULL, 10);
        *gid = (uint32_t)strtoul(sg, NULL, 10);
        rc = 0;
        break;
    }
    fclose(f);
    return rc;
}

static const char *
env_get(char **env, size_t nenv, const char *key)
{
    size_t n = strlen(key);

    for (size_t i = 0; i < nenv; i++)
        if (strncmp(env[i], key, n) == 0 && env[i][n] == '=')
            return env[i] + n + 1;
    return NULL;
}

int
rt_find_exec(const char *file, char **env, size_t nenv, char *out, size_t outsz, struct sk_err *err)
{
    const char *path = env_get(env, nenv, "PATH");

    if (strchr(file, '/')) {
        if (access(file, X_OK) < 0)
            return sk_err_sys(err, errno, "exec '%s'", file);
        return sk_strlcpy(out, file, outsz) < 0 ? -ENAMETOOLONG : 0;
    }
    for (const char *p = path ? path : DEFAULT_PATH; *p;) {
        size_t n = strcspn(p, ":");
        struct stat st;

        if (snprintf(out, outsz, "%.*s/%s", (int)n, n ? p : ".", file) < (int)outsz &&
            stat(out, &st) == 0 && S_ISREG(st.st_mode) && access(out, X_OK) == 0)
            return 0;
        p += n;
        if (*p == ':')
            p++;
    }
    return sk_err_set(err, ENOENT, "exec '%s': executable file not found in $PATH", file);
}

/* CVE-2024-21626: the cwd is resolved inside the container's root (no
 * "..", absolute or magic-link escape such as /proc/self/fd/N of a
 * leaked host directory) and checked once more with getcwd(), which
 * reports "(unreachable)" for a directory outside the root. */
static int
enter_cwd(const char *cwd, struct sk_err *err)
{
    struct open_how how = {.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
    char buf[4096];
    int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how)), dfd;

    if (fd < 0)
        return sk_err_sys(err, errno, "open '/'");
    dfd = (int)syscall(SYS_openat2, fd, cwd, &how, sizeof(how));
    close(fd);
    if (dfd < 0)
        return sk_err_sys(err, errno, "cwd '%s'", cwd);
    if (fchdir(dfd) < 0) {
        close(dfd);
        return sk_err_sys(err, errno, "chdir '%s'", cwd);
    }
    close(dfd);
    if (!getcwd(buf, sizeof(buf)) || buf[0] != '/')
        return sk_err_set(err, EPERM, "cwd '%s': outside the container root", cwd);
    return 0;
}

static int
set_identity(const struct rt_process *proc, uint32_t uid, uint32_t gid, struct sk_err *err)
{
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        return sk_err_sys(err, errno, "prctl keepcaps");
    if (setgroups(proc->nadd_gids, proc->add_gids) < 0)
        return sk_err_sys(err, errno, "setgroups");
    if (setresgid(gid, gid, gid) < 0)
        return sk_err_sys(err, errno, "setgid %u", gid);
    if (setresuid(uid, uid, uid) < 0)
        return sk_err_sys(err, errno, "setuid %u", uid);
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
        return sk_err_sys(err, errno, "prctl keepcaps");
    return 0;
}

static int
set_limits(const struct rt_process *proc, struct sk_err *err)
{
    for (size_t i = 0; i < proc->nrlimits; i++) {
        struct rlimit rl = {proc->rlimits[i].soft, proc->rlimits[i].hard};

        if (setrlimit(proc->rlimits[i].resource, &rl) < 0)
            return sk_err_sys(err, errno, "setrlimit %d", proc->rlimits[i].resource);
    }
    if (proc->oom_score != RT_UNSET) {
        char v[16];
        int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC), rc = 0;

        snprintf(v, sizeof(v), "%lld", proc->oom_score);
        if (fd < 0 || write(fd, v, strlen(v)) < 0)
            rc = sk_err_sys(err, errno, "write oom_score_adj %s", v);
        if (fd >= 0)
            close(fd);
        return rc;
    }
    return 0;
}

int
rt_process_prepare(const struct rt_bpf *bpf, const struct rt_process *proc, char *exe, size_t exesz,
                   struct sk_err *err)
{
    uint32_t uid = proc->uid, gid = proc->gid;

    if (proc->username && rt_process_lookup_user(proc->username, &uid, &gid, err) < 0)
        return -ENOENT;
    if (enter_cwd(proc->cwd ? proc->cwd : "/", err) < 0)
        return -EPERM;
    if (rt_find_exec(proc->args[0], proc->env, proc->nenv, exe, exesz, err) < 0)
        return -ENOENT;
    if (set_limits(proc, err) < 0)
        return -EPERM;
    /* Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load it
     * before the capabilities go (the profile allows what follows). */
    if (!proc->no_new_privs && rt_seccomp_install(bpf, err) < 0)
        return -EPERM;
    if (rt_caps_drop_bounding(proc, err) < 0 || set_identity(proc, uid, gid, err) < 0 ||
        rt_caps_apply(proc, err) < 0)
        return -EPERM;
    if (proc->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        return sk_err_sys(err, errno, "prctl no_new_privs");
    if (proc->no_new_privs && rt_seccomp_install(bpf, err) < 0)
        return -EPERM;
    umask(proc->umask != RT_UNSET ? (mode_t)proc->umask : 022);
    return 0;
}

char **
rt_strv_nul(char **v, size_t n)
{
    char **out = calloc(n + 1, sizeof(char *));

    if (!out)
        return NULL;
    for (size_t i = 0; i < n; i++)
        out[i] = v[i];
    return out;
}

/* Ignored signals and the signal mask survive execve: the container's
 * process starts with the defaults whatever the runtime or its caller
 * did (the monitor ignores SIGPIPE; make ignores glibc's internal
 * signals 32 and 33, which sigaction() refuses to touch, hence the raw
 * system call). */
void
rt_signals_reset(void)
{
    struct {
        void (*handler)(int);
        unsigned long flags;
        void (*restorer)(void);
        uint64_t mask;
    } dfl = {SIG_DFL, 0, NULL, 0};
    sigset_t none;

    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, &dfl, NULL, sizeof(dfl.mask));
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}
