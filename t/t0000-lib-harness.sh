#!/bin/bash
test_description='t/lib.sh: steps, bounded waits, cleanups and the lab'
. "$(dirname "$0")/lib.sh"

test_expect_success 'wait_for returns once the condition holds' '
	(sleep 0.2; touch ready) &
	wait_for "test -f ready" 5
'

test_expect_success 'wait_for gives up at its deadline' '
	start=$(date +%s) &&
	test_must_fail wait_for false 1 &&
	end=$(date +%s) &&
	test $((end - start)) -le 3
'

test_expect_success 'test_must_fail tells a failure from a crash' '
	test_must_fail false &&
	! test_must_fail true &&
	! test_must_fail sh -c "kill -SEGV \$\$"
'

test_expect_success 'return 1 in a step body fails that step only' '
	cat >inner4.sh <<-INNER &&
	#!/bin/bash
	. "$T_SRCDIR/lib.sh"
	test_expect_success "returns early" "
		for i in 1 2; do false || return 1; done
	"
	test_expect_success "still runs" "true"
	test_done
	INNER
	test_must_fail bash inner4.sh >inner4.out 2>/dev/null &&
	grep -q "^not ok 1 - returns early" inner4.out &&
	grep -q "^ok 2 - still runs" inner4.out &&
	grep -q "^1\.\.2$" inner4.out
'

test_expect_success 'test_when_finished runs after the step' '
	test_when_finished "rm -f marker" &&
	touch marker &&
	test -f marker
'

test_expect_success 'the step cleanup ran' '
	! test -f marker
'

test_expect_success 'a failing script still removes what it registered' '
	cat >inner.sh <<-INNER &&
	#!/bin/bash
	. "$T_SRCDIR/lib.sh"
	test_expect_success "fail after registering" "
		at_exit \"touch $TEST_DIR/cleaned\" &&
		false
	"
	test_done
	INNER
	test_must_fail bash inner.sh >inner.out 2>&1 &&
	grep -q "^not ok 1 - fail after registering" inner.out &&
	test -f cleaned
'

test_expect_success 'daemons are stopped and their logs shown on failure' '
	cat >inner2.sh <<-INNER &&
	#!/bin/bash
	. "$T_SRCDIR/lib.sh"
	test_expect_success "start a daemon and fail" "
		start_daemon sleeper sh -c \"echo daemon-said-hello; echo \\\$\\\$ >$TEST_DIR/sleeper.pid; exec sleep 1000\" &&
		wait_for \"test -s $TEST_DIR/sleeper.pid\" 5 &&
		false
	"
	test_done
	INNER
	test_must_fail bash inner2.sh >inner2.out 2>&1 &&
	grep -q "daemon-said-hello" inner2.out &&
	pid=$(cat sleeper.pid) &&
	wait_for "! kill -0 $pid" 5
'

if [ "$(id -u)" -eq 0 ]; then
	test_expect_success 'lab nodes reach each other through the lab switch only' '
		lab_switch &&
		lab_node n1 10.99.0.1/24 &&
		lab_node n2 10.99.0.2/24 &&
		lab_exec n1 busybox ping -c1 -W2 10.99.0.2 >/dev/null &&
		! lab_exec n1 ip route | grep -q default &&
		! ip link show "p-n1" 2>/dev/null
	'

	test_expect_success 'lab namespaces are removed when the script exits' '
		cat >inner3.sh <<-INNER &&
		#!/bin/bash
		. "$T_SRCDIR/lib.sh"
		test_expect_success "make a namespace" "
			lab_netns gone && echo \\\$LAB_TAG >$TEST_DIR/tag
		"
		test_done
		INNER
		bash inner3.sh >inner3.out 2>&1 &&
		tag=$(cat tag) &&
		! ip netns list | grep -q "^$tag-gone"
	'

	test_expect_success 'lab cgroups live beneath our own cgroup' '
		dir=$(lab_cgroup memory) &&
		self=$(cgroup_self memory) &&
		case "$dir" in
		*"$self/$LAB_TAG") true ;;
		*) false ;;
		esac &&
		test -d "$dir"
	'
fi

test_done
