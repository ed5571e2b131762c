/* api/print: kubectl's table columns per kind, alignment (3 blanks,
 * minimum width 6), --no-headers, -A, -o wide, -o tsv, -o name,
 * custom columns, -o parsing, and hostile objects. JSON is written with
 * ' for " to stay readable. */
#include "api/print.h"
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1795634400 /* 2026-11-25T19:20:00Z */
#define C   "'creationTimestamp':'2026-11-25T19:16:40Z'"

enum { PLAIN, WIDE, TSV, NOHEAD, ALLNS };

static json_t *
parse(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, 0, &e);
    ck_assert_msg(v != NULL, "bad test json: %s: %s", e.text, s);
    free(s);
    return v;
}

/* Print the array `objs` as kind with the given mode; returns the text. */
static char *
render(const char *kind, const char *objs, int mode)
{
    json_t *a = parse(objs), **o = calloc(json_array_size(a) + 1, sizeof(*o));
    struct api_print_opts op = {.now = NOW};
    struct sk_buf b = SK_BUF_INIT;
    size_t n = json_array_size(a);

    for (size_t i = 0; i < n; i++)
        o[i] = json_array_get(a, i);
    op.format = mode == WIDE ? API_PRINT_WIDE : mode == TSV ? API_PRINT_TSV : API_PRINT_TABLE;
    op.no_headers = mode == NOHEAD;
    op.all_namespaces = mode == ALLNS;
    api_print_table(kind ? api_kind_lookup(kind) : NULL, o, n, &op, &b);
    free(o);
    json_decref(a);
    return b.data ? b.data : strdup("");
}

#define POD1                                                                                       \
    "{'metadata':{'name':'web-1','namespace':'default','creationTimestamp':'2026-11-25T19:19:15Z'" \
    "},'spec':{'nodeName':'node-1','containers':[{'name':'a'}]},'status':{'phase':'Running',"      \
    "'podIP':'10.244.1.5','containerStatuses':[{'name':'a','ready':true,'state':{'running':{}}}]"  \
    "}}"
#define POD2                                                                                       \
    "{'metadata':{'name':'db','namespace':'prod','creationTimestamp':'2026-11-02T19:20:00Z'},"     \
    "'spec':{'containers':[{'name':'a'},{'name':'b'}]},'status':{'phase':'Pending'}}"

static const struct {
    const char *name, *kind;
    int mode;
    const char *objs, *want;
} cases[] = {
    {"pods", "po", PLAIN, "[" POD1 "," POD2 "]",
     "NAME    READY   STATUS    RESTARTS   AGE\n"
     "web-1   1/1     Running   0          45s\n"
     "db      0/2     Pending   0          23d\n"},
    {"pods without headers", "pods", NOHEAD, "[" POD1 "," POD2 "]",
     "web-1   1/1   Running   0     45s\n"
     "db      0/2   Pending   0     23d\n"},
    {"pods in all namespaces", "pod", ALLNS, "[" POD1 "," POD2 "]",
     "NAMESPACE   NAME    READY   STATUS    RESTARTS   AGE\n"
     "default     web-1   1/1     Running   0          45s\n"
     "prod        db      0/2     Pending   0          23d\n"},
    {"pods wide", "po", WIDE, "[" POD1 "," POD2 "]",
     "NAME    READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   "
     "READINESS GATES\n"
     "web-1   1/1     Running   0          45s   10.244.1.5   node-1   <none>           <none>\n"
     "db      0/2     Pending   0          23d   <none>       <none>   <none>           <none>\n"},
    {"pods tsv", "po", TSV, "[" POD1 "," POD2 "]",
     "NAME\tREADY\tSTATUS\tRESTARTS\tAGE\n"
     "web-1\t1/1\tRunning\t0\t45s\n"
     "db\t0/2\tPending\t0\t23d\n"},
    {"readiness gates", "po", WIDE,
     "[{'metadata':{'name':'g'},'spec':{'readinessGates':[{'conditionType':'x'},{'conditionType'"
     ":'y'}]},'status':{'phase':'Running','conditions':[{'type':'x','status':'True'}]}}]",
     "NAME   READY   STATUS    RESTARTS   AGE         IP       NODE     NOMINATED NODE   "
     "READINESS GATES\n"
     "g      0/0     Running   0          <unknown>   <none>   <none>   <none>           1/2\n"},
    {"nodes", "no", PLAIN,
     "[{'metadata':{'name':'node-1'," C ",'labels':{'node-role.kubernetes.io/control-plane':'',"
     "'node-role.kubernetes.io/master':''}},'status':{'conditions':[{'type':'MemoryPressure',"
     "'status':'False'},{'type':'Ready','status':'True'}],'nodeInfo':{'kubeletVersion':'v0.4.0'}"
     "}},{'metadata':{'name':'node-2'," C "},'spec':{'unschedulable':true},'status':{"
     "'conditions':[{'type':'Ready','status':'Unknown'}]}},{'metadata':{'name':'node-3'," C "},"
     "'spec':{'unschedulable':true}}]",
     "NAME     STATUS                        ROLES                  AGE     VERSION\n"
     "node-1   Ready                         control-plane,master   3m20s   v0.4.0\n"
     "node-2   NotReady,SchedulingDisabled   <none>                 3m20s   <none>\n"
     "node-3   Unknown,SchedulingDisabled    <none>                 3m20s   <none>\n"},
    {"deployments wide", "deploy", WIDE,
     "[{'metadata':{'name':'web'," C "},'spec':{'replicas':3,'selector':{'matchLabels':{'app':"
     "'web'}},'template':{'spec':{'containers':[{'name':'nginx','image':'nginx:1.25'},{'name':"
     "'side','image':'busybox'}]}}},'status':{'readyReplicas':2,'updatedReplicas':3,"
     "'availableReplicas':2}}]",
     "NAME   READY   UP-TO-DATE   AVAILABLE   AGE     CONTAINERS   IMAGES               "
     "SELECTOR\n"
     "web    2/3     3            2           3m20s   nginx,side   nginx:1.25,busybox   "
     "app=web\n"},
    {"replicasets", "rs", PLAIN,
     "[{'metadata':{'name':'web-5d4f'," C "},'spec':{'replicas':3},'status':{'replicas':3,"
     "'readyReplicas':1}}]",
     "NAME       DESIRED   CURRENT   READY   AGE\n"
     "web-5d4f   3         3         1       3m20s\n"},
    {"services", "svc", PLAIN,
     "[{'metadata':{'name':'kubernetes'," C "},'spec':{'type':'ClusterIP','clusterIP':"
     "'10.96.0.1','ports':[{'port':443,'protocol':'TCP'}]}},{'metadata':{'name':'web'," C "},"
     "'spec':{'type':'NodePort','clusterIP':'10.96.3.7','ports':[{'port':80,'nodePort':30080,"
     "'protocol':'TCP'},{'port':53,'protocol':'UDP'}]}},{'metadata':{'name':'lb'," C "},'spec':"
     "{'type':'LoadBalancer','clusterIP':'10.96.3.8','ports':[{'port':80,'nodePort':31000}]}},"
     "{'metadata':{'name':'ext'," C "},'spec':{'type':'ExternalName','externalName':"
     "'db.example.com'}},{'metadata':{'name':'headless'," C "},'spec':{'clusterIP':'None'}}]",
     "NAME         TYPE           CLUSTER-IP   EXTERNAL-IP      PORT(S)               AGE\n"
     "kubernetes   ClusterIP      10.96.0.1    <none>           443/TCP               3m20s\n"
     "web          NodePort       10.96.3.7    <none>           80:30080/TCP,53/UDP   3m20s\n"
     "lb           LoadBalancer   10.96.3.8    <pending>        80:31000/TCP          3m20s\n"
     "ext          ExternalName   <none>       db.example.com   <none>                3m20s\n"
     "headless     ClusterIP      None         <none>           <none>                3m20s\n"},
    {"endpoints", "ep", PLAIN,
     "[{'metadata':{'name':'web'," C "},'subsets':[{'addresses':[{'ip':'10.244.1.5'},{'ip':"
     "'10.244.2.3'}],'ports':[{'port':80}]},{'addresses':[{'ip':'10.244.3.9'},{'ip':'fd00::1'}],"
     "'ports':[{'port':80}]}]},{'metadata':{'name':'none'," C "}},{'metadata':{'name':'noport'," C
     "},'subsets':[{'addresses':[{'ip':'10.0.0.1'}]}]}]",
     "NAME     ENDPOINTS                                               AGE\n"
     "web      10.244.1.5:80,10.244.2.3:80,10.244.3.9:80 + 1 more...   3m20s\n"
     "none     <none>                                                  3m20s\n"
     "noport   10.0.0.1                                                3m20s\n"},
    {"endpoints ipv6", "ep", NOHEAD,
     "[{'metadata':{'name':'v6'," C "},'subsets':[{'addresses':[{'ip':'fd00::1'}],'ports':[{"
     "'port':80}]}]}]",
     "v6    [fd00::1]:80   3m20s\n"},
    {"namespaces", "ns", PLAIN,
     "[{'metadata':{'name':'default'," C "},'status':{'phase':'Active'}},{'metadata':{'name':"
     "'old'," C "},'status':{'phase':'Terminating'}}]",
     "NAME      STATUS        AGE\n"
     "default   Active        3m20s\n"
     "old       Terminating   3m20s\n"},
    {"configmaps", "cm", PLAIN,
     "[{'metadata':{'name':'cfg'," C "},'data':{'a':'1','b':'2'},'binaryData':{'c':'AA=='}},{"
     "'metadata':{'name':'empty'," C "}}]",
     "NAME    DATA   AGE\n"
     "cfg     3      3m20s\n"
     "empty   0      3m20s\n"},
    {"secrets", "secret", PLAIN,
     "[{'metadata':{'name':'tls'," C "},'type':'kubernetes.io/tls','data':{'tls.crt':'',"
     "'tls.key':''}}]",
     "NAME   TYPE                DATA   AGE\n"
     "tls    kubernetes.io/tls   2      3m20s\n"},
    {"serviceaccounts", "sa", PLAIN, "[{'metadata':{'name':'default'," C "}}]",
     "NAME      SECRETS   AGE\n"
     "default   0         3m20s\n"},
    {"rolebindings wide", "rolebinding", WIDE,
     "[{'metadata':{'name':'admins'," C "},'roleRef':{'kind':'ClusterRole','name':'admin'},"
     "'subjects':[{'kind':'User','name':'alice'},{'kind':'ServiceAccount','name':'ci',"
     "'namespace':'build'},{'kind':'Group','name':'ops'}]}]",
     "NAME     ROLE                AGE     USERS   GROUPS   SERVICEACCOUNTS\n"
     "admins   ClusterRole/admin   3m20s   alice   ops      build/ci\n"},
    {"roles", "role", PLAIN, "[{'metadata':{'name':'reader'," C "}}]",
     "NAME     AGE\n"
     "reader   3m20s\n"},
    {"events sorted by time", "ev", PLAIN,
     "[{'type':'Warning','reason':'BackOff','message':'Back-off restarting failed container',"
     "'involvedObject':{'kind':'Pod','name':'web-1'},'count':4,'firstTimestamp':"
     "'2026-11-25T19:00:00Z','lastTimestamp':'2026-11-25T19:19:00Z'},{'type':'Normal','reason':"
     "'Scheduled','message':'Successfully assigned default/web-1 to node-1','involvedObject':{"
     "'kind':'Pod','name':'web-1'},'eventTime':'2026-11-25T18:59:59.123456Z'},{'type':'Normal',"
     "'reason':'Pulled','message':'multi\\nline','involvedObject':{'kind':'Pod','name':'web-1'},"
     "'firstTimestamp':'2026-11-25T19:00:05Z','lastTimestamp':'2026-11-25T19:00:05Z'}]",
     "LAST SEEN           TYPE      REASON      OBJECT      MESSAGE\n"
     "20m                 Normal    Scheduled   pod/web-1   Successfully assigned default/web-1 "
     "to node-1\n"
     "19m                 Normal    Pulled      pod/web-1   multi line\n"
     "60s (x4 over 20m)   Warning   BackOff     pod/web-1   Back-off restarting failed "
     "container\n"},
    {"unknown kind is generic", NULL, PLAIN, "[{'metadata':{'name':'x'}}]",
     "NAME   AGE\n"
     "x      <unknown>\n"},
    {"utf-8 counts characters", "ns", NOHEAD,
     "[{'metadata':{'name':'\\u00e9t\\u00e9'},'status':{'phase':'Active'}},{'metadata':{'name':"
     "'abcdef'},'status':{'phase':'Active'}}]",
     "\xc3\xa9t\xc3\xa9      Active   <unknown>\n"
     "abcdef   Active   <unknown>\n"},
    {"no objects, headers only", "po", PLAIN, "[]", "NAME   READY   STATUS   RESTARTS   AGE\n"},
};

START_TEST(table_matches_kubectl)
{
    char *got = render(cases[_i].kind, cases[_i].objs, cases[_i].mode);

    ck_assert_msg(strcmp(got, cases[_i].want) == 0, "%s:\n--- got\n%s--- want\n%s", cases[_i].name,
                  got, cases[_i].want);
    free(got);
}
END_TEST

/* Every kind, every mode, on objects whose fields all have the wrong
 * type: no crash, one line per object. */
static const char *const hostile[] = {
    "{'metadata':'x','spec':7,'status':[1]}",
    "{'metadata':{'name':5,'namespace':[],'creationTimestamp':{},'labels':'l'},'spec':{"
    "'containers':{},'ports':'p','replicas':'3','selector':[],'template':1,'unschedulable':'y',"
    "'type':4,'clusterIP':[],'externalIPs':{},'readinessGates':[1,'x',null]},'status':{"
    "'conditions':'c','containerStatuses':[[],{}],'nodeInfo':[],'loadBalancer':{'ingress':[1]}},"
    "'subsets':[{'addresses':'a','ports':[{'port':'80'}]},7],'data':'d','secrets':1,"
    "'roleRef':[],'subjects':[1,{'kind':2}],'involvedObject':7,'count':'many','type':{}}",
    "[]",
    "'just a string'",
    "null",
};

START_TEST(hostile_objects_never_crash)
{
    const struct api_kind *kinds;
    size_t nk;
    int modes[] = {PLAIN, WIDE, TSV, NOHEAD, ALLNS};

    kinds = api_kinds(&nk);
    for (size_t k = 0; k < nk; k++)
        for (size_t m = 0; m < N(modes); m++) {
            char objs[2048], *got;

            snprintf(objs, sizeof(objs), "[%s]", hostile[_i]);
            got = render(kinds[k].resource, objs, modes[m]);
            ck_assert_ptr_nonnull(got);
            free(got);
        }
}
END_TEST

START_TEST(names_are_kind_slash_name)
{
    json_t *o[3] = {parse("{'kind':'Pod','metadata':{'name':'web'}}"),
                    parse("{'kind':'Deployment','metadata':{'name':'api'}}"),
                    parse("{'kind':'Widget','metadata':{'name':'w'}}")};
    struct sk_buf b = SK_BUF_INIT;

    api_print_names(o, 3, &b);
    ck_assert_str_eq(b.data, "pod/web\ndeployment/api\nwidget/w\n");
    sk_buf_release(&b);
    for (size_t i = 0; i < 3; i++)
        json_decref(o[i]);
}
END_TEST

static const struct {
    const char *arg;
    int rc;
    enum api_print_format format;
    const char *tmpl;
} formats[] = {
    {"json", 0, API_PRINT_JSON, NULL},
    {"yaml", 0, API_PRINT_YAML, NULL},
    {"name", 0, API_PRINT_NAME, NULL},
    {"wide", 0, API_PRINT_WIDE, NULL},
    {"tsv", 0, API_PRINT_TSV, NULL},
    {"jsonpath={.a}", 0, API_PRINT_JSONPATH, "{.a}"},
    {"custom-columns=A:.a", 0, API_PRINT_CUSTOM, "A:.a"},
    {"jsonpath", -1, 0, NULL},
    {"jsonpath=", -1, 0, NULL},
    {"json=x", -1, 0, NULL},
    {"xml", -1, 0, NULL},
    {"", -1, 0, NULL},
    {"jsonpat", -1, 0, NULL},
    {"custom-columns-file=/tmp/cols", 0, API_PRINT_CUSTOM_FILE, "/tmp/cols"},
};

START_TEST(output_flag_parses)
{
    struct api_print_opts o = {0};
    struct sk_err err;
    int rc;

    sk_err_init(&err);
    rc = api_print_format_parse(formats[_i].arg, &o, &err);
    if (formats[_i].rc < 0) {
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(strstr(err.msg, "output format") != NULL, "%s", err.msg);
        return;
    }
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(o.format, formats[_i].format);
    if (formats[_i].tmpl)
        ck_assert_str_eq(o.tmpl, formats[_i].tmpl);
}
END_TEST

START_TEST(custom_columns_print_paths_and_none)
{
    json_t *o[2] = {parse(POD1), parse(POD2)};
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_print_custom_columns("NAME:.metadata.name,IP:.status.podIP,C:"
                                              "{.spec.containers[*].name},NS:metadata.namespace",
                                              o, 2, false, &b, &err),
                     0);
    ck_assert_str_eq(b.data, "NAME    IP           C     NS\n"
                             "web-1   10.244.1.5   a     default\n"
                             "db      <none>       a,b   prod\n");
    sk_buf_reset(&b);
    ck_assert_int_eq(api_print_custom_columns("N:.metadata.name", o, 1, true, &b, &err), 0);
    ck_assert_str_eq(b.data, "web-1\n");
    sk_buf_reset(&b);
    ck_assert_int_lt(api_print_custom_columns("NAME", o, 2, false, &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns("A:.a,B", o, 2, false, &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns("A:{.a", o, 2, false, &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns(":.a", o, 2, false, &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns("", o, 2, false, &b, &err), 0);
    ck_assert_uint_eq(b.len, 0);
    sk_buf_release(&b);
    json_decref(o[0]);
    json_decref(o[1]);
}
END_TEST

START_TEST(json_output_is_the_object_or_a_list)
{
    json_t *o[2] = {parse("{'kind':'Pod','metadata':{'name':'a'}}"),
                    parse("{'kind':'Pod','metadata':{'name':'b'}}")};
    struct api_print_opts op = {.format = API_PRINT_JSON};
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;
    json_t *back;

    sk_err_init(&err);
    ck_assert_int_eq(api_print_objects(NULL, o, 1, &op, &b, &err), 0);
    ck_assert_str_eq(b.data, "{\n    \"kind\": \"Pod\",\n    \"metadata\": {\n        \"name\": "
                             "\"a\"\n    }\n}\n");
    sk_buf_reset(&b);
    ck_assert_int_eq(api_print_objects(NULL, o, 2, &op, &b, &err), 0);
    back = json_loads(b.data, 0, NULL);
    ck_assert_ptr_nonnull(back);
    ck_assert_str_eq(json_string_value(json_object_get(back, "kind")), "List");
    ck_assert_str_eq(json_string_value(json_object_get(back, "apiVersion")), "v1");
    ck_assert_uint_eq(json_array_size(json_object_get(back, "items")), 2);
    ck_assert(json_equal(json_array_get(json_object_get(back, "items"), 1), o[1]));
    ck_assert_str_eq(
        json_string_value(json_object_get(json_object_get(back, "metadata"), "resourceVersion")),
        "");
    json_decref(back);
    sk_buf_reset(&b);
    op.format = API_PRINT_JSONPATH;
    op.tmpl = "{.items[*].metadata.name}";
    ck_assert_int_eq(api_print_objects(NULL, o, 2, &op, &b, &err), 0);
    ck_assert_str_eq(b.data, "a b");
    sk_buf_reset(&b);
    op.as_list = true;
    ck_assert_int_eq(api_print_objects(NULL, o, 1, &op, &b, &err), 0);
    ck_assert_str_eq(b.data, "a");
    sk_buf_release(&b);
    json_decref(o[0]);
    json_decref(o[1]);
}
END_TEST

START_TEST(custom_columns_file_becomes_a_spec)
{
    struct sk_buf b = SK_BUF_INIT;
    struct sk_err err;

    sk_err_init(&err);
    ck_assert_int_eq(api_print_custom_columns_file("NAME   RSRC\n  metadata.name\t"
                                                   "{.metadata.resourceVersion}\n",
                                                   &b, &err),
                     0);
    ck_assert_str_eq(b.data, "NAME:metadata.name,RSRC:{.metadata.resourceVersion}");
    sk_buf_reset(&b);
    ck_assert_int_lt(api_print_custom_columns_file("NAME RSRC\nmetadata.name\n", &b, &err), 0);
    ck_assert_str_eq(err.msg, "custom-columns file: 2 headers but 1 expressions");
    ck_assert_int_lt(api_print_custom_columns_file("NAME", &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns_file("\n\n", &b, &err), 0);
    ck_assert_int_lt(api_print_custom_columns_file(NULL, &b, &err), 0);
    ck_assert_uint_eq(b.len, 0);
    sk_buf_release(&b);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_table");
    TCase *tc = tcase_create("table");

    tcase_add_loop_test(tc, table_matches_kubectl, 0, N(cases));
    tcase_add_loop_test(tc, hostile_objects_never_crash, 0, N(hostile));
    tcase_add_test(tc, names_are_kind_slash_name);
    tcase_add_loop_test(tc, output_flag_parses, 0, N(formats));
    tcase_add_test(tc, custom_columns_print_paths_and_none);
    tcase_add_test(tc, custom_columns_file_becomes_a_spec);
    tcase_add_test(tc, json_output_is_the_object_or_a_list);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
