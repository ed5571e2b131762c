#!/bin/bash
test_description='API authentication and protection: tokens, local uids, kv for system:masters, SIGHUP reload, auth timeout, 429'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
PORT=$(free_port)
TOKENS=$TEST_DIR/tokens.csv

# raw_tcp REQUESTS: send the bytes to the TCP port, half-close, print
# every response line.
raw_tcp() {
	printf "%b" "$1" | timeout 10 nc.openbsd -N 127.0.0.1 "$PORT"
}

# as_uid UID REQUESTS: the same over the UNIX socket, as another user.
as_uid() {
	printf "%b" "$2" | timeout 10 setpriv --reuid="$1" --regid="$1" --clear-groups \
		nc.openbsd -N -U "$SOCK"
}

test_expect_success 'skiffd starts with a token file and local user mappings' '
	cat >"$TOKENS" <<-\EOF &&
	# token,user,uid,"groups"
	admintok,alice,1001,"system:masters,dev"
	usertok,bob,1002
	EOF
	chmod 600 "$TOKENS" &&
	chmod 711 "$TEST_DIR" &&
	start_daemon skiffd skiffd server --socket "$SOCK" --listen "127.0.0.1:$PORT" \
		--data-dir "$TEST_DIR/data" --set server.name=m1 --set server.peer-listen= \
		--set server.socket-mode=0666 --set server.token-file="$TOKENS" \
		--set server.auth-timeout=1s \
		--set auth.local-users="65534=ops/system:masters 65533=carol/dev" &&
	wait_for "skiff -s \"$SOCK\" kv status" 10 &&
	grep "2 API tokens from" skiffd.log &&
	! grep "may be read or changed by others" skiffd.log
'

test_expect_success 'an unauthenticated TCP peer may only ping and auth' '
	raw_tcp "ping\nversion\nkv status\nkv get x\nbogus\n" >out &&
	cat >expect <<-\EOF &&
	ok 0 pong
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	EOF
	test_cmp expect out
'

test_expect_success 'a bad token is refused and the peer stays unauthenticated' '
	raw_tcp "auth nope\nkv status\nauth\n" >out &&
	cat >expect <<-\EOF &&
	error 401 Unauthorized invalid token
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	error 401 Unauthorized invalid token
	EOF
	test_cmp expect out
'

test_expect_success 'a valid token authenticates; kv is for system:masters only' '
	raw_tcp "auth admintok\nkv status\n" >out &&
	sed -n 1,2p out | sed "s/rev=[0-9]*/rev=R/" >head &&
	printf "ok 0 user=alice\nok 1 rev=R\n" >expect &&
	test_cmp expect head &&
	raw_tcp "auth usertok\nkv status\nversion\n" >out &&
	cat >expect <<-\EOF &&
	ok 0 user=bob
	error 403 Forbidden User "bob" cannot use the kv verbs: they are for the group system:masters
	ok 1 protocol=1
	{"version":"0.1.0","protocol":1}
	EOF
	test_cmp expect out &&
	SKIFF_TOKEN=admintok skiff -s "127.0.0.1:$PORT" kv put k v &&
	test "$(SKIFF_TOKEN=admintok skiff -s "127.0.0.1:$PORT" kv get k)" = v &&
	test_expect_code 5 env SKIFF_TOKEN=usertok skiff -s "127.0.0.1:$PORT" kv get k
'

test_expect_success 'local peers: root is admin, mapped uids get their groups, others are anonymous' '
	skiff -s "$SOCK" kv get k &&
	as_uid 65534 "kv get k\n" >out &&
	grep "^ok 1 " out &&
	as_uid 65533 "kv get k\n" >out &&
	grep "^error 403 Forbidden User \"carol\" cannot use the kv verbs" out &&
	as_uid 65532 "ping\nversion\nkv get k\nauth admintok\n" >out &&
	cat >expect <<-\EOF &&
	ok 0 pong
	ok 1 protocol=1
	{"version":"0.1.0","protocol":1}
	error 403 Forbidden User "system:anonymous" cannot use the kv verbs: they are for the group system:masters
	ok 0 user=system:anonymous
	EOF
	test_cmp expect out
'

test_expect_success 'SIGHUP reloads the token file: a token added, one removed' '
	pid=$(daemon_pid skiffd) &&
	cat >"$TOKENS" <<-\EOF &&
	admintok,alice,1001,"system:masters,dev"
	newtok,dave,1003,system:masters
	EOF
	kill -HUP "$pid" &&
	wait_for "raw_tcp \"auth newtok\n\" | grep -q \"^ok 0 user=dave$\"" 10 &&
	raw_tcp "auth usertok\n" >out &&
	echo "error 401 Unauthorized invalid token" >expect &&
	test_cmp expect out
'

test_expect_success 'SIGHUP with a broken token file keeps the tokens in use' '
	pid=$(daemon_pid skiffd) &&
	printf "admintok,alice,1001\nbroken\n" >"$TOKENS" &&
	kill -HUP "$pid" &&
	wait_for "grep -q \"keeping the tokens in use\" skiffd.log" 10 &&
	grep "tokens.csv:2: expected at least 3 columns (token,user,uid), found 1" skiffd.log &&
	raw_tcp "auth newtok\n" >out &&
	grep "^ok 0 user=dave$" out
'

test_expect_success 'a token file others may read gets a warning' '
	pid=$(daemon_pid skiffd) &&
	printf "admintok,alice,1001\n" >"$TOKENS" &&
	chmod 644 "$TOKENS" &&
	kill -HUP "$pid" &&
	wait_for "grep -q \"may be read or changed by others\" skiffd.log" 10 &&
	chmod 600 "$TOKENS"
'

test_expect_success 'an unauthenticated TCP peer is disconnected after the auth timeout' '
	exec 7<>"/dev/tcp/127.0.0.1/$PORT" &&
	printf "ping\n" >&7 &&
	timeout 10 cat <&7 >out;
	rc=$? &&
	exec 7<&- &&
	test $rc = 0 &&
	echo "ok 0 pong" >expect &&
	test_cmp expect out
'

test_expect_success 'an authenticated TCP peer is not' '
	exec 7<>"/dev/tcp/127.0.0.1/$PORT" &&
	printf "auth admintok\n" >&7 &&
	timeout 3 cat <&7 >out;
	rc=$? &&
	exec 7<&- &&
	test $rc = 124 &&
	echo "ok 0 user=alice" >expect &&
	test_cmp expect out
'

# A member of a two-member cluster whose peer never comes has no leader:
# its writes wait (an election timeout, then 503), so pipelined writes
# stay in flight for seconds and the limits are hit deterministically.
test_expect_success 'a leaderless member for the in-flight limits' '
	head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret" &&
	P1=$(free_port) &&
	start_daemon lonely skiffd server --socket "$TEST_DIR/b.sock" --listen "" \
		--data-dir "$TEST_DIR/data-b" --set server.name=m1 \
		--set server.peer-listen=127.0.0.1:$P1 --set server.peers=m2=127.0.0.1:$((P1 + 1)) \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=3s --set store.heartbeat-interval=100ms \
		--set server.max-client-requests=2 --set server.max-requests-inflight=3 &&
	wait_for "skiff -s \"$TEST_DIR/b.sock\" ping" 10
'

test_expect_success 'past the per-connection limit requests get 429 at once, in order' '
	printf "kv put a 1\nkv put a 2\nkv put a 3\nkv put a 4\nkv status\n" |
		timeout 20 nc.openbsd -N -U "$TEST_DIR/b.sock" >out &&
	cat >expect <<-\EOF &&
	error 503 Unavailable no leader
	error 503 Unavailable no leader
	error 429 TooManyRequests too many requests in flight on this connection (limit 2), wait for answers first
	error 429 TooManyRequests too many requests in flight on this connection (limit 2), wait for answers first
	error 429 TooManyRequests too many requests in flight on this connection (limit 2), wait for answers first
	EOF
	test_cmp expect out
'

test_expect_success 'past the global limit requests get 429' '
	printf "kv put b 1\nkv put b 2\n" |
		timeout 20 nc.openbsd -N -U "$TEST_DIR/b.sock" >out1 &
	first=$! &&
	printf "kv put c 1\nkv put c 2\n" |
		timeout 20 nc.openbsd -N -U "$TEST_DIR/b.sock" >out2 &&
	wait $first &&
	cat out1 out2 >out &&
	test "$(grep -c "^error 503 Unavailable no leader$" out)" = 3 &&
	grep "^error 429 TooManyRequests the server has too many requests in flight (limit 3), try again later$" out &&
	test_line_count = 4 out
'

test_expect_success 'watches do not count against the global limit' '
	pids="" &&
	for i in 1 2 3 4 5; do
		printf "watch pods\n" | timeout 20 nc.openbsd -N -U "$TEST_DIR/b.sock" >w$i &
		pids="$pids $!"
	done &&
	wait $pids &&
	cat w1 w2 w3 w4 w5 >out &&
	! grep 429 out &&
	test "$(grep -c "^error 503 " out)" = 5
'

test_done
