/* api/print: describe output for Pod, Deployment, Service, Node and the
 * generic form, aligned as kubectl's tabwriter aligns it; the Events
 * table (sorted, "x2 over"), the scheduler's message for a pending pod,
 * and hostile objects. Inputs are JSON written with ' for ". */
#include "api/print.h"
#include "unit.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1795634400 /* 2026-11-25T19:20:00Z */

static json_t *
parse(const char *text)
{
    char *s = strdup(text);
    json_error_t e;
    json_t *v;

    for (char *p = s; *p; p++)
        if (*p == '\'')
            *p = '"';
    v = json_loads(s, JSON_DECODE_ANY, &e);
    ck_assert_msg(v != NULL, "bad test json: %s: %s", e.text, s);
    free(s);
    return v;
}

static const char pod_in[] =
    "{'obj':{'kind':'Pod','metadata':{'name':'web-5d4f-abcde','namespace':'default','labels':{'"
    "app':'web','pod-template-hash':'5d4f'},'annotations':{'note':'hi'},'ownerReferences':[{'ki"
    "nd':'ReplicaSet','name':'web-5d4f','controller':true}],'creationTimestamp':'2026-11-25T19:"
    "00:00Z'},'spec':{'nodeName':'node-1','priority':0,'serviceAccountName':'default','containe"
    "rs':[{'name':'web','image':'nginx:1.25','ports':[{'containerPort':80,'protocol':'TCP'}],'r"
    "esources':{'limits':{'cpu':'500m','memory':'128Mi'},'requests':{'cpu':'250m','memory':'64M"
    "i'}},'livenessProbe':{'httpGet':{'path':'/healthz','port':8080},'periodSeconds':10,'timeou"
    "tSeconds':1,'successThreshold':1,'failureThreshold':3},'readinessProbe':{'exec':{'command'"
    ":['cat','/tmp/ready']},'initialDelaySeconds':5},'env':[{'name':'MODE','value':'prod'},{'na"
    "me':'PASS','valueFrom':{'secretKeyRef':{'name':'db','key':'password'}}},{'name':'POD','val"
    "ueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}}],'volumeMounts':[{'name':'cfg','mountP"
    "ath':'/etc/web','readOnly':true}]}],'volumes':[{'name':'cfg','configMap':{'name':'web-cfg'"
    "}},{'name':'tmp','emptyDir':{}}],'tolerations':[{'key':'node.kubernetes.io/not-ready','ope"
    "rator':'Exists','effect':'NoExecute','tolerationSeconds':300},{'operator':'Exists'}],'node"
    "Selector':{'disk':'ssd'}},'status':{'phase':'Running','hostIP':'10.0.0.1','podIP':'10.244."
    "1.5','podIPs':[{'ip':'10.244.1.5'}],'startTime':'2026-11-25T19:00:01Z','conditions':[{'typ"
    "e':'Initialized','status':'True'},{'type':'Ready','status':'True'},{'type':'PodScheduled',"
    "'status':'True'}],'containerStatuses':[{'name':'web','ready':true,'restartCount':1,'contai"
    "nerID':'skiff://abc','imageID':'sha256:1234','state':{'running':{'startedAt':'2026-11-25T1"
    "9:05:00Z'}},'lastState':{'terminated':{'exitCode':137,'reason':'OOMKilled','startedAt':'20"
    "26-11-25T19:00:02Z','finishedAt':'2026-11-25T19:04:59Z'}}}]}},'events':[{'type':'Normal','"
    "reason':'Started','message':'Started container web','source':{'component':'kubelet'},'last"
    "Timestamp':'2026-11-25T19:05:00Z','firstTimestamp':'2026-11-25T19:00:02Z','count':2},{'typ"
    "e':'Normal','reason':'Scheduled','message':'Successfully assigned default/web-5d4f-abcde t"
    "o node-1','reportingComponent':'default-scheduler','eventTime':'2026-11-25T19:00:00.5Z'}]}";

static const char pod_want[] =
    "Name:             web-5d4f-abcde\n"
    "Namespace:        default\n"
    "Priority:         0\n"
    "Service Account:  default\n"
    "Node:             node-1/10.0.0.1\n"
    "Start Time:       Wed, 25 Nov 2026 19:00:01 +0000\n"
    "Labels:           app=web\n"
    "                  pod-template-hash=5d4f\n"
    "Annotations:      note: hi\n"
    "Status:           Running\n"
    "IP:               10.244.1.5\n"
    "IPs:\n"
    "  IP:           10.244.1.5\n"
    "Controlled By:  ReplicaSet/web-5d4f\n"
    "Containers:\n"
    "  web:\n"
    "    Container ID:   skiff://abc\n"
    "    Image:          nginx:1.25\n"
    "    Image ID:       sha256:1234\n"
    "    Port:           80/TCP\n"
    "    Host Port:      0/TCP\n"
    "    State:          Running\n"
    "      Started:      Wed, 25 Nov 2026 19:05:00 +0000\n"
    "    Last State:     Terminated\n"
    "      Reason:       OOMKilled\n"
    "      Exit Code:    137\n"
    "      Started:      Wed, 25 Nov 2026 19:00:02 +0000\n"
    "      Finished:     Wed, 25 Nov 2026 19:04:59 +0000\n"
    "    Ready:          True\n"
    "    Restart Count:  1\n"
    "    Limits:\n"
    "      cpu:     500m\n"
    "      memory:  128Mi\n"
    "    Requests:\n"
    "      cpu:      250m\n"
    "      memory:   64Mi\n"
    "    Liveness:   http-get http://:8080/healthz delay=0s timeout=1s period=10s #success=1 "
    "#failure=3\n"
    "    Readiness:  exec [cat /tmp/ready] delay=5s timeout=1s period=10s #success=1 #failure=3\n"
    "    Environment:\n"
    "      MODE:  prod\n"
    "      PASS:  <set to the key 'password' in secret 'db'>  Optional: false\n"
    "      POD:    (v1:metadata.name)\n"
    "    Mounts:\n"
    "      /etc/web from cfg (ro)\n"
    "Conditions:\n"
    "  Type           Status\n"
    "  Initialized    True \n"
    "  Ready          True \n"
    "  PodScheduled   True \n"
    "Volumes:\n"
    "  cfg:\n"
    "    Type:      ConfigMap (a volume populated by a ConfigMap)\n"
    "    Name:      web-cfg\n"
    "    Optional:  false\n"
    "  tmp:\n"
    "    Type:        EmptyDir (a temporary directory that shares a pod's lifetime)\n"
    "    Medium:      \n"
    "    SizeLimit:   <unset>\n"
    "QoS Class:       Burstable\n"
    "Node-Selectors:  disk=ssd\n"
    "Tolerations:     node.kubernetes.io/not-ready:NoExecute op=Exists for 300s\n"
    "                 op=Exists\n"
    "Events:\n"
    "  Type    Reason     Age                From               Message\n"
    "  ----    ------     ----               ----               -------\n"
    "  Normal  Scheduled  20m                default-scheduler  Successfully assigned "
    "default/web-5d4f-abcde to node-1\n"
    "  Normal  Started    15m (x2 over 19m)  kubelet            Started container web\n";

static const char deployment_in[] =
    "{'obj':{'kind':'Deployment','metadata':{'name':'web','namespace':'default','uid':'u1','lab"
    "els':{'app':'web'},'annotations':{'deployment.kubernetes.io/revision':'2'},'creationTimest"
    "amp':'2026-11-25T19:00:00Z'},'spec':{'replicas':3,'selector':{'matchLabels':{'app':'web'}}"
    ",'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxUnavailable':'25%','maxSurge':1}}"
    ",'template':{'metadata':{'labels':{'app':'web'}},'spec':{'containers':[{'name':'nginx','im"
    "age':'nginx:1.25','ports':[{'containerPort':80}]}]}}},'status':{'replicas':3,'updatedRepli"
    "cas':3,'availableReplicas':2,'unavailableReplicas':1,'conditions':[{'type':'Available','st"
    "atus':'True','reason':'MinimumReplicasAvailable'},{'type':'Progressing','status':'True','r"
    "eason':'NewReplicaSetAvailable'}]}},'related':[{'kind':'ReplicaSet','metadata':{'name':'we"
    "b-new','annotations':{'deployment.kubernetes.io/revision':'2'},'ownerReferences':[{'uid':'"
    "u1','name':'web'}]},'spec':{'replicas':3},'status':{'replicas':3}},{'kind':'ReplicaSet','m"
    "etadata':{'name':'web-old','annotations':{'deployment.kubernetes.io/revision':'1'},'ownerR"
    "eferences':[{'uid':'u1','name':'web'}]},'spec':{'replicas':1},'status':{'replicas':1}},{'k"
    "ind':'ReplicaSet','metadata':{'name':'other','annotations':{'deployment.kubernetes.io/revi"
    "sion':'2'},'ownerReferences':[{'uid':'u2','name':'x'}]},'spec':{'replicas':1}}]}";

static const char deployment_want[] =
    "Name:                   web\n"
    "Namespace:              default\n"
    "CreationTimestamp:      Wed, 25 Nov 2026 19:00:00 +0000\n"
    "Labels:                 app=web\n"
    "Annotations:            deployment.kubernetes.io/revision: 2\n"
    "Selector:               app=web\n"
    "Replicas:               3 desired | 3 updated | 3 total | 2 available | 1 unavailable\n"
    "StrategyType:           RollingUpdate\n"
    "MinReadySeconds:        0\n"
    "RollingUpdateStrategy:  25% max unavailable, 1 max surge\n"
    "Pod Template:\n"
    "  Labels:  app=web\n"
    "  Containers:\n"
    "    nginx:\n"
    "      Image:        nginx:1.25\n"
    "      Port:         80/TCP\n"
    "      Host Port:    0/TCP\n"
    "      Environment:  <none>\n"
    "      Mounts:       <none>\n"
    "  Volumes:          <none>\n"
    "Conditions:\n"
    "  Type           Status  Reason\n"
    "  ----           ------  ------\n"
    "  Available      True    MinimumReplicasAvailable\n"
    "  Progressing    True    NewReplicaSetAvailable\n"
    "OldReplicaSets:  web-old (1/1 replicas created)\n"
    "NewReplicaSet:   web-new (3/3 replicas created)\n"
    "Events:          <none>\n";

static const char service_in[] =
    "{'obj':{'kind':'Service','metadata':{'name':'web','namespace':'default'},'spec':{'type':'N"
    "odePort','clusterIP':'10.96.3.7','selector':{'app':'web'},'ports':[{'name':'http','port':8"
    "0,'targetPort':8080,'nodePort':30080,'protocol':'TCP'},{'port':53,'targetPort':'dns','prot"
    "ocol':'UDP'}],'sessionAffinity':'None','externalTrafficPolicy':'Cluster'}},'related':[{'ki"
    "nd':'Endpoints','metadata':{'name':'web'},'subsets':[{'addresses':[{'ip':'10.244.1.5'},{'i"
    "p':'10.244.2.3'}],'ports':[{'name':'http','port':8080},{'port':53,'protocol':'UDP'}]}]}]}";

static const char service_want[] = "Name:                     web\n"
                                   "Namespace:                default\n"
                                   "Labels:                   <none>\n"
                                   "Annotations:              <none>\n"
                                   "Selector:                 app=web\n"
                                   "Type:                     NodePort\n"
                                   "IP:                       10.96.3.7\n"
                                   "Port:                     http  80/TCP\n"
                                   "TargetPort:               8080/TCP\n"
                                   "NodePort:                 http  30080/TCP\n"
                                   "Endpoints:                10.244.1.5:8080,10.244.2.3:8080\n"
                                   "Port:                     <unset>  53/UDP\n"
                                   "TargetPort:               dns/UDP\n"
                                   "Endpoints:                10.244.1.5:53,10.244.2.3:53\n"
                                   "Session Affinity:         None\n"
                                   "External Traffic Policy:  Cluster\n"
                                   "Events:                   <none>\n";

static const char pending_in[] =
    "{'obj':{'kind':'Pod','metadata':{'name':'big','namespace':'default','creationTimestamp':'2"
    "026-11-25T19:19:00Z'},'spec':{'containers':[{'name':'c','image':'x','resources':{'limits':"
    "{'cpu':'1','memory':'1Gi'}}}]},'status':{'phase':'Pending','conditions':[{'type':'PodSched"
    "uled','status':'False','reason':'Unschedulable','message':'0/3 nodes are available: 2 Insu"
    "fficient memory, 1 node is cordoned.'}]}}}";

static const char pending_want[] =
    "Name:             big\n"
    "Namespace:        default\n"
    "Service Account:  \n"
    "Node:             <none>\n"
    "Labels:           <none>\n"
    "Annotations:      <none>\n"
    "Status:           Pending\n"
    "Reason:           Unschedulable\n"
    "Message:          0/3 nodes are available: 2 Insufficient memory, 1 node is cordoned.\n"
    "IP:               \n"
    "IPs:              <none>\n"
    "Containers:\n"
    "  c:\n"
    "    Image:  x\n"
    "    Port:   <none>\n"
    "    Limits:\n"
    "      cpu:        1\n"
    "      memory:     1Gi\n"
    "    Environment:  <none>\n"
    "    Mounts:       <none>\n"
    "Conditions:\n"
    "  Type           Status\n"
    "  PodScheduled   False \n"
    "Volumes:         <none>\n"
    "QoS Class:       Guaranteed\n"
    "Node-Selectors:  <none>\n"
    "Tolerations:     <none>\n"
    "Events:          <none>\n";

static const char node_in[] =
    "{'obj':{'kind':'Node','metadata':{'name':'node-1','labels':{'kubernetes.io/hostname':'node"
    "-1','node-role.kubernetes.io/control-plane':''},'creationTimestamp':'2026-11-20T19:00:00Z'"
    "},'spec':{'podCIDR':'10.244.1.0/24','podCIDRs':['10.244.1.0/24'],'taints':[{'key':'dedicat"
    "ed','value':'db','effect':'NoSchedule'},{'key':'node.kubernetes.io/unreachable','effect':'"
    "NoExecute'}]},'status':{'conditions':[{'type':'Ready','status':'True','lastHeartbeatTime':"
    "'2026-11-25T19:19:50Z','lastTransitionTime':'2026-11-20T19:00:10Z','reason':'KubeletReady'"
    ",'message':'kubelet is posting ready status'}],'addresses':[{'type':'InternalIP','address'"
    ":'10.0.0.1'},{'type':'Hostname','address':'node-1'}],'capacity':{'cpu':'4','memory':'8Gi',"
    "'pods':'110'},'allocatable':{'cpu':'4','memory':'8Gi','pods':'110'},'nodeInfo':{'kernelVer"
    "sion':'6.8.0','osImage':'Debian 12','operatingSystem':'linux','architecture':'amd64','cont"
    "ainerRuntimeVersion':'skiff://0.4.0','kubeletVersion':'v0.4.0'}}},'related':[{'kind':'Pod'"
    ",'metadata':{'name':'web','namespace':'default','creationTimestamp':'2026-11-25T19:00:00Z'"
    "},'spec':{'nodeName':'node-1','containers':[{'resources':{'requests':{'cpu':'500m','memory"
    "':'1Gi'},'limits':{'cpu':'1','memory':'2Gi'}}}]},'status':{'phase':'Running'}},{'kind':'Po"
    "d','metadata':{'name':'done','namespace':'default'},'spec':{'nodeName':'node-1'},'status':"
    "{'phase':'Succeeded'}},{'kind':'Pod','metadata':{'name':'elsewhere'},'spec':{'nodeName':'n"
    "ode-2'}}]}";

static const char node_want[] =
    "Name:               node-1\n"
    "Roles:              control-plane\n"
    "Labels:             kubernetes.io/hostname=node-1\n"
    "                    node-role.kubernetes.io/control-plane=\n"
    "Annotations:        <none>\n"
    "CreationTimestamp:  Fri, 20 Nov 2026 19:00:00 +0000\n"
    "Taints:             dedicated=db:NoSchedule\n"
    "                    node.kubernetes.io/unreachable:NoExecute\n"
    "Unschedulable:      false\n"
    "Conditions:\n"
    "  Type    Status  LastHeartbeatTime                 LastTransitionTime                Reason  "
    "       Message\n"
    "  ----    ------  -----------------                 ------------------                ------  "
    "       -------\n"
    "  Ready   True    Wed, 25 Nov 2026 19:19:50 +0000   Fri, 20 Nov 2026 19:00:10 +0000   "
    "KubeletReady   kubelet is posting ready status\n"
    "Addresses:\n"
    "  InternalIP:  10.0.0.1\n"
    "  Hostname:    node-1\n"
    "Capacity:\n"
    "  cpu:     4\n"
    "  memory:  8Gi\n"
    "  pods:    110\n"
    "Allocatable:\n"
    "  cpu:     4\n"
    "  memory:  8Gi\n"
    "  pods:    110\n"
    "System Info:\n"
    "  Machine ID:                 \n"
    "  System UUID:                \n"
    "  Boot ID:                    \n"
    "  Kernel Version:             6.8.0\n"
    "  OS Image:                   Debian 12\n"
    "  Operating System:           linux\n"
    "  Architecture:               amd64\n"
    "  Container Runtime Version:  skiff://0.4.0\n"
    "  Kubelet Version:            v0.4.0\n"
    "  Kube-Proxy Version:         \n"
    "PodCIDR:                      10.244.1.0/24\n"
    "PodCIDRs:                     10.244.1.0/24\n"
    "Non-terminated Pods:          (1 in total)\n"
    "  Namespace                   Name  CPU Requests  CPU Limits  Memory Requests  Memory Limits  "
    "Age\n"
    "  ---------                   ----  ------------  ----------  ---------------  -------------  "
    "---\n"
    "  default                     web   500m (12%)    1 (25%)     1Gi (12%)        2Gi (25%)      "
    "20m\n"
    "Allocated resources:\n"
    "  (Total limits may be over 100 percent, i.e., overcommitted.)\n"
    "  Resource  Requests    Limits\n"
    "  --------  --------    ------\n"
    "  cpu       500m (12%)  1 (25%)\n"
    "  memory    1Gi (12%)   2Gi (25%)\n"
    "Events:     <none>\n";

static const char configmap_in[] =
    "{'obj':{'kind':'ConfigMap','metadata':{'name':'cfg','namespace':'default','creationTimesta"
    "mp':'2026-11-25T19:00:00Z'},'data':{'a':'1','multi':'x\\ny'},'binaryData':{},'immutable':t"
    "rue}}";

static const char configmap_want[] = "Name:         cfg\n"
                                     "Namespace:    default\n"
                                     "Labels:       <none>\n"
                                     "Annotations:  <none>\n"
                                     "\n"
                                     "Data\n"
                                     "====\n"
                                     "a:\n"
                                     "----\n"
                                     "1\n"
                                     "\n"
                                     "multi:\n"
                                     "----\n"
                                     "x\n"
                                     "y\n"
                                     "\n"
                                     "BinaryData\n"
                                     "====\n"
                                     "\n"
                                     "Events:  <none>\n";

static const char secret_in[] =
    "{'obj':{'kind':'Secret','metadata':{'name':'db','namespace':'default'},'type':'Opaque','da"
    "ta':{'password':'aHVudGVyMg==','token':'YWJj','odd':'YWI','bad':7}}}";

static const char secret_want[] = "Name:         db\n"
                                  "Namespace:    default\n"
                                  "Labels:       <none>\n"
                                  "Annotations:  <none>\n"
                                  "\n"
                                  "Type:  Opaque\n"
                                  "\n"
                                  "Data\n"
                                  "====\n"
                                  "bad:       0 bytes\n"
                                  "odd:       2 bytes\n"
                                  "password:  7 bytes\n"
                                  "token:     3 bytes\n"
                                  "\n"
                                  "Events:  <none>\n";

static const char generic_in[] =
    "{'obj':{'kind':'ServiceAccount','metadata':{'name':'ci','namespace':'build','labels':{'tea"
    "m':'infra'},'creationTimestamp':'2026-11-25T19:00:00Z'},'secrets':[{'name':'ci-token'}],'a"
    "utomountServiceAccountToken':false,'weird':{'empty':{},'list':[],'n':null,'x\\ty':'a\\nb'}"
    "},'events':[{'type':'Normal','reason':'Created','message':'created by admin','source':{'co"
    "mponent':'api'},'lastTimestamp':'2026-11-25T19:00:00Z'}]}";

static const char generic_want[] = "Name:               ci\n"
                                   "Namespace:          build\n"
                                   "Labels:             team=infra\n"
                                   "Annotations:        <none>\n"
                                   "CreationTimestamp:  Wed, 25 Nov 2026 19:00:00 +0000\n"
                                   "Secrets:\n"
                                   "  [0]:\n"
                                   "    name:                      ci-token\n"
                                   "AutomountServiceAccountToken:  false\n"
                                   "Weird:\n"
                                   "  empty:  <none>\n"
                                   "  list:   <none>\n"
                                   "  n:      <none>\n"
                                   "  x y:    a b\n"
                                   "Events:\n"
                                   "  Type    Reason   Age   From  Message\n"
                                   "  ----    ------   ----  ----  -------\n"
                                   "  Normal  Created  20m   api   created by admin\n";

static const struct {
    const char *name, *kind, *in, *want;
} cases[] = {
    {"pod", "pod", pod_in, pod_want},
    {"deployment with its replica sets", "deploy", deployment_in, deployment_want},
    {"service with endpoints per port", "svc", service_in, service_want},
    {"pending pod says why", "pod", pending_in, pending_want},
    {"node with its pods", "node", node_in, node_want},
    {"configmap values under rules", "cm", configmap_in, configmap_want},
    {"secret sizes, never values", "secret", secret_in, secret_want},
    {"generic kind", "sa", generic_in, generic_want},
};

START_TEST(describe_matches_kubectl_layout)
{
    json_t *in = parse(cases[_i].in);
    struct sk_buf b = SK_BUF_INIT;

    api_print_describe_related(api_kind_lookup(cases[_i].kind), json_object_get(in, "obj"),
                               json_object_get(in, "events"), json_object_get(in, "related"), NOW,
                               &b);
    ck_assert_msg(strcmp(b.data, cases[_i].want) == 0, "%s:\n--- got\n%s--- want\n%s",
                  cases[_i].name, b.data, cases[_i].want);
    sk_buf_release(&b);
    json_decref(in);
}
END_TEST

START_TEST(without_related_objects_lines_say_none)
{
    json_t *in = parse(deployment_in);
    struct sk_buf b = SK_BUF_INIT;

    api_print_describe(api_kind_lookup("deployment"), json_object_get(in, "obj"), NULL, NOW, &b);
    ck_assert_ptr_nonnull(strstr(b.data, "OldReplicaSets:  <none>\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "NewReplicaSet:   <none>\n"));
    ck_assert_ptr_nonnull(strstr(b.data, "Events:          <none>\n"));
    sk_buf_release(&b);
    json_decref(in);
}
END_TEST

START_TEST(events_are_sorted_oldest_first)
{
    json_t *ev = parse("[{'type':'Warning','reason':'B','message':'late','lastTimestamp':"
                       "'2026-11-25T19:19:00Z'},{'type':'Normal','reason':'A','message':'early',"
                       "'eventTime':'2026-11-25T19:00:00.000001Z'},{'reason':'C','message':"
                       "'no time'}]");
    json_t *obj = parse("{'metadata':{'name':'x'}}");
    struct sk_buf b = SK_BUF_INIT;
    const char *a, *late, *none;

    api_print_describe(NULL, obj, ev, NOW, &b);
    a = strstr(b.data, "early");
    late = strstr(b.data, "late");
    none = strstr(b.data, "no time");
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_nonnull(late);
    ck_assert_ptr_nonnull(none);
    ck_assert(none < a && a < late); /* unknown times sort first */
    ck_assert_ptr_nonnull(strstr(b.data, "<unknown>"));
    sk_buf_release(&b);
    json_decref(ev);
    json_decref(obj);
}
END_TEST

static const char *const hostile[] = {
    "{}",
    "null",
    "[1,2]",
    "{'metadata':7,'spec':'s','status':[],'subsets':1,'data':[1]}",
    "{'metadata':{'name':[],'labels':{'a':1,'b':null},'annotations':'x','ownerReferences':[1,"
    "{'controller':'yes'}],'deletionTimestamp':5},'spec':{'containers':[1,{'name':2,'ports':"
    "'p','env':[1,{'valueFrom':7}],'volumeMounts':{},'resources':{'limits':{'cpu':'lots',"
    "'memory':[]}},'livenessProbe':{'httpGet':{'port':[]}},'readinessProbe':{'tcpSocket':7}}],"
    "'volumes':[1,{'configMap':3}],'tolerations':'t','taints':[1],'ports':[1,{'port':'x'}],"
    "'selector':[],'strategy':{'rollingUpdate':{'maxSurge':[]}},'template':7,'podCIDRs':[1]},"
    "'status':{'conditions':[1,{'type':2}],'containerStatuses':[1,{'name':2}],'addresses':7,"
    "'capacity':{'cpu':1},'nodeInfo':'n','podIPs':[7]}}",
};

START_TEST(hostile_objects_never_crash)
{
    const struct api_kind *kinds;
    json_t *obj = parse(hostile[_i]);
    json_t *ev = parse("[1,{'count':'x','lastTimestamp':3},{'involvedObject':[]}]");
    json_t *rel = parse("[1,{'kind':'Pod','spec':{'nodeName':[]}},{'kind':'ReplicaSet'},"
                        "{'kind':'Endpoints','subsets':[{'ports':[1]}]}]");
    size_t nk;

    kinds = api_kinds(&nk);
    for (size_t k = 0; k < nk; k++) {
        struct sk_buf b = SK_BUF_INIT;

        api_print_describe_related(&kinds[k], obj, ev, rel, NOW, &b);
        ck_assert_ptr_nonnull(strstr(b.data, "Events:"));
        sk_buf_release(&b);
    }
    json_decref(obj);
    json_decref(ev);
    json_decref(rel);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_describe");
    TCase *tc = tcase_create("describe");

    tcase_add_loop_test(tc, describe_matches_kubectl_layout, 0, N(cases));
    tcase_add_test(tc, without_related_objects_lines_say_none);
    tcase_add_test(tc, events_are_sorted_oldest_first);
    tcase_add_loop_test(tc, hostile_objects_never_crash, 0, N(hostile));
    suite_add_tcase(s, tc);
    return unit_main(s);
}
