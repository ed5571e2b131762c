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
 * The agent's endpoint (endpoint.c) answers `logs` from these files;
 * the helpers here find the pod, the container and the text. */
#include "kubelet/agent_int.h"

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
    return kl_cri_log_lines_ts(text, len, tail, false, out);
}

size_t
kl_cri_log_lines_ts(const char *text, size_t len, int64_t tail, bool timestamps, struct sk_buf *out)
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

        if (t && timestamps && !pending) /* the time of a line's first record */
            sk_buf_append(&all, p, (size_t)((const char *)memchr(p, ' ', ll) - p + 1));
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

int
kl_log_read(const char *path, off_t from, struct sk_buf *out, off_t *end, struct sk_err *err)
{
    struct stat st;
    int fd, rc = 0;
    off_t off = from < 0 ? 0 : from, first = off;
    ssize_t r;
    char buf[65536];

    *end = off;
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return sk_err_sys(err, errno, "open '%s'", path);
    if (fstat(fd, &st) == 0 && from < 0 && st.st_size > (off_t)LOG_READ_MAX)
        first = off = st.st_size - (off_t)LOG_READ_MAX;
    while (off - first < (off_t)LOG_READ_MAX && (r = pread(fd, buf, sizeof(buf), off)) != 0) {
        if (r < 0) {
            rc = sk_err_sys(err, errno, "read '%s'", path);
            break;
        }
        sk_buf_append(out, buf, (size_t)r);
        off += r;
    }
    close(fd);
    *end = off;
    if (rc == 0 && from < 0 && first > 0) { /* the first line is cut: drop it */
        const char *nl = out->len ? memchr(out->data, '\n', out->len) : NULL;
        sk_buf_consume(out, nl ? (size_t)(nl - out->data) + 1 : out->len);
    }
    return rc;
}

struct kl_apod *
kl_agent_pod_by_name(struct kl_agent *a, const char *ns, const char *name)
{
    for (size_t i = 0; i < a->npods; i++) {
        if (!a->pods[i]->done && strcmp(a->pods[i]->ns, ns) == 0 &&
            strcmp(a->pods[i]->name, name) == 0)
            return a->pods[i];
    }
    return NULL;
}

/* The container asked for: by name, or the only app container; NULL
 * with Kubernetes's message in msg. */
struct kl_actr *
kl_pod_pick_ctr(struct kl_apod *p, const char *name, char *msg, size_t msgsz)
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
        sk_snprintf(msg, msgsz, "container %s is not valid for pod %s", name ? name : "", p->name);
    else if (!name && napp > 1)
        sk_snprintf(msg, msgsz,
                    "a container name must be specified for pod %s, choose one of: [%s]", p->name,
                    names.data);
    sk_buf_release(&names);
    return found && (name || napp == 1) ? found : NULL;
}
