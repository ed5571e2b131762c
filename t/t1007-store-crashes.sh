#!/bin/bash
test_description='a 3-member store stays linearizable while followers and leaders are killed -9 at random moments and the whole cluster crashes and restarts'
. "$(dirname "$0")/lib.sh"
. "$T_SRCDIR/lib-store.sh"

store_ports 3

# A pause of 100..700 ms: how long a fault lasts or when the next one
# hits, random so that crashes land at different points of replication
# (mid-append, mid-fsync, mid-snapshot). A duration, not a wait.
jitter() {
	sleep "0.$((RANDOM % 7 + 1))"
}

# crash N: kill -9 member N, leave it down a moment, restart it and wait
# until all three agree on a leader again.
crash() {
	kill9 "$1" || return 1
	jitter
	member "$1"
	wait_for "all_agree 1 2 3" 10
}

# follower_of: a member that is not the leader (random among the two).
follower_of() {
	local l=$1 a b
	a=$((l % 3 + 1)) b=$(((l + 1) % 3 + 1))
	[ $((RANDOM % 2)) = 0 ] && echo $a || echo $b
}

test_expect_success 'three members elect one leader' '
	member 1 && member 2 && member 3 &&
	wait_for "all_agree 1 2 3" 10
'

test_expect_success 'clients record a history while followers (and a leader) are killed -9 at random moments' '
	kvhist --server "$SOCKS" --clients 6 --keys 24 --seconds 9 --timeout 2000 \
		--out hist 2>kvhist.err &
	echo $! >kvhist.pid
	unique_writer 1 2 3 &
	wpid=$! && pid=$(cat kvhist.pid) &&
	test_when_finished "touch stop; kill $pid 2>/dev/null; wait $pid $wpid 2>/dev/null; true" &&
	jitter &&
	for round in 1 2 3 4; do
		l=$(all_agree 1 2 3) && f=$(follower_of ${l#m}) &&
		echo "round $round: kill -9 follower m$f (leader $l)" &&
		crash $f && jitter || return 1
	done &&
	l=$(all_agree 1 2 3) && echo "kill -9 leader $l" && crash ${l#m} &&
	wait $pid &&
	cat kvhist.err &&
	grep -q "^kvhist: [1-9][0-9]* ops, [1-9][0-9]* ok" kvhist.err
'

test_expect_success 'that history is linearizable' '
	check_history hist
'

test_expect_success 'the whole cluster killed -9 at once under load, then restarted: linearizable' '
	rm -f stop
	kvhist --server "$SOCKS" --clients 6 --keys 24 --seconds 6 --timeout 2000 \
		--prefix r2 --out hist2 2>kvhist2.err &
	echo $! >kvhist.pid
	unique_writer 1 2 3 &
	wpid=$! && pid=$(cat kvhist.pid) &&
	test_when_finished "touch stop; kill $pid 2>/dev/null; wait $pid $wpid 2>/dev/null; true" &&
	sleep 1.5 &&
	kill9 1 && kill9 2 && kill9 3 &&
	jitter &&
	member 1 && member 2 && member 3 &&
	wait_for "all_agree 1 2 3" 10 &&
	wait $pid &&
	cat kvhist2.err &&
	grep -q "^kvhist: [1-9][0-9]* ops, [1-9][0-9]* ok" kvhist2.err &&
	touch stop && wait $wpid &&
	check_history hist2 24 r2
'

test_expect_success 'every acknowledged unique write is present on every member' '
	check_acked 1 2 3 &&
	wait_for "all_same 1 2 3" 10
'

test_done
