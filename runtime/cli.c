/* skiff-runtime(8): the OCI-runtime-style CLI over runtime.h.
 *
 * Global flags come before the verb (runc's grammar). Exit status: 0
 * success, 1 failure; `run` without -d and `exec` pass the container
 * process's status through (128+N for a signal). */
#include "runtime/image.h"
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/log.h"
#include "lib/version.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct cli {
    struct rt_ctx ctx;
    int err_fd; /* the caller's stderr (--log moves fd 2 to the log) */
};

static void
report(const struct cli *c, const struct sk_err *err)
{
    dprintf(c->err_fd, "skiff-runtime: %s\n", err->msg);
    if (c->err_fd != 2)
        sk_error("runtime", "%s", err->msg);
}

__attribute__((format(printf, 2, 3))) static int
usage_error(const struct cli *c, const char *fmt, ...)
{
    va_list ap;

    dprintf(c->err_fd, "skiff-runtime: ");
    va_start(ap, fmt);
    vdprintf(c->err_fd, fmt, ap);
    va_end(ap);
    dprintf(c->err_fd, "\n");
    return 1;
}

static int
load_bundle(const char *bundle, struct rt_spec *spec, char **text, struct sk_err *err)
{
    char path[4200];
    size_t len;
    int rc;

    snprintf(path, sizeof(path), "%s/config.json", bundle);
    if ((rc = rt_read_file(path, text, &len, err)) < 0)
        return rc;
    rc = rt_spec_parse_config(*text, len, spec, err);
    if (rc < 0) {
        free(*text);
        *text = NULL;
        sk_err_wrap(err, "config '%s'", path);
    }
    return rc;
}

struct create_args {
    const char *bundle, *pid_file, *cri_log, *console_socket;
    long long cri_max;
    int detach, tty;
};

static int
parse_create(const struct cli *c, int argc, char **argv, struct create_args *a, const char **id)
{
    static const struct option opts[] = {{"bundle", required_argument, NULL, 'b'},
                                         {"pid-file", required_argument, NULL, 'p'},
                                         {"console-socket", required_argument, NULL, 'c'},
                                         {"detach", no_argument, NULL, 'd'},
                                         {"cri-log", required_argument, NULL, 'l'},
                                         {"cri-log-max-size", required_argument, NULL, 'm'},
                                         {"no-pivot", no_argument, NULL, 'P'},
                                         {"no-new-keyring", no_argument, NULL, 'k'},
                                         {"tty", no_argument, NULL, 't'},
                                         {NULL, 0, NULL, 0}};
    int o;

    memset(a, 0, sizeof(*a));
    a->bundle = ".";
    optind = 1;
    while ((o = getopt_long(argc, argv, "+b:dt", opts, NULL)) != -1) {
        switch (o) {
        case 'b':
            a->bundle = optarg;
            break;
        case 'p':
            a->pid_file = optarg;
            break;
        case 'd':
            a->detach = 1;
            break;
        case 'l':
            a->cri_log = optarg;
            break;
        case 'm':
            a->cri_max = atoll(optarg);
            break;
        case 'k':
            break; /* skiff never joins a session keyring */
        case 'c':
            a->console_socket = optarg;
            break;
        case 't':
            a->tty = 1;
            break;
        case 'P':
            return usage_error(c, "--no-pivot: not supported (pivot_root is always used)");
        default:
            return usage_error(c, "usage: %s [--bundle DIR] [--pid-file F] ID", argv[0]);
        }
    }
    if (optind != argc - 1)
        return usage_error(c, "usage: %s [--bundle DIR] [--pid-file F] ID", argv[0]);
    *id = argv[optind];
    return 0;
}

static int
write_pid_file(const char *path, pid_t pid, struct sk_err *err)
{
    char tmp[4200], text[32];
    int fd;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    snprintf(text, sizeof(text), "%d", (int)pid);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || rt_write_all(fd, text, strlen(text)) < 0 || rename(tmp, path) < 0) {
        int e = errno;

        if (fd >= 0)
            close(fd);
        return sk_err_sys(err, e, "pid file '%s'", path);
    }
    close(fd);
    return 0;
}

/* The console of a terminal container: the caller's --console-socket,
 * or for a foreground run a socketpair whose other end (*master_sock)
 * receives the pty master. */
static int
console_for(const struct create_args *a, const struct rt_spec *spec, int foreground, int *fd,
            int *master_sock, struct sk_err *err)
{
    int sv[2];

    *fd = -1;
    *master_sock = -1;
    if (!spec->process.terminal) {
        if (a->console_socket)
            return sk_err_set(err, EINVAL,
                              "--console-socket: the process has no terminal (process.terminal)");
        return 0;
    }
    if (a->console_socket)
        return rt_console_connect(a->console_socket, fd, err);
    if (!foreground)
        return sk_err_set(err, EINVAL,
                          "process.terminal: needs --console-socket (or run without -d)");
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return sk_err_sys(err, errno, "socketpair");
    *fd = sv[1];
    *master_sock = sv[0];
    return 0;
}

static int
do_create(const struct cli *c, const struct create_args *a, const char *id, int exit_fd, int start,
          int *started, int *master_sock, struct sk_err *err)
{
    struct rt_create_opts o = {0};
    struct rt_netns_prefetch netns;
    struct rt_spec spec;
    char *text = NULL;
    pid_t pid;
    int rc;

    /* Most bundles ask for a new network namespace, the slowest part of
     * a start: begin making it before reading config.json (netns.c). */
    rt_netns_prefetch_begin(&netns);
    if ((rc = load_bundle(a->bundle, &spec, &text, err)) < 0) {
        rt_netns_prefetch_end(&netns);
        return rc;
    }
    if (a->tty)
        spec.process.terminal = 1;
    o.bundle = a->bundle;
    o.pid_file = a->pid_file;
    o.stdio[0] = 0;
    o.stdio[1] = 1;
    o.stdio[2] = c->err_fd;
    o.cri_log = a->cri_log;
    o.cri_log_max = a->cri_max;
    o.config_json = text;
    o.exit_fd = exit_fd;
    o.remove = exit_fd >= 0;
    o.netns_early = &netns;
    o.start = start;
    *started = rt_container_starts_at_once(&spec, &o);
    if ((rc = console_for(a, &spec, exit_fd >= 0, &o.console_fd, master_sock, err)) < 0) {
        rt_netns_prefetch_end(&netns);
        goto out;
    }
    rc = rt_container_create(&c->ctx, id, &spec, &o, &pid, err);
    if (rc == 0 && a->pid_file && write_pid_file(a->pid_file, pid, err) < 0) {
        rt_container_delete(&c->ctx, id, 1, NULL);
        rc = -1;
    }
    if (o.console_fd >= 0)
        close(o.console_fd);
out:
    rt_spec_release(&spec);
    free(text);
    return rc;
}

static int
cmd_create(const struct cli *c, int argc, char **argv)
{
    struct create_args a;
    struct sk_err err;
    const char *id = NULL;
    int none, started;

    sk_err_init(&err);
    if (parse_create(c, argc, argv, &a, &id))
        return 1;
    if (do_create(c, &a, id, -1, 0, &started, &none, &err) < 0)
        return report(c, &err), 1;
    return 0;
}

static volatile sig_atomic_t pending_signal;

static void
on_signal(int sig)
{
    pending_signal = sig;
}

/* No SA_RESTART: the blocking read returns EINTR and the signal is
 * passed on to the container. */
static void
forward_signals(int on)
{
    static const int sigs[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on ? on_signal : SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

struct run_console {
    const struct cli *c;
    const char *id;
    int master;
};

/* A signal interrupted the terminal's copy loop: a window size change
 * goes to the pty, anything else to the container (as without one). */
static void
run_console_signal(void *arg)
{
    const struct run_console *rc = arg;
    int s = pending_signal;

    pending_signal = 0;
    if (s == SIGWINCH)
        rt_console_copy_size(0, rc->master);
    else if (s)
        rt_container_kill(&rc->c->ctx, rc->id, s, NULL);
}

static void
run_console(const struct cli *c, const char *id, int master_sock, int exit_fd)
{
    struct run_console rc = {c, id, -1};
    struct sk_err err;

    sk_err_init(&err);
    if (rt_console_recv(master_sock, &rc.master, &err) < 0) {
        report(c, &err);
        return;
    }
    rt_console_proxy(rc.master, 0, 1, exit_fd, run_console_signal, &rc);
    close(rc.master);
}

static int
cmd_run(const struct cli *c, int argc, char **argv)
{
    struct create_args a;
    struct sk_err err;
    const char *id = NULL;
    char line[64] = "";
    int p[2] = {-1, -1}, code = 1, sig = 0, oom = 0, removed = 0, msock = -1, started = 0;
    ssize_t n;

    sk_err_init(&err);
    if (parse_create(c, argc, argv, &a, &id))
        return 1;
    if (!a.detach && pipe2(p, O_CLOEXEC) < 0)
        return usage_error(c, "pipe: %s", strerror(errno));
    /* Created and started in one go unless start hooks need the split. */
    if (do_create(c, &a, id, p[1], 1, &started, &msock, &err) < 0 ||
        (!started && rt_container_start(&c->ctx, id, &err) < 0)) {
        report(c, &err);
        rt_container_delete(&c->ctx, id, 1, NULL);
        goto out;
    }
    if (a.detach) {
        code = 0;
        goto out;
    }
    close(p[1]);
    p[1] = -1;
    /* The monitor writes "code signal oom" when the container exits;
     * signals sent to us meanwhile are forwarded, as runc does. */
    forward_signals(1);
    if (msock >= 0)
        run_console(c, id, msock, p[0]);
    while ((n = read(p[0], line, sizeof(line) - 1)) < 0 && errno == EINTR) {
        int s = pending_signal;

        pending_signal = 0;
        if (s)
            rt_container_kill(&c->ctx, id, s, NULL);
    }
    forward_signals(0);
    if (pending_signal)
        rt_container_kill(&c->ctx, id, pending_signal, NULL);
    line[n > 0 ? n : 0] = '\0';
    if (n <= 0 || sscanf(line, "%d %d %d %d", &code, &sig, &oom, &removed) != 4) {
        struct rt_exit ex;

        code = rt_container_wait(&c->ctx, id, &ex, &err) < 0 ? (report(c, &err), 1) : ex.code;
    }
    /* The monitor removed it unless poststop hooks are left to delete. */
    if (!removed && rt_container_delete(&c->ctx, id, 1, &err) < 0)
        report(c, &err);
out:
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
    if (msock >= 0)
        close(msock);
    return code;
}

static int
one_id(const struct cli *c, int argc, char **argv, const char **id)
{
    if (argc != 2)
        return usage_error(c, "usage: %s ID", argv[0]);
    *id = argv[1];
    return 0;
}

static int
cmd_start(const struct cli *c, int argc, char **argv)
{
    struct sk_err err;
    const char *id = NULL;

    sk_err_init(&err);
    if (one_id(c, argc, argv, &id))
        return 1;
    if (rt_container_start(&c->ctx, id, &err) < 0)
        return report(c, &err), 1;
    return 0;
}

static int
cmd_state(const struct cli *c, int argc, char **argv)
{
    struct rt_state st;
    struct sk_err err;
    const char *id = NULL;
    char *json;

    sk_err_init(&err);
    if (one_id(c, argc, argv, &id))
        return 1;
    if (rt_container_state(&c->ctx, id, &st, &err) < 0)
        return report(c, &err), 1;
    json = rt_state_to_json(&st);
    printf("%s\n", json);
    free(json);
    rt_state_release(&st);
    return 0;
}

static int
cmd_stats(const struct cli *c, int argc, char **argv)
{
    struct rt_stats st;
    struct sk_err err;
    const char *id = NULL;

    sk_err_init(&err);
    if (one_id(c, argc, argv, &id))
        return 1;
    if (rt_container_stats(&c->ctx, id, &st, &err) < 0)
        return report(c, &err), 1;
    printf("{\"id\": \"%s\", \"cpuUsageNs\": %llu, \"memoryCurrent\": %llu, "
           "\"memoryPeak\": %llu, \"pidsCurrent\": %llu}\n",
           id, st.cpu_usage_ns, st.mem_current, st.mem_peak, st.pids_current);
    return 0;
}

static int
cmd_kill(const struct cli *c, int argc, char **argv)
{
    struct sk_err err;
    int sig = SIGTERM, all = 0, i = 1, rc;

    sk_err_init(&err);
    if (argc > 1 && (strcmp(argv[1], "--all") == 0 || strcmp(argv[1], "-a") == 0)) {
        all = 1;
        i++;
    }
    if (argc - i < 1 || argc - i > 2)
        return usage_error(c, "usage: %s [--all] ID [SIGNAL]", argv[0]);
    if (argc - i == 2 && (sig = rt_signal_parse(argv[i + 1])) < 0)
        return usage_error(c, "unknown signal '%s'", argv[i + 1]);
    if (all)
        rc = rt_container_kill_all(&c->ctx, argv[i], sig, &err);
    else
        rc = rt_container_kill(&c->ctx, argv[i], sig, &err);
    if (rc < 0)
        return report(c, &err), 1;
    return 0;
}

static int
cmd_pause(const struct cli *c, int argc, char **argv)
{
    struct sk_err err;
    const char *id = NULL;
    int rc;

    sk_err_init(&err);
    if (one_id(c, argc, argv, &id))
        return 1;
    if (strcmp(argv[0], "pause") == 0)
        rc = rt_container_pause(&c->ctx, id, &err);
    else
        rc = rt_container_resume(&c->ctx, id, &err);
    if (rc < 0)
        return report(c, &err), 1;
    return 0;
}

/* The command line of pid for `ps` (NULs shown as spaces). */
static void
print_cmdline(pid_t pid)
{
    char path[64], buf[512];
    ssize_t n = -1;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
    }
    if (n < 0)
        n = 0;
    while (n > 0 && buf[n - 1] == '\0')
        n--;
    for (ssize_t k = 0; k < n; k++)
        if (buf[k] == '\0')
            buf[k] = ' ';
    buf[n] = '\0';
    printf("%-8d %s\n", (int)pid, buf);
}

static int
cmd_ps(const struct cli *c, int argc, char **argv)
{
    struct sk_err err;
    const char *id = NULL;
    pid_t *pids;
    size_t n;
    int json = 0;

    sk_err_init(&err);
    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc &&
            (strcmp(argv[i + 1], "json") == 0 || strcmp(argv[i + 1], "table") == 0))
            json = strcmp(argv[++i], "json") == 0;
        else if (!id && argv[i][0] != '-')
            id = argv[i];
        else
            return usage_error(c, "usage: %s [--format table|json] ID", argv[0]);
    }
    if (!id)
        return usage_error(c, "usage: %s [--format table|json] ID", argv[0]);
    if (rt_container_pids(&c->ctx, id, &pids, &n, &err) < 0)
        return report(c, &err), 1;
    if (json) {
        printf("[");
        for (size_t i = 0; i < n; i++)
            printf("%s%d", i ? "," : "", (int)pids[i]);
        printf("]\n");
    } else {
        printf("%-8s %s\n", "PID", "CMD");
        for (size_t i = 0; i < n; i++)
            print_cmdline(pids[i]);
    }
    free(pids);
    return 0;
}

static int
cmd_delete(const struct cli *c, int argc, char **argv)
{
    struct sk_err err;
    int force = 0, rc;
    const char *id = NULL;

    sk_err_init(&err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)
            force = 1;
        else if (!id)
            id = argv[i];
        else
            return usage_error(c, "usage: %s [--force] ID", argv[0]);
    }
    if (!id)
        return usage_error(c, "usage: %s [--force] ID", argv[0]);
    rc = rt_container_delete(&c->ctx, id, force, &err);
    /* --force makes delete idempotent, as runc's. */
    if (rc == -ENOENT && force)
        return 0;
    if (rc < 0)
        return report(c, &err), 1;
    return 0;
}

static int
base_process(const struct cli *c, const char *id, struct rt_process *base, struct sk_err *err)
{
    char path[4200];
    struct rt_spec spec;

    if (rt_state_dir(&c->ctx, id, path, sizeof(path), err) < 0)
        return -1;
    strncat(path, "/config.json", sizeof(path) - strlen(path) - 1);
    if (access(path, F_OK) == 0) {
        if (rt_spec_load_config(path, &spec, err) < 0)
            return -1;
    } else {
        rt_spec_init_default(&spec);
    }
    *base = spec.process;
    memset(&spec.process, 0, sizeof(spec.process));
    rt_spec_release(&spec);
    return 0;
}

static void
add_env(struct rt_process *p, const char *kv)
{
    size_t n = strcspn(kv, "=");

    for (size_t i = 0; i < p->nenv; i++)
        if (strncmp(p->env[i], kv, n) == 0 && p->env[i][n] == '=') {
            free(p->env[i]);
            p->env[i] = sk_strdup(kv);
            return;
        }
    p->env = sk_reallocarray(p->env, p->nenv + 2, sizeof(char *));
    p->env[p->nenv++] = sk_strdup(kv);
    p->env[p->nenv] = NULL;
}

static int
exec_overrides(struct rt_process *p, int argc, char **argv, const char *cwd, const char *user)
{
    if (argc > 0) {
        for (size_t i = 0; i < p->nargs; i++)
            free(p->args[i]);
        free(p->args);
        p->args = sk_calloc((size_t)argc + 1, sizeof(char *));
        for (int i = 0; i < argc; i++)
            p->args[i] = sk_strdup(argv[i]);
        p->nargs = (size_t)argc;
    }
    if (cwd) {
        free(p->cwd);
        p->cwd = sk_strdup(cwd);
    }
    if (user) {
        char *end;

        p->uid = (uint32_t)strtoul(user, &end, 10);
        if (*end == ':')
            p->gid = (uint32_t)strtoul(end + 1, &end, 10);
        if (*end)
            return -1;
    }
    return 0;
}

static int
cmd_exec(const struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"process", required_argument, NULL, 'p'}, {"env", required_argument, NULL, 'e'},
        {"cwd", required_argument, NULL, 'w'},     {"user", required_argument, NULL, 'u'},
        {"tty", no_argument, NULL, 't'},           {"console-socket", required_argument, NULL, 'c'},
        {"detach", no_argument, NULL, 'd'},        {NULL, 0, NULL, 0}};
    const char *procfile = NULL, *cwd = NULL, *user = NULL, *id, *console = NULL;
    int tty = 0, console_fd = -1;
    struct rt_process base, proc;
    char *text = NULL, **envs = sk_calloc((size_t)argc + 1, sizeof(char *));
    size_t len = 0, nenvs = 0;
    struct sk_err err;
    int o, rc = 1;

    sk_err_init(&err);
    optind = 1;
    while ((o = getopt_long(argc, argv, "+p:e:w:u:td", opts, NULL)) != -1) {
        switch (o) {
        case 'p':
            procfile = optarg;
            break;
        case 'e':
            envs[nenvs++] = optarg;
            break;
        case 'w':
            cwd = optarg;
            break;
        case 'u':
            user = optarg;
            break;
        case 't':
            tty = 1;
            break;
        case 'c':
            console = optarg;
            break;
        case 'd':
            free(envs);
            return usage_error(c, "exec --detach: not supported");
        default:
            free(envs);
            return usage_error(c, "usage: %s [--process FILE] ID [CMD...]", argv[0]);
        }
    }
    if (optind >= argc || (!procfile && optind + 1 >= argc)) {
        free(envs);
        return usage_error(c, "usage: %s [--process FILE] ID CMD...", argv[0]);
    }
    id = argv[optind];
    if (base_process(c, id, &base, &err) < 0)
        goto out_report;
    if (procfile && rt_read_file(procfile, &text, &len, &err) < 0) {
        rt_process_release(&base);
        goto out_report;
    }
    rc = rt_process_parse(text, len, &base, &proc, &err);
    rt_process_release(&base);
    if (rc < 0) {
        sk_err_wrap(&err, "process '%s'", procfile);
        rc = 1;
        goto out_report;
    }
    /* The container's own terminal setting is not inherited: a process
     * file says so itself, or --tty. */
    if (!procfile)
        proc.terminal = 0;
    if (tty)
        proc.terminal = 1;
    for (size_t i = 0; i < nenvs; i++)
        add_env(&proc, envs[i]);
    if (exec_overrides(&proc, argc - optind - 1, argv + optind + 1, cwd, user) < 0) {
        rt_process_release(&proc);
        rc = usage_error(c, "--user '%s': want UID[:GID]", user);
        goto out;
    }
    if (console && !proc.terminal) {
        rt_process_release(&proc);
        rc = usage_error(c, "--console-socket: needs --tty");
        goto out;
    }
    if (console && rt_console_connect(console, &console_fd, &err) < 0) {
        rt_process_release(&proc);
        goto out_report;
    }
    rc = rt_container_exec_console(&c->ctx, id, &proc, console_fd, &err);
    rt_process_release(&proc);
    if (console_fd >= 0)
        close(console_fd);
    if (rc >= 0)
        goto out;
out_report:
    report(c, &err);
    rc = 1;
out:
    free(text);
    free(envs);
    return rc;
}

/* The name of uid from /etc/passwd, read with fgetpwent rather than
 * getpwuid: skiff-runtime is linked statically, where glibc's NSS would
 * load shared modules at run time. */
static const char *
owner_name(uid_t uid, char *buf, size_t bufsz)
{
    FILE *f = fopen("/etc/passwd", "re");
    struct passwd *pw;

    snprintf(buf, bufsz, "#%u", (unsigned)uid);
    if (!f)
        return buf;
    while ((pw = fgetpwent(f)))
        if (pw->pw_uid == uid) {
            sk_strlcpy(buf, pw->pw_name, bufsz);
            break;
        }
    fclose(f);
    return buf;
}

static int
cmd_list(const struct cli *c, int argc, char **argv)
{
    int quiet = 0, json = 0;
    struct sk_err err;
    json_t *arr = json_array();
    char **ids;
    size_t n;

    sk_err_init(&err);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-q") == 0 || strcmp(argv[i], "--quiet") == 0)
            quiet = 1;
        else if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc)
            json = strcmp(argv[++i], "json") == 0 ? 1 : strcmp(argv[i], "table") == 0 ? 0 : -1;
        else if (strcmp(argv[i], "--format=json") == 0)
            json = 1;
        else if (strcmp(argv[i], "--format=table") == 0)
            json = 0;
        else
            json = -1;
        if (json < 0) {
            json_decref(arr);
            return usage_error(c, "usage: %s [-q] [--format table|json]", argv[0]);
        }
    }
    if (rt_container_list(&c->ctx, &ids, &n, &err) < 0) {
        json_decref(arr);
        return report(c, &err), 1;
    }
    if (!quiet && !json)
        printf("%-20s %-8s %-10s %-40s %-32s %s\n", "ID", "PID", "STATUS", "BUNDLE", "CREATED",
               "OWNER");
    for (size_t i = 0; i < n; i++) {
        struct rt_state st;
        char ob[32];

        if (rt_container_state(&c->ctx, ids[i], &st, NULL) < 0) {
            free(ids[i]);
            continue;
        }
        if (quiet)
            printf("%s\n", ids[i]);
        else if (json) {
            char *s = rt_state_to_json(&st);

            json_array_append_new(arr, json_loads(s, 0, NULL));
            free(s);
        } else
            printf("%-20s %-8d %-10s %-40s %-32s %s\n", ids[i],
                   st.status == RT_STOPPED ? 0 : (int)st.pid, rt_status_name(st.status), st.bundle,
                   st.created, owner_name(st.owner, ob, sizeof(ob)));
        rt_state_release(&st);
        free(ids[i]);
    }
    free(ids);
    if (json && !quiet) {
        char *s = json_dumps(arr, JSON_INDENT(2));

        printf("%s\n", s);
        free(s);
    }
    json_decref(arr);
    return 0;
}

static int
cmd_spec(const struct cli *c, int argc, char **argv)
{
    const char *bundle = ".";
    char path[4200], *text;
    int fd, rc = 0;

    for (int i = 1; i < argc; i++) {
        if ((strcmp(argv[i], "--bundle") == 0 || strcmp(argv[i], "-b") == 0) && i + 1 < argc)
            bundle = argv[++i];
        else
            return usage_error(c, "usage: %s [--bundle DIR]", argv[0]);
    }
    snprintf(path, sizeof(path), "%s/config.json", bundle);
    fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        dprintf(c->err_fd, "skiff-runtime: spec: create '%s': %s\n", path, strerror(errno));
        return 1;
    }
    text = rt_spec_default_json();
    if (rt_write_all(fd, text, strlen(text)) < 0) {
        dprintf(c->err_fd, "skiff-runtime: spec: write '%s': %s\n", path, strerror(errno));
        rc = 1;
    }
    free(text);
    close(fd);
    return rc;
}

static bool
is_regular_file(const char *path)
{
    struct stat st;

    return path && path[0] == '/' && stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* The on-disk runtime binary: SKIFF_RUNTIME_EXE once re-executed from
 * a read-only view (selfexe.c), else /proc/self/exe. */
static bool
disk_exe(char *buf, size_t bufsz)
{
    const char *exe = getenv("SKIFF_RUNTIME_EXE");
    ssize_t n;

    if (is_regular_file(exe))
        return sk_strlcpy(buf, exe, bufsz) == 0;
    n = readlink("/proc/self/exe", buf, bufsz - 1);
    if (n <= 0 || (size_t)n >= bufsz - 1)
        return false;
    buf[n] = '\0';
    return is_regular_file(buf);
}

/* NAME in the directory of the on-disk runtime binary, if it is there. */
static bool
sibling_exe(const char *name, char *buf, size_t bufsz)
{
    char exe[4096];
    const char *slash;

    if (!disk_exe(exe, sizeof(exe)))
        return false;
    slash = strrchr(exe, '/');
    return snprintf(buf, bufsz, "%.*s/%s", (int)(slash - exe), exe, name) < (int)bufsz &&
           is_regular_file(buf);
}

/* image import|list|rm|gc|inspect: a program of its own, skiff-image
 * next to the on-disk runtime binary (git-style), so that skiff-runtime
 * does not link libarchive, libcrypto and what they pull in (libxml2,
 * libicu's C++ runtime...): every container start would pay their
 * loading and static initialisers. */
static int
cmd_image(const struct cli *c, int argc, char **argv)
{
    char path[4096];

    if (!sibling_exe("skiff-image", path, sizeof(path)))
        return usage_error(c, "image: no skiff-image next to the skiff-runtime binary");
    argv[0] = (char *)"skiff-image";
    execv(path, argv);
    return usage_error(c, "image: exec '%s': %s", path, strerror(errno));
}

static const struct verb {
    const char *name;
    int (*fn)(const struct cli *c, int argc, char **argv);
    int enters; /* enters a container: run from a read-only view (CVE-2019-5736) */
} verbs[] = {
    {"create", cmd_create, 1}, {"run", cmd_run, 1},      {"exec", cmd_exec, 1},
    {"start", cmd_start, 0},   {"state", cmd_state, 0},  {"kill", cmd_kill, 0},
    {"delete", cmd_delete, 0}, {"list", cmd_list, 0},    {"ps", cmd_ps, 0},
    {"pause", cmd_pause, 0},   {"resume", cmd_pause, 0}, {"spec", cmd_spec, 0},
    {"stats", cmd_stats, 0},   {"image", cmd_image, 0},
};

/* The program a container's monitor runs from: skiff-monitor next to the
 * on-disk runtime binary (it maps only libc and libjansson, keeping each
 * monitor small), else the runtime binary itself (verb "_monitor").
 * NULL when neither is known: the library then forks without exec. */
static const char *
monitor_exe(char *buf, size_t bufsz)
{
    const char *exe = getenv("SKIFF_RUNTIME_EXE");

    if (!is_regular_file(exe))
        return NULL;
    if (sibling_exe("skiff-monitor", buf, bufsz))
        return buf;
    return exe;
}

static int
usage(int fd)
{
    dprintf(
        fd,
        "usage: skiff-runtime [--root DIR] [--log FILE] [--log-format text|json] [--debug]\n"
        "                     [--cgroup-root NAME] VERB ...\n"
        "verbs: create start state kill delete run exec list ps pause resume spec stats image\n");
    return 1;
}

static int
set_log(struct cli *c, const char *file)
{
    int fd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);

    if (fd < 0) {
        dprintf(2, "skiff-runtime: --log '%s': %s\n", file, strerror(errno));
        return -1;
    }
    c->err_fd = fcntl(2, F_DUPFD_CLOEXEC, 3);
    dup2(fd, 2);
    close(fd);
    return 0;
}

int
rt_cli_main(int argc, char **argv, char **envp)
{
    static const struct option opts[] = {{"root", required_argument, NULL, 'r'},
                                         {"log", required_argument, NULL, 'l'},
                                         {"log-format", required_argument, NULL, 'f'},
                                         {"debug", no_argument, NULL, 'd'},
                                         {"systemd-cgroup", no_argument, NULL, 's'},
                                         {"cgroup-root", required_argument, NULL, 'c'},
                                         {"version", no_argument, NULL, 'v'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    struct cli c = {{RT_DEFAULT_ROOT, RT_DEFAULT_CGROUP_ROOT, NULL}, 2};
    char monitor_path[4096];
    enum sk_log_format fmt;
    struct sk_err err;
    int o;

    sk_err_init(&err);
    if (argc == 9 && strcmp(argv[1], "_monitor") == 0)
        return rt_monitor_exec_main(argc - 1, argv + 1);
    c.ctx.monitor_exe = monitor_exe(monitor_path, sizeof(monitor_path));
    if (getenv("SKIFF_RUNTIME_CGROUP_ROOT"))
        c.ctx.cgroup_root = getenv("SKIFF_RUNTIME_CGROUP_ROOT");
    sk_log_set_level(SK_LOG_WARN);
    while ((o = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
        switch (o) {
        case 'r':
            c.ctx.root = optarg;
            break;
        case 'l':
            if (set_log(&c, optarg) < 0)
                return 1;
            break;
        case 'f':
            if (sk_log_format_parse(optarg, &fmt) < 0)
                return usage_error(&c, "--log-format '%s': want text or json", optarg);
            sk_log_set_format(fmt);
            break;
        case 'd':
            sk_log_set_level(SK_LOG_DEBUG);
            break;
        case 's':
            return usage_error(&c, "--systemd-cgroup: not supported");
        case 'c':
            c.ctx.cgroup_root = optarg;
            break;
        case 'v':
            printf("skiff-runtime %s\nspec: 1.0.2\n", SKIFF_VERSION);
            return 0;
        case 'h':
            usage(1);
            return 0;
        default:
            return usage(c.err_fd);
        }
    }
    if (optind >= argc)
        return usage(c.err_fd);
    if (strcmp(argv[optind], "version") == 0) {
        printf("skiff-runtime %s\nspec: 1.0.2\n", SKIFF_VERSION);
        return 0;
    }
    if (!*c.ctx.cgroup_root || strstr(c.ctx.cgroup_root, ".."))
        return usage_error(&c, "--cgroup-root '%s': must be a relative name", c.ctx.cgroup_root);
    for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++) {
        if (strcmp(verbs[i].name, argv[optind]) != 0 || !verbs[i].fn)
            continue;
        if (verbs[i].enters && rt_selfexe_protect(argv, envp, &err) < 0)
            return report(&c, &err), 1;
        return verbs[i].fn(&c, argc - optind, argv + optind);
    }
    return usage_error(&c, "unknown verb '%s'", argv[optind]);
}
