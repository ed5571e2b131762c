#!/bin/bash
test_description='node lifecycle in a real skiffd: a silent node goes Unknown and is tainted unreachable, pods are evicted after their toleration, a node that comes back is untainted, and nothing is evicted when every node looks down, pods of deleted nodes are removed'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

# heartbeat NODE STATUS AGE_S: what a node agent writes, AGE_S seconds ago
heartbeat() {
	local t
	t=$(date -u -d "-$3 sec" +%Y-%m-%dT%H:%M:%SZ)
	req "patch nodes $1 subresource=status {\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"$2\",\"lastHeartbeatTime\":\"$t\",\"lastTransitionTime\":\"$t\"}]}}" |
		grep -q "^ok"
}

# bound_pod NAME NODE TOLERATIONS
bound_pod() {
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}],\"tolerations\":$3}}" \
		"bind default $1 $2" | grep -c "^ok" | grep -qx 2
}

ready_of() {
	req "get nodes $1" | sed -n 2p | jq -r '.status.conditions[] | select(.type == "Ready") | .status'
}

taints_of() {
	req "get nodes $1" | sed -n 2p | jq -r '[.spec.taints[]? | "\(.key):\(.effect)"] | join(",")'
}

deleting() {
	get pods default "$1" | json_check '.metadata.deletionTimestamp != null' >/dev/null
}

unreach='node.kubernetes.io/unreachable'
quick="[{\"key\":\"$unreach\",\"operator\":\"Exists\",\"effect\":\"NoExecute\",\"tolerationSeconds\":1}]"
forever="[{\"key\":\"$unreach\",\"operator\":\"Exists\",\"effect\":\"NoExecute\"}]"

test_expect_success 'three nodes with fresh heartbeats and pods bound to them' '
	start_server &&
	for n in n1 n2 n3; do
		req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"$n\"}}" | grep -q "^ok" &&
		heartbeat $n True 0 || return 1
	done &&
	bound_pod quick n1 "$quick" &&
	bound_pod forever n1 "$forever" &&
	bound_pod plain n1 "[]" &&
	bound_pod other n2 "$quick" &&
	test "$(taints_of n1)" = ""
'

test_expect_success 'a node silent for the grace period: Ready Unknown, unreachable taints, NodeNotReady event' '
	heartbeat n1 True 60 &&
	wait_for "test \"\$(ready_of n1)\" = Unknown" 10 &&
	wait_for "test \"\$(taints_of n1)\" = \"$unreach:NoSchedule,$unreach:NoExecute\"" 10 &&
	wait_for "objs events default | jq -r \"select(.reason == \\\"NodeNotReady\\\") | .involvedObject.name\" | grep -qx n1" 10 &&
	test "$(ready_of n2)" = True && test "$(taints_of n2)" = ""
'

test_expect_success 'a pod tolerating unreachable for 1 s is evicted; tolerated forever or for the default 300 s stay' '
	wait_for "deleting quick" 10 &&
	objs events default | jq -r "select(.reason == \"TaintManagerEviction\") | .message" | grep -qx "Marking for deletion Pod default/quick" &&
	! deleting forever && ! deleting plain && ! deleting other
'

test_expect_success 'the node reports again: Ready, taints removed' '
	heartbeat n1 True 0 &&
	wait_for "test \"\$(ready_of n1)\" = True && test -z \"\$(taints_of n1)\"" 10
'

test_expect_success 'an agent reporting NotReady gets the not-ready taints' '
	heartbeat n3 False 0 &&
	wait_for "test \"\$(taints_of n3)\" = \"node.kubernetes.io/not-ready:NoSchedule,node.kubernetes.io/not-ready:NoExecute\"" 10 &&
	test "$(ready_of n3)" = False &&
	heartbeat n3 True 0 &&
	wait_for "test -z \"\$(taints_of n3)\"" 10
'

test_expect_success 'every node silent: tainted, but nothing is evicted until they are back' '
	bound_pod quick2 n2 "$quick" &&
	for n in n1 n2 n3; do heartbeat $n True 60 || return 1; done &&
	wait_for "test \"\$(taints_of n2)\" = \"$unreach:NoSchedule,$unreach:NoExecute\"" 10 &&
	wait_for "test \"\$(ready_of n1)\$(ready_of n3)\" = UnknownUnknown" 10 &&
	taint_at=$(date +%s) &&
	wait_for "test \$(date +%s) -ge \$((taint_at + 3))" 5 0.2 &&
	! deleting quick2 && ! deleting other &&
	heartbeat n1 True 0 && heartbeat n3 True 0 &&
	wait_for "deleting quick2 && deleting other" 10 &&
	! deleting forever && ! deleting plain
'

test_expect_success 'pods bound to a node that is gone are deleted after the 40 s quarantine' '
	bound_pod lost n9 "[]" &&
	req "delete nodes n2" | grep -q "^ok" &&
	t0=$(date +%s) &&
	wait_for "test -z \"\$(get pods default lost)\" && test -z \"\$(get pods default other)\" && test -z \"\$(get pods default quick2)\"" 70 0.5 &&
	test $(($(date +%s) - t0)) -ge 39 &&
	test -n "$(get pods default forever)" && test -n "$(get pods default plain)"
'

test_done
