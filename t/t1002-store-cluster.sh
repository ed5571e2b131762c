#!/bin/bash
test_description='a 3-member store on loopback: election, forwarding, failover, secret, catch-up, transfer, membership'
. "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"
head -c 32 /dev/urandom | base64 >"$TEST_DIR/wrong-secret"
for i in 1 2 3 4; do
	eval "P$i=$(free_port)"
done
# free_port may hand out the same port twice; make them distinct.
P2=$((P1 + 1)) P3=$((P1 + 2)) P4=$((P1 + 3))
PEERS="m1=127.0.0.1:$P1,m2=127.0.0.1:$P2,m3=127.0.0.1:$P3"

# member N [extra args...]: start member mN (a fresh name per start).
member() {
	local n=$1 port
	shift
	eval "port=\$P$n"
	start_daemon "m$n.$RANDOM" skiffd server --socket "$TEST_DIR/s$n.sock" --listen "" \
		--data-dir "$TEST_DIR/d$n" --set server.name=m$n \
		--set server.peer-listen=127.0.0.1:$port \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms \
		--set store.snapshot-every=200 "$@"
	tail -n 1 "$TEST_DIR/.daemons" >"$TEST_DIR/m$n.name"
}

name_of() {
	cat "$TEST_DIR/m$1.name"
}

kvn() {
	local n=$1
	shift
	skiff -s "$TEST_DIR/s$n.sock" kv "$@"
}

leader_of() {
	kvn "$1" status 2>/dev/null | sed -n 's/.*"leader":"\([^"]*\)".*/\1/p'
}

# all_agree N...: every listed member names the same, nonempty leader.
all_agree() {
	local l="" n x
	for n in "$@"; do
		x=$(leader_of "$n")
		[ -n "$x" ] || return 1
		[ -z "$l" ] || [ "$l" = "$x" ] || return 1
		l=$x
	done
	echo "$l"
}

test_expect_success 'three members elect one leader' '
	member 1 --set server.peers=$PEERS &&
	member 2 --set server.peers=$PEERS &&
	member 3 --set server.peers=$PEERS &&
	wait_for "all_agree 1 2 3" 10 &&
	all_agree 1 2 3 >leader &&
	grep "^m[123]$" leader
'

test_expect_success 'writes on any member are readable linearizably on all' '
	kvn 1 put k1 one >/dev/null &&
	kvn 2 put k2 two >/dev/null &&
	kvn 3 put k3 three >/dev/null &&
	for n in 1 2 3; do
		test "$(kvn $n get k1)" = one &&
		test "$(kvn $n get k2)" = two &&
		test "$(kvn $n get k3)" = three || return 1
	done &&
	kvn 2 txn "{\"compare\":[{\"key\":\"k1\",\"target\":\"value\",\"op\":\"=\",\"value\":\"one\"}],\"success\":[{\"put\":{\"key\":\"k4\",\"value\":\"four\"}}]}" |
		grep succeeded=true &&
	test "$(kvn 3 get k4)" = four
'

test_expect_success 'a member without the cluster secret is refused' '
	start_daemon intruder skiffd server --socket "$TEST_DIR/s9.sock" --listen "" \
		--data-dir "$TEST_DIR/d9" --set server.name=m9 \
		--set server.peer-listen=127.0.0.1:$P4 --set server.peers=m1=127.0.0.1:$P1 \
		--set server.cluster-secret-file="$TEST_DIR/wrong-secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms &&
	wait_for "grep -q \"does not know the cluster secret\" intruder.log" 10 &&
	wait_for "grep -q \"refusing peer .m9.\" $(name_of 1).log" 10 &&
	stop_daemon intruder &&
	test "$(kvn 1 members | grep -c name)" = 3
'

test_expect_success 'kill -9 of the leader: a new leader soon, acknowledged writes kept' '
	l=$(all_agree 1 2 3) && n=${l#m} &&
	for i in $(seq 1 20); do kvn $n put ack/$i $i >/dev/null || return 1; done &&
	kill -9 "$(daemon_pid $(name_of $n))" &&
	others=$(echo 1 2 3 | tr " " "\n" | grep -v "^$n$" | tr "\n" " ") &&
	wait_for "test -n \"\$(all_agree $others)\" && test \"\$(all_agree $others)\" != $l" 10 &&
	o=${others%% *} &&
	test "$(kvn $o range ack/ + count-only | sed -n "s/.*total=//p")" = 20 &&
	echo $n >killed
'

test_expect_success 'a stopped member catches up after restart' '
	n=$(cat killed) && o=$((n % 3 + 1)) &&
	for i in $(seq 1 20); do kvn $o put late/$i $i >/dev/null || return 1; done &&
	member $n --set server.peers=$PEERS &&
	wait_for "kvn $n get late/20 serializable" 10 &&
	test "$(kvn $n range late/ + count-only serializable | sed -n "s/.*total=//p")" = 20
'

test_expect_success 'SIGTERM on the leader hands leadership over without an election timeout' '
	l=$(all_agree 1 2 3) && n=${l#m} &&
	t0=$(date +%s%N) &&
	stop_daemon $(name_of $n) &&
	others=$(echo 1 2 3 | tr " " "\n" | grep -v "^$n$" | tr "\n" " ") &&
	wait_for "test -n \"\$(all_agree $others)\"" 10 &&
	t1=$(date +%s%N) &&
	echo "leader change took $(((t1 - t0) / 1000000)) ms" &&
	nl=$(all_agree $others) &&
	grep "member .$nl.: " $(name_of ${nl#m}).log | tail -n 3 >roles &&
	cat roles &&
	sed -n 2p roles | grep ": candidate, " &&
	sed -n 3p roles | grep ": leader, " &&
	! sed -n 1p roles | grep "pre-candidate" &&
	member $n --set server.peers=$PEERS &&
	wait_for "all_agree 1 2 3" 10
'

test_expect_success 'member add (learner, then promoted) and remove' '
	l=$(all_agree 1 2 3) && n=${l#m} &&
	member 4 --set server.peers=$PEERS --join &&
	kvn $n member-add m4 127.0.0.1:$P4 &&
	wait_for "kvn $n members | grep -q \"\\\"name\\\":\\\"m4\\\".*\\\"voter\\\":true\"" 10 &&
	wait_for "test \"\$(kvn 4 get k1 serializable)\" = one" 10 &&
	kvn 4 put from/m4 yes >/dev/null &&
	test "$(kvn $n get from/m4)" = yes &&
	kvn $n member-remove m4 &&
	wait_for "! kvn $n members | grep -q m4" 10 &&
	test "$(kvn $n members | grep -c name)" = 3
'

test_expect_success 'a member far behind catches up through InstallSnapshot' '
	l=$(all_agree 1 2 3) && n=${l#m} && f=$((n % 3 + 1)) &&
	stop_daemon $(name_of $f) &&
	for i in $(seq 1 1200); do echo "kv put bulk/$i $i"; done >bulk &&
	timeout 60 nc.openbsd -N -U "$TEST_DIR/s$n.sock" <bulk >bulk.out &&
	test "$(grep -c "^ok 0" bulk.out)" = 1200 &&
	wait_for "grep -q \"snapshot at index\" $(name_of $n).log" 10 &&
	member $f --set server.peers=$PEERS &&
	wait_for "grep -q \"installed snapshot\" $(name_of $f).log" 20 &&
	wait_for "kvn $f get bulk/1200 serializable" 10 &&
	test "$(kvn $f range bulk/ + count-only serializable | sed -n "s/.*total=//p")" = 1200 &&
	test "$(kvn $f get k1 serializable)" = one
'

test_done
