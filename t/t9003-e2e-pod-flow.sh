#!/bin/bash
test_description='end to end on the 3+3 lab cluster: the Pod Creation Flow step by step (stored, scheduled, bound, started, Running) seen by a watch and events; self-healing: a killed container, a deleted pod, a dead worker, the worker coming back'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"
command -v jq >/dev/null || skip_all "needs jq"

. "$SRCDIR/t/lab-cluster"
LC_DIR=$TEST_DIR/lab
LC_TAG=$LAB_TAG
# A silent node is NotReady after 4 s; the test's pods tolerate that 2 s.
LC_NODE_GRACE=4s
LC_HEARTBEAT=1s
at_exit lc_down

k() { lc_skiff c1 "$@"; }

# pod NAME JQ: a field of the pod (local read of c1).
pod() {
	k get pods "$1" -o json | jq -r "$2"
}

# http_get FROM IP: the page of the pod at IP, fetched from machine FROM.
http_get() {
	printf 'GET /index.html HTTP/1.0\r\n\r\n' |
		lc_exec "$1" timeout 5 nc.openbsd -w 3 "$2" 8080 | tr -d '\r' | sed '1,/^$/d'
}

# running NAME...: live (not terminating) pods of app=hello, "name node phase"
hello_pods() {
	k get pods -l app=hello -o json |
		jq -r '.items[] | select(.metadata.deletionTimestamp == null) | "\(.metadata.name) \(.spec.nodeName // "-") \(.status.phase)"'
}

hello_running() {
	test "$(hello_pods | awk '$3 == "Running"' | wc -l)" -eq "$1" &&
		test "$(hello_pods | wc -l)" -eq "$1"
}

httpd='mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && exec httpd -f -p 8080 -h /www'

test_expect_success 'the lab cluster: 3 control-plane members agree on a leader, 3 workers Ready' '
	lc_up &&
	lc_leader >leader && grep -qx "c[123]" leader &&
	test "$(lc_ready_nodes)" -eq 3
'

# The watch prints nothing while there are no pods: an anchor pod that
# fits no node shows when the watch is established.
test_expect_success 'pod flow: apply -> stored -> scheduled -> bound -> started on the node -> Running, seen by a watch' '
	printf "apiVersion: v1\nkind: Pod\nmetadata: {name: anchor}\nspec:\n  nodeSelector: {nowhere: \"true\"}\n  containers: [{name: c, image: busybox:test}]\n" |
		k create -f - &&
	skiff -s "$(lc_sock c1)" get pods -w -o custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,PHASE:.status.phase \
		>watch.out 2>&1 &
	echo $! >watch.pid &&
	at_exit "kill \$(cat $TEST_DIR/watch.pid) 2>/dev/null" &&
	wait_for "grep -q \"^anchor \" watch.out" 10 &&
	cat >pod.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: web, labels: {app: web}}
	spec:
	  containers:
	  - name: web
	    image: busybox:test
	    command: [sh, -c, '"'$httpd'"']
	EOF
	k apply -f pod.yaml >out && grep -qx "pod/web created" out &&
	k kv get /registry/pods/default/web >stored && grep -q "\"name\":\"web\"" stored &&
	wait_for "test \"\$(pod web .status.phase)\" = Running" 30 0.2 &&
	node=$(pod web .spec.nodeName) && case $node in w[123]) ;; *) false ;; esac &&
	kill $(cat watch.pid) &&
	cat watch.out &&
	awk "\$1 == \"web\" { print \$2, \$3 }" watch.out | uniq >seq &&
	head -n 1 seq | grep -qx "<none> Pending" &&
	grep -qx "$node Pending" seq &&
	tail -n 1 seq | grep -qx "$node Running" &&
	test "$(grep -n "" seq | grep "<none> Pending" | cut -d: -f1 | head -n 1)" -lt \
		"$(grep -n "" seq | grep "$node Pending" | cut -d: -f1 | head -n 1)"
'

test_expect_success 'pod flow: events say Scheduled (to that node), then Started (in store order: the table is by second)' '
	wait_for "k events --for pod/web | grep -q Started" 10 0.2 &&
	k events --for pod/web >events && cat events &&
	grep "Scheduled" events | grep -q "assigned default/web to $node" &&
	grep -q "Started" events &&
	k events --for pod/web -o json >events.json &&
	jq -r "[.items[] | {r: (.metadata.resourceVersion | tonumber), reason}] | sort_by(.r) | .[].reason" \
		events.json | paste -sd" " >order &&
	grep -q "Scheduled.*Started" order
'

test_expect_success 'pod flow: the container runs on the chosen node only, its pod IP in that node podCIDR, reachable from another node' '
	cid=$(pod web ".status.containerStatuses[0].containerID") && cid=${cid#skiff://} &&
	for n in w1 w2 w3; do
		if [ $n = "$node" ]; then
			skiff-runtime --root "$LC_DIR/var/$n/runtime/containers" state "$cid" | grep -q "\"status\": *\"running\"" || return 1
		else
			! skiff-runtime --root "$LC_DIR/var/$n/runtime/containers" list -q | grep -q . || return 1
		fi
	done &&
	ip=$(pod web .status.podIP) &&
	cidr=$(k get nodes "$node" -o jsonpath="{.spec.podCIDR}") &&
	test "${ip%.*}" = "${cidr%.*}" &&
	other=w1 && { [ "$node" != w1 ] || other=w2; } &&
	http_get "$other" "$ip" | grep -qx "hello from web"
'

test_expect_success 'self-healing: kill -9 of the container -> restarted (restartCount 1), serving again' '
	cpid=$(skiff-runtime --root "$LC_DIR/var/$node/runtime/containers" state "$cid" | jq -r .pid) &&
	test "$cpid" -gt 1 &&
	kill -9 "$cpid" &&
	wait_for "test \"\$(pod web .status.containerStatuses[0].restartCount)\" -ge 1" 30 0.2 &&
	wait_for "http_get $other $ip | grep -qx \"hello from web\"" 30 0.2 &&
	pod web ".status.containerStatuses[0].lastState.terminated.exitCode" | grep -qx 137
'

test_expect_success 'self-healing: a Deployment of 3 (tolerating an unreachable node 2 s) runs; a deleted pod is replaced' '
	cat >deploy.yaml <<-\EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: hello}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: hello}}
	  template:
	    metadata: {labels: {app: hello}}
	    spec:
	      terminationGracePeriodSeconds: 2
	      tolerations:
	      - {key: node.kubernetes.io/unreachable, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
	      - {key: node.kubernetes.io/not-ready, operator: Exists, effect: NoExecute, tolerationSeconds: 2}
	      containers:
	      - name: httpd
	        image: busybox:test
	        command: [sh, -c, '"'$httpd'"']
	EOF
	k apply -f deploy.yaml &&
	wait_for "hello_running 3" 40 0.2 &&
	victim=$(hello_pods | head -n 1 | cut -d" " -f1) &&
	k delete pod "$victim" --grace-period=1 &&
	wait_for "hello_running 3 && ! hello_pods | grep -q \"^$victim \"" 40 0.2
'

test_expect_success 'self-healing: a worker dies (agent and containers killed, network cut) -> NotReady, its pods run elsewhere' '
	hello_pods >before && cat before &&
	dead=$(cut -d" " -f2 before | sort | uniq -c | sort -rn | head -n 1 | awk "{print \$2}") &&
	case $dead in w[123]) ;; *) false ;; esac &&
	lc_cgroup_kill "$dead" &&
	lc_exec "$dead" ip link set eth0 down &&
	wait_for "k get nodes $dead | grep -q NotReady" 30 0.2 &&
	wait_for "hello_running 3 && ! hello_pods | grep -q \" $dead \"" 60 0.2 &&
	hello_pods &&
	k get nodes $dead -o json | json_check "[.spec.taints[]?.key] | index(\"node.kubernetes.io/unreachable\")"
'

test_expect_success 'the worker comes back: Ready again, untainted, the pods it had are gone, it runs new pods' '
	lc_exec "$dead" ip link set eth0 up &&
	lc_start "$dead" &&
	wait_for "test \"\$(lc_ready_nodes)\" -eq 3" 30 0.2 &&
	wait_for "! k get nodes $dead -o json | jq -e \"[.spec.taints[]?.key] | index(\\\"node.kubernetes.io/unreachable\\\")\"" 30 0.2 &&
	wait_for "test \$(k get pods -o json | jq \"[.items[] | select(.spec.nodeName == \\\"$dead\\\" and .metadata.deletionTimestamp != null)] | length\") -eq 0" 40 0.2 &&
	k scale deployment hello --replicas=6 &&
	wait_for "hello_running 6" 40 0.2 &&
	hello_pods | grep -q " $dead Running"
'

test_done
