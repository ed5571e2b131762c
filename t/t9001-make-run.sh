#!/bin/bash
test_description='make run (scripts/run-demo) in a lab node: the demo Deployment runs and serves its page, Ctrl-C stops everything, a restart keeps the state, clean removes it'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v nft >/dev/null || skip_all "needs nft"

STATE=$TEST_DIR/state
SOCK=$TEST_DIR/api.sock
NS=$LAB_TAG-n1
export SKIFF_SERVER=$SOCK

# The demo runs as a user would start it, but inside the lab node n1's
# network namespace (SKIFF_NETNS), on a scratch state dir, in the lab's
# cgroups: nothing of the host's network, /var/lib or /run is touched.
# A background job of a script starts with SIGINT ignored, which a shell
# cannot undo: perl gives run-demo the default disposition back, so
# kill -INT is the Ctrl-C of a terminal.
start_demo() {
	start_daemon demo sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec perl -e "\$SIG{INT} = \"DEFAULT\"; exec @ARGV or die" env SKIFF_NETNS="$1" \
			SKIFF_STATE="$2" SKIFF_SOCKET="$3" SKIFF_NODE=demo "$4/scripts/run-demo"' \
		"$CGROUPS" "$NS" "$STATE" "$SOCK" "$SRCDIR"
}

# running_ips: pod IPs of the Running demo pods
running_ips() {
	skiff get pods -l app=hello -o jsonpath='{range .items[*]}{.status.phase} {.status.podIP}{"\n"}{end}' |
		awk '$1 == "Running" && $2 != "" { print $2 }'
}

http_get() {
	printf 'GET /index.html HTTP/1.0\r\n\r\n' |
		lab_exec n1 timeout 5 nc.openbsd -w 5 "$1" 8080 | tr -d '\r' | sed '1,/^$/d'
}

test_expect_success 'lab: node n1 and its cgroups' '
	lab_switch &&
	lab_node n1 192.168.93.1/24 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	test "$(lab_exec n1 sysctl -n net.ipv4.ip_forward)" = 0
'

test_expect_success 'run-demo starts the cluster, imports the image and applies the demo' '
	start_demo &&
	wait_for "grep -q \"skiff is running\" demo.log" 60 0.2 &&
	grep -q "export SKIFF_SERVER=$SOCK" demo.log &&
	skiff get deployments hello >out && grep -q hello out &&
	skiff get services hello >out && grep -q hello out &&
	SKIFF_IMAGE_ROOT=$STATE/images skiff-runtime image list -q | grep -qx busybox:demo
'

test_expect_success 'the guard table and forwarding are set in the node namespace only' '
	test "$(lab_exec n1 sysctl -n net.ipv4.ip_forward)" = 1 &&
	lab_exec n1 nft list table ip skiff-demo >guard &&
	grep -q "policy drop" guard &&
	grep -q "iifname \"skiff0\" drop" guard &&
	! nft list table ip skiff-demo 2>/dev/null
'

test_expect_success 'three demo pods Running, each serves its page on its pod IP' '
	wait_for "test \$(running_ips | wc -l) -eq 3" 60 0.2 &&
	for ip in $(running_ips); do
		http_get "$ip" >page &&
		grep -q "^hello from hello-" page || return 1
	done
'

test_expect_success 'Ctrl-C: skiffd stops, then the containers, the network changes are undone' '
	pid=$(daemon_pid demo) &&
	kill -INT "$pid" &&
	wait_for "! kill -0 $pid" 40 0.1 &&
	wait "$pid"; rc=$? &&
	rm -f demo.pid &&
	test $rc -eq 0 &&
	grep -q "stopped; the cluster.s state is kept" demo.log &&
	for d in $CGROUPS; do
		test ! -d "$d/skiff-demo" || return 1
	done &&
	! lab_exec n1 ip link show skiff0 2>/dev/null &&
	! lab_exec n1 nft list table ip skiff-demo 2>/dev/null &&
	test -z "$(lab_exec n1 nft list tables)" &&
	test -z "$(lab_exec n1 ip route show proto 201)" &&
	test "$(lab_exec n1 sysctl -n net.ipv4.ip_forward)" = 0 &&
	! grep -q "skiffd exited with status" demo.log
'

test_expect_success 'a restart keeps the state: same Deployment, same pods, Running again, the demo not applied twice' '
	skiffd store dump "$STATE" >/dev/null &&
	mv demo.log demo-1.log &&
	start_demo &&
	wait_for "grep -q \"skiff is running\" demo.log" 60 0.2 &&
	! grep -q "created\|configured" demo.log &&
	wait_for "test \$(running_ips | wc -l) -eq 3" 60 0.2 &&
	for ip in $(running_ips); do
		wait_for "http_get $ip | grep -q \"^hello from hello-\"" 30 0.2 || return 1
	done
'

test_expect_success 'a second stop is clean too' '
	pid=$(daemon_pid demo) &&
	kill -INT "$pid" &&
	wait_for "! kill -0 $pid" 40 0.1 &&
	wait "$pid" &&
	rm -f demo.pid &&
	grep -q "stopped; the cluster.s state is kept" demo.log
'

test_expect_success 'after kill -9 of run-demo and skiffd, run-demo clean undoes everything and removes the state' '
	mv demo.log demo-2.log &&
	start_demo &&
	wait_for "grep -q \"skiff is running\" demo.log" 60 0.2 &&
	kill -9 "$(daemon_pid demo)" &&
	for d in $CGROUPS; do
		for p in $(cat "$d/skiff-demo/cgroup.procs" 2>/dev/null); do
			grep -q "^skiffd" "/proc/$p/comm" 2>/dev/null && kill -9 "$p"
		done
	done &&
	lab_exec n1 ip link show skiff0 >/dev/null &&
	test "$(lab_exec n1 sysctl -n net.ipv4.ip_forward)" = 1 &&
	SKIFF_NETNS=$NS SKIFF_STATE=$STATE SKIFF_SOCKET=$SOCK "$SRCDIR/scripts/run-demo" clean &&
	test ! -e "$STATE" &&
	! lab_exec n1 ip link show skiff0 2>/dev/null &&
	! lab_exec n1 nft list table ip skiff-demo 2>/dev/null &&
	test -z "$(lab_exec n1 nft list tables)" &&
	test -z "$(lab_exec n1 ip route show proto 201)" &&
	test "$(lab_exec n1 sysctl -n net.ipv4.ip_forward)" = 0 &&
	for d in $CGROUPS; do
		test ! -d "$d/skiff-demo" || return 1
	done
'

test_done
