#!/bin/bash
test_description='object writes under concurrency: optimistic concurrency (409), no lost updates, finalizers and two-phase delete, graceful pod delete, generateName, terminating namespaces'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock

body() {
	sed -n 2p "$1"
}

rev_of() {
	head -n 1 "$1" | sed "s/.*rev=\([0-9]*\).*/\1/"
}

cm() {
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s"%s},"data":%s}' "$1" "${3:-}" "${2:-{\}}"
}

test_expect_success 'skiffd starts' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"get namespaces default\" | grep -q \"^ok 1\"" 10
'

test_expect_success 'two updates from the same resourceVersion: one wins, the other is 409' '
	req "create $(cm race)" >out &&
	rev=$(body out | sed "s/.*\"resourceVersion\":\"\([0-9]*\)\".*/\1/") &&
	pids= &&
	for i in 1 2; do
		req "update $(cm race "{\"w\":\"$i\"}" ",\"resourceVersion\":\"$rev\"")" >u$i &
		pids="$pids $!"
	done &&
	wait $pids &&
	cat u1 u2 | grep -c "^ok 1 rev=" >oks &&
	cat u1 u2 | grep -c "^error 409 Conflict Operation cannot be fulfilled on configmaps \"race\": the object has been modified" >conflicts &&
	test "$(cat oks) $(cat conflicts)" = "1 1"
'

test_expect_success 'unconditional patches from 20 clients at once: no update is lost' '
	req "create $(cm counter)" >/dev/null &&
	pids= &&
	for i in $(seq 1 20); do
		req "patch configmaps default counter {\"data\":{\"k$i\":\"v\"}}" >p$i &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat p* | grep -c "^ok 1 rev=")" = 20 &&
	req "get configmaps default counter" >out &&
	for i in $(seq 1 20); do
		body out | grep -q "\"k$i\":\"v\"" || return 1
	done
'

test_expect_success 'concurrent creates of one name: exactly one succeeds' '
	pids= &&
	for i in $(seq 1 8); do
		req "create $(cm once "{\"by\":\"$i\"}")" >c$i &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat c* | grep -c "^ok 1 rev=.* created$")" = 1 &&
	test "$(cat c* | grep -c "^error 409 AlreadyExists configmaps \"once\" already exists$")" = 7
'

test_expect_success 'generateName: many concurrent creates get distinct names' '
	pids= &&
	for i in $(seq 1 10); do
		req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"generateName\":\"gen-\"}}" >g$i &
		pids="$pids $!"
	done &&
	wait $pids &&
	test "$(cat g* | grep -c "^ok 1 rev=.* created$")" = 10 &&
	cat g* | grep -o "\"name\":\"gen-[bcdfghjklmnpqrstvwxz2456789]\{5\}\"" | sort -u >names &&
	test_line_count = 10 names &&
	req "list configmaps default" >out &&
	test "$(grep -c "\"name\":\"gen-" out)" = 10
'

test_expect_success 'finalizers: delete marks the object, removing the last finalizer removes it' '
	req "create $(cm fin "{}" ",\"finalizers\":[\"example.com/a\",\"example.com/b\"]")" >/dev/null &&
	req "delete configmaps default fin" >out &&
	head -n 1 out | grep "terminating$" &&
	body out | grep -q "\"deletionTimestamp\":" &&
	req "get configmaps default fin" | grep -q "^ok 1" &&
	req "patch configmaps default fin {\"metadata\":{\"finalizers\":[\"example.com/b\",\"example.com/c\"]}}" >out &&
	grep "^error 422 Invalid" out &&
	req "patch configmaps default fin {\"data\":{\"late\":\"x\"}}" >out &&
	head -n 1 out | grep "^ok 1" &&
	req "patch configmaps default fin {\"metadata\":{\"finalizers\":[\"example.com/b\"]}}" >out &&
	head -n 1 out | grep "^ok 1" &&
	req "get configmaps default fin" | grep -q "^ok 1" &&
	req "patch configmaps default fin {\"metadata\":{\"finalizers\":null}}" >out &&
	head -n 1 out | grep "^ok 1" &&
	req "get configmaps default fin" | grep "^error 404"
'

test_expect_success 'propagation Foreground and Orphan add their finalizers' '
	req "create $(cm fg)" "create $(cm orph)" >/dev/null &&
	req "delete configmaps default fg propagation=Foreground" >out &&
	body out | grep -q "\"finalizers\":\[\"foregroundDeletion\"\]" &&
	req "delete configmaps default orph propagation=Orphan" >out &&
	body out | grep -q "\"finalizers\":\[\"orphan\"\]" &&
	req "delete configmaps default fg" >out &&
	head -n 1 out | grep "terminating$"
'

test_expect_success 'a bound pod is deleted gracefully; a second delete can only shorten; grace=0 removes' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p\"},\"spec\":{\"terminationGracePeriodSeconds\":60,\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}" >/dev/null &&
	req "bind default p node-1" | grep -q "^ok 1" &&
	req "delete pods default p" >out &&
	body out | grep -q "\"deletionGracePeriodSeconds\":60" &&
	req "delete pods default p grace=90" >out &&
	body out | grep -q "\"deletionGracePeriodSeconds\":60" &&
	req "delete pods default p grace=10" >out &&
	body out | grep -q "\"deletionGracePeriodSeconds\":10" &&
	req "bind default p node-2" | grep "^error 409 Conflict .*being deleted" &&
	req "delete pods default p grace=0" >out &&
	head -n 1 out | grep "deleted$" &&
	req "get pods default p" | grep "^error 404"
'

test_expect_success 'a namespace with content is terminating and refuses new objects (403)' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team\"}}" >/dev/null &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"a\",\"namespace\":\"team\"}}" | grep -q "^ok 1" &&
	req "delete namespaces team" >out &&
	head -n 1 out | grep "terminating$" &&
	body out | grep -q "\"phase\":\"Terminating\"" &&
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"b\",\"namespace\":\"team\"}}" >out &&
	grep "^error 403 Forbidden configmaps \"b\" is forbidden: unable to create new content in namespace team because it is being terminated$" out
'

test_expect_success 'the terminating namespace goes once its content was deleted' '
	wait_for "req \"get configmaps team a\" | grep -q \"^error 404\"" 10 &&
	wait_for "req \"get namespaces team\" | grep -q \"^error 404\"" 10
'

test_expect_success 'default, kube-system and kube-public may not be deleted' '
	for ns in default kube-system kube-public; do
		req "delete namespaces $ns" >out &&
		grep "^error 403 Forbidden namespaces \"$ns\" is forbidden: this namespace may not be deleted$" out ||
			return 1
	done &&
	req "get namespaces default" | grep -q "^ok 1"
'

test_expect_success 'pipelined writes on one connection take effect in order' '
	{ echo "create $(cm seq)"; for i in $(seq 1 30); do
		echo "patch configmaps default seq {\"data\":{\"n\":\"$i\"}}"; done;
	  echo "get configmaps default seq"; } >reqs &&
	timeout 10 nc.openbsd -N -U "$SOCK" <reqs >out &&
	test "$(grep -c "^ok 1 rev=" out)" = 32 &&
	tail -n 1 out | grep -q "\"n\":\"30\""
'

test_expect_success 'pipelined binds answer as one at a time: a second bind of a pod is a conflict' '
	for p in pa pb pc; do
		req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"$p\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"nginx\"}]}}" |
			grep -q "^ok 1" || return 1
	done &&
	printf "%s\n" "bind default pa node-1" "bind default pb node-2" "bind default pa node-3" \
		"bind default pc node-1" "get pods default pa" >reqs &&
	timeout 10 nc.openbsd -N -U "$SOCK" <reqs >out &&
	grep "^ok\|^error" out >heads &&
	sed -n 1p heads | grep -q "^ok 1" &&
	sed -n 2p heads | grep -q "^ok 1" &&
	sed -n 3p heads | grep -q "^error 409 Conflict" &&
	sed -n 4p heads | grep -q "^ok 1" &&
	tail -n 1 out | grep -q "\"nodeName\":\"node-1\""
'

test_done
