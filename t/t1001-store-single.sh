#!/bin/bash
test_description='a single-member store: the kv verbs through skiff and raw lines, watch, compaction'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
DATA=$TEST_DIR/data

kv() {
	skiff -s "$SOCK" kv "$@"
}

# raw FILE: send the lines with nc -U, half-close, print every response line.
raw() {
	timeout 10 nc.openbsd -N -U "$SOCK" <"$1"
}

test_expect_success 'skiffd server opens the store and serves kv with no peers' '
	start_daemon skiffd skiffd server --socket "$SOCK" --listen "" \
		--data-dir "$DATA" --set server.name=m1 &&
	wait_for "skiff -s \"$SOCK\" kv status" 10 &&
	kv status >out &&
	grep "\"role\":\"leader\"" out &&
	grep "\"leader\":\"m1\"" out &&
	test -d "$DATA/log"
'

test_expect_success 'put then get returns the value; get -o json the KV object' '
	kv put greeting hello >out &&
	grep "^rev=[0-9]*$" out &&
	test "$(kv get greeting)" = hello &&
	kv get greeting -o json >out &&
	grep "\"key\":\"greeting\",\"value\":\"hello\"" out &&
	grep "\"version\":1}" out
'

test_expect_success 'a missing key is 404 and exit status 3' '
	test_expect_code 3 skiff -s "$SOCK" kv get nope 2>err &&
	grep "key \"nope\" not found" err
'

test_expect_success 'raw lines: put with prev, get, range by prefix, del, percent-encoding' '
	cat >reqs <<-\EOF &&
	kv put app/a 1
	kv put app/b 2
	kv put app/a 3 prev
	kv put sp%20ace x%25y
	kv get sp%20ace serializable
	kv range app/ +
	kv range app/ + limit=1
	kv range app/ + count-only
	kv del app/ + prev
	kv range app/ +
	EOF
	raw reqs >out &&
	sed "s/rev=[0-9]*/rev=R/; s/_revision\":[0-9]*/_revision\":N/g" out >norm &&
	cat >expect <<-\EOF &&
	ok 0 rev=R
	ok 0 rev=R
	ok 1 rev=R
	{"key":"app/a","value":"1","create_revision":N,"mod_revision":N,"version":1}
	ok 0 rev=R
	ok 1 rev=R
	{"key":"sp ace","value":"x%y","create_revision":N,"mod_revision":N,"version":1}
	ok 2 rev=R more=0 total=2
	{"key":"app/a","value":"3","create_revision":N,"mod_revision":N,"version":2}
	{"key":"app/b","value":"2","create_revision":N,"mod_revision":N,"version":1}
	ok 1 rev=R more=1 total=2
	{"key":"app/a","value":"3","create_revision":N,"mod_revision":N,"version":2}
	ok 0 rev=R more=0 total=2
	ok 2 rev=R deleted=2
	{"key":"app/a","value":"3","create_revision":N,"mod_revision":N,"version":2}
	{"key":"app/b","value":"2","create_revision":N,"mod_revision":N,"version":1}
	ok 0 rev=R more=0 total=0
	EOF
	test_cmp expect norm
'

test_expect_success 'revisions: one per write, reads at an old revision' '
	r1=$(kv put rv one | sed "s/rev=//") &&
	r2=$(kv put rv two | sed "s/rev=//") &&
	test $r2 -eq $((r1 + 1)) &&
	test "$(kv get rv rev=$r1)" = one &&
	test "$(kv get rv)" = two
'

test_expect_success 'txn: compare then success or failure' '
	kv put t/x 1 >/dev/null &&
	kv txn "{\"compare\":[{\"key\":\"t/x\",\"target\":\"value\",\"op\":\"=\",\"value\":\"1\"}],\"success\":[{\"put\":{\"key\":\"t/y\",\"value\":\"ok\"}},{\"get\":{\"key\":\"t/x\"}}],\"failure\":[{\"put\":{\"key\":\"t/y\",\"value\":\"bad\"}}]}" >out &&
	grep "succeeded=true" out &&
	grep "\"responses\":\[{\"put\":{}},{\"range\":{\"kvs\":\[{\"key\":\"t/x\"" out &&
	test "$(kv get t/y)" = ok &&
	kv txn "{\"compare\":[{\"key\":\"t/x\",\"target\":\"version\",\"op\":\">\",\"value\":5}],\"success\":[],\"failure\":[{\"del\":{\"key\":\"t/\",\"end\":\"+\"}}]}" >out &&
	grep "succeeded=false" out &&
	grep "{\"del\":{\"deleted\":2}}" out &&
	test_expect_code 3 skiff -s "$SOCK" kv get t/y 2>/dev/null
'

test_expect_success 'one connection: pipelined writes, then a read that sees them all' '
	{ for i in $(seq 1 200); do echo "kv put pipe/k $i"; done; echo "kv get pipe/k"; \
	  echo "kv put pipe/k after"; echo "kv get pipe/k serializable"; } >preqs &&
	raw preqs >pout &&
	test "$(grep -c "^ok 0 rev=" pout)" = 201 &&
	grep -q "\"key\":\"pipe/k\",\"value\":\"200\"" pout &&
	tail -n 1 pout | grep -q "\"value\":\"after\"" &&
	revs=$(grep -o "^ok 0 rev=[0-9]*" pout | cut -d= -f2) &&
	test "$(echo "$revs" | sort -n | tr "\n" " ")" = "$(echo "$revs" | tr "\n" " ")"
'

test_expect_success 'malformed requests get 400 and the server goes on' '
	cat >reqs <<-\EOF &&
	kv put
	kv frob a
	kv get a%zz
	kv txn {nope
	kv range a
	kv compact -1
	kv put bad %FF
	EOF
	raw reqs >out &&
	test_line_count = 7 out &&
	test "$(grep -c "^error 400 BadRequest" out)" = 7 &&
	kv status >/dev/null
'

test_expect_success 'watch: history from a revision, live events, prev, in order' '
	r=$(kv put w/a 1 | sed "s/rev=//") &&
	kv put w/b 2 >/dev/null &&
	{ timeout 20 skiff -s "$SOCK" kv watch w/ + rev=$r prev >watch.out 2>watch.err & } &&
	wait_for "test \$(wc -l <watch.out) -ge 2" 10 &&
	kv put w/a 3 >/dev/null &&
	kv del w/b >/dev/null &&
	kv put other 1 >/dev/null &&
	wait_for "test \$(wc -l <watch.out) -ge 4" 10 &&
	sed "s/_revision\":[0-9]*/_revision\":N/g" watch.out >norm &&
	cat >expect <<-\EOF &&
	PUT {"key":"w/a","value":"1","create_revision":N,"mod_revision":N,"version":1}
	PUT {"key":"w/b","value":"2","create_revision":N,"mod_revision":N,"version":1}
	PUT {"key":"w/a","value":"3","create_revision":N,"mod_revision":N,"version":2} {"key":"w/a","value":"1","create_revision":N,"mod_revision":N,"version":1}
	DELETE {"key":"w/b","value":"","create_revision":N,"mod_revision":N,"version":0} {"key":"w/b","value":"2","create_revision":N,"mod_revision":N,"version":1}
	EOF
	test_cmp expect norm
'

test_expect_success 'a watcher that does not read is cut off with 410 and where to resume' '
	if ! command -v python3 >/dev/null; then echo "no python3: skipped"; return 0; fi
	cat >slow.py <<-\EOF &&
	import socket, sys, time
	s = socket.socket(socket.AF_UNIX)
	s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
	s.connect(sys.argv[1])
	s.sendall(b"kv watch big/ +\n")
	time.sleep(0.3)
	c = socket.socket(socket.AF_UNIX)
	c.connect(sys.argv[1])
	f = c.makefile("rb")
	for i in range(30):
	    c.sendall(("kv put big/%d %s\n" % (i, "y" * 500000)).encode())
	    f.readline()
	data = b""
	s.settimeout(10)
	while True:
	    b = s.recv(1 << 20)
	    if not b:
	        break
	    data += b
	sys.stdout.write(data.decode())
	EOF
	timeout 30 python3 slow.py "$SOCK" >slow.out &&
	head -n 1 slow.out | grep "^ok watch rev=" &&
	tail -n 1 slow.out | grep "^error 410 Gone watcher too slow, resume rev=[0-9]*$" &&
	n=$(grep -c "^PUT " slow.out) &&
	test "$n" -ge 1 && test "$n" -lt 30 &&
	kv del big/ + >/dev/null
'

test_expect_success 'compact: old revisions are gone, a watch from them gets 410' '
	r=$(kv put c/k 1 | sed "s/rev=//") &&
	kv put c/k 2 >/dev/null &&
	kv compact $((r + 1)) >out &&
	grep "compacted=$((r + 1))" out &&
	test_expect_code 1 skiff -s "$SOCK" kv get c/k rev=$r 2>err &&
	grep "compacted" err &&
	echo "kv watch c/k rev=$r" >reqs &&
	raw reqs >out &&
	echo "error 410 Gone compacted, resume from $((r + 2))" >expect &&
	test_cmp expect out
'

test_expect_success 'cluster status shows one row per member; members lists m1' '
	skiff -s "$SOCK" cluster status >out &&
	head -n 1 out | grep "^NAME *ADDRESS *VOTER *LEADER *MATCH *LAG *STATE *TERM *COMMIT *APPLIED *SIZE *LAST-ERROR" &&
	grep "^m1 .* yes " out &&
	skiff -s "$SOCK" cluster member list >out &&
	grep "\"name\":\"m1\".*\"voter\":true,\"leader\":true" out
'

test_expect_success 'cluster snapshot save writes a consistent copy on the server' '
	skiff -s "$SOCK" cluster snapshot save backup.snap >out &&
	grep "^rev=[0-9]* path=$TEST_DIR/backup.snap$" out &&
	test -s backup.snap &&
	! test -e backup.snap.tmp &&
	head -c 7 backup.snap | grep -q SKFMVCC
'

test_expect_success 'kv verbs are admin-only over TCP without a token' '
	stop_daemon skiffd &&
	port=$(free_port) &&
	start_daemon skiffd2 skiffd server --socket "$SOCK" --listen "127.0.0.1:$port" \
		--data-dir "$DATA" --set server.name=m1 &&
	wait_for "skiff -s \"$SOCK\" kv status" 10 &&
	printf "kv get greeting\n" | timeout 10 nc.openbsd -N 127.0.0.1 $port >out &&
	grep "^error 401" out
'

test_done
