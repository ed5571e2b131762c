/* api/svc_alloc.c: the pure part of Service cluster IP and node port
 * allocation (ranges, picking, claim keys, what a Service holds, the
 * update rules for allocated fields). The store side is t3004. */
#include "api/objects.h"
#include "lib/buf.h"
#include "lib/config.h"
#include "lib/err.h"
#include "lib/json.h"
#include "unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- ranges ---- */

static const struct {
    const char *cidr;
    uint32_t base, size, last, dyn_first, band;
} ip_ranges[] = {
    /* KEP-3070: lower band min(max(16, size/16), 256) from the first address */
    {"10.96.0.0/12", 0x0a600000, 1u << 20, (1u << 20) - 2, 2, 1 + 256},
    {"10.100.0.0/16", 0x0a640000, 65536, 65534, 2, 1 + 256},
    {"192.168.0.0/22", 0xc0a80000, 1024, 1022, 2, 1 + 64},
    {"10.0.0.0/28", 0x0a000000, 16, 14, 2, 15}, /* all of it is the lower band */
    {"10.100.0.0/29", 0x0a640000, 8, 6, 2, 2},  /* smaller than 16: no band */
    {"10.0.0.4/30", 0x0a000004, 4, 2, 2, 2},
};

START_TEST(ip_ranges_skip_network_broadcast_and_kubernetes_address)
{
    struct api_alloc_range r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_alloc_ip_range_parse(ip_ranges[_i].cidr, &r, &err), 0);
    ck_assert_uint_eq(r.base, ip_ranges[_i].base);
    ck_assert_uint_eq(r.size, ip_ranges[_i].size);
    ck_assert_uint_eq(r.first, 1);
    ck_assert_uint_eq(r.last, ip_ranges[_i].last);
    ck_assert_uint_eq(r.dyn_first, ip_ranges[_i].dyn_first);
    ck_assert_uint_eq(r.band, ip_ranges[_i].band);
    ck_assert_str_eq(r.text, ip_ranges[_i].cidr);
}
END_TEST

static const struct {
    const char *in, *msg;
} bad_ip_ranges[] = {
    {"10.0.0.0/8", "service-cidr '10.0.0.0/8' must be an IPv4 /12 to /30"},
    {"10.0.0.0/31", "service-cidr '10.0.0.0/31' must be an IPv4 /12 to /30"},
    {"fd00::/112", "service-cidr 'fd00::/112' must be an IPv4 /12 to /30"},
    {"10.96.0.1/12", "service-cidr: "},
    {"10.96.0.0", "service-cidr: missing prefix length"},
    {"", "service-cidr: "},
    {"ten/12", "service-cidr: "},
};

START_TEST(bad_ip_ranges_are_refused_by_name)
{
    struct api_alloc_range r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_alloc_ip_range_parse(bad_ip_ranges[_i].in, &r, &err), -EINVAL);
    ck_assert_msg(!strncmp(err.msg, bad_ip_ranges[_i].msg, strlen(bad_ip_ranges[_i].msg)),
                  "'%s': %s", bad_ip_ranges[_i].in, err.msg);
}
END_TEST

static const struct {
    const char *in;
    uint32_t base, size, band;
    const char *text;
} port_ranges[] = {
    {"30000-32767", 30000, 2768, 86, "30000-32767"}, /* KEP-3668: min(max(16, n/32), 128) */
    {"31000-31001", 31000, 2, 0, "31000-31001"},
    {"1-65535", 1, 65535, 128, "1-65535"},
    {"100+10", 100, 11, 0, "100-110"},
    {"8080-8080", 8080, 1, 0, "8080-8080"},
};

START_TEST(port_ranges_parse)
{
    struct api_alloc_range r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_alloc_port_range_parse(port_ranges[_i].in, &r, &err), 0);
    ck_assert_uint_eq(r.base, port_ranges[_i].base);
    ck_assert_uint_eq(r.size, port_ranges[_i].size);
    ck_assert_uint_eq(r.first, 0);
    ck_assert_uint_eq(r.dyn_first, 0);
    ck_assert_uint_eq(r.last, port_ranges[_i].size - 1);
    ck_assert_uint_eq(r.band, port_ranges[_i].band);
    ck_assert_str_eq(r.text, port_ranges[_i].text);
}
END_TEST

static const char *const bad_port_ranges[] = {
    "",     "30000",        "0-10",         "32767-30000",  "30000-70000", "a-b",          "30000-",
    "-1-5", "30000-32767x", " 30000-32767", "300000-32767", "65535+1",     "30000--32767",
};

START_TEST(bad_port_ranges_are_refused_by_name)
{
    struct api_alloc_range r;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_alloc_port_range_parse(bad_port_ranges[_i], &r, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, "service-node-port-range: bad port range '") == err.msg,
                  "'%s': %s", bad_port_ranges[_i], err.msg);
}
END_TEST

/* ---- the [server] keys ---- */

static const struct {
    const char *key, *value;
    int rc;
    const char *msg;
} server_keys[] = {
    {"server.service-cidr", "10.100.0.0/16", 0, ""},
    {"server.service-cidr", "10.0.0.0/8", -EINVAL,
     "server.service-cidr: service network '10.0.0.0/8' must be a /12 to /30"},
    {"server.service-cidr", "10.96.0.1/12", -EINVAL, "server.service-cidr: '10.96.0.1/12' has"},
    {"server.service-node-port-range", "31000-31999", 0, ""},
    {"server.service-node-port-range", "31999-31000", -EINVAL,
     "server.service-node-port-range: bad port range '31999-31000'"},
};

START_TEST(server_ranges_are_checked_when_set)
{
    struct sk_config cfg;
    struct sk_err err;

    sk_err_init(&err);
    sk_config_init(&cfg);
    ck_assert_int_eq(sk_config_set(&cfg, server_keys[_i].key, server_keys[_i].value, &err),
                     server_keys[_i].rc);
    ck_assert_msg(!strncmp(err.msg, server_keys[_i].msg, strlen(server_keys[_i].msg)), "%s",
                  err.msg);
    sk_config_release(&cfg);
}
END_TEST

START_TEST(service_network_must_not_overlap_the_pod_network)
{
    struct sk_config cfg;
    struct sk_err err;

    sk_err_init(&err);
    sk_config_init(&cfg);
    ck_assert_str_eq(cfg.server.service_cidr, "10.96.0.0/12");
    ck_assert_str_eq(cfg.server.node_port_range, "30000-32767");
    ck_assert_int_eq(sk_config_validate(&cfg, &err), 0);
    ck_assert_int_eq(sk_config_set(&cfg, "server.service-cidr", "10.244.16.0/20", &err), 0);
    ck_assert_int_eq(sk_config_validate(&cfg, &err), -EINVAL);
    ck_assert_str_eq(
        err.msg, "agent.cluster-cidr 10.244.0.0/16 and server.service-cidr 10.244.16.0/20 overlap");
    sk_config_release(&cfg);
}
END_TEST

/* ---- picking ---- */

struct fake {
    uint8_t bm[1024];
    uint32_t seq[64];
    size_t nseq, next, calls;
};

static bool
fake_taken(void *arg, uint32_t v)
{
    struct fake *f = arg;

    f->calls++;
    return f->bm[v / 8] & (1u << (v % 8));
}

static uint32_t
fake_rand(void *arg)
{
    struct fake *f = arg;

    return f->seq[f->next++ % f->nseq];
}

static void
fake_set(struct fake *f, uint32_t lo, uint32_t hi)
{
    for (uint32_t v = lo; v <= hi; v++)
        f->bm[v / 8] |= (uint8_t)(1u << (v % 8));
}

static struct api_alloc_range
range(uint32_t dyn_first, uint32_t band, uint32_t last)
{
    struct api_alloc_range r;

    memset(&r, 0, sizeof(r));
    r.size = last + 2;
    r.first = dyn_first ? 1 : 0;
    r.last = last;
    r.dyn_first = dyn_first;
    r.band = band;
    return r;
}

START_TEST(probe_picks_in_the_upper_band_only)
{
    struct api_alloc_range r = range(2, 10, 99);
    struct fake f = {.seq = {0, 5, 89, 90}, .nseq = 4};

    /* offsets 10 + rnd % 90 */
    ck_assert_int_eq(api_alloc_probe(&r, fake_taken, &f, fake_rand, &f, 8), 10);
    fake_set(&f, 10, 10);
    ck_assert_int_eq(api_alloc_probe(&r, fake_taken, &f, fake_rand, &f, 8), 15);
}
END_TEST

START_TEST(probe_gives_up_after_its_budget)
{
    struct api_alloc_range r = range(2, 10, 99);
    struct fake f = {.seq = {1, 2, 3}, .nseq = 3};

    fake_set(&f, 10, 99);
    ck_assert_int_eq(api_alloc_probe(&r, fake_taken, &f, fake_rand, &f, 5), -1);
    ck_assert_uint_eq(f.calls, 5);
}
END_TEST

START_TEST(probe_uses_the_whole_range_when_there_is_no_upper_band)
{
    struct api_alloc_range r = range(2, 7, 6); /* a /29: band empty */
    struct fake f = {.seq = {0, 4}, .nseq = 2};

    ck_assert_int_eq(api_alloc_probe(&r, fake_taken, &f, fake_rand, &f, 1), 2);
    ck_assert_int_eq(api_alloc_probe(&r, fake_taken, &f, fake_rand, &f, 1), 6);
}
END_TEST

START_TEST(scan_takes_the_upper_band_first_then_the_lower)
{
    struct api_alloc_range r = range(2, 10, 99);
    struct fake f = {.nseq = 0};

    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 0), 10);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 95), 10 + 95 % 90);
    fake_set(&f, 10, 99);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 3), 2 + 3 % 8);
    fake_set(&f, 5, 9);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 3), 2);
    fake_set(&f, 2, 4);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 3), -1);
}
END_TEST

START_TEST(scan_wraps_around_from_its_start)
{
    struct api_alloc_range r = range(0, 0, 15);
    struct fake f = {.nseq = 0};

    fake_set(&f, 8, 15);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 12), 0);
    fake_set(&f, 0, 6);
    ck_assert_int_eq(api_alloc_scan(&r, f.bm, 12), 7);
}
END_TEST

/* Whatever is taken, the scan returns a free offset from dyn_first to
 * last, or -1 exactly when all of those are taken. */
START_TEST(scan_never_returns_a_taken_or_reserved_offset)
{
    struct api_alloc_range r = range(2, 40, 253);
    uint32_t seed = (uint32_t)_i * 2654435761u + 1;

    for (int round = 0; round < 50; round++) {
        struct fake f;
        bool all = true;
        int64_t v;

        memset(&f, 0, sizeof(f));
        for (uint32_t o = 0; o < r.size; o++) {
            seed = seed * 1103515245u + 12345u;
            if ((seed >> 16) % 100 < (uint32_t)(round * 2))
                fake_set(&f, o, o);
        }
        for (uint32_t o = r.dyn_first; o <= r.last; o++)
            all = all && fake_taken(&f, o);
        v = api_alloc_scan(&r, f.bm, seed);
        if (all) {
            ck_assert_int_eq(v, -1);
            continue;
        }
        ck_assert_int_ge(v, r.dyn_first);
        ck_assert_int_le(v, r.last);
        ck_assert(!fake_taken(&f, (uint32_t)v));
    }
}
END_TEST

/* ---- claim keys ---- */

START_TEST(claim_keys_round_trip)
{
    struct sk_buf b = SK_BUF_INIT;
    uint32_t v = 0;

    api_claim_key_ip(0x0a60000a, &b);
    ck_assert_str_eq(b.data, "/registry/ranges/serviceips/10.96.0.10");
    ck_assert_int_eq(api_claim_key_parse(b.data, b.len, true, &v), 0);
    ck_assert_uint_eq(v, 0x0a60000a);
    ck_assert_int_eq(api_claim_key_parse(b.data, b.len, false, &v), -1);
    sk_buf_reset(&b);
    api_claim_key_port(30080, &b);
    ck_assert_str_eq(b.data, "/registry/ranges/servicenodeports/30080");
    ck_assert_int_eq(api_claim_key_parse(b.data, b.len, false, &v), 0);
    ck_assert_uint_eq(v, 30080);
    ck_assert_int_eq(api_claim_key_parse(b.data, b.len, true, &v), -1);
    sk_buf_release(&b);
}
END_TEST

static const struct {
    const char *key;
    bool ip;
} bad_keys[] = {
    {"/registry/ranges/serviceips/010.96.0.1", true},
    {"/registry/ranges/serviceips/10.96.0.1 ", true},
    {"/registry/ranges/serviceips/10.96.0", true},
    {"/registry/ranges/serviceips/", true},
    {"/registry/ranges/serviceips/None", true},
    {"/registry/ranges/serviceips/10.96.0.1/x", true},
    {"/registry/services/default/10.96.0.1", true},
    {"/registry/ranges/servicenodeports/030080", false},
    {"/registry/ranges/servicenodeports/0", false},
    {"/registry/ranges/servicenodeports/65536", false},
    {"/registry/ranges/servicenodeports/99999999999999999999", false},
    {"/registry/ranges/servicenodeports/+80", false},
    {"/registry/ranges/servicenodeports/80a", false},
};

START_TEST(claim_keys_that_are_not_canonical_are_refused)
{
    uint32_t v;

    ck_assert_int_eq(
        api_claim_key_parse(bad_keys[_i].key, strlen(bad_keys[_i].key), bad_keys[_i].ip, &v), -1);
}
END_TEST

/* ---- what a Service holds ---- */

static json_t *
parse(const char *text)
{
    json_t *j = NULL;

    ck_assert_int_eq(sk_json_parse(text, strlen(text), &j, NULL), 0);
    return j;
}

static const struct {
    const char *svc;
    bool has_ip;
    uint32_t ip;
    size_t nports;
    uint32_t ports[3];
} holds[] = {
    {"{\"spec\":{\"clusterIP\":\"10.96.0.10\"}}", true, 0x0a60000a, 0, {0}},
    {"{\"spec\":{\"clusterIP\":\"None\"}}", false, 0, 0, {0}},
    {"{\"spec\":{\"clusterIP\":\"\"}}", false, 0, 0, {0}},
    {"{\"spec\":{\"type\":\"ExternalName\"}}", false, 0, 0, {0}},
    {"{\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{\"nodePort\":30090},{\"nodePort\":"
     "30001},{\"nodePort\":30090},{\"nodePort\":0},{\"port\":80}]}}",
     true,
     0x0a600001,
     2,
     {30001, 30090}},
    {"{\"spec\":{\"clusterIP\":7,\"ports\":[null,{\"nodePort\":\"30000\"},{\"nodePort\":-3},{"
     "\"nodePort\":70000}]}}",
     false,
     0,
     0,
     {0}},
    {"[1,2]", false, 0, 0, {0}},
};

START_TEST(claims_of_a_service)
{
    json_t *svc = parse(holds[_i].svc);
    struct api_svc_claims c;

    api_svc_claims_of(svc, &c);
    ck_assert(c.has_ip == holds[_i].has_ip);
    if (c.has_ip)
        ck_assert_uint_eq(c.ip, holds[_i].ip);
    ck_assert_uint_eq(c.nports, holds[_i].nports);
    for (size_t i = 0; i < c.nports; i++)
        ck_assert_uint_eq(c.ports[i], holds[_i].ports[i]);
    ck_assert(!c.overflow);
    json_decref(svc);
}
END_TEST

START_TEST(claims_of_too_many_node_ports_overflow)
{
    json_t *svc = parse("{\"spec\":{\"ports\":[]}}"), *ports;
    struct api_svc_claims c;

    ports = json_object_get(json_object_get(svc, "spec"), "ports");
    for (int i = 0; i < API_SVC_MAX_CLAIMS + 1; i++)
        json_array_append_new(ports, json_pack("{s:i}", "nodePort", 30000 + i));
    api_svc_claims_of(svc, &c);
    ck_assert(c.overflow);
    ck_assert_uint_eq(c.nports, API_SVC_MAX_CLAIMS);
    json_decref(svc);
}
END_TEST

/* ---- update rules ---- */

static const struct {
    const char *name, *old, *obj, *want;
} keeps[] = {
    {"a cluster IP left out is kept",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96.0.5\"]}}", "{\"spec\":{}}",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96.0.5\"]}}"},
    {"an empty cluster IP is kept too",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96.0.5\"]}}",
     "{\"spec\":{\"clusterIP\":\"\",\"clusterIPs\":[]}}",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96.0.5\"]}}"},
    {"headless stays headless", "{\"spec\":{\"clusterIP\":\"None\"}}", "{\"spec\":{}}",
     "{\"spec\":{\"clusterIP\":\"None\"}}"},
    {"a changed cluster IP is left for validation to refuse",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\"}}", "{\"spec\":{\"clusterIP\":\"10.96.0.6\"}}",
     "{\"spec\":{\"clusterIP\":\"10.96.0.6\"}}"},
    {"to ExternalName drops what was stored",
     "{\"spec\":{\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96.0.5\"],\"ipFamilies\":["
     "\"IPv4\"]}}",
     "{\"spec\":{\"type\":\"ExternalName\",\"clusterIP\":\"10.96.0.5\",\"clusterIPs\":[\"10.96."
     "0.5\"],\"ipFamilies\":[\"IPv4\"]}}",
     "{\"spec\":{\"type\":\"ExternalName\"}}"},
    {"from ExternalName nothing is kept", "{\"spec\":{\"type\":\"ExternalName\"}}", "{\"spec\":{}}",
     "{\"spec\":{}}"},
    {"node ports left out are kept, matched by port and protocol",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080},{\"port\":53,"
     "\"protocol\":\"UDP\",\"nodePort\":30053}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":53,\"protocol\":\"TCP\"},{\"port\":"
     "53,\"protocol\":\"UDP\",\"nodePort\":0},{\"port\":80,\"protocol\":\"TCP\"}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":53,\"protocol\":\"TCP\"},{\"port\":"
     "53,\"protocol\":\"UDP\",\"nodePort\":30053},{\"port\":80,\"protocol\":\"TCP\",\"nodePort\":"
     "30080}]}}"},
    {"NodePort to ClusterIP drops unchanged node ports",
     "{\"spec\":{\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Cluster\",\"ports\":[{"
     "\"port\":80,\"nodePort\":30080}]}}",
     "{\"spec\":{\"type\":\"ClusterIP\",\"externalTrafficPolicy\":\"Cluster\",\"ports\":[{"
     "\"port\":80,\"nodePort\":30080}]}}",
     "{\"spec\":{\"type\":\"ClusterIP\",\"ports\":[{\"port\":80}]}}"},
    {"NodePort to ClusterIP keeps a changed node port for validation to refuse",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30081}]}}",
     "{\"spec\":{\"ports\":[{\"port\":80,\"nodePort\":30081}]}}"},
    {"LoadBalancer to NodePort keeps node ports, drops allocateLoadBalancerNodePorts",
     "{\"spec\":{\"type\":\"LoadBalancer\",\"allocateLoadBalancerNodePorts\":true,\"ports\":[{"
     "\"port\":80,\"nodePort\":30080}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"allocateLoadBalancerNodePorts\":true,\"ports\":[{"
     "\"port\":80}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}}"},
    {"ClusterIP to NodePort has nothing to keep", "{\"spec\":{\"ports\":[{\"port\":80}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}",
     "{\"spec\":{\"type\":\"NodePort\",\"ports\":[{\"port\":80}]}}"},
    {"garbage is left alone", "{\"spec\":{\"ports\":7,\"clusterIP\":[]}}",
     "{\"spec\":{\"ports\":[null,3]}}", "{\"spec\":{\"ports\":[null,3]}}"},
    {"no spec", "{\"spec\":{\"clusterIP\":\"10.96.0.5\"}}", "{}", "{}"},
};

START_TEST(updates_keep_what_was_allocated)
{
    json_t *old = parse(keeps[_i].old), *obj = parse(keeps[_i].obj), *want = parse(keeps[_i].want);
    char *got;

    api_svc_keep_allocated(old, obj);
    got = json_dumps(obj, JSON_COMPACT | JSON_SORT_KEYS);
    ck_assert_msg(json_equal(obj, want), "%s: got %s", keeps[_i].name, got);
    free(got);
    json_decref(old);
    json_decref(obj);
    json_decref(want);
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

int
main(void)
{
    Suite *s = suite_create("api_svcalloc");
    TCase *tc = tcase_create("ranges");

    tcase_add_loop_test(tc, ip_ranges_skip_network_broadcast_and_kubernetes_address, 0,
                        N(ip_ranges));
    tcase_add_loop_test(tc, bad_ip_ranges_are_refused_by_name, 0, N(bad_ip_ranges));
    tcase_add_loop_test(tc, port_ranges_parse, 0, N(port_ranges));
    tcase_add_loop_test(tc, bad_port_ranges_are_refused_by_name, 0, N(bad_port_ranges));
    tcase_add_loop_test(tc, server_ranges_are_checked_when_set, 0, N(server_keys));
    tcase_add_test(tc, service_network_must_not_overlap_the_pod_network);
    suite_add_tcase(s, tc);
    tc = tcase_create("picking");
    tcase_add_test(tc, probe_picks_in_the_upper_band_only);
    tcase_add_test(tc, probe_gives_up_after_its_budget);
    tcase_add_test(tc, probe_uses_the_whole_range_when_there_is_no_upper_band);
    tcase_add_test(tc, scan_takes_the_upper_band_first_then_the_lower);
    tcase_add_test(tc, scan_wraps_around_from_its_start);
    tcase_add_loop_test(tc, scan_never_returns_a_taken_or_reserved_offset, 0, 20);
    suite_add_tcase(s, tc);
    tc = tcase_create("claims");
    tcase_add_test(tc, claim_keys_round_trip);
    tcase_add_loop_test(tc, claim_keys_that_are_not_canonical_are_refused, 0, N(bad_keys));
    tcase_add_loop_test(tc, claims_of_a_service, 0, N(holds));
    tcase_add_test(tc, claims_of_too_many_node_ports_overflow);
    tcase_add_loop_test(tc, updates_keep_what_was_allocated, 0, N(keeps));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
