#!/bin/bash
test_description='RBAC on the object verbs: roles and bindings from the store, NodeRestriction, secrets hidden, unauthenticated peers'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
PORT=$(free_port)
TOKENS=$TEST_DIR/tokens.csv

# as TOKEN REQUEST...: authenticate over TCP, send the requests, print
# every response line but the auth answer.
as() {
	local tok=$1
	shift
	{ printf 'auth %s\n' "$tok"; printf '%s\n' "$@"; } |
		timeout 10 nc.openbsd -N 127.0.0.1 "$PORT" | tail -n +2
}

# admin REQUEST...: over the UNIX socket as root (system:masters).
admin() {
	printf '%s\n' "$@" | timeout 10 nc.openbsd -N -U "$SOCK"
}

pod_on() { # NAME NODE
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default"},"spec":{"nodeName":"%s","containers":[{"name":"c","image":"busybox"}]}}' "$1" "$2"
}

test_expect_success 'skiffd with tokens for a user, two nodes and nobody else' '
	cat >"$TOKENS" <<-\EOF &&
	alicetok,alice,1001,"dev"
	n1tok,system:node:n1,2001,"system:nodes"
	n2tok,system:node:n2,2002,"system:nodes"
	EOF
	chmod 600 "$TOKENS" &&
	start_daemon skiffd skiffd server --socket "$SOCK" --listen "127.0.0.1:$PORT" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 --set server.peer-listen= \
		--set server.token-file="$TOKENS" &&
	wait_for "admin \"get namespaces default\" | grep -q ^ok" 10 &&
	admin "create $(pod_on web1 n1)" "create $(pod_on web2 n2)" \
		"create {\"apiVersion\":\"v1\",\"kind\":\"Secret\",\"metadata\":{\"name\":\"s\",\"namespace\":\"default\"},\"stringData\":{\"k\":\"v\"}}" >out &&
	test "$(grep -c "^ok 1 .*created" out)" = 3
'

test_expect_success 'an unauthenticated TCP peer gets 401 for every object verb' '
	printf "get pods default web1\nlist pods\nwatch pods\n" |
		timeout 10 nc.openbsd -N 127.0.0.1 "$PORT" >out &&
	test "$(grep -c "^error 401 Unauthorized" out)" = 3
'

test_expect_success 'a user without bindings may do nothing, with Kubernetes messages' '
	as alicetok "get pods default web1" "list secrets default" "delete pods default web1" >out &&
	grep "^error 403 Forbidden pods \"web1\" is forbidden: User \"alice\" cannot get resource \"pods\" in API group \"\" in the namespace \"default\"" out &&
	grep "^error 403 Forbidden secrets is forbidden: User \"alice\" cannot list resource \"secrets\"" out &&
	test "$(grep -c "^error 403" out)" = 3
'

test_expect_success 'a Role and RoleBinding in the store grant exactly what they say' '
	admin "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"pod-reader\",\"namespace\":\"default\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\",\"watch\"]}]}" \
	      "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"alice-reads\",\"namespace\":\"default\"},\"subjects\":[{\"kind\":\"User\",\"name\":\"alice\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"pod-reader\"}}" >out &&
	test "$(grep -c "^ok 1 .*created" out)" = 2 &&
	wait_for "as alicetok \"get pods default web1\" | grep -q ^ok" 5 &&
	as alicetok "list pods default" "list secrets default" "delete pods default web1" \
		"list pods kube-system" >out &&
	grep "^ok 2 " out &&
	test "$(grep -c "^error 403" out)" = 3 &&
	! grep -q "\"kind\":\"Secret\"" out
'

test_expect_success 'deleting the binding takes the access away again' '
	admin "delete rolebindings default alice-reads" | grep "^ok 1 .*deleted" &&
	wait_for "as alicetok \"get pods default web1\" | grep -q \"^error 403\"" 5
'

test_expect_success 'a node writes the status of its own pods only' '
	admin "get pods default web1" >got &&
	obj=$(sed -n 2p got | sed "s/\"status\":{[^}]*}/\"status\":{\"phase\":\"Running\"}/") &&
	as n1tok "status $obj" >out &&
	grep "^ok 1 " out &&
	admin "get pods default web2" >got &&
	obj=$(sed -n 2p got | sed "s/\"status\":{[^}]*}/\"status\":{\"phase\":\"Running\"}/") &&
	as n1tok "status $obj" >out &&
	grep "^error 403 Forbidden" out &&
	as n2tok "status $obj" | grep "^ok 1 "
'

test_expect_success 'a node may create its own Node object but not another one' '
	as n1tok "create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n1\"}}" \
		"create {\"apiVersion\":\"v1\",\"kind\":\"Node\",\"metadata\":{\"name\":\"n2\"}}" \
		"delete pods default web2" >out &&
	sed -n 1p out | grep "^ok 1 .*created" &&
	sed -n 3p out | grep "^error 403 Forbidden" &&
	sed -n 4p out | grep "^error 403 Forbidden"
'

test_done
