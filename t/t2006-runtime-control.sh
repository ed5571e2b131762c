#!/bin/bash
test_description='skiff-runtime verbs on every process of a container: kill --all, pause, resume, ps'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

# Three processes: the init (sh) and two sleeps, each its own pid.
test_expect_success 'setup: a container with several processes' '
	make_bundle "$B" &&
	set_args "$B" sh -c "sleep 600 & sleep 600 & touch /dev/shm/ready; wait" &&
	rt run -d --bundle "$B" a1 &&
	wait_for "rt exec a1 test -e /dev/shm/ready" 5
'

test_expect_success 'ps lists every process of the container, table and json' '
	rt ps a1 >out &&
	head -1 out | grep -E "^PID +CMD$" &&
	test $(grep -cE "^[0-9]+ +sleep 600$" out) = 2 &&
	grep -E "^$(state_field a1 pid) +sh -c" out &&
	rt ps --format json a1 >json &&
	jq -e "length == 3 and all(.[]; type == \"number\")" json
'

test_expect_success 'pause freezes the cgroup; state says paused; exec is refused' '
	rt pause a1 &&
	test "$(state_field a1 status)" = paused &&
	for p in $(rt ps --format json a1 | jq ".[]"); do
		grep -q "^State:.*(stopped)\|^State:.*S (sleeping)\|^State:.*D" /proc/$p/status || return 1
	done &&
	test_must_fail rt exec a1 true 2>err && grep "is paused, not running" err &&
	test_must_fail rt pause a1 2>err && grep "is paused" err &&
	test_must_fail rt delete a1 2>err && grep "is paused" err
'

test_expect_success 'a paused container does not run until resumed; delete --force ends it paused' '
	set_args "$B" sh -c "i=0; while :; do i=\$((i+1)); echo \$i >/dev/shm/n; sleep 0.01; done" &&
	rt run -d --bundle "$B" a2 &&
	wait_for "rt exec a2 test -s /dev/shm/n" 5 &&
	rt pause a2 &&
	p=$(state_field a2 pid) &&
	n1=$(cat /proc/$p/root/dev/shm/n) && sleep 0.2 && n2=$(cat /proc/$p/root/dev/shm/n) &&
	test "$n1" = "$n2" &&
	rt resume a2 &&
	test "$(state_field a2 status)" = running &&
	wait_for "test \"\$(cat /proc/$p/root/dev/shm/n)\" != \"$n2\"" 5 &&
	test_must_fail rt resume a2 2>err && grep "is running" err &&
	rt pause a2 &&
	rt delete --force a2 && no_cgroup_left a2 && no_state_left a2 &&
	! kill -0 $p 2>/dev/null
'

test_expect_success 'kill --all signals every process, not only the init' '
	rt resume a1 &&
	pids=$(rt ps --format json a1 | jq ".[]") &&
	rt kill --all a1 STOP &&
	for p in $pids; do
		wait_for "grep -q \"^State:.*T (stopped)\" /proc/$p/status" 20 || return 1
	done &&
	rt kill --all a1 CONT &&
	rt kill --all a1 KILL &&
	wait_for "test \"\$(state_field a1 status)\" = stopped" 20 &&
	for p in $pids; do
		wait_for "! kill -0 $p 2>/dev/null" 20 || return 1
	done &&
	test "$(state_field a1 exitSignal)" = 9
'

test_expect_success 'kill --all KILL while the container forks leaves nothing behind' '
	set_args "$B" sh -c "trap \"\" TERM; while :; do sleep 0.01 & done" &&
	rt run -d --bundle "$B" a3 &&
	{ rt exec a3 sh -c "trap \"\" TERM; exec sleep 600" & } && exec_pid=$! &&
	wait_for "test \$(rt ps --format json a3 | jq length) -gt 3" 20 &&
	rt kill --all a3 KILL &&
	wait_for "test \"\$(state_field a3 status)\" = stopped" 20 &&
	{ wait $exec_pid; test $? = 137; } &&
	rt delete a3 && no_cgroup_left a3 && no_state_left a3
'

test_expect_success 'the verbs fail clearly on unknown and stopped containers' '
	test_must_fail rt pause nosuch 2>err && grep "container .nosuch. does not exist" err &&
	test_must_fail rt ps nosuch 2>err && grep "does not exist" err &&
	test_must_fail rt kill --all nosuch 2>err && grep "does not exist" err &&
	test_must_fail rt pause a1 2>err && grep "is stopped" err &&
	test_must_fail rt kill --all 2>err && grep "usage" err &&
	rt delete a1 && no_cgroup_left a1
'

test_done
