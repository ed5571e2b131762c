/* kubelet/: probe parsing and the probe state machines (pure).
 *
 * As Kubernetes' prober (pkg/kubelet/prober/worker.go):
 *   - a probe first runs initialDelaySeconds after the container started,
 *     then every periodSeconds;
 *   - its result flips to failure after failureThreshold consecutive
 *     failures and back to success after successThreshold consecutive
 *     successes (liveness and startup must use 1);
 *   - initial results: readiness failure (not ready until a probe says
 *     so; without a readiness probe the container is ready once
 *     started), liveness success, startup unknown;
 *   - while a startup probe has not succeeded, liveness and readiness do
 *     not run; once it succeeded it never runs again;
 *   - liveness or startup at failure -> the container is killed and
 *     restarted per restartPolicy (event reason "Unhealthy", message
 *     "Liveness probe failed: <output>"); the counters start over. */
#include "kubelet/kl_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_key[] = {"livenessProbe", "readinessProbe", "startupProbe"};
static const char *const kind_name[] = {"Liveness", "Readiness", "Startup"};

/* A named port ("http") -> the containerPort of that name. */
int
kl_port_resolve(const json_t *ctr, const json_t *v, const char *path, int *port, struct sk_err *err)
{
    const json_t *ports = json_object_get(ctr, "ports");
    size_t i;
    json_t *p;

    if (json_is_integer(v)) {
        if (json_integer_value(v) < 1 || json_integer_value(v) > 65535)
            return sk_err_set(err, ERANGE, "%s.port: must be 1-65535", path);
        *port = (int)json_integer_value(v);
        return 0;
    }
    if (!json_is_string(v))
        return sk_err_set(err, EINVAL, "%s.port: must be an integer or a port name", path);
    json_array_foreach ((json_t *)ports, i, p) {
        const char *n = json_string_value(json_object_get(p, "name"));
        json_t *cp = json_object_get(p, "containerPort");
        if (n && strcmp(n, json_string_value(v)) == 0 && json_is_integer(cp) &&
            json_integer_value(cp) >= 1 && json_integer_value(cp) <= 65535) {
            *port = (int)json_integer_value(cp);
            return 0;
        }
    }
    return sk_err_set(err, ENOENT, "%s.port: no container port named '%s'", path,
                      json_string_value(v));
}

static int
parse_handler(const json_t *ctr, const json_t *pr, const char *path, struct kl_probe *p,
              struct sk_err *err)
{
    const json_t *ex, *http, *tcp;
    char sub[512];
    int rc;

    if ((rc = kl_opt_obj(pr, path, "exec", &ex, err)) < 0 ||
        (rc = kl_opt_obj(pr, path, "httpGet", &http, err)) < 0 ||
        (rc = kl_opt_obj(pr, path, "tcpSocket", &tcp, err)) < 0)
        return rc;
    if (!!ex + !!http + !!tcp != 1)
        return sk_err_set(err, EINVAL, "%s: must have exactly one of exec, httpGet, tcpSocket",
                          path);
    if (ex) {
        sk_snprintf(sub, sizeof(sub), "%s.exec", path);
        p->handler = KL_PROBE_EXEC;
        if ((rc = kl_opt_arr(ex, sub, "command", &p->exec_command, err)) < 0)
            return rc;
        if (json_array_size(p->exec_command) == 0)
            return sk_err_set(err, EINVAL, "%s.command: required", sub);
        for (size_t i = 0; i < json_array_size(p->exec_command); i++) {
            if (!json_is_string(json_array_get(p->exec_command, i)))
                return sk_err_set(err, EINVAL, "%s.command[%zu]: must be a string", sub, i);
        }
        return 0;
    }
    sk_snprintf(sub, sizeof(sub), "%s.%s", path, http ? "httpGet" : "tcpSocket");
    p->handler = http ? KL_PROBE_HTTP : KL_PROBE_TCP;
    if ((rc = kl_port_resolve(ctr, json_object_get(http ? http : tcp, "port"), sub, &p->port,
                              err)) < 0)
        return rc;
    if ((rc = kl_opt_str(http ? http : tcp, sub, "host", &p->http_host, err)) < 0)
        return rc;
    if (!http)
        return 0;
    if ((rc = kl_opt_str(http, sub, "path", &p->http_path, err)) < 0 ||
        (rc = kl_opt_str(http, sub, "scheme", &p->http_scheme, err)) < 0 ||
        (rc = kl_opt_arr(http, sub, "httpHeaders", &p->http_headers, err)) < 0)
        return rc;
    if (p->http_scheme && strcmp(p->http_scheme, "HTTP") != 0)
        return sk_err_set(err, ENOTSUP, "%s.scheme: only HTTP is supported", sub);
    for (size_t i = 0; i < json_array_size(p->http_headers); i++) {
        const json_t *h = json_array_get(p->http_headers, i);
        if (!json_is_string(json_object_get(h, "name")) ||
            !json_is_string(json_object_get(h, "value")))
            return sk_err_set(err, EINVAL, "%s.httpHeaders[%zu]: needs string name and value", sub,
                              i);
    }
    return 0;
}

int
kl_probe_parse(const json_t *ctr, const char *path, enum kl_probe_kind kind, struct kl_probe *p,
               struct sk_err *err)
{
    static const struct {
        const char *key;
        int64_t def, min;
    } nums[] = {{"initialDelaySeconds", 0, 0},
                {"periodSeconds", 10, 1},
                {"timeoutSeconds", 1, 1},
                {"successThreshold", 1, 1},
                {"failureThreshold", 3, 1}};
    int64_t *dst[] = {&p->initial_delay_s, &p->period_s, &p->timeout_s, &p->success_threshold,
                      &p->failure_threshold};
    const json_t *pr;
    char sub[512];
    int rc;

    memset(p, 0, sizeof(*p));
    if ((rc = kl_opt_obj(ctr, path, kind_key[kind], &pr, err)) < 0)
        return rc;
    if (!pr)
        return 0;
    sk_snprintf(sub, sizeof(sub), "%s.%s", path, kind_key[kind]);
    for (size_t i = 0; i < 5; i++) {
        if ((rc = kl_opt_int(pr, sub, nums[i].key, nums[i].def, dst[i], err)) < 0)
            return rc;
        if (*dst[i] < nums[i].min || *dst[i] > 86400 * 365)
            return sk_err_set(err, ERANGE, "%s.%s: must be at least %lld", sub, nums[i].key,
                              (long long)nums[i].min);
    }
    if (kind != KL_PROBE_READINESS && p->success_threshold != 1)
        return sk_err_set(err, EINVAL, "%s.successThreshold: must be 1", sub);
    rc = parse_handler(ctr, pr, sub, p, err);
    if (rc < 0)
        p->handler = KL_PROBE_NONE;
    return rc;
}

void
kl_probes_start(struct kl_probes *p, int64_t started_ms)
{
    p->started_ms = started_ms;
    for (int k = 0; k < KL_PROBE_NKINDS; k++) {
        memset(&p->st[k], 0, sizeof(p->st[k]));
        p->st[k].next_ms = started_ms + p->spec[k].initial_delay_s * 1000;
    }
    p->st[KL_PROBE_LIVENESS].result = KL_PROBE_SUCCESS;
    p->st[KL_PROBE_READINESS].result = KL_PROBE_FAILURE;
    p->st[KL_PROBE_STARTUP].result = KL_PROBE_UNKNOWN;
}

bool
kl_probes_started(const struct kl_probes *p)
{
    return p->spec[KL_PROBE_STARTUP].handler == KL_PROBE_NONE ||
           p->st[KL_PROBE_STARTUP].result == KL_PROBE_SUCCESS;
}

bool
kl_probes_ready(const struct kl_probes *p)
{
    if (!kl_probes_started(p))
        return false;
    if (p->spec[KL_PROBE_READINESS].handler == KL_PROBE_NONE)
        return true;
    return p->st[KL_PROBE_READINESS].result == KL_PROBE_SUCCESS;
}

static bool
runnable(const struct kl_probes *p, int k)
{
    if (p->spec[k].handler == KL_PROBE_NONE)
        return false;
    if (k == KL_PROBE_STARTUP)
        return p->st[k].result != KL_PROBE_SUCCESS;
    return kl_probes_started(p);
}

int
kl_probes_due(const struct kl_probes *p, int64_t now_ms, int64_t *wake_ms)
{
    int due = -1;

    *wake_ms = INT64_MAX;
    for (int k = 0; k < KL_PROBE_NKINDS; k++) {
        if (!runnable(p, k))
            continue;
        if (p->st[k].next_ms <= now_ms && due < 0)
            due = k;
        if (p->st[k].next_ms < *wake_ms)
            *wake_ms = p->st[k].next_ms;
    }
    return due;
}

enum kl_probe_action
kl_probes_record(struct kl_probes *p, enum kl_probe_kind kind, enum kl_probe_result r,
                 const char *output, int64_t now_ms, char *msg, size_t msgsz)
{
    struct kl_probe_state *st = &p->st[kind];
    const struct kl_probe *sp = &p->spec[kind];
    bool was_ready = kl_probes_ready(p);

    if (msg && msgsz)
        msg[0] = '\0';
    st->next_ms = now_ms + sp->period_s * 1000;
    if (r == KL_PROBE_SUCCESS) {
        st->failures = 0;
        if (++st->successes >= sp->success_threshold)
            st->result = KL_PROBE_SUCCESS;
    } else {
        st->successes = 0;
        if (++st->failures >= sp->failure_threshold)
            st->result = KL_PROBE_FAILURE;
    }
    if (kind != KL_PROBE_READINESS && st->result == KL_PROBE_FAILURE && r != KL_PROBE_SUCCESS) {
        if (msg)
            sk_snprintf(msg, msgsz, "%s probe failed: %s", kind_name[kind], output ? output : "");
        /* the restarted container starts over (kl_probes_start) */
        st->failures = 0;
        return KL_PROBE_ACT_RESTART;
    }
    if (kl_probes_ready(p) != was_ready)
        return KL_PROBE_ACT_READY_CHANGED;
    return KL_PROBE_ACT_NONE;
}
