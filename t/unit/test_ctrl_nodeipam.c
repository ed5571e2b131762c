/* ctrl: the node IPAM allocator: bad configurations, round-robin
 * allocation, occupy/release of any prefix length, exhaustion. */
#include "ctrl/ctrl.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static struct ctrl_cidr_set *
set(const char *cidr, unsigned mask)
{
    struct ctrl_cidr_set *s = NULL;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(ctrl_cidr_set_new(cidr, mask, &s, &err), 0);
    return s;
}

static const char *
alloc(struct ctrl_cidr_set *s)
{
    static char out[CTRL_CIDR_STRLEN];
    struct sk_err err;

    sk_err_init(&err);
    if (ctrl_cidr_set_allocate(s, out, &err) < 0)
        return err.code == ENOSPC ? "full" : "error";
    return out;
}

START_TEST(bad_configurations_are_refused_with_a_reason)
{
    static const struct {
        const char *cidr;
        unsigned mask;
        const char *msg;
    } cases[] = {
        {"10.244.0.0", 24, "not an IPv4 CIDR"},
        {"10.244.0.0/33", 24, "not an IPv4 CIDR"},
        {"fd00::/64", 80, "not an IPv4 CIDR"},
        {"10.244.0.0/16/", 24, "not an IPv4 CIDR"},
        {"", 24, "not an IPv4 CIDR"},
        {NULL, 24, "not an IPv4 CIDR"},
        {"10.244.0.0/16", 8, "must be between"},
        {"10.244.0.0/16", 31, "must be between"},
        {"10.0.0.0/8", 25, "more than 2^16"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct ctrl_cidr_set *s = (void *)1;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_eq(ctrl_cidr_set_new(cases[i].cidr, cases[i].mask, &s, &err), -EINVAL);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(err.msg, cases[i].msg), "case %zu: %s", i, err.msg);
    }
}
END_TEST

START_TEST(allocation_goes_round_robin_and_skips_used_subnets)
{
    struct ctrl_cidr_set *s = set("10.244.0.0/16", 24);
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_uint_eq(ctrl_cidr_set_size(s), 256);
    ck_assert_str_eq(alloc(s), "10.244.0.0/24");
    ck_assert_int_eq(ctrl_cidr_set_occupy(s, "10.244.1.0/24", &err), 0);
    ck_assert_str_eq(alloc(s), "10.244.2.0/24");
    /* a released subnet is not handed out again at once */
    ck_assert_int_eq(ctrl_cidr_set_release(s, "10.244.0.0/24", &err), 0);
    ck_assert_str_eq(alloc(s), "10.244.3.0/24");
    ck_assert_uint_eq(ctrl_cidr_set_used(s), 3);
    ctrl_cidr_set_free(s);
}
END_TEST

START_TEST(an_undone_allocation_is_handed_out_next)
{
    struct ctrl_cidr_set *s = set("10.244.0.0/16", 24);
    char first[CTRL_CIDR_STRLEN];

    snprintf(first, sizeof(first), "%s", alloc(s));
    ck_assert_str_eq(first, "10.244.0.0/24");
    ctrl_cidr_set_unallocate(s, first);
    ck_assert_uint_eq(ctrl_cidr_set_used(s), 0);
    ck_assert_str_eq(alloc(s), "10.244.0.0/24");
    ck_assert_str_eq(alloc(s), "10.244.1.0/24");
    /* not the latest: freed, the round-robin goes on */
    ctrl_cidr_set_unallocate(s, "10.244.0.0/24");
    ck_assert_str_eq(alloc(s), "10.244.2.0/24");
    ctrl_cidr_set_unallocate(s, "junk");
    ctrl_cidr_set_free(s);
}
END_TEST

START_TEST(a_full_range_fails_with_enospc_until_one_is_released)
{
    struct ctrl_cidr_set *s = set("10.244.0.0/22", 24);
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_str_eq(alloc(s), "10.244.0.0/24");
    ck_assert_str_eq(alloc(s), "10.244.1.0/24");
    ck_assert_str_eq(alloc(s), "10.244.2.0/24");
    ck_assert_str_eq(alloc(s), "10.244.3.0/24");
    ck_assert_str_eq(alloc(s), "full");
    ck_assert_int_eq(ctrl_cidr_set_release(s, "10.244.1.0/24", &err), 0);
    ck_assert_str_eq(alloc(s), "10.244.1.0/24");
    ck_assert_str_eq(alloc(s), "full");
    ctrl_cidr_set_free(s);
}
END_TEST

START_TEST(occupy_covers_every_subnet_a_prefix_overlaps)
{
    static const struct {
        const char *cidr;
        int rc;
        size_t used;
    } cases[] = {
        {"10.244.4.0/23", 0, 2},       /* two /24s */
        {"10.244.4.0/24", 1, 2},       /* already */
        {"10.244.9.128/25", 0, 3},     /* inside one /24 */
        {"10.245.0.0/24", -ERANGE, 3}, /* outside */
        {"10.0.0.0/8", -ERANGE, 3},    /* wider than the cluster */
        {"10.244.9.1/24", -EINVAL, 3}, /* host bits */
        {"10.244.9.0", -EINVAL, 3},    {"junk/24", -EINVAL, 3},
    };
    struct ctrl_cidr_set *s = set("10.244.0.0/16", 24);
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_msg(ctrl_cidr_set_occupy(s, cases[i].cidr, &err) == cases[i].rc, "case %zu", i);
        ck_assert_uint_eq(ctrl_cidr_set_used(s), cases[i].used);
    }
    ctrl_cidr_set_free(s);
}
END_TEST

START_TEST(the_whole_cluster_as_one_subnet)
{
    struct ctrl_cidr_set *s = set("192.168.7.0/24", 24);

    ck_assert_str_eq(alloc(s), "192.168.7.0/24");
    ck_assert_str_eq(alloc(s), "full");
    ctrl_cidr_set_free(s);
}
END_TEST

START_TEST(a_large_range_fills_without_duplicates)
{
    struct ctrl_cidr_set *s = set("10.0.0.0/12", 28);
    size_t i;

    ck_assert_uint_eq(ctrl_cidr_set_size(s), 65536);
    for (i = 0; i < 65536; i++)
        ck_assert_str_ne(alloc(s), "full");
    ck_assert_str_eq(alloc(s), "full");
    ck_assert_uint_eq(ctrl_cidr_set_used(s), 65536);
    ctrl_cidr_set_free(s);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("ctrl_nodeipam");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, bad_configurations_are_refused_with_a_reason);
    tcase_add_test(tc, allocation_goes_round_robin_and_skips_used_subnets);
    tcase_add_test(tc, a_full_range_fails_with_enospc_until_one_is_released);
    tcase_add_test(tc, an_undone_allocation_is_handed_out_next);
    tcase_add_test(tc, occupy_covers_every_subnet_a_prefix_overlaps);
    tcase_add_test(tc, the_whole_cluster_as_one_subnet);
    tcase_add_test(tc, a_large_range_fills_without_duplicates);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
