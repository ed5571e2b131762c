#!/bin/bash
test_description='the controller manager runs on the Raft leader only: a new leader takes over, a deposed one stops its controllers, the ReplicaSet converges without duplicates'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"
P1=$(free_port)
P2=$((P1 + 1)) P3=$((P1 + 2))
PEERS="m1=127.0.0.1:$P1,m2=127.0.0.1:$P2,m3=127.0.0.1:$P3"

member() {
	local port
	eval "port=\$P$1"
	start_daemon "m$1" skiffd server --set scheduler.enabled=false --socket "$TEST_DIR/s$1.sock" --listen "" \
		--data-dir "$TEST_DIR/d$1" --set server.name=m$1 \
		--set server.peer-listen=127.0.0.1:$port --set server.peers=$PEERS \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms
}

# on N: talk to member mN from now on
on() {
	SOCK=$TEST_DIR/s$1.sock
}

leader_of() {
	skiff -s "$TEST_DIR/s$1.sock" kv status 2>/dev/null | sed -n 's/.*"leader":"m\([0-9]\)".*/\1/p'
}

# agree N...: the members listed name the same leader; print its number
agree() {
	local l="" n x
	for n in "$@"; do
		x=$(leader_of "$n")
		[ -n "$x" ] || return 1
		[ -z "$l" ] || [ "$l" = "$x" ] || return 1
		l=$x
	done
	echo "$l"
}

started() {
	grep -c "controller manager started" "$TEST_DIR/m$1.log"
}

rs='{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"web","namespace":"default"},"spec":{"replicas":3,"selector":{"matchLabels":{"app":"web"}},"template":{"metadata":{"labels":{"app":"web"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}'

test_expect_success 'three members; only the leader starts the controller manager' '
	member 1 && member 2 && member 3 &&
	wait_for "agree 1 2 3" 15 &&
	L=$(agree 1 2 3) && echo $L >leader &&
	wait_for "test \$(started $L) = 1" 10 &&
	for n in 1 2 3; do
		test $n = $L || test "$(started $n)" = 0 || return 1
	done
'

test_expect_success 'the leader'\''s controllers create the replicas' '
	L=$(cat leader) && on $L &&
	wait_for "req \"list namespaces\" | grep -q \"^ok [1-9]\"" 10 &&
	req "create $rs" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 3" 10
'

test_expect_success 'leader frozen: a new leader starts its controllers and they act' '
	L=$(cat leader) &&
	others=$(echo 1 2 3 | tr " " "\n" | grep -vx $L | tr "\n" " ") &&
	kill -STOP $(daemon_pid m$L) &&
	test_when_finished "kill -CONT $(daemon_pid m$L) 2>/dev/null" &&
	wait_for "agree $others | grep -vqx $L" 15 &&
	N=$(agree $others) && echo $N >new &&
	wait_for "test \$(started $N) = 1" 10 &&
	on $N &&
	req "scale replicasets default web 5" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 5" 10
'

test_expect_success 'the old leader, thawed, stops its controllers; the count stays exact' '
	L=$(cat leader) && N=$(cat new) &&
	kill -CONT $(daemon_pid m$L) &&
	wait_for "grep -q \"not leading: controller manager stopped\" \"$TEST_DIR/m$L.log\"" 15 &&
	on $N &&
	wait_for "test \$(count_pods default app=web) = 5" 10 &&
	req "scale replicasets default web 2" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 2" 10 &&
	test "$(started $N)" = 1
'

test_done
