#!/bin/bash
test_description='end to end on the 3+3 lab cluster: a shell script drives the cluster with only skiff -o tsv / -o json and the line protocol over nc -U'
. "$(dirname "$0")/lib.sh"

require_root
[ -x /bin/busybox ] || skip_all "needs /bin/busybox (apt-get install busybox-static)"
command -v jq >/dev/null || skip_all "needs jq"
command -v nc.openbsd >/dev/null || skip_all "needs nc.openbsd"

. "$SRCDIR/t/lab-cluster"
LC_DIR=$TEST_DIR/lab
LC_TAG=$LAB_TAG
at_exit lc_down

# proto LINE...: protocol lines on c2's socket, the answer lines out
proto() {
	printf '%s\n' "$@" | timeout 10 nc.openbsd -N -U "$(lc_sock c2)"
}

# column TSVFILE NAME: the index (1-based) of a header cell
column() {
	head -n 1 "$1" | tr '\t' '\n' | grep -nx "$2" | cut -d: -f1
}

test_expect_success 'the lab cluster; nodes as TSV: three, all Ready' '
	lc_up &&
	lc_skiff c2 get nodes -o tsv >nodes.tsv &&
	st=$(column nodes.tsv STATUS) && test -n "$st" &&
	test "$(tail -n +2 nodes.tsv | cut -f"$st" | grep -cx Ready)" -eq 3 &&
	lc_skiff c2 get nodes -o tsv --no-headers | cut -f1 | sort | paste -sd, | grep -qx w1,w2,w3
'

test_expect_success 'protocol: ping, create a pod from JSON, get it back' '
	proto ping | grep -q "^ok" &&
	jq -cn "{apiVersion:\"v1\",kind:\"Pod\",metadata:{name:\"scripted\",namespace:\"default\",labels:{via:\"nc\"}},
		spec:{containers:[{name:\"c\",image:\"busybox:test\",command:[\"sleep\",\"1000\"]}]}}" >pod.json &&
	proto "create $(cat pod.json)" >created && head -n 1 created | grep -q "^ok 1 " &&
	rev=$(sed -n 2p created | jq -r .metadata.resourceVersion) && test -n "$rev" &&
	proto "get pods default scripted" | sed -n 2p | json_check ".metadata.labels.via == \"nc\""
'

# The watch starts at the creation's revision: it replays what happened
# since, however fast the pod got Running.
test_expect_success 'protocol: a watch sees it bound and Running; -o tsv agrees' '
	(printf "%s\n" "watch pods default rev=$rev selector=via=nc" | nc.openbsd -U "$(lc_sock c2)" >watch.out &
	 echo $! >watch.pid) &&
	at_exit "kill \$(cat $TEST_DIR/watch.pid) 2>/dev/null" &&
	wait_for "grep -q \"^MODIFIED .*\\\"phase\\\":\\\"Running\\\"\" watch.out" 30 0.2 &&
	grep "^MODIFIED " watch.out | sed "s/^MODIFIED //" | jq -r ".spec.nodeName // empty" | sort -u >nodes &&
	test "$(wc -l <nodes)" -eq 1 &&
	lc_skiff c2 get pods scripted -o tsv >pods.tsv &&
	tail -n 1 pods.tsv | cut -f"$(column pods.tsv STATUS)" | grep -qx Running &&
	lc_skiff c2 get pods scripted -o json | jq -r .spec.nodeName | grep -qxf nodes
'

test_expect_success 'protocol: delete; the watch sees DELETED, list is empty' '
	proto "delete pods default scripted grace=0" | head -n 1 | grep -q "^ok" &&
	wait_for "grep -q \"^DELETED \" watch.out" 30 0.2 &&
	proto "list pods default selector=via=nc" | head -n 1 | grep -q "^ok 0 " &&
	kill "$(cat watch.pid)"
'

test_done
