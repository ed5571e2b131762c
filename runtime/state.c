/* The runtime state directory.
 *
 * Layout (root = --root, default /run/skiff-runtime, mode 0700):
 *
 *   <root>/<id>/              one directory per container (mode 0700)
 *   <root>/<id>/state.json    written once by the monitor when the
 *                             container is created (tmp file written
 *                             while the init sets up, renamed once it
 *                             is ready):
 *     { "ociVersion": "1.0.2", "id": ID, "pid": N, "bundle": DIR,
 *       "rootfs": DIR, "created": RFC3339Nano, "owner": UID,
 *       "annotations": {..},
 *       "skiff": { "pidStartTime": N,   (field 22 of /proc/PID/stat)
 *                  "monitorPid": N,
 *                  "hooks": true,   (only when config.json has
 *                                    poststart or poststop hooks)
 *                  "cgroups": { "memory": {"path": P, "v2": B}, ... } } }
 *   <root>/<id>/config.json   copy of the bundle's config (exec uses it)
 *   <root>/<id>/exec.fifo     exists until `start`: the container's init
 *                             blocks opening it until start reads it
 *                             (none when created and started at once)
 *   <root>/<id>/exit.json     written by the monitor when the init exited
 *                             (tmp file + rename):
 *     { "exitCode": N, "signal": N, "oomKilled": B, "finished": TS }
 *
 * Nothing is fsynced: the state lives on tmpfs (/run) and describes
 * processes that do not survive a reboot anyway. The status is never
 * stored but derived: no state.json -> creating; exit.json -> stopped;
 * the pid alive with the recorded start time (so a reused pid is not
 * mistaken for the container) -> created while exec.fifo exists, else
 * running; otherwise stopped. */
#include "runtime/rt_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
rt_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

int
rt_read_file(const char *path, char **out, size_t *len, struct sk_err *err)
{
    struct sk_buf b = SK_BUF_INIT;
    char chunk[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        sk_buf_append(&b, chunk, (size_t)n);
    close(fd);
    if (n < 0) {
        sk_buf_release(&b);
        return sk_err_sys(err, errno, "read '%s'", path);
    }
    sk_buf_grow(&b, 1);
    *out = sk_buf_detach(&b, len);
    return 0;
}

int
rt_id_valid(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 100 || strcmp(id, ".") == 0 || strcmp(id, "..") == 0)
        return 0;
    return strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-+") == n;
}

int
rt_state_dir(const struct rt_ctx *ctx, const char *id, char *out, size_t outsz, struct sk_err *err)
{
    if (!rt_id_valid(id))
        return sk_err_set(err, EINVAL, "container id '%s': invalid (letters, digits, _.-+)", id);
    if (sk_snprintf(out, outsz, "%s/%s", ctx->root, id) < 0)
        return sk_err_set(err, ENAMETOOLONG, "state dir '%s': too long", ctx->root);
    return 0;
}

void
rt_time_rfc3339(char *out, size_t outsz, const struct timespec *ts)
{
    struct tm tm;
    size_t n;

    gmtime_r(&ts->tv_sec, &tm);
    n = strftime(out, outsz, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, outsz - n, ".%09ldZ", ts->tv_nsec);
}

unsigned long long
rt_proc_start_time(pid_t pid)
{
    char path[64], buf[1024], *p;
    unsigned long long start = 0;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    /* comm may contain spaces and parens: fields restart after the last ')' */
    p = strrchr(buf, ')');
    if (!p || p[2] == 'Z' || p[2] == 'X')
        return 0; /* a zombie is as good as gone */
    if (sscanf(p + 2,
               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
               &start) != 1)
        return 0;
    return start;
}

static void
state_paths(const char *dir, const char *name, char *tmp, char *path, size_t sz)
{
    snprintf(tmp, sz, "%s/.%s.tmp", dir, name);
    snprintf(path, sz, "%s/%s", dir, name);
}

static int
write_tmp(const char *tmp, const char *text)
{
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600), rc;

    if (fd < 0)
        return -errno;
    rc = rt_write_all(fd, text, strlen(text));
    close(fd);
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int
commit_tmp(const char *tmp, const char *path)
{
    int e;

    if (rename(tmp, path) == 0)
        return 0;
    e = errno; /* before unlink() overwrites it */
    unlink(tmp);
    return -e;
}

static int
write_atomic(const char *dir, const char *name, const char *text)
{
    char tmp[4200], path[4200];
    int rc;

    state_paths(dir, name, tmp, path, sizeof(tmp));
    rc = write_tmp(tmp, text);
    return rc < 0 ? rc : commit_tmp(tmp, path);
}

static char *
state_text(const struct rt_state *st)
{
    json_t *o = json_object(), *sk = json_object(), *ann = json_object();
    char *text;

    json_object_set_new(o, "ociVersion", json_string("1.0.2"));
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "pid", json_integer(st->pid));
    json_object_set_new(o, "bundle", json_string(st->bundle));
    json_object_set_new(o, "rootfs", json_string(st->rootfs));
    json_object_set_new(o, "created", json_string(st->created));
    json_object_set_new(o, "owner", json_integer(st->owner));
    for (size_t i = 0; i < st->nannotations; i++)
        json_object_set_new(ann, st->annotations[i].key, json_string(st->annotations[i].value));
    json_object_set_new(o, "annotations", ann);
    json_object_set_new(sk, "pidStartTime", json_integer((json_int_t)st->pid_start));
    json_object_set_new(sk, "monitorPid", json_integer(st->monitor_pid));
    if (st->hooks)
        json_object_set_new(sk, "hooks", json_true());
    json_object_set_new(sk, "cgroups",
                        json_loads(st->cgroup_paths ? st->cgroup_paths : "{}", 0, NULL));
    json_object_set_new(o, "skiff", sk);
    text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text)
        SK_BUG("out of memory");
    return text;
}

int
rt_state_stage(const char *dir, const struct rt_state *st, struct sk_err *err)
{
    char tmp[4200], path[4200], *text = state_text(st);
    int rc;

    state_paths(dir, "state.json", tmp, path, sizeof(tmp));
    rc = write_tmp(tmp, text);
    free(text);
    if (rc < 0)
        return sk_err_sys(err, -rc, "write '%s'", tmp);
    return 0;
}

int
rt_state_commit(const char *dir, struct sk_err *err)
{
    char tmp[4200], path[4200];
    int rc;

    state_paths(dir, "state.json", tmp, path, sizeof(tmp));
    if ((rc = commit_tmp(tmp, path)) < 0)
        return sk_err_sys(err, -rc, "write '%s'", path);
    return 0;
}

static void
copy_str(char *dst, size_t dstsz, json_t *v)
{
    sk_strlcpy(dst, json_is_string(v) ? json_string_value(v) : "", dstsz);
}

int
rt_state_read(const char *dir, struct rt_state *st, struct sk_err *err)
{
    char path[4200];
    json_error_t jerr;
    json_t *o, *sk, *ann, *v;
    const char *key;

    snprintf(path, sizeof(path), "%s/state.json", dir);
    o = json_load_file(path, 0, &jerr);
    if (!o)
        return errno == ENOENT ? -ENOENT : sk_err_set(err, EIO, "state '%s': %s", path, jerr.text);
    copy_str(st->id, sizeof(st->id), json_object_get(o, "id"));
    copy_str(st->bundle, sizeof(st->bundle), json_object_get(o, "bundle"));
    copy_str(st->rootfs, sizeof(st->rootfs), json_object_get(o, "rootfs"));
    copy_str(st->created, sizeof(st->created), json_object_get(o, "created"));
    st->pid = (pid_t)json_integer_value(json_object_get(o, "pid"));
    st->owner = (uid_t)json_integer_value(json_object_get(o, "owner"));
    sk = json_object_get(o, "skiff");
    st->pid_start = (unsigned long long)json_integer_value(json_object_get(sk, "pidStartTime"));
    st->monitor_pid = (pid_t)json_integer_value(json_object_get(sk, "monitorPid"));
    st->hooks = json_is_true(json_object_get(sk, "hooks"));
    st->cgroup_paths = json_dumps(json_object_get(sk, "cgroups"), JSON_COMPACT | JSON_ENCODE_ANY);
    ann = json_object_get(o, "annotations");
    st->annotations = sk_calloc(json_object_size(ann) + 1, sizeof(struct rt_kv));
    json_object_foreach (ann, key, v) {
        st->annotations[st->nannotations].key = sk_strdup(key);
        st->annotations[st->nannotations++].value =
            sk_strdup(json_is_string(v) ? json_string_value(v) : "");
    }
    json_decref(o);
    return 0;
}

void
rt_state_release(struct rt_state *st)
{
    for (size_t i = 0; i < st->nannotations; i++) {
        free(st->annotations[i].key);
        free(st->annotations[i].value);
    }
    free(st->annotations);
    free(st->cgroup_paths);
    st->annotations = NULL;
    st->nannotations = 0;
    st->cgroup_paths = NULL;
}

/* Written by the monitor: plain snprintf, no allocation, so the monitor
 * stays small. */
int
rt_exit_write(const char *dir, const struct rt_exit *ex)
{
    char text[256];

    snprintf(text, sizeof(text),
             "{\"exitCode\": %d, \"signal\": %d, \"oomKilled\": %s, \"finished\": \"%s\"}\n",
             ex->code, ex->signal, ex->oom_killed ? "true" : "false", ex->finished);
    return write_atomic(dir, "exit.json", text);
}

int
rt_exit_read(const char *dir, struct rt_exit *ex)
{
    char path[4200];
    json_t *o;

    snprintf(path, sizeof(path), "%s/exit.json", dir);
    o = json_load_file(path, 0, NULL);
    memset(ex, 0, sizeof(*ex));
    if (!o)
        return -ENOENT;
    ex->exited = 1;
    ex->code = (int)json_integer_value(json_object_get(o, "exitCode"));
    ex->signal = (int)json_integer_value(json_object_get(o, "signal"));
    ex->oom_killed = json_is_true(json_object_get(o, "oomKilled"));
    copy_str(ex->finished, sizeof(ex->finished), json_object_get(o, "finished"));
    json_decref(o);
    return 0;
}

int
rt_rmtree(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;

    if (!d)
        return errno == ENOENT ? 0 : -errno;
    while ((e = readdir(d))) {
        char sub[4200];

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        snprintf(sub, sizeof(sub), "%s/%s", path, e->d_name);
        if (e->d_type == DT_DIR)
            rc = rt_rmtree(sub);
        else if (unlink(sub) < 0 && errno != ENOENT)
            rc = -errno;
    }
    closedir(d);
    if (rmdir(path) < 0 && errno != ENOENT)
        rc = -errno;
    return rc;
}

const char *
rt_status_name(enum rt_status status)
{
    static const char *const names[] = {"creating", "created", "running", "stopped", "paused"};

    return status <= RT_PAUSED ? names[status] : "unknown";
}

char *
rt_state_to_json(const struct rt_state *st)
{
    json_t *o = json_object(), *ann = json_object();
    char *text;

    json_object_set_new(o, "ociVersion", json_string("1.0.2"));
    json_object_set_new(o, "id", json_string(st->id));
    json_object_set_new(o, "status", json_string(rt_status_name(st->status)));
    json_object_set_new(o, "pid", json_integer(st->status == RT_STOPPED ? 0 : st->pid));
    json_object_set_new(o, "bundle", json_string(st->bundle));
    json_object_set_new(o, "rootfs", json_string(st->rootfs));
    json_object_set_new(o, "created", json_string(st->created));
    json_object_set_new(o, "owner", json_integer(st->owner));
    for (size_t i = 0; i < st->nannotations; i++)
        json_object_set_new(ann, st->annotations[i].key, json_string(st->annotations[i].value));
    json_object_set_new(o, "annotations", ann);
    if (st->exit.exited) {
        json_object_set_new(o, "exitCode", json_integer(st->exit.code));
        json_object_set_new(o, "exitSignal", json_integer(st->exit.signal));
        json_object_set_new(o, "oomKilled", json_boolean(st->exit.oom_killed));
        json_object_set_new(o, "finished", json_string(st->exit.finished));
    }
    text = json_dumps(o, JSON_INDENT(2));
    json_decref(o);
    if (!text)
        SK_BUG("out of memory");
    return text;
}
