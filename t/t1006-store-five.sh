#!/bin/bash
test_description='a 5-member store: two members (the leader among them) killed -9, writes go on, both catch up (one through InstallSnapshot), all five agree'
. "$(dirname "$0")/lib.sh"
# Small snapshots: the log is compacted far past a member that is down.
SNAP_EVERY=100
. "$T_SRCDIR/lib-store.sh"

store_ports 5

test_expect_success 'five members elect one leader' '
	for n in 1 2 3 4 5; do member $n || return 1; done &&
	wait_for "all_agree 1 2 3 4 5" 10 &&
	all_agree 1 2 3 4 5 | grep "^m[1-5]$"
'

# The servers write too (namespaces, leases): at any moment a member may
# be an entry behind, so views that must show every member caught up are
# polled until one does.

# members_caught_up N FILE: mN's `kv members` (asked of the leader when
# mN follows) lists five members, all active, replicating, no lag.
members_caught_up() {
	kvn "$1" members >"$2" &&
	test "$(grep -c '"lag":0,"state":"replicate","active":true' "$2")" = 5
}

# status_shows N PATTERN FILE: `skiff cluster status` of mN, six lines,
# nothing on stderr, one line matching PATTERN.
status_shows() {
	skiff -s "$TEST_DIR/s$1.sock" cluster status >"$3" 2>"$3.err" &&
	test_line_count = 6 "$3" && test_line_count = 0 "$3.err" && grep -q "$2" "$3"
}

test_expect_success 'the leader reports every member caught up; a follower asks the leader' '
	l=$(all_agree 1 2 3 4 5) && n=${l#m} &&
	bulk_put $n pre/ 50 &&
	wait_for "caught_up $n 1 2 3 4 5" 10 &&
	kvn $n members >members &&
	cat members &&
	test_line_count = 5 members &&
	test "$(grep -c "\"state\":\"replicate\",\"active\":true" members)" = 5 &&
	f=$((n % 5 + 1)) &&
	wait_for "members_caught_up $f fmembers" 10 &&
	cat fmembers &&
	wait_for "status_shows $n \"^$l .* yes *yes .* 0 *replicate \" table" 10 &&
	cat table &&
	wait_for "status_shows $f \"^m$f .* no  *[0-9][0-9]* *0 *replicate  *[0-9]\" ftable" 10 &&
	cat ftable &&
	wait_for "skiff -s $TEST_DIR/s$n.sock cluster status -o json >json && jq -e \"[.members[] | .lag] | all(. == 0)\" json" 10 &&
	jq -e ".members | length == 5" json
'

test_expect_success 'kill -9 of the leader and a follower: the other three elect a leader' '
	l=$(all_agree 1 2 3 4 5) && n=${l#m} && f=$((n % 5 + 1)) &&
	bulk_put $n acked/ 100 &&
	kill9 $n && kill9 $f &&
	live=$(echo $(echo 1 2 3 4 5 | tr " " "\n" | grep -v "^$n$" | grep -v "^$f$")) &&
	echo "$n $f" >down && echo "$live" >live &&
	wait_for "nl=\$(all_agree $live) && test \"\$nl\" != $l" 10 &&
	echo "killed $l and m$f, new leader $nl" &&
	test "$(count ${live%% *} acked/)" = 100
'

test_expect_success 'three of five keep taking writes; the lag of the dead grows' '
	live=$(cat live) && read -r a b <down &&
	nl=$(all_agree $live) && l=${nl#m} &&
	bulk_put $l during/ 40 &&
	test "$(count ${live##* } during/)" = 40 &&
	test "$(lag_of $l m$a)" -ge 40 &&
	kvn $l members | grep "\"name\":\"m$a\".*\"active\":false"
'

test_expect_success 'the first one restarts and catches up from the log' '
	read -r a b <down && live=$(cat live) && l=$(all_agree $live) && l=${l#m} &&
	member $a &&
	wait_for "caught_up $l $a" 10 &&
	test "$(count $a during/ serializable)" = 40 &&
	! grep "installed snapshot" $(log_of $a)
'

test_expect_success 'the second one, far behind the compacted log, catches up through InstallSnapshot' '
	read -r a b <down && live=$(cat live) && l=$(all_agree $live $a) && l=${l#m} &&
	bulk_put $l far/ 1300 &&
	wait_for "grep -q \"snapshot at index\" $(log_of $l)" 10 &&
	member $b &&
	wait_for "grep -q \"installed snapshot\" $(log_of $b)" 20 &&
	wait_for "caught_up $l 1 2 3 4 5" 20 &&
	test "$(count $b far/ serializable)" = 1300 &&
	test "$(count $b acked/ serializable)" = 100
'

test_expect_success 'all five hold the same data, and every write survived' '
	wait_for "all_agree 1 2 3 4 5" 10 &&
	l=$(all_agree 1 2 3 4 5) && kvn ${l#m} put last/1 x >/dev/null &&
	wait_for "all_same 1 2 3 4 5" 10 &&
	# The test writes keys from a on; /registry/ holds the default
	# namespaces the API server creates.
	for n in 1 2 3 4 5; do
		kvn $n range a %00 count-only serializable | grep " total=1491$" &&
		test "$(kvn $n get last/1 serializable)" = x || return 1
	done
'

test_done
