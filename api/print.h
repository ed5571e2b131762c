#ifndef API_PRINT_H
#define API_PRINT_H

/* The output layer of skiff(1): pure functions that turn Kubernetes-shaped
 * JSON objects into what users see, the way kubectl prints them. Nothing
 * here does I/O or reads the clock: the caller passes `now` (unix seconds)
 * and a buffer to append to.
 *
 * Objects come from the server and are trusted no more than user input:
 * a field of the wrong type reads as missing, so a table shows `<none>`
 * (or `<unknown>` for a time) instead of crashing. */

#include "api/object.h"
#include "lib/buf.h"
#include "lib/err.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum api_print_format {
    API_PRINT_TABLE = 0,   /* the default human table */
    API_PRINT_WIDE,        /* -o wide: the table with extra columns */
    API_PRINT_TSV,         /* -o tsv: the table's cells, tab-separated */
    API_PRINT_JSON,        /* -o json */
    API_PRINT_YAML,        /* -o yaml */
    API_PRINT_NAME,        /* -o name: "pod/web" */
    API_PRINT_JSONPATH,    /* -o jsonpath=TEMPLATE */
    API_PRINT_CUSTOM,      /* -o custom-columns=SPEC */
    API_PRINT_CUSTOM_FILE, /* -o custom-columns-file=PATH: the caller reads PATH and turns it
                            * into API_PRINT_CUSTOM with api_print_custom_columns_file() */
};

struct api_print_opts {
    enum api_print_format format;
    const char *tmpl;    /* jsonpath template or custom-columns spec */
    bool no_headers;     /* --no-headers */
    bool all_namespaces; /* -A: tables get a NAMESPACE column first */
    bool as_list;        /* objects from a list: json/yaml/jsonpath see a List even for one */
    int64_t now;         /* unix seconds, for ages */
};

/* Parse the argument of -o ("json", "wide", "jsonpath={.a}",
 * "custom-columns=A:.b") into o->format and o->tmpl (which points into
 * arg). Fails with -EINVAL "unknown output format 'x'" (allowed formats
 * listed) or "output format 'jsonpath' needs a template". */
int api_print_format_parse(const char *arg, struct api_print_opts *o, struct sk_err *err);

/* Print n objects of kind (may be NULL: the generic table; or mixed kinds
 * for -o json/yaml/name) in format o->format. -o json/yaml print one
 * object as itself and several (or o->as_list) as a v1 List. jsonpath and custom-columns
 * see the same object or List. Fails (-EINVAL) only on a malformed
 * template, before anything is appended. */
int api_print_objects(const struct api_kind *kind, json_t **objs, size_t n,
                      const struct api_print_opts *o, struct sk_buf *out, struct sk_err *err);

/* The human table (also -o wide and -o tsv, from o->format) with
 * kubectl's columns for kind; unknown kinds get NAME AGE. Events are
 * sorted by time, oldest first. Never fails. */
void api_print_table(const struct api_kind *kind, json_t **objs, size_t n,
                     const struct api_print_opts *o, struct sk_buf *out);

/* -o name: "<kind in lower case>/<name>" per object, one a line. */
void api_print_names(json_t **objs, size_t n, struct sk_buf *out);

/* ---- ages and times ---- */

/* kubectl's duration.HumanDuration of secs: "45s", "3m20s", "5h2m",
 * "3d4h", "2y10d"; "0s" for -1, "<invalid>" for less. */
void api_print_duration(int64_t secs, char *out, size_t outsz);

/* The age of an RFC 3339 timestamp (fractional seconds and offsets
 * accepted) at now, as above; "<unknown>" when ts is NULL, not a string
 * or malformed. */
void api_print_age(const json_t *ts, int64_t now, char *out, size_t outsz);

/* Parse an RFC 3339 timestamp into unix seconds; -1 when malformed. */
int api_print_time_parse(const char *s, int64_t *t);

/* ---- pods ---- */

#define API_PRINT_CELL_MAX 256

/* kubectl's printPod: the STATUS column ("Running", "Init:0/2",
 * "CrashLoopBackOff", "Completed", "Terminating", ...), the READY column
 * ("1/2") and RESTARTS ("3" or "3 (2m ago)"). */
struct api_pod_summary {
    char status[API_PRINT_CELL_MAX];
    char ready[32];
    char restarts[64];
};

void api_pod_summarize(const json_t *pod, int64_t now, struct api_pod_summary *s);

/* ---- templates ---- */

/* Evaluate a kubectl JSONPath template ("{.metadata.name}",
 * "{range .items[*]}{.metadata.name}{\"\\t\"}{end}", filters
 * "[?(@.type==\"Ready\")]", "..name", "$") on root, appending the text.
 * Missing keys print nothing (kubectl get's allowMissingKeys). Fails with
 * -EINVAL "jsonpath '<tmpl>' at position N: <problem>" and appends
 * nothing. */
int api_print_jsonpath(const char *tmpl, const json_t *root, struct sk_buf *out,
                       struct sk_err *err);

/* Check a template without evaluating it (same errors). */
int api_print_jsonpath_check(const char *tmpl, struct sk_err *err);

/* -o custom-columns=HEADER:EXPR,...: EXPR is a JSONPath with or without
 * braces (".metadata.name", "{.spec.nodeName}"); `<none>` when missing,
 * several results joined by ",". Fails with -EINVAL on a malformed spec,
 * appending nothing. */
int api_print_custom_columns(const char *spec, json_t **objs, size_t n, bool no_headers,
                             struct sk_buf *out, struct sk_err *err);

/* Turn the contents of a custom-columns file (kubectl's format: a line
 * of headers, then a line of as many expressions, separated by blanks)
 * into the -o custom-columns= spec "H1:E1,H2:E2", appended to spec.
 * Fails with -EINVAL "custom-columns file: ..." when a line is missing
 * or the counts differ. */
int api_print_custom_columns_file(const char *text, struct sk_buf *spec, struct sk_err *err);

/* ---- describe ---- */

/* `skiff describe`: aligned "Key:  value" blocks for Pod, Deployment,
 * Service, Node, Secret (sizes only, never values) and ConfigMap, a
 * generic form for the rest (metadata, then every
 * spec/status field), always ending in the Events table built from
 * events (a JSON array of Event objects, or NULL), oldest first, or
 * "Events:  <none>". */
void api_print_describe(const struct api_kind *kind, const json_t *obj, const json_t *events,
                        int64_t now, struct sk_buf *out);

/* describe with related objects (a JSON array, or NULL) the caller
 * fetched: a Deployment's ReplicaSets (OldReplicaSets, NewReplicaSet),
 * a Service's Endpoints (Endpoints line), the Pods bound to a Node
 * (Non-terminated Pods, Allocated resources). Without them those lines
 * read "<none>" / "<unknown>". */
void api_print_describe_related(const struct api_kind *kind, const json_t *obj,
                                const json_t *events, const json_t *related, int64_t now,
                                struct sk_buf *out);

#endif
