#!/bin/bash
test_description='the garbage collector in a real skiffd: background, foreground and orphan deletion of dependents through ownerReferences, dangling owners, Deployment cascades, namespace deletion, kill -9 in the middle'
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/lib-ctrl.sh"

# rs NAME REPLICAS [NS]
rs() {
	printf '{"apiVersion":"apps/v1","kind":"ReplicaSet","metadata":{"name":"%s","namespace":"%s"},"spec":{"replicas":%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}' \
		"$1" "${3:-default}" "$2" "$1" "$1"
}

deploy() {
	printf '{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"%s","namespace":"%s"},"spec":{"replicas":%s,"selector":{"matchLabels":{"app":"%s"}},"template":{"metadata":{"labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}}}' \
		"$1" "${3:-default}" "$2" "$1" "$1"
}

# owned_pod NAME REFS: a pod with the given ownerReferences JSON
owned_pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"default","ownerReferences":%s},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' "$1" "$2"
}

# deleted_rev WATCH NAME: the revision of NAME's DELETED event
deleted_rev() {
	grep "^DELETED " "$TEST_DIR/$1.watch" | sed "s/^DELETED //" |
		jq -r --arg n "$2" 'select(.metadata.name == $n) | .metadata.resourceVersion'
}

test_expect_success 'skiffd starts' '
	start_server
'

test_expect_success 'background (the default): the owner goes at once, the collector deletes its pods' '
	req "create $(rs bg 3)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=bg) = 3" 10 &&
	req "delete replicasets default bg" | head -n 1 | grep -q "^ok 1 rev=[0-9]* deleted$" &&
	wait_for "test -z \"\$(objs pods default app=bg)\"" 10
'

test_expect_success 'foreground: the owner waits with the foregroundDeletion finalizer until its pods are gone' '
	req "create $(rs fg 3)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=fg) = 3" 10 &&
	watch_start fgpods "watch pods default selector=app=fg rev=$(rev)" &&
	watch_start fgrs "watch replicasets default rev=$(rev)" &&
	req "delete replicasets default fg propagation=Foreground" >out &&
	head -n 1 out | grep -q "^ok 1 rev=[0-9]* terminating$" &&
	sed -n 2p out | json_check ".metadata.finalizers == [\"foregroundDeletion\"] and .metadata.deletionTimestamp != null" &&
	wait_for "test -z \"\$(get replicasets default fg)\"" 10 &&
	test -z "$(objs pods default app=fg)" &&
	wait_for "test -n \"\$(deleted_rev fgrs fg)\"" 5 &&
	watch_stop fgpods && watch_stop fgrs &&
	rsrev=$(deleted_rev fgrs fg) &&
	grep "^DELETED " "$TEST_DIR/fgpods.watch" | sed "s/^DELETED //" | jq -r .metadata.resourceVersion >podrevs &&
	test_line_count = 3 podrevs &&
	for r in $(cat podrevs); do test $r -lt $rsrev || return 1; done
'

test_expect_success 'orphan: the owner goes, its pods stay without the reference and are not replaced' '
	req "create $(rs or 2)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=or) = 2" 10 &&
	live_pods default app=or >before &&
	req "delete replicasets default or propagation=Orphan" | head -n 1 | grep -q "^ok 1 rev=[0-9]* terminating$" &&
	wait_for "test -z \"\$(get replicasets default or)\"" 10 &&
	live_pods default app=or >after &&
	test_cmp before after &&
	test "$(objs pods default app=or | jq -c ".metadata.ownerReferences // []" | sort -u)" = "[]"
'

test_expect_success 'a dependent whose only owner does not exist is deleted' '
	req "create $(owned_pod ghostly "[{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"ghost\",\"uid\":\"00000000-0000-4000-8000-000000000001\"}]")" | grep -q "^ok" &&
	wait_for "test -z \"\$(get pods default ghostly)\"" 10
'

test_expect_success 'a dangling reference next to a live owner (of a kind the collector does not watch) is stripped' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"metadata\":{\"name\":\"keeper\",\"namespace\":\"default\"},\"data\":{\"a\":\"1\"}}" >out &&
	cuid=$(sed -n 2p out | jq -r .metadata.uid) &&
	req "create $(owned_pod twice "[{\"apiVersion\":\"v1\",\"kind\":\"ConfigMap\",\"name\":\"keeper\",\"uid\":\"$cuid\"},{\"apiVersion\":\"apps/v1\",\"kind\":\"ReplicaSet\",\"name\":\"ghost\",\"uid\":\"00000000-0000-4000-8000-000000000002\"}]")" | grep -q "^ok" &&
	wait_for "test \"\$(get pods default twice | jq -c \"[.metadata.ownerReferences[].name]\")\" = \"[\\\"keeper\\\"]\"" 10 &&
	test -n "$(get pods default twice)"
'

test_expect_success 'deleting a Deployment removes its ReplicaSets and their pods (background)' '
	req "create $(deploy dep 3)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=dep) = 3" 10 &&
	req "delete deployments default dep" | grep -q "^ok 1 rev=[0-9]* deleted" &&
	wait_for "test -z \"\$(objs replicasets default app=dep)\" && test -z \"\$(objs pods default app=dep)\"" 10
'

test_expect_success 'foreground through two levels: pods, then the ReplicaSet, then the Deployment' '
	req "create $(deploy chain 2)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=chain) = 2" 10 &&
	watch_start chainrs "watch replicasets default rev=$(rev)" &&
	watch_start chaindep "watch deployments default rev=$(rev)" &&
	rsname=$(objs replicasets default app=chain | jq -r .metadata.name) &&
	req "delete deployments default chain propagation=Foreground" | grep -q "^ok 1 rev=[0-9]* terminating" &&
	wait_for "test -z \"\$(get deployments default chain)\"" 10 &&
	test -z "$(objs replicasets default app=chain)" && test -z "$(objs pods default app=chain)" &&
	wait_for "test -n \"\$(deleted_rev chaindep chain)\" && test -n \"\$(deleted_rev chainrs $rsname)\"" 5 &&
	watch_stop chainrs && watch_stop chaindep &&
	test $(deleted_rev chainrs $rsname) -lt $(deleted_rev chaindep chain)
'

test_expect_success 'deleting a namespace deletes everything in it, then the namespace' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"doomed\"}}" | grep -q "^ok" &&
	req "create $(deploy app 2 doomed)" "create {\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"app\",\"namespace\":\"doomed\"},\"spec\":{\"selector\":{\"app\":\"app\"},\"ports\":[{\"port\":80}]}}" |
		grep -c "^ok" | grep -qx 2 &&
	wait_for "test \$(count_pods doomed app=app) = 2 && test -n \"\$(get endpoints doomed app)\"" 10 &&
	req "delete namespaces doomed" | grep -q "^ok 1 rev=[0-9]* terminating" &&
	wait_for "req \"get namespaces doomed\" | grep -q \"^error 404\"" 20 &&
	for r in pods replicasets deployments services endpoints events; do
		test -z "$(objs $r doomed)" || return 1
	done
'

test_expect_success 'kill -9 right after a foreground delete: the restarted collector finishes it' '
	req "create $(rs late 4)" | grep -q "^ok" &&
	wait_for "test \$(count_pods default app=late) = 4" 10 &&
	req "delete replicasets default late propagation=Foreground" | grep -q "^ok" &&
	stop_daemon skiffd KILL;
	start_server &&
	wait_for "test -z \"\$(get replicasets default late)\" && test -z \"\$(objs pods default app=late)\"" 15
'

test_done
