/* kubelet/lifecycle.c: container.lifecycle.postStart and preStop, the
 * parsing half (pure); hook_run.c runs them.
 *
 * A handler is one of exec {command}, httpGet {port, path, host,
 * httpHeaders, scheme}, sleep {seconds} or tcpSocket, as in Kubernetes'
 * LifecycleHandler. tcpSocket is accepted and does nothing, which is
 * what Kubernetes' kubelet does with it (it was never implemented
 * there). */
#include "kubelet/kl_int.h"

#include <errno.h>
#include <string.h>

static const char *const hook_key[] = {"postStart", "preStop"};
static const char *const hook_names[] = {"PostStart", "PreStop"};

const char *
kl_hook_name(enum kl_hook_kind kind)
{
    return hook_names[kind == KL_HOOK_PRE_STOP];
}

static int
parse_exec(const json_t *ex, const char *sub, struct kl_hook *h, struct sk_err *err)
{
    int rc;

    h->handler = KL_HOOK_EXEC;
    if ((rc = kl_opt_arr(ex, sub, "command", &h->exec_command, err)) < 0)
        return rc;
    if (json_array_size(h->exec_command) == 0)
        return sk_err_set(err, EINVAL, "%s.command: required", sub);
    for (size_t i = 0; i < json_array_size(h->exec_command); i++) {
        if (!json_is_string(json_array_get(h->exec_command, i)))
            return sk_err_set(err, EINVAL, "%s.command[%zu]: must be a string", sub, i);
    }
    return 0;
}

static int
parse_http(const json_t *ctr, const json_t *http, const char *sub, struct kl_hook *h,
           struct sk_err *err)
{
    const char *scheme;
    int rc;

    h->handler = KL_HOOK_HTTP;
    if ((rc = kl_port_resolve(ctr, json_object_get(http, "port"), sub, &h->port, err)) < 0 ||
        (rc = kl_opt_str(http, sub, "host", &h->http_host, err)) < 0 ||
        (rc = kl_opt_str(http, sub, "path", &h->http_path, err)) < 0 ||
        (rc = kl_opt_str(http, sub, "scheme", &scheme, err)) < 0 ||
        (rc = kl_opt_arr(http, sub, "httpHeaders", &h->http_headers, err)) < 0)
        return rc;
    if (scheme && strcmp(scheme, "HTTP") != 0)
        return sk_err_set(err, ENOTSUP, "%s.scheme: only HTTP is supported", sub);
    for (size_t i = 0; i < json_array_size(h->http_headers); i++) {
        const json_t *hd = json_array_get(h->http_headers, i);
        if (!json_is_string(json_object_get(hd, "name")) ||
            !json_is_string(json_object_get(hd, "value")))
            return sk_err_set(err, EINVAL, "%s.httpHeaders[%zu]: needs string name and value", sub,
                              i);
    }
    return 0;
}

int
kl_hook_parse(const json_t *ctr, const char *path, enum kl_hook_kind kind, struct kl_hook *h,
              struct sk_err *err)
{
    const json_t *lc, *hook, *ex, *http, *tcp, *sl;
    char base[512], sub[600];
    int rc;

    memset(h, 0, sizeof(*h));
    if ((rc = kl_opt_obj(ctr, path, "lifecycle", &lc, err)) < 0 || !lc)
        return rc < 0 ? rc : 0;
    sk_snprintf(base, sizeof(base), "%s.lifecycle", path);
    if ((rc = kl_opt_obj(lc, base, hook_key[kind == KL_HOOK_PRE_STOP], &hook, err)) < 0 || !hook)
        return rc < 0 ? rc : 0;
    sk_snprintf(base, sizeof(base), "%s.lifecycle.%s", path, hook_key[kind == KL_HOOK_PRE_STOP]);
    if ((rc = kl_opt_obj(hook, base, "exec", &ex, err)) < 0 ||
        (rc = kl_opt_obj(hook, base, "httpGet", &http, err)) < 0 ||
        (rc = kl_opt_obj(hook, base, "tcpSocket", &tcp, err)) < 0 ||
        (rc = kl_opt_obj(hook, base, "sleep", &sl, err)) < 0)
        return rc;
    if (!!ex + !!http + !!tcp + !!sl != 1)
        return sk_err_set(err, EINVAL,
                          "%s: must have exactly one of exec, httpGet, sleep, tcpSocket", base);
    rc = 0; /* tcpSocket: nothing to do */
    if (ex) {
        sk_snprintf(sub, sizeof(sub), "%s.exec", base);
        rc = parse_exec(ex, sub, h, err);
    } else if (http) {
        sk_snprintf(sub, sizeof(sub), "%s.httpGet", base);
        rc = parse_http(ctr, http, sub, h, err);
    } else if (sl) {
        sk_snprintf(sub, sizeof(sub), "%s.sleep", base);
        h->handler = KL_HOOK_SLEEP;
        if (!json_is_integer(json_object_get(sl, "seconds")))
            rc = sk_err_set(err, EINVAL, "%s.seconds: required integer", sub);
        else if ((h->sleep_s = json_integer_value(json_object_get(sl, "seconds"))) < 0)
            rc = sk_err_set(err, ERANGE, "%s.seconds: must not be negative", sub);
    }
    if (rc < 0)
        memset(h, 0, sizeof(*h));
    return rc;
}
