/* The object verbs: registration, dispatch, authorization, errors and
 * the bootstrap of the default namespaces (API in objects.h; the
 * protocol is skiff-protocol(7), OBJECT VERBS). */
#include "api/objects_int.h"
#include "lib/alloc.h"
#include "lib/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define BOOT_RETRY_MS 500

static const char *const verb_names[] = {
    [API_OBJ_GET] = "get",       [API_OBJ_LIST] = "list",     [API_OBJ_WATCH] = "watch",
    [API_OBJ_CREATE] = "create", [API_OBJ_APPLY] = "apply",   [API_OBJ_UPDATE] = "update",
    [API_OBJ_STATUS] = "status", [API_OBJ_PATCH] = "patch",   [API_OBJ_BIND] = "bind",
    [API_OBJ_SCALE] = "scale",   [API_OBJ_DELETE] = "delete",
};

/* A bind reads and writes its own pod's key and nothing else (no
 * namespace check, no claims), so binds pipelined on one connection take
 * effect as if sent one at a time: they are proposed, committed and
 * applied in order, and one whose pod an earlier bind changed meanwhile
 * fails its revision compare and runs again on the applied state
 * (on_written), giving the answer it would have had. The scheduler binds
 * hundreds of pods over a few connections; one at a time per connection,
 * each fdatasync carried a handful of binds. */
static bool
bind_pipelinable(const char *args)
{
    (void)args;
    return true;
}

static const char *const default_namespaces[] = {"default", "kube-system", "kube-public",
                                                 "kube-node-lease"};

/* ---- errors ---- */

void
obj_reply_err(struct api_req *req, const struct sk_err *err)
{
    static const struct {
        int code;
        int status;
        const char *reason;
    } map[] = {
        {ENOENT, 404, "NotFound"},       {EEXIST, 409, "AlreadyExists"},
        {ESTALE, 409, "Conflict"},       {EINVAL, 422, "Invalid"},
        {EBADMSG, 400, "BadRequest"},    {EPERM, 403, "Forbidden"},
        {EACCES, 403, "Forbidden"},      {EOPNOTSUPP, 405, "MethodNotAllowed"},
        {EAGAIN, 503, "Unavailable"},    {ECANCELED, 503, "Unavailable"},
        {EIO, 503, "Unavailable"},       {ETIMEDOUT, 504, "Timeout"},
        {EOVERFLOW, 410, "Gone"},        {ENOSYS, 501, "NotImplemented"},
        {E2BIG, 413, "RequestTooLarge"},
    };

    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].code == err->code) {
            api_req_error(req, map[i].status, map[i].reason, "%s", err->msg);
            return;
        }
    api_req_error(req, 500, "InternalError", "%s", err->msg);
}

void
obj_reply_store_err(struct api_req *req, const struct sk_err *err)
{
    struct sk_err e = *err;

    /* the state machine refusing a command this module built is the
     * server's fault, not the client's */
    if (e.code == EINVAL || e.code == EBADMSG) {
        api_req_error(req, 500, "InternalError", "%s", e.msg);
        return;
    }
    if (e.code == MVCC_EFUTURE) {
        api_req_error(req, 504, "Timeout", "Too large resource version: %s", e.msg);
        return;
    }
    if (e.code == MVCC_ECOMPACTED)
        e.code = EOVERFLOW;
    obj_reply_err(req, &e);
}

int
obj_not_found(const struct api_kind *k, const char *ns, const char *name, struct sk_err *err)
{
    if (ns && *ns)
        return sk_err_set(err, ENOENT, "%s \"%s\" not found in namespace \"%s\"", k->resource, name,
                          ns);
    return sk_err_set(err, ENOENT, "%s \"%s\" not found", k->resource, name);
}

int
obj_authorize(struct api_objects *o, struct api_req *req, const char *verb,
              const struct api_kind *k, const char *sub, const char *ns, const char *name)
{
    struct sk_err err;

    if (!o->cfg.authorize)
        return 0;
    sk_err_init(&err);
    if (o->cfg.authorize(o->cfg.authorize_arg, api_req_peer(req), verb, k->resource, sub ? sub : "",
                         ns ? ns : "", name ? name : "", &err) == 0)
        return 0;
    if (!err.code || !*err.msg)
        sk_err_set(&err, EPERM, "%s \"%s\" is forbidden: User \"%s\" cannot %s resource \"%s\"",
                   k->resource, name ? name : "", api_req_peer(req)->user, verb, k->resource);
    api_req_error(req, 403, "Forbidden", "%s", err.msg);
    return -1;
}

/* ---- dispatch ---- */

static void
obj_handle(struct api_req *req, char *args, void *arg)
{
    struct obj_verb_ctx *vc = arg;
    struct api_obj_args a;
    struct sk_err err;

    sk_err_init(&err);
    if (api_obj_args_parse(vc->verb, args, &a, &err) < 0) {
        obj_reply_err(req, &err);
        return;
    }
    switch (vc->verb) {
    case API_OBJ_GET:
        obj_get(vc->o, req, &a);
        break;
    case API_OBJ_LIST:
        obj_list(vc->o, req, &a);
        break;
    case API_OBJ_WATCH:
        obj_watch(vc->o, req, &a);
        break;
    default:
        obj_write(vc->o, req, &a);
        break;
    }
}

static void
verb_api_resources(struct api_req *req, char *args, void *arg)
{
    obj_api_resources(req);
}

static void
verb_whoami(struct api_req *req, char *args, void *arg)
{
    obj_whoami(req);
}

static void
verb_relay(struct api_req *req, char *args, void *arg)
{
    api_req_error(req, 501, "NotImplemented", "%s are relayed to the node agent: not available yet",
                  (const char *)arg);
}

/* ---- bootstrap ---- */

static void boot_step(struct sk_loop *loop, void *arg);

static void
boot_done(struct api_objects *o, const struct sk_err *err)
{
    if (err && err->code != EEXIST) {
        /* no leader yet, or the store is busy: try again later */
        if (err->code != EAGAIN && err->code != ETIMEDOUT)
            sk_warn("api", "creating namespace '%s': %s", default_namespaces[o->boot_next],
                    err->msg);
        o->boot_timer = sk_loop_timer_add(o->loop, BOOT_RETRY_MS, boot_step, o);
        return;
    }
    o->boot_next++;
    o->boot_timer = sk_loop_timer_add(o->loop, 0, boot_step, o);
}

static void
boot_step(struct sk_loop *loop, void *arg)
{
    struct api_objects *o = arg;
    json_t *ns;

    o->boot_timer = 0;
    if (o->boot_next >= sizeof(default_namespaces) / sizeof(default_namespaces[0]))
        return;
    ns = json_pack("{s:s,s:s,s:{s:s}}", "apiVersion", "v1", "kind", "Namespace", "metadata", "name",
                   default_namespaces[o->boot_next]);
    obj_create_internal(o, ns, boot_done);
}

/* ---- lifecycle ---- */

struct api_objects *
api_objects_register(struct api_server *srv, struct sk_loop *loop, struct store *s,
                     const struct api_objects_config *cfg)
{
    struct api_objects *o = sk_calloc(1, sizeof(*o));

    o->srv = srv;
    o->loop = loop;
    o->s = s;
    if (cfg)
        o->cfg = *cfg;
    if (!o->cfg.service_ips.size &&
        api_alloc_ip_range_parse(API_SERVICE_CIDR_DEFAULT, &o->cfg.service_ips, NULL) < 0)
        SK_BUG("default service-cidr does not parse");
    if (!o->cfg.node_ports.size &&
        api_alloc_port_range_parse(API_NODE_PORT_RANGE_DEFAULT, &o->cfg.node_ports, NULL) < 0)
        SK_BUG("default service-node-port-range does not parse");
    for (int v = 0; v <= API_OBJ_DELETE; v++) {
        o->verbs[v].o = o;
        o->verbs[v].verb = (enum api_obj_verb)v;
        api_server_handle(srv, verb_names[v], obj_handle, &o->verbs[v], false);
    }
    api_server_set_pipelinable(srv, "bind", bind_pipelinable);
    api_server_handle(srv, "api-resources", verb_api_resources, o, false);
    api_server_handle(srv, "whoami", verb_whoami, o, false);
    api_server_handle(srv, "logs", verb_relay, "logs", false);
    api_server_handle(srv, "exec", verb_relay, "exec", false);
    if (!o->cfg.no_bootstrap)
        o->boot_timer = sk_loop_timer_add(loop, 0, boot_step, o);
    obj_ns_sweep_soon(o); /* namespaces left terminating by a restart */
    if (!o->cfg.no_bootstrap)
        obj_repair_start(o);
    return o;
}

void
api_objects_free(struct api_objects *o)
{
    if (!o)
        return;
    if (o->boot_timer)
        sk_loop_timer_cancel(o->loop, o->boot_timer);
    if (o->ns_timer)
        sk_loop_timer_cancel(o->loop, o->ns_timer);
    obj_repair_stop(o);
    obj_watches_detach(o);
    obj_ops_detach(o);
    obj_event_cache_release(&o->cache);
    free(o);
}
