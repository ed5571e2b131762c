/* sched: the runner's pure helpers -- which pods this scheduler places,
 * the PodScheduled condition patch, which Node updates wake parked pods. */
#include "sched/sched.h"
#include "unit.h"

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

static const struct {
    const char *pod;
    bool want;
} wants[] = {
    {"{'metadata':{'name':'p'},'spec':{}}", true},
    {"{'metadata':{'name':'p'},'spec':{'nodeName':''}}", true},
    {"{'metadata':{'name':'p'},'spec':{'schedulerName':'default-scheduler'}}", true},
    {"{'metadata':{'name':'p'},'spec':{'schedulerName':'skiff'}}", true},
    {"{'metadata':{'name':'p'},'spec':{},'status':{'phase':'Pending'}}", true},
    {"{'metadata':{'name':'p'},'spec':{'nodeName':'n1'}}", false},
    {"{'metadata':{'name':'p'},'spec':{'schedulerName':'other'}}", false},
    {"{'metadata':{'name':'p','deletionTimestamp':'2026-01-01T00:00:00Z'},'spec':{}}", false},
    {"{'metadata':{'name':'p'},'spec':{},'status':{'phase':'Succeeded'}}", false},
    {"{'metadata':{'name':'p'},'spec':{},'status':{'phase':'Failed'}}", false},
    {"[]", false},
    {"[1]", false},
};

START_TEST(pods_without_node_for_this_scheduler_are_ours)
{
    for (size_t i = 0; i < sizeof(wants) / sizeof(wants[0]); i++) {
        json_t *pod = J(wants[i].pod);

        ck_assert_msg(sched_pod_wants_node(pod) == wants[i].want, "%s", wants[i].pod);
        json_decref(pod);
    }
    ck_assert(!sched_pod_wants_node(NULL));
}
END_TEST

static char *
patch_of(const char *pod_text, const char *status, const char *reason, const char *message)
{
    json_t *pod = J(pod_text);
    json_t *patch = sched_condition_patch(pod, status, reason, message, "NOW");
    char *s = patch ? json_dumps(patch, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

    json_decref(patch);
    json_decref(pod);
    return s;
}

START_TEST(unschedulable_condition_is_added_keeping_other_conditions)
{
    char *s = patch_of("{'status':{'conditions':[{'type':'Initialized','status':'True'}]}}",
                       "False", "Unschedulable", "0/1 nodes are available: 1 Insufficient cpu.");

    ck_assert_str_eq(s, "{\"status\":{\"conditions\":[{\"status\":\"True\",\"type\":"
                        "\"Initialized\"},{\"lastProbeTime\":null,\"lastTransitionTime\":\"NOW\","
                        "\"message\":\"0/1 nodes are available: 1 Insufficient cpu.\",\"reason\":"
                        "\"Unschedulable\",\"status\":\"False\",\"type\":\"PodScheduled\"}]}}");
    free(s);
    s = patch_of("{}", "False", "Unschedulable", "m");
    ck_assert_ptr_nonnull(strstr(s, "\"type\":\"PodScheduled\""));
    free(s);
}
END_TEST

START_TEST(same_condition_again_is_no_write)
{
    ck_assert_ptr_null(
        patch_of("{'status':{'conditions':[{'type':'PodScheduled','status':'False',"
                 "'reason':'Unschedulable','message':'m','lastTransitionTime':'T'}]}}",
                 "False", "Unschedulable", "m"));
    ck_assert_ptr_null(patch_of(
        "{'status':{'conditions':[{'type':'PodScheduled','status':'True'}]}}", "True", NULL, NULL));
}
END_TEST

START_TEST(new_message_keeps_transition_time_new_status_resets_it)
{
    const char *pod = "{'status':{'conditions':[{'type':'PodScheduled','status':'False',"
                      "'reason':'Unschedulable','message':'old','lastTransitionTime':'T0'}]}}";
    char *s = patch_of(pod, "False", "Unschedulable", "new");

    ck_assert_ptr_nonnull(strstr(s, "\"lastTransitionTime\":\"T0\""));
    ck_assert_ptr_nonnull(strstr(s, "\"message\":\"new\""));
    ck_assert_ptr_null(strstr(s, "\"old\""));
    free(s);
    s = patch_of(pod, "True", NULL, NULL);
    ck_assert_str_eq(s, "{\"status\":{\"conditions\":[{\"lastProbeTime\":null,"
                        "\"lastTransitionTime\":\"NOW\",\"status\":\"True\",\"type\":"
                        "\"PodScheduled\"}]}}");
    free(s);
}
END_TEST

static const struct {
    const char *old, *new_obj;
    bool changed;
} node_updates[] = {
    {"{'metadata':{'name':'n','resourceVersion':'1'},'status':{'conditions':[{'type':'Ready',"
     "'status':'True','lastHeartbeatTime':'a'}]}}",
     "{'metadata':{'name':'n','resourceVersion':'2'},'status':{'conditions':[{'type':'Ready',"
     "'status':'True','lastHeartbeatTime':'b'}]}}",
     false},
    {"{'status':{'conditions':[{'type':'Ready','status':'False'}]}}",
     "{'status':{'conditions':[{'type':'Ready','status':'True'}]}}", true},
    {"{'metadata':{'labels':{'a':'1'}}}", "{'metadata':{'labels':{'a':'2'}}}", true},
    {"{'metadata':{}}", "{'metadata':{'labels':{'a':'1'}}}", true},
    {"{'spec':{}}", "{'spec':{'unschedulable':true}}", true},
    {"{'spec':{'taints':[{'key':'k','effect':'NoSchedule'}]}}", "{'spec':{'taints':[]}}", true},
    {"{'status':{'allocatable':{'cpu':'1'}}}", "{'status':{'allocatable':{'cpu':'2'}}}", true},
    {"{'status':{'capacity':{'cpu':'1'}}}", "{'status':{'capacity':{'cpu':'2'}}}", true},
    {"{'status':{'allocatable':{'cpu':'1'},'images':[]}}",
     "{'status':{'allocatable':{'cpu':'1'},'images':[{'names':['x']}]}}", false},
};

START_TEST(only_node_changes_that_matter_wake_parked_pods)
{
    for (size_t i = 0; i < sizeof(node_updates) / sizeof(node_updates[0]); i++) {
        json_t *a = J(node_updates[i].old), *b = J(node_updates[i].new_obj);

        ck_assert_msg(sched_node_changed(a, b) == node_updates[i].changed, "case %zu", i);
        json_decref(a);
        json_decref(b);
    }
}
END_TEST

int
main(void)
{
    Suite *s = suite_create("sched_status");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, pods_without_node_for_this_scheduler_are_ours);
    tcase_add_test(tc, unschedulable_condition_is_added_keeping_other_conditions);
    tcase_add_test(tc, same_condition_again_is_no_write);
    tcase_add_test(tc, new_message_keeps_transition_time_new_status_resets_it);
    tcase_add_test(tc, only_node_changes_that_matter_wake_parked_pods);
    suite_add_tcase(s, tc);
    return unit_main(s);
}
