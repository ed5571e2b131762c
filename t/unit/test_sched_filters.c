/* sched: every filter, one table each, checked through the explanation
 * kube-scheduler would give (its exact reason strings). JSON is written
 * with single quotes for readability; nodes get a default allocatable
 * (4 cpu, 8Gi, 100Gi ephemeral, 110 pods) and a Ready condition unless
 * they say otherwise. */
#include "lib/json.h"
#include "sched/sched.h"
#include "unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
J(const char *text)
{
    char *s = strdup(text);
    json_error_t jerr;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, 0, &jerr);
    if (!v)
        ck_abort_msg("bad test json '%s': %s", s, jerr.text);
    free(s);
    return v;
}

static json_t *
mk_node(const char *text)
{
    json_t *n = J(text), *st;

    if (!json_object_get(n, "status"))
        json_object_set_new(n, "status", json_object());
    st = json_object_get(n, "status");
    if (!json_object_get(st, "allocatable"))
        json_object_set_new(
            st, "allocatable",
            J("{'cpu':'4','memory':'8Gi','ephemeral-storage':'100Gi','pods':'110'}"));
    if (!json_object_get(st, "conditions"))
        json_object_set_new(st, "conditions", J("[{'type':'Ready','status':'True'}]"));
    return n;
}

struct fcase {
    const char *what;
    const char *nodes[4]; /* named n1.. by the case */
    const char *bound[4]; /* pods already bound (spec.nodeName set) */
    const char *pod;
    const char *want; /* message, or "-> node" when it must land there */
};

static void
run_case(const struct fcase *c)
{
    struct sched_cache *cache = sched_cache_new(0);
    struct sched_result res;
    struct sched_rng rng;
    struct sk_err err;
    json_t *pod;
    int rc;

    sk_err_init(&err);
    sched_rng_seed(&rng, 1);
    for (size_t i = 0; i < 4 && c->nodes[i]; i++) {
        json_t *n = mk_node(c->nodes[i]);

        ck_assert_msg(sched_cache_node_set(cache, n, &err) == 0, "%s: node: %s", c->what, err.msg);
        json_decref(n);
    }
    for (size_t i = 0; i < 4 && c->bound[i]; i++) {
        json_t *p = J(c->bound[i]);

        ck_assert_msg(sched_cache_pod_set(cache, p, &err) == 0, "%s: bound: %s", c->what, err.msg);
        json_decref(p);
    }
    pod = J(c->pod);
    sched_result_init(&res);
    rc = sched_schedule_one(cache, pod, &rng, &res, &err);
    ck_assert_msg(rc >= 0, "%s: %s", c->what, err.msg);
    if (strncmp(c->want, "-> ", 3) == 0) {
        ck_assert_msg(rc == 0, "%s: unschedulable: %s", c->what, res.message);
        ck_assert_msg(strcmp(res.node, c->want + 3) == 0, "%s: got %s", c->what, res.node);
    } else {
        ck_assert_msg(rc == 1, "%s: scheduled on %s", c->what, res.node);
        ck_assert_msg(strcmp(res.message, c->want) == 0, "%s: got '%s'", c->what, res.message);
    }
    sched_result_release(&res);
    json_decref(pod);
    sched_cache_free(cache);
}

static void
run_table(const struct fcase *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        run_case(&t[i]);
}

#define RUN(t) run_table(t, sizeof(t) / sizeof(t[0]))
#define N1     "{'metadata':{'name':'n1'}}"
#define POD    "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c'}]}}"

static const struct fcase unschedulable[] = {
    {"cordoned node refuses",
     {"{'metadata':{'name':'n1'},'spec':{'unschedulable':true}}"},
     {},
     POD,
     "0/1 nodes are available: 1 node(s) were unschedulable."},
    {"toleration of the unschedulable taint admits",
     {"{'metadata':{'name':'n1'},'spec':{'unschedulable':true}}"},
     {},
     "{'metadata':{'name':'p'},'spec':{'tolerations':[{'key':'node.kubernetes.io/"
     "unschedulable','operator':'Exists','effect':'NoSchedule'}]}}",
     "-> n1"},
    {"unschedulable false is fine",
     {"{'metadata':{'name':'n1'},'spec':{'unschedulable':false}}"},
     {},
     POD,
     "-> n1"},
};

START_TEST(node_unschedulable)
{
    RUN(unschedulable);
}
END_TEST

#define NOT_READY                                                                                  \
    "{'metadata':{'name':'n1'},'status':{'conditions':[{'type':'Ready','status':'False'}]}}"

static const struct fcase ready[] = {
    {"ready condition false refuses",
     {NOT_READY},
     {},
     POD,
     "0/1 nodes are available: 1 node(s) were not ready."},
    {"ready unknown refuses",
     {"{'metadata':{'name':'n1'},'status':{'conditions':[{'type':'Ready','status':'Unknown'}]}}"},
     {},
     POD,
     "0/1 nodes are available: 1 node(s) were not ready."},
    {"not-ready taint reported as a taint",
     {"{'metadata':{'name':'n1'},'spec':{'taints':[{'key':'node.kubernetes.io/not-ready',"
      "'effect':'NoSchedule'}]},'status':{'conditions':[{'type':'Ready','status':'False'}]}}"},
     {},
     POD,
     "0/1 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }."},
    {"pod tolerating not-ready goes there",
     {NOT_READY},
     {},
     "{'metadata':{'name':'p'},'spec':{'tolerations':[{'key':'node.kubernetes.io/not-ready',"
     "'operator':'Exists'}]}}",
     "-> n1"},
    {"no conditions counts as ready",
     {"{'metadata':{'name':'n1'},'status':{'conditions':[]}}"},
     {},
     POD,
     "-> n1"},
};

START_TEST(node_ready)
{
    RUN(ready);
}
END_TEST

static const struct fcase node_name[] = {
    {"other node name refuses",
     {N1},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeName':'n2'}}",
     "0/1 nodes are available: 1 node(s) didn't match the requested node name."},
    {"same node name passes",
     {N1},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeName':'n1'}}",
     "-> n1"},
};

START_TEST(node_name_filter)
{
    RUN(node_name);
}
END_TEST

#define GPU_NODE(effect)                                                                           \
    "{'metadata':{'name':'n1'},'spec':{'taints':[{'key':'dedicated','value':'gpu','effect':"       \
    "'" effect "'}]}}"
#define TOL(t)      "{'metadata':{'name':'p'},'spec':{'tolerations':[" t "]}}"
#define UNTOLERATED "0/1 nodes are available: 1 node(s) had untolerated taint {dedicated: gpu}."

static const struct fcase taints[] = {
    {"NoSchedule without toleration", {GPU_NODE("NoSchedule")}, {}, POD, UNTOLERATED},
    {"NoExecute without toleration", {GPU_NODE("NoExecute")}, {}, POD, UNTOLERATED},
    {"PreferNoSchedule never filters", {GPU_NODE("PreferNoSchedule")}, {}, POD, "-> n1"},
    {"Equal with the value",
     {GPU_NODE("NoSchedule")},
     {},
     TOL("{'key':'dedicated','operator':'Equal','value':'gpu','effect':'NoSchedule'}"),
     "-> n1"},
    {"operator defaults to Equal",
     {GPU_NODE("NoSchedule")},
     {},
     TOL("{'key':'dedicated','value':'gpu'}"),
     "-> n1"},
    {"Equal with another value",
     {GPU_NODE("NoSchedule")},
     {},
     TOL("{'key':'dedicated','value':'cpu'}"),
     UNTOLERATED},
    {"Exists ignores the value",
     {GPU_NODE("NoSchedule")},
     {},
     TOL("{'key':'dedicated','operator':'Exists'}"),
     "-> n1"},
    {"empty key with Exists tolerates everything",
     {GPU_NODE("NoExecute")},
     {},
     TOL("{'operator':'Exists'}"),
     "-> n1"},
    {"effect must match when given",
     {GPU_NODE("NoExecute")},
     {},
     TOL("{'key':'dedicated','operator':'Exists','effect':'NoSchedule'}"),
     UNTOLERATED},
    {"empty effect matches all effects",
     {GPU_NODE("NoExecute")},
     {},
     TOL("{'key':'dedicated','operator':'Exists'}"),
     "-> n1"},
    {"other key does not tolerate",
     {GPU_NODE("NoSchedule")},
     {},
     TOL("{'key':'other','operator':'Exists'}"),
     UNTOLERATED},
    {"first untolerated taint is reported",
     {"{'metadata':{'name':'n1'},'spec':{'taints':[{'key':'a','value':'1','effect':'NoSchedule'},"
      "{'key':'b','effect':'NoExecute'}]}}"},
     {},
     TOL("{'key':'a','operator':'Exists'}"),
     "0/1 nodes are available: 1 node(s) had untolerated taint {b: }."},
};

START_TEST(taint_toleration)
{
    RUN(taints);
}
END_TEST

#define ZONE_NODE "{'metadata':{'name':'n1','labels':{'zone':'a','gen':'5'}}}"
#define AFF(terms)                                                                                 \
    "{'metadata':{'name':'p'},'spec':{'affinity':{'nodeAffinity':{"                                \
    "'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':[" terms "]}}}}}"
#define EXPR(k, op, v) "{'matchExpressions':[{'key':'" k "','operator':'" op "'" v "}]}"
#define NOAFF          "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."

static const struct fcase affinity[] = {
    {"nodeSelector matches",
     {ZONE_NODE},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeSelector':{'zone':'a'}}}",
     "-> n1"},
    {"nodeSelector value differs",
     {ZONE_NODE},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeSelector':{'zone':'b'}}}",
     NOAFF},
    {"nodeSelector label missing",
     {ZONE_NODE},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeSelector':{'disk':'ssd'}}}",
     NOAFF},
    {"In", {ZONE_NODE}, {}, AFF(EXPR("zone", "In", ",'values':['b','a']")), "-> n1"},
    {"In other values", {ZONE_NODE}, {}, AFF(EXPR("zone", "In", ",'values':['b']")), NOAFF},
    {"NotIn", {ZONE_NODE}, {}, AFF(EXPR("zone", "NotIn", ",'values':['a']")), NOAFF},
    {"NotIn on a missing label holds",
     {ZONE_NODE},
     {},
     AFF(EXPR("x", "NotIn", ",'values':['a']")),
     "-> n1"},
    {"Exists", {ZONE_NODE}, {}, AFF(EXPR("zone", "Exists", "")), "-> n1"},
    {"Exists missing", {ZONE_NODE}, {}, AFF(EXPR("disk", "Exists", "")), NOAFF},
    {"DoesNotExist", {ZONE_NODE}, {}, AFF(EXPR("disk", "DoesNotExist", "")), "-> n1"},
    {"DoesNotExist present", {ZONE_NODE}, {}, AFF(EXPR("zone", "DoesNotExist", "")), NOAFF},
    {"Gt", {ZONE_NODE}, {}, AFF(EXPR("gen", "Gt", ",'values':['4']")), "-> n1"},
    {"Gt equal fails", {ZONE_NODE}, {}, AFF(EXPR("gen", "Gt", ",'values':['5']")), NOAFF},
    {"Lt", {ZONE_NODE}, {}, AFF(EXPR("gen", "Lt", ",'values':['6']")), "-> n1"},
    {"Lt on a non-integer label fails",
     {ZONE_NODE},
     {},
     AFF(EXPR("zone", "Lt", ",'values':['6']")),
     NOAFF},
    {"terms are ORed",
     {ZONE_NODE},
     {},
     AFF(EXPR("zone", "In", ",'values':['b']") "," EXPR("zone", "In", ",'values':['a']")),
     "-> n1"},
    {"expressions are ANDed",
     {ZONE_NODE},
     {},
     AFF("{'matchExpressions':[{'key':'zone','operator':'In','values':['a']},{'key':'gen',"
         "'operator':'Lt','values':['5']}]}"),
     NOAFF},
    {"matchFields on metadata.name",
     {ZONE_NODE},
     {},
     AFF("{'matchFields':[{'key':'metadata.name','operator':'In','values':['n1']}]}"),
     "-> n1"},
    {"matchFields NotIn",
     {ZONE_NODE},
     {},
     AFF("{'matchFields':[{'key':'metadata.name','operator':'NotIn','values':['n1']}]}"),
     NOAFF},
    {"an empty term matches nothing", {ZONE_NODE}, {}, AFF("{}"), NOAFF},
    {"selector and affinity both apply",
     {ZONE_NODE},
     {},
     "{'metadata':{'name':'p'},'spec':{'nodeSelector':{'zone':'a'},'affinity':{'nodeAffinity':{"
     "'requiredDuringSchedulingIgnoredDuringExecution':{'nodeSelectorTerms':[" EXPR(
         "gen", "In", ",'values':['4']") "]}}}}}",
     NOAFF},
};

START_TEST(node_affinity)
{
    RUN(affinity);
}
END_TEST

#define PORT_POD(name, node, port)                                                                 \
    "{'metadata':{'name':'" name "'},'spec':{'nodeName':'" node "','containers':[{'name':'c',"     \
    "'ports':[" port "]}]}}"
#define NOPORT                                                                                     \
    "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports."

static const struct fcase ports[] = {
    {"same port clashes",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80,'containerPort':80}")},
     PORT_POD("p", "", "{'hostPort':80,'containerPort':80}"),
     NOPORT},
    {"other port is free",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80}")},
     PORT_POD("p", "", "{'hostPort':81}"),
     "-> n1"},
    {"other protocol is free",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':53}")},
     PORT_POD("p", "", "{'hostPort':53,'protocol':'UDP'}"),
     "-> n1"},
    {"different IPs are free",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80,'hostIP':'10.0.0.1'}")},
     PORT_POD("p", "", "{'hostPort':80,'hostIP':'10.0.0.2'}"),
     "-> n1"},
    {"same IP clashes",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80,'hostIP':'10.0.0.1'}")},
     PORT_POD("p", "", "{'hostPort':80,'hostIP':'10.0.0.1'}"),
     NOPORT},
    {"wildcard in use clashes with a specific IP",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80}")},
     PORT_POD("p", "", "{'hostPort':80,'hostIP':'10.0.0.1'}"),
     NOPORT},
    {"specific IP in use clashes with the wildcard",
     {N1},
     {PORT_POD("a", "n1", "{'hostPort':80,'hostIP':'10.0.0.1'}")},
     PORT_POD("p", "", "{'hostPort':80,'hostIP':'0.0.0.0'}"),
     NOPORT},
    {"containerPort without hostPort takes nothing",
     {N1},
     {PORT_POD("a", "n1", "{'containerPort':80}")},
     PORT_POD("p", "", "{'hostPort':80}"),
     "-> n1"},
};

START_TEST(node_ports)
{
    RUN(ports);
}
END_TEST

#define REQ(name, node, res)                                                                       \
    "{'metadata':{'name':'" name "'},'spec':{'nodeName':'" node "','containers':[{'name':'c',"     \
    "'resources':{'requests':" res "}}]}}"
#define SMALL_NODE                                                                                 \
    "{'metadata':{'name':'n1'},'status':{'allocatable':{'cpu':'1','memory':'1Gi',"                 \
    "'ephemeral-storage':'1Gi','pods':'2'}}}"

static const struct fcase resources[] = {
    {"fits exactly",
     {SMALL_NODE},
     {REQ("a", "n1", "{'cpu':'500m','memory':'512Mi'}")},
     REQ("p", "", "{'cpu':'500m','memory':'512Mi'}"),
     "-> n1"},
    {"cpu short",
     {SMALL_NODE},
     {REQ("a", "n1", "{'cpu':'600m'}")},
     REQ("p", "", "{'cpu':'500m'}"),
     "0/1 nodes are available: 1 Insufficient cpu."},
    {"memory short",
     {SMALL_NODE},
     {},
     REQ("p", "", "{'memory':'2Gi'}"),
     "0/1 nodes are available: 1 Insufficient memory."},
    {"ephemeral-storage short",
     {SMALL_NODE},
     {},
     REQ("p", "", "{'ephemeral-storage':'2Gi'}"),
     "0/1 nodes are available: 1 Insufficient ephemeral-storage."},
    {"every short resource is a reason",
     {SMALL_NODE},
     {},
     REQ("p", "", "{'cpu':2,'memory':'2Gi'}"),
     "0/1 nodes are available: 1 Insufficient cpu, 1 Insufficient memory."},
    {"pod count",
     {SMALL_NODE},
     {REQ("a", "n1", "{}"), REQ("b", "n1", "{}")},
     POD,
     "0/1 nodes are available: 1 Too many pods."},
    {"limits stand in for requests",
     {SMALL_NODE},
     {},
     "{'metadata':{'name':'p'},'spec':{'containers':[{'name':'c','resources':{'limits':{'cpu':'2'}"
     "}}]}}",
     "0/1 nodes are available: 1 Insufficient cpu."},
    {"an empty pod fits a full node",
     {SMALL_NODE},
     {REQ("a", "n1", "{'cpu':'1','memory':'1Gi'}")},
     POD,
     "-> n1"},
    {"terminal pods free their node",
     {SMALL_NODE},
     {"{'metadata':{'name':'a'},'spec':{'nodeName':'n1','containers':[{'name':'c','resources':{"
      "'requests':{'cpu':'1'}}}]},'status':{'phase':'Succeeded'}}"},
     REQ("p", "", "{'cpu':'1'}"),
     "-> n1"},
};

START_TEST(node_resources_fit)
{
    RUN(resources);
}
END_TEST

#define HOST(n)                                                                                    \
    "{'metadata':{'name':'" n "','labels':{'kubernetes.io/hostname':'" n "','zone':'z" n "'}}}"
#define APP(name, node, app)                                                                       \
    "{'metadata':{'name':'" name "','labels':{'app':'" app "'}},'spec':{'nodeName':'" node "'}}"
#define WITH_AFF(kind, app, key)                                                                   \
    "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'affinity':{'" kind "':{"             \
    "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':{'app':"    \
    "'" app "'}},'topologyKey':'" key "'}]}}}}"

static const struct fcase interpod[] = {
    {"affinity follows the matching pod",
     {HOST("n1"), HOST("n2")},
     {APP("db", "n2", "db")},
     WITH_AFF("podAffinity", "db", "kubernetes.io/hostname"),
     "-> n2"},
    {"affinity without a match anywhere",
     {HOST("n1")},
     {APP("db", "n1", "cache")},
     WITH_AFF("podAffinity", "db", "kubernetes.io/hostname"),
     "0/1 nodes are available: 1 node(s) didn't match pod affinity rules."},
    {"first pod of a group matching itself may go anywhere",
     {HOST("n1")},
     {},
     WITH_AFF("podAffinity", "web", "kubernetes.io/hostname"),
     "-> n1"},
    {"affinity over a node label without the key",
     {HOST("n1")},
     {APP("db", "n1", "db")},
     WITH_AFF("podAffinity", "db", "rack"),
     "0/1 nodes are available: 1 node(s) didn't match pod affinity rules."},
    {"anti-affinity avoids the matching pod",
     {HOST("n1"), HOST("n2")},
     {APP("w", "n1", "web")},
     WITH_AFF("podAntiAffinity", "web", "kubernetes.io/hostname"),
     "-> n2"},
    {"anti-affinity everywhere",
     {HOST("n1")},
     {APP("w", "n1", "web")},
     WITH_AFF("podAntiAffinity", "web", "kubernetes.io/hostname"),
     "0/1 nodes are available: 1 node(s) didn't match pod anti-affinity rules."},
    {"anti-affinity only within the namespace",
     {HOST("n1")},
     {"{'metadata':{'name':'w','namespace':'other','labels':{'app':'web'}},'spec':{'nodeName':"
      "'n1'}}"},
     WITH_AFF("podAntiAffinity", "web", "kubernetes.io/hostname"),
     "-> n1"},
    {"existing pod's anti-affinity keeps the pod out",
     {HOST("n1"), HOST("n2")},
     {"{'metadata':{'name':'lonely','labels':{'app':'x'}},'spec':{'nodeName':'n1','affinity':{"
      "'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{"
      "'matchLabels':{'app':'web'}},'topologyKey':'kubernetes.io/hostname'}]}}}}"},
     "{'metadata':{'name':'p','labels':{'app':'web'}}}",
     "-> n2"},
    {"existing pod's anti-affinity explained",
     {HOST("n1")},
     {"{'metadata':{'name':'lonely'},'spec':{'nodeName':'n1','affinity':{'podAntiAffinity':{"
      "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':{'app':"
      "'web'}},'topologyKey':'zone'}]}}}}"},
     "{'metadata':{'name':'p','labels':{'app':'web'}}}",
     "0/1 nodes are available: 1 node(s) didn't satisfy existing pods anti-affinity rules."},
    {"namespaces list widens the term",
     {HOST("n1"), HOST("n2")},
     {"{'metadata':{'name':'db','namespace':'data','labels':{'app':'db'}},'spec':{'nodeName':"
      "'n2'}}"},
     "{'metadata':{'name':'p'},'spec':{'affinity':{'podAffinity':{"
     "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':{'app':"
     "'db'}},'namespaces':['data'],'topologyKey':'kubernetes.io/hostname'}]}}}}",
     "-> n2"},
    {"empty namespaceSelector means all namespaces",
     {HOST("n1"), HOST("n2")},
     {"{'metadata':{'name':'db','namespace':'data','labels':{'app':'db'}},'spec':{'nodeName':"
      "'n2'}}"},
     "{'metadata':{'name':'p'},'spec':{'affinity':{'podAffinity':{"
     "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{'matchLabels':{'app':"
     "'db'}},'namespaceSelector':{},'topologyKey':'kubernetes.io/hostname'}]}}}}",
     "-> n2"},
};

START_TEST(inter_pod_affinity)
{
    RUN(interpod);
}
END_TEST

#define ZNODE(n, z) "{'metadata':{'name':'" n "','labels':{'zone':'" z "'}}}"
#define SPREAD(skew, key, when, extra)                                                             \
    "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'topologySpreadConstraints':[{"       \
    "'maxSkew':" skew ",'topologyKey':'" key "','whenUnsatisfiable':'" when "'," extra             \
    "'labelSelector':{'matchLabels':{'app':'web'}}}]}}"
#define NOSPREAD "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints."

static const struct fcase spread[] = {
    {"skew within maxSkew",
     {ZNODE("n1", "a"), ZNODE("n2", "b")},
     {APP("w1", "n1", "web")},
     SPREAD("1", "zone", "DoNotSchedule", ""),
     "-> n2"},
    {"an empty nodeSelector restricts nothing",
     {ZNODE("n1", "a"), ZNODE("n2", "b")},
     {APP("w1", "n1", "web")},
     SPREAD("1", "zone", "DoNotSchedule", "'nodeSelector':{},"),
     "-> n2"},
    {"maxSkew 2 allows the crowded zone",
     {ZNODE("n1", "a"), "{'metadata':{'name':'n2'}}"},
     {APP("w1", "n1", "web")},
     SPREAD("2", "zone", "DoNotSchedule", ""),
     "-> n1"},
    {"node without the key is excluded",
     {ZNODE("n1", "a"), "{'metadata':{'name':'n2'}}"},
     {APP("w1", "n1", "web"), APP("w2", "n1", "web")},
     SPREAD("5", "zone", "DoNotSchedule", ""),
     "-> n1"},
    {"minDomains counts missing domains as empty",
     {ZNODE("n1", "a"), ZNODE("n2", "a")},
     {APP("w1", "n1", "web")},
     SPREAD("1", "zone", "DoNotSchedule", "'minDomains':3,"),
     "0/2 nodes are available: 2 node(s) didn't match pod topology spread constraints."},
    {"ScheduleAnyway never filters",
     {ZNODE("n1", "a")},
     {APP("w1", "n1", "web"), APP("w2", "n1", "web")},
     SPREAD("1", "zone", "ScheduleAnyway", ""),
     "-> n1"},
    {"other labels are not counted",
     {ZNODE("n1", "a"), ZNODE("n2", "b")},
     {APP("w1", "n1", "db"), APP("w2", "n1", "db")},
     SPREAD("1", "zone", "DoNotSchedule", ""),
     "-> n1"},
};

static const struct fcase spread_fail[] = {
    {"crowded zone refused; a tainted node's domain still counts",
     {ZNODE("n1", "a"),
      "{'metadata':{'name':'n2','labels':{'zone':'b'}},'spec':{'taints':[{'key':'x','effect':"
      "'NoSchedule'}]}}"},
     {APP("w1", "n1", "web"), APP("w2", "n1", "web")},
     SPREAD("1", "zone", "DoNotSchedule", ""),
     "0/2 nodes are available: 1 node(s) didn't match pod topology spread constraints, 1 node(s) "
     "had untolerated taint {x: }."},
    {"node selector narrows the domains",
     {ZNODE("n1", "a"), ZNODE("n2", "b")},
     {APP("w1", "n1", "web"), APP("w2", "n1", "web")},
     "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'nodeSelector':{'zone':'a'},"
     "'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
     "'DoNotSchedule','labelSelector':{'matchLabels':{'app':'web'}}}]}}",
     "-> n1"},
    {"missing key explained",
     {ZNODE("n1", "a"), "{'metadata':{'name':'n2'}}"},
     {APP("w1", "n1", "web"), APP("w2", "n1", "web")},
     "{'metadata':{'name':'p','labels':{'app':'web'}},'spec':{'nodeSelector':{'x':'y'}}}",
     "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector."},
};

START_TEST(pod_topology_spread)
{
    RUN(spread);
    RUN(spread_fail);
}
END_TEST

/* Malformed objects: an error naming the field, never a crash. */
static const struct {
    const char *pod, *msg;
} malformed[] = {
    {"{'metadata':{}}", "metadata.name: required"},
    {"{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{'cpu':'lots'}}}]}}",
     "spec.containers[0].resources.requests.cpu: quantity 'lots'"},
    {"{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':'x'}}]}}",
     "spec.containers[0].resources.requests: must be an object"},
    {"{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'limits':{'memory':true}}}]}}",
     "spec.containers[0].resources.limits.memory"},
    {"{'metadata':{'name':'p'},'spec':{'containers':[{'resources':{'requests':{'cpu':'-1'}}}]}}",
     "spec.containers[0].resources.requests.cpu: must be non-negative"},
    {"{'metadata':{'name':'p'},'spec':{'initContainers':[1]}}",
     "spec.initContainers[0]: must be an object"},
    {"{'metadata':{'name':'p'},'spec':{'overhead':{'cpu':'x'}}}", "spec.overhead.cpu: quantity"},
    {"{'metadata':{'name':'p'},'spec':{'containers':'x'}}", "spec.containers: must be an array"},
    {"{'metadata':{'name':'p'},'spec':{'tolerations':[{'operator':'Maybe'}]}}",
     "spec.tolerations[0].operator: unsupported value 'Maybe'"},
    {"{'metadata':{'name':'p'},'spec':{'priority':'high'}}", "spec.priority: must be an integer"},
    {"{'metadata':{'name':'p'},'spec':{'nodeSelector':{'a':1}}}",
     "spec.nodeSelector[\"a\"]: must be a string"},
    {AFF(EXPR("a", "Gt", ",'values':['x']")),
     "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms["
     "0].matchExpressions[0].values[0]: must be an integer"},
    {AFF(EXPR("a", "Near", "")), "matchExpressions[0].operator: unsupported value 'Near'"},
    {AFF("{'matchFields':[{'key':'metadata.uid','operator':'In','values':['x']}]}"),
     "matchFields[0].key: unsupported field 'metadata.uid'"},
    {"{'metadata':{'name':'p'},'spec':{'affinity':{'podAntiAffinity':{"
     "'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{}}]}}}}",
     "spec.affinity.podAntiAffinity.requiredDuringSchedulingIgnoredDuringExecution[0]."
     "topologyKey: required"},
    {"{'metadata':{'name':'p'},'spec':{'affinity':{'podAffinity':{"
     "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':0,'podAffinityTerm':{}}]}}}}",
     "preferredDuringSchedulingIgnoredDuringExecution[0].weight: must be in the range 1-100"},
    {"{'metadata':{'name':'p'},'spec':{'topologySpreadConstraints':[{'maxSkew':0,"
     "'topologyKey':'zone','whenUnsatisfiable':'DoNotSchedule'}]}}",
     "spec.topologySpreadConstraints[0].maxSkew: must be greater than zero"},
    {"{'metadata':{'name':'p'},'spec':{'topologySpreadConstraints':[{'maxSkew':1,"
     "'topologyKey':'zone','whenUnsatisfiable':'Sometimes'}]}}",
     "whenUnsatisfiable: unsupported value 'Sometimes'"},
    {"{'metadata':{'name':'p'},'spec':{'containers':[{'ports':[{'hostPort':70000}]}]}}",
     "spec.containers[0].ports[0].hostPort: must be 0-65535"},
    {"[1,2]", "pod: must be an object"},
};

START_TEST(malformed_pods_name_the_field)
{
    struct sched_cache *cache = sched_cache_new(0);
    struct sched_rng rng;
    json_t *n = mk_node(N1);

    sched_rng_seed(&rng, 1);
    ck_assert_int_eq(sched_cache_node_set(cache, n, NULL), 0);
    for (size_t i = 0; i < sizeof(malformed) / sizeof(malformed[0]); i++) {
        struct sched_result res;
        struct sk_err err;
        json_t *pod = J(malformed[i].pod);

        sk_err_init(&err);
        sched_result_init(&res);
        ck_assert_int_eq(sched_schedule_one(cache, pod, &rng, &res, &err), -EINVAL);
        ck_assert_msg(strstr(err.msg, malformed[i].msg), "case %zu: got '%s'", i, err.msg);
        ck_assert_int_eq(sched_cache_assume(cache, pod, "n1", 0, &err), -EINVAL);
        sched_result_release(&res);
        json_decref(pod);
    }
    json_decref(n);
    sched_cache_free(cache);
}
END_TEST

static const struct {
    const char *node, *msg;
} bad_nodes[] = {
    {"{'metadata':{}}", "node: metadata.name: required"},
    {"{'metadata':{'name':'n'},'status':{'allocatable':{'cpu':'four'}}}",
     "node 'n': status.allocatable.cpu: quantity 'four'"},
    {"{'metadata':{'name':'n'},'spec':{'taints':[{'key':'a','effect':'Sometimes'}]}}",
     "node 'n': spec.taints[0].effect: unsupported value 'Sometimes'"},
    {"{'metadata':{'name':'n'},'spec':{'taints':[{'effect':'NoSchedule'}]}}",
     "node 'n': spec.taints[0].key: required"},
    {"{'metadata':{'name':'n'},'spec':{'unschedulable':'yes'}}",
     "node 'n': spec.unschedulable: must be a boolean"},
    {"{'metadata':{'name':'n'},'status':{'conditions':[1]}}",
     "node 'n': status.conditions[0]: must be an object"},
    {"{'metadata':{'name':'n','labels':[]}}", "node 'n': metadata.labels: must be an object"},
};

START_TEST(malformed_nodes_name_the_field)
{
    struct sched_cache *cache = sched_cache_new(0);

    for (size_t i = 0; i < sizeof(bad_nodes) / sizeof(bad_nodes[0]); i++) {
        struct sk_err err;
        json_t *n = J(bad_nodes[i].node);

        sk_err_init(&err);
        ck_assert_int_eq(sched_cache_node_set(cache, n, &err), -EINVAL);
        ck_assert_msg(strstr(err.msg, bad_nodes[i].msg), "case %zu: got '%s'", i, err.msg);
        json_decref(n);
    }
    ck_assert_uint_eq(sched_cache_node_count(cache), 0);
    sched_cache_free(cache);
}
END_TEST

/* Every value of a pod and a node using every feature, replaced in turn
 * by each JSON type: the result is a decision or an error, never a
 * crash (run under ASan/UBSan with SANITIZE=1). */
static const char *full_pod =
    "{'metadata':{'name':'p','namespace':'ns','labels':{'app':'web'}},'spec':{'priority':5,"
    "'nodeSelector':{'zone':'a'},'overhead':{'cpu':'10m'},"
    "'initContainers':[{'resources':{'requests':{'cpu':'1'},'limits':{'memory':'1Gi'}}}],"
    "'containers':[{'resources':{'requests':{'cpu':'100m','memory':'1Mi','ephemeral-storage':'1'"
    "}},'ports':[{'hostPort':80,'protocol':'TCP','hostIP':'1.2.3.4'}]}],"
    "'tolerations':[{'key':'k','operator':'Equal','value':'v','effect':'NoSchedule'}],"
    "'affinity':{'nodeAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':{"
    "'nodeSelectorTerms':[{'matchExpressions':[{'key':'zone','operator':'In','values':['a']}],"
    "'matchFields':[{'key':'metadata.name','operator':'In','values':['n1']}]}]},"
    "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':5,'preference':{"
    "'matchExpressions':[{'key':'g','operator':'Gt','values':['1']}]}}]},"
    "'podAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{"
    "'matchLabels':{'app':'web'}},'namespaces':['ns'],'topologyKey':'zone'}],"
    "'preferredDuringSchedulingIgnoredDuringExecution':[{'weight':3,'podAffinityTerm':{"
    "'labelSelector':{'matchExpressions':[{'key':'app','operator':'Exists'}]},"
    "'namespaceSelector':{},'topologyKey':'zone'}}]},"
    "'podAntiAffinity':{'requiredDuringSchedulingIgnoredDuringExecution':[{'labelSelector':{"
    "'matchLabels':{'app':'db'}},'topologyKey':'kubernetes.io/hostname'}]}},"
    "'topologySpreadConstraints':[{'maxSkew':1,'topologyKey':'zone','whenUnsatisfiable':"
    "'DoNotSchedule','minDomains':1,'labelSelector':{'matchLabels':{'app':'web'}}}]}}";

static const char *full_node =
    "{'metadata':{'name':'n1','labels':{'zone':'a','g':'2'}},'spec':{'unschedulable':false,"
    "'taints':[{'key':'k','value':'v','effect':'NoSchedule'}]},'status':{'allocatable':{"
    "'cpu':'4','memory':'8Gi','ephemeral-storage':'1Gi','pods':'10'},'conditions':[{'type':"
    "'Ready','status':'True'}]}}";

static size_t mutations;

static void
try_pod(struct sched_cache *cache, json_t *root)
{
    struct sched_result res;
    struct sched_rng rng;
    struct sk_err err;
    int rc;

    sched_rng_seed(&rng, 1);
    sched_result_init(&res);
    rc = sched_schedule_one(cache, root, &rng, &res, &err);
    ck_assert_int_ge(rc, -EINVAL);
    if (rc < 0)
        ck_assert_msg(err.msg[0] != '\0', "an error without a message");
    sched_result_release(&res);
    mutations++;
}

static void
try_node(struct sched_cache *cache, json_t *root)
{
    struct sk_err err;
    int rc = sched_cache_node_set(cache, root, &err);

    ck_assert_int_ge(rc, -EINVAL);
    if (rc == 0)
        ck_assert_int_eq(
            sched_cache_node_remove(cache, json_string_value(sk_json_get(root, "metadata.name"))),
            0);
    mutations++;
}

/* Replace each value under v by each type and call check(root). */
static void
mutate(json_t *root, json_t *v, struct sched_cache *cache,
       void (*check)(struct sched_cache *, json_t *))
{
    json_t *subs[] = {json_integer(42), json_string("x"), json_array(),   json_object(),
                      json_true(),      json_null(),      json_real(-1.5)};
    size_t nsubs = sizeof(subs) / sizeof(subs[0]);

    if (json_is_object(v)) {
        const char *k;
        json_t *child;
        void *tmp;

        json_object_foreach_safe (v, tmp, k, child) {
            json_t *keep = json_incref(child);

            mutate(root, child, cache, check);
            for (size_t i = 0; i < nsubs; i++) {
                json_object_set(v, k, subs[i]);
                check(cache, root);
            }
            json_object_set_new(v, k, keep);
        }
    } else if (json_is_array(v)) {
        for (size_t idx = 0; idx < json_array_size(v); idx++) {
            json_t *keep = json_incref(json_array_get(v, idx));

            mutate(root, keep, cache, check);
            for (size_t i = 0; i < nsubs; i++) {
                json_array_set(v, idx, subs[i]);
                check(cache, root);
            }
            json_array_set_new(v, idx, keep);
        }
    }
    for (size_t i = 0; i < nsubs; i++)
        json_decref(subs[i]);
}

START_TEST(every_field_of_every_type_never_crashes)
{
    struct sched_cache *cache = sched_cache_new(0);
    json_t *node = J(full_node), *pod = J(full_pod);

    ck_assert_int_eq(sched_cache_node_set(cache, node, NULL), 0);
    mutate(pod, pod, cache, try_pod);
    ck_assert_int_eq(sched_cache_node_remove(cache, "n1"), 0);
    mutate(node, node, cache, try_node);
    ck_assert_uint_gt(mutations, 500);
    json_decref(node);
    json_decref(pod);
    sched_cache_free(cache);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_filters");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, node_unschedulable);
    tcase_add_test(tc, node_ready);
    tcase_add_test(tc, node_name_filter);
    tcase_add_test(tc, taint_toleration);
    tcase_add_test(tc, node_affinity);
    tcase_add_test(tc, node_ports);
    tcase_add_test(tc, node_resources_fit);
    tcase_add_test(tc, inter_pod_affinity);
    tcase_add_test(tc, pod_topology_spread);
    tcase_add_test(tc, malformed_pods_name_the_field);
    tcase_add_test(tc, malformed_nodes_name_the_field);
    tcase_add_test(tc, every_field_of_every_type_never_crashes);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
