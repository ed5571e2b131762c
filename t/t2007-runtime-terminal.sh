#!/bin/bash
test_description='skiff-runtime terminals: process.terminal, run --tty, exec --tty, --console-socket'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

test_expect_success 'setup' '
	make_bundle "$B"
'

test_expect_success 'run --tty: stdio is a pty of the container, copied to the caller' '
	set_args "$B" sh -c "tty; test -t 0 && test -t 1 && test -t 2 && echo all-ttys; read x; echo got \$x; exit 5" &&
	echo hello | test_expect_code 5 rt run --tty --bundle "$B" t1 >out &&
	tr -d "\r" <out >clean &&
	grep -x "/dev/pts/0" clean &&
	grep -x "all-ttys" clean &&
	grep -x "got hello" clean &&
	no_state_left t1 && no_cgroup_left t1
'

test_expect_success 'process.terminal and consoleSize in config.json; the pty is the session terminal' '
	edit_config "$B" ".process.terminal = true | .process.consoleSize = {height: 33, width: 111}" &&
	set_args "$B" sh -c "stty size; echo sid=\$(cut -d\" \" -f6 /proc/self/stat)" &&
	rt run --bundle "$B" t2 </dev/null >out &&
	tr -d "\r" <out >clean &&
	grep -x "33 111" clean &&
	grep -x "sid=1" clean
'

test_expect_success 'the pty belongs to the container user and its devpts, not the host' '
	edit_config "$B" ".process.user = {uid: 65534, gid: 65534}" &&
	set_args "$B" sh -c "stat -c %u \$(tty); ls /dev/pts | grep -c ^[0-9]" &&
	rt run --bundle "$B" t3 </dev/null >out &&
	tr -d "\r" <out >clean &&
	test "$(sed -n 1p clean)" = 65534 &&
	test "$(sed -n 2p clean)" = 1 &&
	edit_config "$B" "del(.process.user) | .process.user = {uid: 0, gid: 0}"
'

test_expect_success 'create with a terminal needs a console socket; a console socket needs a terminal' '
	test_must_fail rt create --bundle "$B" t4 2>err &&
	grep "process.terminal: needs --console-socket" err &&
	no_state_left t4 && no_cgroup_left t4 &&
	test_must_fail rt run -d --bundle "$B" t4 2>err &&
	grep "needs --console-socket" err &&
	edit_config "$B" ".process.terminal = false" &&
	test_must_fail rt create --console-socket "$TEST_DIR/none.sock" --bundle "$B" t4 2>err &&
	grep "the process has no terminal" err &&
	test_must_fail rt create --tty --console-socket "$TEST_DIR/none.sock" --bundle "$B" t4 2>err &&
	grep "console socket .*none.sock.: connect" err &&
	no_state_left t4 && no_cgroup_left t4
'

test_expect_success 'create --console-socket sends the pty master (runc protocol)' '
	set_args "$B" sh -c "read x; echo via-socket \$x" &&
	{ console-recv "$TEST_DIR/c.sock" typed >recv & } && recv_pid=$! &&
	wait_for "test -S \"$TEST_DIR/c.sock\"" 5 &&
	rt create --tty --console-socket "$TEST_DIR/c.sock" --bundle "$B" t5 &&
	test "$(state_field t5 status)" = created &&
	rt start t5 &&
	wait $recv_pid &&
	tr -d "\r" <recv >clean &&
	grep -x "console /dev/pts/0" clean &&
	grep -x "via-socket typed" clean &&
	wait_for "test \"\$(state_field t5 status)\" = stopped" 5 &&
	rt delete t5 && no_cgroup_left t5
'

test_expect_success 'exec --tty gets its own pty; without it exec keeps plain stdio' '
	set_args "$B" sleep 600 &&
	rt run -d --bundle "$B" t6 &&
	echo hi | test_expect_code 3 rt exec --tty t6 sh -c "tty; read x; echo got \$x; exit 3" >out &&
	tr -d "\r" <out >clean &&
	grep -x "/dev/pts/[0-9]*" clean &&
	grep -x "got hi" clean &&
	rt exec t6 sh -c "tty || :" >out &&
	grep -x "not a tty" out &&
	test_must_fail rt exec --tty t6 nosuchcmd </dev/null 2>err &&
	grep "exec .nosuchcmd.: executable file not found" err
'

test_expect_success 'exec --tty --console-socket sends the master and passes the status through' '
	{ console-recv "$TEST_DIR/e.sock" >recv & } && recv_pid=$! &&
	wait_for "test -S \"$TEST_DIR/e.sock\"" 5 &&
	test_expect_code 4 rt exec --tty --console-socket "$TEST_DIR/e.sock" t6 sh -c "echo from-exec; exit 4" &&
	wait $recv_pid &&
	tr -d "\r" <recv | grep -x "from-exec" &&
	test_must_fail rt exec --console-socket "$TEST_DIR/e.sock" t6 true 2>err &&
	grep "needs --tty" err &&
	rt delete --force t6 && no_cgroup_left t6
'

test_done
