/* ctrl: Endpoints computed from a Service and pods. */
#include "ctrl/ctrl.h"
#include "ctrl_fixture.h"
#include "unit.h"

#include <errno.h>

static json_t *
service(const char *ports, const char *extra)
{
    return J("{'apiVersion':'v1','kind':'Service','metadata':{'name':'web','namespace':'prod',"
             "'labels':{'team':'a'}},'spec':{'selector':{'app':'web'},'ports':%s%s}}",
             ports, extra ? extra : "");
}

/* A pod with IP ip, ready or not, and a container port "http" = port. */
static json_t *
pod(const char *name, const char *ip, int ready, int port)
{
    return J("{'metadata':{'name':'%s','namespace':'prod','uid':'u-%s','labels':{'app':'web'}},"
             "'spec':{'nodeName':'node-1','containers':[{'name':'c','ports':[{'name':'http',"
             "'containerPort':%d}]}]},'status':{'phase':'Running','podIP':'%s','conditions':"
             "[{'type':'Ready','status':'%s'}]}}",
             name, name, port, ip, ready ? "True" : "False");
}

static json_t *
compute(json_t *svc, json_t *pods)
{
    json_t *ep = NULL;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_msg(ctrl_endpoints_compute(svc, pods, &ep, &err) == 0, "%s", err.msg);
    json_decref(svc);
    json_decref(pods);
    return ep;
}

static const char *
s(const json_t *v, const char *path)
{
    const char *r = json_string_value(sk_json_get(v, path));

    return r ? r : "(null)";
}

START_TEST(ready_and_not_ready_pods_sorted_by_ip)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("b", "10.0.0.9", 1, 8080));
    json_array_append_new(pods, pod("a", "10.0.0.10", 1, 8080));
    json_array_append_new(pods, pod("c", "10.0.0.5", 0, 8080));
    json_array_append_new(pods, J("{'metadata':{'name':'other','labels':{'app':'db'}},'status':"
                                  "{'podIP':'10.0.0.1'}}"));
    ep = compute(service("[{'name':'http','port':80,'targetPort':'http'}]", NULL), pods);
    ck_assert_str_eq(s(ep, "kind"), "Endpoints");
    ck_assert_str_eq(s(ep, "metadata.name"), "web");
    ck_assert_str_eq(s(ep, "metadata.namespace"), "prod");
    ck_assert_str_eq(s(ep, "metadata.labels.team"), "a");
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 1);
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].ip"), "10.0.0.10");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[1].ip"), "10.0.0.9");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].nodeName"), "node-1");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].targetRef.kind"), "Pod");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].targetRef.name"), "a");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].targetRef.uid"), "u-a");
    ck_assert_str_eq(s(ep, "subsets[0].notReadyAddresses[0].ip"), "10.0.0.5");
    ck_assert_str_eq(s(ep, "subsets[0].ports[0].name"), "http");
    ck_assert_int_eq(json_integer_value(sk_json_get(ep, "subsets[0].ports[0].port")), 8080);
    ck_assert_str_eq(s(ep, "subsets[0].ports[0].protocol"), "TCP");
    json_decref(ep);
}
END_TEST

START_TEST(named_target_port_splits_subsets_by_resolved_port)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("a", "10.0.0.1", 1, 8080));
    json_array_append_new(pods, pod("b", "10.0.0.2", 1, 9090));
    json_array_append_new(pods, pod("c", "10.0.0.3", 1, 8080));
    ep = compute(service("[{'name':'http','port':80,'targetPort':'http'},"
                         "{'name':'admin','port':81,'targetPort':7000}]",
                         NULL),
                 pods);
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 2);
    /* ports inside a subset sorted by name: admin before http */
    ck_assert_str_eq(s(ep, "subsets[0].ports[0].name"), "admin");
    ck_assert_int_eq(json_integer_value(sk_json_get(ep, "subsets[0].ports[1].port")), 8080);
    ck_assert_uint_eq(json_array_size(sk_json_get(ep, "subsets[0].addresses")), 2);
    ck_assert_int_eq(json_integer_value(sk_json_get(ep, "subsets[1].ports[1].port")), 9090);
    ck_assert_str_eq(s(ep, "subsets[1].addresses[0].ip"), "10.0.0.2");
    json_decref(ep);
}
END_TEST

START_TEST(pod_without_named_port_is_left_out_of_that_port)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("a", "10.0.0.1", 1, 8080));
    json_array_append_new(pods, J("{'metadata':{'name':'n','labels':{'app':'web'}},'spec':"
                                  "{'containers':[{'name':'c'}]},'status':{'podIP':'10.0.0.2',"
                                  "'conditions':[{'type':'Ready','status':'True'}]}}"));
    ep = compute(service("[{'name':'http','port':80,'targetPort':'http'},"
                         "{'name':'raw','port':99}]",
                         NULL),
                 pods);
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 2);
    /* the pod without "http" still serves "raw" (targetPort = port) */
    ck_assert_str_eq(s(ep, "subsets[1].addresses[0].ip"), "10.0.0.2");
    ck_assert_uint_eq(json_array_size(sk_json_get(ep, "subsets[1].ports")), 1);
    ck_assert_int_eq(json_integer_value(sk_json_get(ep, "subsets[1].ports[0].port")), 99);
    json_decref(ep);
}
END_TEST

START_TEST(pods_that_cannot_serve_are_skipped)
{
    json_t *pods = json_array(), *p, *ep;

    json_array_append_new(pods, J("{'metadata':{'name':'noip','labels':{'app':'web'}}}"));
    p = pod("dying", "10.0.0.2", 1, 1);
    sk_json_set(p, "metadata.deletionTimestamp", json_string(at(0)), NULL);
    json_array_append_new(pods, p);
    p = pod("done", "10.0.0.3", 0, 1);
    sk_json_set(p, "spec.restartPolicy", json_string("Never"), NULL);
    sk_json_set(p, "status.phase", json_string("Succeeded"), NULL);
    json_array_append_new(pods, p);
    p = pod("otherns", "10.0.0.4", 1, 1);
    sk_json_set(p, "metadata.namespace", json_string("dev"), NULL);
    json_array_append_new(pods, p);
    p = pod("failed-but-restarts", "10.0.0.5", 0, 1);
    sk_json_set(p, "status.phase", json_string("Failed"), NULL);
    json_array_append_new(pods, p);
    ep = compute(service("[{'port':80}]", NULL), pods);
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 1);
    ck_assert_ptr_null(sk_json_get(ep, "subsets[0].addresses"));
    ck_assert_str_eq(s(ep, "subsets[0].notReadyAddresses[0].ip"), "10.0.0.5");
    ck_assert_uint_eq(json_array_size(sk_json_get(ep, "subsets[0].notReadyAddresses")), 1);
    json_decref(ep);
}
END_TEST

START_TEST(publish_not_ready_addresses_lists_all_as_ready)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("a", "10.0.0.1", 0, 1));
    ep = compute(service("[{'port':80}]", ",'publishNotReadyAddresses':true"), pods);
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].ip"), "10.0.0.1");
    ck_assert_ptr_null(sk_json_get(ep, "subsets[0].notReadyAddresses"));
    json_decref(ep);
}
END_TEST

START_TEST(headless_service_publishes_hostnames_without_ports)
{
    json_t *pods = json_array(), *p, *ep;

    p = pod("a", "10.0.0.1", 1, 1);
    sk_json_set(p, "spec.hostname", json_string("db-0"), NULL);
    sk_json_set(p, "spec.subdomain", json_string("web"), NULL);
    json_array_append_new(pods, p);
    p = pod("b", "10.0.0.2", 1, 1);
    sk_json_set(p, "spec.hostname", json_string("x"), NULL);
    sk_json_set(p, "spec.subdomain", json_string("elsewhere"), NULL);
    json_array_append_new(pods, p);
    ep = compute(service("[]", ",'clusterIP':'None'"), pods);
    ck_assert_str_eq(s(ep, "metadata.labels[\"service.kubernetes.io/headless\"]"), "");
    ck_assert_str_eq(s(ep, "subsets[0].addresses[0].hostname"), "db-0");
    ck_assert_ptr_null(sk_json_get(ep, "subsets[0].addresses[1].hostname"));
    ck_assert_ptr_null(sk_json_get(ep, "subsets[0].ports"));
    json_decref(ep);
}
END_TEST

START_TEST(portless_service_with_cluster_ip_has_no_endpoints)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("a", "10.0.0.1", 1, 1));
    ep = compute(service("[]", ",'clusterIP':'10.96.0.10'"), pods);
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 0);
    json_decref(ep);
}
END_TEST

START_TEST(unnamed_port_has_no_name_member)
{
    json_t *pods = json_array(), *ep;

    json_array_append_new(pods, pod("a", "10.0.0.1", 1, 1));
    ep = compute(service("[{'port':80,'protocol':'UDP','appProtocol':'dns'}]", NULL), pods);
    ck_assert_ptr_null(sk_json_get(ep, "subsets[0].ports[0].name"));
    ck_assert_str_eq(s(ep, "subsets[0].ports[0].protocol"), "UDP");
    ck_assert_str_eq(s(ep, "subsets[0].ports[0].appProtocol"), "dns");
    json_decref(ep);
}
END_TEST

START_TEST(no_matching_pods_gives_empty_subsets)
{
    json_t *ep = compute(service("[{'port':80}]", NULL), json_array());

    ck_assert(json_is_array(json_object_get(ep, "subsets")));
    ck_assert_uint_eq(json_array_size(json_object_get(ep, "subsets")), 0);
    json_decref(ep);
}
END_TEST

START_TEST(service_without_selector_is_not_managed)
{
    json_t *svc = J("{'metadata':{'name':'ext'},'spec':{'ports':[{'port':80}]}}");
    json_t *pods = json_array(), *ep = (json_t *)1;

    ck_assert_int_eq(ctrl_endpoints_compute(svc, pods, &ep, NULL), 1);
    ck_assert_ptr_null(ep);
    json_decref(svc);
    json_decref(pods);
}
END_TEST

START_TEST(output_is_deterministic_whatever_the_pod_order)
{
    json_t *a = json_array(), *b = json_array(), *ea, *eb;
    int i;

    for (i = 0; i < 6; i++) {
        char name[8], ip[16];

        snprintf(name, sizeof(name), "p%d", i);
        snprintf(ip, sizeof(ip), "10.0.1.%d", 10 - i);
        json_array_append_new(a, pod(name, ip, i % 2, 8080 + i % 3));
        json_array_insert_new(b, 0, pod(name, ip, i % 2, 8080 + i % 3));
    }
    ea = compute(service("[{'name':'http','port':80,'targetPort':'http'}]", NULL), a);
    eb = compute(service("[{'name':'http','port':80,'targetPort':'http'}]", NULL), b);
    ck_assert(json_equal(ea, eb));
    json_decref(ea);
    json_decref(eb);
}
END_TEST

START_TEST(hostile_input_names_the_field)
{
    static const struct {
        const char *svc, *pods, *msg;
    } cases[] = {
        {"{'spec':{'selector':{'a':'b'}}}", "[]", "service: metadata.name: required"},
        {"{'metadata':{'name':'w'},'spec':{'selector':3}}", "[]",
         "service: spec.selector: must be an object"},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':'b'},'ports':{}}}", "[]",
         "service: spec.ports: must be an array"},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':7}}}", "[]", "service 'default/w': "},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':'b'}}}", "{}",
         "service 'default/w': pods: must be an array"},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':'b'}}}", "[3]",
         "service 'default/w': pods[0]: must be an object"},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':'b'},'ports':[{'port':'x'}]}}",
         "[{'metadata':{'labels':{'a':'b'}},'status':{'podIP':'1.2.3.4'}}]",
         "service 'default/w': spec.ports[0].port: must be an integer"},
        {"{'metadata':{'name':'w'},'spec':{'selector':{'a':'b'},'ports':[{'port':1,"
         "'targetPort':[]}]}}",
         "[{'metadata':{'labels':{'a':'b'}},'status':{'podIP':'1.2.3.4'}}]",
         "service 'default/w': spec.ports[0].targetPort: must be an integer or a string"},
    };
    size_t i;

    for (i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        json_t *svc = J("%s", cases[i].svc), *pods = J("%s", cases[i].pods), *ep = NULL;
        struct sk_err err;

        sk_err_init(&err);
        ck_assert_int_lt(ctrl_endpoints_compute(svc, pods, &ep, &err), 0);
        ck_assert_ptr_null(ep);
        ck_assert_msg(!strncmp(err.msg, cases[i].msg, strlen(cases[i].msg)), "case %zu: %s", i,
                      err.msg);
        json_decref(svc);
        json_decref(pods);
    }
}
END_TEST

int
main(void)
{
    Suite *su = suite_create("ctrl_endpoints");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, ready_and_not_ready_pods_sorted_by_ip);
    tcase_add_test(tc, named_target_port_splits_subsets_by_resolved_port);
    tcase_add_test(tc, pod_without_named_port_is_left_out_of_that_port);
    tcase_add_test(tc, pods_that_cannot_serve_are_skipped);
    tcase_add_test(tc, publish_not_ready_addresses_lists_all_as_ready);
    tcase_add_test(tc, headless_service_publishes_hostnames_without_ports);
    tcase_add_test(tc, portless_service_with_cluster_ip_has_no_endpoints);
    tcase_add_test(tc, unnamed_port_has_no_name_member);
    tcase_add_test(tc, no_matching_pods_gives_empty_subsets);
    tcase_add_test(tc, service_without_selector_is_not_managed);
    tcase_add_test(tc, output_is_deterministic_whatever_the_pod_order);
    tcase_add_test(tc, hostile_input_names_the_field);
    suite_add_tcase(su, tc);
    return unit_main(su);
}
