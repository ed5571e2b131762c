#!/bin/bash
test_description='a 3-member store stays linearizable while its leader is killed with -9 and restarted'
. "$(dirname "$0")/lib.sh"

head -c 32 /dev/urandom | base64 >"$TEST_DIR/secret"
P1=$(free_port)
# free_port may hand out the same port twice; make them distinct.
P2=$((P1 + 1)) P3=$((P1 + 2))
PEERS="m1=127.0.0.1:$P1,m2=127.0.0.1:$P2,m3=127.0.0.1:$P3"
SOCKS="$TEST_DIR/s1.sock,$TEST_DIR/s2.sock,$TEST_DIR/s3.sock"

# member N: start member mN (a fresh daemon name per start, same data dir).
member() {
	local n=$1 port
	eval "port=\$P$n"
	start_daemon "m$n.$RANDOM" skiffd server --socket "$TEST_DIR/s$n.sock" --listen "" \
		--data-dir "$TEST_DIR/d$n" --set server.name=m$n \
		--set server.peer-listen=127.0.0.1:$port \
		--set server.peers="$PEERS" \
		--set server.cluster-secret-file="$TEST_DIR/secret" \
		--set store.election-timeout=300ms --set store.heartbeat-interval=50ms \
		--set store.snapshot-every=200
	tail -n 1 "$TEST_DIR/.daemons" >"$TEST_DIR/m$n.name"
}

leader_of() {
	skiff -s "$TEST_DIR/s$1.sock" kv status 2>/dev/null | sed -n 's/.*"leader":"\([^"]*\)".*/\1/p'
}

# all_agree N...: every listed member names the same, nonempty leader.
all_agree() {
	local l="" n x
	for n in "$@"; do
		x=$(leader_of "$n")
		[ -n "$x" ] || return 1
		[ -z "$l" ] || [ "$l" = "$x" ] || return 1
		l=$x
	done
	echo "$l"
}

# crash_leader: kill -9 the leader all members agree on, wait until the
# other two agree on a new one, restart the old one and wait until all
# three agree again.
crash_leader() {
	local l n others
	l=$(all_agree 1 2 3) && n=${l#m} || return 1
	kill -9 "$(daemon_pid "$(cat "$TEST_DIR/m$n.name")")" || return 1
	others=$(echo 1 2 3 | tr " " "\n" | grep -v "^$n$" | tr "\n" " ")
	wait_for "test -n \"\$(all_agree $others)\" && test \"\$(all_agree $others)\" != $l" 10 || return 1
	echo "killed $l, new leader $(all_agree $others)"
	member "$n"
	wait_for "all_agree 1 2 3" 10
}

test_expect_success 'kvhist refuses bad arguments and survives dead servers' '
	test_expect_code 2 kvhist --clients 3 &&
	test_expect_code 2 kvhist --server "$SOCKS" --out x --clients 0 &&
	test_expect_code 2 kvhist --server "$SOCKS" --out x --seconds soon &&
	test_expect_code 2 kvhist --server "$SOCKS" --out &&
	kvhist --server "$SOCKS" --seconds 0.3 --out empty 2>err &&
	grep "^kvhist: 0 ops" err &&
	test_line_count = 0 empty
'

test_expect_success 'three members elect one leader' '
	member 1 && member 2 && member 3 &&
	wait_for "all_agree 1 2 3" 10
'

test_expect_success 'clients record a history while the leader is killed -9 twice' '
	kvhist --server "$SOCKS" --clients 6 --keys 24 --seconds 8 --timeout 2000 \
		--out hist 2>kvhist.err &
	pid=$! &&
	test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true" &&
	sleep 1.5 &&
	crash_leader &&
	sleep 1 &&
	crash_leader &&
	wait $pid &&
	cat kvhist.err &&
	grep -q "^kvhist: [1-9][0-9]* ops, [1-9][0-9]* ok" kvhist.err
'

test_expect_success 'after recovery every key is read once more' '
	wait_for "all_agree 1 2 3" 10 &&
	kvhist --server "$SOCKS" --keys 24 --final-reads --out final &&
	test_line_count = 24 final &&
	cat hist final >full
'

test_expect_success 'the history is linearizable' '
	lincheck -v full >verdict ||
		{ cat verdict; false; } &&
	head -n 1 verdict && tail -n 1 verdict &&
	test "$(head -n 1 verdict)" = linearizable
'

# A stale read appended after the end: key K was last read as F by the
# final round; a put of W != F on K was acknowledged before that read
# began, and values are unique, so reading W afterwards is impossible.
test_expect_success 'a stale read appended to the history is rejected' '
	awk '"'"'
		$4 == "put" && $NF == "ok" { pk[NR] = $5; pv[NR] = $6; pr[NR] = $3 }
		$1 == "final" && $NF != "<nil>" { fk[$5] = $7; fi[$5] = $2; fr[$5] = $3 }
		END {
			for (i in pk) {
				k = pk[i]
				if ((k in fk) && pv[i] != fk[k] && pr[i] + 0 < fi[k] + 0) {
					printf "stale %.0f %.0f get %s -> %s\n", fr[k] + 1, fr[k] + 2, k, pv[i]
					exit
				}
			}
		}
	'"'"' full >stale-line &&
	test_line_count = 1 stale-line &&
	cat stale-line &&
	cat full stale-line >stale &&
	test_expect_code 1 lincheck stale >verdict &&
	cat verdict &&
	grep "^NOT linearizable: key" verdict
'

test_done
