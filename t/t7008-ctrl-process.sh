#!/bin/bash
test_description='skiffd controllers: the controller manager as processes of their own, one leading through the Lease kube-system/skiff-controllers; a frozen or killed leader is replaced and the replica counts stay exact'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

PORT=$(free_port)
TOKENS=$TEST_DIR/tokens.csv

# ctl N: start candidate cN on the server's socket (a 2 s lease)
ctl() {
	start_daemon "c$1" skiffd controllers --server "$SOCK" --set controllers.lease-duration=2s
}

# ctl_tcp N: candidate cN over TCP with the controller manager's token
ctl_tcp() {
	start_daemon "c$1" skiffd controllers --server "127.0.0.1:$PORT" \
		--set controllers.token-file="$TEST_DIR/ctrl-token" --set controllers.lease-duration=2s
}

# holder: the pid in the Lease's holderIdentity ("host_pid"), or nothing
holder() {
	get leases kube-system skiff-controllers | jq -r '.spec.holderIdentity // ""' | sed -n 's/.*_\([0-9]*\)$/\1/p'
}

# leader: the N of the candidate holding the Lease
leader() {
	local h n
	h=$(holder)
	[ -n "$h" ] || return 1
	for n in 1 2 3; do
		[ "$(daemon_pid "c$n")" = "$h" ] && echo "$n" && return 0
	done
	return 1
}

started() {
	grep -c "controller manager started" "$TEST_DIR/c$1.log"
}

rs() {
	echo "{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"default\"},\"spec\":{\"replicas\":$2,\"selector\":{\"matchLabels\":{\"app\":\"$1\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"$1\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}"
}

# all_pods SELECTOR: every pod object, terminating ones included
all_pods() {
	objs pods default "$1" | wc -l
}

test_expect_success 'without --server, skiffd controllers says what is missing' '
	test_expect_code 2 skiffd controllers 2>err &&
	grep -q "no API server: give --server" err &&
	test_expect_code 2 skiffd controllers --server "" 2>err &&
	grep -q "no API server: give --server" err
'

test_expect_success 'a malformed address or a missing token file is refused at once' '
	test_expect_code 1 skiffd controllers --server "bad:port:x" 2>err &&
	grep -q "server .bad:port:x.: address" err &&
	test_expect_code 1 skiffd controllers --server "$SOCK" \
		--set controllers.token-file="$TEST_DIR/none" 2>err &&
	grep -q "controllers.token-file .*none.: No such file" err
'

test_expect_success 'an unreachable server is reported, and retried' '
	start_daemon bad skiffd controllers --server "$TEST_DIR/nothing.sock" &&
	wait_for "grep -q \"cannot reach the API server .*nothing.sock\" \"$TEST_DIR/bad.log\"" 10 &&
	kill -0 $(daemon_pid bad) &&
	stop_daemon bad
'

test_expect_success 'a server with controllers off runs none itself' '
	echo "cmtok,system:kube-controller-manager,3001,\"\"" >"$TOKENS" &&
	chmod 600 "$TOKENS" &&
	echo cmtok >"$TEST_DIR/ctrl-token" &&
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false \
		--socket "$SOCK" --listen "127.0.0.1:$PORT" --set server.token-file="$TOKENS" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok [1-9]\"" 10 &&
	req "create $(rs web 3)" | grep -q "^ok" &&
	! grep -q "controller manager started" "$TEST_DIR/skiffd.log" &&
	test "$(all_pods app=web)" = 0
'

test_expect_success 'two skiffd controllers: exactly one leads and reconciles' '
	ctl 1 && ctl 2 &&
	wait_for "leader" 20 0.2 &&
	L=$(leader) && echo $L >leader &&
	F=$((3 - L)) &&
	wait_for "test \$(started $L) = 1" 10 &&
	grep -q "lease .kube-system/skiff-controllers. acquired" "$TEST_DIR/c$L.log" &&
	wait_for "test \$(count_pods default app=web) = 3" 20 &&
	test "$(started $F)" = 0 &&
	test "$(leader)" = $L
'

test_expect_success 'the leader frozen: the other takes over and acts; thawed, the old one stops' '
	L=$(cat leader) && F=$((3 - L)) &&
	kill -STOP $(daemon_pid c$L) &&
	test_when_finished "kill -CONT $(daemon_pid c$L) 2>/dev/null" &&
	wait_for "test \"\$(leader)\" = $F" 20 0.2 &&
	wait_for "test \$(started $F) = 1" 10 &&
	req "scale replicasets default web 5" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=web) = 5" 20 &&
	kill -CONT $(daemon_pid c$L) &&
	wait_for "grep -q \"lease .kube-system/skiff-controllers. lost\" \"$TEST_DIR/c$L.log\"" 20 &&
	test "$(leader)" = $F &&
	test "$(all_pods app=web)" = 5 &&
	echo $F >leader
'

test_expect_success 'kill -9 the leader: the other takes over within the lease and reconciles a new ReplicaSet' '
	L=$(cat leader) && F=$((3 - L)) &&
	kill -KILL $(daemon_pid c$L) &&
	wait_for "test \"\$(leader)\" = $F" 20 0.2 &&
	req "create $(rs api 2)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=api) = 2" 20 &&
	test "$(all_pods app=api)" = 2 &&
	test "$(all_pods app=web)" = 5 &&
	test "$(count_pods default app=web)" = 5 &&
	echo $F >leader
'

test_expect_success 'SIGTERM hands the lease over at once, to a candidate on TCP with a token' '
	L=$(cat leader) &&
	ctl_tcp 3 &&
	wait_for "grep -q \"candidate\" \"$TEST_DIR/c3.log\"" 10 &&
	kill -HUP $(daemon_pid c3) &&
	wait_for "grep -q \"configuration re-read\" \"$TEST_DIR/c3.log\"" 10 &&
	stop_daemon c$L &&
	grep -q "lease .kube-system/skiff-controllers. released" "$TEST_DIR/c$L.log" &&
	wait_for "test \"\$(leader)\" = 3" 20 0.2 &&
	get leases kube-system skiff-controllers | json_check ".spec.leaseTransitions >= 2" &&
	wait_for "test \$(started 3) = 1" 10 &&
	req "scale replicasets default api 3" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=api) = 3" 20 &&
	! grep -q "forbidden" "$TEST_DIR/c3.log"
'

test_done
