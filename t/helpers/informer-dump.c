/* informer-dump: run an informer (api/informer.h) against a live skiffd
 * and print what its handlers see, one line each, as it happens:
 *
 *     informer-dump --server SOCK|HOST:PORT [--token T] [--ns NS]
 *                   [--selector SEL] [--fields SEL] [--seconds S]
 *                   [--event REASON] RESOURCE
 *
 *     ADD ns/name rv=N node=NODE
 *     UPDATE ns/name rv=OLD->NEW node=OLD->NEW
 *     DELETE ns/name rv=N
 *     SYNCED count=N
 *     RELIST lists=N                    (after a 410 Gone)
 *
 * On SIGTERM, SIGINT, or after S seconds it prints the cache, sorted, and
 * the node index, then exits 0:
 *
 *     CACHE ns/name rv=N node=NODE
 *     NODE node: name,name
 *     END count=N rev=N
 *
 * With --event REASON, every object added gets two identical Normal
 * events recorded through api_event_record (deduplicated into one Event
 * with count 2). Output is line-buffered so a test can follow it.
 * Exit status 2 on usage errors, 1 when the client cannot be set up. */
#include "api/aclient.h"
#include "api/events.h"
#include "api/informer.h"
#include "api/object.h"
#include "lib/json.h"
#include "lib/log.h"
#include "lib/loop.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dump {
    struct sk_loop *loop;
    struct api_aclient *c;
    struct api_informer *inf;
    const char *event_reason;
    unsigned lists;
};

static const char *
rv_of(const json_t *obj)
{
    const char *rv = json_string_value(sk_json_get(obj, "metadata.resourceVersion"));

    return rv ? rv : "";
}

static const char *
node_of(const json_t *obj)
{
    const char *n = json_string_value(sk_json_get(obj, "spec.nodeName"));

    return n && *n ? n : "-";
}

static void
print_key(const char *what, const json_t *obj)
{
    const char *ns = api_meta_namespace(obj);

    printf("%s %s%s%s", what, ns, *ns ? "/" : "", api_meta_name(obj));
}

/* A relist (after 410 Gone) shows as the list count going up. */
static void
note_relist(struct dump *d, struct api_informer *inf)
{
    if (d->lists && api_informer_lists(inf) != d->lists) {
        d->lists = api_informer_lists(inf);
        printf("RELIST lists=%u\n", d->lists);
    }
}

static void
on_add(struct api_informer *inf, const json_t *obj, void *arg)
{
    struct dump *d = arg;
    struct sk_err err;
    int i;

    note_relist(d, inf);
    print_key("ADD", obj);
    printf(" rv=%s node=%s\n", rv_of(obj), node_of(obj));
    for (i = 0; d->event_reason && i < 2; i++)
        if (api_event_record(d->c, obj, API_EVENT_NORMAL, d->event_reason, "seen by informer-dump",
                             "informer-dump", &err) < 0)
            fprintf(stderr, "informer-dump: event: %s\n", err.msg);
}

static void
on_update(struct api_informer *inf, const json_t *old, const json_t *obj, void *arg)
{
    struct dump *d = arg;

    note_relist(d, inf);
    if (old == obj)
        return; /* resync */
    print_key("UPDATE", obj);
    printf(" rv=%s->%s node=%s->%s\n", rv_of(old), rv_of(obj), node_of(old), node_of(obj));
}

static void
on_delete(struct api_informer *inf, const json_t *obj, void *arg)
{
    note_relist(arg, inf);
    print_key("DELETE", obj);
    printf(" rv=%s\n", rv_of(obj));
}

static void
on_synced(struct api_informer *inf, void *arg)
{
    struct dump *d = arg;

    d->lists = api_informer_lists(inf);
    printf("SYNCED count=%zu\n", api_informer_len(inf));
}

static const struct api_informer_handlers handlers = {
    .on_add = on_add,
    .on_update = on_update,
    .on_delete = on_delete,
    .on_synced = on_synced,
};

static int
print_node_member(const json_t *obj, void *arg)
{
    int *first = arg;

    printf("%s%s", *first ? " " : ",", api_meta_name(obj));
    *first = 0;
    return 0;
}

static void
dump_cache(struct dump *d)
{
    json_t *all = api_informer_list(d->inf, NULL, NULL), *obj, *nodes = json_object();
    const char *node;
    json_t *v;
    size_t i;

    json_array_foreach (all, i, obj) {
        print_key("CACHE", obj);
        printf(" rv=%s node=%s\n", rv_of(obj), node_of(obj));
        if (strcmp(node_of(obj), "-") != 0)
            json_object_set_new(nodes, node_of(obj), json_true());
    }
    json_object_foreach (nodes, node, v) {
        int first = 1;
        json_t *members = api_informer_list(d->inf, "node", node);

        printf("NODE %s:", node);
        json_array_foreach (members, i, obj)
            print_node_member(obj, &first);
        printf("\n");
        json_decref(members);
    }
    printf("END count=%zu rev=%llu\n", api_informer_len(d->inf),
           (unsigned long long)api_informer_rev(d->inf));
    json_decref(nodes);
    json_decref(all);
}

static void
on_stop(struct sk_loop *loop, void *arg)
{
    struct dump *d = arg;

    dump_cache(d);
    sk_loop_stop(loop);
}

static void
on_signal(struct sk_loop *loop, int signo, void *arg)
{
    on_stop(loop, arg);
}

static void
usage(void)
{
    fprintf(stderr, "usage: informer-dump --server ADDR [--token T] [--ns NS] [--selector SEL]\n"
                    "       [--fields SEL] [--seconds S] [--event REASON] RESOURCE\n");
    exit(2);
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'}, {"token", required_argument, NULL, 't'},
        {"ns", required_argument, NULL, 'n'},     {"selector", required_argument, NULL, 'l'},
        {"fields", required_argument, NULL, 'f'}, {"seconds", required_argument, NULL, 'S'},
        {"event", required_argument, NULL, 'e'},  {NULL, 0, NULL, 0},
    };
    struct api_aclient_config ccfg = {0};
    struct api_informer_config icfg = {0};
    struct dump d = {0};
    struct sk_err err;
    double seconds = 0;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            ccfg.server = optarg;
            break;
        case 't':
            ccfg.token = optarg;
            break;
        case 'n':
            icfg.ns = optarg;
            break;
        case 'l':
            icfg.selector = optarg;
            break;
        case 'f':
            icfg.fields = optarg;
            break;
        case 'S':
            seconds = atof(optarg);
            break;
        case 'e':
            d.event_reason = optarg;
            break;
        default:
            usage();
        }
    }
    if (!ccfg.server || optind != argc - 1)
        usage();
    icfg.resource = argv[optind];
    setvbuf(stdout, NULL, _IOLBF, 0);
    ccfg.backoff_initial_ms = 50;
    ccfg.backoff_max_ms = 1000;
    if (sk_loop_new(&d.loop, &err) < 0 || api_aclient_new(d.loop, &ccfg, &d.c, &err) < 0 ||
        api_informer_new(d.c, &icfg, &d.inf, &err) < 0 ||
        api_informer_add_index(d.inf, "node", api_index_pod_node, &err) < 0 ||
        sk_loop_signal_add(d.loop, SIGTERM, on_signal, &d, &err) < 0 ||
        sk_loop_signal_add(d.loop, SIGINT, on_signal, &d, &err) < 0) {
        fprintf(stderr, "informer-dump: %s\n", err.msg);
        return 1;
    }
    api_informer_add_handlers(d.inf, &handlers, &d);
    api_informer_start(d.inf);
    if (seconds > 0)
        sk_loop_timer_add(d.loop, (uint64_t)(seconds * 1000), on_stop, &d);
    if (sk_loop_run(d.loop, &err) < 0)
        fprintf(stderr, "informer-dump: %s\n", err.msg);
    api_informer_free(d.inf);
    api_aclient_free(d.c);
    sk_loop_free(d.loop);
    return 0;
}
