#!/bin/bash
test_description='object watch: order, resume after a restart, compaction (410), selector transitions, bookmarks, a slow watcher cut off, disconnects, resume across a leader change'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock

cm() {
	printf '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"%s","namespace":"%s"%s},"data":%s}' \
		"$1" "${2:-default}" "${4:-}" "${3:-{\}}"
}

# watch_bg OUT SOCKET REQUEST: stream a watch into OUT in the background;
# stopped when the step ends.
watch_bg() {
	(echo $BASHPID >"$1.hold"; printf '%s\n' "$3"; exec sleep 120) |
		timeout 120 nc.openbsd -U "$2" >"$1" &
	test_when_finished "kill $! \$(cat $1.hold) 2>/dev/null; true"
}

# revs FILE: the resourceVersions of the event lines, one a line
revs() {
	grep -E "^(ADDED|MODIFIED|DELETED) " "$1" | sed 's/.*"resourceVersion":"\([0-9]*\)".*/\1/'
}

names() {
	grep -E "^(ADDED|MODIFIED|DELETED) " "$1" | sed 's/^\([A-Z]*\) .*"metadata":{[^}]*"name":"\([^"]*\)".*/\1 \2/'
}

test_expect_success 'skiffd starts' '
	start_daemon skiffd skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"get namespaces default\" | grep -q \"^ok 1\"" 10
'

test_expect_success 'events from many writers arrive in revision order, one per write' '
	watch_bg w "$SOCK" "watch configmaps default rev=1" &&
	wait_for "grep -q \"^ok watch\" w" 10 &&
	pids= &&
	for c in 1 2 3 4; do
		{ for i in $(seq 1 15); do echo "create $(cm o$c-$i)"; done; } |
			timeout 20 nc.openbsd -N -U "$SOCK" >wr$c &
		pids="$pids $!"
	done &&
	wait $pids &&
	wait_for "test \$(grep -c ^ADDED w) -ge 60" 10 &&
	revs w >r &&
	sort -n -u r >sorted &&
	test_cmp sorted r &&
	test_line_count = 60 r
'

test_expect_success 'rev=R streams exactly the changes after R' '
	r10=$(revs w | sed -n 10p) &&
	watch_bg w2 "$SOCK" "watch configmaps default rev=$r10" &&
	wait_for "test \$(grep -c ^ADDED w2) -ge 50" 10 &&
	revs w | sed -n "11,\$p" >want &&
	revs w2 >got &&
	test_cmp want got
'

test_expect_success 'a watch resumes from its last revision after a server restart' '
	last=$(revs w | tail -n 1) &&
	stop_daemon skiffd &&
	start_daemon skiffd2 skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 &&
	wait_for "req \"get namespaces default\" | grep -q \"^ok 1\"" 10 &&
	req "patch configmaps default o1-1 {\"data\":{\"after\":\"restart\"}}" "delete configmaps default o2-2" >/dev/null &&
	watch_bg w3 "$SOCK" "watch configmaps default rev=$last" &&
	wait_for "grep -q ^DELETED w3" 10 &&
	names w3 >got &&
	printf "MODIFIED o1-1\nDELETED o2-2\n" >want &&
	test_cmp want got &&
	grep "^DELETED" w3 | grep -q "\"name\":\"o2-2\"" &&
	test "$(revs w3 | tail -n 1)" -gt "$last"
'

test_expect_success 'a compacted revision is 410 Gone naming the oldest revision left' '
	req "create $(cm compact-me)" >/dev/null &&
	rev=$(req "kv status" | sed -n "s/.*\"revision\":\([0-9]*\).*/\1/p") &&
	req "kv compact $rev" | grep -q "^ok 0" &&
	req "watch configmaps default rev=2" >out &&
	grep "^error 410 Gone too old resource version: 2 ($rev)$" out &&
	watch_bg w4 "$SOCK" "watch configmaps default rev=$rev" &&
	wait_for "grep -q \"^ok watch\" w4" 10
'

test_expect_success 'selectors: an object that starts matching is ADDED, one that stops is DELETED' '
	watch_bg ws "$SOCK" "watch configmaps default selector=app%3Dweb" &&
	wait_for "grep -q \"^ok watch\" ws" 10 &&
	req "create $(cm sel default "{}" ",\"labels\":{\"app\":\"db\"}")" \
	    "patch configmaps default sel {\"metadata\":{\"labels\":{\"app\":\"web\"}}}" \
	    "patch configmaps default sel {\"data\":{\"x\":\"1\"}}" \
	    "patch configmaps default sel {\"metadata\":{\"labels\":{\"app\":\"db\"}}}" \
	    "patch configmaps default sel {\"data\":{\"x\":\"2\"}}" \
	    "patch configmaps default sel {\"metadata\":{\"labels\":{\"app\":\"web\"}}}" \
	    "delete configmaps default sel" >/dev/null &&
	wait_for "test \$(grep -c \"^[A-Z]* \" ws) -ge 5" 10 &&
	names ws >got &&
	printf "ADDED sel\nMODIFIED sel\nDELETED sel\nADDED sel\nDELETED sel\n" >want &&
	test_cmp want got &&
	sed -n 4p ws | grep -q "\"labels\":{\"app\":\"db\"}"
'

test_expect_success 'field selectors filter the initial list and the changes' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p1\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
	    "create {\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"metadata\":{\"name\":\"p2\"},\"spec\":{\"containers\":[{\"name\":\"c\",\"image\":\"x\"}]}}" \
	    "bind default p1 n1" >/dev/null &&
	watch_bg wf "$SOCK" "watch pods * fields=spec.nodeName%3Dn1" &&
	wait_for "grep -q \"^ADDED\" wf" 10 &&
	req "bind default p2 n1" >/dev/null &&
	wait_for "test \$(grep -c ^ADDED wf) -ge 2" 10 &&
	names wf >got &&
	printf "ADDED p1\nADDED p2\n" >want &&
	test_cmp want got
'

test_expect_success 'bookmarks: an idle watcher gets BOOKMARK rev=N at the current revision' '
	watch_bg wb "$SOCK" "watch configmaps default bookmarks" &&
	wait_for "grep -q \"^BOOKMARK rev=\" wb" 12 &&
	rev=$(req "kv status" | sed -n "s/.*\"revision\":\([0-9]*\).*/\1/p") &&
	grep -q "^BOOKMARK rev=$rev$" wb
'

test_expect_success 'a slow watcher is cut off with 410 and a resume revision; others are unaffected' '
	req "create {\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"slow\"}}" >/dev/null &&
	big=$(head -c 200000 /dev/zero | tr "\000" x) &&
	mkfifo gate || return 1
	(echo $BASHPID >slow.hold; printf "watch configmaps slow\n"; exec sleep 120) |
		timeout 120 nc.openbsd -U "$SOCK" |
		{ IFS= read -r l; echo "$l" >slow.head; read -r _ <gate; cat >slow.out; } &
	test_when_finished "echo go 1<>gate; kill \$(cat slow.hold) 2>/dev/null; true" &&
	watch_bg fast "$SOCK" "watch configmaps slow" &&
	wait_for "grep -q \"^ok watch\" slow.head" 10 &&
	wait_for "grep -q \"^ok watch\" fast" 10 &&
	for i in $(seq -w 1 40); do echo "create $(cm big$i slow "{\"v\":\"$big\"}")"; done >bigreqs &&
	timeout 60 nc.openbsd -N -U "$SOCK" <bigreqs >bigout &&
	test "$(grep -c "^ok 1" bigout)" = 40 &&
	wait_for "test \$(grep -c ^ADDED fast) -ge 40" 20 &&
	req ping | grep -q "^ok 0 pong" &&
	echo go 1<>gate &&
	wait_for "grep -q \"^error 410 Gone watcher too slow, resume rev=\" slow.out" 20 &&
	tail -n 1 slow.out | grep "^error 410 Gone watcher too slow, resume rev=[0-9]*$" &&
	resume=$(tail -n 1 slow.out | sed "s/.*rev=//") &&
	got=$(grep -c ^ADDED slow.out) &&
	test "$got" -lt 40 &&
	watch_bg rest "$SOCK" "watch configmaps slow rev=$resume" &&
	wait_for "test \$(grep -c ^ADDED rest) -ge $((40 - got))" 20 &&
	{ names slow.out; names rest; } >got &&
	names fast >want &&
	test_cmp want got
'

test_expect_success 'watchers that disconnect mid-stream leave the server serving' '
	pids= &&
	for i in $(seq 1 20); do
		(echo $BASHPID >disc$i.hold; printf "watch configmaps default\n"; exec sleep 120) |
			timeout 120 nc.openbsd -U "$SOCK" >disc$i &
		pids="$pids $!"
	done &&
	wait_for "test \$(cat disc*[0-9] | grep -c \"^ok watch\") = 20" 10 &&
	watch_bg stay "$SOCK" "watch configmaps default" &&
	wait_for "grep -q \"^ok watch\" stay" 10 &&
	{ for i in $(seq 1 30); do echo "patch configmaps default o1-1 {\"data\":{\"n\":\"$i\"}}"; done; } >patches ||
		return 1
	timeout 20 nc.openbsd -N -U "$SOCK" <patches >/dev/null &
	ppid=$! &&
	kill $pids $(cat disc*.hold) 2>/dev/null;
	wait $ppid &&
	wait_for "grep -q \"\\\"n\\\":\\\"30\\\"\" stay" 10 &&
	req ping | grep -q "^ok 0 pong" &&
	kill -0 "$(daemon_pid skiffd2)"
'

# ---- three members: resume across a leader change ----

head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"
P1=$(free_port)
P2=$((P1 + 1)) P3=$((P1 + 2))
PEERS="m1=127.0.0.1:$P1,m2=127.0.0.1:$P2,m3=127.0.0.1:$P3"

member() {
	local n=$1 port
	eval "port=\$P$n"
	start_daemon "m$n" skiffd server --set scheduler.enabled=false --set controllers.enabled=false --socket "$TEST_DIR/s$n.sock" --listen "" \
		--data-dir "$TEST_DIR/d$n" --set server.name=m$n \
		--set server.peer-listen=127.0.0.1:$port --set server.peers=$PEERS \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms
}

leader_of() {
	REQ_SOCK=$TEST_DIR/s$1.sock req "kv status" 2>/dev/null | sed -n 's/.*"leader":"\([^"]*\)".*/\1/p'
}

test_expect_success 'three members elect a leader and bootstrap the namespaces once' '
	member 1 && member 2 && member 3 &&
	wait_for "test -n \"\$(leader_of 1)\" && test \"\$(leader_of 1)\" = \"\$(leader_of 2)\" && test \"\$(leader_of 2)\" = \"\$(leader_of 3)\"" 15 &&
	wait_for "REQ_SOCK=$TEST_DIR/s1.sock req \"list namespaces\" | grep -q \"^ok 4 \"" 10 &&
	for n in 1 2 3; do
		REQ_SOCK=$TEST_DIR/s$n.sock req "list namespaces rev=0" >ns$n || return 1
	done &&
	wait_for "REQ_SOCK=$TEST_DIR/s3.sock req \"list namespaces rev=0\" | grep -q \"^ok 4 \"" 10
'

test_expect_success 'a watch on a follower survives a leader change and resumes on another member' '
	L=$(leader_of 1 | sed "s/^m//") &&
	F1=$(( L % 3 + 1 )) && F2=$(( F1 % 3 + 1 )) &&
	watch_bg cw "$TEST_DIR/s$F1.sock" "watch configmaps default" &&
	wait_for "grep -q \"^ok watch\" cw" 10 &&
	for i in 1 2 3 4 5; do
		REQ_SOCK=$TEST_DIR/s$F1.sock req "create $(cm c$i)" | grep -q "^ok 1" || return 1
	done &&
	wait_for "test \$(grep -c ^ADDED cw) -ge 5" 10 &&
	last=$(revs cw | tail -n 1) &&
	stop_daemon m$L KILL;
	wait_for "test -n \"\$(leader_of $F1)\" && test \"\$(leader_of $F1)\" != m$L && test \"\$(leader_of $F1)\" = \"\$(leader_of $F2)\"" 15 &&
	for i in 6 7 8 9 10; do
		REQ_SOCK=$TEST_DIR/s$F2.sock req "create $(cm c$i)" | grep -q "^ok 1" || return 1
	done &&
	wait_for "test \$(grep -c ^ADDED cw) -ge 10" 10 &&
	watch_bg cw2 "$TEST_DIR/s$F2.sock" "watch configmaps default rev=$last" &&
	wait_for "test \$(grep -c ^ADDED cw2) -ge 5" 10 &&
	names cw2 >got &&
	printf "ADDED c%s\n" 6 7 8 9 10 >want &&
	test_cmp want got &&
	names cw >got1 &&
	printf "ADDED c%s\n" 1 2 3 4 5 6 7 8 9 10 >want1 &&
	test_cmp want1 got1
'

test_done
