#!/bin/bash
test_description='lost quorum: two of three members gone for good, the third recovered as a single-member cluster (skiffd store recover), data kept, new members added'
. "$(dirname "$0")/lib.sh"
SNAP_EVERY=100
. "$T_SRCDIR/lib-store.sh"

store_ports 4
ALL_PEERS=$PEERS
PEERS=$(echo "$ALL_PEERS" | cut -d, -f1-3)

test_expect_success 'three members elect a leader and take writes' '
	member 1 && member 2 && member 3 &&
	wait_for "all_agree 1 2 3" 10 &&
	l=$(all_agree 1 2 3) && l=${l#m} &&
	bulk_put $l before/ 300 &&
	kvn $l put last/before yes >/dev/null &&
	wait_for "grep -q \"snapshot at index\" $(log_of $l)" 10
'

test_expect_success 'two members (the leader among them) are lost for good: no quorum' '
	l=$(all_agree 1 2 3) && l=${l#m} && s=$((l % 3 + 1)) && d=$((s % 3 + 1)) &&
	test $d != $l && echo "$s" >survivor && echo "$l $d" >lost &&
	wait_for "kvn $s get last/before serializable" 10 &&
	kill9 $l && kill9 $d && rm -rf d$l d$d &&
	wait_for "test -z \"\$(leader_of $s)\"" 10 &&
	test_must_fail kvn $s put during/1 x &&
	kvn $s members >members &&
	test "$(grep -c "\"lag\":null" members)" = 3 &&
	skiff -s "$TEST_DIR/s$s.sock" cluster status >table 2>err &&
	grep "progress unknown: no answer from a leader (none now)" err &&
	echo "m$s survives"
'

test_expect_success 'store recover refuses a running server and a wrong name' '
	s=$(cat survivor) &&
	test_must_fail skiffd store recover d$s --name m$s 2>err &&
	cat err && grep "in use by another process" err &&
	stop_daemon $(name_of $s) &&
	test_must_fail skiffd store recover d$s 2>err &&
	test_must_fail skiffd store recover d$s --name nobody >out 2>err &&
	cat err && grep "not a voter of the latest configuration" err &&
	test_must_fail skiffd store dump d$s --name m$s
'

test_expect_success 'a dry run prints the last index and term and writes nothing' '
	s=$(cat survivor) &&
	skiffd store dump d$s >before.dump &&
	skiffd store recover d$s --name m$s --dry-run >out &&
	cat out &&
	grep "^log snapshot=[1-9][0-9]* last_index=[0-9]* last_term=[0-9]*$" out &&
	grep "^configuration index=[1-9][0-9]* members=3$" out &&
	test "$(grep -c "^member id=.* role=voter" out)" = 3 &&
	grep "dry run, nothing written" out &&
	skiffd store dump d$s >after.dump &&
	test_cmp before.dump after.dump
'

test_expect_success 'the survivor is recovered as a single-member cluster' '
	s=$(cat survivor) &&
	skiffd store recover d$s --name m$s >out &&
	cat out &&
	last=$(sed -n "s/^log .* last_index=\([0-9]*\) .*/\1/p" out) &&
	grep "^appended configuration index=$((last + 1)) term=[0-9]* members=1$" out &&
	grep "^recover ok" out &&
	skiffd store verify d$s | tail -n 1 | grep "verify ok" &&
	skiffd store recover d$s --name m$s >again &&
	grep "nothing to do" again
'

test_expect_success 'restarted, it leads alone: every write kept, new writes accepted' '
	s=$(cat survivor) &&
	member $s &&
	wait_for "test \"\$(leader_of $s)\" = m$s" 10 &&
	test "$(kvn $s members | grep -c name)" = 1 &&
	test "$(count $s before/)" = 300 &&
	test "$(kvn $s get last/before)" = yes &&
	kvn $s put after/1 one >/dev/null &&
	test "$(kvn $s get after/1)" = one
'

test_expect_success 'new members are added back: a lost name with a wiped dir, and a new one' '
	s=$(cat survivor) && read -r l d <lost &&
	member $d --join &&
	kvn $s member-add m$d 127.0.0.1:$(eval echo \$P$d) &&
	wait_for "kvn $s members | grep -q \"\\\"name\\\":\\\"m$d\\\".*\\\"voter\\\":true\"" 10 &&
	PEERS=$ALL_PEERS member 4 --join &&
	kvn $s member-add m4 127.0.0.1:$P4 &&
	wait_for "kvn $s members | grep -q \"\\\"name\\\":\\\"m4\\\".*\\\"voter\\\":true\"" 10 &&
	bulk_put $s after/ 50 &&
	wait_for "caught_up $s $s $d 4" 10 &&
	wait_for "all_same $s $d 4" 10 &&
	test "$(count 4 before/ serializable)" = 300 &&
	echo "$s $d 4" >cluster
'

test_expect_success 'the rebuilt cluster survives the loss of its first member' '
	read -r s d n <cluster &&
	kill9 $s &&
	wait_for "nl=\$(all_agree $d 4) && test \"\$nl\" != m$s" 10 &&
	kvn $d put after/survived yes >/dev/null &&
	test "$(kvn 4 get after/survived)" = yes &&
	test "$(count $d before/)" = 300
'

test_done
