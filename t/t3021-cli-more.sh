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

test_done
