#!/bin/bash
test_description='egress: pods reach a host outside the cluster with the node address; pod to pod across nodes keeps the pod address'
. "$(dirname "$0")/lib.sh"

# Node n1 runs `skiffd server --agent`, node n2 `skiffd agent`, each in
# its lab network namespace and a private mount namespace (as in t8003).
# "outside" is a lab host that only n1 reaches, through a veth of its
# own (ext0, 198.51.100.1 on n1, 198.51.100.2 outside), and it has no
# route to the cluster network, as a host beyond the nodes would not.
# The listeners are the host's python3 run inside the outside netns or
# a pod's netns (a socket stays in the netns it was made in); each
# accepts one connection and prints the address it came from. No packet
# leaves the lab, and `nft` only reads (and, once, deletes skiff's own
# table in a lab node to check the repair).

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v nft >/dev/null || skip_all "needs nft (to inspect rulesets)"
command -v python3 >/dev/null || skip_all "needs python3 (the listeners)"

SOCK=$TEST_DIR/api.sock
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

create() { req "create $1" | head -n 1 | grep -q "^ok 1 "; }
obj() { req "get $1 rev=0" | sed -n 2p; }
pj() { obj "pods default $1" | jq -r "$2"; }

# mkpod NAME NODE: a pod that only sleeps (the tests use its netns)
mkpod() {
	create "$(jq -cn --arg n "$1" --arg node "$2" '
		{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:"default"},
		 spec:{nodeName:$node,terminationGracePeriodSeconds:1,
		  containers:[{name:"c",image:"busybox:test",command:["sleep","1000"]}]}}')"
}

# podns NODE POD: the pod's network namespace (its sandbox's)
podns() {
	local uid pid
	uid=$(pj "$2" .metadata.uid) && pid=$(cut -d" " -f1 "$TEST_DIR/$1/rt/pods/$uid/sandbox") &&
	echo "/proc/$pid/ns/net"
}

# listen NAME NETNS-PATH ADDR: a one-connection listener on ADDR:8080
# inside NETNS-PATH; the peer address goes to NAME.peer
listen() {
	rm -f "$1.peer" &&
	start_daemon "$1" nsenter --net="$2" python3 -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 8080))
s.listen(4)
open(sys.argv[2] + ".ready", "w").close()
c, a = s.accept()
open(sys.argv[2] + ".tmp", "w").write(a[0] + "\n")
import os; os.rename(sys.argv[2] + ".tmp", sys.argv[2])
' "$3" "$TEST_DIR/$1.peer" &&
	wait_for "test -e $TEST_DIR/$1.peer.ready" 10 0.05
}

# connect NETNS-PATH ADDR: one TCP connection to ADDR:8080, within 5 s
connect() {
	nsenter --net="$1" nc.openbsd -N -w 5 "$2" 8080 </dev/null
}

start_n1() {
	start_daemon n1 sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private \
			nsenter --net="/run/netns/$LAB_TAG-n1" skiffd server --agent --socket "$1" --listen "" \
			--data-dir "$2/data" --set server.name=n1 --set agent.node-name=n1 \
			--set agent.runtime-root="$2/n1/rt" --set agent.image-root="$2/images" \
			--set agent.cgroup-root=pods-n1 --set agent.heartbeat-interval=2s \
			--set dns.enabled=false --set store.fsync=false --log-level debug' \
		"$CGROUPS" "$SOCK" "$TEST_DIR"
}

# start_n2 [--set agent.masquerade=false]
start_n2() {
	start_daemon n2 sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		s=$1 t=$2; shift 2
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n2" \
			skiffd agent --server "$s" --node-name n2 --set agent.runtime-root="$t/n2/rt" \
			--set agent.image-root="$t/images" --set agent.cgroup-root=pods-n2 \
			--set agent.heartbeat-interval=2s --set dns.enabled=false --log-level debug "$@"' \
		"$CGROUPS" "$SOCK" "$TEST_DIR" "$@"
}

cleanup_runtime() {
	local n id f
	for n in n1 n2; do
		for id in $(skiff-runtime --root "$TEST_DIR/$n/rt/containers" list -q 2>/dev/null); do
			skiff-runtime --root "$TEST_DIR/$n/rt/containers" delete --force "$id" >/dev/null 2>&1
		done
		for f in "$TEST_DIR/$n"/rt/pods/*/sandbox; do
			[ -f "$f" ] && kill -KILL "$(cut -d" " -f1 "$f")" 2>/dev/null
		done
	done
	return 0
}

test_expect_success 'lab: nodes n1 n2, an outside host behind n1, cgroups, busybox' '
	lab_switch &&
	lab_node n1 192.168.93.1/24 && lab_node n2 192.168.93.2/24 &&
	lab_netns outside &&
	ip -n "$LAB_TAG-n1" link add ext0 type veth peer name eth0 netns "$LAB_TAG-outside" &&
	ip -n "$LAB_TAG-n1" addr add 198.51.100.1/24 dev ext0 &&
	ip -n "$LAB_TAG-n1" link set ext0 up &&
	ip -n "$LAB_TAG-outside" addr add 198.51.100.2/24 dev eth0 &&
	ip -n "$LAB_TAG-outside" link set eth0 up &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 && lab_exec n2 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	at_exit cleanup_runtime &&
	"$mkimage" busybox-rootfs rootfs &&
	"$mkimage" -t busybox:test -o bb-oci rootfs >/dev/null &&
	skiff-runtime image import bb-oci | grep -q "^imported busybox:test"
'

test_expect_success 'server --agent on n1, agent on n2: Ready, routes, the masquerade table on both' '
	start_n1 &&
	wait_for "test -S $SOCK" 10 0.05 &&
	start_n2 &&
	for n in n1 n2; do
		wait_for "obj \"nodes $n\" | json_check \".spec.podCIDR != null and (.status.conditions[] | select(.type==\\\"Ready\\\") | .status == \\\"True\\\")\"" 20 0.1 || return 1
	done &&
	wait_for "lab_exec n1 ip route show proto 201 | grep -q \"via 192.168.93.2\"" 10 0.1 &&
	wait_for "lab_exec n2 ip route show proto 201 | grep -q \"via 192.168.93.1\"" 10 0.1 &&
	wait_for "lab_exec n1 nft list table ip skiff-nat" 10 0.1 &&
	wait_for "lab_exec n2 nft list table ip skiff-nat" 10 0.1 &&
	lab_exec n1 nft list table ip skiff-nat >table &&
	grep -q "ip saddr 10.244.0.0/16 ip daddr != 10.244.0.0/16 ip daddr != 10.96.0.0/12 oifname != \"skiff0\" counter packets [0-9]* bytes [0-9]* masquerade fully-random" table &&
	grep -q "masquerading traffic from 10.244.0.0/16" "$TEST_DIR/n1.log"
'

test_expect_success 'a client pod on n1 and a server pod on n2 run' '
	mkpod client n1 && mkpod server n2 &&
	for p in client server; do
		wait_for "pj $p .status.phase | grep -qx Running" 30 0.1 || return 1
	done &&
	CLIENT_IP=$(pj client .status.podIP) && SERVER_IP=$(pj server .status.podIP) &&
	case $CLIENT_IP in 10.244.*) ;; *) false ;; esac &&
	case $SERVER_IP in 10.244.*) ;; *) false ;; esac
'

test_expect_success 'pod to a host outside the cluster: the listener sees the node address' '
	listen out1 "/run/netns/$LAB_TAG-outside" 198.51.100.2 &&
	connect "$(podns n1 client)" 198.51.100.2 &&
	wait_for "test -s out1.peer" 10 0.05 &&
	echo 198.51.100.1 >want && test_cmp want out1.peer &&
	lab_exec n1 nft list table ip skiff-nat | grep -q "counter packets [1-9]"
'

test_expect_success 'pod to pod across nodes: the receiver sees the pod address, both ways' '
	listen p2p "$(podns n2 server)" "$SERVER_IP" &&
	connect "$(podns n1 client)" "$SERVER_IP" &&
	wait_for "test -s p2p.peer" 10 0.05 &&
	echo "$CLIENT_IP" >want && test_cmp want p2p.peer &&
	listen p2p-back "$(podns n1 client)" "$CLIENT_IP" &&
	connect "$(podns n2 server)" "$CLIENT_IP" &&
	wait_for "test -s p2p-back.peer" 10 0.05 &&
	echo "$SERVER_IP" >want && test_cmp want p2p-back.peer
'

test_expect_success 'drift: the table deleted behind the agent is put back within seconds' '
	lab_exec n1 nft list table ip skiff-nat | sed "s/packets [0-9]* bytes [0-9]*//" >before &&
	lab_exec n1 nft delete table ip skiff-nat &&
	wait_for "lab_exec n1 nft list table ip skiff-nat" 10 0.1 &&
	lab_exec n1 nft list table ip skiff-nat | sed "s/packets [0-9]* bytes [0-9]*//" >after &&
	test_cmp before after &&
	grep -q "table .skiff-nat. changed behind the agent.s back" "$TEST_DIR/n1.log" &&
	listen out2 "/run/netns/$LAB_TAG-outside" 198.51.100.2 &&
	connect "$(podns n1 client)" 198.51.100.2 &&
	wait_for "test -s out2.peer" 10 0.05 &&
	echo 198.51.100.1 >want && test_cmp want out2.peer
'

test_expect_success 'agent.masquerade=false: a restarted agent removes the table, the proxy table stays' '
	lab_exec n2 nft list table ip skiff-proxy >/dev/null &&
	{ stop_daemon n2 || :; } &&
	lab_exec n2 nft list table ip skiff-nat >/dev/null &&
	start_n2 --set agent.masquerade=false &&
	wait_for "! lab_exec n2 nft list table ip skiff-nat" 20 0.1 &&
	wait_for "grep -q \"proxy: synced\" $TEST_DIR/n2.log" 20 0.1 &&
	lab_exec n2 nft list table ip skiff-proxy >/dev/null &&
	lab_exec n1 nft list table ip skiff-nat >/dev/null
'

test_expect_success 'no egress error was logged; the host has no skiff-nat table' '
	! grep -E "error +(egress|kubelet: egress)" "$TEST_DIR/n1.log" "$TEST_DIR/n2.log" &&
	nft list tables >host.tables &&
	! grep -q skiff-nat host.tables
'

test_done
