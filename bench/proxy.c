/* bench/proxy: time of a proxy sync (render + one libnftables
 * transaction) for S services with 10 endpoints each: the first, full
 * sync, then a sync after one endpoint of one service changed, and the
 * render alone.
 *
 *     bench/proxy [--quick] [--services S ...]
 *
 * Needs root. Runs in a private network namespace of this process, so
 * the host's nftables ruleset is never touched and the table vanishes on
 * exit. Prints "result proxy sync_full_ms_s<S>", "sync_one_ms_s<S>" and
 * "render_ms_s<S>"; for S = 1000 also the brief's
 * "result proxy sync_ms_1000svc". Each sync replaces the whole table
 * (see net/proxy_rules.c), so a one-endpoint change costs about as much
 * as a full sync. */
#include "lib/buf.h"
#include "net/proxy.h"

#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Service i: clusterIP 10.96.x.y, port 80 -> 8080 on 10 endpoints in
 * 10.128.0.0/9; shift moves service 0's first endpoint. */
static void
make_world(int s, int shift, json_t **svcs, json_t **eps)
{
    int i, j;

    *svcs = json_array();
    *eps = json_array();
    for (i = 0; i < s; i++) {
        char name[32], cip[32], ip[32];
        json_t *addrs = json_array();

        snprintf(name, sizeof(name), "svc%d", i);
        snprintf(cip, sizeof(cip), "10.96.%d.%d", (i + 1) / 256, (i + 1) % 256);
        json_array_append_new(*svcs, json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:s,s:i,s:i}]}}",
                                               "metadata", "namespace", "bench", "name", name,
                                               "spec", "clusterIP", cip, "ports", "name", "http",
                                               "port", 80, "targetPort", 8080));
        for (j = 0; j < 10; j++) {
            int n = i * 10 + j + (i == 0 && j == 0 ? shift : 0);

            snprintf(ip, sizeof(ip), "10.%d.%d.%d", 128 + n / 65536, n / 256 % 256, n % 256);
            json_array_append_new(addrs, json_pack("{s:s,s:s}", "ip", ip, "nodeName", "n1"));
        }
        json_array_append_new(*eps,
                              json_pack("{s:{s:s,s:s},s:[{s:o,s:[{s:s,s:i}]}]}", "metadata",
                                        "namespace", "bench", "name", name, "subsets", "addresses",
                                        addrs, "ports", "name", "http", "port", 8080));
    }
}

static int
bench_one(int s)
{
    struct net_proxy_node node = {"n1", NULL, 0, {{0}, 0}, 0, {{0}, 0}};
    json_t *svcs, *eps, *eps2;
    struct net_proxy *p;
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    double t0, full, one, render;

    sk_err_init(&err);
    net_cidr_parse("10.128.0.0/9", false, &node.cluster_cidr, NULL);
    make_world(s, 7777, &svcs, &eps2);
    json_decref(svcs);
    make_world(s, 0, &svcs, &eps);
    if (net_proxy_new(&p, -1, &node, &err) < 0)
        goto out_fail;
    t0 = now_ms();
    if (net_proxy_render(svcs, eps, &node, &b, NULL, &err) < 0)
        goto out_fail;
    render = now_ms() - t0;
    t0 = now_ms();
    if (net_proxy_sync(p, svcs, eps, &err) < 0)
        goto out_fail;
    full = now_ms() - t0;
    t0 = now_ms();
    if (net_proxy_sync(p, svcs, eps2, &err) < 0)
        goto out_fail;
    one = now_ms() - t0;
    printf("# %d services x 10 endpoints: script %zu bytes\n", s, b.len);
    if (getenv("BENCH_PROXY_DUMP")) {
        FILE *f = fopen(getenv("BENCH_PROXY_DUMP"), "w");

        if (f) {
            fputs(b.data, f);
            fclose(f);
        }
    }
    printf("result proxy render_ms_s%d %.1f ms\n", s, render);
    printf("result proxy sync_full_ms_s%d %.1f ms\n", s, full);
    printf("result proxy sync_one_ms_s%d %.1f ms\n", s, one);
    if (s == 1000)
        printf("result proxy sync_ms_1000svc %.1f ms\n", full);
    fflush(stdout);
    net_proxy_remove(p, &err);
    net_proxy_free(p);
    sk_buf_release(&b);
    json_decref(svcs);
    json_decref(eps);
    json_decref(eps2);
    return 0;
out_fail:
    fprintf(stderr, "bench/proxy: %s\n", err.msg);
    return 1;
}

int
main(int argc, char **argv)
{
    int sizes[8] = {1000, 10000}, n = 2, i, rc = 0;
    bool custom = false;

    for (i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--quick")) {
            sizes[0] = 1000;
            n = 1;
        } else if (!strcmp(argv[i], "--services") && i + 1 < argc && n < 8) {
            if (!custom)
                n = 0;
            custom = true;
            sizes[n++] = atoi(argv[++i]);
        } else {
            fprintf(stderr, "usage: %s [--quick] [--services S ...]\n", argv[0]);
            return 2;
        }
    }
    if (unshare(CLONE_NEWNET) < 0) {
        fprintf(stderr, "bench/proxy: unshare(CLONE_NEWNET): %s (needs root)\n", strerror(errno));
        return 1;
    }
    for (i = 0; i < n && rc == 0; i++)
        rc = bench_one(sizes[i]);
    return rc;
}
