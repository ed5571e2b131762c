#!/bin/bash
test_description='the Deployment controller in a real skiffd: ReplicaSets by template hash, rolling update within maxSurge/maxUnavailable at every step, rollback, scaling during a rollout, Recreate, pause/resume, history limit, progress deadline, kill -9 mid-rollout'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

# deploy NAME REPLICAS IMAGE STRATEGY [NS] [EXTRA-SPEC]
deploy() {
	local strategy='{"type":"RollingUpdate","rollingUpdate":{"maxSurge":1,"maxUnavailable":1}}'
	[ "$4" = Recreate ] && strategy='{"type":"Recreate"}'
	printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","namespace":"%s"},"spec":{"replicas":%s,%s"strategy":%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"%s"}]}}}}' \
		"$1" "${5:-default}" "$2" "$6" "$strategy" "$1" "$1" "$3"
}

set_image() {
	req "patch deployments ${3:-default} $1 {\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"$2\"}]}}}}" | grep -q "^ok"
}

# dep_counts NAME [NS]: "replicas updated ready available observedGeneration generation"
dep_counts() {
	get deployments "${2:-default}" "$1" |
		jq -r '"\(.status.replicas // 0) \(.status.updatedReplicas // 0) \(.status.readyReplicas // 0) \(.status.availableReplicas // 0) \(.status.observedGeneration // 0) \(.metadata.generation)"'
}

# rollout_done NAME N: every status count is N and the spec is observed
rollout_done() {
	set -- $(dep_counts "$1") "$2"
	test "$1 $2 $3 $4" = "$7 $7 $7 $7" && test "$5" = "$6"
}

# rss NAME: "name replicas revision" of the Deployment's ReplicaSets
rss() {
	objs replicasets default "app=$1" |
		jq -r '"\(.metadata.name) \(.spec.replicas) \(.metadata.annotations["deployment.kubernetes.io/revision"])"' | sort
}

# rs_of_image NAME IMAGE: the ReplicaSet running IMAGE
rs_of_image() {
	objs replicasets default "app=$1" | jq -r --arg i "$2" 'select(.spec.template.spec.containers[0].image == $i) | .metadata.name'
}

# condition NAME TYPE [NS]: "status reason"
condition() {
	get deployments "${3:-default}" "$1" | jq -r --arg t "$2" '.status.conditions[]? | select(.type == $t) | "\(.status) \(.reason)"'
}

# bounds_held WATCH MAXTOTAL MINREADY: every step of the recorded pod
# watch after the first MINREADY-ready state stays within the bounds.
bounds_held() {
	watch_steps "$1" >"$TEST_DIR/$1.steps" &&
	test -s "$TEST_DIR/$1.steps" &&
	awk -v max="$2" -v min="$3" '
		$2 >= min { started = 1 }
		started && ($1 > max || $2 < min) { print "step " NR ": " $0; bad = 1 }
		END { exit bad }' "$TEST_DIR/$1.steps"
}

test_expect_success 'skiffd starts; a simulated kubelet makes pods of default run and be ready' '
	start_server &&
	kubelet_start default
'

test_expect_success 'a Deployment creates a ReplicaSet named by the template hash, revision 1, and its pods' '
	req "create $(deploy web 4 nginx:1 RollingUpdate default "\"revisionHistoryLimit\":2,")" | grep -q "^ok" &&
	wait_for "rollout_done web 4" 15 &&
	rss web >out &&
	test_line_count = 1 out &&
	read name replicas revision <out &&
	hash=$(get replicasets default $name | jq -r ".metadata.labels[\"pod-template-hash\"]") &&
	test "$name" = "web-$hash" && test "$replicas $revision" = "4 1" &&
	test "$(get replicasets default $name | jq -r .spec.selector.matchLabels[\"pod-template-hash\"])" = "$hash" &&
	objs pods default app=web | jq -r ".metadata.labels[\"pod-template-hash\"]" | sort -u >hashes &&
	echo "$hash" >expect && test_cmp expect hashes
'

test_expect_success 'status: Available True, Progressing NewReplicaSetAvailable; ScalingReplicaSet event' '
	wait_for "test \"\$(condition web Available)\" = \"True MinimumReplicasAvailable\"" 10 &&
	wait_for "test \"\$(condition web Progressing)\" = \"True NewReplicaSetAvailable\"" 10 &&
	objs events default | jq -r "select(.reason == \"ScalingReplicaSet\") | .message" >ev &&
	grep -q "^Scaled up replica set web-[a-z0-9]* from 0 to 4$" ev
'

test_expect_success 'rolling update to a new image: never more than replicas+maxSurge pods, never fewer than replicas-maxUnavailable ready' '
	watch_start roll "watch pods default selector=app=web" &&
	set_image web nginx:2 &&
	wait_for "rollout_done web 4 && test \$(count_pods default app=web) = 4" 30 &&
	watch_stop roll &&
	bounds_held roll 5 3 &&
	new=$(rs_of_image web nginx:2) && old=$(rs_of_image web nginx:1) &&
	test "$(rss web)" = "$(printf "%s\n" "$new 4 2" "$old 0 1" | sort)" &&
	objs events default | jq -r "select(.reason == \"ScalingReplicaSet\") | .message" >ev &&
	grep -q "^Scaled down replica set $old from [0-9]* to 0$" ev
'

test_expect_success 'rollback by patching the template back: the old ReplicaSet comes back as revision 3' '
	old=$(rs_of_image web nginx:1) &&
	watch_start back "watch pods default selector=app=web" &&
	set_image web nginx:1 &&
	wait_for "rollout_done web 4 && test \$(count_pods default app=web) = 4 && test \"\$(get replicasets default $old | jq -r .spec.replicas)\" = 4" 30 &&
	watch_stop back &&
	bounds_held back 5 3 &&
	test "$(rss web | wc -l)" = 2 &&
	test "$(get replicasets default $old | jq -r ".metadata.annotations[\"deployment.kubernetes.io/revision\"]")" = 3 &&
	test "$(get deployments default web | jq -r ".metadata.annotations[\"deployment.kubernetes.io/revision\"]")" = 3
'

test_expect_success 'scaling during a stalled rollout grows both ReplicaSets proportionally, then the rollout finishes' '
	kubelet_stop &&
	set_image web nginx:3 &&
	wait_for "test -n \"\$(rs_of_image web nginx:3)\" && test \$(count_pods default app=web) = 5" 15 &&
	new=$(rs_of_image web nginx:3) && old=$(rs_of_image web nginx:1) &&
	n0=$(get replicasets default $new | jq .spec.replicas) &&
	o0=$(get replicasets default $old | jq .spec.replicas) &&
	req "scale deployments default web 8" | grep -q "^ok" &&
	wait_for "test \$(( \$(get replicasets default $new | jq .spec.replicas) + \$(get replicasets default $old | jq .spec.replicas) )) = 9" 15 &&
	n1=$(get replicasets default $new | jq .spec.replicas) &&
	o1=$(get replicasets default $old | jq .spec.replicas) &&
	test $n1 -gt $n0 && test $o1 -gt $o0 &&
	kubelet_start default &&
	wait_for "rollout_done web 8 && test \$(count_pods default app=web) = 8" 30 &&
	test "$(get replicasets default $old | jq .spec.replicas)" = 0
'

test_expect_success 'revisionHistoryLimit 2: older ReplicaSets scaled to 0 are deleted' '
	wait_for "test \$(rss web | wc -l) -le 3" 10 &&
	set_image web nginx:4 &&
	wait_for "rollout_done web 8 && test \$(count_pods default app=web) = 8" 30 &&
	wait_for "test \$(rss web | wc -l) = 3" 10 &&
	test -z "$(rs_of_image web nginx:2)"
'

test_expect_success 'pause holds a template change back; resume rolls it out' '
	req "patch deployments default web {\"spec\":{\"paused\":true}}" | grep -q "^ok" &&
	wait_for "test \"\$(condition web Progressing)\" = \"Unknown DeploymentPaused\"" 10 &&
	set_image web nginx:5 &&
	wait_for "test \"\$(get deployments default web | jq .status.observedGeneration)\" = \"\$(get deployments default web | jq .metadata.generation)\"" 10 &&
	test -z "$(rs_of_image web nginx:5)" &&
	req "patch deployments default web {\"spec\":{\"paused\":false}}" | grep -q "^ok" &&
	wait_for "rollout_done web 8 && test -n \"\$(rs_of_image web nginx:5)\" && test \$(count_pods default app=web) = 8" 30
'

test_expect_success 'Recreate: the old pods are all gone before a new one is created' '
	req "create $(deploy rec 3 busybox:1 Recreate)" | grep -q "^ok" &&
	wait_for "rollout_done rec 3" 15 &&
	watch_start rec "watch pods default selector=app=rec" &&
	set_image rec busybox:2 &&
	wait_for "rollout_done rec 3 && test -n \"\$(rs_of_image rec busybox:2)\" && test \$(count_pods default app=rec) = 3" 30 &&
	watch_stop rec &&
	watch_steps rec >steps &&
	test -s steps &&
	! awk "\$3 > 1" steps | grep . &&
	test "$(objs pods default app=rec | jq -r .spec.containers[0].image | sort -u)" = busybox:2
'

test_expect_success 'progressDeadlineSeconds: a rollout that makes no progress is reported ProgressDeadlineExceeded' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"slow\"}}" | grep -q "^ok" &&
	req "create $(deploy stuck 2 nginx:1 RollingUpdate slow "\"progressDeadlineSeconds\":2,")" | grep -q "^ok" &&
	wait_for "test \"\$(condition stuck Progressing slow)\" = \"False ProgressDeadlineExceeded\"" 15 &&
	test "$(condition stuck Available slow)" = "False MinimumReplicasUnavailable"
'

test_expect_success 'kill -9 in the middle of a rollout: the restarted controllers finish it without duplicates' '
	kubelet_stop &&
	set_image web nginx:6 &&
	wait_for "test -n \"\$(rs_of_image web nginx:6)\" && test \$(count_pods default app=web) = 9" 15 &&
	stop_daemon skiffd KILL;
	start_server &&
	watch_start crash "watch pods default selector=app=web" &&
	kubelet_start default &&
	wait_for "rollout_done web 8 && test \$(count_pods default app=web) = 8" 40 &&
	watch_stop crash &&
	bounds_held crash 9 7 &&
	new=$(rs_of_image web nginx:6) &&
	test "$(objs pods default app=web | jq -r .metadata.ownerReferences[0].name | sort | uniq -c | awk "{print \$1, \$2}")" = "8 $new" &&
	test "$(rss web | wc -l)" = 3
'

test_done
