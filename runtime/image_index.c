/* The reference index file, <root>/index: format in image_store.c. */
#include "runtime/image_int.h"

#include "lib/alloc.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define INDEX_HEADER "# skiff image index v1\n"

static int
index_parse_line(char *line, struct rt_image_index_entry *e, struct sk_err *err)
{
    char *name, *tag, *digest, *extra, *save = NULL;
    struct rt_image_ref ref;
    char buf[RT_IMAGE_NAME_MAX + RT_IMAGE_TAG_MAX + 2];

    name = strtok_r(line, " \t", &save);
    tag = strtok_r(NULL, " \t", &save);
    digest = strtok_r(NULL, " \t", &save);
    extra = strtok_r(NULL, " \t", &save);
    if (!name || !tag || !digest || extra)
        return sk_err_set(err, EBADMSG, "want 'NAME TAG DIGEST'");
    if (sk_snprintf(buf, sizeof(buf), "%s:%s", name, tag) < 0 ||
        rt_image_ref_parse(buf, &ref, err) < 0 || strcmp(ref.tag, tag) != 0)
        return sk_err_set(err, EBADMSG, "bad reference '%s:%s'", name, tag);
    if (!rt_image_digest_valid(digest))
        return sk_err_set(err, EBADMSG, "bad digest '%s'", digest);
    memcpy(e->name, ref.name, sizeof(e->name));
    memcpy(e->tag, ref.tag, sizeof(e->tag));
    memcpy(e->digest, digest, RT_IMAGE_DIGEST_LEN);
    return 0;
}

static int
index_parse(char *text, struct rt_image_index *idx, struct sk_err *err)
{
    char *line, *next;
    int lineno = 0;

    for (line = text; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[0] == '#' || line[strspn(line, " \t")] == '\0')
            continue;
        idx->items = sk_reallocarray(idx->items, idx->n + 1, sizeof(*idx->items));
        if (index_parse_line(line, &idx->items[idx->n], err) < 0)
            return sk_err_wrap(err, "index line %d", lineno);
        idx->n++;
    }
    return 0;
}

int
rt_image_index_read(int root_fd, struct rt_image_index *idx, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    char chunk[8192];
    ssize_t n;
    int fd, rc;

    idx->items = NULL;
    idx->n = 0;
    fd = openat(root_fd, "index", O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : sk_err_sys(err, errno, "open 'index'");
    while ((n = read(fd, chunk, sizeof(chunk))) > 0)
        sk_buf_append(&buf, chunk, (size_t)n);
    close(fd);
    if (n < 0) {
        rc = sk_err_sys(err, errno, "read 'index'");
    } else {
        sk_buf_putc(&buf, '\0');
        rc = index_parse(buf.data, idx, err);
    }
    sk_buf_release(&buf);
    if (rc < 0)
        rt_image_index_release(idx);
    return rc;
}

static int
index_cmp(const void *a, const void *b)
{
    const struct rt_image_index_entry *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->tag, y->tag);
}

static int
index_write_file(int fd, struct rt_image_index *idx, struct sk_err *err)
{
    struct sk_buf buf = SK_BUF_INIT;
    size_t i, off = 0;
    ssize_t w;
    int rc = 0;

    sk_buf_puts(&buf, INDEX_HEADER);
    for (i = 0; i < idx->n; i++)
        sk_buf_printf(&buf, "%s %s %s\n", idx->items[i].name, idx->items[i].tag,
                      idx->items[i].digest);
    while (off < buf.len) {
        w = write(fd, buf.data + off, buf.len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            rc = sk_err_sys(err, w < 0 ? errno : EIO, "write 'index.tmp'");
            break;
        }
        off += (size_t)w;
    }
    if (rc == 0 && fsync(fd) < 0)
        rc = sk_err_sys(err, errno, "fsync 'index.tmp'");
    sk_buf_release(&buf);
    return rc;
}

int
rt_image_index_write(int root_fd, struct rt_image_index *idx, struct sk_err *err)
{
    int fd, dfd, rc;

    if (idx->n)
        qsort(idx->items, idx->n, sizeof(*idx->items), index_cmp);
    fd = openat(root_fd, "index.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return sk_err_sys(err, errno, "create 'index.tmp'");
    rc = index_write_file(fd, idx, err);
    close(fd);
    if (rc == 0 && renameat(root_fd, "index.tmp", root_fd, "index") < 0)
        rc = sk_err_sys(err, errno, "rename 'index.tmp' to 'index'");
    if (rc < 0) {
        unlinkat(root_fd, "index.tmp", 0);
        return rc;
    }
    /* The rename is durable only once the directory is. */
    dfd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return sk_err_sys(err, errno, "open store root");
    if (fsync(dfd) < 0)
        rc = sk_err_sys(err, errno, "fsync store root");
    close(dfd);
    return rc;
}

void
rt_image_index_release(struct rt_image_index *idx)
{
    free(idx->items);
    idx->items = NULL;
    idx->n = 0;
}

void
rt_image_index_set(struct rt_image_index *idx, const char *name, const char *tag,
                   const char *digest)
{
    struct rt_image_index_entry *e;
    size_t i;

    for (i = 0; i < idx->n; i++) {
        e = &idx->items[i];
        if (strcmp(e->name, name) == 0 && strcmp(e->tag, tag) == 0) {
            sk_strlcpy(e->digest, digest, sizeof(e->digest));
            return;
        }
    }
    idx->items = sk_reallocarray(idx->items, idx->n + 1, sizeof(*idx->items));
    e = &idx->items[idx->n++];
    sk_strlcpy(e->name, name, sizeof(e->name));
    sk_strlcpy(e->tag, tag, sizeof(e->tag));
    sk_strlcpy(e->digest, digest, sizeof(e->digest));
}
