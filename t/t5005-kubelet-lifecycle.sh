#!/bin/bash
test_description='kubelet: lifecycle hooks (preStop before SIGTERM and cut by the grace period, httpGet preStop, postStart gating readiness and killing on failure) and the stats of skiff top'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"

SOCK=$TEST_DIR/api.sock
RT=$TEST_DIR/rt
HP=$TEST_DIR/hp
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

. "$(dirname "$0")/lib-kubelet.sh"

pj() {
	pod_json "$1" | jq -r "$2"
}

# hpod NAME GRACE SHELL-COMMAND LIFECYCLE-JSON [CONTAINER-EXTRA]: a pod whose
# container sees the test's directory $HP/NAME at /hp
hpod() {
	mkdir -p "$HP/$1" &&
	jq -cn --arg n "$1" --argjson g "$2" --arg s "$3" --argjson lc "$4" \
		--arg hp "$HP/$1" --argjson x "${5:-"{}"}" \
		'{apiVersion:"v1",kind:"Pod",metadata:{name:$n,namespace:"default"},
		  spec:{nodeName:"n1",restartPolicy:"Always",terminationGracePeriodSeconds:$g,
		        volumes:[{name:"hp",hostPath:{path:$hp,type:"Directory"}}],
		        containers:[({name:"c",image:"busybox:test",command:["sh","-c",$s],
		                      lifecycle:$lc,volumeMounts:[{name:"hp",mountPath:"/hp"}]} + $x)]}}' \
		>"$1.json" &&
	req "create $(cat "$1.json")" | head -n 1 | grep -q "^ok 1 "
}

gone() {
	! req "get pods default $1 rev=0" | grep -q ^ok
}

events() {
	req "list events default rev=0"
}

test_expect_success 'lab: node n1, its cgroups, a busybox image' '
	lab_switch &&
	lab_node n1 192.168.93.1/24 &&
	lab_exec n1 sysctl -qw net.ipv4.ip_forward=1 &&
	CGROUPS= &&
	for h in unified memory pids cpu devices; do
		[ -d "$(cgroup_mount $h)" ] || continue
		CGROUPS="$CGROUPS $(lab_cgroup $h)" || return 1
	done &&
	at_exit cleanup_runtime &&
	"$mkimage" busybox-rootfs rootfs &&
	"$mkimage" -t busybox:test -o bb-oci rootfs >/dev/null &&
	skiff-runtime image import bb-oci | grep -q "^imported busybox:test" &&
	start_node &&
	wait_for "node_json | json_check \".spec.podCIDR != null and (.status.conditions[] | select(.type==\\\"Ready\\\") | .status == \\\"True\\\")\"" 20 0.2
'

test_expect_success 'an invalid lifecycle is refused by the API with the field path' '
	resp=$(req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"badlc\",\"namespace\":\"default\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"busybox:test\",\"lifecycle\":{\"preStop\":{\"exec\":{}}}}]}}") &&
	echo "$resp" | grep -q "^error 422 " &&
	echo "$resp" | grep -q "spec.containers\[0\].lifecycle.preStop.exec.command: Required value"
'

test_expect_success 'preStop runs before SIGTERM, and SIGTERM follows at once' '
	hpod pre 30 "trap \"echo term >>/hp/log; exit 0\" TERM; while :; do sleep 0.1; done" \
		"{\"preStop\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo prestop >>/hp/log\"]}}}" &&
	wait_for "pj pre .status.phase | grep -qx Running" 20 0.1 &&
	t0=$(date +%s) &&
	req "delete pods default pre" | head -n 1 | grep -q terminating &&
	wait_for "gone pre" 20 0.1 &&
	t1=$(date +%s) &&
	printf "prestop\nterm\n" >expect &&
	test_cmp expect "$HP/pre/log" &&
	test $((t1 - t0)) -lt 15
'

test_expect_success 'a preStop hook that hangs is cut by the grace period (FailedPreStopHook)' '
	hpod hang 2 "trap \"\" TERM; while :; do sleep 0.2; done" \
		"{\"preStop\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo started >/hp/hook; sleep 1000\"]}}}" &&
	wait_for "pj hang .status.phase | grep -qx Running" 20 0.1 &&
	t0=$(date +%s) &&
	req "delete pods default hang" | head -n 1 | grep -q terminating &&
	wait_for "gone hang" 20 0.1 &&
	t1=$(date +%s) &&
	grep -qx started "$HP/hang/hook" &&
	test $((t1 - t0)) -lt 12 &&
	wait_for "events | grep -q FailedPreStopHook" 10 0.2
'

test_expect_success 'an httpGet preStop reaches the container on its port' '
	hpod web 2 "nc -l -p 8080 >/hp/req; sleep 1000" \
		"{\"preStop\":{\"httpGet\":{\"path\":\"/bye\",\"port\":\"http\"}}}" \
		"{\"ports\":[{\"name\":\"http\",\"containerPort\":8080}]}" &&
	wait_for "pj web .status.phase | grep -qx Running" 20 0.1 &&
	req "delete pods default web" | head -n 1 | grep -q terminating &&
	wait_for "gone web" 20 0.1 &&
	grep -q "^GET /bye HTTP/1" "$HP/web/req"
'

test_expect_success 'postStart runs after the start; the container is Ready once it is done' '
	hpod post 1 "exec sleep 1000" \
		"{\"postStart\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"sleep 2; echo done >/hp/post\"]}}}" &&
	wait_for "pj post .status.phase | grep -qx Running" 20 0.1 &&
	r=$(pj post ".status.containerStatuses[0].ready") &&
	{ test "$r" != true || test -f "$HP/post/post"; } &&
	wait_for "pj post \".status.conditions[] | select(.type==\\\"Ready\\\") | .status\" | grep -qx True" 20 0.1 &&
	grep -qx done "$HP/post/post"
'

test_expect_success 'a failing postStart kills the run: FailedPostStartHook, restarted' '
	hpod postbad 1 "exec sleep 1000" \
		"{\"postStart\":{\"exec\":{\"command\":[\"sh\",\"-c\",\"echo no; exit 3\"]}}}" &&
	wait_for "events | grep -q FailedPostStartHook" 20 0.2 &&
	wait_for "pj postbad .status.containerStatuses[0].restartCount | grep -qx [1-9]" 30 0.2 &&
	pj postbad .status.containerStatuses[0].lastState.terminated.reason | grep -qx PostStartHookError
'

test_expect_success 'stats: a busy container has CPU time and a CPU rate; skiff top shows it' '
	mkpod busy Always "$(ctr c "while :; do :; done")" &&
	wait_for "pj busy .status.phase | grep -qx Running" 20 0.1 &&
	wait_for "req \"stats n1\" >stats1 && sed -n 2p stats1 | json_check \"[.pods[] | select(.podRef.name == \\\"busy\\\") | .containers[0].cpu.usageCoreNanoSeconds] | .[0] > 0\"" 20 0.2 &&
	head -n 1 stats1 | grep -q "^ok 1 stats" &&
	sed -n 2p stats1 | json_check ".node.nodeName == \"n1\" and .node.memory.workingSetBytes > 0" &&
	sed -n 2p stats1 | json_check "[.pods[] | select(.podRef.name == \"busy\") | .containers[0].cpu.usageCoreNanoSeconds] | .[0] > 0" &&
	sed -n 2p stats1 | json_check "[.pods[] | select(.podRef.name == \"busy\") | .containers[0].memory.workingSetBytes] | .[0] > 0" &&
	wait_for "req \"stats n1\" | sed -n 2p | json_check \"[.pods[] | select(.podRef.name == \\\"busy\\\") | .cpu.usageNanoCores] | .[0] > 100000000\"" 20 1.2 &&
	skiff -s "$SOCK" top pods busy >top.out &&
	head -n 1 top.out | grep -q "^NAME  *CPU(cores)  *MEMORY(bytes)" &&
	grep -q "^busy  *[0-9][0-9]*m " top.out &&
	skiff -s "$SOCK" top nodes >topn.out &&
	grep -q "^n1  *[0-9][0-9]*m  *[0-9]*%  *[0-9]*Mi  *[0-9]*%" topn.out &&
	skiff -s "$SOCK" top pods --containers --no-headers | grep -q "^busy  *c  *[0-9]*m" &&
	skiff -s "$SOCK" top pods -o json | json_check ".items[0].node.nodeName == \"n1\""
'

test_expect_success 'stats: a container with a memory limit reports its cgroup usage and working set' '
	mkpod lim Always "$(ctr c "exec sleep 1000" "{\"resources\":{\"limits\":{\"memory\":\"64Mi\"}}}")" &&
	wait_for "pj lim .status.phase | grep -qx Running" 20 0.1 &&
	wait_for "req \"stats n1\" | sed -n 2p | json_check \"[.pods[] | select(.podRef.name == \\\"lim\\\") | .containers[0].memory | .usageBytes > 0 and .workingSetBytes > 0 and .workingSetBytes <= .usageBytes] | .[0]\"" 20 1.2
'

test_expect_success 'stats of an unknown node is 404, a request without a node 400' '
	req "stats nosuch" | head -n 1 | grep -q "^error 404 " &&
	req "stats" | head -n 1 | grep -q "^error 400 "
'

test_expect_success 'every pod deleted: nothing left' '
	for p in post postbad busy lim; do
		req "delete pods default $p grace=1" >/dev/null || return 1
	done &&
	wait_for "req \"list pods default rev=0\" | head -n 1 | grep -q \"^ok 0 \"" 30 0.2 &&
	wait_for "test -z \"\$(skiff-runtime --root $RT/containers list -q)\"" 10 0.1
'

test_done
