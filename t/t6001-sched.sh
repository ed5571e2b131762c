#!/bin/bash
test_description='the scheduler inside skiffd server: binds pods to fitting nodes (resources, nodeSelector, taints), explains unschedulable pods, re-queues on a new node, runs only on the Raft leader and survives its loss'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock

# node NAME CPU MEMORY [TAINTS-JSON] [LABELS-JSON]: a Ready Node object.
node() {
	printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"%s","labels":{"kubernetes.io/hostname":"%s"%s}},"spec":{"taints":%s},"status":{"capacity":{"cpu":"%s","memory":"%s","pods":"110"},"allocatable":{"cpu":"%s","memory":"%s","pods":"110"},"conditions":[{"type":"Ready","status":"True"}]}}' \
		"$1" "$1" "${5:+,$5}" "${4:-[]}" "$2" "$3" "$2" "$3"
}

# pod NAME CPU [EXTRA-SPEC-JSON]: a pod requesting CPU and 64Mi.
pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{%s"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"%s","memory":"64Mi"}}}]}}' \
		"$1" "${3:+$3,}" "$2"
}

# node_of POD: the pod's spec.nodeName, empty when unbound.
node_of() {
	req "get pods default $1" | sed -n 's/.*"nodeName":"\([^"]*\)".*/\1/p'
}

bound() {
	test -n "$(node_of "$1")"
}

test_expect_success 'skiffd starts; nodes with different sizes, labels and taints' '
	start_daemon skiffd skiffd server --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 \
		--set scheduler.backoff-initial=100ms --set scheduler.backoff-max=500ms &&
	wait_for "req \"list namespaces\" | grep -q \"^ok 4 \"" 10 &&
	req "create $(node small 1 1Gi)" \
	    "create $(node big 8 16Gi)" \
	    "create $(node ssd 2 4Gi "" "\"disk\":\"ssd\"")" \
	    "create $(node gpu 16 64Gi "[{\"key\":\"dedicated\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]")" >out &&
	test "$(grep -c "^ok 1 rev=[0-9]* created" out)" = 4
'

test_expect_success 'a pod that only the big node can hold is bound there' '
	req "create $(pod web 6)" | grep -q "^ok 1" &&
	wait_for "bound web" 10 &&
	test "$(node_of web)" = big
'

test_expect_success 'nodeSelector picks the labelled node' '
	req "create $(pod db 100m "\"nodeSelector\":{\"disk\":\"ssd\"}")" | grep -q "^ok 1" &&
	wait_for "bound db" 10 &&
	test "$(node_of db)" = ssd
'

test_expect_success 'a toleration admits the tainted node; without it the pod avoids it' '
	req "create $(pod train 12 "\"tolerations\":[{\"key\":\"dedicated\",\"operator\":\"Equal\",\"value\":\"gpu\",\"effect\":\"NoSchedule\"}]")" \
	    "create $(pod plain 100m)" >out &&
	test "$(grep -c "^ok 1" out)" = 2 &&
	wait_for "bound train && bound plain" 10 &&
	test "$(node_of train)" = gpu &&
	test "$(node_of plain)" != gpu
'

test_expect_success 'a successful bind records a Scheduled event' '
	wait_for "req \"list events default\" | grep -q \"Successfully assigned default/web to big\"" 10 &&
	req "list events default" | grep "Successfully assigned default/web to big" |
		grep -q "\"reason\":\"Scheduled\""
'

test_expect_success 'a pod that fits nowhere gets PodScheduled=False with the explanation and a FailedScheduling event' '
	req "create $(pod huge 20)" | grep -q "^ok 1" &&
	wait_for "req \"get pods default huge\" | grep -q \"\\\"reason\\\":\\\"Unschedulable\\\"\"" 10 &&
	req "get pods default huge" >out &&
	grep -q "\"type\":\"PodScheduled\",\"status\":\"False\"" out &&
	grep -q "\"message\":\"0/4 nodes are available: 3 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}.\"" out &&
	! bound huge &&
	wait_for "req \"list events default\" | grep \"FailedScheduling\" | grep -q \"0/4 nodes are available\"" 10 &&
	req "list events default" | grep "FailedScheduling" | grep -q "\"type\":\"Warning\""
'

test_expect_success 'the unschedulable pod is bound once a fitting node is added' '
	req "create $(node huge-node 32 64Gi)" | grep -q "^ok 1" &&
	wait_for "bound huge" 10 &&
	test "$(node_of huge)" = huge-node &&
	wait_for "req \"get pods default huge\" | grep -q \"\\\"type\\\":\\\"PodScheduled\\\",\\\"status\\\":\\\"True\\\"\"" 10
'

test_expect_success 'freed resources let a waiting pod in: deleting a bound pod re-queues it' '
	req "create $(pod big2 7)" | grep -q "^ok 1" &&
	wait_for "bound big2" 10 &&
	req "create $(pod big3 25)" | grep -q "^ok 1" &&
	wait_for "req \"get pods default big3\" | grep -q Unschedulable" 10 &&
	req "delete pods default huge grace=0" | grep -q "^ok 1" &&
	wait_for "bound big3" 10 &&
	test "$(node_of big3)" = huge-node
'

test_expect_success 'pods for another scheduler and pods with nodeName are left alone' '
	req "create $(pod other 100m "\"schedulerName\":\"someone-else\"")" \
	    "create $(pod pinned 100m "\"nodeName\":\"small\"")" >out &&
	test "$(grep -c "^ok 1" out)" = 2 &&
	req "create $(pod marker 100m)" | grep -q "^ok 1" &&
	wait_for "bound marker" 10 &&
	! bound other &&
	test "$(node_of pinned)" = small
'

# bound_many: how many many-N pods have a node.
bound_many() {
	req "list pods default fields=spec.nodeName!%3D" | grep -o "\"name\":\"many-[0-9]*\"" | sort -u | wc -l
}

# overcommitted: print nodes whose pods request more cpu (in m) than allocatable.
overcommitted() {
	req "list pods" | sed 1d | jq -r "select(.spec.nodeName) |
		[.spec.nodeName, (.spec.containers[0].resources.requests.cpu |
		 if endswith(\"m\") then rtrimstr(\"m\") | tonumber else tonumber * 1000 end)] | @tsv" |
		awk "{ s[\$1] += \$2 } END { for (n in s) print n, s[n] }" | sort >use &&
	req "list nodes" | sed 1d | jq -r "[.metadata.name, (.status.allocatable.cpu | tonumber * 1000)] | @tsv" |
		sort >alloc &&
	join use alloc | awk "\$2 > \$3"
}

test_expect_success 'many pods are bound at once, and no node is overcommitted' '
	req "create $(node pool 4 8Gi)" | grep -q "^ok 1" &&
	for i in $(seq 1 30); do echo "create $(pod many-$i 200m)"; done >lines &&
	timeout 20 nc.openbsd -N -U "$SOCK" <lines >out &&
	test "$(grep -c "^ok 1" out)" = 30 &&
	wait_for "test \$(bound_many) = 30" 20 &&
	overcommitted >over &&
	test_line_count = 0 over
'

test_expect_success 'a bind race with another binder leaves each pod on one node, resources counted once' '
	req "create $(node race 4 8Gi)" | grep -q "^ok 1" &&
	for i in $(seq 1 20); do
		echo "create $(pod racer-$i 50m)" && echo "bind default racer-$i race"
	done >lines &&
	timeout 20 nc.openbsd -N -U "$SOCK" <lines >out &&
	test "$(grep -c "^ok 1 rev=[0-9]* created" out)" = 20 &&
	wait_for "test \$(req \"list pods default fields=spec.nodeName!%3D\" | grep -o \"\\\"name\\\":\\\"racer-[0-9]*\\\"\" | sort -u | wc -l) = 20" 20 &&
	overcommitted >over &&
	test_line_count = 0 over &&
	req "create $(pod after-race 100m)" | grep -q "^ok 1" &&
	wait_for "bound after-race" 10
'

test_expect_success 'the single server stops cleanly' '
	stop_daemon skiffd &&
	grep -q "scheduler started" "$TEST_DIR/skiffd.log"
'

for i in 1 2 3; do
	eval "P$i=$(free_port)"
done
P2=$((P1 + 1)) P3=$((P1 + 2))
PEERS="m1=127.0.0.1:$P1,m2=127.0.0.1:$P2,m3=127.0.0.1:$P3"
head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"

member() {
	local n=$1 port
	eval "port=\$P$n"
	start_daemon "m$n" skiffd server --set controllers.enabled=false --socket "$TEST_DIR/s$n.sock" --listen "" \
		--data-dir "$TEST_DIR/d$n" --set server.name=m$n \
		--set server.peer-listen=127.0.0.1:$port --set server.peers=$PEERS \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms
}

leader_of() {
	skiff -s "$TEST_DIR/s$1.sock" kv status 2>/dev/null | sed -n 's/.*"leader":"m\([0-9]\)".*/\1/p'
}

# on N LINE...: req against member N.
on() {
	local n=$1
	shift
	REQ_SOCK=$TEST_DIR/s$n.sock req "$@"
}

bound_on() {
	REQ_SOCK=$TEST_DIR/s$1.sock bound "$2"
}

test_expect_success 'a 3-member control plane schedules, only on the leader' '
	member 1 && member 2 && member 3 &&
	wait_for "test -n \"\$(leader_of 1)\" && test \"\$(leader_of 1)\" = \"\$(leader_of 2)\" && test \"\$(leader_of 2)\" = \"\$(leader_of 3)\"" 15 &&
	L=$(leader_of 1) && echo "$L" >leader &&
	wait_for "on $L \"list namespaces\" | grep -q \"^ok 4 \"" 10 &&
	wait_for "grep -q \"scheduler started\" \"$TEST_DIR/m$L.log\"" 10 &&
	on $L "create $(node n1 4 8Gi)" "create $(node n2 4 8Gi)" >out &&
	test "$(grep -c "^ok 1" out)" = 2 &&
	F=$(( L % 3 + 1 )) &&
	on $F "create $(pod c1 1)" | grep -q "^ok 1" &&
	wait_for "bound_on $F c1" 10 &&
	for n in 1 2 3; do
		if [ "$n" = "$L" ]; then
			grep -q "scheduler started" "$TEST_DIR/m$n.log" || return 1
		else
			! grep -q "scheduler started" "$TEST_DIR/m$n.log" || return 1
		fi
	done
'

test_expect_success 'after the leader is killed the new leader schedules' '
	L=$(cat leader) &&
	stop_daemon m$L KILL;
	A=$(( L % 3 + 1 )) && B=$(( A % 3 + 1 )) &&
	wait_for "N=\$(leader_of $A) && test -n \"\$N\" && test \"\$N\" != $L" 15 &&
	N=$(leader_of $A) &&
	wait_for "grep -q \"scheduler started\" \"$TEST_DIR/m$N.log\"" 10 &&
	pod c2 1 >c2.json &&
	wait_for "on $A \"create \$(cat c2.json)\" | grep -Eq \"^ok 1|AlreadyExists\"" 10 &&
	wait_for "bound_on $B c2" 10 &&
	on $B "get pods default c2" | grep -Eq "\"nodeName\":\"n[12]\""
'

test_expect_success 'a leader that loses leadership stops its scheduler; the new leader binds' '
	L=$(cat leader) &&
	member $L &&
	A=$(( L % 3 + 1 )) && B=$(( A % 3 + 1 )) &&
	N=$(leader_of $A) && test -n "$N" &&
	wait_for "test \"\$(leader_of $L)\" = $N" 15 &&
	O=$(( N % 3 + 1 )) && [ $O != $N ] &&
	pid=$(daemon_pid m$N) &&
	test_when_finished "kill -CONT $pid" &&
	kill -STOP $pid &&
	wait_for "M=\$(leader_of $O) && test -n \"\$M\" && test \"\$M\" != $N" 15 &&
	kill -CONT $pid &&
	wait_for "grep -q \"scheduler stopped\" \"$TEST_DIR/m$N.log\"" 10 &&
	M=$(leader_of $O) &&
	wait_for "grep -q \"scheduler started\" \"$TEST_DIR/m$M.log\"" 10 &&
	pod c3 1 >c3.json &&
	wait_for "on $O \"create \$(cat c3.json)\" | grep -Eq \"^ok 1|AlreadyExists\"" 10 &&
	wait_for "bound_on $O c3" 10
'

test_done
