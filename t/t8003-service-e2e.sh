#!/bin/bash
test_description='services end to end: two lab nodes, ClusterIP balancing, readiness, NodePort, DNS, agent restart'
. "$(dirname "$0")/lib.sh"

# Node n1 runs `skiffd server --agent`, node n2 `skiffd agent`, each in
# its lab network namespace and a private mount namespace (as in
# t5001). Three backends (be-1, be-2 on n1, be-3 on n2) serve their own
# name with busybox httpd from a hostPath directory, which also holds
# the file their readiness probe asks for; the client pod sits on n2.
# Connections are made from inside the pods' network namespaces with
# the host's curl (there is no `skiff exec` yet); ext is a lab host
# outside the cluster and up a stub upstream resolver (dns-serve) on
# port 53. No packet leaves the lab, and `nft` only reads.

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v nft >/dev/null || skip_all "needs nft (to inspect rulesets)"
command -v curl >/dev/null || skip_all "needs curl"

SOCK=$TEST_DIR/api.sock
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage
CIP=10.96.0.50 # web (NodePort 30080)
LIP=10.96.0.51 # web-local (NodePort 30081, externalTrafficPolicy Local)
SIP=10.96.0.52 # web-sticky (sessionAffinity ClientIP)

create() { req "create $1" | head -n 1 | grep -q "^ok 1 "; }
# The proxy table of node $1 with its sets and chains in name order: nft
# lists them in creation order, and an incremental sync creates only
# the chains that are new, so two equal tables may list in other orders.
table() {
	lab_exec "$1" nft list table ip skiff-proxy | sed '1d;$d' |
		awk 'BEGIN { RS = ""; ORS = "\0" } { print }' | sort -z | tr '\0' '\n'
}
obj() { req "get $1 rev=0" | sed -n 2p; } # "pods default web"
pj() { obj "pods default $1" | jq -r "$2"; }

# mkbackend NAME NODE
mkbackend() {
	mkdir -p "www/$1" && echo "$1" >"www/$1/index.html" && : >"www/$1/ready" &&
	create "$(jq -cn --arg n "$1" --arg node "$2" --arg www "$TEST_DIR/www/$1" '
		{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:"default",labels:{app:"web"}},
		 spec:{nodeName:$node,terminationGracePeriodSeconds:1,
		  volumes:[{name:"www",hostPath:{path:$www,type:"Directory"}}],
		  containers:[{name:"httpd",image:"busybox:test",
		   command:["httpd","-f","-p","8080","-h","/www"],
		   ports:[{name:"http",containerPort:8080}],
		   volumeMounts:[{name:"www",mountPath:"/www"}],
		   readinessProbe:{httpGet:{path:"/ready",port:8080},periodSeconds:1,failureThreshold:1}}]}}')"
}

# mksvc NAME IP EXTRA-SPEC-JSON
mksvc() {
	create "$(jq -cn --arg n "$1" --arg ip "$2" --argjson x "$3" '
		{apiVersion:"v1",kind:"Service",metadata:{name:$n,namespace:"default"},
		 spec:({clusterIP:$ip,selector:{app:"web"},
		        ports:[{name:"http",port:80,targetPort:8080}]} + $x)}')"
}

# podns NODE POD: the pod's network namespace (its sandbox's)
podns() {
	local uid pid
	uid=$(pj "$2" .metadata.uid) && pid=$(cut -d" " -f1 "$TEST_DIR/$1/rt/pods/$uid/sandbox") &&
	echo "/proc/$pid/ns/net"
}

# in_pod NODE POD CMD...: run CMD in the pod's network namespace
in_pod() {
	local ns
	ns=$(podns "$1" "$2") && shift 2 && nsenter --net="$ns" "$@"
}

# hits N CMD...: fetch $URL N times through CMD (a new connection each),
# one line per answer (FAIL for none)
hits() {
	local n=$1 i
	shift
	for i in $(seq "$n"); do
		"$@" curl -s --max-time 2 "$URL" || echo FAIL
	done
}

# distinct: the sorted distinct lines of standard input, comma-separated
distinct() { sort -u | paste -sd, -; }

start_n1() {
	start_daemon n1 sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private \
			nsenter --net="/run/netns/$LAB_TAG-n1" skiffd server --agent --socket "$1" --listen "" \
			--data-dir "$2/data" --set server.name=n1 --set agent.node-name=n1 \
			--set agent.runtime-root="$2/n1/rt" --set agent.image-root="$2/images" \
			--set agent.cgroup-root=pods-n1 --set agent.heartbeat-interval=2s \
			--set dns.upstream-resolv-conf="$2/upstream.conf" \
			--set store.fsync=false --log-level debug' "$CGROUPS" "$SOCK" "$TEST_DIR"
}

start_n2() {
	start_daemon n2 sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n2" \
			skiffd agent --server "$1" --node-name n2 --set agent.runtime-root="$2/n2/rt" \
			--set agent.image-root="$2/images" --set agent.cgroup-root=pods-n2 \
			--set agent.heartbeat-interval=2s \
			--set dns.upstream-resolv-conf="$2/upstream.conf" --log-level debug' \
		"$CGROUPS" "$SOCK" "$TEST_DIR"
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

ready_ips() { # the ready addresses of Endpoints web, sorted
	obj "endpoints default web" | jq -r '[.subsets[]?.addresses[]?.ip] | sort | join(",")'
}

test_expect_success 'lab: nodes n1 n2, an outside host, a stub upstream resolver, cgroups, busybox' '
	lab_switch &&
	lab_node n1 192.168.91.1/24 && lab_node n2 192.168.91.2/24 &&
	lab_node ext 192.168.91.9/24 && lab_node up 192.168.91.53/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 && lab_exec n2 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	at_exit cleanup_runtime &&
	echo "[{\"metadata\":{\"name\":\"www\",\"namespace\":\"default\"},\"spec\":{\"clusterIP\":\"10.1.2.3\",\"ports\":[{\"port\":80}]}}]" >stub.json &&
	start_daemon up ip netns exec "$LAB_TAG-up" dns-serve --listen 192.168.91.53:53 --domain example.test stub.json &&
	printf "# the lab stub resolver\nnameserver 192.168.91.53\n" >upstream.conf &&
	"$mkimage" busybox-rootfs rootfs &&
	"$mkimage" -t busybox:test -o bb-oci rootfs >/dev/null &&
	skiff-runtime image import bb-oci | grep -q "^imported busybox:test"
'

test_expect_success 'server --agent on n1, agent on n2: both Ready with podCIDRs and routes' '
	start_n1 &&
	wait_for "test -S $SOCK" 10 0.05 &&
	start_n2 &&
	for n in n1 n2; do
		wait_for "obj \"nodes $n\" | json_check \".spec.podCIDR != null and (.status.conditions[] | select(.type==\\\"Ready\\\") | .status == \\\"True\\\")\"" 20 0.1 || return 1
	done &&
	wait_for "lab_exec n1 ip route show proto 201 | grep -q \"via 192.168.91.2\"" 10 0.1 &&
	wait_for "lab_exec n2 ip route show proto 201 | grep -q \"via 192.168.91.1\"" 10 0.1
'

test_expect_success 'three backends and a client run; Endpoints list the three ready ones' '
	mkbackend be-1 n1 && mkbackend be-2 n1 && mkbackend be-3 n2 &&
	create "$(jq -cn "{apiVersion:\"v1\",kind:\"Pod\",metadata:{name:\"client\",namespace:\"default\"},
		spec:{nodeName:\"n2\",terminationGracePeriodSeconds:1,
		containers:[{name:\"c\",image:\"busybox:test\",command:[\"sleep\",\"1000\"]}]}}")" &&
	mksvc web $CIP "{\"type\":\"NodePort\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"nodePort\":30080}]}" &&
	mksvc web-local $LIP "{\"type\":\"NodePort\",\"externalTrafficPolicy\":\"Local\",\"ports\":[{\"name\":\"http\",\"port\":80,\"targetPort\":8080,\"nodePort\":30081}]}" &&
	mksvc web-sticky $SIP "{\"sessionAffinity\":\"ClientIP\"}" &&
	mksvc web-headless None "{\"ports\":[{\"name\":\"http\",\"port\":8080,\"targetPort\":8080}]}" &&
	for p in be-1 be-2 be-3 client; do
		wait_for "pj $p .status.phase | grep -qx Running" 30 0.1 || return 1
	done &&
	IPS=$(for p in be-1 be-2 be-3; do pj $p .status.podIP; done | sort | paste -sd, -) &&
	wait_for "test \"\$(ready_ips)\" = $IPS" 20 0.1 &&
	for p in be-1 be-2 be-3; do
		eval "IP_${p#be-}=\$(pj $p .status.podIP)" || return 1
	done
'

test_expect_success 'from the client pod on n2, 300 connections to the ClusterIP reach all three backends' '
	URL=http://$CIP/ &&
	wait_for "in_pod n2 client curl -s --max-time 2 $URL" 10 0.1 &&
	hits 300 nsenter --net="$(podns n2 client)" >seen &&
	! grep -q FAIL seen &&
	test "$(distinct <seen)" = be-1,be-2,be-3
'

test_expect_success 'the pods resolv.conf points at the DNS server on the node gateway' '
	uid=$(pj client .metadata.uid) &&
	printf "nameserver 10.244.1.1\nsearch default.svc.cluster.local svc.cluster.local cluster.local\noptions ndots:5\n" >want &&
	test_cmp want "$TEST_DIR/n2/rt/pods/$uid/resolv.conf"
'

q() { in_pod n2 client dns-query --timeout 3000 10.244.1.1:53 "$@"; }

test_expect_success 'DNS from the client pod: A of a service, headless, SRV, PTR, NXDOMAIN, a forwarded name' '
	wait_for "q web.default.svc.cluster.local | grep -q \"A $CIP\"" 10 0.1 &&
	q web.default.svc.cluster.local >a && grep -q "rcode NOERROR flags qr aa" a &&
	q web-headless.default.svc.cluster.local >h &&
	test "$(sed -n "s/^answer .* A //p" h | sort | paste -sd, -)" = "$IPS" &&
	q _http._tcp.web.default.svc.cluster.local SRV >srv &&
	grep -q "answer _http._tcp.web.default.svc.cluster.local 30 SRV 0 .* 80 web.default.svc.cluster.local" srv &&
	q 50.0.96.10.in-addr.arpa PTR >ptr &&
	grep -q "PTR web.default.svc.cluster.local" ptr &&
	q nope.default.svc.cluster.local >nx && grep -q "rcode NXDOMAIN" nx &&
	q www.default.svc.example.test >fwd &&
	grep -q "rcode NOERROR" fwd && grep -q "A 10.1.2.3" fwd && ! grep -q " aa" fwd
'

test_expect_success 'from the node itself: the ClusterIP works, an unallocated service IP is refused at once' '
	lab_exec n1 curl -s --max-time 2 http://$CIP/ | grep -q "^be-" &&
	lab_exec n2 curl -s --max-time 2 http://$CIP/ | grep -q "^be-" &&
	lab_exec n2 ip route show 10.96.0.0/12 | grep -q "dev skiff0" &&
	start=$(date +%s%N) &&
	! lab_exec n2 nc.openbsd -z -w 3 10.96.0.99 80 &&
	test $(( ($(date +%s%N) - start) / 1000000 )) -lt 1500
'

test_expect_success 'hairpin: a backend reaching its own service gets itself too' '
	URL=http://$CIP/ &&
	hits 40 nsenter --net="$(podns n1 be-1)" >seen &&
	! grep -q FAIL seen &&
	grep -qx be-1 seen
'

test_expect_success 'NodePort on both nodes from outside; externalTrafficPolicy Local keeps to local backends' '
	URL=http://192.168.91.1:30080/ && hits 20 lab_exec ext >seen1 &&
	URL=http://192.168.91.2:30080/ && hits 20 lab_exec ext >seen2 &&
	! grep -q FAIL seen1 seen2 &&
	test "$(cat seen1 seen2 | distinct)" = be-1,be-2,be-3 &&
	URL=http://192.168.91.2:30081/ && hits 15 lab_exec ext >local2 &&
	test "$(distinct <local2)" = be-3 &&
	URL=http://192.168.91.1:30081/ && hits 15 lab_exec ext >local1 &&
	test "$(distinct <local1)" = be-1,be-2
'

test_expect_success 'after an agent restart the rules are intact and the same' '
	table n2 >before &&
	grep -qE "$IP_3( \. |:)8080" before &&
	{ stop_daemon n2 KILL || :; } &&
	table n2 >during &&
	test_cmp before during &&
	URL=http://$CIP/ && hits 3 in_pod n2 client >seen && ! grep -q FAIL seen &&
	start_n2 &&
	wait_for "grep -q \"proxy: synced\" $TEST_DIR/n2.log" 20 0.1 &&
	table n2 >after &&
	test_cmp before after &&
	wait_for "in_pod n2 client dns-query --timeout 1000 10.244.1.1:53 web.default.svc.cluster.local | grep -q \"A $CIP\"" 10 0.1
'

test_expect_success 'drift: a table deleted behind the agent is put back whole within seconds' '
	table n1 >before1 &&
	lab_exec n1 nft delete table ip skiff-proxy &&
	wait_for "lab_exec n1 nft list table ip skiff-proxy" 5 0.1 &&
	table n1 >after1 &&
	test_cmp before1 after1 &&
	grep -q "changed behind the proxy.s back" "$TEST_DIR/n1.log"
'

test_expect_success 'sessionAffinity ClientIP: one client always reaches the same backend' '
	URL=http://$SIP/ &&
	hits 20 nsenter --net="$(podns n2 client)" >sticky &&
	! grep -q FAIL sticky &&
	test "$(distinct <sticky | tr , "\n" | wc -l)" = 1
'

test_expect_success 'a backend that becomes unready stops receiving traffic quickly' '
	rm "www/be-1/ready" &&
	start=$(date +%s%N) &&
	wait_for "! ready_ips | grep -q \"$IP_1\\b\"" 10 0.05 &&
	wait_for "! lab_exec n2 nft list table ip skiff-proxy | grep -qE \"$IP_1( |:)\"" 10 0.05 &&
	echo "unready to out of the rules: $(( ($(date +%s%N) - start) / 1000000 )) ms" &&
	URL=http://$CIP/ &&
	hits 30 nsenter --net="$(podns n2 client)" >seen &&
	! grep -q FAIL seen &&
	test "$(distinct <seen)" = be-2,be-3 &&
	: >"www/be-1/ready" &&
	wait_for "ready_ips | grep -q \"$IP_1\\b\"" 10 0.05
'

test_expect_success 'scaled to zero: connections to the ClusterIP are refused at once, not hung' '
	for p in be-1 be-2 be-3; do
		req "delete pods default $p" | head -n 1 | grep -q "^ok " || return 1
	done &&
	wait_for "test -z \"\$(ready_ips)\"" 20 0.1 &&
	wait_for "lab_exec n2 nft list table ip skiff-proxy | grep -q \"$CIP . tcp . 80 : goto reject-chain\"" 10 0.05 &&
	start=$(date +%s%N) &&
	! in_pod n2 client nc.openbsd -z -w 3 $CIP 80 &&
	test $(( ($(date +%s%N) - start) / 1000000 )) -lt 1500 &&
	test_expect_code 7 in_pod n2 client curl -s --max-time 3 http://$CIP/
'

test_expect_success 'headless services got no rules; no agent error was logged' '
	! lab_exec n1 nft list table ip skiff-proxy | grep -q web-headless &&
	! grep -E "error +(proxy|dns)" "$TEST_DIR/n1.log" "$TEST_DIR/n2.log"
'

test_done
