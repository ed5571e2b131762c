#!/bin/bash
test_description='ServiceAccounts in a real skiffd: a default ServiceAccount and a token Secret per namespace, the token authenticates as the ServiceAccount over TCP, RBAC bindings to it, a deleted Secret or ServiceAccount refuses the token'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

PORT=$(free_port)

# sk ARGS...: the CLI over TCP (no token unless given)
sk() {
	timeout 10 skiff -s "127.0.0.1:$PORT" "$@"
}

# token_secret NS SA: the name of the SA's token Secret
token_secret() {
	objs secrets "$1" | jq -r "select(.type == \"kubernetes.io/service-account-token\" and .metadata.annotations[\"kubernetes.io/service-account.name\"] == \"$2\") | .metadata.name"
}

# token_of NS SECRET: the decoded token
token_of() {
	get secrets "$1" "$2" | jq -r .data.token | base64 -d
}

test_expect_success 'skiffd with TCP: every namespace has a default ServiceAccount' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --socket "$SOCK" \
		--listen "127.0.0.1:$PORT" --data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok [1-9]\"" 10 &&
	for ns in default kube-system; do
		wait_for "get serviceaccounts $ns default | grep -q ServiceAccount" 20 0.2 || return 1
	done
'

test_expect_success 'a new namespace gets a default ServiceAccount and a token Secret listed in it' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"team\"}}" | grep -q "^ok" &&
	wait_for "test -n \"\$(token_secret team default)\"" 20 0.2 &&
	s=$(token_secret team default) &&
	echo "$s" | grep -Eqx "default-token-[bcdfghjklmnpqrstvwxz2456789]{5}" &&
	get secrets team "$s" >sec.json &&
	sa_uid=$(get serviceaccounts team default | jq -r .metadata.uid) &&
	json_check ".metadata.annotations[\"kubernetes.io/service-account.uid\"] == \"$sa_uid\"" <sec.json &&
	test "$(jq -r .data.namespace sec.json | base64 -d)" = team &&
	test "$(token_of team "$s" | wc -c)" -ge 43 &&
	wait_for "get serviceaccounts team default | json_check \"[.secrets[]?.name] == [\\\"$s\\\"]\"" 20 0.2
'

test_expect_success 'the token authenticates as the ServiceAccount over TCP' '
	tok=$(token_of team "$(token_secret team default)") &&
	sk --token "$tok" whoami >out &&
	grep -qx "Username    system:serviceaccount:team:default" out &&
	grep -qx "Groups      \[system:serviceaccounts system:serviceaccounts:team system:authenticated\]" out &&
	sk --token "$tok" whoami -o json | json_check ".user == \"system:serviceaccount:team:default\"" &&
	! sk --token "x$tok" whoami 2>err &&
	test_expect_code 5 sk --token "x$tok" whoami 2>/dev/null
'

test_expect_success 'without a binding the ServiceAccount is forbidden; a RoleBinding grants access' '
	tok=$(token_of team "$(token_secret team default)") &&
	test_expect_code 5 sk --token "$tok" -n team get pods 2>err &&
	grep -q "User \"system:serviceaccount:team:default\" cannot list resource \"pods\"" err &&
	req "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"Role\",\"metadata\":{\"name\":\"pod-reader\",\"namespace\":\"team\"},\"rules\":[{\"apiGroups\":[\"\"],\"resources\":[\"pods\"],\"verbs\":[\"get\",\"list\"]}]}" \
	    "create {\"apiVersion\":\"rbac.authorization.k8s.io/v1\",\"kind\":\"RoleBinding\",\"metadata\":{\"name\":\"sa-reads\",\"namespace\":\"team\"},\"subjects\":[{\"kind\":\"ServiceAccount\",\"name\":\"default\",\"namespace\":\"team\"}],\"roleRef\":{\"apiGroup\":\"rbac.authorization.k8s.io\",\"kind\":\"Role\",\"name\":\"pod-reader\"}}" >out &&
	test "$(grep -c "^ok 1 .*created" out)" = 2 &&
	wait_for "sk --token \"$tok\" -n team get pods 2>&1 | grep -q \"No resources found\"" 10 0.2 &&
	test_expect_code 5 sk --token "$tok" -n default get pods 2>/dev/null
'

test_expect_success 'deleting the token Secret refuses the token; a new Secret with a new token replaces it' '
	old=$(token_secret team default) &&
	tok=$(token_of team "$old") &&
	req "delete secrets team $old" | grep -q "^ok" &&
	test_expect_code 5 sk --token "$tok" whoami 2>/dev/null &&
	wait_for "test -n \"\$(token_secret team default)\" && test \"\$(token_secret team default)\" != $old" 20 0.2 &&
	new=$(token_secret team default) &&
	test "$(token_of team "$new")" != "$tok" &&
	wait_for "get serviceaccounts team default | json_check \"[.secrets[]?.name] == [\\\"$new\\\"]\"" 20 0.2 &&
	sk --token "$(token_of team "$new")" whoami | grep -qx "Username    system:serviceaccount:team:default"
'

test_expect_success 'deleting the ServiceAccount refuses its token; default is created again with a new token' '
	old=$(token_secret team default) &&
	tok=$(token_of team "$old") &&
	uid=$(get serviceaccounts team default | jq -r .metadata.uid) &&
	req "delete serviceaccounts team default" | grep -q "^ok" &&
	test_expect_code 5 sk --token "$tok" whoami 2>/dev/null &&
	wait_for "get serviceaccounts team default | json_check \".metadata.uid != \\\"$uid\\\"\"" 20 0.2 &&
	wait_for "test -n \"\$(token_secret team default)\" && test \"\$(token_secret team default)\" != $old" 20 0.2 &&
	wait_for "test -z \"\$(get secrets team $old)\"" 20 0.2 &&
	test "$(token_secret team default | wc -l)" = 1
'

test_expect_success 'a ServiceAccount of its own gets its token too' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ServiceAccount\",\"metadata\":{\"name\":\"builder\",\"namespace\":\"team\"}}" | grep -q "^ok" &&
	wait_for "test -n \"\$(token_secret team builder)\"" 20 0.2 &&
	sk --token "$(token_of team "$(token_secret team builder)")" whoami | grep -qx "Username    system:serviceaccount:team:builder"
'

test_done
