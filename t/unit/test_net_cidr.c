/* net/cidr.c: address and CIDR parsing, formatting and arithmetic. */
#include "net/net.h"
#include "unit.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

static const struct {
    const char *in;
    bool host_bits;
    const char *out; /* NULL: must fail */
    const char *msg; /* expected error substring */
} parse_cases[] = {
    {"10.244.0.0/16", false, "10.244.0.0/16", NULL},
    {"0.0.0.0/0", false, "0.0.0.0/0", NULL},
    {"10.244.1.7/24", true, "10.244.1.7/24", NULL},
    {"10.244.1.7/32", false, "10.244.1.7/32", NULL},
    {"fd00:10::/64", false, "fd00:10::/64", NULL},
    {"fd00::1/128", false, "fd00::1/128", NULL},
    {"10.244.1.7/24", false, NULL, "has host bits set (the network is 10.244.1.0/24)"},
    {"10.244.0.0", false, NULL, "missing prefix length"},
    {"10.244.0.0/", false, NULL, "bad prefix length"},
    {"10.244.0.0/33", false, NULL, "bad prefix length"},
    {"10.244.0.0/-1", false, NULL, "bad prefix length"},
    {"10.244.0.0/+8", false, NULL, "bad prefix length"},
    {"10.244.0.0/08", false, NULL, "bad prefix length"},
    {"10.244.0.0/16 ", false, NULL, "bad prefix length"},
    {"10.244.0.0/1234", false, NULL, "bad prefix length"},
    {"fd00::/129", false, NULL, "bad prefix length"},
    {"10.244.0/16", false, NULL, "bad IP address"},
    {"10.244.0.256/24", false, NULL, "bad IP address"},
    {" 10.0.0.0/8", false, NULL, "bad IP address"},
    {"/8", false, NULL, "bad IP address"},
    {"", false, NULL, "missing prefix length"},
    {"banana/8", false, NULL, "bad IP address"},
    {"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/8", false,
     NULL, "bad IP address"},
};

START_TEST(cidr_parse_table)
{
    char buf[NET_CIDR_STRLEN];
    struct net_cidr c;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(parse_cases) / sizeof(parse_cases[0]); i++) {
        sk_err_init(&err);
        int rc = net_cidr_parse(parse_cases[i].in, parse_cases[i].host_bits, &c, &err);

        if (parse_cases[i].out) {
            ck_assert_msg(rc == 0, "'%s': %s", parse_cases[i].in, err.msg);
            ck_assert_str_eq(net_cidr_format(&c, buf, sizeof(buf)), parse_cases[i].out);
        } else {
            ck_assert_msg(rc == -EINVAL, "'%s' parsed", parse_cases[i].in);
            ck_assert_msg(strstr(err.msg, parse_cases[i].msg), "'%s': got '%s'", parse_cases[i].in,
                          err.msg);
        }
    }
}
END_TEST

START_TEST(ip_parse_both_families)
{
    char buf[NET_IP_STRLEN];
    struct net_ip a, b;
    struct sk_err err;

    ck_assert_int_eq(net_ip_parse("192.168.1.2", &a, NULL), 0);
    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_str_eq(net_ip_format(&a, buf, sizeof(buf)), "192.168.1.2");
    ck_assert_int_eq(net_ip_parse("fe80::1", &b, NULL), 0);
    ck_assert_int_eq(b.family, AF_INET6);
    ck_assert(!net_ip_equal(&a, &b));
    sk_err_init(&err);
    ck_assert_int_eq(net_ip_parse("192.168.1", &a, &err), -EINVAL);
    ck_assert_str_eq(err.msg, "bad IP address '192.168.1'");
}
END_TEST

static struct net_cidr
cidr(const char *s)
{
    struct net_cidr c;

    ck_assert_int_eq(net_cidr_parse(s, true, &c, NULL), 0);
    return c;
}

static struct net_ip
ip(const char *s)
{
    struct net_ip a;

    ck_assert_int_eq(net_ip_parse(s, &a, NULL), 0);
    return a;
}

START_TEST(contains_and_overlaps)
{
    struct net_cidr cl = cidr("10.244.0.0/16"), n1 = cidr("10.244.1.0/24");
    struct net_cidr svc = cidr("10.96.0.0/12"), all = cidr("0.0.0.0/0");
    struct net_ip a = ip("10.244.1.9"), b = ip("10.245.0.1"), v6 = ip("::ffff:10.244.1.9");

    ck_assert(net_cidr_contains(&cl, &a));
    ck_assert(!net_cidr_contains(&cl, &b));
    ck_assert(!net_cidr_contains(&cl, &v6));
    ck_assert(net_cidr_overlaps(&cl, &n1));
    ck_assert(net_cidr_overlaps(&n1, &cl));
    ck_assert(!net_cidr_overlaps(&cl, &svc));
    ck_assert(net_cidr_overlaps(&all, &svc));
}
END_TEST

START_TEST(host_offset_broadcast)
{
    struct net_cidr n = cidr("10.244.1.0/24"), v6 = cidr("fd00::/120");
    char buf[NET_IP_STRLEN];
    struct net_ip a, brd;
    struct sk_err err;

    ck_assert_int_eq(net_cidr_host(&n, 1, &a, NULL), 0);
    ck_assert_str_eq(net_ip_format(&a, buf, sizeof(buf)), "10.244.1.1");
    ck_assert_int_eq(net_cidr_host(&n, 255, &a, NULL), 0);
    ck_assert_str_eq(net_ip_format(&a, buf, sizeof(buf)), "10.244.1.255");
    ck_assert_uint_eq(net_cidr_offset(&n, &a), 255);
    sk_err_init(&err);
    ck_assert_int_eq(net_cidr_host(&n, 256, &a, &err), -ERANGE);
    ck_assert_str_eq(err.msg, "address #256 is outside 10.244.1.0/24");
    brd = net_cidr_broadcast(&n);
    ck_assert_str_eq(net_ip_format(&brd, buf, sizeof(buf)), "10.244.1.255");
    brd = net_cidr_broadcast(&(struct net_cidr){ip("10.0.0.0"), 13});
    ck_assert_str_eq(net_ip_format(&brd, buf, sizeof(buf)), "10.7.255.255");
    ck_assert_int_eq(net_cidr_host(&v6, 0xab, &a, NULL), 0);
    ck_assert_str_eq(net_ip_format(&a, buf, sizeof(buf)), "fd00::ab");
    ck_assert_uint_eq(net_cidr_offset(&v6, &a), 0xab);
}
END_TEST

static const struct {
    const char *cluster;
    unsigned node_prefix;
    uint64_t index;
    const char *out; /* NULL: must fail */
    int code;
} carve_cases[] = {
    {"10.244.0.0/16", 24, 0, "10.244.0.0/24", 0},     {"10.244.0.0/16", 24, 1, "10.244.1.0/24", 0},
    {"10.244.0.0/16", 24, 255, "10.244.255.0/24", 0}, {"10.244.0.0/16", 24, 256, NULL, ERANGE},
    {"10.244.0.0/16", 26, 5, "10.244.1.64/26", 0},    {"10.0.0.0/8", 24, 257, "10.1.1.0/24", 0},
    {"10.0.0.0/8", 24, 65536, NULL, ERANGE},          {"10.244.0.0/16", 16, 0, NULL, EINVAL},
    {"10.244.0.0/16", 31, 0, NULL, EINVAL},           {"10.244.0.0/16", 12, 0, NULL, EINVAL},
    {"fd00:10::/56", 64, 3, "fd00:10:0:3::/64", 0},   {"fd00:10::/56", 64, 256, NULL, ERANGE},
};

START_TEST(carve_node_ranges)
{
    char buf[NET_CIDR_STRLEN];
    struct net_cidr cl, out;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(carve_cases) / sizeof(carve_cases[0]); i++) {
        cl = cidr(carve_cases[i].cluster);
        sk_err_init(&err);
        int rc = net_cidr_carve(&cl, carve_cases[i].node_prefix, carve_cases[i].index, &out, &err);

        if (carve_cases[i].out) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
            ck_assert_str_eq(net_cidr_format(&out, buf, sizeof(buf)), carve_cases[i].out);
        } else {
            ck_assert_msg(rc == -carve_cases[i].code, "case %zu: rc %d", i, rc);
            ck_assert(strstr(err.msg, carve_cases[i].cluster));
        }
    }
    cl = cidr("10.244.0.0/16");
    net_cidr_carve(&cl, 24, 256, &out, &err);
    ck_assert_str_eq(
        err.msg, "cluster cidr 10.244.0.0/16 has only 256 /24 node ranges; index 256 is beyond");
}
END_TEST

START_TEST(carved_ranges_never_overlap)
{
    struct net_cidr cl = cidr("10.244.0.0/16"), a, b;
    uint64_t i;

    for (i = 0; i + 1 < 256; i++) {
        ck_assert_int_eq(net_cidr_carve(&cl, 24, i, &a, NULL), 0);
        ck_assert_int_eq(net_cidr_carve(&cl, 24, i + 1, &b, NULL), 0);
        ck_assert(!net_cidr_overlaps(&a, &b));
        ck_assert(net_cidr_overlaps(&a, &cl));
    }
}
END_TEST

static const struct {
    const char *cluster, *service, *msg; /* msg NULL: accepted */
} cluster_cases[] = {
    {"10.244.0.0/16", "10.96.0.0/12", NULL},
    {"10.96.0.0/16", "10.96.0.0/12",
     "cluster cidr 10.96.0.0/16 overlaps service cidr 10.96.0.0/12"},
    {"10.0.0.0/8", "10.96.0.0/12", "cluster cidr 10.0.0.0/8 overlaps service cidr 10.96.0.0/12"},
    {"10.244.0.0/16", "10.244.0.0/16", "overlaps"},
    {"10.244.1.0/16", "10.96.0.0/12", "cluster cidr 10.244.1.0/16 has host bits set"},
    {"fd00::/48", "10.96.0.0/12", "cluster cidr fd00::/48: only IPv4 is supported"},
};

START_TEST(cluster_and_service_cidrs_must_not_overlap)
{
    struct net_cidr c, s;
    struct sk_err err;
    size_t i;

    for (i = 0; i < sizeof(cluster_cases) / sizeof(cluster_cases[0]); i++) {
        c = cidr(cluster_cases[i].cluster);
        s = cidr(cluster_cases[i].service);
        sk_err_init(&err);
        int rc = net_cidr_check_cluster(&c, &s, &err);

        if (!cluster_cases[i].msg) {
            ck_assert_msg(rc == 0, "case %zu: %s", i, err.msg);
        } else {
            ck_assert_int_lt(rc, 0);
            ck_assert_msg(strstr(err.msg, cluster_cases[i].msg), "case %zu: %s", i, err.msg);
        }
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("net_cidr");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, cidr_parse_table);
    tcase_add_test(tc, ip_parse_both_families);
    tcase_add_test(tc, contains_and_overlaps);
    tcase_add_test(tc, host_offset_broadcast);
    tcase_add_test(tc, carve_node_ranges);
    tcase_add_test(tc, carved_ranges_never_overlap);
    tcase_add_test(tc, cluster_and_service_cidrs_must_not_overlap);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
