#!/bin/bash
test_description='skiff(1) against a real skiffd: apply, get in every format, watch, describe, label, scale, delete, edit, nodes, rollout, exit statuses'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
export SKIFF_SERVER=$SOCK
unset SKIFF_TOKEN SKIFF_EDITOR
# No user config file may leak into the test.
export HOME=$TEST_DIR/home
mkdir -p "$HOME"

# raw LINE: one request line on its own connection, the answer printed.
raw() {
	printf '%s\n' "$1" | timeout 10 nc.openbsd -N -U "$SOCK"
}

test_expect_success 'skiffd starts; get namespaces lists the four defaults' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "skiff get ns 2>/dev/null | grep -q kube-system" 10 &&
	skiff get namespaces >out &&
	head -n 1 out | grep -q "^NAME  *STATUS  *AGE$" &&
	test_line_count = 5 out
'

test_expect_success 'an empty list says "No resources found" on stderr and exits 0' '
	skiff get pods >out 2>err &&
	test_line_count = 0 out &&
	echo "No resources found in default namespace." >expect &&
	test_cmp expect err &&
	skiff get pods -A >out 2>err &&
	echo "No resources found" >expect &&
	test_cmp expect err &&
	skiff get pods -o json >out 2>err &&
	test_line_count = 0 err &&
	grep -q "\"kind\": \"List\"" out
'

test_expect_success 'apply -f DIR: multi-document YAML and JSON, created then unchanged' '
	mkdir m &&
	cat >m/app.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata:
	  name: web
	  labels: {app: web, tier: front}
	spec:
	  containers:
	  - name: c
	    image: nginx
	---
	apiVersion: apps/v1
	kind: Deployment
	metadata:
	  name: front
	spec:
	  replicas: 2
	  selector:
	    matchLabels: {app: front}
	  template:
	    metadata:
	      labels: {app: front}
	    spec:
	      containers:
	      - name: c
	        image: nginx:1
	---
	apiVersion: v1
	kind: Service
	metadata:
	  name: front
	spec:
	  selector: {app: front}
	  ports:
	  - port: 80
	EOF
	echo "{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"conf\"},\"data\":{\"a\":\"1\"}}" >m/conf.json &&
	echo "not a manifest" >m/README &&
	skiff apply -f m >out &&
	cat >expect <<-\EOF &&
	pod/web created
	deployment/front created
	service/front created
	configmap/conf created
	EOF
	test_cmp expect out &&
	skiff apply -f m >out &&
	sed "s/created/unchanged/" expect >expect2 &&
	test_cmp expect2 out
'

test_expect_success 'apply -f - reads standard input; a change is "configured"' '
	sed "s/nginx:1/nginx:2/" m/app.yaml | skiff apply -f - >out &&
	grep -x "deployment/front configured" out &&
	grep -x "pod/web unchanged" out &&
	test "$(skiff get deploy front -o jsonpath="{.spec.template.spec.containers[0].image}")" = nginx:2
'

test_expect_success 'create -f refuses what exists (exit 1) and creates the rest' '
	cat >more.yaml <<-\EOF &&
	apiVersion: v1
	kind: Pod
	metadata: {name: web}
	spec: {containers: [{name: c, image: nginx}]}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: db, namespace: default, labels: {app: db}}
	spec: {containers: [{name: c, image: postgres}]}
	EOF
	test_expect_code 1 skiff create -f more.yaml >out 2>err &&
	grep -x "pod/db created" out &&
	grep "^skiff: pods \"web\" already exists" err
'

test_expect_success 'get: table, wide, name, tsv, no-headers, selectors' '
	skiff get pods >out &&
	head -n 1 out | grep -q "^NAME  *READY  *STATUS  *RESTARTS  *AGE$" &&
	grep -q "^web  *0/1  *Pending  *0 " out &&
	skiff get pods -o wide | head -n 1 | grep -q " IP  *NODE " &&
	skiff get pods -o name >out &&
	printf "pod/db\npod/web\n" >expect &&
	test_cmp expect out &&
	skiff get pods --no-headers -o tsv >out &&
	test_line_count = 2 out &&
	grep -q "^web	0/1	Pending	0	" out &&
	skiff get pods -l app=web -o name >out &&
	echo pod/web >expect && test_cmp expect out &&
	skiff get pods -l "app in (db),tier!=x" -o name >out &&
	echo pod/db >expect && test_cmp expect out &&
	skiff get pods --field-selector metadata.name=db -o name >out &&
	echo pod/db >expect && test_cmp expect out &&
	skiff get pods -A | head -n 1 | grep -q "^NAMESPACE  *NAME  *READY"
'

test_expect_success 'get: json, yaml, jsonpath, custom-columns; yaml reads back' '
	skiff get pod web -o json >out &&
	grep -q "^    \"kind\": \"Pod\"," out &&
	skiff get pods -o json | grep -q "\"kind\": \"List\"" &&
	skiff get pod web -o yaml >web.yaml &&
	grep -q "^kind: Pod$" web.yaml &&
	skiff apply -f web.yaml >out &&
	grep -x "pod/web unchanged" out &&
	test "$(skiff get pod web -o jsonpath="{.metadata.labels.tier}")" = front &&
	skiff get pods -o "jsonpath={range .items[*]}{.metadata.name}:{.spec.containers[0].image}{\"\n\"}{end}" >out &&
	printf "db:postgres\nweb:nginx\n" >expect &&
	test_cmp expect out &&
	skiff get pods -o custom-columns=N:.metadata.name,IMAGE:.spec.containers[0].image >out &&
	head -n 1 out | grep -q "^N  *IMAGE$" &&
	grep -q "^web  *nginx$" out &&
	printf "NAME IMG\n.metadata.name .spec.containers[0].image\n" >cols &&
	skiff get pod db -o custom-columns-file=cols | grep -q "^db  *postgres$"
'

test_expect_success 'get several kinds: one table each, names as kind/name' '
	skiff get pods,deploy,svc >out &&
	grep -q "^pod/web " out &&
	grep -q "^deployment/front " out &&
	grep -q "^service/front " out &&
	test "$(grep -c "^NAME " out)" = 3 &&
	skiff get deploy/front svc/front -o name >out &&
	printf "deployment/front\nservice/front\n" >expect &&
	test_cmp expect out
'

test_expect_success 'get -w prints the rows, then each change as it happens' '
	{ timeout 20 skiff get pods -w >w.out 2>w.err & } &&
	wpid=$! &&
	test_when_finished "kill $wpid 2>/dev/null; true" &&
	wait_for "grep -q \"^web \" w.out" 10 &&
	skiff label pod web watched=yes >/dev/null &&
	skiff delete pod db --wait=false >/dev/null &&
	wait_for "test \$(grep -c \"^db \" w.out) -ge 2" 10 &&
	wait_for "test \$(grep -c \"^web \" w.out) -ge 2" 10 &&
	test "$(grep -c "^NAME " w.out)" = 1
'

test_expect_success 'describe: the object, its Events (by field selector) and related objects' '
	cat >ev.yaml <<-\EOF &&
	apiVersion: v1
	kind: Event
	metadata: {name: web.1}
	involvedObject: {kind: Pod, name: web, namespace: default}
	reason: Scheduled
	message: assigned default/web to n1
	type: Normal
	source: {component: default-scheduler}
	lastTimestamp: "2026-01-01T00:00:00Z"
	---
	apiVersion: v1
	kind: Event
	metadata: {name: other.1}
	involvedObject: {kind: Pod, name: other, namespace: default}
	reason: Failed
	message: not for web
	type: Warning
	lastTimestamp: "2025-01-01T00:00:00Z"
	EOF
	skiff apply -f ev.yaml >/dev/null &&
	skiff describe pod web >out &&
	grep -q "^Name:  *web$" out &&
	grep -q "^Labels:  *app=web$" out &&
	grep -q "Normal  *Scheduled .*assigned default/web to n1" out &&
	! grep -q "not for web" out &&
	skiff describe deployment front | grep -q "^Replicas:  *2 desired" &&
	skiff describe svc/front | grep -q "^Selector:  *app=front"
'

test_expect_success 'events: sorted oldest first, --for one object, -o name' '
	skiff events >out &&
	head -n 1 out | grep -q "^LAST SEEN  *TYPE  *REASON  *OBJECT  *MESSAGE$" &&
	sed -n 2p out | grep -q "Failed" &&
	sed -n 3p out | grep -q "Scheduled" &&
	skiff events --for pod/web >out &&
	test_line_count = 2 out &&
	skiff events -o name | grep -qx "event/web.1"
'

test_expect_success 'label and annotate: add, --overwrite, remove, unchanged' '
	skiff label pod web env=prod >out &&
	grep -x "pod/web labeled" out &&
	test_expect_code 1 skiff label pod web env=dev 2>err &&
	grep "'"'"'env'"'"' already has a value (prod), and --overwrite is false" err &&
	skiff label pod/web env=dev --overwrite >out &&
	test "$(skiff get pod web -o jsonpath={.metadata.labels.env})" = dev &&
	skiff label pod web env=dev >out &&
	grep -x "pod/web not labeled" out &&
	skiff label pod web env- >out &&
	test -z "$(skiff get pod web -o jsonpath={.metadata.labels.env})" &&
	skiff annotate pod web "note=hello world" >out &&
	grep -x "pod/web annotated" out &&
	test "$(skiff get pod web -o jsonpath={.metadata.annotations.note})" = "hello world" &&
	skiff label pods -l app=web sel=1 >out &&
	grep -x "pod/web labeled" out
'

test_expect_success 'scale: deployments through the scale verb; pods refused' '
	skiff scale deployment front --replicas=3 >out &&
	grep -x "deployment/front scaled" out &&
	test "$(skiff get deploy front -o jsonpath={.spec.replicas})" = 3 &&
	test_expect_code 2 skiff scale pod web --replicas=2 2>err &&
	test_expect_code 2 skiff scale deploy front 2>err &&
	grep "replicas" err
'

test_expect_success 'bash completion: verbs, types, flags and names from the server' '
	cat >comp.sh <<-EOF &&
	. "$SRCDIR/etc/bash_completion.d/skiff"
	c() { COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=(); _skiff; echo "\${COMPREPLY[*]}"; }
	c skiff ge
	c skiff get dep
	c skiff get pods ""
	c skiff describe pod/w
	c skiff delete --grace
	c skiff get pods -o js
	c skiff rollout ""
	EOF
	bash comp.sh >out &&
	cat >expect <<-\EOF &&
	get
	deployments
	web
	pod/web
	--grace-period
	json jsonpath=
	status history undo
	EOF
	test_cmp expect out
'

test_expect_success 'edit: EDITOR changes the object; no change cancels' '
	EDITOR="sed -i '"'"'s/image: nginx\$/image: nginx:9/'"'"'" skiff edit pod web >out &&
	grep -x "pod/web edited" out &&
	test "$(skiff get pod web -o jsonpath="{.spec.containers[0].image}")" = nginx:9 &&
	EDITOR=true skiff edit pod/web >out &&
	grep -x "Edit cancelled, no changes made." out &&
	test_expect_code 1 env EDITOR=false skiff edit pod web 2>err &&
	grep "the editor .false. failed" err
'

test_expect_success 'edit: a change the server refuses is shown, then given up when saved again' '
	test_expect_code 1 env TMPDIR="$TEST_DIR" \
		EDITOR="sed -i '"'"'s/^  name: web\$/  name: other/'"'"'" skiff edit pod web 2>err &&
	grep "a copy of your changes is in" err &&
	ls "$TEST_DIR"/skiff-edit-*.yaml
'

test_expect_success 'cordon, taint and drain a node' '
	cat >node.yaml <<-\EOF &&
	apiVersion: v1
	kind: Node
	metadata: {name: n1}
	---
	apiVersion: v1
	kind: Pod
	metadata: {name: bare}
	spec: {nodeName: n1, containers: [{name: c, image: x}]}
	---
	apiVersion: v1
	kind: Pod
	metadata:
	  name: owned
	  ownerReferences: [{apiVersion: apps/v1, kind: ReplicaSet, name: rs1, uid: 11111111-1111-1111-1111-111111111111, controller: true}]
	spec: {nodeName: n1, containers: [{name: c, image: x}]}
	EOF
	skiff apply -f node.yaml >/dev/null &&
	skiff cordon n1 >out &&
	grep -x "node/n1 cordoned" out &&
	test "$(skiff get node n1 -o jsonpath={.spec.unschedulable})" = true &&
	skiff get nodes | grep -q "SchedulingDisabled" &&
	skiff taint nodes n1 dedicated=gpu:NoSchedule >out &&
	grep -x "node/n1 tainted" out &&
	test "$(skiff get node n1 -o jsonpath={.spec.taints[0].key})" = dedicated &&
	test_expect_code 1 skiff taint node/n1 dedicated=cpu:NoSchedule 2>err &&
	skiff taint nodes n1 dedicated:NoSchedule- >out &&
	grep -x "node/n1 untainted" out &&
	test_expect_code 1 skiff drain n1 --timeout=10s >out 2>err &&
	grep "cannot delete Pods that declare no controller (use --force to override): default/bare" err &&
	skiff get pod bare -o name &&
	skiff drain n1 --force --grace-period=0 --timeout=10s >out 2>err &&
	grep -x "evicting pod default/bare" out &&
	grep -x "pod/owned evicted" out &&
	grep -x "node/n1 drained" out &&
	test_expect_code 3 skiff get pod bare 2>/dev/null &&
	skiff uncordon n1 >out &&
	grep -x "node/n1 uncordoned" out
'

test_expect_success 'rollout history, undo and status on a deployment' '
	uid=$(skiff get deploy front -o jsonpath={.metadata.uid}) &&
	for r in 1 2; do
		cat <<-EOF
		---
		apiVersion: apps/v1
		kind: ReplicaSet
		metadata:
		  name: front-$r
		  annotations: {deployment.kubernetes.io/revision: "$r"}
		  ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: front, uid: "$uid", controller: true}]
		spec:
		  replicas: 0
		  selector: {matchLabels: {app: front, pod-template-hash: h$r}}
		  template:
		    metadata: {labels: {app: front, pod-template-hash: h$r}}
		    spec: {containers: [{name: c, image: "nginx:$r"}]}
		EOF
	done >rs.yaml &&
	skiff apply -f rs.yaml >/dev/null &&
	skiff rollout history deployment/front >out &&
	printf "deployment/front\nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n" >expect &&
	test_cmp expect out &&
	skiff rollout undo deployment/front >out &&
	grep -x "deployment/front rolled back" out &&
	test "$(skiff get deploy front -o jsonpath="{.spec.template.spec.containers[0].image}")" = nginx:1 &&
	test -z "$(skiff get deploy front -o jsonpath="{.spec.template.metadata.labels.pod-template-hash}")" &&
	test_expect_code 3 skiff rollout undo deployment/front --to-revision=7 2>err &&
	test_expect_code 6 skiff rollout status deployment/front --timeout=300ms >out 2>err &&
	grep "Waiting for deployment" out &&
	gen=$(skiff get deploy front -o jsonpath={.metadata.generation}) &&
	raw "status {\"apiVersion\":\"apps/v1\",\"kind\":\"Deployment\",\"metadata\":{\"name\":\"front\",\"namespace\":\"default\"},\"status\":{\"observedGeneration\":$gen,\"replicas\":3,\"updatedReplicas\":3,\"availableReplicas\":3,\"readyReplicas\":3}}" | grep -q "^ok" &&
	skiff rollout status deploy/front --timeout=10s >out &&
	grep -x "deployment \"front\" successfully rolled out" out
'

test_expect_success 'get follows continue tokens: 1100 objects in pages of 500' '
	{
		printf "apiVersion: v1\nkind: Namespace\nmetadata: {name: many}\n" &&
		for i in $(seq 1 1100); do
			printf -- "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c%04d}\n" $i
		done
	} >many.yaml &&
	skiff -n many apply -f many.yaml >out &&
	test_line_count = 1101 out &&
	skiff -v get cm -n many -o name >out 2>err &&
	test_line_count = 1100 out &&
	test "$(grep -c "^> list configmaps many limit=500" err)" = 3 &&
	tail -n 1 out | grep -qx configmap/c1100
'

test_expect_success 'delete: by name, by TYPE/NAME, -f, -l; --wait returns once gone' '
	skiff delete pod web >out &&
	grep -x "pod \"web\" deleted" out &&
	test_expect_code 3 skiff get pod web 2>err &&
	grep "pods \"web\" not found" err &&
	skiff delete -f m/conf.json >out &&
	grep -x "configmap \"conf\" deleted" out &&
	skiff delete svc/front --wait --timeout=10s >out &&
	test_expect_code 3 skiff get svc front 2>/dev/null &&
	skiff apply -f more.yaml >/dev/null &&
	skiff delete pods -l app=db >out &&
	grep -x "pod \"db\" deleted" out &&
	skiff delete pod web >/dev/null &&
	test_expect_code 3 skiff delete pod web 2>err &&
	skiff delete pod web --ignore-not-found &&
	test_expect_code 2 skiff delete pods 2>err &&
	grep "no name was specified" err
'

test_expect_success 'exit statuses: 2 usage, 3 not found, 4 unreachable, 1 error' '
	test_expect_code 2 skiff get 2>err &&
	test_expect_code 2 skiff get pods --frob 2>err &&
	grep "unknown flag" err &&
	test_expect_code 2 skiff frobnicate 2>err &&
	test_expect_code 2 skiff get frobs 2>err &&
	grep "the server doesn.t have a resource type \"frobs\"" err &&
	test_expect_code 3 skiff get deploy nope 2>err &&
	test_expect_code 3 skiff describe pod nope 2>err &&
	test_expect_code 4 skiff -s "$TEST_DIR/none.sock" get pods 2>err &&
	grep "^skiff: server" err &&
	test_expect_code 1 skiff apply -f /nonexistent.yaml 2>err &&
	echo "kind: [" >bad.yaml &&
	test_expect_code 1 skiff apply -f bad.yaml 2>err &&
	grep "bad.yaml" err
'

test_expect_success 'api-resources, logs, exec and top' '
	skiff api-resources >out &&
	head -n 1 out | grep -q "^NAME  *SHORTNAMES  *APIVERSION  *NAMESPACED  *KIND$" &&
	grep -q "^pods  *po  *v1  *true  *Pod$" out &&
	skiff api-resources --namespaced=false -o name >out &&
	grep -qx nodes out && ! grep -qx pods out &&
	test_expect_code 1 skiff logs web 2>err &&
	grep "^skiff: logs is not relayed: the server has no agent key" err &&
	test_expect_code 1 skiff exec web -- ls / 2>err &&
	grep "^skiff: exec is not relayed" err &&
	test_expect_code 1 skiff exec -it web -- sh 2>err </dev/null &&
	grep "^Unable to use a TTY - input is not a terminal" err &&
	grep "^skiff: exec is not relayed" err &&
	printf "apiVersion: v1\nkind: Pod\nmetadata: {name: unsched}\nspec:\n  containers: [{name: c, image: x}]\n" |
		skiff create -f - >/dev/null &&
	test_expect_code 1 skiff top pods unsched 2>err &&
	grep "^skiff: pods \"unsched\": no metrics: not scheduled on a node" err &&
	test_expect_code 3 skiff top pods nosuch 2>err &&
	test_expect_code 1 skiff top nodes 2>err &&
	grep "^skiff: warning: node \"n1\": stats is not relayed: the server has no agent key" err &&
	grep "^skiff: no node agent answered" err &&
	test_expect_code 2 skiff top deployments 2>err
'

test_expect_success 'the server comes from -s, then SKIFF_SERVER, then ~/.config/skiff/config' '
	mkdir -p "$HOME/.config/skiff" &&
	printf "[default]\nserver = %s\n" "$SOCK" >"$HOME/.config/skiff/config" &&
	env -u SKIFF_SERVER skiff get ns default -o name >out &&
	echo namespace/default >expect &&
	test_cmp expect out &&
	test_expect_code 4 env SKIFF_SERVER="$TEST_DIR/none.sock" skiff get ns 2>/dev/null &&
	skiff -s "$SOCK" get ns default -o name >out &&
	test_cmp expect out
'

test_done
