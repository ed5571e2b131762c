#!/bin/bash
test_description='kubelet: logs and exec relayed by the API server (one lab netns) to the agent endpoint of the pod node (another), with RBAC, follow, exit codes, and an endpoint that serves only the API server'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v openssl >/dev/null || skip_all "needs openssl"

SOCK=$TEST_DIR/api.sock
RT=$TEST_DIR/rt
API=192.168.92.10:6443
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

pj() { req "get pods default $1 rev=0" | sed -n 2p | jq -r "$2"; }

. "$(dirname "$0")/lib-kubelet.sh"

# mkpod here takes a shell command, not a container (lib-kubelet.sh's).
mkpod() { # NAME RESTARTPOLICY SHELL-COMMAND [EXTRA-SPEC-JSON]
	jq -cn --arg n "$1" --arg p "$2" --arg s "$3" --argjson x "${4:-"{}"}" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:"default"},
		  spec:({nodeName:"n1",restartPolicy:$p,terminationGracePeriodSeconds:1,
		         containers:[{name:"c",image:"busybox:test",command:["sh","-c",$s]}]} + $x)}' >"$1.json" &&
	req "create $(cat "$1.json")" | head -n 1 | grep -q "^ok 1 "
}

# as USER: skiff over TCP from the cp namespace with USER's token
as() {
	local tok=$1
	shift
	lab_exec cp env SKIFF_SERVER=$API SKIFF_TOKEN="$tok" skiff "$@"
}

start_agent() {
	start_daemon agent sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n1" \
			skiffd agent --server "$1" --node-name n1 --set agent.runtime-root="$2/rt" \
			--set agent.image-root="$2/images" --set agent.cgroup-root=pods \
			--set agent.heartbeat-interval=2s --set agent.token-file="$2/node-token" \
			--set agent.endpoint-key-file="$2/n1.key" --log-level debug' "$CGROUPS" "$API" "$TEST_DIR"
}

test_expect_success 'lab: the API server in cp, node n1 with its cgroups, a busybox image' '
	lab_switch &&
	lab_node cp 192.168.92.10/24 &&
	lab_node n1 192.168.92.1/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 &&
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

test_expect_success 'keys and tokens: a master key on the server, the derived key on n1' '
	openssl rand -hex 32 >agent-master &&
	printf "skiff-agent-endpoint:%s" n1 | openssl dgst -sha256 -hmac "$(cat agent-master)" -r |
		cut -d" " -f1 >n1.key &&
	test "$(wc -c <n1.key)" -eq 65 &&
	echo nodetok >node-token &&
	cat >tokens.csv <<-\EOF &&
	nodetok,system:node:n1,3001,"system:nodes"
	alicetok,alice,3002
	bobtok,bob,3003
	EOF
	chmod 600 tokens.csv agent-master n1.key node-token
'

test_expect_success 'server in cp, agent in n1 with a node token: podCIDR from node IPAM, the Node records the endpoint port' '
	start_daemon skiffd nsenter --net="/run/netns/$LAB_TAG-cp" skiffd server --socket "$SOCK" \
		--listen "$API" --data-dir "$TEST_DIR/data" --set server.name=cp \
		--set server.token-file="$TEST_DIR/tokens.csv" \
		--set server.agent-key-file="$TEST_DIR/agent-master" --set store.fsync=false &&
	wait_for "req \"get namespaces default rev=0\" | grep -q ^ok" 20 0.1 &&
	# with a node token (RBAC): the agent registers the Node and the
	# node IPAM of the controllers gives it its podCIDR
	start_agent &&
	wait_for "req \"get nodes n1 rev=0\" | sed -n 2p | json_check \".status.daemonEndpoints.kubeletEndpoint.Port == 10250 and .spec.podCIDR != null\"" 20 0.2
'

test_expect_success 'pods on n1 run' '
	mkpod talk Always "echo first; echo second; echo to-stderr >&2; exec sleep 1000" &&
	mkpod ticker Always "i=0; while true; do i=\$((i+1)); echo tick-\$i; sleep 0.2; done" &&
	mkpod short Never "sleep 2; for i in 1 2 3; do echo line-\$i; done" &&
	for p in talk ticker; do
		wait_for "pj $p .status.phase | grep -qx Running" 30 0.1 || return 1
	done &&
	wait_for "grep -q second $RT/pods/*/logs/c/1.log" 10 0.1
'

test_expect_success 'skiff logs: the lines of the container, through the server and the agent' '
	SKIFF_SERVER=$SOCK skiff logs talk >out &&
	printf "first\nsecond\nto-stderr\n" >expect &&
	test_cmp expect out &&
	SKIFF_SERVER=$SOCK skiff logs --tail=1 pod/talk >out &&
	echo to-stderr >expect &&
	test_cmp expect out &&
	SKIFF_SERVER=$SOCK skiff logs --timestamps --tail=1 talk >out &&
	grep -qE "^20[0-9-]+T[0-9:.]+Z to-stderr$" out &&
	req "logs default talk tail=2" >out &&
	head -n 1 out | grep -qx "ok 2 container=c"
'

test_expect_success 'skiff logs errors: unknown container, no previous run, unknown pod' '
	! SKIFF_SERVER=$SOCK skiff logs -c nope talk 2>err &&
	grep -q "container nope is not valid for pod talk" err &&
	! SKIFF_SERVER=$SOCK skiff logs --previous talk 2>err &&
	grep -q "previous terminated container" err &&
	SKIFF_SERVER=$SOCK skiff logs nosuch 2>err; test $? -eq 3 &&
	grep -q "not found" err
'

test_expect_success 'skiff logs -f streams new lines, and ends when the container ends' '
	(SKIFF_SERVER=$SOCK timeout 3 skiff logs -f ticker >follow; true) &&
	test "$(grep -c "^tick-" follow)" -ge 8 &&
	SKIFF_SERVER=$SOCK timeout 20 skiff logs -f short >out &&
	printf "line-1\nline-2\nline-3\n" >expect &&
	test_cmp expect out
'

test_expect_success 'a client that goes away ends the follow on the agent' '
	printf "logs default ticker follow\n" | timeout 2 nc.openbsd -U "$SOCK" >/dev/null;
	wait_for "test \$(lab_exec n1 ss -Htn state established \"( sport = :10250 )\" | wc -l) -eq 0" 10 0.1
'

test_expect_success 'skiff exec: stdout, stderr and the exit status of the command' '
	SKIFF_SERVER=$SOCK skiff exec talk -- sh -c "echo out-line; echo err-line >&2; exit 7" >out 2>err;
	test $? -eq 7 &&
	echo out-line >expect && test_cmp expect out &&
	echo err-line >expect && test_cmp expect err &&
	SKIFF_SERVER=$SOCK skiff exec talk -- hostname >out &&
	echo talk >expect && test_cmp expect out &&
	SKIFF_SERVER=$SOCK skiff exec talk -- true &&
	! SKIFF_SERVER=$SOCK skiff exec talk -- /no/such/command 2>err &&
	test -s err
'

test_expect_success 'exec of a container that is not running is a clear error' '
	wait_for "pj short .status.phase | grep -qx Succeeded" 20 0.1 &&
	! SKIFF_SERVER=$SOCK skiff exec short -- true 2>err &&
	grep -q "container c in pod short is not running" err
'

test_expect_success 'RBAC: get pods/log and create pods/exec, checked for the caller' '
	as alicetok logs talk 2>err; test $? -eq 5 &&
	grep -q "cannot get resource \"pods/log\"" err &&
	req "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"log-reader\",\"namespace\":\"default\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods/log\"],\"verbs\":[\"get\"]}]}" | head -n 1 | grep -q "^ok 1" &&
	req "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"bob-logs\",\"namespace\":\"default\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"bob\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"log-reader\"}}" | head -n 1 | grep -q "^ok 1" &&
	wait_for "as bobtok logs talk >out" 10 0.2 &&
	grep -qx second out &&
	as bobtok exec talk -- true 2>err; test $? -eq 5 &&
	grep -q "cannot create resource \"pods/exec\"" err &&
	as nodetok exec talk -- true 2>err; test $? -eq 5
'

test_expect_success 'the agent endpoint serves only the API server: a fresh nonce, bad or no proof is 401' '
	lab_exec cp sh -c "printf \"\" | timeout 3 nc.openbsd -N 192.168.92.1 10250" >hello1 &&
	lab_exec cp sh -c "printf \"\" | timeout 3 nc.openbsd -N 192.168.92.1 10250" >hello2 &&
	grep -qE "^skiff-agent 1 [0-9a-f]{32}$" hello1 &&
	! test_cmp hello1 hello2 &&
	lab_exec cp sh -c "printf \"exec default talk -- true\nmac %064d\n\" 0 | timeout 3 nc.openbsd -N 192.168.92.1 10250" >out &&
	grep -qx "error 401 Unauthorized bad credentials" out &&
	lab_exec cp sh -c "printf \"logs default talk\nlogs again\n\" | timeout 3 nc.openbsd -N 192.168.92.1 10250" >out &&
	grep -qx "error 401 Unauthorized bad credentials" out &&
	! grep -q second out &&
	grep -q "failed to authenticate" agent.log
'

test_expect_success 'a proof made with another node key is refused' '
	printf "skiff-agent-endpoint:%s" n2 | openssl dgst -sha256 -hmac "$(cat agent-master)" -r | cut -d" " -f1 >n2.key &&
	lab_exec cp bash -c "exec 3<>/dev/tcp/192.168.92.1/10250 2>/dev/null || exit 1; read -r _ _ nonce <&3;
		req=\"logs default talk\";
		mac=\$(printf \"skiff-agent-endpoint/1\n%s\n%s\" \"\$nonce\" \"\$req\" | openssl dgst -sha256 -hmac \"\$(cat n2.key)\" -r | cut -d\" \" -f1);
		printf \"%s\nmac %s\n\" \"\$req\" \"\$mac\" >&3; timeout 3 cat <&3" >out &&
	grep -qx "error 401 Unauthorized bad credentials" out &&
	lab_exec cp bash -c "exec 3<>/dev/tcp/192.168.92.1/10250 2>/dev/null || exit 1; read -r _ _ nonce <&3;
		req=\"logs default talk\";
		mac=\$(printf \"skiff-agent-endpoint/1\n%s\n%s\" \"\$nonce\" \"\$req\" | openssl dgst -sha256 -hmac \"\$(cat n1.key)\" -r | cut -d\" \" -f1);
		printf \"%s\nmac %s\n\" \"\$req\" \"\$mac\" >&3; timeout 3 cat <&3" >out &&
	head -n 1 out | grep -qx "ok 3 container=c"
'

test_expect_success 'pods the relay cannot reach: unassigned, a node without endpoint, an agent that is down' '
	jq -cn "{apiVersion:\"v1\",kind:\"Pod\",metadata:{name:\"pending\",namespace:\"default\"},spec:{nodeSelector:{nowhere:\"x\"},containers:[{name:\"c\",image:\"busybox:test\"}]}}" >p.json &&
	req "create $(cat p.json)" | head -n 1 | grep -q "^ok 1 " &&
	req "logs default pending" | grep -q "^error 400 BadRequest pod pending does not have a host assigned" &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"}}" | head -n 1 | grep -q "^ok 1 " &&
	jq -cn "{apiVersion:\"v1\",kind:\"Pod\",metadata:{name:\"on2\",namespace:\"default\"},spec:{nodeName:\"n2\",containers:[{name:\"c\",image:\"busybox:test\"}]}}" >p.json &&
	req "create $(cat p.json)" | head -n 1 | grep -q "^ok 1 " &&
	req "logs default on2" | grep -q "^error 503 Unavailable node \"n2\" has no agent endpoint" &&
	stop_daemon agent &&
	req "logs default talk" | grep -q "^error 503 Unavailable node agent .n1. at 192.168.92.1:10250: connect: Connection refused" &&
	start_agent &&
	wait_for "req \"logs default talk\" | head -n 1 | grep -qx \"ok 3 container=c\"" 20 0.2
'

test_expect_success 'something that is not an agent at a node endpoint is 502 BadGateway' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n3\"}}" | head -n 1 | grep -q "^ok 1 " &&
	req "get nodes n3 rev=0" | sed -n 2p |
		jq -c ".status = {addresses: [{type: \"InternalIP\", address: \"192.168.92.10\"}], daemonEndpoints: {kubeletEndpoint: {Port: 9999}}}" >n3.json &&
	req "status $(cat n3.json)" | head -n 1 | grep -q "^ok 1 " &&
	jq -cn "{apiVersion:\"v1\",kind:\"Pod\",metadata:{name:\"on3\",namespace:\"default\"},spec:{nodeName:\"n3\",containers:[{name:\"c\",image:\"busybox:test\"}]}}" >p.json &&
	req "create $(cat p.json)" | head -n 1 | grep -q "^ok 1 " &&
	{ lab_exec cp sh -c "printf \"not-an-agent\n\" | timeout 10 nc.openbsd -l 192.168.92.10 9999" >/dev/null 2>&1 & } &&
	wait_for "lab_exec cp ss -Hltn \"( sport = :9999 )\" | grep -q 9999" 10 0.05 &&
	req "logs default on3" | grep -q "^error 502 BadGateway node agent .n3. at 192.168.92.10:9999: not a skiff agent endpoint"
'

test_expect_success 'every pod deleted: nothing left on n1' '
	for p in talk ticker short pending on2 on3; do
		req "delete pods default $p grace=0" >/dev/null || return 1
	done &&
	wait_for "test -z \"\$(skiff-runtime --root $RT/containers list -q)\"" 30 0.2 &&
	wait_for "test -z \"\$(ls $RT/pods)\"" 10 0.2
'

test_done
