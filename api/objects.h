#ifndef SK_API_OBJECTS_H
#define SK_API_OBJECTS_H

/* The object verbs of the API server (skiff-protocol(7), OBJECT VERBS):
 * get, list, create, apply, update, status, patch, bind, scale, delete,
 * watch, api-resources, whoami (logs and exec answer 501 until the node
 * agent relays them). Objects live in the store as compact JSON under
 * api_key_build() keys; their resourceVersion is the key's mod_revision,
 * set whenever an object is read. Writes run the pure pipeline of
 * api/object.h and commit with a store txn that compares the revision
 * they read (optimistic concurrency, as Kubernetes's GuaranteedUpdate).
 *
 * The rest of this header is the pure part (request parsing, merge
 * patch, selectors on objects, continue tokens, watch event decisions),
 * exported for the unit tests. */

#include "api/object.h"
#include "api/server.h"
#include "lib/buf.h"
#include "lib/err.h"
#include "lib/loop.h"
#include "lib/selector.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct api_objects;

/* ---- Service cluster IPs and node ports (svc_alloc.c) ----
 *
 * The API server hands out Service cluster IPs from the service network
 * and node ports from the node port range, as kube-apiserver does. Each
 * value in use is claimed by a key of its own, written in the same store
 * txn as the Service (created under a create_revision == 0 compare) and
 * deleted in the same txn as the Service's removal, so two Services
 * never hold one value, whichever server or leader handles them:
 *
 *     /registry/ranges/serviceips/<a.b.c.d>        {"kind":"Service",
 *     /registry/ranges/servicenodeports/<port>      "namespace":..,
 *                                                   "name":..,"uid":..}
 *
 * One key per value rather than kube-apiserver's bitmap key: creates of
 * different values do not conflict, and a create writes a few bytes, not
 * the whole bitmap (128 KiB for a /12). A repair on the leader
 * (objects_repair.c) claims values that Services stored without claims
 * hold and drops claims nobody holds. */

#define API_SERVICE_CIDR_DEFAULT    "10.96.0.0/12"
#define API_NODE_PORT_RANGE_DEFAULT "30000-32767"
#define API_CLAIM_IP_PREFIX         "/registry/ranges/serviceips/"
#define API_CLAIM_PORT_PREFIX       "/registry/ranges/servicenodeports/"

/* A range of values base .. base + size - 1 (IPv4 addresses in host
 * byte order, or ports); values are handled as offsets from base. */
struct api_alloc_range {
    uint32_t base;
    uint32_t size;
    uint32_t first, last; /* the offsets a Service may ask for */
    uint32_t dyn_first;   /* offsets below it are only given when asked for */
    /* KEP-3070 (and KEP-3668 for ports): offsets dyn_first .. band - 1
     * are picked only once the rest is full, so that values users pick
     * by hand, usually low ones, rarely collide with picked ones. */
    uint32_t band;
    char text[32]; /* as configured, for messages */
};

/* The service network "10.96.0.0/12" (a /12 to a /30 without host bits):
 * the network and broadcast addresses are never claimed, the first
 * address is kept for the kubernetes service (only given when asked
 * for). -EINVAL naming the value. */
int api_alloc_ip_range_parse(const char *cidr, struct api_alloc_range *r, struct sk_err *err);
/* The node port range "30000-32767" (lib/config.h's syntax). */
int api_alloc_port_range_parse(const char *s, struct api_alloc_range *r, struct sk_err *err);

/* Whether offset v is in use. */
typedef bool (*api_alloc_taken_fn)(void *arg, uint32_t v);

/* Try up to probes random offsets (rnd gives uniform 32-bit values) in
 * the upper part of the range (band .. last) and return the first free
 * one, or -1. Cheap while the range is mostly free. */
int64_t api_alloc_probe(const struct api_alloc_range *r, api_alloc_taken_fn taken, void *arg,
                        uint32_t (*rnd)(void *), void *rnd_arg, unsigned probes);
/* The exhaustive search: scan the taken bitmap (bit v of byte v / 8 is
 * offset v; size bits) for a free offset from start (reduced into each
 * part), first in the upper part (band .. last, wrapping), then in the
 * lower part (dyn_first .. band - 1, wrapping); -1 when full. */
int64_t api_alloc_scan(const struct api_alloc_range *r, const uint8_t *bitmap, uint32_t start);

/* The claim key of a cluster IP (host byte order) or a node port,
 * appended to out. */
void api_claim_key_ip(uint32_t ip, struct sk_buf *out);
void api_claim_key_port(uint32_t port, struct sk_buf *out);
/* The value a claim key names (the key must start with the prefix of
 * its kind: ip true for cluster IPs); -1 when it is not a canonical
 * key of that kind. */
int api_claim_key_parse(const char *key, size_t len, bool ip, uint32_t *value);

/* What a Service holds: its cluster IP (an IPv4 address, not "None")
 * and its distinct non-zero node ports, sorted. */
#define API_SVC_MAX_CLAIMS 256
struct api_svc_claims {
    bool overflow; /* more distinct node ports than fit */
    bool has_ip;
    uint32_t ip;
    size_t nports;
    uint32_t ports[API_SVC_MAX_CLAIMS];
};
/* Fill c from svc (any JSON; NULL holds nothing). Node ports beyond
 * API_SVC_MAX_CLAIMS are left out and set overflow. */
void api_svc_claims_of(const json_t *svc, struct api_svc_claims *c);

/* Kubernetes's update rules for what the server allocated, applied to
 * obj (the client's new Service, before defaulting) from old (the
 * stored one): a cluster IP and node ports the client left out (absent,
 * "" or 0) are kept while the type still needs them, matched by port
 * number and protocol; when the type changes so that it no longer needs
 * them (to ExternalName; from NodePort or LoadBalancer to ClusterIP),
 * those the client left unchanged are dropped, as kube-apiserver's
 * patchAllocatedValues and dropTypeDependentFields do. */
void api_svc_keep_allocated(const json_t *old, json_t *obj);

struct api_objects_config {
    api_authorize_fn authorize; /* NULL: every request is allowed */
    void *authorize_arg;
    api_admit_fn admit; /* NULL: every write is admitted */
    void *admit_arg;
    bool no_bootstrap; /* do not create the default namespaces (tests) */
    /* Where Service cluster IPs and node ports come from; a range of
     * size 0 takes the default (API_SERVICE_CIDR_DEFAULT,
     * API_NODE_PORT_RANGE_DEFAULT). */
    struct api_alloc_range service_ips;
    struct api_alloc_range node_ports;
};

/* Register the object verbs on srv, serving store s. cfg may be NULL
 * (allow everything). At start the default namespaces (default,
 * kube-system, kube-public, kube-node-lease) are created in the
 * background, retried until a leader accepts them. Free with
 * api_objects_free after api_server_stop and before store_close. */
struct api_objects *api_objects_register(struct api_server *srv, struct sk_loop *loop,
                                         struct store *s, const struct api_objects_config *cfg);
void api_objects_free(struct api_objects *o);

/* ---- request parsing (objects_args.c) ---- */

enum api_obj_verb {
    API_OBJ_GET,
    API_OBJ_LIST,
    API_OBJ_WATCH,
    API_OBJ_CREATE,
    API_OBJ_APPLY,
    API_OBJ_UPDATE,
    API_OBJ_STATUS,
    API_OBJ_PATCH,
    API_OBJ_BIND,
    API_OBJ_SCALE,
    API_OBJ_DELETE,
};

/* The arguments of one object request. Strings point into the argument
 * text given to api_obj_args_parse (decoded in place). */
struct api_obj_args {
    enum api_obj_verb verb;
    const struct api_kind *kind; /* NULL for bodies (create ... status) */
    const char *ns;              /* "" cluster-scoped, or all namespaces */
    const char *name;            /* "" when not given */
    const char *node;            /* bind */
    const char *body;            /* the JSON text, raw; NULL when none */
    size_t body_len;
    const char *selector; /* "" when not given */
    const char *fields;
    const char *cont;
    const char *subresource; /* "" or "status" (patch) */
    const char *uid;         /* bind, delete precondition; NULL */
    int64_t rev;             /* rev=; -1 when not given */
    int64_t limit;           /* 0: none */
    int64_t grace;           /* -1: the object's default */
    enum api_propagation propagation;
    int64_t replicas; /* scale */
    bool bookmarks;   /* watch */
    bool dry_run;     /* create, apply, update, patch: run everything, write nothing */
};

/* Parse the arguments of verb (the text after the verb; modified in
 * place). Words before the first one starting with '{' are split on
 * spaces and percent-decoded; `key=value` words are options, the others
 * positionals; the rest of the line from that '{' on is the JSON body,
 * taken raw. Fails with -EBADMSG (400: usage, bad option) or -ENOENT
 * (404: the server has no such resource type). */
int api_obj_args_parse(enum api_obj_verb verb, char *args, struct api_obj_args *a,
                       struct sk_err *err);

/* ---- merge patch (objects_patch.c) ---- */

/* RFC 7386 JSON merge patch: a new reference to target with patch
 * applied (target is not changed; NULL target is null). A patch that is
 * not an object replaces the target; null members delete. */
json_t *api_merge_patch(const json_t *target, const json_t *patch);

/* ---- selectors on objects (objects_filter.c) ---- */

/* One field selector term: label (op) value. */
struct api_field_term {
    char *label;
    char *value;
    bool negate; /* != */
};

struct api_obj_filter {
    const struct api_kind *kind;
    struct sk_selector labels;
    struct api_field_term *terms;
    size_t nterms;
};

/* Parse a label selector (lib/selector.h syntax) and a field selector
 * (`spec.nodeName=n1,status.phase!=Running`; `==` as `=`; a backslash
 * escapes ',', '=', '!' and itself in values) for objects of kind k.
 * NULL or "" selects everything. Field labels the kind does not support
 * fail with -EBADMSG "field label not supported: <label>". f must be
 * released with api_obj_filter_release, also after a failure. */
int api_obj_filter_parse(struct api_obj_filter *f, const struct api_kind *k, const char *labels,
                         const char *fields, struct sk_err *err);
void api_obj_filter_release(struct api_obj_filter *f);
/* True when the filter selects everything (no need to parse objects). */
bool api_obj_filter_all(const struct api_obj_filter *f);
/* Whether obj (a parsed object of the filter's kind) is selected. */
bool api_obj_filter_match(const struct api_obj_filter *f, const json_t *obj);

/* ---- continue tokens (objects_filter.c) ---- */

/* A list's continue token: the list's revision and the key to resume
 * after, relative to the list's key prefix, base64url-encoded (no
 * characters that need percent-encoding). */
void api_obj_continue_encode(int64_t rev, const char *rel_key, size_t len, struct sk_buf *out);
/* Decode a token into *rev and rel_key (appended). -EBADMSG when
 * malformed. */
int api_obj_continue_decode(const char *token, int64_t *rev, struct sk_buf *rel_key,
                            struct sk_err *err);

/* ---- watch events (objects_filter.c) ---- */

enum api_watch_event {
    API_WATCH_NONE,
    API_WATCH_ADDED,
    API_WATCH_MODIFIED,
    API_WATCH_DELETED,
};

/* What a watcher sees of one store event: deleted (a delete, else a
 * put), had_prev (the key existed before), prev_match and cur_match
 * (the filter selects the previous / the new object; cur_match is
 * ignored for a delete). An object that starts matching is ADDED, one
 * that stops matching is DELETED, as Kubernetes's watch cache does. */
enum api_watch_event api_watch_event_type(bool deleted, bool had_prev, bool prev_match,
                                          bool cur_match);
/* "ADDED", "MODIFIED", "DELETED". */
const char *api_watch_event_name(enum api_watch_event t);

/* ---- rendering (objects_filter.c) ---- */

/* Append the stored object text (compact JSON) to out with
 * metadata.resourceVersion set to rev, without parsing it: the field is
 * inserted at the start of the top-level "metadata" object (any stored
 * resourceVersion is assumed absent). Returns 0, or -EBADMSG (out
 * unchanged) when the text has no top-level metadata object. */
int api_obj_render(const char *json, size_t len, int64_t rev, struct sk_buf *out);

#endif
