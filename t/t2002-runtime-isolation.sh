#!/bin/bash
test_description='skiff-runtime isolation seen from inside a busybox container'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-runtime.sh"

B=$TEST_DIR/bundle

inside() {
	set_args "$B" sh -c "$1" && rt run --bundle "$B" "i$test_count"
}

test_expect_success 'setup bundle' '
	make_bundle "$B" &&
	edit_config "$B" ".hostname = \"box1\""
'

test_expect_success 'PID 1 is the container process' '
	inside "echo \$\$; cat /proc/1/comm; true" >out &&
	printf "1\nsh\n" >expect && test_cmp expect out
'

test_expect_success 'only the container processes are visible' '
	inside "ps -o pid,comm; true" >out &&
	test $(wc -l <out) -le 4 &&
	grep -E "^ +1 sh$" out
'

test_expect_success 'hostname is the configured one' '
	inside hostname >out &&
	echo box1 >expect && test_cmp expect out
'

test_expect_success 'no host network devices: only lo' '
	inside "ls /sys/class/net" >out &&
	echo lo >expect && test_cmp expect out
'

test_expect_success 'a new network namespace, loopback down; the monitor stays outside' '
	inside "stat -L -c %i /proc/self/ns/net; cat /sys/class/net/lo/operstate" >out &&
	stat -L -c %i /proc/self/ns/net >host &&
	test "$(head -1 out)" != "$(cat host)" &&
	test "$(sed -n 2p out)" = down &&
	set_args "$B" sleep 60 &&
	rt run -d --bundle "$B" n1 &&
	test_when_finished "rt delete --force n1" &&
	mon=$(jq -r .skiff.monitorPid "$RT_STATE/n1/state.json") &&
	pid=$(jq -r .pid "$RT_STATE/n1/state.json") &&
	test "$(stat -L -c %i /proc/$mon/ns/net)" = "$(cat host)" &&
	test "$(stat -L -c %i /proc/$pid/ns/net)" != "$(cat host)"
'

test_expect_success 'the mount table is the container one' '
	inside "cat /proc/self/mounts" >out &&
	grep -E "^proc /proc proc " out &&
	grep -E " /dev tmpfs " out &&
	grep -E " /dev/pts devpts " out &&
	grep -E " /dev/shm tmpfs " out &&
	grep -E " /dev/mqueue mqueue " out &&
	grep -E " /sys sysfs ro," out &&
	grep -E " / [a-z0-9]+ ro," out &&
	! grep -F "$TEST_DIR" out
'

test_expect_success 'the root is read-only, /dev/shm is writable' '
	inside "touch /x 2>&1; touch /dev/shm/y && echo shm-ok" >out &&
	grep "Read-only file system" out &&
	grep shm-ok out
'

test_expect_success 'minimal /dev with the standard nodes and links' '
	inside "ls /dev | sort | tr \"\n\" \" \"; echo; for l in fd stdin ptmx; do readlink /dev/\$l; done" >out &&
	for n in full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero; do
		grep -w "$n" out || return 1
	done &&
	grep -x /proc/self/fd out && grep -x /proc/self/fd/0 out && grep -x pts/ptmx out &&
	inside "echo x >/dev/null && head -c 4 /dev/urandom | wc -c" >out &&
	echo 4 >expect && test_cmp expect out
'

test_expect_success 'no leaked file descriptors: only 0 1 2 and the ls fd' '
	inside "ls /proc/self/fd | tr \"\n\" \" \"" >out &&
	printf "0 1 2 3 " >expect && test_cmp expect out
'

test_expect_success 'masked paths are unreadable or empty' '
	inside "cat /proc/keys | wc -c; ls /sys/firmware | wc -l; cat /proc/timer_list | wc -c" >out &&
	printf "0\n0\n0\n" >expect && test_cmp expect out
'

test_expect_success 'read-only paths cannot be written, /proc/sys among them' '
	inside "(echo 1 >/proc/sys/kernel/domainname) 2>&1; (echo 1 >/proc/sys/vm/overcommit_memory) 2>&1; true" >out &&
	test $(grep -c "Read-only file system" out) = 2
'

test_expect_success 'sysfs is read-only' '
	inside "(echo x >/sys/kernel/uevent_helper) 2>&1; true" >out &&
	grep -E "Read-only file system|Permission denied" out
'

test_expect_success 'the working directory is the configured one' '
	edit_config "$B" ".process.cwd = \"/tmp\"" &&
	inside pwd >out &&
	echo /tmp >expect && test_cmp expect out &&
	edit_config "$B" ".process.cwd = \"/\""
'

test_expect_success 'sysctls are written in the container namespaces' '
	edit_config "$B" ".linux.sysctl = {\"kernel.domainname\": \"pod.example\"}" &&
	inside "cat /proc/sys/kernel/domainname" >out &&
	echo pod.example >expect && test_cmp expect out &&
	test "$(cat /proc/sys/kernel/domainname)" != pod.example &&
	edit_config "$B" "del(.linux.sysctl)"
'

test_expect_success 'the process starts with default signal dispositions' '
	set_args "$B" grep -E "^Sig(Ign|Blk)" /proc/self/status && rt run --bundle "$B" sig1 >out &&
	printf "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n" >expect && test_cmp expect out
'

test_expect_success 'environment and rlimits are applied' '
	edit_config "$B" ".process.env += [\"GREETING=hi\"] | .process.rlimits = [{type: \"RLIMIT_NOFILE\", soft: 100, hard: 200}]" &&
	inside "echo \$GREETING; ulimit -n; ulimit -Hn" >out &&
	printf "hi\n100\n200\n" >expect && test_cmp expect out
'

test_expect_success 'joining an existing network namespace by path' '
	ip netns add "$LAB_TAG" &&
	test_when_finished "ip netns delete $LAB_TAG" &&
	edit_config "$B" "(.linux.namespaces[] | select(.type == \"network\")) += {path: \$p}" --arg p "/run/netns/$LAB_TAG" &&
	inside "stat -L -c %i /proc/self/ns/net" >out &&
	stat -L -c %i "/run/netns/$LAB_TAG" >expect && test_cmp expect out
'

test_expect_success 'user namespace with uid/gid maps' '
	chmod 755 "$TEST_DIR" &&
	make_bundle "$TEST_DIR/u" &&
	chown -R 100000:100000 "$TEST_DIR/u/rootfs" &&
	jq ".linux.namespaces += [{type: \"user\"}] | .linux.uidMappings = [{containerID: 0, hostID: 100000, size: 65536}] | .linux.gidMappings = [{containerID: 0, hostID: 100000, size: 65536}] | .mounts |= map(select(.destination != \"/sys\" and .destination != \"/sys/fs/cgroup\")) | .process.args = [\"sh\", \"-c\", \"id -u; cat /proc/self/uid_map\"]" "$TEST_DIR/u/config.json" >"$TEST_DIR/u/c.json" &&
	mv "$TEST_DIR/u/c.json" "$TEST_DIR/u/config.json" &&
	rt run --bundle "$TEST_DIR/u" u1 >out &&
	head -1 out | grep -x 0 &&
	tail -1 out | grep -E "^ +0 +100000 +65536$"
'

test_done
