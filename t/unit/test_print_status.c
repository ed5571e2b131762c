/* api/print: a pod's STATUS, READY and RESTARTS columns, derived as
 * kubectl's printPod derives them; cases after kubectl's own printer
 * tests. JSON is written with ' for " to stay readable. */
#include "api/print.h"
#include "unit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#define N(a) (sizeof(a) / sizeof((a)[0]))

#define NOW 1795634400 /* 2026-11-25T19:20:00Z */

static json_t *
pod(const char *text)
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

#define TWO   "'spec':{'containers':[{'name':'a'},{'name':'b'}]}"
#define ONE   "'spec':{'containers':[{'name':'a'}]}"
#define INIT2 "'spec':{'initContainers':[{'name':'i1'},{'name':'i2'}],'containers':[{'name':'a'}]}"
#define RUN   "'state':{'running':{}}"

static const struct {
    const char *name, *pod, *status, *ready, *restarts;
} cases[] = {
    {"running and ready",
     "{" TWO ",'status':{'phase':'Running','containerStatuses':[{'name':'a','ready':true,"
     "'restartCount':3," RUN "},{'name':'b','ready':true,'restartCount':3," RUN "}]}}",
     "Running", "2/2", "6"},
    {"pending without statuses", "{" ONE ",'status':{'phase':'Pending'}}", "Pending", "0/1", "0"},
    {"container creating",
     "{" ONE ",'status':{'phase':'Pending','containerStatuses':[{'name':'a','state':{'waiting':"
     "{'reason':'ContainerCreating'}}}]}}",
     "ContainerCreating", "0/1", "0"},
    {"crash loop with last restart",
     "{" ONE ",'status':{'phase':'Running','containerStatuses':[{'name':'a','restartCount':5,"
     "'state':{'waiting':{'reason':'CrashLoopBackOff'}},'lastState':{'terminated':{'exitCode':1,"
     "'finishedAt':'2026-11-25T19:18:00Z'}}}]}}",
     "CrashLoopBackOff", "0/1", "5 (2m ago)"},
    {"image pull back-off",
     "{" ONE ",'status':{'phase':'Pending','containerStatuses':[{'name':'a','state':{'waiting':"
     "{'reason':'ImagePullBackOff'}}}]}}",
     "ImagePullBackOff", "0/1", "0"},
    {"all completed",
     "{" TWO ",'status':{'phase':'Succeeded','containerStatuses':[{'name':'a','state':{"
     "'terminated':{'reason':'Completed','exitCode':0}}},{'name':'b','state':{'terminated':{"
     "'reason':'Completed','exitCode':0}}}]}}",
     "Completed", "0/2", "0"},
    {"terminated with reason",
     "{" ONE ",'status':{'phase':'Failed','containerStatuses':[{'name':'a','state':{"
     "'terminated':{'reason':'Error','exitCode':2}}}]}}",
     "Error", "0/1", "0"},
    {"terminated exit code without reason",
     "{" ONE ",'status':{'phase':'Failed','containerStatuses':[{'name':'a','state':{"
     "'terminated':{'exitCode':137}}}]}}",
     "ExitCode:137", "0/1", "0"},
    {"terminated by signal without reason",
     "{" ONE ",'status':{'phase':'Failed','containerStatuses':[{'name':'a','state':{"
     "'terminated':{'exitCode':0,'signal':9}}}]}}",
     "Signal:9", "0/1", "0"},
    {"first container wins",
     "{" TWO ",'status':{'phase':'Running','containerStatuses':[{'name':'a','state':{'waiting':"
     "{'reason':'CrashLoopBackOff'}}},{'name':'b','state':{'waiting':{'reason':'ErrImagePull'}}}"
     "]}}",
     "CrashLoopBackOff", "0/2", "0"},
    {"completed but another running and pod ready",
     "{" TWO ",'status':{'phase':'Running','conditions':[{'type':'Ready','status':'True'}],"
     "'containerStatuses':[{'name':'a','ready':false,'state':{'terminated':{'reason':"
     "'Completed','exitCode':0}}},{'name':'b','ready':true," RUN "}]}}",
     "Running", "1/2", "0"},
    {"completed but another running and pod not ready",
     "{" TWO ",'status':{'phase':'Running','conditions':[{'type':'Ready','status':'False'}],"
     "'containerStatuses':[{'name':'a','ready':false,'state':{'terminated':{'reason':"
     "'Completed','exitCode':0}}},{'name':'b','ready':true," RUN "}]}}",
     "NotReady", "1/2", "0"},
    {"running but not ready",
     "{" ONE ",'status':{'phase':'Running','containerStatuses':[{"
     "'name':'a','ready':false," RUN "}]}}",
     "Running", "0/1", "0"},
    {"init waiting for first",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','state':{"
     "'waiting':{'reason':'PodInitializing'}}},{'name':'i2','state':{'waiting':{}}}]}}",
     "Init:0/2", "0/1", "0"},
    {"init second running",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','state':{"
     "'terminated':{'exitCode':0,'reason':'Completed'}}},{'name':'i2'," RUN "}]}}",
     "Init:1/2", "0/1", "0"},
    {"init crash loop",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','restartCount'"
     ":4,'state':{'waiting':{'reason':'CrashLoopBackOff'}}}]}}",
     "Init:CrashLoopBackOff", "0/1", "4"},
    {"init error",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','state':{"
     "'terminated':{'exitCode':1,'reason':'Error'}}}]}}",
     "Init:Error", "0/1", "0"},
    {"init exit code",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','state':{"
     "'terminated':{'exitCode':3}}}]}}",
     "Init:ExitCode:3", "0/1", "0"},
    {"init signal",
     "{" INIT2 ",'status':{'phase':'Pending','initContainerStatuses':[{'name':'i1','state':{"
     "'terminated':{'exitCode':3,'signal':9}}}]}}",
     "Init:Signal:9", "0/1", "0"},
    {"init done, containers count",
     "{" INIT2 ",'status':{'phase':'Running','conditions':[{'type':'Initialized','status':'True'"
     "}],'initContainerStatuses':[{'name':'i1','state':{'terminated':{'exitCode':0}}},{'name':"
     "'i2','state':{'terminated':{'exitCode':0}}}],'containerStatuses':[{'name':'a','ready':"
     "true," RUN "}]}}",
     "Running", "1/1", "0"},
    {"sidecar counts in ready",
     "{'spec':{'initContainers':[{'name':'s','restartPolicy':'Always'}],'containers':[{'name':"
     "'a'}]},'status':{'phase':'Running','conditions':[{'type':'Initialized','status':'True'}],"
     "'initContainerStatuses':[{'name':'s','started':true,'ready':true,'restartCount':2," RUN
     "}],'containerStatuses':[{'name':'a','ready':true,'restartCount':1," RUN "}]}}",
     "Running", "2/2", "3"},
    {"terminating",
     "{" ONE ",'metadata':{'deletionTimestamp':'2026-11-25T19:20:30Z'},'status':{"
     "'phase':'Running','containerStatuses':[{'name':'a','ready':true," RUN "}]}}",
     "Terminating", "1/1", "0"},
    {"node lost",
     "{" ONE ",'metadata':{'deletionTimestamp':'2026-11-25T19:20:30Z'},'status':{"
     "'phase':'Running','reason':'NodeLost'}}",
     "Unknown", "0/1", "0"},
    {"evicted", "{" ONE ",'status':{'phase':'Failed','reason':'Evicted'}}", "Evicted", "0/1", "0"},
    {"scheduling gated",
     "{" ONE ",'status':{'phase':'Pending','conditions':[{'type':'PodScheduled','status':'False',"
     "'reason':'SchedulingGated'}]}}",
     "SchedulingGated", "0/1", "0"},
    {"newest restart time wins",
     "{" TWO ",'status':{'phase':'Running','containerStatuses':[{'name':'a','ready':true,"
     "'restartCount':1," RUN ",'lastState':{'terminated':{'finishedAt':'2026-11-25T18:20:00Z'}}},"
     "{'name':'b','ready':true,'restartCount':2," RUN ",'lastState':{'terminated':{'finishedAt':"
     "'2026-11-25T19:15:00Z'}}}]}}",
     "Running", "2/2", "3 (5m ago)"},
    {"hostile types",
     "{'spec':{'containers':'x','initContainers':7},'status':{'phase':3,"
     "'containerStatuses':{'a':1},'initContainerStatuses':['x',null,{'state':'y'}]}}",
     "Init:2/0", "0/0", "0"},
    {"hostile statuses",
     "{" ONE ",'status':{'phase':'Running','containerStatuses':[7,'x',{"
     "'state':{'terminated':'no','waiting':{'reason':5}},'restartCount':'lots','ready':'yes'}]}}",
     "Running", "0/1", "0"},
    {"empty object", "{}", "Unknown", "0/0", "0"},
};

START_TEST(pod_status_like_kubectl)
{
    json_t *p = pod(cases[_i].pod);
    struct api_pod_summary s;

    api_pod_summarize(p, NOW, &s);
    ck_assert_msg(strcmp(s.status, cases[_i].status) == 0, "%s: status '%s', want '%s'",
                  cases[_i].name, s.status, cases[_i].status);
    ck_assert_msg(strcmp(s.ready, cases[_i].ready) == 0, "%s: ready '%s', want '%s'",
                  cases[_i].name, s.ready, cases[_i].ready);
    ck_assert_msg(strcmp(s.restarts, cases[_i].restarts) == 0, "%s: restarts '%s', want '%s'",
                  cases[_i].name, s.restarts, cases[_i].restarts);
    json_decref(p);
}
END_TEST

START_TEST(non_object_pod_does_not_crash)
{
    json_t *v = json_string("pod");
    struct api_pod_summary s;

    api_pod_summarize(v, NOW, &s);
    ck_assert_str_eq(s.status, "Unknown");
    api_pod_summarize(NULL, NOW, &s);
    ck_assert_str_eq(s.ready, "0/0");
    json_decref(v);
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("print_status");
    TCase *tc = tcase_create("pod");

    tcase_add_loop_test(tc, pod_status_like_kubectl, 0, N(cases));
    tcase_add_test(tc, non_object_pod_does_not_crash);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
