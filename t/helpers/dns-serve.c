/* dns-serve: the cluster DNS server on its own, for integration tests.
 *
 *     dns-serve --listen ADDR:PORT [--domain D] [--ttl S] [--upstream U]...
 *               [--timeout MS] [--port-file F] SERVICES.json [ENDPOINTS.json]
 *
 * Serves the zone built from the two files (a JSON list of Services and
 * one of Endpoints, as `skiff get svc,ep -o json` prints them) until
 * SIGTERM or SIGINT; SIGHUP reads the files again and swaps the new zone
 * in. Once listening it writes the port to F (written whole, then
 * renamed, so a reader never sees half of it). On exit it prints its
 * counters to standard error. */
#include "lib/log.h"
#include "net/dns.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct opts {
    struct dns_server_config cfg;
    struct dns_zone_options zopt;
    const char *port_file, *svc_file, *ep_file;
};

static struct dns_zone *
load(const struct opts *o)
{
    json_t *svcs = json_load_file(o->svc_file, 0, NULL);
    json_t *eps = o->ep_file ? json_load_file(o->ep_file, 0, NULL) : NULL;
    struct dns_zone *z = NULL;
    struct sk_err err;

    sk_err_init(&err);
    if (!svcs || (o->ep_file && !eps))
        fprintf(stderr, "dns-serve: cannot read '%s' or '%s' as JSON\n", o->svc_file,
                o->ep_file ? o->ep_file : "");
    else if (dns_zone_build(&o->zopt, svcs, eps, &z, &err) < 0)
        fprintf(stderr, "dns-serve: %s\n", err.msg);
    json_decref(svcs);
    json_decref(eps);
    return z;
}

struct state {
    const struct opts *o;
    struct dns_server *srv;
};

static void
on_signal(struct sk_loop *loop, int signo, void *arg)
{
    struct state *st = arg;
    struct dns_zone *z;

    if (signo != SIGHUP) {
        sk_loop_stop(loop);
        return;
    }
    z = load(st->o);
    if (z)
        dns_server_set_zone(st->srv, z);
    fprintf(stderr, "dns-serve: reloaded: %s\n", z ? "ok" : "kept the old zone");
}

static int
parse_args(int argc, char **argv, struct opts *o)
{
    int i;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-')
            break;
        if (!v)
            return -1;
        i++;
        if (strcmp(a, "--listen") == 0)
            o->cfg.listen = v;
        else if (strcmp(a, "--domain") == 0)
            o->zopt.domain = v;
        else if (strcmp(a, "--ttl") == 0)
            o->zopt.ttl = (uint32_t)atoi(v);
        else if (strcmp(a, "--timeout") == 0)
            o->cfg.upstream_timeout_ms = atoi(v);
        else if (strcmp(a, "--port-file") == 0)
            o->port_file = v;
        else if (strcmp(a, "--upstream") == 0 && o->cfg.nupstream < DNS_UPSTREAM_MAX)
            o->cfg.upstream[o->cfg.nupstream++] = v;
        else
            return -1;
    }
    if (i >= argc || argc - i > 2 || !o->cfg.listen)
        return -1;
    o->svc_file = argv[i];
    o->ep_file = i + 1 < argc ? argv[i + 1] : NULL;
    return 0;
}

static void
write_port(const char *path, int port)
{
    char tmp[4096];
    FILE *f;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    f = fopen(tmp, "w");
    if (!f || fprintf(f, "%d\n", port) < 0 || fclose(f) != 0 || rename(tmp, path) != 0) {
        fprintf(stderr, "dns-serve: cannot write '%s'\n", path);
        exit(1);
    }
}

int
main(int argc, char **argv)
{
    struct opts o;
    struct state st = {&o, NULL};
    struct dns_metrics m;
    struct sk_loop *loop;
    struct dns_zone *z;
    struct sk_err err;
    unsigned rc;

    memset(&o, 0, sizeof(o));
    o.cfg.cache_entries = 256;
    if (parse_args(argc, argv, &o) < 0) {
        fprintf(stderr, "usage: dns-serve --listen ADDR:PORT [--domain D] [--ttl S] "
                        "[--upstream U]... [--timeout MS] [--port-file F] SERVICES.json "
                        "[ENDPOINTS.json]\n");
        return 2;
    }
    sk_err_init(&err);
    if (!(z = load(&o)) || sk_loop_new(&loop, &err) < 0 ||
        dns_server_new(loop, &o.cfg, z, &st.srv, &err) < 0) {
        fprintf(stderr, "dns-serve: %s\n", err.msg);
        return 1;
    }
    sk_loop_signal_add(loop, SIGTERM, on_signal, &st, NULL);
    sk_loop_signal_add(loop, SIGINT, on_signal, &st, NULL);
    sk_loop_signal_add(loop, SIGHUP, on_signal, &st, NULL);
    if (o.port_file)
        write_port(o.port_file, dns_server_port(st.srv));
    sk_loop_run(loop, &err);
    dns_server_metrics(st.srv, &m);
    fprintf(stderr, "dns-serve: queries udp %llu tcp %llu, forwarded %llu, cache hits %llu",
            (unsigned long long)m.queries_udp, (unsigned long long)m.queries_tcp,
            (unsigned long long)m.forwarded, (unsigned long long)m.cache_hits);
    for (rc = 0; rc < 16; rc++)
        if (m.rcode[rc])
            fprintf(stderr, ", rcode %u: %llu", rc, (unsigned long long)m.rcode[rc]);
    fprintf(stderr, "\n");
    dns_server_free(st.srv);
    sk_loop_free(loop);
    return 0;
}
