#!/bin/bash
test_description='membership changes under load: a 4th member joins and is promoted, the leader is removed and steps down; linearizable, no acknowledged write lost'
. "$(dirname "$0")/lib.sh"
. "$T_SRCDIR/lib-store.sh"

store_ports 4
ALL_PEERS=$PEERS
# The founders know each other only; m4 joins later with --join.
PEERS=$(echo "$ALL_PEERS" | cut -d, -f1-3)

# voter_in L NAME: leader mL lists NAME as a voter.
voter_in() {
	kvn "$1" members | grep -q "\"name\":\"$2\".*\"voter\":true"
}

test_expect_success 'three founding members elect one leader' '
	member 1 && member 2 && member 3 &&
	wait_for "all_agree 1 2 3" 10
'

test_expect_success 'under load: m4 joins as a learner, catches up and is promoted' '
	kvhist --server "$SOCKS" --clients 6 --keys 24 --seconds 8 --timeout 2000 \
		--out hist 2>kvhist.err &
	echo $! >kvhist.pid
	unique_writer 1 2 3 4 &
	echo $! >writer.pid &&
	at_exit "touch $TEST_DIR/stop; kill $(cat kvhist.pid) 2>/dev/null" &&
	sleep 1 &&
	l=$(all_agree 1 2 3) && l=${l#m} &&
	PEERS=$ALL_PEERS member 4 --join &&
	kvn $l member-add m4 127.0.0.1:$P4 &&
	wait_for "voter_in $l m4" 10 &&
	grep "promoting learner .m4." $(log_of $l) &&
	wait_for "test \"\$(lag_of $l m4)\" -lt 100" 10 &&
	kvn $l members
'

test_expect_success 'under load: the leader is removed and steps down once that commits' '
	l=$(all_agree 1 2 3 4) && l=${l#m} && echo $l >removed &&
	rest=$(echo $(echo 1 2 3 4 | tr " " "\n" | grep -v "^$l$")) && echo "$rest" >rest &&
	kvn $l member-remove m$l &&
	wait_for "nl=\$(all_agree $rest) && test \"\$nl\" != m$l" 10 &&
	echo "removed m$l, new leader $nl" &&
	grep "member .m$l. was removed from the cluster" $(log_of $l) &&
	test "$(field $l role)" != leader &&
	! kvn ${nl#m} members | grep "\"name\":\"m$l\"" &&
	test "$(kvn ${nl#m} members | grep -c "\"voter\":true")" = 3
'

test_expect_success 'the removed member is stopped; the others serve on' '
	l=$(cat removed) && rest=$(cat rest) &&
	stop_daemon $(name_of $l) &&
	pid=$(cat kvhist.pid) && wait $pid &&
	cat kvhist.err &&
	grep -q "^kvhist: [1-9][0-9]* ops, [1-9][0-9]* ok" kvhist.err &&
	touch stop && wait $(cat writer.pid) &&
	nl=$(all_agree $rest) &&
	wait_for "caught_up ${nl#m} $rest" 10
'

test_expect_success 'the history is linearizable and every acknowledged write is kept' '
	rest=$(cat rest) &&
	check_history hist &&
	check_acked $rest &&
	wait_for "all_same $rest" 10
'

test_done
