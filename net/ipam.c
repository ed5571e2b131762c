/* net/ipam.c: pod address allocation from one node's podCIDR.
 *
 * The allocation file (e.g. /var/lib/skiff/net/ipam) is text, one
 * record per line, every line ended by '\n':
 *
 *     skiff-ipam 1                  format name and version
 *     pool 10.244.1.0/24            the podCIDR the file belongs to
 *     last 10.244.1.7               the address handed out last
 *     10.244.1.2 <owner>            one line per allocation,
 *     10.244.1.7 <owner>            sorted by address
 *
 * <owner> is the pod sandbox id: 1-253 bytes of [A-Za-z0-9._:/-].
 * Validity rules: the three header lines come first, in this order; the
 * pool equals the allocator's; every address lies inside the pool and
 * is neither the network, the gateway (first host) nor the broadcast
 * address; no address and no owner appears twice; the file ends with a
 * newline. A file breaking any rule is refused with its name and line:
 * guessing could hand one address to two pods.
 *
 * Updates: under an exclusive flock(2) on "<file>.lock" (the file
 * itself is replaced, so it cannot carry the lock), the new contents go
 * to "<file>.tmp", which is fsync'ed and renamed over the file, and
 * then the directory is fsync'ed, so after a crash the file holds
 * either the old or the new state, never a mix. The lock is taken
 * around every read-modify-write, so agents sharing a file (tests,
 * a restarted agent racing its predecessor) never lose an update. */
#include "net/net.h"

#include "lib/alloc.h"
#include "lib/buf.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define IPAM_MAGIC     "skiff-ipam 1"
#define IPAM_OWNER_MAX 253

struct ipam_state {
    struct net_ip last; /* family 0: nothing handed out yet */
    struct ipam_entry *v;
    size_t n, cap;
    bool dirty; /* must be written back */
};

static void
state_release(struct ipam_state *st)
{
    ipam_entries_free(st->v, st->n);
    memset(st, 0, sizeof(*st));
}

void
ipam_entries_free(struct ipam_entry *e, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        free(e[i].owner);
    free(e);
}

static int
check_owner(const char *owner, struct sk_err *err)
{
    size_t i, len = strlen(owner);

    if (len == 0 || len > IPAM_OWNER_MAX)
        return sk_err_set(err, EINVAL, "bad owner id '%.64s': must be 1-%d bytes", owner,
                          IPAM_OWNER_MAX);
    for (i = 0; i < len; i++) {
        char c = owner[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              strchr("._:/-", c)))
            return sk_err_set(err, EINVAL, "bad owner id '%.64s': only [A-Za-z0-9._:/-] allowed",
                              owner);
    }
    return 0;
}

int
ipam_init(struct ipam *ipam, const char *path, const struct net_cidr *pool, struct sk_err *err)
{
    char show[NET_CIDR_STRLEN];

    memset(ipam, 0, sizeof(*ipam));
    net_cidr_format(pool, show, sizeof(show));
    if (pool->ip.family != AF_INET)
        return sk_err_set(err, EAFNOSUPPORT, "pod cidr %s: only IPv4 pools are supported", show);
    if (pool->prefix < 16 || pool->prefix > 30)
        return sk_err_set(err, EINVAL, "pod cidr %s: prefix must be between /16 and /30", show);
    ipam->pool = net_cidr_network(pool);
    ipam->path = sk_strdup(path);
    ipam->lock_path = sk_asprintf("%s.lock", path);
    return 0;
}

void
ipam_release(struct ipam *ipam)
{
    free(ipam->path);
    free(ipam->lock_path);
    memset(ipam, 0, sizeof(*ipam));
}

struct net_ip
ipam_gateway(const struct ipam *ipam)
{
    struct net_ip gw;

    net_cidr_host(&ipam->pool, 1, &gw, NULL);
    return gw;
}

static uint64_t
pool_size(const struct ipam *ipam)
{
    return (uint64_t)1 << (32 - ipam->pool.prefix);
}

/* Offsets 0 (network), 1 (gateway) and size-1 (broadcast) are never
 * handed out. */
static bool
offset_usable(const struct ipam *ipam, uint64_t off)
{
    return off >= 2 && off < pool_size(ipam) - 1;
}

/* ---- reading ---- */

static int line_error(const struct ipam *ipam, unsigned line, struct sk_err *err, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static int
line_error(const struct ipam *ipam, unsigned line, struct sk_err *err, const char *fmt, ...)
{
    char msg[160];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return sk_err_set(err, EBADMSG, "ipam file '%s': line %u: %s", ipam->path, line, msg);
}

static int
parse_entry(const struct ipam *ipam, struct ipam_state *st, char *line, unsigned lineno,
            struct sk_err *err)
{
    char *sp = strchr(line, ' ');
    struct ipam_entry *e;
    struct net_ip ip;
    size_t i;

    if (!sp)
        return line_error(ipam, lineno, err, "expected '<address> <owner>', got '%.64s'", line);
    *sp = '\0';
    if (net_ip_parse(line, &ip, NULL) < 0 || !net_cidr_contains(&ipam->pool, &ip) ||
        !offset_usable(ipam, net_cidr_offset(&ipam->pool, &ip)))
        return line_error(ipam, lineno, err, "bad address '%.64s' for this pool", line);
    if (check_owner(sp + 1, NULL) < 0)
        return line_error(ipam, lineno, err, "bad owner id '%.64s'", sp + 1);
    for (i = 0; i < st->n; i++) {
        if (net_ip_equal(&st->v[i].ip, &ip))
            return line_error(ipam, lineno, err, "address %s allocated twice", line);
        if (!strcmp(st->v[i].owner, sp + 1))
            return line_error(ipam, lineno, err, "owner '%.64s' has two addresses", sp + 1);
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 16;
        st->v = sk_reallocarray(st->v, st->cap, sizeof(*st->v));
    }
    e = &st->v[st->n++];
    e->ip = ip;
    e->owner = sk_strdup(sp + 1);
    return 0;
}

static int
parse_header(const struct ipam *ipam, struct ipam_state *st, const char *line, unsigned lineno,
             struct sk_err *err)
{
    char have[NET_CIDR_STRLEN], want[NET_CIDR_STRLEN];
    struct net_cidr pool;

    if (lineno == 1) {
        if (strcmp(line, IPAM_MAGIC) != 0)
            return line_error(ipam, lineno, err, "not a skiff ipam file (want '" IPAM_MAGIC "')");
        return 0;
    }
    if (lineno == 2) {
        if (!sk_startswith(line, "pool ") || net_cidr_parse(line + 5, false, &pool, NULL) < 0)
            return line_error(ipam, lineno, err, "expected 'pool <cidr>', got '%.64s'", line);
        if (pool.prefix != ipam->pool.prefix || !net_ip_equal(&pool.ip, &ipam->pool.ip)) {
            snprintf(have, sizeof(have), "%s", line + 5);
            return sk_err_set(err, EBADMSG,
                              "ipam file '%s': line 2: pool %s is not this node's pod cidr %s",
                              ipam->path, have, net_cidr_format(&ipam->pool, want, sizeof(want)));
        }
        return 0;
    }
    if (!sk_startswith(line, "last ") || net_ip_parse(line + 5, &st->last, NULL) < 0 ||
        !net_cidr_contains(&ipam->pool, &st->last))
        return line_error(ipam, lineno, err, "expected 'last <address in pool>', got '%.64s'",
                          line);
    return 0;
}

static int
parse_file(const struct ipam *ipam, struct ipam_state *st, char *text, size_t len,
           struct sk_err *err)
{
    unsigned lineno = 0;
    char *line = text, *nl;

    if (len == 0)
        return sk_err_set(err, EBADMSG, "ipam file '%s': empty file", ipam->path);
    if (memchr(text, '\0', len))
        return sk_err_set(err, EBADMSG, "ipam file '%s': contains a NUL byte", ipam->path);
    while (line < text + len) {
        lineno++;
        nl = strchr(line, '\n');
        if (!nl)
            return line_error(ipam, lineno, err, "truncated (no newline at the end)");
        *nl = '\0';
        if (lineno <= 3 ? parse_header(ipam, st, line, lineno, err) < 0
                        : parse_entry(ipam, st, line, lineno, err) < 0)
            return -EBADMSG;
        line = nl + 1;
    }
    if (lineno < 3)
        return line_error(ipam, lineno + 1, err, "header incomplete (want 'pool' and 'last')");
    return 0;
}

/* Read the whole file; a missing file is an empty state. */
static int
state_load(const struct ipam *ipam, struct ipam_state *st, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    int fd, rc = 0;

    memset(st, 0, sizeof(*st));
    fd = open(ipam->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    if (fd < 0)
        return sk_err_sys(err, errno, "ipam file '%s': open", ipam->path);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = sk_err_sys(err, errno, "ipam file '%s': read", ipam->path);
            goto out_close;
        }
        sk_buf_append(&buf, chunk, (size_t)n);
    }
    rc = parse_file(ipam, st, buf.data ? buf.data : "", buf.len, err);
    if (rc < 0)
        state_release(st);
out_close:
    close(fd);
    sk_buf_release(&buf);
    return rc;
}

/* ---- writing ---- */

static int
cmp_entry(const void *a, const void *b)
{
    const struct ipam_entry *x = a, *y = b;

    return memcmp(x->ip.a, y->ip.a, 4);
}

static void
state_format(const struct ipam *ipam, struct ipam_state *st, struct sk_buf *out)
{
    char cidr[NET_CIDR_STRLEN], ip[NET_IP_STRLEN];
    struct net_ip last = st->last.family ? st->last : ipam_gateway(ipam);
    size_t i;

    if (st->n > 1)
        qsort(st->v, st->n, sizeof(*st->v), cmp_entry);
    sk_buf_printf(out, IPAM_MAGIC "\npool %s\nlast %s\n",
                  net_cidr_format(&ipam->pool, cidr, sizeof(cidr)),
                  net_ip_format(&last, ip, sizeof(ip)));
    for (i = 0; i < st->n; i++)
        sk_buf_printf(out, "%s %s\n", net_ip_format(&st->v[i].ip, ip, sizeof(ip)), st->v[i].owner);
}

static int
write_all(int fd, const char *p, size_t len)
{
    ssize_t n;

    while (len > 0) {
        n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int
fsync_dir_of(const char *path, struct sk_err *err)
{
    char *dir = sk_strdup(path), *slash = strrchr(dir, '/');
    int fd, rc = 0;

    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 || fsync(fd) < 0)
        rc = sk_err_sys(err, errno, "ipam: sync directory '%s'", dir);
    if (fd >= 0)
        close(fd);
    free(dir);
    return rc;
}

static int
state_save(const struct ipam *ipam, struct ipam_state *st, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    char *tmp = sk_asprintf("%s.tmp", ipam->path);
    int fd, rc = 0;

    state_format(ipam, st, &buf);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = sk_err_sys(err, errno, "ipam file '%s': create", tmp);
        goto out_free;
    }
    if (write_all(fd, buf.data, buf.len) < 0 || fsync(fd) < 0) {
        rc = sk_err_sys(err, errno, "ipam file '%s': write", tmp);
        close(fd);
        goto out_unlink;
    }
    if (close(fd) < 0) {
        rc = sk_err_sys(err, errno, "ipam file '%s': close", tmp);
        goto out_unlink;
    }
    if (rename(tmp, ipam->path) < 0) {
        rc = sk_err_sys(err, errno, "ipam file '%s': rename over '%s'", tmp, ipam->path);
        goto out_unlink;
    }
    rc = fsync_dir_of(ipam->path, err);
    goto out_free;
out_unlink:
    unlink(tmp);
out_free:
    free(tmp);
    sk_buf_release(&buf);
    return rc;
}

/* Lock, load, run op, save if op changed the state, unlock. */
static int
with_state(struct ipam *ipam,
           int (*op)(struct ipam *, struct ipam_state *, void *, struct sk_err *), void *arg,
           struct sk_err *err)
{
    struct ipam_state st;
    int lock, rc;

    lock = open(ipam->lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0)
        return sk_err_sys(err, errno, "ipam lock '%s': open", ipam->lock_path);
    while ((rc = flock(lock, LOCK_EX)) < 0 && errno == EINTR)
        ;
    if (rc < 0) {
        rc = sk_err_sys(err, errno, "ipam lock '%s': flock", ipam->lock_path);
        goto out_close;
    }
    rc = state_load(ipam, &st, err);
    if (rc < 0)
        goto out_close;
    rc = op(ipam, &st, arg, err);
    if (rc >= 0 && st.dirty) {
        int src = state_save(ipam, &st, err);

        if (src < 0)
            rc = src;
    }
    state_release(&st);
out_close:
    close(lock); /* drops the flock */
    return rc;
}

/* ---- operations ---- */

struct alloc_arg {
    const char *owner;
    struct net_ip *out;
};

static int
alloc_op(struct ipam *ipam, struct ipam_state *st, void *p, struct sk_err *err)
{
    struct alloc_arg *arg = p;
    uint64_t size = pool_size(ipam), start, off, i;
    char show[NET_CIDR_STRLEN];
    uint8_t *used;
    int rc = 0;

    for (i = 0; i < st->n; i++) {
        if (!strcmp(st->v[i].owner, arg->owner)) {
            *arg->out = st->v[i].ip;
            return 0;
        }
    }
    used = sk_calloc(size / 8 + 1, 1);
    for (i = 0; i < st->n; i++) {
        off = net_cidr_offset(&ipam->pool, &st->v[i].ip);
        used[off / 8] |= (uint8_t)(1u << (off % 8));
    }
    start = st->last.family ? net_cidr_offset(&ipam->pool, &st->last) : 1;
    /* i == size comes back to start itself: the last address handed
     * out is reused only when nothing else is free. */
    for (i = 1; i <= size; i++) {
        off = (start + i) % size;
        if (offset_usable(ipam, off) && !(used[off / 8] & (1u << (off % 8))))
            break;
    }
    if (i > size) {
        rc = sk_err_set(err, ENOSPC, "pod cidr %s is exhausted (%zu addresses in use)",
                        net_cidr_format(&ipam->pool, show, sizeof(show)), st->n);
        goto out_free;
    }
    if (st->n == st->cap) {
        st->cap = st->cap ? 2 * st->cap : 16;
        st->v = sk_reallocarray(st->v, st->cap, sizeof(*st->v));
    }
    net_cidr_host(&ipam->pool, off, &st->v[st->n].ip, NULL);
    st->v[st->n].owner = sk_strdup(arg->owner);
    st->last = *arg->out = st->v[st->n++].ip;
    st->dirty = true;
    rc = 1;
out_free:
    free(used);
    return rc;
}

int
ipam_alloc(struct ipam *ipam, const char *owner, struct net_ip *out, struct sk_err *err)
{
    struct alloc_arg arg = {owner, out};

    if (check_owner(owner, err) < 0)
        return -EINVAL;
    return with_state(ipam, alloc_op, &arg, err);
}

static void
state_remove(struct ipam_state *st, size_t i)
{
    free(st->v[i].owner);
    st->v[i] = st->v[--st->n];
    st->dirty = true;
}

static int
release_ip_op(struct ipam *ipam, struct ipam_state *st, void *p, struct sk_err *err)
{
    size_t i;

    for (i = 0; i < st->n; i++) {
        if (net_ip_equal(&st->v[i].ip, p)) {
            state_remove(st, i);
            return 1;
        }
    }
    return 0;
}

int
ipam_release_ip(struct ipam *ipam, const struct net_ip *ip, struct sk_err *err)
{
    return with_state(ipam, release_ip_op, (void *)ip, err);
}

static int
release_owner_op(struct ipam *ipam, struct ipam_state *st, void *p, struct sk_err *err)
{
    size_t i;

    for (i = 0; i < st->n; i++) {
        if (!strcmp(st->v[i].owner, p)) {
            state_remove(st, i);
            return 1;
        }
    }
    return 0;
}

int
ipam_release_owner(struct ipam *ipam, const char *owner, struct sk_err *err)
{
    return with_state(ipam, release_owner_op, (void *)owner, err);
}

struct list_arg {
    struct ipam_entry **out;
    size_t *n;
};

static int
list_op(struct ipam *ipam, struct ipam_state *st, void *p, struct sk_err *err)
{
    struct list_arg *arg = p;

    if (st->n > 1)
        qsort(st->v, st->n, sizeof(*st->v), cmp_entry);
    *arg->out = st->v;
    *arg->n = st->n;
    st->v = NULL; /* handed to the caller */
    st->n = st->cap = 0;
    return 0;
}

int
ipam_list(struct ipam *ipam, struct ipam_entry **out, size_t *n, struct sk_err *err)
{
    struct list_arg arg = {out, n};

    *out = NULL;
    *n = 0;
    return with_state(ipam, list_op, &arg, err);
}

struct reconcile_arg {
    const char *const *live;
    size_t nlive;
};

static int
reconcile_op(struct ipam *ipam, struct ipam_state *st, void *p, struct sk_err *err)
{
    struct reconcile_arg *arg = p;
    size_t i = 0, j;
    int released = 0;

    while (i < st->n) {
        for (j = 0; j < arg->nlive; j++) {
            if (!strcmp(st->v[i].owner, arg->live[j]))
                break;
        }
        if (j < arg->nlive) {
            i++;
            continue;
        }
        state_remove(st, i);
        released++;
    }
    return released;
}

int
ipam_reconcile(struct ipam *ipam, const char *const *live, size_t nlive, struct sk_err *err)
{
    struct reconcile_arg arg = {live, nlive};

    return with_state(ipam, reconcile_op, &arg, err);
}
