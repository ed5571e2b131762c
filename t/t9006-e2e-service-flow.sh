#!/bin/bash
test_description='end to end on the 3+3 lab cluster: the Service Access Flow: a client pod reaches a Deployment spread over the three workers through the Service IP and through DNS, load-balanced across the nodes'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"

. "$SRCDIR/t/lab-cluster"
LC_DIR=$TEST_DIR/lab
LC_TAG=$LAB_TAG
at_exit lc_down

k() { lc_skiff c1 "$@"; }

# in_client CMD: a shell command run in the client pod through skiff exec
# (the API server relays it to the client's node agent).
in_client() {
	k exec client -- sh -c "$1"
}

# hello_pods: live pods of app=hello, "name node phase ip"
hello_pods() {
	k get pods -l app=hello -o json |
		jq -r '.items[] | select(.metadata.deletionTimestamp == null) | "\(.metadata.name) \(.spec.nodeName // "-") \(.status.phase) \(.status.podIP // "-")"'
}

# ready_endpoints: the ready addresses of the Endpoints of hello, sorted
ready_endpoints() {
	k get endpoints hello -o json | jq -r '[.subsets[]?.addresses[]?.ip] | sort | join(",")'
}

httpd='mkdir -p /www && echo "hello from $(hostname)" >/www/index.html && exec httpd -f -p 8080 -h /www'

test_expect_success 'the lab cluster: a leader, 3 workers Ready' '
	lc_up &&
	test "$(lc_ready_nodes)" -eq 3
'

test_expect_success 'a Deployment of 3 spread one per worker, its Service, a client pod' '
	cat >app.yaml <<-\EOF &&
	apiVersion: apps/v1
	kind: Deployment
	metadata: {name: hello}
	spec:
	  replicas: 3
	  selector: {matchLabels: {app: hello}}
	  template:
	    metadata: {labels: {app: hello}}
	    spec:
	      terminationGracePeriodSeconds: 1
	      topologySpreadConstraints:
	      - {maxSkew: 1, topologyKey: kubernetes.io/hostname, whenUnsatisfiable: DoNotSchedule,
	         labelSelector: {matchLabels: {app: hello}}}
	      containers:
	      - name: httpd
	        image: busybox:test
	        command: [sh, -c, '"'$httpd'"']
	        readinessProbe: {tcpSocket: {port: 8080}, periodSeconds: 1}
	---
	apiVersion: v1
	kind: Service
	metadata: {name: hello}
	spec:
	  selector: {app: hello}
	  ports: [{name: http, port: 80, targetPort: 8080}]
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: client}
	spec:
	  terminationGracePeriodSeconds: 1
	  containers: [{name: c, image: busybox:test, command: [sleep, "3600"]}]
	EOF
	k apply -f app.yaml &&
	wait_for "test \"\$(hello_pods | awk \"\\\$3 == \\\"Running\\\"\" | wc -l)\" -eq 3" 60 0.2 &&
	hello_pods >pods && cat pods &&
	test "$(cut -d" " -f2 pods | sort -u | wc -l)" -eq 3 &&
	wait_for "k get pods client -o jsonpath={.status.phase} | grep -qx Running" 60 0.2 &&
	IPS=$(cut -d" " -f4 pods | sort | paste -sd, -) &&
	wait_for "test \"\$(ready_endpoints)\" = $IPS" 30 0.2
'

# fetch ADDR: one HTTP request from the client pod (busybox nc)
fetch() {
	k exec client -- sh -c 'printf "GET /index.html HTTP/1.0\r\n\r\n" | nc -w 3 "$0" 80' "$1"
}

# fetch60 ADDR|byname: 60 requests from the client pod, one greeting or
# FAIL per request; byname resolves the service name before each one
fetch60() {
	k exec client -- sh -c 'i=0
		while [ $i -lt 60 ]; do
			a=$0
			[ "$a" != byname ] || a=$(nslookup hello | sed -n "s/^Address: //p" | tail -n 1)
			printf "GET /index.html HTTP/1.0\r\n\r\n" | nc -w 3 "$a" 80 | grep "^hello from" || echo FAIL
			i=$((i + 1))
		done' "$1"
}

test_expect_success 'through the Service IP: 60 requests from the client pod reach all three backends' '
	cip=$(k get services hello -o jsonpath={.spec.clusterIP}) &&
	case $cip in 10.*) ;; *) false ;; esac &&
	wait_for "fetch $cip | grep -q \"^hello from hello-\"" 30 0.2 &&
	fetch60 "$cip" >seen &&
	test_line_count = 60 seen &&
	! grep -q FAIL seen &&
	sed -n "s/^hello from //p" seen | sort -u >backends &&
	cut -d" " -f1 pods | sort >want &&
	test_cmp want backends
'

test_expect_success 'through DNS: the short name and the full name resolve to the Service IP in the client pod' '
	in_client "cat /etc/resolv.conf" >resolv &&
	grep -qx "search default.svc.cluster.local svc.cluster.local cluster.local" resolv &&
	grep -qx "options ndots:5" resolv &&
	# busybox nslookup tries every search domain and fails when one of
	# them has no answer, as hello.svc.cluster.local has not: read the
	# answers, not its status
	in_client "nslookup hello; true" >short &&
	grep -q "^Name:	hello.default.svc.cluster.local$" short &&
	grep -q "^Address: $cip$" short &&
	in_client "nslookup hello.default.svc.cluster.local" >full &&
	grep -q "^Address: $cip$" full &&
	in_client "nslookup -type=SRV _http._tcp.hello.default.svc.cluster.local" >srv &&
	grep -q "hello.default.svc.cluster.local" srv
'

test_expect_success 'through DNS: requests by name, resolved in the pod each time, reach every backend' '
	fetch60 byname >byname &&
	test_line_count = 60 byname &&
	! grep -q FAIL byname &&
	sed -n "s/^hello from //p" byname | sort -u >backends2 &&
	test_cmp want backends2
'

test_done
