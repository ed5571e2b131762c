#!/bin/bash
test_description='skiffd serves the line protocol: ping, version, framing, auth gate, signals'
. "$(dirname "$0")/lib.sh"

SOCK=$TEST_DIR/api.sock
PORT=$(free_port)

# raw_tcp REQUESTS: send the bytes to the TCP port, half-close, print
# every response line.
raw_tcp() {
	printf "%b" "$1" | timeout 10 nc.openbsd -N 127.0.0.1 "$PORT"
}

# skiff_raw_unix FILE: what an admin does with nc -U: send the lines,
# half-close, print every response line.
skiff_raw_unix() {
	timeout 10 nc.openbsd -N -U "$SOCK" <"$1"
}

test_expect_success 'skiffd server starts and creates its socket 0660' '
	cp "$SRCDIR/etc/skiffd.conf" skiffd.conf &&
	start_daemon skiffd skiffd server -c skiffd.conf --socket "$SOCK" \
		--listen "127.0.0.1:$PORT" --data-dir "$TEST_DIR/data" &&
	wait_for "skiff -s \"$SOCK\" ping" 10 &&
	test "$(stat -c %a "$SOCK")" = 660
'

test_expect_success 'skiff ping answers pong over the UNIX socket' '
	skiff -s "$SOCK" ping >out &&
	echo pong >expect &&
	test_cmp expect out
'

test_expect_success 'skiff version shows client and server versions' '
	skiff -s "$SOCK" version >out &&
	grep "^Client Version: 0.1.0 (protocol 1)$" out &&
	grep "^Server Version: 0.1.0 (protocol 1)$" out
'

test_expect_success 'pipelined requests on TCP are answered in order, auth gate holds' '
	raw_tcp "ping\nversion\nbogus\nping\n" >out &&
	cat >expect <<-\EOF &&
	ok 0 pong
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	error 401 Unauthorized authenticate with '"'"'auth <token>'"'"' first
	ok 0 pong
	EOF
	test_cmp expect out
'

test_expect_success 'pipelined requests on the UNIX socket are answered in order' '
	{ for i in $(seq 1 200); do echo ping; echo version; echo nope; done; } >reqs &&
	skiff_raw_unix reqs >out &&
	test_line_count = 800 out &&
	sed -n "1,4p" out >first &&
	cat >expect <<-\EOF &&
	ok 0 pong
	ok 1 protocol=1
	{"version":"0.1.0","protocol":1}
	error 400 BadRequest unknown verb '"'"'nope'"'"'
	EOF
	test_cmp expect first &&
	test "$(grep -c "^ok 0 pong$" out)" = 200
'

test_expect_success 'a bad token is refused' '
	raw_tcp "auth nope\n" >out &&
	echo "error 401 Unauthorized invalid token" >expect &&
	test_cmp expect out
'

test_expect_success 'an over-long line gets 413 and the server goes on' '
	{ head -c 1100000 /dev/zero | tr "\\0" x; echo; echo ping; } >big &&
	timeout 10 nc.openbsd -N 127.0.0.1 "$PORT" <big >out 2>/dev/null;
	cat out &&
	grep "^error 413 RequestTooLarge" out &&
	! grep pong out &&
	skiff -s "$SOCK" ping
'

test_expect_success 'exit statuses: usage 2, unreachable 4, denied 5' '
	test_expect_code 2 skiff -s "$SOCK" frobnicate &&
	test_expect_code 4 skiff -s "$TEST_DIR/nobody.sock" ping 2>err &&
	grep "^skiff: " err &&
	test_expect_code 5 skiff -s "127.0.0.1:$PORT" version
'

test_expect_success 'a second server on the same socket is refused; the first goes on' '
	test_must_fail skiffd server --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data3" 2>err &&
	grep -i "in use" err &&
	skiff -s "$SOCK" ping
'

test_expect_success '--check-config reports every problem as FILE:LINE' '
	cat >bad.conf <<-\EOF &&
	[server]
	listen = 1.2.3.4:99999
	frob = 1
	[log]
	level = loud
	EOF
	test_expect_code 1 skiffd --check-config -c bad.conf 2>err &&
	grep "^bad.conf:2: " err &&
	grep "^bad.conf:3: .*frob" err &&
	grep "^bad.conf:5: " err &&
	skiffd --check-config -c "$SRCDIR/etc/skiffd.conf"
'

test_expect_success 'SIGHUP with a broken config keeps the running one' '
	pid=$(daemon_pid skiffd) &&
	printf "[log]\nlevel = loud\n" >>skiffd.conf &&
	kill -HUP "$pid" &&
	wait_for "grep -q \"keeping the running one\" skiffd.log" 10 &&
	skiff -s "$SOCK" ping &&
	cp "$SRCDIR/etc/skiffd.conf" skiffd.conf &&
	kill -HUP "$pid" &&
	wait_for "grep -q \"reload: configuration re-read\" skiffd.log" 10
'

test_expect_success 'SIGTERM stops the server cleanly and removes the socket' '
	stop_daemon skiffd &&
	grep "shutting down" skiffd.log &&
	! test -e "$SOCK"
'

test_expect_success 'a stale socket left by a crash is replaced' '
	start_daemon skiffd2 skiffd server --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data2" &&
	wait_for "skiff -s \"$SOCK\" ping" 10 &&
	kill -9 "$(daemon_pid skiffd2)" &&
	wait_for "! kill -0 $(daemon_pid skiffd2)" 5 &&
	test -S "$SOCK" &&
	start_daemon skiffd3 skiffd server --socket "$SOCK" --listen "" \
		--data-dir "$TEST_DIR/data2" &&
	wait_for "skiff -s \"$SOCK\" ping" 10
'

test_done
