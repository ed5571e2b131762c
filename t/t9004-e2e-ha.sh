#!/bin/bash
test_description='end to end on the 3+3 lab cluster: kill -9 of the Raft leader during a rolling update: a new leader within seconds, the rollout completes, no acknowledged write lost, no duplicate pods; a worker whose server dies goes on through the others'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"

. "$SRCDIR/t/lab-cluster"
LC_DIR=$TEST_DIR/lab
LC_TAG=$LAB_TAG
at_exit lc_down

# k MEMBER ARGS...: the CLI on that member's socket
k() { lc_skiff "$@"; }

# live MEMBER: "name hash phase ready" of the live pods of app=roll
live() {
	k "$1" get pods -l app=roll -o json |
		jq -r '.items[] | select(.metadata.deletionTimestamp == null) |
			"\(.metadata.name) \(.metadata.labels["pod-template-hash"]) \(.status.phase) \([.status.conditions[]? | select(.type == "Ready") | .status] | first // "False")"'
}

# done_with MEMBER HASH: 4 live pods, all of HASH, Running and Ready
done_with() {
	live "$1" >live.now &&
		test "$(wc -l <live.now)" -eq 4 &&
		test "$(grep -c " $2 Running True$" live.now)" -eq 4
}

deploy() { # VERSION
	cat <<-EOF
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: roll}
	spec:
	  replicas: 4
	  selector: {matchLabels: {app: roll}}
	  strategy: {rollingUpdate: {maxSurge: 1, maxUnavailable: 0}}
	  template:
	    metadata: {labels: {app: roll}}
	    spec:
	      terminationGracePeriodSeconds: 1
	      containers:
	      - name: c
	        image: busybox:test
	        env: [{name: VERSION, value: "$1"}]
	        command: [sh, -c, 'trap "exit 0" TERM; sleep 1; touch /tmp/ready; while :; do sleep 1; done']
	        readinessProbe: {exec: {command: [cat, /tmp/ready]}, periodSeconds: 1}
	EOF
}

# writer MEMBER: put ha/1, ha/2, ... through MEMBER until stopped; the
# acknowledged ones are appended to acked.
writer() {
	local i=0
	while [ ! -e "$TEST_DIR/writer.stop" ]; do
		i=$((i + 1))
		if timeout 5 skiff -s "$(lc_sock "$1")" kv put "ha/$i" "v$i" >/dev/null 2>&1; then
			echo "$i" >>"$TEST_DIR/acked"
		fi
		sleep 0.02
	done
}

test_expect_success 'the lab cluster and a Deployment of 4, all Ready' '
	lc_up &&
	leader=$(lc_leader) && case $leader in c[123]) ;; *) false ;; esac &&
	deploy 1 | k c1 apply -f - &&
	wait_for "live c1 | grep -c \" Running True$\" | grep -qx 4" 60 0.2 &&
	old=$(live c1 | head -n 1 | cut -d" " -f2) && test -n "$old"
'

test_expect_success 'kill -9 of the leader during the rollout: a new leader within seconds' '
	survivor=c1 && { [ "$leader" != c1 ] || survivor=c2; } &&
	(writer "$survivor" &
	 echo $! >"$TEST_DIR/writer.pid") &&
	at_exit "touch $TEST_DIR/writer.stop" &&
	wait_for "test -s acked" 10 &&
	deploy 2 | k "$survivor" apply -f - | grep -q configured &&
	wait_for "live $survivor | grep -v \" $old \" | grep -q ." 30 0.1 &&
	kill -9 "$(lc_pid "$leader")" &&
	t0=$(date +%s%N) &&
	rm -f "$LC_DIR/run/$leader.pid" &&
	wait_for "lc_leader | grep -qv \"^$leader\$\"" 10 0.1 &&
	t1=$(date +%s%N) &&
	new=$(lc_leader) && test "$new" != "$leader" &&
	say "new leader $new after $(( (t1 - t0) / 1000000 )) ms" &&
	test $(( (t1 - t0) / 1000000 )) -lt 5000 &&
	lc_start "$leader"
'

test_expect_success 'the rollout completes: 4 pods of the new template, Ready, no old pod, no extra pod' '
	wait_for "lc_leader >/dev/null" 20 0.2 &&
	wait_for "k $survivor get pods -l app=roll -o json | json_check \"[.items[] | select(.spec.containers[0].env[0].value == \\\"2\\\")] | length >= 1\"" 30 0.2 &&
	hash=$(k "$survivor" get pods -l app=roll -o json | jq -r "[.items[] | select(.spec.containers[0].env[0].value == \"2\")][0].metadata.labels[\"pod-template-hash\"]") &&
	test -n "$hash" && test "$hash" != "$old" &&
	wait_for "done_with $survivor $hash" 90 0.3 &&
	k "$survivor" get pods -l app=roll -o json >pods.json &&
	test "$(jq "[.items[].metadata.name] | unique | length" pods.json)" -eq "$(jq ".items | length" pods.json)" &&
	k "$survivor" get replicasets -l app=roll -o json >rs.json &&
	jq -e "[.items[] | select(.metadata.labels[\"pod-template-hash\"] != \"$hash\") | .spec.replicas] | all(. == 0)" rs.json &&
	jq -e "[.items[] | select(.metadata.labels[\"pod-template-hash\"] == \"$hash\")] | length == 1" rs.json &&
	k "$survivor" get deployments roll -o json | json_check ".spec.template.spec.containers[0].env[0].value == \"2\""
'

test_expect_success 'no acknowledged write lost: every acked key on all three members, the restarted one too' '
	touch writer.stop &&
	wait_for "! kill -0 $(cat writer.pid)" 10 0.1 &&
	n=$(wc -l <acked) && test "$n" -gt 10 &&
	say "$n writes acknowledged" &&
	for m in c1 c2 c3; do
		wait_for "k $m kv get ha/$(tail -n 1 acked) serializable | grep -qx v$(tail -n 1 acked)" 20 0.2 &&
		k "$m" kv range ha/ + serializable >"kv.$m" || return 1
		while read -r i; do
			grep -q "\"key\":\"ha/$i\",\"value\":\"v$i\"" "kv.$m" || { echo "$m lost ha/$i"; return 1; }
		done <acked
	done
'

test_expect_success 'a worker whose API server dies goes on through the next one of its list' '
	# w1 talks to c1 first (t/lab-cluster); c1 is killed for good
	other=c2 &&
	kill -9 "$(lc_pid c1)" && rm -f "$LC_DIR/run/c1.pid" &&
	t=$(date -u +%Y-%m-%dT%H:%M:%SZ) &&
	wait_for "k $other get nodes w1 -o json | json_check \"[.status.conditions[] | select(.type == \\\"Ready\\\") | .lastHeartbeatTime > \\\"$t\\\"] | any\"" 30 0.5 &&
	grep -q "server .* lost: now .*:6443" "$LC_DIR/log/w1.log" &&
	k $other get nodes w1 | grep -q " Ready "
'

test_done
