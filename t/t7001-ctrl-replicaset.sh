#!/bin/bash
test_description='the ReplicaSet and Endpoints controllers in a real skiffd: replicas kept, least valuable pods deleted first, a deleted pod replaced, orphans adopted and released, status, endpoints following readiness, restart without duplicates'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

# rs NAME REPLICAS [APP]
rs() {
	printf '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"%s","namespace":"default"},"spec":{"replicas":%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx","ports":[{"name":"http","containerPort":8080}]}]}}}}' \
		"$1" "$2" "${3:-$1}" "${3:-$1}"
}

# rs_counts NAME: "replicas ready available observedGeneration"
rs_counts() {
	get replicasets default "$1" | jq -r '.status | "\(.replicas) \(.readyReplicas) \(.availableReplicas) \(.observedGeneration)"'
}

# events REASON: the messages of the events with that reason, sorted
events() {
	objs events default | jq -r --arg r "$1" 'select(.reason == $r) | .message' | sort
}

test_expect_success 'skiffd starts with the controller manager on the leader' '
	start_server &&
	wait_for "grep -q \"controller manager started\" \"$TEST_DIR/skiffd.log\"" 10
'

test_expect_success 'a ReplicaSet creates its replicas from the template with generateName and a controller reference' '
	req "create $(rs web 3)" | grep -q "^ok 1 rev=[0-9]* created" &&
	wait_for "test \$(count_pods default app=web) = 3" 10 &&
	uid=$(get replicasets default web | jq -r .metadata.uid) &&
	objs pods default app=web >pods &&
	test "$(jq -r .metadata.generateName pods | sort -u)" = web- &&
	jq -r .metadata.name pods | grep -qE "^web-[a-z0-9]{5}$" &&
	test "$(jq -r ".metadata.ownerReferences[0] | \"\(.kind) \(.name) \(.uid) \(.controller) \(.blockOwnerDeletion)\"" pods | sort -u)" = "ReplicaSet web $uid true true" &&
	wait_for "test \"\$(rs_counts web)\" = \"3 0 0 1\"" 10
'

test_expect_success 'SuccessfulCreate events name the pods' '
	wait_for "test \$(events SuccessfulCreate | grep -c \"^Created pod: web-\") = 3" 10 &&
	objs events default | jq -r "select(.reason == \"SuccessfulCreate\") | .source.component" | sort -u | grep -qx replicaset-controller
'

test_expect_success 'status follows readiness: readyReplicas and availableReplicas' '
	for p in $(live_pods default app=web); do pod_status default $p True || return 1; done &&
	wait_for "test \"\$(rs_counts web)\" = \"3 3 3 1\"" 10
'

test_expect_success 'scaling up adds pods; scaling down deletes the not-ready ones first' '
	live_pods default app=web >ready &&
	req "scale replicasets default web 5" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 5" 10 &&
	req "scale replicasets default web 3" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 3" 10 &&
	live_pods default app=web >left &&
	test_cmp ready left &&
	wait_for "test \$(events SuccessfulDelete | grep -c \"^Deleted pod: web-\") = 2" 10 &&
	wait_for "test \"\$(rs_counts web)\" = \"3 3 3 3\"" 10
'

test_expect_success 'a deleted pod is replaced' '
	victim=$(live_pods default app=web | head -n 1) &&
	req "delete pods default $victim" | grep -q "^ok 1 rev=[0-9]* deleted" &&
	wait_for "test \$(count_pods default app=web) = 3 && ! live_pods default app=web | grep -qx $victim" 10 &&
	wait_for "test \$(count_pods default app=web) = 3" 2
'

test_expect_success 'a matching orphan is adopted (and the surplus deleted)' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"stray\",\"namespace\":\"default\",\"labels\":{\"app\":\"web\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 3" 10 &&
	wait_for "! live_pods default app=web | grep -qx stray || test \"\$(get pods default stray | jq -r .metadata.ownerReferences[0].name)\" = web" 10 &&
	objs pods default app=web | jq -r "select(.metadata.deletionTimestamp == null) | .metadata.ownerReferences[0].name" | sort -u >owners &&
	echo web >expect && test_cmp expect owners
'

test_expect_success 'a pod whose labels stop matching is released and replaced' '
	p=$(live_pods default app=web | head -n 1) &&
	req "patch pods default $p {\"metadata\":{\"labels\":{\"app\":\"other\"}}}" | grep -q "^ok" &&
	wait_for "test \"\$(get pods default $p | jq -r \".metadata.ownerReferences // [] | length\")\" = 0" 10 &&
	wait_for "test \$(count_pods default app=web) = 3" 10 &&
	req "delete pods default $p" | grep -q "^ok"
'

svc='{"apiVersion":"v1","kind":"Service","metadata":{"name":"web","namespace":"default"},"spec":{"selector":{"app":"web"},"ports":[{"name":"http","port":80,"targetPort":"http"}]}}'

ep_addrs() {
	get endpoints default web | jq -r "[.subsets[]?.$1[]?.ip] | sort | join(\",\")"
}

ready_ips() {
	objs pods default app=web | jq -rs --arg r "$1" '[.[] | select(.metadata.deletionTimestamp == null and ([.status.conditions[]? | select(.type == "Ready") | .status] | first) == $r) | .status.podIP] | sort | join(",")'
}

test_expect_success 'Endpoints list the ready pod IPs with the named target port resolved' '
	for p in $(live_pods default app=web); do pod_status default $p True || return 1; done &&
	req "create $svc" | grep -q "^ok" &&
	wait_for "test -n \"\$(ep_addrs addresses)\" && test \"\$(ep_addrs addresses)\" = \"\$(ready_ips True)\"" 10 &&
	test "$(get endpoints default web | jq -cS "[.subsets[].ports[]]")" = "[{\"name\":\"http\",\"port\":8080,\"protocol\":\"TCP\"}]"
'

test_expect_success 'Endpoints follow readiness: a not-ready pod moves to notReadyAddresses, a deleted one goes' '
	p=$(live_pods default app=web | head -n 1) &&
	ip=$(pod_ip $p) &&
	pod_status default $p False &&
	wait_for "test \"\$(ep_addrs notReadyAddresses)\" = $ip" 10 &&
	! ep_addrs addresses | grep -q "$ip" &&
	pod_status default $p True &&
	wait_for "ep_addrs addresses | grep -q $ip && test -z \"\$(ep_addrs notReadyAddresses)\"" 10 &&
	req "delete pods default $p" | grep -q "^ok" &&
	wait_for "! get endpoints default web | grep -q \"$ip\"" 10
'

test_expect_success 'Endpoints go with their Service' '
	req "delete services default web" | grep -q "^ok" &&
	wait_for "test -z \"\$(get endpoints default web)\"" 10
'

test_expect_success 'kill -9 right after creating a ReplicaSet: the restarted controllers create exactly the replicas' '
	req "create $(rs burst 10)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=burst) -ge 1" 10 &&
	stop_daemon skiffd KILL;
	start_server &&
	wait_for "test \$(count_pods default app=burst) = 10" 20 &&
	wait_for "test \$(count_pods default app=web) = 3" 10 &&
	wait_for "get replicasets default burst | json_check \".status.replicas == 10\"" 10 &&
	test "$(count_pods default app=burst)" = 10 &&
	test "$(count_pods default app=web)" = 3
'

test_expect_success 'after the restart the controllers still act: scale down to 4' '
	req "scale replicasets default burst 4" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=burst) = 4" 10
'

test_done
