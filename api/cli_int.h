#ifndef API_CLI_INT_H
#define API_CLI_INT_H

/* Private pieces shared by api/cli*.c, the verbs of skiff(1): the
 * session and its requests, flags, TYPE/NAME references, manifests, and
 * the pure helpers of each verb group (tested by t/unit/test_cli_*.c).
 *
 * Conventions: helpers that can fail return <0 with err set; the error
 * codes say what kind of failure it was so cli_report() can pick the
 * exit status: -ENOENT not found (3), -EACCES denied (5), -ETIMEDOUT
 * (6), -EHOSTUNREACH unreachable (4), -EINVAL usage (2), others 1. Verb
 * functions (cli_cmd_*) return an exit status. */

#include "api/cli.h"
#include "api/client.h"
#include "api/object.h"
#include "api/print.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- the session ---- */

struct cli {
    const char *server;
    const char *token;
    bool verbose;
    const char *ns; /* -n given before the verb, or NULL */
    struct api_client cl;
    bool connected;
};

void cli_close(struct cli *c);

/* Exit status for a negative return of these helpers (see above). */
int cli_exit_of(int rc);
/* Print "skiff: <err>" on stderr and return cli_exit_of(rc). */
int cli_report(int rc, const struct sk_err *err);
/* The error of a server answer (resp not ok) as a negative code with
 * err set to the server's message: 404 -ENOENT, 401/403 -EACCES,
 * 408/504 -ETIMEDOUT, 409 -EEXIST, 410 -ESTALE, 422/400 -EBADMSG,
 * 501 -ENOSYS, others -EREMOTEIO. */
int cli_resp_error(const struct api_resp *resp, struct sk_err *err);

/* Send one request line and read its answer on the session's
 * connection (opened on first use). Returns 0 with resp holding an ok
 * answer (release it), or <0 with err set and resp empty: an error
 * answer (cli_resp_error) or a failed connection (-EHOSTUNREACH,
 * -ETIMEDOUT, -EACCES). */
int cli_do(struct cli *c, const char *line, struct api_resp *resp, struct sk_err *err);

/* ---- requests (skiff-protocol(7) words) ---- */

/* Append " word", percent-encoded: a space, '%' and bytes outside
 * printable ASCII become %XX. */
void cli_put_word(struct sk_buf *line, const char *word);
/* Append " key=value" with value percent-encoded. */
void cli_put_opt(struct sk_buf *line, const char *key, const char *value);
/* Append " " and v as compact one-line JSON (the raw last word). */
int cli_put_json(struct sk_buf *line, const json_t *v, struct sk_err *err);
/* Append " RESOURCE" and, for namespaced kinds, " NS" (ns "*" or NULL
 * for every namespace: "*"). */
void cli_put_target(struct sk_buf *line, const struct api_kind *k, const char *ns);

/* The value of key=VALUE among the status words ("rev=12 created"),
 * copied into out; 1 when found, 0 when not. */
int cli_status_value(const char *status, const char *key, char *out, size_t outsz);
/* The last word of the status ("created"), or "". */
const char *cli_status_last(const char *status);

/* ---- objects ---- */

struct cli_objs {
    json_t **items;
    size_t n;
    uint64_t rev;
};

void cli_objs_release(struct cli_objs *o);
/* Parse every body line of resp as an object, appending to o. */
int cli_objs_from_resp(const struct api_resp *resp, struct cli_objs *o, struct sk_err *err);

/* get RESOURCE [NS] NAME. */
int cli_get(struct cli *c, const struct api_kind *k, const char *ns, const char *name, json_t **out,
            struct sk_err *err);
/* list RESOURCE [NS|*] [selector=] [fields=], following continue
 * tokens; selector/fields NULL or "" for none. */
int cli_list(struct cli *c, const struct api_kind *k, const char *ns, const char *selector,
             const char *fields, struct cli_objs *out, struct sk_err *err);

/* The string at path in obj (lib/json.h paths), or "" when absent. */
const char *cli_str(const json_t *obj, const char *path);

/* "pod/web": the singular of the kind and the name. */
void cli_obj_ref(const struct api_kind *k, const json_t *obj, char *out, size_t outsz);

/* ---- watch streams ---- */

struct cli_watch {
    struct api_client cl;
    bool open;
};

/* Open a connection and send `line` (a watch request); reads the
 * "ok watch rev=N" line. */
int cli_watch_start(struct cli *c, const char *line, struct cli_watch *w, struct sk_err *err);
/* The next event: 1 with type ("ADDED", "MODIFIED", "DELETED") and
 * *obj (a new reference); BOOKMARK lines are skipped. 0 when timeout_ms
 * (-1: none) passed without one. <0 when the stream ended: -ESTALE for
 * a 410 with a resume revision in *resume (0 when none), -ECONNRESET
 * when the server closed it. */
int cli_watch_next(struct cli_watch *w, int timeout_ms, char type[16], json_t **obj,
                   uint64_t *resume, struct sk_err *err);
void cli_watch_close(struct cli_watch *w);

/* ---- flags ---- */

enum cli_flag {
    CLI_F_NS = 1u << 0,          /* -n, --namespace */
    CLI_F_ALL_NS = 1u << 1,      /* -A, --all-namespaces */
    CLI_F_OUTPUT = 1u << 2,      /* -o, --output */
    CLI_F_SELECTOR = 1u << 3,    /* -l, --selector */
    CLI_F_FIELDS = 1u << 4,      /* --field-selector */
    CLI_F_NO_HEADERS = 1u << 5,  /* --no-headers */
    CLI_F_WATCH = 1u << 6,       /* -w, --watch, --watch-only */
    CLI_F_FILE = 1u << 7,        /* -f, --filename (repeatable) */
    CLI_F_GRACE = 1u << 8,       /* --grace-period */
    CLI_F_WAIT = 1u << 9,        /* --wait[=BOOL] */
    CLI_F_TIMEOUT = 1u << 10,    /* --timeout */
    CLI_F_OVERWRITE = 1u << 11,  /* --overwrite */
    CLI_F_REPLICAS = 1u << 12,   /* --replicas */
    CLI_F_REVISION = 1u << 13,   /* --to-revision, --revision */
    CLI_F_FORCE = 1u << 14,      /* --force */
    CLI_F_DRAIN = 1u << 15,      /* --ignore-daemonsets, --delete-emptydir-data */
    CLI_F_ALL = 1u << 16,        /* --all */
    CLI_F_FOR = 1u << 17,        /* --for */
    CLI_F_LOGS = 1u << 18,       /* -c, -f (follow), --tail, --previous */
    CLI_F_DELETE = 1u << 19,     /* --ignore-not-found, --cascade */
    CLI_F_NAMESPACED = 1u << 20, /* --namespaced */
    CLI_F_DRY_RUN = 1u << 21,    /* --dry-run[=none|client|server] */
    CLI_F_CONTAINERS = 1u << 22, /* --containers (top pods) */
};

struct cli_flags {
    unsigned given; /* enum cli_flag bits of the flags given */
    const char *ns;
    bool all_ns;
    const char *output;
    const char *selector;
    const char *fields;
    bool no_headers;
    bool watch, watch_only;
    const char **files;
    size_t nfiles;
    int64_t grace; /* -1: the object's default */
    bool wait;
    uint64_t timeout_ms; /* 0: no limit */
    bool overwrite;
    int64_t replicas; /* -1: not given */
    int64_t revision; /* 0: not given */
    bool force;
    bool ignore_daemonsets, delete_emptydir;
    bool all;
    const char *for_obj;
    const char *container;
    bool follow, previous;
    int64_t tail; /* -1: all */
    bool ignore_not_found;
    const char *cascade; /* background|foreground|orphan, or NULL */
    int namespaced;      /* --namespaced: -1 not given, 0 false, 1 true */
    const char *dry_run; /* "client", "server", or NULL (none) */
    bool containers;     /* top pods --containers */
    int nargs;
    char **args; /* the positional arguments (into argv) */
};

/* Parse the flags of one verb (argv[0] is the verb) allowing only the
 * `allowed` ones; GNU style, flags and arguments in any order, "--" ends
 * flags. Fails with -EINVAL "unknown flag '--x'", "flag '--grace-period'
 * needs an integer", ... Release with cli_flags_release. */
int cli_flags_parse(int argc, char **argv, unsigned allowed, struct cli_flags *f,
                    struct sk_err *err);
void cli_flags_release(struct cli_flags *f);

/* The namespace a verb works in: --namespace, then -n before the verb,
 * then "default". */
const char *cli_namespace(const struct cli *c, const struct cli_flags *f);

/* ---- TYPE NAME... references ---- */

struct cli_ref {
    const struct api_kind *kind;
    const char *name; /* NULL: every object of the kind */
};

struct cli_refs {
    struct cli_ref *items;
    size_t n;
    size_t nkinds; /* distinct kinds named */
};

/* Parse kubectl's forms: "TYPE", "TYPE1,TYPE2", "TYPE NAME...",
 * "TYPE1,TYPE2 NAME..." (every type with every name), "TYPE/NAME...".
 * "all" stands for pods,services,deployments,replicasets. Fails with
 * -EINVAL (a usage error): `the server doesn't have a resource type
 * "x"`, an empty argument list, a mix of TYPE/NAME and TYPE NAME forms. */
int cli_refs_parse(int nargs, char **args, struct cli_refs *refs, struct sk_err *err);
void cli_refs_release(struct cli_refs *refs);

/* ---- manifests (cli_apply.c) ---- */

/* Read the objects of -f PATH: "-" is standard input, a directory
 * means its *.yaml, *.yml and *.json files in name order (not
 * recursive), anything else one file; YAML multi-doc or JSON, Lists
 * unwrapped (sk_manifest_parse). Appends to docs. Errors name the file. */
int cli_manifest_read(const char *path, struct cli_objs *docs, struct sk_err *err);

/* Settle the namespace of a manifest object: a namespaced kind without
 * metadata.namespace gets ns; one whose namespace differs from an
 * explicit -n (ns_explicit) is refused as kubectl refuses it. *kind
 * receives the kind (-EBADMSG when unknown). */
int cli_manifest_namespace(json_t *obj, const char *ns, bool ns_explicit,
                           const struct api_kind **kind, struct sk_err *err);

/* ---- merge patches (cli_label.c) ---- */

/* The RFC 7386 merge patch that turns from into to: changed and new
 * keys of objects (recursively), null for removed keys, other values
 * (arrays included) whole. A new reference; an empty object when equal. */
json_t *cli_merge_patch_diff(const json_t *from, const json_t *to);

/* `label`/`annotate` arguments: "key=value" sets, "key-" removes. Build
 * the merge patch {"metadata":{field:{...}}} for obj (field is "labels"
 * or "annotations"). Without overwrite, changing an existing value fails
 * with -EEXIST "'key' already has a value (old), and --overwrite is
 * false". A removal of an absent key is skipped with a warning appended
 * to warn (one line each). *changed says whether the patch changes obj. */
int cli_meta_patch_build(const json_t *obj, const char *field, int nargs, char **args,
                         bool overwrite, json_t **patch, bool *changed, struct sk_buf *warn,
                         struct sk_err *err);

/* ---- nodes (cli_node.c) ---- */

/* Apply `taint` arguments ("key=value:Effect", "key:Effect", removal
 * "key:Effect-", "key=value:Effect-" or "key-") to a copy of taints (a
 * JSON array or NULL); NoExecute taints get timeAdded from now. Fails
 * with -EINVAL for a malformed argument or effect, -EEXIST for an
 * existing key and effect without overwrite, -ENOENT for a removal that
 * matches nothing. *out is the new array; *added and *removed count the
 * changes. */
int cli_taints_apply(const json_t *taints, int nargs, char **args, bool overwrite, int64_t now,
                     json_t **out, int *added, int *removed, struct sk_err *err);

enum cli_drain_action {
    CLI_DRAIN_DELETE,  /* delete it */
    CLI_DRAIN_SKIP,    /* leave it (mirror pod, daemon pod with --ignore-daemonsets) */
    CLI_DRAIN_REFUSE,  /* refuse to drain (reason says why and which flag overrides) */
    CLI_DRAIN_WARN_DEL /* delete it, but say why it is unusual (--force, emptyDir) */
};

/* What drain does with pod (kubectl's filters): finished pods go;
 * mirror pods are skipped; DaemonSet pods refuse unless
 * ignore_daemonsets; pods with no controller refuse unless force; pods
 * with emptyDir volumes refuse unless delete_emptydir. reason gets a
 * short phrase for warnings and refusals. */
enum cli_drain_action cli_drain_classify(const json_t *pod, bool force, bool ignore_daemonsets,
                                         bool delete_emptydir, char *reason, size_t reasonsz);

/* ---- rollout (cli_rollout.c) ---- */

/* kubectl's DeploymentStatusViewer: msg gets the line to print; returns
 * 1 when the rollout is complete, 0 while waiting, -1 when it failed
 * (progress deadline exceeded). */
int cli_rollout_status_eval(const json_t *deploy, char *msg, size_t msgsz);

/* The revision of a ReplicaSet (its deployment.kubernetes.io/revision
 * annotation), or -1. */
int64_t cli_rs_revision(const json_t *rs);
/* The ReplicaSets in rsets owned by deploy (controller ownerReference
 * with its uid), sorted by revision; a new array of borrowed
 * references. */
json_t *cli_rs_owned(const json_t *deploy, const json_t *const *rsets, size_t n);
/* The pod template to roll back to: of revision `to` (0: the newest
 * revision below the current one), without the pod-template-hash label
 * the controller adds. A new reference, or NULL with err. */
json_t *cli_rollback_template(const json_t *deploy, const json_t *owned, int64_t to,
                              int64_t *rev_out, struct sk_err *err);

/* ---- the verbs ---- */

int cli_cmd_get(struct cli *c, int argc, char **argv);
int cli_cmd_describe(struct cli *c, int argc, char **argv);
int cli_cmd_events(struct cli *c, int argc, char **argv);
int cli_cmd_apply(struct cli *c, int argc, char **argv);
int cli_cmd_create(struct cli *c, int argc, char **argv);
int cli_cmd_delete(struct cli *c, int argc, char **argv);
int cli_cmd_edit(struct cli *c, int argc, char **argv);
int cli_cmd_label(struct cli *c, int argc, char **argv);
int cli_cmd_annotate(struct cli *c, int argc, char **argv);
int cli_cmd_scale(struct cli *c, int argc, char **argv);
int cli_cmd_rollout(struct cli *c, int argc, char **argv);
int cli_cmd_cordon(struct cli *c, int argc, char **argv);
int cli_cmd_uncordon(struct cli *c, int argc, char **argv);
int cli_cmd_drain(struct cli *c, int argc, char **argv);
int cli_cmd_taint(struct cli *c, int argc, char **argv);
int cli_cmd_api_resources(struct cli *c, int argc, char **argv);
int cli_cmd_logs(struct cli *c, int argc, char **argv);
int cli_cmd_exec(struct cli *c, int argc, char **argv);
int cli_cmd_top(struct cli *c, int argc, char **argv);
int cli_cmd_completion(struct cli *c, int argc, char **argv);
int cli_cmd_wait(struct cli *c, int argc, char **argv);
int cli_cmd_diff(struct cli *c, int argc, char **argv);

/* Wait until the object is gone (404, or one of that name with another
 * uid than uid, when given) or timeout_ms (0: no limit) passes: 0,
 * -ETIMEDOUT, or another failure. */
int cli_wait_deleted(struct cli *c, const struct api_kind *k, const char *ns, const char *name,
                     const char *uid, uint64_t timeout_ms, struct sk_err *err);

/* Print objects to stdout in the -o format of f (table by default);
 * custom-columns-file is read here. Returns an exit status. */
int cli_print(const struct api_kind *k, json_t **objs, size_t n, const struct cli_flags *f,
              bool as_list, bool all_ns);

/* Milliseconds on the monotonic clock. */
int64_t cli_now_ms(void);

/* cli_exec.c: the rest of an interactive exec stream after its "ok
 * stream" line, on sock (lb: what was read of it already): our stdin
 * goes out as frames when want_stdin, our terminal is raw while tty
 * (and stdin is one) and its size follows SIGWINCH. Returns the
 * command's exit status, 128+N when signal N ended the session, or <0
 * with err set. */
int cli_exec_session(int sock, struct sk_linebuf *lb, bool want_stdin, bool tty,
                     struct sk_err *err);

#endif
