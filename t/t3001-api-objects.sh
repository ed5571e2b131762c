#!/bin/bash
test_description='the object verbs through the real socket: get, list, create, apply, update, status, patch, bind, scale, delete, watch, api-resources, whoami, bad input'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock

# body FILE: the first body line after the status line
body() {
	sed -n 2p "$1"
}

pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' "$1" "${2:-default}" "${3:-web}"
}

test_expect_success 'skiffd starts and creates the default namespaces' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok 4 \"" 10 &&
	req "list namespaces" >out &&
	grep -c "\"kind\":\"Namespace\"" out >n && test "$(cat n)" = 4 &&
	for ns in default kube-system kube-public kube-node-lease; do
		grep -q "\"name\":\"$ns\"" out || return 1
	done
'

test_expect_success 'create returns the stored object with uid, timestamps and resourceVersion' '
	req "create $(pod web)" >out &&
	head -n 1 out | grep -E "^ok 1 rev=[0-9]+ created$" &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	body out | grep -q "\"resourceVersion\":\"$rev\"" &&
	body out | grep -qE "\"uid\":\"[0-9a-f-]{36}\"" &&
	body out | grep -q "\"creationTimestamp\":\"20" &&
	body out | grep -q "\"status\":{\"phase\":\"Pending\"}" &&
	body out | grep -q "\"restartPolicy\":\"Always\""
'

test_expect_success 'get by resource, short name and kind; rev=0 serves local state' '
	req "get pods default web" "get po default web rev=0" "get Pod default web" >out &&
	test "$(grep -c "^ok 1 rev=" out)" = 3 &&
	test "$(grep -c "\"name\":\"web\"" out)" = 3
'

test_expect_success 'get of a missing object is 404 with the namespace in the message' '
	req "get pods default nope" "get nodes nope" >out &&
	cat >expect <<-\EOF &&
	error 404 NotFound pods "nope" not found in namespace "default"
	error 404 NotFound nodes "nope" not found
	EOF
	test_cmp expect out
'

test_expect_success 'create errors: exists 409, missing namespace 404, invalid 422, bad JSON and kind 400' '
	req "create $(pod web)" "create $(pod x nons)" \
		"create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bad\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}" \
		"create {nope" "create {\"apiVersion\":\"v1\",\"kind\":\"Frob\",\"metadata\":{\"name\":\"a\"}}" \
		"create [1,2]" >out &&
	sed -n 1p out | grep "^error 409 AlreadyExists pods \"web\" already exists$" &&
	sed -n 2p out | grep "^error 404 NotFound namespaces \"nons\" not found$" &&
	sed -n 3p out | grep "^error 422 Invalid Pod \"bad\" is invalid: spec.containers\[0\].image: Required value$" &&
	sed -n 4p out | grep "^error 400 BadRequest json: " &&
	sed -n 5p out | grep "^error 400 BadRequest no kind \"Frob\" is registered" &&
	sed -n 6p out | grep "^error 400 BadRequest"
'

test_expect_success 'generateName makes a unique name' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"generateName\":\"cfg-\"},\"data\":{\"a\":\"1\"}}" \
	    "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"generateName\":\"cfg-\"},\"data\":{\"a\":\"1\"}}" >out &&
	test "$(grep -c "^ok 1 rev=[0-9]* created" out)" = 2 &&
	grep -o "\"name\":\"cfg-[a-z0-9]*\"" out | sort -u >names &&
	test_line_count = 2 names
'

test_expect_success 'list: all namespaces, one namespace, label and field selectors, sorted by key' '
	req "create $(pod api default api)" "create $(pod sys kube-system web)" >/dev/null &&
	req "list pods" "list pods default" "list pods * selector=app%3Dweb" \
		"list pods * selector=app%20in%20(api,db)" "list pods * fields=metadata.namespace%3Dkube-system" \
		"list pods * fields=metadata.name!%3Dweb,metadata.namespace%3Ddefault" >out &&
	grep "^ok" out | sed "s/ rev=[0-9]*//" >status &&
	cat >expect <<-\EOF &&
	ok 3
	ok 2
	ok 2
	ok 1
	ok 1
	ok 1
	EOF
	test_cmp expect status &&
	sed -n 2,4p out | grep -o "\"name\":\"[a-z]*\",\"namespace" >order &&
	printf "\"name\":\"%s\",\"namespace\n" api web sys >expect &&
	test_cmp expect order
'

test_expect_success 'list: bad selectors are 400, unknown resource 404' '
	req "list pods * selector=a%20in%20(" "list pods * fields=spec.frob%3Dx" "list frobs" >out &&
	sed -n 1p out | grep "^error 400 BadRequest selector" &&
	sed -n 2p out | grep "^error 400 BadRequest field label not supported: spec.frob" &&
	sed -n 3p out | grep "^error 404 NotFound the server doesn.t have a resource type \"frobs\""
'

test_expect_success 'list with limit pages through with continue tokens at one revision' '
	req "list pods * limit=2" >p1 &&
	head -n 1 p1 | grep -E "^ok 2 rev=[0-9]+ continue=[A-Za-z0-9_-]+$" &&
	rev=$(head -n 1 p1 | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	tok=$(head -n 1 p1 | sed "s/.*continue=//") &&
	req "create $(pod zzz)" >/dev/null &&
	req "list pods * limit=2 continue=$tok" >p2 &&
	head -n 1 p2 | grep -E "^ok 1 rev=$rev$" &&
	grep -q "\"name\":\"sys\"" p2 &&
	req "list pods * continue=garbage!" >p3 &&
	grep "^error 400 BadRequest continue token" p3
'

test_expect_success 'update replaces the object; a stale resourceVersion is 409; status keeps spec' '
	req "get configmaps default nope" >/dev/null;
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\"},\"data\":{\"a\":\"1\"}}" >out &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	req "update {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\",\"resourceVersion\":\"$rev\"},\"data\":{\"a\":\"2\"}}" >out &&
	head -n 1 out | grep -E "^ok 1 rev=[0-9]+$" &&
	body out | grep -q "\"data\":{\"a\":\"2\"}" &&
	req "update {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\",\"resourceVersion\":\"$rev\"},\"data\":{\"a\":\"3\"}}" >out &&
	grep "^error 409 Conflict Operation cannot be fulfilled on configmaps \"cm\": the object has been modified" out &&
	req "update {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"gone\"},\"data\":{}}" >out &&
	grep "^error 404 NotFound configmaps \"gone\" not found in namespace \"default\"" out &&
	req "status {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\"},\"spec\":{},\"status\":{\"phase\":\"Running\"}}" >out &&
	body out | grep -q "\"status\":{\"phase\":\"Running\"}" &&
	body out | grep -q "\"image\":\"nginx\"" &&
	req "status {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"cm\"}}" >out &&
	grep "^error 405 MethodNotAllowed" out
'

test_expect_success 'apply: created, configured, unchanged (no new revision), keeps nodeName' '
	m="{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ap\"},\"data\":{\"k\":\"1\"}}" &&
	m2="{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"ap\"},\"data\":{\"k\":\"2\"}}" &&
	req "apply $m" "apply $m" "apply $m2" >out &&
	grep "^ok" out >status &&
	sed -n 1p status | grep "created$" &&
	r1=$(sed -n 1p status | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	sed -n 2p status | grep "^ok 1 rev=$r1 unchanged$" &&
	sed -n 3p status | grep "configured$" &&
	req "bind default api node-1" >/dev/null &&
	req "apply $(pod api default api)" >out &&
	body out | grep -q "\"nodeName\":\"node-1\""
'

test_expect_success 'patch: merge patch, null deletes, no-op makes no revision, status subresource' '
	req "patch configmaps default ap {\"data\":{\"n\":\"x\",\"k\":null}}" >out &&
	body out | grep -q "\"data\":{\"n\":\"x\"}" &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	req "patch configmaps default ap {\"data\":{\"n\":\"x\"}}" >out &&
	head -n 1 out | grep "^ok 1 rev=$rev$" &&
	req "patch pods default web subresource=status {\"status\":{\"podIP\":\"10.0.0.9\"}}" >out &&
	body out | grep -q "\"podIP\":\"10.0.0.9\"" &&
	req "patch configmaps default ap {\"metadata\":{\"resourceVersion\":\"1\"}}" >out &&
	grep "^error 409 Conflict" out &&
	req "patch configmaps default nope {\"data\":{}}" >out &&
	grep "^error 404 NotFound" out
'

test_expect_success 'bind: sets nodeName once; 409 when bound or uid differs; 404 when gone' '
	req "bind default web node-2" "bind default web node-3" "bind default nope node-1" \
	    "bind default sys node-1" >out &&
	sed -n 1p out | grep "^ok 1 rev=" &&
	sed -n 2p out | grep "\"nodeName\":\"node-2\"" &&
	sed -n 3p out | grep "^error 409 Conflict .*already assigned to node \"node-2\"" &&
	sed -n 4p out | grep "^error 404 NotFound" &&
	sed -n 5p out | grep "^error 404 NotFound" &&
	req "bind kube-system sys node-1 uid=wrong" >out &&
	grep "^error 409 Conflict .*Precondition failed: UID" out
'

test_expect_success 'scale: deployments and replicasets; stale rev 409; 405 for other kinds' '
	req "create {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"d\"},\"spec\":{\"replicas\":1,\"selector\":{\"matchLabels\":{\"app\":\"d\"}},\"template\":{\"metadata\":{\"labels\":{\"app\":\"d\"}},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}}}" >out &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	req "scale deployments default d 3 rev=$rev" >out &&
	body out | grep -q "\"replicas\":3" &&
	body out | grep -q "\"generation\":2" &&
	req "scale deploy default d 5 rev=$rev" "scale configmaps default ap 2" "scale deploy default d -1" >out &&
	sed -n 1p out | grep "^error 409 Conflict" &&
	sed -n 2p out | grep "^error 405 MethodNotAllowed" &&
	sed -n 3p out | grep "^error 400 BadRequest"
'

test_expect_success 'delete: unbound pod goes at once, bound pod gracefully, then grace=0' '
	req "delete pods default zzz" >out &&
	head -n 1 out | grep -E "^ok 1 rev=[0-9]+ deleted$" &&
	req "get pods default zzz" | grep "^error 404" &&
	req "delete pods default web" >out &&
	head -n 1 out | grep "terminating$" &&
	body out | grep -q "\"deletionTimestamp\":" &&
	body out | grep -q "\"deletionGracePeriodSeconds\":30" &&
	req "get pods default web" | grep -q "^ok 1" &&
	req "delete pods default web grace=0" >out &&
	head -n 1 out | grep "deleted$" &&
	req "get pods default web" | grep "^error 404" &&
	req "delete pods default web" | grep "^error 404 NotFound pods \"web\" not found"
'

test_expect_success 'delete preconditions: uid and rev' '
	req "delete configmaps default ap uid=nope" "delete configmaps default ap rev=1" >out &&
	sed -n 1p out | grep "^error 409 Conflict .*Precondition failed: UID in precondition: nope" &&
	sed -n 2p out | grep "^error 409 Conflict .*ResourceVersion in precondition: 1" &&
	req "get configmaps default ap" >out &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	objrev=$(body out | sed "s/.*\"resourceVersion\":\"\([0-9]*\)\".*/\1/") &&
	req "delete configmaps default ap rev=$objrev" | grep "deleted$"
'

test_expect_success 'watch: initial ADDED list, then changes in order, DELETED with the last state' '
	(printf "watch configmaps default\n"; sleep 30) | timeout 30 nc.openbsd -U "$SOCK" >w &
	wpid=$! &&
	test_when_finished "kill $wpid 2>/dev/null; true" &&
	wait_for "grep -q \"^ok watch rev=\" w" 10 &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"wa\"},\"data\":{\"a\":\"1\"}}" \
	    "patch configmaps default wa {\"data\":{\"a\":\"2\"}}" "delete configmaps default wa" >/dev/null &&
	wait_for "grep -q \"^DELETED\" w" 10 &&
	cut -d" " -f1 w | uniq -c | sed "s/^ *//" >types &&
	printf "1 ok\n4 ADDED\n1 MODIFIED\n1 DELETED\n" >expect &&
	test_cmp expect types &&
	grep "^ADDED" w | tail -n 1 | grep -q "\"name\":\"wa\"" &&
	grep "^DELETED" w | grep -q "\"a\":\"2\""
'

test_expect_success 'api-resources lists every kind; whoami names the peer; logs and exec need an agent key' '
	req api-resources whoami "logs default web" "exec default web -- ls" >out &&
	head -n 1 out | grep "^ok 16$" &&
	grep -q "{\"name\":\"pods\",\"singularName\":\"pod\",\"namespaced\":true,\"kind\":\"Pod\"" out &&
	grep -q "\"user\":\"system:admin\"" out &&
	grep -q "\"system:masters\"" out &&
	grep "^error 503 Unavailable logs is not relayed: the server has no agent key" out &&
	grep "^error 503 Unavailable exec is not relayed: the server has no agent key" out
'

test_expect_success 'bad input: unknown verb, usage errors, field paths in messages, server goes on' '
	req "frob" "get" "get pods" "get pods default" "delete pods default web grace=x" \
	    "list pods * frob=1" "create" "patch pods default web" \
	    "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"Bad_Name\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\",\"ports\":[{\"containerPort\":99999}]}]}}" \
	    ping >out &&
	sed -n 1p out | grep "^error 400 BadRequest unknown verb" &&
	sed -n 2p out | grep "^error 400 BadRequest usage: get" &&
	sed -n 3p out | grep "^error 400 BadRequest usage: get" &&
	sed -n 4p out | grep "^error 400 BadRequest usage: get" &&
	sed -n 5p out | grep "^error 400 BadRequest bad grace" &&
	sed -n 6p out | grep "^error 400 BadRequest unknown option .frob." &&
	sed -n 7p out | grep "^error 400 BadRequest usage: create" &&
	sed -n 8p out | grep "^error 400 BadRequest usage: patch" &&
	sed -n 9p out | grep "^error 422 Invalid Pod \"Bad_Name\" is invalid: \[metadata.name: Invalid value" &&
	sed -n 9p out | grep -q "spec.containers\[0\].ports\[0\].containerPort" &&
	sed -n 10p out | grep "^ok 0 pong"
'

test_expect_success 'bad input: binary garbage and a 10 MiB line close that connection only' '
	head -c 4096 /dev/urandom | tr -d "\000\n" >garbage &&
	{ printf "get "; cat garbage; printf "\nping\n"; } | timeout 10 nc.openbsd -N -U "$SOCK" >out;
	head -n 1 out | grep "^error 400" &&
	head -c 10485760 /dev/zero | tr "\000" a | { cat; echo; } | timeout 20 nc.openbsd -N -U "$SOCK" >out;
	grep "^error 413 RequestTooLarge" out &&
	req ping | grep "^ok 0 pong"
'

test_expect_success 'half-closed clients (nc -N) get every answer, also the late ones' '
	# Each request half-closes right after sending: linearizable reads
	# answer after a store read barrier, writes after the commit, both
	# after the server has seen EOF. 200 in a row, none may go missing.
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"hc\",\"namespace\":\"default\"},\"data\":{\"n\":\"0\"}}" |
		grep -q "^ok 1 " &&
	missing=0 &&
	for i in $(seq 200); do
		case $((i % 4)) in
		0) line="patch configmaps default hc {\"data\":{\"n\":\"$i\"}}" ;;
		1) line="list configmaps default" ;;
		*) line="get configmaps default hc" ;;
		esac
		printf "%s\n" "$line" | timeout 10 nc.openbsd -N -U "$SOCK" >out 2>&1
		head -n 1 out | grep -q "^ok " || {
			echo "no answer to request $i ($line): $(head -c 200 out)"
			missing=$((missing + 1))
		}
	done &&
	test $missing = 0 &&
	req "get configmaps default hc" | sed -n 2p | grep -q "\"n\":\"200\""
'

test_done
