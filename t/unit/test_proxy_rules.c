/* net/proxy_rules.c: Services and Endpoints -> nft script. Pure. */
#include "lib/buf.h"
#include "net/proxy.h"
#include "net/proxy_int.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Services and Endpoints shared by several cases. */
#define SVC_WEB                                                                                    \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},"                                  \
    "\"spec\":{\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80,\"targetPort\":8080}]}}"
#define EP_WEB_2                                                                                   \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},\"subsets\":[{"                    \
    "\"addresses\":[{\"ip\":\"10.244.2.2\",\"nodeName\":\"n2\"},"                                  \
    "{\"ip\":\"10.244.1.3\",\"nodeName\":\"n1\"}],\"ports\":[{\"port\":8080}]}]}"

static json_t *
js(const char *text)
{
    json_error_t je;
    json_t *v = json_loads(text, JSON_DECODE_ANY, &je);

    ck_assert_msg(v != NULL, "bad test json: %s: %s", je.text, text);
    return v;
}

/* Node n1 with 192.168.50.1 (when nodeports) and cluster CIDR
 * 10.244.0.0/16. */
static struct net_ip node_ip[1];

static struct net_proxy_node
node(bool nodeports)
{
    struct net_proxy_node n = {"n1", node_ip, nodeports ? 1 : 0, {{0}, 0}, 0, {{0}, 0}};

    ck_assert_int_eq(net_ip_parse("192.168.50.1", &node_ip[0], NULL), 0);
    ck_assert_int_eq(net_cidr_parse("10.244.0.0/16", false, &n.cluster_cidr, NULL), 0);
    return n;
}

/* Render "[svc...]" and "[ep...]"; returns a malloc'ed script. */
static char *
render_n(const char *svcs, const char *eps, bool nodeports, struct net_proxy_stats *st)
{
    struct net_proxy_node n = node(nodeports);
    json_t *s = js(svcs), *e = js(eps);
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = net_proxy_render(s, e, &n, &b, st, &err);
    ck_assert_msg(rc == 0, "render failed: %s", err.msg);
    json_decref(s);
    json_decref(e);
    return sk_buf_detach(&b, NULL);
}

static char *
render(const char *svcs, const char *eps)
{
    return render_n(svcs, eps, true, NULL);
}

#define HAS(s, frag) ck_assert_msg(strstr((s), (frag)) != NULL, "missing:\n%s\nin:\n%s", frag, s)
#define HASNT(s, frag)                                                                             \
    ck_assert_msg(strstr((s), (frag)) == NULL, "unexpected:\n%s\nin:\n%s", frag, s)

static const char golden_clusterip[] =
    "add table ip skiff-proxy\n"
    "delete table ip skiff-proxy\n"
    "table ip skiff-proxy {\n"
    "\tmap service-ips {\n"
    "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
    "\t\telements = { 10.96.0.10 . tcp . 80 : goto svc-default/web/tcp/80 }\n"
    "\t}\n\n"
    "\tmap service-nodeports {\n"
    "\t\ttype inet_proto . inet_service : verdict\n"
    "\t}\n\n"
    "\tmap no-endpoint-services {\n"
    "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
    "\t}\n\n"
    "\tmap no-endpoint-nodeports {\n"
    "\t\ttype inet_proto . inet_service : verdict\n"
    "\t}\n\n"
    "\tset hairpin {\n"
    "\t\ttype ipv4_addr . ipv4_addr\n"
    "\t\telements = { 10.244.1.3 . 10.244.1.3,\n"
    "\t\t\t     10.244.2.2 . 10.244.2.2 }\n"
    "\t}\n\n"
    "\tchain filter-prerouting {\n"
    "\t\ttype filter hook prerouting priority -110; policy accept;\n"
    "\t\tct state new jump endpoints-check\n"
    "\t}\n\n"
    "\tchain filter-output {\n"
    "\t\ttype filter hook output priority -110; policy accept;\n"
    "\t\tct state new jump endpoints-check\n"
    "\t}\n\n"
    "\tchain endpoints-check {\n"
    "\t\tip daddr . meta l4proto . th dport vmap @no-endpoint-services\n"
    "\t}\n\n"
    "\tchain reject-chain {\n"
    "\t\tmeta l4proto tcp reject with tcp reset\n"
    "\t\treject\n"
    "\t}\n\n"
    "\tchain nat-prerouting {\n"
    "\t\ttype nat hook prerouting priority -100; policy accept;\n"
    "\t\tjump services\n"
    "\t}\n\n"
    "\tchain nat-output {\n"
    "\t\ttype nat hook output priority -100; policy accept;\n"
    "\t\tjump services\n"
    "\t}\n\n"
    "\tchain nat-postrouting {\n"
    "\t\ttype nat hook postrouting priority 100; policy accept;\n"
    "\t\tip saddr . ip daddr @hairpin jump mark-for-masquerade\n"
    "\t\tjump masquerading\n"
    "\t}\n\n"
    "\tchain masquerading {\n"
    "\t\tmeta mark & 0x4000 == 0 return\n"
    "\t\tmeta mark set meta mark ^ 0x4000\n"
    "\t\tmasquerade fully-random\n"
    "\t}\n\n"
    "\tchain mark-for-masquerade {\n"
    "\t\tmeta mark set meta mark | 0x4000\n"
    "\t}\n\n"
    "\tchain services {\n"
    "\t\tip daddr . meta l4proto . th dport vmap @service-ips\n"
    "\t}\n\n"
    "\tmap eps-default/web/tcp/80 {\n"
    "\t\ttypeof numgen random mod 65536 : ip daddr . th dport\n"
    "\t\tflags interval\n"
    "\t\telements = { 0-32767 : 10.244.1.3 . 8080,\n"
    "\t\t\t     32768-65535 : 10.244.2.2 . 8080 }\n"
    "\t}\n\n"
    "\tchain svc-default/web/tcp/80 {\n"
    "\t\tip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
    "\t\tmeta l4proto tcp dnat ip to numgen random mod 65536 map @eps-default/web/tcp/80\n"
    "\t}\n"
    "}\n";

START_TEST(clusterip_with_two_endpoints_matches_golden)
{
    struct net_proxy_stats st;
    char *s = render_n("[" SVC_WEB "]", "[" EP_WEB_2 "]", false, &st);

    ck_assert_str_eq(s, golden_clusterip);
    ck_assert_uint_eq(st.services, 1);
    ck_assert_uint_eq(st.endpoints, 2);
    /* Element, fixed rules, the svc chain's two, the map's two. */
    ck_assert_uint_eq(st.rules, 1 + 14 + 2 + 2);
    free(s);
}
END_TEST

START_TEST(no_services_gives_empty_table_with_fixed_chains)
{
    char *s = render("[]", "[]");

    HAS(s, "delete table ip skiff-proxy\ntable ip skiff-proxy {\n");
    HAS(s, "\tmap service-ips {\n\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n\t}\n");
    HASNT(s, "chain svc-");
    HASNT(s, "elements");
    free(s);
}
END_TEST

START_TEST(service_cidr_gets_reject_chains_after_dnat)
{
    struct net_proxy_node n = node(false);
    json_t *e = js("[]");
    struct sk_buf b = SK_BUF_INIT;
    struct net_proxy_stats st;
    struct sk_err err;
    char *s;

    s = render("[]", "[]");
    HASNT(s, "unallocated");
    free(s);
    ck_assert_int_eq(net_cidr_parse("10.96.0.0/12", false, &n.service_cidr, NULL), 0);
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_render(e, e, &n, &b, &st, &err), 0);
    HAS(b.data, "\tchain unallocated-prerouting {\n"
                "\t\ttype filter hook prerouting priority -90; policy accept;\n"
                "\t\tip daddr 10.96.0.0/12 meta l4proto tcp reject with tcp reset\n"
                "\t\tip daddr 10.96.0.0/12 reject with icmp type host-unreachable\n\t}\n");
    HAS(b.data, "\tchain unallocated-output {\n"
                "\t\ttype filter hook output priority -90; policy accept;\n"
                "\t\tip daddr 10.96.0.0/12 meta l4proto tcp reject with tcp reset\n");
    ck_assert_uint_eq(st.rules, 14 + 4);
    sk_buf_release(&b);
    json_decref(e);
}
END_TEST

START_TEST(multiple_ports_map_by_endpoint_port_name)
{
    char *s = render(
        "[{\"metadata\":{\"name\":\"app\",\"namespace\":\"shop\"},\"spec\":{\"clusterIP\":"
        "\"10.96.1.1\",\"ports\":[{\"name\":\"https\",\"port\":443,\"targetPort\":\"tls\"},"
        "{\"name\":\"http\",\"port\":80,\"targetPort\":\"web\"}]}}]",
        "[{\"metadata\":{\"name\":\"app\",\"namespace\":\"shop\"},\"subsets\":[{\"addresses\":"
        "[{\"ip\":\"10.244.1.5\"}],\"ports\":[{\"name\":\"http\",\"port\":8080},"
        "{\"name\":\"https\",\"port\":8443}]}]}]");

    HAS(s, "elements = { 10.96.1.1 . tcp . 80 : goto svc-shop/app/tcp/80,\n"
           "\t\t\t     10.96.1.1 . tcp . 443 : goto svc-shop/app/tcp/443 }\n");
    HAS(s, "\tchain svc-shop/app/tcp/80 {\n"
           "\t\tip saddr != 10.244.0.0/16 jump mark-for-masquerade\n"
           "\t\tmeta l4proto tcp dnat ip to numgen random mod 65536 map @eps-shop/app/tcp/80\n"
           "\t}\n");
    HAS(s, "\tmap eps-shop/app/tcp/80 {\n");
    HAS(s, "elements = { 0-65535 : 10.244.1.5 . 8080 }\n");
    HAS(s, "elements = { 0-65535 : 10.244.1.5 . 8443 }\n");
    free(s);
}
END_TEST

START_TEST(headless_service_gets_no_rules)
{
    char *s = render("[{\"metadata\":{\"name\":\"db\"},\"spec\":{\"clusterIP\":\"None\","
                     "\"ports\":[{\"port\":5432}]}}]",
                     "[{\"metadata\":{\"name\":\"db\"},\"subsets\":[{\"addresses\":[{\"ip\":"
                     "\"10.244.1.7\"}],\"ports\":[{\"port\":5432}]}]}]");

    HASNT(s, "db");
    HASNT(s, "10.244.1.7");
    free(s);
}
END_TEST

START_TEST(service_without_endpoints_is_rejected)
{
    char *s = render("[" SVC_WEB "]", "[]");

    HAS(s, "\tmap no-endpoint-services {\n"
           "\t\ttype ipv4_addr . inet_proto . inet_service : verdict\n"
           "\t\telements = { 10.96.0.10 . tcp . 80 : goto reject-chain }\n\t}\n");
    HAS(s, "\tchain reject-chain {\n\t\tmeta l4proto tcp reject with tcp reset\n\t\treject\n");
    HASNT(s, "chain svc-");
    HASNT(s, "goto svc-");
    free(s);
}
END_TEST

START_TEST(not_ready_addresses_get_no_traffic)
{
    char *s = render("[" SVC_WEB "]",
                     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":"
                     "\"10.244.1.3\"}],\"notReadyAddresses\":[{\"ip\":\"10.244.1.4\"}],"
                     "\"ports\":[{\"port\":8080}]}]}]");

    HAS(s, "elements = { 0-65535 : 10.244.1.3 . 8080 }\n");
    HASNT(s, "10.244.1.4");
    free(s);
    /* Only unready endpoints: the same as none. */
    s = render("[" SVC_WEB "]", "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{"
                                "\"notReadyAddresses\":[{\"ip\":\"10.244.1.4\"}],"
                                "\"ports\":[{\"port\":8080}]}]}]");
    HAS(s, "10.96.0.10 . tcp . 80 : goto reject-chain");
    free(s);
}
END_TEST

#define SVC_NP(policy)                                                                             \
    "[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\",\"type\":"           \
    "\"NodePort\",\"externalTrafficPolicy\":\"" policy "\",\"ports\":[{\"port\":80,"               \
    "\"nodePort\":30080}]}}]"

START_TEST(nodeport_is_served_on_node_addresses_with_snat)
{
    char *s = render(SVC_NP("Cluster"), "[" EP_WEB_2 "]");

    HAS(s, "\t\tip daddr { 192.168.50.1 } meta l4proto . th dport vmap @service-nodeports\n");
    HAS(s, "\t\telements = { tcp . 30080 : goto ext-default/web/tcp/80 }\n");
    HAS(s, "\tchain ext-default/web/tcp/80 {\n\t\tjump mark-for-masquerade\n"
           "\t\tgoto svc-default/web/tcp/80\n\t}\n");
    free(s);
    /* Without node addresses, no nodeport rule at all. */
    s = render_n(SVC_NP("Cluster"), "[" EP_WEB_2 "]", false, NULL);
    HASNT(s, "@service-nodeports\n");
    free(s);
    s = render(SVC_NP("Cluster"), "[]");
    HAS(s, "elements = { tcp . 30080 : goto reject-chain }");
    free(s);
}
END_TEST

START_TEST(external_traffic_policy_local_uses_local_endpoints_without_snat)
{
    char *s = render(SVC_NP("Local"), "[" EP_WEB_2 "]");

    /* n1 is this node: only 10.244.1.3 is local. */
    HAS(s, "\tchain ext-default/web/tcp/80 {\n"
           "\t\tmeta l4proto tcp dnat ip to numgen random mod 65536 map "
           "@eps-local-default/web/tcp/80\n\t}\n");
    HAS(s, "\tmap eps-local-default/web/tcp/80 {\n");
    HAS(s, "elements = { 0-65535 : 10.244.1.3 . 8080 }\n");
    /* The ClusterIP still balances over all endpoints. */
    HAS(s, "elements = { 0-32767 : 10.244.1.3 . 8080,\n"
           "\t\t\t     32768-65535 : 10.244.2.2 . 8080 }\n");
    free(s);
    /* Endpoints only on other nodes: the nodeport drops. */
    s = render(SVC_NP("Local"), "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":"
                                "[{\"ip\":\"10.244.2.2\",\"nodeName\":\"n2\"}],\"ports\":[{"
                                "\"port\":8080}]}]}]");
    HAS(s, "elements = { tcp . 30080 : drop }");
    HASNT(s, "chain ext-");
    free(s);
}
END_TEST

START_TEST(client_ip_affinity_uses_a_timed_set_per_endpoint)
{
    char *s = render("[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
                     "\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":"
                     "{\"timeoutSeconds\":600}},\"ports\":[{\"port\":80}]}}]",
                     "[" EP_WEB_2 "]");

    HAS(s, "\tset aff-default/web/tcp/80/10.244.1.3/8080 {\n\t\ttype ipv4_addr\n"
           "\t\tflags dynamic,timeout\n\t\ttimeout 600s\n\t}\n");
    HAS(s, "\t\tip saddr @aff-default/web/tcp/80/10.244.2.2/8080 goto "
           "ep-default/web/tcp/80/10.244.2.2/8080\n");
    HAS(s, "\t\tupdate @aff-default/web/tcp/80/10.244.1.3/8080 { ip saddr }\n"
           "\t\tmeta l4proto tcp dnat to 10.244.1.3:8080\n");
    free(s);
    /* Default timeout: 3 hours. */
    s = render("[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
               "\"sessionAffinity\":\"ClientIP\",\"ports\":[{\"port\":80}]}}]",
               "[" EP_WEB_2 "]");
    HAS(s, "\t\ttimeout 10800s\n");
    free(s);
}
END_TEST

START_TEST(udp_and_sctp_ports_use_their_protocol)
{
    char *s = render("[{\"metadata\":{\"name\":\"dns\"},\"spec\":{\"clusterIP\":\"10.96.0.53\","
                     "\"ports\":[{\"name\":\"dns\",\"protocol\":\"UDP\",\"port\":53},"
                     "{\"name\":\"sig\",\"protocol\":\"SCTP\",\"port\":9}]}}]",
                     "[{\"metadata\":{\"name\":\"dns\"},\"subsets\":[{\"addresses\":[{\"ip\":"
                     "\"10.244.1.3\"}],\"ports\":[{\"name\":\"dns\",\"protocol\":\"UDP\","
                     "\"port\":5353},{\"name\":\"sig\",\"protocol\":\"SCTP\",\"port\":9}]}]}]");

    HAS(s, "10.96.0.53 . udp . 53 : goto svc-default/dns/udp/53");
    HAS(s, "10.96.0.53 . sctp . 9 : goto svc-default/dns/sctp/9");
    HAS(s, "meta l4proto udp dnat ip to numgen random mod 65536 map @eps-default/dns/udp/53\n");
    HAS(s, "meta l4proto sctp dnat ip to numgen random mod 65536 map @eps-default/dns/sctp/9\n");
    HAS(s, "elements = { 0-65535 : 10.244.1.3 . 5353 }\n");
    free(s);
    /* An endpoint port of another protocol does not serve the port. */
    s = render("[{\"metadata\":{\"name\":\"dns\"},\"spec\":{\"clusterIP\":\"10.96.0.53\","
               "\"ports\":[{\"protocol\":\"UDP\",\"port\":53}]}}]",
               "[{\"metadata\":{\"name\":\"dns\"},\"subsets\":[{\"addresses\":[{\"ip\":"
               "\"10.244.1.3\"}],\"ports\":[{\"port\":53}]}]}]");
    HAS(s, "10.96.0.53 . udp . 53 : goto reject-chain");
    free(s);
}
END_TEST

/* ---- hostile input ---- */

static const struct {
    const char *svcs, *eps, *msg;
} bad_cases[] = {
    {"{}", "[]", "services: not an array"},
    {"[]", "7", "endpoints: not an array"},
    {"[3]", "[]", "services[0]: not an object"},
    {"[{\"spec\":{}}]", "[]", "services[0]: metadata: missing or not an object"},
    {"[{\"metadata\":{\"name\":5}}]", "[]", "services[0]: metadata.name: not a string"},
    {"[{\"metadata\":{\"name\":\"a;b\"}}]", "[]",
     "services[0]: metadata.name: 'a;b' is not a DNS label"},
    {"[{\"metadata\":{\"name\":\"x\",\"namespace\":\"Upper\"}}]", "[]",
     "services[0]: metadata.namespace: 'Upper' is not a DNS label"},
    {"[{\"metadata\":{\"name\":\"x\"}}]", "[]", "service 'default/x': spec: missing"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"ports\":[]}}]", "[]",
     "service 'default/x': spec.clusterIP: missing"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.300\"}}]", "[]",
     "service 'default/x': spec.clusterIP: '10.96.0.300' is not an IPv4 address"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"fd00::1\"}}]", "[]",
     "spec.clusterIP: 'fd00::1' is not an IPv4 address"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\"}}]", "[]",
     "spec.ports: missing or not a non-empty array"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":70000}]}}]",
     "[]", "service 'default/x': spec.ports[0].port: 70000 is out of range (1-65535)"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":0}]}}]",
     "[]", "spec.ports[0].port: 0 is out of range (1-65535)"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":\"80\"}]}}]",
     "[]", "spec.ports[0].port: not an integer"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":80,\"protocol\":\"ICMP\"}]}}]",
     "[]", "spec.ports[0].protocol: 'ICMP' is not TCP, UDP or SCTP"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":80,\"name\":\"a}b\"}]}}]",
     "[]", "spec.ports[0].name: 'a}b' is not a port name"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":80,\"targetPort\":true}]}}]",
     "[]", "spec.ports[0].targetPort: not an integer"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"type\":"
     "\"NodePort\",\"ports\":[{\"port\":80}]}}]",
     "[]", "spec.ports[0].nodePort: missing"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"type\":"
     "\"LoadBalancer\",\"ports\":[{\"port\":80}]}}]",
     "[]", "spec.type: 'LoadBalancer' is not ClusterIP or NodePort"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\","
     "\"externalTrafficPolicy\":\"Nearest\",\"ports\":[{\"port\":80}]}}]",
     "[]", "spec.externalTrafficPolicy: 'Nearest' is not Cluster or Local"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\","
     "\"sessionAffinity\":\"ClientIP\",\"sessionAffinityConfig\":{\"clientIP\":{"
     "\"timeoutSeconds\":86401}},\"ports\":[{\"port\":80}]}}]",
     "[]", "spec.sessionAffinityConfig.clientIP.timeoutSeconds: 86401 is out of range"},
    {"[{\"metadata\":{\"name\":\"x\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"ports\":[{"
     "\"port\":80},{\"port\":80}]}}]",
     "[]", "service 'default/x': port TCP/80 listed twice"},
    {"[" SVC_WEB "]", "[{\"metadata\":{\"name\":\"web\"},\"subsets\":{}}]",
     "endpoints 'default/web': subsets: not an array"},
    {"[" SVC_WEB "]",
     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.1\"}],"
     "\"ports\":[{\"port\":8080}]}]}]",
     "endpoints 'default/web': subsets[0].addresses[0].ip: '10.1.1' is not an IPv4 address"},
    {"[" SVC_WEB "]",
     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{}],"
     "\"ports\":[{\"port\":8080}]}]}]",
     "subsets[0].addresses[0].ip: missing"},
    {"[" SVC_WEB "]",
     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.1\"}],"
     "\"ports\":[{\"port\":-1}]}]}]",
     "subsets[0].ports[0].port: -1 is out of range (1-65535)"},
    {"[" SVC_WEB "]",
     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"notReadyAddresses\":\"x\"}]}]",
     "subsets[0].notReadyAddresses: not an array"},
    {"[" SVC_WEB "]", "[{\"metadata\":{}}]", "endpoints[0]: metadata.name: missing"},
    {"[" SVC_WEB ",{\"metadata\":{\"name\":\"web2\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
     "\"ports\":[{\"port\":80}]}}]",
     "[]", "services 'default/web' and 'default/web2' both use 10.96.0.10 TCP/80"},
    {"[{\"metadata\":{\"name\":\"a\"},\"spec\":{\"clusterIP\":\"10.96.0.1\",\"type\":"
     "\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30000}]}},"
     "{\"metadata\":{\"name\":\"b\"},\"spec\":{\"clusterIP\":\"10.96.0.2\",\"type\":"
     "\"NodePort\",\"ports\":[{\"port\":80,\"nodePort\":30000}]}}]",
     "[]", "services 'default/a' and 'default/b' both use nodePort TCP/30000"},
};

START_TEST(malformed_objects_are_refused_naming_the_field)
{
    struct net_proxy_node n = node(true);
    json_t *s = js(bad_cases[_i].svcs), *e = js(bad_cases[_i].eps);
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_render(s, e, &n, &b, NULL, &err), -EINVAL);
    ck_assert_msg(strstr(err.msg, bad_cases[_i].msg) != NULL, "case %d: want '%s', got '%s'", _i,
                  bad_cases[_i].msg, err.msg);
    sk_buf_release(&b);
    json_decref(s);
    json_decref(e);
}
END_TEST

START_TEST(ipv6_node_address_is_refused)
{
    struct net_proxy_node n = node(true);
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    ck_assert_int_eq(net_ip_parse("fd00::1", &node_ip[0], NULL), 0);
    sk_err_init(&err);
    ck_assert_int_eq(net_proxy_render(NULL, NULL, &n, &b, NULL, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "node ip #0: not an IPv4 address");
    sk_buf_release(&b);
}
END_TEST

/* ---- determinism ---- */

/* Fisher-Yates with a fixed LCG, so the test is reproducible. */
static json_t *
shuffled(const json_t *arr, unsigned seed)
{
    size_t n = json_array_size(arr), i;
    json_t *out = json_array();
    size_t *idx = calloc(n, sizeof(*idx));

    for (i = 0; i < n; i++)
        idx[i] = i;
    for (i = n; i > 1; i--) {
        size_t j, t;

        seed = seed * 1103515245u + 12345u;
        j = (seed >> 8) % i;
        t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
    for (i = 0; i < n; i++)
        json_array_append(out, json_array_get(arr, idx[i]));
    free(idx);
    return out;
}

/* 40 services, each with 3 endpoints listed in reverse, some across two
 * subsets, plus headless and endpoint-less ones. */
static void
make_world(json_t **svcs, json_t **eps)
{
    char buf[512], cip[32];
    int i;

    *svcs = json_array();
    *eps = json_array();
    for (i = 0; i < 40; i++) {
        if (i % 7 == 0)
            snprintf(cip, sizeof(cip), "None");
        else
            snprintf(cip, sizeof(cip), "10.96.0.%d", i + 1);
        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"namespace\":\"ns%d\",\"name\":\"s%d\"},\"spec\":{"
                 "\"clusterIP\":\"%s\",\"type\":\"NodePort\",\"ports\":[{\"name\":\"a\","
                 "\"port\":80,\"nodePort\":%d},{\"name\":\"b\",\"protocol\":\"UDP\","
                 "\"port\":53,\"nodePort\":%d}]}}",
                 i % 3, i, cip, 30000 + 2 * i, 30001 + 2 * i);
        json_array_append_new(*svcs, js(buf));
        if (i % 5 == 0)
            continue;
        snprintf(buf, sizeof(buf),
                 "{\"metadata\":{\"namespace\":\"ns%d\",\"name\":\"s%d\"},\"subsets\":["
                 "{\"addresses\":[{\"ip\":\"10.244.%d.3\"},{\"ip\":\"10.244.%d.2\"}],"
                 "\"ports\":[{\"name\":\"b\",\"port\":5353,\"protocol\":\"UDP\"},"
                 "{\"name\":\"a\",\"port\":8080}]},"
                 "{\"addresses\":[{\"ip\":\"10.244.%d.1\",\"nodeName\":\"n1\"}],"
                 "\"ports\":[{\"name\":\"a\",\"port\":8080},{\"name\":\"b\",\"port\":5353,"
                 "\"protocol\":\"UDP\"}]}]}",
                 i % 3, i, i, i, i);
        json_array_append_new(*eps, js(buf));
    }
}

START_TEST(shuffled_input_renders_byte_identical)
{
    struct net_proxy_node n = node(true);
    json_t *svcs, *eps;
    struct sk_buf first = SK_BUF_INIT;
    unsigned seed;

    make_world(&svcs, &eps);
    ck_assert_int_eq(net_proxy_render(svcs, eps, &n, &first, NULL, NULL), 0);
    for (seed = 1; seed <= 20; seed++) {
        json_t *s2 = shuffled(svcs, seed), *e2 = shuffled(eps, seed * 7);
        struct sk_buf b = SK_BUF_INIT;

        ck_assert_int_eq(net_proxy_render(s2, e2, &n, &b, NULL, NULL), 0);
        ck_assert_str_eq(b.data, first.data);
        ck_assert_uint_eq(net_proxy_hash(b.data, b.len), net_proxy_hash(first.data, first.len));
        sk_buf_release(&b);
        json_decref(s2);
        json_decref(e2);
    }
    sk_buf_release(&first);
    json_decref(svcs);
    json_decref(eps);
}
END_TEST

START_TEST(duplicate_endpoint_addresses_render_once)
{
    char *s = render("[" SVC_WEB "]", "[" EP_WEB_2 "," EP_WEB_2 "]");

    HAS(s, "elements = { 0-32767 : 10.244.1.3 . 8080,\n"
           "\t\t\t     32768-65535 : 10.244.2.2 . 8080 }\n");
    HAS(s, "elements = { 10.244.1.3 . 10.244.1.3,\n\t\t\t     10.244.2.2 . 10.244.2.2 }\n");
    free(s);
}
END_TEST

START_TEST(hash_is_fnv1a_64)
{
    ck_assert_uint_eq(net_proxy_hash("", 0), 0xcbf29ce484222325ull);
    ck_assert_uint_eq(net_proxy_hash("a", 1), 0xaf63dc4c8601ec8cull);
}
END_TEST

/* ---- incremental diffs ---- */

/* a and b found in s, a before b. */
static void
before(const char *s, const char *a, const char *b)
{
    const char *x = strstr(s, a), *y = strstr(s, b);

    ck_assert_msg(x && y && x < y, "want '%s' before '%s' in:\n%s", a, b, s);
}

static void
state_of(const char *svcs, const char *eps, bool nodeports, struct px_state *st)
{
    struct net_proxy_node n = node(nodeports);
    json_t *s = js(svcs), *e = js(eps);
    struct sk_err err;

    sk_err_init(&err);
    memset(st, 0, sizeof(*st));
    ck_assert_msg(px_build(s, e, &n, NULL, NULL, st, &err) == 0, "%s", err.msg);
    json_decref(s);
    json_decref(e);
}

/* The trace of the batch turning a into b (and the port count). */
static char *
diff_of(const struct px_state *a, const struct px_state *b, bool nodeports, int *changed)
{
    struct net_proxy_node n = node(nodeports);
    struct px_ipcount hp = {0};
    struct px_batch bt;
    size_t lines = 0;
    char *out, *c;

    px_batch_init(&bt);
    px_ipcount_build(&hp, a);
    *changed = px_state_diff(a, b, &n, &hp, &bt);
    px_ipcount_release(&hp);
    out = sk_buf_detach(&bt.trace, NULL);
    for (c = out; *c; c++)
        lines += *c == '\n';
    /* One trace line per netlink message. */
    ck_assert_uint_eq(lines, bt.n);
    ck_assert_uint_eq(*changed == 0, bt.msg.len == 0);
    px_batch_release(&bt);
    return out;
}

#define SVC_DB                                                                                     \
    "{\"metadata\":{\"name\":\"db\"},\"spec\":{\"clusterIP\":\"10.96.0.20\","                      \
    "\"ports\":[{\"port\":5432}]}}"
#define EP_DB                                                                                      \
    "{\"metadata\":{\"name\":\"db\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.3.3\"}],"       \
    "\"ports\":[{\"port\":5432}]}]}"
#define EP_WEB_2B                                                                                  \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},\"subsets\":[{"                    \
    "\"addresses\":[{\"ip\":\"10.244.2.2\",\"nodeName\":\"n2\"},"                                  \
    "{\"ip\":\"10.244.1.4\",\"nodeName\":\"n1\"}],\"ports\":[{\"port\":8080}]}]}"

START_TEST(one_endpoint_change_touches_only_its_service)
{
    struct px_state a, b;
    int changed;
    char *d;

    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "," EP_DB "]", false, &a);
    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2B "," EP_DB "]", false, &b);
    d = diff_of(&a, &b, false, &changed);
    ck_assert_int_eq(changed, 1);
    /* Only data: the slice of the endpoint that went now goes to the
     * new one, and the hairpin set follows. No rule, no chain, so the
     * kernel does not validate the table (see net/proxy_rules.c). */
    ck_assert_str_eq(d, "delete element eps-default/web/tcp/80 0-32767 : 10.244.1.3 . 8080\n"
                        "add element eps-default/web/tcp/80 0-32767 : 10.244.1.4 . 8080\n"
                        "delete element hairpin 10.244.1.3 . 10.244.1.3\n"
                        "add element hairpin 10.244.1.4 . 10.244.1.4\n");
    HASNT(d, "rule");
    free(d);
    /* Unchanged: nothing at all. */
    d = diff_of(&b, &b, false, &changed);
    ck_assert_int_eq(changed, 0);
    ck_assert_str_eq(d, "");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
}
END_TEST

START_TEST(last_endpoint_gone_swaps_map_elements_and_deletes_chains)
{
    struct px_state a, b;
    int changed;
    char *d;

    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "," EP_DB "]", false, &a);
    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "]", false, &b);
    d = diff_of(&a, &b, false, &changed);
    ck_assert_int_eq(changed, 1);
    ck_assert_str_eq(d, "delete element service-ips 10.96.0.20 . tcp . 5432 : "
                        "svc-default/db/tcp/5432\n"
                        "flush chain svc-default/db/tcp/5432\n"
                        "delete map eps-default/db/tcp/5432\n"
                        "delete chain svc-default/db/tcp/5432\n"
                        "add element no-endpoint-services 10.96.0.20 . tcp . 5432 : "
                        "reject-chain\n"
                        "delete element hairpin 10.244.3.3 . 10.244.3.3\n");
    ck_assert_ptr_null(strstr(d, "web"));
    free(d);
    /* And back: chains first, then the element that points at them. */
    d = diff_of(&b, &a, false, &changed);
    HAS(d, "delete element no-endpoint-services 10.96.0.20 . tcp . 5432");
    before(d, "add chain svc-default/db/tcp/5432", "add element service-ips");
    /* The map and its element before the rule that uses it. */
    before(d, "add map eps-default/db/tcp/5432\n",
           "add element eps-default/db/tcp/5432 0-65535 : 10.244.3.3 . 5432\n");
    before(d, "add element eps-default/db/tcp/5432 0-65535",
           "add rule svc-default/db/tcp/5432: meta cmp numgen byteorder lookup "
           "@eps-default/db/tcp/5432 nat\n");
    HAS(d, "add element hairpin 10.244.3.3 . 10.244.3.3\n");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
}
END_TEST

#define SVC_WEB_LOCAL_AFF                                                                          \
    "[{\"metadata\":{\"name\":\"web\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","                    \
    "\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Local\",\"sessionAffinity\":"               \
    "\"ClientIP\",\"ports\":[{\"port\":80,\"nodePort\":30080}]}}]"
#define EPS_WEB_LOCAL                                                                              \
    "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":"                      \
    "\"10.244.1.3\",\"nodeName\":\"n1\"},{\"ip\":\"10.244.1.4\",\"nodeName\":\"n1\"}],"            \
    "\"ports\":[{\"port\":8080}]}]}]"

START_TEST(service_removal_flushes_before_deleting_chains_and_sets)
{
    struct px_state a, none = {0};
    const char *e, *f, *dc, *ds;
    int changed;
    char *d;

    state_of(SVC_WEB_LOCAL_AFF, EPS_WEB_LOCAL, true, &a);
    d = diff_of(&a, &none, true, &changed);
    ck_assert_int_eq(changed, 1);
    e = strstr(d, "delete element service-nodeports tcp . 30080");
    f = strstr(d, "flush chain ext-default/web/tcp/80\n");
    dc = strstr(d, "delete chain ep-default/web/tcp/80/10.244.1.3/8080\n");
    ds = strstr(d, "delete set aff-default/web/tcp/80/10.244.1.4/8080\n");
    ck_assert_msg(e && f && dc && ds, "%s", d);
    /* The kernel refuses to delete what a rule or element still uses. */
    ck_assert_msg(e < f && f < dc, "order:\n%s", d);
    before(d, "flush chain ep-default/web/tcp/80/10.244.1.4/8080",
           "delete set aff-default/web/tcp/80/10.244.1.4/8080\n");
    HAS(d, "delete chain ext-default/web/tcp/80\n");
    HAS(d, "delete element service-ips 10.96.0.10 . tcp . 80");
    HASNT(d, "add ");
    free(d);
    /* Created again: sets before the rules that use them. */
    d = diff_of(&none, &a, true, &changed);
    before(d, "add set aff-default/web/tcp/80/10.244.1.3/8080 timeout 10800s", "dynset");
    HAS(d, "add rule svc-default/web/tcp/80: payload lookup immediate goto "
           "ep-default/web/tcp/80/10.244.1.3/8080\n");
    HAS(d, "add element service-nodeports tcp . 30080 : ext-default/web/tcp/80\n");
    HASNT(d, "delete");
    free(d);
    px_state_release(&a);
}
END_TEST

/* A service deleted and another created on its clusterIP in one sync:
 * the old element must go before the new one comes, or the kernel
 * refuses the duplicate key. */
START_TEST(deletions_of_all_ports_precede_additions)
{
    struct px_state a, b;
    int changed;
    char *d;

    state_of("[" SVC_WEB "]", "[" EP_WEB_2 "]", false, &a);
    state_of("[{\"metadata\":{\"name\":\"aaa\"},\"spec\":{\"clusterIP\":\"10.96.0.10\","
             "\"ports\":[{\"port\":80}]}}]",
             "[]", false, &b);
    d = diff_of(&a, &b, false, &changed);
    ck_assert_int_eq(changed, 2);
    before(d, "delete element service-ips 10.96.0.10 . tcp . 80",
           "add element no-endpoint-services 10.96.0.10 . tcp . 80");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
}
END_TEST

/* Endpoint k of n gets slice k of 0-65535. */
START_TEST(endpoints_split_the_random_range_evenly)
{
    char *s = render("[" SVC_WEB "]",
                     "[{\"metadata\":{\"name\":\"web\"},\"subsets\":[{\"addresses\":[{\"ip\":"
                     "\"10.244.1.3\"},{\"ip\":\"10.244.1.4\"},{\"ip\":\"10.244.1.5\"}],"
                     "\"ports\":[{\"port\":8080}]}]}]");

    HAS(s, "elements = { 0-21844 : 10.244.1.3 . 8080,\n"
           "\t\t\t     21845-43689 : 10.244.1.4 . 8080,\n"
           "\t\t\t     43690-65535 : 10.244.1.5 . 8080 }\n");
    /* No chain per endpoint without affinity. */
    HASNT(s, "chain ep-");
    free(s);
}
END_TEST

#define SVC_API                                                                                    \
    "{\"metadata\":{\"name\":\"api\"},\"spec\":{\"clusterIP\":\"10.96.0.30\","                     \
    "\"ports\":[{\"port\":443}]}}"
#define EP_API_SHARED                                                                              \
    "{\"metadata\":{\"name\":\"api\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.244.1.3\"}],"      \
    "\"ports\":[{\"port\":8443}]}]}"

/* Two services on one pod: its hairpin element stays until neither
 * has it. */
START_TEST(hairpin_element_lives_while_any_endpoint_has_the_address)
{
    struct px_state a, b, c;
    int changed;
    char *d;

    state_of("[" SVC_WEB "," SVC_API "]", "[" EP_WEB_2 "," EP_API_SHARED "]", false, &a);
    state_of("[" SVC_WEB "," SVC_API "]", "[" EP_WEB_2 "]", false, &b);
    state_of("[" SVC_WEB "," SVC_API "]", "[]", false, &c);
    d = diff_of(&a, &b, false, &changed);
    ck_assert_int_eq(changed, 1);
    HAS(d, "delete map eps-default/api/tcp/443\n");
    HASNT(d, "hairpin");
    free(d);
    d = diff_of(&b, &c, false, &changed);
    HAS(d, "delete element hairpin 10.244.1.3 . 10.244.1.3\n");
    HAS(d, "delete element hairpin 10.244.2.2 . 10.244.2.2\n");
    free(d);
    d = diff_of(&a, &c, false, &changed);
    ck_assert_int_eq(changed, 2);
    HAS(d, "delete element hairpin 10.244.1.3 . 10.244.1.3\n");
    free(d);
    d = diff_of(&c, &a, false, &changed);
    HAS(d, "add element hairpin 10.244.1.3 . 10.244.1.3\n");
    HASNT(d, "delete element hairpin");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
    px_state_release(&c);
}
END_TEST

#define SVC_WEB_AFF                                                                                \
    "{\"metadata\":{\"namespace\":\"default\",\"name\":\"web\"},\"spec\":{\"clusterIP\":"          \
    "\"10.96.0.10\",\"sessionAffinity\":\"ClientIP\",\"ports\":[{\"port\":80}]}}"

/* Affinity keeps endpoint chains: an endpoint change rewrites them. */
START_TEST(affinity_endpoint_change_rewrites_its_chains)
{
    struct px_state a, b;
    int changed;
    char *d;

    state_of("[" SVC_WEB_AFF "]", "[" EP_WEB_2 "]", false, &a);
    state_of("[" SVC_WEB_AFF "]", "[" EP_WEB_2B "]", false, &b);
    d = diff_of(&a, &b, false, &changed);
    before(d, "flush chain svc-default/web/tcp/80\n",
           "delete chain ep-default/web/tcp/80/10.244.1.3/8080\n");
    HAS(d, "delete set aff-default/web/tcp/80/10.244.1.3/8080\n");
    before(d, "add set aff-default/web/tcp/80/10.244.1.4/8080",
           "add rule svc-default/web/tcp/80: payload lookup immediate goto "
           "ep-default/web/tcp/80/10.244.1.4/8080\n");
    HASNT(d, "eps-");
    free(d);
    /* Affinity dropped: the chains go, the map comes. */
    px_state_release(&b);
    state_of("[" SVC_WEB "]", "[" EP_WEB_2 "]", false, &b);
    d = diff_of(&a, &b, false, &changed);
    before(d, "delete chain ep-default/web/tcp/80/10.244.2.2/8080\n",
           "add map eps-default/web/tcp/80\n");
    before(d, "add map eps-default/web/tcp/80\n",
           "add rule svc-default/web/tcp/80: meta cmp numgen");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
}
END_TEST

/* Local: the local slice map follows the local endpoints only. */
START_TEST(local_nodeport_endpoint_change_touches_only_the_maps)
{
    struct px_state a, b;
    int changed;
    char *d;

    state_of(SVC_NP("Local"), "[" EP_WEB_2 "]", true, &a);
    state_of(SVC_NP("Local"), "[" EP_WEB_2B "]", true, &b);
    d = diff_of(&a, &b, true, &changed);
    ck_assert_str_eq(d, "delete element eps-default/web/tcp/80 0-32767 : 10.244.1.3 . 8080\n"
                        "delete element eps-local-default/web/tcp/80 0-65535 : 10.244.1.3 . 8080\n"
                        "add element eps-default/web/tcp/80 0-32767 : 10.244.1.4 . 8080\n"
                        "add element eps-local-default/web/tcp/80 0-65535 : 10.244.1.4 . 8080\n"
                        "delete element hairpin 10.244.1.3 . 10.244.1.3\n"
                        "add element hairpin 10.244.1.4 . 10.244.1.4\n");
    free(d);
    px_state_release(&a);
    px_state_release(&b);
}
END_TEST

#define EPS_RV_OBJ(name, rv, ip)                                                                   \
    "{\"metadata\":{\"name\":\"" name "\",\"resourceVersion\":\"" rv "\"},\"subsets\":[{"          \
    "\"addresses\":[{\"ip\":\"" ip "\"}],\"ports\":[{\"port\":8080}]}]}"

/* The same objects passed again are not read again; a new object at a
 * position is, and names moving make the order be sorted again. */
START_TEST(unchanged_objects_are_known_by_pointer)
{
    struct net_proxy_node n = node(false);
    json_t *web = js("{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"1\"},\"spec\":"
                     "{\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}}");
    json_t *db = js("{\"metadata\":{\"name\":\"db\",\"resourceVersion\":\"2\"},\"spec\":"
                    "{\"clusterIP\":\"10.96.0.20\",\"ports\":[{\"port\":5432}]}}");
    json_t *ew = js(EPS_RV_OBJ("web", "3", "10.244.1.2"));
    json_t *ed = js(EPS_RV_OBJ("db", "4", "10.244.3.3"));
    json_t *s1 = json_pack("[O,O]", web, db), *e1 = json_pack("[O,O]", ew, ed);
    json_t *s2 = json_pack("[O,O]", db, web);
    struct px_cache c1 = {0}, c2 = {0}, c3 = {0};
    struct px_state a = {0}, b = {0}, c = {0};
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(px_build(s1, e1, &n, NULL, &c1, &a, &err), 0);
    ck_assert_uint_eq(c1.svc.n, 2);
    ck_assert_ptr_eq(c1.svc.obj[0], web);
    ck_assert_int_eq(px_build(s1, e1, &n, &c1, &c2, &b, &err), 0);
    ck_assert_uint_eq(px_state_hash(&a), px_state_hash(&b));
    /* The endpoint arrays are shared, not copied: "db" sorts first. */
    ck_assert_str_eq(b.port[0].name, "db");
    ck_assert_ptr_eq(a.port[0].ep, b.port[0].ep);
    ck_assert_ptr_null(c1.e[0].port); /* moved on to c2 */
    /* Swapped positions: read again, same state. */
    ck_assert_int_eq(px_build(s2, e1, &n, &c2, &c3, &c, &err), 0);
    ck_assert_uint_eq(px_state_hash(&a), px_state_hash(&c));
    ck_assert_str_eq(c3.svc.ref[c3.svc.order[0]].name, "db");
    px_state_release(&a);
    px_state_release(&b);
    px_state_release(&c);
    px_cache_release(&c1);
    px_cache_release(&c2);
    px_cache_release(&c3);
    json_decref(s1);
    json_decref(s2);
    json_decref(e1);
    json_decref(web);
    json_decref(db);
    json_decref(ew);
    json_decref(ed);
}
END_TEST

static const struct {
    const char *svcs, *eps;
    bool nodeports;
} stat_cases[] = {
    {"[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "," EP_DB "]", false},
    {"[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "]", true},
    {SVC_WEB_LOCAL_AFF, EPS_WEB_LOCAL, true},
    {SVC_WEB_LOCAL_AFF, "[]", true},
    {"[]", "[]", false},
};

START_TEST(counted_stats_match_the_render)
{
    struct net_proxy_node n = node(stat_cases[_i].nodeports);
    struct net_proxy_stats r, c;
    struct sk_buf b = SK_BUF_INIT;
    struct px_state st;

    state_of(stat_cases[_i].svcs, stat_cases[_i].eps, stat_cases[_i].nodeports, &st);
    px_render_state(&st, &n, &b, &r);
    px_state_stats(&st, &n, &c);
    ck_assert_uint_eq(r.services, c.services);
    ck_assert_uint_eq(r.endpoints, c.endpoints);
    ck_assert_uint_eq(r.rules, c.rules);
    px_state_release(&st);
    sk_buf_release(&b);
}
END_TEST

START_TEST(state_hash_ignores_order_and_sees_an_endpoint)
{
    struct px_state a, b, c;

    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2 "," EP_DB "]", false, &a);
    state_of("[" SVC_DB "," SVC_WEB "]", "[" EP_DB "," EP_WEB_2 "]", false, &b);
    state_of("[" SVC_WEB "," SVC_DB "]", "[" EP_WEB_2B "," EP_DB "]", false, &c);
    ck_assert_uint_eq(px_state_hash(&a), px_state_hash(&b));
    ck_assert_uint_ne(px_state_hash(&a), px_state_hash(&c));
    px_state_release(&a);
    px_state_release(&b);
    px_state_release(&c);
}
END_TEST

/* ---- the parse cache ---- */

#define SVC_RV(rv)                                                                                 \
    "[{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"" rv "\"},\"spec\":{\"clusterIP\":"    \
    "\"10.96.0.10\",\"ports\":[{\"port\":80}]}}]"
#define EPS_RV(rv, ip)                                                                             \
    "[{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"" rv "\"},\"subsets\":[{"              \
    "\"addresses\":[{\"ip\":\"" ip "\"}],\"ports\":[{\"port\":8080}]}]}]"

/* Build svcs/eps with the cache old, returning the new cache in new. */
static uint64_t
cached_build(const char *svcs, const char *eps, struct px_cache *old, struct px_cache *new)
{
    struct net_proxy_node n = node(false);
    json_t *s = js(svcs), *e = js(eps);
    struct px_state st = {0};
    struct sk_err err;
    uint64_t h;

    sk_err_init(&err);
    memset(new, 0, sizeof(*new));
    ck_assert_msg(px_build(s, e, &n, old, new, &st, &err) == 0, "%s", err.msg);
    h = px_state_hash(&st);
    px_state_release(&st);
    json_decref(s);
    json_decref(e);
    return h;
}

START_TEST(same_resource_versions_reuse_the_parse)
{
    struct px_cache c1, c2, c3, c4;
    uint64_t a, b, fresh;

    a = cached_build(SVC_RV("5"), EPS_RV("7", "10.244.1.2"), NULL, &c1);
    ck_assert_uint_eq(c1.n, 1);
    /* Same versions, other content (which the API server never serves):
     * the cached parse wins, which shows it is used. */
    b = cached_build(SVC_RV("5"), EPS_RV("7", "10.244.1.9"), &c1, &c2);
    ck_assert_uint_eq(a, b);
    /* A new Endpoints version is parsed again. */
    b = cached_build(SVC_RV("5"), EPS_RV("8", "10.244.1.9"), &c2, &c3);
    fresh = cached_build(SVC_RV("5"), EPS_RV("8", "10.244.1.9"), NULL, &c4);
    ck_assert_uint_ne(a, b);
    ck_assert_uint_eq(b, fresh);
    px_cache_release(&c1);
    px_cache_release(&c2);
    px_cache_release(&c3);
    px_cache_release(&c4);
}
END_TEST

START_TEST(objects_without_resource_version_are_always_parsed)
{
    struct px_cache c1, c2;
    uint64_t a, b;

    a = cached_build(SVC_RV("5"), "[" EP_WEB_2 "]", NULL, &c1);
    ck_assert_uint_eq(c1.n, 0);
    b = cached_build(SVC_RV("5"), "[" EP_WEB_2B "]", &c1, &c2);
    ck_assert_uint_ne(a, b);
    px_cache_release(&c1);
    px_cache_release(&c2);
}
END_TEST

START_TEST(a_cached_service_does_not_hide_a_broken_one)
{
    struct net_proxy_node n = node(false);
    json_t *s = js("[{\"metadata\":{\"name\":\"web\",\"resourceVersion\":\"5\"},\"spec\":{"
                   "\"clusterIP\":\"10.96.0.10\",\"ports\":[{\"port\":80}]}},{\"metadata\":{"
                   "\"name\":\"bad\"},\"spec\":{\"clusterIP\":\"10.96.0.11\",\"ports\":[{"
                   "\"port\":70000}]}}]");
    json_t *e = js(EPS_RV("7", "10.244.1.2"));
    struct px_cache c1, c2 = {0};
    struct px_state st = {0};
    struct sk_err err;

    cached_build(SVC_RV("5"), EPS_RV("7", "10.244.1.2"), NULL, &c1);
    sk_err_init(&err);
    ck_assert_int_eq(px_build(s, e, &n, &c1, &c2, &st, &err), -EINVAL);
    HAS(err.msg, "service 'default/bad': spec.ports[0].port: 70000");
    /* The cache survives the refusal: web's entry is in the next one. */
    ck_assert_uint_eq(c2.n, 1);
    ck_assert_str_eq(c2.e[0].name, "web");
    px_state_release(&st);
    px_cache_release(&c1);
    px_cache_release(&c2);
    json_decref(s);
    json_decref(e);
}
END_TEST

/* A /0 cluster CIDR cannot be written as nft writes it; the caller
 * then replaces the table whole. */
START_TEST(zero_length_cluster_cidr_is_left_to_a_full_sync)
{
    struct net_proxy_node n = node(false);
    struct px_state a, none = {0};
    struct px_ipcount hp = {0};
    struct px_batch bt;

    ck_assert_int_eq(net_cidr_parse("0.0.0.0/0", false, &n.cluster_cidr, NULL), 0);
    state_of("[" SVC_WEB "]", "[" EP_WEB_2 "]", false, &a);
    px_batch_init(&bt);
    ck_assert_int_eq(px_state_diff(&none, &a, &n, &hp, &bt), -EINVAL);
    px_batch_release(&bt);
    px_ipcount_release(&hp);
    px_state_release(&a);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("proxy_rules");
    TCase *tc = tcase_create("render");

    tcase_add_test(tc, clusterip_with_two_endpoints_matches_golden);
    tcase_add_test(tc, no_services_gives_empty_table_with_fixed_chains);
    tcase_add_test(tc, service_cidr_gets_reject_chains_after_dnat);
    tcase_add_test(tc, multiple_ports_map_by_endpoint_port_name);
    tcase_add_test(tc, headless_service_gets_no_rules);
    tcase_add_test(tc, service_without_endpoints_is_rejected);
    tcase_add_test(tc, not_ready_addresses_get_no_traffic);
    tcase_add_test(tc, nodeport_is_served_on_node_addresses_with_snat);
    tcase_add_test(tc, external_traffic_policy_local_uses_local_endpoints_without_snat);
    tcase_add_test(tc, client_ip_affinity_uses_a_timed_set_per_endpoint);
    tcase_add_test(tc, udp_and_sctp_ports_use_their_protocol);
    tcase_add_loop_test(tc, malformed_objects_are_refused_naming_the_field, 0,
                        (int)(sizeof(bad_cases) / sizeof(bad_cases[0])));
    tcase_add_test(tc, ipv6_node_address_is_refused);
    tcase_add_test(tc, shuffled_input_renders_byte_identical);
    tcase_add_test(tc, duplicate_endpoint_addresses_render_once);
    tcase_add_test(tc, hash_is_fnv1a_64);
    tcase_add_test(tc, one_endpoint_change_touches_only_its_service);
    tcase_add_test(tc, last_endpoint_gone_swaps_map_elements_and_deletes_chains);
    tcase_add_test(tc, service_removal_flushes_before_deleting_chains_and_sets);
    tcase_add_test(tc, deletions_of_all_ports_precede_additions);
    tcase_add_test(tc, endpoints_split_the_random_range_evenly);
    tcase_add_test(tc, hairpin_element_lives_while_any_endpoint_has_the_address);
    tcase_add_test(tc, affinity_endpoint_change_rewrites_its_chains);
    tcase_add_test(tc, local_nodeport_endpoint_change_touches_only_the_maps);
    tcase_add_test(tc, unchanged_objects_are_known_by_pointer);
    tcase_add_loop_test(tc, counted_stats_match_the_render, 0,
                        (int)(sizeof(stat_cases) / sizeof(stat_cases[0])));
    tcase_add_test(tc, state_hash_ignores_order_and_sees_an_endpoint);
    tcase_add_test(tc, zero_length_cluster_cidr_is_left_to_a_full_sync);
    tcase_add_test(tc, same_resource_versions_reuse_the_parse);
    tcase_add_test(tc, objects_without_resource_version_are_always_parsed);
    tcase_add_test(tc, a_cached_service_does_not_hide_a_broken_one);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
