#!/bin/bash
test_description='skiff(1), the later verbs: completion, wait, apply/create --dry-run, diff, edit re-opening on an invalid object'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
export SKIFF_SERVER=$SOCK
unset SKIFF_TOKEN SKIFF_EDITOR
# No user config file may leak into the test.
export HOME=$TEST_DIR/home
mkdir -p "$HOME"
SRC=$(cd "$(dirname "$0")/.." && pwd)

# raw LINE: one request line on its own connection, the answer printed.
raw() {
	printf '%s\n' "$1" | timeout 10 nc.openbsd -N -U "$SOCK"
}

test_expect_success 'completion bash prints the installed script, zsh adds bashcompinit' '
	skiff completion bash >out &&
	test_cmp "$SRC/etc/bash_completion.d/skiff" out &&
	skiff completion zsh >out &&
	head -n 1 out | grep -qx "autoload -U +X bashcompinit && bashcompinit" &&
	tail -n +2 out >rest &&
	test_cmp "$SRC/etc/bash_completion.d/skiff" rest &&
	test_expect_code 2 skiff completion fish 2>err &&
	grep -q "usage: skiff completion bash|zsh" err &&
	bash -c ". <(skiff completion bash) && complete -p skiff" >out &&
	grep -q "_skiff" out
'

test_expect_success 'skiffd starts' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "skiff get ns 2>/dev/null | grep -q kube-system" 10
'

test_expect_success 'wait --for=jsonpath: met at once, or exit 6 on timeout' '
	cat >cm.yaml <<-\EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: conf, labels: {app: w}}
	data: {mode: fast}
	EOF
	skiff apply -f cm.yaml &&
	skiff wait --for=jsonpath={.data.mode}=fast configmap/conf >out &&
	grep -qx "configmap/conf condition met" out &&
	skiff wait --for=jsonpath=.data.mode=fast cm conf >out &&
	grep -qx "configmap/conf condition met" out &&
	test_expect_code 6 skiff wait --for=jsonpath={.data.mode}=slow cm/conf --timeout=300ms 2>err &&
	grep -q "^skiff: timed out waiting for the condition on configmaps/conf" err &&
	skiff wait --for=jsonpath={.data.mode}=fast cm -l app=w >out &&
	grep -qx "configmap/conf condition met" out
'

test_expect_success 'wait --for=condition: waits until the status says so' '
	cat >pod.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: web}
	spec:
	  containers:
	  - {name: c, image: nginx}
	EOF
	skiff apply -f pod.yaml &&
	test_expect_code 6 skiff wait --for=condition=Ready pod/web --timeout=200ms &&
	{ (skiff wait --for=condition=Ready pod/web --timeout=10s >out 2>err; echo $? >rc) & } &&
	waiter=$! &&
	uid=$(skiff get pod web -o jsonpath={.metadata.uid}) &&
	raw "status {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"web\",\"namespace\":\"default\",\"uid\":\"$uid\"},\"status\":{\"phase\":\"Running\",\"conditions\":[{\"type\":\"Ready\",\"status\":\"True\"}]}}" >st &&
	grep -q "^ok" st &&
	wait $waiter &&
	echo 0 >expect && test_cmp expect rc &&
	grep -qx "pod/web condition met" out &&
	skiff wait --for=condition=ready=true pod/web >out &&
	test_expect_code 6 skiff wait --for=condition=Ready=False pod/web --timeout=100ms
'

test_expect_success 'wait --for=delete: returns once the object is gone' '
	{ (skiff wait --for=delete cm/conf --timeout=10s >out 2>err; echo $? >rc) & } &&
	waiter=$! &&
	skiff delete cm conf &&
	wait $waiter &&
	echo 0 >expect && test_cmp expect rc &&
	grep -qx "configmap/conf deleted" out &&
	skiff wait --for=delete cm/conf >out &&
	grep -qx "configmap/conf deleted" out
'

test_expect_success 'wait: usage errors and a missing object' '
	test_expect_code 2 skiff wait pod/web 2>err &&
	grep -q "for is required" err &&
	test_expect_code 2 skiff wait --for=bogus pod/web 2>err &&
	grep -q "bad --for" err &&
	test_expect_code 2 skiff wait --for=delete pods 2>err &&
	test_expect_code 3 skiff wait --for=condition=Ready pod/nope 2>err
'

test_expect_success 'protocol: create/apply/update/patch dry-run answer as the write would, store nothing' '
	body="{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dry\",\"namespace\":\"default\"},\"data\":{\"a\":\"1\"}}" &&
	raw "create dry-run $body" >out &&
	head -n 1 out | grep -qx "ok 1 rev=0 dry-run created" &&
	grep -q "\"uid\":" out &&
	! grep -q resourceVersion out &&
	test_expect_code 3 skiff get cm dry &&
	raw "apply dry-run $body" >out &&
	head -n 1 out | grep -qx "ok 1 rev=0 dry-run created" &&
	test_expect_code 3 skiff get cm dry &&
	raw "create $body" >out &&
	rev=$(head -n 1 out | sed -n "s/^ok 1 rev=\([0-9]*\) created$/\1/p") &&
	test -n "$rev" &&
	raw "create dry-run $body" >out &&
	grep -q "^error 409" out &&
	raw "apply dry-run ${body%\"1\"\}\}}\"2\"}}" >out &&
	head -n 1 out | grep -qx "ok 1 rev=$rev dry-run configured" &&
	grep -q "\"resourceVersion\":\"$rev\"" out &&
	grep -q "\"a\":\"2\"" out &&
	raw "patch configmaps default dry dry-run {\"data\":{\"b\":\"3\"}}" >out &&
	head -n 1 out | grep -qx "ok 1 rev=$rev dry-run" &&
	grep -q "\"b\":\"3\"" out &&
	raw "update dry-run {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"dry\",\"namespace\":\"default\",\"resourceVersion\":\"1\"}}" >out &&
	grep -q "^error 409" out &&
	raw "create dry-run {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"bad\"},\"spec\":{\"containers\":[{\"name\":\"c\"}]}}" >out &&
	grep -q "^error 422" out &&
	raw "create bogus $body" >out &&
	grep -q "^error 400" out &&
	skiff get cm dry -o jsonpath={.metadata.resourceVersion}{.data} >out &&
	printf "%s{\"a\":\"1\"}" "$rev" >expect &&
	test_cmp expect out
'

test_expect_success 'apply/create --dry-run=server and =client change nothing' '
	cat >d.yaml <<-\EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: dry2}
	data: {a: "1"}
	EOF
	skiff apply -f d.yaml --dry-run=server >out &&
	echo "configmap/dry2 created (server dry run)" >expect &&
	test_cmp expect out &&
	skiff create -f d.yaml --dry-run=server -o name >out &&
	test_expect_code 3 skiff get cm dry2 2>/dev/null &&
	skiff apply -f d.yaml --dry-run=client >out &&
	grep -qx "  namespace: default" out &&
	grep -qx "kind: ConfigMap" out &&
	skiff apply -f d.yaml --dry-run -o json >out &&
	grep -q "\"name\": \"dry2\"" out &&
	test_expect_code 3 skiff get cm dry2 2>/dev/null &&
	skiff apply -f d.yaml &&
	test_expect_code 1 skiff create -f d.yaml --dry-run=server 2>err &&
	grep -q "already exists" err &&
	sed -i "s/a: \"1\"/a: \"2\"/" d.yaml &&
	skiff apply -f d.yaml --dry-run=server -o jsonpath={.data.a} >out &&
	printf 2 >expect && test_cmp expect out &&
	skiff get cm dry2 -o jsonpath={.data.a} >out &&
	printf 1 >expect && test_cmp expect out &&
	test_expect_code 2 skiff apply -f d.yaml --dry-run=maybe 2>err &&
	grep -q "must be \"none\", \"server\", or \"client\"" err
'

test_expect_success 'diff -f: 1 and a unified diff when apply would change something, 0 when not' '
	mkdir -p "$TEST_DIR/tmp" &&
	cat >df.yaml <<-\EOF &&
	apiVersion: v1
	kind: ConfigMap
	metadata: {name: df}
	data: {a: "1"}
	EOF
	test_expect_code 1 env TMPDIR="$TEST_DIR/tmp" skiff diff -f df.yaml >out &&
	grep -q "^+++ .*/MERGED/v1.ConfigMap.default.df" out &&
	grep -qx "+  a: \"1\"" out &&
	test_expect_code 3 skiff get cm df 2>/dev/null &&
	skiff apply -f df.yaml &&
	env TMPDIR="$TEST_DIR/tmp" skiff diff -f df.yaml >out &&
	test_line_count = 0 out &&
	sed -i "s/a: \"1\"/a: \"2\"/" df.yaml &&
	test_expect_code 1 env TMPDIR="$TEST_DIR/tmp" skiff diff -f df.yaml >out &&
	grep -qx "\-  a: \"1\"" out &&
	grep -qx "+  a: \"2\"" out &&
	skiff get cm df -o jsonpath={.data.a} >out &&
	printf 1 >expect && test_cmp expect out &&
	test_expect_code 1 env TMPDIR="$TEST_DIR/tmp" SKIFF_EXTERNAL_DIFF="diff -q" skiff diff -f df.yaml >out &&
	grep -q "^Files .* differ$" out &&
	ls "$TEST_DIR/tmp" >left &&
	test_line_count = 0 left
'

test_expect_success 'diff -f: errors exit above 1' '
	test_expect_code 2 skiff diff -f missing.yaml 2>err &&
	grep -q "missing.yaml" err &&
	test_expect_code 2 skiff diff 2>err &&
	cat >bad.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: bad}
	spec:
	  containers:
	  - {name: c}
	EOF
	test_expect_code 2 skiff diff -f bad.yaml 2>err &&
	grep -q "is invalid" err
'

test_expect_success 'edit: a file that does not parse is reopened with the error on top, text kept' '
	cat >ed-parse.sh <<-\EOF &&
	f=$1
	if grep -q "^# skiff: error: " "$f"; then
		cp "$f" "$SEEN"
		sed -i "/^bad: \[unclosed/d; s/image: .*/image: nginx:7/" "$f"
	else
		echo "bad: [unclosed" >>"$f"
	fi
	EOF
	SEEN=$PWD/seen EDITOR="sh $PWD/ed-parse.sh" skiff edit pod web >out 2>err &&
	grep -x "pod/web edited" out &&
	head -n 1 seen | grep -q "^# skiff: error: " &&
	grep -qx "bad: \[unclosed" seen &&
	test "$(skiff get pod web -o jsonpath="{.spec.containers[0].image}")" = nginx:7
'

test_expect_success 'edit: an object the server refuses is reopened with its error as a comment' '
	cat >ed-invalid.sh <<-\EOF &&
	f=$1
	if grep -q "^# skiff: error: " "$f"; then
		cp "$f" "$SEEN"
		sed -i "s/image: .*/image: nginx:8/" "$f"
	else
		sed -i "s/image: .*/image: \"\"/" "$f"
	fi
	EOF
	SEEN=$PWD/seen EDITOR="sh $PWD/ed-invalid.sh" skiff edit pod/web >out 2>err &&
	grep -x "pod/web edited" out &&
	head -n 1 seen | grep -q "^# skiff: error: .*is invalid" &&
	grep -q "is invalid" err &&
	test "$(skiff get pod web -o jsonpath="{.spec.containers[0].image}")" = nginx:8
'

test_expect_success 'edit: the same unparsable text saved again is given up, the copy kept' '
	test_expect_code 1 env TMPDIR="$TEST_DIR/tmp" EDITOR="sed -i \"s/^kind: Pod/kind: [Pod/\"" \
		skiff edit pod web 2>err &&
	grep -q "edit abandoned after an error" err &&
	grep -q "a copy of your changes is in" err &&
	ls "$TEST_DIR"/tmp/skiff-edit-*.yaml &&
	test "$(skiff get pod web -o jsonpath="{.spec.containers[0].image}")" = nginx:8
'

test_done
