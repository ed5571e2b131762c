#!/bin/bash
test_description='kubelet: skiffd server --agent inside a lab node runs pods: status, podIP, restarts, probes, graceful deletion, re-adoption after kill -9'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"

SOCK=$TEST_DIR/api.sock
RT=$TEST_DIR/rt
export SKIFF_IMAGE_ROOT=$TEST_DIR/images
mkimage=$SRCDIR/t/mkimage

. "$(dirname "$0")/lib-kubelet.sh"

# pj NAME JQ: a field of the stored pod
pj() {
	pod_json "$1" | jq -r "$2"
}

start_agent() {
	start_daemon agent sh -c '
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n1" \
			skiffd agent --server "$1" --node-name n1 --set agent.runtime-root="$2/rt" \
			--set agent.image-root="$2/images" --set agent.cgroup-root=pods \
			--set agent.heartbeat-interval=2s' "$CGROUPS" "$SOCK" "$TEST_DIR"
}

test_expect_success 'lab: node n1, its cgroups, a busybox image' '
	lab_switch &&
	lab_node n1 192.168.91.1/24 &&
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

test_expect_success 'server --agent registers node n1: Ready, podCIDR, capacity, labels' '
	start_node &&
	wait_for "node_json | json_check \".spec.podCIDR != null and (.status.conditions[] | select(.type==\\\"Ready\\\") | .status == \\\"True\\\")\"" 20 0.2 &&
	node_json >node.json && test -s node.json &&
	jq -e ".spec.podCIDR == \"10.244.0.0/24\"" node.json &&
	jq -e ".metadata.labels[\"kubernetes.io/hostname\"] == \"n1\" and .metadata.labels[\"kubernetes.io/os\"] == \"linux\"" node.json &&
	jq -e ".status.capacity.pods == 110 and (.status.allocatable.memory | length > 0)" node.json &&
	jq -e "[.status.conditions[].type] | sort == [\"DiskPressure\",\"MemoryPressure\",\"PIDPressure\",\"Ready\"]" node.json &&
	jq -e ".status.addresses[] | select(.type == \"InternalIP\") | .address == \"192.168.91.1\"" node.json &&
	jq -e ".status.nodeInfo.kernelVersion | length > 0" node.json &&
	lab_exec n1 ip -o addr show skiff0 | grep -q "10.244.0.1/24"
'

test_expect_success 'the heartbeat moves lastHeartbeatTime' '
	hb=$(jq -r ".status.conditions[0].lastHeartbeatTime" node.json) && test -n "$hb" &&
	wait_for "test \"\$(node_json | jq -r .status.conditions[0].lastHeartbeatTime)\" != $hb" 10 0.2
'

test_expect_success 'host-gw: a route to another node podCIDR via its address, unreachable route for the cluster network, the service network on the bridge' '
	n2="{\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"},\"spec\":{\"podCIDR\":\"10.244.5.0/24\"}}" &&
	req "create $n2" | head -n 1 | grep -q "^ok 1 " &&
	st=$(echo "$n2" | jq -c ".status = {addresses: [{type: \"InternalIP\", address: \"192.168.91.2\"}]}") &&
	req "status $st" | head -n 1 | grep -q "^ok 1 " &&
	wait_for "lab_exec n1 ip route show proto 201 | grep -q \"10.244.5.0/24 via 192.168.91.2\"" 10 0.1 &&
	lab_exec n1 ip route show proto 201 >routes &&
	grep -q "unreachable 10.244.0.0/16" routes &&
	wait_for "lab_exec n1 ip route show proto 201 | grep -q \"^10.96.0.0/12 dev skiff0\"" 10 0.1 &&
	req "delete nodes n2" | head -n 1 | grep -q "^ok 1 " &&
	wait_for "! lab_exec n1 ip route show proto 201 | grep -q 10.244.5.0" 10 0.1
'

test_expect_success 'a bound pod runs: Running, Ready by its httpGet probe, podIP reachable from the node' '
	mkpod web Always "$(ctr web "mkdir -p /www && echo hello >/www/index.html && exec httpd -f -v -p 8080 -h /www" \
		"{\"readinessProbe\":{\"httpGet\":{\"path\":\"/index.html\",\"port\":8080},\"periodSeconds\":1},
		  \"livenessProbe\":{\"tcpSocket\":{\"port\":8080},\"periodSeconds\":1}}")" \
		"{\"terminationGracePeriodSeconds\":5}" &&
	wait_for "pj web .status.phase | grep -qx Running" 20 0.1 &&
	wait_for "pj web \".status.conditions[] | select(.type==\\\"Ready\\\") | .status\" | grep -qx True" 20 0.1 &&
	pod_json web >web.json && test -s web.json &&
	ip=$(jq -r .status.podIP web.json) &&
	case "$ip" in 10.244.0.*) ;; *) echo "podIP $ip"; false ;; esac &&
	jq -e ".status.hostIP == \"192.168.91.1\" and (.status.startTime | length > 0)" web.json &&
	jq -e ".status.containerStatuses[0] | .ready and .restartCount == 0 and (.containerID | startswith(\"skiff://\")) and .state.running.startedAt != null" web.json &&
	http_get "$ip" >page &&
	grep -qx hello page
'

test_expect_success 'the container writes its output to a log file under the runtime root' '
	uid=$(jq -r .metadata.uid web.json) &&
	mkpod talk Always "$(ctr talk "echo said-something; exec sleep 1000")" &&
	wait_for "grep -q said-something $RT/pods/*/logs/talk/1.log" 20 0.1 &&
	grep -q " stdout F said-something" $RT/pods/*/logs/talk/1.log
'

test_expect_success 'the logs verb is relayed to the agent endpoint, which answers from the log files' '
	req "logs default talk" >out &&
	head -n 1 out | grep -qx "ok 1 container=talk" &&
	sed -n 2p out | grep -qx said-something &&
	req "logs default talk tail=0" | head -n 1 | grep -qx "ok 0 container=talk" &&
	req "logs default talk container=nope" | grep -q "^error 400 BadRequest container nope is not valid" &&
	req "logs default talk previous" | grep -q "^error 400 BadRequest previous terminated container" &&
	printf "logs default talk follow tail=1\n" | timeout 2 nc.openbsd -U "$SOCK" | head -n 2 >follow;
	head -n 1 follow | grep -qx "ok stream container=talk" &&
	sed -n 2p follow | grep -qx "1 said-something" &&
	req "logs default elsewhere" | grep -q "^error 404 NotFound pods \"elsewhere\" not found" &&
	jq -e ".status.daemonEndpoints.kubeletEndpoint.Port == 10250" node.json
'

test_expect_success 'init containers run in order, to completion, before the app container; emptyDir is shared' '
	vm="{\"volumeMounts\":[{\"name\":\"work\",\"mountPath\":\"/work\"}]}" &&
	inits="[$(ctr one "echo one >>/work/order" "$vm"),$(ctr two "sleep 1; echo two >>/work/order" "$vm")]" &&
	mkpod init Always "$(ctr main "cat /work/order; exec sleep 1000" "$vm")" \
		"{\"initContainers\":$inits,\"volumes\":[{\"name\":\"work\",\"emptyDir\":{}}]}" &&
	wait_for "pj init .status.phase | grep -qx Running" 20 0.1 &&
	pod_json init >init-st.json &&
	jq -e "[.status.initContainerStatuses[].state.terminated.reason] == [\"Completed\",\"Completed\"]" init-st.json &&
	jq -e ".status.conditions[] | select(.type==\"Initialized\") | .status == \"True\"" init-st.json &&
	wait_for "req \"logs default init\" | grep -qx two" 10 0.1 &&
	req "logs default init" | sed 1d | paste -sd, | grep -qx "one,two"
'

test_expect_success 'a container that exits is restarted: restartCount and lastState' '
	mkpod crash Always "$(ctr c "sleep 0.5; exit 3")" &&
	wait_for "pj crash \".status.containerStatuses[0].restartCount\" | grep -qx [1-9]" 30 0.1 &&
	wait_for "pj crash \".status.containerStatuses[0].lastState.terminated.exitCode\" | grep -qx 3" 20 0.1 &&
	pj crash ".status.containerStatuses[0].lastState.terminated.reason" | grep -qx Error
'

test_expect_success 'a crash loop is reported as CrashLoopBackOff' '
	wait_for "pj crash \".status.containerStatuses[0].state.waiting.reason\" | grep -qx CrashLoopBackOff" 30 0.1
'

test_expect_success 'restartPolicy Never: exit 0 is Succeeded, exit 2 is Failed' '
	mkpod ok Never "$(ctr c "exit 0")" &&
	mkpod bad Never "$(ctr c "exit 2")" &&
	wait_for "pj ok .status.phase | grep -qx Succeeded" 20 0.1 &&
	wait_for "pj bad .status.phase | grep -qx Failed" 20 0.1 &&
	pj bad ".status.containerStatuses[0].state.terminated.exitCode" | grep -qx 2 &&
	pj ok ".status.containerStatuses[0].restartCount" | grep -qx 0
'

test_expect_success 'a failing liveness probe restarts the container' '
	mkpod live Always "$(ctr c "touch /tmp/ok; sleep 2; rm /tmp/ok; exec sleep 1000" \
		"{\"livenessProbe\":{\"exec\":{\"command\":[\"cat\",\"/tmp/ok\"]},\"periodSeconds\":1,\"failureThreshold\":1}}")" &&
	wait_for "pj live .status.containerStatuses[0].restartCount | grep -qx [1-9]" 30 0.1 &&
	req "list events default rev=0" | grep -q "Liveness probe failed"
'

test_expect_success 'readiness drives the Ready condition' '
	mkpod rdy Always "$(ctr c "sleep 3; touch /tmp/ready; exec sleep 1000" \
		"{\"readinessProbe\":{\"exec\":{\"command\":[\"cat\",\"/tmp/ready\"]},\"periodSeconds\":1}}")" &&
	wait_for "pj rdy .status.phase | grep -qx Running" 20 0.1 &&
	pj rdy ".status.conditions[] | select(.type==\"Ready\") | .status" | grep -qx False &&
	wait_for "pj rdy \".status.conditions[] | select(.type==\\\"Ready\\\") | .status\" | grep -qx True" 20 0.1
'

test_expect_success 'a missing image is a clear waiting reason' '
	mkpod noimg Always "{\"name\":\"c\",\"image\":\"nosuch:1\"}" &&
	wait_for "pj noimg .status.containerStatuses[0].state.waiting.reason | grep -qx ErrImageNeverPull" 20 0.1 &&
	pj noimg .status.containerStatuses[0].state.waiting.message | grep -q "not present"
'

test_expect_success 'kill -9 of skiffd: the containers keep running and are re-adopted, not restarted' '
	pod_json web >before.json && test -s before.json &&
	cid=$(jq -r ".status.containerStatuses[0].containerID" before.json) &&
	cpid=$(skiff-runtime --root "$RT/containers" state "${cid#skiff://}" | jq -r .pid) &&
	stop_daemon skiffd KILL;
	kill -0 "$cpid" &&
	start_node &&
	wait_for "node_json | grep -q n1" 20 0.2 &&
	sleep 3 &&
	pod_json web >after.json && test -s after.json &&
	jq -e ".status.phase == \"Running\" and .status.containerStatuses[0].restartCount == 0" after.json &&
	test "$(jq -r .status.containerStatuses[0].containerID after.json)" = "$cid" &&
	kill -0 "$cpid" &&
	http_get "$ip" | grep -qx hello &&
	grep -q "adopted container" skiffd.log
'

test_expect_success 'delete: graceful stop within the grace period, then the object, veth and address are gone' '
	uid=$(pj web .metadata.uid) &&
	veths=$(lab_exec n1 ip -o link show | grep -c ": skf") &&
	req "delete pods default web" | head -n 1 | grep -q terminating &&
	wait_for "! req \"get pods default web rev=0\" | grep -q ^ok" 20 0.1 &&
	wait_for "test \$(lab_exec n1 ip -o link show | grep -c \": skf\") -eq $((veths - 1))" 20 0.1 &&
	wait_for "! grep -q $uid $RT/ipam" 20 0.1 &&
	test ! -d "$RT/pods/$uid"
'

test_expect_success 'delete waits the grace period for a container that ignores SIGTERM' '
	mkpod stubborn Always "$(ctr c "trap \"\" TERM; while true; do sleep 0.2; done")" \
		"{\"terminationGracePeriodSeconds\":2}" &&
	wait_for "pj stubborn .status.phase | grep -qx Running" 20 0.1 &&
	t0=$(date +%s%N) &&
	req "delete pods default stubborn" | head -n 1 | grep -q terminating &&
	wait_for "! req \"get pods default stubborn rev=0\" | grep -q ^ok" 20 0.1 &&
	t1=$(date +%s%N) &&
	test $(( (t1 - t0) / 1000000 )) -ge 1900
'

test_expect_success 'skiffd agent on its own, next to skiffd server: re-adopts the running pods' '
	cid=$(pj talk ".status.containerStatuses[0].containerID") &&
	case "$cid" in skiff://*) ;; *) false ;; esac &&
	stop_daemon skiffd &&
	start_daemon server sh -c '"'"'
		for d in $0; do echo $$ >"$d/cgroup.procs" || exit 1; done
		exec unshare -m --propagation private nsenter --net="/run/netns/$LAB_TAG-n1" \
			skiffd server --socket "$1" --listen "" --data-dir "$2/data" --set server.name=n1 \
			--set store.fsync=false'"'"' "$CGROUPS" "$SOCK" "$TEST_DIR" &&
	wait_for "node_json | grep -q n1" 20 0.2 &&
	start_agent &&
	wait_for "grep -q \"adopted container .talk.\" agent.log" 20 0.1 &&
	hb=$(node_json | jq -r ".status.conditions[0].lastHeartbeatTime") &&
	wait_for "test \"\$(node_json | jq -r .status.conditions[0].lastHeartbeatTime)\" != $hb" 10 0.2 &&
	test "$(pj talk ".status.containerStatuses[0].containerID")" = "$cid" &&
	pj talk .status.phase | grep -qx Running
'

test_expect_success 'orphans: a pod force-deleted while the agent was down is cleaned up when it starts' '
	uid=$(pj ok .metadata.uid) && test -n "$uid" &&
	test -d "$RT/pods/$uid" &&
	stop_daemon agent KILL;
	req "delete pods default ok grace=0" | head -n 1 | grep -q "^ok 1 " &&
	start_agent &&
	wait_for "test ! -d $RT/pods/$uid" 20 0.1 &&
	! skiff-runtime --root "$RT/containers" list -q | grep -q "$uid" &&
	wait_for "! grep -q $uid $RT/ipam" 20 0.1 &&
	grep -q "removing orphaned container .$uid" agent.log
'

test_expect_success 'a deleted pod whose netns something else holds: address kept while its veth lingers, veth deleted after 30 s with a warning' '
	mkpod held Always "$(ctr c "sleep 3600")" &&
	wait_for "pj held .status.phase | grep -qx Running" 20 0.1 &&
	uid=$(pj held .metadata.uid) &&
	spid=$(cut -d" " -f1 "$RT/pods/$uid/sandbox") &&
	hpid=$(nsenter --net="/proc/$spid/ns/net" sh -c "sleep 120 </dev/null >/dev/null 2>&1 & echo \$!") &&
	test_when_finished "kill $hpid 2>/dev/null; true" &&
	wait_for "test \"\$(readlink /proc/$hpid/ns/net)\" = \"\$(readlink /proc/$spid/ns/net)\"" 10 0.05 &&
	req "delete pods default held grace=1" | head -n 1 | grep -q "^ok" &&
	wait_for "! req \"get pods default held rev=0\" | grep -q ^ok" 20 0.1 &&
	wait_for "test ! -d $RT/pods/$uid" 10 0.1 &&
	lab_exec n1 ip -d -o link show | grep -q "alias $uid" &&
	grep -q "$uid" "$RT/ipam" &&
	wait_for "! lab_exec n1 ip -d -o link show | grep -q \"alias $uid\"" 45 0.5 &&
	wait_for "! grep -q $uid $RT/ipam" 5 0.1 &&
	grep -q "pod .$uid.: veth .skf[0-9a-f]*. still there" agent.log
'

test_expect_success 'every remaining pod deleted: no sandbox, veth or container left' '
	for p in talk init crash bad live rdy noimg; do
		req "delete pods default $p grace=1" >/dev/null || return 1
	done &&
	wait_for "req \"list pods default rev=0\" | head -n 1 | grep -q \"^ok 0 \"" 30 0.2 &&
	wait_for "test -z \"\$(skiff-runtime --root $RT/containers list -q)\"" 10 0.1 &&
	wait_for "! lab_exec n1 ip -o link show | grep -q \": skf\"" 20 0.1 &&
	test -z "$(ls "$RT/pods")"
'

test_done
