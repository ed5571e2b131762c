/* kubelet/exec_frame.c: the frames of an interactive exec stream
 * (skiff-protocol(7), "Exec streams"), shared by the agent endpoint,
 * the API server's relay and the CLI. Pure: no I/O.
 *
 * An exec request with the `stdin` or `tty` option turns its stream
 * into frames, one per line, in both directions after "ok stream":
 *
 *     client -> agent:  stdin B64         bytes for the process's stdin
 *                       stdin-eof         close the process's stdin
 *                       resize ROWS COLS  the terminal's new size
 *     agent -> client:  stdout B64        bytes the process wrote
 *                       stderr B64        (no terminal: stderr apart)
 *                       exit N            the status, the last frame
 *
 * B64 is standard base64 with padding, of at most KL_FRAME_CHUNK bytes,
 * so any byte (NUL, a lone "\r", a last line without "\n") crosses
 * unchanged and a frame line stays under the agent's 64 KiB line
 * limit; an empty payload is "stdin " and means nothing. ROWS and COLS
 * are 1..65535. */
#include "kubelet/kubelet.h"
#include "lib/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void
kl_frame_put_data(struct sk_buf *out, const char *tag, const void *data, size_t len)
{
    sk_buf_puts(out, tag);
    sk_buf_putc(out, ' ');
    /* encoded straight into the buffer: one copy per chunk of output */
    sk_buf_grow(out, SK_BASE64_LEN(len) + 2);
    sk_base64_encode(data, len, out->data + out->len);
    out->len += SK_BASE64_LEN(len);
    sk_buf_putc(out, '\n');
}

/* Decode s in place (the output is never longer than what was read);
 * the length in *len, -1 for malformed text. */
static int
b64_decode_inplace(char *s, size_t *len)
{
    ssize_t n = sk_base64_decode(s, strlen(s), (unsigned char *)s);

    if (n < 0)
        return -1;
    *len = (size_t)n;
    return 0;
}

static int
parse_dim(const char *s, char **end, unsigned *out)
{
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, end, 10);
    if (errno || v < 1 || v > 65535)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static const struct {
    const char *tag;
    enum kl_frame_type type;
} data_tags[] = {
    {"stdin", KL_FRAME_STDIN},
    {"stdout", KL_FRAME_STDOUT},
    {"stderr", KL_FRAME_STDERR},
};

int
kl_frame_parse(char *line, struct kl_frame *f, struct sk_err *err)
{
    char *end;

    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < sizeof(data_tags) / sizeof(data_tags[0]); i++) {
        size_t n = strlen(data_tags[i].tag);

        if (strncmp(line, data_tags[i].tag, n) != 0 || line[n] != ' ')
            continue;
        f->type = data_tags[i].type;
        f->data = line + n + 1;
        if (strlen(f->data) > (KL_FRAME_CHUNK + 2) / 3 * 4 ||
            b64_decode_inplace(f->data, &f->len) < 0)
            return sk_err_set(err, EBADMSG, "%s: malformed or oversized base64", data_tags[i].tag);
        return 0;
    }
    if (strcmp(line, "stdin-eof") == 0) {
        f->type = KL_FRAME_STDIN_EOF;
        return 0;
    }
    if (strncmp(line, "resize ", 7) == 0) {
        f->type = KL_FRAME_RESIZE;
        if (parse_dim(line + 7, &end, &f->rows) < 0 || *end != ' ' ||
            parse_dim(end + 1, &end, &f->cols) < 0 || *end)
            return sk_err_set(err, EBADMSG,
                              "resize: want 'resize ROWS COLS' (1..65535), not '%.40s'", line + 7);
        return 0;
    }
    if (strncmp(line, "exit ", 5) == 0) {
        long v;

        f->type = KL_FRAME_EXIT;
        errno = 0;
        v = strtol(line + 5, &end, 10);
        if (end == line + 5 || *end || errno || v < 0 || v > 255)
            return sk_err_set(err, EBADMSG, "exit: '%.20s' is not a status 0..255", line + 5);
        f->status = (int)v;
        return 0;
    }
    return sk_err_set(err, EBADMSG, "unknown frame '%.20s'", line);
}
