/* net/dns_zone: the cluster zone's answers, built from Services and
 * Endpoints as the API returns them. */
#include "lib/log.h"
#include "net/dns.h"
#include "unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

static const char *services_json =
    "{\"items\": ["
    " {\"metadata\": {\"name\": \"web\", \"namespace\": \"default\"},"
    "  \"spec\": {\"clusterIP\": \"10.96.0.10\", \"ports\": ["
    "   {\"name\": \"http\", \"protocol\": \"TCP\", \"port\": 80, \"targetPort\": 8080},"
    "   {\"name\": \"dns\", \"protocol\": \"UDP\", \"port\": 53},"
    "   {\"port\": 9000}]}},"
    " {\"metadata\": {\"name\": \"db\", \"namespace\": \"prod\"},"
    "  \"spec\": {\"clusterIP\": \"None\", \"ports\": [{\"name\": \"pg\", \"port\": 5432}]}},"
    " {\"metadata\": {\"name\": \"ext\", \"namespace\": \"default\"},"
    "  \"spec\": {\"type\": \"ExternalName\", \"externalName\": \"example.org\"}},"
    " {\"metadata\": {\"name\": \"lonely\", \"namespace\": \"default\"},"
    "  \"spec\": {\"clusterIP\": \"None\"}},"
    " {\"metadata\": {\"namespace\": \"default\"}, \"spec\": {\"clusterIP\": \"10.96.0.99\"}},"
    " {\"metadata\": {\"name\": \"badip\"}, \"spec\": {\"clusterIP\": \"10.96.0.300\"}}"
    "]}";

static const char *endpoints_json =
    "[{\"metadata\": {\"name\": \"db\", \"namespace\": \"prod\"},"
    "  \"subsets\": [{"
    "   \"addresses\": [{\"ip\": \"10.244.1.5\", \"hostname\": \"db-0\"},"
    "                   {\"ip\": \"10.244.2.6\"}, {\"ip\": \"not-an-ip\"}],"
    "   \"notReadyAddresses\": [{\"ip\": \"10.244.3.7\", \"hostname\": \"db-2\"}],"
    "   \"ports\": [{\"name\": \"pg\", \"port\": 5433}]}]},"
    " {\"metadata\": {\"name\": \"web\", \"namespace\": \"default\"},"
    "  \"subsets\": [{\"addresses\": [{\"ip\": \"10.244.1.9\"}]}]}]";

static struct dns_zone *zone;

static struct dns_zone *
build(const char *domain, uint32_t ttl)
{
    struct dns_zone_options opt = {domain, ttl, 42};
    json_t *svcs = json_loads(services_json, 0, NULL), *eps = json_loads(endpoints_json, 0, NULL);
    struct dns_zone *z = NULL;
    struct sk_err err;

    ck_assert(svcs && eps);
    sk_err_init(&err);
    ck_assert_msg(dns_zone_build(&opt, svcs, eps, &z, &err) == 0, "%s", err.msg);
    json_decref(svcs);
    json_decref(eps);
    return z;
}

static void
setup(void)
{
    zone = build(NULL, 0);
}

static void
teardown(void)
{
    dns_zone_free(zone);
    zone = NULL;
}

static enum dns_zone_result
ask(const struct dns_zone *z, const char *name, uint16_t type, struct dns_msg *r)
{
    struct dns_msg q;
    enum dns_zone_result res;

    dns_msg_init(&q);
    dns_msg_init(r);
    q.id = 4242;
    q.flags = DNS_F_RD;
    q.has_question = true;
    ck_assert_int_eq(dns_name_from_str(name, &q.question.name, NULL), 0);
    q.question.type = type;
    q.question.klass = DNS_CLASS_IN;
    res = dns_zone_lookup(z, &q, r);
    dns_msg_release(&q);
    return res;
}

static const char *
ip4(const uint8_t a[4], char *buf)
{
    return inet_ntop(AF_INET, a, buf, 16);
}

static const char *
name(const struct dns_name *n)
{
    static char buf[4][DNS_NAME_STRLEN];
    static int k;

    k = (k + 1) % 4;
    return dns_name_to_str(n, buf[k], sizeof(buf[k]));
}

static void
assert_negative(const struct dns_msg *r, unsigned rcode)
{
    ck_assert_uint_eq(dns_msg_rcode(r), rcode);
    ck_assert(r->flags & DNS_F_AA);
    ck_assert_uint_eq(r->nrr[DNS_SEC_ANSWER], 0);
    ck_assert_uint_eq(r->nrr[DNS_SEC_AUTHORITY], 1);
    ck_assert_uint_eq(r->rr[DNS_SEC_AUTHORITY][0].type, DNS_TYPE_SOA);
    ck_assert_str_eq(name(&r->rr[DNS_SEC_AUTHORITY][0].name), "cluster.local");
    ck_assert_uint_eq(r->rr[DNS_SEC_AUTHORITY][0].rd.soa.serial, 42);
    ck_assert_uint_eq(r->rr[DNS_SEC_AUTHORITY][0].rd.soa.minimum, 30);
}

START_TEST(service_a_record_is_the_cluster_ip_in_the_querys_case)
{
    struct dns_msg r;
    char b[16];

    ck_assert_int_eq(ask(zone, "WEB.Default.svc.Cluster.Local", DNS_TYPE_A, &r), DNS_ZONE_ANSWERED);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert(r.flags & DNS_F_AA);
    ck_assert(r.flags & DNS_F_QR);
    ck_assert_uint_eq(r.id, 4242);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.96.0.10");
    ck_assert_uint_eq(r.rr[0][0].ttl, 30);
    ck_assert_str_eq(name(&r.rr[0][0].name), "WEB.Default.svc.Cluster.Local");
    ck_assert_uint_eq(r.nrr[DNS_SEC_AUTHORITY], 0);
    dns_msg_release(&r);
}
END_TEST

START_TEST(existing_name_without_the_type_is_nodata)
{
    static const struct {
        const char *name;
        uint16_t type;
    } cases[] = {
        {"web.default.svc.cluster.local", DNS_TYPE_AAAA},
        {"web.default.svc.cluster.local", DNS_TYPE_TXT},
        {"default.svc.cluster.local", DNS_TYPE_A}, /* empty non-terminals */
        {"svc.cluster.local", DNS_TYPE_A},
        {"_tcp.web.default.svc.cluster.local", DNS_TYPE_SRV},
        {"_http._tcp.web.default.svc.cluster.local", DNS_TYPE_A},
        {"lonely.default.svc.cluster.local", DNS_TYPE_A}, /* headless, no endpoints */
        {"cluster.local", DNS_TYPE_A},
        {"pod.cluster.local", DNS_TYPE_A},
        {"default.pod.cluster.local", DNS_TYPE_A},
        {"10-244-1-5.default.pod.cluster.local", DNS_TYPE_AAAA},
    };
    struct dns_msg r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(ask(zone, cases[i].name, cases[i].type, &r), DNS_ZONE_ANSWERED);
        ck_assert_msg(dns_msg_rcode(&r) == 0, "%s", cases[i].name);
        assert_negative(&r, DNS_RCODE_NOERROR);
        dns_msg_release(&r);
    }
}
END_TEST

START_TEST(missing_names_are_nxdomain_with_soa)
{
    static const char *cases[] = {
        "nosuch.default.svc.cluster.local",
        "web.nosuch.svc.cluster.local",
        "x.web.default.svc.cluster.local",
        "_https._tcp.web.default.svc.cluster.local",
        "_9000._tcp.web.default.svc.cluster.local", /* unnamed port: no SRV */
        "db-2.db.prod.svc.cluster.local",           /* not ready */
        "nosuch.cluster.local",
        "x-1-2-3.default.pod.cluster.local",
        "1-2-3.default.pod.cluster.local",
        "1-2-3-400.default.pod.cluster.local",
        "a.10-244-1-5.default.pod.cluster.local",
    };
    struct dns_msg r;
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        ck_assert_int_eq(ask(zone, cases[i], DNS_TYPE_A, &r), DNS_ZONE_ANSWERED);
        assert_negative(&r, DNS_RCODE_NXDOMAIN);
        dns_msg_release(&r);
    }
}
END_TEST

START_TEST(srv_of_a_named_port_points_at_the_service_with_its_address)
{
    struct dns_msg r;
    char b[16];

    ask(zone, "_http._TCP.web.default.svc.cluster.local", DNS_TYPE_SRV, &r);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_eq(r.rr[0][0].rd.srv.port, 80);
    ck_assert_str_eq(name(&r.rr[0][0].rd.srv.target), "web.default.svc.cluster.local");
    ck_assert_uint_eq(r.nrr[DNS_SEC_ADDITIONAL], 1);
    ck_assert_str_eq(ip4(r.rr[DNS_SEC_ADDITIONAL][0].rd.a, b), "10.96.0.10");
    dns_msg_release(&r);
    ask(zone, "_dns._udp.web.default.svc.cluster.local", DNS_TYPE_SRV, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_eq(r.rr[0][0].rd.srv.port, 53);
    dns_msg_release(&r);
}
END_TEST

START_TEST(headless_service_answers_each_ready_endpoint)
{
    struct dns_msg r;
    char b[16];

    ask(zone, "db.prod.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 2);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.244.1.5");
    ck_assert_str_eq(ip4(r.rr[0][1].rd.a, b), "10.244.2.6");
    dns_msg_release(&r);
    ask(zone, "db-0.db.prod.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.244.1.5");
    dns_msg_release(&r);
    ask(zone, "10-244-2-6.db.prod.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.244.2.6");
    dns_msg_release(&r);
}
END_TEST

START_TEST(headless_srv_names_every_endpoint_with_the_endpoint_port)
{
    struct dns_msg r;
    size_t i;
    bool saw_host = false, saw_dashed = false;

    ask(zone, "_pg._tcp.db.prod.svc.cluster.local", DNS_TYPE_SRV, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 2);
    for (i = 0; i < 2; i++) {
        const char *t = name(&r.rr[0][i].rd.srv.target);
        ck_assert_uint_eq(r.rr[0][i].rd.srv.port, 5433);
        ck_assert_uint_eq(r.rr[0][i].rd.srv.weight, 50);
        saw_host |= strcmp(t, "db-0.db.prod.svc.cluster.local") == 0;
        saw_dashed |= strcmp(t, "10-244-2-6.db.prod.svc.cluster.local") == 0;
    }
    ck_assert(saw_host && saw_dashed);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ADDITIONAL], 2);
    dns_msg_release(&r);
}
END_TEST

START_TEST(pod_names_answer_the_address_they_encode)
{
    struct dns_msg r;
    char b[16];

    ask(zone, "10-244-1-5.anything.pod.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NOERROR);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.244.1.5");
    ck_assert_str_eq(name(&r.rr[0][0].name), "10-244-1-5.anything.pod.cluster.local");
    dns_msg_release(&r);
}
END_TEST

START_TEST(ptr_for_service_and_endpoint_addresses_other_reverse_names_fall_through)
{
    struct dns_msg r;

    ck_assert_int_eq(ask(zone, "10.0.96.10.in-addr.arpa", DNS_TYPE_PTR, &r), DNS_ZONE_ANSWERED);
    ck_assert(r.flags & DNS_F_AA);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(name(&r.rr[0][0].rd.target), "web.default.svc.cluster.local");
    dns_msg_release(&r);
    ask(zone, "5.1.244.10.IN-ADDR.ARPA", DNS_TYPE_PTR, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(name(&r.rr[0][0].rd.target), "db-0.db.prod.svc.cluster.local");
    dns_msg_release(&r);
    ck_assert_int_eq(ask(zone, "1.1.1.1.in-addr.arpa", DNS_TYPE_PTR, &r), DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(zone, "10.0.96.10.in-addr.arpa", DNS_TYPE_A, &r), DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(zone, "example.org", DNS_TYPE_A, &r), DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(zone, "xcluster.local", DNS_TYPE_A, &r), DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
}
END_TEST

START_TEST(external_name_is_a_cname_for_every_type)
{
    struct dns_msg r;

    ask(zone, "ext.default.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_eq(r.rr[0][0].type, DNS_TYPE_CNAME);
    ck_assert_str_eq(name(&r.rr[0][0].rd.target), "example.org");
    dns_msg_release(&r);
}
END_TEST

START_TEST(apex_has_soa_any_answers_all_transfers_are_refused)
{
    struct dns_msg r;

    ask(zone, "cluster.local", DNS_TYPE_SOA, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(name(&r.rr[0][0].rd.soa.mname), "ns.dns.cluster.local");
    ck_assert_str_eq(name(&r.rr[0][0].rd.soa.rname), "hostmaster.cluster.local");
    dns_msg_release(&r);
    ask(zone, "web.default.svc.cluster.local", DNS_TYPE_ANY, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    dns_msg_release(&r);
    ask(zone, "cluster.local", DNS_TYPE_AXFR, &r);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_REFUSED);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 0);
    dns_msg_release(&r);
}
END_TEST

START_TEST(dual_stack_service_answers_a_and_aaaa_with_ptr_under_both_arpa_trees)
{
    json_t *svcs = json_loads("[{\"metadata\": {\"name\": \"ds\", \"namespace\": \"default\"},"
                              "  \"spec\": {\"clusterIP\": \"10.96.0.20\","
                              "   \"clusterIPs\": [\"10.96.0.20\", \"fd00:96::14\", \"bogus\"]}},"
                              " {\"metadata\": {\"name\": \"v6\", \"namespace\": \"default\"},"
                              "  \"spec\": {\"clusterIPs\": [\"fd00:96::15\"]}},"
                              " {\"metadata\": {\"name\": \"h\", \"namespace\": \"default\"},"
                              "  \"spec\": {\"clusterIP\": \"None\"}}]",
                              0, NULL),
           *eps = json_loads("[{\"metadata\": {\"name\": \"h\", \"namespace\": \"default\"},"
                             "  \"subsets\": [{\"addresses\": [{\"ip\": \"fd00:244::7\","
                             "   \"hostname\": \"h-0\"}]}]}]",
                             0, NULL);
    struct dns_zone_options opt = {NULL, 0, 42};
    struct dns_zone *z = NULL;
    struct dns_msg r;
    char b[64];

    ck_assert(svcs && eps);
    ck_assert_int_eq(dns_zone_build(&opt, svcs, eps, &z, NULL), 0);
    ask(z, "ds.default.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), "10.96.0.20");
    dns_msg_release(&r);
    ask(z, "ds.default.svc.cluster.local", DNS_TYPE_AAAA, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(inet_ntop(AF_INET6, r.rr[0][0].rd.aaaa, b, sizeof(b)), "fd00:96::14");
    dns_msg_release(&r);
    /* clusterIPs alone (no clusterIP): still published; A is NODATA */
    ask(z, "v6.default.svc.cluster.local", DNS_TYPE_AAAA, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    dns_msg_release(&r);
    ask(z, "v6.default.svc.cluster.local", DNS_TYPE_A, &r);
    assert_negative(&r, DNS_RCODE_NOERROR);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(z,
                         "4.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.0.d.f."
                         "IP6.ARPA",
                         DNS_TYPE_PTR, &r),
                     DNS_ZONE_ANSWERED);
    ck_assert(r.flags & DNS_F_AA);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(name(&r.rr[0][0].rd.target), "ds.default.svc.cluster.local");
    dns_msg_release(&r);
    ask(z, "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.0.d.f.ip6.arpa", DNS_TYPE_PTR,
        &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_str_eq(name(&r.rr[0][0].rd.target), "h-0.h.default.svc.cluster.local");
    dns_msg_release(&r);
    ask(z, "20.0.96.10.in-addr.arpa", DNS_TYPE_PTR, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(z,
                         "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.ip6.arpa",
                         DNS_TYPE_PTR, &r),
                     DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
    dns_zone_free(z);
    json_decref(svcs);
    json_decref(eps);
}
END_TEST

START_TEST(domain_and_ttl_are_configurable)
{
    struct dns_zone *z = build("Skiff.Test.", 5);
    struct dns_msg r;

    ask(z, "web.default.svc.skiff.test", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
    ck_assert_uint_eq(r.rr[0][0].ttl, 5);
    dns_msg_release(&r);
    ask(z, "nosuch.skiff.test", DNS_TYPE_A, &r);
    ck_assert_uint_eq(r.rr[DNS_SEC_AUTHORITY][0].rd.soa.minimum, 5);
    dns_msg_release(&r);
    ck_assert_int_eq(ask(z, "web.default.svc.cluster.local", DNS_TYPE_A, &r), DNS_ZONE_NOT_OURS);
    dns_msg_release(&r);
    dns_zone_free(z);
}
END_TEST

START_TEST(bad_domain_fails_and_malformed_objects_are_skipped)
{
    struct dns_zone_options opt = {"a..b", 0, 0};
    struct dns_zone *z = NULL;
    struct sk_err err;
    json_t *junk = json_loads("[1, \"x\", {\"spec\": 3}, {\"metadata\": {\"name\": "
                              "\"a.b\"}, \"spec\": {\"clusterIP\": \"10.0.0.1\"}}]",
                              0, NULL);

    sk_err_init(&err);
    ck_assert_int_eq(dns_zone_build(&opt, NULL, NULL, &z, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "dns zone: name 'a..b': empty label");
    opt.domain = ".";
    ck_assert_int_eq(dns_zone_build(&opt, NULL, NULL, &z, &err), -EINVAL);
    opt.domain = NULL;
    ck_assert_int_eq(dns_zone_build(&opt, junk, junk, &z, &err), 0);
    /* apex, pod, and nothing else */
    ck_assert_uint_eq(dns_zone_names(z), 2);
    dns_zone_free(z);
    json_decref(junk);
    /* the fixture: every owner and empty non-terminal is one name */
    ck_assert_uint_gt(dns_zone_names(zone), 15);
}
END_TEST

START_TEST(a_large_zone_answers_every_name_it_was_built_from)
{
    json_t *svcs = json_array(), *eps = json_array(), *addrs;
    struct dns_zone *z = NULL;
    struct dns_msg r;
    char name[128], ip[32], b2[DNS_NAME_STRLEN];
    int i, k;

    for (i = 0; i < 2000; i++) {
        snprintf(name, sizeof(name), "svc-%d", i);
        addrs = json_array();
        for (k = 0; k < 3; k++) {
            snprintf(ip, sizeof(ip), "10.%d.%d.%d", 1 + k, i / 250, i % 250 + 1);
            json_array_append_new(addrs, json_pack("{s:s,s:s}", "ip", ip, "hostname",
                                                   k == 0   ? "first"
                                                   : k == 1 ? "second"
                                                            : ""));
        }
        json_array_append_new(svcs,
                              json_pack("{s:{s:s,s:s},s:{s:s,s:[{s:s,s:i}]}}", "metadata", "name",
                                        name, "namespace", i % 2 ? "odd" : "even", "spec",
                                        "clusterIP", "None", "ports", "name", "p", "port", 80));
        json_array_append_new(eps, json_pack("{s:{s:s,s:s},s:[{s:o}]}", "metadata", "name", name,
                                             "namespace", i % 2 ? "odd" : "even", "subsets",
                                             "addresses", addrs));
    }
    ck_assert_int_eq(dns_zone_build(NULL, svcs, eps, &z, NULL), 0);
    json_decref(svcs);
    json_decref(eps);
    for (i = 0; i < 2000; i += 7) {
        char b[16], want[16];
        snprintf(name, sizeof(name), "svc-%d.%s.svc.cluster.local", i, i % 2 ? "odd" : "even");
        ask(z, name, DNS_TYPE_A, &r);
        ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 3);
        dns_msg_release(&r);
        snprintf(name, sizeof(name), "second.svc-%d.%s.svc.cluster.local", i,
                 i % 2 ? "odd" : "even");
        ask(z, name, DNS_TYPE_A, &r);
        ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
        snprintf(want, sizeof(want), "10.2.%d.%d", i / 250, i % 250 + 1);
        ck_assert_str_eq(ip4(r.rr[0][0].rd.a, b), want);
        dns_msg_release(&r);
        snprintf(name, sizeof(name), "_p._tcp.svc-%d.%s.svc.cluster.local", i,
                 i % 2 ? "odd" : "even");
        ask(z, name, DNS_TYPE_SRV, &r);
        ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 3);
        ck_assert_uint_eq(r.nrr[DNS_SEC_ADDITIONAL], 3);
        dns_msg_release(&r);
        snprintf(name, sizeof(name), "%d.%d.3.10.in-addr.arpa", i % 250 + 1, i / 250);
        ask(z, name, DNS_TYPE_PTR, &r);
        ck_assert_uint_eq(r.nrr[DNS_SEC_ANSWER], 1);
        snprintf(name, sizeof(name), "10-3-%d-%d.svc-%d.%s.svc.cluster.local", i / 250, i % 250 + 1,
                 i, i % 2 ? "odd" : "even");
        ck_assert_str_eq(dns_name_to_str(&r.rr[0][0].rd.target, b2, sizeof(b2)), name);
        dns_msg_release(&r);
    }
    ask(z, "svc-2000.even.svc.cluster.local", DNS_TYPE_A, &r);
    ck_assert_uint_eq(dns_msg_rcode(&r), DNS_RCODE_NXDOMAIN);
    dns_msg_release(&r);
    dns_zone_free(z);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("dns_zone");
    TCase *tc = tcase_create("zone");

    sk_log_set_level(SK_LOG_ERROR); /* the skipped objects warn */
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, service_a_record_is_the_cluster_ip_in_the_querys_case);
    tcase_add_test(tc, existing_name_without_the_type_is_nodata);
    tcase_add_test(tc, missing_names_are_nxdomain_with_soa);
    tcase_add_test(tc, srv_of_a_named_port_points_at_the_service_with_its_address);
    tcase_add_test(tc, headless_service_answers_each_ready_endpoint);
    tcase_add_test(tc, headless_srv_names_every_endpoint_with_the_endpoint_port);
    tcase_add_test(tc, pod_names_answer_the_address_they_encode);
    tcase_add_test(tc, ptr_for_service_and_endpoint_addresses_other_reverse_names_fall_through);
    tcase_add_test(tc, external_name_is_a_cname_for_every_type);
    tcase_add_test(tc, apex_has_soa_any_answers_all_transfers_are_refused);
    tcase_add_test(tc, dual_stack_service_answers_a_and_aaaa_with_ptr_under_both_arpa_trees);
    tcase_add_test(tc, domain_and_ttl_are_configurable);
    tcase_add_test(tc, bad_domain_fails_and_malformed_objects_are_skipped);
    tcase_add_test(tc, a_large_zone_answers_every_name_it_was_built_from);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
