#!/bin/bash
test_description='an informer (api/informer.h) against a real skiffd: initial list, watch events, resume across a restart, relist after compaction, event dedup'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
DATA=$TEST_DIR/data
DUMP=$TEST_DIR/dump.log

pod() {
	printf '{"apiVersion":"v1","kind":"Pod","metadata":{"name":"%s","namespace":"%s","labels":{"app":"%s"}},"spec":{"containers":[{"name":"c","image":"nginx"}]}}' "$1" "${2:-default}" "${3:-web}"
}

start_skiffd() {
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$DATA" --set server.name=m1 &&
	wait_for "req \"list namespaces\" | grep -q \"^ok 4 \"" 10
}

# at_least N PATTERN: the informer printed N lines matching PATTERN.
at_least() {
	test "$(grep -c -- "$2" "$DUMP")" -ge "$1"
}

# dumped PATTERN: wait until the informer printed a line matching PATTERN.
dumped() {
	wait_for "grep -q -- \"$1\" \"$DUMP\"" 10
}

test_expect_success 'skiffd starts with two pods' '
	start_skiffd &&
	req "create $(pod web1)" "create $(pod web2 kube-system db)" >out &&
	test "$(grep -c "^ok 1 rev=[0-9]* created$" out)" = 2
'

test_expect_success 'the informer lists both pods, then says synced' '
	start_daemon dump informer-dump --server "$SOCK" pods &&
	dumped "^SYNCED" &&
	grep "^ADD default/web1 rv=[0-9]* node=-$" "$DUMP" &&
	grep "^ADD kube-system/web2 rv=[0-9]* node=-$" "$DUMP" &&
	test "$(sed -n 3p "$DUMP")" = "SYNCED count=2"
'

test_expect_success 'bind, patch, delete and create arrive as update (old and new), delete, add' '
	req "bind default web1 n1" | grep "^ok 1 rev=" &&
	dumped "^UPDATE default/web1 rv=[0-9]*->[0-9]* node=-->n1$" &&
	req "patch pods default web1 {\"metadata\":{\"labels\":{\"tier\":\"x\"}}}" | grep "^ok 1" &&
	wait_for "at_least 2 \"^UPDATE default/web1\"" 10 &&
	grep "^UPDATE default/web1 .* node=n1->n1$" "$DUMP" &&
	req "delete pods kube-system web2" | grep "deleted$" &&
	dumped "^DELETE kube-system/web2 rv=" &&
	req "create $(pod web3)" | grep created &&
	dumped "^ADD default/web3 rv=[0-9]* node=-$"
'

test_expect_success 'the watch resumes after skiffd restarts, without a relist' '
	stop_daemon skiffd &&
	start_skiffd &&
	req "create $(pod web4)" | grep created &&
	dumped "^ADD default/web4 " &&
	! grep -q RELIST "$DUMP" &&
	test "$(grep -c "^ADD default/web1 " "$DUMP")" = 1
'

test_expect_success 'changes made while its revision was compacted away come by a relist' '
	kill -STOP "$(daemon_pid dump)" &&
	test_when_finished "kill -CONT $(daemon_pid dump) 2>/dev/null; true" &&
	stop_daemon skiffd &&
	start_skiffd &&
	req "delete pods default web3" | grep deleted &&
	req "create $(pod web5)" >out &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	req "kv compact $rev" | grep "compacted=$rev" &&
	kill -CONT "$(daemon_pid dump)" &&
	dumped "^RELIST lists=2$" &&
	dumped "^DELETE default/web3 " &&
	dumped "^ADD default/web5 "
'

test_expect_success 'on SIGTERM it prints a cache equal to the server list, with the node index' '
	stop_daemon dump &&
	grep "^CACHE " "$DUMP" | sed "s/ rv=[0-9]*//" >cache &&
	cat >expect <<-\EOF &&
	CACHE default/web1 node=n1
	CACHE default/web4 node=-
	CACHE default/web5 node=-
	EOF
	test_cmp expect cache &&
	grep "^NODE n1: web1$" "$DUMP" &&
	req "list pods" >out &&
	head -n 1 out | grep "^ok 3 rev=" &&
	rev=$(head -n 1 out | sed "s/.*rev=\([0-9]*\).*/\1/") &&
	grep "^END count=3 rev=" "$DUMP" &&
	for p in web1 web4 web5; do
		r=$(grep "\"name\":\"$p\"" out | sed "s/.*\"resourceVersion\":\"\([0-9]*\)\".*/\1/") &&
		grep -q "^CACHE default/$p rv=$r " "$DUMP" || return 1
	done
'

test_expect_success 'a selector and namespace narrow the cache' '
	req "create $(pod db1 default db)" | grep created &&
	informer-dump --server "$SOCK" --ns default --selector app=db --seconds 1 pods >sel &&
	grep "^SYNCED count=1$" sel &&
	grep "^END count=1 " sel &&
	grep -q "^CACHE default/db1 " sel
'

test_expect_success 'events recorded twice per object become one Event with count 2' '
	informer-dump --server "$SOCK" --ns default --selector app=db --event Seen --seconds 1 pods \
		>ev &&
	req "list events default" >out &&
	head -n 1 out | grep "^ok 1 rev=" &&
	grep -q "\"reason\":\"Seen\"" out &&
	grep -q "\"count\":2" out &&
	grep -q "\"involvedObject\":{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"name\":\"db1\"" out &&
	grep -q "\"name\":\"db1-[a-z0-9]*\"" out
'

test_done
