/* kubelet/logs.c: container logs.
 *
 * The runtime writes each run's stdout and stderr to
 * <pod dir>/logs/<container>/<attempt>.log in the CRI format, one record
 * a line:
 *
 *     <RFC 3339 time> <stdout|stderr> <F|P> <text>
 *
 * where P marks a line the runtime cut at its buffer size (the text
 * continues in the next record) and F a full line.
 *
 * The `logs` verb: when the agent runs inside the API server (skiffd
 * server --agent), it takes over the server's `logs NS POD [container=C]
 * [previous] [tail=N]` and answers for the pods of its own node from
 * these files: `ok N` and one body line per log line. Pods of other
 * nodes, `follow` and `exec` still get 501 (no relay to remote agents
 * yet). */
#include "kubelet/agent_int.h"

#include "api/server.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LOG_READ_MAX (8u << 20) /* the newest 8 MiB of a log at most */

/* The text of one CRI record, or NULL when malformed; *partial for P. */
static const char *
record_text(const char *line, size_t len, size_t *tlen, bool *partial)
{
    const char *p = line, *end = line + len;
    int field;

    for (field = 0; field < 3; field++) {
        const char *sp = memchr(p, ' ', (size_t)(end - p));
        if (!sp) {
            if (field == 2 && end - p == 1) { /* "F" with empty text, no space */
                *partial = *p == 'P';
                *tlen = 0;
                return end;
            }
            return NULL;
        }
        if (field == 2) {
            if (sp - p != 1 || (*p != 'F' && *p != 'P'))
                return NULL;
            *partial = *p == 'P';
        }
        p = sp + 1;
    }
    *tlen = (size_t)(end - p);
    return p;
}

size_t
kl_cri_log_lines(const char *text, size_t len, int64_t tail, struct sk_buf *out)
{
    struct sk_buf all = SK_BUF_INIT;
    size_t n = 0, start = 0, skip = 0, i;
    const char *p = text, *end = text + len;
    bool pending = false;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p), tlen;
        bool partial = false;
        const char *t = record_text(p, ll, &tlen, &partial);

        p = nl ? nl + 1 : end;
        if (!t)
            continue; /* a torn or foreign line: skipped, never shown half */
        sk_buf_append(&all, t, tlen);
        pending = partial;
        if (!partial) {
            sk_buf_putc(&all, '\n');
            n++;
        }
    }
    if (pending) {
        sk_buf_putc(&all, '\n');
        n++;
    }
    if (tail >= 0 && (uint64_t)tail < n)
        skip = n - (size_t)tail;
    for (i = 0; i < skip; i++)
        start =
            (size_t)((const char *)memchr(all.data + start, '\n', all.len - start) - all.data) + 1;
    if (all.len > start)
        sk_buf_append(out, all.data + start, all.len - start);
    sk_buf_release(&all);
    return n - skip;
}

static int
read_tail(const char *path, struct sk_buf *out, struct sk_err *err)
{
    struct stat st;
    int fd, rc = 0;
    off_t off = 0;
    ssize_t r;
    char buf[65536];

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    if (fstat(fd, &st) == 0 && st.st_size > (off_t)LOG_READ_MAX)
        off = st.st_size - (off_t)LOG_READ_MAX;
    if (off && lseek(fd, off, SEEK_SET) < 0)
        rc = sk_err_sys(err, errno, "seek '%s'", path);
    while (rc == 0 && (r = read(fd, buf, sizeof(buf))) != 0) {
        if (r < 0) {
            rc = sk_err_sys(err, errno, "read '%s'", path);
            break;
        }
        sk_buf_append(out, buf, (size_t)r);
    }
    close(fd);
    if (rc == 0 && off) { /* the first line is cut: drop it */
        const char *nl = out->len ? memchr(out->data, '\n', out->len) : NULL;
        sk_buf_consume(out, nl ? (size_t)(nl - out->data) + 1 : out->len);
    }
    return rc;
}

static struct kl_apod *
pod_by_name(struct kl_agent *a, const char *ns, const char *name)
{
    for (size_t i = 0; i < a->npods; i++) {
        if (!a->pods[i]->done && strcmp(a->pods[i]->ns, ns) == 0 &&
            strcmp(a->pods[i]->name, name) == 0)
            return a->pods[i];
    }
    return NULL;
}

/* The container asked for: by name, or the only app container. */
static struct kl_actr *
pick_ctr(struct api_req *req, struct kl_apod *p, const char *name)
{
    struct sk_buf names = SK_BUF_INIT;
    struct kl_actr *found = NULL;
    size_t napp = 0;

    for (size_t i = 0; i < p->nctrs; i++) {
        if (name ? strcmp(p->ctrs[i].name, name) == 0 : !p->ctrs[i].init) {
            found = &p->ctrs[i];
            napp++;
        }
        if (!p->ctrs[i].init)
            sk_buf_printf(&names, "%s%s", names.len ? " " : "", p->ctrs[i].name);
    }
    if (!found)
        api_req_error(req, 400, "BadRequest", "container %s is not valid for pod %s", name,
                      p->name);
    else if (!name && napp > 1)
        api_req_error(req, 400, "BadRequest",
                      "a container name must be specified for pod %s, choose one of: [%s]", p->name,
                      names.data);
    sk_buf_release(&names);
    return found && (name || napp == 1) ? found : NULL;
}

static void
verb_logs(struct api_req *req, char *args, void *arg)
{
    struct kl_agent *a = arg;
    char *argv[8], path[PATH_MAX + 200], *end;
    const char *ctr = NULL;
    struct sk_buf raw = SK_BUF_INIT, body = SK_BUF_INIT;
    bool previous = false;
    int64_t tail = -1;
    struct kl_apod *p;
    struct kl_actr *c;
    struct sk_err err;
    int argc = api_args_split(args, argv, 8), attempt;
    size_t n;

    if (argc < 2) {
        api_req_error(req, 400, "BadRequest",
                      "usage: logs NS POD [container=C] [previous] [tail=N]");
        return;
    }
    for (int i = 2; i < argc; i++) {
        if (strncmp(argv[i], "container=", 10) == 0)
            ctr = argv[i] + 10;
        else if (strcmp(argv[i], "previous") == 0)
            previous = true;
        else if (strncmp(argv[i], "tail=", 5) == 0) {
            tail = strtoll(argv[i] + 5, &end, 10);
            if (end == argv[i] + 5 || *end || tail < 0) {
                api_req_error(req, 400, "BadRequest", "tail: '%s' is not a count", argv[i] + 5);
                return;
            }
        } else if (strcmp(argv[i], "follow") == 0) {
            api_req_error(req, 501, "NotImplemented", "logs: follow is not supported yet");
            return;
        } else {
            api_req_error(req, 400, "BadRequest", "logs: unknown option '%s'", argv[i]);
            return;
        }
    }
    if (!(p = pod_by_name(a, argv[0], argv[1]))) {
        api_req_error(req, 501, "NotImplemented",
                      "logs of pods on other nodes are relayed to their agent: not available "
                      "yet (pod \"%s\" is not on node \"%s\")",
                      argv[1], a->node_name);
        return;
    }
    if (!(c = pick_ctr(req, p, ctr)))
        return;
    attempt = previous ? c->attempt - 1 : c->attempt;
    if (attempt < 1 && previous) {
        api_req_error(req, 400, "BadRequest",
                      "previous terminated container \"%s\" in pod \"%s\" not found", c->name,
                      p->name);
        return;
    }
    if (attempt < 1) {
        api_req_error(req, 400, "BadRequest", "container \"%s\" in pod \"%s\" is waiting to start",
                      c->name, p->name);
        return;
    }
    sk_snprintf(path, sizeof(path), "%s/logs/%s/%d.log", p->dir, c->name, attempt);
    sk_err_init(&err);
    if (read_tail(path, &raw, &err) < 0 && err.code != ENOENT) {
        api_req_error(req, 500, "InternalError", "%s", err.msg);
    } else {
        n = kl_cri_log_lines(raw.data ? raw.data : "", raw.len, tail, &body);
        api_req_ok(req, n, body.data, "container=%s", c->name);
    }
    sk_buf_release(&raw);
    sk_buf_release(&body);
}

void
kl_agent_serve_logs(struct kl_agent *a, struct api_server *srv)
{
    api_server_handle(srv, "logs", verb_logs, a, false);
}
