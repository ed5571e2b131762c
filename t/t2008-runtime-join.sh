#!/bin/bash
test_description='skiff-runtime joins existing namespaces by path (pod sandboxes): pid, net, ipc, uts, cgroup'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

P=$TEST_DIR/pause
J=$TEST_DIR/joiner

test_expect_success 'setup: a sandbox container' '
	make_bundle "$P" && make_bundle "$J" &&
	set_args "$P" sh -c "echo sandbox >/dev/shm/mark; exec sleep 600" &&
	rt run -d --bundle "$P" sandbox &&
	spid=$(state_field sandbox pid) &&
	wait_for "test -e /proc/$spid/root/dev/shm/mark" 5
'

test_expect_success 'a container joins the pid, network, ipc, uts and cgroup namespaces of another' '
	edit_config "$J" ".linux.namespaces = [{type: \"mount\"}, {type: \"pid\", path: \"/proc/$spid/ns/pid\"}, {type: \"network\", path: \"/proc/$spid/ns/net\"}, {type: \"ipc\", path: \"/proc/$spid/ns/ipc\"}, {type: \"uts\", path: \"/proc/$spid/ns/uts\"}, {type: \"cgroup\", path: \"/proc/$spid/ns/cgroup\"}] | del(.hostname)" &&
	set_args "$J" sh -c "sleep 600 & echo self=\$\$; ps -o pid,args | grep -c \"[s]leep 600\"; for n in pid net ipc uts cgroup mnt; do readlink /proc/self/ns/\$n; done; wait" &&
	rt run -d --bundle "$J" member &&
	mpid=$(state_field member pid) &&
	for n in pid net ipc uts cgroup; do
		test "$(readlink /proc/$mpid/ns/$n)" = "$(readlink /proc/$spid/ns/$n)" || return 1
	done &&
	test "$(readlink /proc/$mpid/ns/mnt)" != "$(readlink /proc/$spid/ns/mnt)" &&
	rt exec member sh -c "ps -o pid,args" >ps &&
	grep -E "^ *1 +sleep 600$" ps &&
	test "$(grep -c "sleep 600" ps)" = 3
'

test_expect_success 'the member is not PID 1 and exec into it sees the shared pid namespace' '
	rt exec member sh -c "cut -d\" \" -f1 /proc/1/stat; echo \$\$" >out &&
	test "$(sed -n 1p out)" = 1 &&
	test "$(sed -n 2p out)" != 1
'

test_expect_success 'the members die with the sandbox pid namespace init' '
	rt kill sandbox KILL &&
	wait_for "test \"\$(state_field member status)\" = stopped" 5 &&
	test "$(state_field member exitCode)" = 137 &&
	rt delete member && rt delete sandbox &&
	no_cgroup_left member && no_state_left member
'

test_expect_success 'joining a namespace that does not exist fails clearly and leaves nothing' '
	edit_config "$J" ".linux.namespaces = [{type: \"mount\"}, {type: \"pid\", path: \"/proc/999999999/ns/pid\"}]" &&
	test_must_fail rt run --bundle "$J" bad1 2>err &&
	grep "open namespace ./proc/999999999/ns/pid." err &&
	no_state_left bad1 && no_cgroup_left bad1 &&
	edit_config "$J" ".linux.namespaces = [{type: \"mount\"}, {type: \"pid\", path: \"/proc/self/ns/net\"}]" &&
	test_must_fail rt run --bundle "$J" bad2 2>err &&
	grep "setns ./proc/self/ns/net.: Invalid argument" err &&
	no_state_left bad2 && no_cgroup_left bad2 &&
	edit_config "$J" ".linux.namespaces = [{type: \"mount\"}, {type: \"network\", path: \"/proc/self/ns/pid\"}]" &&
	test_must_fail rt run --bundle "$J" bad3 2>err &&
	grep "setns ./proc/self/ns/pid." err &&
	no_state_left bad3 && no_cgroup_left bad3
'

test_expect_success 'joining a user namespace is refused, naming the field' '
	edit_config "$J" ".linux.namespaces = [{type: \"mount\"}, {type: \"user\", path: \"/proc/self/ns/user\"}]" &&
	test_must_fail rt run --bundle "$J" bad4 2>err &&
	grep "linux.namespaces\[1\].path: joining a user namespace is not supported" err
'

test_done
