/* kubelet/endpoint_proto.c: the pure half of the agent endpoint's
 * protocol (the wire format is described in endpoint.c): keys, proofs
 * and the request line shared by the agent and the API server's relay.
 *
 * Keys. The API server holds a master key (server.agent-key-file). The
 * key of node N is hex(HMAC-SHA256(master, "skiff-agent-endpoint:" N)),
 * so each agent holds a key that is good for its own endpoint only: a
 * node that is taken over cannot speak as the API server to the others
 * (a single cluster-wide secret would let it exec into every pod).
 *
 * Proofs. The agent greets each connection with a fresh 16-byte nonce;
 * the server proves it holds the node key with
 * hex(HMAC-SHA256(node key, "skiff-agent-endpoint/1\n" nonce "\n"
 * request)), which also binds the proof to the one request it comes
 * with: a recorded exchange cannot be replayed, nor its proof reused for
 * another command. Nothing secret crosses the wire. */
#include "kubelet/kl_int.h"

#include "lib/alloc.h"
#include "lib/log.h"
#include "lib/sha256.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static void
hmac_hex(const void *key, size_t keylen, const void *msg, size_t len, char out[KL_EP_MAC_HEX])
{
    unsigned char mac[SK_SHA256_LEN];

    sk_hmac_sha256(key, keylen, msg, len, mac);
    sk_hex(mac, SK_SHA256_LEN, out);
}

void
kl_ep_key_derive(const void *master, size_t len, const char *node, char out[KL_EP_MAC_HEX])
{
    char *msg = sk_asprintf("skiff-agent-endpoint:%s", node);

    hmac_hex(master, len, msg, strlen(msg), out);
    free(msg);
}

void
kl_ep_mac(const char *key, const char *nonce, const char *request, char out[KL_EP_MAC_HEX])
{
    char *msg = sk_asprintf("skiff-agent-endpoint/1\n%s\n%s", nonce, request);

    hmac_hex(key, strlen(key), msg, strlen(msg), out);
    free(msg);
}

bool
kl_ep_mac_ok(const char *key, const char *nonce, const char *request, const char *mac)
{
    char want[KL_EP_MAC_HEX];

    if (!key || !*key || !mac || strlen(mac) != KL_EP_MAC_HEX - 1)
        return false;
    kl_ep_mac(key, nonce, request, want);
    return sk_mem_equal_ct(want, mac, KL_EP_MAC_HEX - 1);
}

int
kl_ep_nonce(char out[KL_EP_NONCE_HEX], struct sk_err *err)
{
    unsigned char raw[(KL_EP_NONCE_HEX - 1) / 2];

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return sk_err_sys(err, errno ? errno : EIO, "getrandom");
    sk_hex(raw, sizeof(raw), out);
    return 0;
}

/* ---- the request line ---- */

static int
parse_opt(struct kl_ep_req *r, char *w, struct sk_err *err)
{
    char *end;

    if (strncmp(w, "container=", 10) == 0 && w[10])
        r->container = w + 10;
    else if (r->verb == KL_EP_LOGS && strcmp(w, "previous") == 0)
        r->previous = true;
    else if (r->verb == KL_EP_LOGS && strcmp(w, "follow") == 0)
        r->follow = true;
    else if (r->verb == KL_EP_LOGS && strcmp(w, "timestamps") == 0)
        r->timestamps = true;
    else if (r->verb == KL_EP_EXEC && strcmp(w, "stdin") == 0)
        r->stdin_open = true;
    else if (r->verb == KL_EP_EXEC && strcmp(w, "tty") == 0)
        r->tty = true;
    else if (r->verb == KL_EP_EXEC &&
             (strncmp(w, "rows=", 5) == 0 || strncmp(w, "cols=", 5) == 0)) {
        unsigned long v;

        errno = 0;
        v = strtoul(w + 5, &end, 10);
        if (end == w + 5 || *end || errno || v < 1 || v > 65535 || w[5] < '0' || w[5] > '9')
            return sk_err_set(err, EBADMSG, "%.4s: '%s' is not a size 1..65535", w, w + 5);
        *(w[0] == 'r' ? &r->rows : &r->cols) = (unsigned)v;
    } else if (r->verb == KL_EP_LOGS && strncmp(w, "tail=", 5) == 0) {
        errno = 0;
        r->tail = strtoll(w + 5, &end, 10);
        if (end == w + 5 || *end || r->tail < 0 || errno)
            return sk_err_set(err, EBADMSG, "tail: '%s' is not a count", w + 5);
    } else
        return sk_err_set(err, EBADMSG, "%s: unknown option '%s'",
                          r->verb == KL_EP_LOGS ? "logs" : "exec", w);
    return 0;
}

int
kl_ep_req_parse(const char *line, struct kl_ep_req *r, struct sk_err *err)
{
    static const char *const usage[] = {
        "usage: logs NS POD [container=C] [previous] [follow] [timestamps] [tail=N]",
        "usage: exec NS POD [container=C] [stdin] [tty] [rows=N cols=N] -- COMMAND [ARG...]"};
    char *sp;
    int argc, i, rc;

    memset(r, 0, sizeof(*r));
    r->tail = -1;
    r->buf = sk_strdup(line);
    sp = strchr(r->buf, ' ');
    if (sp)
        *sp++ = '\0';
    if (strcmp(r->buf, "logs") == 0)
        r->verb = KL_EP_LOGS;
    else if (strcmp(r->buf, "exec") == 0)
        r->verb = KL_EP_EXEC;
    else
        return sk_err_set(err, EBADMSG, "unknown request '%.32s'", r->buf);
    argc = sp ? api_args_split(sp, r->words, KL_EP_MAX_WORDS) : 0;
    if (argc < 0)
        return sk_err_set(err, EBADMSG, "malformed or too many words (at most %d)",
                          KL_EP_MAX_WORDS);
    if (argc < 2 || !*r->words[0] || !*r->words[1])
        return sk_err_set(err, EBADMSG, "%s", usage[r->verb]);
    r->ns = r->words[0];
    r->pod = r->words[1];
    for (i = 2; i < argc; i++) {
        if (r->verb == KL_EP_EXEC && strcmp(r->words[i], "--") == 0)
            break;
        if ((rc = parse_opt(r, r->words[i], err)) < 0)
            return rc;
    }
    if (r->verb == KL_EP_EXEC) {
        if (i + 1 >= argc)
            return sk_err_set(err, EBADMSG, "%s", usage[1]);
        r->argv = &r->words[i + 1];
        r->argc = (size_t)(argc - i - 1);
        r->words[argc] = NULL;
    }
    return 0;
}

void
kl_ep_req_release(struct kl_ep_req *r)
{
    free(r->buf);
    r->buf = NULL;
}
